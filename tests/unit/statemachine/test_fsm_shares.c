/* Unit tests of pool kinds through fsm_apply and fsm_query: shared,
 * reserved (shares set aside per client or tier, which others cannot take,
 * each refilling in proportion to its size) and dedicated (one client
 * only); what each caller reaches, in which order it takes and gives back,
 * and how long it is told to wait. */
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

/* Clients: acme and prem2 are premium, bob is standard. */
static int setup(void **state)
{
    th_log_capture();
    struct th_fsm *fx = th_fsm_new();
    assert_int_equal(
        th_client_create(fx, T0, "acme", TP_TIER_PREMIUM, TH_TIER_BUDGET),
        QM_OK);
    assert_int_equal(
        th_client_create(fx, T0, "prem2", TP_TIER_PREMIUM, TH_TIER_BUDGET),
        QM_OK);
    assert_int_equal(
        th_client_create(fx, T0, "bob", TP_TIER_STANDARD, TH_TIER_BUDGET),
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

/* Pool "r": 1000 milli-units refilling @refill per second; acme's share
 * 400, the premium tier's 100, the unreserved part 500. */
static void make_reserved(struct th_fsm *fx, int64_t refill)
{
    struct tp_pool_create a;
    th_pool_create_args(&a, "r", 1000, refill, 0);
    a.kind = TP_KIND_RESERVED;
    th_share_client(&a, "acme", 400);
    th_share_tier(&a, TP_TIER_PREMIUM, 100);
    assert_int_equal(th_pool_create_as(fx, T0, &a), QM_OK);
}

/* A create that must be refused with @status and leave no pool. */
static void refuse_create(struct th_fsm *fx,
                          const struct tp_pool_create *a,
                          int status,
                          const char *what)
{
    char before[33];
    th_fsm_digest(fx, before);
    assert_int_equal(th_pool_create_as(fx, T0, a), status);
    th_assert_message(fx, what);
    th_assert_digest(fx, before);
}

/* ---- Assertions ---- */

/* Tokens of acme's share, the premium share and the unreserved part of
 * pool "r" at @now. */
static void assert_parts(struct th_fsm *fx,
                         int64_t now,
                         int64_t acme,
                         int64_t premium,
                         int64_t unreserved)
{
    struct tp_pool_info info;
    assert_int_equal(th_pool_get(fx, now, "r", &info), QM_OK);
    assert_int_equal(info.nshares, 2);
    assert_int_equal(info.shares[0].tokens, acme);
    assert_int_equal(info.shares[1].tokens, premium);
    assert_int_equal(info.tokens, unreserved);
}

static void assert_retry_after(struct th_fsm *fx, int64_t want)
{
    struct tp_result r;
    struct qm_span raw = {fx->last, fx->last_len};
    th_result_decode(raw, &r, NULL, NULL);
    assert_int_equal(r.retry_after_ms, want);
}

/* ---- Cases: creating pools of each kind ---- */

static void test_fsm_shares_reserved_pool_shows_its_shares(void **state)
{
    struct th_fsm *fx = *state;
    make_reserved(fx, 0);
    struct tp_pool_info info;
    assert_int_equal(th_pool_get(fx, T0, "r", &info), QM_OK);
    assert_int_equal(info.kind, TP_KIND_RESERVED);
    assert_int_equal(info.capacity, 1000);
    assert_int_equal(info.tokens, 500); /* the unreserved part */
    assert_string_equal(info.owner, "");
    assert_int_equal(info.nshares, 2);
    assert_int_equal(info.shares[0].tier, 0);
    assert_string_equal(info.shares[0].client, "acme");
    assert_int_equal(info.shares[0].amount, 400);
    assert_int_equal(info.shares[0].tokens, 400);
    assert_int_equal(info.shares[1].tier, TP_TIER_PREMIUM);
    assert_string_equal(info.shares[1].client, "");
    assert_int_equal(info.shares[1].amount, 100);
    assert_int_equal(info.shares[1].tokens, 100);
}

static void test_fsm_shares_dedicated_pool_needs_an_existing_owner(void **s)
{
    struct th_fsm *fx = *s;
    struct tp_pool_create a;
    th_pool_create_args(&a, "d", 1000, 0, 0);
    a.kind = TP_KIND_DEDICATED;
    refuse_create(fx, &a, QM_INVALID, "needs an owner");
    snprintf(a.owner, sizeof(a.owner), "ghost");
    refuse_create(fx, &a, QM_NOT_FOUND, "no client named 'ghost'");
    /* Only a dedicated pool has an owner. */
    a.kind = TP_KIND_SHARED;
    snprintf(a.owner, sizeof(a.owner), "acme");
    refuse_create(fx, &a, QM_INVALID, "only it has one");
    a.kind = 0;
    refuse_create(fx, &a, QM_INVALID, "only it has one");

    a.kind = TP_KIND_DEDICATED;
    assert_int_equal(th_pool_create_as(fx, T0, &a), QM_OK);
    struct tp_pool_info info;
    assert_int_equal(th_pool_get(fx, T0, "d", &info), QM_OK);
    assert_int_equal(info.kind, TP_KIND_DEDICATED);
    assert_string_equal(info.owner, "acme");
    assert_int_equal(info.tokens, 1000);
}

static void test_fsm_shares_only_a_reserved_pool_has_shares(void **state)
{
    struct th_fsm *fx = *state;
    struct tp_pool_create a;
    th_pool_create_args(&a, "r", 1000, 0, 0);
    a.kind = TP_KIND_RESERVED;
    refuse_create(fx, &a, QM_INVALID, "needs shares");
    th_share_tier(&a, TP_TIER_BASIC, 10);
    a.kind = TP_KIND_SHARED;
    refuse_create(fx, &a, QM_INVALID, "only it has them");
    a.kind = 0;
    refuse_create(fx, &a, QM_INVALID, "only it has them");
    a.kind = TP_KIND_DEDICATED;
    snprintf(a.owner, sizeof(a.owner), "acme");
    refuse_create(fx, &a, QM_INVALID, "only it has them");
}

static void test_fsm_shares_each_names_a_tier_or_a_client(void **state)
{
    struct th_fsm *fx = *state;
    struct tp_pool_create a;
    th_pool_create_args(&a, "r", 1000, 0, 0);
    a.kind = TP_KIND_RESERVED;
    th_share_tier(&a, TP_TIER_BASIC, 10);
    th_share_client(&a, "acme", 10);
    a.shares[1].tier = TP_TIER_PREMIUM; /* both */
    refuse_create(fx, &a, QM_INVALID, "share 2 must name a tier or a client");
    a.shares[1].tier = 0;
    a.shares[1].client[0] = '\0'; /* neither */
    refuse_create(fx, &a, QM_INVALID, "share 2 must name a tier or a client");
    snprintf(a.shares[1].client, sizeof(a.shares[1].client), "ghost");
    refuse_create(fx, &a, QM_NOT_FOUND, "no client named 'ghost'");
}

static void test_fsm_shares_none_is_given_twice(void **state)
{
    struct th_fsm *fx = *state;
    struct tp_pool_create a;
    th_pool_create_args(&a, "r", 1000, 0, 0);
    a.kind = TP_KIND_RESERVED;
    th_share_tier(&a, TP_TIER_BASIC, 10);
    th_share_client(&a, "acme", 10);
    th_share_tier(&a, TP_TIER_BASIC, 20);
    refuse_create(fx, &a, QM_INVALID, "share 3 is given twice");
    a.shares[2].tier = 0;
    snprintf(a.shares[2].client, sizeof(a.shares[2].client), "acme");
    refuse_create(fx, &a, QM_INVALID, "share 3 is given twice");
    /* A client and that client's tier are different holders. */
    a.shares[2].tier = TP_TIER_PREMIUM;
    a.shares[2].client[0] = '\0';
    assert_int_equal(th_pool_create_as(fx, T0, &a), QM_OK);
}

static void test_fsm_shares_hold_at_most_the_capacity(void **state)
{
    struct th_fsm *fx = *state;
    struct tp_pool_create a;
    th_pool_create_args(&a, "r", 1000, 100, 0);
    a.kind = TP_KIND_RESERVED;
    th_share_client(&a, "acme", 600);
    th_share_tier(&a, TP_TIER_STANDARD, 401);
    refuse_create(fx, &a, QM_INVALID, "more than the pool's capacity");
    /* All of it set aside: nothing is left for anybody else. */
    a.shares[1].amount = 400;
    assert_int_equal(th_pool_create_as(fx, T0, &a), QM_OK);
    assert_int_equal(th_pool_tokens(fx, T0, "r"), 0);
    assert_int_equal(th_acquire_for(fx, T0, "", "r", 1, NULL), QM_INVALID);
    th_assert_message(fx, "at most 0.000 units here");
    assert_int_equal(th_acquire_for(fx, T0, "prem2", "r", 1, NULL), QM_INVALID);
    assert_int_equal(th_acquire_for(fx, T0, "bob", "r", 400, NULL), QM_OK);
    assert_int_equal(th_acquire_for(fx, T0, "acme", "r", 600, NULL), QM_OK);
}

static void test_fsm_shares_of_sixteen_holders_are_accepted(void **state)
{
    struct th_fsm *fx = *state;
    struct tp_pool_create a;
    th_pool_create_args(&a, "r", QM_TOKENS_MAX, QM_REFILL_MAX, 0);
    a.kind = TP_KIND_RESERVED;
    for (int i = 0; i < QM_SHARES_MAX - TP_TIERS; i++) {
        char id[QM_NAME_MAX + 1];
        memset(id, 'c', QM_NAME_MAX);
        snprintf(id + QM_NAME_MAX - 2, 3, "%02d", i);
        assert_int_equal(th_client_create(fx, T0, id, TP_TIER_BASIC, 0), QM_OK);
        th_share_client(&a, id, QM_TOKENS_MAX / QM_SHARES_MAX);
    }
    for (uint64_t t = 1; t <= TP_TIERS; t++) {
        th_share_tier(&a, t, QM_TOKENS_MAX / QM_SHARES_MAX);
    }
    assert_int_equal(th_pool_create_as(fx, T0, &a), QM_OK);
    struct tp_pool_info info;
    assert_int_equal(th_pool_get(fx, T0, "r", &info), QM_OK);
    assert_int_equal(info.nshares, QM_SHARES_MAX);
    assert_int_equal(info.tokens, 0);
}

/* ---- Cases: who takes what ---- */

static void test_fsm_shares_others_cannot_take_a_reserved_share(void **s)
{
    struct th_fsm *fx = *s;
    make_reserved(fx, 0);
    /* bob (standard) reaches the unreserved part only. */
    assert_int_equal(th_acquire_for(fx, T0, "bob", "r", 501, NULL), QM_INVALID);
    th_assert_message(fx, "at most 0.500 units here");
    struct tp_acquire_result ar;
    assert_int_equal(th_acquire_for(fx, T0, "bob", "r", 500, &ar), QM_OK);
    assert_int_equal(ar.tokens, 0);
    assert_int_equal(th_acquire_for(fx, T0, "bob", "r", 1, &ar), QM_DENIED);
    th_assert_message(fx, "no refill");
    assert_parts(fx, T0, 400, 100, 0);
    /* prem2 reaches the premium share, never acme's. */
    assert_int_equal(th_acquire_for(fx, T0, "prem2", "r", 101, NULL),
                     QM_DENIED);
    assert_int_equal(th_acquire_for(fx, T0, "prem2", "r", 100, &ar), QM_OK);
    assert_int_equal(ar.tokens, 0);
    assert_parts(fx, T0, 400, 0, 0);
    /* A reservation is held to the same rule. */
    assert_int_equal(th_reserve1(fx, T0, "bob", "r", 1, NULL), QM_DENIED);
    assert_int_equal(th_reserve1(fx, T0, "prem2", "r", 1, NULL), QM_DENIED);
    assert_int_equal(th_reserve1(fx, T0, "acme", "r", 400, NULL), QM_OK);
    assert_parts(fx, T0, 0, 0, 0);
}

static void test_fsm_shares_holder_takes_own_then_tier_then_unreserved(
    void **state)
{
    struct th_fsm *fx = *state;
    make_reserved(fx, 0);
    struct tp_acquire_result ar;
    assert_int_equal(th_acquire_for(fx, T0, "acme", "r", 300, &ar), QM_OK);
    assert_int_equal(ar.tokens, 700); /* all acme can still reach */
    assert_parts(fx, T0, 100, 100, 500);
    assert_int_equal(th_acquire_for(fx, T0, "acme", "r", 250, &ar), QM_OK);
    assert_parts(fx, T0, 0, 0, 450);
    assert_int_equal(th_acquire_for(fx, T0, "acme", "r", 450, &ar), QM_OK);
    assert_parts(fx, T0, 0, 0, 0);
    assert_int_equal(th_acquire_for(fx, T0, "acme", "r", 1, NULL), QM_DENIED);
}

static void test_fsm_shares_tier_holder_takes_tier_then_unreserved(void **s)
{
    struct th_fsm *fx = *s;
    make_reserved(fx, 0);
    assert_int_equal(th_acquire_for(fx, T0, "prem2", "r", 150, NULL), QM_OK);
    assert_parts(fx, T0, 400, 0, 450);
}

static void test_fsm_shares_give_back_fills_own_share_first(void **state)
{
    struct th_fsm *fx = *state;
    make_reserved(fx, 0);
    struct tp_reserve_result rr;
    assert_int_equal(th_reserve1(fx, T0, "acme", "r", 550, &rr), QM_OK);
    assert_parts(fx, T0, 0, 0, 450);
    /* Others use the unreserved part meanwhile. */
    assert_int_equal(th_acquire_for(fx, T0, "bob", "r", 450, NULL), QM_OK);
    assert_parts(fx, T0, 0, 0, 0);
    /* 200 used: 350 come back, to acme's share first, then the tier's,
     * and the rest to the unreserved part. */
    assert_int_equal(th_commit_one(fx, T0, rr.id, 200, NULL), QM_OK);
    assert_parts(fx, T0, 350, 0, 0);
    assert_int_equal(th_reserve1(fx, T0, "acme", "r", 350, &rr), QM_OK);
    assert_parts(fx, T0, 0, 0, 0);
    assert_int_equal(th_release(fx, T0, rr.id, NULL), QM_OK);
    assert_parts(fx, T0, 350, 0, 0);
}

static void test_fsm_shares_give_back_never_passes_a_parts_size(void **state)
{
    struct th_fsm *fx = *state;
    make_reserved(fx, 0);
    struct tp_reserve_result rr;
    assert_int_equal(th_reserve1(fx, T0, "prem2", "r", 300, &rr), QM_OK);
    assert_parts(fx, T0, 400, 0, 300);
    assert_int_equal(th_release(fx, T0, rr.id, NULL), QM_OK);
    assert_parts(fx, T0, 400, 100, 500);
    /* acme's give-back spills over its full share into the others. */
    assert_int_equal(th_reserve1(fx, T0, "acme", "r", 1000, &rr), QM_OK);
    assert_parts(fx, T0, 0, 0, 0);
    assert_int_equal(th_release(fx, T0, rr.id, NULL), QM_OK);
    assert_parts(fx, T0, 400, 100, 500);
}

static void test_fsm_shares_tier_share_follows_the_clients_tier(void **state)
{
    struct th_fsm *fx = *state;
    make_reserved(fx, 0);
    assert_int_equal(th_acquire_for(fx, T0, "bob", "r", 600, NULL), QM_INVALID);
    th_client_set_tier(fx, T0, "bob", TP_TIER_PREMIUM);
    assert_int_equal(th_acquire_for(fx, T0, "bob", "r", 600, NULL), QM_OK);
    assert_parts(fx, T0, 400, 0, 0);
}

static void test_fsm_shares_anonymous_acquire_reaches_the_unreserved_part(
    void **state)
{
    struct th_fsm *fx = *state;
    make_reserved(fx, 0);
    assert_int_equal(th_acquire_for(fx, T0, "", "r", 501, NULL), QM_INVALID);
    assert_int_equal(th_acquire(fx, T0, 0, 0, "r", 500, NULL), QM_OK);
    assert_int_equal(th_acquire(fx, T0, 0, 0, "r", 1, NULL), QM_DENIED);
    assert_parts(fx, T0, 400, 100, 0);
}

/* ---- Cases: dedicated pools ---- */

static void test_fsm_shares_dedicated_pool_serves_only_its_owner(void **s)
{
    struct th_fsm *fx = *s;
    struct tp_pool_create a;
    th_pool_create_args(&a, "d", 1000, 100, 0);
    a.kind = TP_KIND_DEDICATED;
    snprintf(a.owner, sizeof(a.owner), "acme");
    assert_int_equal(th_pool_create_as(fx, T0, &a), QM_OK);
    char before[33];
    th_fsm_digest(fx, before);
    struct tp_acquire_result ar;
    assert_int_equal(th_acquire_for(fx, T0, "bob", "d", 1, &ar), QM_DENIED);
    th_assert_message(fx, "dedicated to client 'acme'");
    assert_retry_after(fx, 0);
    assert_false(ar.granted);
    assert_int_equal(ar.tokens, 0);
    assert_int_equal(ar.retry_after_ms, 0);
    assert_int_equal(th_acquire_for(fx, T0, "", "d", 1, NULL), QM_DENIED);
    th_assert_message(fx, "dedicated");
    assert_int_equal(th_acquire_for(fx, T0, "prem2", "d", 1, NULL), QM_DENIED);
    assert_int_equal(th_reserve1(fx, T0, "bob", "d", 1, NULL), QM_DENIED);
    th_assert_message(fx, "dedicated");
    assert_retry_after(fx, 0);
    th_assert_digest(fx, before);
    assert_int_equal(th_acquire_for(fx, T0, "acme", "d", 1000, &ar), QM_OK);
    assert_int_equal(ar.tokens, 0);
    /* Its owner waits for the refill like anybody else. */
    assert_int_equal(th_reserve1(fx, T0, "acme", "d", 50, NULL), QM_DENIED);
    assert_retry_after(fx, 500);
}

/* ---- Cases: refill ---- */

static void test_fsm_shares_refill_in_proportion_to_their_size(void **state)
{
    struct th_fsm *fx = *state;
    make_reserved(fx, 100); /* acme 40/s, premium 10/s, unreserved 50/s */
    assert_int_equal(th_acquire_for(fx, T0, "acme", "r", 1000, NULL), QM_OK);
    assert_parts(fx, T0, 0, 0, 0);
    assert_parts(fx, T0 + 1000, 40, 10, 50);
    assert_parts(fx, T0 + 5000, 200, 50, 250);
    assert_parts(fx, T0 + 9999, 399, 99, 499);
    assert_parts(fx, T0 + 60000, 400, 100, 500);
    /* Entries move the parts too, and a full part stops at its size while
     * the others go on. */
    assert_int_equal(th_acquire_for(fx, T0 + 2000, "bob", "r", 100, NULL),
                     QM_OK);
    assert_parts(fx, T0 + 2000, 80, 20, 0);
    assert_parts(fx, T0 + 10000, 400, 100, 400);
}

static void test_fsm_shares_refill_rates_add_up_to_the_pools(void **state)
{
    struct th_fsm *fx = *state;
    /* 10/s over 3000: each share of 1000 gets 3/s, the unreserved part
     * the rest (4/s), so that no refill is lost to rounding. */
    struct tp_pool_create a;
    th_pool_create_args(&a, "r", 3000, 10, 0);
    a.kind = TP_KIND_RESERVED;
    th_share_client(&a, "acme", 1000);
    th_share_tier(&a, TP_TIER_PREMIUM, 1000);
    assert_int_equal(th_pool_create_as(fx, T0, &a), QM_OK);
    assert_int_equal(th_acquire_for(fx, T0, "acme", "r", 3000, NULL), QM_OK);
    assert_parts(fx, T0 + 1000, 3, 3, 4);
    assert_parts(fx, T0 + 100000, 300, 300, 400);
}

/* ---- Cases: how long to wait ---- */

static void test_fsm_shares_retry_after_counts_parts_that_still_refill(
    void **state)
{
    struct th_fsm *fx = *state;
    /* acme's share (40/s) is full and the unreserved part (60/s) empty:
     * only the unreserved part can bring the missing 100 milli-units,
     * which takes ceil(100 / 60 s) = 1667 ms. */
    struct tp_pool_create a;
    th_pool_create_args(&a, "r", 1000, 100, 0);
    a.kind = TP_KIND_RESERVED;
    th_share_client(&a, "acme", 400);
    assert_int_equal(th_pool_create_as(fx, T0, &a), QM_OK);
    assert_int_equal(th_acquire_for(fx, T0, "bob", "r", 600, NULL), QM_OK);
    struct tp_acquire_result ar;
    assert_int_equal(th_acquire_for(fx, T0, "acme", "r", 500, &ar), QM_DENIED);
    assert_int_equal(ar.retry_after_ms, 1667);
    assert_int_equal(th_reserve1(fx, T0, "acme", "r", 500, NULL), QM_DENIED);
    assert_retry_after(fx, 1667);
    assert_int_equal(th_acquire_for(fx, T0 + 1666, "acme", "r", 500, NULL),
                     QM_DENIED);
    assert_retry_after(fx, 1);
    assert_int_equal(th_acquire_for(fx, T0 + 1667, "acme", "r", 500, NULL),
                     QM_OK);
}

static void test_fsm_shares_retry_after_when_the_share_is_the_empty_part(
    void **state)
{
    struct th_fsm *fx = *state;
    /* acme's share empty, the unreserved part full: the missing 100 come
     * from the share at 40/s, 2500 ms. */
    struct tp_pool_create a;
    th_pool_create_args(&a, "r", 1000, 100, 0);
    a.kind = TP_KIND_RESERVED;
    th_share_client(&a, "acme", 400);
    assert_int_equal(th_pool_create_as(fx, T0, &a), QM_OK);
    assert_int_equal(th_acquire_for(fx, T0, "acme", "r", 400, NULL), QM_OK);
    assert_int_equal(th_acquire_for(fx, T0, "acme", "r", 700, NULL), QM_DENIED);
    assert_retry_after(fx, 2500);
    assert_int_equal(th_acquire_for(fx, T0 + 2499, "acme", "r", 700, NULL),
                     QM_DENIED);
    assert_int_equal(th_acquire_for(fx, T0 + 2500, "acme", "r", 700, NULL),
                     QM_OK);
}

static void test_fsm_shares_retry_after_for_others_uses_the_unreserved_rate(
    void **state)
{
    struct th_fsm *fx = *state;
    make_reserved(fx, 100); /* unreserved: 50/s */
    assert_int_equal(th_acquire_for(fx, T0, "bob", "r", 500, NULL), QM_OK);
    assert_int_equal(th_acquire_for(fx, T0, "bob", "r", 100, NULL), QM_DENIED);
    assert_retry_after(fx, 2000);
    assert_int_equal(th_acquire_for(fx, T0, "", "r", 1, NULL), QM_DENIED);
    assert_retry_after(fx, 20);
    assert_int_equal(th_acquire_for(fx, T0 + 2000, "bob", "r", 100, NULL),
                     QM_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_fsm_shares_reserved_pool_shows_its_shares),
        T(test_fsm_shares_dedicated_pool_needs_an_existing_owner),
        T(test_fsm_shares_only_a_reserved_pool_has_shares),
        T(test_fsm_shares_each_names_a_tier_or_a_client),
        T(test_fsm_shares_none_is_given_twice),
        T(test_fsm_shares_hold_at_most_the_capacity),
        T(test_fsm_shares_of_sixteen_holders_are_accepted),
        T(test_fsm_shares_others_cannot_take_a_reserved_share),
        T(test_fsm_shares_holder_takes_own_then_tier_then_unreserved),
        T(test_fsm_shares_tier_holder_takes_tier_then_unreserved),
        T(test_fsm_shares_give_back_fills_own_share_first),
        T(test_fsm_shares_give_back_never_passes_a_parts_size),
        T(test_fsm_shares_tier_share_follows_the_clients_tier),
        T(test_fsm_shares_anonymous_acquire_reaches_the_unreserved_part),
        T(test_fsm_shares_dedicated_pool_serves_only_its_owner),
        T(test_fsm_shares_refill_in_proportion_to_their_size),
        T(test_fsm_shares_refill_rates_add_up_to_the_pools),
        T(test_fsm_shares_retry_after_counts_parts_that_still_refill),
        T(test_fsm_shares_retry_after_when_the_share_is_the_empty_part),
        T(test_fsm_shares_retry_after_for_others_uses_the_unreserved_rate),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
