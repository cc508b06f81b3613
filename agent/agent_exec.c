/* Running configured commands without a shell; see agent_exec.h. */
#define _GNU_SOURCE /* POSIX_SPAWN_SETSID, addclosefrom_np, environ */
#include "agent_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qm_alloc.h"

/* ---- splitting ---- */

struct splitter
{
    struct agent_argv *out;
    size_t len;   /* bytes of out->store in use */
    bool in_word; /* a word is open (possibly still empty) */
    char quote;   /* 0, '\'' or '"' */
    char *errmsg;
};

static int split_err(struct splitter *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int split_err(struct splitter *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->errmsg, QM_ERRMSG_SIZE, fmt, ap);
    va_end(ap);
    s->out->argc = 0;
    return QM_INVALID;
}

static int word_start(struct splitter *s)
{
    if (s->in_word) {
        return QM_OK;
    }
    if (s->out->argc == AGENT_EXEC_ARGC_MAX) {
        return split_err(s, "command has more than %d words",
                         AGENT_EXEC_ARGC_MAX);
    }
    s->out->argv[s->out->argc++] = &s->out->store[s->len];
    s->in_word = true;
    return QM_OK;
}

/* Room is certain: the store holds every byte of a command of at most
 * AGENT_EXEC_CMD_MAX bytes plus one NUL per word. */
static int word_byte(struct splitter *s, char c)
{
    int rv = word_start(s);
    if (rv == QM_OK) {
        s->out->store[s->len++] = c;
    }
    return rv;
}

static void word_end(struct splitter *s)
{
    if (s->in_word) {
        s->out->store[s->len++] = '\0';
        s->in_word = false;
    }
}

/* One byte @c inside '...'; as step_double. */
static int step_single(struct splitter *s, char c)
{
    if (c == '\'') {
        s->quote = 0;
        return 1;
    }
    return word_byte(s, c) == QM_OK ? 1 : -1;
}

/* One byte inside "...": @p points at it; returns the bytes consumed
 * (1 or 2) or -1 on error. */
static int step_double(struct splitter *s, const char *p)
{
    if (p[0] == '"') {
        s->quote = 0;
        return 1;
    }
    if (p[0] == '\\' && p[1] != '\0' && strchr("\"\\$`", p[1]) != NULL) {
        return word_byte(s, p[1]) == QM_OK ? 2 : -1;
    }
    if (p[0] == '$' || p[0] == '`') {
        split_err(s,
                  "'%c' inside double quotes: nothing is expanded, "
                  "use single quotes",
                  p[0]);
        return -1;
    }
    return word_byte(s, p[0]) == QM_OK ? 1 : -1;
}

/* One byte outside quotes at offset @off; as step_double. */
static int step_plain(struct splitter *s, const char *p, size_t off)
{
    char c = p[0];
    if (c == ' ' || c == '\t' || c == '\n') {
        word_end(s);
        return 1;
    }
    if (c == '\'' || c == '"') {
        s->quote = c;
        return word_start(s) == QM_OK ? 1 : -1;
    }
    if (c == '\\') {
        if (p[1] == '\0') {
            split_err(s, "trailing backslash");
            return -1;
        }
        return word_byte(s, p[1]) == QM_OK ? 2 : -1;
    }
    if (strchr("|&;<>()$`*?[", c) != NULL ||
        (!s->in_word && (c == '~' || c == '#'))) {
        split_err(s,
                  "unquoted '%c' at offset %zu: commands run without a "
                  "shell, quote it",
                  c, off);
        return -1;
    }
    return word_byte(s, c) == QM_OK ? 1 : -1;
}

int agent_exec_split(const char *cmd,
                     struct agent_argv *out,
                     char errmsg[QM_ERRMSG_SIZE])
{
    struct splitter s = {.out = out, .errmsg = errmsg};
    size_t len = strnlen(cmd, AGENT_EXEC_CMD_MAX + 1);
    out->argc = 0;
    if (len > AGENT_EXEC_CMD_MAX) {
        return split_err(&s, "command longer than %d bytes",
                         AGENT_EXEC_CMD_MAX);
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)cmd[i];
        if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) {
            return split_err(&s, "control byte 0x%02x at offset %zu", c, i);
        }
    }
    for (size_t i = 0; i < len;) {
        int n = s.quote == '\''  ? step_single(&s, cmd[i])
                : s.quote == '"' ? step_double(&s, cmd + i)
                                 : step_plain(&s, cmd + i, i);
        if (n < 0) {
            return QM_INVALID; /* split_err said why */
        }
        i += (size_t)n;
    }
    if (s.quote != 0) {
        return split_err(&s, "unterminated %c quote", s.quote);
    }
    word_end(&s);
    if (out->argc == 0) {
        return split_err(&s, "empty command");
    }
    out->argv[out->argc] = NULL;
    return QM_OK;
}

/* ---- spawning ---- */

/* Start @av with stdin from /dev/null and stdout and stderr on @out_fd,
 * in a new process group, or a new session when @session. */
static int spawn(struct agent_argv *av,
                 bool session,
                 int out_fd,
                 pid_t *pid,
                 char errmsg[QM_ERRMSG_SIZE])
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    if (posix_spawn_file_actions_init(&fa) != 0) {
        snprintf(errmsg, QM_ERRMSG_SIZE, "out of memory starting a command");
        return QM_ENOMEM;
    }
    posix_spawnattr_init(&at);
    int rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    rc = rc ? rc : posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    rc = rc ? rc : posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
    rc = rc ? rc : posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    rc = rc ? rc : posix_spawnattr_setsigmask(&at, &none);
    rc = rc ? rc : posix_spawnattr_setsigdefault(&at, &all);
    rc = rc ? rc : posix_spawnattr_setpgroup(&at, 0);
    rc = rc ? rc
            : posix_spawnattr_setflags(
                  &at, (short)(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                               (session ? POSIX_SPAWN_SETSID
                                        : POSIX_SPAWN_SETPGROUP)));
    rc = rc ? rc : posix_spawnp(pid, av->argv[0], &fa, &at, av->argv, environ);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    if (rc == 0) {
        return QM_OK;
    }
    const char *name = strerrorname_np(rc);
    snprintf(errmsg, QM_ERRMSG_SIZE, "%s starting '%.100s'", name ? name : "E?",
             av->argv[0]);
    return rc == ENOENT ? QM_NOT_FOUND : rc == ENOMEM ? QM_ENOMEM : QM_EIO;
}

static void decode_status(int st, int *exit_code, int *sig)
{
    *exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    *sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

/* ---- short commands ---- */

struct agent_exec
{
    pid_t pid;  /* also the process group id */
    int out_fd; /* read end of the output pipe; -1 after its end */
    int pid_fd; /* -1 without pidfd_open or after the reap */
    int64_t start_ms;
    int64_t timeout_ms;
    int64_t grace_ms;
    int64_t term_ms;
    bool term_sent;
    bool kill_sent;
    bool done;
    struct agent_exec_result res;
    size_t tail_len;
    unsigned char tail[AGENT_EXEC_TAIL_MAX];
    struct agent_argv argv;
};

static void tail_add(struct agent_exec *e, const unsigned char *p, size_t n)
{
    e->res.output_bytes += n;
    if (n >= AGENT_EXEC_TAIL_MAX) {
        memcpy(e->tail, p + n - AGENT_EXEC_TAIL_MAX, AGENT_EXEC_TAIL_MAX);
        e->tail_len = AGENT_EXEC_TAIL_MAX;
        return;
    }
    size_t keep = e->tail_len < AGENT_EXEC_TAIL_MAX - n
                      ? e->tail_len
                      : AGENT_EXEC_TAIL_MAX - n;
    memmove(e->tail, e->tail + e->tail_len - keep, keep);
    memcpy(e->tail + keep, p, n);
    e->tail_len = keep + n;
}

/* Read what is waiting in the pipe, a bounded amount per call. */
static void drain(struct agent_exec *e)
{
    unsigned char buf[4096];
    for (int k = 0; e->out_fd >= 0 && k < 64; k++) {
        ssize_t n = read(e->out_fd, buf, sizeof(buf));
        if (n > 0) {
            tail_add(e, buf, (size_t)n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            return;
        } else {
            close(e->out_fd); /* end of output, or a broken pipe */
            e->out_fd = -1;
        }
    }
}

size_t agent_exec_tail(const struct agent_exec *e, char *buf, size_t size)
{
    size_t n = 0;
    if (size == 0) {
        return 0;
    }
    for (size_t i = e->tail_len > size - 1 ? e->tail_len - (size - 1) : 0;
         i < e->tail_len; i++) {
        unsigned char c = e->tail[i];
        buf[n++] = c == '\n' || c == '\r' || c == '\t' ? ' '
                   : c < 0x20 || c > 0x7e              ? '?'
                                                       : (char)c;
    }
    buf[n] = '\0';
    return n;
}

static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
    long fd = syscall(SYS_pidfd_open, pid, 0);
    return fd >= 0 ? (int)fd : -1;
#else
    (void)pid;
    return -1;
#endif
}

int agent_exec_start(const char *cmd,
                     const struct agent_exec_opts *opts,
                     int64_t now_ms,
                     struct agent_exec **out,
                     char errmsg[QM_ERRMSG_SIZE])
{
    int p[2];
    struct agent_exec *e = qm_calloc(1, sizeof(*e));
    if (e == NULL) {
        snprintf(errmsg, QM_ERRMSG_SIZE, "out of memory starting a command");
        return QM_ENOMEM;
    }
    int rv = agent_exec_split(cmd, &e->argv, errmsg);
    if (rv != QM_OK) {
        goto err_free;
    }
    if (pipe2(p, O_CLOEXEC) != 0) {
        snprintf(errmsg, QM_ERRMSG_SIZE, "pipe: %s", strerror(errno));
        rv = QM_EIO;
        goto err_free;
    }
    rv = spawn(&e->argv, false, p[1], &e->pid, errmsg);
    close(p[1]);
    if (rv != QM_OK) {
        close(p[0]);
        goto err_free;
    }
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    e->out_fd = p[0];
    e->pid_fd = open_pidfd(e->pid);
    e->start_ms = now_ms;
    e->timeout_ms = opts != NULL ? opts->timeout_ms : 0;
    e->grace_ms = opts != NULL && opts->grace_ms > 0 ? opts->grace_ms
                                                     : AGENT_EXEC_GRACE_MS;
    *out = e;
    return QM_OK;

err_free:
    qm_free(e);
    return rv;
}

/* SIGTERM to the group at the timeout, SIGKILL after the grace. */
static void timeout_step(struct agent_exec *e, int64_t now_ms)
{
    if (e->timeout_ms <= 0) {
        return;
    }
    if (!e->term_sent && now_ms - e->start_ms >= e->timeout_ms) {
        killpg(e->pid, SIGTERM);
        e->term_sent = true;
        e->term_ms = now_ms;
        e->res.timed_out = true;
    } else if (e->term_sent && !e->kill_sent &&
               now_ms - e->term_ms >= e->grace_ms) {
        killpg(e->pid, SIGKILL);
        e->kill_sent = true;
    }
}

static void finish(struct agent_exec *e, int st, int64_t now_ms)
{
    drain(e);
    decode_status(st, &e->res.exit_code, &e->res.signal);
    e->res.duration_ms = now_ms - e->start_ms;
    agent_exec_tail(e, e->res.output, sizeof(e->res.output));
    /* What processes left behind write from now on is not its output. */
    if (e->out_fd >= 0) {
        close(e->out_fd);
        e->out_fd = -1;
    }
    if (e->pid_fd >= 0) {
        close(e->pid_fd);
        e->pid_fd = -1;
    }
    e->done = true;
}

int agent_exec_poll(struct agent_exec *e,
                    int64_t now_ms,
                    struct agent_exec_result *res)
{
    if (e->done) {
        *res = e->res;
        return QM_OK;
    }
    drain(e);
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    if (waitid(P_PID, (id_t)e->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0) {
        return errno == EINTR ? QM_EBUSY : QM_INTERNAL;
    }
    if (si.si_pid == 0) {
        timeout_step(e, now_ms);
        return QM_EBUSY;
    }
    /* The leader is a zombie, so its pid still names the group: kill what
     * is left of a command that timed out before letting the pid go. */
    if (e->res.timed_out) {
        killpg(e->pid, SIGKILL);
    }
    int st = 0;
    pid_t r;
    do {
        r = waitpid(e->pid, &st, 0);
    } while (r < 0 && errno == EINTR);
    if (r != e->pid) {
        return QM_INTERNAL;
    }
    finish(e, st, now_ms);
    *res = e->res;
    return QM_OK;
}

int agent_exec_fds(const struct agent_exec *e, int fds[2])
{
    int n = 0;
    if (e->out_fd >= 0) {
        fds[n++] = e->out_fd;
    }
    if (e->pid_fd >= 0) {
        fds[n++] = e->pid_fd;
    }
    return n;
}

pid_t agent_exec_pid(const struct agent_exec *e)
{
    return e->pid;
}

void agent_exec_free(struct agent_exec *e)
{
    if (e == NULL) {
        return;
    }
    if (!e->done) {
        killpg(e->pid, SIGKILL);
        while (waitpid(e->pid, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    if (e->out_fd >= 0) {
        close(e->out_fd);
    }
    if (e->pid_fd >= 0) {
        close(e->pid_fd);
    }
    qm_free(e);
}

/* ---- long-running instances ---- */

int agent_exec_spawn_detached(const char *cmd,
                              const char *log_path,
                              pid_t *pid,
                              char errmsg[QM_ERRMSG_SIZE])
{
    struct agent_argv *av = qm_malloc(sizeof(*av));
    if (av == NULL) {
        snprintf(errmsg, QM_ERRMSG_SIZE, "out of memory starting a command");
        return QM_ENOMEM;
    }
    int rv = agent_exec_split(cmd, av, errmsg);
    if (rv != QM_OK) {
        goto out_free;
    }
    const char *path = log_path != NULL ? log_path : "/dev/null";
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(errmsg, QM_ERRMSG_SIZE, "cannot open log %.120s: %s", path,
                 strerror(errno));
        rv = QM_EIO;
        goto out_free;
    }
    rv = spawn(av, true, fd, pid, errmsg);
    close(fd);

out_free:
    qm_free(av);
    return rv;
}

int agent_exec_reap(pid_t pid, int *exit_code, int *signal)
{
    int st = 0;
    pid_t r;
    do {
        r = waitpid(pid, &st, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0) {
        return QM_EBUSY;
    }
    if (r < 0) {
        return QM_NOT_FOUND;
    }
    decode_status(st, exit_code, signal);
    return QM_OK;
}
