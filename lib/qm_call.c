/* A call: encode once (same session and sequence for every try), send to
 * the believed leader, follow redirects, back off while there is no
 * leader, retry until the deadline. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "qm_alloc.h"
#include "qm_call.h"

/* While no leader is known (an election), followers answer NOT_LEADER
 * without a leader: polling at most every 25 ms notices the new leader
 * within 25 ms of its election, at the cost of a few small requests. */
#define BACKOFF_MIN_MS 5
#define BACKOFF_MAX_MS 25

struct qm_call
{
    struct qm_client *c;
    struct tp_xchg *x;
    struct qm_buf args; /* encoded arguments */
    struct qm_buf cmd;  /* encoded command (holds a copy of args) */
    struct qm_buf req;  /* the encoded request, sent on every try */
    uint8_t cls;
    struct qm_session *sess;
    int node;
    int tried;     /* nodes tried since the last back-off */
    int redirects; /* redirects since the last back-off */
    int64_t deadline;
    int64_t backoff;
    bool pinned;
    bool sleeping;
    bool forward;          /* hand the callback the whole result map */
    struct qm_span result; /* the answer's result map (borrowed) */
    qm__call_cb cb;
    void *arg;
    struct qm_result res;
    struct qm_call *next;
};

static void on_xchg(void *arg, int status, const void *data, size_t len);

void qm__calls_free(struct qm_client *c)
{
    while (c->free_calls != NULL) {
        struct qm_call *k = c->free_calls;
        c->free_calls = k->next;
        tp_xchg_free(k->x);
        qm_buf_close(&k->args);
        qm_buf_close(&k->cmd);
        qm_buf_close(&k->req);
        qm_free(k);
    }
}

static struct qm_call *call_take(struct qm_client *c)
{
    pthread_mutex_lock(&c->mu);
    struct qm_call *k = c->free_calls;
    if (k != NULL) {
        c->free_calls = k->next;
    }
    c->inflight++;
    pthread_mutex_unlock(&c->mu);
    if (k == NULL) {
        k = qm_calloc(1, sizeof(*k));
        if (k != NULL && tp_xchg_new(&k->x, on_xchg, k) != QM_OK) {
            qm_free(k);
            k = NULL;
        }
        if (k != NULL) {
            qm_buf_init(&k->args);
            qm_buf_init(&k->cmd);
            qm_buf_init(&k->req);
        }
    }
    if (k == NULL) {
        pthread_mutex_lock(&c->mu);
        if (--c->inflight == 0) {
            pthread_cond_broadcast(&c->idle);
        }
        pthread_mutex_unlock(&c->mu);
        return NULL;
    }
    k->c = c;
    k->sess = NULL;
    k->tried = k->redirects = 0;
    k->backoff = BACKOFF_MIN_MS;
    k->pinned = k->sleeping = k->forward = false;
    k->result.p = NULL;
    k->result.n = 0;
    memset(&k->res, 0, sizeof(k->res));
    qm_buf_reset(&k->args);
    qm_buf_reset(&k->cmd);
    qm_buf_reset(&k->req);
    return k;
}

static void call_give(struct qm_call *k)
{
    struct qm_client *c = k->c;
    pthread_mutex_lock(&c->mu);
    if (k->sess != NULL) {
        qm__session_give(c, k->sess);
        k->sess = NULL;
    }
    k->next = c->free_calls;
    c->free_calls = k;
    if (--c->inflight == 0) {
        pthread_cond_broadcast(&c->idle);
    }
    pthread_mutex_unlock(&c->mu);
}

static void finish(struct qm_call *k, int status, struct qm_span body)
{
    k->res.status = status;
    if (k->res.message[0] == '\0' && status != QM_OK) {
        snprintf(k->res.message, sizeof(k->res.message), "%s",
                 qm_strerror(status));
    }
    pthread_mutex_lock(&k->c->mu);
    if (k->res.leader[0] == '\0' && k->c->leader >= 0) {
        snprintf(k->res.leader, sizeof(k->res.leader), "%s",
                 tp_conn_url(k->c->nodes[k->c->leader].conn));
    }
    pthread_mutex_unlock(&k->c->mu);
    k->cb(k->arg, &k->res, k->forward ? k->result : body);
    call_give(k);
}

static void finish_local(struct qm_call *k, int status, const char *msg)
{
    struct qm_span none = {NULL, 0};
    snprintf(k->res.message, sizeof(k->res.message), "%s", msg);
    finish(k, status, none);
}

static void attempt(struct qm_call *k)
{
    int64_t left = k->deadline - qm__mono_ms();
    if (left <= 0) {
        finish_local(k, QM_ETIMEDOUT,
                     k->cls == TP_CLASS_WRITE
                         ? "no answer before the deadline; the write may or "
                           "may not have been applied"
                         : "no answer before the deadline");
        return;
    }
    int64_t t = left < k->c->opt.attempt_timeout_ms
                    ? left
                    : k->c->opt.attempt_timeout_ms;
    pthread_mutex_lock(&k->c->mu);
    struct tp_conn *conn = k->c->nodes[k->node].conn;
    pthread_mutex_unlock(&k->c->mu);
    tp_xchg_start(k->x, conn, k->req.data, k->req.len, t);
}

/* Wait before the next try (no leader known, or every node refused). */
static void back_off(struct qm_call *k)
{
    int64_t left = k->deadline - qm__mono_ms();
    int64_t wait = k->backoff < left ? k->backoff : left;
    k->backoff =
        k->backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : k->backoff * 2;
    k->tried = 0;
    k->redirects = 0;
    k->sleeping = true;
    tp_xchg_sleep(k->x, wait > 0 ? wait : 0);
}

/* Try the next node, backing off once every node has been tried. */
static void try_next(struct qm_call *k)
{
    struct qm_client *c = k->c;
    pthread_mutex_lock(&c->mu);
    if (c->leader == k->node) {
        c->leader = -1;
    }
    k->node = (k->node + 1) % c->nnodes;
    int n = c->nnodes;
    pthread_mutex_unlock(&c->mu);
    if (++k->tried >= n) {
        back_off(k);
    } else {
        attempt(k);
    }
}

static void on_answer(struct qm_call *k, const void *data, size_t len)
{
    char err[QM_ERRMSG_SIZE];
    struct tp_reply rep;
    struct tp_result r;
    if (qm_decode(&tp_reply_schema, data, len, &rep, err) != QM_OK ||
        qm_decode(&tp_result_schema, rep.result.p, rep.result.n, &r, err) !=
            QM_OK) {
        finish_local(k, QM_EPROTO, err);
        return;
    }
    struct qm_client *c = k->c;
    k->result = rep.result;
    k->res.retry_after_ms = r.retry_after_ms;
    k->res.index = r.index;
    snprintf(k->res.message, sizeof(k->res.message), "%s", r.message);
    int status = (int)r.status;
    if (k->pinned) {
        finish(k, status, r.body);
        return;
    }
    if (status == QM_NOT_LEADER) {
        if (r.leader[0] != '\0') {
            pthread_mutex_lock(&c->mu);
            int idx = qm__node_find(c, r.leader);
            if (idx >= 0) {
                c->leader = idx;
                k->node = idx;
            }
            pthread_mutex_unlock(&c->mu);
            if (idx >= 0 && ++k->redirects <= 3) {
                attempt(k);
                return;
            }
            back_off(k);
            return;
        }
        try_next(k);
        return;
    }
    if (status == QM_UNAVAILABLE) {
        /* No quorum yet, a membership change running, or the outcome of a
         * write was lost with its leader: same session, same sequence. */
        back_off(k);
        return;
    }
    /* Only a leader answers unpinned calls: remember it. */
    pthread_mutex_lock(&c->mu);
    c->leader = k->node;
    snprintf(k->res.leader, sizeof(k->res.leader), "%s",
             tp_conn_url(c->nodes[k->node].conn));
    pthread_mutex_unlock(&c->mu);
    finish(k, status, r.body);
}

static void on_xchg(void *arg, int status, const void *data, size_t len)
{
    struct qm_call *k = arg;
    if (k->sleeping) {
        k->sleeping = false;
        attempt(k);
        return;
    }
    if (status == QM_OK) {
        on_answer(k, data, len);
        return;
    }
    if (status == QM_ESHUTDOWN || status == QM_ENOMEM || k->pinned) {
        char msg[QM_MESSAGE_MAX];
        pthread_mutex_lock(&k->c->mu);
        snprintf(msg, sizeof(msg), "%s: %s",
                 tp_conn_url(k->c->nodes[k->node].conn),
                 status == QM_ETIMEDOUT ? "no answer" : "cannot connect");
        pthread_mutex_unlock(&k->c->mu);
        finish_local(k, status, msg);
        return;
    }
    try_next(k); /* QM_ECONN or QM_ETIMEDOUT on this node */
}

/* A call for @cb of @info's class (NULL when out of memory). */
static struct qm_call *call_start(struct qm_client *c,
                                  const struct tp_op_info *info,
                                  qm__call_cb cb,
                                  void *arg)
{
    struct qm_call *k = call_take(c);
    if (k != NULL) {
        k->cb = cb;
        k->arg = arg;
        k->cls = info->cls;
    }
    return k;
}

/* Wrap the command @cmd into the request k->req (QM_INVALID when it would
 * be larger than QM_MSG_MAX). */
static int request(struct qm_call *k,
                   uint64_t id,
                   const char *cred,
                   unsigned flags,
                   struct qm_span cmd)
{
    uint64_t wflags = (flags & QM_CALL_STALE) ? TP_RF_STALE : 0;
    tp_request_encode(&k->req, id, cred, wflags, cmd);
    int rv = qm_buf_status(&k->req);
    return rv == QM_OK && k->req.len > QM_MSG_MAX ? QM_INVALID : rv;
}

/* Encode args -> command -> request into k->req. */
static int encode(struct qm_call *k,
                  uint32_t op,
                  const struct qm_schema *schema,
                  const void *args,
                  unsigned flags)
{
    struct qm_client *c = k->c;
    uint64_t session = 0, seq = 0, id;
    pthread_mutex_lock(&c->mu);
    id = ++c->next_id;
    if (k->cls == TP_CLASS_WRITE) {
        k->sess = qm__session_take(c);
        if (k->sess != NULL) {
            session = k->sess->id;
            seq = ++k->sess->seq;
        }
    }
    pthread_mutex_unlock(&c->mu);
    if (k->cls == TP_CLASS_WRITE && k->sess == NULL) {
        return QM_ENOMEM;
    }
    struct qm_span as = {NULL, 0};
    if (schema != NULL) {
        qm_encode(schema, args, &k->args);
        as.p = k->args.data;
        as.n = k->args.len;
    }
    tp_cmd_encode(&k->cmd, op, session, seq, as);
    int rv = qm_buf_status(&k->args) != QM_OK ? qm_buf_status(&k->args)
                                              : qm_buf_status(&k->cmd);
    if (rv != QM_OK) {
        return rv;
    }
    struct qm_span cmd = {k->cmd.data, k->cmd.len};
    return request(k, id, c->cred, flags, cmd);
}

/* Where the first try goes (caller holds c->mu). */
static void first_node(struct qm_call *k,
                       const struct tp_op_info *info,
                       unsigned flags,
                       const char *url)
{
    struct qm_client *c = k->c;
    if (url != NULL) {
        k->node = qm__node_find(c, url);
        k->pinned = true;
    } else if ((flags & QM_CALL_STALE) || info->cls == TP_CLASS_LOCAL) {
        k->node = 0;
        k->pinned = true;
    } else if (c->leader >= 0) {
        k->node = c->leader;
    } else {
        k->node = c->next;
        c->next = (c->next + 1) % c->nnodes;
    }
}

int qm__call_forward(struct qm_client *c,
                     struct qm_span cmd,
                     const char *cred,
                     unsigned flags,
                     qm__call_cb cb,
                     void *arg)
{
    struct tp_cmd tc;
    char err[QM_ERRMSG_SIZE];
    if (qm_decode(&tp_cmd_schema, cmd.p, cmd.n, &tc, err) != QM_OK) {
        return QM_INVALID;
    }
    const struct tp_op_info *info = tp_op_info(tc.op);
    if (info == NULL) {
        return QM_INVALID;
    }
    struct qm_call *k = call_start(c, info, cb, arg);
    if (k == NULL) {
        return QM_ENOMEM;
    }
    k->forward = true;
    pthread_mutex_lock(&c->mu);
    uint64_t id = ++c->next_id;
    first_node(k, info, flags, NULL);
    pthread_mutex_unlock(&c->mu);
    int rv =
        request(k, id, cred != NULL && cred[0] ? cred : c->cred, flags, cmd);
    if (rv != QM_OK) {
        call_give(k);
        return rv;
    }
    k->deadline = qm__mono_ms() + c->opt.timeout_ms;
    attempt(k);
    return QM_OK;
}

int qm__call(struct qm_client *c,
             uint32_t op,
             const struct qm_schema *schema,
             const void *args,
             unsigned flags,
             const char *url,
             qm__call_cb cb,
             void *arg)
{
    const struct tp_op_info *info = tp_op_info(op);
    if (info == NULL) {
        return QM_INVALID;
    }
    struct qm_call *k = call_start(c, info, cb, arg);
    if (k == NULL) {
        return QM_ENOMEM;
    }
    int rv = encode(k, op, schema, args, flags);
    if (rv != QM_OK) {
        call_give(k);
        return rv;
    }
    k->deadline = qm__mono_ms() + c->opt.timeout_ms;
    pthread_mutex_lock(&c->mu);
    first_node(k, info, flags, url);
    pthread_mutex_unlock(&c->mu);
    if (k->node < 0) {
        call_give(k);
        return QM_ECONFIG;
    }
    attempt(k);
    return QM_OK;
}

/* ---- waiting ---- */

struct sync_wait
{
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    struct qm_result *res;
    const struct qm_schema *body_schema;
    void *body;
    struct qm_buf *keep; /* NULL: decode from the reply itself */
};

/* Copy @body into @keep and point @body there. */
static int keep_body(struct qm_buf *keep, struct qm_span *body)
{
    qm_buf_reset(keep);
    int rv = qm_buf_append(keep, body->p, body->n);
    if (rv == QM_OK) {
        body->p = keep->data;
    }
    return rv;
}

static void sync_done(void *arg,
                      const struct qm_result *res,
                      struct qm_span body)
{
    struct sync_wait *w = arg;
    *w->res = *res;
    if (w->body_schema != NULL && body.n > 0 && qm_is_status(res->status)) {
        char err[QM_ERRMSG_SIZE];
        if (w->keep != NULL && keep_body(w->keep, &body) != QM_OK) {
            w->res->status = QM_ENOMEM;
            snprintf(w->res->message, sizeof(w->res->message), "%s",
                     qm_strerror(QM_ENOMEM));
        } else if (qm_decode(w->body_schema, body.p, body.n, w->body, err) !=
                   QM_OK) {
            w->res->status = QM_EPROTO;
            snprintf(w->res->message, sizeof(w->res->message), "%s", err);
        }
    }
    pthread_mutex_lock(&w->mu);
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int qm__call_sync(struct qm_client *c,
                  uint32_t op,
                  const struct qm_schema *schema,
                  const void *args,
                  unsigned flags,
                  const char *url,
                  const struct qm_schema *body_schema,
                  void *body,
                  struct qm_result *res)
{
    return qm__call_sync_keep(c, op, schema, args, flags, url, body_schema,
                              body, NULL, res);
}

int qm__call_sync_keep(struct qm_client *c,
                       uint32_t op,
                       const struct qm_schema *schema,
                       const void *args,
                       unsigned flags,
                       const char *url,
                       const struct qm_schema *body_schema,
                       void *body,
                       struct qm_buf *keep,
                       struct qm_result *res)
{
    struct qm_result local;
    struct sync_wait w;
    memset(&w, 0, sizeof(w));
    w.res = res != NULL ? res : &local;
    w.body_schema = body_schema;
    w.body = body;
    w.keep = keep;
    if (body_schema != NULL) {
        memset(body, 0, body_schema->size);
    }
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    int rv = qm__call(c, op, schema, args, flags, url, sync_done, &w);
    if (rv == QM_OK) {
        pthread_mutex_lock(&w.mu);
        while (!w.done) {
            pthread_cond_wait(&w.cv, &w.mu);
        }
        pthread_mutex_unlock(&w.mu);
        rv = w.res->status;
    } else {
        memset(w.res, 0, sizeof(*w.res));
        w.res->status = rv;
        snprintf(w.res->message, sizeof(w.res->message), "%s", qm_strerror(rv));
    }
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return rv;
}

/* ---- decoded asynchronous calls ---- */

struct decoded_call
{
    const struct qm_schema *body_schema;
    qm__decoded_cb done;
    qm__fn fn;
    void *arg;
    max_align_t body[]; /* body_schema->size bytes */
};

static void decoded_done(void *arg,
                         const struct qm_result *res,
                         struct qm_span body)
{
    struct decoded_call *d = arg;
    struct qm_result r = *res;
    const void *out = NULL;
    if (body.n > 0 && qm_is_status(res->status)) {
        char err[QM_ERRMSG_SIZE];
        memset(d->body, 0, d->body_schema->size);
        if (qm_decode(d->body_schema, body.p, body.n, d->body, err) == QM_OK) {
            out = d->body;
        } else {
            r.status = QM_EPROTO;
            snprintf(r.message, sizeof(r.message), "%s", err);
        }
    }
    d->done(d->fn, d->arg, &r, out);
    qm_free(d);
}

int qm__call_decoded(struct qm_client *c,
                     uint32_t op,
                     const struct qm_schema *schema,
                     const void *args,
                     const struct qm_schema *body_schema,
                     qm__decoded_cb done,
                     qm__fn fn,
                     void *arg)
{
    struct decoded_call *d = qm_malloc(sizeof(*d) + body_schema->size);
    if (d == NULL) {
        return QM_ENOMEM;
    }
    d->body_schema = body_schema;
    d->done = done;
    d->fn = fn;
    d->arg = arg;
    int rv = qm__call(c, op, schema, args, 0, NULL, decoded_done, d);
    if (rv != QM_OK) {
        qm_free(d);
    }
    return rv;
}
