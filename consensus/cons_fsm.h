/* The raft_fsm callbacks over the LMDB state machine, as an object of its
 * own so that raft's deterministic test fixture can drive it as well as
 * raft_uv: apply at the right raft index, asynchronous snapshots (fsm
 * version 3: capture on the loop, serialise on the thread pool, release on
 * the loop) and restore. Runs on the raft instance's thread, except
 * snapshot_async (thread pool). */
#ifndef QM_CONSENSUS_CONS_FSM_H
#define QM_CONSENSUS_CONS_FSM_H

#include <stdbool.h>

#include <raft.h>

#include "cons_budget.h"
#include "fsm.h"

struct cons_fsm
{
    struct raft *raft;           /* whose last_applied gives the index */
    struct fsm *fsm;             /* borrowed */
    struct fsm_results results;  /* of the entry applied last */
    struct fsm_snap *snap;       /* view being serialised, if any */
    struct raft_buffer snap_buf; /* handed to raft while it writes */
    struct cons_budget *budget;  /* borrowed; NULL: raft's entry counts */
};

/* Fill @rf so that raft calls into @g. With @async (raft_uv) snapshots are
 * serialised on the thread pool (version 3); without (raft's test fixture,
 * whose I/O is version 1) in the snapshot() call itself (version 2). */
void cons_fsm_init(struct raft_fsm *rf, struct cons_fsm *g, bool async);

#endif
