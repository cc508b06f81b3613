/* Pool commands: create, delete, acquire (alone, or reserve-and-commit in
 * one step for a client); reads: get, list. */
#include <stdio.h>
#include <string.h>

#include "fsm_client.h"
#include "fsm_money.h"
#include "fsm_pool.h"
#include "qm_err.h"

/* Check the kind, owner and shares of a new pool; false with @res set. */
static bool valid_layout(struct fsm_ctx *c,
                         const struct tp_pool_create *pc,
                         struct fsm_res *res,
                         int *rv)
{
    struct fsm_client cl;
    uint64_t kind = pc->kind == 0 ? TP_KIND_SHARED : pc->kind;
    *rv = QM_OK;
    if ((kind == TP_KIND_DEDICATED) != (pc->owner[0] != '\0')) {
        fsm__res_fail(res, QM_INVALID,
                      "a dedicated pool needs an owner, and only it has one");
        return false;
    }
    if ((kind == TP_KIND_RESERVED) != (pc->nshares > 0)) {
        fsm__res_fail(res, QM_INVALID,
                      "a reserved pool needs shares, and only it has them");
        return false;
    }
    if (kind == TP_KIND_DEDICATED) {
        *rv = fsm__client_load(c, pc->owner, &cl);
        if (*rv != QM_OK) {
            *rv = fsm__lookup_failed(res, *rv, "client", pc->owner);
            return false;
        }
    }
    int64_t sum = 0;
    for (uint32_t i = 0; i < pc->nshares; i++) {
        const struct tp_share *s = &pc->shares[i];
        if ((s->tier != 0) == (s->client[0] != '\0')) {
            fsm__res_fail(res, QM_INVALID,
                          "share %u must name a tier or a client", i + 1);
            return false;
        }
        for (uint32_t k = 0; k < i; k++) {
            if (pc->shares[k].tier == s->tier &&
                strcmp(pc->shares[k].client, s->client) == 0) {
                fsm__res_fail(res, QM_INVALID, "share %u is given twice",
                              i + 1);
                return false;
            }
        }
        if (s->client[0] != '\0') {
            *rv = fsm__client_load(c, s->client, &cl);
            if (*rv != QM_OK) {
                *rv = fsm__lookup_failed(res, *rv, "client", s->client);
                return false;
            }
        }
        sum += s->amount;
    }
    if (sum > pc->capacity) {
        fsm__res_fail(res, QM_INVALID,
                      "the shares hold more than the pool's capacity");
        return false;
    }
    return true;
}

int fsm__pool_create(struct fsm_ctx *c,
                     const union tp_args *a,
                     struct fsm_res *res)
{
    const struct tp_pool_create *pc = &a->pool_create;
    struct fsm_pool p;
    int rv = fsm__pool_load(c, pc->name, &p);
    if (rv == QM_OK) {
        fsm__res_fail(res, QM_EXISTS, "pool '%s' already exists", pc->name);
        return QM_OK;
    }
    if (rv != QM_NOT_FOUND) {
        return fsm__lookup_failed(res, rv, "pool", pc->name);
    }
    if (!valid_layout(c, pc, res, &rv)) {
        return rv;
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
    p.kind = pc->kind == 0 ? TP_KIND_SHARED : pc->kind;
    memcpy(p.owner, pc->owner, sizeof(p.owner));
    p.tokens = pc->capacity;
    p.nshares = pc->nshares;
    for (uint32_t i = 0; i < pc->nshares; i++) {
        struct fsm_share *s = &p.shares[i];
        s->tier = pc->shares[i].tier;
        memcpy(s->client, pc->shares[i].client, sizeof(s->client));
        s->capacity = s->tokens = pc->shares[i].amount;
        p.tokens -= s->capacity;
    }
    p.last_ms = p.created_ms = c->now;
    return fsm__pool_store(c, pc->name, &p);
}

int fsm__pool_delete(struct fsm_ctx *c,
                     const union tp_args *a,
                     struct fsm_res *res)
{
    const char *name = a->pool_name.name;
    if (!qm_valid_name(name, strlen(name))) {
        return fsm__lookup_failed(res, QM_INVALID, "pool", name);
    }
    MDB_val k = {strlen(name), (void *)name};
    int rc = mdb_del(c->txn, c->f->dbi[FSM_DB_POOLS], &k, NULL);
    if (rc == MDB_NOTFOUND) {
        return fsm__lookup_failed(res, QM_NOT_FOUND, "pool", name);
    }
    return fsm__err_from_mdb(rc);
}

int fsm__pool_acquire(struct fsm_ctx *c,
                      const union tp_args *a,
                      struct fsm_res *res)
{
    const struct tp_acquire *aq = &a->acquire;
    struct fsm_pool p;
    struct fsm_client cl;
    struct fsm_who who = {aq->client, 0};
    int rv = fsm__pool_load(c, aq->pool, &p);
    if (rv != QM_OK) {
        return fsm__lookup_failed(res, rv, "pool", aq->pool);
    }
    if (aq->client[0] != '\0') {
        rv = fsm__client_load(c, aq->client, &cl);
        if (rv != QM_OK) {
            return fsm__lookup_failed(res, rv, "client", aq->client);
        }
        who.tier = cl.tier;
    }
    fsm_pool_advance(&p, c->now);
    struct tp_acquire_result *out = &res->body.acquire;
    memset(out, 0, sizeof(*out));
    if (fsm_pool_refuse(aq->pool, &p, &who, aq->amount, res)) {
        out->tokens = fsm_pool_available(&p, &who);
        out->retry_after_ms = res->retry_after_ms;
        res->body_schema = &tp_acquire_result_schema;
        return QM_OK;
    }
    int64_t cost = fsm_cost(aq->amount, p.price);
    if (aq->client[0] != '\0') {
        bool ok;
        rv = fsm__budget_check(c, aq->client, &cl, cost, res, &ok);
        if (rv != QM_OK || !ok) {
            return rv;
        }
    }
    fsm_pool_take(&p, &who, aq->amount);
    rv = fsm__pool_store(c, aq->pool, &p);
    if (rv == QM_OK && aq->client[0] != '\0') {
        rv = fsm__charge(c, aq->client, aq->pool, aq->amount, cost);
        if (rv == QM_OK) {
            rv = fsm__budget_alerts(c, aq->client, &cl);
        }
    }
    if (rv == QM_OK) {
        rv = fsm__pool_low_alert(c, aq->pool, &p);
    }
    out->granted = true;
    out->tokens = fsm_pool_available(&p, &who);
    out->cost = aq->client[0] != '\0' ? cost : 0;
    res->body_schema = &tp_acquire_result_schema;
    return rv;
}

int fsm__pool_get(struct fsm_ctx *c,
                  const union tp_args *a,
                  struct fsm_res *res)
{
    const char *name = a->pool_name.name;
    struct fsm_pool p;
    int rv = fsm__pool_load(c, name, &p);
    if (rv != QM_OK) {
        return fsm__lookup_failed(res, rv, "pool", name);
    }
    fsm_pool_advance(&p, c->now);
    fsm_pool_info(name, &p, &res->body.pool);
    res->body_schema = &tp_pool_info_schema;
    return QM_OK;
}

struct pool_walk
{
    struct fsm_ctx *c;
    struct tp_pool_page *page;
    uint64_t limit;
};

static int pool_one(void *arg, const MDB_val *k, const MDB_val *v, bool *stop)
{
    (void)v;
    struct pool_walk *w = arg;
    struct tp_pool_page *page = w->page;
    if (fsm__page_full(page->npools, w->limit, &page->more, stop)) {
        return QM_OK;
    }
    char name[QM_NAME_MAX + 1];
    struct fsm_pool p;
    int rv = fsm__key_name(k, name);
    if (rv == QM_OK) {
        rv = fsm__pool_load(w->c, name, &p);
    }
    if (rv != QM_OK) {
        return rv;
    }
    fsm_pool_advance(&p, w->c->now);
    fsm_pool_info(name, &p, &page->pools[page->npools++]);
    return QM_OK;
}

int fsm__pool_list(struct fsm_ctx *c,
                   const union tp_args *a,
                   struct fsm_res *res)
{
    const struct tp_list_args *la = &a->list;
    struct pool_walk w = {c, &res->body.page,
                          la->limit == 0 ? QM_PAGE_MAX : la->limit};
    w.page->npools = 0;
    w.page->more = false;
    res->body_schema = &tp_pool_page_schema;
    return fsm__page(c, FSM_DB_POOLS, la->after, strlen(la->after), true,
                     pool_one, &w);
}
