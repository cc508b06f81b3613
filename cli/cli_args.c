/* Arguments and values that several commands share: tier, kind, queue
 * tier and request state names, NAME=N amounts, money, reservation and
 * request ids, and months. Strings become enums and fixed-point numbers
 * here, once. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "qm_codec.h"

static const char *const tiers[QM_TIERS + 1] = {
    NULL, "enterprise", "premium", "standard", "basic",
};

static const char *const kinds[QM_KIND_DEDICATED + 1] = {
    NULL,
    "shared",
    "reserved",
    "dedicated",
};

static const char *const qtiers[QM_QTIERS + 1] = {
    NULL, "immediate", "fast", "normal", "batch", "deferred",
};

static const char *const qstates[QM_QSTATES + 1] = {
    NULL, "queued", "running", "done", "failed", "cancelled",
};

/* Index of @s in @names[1..n], or 0. */
static int name_index(const char *const *names, int n, const char *s)
{
    for (int i = 1; i <= n; i++) {
        if (strcmp(names[i], s) == 0) {
            return i;
        }
    }
    return 0;
}

/* name_index, or a usage error for @cmd that lists the names. */
static int name_arg(const struct cli_cmd *cmd,
                    const char *what,
                    const char *const *names,
                    int n,
                    const char *s,
                    int *out)
{
    *out = name_index(names, n, s);
    if (*out != 0) {
        return CLI_OK;
    }
    char list[160] = "";
    size_t len = 0;
    for (int i = 1; i <= n && len < sizeof(list); i++) {
        int w = snprintf(list + len, sizeof(list) - len, "%s%s",
                         i > 1 ? ", " : "", names[i]);
        len += w > 0 ? (size_t)w : 0;
    }
    return cli_usage_error(cmd, "no %s '%s' (%s)", what, s, list);
}

static const char *name_of(const char *const *names, int n, int i)
{
    return i >= 1 && i <= n ? names[i] : "unknown";
}

int cli_tier_parse(const char *s)
{
    return name_index(tiers, QM_TIERS, s);
}

int cli_tier_arg(const struct cli_cmd *cmd, const char *s, int *tier)
{
    return name_arg(cmd, "tier", tiers, QM_TIERS, s, tier);
}

const char *cli_tier_name(int tier)
{
    return name_of(tiers, QM_TIERS, tier);
}

int cli_qtier_arg(const struct cli_cmd *cmd, const char *s, int *tier)
{
    return name_arg(cmd, "queue tier", qtiers, QM_QTIERS, s, tier);
}

const char *cli_qtier_name(int tier)
{
    return name_of(qtiers, QM_QTIERS, tier);
}

int cli_qstate_arg(const struct cli_cmd *cmd, const char *s, int *state)
{
    return name_arg(cmd, "request state", qstates, QM_QSTATES, s, state);
}

const char *cli_qstate_name(int state)
{
    return name_of(qstates, QM_QSTATES, state);
}

int cli_kind_parse(const char *s)
{
    return name_index(kinds, QM_KIND_DEDICATED, s);
}

const char *cli_kind_name(int kind)
{
    /* A server that predates kinds sends none: every pool was shared. */
    if (kind == 0) {
        return kinds[QM_KIND_SHARED];
    }
    return kind <= QM_KIND_DEDICATED && kind > 0 ? kinds[kind] : "unknown";
}

int cli_name_amount(const char *arg,
                    char name[QM_NAME_MAX + 1],
                    int64_t *amount,
                    bool allow_zero)
{
    const char *eq = strrchr(arg, '=');
    if (eq == NULL || eq == arg || (size_t)(eq - arg) > QM_NAME_MAX ||
        !qm_valid_name(arg, (size_t)(eq - arg))) {
        return -1;
    }
    int64_t v;
    if (cli_parse_fixed(eq + 1, 3, false, QM_TOKENS_MAX, &v) != 0 ||
        (v == 0 && !allow_zero)) {
        return -1;
    }
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = '\0';
    *amount = v;
    return 0;
}

int cli_amounts(const struct cli_cmd *cmd,
                char **args,
                int n,
                bool allow_zero,
                struct qm_amount out[QM_RES_POOLS_MAX],
                unsigned *nout)
{
    if (n > QM_RES_POOLS_MAX) {
        return cli_usage_error(cmd, "at most %d pools, got %d",
                               QM_RES_POOLS_MAX, n);
    }
    for (int i = 0; i < n; i++) {
        if (cli_name_amount(args[i], out[i].pool, &out[i].amount, allow_zero) !=
            0) {
            return cli_usage_error(cmd,
                                   "'%s' is not POOL=N (units %s0, up to 3 "
                                   "decimals)",
                                   args[i], allow_zero ? ">= " : "> ");
        }
        for (int k = 0; k < i; k++) {
            if (strcmp(out[k].pool, out[i].pool) == 0) {
                return cli_usage_error(cmd, "pool %s given twice", out[i].pool);
            }
        }
    }
    *nout = (unsigned)n;
    return CLI_OK;
}

int cli_money(const char *s, const char *word, bool *is_word, int64_t *v)
{
    if (word != NULL && strcmp(s, word) == 0) {
        *is_word = true;
        *v = 0;
        return 0;
    }
    if (cli_parse_fixed(s, 6, true, QM_MONEY_MAX, v) != 0) {
        return -1;
    }
    if (is_word != NULL) {
        *is_word = false;
    }
    return 0;
}

int cli_uint(const char *s, int64_t max, int64_t *v)
{
    return cli_parse_fixed(s, 0, false, max, v);
}

/* An id users see as @prefix<N> ("r17", "q17"), given with or without
 * the prefix. */
static int id_arg(const struct cli_cmd *cmd,
                  char prefix,
                  const char *what,
                  const char *s,
                  uint64_t *id)
{
    int64_t v;
    if (cli_uint(s[0] == prefix ? s + 1 : s, INT64_MAX, &v) != 0 || v == 0) {
        return cli_usage_error(cmd, "'%s' is not a %s id such as %c17", s, what,
                               prefix);
    }
    *id = (uint64_t)v;
    return CLI_OK;
}

static const char *fmt_id(char buf[24], char prefix, uint64_t id)
{
    snprintf(buf, 24, "%c%llu", prefix, (unsigned long long)id);
    return buf;
}

int cli_res_id_arg(const struct cli_cmd *cmd, const char *s, uint64_t *id)
{
    return id_arg(cmd, 'r', "reservation", s, id);
}

const char *cli_fmt_res_id(char buf[24], uint64_t id)
{
    return fmt_id(buf, 'r', id);
}

int cli_req_id_arg(const struct cli_cmd *cmd, const char *s, uint64_t *id)
{
    return id_arg(cmd, 'q', "request", s, id);
}

const char *cli_fmt_req_id(char buf[24], uint64_t id)
{
    return fmt_id(buf, 'q', id);
}

static bool digits(const char *s, int n)
{
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return true;
}

int cli_month_parse(const char *s, uint32_t *month)
{
    if (strlen(s) != 7 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2)) {
        return -1;
    }
    uint32_t y = (uint32_t)((s[0] - '0') * 1000 + (s[1] - '0') * 100 +
                            (s[2] - '0') * 10 + (s[3] - '0'));
    uint32_t m = (uint32_t)((s[5] - '0') * 10 + (s[6] - '0'));
    if (y < 1970 || m < 1 || m > 12) {
        return -1;
    }
    *month = y * 100 + m;
    return 0;
}

const char *cli_fmt_month(char buf[16], uint32_t month)
{
    snprintf(buf, 16, "%04u-%02u", month / 100, month % 100);
    return buf;
}

const char *cli_fmt_usd(char buf[40], int64_t micro)
{
    char v[40];
    snprintf(buf, 40, "$%s", cli_fmt_fixed(v, micro, 6));
    return buf;
}

const char *cli_fmt_amounts(char *buf,
                            size_t size,
                            const struct qm_amount *a,
                            unsigned n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < n && len < size; i++) {
        char v[40];
        int w = snprintf(buf + len, size - len, "%s%s=%s", i ? "," : "",
                         a[i].pool, cli_fmt_fixed(v, a[i].amount, 3));
        len += w > 0 ? (size_t)w : 0;
    }
    return buf;
}

void cli_json_amounts(struct cli_json *j, const struct qm_amount *a, unsigned n)
{
    cj_obj(j);
    for (unsigned i = 0; i < n; i++) {
        cj_key(j, a[i].pool);
        cj_fixed(j, a[i].amount, 3);
    }
    cj_obj_end(j);
}
