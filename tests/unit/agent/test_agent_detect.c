/* Unit tests of agent/agent_detect: leak and exhaustion detection on
 * synthetic 1 Hz series (fake time, seeded noise), including the issue's
 * measurement (a 1 fd/s leak reported within a minute, its time to
 * exhaustion within 20 %), the shapes that must never be reported, and
 * the messages of reports. The utilisation thresholds are tested in
 * test_agent_thresh.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "agent_detect.h"
#include "agent_trend.h"
#include "qm_alloc.h"
#include "qm_err.h"
#include "th_cmocka.h"

/* ---- Fixture ---- */

#define EPOCH_MS 1700000000000LL
#define FD_LIMIT 1024
#define HOUR 3600
#define MIB (1024LL * 1024)

struct fixture
{
    struct agent_leak *d;
    uint64_t rng;
};

static int setup(void **state)
{
    struct fixture *f = test_malloc(sizeof(*f));
    struct agent_leak_conf c;
    agent_leak_conf_default(&c);
    assert_int_equal(agent_leak_new(&c, &f->d), QM_OK);
    f->rng = 0x9e3779b97f4a7c15ull;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    agent_leak_free(f->d);
    qm_alloc_fail_reset();
    test_free(f);
    return 0;
}

/* ---- Helpers ---- */

enum shape {
    LINE,      /* base + t / period: 1 more every period seconds */
    CONSTANT,  /* base */
    SAWTOOTH,  /* base + amp * (t mod period) / period */
    PLATEAU,   /* base + amp * min(t, period) / period */
    STEP,      /* base, then base + amp from t = period */
    STAIRCASE, /* base + amp every period seconds */
    BYTES,     /* base + amp * t (RSS in bytes) */
};

struct series
{
    enum shape shape;
    int64_t base;
    int64_t amp;
    int64_t period; /* seconds; for LINE the seconds per unit */
    int64_t jitter; /* uniform integer noise in -jitter..jitter */
};

/* Noise in -@amp..@amp from an xorshift64 step. */
static int64_t noise(struct fixture *f, int64_t amp)
{
    uint64_t x = f->rng;
    x ^= x << 13;
    x ^= x >> 7;
    f->rng = x ^ (x << 17);
    return amp == 0 ? 0 : (int64_t)(f->rng % (uint64_t)(2 * amp + 1)) - amp;
}

static int64_t shape_at(const struct series *s, int64_t t)
{
    switch (s->shape) {
        case LINE:
            return s->base + t / s->period;
        case CONSTANT:
            return s->base;
        case SAWTOOTH:
            return s->base + s->amp * (t % s->period) / s->period;
        case PLATEAU:
            return s->base +
                   s->amp * (t < s->period ? t : s->period) / s->period;
        case STEP:
            return s->base + (t >= s->period ? s->amp : 0);
        case STAIRCASE:
            return s->base + s->amp * (t / s->period);
        case BYTES:
            return s->base + s->amp * t;
    }
    return 0;
}

static int64_t value_at(struct fixture *f, const struct series *s, int64_t t)
{
    int64_t v = shape_at(s, t) + noise(f, s->jitter);
    return v < 0 ? 0 : v;
}

/* What a run of samples did: its transitions and the first raise. */
struct run
{
    int raises;    /* transitions to a higher level */
    int clears;    /* transitions to a lower level */
    int64_t first; /* second of the first raise; -1 if none */
    int64_t last;  /* second of the last transition; -1 if none */
    struct agent_leak_report at_first;
    struct agent_leak_report at_last;
};

static void run_note(struct run *r,
                     int64_t t,
                     const struct agent_leak_report *rep)
{
    if (rep->level == rep->prev) {
        return;
    }
    if (rep->level > rep->prev) {
        r->raises++;
        if (r->first < 0) {
            r->first = t;
            r->at_first = *rep;
        }
    } else {
        r->clears++;
    }
    r->last = t;
    r->at_last = *rep;
}

/* Feed seconds @from..@to-1 of @s at 1 Hz against @limit into @r. */
static void feed(struct fixture *f,
                 const struct series *s,
                 int64_t from,
                 int64_t to,
                 int64_t limit,
                 struct run *r)
{
    for (int64_t t = from; t < to; t++) {
        struct agent_leak_report rep;
        assert_int_equal(agent_leak_feed(f->d, EPOCH_MS + t * 1000,
                                         value_at(f, s, t), limit, &rep),
                         QM_OK);
        run_note(r, t, &rep);
    }
}

static void run_init(struct run *r)
{
    memset(r, 0, sizeof(*r));
    r->first = -1;
    r->last = -1;
}

/* Start a record and feed seconds 0..@secs-1 of @s into it. */
static void run_from_start(struct fixture *f,
                           const struct series *s,
                           int64_t secs,
                           int64_t limit,
                           struct run *r)
{
    run_init(r);
    feed(f, s, 0, secs, limit, r);
}

/* Replace the detector with one whose critical horizon and least rise are
 * @crit_ms and @min_rise, the rest default. */
static void renew(struct fixture *f, int64_t crit_ms, double min_rise)
{
    struct agent_leak_conf c;
    agent_leak_conf_default(&c);
    c.crit_horizon_ms = crit_ms;
    c.min_rise = min_rise;
    agent_leak_free(f->d);
    assert_int_equal(agent_leak_new(&c, &f->d), QM_OK);
}

/* ---- Assertions ---- */

/* @s is never reported over @secs seconds, and the level stays NONE. */
static void assert_never_reported(struct fixture *f,
                                  const char *name,
                                  const struct series *s,
                                  int64_t secs)
{
    struct run r;
    agent_leak_reset(f->d);
    run_from_start(f, s, secs, FD_LIMIT, &r);
    if (r.raises != 0 || r.clears != 0) {
        fail_msg("%s: %d raises, first at %llds (%s, tte %.0fs)", name,
                 r.raises, (long long)r.first,
                 agent_level_name(r.at_first.level), r.at_first.tte_s);
    }
    assert_int_equal(agent_leak_level(f->d), AGENT_LEVEL_NONE);
}

/* A 1 fd/s leak from 20 against 1024 is reported CRITICAL within 60
 * samples with its time to exhaustion within 20 % of the truth. */
static void assert_fast_leak_reported(struct fixture *f,
                                      int64_t jitter,
                                      const char *name)
{
    struct series s = {LINE, 20, 0, 1, jitter};
    struct run r;
    run_from_start(f, &s, 120, FD_LIMIT, &r);
    assert_int_equal(r.raises, 1);
    assert_true(r.first >= 0 && r.first < 60);
    assert_int_equal(r.at_first.level, AGENT_LEVEL_CRITICAL);
    double truth = (double)(FD_LIMIT - shape_at(&s, r.first));
    double err = (r.at_first.tte_s - truth) / truth;
    printf(
        "leak 1 fd/s (%s): reported after %lld samples, tte %.1fs vs "
        "%.1fs (error %+.2f %%), slope %.3f/s, r2 %.4f\n",
        name, (long long)r.first + 1, r.at_first.tte_s, truth, 100 * err,
        r.at_first.slope_per_s, r.at_first.r2);
    assert_true(fabs(err) <= 0.20);
    assert_int_equal(agent_leak_level(f->d), AGENT_LEVEL_CRITICAL);
}

/* @r saw @raises raises and @clears clears, the first one to @first. */
static void assert_run(const struct run *r,
                       int raises,
                       int clears,
                       enum agent_level first)
{
    assert_int_equal(r->raises, raises);
    assert_int_equal(r->clears, clears);
    assert_int_equal(r->at_first.level, first);
}

static void assert_format(const struct agent_leak_report *r,
                          const char *resource,
                          enum agent_unit unit,
                          const char *want)
{
    char buf[160];
    size_t n = agent_leak_format(buf, sizeof(buf), resource, unit, r);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

/* ---- Cases: the measurement ---- */

static void test_agent_detect_leak_of_1_fd_per_s_is_reported_within_a_minute(
    void **state)
{
    assert_fast_leak_reported(*state, 0, "clean");
}

static void test_agent_detect_jittered_leak_of_1_fd_per_s_is_reported(
    void **state)
{
    assert_fast_leak_reported(*state, 2, "jitter +-2");
}

static void test_agent_detect_slow_leak_of_1_fd_per_min_is_reported(
    void **state)
{
    struct fixture *f = *state;
    struct series s = {LINE, 20, 0, 60, 0};
    struct run r;
    run_from_start(f, &s, 2 * HOUR, FD_LIMIT, &r);
    assert_run(&r, 1, 0, AGENT_LEVEL_WARNING);
    double truth = (double)(FD_LIMIT - shape_at(&s, r.first)) * 60;
    double err = (r.at_first.tte_s - truth) / truth;
    printf(
        "leak 1 fd/min: reported after %lld s, tte %.0fs vs %.0fs "
        "(error %+.2f %%)\n",
        (long long)r.first, r.at_first.tte_s, truth, 100 * err);
    assert_true(r.first <= HOUR);
    assert_true(fabs(err) <= 0.20);
}

/* ---- Cases: shapes that are not leaks ---- */

static void test_agent_detect_steady_series_are_never_reported(void **state)
{
    struct fixture *f = *state;
    struct series constant = {CONSTANT, 100, 0, 1, 0};
    struct series noisy = {CONSTANT, 100, 0, 1, 3};
    assert_never_reported(f, "constant", &constant, HOUR);
    assert_never_reported(f, "noise +-3", &noisy, HOUR);
}

static void test_agent_detect_sawtooths_are_never_reported(void **state)
{
    struct fixture *f = *state;
    static const int64_t periods[] = {10, 30, 120, 600};
    for (size_t i = 0; i < sizeof(periods) / sizeof(periods[0]); i++) {
        for (int64_t jitter = 0; jitter <= 2; jitter += 2) {
            char name[48];
            snprintf(name, sizeof(name), "sawtooth %llds jitter %lld",
                     (long long)periods[i], (long long)jitter);
            struct series s = {SAWTOOTH, 100, 50, periods[i], jitter};
            assert_never_reported(f, name, &s, HOUR);
        }
    }
}

static void test_agent_detect_growth_to_a_plateau_is_never_reported(
    void **state)
{
    struct fixture *f = *state;
    /* Warms up by 100 over five minutes, then stays. */
    struct series s = {PLATEAU, 100, 100, 300, 1};
    assert_never_reported(f, "plateau", &s, HOUR);
}

static void test_agent_detect_one_off_step_is_never_reported(void **state)
{
    struct fixture *f = *state;
    /* A pool opens 50 fds at once after 30 minutes, then stays. */
    struct series s = {STEP, 100, 50, 1800, 1};
    assert_never_reported(f, "step", &s, HOUR);
}

static void test_agent_detect_staircase_with_long_flat_parts_is_not_reported(
    void **state)
{
    struct fixture *f = *state;
    /* +40 every 30 minutes, for four hours. */
    struct series s = {STAIRCASE, 100, 40, 1800, 1};
    assert_never_reported(f, "staircase", &s, 4 * HOUR);
}

static void test_agent_detect_staircase_climbing_every_20_min_is_one_warning(
    void **state)
{
    struct fixture *f = *state;
    /* +40 every 20 minutes does not stop: a leak in steps, seen once an
     * hour of peaks holds three of them (at 3900 s), then held steadily
     * although each window position does not show it. */
    struct series s = {STAIRCASE, 100, 40, 1200, 1};
    struct run r;
    run_from_start(f, &s, 4 * HOUR, FD_LIMIT, &r);
    assert_run(&r, 1, 0, AGENT_LEVEL_WARNING);
    assert_true(r.first > HOUR && r.first <= HOUR + 600);
}

static void test_agent_detect_sawtooth_ramps_below_earlier_peaks_are_not_leaks(
    void **state)
{
    struct fixture *f = *state;
    /* A 2-minute sawtooth near its limit: its first ramp (nothing seen
     * before it) looks like a leak that would exhaust in 20 minutes; every
     * later ramp stays below the peaks before it (rule 5). */
    struct series s = {SAWTOOTH, 500, 50, 120, 0};
    struct run r;
    run_from_start(f, &s, HOUR, FD_LIMIT, &r);
    assert_true(r.raises <= 1);
    assert_true(r.last < 240);
    assert_int_equal(agent_leak_level(f->d), AGENT_LEVEL_NONE);
}

static void test_agent_detect_tiny_growth_without_a_limit_is_not_reported(
    void **state)
{
    struct fixture *f = *state;
    renew(f, 3600 * 1000, (double)(16 * MIB));
    /* 64 bytes a second (225 KiB an hour): a perfect line, too small. */
    struct series s = {BYTES, 100 * MIB, 64, 1, 0};
    struct run r;
    run_from_start(f, &s, 2 * HOUR, 0, &r);
    assert_int_equal(r.raises, 0);
}

/* ---- Cases: levels, clearing, limits, restarts ---- */

static void test_agent_detect_alert_clears_after_growth_stops(void **state)
{
    struct fixture *f = *state;
    /* 1 fd/s from 20 for 300 s, then flat at 320. */
    struct series s = {PLATEAU, 20, 300, 300, 0};
    struct run r;
    run_from_start(f, &s, 1800, FD_LIMIT, &r);
    assert_run(&r, 1, 1, AGENT_LEVEL_CRITICAL);
    assert_int_equal(r.at_last.level, AGENT_LEVEL_NONE);
    assert_false(r.at_last.growing);
    printf("growth stopped at 300 s: alert cleared at %lld s\n",
           (long long)r.last);
    assert_true(r.last > 300 && r.last <= 300 + 120);
    assert_format(&r.at_last, "fds", AGENT_UNIT_COUNT,
                  "fds not growing, 320 of 1024");
}

static void test_agent_detect_slow_alert_clears_after_half_its_evidence(
    void **state)
{
    struct fixture *f = *state;
    /* 1 fd per 10 s for 20 minutes, then flat: reported by the slow view
     * (15 min of peaks), cleared once the lower level has held for half
     * the span of the last evidence. */
    struct series s = {PLATEAU, 100, 120, 1200, 0};
    struct run r;
    run_from_start(f, &s, 2 * HOUR, FD_LIMIT, &r);
    assert_run(&r, 1, 1, AGENT_LEVEL_WARNING);
    assert_int_equal(r.at_last.level, AGENT_LEVEL_NONE);
    printf("slow growth stopped at 1200 s: alert cleared at %lld s\n",
           (long long)r.last);
    assert_true(r.last > 1200 + 600 && r.last <= 1200 + 1200);
}

static void test_agent_detect_levels_follow_the_horizons(void **state)
{
    struct fixture *f = *state;
    /* 1 fd per 10 s from 20: exhaustion after 10040 s; within the 24 h
     * horizon from the start, within 1 h once past 664 fds (6440 s). */
    struct series s = {LINE, 20, 0, 10, 0};
    struct run r;
    run_from_start(f, &s, 10100, FD_LIMIT, &r);
    assert_run(&r, 2, 0, AGENT_LEVEL_WARNING);
    assert_true(r.first >= 900 && r.first <= 1000);
    assert_int_equal(r.at_last.level, AGENT_LEVEL_CRITICAL);
    printf(
        "leak 1 fd/10s: warning at %lld s, critical at %lld s (exact "
        "horizon 6440 s)\n",
        (long long)r.first, (long long)r.last);
    assert_true(r.last >= 6440 - 120 && r.last <= 6440 + 120);
    /* At the limit it stays critical: "exhausted". */
    struct agent_leak_report rep;
    assert_int_equal(agent_leak_feed(f->d, EPOCH_MS + 10100 * 1000, FD_LIMIT,
                                     FD_LIMIT, &rep),
                     QM_OK);
    assert_true(rep.exhausted);
    assert_int_equal(rep.level, AGENT_LEVEL_CRITICAL);
    assert_format(&rep, "fds", AGENT_UNIT_COUNT, "fds exhausted, 1024 of 1024");
}

/* 1 fd/s from 20 against 1024 with a 10-minute critical horizon, up to
 * 420 s: 16 minutes left when seen (WARNING), 10 past 424 fds (CRITICAL). */
static void leak_to_critical(struct fixture *f, struct run *r)
{
    static const struct series s = {LINE, 20, 0, 1, 0};
    renew(f, 10 * 60 * 1000, 10);
    run_from_start(f, &s, 420, FD_LIMIT, r);
    assert_int_equal(agent_leak_level(f->d), AGENT_LEVEL_CRITICAL);
}

static void test_agent_detect_horizons_are_configurable(void **state)
{
    struct run r;
    leak_to_critical(*state, &r);
    assert_run(&r, 2, 0, AGENT_LEVEL_WARNING);
    assert_true(r.first < 60);
    assert_int_equal(r.at_last.level, AGENT_LEVEL_CRITICAL);
    assert_true(r.last >= 404 - 2 && r.last <= 404 + 2);
}

static void test_agent_detect_level_is_kept_within_a_margin_of_its_horizon(
    void **state)
{
    struct fixture *f = *state;
    struct series s = {LINE, 20, 0, 1, 0};
    struct run r;
    /* At 420 s the limit rises by 100: 684 s left, within 1.25 * 600 s. */
    leak_to_critical(f, &r);
    feed(f, &s, 420, 600, FD_LIMIT + 100, &r);
    assert_run(&r, 2, 0, AGENT_LEVEL_WARNING);
    assert_int_equal(agent_leak_level(f->d), AGENT_LEVEL_CRITICAL);
}

static void test_agent_detect_level_lowers_to_the_highest_level_of_the_hold(
    void **state)
{
    struct fixture *f = *state;
    struct series s = {LINE, 20, 0, 1, 0};
    struct run r;
    /* 20 s with the limit far away (NONE), then a limit leaving about 22
     * minutes (WARNING): after the 60 s hold, WARNING in one step. */
    leak_to_critical(f, &r);
    feed(f, &s, 420, 440, 5000, &r);
    feed(f, &s, 440, 520, 1824, &r);
    assert_run(&r, 2, 1, AGENT_LEVEL_WARNING);
    assert_int_equal(r.last, 480);
    assert_int_equal(r.at_last.level, AGENT_LEVEL_WARNING);
}

static void test_agent_detect_growth_without_a_limit_is_a_warning(void **state)
{
    struct fixture *f = *state;
    renew(f, 3600 * 1000, (double)(16 * MIB));
    /* RSS from 100 MiB growing 64 KiB/s, memory.max "max". */
    struct series s = {BYTES, 100 * MIB, 64 * 1024, 1, 0};
    struct run r;
    run_from_start(f, &s, HOUR / 2, 0, &r);
    feed(f, &s, HOUR / 2, HOUR, INT64_MAX, &r);
    assert_run(&r, 1, 0, AGENT_LEVEL_WARNING);
    assert_true(r.at_first.growing);
    assert_true(r.at_first.tte_s < 0);
    assert_int_equal(r.at_first.limit, 0);
    /* The slow view needs 15 minutes of bucket peaks (59 s .. 959 s). */
    assert_int_equal(r.first, 960);
    assert_format(&r.at_first, "rss", AGENT_UNIT_BYTES,
                  "rss growing 64.00 KiB/s (r2 1.00), 160.00 MiB, no limit");
    assert_int_equal(agent_leak_level(f->d), AGENT_LEVEL_WARNING);
}

static void test_agent_detect_limit_raised_after_exhaustion_clears(void **state)
{
    struct fixture *f = *state;
    struct series s = {CONSTANT, FD_LIMIT, 0, 1, 0};
    struct run r;
    run_from_start(f, &s, 10, FD_LIMIT, &r);
    assert_int_equal(r.raises, 1);
    assert_int_equal(r.first, 0);
    assert_true(r.at_first.exhausted);
    assert_int_equal(r.at_first.level, AGENT_LEVEL_CRITICAL);
    /* The operator raises the soft limit: cleared after the hold (60 s). */
    feed(f, &s, 10, 200, 4 * FD_LIMIT, &r);
    assert_int_equal(r.clears, 1);
    assert_int_equal(r.last, 70);
    assert_int_equal(r.at_last.level, AGENT_LEVEL_NONE);
}

static void test_agent_detect_restart_starts_over(void **state)
{
    struct fixture *f = *state;
    struct series leak = {LINE, 20, 0, 1, 0};
    struct run first;
    run_init(&first);
    feed(f, &leak, 0, 120, FD_LIMIT, &first);
    assert_int_equal(agent_leak_level(f->d), AGENT_LEVEL_CRITICAL);
    assert_int_equal(agent_leak_reset(f->d), AGENT_LEVEL_CRITICAL);
    assert_int_equal(agent_leak_level(f->d), AGENT_LEVEL_NONE);
    assert_int_equal(agent_leak_reset(f->d), AGENT_LEVEL_NONE);
    /* The new process leaks the same way from its own start: it takes as
     * many samples as the first time, nothing of the old one counts. */
    struct run second;
    run_init(&second);
    for (int64_t t = 0; t < 120; t++) {
        struct agent_leak_report rep;
        assert_int_equal(agent_leak_feed(f->d, EPOCH_MS + (200 + t) * 1000,
                                         shape_at(&leak, t), FD_LIMIT, &rep),
                         QM_OK);
        run_note(&second, t, &rep);
    }
    assert_int_equal(second.raises, 1);
    assert_int_equal(second.first, first.first);
    assert_true(second.at_first.tte_s == first.at_first.tte_s);
}

static void test_agent_detect_feed_rejects_bad_samples(void **state)
{
    struct fixture *f = *state;
    struct agent_leak_report rep;
    memset(&rep, 0x5a, sizeof(rep));
    struct agent_leak_report untouched = rep;
    assert_int_equal(agent_leak_feed(f->d, EPOCH_MS, -1, FD_LIMIT, &rep),
                     QM_INVALID);
    assert_memory_equal(&rep, &untouched, sizeof(rep));
    assert_int_equal(agent_leak_feed(f->d, EPOCH_MS, 5, FD_LIMIT, &rep), QM_OK);
    untouched = rep;
    assert_int_equal(agent_leak_feed(f->d, EPOCH_MS, 6, FD_LIMIT, &rep),
                     QM_INVALID);
    assert_int_equal(agent_leak_feed(f->d, EPOCH_MS - 1, 6, FD_LIMIT, &rep),
                     QM_INVALID);
    assert_memory_equal(&rep, &untouched, sizeof(rep));
    assert_int_equal(agent_leak_feed(f->d, EPOCH_MS + 1, 6, FD_LIMIT, &rep),
                     QM_OK);
}

static void test_agent_detect_conf_check_rejects_out_of_range_fields(
    void **state)
{
    (void)state;
    struct agent_leak_conf good;
    agent_leak_conf_default(&good);
    assert_int_equal(agent_leak_conf_check(&good), QM_OK);
    struct agent_leak_conf c;
#define BAD(field, v)                                            \
    do {                                                         \
        c = good;                                                \
        c.field = (v);                                           \
        assert_int_equal(agent_leak_conf_check(&c), QM_ECONFIG); \
        assert_int_equal(agent_leak_memsize(&c), 0);             \
        struct agent_leak *d = NULL;                             \
        assert_int_equal(agent_leak_new(&c, &d), QM_ECONFIG);    \
        assert_null(d);                                          \
    } while (0)
    BAD(interval_ms, 0);
    BAD(window_ms, 3000);
    BAD(window_ms, AGENT_TREND_MAX_WINDOW_MS + 1);
    BAD(min_span_ms, 60000);
    BAD(bucket_ms, 500);
    BAD(long_window_ms, 120000);
    BAD(long_min_span_ms, 3600000);
    BAD(min_r2, 1.5);
    BAD(min_r2, NAN);
    BAD(min_rise, -1);
    BAD(extrapolation, 0);
    BAD(crit_horizon_ms, 0);
    BAD(warn_horizon_ms, 60000);
    BAD(clear_hold_ms, -1);
#undef BAD
    /* 100000 samples in the fast window: past the ring's cap. */
    c = good;
    c.interval_ms = 1;
    c.window_ms = 100000;
    assert_int_equal(agent_leak_conf_check(&c), QM_ECONFIG);
}

static void test_agent_detect_new_reports_allocation_failure(void **state)
{
    (void)state;
    struct agent_leak_conf c;
    agent_leak_conf_default(&c);
    struct agent_leak *d = NULL;
    qm_alloc_fail_after(1, 1);
    assert_int_equal(agent_leak_new(&c, &d), QM_ENOMEM);
    assert_null(d);
    qm_alloc_fail_reset();
}

static void test_agent_detect_detector_is_compact(void **state)
{
    (void)state;
    struct agent_leak_conf c;
    agent_leak_conf_default(&c);
    size_t size = agent_leak_memsize(&c);
    printf(
        "detector per process and resource: %zu bytes (series header "
        "%zu, sample %zu); 800 detectors: %zu KiB\n",
        size, sizeof(struct agent_trend), sizeof(struct agent_trend_sample),
        800 * size / 1024);
    /* Two series of about 600 bytes each and the detector's state. */
    assert_true(size <= 1536);
}

/* ---- Cases: messages ---- */

/* The interface's example: 180 of 1024 fds, growing 1 a second. */
static const struct agent_leak_report fds_growing = {
    .level = AGENT_LEVEL_CRITICAL,
    .prev = AGENT_LEVEL_NONE,
    .growing = true,
    .slope_per_s = 1.0,
    .r2 = 0.991,
    .tte_s = 844,
    .span_ms = 59000,
    .value = 180,
    .limit = 1024};

static void test_agent_detect_format_writes_resource_rate_and_time_left(
    void **state)
{
    (void)state;
    struct agent_leak_report r = fds_growing;
    assert_format(&r, "fds", AGENT_UNIT_COUNT,
                  "fds growing 1.00/s (r2 0.99), 180 of 1024, exhaustion in "
                  "14m04s");
    r.slope_per_s = 1.0 / 60;
    r.tte_s = 3 * 3600 + 12 * 60 + 30;
    assert_format(&r, "threads", AGENT_UNIT_COUNT,
                  "threads growing 1.00/min (r2 0.99), 180 of 1024, "
                  "exhaustion in 3h12m");
    r.slope_per_s = 2.0 / 3600;
    r.tte_s = 2 * 86400 + 4 * 3600 + 59;
    assert_format(&r, "sockets", AGENT_UNIT_COUNT,
                  "sockets growing 2.00/h (r2 0.99), 180 of 1024, "
                  "exhaustion in 2d04h");
    r.slope_per_s = 1.5 * MIB;
    r.tte_s = 45;
    r.value = 3 * MIB / 2;
    r.limit = 2 * 1024 * MIB;
    assert_format(&r, "rss", AGENT_UNIT_BYTES,
                  "rss growing 1.50 MiB/s (r2 0.99), 1.50 MiB of 2.00 GiB, "
                  "exhaustion in 45s");
    r.value = 512;
    r.limit = 0;
    r.tte_s = -1;
    assert_format(&r, "rss", AGENT_UNIT_BYTES,
                  "rss growing 1.50 MiB/s (r2 0.99), 512 B, no limit");
}

static void test_agent_detect_format_cuts_to_the_buffer(void **state)
{
    (void)state;
    struct agent_leak_report r = fds_growing;
    char buf[12];
    memset(buf, 'x', sizeof(buf));
    size_t n = agent_leak_format(buf, 10, "fds", AGENT_UNIT_COUNT, &r);
    assert_int_equal(n, strlen("fds growing 1.00/s (r2 0.99), 180 of 1024, "
                               "exhaustion in 14m04s"));
    assert_string_equal(buf, "fds growi");
    assert_int_equal(buf[10], 'x');
    n = agent_leak_format(buf, 0, "fds", AGENT_UNIT_COUNT, &r);
    assert_true(n > 0);
    assert_int_equal(buf[10], 'x');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_agent_detect_leak_of_1_fd_per_s_is_reported_within_a_minute),
        T(test_agent_detect_jittered_leak_of_1_fd_per_s_is_reported),
        T(test_agent_detect_slow_leak_of_1_fd_per_min_is_reported),
        T(test_agent_detect_steady_series_are_never_reported),
        T(test_agent_detect_sawtooths_are_never_reported),
        T(test_agent_detect_growth_to_a_plateau_is_never_reported),
        T(test_agent_detect_one_off_step_is_never_reported),
        T(test_agent_detect_staircase_with_long_flat_parts_is_not_reported),
        T(test_agent_detect_staircase_climbing_every_20_min_is_one_warning),
        T(test_agent_detect_sawtooth_ramps_below_earlier_peaks_are_not_leaks),
        T(test_agent_detect_tiny_growth_without_a_limit_is_not_reported),
        T(test_agent_detect_alert_clears_after_growth_stops),
        T(test_agent_detect_slow_alert_clears_after_half_its_evidence),
        T(test_agent_detect_levels_follow_the_horizons),
        T(test_agent_detect_horizons_are_configurable),
        T(test_agent_detect_level_is_kept_within_a_margin_of_its_horizon),
        T(test_agent_detect_level_lowers_to_the_highest_level_of_the_hold),
        T(test_agent_detect_growth_without_a_limit_is_a_warning),
        T(test_agent_detect_limit_raised_after_exhaustion_clears),
        T(test_agent_detect_restart_starts_over),
        T(test_agent_detect_feed_rejects_bad_samples),
        T(test_agent_detect_conf_check_rejects_out_of_range_fields),
        T(test_agent_detect_new_reports_allocation_failure),
        T(test_agent_detect_detector_is_compact),
        T(test_agent_detect_format_writes_resource_rate_and_time_left),
        T(test_agent_detect_format_cuts_to_the_buffer),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
