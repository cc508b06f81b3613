/* Money: usage (what a client used and spent in a month, per pool) and
 * cost estimate. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

struct usage_args
{
    const char *client;
    uint32_t month; /* YYYYMM, 0: this month */
};

struct usage_page
{
    char after[QM_NAME_MAX + 1];
    struct qm_usage total;
    struct qm_pool_usage items[QM_PAGE_MAX];
};

static int usage_fetch(struct cli *c,
                       void *page,
                       const void *arg,
                       unsigned *n,
                       bool *more,
                       struct qm_result *res)
{
    const struct usage_args *ua = arg;
    struct usage_page *pg = page;
    int rv = qm_usage(c->client, ua->client, ua->month, pg->after, c->stale,
                      &pg->total, pg->items, QM_PAGE_MAX, n, more, res);
    if (rv == QM_OK && *n > 0) {
        memcpy(pg->after, pg->items[*n - 1].pool, sizeof(pg->after));
    }
    return rv;
}

/* The totals, then the pools: {"client", "month", "spent", "pools": {. */
static void usage_begin(struct cli *c, void *page)
{
    const struct qm_usage *u = &((struct usage_page *)page)->total;
    char m[16], usd[40];
    if (!c->json) {
        printf("client %s, %s: spent %s\n%-24s %18s %14s\n", u->client,
               cli_fmt_month(m, u->month), cli_fmt_usd(usd, u->spent), "POOL",
               "UNITS", "COST");
        return;
    }
    cj_obj(&c->j);
    cj_key(&c->j, "client");
    cj_str(&c->j, u->client);
    cj_key(&c->j, "month");
    cj_str(&c->j, cli_fmt_month(m, u->month));
    cj_key(&c->j, "spent");
    cj_fixed(&c->j, u->spent, 6);
    cj_key(&c->j, "pools");
    cj_obj(&c->j);
}

static void usage_item(struct cli *c, void *page, unsigned i)
{
    const struct qm_pool_usage *p = &((struct usage_page *)page)->items[i];
    char units[40], usd[40];
    if (!c->json) {
        printf("%-24s %18s %14s\n", p->pool, cli_fmt_fixed(units, p->units, 3),
               cli_fmt_usd(usd, p->cost));
        return;
    }
    cj_key(&c->j, p->pool);
    cj_obj(&c->j);
    cj_key(&c->j, "units");
    cj_fixed(&c->j, p->units, 3);
    cj_key(&c->j, "cost");
    cj_fixed(&c->j, p->cost, 6);
    cj_obj_end(&c->j);
}

static void usage_end(struct cli *c, void *page, unsigned total)
{
    (void)page;
    if (!c->json) {
        if (total == 0) {
            printf("(nothing used)\n");
        }
        return;
    }
    cj_obj_end(&c->j);
    cj_obj_end(&c->j);
    cj_done(&c->j);
}

int cli_usage(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv)
{
    static const struct cli_list list = {
        .what = "usage",
        .size = sizeof(struct usage_page),
        .fetch = usage_fetch,
        .item = usage_item,
        .begin = usage_begin,
        .end = usage_end,
    };
    struct cli_opt opts[] = {CLI_VALUE("month")};
    char *pos[1];
    int npos;
    struct usage_args ua = {NULL, 0};
    int rv = cli_parse(cmd, argc, argv, opts, 1, pos, 1, 1, &npos);
    if (rv == CLI_OK && opts[0].set &&
        cli_month_parse(opts[0].value, &ua.month) != 0) {
        rv = cli_usage_error(cmd, "--month wants YYYY-MM, got '%s'",
                             opts[0].value);
    }
    if (rv != CLI_OK) {
        return rv;
    }
    ua.client = pos[0];
    return cli_list_run(c, &list, NULL, &ua);
}

int cli_cost_estimate(struct cli *c,
                      const struct cli_cmd *cmd,
                      int argc,
                      char **argv)
{
    char *pos[QM_RES_POOLS_MAX + 1]; /* one more, to say how many fit */
    int npos;
    struct qm_amount a[QM_RES_POOLS_MAX];
    unsigned n;
    int rv = cli_parse(cmd, argc, argv, NULL, 0, pos, 1, QM_RES_POOLS_MAX + 1,
                       &npos);
    if (rv == CLI_OK) {
        rv = cli_amounts(cmd, pos, npos, false, a, &n);
    }
    if (rv != CLI_OK) {
        return rv;
    }
    int64_t cost;
    struct qm_result res;
    rv = qm_cost_estimate(c->client, a, n, c->stale, &cost, &res);
    if (rv != QM_OK) {
        return cli_fail(c, rv, &res, "cost estimate");
    }
    char usd[40];
    if (!c->json) {
        printf("%s\n", cli_fmt_usd(usd, cost));
        return CLI_OK;
    }
    cj_obj(&c->j);
    cj_key(&c->j, "cost");
    cj_fixed(&c->j, cost, 6);
    cj_obj_end(&c->j);
    cj_done(&c->j);
    return CLI_OK;
}
