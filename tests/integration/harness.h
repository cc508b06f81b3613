/* Cluster test harness: real qmd processes on loopback, each run on its own
 * address 127.X.Y.1 (X, Y from the pid and a random draw, checked free by
 * binding) so parallel runs never collide. Every process started is
 * tracked by PID, dies with the test (PR_SET_PDEATHSIG) and is stopped by
 * h_cluster_stop(). Data and logs live under /tmp/qm-it-PID-NAME, removed
 * when the test passes and kept (path printed) when it fails. */
#ifndef QM_TESTS_INTEGRATION_HARNESS_H
#define QM_TESTS_INTEGRATION_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "qm.h"

#define H_NODES_MAX 5

struct h_node
{
    uint64_t id;
    pid_t pid; /* 0 when not running */
    char dir[256];
    char log[256];
    char raft[64];
    char api[128];
    char http[64];
};

struct h_cluster
{
    char name[64];
    char base[192];
    char ip[32];
    const char *bin;
    int n;
    struct h_node nodes[H_NODES_MAX];
    char urls[1024];       /* API URLs of all nodes, comma-separated */
    const char *extra[16]; /* extra qmd flags for every node */
    int nextra;
    struct qm_client *client; /* a client on all URLs */
};

/* Abort the test with a message (and keep the data folder). */
#define H_CHECK(cond, ...)                                  \
    do {                                                    \
        if (!(cond)) {                                      \
            h_fail(__FILE__, __LINE__, #cond, __VA_ARGS__); \
        }                                                   \
    } while (0)

void h_fail(const char *file, int line, const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), noreturn));

void h_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Set up @n node slots (ids 1..n) without starting them. */
void h_cluster_init(struct h_cluster *c, const char *name, int n);

/* Add a flag given to every qmd started afterwards. */
void h_cluster_flag(struct h_cluster *c, const char *flag);

/* Start node @i (0-based): node 0 bootstraps when its data dir is new,
 * the others join through node 0 unless @join is false. */
void h_node_start(struct h_cluster *c, int i, bool join);

/* Send @sig and reap; returns the exit status (or 128+signal). */
int h_node_stop(struct h_cluster *c, int i, int sig);

/* Remove node @i's data folder (it must be stopped). */
void h_node_wipe(struct h_cluster *c, int i);

/* Start all nodes and wait until all @n are voters. */
void h_cluster_start(struct h_cluster *c);

/* SIGTERM every running node; fail the test unless each exits 0. Then
 * remove the data folder. */
void h_cluster_stop(struct h_cluster *c);

/* Node @i's own view (QM_OK or an error). */
int h_info(struct h_cluster *c, int i, struct qm_node_info *out);

/* Wait until some running node leads and the others follow it; returns
 * its index. Fails the test after @timeout_ms. */
int h_wait_leader(struct h_cluster *c, int timeout_ms);

/* Wait until the leader's configuration has @n voters. */
void h_wait_voters(struct h_cluster *c, unsigned n, int timeout_ms);

/* Wait until every running node has applied the same index, then check
 * they report the same digest. Returns that index. */
uint64_t h_wait_converged(struct h_cluster *c, int timeout_ms);

int64_t h_now_ms(void);
void h_sleep_ms(int ms);

#endif
