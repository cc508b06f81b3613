/* The leader's soft state of agents' samples (node_metrics.h). */
#include "node_metrics.h"

#include <stdio.h>
#include <string.h>

#include "qm_alloc.h"
#include "qm_err.h"

struct node_metrics_host
{
    struct tp_host_metrics last;
    int64_t cpu[NODE_METRICS_WINDOW]; /* host CPU per mille, a ring */
    uint32_t ncpu;
    uint32_t cpu_next;
};

void node_metrics_init(struct node_metrics *m)
{
    m->hosts = NULL;
    m->nhosts = 0;
}

void node_metrics_close(struct node_metrics *m)
{
    for (uint32_t i = 0; i < m->nhosts; i++) {
        qm_free(m->hosts[i]);
    }
    qm_free(m->hosts);
    node_metrics_init(m);
}

/* Index of @host, or of where it would go (*found false). */
static uint32_t find(const struct node_metrics *m,
                     const char *host,
                     bool *found)
{
    uint32_t lo = 0, hi = m->nhosts;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->hosts[mid]->last.host, host);
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

static void remove_at(struct node_metrics *m, uint32_t i)
{
    qm_free(m->hosts[i]);
    memmove(&m->hosts[i], &m->hosts[i + 1],
            (m->nhosts - i - 1) * sizeof(m->hosts[0]));
    m->nhosts--;
}

/* Make room for one more host: grow the index, or evict the host heard
 * from longest ago. */
static int make_room(struct node_metrics *m)
{
    if (m->nhosts == QM_METRICS_HOSTS_MAX) {
        uint32_t old = 0;
        for (uint32_t i = 1; i < m->nhosts; i++) {
            if (m->hosts[i]->last.seen_ms < m->hosts[old]->last.seen_ms) {
                old = i;
            }
        }
        remove_at(m, old);
        return QM_OK;
    }
    if (m->hosts == NULL) {
        m->hosts = qm_malloc(QM_METRICS_HOSTS_MAX * sizeof(m->hosts[0]));
        if (m->hosts == NULL) {
            return QM_ENOMEM;
        }
    }
    return QM_OK;
}

static struct node_metrics_host *entry(struct node_metrics *m, const char *host)
{
    bool found;
    uint32_t i = find(m, host, &found);
    if (found) {
        return m->hosts[i];
    }
    if (make_room(m) != QM_OK) {
        return NULL;
    }
    struct node_metrics_host *h = qm_malloc(sizeof(*h));
    if (h == NULL) {
        return NULL;
    }
    memset(h, 0, sizeof(*h));
    snprintf(h->last.host, sizeof(h->last.host), "%s", host);
    i = find(m, host, &found); /* eviction may have moved it */
    memmove(&m->hosts[i + 1], &m->hosts[i],
            (m->nhosts - i) * sizeof(m->hosts[0]));
    m->hosts[i] = h;
    m->nhosts++;
    return h;
}

/* Put a service sample in, replacing the one of the same name. */
static void put_service(struct tp_host_metrics *hm,
                        const struct tp_svc_sample *s)
{
    for (uint32_t i = 0; i < hm->nservices; i++) {
        if (strcmp(hm->services[i].name, s->name) == 0) {
            hm->services[i] = *s;
            return;
        }
    }
    if (hm->nservices < QM_HOST_SERVICES_MAX) {
        hm->services[hm->nservices++] = *s;
    }
}

static void window_add(struct node_metrics_host *h, int64_t cpu_pm)
{
    h->cpu[h->cpu_next] = cpu_pm;
    h->cpu_next = (h->cpu_next + 1) % NODE_METRICS_WINDOW;
    if (h->ncpu < NODE_METRICS_WINDOW) {
        h->ncpu++;
    }
    int64_t sum = 0, max = 0;
    for (uint32_t i = 0; i < h->ncpu; i++) {
        sum += h->cpu[i];
        max = h->cpu[i] > max ? h->cpu[i] : max;
    }
    h->last.cpu_pm_avg = sum / (int64_t)h->ncpu;
    h->last.cpu_pm_max = max;
    h->last.window = h->ncpu;
}

int node_metrics_report(struct node_metrics *m,
                        const struct tp_report *r,
                        int64_t now_ms)
{
    struct node_metrics_host *h = entry(m, r->host);
    if (h == NULL) {
        return QM_ENOMEM;
    }
    struct tp_host_metrics *hm = &h->last;
    if (r->part == 0) {
        /* A new sample: its parts replace the services of the last one. */
        hm->nservices = 0;
        hm->sample = r->sample;
        hm->at_ms = r->at_ms;
        hm->seq = r->seq;
        window_add(h, r->sample.cpu_pm);
    }
    hm->seen_ms = now_ms;
    for (uint32_t i = 0; i < r->nservices; i++) {
        put_service(hm, &r->services[i]);
    }
    return QM_OK;
}

int node_metrics_page(const struct node_metrics *m,
                      const struct tp_metrics_args *a,
                      struct tp_metrics_page *out)
{
    out->nhosts = 0;
    out->more = false;
    bool found;
    if (a->host[0] != '\0') {
        uint32_t i = find(m, a->host, &found);
        if (!found) {
            return QM_NOT_FOUND;
        }
        out->hosts[out->nhosts++] = m->hosts[i]->last;
        return QM_OK;
    }
    uint64_t limit = a->limit == 0 || a->limit > QM_METRICS_PAGE_MAX
                         ? QM_METRICS_PAGE_MAX
                         : a->limit;
    uint32_t i = a->after[0] != '\0' ? find(m, a->after, &found) : 0;
    if (a->after[0] != '\0' && found) {
        i++;
    }
    for (; i < m->nhosts; i++) {
        if (out->nhosts == limit) {
            out->more = true;
            break;
        }
        out->hosts[out->nhosts++] = m->hosts[i]->last;
    }
    return QM_OK;
}

void node_metrics_forget(struct node_metrics *m, const char *host)
{
    bool found;
    uint32_t i = find(m, host, &found);
    if (found) {
        remove_at(m, i);
    }
}
