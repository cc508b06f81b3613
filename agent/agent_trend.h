/* A sliding-window time series with an O(1)-per-sample least-squares line
 * fit: slope per second, intercept, R², sample count and time span.
 *
 * The window keeps the samples of the last window_ms milliseconds, at most
 * cap of them (the oldest is dropped when the ring is full). Storage is a
 * ring of 8-byte samples that the caller provides, so a series can live
 * inside a larger object with one allocation: 64 samples (a 60 s window at
 * 1 Hz) take 512 bytes plus the 88-byte header.
 *
 * Numerical design (measured in tests/unit/agent/test_agent_trend.c).
 * Each sample is stored relative to a base point (base_ms, base_y): the
 * time as whole milliseconds in an int32, the value as a float. The fit
 * works on running sums of x = dt_ms and y = dy in doubles. Two things keep
 * it exact or nearly so on long runs with epoch-millisecond times:
 *   - offsets, not absolute times: sums of absolute epoch seconds (x² near
 *     3e18) lose every digit of the variance to cancellation;
 *   - a rebuild of the sums from the ring, re-based on the oldest sample,
 *     every cap additions (amortised O(1)): for whole-number values and
 *     whole-millisecond times every sum is an integer below 2^53, so adding
 *     and removing is exact and the rebuild only moves the base; for other
 *     values it bounds the rounding drift to one ring's worth.
 * The float keeps 24 bits of a value's distance from the base value, which
 * is exact for counts and for byte sizes that move less than 16 MiB within
 * a window, and within 6e-8 relative otherwise.
 *
 * Not thread-safe: one thread owns a series. Pure computation, no clock:
 * times are what the caller passes. */
#ifndef QM_AGENT_AGENT_TREND_H
#define QM_AGENT_AGENT_TREND_H

#include <stdbool.h>
#include <stdint.h>

/* Longest window (and longest time a base may lag the newest sample):
 * offsets must fit an int32 of milliseconds with room to spare. */
#define AGENT_TREND_MAX_WINDOW_MS (1LL << 29) /* about 6.2 days */

/* Most samples one ring may hold. */
#define AGENT_TREND_MAX_CAP 65536u

/* One stored sample, relative to the series' base point. */
struct agent_trend_sample
{
    int32_t dt_ms;
    float dy;
};

/* Embedded by its owner; fields are private to agent_trend.c. */
struct agent_trend
{
    struct agent_trend_sample *ring; /* borrowed: cap samples */
    int64_t window_ms;
    int64_t base_ms; /* time of dt_ms == 0 */
    double base_y;   /* value of dy == 0 */
    double sx, sy, sxx, sxy, syy;
    uint32_t cap;
    uint32_t head;  /* index of the oldest sample */
    uint32_t count; /* samples held */
    uint32_t adds;  /* additions since the last rebuild */
};

/* The least-squares line y = intercept + slope_per_s * (t - t0_ms) / 1000
 * over the samples in the window. */
struct agent_trend_fit
{
    double slope_per_s; /* value units per second */
    double intercept;   /* fitted value at t0_ms */
    double r2;          /* 0..1; 1 when all values are equal */
    int64_t t0_ms;      /* oldest sample's time */
    int64_t t1_ms;      /* newest sample's time */
    int64_t span_ms;    /* t1_ms - t0_ms */
    uint32_t n;         /* samples */
};

/* Start an empty series over @ring (@cap samples, borrowed: it must
 * outlive @t) keeping the last @window_ms milliseconds. Returns QM_OK, or
 * QM_INVALID when @ring is NULL, @cap is 0 or above AGENT_TREND_MAX_CAP, or
 * @window_ms is not in 1..AGENT_TREND_MAX_WINDOW_MS. */
int agent_trend_init(struct agent_trend *t,
                     struct agent_trend_sample *ring,
                     uint32_t cap,
                     int64_t window_ms);

/* Forget every sample; the ring and window stay. */
void agent_trend_reset(struct agent_trend *t);

/* Add the sample (@t_ms, @y): first drop the samples at or before
 * @t_ms - window_ms, then the oldest one if the ring is full. Returns
 * QM_OK, or QM_INVALID (and changes nothing) when @t_ms is not after the
 * newest sample or @y is not finite. */
int agent_trend_add(struct agent_trend *t, int64_t t_ms, double y);

/* Fit a line to the samples in the window into *@out. Returns false, and
 * leaves *@out alone, with fewer than two samples. */
bool agent_trend_fit(const struct agent_trend *t, struct agent_trend_fit *out);

/* Value of the fitted line at @t_ms. */
double agent_trend_fit_at(const struct agent_trend_fit *f, int64_t t_ms);

/* Samples in the window. */
uint32_t agent_trend_count(const struct agent_trend *t);

/* The @i-th sample, oldest first (@i < agent_trend_count(); asserted):
 * its time into *@t_ms and value into *@y (as stored: see above). */
void agent_trend_get(const struct agent_trend *t,
                     uint32_t i,
                     int64_t *t_ms,
                     double *y);

#endif
