/* qm-agent against a real 3-node cluster and real processes:
 *   - it registers its host and its samples reach the leader;
 *   - a process leaking one fd a second is reported as a leak within a
 *     minute, with a time to exhaustion within 20% of the truth, while a
 *     steady and a sawtooth process are not;
 *   - an allocation is applied (nice, affinity, rlimits; the cgroup field
 *     applied or reported as unavailable) and recorded as an action;
 *   - scaling starts and stops instances with the configured commands;
 *   - the local API serves acquisitions from a credit, and a pool never
 *     grants more than it holds, even when the agent dies holding credit;
 *   - the agent outlives a cluster outage and delivers what it buffered. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "h_proc.h"
#include "harness.h"
#include "qm.h"
#include "qm_call.h"

#define HOST "it-host"
#define U QM_MILLI

struct fx
{
    struct h_cluster c;
    char conf[256];
    char agent_log[256];
    char sock[256];
    pid_t agent;
    pid_t leaker, steady, saw, target;
    int64_t leak_start;
};

/* ---- helpers ---- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    H_CHECK(f != NULL, "%s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
}

static void copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    H_CHECK(in >= 0 && out >= 0, "copy %s -> %s", from, to);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof(buf))) > 0) {
        H_CHECK(write(out, buf, (size_t)n) == n, "write %s", to);
    }
    close(in);
    close(out);
}

static pid_t testproc(struct fx *fx,
                      const char *name,
                      const char *a1,
                      const char *a2,
                      const char *a3,
                      const char *a4)
{
    char log[256];
    snprintf(log, sizeof(log), "%s/%s.log", fx->c.base, name);
    const char *argv[] = {
        h_prog("qm_testproc"), "--ready-fd", "3", a1, a2, a3, a4, NULL};
    return h_spawn(argv, log, true);
}

/* The pids running the program @exe (a path), up to @max of them. */
static int pids_of(const char *exe, pid_t *pids, int max)
{
    DIR *d = opendir("/proc");
    int n = 0;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        char path[300], target[512];
        if (e->d_name[0] < '0' || e->d_name[0] > '9') {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%s/exe", e->d_name);
        ssize_t len = readlink(path, target, sizeof(target) - 1);
        if (len > 0) {
            target[len] = '\0';
            if (strcmp(target, exe) == 0 && n < max) {
                pids[n++] = atoi(e->d_name);
            }
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    return n;
}

/* The scaled instances the agent started are not the test's children:
 * they must not outlive a failed run either. */
static char scaled_exe[256];

static void kill_scaled(void)
{
    pid_t pids[16];
    int n = pids_of(scaled_exe, pids, 16);
    for (int i = 0; i < n; i++) {
        kill(pids[i], SIGKILL);
    }
}

static void start_agent(struct fx *fx)
{
    const char *argv[] = {h_bin("qm-agent"), "--config", fx->conf, NULL};
    fx->agent = h_spawn(argv, fx->agent_log, false);
}

static void write_conf(struct fx *fx)
{
    char text[4096];
    const char *scaled = scaled_exe;
    /* A name of this run's own: the agent matches by executable name, and
     * another run's instances must not count. */
    snprintf(scaled_exe, sizeof(scaled_exe), "%s/scaled-%d", fx->c.base,
             (int)getpid());
    copy_file(h_prog("qm_testproc"), scaled_exe);
    atexit(kill_scaled);
    snprintf(fx->conf, sizeof(fx->conf), "%s/agent.ini", fx->c.base);
    snprintf(fx->agent_log, sizeof(fx->agent_log), "%s/agent.log", fx->c.base);
    snprintf(fx->sock, sizeof(fx->sock), "ipc://%s/agent.sock", fx->c.base);
    snprintf(text, sizeof(text),
             "[agent]\ncluster = %s\nhost_id = " HOST
             "\n"
             "labels = role=test,rack=r1\nlocal_api = %s\ninterval = 1s\n"
             "rescan = 1s\nenforce_every = 2s\nlog_level = debug\n"
             "[service leaker]\nmatch = pid:%d\n"
             "[service steady]\nmatch = pid:%d\n"
             "[service saw]\nmatch = pid:%d\n"
             "[service target]\nmatch = pid:%d\n"
             "[service scaled]\nmatch = exe:%s\n"
             "start = %s --steady\nstop = /bin/kill -TERM {pid}\n"
             "scale_cooldown = 1s\n"
             "[credit hot]\nbatch = 30\nttl = 4s\n"
             "[credit warm]\nbatch = 30\nttl = 4s\n",
             fx->c.urls, fx->sock, (int)fx->leaker, (int)fx->steady,
             (int)fx->saw, (int)fx->target, strrchr(scaled, '/') + 1, scaled);
    write_file(fx->conf, text);
}

static int call(struct fx *fx,
                uint32_t op,
                const struct qm_schema *as,
                const void *args,
                const struct qm_schema *bs,
                void *body)
{
    struct qm_result res;
    return qm__call_sync(fx->c.client, op, as, args, 0, NULL, bs, body, &res);
}

/* The leader's latest sample of the host, or false. */
static bool metrics(struct fx *fx, struct tp_host_metrics *out)
{
    static struct tp_metrics_page page;
    struct tp_metrics_args a;
    memset(&a, 0, sizeof(a));
    snprintf(a.host, sizeof(a.host), HOST);
    if (call(fx, TP_OP_HOST_METRICS, &tp_metrics_args_schema, &a,
             &tp_metrics_page_schema, &page) != QM_OK ||
        page.nhosts != 1) {
        return false;
    }
    *out = page.hosts[0];
    return true;
}

static const struct tp_svc_sample *svc(const struct tp_host_metrics *m,
                                       const char *name)
{
    for (uint32_t i = 0; i < m->nservices; i++) {
        if (strcmp(m->services[i].name, name) == 0) {
            return &m->services[i];
        }
    }
    return NULL;
}

static struct tp_alert_page *alerts(struct fx *fx)
{
    static struct tp_alert_page page;
    struct tp_alert_args a = {0, 0};
    H_CHECK(call(fx, TP_OP_ALERT_LIST, &tp_alert_args_schema, &a,
                 &tp_alert_page_schema, &page) == QM_OK,
            "alert list");
    return &page;
}

static const struct tp_alert *leak_alert(struct fx *fx, const char *service)
{
    char subject[128];
    snprintf(subject, sizeof(subject), HOST "/%s", service);
    struct tp_alert_page *p = alerts(fx);
    for (uint32_t i = 0; i < p->nalerts; i++) {
        if (strcmp(p->alerts[i].kind, "leak") == 0 &&
            strcmp(p->alerts[i].subject, subject) == 0 &&
            strcmp(p->alerts[i].severity, "resolved") != 0) {
            return &p->alerts[i];
        }
    }
    return NULL;
}

static struct tp_action_page *actions(struct fx *fx)
{
    static struct tp_action_page page;
    struct tp_action_list_args a;
    memset(&a, 0, sizeof(a));
    snprintf(a.host, sizeof(a.host), HOST);
    H_CHECK(call(fx, TP_OP_ACTION_LIST, &tp_action_list_args_schema, &a,
                 &tp_action_page_schema, &page) == QM_OK,
            "action list");
    return &page;
}

static int count_actions(struct fx *fx,
                         const char *service,
                         const char *action,
                         bool ok)
{
    struct tp_action_page *p = actions(fx);
    int n = 0;
    for (uint32_t i = 0; i < p->nactions; i++) {
        n += strcmp(p->actions[i].service, service) == 0 &&
             strcmp(p->actions[i].action, action) == 0 &&
             p->actions[i].ok == ok;
    }
    return n;
}

/* Seconds in "14m04s", "45s", "3h12m", "2d04h"; -1 if none. */
static double duration_s(const char *s)
{
    double total = 0;
    bool any = false;
    while (*s >= '0' && *s <= '9') {
        char *end;
        long v = strtol(s, &end, 10);
        double unit = *end == 'd'   ? 86400
                      : *end == 'h' ? 3600
                      : *end == 'm' ? 60
                      : *end == 's' ? 1
                                    : -1;
        if (unit < 0) {
            return -1;
        }
        total += (double)v * unit;
        any = true;
        s = end + 1;
    }
    return any ? total : -1;
}

static int instances(void)
{
    pid_t pids[16];
    return pids_of(scaled_exe, pids, 16);
}

#define WAIT_FOR(ms, cond, ...)                        \
    do {                                               \
        int64_t until_ = h_now_ms() + (ms);            \
        while (!(cond)) {                              \
            H_CHECK(h_now_ms() < until_, __VA_ARGS__); \
            h_sleep_ms(200);                           \
        }                                              \
    } while (0)

/* ---- cases ---- */

static void check_registered(struct fx *fx)
{
    static struct tp_host_info h;
    struct tp_host_id id;
    snprintf(id.id, sizeof(id.id), HOST);
    WAIT_FOR(15000,
             call(fx, TP_OP_HOST_GET, &tp_host_id_schema, &id,
                  &tp_host_info_schema, &h) == QM_OK,
             "the agent did not register " HOST);
    H_CHECK(strcmp(h.reg.labels, "role=test,rack=r1") == 0, "labels %s",
            h.reg.labels);
    H_CHECK(h.reg.nservices == 6, "%u services registered", h.reg.nservices);
    struct tp_host_metrics m;
    WAIT_FOR(15000,
             metrics(fx, &m) && svc(&m, "target") != NULL &&
                 svc(&m, "target")->threads == 4,
             "no sample of the target service reached the leader");
    const struct tp_svc_sample *st = svc(&m, "steady");
    H_CHECK(st != NULL && st->nprocs == 1 && st->fds >= 24,
            "steady: %llu procs, %llu fds",
            st ? (unsigned long long)st->nprocs : 0ULL,
            st ? (unsigned long long)st->fds : 0ULL);
    H_CHECK(svc(&m, "leaker")->fd_limit == 1024, "leaker's fd limit %llu",
            (unsigned long long)svc(&m, "leaker")->fd_limit);
    H_CHECK(svc(&m, "qm-agent") != NULL, "the agent does not watch itself");
    h_log("registered; sample seq %llu", (unsigned long long)m.seq);
}

static int thread_nice(pid_t pid, pid_t tid)
{
    char path[96], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    FILE *f = fopen(path, "r");
    if (f == NULL || fgets(buf, sizeof(buf), f) == NULL) {
        if (f != NULL) {
            fclose(f);
        }
        return 100;
    }
    fclose(f);
    const char *p = strrchr(buf, ')');
    int field = 2, nice = 100;
    for (; p != NULL && *p != '\0'; p++) {
        if (*p == ' ' && ++field == 19) {
            nice = atoi(p + 1);
            break;
        }
    }
    return nice;
}

/* The nofile the test asks for: 2048, or less where the hard limit the
 * test process inherited is lower (raising a hard limit needs
 * CAP_SYS_RESOURCE, which CI's root may lack). */
static rlim_t nofile_want(pid_t pid)
{
    struct rlimit rl;
    H_CHECK(prlimit(pid, RLIMIT_NOFILE, NULL, &rl) == 0, "prlimit");
    return rl.rlim_max >= 2048 ? 2048 : rl.rlim_max / 2;
}

/* Every thread of @pid at nice @nice on CPU 0 only, nofile @nofile. */
static bool applied(pid_t pid, int nice, rlim_t nofile)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    bool ok = d != NULL;
    struct dirent *e;
    while (ok && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        pid_t tid = atoi(e->d_name);
        cpu_set_t set;
        CPU_ZERO(&set);
        ok = thread_nice(pid, tid) == nice &&
             sched_getaffinity(tid, sizeof(set), &set) == 0 &&
             CPU_COUNT(&set) == 1 && CPU_ISSET(0, &set);
    }
    if (d != NULL) {
        closedir(d);
    }
    struct rlimit rl;
    return ok && prlimit(pid, RLIMIT_NOFILE, NULL, &rl) == 0 &&
           rl.rlim_cur == nofile && rl.rlim_max == nofile;
}

static bool have_memory_controller(void)
{
    const char *paths[] = {"/sys/fs/cgroup/unified/cgroup.controllers",
                           "/sys/fs/cgroup/cgroup.controllers"};
    for (int i = 0; i < 2; i++) {
        char buf[256] = "";
        FILE *f = fopen(paths[i], "r");
        if (f != NULL) {
            bool has = fgets(buf, sizeof(buf), f) != NULL &&
                       strstr(buf, "memory") != NULL;
            fclose(f);
            return has;
        }
    }
    return false;
}

static void check_enforce(struct fx *fx)
{
    struct tp_alloc a;
    memset(&a, 0, sizeof(a));
    snprintf(a.host, sizeof(a.host), HOST);
    snprintf(a.service, sizeof(a.service), "target");
    a.set =
        TP_ALLOC_NICE | TP_ALLOC_CPUS | TP_ALLOC_NOFILE | TP_ALLOC_MEMORY_MAX;
    a.nice = 5;
    snprintf(a.cpus, sizeof(a.cpus), "0");
    rlim_t nofile = nofile_want(fx->target);
    a.nofile = nofile;
    a.memory_max = 256LL << 20;
    H_CHECK(
        call(fx, TP_OP_ALLOC_SET, &tp_alloc_schema, &a, NULL, NULL) == QM_OK,
        "alloc set");
    WAIT_FOR(15000, applied(fx->target, 5, nofile),
             "nice 5, CPU 0 and nofile %llu not applied to every thread",
             (unsigned long long)nofile);
    bool memory = have_memory_controller();
    WAIT_FOR(10000, count_actions(fx, "target", "apply", memory) == 1,
             "no apply action recorded (ok=%d expected)", memory);
    struct tp_action_page *p = actions(fx);
    for (uint32_t i = 0; i < p->nactions; i++) {
        if (strcmp(p->actions[i].action, "apply") == 0) {
            H_CHECK(strstr(p->actions[i].message, "memory.max") != NULL &&
                        (memory ||
                         strstr(p->actions[i].message, "unavailable") != NULL),
                    "apply message: %s", p->actions[i].message);
            h_log("apply: %s", p->actions[i].message);
        }
    }
}

static void scale_to(struct fx *fx, int64_t n)
{
    struct tp_alloc a;
    memset(&a, 0, sizeof(a));
    snprintf(a.host, sizeof(a.host), HOST);
    snprintf(a.service, sizeof(a.service), "scaled");
    a.set = TP_ALLOC_INSTANCES;
    a.instances = n;
    H_CHECK(
        call(fx, TP_OP_ALLOC_SET, &tp_alloc_schema, &a, NULL, NULL) == QM_OK,
        "alloc set instances");
    WAIT_FOR(30000, instances() == n,
             "%d instances of the scaled service, want %lld", instances(),
             (long long)n);
}

static void check_scale(struct fx *fx)
{
    scale_to(fx, 2);
    WAIT_FOR(10000, count_actions(fx, "scaled", "start", true) == 2,
             "two start actions not recorded");
    scale_to(fx, 1);
    WAIT_FOR(10000, count_actions(fx, "scaled", "stop", true) == 1,
             "the stop action not recorded");
    h_log("scaled to 2 and back to 1");
}

static void check_leak(struct fx *fx)
{
    const struct tp_alert *al = NULL;
    WAIT_FOR(75000, (al = leak_alert(fx, "leaker")) != NULL,
             "no leak alert for the leaking process");
    double delay = (double)(h_now_ms() - fx->leak_start) / 1000;
    int fds = h_proc_fds(fx->leaker);
    const char *in = strstr(al->message, "exhaustion in ");
    H_CHECK(in != NULL, "leak message without a time: %s", al->message);
    double predicted = duration_s(in + 14);
    double truth = 1024.0 - fds; /* one more fd a second */
    double err = (predicted - truth) / truth;
    h_log(
        "leak reported %.1f s after the leak began (seen by the test): "
        "\"%s\"; predicted %.0f s, truth %.0f s, error %.1f%%",
        delay, al->message, predicted, truth, err * 100);
    H_CHECK(delay <= 60.0 + 2.0, "reported after %.1f s", delay);
    H_CHECK(err <= 0.2 && err >= -0.2, "time to exhaustion off by %.1f%%",
            err * 100);
    H_CHECK(leak_alert(fx, "steady") == NULL, "steady called a leak");
    H_CHECK(leak_alert(fx, "saw") == NULL, "sawtooth called a leak");
}

/* Acquire one unit at a time through the local API, @n times; returns
 * how many were granted. */
static int drain_locally(struct fx *fx,
                         struct qm_client *local,
                         const char *pool,
                         int n)
{
    (void)fx;
    int granted = 0;
    for (int i = 0; i < n; i++) {
        struct qm_acquire got;
        struct qm_result res;
        int rv = qm_acquire(local, pool, 1 * U, &got, &res);
        if (rv == QM_OK) {
            granted++;
        } else {
            H_CHECK(rv == QM_DENIED, "local acquire: %s", res.message);
        }
    }
    return granted;
}

static int64_t pool_tokens(struct fx *fx, const char *name)
{
    struct qm_pool p;
    H_CHECK(qm_pool_get(fx->c.client, name, false, &p, NULL) == QM_OK,
            "pool get");
    return p.tokens;
}

/* Milli-units of @pool this host holds on credit; -1 for no credit. */
static int64_t credits_out(struct fx *fx, const char *pool)
{
    static struct tp_credit_page page;
    struct tp_credit_list_args a;
    memset(&a, 0, sizeof(a));
    snprintf(a.host, sizeof(a.host), HOST);
    H_CHECK(call(fx, TP_OP_CREDIT_LIST, &tp_credit_list_args_schema, &a,
                 &tp_credit_page_schema, &page) == QM_OK,
            "credit list");
    int64_t sum = -1;
    for (uint32_t i = 0; i < page.ncredits; i++) {
        if (strcmp(page.credits[i].pool, pool) == 0) {
            sum = (sum < 0 ? 0 : sum) + page.credits[i].amount;
        }
    }
    return sum;
}

static struct qm_client *local_client(struct fx *fx)
{
    struct qm_client *local;
    char err[QM_ERRMSG_SIZE];
    struct qm_options o = {5000, 1000, NULL};
    H_CHECK(qm_client_new(&local, fx->sock, &o, err) == QM_OK, "%s", err);
    return local;
}

static void create_pool(struct fx *fx, const char *name)
{
    struct qm_pool_spec ps;
    memset(&ps, 0, sizeof(ps));
    ps.name = name;
    ps.capacity = 100 * U;
    H_CHECK(qm_pool_create(fx->c.client, &ps, NULL) == QM_OK, "pool %s", name);
}

/* A pool of 100 units without refill, drained through the local API:
 * never more than the pool held, and most of it from credit. */
static void check_drain(struct fx *fx, struct qm_client *local)
{
    int granted = drain_locally(fx, local, "hot", 200);
    int64_t left = pool_tokens(fx, "hot");
    h_log(
        "local API granted %d units of 100; the pool holds %lld "
        "milli-units",
        granted, (long long)left);
    H_CHECK(granted * U + left <= 100 * U, "granted more than the pool held");
    H_CHECK(granted >= 60, "only %d units granted of 100", granted);
    struct qm_node_info info;
    struct qm_result res;
    H_CHECK(qm_node_info(local, NULL, &info, &res) == QM_INVALID,
            "the local API served NODE_INFO");
}

/* The agent dies holding unused credit: those tokens count as used when
 * the lease ends, and nothing is granted twice. */
static void check_dead_holder(struct fx *fx, struct qm_client *local)
{
    int granted = drain_locally(fx, local, "warm", 5);
    int64_t until = h_now_ms() + 10000;
    while (credits_out(fx, "warm") < 0 && h_now_ms() < until) {
        h_sleep_ms(100);
    }
    granted += drain_locally(fx, local, "warm", 5);
    int64_t held = credits_out(fx, "warm");
    H_CHECK(held > 0, "the agent holds no credit of warm");
    H_CHECK(h_proc_stop(fx->agent, SIGKILL) == 128 + SIGKILL, "kill -9");
    int64_t before = pool_tokens(fx, "warm");
    WAIT_FOR(20000, credits_out(fx, "warm") < 0,
             "the dead agent's credits never expired");
    int64_t after = pool_tokens(fx, "warm");
    h_log(
        "agent killed holding %lld milli-units of credit (%d units "
        "granted locally); after the lease the pool holds %lld (before "
        "%lld)",
        (long long)held, granted, (long long)after, (long long)before);
    H_CHECK(after == before, "expired credit came back to the pool");
    H_CHECK(after + granted * U <= 100 * U,
            "the pool granted more than it held");
    H_CHECK(after <= 100 * U - held, "the credit held came back");
}

static void check_credits(struct fx *fx)
{
    create_pool(fx, "warm");
    struct qm_client *local = local_client(fx);
    check_drain(fx, local);
    check_dead_holder(fx, local);
    qm_client_free(local);
    start_agent(fx);
}

static void check_outage(struct fx *fx, int64_t restarted_ms)
{
    struct tp_host_metrics m;
    WAIT_FOR(20000, metrics(fx, &m) && m.at_ms > restarted_ms,
             "no samples after the restart");
    for (int i = 0; i < fx->c.n; i++) {
        H_CHECK(h_node_stop(&fx->c, i, SIGTERM) == 0, "node %d stop", i);
    }
    uint64_t before = m.seq;
    h_sleep_ms(3000);
    H_CHECK(h_proc_alive(fx->agent), "the agent exited with the cluster");
    for (int i = 0; i < fx->c.n; i++) {
        h_node_start(&fx->c, i, false);
    }
    h_wait_leader(&fx->c, 20000);
    WAIT_FOR(30000, metrics(fx, &m) && m.seq >= before + 3,
             "the samples of the outage never came");
    H_CHECK(h_proc_alive(fx->agent), "the agent died");
    h_log("before the outage the leader had sample %llu, after it %llu",
          (unsigned long long)before, (unsigned long long)m.seq);
}

int main(void)
{
    static struct fx fx;
    h_cluster_init(&fx.c, "agent", 3);
    h_cluster_start(&fx.c);
    h_wait_leader(&fx.c, 20000);
    fx.leaker =
        testproc(&fx, "leaker", "--nofile", "1024", "--leak-fds-per-sec", "1");
    fx.leak_start = h_now_ms();
    fx.steady = testproc(&fx, "steady", "--fds", "20", "--steady", NULL);
    fx.saw = testproc(&fx, "saw", "--sawtooth", "20:30", NULL, NULL);
    fx.target = testproc(&fx, "target", "--threads", "3", NULL, NULL);
    create_pool(&fx, "hot");
    write_conf(&fx);
    start_agent(&fx);
    check_registered(&fx);
    check_enforce(&fx);
    check_scale(&fx);
    check_leak(&fx);
    check_credits(&fx);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    check_outage(&fx, (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
    scale_to(&fx, 0); /* the instance left is the agent's to stop */
    H_CHECK(h_proc_stop(fx.agent, SIGTERM) == 0,
            "the agent did not stop cleanly (see %s)", fx.agent_log);
    h_cluster_stop(&fx.c);
    printf("agent: ok\n");
    return 0;
}
