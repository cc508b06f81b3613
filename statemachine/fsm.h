/* The replicated state machine: deterministic rules over an LMDB database.
 *
 * A raft log entry holds a batch of commands and the leader's time stamp
 * (fsm_entry_encode). fsm_apply() runs the batch in the state machine's
 * group write transaction, stores the applied raft index in the same
 * transaction and answers each command with an encoded result
 * (tp_result_schema). fsm_flush() commits the group transaction; until then
 * the changes are visible to this module's reads but not durable in LMDB,
 * which is safe because the raft log is the truth and replays after a crash
 * (design.md rule 4).
 *
 * Rules the module keeps (design.md): no clock, no randomness, no floating
 * point, no iteration in memory order. Cluster time is the maximum of the
 * time stamps seen. Every write command carries (session, sequence); a
 * retry gets the stored result instead of a second application.
 *
 * Threading: one thread (the node's libuv loop) owns a struct fsm and calls
 * everything here, except fsm_snapshot_write(), which may run on another
 * thread while the loop goes on applying (see below). */
#ifndef QM_STATEMACHINE_FSM_H
#define QM_STATEMACHINE_FSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qm_mp.h"
#include "tp_msg.h"

struct fsm;

enum fsm_sync {
    FSM_SYNC_FULL = 0, /* every group commit is fsync'd (LMDB default) */
    FSM_SYNC_NONE,     /* no fsync; mdb_env_sync before every snapshot */
};

struct fsm_config
{
    const char *dir;        /* LMDB environment folder; created if missing */
    size_t map_size;        /* bytes; 0 = 4 GiB */
    int sync;               /* enum fsm_sync */
    int64_t session_ttl_ms; /* 0 = QM_SESSION_TTL_MS */
    uint32_t max_sessions;  /* 0 = QM_SESSIONS_MAX */
    uint32_t finished_max;  /* 0 = QM_FINISHED_MAX */
};

/* Open (creating if needed) the database in cfg->dir. On success *out is a
 * new state machine the caller frees with fsm_close(). Errors: QM_EIO,
 * QM_ECORRUPT, QM_ENOMEM, with a reason in @err. */
int fsm_open(struct fsm **out,
             const struct fsm_config *cfg,
             char err[QM_ERRMSG_SIZE]);

/* Commit pending changes and close. Any snapshot view must be ended. */
void fsm_close(struct fsm *f);

/* Erase every record (used when raft's own data was wiped: the state then
 * comes back from the cluster). */
int fsm_wipe(struct fsm *f);

/* ---- applying ---- */

/* Encode a raft log entry: @n encoded commands (tp_cmd_schema maps) stamped
 * with the leader's wall-clock time. QM_INVALID if n > QM_BATCH_MAX. An
 * entry may be followed by up to 7 zero bytes of padding (libraft 0.15's
 * TCP transport needs payloads padded to 8 bytes); fsm_apply ignores them,
 * and so does fsm_restore for snapshots. */
int fsm_entry_encode(struct qm_buf *b,
                     int64_t time_ms,
                     const struct qm_span *cmds,
                     uint32_t n);

/* Just the header of an entry of @n commands; the caller appends the @n
 * encoded commands right after it. */
int fsm_entry_header(struct qm_buf *b, int64_t time_ms, uint32_t n);

struct fsm_results
{
    uint32_t n;                  /* one per command of the entry */
    const struct qm_span *items; /* encoded tp_result maps */
};

/* Apply the entry at raft index @index. An index at or below the applied
 * index is skipped (n = 0). A malformed entry or command never fails the
 * call: the command's result says INVALID. @out is borrowed and valid until
 * the next call into the module. Returns QM_OK, or QM_EIO when LMDB fails
 * (or memory runs out), after which the process must stop: the group
 * transaction is rolled back, fsm_applied_index() is again that of the last
 * commit, and the log replays from there on restart. */
int fsm_apply(struct fsm *f,
              uint64_t index,
              const void *entry,
              size_t len,
              struct fsm_results *out);

/* Commit the group write transaction, if one is open. QM_EIO on failure. */
int fsm_flush(struct fsm *f);

/* Whether a group write transaction is open (applied, not committed). */
bool fsm_pending(const struct fsm *f);

uint64_t fsm_applied_index(struct fsm *f);
int64_t fsm_clock(struct fsm *f);

/* Earliest cluster time at which a TICK command would expire something, or
 * INT64_MAX when nothing can expire. */
int64_t fsm_next_deadline(struct fsm *f);

/* ---- reads ---- */

/* Answer a TP_CLASS_READ operation from the current state into @b as an
 * encoded result. Token counts are shown as of max(cluster time, @now_ms).
 * QM_OK, or a local error (QM_ENOMEM, QM_EIO) when nothing was written. */
int fsm_query(struct fsm *f,
              const struct tp_decoded *req,
              int64_t now_ms,
              struct qm_buf *b);

/* The member record for raft id @id: QM_OK, QM_NOT_FOUND or QM_EIO. */
int fsm_member_get(struct fsm *f, uint64_t id, struct tp_member *out);

/* The allocation version of host @id (raised by each ALLOC_SET of it):
 * QM_OK, QM_NOT_FOUND (not registered), QM_ECORRUPT, QM_EIO, QM_ENOMEM. */
int fsm_host_alloc_version(struct fsm *f, const char *id, uint64_t *version);

/* ---- digest ---- */

/* A 128-bit hash of the whole replicated state (everything but the applied
 * index, which is returned beside it), as 32 hex digits. Two replicas at
 * the same applied index have the same digest. */
int fsm_digest(struct fsm *f, char hex[33], uint64_t *applied_index);

/* ---- snapshots ---- */

struct fsm_snap;

/* Loop thread: commit the group transaction and open a read-only view of
 * the state exactly at the applied index. */
int fsm_snapshot_begin(struct fsm *f, struct fsm_snap **out);

/* Any thread, one at a time per view: serialise the view into a new buffer
 * (qm_malloc'd, the caller frees it with qm_free). */
int fsm_snapshot_write(struct fsm_snap *s, void **buf, size_t *len);

/* Loop thread: release the view. */
void fsm_snapshot_end(struct fsm_snap *s);

/* Replace the whole state with a snapshot, in one transaction, if the
 * snapshot is newer than the applied index; otherwise keep the database
 * (it may be ahead of the snapshot). The buffer stays the caller's.
 * QM_ECORRUPT for a malformed snapshot (nothing changed), QM_EIO. */
int fsm_restore(struct fsm *f, const void *buf, size_t len);

/* Applied index recorded in a snapshot, or 0 if it is malformed. */
uint64_t fsm_snapshot_index(const void *buf, size_t len);

#endif
