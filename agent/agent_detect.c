#include "agent_detect.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "agent_trend.h"
#include "qm_alloc.h"
#include "qm_err.h"

/* Rule 4: quarters, and the share of the predicted rise each must show. */
#define SEGMENTS 4
#define SEGMENT_RISE 0.5
/* A level is kept while the time to exhaustion is within this many times
 * its horizon. */
#define HORIZON_MARGIN 1.25
/* Fast ring slack over window / interval, for a sampler running early. */
#define FAST_SLACK 4
/* Slow ring slack over long_window / bucket. */
#define SLOW_SLACK 2

const char *agent_level_name(enum agent_level level)
{
    switch (level) {
        case AGENT_LEVEL_NONE:
            return "none";
        case AGENT_LEVEL_WARNING:
            return "warning";
        case AGENT_LEVEL_CRITICAL:
            return "critical";
    }
    return "?";
}

/* ---- leak detector ---- */

struct agent_leak
{
    struct agent_leak_conf conf;
    struct agent_trend fast;
    struct agent_trend slow; /* one sample per bucket: its peak */
    int64_t last_ms;         /* previous sample; valid when fed */
    int64_t bucket_start_ms; /* open bucket; valid when fed */
    int64_t peak_ms;         /* the open bucket's peak and its time */
    double peak;
    int64_t quiet_ms; /* the candidate has been below level since */
    int64_t hold_ms;  /* how long a lower level must hold to lower it */
    enum agent_level quiet_max; /* highest candidate since quiet_ms */
    enum agent_level level;
    bool fed;   /* a sample arrived since the start or the last reset */
    bool quiet; /* quiet_ms and quiet_max are valid */
    struct agent_trend_sample rings[]; /* fast, then slow */
};

/* What a view concluded. */
struct evidence
{
    double slope;
    double r2;
    double tte_s;
    int64_t span_ms;
};

void agent_leak_conf_default(struct agent_leak_conf *c)
{
    c->interval_ms = 1000;
    c->window_ms = 60 * 1000;
    c->min_span_ms = 30 * 1000;
    c->bucket_ms = 60 * 1000;
    c->long_window_ms = 3600 * 1000;
    c->long_min_span_ms = 15 * 60 * 1000;
    c->min_r2 = 0.9;
    c->min_rise = 10;
    c->extrapolation = 24;
    c->warn_horizon_ms = 24 * 3600 * 1000LL;
    c->crit_horizon_ms = 3600 * 1000;
    c->clear_hold_ms = 60 * 1000;
}

/* A window of at least 4 steps of @step_ms, within what a trend holds. */
static bool window_ok(int64_t window_ms, int64_t step_ms, int64_t min_span)
{
    return step_ms > 0 && window_ms >= 4 * step_ms &&
           window_ms <= AGENT_TREND_MAX_WINDOW_MS && min_span >= 0 &&
           min_span < window_ms;
}

static uint32_t fast_cap(const struct agent_leak_conf *c)
{
    return (uint32_t)(c->window_ms / c->interval_ms) + FAST_SLACK;
}

static uint32_t slow_cap(const struct agent_leak_conf *c)
{
    return (uint32_t)(c->long_window_ms / c->bucket_ms) + SLOW_SLACK;
}

int agent_leak_conf_check(const struct agent_leak_conf *c)
{
    if (!window_ok(c->window_ms, c->interval_ms, c->min_span_ms) ||
        !window_ok(c->long_window_ms, c->bucket_ms, c->long_min_span_ms) ||
        c->bucket_ms < c->interval_ms ||
        c->window_ms / c->interval_ms > AGENT_TREND_MAX_CAP - FAST_SLACK ||
        !(c->min_r2 >= 0 && c->min_r2 <= 1) || !(c->min_rise >= 0) ||
        !(c->extrapolation > 0) || c->crit_horizon_ms <= 0 ||
        c->warn_horizon_ms < c->crit_horizon_ms || c->clear_hold_ms < 0) {
        return QM_ECONFIG;
    }
    return QM_OK;
}

size_t agent_leak_memsize(const struct agent_leak_conf *c)
{
    if (agent_leak_conf_check(c) != QM_OK) {
        return 0;
    }
    return sizeof(struct agent_leak) + ((size_t)fast_cap(c) + slow_cap(c)) *
                                           sizeof(struct agent_trend_sample);
}

int agent_leak_new(const struct agent_leak_conf *c, struct agent_leak **out)
{
    size_t size = agent_leak_memsize(c);
    if (size == 0) {
        return QM_ECONFIG;
    }
    struct agent_leak *d = qm_malloc(size);
    if (d == NULL) {
        return QM_ENOMEM;
    }
    d->conf = *c;
    d->level = AGENT_LEVEL_NONE;
    uint32_t fcap = fast_cap(c);
    int rc = agent_trend_init(&d->fast, d->rings, fcap, c->window_ms);
    int rc2 = agent_trend_init(&d->slow, d->rings + fcap, slow_cap(c),
                               c->long_window_ms);
    assert(rc == QM_OK && rc2 == QM_OK); /* the checked conf fits */
    (void)rc;
    (void)rc2;
    agent_leak_reset(d);
    *out = d;
    return QM_OK;
}

void agent_leak_free(struct agent_leak *d)
{
    qm_free(d);
}

enum agent_level agent_leak_reset(struct agent_leak *d)
{
    enum agent_level was = d->level;
    agent_trend_reset(&d->fast);
    agent_trend_reset(&d->slow);
    d->fed = false;
    d->quiet = false;
    d->hold_ms = d->conf.clear_hold_ms;
    d->level = AGENT_LEVEL_NONE;
    return was;
}

enum agent_level agent_leak_level(const struct agent_leak *d)
{
    return d->level;
}

/* Track the open bucket's peak; when a bucket is over, its peak becomes
 * one sample of the slow view. */
static void bucket_add(struct agent_leak *d, int64_t now_ms, double v)
{
    if (d->fed && now_ms - d->bucket_start_ms < d->conf.bucket_ms) {
        if (v > d->peak) {
            d->peak = v;
            d->peak_ms = now_ms;
        }
        return;
    }
    if (d->fed) {
        int rc = agent_trend_add(&d->slow, d->peak_ms, d->peak);
        assert(rc == QM_OK); /* peaks are in time order */
        (void)rc;
    }
    d->bucket_start_ms = now_ms;
    d->peak = v;
    d->peak_ms = now_ms;
}

/* Highest bucket peak before @before_ms; -inf when none. */
static double peak_before(const struct agent_trend *slow, int64_t before_ms)
{
    double m = -INFINITY;
    for (uint32_t i = 0; i < agent_trend_count(slow); i++) {
        int64_t t;
        double y;
        agent_trend_get(slow, i, &t, &y);
        if (t >= before_ms) {
            break;
        }
        m = y > m ? y : m;
    }
    return m;
}

/* Rule 4: each quarter's highest value exceeds the previous quarter's by
 * SEGMENT_RISE of the fitted rise per quarter. The last quarter's highest
 * value goes to *@last_max. */
static bool rises_every_quarter(const struct agent_trend *s,
                                const struct agent_trend_fit *f,
                                double *last_max)
{
    double m[SEGMENTS];
    for (int k = 0; k < SEGMENTS; k++) {
        m[k] = -INFINITY;
    }
    for (uint32_t i = 0; i < f->n; i++) {
        int64_t t;
        double y;
        agent_trend_get(s, i, &t, &y);
        int64_t k = (t - f->t0_ms) * SEGMENTS / f->span_ms;
        k = k >= SEGMENTS ? SEGMENTS - 1 : k;
        m[k] = y > m[k] ? y : m[k];
    }
    double need = SEGMENT_RISE * f->slope_per_s * (double)f->span_ms /
                  (1000.0 * SEGMENTS);
    for (int k = 1; k < SEGMENTS; k++) {
        if (!(m[k] - m[k - 1] >= need)) {
            return false; /* also when a quarter is empty (-inf) */
        }
    }
    *last_max = m[SEGMENTS - 1];
    return true;
}

static bool has_limit(int64_t limit)
{
    return limit > 0 && limit < INT64_MAX;
}

/* Rules 1-6 on one view. @high is the level the last quarter must pass
 * (rule 5); -inf to skip. Fills *@ev when the view shows a leak. */
static bool view_shows_leak(const struct agent_leak *d,
                            const struct agent_trend *s,
                            int64_t min_span_ms,
                            double high,
                            int64_t now_ms,
                            int64_t limit,
                            struct evidence *ev)
{
    const struct agent_leak_conf *c = &d->conf;
    struct agent_trend_fit f;
    if (!agent_trend_fit(s, &f) || f.span_ms < min_span_ms || f.span_ms <= 0) {
        return false;
    }
    double span_s = (double)f.span_ms / 1000.0;
    double last_max;
    if (!(f.slope_per_s > 0) || f.r2 < c->min_r2 ||
        f.slope_per_s * span_s < c->min_rise ||
        !rises_every_quarter(s, &f, &last_max) || !(last_max > high)) {
        return false;
    }
    double tte = -1;
    if (has_limit(limit)) {
        double left = (double)limit - agent_trend_fit_at(&f, now_ms);
        tte = left > 0 ? left / f.slope_per_s : 0;
        if (tte > c->extrapolation * span_s) {
            return false;
        }
    }
    ev->slope = f.slope_per_s;
    ev->r2 = f.r2;
    ev->tte_s = tte;
    ev->span_ms = f.span_ms;
    return true;
}

/* Evidence from the views: with a limit the fast one too, and the nearer
 * exhaustion wins. */
static bool find_leak(const struct agent_leak *d,
                      int64_t now_ms,
                      int64_t limit,
                      struct evidence *ev)
{
    struct evidence fast;
    struct evidence slow;
    bool has_slow = view_shows_leak(d, &d->slow, d->conf.long_min_span_ms,
                                    -INFINITY, now_ms, limit, &slow);
    bool has_fast = false;
    if (has_limit(limit) && agent_trend_count(&d->fast) > 0) {
        int64_t t0;
        double y0;
        agent_trend_get(&d->fast, 0, &t0, &y0);
        has_fast =
            view_shows_leak(d, &d->fast, d->conf.min_span_ms,
                            peak_before(&d->slow, t0), now_ms, limit, &fast);
    }
    if (has_fast && (!has_slow || fast.tte_s <= slow.tte_s)) {
        *ev = fast;
    } else if (has_slow) {
        *ev = slow;
    }
    return has_fast || has_slow;
}

/* The level this sample supports, with the horizons widened by
 * HORIZON_MARGIN for a level already held. */
static enum agent_level candidate(const struct agent_leak *d,
                                  bool growing,
                                  bool limited,
                                  double tte_s)
{
    if (!growing) {
        return AGENT_LEVEL_NONE;
    }
    if (!limited) {
        return AGENT_LEVEL_WARNING;
    }
    double crit = (double)d->conf.crit_horizon_ms / 1000.0;
    double warn = (double)d->conf.warn_horizon_ms / 1000.0;
    if (d->level == AGENT_LEVEL_CRITICAL) {
        crit *= HORIZON_MARGIN;
    }
    if (d->level >= AGENT_LEVEL_WARNING) {
        warn *= HORIZON_MARGIN;
    }
    if (tte_s <= crit) {
        return AGENT_LEVEL_CRITICAL;
    }
    return tte_s <= warn ? AGENT_LEVEL_WARNING : AGENT_LEVEL_NONE;
}

/* Raise at once; lower after hold_ms of lower candidates, to the highest
 * of them. */
static void settle(struct agent_leak *d, int64_t now_ms, enum agent_level c)
{
    if (c >= d->level) {
        d->level = c;
        d->quiet = false;
        return;
    }
    if (!d->quiet) {
        d->quiet = true;
        d->quiet_ms = now_ms;
        d->quiet_max = c;
    } else if (c > d->quiet_max) {
        d->quiet_max = c;
    }
    if (now_ms - d->quiet_ms >= d->hold_ms) {
        d->level = d->quiet_max;
        d->quiet = false;
    }
}

int agent_leak_feed(struct agent_leak *d,
                    int64_t now_ms,
                    int64_t value,
                    int64_t limit,
                    struct agent_leak_report *out)
{
    if (value < 0 || (d->fed && now_ms <= d->last_ms)) {
        return QM_INVALID;
    }
    bucket_add(d, now_ms, (double)value);
    int rc = agent_trend_add(&d->fast, now_ms, (double)value);
    assert(rc == QM_OK); /* time checked above */
    (void)rc;
    d->fed = true;
    d->last_ms = now_ms;

    struct evidence ev = {0, 0, -1, 0};
    bool limited = has_limit(limit);
    bool growing = find_leak(d, now_ms, limit, &ev);
    if (growing) {
        d->hold_ms = ev.span_ms / 2 > d->conf.clear_hold_ms
                         ? ev.span_ms / 2
                         : d->conf.clear_hold_ms;
    }
    bool exhausted = limited && value >= limit;
    enum agent_level c = exhausted ? AGENT_LEVEL_CRITICAL
                                   : candidate(d, growing, limited, ev.tte_s);
    enum agent_level prev = d->level;
    settle(d, now_ms, c);

    out->level = d->level;
    out->prev = prev;
    out->growing = growing;
    out->exhausted = exhausted;
    out->slope_per_s = ev.slope;
    out->r2 = ev.r2;
    out->tte_s = exhausted ? 0 : ev.tte_s;
    out->span_ms = ev.span_ms;
    out->value = value;
    out->limit = limited ? limit : 0;
    return QM_OK;
}

/* ---- messages ---- */

/* Append to a bounded message; keeps counting the length past the end. */
struct msg
{
    char *buf;
    size_t size;
    size_t len;
};

static void msg_add(struct msg *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void msg_add(struct msg *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *at = m->len < m->size ? m->buf + m->len : NULL;
    size_t room = m->len < m->size ? m->size - m->len : 0;
    int n = vsnprintf(at, room, fmt, ap);
    va_end(ap);
    m->len += n > 0 ? (size_t)n : 0;
}

/* An amount: a count, or bytes in B, KiB, MiB, GiB or TiB. */
static void msg_amount(struct msg *m, double v, enum agent_unit unit)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    if (unit != AGENT_UNIT_BYTES) {
        msg_add(m, "%.0f", v);
        return;
    }
    size_t u = 0;
    while (fabs(v) >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024;
        u++;
    }
    if (u == 0) {
        msg_add(m, "%.0f B", v);
    } else {
        msg_add(m, "%.2f %s", v, units[u]);
    }
}

/* A rate per second, minute or hour: the first at which it reaches 1. */
static void msg_rate(struct msg *m, double per_s, enum agent_unit unit)
{
    const char *per = "s";
    if (fabs(per_s) < 1 && fabs(per_s) * 60 >= 1) {
        per_s *= 60;
        per = "min";
    } else if (fabs(per_s) * 60 < 1) {
        per_s *= 3600;
        per = "h";
    }
    if (unit == AGENT_UNIT_BYTES) {
        msg_amount(m, per_s, unit);
    } else {
        msg_add(m, "%.2f", per_s);
    }
    msg_add(m, "/%s", per);
}

/* A duration: "45s", "14m04s", "3h12m", "2d04h". */
static void msg_duration(struct msg *m, double secs)
{
    int64_t s = llround(secs < 0 ? 0 : secs > 1e12 ? 1e12 : secs);
    if (s < 60) {
        msg_add(m, "%" PRId64 "s", s);
    } else if (s < 3600) {
        msg_add(m, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
    } else if (s < 86400) {
        msg_add(m, "%" PRId64 "h%02" PRId64 "m", s / 3600, s % 3600 / 60);
    } else {
        msg_add(m, "%" PRId64 "d%02" PRId64 "h", s / 86400, s % 86400 / 3600);
    }
}

/* "180 of 1024" or "180, no limit". */
static void msg_usage(struct msg *m,
                      const struct agent_leak_report *r,
                      enum agent_unit unit)
{
    msg_amount(m, (double)r->value, unit);
    if (r->limit > 0) {
        msg_add(m, " of ");
        msg_amount(m, (double)r->limit, unit);
    } else {
        msg_add(m, ", no limit");
    }
}

size_t agent_leak_format(char *buf,
                         size_t size,
                         const char *resource,
                         enum agent_unit unit,
                         const struct agent_leak_report *r)
{
    struct msg m = {buf, size, 0};
    if (size > 0) {
        buf[0] = '\0';
    }
    if (r->exhausted) {
        msg_add(&m, "%s exhausted, ", resource);
        msg_usage(&m, r, unit);
    } else if (r->growing) {
        msg_add(&m, "%s growing ", resource);
        msg_rate(&m, r->slope_per_s, unit);
        msg_add(&m, " (r2 %.2f), ", r->r2);
        msg_usage(&m, r, unit);
        if (r->limit > 0 && r->tte_s >= 0) {
            msg_add(&m, ", exhaustion in ");
            msg_duration(&m, r->tte_s);
        }
    } else {
        msg_add(&m, "%s not growing, ", resource);
        msg_usage(&m, r, unit);
    }
    return m.len;
}

/* ---- threshold detector ---- */

/* Seed 001's table, in per mille: warning, critical. */
static const struct agent_thresh_conf thresh_defaults[] = {
    [AGENT_UTIL_CPU] = {800, 950, 50, 3},
    [AGENT_UTIL_MEMORY] = {850, 950, 50, 3},
    [AGENT_UTIL_DISK] = {800, 900, 50, 3},
};

void agent_thresh_conf_default(enum agent_util kind,
                               struct agent_thresh_conf *c)
{
    size_t k = (size_t)kind;
    *c =
        thresh_defaults[k < sizeof(thresh_defaults) / sizeof(thresh_defaults[0])
                            ? k
                            : AGENT_UTIL_CPU];
}

int agent_thresh_init(struct agent_thresh *t, const struct agent_thresh_conf *c)
{
    if (c->warn_pm == 0 || c->warn_pm > c->crit_pm ||
        c->margin_pm >= c->warn_pm || c->hold < 1) {
        return QM_ECONFIG;
    }
    t->conf = *c;
    t->level = AGENT_LEVEL_NONE;
    t->down_to = AGENT_LEVEL_NONE;
    t->last_pm = 0;
    t->run_warn = 0;
    t->run_crit = 0;
    t->run_down = 0;
    return QM_OK;
}

/* The level @pm supports, with the thresholds of levels already held
 * lowered by the margin. */
static enum agent_level thresh_target(const struct agent_thresh *t, uint32_t pm)
{
    const struct agent_thresh_conf *c = &t->conf;
    uint32_t crit = c->crit_pm;
    uint32_t warn = c->warn_pm;
    if (t->level == AGENT_LEVEL_CRITICAL) {
        crit -= c->margin_pm; /* margin < warn <= crit (init) */
    }
    if (t->level >= AGENT_LEVEL_WARNING) {
        warn -= c->margin_pm;
    }
    if (pm >= crit) {
        return AGENT_LEVEL_CRITICAL;
    }
    return pm >= warn ? AGENT_LEVEL_WARNING : AGENT_LEVEL_NONE;
}

bool agent_thresh_feed(struct agent_thresh *t, uint32_t permille)
{
    enum agent_level target = thresh_target(t, permille);
    uint32_t hold = t->conf.hold;
    t->last_pm = permille;
    t->run_warn = target >= AGENT_LEVEL_WARNING ? t->run_warn + 1 : 0;
    t->run_crit = target >= AGENT_LEVEL_CRITICAL ? t->run_crit + 1 : 0;
    enum agent_level up = t->run_crit >= hold   ? AGENT_LEVEL_CRITICAL
                          : t->run_warn >= hold ? AGENT_LEVEL_WARNING
                                                : AGENT_LEVEL_NONE;
    if (up > t->level) {
        t->level = up;
        t->run_down = 0;
        return true;
    }
    if (target >= t->level) {
        t->run_down = 0;
        return false;
    }
    t->down_to = t->run_down == 0 || target > t->down_to ? target : t->down_to;
    if (++t->run_down < hold) {
        return false;
    }
    t->level = t->down_to;
    t->run_down = 0;
    return true;
}

enum agent_level agent_thresh_level(const struct agent_thresh *t)
{
    return t->level;
}

size_t agent_thresh_format(char *buf,
                           size_t size,
                           const char *what,
                           const struct agent_thresh *t)
{
    struct msg m = {buf, size, 0};
    if (size > 0) {
        buf[0] = '\0';
    }
    uint32_t at = t->level == AGENT_LEVEL_CRITICAL  ? t->conf.crit_pm
                  : t->level == AGENT_LEVEL_WARNING ? t->conf.warn_pm
                                                    : 0;
    msg_add(&m, "%s %" PRIu32 ".%" PRIu32 "%%", what, t->last_pm / 10,
            t->last_pm % 10);
    if (at == 0) {
        msg_add(&m, " (normal)");
    } else {
        msg_add(&m, " (%s at %" PRIu32 ".%" PRIu32 "%%)",
                agent_level_name(t->level), at / 10, at % 10);
    }
    return m.len;
}
