/* Queue commands: submit, cancel, settings; reads: get, position, list,
 * stats, settings. Dispatch (lease, complete, fail) is in
 * fsm_op_dispatch.c. */
#include <stdio.h>
#include <string.h>

#include "fsm_client.h"
#include "fsm_pool.h"
#include "fsm_queue.h"
#include "qm_err.h"

static const char *const state_names[TP_QSTATES + 1] = {
    "", "queued", "running", "done", "failed", "cancelled",
};

static int req_lookup_failed(struct fsm_res *res, int rv, uint64_t id)
{
    if (rv == QM_NOT_FOUND) {
        fsm__res_fail(res, QM_NOT_FOUND,
                      "no request q%llu (finished ones are kept for an hour)",
                      (unsigned long long)id);
        return QM_OK;
    }
    return rv;
}

/* Needs must name distinct existing pools, each within what the client
 * can ever have of it (a request no lease could reserve would wait forever,
 * and block leases behind it): as RESERVE refuses. */
static int check_needs(struct fsm_ctx *c,
                       const struct tp_submit *sb,
                       const struct fsm_who *who,
                       struct fsm_res *res,
                       bool *ok)
{
    *ok = false;
    for (uint32_t i = 0; i < sb->nneeds; i++) {
        const struct tp_amount *n = &sb->needs[i];
        struct fsm_pool p;
        for (uint32_t k = 0; k < i; k++) {
            if (strcmp(sb->needs[k].pool, n->pool) == 0) {
                fsm__res_fail(res, QM_INVALID, "pool %s is named twice",
                              n->pool);
                return QM_OK;
            }
        }
        int rv = fsm__pool_load(c, n->pool, &p);
        if (rv != QM_OK) {
            return fsm__lookup_failed(res, rv, "pool", n->pool);
        }
        if (n->amount <= 0 || n->amount > p.capacity) {
            fsm__res_fail(res, QM_INVALID,
                          "the need of %s must be above 0 and within its "
                          "capacity",
                          n->pool);
            return QM_OK;
        }
        if (!fsm_pool_allowed(&p, who)) {
            fsm__res_fail(res, QM_DENIED,
                          "pool '%s' is dedicated to client '%s'", n->pool,
                          p.owner);
            return QM_OK;
        }
        if (n->amount > fsm_pool_reach(&p, who)) {
            fsm__res_fail(res, QM_INVALID,
                          "client '%s' can have at most %lld.%03lld units of "
                          "%s (the rest is set aside for others)",
                          who->client,
                          (long long)(fsm_pool_reach(&p, who) / 1000),
                          (long long)(fsm_pool_reach(&p, who) % 1000), n->pool);
            return QM_OK;
        }
    }
    *ok = true;
    return QM_OK;
}

/* Alert when a queue tier holds more than alert_queue_len requests. */
static int long_queue_alert(struct fsm_ctx *c,
                            const struct tp_qsettings *s,
                            uint64_t qtier)
{
    uint64_t n[FSM_QC_COUNT];
    int rv = fsm__q_stats(c, qtier, n);
    if (rv != QM_OK || n[FSM_QC_QUEUED] <= (uint64_t)s->alert_queue_len) {
        return rv;
    }
    static const char *const tiers[TP_QTIERS + 1] = {
        "", "immediate", "fast", "normal", "batch", "deferred",
    };
    char subject[QM_SUBJECT_MAX + 1];
    snprintf(subject, sizeof(subject), "queue/%s", tiers[qtier]);
    return fsm__alert(c, "queue_long", subject, "warning",
                      "the %s queue holds %llu requests (alert above %lld)",
                      tiers[qtier], (unsigned long long)n[FSM_QC_QUEUED],
                      (long long)s->alert_queue_len);
}

int fsm__q_submit(struct fsm_ctx *c,
                  const union tp_args *a,
                  struct fsm_res *res)
{
    const struct tp_submit *sb = &a->submit;
    struct fsm_client cl;
    struct tp_qsettings s;
    struct tp_tier_info t;
    bool ok;
    int rv = fsm__client_load(c, sb->client, &cl);
    if (rv != QM_OK) {
        return fsm__lookup_failed(res, rv, "client", sb->client);
    }
    struct fsm_who who = {sb->client, cl.tier};
    rv = check_needs(c, sb, &who, res, &ok);
    if (rv != QM_OK || !ok) {
        return rv;
    }
    MDB_stat st;
    int rc = mdb_stat(c->txn, c->f->dbi[FSM_DB_Q_ENQ], &st);
    if (rc != MDB_SUCCESS) {
        return fsm__err_from_mdb(rc);
    }
    if (st.ms_entries >= QM_REQUESTS_MAX) {
        fsm__res_fail(res, QM_DENIED,
                      "the queues hold %d requests, the most they allow",
                      QM_REQUESTS_MAX);
        return QM_OK;
    }
    struct fsm_req r;
    memset(&r, 0, sizeof(r));
    rv = fsm__qsettings(c, &s);
    if (rv == QM_OK) {
        rv = fsm__tier_load(c, cl.tier, &t);
    }
    if (rv == QM_OK) {
        rv = fsm__fairness(c, &s, sb->client, &r.fair_m);
    }
    uint64_t id = 0;
    if (rv == QM_OK) {
        rv = fsm__next_id(c, "next_req", &id);
    }
    if (rv != QM_OK) {
        return rv;
    }
    memcpy(r.client, sb->client, sizeof(r.client));
    r.qtier = sb->qtier;
    r.state = TP_QSTATE_QUEUED;
    r.urgency = sb->urgency;
    r.tier_pts = t.priority;
    r.enq_ms = c->now;
    r.deadline_ms = sb->deadline_ms > 0 ? c->now + sb->deadline_ms : 0;
    if (r.deadline_ms > QM_TIME_MAX) {
        r.deadline_ms = QM_TIME_MAX;
    }
    r.max_attempts = sb->attempts > 0 ? sb->attempts : (uint64_t)s.max_attempts;
    r.nneeds = sb->nneeds;
    memcpy(r.needs, sb->needs, sizeof(r.needs));
    r.payload = sb->payload;
    rv = fsm__req_store(c, id, &r);
    if (rv == QM_OK) {
        rv = fsm__q_insert(c, &s, id, &r);
    }
    if (rv == QM_OK) {
        rv = fsm__q_count(c, r.qtier, FSM_QC_QUEUED, 1);
    }
    if (rv == QM_OK) {
        rv = long_queue_alert(c, &s, r.qtier);
    }
    res->body.req_id.id = id;
    res->body_schema = &tp_req_id_schema;
    return rv;
}

int fsm__q_cancel(struct fsm_ctx *c,
                  const union tp_args *a,
                  struct fsm_res *res)
{
    uint64_t id = a->req_id.id;
    struct fsm_req r;
    struct tp_qsettings s;
    int rv = fsm__req_load(c, id, &r);
    if (rv != QM_OK) {
        return req_lookup_failed(res, rv, id);
    }
    if (r.state != TP_QSTATE_QUEUED && r.state != TP_QSTATE_RUNNING) {
        fsm__res_fail(res, QM_INVALID, "q%llu is already %s",
                      (unsigned long long)id, state_names[r.state]);
        return QM_OK;
    }
    rv = fsm__qsettings(c, &s);
    if (rv == QM_OK && r.state == TP_QSTATE_QUEUED) {
        rv = fsm__q_remove(c, &s, id, &r);
    } else if (rv == QM_OK) {
        rv = fsm__q_run_del(c, id, r.lease_exp_ms);
        if (rv == QM_OK && r.reservation != 0) {
            union tp_args ra = {.res_id = {r.reservation}};
            rv = fsm__release(c, &ra, &c->f->inner);
        }
    }
    if (rv == QM_OK) {
        rv = fsm__q_finish(c, id, &r, TP_QSTATE_CANCELLED, "cancelled");
    }
    return rv;
}

int fsm__q_get(struct fsm_ctx *c, const union tp_args *a, struct fsm_res *res)
{
    uint64_t id = a->req_id.id;
    struct fsm_req r;
    struct tp_qsettings s;
    int rv = fsm__req_load(c, id, &r);
    if (rv != QM_OK) {
        return req_lookup_failed(res, rv, id);
    }
    rv = fsm__qsettings(c, &s);
    fsm_req_info(&s, id, &r, c->now, &res->body.req);
    res->body_schema = &tp_req_info_schema;
    return rv;
}

struct req_walk
{
    struct fsm_ctx *c;
    const struct tp_req_list_args *la;
    const struct tp_qsettings *s;
    struct tp_req_page *page;
    uint64_t limit;
};

static bool req_listed(const struct tp_req_list_args *la,
                       const struct fsm_req *r)
{
    return (la->client[0] == '\0' || strcmp(la->client, r->client) == 0) &&
           (la->qtier == 0 || la->qtier == r->qtier) &&
           (la->state == 0 || la->state == r->state);
}

static int req_one(void *arg, const MDB_val *k, const MDB_val *v, bool *stop)
{
    (void)v;
    struct req_walk *w = arg;
    uint64_t id = fsm__be64_get(k->mv_data);
    struct fsm_req r;
    int rv = fsm__req_load(w->c, id, &r);
    if (rv != QM_OK || !req_listed(w->la, &r)) {
        return rv;
    }
    if (fsm__page_full(w->page->nreqs, w->limit, &w->page->more, stop)) {
        return QM_OK;
    }
    fsm_req_info(w->s, id, &r, w->c->now, &w->page->reqs[w->page->nreqs++]);
    return QM_OK;
}

int fsm__q_list(struct fsm_ctx *c, const union tp_args *a, struct fsm_res *res)
{
    const struct tp_req_list_args *la = &a->req_list;
    struct tp_qsettings s;
    struct req_walk w = {c, la, &s, &res->body.reqs,
                         la->limit == 0 ? QM_PAGE_MAX : la->limit};
    w.page->nreqs = 0;
    w.page->more = false;
    res->body_schema = &tp_req_page_schema;
    int rv = fsm__qsettings(c, &s);
    if (rv != QM_OK) {
        return rv;
    }
    return fsm__page_ids(c, FSM_DB_REQS, la->after, req_one, &w);
}

int fsm__q_stats_get(struct fsm_ctx *c,
                     const union tp_args *a,
                     struct fsm_res *res)
{
    (void)a;
    struct tp_queue_stats *qs = &res->body.qstats;
    qs->ntiers = 0;
    res->body_schema = &tp_queue_stats_schema;
    for (uint64_t t = 1; t <= TP_QTIERS; t++) {
        uint64_t n[FSM_QC_COUNT];
        int rv = fsm__q_stats(c, t, n);
        if (rv != QM_OK) {
            return rv;
        }
        struct tp_qtier_stats *o = &qs->tiers[qs->ntiers++];
        o->qtier = t;
        o->queued = n[FSM_QC_QUEUED];
        o->running = n[FSM_QC_RUNNING];
        o->done = n[FSM_QC_DONE];
        o->failed = n[FSM_QC_FAILED];
        o->cancelled = n[FSM_QC_CANCELLED];
        o->worker_timeouts = n[FSM_QC_TIMEOUTS];
        o->dispatched = n[FSM_QC_DISPATCHED];
    }
    return QM_OK;
}

int fsm__q_settings_get(struct fsm_ctx *c,
                        const union tp_args *a,
                        struct fsm_res *res)
{
    (void)a;
    res->body_schema = &tp_qsettings_schema;
    return fsm__qsettings(c, &res->body.qsettings);
}

int fsm__q_settings_set(struct fsm_ctx *c,
                        const union tp_args *a,
                        struct fsm_res *res)
{
    (void)res;
    int rv = fsm__qsettings_store(c, &a->qsettings);
    /* Weights and aging order the indexes: rebuild them. */
    return rv == QM_OK ? fsm__q_reindex(c, &a->qsettings) : rv;
}
