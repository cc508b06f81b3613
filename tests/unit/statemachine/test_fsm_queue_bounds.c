/* Unit tests of the bounds of the queue commands (design.md rule 5): a
 * payload of up to 64 KiB, urgency 0-30, a queue tier 1-5, an existing
 * client and existing pools within their capacity, bounded attempts,
 * deadlines and leases. A refused command answers INVALID or NOT_FOUND and
 * changes nothing. */
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

/* Client "std"; pools "api" (100 units) and "gpu" (2 units). */
struct fx
{
    struct th_fsm *f;
    uint8_t *payload; /* QM_PAYLOAD_MAX + 1 bytes */
};

static int setup(void **state)
{
    th_log_capture();
    struct fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->f = th_fsm_new();
    fx->payload = malloc(QM_PAYLOAD_MAX + 1);
    assert_non_null(fx->payload);
    for (size_t i = 0; i <= QM_PAYLOAD_MAX; i++) {
        fx->payload[i] = (uint8_t)(i * 7 + i / 251);
    }
    assert_int_equal(
        th_client_create(fx->f, T0, "std", TP_TIER_STANDARD, TH_TIER_BUDGET),
        QM_OK);
    assert_int_equal(th_pool_priced(fx->f, T0, "api", 100 * U, 0, 0), QM_OK);
    assert_int_equal(th_pool_priced(fx->f, T0, "gpu", 2 * U, 0, 0), QM_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    th_fsm_free(fx->f);
    free(fx->payload);
    free(fx);
    th_log_release();
    return 0;
}

/* ---- Helpers ---- */

/* A valid submit: "std", normal tier, urgency 5, 1 api. */
static void valid_submit(struct tp_submit *s)
{
    th_submit_args(s, "std", TP_QTIER_NORMAL, 5);
    th_submit_need(s, "api", U);
}

/* ---- Assertions ---- */

/* @s is refused with @status and a message mentioning @what; the state is
 * as before (same digest, nothing queued) and the next request still gets
 * id 1. */
static void assert_refused(struct fx *fx,
                           const struct tp_submit *s,
                           int status,
                           const char *what)
{
    char before[33];
    th_fsm_digest(fx->f, before);
    int st = th_submit(fx->f, T0, s, NULL);
    if (st != status) {
        fail_msg("expected %s, got %s", qm_errname(status), qm_errname(st));
    }
    th_assert_message(fx->f, what);
    th_assert_digest(fx->f, before);
    assert_int_equal(
        th_qtier_stats(
            fx->f, s->qtier >= 1 && s->qtier <= 5 ? s->qtier : TP_QTIER_NORMAL)
            .queued,
        0);
}

/* ---- Cases: payload ---- */

static void test_fsm_queue_bounds_payload_of_64_kib_leased_back(void **s)
{
    struct fx *fx = *s;
    struct tp_submit sb;
    valid_submit(&sb);
    sb.payload.p = fx->payload;
    sb.payload.n = QM_PAYLOAD_MAX;
    uint64_t id;
    assert_int_equal(th_submit(fx->f, T0, &sb, &id), QM_OK);
    struct tp_lease l;
    assert_int_equal(th_lease(fx->f, T0, "w", 0, &l), QM_OK);
    assert_int_equal(l.id, id);
    assert_int_equal(l.payload.n, QM_PAYLOAD_MAX);
    assert_memory_equal(l.payload.p, fx->payload, QM_PAYLOAD_MAX);
    /* Still intact when leased again after a failure, and after a
     * restart. */
    assert_int_equal(th_fail(fx->f, T0, id, 1, "", NULL), QM_OK);
    th_fsm_reopen(fx->f);
    assert_int_equal(th_lease(fx->f, T0, "w", 0, &l), QM_OK);
    assert_int_equal(l.attempt, 2);
    assert_int_equal(l.payload.n, QM_PAYLOAD_MAX);
    assert_memory_equal(l.payload.p, fx->payload, QM_PAYLOAD_MAX);
}

static void test_fsm_queue_bounds_payload_over_64_kib_refused(void **s)
{
    struct fx *fx = *s;
    struct tp_submit sb;
    valid_submit(&sb);
    sb.payload.p = fx->payload;
    sb.payload.n = QM_PAYLOAD_MAX + 1;
    assert_refused(fx, &sb, QM_INVALID, "payload");
}

/* ---- Cases: submit arguments ---- */

static void test_fsm_queue_bounds_urgency_and_tier(void **s)
{
    struct fx *fx = *s;
    struct tp_submit sb;
    valid_submit(&sb);
    sb.urgency = 31;
    assert_refused(fx, &sb, QM_INVALID, "urgency");
    sb.urgency = -1;
    assert_refused(fx, &sb, QM_INVALID, "urgency");
    valid_submit(&sb);
    sb.qtier = 0;
    assert_refused(fx, &sb, QM_INVALID, "qtier");
    sb.qtier = TP_QTIERS + 1;
    assert_refused(fx, &sb, QM_INVALID, "qtier");
    /* The edges are fine. */
    valid_submit(&sb);
    sb.urgency = 30;
    sb.qtier = TP_QTIER_DEFERRED;
    uint64_t id;
    assert_int_equal(th_submit(fx->f, T0, &sb, &id), QM_OK);
    assert_int_equal(id, 1);
}

static void test_fsm_queue_bounds_client_and_pools(void **s)
{
    struct fx *fx = *s;
    struct tp_submit sb;
    valid_submit(&sb);
    snprintf(sb.client, sizeof(sb.client), "nobody");
    assert_refused(fx, &sb, QM_NOT_FOUND, "nobody");
    snprintf(sb.client, sizeof(sb.client), "a b");
    assert_refused(fx, &sb, QM_INVALID, "client");
    sb.client[0] = '\0';
    assert_refused(fx, &sb, QM_INVALID, "client");

    valid_submit(&sb);
    th_submit_need(&sb, "tpu", U);
    assert_refused(fx, &sb, QM_NOT_FOUND, "tpu");
    valid_submit(&sb);
    th_submit_need(&sb, "api", U);
    assert_refused(fx, &sb, QM_INVALID, "named twice");
    valid_submit(&sb);
    sb.needs[0].amount = 0;
    assert_refused(fx, &sb, QM_INVALID, "above 0");
    sb.needs[0].amount = 100 * U + 1;
    assert_refused(fx, &sb, QM_INVALID, "capacity");
    /* A need of the whole capacity can be leased some day: accepted. */
    sb.needs[0].amount = 100 * U;
    assert_int_equal(th_submit(fx->f, T0, &sb, NULL), QM_OK);
}

static void test_fsm_queue_bounds_needs_the_client_can_never_have(void **s)
{
    struct fx *fx = *s;
    /* As RESERVE refuses them: a pool dedicated to another client, or more
     * than the parts of a pool the client reaches. Queued, such a request
     * would never be leased. */
    assert_int_equal(
        th_client_create(fx->f, T0, "other", TP_TIER_BASIC, TH_TIER_BUDGET),
        QM_OK);
    struct tp_pool_create pc;
    th_pool_create_args(&pc, "mine", 10 * U, 0, 0);
    pc.kind = TP_KIND_DEDICATED;
    snprintf(pc.owner, sizeof(pc.owner), "other");
    assert_int_equal(th_pool_create_as(fx->f, T0, &pc), QM_OK);
    th_pool_create_args(&pc, "shared", 10 * U, 0, 0);
    pc.kind = TP_KIND_RESERVED;
    th_share_client(&pc, "other", 8 * U);
    assert_int_equal(th_pool_create_as(fx->f, T0, &pc), QM_OK);

    struct tp_submit sb;
    th_submit_args(&sb, "std", TP_QTIER_NORMAL, 0);
    th_submit_need(&sb, "mine", U);
    assert_refused(fx, &sb, QM_DENIED, "dedicated to client 'other'");
    th_submit_args(&sb, "std", TP_QTIER_NORMAL, 0);
    th_submit_need(&sb, "shared", 2 * U + 1);
    assert_refused(fx, &sb, QM_INVALID, "at most 2.000 units of shared");
    /* What it reaches is fine, and the owner may ask for all of it. */
    th_submit_args(&sb, "std", TP_QTIER_NORMAL, 0);
    th_submit_need(&sb, "shared", 2 * U);
    assert_int_equal(th_submit(fx->f, T0, &sb, NULL), QM_OK);
    th_submit_args(&sb, "other", TP_QTIER_NORMAL, 0);
    th_submit_need(&sb, "shared", 10 * U);
    th_submit_need(&sb, "mine", 10 * U);
    assert_int_equal(th_submit(fx->f, T0, &sb, NULL), QM_OK);
}

static void test_fsm_queue_bounds_attempts_and_deadline(void **s)
{
    struct fx *fx = *s;
    struct tp_submit sb;
    valid_submit(&sb);
    sb.attempts = QM_ATTEMPTS_MAX + 1;
    assert_refused(fx, &sb, QM_INVALID, "attempts");
    valid_submit(&sb);
    sb.deadline_ms = QM_TIME_MAX + 1;
    assert_refused(fx, &sb, QM_INVALID, "deadline");
    sb.deadline_ms = -1;
    assert_refused(fx, &sb, QM_INVALID, "deadline");
    /* The largest deadline stops at the end of time. */
    sb.deadline_ms = QM_TIME_MAX;
    sb.attempts = QM_ATTEMPTS_MAX;
    uint64_t id;
    assert_int_equal(th_submit(fx->f, T0, &sb, &id), QM_OK);
    struct tp_req_info ri;
    assert_int_equal(th_req_get(fx->f, 0, id, &ri), QM_OK);
    assert_int_equal(ri.deadline_ms, QM_TIME_MAX);
    assert_int_equal(ri.max_attempts, QM_ATTEMPTS_MAX);
}

/* ---- Cases: other commands ---- */

static void test_fsm_queue_bounds_lease_complete_fail_cancel(void **s)
{
    struct fx *fx = *s;
    struct tp_submit sb;
    valid_submit(&sb);
    uint64_t id;
    assert_int_equal(th_submit(fx->f, T0, &sb, &id), QM_OK);
    char before[33];
    th_fsm_digest(fx->f, before);
    assert_int_equal(th_lease(fx->f, T0, "w", QM_RES_TTL_MAX_MS + 1, NULL),
                     QM_INVALID);
    assert_int_equal(th_lease(fx->f, T0, "", 0, NULL), QM_INVALID);
    assert_int_equal(th_lease(fx->f, T0, "w/1", 0, NULL), QM_INVALID);
    assert_int_equal(th_complete_all(fx->f, T0, 0, 0), QM_INVALID);
    assert_int_equal(th_complete_all(fx->f, T0, id, QM_ATTEMPTS_MAX + 1),
                     QM_INVALID);
    assert_int_equal(th_fail(fx->f, T0, id, 0, "bad\nreason", NULL),
                     QM_INVALID);
    assert_int_equal(th_cancel(fx->f, T0, 0), QM_INVALID);
    th_assert_digest(fx->f, before);
    /* A read op is not a command, nor a command a read. (Reads with bad
     * arguments never reach the state machine: tp_request_decode refuses
     * them, test_tp_msg.) */
    struct tp_req_id rid = {id};
    assert_int_equal(th_fsm_do(fx->f, T0, TP_OP_QUEUE_GET, 0, 0,
                               &tp_req_id_schema, &rid, NULL, NULL),
                     QM_INVALID);
    assert_int_equal(th_fsm_query(fx->f, T0, TP_OP_QUEUE_CANCEL,
                                  &tp_req_id_schema, &rid, NULL, NULL),
                     QM_INVALID);
    th_assert_digest(fx->f, before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_fsm_queue_bounds_payload_of_64_kib_leased_back),
        T(test_fsm_queue_bounds_payload_over_64_kib_refused),
        T(test_fsm_queue_bounds_urgency_and_tier),
        T(test_fsm_queue_bounds_client_and_pools),
        T(test_fsm_queue_bounds_needs_the_client_can_never_have),
        T(test_fsm_queue_bounds_attempts_and_deadline),
        T(test_fsm_queue_bounds_lease_complete_fail_cancel),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
