/* Unit tests of the ledger under the state machine's replication rules
 * (design.md rules 1-4): a stream of ledger commands (clients, tiers,
 * pools of every kind, reservations, commits, releases, acquires for
 * clients, ticks) across a month boundary gives byte-identical results and
 * states on every replica, through restarts and snapshot/restore; and a
 * retried command is answered, never applied twice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsm.h"
#include "fsm_money.h"
#include "qm_alloc.h"
#include "qm_err.h"
#include "qm_limits.h"
#include "th_cmocka.h"
#include "th_fsm.h"
#include "th_ledger.h"
#include "th_log.h"
#include "th_msg.h"
#include "th_replica.h"
#include "th_rng.h"

/* ---- Fixture ---- */

#define U QM_MILLI
#define NSTEPS 160
#define MAX_PER_ENTRY 6
#define NSESSIONS 5
#define NCLIENTS 5

/* Replicas a, b and c (c starts empty: the target of a restore). */
struct fx
{
    struct th_fsm *a;
    struct th_fsm *b;
    struct th_fsm *c;
};

static int setup(void **state)
{
    th_log_capture();
    struct fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->a = th_fsm_new();
    fx->b = th_fsm_new();
    fx->c = th_fsm_new();
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    th_fsm_free(fx->a);
    th_fsm_free(fx->b);
    th_fsm_free(fx->c);
    free(fx);
    th_log_release();
    return 0;
}

/* ---- Helpers ---- */

/* A leader's stream of ledger entries starting a minute before February
 * 2024, so that it crosses the month boundary. */
struct gen
{
    struct th_rng rng;
    int64_t time;
    uint64_t seq[NSESSIONS + 1];
    uint64_t reserves; /* reservations asked for: ids are at most this */
    int step;
};

static void gen_init(struct gen *g, uint64_t seed)
{
    memset(g, 0, sizeof(*g));
    th_rng_seed(&g->rng, seed);
    g->time = th_utc_ms(2024, 1, 31, 23, 59, 0);
}

static uint64_t pick(struct gen *g, uint64_t n)
{
    return th_rng_below(&g->rng, n);
}

static void client_name(struct gen *g, char *out, size_t n)
{
    snprintf(out, n, "c%u", (unsigned)pick(g, NCLIENTS + 1)); /* c5: none */
}

static const char *const pools[] = {"s0", "s1", "r0", "d0", "nope"};

static void session_of(struct gen *g, uint64_t *session, uint64_t *seq)
{
    uint64_t s = pick(g, NSESSIONS + 1);
    *session = s;
    *seq = 0;
    if (s == 0) {
        return;
    }
    uint64_t r = pick(g, 10);
    *seq = r == 0 && g->seq[s] > 0 ? g->seq[s] : ++g->seq[s]; /* retry */
}

/* The fixed set-up of the first entries: clients and pools of each kind
 * (some commands repeat later at random, and then are EXISTS). */
static void gen_setup_cmd(struct gen *g, int i, struct th_cmd *c)
{
    if (i < NCLIENTS) {
        struct tp_client_create a;
        memset(&a, 0, sizeof(a));
        snprintf(a.id, sizeof(a.id), "c%d", i);
        a.tier = (uint64_t)(i % TP_TIERS) + 1;
        a.has_budget = i == 2;
        a.budget = TH_USD(20);
        th_cmd_make(c, TP_OP_CLIENT_CREATE, 0, 0, &tp_client_create_schema, &a);
        return;
    }
    struct tp_pool_create a;
    const char *name = pools[i - NCLIENTS];
    th_pool_create_args(&a, name, 40 * U, 2 * U + (int64_t)pick(g, 3000),
                        (int64_t)pick(g, 3) * QM_NANO / 4);
    if (strcmp(name, "r0") == 0) {
        a.kind = TP_KIND_RESERVED;
        snprintf(a.shares[0].client, sizeof(a.shares[0].client), "c0");
        a.shares[0].amount = 10 * U;
        a.shares[1].tier = TP_TIER_PREMIUM;
        a.shares[1].amount = 5 * U;
        a.nshares = 2;
    } else if (strcmp(name, "d0") == 0) {
        a.kind = TP_KIND_DEDICATED;
        snprintf(a.owner, sizeof(a.owner), "c1");
    }
    th_cmd_make(c, TP_OP_POOL_CREATE, 0, 0, &tp_pool_create_schema, &a);
}

static void gen_reserve(struct gen *g, uint64_t s, uint64_t q, struct th_cmd *c)
{
    struct tp_reserve r;
    char id[8];
    client_name(g, id, sizeof(id));
    th_reserve_args(&r, id, 500 + (int64_t)pick(g, 8000));
    uint32_t n = 1 + (uint32_t)pick(g, 3);
    for (uint32_t i = 0; i < n; i++) {
        th_reserve_add(&r, pools[pick(g, 5)], (int64_t)pick(g, 20 * U) + 1);
    }
    g->reserves++;
    th_cmd_make(c, TP_OP_RESERVE, s, q, &tp_reserve_schema, &r);
}

static void gen_commit(struct gen *g, uint64_t s, uint64_t q, struct th_cmd *c)
{
    struct tp_commit cm;
    th_commit_args(&cm, 1 + pick(g, g->reserves + 1));
    switch (pick(g, 4)) {
        case 0:
            break; /* all used */
        case 1:
            cm.has_used_one = true;
            cm.used_one = (int64_t)pick(g, 10 * U);
            break;
        default:
            for (uint32_t i = 0; i < 1 + pick(g, 3); i++) {
                th_commit_add(&cm, pools[pick(g, 4)], (int64_t)pick(g, 10 * U));
            }
            break;
    }
    th_cmd_make(c, TP_OP_COMMIT, s, q, &tp_commit_schema, &cm);
}

static void gen_admin(struct gen *g, uint64_t s, uint64_t q, struct th_cmd *c)
{
    if (pick(g, 2) == 0) {
        struct tp_tier_set ts;
        memset(&ts, 0, sizeof(ts));
        ts.tier = 1 + pick(g, TP_TIERS);
        ts.set = TP_SET_MAX_CONCURRENT | TP_SET_BUDGET;
        ts.max_concurrent = 1 + (int64_t)pick(g, 4);
        ts.budget = TH_USD(5) + (int64_t)pick(g, (uint64_t)TH_USD(40));
        ts.custom = pick(g, 4) == 0;
        th_cmd_make(c, TP_OP_TIER_SET, s, q, &tp_tier_set_schema, &ts);
    } else {
        struct tp_client_set cs;
        memset(&cs, 0, sizeof(cs));
        client_name(g, cs.id, sizeof(cs.id));
        cs.set = TP_SET_TIER | TP_SET_BUDGET;
        cs.tier = pick(g, TP_TIERS + 1); /* 0: refused */
        cs.budget_default = pick(g, 2) == 0;
        cs.budget = (int64_t)pick(g, (uint64_t)TH_USD(30));
        th_cmd_make(c, TP_OP_CLIENT_SET, s, q, &tp_client_set_schema, &cs);
    }
}

static void gen_cmd(struct gen *g, struct th_cmd *c)
{
    uint64_t s, q;
    session_of(g, &s, &q);
    switch (pick(g, 12)) {
        case 0:
        case 1:
        case 2:
            gen_reserve(g, s, q, c);
            break;
        case 3:
        case 4:
            gen_commit(g, s, q, c);
            break;
        case 5: {
            struct tp_res_id r = {1 + pick(g, g->reserves + 1)};
            th_cmd_make(c, TP_OP_RELEASE, s, q, &tp_res_id_schema, &r);
            break;
        }
        case 6:
        case 7: {
            struct tp_acquire a;
            memset(&a, 0, sizeof(a));
            snprintf(a.pool, sizeof(a.pool), "%s", pools[pick(g, 5)]);
            a.amount = 1 + (int64_t)pick(g, 8 * U);
            client_name(g, a.client, sizeof(a.client));
            if (pick(g, 4) == 0) {
                a.client[0] = '\0';
            }
            th_cmd_make(c, TP_OP_ACQUIRE, s, q, &tp_acquire_schema, &a);
            break;
        }
        case 8:
        case 9:
            th_cmd_make(c, TP_OP_TICK, 0, 0, NULL, NULL);
            break;
        case 10:
            gen_admin(g, s, q, c);
            break;
        default:
            gen_setup_cmd(g, (int)pick(g, NCLIENTS + 4), c);
            break;
    }
}

/* The next entry into @b (reset first). */
static void gen_entry(struct gen *g, struct qm_buf *b)
{
    struct th_cmd c[MAX_PER_ENTRY];
    uint32_t n = 0;
    if (g->step == 0) {
        for (; n < NCLIENTS + 4 && n < MAX_PER_ENTRY; n++) {
            gen_setup_cmd(g, (int)n, &c[n]);
        }
    } else if (g->step == 1) {
        for (int i = MAX_PER_ENTRY; i < NCLIENTS + 4; i++, n++) {
            gen_setup_cmd(g, i, &c[n]);
        }
    } else {
        g->time +=
            pick(g, 10) == 0 ? -(int64_t)pick(g, 3000) : (int64_t)pick(g, 2000);
        n = (uint32_t)pick(g, MAX_PER_ENTRY + 1);
        for (uint32_t i = 0; i < n; i++) {
            gen_cmd(g, &c[i]);
        }
    }
    g->step++;
    qm_buf_reset(b);
    th_entry_make(b, g->time, c, n);
}

/* Snapshot of @from restored into @to. */
static void copy_state(struct th_fsm *from, struct th_fsm *to)
{
    struct fsm_snap *s;
    void *buf;
    size_t len;
    assert_int_equal(fsm_snapshot_begin(from->f, &s), QM_OK);
    assert_int_equal(fsm_snapshot_write(s, &buf, &len), QM_OK);
    fsm_snapshot_end(s);
    assert_int_equal(fsm_restore(to->f, buf, len), QM_OK);
    qm_free(buf);
    to->index = from->index;
}

/* ---- Assertions ---- */

/* The exact result bytes of the last command of @x and @y are equal. */
static void assert_same_reply(const uint8_t *x, size_t xn, struct th_fsm *y)
{
    assert_int_equal(xn, y->last_len);
    assert_memory_equal(x, y->last, xn);
}

/* ---- Cases: determinism ---- */

static void test_fsm_ledger_stream_gives_same_state_at_every_step(void **s)
{
    struct fx *fx = *s;
    struct gen g;
    gen_init(&g, 0x1ed6e7);
    struct qm_buf b;
    qm_buf_init(&b);
    struct th_results *ra = malloc(sizeof(*ra));
    assert_non_null(ra);
    uint32_t statuses[QM_STATUS_MAX + 1] = {0};
    for (int step = 0; step < NSTEPS; step++) {
        gen_entry(&g, &b);
        th_results_keep(th_fsm_apply_raw(fx->a, b.data, b.len), ra);
        const struct fsm_results *rb = th_fsm_apply_raw(fx->b, b.data, b.len);
        th_assert_same_results(ra, rb);
        th_assert_same_state(fx->a, fx->b);
        for (uint32_t i = 0; i < rb->n; i++) {
            struct tp_result r;
            statuses[th_result_decode(rb->items[i], &r, NULL, NULL)]++;
        }
        if (step % 23 == 22) {
            th_fsm_reopen(fx->b); /* a restart of replica b */
        }
    }
    free(ra);
    qm_buf_close(&b);
    /* The stream went through the ledger's outcomes and the month. */
    assert_true(statuses[QM_OK] > 0);
    assert_true(statuses[QM_DENIED] > 0);
    assert_true(statuses[QM_BUDGET_EXCEEDED] > 0);
    assert_true(statuses[QM_NOT_FOUND] > 0);
    assert_true(statuses[QM_EXISTS] > 0);
    assert_true(statuses[QM_INVALID] > 0);
    assert_int_equal(fsm_month_of(fsm_clock(fx->a->f)), 202402);
    int64_t jan = 0, feb = 0;
    struct tp_usage *u = malloc(sizeof(*u));
    assert_non_null(u);
    for (int i = 0; i < NCLIENTS; i++) {
        char id[8];
        snprintf(id, sizeof(id), "c%d", i);
        assert_int_equal(th_usage(fx->a, 0, id, 202401, "", 0, u), QM_OK);
        jan += u->spent;
        assert_int_equal(th_usage(fx->a, 0, id, 202402, "", 0, u), QM_OK);
        feb += u->spent;
    }
    free(u);
    assert_true(jan > 0);
    assert_true(feb > 0);
}

static void test_fsm_ledger_state_survives_snapshot_and_restore(void **s)
{
    struct fx *fx = *s;
    struct gen g;
    gen_init(&g, 0x5a9);
    struct qm_buf b;
    qm_buf_init(&b);
    for (int step = 0; step < NSTEPS / 2; step++) {
        gen_entry(&g, &b);
        th_fsm_apply_raw(fx->a, b.data, b.len);
    }
    /* A fresh replica catches up from a snapshot, then follows the log. */
    copy_state(fx->a, fx->c);
    th_assert_same_state(fx->a, fx->c);
    struct th_results *ra = malloc(sizeof(*ra));
    assert_non_null(ra);
    for (int step = NSTEPS / 2; step < NSTEPS; step++) {
        gen_entry(&g, &b);
        th_results_keep(th_fsm_apply_raw(fx->a, b.data, b.len), ra);
        th_assert_same_results(ra, th_fsm_apply_raw(fx->c, b.data, b.len));
        th_assert_same_state(fx->a, fx->c);
    }
    free(ra);
    qm_buf_close(&b);
    /* The ledger itself came across: clients, reservations, usage. */
    struct tp_client_info ca, cc;
    assert_int_equal(th_client_get(fx->a, 0, "c0", &ca), QM_OK);
    assert_int_equal(th_client_get(fx->c, 0, "c0", &cc), QM_OK);
    assert_memory_equal(&ca, &cc, sizeof(ca));
}

static void test_fsm_ledger_log_replay_after_restart_changes_nothing(
    void **state)
{
    struct fx *fx = *state;
    struct gen g;
    gen_init(&g, 0xbeef);
    struct qm_buf *log = calloc(NSTEPS, sizeof(*log));
    assert_non_null(log);
    for (int step = 0; step < NSTEPS; step++) {
        qm_buf_init(&log[step]);
        gen_entry(&g, &log[step]);
        th_fsm_apply_raw(fx->a, log[step].data, log[step].len);
    }
    char before[33];
    th_fsm_digest(fx->a, before);
    int64_t deadline = fsm_next_deadline(fx->a->f);
    th_fsm_reopen(fx->a);
    for (int step = 0; step < NSTEPS; step++) {
        struct fsm_results res;
        assert_int_equal(fsm_apply(fx->a->f, (uint64_t)step + 2, log[step].data,
                                   log[step].len, &res),
                         QM_OK);
        assert_int_equal(res.n, 0);
        qm_buf_close(&log[step]);
    }
    free(log);
    th_assert_digest(fx->a, before);
    assert_int_equal(fsm_next_deadline(fx->a->f), deadline);
}

/* ---- Cases: exactly once ---- */

/* One client "acme" (basic, $100) and pool "p" (100 units, $1). */
static void ledger_basics(struct th_fsm *f, int64_t t)
{
    assert_int_equal(th_pool_priced(f, t, "p", 100 * U, 0, QM_NANO), QM_OK);
    assert_int_equal(
        th_client_create(f, t, "acme", TP_TIER_BASIC, TH_TIER_BUDGET), QM_OK);
}

static void test_fsm_ledger_retried_reserve_holds_once(void **state)
{
    struct fx *fx = *state;
    int64_t t = th_utc_ms(2024, 3, 1, 0, 0, 0);
    struct th_fsm *f = fx->a;
    ledger_basics(f, t);
    struct tp_reserve r;
    th_reserve_args(&r, "acme", 1000);
    th_reserve_add(&r, "p", 30 * U);
    struct tp_reserve_result r1, r2;
    assert_int_equal(th_reserve(f, t, 7, 1, &r, &r1), QM_OK);
    uint8_t first[512];
    size_t first_len = f->last_len;
    memcpy(first, f->last, first_len);
    /* The same (session, sequence) again, later: the same answer. */
    assert_int_equal(th_reserve(f, t + 10, 7, 1, &r, &r2), QM_OK);
    assert_same_reply(first, first_len, f);
    assert_int_equal(r2.id, r1.id);
    assert_int_equal(r2.expires_at_ms, t + 1000);
    assert_int_equal(th_pool_tokens(f, 0, "p"), 70 * U);
    struct tp_client_info ci;
    th_client_get(f, 0, "acme", &ci);
    assert_int_equal(ci.open, 1);
    assert_int_equal(ci.reserved, TH_USD(30));
    /* Even after its lease ended the retry gets the stored answer and
     * reserves nothing. */
    th_tick(f, t + 2000);
    assert_int_equal(th_reserve(f, t + 2000, 7, 1, &r, &r2), QM_OK);
    assert_same_reply(first, first_len, f);
    assert_int_equal(th_pool_tokens(f, 0, "p"), 100 * U);
    th_client_get(f, 0, "acme", &ci);
    assert_int_equal(ci.open, 0);
    /* The next sequence is a new reservation with the next id. */
    assert_int_equal(th_reserve(f, t + 2000, 7, 2, &r, &r2), QM_OK);
    assert_int_equal(r2.id, r1.id + 1);
}

static void test_fsm_ledger_retried_commit_charges_once(void **state)
{
    struct fx *fx = *state;
    int64_t t = th_utc_ms(2024, 3, 1, 0, 0, 0);
    struct th_fsm *f = fx->a;
    ledger_basics(f, t);
    struct tp_reserve r;
    th_reserve_args(&r, "acme", 0);
    th_reserve_add(&r, "p", 30 * U);
    struct tp_reserve_result rr;
    assert_int_equal(th_reserve(f, t, 3, 1, &r, &rr), QM_OK);
    struct tp_commit cm;
    th_commit_args(&cm, rr.id);
    cm.has_used_one = true;
    cm.used_one = 12 * U;
    int64_t cost;
    assert_int_equal(th_commit(f, t, 3, 2, &cm, &cost), QM_OK);
    assert_int_equal(cost, TH_USD(12));
    /* Retried: OK with the same charge, not NOT_FOUND, not charged again. */
    assert_int_equal(th_commit(f, t + 5, 3, 2, &cm, &cost), QM_OK);
    assert_int_equal(cost, TH_USD(12));
    assert_int_equal(th_spent(f, 0, "acme"), TH_USD(12));
    assert_int_equal(th_pool_tokens(f, 0, "p"), 88 * U);
    /* Without a session, a second commit is a second command. */
    assert_int_equal(th_commit(f, t, 0, 0, &cm, &cost), QM_NOT_FOUND);
}

static void test_fsm_ledger_retried_acquire_for_a_client_charges_once(
    void **state)
{
    struct fx *fx = *state;
    int64_t t = th_utc_ms(2024, 3, 1, 0, 0, 0);
    struct th_fsm *f = fx->a;
    ledger_basics(f, t);
    struct tp_acquire a;
    memset(&a, 0, sizeof(a));
    snprintf(a.pool, sizeof(a.pool), "p");
    snprintf(a.client, sizeof(a.client), "acme");
    a.amount = 40 * U;
    struct tp_acquire_result ar;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(
            th_fsm_do(f, t + i, TP_OP_ACQUIRE, 9, 4, &tp_acquire_schema, &a,
                      &tp_acquire_result_schema, &ar),
            QM_OK);
        assert_int_equal(ar.cost, TH_USD(40));
        assert_int_equal(ar.tokens, 60 * U);
    }
    assert_int_equal(th_spent(f, 0, "acme"), TH_USD(40));
    assert_int_equal(th_pool_tokens(f, 0, "p"), 60 * U);
}

static void test_fsm_ledger_retried_refusal_raises_its_alert_once(void **s)
{
    struct fx *fx = *s;
    int64_t t = th_utc_ms(2024, 3, 1, 0, 0, 0);
    struct th_fsm *f = fx->a;
    ledger_basics(f, t);
    th_pool_priced(f, t, "gold", 1000 * U, 0, QM_NANO);
    struct tp_reserve r;
    th_reserve_args(&r, "acme", 0);
    th_reserve_add(&r, "gold", 101 * U);
    assert_int_equal(th_reserve(f, t, 5, 1, &r, NULL), QM_BUDGET_EXCEEDED);
    /* Retried after the cooldown: the stored refusal, no second alert. */
    assert_int_equal(
        th_reserve(f, t + QM_ALERT_COOLDOWN_MS + 1, 5, 1, &r, NULL),
        QM_BUDGET_EXCEEDED);
    assert_int_equal(th_alert_count(f, "budget_exceeded", "client/acme"), 1);
    /* A new sequence is a new refusal, and the cooldown has passed. */
    assert_int_equal(
        th_reserve(f, t + QM_ALERT_COOLDOWN_MS + 1, 5, 2, &r, NULL),
        QM_BUDGET_EXCEEDED);
    assert_int_equal(th_alert_count(f, "budget_exceeded", "client/acme"), 2);
}

static void test_fsm_ledger_same_commands_on_two_replicas_agree(void **s)
{
    struct fx *fx = *s;
    /* The exactly-once cases above, on two replicas with a restore in the
     * middle: same replies, same state. */
    int64_t t = th_utc_ms(2024, 2, 29, 23, 59, 59);
    struct th_fsm *reps[2] = {fx->a, fx->b};
    uint8_t reply[2][512];
    size_t len[2];
    for (int k = 0; k < 2; k++) {
        struct th_fsm *f = reps[k];
        ledger_basics(f, t);
        struct tp_reserve_result rr;
        assert_int_equal(th_reserve1(f, t, "acme", "p", 10 * U, &rr), QM_OK);
        assert_int_equal(th_commit_all(f, t + 1000, rr.id, NULL), QM_OK);
        len[k] = f->last_len;
        memcpy(reply[k], f->last, f->last_len);
    }
    assert_int_equal(len[0], len[1]);
    assert_memory_equal(reply[0], reply[1], len[0]);
    th_assert_same_state(fx->a, fx->b);
    copy_state(fx->a, fx->c);
    th_assert_same_state(fx->a, fx->c);
    assert_int_equal(th_spent(fx->c, 0, "acme"), TH_USD(10));
    struct tp_usage u;
    assert_int_equal(th_usage(fx->c, 0, "acme", 0, "", 0, &u), QM_OK);
    assert_int_equal(u.month, 202403); /* committed at 03-01T00:00:00 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_fsm_ledger_stream_gives_same_state_at_every_step),
        T(test_fsm_ledger_state_survives_snapshot_and_restore),
        T(test_fsm_ledger_log_replay_after_restart_changes_nothing),
        T(test_fsm_ledger_retried_reserve_holds_once),
        T(test_fsm_ledger_retried_commit_charges_once),
        T(test_fsm_ledger_retried_acquire_for_a_client_charges_once),
        T(test_fsm_ledger_retried_refusal_raises_its_alert_once),
        T(test_fsm_ledger_same_commands_on_two_replicas_agree),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
