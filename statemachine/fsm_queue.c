/* The queue model: request records, settings, priority arithmetic, the
 * priority indexes with their growing/capped split, counters, fairness.
 * See fsm_queue.h for the scheme. */
#include "fsm_queue.h"

#include <stdio.h>
#include <string.h>

#include "fsm_money.h"
#include "qm_err.h"

static const struct tp_qsettings defaults = {
    .w_tier = 1000,
    .w_urgency = 1000,
    .w_wait = 1000,
    .w_fair = 1000,
    .aging_ms = 30000,            /* 20 wait points in 10 minutes */
    .fair_half_life_ms = 3600000, /* an hour */
    .fair_scale = 10,             /* 10 recent dispatches: 5 points */
    .starve_ms = 600000,          /* 10 minutes */
    .alert_queue_len = 1000,
    .offpeak_start_min = 0, /* 00:00-06:00 UTC */
    .offpeak_end_min = 360,
    .lease_ms = 60000,
    .max_attempts = 3,
};

static const struct qm_field req_fields[] = {
    QM_STR(struct fsm_req, 0, client, QM_FF_REQ | QM_FF_NAME),
    QM_U64(struct fsm_req, 1, qtier, QM_FF_REQ, 1, TP_QTIERS),
    QM_U64(struct fsm_req, 2, state, QM_FF_REQ, 1, TP_QSTATES),
    QM_I64(struct fsm_req, 3, urgency, 0, 0, 30),
    QM_I64(struct fsm_req, 4, tier_pts, 0, 0, 40),
    QM_I64(struct fsm_req, 5, fair_m, 0, 0, 10000),
    QM_I64(struct fsm_req, 6, enq_ms, 0, 0, QM_TIME_MAX),
    QM_I64(struct fsm_req, 7, deadline_ms, 0, 0, QM_TIME_MAX),
    QM_U64(struct fsm_req, 8, attempts, 0, 0, QM_ATTEMPTS_MAX),
    QM_U64(struct fsm_req, 9, max_attempts, 0, 0, QM_ATTEMPTS_MAX),
    QM_STR(struct fsm_req, 10, worker, QM_FF_NAME),
    QM_I64(struct fsm_req, 11, lease_ms, 0, 0, QM_RES_TTL_MAX_MS),
    QM_I64(struct fsm_req, 12, lease_exp_ms, 0, 0, QM_TIME_MAX),
    QM_U64(struct fsm_req, 13, reservation, 0, 0, UINT64_MAX),
    QM_LIST(struct fsm_req, 14, needs, nneeds, tp_amount_schema, 0),
    QM_BIN(struct fsm_req, 15, payload, 0, QM_PAYLOAD_MAX),
    QM_I64(struct fsm_req, 16, finished_ms, 0, 0, QM_TIME_MAX),
    QM_STR(struct fsm_req, 17, reason, QM_FF_TEXT),
};
static QM_SCHEMA(req_schema, struct fsm_req, req_fields);

/* ---- settings and records ---- */

int fsm__qsettings(struct fsm_ctx *c, struct tp_qsettings *out)
{
    static const char key[] = "qsettings";
    int rv = fsm__get_rec(c, FSM_DB_META, key, sizeof(key) - 1,
                          &tp_qsettings_schema, out);
    if (rv == QM_NOT_FOUND) {
        *out = defaults;
        return QM_OK;
    }
    return rv;
}

int fsm__qsettings_store(struct fsm_ctx *c, const struct tp_qsettings *s)
{
    static const char key[] = "qsettings";
    return fsm__put_rec(c, FSM_DB_META, key, sizeof(key) - 1,
                        &tp_qsettings_schema, s);
}

int fsm__req_load(struct fsm_ctx *c, uint64_t id, struct fsm_req *r)
{
    uint8_t k[8];
    fsm__be64_put(k, id);
    return fsm__get_rec(c, FSM_DB_REQS, k, sizeof(k), &req_schema, r);
}

int fsm__req_store(struct fsm_ctx *c, uint64_t id, const struct fsm_req *r)
{
    uint8_t k[8];
    fsm__be64_put(k, id);
    /* Records can hold a 64 KiB payload: encode with room for it. */
    struct qm_buf *b = &c->f->recbuf;
    qm_buf_reset(b);
    if (qm_encode(&req_schema, r, b) != QM_OK) {
        return QM_ENOMEM;
    }
    return fsm__put(c, FSM_DB_REQS, k, sizeof(k), b->data, b->len);
}

int fsm__req_delete(struct fsm_ctx *c, uint64_t id)
{
    uint8_t k[8];
    fsm__be64_put(k, id);
    MDB_val kv = {sizeof(k), k};
    return fsm__err_from_mdb(
        mdb_del(c->txn, c->f->dbi[FSM_DB_REQS], &kv, NULL));
}

/* ---- priority ---- */

int64_t fsm_req_static(const struct tp_qsettings *s, const struct fsm_req *r)
{
    return s->w_tier * r->tier_pts + s->w_urgency * r->urgency +
           s->w_fair * r->fair_m / 1000;
}

int64_t fsm_req_priority(const struct tp_qsettings *s,
                         const struct fsm_req *r,
                         int64_t now)
{
    int64_t waited = now > r->enq_ms ? now - r->enq_ms : 0;
    int64_t cap = s->w_wait * FSM_WAIT_CAP;
    int64_t wait = waited >= FSM_WAIT_CAP * s->aging_ms
                       ? cap
                       : s->w_wait * waited / s->aging_ms;
    return fsm_req_static(s, r) + (wait < cap ? wait : cap);
}

static bool capped(const struct tp_qsettings *s,
                   const struct fsm_req *r,
                   int64_t now)
{
    return now - r->enq_ms >= FSM_WAIT_CAP * s->aging_ms;
}

/* Scaled priority keys: growing requests by k = static x aging - w_wait x
 * enqueued (their priority x aging is k + w_wait x now), capped ones by
 * their final priority x aging. */
static int64_t grow_key(const struct tp_qsettings *s, const struct fsm_req *r)
{
    return fsm_req_static(s, r) * s->aging_ms - s->w_wait * r->enq_ms;
}

static int64_t cap_key(const struct tp_qsettings *s, const struct fsm_req *r)
{
    return (fsm_req_static(s, r) + s->w_wait * FSM_WAIT_CAP) * s->aging_ms;
}

/* qtier, then the key descending (best first), then the id ascending. */
static void prio_key(uint8_t k[17], uint64_t qtier, int64_t key, uint64_t id)
{
    k[0] = (uint8_t)qtier;
    fsm__be64_put(k + 1, (uint64_t)INT64_MAX - (uint64_t)key);
    fsm__be64_put(k + 9, id);
}

static int del_key(struct fsm_ctx *c, int db, const void *key, size_t n)
{
    MDB_val k = {n, (void *)key};
    int rc = mdb_del(c->txn, c->f->dbi[db], &k, NULL);
    return rc == MDB_NOTFOUND ? QM_OK : fsm__err_from_mdb(rc);
}

int fsm__q_insert(struct fsm_ctx *c,
                  const struct tp_qsettings *s,
                  uint64_t id,
                  const struct fsm_req *r)
{
    uint8_t pk[17], ek[16], qt = (uint8_t)r->qtier;
    bool cap = capped(s, r, c->now);
    prio_key(pk, r->qtier, cap ? cap_key(s, r) : grow_key(s, r), id);
    fsm__exp_key(ek, r->enq_ms, id);
    int rv =
        fsm__put(c, cap ? FSM_DB_Q_CAP : FSM_DB_Q_GROW, pk, sizeof(pk), "", 0);
    if (rv == QM_OK) {
        rv = fsm__put(c, FSM_DB_Q_ENQ, ek, sizeof(ek), &qt, 1);
    }
    if (rv == QM_OK && r->qtier != TP_QTIER_DEFERRED) {
        rv = fsm__put(c, FSM_DB_Q_ENQ_ND, ek, sizeof(ek), "", 0);
    }
    if (rv == QM_OK && r->deadline_ms > 0) {
        rv = fsm__exp_put(c, FSM_DB_Q_DEADLINE, r->deadline_ms, id, true);
    }
    return rv;
}

int fsm__q_remove(struct fsm_ctx *c,
                  const struct tp_qsettings *s,
                  uint64_t id,
                  const struct fsm_req *r)
{
    uint8_t gk[17], ck[17], ek[16];
    prio_key(gk, r->qtier, grow_key(s, r), id);
    prio_key(ck, r->qtier, cap_key(s, r), id);
    fsm__exp_key(ek, r->enq_ms, id);
    int rv = del_key(c, FSM_DB_Q_GROW, gk, sizeof(gk));
    if (rv == QM_OK) {
        rv = del_key(c, FSM_DB_Q_CAP, ck, sizeof(ck));
    }
    if (rv == QM_OK) {
        rv = del_key(c, FSM_DB_Q_ENQ, ek, sizeof(ek));
    }
    if (rv == QM_OK) {
        rv = del_key(c, FSM_DB_Q_ENQ_ND, ek, sizeof(ek));
    }
    if (rv == QM_OK && r->deadline_ms > 0) {
        rv = fsm__exp_put(c, FSM_DB_Q_DEADLINE, r->deadline_ms, id, false);
    }
    return rv;
}

/* ---- the growing-to-capped move ---- */

static const char cursor_key[] = "q_cap_cursor";

int fsm__q_migrate(struct fsm_ctx *c, const struct tp_qsettings *s)
{
    int64_t limit = c->now - FSM_WAIT_CAP * s->aging_ms;
    struct fsm_resume w;
    int rv = fsm__resume_open(c, FSM_DB_Q_ENQ, cursor_key, &w);
    if (rv != QM_OK) {
        return rv;
    }
    bool moved = false;
    uint8_t last[16];
    for (; w.rc == MDB_SUCCESS && rv == QM_OK; fsm__resume_next(&w)) {
        if (w.k.mv_size != 16) {
            rv = QM_ECORRUPT;
            break;
        }
        if ((int64_t)fsm__be64_get(w.k.mv_data) > limit) {
            break;
        }
        memcpy(last, w.k.mv_data, sizeof(last));
        moved = true;
        uint64_t id = fsm__be64_get((const uint8_t *)w.k.mv_data + 8);
        struct fsm_req r;
        rv = fsm__req_load(c, id, &r);
        if (rv != QM_OK) {
            rv = rv == QM_NOT_FOUND ? QM_ECORRUPT : rv;
            break;
        }
        uint8_t gk[17], ck[17];
        prio_key(gk, r.qtier, grow_key(s, &r), id);
        prio_key(ck, r.qtier, cap_key(s, &r), id);
        rv = del_key(c, FSM_DB_Q_GROW, gk, sizeof(gk));
        if (rv == QM_OK) {
            rv = fsm__put(c, FSM_DB_Q_CAP, ck, sizeof(ck), "", 0);
        }
    }
    mdb_cursor_close(w.mc);
    if (rv == QM_OK && w.rc != MDB_SUCCESS && w.rc != MDB_NOTFOUND) {
        rv = fsm__err_from_mdb(w.rc);
    }
    if (rv == QM_OK && moved) {
        rv = fsm__resume_save(c, cursor_key, last);
    }
    return rv;
}

int64_t fsm__q_next_cap(struct fsm_ctx *c, const struct tp_qsettings *s)
{
    int64_t next = INT64_MAX;
    struct fsm_resume w;
    if (fsm__resume_open(c, FSM_DB_Q_ENQ, cursor_key, &w) != QM_OK) {
        return next;
    }
    if (w.rc == MDB_SUCCESS && w.k.mv_size == 16) {
        next = (int64_t)fsm__be64_get(w.k.mv_data) + FSM_WAIT_CAP * s->aging_ms;
    }
    mdb_cursor_close(w.mc);
    return next;
}

int fsm__q_reindex(struct fsm_ctx *c, const struct tp_qsettings *s)
{
    int rv = fsm__err_from_mdb(mdb_drop(c->txn, c->f->dbi[FSM_DB_Q_GROW], 0));
    if (rv == QM_OK) {
        rv = fsm__err_from_mdb(mdb_drop(c->txn, c->f->dbi[FSM_DB_Q_CAP], 0));
    }
    if (rv == QM_OK) {
        rv = del_key(c, FSM_DB_META, cursor_key, sizeof(cursor_key) - 1);
    }
    MDB_cursor *mc;
    int rc = rv == QM_OK ? mdb_cursor_open(c->txn, c->f->dbi[FSM_DB_Q_ENQ], &mc)
                         : MDB_SUCCESS;
    if (rv != QM_OK || rc != MDB_SUCCESS) {
        return rv != QM_OK ? rv : fsm__err_from_mdb(rc);
    }
    MDB_val k, v;
    for (rc = mdb_cursor_get(mc, &k, &v, MDB_FIRST);
         rc == MDB_SUCCESS && rv == QM_OK;
         rc = mdb_cursor_get(mc, &k, &v, MDB_NEXT)) {
        uint64_t id = fsm__be64_get((const uint8_t *)k.mv_data + 8);
        struct fsm_req r;
        rv = fsm__req_load(c, id, &r);
        if (rv == QM_OK) {
            uint8_t pk[17];
            bool cap = capped(s, &r, c->now);
            prio_key(pk, r.qtier, cap ? cap_key(s, &r) : grow_key(s, &r), id);
            rv = fsm__put(c, cap ? FSM_DB_Q_CAP : FSM_DB_Q_GROW, pk, sizeof(pk),
                          "", 0);
        }
    }
    mdb_cursor_close(mc);
    if (rv == QM_OK && rc != MDB_NOTFOUND) {
        rv = fsm__err_from_mdb(rc);
    }
    return rv;
}

/* ---- counters ---- */

int fsm_qcount_of_state(uint64_t state)
{
    switch (state) {
        case TP_QSTATE_QUEUED:
            return FSM_QC_QUEUED;
        case TP_QSTATE_RUNNING:
            return FSM_QC_RUNNING;
        case TP_QSTATE_DONE:
            return FSM_QC_DONE;
        case TP_QSTATE_FAILED:
            return FSM_QC_FAILED;
        default:
            return FSM_QC_CANCELLED;
    }
}

int fsm__q_stats(struct fsm_ctx *c, uint64_t qtier, uint64_t out[FSM_QC_COUNT])
{
    uint8_t k = (uint8_t)qtier;
    MDB_val v;
    memset(out, 0, FSM_QC_COUNT * sizeof(out[0]));
    int rv = fsm__get(c, FSM_DB_Q_STATS, &k, 1, &v);
    if (rv == QM_NOT_FOUND) {
        return QM_OK;
    }
    if (rv == QM_OK && v.mv_size != FSM_QC_COUNT * 8) {
        return QM_ECORRUPT;
    }
    for (int i = 0; rv == QM_OK && i < FSM_QC_COUNT; i++) {
        out[i] = fsm__be64_get((const uint8_t *)v.mv_data + 8 * i);
    }
    return rv;
}

int fsm__q_count(struct fsm_ctx *c, uint64_t qtier, int which, int64_t delta)
{
    uint64_t n[FSM_QC_COUNT];
    int rv = fsm__q_stats(c, qtier, n);
    if (rv != QM_OK) {
        return rv;
    }
    n[which] = delta < 0 && n[which] < (uint64_t)-delta
                   ? 0
                   : n[which] + (uint64_t)delta;
    uint8_t k = (uint8_t)qtier, v[FSM_QC_COUNT * 8];
    for (int i = 0; i < FSM_QC_COUNT; i++) {
        fsm__be64_put(v + 8 * i, n[i]);
    }
    return fsm__put(c, FSM_DB_Q_STATS, &k, 1, v, sizeof(v));
}

int fsm__q_waiting_nondeferred(struct fsm_ctx *c, uint64_t *total)
{
    *total = 0;
    for (uint64_t t = TP_QTIER_IMMEDIATE; t < TP_QTIER_DEFERRED; t++) {
        uint64_t n[FSM_QC_COUNT];
        int rv = fsm__q_stats(c, t, n);
        if (rv != QM_OK) {
            return rv;
        }
        *total += n[FSM_QC_QUEUED];
    }
    return QM_OK;
}

/* ---- fairness ---- */

/* 2^(-i/64) in Q30, for the decay of a client's use (integers only, so
 * every replica computes the same). */
static const uint32_t pow2neg[64] = {
    1073741824, 1062175491, 1050733751, 1039415261, 1028218693, 1017142735,
    1006186087, 995347464,  984625594,  974019220,  963527098,  953147997,
    942880699,  932724001,  922676710,  912737649,  902905651,  893179563,
    883558244,  874040567,  864625413,  855311680,  846098274,  836984114,
    827968132,  819049271,  810226483,  801498734,  792865000,  784324269,
    775875538,  767517817,  759250125,  751071493,  742980960,  734977579,
    727060411,  719228525,  711481005,  703816941,  696235434,  688735596,
    681316545,  673977412,  666717336,  659535466,  652430958,  645402981,
    638450708,  631573326,  624770026,  618040012,  611382493,  604796689,
    598281827,  591837143,  585461881,  579155293,  572916640,  566745190,
    560640218,  554601009,  548626854,  542717053,
};

/* @u halved for every @half of @dt (to 1/64 of a half-life). */
static int64_t decay(int64_t u, int64_t dt, int64_t half)
{
    if (dt <= 0 || u <= 0) {
        return u;
    }
    int64_t k = dt / half;
    if (k >= 62) {
        return 0;
    }
    u >>= k;
    int64_t i = (dt % half) * 64 / half;
    __extension__ typedef __int128 i128;
    return (int64_t)(((i128)u * pow2neg[i]) >> 30);
}

/* A client's use: milli-dispatches, as of a time. */
static int use_load(struct fsm_ctx *c,
                    const char *client,
                    int64_t *u,
                    int64_t *at)
{
    MDB_val v;
    int rv = fsm__get(c, FSM_DB_Q_FAIR, client, strlen(client), &v);
    if (rv == QM_NOT_FOUND) {
        *u = 0;
        *at = c->now;
        return QM_OK;
    }
    if (rv == QM_OK && v.mv_size != 16) {
        return QM_ECORRUPT;
    }
    if (rv == QM_OK) {
        *u = (int64_t)fsm__be64_get(v.mv_data);
        *at = (int64_t)fsm__be64_get((const uint8_t *)v.mv_data + 8);
    }
    return rv;
}

int fsm__fairness(struct fsm_ctx *c,
                  const struct tp_qsettings *s,
                  const char *client,
                  int64_t *fair_m)
{
    int64_t u, at;
    int rv = use_load(c, client, &u, &at);
    if (rv == QM_OK) {
        u = decay(u, c->now - at, s->fair_half_life_ms);
        /* 10 points, halved when the recent use equals the scale */
        int64_t scale = s->fair_scale * 1000;
        *fair_m = 10000 * scale / (scale + u);
    }
    return rv;
}

int fsm__fair_dispatched(struct fsm_ctx *c,
                         const struct tp_qsettings *s,
                         const char *client)
{
    int64_t u, at;
    int rv = use_load(c, client, &u, &at);
    if (rv != QM_OK) {
        return rv;
    }
    u = decay(u, c->now - at, s->fair_half_life_ms) + 1000;
    uint8_t v[16];
    fsm__be64_put(v, (uint64_t)u);
    fsm__be64_put(v + 8, (uint64_t)c->now);
    return fsm__put(c, FSM_DB_Q_FAIR, client, strlen(client), v, sizeof(v));
}

bool fsm_offpeak(const struct tp_qsettings *s, int64_t now)
{
    int64_t m = now / 60000 % (24 * 60);
    int64_t a = s->offpeak_start_min, b = s->offpeak_end_min;
    if (a == b) {
        return false;
    }
    return a < b ? m >= a && m < b : m >= a || m < b;
}

/* ---- running and finished ---- */

int fsm__q_run_add(struct fsm_ctx *c, uint64_t id, int64_t lease_exp_ms)
{
    return fsm__exp_put(c, FSM_DB_Q_RUN, lease_exp_ms, id, true);
}

int fsm__q_run_del(struct fsm_ctx *c, uint64_t id, int64_t lease_exp_ms)
{
    return fsm__exp_put(c, FSM_DB_Q_RUN, lease_exp_ms, id, false);
}

/* Move the state counters of @r's tier along with its state. */
static int set_state(struct fsm_ctx *c, struct fsm_req *r, uint64_t state)
{
    int rv = fsm__q_count(c, r->qtier, fsm_qcount_of_state(r->state), -1);
    if (rv == QM_OK) {
        rv = fsm__q_count(c, r->qtier, fsm_qcount_of_state(state), 1);
    }
    r->state = state;
    return rv;
}

int fsm__q_finish(struct fsm_ctx *c,
                  uint64_t id,
                  struct fsm_req *r,
                  uint64_t state,
                  const char *reason)
{
    int rv = set_state(c, r, state);
    r->finished_ms = c->now;
    r->lease_exp_ms = 0;
    r->reservation = 0;
    if (reason != NULL) {
        snprintf(r->reason, sizeof(r->reason), "%s", reason);
    }
    if (rv == QM_OK) {
        rv = fsm__req_store(c, id, r);
    }
    if (rv == QM_OK) {
        rv = fsm__exp_put(c, FSM_DB_Q_DONE, c->now, id, true);
    }
    return rv;
}

int fsm__q_requeue(struct fsm_ctx *c,
                   const struct tp_qsettings *s,
                   uint64_t id,
                   struct fsm_req *r,
                   const char *reason,
                   bool *requeued)
{
    *requeued = false;
    char why[QM_REASON_MAX + 1];
    if (r->attempts >= r->max_attempts) {
        snprintf(why, sizeof(why), "out of attempts (%llu): %s",
                 (unsigned long long)r->attempts, reason);
        return fsm__q_finish(c, id, r, TP_QSTATE_FAILED, why);
    }
    if (r->deadline_ms > 0 && r->deadline_ms <= c->now) {
        snprintf(why, sizeof(why), "deadline passed after: %s", reason);
        return fsm__q_finish(c, id, r, TP_QSTATE_FAILED, why);
    }
    int rv = set_state(c, r, TP_QSTATE_QUEUED);
    r->worker[0] = '\0';
    r->lease_exp_ms = 0;
    r->reservation = 0;
    snprintf(r->reason, sizeof(r->reason), "%s", reason);
    if (rv == QM_OK) {
        rv = fsm__req_store(c, id, r);
    }
    if (rv == QM_OK) {
        rv = fsm__q_insert(c, s, id, r);
    }
    *requeued = rv == QM_OK;
    return rv;
}

void fsm_req_info(const struct tp_qsettings *s,
                  uint64_t id,
                  const struct fsm_req *r,
                  int64_t now,
                  struct tp_req_info *out)
{
    memset(out, 0, sizeof(*out));
    out->id = id;
    memcpy(out->client, r->client, sizeof(out->client));
    out->qtier = r->qtier;
    out->urgency = r->urgency;
    out->state = r->state;
    /* A request stops aging when it leaves the queue: show the priority it
     * had then. */
    int64_t at = now;
    if (r->state == TP_QSTATE_RUNNING) {
        at = r->lease_exp_ms - r->lease_ms;
    } else if (r->state != TP_QSTATE_QUEUED) {
        at = r->finished_ms;
    }
    out->priority = fsm_req_priority(s, r, at < now ? at : now);
    out->attempts = r->attempts;
    out->max_attempts = r->max_attempts;
    out->enqueued_ms = r->enq_ms;
    out->deadline_ms = r->deadline_ms;
    memcpy(out->worker, r->worker, sizeof(out->worker));
    out->lease_expires_ms = r->lease_exp_ms;
    out->reservation = r->reservation;
    out->nneeds = r->nneeds;
    memcpy(out->needs, r->needs, sizeof(out->needs));
    out->finished_ms = r->finished_ms;
    memcpy(out->reason, r->reason, sizeof(out->reason));
}
