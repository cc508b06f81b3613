/* Credits: a batch of a pool's tokens taken for an agent, which answers
 * local acquisitions from it without a round trip. The tokens leave the
 * pool when granted; the agent gives back what it did not hand out, and
 * whatever is not given back before the lease ends counts as used. So the
 * pool never grants more than it holds, whatever agents do or when they
 * die. A credit is taken from the unreserved part of a pool, like an
 * acquisition without a client. */
#include <stdio.h>
#include <string.h>

#include "fsm_internal.h"
#include "fsm_pool.h"
#include "qm_err.h"

static const struct fsm_who nobody = {"", 0};

static int credit_load(struct fsm_ctx *c, uint64_t id, struct tp_credit *cr)
{
    uint8_t k[8];
    fsm__be64_put(k, id);
    return fsm__get_rec(c, FSM_DB_CREDITS, k, sizeof(k), &tp_credit_schema, cr);
}

static int credit_drop(struct fsm_ctx *c, const struct tp_credit *cr)
{
    uint8_t k[8];
    fsm__be64_put(k, cr->id);
    MDB_val kv = {sizeof(k), k};
    int rv = fsm__err_from_mdb(
        mdb_del(c->txn, c->f->dbi[FSM_DB_CREDITS], &kv, NULL));
    if (rv == QM_OK) {
        rv = fsm__exp_put(c, FSM_DB_CREDIT_EXP, cr->expires_at_ms, cr->id,
                          false);
    }
    return rv;
}

/* How much of @g the pool can give now: all, the part down to g->min, or
 * nothing (0, with the refusal in @res). */
static int64_t grantable(const struct tp_credit_grant *g,
                         const struct fsm_pool *p,
                         struct fsm_res *res)
{
    int64_t avail = fsm_pool_available(p, &nobody);
    if (avail >= g->amount) {
        return g->amount;
    }
    if (g->min > 0 && g->min <= g->amount && avail >= g->min) {
        return avail;
    }
    int64_t want = g->min > 0 ? g->min : g->amount;
    fsm_pool_refuse(g->pool, p, &nobody, want, res);
    return 0;
}

int fsm__credit_grant(struct fsm_ctx *c,
                      const union tp_args *a,
                      struct fsm_res *res)
{
    const struct tp_credit_grant *g = &a->credit_grant;
    struct tp_host_info h;
    int rv = fsm__host_load(c, g->host, &h);
    if (rv != QM_OK) {
        return fsm__lookup_failed(res, rv, "host", g->host);
    }
    struct fsm_pool p;
    rv = fsm__pool_load(c, g->pool, &p);
    if (rv != QM_OK) {
        return fsm__lookup_failed(res, rv, "pool", g->pool);
    }
    if (g->min > g->amount) {
        fsm__res_fail(res, QM_INVALID, "min must not exceed the amount");
        return QM_OK;
    }
    if (p.kind == TP_KIND_DEDICATED) {
        fsm__res_fail(res, QM_INVALID,
                      "pool '%s' is dedicated to one client; credits come "
                      "from shared or reserved pools",
                      g->pool);
        return QM_OK;
    }
    MDB_stat st;
    int rc = mdb_stat(c->txn, c->f->dbi[FSM_DB_CREDITS], &st);
    if (rc != MDB_SUCCESS) {
        return fsm__err_from_mdb(rc);
    }
    if (st.ms_entries >= QM_CREDITS_MAX) {
        fsm__res_fail(res, QM_INVALID,
                      "%d credits are outstanding, the most "
                      "the cluster allows",
                      QM_CREDITS_MAX);
        return QM_OK;
    }
    fsm_pool_advance(&p, c->now);
    struct tp_credit *cr = &res->body.credit;
    memset(cr, 0, sizeof(*cr));
    int64_t n = grantable(g, &p, res);
    if (n == 0) {
        cr->retry_after_ms = res->retry_after_ms;
        res->body_schema = res->status == QM_DENIED ? &tp_credit_schema : NULL;
        return QM_OK;
    }
    fsm_pool_take(&p, &nobody, n);
    rv = fsm__next_id(c, "next_credit", &cr->id);
    if (rv != QM_OK) {
        return rv;
    }
    memcpy(cr->host, g->host, sizeof(cr->host));
    memcpy(cr->pool, g->pool, sizeof(cr->pool));
    cr->amount = n;
    cr->expires_at_ms = c->now + (g->ttl_ms > 0 ? g->ttl_ms : QM_CREDIT_TTL_MS);
    if (cr->expires_at_ms > QM_TIME_MAX) {
        cr->expires_at_ms = QM_TIME_MAX;
    }
    uint8_t k[8];
    fsm__be64_put(k, cr->id);
    rv = fsm__pool_store(c, g->pool, &p);
    if (rv == QM_OK) {
        rv = fsm__put_rec(c, FSM_DB_CREDITS, k, sizeof(k), &tp_credit_schema,
                          cr);
    }
    if (rv == QM_OK) {
        rv =
            fsm__exp_put(c, FSM_DB_CREDIT_EXP, cr->expires_at_ms, cr->id, true);
    }
    if (rv == QM_OK) {
        rv = fsm__pool_low_alert(c, g->pool, &p);
    }
    res->body_schema = &tp_credit_schema;
    return rv;
}

int fsm__credit_return(struct fsm_ctx *c,
                       const union tp_args *a,
                       struct fsm_res *res)
{
    const struct tp_credit_return *r = &a->credit_return;
    struct tp_credit cr;
    int rv = credit_load(c, r->id, &cr);
    if (rv == QM_NOT_FOUND) {
        fsm__res_fail(res, QM_NOT_FOUND,
                      "no credit %llu (given back already, or its lease "
                      "ended and its tokens counted as used)",
                      (unsigned long long)r->id);
        return QM_OK;
    }
    if (rv != QM_OK) {
        return rv;
    }
    int64_t back = r->unused < cr.amount ? r->unused : cr.amount;
    struct fsm_pool p;
    rv = fsm__pool_load(c, cr.pool, &p);
    if (rv == QM_OK) {
        /* Tokens above the capacity are dropped, as a refill would. */
        fsm_pool_advance(&p, c->now);
        fsm_pool_give(&p, &nobody, back);
        rv = fsm__pool_store(c, cr.pool, &p);
    } else if (rv == QM_NOT_FOUND) {
        rv = QM_OK; /* the pool was deleted meanwhile */
    }
    if (rv == QM_OK) {
        rv = credit_drop(c, &cr);
    }
    res->body.returned.returned = back;
    res->body_schema = &tp_credit_returned_schema;
    return rv;
}

int fsm__credit_expire(struct fsm_ctx *c)
{
    for (;;) {
        uint64_t id;
        int rv = fsm__exp_due(c, FSM_DB_CREDIT_EXP, &id);
        if (rv != QM_OK) {
            return rv == QM_NOT_FOUND ? QM_OK : rv;
        }
        struct tp_credit cr;
        rv = credit_load(c, id, &cr);
        if (rv != QM_OK) {
            return rv == QM_NOT_FOUND ? QM_ECORRUPT : rv;
        }
        rv = credit_drop(c, &cr);
        if (rv != QM_OK) {
            return rv;
        }
    }
}

int64_t fsm__credit_next_expiry(struct fsm *f, MDB_txn *txn)
{
    return fsm__exp_next(f, txn, FSM_DB_CREDIT_EXP);
}

struct credit_walk
{
    struct tp_credit_page *page;
    uint64_t limit;
    const char *host;
};

static int credit_one(void *arg, const MDB_val *k, const MDB_val *v, bool *stop)
{
    (void)k;
    struct credit_walk *w = arg;
    struct tp_credit cr;
    int rv = fsm__decode(v, &tp_credit_schema, &cr);
    if (rv != QM_OK || (w->host[0] != '\0' && strcmp(cr.host, w->host) != 0)) {
        return rv;
    }
    if (fsm__page_full(w->page->ncredits, w->limit, &w->page->more, stop)) {
        return QM_OK;
    }
    w->page->credits[w->page->ncredits++] = cr;
    return QM_OK;
}

int fsm__credit_list(struct fsm_ctx *c,
                     const union tp_args *a,
                     struct fsm_res *res)
{
    const struct tp_credit_list_args *la = &a->credit_list;
    struct credit_walk w = {&res->body.credits,
                            la->limit == 0 ? QM_PAGE_MAX : la->limit, la->host};
    w.page->ncredits = 0;
    w.page->more = false;
    res->body_schema = &tp_credit_page_schema;
    return fsm__page_ids(c, FSM_DB_CREDITS, la->after, credit_one, &w);
}
