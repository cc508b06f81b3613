#include "th_msg.h"

#include <string.h>

#include "fsm.h"
#include "qm_err.h"
#include "th_cmocka.h"

void th_cmd_make(struct th_cmd *c,
                 uint32_t op,
                 uint64_t session,
                 uint64_t seq,
                 const struct qm_schema *schema,
                 const void *args)
{
    uint8_t amem[TH_CMD_MAX];
    struct qm_buf ab;
    qm_buf_init_fixed(&ab, amem, sizeof(amem));
    struct qm_span as = {NULL, 0};
    if (schema != NULL) {
        assert_int_equal(qm_encode(schema, args, &ab), QM_OK);
        as.p = ab.data;
        as.n = ab.len;
    }
    struct qm_buf cb;
    qm_buf_init_fixed(&cb, c->data, sizeof(c->data));
    assert_int_equal(tp_cmd_encode(&cb, op, session, seq, as), QM_OK);
    c->len = cb.len;
}

void th_cmd_bytes(struct th_cmd *c, const void *p, size_t n)
{
    assert_true(n <= sizeof(c->data));
    memcpy(c->data, p, n);
    c->len = n;
}

struct qm_span th_cmd_span(const struct th_cmd *c)
{
    struct qm_span s = {c->data, c->len};
    return s;
}

void th_request_make(struct qm_buf *b,
                     uint64_t id,
                     const char *cred,
                     uint64_t flags,
                     const struct th_cmd *c)
{
    assert_int_equal(tp_request_encode(b, id, cred, flags, th_cmd_span(c)),
                     QM_OK);
}

void th_entry_make(struct qm_buf *b,
                   int64_t time_ms,
                   const struct th_cmd *cmds,
                   uint32_t n)
{
    struct qm_span spans[64];
    assert_true(n <= 64);
    for (uint32_t i = 0; i < n; i++) {
        spans[i] = th_cmd_span(&cmds[i]);
    }
    assert_int_equal(fsm_entry_encode(b, time_ms, spans, n), QM_OK);
}

int th_result_decode(struct qm_span raw,
                     struct tp_result *r,
                     const struct qm_schema *body_schema,
                     void *body)
{
    char err[QM_ERRMSG_SIZE] = "";
    int rv = qm_decode(&tp_result_schema, raw.p, raw.n, r, err);
    if (rv != QM_OK) {
        fail_msg("result does not decode: %s", err);
    }
    if (body_schema != NULL) {
        if (r->body.n > 0) {
            rv = qm_decode(body_schema, r->body.p, r->body.n, body, err);
            if (rv != QM_OK) {
                fail_msg("result body does not decode: %s", err);
            }
        } else {
            memset(body, 0, body_schema->size);
        }
    }
    return (int)r->status;
}
