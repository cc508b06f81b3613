/* Unit tests of dispatch (statemachine/fsm_op_dispatch.c): a lease reserves
 * the request's needs for its client in the same command; complete commits
 * that reservation with the used amounts (charged, the rest returned); fail
 * requeues until out of attempts; a lease that runs out requeues (a worker
 * timeout) on TICK, or when its worker answers late; a stale attempt token
 * is NOT_FOUND; cancel releases; a request is never held by two workers. */
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
#define U QM_MILLI
#define LEASE 10000LL

/* Client "std" (standard tier: $500 a month); pool "api" of 100 units at
 * $1 a unit and "gpu" of 2 units, free; neither refills. */
struct fx
{
    struct th_fsm *f;
};

static int setup(void **state)
{
    th_log_capture();
    struct fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->f = th_fsm_new();
    assert_int_equal(
        th_client_create(fx->f, T0, "std", TP_TIER_STANDARD, TH_TIER_BUDGET),
        QM_OK);
    assert_int_equal(
        th_pool_priced(fx->f, T0, "api", 100 * U, 0, TH_USD_PER_UNIT(1)),
        QM_OK);
    assert_int_equal(th_pool_priced(fx->f, T0, "gpu", 2 * U, 0, 0), QM_OK);
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

/* A request of "std" needing 10 api and 1 gpu, with @attempts. */
static uint64_t submit_job(struct fx *fx, int64_t t, uint64_t attempts)
{
    struct tp_submit s;
    uint64_t id;
    th_submit_args(&s, "std", TP_QTIER_NORMAL, 10);
    th_submit_need(&s, "api", 10 * U);
    th_submit_need(&s, "gpu", U);
    s.attempts = attempts;
    static const uint8_t payload[] = "{\"job\": 7}";
    s.payload.p = payload;
    s.payload.n = sizeof(payload) - 1;
    assert_int_equal(th_submit(fx->f, t, &s, &id), QM_OK);
    return id;
}

static struct tp_lease lease_ok(struct fx *fx,
                                int64_t t,
                                const char *worker,
                                int64_t lease_ms)
{
    struct tp_lease l;
    assert_int_equal(th_lease(fx->f, t, worker, lease_ms, &l), QM_OK);
    return l;
}

static struct tp_req_info info(struct fx *fx, uint64_t id)
{
    struct tp_req_info ri;
    assert_int_equal(th_req_get(fx->f, 0, id, &ri), QM_OK);
    return ri;
}

/* ---- Assertions ---- */

/* Both pools hold their full capacity and "std" holds nothing. */
static void assert_nothing_held(struct fx *fx, int64_t api_used)
{
    assert_int_equal(th_pool_tokens(fx->f, 0, "api"), 100 * U - api_used);
    assert_int_equal(th_pool_tokens(fx->f, 0, "gpu"), 2 * U);
    struct tp_client_info ci;
    assert_int_equal(th_client_get(fx->f, 0, "std", &ci), QM_OK);
    assert_int_equal(ci.open, 0);
    assert_int_equal(ci.reserved, 0);
}

static void assert_counts(struct fx *fx,
                          uint64_t queued,
                          uint64_t running,
                          uint64_t done,
                          uint64_t failed,
                          uint64_t timeouts,
                          uint64_t dispatched)
{
    struct tp_qtier_stats st = th_qtier_stats(fx->f, TP_QTIER_NORMAL);
    assert_int_equal(st.queued, queued);
    assert_int_equal(st.running, running);
    assert_int_equal(st.done, done);
    assert_int_equal(st.failed, failed);
    assert_int_equal(st.worker_timeouts, timeouts);
    assert_int_equal(st.dispatched, dispatched);
}

/* ---- Cases: lease ---- */

static void test_fsm_queue_dispatch_lease_reserves_the_needs(void **s)
{
    struct fx *fx = *s;
    uint64_t id = submit_job(fx, T0, 0);
    struct tp_lease l = lease_ok(fx, T0 + 5, "w1", 20000);
    assert_int_equal(l.id, id);
    assert_string_equal(l.client, "std");
    assert_int_equal(l.qtier, TP_QTIER_NORMAL);
    assert_int_equal(l.attempt, 1);
    assert_int_equal(l.lease_expires_ms, T0 + 5 + 20000);
    assert_int_equal(l.payload.n, 10);
    assert_memory_equal(l.payload.p, "{\"job\": 7}", 10);
    assert_int_equal(l.nneeds, 2);
    assert_string_equal(l.needs[0].pool, "api");
    assert_int_equal(l.needs[0].amount, 10 * U);
    /* The reservation is the ledger's, for the request's client, for the
     * lease's time. */
    struct tp_res_info ri;
    assert_int_equal(th_res_get(fx->f, 0, l.reservation, &ri), QM_OK);
    assert_string_equal(ri.client, "std");
    assert_int_equal(ri.namounts, 2);
    assert_int_equal(ri.expires_at_ms, l.lease_expires_ms);
    assert_int_equal(ri.estimate, TH_USD(10));
    assert_int_equal(th_pool_tokens(fx->f, 0, "api"), 90 * U);
    assert_int_equal(th_pool_tokens(fx->f, 0, "gpu"), U);
    struct tp_client_info ci;
    assert_int_equal(th_client_get(fx->f, 0, "std", &ci), QM_OK);
    assert_int_equal(ci.open, 1);
    assert_int_equal(ci.reserved, TH_USD(10));

    struct tp_req_info r = info(fx, id);
    assert_int_equal(r.state, TP_QSTATE_RUNNING);
    assert_string_equal(r.worker, "w1");
    assert_int_equal(r.reservation, l.reservation);
    assert_int_equal(r.lease_expires_ms, l.lease_expires_ms);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(r.max_attempts, 3); /* the default */
    assert_counts(fx, 0, 1, 0, 0, 0, 1);
}

static void test_fsm_queue_dispatch_default_lease_from_settings(void **s)
{
    struct fx *fx = *s;
    submit_job(fx, T0, 0);
    assert_int_equal(lease_ok(fx, T0, "w", 0).lease_expires_ms, T0 + 60000);
    struct tp_qsettings qs;
    th_qsettings_defaults(&qs);
    qs.lease_ms = 5000;
    assert_int_equal(th_qsettings_set(fx->f, T0, &qs), QM_OK);
    uint64_t none = th_enqueue(fx->f, T0, "std", TP_QTIER_NORMAL, 0);
    struct tp_lease l = lease_ok(fx, T0, "w", 0);
    assert_int_equal(l.id, none);
    assert_int_equal(l.lease_expires_ms, T0 + 5000);
    /* A request without needs holds no reservation. */
    assert_int_equal(l.reservation, 0);
}

static void test_fsm_queue_dispatch_never_to_two_workers(void **s)
{
    struct fx *fx = *s;
    uint64_t id = submit_job(fx, T0, 0);
    assert_int_equal(lease_ok(fx, T0, "w1", LEASE).id, id);
    assert_int_equal(th_lease(fx->f, T0 + 1, "w2", LEASE, NULL), QM_DENIED);
    /* Until its lease runs out and TICK requeues it. */
    assert_int_equal(th_tick(fx->f, T0 + LEASE), QM_OK);
    struct tp_lease l = lease_ok(fx, T0 + LEASE, "w2", LEASE);
    assert_int_equal(l.id, id);
    assert_int_equal(l.attempt, 2);
    assert_int_equal(th_complete_all(fx->f, T0 + LEASE + 1, id, 1),
                     QM_NOT_FOUND);
    assert_string_equal(info(fx, id).worker, "w2");
}

static void test_fsm_queue_dispatch_retried_lease_gets_the_same_request(
    void **s)
{
    struct fx *fx = *s;
    uint64_t a = submit_job(fx, T0, 0);
    uint64_t b = th_enqueue(fx->f, T0, "std", TP_QTIER_NORMAL, 0);
    /* A worker whose reply was lost retries with its session and sequence
     * (on the new leader): the stored reply, not a second lease. */
    struct tp_lease_args la;
    memset(&la, 0, sizeof(la));
    snprintf(la.worker, sizeof(la.worker), "w1");
    struct tp_lease l1, l2;
    assert_int_equal(
        th_fsm_do(fx->f, T0, TP_OP_QUEUE_LEASE, 7, 1, &tp_lease_args_schema,
                  &la, &tp_lease_schema, &l1),
        QM_OK);
    assert_int_equal(
        th_fsm_do(fx->f, T0 + 1, TP_OP_QUEUE_LEASE, 7, 1, &tp_lease_args_schema,
                  &la, &tp_lease_schema, &l2),
        QM_OK);
    assert_int_equal(l1.id, a);
    assert_int_equal(l2.id, a);
    assert_int_equal(l2.reservation, l1.reservation);
    assert_counts(fx, 1, 1, 0, 0, 0, 1);
    assert_int_equal(info(fx, b).state, TP_QSTATE_QUEUED);
}

/* ---- Cases: complete ---- */

static void test_fsm_queue_dispatch_complete_charges_used_returns_rest(void **s)
{
    struct fx *fx = *s;
    uint64_t id = submit_job(fx, T0, 0);
    struct tp_lease l = lease_ok(fx, T0, "w", LEASE);
    struct tp_complete c;
    th_complete_args(&c, id, l.attempt);
    th_complete_used(&c, "gpu", 0);
    th_complete_used(&c, "api", 4 * U);
    int64_t cost = -1;
    assert_int_equal(th_complete(fx->f, T0 + 100, &c, &cost), QM_OK);
    assert_int_equal(cost, TH_USD(4));
    assert_int_equal(th_spent(fx->f, 0, "std"), TH_USD(4));
    assert_nothing_held(fx, 4 * U);
    assert_int_equal(th_res_get(fx->f, 0, l.reservation, NULL), QM_NOT_FOUND);
    struct tp_req_info r = info(fx, id);
    assert_int_equal(r.state, TP_QSTATE_DONE);
    assert_int_equal(r.finished_ms, T0 + 100);
    assert_int_equal(r.reservation, 0);
    assert_counts(fx, 0, 0, 1, 0, 0, 1);
    /* Completing twice: it is not running any more. */
    assert_int_equal(th_complete_all(fx->f, T0 + 101, id, 0), QM_NOT_FOUND);
}

static void test_fsm_queue_dispatch_complete_without_amounts_uses_all(void **s)
{
    struct fx *fx = *s;
    uint64_t id = submit_job(fx, T0, 0);
    lease_ok(fx, T0, "w", LEASE);
    int64_t cost;
    struct tp_complete c;
    th_complete_args(&c, id, 0);
    assert_int_equal(th_complete(fx->f, T0 + 1, &c, &cost), QM_OK);
    assert_int_equal(cost, TH_USD(10));
    assert_int_equal(th_pool_tokens(fx->f, 0, "api"), 90 * U);
    assert_int_equal(th_pool_tokens(fx->f, 0, "gpu"), U);
}

static void test_fsm_queue_dispatch_complete_refuses_bad_amounts(void **s)
{
    struct fx *fx = *s;
    uint64_t id = submit_job(fx, T0, 0);
    struct tp_lease l = lease_ok(fx, T0, "w", LEASE);
    char before[33];
    th_fsm_digest(fx->f, before);
    struct tp_complete c;
    th_complete_args(&c, id, l.attempt);
    th_complete_used(&c, "api", 11 * U); /* more than reserved */
    th_complete_used(&c, "gpu", 0);
    assert_int_equal(th_complete(fx->f, T0, &c, NULL), QM_INVALID);
    th_complete_args(&c, id, l.attempt);
    th_complete_used(&c, "api", U); /* one pool of two */
    assert_int_equal(th_complete(fx->f, T0, &c, NULL), QM_INVALID);
    th_assert_digest(fx->f, before);
    assert_int_equal(info(fx, id).state, TP_QSTATE_RUNNING);

    /* A request without needs takes no amounts. */
    uint64_t none = th_enqueue(fx->f, T0, "std", TP_QTIER_NORMAL, 0);
    assert_int_equal(lease_ok(fx, T0, "w", LEASE).id, none);
    th_complete_args(&c, none, 1);
    th_complete_used(&c, "api", U);
    assert_int_equal(th_complete(fx->f, T0, &c, NULL), QM_INVALID);
    th_assert_message(fx->f, "needs no pool");
    assert_int_equal(th_complete_all(fx->f, T0, none, 1), QM_OK);
}

/* ---- Cases: fail and retries ---- */

static void test_fsm_queue_dispatch_fail_requeues_until_out_of_attempts(
    void **s)
{
    struct fx *fx = *s;
    uint64_t id = submit_job(fx, T0, 2);
    assert_int_equal(lease_ok(fx, T0, "w", LEASE).attempt, 1);
    struct tp_fail_result fr;
    assert_int_equal(th_fail(fx->f, T0 + 1, id, 1, "upstream 503", &fr), QM_OK);
    assert_true(fr.requeued);
    assert_int_equal(fr.attempts, 1);
    struct tp_req_info r = info(fx, id);
    assert_int_equal(r.state, TP_QSTATE_QUEUED);
    assert_string_equal(r.reason, "upstream 503");
    assert_string_equal(r.worker, "");
    assert_nothing_held(fx, 0);
    assert_counts(fx, 1, 0, 0, 0, 0, 1);

    assert_int_equal(lease_ok(fx, T0 + 2, "w", LEASE).attempt, 2);
    assert_int_equal(th_fail(fx->f, T0 + 3, id, 2, "upstream 503", &fr), QM_OK);
    assert_false(fr.requeued);
    assert_int_equal(fr.attempts, 2);
    r = info(fx, id);
    assert_int_equal(r.state, TP_QSTATE_FAILED);
    assert_non_null(strstr(r.reason, "out of attempts"));
    assert_non_null(strstr(r.reason, "upstream 503"));
    assert_nothing_held(fx, 0);
    assert_counts(fx, 0, 0, 0, 1, 0, 2);
    assert_int_equal(th_lease(fx->f, T0 + 4, "w", LEASE, NULL), QM_DENIED);
}

static void test_fsm_queue_dispatch_default_attempts_from_settings(void **s)
{
    struct fx *fx = *s;
    uint64_t id = submit_job(fx, T0, 0);
    for (uint64_t k = 1; k <= 3; k++) {
        assert_int_equal(lease_ok(fx, T0, "w", LEASE).attempt, k);
        struct tp_fail_result fr;
        assert_int_equal(th_fail(fx->f, T0, id, k, "", &fr), QM_OK);
        assert_int_equal(fr.requeued, k < 3);
    }
    assert_int_equal(info(fx, id).state, TP_QSTATE_FAILED);
    assert_int_equal(info(fx, id).attempts, 3);
}

/* ---- Cases: leases that run out ---- */

static void test_fsm_queue_dispatch_lease_timeout_on_tick_requeues(void **s)
{
    struct fx *fx = *s;
    uint64_t id = submit_job(fx, T0, 2);
    struct tp_lease l = lease_ok(fx, T0, "w1", LEASE);
    assert_int_equal(th_tick(fx->f, T0 + LEASE - 1), QM_OK);
    assert_int_equal(info(fx, id).state, TP_QSTATE_RUNNING);
    assert_int_equal(th_tick(fx->f, T0 + LEASE), QM_OK);
    struct tp_req_info r = info(fx, id);
    assert_int_equal(r.state, TP_QSTATE_QUEUED);
    assert_non_null(strstr(r.reason, "lease of worker w1 ran out"));
    assert_int_equal(th_res_get(fx->f, 0, l.reservation, NULL), QM_NOT_FOUND);
    assert_nothing_held(fx, 0);
    assert_counts(fx, 1, 0, 0, 0, 1, 1);

    /* The last attempt runs out too: failed, a second timeout. */
    assert_int_equal(lease_ok(fx, T0 + LEASE, "w2", LEASE).attempt, 2);
    assert_int_equal(th_tick(fx->f, T0 + 2 * LEASE), QM_OK);
    r = info(fx, id);
    assert_int_equal(r.state, TP_QSTATE_FAILED);
    assert_non_null(strstr(r.reason, "out of attempts"));
    assert_nothing_held(fx, 0);
    assert_counts(fx, 0, 0, 0, 1, 2, 2);
}

static void test_fsm_queue_dispatch_late_answer_is_refused_and_requeues(
    void **s)
{
    struct fx *fx = *s;
    uint64_t id = submit_job(fx, T0, 0);
    struct tp_lease l = lease_ok(fx, T0, "w", LEASE);
    /* No TICK yet: the late complete finds the lease over, requeues the
     * request as TICK would, and says so. */
    assert_int_equal(th_complete_all(fx->f, T0 + LEASE, id, l.attempt),
                     QM_NOT_FOUND);
    th_assert_message(fx->f, "ran out; it was requeued");
    assert_int_equal(info(fx, id).state, TP_QSTATE_QUEUED);
    assert_nothing_held(fx, 0);
    assert_int_equal(th_spent(fx->f, 0, "std"), 0);
    assert_counts(fx, 1, 0, 0, 0, 1, 1);
    /* A late fail alike. */
    l = lease_ok(fx, T0 + LEASE, "w", LEASE);
    assert_int_equal(th_fail(fx->f, T0 + 3 * LEASE, id, l.attempt, "x", NULL),
                     QM_NOT_FOUND);
    assert_int_equal(info(fx, id).state, TP_QSTATE_QUEUED);
    assert_counts(fx, 1, 0, 0, 0, 2, 2);
    /* TICK afterwards finds nothing more to do. */
    assert_int_equal(th_tick(fx->f, T0 + 4 * LEASE), QM_OK);
    assert_counts(fx, 1, 0, 0, 0, 2, 2);
}

static void test_fsm_queue_dispatch_stale_attempt_token_is_not_found(void **s)
{
    struct fx *fx = *s;
    uint64_t id = submit_job(fx, T0, 0);
    lease_ok(fx, T0, "w1", LEASE);
    assert_int_equal(th_fail(fx->f, T0, id, 1, "", NULL), QM_OK);
    struct tp_lease l = lease_ok(fx, T0, "w2", LEASE);
    assert_int_equal(l.attempt, 2);
    char before[33];
    th_fsm_digest(fx->f, before);
    /* The first worker answers for its old lease: refused, no change. */
    assert_int_equal(th_complete_all(fx->f, T0, id, 1), QM_NOT_FOUND);
    th_assert_message(fx->f, "not leased as attempt 1");
    assert_int_equal(th_fail(fx->f, T0, id, 1, "", NULL), QM_NOT_FOUND);
    assert_int_equal(th_fail(fx->f, T0, id, 3, "", NULL), QM_NOT_FOUND);
    th_assert_digest(fx->f, before);
    /* Unknown requests. */
    assert_int_equal(th_complete_all(fx->f, T0, id + 100, 0), QM_NOT_FOUND);
    assert_int_equal(th_fail(fx->f, T0, id + 100, 0, "", NULL), QM_NOT_FOUND);
    /* Attempt 0 means the current lease. */
    assert_int_equal(th_complete_all(fx->f, T0, id, 0), QM_OK);
    assert_int_equal(info(fx, id).state, TP_QSTATE_DONE);
}

/* ---- Cases: cancel ---- */

static void test_fsm_queue_dispatch_cancel_queued_and_running(void **s)
{
    struct fx *fx = *s;
    uint64_t q = submit_job(fx, T0, 0);
    uint64_t r = submit_job(fx, T0 + 1, 0);
    assert_int_equal(th_cancel(fx->f, T0 + 2, q), QM_OK);
    struct tp_lease l = lease_ok(fx, T0 + 3, "w", LEASE);
    assert_int_equal(l.id, r);
    assert_int_equal(th_cancel(fx->f, T0 + 4, r), QM_OK);
    /* The running one's reservation went back; its worker is refused. */
    assert_int_equal(th_res_get(fx->f, 0, l.reservation, NULL), QM_NOT_FOUND);
    assert_nothing_held(fx, 0);
    assert_int_equal(th_complete_all(fx->f, T0 + 5, r, l.attempt),
                     QM_NOT_FOUND);
    assert_int_equal(info(fx, q).state, TP_QSTATE_CANCELLED);
    assert_int_equal(info(fx, r).state, TP_QSTATE_CANCELLED);
    assert_int_equal(info(fx, r).finished_ms, T0 + 4);
    struct tp_qtier_stats st = th_qtier_stats(fx->f, TP_QTIER_NORMAL);
    assert_int_equal(st.cancelled, 2);
    assert_int_equal(st.queued + st.running, 0);
    assert_int_equal(th_lease(fx->f, T0 + 5, "w", LEASE, NULL), QM_DENIED);
    /* Nothing to cancel twice, nor an unknown request; TICK at its old
     * lease's end does nothing. */
    assert_int_equal(th_cancel(fx->f, T0 + 6, r), QM_INVALID);
    th_assert_message(fx->f, "already cancelled");
    assert_int_equal(th_cancel(fx->f, T0 + 6, r + 1), QM_NOT_FOUND);
    assert_int_equal(th_tick(fx->f, T0 + 3 + LEASE), QM_OK);
    assert_int_equal(th_qtier_stats(fx->f, TP_QTIER_NORMAL).worker_timeouts, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_fsm_queue_dispatch_lease_reserves_the_needs),
        T(test_fsm_queue_dispatch_default_lease_from_settings),
        T(test_fsm_queue_dispatch_never_to_two_workers),
        T(test_fsm_queue_dispatch_retried_lease_gets_the_same_request),
        T(test_fsm_queue_dispatch_complete_charges_used_returns_rest),
        T(test_fsm_queue_dispatch_complete_without_amounts_uses_all),
        T(test_fsm_queue_dispatch_complete_refuses_bad_amounts),
        T(test_fsm_queue_dispatch_fail_requeues_until_out_of_attempts),
        T(test_fsm_queue_dispatch_default_attempts_from_settings),
        T(test_fsm_queue_dispatch_lease_timeout_on_tick_requeues),
        T(test_fsm_queue_dispatch_late_answer_is_refused_and_requeues),
        T(test_fsm_queue_dispatch_stale_attempt_token_is_not_found),
        T(test_fsm_queue_dispatch_cancel_queued_and_running),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
