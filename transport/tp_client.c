#include "tp_client.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include "qm_alloc.h"
#include "qm_err.h"
#include "qm_limits.h"

enum xchg_state { X_IDLE = 0, X_SEND, X_RECV, X_SLEEP };

struct tp_xchg
{
    nng_aio *aio;
    nng_ctx ctx;
    bool has_ctx;
    struct tp_conn *conn;
    struct tp_xchg *next; /* in conn->waiting */
    int state;
    nng_time deadline;
    tp_xchg_cb cb;
    void *arg;
};

struct tp_conn
{
    nng_socket sock;
    char url[QM_URL_MAX + 1];
    pthread_mutex_t mu;
    int pipes;               /* connected pipes */
    bool lost;               /* was up and dropped, not back yet */
    struct tp_xchg *waiting; /* exchanges with a request outstanding */
};

int tp_err_from_nng(int rv)
{
    switch (rv) {
        case 0:
            return QM_OK;
        case NNG_ENOMEM:
            return QM_ENOMEM;
        case NNG_ETIMEDOUT:
            return QM_ETIMEDOUT;
        case NNG_ECLOSED:
        case NNG_ECANCELED:
            return QM_ESHUTDOWN;
        case NNG_EADDRINVAL:
        case NNG_ENOTSUP:
        case NNG_EINVAL:
            return QM_ECONFIG;
        default:
            return QM_ECONN;
    }
}

/* ---- connections ---- */

static void on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    (void)p;
    struct tp_conn *c = arg;
    pthread_mutex_lock(&c->mu);
    if (ev == NNG_PIPE_EV_ADD_POST) {
        c->pipes++;
        c->lost = false;
        pthread_mutex_unlock(&c->mu);
        return;
    }
    if (ev != NNG_PIPE_EV_REM_POST) {
        pthread_mutex_unlock(&c->mu);
        return;
    }
    if (c->pipes > 0) {
        c->pipes--;
    }
    c->lost = c->pipes == 0;
    /* The peer went away: end every outstanding request now. */
    for (struct tp_xchg *x = c->waiting; x != NULL; x = x->next) {
        nng_aio_abort(x->aio, NNG_ECONNRESET);
    }
    pthread_mutex_unlock(&c->mu);
}

int tp_conn_open(struct tp_conn **out,
                 const char *url,
                 char err[QM_ERRMSG_SIZE])
{
    if (strlen(url) > QM_URL_MAX) {
        snprintf(err, QM_ERRMSG_SIZE, "URL longer than %d bytes", QM_URL_MAX);
        return QM_ECONFIG;
    }
    struct tp_conn *c = qm_calloc(1, sizeof(*c));
    if (c == NULL) {
        snprintf(err, QM_ERRMSG_SIZE, "out of memory");
        return QM_ENOMEM;
    }
    snprintf(c->url, sizeof(c->url), "%s", url);
    pthread_mutex_init(&c->mu, NULL);
    int rv = nng_req0_open(&c->sock);
    if (rv != 0) {
        snprintf(err, QM_ERRMSG_SIZE, "open socket: %s", nng_strerror(rv));
        pthread_mutex_destroy(&c->mu);
        qm_free(c);
        return tp_err_from_nng(rv);
    }
    /* We retry ourselves, across nodes, with the same session: nng's own
     * resend would only repeat the request to the same peer. */
    nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
    nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, 20);
    nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT, 500);
    nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, QM_MSG_MAX + 4096);
    nng_pipe_notify(c->sock, NNG_PIPE_EV_ADD_POST, on_pipe, c);
    nng_pipe_notify(c->sock, NNG_PIPE_EV_REM_POST, on_pipe, c);
    rv = nng_dial(c->sock, url, NULL, NNG_FLAG_NONBLOCK);
    if (rv != 0) {
        snprintf(err, QM_ERRMSG_SIZE, "cannot use %s: %s", url,
                 nng_strerror(rv));
        nng_close(c->sock);
        pthread_mutex_destroy(&c->mu);
        qm_free(c);
        return tp_err_from_nng(rv) == QM_ECONN ? QM_ECONFIG
                                               : tp_err_from_nng(rv);
    }
    *out = c;
    return QM_OK;
}

void tp_conn_close(struct tp_conn *c)
{
    if (c == NULL) {
        return;
    }
    nng_close(c->sock);
    pthread_mutex_destroy(&c->mu);
    qm_free(c);
}

const char *tp_conn_url(const struct tp_conn *c)
{
    return c->url;
}

bool tp_conn_up(struct tp_conn *c)
{
    pthread_mutex_lock(&c->mu);
    bool up = c->pipes > 0;
    pthread_mutex_unlock(&c->mu);
    return up;
}

/* ---- exchanges ---- */

static void unlink_waiting(struct tp_xchg *x)
{
    struct tp_conn *c = x->conn;
    if (c == NULL) {
        return;
    }
    pthread_mutex_lock(&c->mu);
    for (struct tp_xchg **p = &c->waiting; *p != NULL; p = &(*p)->next) {
        if (*p == x) {
            *p = x->next;
            break;
        }
    }
    pthread_mutex_unlock(&c->mu);
    x->next = NULL;
}

static void finish(struct tp_xchg *x, int status, nng_msg *reply)
{
    unlink_waiting(x);
    if (x->has_ctx) {
        nng_ctx_close(x->ctx);
        x->has_ctx = false;
    }
    x->conn = NULL;
    x->state = X_IDLE;
    if (reply != NULL) {
        x->cb(x->arg, status, nng_msg_body(reply), nng_msg_len(reply));
        nng_msg_free(reply);
    } else {
        x->cb(x->arg, status, NULL, 0);
    }
}

static nng_duration remaining(const struct tp_xchg *x)
{
    nng_time now = nng_clock();
    return x->deadline > now ? (nng_duration)(x->deadline - now) : 0;
}

static void on_xchg(void *arg)
{
    struct tp_xchg *x = arg;
    int rv = nng_aio_result(x->aio);
    switch (x->state) {
        case X_SLEEP:
            x->state = X_IDLE;
            x->cb(x->arg, rv == 0 ? QM_OK : tp_err_from_nng(rv), NULL, 0);
            return;
        case X_SEND:
            if (rv != 0) {
                nng_msg_free(nng_aio_get_msg(x->aio));
                finish(x, tp_err_from_nng(rv), NULL);
                return;
            }
            x->state = X_RECV;
            nng_aio_set_timeout(x->aio, remaining(x));
            nng_ctx_recv(x->ctx, x->aio);
            return;
        case X_RECV:
            if (rv != 0) {
                finish(x, tp_err_from_nng(rv), NULL);
                return;
            }
            finish(x, QM_OK, nng_aio_get_msg(x->aio));
            return;
        default:
            return;
    }
}

int tp_xchg_new(struct tp_xchg **out, tp_xchg_cb cb, void *arg)
{
    struct tp_xchg *x = qm_calloc(1, sizeof(*x));
    if (x == NULL) {
        return QM_ENOMEM;
    }
    if (nng_aio_alloc(&x->aio, on_xchg, x) != 0) {
        qm_free(x);
        return QM_ENOMEM;
    }
    x->cb = cb;
    x->arg = arg;
    *out = x;
    return QM_OK;
}

void tp_xchg_free(struct tp_xchg *x)
{
    if (x == NULL) {
        return;
    }
    nng_aio_stop(x->aio);
    unlink_waiting(x);
    if (x->has_ctx) {
        nng_ctx_close(x->ctx);
    }
    nng_aio_free(x->aio);
    qm_free(x);
}

void tp_xchg_start(struct tp_xchg *x,
                   struct tp_conn *conn,
                   const void *req,
                   size_t len,
                   int64_t timeout_ms)
{
    nng_msg *m;
    int rv = nng_msg_alloc(&m, 0);
    if (rv == 0 && (rv = nng_msg_append(m, req, len)) != 0) {
        nng_msg_free(m);
    }
    if (rv == 0 && (rv = nng_ctx_open(&x->ctx, conn->sock)) != 0) {
        nng_msg_free(m);
    }
    if (rv != 0) {
        x->cb(x->arg, tp_err_from_nng(rv), NULL, 0);
        return;
    }
    x->has_ctx = true;
    x->conn = conn;
    pthread_mutex_lock(&conn->mu);
    bool up = conn->pipes > 0;
    if (conn->lost) {
        /* The peer went away and has not come back: say so now rather
         * than wait for a reconnection that is not coming soon. */
        pthread_mutex_unlock(&conn->mu);
        nng_ctx_close(x->ctx);
        x->has_ctx = false;
        x->conn = NULL;
        nng_msg_free(m);
        x->cb(x->arg, QM_ECONN, NULL, 0);
        return;
    }
    x->next = conn->waiting;
    conn->waiting = x;
    pthread_mutex_unlock(&conn->mu);
    if (!up && timeout_ms > TP_CONNECT_GRACE_MS) {
        timeout_ms = TP_CONNECT_GRACE_MS;
    }
    x->deadline = nng_clock() + (nng_time)(timeout_ms > 0 ? timeout_ms : 0);
    x->state = X_SEND;
    nng_aio_set_msg(x->aio, m);
    nng_aio_set_timeout(x->aio, remaining(x));
    nng_ctx_send(x->ctx, x->aio);
}

void tp_xchg_sleep(struct tp_xchg *x, int64_t ms)
{
    x->state = X_SLEEP;
    nng_sleep_aio((nng_duration)(ms > 0 ? ms : 0), x->aio);
}
