/* Queue requests: queue submit|get|cancel|position|list|stats. Users see
 * request ids as "q17" and may type "q17" or "17"; priorities are points
 * with up to 3 decimals. The worker side is in cli_queue_work.c, the
 * settings in cli_queue_settings.c. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The furthest --deadline: a year (the protocol would carry more). */
#define DEADLINE_MAX_MS (366LL * 86400 * 1000)

/* ---- output ---- */

/* @v, or null when it is 0 ("none"). */
static void int_or_null(struct cli_json *j, int64_t v)
{
    if (v != 0) {
        cj_int(j, v);
    } else {
        cj_null(j);
    }
}

static void str_or_null(struct cli_json *j, const char *s)
{
    if (s[0] != '\0') {
        cj_str(j, s);
    } else {
        cj_null(j);
    }
}

static void request_json(struct cli_json *j,
                         const struct qm_request *r,
                         bool position)
{
    char id[24];
    cj_obj(j);
    cj_key(j, "id");
    cj_str(j, cli_fmt_req_id(id, r->id));
    cj_key(j, "client");
    cj_str(j, r->client);
    cj_key(j, "tier");
    cj_str(j, cli_qtier_name(r->tier));
    cj_key(j, "state");
    cj_str(j, cli_qstate_name(r->state));
    cj_key(j, "priority");
    cj_fixed(j, r->priority, 3);
    cj_key(j, "position");
    int_or_null(j, (int64_t)r->position);
    cj_key(j, "attempts");
    cj_uint(j, r->attempts);
    cj_key(j, "max_attempts");
    cj_uint(j, r->max_attempts);
    cj_key(j, "urgency");
    cj_int(j, r->urgency);
    cj_key(j, "enqueued_ms");
    cj_int(j, r->enqueued_ms);
    cj_key(j, "deadline_ms");
    int_or_null(j, r->deadline_ms);
    cj_key(j, "worker");
    str_or_null(j, r->worker);
    cj_key(j, "lease_expires_ms");
    int_or_null(j, r->lease_expires_ms);
    cj_key(j, "reservation");
    if (r->reservation != 0) {
        cj_str(j, cli_fmt_res_id(id, r->reservation));
    } else {
        cj_null(j);
    }
    cj_key(j, "needs");
    cli_json_amounts(j, r->needs, r->nneeds);
    cj_key(j, "finished_ms");
    int_or_null(j, r->finished_ms);
    cj_key(j, "reason");
    str_or_null(j, r->reason);
    if (position && r->state == QM_QSTATE_QUEUED) {
        cj_key(j, "wait_ms");
        cj_int(j, r->wait_ms);
    } else if (position) {
        cj_key(j, "wait_ms");
        cj_null(j);
    }
    cj_obj_end(j);
}

static void request_header(void)
{
    printf("%-10s %-24s %-9s %-9s %9s %6s %8s %s\n", "ID", "CLIENT", "TIER",
           "STATE", "PRIORITY", "POS", "ATTEMPTS", "ENQUEUED");
}

static void request_row(const struct qm_request *r)
{
    char id[24], prio[40], pos[24], att[24], t[32];
    snprintf(pos, sizeof(pos), "%llu", (unsigned long long)r->position);
    snprintf(att, sizeof(att), "%u/%u", r->attempts, r->max_attempts);
    printf("%-10s %-24s %-9s %-9s %9s %6s %8s %s\n", cli_fmt_req_id(id, r->id),
           r->client, cli_qtier_name(r->tier), cli_qstate_name(r->state),
           cli_fmt_fixed(prio, r->priority, 3), r->position ? pos : "-", att,
           cli_fmt_time(t, r->enqueued_ms));
}

/* What the row leaves out, under it. */
static void request_details(const struct qm_request *r, bool position)
{
    char t[32], res[24], needs[QM_RES_POOLS_MAX * 90];
    printf("  urgency %lld; needs %s\n", (long long)r->urgency,
           r->nneeds > 0
               ? cli_fmt_amounts(needs, sizeof(needs), r->needs, r->nneeds)
               : "nothing");
    if (r->deadline_ms != 0) {
        printf("  deadline %s\n", cli_fmt_time(t, r->deadline_ms));
    }
    if (r->worker[0] != '\0' && r->lease_expires_ms == 0) {
        printf("  last leased by %s\n", r->worker);
    } else if (r->worker[0] != '\0') {
        printf("  leased by %s until %s", r->worker,
               cli_fmt_time(t, r->lease_expires_ms));
        if (r->reservation != 0) {
            printf("; reservation %s", cli_fmt_res_id(res, r->reservation));
        }
        printf("\n");
    }
    if (r->finished_ms != 0) {
        printf("  finished %s\n", cli_fmt_time(t, r->finished_ms));
    }
    if (r->reason[0] != '\0') {
        printf("  reason: %s\n", r->reason);
    }
    if (position && r->state == QM_QSTATE_QUEUED) {
        printf("  estimated wait %lld ms\n", (long long)r->wait_ms);
    }
}

/* One request, alone: a JSON document or a row and its details. */
static void request_show(struct cli *c, const struct qm_request *r, bool pos)
{
    if (c->json) {
        request_json(&c->j, r, pos);
        cj_done(&c->j);
        return;
    }
    request_header();
    request_row(r);
    request_details(r, pos);
}

/* ---- submit ---- */

enum {
    S_CLIENT,
    S_TIER,
    S_URGENCY,
    S_NEEDS,
    S_PAYLOAD,
    S_DEADLINE,
    S_ATTEMPTS,
    S_NOPTS
};

/* --payload TEXT, or @FILE (@- for stdin), into @buf (QM_PAYLOAD_MAX + 1
 * bytes). */
static int payload_arg(const struct cli_cmd *cmd,
                       const char *v,
                       char *buf,
                       size_t *len)
{
    const char *path = v + 1;
    if (v[0] != '@') {
        *len = strlen(v);
        if (*len > QM_PAYLOAD_MAX) {
            return cli_usage_error(cmd, "--payload holds at most %d bytes",
                                   QM_PAYLOAD_MAX);
        }
        memcpy(buf, v, *len);
        return CLI_OK;
    }
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        return cli_usage_error(cmd, "--payload @%s: %s", path, strerror(errno));
    }
    *len = fread(buf, 1, QM_PAYLOAD_MAX + 1, f);
    bool bad = ferror(f) != 0;
    if (f != stdin) {
        fclose(f);
    }
    if (bad || *len > QM_PAYLOAD_MAX) {
        return cli_usage_error(
            cmd, "--payload @%s: %s", path,
            bad ? "cannot read it" : "larger than 64 KiB (65536 bytes)");
    }
    return CLI_OK;
}

/* The numbers of submit: --urgency, --deadline, --attempts. */
static int submit_numbers(const struct cli_cmd *cmd,
                          const struct cli_opt *opts,
                          struct qm_submit *s)
{
    int64_t v = 0;
    if (opts[S_URGENCY].set &&
        cli_uint(opts[S_URGENCY].value, QM_URGENCY_MAX, &s->urgency) != 0) {
        return cli_usage_error(cmd, "--urgency wants 0..%d, got '%s'",
                               QM_URGENCY_MAX, opts[S_URGENCY].value);
    }
    if (opts[S_DEADLINE].set &&
        (cli_parse_fixed(opts[S_DEADLINE].value, 3, false, DEADLINE_MAX_MS,
                         &s->deadline_ms) != 0 ||
         s->deadline_ms == 0)) {
        return cli_usage_error(cmd,
                               "--deadline wants seconds from now, 0 < s <= "
                               "%lld, got '%s'",
                               DEADLINE_MAX_MS / 1000, opts[S_DEADLINE].value);
    }
    if (opts[S_ATTEMPTS].set &&
        (cli_uint(opts[S_ATTEMPTS].value, QM_ATTEMPTS_MAX, &v) != 0 ||
         v == 0)) {
        return cli_usage_error(cmd, "--attempts wants 1..%d, got '%s'",
                               QM_ATTEMPTS_MAX, opts[S_ATTEMPTS].value);
    }
    s->max_attempts = (unsigned)v;
    return CLI_OK;
}

/* --needs POOL=N, repeated or followed by more POOL=N. */
static int submit_needs(const struct cli_cmd *cmd,
                        const struct cli_opt *needs,
                        char **pos,
                        int npos,
                        struct qm_amount out[QM_RES_POOLS_MAX],
                        struct qm_submit *s)
{
    char *all[2 * QM_RES_POOLS_MAX + 1];
    int n = 0;
    if (npos > 0 && needs->n == 0) {
        return cli_usage_error(cmd, "unexpected argument '%s'", pos[0]);
    }
    for (unsigned i = 0; i < needs->n; i++) {
        all[n++] = (char *)needs->values[i]; /* cli_amounts only reads */
    }
    for (int i = 0; i < npos; i++) {
        all[n++] = pos[i];
    }
    s->needs = out;
    return cli_amounts(cmd, all, n, false, out, &s->nneeds);
}

int cli_queue_submit(struct cli *c,
                     const struct cli_cmd *cmd,
                     int argc,
                     char **argv)
{
    const char *needs[QM_RES_POOLS_MAX];
    struct cli_opt opts[] = {
        [S_CLIENT] = CLI_VALUE("client"),
        [S_TIER] = CLI_VALUE("tier"),
        [S_URGENCY] = CLI_VALUE("urgency"),
        [S_NEEDS] = CLI_VALUES("needs", needs),
        [S_PAYLOAD] = CLI_VALUE("payload"),
        [S_DEADLINE] = CLI_VALUE("deadline"),
        [S_ATTEMPTS] = CLI_VALUE("attempts"),
    };
    char *pos[QM_RES_POOLS_MAX + 1];
    int npos, tier = 0;
    struct qm_amount amounts[QM_RES_POOLS_MAX];
    struct qm_submit s = {.client = NULL};
    int rv = cli_parse(cmd, argc, argv, opts, S_NOPTS, pos, 0,
                       QM_RES_POOLS_MAX + 1, &npos);
    if (rv == CLI_OK && (!opts[S_CLIENT].set || !opts[S_TIER].set)) {
        rv = cli_usage_error(cmd, "--client and --tier are required");
    }
    if (rv == CLI_OK) {
        rv = cli_qtier_arg(cmd, opts[S_TIER].value, &tier);
    }
    if (rv == CLI_OK) {
        rv = submit_numbers(cmd, opts, &s);
    }
    if (rv == CLI_OK) {
        rv = submit_needs(cmd, &opts[S_NEEDS], pos, npos, amounts, &s);
    }
    if (rv != CLI_OK) {
        return rv;
    }
    char *payload = malloc(QM_PAYLOAD_MAX + 1);
    if (payload == NULL) {
        fprintf(stderr, "qmctl: queue submit: out of memory\n");
        return CLI_ERROR;
    }
    if (opts[S_PAYLOAD].set) {
        rv = payload_arg(cmd, opts[S_PAYLOAD].value, payload, &s.payload_len);
    }
    uint64_t id = 0;
    struct qm_result res;
    if (rv == CLI_OK) {
        s.client = opts[S_CLIENT].value;
        s.tier = tier;
        s.payload = payload;
        rv = qm_submit(c->client, &s, &id, &res);
        rv = rv == QM_OK
                 ? CLI_OK
                 : cli_fail(c, rv, &res, "queue submit for %s", s.client);
    }
    free(payload);
    if (rv != CLI_OK) {
        return rv;
    }
    char qid[24];
    cli_fmt_req_id(qid, id);
    if (!c->json) {
        printf("submitted %s\n", qid);
        return CLI_OK;
    }
    cj_obj(&c->j);
    cj_key(&c->j, "id");
    cj_str(&c->j, qid);
    cj_obj_end(&c->j);
    cj_done(&c->j);
    return CLI_OK;
}

/* ---- get, cancel, position ---- */

enum req_op { REQ_GET, REQ_CANCEL, REQ_POSITION };

/* Read request REQ (after cancelling it, for cancel) and show it. */
static int request_cmd(struct cli *c,
                       const struct cli_cmd *cmd,
                       int argc,
                       char **argv,
                       enum req_op op)
{
    char *pos[1];
    uint64_t id;
    int rv = cli_args(cmd, argc, argv, pos, 1);
    if (rv == CLI_OK) {
        rv = cli_req_id_arg(cmd, pos[0], &id);
    }
    if (rv != CLI_OK) {
        return rv;
    }
    struct qm_request r;
    struct qm_result res;
    if (op == REQ_CANCEL) {
        rv = qm_queue_cancel(c->client, id, &res);
        if (rv != QM_OK) {
            return cli_fail(c, rv, &res, "queue cancel %s", pos[0]);
        }
    }
    /* A cancel shows the request as it now is: read it on the leader. */
    rv = op == REQ_POSITION
             ? qm_queue_position(c->client, id, c->stale, &r, &res)
             : qm_queue_get(c->client, id, c->stale && op == REQ_GET, &r, &res);
    if (rv != QM_OK) {
        return cli_fail(c, rv, &res, "queue %s %s%s", cmd->verb, pos[0],
                        op == REQ_CANCEL ? ": cancelled; reading back" : "");
    }
    request_show(c, &r, op == REQ_POSITION);
    return CLI_OK;
}

int cli_queue_get(struct cli *c,
                  const struct cli_cmd *cmd,
                  int argc,
                  char **argv)
{
    return request_cmd(c, cmd, argc, argv, REQ_GET);
}

int cli_queue_cancel(struct cli *c,
                     const struct cli_cmd *cmd,
                     int argc,
                     char **argv)
{
    return request_cmd(c, cmd, argc, argv, REQ_CANCEL);
}

int cli_queue_position(struct cli *c,
                       const struct cli_cmd *cmd,
                       int argc,
                       char **argv)
{
    return request_cmd(c, cmd, argc, argv, REQ_POSITION);
}

/* ---- list ---- */

struct req_page
{
    uint64_t after;
    struct qm_request items[QM_PAGE_MAX];
};

/* @arg: the struct qm_queue_filter. */
static int req_fetch(struct cli *c,
                     void *page,
                     const void *arg,
                     unsigned *n,
                     bool *more,
                     struct qm_result *res)
{
    struct req_page *pg = page;
    int rv = qm_queue_list(c->client, arg, pg->after, c->stale, pg->items,
                           QM_PAGE_MAX, n, more, res);
    if (rv == QM_OK && *n > 0) {
        pg->after = pg->items[*n - 1].id;
    }
    return rv;
}

static void req_item(struct cli *c, void *page, unsigned i)
{
    const struct qm_request *r = &((struct req_page *)page)->items[i];
    if (c->json) {
        request_json(&c->j, r, false);
    } else {
        request_row(r);
    }
}

enum { L_CLIENT, L_TIER, L_STATE };

int cli_queue_list(struct cli *c,
                   const struct cli_cmd *cmd,
                   int argc,
                   char **argv)
{
    static const struct cli_list list = {
        .what = "queue list",
        .empty = "(no requests)",
        .header = request_header,
        .size = sizeof(struct req_page),
        .fetch = req_fetch,
        .item = req_item,
    };
    struct cli_opt opts[] = {
        [L_CLIENT] = CLI_VALUE("client"),
        [L_TIER] = CLI_VALUE("tier"),
        [L_STATE] = CLI_VALUE("state"),
    };
    char *pos[1];
    int npos;
    struct qm_queue_filter f = {.client = NULL};
    int rv = cli_parse(cmd, argc, argv, opts, 3, pos, 0, 0, &npos);
    if (rv == CLI_OK && opts[L_TIER].set) {
        rv = cli_qtier_arg(cmd, opts[L_TIER].value, &f.tier);
    }
    if (rv == CLI_OK && opts[L_STATE].set) {
        rv = cli_qstate_arg(cmd, opts[L_STATE].value, &f.state);
    }
    if (rv != CLI_OK) {
        return rv;
    }
    f.client = opts[L_CLIENT].value;
    return cli_list_run(c, &list, NULL, &f);
}

/* ---- stats ---- */

/* The counters of a tier, as JSON keys and columns. */
static const struct
{
    const char *key;
    const char *column;
    size_t off;
} counters[] = {
    {"queued", "QUEUED", offsetof(struct qm_queue_stats, queued)},
    {"running", "RUNNING", offsetof(struct qm_queue_stats, running)},
    {"done", "DONE", offsetof(struct qm_queue_stats, done)},
    {"failed", "FAILED", offsetof(struct qm_queue_stats, failed)},
    {"cancelled", "CANCELLED", offsetof(struct qm_queue_stats, cancelled)},
    {"worker_timeouts", "TIMEOUTS",
     offsetof(struct qm_queue_stats, worker_timeouts)},
    {"dispatched", "DISPATCHED", offsetof(struct qm_queue_stats, dispatched)},
};
#define NCOUNTERS (sizeof(counters) / sizeof(counters[0]))

static uint64_t counter(const struct qm_queue_stats *st, size_t k)
{
    uint64_t v;
    memcpy(&v, (const char *)st + counters[k].off, sizeof(v));
    return v;
}

static void stats_print(struct cli *c, const struct qm_queue_stats *st)
{
    if (c->json) {
        cj_key(&c->j, cli_qtier_name(st->tier));
        cj_obj(&c->j);
    } else {
        printf("%-10s", cli_qtier_name(st->tier));
    }
    for (size_t k = 0; k < NCOUNTERS; k++) {
        if (c->json) {
            cj_key(&c->j, counters[k].key);
            cj_uint(&c->j, counter(st, k));
        } else {
            printf(" %10llu", (unsigned long long)counter(st, k));
        }
    }
    if (c->json) {
        cj_obj_end(&c->j);
    } else {
        printf("\n");
    }
}

int cli_queue_stats(struct cli *c,
                    const struct cli_cmd *cmd,
                    int argc,
                    char **argv)
{
    char *pos[1];
    int rv = cli_args(cmd, argc, argv, pos, 0);
    if (rv != CLI_OK) {
        return rv;
    }
    struct qm_queue_stats st[QM_QTIERS];
    unsigned n;
    struct qm_result res;
    rv = qm_queue_stats(c->client, c->stale, st, &n, &res);
    if (rv != QM_OK) {
        return cli_fail(c, rv, &res, "queue stats");
    }
    if (c->json) {
        cj_obj(&c->j);
    } else {
        printf("%-10s", "TIER");
        for (size_t k = 0; k < NCOUNTERS; k++) {
            printf(" %10s", counters[k].column);
        }
        printf("\n");
    }
    for (unsigned i = 0; i < n; i++) {
        stats_print(c, &st[i]);
    }
    if (c->json) {
        cj_obj_end(&c->j);
        cj_done(&c->j);
    }
    return CLI_OK;
}
