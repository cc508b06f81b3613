/* Unit tests of ledger alerts through fsm_apply and fsm_query: replicated
 * records raised by the rules (a pool below 10% of its capacity, a client
 * at 95% of its budget, a budget exceeded), at most once per kind and
 * subject within the cooldown of cluster time, with increasing ids, listed
 * in pages, the QM_ALERTS_MAX most recent kept. */
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

/* ---- Fixture ---- */

#define T0 1700000000000LL
#define U QM_MILLI
#define COOL QM_ALERT_COOLDOWN_MS

/* Pool "p": 100 units, no refill, $1 a unit. Clients: acme (basic, $100)
 * and big (enterprise, no budget). */
struct fx
{
    struct th_fsm *f;
    struct tp_alert_page *page; /* large: on the heap */
};

static int setup(void **state)
{
    th_log_capture();
    struct fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->f = th_fsm_new();
    fx->page = malloc(sizeof(*fx->page));
    assert_non_null(fx->page);
    assert_int_equal(th_pool_priced(fx->f, T0, "p", 100 * U, 0, QM_NANO),
                     QM_OK);
    assert_int_equal(
        th_client_create(fx->f, T0, "acme", TP_TIER_BASIC, TH_TIER_BUDGET),
        QM_OK);
    assert_int_equal(
        th_client_create(fx->f, T0, "big", TP_TIER_ENTERPRISE, TH_TIER_BUDGET),
        QM_OK);
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

static int count(struct fx *fx, const char *kind, const char *subject)
{
    return th_alert_count(fx->f, kind, subject);
}

/* The first page of alerts into fx->page. */
static const struct tp_alert_page *alerts(struct fx *fx)
{
    assert_int_equal(th_alert_list(fx->f, 0, 0, 0, fx->page), QM_OK);
    return fx->page;
}

/* Pools "q0000".."q{n-1}" of 10 units, created and then each drained to
 * nothing (a pool_low alert each), @batch commands an entry. */
static void drain_many(struct fx *fx, int n, int64_t t)
{
    enum { BATCH = 64 };
    struct th_cmd *c = malloc(BATCH * sizeof(*c));
    assert_non_null(c);
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < n; i += BATCH) {
            uint32_t k = 0;
            for (; k < BATCH && i + (int)k < n; k++) {
                char name[16];
                snprintf(name, sizeof(name), "q%04d", i + (int)k);
                if (pass == 0) {
                    struct tp_pool_create a;
                    th_pool_create_args(&a, name, 10 * U, 0, 0);
                    th_cmd_make(&c[k], TP_OP_POOL_CREATE, 0, 0,
                                &tp_pool_create_schema, &a);
                } else {
                    struct tp_acquire a;
                    memset(&a, 0, sizeof(a));
                    snprintf(a.pool, sizeof(a.pool), "%s", name);
                    a.amount = 10 * U;
                    th_cmd_make(&c[k], TP_OP_ACQUIRE, 0, 0, &tp_acquire_schema,
                                &a);
                }
            }
            const struct fsm_results *res = th_fsm_apply(fx->f, t, c, k);
            for (uint32_t j = 0; j < k; j++) {
                struct tp_result r;
                assert_int_equal(
                    th_result_decode(res->items[j], &r, NULL, NULL), QM_OK);
            }
        }
    }
    free(c);
}

/* ---- Assertions ---- */

static void assert_alert(const struct tp_alert *a,
                         uint64_t id,
                         const char *kind,
                         const char *subject,
                         const char *severity,
                         int64_t at_ms)
{
    assert_int_equal(a->id, id);
    assert_string_equal(a->kind, kind);
    assert_string_equal(a->subject, subject);
    assert_string_equal(a->severity, severity);
    assert_int_equal(a->at_ms, at_ms);
}

/* ---- Cases: pool_low ---- */

static void test_fsm_alert_pool_low_once_within_the_cooldown(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(th_acquire(fx->f, T0, 0, 0, "p", 91 * U, NULL), QM_OK);
    const struct tp_alert_page *pg = alerts(fx);
    assert_int_equal(pg->nalerts, 1);
    assert_alert(&pg->alerts[0], 1, "pool_low", "pool/p", "warning", T0);
    assert_string_equal(pg->alerts[0].message,
                        "pool 'p' holds 9.000 of 100.000 units");
    /* Lower still, within the cooldown: not repeated. */
    th_acquire(fx->f, T0 + COOL - 1, 0, 0, "p", U, NULL);
    assert_int_equal(count(fx, "pool_low", "pool/p"), 1);
    /* Once the cooldown has passed, raised again. */
    th_acquire(fx->f, T0 + COOL, 0, 0, "p", U, NULL);
    assert_int_equal(count(fx, "pool_low", "pool/p"), 2);
    pg = alerts(fx);
    assert_alert(&pg->alerts[1], 2, "pool_low", "pool/p", "warning", T0 + COOL);
    assert_string_equal(pg->alerts[1].message,
                        "pool 'p' holds 7.000 of 100.000 units");
}

static void test_fsm_alert_pool_low_only_below_ten_percent(void **state)
{
    struct fx *fx = *state;
    th_acquire(fx->f, T0, 0, 0, "p", 90 * U, NULL);
    assert_int_equal(count(fx, "pool_low", "pool/p"), 0);
    th_acquire(fx->f, T0, 0, 0, "p", 1, NULL);
    assert_int_equal(count(fx, "pool_low", "pool/p"), 1);
}

static void test_fsm_alert_pool_low_counts_every_part_of_a_pool(void **s)
{
    struct fx *fx = *s;
    /* 100 units: 50 set aside for acme. Others draining the unreserved
     * part leave the pool at 50%: no alert. */
    struct tp_pool_create a;
    th_pool_create_args(&a, "r", 100 * U, 0, 0);
    a.kind = TP_KIND_RESERVED;
    th_share_client(&a, "acme", 50 * U);
    assert_int_equal(th_pool_create_as(fx->f, T0, &a), QM_OK);
    th_acquire(fx->f, T0, 0, 0, "r", 50 * U, NULL);
    assert_int_equal(count(fx, "pool_low", "pool/r"), 0);
    th_acquire_for(fx->f, T0, "acme", "r", 41 * U, NULL);
    assert_int_equal(count(fx, "pool_low", "pool/r"), 1);
}

static void test_fsm_alert_pool_low_by_reservation_per_pool(void **state)
{
    struct fx *fx = *state;
    th_pool_priced(fx->f, T0, "q", 10 * U, 0, 0);
    struct tp_reserve r;
    th_reserve_args(&r, "big", 0);
    th_reserve_add(&r, "p", 95 * U);
    th_reserve_add(&r, "q", 10 * U);
    assert_int_equal(th_reserve(fx->f, T0, 0, 0, &r, NULL), QM_OK);
    /* Each pool has its own cooldown. */
    assert_int_equal(count(fx, "pool_low", "pool/p"), 1);
    assert_int_equal(count(fx, "pool_low", "pool/q"), 1);
    /* A refused reservation takes nothing and raises nothing. */
    assert_int_equal(th_reserve(fx->f, T0 + COOL, 0, 0, &r, NULL), QM_DENIED);
    assert_int_equal(count(fx, "pool_low", "pool/p"), 1);
}

/* ---- Cases: budget alerts ---- */

static void test_fsm_alert_budget_high_at_95_percent(void **state)
{
    struct fx *fx = *state;
    th_acquire_for(fx->f, T0, "acme", "p", 94 * U, NULL);
    assert_int_equal(count(fx, "budget_high", "client/acme"), 0);
    th_acquire_for(fx->f, T0 + 1, "acme", "p", 2 * U, NULL); /* 96% */
    assert_int_equal(count(fx, "budget_high", "client/acme"), 1);
    const struct tp_alert_page *pg = alerts(fx);
    const struct tp_alert *a = &pg->alerts[pg->nalerts - 1];
    assert_string_equal(a->kind, "budget_high");
    assert_string_equal(a->severity, "warning");
    assert_int_equal(a->at_ms, T0 + 1);
    assert_string_equal(a->message,
                        "client 'acme' has spent $96.000000 of its "
                        "$100.000000 budget");
    th_acquire_for(fx->f, T0 + 2, "acme", "p", U, NULL);
    assert_int_equal(count(fx, "budget_high", "client/acme"), 1);
    /* Commits count like acquires. */
    struct tp_reserve_result rr;
    assert_int_equal(th_reserve1(fx->f, T0 + COOL + 1, "acme", "p", U, &rr),
                     QM_OK);
    assert_int_equal(count(fx, "budget_high", "client/acme"), 1);
    assert_int_equal(th_commit_all(fx->f, T0 + COOL + 1, rr.id, NULL), QM_OK);
    assert_int_equal(count(fx, "budget_high", "client/acme"), 2);
    assert_int_equal(count(fx, "budget_exceeded", "client/acme"), 0);
}

static void test_fsm_alert_budget_exceeded_on_refusal(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(th_client_set_budget(fx->f, T0, "acme", TH_USD(50)),
                     QM_OK);
    assert_int_equal(th_reserve1(fx->f, T0, "acme", "p", 50 * U + 1, NULL),
                     QM_BUDGET_EXCEEDED);
    assert_int_equal(count(fx, "budget_exceeded", "client/acme"), 1);
    const struct tp_alert_page *pg = alerts(fx);
    assert_int_equal(pg->nalerts, 1);
    assert_alert(&pg->alerts[0], 1, "budget_exceeded", "client/acme",
                 "critical", T0);
    assert_string_equal(pg->alerts[0].message,
                        "client 'acme' was refused $50.001000: spent "
                        "$0.000000, held $0.000000, budget $50.000000");
    /* Refused again, by reserve or acquire, within the cooldown: one. */
    th_acquire_for(fx->f, T0 + 10, "acme", "p", 50 * U + 1, NULL);
    th_reserve1(fx->f, T0 + COOL - 1, "acme", "p", 50 * U + 1, NULL);
    assert_int_equal(count(fx, "budget_exceeded", "client/acme"), 1);
    assert_int_equal(
        th_acquire_for(fx->f, T0 + COOL, "acme", "p", 50 * U + 1, NULL),
        QM_BUDGET_EXCEEDED);
    assert_int_equal(count(fx, "budget_exceeded", "client/acme"), 2);
    /* No budget, no budget alert. */
    th_acquire_for(fx->f, T0 + COOL, "big", "p", 100 * U, NULL);
    assert_int_equal(count(fx, "budget_exceeded", "client/big"), 0);
    assert_int_equal(count(fx, "budget_high", "client/big"), 0);
}

static void test_fsm_alert_budget_exceeded_by_a_charge_past_the_budget(
    void **state)
{
    struct fx *fx = *state;
    struct tp_reserve_result rr;
    assert_int_equal(th_reserve1(fx->f, T0, "acme", "p", 50 * U, &rr), QM_OK);
    /* The budget is lowered while the reservation is open. */
    assert_int_equal(th_client_set_budget(fx->f, T0, "acme", TH_USD(10)),
                     QM_OK);
    assert_int_equal(th_commit_all(fx->f, T0 + 1, rr.id, NULL), QM_OK);
    assert_int_equal(count(fx, "budget_exceeded", "client/acme"), 1);
    assert_int_equal(count(fx, "budget_high", "client/acme"), 0);
    const struct tp_alert_page *pg = alerts(fx);
    const struct tp_alert *a = &pg->alerts[pg->nalerts - 1];
    assert_string_equal(a->severity, "critical");
    assert_int_equal(a->at_ms, T0 + 1);
    assert_string_equal(a->message,
                        "client 'acme' has spent $50.000000 of its "
                        "$10.000000 budget");
}

static void test_fsm_alert_cooldown_is_per_kind_and_subject(void **state)
{
    struct fx *fx = *state;
    th_pool_priced(fx->f, T0, "w", 1000 * U, 0, QM_NANO);
    th_acquire_for(fx->f, T0, "acme", "w", 96 * U, NULL); /* 96% */
    th_acquire(fx->f, T0, 0, 0, "p", 96 * U, NULL);       /* pool at 4% */
    assert_int_equal(th_acquire_for(fx->f, T0, "acme", "w", 5 * U, NULL),
                     QM_BUDGET_EXCEEDED);
    assert_int_equal(count(fx, "budget_high", "client/acme"), 1);
    assert_int_equal(count(fx, "pool_low", "pool/p"), 1);
    assert_int_equal(count(fx, "budget_exceeded", "client/acme"), 1);
    const struct tp_alert_page *pg = alerts(fx);
    assert_int_equal(pg->nalerts, 3);
}

/* ---- Cases: the list ---- */

static void test_fsm_alert_ids_increase_and_pages_follow_after(void **state)
{
    struct fx *fx = *state;
    drain_many(fx, 7, T0);
    struct tp_alert_page *pg = fx->page;
    assert_int_equal(th_alert_list(fx->f, 0, 0, 3, pg), QM_OK);
    assert_int_equal(pg->nalerts, 3);
    assert_true(pg->more);
    assert_alert(&pg->alerts[0], 1, "pool_low", "pool/q0000", "warning", T0);
    assert_alert(&pg->alerts[2], 3, "pool_low", "pool/q0002", "warning", T0);
    assert_int_equal(th_alert_list(fx->f, 0, 3, 3, pg), QM_OK);
    assert_int_equal(pg->nalerts, 3);
    assert_true(pg->more);
    assert_int_equal(pg->alerts[0].id, 4);
    assert_int_equal(th_alert_list(fx->f, 0, 6, 3, pg), QM_OK);
    assert_int_equal(pg->nalerts, 1);
    assert_false(pg->more);
    assert_alert(&pg->alerts[0], 7, "pool_low", "pool/q0006", "warning", T0);
    assert_int_equal(th_alert_list(fx->f, 0, 7, 0, pg), QM_OK);
    assert_int_equal(pg->nalerts, 0);
    assert_int_equal(th_alert_list(fx->f, 0, UINT64_MAX, 0, pg), QM_OK);
    assert_int_equal(pg->nalerts, 0);
    assert_false(pg->more);
    /* Ids go on counting after a restart. */
    th_fsm_reopen(fx->f);
    th_acquire(fx->f, T0, 0, 0, "p", 95 * U, NULL);
    assert_int_equal(th_alert_list(fx->f, 0, 7, 0, pg), QM_OK);
    assert_int_equal(pg->nalerts, 1);
    assert_int_equal(pg->alerts[0].id, 8);
}

static void test_fsm_alert_only_the_most_recent_are_kept(void **state)
{
    struct fx *fx = *state;
    drain_many(fx, QM_ALERTS_MAX + 5, T0);
    struct tp_alert_page *pg = fx->page;
    uint64_t after = 0, want = 6, n = 0;
    do {
        assert_int_equal(th_alert_list(fx->f, 0, after, 0, pg), QM_OK);
        for (uint32_t i = 0; i < pg->nalerts; i++, want++, n++) {
            char subject[32];
            snprintf(subject, sizeof(subject), "pool/q%04d", (int)want - 1);
            assert_int_equal(pg->alerts[i].id, want);
            assert_string_equal(pg->alerts[i].subject, subject);
            after = pg->alerts[i].id;
        }
    } while (pg->more);
    assert_int_equal(n, QM_ALERTS_MAX);
    assert_int_equal(after, QM_ALERTS_MAX + 5);
    /* The next one pushes out the oldest kept. */
    th_acquire(fx->f, T0, 0, 0, "p", 95 * U, NULL);
    assert_int_equal(th_alert_list(fx->f, 0, 0, 1, pg), QM_OK);
    assert_int_equal(pg->alerts[0].id, 7);
    assert_int_equal(th_alert_list(fx->f, 0, QM_ALERTS_MAX + 5, 0, pg), QM_OK);
    assert_int_equal(pg->nalerts, 1);
    assert_alert(&pg->alerts[0], QM_ALERTS_MAX + 6, "pool_low", "pool/p",
                 "warning", T0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_fsm_alert_pool_low_once_within_the_cooldown),
        T(test_fsm_alert_pool_low_only_below_ten_percent),
        T(test_fsm_alert_pool_low_counts_every_part_of_a_pool),
        T(test_fsm_alert_pool_low_by_reservation_per_pool),
        T(test_fsm_alert_budget_high_at_95_percent),
        T(test_fsm_alert_budget_exceeded_on_refusal),
        T(test_fsm_alert_budget_exceeded_by_a_charge_past_the_budget),
        T(test_fsm_alert_cooldown_is_per_kind_and_subject),
        T(test_fsm_alert_ids_increase_and_pages_follow_after),
        T(test_fsm_alert_only_the_most_recent_are_kept),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
