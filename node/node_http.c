#include "node_http.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "qm_alloc.h"
#include "qm_err.h"

struct node_http {
    nng_http_server *srv;
};

static const char *state_name(uint64_t s)
{
    switch (s) {
        case TP_STATE_FOLLOWER:
            return "follower";
        case TP_STATE_CANDIDATE:
            return "candidate";
        case TP_STATE_LEADER:
            return "leader";
        default:
            return "unavailable";
    }
}

struct text {
    char buf[8192];
    size_t len;
};

static void add(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
    va_end(ap);
    if (n > 0) {
        t->len += (size_t)n;
        if (t->len >= sizeof(t->buf)) {
            t->len = sizeof(t->buf) - 1;
        }
    }
}

static void respond(nng_aio *aio, uint16_t status, const char *type,
                    const struct text *t)
{
    nng_http_res *res;
    if (nng_http_res_alloc(&res) != 0) {
        nng_aio_finish(aio, NNG_ENOMEM);
        return;
    }
    nng_http_res_set_status(res, status);
    nng_http_res_set_header(res, "Content-Type", type);
    nng_http_res_copy_data(res, t->buf, t->len);
    nng_aio_set_output(aio, 0, res);
    nng_aio_finish(aio, 0);
}

static struct node *node_of(nng_aio *aio)
{
    nng_http_handler *h = nng_aio_get_input(aio, 1);
    return nng_http_handler_get_data(h);
}

static void on_health(nng_aio *aio)
{
    struct node *n = node_of(aio);
    struct text *t = qm_calloc(1, sizeof(*t));
    if (t == NULL) {
        nng_aio_finish(aio, NNG_ENOMEM);
        return;
    }
    pthread_mutex_lock(&n->info_mu);
    bool ok = n->info.leader_id != 0;
    add(t, "%s node=%llu state=%s leader=%llu\n", ok ? "ok" : "no-leader",
        (unsigned long long)n->info.id, state_name(n->info.state),
        (unsigned long long)n->info.leader_id);
    pthread_mutex_unlock(&n->info_mu);
    respond(aio, ok ? 200 : 503, "text/plain", t);
    qm_free(t);
}

static void counter(struct text *t, const char *name, const char *help,
                    atomic_ullong *v)
{
    add(t, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name,
        name, (unsigned long long)atomic_load(v));
}

static void on_metrics(nng_aio *aio)
{
    struct node *n = node_of(aio);
    struct text *t = qm_calloc(1, sizeof(*t));
    if (t == NULL) {
        nng_aio_finish(aio, NNG_ENOMEM);
        return;
    }
    pthread_mutex_lock(&n->info_mu);
    struct tp_node_info *i = &n->info;
    add(t, "# HELP qm_raft_term Current raft term.\n"
           "# TYPE qm_raft_term gauge\nqm_raft_term %llu\n",
        (unsigned long long)i->term);
    add(t, "# HELP qm_raft_is_leader 1 when this node leads.\n"
           "# TYPE qm_raft_is_leader gauge\nqm_raft_is_leader %d\n",
        i->state == TP_STATE_LEADER);
    add(t, "# HELP qm_raft_commit_index Highest committed log index.\n"
           "# TYPE qm_raft_commit_index gauge\nqm_raft_commit_index %llu\n",
        (unsigned long long)i->commit_index);
    add(t, "# HELP qm_raft_applied_index Highest applied log index.\n"
           "# TYPE qm_raft_applied_index gauge\nqm_raft_applied_index %llu\n",
        (unsigned long long)i->applied_index);
    add(t, "# HELP qm_raft_snapshot_index Index of the last snapshot.\n"
           "# TYPE qm_raft_snapshot_index gauge\n"
           "qm_raft_snapshot_index %llu\n",
        (unsigned long long)i->snapshot_index);
    add(t, "# HELP qm_members Members in this node's configuration.\n"
           "# TYPE qm_members gauge\nqm_members %u\n",
        i->nmembers);
    pthread_mutex_unlock(&n->info_mu);
    counter(t, "qm_requests_total", "Requests received.",
            &n->counters.requests);
    counter(t, "qm_requests_invalid_total", "Requests refused as INVALID.",
            &n->counters.invalid);
    counter(t, "qm_writes_total", "Write commands proposed.",
            &n->counters.writes);
    counter(t, "qm_reads_total", "Reads served.", &n->counters.reads);
    counter(t, "qm_redirects_total", "NOT_LEADER answers.",
            &n->counters.redirects);
    counter(t, "qm_unavailable_total", "UNAVAILABLE answers.",
            &n->counters.unavailable);
    respond(aio, 200, "text/plain; version=0.0.4", t);
    qm_free(t);
}

static void on_status(nng_aio *aio)
{
    struct node *n = node_of(aio);
    struct text *t = qm_calloc(1, sizeof(*t));
    if (t == NULL) {
        nng_aio_finish(aio, NNG_ENOMEM);
        return;
    }
    pthread_mutex_lock(&n->info_mu);
    struct tp_node_info *i = &n->info;
    add(t,
        "{\"id\": %llu, \"state\": \"%s\", \"term\": %llu, \"leader\": %llu, "
        "\"commit_index\": %llu, \"applied_index\": %llu, "
        "\"snapshot_index\": %llu, \"members\": [",
        (unsigned long long)i->id, state_name(i->state),
        (unsigned long long)i->term, (unsigned long long)i->leader_id,
        (unsigned long long)i->commit_index,
        (unsigned long long)i->applied_index,
        (unsigned long long)i->snapshot_index);
    for (unsigned k = 0; k < i->nmembers; k++) {
        /* Addresses were validated as printable text without quotes'
         * special meaning... except '"' and '\\': escape those. */
        add(t, "%s{\"id\": %llu, \"raft_addr\": \"%s\", \"api_addr\": \"",
            k ? ", " : "", (unsigned long long)i->members[k].id,
            i->members[k].raft_addr);
        for (const char *p = i->members[k].api_url; *p; p++) {
            add(t, (*p == '"' || *p == '\\') ? "\\%c" : "%c", *p);
        }
        add(t, "\"}");
    }
    add(t, "]}\n");
    pthread_mutex_unlock(&n->info_mu);
    respond(aio, 200, "application/json", t);
    qm_free(t);
}

static int add_handler(nng_http_server *srv, const char *path,
                       void (*cb)(nng_aio *), struct node *n)
{
    nng_http_handler *h;
    int rv = nng_http_handler_alloc(&h, path, cb);
    if (rv != 0) {
        return rv;
    }
    nng_http_handler_set_data(h, n, NULL);
    rv = nng_http_server_add_handler(srv, h);
    if (rv != 0) {
        nng_http_handler_free(h);
    }
    return rv;
}

int node_http_start(struct node_http **out, struct node *n, const char *addr,
                    char err[QM_ERRMSG_SIZE])
{
    char urlbuf[128];
    snprintf(urlbuf, sizeof(urlbuf), "http://%s", addr);
    nng_url *url;
    int rv = nng_url_parse(&url, urlbuf);
    if (rv != 0) {
        snprintf(err, QM_ERRMSG_SIZE, "HTTP address %s: %s", addr,
                 nng_strerror(rv));
        return QM_ECONFIG;
    }
    struct node_http *h = qm_calloc(1, sizeof(*h));
    if (h == NULL) {
        nng_url_free(url);
        return QM_ENOMEM;
    }
    rv = nng_http_server_hold(&h->srv, url);
    nng_url_free(url);
    if (rv == 0) {
        if ((rv = add_handler(h->srv, "/health", on_health, n)) == 0 &&
            (rv = add_handler(h->srv, "/metrics", on_metrics, n)) == 0 &&
            (rv = add_handler(h->srv, "/v1/status", on_status, n)) == 0) {
            rv = nng_http_server_start(h->srv);
        }
        if (rv != 0) {
            nng_http_server_release(h->srv);
        }
    }
    if (rv != 0) {
        snprintf(err, QM_ERRMSG_SIZE, "HTTP on %s: %s", addr,
                 nng_strerror(rv));
        qm_free(h);
        return QM_EIO;
    }
    *out = h;
    return QM_OK;
}

void node_http_stop(struct node_http *h)
{
    if (h == NULL) {
        return;
    }
    nng_http_server_stop(h->srv);
    nng_http_server_release(h->srv);
    qm_free(h);
}
