/* Reservations: reserve amounts from one or several pools for a client,
 * all or nothing, for a lease; commit charges what was used and gives the
 * rest back; release gives everything back; a lease that runs out is
 * released by TICK. The estimated cost of open reservations is held
 * against the client's budget until they settle. */
#include <stdio.h>
#include <string.h>

#include "fsm_client.h"
#include "fsm_money.h"
#include "fsm_pool.h"
#include "qm_err.h"

struct res_line
{
    char pool[QM_NAME_MAX + 1];
    int64_t amount;
    int64_t price; /* fixed when reserved */
};

struct res_rec
{
    char client[QM_NAME_MAX + 1];
    int64_t estimate;
    int64_t created_ms;
    int64_t expires_ms;
    uint32_t nlines;
    struct res_line lines[QM_RES_POOLS_MAX];
};

static const struct qm_field line_fields[] = {
    QM_STR(struct res_line, 0, pool, QM_FF_REQ | QM_FF_NAME),
    QM_I64(struct res_line, 1, amount, 0, 0, QM_TOKENS_MAX),
    QM_I64(struct res_line, 2, price, 0, 0, QM_PRICE_MAX),
};
static QM_SCHEMA(line_schema, struct res_line, line_fields);

static const struct qm_field rec_fields[] = {
    QM_STR(struct res_rec, 0, client, QM_FF_REQ | QM_FF_NAME),
    QM_I64(struct res_rec, 1, estimate, 0, 0, INT64_MAX),
    QM_I64(struct res_rec, 2, created_ms, 0, 0, QM_TIME_MAX),
    QM_I64(struct res_rec, 3, expires_ms, 0, 0, QM_TIME_MAX),
    QM_LIST(struct res_rec, 4, lines, nlines, line_schema, 0),
};
static QM_SCHEMA(rec_schema, struct res_rec, rec_fields);

static int rec_load(struct fsm_ctx *c, uint64_t id, struct res_rec *r)
{
    uint8_t k[8];
    fsm__be64_put(k, id);
    return fsm__get_rec(c, FSM_DB_RES, k, sizeof(k), &rec_schema, r);
}

static int not_found(struct fsm_res *res, int rv, uint64_t id)
{
    if (rv == QM_NOT_FOUND) {
        fsm__res_fail(res, QM_NOT_FOUND,
                      "no open reservation r%llu (committed, released or "
                      "expired)",
                      (unsigned long long)id);
        return QM_OK;
    }
    return rv;
}

/* ---- reserve ---- */

/* The pools of a reservation, loaded and brought to now. */
struct res_pools
{
    uint32_t n;
    struct fsm_pool p[QM_RES_POOLS_MAX];
};

static bool bad_amounts(const struct tp_reserve *r, struct fsm_res *res)
{
    if (r->namounts == 0) {
        fsm__res_fail(res, QM_INVALID, "name at least one POOL=AMOUNT");
        return true;
    }
    for (uint32_t i = 0; i < r->namounts; i++) {
        if (r->amounts[i].amount <= 0) {
            fsm__res_fail(res, QM_INVALID, "the amount of %s must be above 0",
                          r->amounts[i].pool);
            return true;
        }
        for (uint32_t k = 0; k < i; k++) {
            if (strcmp(r->amounts[k].pool, r->amounts[i].pool) == 0) {
                fsm__res_fail(res, QM_INVALID, "pool %s is named twice",
                              r->amounts[i].pool);
                return true;
            }
        }
    }
    return false;
}

enum verdict {
    POOLS_OK = 0,
    POOLS_REFUSED, /* final: unknown pool, dedicated, too large */
    POOLS_SHORT,   /* DENIED with the longest wait, unless the budget
                      refuses first */
};

/* Load every pool and bring it to now; set @res on refusal. */
static int load_pools(struct fsm_ctx *c,
                      const struct tp_reserve *r,
                      const struct fsm_who *who,
                      struct res_pools *ps,
                      struct fsm_res *res,
                      int *verdict)
{
    *verdict = POOLS_OK;
    ps->n = r->namounts;
    for (uint32_t i = 0; i < r->namounts; i++) {
        int rv = fsm__pool_load(c, r->amounts[i].pool, &ps->p[i]);
        if (rv != QM_OK) {
            *verdict = POOLS_REFUSED;
            return fsm__lookup_failed(res, rv, "pool", r->amounts[i].pool);
        }
        fsm_pool_advance(&ps->p[i], c->now);
    }
    int64_t wait = 0;
    bool never = false; /* a short pool without refill */
    for (uint32_t i = 0; i < r->namounts; i++) {
        const struct fsm_pool *p = &ps->p[i];
        int64_t want = r->amounts[i].amount;
        if (!fsm_pool_refuse(r->amounts[i].pool, p, who, want, res)) {
            continue;
        }
        bool shortage = res->status == QM_DENIED && fsm_pool_allowed(p, who);
        if (!shortage) {
            *verdict = POOLS_REFUSED;
            return QM_OK;
        }
        never = never || res->retry_after_ms == 0;
        wait = res->retry_after_ms > wait ? res->retry_after_ms : wait;
        *verdict = POOLS_SHORT;
    }
    if (*verdict == POOLS_SHORT) {
        res->retry_after_ms = never ? 0 : wait;
    }
    return QM_OK;
}

static int64_t estimate_of(const struct tp_reserve *r,
                           const struct res_pools *ps)
{
    int64_t sum = 0;
    for (uint32_t i = 0; i < r->namounts; i++) {
        sum =
            fsm_money_add(sum, fsm_cost(r->amounts[i].amount, ps->p[i].price));
    }
    return sum;
}

/* Concurrency limits: the tier's per client, the cluster's in all. */
static int over_limits(struct fsm_ctx *c,
                       const char *id,
                       const struct fsm_client *cl,
                       struct fsm_res *res,
                       bool *over)
{
    struct tp_tier_info t;
    MDB_stat st;
    int rv = fsm__tier_load(c, cl->tier, &t);
    if (rv != QM_OK) {
        return rv;
    }
    int rc = mdb_stat(c->txn, c->f->dbi[FSM_DB_RES], &st);
    if (rc != MDB_SUCCESS) {
        return fsm__err_from_mdb(rc);
    }
    *over = true;
    if (cl->open >= (uint64_t)t.max_concurrent) {
        fsm__res_fail(res, QM_DENIED,
                      "client '%s' holds %llu open reservations, the most "
                      "the %s tier allows",
                      id, (unsigned long long)cl->open,
                      fsm_tier_name(cl->tier));
    } else if (st.ms_entries >= QM_RESERVATIONS_MAX) {
        fsm__res_fail(res, QM_DENIED,
                      "the cluster holds %d open reservations, the most it "
                      "allows",
                      QM_RESERVATIONS_MAX);
    } else {
        *over = false;
    }
    return QM_OK;
}

/* Take the amounts, store the pools and the reservation. */
static int hold(struct fsm_ctx *c,
                const struct tp_reserve *r,
                const struct fsm_who *who,
                struct res_pools *ps,
                struct res_rec *rec,
                uint64_t *id)
{
    int rv = fsm__next_id(c, "next_res", id);
    for (uint32_t i = 0; i < r->namounts && rv == QM_OK; i++) {
        fsm_pool_take(&ps->p[i], who, r->amounts[i].amount);
        rv = fsm__pool_store(c, r->amounts[i].pool, &ps->p[i]);
        struct res_line *l = &rec->lines[i];
        memcpy(l->pool, r->amounts[i].pool, sizeof(l->pool));
        l->amount = r->amounts[i].amount;
        l->price = ps->p[i].price;
    }
    rec->nlines = r->namounts;
    uint8_t k[8];
    fsm__be64_put(k, *id);
    if (rv == QM_OK) {
        rv = fsm__put_rec(c, FSM_DB_RES, k, sizeof(k), &rec_schema, rec);
    }
    if (rv == QM_OK) {
        rv = fsm__exp_put(c, FSM_DB_RES_EXP, rec->expires_ms, *id, true);
    }
    return rv;
}

int fsm__reserve(struct fsm_ctx *c, const union tp_args *a, struct fsm_res *res)
{
    const struct tp_reserve *r = &a->reserve;
    struct fsm_client cl;
    struct res_pools ps;
    bool stop, fits;
    int verdict;
    if (bad_amounts(r, res)) {
        return QM_OK;
    }
    int rv = fsm__client_load(c, r->client, &cl);
    if (rv != QM_OK) {
        return fsm__lookup_failed(res, rv, "client", r->client);
    }
    struct fsm_who who = {r->client, cl.tier};
    rv = over_limits(c, r->client, &cl, res, &stop);
    if (rv != QM_OK || stop) {
        return rv;
    }
    rv = load_pools(c, r, &who, &ps, res, &verdict);
    if (rv != QM_OK || verdict == POOLS_REFUSED) {
        return rv;
    }
    int64_t estimate = estimate_of(r, &ps);
    rv = fsm__budget_check(c, r->client, &cl, estimate, res, &fits);
    if (rv != QM_OK || !fits) {
        return rv;
    }
    struct tp_reserve_result *out = &res->body.reserve;
    memset(out, 0, sizeof(*out));
    res->body_schema = &tp_reserve_result_schema;
    if (verdict == POOLS_SHORT) {
        out->retry_after_ms = res->retry_after_ms;
        return QM_OK;
    }
    struct res_rec rec;
    memset(&rec, 0, sizeof(rec));
    memcpy(rec.client, r->client, sizeof(rec.client));
    rec.estimate = estimate;
    rec.created_ms = c->now;
    rec.expires_ms = c->now + (r->ttl_ms > 0 ? r->ttl_ms : QM_RES_TTL_MS);
    if (rec.expires_ms > QM_TIME_MAX) {
        /* Past it the record would not decode again (cluster time stops
         * there too: fsm_apply). */
        rec.expires_ms = QM_TIME_MAX;
    }
    rv = hold(c, r, &who, &ps, &rec, &out->id);
    if (rv != QM_OK) {
        return rv;
    }
    cl.open++;
    cl.reserved = fsm_money_add(cl.reserved, estimate);
    rv = fsm__client_store(c, r->client, &cl);
    for (uint32_t i = 0; i < r->namounts && rv == QM_OK; i++) {
        rv = fsm__pool_low_alert(c, r->amounts[i].pool, &ps.p[i]);
    }
    out->expires_at_ms = rec.expires_ms;
    out->estimate = estimate;
    return rv;
}

/* ---- settle: commit, release, expiry ---- */

/* Give back what was not used, charge what was, forget the reservation.
 * @used has one amount per line. */
static int settle(struct fsm_ctx *c,
                  uint64_t id,
                  const struct res_rec *r,
                  const int64_t *used,
                  int64_t *cost)
{
    struct fsm_client cl;
    int rv = fsm__client_load(c, r->client, &cl);
    if (rv != QM_OK) {
        return rv == QM_NOT_FOUND ? QM_ECORRUPT : rv;
    }
    struct fsm_who who = {r->client, cl.tier};
    *cost = 0;
    for (uint32_t i = 0; i < r->nlines && rv == QM_OK; i++) {
        const struct res_line *l = &r->lines[i];
        int64_t line_cost = fsm_cost(used[i], l->price);
        *cost = fsm_money_add(*cost, line_cost);
        struct fsm_pool p;
        if (used[i] < l->amount &&
            (rv = fsm__pool_load(c, l->pool, &p)) == QM_OK) {
            fsm_pool_advance(&p, c->now);
            fsm_pool_give(&p, &who, l->amount - used[i]);
            rv = fsm__pool_store(c, l->pool, &p);
        }
        if (rv == QM_NOT_FOUND) {
            rv = QM_OK; /* the pool was deleted meanwhile */
        }
        if (rv == QM_OK && used[i] > 0) {
            rv = fsm__charge(c, r->client, l->pool, used[i], line_cost);
        }
    }
    cl.open = cl.open > 0 ? cl.open - 1 : 0;
    cl.reserved = cl.reserved > r->estimate ? cl.reserved - r->estimate : 0;
    uint8_t k[8], e[16];
    fsm__be64_put(k, id);
    fsm__exp_key(e, r->expires_ms, id);
    MDB_val kv = {sizeof(k), k}, ev = {sizeof(e), e};
    if (rv == QM_OK) {
        rv = fsm__client_store(c, r->client, &cl);
    }
    if (rv == QM_OK) {
        rv = fsm__err_from_mdb(
            mdb_del(c->txn, c->f->dbi[FSM_DB_RES], &kv, NULL));
    }
    if (rv == QM_OK) {
        rv = fsm__err_from_mdb(
            mdb_del(c->txn, c->f->dbi[FSM_DB_RES_EXP], &ev, NULL));
    }
    if (rv == QM_OK && *cost > 0) {
        rv = fsm__budget_alerts(c, r->client, &cl);
    }
    return rv;
}

/* The used amount of each line from a commit's arguments; false with @res
 * set when they do not fit the reservation. */
static bool used_of(const struct tp_commit *cm,
                    const struct res_rec *r,
                    int64_t *used,
                    struct fsm_res *res)
{
    for (uint32_t i = 0; i < r->nlines; i++) {
        used[i] = r->lines[i].amount;
    }
    if (cm->has_used_one) {
        if (cm->nused > 0 || r->nlines != 1) {
            fsm__res_fail(res, QM_INVALID,
                          "a single used amount fits a one-pool reservation; "
                          "r%llu has %u pools: give POOL=USED for each",
                          (unsigned long long)cm->id, r->nlines);
            return false;
        }
        used[0] = cm->used_one;
    } else if (cm->nused > 0) {
        if (cm->nused != r->nlines) {
            fsm__res_fail(res, QM_INVALID,
                          "r%llu holds %u pools: give POOL=USED for each",
                          (unsigned long long)cm->id, r->nlines);
            return false;
        }
        for (uint32_t i = 0; i < r->nlines; i++) {
            uint32_t k = 0;
            while (k < cm->nused &&
                   strcmp(cm->used[k].pool, r->lines[i].pool) != 0) {
                k++;
            }
            if (k == cm->nused) {
                fsm__res_fail(res, QM_INVALID, "pool %s of r%llu is missing",
                              r->lines[i].pool, (unsigned long long)cm->id);
                return false;
            }
            used[i] = cm->used[k].amount;
        }
    }
    for (uint32_t i = 0; i < r->nlines; i++) {
        if (used[i] > r->lines[i].amount) {
            fsm__res_fail(res, QM_INVALID,
                          "r%llu holds %lld.%03lld of %s; used %lld.%03lld",
                          (unsigned long long)cm->id,
                          (long long)(r->lines[i].amount / 1000),
                          (long long)(r->lines[i].amount % 1000),
                          r->lines[i].pool, (long long)(used[i] / 1000),
                          (long long)(used[i] % 1000));
            return false;
        }
    }
    return true;
}

int fsm__commit(struct fsm_ctx *c, const union tp_args *a, struct fsm_res *res)
{
    const struct tp_commit *cm = &a->commit;
    struct res_rec r;
    int64_t used[QM_RES_POOLS_MAX];
    int rv = rec_load(c, cm->id, &r);
    if (rv != QM_OK) {
        return not_found(res, rv, cm->id);
    }
    if (r.expires_ms <= c->now) {
        /* The lease ran out before the commit: release it as the next TICK
         * would, and say so. */
        int64_t none[QM_RES_POOLS_MAX] = {0}, cost;
        rv = settle(c, cm->id, &r, none, &cost);
        fsm__res_fail(res, QM_NOT_FOUND,
                      "reservation r%llu expired; its tokens went back",
                      (unsigned long long)cm->id);
        return rv;
    }
    if (!used_of(cm, &r, used, res)) {
        return QM_OK;
    }
    res->body_schema = &tp_charge_schema;
    return settle(c, cm->id, &r, used, &res->body.charge.cost);
}

int fsm__release(struct fsm_ctx *c, const union tp_args *a, struct fsm_res *res)
{
    uint64_t id = a->res_id.id;
    struct res_rec r;
    int64_t none[QM_RES_POOLS_MAX] = {0};
    int rv = rec_load(c, id, &r);
    if (rv != QM_OK) {
        return not_found(res, rv, id);
    }
    res->body_schema = &tp_charge_schema;
    return settle(c, id, &r, none, &res->body.charge.cost);
}

int fsm__res_expire(struct fsm_ctx *c)
{
    for (;;) {
        uint64_t id;
        int rv = fsm__exp_due(c, FSM_DB_RES_EXP, &id);
        if (rv != QM_OK) {
            return rv == QM_NOT_FOUND ? QM_OK : rv;
        }
        struct res_rec r;
        int64_t none[QM_RES_POOLS_MAX] = {0}, cost;
        rv = rec_load(c, id, &r);
        if (rv == QM_OK) {
            rv = settle(c, id, &r, none, &cost);
        }
        if (rv != QM_OK) {
            return rv == QM_NOT_FOUND ? QM_ECORRUPT : rv;
        }
    }
}

int64_t fsm__res_next_expiry(struct fsm *f, MDB_txn *txn)
{
    return fsm__exp_next(f, txn, FSM_DB_RES_EXP);
}

/* ---- reads ---- */

static void res_info(uint64_t id,
                     const struct res_rec *r,
                     struct tp_res_info *out)
{
    memset(out, 0, sizeof(*out));
    out->id = id;
    memcpy(out->client, r->client, sizeof(out->client));
    out->namounts = r->nlines;
    for (uint32_t i = 0; i < r->nlines; i++) {
        memcpy(out->amounts[i].pool, r->lines[i].pool,
               sizeof(out->amounts[i].pool));
        out->amounts[i].amount = r->lines[i].amount;
    }
    out->estimate = r->estimate;
    out->created_ms = r->created_ms;
    out->expires_at_ms = r->expires_ms;
}

int fsm__res_get(struct fsm_ctx *c, const union tp_args *a, struct fsm_res *res)
{
    struct res_rec r;
    int rv = rec_load(c, a->res_id.id, &r);
    if (rv != QM_OK) {
        return not_found(res, rv, a->res_id.id);
    }
    res_info(a->res_id.id, &r, &res->body.res);
    res->body_schema = &tp_res_info_schema;
    return QM_OK;
}

struct res_walk
{
    struct tp_res_page *page;
    uint64_t limit;
    const char *client;
};

static int res_one(void *arg, const MDB_val *k, const MDB_val *v, bool *stop)
{
    struct res_walk *w = arg;
    struct res_rec r;
    if (k->mv_size != 8 || fsm__decode(v, &rec_schema, &r) != QM_OK) {
        return QM_ECORRUPT;
    }
    if (w->client[0] != '\0' && strcmp(w->client, r.client) != 0) {
        return QM_OK;
    }
    if (fsm__page_full(w->page->nres, w->limit, &w->page->more, stop)) {
        return QM_OK;
    }
    res_info(fsm__be64_get(k->mv_data), &r, &w->page->res[w->page->nres++]);
    return QM_OK;
}

int fsm__res_list(struct fsm_ctx *c,
                  const union tp_args *a,
                  struct fsm_res *res)
{
    const struct tp_res_list_args *la = &a->res_list;
    struct res_walk w = {&res->body.res_page,
                         la->limit == 0 ? QM_PAGE_MAX : la->limit, la->client};
    w.page->nres = 0;
    w.page->more = false;
    res->body_schema = &tp_res_page_schema;
    return fsm__page_ids(c, FSM_DB_RES, la->after, res_one, &w);
}

int fsm__cost_estimate(struct fsm_ctx *c,
                       const union tp_args *a,
                       struct fsm_res *res)
{
    const struct tp_estimate_args *ea = &a->estimate;
    int64_t sum = 0;
    if (ea->namounts == 0) {
        fsm__res_fail(res, QM_INVALID, "name at least one POOL=AMOUNT");
        return QM_OK;
    }
    for (uint32_t i = 0; i < ea->namounts; i++) {
        struct fsm_pool p;
        int rv = fsm__pool_load(c, ea->amounts[i].pool, &p);
        if (rv != QM_OK) {
            return fsm__lookup_failed(res, rv, "pool", ea->amounts[i].pool);
        }
        sum = fsm_money_add(sum, fsm_cost(ea->amounts[i].amount, p.price));
    }
    res->body.estimate.cost = sum;
    res->body_schema = &tp_estimate_schema;
    return QM_OK;
}
