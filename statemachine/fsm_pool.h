/* A pool as the state machine keeps it: a token bucket split into the
 * unreserved part and up to QM_SHARES_MAX reserved shares. A share is set
 * aside for one client or one tier; it refills in proportion to its size,
 * and only its holder takes from it. Whoever asks takes from their own
 * client share first, then their tier's share, then the unreserved part,
 * and gives back in the same order. A dedicated pool serves its owner
 * only. Pure arithmetic here plus load/store; loop thread only. */
#ifndef QM_STATEMACHINE_FSM_POOL_H
#define QM_STATEMACHINE_FSM_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "fsm_internal.h"

struct fsm_share
{
    uint64_t tier;                /* holder tier, or 0 */
    char client[QM_NAME_MAX + 1]; /* holder client when tier is 0 */
    int64_t capacity;
    int64_t tokens;
    int64_t carry;
};

struct fsm_pool
{
    int64_t capacity;
    int64_t refill;
    int64_t price;
    uint64_t kind; /* enum tp_kind */
    char owner[QM_NAME_MAX + 1];
    int64_t tokens; /* the unreserved part */
    int64_t carry;
    int64_t last_ms;
    int64_t created_ms;
    uint32_t nshares;
    struct fsm_share shares[QM_SHARES_MAX];
};

/* Who asks: a client and its tier, or nobody (client "" and tier 0). */
struct fsm_who
{
    const char *client;
    uint64_t tier;
};

/* QM_OK, QM_NOT_FOUND, QM_INVALID (not a pool name), QM_ECORRUPT. */
int fsm__pool_load(struct fsm_ctx *c, const char *name, struct fsm_pool *p);
int fsm__pool_store(struct fsm_ctx *c,
                    const char *name,
                    const struct fsm_pool *p);

/* Refill every part up to @now. */
void fsm_pool_advance(struct fsm_pool *p, int64_t now);

/* Whether @who may use the pool at all (dedicated pools: the owner). */
bool fsm_pool_allowed(const struct fsm_pool *p, const struct fsm_who *who);

/* Tokens @who can take now, and at most ever (the parts it reaches). */
int64_t fsm_pool_available(const struct fsm_pool *p, const struct fsm_who *who);
int64_t fsm_pool_reach(const struct fsm_pool *p, const struct fsm_who *who);

/* Take @n for @who if available (after fsm_pool_advance). */
bool fsm_pool_take(struct fsm_pool *p, const struct fsm_who *who, int64_t n);

/* Give @n back to the parts @who reaches, none above its capacity. */
void fsm_pool_give(struct fsm_pool *p, const struct fsm_who *who, int64_t n);

/* Milliseconds until @n are available to @who; -1 for never. */
int64_t fsm_pool_wait_ms(const struct fsm_pool *p,
                         const struct fsm_who *who,
                         int64_t n);

/* Tokens in all parts together. */
int64_t fsm_pool_total(const struct fsm_pool *p);

/* When @who cannot have @amount of pool @name now, fill @res (DENIED with
 * the retry-after, or INVALID when it never could) and return true. */
bool fsm_pool_refuse(const char *name,
                     const struct fsm_pool *p,
                     const struct fsm_who *who,
                     int64_t amount,
                     struct fsm_res *res);

/* Raise pool_low when the pool holds under 10% of its capacity. */
int fsm__pool_low_alert(struct fsm_ctx *c,
                        const char *name,
                        const struct fsm_pool *p);

/* The reply form of a pool. */
void fsm_pool_info(const char *name,
                   const struct fsm_pool *p,
                   struct tp_pool_info *out);

#endif
