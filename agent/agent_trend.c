#include "agent_trend.h"

#include <assert.h>
#include <math.h>
#include <stddef.h>

#include "qm_err.h"

static uint32_t slot(const struct agent_trend *t, uint32_t i)
{
    uint32_t s = t->head + i;
    return s >= t->cap ? s - t->cap : s;
}

static void sums_zero(struct agent_trend *t)
{
    t->sx = 0;
    t->sy = 0;
    t->sxx = 0;
    t->sxy = 0;
    t->syy = 0;
}

/* Add (@sign = 1) or remove (@sign = -1) one stored sample's terms. */
static void sums_apply(struct agent_trend *t,
                       struct agent_trend_sample s,
                       double sign)
{
    double x = (double)s.dt_ms;
    double y = (double)s.dy;
    t->sx += sign * x;
    t->sy += sign * y;
    t->sxx += sign * x * x;
    t->sxy += sign * x * y;
    t->syy += sign * y * y;
}

int agent_trend_init(struct agent_trend *t,
                     struct agent_trend_sample *ring,
                     uint32_t cap,
                     int64_t window_ms)
{
    if (ring == NULL || cap == 0 || cap > AGENT_TREND_MAX_CAP ||
        window_ms < 1 || window_ms > AGENT_TREND_MAX_WINDOW_MS) {
        return QM_INVALID;
    }
    t->ring = ring;
    t->cap = cap;
    t->window_ms = window_ms;
    agent_trend_reset(t);
    return QM_OK;
}

void agent_trend_reset(struct agent_trend *t)
{
    t->base_ms = 0;
    t->base_y = 0;
    t->head = 0;
    t->count = 0;
    t->adds = 0;
    sums_zero(t);
}

static int64_t sample_ms(const struct agent_trend *t, uint32_t i)
{
    return t->base_ms + t->ring[slot(t, i)].dt_ms;
}

static void drop_oldest(struct agent_trend *t)
{
    sums_apply(t, t->ring[t->head], -1.0);
    t->head = slot(t, 1);
    t->count--;
}

/* Re-base on the oldest sample and recompute the sums from the ring. Called
 * after cap additions or when the base lags the new sample by more than two
 * windows; either way every sample now held arrived since the previous
 * rebuild, so the cost is amortised O(1) per sample, and offsets stay below
 * 2 * AGENT_TREND_MAX_WINDOW_MS = 2^30 ms. */
static void rebuild(struct agent_trend *t)
{
    int64_t nb_ms = sample_ms(t, 0);
    double nb_y = t->base_y + (double)t->ring[t->head].dy;
    sums_zero(t);
    for (uint32_t i = 0; i < t->count; i++) {
        struct agent_trend_sample *s = &t->ring[slot(t, i)];
        int64_t at = t->base_ms + s->dt_ms;
        double y = t->base_y + (double)s->dy;
        s->dt_ms = (int32_t)(at - nb_ms);
        s->dy = (float)(y - nb_y);
        sums_apply(t, *s, 1.0);
    }
    t->base_ms = nb_ms;
    t->base_y = nb_y;
    t->adds = 0;
}

int agent_trend_add(struct agent_trend *t, int64_t t_ms, double y)
{
    if (!isfinite(y) || (t->count > 0 && t_ms <= sample_ms(t, t->count - 1))) {
        return QM_INVALID;
    }
    while (t->count > 0 && sample_ms(t, 0) <= t_ms - t->window_ms) {
        drop_oldest(t);
    }
    if (t->count == t->cap) {
        drop_oldest(t);
    }
    if (t->count == 0) {
        t->base_ms = t_ms;
        t->base_y = y;
        t->head = 0;
        t->adds = 0;
        sums_zero(t);
    } else if (t->adds >= t->cap || t_ms - t->base_ms > 2 * t->window_ms) {
        rebuild(t);
    }
    struct agent_trend_sample s = {(int32_t)(t_ms - t->base_ms),
                                   (float)(y - t->base_y)};
    t->ring[slot(t, t->count)] = s;
    t->count++;
    t->adds++;
    sums_apply(t, s, 1.0);
    return QM_OK;
}

bool agent_trend_fit(const struct agent_trend *t, struct agent_trend_fit *out)
{
    if (t->count < 2) {
        return false;
    }
    double n = (double)t->count;
    double mx = t->sx / n;
    double my = t->sy / n;
    double cxx = t->sxx - t->sx * mx;
    double cxy = t->sxy - t->sx * my;
    double cyy = t->syy - t->sy * my;
    if (!(cxx > 0)) {
        return false; /* only reachable through rounding: times differ */
    }
    double slope_ms = cxy / cxx;
    double r2 = 1.0;
    if (cyy > 0) {
        r2 = (cxy * cxy) / (cxx * cyy);
        r2 = r2 > 1.0 ? 1.0 : r2;
    }
    int64_t t0 = sample_ms(t, 0);
    int64_t t1 = sample_ms(t, t->count - 1);
    out->slope_per_s = slope_ms * 1000.0;
    out->intercept =
        t->base_y + my + slope_ms * ((double)(t0 - t->base_ms) - mx);
    out->r2 = r2;
    out->t0_ms = t0;
    out->t1_ms = t1;
    out->span_ms = t1 - t0;
    out->n = t->count;
    return true;
}

double agent_trend_fit_at(const struct agent_trend_fit *f, int64_t t_ms)
{
    return f->intercept + f->slope_per_s * (double)(t_ms - f->t0_ms) / 1000.0;
}

uint32_t agent_trend_count(const struct agent_trend *t)
{
    return t->count;
}

void agent_trend_get(const struct agent_trend *t,
                     uint32_t i,
                     int64_t *t_ms,
                     double *y)
{
    assert(i < t->count);
    const struct agent_trend_sample *s = &t->ring[slot(t, i)];
    *t_ms = t->base_ms + s->dt_ms;
    *y = t->base_y + (double)s->dy;
}
