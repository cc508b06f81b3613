/* Reservations: reserve, commit, release, reservation list|get. Users see
 * reservation ids as "r17" and may type "r17" or "17". */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* ---- output ---- */

static void reservation_json(struct cli_json *j, const struct qm_reservation *r)
{
    char id[24];
    cj_obj(j);
    cj_key(j, "id");
    cj_str(j, cli_fmt_res_id(id, r->id));
    cj_key(j, "client");
    cj_str(j, r->client);
    cj_key(j, "amounts");
    cli_json_amounts(j, r->amounts, r->namounts);
    cj_key(j, "estimate");
    cj_fixed(j, r->estimate, 6);
    cj_key(j, "created_ms");
    cj_int(j, r->created_ms);
    cj_key(j, "expires_at_ms");
    cj_int(j, r->expires_at_ms);
    cj_obj_end(j);
}

static void reservation_header(void)
{
    printf("%-10s %-24s %-20s %14s %s\n", "ID", "CLIENT", "EXPIRES", "ESTIMATE",
           "AMOUNTS");
}

static void reservation_print(struct cli *c, const struct qm_reservation *r)
{
    if (c->json) {
        reservation_json(&c->j, r);
        return;
    }
    char id[24], t[32], usd[40], amounts[QM_RES_POOLS_MAX * 90];
    printf("%-10s %-24s %-20s %14s %s\n", cli_fmt_res_id(id, r->id), r->client,
           cli_fmt_time(t, r->expires_at_ms), cli_fmt_usd(usd, r->estimate),
           cli_fmt_amounts(amounts, sizeof(amounts), r->amounts, r->namounts));
}

int cli_charged(struct cli *c, int64_t cost)
{
    char usd[40];
    if (!c->json) {
        printf("OK; charged %s\n", cli_fmt_usd(usd, cost));
        return CLI_OK;
    }
    cj_obj(&c->j);
    cj_key(&c->j, "ok");
    cj_bool(&c->j, true);
    cj_key(&c->j, "cost");
    cj_fixed(&c->j, cost, 6);
    cj_obj_end(&c->j);
    cj_done(&c->j);
    return CLI_OK;
}

/* ---- reserve, commit, release ---- */

enum { R_CLIENT, R_TTL };

static int reserve_opts(const struct cli_cmd *cmd,
                        const struct cli_opt *opts,
                        int64_t *ttl_ms)
{
    if (!opts[R_CLIENT].set) {
        return cli_usage_error(cmd, "--client is required");
    }
    *ttl_ms = 0;
    if (opts[R_TTL].set && (cli_parse_fixed(opts[R_TTL].value, 3, false,
                                            QM_RES_TTL_MAX_MS, ttl_ms) != 0 ||
                            *ttl_ms == 0)) {
        return cli_usage_error(cmd,
                               "--ttl wants seconds, 0 < s <= %lld, got '%s'",
                               QM_RES_TTL_MAX_MS / 1000, opts[R_TTL].value);
    }
    return CLI_OK;
}

static void reserved(struct cli *c, const struct qm_reserve *r)
{
    char id[24], t[32], usd[40];
    if (!c->json) {
        printf("reserved %s until %s; estimate %s\n", cli_fmt_res_id(id, r->id),
               cli_fmt_time(t, r->expires_at_ms),
               cli_fmt_usd(usd, r->estimate));
        return;
    }
    cj_obj(&c->j);
    cj_key(&c->j, "granted");
    cj_bool(&c->j, true);
    cj_key(&c->j, "id");
    cj_str(&c->j, cli_fmt_res_id(id, r->id));
    cj_key(&c->j, "expires_at_ms");
    cj_int(&c->j, r->expires_at_ms);
    cj_key(&c->j, "estimate");
    cj_fixed(&c->j, r->estimate, 6);
    cj_obj_end(&c->j);
    cj_done(&c->j);
}

int cli_reserve(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv)
{
    struct cli_opt opts[] = {
        [R_CLIENT] = CLI_VALUE("client"), [R_TTL] = CLI_VALUE("ttl")};
    char *pos[QM_RES_POOLS_MAX + 1]; /* one more, to say how many fit */
    int npos;
    int64_t ttl_ms;
    struct qm_amount a[QM_RES_POOLS_MAX];
    unsigned n;
    int rv = cli_parse(cmd, argc, argv, opts, 2, pos, 1, QM_RES_POOLS_MAX + 1,
                       &npos);
    if (rv == CLI_OK) {
        rv = reserve_opts(cmd, opts, &ttl_ms);
    }
    if (rv == CLI_OK) {
        rv = cli_amounts(cmd, pos, npos, false, a, &n);
    }
    if (rv != CLI_OK) {
        return rv;
    }
    const char *client = opts[R_CLIENT].value;
    struct qm_reserve r = {.id = 0};
    struct qm_result res;
    rv = qm_reserve(c->client, client, ttl_ms, a, n, &r, &res);
    if (rv == QM_DENIED && res.retry_after_ms == 0) {
        res.retry_after_ms = r.retry_after_ms;
    }
    if (rv == QM_DENIED || rv == QM_BUDGET_EXCEEDED) {
        return cli_refused(c, rv, &res, "reserve for", client);
    }
    if (rv != QM_OK) {
        return cli_fail(c, rv, &res, "reserve for %s", client);
    }
    reserved(c, &r);
    return CLI_OK;
}

int cli_commit(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv)
{
    struct cli_opt opts[] = {CLI_VALUE("used")};
    char *pos[QM_RES_POOLS_MAX + 2];
    int npos;
    uint64_t id;
    int64_t used = 0, cost = 0;
    struct qm_amount a[QM_RES_POOLS_MAX];
    unsigned n = 0;
    int rv = cli_parse(cmd, argc, argv, opts, 1, pos, 1, QM_RES_POOLS_MAX + 2,
                       &npos);
    if (rv == CLI_OK) {
        rv = cli_res_id_arg(cmd, pos[0], &id);
    }
    if (rv == CLI_OK && opts[0].set &&
        (npos > 1 ||
         cli_parse_fixed(opts[0].value, 3, false, QM_TOKENS_MAX, &used) != 0)) {
        rv = cli_usage_error(cmd,
                             "--used wants units with up to 3 decimals, "
                             "and no POOL=USED beside it");
    }
    if (rv == CLI_OK && !opts[0].set) {
        rv = cli_amounts(cmd, pos + 1, npos - 1, true, a, &n);
    }
    if (rv != CLI_OK) {
        return rv;
    }
    struct qm_result res;
    rv = opts[0].set ? qm_commit_one(c->client, id, used, &cost, &res)
                     : qm_commit(c->client, id, a, n, &cost, &res);
    if (rv != QM_OK) {
        return cli_fail(c, rv, &res, "commit %s", pos[0]);
    }
    return cli_charged(c, cost);
}

int cli_release(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv)
{
    char *pos[1];
    uint64_t id;
    int64_t cost = 0;
    int rv = cli_args(cmd, argc, argv, pos, 1);
    if (rv == CLI_OK) {
        rv = cli_res_id_arg(cmd, pos[0], &id);
    }
    if (rv != CLI_OK) {
        return rv;
    }
    struct qm_result res;
    rv = qm_release(c->client, id, &cost, &res);
    if (rv != QM_OK) {
        return cli_fail(c, rv, &res, "release %s", pos[0]);
    }
    return cli_charged(c, cost);
}

/* ---- reservation list, get ---- */

struct res_page
{
    uint64_t after;
    struct qm_reservation items[QM_PAGE_MAX];
};

/* @arg: the client, or NULL for every client. */
static int res_fetch(struct cli *c,
                     void *page,
                     const void *arg,
                     unsigned *n,
                     bool *more,
                     struct qm_result *res)
{
    struct res_page *pg = page;
    int rv = qm_reservation_list(c->client, arg, pg->after, c->stale, pg->items,
                                 QM_PAGE_MAX, n, more, res);
    if (rv == QM_OK && *n > 0) {
        pg->after = pg->items[*n - 1].id;
    }
    return rv;
}

static void res_item(struct cli *c, void *page, unsigned i)
{
    reservation_print(c, &((struct res_page *)page)->items[i]);
}

int cli_reservation_list(struct cli *c,
                         const struct cli_cmd *cmd,
                         int argc,
                         char **argv)
{
    static const struct cli_list list = {
        .what = "reservation list",
        .empty = "(no open reservations)",
        .header = reservation_header,
        .size = sizeof(struct res_page),
        .fetch = res_fetch,
        .item = res_item,
    };
    struct cli_opt opts[] = {CLI_VALUE("client")};
    char *pos[1];
    int npos;
    int rv = cli_parse(cmd, argc, argv, opts, 1, pos, 0, 0, &npos);
    return rv != CLI_OK ? rv : cli_list_run(c, &list, NULL, opts[0].value);
}

int cli_reservation_get(struct cli *c,
                        const struct cli_cmd *cmd,
                        int argc,
                        char **argv)
{
    char *pos[1];
    uint64_t id;
    int rv = cli_args(cmd, argc, argv, pos, 1);
    if (rv == CLI_OK) {
        rv = cli_res_id_arg(cmd, pos[0], &id);
    }
    if (rv != CLI_OK) {
        return rv;
    }
    struct qm_reservation r;
    struct qm_result res;
    rv = qm_reservation_get(c->client, id, c->stale, &r, &res);
    if (rv != QM_OK) {
        return cli_fail(c, rv, &res, "reservation get %s", pos[0]);
    }
    if (!c->json) {
        reservation_header();
    }
    reservation_print(c, &r);
    if (c->json) {
        cj_done(&c->j);
    }
    return CLI_OK;
}
