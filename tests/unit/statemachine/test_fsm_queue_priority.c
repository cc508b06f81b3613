/* Unit tests of the queue priority (statemachine/fsm_queue.h): on a 0-100
 * scale, in milli-points, the client's tier points (0-40), the request's
 * urgency (0-30), the wait term (one point per aging_ms waited, capped at
 * 20) and fairness (10 points, falling with the client's decayed use), each
 * weighted per mille by replicated settings. Checked against the model in
 * th_queue.h through QUEUE_GET, and fsm_req_priority directly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsm.h"
#include "fsm_queue.h"
#include "qm_err.h"
#include "qm_limits.h"
#include "th_cmocka.h"
#include "th_fsm.h"
#include "th_ledger.h"
#include "th_log.h"
#include "th_queue.h"
#include "th_rng.h"

/* ---- Fixture ---- */

#define T0 1709294400000LL /* 2024-03-01 12:00 UTC: outside off-peak */
#define AGING 30000LL      /* the default aging_ms */
#define HOUR 3600000LL
#define PT 1000LL /* one point, in milli-points */

/* Clients of each tier (tier points 40, 30, 20, 10 by default). */
struct fx
{
    struct th_fsm *f;
    struct tp_qsettings s; /* the settings in force */
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

static int64_t priority_at(struct fx *fx, uint64_t id, int64_t now)
{
    struct tp_req_info ri;
    assert_int_equal(th_req_get(fx->f, now, id, &ri), QM_OK);
    return ri.priority;
}

static void set_settings(struct fx *fx, int64_t t)
{
    assert_int_equal(th_qsettings_set(fx->f, t, &fx->s), QM_OK);
}

/* Submit @n requests of @client at @t and lease them all at @t: @n
 * dispatches for fairness. */
static void dispatch_n(struct fx *fx, const char *client, int n, int64_t t)
{
    for (int i = 0; i < n; i++) {
        th_enqueue(fx->f, t, client, TP_QTIER_NORMAL, 0);
    }
    for (int i = 0; i < n; i++) {
        th_lease_id(fx->f, t, "w");
    }
}

/* ---- Assertions ---- */

static void assert_priority(struct fx *fx,
                            uint64_t id,
                            int64_t now,
                            int64_t want)
{
    int64_t got = priority_at(fx, id, now);
    if (got != want) {
        fail_msg("q%llu at +%lld ms: priority %lld, expected %lld",
                 (unsigned long long)id, (long long)(now - T0), (long long)got,
                 (long long)want);
    }
}

/* ---- Cases: the factors ---- */

static void test_fsm_queue_priority_each_factor_at_default_weights(void **s)
{
    struct fx *fx = *s;
    static const struct
    {
        const char *client;
        int64_t tier_pts;
        int64_t urgency;
    } rows[] = {
        {"ent", 40, 0},   {"prem", 30, 0}, {"std", 20, 0},  {"basic", 10, 0},
        {"basic", 10, 7}, {"std", 20, 30}, {"ent", 40, 30},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        uint64_t id = th_enqueue(fx->f, T0, rows[i].client, TP_QTIER_NORMAL,
                                 rows[i].urgency);
        /* A fresh client has all 10 fairness points; nothing waited. */
        int64_t want = rows[i].tier_pts * PT + rows[i].urgency * PT + 10 * PT;
        assert_priority(fx, id, T0, want);
        assert_int_equal(want, th_prio(&fx->s, rows[i].tier_pts,
                                       rows[i].urgency, 10 * PT, 0));
    }
    /* The top of the scale: 40 + 30 + 10 + 20 = 100 points. */
    uint64_t top = th_enqueue(fx->f, T0, "ent", TP_QTIER_NORMAL, 30);
    assert_priority(fx, top, T0 + 20 * AGING, 100 * PT);
    assert_priority(fx, top, T0 + 1000 * AGING, 100 * PT);
}

static void test_fsm_queue_priority_weights_come_from_settings(void **s)
{
    struct fx *fx = *s;
    fx->s.w_tier = 500;
    fx->s.w_urgency = 2000;
    fx->s.w_fair = 250;
    fx->s.w_wait = 1500;
    set_settings(fx, T0);
    struct tp_qsettings got;
    assert_int_equal(th_qsettings_get(fx->f, T0, &got), QM_OK);
    assert_memory_equal(&got, &fx->s, sizeof(got));

    uint64_t id = th_enqueue(fx->f, T0, "prem", TP_QTIER_FAST, 12);
    /* 0.5 x 30 + 2 x 12 + 0.25 x 10 = 41.5 points; 1.5 per aging. */
    assert_priority(fx, id, T0, 41500);
    assert_priority(fx, id, T0 + 3 * AGING, 41500 + 4500);
    assert_priority(fx, id, T0 + 20 * AGING, 41500 + 30000);
    assert_priority(fx, id, T0 + 90 * AGING, 41500 + 30000);
    assert_int_equal(th_prio(&fx->s, 30, 12, 10 * PT, 3 * AGING), 46000);

    /* Weights of 0 remove a factor. */
    fx->s.w_tier = fx->s.w_urgency = fx->s.w_fair = fx->s.w_wait = 0;
    set_settings(fx, T0);
    assert_priority(fx, id, T0 + 5 * AGING, 0);
}

static void test_fsm_queue_priority_wait_grows_a_point_per_aging_and_caps(
    void **s)
{
    struct fx *fx = *s;
    uint64_t id = th_enqueue(fx->f, T0, "basic", TP_QTIER_BATCH, 0);
    int64_t base = 10 * PT + 10 * PT;
    for (int64_t k = 0; k <= 25; k++) {
        int64_t pts = k < 20 ? k : 20;
        assert_priority(fx, id, T0 + k * AGING, base + pts * PT);
    }
    /* In between, in proportion (milli-points, rounded down). */
    assert_priority(fx, id, T0 + AGING / 2, base + 500);
    assert_priority(fx, id, T0 + 29, base + 0);
    assert_priority(fx, id, T0 + 30, base + 1);
    assert_priority(fx, id, T0 + 20 * AGING - 1, base + 19999);

    /* aging_ms is a setting: one point per 10 s, the cap after 200 s. */
    fx->s.aging_ms = 10000;
    set_settings(fx, T0);
    assert_priority(fx, id, T0 + 30000, base + 3 * PT);
    assert_priority(fx, id, T0 + 200000, base + 20 * PT);
    assert_priority(fx, id, T0 + 900000, base + 20 * PT);
}

static void test_fsm_queue_priority_wait_counts_from_the_first_enqueue(void **s)
{
    struct fx *fx = *s;
    uint64_t id = th_enqueue(fx->f, T0, "std", TP_QTIER_NORMAL, 5);
    int64_t base = (20 + 5 + 10) * PT;
    assert_int_equal(th_lease_id(fx->f, T0 + 2 * AGING, "w"), id);
    assert_int_equal(th_fail(fx->f, T0 + 3 * AGING, id, 1, "retry", NULL),
                     QM_OK);
    /* Requeued: it keeps the time it first entered the queue. */
    assert_priority(fx, id, T0 + 4 * AGING, base + 4 * PT);
    struct tp_req_info ri;
    assert_int_equal(th_req_get(fx->f, T0 + 4 * AGING, id, &ri), QM_OK);
    assert_int_equal(ri.enqueued_ms, T0);
}

/* ---- Cases: fairness ---- */

static void test_fsm_queue_priority_fairness_falls_with_use(void **s)
{
    struct fx *fx = *s;
    /* Probes wait in the deferred tier, which is not leased while the
     * normal tier holds requests (outside off-peak), so only dispatch_n's
     * requests are dispatched. */
    uint64_t before = th_enqueue(fx->f, T0, "std", TP_QTIER_DEFERRED, 0);
    dispatch_n(fx, "std", 10, T0);
    /* Ten recent dispatches = fair_scale: half the fairness points. */
    uint64_t id = th_enqueue(fx->f, T0, "std", TP_QTIER_DEFERRED, 0);
    assert_priority(fx, id, T0, 20 * PT + 5 * PT);
    /* Fairness is taken when a request is submitted: one submitted before
     * the dispatches keeps its 10 points; other clients are untouched. */
    assert_priority(fx, before, T0, 20 * PT + 10 * PT);
    uint64_t other = th_enqueue(fx->f, T0, "prem", TP_QTIER_DEFERRED, 0);
    assert_priority(fx, other, T0, 30 * PT + 10 * PT);

    /* Ten more: 10 x 10/(10 + 20) = 3.333 points. */
    dispatch_n(fx, "std", 10, T0);
    uint64_t third = th_enqueue(fx->f, T0, "std", TP_QTIER_DEFERRED, 0);
    assert_priority(fx, third, T0, 20 * PT + 3333);
    assert_int_equal(th_qtier_stats(fx->f, TP_QTIER_NORMAL).dispatched, 20);
    assert_int_equal(th_qtier_stats(fx->f, TP_QTIER_DEFERRED).dispatched, 0);

    struct th_use use = {0, 0};
    for (int i = 0; i < 20; i++) {
        th_use_dispatch(&fx->s, &use, T0);
    }
    assert_int_equal(use.u, 20000);
    assert_int_equal(th_fairness(&fx->s, &use, T0), 3333);
}

static void test_fsm_queue_priority_fairness_recovers_by_half_lives(void **s)
{
    struct fx *fx = *s;
    dispatch_n(fx, "std", 10, T0);
    /* Use 10 dispatches, halved per hour: 5, 2.5, then 2^-0.5 x 10 at half
     * an hour (7.071: 10 x 10/17.071 = 5.857 points). */
    static const struct
    {
        int64_t after;
        int64_t fair_m;
    } rows[] = {
        {0, 5000},        {HOUR / 2, 5857},   {HOUR, 6666},
        {2 * HOUR, 8000}, {70 * HOUR, 10000},
    };
    struct th_use use = {10000, T0};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int64_t t = T0 + rows[i].after;
        uint64_t id = th_enqueue(fx->f, t, "std", TP_QTIER_NORMAL, 0);
        assert_priority(fx, id, t, 20 * PT + rows[i].fair_m);
        assert_int_equal(th_fairness(&fx->s, &use, t), rows[i].fair_m);
    }
    /* In steps of 1/64 of a half-life: a millisecond short of an hour is
     * still the 63/64 step. */
    assert_int_equal(th_decay(10000, HOUR - 1, HOUR),
                     th_decay(10000, HOUR * 63 / 64, HOUR));
    assert_int_equal(th_decay(10000, HOUR, HOUR), 5000);
}

static void test_fsm_queue_priority_fairness_settings_scale_and_half_life(
    void **s)
{
    struct fx *fx = *s;
    dispatch_n(fx, "std", 10, T0);
    fx->s.fair_scale = 20;
    fx->s.fair_half_life_ms = HOUR / 2;
    set_settings(fx, T0);
    /* 10 x 20/(20 + 10) = 6.666 now; after an hour (two half-lives) the
     * use is 2.5: 10 x 20/22.5 = 8.888. */
    uint64_t a = th_enqueue(fx->f, T0, "std", TP_QTIER_NORMAL, 0);
    assert_priority(fx, a, T0, 20 * PT + 6666);
    uint64_t b = th_enqueue(fx->f, T0 + HOUR, "std", TP_QTIER_NORMAL, 0);
    assert_priority(fx, b, T0 + HOUR, 20 * PT + 8888);
    /* With w_fair 0 fairness plays no part. */
    fx->s.w_fair = 0;
    set_settings(fx, T0 + HOUR);
    assert_priority(fx, b, T0 + HOUR, 20 * PT);
}

/* ---- Cases: the tier points ---- */

static void test_fsm_queue_priority_tier_points_taken_at_submit(void **s)
{
    struct fx *fx = *s;
    uint64_t before = th_enqueue(fx->f, T0, "std", TP_QTIER_NORMAL, 0);
    struct tp_tier_set ts;
    memset(&ts, 0, sizeof(ts));
    ts.tier = TP_TIER_STANDARD;
    ts.set = TP_SET_PRIORITY;
    ts.priority = 35;
    assert_int_equal(th_tier_set(fx->f, T0, &ts), QM_OK);
    uint64_t after = th_enqueue(fx->f, T0, "std", TP_QTIER_NORMAL, 0);
    assert_priority(fx, before, T0, 20 * PT + 10 * PT);
    assert_priority(fx, after, T0, 35 * PT + 10 * PT);
    /* A client moved to another tier: new requests get its points. */
    assert_int_equal(th_client_set_tier(fx->f, T0, "std", TP_TIER_BASIC),
                     QM_OK);
    uint64_t moved = th_enqueue(fx->f, T0, "std", TP_QTIER_NORMAL, 0);
    assert_priority(fx, moved, T0, 10 * PT + 10 * PT);
}

/* ---- Cases: fsm_req_priority ---- */

static void test_fsm_queue_priority_function_matches_the_model(void **s)
{
    (void)s;
    struct th_rng rng;
    th_rng_seed(&rng, 0x9a11);
    for (int i = 0; i < 20000; i++) {
        struct tp_qsettings qs;
        th_qsettings_defaults(&qs);
        qs.w_tier = (int64_t)th_rng_below(&rng, 10001);
        qs.w_urgency = (int64_t)th_rng_below(&rng, 10001);
        qs.w_wait = (int64_t)th_rng_below(&rng, 10001);
        qs.w_fair = (int64_t)th_rng_below(&rng, 10001);
        qs.aging_ms = 1 + (int64_t)th_rng_below(&rng, 86400000);
        struct fsm_req r;
        memset(&r, 0, sizeof(r));
        r.tier_pts = (int64_t)th_rng_below(&rng, 41);
        r.urgency = (int64_t)th_rng_below(&rng, 31);
        r.fair_m = (int64_t)th_rng_below(&rng, 10001);
        r.enq_ms = T0;
        /* Before, at, around and long after the cap. */
        int64_t span = 25 * qs.aging_ms;
        int64_t now = T0 - 1000 + (int64_t)th_rng_below(&rng, (uint64_t)span);
        int64_t want = th_prio(&qs, r.tier_pts, r.urgency, r.fair_m, now - T0);
        assert_int_equal(fsm_req_priority(&qs, &r, now), want);
        assert_int_equal(fsm_req_static(&qs, &r),
                         th_prio_static(&qs, r.tier_pts, r.urgency, r.fair_m));
    }
}

static void test_fsm_queue_priority_of_get_is_at_the_read_time(void **s)
{
    struct fx *fx = *s;
    uint64_t id = th_enqueue(fx->f, T0, "ent", TP_QTIER_IMMEDIATE, 3);
    int64_t base = (40 + 3 + 10) * PT;
    /* A read later than cluster time shows the priority then; an earlier
     * one, at cluster time. */
    assert_priority(fx, id, T0 + 7 * AGING, base + 7 * PT);
    assert_int_equal(th_tick(fx->f, T0 + 2 * AGING), QM_OK);
    assert_priority(fx, id, 0, base + 2 * PT);
    /* Running and finished requests report their priority too. */
    assert_int_equal(th_lease_id(fx->f, T0 + 4 * AGING, "w"), id);
    assert_priority(fx, id, T0 + 4 * AGING, base + 4 * PT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_fsm_queue_priority_each_factor_at_default_weights),
        T(test_fsm_queue_priority_weights_come_from_settings),
        T(test_fsm_queue_priority_wait_grows_a_point_per_aging_and_caps),
        T(test_fsm_queue_priority_wait_counts_from_the_first_enqueue),
        T(test_fsm_queue_priority_fairness_falls_with_use),
        T(test_fsm_queue_priority_fairness_recovers_by_half_lives),
        T(test_fsm_queue_priority_fairness_settings_scale_and_half_life),
        T(test_fsm_queue_priority_tier_points_taken_at_submit),
        T(test_fsm_queue_priority_function_matches_the_model),
        T(test_fsm_queue_priority_of_get_is_at_the_read_time),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
