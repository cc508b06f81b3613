/* TICK: the leader's heartbeat into the state machine. It carries no
 * arguments; its entry's time stamp advances cluster time, and it runs
 * everything that expires with time (design.md rule 2). */
#include "fsm_internal.h"

int fsm__tick(struct fsm_ctx *c, const union tp_args *a, struct fsm_res *res)
{
    (void)a;
    (void)res;
    return fsm__session_expire(c);
}
