/* Pools: named token buckets with a capacity, a refill rate and a price per
 * unit. Commands: create, delete, acquire; reads: get, list. */
#include <stdio.h>
#include <string.h>

#include "fsm_bucket.h"
#include "fsm_internal.h"
#include "qm_err.h"

/* The LMDB record of a pool; the key is its name. */
struct pool_rec
{
    int64_t capacity;
    int64_t refill;
    int64_t price;
    char kind[16];
    int64_t tokens;
    int64_t carry;
    int64_t last_ms;
    int64_t created_ms;
};

static const struct qm_field pool_rec_fields[] = {
    QM_I64(struct pool_rec, 0, capacity, QM_FF_REQ, 1, QM_TOKENS_MAX),
    QM_I64(struct pool_rec, 1, refill, 0, 0, QM_REFILL_MAX),
    QM_I64(struct pool_rec, 2, price, 0, 0, QM_PRICE_MAX),
    QM_STR(struct pool_rec, 3, kind, QM_FF_NAME),
    QM_I64(struct pool_rec, 4, tokens, 0, 0, QM_TOKENS_MAX),
    QM_I64(struct pool_rec, 5, carry, 0, 0, 999),
    QM_I64(struct pool_rec, 6, last_ms, 0, 0, QM_TIME_MAX),
    QM_I64(struct pool_rec, 7, created_ms, 0, 0, QM_TIME_MAX),
};
static QM_SCHEMA(pool_rec_schema, struct pool_rec, pool_rec_fields);

static int pool_load(struct fsm_ctx *c, const char *name, struct pool_rec *p)
{
    /* The decoder checked the name already; a key LMDB refuses would stop
     * every replica, so check again where the key is made. */
    if (!qm_valid_name(name, strlen(name))) {
        return QM_INVALID;
    }
    MDB_val k = {strlen(name), (void *)name};
    MDB_val v;
    int rc = mdb_get(c->txn, c->f->dbi[FSM_DB_POOLS], &k, &v);
    if (rc != MDB_SUCCESS) {
        return fsm__err_from_mdb(rc);
    }
    char err[QM_ERRMSG_SIZE];
    if (qm_decode(&pool_rec_schema, v.mv_data, v.mv_size, p, err) != QM_OK) {
        return QM_ECORRUPT;
    }
    return QM_OK;
}

static int pool_store(struct fsm_ctx *c,
                      const char *name,
                      const struct pool_rec *p)
{
    uint8_t mem[256];
    struct qm_buf b;
    qm_buf_init_fixed(&b, mem, sizeof(mem));
    if (qm_encode(&pool_rec_schema, p, &b) != QM_OK) {
        return QM_EFULL;
    }
    MDB_val k = {strlen(name), (void *)name};
    MDB_val v = {b.len, b.data};
    return fsm__err_from_mdb(
        mdb_put(c->txn, c->f->dbi[FSM_DB_POOLS], &k, &v, 0));
}

static void bucket_of(const struct pool_rec *p, struct fsm_bucket *b)
{
    b->capacity = p->capacity;
    b->refill = p->refill;
    b->tokens = p->tokens;
    b->carry = p->carry;
    b->last_ms = p->last_ms;
}

static void info_of(const char *name,
                    const struct pool_rec *p,
                    int64_t now,
                    struct tp_pool_info *out)
{
    struct fsm_bucket b;
    bucket_of(p, &b);
    fsm_bucket_advance(&b, now);
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "%s", name);
    out->capacity = p->capacity;
    out->refill = p->refill;
    out->price = p->price;
    snprintf(out->kind, sizeof(out->kind), "%s", p->kind);
    out->tokens = b.tokens;
    out->created_ms = p->created_ms;
}

/* A status for a failed lookup: NOT_FOUND with a message, or a local
 * error that aborts the command. */
static int lookup_failed(struct fsm_res *res, int rv, const char *name)
{
    if (rv == QM_NOT_FOUND) {
        fsm__res_fail(res, QM_NOT_FOUND, "no pool named '%s'", name);
        return QM_OK;
    }
    if (rv == QM_INVALID) {
        fsm__res_fail(res, QM_INVALID, "'%s' is not a valid pool name", name);
        return QM_OK;
    }
    return rv;
}

int fsm__pool_create(struct fsm_ctx *c,
                     const union tp_args *a,
                     struct fsm_res *res)
{
    const struct tp_pool_create *pc = &a->pool_create;
    struct pool_rec p;
    int rv = pool_load(c, pc->name, &p);
    if (rv == QM_OK) {
        fsm__res_fail(res, QM_EXISTS, "pool '%s' already exists", pc->name);
        return QM_OK;
    }
    if (rv != QM_NOT_FOUND) {
        return lookup_failed(res, rv, pc->name);
    }
    MDB_stat st;
    int rc = mdb_stat(c->txn, c->f->dbi[FSM_DB_POOLS], &st);
    if (rc != MDB_SUCCESS) {
        return fsm__err_from_mdb(rc);
    }
    if (st.ms_entries >= QM_POOLS_MAX) {
        fsm__res_fail(res, QM_INVALID,
                      "the cluster holds %d pools, the most it allows",
                      QM_POOLS_MAX);
        return QM_OK;
    }
    memset(&p, 0, sizeof(p));
    p.capacity = pc->capacity;
    p.refill = pc->refill;
    p.price = pc->price;
    snprintf(p.kind, sizeof(p.kind), "shared");
    p.tokens = pc->capacity;
    p.last_ms = c->now;
    p.created_ms = c->now;
    return pool_store(c, pc->name, &p);
}

int fsm__pool_delete(struct fsm_ctx *c,
                     const union tp_args *a,
                     struct fsm_res *res)
{
    const char *name = a->pool_name.name;
    if (!qm_valid_name(name, strlen(name))) {
        return lookup_failed(res, QM_INVALID, name);
    }
    MDB_val k = {strlen(name), (void *)name};
    int rc = mdb_del(c->txn, c->f->dbi[FSM_DB_POOLS], &k, NULL);
    if (rc == MDB_NOTFOUND) {
        fsm__res_fail(res, QM_NOT_FOUND, "no pool named '%s'", name);
        return QM_OK;
    }
    return fsm__err_from_mdb(rc);
}

int fsm__pool_acquire(struct fsm_ctx *c,
                      const union tp_args *a,
                      struct fsm_res *res)
{
    const struct tp_acquire *aq = &a->acquire;
    struct pool_rec p;
    int rv = pool_load(c, aq->pool, &p);
    if (rv != QM_OK) {
        return lookup_failed(res, rv, aq->pool);
    }
    if (aq->amount > p.capacity) {
        fsm__res_fail(res, QM_INVALID,
                      "pool '%s' holds at most %lld.%03lld units; asked for "
                      "%lld.%03lld",
                      aq->pool, (long long)(p.capacity / 1000),
                      (long long)(p.capacity % 1000),
                      (long long)(aq->amount / 1000),
                      (long long)(aq->amount % 1000));
        return QM_OK;
    }
    struct fsm_bucket b;
    bucket_of(&p, &b);
    fsm_bucket_advance(&b, c->now);
    struct tp_acquire_result *out = &res->body.acquire;
    memset(out, 0, sizeof(*out));
    if (!fsm_bucket_take(&b, aq->amount)) {
        int64_t wait = fsm_bucket_wait_ms(&b, aq->amount);
        if (wait < 0) {
            fsm__res_fail(res, QM_DENIED,
                          "pool '%s' has too few tokens and no refill",
                          aq->pool);
        } else {
            fsm__res_fail(res, QM_DENIED, "pool '%s' has too few tokens",
                          aq->pool);
            res->retry_after_ms = wait;
            out->retry_after_ms = wait;
        }
        out->tokens = b.tokens;
        res->body_schema = &tp_acquire_result_schema;
        return QM_OK;
    }
    p.tokens = b.tokens;
    p.carry = b.carry;
    p.last_ms = b.last_ms;
    rv = pool_store(c, aq->pool, &p);
    if (rv != QM_OK) {
        return rv;
    }
    out->granted = true;
    out->tokens = b.tokens;
    res->body_schema = &tp_acquire_result_schema;
    return QM_OK;
}

int fsm__pool_get(struct fsm_ctx *c,
                  const union tp_args *a,
                  struct fsm_res *res)
{
    const char *name = a->pool_name.name;
    struct pool_rec p;
    int rv = pool_load(c, name, &p);
    if (rv != QM_OK) {
        return lookup_failed(res, rv, name);
    }
    info_of(name, &p, c->now, &res->body.pool);
    res->body_schema = &tp_pool_info_schema;
    return QM_OK;
}

int fsm__pool_list(struct fsm_ctx *c,
                   const union tp_args *a,
                   struct fsm_res *res)
{
    const struct tp_list_args *la = &a->list;
    uint64_t limit = la->limit == 0 ? QM_PAGE_MAX : la->limit;
    struct tp_pool_page *page = &res->body.page;
    page->npools = 0;
    page->more = false;
    res->body_schema = &tp_pool_page_schema;

    MDB_cursor *cur;
    int rc = mdb_cursor_open(c->txn, c->f->dbi[FSM_DB_POOLS], &cur);
    if (rc != MDB_SUCCESS) {
        return fsm__err_from_mdb(rc);
    }
    size_t alen = strlen(la->after);
    MDB_val k = {alen, (void *)la->after};
    MDB_val v;
    rc = alen == 0 ? mdb_cursor_get(cur, &k, &v, MDB_FIRST)
                   : mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (rc == MDB_SUCCESS && alen > 0 && k.mv_size == alen &&
        memcmp(k.mv_data, la->after, alen) == 0) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    int rv = QM_OK;
    for (; rc == MDB_SUCCESS; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (page->npools == limit) {
            page->more = true;
            break;
        }
        char name[QM_NAME_MAX + 1];
        struct pool_rec p;
        char err[QM_ERRMSG_SIZE];
        if (k.mv_size > QM_NAME_MAX || qm_decode(&pool_rec_schema, v.mv_data,
                                                 v.mv_size, &p, err) != QM_OK) {
            rv = QM_ECORRUPT;
            break;
        }
        memcpy(name, k.mv_data, k.mv_size);
        name[k.mv_size] = '\0';
        info_of(name, &p, c->now, &page->pools[page->npools++]);
    }
    mdb_cursor_close(cur);
    if (rv == QM_OK && rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        rv = fsm__err_from_mdb(rc);
    }
    return rv;
}
