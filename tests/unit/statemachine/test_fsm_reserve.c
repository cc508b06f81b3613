/* Unit tests of reservations through fsm_apply and fsm_query: reserve from
 * one or several pools, all or nothing, for a lease; the limits checked at
 * reserve time (tokens, the tier's concurrent reservations, the budget);
 * commit with the used amounts, release, expiry by TICK; and acquire for a
 * client as reserve and commit in one step. */
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

#define T0 1700000000000LL
#define U QM_MILLI /* one unit in milli-units */

/* Pools: "a" 100 units refilling 10/s at $1 a unit, "b" 50 units without
 * refill at $0.50, "c" 10 units refilling 1/s at $1. Clients: acme
 * (basic: $100 a month, 5 open reservations), big (enterprise: no
 * budget). */
static int setup(void **state)
{
    th_log_capture();
    struct th_fsm *fx = th_fsm_new();
    assert_int_equal(
        th_pool_priced(fx, T0, "a", 100 * U, 10 * U, TH_USD_PER_UNIT(1)),
        QM_OK);
    assert_int_equal(th_pool_priced(fx, T0, "b", 50 * U, 0, QM_NANO / 2),
                     QM_OK);
    assert_int_equal(th_pool_priced(fx, T0, "c", 10 * U, U, QM_NANO), QM_OK);
    assert_int_equal(
        th_client_create(fx, T0, "acme", TP_TIER_BASIC, TH_TIER_BUDGET), QM_OK);
    assert_int_equal(
        th_client_create(fx, T0, "big", TP_TIER_ENTERPRISE, TH_TIER_BUDGET),
        QM_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    th_fsm_free(*state);
    th_log_release();
    return 0;
}

/* ---- Helpers ---- */

/* Reserve a=@a and b=@b (milli-units; 0 leaves the pool out) for @client
 * with @ttl; returns the status. */
static int reserve_ab(struct th_fsm *fx,
                      int64_t t,
                      const char *client,
                      int64_t a,
                      int64_t b,
                      int64_t ttl,
                      struct tp_reserve_result *out)
{
    struct tp_reserve r;
    th_reserve_args(&r, client, ttl);
    if (a > 0) {
        th_reserve_add(&r, "a", a);
    }
    if (b > 0) {
        th_reserve_add(&r, "b", b);
    }
    return th_reserve(fx, t, 0, 0, &r, out);
}

static int64_t retry_after(struct th_fsm *fx)
{
    struct tp_result r;
    struct qm_span raw = {fx->last, fx->last_len};
    th_result_decode(raw, &r, NULL, NULL);
    return r.retry_after_ms;
}

static uint32_t open_reservations(struct th_fsm *fx)
{
    struct tp_res_page *page = malloc(sizeof(*page));
    assert_non_null(page);
    assert_int_equal(th_res_list(fx, 0, "", 0, 0, page), QM_OK);
    uint32_t n = page->nres;
    free(page);
    return n;
}

/* ---- Assertions ---- */

/* What @id holds against its budget and how many it has open. */
static void assert_held(struct th_fsm *fx,
                        const char *id,
                        uint64_t open,
                        int64_t reserved,
                        int64_t spent)
{
    struct tp_client_info ci;
    assert_int_equal(th_client_get(fx, 0, id, &ci), QM_OK);
    assert_int_equal(ci.open, open);
    assert_int_equal(ci.reserved, reserved);
    assert_int_equal(ci.spent, spent);
}

static void assert_tokens(struct th_fsm *fx, const char *pool, int64_t want)
{
    assert_int_equal(th_pool_tokens(fx, 0, pool), want);
}

/* A refusal that changes nothing at all (sessionless, no alert). */
static void assert_refused_cleanly(struct th_fsm *fx,
                                   const struct tp_reserve *r,
                                   int status,
                                   const char *what)
{
    char before[33];
    th_fsm_digest(fx, before);
    struct tp_reserve_result rr;
    assert_int_equal(th_reserve(fx, T0, 0, 0, r, &rr), status);
    th_assert_message(fx, what);
    assert_int_equal(rr.id, 0);
    th_assert_digest(fx, before);
}

/* ---- Cases: reserve ---- */

static void test_fsm_reserve_holds_tokens_and_the_estimate(void **state)
{
    struct th_fsm *fx = *state;
    struct tp_reserve_result rr;
    assert_int_equal(reserve_ab(fx, T0, "acme", 10 * U, 4 * U, 30000, &rr),
                     QM_OK);
    assert_int_equal(rr.id, 1);
    assert_int_equal(rr.expires_at_ms, T0 + 30000);
    assert_int_equal(rr.estimate, TH_USD(12)); /* $10 + 4 x $0.50 */
    assert_int_equal(rr.retry_after_ms, 0);
    assert_tokens(fx, "a", 90 * U);
    assert_tokens(fx, "b", 46 * U);
    assert_held(fx, "acme", 1, TH_USD(12), 0);

    struct tp_res_info ri;
    assert_int_equal(th_res_get(fx, T0, 1, &ri), QM_OK);
    assert_int_equal(ri.id, 1);
    assert_string_equal(ri.client, "acme");
    assert_int_equal(ri.namounts, 2);
    assert_string_equal(ri.amounts[0].pool, "a");
    assert_int_equal(ri.amounts[0].amount, 10 * U);
    assert_string_equal(ri.amounts[1].pool, "b");
    assert_int_equal(ri.amounts[1].amount, 4 * U);
    assert_int_equal(ri.estimate, TH_USD(12));
    assert_int_equal(ri.created_ms, T0);
    assert_int_equal(ri.expires_at_ms, T0 + 30000);
}

static void test_fsm_reserve_default_lease_is_a_minute(void **state)
{
    struct th_fsm *fx = *state;
    struct tp_reserve_result rr;
    assert_int_equal(th_reserve1(fx, T0 + 7, "acme", "a", U, &rr), QM_OK);
    assert_int_equal(rr.id, 1);
    assert_int_equal(rr.expires_at_ms, T0 + 7 + QM_RES_TTL_MS);
    assert_int_equal(th_reserve1(fx, T0 + 8, "big", "a", U, &rr), QM_OK);
    assert_int_equal(rr.id, 2); /* ids count up across clients */
    struct tp_reserve r;
    th_reserve_args(&r, "acme", QM_RES_TTL_MAX_MS);
    th_reserve_add(&r, "b", 1);
    assert_int_equal(th_reserve(fx, T0 + 9, 0, 0, &r, &rr), QM_OK);
    assert_int_equal(rr.expires_at_ms, T0 + 9 + QM_RES_TTL_MAX_MS);
    r.ttl_ms = QM_RES_TTL_MAX_MS + 1;
    assert_int_equal(th_reserve(fx, T0, 0, 0, &r, &rr), QM_INVALID);
}

static void test_fsm_reserve_is_all_or_nothing_when_one_pool_is_short(
    void **state)
{
    struct th_fsm *fx = *state;
    assert_int_equal(th_acquire(fx, T0, 0, 0, "b", 45 * U, NULL), QM_OK);
    struct tp_reserve r;
    th_reserve_args(&r, "acme", 0);
    th_reserve_add(&r, "a", 10 * U);
    th_reserve_add(&r, "c", 5 * U);
    th_reserve_add(&r, "b", 6 * U); /* 5 left, no refill */
    assert_refused_cleanly(fx, &r, QM_DENIED, "pool 'b' has too few tokens");
    assert_int_equal(retry_after(fx), 0);
    assert_tokens(fx, "a", 100 * U);
    assert_tokens(fx, "c", 10 * U);
    assert_tokens(fx, "b", 5 * U);
    assert_held(fx, "acme", 0, 0, 0);
    assert_int_equal(open_reservations(fx), 0);
    /* What is there is granted. */
    r.amounts[2].amount = 5 * U;
    assert_int_equal(th_reserve(fx, T0, 0, 0, &r, NULL), QM_OK);
    assert_tokens(fx, "a", 90 * U);
    assert_tokens(fx, "c", 5 * U);
    assert_tokens(fx, "b", 0);
}

static void test_fsm_reserve_refusals_take_nothing_from_any_pool(void **s)
{
    struct th_fsm *fx = *s;
    struct tp_pool_create d;
    th_pool_create_args(&d, "d", 10 * U, 0, 0);
    d.kind = TP_KIND_DEDICATED;
    snprintf(d.owner, sizeof(d.owner), "big");
    assert_int_equal(th_pool_create_as(fx, T0, &d), QM_OK);
    struct tp_reserve r;

    th_reserve_args(&r, "acme", 0);
    th_reserve_add(&r, "a", U);
    th_reserve_add(&r, "ghost", U);
    assert_refused_cleanly(fx, &r, QM_NOT_FOUND, "no pool named 'ghost'");
    snprintf(r.amounts[1].pool, sizeof(r.amounts[1].pool), "d");
    assert_refused_cleanly(fx, &r, QM_DENIED, "dedicated to client 'big'");
    assert_int_equal(retry_after(fx), 0);
    snprintf(r.amounts[1].pool, sizeof(r.amounts[1].pool), "b");
    r.amounts[1].amount = 50 * U + 1;
    assert_refused_cleanly(fx, &r, QM_INVALID, "at most 50.000 units");
    r.amounts[1].amount = 0;
    assert_refused_cleanly(fx, &r, QM_INVALID, "amount of b must be above 0");
    snprintf(r.amounts[1].pool, sizeof(r.amounts[1].pool), "a");
    r.amounts[1].amount = U;
    assert_refused_cleanly(fx, &r, QM_INVALID, "pool a is named twice");
    th_reserve_args(&r, "acme", 0);
    assert_refused_cleanly(fx, &r, QM_INVALID, "at least one POOL=AMOUNT");
    th_reserve_args(&r, "ghost", 0);
    th_reserve_add(&r, "a", U);
    assert_refused_cleanly(fx, &r, QM_NOT_FOUND, "no client named 'ghost'");
    assert_tokens(fx, "a", 100 * U);
}

static void test_fsm_reserve_denied_waits_for_the_slowest_pool(void **state)
{
    struct th_fsm *fx = *state;
    th_acquire(fx, T0, 0, 0, "a", 100 * U, NULL); /* refills 10/s */
    th_acquire(fx, T0, 0, 0, "c", 10 * U, NULL);  /* refills 1/s */
    struct tp_reserve r;
    th_reserve_args(&r, "acme", 0);
    th_reserve_add(&r, "a", 5 * U);
    th_reserve_add(&r, "c", 2 * U);
    struct tp_reserve_result rr;
    assert_int_equal(th_reserve(fx, T0, 0, 0, &r, &rr), QM_DENIED);
    assert_int_equal(retry_after(fx), 2000);
    assert_int_equal(rr.retry_after_ms, 2000);
    assert_int_equal(rr.id, 0);
    assert_int_equal(th_reserve(fx, T0 + 1999, 0, 0, &r, &rr), QM_DENIED);
    assert_int_equal(rr.retry_after_ms, 1);
    assert_int_equal(th_reserve(fx, T0 + 2000, 0, 0, &r, &rr), QM_OK);
    assert_int_equal(rr.id, 1);
    assert_tokens(fx, "a", 15 * U);
    assert_tokens(fx, "c", 0);
}

static void test_fsm_reserve_short_of_a_pool_without_refill_never_says_when(
    void **state)
{
    struct th_fsm *fx = *state;
    th_acquire(fx, T0, 0, 0, "a", 100 * U, NULL); /* back in 500 ms */
    th_acquire(fx, T0, 0, 0, "b", 50 * U, NULL);  /* never back */
    struct tp_reserve_result rr;
    /* Whatever the order of the pools. */
    assert_int_equal(reserve_ab(fx, T0, "acme", 5 * U, U, 0, &rr), QM_DENIED);
    assert_int_equal(retry_after(fx), 0);
    assert_int_equal(rr.retry_after_ms, 0);
    struct tp_reserve r;
    th_reserve_args(&r, "acme", 0);
    th_reserve_add(&r, "b", U);
    th_reserve_add(&r, "a", 5 * U);
    assert_int_equal(th_reserve(fx, T0, 0, 0, &r, &rr), QM_DENIED);
    assert_int_equal(retry_after(fx), 0);
    assert_int_equal(rr.retry_after_ms, 0);
}

static void test_fsm_reserve_final_refusal_after_a_short_pool_has_no_wait(
    void **state)
{
    struct th_fsm *fx = *state;
    th_acquire(fx, T0, 0, 0, "a", 100 * U, NULL);
    struct tp_reserve r;
    th_reserve_args(&r, "acme", 0);
    th_reserve_add(&r, "a", 5 * U);  /* short for 500 ms */
    th_reserve_add(&r, "b", 51 * U); /* never fits */
    assert_int_equal(th_reserve(fx, T0, 0, 0, &r, NULL), QM_INVALID);
    assert_int_equal(retry_after(fx), 0);
    r.amounts[1].amount = U;
    snprintf(r.amounts[1].pool, sizeof(r.amounts[1].pool), "ghost");
    assert_int_equal(th_reserve(fx, T0, 0, 0, &r, NULL), QM_NOT_FOUND);
    assert_int_equal(retry_after(fx), 0);
}

/* ---- Cases: concurrency ---- */

static void test_fsm_reserve_beyond_the_tiers_max_concurrent_is_denied(
    void **state)
{
    struct th_fsm *fx = *state;
    struct tp_reserve_result rr[5];
    for (int i = 0; i < 5; i++) {
        assert_int_equal(th_reserve1(fx, T0, "acme", "a", U, &rr[i]), QM_OK);
    }
    assert_int_equal(th_reserve1(fx, T0, "acme", "a", U, NULL), QM_DENIED);
    th_assert_message(fx, "holds 5 open reservations");
    th_assert_message(fx, "basic tier");
    assert_int_equal(retry_after(fx), 0);
    assert_tokens(fx, "a", 95 * U);
    /* Other clients have their own count. */
    assert_int_equal(th_reserve1(fx, T0, "big", "a", U, NULL), QM_OK);
    /* Each way of settling frees a slot. */
    assert_int_equal(th_commit_all(fx, T0, rr[0].id, NULL), QM_OK);
    assert_int_equal(th_reserve1(fx, T0, "acme", "a", U, &rr[0]), QM_OK);
    assert_int_equal(th_reserve1(fx, T0, "acme", "a", U, NULL), QM_DENIED);
    assert_int_equal(th_release(fx, T0, rr[1].id, NULL), QM_OK);
    assert_int_equal(th_reserve1(fx, T0, "acme", "a", U, &rr[1]), QM_OK);
    assert_int_equal(th_reserve1(fx, T0, "acme", "a", U, NULL), QM_DENIED);
    assert_held(fx, "acme", 5, TH_USD(5), TH_USD(1));
}

static void test_fsm_reserve_max_concurrent_follows_the_tier_setting(
    void **state)
{
    struct th_fsm *fx = *state;
    struct tp_tier_set ts;
    memset(&ts, 0, sizeof(ts));
    ts.tier = TP_TIER_BASIC;
    ts.set = TP_SET_MAX_CONCURRENT;
    ts.max_concurrent = 2;
    assert_int_equal(th_tier_set(fx, T0, &ts), QM_OK);
    assert_int_equal(th_reserve1(fx, T0, "acme", "a", U, NULL), QM_OK);
    assert_int_equal(th_reserve1(fx, T0, "acme", "a", U, NULL), QM_OK);
    assert_int_equal(th_reserve1(fx, T0, "acme", "a", U, NULL), QM_DENIED);
    th_assert_message(fx, "holds 2 open");
    ts.max_concurrent = 3;
    assert_int_equal(th_tier_set(fx, T0, &ts), QM_OK);
    assert_int_equal(th_reserve1(fx, T0, "acme", "a", U, NULL), QM_OK);
    /* Lowered below what is open: no new one until enough settle. */
    ts.max_concurrent = 1;
    assert_int_equal(th_tier_set(fx, T0, &ts), QM_OK);
    assert_int_equal(th_reserve1(fx, T0, "acme", "a", U, NULL), QM_DENIED);
    th_assert_message(fx, "holds 3 open");
    /* And a tier change moves the client to the other tier's limit. */
    assert_int_equal(th_client_set_tier(fx, T0, "acme", TP_TIER_STANDARD),
                     QM_OK);
    assert_int_equal(th_reserve1(fx, T0, "acme", "a", U, NULL), QM_OK);
}

/* ---- Cases: budget ---- */

static void test_fsm_reserve_budget_counts_spent_held_and_estimate(void **state)
{
    struct th_fsm *fx = *state;
    struct tp_acquire_result ar;
    assert_int_equal(th_acquire_for(fx, T0, "acme", "a", 30 * U, &ar), QM_OK);
    assert_int_equal(ar.cost, TH_USD(30));
    assert_int_equal(reserve_ab(fx, T0, "acme", 0, 50 * U, 0, NULL), QM_OK);
    assert_held(fx, "acme", 1, TH_USD(25), TH_USD(30));
    /* $30 spent + $25 held + $45 is exactly the $100 budget. */
    assert_int_equal(reserve_ab(fx, T0, "acme", 45 * U, 0, 0, NULL), QM_OK);
    assert_held(fx, "acme", 2, TH_USD(70), TH_USD(30));
    /* The smallest amount more is refused, and changes nothing but an
     * alert. */
    assert_int_equal(th_reserve1(fx, T0, "acme", "c", 1, NULL),
                     QM_BUDGET_EXCEEDED);
    th_assert_message(fx,
                      "client 'acme' has spent $30.000000 and holds "
                      "$70.000000 this month; $0.001000 more passes its "
                      "budget of $100.000000");
    assert_int_equal(retry_after(fx), 0);
    assert_tokens(fx, "c", 10 * U);
    assert_tokens(fx, "a", 25 * U);
    assert_held(fx, "acme", 2, TH_USD(70), TH_USD(30));
    assert_int_equal(open_reservations(fx), 2);
    assert_int_equal(th_alert_count(fx, "budget_exceeded", "client/acme"), 1);
    /* Free pools cost nothing and always fit. */
    assert_int_equal(th_pool_priced(fx, T0, "free", 10 * U, 0, 0), QM_OK);
    assert_int_equal(th_reserve1(fx, T0, "acme", "free", 10 * U, NULL), QM_OK);
}

static void test_fsm_reserve_budget_is_checked_before_a_shortage(void **s)
{
    struct th_fsm *fx = *s;
    assert_int_equal(th_client_set_budget(fx, T0, "acme", TH_USD(3)), QM_OK);
    th_acquire(fx, T0, 0, 0, "c", 10 * U, NULL); /* c: back at 1/s */
    /* Both short and over budget: the budget answers, without a wait
     * (waiting would not help). */
    struct tp_reserve_result rr;
    assert_int_equal(th_reserve1(fx, T0, "acme", "c", 4 * U, &rr),
                     QM_BUDGET_EXCEEDED);
    assert_int_equal(retry_after(fx), 0);
    assert_int_equal(rr.retry_after_ms, 0);
    /* Within budget, the shortage answers with its wait. */
    assert_int_equal(th_reserve1(fx, T0, "acme", "c", 3 * U, &rr), QM_DENIED);
    assert_int_equal(retry_after(fx), 3000);
}

static void test_fsm_reserve_of_an_unlimited_client_has_no_budget(void **s)
{
    struct th_fsm *fx = *s;
    assert_int_equal(reserve_ab(fx, T0, "big", 100 * U, 50 * U, 0, NULL),
                     QM_OK);
    assert_held(fx, "big", 1, TH_USD(125), 0);
    assert_int_equal(th_alert_count(fx, "budget_exceeded", "client/big"), 0);
}

static void test_fsm_reserve_costs_past_int64_saturate_and_never_wrap(
    void **state)
{
    struct th_fsm *fx = *state;
    /* Two pools whose full amount costs more than INT64_MAX micro-dollars
     * ($10^12 units at $10^6). */
    th_pool_priced(fx, T0, "gold", QM_TOKENS_MAX, 0, QM_PRICE_MAX);
    th_pool_priced(fx, T0, "gold2", QM_TOKENS_MAX, 0, QM_PRICE_MAX);
    /* A client with a budget and some spend is refused, not let through
     * by an overflow. */
    assert_int_equal(th_acquire_for(fx, T0, "acme", "a", U, NULL), QM_OK);
    struct tp_reserve r;
    th_reserve_args(&r, "acme", 0);
    th_reserve_add(&r, "gold", QM_TOKENS_MAX);
    assert_int_equal(th_reserve(fx, T0, 0, 0, &r, NULL), QM_BUDGET_EXCEEDED);
    th_reserve_add(&r, "gold2", QM_TOKENS_MAX);
    assert_int_equal(th_reserve(fx, T0, 0, 0, &r, NULL), QM_BUDGET_EXCEEDED);
    assert_held(fx, "acme", 0, 0, TH_USD(1));
    /* Without a budget, the estimate and the amount held stop at
     * INT64_MAX. */
    snprintf(r.client, sizeof(r.client), "big");
    r.amounts[0].amount = r.amounts[1].amount = QM_TOKENS_MAX / 2;
    struct tp_reserve_result r1, r2;
    assert_int_equal(th_reserve(fx, T0, 0, 0, &r, &r1), QM_OK);
    assert_int_equal(r1.estimate, INT64_MAX);
    assert_int_equal(th_reserve(fx, T0, 0, 0, &r, &r2), QM_OK);
    assert_held(fx, "big", 2, INT64_MAX, 0);
    int64_t cost;
    assert_int_equal(th_commit_all(fx, T0, r1.id, &cost), QM_OK);
    assert_int_equal(cost, INT64_MAX);
    assert_int_equal(th_commit_all(fx, T0, r2.id, &cost), QM_OK);
    assert_int_equal(th_spent(fx, T0, "big"), INT64_MAX);
    struct tp_usage *u = malloc(sizeof(*u));
    assert_non_null(u);
    assert_int_equal(th_usage(fx, T0, "big", 0, "", 0, u), QM_OK);
    assert_int_equal(u->spent, INT64_MAX);
    assert_int_equal(u->npools, 2);
    assert_int_equal(u->pools[0].cost, INT64_MAX);
    assert_int_equal(u->pools[0].units, QM_TOKENS_MAX);
    free(u);
    /* And so does an estimate. */
    struct tp_estimate_args ea;
    memset(&ea, 0, sizeof(ea));
    ea.namounts = 2;
    snprintf(ea.amounts[0].pool, sizeof(ea.amounts[0].pool), "gold");
    snprintf(ea.amounts[1].pool, sizeof(ea.amounts[1].pool), "gold2");
    ea.amounts[0].amount = ea.amounts[1].amount = QM_TOKENS_MAX;
    assert_int_equal(th_estimate(fx, T0, &ea, &cost), QM_OK);
    assert_int_equal(cost, INT64_MAX);
}

static void test_fsm_reserve_at_the_end_of_cluster_time_stays_in_bounds(
    void **state)
{
    struct th_fsm *fx = *state;
    th_tick(fx, INT64_MAX);
    assert_int_equal(fsm_clock(fx->f), QM_TIME_MAX);
    struct tp_reserve_result rr;
    assert_int_equal(th_reserve1(fx, INT64_MAX, "acme", "b", U, &rr), QM_OK);
    assert_true(rr.expires_at_ms <= QM_TIME_MAX);
    assert_int_equal(th_res_get(fx, 0, rr.id, NULL), QM_OK);
    assert_int_equal(fsm_next_deadline(fx->f), rr.expires_at_ms);
    assert_int_equal(th_tick(fx, INT64_MAX), QM_OK);
    assert_int_equal(th_res_get(fx, 0, rr.id, NULL), QM_NOT_FOUND);
    /* At the end of cluster time a lease ends as it starts: a commit finds
     * it expired, releases it and charges nothing. */
    assert_int_equal(th_reserve1(fx, INT64_MAX, "acme", "b", U, &rr), QM_OK);
    assert_int_equal(th_commit_all(fx, INT64_MAX, rr.id, NULL), QM_NOT_FOUND);
    assert_held(fx, "acme", 0, 0, 0);
}

/* ---- Cases: acquire for a client ---- */

static void test_fsm_acquire_for_a_client_reserves_and_commits_at_once(
    void **state)
{
    struct th_fsm *fx = *state;
    struct tp_acquire_result ar;
    assert_int_equal(th_acquire_for(fx, T0, "acme", "a", 10 * U + 1, &ar),
                     QM_OK);
    assert_true(ar.granted);
    assert_int_equal(ar.tokens, 90 * U - 1);
    assert_int_equal(ar.cost, TH_USD(10) + 1000);
    assert_held(fx, "acme", 0, 0, TH_USD(10) + 1000);
    assert_int_equal(open_reservations(fx), 0);
    struct tp_usage u;
    assert_int_equal(th_usage(fx, T0, "acme", 0, "", 0, &u), QM_OK);
    assert_int_equal(u.npools, 1);
    assert_string_equal(u.pools[0].pool, "a");
    assert_int_equal(u.pools[0].units, 10 * U + 1);
    assert_int_equal(u.pools[0].cost, TH_USD(10) + 1000);
    /* It needs no concurrency slot. */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(th_reserve1(fx, T0, "acme", "b", U, NULL), QM_OK);
    }
    assert_int_equal(th_acquire_for(fx, T0, "acme", "a", U, &ar), QM_OK);
    /* Anonymous acquires cost nobody anything. */
    assert_int_equal(th_acquire_for(fx, T0, "", "a", U, &ar), QM_OK);
    assert_int_equal(ar.cost, 0);
    assert_int_equal(th_acquire_for(fx, T0, "ghost", "a", U, &ar),
                     QM_NOT_FOUND);
    th_assert_message(fx, "no client named 'ghost'");
}

static void test_fsm_acquire_for_a_client_is_held_to_the_budget(void **s)
{
    struct th_fsm *fx = *s;
    assert_int_equal(reserve_ab(fx, T0, "acme", 0, 50 * U, 0, NULL), QM_OK);
    assert_int_equal(th_acquire_for(fx, T0, "acme", "a", 70 * U, NULL), QM_OK);
    /* $70 spent + $25 held: $5 left. */
    struct tp_acquire_result ar;
    assert_int_equal(th_acquire_for(fx, T0, "acme", "a", 5 * U + 1, &ar),
                     QM_BUDGET_EXCEEDED);
    assert_false(ar.granted);
    assert_tokens(fx, "a", 30 * U);
    assert_int_equal(th_alert_count(fx, "budget_exceeded", "client/acme"), 1);
    assert_int_equal(th_acquire_for(fx, T0, "acme", "a", 5 * U, &ar), QM_OK);
    assert_held(fx, "acme", 1, TH_USD(25), TH_USD(75));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_fsm_reserve_holds_tokens_and_the_estimate),
        T(test_fsm_reserve_default_lease_is_a_minute),
        T(test_fsm_reserve_is_all_or_nothing_when_one_pool_is_short),
        T(test_fsm_reserve_refusals_take_nothing_from_any_pool),
        T(test_fsm_reserve_denied_waits_for_the_slowest_pool),
        T(test_fsm_reserve_short_of_a_pool_without_refill_never_says_when),
        T(test_fsm_reserve_final_refusal_after_a_short_pool_has_no_wait),
        T(test_fsm_reserve_beyond_the_tiers_max_concurrent_is_denied),
        T(test_fsm_reserve_max_concurrent_follows_the_tier_setting),
        T(test_fsm_reserve_budget_counts_spent_held_and_estimate),
        T(test_fsm_reserve_budget_is_checked_before_a_shortage),
        T(test_fsm_reserve_of_an_unlimited_client_has_no_budget),
        T(test_fsm_reserve_costs_past_int64_saturate_and_never_wrap),
        T(test_fsm_reserve_at_the_end_of_cluster_time_stays_in_bounds),
        T(test_fsm_acquire_for_a_client_reserves_and_commits_at_once),
        T(test_fsm_acquire_for_a_client_is_held_to_the_budget),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
