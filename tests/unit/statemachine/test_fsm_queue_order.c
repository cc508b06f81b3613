/* Unit tests of the dispatch order of QUEUE_LEASE (statemachine/fsm_queue.h):
 * requests waiting past starve_ms first, oldest first (deferred excepted);
 * then the tiers immediate, fast, normal, batch strictly, each by priority
 * at the lease's time and then enqueue order, growing and capped wait terms
 * compared exactly; the deferred tier inside the off-peak window or when
 * nothing else waits; and a request whose needs cannot be reserved now is
 * passed over for the next. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsm.h"
#include "qm_err.h"
#include "qm_limits.h"
#include "th_cmocka.h"
#include "th_fsm.h"
#include "th_ledger.h"
#include "th_log.h"
#include "th_queue.h"

/* ---- Fixture ---- */

#define T0 1709294400000LL       /* 2024-03-01 12:00 UTC: outside off-peak */
#define MIDNIGHT 1709337600000LL /* 2024-03-02 00:00 UTC */
#define MIN 60000LL
#define AGING 30000LL   /* the default aging_ms */
#define STARVE 600000LL /* the default starve_ms */
#define U QM_MILLI

/* Clients of each tier (tier points 40, 30, 20, 10); pool "gpu" of one
 * unit, without refill, and "cpu" of 100 units. */
struct fx
{
    struct th_fsm *f;
    struct tp_qsettings s;
    uint64_t hold; /* a reservation holding the gpu, or 0 */
};

static int setup(void **state)
{
    th_log_capture();
    struct fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->f = th_fsm_new();
    static const char *const names[] = {"ent", "prem", "std", "basic"};
    for (uint64_t t = TP_TIER_ENTERPRISE; t <= TP_TIER_BASIC; t++) {
        assert_int_equal(
            th_client_create(fx->f, T0, names[t - 1], t, TH_TIER_BUDGET),
            QM_OK);
    }
    assert_int_equal(th_pool_priced(fx->f, T0, "gpu", U, 0, 0), QM_OK);
    assert_int_equal(th_pool_priced(fx->f, T0, "cpu", 100 * U, 0, 0), QM_OK);
    th_qsettings_defaults(&fx->s);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    th_fsm_free(fx->f);
    free(fx);
    th_log_release();
    return 0;
}

/* ---- Helpers ---- */

/* Take the gpu with a reservation of a day (no TICK runs in these tests,
 * so only release gives it back). */
static void hold_gpu(struct fx *fx, int64_t t)
{
    struct tp_reserve r;
    struct tp_reserve_result out;
    th_reserve_args(&r, "ent", QM_RES_TTL_MAX_MS);
    th_reserve_add(&r, "gpu", U);
    assert_int_equal(th_reserve(fx->f, t, 0, 0, &r, &out), QM_OK);
    fx->hold = out.id;
}

static void free_gpu(struct fx *fx, int64_t t)
{
    assert_int_equal(th_release(fx->f, t, fx->hold, NULL), QM_OK);
    fx->hold = 0;
}

/* A request that needs the gpu. */
static uint64_t enqueue_gpu(struct fx *fx,
                            int64_t t,
                            const char *client,
                            uint64_t qtier,
                            int64_t urgency)
{
    struct tp_submit s;
    uint64_t id;
    th_submit_args(&s, client, qtier, urgency);
    th_submit_need(&s, "gpu", U);
    assert_int_equal(th_submit(fx->f, t, &s, &id), QM_OK);
    return id;
}

static void set_settings(struct fx *fx, int64_t t)
{
    assert_int_equal(th_qsettings_set(fx->f, t, &fx->s), QM_OK);
}

/* ---- Assertions ---- */

/* @n leases at @t hand out @want in this order. */
static void assert_leases(struct fx *fx,
                          int64_t t,
                          const uint64_t *want,
                          size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t got = th_lease_id(fx->f, t, "w");
        if (got != want[i]) {
            fail_msg("lease %zu at +%lld ms gave q%llu, expected q%llu", i,
                     (long long)(t - T0), (unsigned long long)got,
                     (unsigned long long)want[i]);
        }
    }
}

static void assert_nothing_leased(struct fx *fx, int64_t t)
{
    assert_int_equal(th_lease(fx->f, t, "w", 0, NULL), QM_DENIED);
    th_assert_message(fx->f, "nothing can be leased");
}

/* ---- Cases: tiers and priority ---- */

static void test_fsm_queue_order_tiers_strictly_immediate_to_batch(void **s)
{
    struct fx *fx = *s;
    /* The lower the tier the higher the priority, so that only the tier
     * decides. */
    uint64_t d = th_enqueue(fx->f, T0, "ent", TP_QTIER_DEFERRED, 30);
    uint64_t b = th_enqueue(fx->f, T0, "ent", TP_QTIER_BATCH, 30);
    uint64_t n = th_enqueue(fx->f, T0, "prem", TP_QTIER_NORMAL, 20);
    uint64_t f = th_enqueue(fx->f, T0, "std", TP_QTIER_FAST, 10);
    uint64_t i =
        th_enqueue(fx->f, T0 + 5 * AGING, "basic", TP_QTIER_IMMEDIATE, 0);
    uint64_t want[] = {i, f, n, b, d};
    assert_leases(fx, T0 + 5 * AGING, want, 5);
    assert_nothing_leased(fx, T0 + 5 * AGING);
}

static void test_fsm_queue_order_by_priority_then_enqueue_order(void **s)
{
    struct fx *fx = *s;
    uint64_t a = th_enqueue(fx->f, T0, "basic", TP_QTIER_NORMAL, 0);  /* 20 */
    uint64_t b = th_enqueue(fx->f, T0, "ent", TP_QTIER_NORMAL, 0);    /* 50 */
    uint64_t c = th_enqueue(fx->f, T0, "std", TP_QTIER_NORMAL, 10);   /* 40 */
    uint64_t d = th_enqueue(fx->f, T0, "std", TP_QTIER_NORMAL, 10);   /* 40 */
    uint64_t e = th_enqueue(fx->f, T0, "prem", TP_QTIER_NORMAL, 0);   /* 40 */
    uint64_t f = th_enqueue(fx->f, T0, "basic", TP_QTIER_NORMAL, 21); /* 41 */
    uint64_t want[] = {b, f, c, d, e, a};
    assert_leases(fx, T0, want, 6);
}

static void test_fsm_queue_order_older_ahead_exactly_when_wait_makes_up(
    void **s)
{
    struct fx *fx = *s;
    /* Two pairs of the same client: an old request of urgency 0 and a new
     * one of urgency 5. Both grow alike, so the old one stays ahead iff it
     * had waited 5 x aging_ms when the new one came: at exactly that it
     * ties and goes first by enqueue order; a millisecond less, and the new
     * one goes first. */
    uint64_t a1 = th_enqueue(fx->f, T0, "std", TP_QTIER_FAST, 0);
    uint64_t a2 = th_enqueue(fx->f, T0, "std", TP_QTIER_NORMAL, 0);
    uint64_t b1 =
        th_enqueue(fx->f, T0 + 5 * AGING - 1, "std", TP_QTIER_FAST, 5);
    uint64_t b2 = th_enqueue(fx->f, T0 + 5 * AGING, "std", TP_QTIER_NORMAL, 5);
    int64_t at = T0 + 8 * AGING + 7;
    struct tp_req_info ra, rb;
    assert_int_equal(th_req_get(fx->f, at, a2, &ra), QM_OK);
    assert_int_equal(th_req_get(fx->f, at, b2, &rb), QM_OK);
    assert_int_equal(ra.priority, rb.priority);
    uint64_t want[] = {b1, a1, a2, b2};
    assert_leases(fx, at, want, 4);
}

static void test_fsm_queue_order_capped_and_growing_compared_at_lease_time(
    void **s)
{
    struct fx *fx = *s;
    /* Starving is out of the way: this is about the wait term alone. */
    fx->s.starve_ms = 4 * 3600000LL;
    set_settings(fx, T0);
    /* Old requests of urgency 0, capped at 20 wait points from T0 + 20
     * aging; new ones of urgency 10 from T1 catch up with them 10 aging
     * later (B3 a millisecond after the others). */
    uint64_t a1 = th_enqueue(fx->f, T0, "std", TP_QTIER_FAST, 0);
    uint64_t a2 = th_enqueue(fx->f, T0, "std", TP_QTIER_NORMAL, 0);
    uint64_t a3 = th_enqueue(fx->f, T0, "std", TP_QTIER_BATCH, 0);
    int64_t t1 = T0 + 25 * AGING;
    uint64_t b1 = th_enqueue(fx->f, t1, "std", TP_QTIER_FAST, 10);
    uint64_t b2 = th_enqueue(fx->f, t1, "std", TP_QTIER_NORMAL, 10);
    uint64_t b3 = th_enqueue(fx->f, t1 + 1, "std", TP_QTIER_BATCH, 10);
    int64_t cross = t1 + 10 * AGING;
    /* Just before: the capped one is ahead. */
    uint64_t before[] = {a1, b1};
    assert_leases(fx, cross - 1, before, 2);
    /* Just after: the growing one has passed it. */
    uint64_t after[] = {b2, a2};
    assert_leases(fx, cross + 1, after, 2);
    /* B3 ties with A3 at cross + 1: enqueue order. */
    uint64_t tie[] = {a3, b3};
    assert_leases(fx, cross + 1, tie, 2);
}

/* ---- Cases: starving ---- */

static void test_fsm_queue_order_starving_first_oldest_first(void **s)
{
    struct fx *fx = *s;
    /* Deferred requests never starve: they wait for their window. */
    uint64_t d = th_enqueue(fx->f, T0, "ent", TP_QTIER_DEFERRED, 30);
    uint64_t s1 = th_enqueue(fx->f, T0, "basic", TP_QTIER_BATCH, 0);
    uint64_t s2 = th_enqueue(fx->f, T0 + 1000, "basic", TP_QTIER_NORMAL, 0);
    uint64_t edge = th_enqueue(fx->f, T0 + 1500, "basic", TP_QTIER_BATCH, 0);
    uint64_t s3 = th_enqueue(fx->f, T0 + 1501, "basic", TP_QTIER_BATCH, 0);
    int64_t at = T0 + STARVE + 1500;
    uint64_t y = th_enqueue(fx->f, at, "ent", TP_QTIER_IMMEDIATE, 30);
    /* S1 and S2 have waited more than starve_ms, EDGE exactly that; S3 a
     * millisecond short of it. */
    uint64_t want[] = {s1, s2, edge, y, s3, d};
    assert_leases(fx, at, want, 6);
}

static void test_fsm_queue_order_starving_request_passed_over_if_unreservable(
    void **s)
{
    struct fx *fx = *s;
    hold_gpu(fx, T0);
    uint64_t old = enqueue_gpu(fx, T0, "basic", TP_QTIER_BATCH, 0);
    uint64_t young = th_enqueue(fx->f, T0 + STARVE, "basic", TP_QTIER_BATCH, 0);
    uint64_t want[] = {young};
    assert_leases(fx, T0 + STARVE, want, 1);
    assert_int_equal(th_req_state(fx->f, 0, old), TP_QSTATE_QUEUED);
    free_gpu(fx, T0 + STARVE);
    uint64_t now[] = {old};
    assert_leases(fx, T0 + STARVE, now, 1);
}

/* ---- Cases: the deferred tier ---- */

static void test_fsm_queue_order_deferred_only_when_nothing_else_waits(void **s)
{
    struct fx *fx = *s;
    uint64_t d = th_enqueue(fx->f, T0, "ent", TP_QTIER_DEFERRED, 30);
    uint64_t n = th_enqueue(fx->f, T0, "basic", TP_QTIER_NORMAL, 0);
    uint64_t want[] = {n, d};
    assert_leases(fx, T0, want, 2);

    /* A request that waits, even one that cannot be leased now, keeps the
     * deferred tier out until the window. */
    hold_gpu(fx, T0);
    uint64_t blocked = enqueue_gpu(fx, T0, "basic", TP_QTIER_BATCH, 0);
    uint64_t d2 = th_enqueue(fx->f, T0, "ent", TP_QTIER_DEFERRED, 30);
    assert_nothing_leased(fx, T0 + 1);
    assert_int_equal(th_cancel(fx->f, T0 + 2, blocked), QM_OK);
    uint64_t then[] = {d2};
    assert_leases(fx, T0 + 3, then, 1);
}

static void test_fsm_queue_order_deferred_inside_the_offpeak_window(void **s)
{
    struct fx *fx = *s;
    hold_gpu(fx, T0);
    enqueue_gpu(fx, T0, "basic", TP_QTIER_NORMAL, 0);
    /* 00:00-06:00 UTC by default: inside, the deferred tier is served after
     * the others, even while they hold requests. */
    int64_t night = MIDNIGHT + 3 * 60 * MIN;
    uint64_t d = th_enqueue(fx->f, night, "basic", TP_QTIER_DEFERRED, 0);
    uint64_t n = th_enqueue(fx->f, night, "basic", TP_QTIER_BATCH, 0);
    uint64_t want[] = {n, d};
    assert_leases(fx, night, want, 2);
    /* The window ends at 06:00. */
    uint64_t d2 = th_enqueue(fx->f, night, "basic", TP_QTIER_DEFERRED, 0);
    assert_nothing_leased(fx, MIDNIGHT + 6 * 60 * MIN);
    (void)d2;
}

static void test_fsm_queue_order_offpeak_window_across_midnight(void **s)
{
    struct fx *fx = *s;
    fx->s.offpeak_start_min = 22 * 60;
    fx->s.offpeak_end_min = 2 * 60;
    set_settings(fx, T0);
    hold_gpu(fx, T0);
    enqueue_gpu(fx, T0, "basic", TP_QTIER_NORMAL, 0);
    static const struct
    {
        int64_t at; /* from midnight */
        bool inside;
    } rows[] = {
        {-2 * 60 * MIN - 1, false}, /* 21:59:59.999 */
        {-2 * 60 * MIN, true},      /* 22:00 */
        {-1, true},                 /* 23:59:59.999 */
        {0, true},                  /* 00:00 */
        {2 * 60 * MIN - 1, true},   /* 01:59:59.999 */
        {2 * 60 * MIN, false},      /* 02:00 */
        {12 * 60 * MIN, false},     /* noon */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int64_t t = MIDNIGHT + rows[i].at;
        assert_int_equal(th_offpeak(&fx->s, t), rows[i].inside);
        uint64_t d = th_enqueue(fx->f, t, "basic", TP_QTIER_DEFERRED, 0);
        if (rows[i].inside) {
            uint64_t want[] = {d};
            assert_leases(fx, t, want, 1);
        } else {
            assert_nothing_leased(fx, t);
            assert_int_equal(th_cancel(fx->f, t, d), QM_OK);
        }
    }
    /* An empty window (start = end) never opens. */
    fx->s.offpeak_start_min = fx->s.offpeak_end_min = 0;
    set_settings(fx, MIDNIGHT + 13 * 60 * MIN);
    th_enqueue(fx->f, MIDNIGHT + 24 * 60 * MIN, "basic", TP_QTIER_DEFERRED, 0);
    assert_nothing_leased(fx, MIDNIGHT + 24 * 60 * MIN);
}

/* ---- Cases: what can be reserved ---- */

static void test_fsm_queue_order_lease_skips_what_it_cannot_reserve(void **s)
{
    struct fx *fx = *s;
    hold_gpu(fx, T0);
    uint64_t a = enqueue_gpu(fx, T0, "ent", TP_QTIER_IMMEDIATE, 30);
    uint64_t b = th_enqueue(fx->f, T0, "basic", TP_QTIER_BATCH, 0);
    uint64_t want[] = {b};
    assert_leases(fx, T0, want, 1);
    assert_int_equal(th_req_state(fx->f, 0, a), TP_QSTATE_QUEUED);
    assert_nothing_leased(fx, T0);
    free_gpu(fx, T0 + 1);
    struct tp_lease l;
    assert_int_equal(th_lease(fx->f, T0 + 1, "w", 0, &l), QM_OK);
    assert_int_equal(l.id, a);
    assert_true(l.reservation > 0);
}

static void test_fsm_queue_order_lease_skips_a_client_at_its_concurrency(
    void **s)
{
    struct fx *fx = *s;
    /* The basic tier allows 5 open reservations per client. */
    uint64_t ids[6];
    for (int i = 0; i < 6; i++) {
        struct tp_submit sb;
        th_submit_args(&sb, "basic", TP_QTIER_FAST, 30);
        th_submit_need(&sb, "cpu", U);
        assert_int_equal(th_submit(fx->f, T0, &sb, &ids[i]), QM_OK);
    }
    uint64_t other = th_enqueue(fx->f, T0, "std", TP_QTIER_BATCH, 0);
    uint64_t want[] = {ids[0], ids[1], ids[2], ids[3], ids[4], other};
    assert_leases(fx, T0, want, 6);
    assert_int_equal(th_req_state(fx->f, 0, ids[5]), TP_QSTATE_QUEUED);
    /* One completes: the sixth gets its turn. */
    assert_int_equal(th_complete_all(fx->f, T0 + 1, ids[0], 1), QM_OK);
    uint64_t then[] = {ids[5]};
    assert_leases(fx, T0 + 1, then, 1);
}

static void test_fsm_queue_order_lease_tries_at_most_64_candidates(void **s)
{
    struct fx *fx = *s;
    /* A lease looks at 64 requests in dispatch order at most (so that it
     * costs O(log n)); the 65th is not reached while the first 64 cannot
     * be reserved. */
    hold_gpu(fx, T0);
    for (int i = 0; i < 64; i++) {
        enqueue_gpu(fx, T0, "std", TP_QTIER_NORMAL, 0);
    }
    uint64_t last = th_enqueue(fx->f, T0, "std", TP_QTIER_NORMAL, 0);
    assert_nothing_leased(fx, T0);
    assert_int_equal(th_req_state(fx->f, 0, last), TP_QSTATE_QUEUED);
    /* With one of them gone, the 64th candidate is the free one. */
    assert_int_equal(th_cancel(fx->f, T0, last - 1), QM_OK);
    uint64_t want[] = {last};
    assert_leases(fx, T0, want, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_fsm_queue_order_tiers_strictly_immediate_to_batch),
        T(test_fsm_queue_order_by_priority_then_enqueue_order),
        T(test_fsm_queue_order_older_ahead_exactly_when_wait_makes_up),
        T(test_fsm_queue_order_capped_and_growing_compared_at_lease_time),
        T(test_fsm_queue_order_starving_first_oldest_first),
        T(test_fsm_queue_order_starving_request_passed_over_if_unreservable),
        T(test_fsm_queue_order_deferred_only_when_nothing_else_waits),
        T(test_fsm_queue_order_deferred_inside_the_offpeak_window),
        T(test_fsm_queue_order_offpeak_window_across_midnight),
        T(test_fsm_queue_order_lease_skips_what_it_cannot_reserve),
        T(test_fsm_queue_order_lease_skips_a_client_at_its_concurrency),
        T(test_fsm_queue_order_lease_tries_at_most_64_candidates),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
