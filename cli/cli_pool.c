/* Pool commands: pool create|get|list|delete, and acquire. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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
    cj_str(j, p->kind);
    cj_key(j, "tokens");
    cj_fixed(j, p->tokens, 3);
    cj_key(j, "created_ms");
    cj_int(j, p->created_ms);
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
    printf("%-24s %-9s %14s %14s %14s %14s\n", p->name, p->kind,
           cli_fmt_fixed(t, p->tokens, 3), cli_fmt_fixed(cap, p->capacity, 3),
           cli_fmt_fixed(r, p->refill, 3), cli_fmt_fixed(cost, p->price, 9));
}

int cli_pool_create(struct cli *c,
                    const struct cli_cmd *cmd,
                    int argc,
                    char **argv)
{
    struct cli_opt opts[] = {
        {"capacity", true, NULL, false},
        {"refill", true, NULL, false},
        {"cost", true, NULL, false},
    };
    char *pos[1];
    int npos;
    int rv = cli_parse(cmd, argc, argv, opts, 3, pos, 1, 1, &npos);
    if (rv != CLI_OK) {
        return rv;
    }
    struct qm_pool_spec spec = {pos[0], 0, 0, 0};
    if (!opts[0].set) {
        return cli_usage_error(cmd, "--capacity is required");
    }
    if (cli_parse_fixed(opts[0].value, 3, false, QM_TOKENS_MAX,
                        &spec.capacity) != 0 ||
        spec.capacity == 0) {
        return cli_usage_error(cmd,
                               "--capacity wants units > 0 with up to 3 "
                               "decimals, got '%s'",
                               opts[0].value);
    }
    if (opts[1].set && cli_parse_fixed(opts[1].value, 3, false, QM_REFILL_MAX,
                                       &spec.refill) != 0) {
        return cli_usage_error(cmd,
                               "--refill wants units per second with up to "
                               "3 decimals, got '%s'",
                               opts[1].value);
    }
    if (opts[2].set && cli_parse_fixed(opts[2].value, 9, true, QM_PRICE_MAX,
                                       &spec.price) != 0) {
        return cli_usage_error(cmd,
                               "--cost wants US dollars per unit with up to "
                               "9 decimals, got '%s'",
                               opts[2].value);
    }
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
    }
    return CLI_OK;
}

int cli_pool_list(struct cli *c,
                  const struct cli_cmd *cmd,
                  int argc,
                  char **argv)
{
    char *pos[1];
    int rv = cli_args(cmd, argc, argv, pos, 0);
    if (rv != CLI_OK) {
        return rv;
    }
    struct qm_pool *page = calloc(QM_PAGE_MAX, sizeof(*page));
    if (page == NULL) {
        return CLI_ERROR;
    }
    char after[QM_NAME_MAX + 1] = "";
    bool more = true;
    unsigned total = 0;
    if (c->json) {
        cj_arr(&c->j);
    } else {
        pool_header();
    }
    while (more) {
        unsigned n;
        struct qm_result res;
        rv = qm_pool_list(c->client, after, c->stale, page, QM_PAGE_MAX, &n,
                          &more, &res);
        if (rv != QM_OK) {
            free(page);
            if (c->json) {
                cj_arr_end(&c->j);
                cj_done(&c->j);
            }
            return cli_fail(c, rv, &res, "pool list");
        }
        for (unsigned i = 0; i < n; i++) {
            if (c->json) {
                pool_json(&c->j, &page[i]);
            } else {
                pool_row(&page[i]);
            }
        }
        total += n;
        if (n == 0) {
            break;
        }
        snprintf(after, sizeof(after), "%s", page[n - 1].name);
    }
    if (c->json) {
        cj_arr_end(&c->j);
        cj_done(&c->j);
    } else if (total == 0) {
        printf("(no pools)\n");
    }
    free(page);
    return CLI_OK;
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

int cli_acquire(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv)
{
    char *pos[2];
    int rv = cli_args(cmd, argc, argv, pos, 2);
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
    struct qm_acquire got;
    struct qm_result res;
    rv = qm_acquire(c->client, pos[0], amount, &got, &res);
    if (rv != QM_OK && rv != QM_DENIED) {
        return cli_fail(c, rv, &res, "acquire %s", pos[0]);
    }
    char t[40];
    if (c->json) {
        cj_obj(&c->j);
        cj_key(&c->j, "granted");
        cj_bool(&c->j, rv == QM_OK);
        if (rv == QM_DENIED) {
            cj_key(&c->j, "retry_after_ms");
            cj_int(&c->j, res.retry_after_ms);
        }
        cj_key(&c->j, "tokens");
        cj_fixed(&c->j, got.tokens, 3);
        cj_obj_end(&c->j);
        cj_done(&c->j);
    } else if (rv == QM_OK) {
        printf("granted; %s left in %s\n", cli_fmt_fixed(t, got.tokens, 3),
               pos[0]);
    }
    if (rv == QM_DENIED) {
        if (!c->json) {
            printf("denied; %s left in %s", cli_fmt_fixed(t, got.tokens, 3),
                   pos[0]);
            if (res.retry_after_ms > 0) {
                printf(", retry after %lld ms", (long long)res.retry_after_ms);
            }
            printf(" (%s)\n", res.message);
        }
        return CLI_DENIED;
    }
    return CLI_OK;
}
