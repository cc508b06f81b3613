/* Pool commands: pool create|get|list|delete, and acquire. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void share_json(struct cli_json *j, const struct qm_share *sh)
{
    cj_obj(j);
    if (sh->tier != 0) {
        cj_key(j, "tier");
        cj_str(j, cli_tier_name(sh->tier));
    } else {
        cj_key(j, "client");
        cj_str(j, sh->client);
    }
    cj_key(j, "amount");
    cj_fixed(j, sh->amount, 3);
    cj_key(j, "tokens");
    cj_fixed(j, sh->tokens, 3);
    cj_obj_end(j);
}

static void pool_json(struct cli_json *j, const struct qm_pool *p)
{
    cj_obj(j);
    cj_key(j, "name");
    cj_str(j, p->name);
    cj_key(j, "capacity");
    cj_fixed(j, p->capacity, 3);
    cj_key(j, "refill");
    cj_fixed(j, p->refill, 3);
    cj_key(j, "cost");
    cj_fixed(j, p->price, 9);
    cj_key(j, "kind");
    cj_str(j, cli_kind_name(p->kind));
    cj_key(j, "tokens");
    cj_fixed(j, p->tokens, 3);
    cj_key(j, "created_ms");
    cj_int(j, p->created_ms);
    cj_key(j, "owner");
    if (p->owner[0] != '\0') {
        cj_str(j, p->owner);
    } else {
        cj_null(j);
    }
    cj_key(j, "shares");
    cj_arr(j);
    for (unsigned i = 0; i < p->nshares; i++) {
        share_json(j, &p->shares[i]);
    }
    cj_arr_end(j);
    cj_obj_end(j);
}

static void pool_header(void)
{
    printf("%-24s %-9s %14s %14s %14s %14s\n", "NAME", "KIND", "TOKENS",
           "CAPACITY", "REFILL/S", "USD/UNIT");
}

static void pool_row(const struct qm_pool *p)
{
    char t[40], cap[40], r[40], cost[40];
    printf("%-24s %-9s %14s %14s %14s %14s\n", p->name, cli_kind_name(p->kind),
           cli_fmt_fixed(t, p->tokens, 3), cli_fmt_fixed(cap, p->capacity, 3),
           cli_fmt_fixed(r, p->refill, 3), cli_fmt_fixed(cost, p->price, 9));
}

/* The owner and the shares of one pool, under its row. */
static void pool_details(const struct qm_pool *p)
{
    if (p->owner[0] != '\0') {
        printf("  owner %s\n", p->owner);
    }
    for (unsigned i = 0; i < p->nshares; i++) {
        const struct qm_share *sh = &p->shares[i];
        char who[QM_NAME_MAX + 8], a[40], t[40];
        snprintf(who, sizeof(who), "%s%s", sh->tier != 0 ? "tier:" : "",
                 sh->tier != 0 ? cli_tier_name(sh->tier) : sh->client);
        printf("  share %-24s %14s set aside, %s available\n", who,
               cli_fmt_fixed(a, sh->amount, 3),
               cli_fmt_fixed(t, sh->tokens, 3));
    }
}

enum { O_CAPACITY, O_REFILL, O_COST, O_KIND, O_OWNER, O_RESERVE, O_PRESET };

static int pool_numbers(const struct cli_cmd *cmd,
                        const struct cli_opt *opts,
                        struct qm_pool_spec *spec)
{
    if (!opts[O_CAPACITY].set) {
        return cli_usage_error(cmd, "--capacity is required");
    }
    if (cli_parse_fixed(opts[O_CAPACITY].value, 3, false, QM_TOKENS_MAX,
                        &spec->capacity) != 0 ||
        spec->capacity == 0) {
        return cli_usage_error(cmd,
                               "--capacity wants units > 0 with up to 3 "
                               "decimals, got '%s'",
                               opts[O_CAPACITY].value);
    }
    if (opts[O_REFILL].set &&
        cli_parse_fixed(opts[O_REFILL].value, 3, false, QM_REFILL_MAX,
                        &spec->refill) != 0) {
        return cli_usage_error(cmd,
                               "--refill wants units per second with up to "
                               "3 decimals, got '%s'",
                               opts[O_REFILL].value);
    }
    if (opts[O_COST].set && cli_parse_fixed(opts[O_COST].value, 9, true,
                                            QM_PRICE_MAX, &spec->price) != 0) {
        return cli_usage_error(cmd,
                               "--cost wants US dollars per unit with up to "
                               "9 decimals, got '%s'",
                               opts[O_COST].value);
    }
    return CLI_OK;
}

/* --reserve CLIENT=N or tier:TIER=N. */
static int pool_share(const struct cli_cmd *cmd,
                      const char *arg,
                      struct qm_share *sh)
{
    bool tier = strncmp(arg, "tier:", 5) == 0;
    memset(sh, 0, sizeof(*sh));
    if (cli_name_amount(tier ? arg + 5 : arg, sh->client, &sh->amount, false) !=
        0) {
        return cli_usage_error(cmd,
                               "--reserve wants CLIENT=N or tier:TIER=N "
                               "(units > 0), got '%s'",
                               arg);
    }
    if (!tier) {
        return CLI_OK;
    }
    int rv = cli_tier_arg(cmd, sh->client, &sh->tier);
    sh->client[0] = '\0';
    return rv;
}

/* --kind, --owner and --reserve: an owner makes a pool dedicated and
 * shares make it reserved unless --kind says otherwise. */
static int pool_kind(const struct cli_cmd *cmd,
                     const struct cli_opt *opts,
                     struct qm_pool_spec *spec,
                     struct qm_share shares[QM_SHARES_MAX])
{
    const struct cli_opt *kind = &opts[O_KIND], *owner = &opts[O_OWNER];
    const struct cli_opt *reserve = &opts[O_RESERVE];
    spec->kind = kind->set        ? cli_kind_parse(kind->value)
                 : owner->set     ? QM_KIND_DEDICATED
                 : reserve->n > 0 ? QM_KIND_RESERVED
                                  : QM_KIND_SHARED;
    if (spec->kind == 0) {
        return cli_usage_error(cmd,
                               "--kind wants shared, reserved or "
                               "dedicated, got '%s'",
                               kind->value);
    }
    if (owner->set != (spec->kind == QM_KIND_DEDICATED)) {
        return cli_usage_error(cmd, owner->set
                                        ? "--owner goes with --kind dedicated"
                                        : "--kind dedicated needs --owner "
                                          "CLIENT");
    }
    if (reserve->n > 0 && spec->kind != QM_KIND_RESERVED) {
        return cli_usage_error(cmd, "--reserve goes with --kind reserved");
    }
    for (unsigned i = 0; i < reserve->n; i++) {
        int rv = pool_share(cmd, reserve->values[i], &shares[i]);
        if (rv != CLI_OK) {
            return rv;
        }
    }
    spec->owner = owner->value;
    spec->nshares = reserve->n;
    spec->shares = shares;
    return CLI_OK;
}

/* The default pools of seed 004's resource manager: capacity and refill in
 * milli-units, price in nano-dollars per unit. deploy/pools-ai-apis.sh
 * lists the same table. */
static const struct qm_pool_spec ai_apis[] = {
    {.name = "openai-gpt4",
     .capacity = 10000000,
     .refill = 166000,
     .price = 30000},
    {.name = "openai-gpt35",
     .capacity = 90000000,
     .refill = 1500000,
     .price = 1500},
    {.name = "email-sendgrid",
     .capacity = 1000000,
     .refill = 16000,
     .price = 100000},
    {.name = "sms-twilio",
     .capacity = 500000,
     .refill = 8000,
     .price = 7500000},
    {.name = "database-d1", .capacity = 50000000, .refill = 833000, .price = 0},
    {.name = "kv-storage",
     .capacity = 100000000,
     .refill = 1666000,
     .price = 500},
};

/* pool create --preset ai-apis: create each pool that does not exist. */
static int create_preset(struct cli *c, const char *preset)
{
    if (strcmp(preset, "ai-apis") != 0) {
        fprintf(stderr, "qmctl: unknown preset '%s' (there is: ai-apis)\n",
                preset);
        return CLI_USAGE;
    }
    if (c->json) {
        cj_obj(&c->j);
        cj_key(&c->j, "ok");
        cj_bool(&c->j, true);
        cj_key(&c->j, "pools");
        cj_obj(&c->j);
    }
    for (size_t i = 0; i < sizeof(ai_apis) / sizeof(ai_apis[0]); i++) {
        struct qm_result res;
        int rv = qm_pool_create(c->client, &ai_apis[i], &res);
        if (rv != QM_OK && rv != QM_EXISTS) {
            return cli_fail(c, rv, &res, "pool create %s", ai_apis[i].name);
        }
        const char *what = rv == QM_OK ? "created" : "exists";
        if (c->json) {
            cj_key(&c->j, ai_apis[i].name);
            cj_str(&c->j, what);
        } else {
            printf("%-16s %s\n", ai_apis[i].name, what);
        }
    }
    if (c->json) {
        cj_obj_end(&c->j);
        cj_obj_end(&c->j);
        cj_done(&c->j);
    }
    return CLI_OK;
}

int cli_pool_create(struct cli *c,
                    const struct cli_cmd *cmd,
                    int argc,
                    char **argv)
{
    const char *reserve[QM_SHARES_MAX];
    struct cli_opt opts[] = {
        [O_CAPACITY] = CLI_VALUE("capacity"),
        [O_REFILL] = CLI_VALUE("refill"),
        [O_COST] = CLI_VALUE("cost"),
        [O_KIND] = CLI_VALUE("kind"),
        [O_OWNER] = CLI_VALUE("owner"),
        [O_RESERVE] = CLI_VALUES("reserve", reserve),
        [O_PRESET] = CLI_VALUE("preset"),
    };
    char *pos[1];
    int npos;
    struct qm_share shares[QM_SHARES_MAX];
    struct qm_pool_spec spec = {.name = NULL};
    int rv = cli_parse(cmd, argc, argv, opts, sizeof(opts) / sizeof(opts[0]),
                       pos, 0, 1, &npos);
    if (rv == CLI_OK && opts[O_PRESET].set) {
        if (npos > 0 || argc > 2) {
            return cli_usage_error(cmd, "--preset takes no other argument");
        }
        return create_preset(c, opts[O_PRESET].value);
    }
    if (rv == CLI_OK && npos == 0) {
        return cli_usage_error(cmd, "missing arguments");
    }
    if (rv == CLI_OK) {
        rv = pool_numbers(cmd, opts, &spec);
    }
    if (rv == CLI_OK) {
        rv = pool_kind(cmd, opts, &spec, shares);
    }
    if (rv != CLI_OK) {
        return rv;
    }
    spec.name = pos[0];
    struct qm_result res;
    rv = qm_pool_create(c->client, &spec, &res);
    if (rv != QM_OK) {
        return cli_fail(c, rv, &res, "pool create %s", pos[0]);
    }
    return cli_ok(c);
}

int cli_pool_get(struct cli *c,
                 const struct cli_cmd *cmd,
                 int argc,
                 char **argv)
{
    char *pos[1];
    int rv = cli_args(cmd, argc, argv, pos, 1);
    if (rv != CLI_OK) {
        return rv;
    }
    struct qm_pool p;
    struct qm_result res;
    rv = qm_pool_get(c->client, pos[0], c->stale, &p, &res);
    if (rv != QM_OK) {
        return cli_fail(c, rv, &res, "pool get %s", pos[0]);
    }
    if (c->json) {
        pool_json(&c->j, &p);
        cj_done(&c->j);
    } else {
        pool_header();
        pool_row(&p);
        pool_details(&p);
    }
    return CLI_OK;
}

struct pool_page
{
    char after[QM_NAME_MAX + 1];
    struct qm_pool items[QM_PAGE_MAX];
};

static int pool_fetch(struct cli *c,
                      void *page,
                      const void *arg,
                      unsigned *n,
                      bool *more,
                      struct qm_result *res)
{
    struct pool_page *pg = page;
    (void)arg;
    int rv = qm_pool_list(c->client, pg->after, c->stale, pg->items,
                          QM_PAGE_MAX, n, more, res);
    if (rv == QM_OK && *n > 0) {
        memcpy(pg->after, pg->items[*n - 1].name, sizeof(pg->after));
    }
    return rv;
}

static void pool_item(struct cli *c, void *page, unsigned i)
{
    struct pool_page *pg = page;
    if (c->json) {
        pool_json(&c->j, &pg->items[i]);
    } else {
        pool_row(&pg->items[i]);
    }
}

int cli_pool_list(struct cli *c,
                  const struct cli_cmd *cmd,
                  int argc,
                  char **argv)
{
    static const struct cli_list list = {
        .what = "pool list",
        .empty = "(no pools)",
        .header = pool_header,
        .size = sizeof(struct pool_page),
        .fetch = pool_fetch,
        .item = pool_item,
    };
    char *pos[1];
    int rv = cli_args(cmd, argc, argv, pos, 0);
    return rv != CLI_OK ? rv : cli_list_run(c, &list, NULL, NULL);
}

int cli_pool_delete(struct cli *c,
                    const struct cli_cmd *cmd,
                    int argc,
                    char **argv)
{
    char *pos[1];
    int rv = cli_args(cmd, argc, argv, pos, 1);
    if (rv != CLI_OK) {
        return rv;
    }
    struct qm_result res;
    rv = qm_pool_delete(c->client, pos[0], &res);
    if (rv != QM_OK) {
        return cli_fail(c, rv, &res, "pool delete %s", pos[0]);
    }
    return cli_ok(c);
}

static void acquire_json(struct cli *c,
                         int rv,
                         const struct qm_acquire *got,
                         const struct qm_result *res)
{
    cj_obj(&c->j);
    cj_key(&c->j, "granted");
    cj_bool(&c->j, rv == QM_OK);
    if (rv == QM_DENIED) {
        cj_key(&c->j, "retry_after_ms");
        cj_int(&c->j, res->retry_after_ms);
    } else {
        cj_key(&c->j, "cost");
        cj_fixed(&c->j, got->cost, 6);
    }
    cj_key(&c->j, "tokens");
    cj_fixed(&c->j, got->tokens, 3);
    cj_obj_end(&c->j);
    cj_done(&c->j);
}

static void acquire_text(const char *pool,
                         int rv,
                         const struct qm_acquire *got,
                         const struct qm_result *res)
{
    char t[40], usd[40];
    if (rv == QM_OK) {
        printf("granted; %s left in %s", cli_fmt_fixed(t, got->tokens, 3),
               pool);
        if (got->cost != 0) {
            printf("; charged %s", cli_fmt_usd(usd, got->cost));
        }
        printf("\n");
        return;
    }
    printf("denied; %s left in %s", cli_fmt_fixed(t, got->tokens, 3), pool);
    if (res->retry_after_ms > 0) {
        printf(", retry after %lld ms", (long long)res->retry_after_ms);
    }
    printf(" (%s)\n", res->message);
}

int cli_acquire(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv)
{
    struct cli_opt opts[] = {CLI_VALUE("client")};
    char *pos[2];
    int npos;
    int rv = cli_parse(cmd, argc, argv, opts, 1, pos, 2, 2, &npos);
    if (rv != CLI_OK) {
        return rv;
    }
    int64_t amount;
    if (cli_parse_fixed(pos[1], 3, false, QM_TOKENS_MAX, &amount) != 0 ||
        amount == 0) {
        return cli_usage_error(cmd,
                               "N wants units > 0 with up to 3 decimals, "
                               "got '%s'",
                               pos[1]);
    }
    struct qm_acquire got = {.granted = false};
    struct qm_result res;
    rv = qm_acquire_for(c->client, pos[0], amount, opts[0].value, &got, &res);
    if (rv == QM_BUDGET_EXCEEDED) {
        return cli_refused(c, rv, &res, "acquire", pos[0]);
    }
    if (rv != QM_OK && rv != QM_DENIED) {
        return cli_fail(c, rv, &res, "acquire %s", pos[0]);
    }
    if (c->json) {
        acquire_json(c, rv, &got, &res);
    } else {
        acquire_text(pos[0], rv, &got, &res);
    }
    return rv == QM_DENIED ? CLI_DENIED : CLI_OK;
}
