/* Queues of work: requests waiting in five dispatch classes (queue tiers),
 * ordered by a priority on a 0-100 scale that grows while they wait.
 *
 * Priority (milli-points) = w_tier x client tier points (0-40)
 *                         + w_urgency x urgency (0-30)
 *                         + w_fair x fairness (0-10, from the client's
 *                           decayed use at submit time)
 *                         + w_wait x wait points (0-20: one per aging_ms
 *                           waited, capped).
 * The weights are per mille (1000 = the nominal scale).
 *
 * Indexing (O(log n) per operation, however long the queue): until its
 * wait term reaches the cap every queued request's priority grows at the
 * same rate, so priority(t) x aging_ms = k + w_wait x t with
 * k = static x aging_ms - w_wait x enqueued_ms fixed per request. Such
 * "growing" requests are ordered by k; "capped" ones by their constant
 * final priority. Each queue tier has both indexes; the best request of a
 * tier is the better of the first key of each, compared at time t. A
 * request moves from growing to capped once it has waited 20 x aging_ms;
 * a cursor over the enqueue-order index makes that move happen once per
 * request.
 *
 * Dispatch order: requests that waited past starve_ms (deferred excepted)
 * first, oldest first; then the tiers immediate, fast, normal, batch, each
 * by priority and then enqueue order; the deferred tier inside the
 * off-peak window, or when nothing else waits. Loop thread only. */
#ifndef QM_STATEMACHINE_FSM_QUEUE_H
#define QM_STATEMACHINE_FSM_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "fsm_internal.h"

#define FSM_WAIT_CAP 20 /* nominal wait points */

struct fsm_req
{
    char client[QM_NAME_MAX + 1];
    uint64_t qtier;
    uint64_t state;
    int64_t urgency;
    int64_t tier_pts; /* the client's tier points when submitted */
    int64_t fair_m;   /* fairness, milli-points, when submitted */
    int64_t enq_ms;
    int64_t deadline_ms;
    uint64_t attempts;
    uint64_t max_attempts;
    char worker[QM_NAME_MAX + 1];
    int64_t lease_ms; /* asked lease length of the current lease */
    int64_t lease_exp_ms;
    uint64_t reservation;
    uint32_t nneeds;
    struct tp_amount needs[QM_RES_POOLS_MAX];
    struct qm_span payload; /* borrowed from LMDB when loaded */
    int64_t finished_ms;
    char reason[QM_REASON_MAX + 1];
};

/* Settings (stored, or the defaults). */
int fsm__qsettings(struct fsm_ctx *c, struct tp_qsettings *out);
int fsm__qsettings_store(struct fsm_ctx *c, const struct tp_qsettings *s);

/* Records. QM_NOT_FOUND when there is no request @id. */
int fsm__req_load(struct fsm_ctx *c, uint64_t id, struct fsm_req *r);
int fsm__req_store(struct fsm_ctx *c, uint64_t id, const struct fsm_req *r);
int fsm__req_delete(struct fsm_ctx *c, uint64_t id);

/* The static part and the whole priority, in milli-points. */
int64_t fsm_req_static(const struct tp_qsettings *s, const struct fsm_req *r);
int64_t fsm_req_priority(const struct tp_qsettings *s,
                         const struct fsm_req *r,
                         int64_t now);

/* Queued-request indexes: add or remove @id (state must be QUEUED). */
int fsm__q_insert(struct fsm_ctx *c,
                  const struct tp_qsettings *s,
                  uint64_t id,
                  const struct fsm_req *r);
int fsm__q_remove(struct fsm_ctx *c,
                  const struct tp_qsettings *s,
                  uint64_t id,
                  const struct fsm_req *r);

/* Move requests whose wait term capped at @c->now to the capped index. */
int fsm__q_migrate(struct fsm_ctx *c, const struct tp_qsettings *s);

/* When the next growing request's wait term caps (INT64_MAX: none), so
 * that a TICK moves it then and reads of the order (QUEUE_POSITION) stay
 * right between leases. */
int64_t fsm__q_next_cap(struct fsm_ctx *c, const struct tp_qsettings *s);

/* Rebuild every priority index (after a change of settings). */
int fsm__q_reindex(struct fsm_ctx *c, const struct tp_qsettings *s);

/* Counters per queue tier. */
enum fsm_qcount {
    FSM_QC_QUEUED = 0,
    FSM_QC_RUNNING,
    FSM_QC_DONE,
    FSM_QC_FAILED,
    FSM_QC_CANCELLED,
    FSM_QC_TIMEOUTS,
    FSM_QC_DISPATCHED,
    FSM_QC_COUNT,
};
int fsm__q_count(struct fsm_ctx *c, uint64_t qtier, int which, int64_t delta);
int fsm__q_stats(struct fsm_ctx *c, uint64_t qtier, uint64_t out[FSM_QC_COUNT]);
/* Queued requests in all tiers but deferred. */
int fsm__q_waiting_nondeferred(struct fsm_ctx *c, uint64_t *n);

/* The state counter a request in @state counts in. */
int fsm_qcount_of_state(uint64_t state);

/* A client's fairness now (milli-points, 0..10 000), and recording one
 * dispatch for it. */
int fsm__fairness(struct fsm_ctx *c,
                  const struct tp_qsettings *s,
                  const char *client,
                  int64_t *fair_m);
int fsm__fair_dispatched(struct fsm_ctx *c,
                         const struct tp_qsettings *s,
                         const char *client);

/* Whether @now is inside the off-peak window. */
bool fsm_offpeak(const struct tp_qsettings *s, int64_t now);

/* Running requests by lease expiry, and finished ones by end time. */
int fsm__q_run_add(struct fsm_ctx *c, uint64_t id, int64_t lease_exp_ms);
int fsm__q_run_del(struct fsm_ctx *c, uint64_t id, int64_t lease_exp_ms);
int fsm__q_finish(struct fsm_ctx *c,
                  uint64_t id,
                  struct fsm_req *r,
                  uint64_t state,
                  const char *reason);

/* A running request's lease ran out: give its reservation back, count a
 * worker timeout, requeue it (or fail it when out of attempts). */
int fsm__q_expire_lease(struct fsm_ctx *c,
                        const struct tp_qsettings *s,
                        uint64_t id,
                        struct fsm_req *r);

/* Put a request back in its queue (or fail it when out of attempts or
 * past its deadline). *requeued says which. */
int fsm__q_requeue(struct fsm_ctx *c,
                   const struct tp_qsettings *s,
                   uint64_t id,
                   struct fsm_req *r,
                   const char *reason,
                   bool *requeued);

/* The reply form of a request. */
void fsm_req_info(const struct tp_qsettings *s,
                  uint64_t id,
                  const struct fsm_req *r,
                  int64_t now,
                  struct tp_req_info *out);

/* TICK: leases, deadlines, starvation and long-queue alerts, history. */
int fsm__q_tick(struct fsm_ctx *c);
int64_t fsm__q_next_deadline(struct fsm *f, MDB_txn *txn);

#endif
