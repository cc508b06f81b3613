/* The load loop: each in-flight slot owns one request at a time and
 * starts the next one from the completion callback of the last. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "qm_call.h"

struct slot;

struct run
{
    const struct bench_config *cfg;
    struct qm_client **clients;
    struct bench_stats stats;
    atomic_bool measuring;
    atomic_bool stopping;
    atomic_uint outstanding;
    pthread_mutex_t mu;
    pthread_cond_t done;
    struct tp_pool_name pool;
    FILE *timeline; /* --timeline, written under mu */
};

struct slot
{
    struct run *run;
    struct qm_client *client;
    char who[32];    /* the ledger client of reserve-commit and queue */
    char worker[32]; /* the worker name of queue */
    int64_t started_ns;
    int64_t started_wall_ms; /* for --timeline */
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void issue(struct slot *s);

static void record(struct slot *s, int status)
{
    struct run *r = s->run;
    if (!atomic_load(&r->measuring)) {
        return;
    }
    if (status == QM_OK) {
        atomic_fetch_add(&r->stats.ok, 1);
    } else if (status == QM_DENIED) {
        atomic_fetch_add(&r->stats.denied, 1);
    } else {
        atomic_fetch_add(&r->stats.errors, 1);
    }
    uint64_t i = atomic_fetch_add(&r->stats.nsamples, 1);
    if (i < r->stats.cap) {
        r->stats.samples_us[i] = (uint64_t)(now_ns() - s->started_ns) / 1000;
    }
    if (r->timeline != NULL) {
        pthread_mutex_lock(&r->mu);
        fprintf(r->timeline, "%lld %lld %s\n", (long long)s->started_wall_ms,
                (long long)wall_ms(), qm_errname(status));
        pthread_mutex_unlock(&r->mu);
    }
}

static void finish_one(struct run *r)
{
    pthread_mutex_lock(&r->mu);
    if (atomic_fetch_sub(&r->outstanding, 1) == 1) {
        pthread_cond_signal(&r->done);
    }
    pthread_mutex_unlock(&r->mu);
}

static void next(struct slot *s, int status)
{
    record(s, status);
    if (atomic_load(&s->run->stopping)) {
        finish_one(s->run);
        return;
    }
    issue(s);
}

static void on_acquire(void *arg,
                       const struct qm_result *res,
                       const struct qm_acquire *out)
{
    (void)out;
    next(arg, res->status);
}

static void on_commit(void *arg, const struct qm_result *res, int64_t cost)
{
    (void)cost;
    next(arg, res->status);
}

/* A step of a cycle answered: true when it went well (QM_OK with its
 * answer, @body) and the cycle goes on; otherwise the cycle ends with its
 * status. */
static bool answered(struct slot *s, const struct qm_result *res, bool body)
{
    if (res->status == QM_OK && body) {
        return true;
    }
    next(s, res->status);
    return false;
}

/* The next step of a cycle was started (@rv QM_OK), or the cycle ends. */
static void continued(struct slot *s, int rv)
{
    if (rv != QM_OK) {
        next(s, rv);
    }
}

/* A cycle is a reservation and its commit; a refused or failed
 * reservation ends the cycle with its status. */
static void on_reserve(void *arg,
                       const struct qm_result *res,
                       const struct qm_reserve *out)
{
    struct slot *s = arg;
    if (answered(s, res, out != NULL)) {
        continued(s,
                  qm_commit_async(s->client, out->id, NULL, 0, on_commit, s));
    }
}

/* A queue cycle is a submit, a lease (of any slot's request) and its
 * complete; a lease answered DENIED ends the cycle as denied. */
static void on_lease(void *arg,
                     const struct qm_result *res,
                     const struct qm_job *job)
{
    struct slot *s = arg;
    if (answered(s, res, job != NULL)) {
        continued(s, qm_complete_async(s->client, job->id, job->attempt, NULL,
                                       0, on_commit, s));
    }
}

static void on_submit(void *arg, const struct qm_result *res, uint64_t id)
{
    struct slot *s = arg;
    if (answered(s, res, id != 0)) {
        continued(s, qm_lease_async(s->client, s->worker, 0, on_lease, s));
    }
}

static void on_call(void *arg, const struct qm_result *res, struct qm_span body)
{
    (void)body;
    next(arg, res->status);
}

static void issue(struct slot *s)
{
    struct run *r = s->run;
    s->started_ns = now_ns();
    s->started_wall_ms = wall_ms();
    int rv;
    switch (r->cfg->mode) {
        case BENCH_ACQUIRE:
            rv = qm_acquire_async(s->client, r->pool.name, QM_MILLI, on_acquire,
                                  s);
            break;
        case BENCH_RESERVE_COMMIT: {
            struct qm_amount a;
            memset(&a, 0, sizeof(a));
            snprintf(a.pool, sizeof(a.pool), "%s", r->pool.name);
            a.amount = QM_MILLI;
            rv = qm_reserve_async(s->client, s->who, 30000, &a, 1, on_reserve,
                                  s);
            break;
        }
        case BENCH_QUEUE: {
            struct qm_submit sub = {.client = s->who,
                                    .tier = QM_QTIER_NORMAL,
                                    .payload = "bench",
                                    .payload_len = 5};
            rv = qm_submit_async(s->client, &sub, on_submit, s);
            break;
        }
        default:
            rv = qm__call(s->client, TP_OP_POOL_GET, &tp_pool_name_schema,
                          &r->pool,
                          r->cfg->mode == BENCH_STALE_READ ? QM_CALL_STALE : 0,
                          NULL, on_call, s);
            break;
    }
    if (rv != QM_OK) {
        record(s, rv);
        finish_one(r);
    }
}

static int prepare_pool(struct run *r)
{
    struct qm_result res;
    if (r->cfg->pool != NULL) {
        snprintf(r->pool.name, sizeof(r->pool.name), "%s", r->cfg->pool);
        return QM_OK;
    }
    snprintf(r->pool.name, sizeof(r->pool.name), "bench");
    /* Room for the whole run: a full bucket refilled faster than any
     * cluster can drain it. */
    struct qm_pool_spec spec = {
        .name = "bench", .capacity = QM_TOKENS_MAX, .refill = QM_REFILL_MAX};
    int rv = qm_pool_create(r->clients[0], &spec, &res);
    if (rv != QM_OK && rv != QM_EXISTS) {
        fprintf(stderr, "qm-bench: cannot create pool bench: %s\n",
                res.message);
        return rv;
    }
    return QM_OK;
}

/* Ledger clients for reserve-commit and queue: enterprise (no budget
 * unless set), each holding at most BENCH_SLOTS_PER_CLIENT open
 * reservations; and a worker name per slot. */
static int prepare_clients(struct run *r, struct slot *slots)
{
    for (unsigned i = 0; i < r->cfg->inflight; i++) {
        snprintf(slots[i].who, sizeof(slots[i].who), "bench-%u",
                 i / BENCH_SLOTS_PER_CLIENT);
        snprintf(slots[i].worker, sizeof(slots[i].worker), "bench-w%u", i);
        if (i % BENCH_SLOTS_PER_CLIENT != 0) {
            continue;
        }
        struct qm_result res;
        int rv = qm_client_create(r->clients[0], slots[i].who,
                                  QM_TIER_ENTERPRISE, false, 0, &res);
        if (rv != QM_OK && rv != QM_EXISTS) {
            fprintf(stderr, "qm-bench: cannot create client %s: %s\n",
                    slots[i].who, res.message);
            return rv;
        }
    }
    return QM_OK;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(const uint64_t *v, uint64_t n, double p)
{
    if (n == 0) {
        return 0;
    }
    uint64_t i = (uint64_t)(p * (double)(n - 1) + 0.5);
    return (double)v[i] / 1000.0;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

int bench_run(const struct bench_config *cfg, struct bench_result *out)
{
    struct run r;
    memset(&r, 0, sizeof(r));
    r.cfg = cfg;
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.done, NULL);
    r.clients = calloc(cfg->connections, sizeof(*r.clients));
    struct slot *slots = calloc(cfg->inflight, sizeof(*slots));
    r.stats.cap = (uint64_t)(cfg->duration_s * 400000) + 1000000;
    r.stats.samples_us = malloc(r.stats.cap * sizeof(uint64_t));
    if (r.clients == NULL || slots == NULL || r.stats.samples_us == NULL) {
        fprintf(stderr, "qm-bench: out of memory\n");
        return QM_ENOMEM;
    }
    int rv = QM_OK;
    if (cfg->timeline != NULL &&
        (r.timeline = fopen(cfg->timeline, "w")) == NULL) {
        fprintf(stderr, "qm-bench: cannot write %s\n", cfg->timeline);
        rv = QM_EIO;
    }
    struct qm_options opt = {10000, 2000, NULL};
    for (unsigned i = 0; i < cfg->connections && rv == QM_OK; i++) {
        char err[QM_ERRMSG_SIZE];
        rv = qm_client_new(&r.clients[i], cfg->cluster, &opt, err);
        if (rv != QM_OK) {
            fprintf(stderr, "qm-bench: --cluster %s: %s\n", cfg->cluster, err);
        }
    }
    if (rv == QM_OK) {
        rv = prepare_pool(&r);
    }
    if (rv == QM_OK &&
        (cfg->mode == BENCH_RESERVE_COMMIT || cfg->mode == BENCH_QUEUE)) {
        rv = prepare_clients(&r, slots);
    }
    if (rv == QM_OK) {
        atomic_store(&r.outstanding, cfg->inflight);
        for (unsigned i = 0; i < cfg->inflight; i++) {
            slots[i].run = &r;
            slots[i].client = r.clients[i % cfg->connections];
            issue(&slots[i]);
        }
        sleep_s(cfg->warmup_s);
        int64_t t0 = now_ns();
        atomic_store(&r.measuring, true);
        sleep_s(cfg->duration_s);
        atomic_store(&r.measuring, false);
        int64_t t1 = now_ns();
        atomic_store(&r.stopping, true);
        pthread_mutex_lock(&r.mu);
        while (atomic_load(&r.outstanding) > 0) {
            pthread_cond_wait(&r.done, &r.mu);
        }
        pthread_mutex_unlock(&r.mu);

        uint64_t n = atomic_load(&r.stats.nsamples);
        if (n > r.stats.cap) {
            n = r.stats.cap;
        }
        qsort(r.stats.samples_us, n, sizeof(uint64_t), cmp_u64);
        memset(out, 0, sizeof(*out));
        out->ok = atomic_load(&r.stats.ok);
        out->denied = atomic_load(&r.stats.denied);
        out->errors = atomic_load(&r.stats.errors);
        out->ops_per_sec =
            (double)(out->ok + out->denied) / ((double)(t1 - t0) / 1e9);
        out->p50_ms = pct(r.stats.samples_us, n, 0.50);
        out->p90_ms = pct(r.stats.samples_us, n, 0.90);
        out->p99_ms = pct(r.stats.samples_us, n, 0.99);
        out->p999_ms = pct(r.stats.samples_us, n, 0.999);
        out->max_ms = n > 0 ? (double)r.stats.samples_us[n - 1] / 1000.0 : 0;
    }
    for (unsigned i = 0; i < cfg->connections; i++) {
        qm_client_free(r.clients[i]);
    }
    free(r.clients);
    free(slots);
    free(r.stats.samples_us);
    if (r.timeline != NULL) {
        fclose(r.timeline);
    }
    pthread_cond_destroy(&r.done);
    pthread_mutex_destroy(&r.mu);
    return rv;
}
