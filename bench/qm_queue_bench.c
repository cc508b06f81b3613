/* qm-queue-bench: the queues of the state machine at scale, in process (the
 * state machine linked as the unit tests link it: no raft, no network). On
 * a fresh database on disk it submits N requests in raft entries of 64
 * commands and reports the cost of a submit as the queue grows, the cost of
 * a dispatch (a lease and its complete) at each size and at the full size,
 * the process's memory and the LMDB file, what TICK costs when the whole
 * queue starves at once, and a snapshot of it all: its time and size, and
 * the time to restore it into a second database, whose digest must match.
 * Prints a table and one JSON line. */
#define _GNU_SOURCE /* statfs's TMPFS_MAGIC, nftw's FTW_DEPTH */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <linux/magic.h>

#include "fsm.h"
#include "qm_alloc.h"
#include "qm_codec.h"
#include "qm_err.h"
#include "qm_limits.h"
#include "qm_log.h"
#include "qm_mp.h"
#include "tp_msg.h"

#define BATCH 64    /* commands per raft entry */
#define STEP 100000 /* report the enqueue rate per this many requests */
#define SAMPLE 2048 /* dispatches timed at each step */
#define FINAL 16384 /* dispatches timed at the full size */
#define NCLIENTS 8
#define T0 1709294400000LL /* 2024-03-01 12:00 UTC: outside off-peak */

struct qb
{
    struct fsm *f;
    char dir[PATH_MAX];
    uint64_t index;
    int64_t now;
    struct qm_buf cmds, args, entry;
    uint32_t ncmds;
    uint64_t rng;
    uint64_t queued;
    uint64_t ids[BATCH];
};

struct step_row
{
    uint64_t size;
    double submit_us;
    double dispatch_us;
};

/* ---- plumbing ---- */

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void die(const char *what, int rv)
{
    fprintf(stderr, "qm-queue-bench: %s: %s\n", what, qm_strerror(rv));
    exit(1);
}

static uint64_t rnd(struct qb *q, uint64_t n)
{
    q->rng ^= q->rng >> 12;
    q->rng ^= q->rng << 25;
    q->rng ^= q->rng >> 27;
    return (q->rng * 0x2545f4914f6cdd1dull) % n;
}

static void open_fsm(struct qb *q, const char *parent)
{
    snprintf(q->dir, sizeof(q->dir), "%s/qm-queue-bench.XXXXXX", parent);
    if (mkdtemp(q->dir) == NULL) {
        fprintf(stderr, "qm-queue-bench: mkdtemp %s: %s\n", q->dir,
                strerror(errno));
        exit(1);
    }
    struct fsm_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.dir = q->dir;
    cfg.map_size = (size_t)64 << 30;
    cfg.sync = FSM_SYNC_NONE;
    char err[QM_ERRMSG_SIZE] = "";
    int rv = fsm_open(&q->f, &cfg, err);
    if (rv != QM_OK) {
        fprintf(stderr, "qm-queue-bench: open %s: %s\n", q->dir, err);
        exit(1);
    }
    qm_buf_init(&q->cmds);
    qm_buf_init(&q->args);
    qm_buf_init(&q->entry);
    q->index = 1;
    q->now = T0;
}

static int rm_one(const char *path,
                  const struct stat *st,
                  int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void close_fsm(struct qb *q, bool keep)
{
    fsm_close(q->f);
    qm_buf_close(&q->cmds);
    qm_buf_close(&q->args);
    qm_buf_close(&q->entry);
    if (!keep) {
        nftw(q->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    }
}

/* Append a command to the entry being built. */
static void add(struct qb *q,
                uint32_t op,
                const struct qm_schema *s,
                const void *args)
{
    struct qm_span as = {NULL, 0};
    qm_buf_reset(&q->args);
    if (s != NULL) {
        qm_encode(s, args, &q->args);
        as.p = q->args.data;
        as.n = q->args.len;
    }
    int rv = tp_cmd_encode(&q->cmds, op, 0, 0, as);
    if (rv != QM_OK || qm_buf_status(&q->args) != QM_OK) {
        die("encode", rv != QM_OK ? rv : QM_ENOMEM);
    }
    q->ncmds++;
}

/* Apply the entry built so far at the next index, commit, and check each
 * result is @want; with @leases, the leased ids go to q->ids. */
static void apply(struct qb *q, int want, bool leases)
{
    qm_buf_reset(&q->entry);
    int rv = fsm_entry_header(&q->entry, q->now, q->ncmds);
    qm_buf_append(&q->entry, q->cmds.data, q->cmds.len);
    if (rv != QM_OK || qm_buf_status(&q->entry) != QM_OK) {
        die("entry", rv != QM_OK ? rv : QM_ENOMEM);
    }
    struct fsm_results res;
    q->index++;
    rv = fsm_apply(q->f, q->index, q->entry.data, q->entry.len, &res);
    if (rv == QM_OK) {
        rv = fsm_flush(q->f);
    }
    if (rv != QM_OK) {
        die("apply", rv);
    }
    for (uint32_t i = 0; i < res.n; i++) {
        struct tp_result r;
        struct tp_lease l;
        char err[QM_ERRMSG_SIZE];
        if (qm_decode(&tp_result_schema, res.items[i].p, res.items[i].n, &r,
                      err) != QM_OK) {
            die("result", QM_EPROTO);
        }
        if ((int)r.status != want) {
            fprintf(stderr, "qm-queue-bench: command %u: %s (%s)\n", i,
                    qm_errname((int)r.status), r.message);
            exit(1);
        }
        if (leases) {
            if (i >= BATCH || qm_decode(&tp_lease_schema, r.body.p, r.body.n,
                                        &l, err) != QM_OK) {
                die("lease result", QM_EPROTO);
            }
            q->ids[i] = l.id;
        }
    }
    qm_buf_reset(&q->cmds);
    q->ncmds = 0;
}

/* ---- the workload ---- */

static void setup(struct qb *q)
{
    for (int i = 0; i < NCLIENTS; i++) {
        struct tp_client_create cc;
        memset(&cc, 0, sizeof(cc));
        snprintf(cc.id, sizeof(cc.id), "client-%d", i);
        cc.tier = TP_TIER_ENTERPRISE + (uint64_t)(i % TP_TIERS);
        add(q, TP_OP_CLIENT_CREATE, &tp_client_create_schema, &cc);
    }
    struct tp_pool_create pc;
    memset(&pc, 0, sizeof(pc));
    snprintf(pc.name, sizeof(pc.name), "cpu");
    pc.capacity = QM_TOKENS_MAX;
    add(q, TP_OP_POOL_CREATE, &tp_pool_create_schema, &pc);
    apply(q, QM_OK, false);
}

/* @n submits: random client, tier and urgency; a 64-byte payload; half
 * need one unit of the pool. A millisecond per entry, at noon: a fifth are
 * deferred and stay queued (outside off-peak, others wait), so dispatch
 * runs past a deferred backlog that grows old. */
static void submit(struct qb *q, uint64_t n)
{
    static const uint8_t payload[64] = "{\"job\": \"render\", \"frame\": 1}";
    for (uint64_t done = 0; done < n;) {
        for (; q->ncmds < BATCH && done < n; done++) {
            struct tp_submit s;
            memset(&s, 0, sizeof(s));
            snprintf(s.client, sizeof(s.client), "client-%d",
                     (int)rnd(q, NCLIENTS));
            s.qtier = TP_QTIER_IMMEDIATE + rnd(q, TP_QTIERS);
            s.urgency = (int64_t)rnd(q, 31);
            s.payload.p = payload;
            s.payload.n = sizeof(payload);
            if (rnd(q, 2) == 0) {
                s.nneeds = 1;
                snprintf(s.needs[0].pool, sizeof(s.needs[0].pool), "cpu");
                s.needs[0].amount = QM_MILLI;
            }
            add(q, TP_OP_QUEUE_SUBMIT, &tp_submit_schema, &s);
        }
        apply(q, QM_OK, false);
        q->now++;
    }
    q->queued += n;
}

/* @n dispatches (a multiple of 32): entries of 32 leases, then an entry of
 * their 32 completes. Returns microseconds per dispatch. */
static double dispatch(struct qb *q, uint64_t n)
{
    enum { HALF = BATCH / 2 };
    double t = now_us();
    for (uint64_t done = 0; done < n; done += HALF) {
        struct tp_lease_args la;
        memset(&la, 0, sizeof(la));
        snprintf(la.worker, sizeof(la.worker), "worker-%d", (int)(done % 7));
        for (int i = 0; i < HALF; i++) {
            add(q, TP_OP_QUEUE_LEASE, &tp_lease_args_schema, &la);
        }
        apply(q, QM_OK, true);
        for (int i = 0; i < HALF; i++) {
            struct tp_complete c;
            memset(&c, 0, sizeof(c));
            c.id = q->ids[i];
            add(q, TP_OP_QUEUE_COMPLETE, &tp_complete_schema, &c);
        }
        apply(q, QM_OK, false);
        q->now++;
    }
    q->queued -= n;
    return (now_us() - t) / (double)n;
}

/* ---- measurements ---- */

static double rss_mib(void)
{
    long pages = 0, resident = 0;
    FILE *fp = fopen("/proc/self/statm", "r");
    if (fp == NULL || fscanf(fp, "%ld %ld", &pages, &resident) != 2) {
        resident = 0;
    }
    if (fp != NULL) {
        fclose(fp);
    }
    return (double)resident * (double)sysconf(_SC_PAGESIZE) / 1048576.0;
}

static double file_mib(const struct qb *q, double *on_disk)
{
    char path[PATH_MAX + 16];
    struct stat st;
    snprintf(path, sizeof(path), "%s/data.mdb", q->dir);
    if (stat(path, &st) != 0) {
        *on_disk = 0;
        return 0;
    }
    *on_disk = (double)st.st_blocks * 512.0 / 1048576.0;
    return (double)st.st_size / 1048576.0;
}

/* A TICK at @t; microseconds. */
static double tick(struct qb *q, int64_t t)
{
    q->now = t;
    double t0 = now_us();
    add(q, TP_OP_TICK, NULL, NULL);
    apply(q, QM_OK, false);
    return now_us() - t0;
}

/* The parent of the temporary databases: /tmp unless it is a tmpfs (RAM
 * would flatter the figures), else build/. */
static const char *pick_parent(void)
{
    struct statfs sf;
    if (statfs("/tmp", &sf) == 0 && sf.f_type == TMPFS_MAGIC) {
        return "build";
    }
    return "/tmp";
}

static void usage(FILE *out)
{
    fputs(
        "Usage: qm-queue-bench [--requests N] [--dir DIR] [--keep]\n"
        "\n"
        "Measure the queues of the state machine in process, on disk:\n"
        "  --requests N  requests to queue (1000000)\n"
        "  --dir DIR     where to make the databases (/tmp, or build/ when\n"
        "                /tmp is a tmpfs)\n"
        "  --keep        leave the databases behind\n",
        out);
}

struct results
{
    uint64_t n, nrows;
    uint64_t sample, final; /* dispatches timed: per step, at full size */
    struct step_row rows[64];
    double final_us, rss_mib, file_mib, disk_mib, tick_s, starving_us;
    uint64_t starving_size;
    double snap_s, snap_mib, restore_s, digest_s;
    bool same;
};

static void print_results(const struct results *r, const char *dir)
{
    time_t t = time(NULL);
    char day[16];
    strftime(day, sizeof(day), "%Y-%m-%d", gmtime(&t));
    printf("qm-queue-bench %s, %llu requests, database under %s\n\n", day,
           (unsigned long long)r->n, dir);
    printf("%12s %16s %18s\n", "queued", "us per submit", "us per dispatch");
    for (uint64_t i = 0; i < r->nrows; i++) {
        printf("%12llu %16.2f %18.2f\n", (unsigned long long)r->rows[i].size,
               r->rows[i].submit_us, r->rows[i].dispatch_us);
    }
    printf("\n%-44s %10.2f us\n", "dispatch at full size (lease + complete)",
           r->final_us);
    printf("%-44s %10.1f MiB\n", "process RSS (LMDB pages mapped included)",
           r->rss_mib);
    printf("%-44s %10.1f MiB (%.1f on disk, %.0f B/request)\n", "LMDB file",
           r->file_mib, r->disk_mib, r->file_mib * 1048576.0 / (double)r->n);
    printf("%-44s %10.2f s\n", "TICK when all starve at once", r->tick_s);
    printf("%-44s %10.2f us\n", "dispatch when all starve (oldest first)",
           r->starving_us);
    printf("%-44s %10.2f s, %.1f MiB\n", "snapshot", r->snap_s, r->snap_mib);
    printf("%-44s %10.2f s, digest %s (%.2f s)\n",
           "restore into a new database", r->restore_s,
           r->same ? "matches" : "DIFFERS", r->digest_s);
    printf("\n{\"date\":\"%s\",\"requests\":%llu,\"steps\":[", day,
           (unsigned long long)r->n);
    for (uint64_t i = 0; i < r->nrows; i++) {
        printf("%s{\"queued\":%llu,\"submit_us\":%.2f,\"dispatch_us\":%.2f}",
               i > 0 ? "," : "", (unsigned long long)r->rows[i].size,
               r->rows[i].submit_us, r->rows[i].dispatch_us);
    }
    printf(
        "],\"dispatch_us\":%.2f,\"rss_mib\":%.1f,\"lmdb_mib\":%.1f,"
        "\"lmdb_disk_mib\":%.1f,\"starve_tick_s\":%.2f,"
        "\"starving_dispatch_us\":%.2f,\"snapshot_s\":%.2f,"
        "\"snapshot_mib\":%.1f,\"restore_s\":%.2f,\"digest_match\":%s}\n",
        r->final_us, r->rss_mib, r->file_mib, r->disk_mib, r->tick_s,
        r->starving_us, r->snap_s, r->snap_mib, r->restore_s,
        r->same ? "true" : "false");
}

/* Queue @r->n requests, timing each STEP and a dispatch sample after it. */
static void grow(struct qb *q, struct results *r)
{
    for (uint64_t at = 0; at < r->n;) {
        uint64_t n = r->n - at < STEP ? r->n - at : STEP;
        double t = now_us();
        submit(q, n);
        at += n;
        struct step_row *row = &r->rows[r->nrows++];
        row->submit_us = (now_us() - t) / (double)n;
        row->size = q->queued;
        row->dispatch_us = dispatch(q, r->sample);
        submit(q, r->sample); /* back to the size */
        fprintf(stderr, "qm-queue-bench: %llu queued\n",
                (unsigned long long)q->queued);
    }
}

/* Snapshot @q, restore it into a new database under @parent, compare the
 * digests. */
static void snapshot(struct qb *q,
                     const char *parent,
                     bool keep,
                     struct results *r)
{
    struct fsm_snap *snap;
    void *buf;
    size_t len;
    double t = now_us();
    int rv = fsm_snapshot_begin(q->f, &snap);
    if (rv == QM_OK) {
        rv = fsm_snapshot_write(snap, &buf, &len);
        fsm_snapshot_end(snap);
    }
    if (rv != QM_OK) {
        die("snapshot", rv);
    }
    r->snap_s = (now_us() - t) / 1e6;
    r->snap_mib = (double)len / 1048576.0;
    struct qb copy;
    memset(&copy, 0, sizeof(copy));
    open_fsm(&copy, parent);
    t = now_us();
    rv = fsm_restore(copy.f, buf, len);
    r->restore_s = (now_us() - t) / 1e6;
    qm_free(buf);
    if (rv != QM_OK) {
        die("restore", rv);
    }
    char a[33], b[33];
    uint64_t ia, ib;
    t = now_us();
    if (fsm_digest(q->f, a, &ia) != QM_OK ||
        fsm_digest(copy.f, b, &ib) != QM_OK) {
        die("digest", QM_EIO);
    }
    r->digest_s = (now_us() - t) / 2e6;
    r->same = strcmp(a, b) == 0 && ia == ib;
    close_fsm(&copy, keep);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"requests", required_argument, NULL, 'n'},
        {"dir", required_argument, NULL, 'd'},
        {"keep", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct results r;
    memset(&r, 0, sizeof(r));
    r.n = 1000000;
    const char *parent = NULL;
    bool keep = false;
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        if (c == 'n') {
            char *end;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (*end != '\0' || v < 1000 || v > QM_REQUESTS_MAX / 2) {
                fprintf(stderr, "qm-queue-bench: --requests 1000..%d\n",
                        QM_REQUESTS_MAX / 2);
                return 2;
            }
            r.n = v;
        } else if (c == 'd') {
            parent = optarg;
        } else if (c == 'k') {
            keep = true;
        } else {
            usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    parent = parent != NULL ? parent : pick_parent();
    /* A fifth of the queue is deferred and not dispatched: time fewer
     * dispatches than the rest holds. */
    r.sample = (r.n / 8 < SAMPLE ? r.n / 8 : SAMPLE) / 32 * 32;
    r.final = (r.n / 4 < FINAL ? r.n / 4 : FINAL) / 32 * 32;
    qm_log_set_level(QM_LOG_WARN);
    struct qb q;
    memset(&q, 0, sizeof(q));
    q.rng = 0x9e3779b97f4a7c15ull;
    open_fsm(&q, parent);
    setup(&q);
    grow(&q, &r);
    r.final_us = dispatch(&q, r.final);
    submit(&q, r.final);
    r.rss_mib = rss_mib();
    r.file_mib = file_mib(&q, &r.disk_mib);
    /* Ten minutes on every request waits past starve_ms (and its wait term
     * caps): one TICK alerts and moves them all; then dispatch goes oldest
     * first. */
    r.tick_s = tick(&q, q.now + 11 * 60000) / 1e6;
    r.starving_size = q.queued;
    r.starving_us = dispatch(&q, r.final);
    snapshot(&q, parent, keep, &r);
    print_results(&r, parent);
    close_fsm(&q, keep);
    return r.same ? 0 : 1;
}
