/* The typed functions of qm.h, on top of the call machinery. */
#include <stdio.h>
#include <string.h>

#include "qm_alloc.h"
#include "qm_call.h"

#define COPY_STR(dst, src) snprintf((dst), sizeof(dst), "%s", (src))

static void member_out(const struct tp_member *in, struct qm_member *out)
{
    out->id = in->id;
    COPY_STR(out->raft_addr, in->raft_addr);
    COPY_STR(out->api_url, in->api_url);
    out->role = (int)in->role;
}

int qm_node_info(struct qm_client *c,
                 const char *url,
                 struct qm_node_info *out,
                 struct qm_result *res)
{
    struct tp_node_info *ni = qm_malloc(sizeof(*ni));
    if (ni == NULL) {
        return QM_ENOMEM;
    }
    int rv = qm__call_sync(c, TP_OP_NODE_INFO, NULL, NULL, 0, url,
                           &tp_node_info_schema, ni, res);
    if (rv == QM_OK) {
        memset(out, 0, sizeof(*out));
        out->id = ni->id;
        out->state = (int)ni->state;
        out->term = ni->term;
        out->commit_index = ni->commit_index;
        out->applied_index = ni->applied_index;
        out->last_index = ni->last_index;
        out->snapshot_index = ni->snapshot_index;
        out->leader_id = ni->leader_id;
        COPY_STR(out->leader_url, ni->leader_url);
        COPY_STR(out->raft_addr, ni->raft_addr);
        COPY_STR(out->api_url, ni->api_url);
        out->clock_ms = ni->clock_ms;
        out->nmembers = ni->nmembers;
        for (unsigned i = 0; i < ni->nmembers; i++) {
            member_out(&ni->members[i], &out->members[i]);
        }
    }
    qm_free(ni);
    return rv;
}

int qm_digest(struct qm_client *c,
              const char *url,
              uint64_t *node_id,
              uint64_t *applied_index,
              char digest[33],
              struct qm_result *res)
{
    struct tp_digest d;
    int rv = qm__call_sync(c, TP_OP_DIGEST, NULL, NULL, 0, url,
                           &tp_digest_schema, &d, res);
    if (rv == QM_OK) {
        *node_id = d.id;
        *applied_index = d.applied_index;
        memcpy(digest, d.digest, sizeof(d.digest));
    }
    return rv;
}

int qm_member_add(struct qm_client *c,
                  uint64_t id,
                  const char *raft_addr,
                  const char *api_url,
                  struct qm_result *res)
{
    struct tp_member m;
    memset(&m, 0, sizeof(m));
    m.id = id;
    if (strlen(raft_addr) > QM_ADDR_MAX || strlen(api_url) > QM_URL_MAX) {
        return QM_INVALID;
    }
    COPY_STR(m.raft_addr, raft_addr);
    COPY_STR(m.api_url, api_url);
    return qm__call_sync(c, TP_OP_MEMBER_ADD, &tp_member_schema, &m, 0, NULL,
                         NULL, NULL, res);
}

int qm_member_remove(struct qm_client *c, uint64_t id, struct qm_result *res)
{
    struct tp_member_id m = {id};
    return qm__call_sync(c, TP_OP_MEMBER_REMOVE, &tp_member_id_schema, &m, 0,
                         NULL, NULL, NULL, res);
}

int qm_member_transfer(struct qm_client *c, uint64_t id, struct qm_result *res)
{
    struct tp_member_id m = {id};
    return qm__call_sync(c, TP_OP_MEMBER_TRANSFER, &tp_member_id_schema, &m, 0,
                         NULL, NULL, NULL, res);
}

/* Names longer than the protocol allows are refused here, before they
 * would be cut. */
static int copy_name(char dst[QM_NAME_MAX + 1], const char *src)
{
    if (src == NULL || strlen(src) > QM_NAME_MAX) {
        return QM_INVALID;
    }
    snprintf(dst, QM_NAME_MAX + 1, "%s", src);
    return QM_OK;
}

int qm_pool_create(struct qm_client *c,
                   const struct qm_pool_spec *spec,
                   struct qm_result *res)
{
    struct tp_pool_create pc;
    memset(&pc, 0, sizeof(pc));
    if (copy_name(pc.name, spec->name) != QM_OK) {
        return QM_INVALID;
    }
    pc.capacity = spec->capacity;
    pc.refill = spec->refill;
    pc.price = spec->price;
    return qm__call_sync(c, TP_OP_POOL_CREATE, &tp_pool_create_schema, &pc, 0,
                         NULL, NULL, NULL, res);
}

int qm_pool_delete(struct qm_client *c, const char *name, struct qm_result *res)
{
    struct tp_pool_name pn;
    if (copy_name(pn.name, name) != QM_OK) {
        return QM_INVALID;
    }
    return qm__call_sync(c, TP_OP_POOL_DELETE, &tp_pool_name_schema, &pn, 0,
                         NULL, NULL, NULL, res);
}

static void pool_out(const struct tp_pool_info *in, struct qm_pool *out)
{
    memset(out, 0, sizeof(*out));
    COPY_STR(out->name, in->name);
    out->capacity = in->capacity;
    out->refill = in->refill;
    out->price = in->price;
    COPY_STR(out->kind, in->kind);
    out->tokens = in->tokens;
    out->created_ms = in->created_ms;
}

int qm_pool_get(struct qm_client *c,
                const char *name,
                bool stale,
                struct qm_pool *out,
                struct qm_result *res)
{
    struct tp_pool_name pn;
    struct tp_pool_info pi;
    if (copy_name(pn.name, name) != QM_OK) {
        return QM_INVALID;
    }
    int rv = qm__call_sync(c, TP_OP_POOL_GET, &tp_pool_name_schema, &pn,
                           stale ? QM_CALL_STALE : 0, NULL,
                           &tp_pool_info_schema, &pi, res);
    if (rv == QM_OK) {
        pool_out(&pi, out);
    }
    return rv;
}

int qm_pool_list(struct qm_client *c,
                 const char *after,
                 bool stale,
                 struct qm_pool *out,
                 unsigned max,
                 unsigned *n,
                 bool *more,
                 struct qm_result *res)
{
    struct tp_list_args la;
    memset(&la, 0, sizeof(la));
    if (after != NULL && copy_name(la.after, after) != QM_OK) {
        return QM_INVALID;
    }
    la.limit = max < QM_PAGE_MAX ? max : QM_PAGE_MAX;
    struct tp_pool_page *page = qm_malloc(sizeof(*page));
    if (page == NULL) {
        return QM_ENOMEM;
    }
    int rv = qm__call_sync(c, TP_OP_POOL_LIST, &tp_list_args_schema, &la,
                           stale ? QM_CALL_STALE : 0, NULL,
                           &tp_pool_page_schema, page, res);
    if (rv == QM_OK) {
        unsigned k = page->npools < max ? page->npools : max;
        for (unsigned i = 0; i < k; i++) {
            pool_out(&page->pools[i], &out[i]);
        }
        *n = k;
        *more = page->more || page->npools > max;
    }
    qm_free(page);
    return rv;
}

static int acquire_args(struct tp_acquire *a, const char *pool, int64_t amount)
{
    memset(a, 0, sizeof(*a));
    a->amount = amount;
    return copy_name(a->pool, pool);
}

static void acquire_out(const struct tp_acquire_result *in,
                        struct qm_acquire *out)
{
    out->granted = in->granted;
    out->tokens = in->tokens;
    out->retry_after_ms = in->retry_after_ms;
}

int qm_acquire(struct qm_client *c,
               const char *pool,
               int64_t amount,
               struct qm_acquire *out,
               struct qm_result *res)
{
    struct tp_acquire a;
    struct tp_acquire_result ar;
    if (acquire_args(&a, pool, amount) != QM_OK) {
        return QM_INVALID;
    }
    int rv = qm__call_sync(c, TP_OP_ACQUIRE, &tp_acquire_schema, &a, 0, NULL,
                           &tp_acquire_result_schema, &ar, res);
    if (out != NULL) {
        acquire_out(&ar, out);
    }
    return rv;
}

struct acquire_ctx
{
    qm_acquire_cb cb;
    void *arg;
};

static void acquire_done(void *arg,
                         const struct qm_result *res,
                         struct qm_span body)
{
    struct acquire_ctx ctx = *(struct acquire_ctx *)arg;
    qm_free(arg);
    struct tp_acquire_result ar;
    struct qm_acquire out;
    char err[QM_ERRMSG_SIZE];
    if (body.n > 0 && qm_decode(&tp_acquire_result_schema, body.p, body.n, &ar,
                                err) == QM_OK) {
        acquire_out(&ar, &out);
        ctx.cb(ctx.arg, res, &out);
    } else {
        ctx.cb(ctx.arg, res, NULL);
    }
}

int qm_acquire_async(struct qm_client *c,
                     const char *pool,
                     int64_t amount,
                     qm_acquire_cb cb,
                     void *arg)
{
    struct tp_acquire a;
    if (acquire_args(&a, pool, amount) != QM_OK) {
        return QM_INVALID;
    }
    struct acquire_ctx *ctx = qm_malloc(sizeof(*ctx));
    if (ctx == NULL) {
        return QM_ENOMEM;
    }
    ctx->cb = cb;
    ctx->arg = arg;
    int rv = qm__call(c, TP_OP_ACQUIRE, &tp_acquire_schema, &a, 0, NULL,
                      acquire_done, ctx);
    if (rv != QM_OK) {
        qm_free(ctx);
    }
    return rv;
}
