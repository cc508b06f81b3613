/* Hosts joined with their samples (cli_host.h): a registration read from
 * the ledger and the leader's latest sample of that host, one at a time or
 * every host in id order. */
#include <stdlib.h>
#include <string.h>

#include "cli_host.h"

unsigned cli_host_services(const struct cli_host_view *v,
                           struct cli_svc_view out[CLI_SVC_VIEWS_MAX])
{
    unsigned n = 0;
    for (unsigned i = 0; i < v->host.nservices; i++) {
        out[n++] = (struct cli_svc_view){v->host.services[i].name,
                                         v->host.services[i].match, NULL};
    }
    unsigned declared = n;
    for (unsigned i = 0; v->sampled && i < v->m.nservices; i++) {
        const struct qm_service_sample *s = &v->m.services[i];
        unsigned k = 0;
        while (k < declared && strcmp(out[k].name, s->name) != 0) {
            k++;
        }
        if (k < declared) {
            out[k].s = s;
        } else if (n < CLI_SVC_VIEWS_MAX) {
            out[n++] = (struct cli_svc_view){s->name, NULL, s};
        }
    }
    /* Insertion sort: a host has a few dozen services at most. */
    for (unsigned i = 1; i < n; i++) {
        struct cli_svc_view x = out[i];
        unsigned k = i;
        for (; k > 0 && strcmp(out[k - 1].name, x.name) > 0; k--) {
            out[k] = out[k - 1];
        }
        out[k] = x;
    }
    return n;
}

int64_t cli_host_last_seen(const struct cli_host_view *v, const char **source)
{
    if (source != NULL) {
        *source = v->sampled ? "report" : "registration";
    }
    return v->sampled ? v->m.seen_ms : v->host.updated_ms;
}

int cli_host_view_get(struct cli *c,
                      const char *id,
                      struct cli_host_view *v,
                      struct qm_result *res)
{
    memset(v, 0, sizeof(*v));
    int rv = qm_host_get(c->client, id, c->stale, &v->host, res);
    if (rv != QM_OK) {
        return rv;
    }
    rv = qm_host_metrics(c->client, id, &v->m, res);
    v->sampled = rv == QM_OK;
    return rv == QM_NOT_FOUND ? QM_OK : rv;
}

/* ---- every host ---- */

/* Where a paged read stands: the page in hand and the next item. */
struct cursor
{
    unsigned n, i;
    bool more, begun;
    char after[QM_NAME_MAX + 1]; /* the last id of the page in hand */
};

struct cli_hosts
{
    struct cursor regs_at;
    struct qm_host regs[QM_HOST_PAGE_MAX];
    struct cursor mets_at;
    struct qm_host_metrics mets[QM_METRICS_PAGE_MAX];
    char leader[QM_URL_MAX + 1];
    struct cli_host_view view;
};

struct cli_hosts *cli_hosts_new(void)
{
    return calloc(1, sizeof(struct cli_hosts));
}

void cli_hosts_free(struct cli_hosts *it)
{
    free(it);
}

const char *cli_hosts_leader(const struct cli_hosts *it)
{
    return it->leader;
}

/* Fetch the next page of @k into @it. */
typedef int (*fetch_fn)(struct cli *c,
                        struct cli_hosts *it,
                        struct qm_result *res);

/* Make @k point at an item, fetching the next page when this one is
 * spent; *end when there is none left. */
static int fill(struct cli *c,
                struct cli_hosts *it,
                struct cursor *k,
                fetch_fn fetch,
                bool *end,
                struct qm_result *res)
{
    *end = false;
    if (k->i < k->n) {
        return QM_OK;
    }
    if (k->begun && (!k->more || k->n == 0)) {
        *end = true;
        return QM_OK;
    }
    k->begun = true;
    k->i = 0;
    int rv = fetch(c, it, res);
    *end = rv == QM_OK && k->n == 0;
    if (rv == QM_OK && res->leader[0] != '\0') {
        memcpy(it->leader, res->leader, sizeof(it->leader));
    }
    return rv;
}

static int regs_fetch(struct cli *c,
                      struct cli_hosts *it,
                      struct qm_result *res)
{
    struct cursor *k = &it->regs_at;
    int rv = qm_host_list(c->client, k->after, c->stale, it->regs,
                          QM_HOST_PAGE_MAX, &k->n, &k->more, res);
    if (rv == QM_OK && k->n > 0) {
        memcpy(k->after, it->regs[k->n - 1].id, sizeof(k->after));
    }
    return rv;
}

static int mets_fetch(struct cli *c,
                      struct cli_hosts *it,
                      struct qm_result *res)
{
    struct cursor *k = &it->mets_at;
    int rv = qm_host_metrics_list(c->client, k->after, it->mets,
                                  QM_METRICS_PAGE_MAX, &k->n, &k->more, res);
    if (rv == QM_OK && k->n > 0) {
        memcpy(k->after, it->mets[k->n - 1].host, sizeof(k->after));
    }
    return rv;
}

/* The sample of @id, if the leader holds one: skips the samples of hosts
 * before it (reported but not registered). NULL when there is none. */
static int sample_of(struct cli *c,
                     struct cli_hosts *it,
                     const char *id,
                     const struct qm_host_metrics **out,
                     struct qm_result *res)
{
    *out = NULL;
    for (;;) {
        bool end;
        struct cursor *k = &it->mets_at;
        int rv = fill(c, it, k, mets_fetch, &end, res);
        if (rv != QM_OK || end) {
            return rv;
        }
        int cmp = strcmp(it->mets[k->i].host, id);
        if (cmp > 0) {
            return QM_OK;
        }
        k->i++;
        if (cmp == 0) {
            *out = &it->mets[k->i - 1];
            return QM_OK;
        }
    }
}

int cli_hosts_next(struct cli *c,
                   struct cli_hosts *it,
                   const struct cli_host_view **out,
                   struct qm_result *res)
{
    bool end;
    *out = NULL;
    int rv = fill(c, it, &it->regs_at, regs_fetch, &end, res);
    if (rv != QM_OK || end) {
        return rv;
    }
    struct cli_host_view *v = &it->view;
    v->host = it->regs[it->regs_at.i++];
    const struct qm_host_metrics *m;
    rv = sample_of(c, it, v->host.id, &m, res);
    if (rv != QM_OK) {
        return rv;
    }
    v->sampled = m != NULL;
    if (m != NULL) {
        v->m = *m;
    }
    *out = v;
    return QM_OK;
}
