/* Unit tests of spend and usage through fsm_apply and fsm_query: spend per
 * client per UTC calendar month of cluster time, resetting at the month
 * boundary with every month kept, units and cost per pool, the USAGE read
 * (current month, history, paging), and the cost estimate. */
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

/* ---- Fixture ---- */

#define U QM_MILLI

/* Pools "a" ($1 a unit) and "b" ($0.50), 1000 units each, no refill;
 * clients acme (standard: $500) and bob (basic: $100), created in
 * mid-January 2024. */
struct fx
{
    struct th_fsm *f;
    struct tp_usage *u; /* large: on the heap */
    int64_t jan, jan_end, feb;
};

static int setup(void **state)
{
    th_log_capture();
    struct fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->f = th_fsm_new();
    fx->u = malloc(sizeof(*fx->u));
    assert_non_null(fx->u);
    fx->jan = th_utc_ms(2024, 1, 15, 12, 0, 0);
    fx->jan_end = th_utc_ms(2024, 1, 31, 23, 59, 59) + 999;
    fx->feb = th_utc_ms(2024, 2, 1, 0, 0, 0);
    struct th_fsm *f = fx->f;
    int64_t t = fx->jan;
    assert_int_equal(th_pool_priced(f, t, "a", 1000 * U, 0, QM_NANO), QM_OK);
    assert_int_equal(th_pool_priced(f, t, "b", 1000 * U, 0, QM_NANO / 2),
                     QM_OK);
    assert_int_equal(
        th_client_create(f, t, "acme", TP_TIER_STANDARD, TH_TIER_BUDGET),
        QM_OK);
    assert_int_equal(
        th_client_create(f, t, "bob", TP_TIER_BASIC, TH_TIER_BUDGET), QM_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    th_fsm_free(fx->f);
    free(fx->u);
    free(fx);
    th_log_release();
    return 0;
}

/* ---- Helpers ---- */

/* @client spends @units of @pool at once (acquire for a client). */
static void spend(struct fx *fx,
                  int64_t t,
                  const char *client,
                  const char *pool,
                  int64_t units)
{
    assert_int_equal(th_acquire_for(fx->f, t, client, pool, units, NULL),
                     QM_OK);
}

/* USAGE of @client for @month at @now into fx->u. */
static int usage(struct fx *fx, int64_t now, const char *client, uint64_t month)
{
    return th_usage(fx->f, now, client, month, "", 0, fx->u);
}

/* ---- Assertions ---- */

static void assert_line(const struct tp_pool_usage *pu,
                        const char *pool,
                        int64_t units,
                        int64_t cost)
{
    assert_string_equal(pu->pool, pool);
    assert_int_equal(pu->units, units);
    assert_int_equal(pu->cost, cost);
}

/* USAGE of @client in @month (at @now) is @spent. */
static void assert_month_spent(struct fx *fx,
                               int64_t now,
                               const char *client,
                               uint64_t month,
                               int64_t spent)
{
    assert_int_equal(usage(fx, now, client, month), QM_OK);
    assert_string_equal(fx->u->client, client);
    assert_int_equal(fx->u->spent, spent);
}

/* ---- Cases: the current month ---- */

static void test_fsm_usage_shows_this_months_spend_per_pool(void **state)
{
    struct fx *fx = *state;
    spend(fx, fx->jan, "acme", "b", 4 * U);
    spend(fx, fx->jan, "acme", "a", 10 * U);
    struct tp_reserve_result rr;
    assert_int_equal(th_reserve1(fx->f, fx->jan, "acme", "a", 5 * U, &rr),
                     QM_OK);
    assert_int_equal(th_commit_one(fx->f, fx->jan, rr.id, 3 * U, NULL), QM_OK);
    assert_int_equal(usage(fx, fx->jan, "acme", 0), QM_OK);
    assert_string_equal(fx->u->client, "acme");
    assert_int_equal(fx->u->month, 202401);
    assert_int_equal(fx->u->spent, TH_USD(15));
    assert_int_equal(fx->u->npools, 2);
    assert_false(fx->u->more);
    assert_line(&fx->u->pools[0], "a", 13 * U, TH_USD(13));
    assert_line(&fx->u->pools[1], "b", 4 * U, TH_USD(2));
    /* The same month asked by number. */
    assert_month_spent(fx, fx->jan, "acme", 202401, TH_USD(15));
    assert_int_equal(fx->u->npools, 2);
    /* And on the client. */
    struct tp_client_info ci;
    assert_int_equal(th_client_get(fx->f, fx->jan, "acme", &ci), QM_OK);
    assert_int_equal(ci.spent, TH_USD(15));
    assert_int_equal(ci.month, 202401);
}

static void test_fsm_usage_keeps_clients_apart(void **state)
{
    struct fx *fx = *state;
    /* "x" is a prefix of "x.y": their lines must not mix. */
    th_client_create(fx->f, fx->jan, "x", TP_TIER_BASIC, TH_TIER_BUDGET);
    th_client_create(fx->f, fx->jan, "x.y", TP_TIER_BASIC, TH_TIER_BUDGET);
    spend(fx, fx->jan, "x", "a", U);
    spend(fx, fx->jan, "x.y", "b", 2 * U);
    assert_month_spent(fx, fx->jan, "x", 0, TH_USD(1));
    assert_int_equal(fx->u->npools, 1);
    assert_line(&fx->u->pools[0], "a", U, TH_USD(1));
    assert_month_spent(fx, fx->jan, "x.y", 0, TH_USD(1));
    assert_int_equal(fx->u->npools, 1);
    assert_line(&fx->u->pools[0], "b", 2 * U, TH_USD(1));
    assert_month_spent(fx, fx->jan, "acme", 0, 0);
    assert_int_equal(fx->u->npools, 0);
}

static void test_fsm_usage_refuses_unknown_clients_and_bad_months(void **s)
{
    struct fx *fx = *s;
    assert_int_equal(usage(fx, fx->jan, "ghost", 0), QM_NOT_FOUND);
    th_assert_message(fx->f, "no client named 'ghost'");
    static const uint64_t bad[] = {202413, 202400, 196912, 12, 999900};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(usage(fx, fx->jan, "acme", bad[i]), QM_INVALID);
        th_assert_message(fx->f, "is not a month (YYYYMM)");
    }
    /* A real month without spend is empty, not an error. */
    assert_month_spent(fx, fx->jan, "acme", 999912, 0);
    assert_int_equal(fx->u->month, 999912);
    assert_int_equal(fx->u->npools, 0);
    assert_month_spent(fx, fx->jan, "acme", 197001, 0);
}

static void test_fsm_usage_pages_the_pools_with_after(void **state)
{
    struct fx *fx = *state;
    for (int i = 11; i >= 0; i--) {
        char name[8];
        snprintf(name, sizeof(name), "p%02d", i);
        th_pool_priced(fx->f, fx->jan, name, 100 * U, 0, QM_NANO);
        spend(fx, fx->jan, "acme", name, (i + 1) * U);
    }
    struct tp_usage *u = fx->u;
    assert_int_equal(th_usage(fx->f, fx->jan, "acme", 0, "", 5, u), QM_OK);
    assert_int_equal(u->npools, 5);
    assert_true(u->more);
    assert_int_equal(u->spent, TH_USD(78)); /* the total, on every page */
    assert_line(&u->pools[0], "p00", U, TH_USD(1));
    assert_line(&u->pools[4], "p04", 5 * U, TH_USD(5));
    assert_int_equal(th_usage(fx->f, fx->jan, "acme", 0, "p04", 5, u), QM_OK);
    assert_int_equal(u->npools, 5);
    assert_true(u->more);
    assert_line(&u->pools[0], "p05", 6 * U, TH_USD(6));
    assert_int_equal(th_usage(fx->f, fx->jan, "acme", 0, "p09", 5, u), QM_OK);
    assert_int_equal(u->npools, 2);
    assert_false(u->more);
    assert_line(&u->pools[1], "p11", 12 * U, TH_USD(12));
    /* After a name that has no line starts at the next one. */
    assert_int_equal(th_usage(fx->f, fx->jan, "acme", 0, "p05x", 1, u), QM_OK);
    assert_line(&u->pools[0], "p06", 7 * U, TH_USD(7));
    assert_int_equal(th_usage(fx->f, fx->jan, "acme", 0, "p11", 0, u), QM_OK);
    assert_int_equal(u->npools, 0);
    assert_false(u->more);
    assert_int_equal(th_usage(fx->f, fx->jan, "acme", 0, "", 0, u), QM_OK);
    assert_int_equal(u->npools, 12);
    assert_false(u->more);
    assert_int_equal(th_usage(fx->f, fx->jan, "acme", 0, "", 12, u), QM_OK);
    assert_false(u->more);
}

/* ---- Cases: month rollover ---- */

static void test_fsm_usage_starts_a_new_month_at_the_boundary(void **state)
{
    struct fx *fx = *state;
    spend(fx, fx->jan, "acme", "a", 30 * U);
    spend(fx, fx->jan_end, "acme", "b", 20 * U); /* last ms of January */
    assert_month_spent(fx, fx->jan_end, "acme", 0, TH_USD(40));
    assert_int_equal(fx->u->month, 202401);
    spend(fx, fx->feb, "acme", "a", 5 * U); /* first ms of February */
    assert_month_spent(fx, fx->feb, "acme", 0, TH_USD(5));
    assert_int_equal(fx->u->month, 202402);
    assert_int_equal(fx->u->npools, 1);
    assert_line(&fx->u->pools[0], "a", 5 * U, TH_USD(5));
    /* January stays in the history, pool by pool. */
    assert_month_spent(fx, fx->feb, "acme", 202401, TH_USD(40));
    assert_int_equal(fx->u->month, 202401);
    assert_int_equal(fx->u->npools, 2);
    assert_line(&fx->u->pools[0], "a", 30 * U, TH_USD(30));
    assert_line(&fx->u->pools[1], "b", 20 * U, TH_USD(10));
    struct tp_client_info ci;
    th_client_get(fx->f, fx->feb, "acme", &ci);
    assert_int_equal(ci.month, 202402);
    assert_int_equal(ci.spent, TH_USD(5));
}

static void test_fsm_usage_rolls_over_at_the_year_end(void **state)
{
    struct fx *fx = *state;
    int64_t dec_end = th_utc_ms(2024, 12, 31, 23, 59, 59) + 999;
    spend(fx, dec_end, "acme", "a", 7 * U);
    spend(fx, dec_end + 1, "acme", "a", 2 * U);
    assert_month_spent(fx, dec_end + 1, "acme", 0, TH_USD(2));
    assert_int_equal(fx->u->month, 202501);
    assert_month_spent(fx, dec_end + 1, "acme", 202412, TH_USD(7));
    assert_month_spent(fx, dec_end + 1, "acme", 202401, 0);
}

static void test_fsm_usage_resets_the_budget_with_the_month(void **state)
{
    struct fx *fx = *state;
    spend(fx, fx->jan, "bob", "a", 100 * U); /* all of $100 */
    assert_int_equal(th_reserve1(fx->f, fx->jan_end, "bob", "a", 1, NULL),
                     QM_BUDGET_EXCEEDED);
    assert_int_equal(th_acquire_for(fx->f, fx->jan_end, "bob", "a", 1, NULL),
                     QM_BUDGET_EXCEEDED);
    assert_int_equal(th_reserve1(fx->f, fx->feb, "bob", "a", 100 * U, NULL),
                     QM_OK);
    assert_month_spent(fx, fx->feb, "bob", 202401, TH_USD(100));
}

static void test_fsm_usage_charges_a_commit_to_the_month_it_happens(
    void **state)
{
    struct fx *fx = *state;
    struct tp_reserve_result rr;
    assert_int_equal(th_reserve1(fx->f, fx->jan_end, "bob", "a", 60 * U, &rr),
                     QM_OK);
    /* Held across the boundary: February's $100 counts the $60 held. */
    assert_int_equal(th_reserve1(fx->f, fx->feb, "bob", "a", 41 * U, NULL),
                     QM_BUDGET_EXCEEDED);
    int64_t cost;
    assert_int_equal(th_commit_one(fx->f, fx->feb + 10, rr.id, 50 * U, &cost),
                     QM_OK);
    assert_int_equal(cost, TH_USD(50));
    assert_month_spent(fx, fx->feb + 10, "bob", 0, TH_USD(50));
    assert_month_spent(fx, fx->feb + 10, "bob", 202401, 0);
    assert_int_equal(fx->u->npools, 0);
}

static void test_fsm_usage_read_later_than_the_clock_is_of_that_month(
    void **state)
{
    struct fx *fx = *state;
    spend(fx, fx->jan_end, "acme", "a", 3 * U);
    /* The cluster clock is still in January; a read at a February time
     * sees February, where nothing is spent yet. */
    assert_month_spent(fx, fx->feb, "acme", 0, 0);
    assert_int_equal(fx->u->month, 202402);
    assert_month_spent(fx, fx->jan_end, "acme", 0, TH_USD(3));
    assert_int_equal(fsm_clock(fx->f->f), fx->jan_end);
}

static void test_fsm_usage_history_keeps_every_month(void **state)
{
    struct fx *fx = *state;
    for (int m = 1; m <= 12; m++) {
        spend(fx, th_utc_ms(2024, m, 10, 0, 0, 0), "acme", "a", m * U);
    }
    for (int m = 1; m <= 12; m++) {
        assert_month_spent(fx, 0, "acme", (uint64_t)(202400 + m), TH_USD(m));
        assert_int_equal(fx->u->npools, 1);
        assert_line(&fx->u->pools[0], "a", m * U, TH_USD(m));
    }
    assert_month_spent(fx, 0, "acme", 202312, 0);
    assert_month_spent(fx, 0, "acme", 202501, 0);
}

/* ---- Cases: cost estimate ---- */

static void test_fsm_cost_estimate_sums_the_pools_rounded_up(void **state)
{
    struct fx *fx = *state;
    th_pool_priced(fx->f, fx->jan, "tiny", U, 0, 5);
    struct tp_estimate_args ea;
    memset(&ea, 0, sizeof(ea));
    ea.namounts = 3;
    snprintf(ea.amounts[0].pool, sizeof(ea.amounts[0].pool), "a");
    ea.amounts[0].amount = 10 * U;
    snprintf(ea.amounts[1].pool, sizeof(ea.amounts[1].pool), "b");
    ea.amounts[1].amount = 3 * U;
    snprintf(ea.amounts[2].pool, sizeof(ea.amounts[2].pool), "tiny");
    ea.amounts[2].amount = 1;
    char before[33];
    th_fsm_digest(fx->f, before);
    int64_t cost;
    assert_int_equal(th_estimate(fx->f, fx->jan, &ea, &cost), QM_OK);
    assert_int_equal(cost, TH_USD(11) + TH_USD(1) / 2 + 1);
    th_assert_digest(fx->f, before); /* a read */
    /* The estimate a reservation of the same amounts holds. */
    struct tp_reserve r;
    th_reserve_args(&r, "acme", 0);
    for (uint32_t i = 0; i < ea.namounts; i++) {
        th_reserve_add(&r, ea.amounts[i].pool, ea.amounts[i].amount);
    }
    struct tp_reserve_result rr;
    assert_int_equal(th_reserve(fx->f, fx->jan, 0, 0, &r, &rr), QM_OK);
    assert_int_equal(rr.estimate, cost);
}

static void test_fsm_cost_estimate_refuses_what_it_cannot_price(void **s)
{
    struct fx *fx = *s;
    struct tp_estimate_args ea;
    memset(&ea, 0, sizeof(ea));
    int64_t cost;
    assert_int_equal(th_estimate(fx->f, fx->jan, &ea, &cost), QM_INVALID);
    th_assert_message(fx->f, "at least one POOL=AMOUNT");
    ea.namounts = 2;
    snprintf(ea.amounts[0].pool, sizeof(ea.amounts[0].pool), "a");
    ea.amounts[0].amount = U;
    snprintf(ea.amounts[1].pool, sizeof(ea.amounts[1].pool), "ghost");
    ea.amounts[1].amount = U;
    assert_int_equal(th_estimate(fx->f, fx->jan, &ea, &cost), QM_NOT_FOUND);
    th_assert_message(fx->f, "no pool named 'ghost'");
    /* Free pools and nothing at all cost nothing. */
    th_pool_priced(fx->f, fx->jan, "free", U, 0, 0);
    snprintf(ea.amounts[1].pool, sizeof(ea.amounts[1].pool), "free");
    ea.amounts[0].amount = 0;
    assert_int_equal(th_estimate(fx->f, fx->jan, &ea, &cost), QM_OK);
    assert_int_equal(cost, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_fsm_usage_shows_this_months_spend_per_pool),
        T(test_fsm_usage_keeps_clients_apart),
        T(test_fsm_usage_refuses_unknown_clients_and_bad_months),
        T(test_fsm_usage_pages_the_pools_with_after),
        T(test_fsm_usage_starts_a_new_month_at_the_boundary),
        T(test_fsm_usage_rolls_over_at_the_year_end),
        T(test_fsm_usage_resets_the_budget_with_the_month),
        T(test_fsm_usage_charges_a_commit_to_the_month_it_happens),
        T(test_fsm_usage_read_later_than_the_clock_is_of_that_month),
        T(test_fsm_usage_history_keeps_every_month),
        T(test_fsm_cost_estimate_sums_the_pools_rounded_up),
        T(test_fsm_cost_estimate_refuses_what_it_cannot_price),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
