/* Unit tests of the agent's collectors (agent_proc, agent_sock, agent_host,
 * agent_match, agent_collect) against a fake proc tree of ordinary files in
 * a temporary folder: exact values from known files, malformed and missing
 * files, processes that vanish, CPU shares from known ticks, pid reuse,
 * descendants, each match kind, rescans, and the process limit. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "agent_collect.h"
#include "agent_host.h"
#include "agent_match.h"
#include "agent_proc.h"
#include "agent_sock.h"
#include "qm_alloc.h"
#include "qm_err.h"
#include "qm_log.h"
#include "th_cmocka.h"
#include "th_tmpdir.h"

/* ---- Fixture ---- */

#define T0 500000 /* the collector's clock at the first sample, ms */
#define TCP_ESTABLISHED 1
#define TCP_CLOSE_WAIT 8
#define TCP_LISTEN 10
#define NO_LIMIT -2 /* add_proc: write no limits file */

struct fx
{
    char root[TH_PATH_MAX]; /* the fake proc root */
    struct agent_collect *c;
    struct agent_sample *s;
    char err[QM_ERRMSG_SIZE];
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->s = calloc(1, sizeof(*fx->s));
    assert_non_null(fx->s);
    th_tmpdir_make(fx->root);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    qm_alloc_fail_reset();
    agent_collect_free(fx->c);
    th_tmpdir_remove(fx->root);
    free(fx->s);
    free(fx);
    return 0;
}

/* ---- Helpers ---- */

/* Make the folders above @rel under the root. */
static void make_parents(struct fx *fx, const char *rel)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", fx->root, rel);
    for (char *p = path + strlen(fx->root) + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    }
}

/* Write the file @rel under the root (folders made as needed). */
static void put(struct fx *fx, const char *rel, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void put(struct fx *fx, const char *rel, const char *fmt, ...)
{
    char path[512];
    va_list ap;
    make_parents(fx, rel);
    snprintf(path, sizeof(path), "%s/%s", fx->root, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    assert_int_equal(fclose(f), 0);
}

/* A symbolic link @rel under the root pointing at @target. */
static void put_link(struct fx *fx, const char *rel, const char *target)
{
    char path[512];
    make_parents(fx, rel);
    snprintf(path, sizeof(path), "%s/%s", fx->root, rel);
    unlink(path);
    assert_int_equal(symlink(target, path), 0);
}

static void put_stat(struct fx *fx,
                     int pid,
                     int ppid,
                     const char *comm,
                     unsigned long ticks,
                     unsigned long start)
{
    char rel[64];
    snprintf(rel, sizeof(rel), "%d/stat", pid);
    /* utime = ticks, stime = 0; 3 threads; 25 pages resident; negative
     * tty_pgrp and nice as the kernel writes them. */
    put(fx, rel,
        "%d (%s) S %d %d %d 0 -1 4194560 100 0 0 0 %lu 0 0 0 20 -5 3 0 %lu "
        "10000000 25 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 "
        "0\n",
        pid, comm, ppid, pid, pid, ticks, start);
}

/* A process: stat, fds 0-2 (/dev/null), and a limits file giving
 * RLIMIT_NOFILE @nofile (unless NO_LIMIT). */
static void add_proc(struct fx *fx,
                     int pid,
                     int ppid,
                     const char *comm,
                     unsigned long ticks,
                     long nofile)
{
    char rel[64];
    put_stat(fx, pid, ppid, comm, ticks, 1000 + (unsigned long)pid);
    for (int fd = 0; fd < 3; fd++) {
        snprintf(rel, sizeof(rel), "%d/fd/%d", pid, fd);
        put_link(fx, rel, "/dev/null");
    }
    if (nofile != NO_LIMIT) {
        snprintf(rel, sizeof(rel), "%d/limits", pid);
        put(fx, rel,
            "Limit                     Soft Limit           Hard Limit    "
            "       Units     \n"
            "Max processes             unlimited            unlimited     "
            "       processes \n"
            "Max open files            %-20ld 4096                 files  "
            "   \n",
            nofile);
    }
}

static void del_path(struct fx *fx, const char *rel)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", fx->root, rel);
    th_tmpdir_remove(path);
}

/* The host files of the root, with cumulative counters @k. */
static void put_host(struct fx *fx, unsigned long k)
{
    put(fx, "stat",
        "cpu  %lu 0 %lu %lu %lu 0 0 0 0 0\n"
        "cpu0 1 0 1 1 1 0 0 0 0 0\ncpu1 1 0 1 1 1 0 0 0 0 0\n"
        "cpu2 1 0 1 1 1 0 0 0 0 0\nintr %0*d\nctxt 42\n",
        100 * k, 50 * k, 800 * k, 50 * k, 3000, 7);
    put(fx, "net/dev",
        "Inter-|   Receive                            |  Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed "
        "multicast|bytes    packets errs drop fifo colls carrier "
        "compressed\n"
        "    lo: %lu 10 0 0 0 0 0 0 %lu 10 0 0 0 0 0 0\n"
        "  eth0: %lu 10 0 0 0 0 0 0 %lu 10 0 0 0 0 0 0\n"
        "  eth1: %lu 10 0 0 0 0 0 0 %lu 10 0 0 0 0 0 0\n",
        999999 * k, 999999 * k, 1000 * k, 300 * k, 24 * k, 4 * k);
    put(fx, "meminfo",
        "MemTotal:       16000000 kB\nMemFree:         1000000 kB\n"
        "MemAvailable:    8000000 kB\nSwapTotal:       2000000 kB\n"
        "SwapFree:        1500000 kB\n");
    put(fx, "loadavg", "1.25 0.50 0.10 2/300 4242\n");
}

/* A collector over the fake root for @n services {name, spec}. */
static void watch(struct fx *fx,
                  const struct agent_service_spec *svcs,
                  size_t n)
{
    char cg[300];
    snprintf(cg, sizeof(cg), "%s/cg", fx->root);
    struct agent_collect_opts o = {
        .proc_root = fx->root, .cgroup_root = cg, .rescan_ms = 5000};
    int rv = agent_collect_new(&fx->c, svcs, n, &o, fx->err);
    if (rv != QM_OK) {
        fail_msg("agent_collect_new: %s", fx->err);
    }
}

static void watch_one(struct fx *fx, const char *spec)
{
    struct agent_service_spec s = {"svc", spec};
    watch(fx, &s, 1);
}

static const struct agent_service_sample *sample(struct fx *fx, int64_t now)
{
    assert_int_equal(agent_collect_sample(fx->c, now, fx->s), QM_OK);
    return &fx->s->services[0];
}

static const struct agent_proc_sample *proc_of(const struct fx *fx, int pid)
{
    for (uint32_t i = 0; i < fx->s->nprocs; i++) {
        if (fx->s->procs[i].pid == pid) {
            return &fx->s->procs[i];
        }
    }
    return NULL;
}

/* Counts qm_log lines with the collector's "over the limit" ID. */
static void count_limit_lines(void *arg, int level, const char *line)
{
    (void)level;
    *(int *)arg += strstr(line, " ACOL0001 ") != NULL;
}

/* ---- Assertions ---- */

/* The service holds exactly the @n pids @want (procs[] order is by pid). */
static void assert_pids(const struct fx *fx,
                        const struct agent_service_sample *a,
                        const int *want,
                        size_t n)
{
    assert_int_equal(a->nprocs, (int32_t)n);
    assert_int_equal(a->proc_count, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(fx->s->procs[a->proc_first + i].pid, want[i]);
    }
}

/* ---- Cases: one process ---- */

static void test_agent_fake_proc_reads_every_field(void **state)
{
    struct fx *fx = *state;
    add_proc(fx, 100, 1, "a) b (c", 42, 1024);
    put_link(fx, "100/fd/3", "socket:[5001]");
    put_link(fx, "100/fd/4", "socket:[5002]");
    put_link(fx, "100/fd/7", "socket:[5003]"); /* not TCP */
    put_link(fx, "100/fd/9", "pipe:[77]");
    put(fx, "net/tcp",
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
        "retrnsmt   uid  timeout inode\n"
        "   0: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 "
        "00000000     0        0 5001 1 0000000000000000 100 0 0 10 0\n"
        "   1: 0100007F:1F91 0100007F:C350 01 00000000:00000000 00:00000000 "
        "00000000     0        0 5002 1 0000000000000000 20 4 30 10 -1\n");
    put(fx, "sys/kernel/threads-max", "777\n");
    struct agent_proc_env env;
    struct agent_sock_ns socks;
    struct agent_proc_sample s;
    assert_int_equal(agent_proc_env_open(&env, fx->root), QM_OK);
    agent_sock_ns_init(&socks, env.rootfd, env.live);
    agent_sock_ns_begin(&socks);
    assert_int_equal(agent_proc_sample(&env, 100, &s), QM_OK);
    assert_int_equal(s.fds, 7);
    assert_int_equal(s.sockets, -1); /* not walked yet */
    int rv = agent_proc_sockets(&env, 100, &socks, &s);
    agent_sock_ns_close(&socks);
    agent_proc_env_close(&env);
    assert_int_equal(rv, QM_OK);
    assert_int_equal(s.pid, 100);
    assert_int_equal(s.ppid, 1);
    assert_string_equal(s.comm, "a) b (c");
    assert_int_equal(s.cpu_ticks, 42);
    assert_int_equal(s.start_ticks, 1100);
    assert_int_equal(s.threads, 3);
    assert_int_equal(s.rss_bytes, 25 * sysconf(_SC_PAGESIZE));
    assert_int_equal(s.fds, 7);
    assert_int_equal(s.sockets, 3);
    assert_int_equal(s.tcp[TCP_LISTEN], 1);
    assert_int_equal(s.tcp[TCP_ESTABLISHED], 1);
    assert_int_equal(s.fd_limit, 1024);
    assert_int_equal(s.thread_limit, 777); /* RLIMIT_NPROC unlimited */
    assert_int_equal(s.cpu_pm, -1);
}

static void test_agent_fake_proc_rejects_malformed_stat_lines(void **state)
{
    static const char *const bad[] = {
        "",
        "100",
        "100 (x",
        "100 (x) S",
        "100 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17", /* short */
        "100 (x) S one 100 100 0 -1 4194560 100 0 0 0 5 0 0 0 20 0 3 0 9 1 "
        "25",
        "x (y) S 1 100 100 0 -1 4194560 100 0 0 0 5 0 0 0 20 0 3 0 9 1 25",
        "100 x) S 1 100 100 0 -1 4194560 100 0 0 0 5 0 0 0 20 0 3 0 9 1 25",
        "0 (x) S 1 100 100 0 -1 4194560 100 0 0 0 5 0 0 0 20 0 3 0 9 1 25",
        "100 (x) S 1 100 100 0 -1 4194560 100 0 0 0 -5 0 0 0 20 0 3 0 9 1 "
        "25",
    };
    struct agent_proc_sample s;
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(
            agent_proc_parse_stat(bad[i], strlen(bad[i]), 4096, &s),
            QM_ECORRUPT);
    }
    const char *ok =
        "100 ((x) y)) S 1 100 100 0 -1 4194560 100 0 0 0 5 6 "
        "-1 -1 20 -20 3 0 9 1 25";
    assert_int_equal(agent_proc_parse_stat(ok, strlen(ok), 4096, &s), QM_OK);
    assert_string_equal(s.comm, "(x) y)");
    assert_int_equal(s.cpu_ticks, 11);
    assert_int_equal(s.rss_bytes, 25 * 4096);
}

/* ---- Cases: TCP tables ---- */

static void test_agent_fake_sock_table_keeps_states_by_inode(void **state)
{
    struct fx *fx = *state;
    char longline[3000];
    memset(longline, 'x', sizeof(longline) - 1);
    longline[sizeof(longline) - 1] = '\0';
    put(fx, "net/tcp",
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
        "retrnsmt   uid  timeout inode\n"
        "   0: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 "
        "00000000     0        0 7 1 0000000000000000 100 0 0 10 0\n"
        "   1: 0100007F:1F91 0100007F:C350 06 00000000:00000000 03:00000000 "
        "00000000     0        0 0 3 0000000000000000\n"
        "   2: %s 0A 0 0 0 0 0 12\n"
        "   3: 0100007F:1F91 0100007F:C351 0C 0 0 0 0 0 13 1\n"
        "   4: 0100007F:1F91 0100007F:C352 01 0 0 0 0 0 14x 1\n"
        "   5: 0100007F:1F91\n"
        "garbage\n"
        "   6: 0100007F:1F91 0100007F:C353 01 0 0 0 0 0 8 1",
        longline);
    put(fx, "net/tcp6",
        "  sl  local_address remote_address st tx_queue rx_queue tr "
        "tm->when retrnsmt   uid  timeout inode\n"
        "   0: 00000000000000000000000001000000:1F91 "
        "00000000000000000000000001000000:D431 08 00000000:00000000 "
        "00:00000000 00000000     0        0 9 1 0000000000000000 20 4 0 "
        "10 -1\n");
    int dirfd = open(fx->root, O_RDONLY | O_DIRECTORY);
    struct agent_sock_table t;
    agent_sock_table_init(&t);
    assert_int_equal(agent_sock_table_load(&t, dirfd, "net"), QM_OK);
    assert_int_equal(t.n, 3);
    assert_int_equal(agent_sock_table_state(&t, 7), TCP_LISTEN);
    assert_int_equal(agent_sock_table_state(&t, 8), TCP_ESTABLISHED);
    assert_int_equal(agent_sock_table_state(&t, 9), TCP_CLOSE_WAIT);
    assert_int_equal(agent_sock_table_state(&t, 0), 0);
    assert_int_equal(agent_sock_table_state(&t, 12), 0);
    assert_int_equal(agent_sock_table_state(&t, 13), 0);
    assert_int_equal(agent_sock_table_state(&t, 6), 0);
    assert_int_equal(agent_sock_table_state(&t, 10), 0);
    assert_int_equal(agent_sock_table_load(&t, dirfd, "nonet"), QM_EIO);
    assert_int_equal(t.n, 0);
    agent_sock_table_close(&t);
    close(dirfd);
    assert_string_equal(agent_tcp_state_names[TCP_ESTABLISHED], "established");
    assert_string_equal(agent_tcp_state_names[TCP_LISTEN], "listen");
    assert_string_equal(agent_tcp_state_names[11], "closing");
}

/* ---- Cases: services ---- */

static void test_agent_fake_service_is_matched_plus_descendants(void **state)
{
    struct fx *fx = *state;
    add_proc(fx, 100, 1, "main", 0, 50);
    add_proc(fx, 101, 100, "worker", 0, 40);
    add_proc(fx, 102, 100, "worker", 0, 60);
    add_proc(fx, 103, 101, "helper", 0, 70);
    add_proc(fx, 200, 1, "other", 0, 10);
    add_proc(fx, 201, 200, "other", 0, 10);
    put(fx, "cg/svc/cgroup.procs", "100\n999\n");
    put(fx, "pidfile", "100\n");
    char pidfile[300];
    snprintf(pidfile, sizeof(pidfile), "pidfile:%s/pidfile", fx->root);
    const struct agent_service_spec svcs[] = {{"by-pid", "pid:100"},
                                              {"by-cgroup", "cgroup:svc"},
                                              {"by-file", pidfile},
                                              {"by-exe", "exe:main"},
                                              {"absent", "pid:99"}};
    watch(fx, svcs, 5);
    sample(fx, T0);
    static const int want[] = {100, 101, 102, 103};
    for (size_t i = 0; i < 4; i++) {
        const struct agent_service_sample *a = &fx->s->services[i];
        assert_string_equal(a->name, svcs[i].name);
        assert_pids(fx, a, want, 4);
        assert_int_equal(a->nchildren, 3);
        assert_int_equal(a->fds, 12);
        assert_int_equal(a->threads, 12);
        assert_int_equal(a->fd_limit, 40); /* the smallest */
        assert_int_equal(a->rss_bytes, 4 * 25 * sysconf(_SC_PAGESIZE));
    }
    assert_int_equal(fx->s->services[4].nprocs, 0);
    assert_int_equal(fx->s->services[4].fd_limit, -1);
    assert_int_equal(fx->s->nprocs, 16); /* listed under each service */
    assert_false(fx->s->procs[0].child);
    assert_true(fx->s->procs[1].child);
    assert_int_equal(fx->s->procs[4].service, 1);
}

static void test_agent_fake_exe_names_deleted_files_and_comm(void **state)
{
    struct fx *fx = *state;
    add_proc(fx, 10, 2, "kthreadd", 0, 64); /* no exe link: its comm */
    add_proc(fx, 20, 1, "renamed", 0, 64);
    put_link(fx, "20/exe", "/usr/sbin/daemon (deleted)");
    add_proc(fx, 30, 1, "daemon", 0, 64); /* the exe link wins */
    put_link(fx, "30/exe", "/opt/other");
    const struct agent_service_spec svcs[] = {
        {"kt", "exe:kthreadd"}, {"daemon", "exe:daemon"}, {"kw", "exe:a/b"}};
    assert_int_equal(agent_collect_new(&fx->c, &svcs[2], 1, NULL, fx->err),
                     QM_INVALID); /* a '/' is never a file name */
    watch(fx, svcs, 2);
    sample(fx, T0);
    static const int kt[] = {10};
    static const int daemon[] = {20};
    assert_pids(fx, &fx->s->services[0], kt, 1);
    assert_pids(fx, &fx->s->services[1], daemon, 1);
}

static void test_agent_fake_skips_malformed_and_vanishing_processes(
    void **state)
{
    struct fx *fx = *state;
    add_proc(fx, 100, 1, "main", 0, 64);
    add_proc(fx, 101, 100, "ok", 0, 64);
    add_proc(fx, 102, 100, "bad", 0, 64);
    add_proc(fx, 103, 100, "nofd", 0, NO_LIMIT);
    add_proc(fx, 104, 100, "gone", 0, 64);
    watch_one(fx, "pid:100");
    static const int all[] = {100, 101, 102, 103, 104};
    const struct agent_service_sample *a = sample(fx, T0);
    assert_pids(fx, a, all, 5);
    assert_int_equal(proc_of(fx, 103)->fd_limit, -1); /* no limits file */
    put(fx, "102/stat", "102 (bad) S 100 102 102 0 -1 4194");
    del_path(fx, "103/fd");
    del_path(fx, "104");
    static const int left[] = {100, 101};
    a = sample(fx, T0 + 1000);
    assert_pids(fx, a, left, 2);
    assert_int_equal(a->nchildren, 1);
    assert_int_equal(proc_of(fx, 101)->cpu_pm, 0);
    /* The scan after a loss also skips them; a stat file that is gone
     * between the listing and the read is the same case. */
    put(fx, "105/cmdline", "x");
    a = sample(fx, T0 + 2000);
    assert_pids(fx, a, left, 2);
}

static void test_agent_fake_cpu_per_mille_from_known_ticks(void **state)
{
    struct fx *fx = *state;
    long tck = sysconf(_SC_CLK_TCK);
    add_proc(fx, 100, 1, "main", 1000, 64);
    add_proc(fx, 101, 100, "child", 0, 64);
    watch_one(fx, "pid:100");
    const struct agent_service_sample *a = sample(fx, T0);
    assert_int_equal(a->cpu_pm, -1);
    assert_int_equal(proc_of(fx, 100)->cpu_pm, -1);
    /* 2000 ms later: +tck ticks (one core-second, so 500 per mille), and
     * +tck/2 for the child (250 per mille). */
    put_stat(fx, 100, 1, "main", 1000 + (unsigned long)tck, 1100);
    put_stat(fx, 101, 100, "child", (unsigned long)tck / 2, 1101);
    a = sample(fx, T0 + 2000);
    assert_int_equal(proc_of(fx, 100)->cpu_pm, 500);
    assert_int_equal(proc_of(fx, 101)->cpu_pm, 250);
    assert_int_equal(a->cpu_pm, 750);
    /* Pid 101 is reused by a new process (another start time): it starts
     * over, and the service sums what it knows. */
    put_stat(fx, 101, 100, "child", 5, 9999);
    put_stat(fx, 100, 1, "main", 1000 + 2 * (unsigned long)tck, 1100);
    a = sample(fx, T0 + 3000);
    assert_int_equal(proc_of(fx, 101)->cpu_pm, -1);
    assert_int_equal(proc_of(fx, 100)->cpu_pm, 1000);
    assert_int_equal(a->cpu_pm, 1000);
    put_stat(fx, 101, 100, "child", 5 + (unsigned long)tck, 9999);
    a = sample(fx, T0 + 4000);
    assert_int_equal(proc_of(fx, 101)->cpu_pm, 1000);
    assert_int_equal(proc_of(fx, 100)->cpu_pm, 0);
}

static void test_agent_fake_new_children_appear_at_the_rescan(void **state)
{
    struct fx *fx = *state;
    add_proc(fx, 100, 1, "main", 0, 64);
    watch_one(fx, "pid:100");
    assert_int_equal(sample(fx, T0)->nprocs, 1);
    add_proc(fx, 101, 100, "late", 0, 64);
    assert_int_equal(sample(fx, T0 + 4999)->nprocs, 1);
    assert_int_equal(sample(fx, T0 + 5000)->nprocs, 2);
    /* The matched pid goes away and comes back as another process: the
     * sample after the loss rescans. */
    del_path(fx, "100");
    assert_int_equal(sample(fx, T0 + 6000)->nprocs, 1); /* until rescan */
    add_proc(fx, 100, 1, "again", 0, 64);
    const struct agent_service_sample *a = sample(fx, T0 + 7000);
    assert_int_equal(a->nprocs, 2);
    assert_string_equal(proc_of(fx, 100)->comm, "again");
}

/* net/tcp holding socket inode 5001 in state @st (two hex digits). */
static void put_tcp(struct fx *fx, const char *st)
{
    put(fx, "net/tcp",
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
        "retrnsmt   uid  timeout inode\n"
        "   0: 0100007F:1F91 00000000:0000 %s 00000000:00000000 00:00000000 "
        "00000000     0        0 5001 1 0000000000000000 100 0 0 10 0\n",
        st);
}

static void test_agent_fake_sockets_are_walked_when_fds_change(void **state)
{
    struct fx *fx = *state;
    add_proc(fx, 100, 1, "main", 0, 64);
    put_link(fx, "100/fd/3", "socket:[5001]");
    put_tcp(fx, "0A");
    watch_one(fx, "pid:100");
    const struct agent_service_sample *a = sample(fx, T0);
    assert_int_equal(a->sockets, 1);
    assert_int_equal(a->tcp[TCP_LISTEN], 1);
    /* Same fd count: the last walk's counts stand until the refresh. */
    put_tcp(fx, "08");
    a = sample(fx, T0 + 1000);
    assert_int_equal(a->sockets, 1);
    assert_int_equal(a->tcp[TCP_LISTEN], 1);
    assert_int_equal(a->tcp[TCP_CLOSE_WAIT], 0);
    /* Another fd: walked now. */
    put_link(fx, "100/fd/4", "socket:[5002]");
    a = sample(fx, T0 + 2000);
    assert_int_equal(a->fds, 5);
    assert_int_equal(a->sockets, 2);
    assert_int_equal(a->tcp[TCP_LISTEN], 0);
    assert_int_equal(a->tcp[TCP_CLOSE_WAIT], 1);
    /* The refresh interval (the rescan interval, 5 s) has passed. */
    put_tcp(fx, "01");
    assert_int_equal(sample(fx, T0 + 6999)->tcp[TCP_CLOSE_WAIT], 1);
    a = sample(fx, T0 + 7000);
    assert_int_equal(a->tcp[TCP_CLOSE_WAIT], 0);
    assert_int_equal(a->tcp[TCP_ESTABLISHED], 1);
}

static void test_agent_fake_sockets_every_sample_when_asked(void **state)
{
    struct fx *fx = *state;
    add_proc(fx, 100, 1, "main", 0, 64);
    put_link(fx, "100/fd/3", "socket:[5001]");
    put_tcp(fx, "0A");
    struct agent_service_spec svc = {"svc", "pid:100"};
    struct agent_collect_opts o = {.proc_root = fx->root, .sock_refresh_ms = 1};
    assert_int_equal(agent_collect_new(&fx->c, &svc, 1, &o, fx->err), QM_OK);
    assert_int_equal(sample(fx, T0)->tcp[TCP_LISTEN], 1);
    put_tcp(fx, "08");
    assert_int_equal(sample(fx, T0 + 1000)->tcp[TCP_CLOSE_WAIT], 1);
}

static void test_agent_fake_pidfile_and_cgroup_that_do_not_parse(void **state)
{
    struct fx *fx = *state;
    char spec[3][300];
    add_proc(fx, 100, 1, "main", 0, 64);
    put(fx, "garbage.pid", "abc\n");
    put(fx, "trailing.pid", "100abc\n");
    snprintf(spec[0], sizeof(spec[0]), "pidfile:%s/garbage.pid", fx->root);
    snprintf(spec[1], sizeof(spec[1]), "pidfile:%s/trailing.pid", fx->root);
    snprintf(spec[2], sizeof(spec[2]), "pidfile:%s/missing.pid", fx->root);
    put(fx, "cg/junk/cgroup.procs", "x\n-5\n\n99999999999\n");
    const struct agent_service_spec svcs[] = {{"a", spec[0]},
                                              {"b", spec[1]},
                                              {"c", spec[2]},
                                              {"d", "cgroup:junk"},
                                              {"e", "cgroup:/nowhere"}};
    watch(fx, svcs, 5);
    sample(fx, T0);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(fx->s->services[i].nprocs, 0);
    }
    assert_int_equal(fx->s->nprocs, 0);
}

static void test_agent_fake_processes_over_the_limit_are_counted(void **state)
{
    struct fx *fx = *state;
    const int extra = 20;
    add_proc(fx, 100, 1, "main", 0, 64);
    for (int i = 0; i < AGENT_PROCS_MAX + extra - 1; i++) {
        add_proc(fx, 1000 + i, 100, "child", 0, 64);
    }
    const struct agent_service_spec svcs[] = {{"all", "pid:100"},
                                              {"again", "pid:100"}};
    int logged = 0;
    qm_log_set_sink(count_limit_lines, &logged);
    watch(fx, svcs, 2);
    sample(fx, T0);
    sample(fx, T0 + 5000); /* logged once, not at every scan */
    qm_log_set_sink(NULL, NULL);
    assert_int_equal(logged, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(fx->s->services[i].nprocs, AGENT_PROCS_MAX);
        assert_int_equal(fx->s->services[i].truncated, extra);
    }
    /* procs[] lists the first service's; the second's are counted. */
    assert_int_equal(fx->s->nprocs, AGENT_PROCS_MAX);
    assert_int_equal(fx->s->services[1].proc_count, 0);
    assert_int_equal(fx->s->procs_truncated, AGENT_PROCS_MAX);
}

static void test_agent_fake_rejects_bad_configuration(void **state)
{
    struct fx *fx = *state;
    static const struct agent_service_spec bad[][2] = {
        {{"a b", "pid:1"}, {"x", "pid:1"}},
        {{"", "pid:1"}, {"x", "pid:1"}},
        {{"same", "pid:1"}, {"same", "pid:2"}},
        {{"x", "pid:1"}, {"y", "pod:1"}},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(agent_collect_new(&fx->c, bad[i], 2, NULL, fx->err),
                         QM_INVALID);
        assert_null(fx->c);
    }
    assert_non_null(strstr(fx->err, "service y"));
    struct agent_service_spec many[AGENT_SERVICES_MAX + 1];
    for (size_t i = 0; i < AGENT_SERVICES_MAX + 1; i++) {
        many[i] = (struct agent_service_spec){"x", "pid:1"};
    }
    assert_int_equal(
        agent_collect_new(&fx->c, many, AGENT_SERVICES_MAX + 1, NULL, fx->err),
        QM_INVALID);
    const char *disks[] = {"relative"};
    struct agent_collect_opts o = {.disk_paths = disks, .ndisk_paths = 1};
    assert_int_equal(agent_collect_new(&fx->c, bad[0] + 1, 1, &o, fx->err),
                     QM_INVALID);
    o = (struct agent_collect_opts){.proc_root = "/nonexistent/proc"};
    assert_int_equal(agent_collect_new(&fx->c, bad[0] + 1, 1, &o, fx->err),
                     QM_EIO);
    assert_null(fx->c);
}

static void test_agent_fake_out_of_memory_is_an_error_not_a_crash(void **state)
{
    struct fx *fx = *state;
    struct agent_service_spec svc = {"svc", "pid:100"};
    struct agent_collect_opts o = {.proc_root = fx->root};
    add_proc(fx, 100, 1, "main", 0, 64);
    add_proc(fx, 101, 100, "child", 0, 64);
    put_link(fx, "100/fd/3", "socket:[5001]");
    put_tcp(fx, "0A");
    /* Each allocation of agent_collect_new in turn. */
    for (int nth = 1; nth <= 4; nth++) {
        qm_alloc_fail_after(nth, 1);
        assert_int_equal(agent_collect_new(&fx->c, &svc, 1, &o, fx->err),
                         QM_ENOMEM);
        assert_null(fx->c);
    }
    qm_alloc_fail_reset();
    assert_int_equal(agent_collect_new(&fx->c, &svc, 1, &o, fx->err), QM_OK);
    /* No memory for the process table or the TCP table. */
    qm_alloc_fail_after(1, 1000);
    assert_int_equal(agent_collect_sample(fx->c, T0, fx->s), QM_ENOMEM);
    qm_alloc_fail_reset();
    assert_int_equal(fx->s->services[0].nprocs, 0);
    /* The next sample scans again. */
    const struct agent_service_sample *a = sample(fx, T0 + 1000);
    assert_int_equal(a->nprocs, 2);
    assert_int_equal(a->tcp[TCP_LISTEN], 1);
}

/* ---- Cases: the host ---- */

static void test_agent_fake_host_exact_values_and_rates(void **state)
{
    struct fx *fx = *state;
    struct statvfs st;
    put_host(fx, 1);
    add_proc(fx, 100, 1, "main", 0, 64);
    add_proc(fx, 101, 1, "main", 0, 64);
    put(fx, "self/cmdline", "x"); /* not a pid folder */
    const char *disks[] = {fx->root, "/nonexistent"};
    struct agent_collect_opts o = {
        .proc_root = fx->root, .disk_paths = disks, .ndisk_paths = 2};
    assert_int_equal(agent_collect_new(&fx->c, NULL, 0, &o, fx->err), QM_OK);
    assert_int_equal(agent_collect_sample(fx->c, T0, fx->s), QM_OK);
    const struct agent_host_sample *h = &fx->s->host;
    assert_int_equal(h->ncpu, 3);
    assert_int_equal(h->cpu_busy_pm, -1);
    assert_int_equal(h->load1_milli, 1250);
    assert_int_equal(h->mem_total_bytes, 16000000LL * 1024);
    assert_int_equal(h->mem_avail_bytes, 8000000LL * 1024);
    assert_int_equal(h->swap_total_bytes, 2000000LL * 1024);
    assert_int_equal(h->swap_free_bytes, 1500000LL * 1024);
    assert_int_equal(h->net_rx_bytes, 1024);
    assert_int_equal(h->net_tx_bytes, 304);
    assert_int_equal(h->net_rx_bps, -1);
    assert_int_equal(h->nprocs, 2);
    assert_int_equal(h->ndisks, 2);
    assert_int_equal(statvfs(fx->root, &st), 0);
    assert_string_equal(h->disks[0].path, fx->root);
    assert_int_equal(h->disks[0].total_bytes,
                     (int64_t)st.f_blocks * (int64_t)st.f_frsize);
    assert_int_equal(h->disks[1].total_bytes, -1);
    /* Two seconds later every counter has grown by its first value:
     * busy = (100 + 50) / (100 + 50 + 800 + 50) = 150 per mille. */
    put_host(fx, 2);
    assert_int_equal(agent_collect_sample(fx->c, T0 + 2000, fx->s), QM_OK);
    assert_int_equal(h->cpu_busy_pm, 150);
    assert_int_equal(h->net_rx_bps, 512);
    assert_int_equal(h->net_tx_bps, 152);
    /* Counters that go back (an interface gone) give 0, not garbage. */
    put_host(fx, 1);
    assert_int_equal(agent_collect_sample(fx->c, T0 + 3000, fx->s), QM_OK);
    assert_int_equal(h->net_rx_bps, 0);
    assert_int_equal(h->cpu_busy_pm, -1);
}

static void test_agent_fake_host_without_files_reports_unknown(void **state)
{
    struct fx *fx = *state;
    struct agent_collect_opts o = {.proc_root = fx->root};
    assert_int_equal(agent_collect_new(&fx->c, NULL, 0, &o, fx->err), QM_OK);
    assert_int_equal(agent_collect_sample(fx->c, T0, fx->s), QM_OK);
    const struct agent_host_sample *h = &fx->s->host;
    assert_int_equal(h->ncpu, -1);
    assert_int_equal(h->load1_milli, -1);
    assert_int_equal(h->mem_total_bytes, -1);
    assert_int_equal(h->net_rx_bytes, -1);
    assert_int_equal(h->nprocs, 0);
    assert_int_equal(h->ndisks, 1);
    assert_true(h->disks[0].total_bytes > 0); /* "/" */
}

int main(void)
{
#define CASE(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        CASE(test_agent_fake_proc_reads_every_field),
        CASE(test_agent_fake_proc_rejects_malformed_stat_lines),
        CASE(test_agent_fake_sock_table_keeps_states_by_inode),
        CASE(test_agent_fake_service_is_matched_plus_descendants),
        CASE(test_agent_fake_exe_names_deleted_files_and_comm),
        CASE(test_agent_fake_skips_malformed_and_vanishing_processes),
        CASE(test_agent_fake_cpu_per_mille_from_known_ticks),
        CASE(test_agent_fake_new_children_appear_at_the_rescan),
        CASE(test_agent_fake_sockets_are_walked_when_fds_change),
        CASE(test_agent_fake_sockets_every_sample_when_asked),
        CASE(test_agent_fake_pidfile_and_cgroup_that_do_not_parse),
        CASE(test_agent_fake_processes_over_the_limit_are_counted),
        CASE(test_agent_fake_rejects_bad_configuration),
        CASE(test_agent_fake_out_of_memory_is_an_error_not_a_crash),
        CASE(test_agent_fake_host_exact_values_and_rates),
        CASE(test_agent_fake_host_without_files_reports_unknown),
    };
#undef CASE
    return cmocka_run_group_tests(tests, NULL, NULL);
}
