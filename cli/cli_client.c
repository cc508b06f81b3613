/* Ledger clients and tiers: client create|set|get|list, tier
 * get|set|list. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* ---- output ---- */

static void client_json(struct cli_json *j, const struct qm_client_info *ci)
{
    char m[16];
    cj_obj(j);
    cj_key(j, "id");
    cj_str(j, ci->id);
    cj_key(j, "tier");
    cj_str(j, cli_tier_name(ci->tier));
    cj_key(j, "budget");
    if (ci->unlimited) {
        cj_null(j);
    } else {
        cj_fixed(j, ci->budget, 6);
    }
    cj_key(j, "own_budget");
    cj_bool(j, ci->own_budget);
    cj_key(j, "spent");
    cj_fixed(j, ci->spent, 6);
    cj_key(j, "reserved");
    cj_fixed(j, ci->reserved, 6);
    cj_key(j, "open");
    cj_uint(j, ci->open);
    cj_key(j, "month");
    cj_str(j, cli_fmt_month(m, ci->month));
    cj_key(j, "created_ms");
    cj_int(j, ci->created_ms);
    cj_obj_end(j);
}

static void client_header(void)
{
    printf("%-24s %-10s %-18s %14s %14s %6s %s\n", "ID", "TIER", "BUDGET",
           "SPENT", "RESERVED", "OPEN", "MONTH");
}

static void client_row(const struct qm_client_info *ci)
{
    char budget[48], usd[40], spent[40], reserved[40], m[16];
    if (ci->unlimited) {
        snprintf(budget, sizeof(budget), "unlimited");
    } else {
        snprintf(budget, sizeof(budget), "%s%s", cli_fmt_usd(usd, ci->budget),
                 ci->own_budget ? "" : " (tier)");
    }
    printf("%-24s %-10s %-18s %14s %14s %6llu %s\n", ci->id,
           cli_tier_name(ci->tier), budget, cli_fmt_usd(spent, ci->spent),
           cli_fmt_usd(reserved, ci->reserved), (unsigned long long)ci->open,
           cli_fmt_month(m, ci->month));
}

static void client_print(struct cli *c, const struct qm_client_info *ci)
{
    if (c->json) {
        client_json(&c->j, ci);
    } else {
        client_row(ci);
    }
}

static void tier_json(struct cli_json *j, const struct qm_tier_info *t)
{
    cj_obj(j);
    cj_key(j, "tier");
    cj_str(j, cli_tier_name(t->tier));
    cj_key(j, "priority");
    cj_int(j, t->priority);
    cj_key(j, "max_concurrent");
    cj_int(j, t->max_concurrent);
    cj_key(j, "budget");
    if (t->custom) {
        cj_null(j);
    } else {
        cj_fixed(j, t->budget, 6);
    }
    cj_key(j, "custom");
    cj_bool(j, t->custom);
    cj_obj_end(j);
}

static void tier_header(void)
{
    printf("%-10s %8s %14s %s\n", "TIER", "PRIORITY", "MAX_CONCURRENT",
           "BUDGET");
}

static void tier_row(const struct qm_tier_info *t)
{
    char usd[40];
    printf("%-10s %8lld %14lld %s\n", cli_tier_name(t->tier),
           (long long)t->priority, (long long)t->max_concurrent,
           t->custom ? "custom" : cli_fmt_usd(usd, t->budget));
}

/* Tiers come in one page: print them as a list or as one. */
static void tiers_print(struct cli *c,
                        const struct qm_tier_info *t,
                        unsigned n,
                        bool array)
{
    if (c->json && array) {
        cj_arr(&c->j);
    }
    if (!c->json) {
        tier_header();
    }
    for (unsigned i = 0; i < n; i++) {
        if (c->json) {
            tier_json(&c->j, &t[i]);
        } else {
            tier_row(&t[i]);
        }
    }
    if (c->json && array) {
        cj_arr_end(&c->j);
    }
    if (c->json) {
        cj_done(&c->j);
    }
}

/* --budget USD, or the word @word when not NULL. */
static int budget_opt(const struct cli_cmd *cmd,
                      const struct cli_opt *o,
                      const char *word,
                      bool *is_word,
                      int64_t *v)
{
    if (cli_money(o->value, word, is_word, v) != 0) {
        return cli_usage_error(cmd,
                               "--budget wants US dollars a month with up to "
                               "6 decimals%s%s, got '%s'",
                               word != NULL ? " or " : "",
                               word != NULL ? word : "", o->value);
    }
    return CLI_OK;
}

/* ---- clients ---- */

enum { C_TIER, C_BUDGET };

int cli_client_create(struct cli *c,
                      const struct cli_cmd *cmd,
                      int argc,
                      char **argv)
{
    struct cli_opt opts[] = {
        [C_TIER] = CLI_VALUE("tier"), [C_BUDGET] = CLI_VALUE("budget")};
    char *pos[1];
    int npos, tier = 0;
    int64_t budget = 0;
    int rv = cli_parse(cmd, argc, argv, opts, 2, pos, 1, 1, &npos);
    if (rv == CLI_OK && !opts[C_TIER].set) {
        rv = cli_usage_error(cmd, "--tier is required");
    }
    if (rv == CLI_OK) {
        rv = cli_tier_arg(cmd, opts[C_TIER].value, &tier);
    }
    if (rv == CLI_OK && opts[C_BUDGET].set) {
        rv = budget_opt(cmd, &opts[C_BUDGET], NULL, NULL, &budget);
    }
    if (rv != CLI_OK) {
        return rv;
    }
    struct qm_result res;
    rv = qm_client_create(c->client, pos[0], tier, opts[C_BUDGET].set, budget,
                          &res);
    if (rv != QM_OK) {
        return cli_fail(c, rv, &res, "client create %s", pos[0]);
    }
    return cli_ok(c);
}

int cli_client_set(struct cli *c,
                   const struct cli_cmd *cmd,
                   int argc,
                   char **argv)
{
    struct cli_opt opts[] = {
        [C_TIER] = CLI_VALUE("tier"), [C_BUDGET] = CLI_VALUE("budget")};
    char *pos[1];
    int npos;
    struct qm_client_update u = {.set = 0};
    int rv = cli_parse(cmd, argc, argv, opts, 2, pos, 1, 1, &npos);
    if (rv == CLI_OK && !opts[C_TIER].set && !opts[C_BUDGET].set) {
        rv = cli_usage_error(cmd, "nothing to change: give --tier or --budget");
    }
    if (rv == CLI_OK && opts[C_TIER].set) {
        u.set |= QM_SET_TIER;
        rv = cli_tier_arg(cmd, opts[C_TIER].value, &u.tier);
    }
    if (rv == CLI_OK && opts[C_BUDGET].set) {
        u.set |= QM_SET_BUDGET;
        rv = budget_opt(cmd, &opts[C_BUDGET], "default", &u.budget_default,
                        &u.budget);
    }
    if (rv != CLI_OK) {
        return rv;
    }
    struct qm_result res;
    rv = qm_client_set(c->client, pos[0], &u, &res);
    if (rv != QM_OK) {
        return cli_fail(c, rv, &res, "client set %s", pos[0]);
    }
    return cli_ok(c);
}

int cli_client_get(struct cli *c,
                   const struct cli_cmd *cmd,
                   int argc,
                   char **argv)
{
    char *pos[1];
    int rv = cli_args(cmd, argc, argv, pos, 1);
    if (rv != CLI_OK) {
        return rv;
    }
    struct qm_client_info ci;
    struct qm_result res;
    rv = qm_client_get(c->client, pos[0], c->stale, &ci, &res);
    if (rv != QM_OK) {
        return cli_fail(c, rv, &res, "client get %s", pos[0]);
    }
    if (!c->json) {
        client_header();
    }
    client_print(c, &ci);
    if (c->json) {
        cj_done(&c->j);
    }
    return CLI_OK;
}

struct client_page
{
    char after[QM_NAME_MAX + 1];
    struct qm_client_info items[QM_PAGE_MAX];
};

static int client_fetch(struct cli *c,
                        void *page,
                        const void *arg,
                        unsigned *n,
                        bool *more,
                        struct qm_result *res)
{
    struct client_page *pg = page;
    (void)arg;
    int rv = qm_client_list(c->client, pg->after, c->stale, pg->items,
                            QM_PAGE_MAX, n, more, res);
    if (rv == QM_OK && *n > 0) {
        memcpy(pg->after, pg->items[*n - 1].id, sizeof(pg->after));
    }
    return rv;
}

static void client_item(struct cli *c, void *page, unsigned i)
{
    client_print(c, &((struct client_page *)page)->items[i]);
}

int cli_client_list(struct cli *c,
                    const struct cli_cmd *cmd,
                    int argc,
                    char **argv)
{
    static const struct cli_list list = {
        .what = "client list",
        .empty = "(no clients)",
        .header = client_header,
        .size = sizeof(struct client_page),
        .fetch = client_fetch,
        .item = client_item,
    };
    char *pos[1];
    int rv = cli_args(cmd, argc, argv, pos, 0);
    return rv != CLI_OK ? rv : cli_list_run(c, &list, NULL, NULL);
}

/* ---- tiers ---- */

/* Read tier @tier and print it. */
static int tier_show(struct cli *c, int tier, bool stale, const char *what)
{
    struct qm_tier_info t;
    struct qm_result res;
    int rv = qm_tier_get(c->client, tier, stale, &t, &res);
    if (rv != QM_OK) {
        return cli_fail(c, rv, &res, "%s %s", what, cli_tier_name(tier));
    }
    tiers_print(c, &t, 1, false);
    return CLI_OK;
}

int cli_tier_get(struct cli *c,
                 const struct cli_cmd *cmd,
                 int argc,
                 char **argv)
{
    char *pos[1];
    int tier;
    int rv = cli_args(cmd, argc, argv, pos, 1);
    if (rv == CLI_OK) {
        rv = cli_tier_arg(cmd, pos[0], &tier);
    }
    return rv != CLI_OK ? rv : tier_show(c, tier, c->stale, "tier get");
}

enum { T_PRIORITY, T_MAX_CONCURRENT, T_BUDGET };

static int tier_update(const struct cli_cmd *cmd,
                       const struct cli_opt *opts,
                       struct qm_tier_update *u)
{
    memset(u, 0, sizeof(*u));
    if (opts[T_PRIORITY].set) {
        u->set |= QM_SET_PRIORITY;
        if (cli_uint(opts[T_PRIORITY].value, 40, &u->priority) != 0) {
            return cli_usage_error(cmd, "--priority wants 0..40, got '%s'",
                                   opts[T_PRIORITY].value);
        }
    }
    if (opts[T_MAX_CONCURRENT].set) {
        u->set |= QM_SET_MAX_CONCURRENT;
        if (cli_uint(opts[T_MAX_CONCURRENT].value, QM_RESERVATIONS_MAX,
                     &u->max_concurrent) != 0) {
            return cli_usage_error(
                cmd, "--max-concurrent wants 0..%d, got '%s'",
                QM_RESERVATIONS_MAX, opts[T_MAX_CONCURRENT].value);
        }
    }
    if (opts[T_BUDGET].set) {
        u->set |= QM_SET_BUDGET;
        return budget_opt(cmd, &opts[T_BUDGET], "custom", &u->custom,
                          &u->budget);
    }
    if (u->set == 0) {
        return cli_usage_error(cmd,
                               "nothing to change: give --priority, "
                               "--max-concurrent or --budget");
    }
    return CLI_OK;
}

int cli_tier_set(struct cli *c,
                 const struct cli_cmd *cmd,
                 int argc,
                 char **argv)
{
    struct cli_opt opts[] = {
        [T_PRIORITY] = CLI_VALUE("priority"),
        [T_MAX_CONCURRENT] = CLI_VALUE("max-concurrent"),
        [T_BUDGET] = CLI_VALUE("budget"),
    };
    char *pos[1];
    int npos, tier;
    struct qm_tier_update u;
    int rv = cli_parse(cmd, argc, argv, opts, 3, pos, 1, 1, &npos);
    if (rv == CLI_OK) {
        rv = cli_tier_arg(cmd, pos[0], &tier);
    }
    if (rv == CLI_OK) {
        rv = tier_update(cmd, opts, &u);
    }
    if (rv != CLI_OK) {
        return rv;
    }
    struct qm_result res;
    rv = qm_tier_set(c->client, tier, &u, &res);
    if (rv != QM_OK) {
        return cli_fail(c, rv, &res, "tier set %s", pos[0]);
    }
    /* The contract prints the tier as it now is. */
    return tier_show(c, tier, false, "tier set: changed; reading back");
}

int cli_tier_list(struct cli *c,
                  const struct cli_cmd *cmd,
                  int argc,
                  char **argv)
{
    char *pos[1];
    int rv = cli_args(cmd, argc, argv, pos, 0);
    if (rv != CLI_OK) {
        return rv;
    }
    struct qm_tier_info t[QM_TIERS];
    unsigned n;
    struct qm_result res;
    rv = qm_tier_list(c->client, c->stale, t, &n, &res);
    if (rv != QM_OK) {
        return cli_fail(c, rv, &res, "tier list");
    }
    tiers_print(c, t, n, true);
    return CLI_OK;
}
