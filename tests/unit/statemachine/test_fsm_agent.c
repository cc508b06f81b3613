/* Unit tests of what agents record in the state machine besides their
 * hosts (test_fsm_host.c), through fsm_apply and fsm_query: actions (ids,
 * cluster time, pages, the most recent kept) and the alerts agents raise
 * (kinds, severities, subjects, a cooldown per kind, subject, topic and
 * severity). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qm_err.h"
#include "qm_limits.h"
#include "th_cmocka.h"
#include "th_fsm.h"
#include "th_host.h"
#include "th_ledger.h"
#include "th_log.h"

/* ---- Fixture ---- */

#define T0 1700000000000LL
#define COOL QM_ALERT_COOLDOWN_MS

/* Host "h1" registered at T0 (th_host_register_make: services web, db);
 * pages on the heap. */
struct fx
{
    struct th_fsm *f;
    struct tp_action_page *actions;
    struct tp_alert_page *alerts;
};

static void *alloc_or_fail(size_t n)
{
    void *p = calloc(1, n);
    assert_non_null(p);
    return p;
}

static int setup(void **state)
{
    th_log_capture();
    struct fx *fx = alloc_or_fail(sizeof(*fx));
    fx->f = th_fsm_new();
    fx->actions = alloc_or_fail(sizeof(*fx->actions));
    fx->alerts = alloc_or_fail(sizeof(*fx->alerts));
    assert_int_equal(th_host_add(fx->f, T0, "h1"), QM_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    th_fsm_free(fx->f);
    free(fx->actions);
    free(fx->alerts);
    free(fx);
    th_log_release();
    return 0;
}

/* ---- Helpers ---- */

static uint32_t agent_alerts(struct fx *fx)
{
    assert_int_equal(th_alert_list(fx->f, 0, 0, 0, fx->alerts), QM_OK);
    return fx->alerts->nalerts;
}

static int raise_leak(struct fx *fx,
                      int64_t t,
                      const char *subject,
                      const char *topic,
                      const char *severity)
{
    return th_alert_raise(fx->f, t, "leak", subject, topic, severity,
                          "fds growing 1.00/s");
}

/* ---- Assertions ---- */

/* th_assert_refused() (th_host.h): a refusal with its status and message
 * that changes nothing. */

/* ---- Cases: actions ---- */

static void test_fsm_action_needs_a_host_and_a_known_action(void **state)
{
    struct fx *fx = *state;
    char before[33];
    th_fsm_digest(fx->f, before);
    th_assert_refused(fx->f,
                      th_action_record(fx->f, T0, "h2", "web", "start", NULL),
                      QM_NOT_FOUND, "no host named 'h2'", before);
    th_assert_refused(
        fx->f, th_action_record(fx->f, T0, "h1", "web", "restart", NULL),
        QM_INVALID, "action must be apply, start or stop", before);
    struct tp_action a;
    assert_int_equal(th_action_record(fx->f, T0, "h1", "", "stop", &a), QM_OK);
    assert_int_equal(a.id, 1); /* no id was spent on the refusals */
}

static void test_fsm_action_ids_increase_at_cluster_time(void **state)
{
    struct fx *fx = *state;
    static const char *const acts[] = {"apply", "start", "stop", "start"};
    static const int64_t at[] = {T0 + 1, T0 + 5, T0 + 5, T0 + 2};
    struct tp_action a;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(
            th_action_record(fx->f, at[i], "h1", "web", acts[i], &a), QM_OK);
        assert_int_equal(a.id, (uint64_t)i + 1);
        /* The last entry's stamp is older: cluster time does not go back. */
        assert_int_equal(a.at_ms, i < 3 ? at[i] : T0 + 5);
    }
    assert_string_equal(th_action_ids(fx->f, "", 0, 0, fx->actions), "1,2,3,4");
    const struct tp_action *got = &fx->actions->actions[1];
    assert_string_equal(got->host, "h1");
    assert_string_equal(got->service, "web");
    assert_string_equal(got->action, "start");
    assert_true(got->ok);
    assert_string_equal(got->message, "start h1/web");
    assert_int_equal(got->at_ms, T0 + 5);
}

static void test_fsm_action_list_filters_by_host_and_pages(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(th_host_add(fx->f, T0, "h10"), QM_OK);
    static const char *const who[] = {"h1", "h10", "h1", "h1", "h10", "h1"};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(th_action_record(fx->f, T0, who[i], "", "apply", NULL),
                         QM_OK);
    }
    assert_string_equal(th_action_ids(fx->f, "h1", 0, 2, fx->actions), "1,3+");
    assert_string_equal(th_action_ids(fx->f, "h1", 3, 2, fx->actions), "4,6");
    assert_string_equal(th_action_ids(fx->f, "h1", 4, 1, fx->actions), "6");
    assert_string_equal(th_action_ids(fx->f, "h10", 0, 0, fx->actions), "2,5");
    assert_string_equal(th_action_ids(fx->f, "", 2, 3, fx->actions), "3,4,5+");
    assert_string_equal(th_action_ids(fx->f, "", 6, 0, fx->actions), "");
    assert_string_equal(th_action_ids(fx->f, "", UINT64_MAX, 0, fx->actions),
                        "");
    assert_string_equal(th_action_ids(fx->f, "h2", 0, 0, fx->actions), "");
}

static void test_fsm_action_only_the_most_recent_are_kept(void **state)
{
    struct fx *fx = *state;
    th_apply_each(fx->f, T0, QM_ACTIONS_MAX + 5, th_action_cmd, "h1");
    uint64_t after = 0, want = 6, n = 0;
    do {
        assert_int_equal(th_action_list(fx->f, "", after, 0, fx->actions),
                         QM_OK);
        for (uint32_t i = 0; i < fx->actions->nactions; i++, want++, n++) {
            char msg[16];
            snprintf(msg, sizeof(msg), "#%llu", (unsigned long long)want);
            assert_int_equal(fx->actions->actions[i].id, want);
            assert_string_equal(fx->actions->actions[i].message, msg);
            after = want;
        }
    } while (fx->actions->more);
    assert_int_equal(n, QM_ACTIONS_MAX);
    assert_int_equal(after, QM_ACTIONS_MAX + 5);
}

/* ---- Cases: agent alerts ---- */

static void test_fsm_agent_alert_checks_kind_severity_subject(void **state)
{
    struct fx *fx = *state;
    /* kind, subject, severity, what the refusal says */
    static const char *const bad[][4] = {
        {"pool_low", "h1", "warning", "an agent raises leak or threshold"},
        {"leak", "h1", "info", "severity must be warning, critical or "},
        {"leak", "h1", "WARNING", "severity must be"},
        {"leak", "", "warning", "subject must be HOST or HOST/SERVICE"},
        {"leak", "/web", "warning", "subject must be"},
        {"leak", "h1/", "warning", "subject must be"},
        {"leak", "h1/w/x", "warning", "subject must be"},
        {"leak", "h1//web", "warning", "subject must be"},
        {"leak", "h 1", "warning", "subject must be"},
        {"leak", "h1/w b", "warning", "subject must be"},
    };
    char before[33];
    th_fsm_digest(fx->f, before);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int st = th_alert_raise(fx->f, T0, bad[i][0], bad[i][1], "fds",
                                bad[i][2], "m");
        th_assert_refused(fx->f, st, QM_INVALID, bad[i][3], before);
    }
    assert_int_equal(raise_leak(fx, T0, "h1", "", "resolved"), QM_OK);
    /* Only registered hosts raise alerts. */
    assert_int_equal(th_alert_raise(fx->f, T0 + 3, "threshold", "h9/a.b-c_d",
                                    "cpu", "critical", "cpu 97% for 5m"),
                     QM_NOT_FOUND);
    assert_int_equal(th_alert_raise(fx->f, T0 + 3, "threshold", "h1/a.b-c_d",
                                    "cpu", "critical", "cpu 97% for 5m"),
                     QM_OK);
    assert_int_equal(agent_alerts(fx), 2);
    const struct tp_alert *a = &fx->alerts->alerts[1];
    assert_int_equal(a->id, 2);
    assert_string_equal(a->kind, "threshold");
    assert_string_equal(a->subject, "h1/a.b-c_d");
    assert_string_equal(a->severity, "critical");
    assert_string_equal(a->message, "cpu 97% for 5m");
    assert_int_equal(a->at_ms, T0 + 3);
}

/* Each part of a subject is a name, QM_NAME_MAX characters at most. */
static void test_fsm_agent_alert_subject_parts_are_names(void **state)
{
    struct fx *fx = *state;
    char subject[QM_SUBJECT_MAX + 1];
    memset(subject, 0, sizeof(subject));
    memset(subject, 'a', QM_NAME_MAX + 1);
    char before[33];
    th_fsm_digest(fx->f, before);
    th_assert_refused(fx->f, raise_leak(fx, T0, subject, "fds", "warning"),
                      QM_INVALID, "subject must be", before);
    memset(subject, 0, sizeof(subject));
    memcpy(subject, "h1/", 3);
    memset(subject + 3, 'a', QM_NAME_MAX + 1);
    th_assert_refused(fx->f, raise_leak(fx, T0, subject, "fds", "warning"),
                      QM_INVALID, "subject must be", before);
    subject[3 + QM_NAME_MAX] = '\0'; /* a name of the longest length */
    assert_int_equal(raise_leak(fx, T0, subject, "fds", "warning"), QM_OK);
}

static void test_fsm_agent_alert_cooldown_per_subject_topic_severity(void **s)
{
    struct fx *fx = *s;
    assert_int_equal(raise_leak(fx, T0, "h1/web", "fds", "warning"), QM_OK);
    assert_int_equal(agent_alerts(fx), 1);
    /* The same within the cooldown: nothing at all changes. */
    char before[33];
    th_fsm_digest(fx->f, before);
    assert_int_equal(raise_leak(fx, T0, "h1/web", "fds", "warning"), QM_OK);
    th_assert_digest(fx->f, before);
    assert_int_equal(raise_leak(fx, T0 + COOL - 1, "h1/web", "fds", "warning"),
                     QM_OK);
    assert_int_equal(agent_alerts(fx), 1);
    /* Another topic, severity, kind or subject has its own cooldown. */
    int64_t t = T0 + COOL - 1;
    assert_int_equal(raise_leak(fx, t, "h1/web", "rss", "warning"), QM_OK);
    assert_int_equal(raise_leak(fx, t, "h1/web", "fds", "critical"), QM_OK);
    assert_int_equal(
        th_alert_raise(fx->f, t, "threshold", "h1/web", "fds", "warning", "m"),
        QM_OK);
    assert_int_equal(raise_leak(fx, t, "h1", "fds", "warning"), QM_OK);
    assert_int_equal(raise_leak(fx, t, "h1/db", "fds", "warning"), QM_OK);
    assert_int_equal(agent_alerts(fx), 6);
    /* Counted from the last raise, not from the suppressed ones. */
    assert_int_equal(raise_leak(fx, T0 + COOL, "h1/web", "fds", "warning"),
                     QM_OK);
    assert_int_equal(agent_alerts(fx), 7);
    assert_int_equal(fx->alerts->alerts[6].at_ms, T0 + COOL);
    assert_int_equal(
        raise_leak(fx, 2 * COOL + T0 - 1, "h1/web", "fds", "warning"), QM_OK);
    assert_int_equal(agent_alerts(fx), 7);
    assert_int_equal(raise_leak(fx, T0 + 2 * COOL, "h1/web", "fds", "warning"),
                     QM_OK);
    assert_int_equal(agent_alerts(fx), 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_fsm_action_needs_a_host_and_a_known_action),
        T(test_fsm_action_ids_increase_at_cluster_time),
        T(test_fsm_action_list_filters_by_host_and_pages),
        T(test_fsm_action_only_the_most_recent_are_kept),
        T(test_fsm_agent_alert_checks_kind_severity_subject),
        T(test_fsm_agent_alert_cooldown_per_subject_topic_severity),
        T(test_fsm_agent_alert_subject_parts_are_names),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
