/* Client sessions: the last sequence of each session and its result, so a
 * retried command is answered, not applied twice (design.md rule 3; Raft
 * thesis §6.3). One command at a time per session: libqm keeps many
 * requests in flight by using many sessions. Sessions idle for the TTL of
 * cluster time are dropped by TICK; past the cap the idlest one goes. */
#include <string.h>

#include "fsm_internal.h"
#include "qm_err.h"

#define SESS_HDR 16 /* be64 seq, be64 last_ms */

int fsm__session_check(struct fsm_ctx *c,
                       uint64_t session,
                       uint64_t seq,
                       int *verdict,
                       struct qm_span *stored)
{
    uint8_t kb[8];
    fsm__be64_put(kb, session);
    MDB_val k = {sizeof(kb), kb};
    MDB_val v;
    int rc = mdb_get(c->txn, c->f->dbi[FSM_DB_SESSIONS], &k, &v);
    if (rc == MDB_NOTFOUND) {
        *verdict = FSM_SESS_APPLY;
        return QM_OK;
    }
    if (rc != MDB_SUCCESS) {
        return fsm__err_from_mdb(rc);
    }
    if (v.mv_size < SESS_HDR) {
        return QM_ECORRUPT;
    }
    uint64_t last = fsm__be64_get(v.mv_data);
    if (seq > last) {
        *verdict = FSM_SESS_APPLY;
    } else if (seq == last) {
        *verdict = FSM_SESS_REPLAY;
        stored->p = (const uint8_t *)v.mv_data + SESS_HDR;
        stored->n = v.mv_size - SESS_HDR;
    } else {
        *verdict = FSM_SESS_STALE;
    }
    return QM_OK;
}

static int del_session(struct fsm_ctx *c, uint64_t session, int64_t last_ms)
{
    uint8_t kb[8], eb[16];
    fsm__be64_put(kb, session);
    fsm__exp_key(eb, last_ms, session);
    MDB_val k = {sizeof(kb), kb};
    MDB_val e = {sizeof(eb), eb};
    int rc = mdb_del(c->txn, c->f->dbi[FSM_DB_SESSIONS], &k, NULL);
    if (rc == MDB_SUCCESS) {
        rc = mdb_del(c->txn, c->f->dbi[FSM_DB_SESS_EXP], &e, NULL);
    }
    return fsm__err_from_mdb(rc);
}

/* Drop the session idle the longest (first in expiry order). */
static int evict_oldest(struct fsm_ctx *c)
{
    int64_t last_ms;
    uint64_t session;
    int rv = fsm__exp_first(c, FSM_DB_SESS_EXP, &last_ms, &session);
    if (rv != QM_OK) {
        return rv == QM_NOT_FOUND ? QM_OK : rv;
    }
    return del_session(c, session, last_ms);
}

int fsm__session_store(struct fsm_ctx *c,
                       uint64_t session,
                       uint64_t seq,
                       struct qm_span result)
{
    struct fsm *f = c->f;
    uint8_t kb[8];
    fsm__be64_put(kb, session);
    MDB_val k = {sizeof(kb), kb};
    MDB_val old;
    int rc = mdb_get(c->txn, f->dbi[FSM_DB_SESSIONS], &k, &old);
    if (rc == MDB_SUCCESS) {
        if (old.mv_size < SESS_HDR) {
            return QM_ECORRUPT;
        }
        int64_t old_ms = (int64_t)fsm__be64_get((uint8_t *)old.mv_data + 8);
        int rv = fsm__exp_put(c, FSM_DB_SESS_EXP, old_ms, session, false);
        if (rv != QM_OK) {
            return rv;
        }
    } else if (rc == MDB_NOTFOUND) {
        MDB_stat st;
        rc = mdb_stat(c->txn, f->dbi[FSM_DB_SESSIONS], &st);
        if (rc != MDB_SUCCESS) {
            return fsm__err_from_mdb(rc);
        }
        if (st.ms_entries >= f->max_sessions) {
            int rv = evict_oldest(c);
            if (rv != QM_OK) {
                return rv;
            }
        }
    } else {
        return fsm__err_from_mdb(rc);
    }

    /* Write the record in place with MDB_RESERVE: no scratch copy. */
    MDB_val v = {SESS_HDR + result.n, NULL};
    rc = mdb_put(c->txn, f->dbi[FSM_DB_SESSIONS], &k, &v, MDB_RESERVE);
    if (rc != MDB_SUCCESS) {
        return fsm__err_from_mdb(rc);
    }
    uint8_t *p = v.mv_data;
    fsm__be64_put(p, seq);
    fsm__be64_put(p + 8, (uint64_t)c->now);
    memcpy(p + SESS_HDR, result.p, result.n);
    return fsm__exp_put(c, FSM_DB_SESS_EXP, c->now, session, true);
}

int fsm__session_expire(struct fsm_ctx *c)
{
    for (;;) {
        int64_t last_ms;
        uint64_t session;
        int rv = fsm__exp_first(c, FSM_DB_SESS_EXP, &last_ms, &session);
        if (rv != QM_OK) {
            return rv == QM_NOT_FOUND ? QM_OK : rv;
        }
        if (last_ms > c->now - c->f->session_ttl_ms) {
            return QM_OK;
        }
        rv = del_session(c, session, last_ms);
        if (rv != QM_OK) {
            return rv;
        }
    }
}

int64_t fsm__session_next_expiry(struct fsm *f, MDB_txn *txn)
{
    int64_t last_ms = fsm__exp_next(f, txn, FSM_DB_SESS_EXP);
    return last_ms == INT64_MAX ? INT64_MAX : last_ms + f->session_ttl_ms;
}
