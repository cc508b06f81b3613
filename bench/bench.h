/* qm-bench: a load generator on libqm. It keeps --inflight requests
 * outstanding across --connections clients, reissuing each as soon as it
 * completes, records every latency (exact percentiles, no sampling) and
 * counts each status apart from errors. Callbacks run on libqm's threads;
 * counters are atomic. */
#ifndef QM_BENCH_BENCH_H
#define QM_BENCH_BENCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "qm.h"

enum bench_mode {
    BENCH_ACQUIRE = 1,
    BENCH_READ,
    BENCH_STALE_READ,
    BENCH_RESERVE_COMMIT,
    BENCH_POPULATE, /* not a measurement: creates entities (bench_populate.c) */
    BENCH_QUEUE,
};

/* Reservations a bench client keeps open at most (enterprise allows 100). */
#define BENCH_SLOTS_PER_CLIENT 64

struct bench_config
{
    const char *cluster;
    int mode;
    unsigned inflight;
    unsigned connections;
    double duration_s;
    double warmup_s;
    const char *pool; /* NULL: create "bench" */
    bool json;
    const char *timeline; /* write "start_ms end_ms STATUS" per operation */
    unsigned populate[3]; /* --mode populate: pools, clients, reservations */
};

struct bench_stats
{
    atomic_ullong ok;
    atomic_ullong denied;
    atomic_ullong errors;
    atomic_ullong nsamples;
    uint64_t *samples_us; /* latencies of the measured phase */
    uint64_t cap;
};

struct bench_result
{
    double ops_per_sec;
    double p50_ms, p90_ms, p99_ms, p999_ms, max_ms;
    unsigned long long ok, denied, errors;
};

/* Run the whole benchmark (warm-up, then measurement). QM_OK or an error
 * with a reason on stderr. */
int bench_run(const struct bench_config *cfg, struct bench_result *out);

/* --mode populate: create the entities of cfg->populate with a few threads
 * of synchronous calls. QM_OK or an error (reported on stderr). */
int bench_populate(const struct bench_config *cfg);

void bench_print(const struct bench_config *cfg, const struct bench_result *r);

#endif
