#include "tp_server.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include "qm_alloc.h"
#include "qm_err.h"
#include "qm_limits.h"
#include "qm_log.h"

enum call_state { CALL_RECV = 1, CALL_OWNER, CALL_SEND };

struct tp_call
{
    struct tp_server *srv;
    nng_ctx ctx;
    nng_aio *aio;
    nng_msg *msg; /* the request, while the owner has it */
    atomic_int state;
    /* owner memory follows, aligned */
    _Alignas(16) unsigned char user[];
};

struct tp_server
{
    nng_socket sock;
    tp_server_cb cb;
    void *arg;
    atomic_bool closing;
    unsigned ncalls;
    size_t call_size;
    unsigned char *calls; /* ncalls blocks of call_size bytes */
};

static struct tp_call *call_at(struct tp_server *s, unsigned i)
{
    return (struct tp_call *)(void *)(s->calls + (size_t)i * s->call_size);
}

static void arm_recv(struct tp_call *c)
{
    atomic_store(&c->state, CALL_RECV);
    nng_ctx_recv(c->ctx, c->aio);
}

static void on_aio(void *arg)
{
    struct tp_call *c = arg;
    struct tp_server *s = c->srv;
    int rv = nng_aio_result(c->aio);
    int state = atomic_load(&c->state);

    if (state == CALL_SEND) {
        if (rv != 0) {
            nng_msg_free(nng_aio_get_msg(c->aio));
        }
        if (rv == NNG_ECLOSED || atomic_load(&s->closing)) {
            return;
        }
        arm_recv(c);
        return;
    }
    /* CALL_RECV */
    if (rv != 0) {
        if (rv != NNG_ECLOSED && !atomic_load(&s->closing)) {
            arm_recv(c);
        }
        return;
    }
    c->msg = nng_aio_get_msg(c->aio);
    atomic_store(&c->state, CALL_OWNER);
    s->cb(s->arg, c, nng_msg_body(c->msg), nng_msg_len(c->msg));
}

void tp_call_reply(struct tp_call *c, const void *data, size_t len)
{
    nng_msg *m = c->msg;
    c->msg = NULL;
    if (atomic_load(&c->srv->closing)) {
        nng_msg_free(m);
        return;
    }
    /* Reuse the request message: REP contexts keep the routing header. */
    nng_msg_clear(m);
    if (nng_msg_append(m, data, len) != 0) {
        nng_msg_free(m);
        qm_log(QM_LOG_WARN, "TP0003", "reply dropped: out of memory");
        arm_recv(c);
        return;
    }
    atomic_store(&c->state, CALL_SEND);
    nng_aio_set_msg(c->aio, m);
    nng_ctx_send(c->ctx, c->aio);
}

void *tp_call_user(struct tp_call *c)
{
    return c->user;
}

int tp_server_start(struct tp_server **out,
                    const char *url,
                    unsigned ncalls,
                    size_t user_size,
                    tp_server_cb cb,
                    void *arg,
                    char err[QM_ERRMSG_SIZE])
{
    struct tp_server *s = qm_calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, QM_ERRMSG_SIZE, "out of memory");
        return QM_ENOMEM;
    }
    s->cb = cb;
    s->arg = arg;
    s->ncalls = ncalls;
    s->call_size = (sizeof(struct tp_call) + user_size + 15) & ~(size_t)15;
    s->calls = qm_calloc(ncalls, s->call_size);
    int rv = QM_ENOMEM;
    if (s->calls == NULL) {
        snprintf(err, QM_ERRMSG_SIZE, "out of memory");
        goto err_free;
    }
    int nrv = nng_rep0_open(&s->sock);
    if (nrv != 0) {
        snprintf(err, QM_ERRMSG_SIZE, "open socket: %s", nng_strerror(nrv));
        rv = QM_EIO;
        goto err_free;
    }
    nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, QM_MSG_MAX + 4096);
    unsigned made = 0;
    for (; made < ncalls; made++) {
        struct tp_call *c = call_at(s, made);
        c->srv = s;
        if ((nrv = nng_aio_alloc(&c->aio, on_aio, c)) != 0) {
            break;
        }
        if ((nrv = nng_ctx_open(&c->ctx, s->sock)) != 0) {
            nng_aio_free(c->aio);
            break;
        }
    }
    if (made < ncalls) {
        snprintf(err, QM_ERRMSG_SIZE, "contexts: %s", nng_strerror(nrv));
        rv = QM_ENOMEM;
        goto err_close;
    }
    nrv = nng_listen(s->sock, url, NULL, 0);
    if (nrv != 0) {
        snprintf(err, QM_ERRMSG_SIZE, "listen on %s: %s", url,
                 nng_strerror(nrv));
        rv = nrv == NNG_EADDRINUSE ? QM_EIO : QM_ECONFIG;
        goto err_close;
    }
    for (unsigned i = 0; i < ncalls; i++) {
        arm_recv(call_at(s, i));
    }
    *out = s;
    return QM_OK;

err_close:
    nng_close(s->sock);
    for (unsigned i = 0; i < made; i++) {
        nng_aio_free(call_at(s, i)->aio);
    }
err_free:
    qm_free(s->calls);
    qm_free(s);
    return rv;
}

void tp_server_close(struct tp_server *s)
{
    if (atomic_exchange(&s->closing, true)) {
        return;
    }
    nng_close(s->sock);
    for (unsigned i = 0; i < s->ncalls; i++) {
        nng_aio_stop(call_at(s, i)->aio);
    }
}

void tp_server_free(struct tp_server *s)
{
    if (s == NULL) {
        return;
    }
    tp_server_close(s);
    for (unsigned i = 0; i < s->ncalls; i++) {
        struct tp_call *c = call_at(s, i);
        if (c->msg != NULL) {
            nng_msg_free(c->msg);
        }
        nng_aio_free(c->aio);
    }
    qm_free(s->calls);
    qm_free(s);
}
