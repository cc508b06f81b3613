/* Shortcuts for the ledger over th_fsm: clients, tiers, pools with kinds
 * and shares, reservations, usage, cost estimates and alerts. Writes go
 * through th_fsm_do (one command per entry, stamped with the cluster time
 * @t), reads through th_fsm_query at @now. Each returns the status and
 * decodes the body into @out when @out is not NULL; the result stays in
 * fx->last for th_assert_message. Failures fail the running cmocka test.
 *
 * Commands here are sessionless unless they take a session: a refused
 * sessionless command leaves no trace, which keeps "nothing changed"
 * digests exact. */
#ifndef QM_TESTS_UNIT_HELPERS_TH_LEDGER_H
#define QM_TESTS_UNIT_HELPERS_TH_LEDGER_H

#include <stdint.h>

#include "th_fsm.h"
#include "tp_msg.h"

/* Money and amounts in readable form. */
#define TH_USD(d) ((int64_t)(d)*QM_MICRO)         /* dollars -> micro */
#define TH_UNITS(u) ((int64_t)(u)*QM_MILLI)       /* units -> milli-units */
#define TH_USD_PER_UNIT(d) ((int64_t)(d)*QM_NANO) /* -> nano per unit */

/* A client's own budget, or TH_TIER_BUDGET for the tier's. */
#define TH_TIER_BUDGET (-1)

/* ---- clients and tiers ---- */

int th_client_create(struct th_fsm *fx,
                     int64_t t,
                     const char *id,
                     uint64_t tier,
                     int64_t budget);
int th_client_set_tier(struct th_fsm *fx,
                       int64_t t,
                       const char *id,
                       uint64_t tier);
/* TH_TIER_BUDGET: back to the tier's budget. */
int th_client_set_budget(struct th_fsm *fx,
                         int64_t t,
                         const char *id,
                         int64_t budget);
int th_client_get(struct th_fsm *fx,
                  int64_t now,
                  const char *id,
                  struct tp_client_info *out);
/* @page is caller-owned (large: allocate it). */
int th_client_list(struct th_fsm *fx,
                   int64_t now,
                   const char *after,
                   uint64_t limit,
                   struct tp_client_page *page);
int th_tier_get(struct th_fsm *fx,
                int64_t now,
                uint64_t tier,
                struct tp_tier_info *out);
int th_tier_list(struct th_fsm *fx, int64_t now, struct tp_tier_list *out);
int th_tier_set(struct th_fsm *fx, int64_t t, const struct tp_tier_set *ts);

/* ---- pools ---- */

/* Append a share to POOL_CREATE arguments (th_pool_create_args). */
void th_share_client(struct tp_pool_create *a,
                     const char *client,
                     int64_t amount);
void th_share_tier(struct tp_pool_create *a, uint64_t tier, int64_t amount);
int th_pool_create_as(struct th_fsm *fx,
                      int64_t t,
                      const struct tp_pool_create *a);
/* A shared pool with a price, sessionless. */
int th_pool_priced(struct th_fsm *fx,
                   int64_t t,
                   const char *name,
                   int64_t capacity,
                   int64_t refill,
                   int64_t price);
/* ACQUIRE for @client ("" for nobody); @out may be NULL. */
int th_acquire_for(struct th_fsm *fx,
                   int64_t t,
                   const char *client,
                   const char *pool,
                   int64_t amount,
                   struct tp_acquire_result *out);

/* ---- reservations ---- */

void th_reserve_args(struct tp_reserve *r, const char *client, int64_t ttl_ms);
void th_reserve_add(struct tp_reserve *r, const char *pool, int64_t amount);
int th_reserve(struct th_fsm *fx,
               int64_t t,
               uint64_t session,
               uint64_t seq,
               const struct tp_reserve *r,
               struct tp_reserve_result *out);
/* One pool, sessionless, default lease (ttl 0). */
int th_reserve1(struct th_fsm *fx,
                int64_t t,
                const char *client,
                const char *pool,
                int64_t amount,
                struct tp_reserve_result *out);

void th_commit_args(struct tp_commit *cm, uint64_t id);
void th_commit_add(struct tp_commit *cm, const char *pool, int64_t used);
/* @cost may be NULL. */
int th_commit(struct th_fsm *fx,
              int64_t t,
              uint64_t session,
              uint64_t seq,
              const struct tp_commit *cm,
              int64_t *cost);
/* Everything used. */
int th_commit_all(struct th_fsm *fx, int64_t t, uint64_t id, int64_t *cost);
/* The used_one form. */
int th_commit_one(struct th_fsm *fx,
                  int64_t t,
                  uint64_t id,
                  int64_t used,
                  int64_t *cost);
int th_release(struct th_fsm *fx, int64_t t, uint64_t id, int64_t *cost);
int th_res_get(struct th_fsm *fx,
               int64_t now,
               uint64_t id,
               struct tp_res_info *out);
/* @page is caller-owned (large: allocate it). */
int th_res_list(struct th_fsm *fx,
                int64_t now,
                const char *client,
                uint64_t after,
                uint64_t limit,
                struct tp_res_page *page);

/* ---- money reads ---- */

/* USAGE; @month 0 is the current month. @out is caller-owned. */
int th_usage(struct th_fsm *fx,
             int64_t now,
             const char *client,
             uint64_t month,
             const char *after,
             uint64_t limit,
             struct tp_usage *out);
/* Spent by @id this month (at @now); asserts that the client exists. */
int64_t th_spent(struct th_fsm *fx, int64_t now, const char *id);
int th_estimate(struct th_fsm *fx,
                int64_t now,
                const struct tp_estimate_args *ea,
                int64_t *cost);
/* @page is caller-owned (large: allocate it). */
int th_alert_list(struct th_fsm *fx,
                  int64_t now,
                  uint64_t after,
                  uint64_t limit,
                  struct tp_alert_page *page);
/* Alerts of @kind about @subject among the first page after 0. */
int th_alert_count(struct th_fsm *fx, const char *kind, const char *subject);

/* ---- time ---- */

/* Milliseconds since the epoch of a UTC date and time, computed by
 * counting days (independent of fsm_month_of). */
int64_t th_utc_ms(int year, int month, int day, int hour, int min, int sec);

#endif
