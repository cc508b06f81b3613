/* Unit tests of how reservations end, through fsm_apply and fsm_query:
 * commit with the used amounts (all, POOL=USED for each pool, or one
 * amount for a one-pool reservation), release, and expiry of the lease by
 * a TICK entry at a later time stamp; what each gives back, charges and
 * frees; fsm_next_deadline; reservation get and list. */
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
#define U QM_MILLI

/* Pools: "a" 100 units refilling 10/s at $1 a unit, "b" 50 units without
 * refill at $0.50. Clients: acme (basic: $100, 5 open reservations) and
 * big (enterprise). */
static int setup(void **state)
{
    th_log_capture();
    struct th_fsm *fx = th_fsm_new();
    assert_int_equal(
        th_pool_priced(fx, T0, "a", 100 * U, 10 * U, TH_USD_PER_UNIT(1)),
        QM_OK);
    assert_int_equal(th_pool_priced(fx, T0, "b", 50 * U, 0, QM_NANO / 2),
                     QM_OK);
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

/* acme reserves a=10 and b=4 units (an estimate of $12) at @t for @ttl;
 * returns the id. */
static uint64_t reserve_ab(struct th_fsm *fx, int64_t t, int64_t ttl)
{
    struct tp_reserve r;
    th_reserve_args(&r, "acme", ttl);
    th_reserve_add(&r, "a", 10 * U);
    th_reserve_add(&r, "b", 4 * U);
    struct tp_reserve_result rr;
    assert_int_equal(th_reserve(fx, t, 0, 0, &r, &rr), QM_OK);
    return rr.id;
}

/* One pool for @client with a lease of @ttl; returns the id. */
static uint64_t reserve_one(struct th_fsm *fx,
                            int64_t t,
                            const char *client,
                            const char *pool,
                            int64_t amount,
                            int64_t ttl)
{
    struct tp_reserve r;
    th_reserve_args(&r, client, ttl);
    th_reserve_add(&r, pool, amount);
    struct tp_reserve_result rr;
    assert_int_equal(th_reserve(fx, t, 0, 0, &r, &rr), QM_OK);
    return rr.id;
}

/* ---- Assertions ---- */

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

/* Usage of @pool by acme this month. */
static void assert_used(struct th_fsm *fx,
                        const char *pool,
                        int64_t units,
                        int64_t cost)
{
    struct tp_usage *u = malloc(sizeof(*u));
    assert_non_null(u);
    assert_int_equal(th_usage(fx, 0, "acme", 0, "", 0, u), QM_OK);
    uint32_t i = 0;
    while (i < u->npools && strcmp(u->pools[i].pool, pool) != 0) {
        i++;
    }
    assert_true(i < u->npools);
    assert_int_equal(u->pools[i].units, units);
    assert_int_equal(u->pools[i].cost, cost);
    free(u);
}

static void assert_open(struct th_fsm *fx, uint64_t id, bool open)
{
    assert_int_equal(th_res_get(fx, 0, id, NULL), open ? QM_OK : QM_NOT_FOUND);
}

/* ---- Cases: commit ---- */

static void test_fsm_commit_charges_the_used_amounts_and_returns_the_rest(
    void **state)
{
    struct th_fsm *fx = *state;
    uint64_t id = reserve_ab(fx, T0, 0);
    assert_tokens(fx, "a", 90 * U);
    struct tp_commit cm;
    th_commit_args(&cm, id);
    th_commit_add(&cm, "b", 1500); /* given in any order */
    th_commit_add(&cm, "a", 6 * U);
    int64_t cost;
    assert_int_equal(th_commit(fx, T0, 0, 0, &cm, &cost), QM_OK);
    assert_int_equal(cost, TH_USD(6) + 750000); /* $6 + 1.5 x $0.50 */
    assert_tokens(fx, "a", 94 * U);
    assert_tokens(fx, "b", 48500);
    assert_held(fx, "acme", 0, 0, cost);
    assert_used(fx, "a", 6 * U, TH_USD(6));
    assert_used(fx, "b", 1500, 750000);
    assert_open(fx, id, false);
}

static void test_fsm_commit_rounds_each_pools_charge_up(void **state)
{
    struct th_fsm *fx = *state;
    /* 5 nano-dollars a unit: one milli-unit is 5e-12 dollars, charged as
     * a micro-dollar in each pool. */
    th_pool_priced(fx, T0, "t1", U, 0, 5);
    th_pool_priced(fx, T0, "t2", U, 0, 5);
    th_pool_priced(fx, T0, "t3", U, 0, 5);
    struct tp_reserve r;
    th_reserve_args(&r, "acme", 0);
    th_reserve_add(&r, "t1", 1);
    th_reserve_add(&r, "t2", 1);
    th_reserve_add(&r, "t3", 1);
    struct tp_reserve_result rr;
    assert_int_equal(th_reserve(fx, T0, 0, 0, &r, &rr), QM_OK);
    assert_int_equal(rr.estimate, 3);
    struct tp_commit cm;
    th_commit_args(&cm, rr.id);
    th_commit_add(&cm, "t1", 1);
    th_commit_add(&cm, "t2", 0);
    th_commit_add(&cm, "t3", 1);
    int64_t cost;
    assert_int_equal(th_commit(fx, T0, 0, 0, &cm, &cost), QM_OK);
    assert_int_equal(cost, 2);
    assert_held(fx, "acme", 0, 0, 2);
    assert_used(fx, "t1", 1, 1);
    assert_used(fx, "t3", 1, 1);
}

static void test_fsm_commit_without_amounts_uses_everything(void **state)
{
    struct th_fsm *fx = *state;
    uint64_t id = reserve_ab(fx, T0, 0);
    int64_t cost;
    assert_int_equal(th_commit_all(fx, T0, id, &cost), QM_OK);
    assert_int_equal(cost, TH_USD(12));
    assert_tokens(fx, "a", 90 * U);
    assert_tokens(fx, "b", 46 * U);
    assert_held(fx, "acme", 0, 0, TH_USD(12));
    assert_used(fx, "a", 10 * U, TH_USD(10));
    assert_used(fx, "b", 4 * U, TH_USD(2));
}

static void test_fsm_commit_used_one_fits_a_one_pool_reservation(void **s)
{
    struct th_fsm *fx = *s;
    uint64_t id = reserve_one(fx, T0, "acme", "a", 10 * U, 0);
    int64_t cost;
    assert_int_equal(th_commit_one(fx, T0, id, 2500, &cost), QM_OK);
    assert_int_equal(cost, 2500000);
    assert_tokens(fx, "a", 97500);
    assert_held(fx, "acme", 0, 0, 2500000);
    /* Zero used: everything back, nothing charged. */
    id = reserve_one(fx, T0, "acme", "a", 10 * U, 0);
    assert_int_equal(th_commit_one(fx, T0, id, 0, &cost), QM_OK);
    assert_int_equal(cost, 0);
    assert_tokens(fx, "a", 97500);
    assert_held(fx, "acme", 0, 0, 2500000);
}

static void test_fsm_commit_refuses_amounts_that_do_not_fit(void **state)
{
    struct th_fsm *fx = *state;
    th_pool_priced(fx, T0, "c", U, 0, 0);
    uint64_t id = reserve_ab(fx, T0, 0);
    char before[33];
    th_fsm_digest(fx, before);
    struct tp_commit cm;

    th_commit_args(&cm, id);
    cm.has_used_one = true;
    cm.used_one = U;
    assert_int_equal(th_commit(fx, T0, 0, 0, &cm, NULL), QM_INVALID);
    th_assert_message(fx, "has 2 pools: give POOL=USED for each");
    th_commit_add(&cm, "a", U); /* both forms at once */
    th_commit_add(&cm, "b", U);
    assert_int_equal(th_commit(fx, T0, 0, 0, &cm, NULL), QM_INVALID);

    th_commit_args(&cm, id);
    th_commit_add(&cm, "a", U);
    assert_int_equal(th_commit(fx, T0, 0, 0, &cm, NULL), QM_INVALID);
    th_assert_message(fx, "holds 2 pools: give POOL=USED for each");
    th_commit_add(&cm, "c", 0);
    assert_int_equal(th_commit(fx, T0, 0, 0, &cm, NULL), QM_INVALID);
    th_assert_message(fx, "pool b of r1 is missing");
    snprintf(cm.used[1].pool, sizeof(cm.used[1].pool), "a");
    assert_int_equal(th_commit(fx, T0, 0, 0, &cm, NULL), QM_INVALID);
    th_assert_message(fx, "pool b of r1 is missing");
    th_commit_add(&cm, "b", U);
    assert_int_equal(th_commit(fx, T0, 0, 0, &cm, NULL), QM_INVALID);

    th_commit_args(&cm, id);
    th_commit_add(&cm, "a", 10 * U + 1);
    th_commit_add(&cm, "b", 0);
    assert_int_equal(th_commit(fx, T0, 0, 0, &cm, NULL), QM_INVALID);
    th_assert_message(fx, "r1 holds 10.000 of a; used 10.001");
    th_assert_digest(fx, before);

    /* Still open: a fitting commit goes through. */
    cm.used[0].amount = 10 * U;
    int64_t cost;
    assert_int_equal(th_commit(fx, T0, 0, 0, &cm, &cost), QM_OK);
    assert_int_equal(cost, TH_USD(10));
    assert_tokens(fx, "b", 50 * U);
}

static void test_fsm_commit_used_one_beyond_the_amount_is_invalid(void **s)
{
    struct th_fsm *fx = *s;
    uint64_t id = reserve_one(fx, T0, "acme", "b", 2 * U, 0);
    assert_int_equal(th_commit_one(fx, T0, id, 2 * U + 1, NULL), QM_INVALID);
    th_assert_message(fx, "holds 2.000 of b; used 2.001");
    assert_int_equal(th_commit_one(fx, T0, id, 2 * U, NULL), QM_OK);
}

/* ---- Cases: release ---- */

static void test_fsm_release_returns_everything_and_charges_nothing(
    void **state)
{
    struct th_fsm *fx = *state;
    uint64_t id = reserve_ab(fx, T0, 0);
    int64_t cost = -1;
    assert_int_equal(th_release(fx, T0, id, &cost), QM_OK);
    assert_int_equal(cost, 0);
    assert_tokens(fx, "a", 100 * U);
    assert_tokens(fx, "b", 50 * U);
    assert_held(fx, "acme", 0, 0, 0);
    assert_open(fx, id, false);
    struct tp_usage u;
    assert_int_equal(th_usage(fx, T0, "acme", 0, "", 0, &u), QM_OK);
    assert_int_equal(u.npools, 0);
    assert_int_equal(u.spent, 0);
}

static void test_fsm_settling_gives_back_no_more_than_the_capacity(void **state)
{
    struct th_fsm *fx = *state;
    uint64_t id = reserve_one(fx, T0, "acme", "a", 50 * U, 0);
    /* 3 s later the pool has refilled 30 units: 80 of 100. */
    assert_int_equal(th_release(fx, T0 + 3000, id, NULL), QM_OK);
    assert_tokens(fx, "a", 100 * U);
    id = reserve_one(fx, T0 + 3000, "acme", "a", 50 * U, 0);
    assert_int_equal(th_commit_one(fx, T0 + 4000, id, 5 * U, NULL), QM_OK);
    assert_tokens(fx, "a", 100 * U);
}

static void test_fsm_settled_reservation_is_not_found(void **state)
{
    struct th_fsm *fx = *state;
    uint64_t id = reserve_ab(fx, T0, 0);
    assert_int_equal(th_commit_all(fx, T0, id, NULL), QM_OK);
    assert_int_equal(th_commit_all(fx, T0, id, NULL), QM_NOT_FOUND);
    th_assert_message(fx, "no open reservation r1");
    assert_int_equal(th_release(fx, T0, id, NULL), QM_NOT_FOUND);
    assert_int_equal(th_res_get(fx, T0, id, NULL), QM_NOT_FOUND);
    id = reserve_ab(fx, T0, 0);
    assert_int_equal(th_release(fx, T0, id, NULL), QM_OK);
    assert_int_equal(th_release(fx, T0, id, NULL), QM_NOT_FOUND);
    assert_int_equal(th_commit_one(fx, T0, id, 0, NULL), QM_NOT_FOUND);
    assert_int_equal(th_commit_all(fx, T0, 99, NULL), QM_NOT_FOUND);
    th_assert_message(fx, "r99");
    /* Charged once, for the one commit. */
    assert_held(fx, "acme", 0, 0, TH_USD(12));
}

static void test_fsm_commit_after_the_pool_was_deleted_still_charges(
    void **state)
{
    struct th_fsm *fx = *state;
    uint64_t id = reserve_ab(fx, T0, 0);
    assert_int_equal(th_pool_delete(fx, T0, 0, 0, "b"), QM_OK);
    struct tp_commit cm;
    th_commit_args(&cm, id);
    th_commit_add(&cm, "a", 5 * U);
    th_commit_add(&cm, "b", U);
    int64_t cost;
    assert_int_equal(th_commit(fx, T0, 0, 0, &cm, &cost), QM_OK);
    assert_int_equal(cost, TH_USD(5) + TH_USD(1) / 2);
    assert_tokens(fx, "a", 95 * U);
    assert_used(fx, "b", U, TH_USD(1) / 2);
    assert_held(fx, "acme", 0, 0, cost);
}

/* ---- Cases: lease expiry ---- */

static void test_fsm_lease_expiry_releases_on_a_later_tick(void **state)
{
    struct th_fsm *fx = *state;
    uint64_t id = reserve_ab(fx, T0, 1000);
    assert_int_equal(fsm_next_deadline(fx->f), T0 + 1000);
    assert_int_equal(th_tick(fx, T0 + 999), QM_OK);
    assert_open(fx, id, true);
    assert_held(fx, "acme", 1, TH_USD(12), 0);
    /* Nothing expires without a TICK, whatever the time of a read. */
    assert_int_equal(th_res_get(fx, T0 + 5000, id, NULL), QM_OK);
    assert_int_equal(th_tick(fx, T0 + 1000), QM_OK);
    assert_open(fx, id, false);
    assert_tokens(fx, "b", 50 * U);
    assert_tokens(fx, "a", 100 * U);
    assert_held(fx, "acme", 0, 0, 0);
    assert_int_equal(fsm_next_deadline(fx->f), INT64_MAX);
    assert_int_equal(th_commit_all(fx, T0 + 1000, id, NULL), QM_NOT_FOUND);
    assert_int_equal(th_release(fx, T0 + 1000, id, NULL), QM_NOT_FOUND);
}

static void test_fsm_commit_after_the_lease_ended_releases_and_charges_nothing(
    void **state)
{
    struct th_fsm *fx = *state;
    uint64_t id = reserve_ab(fx, T0, 1000);
    /* No TICK ran yet, but the commit is stamped at the lease's end. */
    int64_t cost = -1;
    assert_int_equal(th_commit_all(fx, T0 + 1000, id, &cost), QM_NOT_FOUND);
    assert_open(fx, id, false);
    assert_tokens(fx, "b", 50 * U);
    assert_held(fx, "acme", 0, 0, 0);
    assert_int_equal(fsm_next_deadline(fx->f), INT64_MAX);
    /* One millisecond before its end the lease still holds. */
    id = reserve_ab(fx, T0 + 2000, 1000);
    assert_int_equal(th_commit_all(fx, T0 + 2999, id, &cost), QM_OK);
    assert_open(fx, id, false);
}

static void test_fsm_lease_expiry_frees_the_slot_and_the_held_estimate(
    void **state)
{
    struct th_fsm *fx = *state;
    /* $90 held in one lease of 1 s and four more leases: all five slots of
     * the basic tier and nearly all its $100. */
    reserve_one(fx, T0, "acme", "a", 90 * U, 1000);
    for (int i = 0; i < 4; i++) {
        reserve_one(fx, T0, "acme", "b", U, 60000);
    }
    assert_int_equal(th_reserve1(fx, T0, "acme", "a", U, NULL), QM_DENIED);
    assert_held(fx, "acme", 5, TH_USD(92), 0);
    th_tick(fx, T0 + 1500);
    assert_held(fx, "acme", 4, TH_USD(2), 0);
    struct tp_reserve_result rr;
    assert_int_equal(th_reserve1(fx, T0 + 1500, "acme", "a", 98 * U, &rr),
                     QM_OK);
    assert_held(fx, "acme", 5, TH_USD(100), 0);
}

static void test_fsm_one_tick_expires_every_lease_that_ended(void **state)
{
    struct th_fsm *fx = *state;
    uint64_t r1 = reserve_one(fx, T0, "acme", "b", U, 3000);
    uint64_t r2 = reserve_one(fx, T0, "big", "b", 2 * U, 1000);
    uint64_t r3 = reserve_one(fx, T0, "acme", "b", 4 * U, 2000);
    uint64_t r4 = reserve_one(fx, T0, "big", "b", 8 * U, 2001);
    assert_tokens(fx, "b", 35 * U);
    th_tick(fx, T0 + 2000);
    assert_open(fx, r1, true);
    assert_open(fx, r2, false);
    assert_open(fx, r3, false);
    assert_open(fx, r4, true);
    assert_tokens(fx, "b", 41 * U);
    assert_int_equal(fsm_next_deadline(fx->f), T0 + 2001);
    /* A tick far later takes the rest; a tick with an older stamp runs at
     * the cluster clock and finds nothing more. */
    th_tick(fx, T0 + 100000);
    th_tick(fx, T0);
    assert_open(fx, r1, false);
    assert_open(fx, r4, false);
    assert_tokens(fx, "b", 50 * U);
    assert_held(fx, "acme", 0, 0, 0);
    assert_held(fx, "big", 0, 0, 0);
}

static void test_fsm_next_deadline_is_the_earliest_lease(void **state)
{
    struct th_fsm *fx = *state;
    assert_int_equal(fsm_next_deadline(fx->f), INT64_MAX);
    uint64_t r1 = reserve_one(fx, T0, "acme", "a", U, 5000);
    assert_int_equal(fsm_next_deadline(fx->f), T0 + 5000);
    uint64_t r2 = reserve_one(fx, T0 + 100, "acme", "a", U, 1900);
    assert_int_equal(fsm_next_deadline(fx->f), T0 + 2000);
    uint64_t r3 = reserve_one(fx, T0 + 200, "acme", "a", U, 8800);
    assert_int_equal(fsm_next_deadline(fx->f), T0 + 2000);
    assert_int_equal(th_commit_all(fx, T0 + 300, r2, NULL), QM_OK);
    assert_int_equal(fsm_next_deadline(fx->f), T0 + 5000);
    th_tick(fx, T0 + 5000);
    assert_open(fx, r1, false);
    assert_int_equal(fsm_next_deadline(fx->f), T0 + 9000);
    assert_int_equal(th_release(fx, T0 + 5000, r3, NULL), QM_OK);
    assert_int_equal(fsm_next_deadline(fx->f), INT64_MAX);
    /* The deadline is durable state. */
    reserve_one(fx, T0 + 6000, "acme", "a", U, 700);
    th_fsm_reopen(fx);
    assert_int_equal(fsm_next_deadline(fx->f), T0 + 6700);
}

/* ---- Cases: reads ---- */

static void test_fsm_reservation_list_pages_and_filters_by_client(void **state)
{
    struct th_fsm *fx = *state;
    for (int i = 0; i < 8; i++) {
        reserve_one(fx, T0 + i, i % 3 == 0 ? "big" : "acme", "b", U, 0);
    }
    /* ids 1..8; big holds 1, 4, 7 */
    struct tp_res_page *page = malloc(sizeof(*page));
    assert_non_null(page);
    assert_int_equal(th_res_list(fx, T0, "", 0, 0, page), QM_OK);
    assert_int_equal(page->nres, 8);
    assert_false(page->more);
    for (uint32_t i = 0; i < 8; i++) {
        assert_int_equal(page->res[i].id, i + 1);
        assert_int_equal(page->res[i].created_ms, T0 + i);
    }
    assert_int_equal(th_res_list(fx, T0, "", 3, 2, page), QM_OK);
    assert_int_equal(page->nres, 2);
    assert_int_equal(page->res[0].id, 4);
    assert_int_equal(page->res[1].id, 5);
    assert_true(page->more);
    assert_int_equal(th_res_list(fx, T0, "big", 0, 2, page), QM_OK);
    assert_int_equal(page->nres, 2);
    assert_int_equal(page->res[0].id, 1);
    assert_int_equal(page->res[1].id, 4);
    assert_true(page->more);
    assert_int_equal(th_res_list(fx, T0, "big", 4, 2, page), QM_OK);
    assert_int_equal(page->nres, 1);
    assert_int_equal(page->res[0].id, 7);
    assert_string_equal(page->res[0].client, "big");
    assert_false(page->more);
    assert_int_equal(th_res_list(fx, T0, "", UINT64_MAX, 0, page), QM_OK);
    assert_int_equal(page->nres, 0);
    assert_int_equal(th_res_list(fx, T0, "nobody", 0, 0, page), QM_OK);
    assert_int_equal(page->nres, 0);
    /* Settled ones leave the list. */
    th_commit_all(fx, T0, 4, NULL);
    assert_int_equal(th_res_list(fx, T0, "big", 0, 0, page), QM_OK);
    assert_int_equal(page->nres, 2);
    assert_int_equal(page->res[1].id, 7);
    free(page);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_fsm_commit_charges_the_used_amounts_and_returns_the_rest),
        T(test_fsm_commit_rounds_each_pools_charge_up),
        T(test_fsm_commit_without_amounts_uses_everything),
        T(test_fsm_commit_used_one_fits_a_one_pool_reservation),
        T(test_fsm_commit_refuses_amounts_that_do_not_fit),
        T(test_fsm_commit_used_one_beyond_the_amount_is_invalid),
        T(test_fsm_release_returns_everything_and_charges_nothing),
        T(test_fsm_settling_gives_back_no_more_than_the_capacity),
        T(test_fsm_settled_reservation_is_not_found),
        T(test_fsm_commit_after_the_pool_was_deleted_still_charges),
        T(test_fsm_lease_expiry_releases_on_a_later_tick),
        T(test_fsm_commit_after_the_lease_ended_releases_and_charges_nothing),
        T(test_fsm_lease_expiry_frees_the_slot_and_the_held_estimate),
        T(test_fsm_one_tick_expires_every_lease_that_ended),
        T(test_fsm_next_deadline_is_the_earliest_lease),
        T(test_fsm_reservation_list_pages_and_filters_by_client),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
