/* Dispatch: lease a worker the best request whose needs can be reserved
 * now (the reservation is made in the same command), complete it (the
 * reservation is committed with the used amounts), fail it (requeued until
 * out of attempts); and a request's position in the dispatch order. */
#include <stdio.h>
#include <string.h>

#include "fsm_qiter.h"
#include "fsm_queue.h"
#include "qm_err.h"

/* Candidates a lease tries before answering that nothing can be leased. */
#define LEASE_TRIES 64

/* Reserve @r's needs for its client for @lease_ms: *got says whether it
 * could; *reservation is the id (0 when it needs nothing). */
static int try_reserve(struct fsm_ctx *c,
                       const struct fsm_req *r,
                       int64_t lease_ms,
                       bool *got,
                       uint64_t *reservation)
{
    *reservation = 0;
    *got = true;
    if (r->nneeds == 0) {
        return QM_OK;
    }
    union tp_args a;
    memset(&a, 0, sizeof(a));
    memcpy(a.reserve.client, r->client, sizeof(a.reserve.client));
    a.reserve.ttl_ms = lease_ms;
    a.reserve.namounts = r->nneeds;
    memcpy(a.reserve.amounts, r->needs, sizeof(a.reserve.amounts));
    struct fsm_res *inner = &c->f->inner;
    fsm__res_reset(inner);
    int rv = fsm__reserve(c, &a, inner);
    *got = rv == QM_OK && inner->status == QM_OK;
    if (*got) {
        *reservation = inner->body.reserve.id;
    }
    return rv;
}

/* Track the interval between dispatches (for wait estimates). */
static int note_dispatch(struct fsm_ctx *c)
{
    uint64_t last = 0, ewma = 0;
    int rv = fsm__meta_get_u64(c->f, c->txn, "q_last_lease", &last);
    if (rv == QM_OK || rv == QM_NOT_FOUND) {
        rv = fsm__meta_get_u64(c->f, c->txn, "q_interval", &ewma);
    }
    if (rv != QM_OK && rv != QM_NOT_FOUND) {
        return rv;
    }
    if (last > 0 && (uint64_t)c->now >= last) {
        uint64_t dt = (uint64_t)c->now - last;
        ewma = ewma == 0 ? dt : (7 * ewma + dt) / 8;
    }
    rv = fsm__meta_put_u64(c->f, c->txn, "q_last_lease", (uint64_t)c->now);
    return rv == QM_OK ? fsm__meta_put_u64(c->f, c->txn, "q_interval", ewma)
                       : rv;
}

/* Find the request to lease: *id = 0 when none can be. */
static int pick(struct fsm_ctx *c,
                const struct tp_qsettings *s,
                int64_t lease_ms,
                uint64_t *id,
                struct fsm_req *r,
                uint64_t *reservation)
{
    uint64_t others;
    int rv = fsm__q_waiting_nondeferred(c, &others);
    if (rv != QM_OK) {
        return rv;
    }
    struct fsm_qiter it;
    rv = fsm__qiter_open(&it, c, s, others == 0 || fsm_offpeak(s, c->now));
    *id = 0;
    for (int tries = 0; rv == QM_OK && tries < LEASE_TRIES; tries++) {
        uint64_t cand;
        rv = fsm__qiter_next(&it, &cand, r);
        if (rv != QM_OK) {
            break;
        }
        bool got;
        rv = try_reserve(c, r, lease_ms, &got, reservation);
        if (rv == QM_OK && got) {
            *id = cand;
            break;
        }
    }
    fsm__qiter_close(&it);
    return rv == QM_NOT_FOUND ? QM_OK : rv;
}

int fsm__q_lease(struct fsm_ctx *c, const union tp_args *a, struct fsm_res *res)
{
    const struct tp_lease_args *la = &a->lease;
    struct tp_qsettings s;
    struct fsm_req r;
    uint64_t id, reservation;
    int rv = fsm__qsettings(c, &s);
    if (rv == QM_OK) {
        rv = fsm__q_migrate(c, &s);
    }
    if (la->lease_ms > 0 && la->lease_ms < 1000) {
        fsm__res_fail(res, QM_INVALID, "a lease lasts at least 1 s");
        return QM_OK;
    }
    int64_t lease_ms = la->lease_ms > 0 ? la->lease_ms : s.lease_ms;
    if (rv == QM_OK) {
        rv = pick(c, &s, lease_ms, &id, &r, &reservation);
    }
    if (rv != QM_OK) {
        return rv;
    }
    if (id == 0) {
        fsm__res_fail(res, QM_DENIED,
                      "nothing can be leased now: no request is queued, or "
                      "the needs of the best ones cannot be reserved");
        return QM_OK;
    }
    rv = fsm__q_remove(c, &s, id, &r);
    if (rv == QM_OK) {
        rv = fsm__q_count(c, r.qtier, FSM_QC_QUEUED, -1);
    }
    if (rv == QM_OK) {
        rv = fsm__q_count(c, r.qtier, FSM_QC_RUNNING, 1);
    }
    if (rv == QM_OK) {
        rv = fsm__q_count(c, r.qtier, FSM_QC_DISPATCHED, 1);
    }
    r.state = TP_QSTATE_RUNNING;
    r.attempts++;
    memcpy(r.worker, la->worker, sizeof(r.worker));
    r.lease_ms = lease_ms;
    r.lease_exp_ms = c->now + lease_ms;
    r.reservation = reservation;
    if (rv == QM_OK) {
        rv = fsm__req_store(c, id, &r);
    }
    if (rv == QM_OK) {
        rv = fsm__q_run_add(c, id, r.lease_exp_ms);
    }
    if (rv == QM_OK) {
        rv = fsm__fair_dispatched(c, &s, r.client);
    }
    if (rv == QM_OK) {
        rv = note_dispatch(c);
    }
    /* Read it back last: the payload must point at the stored record. */
    if (rv == QM_OK) {
        rv = fsm__req_load(c, id, &r);
    }
    struct tp_lease *out = &res->body.lease;
    memset(out, 0, sizeof(*out));
    out->id = id;
    memcpy(out->client, r.client, sizeof(out->client));
    out->qtier = r.qtier;
    out->payload = r.payload;
    out->reservation = reservation;
    out->attempt = r.attempts;
    out->lease_expires_ms = r.lease_exp_ms;
    out->nneeds = r.nneeds;
    memcpy(out->needs, r.needs, sizeof(out->needs));
    res->body_schema = &tp_lease_schema;
    return rv;
}

/* Load a request the caller says it leases: QM_OK with *held, or a result
 * in @res (NOT_FOUND) and *held false. A lease that ran out is handled as
 * TICK would: requeued. */
static int held_lease(struct fsm_ctx *c,
                      const struct tp_qsettings *s,
                      uint64_t id,
                      uint64_t attempt,
                      struct fsm_req *r,
                      struct fsm_res *res,
                      bool *held)
{
    *held = false;
    int rv = fsm__req_load(c, id, r);
    if (rv == QM_NOT_FOUND) {
        fsm__res_fail(res, QM_NOT_FOUND, "no request q%llu",
                      (unsigned long long)id);
        return QM_OK;
    }
    if (rv != QM_OK) {
        return rv;
    }
    if (r->state != TP_QSTATE_RUNNING ||
        (attempt != 0 && attempt != r->attempts)) {
        fsm__res_fail(res, QM_NOT_FOUND,
                      "q%llu is not leased as attempt %llu (it is %s, "
                      "attempt %llu)",
                      (unsigned long long)id, (unsigned long long)attempt,
                      r->state == TP_QSTATE_RUNNING ? "running" : "not running",
                      (unsigned long long)r->attempts);
        return QM_OK;
    }
    if (r->lease_exp_ms <= c->now) {
        rv = fsm__q_expire_lease(c, s, id, r);
        fsm__res_fail(res, QM_NOT_FOUND,
                      "the lease of q%llu ran out; it was requeued",
                      (unsigned long long)id);
        return rv;
    }
    *held = true;
    return QM_OK;
}

int fsm__q_complete(struct fsm_ctx *c,
                    const union tp_args *a,
                    struct fsm_res *res)
{
    const struct tp_complete *cp = &a->complete;
    struct tp_qsettings s;
    struct fsm_req r;
    bool held;
    int rv = fsm__qsettings(c, &s);
    if (rv == QM_OK) {
        rv = held_lease(c, &s, cp->id, cp->attempt, &r, res, &held);
    }
    if (rv != QM_OK || !held) {
        return rv;
    }
    int64_t cost = 0;
    if (r.reservation != 0) {
        union tp_args ca;
        memset(&ca, 0, sizeof(ca));
        ca.commit.id = r.reservation;
        ca.commit.nused = cp->nused;
        memcpy(ca.commit.used, cp->used, sizeof(ca.commit.used));
        struct fsm_res *inner = &c->f->inner;
        fsm__res_reset(inner);
        rv = fsm__commit(c, &ca, inner);
        if (rv != QM_OK || inner->status != QM_OK) {
            if (rv == QM_OK) {
                fsm__res_fail(res, inner->status, "%s", inner->message);
            }
            return rv;
        }
        cost = inner->body.charge.cost;
    } else if (cp->nused > 0) {
        fsm__res_fail(res, QM_INVALID, "q%llu needs no pool",
                      (unsigned long long)cp->id);
        return QM_OK;
    }
    rv = fsm__q_run_del(c, cp->id, r.lease_exp_ms);
    if (rv == QM_OK) {
        rv = fsm__q_finish(c, cp->id, &r, TP_QSTATE_DONE, "");
    }
    res->body.charge.cost = cost;
    res->body_schema = &tp_charge_schema;
    return rv;
}

/* Give a running request's reservation back and leave the running set. */
static int unlease(struct fsm_ctx *c, uint64_t id, const struct fsm_req *r)
{
    int rv = fsm__q_run_del(c, id, r->lease_exp_ms);
    if (rv == QM_OK && r->reservation != 0) {
        union tp_args ra = {.res_id = {r->reservation}};
        rv = fsm__release(c, &ra, &c->f->inner);
    }
    return rv;
}

int fsm__q_fail(struct fsm_ctx *c, const union tp_args *a, struct fsm_res *res)
{
    const struct tp_fail *fl = &a->fail;
    struct tp_qsettings s;
    struct fsm_req r;
    bool held;
    int rv = fsm__qsettings(c, &s);
    if (rv == QM_OK) {
        rv = held_lease(c, &s, fl->id, fl->attempt, &r, res, &held);
    }
    if (rv != QM_OK || !held) {
        return rv;
    }
    rv = unlease(c, fl->id, &r);
    bool requeued = false;
    if (rv == QM_OK) {
        rv = fsm__q_requeue(c, &s, fl->id, &r,
                            fl->reason[0] ? fl->reason : "failed", &requeued);
    }
    res->body.fail.requeued = requeued;
    res->body.fail.attempts = r.attempts;
    res->body_schema = &tp_fail_result_schema;
    return rv;
}

int fsm__q_expire_lease(struct fsm_ctx *c,
                        const struct tp_qsettings *s,
                        uint64_t id,
                        struct fsm_req *r)
{
    char why[QM_REASON_MAX + 1];
    snprintf(why, sizeof(why), "lease of worker %s ran out", r->worker);
    int rv = unlease(c, id, r);
    if (rv == QM_OK) {
        rv = fsm__q_count(c, r->qtier, FSM_QC_TIMEOUTS, 1);
    }
    bool requeued;
    return rv == QM_OK ? fsm__q_requeue(c, s, id, r, why, &requeued) : rv;
}

int fsm__q_position(struct fsm_ctx *c,
                    const union tp_args *a,
                    struct fsm_res *res)
{
    uint64_t id = a->req_id.id;
    struct tp_qsettings s;
    struct fsm_req r;
    int rv = fsm__qsettings(c, &s);
    if (rv == QM_OK) {
        rv = fsm__req_load(c, id, &r);
    }
    if (rv == QM_NOT_FOUND) {
        fsm__res_fail(res, QM_NOT_FOUND, "no request q%llu",
                      (unsigned long long)id);
        return QM_OK;
    }
    if (rv != QM_OK) {
        return rv;
    }
    struct tp_req_info *out = &res->body.req;
    fsm_req_info(&s, id, &r, c->now, out);
    res->body_schema = &tp_req_info_schema;
    if (r.state != TP_QSTATE_QUEUED) {
        return QM_OK;
    }
    /* Walk the dispatch order (deferred last) up to the request. */
    struct fsm_qiter it;
    rv = fsm__qiter_open(&it, c, &s, true);
    uint64_t pos = 0, cand;
    struct fsm_req other;
    while (rv == QM_OK && (rv = fsm__qiter_next(&it, &cand, &other)) == QM_OK) {
        pos++;
        if (cand == id) {
            break;
        }
    }
    fsm__qiter_close(&it);
    if (rv != QM_OK) {
        return rv == QM_NOT_FOUND ? QM_ECORRUPT : rv;
    }
    uint64_t interval = 0;
    rv = fsm__meta_get_u64(c->f, c->txn, "q_interval", &interval);
    out->position = pos;
    out->wait_ms = (int64_t)((pos - 1) * interval);
    return rv == QM_NOT_FOUND ? QM_OK : rv;
}
