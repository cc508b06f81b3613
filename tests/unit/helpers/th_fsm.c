#include "th_fsm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qm_err.h"
#include "th_cmocka.h"

static void open_fsm(struct th_fsm *fx)
{
    char err[QM_ERRMSG_SIZE] = "";
    int rv = fsm_open(&fx->f, &fx->cfg, err);
    if (rv != QM_OK) {
        fail_msg("fsm_open %s: %s", fx->dir, err);
    }
}

struct th_fsm *th_fsm_new(void)
{
    struct th_fsm *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    th_tmpdir_make(fx->dir);
    fx->cfg.dir = fx->dir;
    fx->cfg.map_size = (size_t)64 << 20;
    fx->cfg.sync = FSM_SYNC_NONE;
    fx->index = 1;
    open_fsm(fx);
    return fx;
}

void th_fsm_free(struct th_fsm *fx)
{
    if (fx == NULL) {
        return;
    }
    fsm_close(fx->f);
    th_tmpdir_remove(fx->dir);
    free(fx);
}

void th_fsm_reopen(struct th_fsm *fx)
{
    fsm_close(fx->f);
    fx->f = NULL;
    open_fsm(fx);
}

void th_fsm_configure(struct th_fsm *fx,
                      int64_t session_ttl_ms,
                      uint32_t max_sessions)
{
    fx->cfg.session_ttl_ms = session_ttl_ms;
    fx->cfg.max_sessions = max_sessions;
    th_fsm_reopen(fx);
}

const struct fsm_results *th_fsm_apply_raw(struct th_fsm *fx,
                                           const void *p,
                                           size_t n)
{
    fx->index++;
    assert_int_equal(fsm_apply(fx->f, fx->index, p, n, &fx->res), QM_OK);
    return &fx->res;
}

const struct fsm_results *th_fsm_apply(struct th_fsm *fx,
                                       int64_t time_ms,
                                       const struct th_cmd *cmds,
                                       uint32_t n)
{
    struct qm_buf b;
    qm_buf_init(&b);
    th_entry_make(&b, time_ms, cmds, n);
    fx->index++;
    int rv = fsm_apply(fx->f, fx->index, b.data, b.len, &fx->res);
    qm_buf_close(&b);
    assert_int_equal(rv, QM_OK);
    assert_int_equal(fx->res.n, n);
    return &fx->res;
}

/* Keep a copy of @raw in fx->last and decode it. */
static int keep_result(struct th_fsm *fx,
                       struct qm_span raw,
                       const struct qm_schema *body_schema,
                       void *body)
{
    assert_true(raw.n <= sizeof(fx->last));
    memcpy(fx->last, raw.p, raw.n);
    fx->last_len = raw.n;
    struct qm_span copy = {fx->last, raw.n};
    struct tp_result r;
    return th_result_decode(copy, &r, body_schema, body);
}

int th_fsm_do(struct th_fsm *fx,
              int64_t time_ms,
              uint32_t op,
              uint64_t session,
              uint64_t seq,
              const struct qm_schema *args_schema,
              const void *args,
              const struct qm_schema *body_schema,
              void *body)
{
    struct th_cmd c;
    th_cmd_make(&c, op, session, seq, args_schema, args);
    const struct fsm_results *res = th_fsm_apply(fx, time_ms, &c, 1);
    return keep_result(fx, res->items[0], body_schema, body);
}

int th_fsm_do_large(struct th_fsm *fx,
                    int64_t time_ms,
                    uint32_t op,
                    uint64_t session,
                    uint64_t seq,
                    const struct qm_schema *args_schema,
                    const void *args,
                    const struct qm_schema *body_schema,
                    void *body)
{
    struct qm_buf ab, cb, eb;
    qm_buf_init(&ab);
    qm_buf_init(&cb);
    qm_buf_init(&eb);
    struct qm_span as = {NULL, 0};
    if (args_schema != NULL) {
        assert_int_equal(qm_encode(args_schema, args, &ab), QM_OK);
        as.p = ab.data;
        as.n = ab.len;
    }
    assert_int_equal(tp_cmd_encode(&cb, op, session, seq, as), QM_OK);
    struct qm_span cs = {cb.data, cb.len};
    assert_int_equal(fsm_entry_encode(&eb, time_ms, &cs, 1), QM_OK);
    const struct fsm_results *res = th_fsm_apply_raw(fx, eb.data, eb.len);
    qm_buf_close(&ab);
    qm_buf_close(&cb);
    qm_buf_close(&eb);
    assert_int_equal(res->n, 1);
    return keep_result(fx, res->items[0], body_schema, body);
}

int th_fsm_query(struct th_fsm *fx,
                 int64_t now_ms,
                 uint32_t op,
                 const struct qm_schema *args_schema,
                 const void *args,
                 const struct qm_schema *body_schema,
                 void *body)
{
    /* Reads ignore session and sequence; set them so that the request
     * decoder lets write ops through too (to test fsm_query refusing
     * them). */
    struct th_cmd c;
    th_cmd_make(&c, op, 1, 1, args_schema, args);
    struct qm_buf rq;
    qm_buf_init(&rq);
    th_request_make(&rq, 1, NULL, 0, &c);
    struct tp_decoded *d = malloc(sizeof(*d));
    assert_non_null(d);
    char err[QM_ERRMSG_SIZE] = "";
    int rv = tp_request_decode(rq.data, rq.len, true, d, err);
    if (rv != QM_OK) {
        fail_msg("read request does not decode: %s", err);
    }
    struct qm_buf out;
    qm_buf_init(&out);
    rv = fsm_query(fx->f, d, now_ms, &out);
    free(d);
    qm_buf_close(&rq);
    if (rv != QM_OK) {
        qm_buf_close(&out);
        fail_msg("fsm_query: %s", qm_strerror(rv));
    }
    struct qm_span raw = {out.data, out.len};
    int status = keep_result(fx, raw, body_schema, body);
    qm_buf_close(&out);
    return status;
}

int th_pool_create(struct th_fsm *fx,
                   int64_t time_ms,
                   uint64_t session,
                   uint64_t seq,
                   const char *name,
                   int64_t capacity,
                   int64_t refill)
{
    struct tp_pool_create a;
    memset(&a, 0, sizeof(a));
    snprintf(a.name, sizeof(a.name), "%s", name);
    a.capacity = capacity;
    a.refill = refill;
    return th_fsm_do(fx, time_ms, TP_OP_POOL_CREATE, session, seq,
                     &tp_pool_create_schema, &a, NULL, NULL);
}

int th_pool_delete(struct th_fsm *fx,
                   int64_t time_ms,
                   uint64_t session,
                   uint64_t seq,
                   const char *name)
{
    struct tp_pool_name a;
    memset(&a, 0, sizeof(a));
    snprintf(a.name, sizeof(a.name), "%s", name);
    return th_fsm_do(fx, time_ms, TP_OP_POOL_DELETE, session, seq,
                     &tp_pool_name_schema, &a, NULL, NULL);
}

int th_acquire(struct th_fsm *fx,
               int64_t time_ms,
               uint64_t session,
               uint64_t seq,
               const char *pool,
               int64_t amount,
               struct tp_acquire_result *out)
{
    struct tp_acquire a;
    memset(&a, 0, sizeof(a));
    snprintf(a.pool, sizeof(a.pool), "%s", pool);
    a.amount = amount;
    struct tp_acquire_result ignored;
    return th_fsm_do(fx, time_ms, TP_OP_ACQUIRE, session, seq,
                     &tp_acquire_schema, &a, &tp_acquire_result_schema,
                     out != NULL ? out : &ignored);
}

int th_tick(struct th_fsm *fx, int64_t time_ms)
{
    return th_fsm_do(fx, time_ms, TP_OP_TICK, 0, 0, NULL, NULL, NULL, NULL);
}

int th_pool_get(struct th_fsm *fx,
                int64_t now_ms,
                const char *name,
                struct tp_pool_info *out)
{
    struct tp_pool_name a;
    memset(&a, 0, sizeof(a));
    snprintf(a.name, sizeof(a.name), "%s", name);
    return th_fsm_query(fx, now_ms, TP_OP_POOL_GET, &tp_pool_name_schema, &a,
                        &tp_pool_info_schema, out);
}

int64_t th_pool_tokens(struct th_fsm *fx, int64_t now_ms, const char *name)
{
    struct tp_pool_info info;
    assert_int_equal(th_pool_get(fx, now_ms, name, &info), QM_OK);
    return info.tokens;
}

void th_fsm_digest(struct th_fsm *fx, char hex[33])
{
    uint64_t applied;
    assert_int_equal(fsm_digest(fx->f, hex, &applied), QM_OK);
    assert_int_equal(applied, fsm_applied_index(fx->f));
}

void th_pool_create_args(struct tp_pool_create *a,
                         const char *name,
                         int64_t capacity,
                         int64_t refill,
                         int64_t price)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->name, sizeof(a->name), "%s", name);
    a->capacity = capacity;
    a->refill = refill;
    a->price = price;
}

int th_pool_list(struct th_fsm *fx,
                 const char *after,
                 uint64_t limit,
                 struct tp_pool_page *page)
{
    struct tp_list_args a;
    memset(&a, 0, sizeof(a));
    snprintf(a.after, sizeof(a.after), "%s", after);
    a.limit = limit;
    return th_fsm_query(fx, 0, TP_OP_POOL_LIST, &tp_list_args_schema, &a,
                        &tp_pool_page_schema, page);
}

int th_member_set(struct th_fsm *fx,
                  int64_t time_ms,
                  uint64_t id,
                  const char *raft_addr,
                  const char *api_url,
                  uint64_t role)
{
    struct tp_member m;
    memset(&m, 0, sizeof(m));
    m.id = id;
    snprintf(m.raft_addr, sizeof(m.raft_addr), "%s", raft_addr);
    snprintf(m.api_url, sizeof(m.api_url), "%s", api_url);
    m.role = role;
    return th_fsm_do(fx, time_ms, TP_OP_MEMBER_SET, 0, 0, &tp_member_schema, &m,
                     NULL, NULL);
}

int th_member_del(struct th_fsm *fx, int64_t time_ms, uint64_t id)
{
    struct tp_member_id m = {id};
    return th_fsm_do(fx, time_ms, TP_OP_MEMBER_DEL, 0, 0, &tp_member_id_schema,
                     &m, NULL, NULL);
}

void th_assert_digest(struct th_fsm *fx, const char *want)
{
    char hex[33];
    th_fsm_digest(fx, hex);
    assert_string_equal(hex, want);
}

void th_assert_message(struct th_fsm *fx, const char *what)
{
    struct tp_result r;
    struct qm_span raw = {fx->last, fx->last_len};
    th_result_decode(raw, &r, NULL, NULL);
    if (strstr(r.message, what) == NULL) {
        fail_msg("message '%s' does not mention '%s'", r.message, what);
    }
}

void th_assert_statuses(const struct fsm_results *res,
                        const int *want,
                        uint32_t n)
{
    assert_int_equal(res->n, n);
    for (uint32_t i = 0; i < n; i++) {
        struct tp_result r;
        int st = th_result_decode(res->items[i], &r, NULL, NULL);
        if (st != want[i]) {
            fail_msg("result %u: %s (%s), expected %s", i, qm_errname(st),
                     r.message, qm_errname(want[i]));
        }
    }
}
