/* Unit tests of agent_collect against real processes: the test starts
 * qm_testproc (from $QM_PROGS_DIR) with a known pattern of fds, sockets,
 * threads and children, waits on its ready pipe, samples, and checks the
 * exact counts; and each kind of match spec on the live /proc. */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_cgroup.h"
#include "agent_collect.h"
#include "agent_sock.h"
#include "qm_err.h"
#include "th_cmocka.h"
#include "th_tmpdir.h"

/* ---- Fixture ---- */

#define KIDS_MAX 8
#define T0 1000000 /* the collector's clock at the first sample, ms */
#define TCP_ESTABLISHED 1
#define TCP_LISTEN 10

struct fx
{
    pid_t kids[KIDS_MAX]; /* qm_testproc processes, reaped at teardown */
    size_t nkids;
    char tmp[TH_PATH_MAX]; /* a folder for pidfiles and copies */
    char cgroup[512];      /* a cgroup made by a case, or "" */
    struct agent_collect *c;
    struct agent_sample *s;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->s = calloc(1, sizeof(*fx->s));
    assert_non_null(fx->s);
    th_tmpdir_make(fx->tmp);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    for (size_t i = 0; i < fx->nkids; i++) {
        kill(fx->kids[i], SIGKILL);
        waitpid(fx->kids[i], NULL, 0);
    }
    if (fx->cgroup[0] != '\0') {
        rmdir(fx->cgroup);
    }
    agent_collect_free(fx->c);
    th_tmpdir_remove(fx->tmp);
    free(fx->s);
    free(fx);
    return 0;
}

/* ---- Helpers ---- */

static void progs_path(char *out, size_t size, const char *name)
{
    const char *dir = getenv("QM_PROGS_DIR");
    assert_non_null(dir);
    snprintf(out, size, "%s/%s", dir, name);
}

/* Start @prog with @args (NULL-terminated, without --ready-fd) and wait
 * until it is set up. Its fds are 0 and 1 (/dev/null), 2 (ours) and 3
 * (the ready pipe). */
static pid_t spawn(struct fx *fx, const char *prog, const char *const *args)
{
    int p[2];
    char *argv[32];
    size_t n = 0;
    assert_true(fx->nkids < KIDS_MAX);
    argv[n++] = (char *)prog;
    for (; args[n - 1] != NULL && n < 28; n++) {
        argv[n] = (char *)args[n - 1];
    }
    argv[n++] = "--ready-fd";
    argv[n++] = "3";
    argv[n] = NULL;
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
            dup2(p[1], 3) < 0) {
            _exit(126);
        }
        close_range(4, ~0u, 0);
        execv(prog, argv);
        _exit(127);
    }
    fx->kids[fx->nkids++] = pid;
    close(p[1]);
    char byte;
    ssize_t r;
    do {
        r = read(p[0], &byte, 1);
    } while (r < 0 && errno == EINTR);
    close(p[0]);
    assert_int_equal(r, 1); /* EOF: it died while setting up */
    return pid;
}

static pid_t spawn_testproc(struct fx *fx, const char *const *args)
{
    char prog[512];
    progs_path(prog, sizeof(prog), "qm_testproc");
    return spawn(fx, prog, args);
}

/* Kill and reap kid @pid now. */
static void reap(struct fx *fx, pid_t pid)
{
    for (size_t i = 0; i < fx->nkids; i++) {
        if (fx->kids[i] == pid) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            fx->kids[i] = fx->kids[--fx->nkids];
            return;
        }
    }
    fail_msg("pid %d is not a kid", (int)pid);
}

/* A collector watching one service "svc" = @match, on the live /proc. */
static void watch(struct fx *fx, const char *match)
{
    struct agent_service_spec spec = {"svc", match};
    char err[QM_ERRMSG_SIZE] = "";
    int rv = agent_collect_new(&fx->c, &spec, 1, NULL, err);
    if (rv != QM_OK) {
        fail_msg("agent_collect_new: %s", err);
    }
}

static void watch_pid(struct fx *fx, pid_t pid)
{
    char spec[32];
    snprintf(spec, sizeof(spec), "pid:%d", (int)pid);
    watch(fx, spec);
}

static const struct agent_service_sample *sample(struct fx *fx, int64_t now)
{
    assert_int_equal(agent_collect_sample(fx->c, now, fx->s), QM_OK);
    assert_int_equal(fx->s->nservices, 1);
    assert_string_equal(fx->s->services[0].name, "svc");
    return &fx->s->services[0];
}

static const struct agent_proc_sample *proc_of(const struct fx *fx, pid_t pid)
{
    for (uint32_t i = 0; i < fx->s->nprocs; i++) {
        if (fx->s->procs[i].pid == pid) {
            return &fx->s->procs[i];
        }
    }
    fail_msg("pid %d not in the sample", (int)pid);
    return NULL;
}

/* The thread limit a process started by us has. */
static int64_t expected_thread_limit(void)
{
    struct rlimit rl;
    char buf[32] = "";
    assert_int_equal(getrlimit(RLIMIT_NPROC, &rl), 0);
    if (rl.rlim_cur != RLIM_INFINITY) {
        return (int64_t)rl.rlim_cur;
    }
    FILE *f = fopen("/proc/sys/kernel/threads-max", "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    return strtoll(buf, NULL, 10);
}

/* Write "PID\n" to the file @path; false if that fails. */
static bool write_pid(const char *path, pid_t pid)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return false;
    }
    fprintf(f, "%d\n", (int)pid);
    return fclose(f) == 0;
}

static void copy_file(const char *from, const char *to)
{
    char buf[65536];
    int in = open(from, O_RDONLY);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    assert_true(in >= 0 && out >= 0);
    ssize_t r;
    while ((r = read(in, buf, sizeof(buf))) > 0) {
        assert_int_equal(write(out, buf, (size_t)r), r);
    }
    close(in);
    assert_int_equal(close(out), 0);
}

/* ---- Assertions ---- */

/* Exact per-service counts of one qm_testproc with @kids children. */
static void assert_service(const struct agent_service_sample *a,
                           int procs,
                           int children,
                           int64_t fds,
                           int64_t threads,
                           uint32_t listen,
                           uint32_t established)
{
    assert_int_equal(a->nprocs, procs);
    assert_int_equal(a->nchildren, children);
    assert_int_equal(a->proc_count, (uint32_t)procs);
    assert_int_equal(a->fds, fds);
    assert_int_equal(a->threads, threads);
    assert_int_equal(a->sockets, listen + established);
    assert_int_equal(a->tcp[TCP_LISTEN], listen);
    assert_int_equal(a->tcp[TCP_ESTABLISHED], established);
    assert_true(a->rss_bytes > 0);
    assert_int_equal(a->truncated, 0);
}

/* ---- Cases ---- */

static void test_agent_collect_counts_fds_sockets_threads_children(void **state)
{
    struct fx *fx = *state;
    const char *args[] = {"--fds",      "7", "--listen",  "2",
                          "--connect",  "3", "--threads", "4",
                          "--children", "2", "--nofile",  "200",
                          NULL};
    pid_t pid = spawn_testproc(fx, args);
    watch_pid(fx, pid);
    const struct agent_service_sample *a = sample(fx, T0);
    /* parent: 0-2, ready fd, 7 + 2 + 2x3; children: 0-2 each */
    assert_service(a, 3, 2, 4 + 7 + 2 + 6 + 2 * 3, 1 + 4 + 2, 2, 6);
    assert_int_equal(a->fd_limit, 200);
    assert_int_equal(a->cpu_pm, -1);
    const struct agent_proc_sample *p = proc_of(fx, pid);
    assert_int_equal(p->ppid, getpid());
    assert_string_equal(p->comm, "qm_testproc");
    assert_false(p->child);
    assert_int_equal(p->fds, 19);
    assert_int_equal(p->sockets, 8);
    assert_int_equal(p->tcp[TCP_LISTEN], 2);
    assert_int_equal(p->tcp[TCP_ESTABLISHED], 6);
    assert_int_equal(p->threads, 5);
    assert_int_equal(p->fd_limit, 200);
    assert_int_equal(p->thread_limit, expected_thread_limit());
    assert_int_equal(p->cpu_pm, -1);
    assert_true(p->start_ticks > 0);
    for (uint32_t i = 0; i < fx->s->nprocs; i++) {
        const struct agent_proc_sample *k = &fx->s->procs[i];
        if (k->pid != pid) {
            assert_int_equal(k->ppid, pid);
            assert_true(k->child);
            assert_int_equal(k->fds, 3);
            assert_int_equal(k->sockets, 0);
        }
    }
    /* A second sample has a CPU share; an idle process uses next to none. */
    a = sample(fx, T0 + 1000);
    assert_true(a->cpu_pm >= 0 && a->cpu_pm < 100);
    assert_true(proc_of(fx, pid)->cpu_pm >= 0);
}

static void test_agent_collect_sockets_without_listeners_of_their_own(
    void **state)
{
    struct fx *fx = *state;
    const char *args[] = {"--connect", "5", NULL};
    pid_t pid = spawn_testproc(fx, args);
    watch_pid(fx, pid);
    /* one listener is opened for the connections */
    assert_service(sample(fx, T0), 1, 0, 4 + 1 + 10, 1, 1, 10);
}

static void test_agent_collect_matches_pidfile(void **state)
{
    struct fx *fx = *state;
    const char *args[] = {"--fds", "3", "--children", "1", NULL};
    pid_t pid = spawn_testproc(fx, args);
    char path[512];
    char spec[600];
    snprintf(path, sizeof(path), "%s/svc.pid", fx->tmp);
    assert_true(write_pid(path, pid));
    snprintf(spec, sizeof(spec), "pidfile:%s", path);
    watch(fx, spec);
    assert_service(sample(fx, T0), 2, 1, 4 + 3 + 3, 2, 0, 0);
}

static void test_agent_collect_matches_exe_name_with_forked_children_as_roots(
    void **state)
{
    struct fx *fx = *state;
    char prog[512];
    char copy[512];
    progs_path(prog, sizeof(prog), "qm_testproc");
    char name[32];
    char spec[48];
    /* A name of its own, so no other test's qm_testproc matches. */
    snprintf(name, sizeof(name), "qmtp-%d", (int)getpid());
    snprintf(copy, sizeof(copy), "%s/%s", fx->tmp, name);
    snprintf(spec, sizeof(spec), "exe:%s", name);
    copy_file(prog, copy);
    const char *args[] = {"--threads", "2", "--children", "3", NULL};
    spawn(fx, copy, args);
    spawn(fx, copy, args);
    watch(fx, spec);
    /* The forked children run the same executable: matched, not children. */
    assert_service(sample(fx, T0), 8, 0, 2 * 4 + 6 * 3, 2 * 3 + 6, 0, 0);
}

static void test_agent_collect_drops_a_process_that_exits(void **state)
{
    struct fx *fx = *state;
    const char *args[] = {"--fds", "2", NULL};
    pid_t pid = spawn_testproc(fx, args);
    watch_pid(fx, pid);
    assert_int_equal(sample(fx, T0)->nprocs, 1);
    reap(fx, pid);
    const struct agent_service_sample *a = sample(fx, T0 + 1000);
    assert_int_equal(a->nprocs, 0);
    assert_int_equal(a->fds, 0);
    assert_int_equal(a->fd_limit, -1);
    assert_int_equal(a->cpu_pm, -1);
    assert_int_equal(fx->s->nprocs, 0);
    assert_int_equal(sample(fx, T0 + 2000)->nprocs, 0); /* rescanned */
}

/* Make a cgroup under the cgroup2 mount and move @pid into it; false if
 * this machine does not let us. */
static bool make_cgroup(struct fx *fx, pid_t pid, char *rel, size_t size)
{
    char mount[256];
    char path[600];
    if (agent_cgroup_find_mount("/proc/self/mountinfo", mount, sizeof(mount)) !=
        QM_OK) {
        return false;
    }
    snprintf(rel, size, "qm-unit-%d", (int)getpid());
    snprintf(fx->cgroup, sizeof(fx->cgroup), "%s/%s", mount, rel);
    if (mkdir(fx->cgroup, 0755) != 0) {
        fx->cgroup[0] = '\0';
        return false;
    }
    snprintf(path, sizeof(path), "%s/cgroup.procs", fx->cgroup);
    return write_pid(path, pid); /* refused: no cgroup test here */
}

static void test_agent_collect_matches_a_real_cgroup(void **state)
{
    struct fx *fx = *state;
    const char *args[] = {"--fds", "1", "--children", "2", NULL};
    pid_t pid = spawn_testproc(fx, args);
    char rel[64];
    char spec[600];
    if (!make_cgroup(fx, pid, rel, sizeof(rel))) {
        skip();
    }
    /* Relative to the cgroup2 mount; the children stayed where they were
     * but are descendants. */
    snprintf(spec, sizeof(spec), "cgroup:%s", rel);
    watch(fx, spec);
    assert_service(sample(fx, T0), 3, 2, 4 + 1 + 2 * 3, 3, 0, 0);
    agent_collect_free(fx->c);
    fx->c = NULL;
    /* Absolute. */
    snprintf(spec, sizeof(spec), "cgroup:%s", fx->cgroup);
    watch(fx, spec);
    assert_service(sample(fx, T0), 3, 2, 4 + 1 + 2 * 3, 3, 0, 0);
    reap(fx, pid);
}

/* The state of each socket fd of @pid in @t: counts by state into @tcp. */
static int count_states(pid_t pid,
                        const struct agent_sock_table *t,
                        uint32_t tcp[AGENT_TCP_STATES])
{
    char path[64];
    char link[64];
    int sockets = 0;
    memset(tcp, 0, AGENT_TCP_STATES * sizeof(*tcp));
    for (int fd = 0; fd < 64; fd++) {
        snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
        ssize_t n = readlink(path, link, sizeof(link) - 1);
        unsigned long long inode;
        if (n <= 0) {
            continue;
        }
        link[n] = '\0';
        if (sscanf(link, "socket:[%llu]", &inode) == 1) {
            sockets++;
            tcp[agent_sock_table_state(t, inode)]++;
        }
    }
    return sockets;
}

static void test_agent_collect_sock_diag_agrees_with_proc_net_tcp(void **state)
{
    struct fx *fx = *state;
    const char *args[] = {"--listen", "2", "--connect", "3", NULL};
    pid_t pid = spawn_testproc(fx, args);
    struct agent_sock_table diag;
    struct agent_sock_table files;
    uint32_t by_diag[AGENT_TCP_STATES];
    uint32_t by_files[AGENT_TCP_STATES];
    int root = open("/proc", O_RDONLY | O_DIRECTORY);
    assert_true(root >= 0);
    agent_sock_table_init(&diag);
    agent_sock_table_init(&files);
    assert_int_equal(agent_sock_table_load_diag(&diag), QM_OK);
    assert_int_equal(agent_sock_table_load(&files, root, "net"), QM_OK);
    close(root);
    assert_int_equal(count_states(pid, &diag, by_diag), 8);
    assert_int_equal(count_states(pid, &files, by_files), 8);
    agent_sock_table_close(&diag);
    agent_sock_table_close(&files);
    assert_memory_equal(by_diag, by_files, sizeof(by_diag));
    assert_int_equal(by_diag[TCP_LISTEN], 2);
    assert_int_equal(by_diag[TCP_ESTABLISHED], 6);
}

static void test_agent_collect_samples_the_host(void **state)
{
    struct fx *fx = *state;
    struct statvfs st;
    watch(fx, "pid:1");
    sample(fx, T0);
    const struct agent_host_sample *h = &fx->s->host;
    assert_int_equal(h->ncpu, sysconf(_SC_NPROCESSORS_ONLN));
    assert_int_equal(h->cpu_busy_pm, -1);
    assert_true(h->mem_total_bytes > 0);
    assert_true(h->mem_avail_bytes > 0 &&
                h->mem_avail_bytes <= h->mem_total_bytes);
    assert_true(h->nprocs > 1);
    assert_int_equal(h->ndisks, 1);
    assert_string_equal(h->disks[0].path, "/");
    assert_int_equal(statvfs("/", &st), 0);
    assert_int_equal(h->disks[0].total_bytes,
                     (int64_t)st.f_blocks * (int64_t)st.f_frsize);
    /* Real counters may not have moved yet (-1 then); exact values are in
     * test_agent_fake_proc. */
    sample(fx, T0 + 1000);
    assert_true(h->cpu_busy_pm >= -1 && h->cpu_busy_pm <= 1000);
    assert_true(h->net_rx_bps >= 0 || h->net_rx_bytes == -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_agent_collect_counts_fds_sockets_threads_children, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_agent_collect_sockets_without_listeners_of_their_own, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_agent_collect_matches_pidfile,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_agent_collect_matches_exe_name_with_forked_children_as_roots,
            setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_agent_collect_drops_a_process_that_exits, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_agent_collect_matches_a_real_cgroup, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_agent_collect_sock_diag_agrees_with_proc_net_tcp, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_agent_collect_samples_the_host,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
