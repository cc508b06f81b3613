/* What time does to the queues, on TICK: leases that ran out (requeued),
 * queued requests past their deadline (failed), requests waiting past
 * starve_ms (an alert each), and finished requests past their history
 * (forgotten). Each walks an index in time order from its front, so a tick
 * costs what it changes. */
#include <stdio.h>
#include <string.h>

#include "fsm_queue.h"
#include "qm_err.h"

static const char starve_cursor[] = "q_starve_cursor";

static int load_live(struct fsm_ctx *c, uint64_t id, struct fsm_req *r)
{
    int rv = fsm__req_load(c, id, r);
    return rv == QM_NOT_FOUND ? QM_ECORRUPT : rv;
}

static int expire_leases(struct fsm_ctx *c, const struct tp_qsettings *s)
{
    for (;;) {
        uint64_t id;
        struct fsm_req r;
        int rv = fsm__exp_due(c, FSM_DB_Q_RUN, &id);
        if (rv != QM_OK) {
            return rv == QM_NOT_FOUND ? QM_OK : rv;
        }
        rv = load_live(c, id, &r);
        if (rv == QM_OK) {
            rv = fsm__q_expire_lease(c, s, id, &r);
        }
        if (rv != QM_OK) {
            return rv;
        }
    }
}

static int expire_deadlines(struct fsm_ctx *c, const struct tp_qsettings *s)
{
    for (;;) {
        uint64_t id;
        struct fsm_req r;
        int rv = fsm__exp_due(c, FSM_DB_Q_DEADLINE, &id);
        if (rv != QM_OK) {
            return rv == QM_NOT_FOUND ? QM_OK : rv;
        }
        rv = load_live(c, id, &r);
        if (rv == QM_OK) {
            rv = fsm__q_remove(c, s, id, &r);
        }
        if (rv == QM_OK) {
            rv = fsm__q_finish(c, id, &r, TP_QSTATE_FAILED,
                               "its deadline passed in the queue");
        }
        if (rv != QM_OK) {
            return rv;
        }
    }
}

/* One alert per request that waits past starve_ms, from a cursor over the
 * enqueue order of the tiers that starve (a request requeued behind it is
 * not alerted again). */
static int starving_alerts(struct fsm_ctx *c, const struct tp_qsettings *s)
{
    struct fsm_resume w;
    int rv = fsm__resume_open(c, FSM_DB_Q_ENQ_ND, starve_cursor, &w);
    if (rv != QM_OK) {
        return rv;
    }
    uint8_t last[16];
    bool moved = false;
    for (; w.rc == MDB_SUCCESS && rv == QM_OK; fsm__resume_next(&w)) {
        if (w.k.mv_size != 16) {
            break;
        }
        int64_t enq = (int64_t)fsm__be64_get(w.k.mv_data);
        if (c->now - enq < s->starve_ms) {
            break;
        }
        memcpy(last, w.k.mv_data, sizeof(last));
        moved = true;
        uint64_t id = fsm__be64_get((const uint8_t *)w.k.mv_data + 8);
        struct fsm_req r;
        rv = load_live(c, id, &r);
        if (rv == QM_OK && r.qtier != TP_QTIER_DEFERRED) {
            char subject[QM_SUBJECT_MAX + 1];
            snprintf(subject, sizeof(subject), "queue/q%llu",
                     (unsigned long long)id);
            rv = fsm__alert(c, "queue_starving", subject, "warning",
                            "q%llu of client '%s' has waited %lld s",
                            (unsigned long long)id, r.client,
                            (long long)((c->now - enq) / 1000));
        }
    }
    mdb_cursor_close(w.mc);
    if (rv == QM_OK && moved) {
        rv = fsm__resume_save(c, starve_cursor, last);
    }
    return rv;
}

/* Forget finished requests after an hour, and the oldest beyond
 * finished_max (QM_FINISHED_MAX). */
static int purge_history(struct fsm_ctx *c)
{
    for (;;) {
        int64_t ms;
        uint64_t id;
        MDB_stat st;
        int rv = fsm__exp_first(c, FSM_DB_Q_DONE, &ms, &id);
        if (rv != QM_OK) {
            return rv == QM_NOT_FOUND ? QM_OK : rv;
        }
        int rc = mdb_stat(c->txn, c->f->dbi[FSM_DB_Q_DONE], &st);
        if (rc != MDB_SUCCESS) {
            return fsm__err_from_mdb(rc);
        }
        if (ms > c->now - QM_FINISHED_TTL_MS &&
            st.ms_entries <= c->f->finished_max) {
            return QM_OK;
        }
        /* The entry was just read: its removal cannot miss. */
        rv = fsm__exp_put(c, FSM_DB_Q_DONE, ms, id, false);
        if (rv == QM_OK) {
            rv = fsm__req_delete(c, id);
        }
        if (rv != QM_OK) {
            return rv;
        }
    }
}

int fsm__q_tick(struct fsm_ctx *c)
{
    struct tp_qsettings s;
    int rv = fsm__qsettings(c, &s);
    if (rv == QM_OK) {
        rv = expire_leases(c, &s);
    }
    if (rv == QM_OK) {
        rv = expire_deadlines(c, &s);
    }
    if (rv == QM_OK) {
        rv = starving_alerts(c, &s);
    }
    if (rv == QM_OK) {
        rv = purge_history(c);
    }
    if (rv == QM_OK) {
        rv = fsm__q_migrate(c, &s);
    }
    return rv;
}

int64_t fsm__q_next_deadline(struct fsm *f, MDB_txn *txn)
{
    struct fsm_ctx c = {f, txn, f->clock, 0};
    struct tp_qsettings s;
    if (fsm__qsettings(&c, &s) != QM_OK) {
        return INT64_MAX;
    }
    int64_t next = fsm__exp_next(f, txn, FSM_DB_Q_RUN);
    int64_t ms = fsm__exp_next(f, txn, FSM_DB_Q_DEADLINE);
    next = ms < next ? ms : next;
    ms = fsm__exp_next(f, txn, FSM_DB_Q_DONE);
    if (ms != INT64_MAX) {
        /* Beyond finished_max, TICK is due now (since the oldest ended). */
        MDB_stat st;
        if (mdb_stat(txn, f->dbi[FSM_DB_Q_DONE], &st) != MDB_SUCCESS ||
            st.ms_entries <= f->finished_max) {
            ms += QM_FINISHED_TTL_MS;
        }
        next = ms < next ? ms : next;
    }
    ms = fsm__q_next_cap(&c, &s);
    next = ms < next ? ms : next;
    /* The oldest queued request not yet alerted as starving. */
    struct fsm_resume w;
    if (fsm__resume_open(&c, FSM_DB_Q_ENQ_ND, starve_cursor, &w) != QM_OK) {
        return next;
    }
    if (w.rc == MDB_SUCCESS && w.k.mv_size == 16) {
        ms = (int64_t)fsm__be64_get(w.k.mv_data) + s.starve_ms;
        next = ms < next ? ms : next;
    }
    mdb_cursor_close(w.mc);
    return next;
}
