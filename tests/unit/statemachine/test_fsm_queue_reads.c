/* Unit tests of the queue reads and settings (statemachine/fsm_op_queue.c,
 * fsm_op_dispatch.c): QUEUE_LIST with its filters and pages, QUEUE_STATS
 * counters against the requests' states, QUEUE_POSITION (rank in dispatch
 * order and a wait estimate from the interval between leases), and
 * QUEUE_SETTINGS get/set, where a new weight reorders the queue. */
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

#define T0 1709294400000LL /* 2024-03-01 12:00 UTC */
#define MIN 60000LL
#define LEASE 10000LL

/* Clients "ent", "std" and "basic"; a page of requests on the heap. */
struct fx
{
    struct th_fsm *f;
    struct tp_qsettings s;
    struct tp_req_page *page;
};

static int setup(void **state)
{
    th_log_capture();
    struct fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->f = th_fsm_new();
    fx->page = malloc(sizeof(*fx->page));
    assert_non_null(fx->page);
    assert_int_equal(
        th_client_create(fx->f, T0, "ent", TP_TIER_ENTERPRISE, TH_TIER_BUDGET),
        QM_OK);
    assert_int_equal(
        th_client_create(fx->f, T0, "std", TP_TIER_STANDARD, TH_TIER_BUDGET),
        QM_OK);
    assert_int_equal(
        th_client_create(fx->f, T0, "basic", TP_TIER_BASIC, TH_TIER_BUDGET),
        QM_OK);
    th_qsettings_defaults(&fx->s);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    th_fsm_free(fx->f);
    free(fx->page);
    free(fx);
    th_log_release();
    return 0;
}

/* ---- Helpers ---- */

/* QUEUE_LIST into fx->page. */
static const struct tp_req_page *list(struct fx *fx,
                                      const char *client,
                                      uint64_t qtier,
                                      uint64_t state,
                                      uint64_t after,
                                      uint64_t limit)
{
    struct tp_req_list_args a;
    memset(&a, 0, sizeof(a));
    snprintf(a.client, sizeof(a.client), "%s", client);
    a.qtier = qtier;
    a.state = state;
    a.after = after;
    a.limit = limit;
    assert_int_equal(th_req_list(fx->f, 0, &a, fx->page), QM_OK);
    return fx->page;
}

static struct tp_req_info position(struct fx *fx, int64_t now, uint64_t id)
{
    struct tp_req_info ri;
    assert_int_equal(th_position(fx->f, now, id, &ri), QM_OK);
    return ri;
}

/* TICK whenever fsm_next_deadline says one is due, up to @until, as the
 * leader does. */
static void run_ticks(struct fx *fx, int64_t until)
{
    for (;;) {
        int64_t due = fsm_next_deadline(fx->f->f);
        if (due > until) {
            return;
        }
        assert_int_equal(th_tick(fx->f, due), QM_OK);
    }
}

/* A mix of states in several tiers; returns how many requests. */
static int make_mix(struct fx *fx, uint64_t ids[12])
{
    static const struct
    {
        const char *client;
        uint64_t qtier;
    } rows[] = {
        {"ent", TP_QTIER_IMMEDIATE}, {"std", TP_QTIER_NORMAL},
        {"basic", TP_QTIER_BATCH},   {"std", TP_QTIER_NORMAL},
        {"ent", TP_QTIER_FAST},      {"basic", TP_QTIER_NORMAL},
        {"std", TP_QTIER_DEFERRED},  {"ent", TP_QTIER_BATCH},
        {"basic", TP_QTIER_FAST},    {"std", TP_QTIER_IMMEDIATE},
        {"ent", TP_QTIER_NORMAL},    {"basic", TP_QTIER_NORMAL},
    };
    for (int i = 0; i < 12; i++) {
        ids[i] = th_enqueue(fx->f, T0, rows[i].client, rows[i].qtier, 0);
    }
    /* Leases go immediate, fast, normal, each by priority: ids[0], [9],
     * [4], [8], [10]. */
    for (int i = 0; i < 5; i++) {
        th_lease_id(fx->f, T0 + 1, "w");
    }
    assert_int_equal(th_complete_all(fx->f, T0 + 2, ids[0], 1), QM_OK);
    assert_int_equal(th_fail(fx->f, T0 + 2, ids[9], 1, "x", NULL), QM_OK);
    assert_int_equal(th_cancel(fx->f, T0 + 3, ids[11]), QM_OK);
    assert_int_equal(th_cancel(fx->f, T0 + 3, ids[4]), QM_OK);
    /* done 1, cancelled 2 (one running), running 2, queued 7 */
    return 12;
}

/* ---- Assertions ---- */

static void assert_page_ids(const struct tp_req_page *pg,
                            const uint64_t *want,
                            uint32_t n,
                            bool more)
{
    assert_int_equal(pg->nreqs, n);
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(pg->reqs[i].id, want[i]);
    }
    assert_int_equal(pg->more, more);
}

/* ---- Cases: list ---- */

static void test_fsm_queue_reads_list_filters(void **s)
{
    struct fx *fx = *s;
    uint64_t id[12];
    make_mix(fx, id);
    uint64_t all[12];
    for (int i = 0; i < 12; i++) {
        all[i] = id[i];
    }
    assert_page_ids(list(fx, "", 0, 0, 0, 0), all, 12, false);
    uint64_t std[] = {id[1], id[3], id[6], id[9]};
    assert_page_ids(list(fx, "std", 0, 0, 0, 0), std, 4, false);
    uint64_t normal[] = {id[1], id[3], id[5], id[10], id[11]};
    assert_page_ids(list(fx, "", TP_QTIER_NORMAL, 0, 0, 0), normal, 5, false);
    uint64_t cancelled[] = {id[4], id[11]};
    assert_page_ids(list(fx, "", 0, TP_QSTATE_CANCELLED, 0, 0), cancelled, 2,
                    false);
    uint64_t both[] = {id[1], id[3]};
    assert_page_ids(list(fx, "std", TP_QTIER_NORMAL, TP_QSTATE_QUEUED, 0, 0),
                    both, 2, false);
    uint64_t three[] = {id[11]};
    assert_page_ids(
        list(fx, "basic", TP_QTIER_NORMAL, TP_QSTATE_CANCELLED, 0, 0), three, 1,
        false);
    assert_page_ids(list(fx, "nobody", 0, 0, 0, 0), NULL, 0, false);
    /* Records carry the request's fields. */
    const struct tp_req_page *pg = list(fx, "", 0, TP_QSTATE_RUNNING, 0, 0);
    assert_int_equal(pg->nreqs, 2);
    assert_string_equal(pg->reqs[0].worker, "w");
    assert_int_equal(pg->reqs[0].attempts, 1);
    assert_int_equal(pg->reqs[0].lease_expires_ms, T0 + 1 + 60000);
}

static void test_fsm_queue_reads_list_pages(void **s)
{
    struct fx *fx = *s;
    uint64_t id[12];
    make_mix(fx, id);
    uint64_t p1[] = {id[0], id[1], id[2], id[3], id[4]};
    assert_page_ids(list(fx, "", 0, 0, 0, 5), p1, 5, true);
    uint64_t p2[] = {id[5], id[6], id[7], id[8], id[9]};
    assert_page_ids(list(fx, "", 0, 0, id[4], 5), p2, 5, true);
    uint64_t p3[] = {id[10], id[11]};
    assert_page_ids(list(fx, "", 0, 0, id[9], 5), p3, 2, false);
    /* Exactly a page left: no more. */
    uint64_t last[] = {id[7], id[8], id[9], id[10], id[11]};
    assert_page_ids(list(fx, "", 0, 0, id[6], 5), last, 5, false);
    assert_page_ids(list(fx, "", 0, 0, UINT64_MAX, 5), NULL, 0, false);
    /* Pages of a filter count matches only. */
    uint64_t b1[] = {id[2], id[5]};
    assert_page_ids(list(fx, "basic", 0, 0, 0, 2), b1, 2, true);
    uint64_t b2[] = {id[8], id[11]};
    assert_page_ids(list(fx, "basic", 0, 0, id[5], 2), b2, 2, false);
}

/* ---- Cases: stats ---- */

static void test_fsm_queue_reads_stats_match_the_states(void **s)
{
    struct fx *fx = *s;
    uint64_t id[12];
    make_mix(fx, id);
    /* Timeouts on top: the two running requests requeued by TICK. */
    assert_int_equal(th_tick(fx->f, T0 + 1 + 60000), QM_OK);
    uint64_t want[TP_QTIERS + 1][TP_QSTATES + 1];
    memset(want, 0, sizeof(want));
    const struct tp_req_page *pg = list(fx, "", 0, 0, 0, 0);
    for (uint32_t i = 0; i < pg->nreqs; i++) {
        want[pg->reqs[i].qtier][pg->reqs[i].state]++;
    }
    struct tp_queue_stats qs;
    assert_int_equal(th_qstats(fx->f, 0, &qs), QM_OK);
    assert_int_equal(qs.ntiers, TP_QTIERS);
    uint64_t dispatched = 0, timeouts = 0;
    for (uint32_t i = 0; i < qs.ntiers; i++) {
        const struct tp_qtier_stats *t = &qs.tiers[i];
        assert_int_equal(t->qtier, i + 1);
        assert_int_equal(t->queued, want[t->qtier][TP_QSTATE_QUEUED]);
        assert_int_equal(t->running, want[t->qtier][TP_QSTATE_RUNNING]);
        assert_int_equal(t->done, want[t->qtier][TP_QSTATE_DONE]);
        assert_int_equal(t->failed, want[t->qtier][TP_QSTATE_FAILED]);
        assert_int_equal(t->cancelled, want[t->qtier][TP_QSTATE_CANCELLED]);
        dispatched += t->dispatched;
        timeouts += t->worker_timeouts;
    }
    assert_int_equal(dispatched, 5);
    assert_int_equal(timeouts, 2);
    assert_int_equal(qs.tiers[TP_QTIER_NORMAL - 1].worker_timeouts, 1);
    assert_int_equal(qs.tiers[TP_QTIER_FAST - 1].worker_timeouts, 1);
    assert_int_equal(qs.tiers[TP_QTIER_FAST - 1].dispatched, 2);
}

/* ---- Cases: position ---- */

static void test_fsm_queue_reads_position_in_dispatch_order(void **s)
{
    struct fx *fx = *s;
    uint64_t d = th_enqueue(fx->f, T0, "ent", TP_QTIER_DEFERRED, 30);
    uint64_t b = th_enqueue(fx->f, T0, "basic", TP_QTIER_BATCH, 0);
    uint64_t n1 = th_enqueue(fx->f, T0, "basic", TP_QTIER_NORMAL, 0);
    uint64_t n2 = th_enqueue(fx->f, T0, "ent", TP_QTIER_NORMAL, 0);
    uint64_t i = th_enqueue(fx->f, T0, "basic", TP_QTIER_IMMEDIATE, 0);
    /* Deferred last; starving ahead of everything. */
    uint64_t want[] = {i, n2, n1, b, d};
    for (uint64_t k = 0; k < 5; k++) {
        assert_int_equal(position(fx, T0, want[k]).position, k + 1);
    }
    /* Ten minutes on, all but the deferred one starve: oldest first,
     * then enqueue order, whatever the tier. */
    assert_int_equal(position(fx, T0 + 10 * MIN, b).position, 1);
    assert_int_equal(position(fx, T0 + 10 * MIN, n1).position, 2);
    assert_int_equal(position(fx, T0 + 10 * MIN, i).position, 4);
    assert_int_equal(position(fx, T0 + 10 * MIN, d).position, 5);
    /* Running and unknown requests have no position. */
    assert_int_equal(th_lease_id(fx->f, T0, "w"), i);
    struct tp_req_info ri = position(fx, T0, i);
    assert_int_equal(ri.state, TP_QSTATE_RUNNING);
    assert_int_equal(ri.position, 0);
    assert_int_equal(th_position(fx->f, T0, d + 100, NULL), QM_NOT_FOUND);
}

static void test_fsm_queue_reads_position_waits_by_the_lease_interval(void **s)
{
    struct fx *fx = *s;
    uint64_t id[6];
    for (int k = 0; k < 6; k++) {
        id[k] = th_enqueue(fx->f, T0, "std", TP_QTIER_NORMAL, 0);
    }
    /* No lease yet: no estimate. */
    assert_int_equal(position(fx, T0, id[5]).wait_ms, 0);
    /* Leases 2 s then 1 s apart: an average of 7/8 x 2000 + 1/8 x 1000. */
    th_lease_id(fx->f, T0 + 1000, "w");
    th_lease_id(fx->f, T0 + 3000, "w");
    assert_int_equal(position(fx, T0 + 3000, id[5]).wait_ms, 3 * 2000);
    th_lease_id(fx->f, T0 + 4000, "w");
    struct tp_req_info ri = position(fx, T0 + 4000, id[5]);
    assert_int_equal(ri.position, 3);
    assert_int_equal(ri.wait_ms, 2 * 1875);
    assert_int_equal(position(fx, T0 + 4000, id[3]).wait_ms, 0);
}

static void test_fsm_queue_reads_position_follows_capping_with_ticks(void **s)
{
    struct fx *fx = *s;
    /* A point per minute, capped after 20 minutes; deferred requests never
     * starve, so only priority orders them. */
    fx->s.aging_ms = MIN;
    assert_int_equal(th_qsettings_set(fx->f, T0, &fx->s), QM_OK);
    uint64_t old = th_enqueue(fx->f, T0, "std", TP_QTIER_DEFERRED, 0);
    run_ticks(fx, T0 + 25 * MIN);
    /* At T0 + 25 min the old one is capped at 20 wait points; a new one of
     * urgency 24 is ahead of it. */
    uint64_t young =
        th_enqueue(fx->f, T0 + 25 * MIN, "std", TP_QTIER_DEFERRED, 24);
    struct tp_req_info a, b;
    assert_int_equal(th_req_get(fx->f, 0, old, &a), QM_OK);
    assert_int_equal(th_req_get(fx->f, 0, young, &b), QM_OK);
    assert_true(b.priority > a.priority);
    assert_int_equal(position(fx, 0, young).position, 1);
    assert_int_equal(position(fx, 0, old).position, 2);
    assert_int_equal(th_lease_id(fx->f, T0 + 25 * MIN, "w"), young);
}

/* ---- Cases: settings ---- */

static void test_fsm_queue_reads_settings_default_then_set(void **s)
{
    struct fx *fx = *s;
    struct tp_qsettings got;
    assert_int_equal(th_qsettings_get(fx->f, 0, &got), QM_OK);
    assert_memory_equal(&got, &fx->s, sizeof(got));
    fx->s.w_wait = 3000;
    fx->s.offpeak_start_min = 23 * 60;
    fx->s.offpeak_end_min = 5 * 60;
    fx->s.max_attempts = 7;
    assert_int_equal(th_qsettings_set(fx->f, T0, &fx->s), QM_OK);
    assert_int_equal(th_qsettings_get(fx->f, 0, &got), QM_OK);
    assert_memory_equal(&got, &fx->s, sizeof(got));
    /* It is replicated state: it survives a restart. */
    th_fsm_reopen(fx->f);
    assert_int_equal(th_qsettings_get(fx->f, 0, &got), QM_OK);
    assert_memory_equal(&got, &fx->s, sizeof(got));
    uint64_t id = th_enqueue(fx->f, T0, "std", TP_QTIER_NORMAL, 0);
    struct tp_req_info ri;
    assert_int_equal(th_req_get(fx->f, 0, id, &ri), QM_OK);
    assert_int_equal(ri.max_attempts, 7);
}

static void test_fsm_queue_reads_settings_out_of_bounds_change_nothing(void **s)
{
    struct fx *fx = *s;
    char before[33];
    th_fsm_digest(fx->f, before);
    struct tp_qsettings bad[8];
    for (int k = 0; k < 8; k++) {
        bad[k] = fx->s;
    }
    bad[0].aging_ms = 0;
    bad[1].w_tier = 10001;
    bad[2].w_wait = -1;
    bad[3].offpeak_end_min = 24 * 60;
    bad[4].starve_ms = 999;
    bad[5].fair_half_life_ms = 999;
    bad[6].max_attempts = QM_ATTEMPTS_MAX + 1;
    bad[7].alert_queue_len = 0;
    for (int k = 0; k < 8; k++) {
        assert_int_equal(th_qsettings_set(fx->f, T0, &bad[k]), QM_INVALID);
    }
    th_assert_digest(fx->f, before);
}

static void test_fsm_queue_reads_settings_change_reorders_the_queue(void **s)
{
    struct fx *fx = *s;
    /* 40 + 0 + 10 = 50 against 10 + 25 + 10 = 45, until urgency weighs
     * double: 10 + 50 + 10 = 70. */
    uint64_t a = th_enqueue(fx->f, T0, "ent", TP_QTIER_NORMAL, 0);
    uint64_t b = th_enqueue(fx->f, T0, "basic", TP_QTIER_NORMAL, 25);
    assert_int_equal(position(fx, T0, a).position, 1);
    fx->s.w_urgency = 2000;
    assert_int_equal(th_qsettings_set(fx->f, T0 + 1, &fx->s), QM_OK);
    assert_int_equal(position(fx, T0 + 1, b).position, 1);
    assert_int_equal(position(fx, T0 + 1, a).position, 2);
    fx->s.w_urgency = 1000;
    assert_int_equal(th_qsettings_set(fx->f, T0 + 1, &fx->s), QM_OK);
    assert_int_equal(th_lease_id(fx->f, T0 + 2, "w"), a);
    assert_int_equal(th_lease_id(fx->f, T0 + 2, "w"), b);
}

static void test_fsm_queue_reads_settings_reindex_keeps_capped_order(void **s)
{
    struct fx *fx = *s;
    fx->s.starve_ms = 24 * 60 * MIN; /* out of the way */
    assert_int_equal(th_qsettings_set(fx->f, T0, &fx->s), QM_OK);
    /* Old (capped at 20) urgency 0, against young urgency 15: the old one
     * leads by 5 points; with w_wait halved its 10 wait points leave it 5
     * behind. */
    uint64_t old = th_enqueue(fx->f, T0, "std", TP_QTIER_NORMAL, 0);
    int64_t t = T0 + 30 * MIN;
    uint64_t young = th_enqueue(fx->f, t, "std", TP_QTIER_NORMAL, 15);
    assert_int_equal(th_tick(fx->f, t), QM_OK); /* migrates the old one */
    assert_int_equal(position(fx, t, old).position, 1);
    fx->s.w_wait = 500;
    assert_int_equal(th_qsettings_set(fx->f, t, &fx->s), QM_OK);
    assert_int_equal(position(fx, t, young).position, 1);
    assert_int_equal(th_lease_id(fx->f, t, "w"), young);
    assert_int_equal(th_lease_id(fx->f, t, "w"), old);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_fsm_queue_reads_list_filters),
        T(test_fsm_queue_reads_list_pages),
        T(test_fsm_queue_reads_stats_match_the_states),
        T(test_fsm_queue_reads_position_in_dispatch_order),
        T(test_fsm_queue_reads_position_waits_by_the_lease_interval),
        T(test_fsm_queue_reads_position_follows_capping_with_ticks),
        T(test_fsm_queue_reads_settings_default_then_set),
        T(test_fsm_queue_reads_settings_out_of_bounds_change_nothing),
        T(test_fsm_queue_reads_settings_change_reorders_the_queue),
        T(test_fsm_queue_reads_settings_reindex_keeps_capped_order),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
