/* Unit tests of the ledger's integer money and calendar (fsm_money.h):
 * the cost of an amount at a price, rounded up to the micro-dollar and
 * exact up to the limits of qm_limits.h, and the UTC month of a cluster
 * time across month, year and leap-year boundaries. */
#include <stdint.h>
#include <string.h>

#include "fsm_money.h"
#include "qm_limits.h"
#include "th_cmocka.h"
#include "th_ledger.h"
#include "th_rng.h"

/* ---- Fixture ---- */

/* Pure functions: no fixture. */

/* ---- Helpers ---- */

/* ceil(u * p / 10^6) without 128-bit arithmetic: split the price into
 * millions and the rest. Only for results that fit comfortably in int64
 * (callers check fits()). */
static int64_t ref_cost(int64_t u, int64_t p)
{
    if (u <= 0 || p <= 0) {
        return 0;
    }
    int64_t ph = p / 1000000, pl = p % 1000000;
    int64_t uh = u / 1000000, ul = u % 1000000;
    /* u * p = u*ph*10^6 + uh*pl*10^6 + ul*pl, and ul*pl < 10^12 */
    int64_t whole = u * ph + uh * pl;
    int64_t rest = ul * pl;
    return whole + rest / 1000000 + (rest % 1000000 != 0);
}

/* Whether ref_cost(u, p) is computed without overflow. */
static bool fits(int64_t u, int64_t p)
{
    int64_t ph = p / 1000000 + 1;
    return u <= INT64_MAX / 4 / ph;
}

/* A value spread over every order of magnitude up to @max. */
static int64_t spread(struct th_rng *r, int64_t max)
{
    uint64_t digits = th_rng_below(r, 16) + 1;
    uint64_t m = 1;
    for (uint64_t i = 0; i < digits; i++) {
        m *= 10;
    }
    int64_t v = (int64_t)th_rng_below(r, m);
    return v > max ? max : v;
}

/* ---- Assertions ---- */

static void assert_month(int64_t ms, uint32_t want)
{
    uint32_t got = fsm_month_of(ms);
    if (got != want) {
        fail_msg("fsm_month_of(%lld) = %u, expected %u", (long long)ms, got,
                 want);
    }
}

/* The month starts at @y-@m-01T00:00Z: its first millisecond belongs to
 * it and the one before to the previous month. */
static void assert_month_starts(int y, int m)
{
    int64_t start = th_utc_ms(y, m, 1, 0, 0, 0);
    uint32_t prev =
        m == 1 ? (uint32_t)((y - 1) * 100 + 12) : (uint32_t)(y * 100 + m - 1);
    assert_month(start, (uint32_t)(y * 100 + m));
    if (start > 0) {
        assert_month(start - 1, prev);
    }
}

/* ---- Cases: cost ---- */

static void test_fsm_cost_of_whole_units_at_whole_dollars_is_exact(void **s)
{
    (void)s;
    /* 1 unit at $1 per unit is $1. */
    assert_int_equal(fsm_cost(TH_UNITS(1), TH_USD_PER_UNIT(1)), TH_USD(1));
    assert_int_equal(fsm_cost(TH_UNITS(250), TH_USD_PER_UNIT(3)), TH_USD(750));
    /* Seed 004: GPT-4 at $0.03 per 1K tokens = 30000 nano-dollars per
     * token; 1500 tokens cost $0.045. */
    assert_int_equal(fsm_cost(TH_UNITS(1500), 30000), 45000);
    /* KV storage at $0.0000005 per read: 100000 reads cost $0.05. */
    assert_int_equal(fsm_cost(TH_UNITS(100000), 500), 50000);
}

static void test_fsm_cost_rounds_up_to_the_micro_dollar(void **s)
{
    (void)s;
    /* 5 nano-dollars per unit for 1 milli-unit: 5e-12 dollars, which is
     * charged as one micro-dollar, never as free. */
    assert_int_equal(fsm_cost(1, 5), 1);
    assert_int_equal(fsm_cost(1, 1), 1);
    assert_int_equal(fsm_cost(1, 999999), 1);
    assert_int_equal(fsm_cost(1, 1000000), 1);
    assert_int_equal(fsm_cost(1, 1000001), 2);
    assert_int_equal(fsm_cost(999, 1000), 1);
    assert_int_equal(fsm_cost(1000, 1000), 1);
    assert_int_equal(fsm_cost(1001, 1000), 2);
    assert_int_equal(fsm_cost(3, 333334), 2); /* 1.000002 micro */
    assert_int_equal(fsm_cost(3, 333333), 1); /* 0.999999 micro */
}

static void test_fsm_cost_of_nothing_or_free_is_zero(void **s)
{
    (void)s;
    assert_int_equal(fsm_cost(0, QM_PRICE_MAX), 0);
    assert_int_equal(fsm_cost(QM_TOKENS_MAX, 0), 0);
    assert_int_equal(fsm_cost(0, 0), 0);
    assert_int_equal(fsm_cost(-5, 100), 0);
    assert_int_equal(fsm_cost(5, -100), 0);
}

static void test_fsm_cost_is_exact_up_to_int64_and_saturates_beyond(void **s)
{
    (void)s;
    /* The largest amount at a price whose cost still fits: exact. */
    assert_int_equal(fsm_cost(QM_TOKENS_MAX, 9223372036LL),
                     9223372036000000000LL);
    /* One nano-dollar more passes INT64_MAX micro-dollars: saturated, not
     * wrapped. */
    assert_int_equal(fsm_cost(QM_TOKENS_MAX, 9223372037LL), INT64_MAX);
    assert_int_equal(fsm_cost(QM_TOKENS_MAX, QM_PRICE_MAX), INT64_MAX);
    /* The largest price for the smallest amount, and the other way. */
    assert_int_equal(fsm_cost(1, QM_PRICE_MAX), 1000000000LL);
    assert_int_equal(fsm_cost(QM_TOKENS_MAX, 1), 1000000000LL);
    /* Rounding still counts next to the limit: 10^15 - 1 milli-units at
     * 9223372036 nano-dollars is 9223372035999990776.63 micro. */
    assert_int_equal(fsm_cost(QM_TOKENS_MAX - 1, 9223372036LL),
                     9223372035999990777LL);
    /* Every amount at the largest price is exact up to where it saturates:
     * INT64_MAX micro-dollars buy 9223372036.854 milli-units at $10^6
     * per unit. */
    assert_int_equal(fsm_cost(9223372036LL, QM_PRICE_MAX),
                     9223372036000000000LL);
    assert_int_equal(fsm_cost(9223372037LL, QM_PRICE_MAX), INT64_MAX);
}

static void test_fsm_cost_matches_a_reference_over_all_magnitudes(void **s)
{
    (void)s;
    struct th_rng r;
    th_rng_seed(&r, 0xc057);
    int checked = 0;
    for (int i = 0; i < 200000; i++) {
        int64_t u = spread(&r, QM_TOKENS_MAX);
        int64_t p = spread(&r, QM_PRICE_MAX);
        if (!fits(u, p)) {
            continue;
        }
        int64_t want = ref_cost(u, p);
        int64_t got = fsm_cost(u, p);
        if (got != want) {
            fail_msg("fsm_cost(%lld, %lld) = %lld, expected %lld", (long long)u,
                     (long long)p, (long long)got, (long long)want);
        }
        checked++;
    }
    assert_true(checked > 100000);
}

static void test_fsm_cost_never_charges_parts_less_than_the_whole(void **s)
{
    (void)s;
    /* Rounding up per part: splitting an amount never saves money, and
     * more units never cost less. */
    struct th_rng r;
    th_rng_seed(&r, 0x5917);
    for (int i = 0; i < 100000; i++) {
        int64_t a = spread(&r, QM_TOKENS_MAX / 2);
        int64_t b = spread(&r, QM_TOKENS_MAX / 2);
        int64_t p = spread(&r, QM_NANO); /* sums stay below INT64_MAX */
        int64_t whole = fsm_cost(a + b, p);
        assert_true(fsm_cost(a, p) + fsm_cost(b, p) >= whole);
        assert_true(fsm_cost(a, p) + fsm_cost(b, p) <= whole + 1);
        assert_true(fsm_cost(a + 1, p) >= fsm_cost(a, p));
    }
}

/* ---- Cases: months ---- */

static void test_fsm_month_of_the_epoch_is_january_1970(void **s)
{
    (void)s;
    assert_month(0, 197001);
    assert_month(1, 197001);
    assert_month(th_utc_ms(1970, 1, 31, 23, 59, 59) + 999, 197001);
    assert_month(th_utc_ms(1970, 2, 1, 0, 0, 0), 197002);
    assert_month(1700000000000LL, 202311); /* 2023-11-14T22:13:20Z */
}

static void test_fsm_month_of_crosses_year_ends(void **s)
{
    (void)s;
    assert_month(th_utc_ms(1999, 12, 31, 23, 59, 59) + 999, 199912);
    assert_month(th_utc_ms(2000, 1, 1, 0, 0, 0), 200001);
    assert_month(th_utc_ms(2024, 12, 31, 23, 59, 59) + 999, 202412);
    assert_month(th_utc_ms(2025, 1, 1, 0, 0, 0), 202501);
}

static void test_fsm_month_of_knows_leap_years(void **s)
{
    (void)s;
    /* 2024: leap (divisible by 4). */
    assert_month(th_utc_ms(2024, 2, 29, 23, 59, 59) + 999, 202402);
    assert_month(th_utc_ms(2024, 3, 1, 0, 0, 0), 202403);
    /* 2023: not leap; March follows Feb 28. */
    assert_month(th_utc_ms(2023, 2, 28, 23, 59, 59) + 999, 202302);
    assert_month(th_utc_ms(2023, 2, 28, 23, 59, 59) + 1000, 202303);
    /* 2000: leap (divisible by 400). */
    assert_month(th_utc_ms(2000, 2, 29, 12, 0, 0), 200002);
    assert_month(th_utc_ms(2000, 2, 29, 23, 59, 59) + 1000, 200003);
    /* 2100: not leap (divisible by 100, not by 400). */
    assert_month(th_utc_ms(2100, 2, 28, 23, 59, 59) + 999, 210002);
    assert_month(th_utc_ms(2100, 2, 28, 23, 59, 59) + 1000, 210003);
}

static void test_fsm_month_of_every_month_start_1970_to_2200(void **s)
{
    (void)s;
    for (int y = 1970; y <= 2200; y++) {
        for (int m = 1; m <= 12; m++) {
            assert_month_starts(y, m);
        }
    }
}

static void test_fsm_month_of_reaches_the_end_of_cluster_time(void **s)
{
    (void)s;
    assert_month(QM_TIME_MAX, 999912);
    assert_month_starts(9999, 12);
    assert_month_starts(9999, 1);
    assert_month_starts(2400, 3); /* 2400 is leap */
    assert_month(th_utc_ms(2400, 2, 29, 0, 0, 0), 240002);
    assert_int_equal(th_utc_ms(9999, 12, 31, 23, 59, 59) + 999, QM_TIME_MAX);
}

static void test_fsm_month_valid_accepts_only_real_months(void **s)
{
    (void)s;
    assert_true(fsm_month_valid(197001));
    assert_true(fsm_month_valid(202402));
    assert_true(fsm_month_valid(202412));
    assert_true(fsm_month_valid(999912));
    assert_false(fsm_month_valid(196912)); /* before the epoch */
    assert_false(fsm_month_valid(202400));
    assert_false(fsm_month_valid(202413));
    assert_false(fsm_month_valid(202499));
    assert_false(fsm_month_valid(0));
    assert_false(fsm_month_valid(12));
    assert_false(fsm_month_valid(1000001)); /* year 10000 */
    assert_false(fsm_month_valid(UINT64_MAX));
    /* Every month fsm_month_of returns is valid. */
    for (int y = 1970; y <= 2100; y += 7) {
        assert_true(
            fsm_month_valid(fsm_month_of(th_utc_ms(y, 6, 15, 0, 0, 0))));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_fsm_cost_of_whole_units_at_whole_dollars_is_exact),
        cmocka_unit_test(test_fsm_cost_rounds_up_to_the_micro_dollar),
        cmocka_unit_test(test_fsm_cost_of_nothing_or_free_is_zero),
        cmocka_unit_test(
            test_fsm_cost_is_exact_up_to_int64_and_saturates_beyond),
        cmocka_unit_test(test_fsm_cost_matches_a_reference_over_all_magnitudes),
        cmocka_unit_test(test_fsm_cost_never_charges_parts_less_than_the_whole),
        cmocka_unit_test(test_fsm_month_of_the_epoch_is_january_1970),
        cmocka_unit_test(test_fsm_month_of_crosses_year_ends),
        cmocka_unit_test(test_fsm_month_of_knows_leap_years),
        cmocka_unit_test(test_fsm_month_of_every_month_start_1970_to_2200),
        cmocka_unit_test(test_fsm_month_of_reaches_the_end_of_cluster_time),
        cmocka_unit_test(test_fsm_month_valid_accepts_only_real_months),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
