/* The bridge between nng and the loop: requests are decoded and checked on
 * the nng thread that received them (so bad input never reaches the loop),
 * queued, and served on the loop by class: node-local answers, reads after
 * a shared barrier, writes through the raft batch, membership changes. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "node.h"
#include "qm_alloc.h"
#include "qm_err.h"
#include "qm_log.h"

void node_serve_init(struct node *n)
{
    pthread_mutex_init(&n->qmu, NULL);
    n->qhead = NULL;
    n->qtail = &n->qhead;
    qm_buf_init(&n->out);
    qm_buf_init(&n->result);
    node_metrics_init(&n->metrics);
    n->mpage = NULL;
}

void node_serve_close(struct node *n)
{
    node_metrics_close(&n->metrics);
    qm_free(n->mpage);
    n->mpage = NULL;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- replies ---- */

/* Any thread: answer with an already encoded result. @out is scratch. */
static void reply_raw(struct node_req *r,
                      struct qm_buf *out,
                      struct qm_span result)
{
    qm_buf_reset(out);
    if (tp_reply_encode(out, r->d.req.id, result) != QM_OK) {
        qm_log(QM_LOG_WARN, "NODE0010", "reply dropped: cannot encode");
        return;
    }
    tp_call_reply(r->call, out->data, out->len);
}

/* Loop: answer with a status, a message and optionally a body. */
static void reply(struct node_req *r,
                  int status,
                  const char *message,
                  const char *leader,
                  const struct qm_schema *body_schema,
                  const void *body)
{
    struct node *n = r->n;
    qm_buf_reset(&n->result);
    if (tp_result_encode(&n->result, status, message, leader, 0,
                         fsm_applied_index(n->fsm), body_schema,
                         body) != QM_OK) {
        qm_buf_reset(&n->result);
        tp_result_encode(&n->result, QM_INTERNAL, "cannot encode the reply",
                         NULL, 0, 0, NULL, NULL);
    }
    struct qm_span s = {n->result.data, n->result.len};
    reply_raw(r, &n->out, s);
}

static void reply_not_leader(struct node_req *r)
{
    struct node *n = r->n;
    char url[QM_URL_MAX + 1];
    char msg[QM_MESSAGE_MAX];
    cons_leader_url(n->cons, url);
    if (url[0] != '\0') {
        snprintf(msg, sizeof(msg), "node %llu is not the leader; ask %s",
                 (unsigned long long)n->cfg.id, url);
    } else {
        snprintf(msg, sizeof(msg),
                 "node %llu is not the leader and knows of none yet",
                 (unsigned long long)n->cfg.id);
    }
    atomic_fetch_add_explicit(&n->counters.redirects, 1, memory_order_relaxed);
    reply(r, QM_NOT_LEADER, msg, url, NULL, NULL);
}

static void reply_outcome(struct node_req *r, int status, const char *msg)
{
    if (status == QM_NOT_LEADER) {
        reply_not_leader(r);
        return;
    }
    if (status == QM_UNAVAILABLE) {
        atomic_fetch_add_explicit(&r->n->counters.unavailable, 1,
                                  memory_order_relaxed);
    }
    reply(r, status, msg, NULL, NULL, NULL);
}

/* ---- classes ---- */

static void write_done(void *arg, int status, struct qm_span result)
{
    struct node_req *r = arg;
    if (status == QM_OK) {
        if (r->d.cmd.op == TP_OP_HOST_DELETE) {
            /* Its samples go with it (a deletion that was refused drops
             * samples the next report brings back). */
            node_metrics_forget(&r->n->metrics, r->d.args.host_id.id);
        }
        reply_raw(r, &r->n->out, result);
        return;
    }
    reply_outcome(r, status,
                  status == QM_UNAVAILABLE
                      ? "leadership changed before the write was confirmed; "
                        "retry with the same session and sequence"
                      : "the write could not be proposed");
}

static void answer_read(struct node_req *r)
{
    struct node *n = r->n;
    qm_buf_reset(&n->result);
    int rv = fsm_query(n->fsm, &r->d, wall_ms(), &n->result);
    if (rv != QM_OK) {
        reply(r, QM_INTERNAL, qm_strerror(rv), NULL, NULL, NULL);
        return;
    }
    struct qm_span s = {n->result.data, n->result.len};
    reply_raw(r, &n->out, s);
}

static void read_ready(void *arg, int status, const char *message)
{
    struct node_req *r = arg;
    if (status == QM_OK) {
        answer_read(r);
    } else {
        reply_outcome(r, status, message);
    }
}

static void admin_done(void *arg, int status, const char *message)
{
    struct node_req *r = arg;
    if (status == QM_NOT_LEADER) {
        /* Self-removal moved leadership: send the client on, with the
         * reason. */
        char url[QM_URL_MAX + 1];
        cons_leader_url(r->n->cons, url);
        reply(r, QM_NOT_LEADER, message, url, NULL, NULL);
        return;
    }
    reply(r, status, status == QM_OK ? NULL : message, NULL, NULL, NULL);
}

static void serve_local(struct node_req *r)
{
    struct node *n = r->n;
    if (r->d.cmd.op == TP_OP_NODE_INFO) {
        node_publish_info(n);
        pthread_mutex_lock(&n->info_mu);
        reply(r, QM_OK, NULL, NULL, &tp_node_info_schema, &n->info);
        pthread_mutex_unlock(&n->info_mu);
        return;
    }
    struct tp_digest d;
    memset(&d, 0, sizeof(d));
    d.id = n->cfg.id;
    int rv = fsm_digest(n->fsm, d.digest, &d.applied_index);
    if (rv != QM_OK) {
        reply(r, QM_INTERNAL, qm_strerror(rv), NULL, NULL, NULL);
        return;
    }
    reply(r, QM_OK, NULL, NULL, &tp_digest_schema, &d);
}

/* Agents' samples: the leader keeps them in memory (node_metrics.h). */
static void serve_soft(struct node_req *r)
{
    struct node *n = r->n;
    if (!cons_is_leader(n->cons)) {
        reply_not_leader(r);
        return;
    }
    if (r->d.cmd.op == TP_OP_HOST_REPORT) {
        const struct tp_report *rep = &r->d.args.report;
        struct tp_report_ack ack = {0, false};
        if (node_metrics_report(&n->metrics, rep, wall_ms()) != QM_OK) {
            reply(r, QM_INTERNAL, "out of memory", NULL, NULL, NULL);
            return;
        }
        ack.registered = fsm_host_alloc_version(n->fsm, rep->host,
                                                &ack.alloc_version) == QM_OK;
        reply(r, QM_OK, NULL, NULL, &tp_report_ack_schema, &ack);
        return;
    }
    if (n->mpage == NULL && (n->mpage = qm_malloc(sizeof(*n->mpage))) == NULL) {
        reply(r, QM_INTERNAL, "out of memory", NULL, NULL, NULL);
        return;
    }
    const struct tp_metrics_args *a = &r->d.args.metrics;
    if (node_metrics_page(&n->metrics, a, n->mpage) != QM_OK) {
        char msg[QM_MESSAGE_MAX];
        snprintf(msg, sizeof(msg),
                 "host '%s' has not reported to the leader (node %llu) yet",
                 a->host, (unsigned long long)n->cfg.id);
        reply(r, QM_NOT_FOUND, msg, NULL, NULL, NULL);
        return;
    }
    reply(r, QM_OK, NULL, NULL, &tp_metrics_page_schema, n->mpage);
}

static void serve_admin(struct node_req *r)
{
    struct node *n = r->n;
    switch (r->d.cmd.op) {
        case TP_OP_MEMBER_ADD:
            cons_member_add(n->cons, &r->d.args.member, admin_done, r);
            break;
        case TP_OP_MEMBER_REMOVE:
            cons_member_remove(n->cons, r->d.args.member_id.id, admin_done, r);
            break;
        case TP_OP_MEMBER_TRANSFER:
            cons_member_transfer(n->cons, r->d.args.member_id.id, admin_done,
                                 r);
            break;
        default:
            reply(r, QM_INVALID, "not a membership operation", NULL, NULL,
                  NULL);
            break;
    }
}

static void serve(struct node_req *r)
{
    struct node *n = r->n;
    switch (r->d.info->cls) {
        case TP_CLASS_LOCAL:
            serve_local(r);
            break;
        case TP_CLASS_READ:
            atomic_fetch_add_explicit(&n->counters.reads, 1,
                                      memory_order_relaxed);
            if (r->d.req.flags & TP_RF_STALE) {
                answer_read(r);
            } else {
                cons_barrier(n->cons, read_ready, r);
            }
            break;
        case TP_CLASS_WRITE:
            atomic_fetch_add_explicit(&n->counters.writes, 1,
                                      memory_order_relaxed);
            cons_propose(n->cons, r->d.req.cmd, write_done, r);
            break;
        case TP_CLASS_ADMIN:
            serve_admin(r);
            break;
        case TP_CLASS_SOFT:
            serve_soft(r);
            break;
        default:
            reply(r, QM_INVALID, "operation not served", NULL, NULL, NULL);
            break;
    }
}

/* ---- the handoff ---- */

void node_serve_request(void *arg,
                        struct tp_call *call,
                        const void *data,
                        size_t len)
{
    struct node *n = arg;
    struct node_req *r = tp_call_user(call);
    r->n = n;
    r->call = call;
    r->next = NULL;
    atomic_fetch_add_explicit(&n->counters.requests, 1, memory_order_relaxed);
    char err[QM_ERRMSG_SIZE];
    if (tp_request_decode(data, len, true, &r->d, err) != QM_OK) {
        /* Answer on this thread: the loop never sees bad input. */
        atomic_fetch_add_explicit(&n->counters.invalid, 1,
                                  memory_order_relaxed);
        uint8_t rmem[512], omem[600];
        struct qm_buf res, out;
        qm_buf_init_fixed(&res, rmem, sizeof(rmem));
        qm_buf_init_fixed(&out, omem, sizeof(omem));
        tp_result_encode(&res, QM_INVALID, err, NULL, 0, 0, NULL, NULL);
        struct qm_span s = {res.data, res.len};
        reply_raw(r, &out, s);
        return;
    }
    pthread_mutex_lock(&n->qmu);
    *n->qtail = r;
    n->qtail = &r->next;
    pthread_mutex_unlock(&n->qmu);
    uv_async_send(&n->wake);
}

void node_serve_drain(uv_async_t *h)
{
    struct node *n = h->data;
    pthread_mutex_lock(&n->qmu);
    struct node_req *r = n->qhead;
    n->qhead = NULL;
    n->qtail = &n->qhead;
    pthread_mutex_unlock(&n->qmu);
    if (n->stopping) {
        return; /* the server is closed: replies would be dropped anyway */
    }
    while (r != NULL) {
        struct node_req *next = r->next;
        serve(r);
        r = next;
    }
}
