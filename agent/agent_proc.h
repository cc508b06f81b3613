/* Sampling one process from /proc and syscalls, with open/read into
 * caller or stack buffers (the readers of agent_fs.h).
 *
 * A process read here may vanish at any moment; that is an ordinary
 * outcome (QM_NOT_FOUND), as is a malformed file (QM_ECORRUPT). Not
 * thread-safe per object: one thread (the agent's loop) owns an env and the
 * samples it fills. */
#ifndef QM_AGENT_AGENT_PROC_H
#define QM_AGENT_AGENT_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent_sock.h"

/* A process name as /proc/PID/stat shows it (kernel threads up to 63
 * characters), with the NUL. Longer names are cut. */
#define AGENT_COMM_MAX 64

/* One process at one moment. Every count is -1 when it could not be read
 * (e.g. no permission); tcp[] counts only sockets found in the TCP tables
 * of the process's network namespace. */
struct agent_proc_sample
{
    int32_t pid;
    int32_t ppid;
    uint64_t start_ticks; /* start time, clock ticks after boot */
    uint64_t cpu_ticks;   /* utime + stime, clock ticks (_SC_CLK_TCK) */
    char comm[AGENT_COMM_MAX];
    int32_t cpu_pm; /* per mille of one core since the previous
                     * sample; -1 on the first (set by the collector) */
    int64_t rss_bytes;
    int32_t fds;      /* open fds */
    int64_t fd_limit; /* soft RLIMIT_NOFILE; INT64_MAX if unlimited */
    int32_t threads;
    int64_t thread_limit; /* soft RLIMIT_NPROC if finite, else threads-max */
    int32_t sockets;      /* fds that are sockets of any kind */
    uint32_t tcp[AGENT_TCP_STATES]; /* TCP sockets by kernel state */
    uint16_t service; /* index of its service (set by the collector) */
    bool child;       /* a descendant, not a matched process (set by
                       * the collector) */
};

/* Where and how processes are read. Embedded; open/close. */
struct agent_proc_env
{
    int rootfd;          /* owned: the proc root directory */
    bool live;           /* the root is this kernel's /proc: limits come
                          * from prlimit(2); else from PID/limits */
    int64_t threads_max; /* ROOT/sys/kernel/threads-max; -1 unknown */
    int64_t page_size;
};

/* Open the proc root @root ("/proc", or a fake tree for tests) and read
 * threads-max. Returns QM_OK or QM_EIO (root cannot be opened). */
int agent_proc_env_open(struct agent_proc_env *env, const char *root);

/* Read threads-max again (it may be changed by sysctl). */
void agent_proc_env_refresh(struct agent_proc_env *env);

void agent_proc_env_close(struct agent_proc_env *env);

/* Sample process @pid into @out (fully overwritten on QM_OK): its stat
 * line, fd count and limits. Sockets are not looked at (sockets is -1,
 * tcp[] zero; see agent_proc_sockets); cpu_pm, service and child are left
 * -1/0/false for the caller. The fd count is one stat(2) of PID/fd on the
 * live /proc of Linux 6.2 on, else a listing. Returns QM_OK, QM_NOT_FOUND
 * (the process is gone, or vanished while being read) or QM_ECORRUPT (its
 * stat line does not parse); @out is then undefined. */
int agent_proc_sample(const struct agent_proc_env *env,
                      int32_t pid,
                      struct agent_proc_sample *out);

/* Walk the fds of @pid (a listing of PID/fd and a readlink of each): set
 * @out's fds, sockets and tcp[], matching socket inodes against @socks's
 * table of the process's network namespace. This is the costly part of a
 * sample (about 2 us per fd). Returns QM_OK (fds and sockets -1 if PID/fd
 * may not be read) or QM_NOT_FOUND (the process is gone). */
int agent_proc_sockets(const struct agent_proc_env *env,
                       int32_t pid,
                       struct agent_sock_ns *socks,
                       struct agent_proc_sample *out);

/* Parse the text of /proc/PID/stat (@len bytes, NUL-terminated) into
 * @out's pid, ppid, comm, cpu_ticks, threads, start_ticks and rss_bytes
 * (with @page_size). The name may hold spaces and parentheses; it ends at
 * the last ')'. Returns QM_OK or QM_ECORRUPT (nothing written then). */
int agent_proc_parse_stat(const char *text,
                          size_t len,
                          int64_t page_size,
                          struct agent_proc_sample *out);

#endif
