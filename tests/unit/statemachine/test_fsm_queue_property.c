/* Property test of the queues: from a fixed seed, thousands of random
 * operations (submits with random clients, tiers, urgency, needs and
 * deadlines; leases, completes, fails, cancels, ticks at increasing random
 * times, settings changes) applied through raft entries to two databases.
 * A brute-force model, written from the documentation (fsm_queue.h and
 * th_queue.h), computes every queued request's priority at each lease and
 * checks that the lease took the best request it could reserve, in dispatch
 * order, and never one that is running. At the end every request is in
 * exactly one state, the counters equal a recount, the two databases have
 * the same digest, and so does a snapshot restored into a third, which then
 * goes on like the first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsm.h"
#include "qm_alloc.h"
#include "qm_err.h"
#include "qm_limits.h"
#include "th_cmocka.h"
#include "th_fsm.h"
#include "th_ledger.h"
#include "th_log.h"
#include "th_msg.h"
#include "th_queue.h"
#include "th_rng.h"

/* ---- Fixture ---- */

#define T0 1709294400000LL /* 2024-03-01 12:00 UTC */
#define U QM_MILLI
#define HOUR 3600000LL
#define OPS 20000
#define MAXREQ 8192
#define TRIES 64 /* candidates a lease looks at (fsm_op_dispatch.c) */
#define NCLIENTS 6
#define NPOOLS 3

static const char *const client_names[NCLIENTS] = {"c0", "c1", "c2",
                                                   "c3", "c4", "c5"};
static const uint64_t client_tiers[NCLIENTS] = {
    TP_TIER_ENTERPRISE, TP_TIER_PREMIUM,  TP_TIER_STANDARD,
    TP_TIER_BASIC,      TP_TIER_STANDARD, TP_TIER_BASIC};
/* Seed 004 defaults (fsm_client.c): tier points and open reservations. */
static const int64_t tier_pts[TP_TIERS + 1] = {0, 40, 30, 20, 10};
static const uint64_t tier_conc[TP_TIERS + 1] = {0, 100, 50, 20, 5};
static const char *const pool_names[NPOOLS] = {"p0", "p1", "p2"};
static const int64_t pool_cap[NPOOLS] = {60 * U, 40 * U, 200 * U};

/* The model's view of one request. */
struct mreq
{
    int client;
    uint64_t qtier, state, attempts, max_attempts;
    int64_t urgency, tpts, fair_m, enq, deadline, lease_exp, finished;
    uint32_t nneeds;
    int pool[2];
    int64_t amount[2];
    bool purged;
};

struct model
{
    int64_t now;
    struct tp_qsettings s;
    uint32_t n; /* requests 1..n */
    struct mreq r[MAXREQ + 1];
    int64_t tokens[NPOOLS];
    uint64_t open[NCLIENTS];
    struct th_use use[NCLIENTS];
    uint64_t dispatched[TP_QTIERS + 1], timeouts[TP_QTIERS + 1];
};

/* A queued request's place in dispatch order. */
struct okey
{
    uint32_t id;
    int phase; /* 0 starving, 1 by tier */
    uint64_t qtier;
    int64_t enq, prio;
};

struct fx
{
    struct th_fsm *a, *b, *c; /* c: restored from a snapshot */
    struct model m;
    struct th_rng rng;
    uint8_t res[TH_RES_MAX]; /* the last result, as a returned */
    size_t res_len;
    struct tp_req_page *page;
    struct okey *order; /* MAXREQ of them */
    /* What the run covered. */
    uint64_t leases, denied, positions, completes;
    uint64_t starving, deferred, skipped; /* kinds of leases */
    int64_t max_units;                    /* the largest need, in units */
};

/* Apply one command to a and b (and c once restored) and check they answer
 * the same bytes; decode into @body; the status. */
static int drive(struct fx *fx,
                 uint32_t op,
                 const struct qm_schema *as,
                 const void *args,
                 const struct qm_schema *bs,
                 void *body)
{
    struct th_cmd cmd;
    th_cmd_make(&cmd, op, 0, 0, as, args);
    struct qm_buf e;
    qm_buf_init(&e);
    th_entry_make(&e, fx->m.now, &cmd, 1);
    struct th_fsm *dbs[3] = {fx->a, fx->b, fx->c};
    for (int i = 0; i < 3 && dbs[i] != NULL; i++) {
        const struct fsm_results *res = th_fsm_apply_raw(dbs[i], e.data, e.len);
        assert_int_equal(res->n, 1);
        if (i == 0) {
            assert_true(res->items[0].n <= sizeof(fx->res));
            memcpy(fx->res, res->items[0].p, res->items[0].n);
            fx->res_len = res->items[0].n;
        } else {
            assert_int_equal(res->items[0].n, fx->res_len);
            assert_memory_equal(res->items[0].p, fx->res, fx->res_len);
        }
    }
    qm_buf_close(&e);
    struct tp_result r;
    struct qm_span raw = {fx->res, fx->res_len};
    return th_result_decode(raw, &r, bs, body);
}

static int setup(void **state)
{
    th_log_capture();
    struct fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->a = th_fsm_new();
    fx->b = th_fsm_new();
    fx->page = malloc(sizeof(*fx->page));
    assert_non_null(fx->page);
    fx->order = malloc(MAXREQ * sizeof(*fx->order));
    assert_non_null(fx->order);
    fx->m.now = T0;
    th_qsettings_defaults(&fx->m.s);
    for (int i = 0; i < NCLIENTS; i++) {
        struct tp_client_create cc;
        memset(&cc, 0, sizeof(cc));
        snprintf(cc.id, sizeof(cc.id), "%s", client_names[i]);
        cc.tier = client_tiers[i];
        assert_int_equal(drive(fx, TP_OP_CLIENT_CREATE,
                               &tp_client_create_schema, &cc, NULL, NULL),
                         QM_OK);
    }
    for (int p = 0; p < NPOOLS; p++) {
        struct tp_pool_create pc;
        th_pool_create_args(&pc, pool_names[p], pool_cap[p], 0, 0);
        assert_int_equal(drive(fx, TP_OP_POOL_CREATE, &tp_pool_create_schema,
                               &pc, NULL, NULL),
                         QM_OK);
        fx->m.tokens[p] = pool_cap[p];
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    th_fsm_free(fx->a);
    th_fsm_free(fx->b);
    th_fsm_free(fx->c);
    free(fx->page);
    free(fx->order);
    free(fx);
    th_log_release();
    return 0;
}

/* ---- Helpers: the model ---- */

static int64_t rnd(struct fx *fx, int64_t lo, int64_t hi)
{
    return lo + (int64_t)th_rng_below(&fx->rng, (uint64_t)(hi - lo + 1));
}

static int64_t scaled_prio(const struct model *m, const struct mreq *r)
{
    return th_prio_scaled(&m->s, r->tpts, r->urgency, r->fair_m,
                          m->now - r->enq);
}

static bool starving(const struct model *m, const struct mreq *r)
{
    return r->qtier != TP_QTIER_DEFERRED && m->now - r->enq >= m->s.starve_ms;
}

static int okey_cmp(const void *x, const void *y)
{
    const struct okey *a = x, *b = y;
    if (a->phase != b->phase) {
        return a->phase < b->phase ? -1 : 1;
    }
    if (a->phase == 0 && a->enq != b->enq) {
        return a->enq < b->enq ? -1 : 1;
    }
    if (a->phase == 1 && a->qtier != b->qtier) {
        return a->qtier < b->qtier ? -1 : 1;
    }
    if (a->phase == 1 && a->prio != b->prio) {
        return a->prio > b->prio ? -1 : 1;
    }
    return a->id < b->id ? -1 : a->id > b->id;
}

/* Every queued request in dispatch order at m->now (the deferred tier
 * only with @deferred); returns how many, ids into @out. */
static uint32_t dispatch_order(const struct model *m,
                               bool deferred,
                               struct okey *out)
{
    uint32_t n = 0;
    for (uint32_t id = 1; id <= m->n; id++) {
        const struct mreq *r = &m->r[id];
        if (r->state != TP_QSTATE_QUEUED ||
            (!deferred && r->qtier == TP_QTIER_DEFERRED)) {
            continue;
        }
        struct okey k = {id, starving(m, r) ? 0 : 1, r->qtier, r->enq,
                         scaled_prio(m, r)};
        out[n++] = k;
    }
    qsort(out, n, sizeof(out[0]), okey_cmp);
    return n;
}

static bool reservable(const struct model *m, const struct mreq *r)
{
    if (r->nneeds == 0) {
        return true;
    }
    if (m->open[r->client] >= tier_conc[client_tiers[r->client]]) {
        return false;
    }
    for (uint32_t i = 0; i < r->nneeds; i++) {
        if (m->tokens[r->pool[i]] < r->amount[i]) {
            return false;
        }
    }
    return true;
}

/* Give a running request's needs back. */
static void unhold(struct model *m, struct mreq *r, const int64_t *used)
{
    for (uint32_t i = 0; i < r->nneeds; i++) {
        m->tokens[r->pool[i]] += r->amount[i] - (used ? used[i] : 0);
    }
    if (r->nneeds > 0) {
        m->open[r->client]--;
    }
}

static void finish(struct model *m, struct mreq *r, uint64_t state)
{
    r->state = state;
    r->finished = m->now;
}

static void requeue(struct model *m, struct mreq *r)
{
    if (r->attempts >= r->max_attempts ||
        (r->deadline > 0 && r->deadline <= m->now)) {
        finish(m, r, TP_QSTATE_FAILED);
    } else {
        r->state = TP_QSTATE_QUEUED;
    }
}

static void expire(struct model *m, struct mreq *r)
{
    unhold(m, r, NULL);
    m->timeouts[r->qtier]++;
    requeue(m, r);
}

static void model_tick(struct model *m)
{
    for (uint32_t id = 1; id <= m->n; id++) {
        struct mreq *r = &m->r[id];
        if (r->state == TP_QSTATE_RUNNING && r->lease_exp <= m->now) {
            expire(m, r);
        }
    }
    for (uint32_t id = 1; id <= m->n; id++) {
        struct mreq *r = &m->r[id];
        if (r->state == TP_QSTATE_QUEUED && r->deadline > 0 &&
            r->deadline <= m->now) {
            finish(m, r, TP_QSTATE_FAILED);
        }
        if (r->state >= TP_QSTATE_DONE && !r->purged &&
            r->finished + HOUR <= m->now) {
            r->purged = true;
        }
    }
}

/* A request id for complete/fail/cancel: nine times in ten one in
 * @want_state (if any), else any. */
static uint32_t pick_target(struct fx *fx, uint64_t want_state)
{
    struct model *m = &fx->m;
    if (m->n == 0) {
        return 0;
    }
    uint32_t count = 0;
    for (uint32_t id = 1; id <= m->n; id++) {
        count += m->r[id].state == want_state;
    }
    if (count == 0 || rnd(fx, 0, 9) == 0) {
        return (uint32_t)rnd(fx, 1, m->n);
    }
    uint32_t k = (uint32_t)rnd(fx, 0, count - 1);
    for (uint32_t id = 1; id <= m->n; id++) {
        if (m->r[id].state == want_state && k-- == 0) {
            return id;
        }
    }
    return 0;
}

/* ---- Helpers: operations ---- */

static void op_submit(struct fx *fx)
{
    struct model *m = &fx->m;
    if (m->n == MAXREQ) {
        return;
    }
    struct mreq r;
    memset(&r, 0, sizeof(r));
    r.client = (int)rnd(fx, 0, NCLIENTS - 1);
    r.qtier = (uint64_t)(rnd(fx, 0, 9) == 0 ? TP_QTIER_DEFERRED
                                            : rnd(fx, 1, TP_QTIERS - 1));
    r.urgency = rnd(fx, 0, 30);
    struct tp_submit s;
    th_submit_args(&s, client_names[r.client], r.qtier, r.urgency);
    r.nneeds = (uint32_t)rnd(fx, 0, 2);
    int first = (int)rnd(fx, 0, NPOOLS - 1);
    for (uint32_t i = 0; i < r.nneeds; i++) {
        r.pool[i] = (first + (int)i) % NPOOLS;
        r.amount[i] = rnd(fx, 1, fx->max_units) * U + rnd(fx, 0, 999);
        th_submit_need(&s, pool_names[r.pool[i]], r.amount[i]);
    }
    int64_t rel = rnd(fx, 0, 3) == 0 ? 1000 * rnd(fx, 1, 1200) : 0;
    s.deadline_ms = rel;
    s.attempts = (uint64_t)rnd(fx, 0, 4);
    uint8_t payload[32];
    s.payload.n = (size_t)rnd(fx, 0, sizeof(payload));
    memset(payload, (int)m->n, sizeof(payload));
    s.payload.p = payload;
    struct tp_req_id out;
    assert_int_equal(drive(fx, TP_OP_QUEUE_SUBMIT, &tp_submit_schema, &s,
                           &tp_req_id_schema, &out),
                     QM_OK);
    assert_int_equal(out.id, m->n + 1);
    r.state = TP_QSTATE_QUEUED;
    r.tpts = tier_pts[client_tiers[r.client]];
    r.fair_m = th_fairness(&m->s, &m->use[r.client], m->now);
    r.enq = m->now;
    r.deadline = rel > 0 ? m->now + rel : 0;
    r.max_attempts = s.attempts > 0 ? s.attempts : (uint64_t)m->s.max_attempts;
    m->r[++m->n] = r;
    /* The reported priority is the model's: fairness included. */
    struct tp_req_info ri;
    assert_int_equal(th_req_get(fx->a, 0, out.id, &ri), QM_OK);
    assert_int_equal(ri.priority,
                     th_prio(&m->s, r.tpts, r.urgency, r.fair_m, 0));
}

static void op_lease(struct fx *fx, struct okey *order)
{
    struct model *m = &fx->m;
    uint64_t others = 0;
    for (uint32_t id = 1; id <= m->n; id++) {
        others += m->r[id].state == TP_QSTATE_QUEUED &&
                  m->r[id].qtier != TP_QTIER_DEFERRED;
    }
    bool deferred = others == 0 || th_offpeak(&m->s, m->now);
    uint32_t n = dispatch_order(m, deferred, order);
    uint32_t want = 0;
    for (uint32_t k = 0; k < n && k < TRIES && want == 0; k++) {
        if (reservable(m, &m->r[order[k].id])) {
            want = order[k].id;
            fx->skipped += k > 0;
            fx->starving += order[k].phase == 0;
            fx->deferred += order[k].qtier == TP_QTIER_DEFERRED;
        }
    }
    struct tp_lease_args la;
    memset(&la, 0, sizeof(la));
    snprintf(la.worker, sizeof(la.worker), "w%d", (int)rnd(fx, 0, 3));
    la.lease_ms = rnd(fx, 0, 1) ? 0 : 1000 * rnd(fx, 1, 600);
    struct tp_lease l;
    int st = drive(fx, TP_OP_QUEUE_LEASE, &tp_lease_args_schema, &la,
                   &tp_lease_schema, &l);
    if (want == 0) {
        assert_int_equal(st, QM_DENIED);
        fx->denied++;
        return;
    }
    assert_int_equal(st, QM_OK);
    if (l.id != want) {
        fail_msg("lease at +%lld ms: q%llu, the model's best is q%u",
                 (long long)(m->now - T0), (unsigned long long)l.id, want);
    }
    struct mreq *r = &m->r[want];
    assert_int_equal(r->state, TP_QSTATE_QUEUED); /* never two workers */
    r->state = TP_QSTATE_RUNNING;
    r->attempts++;
    r->lease_exp = m->now + (la.lease_ms > 0 ? la.lease_ms : m->s.lease_ms);
    assert_int_equal(l.attempt, r->attempts);
    assert_int_equal(l.lease_expires_ms, r->lease_exp);
    assert_int_equal(l.reservation != 0, r->nneeds > 0);
    for (uint32_t i = 0; i < r->nneeds; i++) {
        m->tokens[r->pool[i]] -= r->amount[i];
    }
    m->open[r->client] += r->nneeds > 0;
    th_use_dispatch(&m->s, &m->use[r->client], m->now);
    m->dispatched[r->qtier]++;
    fx->leases++;
}

/* The answer a complete or fail for @r with @attempt must get; handles a
 * lease that ran out as the state machine does. */
static int held(struct model *m, struct mreq *r, uint64_t attempt)
{
    if (r->purged || r->state != TP_QSTATE_RUNNING ||
        (attempt != 0 && attempt != r->attempts)) {
        return QM_NOT_FOUND;
    }
    if (r->lease_exp <= m->now) {
        expire(m, r);
        return QM_NOT_FOUND;
    }
    return QM_OK;
}

static uint64_t pick_attempt(struct fx *fx, const struct mreq *r)
{
    int64_t k = rnd(fx, 0, 9);
    return k == 0 ? 0 : k == 1 ? r->attempts + 1 : r->attempts;
}

static void op_complete(struct fx *fx)
{
    struct model *m = &fx->m;
    uint32_t id = pick_target(fx, TP_QSTATE_RUNNING);
    if (id == 0) {
        return;
    }
    struct mreq *r = &m->r[id];
    struct tp_complete c;
    th_complete_args(&c, id, pick_attempt(fx, r));
    int64_t used[2] = {0, 0};
    for (uint32_t i = 0; i < r->nneeds; i++) {
        int64_t most = r->amount[i] < 20 ? r->amount[i] : 20;
        used[i] = rnd(fx, 0, most);
        th_complete_used(&c, pool_names[r->pool[i]], used[i]);
    }
    int want = held(m, r, c.attempt);
    assert_int_equal(
        drive(fx, TP_OP_QUEUE_COMPLETE, &tp_complete_schema, &c, NULL, NULL),
        want);
    if (want == QM_OK) {
        unhold(m, r, used);
        finish(m, r, TP_QSTATE_DONE);
        fx->completes++;
    }
}

static void op_fail(struct fx *fx)
{
    struct model *m = &fx->m;
    uint32_t id = pick_target(fx, TP_QSTATE_RUNNING);
    if (id == 0) {
        return;
    }
    struct mreq *r = &m->r[id];
    struct tp_fail f;
    memset(&f, 0, sizeof(f));
    f.id = id;
    f.attempt = pick_attempt(fx, r);
    snprintf(f.reason, sizeof(f.reason), "boom %u", id);
    int want = held(m, r, f.attempt);
    struct tp_fail_result fr;
    assert_int_equal(drive(fx, TP_OP_QUEUE_FAIL, &tp_fail_schema, &f,
                           &tp_fail_result_schema, &fr),
                     want);
    if (want == QM_OK) {
        unhold(m, r, NULL);
        requeue(m, r);
        assert_int_equal(fr.requeued, r->state == TP_QSTATE_QUEUED);
    }
}

static void op_cancel(struct fx *fx)
{
    struct model *m = &fx->m;
    uint32_t id = pick_target(fx, TP_QSTATE_QUEUED);
    if (id == 0) {
        return;
    }
    struct mreq *r = &m->r[id];
    int want = r->purged                    ? QM_NOT_FOUND
               : r->state >= TP_QSTATE_DONE ? QM_INVALID
                                            : QM_OK;
    struct tp_req_id a = {id};
    assert_int_equal(
        drive(fx, TP_OP_QUEUE_CANCEL, &tp_req_id_schema, &a, NULL, NULL), want);
    if (want == QM_OK) {
        if (r->state == TP_QSTATE_RUNNING) {
            unhold(m, r, NULL);
        }
        finish(m, r, TP_QSTATE_CANCELLED);
    }
}

static void op_settings(struct fx *fx)
{
    struct tp_qsettings s;
    th_qsettings_defaults(&s);
    s.w_tier = rnd(fx, 0, 3000);
    s.w_urgency = rnd(fx, 0, 3000);
    s.w_wait = rnd(fx, 0, 3000);
    s.w_fair = rnd(fx, 0, 3000);
    s.aging_ms = 1000 * rnd(fx, 1, 120);
    s.fair_half_life_ms = 60000 * rnd(fx, 1, 120);
    s.fair_scale = rnd(fx, 1, 30);
    s.starve_ms = 60000 * rnd(fx, 1, 60);
    s.alert_queue_len = rnd(fx, 1, 2000);
    s.offpeak_start_min = rnd(fx, 0, 1439);
    s.offpeak_end_min = rnd(fx, 0, 1439);
    s.lease_ms = 1000 * rnd(fx, 1, 600);
    s.max_attempts = rnd(fx, 1, 5);
    assert_int_equal(drive(fx, TP_OP_QUEUE_SETTINGS_SET, &tp_qsettings_schema,
                           &s, NULL, NULL),
                     QM_OK);
    fx->m.s = s;
}

/* QUEUE_POSITION of a random queued request is its rank in the model's
 * order (deferred last), when no TICK is due (indexes up to date). */
static void check_position(struct fx *fx, struct okey *order)
{
    struct model *m = &fx->m;
    uint32_t id = pick_target(fx, TP_QSTATE_QUEUED);
    if (id == 0 || m->r[id].state != TP_QSTATE_QUEUED ||
        fsm_next_deadline(fx->a->f) <= m->now) {
        return;
    }
    uint32_t n = dispatch_order(m, true, order), rank = 0;
    while (rank < n && order[rank].id != id) {
        rank++;
    }
    struct tp_req_info ri;
    assert_int_equal(th_position(fx->a, m->now, id, &ri), QM_OK);
    if (ri.position != rank + 1) {
        fail_msg("q%u at +%lld ms: position %llu, the model says %u", id,
                 (long long)(m->now - T0), (unsigned long long)ri.position,
                 rank + 1);
    }
    fx->positions++;
}

static void step(struct fx *fx, struct okey *order)
{
    int64_t jump = rnd(fx, 0, 999);
    /* Quarter seconds and round settings, so that times and priorities
     * meet exactly (ties, thresholds) now and then. */
    fx->m.now += 250 * (jump < 900   ? rnd(fx, 0, 4)
                        : jump < 997 ? rnd(fx, 0, 120)
                                     : rnd(fx, 0, 8 * 3600));
    int64_t k = rnd(fx, 0, 99);
    if (k < 24) {
        op_submit(fx);
    } else if (k < 54) {
        op_lease(fx, order);
    } else if (k < 76) {
        op_complete(fx);
    } else if (k < 82) {
        op_fail(fx);
    } else if (k < 85) {
        op_cancel(fx);
    } else if (k < 96) {
        assert_int_equal(drive(fx, TP_OP_TICK, NULL, NULL, NULL, NULL), QM_OK);
        model_tick(&fx->m);
    } else if (k < 98) {
        op_settings(fx);
    } else {
        check_position(fx, order);
    }
}

/* ---- Assertions ---- */

/* Every request is in exactly the model's state, and listed once. */
static void assert_states(struct fx *fx, struct th_fsm *db)
{
    struct model *m = &fx->m;
    for (uint32_t id = 1; id <= m->n; id++) {
        struct tp_req_info ri;
        int st = th_req_get(db, 0, id, &ri);
        if (m->r[id].purged) {
            assert_int_equal(st, QM_NOT_FOUND);
            continue;
        }
        assert_int_equal(st, QM_OK);
        if (ri.state != m->r[id].state) {
            fail_msg("q%u is %llu, the model says %llu", id,
                     (unsigned long long)ri.state,
                     (unsigned long long)m->r[id].state);
        }
        assert_int_equal(ri.attempts, m->r[id].attempts);
    }
    struct tp_req_list_args la;
    memset(&la, 0, sizeof(la));
    uint32_t seen = 0, live = 0;
    do {
        assert_int_equal(th_req_list(db, 0, &la, fx->page), QM_OK);
        for (uint32_t i = 0; i < fx->page->nreqs; i++) {
            const struct tp_req_info *ri = &fx->page->reqs[i];
            assert_true(ri->id > la.after); /* each once, in order */
            assert_false(m->r[ri->id].purged);
            la.after = ri->id;
            seen++;
        }
    } while (fx->page->more);
    for (uint32_t id = 1; id <= m->n; id++) {
        live += !m->r[id].purged;
    }
    assert_int_equal(seen, live);
}

/* QUEUE_STATS equals a recount of the model (finished requests count after
 * they are forgotten too). */
static void assert_stats(struct fx *fx, struct th_fsm *db)
{
    struct model *m = &fx->m;
    uint64_t want[TP_QTIERS + 1][TP_QSTATES + 1];
    memset(want, 0, sizeof(want));
    for (uint32_t id = 1; id <= m->n; id++) {
        want[m->r[id].qtier][m->r[id].state]++;
    }
    struct tp_queue_stats qs;
    assert_int_equal(th_qstats(db, 0, &qs), QM_OK);
    for (uint32_t i = 0; i < qs.ntiers; i++) {
        const struct tp_qtier_stats *t = &qs.tiers[i];
        assert_int_equal(t->queued, want[t->qtier][TP_QSTATE_QUEUED]);
        assert_int_equal(t->running, want[t->qtier][TP_QSTATE_RUNNING]);
        assert_int_equal(t->done, want[t->qtier][TP_QSTATE_DONE]);
        assert_int_equal(t->failed, want[t->qtier][TP_QSTATE_FAILED]);
        assert_int_equal(t->cancelled, want[t->qtier][TP_QSTATE_CANCELLED]);
        assert_int_equal(t->dispatched, m->dispatched[t->qtier]);
        assert_int_equal(t->worker_timeouts, m->timeouts[t->qtier]);
    }
}

static void assert_same_digest(struct th_fsm *x, struct th_fsm *y)
{
    char dx[33], dy[33];
    th_fsm_digest(x, dx);
    th_fsm_digest(y, dy);
    assert_string_equal(dx, dy);
}

/* ---- Cases ---- */

/* OPS random operations from @seed with needs of up to @max_units, then
 * the checks of the file's header. */
static void run(struct fx *fx, uint64_t seed, int64_t max_units)
{
    th_rng_seed(&fx->rng, seed);
    fx->max_units = max_units;
    struct okey *order = fx->order;
    for (int i = 0; i < OPS; i++) {
        step(fx, order);
        if (i % 1000 == 999) {
            assert_states(fx, fx->a);
            assert_stats(fx, fx->a);
        }
    }
    assert_states(fx, fx->a);
    assert_stats(fx, fx->a);
    assert_same_digest(fx->a, fx->b);
    uint64_t timeouts = 0;
    for (int t = 1; t <= TP_QTIERS; t++) {
        timeouts += fx->m.timeouts[t];
    }
    print_message(
        "%u requests, %llu leases (%llu starving, %llu deferred, "
        "%llu past an unreservable one), %llu denied, %llu "
        "completed, %llu timeouts, %llu positions\n",
        fx->m.n, (unsigned long long)fx->leases,
        (unsigned long long)fx->starving, (unsigned long long)fx->deferred,
        (unsigned long long)fx->skipped, (unsigned long long)fx->denied,
        (unsigned long long)fx->completes, (unsigned long long)timeouts,
        (unsigned long long)fx->positions);
    /* The run covered what it is meant to. */
    assert_true(fx->leases > OPS / 10);
    assert_true(fx->starving > 100);
    assert_true(fx->deferred > 20);
    assert_true(fx->skipped > 100);
    assert_true(fx->denied > 50);
    assert_true(fx->completes > 500);
    assert_true(timeouts > 100);
    assert_true(fx->positions > 100);

    /* A snapshot restored elsewhere is the same state, and goes on the
     * same way. */
    struct fsm_snap *snap;
    void *buf;
    size_t len;
    assert_int_equal(fsm_snapshot_begin(fx->a->f, &snap), QM_OK);
    assert_int_equal(fsm_snapshot_write(snap, &buf, &len), QM_OK);
    fsm_snapshot_end(snap);
    fx->c = th_fsm_new();
    assert_int_equal(fsm_restore(fx->c->f, buf, len), QM_OK);
    qm_free(buf);
    fx->c->index = fsm_applied_index(fx->c->f);
    assert_int_equal(fx->c->index, fx->a->index);
    assert_same_digest(fx->a, fx->c);
    assert_states(fx, fx->c);
    assert_stats(fx, fx->c);
    for (int i = 0; i < OPS / 10; i++) {
        step(fx, order);
    }
    assert_states(fx, fx->c);
    assert_stats(fx, fx->c);
    assert_same_digest(fx->a, fx->c);
    assert_same_digest(fx->a, fx->b);
}

static void test_fsm_queue_property_random_operations_hold(void **state)
{
    run(*state, 0x9e0e0e5eedULL, 8);
}

/* Needs of up to half a pool: leases are often refused or pass over
 * requests, the queue grows and most of it starves. */
static void test_fsm_queue_property_holds_under_contention(void **state)
{
    run(*state, 0x5eed0c0de, 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_fsm_queue_property_random_operations_hold),
        T(test_fsm_queue_property_holds_under_contention),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
