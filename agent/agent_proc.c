/* prlimit(2) is a GNU extension of glibc. */
#define _GNU_SOURCE

#include "agent_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_fs.h"
#include "qm_err.h"

/* /proc/PID/stat is a few hundred bytes; /proc/PID/limits about 1.4 KiB. */
#define STAT_BUF 1024
#define LIMITS_BUF 4096
/* Enough for "socket:[18446744073709551615]" and then some. */
#define LINK_BUF 64

/* Fields of /proc/PID/stat, numbered as in proc(5). */
#define F_PPID 4
#define F_UTIME 14
#define F_STIME 15
#define F_THREADS 20
#define F_START 22
#define F_RSS 24

/* ---- Environment ---- */

int agent_proc_env_open(struct agent_proc_env *env, const char *root)
{
    env->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (env->rootfd < 0) {
        return QM_EIO;
    }
    env->live = strcmp(root, "/proc") == 0 || strcmp(root, "/proc/") == 0;
    long ps = sysconf(_SC_PAGESIZE);
    env->page_size = ps > 0 ? ps : 4096;
    agent_proc_env_refresh(env);
    return QM_OK;
}

void agent_proc_env_refresh(struct agent_proc_env *env)
{
    char buf[32];
    const char *p = buf;
    uint64_t v;
    env->threads_max = -1;
    if (agent__read_at(env->rootfd, "sys/kernel/threads-max", buf,
                       sizeof(buf)) > 0 &&
        agent__next_u64(&p, &v) && v <= INT64_MAX) {
        env->threads_max = (int64_t)v;
    }
}

void agent_proc_env_close(struct agent_proc_env *env)
{
    if (env->rootfd >= 0) {
        close(env->rootfd);
        env->rootfd = -1;
    }
}

/* ---- Parsing /proc/PID/stat ---- */

/* Move *@p past one blank-separated token; false if there is none. */
static bool skip_token(const char **p)
{
    const char *s = *p;
    while (*s == ' ') {
        s++;
    }
    if (*s == '\0' || *s == '\n') {
        return false;
    }
    while (*s != ' ' && *s != '\0' && *s != '\n') {
        s++;
    }
    *p = s;
    return true;
}

/* Fields 4 .. F_RSS after the state; false if one is missing or one we
 * keep is not a plain number. */
static bool parse_stat_fields(const char *p, uint64_t f[F_RSS + 1])
{
    for (int i = F_PPID; i <= F_RSS; i++) {
        bool keep = i == F_PPID || i == F_UTIME || i == F_STIME ||
                    i == F_THREADS || i == F_START || i == F_RSS;
        if (keep ? !agent__next_u64(&p, &f[i]) : !skip_token(&p)) {
            return false;
        }
        if (keep && *p != ' ' && *p != '\n' && *p != '\0') {
            return false;
        }
    }
    return true;
}

int agent_proc_parse_stat(const char *text,
                          size_t len,
                          int64_t page_size,
                          struct agent_proc_sample *out)
{
    const char *open = memchr(text, '(', len);
    const char *close = NULL;
    for (size_t i = len; i > 0; i--) {
        if (text[i - 1] == ')') {
            close = text + i - 1;
            break;
        }
    }
    const char *p = text;
    uint64_t pid;
    if (open == NULL || close == NULL || close < open ||
        !agent__next_u64(&p, &pid) || p + 1 != open || pid == 0 ||
        pid > INT32_MAX) {
        return QM_ECORRUPT;
    }
    p = close + 1;
    uint64_t f[F_RSS + 1] = {0};
    if (!skip_token(&p) || !parse_stat_fields(p, f) || f[F_PPID] > INT32_MAX ||
        f[F_THREADS] > INT32_MAX ||
        f[F_RSS] > INT64_MAX / (uint64_t)page_size) {
        return QM_ECORRUPT;
    }
    size_t n = (size_t)(close - open - 1);
    n = n < AGENT_COMM_MAX - 1 ? n : AGENT_COMM_MAX - 1;
    memcpy(out->comm, open + 1, n);
    out->comm[n] = '\0';
    out->pid = (int32_t)pid;
    out->ppid = (int32_t)f[F_PPID];
    out->cpu_ticks = f[F_UTIME] + f[F_STIME];
    out->threads = (int32_t)f[F_THREADS];
    out->start_ticks = f[F_START];
    out->rss_bytes = (int64_t)f[F_RSS] * page_size;
    return QM_OK;
}

/* ---- One process ---- */

static bool gone(int err)
{
    return err == ENOENT || err == ESRCH;
}

static int read_stat(const struct agent_proc_env *env,
                     int32_t pid,
                     struct agent_proc_sample *out)
{
    char path[32];
    char buf[STAT_BUF];
    snprintf(path, sizeof(path), "%d/stat", (int)pid);
    ssize_t n = agent__read_at(env->rootfd, path, buf, sizeof(buf));
    if (n < 0) {
        return gone(errno) ? QM_NOT_FOUND : QM_EIO;
    }
    int rv = agent_proc_parse_stat(buf, (size_t)n, env->page_size, out);
    if (rv == QM_OK && out->pid != pid) {
        rv = QM_ECORRUPT;
    }
    return rv;
}

/* Count one socket fd whose link is "socket:[INODE]" by its TCP state. */
static void count_socket(const char *link,
                         const struct agent_sock_table *t,
                         struct agent_proc_sample *out)
{
    const char *p = link + 8;
    uint64_t inode;
    out->sockets++;
    if (t != NULL && agent__next_u64(&p, &inode) && *p == ']') {
        int st = agent_sock_table_state(t, inode);
        if (st > 0 && st < AGENT_TCP_STATES) {
            out->tcp[st]++;
        }
    }
}

/* Count fds from /proc/PID/fd; with @socks also sockets, and TCP sockets
 * by state. */
static int walk_fds(const struct agent_proc_env *env,
                    int32_t pid,
                    struct agent_sock_ns *socks,
                    struct agent_proc_sample *out)
{
    char path[32];
    struct agent__dir d;
    snprintf(path, sizeof(path), "%d/fd", (int)pid);
    out->fds = 0;
    out->sockets = socks != NULL ? 0 : -1;
    memset(out->tcp, 0, sizeof(out->tcp));
    if (agent__dir_open_at(&d, env->rootfd, path) != 0) {
        if (gone(errno)) {
            return QM_NOT_FOUND;
        }
        out->fds = -1; /* not ours to read */
        out->sockets = -1;
        return QM_OK;
    }
    const struct agent_sock_table *t = NULL;
    bool looked_up = false;
    const char *name;
    while ((name = agent__dir_next(&d)) != NULL) {
        char link[LINK_BUF];
        out->fds++;
        if (socks == NULL) {
            continue;
        }
        ssize_t n = readlinkat(d.fd, name, link, sizeof(link) - 1);
        if (n < 9 || memcmp(link, "socket:[", 8) != 0) {
            continue;
        }
        link[n] = '\0';
        if (!looked_up) {
            t = agent_sock_ns_table(socks, pid);
            looked_up = true;
        }
        count_socket(link, t, out);
    }
    int err = errno;
    agent__dir_close(&d);
    return gone(err) ? QM_NOT_FOUND : QM_OK;
}

/* Count fds: on the live /proc the size of PID/fd is the number of open
 * fds (Linux 6.2 on), one cheap stat; else, or if it says 0, a listing. */
static int count_fds(const struct agent_proc_env *env,
                     int32_t pid,
                     struct agent_proc_sample *out)
{
    char path[32];
    struct stat st;
    snprintf(path, sizeof(path), "%d/fd", (int)pid);
    if (env->live && fstatat(env->rootfd, path, &st, 0) == 0 &&
        st.st_size > 0 && st.st_size <= INT32_MAX) {
        out->fds = (int32_t)st.st_size;
        out->sockets = -1;
        return QM_OK;
    }
    return walk_fds(env, pid, NULL, out);
}

/* The soft limit on the line of @text that starts with @label: -1 if
 * absent or malformed, INT64_MAX for "unlimited". */
static int64_t limits_soft(const char *text, const char *label)
{
    const char *p = strstr(text, label);
    uint64_t v;
    if (p == NULL || (p != text && p[-1] != '\n')) {
        return -1;
    }
    p += strlen(label);
    while (*p == ' ') {
        p++;
    }
    if (strncmp(p, "unlimited", 9) == 0) {
        return INT64_MAX;
    }
    return agent__next_u64(&p, &v) && v < INT64_MAX ? (int64_t)v : -1;
}

static int64_t rlim_value(rlim_t v)
{
    return v == RLIM_INFINITY || v >= (rlim_t)INT64_MAX ? INT64_MAX
                                                        : (int64_t)v;
}

/* Soft RLIMIT_NOFILE and RLIMIT_NPROC: prlimit(2) on the live /proc, else
 * (or without permission) the PID/limits file. */
static int read_limits(const struct agent_proc_env *env,
                       int32_t pid,
                       int64_t *nofile,
                       int64_t *nproc)
{
    struct rlimit fl;
    struct rlimit pl;
    if (env->live) {
        if (prlimit(pid, RLIMIT_NOFILE, NULL, &fl) == 0 &&
            prlimit(pid, RLIMIT_NPROC, NULL, &pl) == 0) {
            *nofile = rlim_value(fl.rlim_cur);
            *nproc = rlim_value(pl.rlim_cur);
            return QM_OK;
        }
        if (errno == ESRCH) {
            return QM_NOT_FOUND;
        }
    }
    char path[32];
    char buf[LIMITS_BUF];
    snprintf(path, sizeof(path), "%d/limits", (int)pid);
    if (agent__read_at(env->rootfd, path, buf, sizeof(buf)) < 0) {
        *nofile = -1;
        *nproc = -1;
        return env->live && gone(errno) ? QM_NOT_FOUND : QM_OK;
    }
    *nofile = limits_soft(buf, "Max open files");
    *nproc = limits_soft(buf, "Max processes");
    return QM_OK;
}

int agent_proc_sample(const struct agent_proc_env *env,
                      int32_t pid,
                      struct agent_proc_sample *out)
{
    memset(out, 0, sizeof(*out));
    out->cpu_pm = -1;
    int rv = read_stat(env, pid, out);
    if (rv == QM_EIO) {
        return QM_NOT_FOUND; /* unreadable counts as gone */
    }
    if (rv != QM_OK) {
        return rv;
    }
    rv = count_fds(env, pid, out);
    if (rv != QM_OK) {
        return rv;
    }
    int64_t nproc;
    rv = read_limits(env, pid, &out->fd_limit, &nproc);
    if (rv != QM_OK) {
        return rv;
    }
    out->thread_limit = nproc == INT64_MAX ? env->threads_max : nproc;
    return QM_OK;
}

int agent_proc_sockets(const struct agent_proc_env *env,
                       int32_t pid,
                       struct agent_sock_ns *socks,
                       struct agent_proc_sample *out)
{
    return walk_fds(env, pid, socks, out);
}
