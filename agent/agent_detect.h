/* Leak and exhaustion detection for one watched quantity, and utilisation
 * thresholds with hysteresis: pure, deterministic decisions over the samples
 * the collectors take (floating point is fine here: the agent is not the
 * replicated state machine). Times are what the caller passes; no clock.
 *
 * LEAK DETECTOR (one per process and resource: fds, sockets, threads, RSS)
 *
 * The caller feeds (now_ms, value, limit) once per interval. The detector
 * keeps two views of the series, both agent_trend windows:
 *   fast: every sample of the last window_ms (default 60 s), to catch leaks
 *         that exhaust the limit within minutes;
 *   slow: the peak of each bucket_ms (default 1 min), at the time it
 *         occurred, over long_window_ms (default 1 h), to catch slow leaks
 *         (1 fd/min) against the warning horizon. Peaks, because
 *         exhaustion happens at the peak.
 * A view shows a leak ("growing") only when all of these hold, so that a
 * sawtooth, a plateau, a one-off step, noise around a steady value or a
 * series that grew and then stayed flat is not called a leak:
 *   1. span: its samples cover at least min_span_ms (fast, default 30 s) or
 *      long_min_span_ms (slow, default 15 min);
 *   2. a line fits: least-squares slope > 0 and R² >= min_r2 (0.9), which
 *      rejects noise and sawtooths shorter than the window;
 *   3. it matters: the fitted rise over the span is >= min_rise (10 units:
 *      set it per resource, e.g. 16 MiB for RSS);
 *   4. it does not pause: split by time into 4 quarters, each quarter's
 *      highest value exceeds the previous quarter's by at least half of what
 *      the slope predicts. Growth that has stopped, a one-off step, and a
 *      staircase whose flat parts last longer than 3/8 of the window (22
 *      min of the slow view) fail this. Steps 15 to 22 min apart pass at
 *      some moments and fail at others; the clear hold below bridges the
 *      gaps, so such a staircase (a leak in steps) is one steady WARNING;
 *   5. new highs (fast view): its last quarter rises above every bucket
 *      peak of the last hour that came before the window, so the later
 *      ramps of a sawtooth, which stay below its earlier peaks, are not
 *      leaks;
 *   6. trust (finite limit): the predicted time to exhaustion is at most
 *      extrapolation (24) times the span: a minute of evidence predicts at
 *      most 24 minutes ahead, an hour at most the 24 h warning horizon. The
 *      first rise seen after a start (e.g. a sawtooth's first ramp) has no
 *      earlier peak and cannot be told from a leak by its shape; this rule
 *      reports it only when it would reach the limit soon anyway (a
 *      2-minute sawtooth of amplitude 50 at 500 of 1024 is reported on its
 *      first ramp and cleared after it; at 100 of 1024 it is not).
 * Time to exhaustion = (limit - fitted value now) / slope; when both views
 * show a leak, the nearer exhaustion wins. Levels:
 *   CRITICAL  value >= limit ("exhausted"), or growing with exhaustion
 *             within crit_horizon_ms (default 1 h);
 *   WARNING   growing with exhaustion within warn_horizon_ms (24 h);
 *   NONE      otherwise.
 * A resource with no finite limit (limit <= 0 or INT64_MAX) has no time to
 * exhaustion: only the slow view applies (at least 15 min of steady growth)
 * and a leak is a WARNING with tte_s = -1, formatted as "no limit".
 * Raising is immediate. Lowering has hysteresis: a level is kept while the
 * time to exhaustion stays within 1.25 times its horizon, and is lowered
 * only after the lower level has held for the clear hold, then to the
 * highest level seen in that time. The clear hold is clear_hold_ms
 * (default 60 s) or half the span of the latest evidence, if longer: an
 * alert raised on an hour of minute peaks is not dropped after a minute. The
 * report says when the level changed, so the caller raises or clears an alert
 * once per change. When the process restarts (new start time), call
 * agent_leak_reset().
 *
 * Why these windows: a 60 s fast window meets "a 1 fd/s leak against 1024
 * is reported within a minute" (it is, at the 42nd sample) and is short
 * enough that a pool opening and staying flat leaves it quickly; one hour
 * of minute peaks is the least evidence rule 6 needs for the 24 h horizon.
 *
 * THRESHOLD DETECTOR (utilisation in per mille: CPU, memory, disk)
 *
 * Levels from the thresholds of seed 001: CPU 800/950, memory 850/950,
 * disk 800/900 (warning/critical). A level is raised only after hold (3)
 * consecutive samples at or above its threshold, so one spike is not an
 * alert, and lowered only after hold samples below threshold - margin
 * (50 per mille), so a value hovering at the threshold does not flap.
 * Three samples is 3 s at the default interval: quick enough for an
 * operator, longer than a scheduler burst or a one-off copy.
 *
 * Not thread-safe: one thread (the agent's loop) owns each detector. */
#ifndef QM_AGENT_AGENT_DETECT_H
#define QM_AGENT_AGENT_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum agent_level {
    AGENT_LEVEL_NONE = 0,
    AGENT_LEVEL_WARNING = 1,
    AGENT_LEVEL_CRITICAL = 2,
};

/* "none", "warning", "critical"; "?" outside the enum. */
const char *agent_level_name(enum agent_level level);

/* How the formatters write amounts: plain counts, or bytes (KiB, MiB...). */
enum agent_unit {
    AGENT_UNIT_COUNT = 0,
    AGENT_UNIT_BYTES = 1,
};

/* ---- leak detector ---- */

struct agent_leak_conf
{
    int64_t interval_ms;      /* sampling interval (1000): sizes the ring */
    int64_t window_ms;        /* fast view (60000) */
    int64_t min_span_ms;      /* fast view's least span (30000) */
    int64_t bucket_ms;        /* slow view's bucket (60000) */
    int64_t long_window_ms;   /* slow view (3600000) */
    int64_t long_min_span_ms; /* slow view's least span (900000) */
    double min_r2;            /* least R² of a leak (0.9) */
    double min_rise;          /* least fitted rise over the span (10) */
    double extrapolation;     /* time to exhaustion <= this * span (24) */
    int64_t warn_horizon_ms;  /* WARNING within (86400000) */
    int64_t crit_horizon_ms;  /* CRITICAL within (3600000) */
    int64_t clear_hold_ms;    /* lower a level after this long (60000) */
};

/* What one sample concluded. The fit fields describe the view that showed
 * the leak; they are 0 (tte_s -1) when no view did. */
struct agent_leak_report
{
    enum agent_level level; /* after this sample */
    enum agent_level prev;  /* before it; level != prev: raise or clear */
    bool growing;           /* a view shows a leak (rules 1-6) */
    bool exhausted;         /* finite limit and value >= limit */
    double slope_per_s;     /* value units per second */
    double r2;
    double tte_s;    /* predicted seconds to the limit; -1 if unknown */
    int64_t span_ms; /* span of the evidence */
    int64_t value;   /* this sample */
    int64_t limit;   /* this sample's limit; 0 when none */
};

struct agent_leak; /* opaque */

/* The defaults above. */
void agent_leak_conf_default(struct agent_leak_conf *c);

/* QM_OK, or QM_ECONFIG when a field is out of range: intervals and windows
 * positive, each window at least 4 samples (or buckets) and at most
 * AGENT_TREND_MAX_WINDOW_MS, each least span shorter than its window,
 * min_r2 in 0..1, min_rise >= 0, extrapolation > 0,
 * 0 < crit_horizon_ms <= warn_horizon_ms, clear_hold_ms >= 0, and a fast
 * ring of at most AGENT_TREND_MAX_CAP samples. */
int agent_leak_conf_check(const struct agent_leak_conf *c);

/* Bytes one detector with @c takes (one allocation); 0 if @c is invalid. */
size_t agent_leak_memsize(const struct agent_leak_conf *c);

/* Allocate a detector with a copy of @c into *@out (owned by the caller,
 * freed with agent_leak_free). Returns QM_OK, QM_ECONFIG (see
 * agent_leak_conf_check) or QM_ENOMEM; *@out is written only on QM_OK. */
int agent_leak_new(const struct agent_leak_conf *c, struct agent_leak **out);

/* Free @d; NULL is ignored. */
void agent_leak_free(struct agent_leak *d);

/* Feed one sample: @value now (>= 0) and the limit it runs into (<= 0 or
 * INT64_MAX: none). @now_ms is any millisecond clock that never goes back
 * (monotonic preferred). Writes the conclusion to *@out. Returns QM_OK, or
 * QM_INVALID (nothing changes, *@out untouched) when @value < 0 or @now_ms is
 * not after the previous sample's. */
int agent_leak_feed(struct agent_leak *d,
                    int64_t now_ms,
                    int64_t value,
                    int64_t limit,
                    struct agent_leak_report *out);

/* Start over (the process restarted): forget every sample and return to
 * NONE. Returns the level before, so the caller can clear its alert. */
enum agent_level agent_leak_reset(struct agent_leak *d);

/* Current level. */
enum agent_level agent_leak_level(const struct agent_leak *d);

/* Write the alert message for @r about @resource ("fds", "rss"...) into
 * @buf (@size bytes, NUL-terminated, cut if short; @size 0 writes
 * nothing). The message gives the resource, the rate and the predicted
 * time to exhaustion, e.g.
 *   "fds growing 1.00/s (r2 0.99), 180 of 1024, exhaustion in 14m04s"
 *   "rss growing 17.07 KiB/s (r2 0.98), 512.00 MiB, no limit"
 *   "fds exhausted, 1024 of 1024"
 *   "fds not growing, 180 of 1024"
 * Returns the length of the whole message (as snprintf). */
size_t agent_leak_format(char *buf,
                         size_t size,
                         const char *resource,
                         enum agent_unit unit,
                         const struct agent_leak_report *r);

/* ---- threshold detector ---- */

enum agent_util {
    AGENT_UTIL_CPU = 0,
    AGENT_UTIL_MEMORY = 1,
    AGENT_UTIL_DISK = 2,
};

struct agent_thresh_conf
{
    uint32_t warn_pm;   /* WARNING at or above (per mille) */
    uint32_t crit_pm;   /* CRITICAL at or above */
    uint32_t margin_pm; /* a level clears below its threshold - margin */
    uint32_t hold;      /* samples a change must hold before it counts */
};

/* Embedded by its owner; fields are private to agent_detect.c. */
struct agent_thresh
{
    struct agent_thresh_conf conf;
    enum agent_level level;
    enum agent_level down_to; /* highest level seen while run_down counts */
    uint32_t last_pm;
    uint32_t run_warn; /* consecutive samples supporting >= WARNING */
    uint32_t run_crit; /* consecutive samples supporting CRITICAL */
    uint32_t run_down; /* consecutive samples supporting less than level */
};

/* Defaults for @kind (seed 001), margin 50 and hold 3. Unknown kinds get
 * the CPU defaults. */
void agent_thresh_conf_default(enum agent_util kind,
                               struct agent_thresh_conf *c);

/* Start at NONE with a copy of @c. Returns QM_OK, or QM_ECONFIG unless
 * 0 < warn_pm <= crit_pm, margin_pm < warn_pm and hold >= 1. */
int agent_thresh_init(struct agent_thresh *t,
                      const struct agent_thresh_conf *c);

/* Feed one utilisation sample in per mille. Returns true when it changed
 * the level (raise or clear the alert once); the level is then
 * agent_thresh_level(). */
bool agent_thresh_feed(struct agent_thresh *t, uint32_t permille);

enum agent_level agent_thresh_level(const struct agent_thresh *t);

/* Write e.g. "cpu 96.2% (critical at 95.0%)", "cpu 84.0% (warning at
 * 80.0%)" or "cpu 41.0% (normal)" for the last sample; as agent_leak_format
 * otherwise. */
size_t agent_thresh_format(char *buf,
                           size_t size,
                           const char *what,
                           const struct agent_thresh *t);

#endif
