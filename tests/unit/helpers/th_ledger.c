#include "th_ledger.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qm_err.h"
#include "th_cmocka.h"

/* ---- clients and tiers ---- */

int th_client_create(struct th_fsm *fx,
                     int64_t t,
                     const char *id,
                     uint64_t tier,
                     int64_t budget)
{
    struct tp_client_create a;
    memset(&a, 0, sizeof(a));
    snprintf(a.id, sizeof(a.id), "%s", id);
    a.tier = tier;
    a.has_budget = budget != TH_TIER_BUDGET;
    a.budget = budget != TH_TIER_BUDGET ? budget : 0;
    return th_fsm_do(fx, t, TP_OP_CLIENT_CREATE, 0, 0, &tp_client_create_schema,
                     &a, NULL, NULL);
}

int th_client_set_tier(struct th_fsm *fx,
                       int64_t t,
                       const char *id,
                       uint64_t tier)
{
    struct tp_client_set a;
    memset(&a, 0, sizeof(a));
    snprintf(a.id, sizeof(a.id), "%s", id);
    a.set = TP_SET_TIER;
    a.tier = tier;
    return th_fsm_do(fx, t, TP_OP_CLIENT_SET, 0, 0, &tp_client_set_schema, &a,
                     NULL, NULL);
}

int th_client_set_budget(struct th_fsm *fx,
                         int64_t t,
                         const char *id,
                         int64_t budget)
{
    struct tp_client_set a;
    memset(&a, 0, sizeof(a));
    snprintf(a.id, sizeof(a.id), "%s", id);
    a.set = TP_SET_BUDGET;
    a.budget_default = budget == TH_TIER_BUDGET;
    a.budget = budget != TH_TIER_BUDGET ? budget : 0;
    return th_fsm_do(fx, t, TP_OP_CLIENT_SET, 0, 0, &tp_client_set_schema, &a,
                     NULL, NULL);
}

int th_client_get(struct th_fsm *fx,
                  int64_t now,
                  const char *id,
                  struct tp_client_info *out)
{
    struct tp_client_id a;
    struct tp_client_info ignored;
    memset(&a, 0, sizeof(a));
    snprintf(a.id, sizeof(a.id), "%s", id);
    return th_fsm_query(fx, now, TP_OP_CLIENT_GET, &tp_client_id_schema, &a,
                        &tp_client_info_schema, out != NULL ? out : &ignored);
}

int th_client_list(struct th_fsm *fx,
                   int64_t now,
                   const char *after,
                   uint64_t limit,
                   struct tp_client_page *page)
{
    struct tp_list_args a;
    memset(&a, 0, sizeof(a));
    snprintf(a.after, sizeof(a.after), "%s", after);
    a.limit = limit;
    return th_fsm_query(fx, now, TP_OP_CLIENT_LIST, &tp_list_args_schema, &a,
                        &tp_client_page_schema, page);
}

int th_tier_get(struct th_fsm *fx,
                int64_t now,
                uint64_t tier,
                struct tp_tier_info *out)
{
    struct tp_tier_id a = {tier};
    return th_fsm_query(fx, now, TP_OP_TIER_GET, &tp_tier_id_schema, &a,
                        &tp_tier_info_schema, out);
}

int th_tier_list(struct th_fsm *fx, int64_t now, struct tp_tier_list *out)
{
    return th_fsm_query(fx, now, TP_OP_TIER_LIST, NULL, NULL,
                        &tp_tier_list_schema, out);
}

int th_tier_set(struct th_fsm *fx, int64_t t, const struct tp_tier_set *ts)
{
    return th_fsm_do(fx, t, TP_OP_TIER_SET, 0, 0, &tp_tier_set_schema, ts, NULL,
                     NULL);
}

/* ---- pools ---- */

void th_share_client(struct tp_pool_create *a,
                     const char *client,
                     int64_t amount)
{
    assert_true(a->nshares < QM_SHARES_MAX);
    struct tp_share *s = &a->shares[a->nshares++];
    memset(s, 0, sizeof(*s));
    snprintf(s->client, sizeof(s->client), "%s", client);
    s->amount = amount;
}

void th_share_tier(struct tp_pool_create *a, uint64_t tier, int64_t amount)
{
    assert_true(a->nshares < QM_SHARES_MAX);
    struct tp_share *s = &a->shares[a->nshares++];
    memset(s, 0, sizeof(*s));
    s->tier = tier;
    s->amount = amount;
}

int th_pool_create_as(struct th_fsm *fx,
                      int64_t t,
                      const struct tp_pool_create *a)
{
    return th_fsm_do(fx, t, TP_OP_POOL_CREATE, 0, 0, &tp_pool_create_schema, a,
                     NULL, NULL);
}

int th_pool_priced(struct th_fsm *fx,
                   int64_t t,
                   const char *name,
                   int64_t capacity,
                   int64_t refill,
                   int64_t price)
{
    struct tp_pool_create a;
    th_pool_create_args(&a, name, capacity, refill, price);
    return th_pool_create_as(fx, t, &a);
}

int th_acquire_for(struct th_fsm *fx,
                   int64_t t,
                   const char *client,
                   const char *pool,
                   int64_t amount,
                   struct tp_acquire_result *out)
{
    struct tp_acquire a;
    struct tp_acquire_result ignored;
    memset(&a, 0, sizeof(a));
    snprintf(a.pool, sizeof(a.pool), "%s", pool);
    snprintf(a.client, sizeof(a.client), "%s", client);
    a.amount = amount;
    return th_fsm_do(fx, t, TP_OP_ACQUIRE, 0, 0, &tp_acquire_schema, &a,
                     &tp_acquire_result_schema, out != NULL ? out : &ignored);
}

/* ---- reservations ---- */

void th_reserve_args(struct tp_reserve *r, const char *client, int64_t ttl_ms)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->client, sizeof(r->client), "%s", client);
    r->ttl_ms = ttl_ms;
}

void th_reserve_add(struct tp_reserve *r, const char *pool, int64_t amount)
{
    assert_true(r->namounts < QM_RES_POOLS_MAX);
    struct tp_amount *a = &r->amounts[r->namounts++];
    snprintf(a->pool, sizeof(a->pool), "%s", pool);
    a->amount = amount;
}

int th_reserve(struct th_fsm *fx,
               int64_t t,
               uint64_t session,
               uint64_t seq,
               const struct tp_reserve *r,
               struct tp_reserve_result *out)
{
    struct tp_reserve_result ignored;
    return th_fsm_do(fx, t, TP_OP_RESERVE, session, seq, &tp_reserve_schema, r,
                     &tp_reserve_result_schema, out != NULL ? out : &ignored);
}

int th_reserve1(struct th_fsm *fx,
                int64_t t,
                const char *client,
                const char *pool,
                int64_t amount,
                struct tp_reserve_result *out)
{
    struct tp_reserve r;
    th_reserve_args(&r, client, 0);
    th_reserve_add(&r, pool, amount);
    return th_reserve(fx, t, 0, 0, &r, out);
}

void th_commit_args(struct tp_commit *cm, uint64_t id)
{
    memset(cm, 0, sizeof(*cm));
    cm->id = id;
}

void th_commit_add(struct tp_commit *cm, const char *pool, int64_t used)
{
    assert_true(cm->nused < QM_RES_POOLS_MAX);
    struct tp_amount *a = &cm->used[cm->nused++];
    snprintf(a->pool, sizeof(a->pool), "%s", pool);
    a->amount = used;
}

int th_commit(struct th_fsm *fx,
              int64_t t,
              uint64_t session,
              uint64_t seq,
              const struct tp_commit *cm,
              int64_t *cost)
{
    struct tp_charge ch;
    int st = th_fsm_do(fx, t, TP_OP_COMMIT, session, seq, &tp_commit_schema, cm,
                       &tp_charge_schema, &ch);
    if (cost != NULL) {
        *cost = ch.cost;
    }
    return st;
}

int th_commit_all(struct th_fsm *fx, int64_t t, uint64_t id, int64_t *cost)
{
    struct tp_commit cm;
    th_commit_args(&cm, id);
    return th_commit(fx, t, 0, 0, &cm, cost);
}

int th_commit_one(struct th_fsm *fx,
                  int64_t t,
                  uint64_t id,
                  int64_t used,
                  int64_t *cost)
{
    struct tp_commit cm;
    th_commit_args(&cm, id);
    cm.has_used_one = true;
    cm.used_one = used;
    return th_commit(fx, t, 0, 0, &cm, cost);
}

int th_release(struct th_fsm *fx, int64_t t, uint64_t id, int64_t *cost)
{
    struct tp_res_id a = {id};
    struct tp_charge ch;
    int st = th_fsm_do(fx, t, TP_OP_RELEASE, 0, 0, &tp_res_id_schema, &a,
                       &tp_charge_schema, &ch);
    if (cost != NULL) {
        *cost = ch.cost;
    }
    return st;
}

int th_res_get(struct th_fsm *fx,
               int64_t now,
               uint64_t id,
               struct tp_res_info *out)
{
    struct tp_res_id a = {id};
    struct tp_res_info ignored;
    return th_fsm_query(fx, now, TP_OP_RESERVATION_GET, &tp_res_id_schema, &a,
                        &tp_res_info_schema, out != NULL ? out : &ignored);
}

int th_res_list(struct th_fsm *fx,
                int64_t now,
                const char *client,
                uint64_t after,
                uint64_t limit,
                struct tp_res_page *page)
{
    struct tp_res_list_args a;
    memset(&a, 0, sizeof(a));
    snprintf(a.client, sizeof(a.client), "%s", client);
    a.after = after;
    a.limit = limit;
    return th_fsm_query(fx, now, TP_OP_RESERVATION_LIST,
                        &tp_res_list_args_schema, &a, &tp_res_page_schema,
                        page);
}

/* ---- money reads ---- */

int th_usage(struct th_fsm *fx,
             int64_t now,
             const char *client,
             uint64_t month,
             const char *after,
             uint64_t limit,
             struct tp_usage *out)
{
    struct tp_usage_args a;
    memset(&a, 0, sizeof(a));
    snprintf(a.client, sizeof(a.client), "%s", client);
    a.month = month;
    snprintf(a.after, sizeof(a.after), "%s", after);
    a.limit = limit;
    return th_fsm_query(fx, now, TP_OP_USAGE, &tp_usage_args_schema, &a,
                        &tp_usage_schema, out);
}

int64_t th_spent(struct th_fsm *fx, int64_t now, const char *id)
{
    struct tp_client_info ci;
    assert_int_equal(th_client_get(fx, now, id, &ci), QM_OK);
    return ci.spent;
}

int th_estimate(struct th_fsm *fx,
                int64_t now,
                const struct tp_estimate_args *ea,
                int64_t *cost)
{
    struct tp_estimate e;
    int st =
        th_fsm_query(fx, now, TP_OP_COST_ESTIMATE, &tp_estimate_args_schema, ea,
                     &tp_estimate_schema, &e);
    if (cost != NULL) {
        *cost = e.cost;
    }
    return st;
}

int th_alert_list(struct th_fsm *fx,
                  int64_t now,
                  uint64_t after,
                  uint64_t limit,
                  struct tp_alert_page *page)
{
    struct tp_alert_args a = {after, limit};
    return th_fsm_query(fx, now, TP_OP_ALERT_LIST, &tp_alert_args_schema, &a,
                        &tp_alert_page_schema, page);
}

int th_alert_count(struct th_fsm *fx, const char *kind, const char *subject)
{
    struct tp_alert_page *page = malloc(sizeof(*page));
    assert_non_null(page);
    int n = 0;
    uint64_t after = 0;
    do {
        assert_int_equal(th_alert_list(fx, 0, after, 0, page), QM_OK);
        for (uint32_t i = 0; i < page->nalerts; i++) {
            const struct tp_alert *al = &page->alerts[i];
            n += strcmp(al->kind, kind) == 0 &&
                 strcmp(al->subject, subject) == 0;
            after = al->id;
        }
    } while (page->more);
    free(page);
    return n;
}

/* ---- time ---- */

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int64_t th_utc_ms(int year, int month, int day, int hour, int min, int sec)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
    int64_t days = 0;
    for (int y = 1970; y < year; y++) {
        days += leap(y) ? 366 : 365;
    }
    for (int m = 1; m < month; m++) {
        days += mdays[m - 1] + (m == 2 && leap(year));
    }
    days += day - 1;
    return ((days * 24 + hour) * 60 + min) * 60000LL + sec * 1000LL;
}
