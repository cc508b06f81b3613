/* Malformed requests over a real socket get INVALID (or, above nng's
 * receive limit, a dropped connection) and the node keeps serving. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "harness.h"
#include "qm_codec.h"
#include "tp_msg.h"

static nng_socket sock;

/* Send raw bytes; return the reply's status, or -1 when no reply came. */
static int roundtrip(const void *p, size_t n, char msg[QM_MESSAGE_MAX + 1])
{
    H_CHECK(nng_send(sock, (void *)p, n, 0) == 0, "send");
    void *buf;
    size_t len;
    int rv = nng_recv(sock, &buf, &len, NNG_FLAG_ALLOC);
    if (rv != 0) {
        return -1;
    }
    struct tp_reply rep;
    struct tp_result res;
    char err[QM_ERRMSG_SIZE];
    H_CHECK(qm_decode(&tp_reply_schema, buf, len, &rep, err) == QM_OK &&
                qm_decode(&tp_result_schema, rep.result.p, rep.result.n, &res,
                          err) == QM_OK,
            "the node's reply does not decode: %s", err);
    if (msg != NULL) {
        memcpy(msg, res.message, sizeof(res.message));
    }
    nng_free(buf, len);
    return (int)res.status;
}

/* A request for @op with @args (or none), session @session. */
static size_t build(uint8_t *out,
                    size_t cap,
                    uint64_t version,
                    uint32_t op,
                    uint64_t session,
                    const struct qm_schema *s,
                    const void *args)
{
    uint8_t amem[512], cmem[600];
    struct qm_buf a, c, r;
    qm_buf_init_fixed(&a, amem, sizeof(amem));
    qm_buf_init_fixed(&c, cmem, sizeof(cmem));
    qm_buf_init_fixed(&r, out, cap);
    struct qm_span as = {NULL, 0};
    if (s != NULL) {
        qm_encode(s, args, &a);
        as.p = a.data;
        as.n = a.len;
    }
    tp_cmd_encode(&c, op, session, session ? 1 : 0, as);
    struct qm_span cs = {c.data, c.len};
    struct tp_request req;
    memset(&req, 0, sizeof(req));
    req.version = version;
    req.id = 7;
    req.cmd = cs;
    qm_encode(&tp_request_schema, &req, &r);
    H_CHECK(qm_buf_status(&r) == QM_OK, "build");
    return r.len;
}

static void expect_invalid(const void *p, size_t n, const char *what)
{
    char msg[QM_MESSAGE_MAX + 1] = "";
    int st = roundtrip(p, n, msg);
    H_CHECK(st == QM_INVALID, "%s: status %d (%s)", what, st, msg);
}

int main(void)
{
    struct h_cluster c;
    h_cluster_init(&c, "invalid", 1);
    h_cluster_start(&c);
    struct qm_result res;
    struct qm_pool_spec spec = {.name = "x", .capacity = 100 * QM_MILLI};
    H_CHECK(qm_pool_create(c.client, &spec, &res) == QM_OK, "create");

    H_CHECK(nng_req0_open(&sock) == 0, "socket");
    nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, 3000);
    nng_socket_set_ms(sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
    H_CHECK(nng_dial(sock, c.nodes[0].api, NULL, 0) == 0, "dial");

    uint8_t buf[2048];
    size_t n;
    struct tp_acquire aq = {.pool = "x", .amount = QM_MILLI};

    /* A valid request first: the socket works. */
    n = build(buf, sizeof(buf), 1, TP_OP_ACQUIRE, 42, &tp_acquire_schema, &aq);
    H_CHECK(roundtrip(buf, n, NULL) == QM_OK, "a valid acquire");

    /* Every truncation of it. */
    for (size_t k = 0; k < n; k++) {
        expect_invalid(buf, k, "truncated request");
    }
    /* Wrong version, unknown op, internal op, write without session. */
    size_t m =
        build(buf, sizeof(buf), 2, TP_OP_ACQUIRE, 43, &tp_acquire_schema, &aq);
    expect_invalid(buf, m, "version 2");
    m = build(buf, sizeof(buf), 1, 99, 0, NULL, NULL);
    expect_invalid(buf, m, "unknown op");
    m = build(buf, sizeof(buf), 1, TP_OP_TICK, 0, NULL, NULL);
    expect_invalid(buf, m, "TICK from a client");
    struct tp_member mem = {5, "127.0.0.1:1", "tcp://127.0.0.1:1", 0};
    m = build(buf, sizeof(buf), 1, TP_OP_MEMBER_SET, 0, &tp_member_schema,
              &mem);
    expect_invalid(buf, m, "MEMBER_SET from a client");
    m = build(buf, sizeof(buf), 1, TP_OP_ACQUIRE, 0, &tp_acquire_schema, &aq);
    expect_invalid(buf, m, "acquire without a session");
    /* Wrongly typed: the pool name as an integer. */
    uint8_t bad_args[] = {0x82, 0x00, 0x05, 0x01, 0xcd, 0x03, 0xe8};
    struct qm_span bs = {bad_args, sizeof(bad_args)};
    uint8_t cmem[64], rmem[128];
    struct qm_buf cb, rb;
    qm_buf_init_fixed(&cb, cmem, sizeof(cmem));
    qm_buf_init_fixed(&rb, rmem, sizeof(rmem));
    tp_cmd_encode(&cb, TP_OP_ACQUIRE, 44, 1, bs);
    struct qm_span cs = {cb.data, cb.len};
    tp_request_encode(&rb, 8, NULL, 0, cs);
    expect_invalid(rb.data, rb.len, "pool name of the wrong type");
    /* A map claiming 4 billion entries. */
    uint8_t huge[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0x00};
    expect_invalid(huge, sizeof(huge), "huge map header");

    /* Random bytes from a fixed seed. */
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 2000; i++) {
        size_t len = (size_t)(x % 300);
        for (size_t k = 0; k < len; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[k] = (uint8_t)x;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int st = roundtrip(buf, len, NULL);
        H_CHECK(st == QM_INVALID || st == QM_OK || st == QM_NOT_FOUND,
                "random input %d: status %d", i, st);
    }

    /* Over the protocol limit but under nng's: INVALID. */
    size_t big = QM_MSG_MAX + 1000;
    uint8_t *p = calloc(1, big);
    H_CHECK(p != NULL, "alloc");
    expect_invalid(p, big, "a request over 1 MiB");
    /* Over nng's receive limit: the connection is dropped, no reply. */
    size_t bigger = QM_MSG_MAX * 2;
    uint8_t *q = calloc(1, bigger);
    H_CHECK(q != NULL, "alloc");
    H_CHECK(roundtrip(q, bigger, NULL) == -1, "2 MiB got a reply");
    free(p);
    free(q);
    nng_close(sock);

    /* The node still serves, and the state is what the valid calls made. */
    struct qm_pool pool;
    H_CHECK(qm_pool_get(c.client, "x", false, &pool, &res) == QM_OK, "get");
    H_CHECK(pool.tokens == 99 * QM_MILLI, "pool holds %lld",
            (long long)pool.tokens);
    struct qm_acquire got;
    H_CHECK(qm_acquire(c.client, "x", QM_MILLI, &got, &res) == QM_OK,
            "acquire after the garbage");
    h_cluster_stop(&c);
    printf("invalid: ok\n");
    return 0;
}
