/* Unit tests of statemachine/fsm_bucket: the pure token-bucket arithmetic
 * in milli-units with the carry of sub-milli-unit fractions. */
#include <string.h>

#include "fsm_bucket.h"
#include "qm_limits.h"
#include "th_cmocka.h"
#include "th_rng.h"

/* ---- Fixture ---- */

/* Buckets are plain values; each case builds its own. */
static struct fsm_bucket bucket(int64_t capacity,
                                int64_t refill,
                                int64_t tokens,
                                int64_t last_ms)
{
    struct fsm_bucket b;
    memset(&b, 0, sizeof(b));
    b.capacity = capacity;
    b.refill = refill;
    b.tokens = tokens;
    b.last_ms = last_ms;
    return b;
}

/* ---- Helpers ---- */

/* The exact refill of @elapsed ms at @refill milli-units/s, in 1/1000
 * milli-units, without the cap: done in 128 bits to be independent of the
 * code under test. */
static void exact(int64_t refill,
                  int64_t elapsed,
                  int64_t carry,
                  int64_t *tokens,
                  int64_t *rest)
{
    __extension__ typedef unsigned __int128 u128;
    u128 x = (u128)refill * (u128)elapsed + (u128)carry;
    *tokens = (int64_t)(x / 1000);
    *rest = (int64_t)(x % 1000);
}

/* ---- Assertions ---- */

static void assert_bucket(const struct fsm_bucket *b,
                          int64_t tokens,
                          int64_t carry,
                          int64_t last_ms)
{
    assert_int_equal(b->tokens, tokens);
    assert_int_equal(b->carry, carry);
    assert_int_equal(b->last_ms, last_ms);
    assert_true(b->tokens >= 0 && b->tokens <= b->capacity);
    assert_true(b->carry >= 0 && b->carry <= 999);
}

static void assert_unchanged(const struct fsm_bucket *b,
                             const struct fsm_bucket *before)
{
    assert_memory_equal(b, before, sizeof(*b));
}

/* ---- Cases ---- */

static void test_fsm_bucket_carry_makes_slow_refill_exact(void **state)
{
    (void)state;
    /* 1 milli-unit per second, brought up to date every millisecond: the
     * 1000 fractions add up to exactly one milli-unit. */
    struct fsm_bucket b = bucket(1000, 1, 0, 0);
    for (int64_t t = 1; t < 1000; t++) {
        fsm_bucket_advance(&b, t);
        assert_bucket(&b, 0, t, t);
    }
    fsm_bucket_advance(&b, 1000);
    assert_bucket(&b, 1, 0, 1000);
}

static void test_fsm_bucket_polling_often_equals_one_long_step(void **state)
{
    (void)state;
    struct th_rng rng;
    th_rng_seed(&rng, 0xb0c4e7);
    for (int round = 0; round < 200; round++) {
        int64_t refill = 1 + (int64_t)th_rng_below(&rng, 5000);
        int64_t cap = 1000000000;
        struct fsm_bucket stepped = bucket(cap, refill, 0, 1000);
        int64_t t = 1000;
        for (int s = 0; s < 100; s++) {
            t += (int64_t)th_rng_below(&rng, 50);
            fsm_bucket_advance(&stepped, t);
        }
        struct fsm_bucket once = bucket(cap, refill, 0, 1000);
        fsm_bucket_advance(&once, t);
        int64_t tokens, rest;
        exact(refill, t - 1000, 0, &tokens, &rest);
        assert_bucket(&once, tokens, rest, t);
        assert_bucket(&stepped, tokens, rest, t);
    }
}

static void test_fsm_bucket_refill_is_exact_over_an_interval(void **state)
{
    (void)state;
    struct fsm_bucket b = bucket(1000000, 1500, 0, 0);
    fsm_bucket_advance(&b, 2001); /* 1500 * 2.001 = 3001.5 */
    assert_bucket(&b, 3001, 500, 2001);
    fsm_bucket_advance(&b, 2002); /* + 1.5 + 0.5 carried = 3003 */
    assert_bucket(&b, 3003, 0, 2002);
}

static void test_fsm_bucket_caps_at_capacity_and_drops_carry(void **state)
{
    (void)state;
    struct fsm_bucket b = bucket(5000, 1000, 4990, 0);
    b.carry = 700;
    fsm_bucket_advance(&b, 9); /* needs 9.3 ms of the 10 - 0.7 */
    assert_bucket(&b, 4999, 700, 9);
    fsm_bucket_advance(&b, 10);
    assert_bucket(&b, 5000, 0, 10);
    fsm_bucket_advance(&b, 1000000);
    assert_bucket(&b, 5000, 0, 1000000);
    /* A full bucket earns nothing while full: time moves on, tokens stay. */
    struct fsm_bucket full = bucket(10, 3, 10, 0);
    fsm_bucket_advance(&full, 999);
    assert_bucket(&full, 10, 0, 999);
}

static void test_fsm_bucket_clock_going_backwards_changes_nothing(void **state)
{
    (void)state;
    struct fsm_bucket b = bucket(100000, 777, 10, 5000);
    b.carry = 123;
    struct fsm_bucket before = b;
    fsm_bucket_advance(&b, 4999);
    assert_unchanged(&b, &before);
    fsm_bucket_advance(&b, 0);
    assert_unchanged(&b, &before);
    fsm_bucket_advance(&b, INT64_MIN);
    assert_unchanged(&b, &before);
    fsm_bucket_advance(&b, 5000); /* the same time: nothing either */
    assert_unchanged(&b, &before);
}

static void test_fsm_bucket_without_refill_never_grows(void **state)
{
    (void)state;
    struct fsm_bucket b = bucket(1000, 0, 10, 0);
    fsm_bucket_advance(&b, QM_TIME_MAX);
    assert_bucket(&b, 10, 0, QM_TIME_MAX);
}

static void test_fsm_bucket_limits_do_not_overflow(void **state)
{
    (void)state;
    /* UBSan aborts the test on any signed overflow below. */
    struct fsm_bucket b = bucket(QM_TOKENS_MAX, QM_REFILL_MAX, 0, 0);
    fsm_bucket_advance(&b, QM_TIME_MAX);
    assert_bucket(&b, QM_TOKENS_MAX, 0, QM_TIME_MAX);

    b = bucket(QM_TOKENS_MAX, QM_REFILL_MAX, 0, 0);
    fsm_bucket_advance(&b, 1);
    assert_bucket(&b, QM_REFILL_MAX / 1000, 0, 1);

    /* Just short of full, with the biggest carry. */
    b = bucket(QM_TOKENS_MAX, QM_REFILL_MAX, 0, 0);
    b.carry = 999;
    fsm_bucket_advance(&b, 999);
    int64_t tokens, rest;
    exact(QM_REFILL_MAX, 999, 999, &tokens, &rest);
    assert_bucket(&b, tokens, rest, 999);

    /* The slowest refill over the longest time. */
    b = bucket(QM_TOKENS_MAX, 1, 0, 0);
    fsm_bucket_advance(&b, QM_TIME_MAX);
    exact(1, QM_TIME_MAX, 0, &tokens, &rest);
    assert_bucket(&b, tokens, rest, QM_TIME_MAX);

    /* Every elapsed time from a mid-range state, at the largest rates. */
    struct th_rng rng;
    th_rng_seed(&rng, 42);
    for (int k = 0; k < 10000; k++) {
        int64_t cap = 1 + (int64_t)th_rng_below(&rng, QM_TOKENS_MAX);
        int64_t refill = (int64_t)th_rng_below(&rng, QM_REFILL_MAX + 1);
        int64_t tok = (int64_t)th_rng_below(&rng, (uint64_t)cap + 1);
        int64_t t0 = (int64_t)th_rng_below(&rng, QM_TIME_MAX);
        int64_t t1 =
            t0 + (int64_t)th_rng_below(&rng, (uint64_t)(QM_TIME_MAX - t0) + 1);
        b = bucket(cap, refill, tok, t0);
        b.carry = tok < cap ? (int64_t)th_rng_below(&rng, 1000) : 0;
        int64_t carry0 = b.carry;
        fsm_bucket_advance(&b, t1);
        assert_true(b.tokens >= tok && b.tokens <= cap);
        if (b.tokens < cap && refill > 0) {
            exact(refill, t1 - t0, carry0, &tokens, &rest);
            assert_int_equal(b.tokens, tok + tokens);
            assert_int_equal(b.carry, rest);
        }
        int64_t w = fsm_bucket_wait_ms(&b, cap);
        assert_true(w >= -1);
    }
}

static void test_fsm_bucket_wait_ms_is_the_exact_ceiling(void **state)
{
    (void)state;
    struct fsm_bucket b = bucket(10000, 1000, 0, 0);
    assert_int_equal(fsm_bucket_wait_ms(&b, 1), 1);
    assert_int_equal(fsm_bucket_wait_ms(&b, 2500), 2500);
    b = bucket(10000, 3, 0, 0);
    assert_int_equal(fsm_bucket_wait_ms(&b, 1), 334); /* ceil(1000/3) */
    /* The carry counts: half a milli-unit is already earned. */
    b = bucket(10000, 1000, 0, 0);
    b.carry = 500;
    assert_int_equal(fsm_bucket_wait_ms(&b, 1), 1);
    b = bucket(10000, 1, 0, 0);
    b.carry = 999;
    assert_int_equal(fsm_bucket_wait_ms(&b, 1), 1);
    assert_int_equal(fsm_bucket_wait_ms(&b, 2), 1001);
    /* Already there. */
    b = bucket(10000, 0, 50, 0);
    assert_int_equal(fsm_bucket_wait_ms(&b, 50), 0);
    assert_int_equal(fsm_bucket_wait_ms(&b, 0), 0);
}

static void test_fsm_bucket_waiting_wait_ms_is_enough_and_one_less_is_not(
    void **state)
{
    (void)state;
    struct th_rng rng;
    th_rng_seed(&rng, 7);
    for (int k = 0; k < 5000; k++) {
        int64_t cap = 1 + (int64_t)th_rng_below(&rng, 100000);
        int64_t refill = 1 + (int64_t)th_rng_below(&rng, 100000);
        int64_t tok = (int64_t)th_rng_below(&rng, (uint64_t)cap + 1);
        struct fsm_bucket b = bucket(cap, refill, tok, 1000);
        b.carry = tok < cap ? (int64_t)th_rng_below(&rng, 1000) : 0;
        int64_t n = 1 + (int64_t)th_rng_below(&rng, (uint64_t)cap);
        int64_t w = fsm_bucket_wait_ms(&b, n);
        assert_true(w >= 0);
        struct fsm_bucket at = b;
        fsm_bucket_advance(&at, 1000 + w);
        assert_true(at.tokens >= n);
        if (w > 0) {
            struct fsm_bucket early = b;
            fsm_bucket_advance(&early, 1000 + w - 1);
            assert_true(early.tokens < n);
        }
    }
}

static void test_fsm_bucket_wait_ms_is_minus_one_when_never(void **state)
{
    (void)state;
    struct fsm_bucket b = bucket(1000, 0, 10, 0);
    assert_int_equal(fsm_bucket_wait_ms(&b, 11), -1); /* no refill */
    b = bucket(1000, 1000, 1000, 0);
    assert_int_equal(fsm_bucket_wait_ms(&b, 1001), -1); /* above capacity */
    /* At the limits the wait is large but exact. */
    b = bucket(QM_TOKENS_MAX, 1, 0, 0);
    assert_int_equal(fsm_bucket_wait_ms(&b, QM_TOKENS_MAX),
                     QM_TOKENS_MAX * 1000);
    b = bucket(QM_TOKENS_MAX, QM_REFILL_MAX, 0, 0);
    assert_int_equal(fsm_bucket_wait_ms(&b, QM_TOKENS_MAX), 1000);
}

static void test_fsm_bucket_take_removes_exactly_n(void **state)
{
    (void)state;
    struct fsm_bucket b = bucket(1000, 10, 600, 5);
    b.carry = 42;
    assert_true(fsm_bucket_take(&b, 250));
    assert_bucket(&b, 350, 42, 5);
    assert_true(fsm_bucket_take(&b, 350));
    assert_bucket(&b, 0, 42, 5);
    assert_true(fsm_bucket_take(&b, 0));
    assert_bucket(&b, 0, 42, 5);
}

static void test_fsm_bucket_take_fails_without_change_when_short(void **state)
{
    (void)state;
    struct fsm_bucket b = bucket(1000, 10, 600, 5);
    b.carry = 42;
    struct fsm_bucket before = b;
    assert_false(fsm_bucket_take(&b, 601));
    assert_unchanged(&b, &before);
    assert_false(fsm_bucket_take(&b, -1));
    assert_unchanged(&b, &before);
    assert_false(fsm_bucket_take(&b, INT64_MAX));
    assert_unchanged(&b, &before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fsm_bucket_carry_makes_slow_refill_exact),
        cmocka_unit_test(test_fsm_bucket_polling_often_equals_one_long_step),
        cmocka_unit_test(test_fsm_bucket_refill_is_exact_over_an_interval),
        cmocka_unit_test(test_fsm_bucket_caps_at_capacity_and_drops_carry),
        cmocka_unit_test(test_fsm_bucket_clock_going_backwards_changes_nothing),
        cmocka_unit_test(test_fsm_bucket_without_refill_never_grows),
        cmocka_unit_test(test_fsm_bucket_limits_do_not_overflow),
        cmocka_unit_test(test_fsm_bucket_wait_ms_is_the_exact_ceiling),
        cmocka_unit_test(
            test_fsm_bucket_waiting_wait_ms_is_enough_and_one_less_is_not),
        cmocka_unit_test(test_fsm_bucket_wait_ms_is_minus_one_when_never),
        cmocka_unit_test(test_fsm_bucket_take_removes_exactly_n),
        cmocka_unit_test(test_fsm_bucket_take_fails_without_change_when_short),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
