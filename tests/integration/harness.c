#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct h_cluster *current;

int64_t h_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void h_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void h_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[%lld] ", (long long)(h_now_ms() % 1000000));
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void kill_all(struct h_cluster *c)
{
    for (int i = 0; i < c->n; i++) {
        if (c->nodes[i].pid > 0) {
            kill(c->nodes[i].pid, SIGKILL);
            waitpid(c->nodes[i].pid, NULL, 0);
            c->nodes[i].pid = 0;
        }
    }
}

void h_fail(const char *file, int line, const char *expr, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAILED %s:%d: %s: ", file, line, expr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (current != NULL) {
        kill_all(current);
        for (int i = 0; i < current->n; i++) {
            fprintf(stderr, "---- last lines of %s\n", current->nodes[i].log);
            char cmd[512];
            snprintf(cmd, sizeof(cmd), "tail -n 25 %s 1>&2",
                     current->nodes[i].log);
            if (system(cmd) != 0) {
                fprintf(stderr, "(no log)\n");
            }
        }
        fprintf(stderr, "data and logs kept in %s\n", current->base);
    }
    exit(1);
}

/* Can we listen on ip:port? */
static bool port_free(const char *ip, int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) {
        return false;
    }
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    bool ok = bind(s, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(s);
    return ok;
}

static void pick_ip(struct h_cluster *c)
{
    for (int tries = 0; tries < 100; tries++) {
        uint16_t r = 0;
        if (getrandom(&r, sizeof(r), 0) != sizeof(r)) {
            r = (uint16_t)rand();
        }
        unsigned x = ((unsigned)getpid() + r) % 250 + 2;
        unsigned y = (r >> 8 ^ (unsigned)getpid() >> 8) % 250 + 2;
        snprintf(c->ip, sizeof(c->ip), "127.%u.%u.1", x, y);
        bool ok = true;
        for (int i = 1; i <= H_NODES_MAX && ok; i++) {
            ok = port_free(c->ip, 7000 + i) && port_free(c->ip, 7100 + i) &&
                 port_free(c->ip, 7200 + i);
        }
        if (ok) {
            return;
        }
    }
    fprintf(stderr, "no free loopback address found\n");
    exit(1);
}

void h_cluster_init(struct h_cluster *c, const char *name, int n)
{
    memset(c, 0, sizeof(*c));
    current = c;
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->bin = getenv("QM_BIN_DIR");
    if (c->bin == NULL) {
        c->bin = "build/asan/bin";
    }
    c->n = n;
    pick_ip(c);
    snprintf(c->base, sizeof(c->base), "/tmp/qm-it-%d-%s", (int)getpid(), name);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s", c->base, c->base);
    H_CHECK(system(cmd) == 0, "cannot create %s", c->base);
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        struct h_node *nd = &c->nodes[i];
        nd->id = (uint64_t)i + 1;
        snprintf(nd->dir, sizeof(nd->dir), "%s/node%d", c->base, i + 1);
        snprintf(nd->log, sizeof(nd->log), "%s/node%d.log", c->base, i + 1);
        snprintf(nd->raft, sizeof(nd->raft), "%s:%d", c->ip, 7001 + i);
        snprintf(nd->api, sizeof(nd->api), "tcp://%s:%d", c->ip, 7101 + i);
        snprintf(nd->http, sizeof(nd->http), "%s:%d", c->ip, 7201 + i);
        len += (size_t)snprintf(c->urls + len, sizeof(c->urls) - len, "%s%s",
                                i ? "," : "", nd->api);
    }
    struct qm_options opt = {15000, 1000, NULL};
    char err[QM_ERRMSG_SIZE];
    H_CHECK(qm_client_new(&c->client, c->urls, &opt, err) == QM_OK, "%s", err);
    h_log("cluster %s: %d nodes on %s, data in %s", name, n, c->ip, c->base);
}

void h_cluster_flag(struct h_cluster *c, const char *flag)
{
    H_CHECK(c->nextra < 16, "too many flags");
    c->extra[c->nextra++] = flag;
}

void h_node_start(struct h_cluster *c, int i, bool join)
{
    struct h_node *nd = &c->nodes[i];
    H_CHECK(nd->pid == 0, "node %d already running", i + 1);
    char qmd[256], id[16];
    snprintf(qmd, sizeof(qmd), "%s/qmd", c->bin);
    snprintf(id, sizeof(id), "%llu", (unsigned long long)nd->id);
    const char *argv[48];
    int k = 0;
    argv[k++] = qmd;
    argv[k++] = "--id";
    argv[k++] = id;
    argv[k++] = "--data-dir";
    argv[k++] = nd->dir;
    argv[k++] = "--raft-addr";
    argv[k++] = nd->raft;
    argv[k++] = "--api-addr";
    argv[k++] = nd->api;
    argv[k++] = "--http-addr";
    argv[k++] = nd->http;
    if (join && i > 0) {
        argv[k++] = "--join";
        argv[k++] = c->nodes[0].api;
    }
    for (int e = 0; e < c->nextra; e++) {
        argv[k++] = c->extra[e];
    }
    argv[k] = NULL;
    pid_t parent = getpid();
    pid_t pid = fork();
    H_CHECK(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(127);
        }
        int fd = open(nd->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execv(qmd, (char *const *)argv);
        _exit(127);
    }
    nd->pid = pid;
    h_log("started node %d (pid %d)%s", i + 1, (int)pid,
          join && i > 0 ? " joining" : "");
}

/* Reap node @i, which was sent @sig already. */
static int reap(struct h_cluster *c, int i, int sig)
{
    struct h_node *nd = &c->nodes[i];
    int status = 0;
    int64_t deadline = h_now_ms() + 30000;
    for (;;) {
        pid_t r = waitpid(nd->pid, &status, WNOHANG);
        if (r == nd->pid) {
            break;
        }
        if (h_now_ms() > deadline) {
            kill(nd->pid, SIGKILL);
            waitpid(nd->pid, &status, 0);
            nd->pid = 0;
            H_CHECK(false, "node %d did not stop within 30 s", i + 1);
        }
        h_sleep_ms(20);
    }
    nd->pid = 0;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    h_log("node %d stopped with %s -> status %d", i + 1,
          sig == SIGKILL ? "SIGKILL" : "SIGTERM", code);
    return code;
}

int h_node_stop(struct h_cluster *c, int i, int sig)
{
    if (c->nodes[i].pid == 0) {
        return 0;
    }
    kill(c->nodes[i].pid, sig);
    return reap(c, i, sig);
}

void h_node_wipe(struct h_cluster *c, int i)
{
    char cmd[300];
    H_CHECK(c->nodes[i].pid == 0, "node %d is running", i + 1);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", c->nodes[i].dir);
    H_CHECK(system(cmd) == 0, "cannot remove %s", c->nodes[i].dir);
}

int h_info(struct h_cluster *c, int i, struct qm_node_info *out)
{
    struct qm_result res;
    return qm_node_info(c->client, c->nodes[i].api, out, &res);
}

int h_wait_leader(struct h_cluster *c, int timeout_ms)
{
    int64_t deadline = h_now_ms() + timeout_ms;
    struct qm_node_info info;
    while (h_now_ms() < deadline) {
        int leader = -1;
        bool agree = true;
        for (int i = 0; i < c->n && agree; i++) {
            if (c->nodes[i].pid == 0) {
                continue;
            }
            if (h_info(c, i, &info) != QM_OK || info.leader_id == 0) {
                agree = false;
                break;
            }
            if (leader == -1) {
                leader = (int)info.leader_id - 1;
            } else if (leader != (int)info.leader_id - 1) {
                agree = false;
            }
        }
        if (agree && leader >= 0 && c->nodes[leader].pid != 0) {
            return leader;
        }
        h_sleep_ms(50);
    }
    H_CHECK(false, "no leader agreed on within %d ms", timeout_ms);
}

void h_wait_voters(struct h_cluster *c, unsigned n, int timeout_ms)
{
    int64_t deadline = h_now_ms() + timeout_ms;
    struct qm_node_info info;
    unsigned voters = 0;
    while (h_now_ms() < deadline) {
        int l = h_wait_leader(c, timeout_ms);
        if (h_info(c, l, &info) == QM_OK) {
            voters = 0;
            for (unsigned k = 0; k < info.nmembers; k++) {
                voters += info.members[k].role == QM_ROLE_VOTER;
            }
            if (voters == n && info.nmembers == n) {
                return;
            }
        }
        h_sleep_ms(50);
    }
    H_CHECK(false, "expected %u voters, have %u", n, voters);
}

void h_cluster_start(struct h_cluster *c)
{
    h_node_start(c, 0, true);
    h_wait_leader(c, 20000);
    for (int i = 1; i < c->n; i++) {
        h_node_start(c, i, true);
    }
    h_wait_voters(c, (unsigned)c->n, 30000);
    h_log("cluster %s: %d voters", c->name, c->n);
}

uint64_t h_wait_converged(struct h_cluster *c, int timeout_ms)
{
    int64_t deadline = h_now_ms() + timeout_ms;
    char first[33] = "";
    uint64_t index = 0;
    while (h_now_ms() < deadline) {
        bool same = true;
        uint64_t idx0 = 0;
        first[0] = '\0';
        for (int i = 0; i < c->n && same; i++) {
            if (c->nodes[i].pid == 0) {
                continue;
            }
            uint64_t id, applied;
            char digest[33];
            struct qm_result res;
            if (qm_digest(c->client, c->nodes[i].api, &id, &applied, digest,
                          &res) != QM_OK) {
                same = false;
                break;
            }
            if (first[0] == '\0') {
                memcpy(first, digest, sizeof(first));
                idx0 = applied;
            } else if (applied != idx0) {
                same = false;
            } else {
                H_CHECK(strcmp(first, digest) == 0,
                        "node %d digest %s differs from %s at index %llu",
                        i + 1, digest, first, (unsigned long long)applied);
            }
        }
        if (same && first[0] != '\0') {
            index = idx0;
            h_log("converged at index %llu, digest %s",
                  (unsigned long long)index, first);
            return index;
        }
        h_sleep_ms(100);
    }
    H_CHECK(false, "nodes did not reach the same applied index in %d ms",
            timeout_ms);
}

void h_cluster_stop(struct h_cluster *c)
{
    qm_client_free(c->client);
    c->client = NULL;
    for (int i = 0; i < c->n; i++) {
        if (c->nodes[i].pid > 0) {
            kill(c->nodes[i].pid, SIGTERM);
        }
    }
    for (int i = 0; i < c->n; i++) {
        if (c->nodes[i].pid > 0) {
            int code = reap(c, i, SIGTERM);
            H_CHECK(code == 0, "node %d exited with status %d after SIGTERM",
                    i + 1, code);
        }
    }
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", c->base);
    if (system(cmd) != 0) {
        h_log("could not remove %s", c->base);
    }
    current = NULL;
}
