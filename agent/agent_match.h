/* Which processes make up a watched service: match specs, a scan of the
 * process table, and the descendants of the matched processes.
 *
 * A spec is one of
 *   pid:PID          that process
 *   exe:NAME         every process whose executable is called NAME: the
 *                    basename of /proc/PID/exe (without " (deleted)"), or
 *                    its comm when exe cannot be read (kernel threads)
 *   pidfile:PATH     the process whose pid the file PATH holds
 *   cgroup:PATH      the processes listed in PATH/cgroup.procs; PATH is a
 *                    cgroup directory, absolute, or relative to the
 *                    cgroup2 mount (an absolute path that is not a cgroup
 *                    directory is tried under the cgroup2 mount too)
 * A service is the matched processes plus all their descendants, found
 * by parent pid in a scan of the whole process table.
 *
 * Not thread-safe: one thread (the agent's loop) owns these objects. */
#ifndef QM_AGENT_AGENT_MATCH_H
#define QM_AGENT_AGENT_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qm_err.h"

/* Longest NAME or PATH of a spec, with the NUL. */
#define AGENT_MATCH_ARG_MAX 256
/* Processes a scan holds. On a host with more, the rest are left out
 * (counted in agent_ptable.truncated) and cannot match. 16 bytes each. */
#define AGENT_SCAN_MAX 65536

enum agent_match_kind {
    AGENT_MATCH_PID = 1,
    AGENT_MATCH_EXE,
    AGENT_MATCH_PIDFILE,
    AGENT_MATCH_CGROUP,
};

/* A parsed spec. */
struct agent_match
{
    enum agent_match_kind kind;
    int32_t pid;                   /* AGENT_MATCH_PID */
    uint64_t exe_hash;             /* AGENT_MATCH_EXE: hash of arg */
    char arg[AGENT_MATCH_ARG_MAX]; /* the NAME or PATH */
};

/* Parse @spec into @m (written only on success). Returns QM_OK or
 * QM_INVALID with the reason in @errmsg: unknown kind, a pid that is not
 * a number in 1..2^31-1, an empty or overlong argument, an exe NAME with
 * a '/', a pidfile PATH that is not absolute, or a cgroup PATH with a
 * ".." component. */
int agent_match_parse(struct agent_match *m,
                      const char *spec,
                      char errmsg[QM_ERRMSG_SIZE]);

/* Hash of an executable name, as stored in a scan; never 0. */
uint64_t agent_match_name_hash(const char *name, size_t len);

/* One process of a scan. */
struct agent_pent
{
    int32_t pid;
    int32_t ppid;
    uint64_t exe_hash; /* 0 unless the scan wanted exe names */
};

/* A parent-child pair, for finding children by parent. */
struct agent_pedge
{
    int32_t ppid;
    int32_t pid;
};

/* The process table at one moment. Embedded; init/close. */
struct agent_ptable
{
    struct agent_pent *v;     /* owned; sorted by pid, unique */
    struct agent_pedge *kids; /* owned; the same, sorted by (ppid, pid) */
    size_t n;
    size_t cap;
    size_t truncated; /* processes left out at the last scan */
};

void agent_ptable_init(struct agent_ptable *t);
void agent_ptable_close(struct agent_ptable *t);

/* Replace @t with the processes under the proc root @rootfd (borrowed),
 * from each PID/stat (and PID/exe if @want_exe). Processes that vanish or
 * whose stat does not parse are left out. Returns QM_OK, QM_EIO (the root
 * cannot be listed; @t is then empty) or QM_ENOMEM (@t keeps what fit). */
int agent_ptable_scan(struct agent_ptable *t, int rootfd, bool want_exe);

/* Whether @pid was alive at the last scan. */
bool agent_ptable_has(const struct agent_ptable *t, int32_t pid);

/* Which processes of the scan @t spec @m matches now: sorted and unique
 * into @pids (room for @cap); *@n gets their number and *@truncated how
 * many more did not fit. Reads a pidfile or cgroup.procs (absolute, or
 * relative to @cgroup_root). A pidfile or cgroup that cannot be read, or a
 * pid not in @t, matches nothing: an ordinary outcome. Returns QM_OK. */
int agent_match_roots(const struct agent_match *m,
                      const struct agent_ptable *t,
                      const char *cgroup_root,
                      int32_t *pids,
                      size_t cap,
                      size_t *n,
                      size_t *truncated);

/* All descendants in @t of the processes @roots (sorted, unique), except
 * those that are roots themselves: into @out (room for @cap), in
 * breadth-first order. *@n gets their number and *@truncated how many more
 * were found but did not fit (their own descendants are then not
 * looked for). */
void agent_match_descendants(const struct agent_ptable *t,
                             const int32_t *roots,
                             size_t nroots,
                             int32_t *out,
                             size_t cap,
                             size_t *n,
                             size_t *truncated);

#endif
