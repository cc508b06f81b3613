/* The queues through libqm on a real node: requests with text and binary
 * payloads and needs are worked off by qm_worker_run() on several threads,
 * each completed exactly once with its payload intact, and the first
 * attempt of some failed (they come back); a lease that ran out and went
 * to another worker cannot be completed by its first holder; an idle
 * qm_worker_next() gives up after its timeout; and the asynchronous
 * submit, lease and complete. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

#define REQUESTS 60
#define WORKERS 3
#define FLAKY(i) ((i) % 5 == 0) /* fails its first attempt */
#define NEEDY(i) ((i) % 3 == 0) /* needs a gpu */

static volatile bool stop;
static atomic_int completed[REQUESTS];
static atomic_int bad_payloads;

/* Request @i's payload: text for even @i, binary (with a NUL) for odd. */
static size_t payload_of(int i, char buf[32])
{
    if (i % 2 == 0) {
        return (size_t)snprintf(buf, 32, "req-%d", i);
    }
    buf[0] = '\0';
    buf[1] = (char)0xff;
    buf[2] = (char)i;
    return 3;
}

/* Which request a payload is, or -1. */
static int index_of(const struct qm_job *job)
{
    const char *p = job->payload;
    int i = -1;
    if (job->payload_len == 3 && p[0] == '\0') {
        i = (unsigned char)p[2];
    } else if (sscanf(p, "req-%d", &i) != 1) {
        return -1;
    }
    char want[32];
    size_t n = i >= 0 && i < REQUESTS ? payload_of(i, want) : 0;
    return n == job->payload_len && memcmp(want, p, n) == 0 ? i : -1;
}

static int handler(void *arg,
                   const struct qm_job *job,
                   struct qm_amount *used,
                   unsigned *nused,
                   char reason[QM_REASON_MAX + 1])
{
    (void)arg;
    int i = index_of(job);
    if (i < 0 || (job->reservation != 0) != NEEDY(i)) {
        atomic_fetch_add(&bad_payloads, 1);
        return QM_OK;
    }
    if (FLAKY(i) && job->attempt == 1) {
        snprintf(reason, QM_REASON_MAX + 1, "flaky %d", i);
        return QM_EIO;
    }
    if (NEEDY(i)) {
        used[0] = (struct qm_amount){"gpu", QM_MILLI / 2};
        *nused = 1;
    }
    atomic_fetch_add(&completed[i], 1);
    return QM_OK;
}

struct worker
{
    struct h_cluster *c;
    pthread_t thread;
    char name[16];
    int rv;
};

static void *work(void *arg)
{
    struct worker *wk = arg;
    struct qm_worker_options opt = {.name = wk->name, .lease_ms = 10000};
    struct qm_worker *w;
    struct qm_result res;
    H_CHECK(qm_worker_new(&w, wk->c->client, &opt, &res) == QM_OK, "%s",
            res.message);
    wk->rv = qm_worker_run(w, handler, NULL, &stop, &res);
    qm_worker_free(w);
    return NULL;
}

static uint64_t done_count(struct h_cluster *c)
{
    struct qm_queue_stats st[QM_QTIERS];
    unsigned n;
    struct qm_result res;
    H_CHECK(qm_queue_stats(c->client, false, st, &n, &res) == QM_OK, "%s",
            res.message);
    uint64_t done = 0;
    for (unsigned i = 0; i < n; i++) {
        done += st[i].done;
    }
    return done;
}

static void test_worker_loop(struct h_cluster *c)
{
    uint64_t ids[REQUESTS];
    struct qm_amount gpu = {"gpu", QM_MILLI};
    for (int i = 0; i < REQUESTS; i++) {
        char p[32];
        struct qm_submit s = {.client = "acme",
                              .tier = QM_QTIER_IMMEDIATE + i % QM_QTIERS,
                              .urgency = i % (QM_URGENCY_MAX + 1),
                              .nneeds = NEEDY(i) ? 1 : 0,
                              .needs = &gpu,
                              .payload = p,
                              .payload_len = payload_of(i, p)};
        struct qm_result res;
        H_CHECK(qm_submit(c->client, &s, &ids[i], &res) == QM_OK,
                "submit %d: %s", i, res.message);
    }
    struct worker w[WORKERS];
    for (int k = 0; k < WORKERS; k++) {
        w[k] = (struct worker){.c = c};
        snprintf(w[k].name, sizeof(w[k].name), "w%d", k);
        pthread_create(&w[k].thread, NULL, work, &w[k]);
    }
    int64_t until = h_now_ms() + 30000;
    while (done_count(c) < REQUESTS && h_now_ms() < until) {
        h_sleep_ms(100);
    }
    stop = true;
    for (int k = 0; k < WORKERS; k++) {
        pthread_join(w[k].thread, NULL);
        H_CHECK(w[k].rv == QM_OK, "worker %d ended with %s", k,
                qm_errname(w[k].rv));
    }
    H_CHECK(atomic_load(&bad_payloads) == 0, "%d bad payloads",
            atomic_load(&bad_payloads));
    for (int i = 0; i < REQUESTS; i++) {
        struct qm_request r;
        struct qm_result res;
        H_CHECK(atomic_load(&completed[i]) == 1,
                "request %d completed %d times", i, atomic_load(&completed[i]));
        H_CHECK(qm_queue_get(c->client, ids[i], false, &r, &res) == QM_OK,
                "get %d: %s", i, res.message);
        H_CHECK(r.state == QM_QSTATE_DONE && r.attempts == (FLAKY(i) ? 2u : 1u),
                "request %d: state %d after %u attempts", i, r.state,
                r.attempts);
    }
    h_log("%d requests worked off by %d workers", REQUESTS, WORKERS);
}

/* A lease that runs out goes to the next worker; the first holder's
 * complete is refused. */
static void test_lease_token(struct h_cluster *c)
{
    struct qm_submit s = {.client = "acme", .tier = QM_QTIER_FAST};
    struct qm_job a, b;
    struct qm_result res;
    uint64_t id;
    H_CHECK(qm_submit(c->client, &s, &id, &res) == QM_OK, "%s", res.message);
    H_CHECK(qm_lease(c->client, "slow", 1000, &a, &res) == QM_OK, "%s",
            res.message);
    H_CHECK(a.id == id && a.attempt == 1 && a.payload_len == 0 &&
                ((char *)a.payload)[0] == '\0',
            "lease 1");
    int rv = QM_DENIED;
    for (int64_t until = h_now_ms() + 10000;
         rv == QM_DENIED && h_now_ms() < until;) {
        h_sleep_ms(100);
        rv = qm_lease(c->client, "fast", 0, &b, &res);
    }
    H_CHECK(rv == QM_OK && b.id == id && b.attempt == 2,
            "lease 2: %s, q%llu attempt %llu", qm_errname(rv),
            (unsigned long long)b.id, (unsigned long long)b.attempt);
    rv = qm_complete(c->client, id, a.attempt, NULL, 0, NULL, &res);
    H_CHECK(rv == QM_NOT_FOUND, "stale complete: %s", qm_errname(rv));
    rv = qm_complete(c->client, id, b.attempt, NULL, 0, NULL, &res);
    H_CHECK(rv == QM_OK, "complete: %s", res.message);
    qm_job_clear(&a);
    qm_job_clear(&b);
    qm_job_clear(&b);
}

static void test_idle_timeout(struct h_cluster *c)
{
    struct qm_worker_options opt = {.name = "idle", .idle_max_ms = 100};
    struct qm_worker *w;
    struct qm_job job;
    struct qm_result res;
    H_CHECK(qm_worker_new(&w, c->client, &opt, &res) == QM_OK, "%s",
            res.message);
    int64_t t0 = h_now_ms();
    int rv = qm_worker_next(w, 300, &job, &res);
    int64_t took = h_now_ms() - t0;
    H_CHECK(rv == QM_DENIED && took >= 300 && took < 2000,
            "idle next: %s after %lld ms", qm_errname(rv), (long long)took);
    qm_worker_free(w);
    opt.idle_min_ms = 200;
    H_CHECK(qm_worker_new(&w, c->client, &opt, &res) == QM_INVALID,
            "min above max accepted");
}

/* ---- the asynchronous calls ---- */

static atomic_int step;
static _Atomic uint64_t async_id;
static _Atomic uint64_t async_attempt;
static atomic_int async_status;

static void on_submit(void *arg, const struct qm_result *res, uint64_t id)
{
    (void)arg;
    async_id = id;
    async_status = res->status;
    step = 1;
}

static void on_lease(void *arg,
                     const struct qm_result *res,
                     const struct qm_job *job)
{
    (void)arg;
    bool ok = job != NULL && job->id == async_id && job->payload_len == 5 &&
              memcmp(job->payload, "async", 5) == 0;
    async_attempt = job != NULL ? job->attempt : 0;
    async_status = ok ? res->status : QM_EPROTO;
    step = 2;
}

static void on_complete(void *arg, const struct qm_result *res, int64_t cost)
{
    (void)arg;
    (void)cost;
    async_status = res->status;
    step = 3;
}

static void wait_step(int n)
{
    for (int64_t until = h_now_ms() + 10000;
         atomic_load(&step) < n && h_now_ms() < until;) {
        h_sleep_ms(5);
    }
    H_CHECK(atomic_load(&step) == n && async_status == QM_OK,
            "async step %d: %s", n, qm_errname(async_status));
}

static void test_async(struct h_cluster *c)
{
    struct qm_submit s = {.client = "acme",
                          .tier = QM_QTIER_NORMAL,
                          .payload = "async",
                          .payload_len = 5};
    H_CHECK(qm_submit_async(c->client, &s, on_submit, NULL) == QM_OK, "submit");
    wait_step(1);
    H_CHECK(qm_lease_async(c->client, "async", 0, on_lease, NULL) == QM_OK,
            "lease");
    wait_step(2);
    H_CHECK(qm_complete_async(c->client, async_id, async_attempt, NULL, 0,
                              on_complete, NULL) == QM_OK,
            "complete");
    wait_step(3);
}

int main(void)
{
    struct h_cluster c;
    h_cluster_init(&c, "queue", 1);
    h_cluster_start(&c);
    struct qm_result res;
    struct qm_pool_spec gpu = {.name = "gpu",
                               .capacity = 8 * QM_MILLI,
                               .refill = 8 * QM_MILLI,
                               .price = 1000000};
    H_CHECK(qm_pool_create(c.client, &gpu, &res) == QM_OK, "pool: %s",
            res.message);
    H_CHECK(qm_client_create(c.client, "acme", QM_TIER_ENTERPRISE, false, 0,
                             &res) == QM_OK,
            "client: %s", res.message);
    test_worker_loop(&c);
    test_lease_token(&c);
    test_idle_timeout(&c);
    test_async(&c);
    h_cluster_stop(&c);
    return 0;
}
