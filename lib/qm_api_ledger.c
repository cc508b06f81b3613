/* The typed functions of qm.h for the ledger: tiers, clients,
 * reservations, usage, cost estimates and alerts. */
#include <stdio.h>
#include <string.h>

#include "qm_alloc.h"
#include "qm_api_internal.h"
#include "qm_call.h"

#define COPY_STR QM__COPY_STR

_Static_assert((int)QM_SET_PRIORITY == (int)TP_SET_PRIORITY &&
                   (int)QM_SET_MAX_CONCURRENT == (int)TP_SET_MAX_CONCURRENT &&
                   (int)QM_SET_BUDGET == (int)TP_SET_BUDGET &&
                   (int)QM_SET_TIER == (int)TP_SET_TIER,
               "update fields");
_Static_assert(sizeof(((struct tp_alert *)0)->kind) == QM_ALERT_KIND_MAX + 1 &&
                   sizeof(((struct tp_alert *)0)->severity) ==
                       QM_SEVERITY_MAX + 1,
               "alert strings");

/* ---- tiers ---- */

static int tier_arg(int tier, struct qm_result *res)
{
    if (tier < QM_TIER_ENTERPRISE || tier > QM_TIER_BASIC) {
        return qm__fail_local(res, QM_INVALID, "no tier %d", tier);
    }
    return QM_OK;
}

static void tier_out(const struct tp_tier_info *in, struct qm_tier_info *out)
{
    out->tier = (int)in->tier;
    out->priority = in->priority;
    out->max_concurrent = in->max_concurrent;
    out->custom = in->custom;
    out->budget = in->budget;
}

int qm_tier_get(struct qm_client *c,
                int tier,
                bool stale,
                struct qm_tier_info *out,
                struct qm_result *res)
{
    int rv = tier_arg(tier, res);
    if (rv != QM_OK) {
        return rv;
    }
    struct tp_tier_id ti = {(uint64_t)tier};
    struct tp_tier_info info;
    rv = qm__call_sync(c, TP_OP_TIER_GET, &tp_tier_id_schema, &ti,
                       qm__read_flags(stale), NULL, &tp_tier_info_schema, &info,
                       res);
    if (rv == QM_OK) {
        tier_out(&info, out);
    }
    return rv;
}

int qm_tier_list(struct qm_client *c,
                 bool stale,
                 struct qm_tier_info out[QM_TIERS],
                 unsigned *n,
                 struct qm_result *res)
{
    struct tp_tier_list tl;
    int rv =
        qm__call_sync(c, TP_OP_TIER_LIST, NULL, NULL, qm__read_flags(stale),
                      NULL, &tp_tier_list_schema, &tl, res);
    if (rv == QM_OK) {
        for (unsigned i = 0; i < tl.ntiers; i++) {
            tier_out(&tl.tiers[i], &out[i]);
        }
        *n = tl.ntiers;
    }
    return rv;
}

int qm_tier_set(struct qm_client *c,
                int tier,
                const struct qm_tier_update *u,
                struct qm_result *res)
{
    const unsigned fields =
        QM_SET_PRIORITY | QM_SET_MAX_CONCURRENT | QM_SET_BUDGET;
    int rv = tier_arg(tier, res);
    if (rv != QM_OK) {
        return rv;
    }
    if (u->set == 0 || (u->set & ~fields) != 0) {
        return qm__fail_local(res, QM_INVALID, "nothing to set on a tier");
    }
    struct tp_tier_set ts = {
        .tier = (uint64_t)tier,
        .set = u->set,
        .priority = u->priority,
        .max_concurrent = u->max_concurrent,
        .budget = u->custom ? 0 : u->budget,
        .custom = u->custom,
    };
    return qm__call_sync(c, TP_OP_TIER_SET, &tp_tier_set_schema, &ts, 0, NULL,
                         NULL, NULL, res);
}

/* ---- clients ---- */

int qm_client_create(struct qm_client *c,
                     const char *id,
                     int tier,
                     bool has_budget,
                     int64_t budget,
                     struct qm_result *res)
{
    struct tp_client_create cc;
    memset(&cc, 0, sizeof(cc));
    int rv = qm__name_arg(cc.id, id, false, "client id", res);
    if (rv == QM_OK) {
        rv = tier_arg(tier, res);
    }
    if (rv != QM_OK) {
        return rv;
    }
    cc.tier = (uint64_t)tier;
    cc.has_budget = has_budget;
    cc.budget = has_budget ? budget : 0;
    return qm__call_sync(c, TP_OP_CLIENT_CREATE, &tp_client_create_schema, &cc,
                         0, NULL, NULL, NULL, res);
}

int qm_client_set(struct qm_client *c,
                  const char *id,
                  const struct qm_client_update *u,
                  struct qm_result *res)
{
    struct tp_client_set cs;
    memset(&cs, 0, sizeof(cs));
    int rv = qm__name_arg(cs.id, id, false, "client id", res);
    if (rv != QM_OK) {
        return rv;
    }
    if (u->set == 0 || (u->set & ~(unsigned)(QM_SET_TIER | QM_SET_BUDGET))) {
        return qm__fail_local(res, QM_INVALID, "nothing to set on a client");
    }
    if ((u->set & QM_SET_TIER) && (rv = tier_arg(u->tier, res)) != QM_OK) {
        return rv;
    }
    cs.set = u->set;
    cs.tier = (u->set & QM_SET_TIER) ? (uint64_t)u->tier : 0;
    cs.budget_default = u->budget_default;
    cs.budget = u->budget_default ? 0 : u->budget;
    return qm__call_sync(c, TP_OP_CLIENT_SET, &tp_client_set_schema, &cs, 0,
                         NULL, NULL, NULL, res);
}

static void client_out(const void *in_, void *out_)
{
    const struct tp_client_info *in = in_;
    struct qm_client_info *out = out_;
    memset(out, 0, sizeof(*out));
    COPY_STR(out->id, in->id);
    out->tier = (int)in->tier;
    out->unlimited = in->unlimited;
    out->own_budget = in->own_budget;
    out->budget = in->budget;
    out->spent = in->spent;
    out->reserved = in->reserved;
    out->open = in->open;
    out->month = (uint32_t)in->month;
    out->created_ms = in->created_ms;
}

int qm_client_get(struct qm_client *c,
                  const char *id,
                  bool stale,
                  struct qm_client_info *out,
                  struct qm_result *res)
{
    struct tp_client_id ci;
    struct tp_client_info info;
    int rv = qm__name_arg(ci.id, id, false, "client id", res);
    if (rv != QM_OK) {
        return rv;
    }
    rv = qm__call_sync(c, TP_OP_CLIENT_GET, &tp_client_id_schema, &ci,
                       qm__read_flags(stale), NULL, &tp_client_info_schema,
                       &info, res);
    if (rv == QM_OK) {
        client_out(&info, out);
    }
    return rv;
}

int qm_client_list(struct qm_client *c,
                   const char *after,
                   bool stale,
                   struct qm_client_info *out,
                   unsigned max,
                   unsigned *n,
                   bool *more,
                   struct qm_result *res)
{
    struct qm__list_call l = {.op = TP_OP_CLIENT_LIST,
                              .page_schema = &tp_client_page_schema,
                              .out = client_out,
                              .out_size = sizeof(*out)};
    return qm__list_after(c, l, after, stale, out, max, n, more, res);
}

/* ---- reservations ---- */

unsigned qm__amounts_out(struct qm_amount *out,
                         const struct tp_amount *in,
                         uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        COPY_STR(out[i].pool, in[i].pool);
        out[i].amount = in[i].amount;
    }
    return n;
}

int qm__amounts_in(struct tp_amount *out,
                   uint32_t *nout,
                   const struct qm_amount *in,
                   unsigned n,
                   unsigned min,
                   struct qm_result *res)
{
    if (n < min || n > QM_RES_POOLS_MAX) {
        return qm__fail_local(res, QM_INVALID, "%u..%d pools, not %u", min,
                              QM_RES_POOLS_MAX, n);
    }
    for (unsigned i = 0; i < n; i++) {
        int rv = qm__name_arg(out[i].pool, in[i].pool, false, "pool name", res);
        if (rv != QM_OK) {
            return rv;
        }
        out[i].amount = in[i].amount;
    }
    *nout = (uint32_t)n;
    return QM_OK;
}

static int reserve_args(struct tp_reserve *r,
                        const char *client,
                        int64_t ttl_ms,
                        const struct qm_amount *amounts,
                        unsigned n,
                        struct qm_result *res)
{
    memset(r, 0, sizeof(*r));
    r->ttl_ms = ttl_ms;
    int rv = qm__name_arg(r->client, client, false, "client id", res);
    if (rv != QM_OK) {
        return rv;
    }
    return qm__amounts_in(r->amounts, &r->namounts, amounts, n, 1, res);
}

static void reserve_out(const struct tp_reserve_result *in,
                        struct qm_reserve *out)
{
    out->id = in->id;
    out->expires_at_ms = in->expires_at_ms;
    out->estimate = in->estimate;
    out->retry_after_ms = in->retry_after_ms;
}

int qm_reserve(struct qm_client *c,
               const char *client,
               int64_t ttl_ms,
               const struct qm_amount *amounts,
               unsigned n,
               struct qm_reserve *out,
               struct qm_result *res)
{
    struct tp_reserve r;
    struct tp_reserve_result rr;
    int rv = reserve_args(&r, client, ttl_ms, amounts, n, res);
    if (rv != QM_OK) {
        return rv;
    }
    struct qm_result local;
    struct qm_result *rs = res != NULL ? res : &local;
    rv = qm__call_sync(c, TP_OP_RESERVE, &tp_reserve_schema, &r, 0, NULL,
                       &tp_reserve_result_schema, &rr, rs);
    if (out != NULL && (rv == QM_OK || rv == QM_DENIED)) {
        reserve_out(&rr, out);
        if (out->retry_after_ms == 0) {
            out->retry_after_ms = rs->retry_after_ms;
        }
    }
    return rv;
}

static void reserve_done(qm__fn fn,
                         void *arg,
                         const struct qm_result *res,
                         const void *body)
{
    struct qm_reserve out;
    if (body != NULL) {
        reserve_out(body, &out);
    }
    ((qm_reserve_cb)fn)(arg, res, body != NULL ? &out : NULL);
}

int qm_reserve_async(struct qm_client *c,
                     const char *client,
                     int64_t ttl_ms,
                     const struct qm_amount *amounts,
                     unsigned n,
                     qm_reserve_cb cb,
                     void *arg)
{
    struct tp_reserve r;
    int rv = reserve_args(&r, client, ttl_ms, amounts, n, NULL);
    if (rv != QM_OK) {
        return rv;
    }
    return qm__call_decoded(c, TP_OP_RESERVE, &tp_reserve_schema, &r,
                            &tp_reserve_result_schema, reserve_done, (qm__fn)cb,
                            arg);
}

int qm__charge_call(struct qm_client *c,
                    uint32_t op,
                    const struct qm_schema *schema,
                    const void *args,
                    int64_t *cost,
                    struct qm_result *res)
{
    struct tp_charge ch;
    int rv = qm__call_sync(c, op, schema, args, 0, NULL, &tp_charge_schema, &ch,
                           res);
    if (rv == QM_OK && cost != NULL) {
        *cost = ch.cost;
    }
    return rv;
}

int qm_commit(struct qm_client *c,
              uint64_t id,
              const struct qm_amount *used,
              unsigned nused,
              int64_t *cost,
              struct qm_result *res)
{
    struct tp_commit cm;
    memset(&cm, 0, sizeof(cm));
    cm.id = id;
    int rv = qm__amounts_in(cm.used, &cm.nused, used, nused, 0, res);
    if (rv != QM_OK) {
        return rv;
    }
    return qm__charge_call(c, TP_OP_COMMIT, &tp_commit_schema, &cm, cost, res);
}

int qm_commit_one(struct qm_client *c,
                  uint64_t id,
                  int64_t used,
                  int64_t *cost,
                  struct qm_result *res)
{
    struct tp_commit cm;
    memset(&cm, 0, sizeof(cm));
    cm.id = id;
    cm.has_used_one = true;
    cm.used_one = used;
    return qm__charge_call(c, TP_OP_COMMIT, &tp_commit_schema, &cm, cost, res);
}

int qm_release(struct qm_client *c,
               uint64_t id,
               int64_t *cost,
               struct qm_result *res)
{
    struct tp_res_id ri = {id};
    return qm__charge_call(c, TP_OP_RELEASE, &tp_res_id_schema, &ri, cost, res);
}

void qm__charge_done(qm__fn fn,
                     void *arg,
                     const struct qm_result *res,
                     const void *body)
{
    const struct tp_charge *ch = body;
    int64_t cost = ch != NULL && res->status == QM_OK ? ch->cost : 0;
    ((qm_commit_cb)fn)(arg, res, cost);
}

int qm_commit_async(struct qm_client *c,
                    uint64_t id,
                    const struct qm_amount *used,
                    unsigned nused,
                    qm_commit_cb cb,
                    void *arg)
{
    struct tp_commit cm;
    memset(&cm, 0, sizeof(cm));
    cm.id = id;
    int rv = qm__amounts_in(cm.used, &cm.nused, used, nused, 0, NULL);
    if (rv != QM_OK) {
        return rv;
    }
    return qm__call_decoded(c, TP_OP_COMMIT, &tp_commit_schema, &cm,
                            &tp_charge_schema, qm__charge_done, (qm__fn)cb,
                            arg);
}

static void reservation_out(const void *in_, void *out_)
{
    const struct tp_res_info *in = in_;
    struct qm_reservation *out = out_;
    memset(out, 0, sizeof(*out));
    out->id = in->id;
    COPY_STR(out->client, in->client);
    out->namounts = qm__amounts_out(out->amounts, in->amounts, in->namounts);
    out->estimate = in->estimate;
    out->created_ms = in->created_ms;
    out->expires_at_ms = in->expires_at_ms;
}

int qm_reservation_get(struct qm_client *c,
                       uint64_t id,
                       bool stale,
                       struct qm_reservation *out,
                       struct qm_result *res)
{
    struct tp_res_id ri = {id};
    struct tp_res_info info;
    int rv = qm__call_sync(c, TP_OP_RESERVATION_GET, &tp_res_id_schema, &ri,
                           qm__read_flags(stale), NULL, &tp_res_info_schema,
                           &info, res);
    if (rv == QM_OK) {
        reservation_out(&info, out);
    }
    return rv;
}

int qm_reservation_list(struct qm_client *c,
                        const char *client,
                        uint64_t after_id,
                        bool stale,
                        struct qm_reservation *out,
                        unsigned max,
                        unsigned *n,
                        bool *more,
                        struct qm_result *res)
{
    struct tp_res_list_args la = {.after = after_id,
                                  .limit = qm__page_limit(max)};
    int rv = qm__name_arg(la.client, client, true, "client id", res);
    if (rv != QM_OK) {
        return rv;
    }
    struct qm__list_call l = {TP_OP_RESERVATION_LIST,
                              &tp_res_list_args_schema,
                              &la,
                              qm__read_flags(stale),
                              &tp_res_page_schema,
                              reservation_out,
                              sizeof(*out)};
    return qm__list_run(c, &l, out, max, n, more, res);
}

/* ---- usage, estimates, alerts ---- */

int qm_usage(struct qm_client *c,
             const char *client,
             uint32_t month,
             const char *after_pool,
             bool stale,
             struct qm_usage *out,
             struct qm_pool_usage *pools,
             unsigned max,
             unsigned *n,
             bool *more,
             struct qm_result *res)
{
    struct tp_usage_args ua = {.month = month, .limit = qm__page_limit(max)};
    int rv = qm__name_arg(ua.client, client, false, "client id", res);
    if (rv == QM_OK) {
        rv = qm__name_arg(ua.after, after_pool, true, "list start", res);
    }
    struct tp_usage *u = rv == QM_OK ? qm__page_alloc(sizeof(*u), res) : NULL;
    if (u == NULL) {
        return rv != QM_OK ? rv : QM_ENOMEM;
    }
    rv = qm__call_sync(c, TP_OP_USAGE, &tp_usage_args_schema, &ua,
                       qm__read_flags(stale), NULL, &tp_usage_schema, u, res);
    if (rv == QM_OK) {
        memset(out, 0, sizeof(*out));
        COPY_STR(out->client, u->client);
        out->month = (uint32_t)u->month;
        out->spent = u->spent;
        unsigned k = qm__page_take(u->npools, u->more, max, n, more);
        for (unsigned i = 0; i < k; i++) {
            COPY_STR(pools[i].pool, u->pools[i].pool);
            pools[i].units = u->pools[i].units;
            pools[i].cost = u->pools[i].cost;
        }
    }
    qm_free(u);
    return rv;
}

int qm_cost_estimate(struct qm_client *c,
                     const struct qm_amount *amounts,
                     unsigned n,
                     bool stale,
                     int64_t *cost,
                     struct qm_result *res)
{
    struct tp_estimate_args ea;
    struct tp_estimate e;
    memset(&ea, 0, sizeof(ea));
    int rv = qm__amounts_in(ea.amounts, &ea.namounts, amounts, n, 1, res);
    if (rv != QM_OK) {
        return rv;
    }
    rv = qm__call_sync(c, TP_OP_COST_ESTIMATE, &tp_estimate_args_schema, &ea,
                       qm__read_flags(stale), NULL, &tp_estimate_schema, &e,
                       res);
    if (rv == QM_OK) {
        *cost = e.cost;
    }
    return rv;
}

static void alert_out(const void *in_, void *out_)
{
    const struct tp_alert *in = in_;
    struct qm_alert *out = out_;
    memset(out, 0, sizeof(*out));
    out->id = in->id;
    COPY_STR(out->kind, in->kind);
    COPY_STR(out->subject, in->subject);
    COPY_STR(out->severity, in->severity);
    out->at_ms = in->at_ms;
    COPY_STR(out->message, in->message);
}

int qm_alert_list(struct qm_client *c,
                  uint64_t after_id,
                  bool stale,
                  struct qm_alert *out,
                  unsigned max,
                  unsigned *n,
                  bool *more,
                  struct qm_result *res)
{
    struct tp_alert_args aa = {after_id, qm__page_limit(max)};
    struct qm__list_call l = {
        TP_OP_ALERT_LIST,      &tp_alert_args_schema, &aa,
        qm__read_flags(stale), &tp_alert_page_schema, alert_out,
        sizeof(*out)};
    return qm__list_run(c, &l, out, max, n, more, res);
}
