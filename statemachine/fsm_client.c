#include "fsm_client.h"

#include <stdio.h>
#include <string.h>

#include "fsm_money.h"
#include "qm_err.h"

static const struct qm_field client_fields[] = {
    QM_U64(struct fsm_client, 0, tier, QM_FF_REQ, 1, TP_TIERS),
    QM_BOOL(struct fsm_client, 1, has_budget, 0),
    QM_I64(struct fsm_client, 2, budget, 0, 0, QM_MONEY_MAX),
    QM_I64(struct fsm_client, 3, reserved, 0, 0, INT64_MAX),
    QM_U64(struct fsm_client, 4, open, 0, 0, QM_RESERVATIONS_MAX),
    QM_I64(struct fsm_client, 5, created_ms, 0, 0, QM_TIME_MAX),
};
static QM_SCHEMA(client_schema, struct fsm_client, client_fields);

/* Seed 004: priority points, max concurrent reservations, monthly budget
 * (enterprise: custom). */
static const struct tp_tier_info tier_defaults[TP_TIERS + 1] = {
    [TP_TIER_ENTERPRISE] = {TP_TIER_ENTERPRISE, 40, 100, 0, true},
    [TP_TIER_PREMIUM] = {TP_TIER_PREMIUM, 30, 50, 1000 * QM_MICRO, false},
    [TP_TIER_STANDARD] = {TP_TIER_STANDARD, 20, 20, 500 * QM_MICRO, false},
    [TP_TIER_BASIC] = {TP_TIER_BASIC, 10, 5, 100 * QM_MICRO, false},
};

static const char *const tier_names[TP_TIERS + 1] = {
    "", "enterprise", "premium", "standard", "basic",
};

const char *fsm_tier_name(uint64_t tier)
{
    return tier >= 1 && tier <= TP_TIERS ? tier_names[tier] : "?";
}

int fsm__tier_load(struct fsm_ctx *c, uint64_t tier, struct tp_tier_info *out)
{
    if (tier < 1 || tier > TP_TIERS) {
        return QM_INVALID;
    }
    uint8_t key = (uint8_t)tier;
    int rv = fsm__get_rec(c, FSM_DB_TIERS, &key, 1, &tp_tier_info_schema, out);
    if (rv == QM_NOT_FOUND) {
        *out = tier_defaults[tier];
        return QM_OK;
    }
    return rv;
}

int fsm__client_load(struct fsm_ctx *c, const char *id, struct fsm_client *out)
{
    size_t n = strlen(id);
    if (!qm_valid_name(id, n)) {
        return QM_INVALID;
    }
    return fsm__get_rec(c, FSM_DB_CLIENTS, id, n, &client_schema, out);
}

int fsm__client_store(struct fsm_ctx *c,
                      const char *id,
                      const struct fsm_client *cl)
{
    return fsm__put_rec(c, FSM_DB_CLIENTS, id, strlen(id), &client_schema, cl);
}

int fsm__budget_of(struct fsm_ctx *c,
                   const struct fsm_client *cl,
                   struct fsm_budget *out)
{
    if (cl->has_budget) {
        out->unlimited = false;
        out->budget = cl->budget;
        return QM_OK;
    }
    struct tp_tier_info t;
    int rv = fsm__tier_load(c, cl->tier, &t);
    if (rv == QM_OK) {
        out->unlimited = t.custom;
        out->budget = t.custom ? 0 : t.budget;
    }
    return rv;
}

/* client \0 be32 month [pool] */
size_t fsm__usage_key(uint8_t *k,
                      const char *id,
                      uint32_t month,
                      const char *pool)
{
    size_t n = strlen(id);
    memcpy(k, id, n);
    k[n++] = 0;
    k[n++] = (uint8_t)(month >> 24);
    k[n++] = (uint8_t)(month >> 16);
    k[n++] = (uint8_t)(month >> 8);
    k[n++] = (uint8_t)month;
    if (pool != NULL) {
        size_t p = strlen(pool);
        memcpy(k + n, pool, p);
        n += p;
    }
    return n;
}

/* Add to the {units, cost} line under @key. */
static int add_line(struct fsm_ctx *c,
                    const uint8_t *key,
                    size_t klen,
                    int64_t units,
                    int64_t cost)
{
    MDB_val v;
    uint64_t u = 0, m = 0;
    int rv = fsm__get(c, FSM_DB_USAGE, key, klen, &v);
    if (rv == QM_OK && v.mv_size == 16) {
        u = fsm__be64_get(v.mv_data);
        m = fsm__be64_get((const uint8_t *)v.mv_data + 8);
    } else if (rv != QM_NOT_FOUND) {
        return rv == QM_OK ? QM_ECORRUPT : rv;
    }
    uint8_t val[16];
    fsm__be64_put(val, (uint64_t)fsm_money_add((int64_t)u, units));
    fsm__be64_put(val + 8, (uint64_t)fsm_money_add((int64_t)m, cost));
    return fsm__put(c, FSM_DB_USAGE, key, klen, val, sizeof(val));
}

int fsm__spent(struct fsm_ctx *c,
               const char *id,
               uint32_t month,
               int64_t *spent)
{
    uint8_t key[2 * QM_NAME_MAX + 8];
    size_t n = fsm__usage_key(key, id, month, NULL);
    MDB_val v;
    int rv = fsm__get(c, FSM_DB_USAGE, key, n, &v);
    if (rv == QM_NOT_FOUND) {
        *spent = 0;
        return QM_OK;
    }
    if (rv == QM_OK) {
        if (v.mv_size != 16) {
            return QM_ECORRUPT;
        }
        *spent = (int64_t)fsm__be64_get((const uint8_t *)v.mv_data + 8);
    }
    return rv;
}

int fsm__charge(struct fsm_ctx *c,
                const char *id,
                const char *pool,
                int64_t units,
                int64_t cost)
{
    uint8_t key[2 * QM_NAME_MAX + 8];
    uint32_t month = fsm_month_of(c->now);
    size_t n = fsm__usage_key(key, id, month, NULL);
    int rv = add_line(c, key, n, 0, cost);
    if (rv == QM_OK) {
        n = fsm__usage_key(key, id, month, pool);
        rv = add_line(c, key, n, units, cost);
    }
    return rv;
}

static void usd(char buf[32], int64_t micro)
{
    snprintf(buf, 32, "$%lld.%06lld", (long long)(micro / QM_MICRO),
             (long long)(micro % QM_MICRO));
}

int fsm__budget_check(struct fsm_ctx *c,
                      const char *id,
                      const struct fsm_client *cl,
                      int64_t extra,
                      struct fsm_res *res,
                      bool *ok)
{
    struct fsm_budget b;
    int64_t spent;
    int rv = fsm__budget_of(c, cl, &b);
    if (rv == QM_OK) {
        rv = fsm__spent(c, id, fsm_month_of(c->now), &spent);
    }
    if (rv != QM_OK) {
        return rv;
    }
    *ok = b.unlimited ||
          fsm_money_add(fsm_money_add(spent, cl->reserved), extra) <= b.budget;
    if (*ok) {
        return QM_OK;
    }
    char s[32], h[32], e[32], bud[32];
    usd(s, spent);
    usd(h, cl->reserved);
    usd(e, extra);
    usd(bud, b.budget);
    fsm__res_fail(res, QM_BUDGET_EXCEEDED,
                  "client '%s' has spent %s and holds %s this month; %s more "
                  "passes its budget of %s",
                  id, s, h, e, bud);
    char subject[QM_SUBJECT_MAX + 1];
    snprintf(subject, sizeof(subject), "client/%s", id);
    return fsm__alert(c, "budget_exceeded", subject, "critical",
                      "client '%s' was refused %s: spent %s, held %s, budget "
                      "%s",
                      id, e, s, h, bud);
}

int fsm__budget_alerts(struct fsm_ctx *c,
                       const char *id,
                       const struct fsm_client *cl)
{
    struct fsm_budget b;
    int64_t spent;
    int rv = fsm__budget_of(c, cl, &b);
    if (rv == QM_OK) {
        rv = fsm__spent(c, id, fsm_month_of(c->now), &spent);
    }
    if (rv != QM_OK || b.unlimited) {
        return rv;
    }
    char subject[QM_SUBJECT_MAX + 1], s[32], bud[32];
    snprintf(subject, sizeof(subject), "client/%s", id);
    usd(s, spent);
    usd(bud, b.budget);
    if (spent > b.budget) {
        return fsm__alert(c, "budget_exceeded", subject, "critical",
                          "client '%s' has spent %s of its %s budget", id, s,
                          bud);
    }
    /* above 95% of the budget, in integers */
    if (b.budget > 0 && spent * 100 > b.budget * 95) {
        return fsm__alert(c, "budget_high", subject, "warning",
                          "client '%s' has spent %s of its %s budget", id, s,
                          bud);
    }
    return QM_OK;
}

int fsm__client_info(struct fsm_ctx *c,
                     const char *id,
                     const struct fsm_client *cl,
                     struct tp_client_info *out)
{
    struct fsm_budget b;
    memset(out, 0, sizeof(*out));
    int rv = fsm__budget_of(c, cl, &b);
    uint32_t month = fsm_month_of(c->now);
    if (rv == QM_OK) {
        rv = fsm__spent(c, id, month, &out->spent);
    }
    if (rv != QM_OK) {
        return rv;
    }
    snprintf(out->id, sizeof(out->id), "%s", id);
    out->tier = cl->tier;
    out->unlimited = b.unlimited;
    out->own_budget = cl->has_budget;
    out->budget = b.budget;
    out->reserved = cl->reserved;
    out->open = cl->open;
    out->month = month;
    out->created_ms = cl->created_ms;
    return QM_OK;
}
