/* Consensus: canonical raft (libraft 0.15, raft_uv + raft_uv_tcp) around
 * the state machine. It owns the raft instance and everything that talks
 * to it: start-up (bootstrap or join as an empty follower), the apply
 * pipeline (commands batched into one log entry per loop iteration),
 * linearizable reads (one barrier per iteration, shared by all reads),
 * snapshots (asynchronous, off the loop), membership changes, leadership
 * transfer, and the leader's periodic TICK.
 *
 * Threading: everything here runs on the node's libuv loop thread, and
 * every callback is invoked there. Never call cons_close() from inside one
 * of this module's callbacks' raft context: it is safe from any other loop
 * callback (signal, timer, async), which is where the node calls it. */
#ifndef QM_CONSENSUS_CONS_H
#define QM_CONSENSUS_CONS_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "fsm.h"
#include "qm_codec.h"
#include "tp_msg.h"

struct cons;

struct cons_config
{
    uint64_t id;
    const char *raft_addr; /* a.b.c.d:port, also the raft listen address */
    const char *api_url;   /* this node's client API, recorded in state */
    const char *dir;       /* raft's folder; must exist */
    bool bootstrap;        /* first start of a new single-node cluster */
    unsigned election_ms;  /* 0 = 250 */
    unsigned heartbeat_ms; /* 0 = 50 */
    unsigned snapshot_threshold;  /* 0 = 16384 entries, at most */
    unsigned snapshot_trailing;   /* 0 = 8192, at most (cons_budget.h) */
    unsigned install_snapshot_ms; /* 0 = 5000: resend a snapshot after */
    unsigned tick_ms;             /* 0 = 1000: TICK and own-record checks */
    struct fsm *fsm;              /* borrowed; must outlive the cons */
    uv_loop_t *loop;
};

/* Set raft up and open its folder (no I/O on the network yet). On success
 * the caller owns *out and must cons_close() it, also if cons_start()
 * fails. QM_ECONFIG, QM_EIO, QM_ENOMEM with a reason in @err. */
int cons_init(struct cons **out,
              const struct cons_config *cfg,
              char err[QM_ERRMSG_SIZE]);

/* Bootstrap if asked, load snapshot and log (replaying it into the state
 * machine), and start taking part in the cluster. */
int cons_start(struct cons *c, char err[QM_ERRMSG_SIZE]);

/* Leave gracefully: hand leadership to another voter if this node leads,
 * close raft, then call @cb and free @c. Requests still waiting get
 * QM_UNAVAILABLE (their outcome is unknown). */
void cons_close(struct cons *c, void (*cb)(void *arg), void *arg);

/* ---- the request paths ---- */

/* Outcome of a command: QM_OK with the state machine's encoded result
 * (borrowed for the call); QM_NOT_LEADER (nothing was proposed); or
 * QM_UNAVAILABLE (leadership was lost or the node is closing: the command
 * may or may not have been applied; a retry with the same session and
 * sequence is answered exactly once). */
typedef void (*cons_result_fn)(void *arg, int status, struct qm_span result);

/* Propose one encoded command (a tp_cmd map; copied). It joins the batch
 * that is sent to raft at the end of this loop iteration. */
void cons_propose(struct cons *c,
                  struct qm_span cmd,
                  cons_result_fn cb,
                  void *arg);

/* A linearizable read point: @cb(QM_OK) once every command committed
 * before this call is applied, so the state machine can be read;
 * QM_NOT_LEADER or QM_UNAVAILABLE otherwise. */
typedef void (*cons_done_fn)(void *arg, int status, const char *message);
void cons_barrier(struct cons *c, cons_done_fn cb, void *arg);

/* Membership, on the leader; one change at a time. @cb gets QM_OK or a
 * status with a message (QM_NOT_LEADER, QM_UNAVAILABLE when another change
 * runs, QM_INVALID, QM_EXISTS, QM_NOT_FOUND, QM_INTERNAL). Adding waits
 * until the new member has caught up and votes. Removing the leader itself
 * first moves leadership and answers QM_NOT_LEADER, so a client retries on
 * the new leader. */
void cons_member_add(struct cons *c,
                     const struct tp_member *m,
                     cons_done_fn cb,
                     void *arg);
void cons_member_remove(struct cons *c,
                        uint64_t id,
                        cons_done_fn cb,
                        void *arg);
void cons_member_transfer(struct cons *c,
                          uint64_t id,
                          cons_done_fn cb,
                          void *arg);

/* ---- state ---- */

bool cons_is_leader(struct cons *c);

/* Whether this node is a voter in its current configuration. */
bool cons_is_voter(struct cons *c);

/* The leader's API URL as recorded in the state machine ("" if unknown). */
void cons_leader_url(struct cons *c, char url[QM_URL_MAX + 1]);

/* Raft's view of this node and its configuration, with API URLs. */
void cons_info(struct cons *c, struct tp_node_info *out);

#endif
