/* Clients, tiers and their money: the client record, tier parameters
 * (defaults from seed 004 until an admin changes them), the budget that
 * applies, and spend per client per calendar month (UTC, cluster time),
 * with usage per pool. Loop thread only. */
#ifndef QM_STATEMACHINE_FSM_CLIENT_H
#define QM_STATEMACHINE_FSM_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "fsm_internal.h"

struct fsm_client
{
    uint64_t tier;
    bool has_budget;  /* the client's own; else the tier's */
    int64_t budget;   /* micro-dollars per month */
    int64_t reserved; /* estimated cost of open reservations */
    uint64_t open;    /* open reservations */
    int64_t created_ms;
};

/* The budget that applies to a client this month. */
struct fsm_budget
{
    bool unlimited;
    int64_t budget;
};

/* Tier parameters (stored or default). */
int fsm__tier_load(struct fsm_ctx *c, uint64_t tier, struct tp_tier_info *out);
const char *fsm_tier_name(uint64_t tier);

/* QM_OK, QM_NOT_FOUND, QM_INVALID (not a client name), QM_ECORRUPT. */
int fsm__client_load(struct fsm_ctx *c, const char *id, struct fsm_client *out);
int fsm__client_store(struct fsm_ctx *c,
                      const char *id,
                      const struct fsm_client *cl);

int fsm__budget_of(struct fsm_ctx *c,
                   const struct fsm_client *cl,
                   struct fsm_budget *out);

/* The usage key: client \0 be32 YYYYMM, then the pool name (NULL: the
 * client's total). @k needs 2 * QM_NAME_MAX + 6 bytes. */
size_t fsm__usage_key(uint8_t *k,
                      const char *id,
                      uint32_t month,
                      const char *pool);

/* Micro-dollars @id spent in @month (YYYYMM). */
int fsm__spent(struct fsm_ctx *c,
               const char *id,
               uint32_t month,
               int64_t *spent);

/* Add @units of @pool costing @cost to @id's spend this month. */
int fsm__charge(struct fsm_ctx *c,
                const char *id,
                const char *pool,
                int64_t units,
                int64_t cost);

/* Refuse (QM_BUDGET_EXCEEDED in @res, and an alert) when spent + held +
 * @extra would pass the budget. *ok says whether it fits. */
int fsm__budget_check(struct fsm_ctx *c,
                      const char *id,
                      const struct fsm_client *cl,
                      int64_t extra,
                      struct fsm_res *res,
                      bool *ok);

/* After a charge: alert above 95% of the budget, and past it. */
int fsm__budget_alerts(struct fsm_ctx *c,
                       const char *id,
                       const struct fsm_client *cl);

/* The reply form of a client. */
int fsm__client_info(struct fsm_ctx *c,
                     const char *id,
                     const struct fsm_client *cl,
                     struct tp_client_info *out);

#endif
