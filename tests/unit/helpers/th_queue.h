/* Shortcuts for the queues of work over th_fsm (submit, lease, complete,
 * fail, cancel, reads, settings), and a model of the documented priority
 * (statemachine/fsm_queue.h, README "Queues") written from the
 * documentation, not from the indexes, for tests to compare against.
 *
 * Writes go through th_fsm_do (one sessionless command per entry, stamped
 * with the cluster time @t), reads through th_fsm_query at @now. Each
 * returns the status and decodes the body into @out when @out is not NULL;
 * the result stays in fx->last for th_assert_message. Failures fail the
 * running cmocka test. */
#ifndef QM_TESTS_UNIT_HELPERS_TH_QUEUE_H
#define QM_TESTS_UNIT_HELPERS_TH_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "th_fsm.h"
#include "tp_msg.h"

/* ---- commands ---- */

/* Arguments of QUEUE_SUBMIT, zero-filled around the fields. */
void th_submit_args(struct tp_submit *s,
                    const char *client,
                    uint64_t qtier,
                    int64_t urgency);
void th_submit_need(struct tp_submit *s, const char *pool, int64_t amount);
/* *id (may be NULL) is the new request's id on success. Payloads larger
 * than a th_cmd holds go through th_fsm_do_large. */
int th_submit(struct th_fsm *fx,
              int64_t t,
              const struct tp_submit *s,
              uint64_t *id);
/* A request without needs; asserts OK and returns its id. */
uint64_t th_enqueue(struct th_fsm *fx,
                    int64_t t,
                    const char *client,
                    uint64_t qtier,
                    int64_t urgency);

/* QUEUE_LEASE for @worker; @lease_ms 0 is the default lease. */
int th_lease(struct th_fsm *fx,
             int64_t t,
             const char *worker,
             int64_t lease_ms,
             struct tp_lease *out);
/* A lease with the default length that must succeed: the request id. */
uint64_t th_lease_id(struct th_fsm *fx, int64_t t, const char *worker);

void th_complete_args(struct tp_complete *c, uint64_t id, uint64_t attempt);
void th_complete_used(struct tp_complete *c, const char *pool, int64_t used);
/* @cost (may be NULL): what the commit charged. */
int th_complete(struct th_fsm *fx,
                int64_t t,
                const struct tp_complete *c,
                int64_t *cost);
/* Everything reserved used. */
int th_complete_all(struct th_fsm *fx,
                    int64_t t,
                    uint64_t id,
                    uint64_t attempt);
int th_fail(struct th_fsm *fx,
            int64_t t,
            uint64_t id,
            uint64_t attempt,
            const char *reason,
            struct tp_fail_result *out);
int th_cancel(struct th_fsm *fx, int64_t t, uint64_t id);

/* ---- reads ---- */

int th_req_get(struct th_fsm *fx,
               int64_t now,
               uint64_t id,
               struct tp_req_info *out);
/* The state of request @id; asserts that it exists. */
uint64_t th_req_state(struct th_fsm *fx, int64_t now, uint64_t id);
int th_position(struct th_fsm *fx,
                int64_t now,
                uint64_t id,
                struct tp_req_info *out);
/* @page is caller-owned (large: allocate it). */
int th_req_list(struct th_fsm *fx,
                int64_t now,
                const struct tp_req_list_args *a,
                struct tp_req_page *page);
int th_qstats(struct th_fsm *fx, int64_t now, struct tp_queue_stats *out);
/* The counters of one queue tier; asserts that QUEUE_STATS answers. */
struct tp_qtier_stats th_qtier_stats(struct th_fsm *fx, uint64_t qtier);
int th_qsettings_get(struct th_fsm *fx, int64_t now, struct tp_qsettings *out);
int th_qsettings_set(struct th_fsm *fx,
                     int64_t t,
                     const struct tp_qsettings *s);

/* ---- the documented model ---- */

/* The documented defaults, written out here (README "Queues"). */
void th_qsettings_defaults(struct tp_qsettings *s);

/* Priority in milli-points (0..100 000 at nominal weights): weights per
 * mille times tier points (0-40), urgency (0-30), fairness (milli-points,
 * 0-10 000), plus the wait term, one point per aging_ms waited, capped at
 * 20 points. */
int64_t th_prio_static(const struct tp_qsettings *s,
                       int64_t tier_pts,
                       int64_t urgency,
                       int64_t fair_m);
int64_t th_prio_wait(const struct tp_qsettings *s, int64_t waited_ms);
int64_t th_prio(const struct tp_qsettings *s,
                int64_t tier_pts,
                int64_t urgency,
                int64_t fair_m,
                int64_t waited_ms);
/* The exact priority times aging_ms (no rounding), which orders requests:
 * equal values are a tie, broken by enqueue order. */
int64_t th_prio_scaled(const struct tp_qsettings *s,
                       int64_t tier_pts,
                       int64_t urgency,
                       int64_t fair_m,
                       int64_t waited_ms);

/* A client's use for fairness: milli-dispatches as of a time. Use halves
 * every fair_half_life_ms, in steps of 1/64 of a half-life (2^(-i/64) in
 * Q30 fixed point, rounded to nearest). */
struct th_use
{
    int64_t u;
    int64_t at;
};
int64_t th_decay(int64_t u, int64_t dt, int64_t half);
/* Fairness in milli-points: 10 points, halved when the decayed use equals
 * fair_scale dispatches. */
int64_t th_fairness(const struct tp_qsettings *s,
                    const struct th_use *use,
                    int64_t now);
/* Record one dispatch at @now. */
void th_use_dispatch(const struct tp_qsettings *s,
                     struct th_use *use,
                     int64_t now);

/* Whether @now (ms since the epoch, UTC) is in the off-peak window
 * [start, end) of minutes of the day, which may wrap past midnight; an
 * empty window (start == end) never is. */
bool th_offpeak(const struct tp_qsettings *s, int64_t now);

#endif
