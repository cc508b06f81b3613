/* Running the agent's scaling commands (start or stop an instance of a
 * service).
 *
 * TRUST: every command string given to this module must come from the
 * agent's OWN configuration file, never from the network: a scaling action
 * received from the cluster names a command of the configuration, and the
 * caller looks the string up there. This module cannot check that; the
 * caller guarantees it.
 *
 * No shell runs: a command string is split into argv here
 * (agent_exec_split) and started with posix_spawnp(3), which searches PATH
 * for a program name without a '/'. The child gets the agent's environment,
 * stdin from /dev/null, all signals at their defaults, an empty signal mask
 * and no file descriptors beyond 0, 1 and 2.
 *
 * Two ways to run:
 * - agent_exec_start: a short command (e.g. "systemctl start svc@3"), in a
 *   process group of its own, stdout and stderr into a pipe. Non-blocking:
 *   the main loop calls agent_exec_poll() on each tick and whenever one of
 *   agent_exec_fds() is readable, until it returns the result. A timeout
 *   sends SIGTERM to the whole group, then SIGKILL after a grace period.
 * - agent_exec_spawn_detached: a command that is itself the long-running
 *   service instance, in a new session, output to /dev/null or a log file.
 *   It stays the agent's child: reap it with agent_exec_reap().
 *
 * Reaping: this module reaps only the pids it started, with waitpid(pid).
 * The agent must not reap with waitpid(-1), which would take their status.
 *
 * Threading: one struct agent_exec belongs to one thread (the loop). */
#ifndef QM_AGENT_AGENT_EXEC_H
#define QM_AGENT_AGENT_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "qm_err.h"

#define AGENT_EXEC_CMD_MAX 1024  /* bytes of a command string */
#define AGENT_EXEC_ARGC_MAX 64   /* words of a command */
#define AGENT_EXEC_TAIL_MAX 200  /* bytes of output kept: the last ones */
#define AGENT_EXEC_GRACE_MS 2000 /* default SIGTERM to SIGKILL */

/* ---- splitting ---- */

/* A command split into words. argv points into store: the struct must not
 * be copied, only filled in place. */
struct agent_argv
{
    int argc;
    char *argv[AGENT_EXEC_ARGC_MAX + 1]; /* NULL-terminated */
    char store[AGENT_EXEC_CMD_MAX + AGENT_EXEC_ARGC_MAX];
};

/* Split @cmd into words as a POSIX shell would split a simple command, but
 * without expanding anything. Blanks (space, tab, newline) separate words;
 * '...' quotes literally; "..." quotes, with \" \\ \$ \` as escapes;
 * outside quotes a backslash makes the next byte literal; '' or "" is an
 * empty word. Refused with QM_INVALID and the reason in @errmsg, because
 * a shell would read them differently: an empty command, unterminated
 * quotes, a trailing backslash, an unquoted | & ; < > ( ) $ ` * ? [ or a
 * leading ~ or #, a $ or ` inside double quotes, control bytes, a command
 * longer than AGENT_EXEC_CMD_MAX bytes or of more than AGENT_EXEC_ARGC_MAX
 * words. Fills *out on success (QM_OK). */
int agent_exec_split(const char *cmd,
                     struct agent_argv *out,
                     char errmsg[QM_ERRMSG_SIZE]);

/* ---- short commands ---- */

struct agent_exec; /* opaque */

struct agent_exec_opts
{
    int64_t timeout_ms; /* from start to SIGTERM; 0 = no timeout */
    int64_t grace_ms;   /* from SIGTERM to SIGKILL; 0 = AGENT_EXEC_GRACE_MS */
};

struct agent_exec_result
{
    int exit_code;       /* the exit status, or -1 when killed by a signal */
    int signal;          /* the signal that killed it, or 0 */
    bool timed_out;      /* the timeout fired (then signal says how it ended) */
    int64_t duration_ms; /* from start to the poll that saw it end */
    /* The last <= AGENT_EXEC_TAIL_MAX bytes of stdout and stderr, NUL-
     * terminated, made printable: \n \r \t become ' ', other bytes outside
     * 0x20..0x7e become '?'. */
    char output[AGENT_EXEC_TAIL_MAX + 1];
    uint64_t output_bytes; /* bytes of output in all */
};

/* Start @cmd (see agent_exec_split) at @now_ms on the caller's monotonic
 * clock, with @opts (NULL: no timeout). On success *out owns the new
 * object; free it with agent_exec_free(). Returns QM_OK, QM_INVALID
 * (malformed command), QM_NOT_FOUND (no such program), QM_ENOMEM or
 * QM_EIO, with the reason in @errmsg. */
int agent_exec_start(const char *cmd,
                     const struct agent_exec_opts *opts,
                     int64_t now_ms,
                     struct agent_exec **out,
                     char errmsg[QM_ERRMSG_SIZE]);

/* Advance @e at @now_ms: read what the command wrote, enforce the timeout,
 * and reap it once it has exited. Returns QM_EBUSY while it runs, or QM_OK
 * with *res filled (and again on every later call). When the timeout fired,
 * the rest of the process group is killed before the leader is reaped.
 * After a normal exit, processes the command left in its group are left
 * alone (a command may start a daemon that way). QM_INTERNAL when the
 * child was reaped by someone else. */
int agent_exec_poll(struct agent_exec *e,
                    int64_t now_ms,
                    struct agent_exec_result *res);

/* The descriptors the loop may wait on for @e (the output pipe until its
 * end, a pidfd that becomes readable when the child exits, where the
 * kernel has pidfd_open): up to 2 written to @fds, count returned. The
 * loop must still call agent_exec_poll on its tick, for the timeout. */
int agent_exec_fds(const struct agent_exec *e, int fds[2]);

/* The process id (and process group id) of the command. */
pid_t agent_exec_pid(const struct agent_exec *e);

/* The output so far, made printable as in the result, into @buf (@size
 * bytes). Returns its length. */
size_t agent_exec_tail(const struct agent_exec *e, char *buf, size_t size);

/* Kill what still runs of @e (SIGKILL to its whole group), reap its
 * leader (waiting for it: SIGKILL cannot be refused), close and free.
 * NULL is ignored. */
void agent_exec_free(struct agent_exec *e);

/* ---- long-running instances ---- */

/* Start @cmd as a new session (setsid) with stdin from /dev/null and
 * stdout and stderr appended to @log_path (created 0640 if missing) or
 * /dev/null when @log_path is NULL. On success *pid gets the pid of the
 * running program. Same errors as agent_exec_start; a log file that
 * cannot be opened is QM_EIO. */
int agent_exec_spawn_detached(const char *cmd,
                              const char *log_path,
                              pid_t *pid,
                              char errmsg[QM_ERRMSG_SIZE]);

/* Reap a detached instance if it has ended, without waiting. Returns
 * QM_EBUSY while it runs; QM_OK when it was reaped, with *exit_code (-1
 * when killed) and *signal (0 when it exited); QM_NOT_FOUND when @pid is
 * not a child of this process (already reaped). */
int agent_exec_reap(pid_t pid, int *exit_code, int *signal);

#endif
