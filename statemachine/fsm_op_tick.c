/* TICK: the leader's heartbeat into the state machine. It carries no
 * arguments; its entry's time stamp advances cluster time, and it runs
 * everything that expires with time (design.md rule 2): idle sessions,
 * reservations and agent credits whose lease ended, and the queues
 * (fsm_queue_tick.c). */
#include "fsm_internal.h"
#include "fsm_queue.h"
#include "qm_err.h"

int fsm__tick(struct fsm_ctx *c, const union tp_args *a, struct fsm_res *res)
{
    (void)a;
    (void)res;
    int rv = fsm__session_expire(c);
    if (rv == QM_OK) {
        rv = fsm__res_expire(c);
    }
    if (rv == QM_OK) {
        rv = fsm__credit_expire(c);
    }
    return rv == QM_OK ? fsm__q_tick(c) : rv;
}
