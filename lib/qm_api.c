/* The typed functions of qm.h, on top of the call machinery. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "qm_alloc.h"
#include "qm_api_internal.h"
#include "qm_call.h"

#define COPY_STR QM__COPY_STR

/* The public enums are the wire's values. */
_Static_assert((int)QM_KIND_SHARED == (int)TP_KIND_SHARED &&
                   (int)QM_KIND_RESERVED == (int)TP_KIND_RESERVED &&
                   (int)QM_KIND_DEDICATED == (int)TP_KIND_DEDICATED,
               "pool kinds");
_Static_assert((int)QM_TIER_ENTERPRISE == (int)TP_TIER_ENTERPRISE &&
                   (int)QM_TIER_BASIC == (int)TP_TIER_BASIC &&
                   QM_TIERS == TP_TIERS,
               "tiers");

int qm__fail_local(struct qm_result *res, int status, const char *fmt, ...)
{
    if (res != NULL) {
        memset(res, 0, sizeof(*res));
        res->status = status;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(res->message, sizeof(res->message), fmt, ap);
        va_end(ap);
    }
    return status;
}

int qm__name_arg(char dst[QM_NAME_MAX + 1],
                 const char *src,
                 bool optional,
                 const char *what,
                 struct qm_result *res)
{
    dst[0] = '\0';
    if (optional && (src == NULL || src[0] == '\0')) {
        return QM_OK;
    }
    size_t n = src != NULL ? strnlen(src, QM_NAME_MAX + 1) : 0;
    if (n == 0 || n > QM_NAME_MAX || !qm_valid_name(src, n)) {
        return qm__fail_local(
            res, QM_INVALID, "%s wants 1..%d of [A-Za-z0-9._-], got '%.*s'",
            what, QM_NAME_MAX, (int)(n > 80 ? 80 : n), src != NULL ? src : "");
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
    return QM_OK;
}

unsigned qm__read_flags(bool stale)
{
    return stale ? QM_CALL_STALE : 0;
}

void *qm__page_alloc(size_t size, struct qm_result *res)
{
    void *p = qm_malloc(size);
    if (p == NULL) {
        qm__fail_local(res, QM_ENOMEM, "%s", qm_strerror(QM_ENOMEM));
    }
    return p;
}

unsigned qm__page_take(unsigned count,
                       bool page_more,
                       unsigned max,
                       unsigned *n,
                       bool *more)
{
    unsigned k = count < max ? count : max;
    *n = k;
    *more = page_more || count > max;
    return k;
}

uint64_t qm__page_limit(unsigned max)
{
    return max < QM_PAGE_MAX ? max : QM_PAGE_MAX;
}

int qm__list_run(struct qm_client *c,
                 const struct qm__list_call *l,
                 void *out,
                 unsigned max,
                 unsigned *n,
                 bool *more,
                 struct qm_result *res)
{
    const struct qm_field *items = &l->page_schema->fields[0];
    const struct qm_field *page_more = qm_schema_field(l->page_schema, "more");
    uint8_t *page = qm__page_alloc(l->page_schema->size, res);
    if (page == NULL) {
        return QM_ENOMEM;
    }
    int rv = qm__call_sync(c, l->op, l->args_schema, l->args, l->flags, NULL,
                           l->page_schema, page, res);
    if (rv == QM_OK) {
        uint32_t count;
        bool pm;
        memcpy(&count, page + items->count_off, sizeof(count));
        memcpy(&pm, page + page_more->off, sizeof(pm));
        unsigned k = qm__page_take(count, pm, max, n, more);
        for (unsigned i = 0; i < k; i++) {
            l->out(page + items->off + (size_t)i * items->elem_size,
                   (uint8_t *)out + (size_t)i * l->out_size);
        }
    }
    qm_free(page);
    return rv;
}

int qm__list_after(struct qm_client *c,
                   struct qm__list_call l,
                   const char *after,
                   bool stale,
                   void *out,
                   unsigned max,
                   unsigned *n,
                   bool *more,
                   struct qm_result *res)
{
    struct tp_list_args la = {.limit = qm__page_limit(max)};
    int rv = qm__name_arg(la.after, after, true, "list start", res);
    if (rv != QM_OK) {
        return rv;
    }
    l.args_schema = &tp_list_args_schema;
    l.args = &la;
    l.flags = qm__read_flags(stale);
    return qm__list_run(c, &l, out, max, n, more, res);
}

int qm__get_run(struct qm_client *c,
                uint32_t op,
                const struct qm_schema *args_schema,
                const void *args,
                bool stale,
                const struct qm_schema *body_schema,
                qm__item_out_fn fn,
                void *out,
                struct qm_result *res)
{
    void *body = qm__page_alloc(body_schema->size, res);
    if (body == NULL) {
        return QM_ENOMEM;
    }
    int rv = qm__call_sync(c, op, args_schema, args, qm__read_flags(stale),
                           NULL, body_schema, body, res);
    if (rv == QM_OK) {
        fn(body, out);
    }
    qm_free(body);
    return rv;
}

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
        return qm__fail_local(res, QM_INVALID, "address or URL too long");
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

static int shares_in(struct tp_pool_create *pc,
                     const struct qm_pool_spec *spec,
                     struct qm_result *res)
{
    if (spec->nshares > QM_SHARES_MAX) {
        return qm__fail_local(res, QM_INVALID, "more than %d shares",
                              QM_SHARES_MAX);
    }
    for (unsigned i = 0; i < spec->nshares; i++) {
        const struct qm_share *in = &spec->shares[i];
        struct tp_share *out = &pc->shares[i];
        if (in->tier < 0 || in->tier > QM_TIERS) {
            return qm__fail_local(res, QM_INVALID, "share %u: no tier %d", i,
                                  in->tier);
        }
        out->tier = (uint64_t)in->tier;
        int rv = qm__name_arg(out->client, in->client, in->tier != 0,
                              "share client", res);
        if (rv != QM_OK) {
            return rv;
        }
        out->amount = in->amount;
    }
    pc->nshares = (uint32_t)spec->nshares;
    return QM_OK;
}

int qm_pool_create(struct qm_client *c,
                   const struct qm_pool_spec *spec,
                   struct qm_result *res)
{
    struct tp_pool_create pc;
    memset(&pc, 0, sizeof(pc));
    int rv = qm__name_arg(pc.name, spec->name, false, "pool name", res);
    if (rv == QM_OK) {
        rv = qm__name_arg(pc.owner, spec->owner, true, "owner", res);
    }
    if (rv == QM_OK) {
        rv = shares_in(&pc, spec, res);
    }
    if (rv != QM_OK) {
        return rv;
    }
    if (spec->kind < 0 || spec->kind > QM_KIND_DEDICATED) {
        return qm__fail_local(res, QM_INVALID, "no pool kind %d", spec->kind);
    }
    pc.capacity = spec->capacity;
    pc.refill = spec->refill;
    pc.price = spec->price;
    pc.kind = (uint64_t)spec->kind;
    return qm__call_sync(c, TP_OP_POOL_CREATE, &tp_pool_create_schema, &pc, 0,
                         NULL, NULL, NULL, res);
}

int qm_pool_delete(struct qm_client *c, const char *name, struct qm_result *res)
{
    struct tp_pool_name pn;
    int rv = qm__name_arg(pn.name, name, false, "pool name", res);
    if (rv != QM_OK) {
        return rv;
    }
    return qm__call_sync(c, TP_OP_POOL_DELETE, &tp_pool_name_schema, &pn, 0,
                         NULL, NULL, NULL, res);
}

static void pool_out(const void *in_, void *out_)
{
    const struct tp_pool_info *in = in_;
    struct qm_pool *out = out_;
    memset(out, 0, sizeof(*out));
    COPY_STR(out->name, in->name);
    out->capacity = in->capacity;
    out->refill = in->refill;
    out->price = in->price;
    out->kind = (int)in->kind;
    out->tokens = in->tokens;
    out->created_ms = in->created_ms;
    COPY_STR(out->owner, in->owner);
    out->nshares = in->nshares;
    for (unsigned i = 0; i < in->nshares; i++) {
        out->shares[i].tier = (int)in->shares[i].tier;
        COPY_STR(out->shares[i].client, in->shares[i].client);
        out->shares[i].amount = in->shares[i].amount;
        out->shares[i].tokens = in->shares[i].tokens;
    }
}

int qm_pool_get(struct qm_client *c,
                const char *name,
                bool stale,
                struct qm_pool *out,
                struct qm_result *res)
{
    struct tp_pool_name pn;
    int rv = qm__name_arg(pn.name, name, false, "pool name", res);
    if (rv != QM_OK) {
        return rv;
    }
    return qm__get_run(c, TP_OP_POOL_GET, &tp_pool_name_schema, &pn, stale,
                       &tp_pool_info_schema, pool_out, out, res);
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
    struct qm__list_call l = {.op = TP_OP_POOL_LIST,
                              .page_schema = &tp_pool_page_schema,
                              .out = pool_out,
                              .out_size = sizeof(*out)};
    return qm__list_after(c, l, after, stale, out, max, n, more, res);
}

static int acquire_args(struct tp_acquire *a,
                        const char *pool,
                        int64_t amount,
                        const char *client,
                        struct qm_result *res)
{
    memset(a, 0, sizeof(*a));
    a->amount = amount;
    int rv = qm__name_arg(a->pool, pool, false, "pool name", res);
    if (rv != QM_OK) {
        return rv;
    }
    return qm__name_arg(a->client, client, true, "client id", res);
}

static void acquire_out(const struct tp_acquire_result *in,
                        struct qm_acquire *out)
{
    out->granted = in->granted;
    out->tokens = in->tokens;
    out->retry_after_ms = in->retry_after_ms;
    out->cost = in->cost;
}

int qm_acquire_for(struct qm_client *c,
                   const char *pool,
                   int64_t amount,
                   const char *client,
                   struct qm_acquire *out,
                   struct qm_result *res)
{
    struct tp_acquire a;
    struct tp_acquire_result ar;
    int rv = acquire_args(&a, pool, amount, client, res);
    if (rv != QM_OK) {
        return rv;
    }
    struct qm_result local;
    struct qm_result *r = res != NULL ? res : &local;
    rv = qm__call_sync(c, TP_OP_ACQUIRE, &tp_acquire_schema, &a, 0, NULL,
                       &tp_acquire_result_schema, &ar, r);
    if (out != NULL && (rv == QM_OK || rv == QM_DENIED)) {
        acquire_out(&ar, out);
        if (out->retry_after_ms == 0) {
            out->retry_after_ms = r->retry_after_ms;
        }
    }
    return rv;
}

int qm_acquire(struct qm_client *c,
               const char *pool,
               int64_t amount,
               struct qm_acquire *out,
               struct qm_result *res)
{
    return qm_acquire_for(c, pool, amount, NULL, out, res);
}

static void acquire_done(qm__fn fn,
                         void *arg,
                         const struct qm_result *res,
                         const void *body)
{
    struct qm_acquire out;
    if (body != NULL) {
        acquire_out(body, &out);
    }
    ((qm_acquire_cb)fn)(arg, res, body != NULL ? &out : NULL);
}

int qm_acquire_for_async(struct qm_client *c,
                         const char *pool,
                         int64_t amount,
                         const char *client,
                         qm_acquire_cb cb,
                         void *arg)
{
    struct tp_acquire a;
    int rv = acquire_args(&a, pool, amount, client, NULL);
    if (rv != QM_OK) {
        return rv;
    }
    return qm__call_decoded(c, TP_OP_ACQUIRE, &tp_acquire_schema, &a,
                            &tp_acquire_result_schema, acquire_done, (qm__fn)cb,
                            arg);
}

int qm_acquire_async(struct qm_client *c,
                     const char *pool,
                     int64_t amount,
                     qm_acquire_cb cb,
                     void *arg)
{
    return qm_acquire_for_async(c, pool, amount, NULL, cb, arg);
}
