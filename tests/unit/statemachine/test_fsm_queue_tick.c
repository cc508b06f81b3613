/* Unit tests of what time does to the queues on TICK
 * (statemachine/fsm_queue_tick.c): queued requests past their deadline
 * fail, finished requests are forgotten after an hour, a request waiting
 * past starve_ms raises one queue_starving alert, a queue tier longer than
 * alert_queue_len raises queue_long (with the ledger's alert cooldown), and
 * fsm_next_deadline tells the leader when a TICK has work to do. */
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
#include "th_msg.h"
#include "th_queue.h"

/* ---- Fixture ---- */

#define T0 1709294400000LL /* 2024-03-01 12:00 UTC */
#define STARVE 600000LL    /* the default starve_ms */
#define HOUR 3600000LL
#define LEASE 10000LL
#define COOL QM_ALERT_COOLDOWN_MS

/* Clients "std" and "ent". */
struct fx
{
    struct th_fsm *f;
    struct tp_qsettings s;
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
        th_client_create(fx->f, T0, "ent", TP_TIER_ENTERPRISE, TH_TIER_BUDGET),
        QM_OK);
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

static uint64_t submit_deadline(struct fx *fx, int64_t t, int64_t deadline)
{
    struct tp_submit s;
    uint64_t id;
    th_submit_args(&s, "std", TP_QTIER_NORMAL, 0);
    s.deadline_ms = deadline;
    assert_int_equal(th_submit(fx->f, t, &s, &id), QM_OK);
    return id;
}

static void tick(struct fx *fx, int64_t t)
{
    assert_int_equal(th_tick(fx->f, t), QM_OK);
}

static int starving_alerts(struct fx *fx, uint64_t id)
{
    char subject[32];
    snprintf(subject, sizeof(subject), "queue/q%llu", (unsigned long long)id);
    return th_alert_count(fx->f, "queue_starving", subject);
}

/* @n requests of "std" in @qtier at @t, 64 commands an entry. */
static void submit_many(struct fx *fx, int64_t t, uint64_t qtier, int n)
{
    enum { BATCH = 64 };
    struct th_cmd *c = malloc(BATCH * sizeof(*c));
    assert_non_null(c);
    struct tp_submit s;
    th_submit_args(&s, "std", qtier, 0);
    for (int i = 0; i < n; i += BATCH) {
        uint32_t k = 0;
        for (; k < BATCH && i + (int)k < n; k++) {
            th_cmd_make(&c[k], TP_OP_QUEUE_SUBMIT, 0, 0, &tp_submit_schema, &s);
        }
        const struct fsm_results *res = th_fsm_apply(fx->f, t, c, k);
        for (uint32_t j = 0; j < k; j++) {
            struct tp_result r;
            assert_int_equal(th_result_decode(res->items[j], &r, NULL, NULL),
                             QM_OK);
        }
    }
    free(c);
}

/* ---- Assertions ---- */

static void assert_state(struct fx *fx, uint64_t id, uint64_t state)
{
    assert_int_equal(th_req_state(fx->f, 0, id), state);
}

static void assert_next_deadline(struct fx *fx, int64_t want)
{
    int64_t got = fsm_next_deadline(fx->f->f);
    if (got != want) {
        fail_msg("next deadline +%lld, expected +%lld", (long long)(got - T0),
                 (long long)(want - T0));
    }
}

/* ---- Cases: deadlines ---- */

static void test_fsm_queue_tick_deadline_fails_a_queued_request(void **s)
{
    struct fx *fx = *s;
    uint64_t id = submit_deadline(fx, T0, 5000);
    struct tp_req_info ri;
    assert_int_equal(th_req_get(fx->f, 0, id, &ri), QM_OK);
    assert_int_equal(ri.deadline_ms, T0 + 5000);
    tick(fx, T0 + 4999);
    assert_state(fx, id, TP_QSTATE_QUEUED);
    tick(fx, T0 + 5000);
    assert_int_equal(th_req_get(fx->f, 0, id, &ri), QM_OK);
    assert_int_equal(ri.state, TP_QSTATE_FAILED);
    assert_int_equal(ri.finished_ms, T0 + 5000);
    assert_string_equal(ri.reason, "its deadline passed in the queue");
    struct tp_qtier_stats st = th_qtier_stats(fx->f, TP_QTIER_NORMAL);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.failed, 1);
    assert_int_equal(th_lease(fx->f, T0 + 5000, "w", 0, NULL), QM_DENIED);
}

static void test_fsm_queue_tick_deadline_lets_a_running_request_finish(void **s)
{
    struct fx *fx = *s;
    uint64_t a = submit_deadline(fx, T0, 5000);
    uint64_t b = submit_deadline(fx, T0, 5000);
    assert_int_equal(th_lease_id(fx->f, T0, "w"), a);
    assert_int_equal(th_lease_id(fx->f, T0, "w"), b);
    /* Past the deadline while running: the worker may still finish... */
    tick(fx, T0 + 6000);
    assert_state(fx, a, TP_QSTATE_RUNNING);
    assert_int_equal(th_complete_all(fx->f, T0 + 7000, a, 1), QM_OK);
    assert_state(fx, a, TP_QSTATE_DONE);
    /* ...but a failure is not retried any more. */
    struct tp_fail_result fr;
    assert_int_equal(th_fail(fx->f, T0 + 7000, b, 1, "boom", &fr), QM_OK);
    assert_false(fr.requeued);
    struct tp_req_info ri;
    assert_int_equal(th_req_get(fx->f, 0, b, &ri), QM_OK);
    assert_int_equal(ri.state, TP_QSTATE_FAILED);
    assert_non_null(strstr(ri.reason, "deadline passed"));
}

/* ---- Cases: history ---- */

static void test_fsm_queue_tick_history_forgotten_after_an_hour(void **s)
{
    struct fx *fx = *s;
    uint64_t done = th_enqueue(fx->f, T0, "std", TP_QTIER_NORMAL, 0);
    uint64_t gone = th_enqueue(fx->f, T0, "std", TP_QTIER_NORMAL, 0);
    uint64_t stays = th_enqueue(fx->f, T0, "std", TP_QTIER_BATCH, 0);
    assert_int_equal(th_lease_id(fx->f, T0, "w"), done);
    assert_int_equal(th_complete_all(fx->f, T0 + 1000, done, 1), QM_OK);
    assert_int_equal(th_cancel(fx->f, T0 + 2000, gone), QM_OK);
    tick(fx, T0 + 1000 + HOUR - 1);
    assert_state(fx, done, TP_QSTATE_DONE);
    tick(fx, T0 + 1000 + HOUR);
    assert_int_equal(th_req_get(fx->f, 0, done, NULL), QM_NOT_FOUND);
    th_assert_message(fx->f, "kept for an hour");
    assert_state(fx, gone, TP_QSTATE_CANCELLED);
    tick(fx, T0 + 2000 + HOUR);
    assert_int_equal(th_req_get(fx->f, 0, gone, NULL), QM_NOT_FOUND);
    /* Queued requests are not history; the counters keep the totals. */
    assert_state(fx, stays, TP_QSTATE_QUEUED);
    struct tp_qtier_stats st = th_qtier_stats(fx->f, TP_QTIER_NORMAL);
    assert_int_equal(st.done, 1);
    assert_int_equal(st.cancelled, 1);
}

static void test_fsm_queue_tick_history_bounded_by_count(void **s)
{
    struct fx *fx = *s;
    fx->f->cfg.finished_max = 2;
    th_fsm_reopen(fx->f);
    uint64_t id[3];
    for (int i = 0; i < 3; i++) {
        id[i] = th_enqueue(fx->f, T0, "std", TP_QTIER_NORMAL, 0);
        assert_int_equal(th_lease_id(fx->f, T0, "w"), id[i]);
        assert_int_equal(th_complete_all(fx->f, T0 + 1 + i, id[i], 1), QM_OK);
    }
    /* One too many: TICK is due at once, not in an hour. */
    assert_next_deadline(fx, T0 + 1);
    tick(fx, T0 + 10);
    assert_int_equal(th_req_get(fx->f, 0, id[0], NULL), QM_NOT_FOUND);
    assert_state(fx, id[1], TP_QSTATE_DONE);
    assert_state(fx, id[2], TP_QSTATE_DONE);
    assert_next_deadline(fx, T0 + 2 + HOUR);
}

/* ---- Cases: alerts ---- */

static void test_fsm_queue_tick_starving_alert_once_per_request(void **s)
{
    struct fx *fx = *s;
    uint64_t a = th_enqueue(fx->f, T0, "std", TP_QTIER_NORMAL, 0);
    uint64_t d = th_enqueue(fx->f, T0, "std", TP_QTIER_DEFERRED, 0);
    uint64_t b = th_enqueue(fx->f, T0 + 1000, "std", TP_QTIER_BATCH, 0);
    uint64_t leased = th_enqueue(fx->f, T0, "ent", TP_QTIER_IMMEDIATE, 0);
    assert_int_equal(th_lease_id(fx->f, T0 + 1, "w"), leased);
    assert_int_equal(th_complete_all(fx->f, T0 + 2, leased, 1), QM_OK);
    tick(fx, T0 + STARVE - 1);
    assert_int_equal(starving_alerts(fx, a), 0);
    tick(fx, T0 + STARVE);
    assert_int_equal(starving_alerts(fx, a), 1);
    assert_int_equal(starving_alerts(fx, b), 0);
    tick(fx, T0 + STARVE + 1000);
    assert_int_equal(starving_alerts(fx, b), 1);
    /* Long after the cooldown: still one each; the deferred request waits
     * for its window and the one done waits no more. */
    tick(fx, T0 + STARVE + 3 * COOL);
    assert_int_equal(starving_alerts(fx, a), 1);
    assert_int_equal(starving_alerts(fx, b), 1);
    assert_int_equal(starving_alerts(fx, d), 0);
    assert_int_equal(starving_alerts(fx, leased), 0);
    /* Leased, failed and requeued, it keeps its age: not alerted again. */
    int64_t t = T0 + STARVE + 3 * COOL;
    assert_int_equal(th_lease_id(fx->f, t, "w"), a);
    assert_int_equal(th_fail(fx->f, t, a, 1, "", NULL), QM_OK);
    tick(fx, t + 3 * COOL);
    assert_int_equal(starving_alerts(fx, a), 1);

    struct tp_alert_page *pg = malloc(sizeof(*pg));
    assert_non_null(pg);
    assert_int_equal(th_alert_list(fx->f, 0, 0, 0, pg), QM_OK);
    assert_int_equal(pg->nalerts, 2);
    assert_string_equal(pg->alerts[0].kind, "queue_starving");
    assert_string_equal(pg->alerts[0].severity, "warning");
    assert_int_equal(pg->alerts[0].at_ms, T0 + STARVE);
    assert_non_null(strstr(pg->alerts[0].message, "has waited 600 s"));
    assert_non_null(strstr(pg->alerts[0].message, "'std'"));
    free(pg);
}

static void test_fsm_queue_tick_starving_threshold_is_a_setting(void **s)
{
    struct fx *fx = *s;
    fx->s.starve_ms = 60000;
    assert_int_equal(th_qsettings_set(fx->f, T0, &fx->s), QM_OK);
    uint64_t a = th_enqueue(fx->f, T0, "std", TP_QTIER_BATCH, 0);
    tick(fx, T0 + 59999);
    assert_int_equal(starving_alerts(fx, a), 0);
    tick(fx, T0 + 60000);
    assert_int_equal(starving_alerts(fx, a), 1);
}

static void test_fsm_queue_tick_long_queue_alert_above_the_threshold(void **s)
{
    struct fx *fx = *s;
    fx->s.alert_queue_len = 3;
    assert_int_equal(th_qsettings_set(fx->f, T0, &fx->s), QM_OK);
    submit_many(fx, T0, TP_QTIER_NORMAL, 3);
    assert_int_equal(th_alert_count(fx->f, "queue_long", "queue/normal"), 0);
    submit_many(fx, T0, TP_QTIER_NORMAL, 1);
    assert_int_equal(th_alert_count(fx->f, "queue_long", "queue/normal"), 1);
    /* Within the cooldown, once; per tier. */
    submit_many(fx, T0 + COOL - 1, TP_QTIER_NORMAL, 5);
    assert_int_equal(th_alert_count(fx->f, "queue_long", "queue/normal"), 1);
    submit_many(fx, T0 + COOL, TP_QTIER_NORMAL, 1);
    assert_int_equal(th_alert_count(fx->f, "queue_long", "queue/normal"), 2);
    submit_many(fx, T0 + COOL, TP_QTIER_BATCH, 4);
    assert_int_equal(th_alert_count(fx->f, "queue_long", "queue/batch"), 1);
    struct tp_alert_page *pg = malloc(sizeof(*pg));
    assert_non_null(pg);
    assert_int_equal(th_alert_list(fx->f, 0, 0, 0, pg), QM_OK);
    assert_string_equal(pg->alerts[0].message,
                        "the normal queue holds 4 requests (alert above 3)");
    free(pg);
}

static void test_fsm_queue_tick_long_queue_default_is_1000(void **s)
{
    struct fx *fx = *s;
    submit_many(fx, T0, TP_QTIER_FAST, 1000);
    assert_int_equal(th_alert_count(fx->f, "queue_long", "queue/fast"), 0);
    submit_many(fx, T0, TP_QTIER_FAST, 1);
    assert_int_equal(th_alert_count(fx->f, "queue_long", "queue/fast"), 1);
}

/* ---- Cases: when TICK is due ---- */

static void test_fsm_queue_tick_next_deadline_covers_the_queues(void **s)
{
    struct fx *fx = *s;
    assert_next_deadline(fx, INT64_MAX);
    uint64_t a = th_enqueue(fx->f, T0, "std", TP_QTIER_NORMAL, 0);
    assert_next_deadline(fx, T0 + STARVE); /* a starves */
    uint64_t b = submit_deadline(fx, T0, 2000);
    assert_next_deadline(fx, T0 + 2000); /* b's deadline */
    struct tp_lease l;
    assert_int_equal(th_lease(fx->f, T0, "w", LEASE, &l), QM_OK);
    assert_int_equal(l.id, a);
    tick(fx, T0 + 2000);
    assert_state(fx, b, TP_QSTATE_FAILED);
    assert_next_deadline(fx, T0 + LEASE); /* a's lease */
    tick(fx, T0 + LEASE);
    assert_state(fx, a, TP_QSTATE_QUEUED);
    assert_next_deadline(fx, T0 + STARVE); /* a starves again */
    tick(fx, T0 + STARVE);
    assert_next_deadline(fx, T0 + 2000 + HOUR); /* b is forgotten */
    tick(fx, T0 + 2000 + HOUR);
    assert_next_deadline(fx, INT64_MAX);
}

static void test_fsm_queue_tick_next_deadline_when_a_wait_term_caps(void **s)
{
    struct fx *fx = *s;
    /* A point a minute: a request caps 20 minutes after it came, after it
     * starved; TICK then moves it to the capped index. */
    fx->s.aging_ms = 60000;
    assert_int_equal(th_qsettings_set(fx->f, T0, &fx->s), QM_OK);
    th_enqueue(fx->f, T0, "std", TP_QTIER_BATCH, 0);
    assert_next_deadline(fx, T0 + STARVE);
    tick(fx, T0 + STARVE);
    assert_next_deadline(fx, T0 + 20 * 60000);
    tick(fx, T0 + 20 * 60000);
    assert_next_deadline(fx, INT64_MAX);
    /* A deferred request never starves: only its cap is due. */
    int64_t t = T0 + 30 * 60000;
    th_enqueue(fx->f, t, "std", TP_QTIER_DEFERRED, 0);
    assert_next_deadline(fx, t + 20 * 60000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_fsm_queue_tick_deadline_fails_a_queued_request),
        T(test_fsm_queue_tick_deadline_lets_a_running_request_finish),
        T(test_fsm_queue_tick_history_forgotten_after_an_hour),
        T(test_fsm_queue_tick_history_bounded_by_count),
        T(test_fsm_queue_tick_starving_alert_once_per_request),
        T(test_fsm_queue_tick_starving_threshold_is_a_setting),
        T(test_fsm_queue_tick_long_queue_alert_above_the_threshold),
        T(test_fsm_queue_tick_long_queue_default_is_1000),
        T(test_fsm_queue_tick_next_deadline_covers_the_queues),
        T(test_fsm_queue_tick_next_deadline_when_a_wait_term_caps),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
