/* The collector: what the agent's main loop calls once per interval to
 * sample the host and every watched service from Linux directly.
 *
 * A service is a name and a match spec (agent_match.h); its processes are
 * the matched ones plus all their descendants. Finding them means a scan
 * of the whole process table, so it runs only every rescan interval, or on
 * the sample after a watched process disappeared or its pid was reused.
 * Between scans only the known processes are read: PID/stat, the fd count
 * (one stat(2) of PID/fd) and prlimit(2). Sockets and their TCP states
 * take a walk of PID/fd with a readlink per fd, the costly part, so a
 * process's fds are walked only when its fd count changed or its last walk
 * is older than the socket refresh interval (default: the rescan
 * interval); in between its last counts are reported. The TCP tables are
 * read at most once per sample per network namespace, and only when a
 * walk meets a socket.
 *
 * Bounds: AGENT_SERVICES_MAX services; AGENT_PROCS_MAX distinct processes
 * tracked over all services. Processes beyond that are left out at the
 * scan and counted in agent_service_sample.truncated; they are never
 * sampled, and nothing overflows. A process watched by two services is
 * read once and listed under each, so the procs[] of one sample may fill
 * up before the tracked processes are all listed: the ones left out are
 * counted in agent_sample.procs_truncated (the services' aggregates still
 * include them).
 *
 * Not thread-safe: one thread (the agent's loop) owns a collector and the
 * samples it fills. */
#ifndef QM_AGENT_AGENT_COLLECT_H
#define QM_AGENT_AGENT_COLLECT_H

#include <stddef.h>
#include <stdint.h>

#include "agent_host.h"
#include "agent_proc.h"
#include "agent_sock.h"
#include "qm_err.h"

#define AGENT_SERVICES_MAX 64
#define AGENT_PROCS_MAX 1024
/* Longest service name, with the NUL; names are [A-Za-z0-9_.-]. */
#define AGENT_SERVICE_NAME_MAX 64
#define AGENT_RESCAN_MS_DEFAULT 5000
/* Longest proc or cgroup root, with the NUL. */
#define AGENT_ROOT_MAX 256

/* A watched service as configured. Both strings are borrowed for the call
 * to agent_collect_new() only. */
struct agent_service_spec
{
    const char *name;
    const char *match; /* "pid:PID", "exe:NAME", "pidfile:PATH" or
                        * "cgroup:PATH" */
};

/* Options; zero values mean the defaults. */
struct agent_collect_opts
{
    const char *proc_root;   /* NULL: "/proc" (tests point it at a fake
                              * tree; limits then come from PID/limits) */
    const char *cgroup_root; /* NULL: the cgroup2 mount found in
                              * PROC_ROOT/self/mountinfo, else
                              * "/sys/fs/cgroup" */
    int64_t rescan_ms;       /* <= 0: AGENT_RESCAN_MS_DEFAULT */
    int64_t sock_refresh_ms; /* <= 0: rescan_ms; 1: walk fds every sample */
    const char *const *disk_paths; /* mount paths for statvfs; borrowed */
    size_t ndisk_paths;            /* 0: just "/" */
};

/* One service at one moment. Sums skip processes whose value could not be
 * read (-1). */
struct agent_service_sample
{
    char name[AGENT_SERVICE_NAME_MAX];
    int32_t nprocs;    /* processes sampled: matched and descendants */
    int32_t nchildren; /* of which descendants of the matched ones */
    int32_t cpu_pm;    /* sum, per mille of one core; -1 if no process
                        * had a previous sample */
    int64_t rss_bytes;
    int64_t fds;
    int64_t fd_limit; /* smallest soft RLIMIT_NOFILE; -1 if none known */
    int64_t threads;
    int64_t sockets;
    uint32_t tcp[AGENT_TCP_STATES]; /* by kernel state, [1] .. [11] */
    int32_t truncated;   /* its processes left untracked (AGENT_PROCS_MAX) */
    uint32_t proc_first; /* its processes in agent_sample.procs[] */
    uint32_t proc_count;
};

/* One sample. Large (about 200 KiB): allocate it once and reuse it. */
struct agent_sample
{
    int64_t now_ms;
    struct agent_host_sample host;
    uint32_t nservices; /* as configured, in configuration order */
    struct agent_service_sample services[AGENT_SERVICES_MAX];
    uint32_t nprocs;
    struct agent_proc_sample procs[AGENT_PROCS_MAX];
    int32_t procs_truncated; /* listings left out of procs[] */
};

struct agent_collect;

/* Create a collector for the @nsvcs services @svcs with @opts (NULL for
 * defaults). On success *@out owns a new collector (agent_collect_free).
 * Returns QM_OK, QM_INVALID with @errmsg (a bad name or spec, a duplicate
 * name, too many services or disk paths), QM_EIO with @errmsg (the proc
 * root cannot be opened) or QM_ENOMEM. */
int agent_collect_new(struct agent_collect **out,
                      const struct agent_service_spec *svcs,
                      size_t nsvcs,
                      const struct agent_collect_opts *opts,
                      char errmsg[QM_ERRMSG_SIZE]);

/* Sample the host and every service at @now_ms (a monotonic clock in
 * milliseconds; rates and CPU shares are computed against it) into @out,
 * fully overwritten. Processes that vanish or cannot be parsed are left
 * out of this sample. Returns QM_OK, or QM_ENOMEM when the process-table
 * scan could not grow (the sample is still filled from what was found). */
int agent_collect_sample(struct agent_collect *c,
                         int64_t now_ms,
                         struct agent_sample *out);

/* Free @c; NULL is fine. */
void agent_collect_free(struct agent_collect *c);

#endif
