/* Client sessions: the last sequence of each session and its result, so a
 * retried command is answered, not applied twice (design.md rule 3; Raft
 * thesis §6.3). One command at a time per session: libqm keeps many
 * requests in flight by using many sessions. Sessions idle for the TTL of
 * cluster time are dropped by TICK; past the cap the idlest one goes. */
#include <string.h>

#include "fsm_internal.h"
#include "qm_err.h"

#define SESS_HDR 16 /* be64 seq, be64 last_ms */

static void exp_key(uint8_t k[16], int64_t last_ms, uint64_t session)
{
    fsm__be64_put(k, (uint64_t)last_ms);
    fsm__be64_put(k + 8, session);
}

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
    exp_key(eb, last_ms, session);
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
    MDB_cursor *cur;
    int rc = mdb_cursor_open(c->txn, c->f->dbi[FSM_DB_SESS_EXP], &cur);
    if (rc != MDB_SUCCESS) {
        return fsm__err_from_mdb(rc);
    }
    MDB_val k, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    mdb_cursor_close(cur);
    if (rc != MDB_SUCCESS || k.mv_size != 16) {
        return rc == MDB_NOTFOUND ? QM_OK : QM_ECORRUPT;
    }
    const uint8_t *p = k.mv_data;
    return del_session(c, fsm__be64_get(p + 8), (int64_t)fsm__be64_get(p));
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
        uint8_t eb[16];
        int64_t old_ms = (int64_t)fsm__be64_get((uint8_t *)old.mv_data + 8);
        exp_key(eb, old_ms, session);
        MDB_val e = {sizeof(eb), eb};
        rc = mdb_del(c->txn, f->dbi[FSM_DB_SESS_EXP], &e, NULL);
        if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
            return fsm__err_from_mdb(rc);
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

    uint8_t eb[16];
    exp_key(eb, c->now, session);
    MDB_val e = {sizeof(eb), eb};
    MDB_val empty = {0, NULL};
    rc = mdb_put(c->txn, f->dbi[FSM_DB_SESS_EXP], &e, &empty, 0);
    return fsm__err_from_mdb(rc);
}

int fsm__session_expire(struct fsm_ctx *c)
{
    struct fsm *f = c->f;
    for (;;) {
        MDB_cursor *cur;
        int rc = mdb_cursor_open(c->txn, f->dbi[FSM_DB_SESS_EXP], &cur);
        if (rc != MDB_SUCCESS) {
            return fsm__err_from_mdb(rc);
        }
        MDB_val k, v;
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        mdb_cursor_close(cur);
        if (rc == MDB_NOTFOUND) {
            return QM_OK;
        }
        if (rc != MDB_SUCCESS || k.mv_size != 16) {
            return rc != MDB_SUCCESS ? fsm__err_from_mdb(rc) : QM_ECORRUPT;
        }
        const uint8_t *p = k.mv_data;
        int64_t last_ms = (int64_t)fsm__be64_get(p);
        if (last_ms > c->now - f->session_ttl_ms) {
            return QM_OK;
        }
        int rv = del_session(c, fsm__be64_get(p + 8), last_ms);
        if (rv != QM_OK) {
            return rv;
        }
    }
}

int64_t fsm__session_next_expiry(struct fsm *f, MDB_txn *txn)
{
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, f->dbi[FSM_DB_SESS_EXP], &cur) != MDB_SUCCESS) {
        return INT64_MAX;
    }
    MDB_val k, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    mdb_cursor_close(cur);
    if (rc != MDB_SUCCESS || k.mv_size != 16) {
        return INT64_MAX;
    }
    return (int64_t)fsm__be64_get(k.mv_data) + f->session_ttl_ms;
}
