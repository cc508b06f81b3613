#include "h_proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define PROCS_MAX 64

struct proc
{
    pid_t pid;
    bool done; /* reaped: @status holds how it ended */
    int status;
};

static struct proc procs[PROCS_MAX];
static int nprocs;
static bool hooked;

static void kill_all(void)
{
    for (int i = 0; i < nprocs; i++) {
        if (!procs[i].done) {
            kill(procs[i].pid, SIGKILL);
            waitpid(procs[i].pid, NULL, 0);
        }
    }
    nprocs = 0;
}

static struct proc *find(pid_t pid)
{
    for (int i = 0; i < nprocs; i++) {
        if (procs[i].pid == pid) {
            return &procs[i];
        }
    }
    return NULL;
}

static void child(const char *const *argv, const char *log, int ready_fd)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    if (ready_fd >= 0 && ready_fd != 3) {
        dup2(ready_fd, 3);
        close(ready_fd);
    }
    execv(argv[0], (char *const *)argv);
    fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

pid_t h_spawn(const char *const *argv, const char *log, bool ready)
{
    if (!hooked) {
        atexit(kill_all);
        hooked = true;
    }
    H_CHECK(nprocs < PROCS_MAX, "too many processes");
    int p[2] = {-1, -1};
    if (ready) {
        H_CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
    }
    pid_t pid = fork();
    H_CHECK(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        if (ready) {
            close(p[0]);
        }
        child(argv, log, p[1]);
    }
    procs[nprocs++] = (struct proc){pid, false, 0};
    if (ready) {
        close(p[1]);
        struct pollfd pf = {p[0], POLLIN, 0};
        char b;
        H_CHECK(poll(&pf, 1, 10000) == 1 && read(p[0], &b, 1) == 1,
                "%s did not get ready (see %s)", argv[0], log);
        close(p[0]);
    }
    return pid;
}

int h_proc_stop(pid_t pid, int sig)
{
    struct proc *p = find(pid);
    H_CHECK(p != NULL, "pid %d was not started by h_spawn", (int)pid);
    if (!p->done) {
        kill(pid, sig);
        while (waitpid(pid, &p->status, 0) < 0 && errno == EINTR) {
        }
    }
    int st = p->status;
    *p = procs[--nprocs];
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

bool h_proc_alive(pid_t pid)
{
    struct proc *p = find(pid);
    if (p == NULL || p->done) {
        return false;
    }
    if (waitpid(pid, &p->status, WNOHANG) == pid) {
        p->done = true;
    }
    return !p->done;
}

int h_proc_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (d == NULL) {
        return -1;
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

static const char *in_dir(const char *env,
                          const char *fallback,
                          const char *name)
{
    static char paths[8][512];
    static int next;
    const char *dir = getenv(env);
    char *p = paths[next++ % 8];
    snprintf(p, sizeof(paths[0]), "%s/%s", dir != NULL ? dir : fallback, name);
    return p;
}

const char *h_bin(const char *name)
{
    return in_dir("QM_BIN_DIR", "build/asan/bin", name);
}

const char *h_prog(const char *name)
{
    return in_dir("QM_PROGS_DIR", "build/asan/tests/progs", name);
}
