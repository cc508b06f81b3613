#include "harness_cmd.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUN_DEADLINE_MS 60000
#define ARGS_MAX 48
#define ENV_MAX 256

extern char **environ;

/* LeakSanitizer's suppressions for qmctl: those of tests/lsan.supp, and
 * the nng objects of a dial still completing when qmctl closes its
 * sockets and exits (nng 1.5.2 leaks the pipe it creates for a socket
 * being closed; every allocation is inside libnng, on its threads or
 * under nng_dial). Any qmctl leak of our own code still fails. */
static const char qmctl_supp[] =
    "leak:tp_xchg_start\n"
    "leak:libnng.so\n";

/* The environment of the child: ours, with LSAN_OPTIONS naming the
 * suppressions above (written under the cluster's folder). Built before
 * the fork: the child only calls async-signal-safe functions. */
static void child_env(struct h_cluster *c,
                      const char *envp[ENV_MAX],
                      char lsan[512])
{
    char path[300];
    snprintf(path, sizeof(path), "%s/qmctl-lsan.supp", c->base);
    FILE *f = fopen(path, "w");
    H_CHECK(f != NULL && fputs(qmctl_supp, f) >= 0 && fclose(f) == 0,
            "cannot write %s", path);
    snprintf(lsan, 512, "LSAN_OPTIONS=suppressions=%s", path);
    int n = 0;
    for (char **e = environ; *e != NULL && n < ENV_MAX - 2; e++) {
        if (strncmp(*e, "LSAN_OPTIONS=", 13) != 0) {
            envp[n++] = *e;
        }
    }
    envp[n++] = lsan;
    envp[n] = NULL;
}

/* The child: its output to the pipes, then qmctl. */
static void child(int out,
                  int err,
                  const char *const *argv,
                  const char *const *envp)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    close(out);
    close(err);
    execve(argv[0], (char *const *)argv, (char *const *)envp);
    _exit(127);
}

/* Read what is there from @fd into @buf (room @cap, *n so far, the rest
 * dropped); false at EOF. */
static bool drain(int fd, char *buf, size_t cap, size_t *n)
{
    char tmp[4096];
    ssize_t k = read(fd, tmp, sizeof(tmp));
    if (k < 0 && errno == EINTR) {
        return true;
    }
    if (k <= 0) {
        return false;
    }
    size_t take = (size_t)k < cap - 1 - *n ? (size_t)k : cap - 1 - *n;
    memcpy(buf + *n, tmp, take);
    *n += take;
    buf[*n] = '\0';
    return true;
}

/* Collect both outputs until both close or the deadline passes. */
static bool collect(int out, int err, struct h_run *r)
{
    struct pollfd p[2] = {{out, POLLIN, 0}, {err, POLLIN, 0}};
    int64_t deadline = h_now_ms() + RUN_DEADLINE_MS;
    while (p[0].fd >= 0 || p[1].fd >= 0) {
        int64_t left = deadline - h_now_ms();
        if (left <= 0) {
            return false;
        }
        if (poll(p, 2, (int)left) < 0 && errno != EINTR) {
            return false;
        }
        if (p[0].fd >= 0 && p[0].revents != 0 &&
            !drain(out, r->out, sizeof(r->out), &r->nout)) {
            p[0].fd = -1;
        }
        if (p[1].fd >= 0 && p[1].revents != 0 &&
            !drain(err, r->err, sizeof(r->err), &r->nerr)) {
            p[1].fd = -1;
        }
    }
    return true;
}

int h_qmctl(struct h_cluster *c, struct h_run *r, const char *const *args)
{
    char qmctl[256];
    const char *argv[ARGS_MAX];
    int k = 0;
    snprintf(qmctl, sizeof(qmctl), "%s/qmctl", c->bin);
    argv[k++] = qmctl;
    argv[k++] = "--cluster";
    argv[k++] = c->urls;
    for (int i = 0; args[i] != NULL; i++) {
        H_CHECK(k < ARGS_MAX - 1, "too many arguments");
        argv[k++] = args[i];
    }
    argv[k] = NULL;
    const char *envp[ENV_MAX];
    char lsan[512];
    child_env(c, envp, lsan);
    memset(r, 0, sizeof(*r));
    int out[2], err[2];
    H_CHECK(pipe(out) == 0 && pipe(err) == 0, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    H_CHECK(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        close(out[0]);
        close(err[0]);
        child(out[1], err[1], argv, envp);
    }
    close(out[1]);
    close(err[1]);
    bool done = collect(out[0], err[0], r);
    close(out[0]);
    close(err[0]);
    if (!done) {
        kill(pid, SIGKILL);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    H_CHECK(done, "qmctl %s ran over %d ms", args[0], RUN_DEADLINE_MS);
    r->status =
        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r->status;
}
