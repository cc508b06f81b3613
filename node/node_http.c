#include "node_http.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "qm_alloc.h"
#include "qm_err.h"

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

struct text
{
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

/* What a route writes; returns the HTTP status. Runs on an nng thread. */
typedef uint16_t (*fill_fn)(struct node *n, struct text *t);

struct route
{
    const char *path;
    const char *type;
    fill_fn fill;
    struct node *n;
};

static uint16_t fill_health(struct node *n, struct text *t)
{
    pthread_mutex_lock(&n->info_mu);
    bool ok = n->info.leader_id != 0;
    add(t, "%s node=%llu state=%s leader=%llu\n", ok ? "ok" : "no-leader",
        (unsigned long long)n->info.id, state_name(n->info.state),
        (unsigned long long)n->info.leader_id);
    pthread_mutex_unlock(&n->info_mu);
    return ok ? 200 : 503;
}

static void gauge(struct text *t,
                  const char *name,
                  const char *help,
                  unsigned long long v)
{
    add(t, "# HELP %s %s\n# TYPE %s gauge\n%s %llu\n", name, help, name, name,
        v);
}

static void counter(struct text *t,
                    const char *name,
                    const char *help,
                    atomic_ullong *v)
{
    add(t, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
        (unsigned long long)atomic_load(v));
}

static uint16_t fill_metrics(struct node *n, struct text *t)
{
    pthread_mutex_lock(&n->info_mu);
    struct tp_node_info *i = &n->info;
    gauge(t, "qm_raft_term", "Current raft term.", i->term);
    gauge(t, "qm_raft_is_leader", "1 when this node leads.",
          i->state == TP_STATE_LEADER);
    gauge(t, "qm_raft_commit_index", "Highest committed log index.",
          i->commit_index);
    gauge(t, "qm_raft_applied_index", "Highest applied log index.",
          i->applied_index);
    gauge(t, "qm_raft_snapshot_index", "Index of the last snapshot.",
          i->snapshot_index);
    gauge(t, "qm_members", "Members in this node's configuration.",
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
    return 200;
}

/* A JSON string; addresses are printable text, but may hold quotes. */
static void json_str(struct text *t, const char *s)
{
    add(t, "\"");
    for (; *s; s++) {
        add(t, (*s == '"' || *s == '\\') ? "\\%c" : "%c", *s);
    }
    add(t, "\"");
}

static uint16_t fill_status(struct node *n, struct text *t)
{
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
        add(t, "%s{\"id\": %llu, \"raft_addr\": ", k ? ", " : "",
            (unsigned long long)i->members[k].id);
        json_str(t, i->members[k].raft_addr);
        add(t, ", \"api_addr\": ");
        json_str(t, i->members[k].api_url);
        add(t, "}");
    }
    add(t, "]}\n");
    pthread_mutex_unlock(&n->info_mu);
    return 200;
}

static void on_get(nng_aio *aio)
{
    nng_http_handler *h = nng_aio_get_input(aio, 1);
    const struct route *r = nng_http_handler_get_data(h);
    struct text *t = qm_calloc(1, sizeof(*t));
    nng_http_res *res;
    if (t == NULL || nng_http_res_alloc(&res) != 0) {
        qm_free(t);
        nng_aio_finish(aio, NNG_ENOMEM);
        return;
    }
    uint16_t status = r->fill(r->n, t);
    nng_http_res_set_status(res, status);
    nng_http_res_set_header(res, "Content-Type", r->type);
    nng_http_res_copy_data(res, t->buf, t->len);
    qm_free(t);
    nng_aio_set_output(aio, 0, res);
    nng_aio_finish(aio, 0);
}

struct node_http
{
    nng_http_server *srv;
    struct route routes[3];
};

static int add_route(struct node_http *h, struct route *r)
{
    nng_http_handler *hd;
    int rv = nng_http_handler_alloc(&hd, r->path, on_get);
    if (rv != 0) {
        return rv;
    }
    nng_http_handler_set_data(hd, r, NULL);
    rv = nng_http_server_add_handler(h->srv, hd);
    if (rv != 0) {
        nng_http_handler_free(hd);
    }
    return rv;
}

int node_http_start(struct node_http **out,
                    struct node *n,
                    const char *addr,
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
    const struct route routes[] = {
        {"/health", "text/plain", fill_health, n},
        {"/metrics", "text/plain; version=0.0.4", fill_metrics, n},
        {"/v1/status", "application/json", fill_status, n},
    };
    memcpy(h->routes, routes, sizeof(routes));
    rv = nng_http_server_hold(&h->srv, url);
    nng_url_free(url);
    if (rv == 0) {
        for (size_t i = 0; i < 3 && rv == 0; i++) {
            rv = add_route(h, &h->routes[i]);
        }
        if (rv == 0) {
            rv = nng_http_server_start(h->srv);
        }
        if (rv != 0) {
            nng_http_server_release(h->srv);
        }
    }
    if (rv != 0) {
        snprintf(err, QM_ERRMSG_SIZE, "HTTP on %s: %s", addr, nng_strerror(rv));
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
