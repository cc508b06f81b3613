/* The typed functions of qm.h for the queues of work: submit, get,
 * position, cancel, list, stats, lease, complete, fail and the settings. */
#include <stdio.h>
#include <string.h>

#include "qm_alloc.h"
#include "qm_api_internal.h"
#include "qm_call.h"

#define COPY_STR QM__COPY_STR

/* The public enums are the wire's values. */
_Static_assert((int)QM_QTIER_IMMEDIATE == (int)TP_QTIER_IMMEDIATE &&
                   (int)QM_QTIER_DEFERRED == (int)TP_QTIER_DEFERRED &&
                   QM_QTIERS == TP_QTIERS,
               "queue tiers");
_Static_assert((int)QM_QSTATE_QUEUED == (int)TP_QSTATE_QUEUED &&
                   (int)QM_QSTATE_CANCELLED == (int)TP_QSTATE_CANCELLED &&
                   QM_QSTATES == TP_QSTATES,
               "request states");
_Static_assert(sizeof(((struct tp_req_info *)0)->reason) == QM_REASON_MAX + 1,
               "reason");

/* The settings, field by field: the public struct and the wire's have the
 * same fields under the same names. */
#define QSETTINGS(X)     \
    X(w_tier)            \
    X(w_urgency)         \
    X(w_wait)            \
    X(w_fair)            \
    X(aging_ms)          \
    X(fair_half_life_ms) \
    X(fair_scale)        \
    X(starve_ms)         \
    X(alert_queue_len)   \
    X(offpeak_start_min) \
    X(offpeak_end_min)   \
    X(lease_ms)          \
    X(max_attempts)
_Static_assert(sizeof(struct tp_qsettings) == sizeof(struct qm_queue_settings),
               "QSETTINGS lists every setting");

/* ---- arguments ---- */

/* A queue tier, or with @optional also 0 ("any"). */
static int qtier_arg(int tier, bool optional, struct qm_result *res)
{
    if ((tier == 0 && optional) ||
        (tier >= QM_QTIER_IMMEDIATE && tier <= QM_QTIER_DEFERRED)) {
        return QM_OK;
    }
    return qm__fail_local(res, QM_INVALID, "no queue tier %d", tier);
}

static int submit_args(struct tp_submit *out,
                       const struct qm_submit *s,
                       struct qm_result *res)
{
    memset(out, 0, sizeof(*out));
    int rv = qm__name_arg(out->client, s->client, false, "client id", res);
    if (rv == QM_OK) {
        rv = qtier_arg(s->tier, false, res);
    }
    if (rv == QM_OK) {
        rv = qm__amounts_in(out->needs, &out->nneeds, s->needs, s->nneeds, 0,
                            res);
    }
    if (rv != QM_OK) {
        return rv;
    }
    if (s->urgency < 0 || s->urgency > QM_URGENCY_MAX) {
        return qm__fail_local(res, QM_INVALID, "urgency wants 0..%d, not %lld",
                              QM_URGENCY_MAX, (long long)s->urgency);
    }
    if (s->payload_len > QM_PAYLOAD_MAX ||
        (s->payload == NULL && s->payload_len > 0)) {
        return qm__fail_local(res, QM_INVALID,
                              "a payload holds at most %d bytes, not %zu",
                              QM_PAYLOAD_MAX, s->payload_len);
    }
    if (s->deadline_ms < 0 || s->deadline_ms > QM_TIME_MAX ||
        s->max_attempts > QM_ATTEMPTS_MAX) {
        return qm__fail_local(res, QM_INVALID,
                              "deadline %lld ms or %u attempts out of range "
                              "(attempts: at most %d)",
                              (long long)s->deadline_ms, s->max_attempts,
                              QM_ATTEMPTS_MAX);
    }
    out->qtier = (uint64_t)s->tier;
    out->urgency = s->urgency;
    out->payload.p = s->payload;
    out->payload.n = s->payload_len;
    out->deadline_ms = s->deadline_ms;
    out->attempts = s->max_attempts;
    return QM_OK;
}

static int lease_args(struct tp_lease_args *out,
                      const char *worker,
                      int64_t lease_ms,
                      struct qm_result *res)
{
    memset(out, 0, sizeof(*out));
    if (lease_ms < 0 || lease_ms > QM_RES_TTL_MAX_MS) {
        return qm__fail_local(res, QM_INVALID, "a lease lasts 0..%lld ms",
                              QM_RES_TTL_MAX_MS);
    }
    out->lease_ms = lease_ms;
    return qm__name_arg(out->worker, worker, false, "worker name", res);
}

static int attempt_arg(uint64_t attempt, struct qm_result *res)
{
    if (attempt > QM_ATTEMPTS_MAX) {
        return qm__fail_local(res, QM_INVALID, "no attempt %llu (1..%d)",
                              (unsigned long long)attempt, QM_ATTEMPTS_MAX);
    }
    return QM_OK;
}

static int complete_args(struct tp_complete *out,
                         uint64_t id,
                         uint64_t attempt,
                         const struct qm_amount *used,
                         unsigned nused,
                         struct qm_result *res)
{
    memset(out, 0, sizeof(*out));
    out->id = id;
    out->attempt = attempt;
    int rv = attempt_arg(attempt, res);
    return rv != QM_OK
               ? rv
               : qm__amounts_in(out->used, &out->nused, used, nused, 0, res);
}

/* ---- results ---- */

static void request_out(const void *in_, void *out_)
{
    const struct tp_req_info *in = in_;
    struct qm_request *out = out_;
    memset(out, 0, sizeof(*out));
    out->id = in->id;
    COPY_STR(out->client, in->client);
    out->tier = (int)in->qtier;
    out->urgency = in->urgency;
    out->state = (int)in->state;
    out->priority = in->priority;
    out->position = in->position;
    out->wait_ms = in->wait_ms;
    out->attempts = (unsigned)in->attempts;
    out->max_attempts = (unsigned)in->max_attempts;
    out->enqueued_ms = in->enqueued_ms;
    out->deadline_ms = in->deadline_ms;
    COPY_STR(out->worker, in->worker);
    out->lease_expires_ms = in->lease_expires_ms;
    out->reservation = in->reservation;
    out->nneeds = qm__amounts_out(out->needs, in->needs, in->nneeds);
    out->finished_ms = in->finished_ms;
    COPY_STR(out->reason, in->reason);
}

/* @out with its payload borrowed from @in. */
static void job_out(const struct tp_lease *in, struct qm_job *out)
{
    memset(out, 0, sizeof(*out));
    out->id = in->id;
    COPY_STR(out->client, in->client);
    out->tier = (int)in->qtier;
    out->payload = (void *)(uintptr_t)in->payload.p;
    out->payload_len = in->payload.n;
    out->reservation = in->reservation;
    out->attempt = in->attempt;
    out->lease_expires_ms = in->lease_expires_ms;
    out->nneeds = qm__amounts_out(out->needs, in->needs, in->nneeds);
}

/* ---- submit, get, position, cancel, list, stats ---- */

int qm_submit(struct qm_client *c,
              const struct qm_submit *s,
              uint64_t *id,
              struct qm_result *res)
{
    struct tp_submit sa;
    struct tp_req_id ri;
    int rv = submit_args(&sa, s, res);
    if (rv != QM_OK) {
        return rv;
    }
    rv = qm__call_sync(c, TP_OP_QUEUE_SUBMIT, &tp_submit_schema, &sa, 0, NULL,
                       &tp_req_id_schema, &ri, res);
    if (rv == QM_OK && id != NULL) {
        *id = ri.id;
    }
    return rv;
}

/* A read of one request (get, position). */
static int request_call(struct qm_client *c,
                        uint32_t op,
                        uint64_t id,
                        bool stale,
                        struct qm_request *out,
                        struct qm_result *res)
{
    struct tp_req_id ri = {id};
    return qm__get_run(c, op, &tp_req_id_schema, &ri, stale,
                       &tp_req_info_schema, request_out, out, res);
}

int qm_queue_get(struct qm_client *c,
                 uint64_t id,
                 bool stale,
                 struct qm_request *out,
                 struct qm_result *res)
{
    return request_call(c, TP_OP_QUEUE_GET, id, stale, out, res);
}

int qm_queue_position(struct qm_client *c,
                      uint64_t id,
                      bool stale,
                      struct qm_request *out,
                      struct qm_result *res)
{
    return request_call(c, TP_OP_QUEUE_POSITION, id, stale, out, res);
}

int qm_queue_cancel(struct qm_client *c, uint64_t id, struct qm_result *res)
{
    struct tp_req_id ri = {id};
    return qm__call_sync(c, TP_OP_QUEUE_CANCEL, &tp_req_id_schema, &ri, 0, NULL,
                         NULL, NULL, res);
}

static int list_args(struct tp_req_list_args *la,
                     const struct qm_queue_filter *f,
                     uint64_t after_id,
                     unsigned max,
                     struct qm_result *res)
{
    static const struct qm_queue_filter all = {NULL, 0, 0};
    f = f != NULL ? f : &all;
    memset(la, 0, sizeof(*la));
    la->after = after_id;
    la->limit = qm__page_limit(max);
    if (f->state < 0 || f->state > QM_QSTATE_CANCELLED) {
        return qm__fail_local(res, QM_INVALID, "no request state %d", f->state);
    }
    la->state = (uint64_t)f->state;
    int rv = qtier_arg(f->tier, true, res);
    la->qtier = rv == QM_OK ? (uint64_t)f->tier : 0;
    return rv != QM_OK
               ? rv
               : qm__name_arg(la->client, f->client, true, "client id", res);
}

int qm_queue_list(struct qm_client *c,
                  const struct qm_queue_filter *filter,
                  uint64_t after_id,
                  bool stale,
                  struct qm_request *out,
                  unsigned max,
                  unsigned *n,
                  bool *more,
                  struct qm_result *res)
{
    struct tp_req_list_args la;
    int rv = list_args(&la, filter, after_id, max, res);
    if (rv != QM_OK) {
        return rv;
    }
    struct qm__list_call l = {
        TP_OP_QUEUE_LIST,      &tp_req_list_args_schema, &la,
        qm__read_flags(stale), &tp_req_page_schema,      request_out,
        sizeof(*out)};
    return qm__list_run(c, &l, out, max, n, more, res);
}

int qm_queue_stats(struct qm_client *c,
                   bool stale,
                   struct qm_queue_stats out[QM_QTIERS],
                   unsigned *n,
                   struct qm_result *res)
{
    struct tp_queue_stats qs;
    int rv =
        qm__call_sync(c, TP_OP_QUEUE_STATS, NULL, NULL, qm__read_flags(stale),
                      NULL, &tp_queue_stats_schema, &qs, res);
    if (rv != QM_OK) {
        return rv;
    }
    for (unsigned i = 0; i < qs.ntiers; i++) {
        const struct tp_qtier_stats *in = &qs.tiers[i];
        out[i] = (struct qm_queue_stats){
            .tier = (int)in->qtier,
            .queued = in->queued,
            .running = in->running,
            .done = in->done,
            .failed = in->failed,
            .cancelled = in->cancelled,
            .worker_timeouts = in->worker_timeouts,
            .dispatched = in->dispatched,
        };
    }
    *n = qs.ntiers;
    return QM_OK;
}

/* ---- lease, complete, fail ---- */

void qm_job_clear(struct qm_job *job)
{
    qm_free(job->payload);
    memset(job, 0, sizeof(*job));
}

int qm_lease(struct qm_client *c,
             const char *worker,
             int64_t lease_ms,
             struct qm_job *job,
             struct qm_result *res)
{
    struct tp_lease_args la;
    struct tp_lease l;
    int rv = lease_args(&la, worker, lease_ms, res);
    if (rv != QM_OK) {
        return rv;
    }
    /* The payload lives in the reply: keep the reply's bytes. */
    struct qm_buf keep;
    qm_buf_init(&keep);
    rv = qm__call_sync_keep(c, TP_OP_QUEUE_LEASE, &tp_lease_args_schema, &la, 0,
                            NULL, &tp_lease_schema, &l, &keep, res);
    if (rv == QM_OK) {
        uint8_t *payload = qm_malloc(l.payload.n + 1);
        if (payload == NULL) {
            rv = qm__fail_local(res, QM_ENOMEM,
                                "leased q%llu but out of memory for its "
                                "payload; its lease will run out",
                                (unsigned long long)l.id);
        } else {
            if (l.payload.n > 0) {
                memcpy(payload, l.payload.p, l.payload.n);
            }
            payload[l.payload.n] = '\0';
            job_out(&l, job);
            job->payload = payload;
        }
    }
    qm_buf_close(&keep);
    return rv;
}

int qm_complete(struct qm_client *c,
                uint64_t id,
                uint64_t attempt,
                const struct qm_amount *used,
                unsigned nused,
                int64_t *cost,
                struct qm_result *res)
{
    struct tp_complete cm;
    int rv = complete_args(&cm, id, attempt, used, nused, res);
    if (rv != QM_OK) {
        return rv;
    }
    return qm__charge_call(c, TP_OP_QUEUE_COMPLETE, &tp_complete_schema, &cm,
                           cost, res);
}

int qm_fail(struct qm_client *c,
            uint64_t id,
            uint64_t attempt,
            const char *reason,
            bool *requeued,
            unsigned *attempts,
            struct qm_result *res)
{
    struct tp_fail f;
    struct tp_fail_result fr;
    memset(&f, 0, sizeof(f));
    f.id = id;
    f.attempt = attempt;
    size_t n = reason != NULL ? strnlen(reason, QM_REASON_MAX + 1) : 0;
    if (n > QM_REASON_MAX || !qm_valid_text(reason, n)) {
        return qm__fail_local(res, QM_INVALID,
                              "a reason is printable UTF-8 of at most %d "
                              "bytes",
                              QM_REASON_MAX);
    }
    int rv = attempt_arg(attempt, res);
    if (rv != QM_OK) {
        return rv;
    }
    if (n > 0) {
        memcpy(f.reason, reason, n);
    }
    rv = qm__call_sync(c, TP_OP_QUEUE_FAIL, &tp_fail_schema, &f, 0, NULL,
                       &tp_fail_result_schema, &fr, res);
    if (rv == QM_OK && requeued != NULL) {
        *requeued = fr.requeued;
    }
    if (rv == QM_OK && attempts != NULL) {
        *attempts = (unsigned)fr.attempts;
    }
    return rv;
}

/* ---- asynchronous submit, lease, complete ---- */

static void submit_done(qm__fn fn,
                        void *arg,
                        const struct qm_result *res,
                        const void *body)
{
    const struct tp_req_id *ri = body;
    uint64_t id = ri != NULL && res->status == QM_OK ? ri->id : 0;
    ((qm_submit_cb)fn)(arg, res, id);
}

int qm_submit_async(struct qm_client *c,
                    const struct qm_submit *s,
                    qm_submit_cb cb,
                    void *arg)
{
    struct tp_submit sa;
    int rv = submit_args(&sa, s, NULL);
    if (rv != QM_OK) {
        return rv;
    }
    return qm__call_decoded(c, TP_OP_QUEUE_SUBMIT, &tp_submit_schema, &sa,
                            &tp_req_id_schema, submit_done, (qm__fn)cb, arg);
}

static void lease_done(qm__fn fn,
                       void *arg,
                       const struct qm_result *res,
                       const void *body)
{
    struct qm_job job;
    bool ok = body != NULL && res->status == QM_OK;
    if (ok) {
        job_out(body, &job);
    }
    ((qm_lease_cb)fn)(arg, res, ok ? &job : NULL);
}

int qm_lease_async(struct qm_client *c,
                   const char *worker,
                   int64_t lease_ms,
                   qm_lease_cb cb,
                   void *arg)
{
    struct tp_lease_args la;
    int rv = lease_args(&la, worker, lease_ms, NULL);
    if (rv != QM_OK) {
        return rv;
    }
    return qm__call_decoded(c, TP_OP_QUEUE_LEASE, &tp_lease_args_schema, &la,
                            &tp_lease_schema, lease_done, (qm__fn)cb, arg);
}

int qm_complete_async(struct qm_client *c,
                      uint64_t id,
                      uint64_t attempt,
                      const struct qm_amount *used,
                      unsigned nused,
                      qm_commit_cb cb,
                      void *arg)
{
    struct tp_complete cm;
    int rv = complete_args(&cm, id, attempt, used, nused, NULL);
    if (rv != QM_OK) {
        return rv;
    }
    return qm__call_decoded(c, TP_OP_QUEUE_COMPLETE, &tp_complete_schema, &cm,
                            &tp_charge_schema, qm__charge_done, (qm__fn)cb,
                            arg);
}

/* ---- settings ---- */

int qm_queue_settings_get(struct qm_client *c,
                          bool stale,
                          struct qm_queue_settings *out,
                          struct qm_result *res)
{
    struct tp_qsettings qs;
    int rv = qm__call_sync(c, TP_OP_QUEUE_SETTINGS_GET, NULL, NULL,
                           qm__read_flags(stale), NULL, &tp_qsettings_schema,
                           &qs, res);
    if (rv == QM_OK) {
#define GET(f) out->f = qs.f;
        QSETTINGS(GET)
#undef GET
    }
    return rv;
}

int qm_queue_settings_set(struct qm_client *c,
                          const struct qm_queue_settings *s,
                          struct qm_result *res)
{
    struct tp_qsettings qs;
#define SET(f) qs.f = s->f;
    QSETTINGS(SET)
#undef SET
    return qm__call_sync(c, TP_OP_QUEUE_SETTINGS_SET, &tp_qsettings_schema, &qs,
                         0, NULL, NULL, NULL, res);
}
