/* The agent's local API (agent_local.h). */
#include "agent_local.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "qm_alloc.h"
#include "qm_call.h"
#include "qm_log.h"
#include "tp_msg.h"
#include "tp_server.h"

#define LOCAL_CALLS 64
/* Credit answers remembered for retries, by session. */
#define REPLAYS 1024

struct replay
{
    uint64_t session;
    uint64_t seq;
    int64_t left;
};

/* One server context's memory (nothing is allocated per request). */
struct local_req
{
    struct agent_local *l;
    struct tp_call *call;
    uint64_t id;
    struct tp_decoded d;
};

struct agent_local
{
    struct tp_server *srv;
    struct qm_client *client;
    struct agent_credits *credits;
    pthread_mutex_t mu;
    pthread_cond_t idle;
    unsigned inflight;
    struct replay replays[REPLAYS];
    atomic_ullong requests, invalid, from_credit, forwarded, unavailable;
};

/* ---- replies ---- */

static void reply_result(struct local_req *r, struct qm_span result)
{
    uint8_t mem[1024];
    struct qm_buf out;
    qm_buf_init(&out);
    if (result.n + 64 <= sizeof(mem)) {
        qm_buf_init_fixed(&out, mem, sizeof(mem));
    }
    if (tp_reply_encode(&out, r->id, result) == QM_OK) {
        tp_call_reply(r->call, out.data, out.len);
    } else {
        tp_call_reply(r->call, NULL, 0);
    }
    qm_buf_close(&out);
}

static void reply(struct local_req *r,
                  int status,
                  const char *message,
                  const struct qm_schema *body_schema,
                  const void *body)
{
    uint8_t mem[512];
    struct qm_buf res;
    qm_buf_init_fixed(&res, mem, sizeof(mem));
    tp_result_encode(&res, status, message, NULL, 0, 0, body_schema, body);
    struct qm_span s = {res.data, res.len};
    reply_result(r, s);
}

/* ---- what is served ---- */

static bool served(const struct tp_op_info *info, char err[QM_ERRMSG_SIZE])
{
    switch (info->op) {
        case TP_OP_HOST_REGISTER:
        case TP_OP_ACTION_RECORD:
        case TP_OP_ALERT_RAISE:
        case TP_OP_CREDIT_GRANT:
        case TP_OP_CREDIT_RETURN:
            break;
        default:
            if (info->cls == TP_CLASS_READ || info->cls == TP_CLASS_WRITE) {
                return true;
            }
            break;
    }
    snprintf(err, QM_ERRMSG_SIZE,
             "%s is not served on the agent's local API; ask the cluster",
             info->name);
    return false;
}

/* ---- acquisitions from credit ---- */

static struct replay *replay_slot(struct agent_local *l, uint64_t session)
{
    uint64_t h = session * 0x9e3779b97f4a7c15ULL;
    return &l->replays[(h >> 32) % REPLAYS];
}

static void reply_granted(struct local_req *r, int64_t left)
{
    struct tp_acquire_result a;
    memset(&a, 0, sizeof(a));
    a.granted = true;
    a.tokens = left;
    reply(r, QM_OK, NULL, &tp_acquire_result_schema, &a);
}

/* Answer from the credit: true when answered, false to forward. */
static bool from_credit(struct agent_local *l,
                        struct local_req *r,
                        const struct tp_decoded *d)
{
    const struct tp_acquire *aq = &d->args.acquire;
    pthread_mutex_lock(&l->mu);
    struct replay *rp = replay_slot(l, d->cmd.session);
    if (rp->session == d->cmd.session && rp->seq == d->cmd.seq) {
        int64_t left = rp->left;
        pthread_mutex_unlock(&l->mu);
        reply_granted(r, left); /* a retry: the same answer */
        return true;
    }
    int64_t left;
    int rv = agent_credits_take(l->credits, aq->pool, aq->amount, &left);
    if (rv == QM_OK) {
        rp->session = d->cmd.session;
        rp->seq = d->cmd.seq;
        rp->left = left;
    }
    pthread_mutex_unlock(&l->mu);
    if (rv != QM_OK) {
        return false; /* short: the leader decides */
    }
    atomic_fetch_add(&l->from_credit, 1);
    reply_granted(r, left);
    return true;
}

/* ---- forwarding ---- */

static void inflight_add(struct agent_local *l, int d)
{
    pthread_mutex_lock(&l->mu);
    l->inflight = (unsigned)((int)l->inflight + d);
    if (l->inflight == 0) {
        pthread_cond_broadcast(&l->idle);
    }
    pthread_mutex_unlock(&l->mu);
}

static void forwarded(void *arg,
                      const struct qm_result *res,
                      struct qm_span result)
{
    struct local_req *r = arg;
    struct agent_local *l = r->l;
    if (result.n > 0) {
        reply_result(r, result);
    } else {
        char msg[QM_MESSAGE_MAX + 1];
        snprintf(msg, sizeof(msg), "the agent cannot reach the cluster: %s",
                 res->message);
        atomic_fetch_add(&l->unavailable, 1);
        reply(r, QM_UNAVAILABLE, msg, NULL, NULL);
    }
    inflight_add(l, -1);
}

static void forward(struct agent_local *l,
                    struct local_req *r,
                    const struct tp_decoded *d)
{
    unsigned flags = (d->req.flags & TP_RF_STALE) ? QM_CALL_STALE : 0;
    inflight_add(l, 1);
    atomic_fetch_add(&l->forwarded, 1);
    int rv = qm__call_forward(l->client, d->req.cmd, d->req.cred, flags,
                              forwarded, r);
    if (rv != QM_OK) {
        inflight_add(l, -1);
        reply(r, rv == QM_INVALID ? QM_INVALID : QM_INTERNAL, qm_strerror(rv),
              NULL, NULL);
    }
}

static void on_request(void *arg,
                       struct tp_call *call,
                       const void *data,
                       size_t len)
{
    struct agent_local *l = arg;
    struct local_req *r = tp_call_user(call);
    r->l = l;
    r->call = call;
    r->id = 0;
    atomic_fetch_add(&l->requests, 1);
    struct tp_decoded *d = &r->d;
    memset(&d->req, 0, sizeof(d->req));
    char err[QM_ERRMSG_SIZE];
    int rv = tp_request_decode(data, len, true, d, err);
    r->id = d->req.id;
    if (rv != QM_OK || !served(d->info, err)) {
        atomic_fetch_add(&l->invalid, 1);
        reply(r, QM_INVALID, err, NULL, NULL);
    } else if (d->cmd.op != TP_OP_ACQUIRE ||
               d->args.acquire.client[0] != '\0' ||
               !agent_credits_has(l->credits, d->args.acquire.pool) ||
               !from_credit(l, r, d)) {
        forward(l, r, d);
    }
}

/* ---- life ---- */

int agent_local_start(struct agent_local **out,
                      const char *url,
                      struct qm_client *client,
                      struct agent_credits *credits,
                      char err[QM_ERRMSG_SIZE])
{
    struct agent_local *l = qm_calloc(1, sizeof(*l));
    if (l == NULL) {
        return QM_ENOMEM;
    }
    l->client = client;
    l->credits = credits;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->idle, NULL);
    int rv = tp_server_start(&l->srv, url, LOCAL_CALLS,
                             sizeof(struct local_req), on_request, l, err);
    if (rv != QM_OK) {
        pthread_cond_destroy(&l->idle);
        pthread_mutex_destroy(&l->mu);
        qm_free(l);
        return rv;
    }
    *out = l;
    return QM_OK;
}

void agent_local_stop(struct agent_local *l)
{
    if (l == NULL) {
        return;
    }
    tp_server_close(l->srv);
    pthread_mutex_lock(&l->mu);
    while (l->inflight > 0) {
        pthread_cond_wait(&l->idle, &l->mu);
    }
    pthread_mutex_unlock(&l->mu);
    tp_server_free(l->srv);
    pthread_cond_destroy(&l->idle);
    pthread_mutex_destroy(&l->mu);
    qm_free(l);
}

void agent_local_stats(struct agent_local *l, struct agent_local_stats *out)
{
    out->requests = atomic_load(&l->requests);
    out->invalid = atomic_load(&l->invalid);
    out->from_credit = atomic_load(&l->from_credit);
    out->forwarded = atomic_load(&l->forwarded);
    out->unavailable = atomic_load(&l->unavailable);
}
