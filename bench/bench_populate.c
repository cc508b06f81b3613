/* qm-bench --mode populate: fill a cluster with pools, clients and open
 * reservations (for memory and snapshot measurements), from a few threads
 * of synchronous calls. Names: pop-p00000.., pop-c00000..; reservations
 * hold 1 unit each for 24 hours. Existing entities count as created. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#define THREADS 8

enum phase { PH_POOLS = 0, PH_CLIENTS, PH_RESERVATIONS };

struct filler
{
    const struct bench_config *cfg;
    int phase;
    unsigned first, step;
    unsigned failed;
    char message[QM_MESSAGE_MAX + 1];
};

static void pool_name(char buf[16], unsigned i)
{
    snprintf(buf, 16, "pop-p%05u", i);
}

static void client_name(char buf[16], unsigned i)
{
    snprintf(buf, 16, "pop-c%05u", i);
}

/* One entity of the filler's phase. */
static int one(struct qm_client *c,
               const struct bench_config *cfg,
               int phase,
               unsigned i,
               struct qm_result *res)
{
    char p[16], cl[16];
    pool_name(p, phase == PH_POOLS ? i : i % cfg->populate[PH_POOLS]);
    client_name(cl, phase == PH_CLIENTS ? i : i % cfg->populate[PH_CLIENTS]);
    switch (phase) {
        case PH_POOLS: {
            struct qm_pool_spec s = {.name = p,
                                     .capacity = 1000000000 * QM_MILLI,
                                     .refill = 1000000 * QM_MILLI,
                                     .price = 1000};
            return qm_pool_create(c, &s, res);
        }
        case PH_CLIENTS:
            return qm_client_create(c, cl, QM_TIER_ENTERPRISE, false, 0, res);
        default: {
            struct qm_amount a;
            memset(&a, 0, sizeof(a));
            snprintf(a.pool, sizeof(a.pool), "%s", p);
            a.amount = QM_MILLI;
            struct qm_reserve out;
            return qm_reserve(c, cl, QM_RES_TTL_MAX_MS, &a, 1, &out, res);
        }
    }
}

static void *fill(void *arg)
{
    struct filler *f = arg;
    struct qm_options opt = {30000, 5000, NULL};
    struct qm_client *c;
    char err[QM_ERRMSG_SIZE];
    if (qm_client_new(&c, f->cfg->cluster, &opt, err) != QM_OK) {
        snprintf(f->message, sizeof(f->message), "%s", err);
        f->failed++;
        return NULL;
    }
    for (unsigned i = f->first; i < f->cfg->populate[f->phase]; i += f->step) {
        struct qm_result res;
        int rv = one(c, f->cfg, f->phase, i, &res);
        if (rv != QM_OK && rv != QM_EXISTS) {
            snprintf(f->message, sizeof(f->message), "%s", res.message);
            f->failed++;
        }
    }
    qm_client_free(c);
    return NULL;
}

int bench_populate(const struct bench_config *cfg)
{
    static const char *const names[] = {"pools", "clients", "reservations"};
    if (cfg->populate[PH_RESERVATIONS] > 0 &&
        (cfg->populate[PH_POOLS] == 0 || cfg->populate[PH_CLIENTS] == 0)) {
        fprintf(stderr, "qm-bench: reservations need --pools and --clients\n");
        return QM_INVALID;
    }
    for (int ph = PH_POOLS; ph <= PH_RESERVATIONS; ph++) {
        struct filler f[THREADS];
        pthread_t t[THREADS];
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (unsigned k = 0; k < THREADS; k++) {
            f[k] = (struct filler){cfg, ph, k, THREADS, 0, ""};
            pthread_create(&t[k], NULL, fill, &f[k]);
        }
        unsigned failed = 0;
        for (unsigned k = 0; k < THREADS; k++) {
            pthread_join(t[k], NULL);
            if (f[k].failed > 0) {
                fprintf(stderr, "qm-bench: %s: %s\n", names[ph], f[k].message);
            }
            failed += f[k].failed;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double s = (double)(t1.tv_sec - t0.tv_sec) +
                   (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        printf("populate: %u %s in %.1f s (%u failed)\n", cfg->populate[ph],
               names[ph], s, failed);
        if (failed > 0) {
            return QM_INTERNAL;
        }
    }
    return QM_OK;
}
