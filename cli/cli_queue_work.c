/* The worker side of the queues, for scripts and operators standing in
 * for a worker: queue lease, complete and fail. A leased payload is
 * printed as a JSON string when it is UTF-8, else in base64 with
 * "payload_base64": true. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "qm_codec.h"

static bool payload_is_text(const struct qm_job *job)
{
    return qm_valid_utf8(job->payload, job->payload_len);
}

static void job_json(struct cli_json *j, const struct qm_job *job)
{
    char id[24];
    cj_obj(j);
    cj_key(j, "id");
    cj_str(j, cli_fmt_req_id(id, job->id));
    cj_key(j, "client");
    cj_str(j, job->client);
    cj_key(j, "tier");
    cj_str(j, cli_qtier_name(job->tier));
    cj_key(j, "payload");
    if (payload_is_text(job)) {
        cj_strn(j, job->payload, job->payload_len);
    } else {
        cj_base64(j, job->payload, job->payload_len);
        cj_key(j, "payload_base64");
        cj_bool(j, true);
    }
    cj_key(j, "reservation");
    if (job->reservation != 0) {
        cj_str(j, cli_fmt_res_id(id, job->reservation));
    } else {
        cj_null(j);
    }
    cj_key(j, "attempt");
    cj_uint(j, job->attempt);
    cj_key(j, "lease_expires_ms");
    cj_int(j, job->lease_expires_ms);
    cj_key(j, "needs");
    cli_json_amounts(j, job->needs, job->nneeds);
    cj_obj_end(j);
}

static void job_text(const struct qm_job *job)
{
    char id[24], t[32], r[24], needs[QM_RES_POOLS_MAX * 90];
    printf("leased %s for %s (%s, attempt %llu) until %s",
           cli_fmt_req_id(id, job->id), job->client, cli_qtier_name(job->tier),
           (unsigned long long)job->attempt,
           cli_fmt_time(t, job->lease_expires_ms));
    if (job->reservation != 0) {
        printf("; reservation %s (%s)", cli_fmt_res_id(r, job->reservation),
               cli_fmt_amounts(needs, sizeof(needs), job->needs, job->nneeds));
    }
    printf("\npayload, %zu bytes: ", job->payload_len);
    if (payload_is_text(job)) {
        cli_print_quoted(stdout, job->payload, job->payload_len);
    } else {
        printf("base64 ");
        cli_print_base64(stdout, job->payload, job->payload_len);
    }
    printf("\n");
}

enum { W_WORKER, W_LEASE };

int cli_queue_lease(struct cli *c,
                    const struct cli_cmd *cmd,
                    int argc,
                    char **argv)
{
    struct cli_opt opts[] = {
        [W_WORKER] = CLI_VALUE("worker"), [W_LEASE] = CLI_VALUE("lease")};
    char *pos[1];
    int npos;
    int64_t lease_ms = 0;
    int rv = cli_parse(cmd, argc, argv, opts, 2, pos, 0, 0, &npos);
    if (rv == CLI_OK && !opts[W_WORKER].set) {
        rv = cli_usage_error(cmd, "--worker is required");
    }
    if (rv == CLI_OK && opts[W_LEASE].set &&
        (cli_parse_fixed(opts[W_LEASE].value, 3, false, QM_RES_TTL_MAX_MS,
                         &lease_ms) != 0 ||
         lease_ms == 0)) {
        rv = cli_usage_error(cmd,
                             "--lease wants seconds, 0 < s <= %lld, got '%s'",
                             QM_RES_TTL_MAX_MS / 1000, opts[W_LEASE].value);
    }
    if (rv != CLI_OK) {
        return rv;
    }
    const char *worker = opts[W_WORKER].value;
    struct qm_job job;
    struct qm_result res;
    rv = qm_lease(c->client, worker, lease_ms, &job, &res);
    if (rv == QM_DENIED) {
        return cli_refused_as(c, "leased", rv, &res, "queue lease for", worker);
    }
    if (rv != QM_OK) {
        return cli_fail(c, rv, &res, "queue lease for %s", worker);
    }
    if (c->json) {
        job_json(&c->j, &job);
        cj_done(&c->j);
    } else {
        job_text(&job);
    }
    qm_job_clear(&job);
    return CLI_OK;
}

/* REQ and --attempt N (the lease's token from queue lease; 0 or none:
 * whichever lease is current). */
static int lease_ref(const struct cli_cmd *cmd,
                     const char *req,
                     const struct cli_opt *attempt_opt,
                     uint64_t *id,
                     uint64_t *attempt)
{
    int64_t v = 0;
    int rv = cli_req_id_arg(cmd, req, id);
    if (rv == CLI_OK && attempt_opt->set &&
        cli_uint(attempt_opt->value, QM_ATTEMPTS_MAX, &v) != 0) {
        rv = cli_usage_error(cmd, "--attempt wants 0..%d, got '%s'",
                             QM_ATTEMPTS_MAX, attempt_opt->value);
    }
    *attempt = (uint64_t)v;
    return rv;
}

int cli_queue_complete(struct cli *c,
                       const struct cli_cmd *cmd,
                       int argc,
                       char **argv)
{
    struct cli_opt opts[] = {CLI_VALUE("attempt")};
    char *pos[QM_RES_POOLS_MAX + 2];
    int npos;
    uint64_t id, attempt;
    int64_t cost = 0;
    struct qm_amount used[QM_RES_POOLS_MAX];
    unsigned n = 0;
    int rv = cli_parse(cmd, argc, argv, opts, 1, pos, 1, QM_RES_POOLS_MAX + 2,
                       &npos);
    if (rv == CLI_OK) {
        rv = lease_ref(cmd, pos[0], &opts[0], &id, &attempt);
    }
    if (rv == CLI_OK) {
        rv = cli_amounts(cmd, pos + 1, npos - 1, true, used, &n);
    }
    if (rv != CLI_OK) {
        return rv;
    }
    struct qm_result res;
    rv = qm_complete(c->client, id, attempt, used, n, &cost, &res);
    if (rv != QM_OK) {
        return cli_fail(c, rv, &res, "queue complete %s", pos[0]);
    }
    return cli_charged(c, cost);
}

enum { F_REASON, F_ATTEMPT };

static void failed(struct cli *c, bool requeued, unsigned attempts)
{
    if (!c->json) {
        printf("OK; %s after %u attempt%s\n",
               requeued ? "queued again" : "failed for good", attempts,
               attempts == 1 ? "" : "s");
        return;
    }
    cj_obj(&c->j);
    cj_key(&c->j, "ok");
    cj_bool(&c->j, true);
    cj_key(&c->j, "requeued");
    cj_bool(&c->j, requeued);
    cj_key(&c->j, "attempts");
    cj_uint(&c->j, attempts);
    cj_obj_end(&c->j);
    cj_done(&c->j);
}

int cli_queue_fail(struct cli *c,
                   const struct cli_cmd *cmd,
                   int argc,
                   char **argv)
{
    struct cli_opt opts[] = {
        [F_REASON] = CLI_VALUE("reason"), [F_ATTEMPT] = CLI_VALUE("attempt")};
    char *pos[1];
    int npos;
    uint64_t id, attempt;
    int rv = cli_parse(cmd, argc, argv, opts, 2, pos, 1, 1, &npos);
    if (rv == CLI_OK) {
        rv = lease_ref(cmd, pos[0], &opts[F_ATTEMPT], &id, &attempt);
    }
    const char *reason = opts[F_REASON].set ? opts[F_REASON].value : "";
    if (rv == CLI_OK && (strlen(reason) > QM_REASON_MAX ||
                         !qm_valid_text(reason, strlen(reason)))) {
        rv = cli_usage_error(cmd,
                             "--reason wants printable UTF-8 of at most %d "
                             "bytes",
                             QM_REASON_MAX);
    }
    if (rv != CLI_OK) {
        return rv;
    }
    bool requeued = false;
    unsigned attempts = 0;
    struct qm_result res;
    rv = qm_fail(c->client, id, attempt, reason, &requeued, &attempts, &res);
    if (rv != QM_OK) {
        return cli_fail(c, rv, &res, "queue fail %s", pos[0]);
    }
    failed(c, requeued, attempts);
    return CLI_OK;
}
