/* Workers pull requests from a 3-node cluster while its leader is killed.
 * Every request ends exactly once (done, charged once for the amount it
 * reserved), none is held by two workers at the same time, and all members
 * report the same digest. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

#define REQUESTS 300
#define WORKERS 3
#define PRICE 2000000LL /* nano-dollars: $0.002 per unit */
#define CHARGE 2000LL   /* micro-dollars per request (1 unit) */

struct worker
{
    struct h_cluster *c;
    pthread_t thread;
    int rv;
    char name[16];
};

static volatile bool stop;
static atomic_int runs[REQUESTS + 1];    /* handler calls per request */
static atomic_int holding[REQUESTS + 1]; /* workers holding it now */
static atomic_int overlaps;
static atomic_int handled;
static uint64_t first_id;

static int handle(void *arg,
                  const struct qm_job *job,
                  struct qm_amount *used,
                  unsigned *nused,
                  char reason[QM_REASON_MAX + 1])
{
    (void)arg;
    (void)used;
    (void)reason;
    uint64_t i = job->id - first_id + 1;
    if (i < 1 || i > REQUESTS) {
        return QM_INVALID;
    }
    if (atomic_fetch_add(&holding[i], 1) != 0) {
        atomic_fetch_add(&overlaps, 1);
    }
    atomic_fetch_add(&runs[i], 1);
    atomic_fetch_add(&handled, 1);
    h_sleep_ms(3); /* some work, so the run spans the failover */
    atomic_fetch_sub(&holding[i], 1);
    *nused = 0; /* everything reserved was used */
    return QM_OK;
}

static void *run(void *arg)
{
    struct worker *w = arg;
    struct qm_options opt = {8000, 1000, NULL};
    struct qm_client *cl;
    char err[QM_ERRMSG_SIZE];
    H_CHECK(qm_client_new(&cl, w->c->urls, &opt, err) == QM_OK, "%s", err);
    struct qm_worker_options wo = {w->name, 5000, 10, 200};
    struct qm_worker *wk;
    struct qm_result res;
    H_CHECK(qm_worker_new(&wk, cl, &wo, &res) == QM_OK, "%s", res.message);
    w->rv = qm_worker_run(wk, handle, NULL, &stop, &res);
    qm_worker_free(wk);
    qm_client_free(cl);
    return NULL;
}

static uint64_t done_count(struct h_cluster *c, uint64_t *failed)
{
    struct qm_queue_stats st[QM_QTIERS];
    unsigned n;
    struct qm_result res;
    H_CHECK(qm_queue_stats(c->client, false, st, &n, &res) == QM_OK, "%s",
            res.message);
    uint64_t done = 0;
    *failed = 0;
    for (unsigned i = 0; i < n; i++) {
        done += st[i].done;
        *failed += st[i].failed;
    }
    return done;
}

int main(void)
{
    struct h_cluster c;
    h_cluster_init(&c, "qfailover", 3);
    h_cluster_start(&c);
    struct qm_result res;
    struct qm_pool_spec gpu = {.name = "gpu",
                               .capacity = 1000000 * QM_MILLI,
                               .refill = 1000000 * QM_MILLI,
                               .price = PRICE};
    H_CHECK(qm_pool_create(c.client, &gpu, &res) == QM_OK, "pool: %s",
            res.message);
    H_CHECK(qm_client_create(c.client, "acme", QM_TIER_ENTERPRISE, false, 0,
                             &res) == QM_OK,
            "client: %s", res.message);
    struct qm_amount need = {"gpu", QM_MILLI};
    for (int i = 0; i < REQUESTS; i++) {
        struct qm_submit s = {.client = "acme",
                              .tier = QM_QTIER_NORMAL + i % 2,
                              .urgency = i % 31,
                              .nneeds = 1,
                              .needs = &need,
                              .max_attempts = 10};
        uint64_t id;
        H_CHECK(qm_submit(c.client, &s, &id, &res) == QM_OK, "submit: %s",
                res.message);
        if (i == 0) {
            first_id = id;
        }
        H_CHECK(id == first_id + (uint64_t)i, "ids are not consecutive");
    }
    struct worker w[WORKERS];
    for (int k = 0; k < WORKERS; k++) {
        w[k].c = &c;
        snprintf(w[k].name, sizeof(w[k].name), "w%d", k);
        pthread_create(&w[k].thread, NULL, run, &w[k]);
    }
    while (atomic_load(&handled) < REQUESTS / 3) {
        h_sleep_ms(5);
    }
    int leader = h_wait_leader(&c, 5000);
    H_CHECK(h_node_stop(&c, leader, SIGKILL) == 128 + SIGKILL, "kill");
    h_log("killed leader node %d after %d requests", leader + 1,
          atomic_load(&handled));

    uint64_t failed = 0;
    int64_t deadline = h_now_ms() + 60000;
    while (done_count(&c, &failed) < REQUESTS && failed == 0) {
        H_CHECK(h_now_ms() < deadline, "requests did not finish in 60 s");
        h_sleep_ms(50);
    }
    stop = true;
    for (int k = 0; k < WORKERS; k++) {
        pthread_join(w[k].thread, NULL);
        H_CHECK(w[k].rv == QM_OK, "worker %d: %s", k, qm_errname(w[k].rv));
    }
    H_CHECK(failed == 0, "%llu requests failed", (unsigned long long)failed);
    H_CHECK(atomic_load(&overlaps) == 0, "a request was held twice at once");
    int reruns = 0;
    for (int i = 1; i <= REQUESTS; i++) {
        struct qm_request r;
        H_CHECK(atomic_load(&runs[i]) >= 1, "q%llu never ran",
                (unsigned long long)(first_id + (uint64_t)i - 1));
        reruns += atomic_load(&runs[i]) - 1;
        H_CHECK(qm_queue_get(c.client, first_id + (uint64_t)i - 1, false, &r,
                             &res) == QM_OK &&
                    r.state == QM_QSTATE_DONE,
                "q%llu is not done",
                (unsigned long long)(first_id + (uint64_t)i - 1));
    }
    /* Charged once per request: spent is exactly REQUESTS charges. */
    struct qm_usage u;
    struct qm_pool_usage pools[2];
    unsigned n;
    bool more;
    H_CHECK(qm_usage(c.client, "acme", 0, NULL, false, &u, pools, 2, &n, &more,
                     &res) == QM_OK,
            "usage: %s", res.message);
    h_log("%d requests done, %d handled again after a lost lease; spent %lld",
          REQUESTS, reruns, (long long)u.spent);
    H_CHECK(u.spent == REQUESTS * CHARGE, "spent %lld, expected %lld",
            (long long)u.spent, (long long)(REQUESTS * CHARGE));
    h_wait_converged(&c, 20000);
    h_node_start(&c, leader, false);
    h_wait_voters(&c, 3, 20000);
    h_wait_converged(&c, 30000);
    h_cluster_stop(&c);
    printf("queue failover: ok\n");
    return 0;
}
