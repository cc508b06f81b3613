#include "agent_collect.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent_cgroup.h"
#include "agent_match.h"
#include "qm_alloc.h"
#include "qm_log.h"

/* A process the collector follows, kept in a table sorted by pid. */
struct tracked
{
    int32_t pid;
    bool have_prev;     /* start_ticks, prev_* hold an earlier sample */
    bool alive;         /* sampled in the current sample */
    uint64_t svc_mask;  /* bit i: belongs to service i */
    uint64_t root_mask; /* bit i: matched by service i's spec */
    uint64_t start_ticks;
    uint64_t prev_cpu_ticks;
    int64_t prev_ms;
    bool have_socks; /* fds, sockets, tcp[] hold the last fd walk */
    int32_t fds;
    int32_t sockets;
    uint32_t tcp[AGENT_TCP_STATES];
    int64_t socks_ms; /* when the fds were last walked */
};

struct service
{
    char name[AGENT_SERVICE_NAME_MAX];
    struct agent_match match;
    int32_t truncated; /* at the last scan */
};

struct agent_collect
{
    struct agent_proc_env env;
    struct agent_host host;
    struct agent_sock_ns socks;
    struct agent_ptable ptable;
    char cgroup_root[AGENT_ROOT_MAX];
    int64_t rescan_ms;
    int64_t sock_ms;
    int64_t clk_tck;
    bool want_exe; /* some service matches by exe */
    bool scanned;
    bool need_rescan;
    int64_t last_scan_ms;
    size_t scan_truncated; /* last value logged */
    size_t nsvcs;
    struct service svcs[AGENT_SERVICES_MAX];
    size_t n;
    struct tracked *cur;               /* AGENT_PROCS_MAX; n in use */
    struct tracked *next;              /* AGENT_PROCS_MAX; scratch */
    struct agent_proc_sample *samples; /* AGENT_PROCS_MAX; by cur index */
    int32_t roots[AGENT_PROCS_MAX];
    int32_t desc[AGENT_PROCS_MAX];
};

/* ---- Creation ---- */

static bool valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= AGENT_SERVICE_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
              ch == '-')) {
            return false;
        }
    }
    return true;
}

static int add_services(struct agent_collect *c,
                        const struct agent_service_spec *svcs,
                        size_t nsvcs,
                        char errmsg[QM_ERRMSG_SIZE])
{
    if (nsvcs > AGENT_SERVICES_MAX) {
        snprintf(errmsg, QM_ERRMSG_SIZE, "%zu services, at most %d", nsvcs,
                 AGENT_SERVICES_MAX);
        return QM_INVALID;
    }
    for (size_t i = 0; i < nsvcs; i++) {
        struct service *s = &c->svcs[i];
        char why[QM_ERRMSG_SIZE];
        if (svcs[i].name == NULL || !valid_name(svcs[i].name)) {
            snprintf(errmsg, QM_ERRMSG_SIZE,
                     "service name \"%.64s\": want 1..%d of [A-Za-z0-9_.-]",
                     svcs[i].name == NULL ? "" : svcs[i].name,
                     AGENT_SERVICE_NAME_MAX - 1);
            return QM_INVALID;
        }
        for (size_t k = 0; k < i; k++) {
            if (strcmp(c->svcs[k].name, svcs[i].name) == 0) {
                snprintf(errmsg, QM_ERRMSG_SIZE, "service %s: named twice",
                         svcs[i].name);
                return QM_INVALID;
            }
        }
        if (agent_match_parse(&s->match,
                              svcs[i].match == NULL ? "" : svcs[i].match,
                              why) != QM_OK) {
            snprintf(errmsg, QM_ERRMSG_SIZE, "service %s: %s", svcs[i].name,
                     why);
            return QM_INVALID;
        }
        snprintf(s->name, sizeof(s->name), "%s", svcs[i].name);
        c->want_exe |= s->match.kind == AGENT_MATCH_EXE;
    }
    c->nsvcs = nsvcs;
    return QM_OK;
}

/* Open the proc root and set up the samplers that read it. */
static int open_roots(struct agent_collect *c,
                      const struct agent_collect_opts *o,
                      char errmsg[QM_ERRMSG_SIZE])
{
    const char *root = o->proc_root != NULL ? o->proc_root : "/proc";
    if (strlen(root) >= AGENT_ROOT_MAX ||
        (o->cgroup_root != NULL && strlen(o->cgroup_root) >= AGENT_ROOT_MAX)) {
        snprintf(errmsg, QM_ERRMSG_SIZE, "proc or cgroup root over %d bytes",
                 AGENT_ROOT_MAX - 1);
        return QM_INVALID;
    }
    if (agent_proc_env_open(&c->env, root) != QM_OK) {
        snprintf(errmsg, QM_ERRMSG_SIZE, "proc root %.128s: cannot open", root);
        return QM_EIO;
    }
    int rv = agent_host_init(&c->host, c->env.rootfd, o->disk_paths,
                             o->ndisk_paths, errmsg);
    if (rv != QM_OK) {
        agent_proc_env_close(&c->env);
        return rv;
    }
    agent_sock_ns_init(&c->socks, c->env.rootfd, c->env.live);
    char mountinfo[AGENT_ROOT_MAX + 16];
    snprintf(mountinfo, sizeof(mountinfo), "%s/self/mountinfo", root);
    if (o->cgroup_root != NULL) {
        snprintf(c->cgroup_root, sizeof(c->cgroup_root), "%s", o->cgroup_root);
    } else if (agent_cgroup_find_mount(mountinfo, c->cgroup_root,
                                       sizeof(c->cgroup_root)) != QM_OK) {
        snprintf(c->cgroup_root, sizeof(c->cgroup_root), "/sys/fs/cgroup");
    }
    return QM_OK;
}

int agent_collect_new(struct agent_collect **out,
                      const struct agent_service_spec *svcs,
                      size_t nsvcs,
                      const struct agent_collect_opts *opts,
                      char errmsg[QM_ERRMSG_SIZE])
{
    static const struct agent_collect_opts defaults = {0};
    const struct agent_collect_opts *o = opts != NULL ? opts : &defaults;
    int rv = QM_ENOMEM;
    struct agent_collect *c = qm_calloc(1, sizeof(*c));
    if (c == NULL) {
        goto err;
    }
    c->cur = qm_calloc(AGENT_PROCS_MAX, sizeof(*c->cur));
    c->next = qm_calloc(AGENT_PROCS_MAX, sizeof(*c->next));
    c->samples = qm_calloc(AGENT_PROCS_MAX, sizeof(*c->samples));
    if (c->cur == NULL || c->next == NULL || c->samples == NULL) {
        goto err_free;
    }
    rv = add_services(c, svcs, nsvcs, errmsg);
    if (rv != QM_OK) {
        goto err_free;
    }
    rv = open_roots(c, o, errmsg);
    if (rv != QM_OK) {
        goto err_free;
    }
    agent_ptable_init(&c->ptable);
    long tck = sysconf(_SC_CLK_TCK);
    c->clk_tck = tck > 0 ? tck : 100;
    c->rescan_ms = o->rescan_ms > 0 ? o->rescan_ms : AGENT_RESCAN_MS_DEFAULT;
    c->sock_ms = o->sock_refresh_ms > 0 ? o->sock_refresh_ms : c->rescan_ms;
    *out = c;
    return QM_OK;

err_free:
    qm_free(c->samples);
    qm_free(c->next);
    qm_free(c->cur);
    qm_free(c);
err:
    if (rv == QM_ENOMEM) {
        snprintf(errmsg, QM_ERRMSG_SIZE, "collector: out of memory");
    }
    return rv;
}

void agent_collect_free(struct agent_collect *c)
{
    if (c == NULL) {
        return;
    }
    agent_ptable_close(&c->ptable);
    agent_sock_ns_close(&c->socks);
    agent_host_close(&c->host);
    agent_proc_env_close(&c->env);
    qm_free(c->samples);
    qm_free(c->next);
    qm_free(c->cur);
    qm_free(c);
}

/* ---- Rescan: which processes make up each service ---- */

/* Index of the first entry of @v[0..@n) whose pid is >= @pid. */
static size_t lower_bound(const struct tracked *v, size_t n, int32_t pid)
{
    size_t lo = 0;
    size_t hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].pid < pid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Add @pid to service @svc in the table being built; false if full. */
static bool track(struct agent_collect *c,
                  size_t *nn,
                  int32_t pid,
                  size_t svc,
                  bool root)
{
    uint64_t bit = UINT64_C(1) << svc;
    size_t at = lower_bound(c->next, *nn, pid);
    struct tracked *t = &c->next[at];
    if (at == *nn || t->pid != pid) {
        if (*nn == AGENT_PROCS_MAX) {
            return false;
        }
        memmove(t + 1, t, (*nn - at) * sizeof(*t));
        memset(t, 0, sizeof(*t));
        t->pid = pid;
        (*nn)++;
    }
    t->svc_mask |= bit;
    t->root_mask |= root ? bit : 0;
    return true;
}

/* Find service @i's processes in the scan and add them to the table. */
static void resolve_service(struct agent_collect *c, size_t i, size_t *nn)
{
    struct service *s = &c->svcs[i];
    size_t nroots;
    size_t ndesc;
    size_t lost_roots;
    size_t lost_desc;
    (void)agent_match_roots(&s->match, &c->ptable, c->cgroup_root, c->roots,
                            AGENT_PROCS_MAX, &nroots, &lost_roots);
    agent_match_descendants(&c->ptable, c->roots, nroots, c->desc,
                            AGENT_PROCS_MAX, &ndesc, &lost_desc);
    size_t lost = lost_roots + lost_desc;
    for (size_t k = 0; k < nroots; k++) {
        lost += !track(c, nn, c->roots[k], i, true);
    }
    for (size_t k = 0; k < ndesc; k++) {
        lost += !track(c, nn, c->desc[k], i, false);
    }
    int32_t was = s->truncated;
    s->truncated = lost > INT32_MAX ? INT32_MAX : (int32_t)lost;
    if (was == 0 && s->truncated > 0) {
        qm_log(QM_LOG_WARN, "ACOL0001",
               "service %s: %d processes not tracked, over the limit of %d",
               s->name, s->truncated, AGENT_PROCS_MAX);
    }
}

static int rescan(struct agent_collect *c, int64_t now_ms)
{
    int rv = agent_ptable_scan(&c->ptable, c->env.rootfd, c->want_exe);
    if (rv != QM_ENOMEM && c->ptable.truncated > 0 && c->scan_truncated == 0) {
        qm_log(QM_LOG_WARN, "ACOL0002",
               "process table: %zu processes left out of the scan, over "
               "the limit of %d",
               c->ptable.truncated, AGENT_SCAN_MAX);
    }
    c->scan_truncated = c->ptable.truncated;
    size_t nn = 0;
    for (size_t i = 0; i < c->nsvcs; i++) {
        resolve_service(c, i, &nn);
    }
    /* Keep what the previous table knew of processes still tracked. */
    for (size_t k = 0; k < nn; k++) {
        struct tracked *t = &c->next[k];
        size_t at = lower_bound(c->cur, c->n, t->pid);
        if (at < c->n && c->cur[at].pid == t->pid) {
            const struct tracked *old = &c->cur[at];
            uint64_t svc_mask = t->svc_mask;
            uint64_t root_mask = t->root_mask;
            *t = *old;
            t->svc_mask = svc_mask;
            t->root_mask = root_mask;
        }
    }
    struct tracked *swap = c->cur;
    c->cur = c->next;
    c->next = swap;
    c->n = nn;
    agent_proc_env_refresh(&c->env);
    c->scanned = true;
    c->need_rescan = rv == QM_ENOMEM; /* try again at the next sample */
    c->last_scan_ms = now_ms;
    return rv == QM_ENOMEM ? QM_ENOMEM : QM_OK;
}

/* ---- Sampling ---- */

/* Per mille of one core used between two readings @dms apart. */
static int32_t cpu_per_mille(uint64_t dticks, int64_t dms, int64_t clk_tck)
{
    uint64_t pm = dticks * 1000000u / ((uint64_t)clk_tck * (uint64_t)dms);
    return pm > INT32_MAX ? INT32_MAX : (int32_t)pm;
}

/* Sockets of @s: walk its fds when its fd count changed or the last walk
 * is older than the socket refresh interval, else keep the last walk's
 * counts. False if the process vanished. */
static bool sample_sockets(struct agent_collect *c,
                           struct tracked *t,
                           struct agent_proc_sample *s,
                           int64_t now_ms)
{
    if (t->have_socks && s->fds == t->fds && now_ms >= t->socks_ms &&
        now_ms - t->socks_ms < c->sock_ms) {
        s->sockets = t->sockets;
        memcpy(s->tcp, t->tcp, sizeof(s->tcp));
        return true;
    }
    if (agent_proc_sockets(&c->env, t->pid, &c->socks, s) != QM_OK) {
        return false;
    }
    t->have_socks = true;
    t->fds = s->fds;
    t->sockets = s->sockets;
    memcpy(t->tcp, s->tcp, sizeof(t->tcp));
    t->socks_ms = now_ms;
    return true;
}

static void sample_one(struct agent_collect *c,
                       struct tracked *t,
                       struct agent_proc_sample *s,
                       int64_t now_ms)
{
    t->alive = false;
    if (agent_proc_sample(&c->env, t->pid, s) != QM_OK) {
        t->have_prev = false;
        t->have_socks = false;
        c->need_rescan = true; /* gone: look for who took its place */
        return;
    }
    if (t->have_prev && t->start_ticks != s->start_ticks) {
        t->have_prev = false; /* the pid was reused: a new process */
        t->have_socks = false;
        c->need_rescan = true;
    }
    if (!sample_sockets(c, t, s, now_ms)) {
        t->have_prev = false;
        t->have_socks = false;
        c->need_rescan = true;
        return;
    }
    t->alive = true;
    if (t->have_prev && now_ms <= t->prev_ms) {
        return; /* no time passed: keep the older reading */
    }
    if (t->have_prev && s->cpu_ticks >= t->prev_cpu_ticks) {
        s->cpu_pm = cpu_per_mille(s->cpu_ticks - t->prev_cpu_ticks,
                                  now_ms - t->prev_ms, c->clk_tck);
    }
    t->have_prev = true;
    t->start_ticks = s->start_ticks;
    t->prev_cpu_ticks = s->cpu_ticks;
    t->prev_ms = now_ms;
}

static void add_count(int64_t *sum, int64_t v)
{
    *sum += v > 0 ? v : 0;
}

/* Fold process @s into service aggregate @a. */
static void aggregate(struct agent_service_sample *a,
                      const struct agent_proc_sample *s,
                      bool child)
{
    a->nprocs++;
    a->nchildren += child;
    if (s->cpu_pm >= 0) {
        a->cpu_pm = (a->cpu_pm < 0 ? 0 : a->cpu_pm) + s->cpu_pm;
    }
    add_count(&a->rss_bytes, s->rss_bytes);
    add_count(&a->fds, s->fds);
    add_count(&a->threads, s->threads);
    add_count(&a->sockets, s->sockets);
    if (s->fd_limit >= 0 && (a->fd_limit < 0 || s->fd_limit < a->fd_limit)) {
        a->fd_limit = s->fd_limit;
    }
    for (int k = 1; k < AGENT_TCP_STATES; k++) {
        a->tcp[k] += s->tcp[k];
    }
}

static void fill_service(struct agent_collect *c,
                         size_t i,
                         struct agent_sample *out)
{
    struct agent_service_sample *a = &out->services[i];
    uint64_t bit = UINT64_C(1) << i;
    memset(a, 0, sizeof(*a));
    memcpy(a->name, c->svcs[i].name, sizeof(a->name));
    a->cpu_pm = -1;
    a->fd_limit = -1;
    a->truncated = c->svcs[i].truncated;
    a->proc_first = out->nprocs;
    for (size_t k = 0; k < c->n; k++) {
        const struct tracked *t = &c->cur[k];
        if ((t->svc_mask & bit) == 0 || !t->alive) {
            continue;
        }
        bool child = (t->root_mask & bit) == 0;
        aggregate(a, &c->samples[k], child);
        if (out->nprocs == AGENT_PROCS_MAX) {
            out->procs_truncated++;
            continue;
        }
        struct agent_proc_sample *p = &out->procs[out->nprocs++];
        *p = c->samples[k];
        p->service = (uint16_t)i;
        p->child = child;
        a->proc_count++;
    }
}

int agent_collect_sample(struct agent_collect *c,
                         int64_t now_ms,
                         struct agent_sample *out)
{
    int rv = QM_OK;
    out->now_ms = now_ms;
    agent_host_sample(&c->host, now_ms, &out->host);
    if (!c->scanned || c->need_rescan || now_ms < c->last_scan_ms ||
        now_ms - c->last_scan_ms >= c->rescan_ms) {
        rv = rescan(c, now_ms);
    }
    agent_sock_ns_begin(&c->socks);
    for (size_t k = 0; k < c->n; k++) {
        sample_one(c, &c->cur[k], &c->samples[k], now_ms);
    }
    out->nservices = (uint32_t)c->nsvcs;
    out->nprocs = 0;
    out->procs_truncated = 0;
    for (size_t i = 0; i < c->nsvcs; i++) {
        fill_service(c, i, out);
    }
    return rv;
}
