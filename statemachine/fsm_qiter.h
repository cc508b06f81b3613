/* Walking the queued requests in dispatch order (fsm_queue.h): requests
 * starving past starve_ms first (deferred excepted), oldest first; then the
 * tiers immediate to batch, each merging its growing and capped indexes by
 * priority at the walk's time, ties by enqueue order; then the deferred
 * tier if asked. Each request is visited once. The walk reads the queue
 * indexes only: do not change them while it is open. Loop thread only. */
#ifndef QM_STATEMACHINE_FSM_QITER_H
#define QM_STATEMACHINE_FSM_QITER_H

#include <stdbool.h>
#include <stdint.h>

#include "fsm_queue.h"

struct fsm_qiter
{
    struct fsm_ctx *c;
    const struct tp_qsettings *s;
    bool deferred; /* visit the deferred tier at the end */
    int phase;     /* 0 starving, 1 tiers */
    uint64_t tier;
    MDB_cursor *enq;
    MDB_cursor *grow;
    MDB_cursor *cap;
    MDB_val ek; /* current entry of the enqueue-order walk */
    bool e_ok;
    MDB_val gk, ck; /* current entries of the tier's two indexes */
    bool g_ok, c_ok;
};

int fsm__qiter_open(struct fsm_qiter *it,
                    struct fsm_ctx *c,
                    const struct tp_qsettings *s,
                    bool deferred);

/* The next request: QM_OK with *id and *r set, QM_NOT_FOUND at the end, or
 * a local error. */
int fsm__qiter_next(struct fsm_qiter *it, uint64_t *id, struct fsm_req *r);

void fsm__qiter_close(struct fsm_qiter *it);

/* Whether @r (queued) is served in the starving phase at @now. */
bool fsm_req_starving(const struct tp_qsettings *s,
                      const struct fsm_req *r,
                      int64_t now);

#endif
