/* The host as a whole: CPUs, CPU busy share, load, memory, swap, disks,
 * network and process count, read from a proc root (/proc/stat,
 * /proc/loadavg, /proc/meminfo, /proc/net/dev, the process folders) and
 * statvfs(3) of mount paths.
 *
 * Rates (CPU busy, network bytes per second) are deltas against the
 * previous sample, so an agent_host keeps the last counters. Not
 * thread-safe: one thread (the agent's loop) owns an agent_host. */
#ifndef QM_AGENT_AGENT_HOST_H
#define QM_AGENT_AGENT_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qm_err.h"

/* Mount paths sampled, and the longest path with its NUL. */
#define AGENT_DISKS_MAX 16
#define AGENT_DISK_PATH_MAX 128

/* One mount path. The byte counts are -1 when statvfs fails. */
struct agent_disk_sample
{
    char path[AGENT_DISK_PATH_MAX];
    int64_t total_bytes;
    int64_t used_bytes;  /* total - free */
    int64_t avail_bytes; /* free to unprivileged users */
};

/* The host at one moment. A field whose source cannot be read is -1. */
struct agent_host_sample
{
    int32_t ncpu;        /* "cpuN" lines of /proc/stat */
    int32_t cpu_busy_pm; /* all CPUs, per mille of their time since the
                          * previous sample (not idle, not iowait); -1
                          * on the first sample */
    int32_t load1_milli; /* 1-minute load average x 1000 */
    int64_t mem_total_bytes;
    int64_t mem_avail_bytes; /* MemAvailable */
    int64_t swap_total_bytes;
    int64_t swap_free_bytes;
    int64_t net_rx_bytes; /* totals since boot over every interface but lo */
    int64_t net_tx_bytes;
    int64_t net_rx_bps; /* bytes per second since the previous sample; -1
                         * on the first; 0 if the counters went back */
    int64_t net_tx_bps;
    int32_t nprocs; /* processes (pid folders of the proc root) */
    uint32_t ndisks;
    struct agent_disk_sample disks[AGENT_DISKS_MAX];
};

/* Sampler state. Embedded; init/close. */
struct agent_host
{
    int rootfd; /* borrowed: the proc root */
    uint32_t ndisks;
    char disks[AGENT_DISKS_MAX][AGENT_DISK_PATH_MAX];
    bool have_cpu; /* prev_cpu_* hold a reading */
    uint64_t prev_cpu_total;
    uint64_t prev_cpu_idle;
    bool have_net; /* prev_rx, prev_tx and net_ms hold a reading */
    int64_t net_ms;
    int64_t prev_rx;
    int64_t prev_tx;
};

/* Set up @h over the proc root @rootfd (borrowed for @h's lifetime) and the
 * mount paths @disks (copied; @ndisks 0 means "/"). Returns QM_OK or
 * QM_INVALID with @errmsg: more than AGENT_DISKS_MAX paths, or one empty,
 * not absolute, or too long. */
int agent_host_init(struct agent_host *h,
                    int rootfd,
                    const char *const *disks,
                    size_t ndisks,
                    char errmsg[QM_ERRMSG_SIZE]);

void agent_host_close(struct agent_host *h);

/* Fill @out (fully overwritten) at time @now_ms (any monotonic clock in
 * milliseconds; the rates use it). A source that cannot be read leaves its
 * fields -1. Returns QM_OK. */
int agent_host_sample(struct agent_host *h,
                      int64_t now_ms,
                      struct agent_host_sample *out);

#endif
