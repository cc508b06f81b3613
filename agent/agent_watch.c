/* Leak and threshold findings from the agent's samples (agent_watch.h). */
#include "agent_watch.h"

#include <stdio.h>
#include <string.h>

#include "qm_alloc.h"
#include "qm_err.h"

/* RSS grows in steps of pages and allocator arenas: a leak must add at
 * least this much over its span to count. */
#define RSS_MIN_RISE (16.0 * 1024 * 1024)

static const char *const res_names[AGENT_RES_COUNT] = {"fds", "sockets",
                                                       "threads", "rss"};
static const char *const util_names[3] = {"cpu", "memory", "disk"};

struct tracked
{
    uint16_t service;
    int32_t pid;
    uint64_t start;
    uint64_t seen; /* the feed that last listed it */
    struct agent_leak *d[AGENT_RES_COUNT];
};

struct agent_watch
{
    char host[QM_NAME_MAX + 1];
    struct agent_leak_conf leak[AGENT_RES_COUNT];
    struct agent_thresh thresh[3];
    struct tracked *t; /* sorted by (service, pid, start) */
    unsigned n;
    unsigned cap;
    uint64_t feeds;
};

int agent_watch_new(struct agent_watch **out,
                    const char *host,
                    const struct agent_leak_conf *leak,
                    const struct agent_thresh_conf *thresh)
{
    struct agent_watch *w = qm_calloc(1, sizeof(*w));
    if (w == NULL) {
        return QM_ENOMEM;
    }
    snprintf(w->host, sizeof(w->host), "%s", host);
    for (int r = 0; r < AGENT_RES_COUNT; r++) {
        w->leak[r] = *leak;
    }
    if (w->leak[AGENT_RES_RSS].min_rise < RSS_MIN_RISE) {
        w->leak[AGENT_RES_RSS].min_rise = RSS_MIN_RISE;
    }
    int rv = agent_leak_conf_check(leak);
    for (int u = 0; u < 3 && rv == QM_OK; u++) {
        rv = agent_thresh_init(&w->thresh[u], &thresh[u]);
    }
    if (rv != QM_OK) {
        qm_free(w);
        return QM_ECONFIG;
    }
    *out = w;
    return QM_OK;
}

static void tracked_close(struct tracked *t)
{
    for (int r = 0; r < AGENT_RES_COUNT; r++) {
        agent_leak_free(t->d[r]);
    }
}

void agent_watch_free(struct agent_watch *w)
{
    if (w == NULL) {
        return;
    }
    for (unsigned i = 0; i < w->n; i++) {
        tracked_close(&w->t[i]);
    }
    qm_free(w->t);
    qm_free(w);
}

unsigned agent_watch_tracked(const struct agent_watch *w)
{
    return w->n;
}

/* ---- the process table ---- */

static int cmp_key(const struct tracked *t,
                   uint16_t service,
                   int32_t pid,
                   uint64_t start)
{
    if (t->service != service) {
        return t->service < service ? -1 : 1;
    }
    if (t->pid != pid) {
        return t->pid < pid ? -1 : 1;
    }
    return t->start < start ? -1 : (t->start > start);
}

static unsigned find(const struct agent_watch *w,
                     const struct agent_proc_sample *p,
                     bool *found)
{
    unsigned lo = 0, hi = w->n;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        int c = cmp_key(&w->t[mid], p->service, p->pid, p->start_ticks);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = false;
    return lo;
}

static struct tracked *track(struct agent_watch *w,
                             const struct agent_proc_sample *p)
{
    bool found;
    unsigned i = find(w, p, &found);
    if (found) {
        return &w->t[i];
    }
    if (w->n == w->cap) {
        unsigned cap = w->cap == 0 ? 64 : w->cap * 2;
        struct tracked *t = qm_realloc(w->t, cap * sizeof(*t));
        if (t == NULL) {
            return NULL;
        }
        w->t = t;
        w->cap = cap;
    }
    struct tracked nt;
    memset(&nt, 0, sizeof(nt));
    nt.service = p->service;
    nt.pid = p->pid;
    nt.start = p->start_ticks;
    for (int r = 0; r < AGENT_RES_COUNT; r++) {
        if (agent_leak_new(&w->leak[r], &nt.d[r]) != QM_OK) {
            tracked_close(&nt);
            return NULL;
        }
    }
    memmove(&w->t[i + 1], &w->t[i], (w->n - i) * sizeof(w->t[0]));
    w->t[i] = nt;
    w->n++;
    return &w->t[i];
}

/* ---- alerts ---- */

static void alert(struct agent_watch *w,
                  const char *kind,
                  const char *service,
                  const char *topic,
                  enum agent_level level,
                  const char *message,
                  agent_alert_fn emit,
                  void *arg)
{
    struct tp_alert_raise a;
    memset(&a, 0, sizeof(a));
    snprintf(a.kind, sizeof(a.kind), "%s", kind);
    if (service != NULL) {
        snprintf(a.subject, sizeof(a.subject), "%s/%s", w->host, service);
    } else {
        snprintf(a.subject, sizeof(a.subject), "%s", w->host);
    }
    snprintf(a.topic, sizeof(a.topic), "%s", topic);
    snprintf(a.severity, sizeof(a.severity), "%s",
             level == AGENT_LEVEL_NONE ? "resolved" : agent_level_name(level));
    snprintf(a.message, sizeof(a.message), "%s", message);
    emit(arg, &a);
}

/* The value and limit of @r for @p; false when it could not be read. */
static bool reading(const struct agent_proc_sample *p,
                    int r,
                    int64_t *value,
                    int64_t *limit)
{
    switch (r) {
        case AGENT_RES_FDS:
            *value = p->fds;
            *limit = p->fd_limit;
            break;
        case AGENT_RES_SOCKETS:
            *value = p->sockets;
            *limit = p->fd_limit;
            break;
        case AGENT_RES_THREADS:
            *value = p->threads;
            *limit = p->thread_limit;
            break;
        default:
            *value = p->rss_bytes;
            *limit = 0; /* a cgroup's memory.max is the service's */
            break;
    }
    return *value >= 0;
}

struct feed
{
    const struct agent_sample *s;
    agent_alert_fn emit;
    void *arg;
    char (*notes)[QM_NOTE_MAX + 1];
    enum agent_level *worst; /* per service */
};

static void note(struct feed *f,
                 uint16_t service,
                 enum agent_level level,
                 const char *text)
{
    if (level > f->worst[service]) {
        f->worst[service] = level;
        snprintf(f->notes[service], QM_NOTE_MAX + 1, "%s", text);
    }
}

static void feed_proc(struct agent_watch *w,
                      struct tracked *t,
                      const struct agent_proc_sample *p,
                      struct feed *f)
{
    const char *svc = f->s->services[p->service].name;
    for (int r = 0; r < AGENT_RES_COUNT; r++) {
        int64_t value, limit;
        struct agent_leak_report rep;
        if (!reading(p, r, &value, &limit) ||
            agent_leak_feed(t->d[r], f->s->now_ms, value, limit, &rep) !=
                QM_OK) {
            continue;
        }
        char msg[QM_MESSAGE_MAX + 1];
        size_t n = agent_leak_format(
            msg, sizeof(msg), res_names[r],
            r == AGENT_RES_RSS ? AGENT_UNIT_BYTES : AGENT_UNIT_COUNT, &rep);
        if (n < sizeof(msg)) {
            snprintf(msg + n, sizeof(msg) - n, " (pid %d)", (int)p->pid);
        }
        if (rep.level != rep.prev) {
            alert(w, "leak", svc, res_names[r], rep.level, msg, f->emit,
                  f->arg);
        }
        if (rep.level != AGENT_LEVEL_NONE) {
            note(f, p->service, rep.level, msg);
        }
    }
}

/* Processes no longer listed: clear what they raised, forget them. */
static void sweep(struct agent_watch *w, struct feed *f)
{
    unsigned kept = 0;
    for (unsigned i = 0; i < w->n; i++) {
        struct tracked *t = &w->t[i];
        if (t->seen == w->feeds) {
            w->t[kept++] = *t;
            continue;
        }
        for (int r = 0; r < AGENT_RES_COUNT; r++) {
            if (agent_leak_level(t->d[r]) != AGENT_LEVEL_NONE &&
                t->service < f->s->nservices) {
                char msg[64];
                snprintf(msg, sizeof(msg), "%s: process %d exited",
                         res_names[r], (int)t->pid);
                alert(w, "leak", f->s->services[t->service].name, res_names[r],
                      AGENT_LEVEL_NONE, msg, f->emit, f->arg);
            }
        }
        tracked_close(t);
    }
    w->n = kept;
}

/* Utilisation of the host, per mille; -1 when unknown. */
static int64_t utilisation(const struct agent_host_sample *h, int u)
{
    if (u == AGENT_UTIL_CPU) {
        return h->cpu_busy_pm;
    }
    if (u == AGENT_UTIL_MEMORY) {
        return h->mem_total_bytes > 0
                   ? (h->mem_total_bytes - h->mem_avail_bytes) * 1000 /
                         h->mem_total_bytes
                   : -1;
    }
    int64_t worst = -1;
    for (uint32_t i = 0; i < h->ndisks; i++) {
        const struct agent_disk_sample *d = &h->disks[i];
        if (d->total_bytes > 0) {
            int64_t pm = d->used_bytes * 1000 / d->total_bytes;
            worst = pm > worst ? pm : worst;
        }
    }
    return worst;
}

static void feed_host(struct agent_watch *w, struct feed *f)
{
    for (int u = 0; u < 3; u++) {
        int64_t pm = utilisation(&f->s->host, u);
        if (pm < 0 || !agent_thresh_feed(&w->thresh[u], (uint32_t)pm)) {
            continue;
        }
        char msg[QM_MESSAGE_MAX + 1];
        agent_thresh_format(msg, sizeof(msg), util_names[u], &w->thresh[u]);
        alert(w, "threshold", NULL, util_names[u],
              agent_thresh_level(&w->thresh[u]), msg, f->emit, f->arg);
    }
}

int agent_watch_feed(struct agent_watch *w,
                     const struct agent_sample *s,
                     agent_alert_fn emit,
                     void *arg,
                     char (*notes)[QM_NOTE_MAX + 1])
{
    enum agent_level worst[AGENT_SERVICES_MAX];
    struct feed f = {s, emit, arg, notes, worst};
    for (uint32_t i = 0; i < s->nservices; i++) {
        worst[i] = AGENT_LEVEL_NONE;
        notes[i][0] = '\0';
    }
    int rv = QM_OK;
    w->feeds++;
    for (uint32_t i = 0; i < s->nprocs; i++) {
        const struct agent_proc_sample *p = &s->procs[i];
        if (p->service >= s->nservices) {
            continue;
        }
        struct tracked *t = track(w, p);
        if (t == NULL) {
            rv = QM_ENOMEM;
            continue;
        }
        t->seen = w->feeds;
        feed_proc(w, t, p, &f);
    }
    sweep(w, &f);
    feed_host(w, &f);
    return rv;
}
