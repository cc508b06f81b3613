/* Processes a cluster test starts besides qmd (qm-agent, test programs):
 * each dies with the test (PR_SET_PDEATHSIG), is tracked by PID and is
 * killed and reaped at exit, also when a check fails. */
#ifndef QM_TESTS_INTEGRATION_H_PROC_H
#define QM_TESTS_INTEGRATION_H_PROC_H

#include <stdbool.h>
#include <sys/types.h>

/* Start @argv (NULL-terminated; argv[0] a path) with stdout and stderr
 * appended to @log. With @ready, pass "--ready-fd 3" semantics: the child
 * gets a pipe as fd 3 and the call waits (up to 10 s) for its first byte.
 * Fails the test when the program cannot start. */
pid_t h_spawn(const char *const *argv, const char *log, bool ready);

/* Send @sig (if it still runs), reap, forget. Returns the exit status, or
 * 128 + the signal that ended it. */
int h_proc_stop(pid_t pid, int sig);

/* Whether @pid runs (a zombie counts as ended). */
bool h_proc_alive(pid_t pid);

/* Open file descriptors of @pid (entries of /proc/PID/fd), -1 if gone. */
int h_proc_fds(pid_t pid);

/* A path of a build program: $QM_BIN_DIR/NAME or $QM_PROGS_DIR/NAME. */
const char *h_bin(const char *name);
const char *h_prog(const char *name);

#endif
