/* What agents did and hold: action list (allocations applied, instances
 * started or stopped, as the agents recorded them) and credit list
 * (batches of pool tokens agents hold for their local API), each of one
 * host with --host. */
#include <stdio.h>
#include <string.h>

#include "cli_host.h"

/* A page of either list, by id. */
struct id_page
{
    uint64_t after; /* the last id printed */
    union {
        struct qm_action actions[QM_PAGE_MAX];
        struct qm_credit credits[QM_PAGE_MAX];
    } u;
};

/* What to list: actions or credits, of one host or (NULL) all. */
struct id_args
{
    bool credits;
    const char *host;
};

static int id_fetch(struct cli *c,
                    void *page,
                    const void *arg,
                    unsigned *n,
                    bool *more,
                    struct qm_result *res)
{
    const struct id_args *a = arg;
    struct id_page *pg = page;
    int rv = a->credits
                 ? qm_credit_list(c->client, a->host, pg->after, c->stale,
                                  pg->u.credits, QM_PAGE_MAX, n, more, res)
                 : qm_action_list(c->client, a->host, pg->after, c->stale,
                                  pg->u.actions, QM_PAGE_MAX, n, more, res);
    if (rv == QM_OK && *n > 0) {
        pg->after =
            a->credits ? pg->u.credits[*n - 1].id : pg->u.actions[*n - 1].id;
    }
    return rv;
}

/* --host ID of a list command, then the list @l of actions or
 * @credits. */
static int list_by_host(struct cli *c,
                        const struct cli_cmd *cmd,
                        int argc,
                        char **argv,
                        const struct cli_list *l,
                        bool credits)
{
    struct cli_opt opts[] = {CLI_VALUE("host")};
    char *pos[1];
    int npos;
    int rv = cli_parse(cmd, argc, argv, opts, 1, pos, 0, 0, &npos);
    struct id_args a = {credits, opts[0].value};
    return rv != CLI_OK ? rv : cli_list_run(c, l, NULL, &a);
}

/* ---- actions ---- */

void cli_action_json(struct cli_json *j, const struct qm_action *a)
{
    cj_obj(j);
    cj_key(j, "id");
    cj_uint(j, a->id);
    cj_key(j, "host");
    cj_str(j, a->host);
    cj_key(j, "service");
    if (a->service[0] != '\0') {
        cj_str(j, a->service);
    } else {
        cj_null(j);
    }
    cj_key(j, "action");
    cj_str(j, a->action);
    cj_key(j, "ok");
    cj_bool(j, a->ok);
    cj_key(j, "message");
    cj_str(j, a->message);
    cj_key(j, "at_ms");
    cj_int(j, a->at_ms);
    cj_obj_end(j);
}

void cli_action_header(void)
{
    printf("%-8s %-20s %-24s %-7s %-4s %s\n", "ID", "TIME", "HOST/SERVICE",
           "ACTION", "OK", "MESSAGE");
}

void cli_action_row(const struct qm_action *a)
{
    char t[32], subject[2 * QM_NAME_MAX + 2];
    snprintf(subject, sizeof(subject), "%s%s%s", a->host,
             a->service[0] ? "/" : "", a->service);
    printf("%-8llu %-20s %-24s %-7s %-4s %s\n", (unsigned long long)a->id,
           cli_fmt_time(t, a->at_ms), subject, a->action, a->ok ? "yes" : "no",
           a->message);
}

static void action_item(struct cli *c, void *page, unsigned i)
{
    const struct qm_action *a = &((struct id_page *)page)->u.actions[i];
    if (c->json) {
        cli_action_json(&c->j, a);
    } else {
        cli_action_row(a);
    }
}

int cli_action_list(struct cli *c,
                    const struct cli_cmd *cmd,
                    int argc,
                    char **argv)
{
    static const struct cli_list list = {
        .what = "action list",
        .empty = "(no actions)",
        .header = cli_action_header,
        .size = sizeof(struct id_page),
        .fetch = id_fetch,
        .item = action_item,
    };
    return list_by_host(c, cmd, argc, argv, &list, false);
}

/* ---- credits ---- */

static void credit_header(void)
{
    printf("%-8s %-24s %-24s %14s %s\n", "ID", "HOST", "POOL", "AMOUNT",
           "EXPIRES");
}

static void credit_item(struct cli *c, void *page, unsigned i)
{
    const struct qm_credit *cr = &((struct id_page *)page)->u.credits[i];
    char t[32], amount[40];
    if (!c->json) {
        printf("%-8llu %-24s %-24s %14s %s\n", (unsigned long long)cr->id,
               cr->host, cr->pool, cli_fmt_fixed(amount, cr->amount, 3),
               cli_fmt_time(t, cr->expires_at_ms));
        return;
    }
    cj_obj(&c->j);
    cj_key(&c->j, "id");
    cj_uint(&c->j, cr->id);
    cj_key(&c->j, "host");
    cj_str(&c->j, cr->host);
    cj_key(&c->j, "pool");
    cj_str(&c->j, cr->pool);
    cj_key(&c->j, "amount");
    cj_fixed(&c->j, cr->amount, 3);
    cj_key(&c->j, "expires_at_ms");
    cj_int(&c->j, cr->expires_at_ms);
    cj_obj_end(&c->j);
}

int cli_credit_list(struct cli *c,
                    const struct cli_cmd *cmd,
                    int argc,
                    char **argv)
{
    static const struct cli_list list = {
        .what = "credit list",
        .empty = "(no credits)",
        .header = credit_header,
        .size = sizeof(struct id_page),
        .fetch = id_fetch,
        .item = credit_item,
    };
    return list_by_host(c, cmd, argc, argv, &list, true);
}
