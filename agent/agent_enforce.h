/* Enforcement: apply the allocation the ledger holds for one service to its
 * processes — nice level and CPU affinity on every thread, rlimits on every
 * process, cgroup v2 limits on the service's cgroup — and report, field by
 * field, what was applied, what failed and what this host cannot do.
 * Nothing that could not be applied is hidden: the report's one-line
 * summary is what the agent sends to the cluster.
 *
 * Applying is idempotent and cheap to repeat: each value is read first and
 * written only when it differs, so the agent re-applies every few seconds
 * to catch new processes and threads. Threads and processes that vanish
 * while being applied to are skipped, not failures.
 *
 * Stateless; any thread may call it, but a call blocks on /proc, syscalls
 * and cgroup writes (a lowered memory.max makes the kernel reclaim), so
 * the agent runs it off its event loop. */
#ifndef QM_AGENT_AGENT_ENFORCE_H
#define QM_AGENT_AGENT_ENFORCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent_alloc.h"
#include "agent_cgroup.h"
#include "qm_err.h"

/* The pseudo-field of the report for moving processes into the cgroup the
 * agent created: not requested, but reported when it fails. */
#define AGENT_ENFORCE_PROCS (1u << 8)
/* One item per field of AGENT_ALLOC_ALL, plus AGENT_ENFORCE_PROCS. */
#define AGENT_ENFORCE_ITEMS_MAX 9
#define AGENT_ENFORCE_MSG_MAX 160
/* Members of a cgroup read to skip processes already in it; beyond this
 * many, the others are simply written again (the kernel takes a move into
 * a process's own cgroup as a no-op). */
#define AGENT_ENFORCE_PIDS_MAX 4096

enum agent_item_state {
    AGENT_ITEM_APPLIED = 0, /* the value holds now */
    AGENT_ITEM_FAILED,      /* tried and refused: errno text in msg */
    AGENT_ITEM_UNAVAILABLE, /* this host cannot: the reason in msg */
};

struct agent_enforce_item
{
    uint32_t field; /* AGENT_ALLOC_* or AGENT_ENFORCE_PROCS */
    enum agent_item_state state;
    bool changed;                      /* something was written this time */
    char value[AGENT_ALLOC_VALUE_MAX]; /* requested, as text: "0-3" */
    char msg[AGENT_ENFORCE_MSG_MAX];   /* "" when APPLIED */
};

struct agent_enforce_report
{
    size_t count; /* items, in field-bit order */
    struct agent_enforce_item items[AGENT_ENFORCE_ITEMS_MAX];
    uint32_t pids_alive; /* processes found and applied to */
    uint32_t pids_gone;  /* processes listed that no longer exist */
    uint32_t threads;    /* threads given nice and affinity */
    char cgroup[AGENT_CGROUP_PATH_MAX]; /* the cgroup used; "" if none */
};

/* What to apply to. All pointers are borrowed for the call. */
struct agent_enforce_target
{
    const char *service; /* names the cgroup the agent creates */
    const pid_t *pids;   /* the service's processes (thread-group ids) */
    size_t npids;
    /* The service's own cgroup folder when it was matched by cgroup path,
     * else NULL. Its processes are its members already: none is moved. */
    const char *cgroup_dir;
    /* The cgroup v2 mount (agent_cgroup_find_mount), or NULL when the host
     * has none. Without @cgroup_dir, and when a cgroup field is requested,
     * the agent creates <root>/<slice>/<service> and moves the processes
     * in — only if the mount has a controller for a requested field. */
    const char *cgroup_root;
    const char *cgroup_slice; /* NULL means AGENT_CGROUP_SLICE */
};

/* Apply the requested fields of @a to @t and fill @r with one item per
 * requested field (and AGENT_ENFORCE_PROCS when processes were moved).
 * @r is written in full on every return. Returns QM_OK when the report is
 * complete, whatever each item's state; QM_INVALID (nothing applied,
 * reason in @errmsg) when @a fails agent_alloc_validate() without the CPU
 * existence check, or @t has no service name while a cgroup is needed. */
int agent_enforce_apply(const struct agent_alloc *a,
                        const struct agent_enforce_target *t,
                        struct agent_enforce_report *r,
                        char errmsg[QM_ERRMSG_SIZE]);

/* The report's item for @field, or NULL when it has none. */
const struct agent_enforce_item *agent_enforce_item(
    const struct agent_enforce_report *r,
    uint32_t field);

/* True when every item is APPLIED. */
bool agent_enforce_all_applied(const struct agent_enforce_report *r);

/* One line for the cluster, items separated by "; ":
 *   "nice=5 ok; cpus=0 ok; nofile failed: EPERM raising ...;
 *    memory.max unavailable: cgroup v2 controller 'memory' not available on
 *    /sys/fs/cgroup/unified"
 * Written to @buf (@size bytes, always NUL-terminated when @size > 0); a
 * line that does not fit ends in "...". Returns the length written. */
size_t agent_enforce_summary(const struct agent_enforce_report *r,
                             char *buf,
                             size_t size);

#endif
