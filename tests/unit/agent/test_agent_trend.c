/* Unit tests of agent/agent_trend: the sliding-window least-squares fit,
 * exact on lines, correct R² on noise, and numerically stable over a
 * million samples with epoch-millisecond times. */
#include <math.h>
#include <stdio.h>

#include "agent_trend.h"
#include "qm_err.h"
#include "th_cmocka.h"

/* ---- Fixture ---- */

#define EPOCH_MS 1700000000000LL /* November 2023, in milliseconds */
#define CAP 64
#define WINDOW_MS 60000

struct fixture
{
    struct agent_trend t;
    struct agent_trend_sample ring[CAP];
    uint64_t rng;
};

static int setup(void **state)
{
    struct fixture *f = test_malloc(sizeof(*f));
    assert_int_equal(agent_trend_init(&f->t, f->ring, CAP, WINDOW_MS), QM_OK);
    f->rng = 0x2545f4914f6cdd1dull;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    test_free(*state);
    return 0;
}

/* ---- Helpers ---- */

/* xorshift64: a fixed sequence on every run and machine. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Uniform integer in -@amp..@amp. */
static int64_t rng_sym(uint64_t *s, int64_t amp)
{
    return (int64_t)(rng_next(s) % (uint64_t)(2 * amp + 1)) - amp;
}

/* Reference fit: two passes in long double around the means, over samples
 * that are absolute times and values. */
struct ref
{
    long double slope_per_s;
    long double r2;
};

static struct ref ref_fit(const int64_t *t, const double *y, size_t n)
{
    long double mt = 0;
    long double my = 0;
    for (size_t i = 0; i < n; i++) {
        mt += (long double)(t[i] - t[0]);
        my += y[i];
    }
    mt /= (long double)n;
    my /= (long double)n;
    long double cxx = 0;
    long double cxy = 0;
    long double cyy = 0;
    for (size_t i = 0; i < n; i++) {
        long double dx = (long double)(t[i] - t[0]) - mt;
        long double dy = (long double)y[i] - my;
        cxx += dx * dx;
        cxy += dx * dy;
        cyy += dy * dy;
    }
    struct ref r = {cxy / cxx * 1000.0L, cyy > 0 ? cxy * cxy / (cxx * cyy) : 1};
    return r;
}

/* The window the series should hold, kept by the test: the newest samples
 * after now - WINDOW_MS, at most CAP of them. */
#define HIST 256
struct hist
{
    int64_t t[HIST];
    double y[HIST];
    size_t n; /* samples ever added */
};

static void hist_add(struct hist *h, int64_t t, double y)
{
    h->t[h->n % HIST] = t;
    h->y[h->n % HIST] = y;
    h->n++;
}

/* Copy the expected window, oldest first; returns its length. */
static size_t hist_window(const struct hist *h, int64_t *t, double *y)
{
    int64_t now = h->t[(h->n - 1) % HIST];
    size_t k = 0;
    while (k < CAP && k < h->n &&
           h->t[(h->n - 1 - k) % HIST] > now - WINDOW_MS) {
        k++;
    }
    for (size_t i = 0; i < k; i++) {
        size_t at = (h->n - k + i) % HIST;
        t[i] = h->t[at];
        y[i] = h->y[at];
    }
    return k;
}

/* Add @n samples @step_ms apart from EPOCH_MS on the line y0 + dy * i. */
static void add_line(struct fixture *f,
                     int64_t n,
                     int64_t step_ms,
                     double y0,
                     double dy)
{
    for (int64_t i = 0; i < n; i++) {
        assert_int_equal(
            agent_trend_add(&f->t, EPOCH_MS + i * step_ms, y0 + dy * (double)i),
            QM_OK);
    }
}

/* Add 60 samples a second apart of y0 + dy * i + noise in -3..3, into the
 * series and into @h. */
static void add_noisy(struct fixture *f, struct hist *h, double y0, double dy)
{
    for (int64_t i = 0; i < 60; i++) {
        double y = y0 + dy * (double)i + (double)rng_sym(&f->rng, 3);
        assert_int_equal(agent_trend_add(&f->t, EPOCH_MS + i * 1000, y), QM_OK);
        hist_add(h, EPOCH_MS + i * 1000, y);
    }
}

/* Naive O(1) fits for comparison: running sums over seconds since a fixed
 * origin (0: epoch seconds; or the run's start), added and removed, never
 * rebuilt; they drop what the series drops. */
struct naive
{
    double sx, sy, sxx, sxy, syy;
    size_t first;   /* number of the oldest sample it holds */
    int64_t origin; /* ms */
};

static void naive_apply(struct naive *v, int64_t t, double y, double sign)
{
    double x = (double)(t - v->origin) / 1000.0;
    v->sx += sign * x;
    v->sy += sign * y;
    v->sxx += sign * x * x;
    v->sxy += sign * x * y;
    v->syy += sign * y * y;
}

static void naive_add(struct naive *v, const struct hist *h)
{
    int64_t now = h->t[(h->n - 1) % HIST];
    naive_apply(v, now, h->y[(h->n - 1) % HIST], 1.0);
    while (h->n - v->first > CAP || h->t[v->first % HIST] <= now - WINDOW_MS) {
        naive_apply(v, h->t[v->first % HIST], h->y[v->first % HIST], -1.0);
        v->first++;
    }
}

static double naive_slope(const struct naive *v, const struct hist *h)
{
    double n = (double)(h->n - v->first);
    double cxx = v->sxx - v->sx * v->sx / n;
    double cxy = v->sxy - v->sx * v->sy / n;
    return cxy / cxx;
}

/* Largest relative errors of the series' fit (and the naive one) against
 * the reference over a long run. */
struct errors
{
    double slope;
    double r2;
    double naive_epoch;
    double naive_start;
};

static void worst(double *acc, double e)
{
    *acc = e > *acc || isnan(e) ? e : *acc;
}

static void check_against_reference(struct fixture *f,
                                    const struct hist *h,
                                    const struct naive v[2],
                                    struct errors *e)
{
    int64_t wt[CAP];
    double wy[CAP];
    size_t n = hist_window(h, wt, wy);
    struct agent_trend_fit fit;
    assert_true(agent_trend_fit(&f->t, &fit));
    assert_int_equal(fit.n, n);
    assert_int_equal(fit.t0_ms, wt[0]);
    struct ref r = ref_fit(wt, wy, n);
    double rs = (double)r.slope_per_s;
    worst(&e->slope, fabs((fit.slope_per_s - rs) / rs));
    worst(&e->r2, fabs(fit.r2 - (double)r.r2));
    worst(&e->naive_epoch, fabs((naive_slope(&v[0], h) - rs) / rs));
    worst(&e->naive_start, fabs((naive_slope(&v[1], h) - rs) / rs));
}

/* Run a million samples at about 1 Hz (990..1010 ms apart) from EPOCH_MS
 * of base + slope * i + noise, checking every 997 samples; print and
 * return the largest errors. */
static struct errors long_run(struct fixture *f,
                              const char *what,
                              double base,
                              double slope,
                              double noise)
{
    struct errors e = {0, 0, 0, 0};
    struct hist h = {.n = 0};
    struct naive v[2] = {{.origin = 0}, {.origin = EPOCH_MS}};
    int64_t t = EPOCH_MS;
    for (long i = 0; i < 1000000; i++) {
        t += 990 + (int64_t)(rng_next(&f->rng) % 21);
        double y = base + slope * (double)i +
                   noise * (double)rng_sym(&f->rng, 1000) / 1000.0;
        assert_int_equal(agent_trend_add(&f->t, t, y), QM_OK);
        hist_add(&h, t, y);
        naive_add(&v[0], &h);
        naive_add(&v[1], &h);
        if (i % 997 == 996) {
            check_against_reference(f, &h, v, &e);
        }
    }
    printf(
        "trend: 1e6 %s samples: slope rel error %.3g, r2 error %.3g; naive "
        "sums never rebuilt: slope rel error %.3g over epoch seconds, %.3g "
        "over seconds since the start\n",
        what, e.slope, e.r2, e.naive_epoch, e.naive_start);
    return e;
}

/* ---- Assertions ---- */

static void assert_near(double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol)) {
        fail_msg("got %.17g, want %.17g (tolerance %g)", got, want, tol);
    }
}

/* ---- Cases ---- */

static void test_agent_trend_fits_a_perfect_line_exactly(void **state)
{
    struct fixture *f = *state;
    add_line(f, 30, 1000, 20.0, 1.5);
    struct agent_trend_fit fit;
    assert_true(agent_trend_fit(&f->t, &fit));
    assert_near(fit.slope_per_s, 1.5, 1e-12);
    assert_near(fit.intercept, 20.0, 1e-9);
    assert_near(fit.r2, 1.0, 1e-12);
    assert_int_equal(fit.n, 30);
    assert_int_equal(fit.t0_ms, EPOCH_MS);
    assert_int_equal(fit.t1_ms, EPOCH_MS + 29000);
    assert_int_equal(fit.span_ms, 29000);
    assert_near(agent_trend_fit_at(&fit, EPOCH_MS + 100000), 170.0, 1e-9);
}

static void test_agent_trend_r2_of_noise_is_low_and_of_a_noisy_line_matches(
    void **state)
{
    struct fixture *f = *state;
    struct hist h = {.n = 0};
    int64_t wt[CAP];
    double wy[CAP];
    struct agent_trend_fit fit;
    add_noisy(f, &h, 100.0, 0.0);
    assert_true(agent_trend_fit(&f->t, &fit));
    struct ref r = ref_fit(wt, wy, hist_window(&h, wt, wy));
    assert_true(fit.r2 < 0.1);
    assert_near(fit.r2, (double)r.r2, 1e-12);
    assert_near(fit.slope_per_s, (double)r.slope_per_s, 1e-12);

    agent_trend_reset(&f->t);
    h.n = 0;
    add_noisy(f, &h, 100.0, 0.5);
    assert_true(agent_trend_fit(&f->t, &fit));
    r = ref_fit(wt, wy, hist_window(&h, wt, wy));
    /* Line variance 0.25 * 60^2 / 12 = 75 against noise variance 4. */
    assert_true(fit.r2 > 0.9 && fit.r2 < 0.99);
    assert_near(fit.r2, (double)r.r2, 1e-12);
    assert_near(fit.slope_per_s, (double)r.slope_per_s, 1e-12);
}

static void test_agent_trend_stays_exact_over_a_million_epoch_samples(
    void **state)
{
    struct fixture *f = *state;
    /* Byte counts near 1 GB growing 1000 B per sample, noise +-1000 B:
     * whole numbers, so every running sum is exact. */
    struct errors e = long_run(f, "whole-number", 1e9, 1000.0, 1000.0);
    assert_true(e.slope <= 1e-12);
    assert_true(e.r2 <= 1e-12);
}

static void test_agent_trend_drift_stays_bounded_with_fractional_values(
    void **state)
{
    struct fixture *f = *state;
    /* Fractional values: rounding happens, the rebuild bounds it; what is
     * left is the float storage of each value's distance from the base. */
    struct errors e = long_run(f, "fractional", 1e6 + 0.123, 0.37, 2.5);
    assert_true(e.slope <= 1e-5);
    assert_true(e.r2 <= 1e-5);
}

static void test_agent_trend_window_slides_by_time(void **state)
{
    struct fixture *f = *state;
    add_line(f, 100, 1000, 0.0, 1.0);
    /* Samples after now - 60 s: seconds 40..99. */
    struct agent_trend_fit fit;
    assert_int_equal(agent_trend_count(&f->t), 60);
    assert_true(agent_trend_fit(&f->t, &fit));
    assert_int_equal(fit.t0_ms, EPOCH_MS + 40000);
    assert_int_equal(fit.span_ms, 59000);
    int64_t t;
    double y;
    agent_trend_get(&f->t, 0, &t, &y);
    assert_int_equal(t, EPOCH_MS + 40000);
    assert_near(y, 40.0, 0);
    agent_trend_get(&f->t, 59, &t, &y);
    assert_int_equal(t, EPOCH_MS + 99000);
    assert_near(y, 99.0, 0);
    assert_near(fit.intercept, 40.0, 1e-9);
}

static void test_agent_trend_full_ring_drops_the_oldest(void **state)
{
    struct fixture *f = *state;
    /* Every 100 ms: the ring (64) fills before the window (60 s) does. */
    add_line(f, 200, 100, 0.0, 1.0);
    struct agent_trend_fit fit;
    assert_int_equal(agent_trend_count(&f->t), CAP);
    assert_true(agent_trend_fit(&f->t, &fit));
    assert_int_equal(fit.t0_ms, EPOCH_MS + 136 * 100);
    assert_int_equal(fit.span_ms, 63 * 100);
    assert_near(fit.slope_per_s, 10.0, 1e-9);
}

static void test_agent_trend_gap_longer_than_the_window_starts_over(
    void **state)
{
    struct fixture *f = *state;
    add_line(f, 10, 1000, 5.0, 0.0);
    assert_int_equal(agent_trend_add(&f->t, EPOCH_MS + 3600000, 9.0), QM_OK);
    struct agent_trend_fit fit = {0};
    assert_int_equal(agent_trend_count(&f->t), 1);
    assert_false(agent_trend_fit(&f->t, &fit));
    assert_int_equal(fit.n, 0); /* untouched */
    assert_int_equal(agent_trend_add(&f->t, EPOCH_MS + 3601000, 11.0), QM_OK);
    assert_true(agent_trend_fit(&f->t, &fit));
    assert_near(fit.slope_per_s, 2.0, 1e-12);
    assert_near(fit.intercept, 9.0, 1e-12);
}

static void test_agent_trend_constant_series_has_zero_slope_and_r2_one(
    void **state)
{
    struct fixture *f = *state;
    add_line(f, 20, 1000, 7.0, 0.0);
    struct agent_trend_fit fit;
    assert_true(agent_trend_fit(&f->t, &fit));
    assert_near(fit.slope_per_s, 0.0, 0);
    assert_near(fit.r2, 1.0, 0);
    assert_near(fit.intercept, 7.0, 0);
}

static void test_agent_trend_rejects_time_going_back_and_non_finite_values(
    void **state)
{
    struct fixture *f = *state;
    assert_int_equal(agent_trend_add(&f->t, EPOCH_MS, 1.0), QM_OK);
    assert_int_equal(agent_trend_add(&f->t, EPOCH_MS + 1000, 2.0), QM_OK);
    assert_int_equal(agent_trend_add(&f->t, EPOCH_MS + 1000, 3.0), QM_INVALID);
    assert_int_equal(agent_trend_add(&f->t, EPOCH_MS, 3.0), QM_INVALID);
    assert_int_equal(agent_trend_add(&f->t, EPOCH_MS + 2000, NAN), QM_INVALID);
    assert_int_equal(agent_trend_add(&f->t, EPOCH_MS + 2000, INFINITY),
                     QM_INVALID);
    struct agent_trend_fit fit;
    assert_int_equal(agent_trend_count(&f->t), 2);
    assert_true(agent_trend_fit(&f->t, &fit));
    assert_near(fit.slope_per_s, 1.0, 1e-12);
}

static void test_agent_trend_reset_forgets_every_sample(void **state)
{
    struct fixture *f = *state;
    add_line(f, 20, 1000, 1.0, 0.0);
    agent_trend_reset(&f->t);
    assert_int_equal(agent_trend_count(&f->t), 0);
    /* An earlier time is fine after a reset. */
    assert_int_equal(agent_trend_add(&f->t, EPOCH_MS, 4.0), QM_OK);
    assert_int_equal(agent_trend_count(&f->t), 1);
}

static void test_agent_trend_init_rejects_bad_arguments(void **state)
{
    struct fixture *f = *state;
    struct agent_trend t;
    assert_int_equal(agent_trend_init(&t, NULL, CAP, WINDOW_MS), QM_INVALID);
    assert_int_equal(agent_trend_init(&t, f->ring, 0, WINDOW_MS), QM_INVALID);
    assert_int_equal(
        agent_trend_init(&t, f->ring, AGENT_TREND_MAX_CAP + 1, WINDOW_MS),
        QM_INVALID);
    assert_int_equal(agent_trend_init(&t, f->ring, CAP, 0), QM_INVALID);
    assert_int_equal(
        agent_trend_init(&t, f->ring, CAP, AGENT_TREND_MAX_WINDOW_MS + 1),
        QM_INVALID);
    assert_int_equal(
        agent_trend_init(&t, f->ring, CAP, AGENT_TREND_MAX_WINDOW_MS), QM_OK);
}

static void test_agent_trend_series_fits_in_a_kibibyte(void **state)
{
    (void)state;
    size_t size =
        sizeof(struct agent_trend) + CAP * sizeof(struct agent_trend_sample);
    printf("trend: one series of %d samples: %zu bytes (header %zu)\n", CAP,
           size, sizeof(struct agent_trend));
    assert_int_equal(sizeof(struct agent_trend_sample), 8);
    assert_true(size <= 1024);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_agent_trend_fits_a_perfect_line_exactly),
        T(test_agent_trend_r2_of_noise_is_low_and_of_a_noisy_line_matches),
        T(test_agent_trend_stays_exact_over_a_million_epoch_samples),
        T(test_agent_trend_drift_stays_bounded_with_fractional_values),
        T(test_agent_trend_window_slides_by_time),
        T(test_agent_trend_full_ring_drops_the_oldest),
        T(test_agent_trend_gap_longer_than_the_window_starts_over),
        T(test_agent_trend_constant_series_has_zero_slope_and_r2_one),
        T(test_agent_trend_rejects_time_going_back_and_non_finite_values),
        T(test_agent_trend_reset_forgets_every_sample),
        T(test_agent_trend_init_rejects_bad_arguments),
        T(test_agent_trend_series_fits_in_a_kibibyte),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
