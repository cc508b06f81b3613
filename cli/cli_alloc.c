/* Allocations: alloc set|get|list. What a service on a host is given
 * (nice, CPU list, rlimits, cgroup CPU and memory, instances), in the text
 * forms of libqm (qm_alloc_value_parse): a flag per field, named as the
 * field. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_host.h"
#include "qm_codec.h"

/* Column titles and widths of the fields, in field order. */
static const struct
{
    const char *title;
    int width;
} columns[QM_ALLOC_FIELDS] = {
    {"NICE", 5},     {"CPUS", 10},   {"NOFILE", 10},
    {"NPROC", 8},    {"WEIGHT", 6},  {"CPU-MAX", 14},
    {"MEM-HIGH", 9}, {"MEM-MAX", 9}, {"INST", 4},
};

/* ---- output ---- */

/* A size, or "max". */
static void bytes_or_max(struct cli_json *j, int64_t v)
{
    if (v == QM_ALLOC_UNLIMITED) {
        cj_str(j, "max");
    } else {
        cj_int(j, v);
    }
}

/* The JSON value of @bit: null when not set; numbers as numbers, sizes as
 * bytes or "max", the CPU list and cpu-max as their text. */
static void value_json(struct cli_json *j,
                       const struct qm_alloc *a,
                       unsigned bit)
{
    char t[QM_ALLOC_TEXT_MAX + 1];
    qm_alloc_value_format(a, bit, t);
    if ((a->set & bit) == 0) {
        cj_null(j);
    } else if (bit == QM_ALLOC_MEMORY_HIGH) {
        bytes_or_max(j, a->memory_high);
    } else if (bit == QM_ALLOC_MEMORY_MAX) {
        bytes_or_max(j, a->memory_max);
    } else if (bit == QM_ALLOC_CPUS || bit == QM_ALLOC_CPU_MAX) {
        cj_str(j, t);
    } else {
        cj_int(j, strtoll(t, NULL, 10));
    }
}

void cli_alloc_json(struct cli_json *j, const struct qm_alloc *a)
{
    cj_obj(j);
    cj_key(j, "host");
    cj_str(j, a->host);
    cj_key(j, "service");
    cj_str(j, a->service);
    for (unsigned i = 0; i < QM_ALLOC_FIELDS; i++) {
        char key[32];
        snprintf(key, sizeof(key), "%s", qm_alloc_field_name(1u << i));
        for (char *p = strchr(key, '-'); p != NULL; p = strchr(p, '-')) {
            *p = '_';
        }
        cj_key(j, key);
        value_json(j, a, 1u << i);
    }
    cj_key(j, "updated_ms");
    cj_int(j, a->updated_ms);
    cj_obj_end(j);
}

void cli_alloc_header(void)
{
    printf("%-24s", "SERVICE");
    for (unsigned i = 0; i < QM_ALLOC_FIELDS; i++) {
        printf(" %*s", columns[i].width, columns[i].title);
    }
    printf(" %s\n", "UPDATED");
}

void cli_alloc_row(const struct qm_alloc *a)
{
    char t[QM_ALLOC_TEXT_MAX + 1], when[32];
    printf("%-24s", a->service);
    for (unsigned i = 0; i < QM_ALLOC_FIELDS; i++) {
        qm_alloc_value_format(a, 1u << i, t);
        printf(" %*s", columns[i].width, t[0] ? t : "-");
    }
    printf(" %s\n", cli_fmt_time(when, a->updated_ms));
}

static void alloc_show(const struct qm_alloc *a)
{
    char t[QM_ALLOC_TEXT_MAX + 1], when[32];
    printf("%s/%s (updated %s)\n", a->host, a->service,
           cli_fmt_time(when, a->updated_ms));
    for (unsigned i = 0; i < QM_ALLOC_FIELDS; i++) {
        qm_alloc_value_format(a, 1u << i, t);
        printf("  %-12s %s\n", qm_alloc_field_name(1u << i), t[0] ? t : "-");
    }
}

/* ---- arguments ---- */

/* HOST/SERVICE into its two names, or a usage error. */
static int key_arg(const struct cli_cmd *cmd,
                   const char *s,
                   char host[QM_NAME_MAX + 1],
                   char service[QM_NAME_MAX + 1])
{
    const char *slash = strchr(s, '/');
    size_t hn = slash != NULL ? (size_t)(slash - s) : 0;
    size_t sn = slash != NULL ? strlen(slash + 1) : 0;
    if (slash == NULL || hn == 0 || hn > QM_NAME_MAX || sn == 0 ||
        sn > QM_NAME_MAX || !qm_valid_name(s, hn) ||
        !qm_valid_name(slash + 1, sn)) {
        return cli_usage_error(cmd,
                               "'%s' is not HOST/SERVICE (each 1..%d of "
                               "[A-Za-z0-9._-])",
                               s, QM_NAME_MAX);
    }
    memcpy(host, s, hn);
    host[hn] = '\0';
    memcpy(service, slash + 1, sn + 1);
    return CLI_OK;
}

/* The names of the fields, for errors: "nice, cpus, ...". */
static const char *field_names(char buf[160])
{
    size_t len = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < QM_ALLOC_FIELDS && len < 160; i++) {
        int w = snprintf(buf + len, 160 - len, "%s%s", i ? ", " : "",
                         qm_alloc_field_name(1u << i));
        len += w > 0 ? (size_t)w : 0;
    }
    return buf;
}

/* --unset FIELD[,FIELD...], given any number of times. */
static int unset_arg(const struct cli_cmd *cmd,
                     const char *value,
                     struct qm_alloc *a)
{
    char list[160];
    for (const char *p = value; *p != '\0';) {
        size_t n = strcspn(p, ",");
        char name[32];
        snprintf(name, sizeof(name), "%.*s", (int)(n < 31 ? n : 31), p);
        unsigned bit = n < 31 ? qm_alloc_field_parse(name) : 0;
        if (bit == 0) {
            return cli_usage_error(cmd, "--unset: no field '%.*s' (%s)",
                                   (int)(n < 40 ? n : 40), p,
                                   field_names(list));
        }
        a->unset |= bit;
        p += p[n] == ',' ? n + 1 : n;
    }
    return CLI_OK;
}

/* The field flags and --unset into @a. */
static int alloc_fields(const struct cli_cmd *cmd,
                        const struct cli_opt *opts,
                        const struct cli_opt *unset,
                        struct qm_alloc *a)
{
    for (unsigned i = 0; i < QM_ALLOC_FIELDS; i++) {
        struct qm_result res;
        if (opts[i].set &&
            qm_alloc_value_parse(a, 1u << i, opts[i].value, &res) != QM_OK) {
            return cli_usage_error(cmd, "--%s", res.message);
        }
    }
    for (unsigned i = 0; i < unset->n; i++) {
        int rv = unset_arg(cmd, unset->values[i], a);
        if (rv != CLI_OK) {
            return rv;
        }
    }
    if ((a->set & a->unset) != 0) {
        unsigned both = a->set & a->unset;
        return cli_usage_error(cmd, "--%s is both set and unset",
                               qm_alloc_field_name(both & -both));
    }
    if ((a->set | a->unset) == 0) {
        return cli_usage_error(cmd,
                               "nothing to change: give a field's flag or "
                               "--unset FIELD");
    }
    return CLI_OK;
}

/* ---- commands ---- */

int cli_alloc_set(struct cli *c,
                  const struct cli_cmd *cmd,
                  int argc,
                  char **argv)
{
    const char *unset[QM_ALLOC_FIELDS];
    struct cli_opt opts[QM_ALLOC_FIELDS + 1];
    memset(opts, 0, sizeof(opts));
    for (unsigned i = 0; i < QM_ALLOC_FIELDS; i++) {
        opts[i].name = qm_alloc_field_name(1u << i);
        opts[i].has_value = true;
    }
    opts[QM_ALLOC_FIELDS] = (struct cli_opt)CLI_VALUES("unset", unset);
    char *pos[1];
    int npos;
    struct qm_alloc a;
    memset(&a, 0, sizeof(a));
    int rv =
        cli_parse(cmd, argc, argv, opts, QM_ALLOC_FIELDS + 1, pos, 1, 1, &npos);
    if (rv == CLI_OK) {
        rv = key_arg(cmd, pos[0], a.host, a.service);
    }
    if (rv == CLI_OK) {
        rv = alloc_fields(cmd, opts, &opts[QM_ALLOC_FIELDS], &a);
    }
    if (rv != CLI_OK) {
        return rv;
    }
    struct qm_result res;
    rv = qm_alloc_set(c->client, &a, &res);
    if (rv != QM_OK) {
        return cli_fail(c, rv, &res, "alloc set %s", pos[0]);
    }
    return cli_ok(c);
}

int cli_alloc_get(struct cli *c,
                  const struct cli_cmd *cmd,
                  int argc,
                  char **argv)
{
    char *pos[1];
    char host[QM_NAME_MAX + 1], service[QM_NAME_MAX + 1];
    int rv = cli_args(cmd, argc, argv, pos, 1);
    if (rv == CLI_OK) {
        rv = key_arg(cmd, pos[0], host, service);
    }
    if (rv != CLI_OK) {
        return rv;
    }
    struct qm_alloc a;
    struct qm_result res;
    rv = qm_alloc_get(c->client, host, service, c->stale, &a, &res);
    if (rv != QM_OK) {
        return cli_fail(c, rv, &res, "alloc get %s", pos[0]);
    }
    if (c->json) {
        cli_alloc_json(&c->j, &a);
        cj_done(&c->j);
    } else {
        alloc_show(&a);
    }
    return CLI_OK;
}

struct alloc_page
{
    char after[QM_NAME_MAX + 1];
    struct qm_alloc items[QM_PAGE_MAX];
};

static int alloc_fetch(struct cli *c,
                       void *page,
                       const void *arg,
                       unsigned *n,
                       bool *more,
                       struct qm_result *res)
{
    struct alloc_page *pg = page;
    int rv = qm_alloc_list(c->client, arg, pg->after, c->stale, pg->items,
                           QM_PAGE_MAX, n, more, res);
    if (rv == QM_OK && *n > 0) {
        memcpy(pg->after, pg->items[*n - 1].service, sizeof(pg->after));
    }
    return rv;
}

static void alloc_item(struct cli *c, void *page, unsigned i)
{
    const struct qm_alloc *a = &((struct alloc_page *)page)->items[i];
    if (c->json) {
        cli_alloc_json(&c->j, a);
    } else {
        cli_alloc_row(a);
    }
}

int cli_alloc_list(struct cli *c,
                   const struct cli_cmd *cmd,
                   int argc,
                   char **argv)
{
    static const struct cli_list list = {
        .what = "alloc list",
        .empty = "(no allocations)",
        .header = cli_alloc_header,
        .size = sizeof(struct alloc_page),
        .fetch = alloc_fetch,
        .item = alloc_item,
    };
    char *pos[1];
    int rv = cli_args(cmd, argc, argv, pos, 1);
    return rv != CLI_OK ? rv : cli_list_run(c, &list, NULL, pos[0]);
}
