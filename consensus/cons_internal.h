/* Consensus internals shared by the files of consensus/ and its tests. */
#ifndef QM_CONSENSUS_CONS_INTERNAL_H
#define QM_CONSENSUS_CONS_INTERNAL_H

#include <raft.h>
#include <raft/uv.h>

#include "cons.h"
#include "cons_budget.h"
#include "cons_fsm.h"

/* The byte budget of raft's in-memory log (cons_budget.h): a snapshot
 * after this many bytes of entries, and at most this many bytes of entries
 * kept before it for followers that lag, so the log holds ~8 MiB at most.
 * For small entries (one command, ~300 bytes) the entry counts still come
 * first; acquire batches at 256 in flight (1.75 KiB) held 43 MiB without
 * it. The rest of a node's 64 MiB goes to the state: the bench's LMDB map
 * is ~28 MiB resident and its snapshot buffer ~17 MiB while one is taken. */
#define CONS_LOG_PERIOD_BYTES ((uint64_t)4 << 20)
#define CONS_LOG_TRAILING_BYTES ((uint64_t)4 << 20)

/* The state machine commits to LMDB at most this often (group_commit). */
#define CONS_COMMIT_MS 10

struct cons_waiter
{
    cons_result_fn cb;
    void *arg;
};

/* Reads waiting for one shared barrier. */
struct cons_reader
{
    cons_done_fn cb;
    void *arg;
    struct cons_reader *next;
};

/* A membership change in progress, advanced one raft call at a time from
 * the check handle (raft calls are never made inside raft callbacks). */
enum cons_chg_step {
    CHG_IDLE = 0,
    CHG_RECORD,   /* propose MEMBER_SET, then add */
    CHG_ADD,      /* raft_add, then assign */
    CHG_ASSIGN,   /* raft_assign(VOTER) */
    CHG_REMOVE,   /* raft_remove, then forget the record */
    CHG_FORGET,   /* propose MEMBER_DEL */
    CHG_TRANSFER, /* raft_transfer */
    CHG_WAIT,     /* a raft or propose call is in flight */
};

#define CONS_PLAN_MAX 4

struct cons_change
{
    int step;
    int plan[CONS_PLAN_MAX]; /* the steps of this change, in order */
    int plan_len;
    int plan_pos; /* next step of the plan to run */
    bool self_removal;
    struct tp_member member;
    cons_done_fn cb;
    void *arg;
    struct raft_change req;
    struct raft_transfer transfer;
};

struct cons
{
    uv_loop_t *loop;
    struct raft_uv_transport tcp;
    struct raft_io io;
    struct raft_fsm rfsm;
    struct cons_fsm glue;
    struct cons_budget budget;
    struct raft raft;
    struct fsm *fsm;
    uint64_t id;
    char raft_addr[QM_ADDR_MAX + 1];
    char api_url[QM_URL_MAX + 1];
    bool bootstrap;
    bool raft_inited;
    bool closing;
    unsigned tick_ms;
    unsigned election_ms;

    /* Apply pipeline: the batch being built in this loop iteration. */
    struct qm_buf batch;
    uint32_t nbatch;
    unsigned inflight; /* entries proposed and not yet applied */
    struct cons_waiter waiters[QM_BATCH_MAX];

    /* Reads waiting for the next barrier. */
    struct cons_reader *readers;
    struct cons_reader **readers_tail;

    /* Leadership and housekeeping. */
    int last_state;
    bool tick_inflight;
    bool record_inflight;
    uv_check_t check; /* end of every loop iteration: flush, group commit */
    uv_idle_t idle;   /* active while work waits for the check handle */
    uv_timer_t timer; /* housekeeping every tick_ms; deferred close */
    uv_timer_t commit_timer; /* the group commit put off (group_commit) */
    uint64_t committed_ms;   /* loop time of the last commit */
    int open_handles;

    struct cons_change chg;

    /* Graceful close. */
    struct raft_transfer close_transfer;
    void (*close_cb)(void *arg);
    void *close_arg;
};

/* cons_propose.c */
void cons__pipeline_init(struct cons *c);
void cons__pipeline_close(struct cons *c);
void cons__flush(struct cons *c);
void cons__fail_pending(struct cons *c, int status);
/* Propose an internal command built here (TICK, MEMBER_SET, MEMBER_DEL). */
void cons__propose_internal(struct cons *c,
                            uint32_t op,
                            const struct qm_schema *schema,
                            const void *args,
                            cons_result_fn cb,
                            void *arg);
void cons__housekeeping(struct cons *c);

/* cons_member.c */
void cons__change_step(struct cons *c);
void cons__change_abort(struct cons *c, int status, const char *message);

/* cons_node.c */
/* Make sure the check handle runs soon (proposals made outside the poll
 * phase would otherwise wait for the next I/O event). */
void cons__kick(struct cons *c);
int cons__err_from_raft(int rv);
const struct raft_server *cons__server(struct cons *c, uint64_t id);
int64_t cons__wall_ms(void);

#endif
