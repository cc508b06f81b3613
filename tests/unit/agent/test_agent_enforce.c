/* Unit tests of agent/agent_enforce: nice, affinity and rlimits on real
 * child processes of three threads each, checked thread by thread from
 * /proc; failures reported, not hidden; cgroup limits against fake trees
 * in a temporary folder and against this host's own cgroup2 mount. The
 * allocation it applies (agent/agent_alloc) is tested in
 * test_agent_alloc.c. */
#define _GNU_SOURCE /* sched_getaffinity, setresuid, prlimit */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_alloc.h"
#include "agent_cgroup.h"
#include "agent_enforce.h"
#include "qm_err.h"
#include "th_cmocka.h"
#include "th_tmpdir.h"

#define PATH_LEN TH_PATH_MAX
#define KIDS_MAX 4
#define THREADS 3 /* besides the main thread */
#define NOBODY 65534

/* ---- Fixture ---- */

struct fx
{
    char dir[PATH_LEN];
    pid_t kids[KIDS_MAX]; /* 0: none or reaped */
    size_t nkids;
    /* Real cgroups a case created, removed after the kids are gone. */
    char rmdirs[2][AGENT_CGROUP_PATH_MAX];
    struct agent_enforce_report r;
    char errmsg[QM_ERRMSG_SIZE];
};

static int setup(void **state)
{
    struct fx *f = test_calloc(1, sizeof(*f));
    th_tmpdir_make(f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    for (size_t i = 0; i < f->nkids; i++) {
        if (f->kids[i] > 0) {
            kill(f->kids[i], SIGKILL);
            waitpid(f->kids[i], NULL, 0);
        }
    }
    for (size_t i = 0; i < 2; i++) {
        if (f->rmdirs[i][0] != '\0') {
            rmdir(f->rmdirs[i]);
        }
    }
    th_tmpdir_remove(f->dir);
    test_free(f);
    return 0;
}

/* ---- Helpers ---- */

static void *park(void *arg)
{
    for (;;) {
        pause();
    }
    return arg;
}

static int drop_privileges(void)
{
    return setgroups(0, NULL) == 0 && setresgid(NOBODY, NOBODY, NOBODY) == 0 &&
                   setresuid(NOBODY, NOBODY, NOBODY) == 0
               ? 0
               : -1;
}

/* The child: optionally a hard nofile limit and no privileges, then
 * THREADS threads, then one byte on @ready; it never returns. */
static void target_main(int ready, bool drop, rlim_t nofile)
{
    struct rlimit rl = {.rlim_cur = nofile, .rlim_max = nofile};
    pthread_t th;
    if (drop && (setrlimit(RLIMIT_NOFILE, &rl) != 0 || drop_privileges())) {
        _exit(1);
    }
    for (int i = 0; i < THREADS; i++) {
        if (pthread_create(&th, NULL, park, NULL) != 0) {
            _exit(1);
        }
    }
    char b = 1;
    if (write(ready, &b, 1) != 1) {
        _exit(1);
    }
    park(NULL);
    _exit(0);
}

static pid_t fork_kid(struct fx *f)
{
    assert_true(f->nkids < KIDS_MAX);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid > 0) {
        f->kids[f->nkids++] = pid;
    }
    return pid;
}

/* A running target of 1 + THREADS threads, killed at teardown. */
static pid_t target(struct fx *f, bool drop, rlim_t nofile)
{
    int p[2];
    char b;
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork_kid(f);
    if (pid == 0) {
        close(p[0]);
        target_main(p[1], drop, nofile);
    }
    close(p[1]);
    assert_int_equal(read(p[0], &b, 1), 1);
    close(p[0]);
    return pid;
}

/* The thread ids of @pid, in /proc order (the main thread first). */
static size_t tids_of(pid_t pid, pid_t *tids, size_t cap)
{
    char path[64];
    size_t n = 0;
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < cap) {
        if (e->d_name[0] != '.') {
            tids[n++] = (pid_t)atoi(e->d_name);
        }
    }
    closedir(d);
    return n;
}

/* The nice field (19th) of /proc/PID/task/TID/stat. */
static int nice_of(pid_t pid, pid_t tid)
{
    char path[96], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    assert_true(n > 0);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    assert_non_null(p);
    for (int field = 2; field < 19; field++) {
        p = strchr(p + 1, ' ');
        assert_non_null(p);
    }
    return atoi(p + 1);
}

static unsigned last_online_cpu(void)
{
    struct agent_cpuset s;
    char err[QM_ERRMSG_SIZE];
    assert_int_equal(agent_cpus_read(AGENT_CPUS_ONLINE_PATH, &s, err), QM_OK);
    unsigned last = 0;
    for (unsigned c = 0; c < AGENT_CPU_MAX; c++) {
        last = agent_cpuset_has(&s, c) ? c : last;
    }
    return last;
}

static int apply(struct fx *f,
                 const struct agent_alloc *a,
                 const pid_t *pids,
                 size_t n,
                 const char *root)
{
    struct agent_enforce_target t = {
        .service = "svc", .pids = pids, .npids = n, .cgroup_root = root};
    return agent_enforce_apply(a, &t, &f->r, f->errmsg);
}

static const char *summary(struct fx *f)
{
    static char line[1024];
    agent_enforce_summary(&f->r, line, sizeof(line));
    return line;
}

/* A fake cgroup tree: files with their text, or folders (text NULL). */
struct fake
{
    const char *rel;
    const char *text;
};

static const struct fake full_tree[] = {
    {"cgroup.controllers", "cpu memory pids\n"},
    {"cgroup.subtree_control", ""},
    {"qm.slice", NULL},
    {"qm.slice/cgroup.controllers", "cpu memory\n"},
    {"qm.slice/cgroup.subtree_control", ""},
    {"qm.slice/svc", NULL},
    {"qm.slice/svc/cgroup.controllers", "cpu memory\n"},
    {"qm.slice/svc/cgroup.procs", ""},
    {"qm.slice/svc/cpu.weight", "100\n"},
    {"qm.slice/svc/cpu.max", "max 100000\n"},
    {"qm.slice/svc/memory.high", "max\n"},
    {"qm.slice/svc/memory.max", "max\n"},
};

static void build(struct fx *f, const struct fake *files, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char path[PATH_LEN];
        snprintf(path, sizeof(path), "%s/%s", f->dir, files[i].rel);
        if (files[i].text == NULL) {
            assert_int_equal(mkdir(path, 0755), 0);
            continue;
        }
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        assert_true(fd >= 0);
        size_t len = strlen(files[i].text);
        assert_int_equal(write(fd, files[i].text, len), (ssize_t)len);
        close(fd);
    }
}

static const char *text_of(struct fx *f, const char *rel)
{
    static char buf[512];
    char path[PATH_LEN];
    snprintf(path, sizeof(path), "%s/%s", f->dir, rel);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static struct agent_alloc cgroup_alloc(void)
{
    struct agent_alloc a = {
        .set = AGENT_ALLOC_CGROUP_FIELDS,
        .cpu_weight = 250,
        .cpu_max_quota_us = 50000,
        .cpu_max_period_us = 100000,
        .memory_high = 64LL << 20,
        .memory_max = AGENT_CG_MAX,
    };
    return a;
}

/* ---- Assertions ---- */

/* Every thread of @pid has nice @nice and exactly the CPUs of @cpus. */
static void assert_threads(pid_t pid, int nice, const cpu_set_t *cpus)
{
    pid_t tids[16];
    size_t n = tids_of(pid, tids, 16);
    assert_int_equal(n, 1 + THREADS);
    for (size_t i = 0; i < n; i++) {
        cpu_set_t cur;
        assert_int_equal(nice_of(pid, tids[i]), nice);
        assert_int_equal(sched_getaffinity(tids[i], sizeof(cur), &cur), 0);
        assert_true(CPU_EQUAL(&cur, cpus));
    }
}

/* Read from /proc/PID/limits, which needs no permission over @pid (this
 * host's root lacks CAP_SYS_RESOURCE, so prlimit() on another user's
 * process is refused). @row: "Max open files", "Max processes". */
static void assert_rlimit(pid_t pid, const char *row, rlim_t soft, rlim_t hard)
{
    char path[64], line[256];
    unsigned long long cur = 0, max = 0;
    snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    bool found = false;
    while (!found && fgets(line, sizeof(line), fp) != NULL) {
        found = strncmp(line, row, strlen(row)) == 0 &&
                sscanf(line + 26, "%llu %llu", &cur, &max) == 2;
    }
    fclose(fp);
    assert_true(found);
    assert_int_equal(cur, soft);
    assert_int_equal(max, hard);
}

static void assert_item(struct fx *f,
                        uint32_t field,
                        enum agent_item_state state,
                        bool changed,
                        const char *msg)
{
    const struct agent_enforce_item *it = agent_enforce_item(&f->r, field);
    assert_non_null(it);
    assert_int_equal(it->state, state);
    assert_int_equal(it->changed, changed);
    assert_string_equal(it->msg, msg);
}

/* ---- Cases: processes ---- */

static void test_agent_enforce_sets_nice_and_affinity_on_every_thread(
    void **state)
{
    struct fx *f = *state;
    unsigned cpu = last_online_cpu();
    struct agent_alloc a = {.set = AGENT_ALLOC_NICE | AGENT_ALLOC_CPUS,
                            .nice = 7};
    cpu_set_t want;
    CPU_ZERO(&want);
    CPU_SET(cpu, &want);
    snprintf(a.cpus, sizeof(a.cpus), "%u", cpu);
    pid_t kid = target(f, false, 0);
    assert_int_equal(apply(f, &a, &kid, 1, NULL), QM_OK);
    assert_threads(kid, 7, &want);
    assert_item(f, AGENT_ALLOC_NICE, AGENT_ITEM_APPLIED, true, "");
    assert_item(f, AGENT_ALLOC_CPUS, AGENT_ITEM_APPLIED, true, "");
    assert_int_equal(f->r.count, 2);
    assert_int_equal(f->r.threads, 1 + THREADS);
    assert_int_equal(f->r.pids_alive, 1);
    char want_line[64];
    snprintf(want_line, sizeof(want_line), "nice=7 ok; cpus=%u ok", cpu);
    assert_string_equal(summary(f), want_line);
}

static void test_agent_enforce_sets_nofile_and_nproc_soft_and_hard(void **state)
{
    struct fx *f = *state;
    struct agent_alloc a = {
        .set = AGENT_ALLOC_RLIMIT_FIELDS, .nofile = 1234, .nproc = 777};
    pid_t kid = target(f, false, 0);
    assert_int_equal(apply(f, &a, &kid, 1, NULL), QM_OK);
    assert_rlimit(kid, "Max open files", 1234, 1234);
    assert_rlimit(kid, "Max processes", 777, 777);
    assert_string_equal(summary(f), "nofile=1234 ok; nproc=777 ok");
}

static void test_agent_enforce_reapply_writes_nothing_and_catches_new_pids(
    void **state)
{
    struct fx *f = *state;
    struct agent_alloc a = {
        .set = AGENT_ALLOC_NICE | AGENT_ALLOC_CPUS | AGENT_ALLOC_RLIMIT_FIELDS,
        .nice = 4,
        .cpus = "0",
        .nofile = 2048,
        .nproc = 999};
    cpu_set_t want;
    CPU_ZERO(&want);
    CPU_SET(0, &want);
    pid_t kids[2] = {target(f, false, 0), 0};
    assert_int_equal(apply(f, &a, kids, 1, NULL), QM_OK);
    assert_int_equal(apply(f, &a, kids, 1, NULL), QM_OK);
    for (size_t i = 0; i < f->r.count; i++) {
        assert_int_equal(f->r.items[i].state, AGENT_ITEM_APPLIED);
        assert_false(f->r.items[i].changed);
    }
    kids[1] = target(f, false, 0);
    assert_int_equal(apply(f, &a, kids, 2, NULL), QM_OK);
    assert_item(f, AGENT_ALLOC_NICE, AGENT_ITEM_APPLIED, true, "");
    assert_item(f, AGENT_ALLOC_NOFILE, AGENT_ITEM_APPLIED, true, "");
    assert_threads(kids[0], 4, &want);
    assert_threads(kids[1], 4, &want);
    assert_rlimit(kids[1], "Max open files", 2048, 2048);
}

static void test_agent_enforce_reports_nofile_above_nr_open_as_failed(
    void **state)
{
    struct fx *f = *state;
    char want[AGENT_ENFORCE_MSG_MAX];
    unsigned long long nr_open = 0;
    FILE *fp = fopen("/proc/sys/fs/nr_open", "r");
    assert_non_null(fp);
    assert_int_equal(fscanf(fp, "%llu", &nr_open), 1);
    fclose(fp);
    pid_t kid = target(f, false, 0);
    struct rlimit before;
    assert_int_equal(prlimit(kid, RLIMIT_NOFILE, NULL, &before), 0);
    struct agent_alloc a = {.set = AGENT_ALLOC_NICE | AGENT_ALLOC_NOFILE,
                            .nice = 3,
                            .nofile = nr_open + 1};
    assert_int_equal(apply(f, &a, &kid, 1, NULL), QM_OK);
    snprintf(want, sizeof(want),
             "EPERM raising nofile hard limit from %llu to %llu on pid %d",
             (unsigned long long)before.rlim_max, (unsigned long long)a.nofile,
             (int)kid);
    assert_item(f, AGENT_ALLOC_NOFILE, AGENT_ITEM_FAILED, false, want);
    assert_item(f, AGENT_ALLOC_NICE, AGENT_ITEM_APPLIED, true, "");
    assert_false(agent_enforce_all_applied(&f->r));
    assert_rlimit(kid, "Max open files", before.rlim_cur, before.rlim_max);
}

/* Apply @a to @kid from a child without privileges; its summary line. */
static void apply_unprivileged(struct fx *f,
                               const struct agent_alloc *a,
                               pid_t kid,
                               char *line,
                               size_t size)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork_kid(f);
    if (pid == 0) {
        struct agent_enforce_report r;
        struct agent_enforce_target t = {.pids = &kid, .npids = 1};
        char out[1024] = "setup failed", err[QM_ERRMSG_SIZE];
        if (drop_privileges() == 0 &&
            agent_enforce_apply(a, &t, &r, err) == QM_OK) {
            agent_enforce_summary(&r, out, sizeof(out));
        }
        _exit(write(p[1], out, strlen(out)) > 0 ? 0 : 1);
    }
    close(p[1]);
    size_t len = 0;
    ssize_t n;
    while ((n = read(p[0], line + len, size - 1 - len)) > 0) {
        len += (size_t)n;
    }
    line[len] = '\0';
    close(p[0]);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    f->kids[f->nkids - 1] = 0;
}

static void test_agent_enforce_unprivileged_failures_are_reported(void **state)
{
    struct fx *f = *state;
    char line[1024], want[1024];
    if (geteuid() != 0) {
        skip(); /* needs to drop privileges on its own */
    }
    pid_t kid = target(f, true, 4096);
    struct agent_alloc a = {.set = AGENT_ALLOC_NICE | AGENT_ALLOC_NOFILE,
                            .nice = -5,
                            .nofile = 8192};
    apply_unprivileged(f, &a, kid, line, sizeof(line));
    snprintf(want, sizeof(want),
             "nice failed: EACCES setting nice -5 on tid %d (was 0) (and 3 "
             "more); nofile failed: EPERM raising nofile hard limit from "
             "4096 to 8192 on pid %d",
             (int)kid, (int)kid);
    assert_string_equal(line, want);
    cpu_set_t any;
    assert_int_equal(sched_getaffinity(kid, sizeof(any), &any), 0);
    assert_threads(kid, 0, &any);
    assert_rlimit(kid, "Max open files", 4096, 4096);
}

static void test_agent_enforce_skips_vanished_pids_and_refuses_invalid(
    void **state)
{
    struct fx *f = *state;
    struct agent_alloc a = {.set = AGENT_ALLOC_NICE, .nice = 2};
    pid_t gone = fork_kid(f);
    if (gone == 0) {
        _exit(0);
    }
    assert_int_equal(waitpid(gone, NULL, 0), gone);
    f->kids[f->nkids - 1] = 0;
    assert_int_equal(apply(f, &a, &gone, 1, NULL), QM_OK);
    assert_int_equal(f->r.pids_gone, 1);
    assert_item(f, AGENT_ALLOC_NICE, AGENT_ITEM_APPLIED, false, "");
    pid_t kid = target(f, false, 0);
    a.nice = -21;
    assert_int_equal(apply(f, &a, &kid, 1, NULL), QM_INVALID);
    assert_string_equal(f->errmsg, "nice -21 outside -20..19");
    assert_int_equal(f->r.count, 0);
    assert_int_equal(nice_of(kid, kid), 0);
}

/* ---- Cases: cgroups ---- */

static void test_agent_enforce_writes_cgroup_files_and_moves_pids(void **state)
{
    struct fx *f = *state;
    struct agent_alloc a = cgroup_alloc();
    char want[PATH_LEN + 16];
    build(f, full_tree, sizeof(full_tree) / sizeof(full_tree[0]));
    pid_t kid = target(f, false, 0);
    assert_int_equal(apply(f, &a, &kid, 1, f->dir), QM_OK);
    assert_string_equal(text_of(f, "qm.slice/svc/cpu.weight"), "250");
    assert_string_equal(text_of(f, "qm.slice/svc/cpu.max"), "50000 100000");
    assert_string_equal(text_of(f, "qm.slice/svc/memory.high"), "67108864");
    assert_string_equal(text_of(f, "qm.slice/svc/memory.max"), "max\n");
    assert_string_equal(text_of(f, "cgroup.subtree_control"), "+cpu +memory");
    assert_string_equal(text_of(f, "qm.slice/cgroup.subtree_control"),
                        "+cpu +memory");
    snprintf(want, sizeof(want), "%d\n", (int)kid);
    assert_string_equal(text_of(f, "qm.slice/svc/cgroup.procs"), want);
    snprintf(want, sizeof(want), "%s/qm.slice/svc", f->dir);
    assert_string_equal(f->r.cgroup, want);
    assert_item(f, AGENT_ALLOC_MEMORY_MAX, AGENT_ITEM_APPLIED, false, "");
    assert_item(f, AGENT_ENFORCE_PROCS, AGENT_ITEM_APPLIED, true, "");
    assert_string_equal(summary(f),
                        "cpu.weight=250 ok; cpu.max=50000 100000 ok; "
                        "memory.high=67108864 ok; memory.max=max ok; "
                        "cgroup.procs=1 pids ok");
}

static void test_agent_enforce_cgroup_reapply_writes_nothing(void **state)
{
    static const char *const files[] = {
        "cgroup.subtree_control",    "qm.slice/cgroup.subtree_control",
        "qm.slice/svc/cpu.weight",   "qm.slice/svc/cpu.max",
        "qm.slice/svc/memory.high",  "qm.slice/svc/memory.max",
        "qm.slice/svc/cgroup.procs",
    };
    struct fx *f = *state;
    struct agent_alloc a = cgroup_alloc();
    char path[PATH_LEN], page_rounded[32];
    const struct timespec old[2] = {{.tv_sec = 946684800},
                                    {.tv_sec = 946684800}};
    build(f, full_tree, sizeof(full_tree) / sizeof(full_tree[0]));
    pid_t kid = target(f, false, 0);
    assert_int_equal(apply(f, &a, &kid, 1, f->dir), QM_OK);
    /* The kernel shows memory limits rounded down to pages. */
    a.memory_high = 100000000;
    long page = sysconf(_SC_PAGESIZE);
    snprintf(page_rounded, sizeof(page_rounded), "%ld\n",
             100000000L / page * page);
    build(f, &(struct fake){"qm.slice/svc/memory.high", page_rounded}, 1);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", f->dir, files[i]);
        assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
    }
    assert_int_equal(apply(f, &a, &kid, 1, f->dir), QM_OK);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", f->dir, files[i]);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mtim.tv_sec, 946684800);
    }
    for (size_t i = 0; i < f->r.count; i++) {
        assert_int_equal(f->r.items[i].state, AGENT_ITEM_APPLIED);
        assert_false(f->r.items[i].changed);
    }
}

static void test_agent_enforce_missing_controller_is_unavailable(void **state)
{
    struct fx *f = *state;
    struct agent_alloc a = {
        .set = AGENT_ALLOC_CPU_WEIGHT | AGENT_ALLOC_MEMORY_MAX,
        .cpu_weight = 50,
        .memory_max = 128LL << 20};
    char want[AGENT_ENFORCE_MSG_MAX];
    build(f, full_tree, sizeof(full_tree) / sizeof(full_tree[0]));
    build(
        f,
        (const struct fake[]){{"cgroup.controllers", "memory\n"},
                              {"qm.slice/svc/cgroup.controllers", "memory\n"}},
        2);
    pid_t kid = target(f, false, 0);
    assert_int_equal(apply(f, &a, &kid, 1, f->dir), QM_OK);
    snprintf(want, sizeof(want),
             "cgroup v2 controller 'cpu' not available on %s", f->dir);
    assert_item(f, AGENT_ALLOC_CPU_WEIGHT, AGENT_ITEM_UNAVAILABLE, false, want);
    assert_item(f, AGENT_ALLOC_MEMORY_MAX, AGENT_ITEM_APPLIED, true, "");
    assert_string_equal(text_of(f, "qm.slice/svc/memory.max"), "134217728");
    assert_string_equal(text_of(f, "qm.slice/svc/cpu.weight"), "100\n");
}

static void test_agent_enforce_no_controller_at_all_creates_nothing(
    void **state)
{
    struct fx *f = *state;
    struct agent_alloc a = cgroup_alloc();
    char path[PATH_LEN];
    struct stat st;
    build(f, (const struct fake[]){{"cgroup.controllers", "hugetlb\n"}}, 1);
    pid_t kid = target(f, false, 0);
    assert_int_equal(apply(f, &a, &kid, 1, f->dir), QM_OK);
    assert_int_equal(f->r.count, 4);
    for (size_t i = 0; i < f->r.count; i++) {
        assert_int_equal(f->r.items[i].state, AGENT_ITEM_UNAVAILABLE);
    }
    snprintf(path, sizeof(path),
             "cgroup v2 controller 'memory' not available "
             "on %s",
             f->dir);
    assert_item(f, AGENT_ALLOC_MEMORY_HIGH, AGENT_ITEM_UNAVAILABLE, false,
                path);
    snprintf(path, sizeof(path), "%s/qm.slice", f->dir);
    assert_int_equal(stat(path, &st), -1);
    assert_string_equal(f->r.cgroup, "");
}

static void test_agent_enforce_uses_the_service_cgroup_as_it_is(void **state)
{
    struct fx *f = *state;
    struct agent_alloc a = {
        .set = AGENT_ALLOC_CPU_WEIGHT | AGENT_ALLOC_MEMORY_MAX,
        .cpu_weight = 300,
        .memory_max = 64LL << 20};
    char dir[PATH_LEN], want[AGENT_ENFORCE_MSG_MAX];
    build(f,
          (const struct fake[]){{"own", NULL},
                                {"own/cgroup.controllers", "cpu\n"},
                                {"own/cgroup.procs", ""},
                                {"own/cpu.weight", "100\n"}},
          4);
    pid_t kid = target(f, false, 0);
    snprintf(dir, sizeof(dir), "%s/own", f->dir);
    struct agent_enforce_target t = {
        .pids = &kid, .npids = 1, .cgroup_dir = dir, .cgroup_root = f->dir};
    assert_int_equal(agent_enforce_apply(&a, &t, &f->r, f->errmsg), QM_OK);
    assert_string_equal(text_of(f, "own/cpu.weight"), "300");
    snprintf(want, sizeof(want),
             "cgroup v2 controller 'memory' not enabled for %s", dir);
    assert_item(f, AGENT_ALLOC_MEMORY_MAX, AGENT_ITEM_UNAVAILABLE, false, want);
    assert_string_equal(text_of(f, "own/cgroup.procs"), "");
    assert_null(agent_enforce_item(&f->r, AGENT_ENFORCE_PROCS));
    assert_string_equal(f->r.cgroup, dir);
}

static void test_agent_enforce_cgroup_write_error_is_failed(void **state)
{
    struct fx *f = *state;
    struct agent_alloc a = {.set = AGENT_ALLOC_CPU_WEIGHT, .cpu_weight = 9};
    char want[AGENT_ENFORCE_MSG_MAX];
    build(f, full_tree, 8);
    build(f, (const struct fake[]){{"qm.slice/svc/cpu.weight", NULL}}, 1);
    pid_t kid = target(f, false, 0);
    assert_int_equal(apply(f, &a, &kid, 1, f->dir), QM_OK);
    snprintf(want, sizeof(want), "EISDIR reading %s/qm.slice/svc/cpu.weight",
             f->dir);
    assert_item(f, AGENT_ALLOC_CPU_WEIGHT, AGENT_ITEM_FAILED, false, want);
}

static void test_agent_enforce_without_cgroup_mount_applies_the_rest(
    void **state)
{
    struct fx *f = *state;
    struct agent_alloc a = cgroup_alloc();
    a.set |= AGENT_ALLOC_NICE;
    a.nice = 1;
    pid_t kid = target(f, false, 0);
    assert_int_equal(apply(f, &a, &kid, 1, NULL), QM_OK);
    assert_item(f, AGENT_ALLOC_NICE, AGENT_ITEM_APPLIED, true, "");
    assert_item(f, AGENT_ALLOC_CPU_MAX, AGENT_ITEM_UNAVAILABLE, false,
                "no cgroup v2 mount on this host");
    assert_int_equal(nice_of(kid, kid), 1);
}

/* This host's own cgroup2 mount: cpu.weight is written when the cpu
 * controller is there, and reported UNAVAILABLE, naming it, when not (a
 * hybrid host has only 'hugetlb'). Either way a real check. */
static void test_agent_enforce_cpu_weight_on_this_host(void **state)
{
    struct fx *f = *state;
    struct agent_alloc a = {.set = AGENT_ALLOC_CPU_WEIGHT, .cpu_weight = 250};
    char root[AGENT_CGROUP_PATH_MAX], want[AGENT_ENFORCE_MSG_MAX];
    char svc[64], value[AGENT_CGROUP_VALUE_MAX];
    unsigned have = 0;
    struct stat st;
    bool mounted = agent_cgroup_find_mount(AGENT_CGROUP_MOUNTINFO, root,
                                           sizeof(root)) == QM_OK;
    pid_t kid = target(f, false, 0);
    snprintf(svc, sizeof(svc), "qm-unit-%d", (int)getpid());
    snprintf(f->rmdirs[1], sizeof(f->rmdirs[1]), "%s/qm.slice", root);
    if (!mounted || stat(f->rmdirs[1], &st) == 0) {
        f->rmdirs[1][0] = '\0'; /* not ours to remove */
    }
    snprintf(f->rmdirs[0], sizeof(f->rmdirs[0]), "%s/qm.slice/%s", root, svc);
    struct agent_enforce_target t = {.service = svc,
                                     .pids = &kid,
                                     .npids = 1,
                                     .cgroup_root = mounted ? root : NULL};
    assert_int_equal(agent_enforce_apply(&a, &t, &f->r, f->errmsg), QM_OK);
    if (!mounted) {
        assert_item(f, AGENT_ALLOC_CPU_WEIGHT, AGENT_ITEM_UNAVAILABLE, false,
                    "no cgroup v2 mount on this host");
        return;
    }
    assert_int_equal(agent_cgroup_controllers(root, &have, f->errmsg), QM_OK);
    if (!(have & AGENT_CG_CPU)) {
        snprintf(want, sizeof(want),
                 "cgroup v2 controller 'cpu' not available on %s", root);
        assert_item(f, AGENT_ALLOC_CPU_WEIGHT, AGENT_ITEM_UNAVAILABLE, false,
                    want);
        assert_int_equal(stat(f->rmdirs[0], &st), -1);
        return;
    }
    assert_item(f, AGENT_ALLOC_CPU_WEIGHT, AGENT_ITEM_APPLIED, true, "");
    assert_int_equal(agent_cgroup_read(f->rmdirs[0], "cpu.weight", value,
                                       sizeof(value), f->errmsg),
                     QM_OK);
    assert_string_equal(value, "250");
    assert_item(f, AGENT_ENFORCE_PROCS, AGENT_ITEM_APPLIED, true, "");
}

static void test_agent_enforce_summary_is_cut_with_dots(void **state)
{
    struct fx *f = *state;
    char line[16];
    struct agent_alloc a = cgroup_alloc();
    assert_int_equal(apply(f, &a, NULL, 0, NULL), QM_OK);
    assert_int_equal(agent_enforce_summary(&f->r, line, sizeof(line)), 15);
    assert_string_equal(line, "cpu.weight u...");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_agent_enforce_sets_nice_and_affinity_on_every_thread),
        T(test_agent_enforce_sets_nofile_and_nproc_soft_and_hard),
        T(test_agent_enforce_reapply_writes_nothing_and_catches_new_pids),
        T(test_agent_enforce_reports_nofile_above_nr_open_as_failed),
        T(test_agent_enforce_unprivileged_failures_are_reported),
        T(test_agent_enforce_skips_vanished_pids_and_refuses_invalid),
        T(test_agent_enforce_writes_cgroup_files_and_moves_pids),
        T(test_agent_enforce_cgroup_reapply_writes_nothing),
        T(test_agent_enforce_missing_controller_is_unavailable),
        T(test_agent_enforce_no_controller_at_all_creates_nothing),
        T(test_agent_enforce_uses_the_service_cgroup_as_it_is),
        T(test_agent_enforce_cgroup_write_error_is_failed),
        T(test_agent_enforce_without_cgroup_mount_applies_the_rest),
        T(test_agent_enforce_cpu_weight_on_this_host),
        T(test_agent_enforce_summary_is_cut_with_dots),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
