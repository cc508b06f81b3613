/* qm-bench: flags and output. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static void usage(FILE *out)
{
    fputs(
        "Usage: qm-bench [--cluster URL[,URL...]] [--mode MODE] [--inflight "
        "N]\n"
        "                [--connections N] [--duration SECONDS] [--warmup "
        "SECONDS]\n"
        "                [--pool NAME] [--json]\n"
        "\n"
        "Measure real operations against a running quartermaster cluster.\n"
        "\n"
        "  --cluster URLS      node API URLs (default $QM_CLUSTER, else\n"
        "                      tcp://127.0.0.1:7101)\n"
        "  --mode MODE         acquire (1 unit from the pool per call),\n"
        "                      reserve-commit (reserve 1 unit for a client,\n"
        "                      then commit it: one operation is the cycle),\n"
        "                      queue (submit a request with a tiny payload\n"
        "                      and no needs for a client, lease one -- maybe\n"
        "                      another's -- and complete it: one operation is\n"
        "                      the cycle; a lease refused counts as denied),\n"
        "                      read (linearizable pool get) or stale-read\n"
        "                      (the addressed node's state); default acquire\n"
        "  --inflight N        requests kept outstanding in total (1)\n"
        "  --connections N     clients they are spread over (1; each has a\n"
        "                      socket per node)\n"
        "  --duration SECONDS  measured time (10)\n"
        "  --warmup SECONDS    unmeasured time first (2)\n"
        "  --pool NAME         use this pool; by default a pool 'bench' with\n"
        "                      room for the whole run is created\n"
        "  --json              print one JSON document\n"
        "  --timeline FILE     write \"start_ms end_ms STATUS\" per measured\n"
        "                      operation (wall clock), e.g. for failover "
        "trials\n"
        "\n"
        "  --mode populate --pools N --clients N --reservations N\n"
        "                      no measurement: create pools pop-p00000..,\n"
        "                      enterprise clients pop-c00000.. and open\n"
        "                      reservations of 1 unit for 24 h, then exit\n"
        "\n"
        "Prints operations per second (answered calls: granted or denied),\n"
        "latency percentiles over every call, and the count of each outcome.\n",
        out);
}

static const char *mode_name(int m)
{
    switch (m) {
        case BENCH_ACQUIRE:
            return "acquire";
        case BENCH_READ:
            return "read";
        case BENCH_RESERVE_COMMIT:
            return "reserve-commit";
        case BENCH_QUEUE:
            return "queue";
        default:
            return "stale-read";
    }
}

void bench_print(const struct bench_config *cfg, const struct bench_result *r)
{
    if (cfg->json) {
        printf(
            "{\"mode\": \"%s\", \"inflight\": %u, \"connections\": %u, "
            "\"ops_per_sec\": %.1f, \"p50_ms\": %.3f, \"p90_ms\": %.3f, "
            "\"p99_ms\": %.3f, \"p999_ms\": %.3f, \"max_ms\": %.3f, "
            "\"ok\": %llu, \"denied\": %llu, \"errors\": %llu}\n",
            mode_name(cfg->mode), cfg->inflight, cfg->connections,
            r->ops_per_sec, r->p50_ms, r->p90_ms, r->p99_ms, r->p999_ms,
            r->max_ms, r->ok, r->denied, r->errors);
        return;
    }
    printf("mode %s, %u in flight over %u connection(s), %.0f s\n",
           mode_name(cfg->mode), cfg->inflight, cfg->connections,
           cfg->duration_s);
    printf("  %.0f ops/s\n", r->ops_per_sec);
    printf("  latency ms: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
           r->p50_ms, r->p90_ms, r->p99_ms, r->p999_ms, r->max_ms);
    printf("  ok %llu  denied %llu  errors %llu\n", r->ok, r->denied,
           r->errors);
}

static int positive(const char *s, double max, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (*end != '\0' || !(v > 0) || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    struct bench_config cfg = {.mode = BENCH_ACQUIRE,
                               .inflight = 1,
                               .connections = 1,
                               .duration_s = 10,
                               .warmup_s = 2};
    cfg.cluster = getenv("QM_CLUSTER");
    if (cfg.cluster == NULL || cfg.cluster[0] == '\0') {
        cfg.cluster = "tcp://127.0.0.1:7101";
    }
    static const struct option opts[] = {
        {"cluster", required_argument, NULL, 'c'},
        {"mode", required_argument, NULL, 'm'},
        {"inflight", required_argument, NULL, 'i'},
        {"connections", required_argument, NULL, 'n'},
        {"duration", required_argument, NULL, 'd'},
        {"warmup", required_argument, NULL, 'w'},
        {"pool", required_argument, NULL, 'p'},
        {"timeline", required_argument, NULL, 'T'},
        {"pools", required_argument, NULL, 'P'},
        {"clients", required_argument, NULL, 'C'},
        {"reservations", required_argument, NULL, 'R'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    double v;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
            case 'c':
                cfg.cluster = optarg;
                break;
            case 'm':
                if (strcmp(optarg, "acquire") == 0) {
                    cfg.mode = BENCH_ACQUIRE;
                } else if (strcmp(optarg, "read") == 0) {
                    cfg.mode = BENCH_READ;
                } else if (strcmp(optarg, "stale-read") == 0) {
                    cfg.mode = BENCH_STALE_READ;
                } else if (strcmp(optarg, "reserve-commit") == 0) {
                    cfg.mode = BENCH_RESERVE_COMMIT;
                } else if (strcmp(optarg, "populate") == 0) {
                    cfg.mode = BENCH_POPULATE;
                } else if (strcmp(optarg, "queue") == 0) {
                    cfg.mode = BENCH_QUEUE;
                } else {
                    fprintf(stderr,
                            "qm-bench: --mode is acquire, reserve-commit, "
                            "queue, read or stale-read\n");
                    return 2;
                }
                break;
            case 'i':
                if (positive(optarg, 100000, &v) != 0) {
                    fprintf(stderr, "qm-bench: --inflight wants 1..100000\n");
                    return 2;
                }
                cfg.inflight = (unsigned)v;
                break;
            case 'n':
                if (positive(optarg, 1024, &v) != 0) {
                    fprintf(stderr, "qm-bench: --connections wants 1..1024\n");
                    return 2;
                }
                cfg.connections = (unsigned)v;
                break;
            case 'd':
                if (positive(optarg, 86400, &cfg.duration_s) != 0) {
                    fprintf(stderr, "qm-bench: --duration wants seconds\n");
                    return 2;
                }
                break;
            case 'w':
                if (strcmp(optarg, "0") == 0) {
                    cfg.warmup_s = 0;
                } else if (positive(optarg, 3600, &cfg.warmup_s) != 0) {
                    fprintf(stderr, "qm-bench: --warmup wants seconds\n");
                    return 2;
                }
                break;
            case 'p':
                cfg.pool = optarg;
                break;
            case 'T':
                cfg.timeline = optarg;
                break;
            case 'P':
            case 'C':
            case 'R':
                if (positive(optarg, 10000000, &v) != 0) {
                    fprintf(stderr, "qm-bench: --%s wants a count\n",
                            ch == 'P'   ? "pools"
                            : ch == 'C' ? "clients"
                                        : "reservations");
                    return 2;
                }
                cfg.populate[ch == 'P' ? 0 : ch == 'C' ? 1 : 2] = (unsigned)v;
                break;
            case 'j':
                cfg.json = true;
                break;
            case 'h':
                usage(stdout);
                return 0;
            default:
                usage(stderr);
                return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "qm-bench: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (cfg.connections > cfg.inflight) {
        cfg.connections = cfg.inflight;
    }
    if (cfg.mode == BENCH_POPULATE) {
        return bench_populate(&cfg) == QM_OK ? 0 : 1;
    }
    struct bench_result r;
    int rv = bench_run(&cfg, &r);
    if (rv != QM_OK) {
        return 1;
    }
    bench_print(&cfg, &r);
    return r.errors > 0 ? 1 : 0;
}
