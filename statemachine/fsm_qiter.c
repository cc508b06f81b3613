#include "fsm_qiter.h"

#include <string.h>

#include "qm_err.h"

bool fsm_req_starving(const struct tp_qsettings *s,
                      const struct fsm_req *r,
                      int64_t now)
{
    return r->qtier != TP_QTIER_DEFERRED && now - r->enq_ms >= s->starve_ms;
}

static int open_cursor(struct fsm_ctx *c, int db, MDB_cursor **out)
{
    return fsm__err_from_mdb(mdb_cursor_open(c->txn, c->f->dbi[db], out));
}

int fsm__qiter_open(struct fsm_qiter *it,
                    struct fsm_ctx *c,
                    const struct tp_qsettings *s,
                    bool deferred)
{
    memset(it, 0, sizeof(*it));
    it->c = c;
    it->s = s;
    it->deferred = deferred;
    /* Deferred requests never starve: the walk skips none. */
    int rv = open_cursor(c, FSM_DB_Q_ENQ_ND, &it->enq);
    if (rv == QM_OK) {
        rv = open_cursor(c, FSM_DB_Q_GROW, &it->grow);
    }
    if (rv == QM_OK) {
        rv = open_cursor(c, FSM_DB_Q_CAP, &it->cap);
    }
    if (rv != QM_OK) {
        fsm__qiter_close(it);
        return rv;
    }
    /* Start the starving phase at the oldest queued request. */
    MDB_val v;
    int rc = mdb_cursor_get(it->enq, &it->ek, &v, MDB_FIRST);
    it->e_ok = rc == MDB_SUCCESS;
    return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? QM_OK
                                                   : fsm__err_from_mdb(rc);
}

void fsm__qiter_close(struct fsm_qiter *it)
{
    if (it->enq != NULL) {
        mdb_cursor_close(it->enq);
    }
    if (it->grow != NULL) {
        mdb_cursor_close(it->grow);
    }
    if (it->cap != NULL) {
        mdb_cursor_close(it->cap);
    }
    it->enq = it->grow = it->cap = NULL;
}

/* Position a tier cursor at the first entry of @tier. */
static bool seek_tier(MDB_cursor *cur, uint64_t tier, MDB_val *k)
{
    uint8_t t = (uint8_t)tier;
    MDB_val v;
    k->mv_size = 1;
    k->mv_data = &t;
    int rc = mdb_cursor_get(cur, k, &v, MDB_SET_RANGE);
    return rc == MDB_SUCCESS && k->mv_size == 17 &&
           ((const uint8_t *)k->mv_data)[0] == tier;
}

static bool step(MDB_cursor *cur, uint64_t tier, MDB_val *k)
{
    MDB_val v;
    int rc = mdb_cursor_get(cur, k, &v, MDB_NEXT);
    return rc == MDB_SUCCESS && k->mv_size == 17 &&
           ((const uint8_t *)k->mv_data)[0] == tier;
}

/* Scaled priority of a growing entry at @now, of a capped entry. */
static int64_t scaled(const MDB_val *k, bool grow, const struct fsm_qiter *it)
{
    int64_t key = (int64_t)((uint64_t)INT64_MAX -
                            fsm__be64_get((const uint8_t *)k->mv_data + 1));
    return grow ? key + it->s->w_wait * it->c->now : key;
}

/* Take the better of the two tier entries; false when both are done. */
static bool take_tier_entry(struct fsm_qiter *it, uint64_t *id)
{
    bool use_g;
    if (!it->g_ok && !it->c_ok) {
        return false;
    }
    if (it->g_ok && it->c_ok) {
        int64_t pg = scaled(&it->gk, true, it), pc = scaled(&it->ck, false, it);
        uint64_t ig = fsm__be64_get((const uint8_t *)it->gk.mv_data + 9);
        uint64_t ic = fsm__be64_get((const uint8_t *)it->ck.mv_data + 9);
        use_g = pg > pc || (pg == pc && ig < ic);
    } else {
        use_g = it->g_ok;
    }
    if (use_g) {
        *id = fsm__be64_get((const uint8_t *)it->gk.mv_data + 9);
        it->g_ok = step(it->grow, it->tier, &it->gk);
    } else {
        *id = fsm__be64_get((const uint8_t *)it->ck.mv_data + 9);
        it->c_ok = step(it->cap, it->tier, &it->ck);
    }
    return true;
}

static int next_starving(struct fsm_qiter *it, uint64_t *id, struct fsm_req *r)
{
    while (it->e_ok) {
        if (it->ek.mv_size != 16) {
            return QM_ECORRUPT;
        }
        int64_t enq = (int64_t)fsm__be64_get(it->ek.mv_data);
        if (it->c->now - enq < it->s->starve_ms) {
            break; /* younger from here on */
        }
        *id = fsm__be64_get((const uint8_t *)it->ek.mv_data + 8);
        MDB_val v;
        int rc = mdb_cursor_get(it->enq, &it->ek, &v, MDB_NEXT);
        it->e_ok = rc == MDB_SUCCESS;
        if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
            return fsm__err_from_mdb(rc);
        }
        int rv = fsm__req_load(it->c, *id, r);
        if (rv != QM_OK) {
            return rv == QM_NOT_FOUND ? QM_ECORRUPT : rv;
        }
        if (fsm_req_starving(it->s, r, it->c->now)) {
            return QM_OK;
        }
    }
    return QM_NOT_FOUND;
}

int fsm__qiter_next(struct fsm_qiter *it, uint64_t *id, struct fsm_req *r)
{
    if (it->phase == 0) {
        int rv = next_starving(it, id, r);
        if (rv != QM_NOT_FOUND) {
            return rv;
        }
        it->phase = 1;
        it->tier = 0;
    }
    uint64_t last = it->deferred ? TP_QTIER_DEFERRED : TP_QTIER_BATCH;
    for (;;) {
        while (take_tier_entry(it, id)) {
            int rv = fsm__req_load(it->c, *id, r);
            if (rv != QM_OK) {
                return rv == QM_NOT_FOUND ? QM_ECORRUPT : rv;
            }
            if (!fsm_req_starving(it->s, r, it->c->now)) {
                return QM_OK; /* starving ones came first */
            }
        }
        if (it->tier >= last) {
            return QM_NOT_FOUND;
        }
        it->tier++;
        it->g_ok = seek_tier(it->grow, it->tier, &it->gk);
        it->c_ok = seek_tier(it->cap, it->tier, &it->ck);
    }
}
