/* Credits of hot pools, held by the agent so that local programs acquire
 * at memory speed: a batch of a pool's tokens is granted by the leader
 * (and taken from the pool there, at once), handed out locally, topped up
 * in the background when it runs low, and what is left is given back
 * before the grant's lease ends. What the agent does not give back in time
 * (it died, the cluster was away) counts as used by the cluster, so the
 * pool never grants more than it holds.
 *
 * A grant's lease is followed on the agent's monotonic clock from the
 * moment it was asked for, minus a margin (a fifth of the lease, at least
 * 2 s), so the agent stops using a grant before the cluster can count it
 * as used even when the two clocks drift apart a little.
 *
 * Threading: agent_credits_take() from any thread (the local API's);
 * agent_credits_tick() from the agent's loop; grants arrive on libqm's
 * threads. One mutex per pool. */
#ifndef QM_AGENT_AGENT_CREDIT_H
#define QM_AGENT_AGENT_CREDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "agent_config.h"
#include "qm.h"

struct agent_credits;

struct agent_credit_stats
{
    int64_t balance; /* milli-units held now */
    uint64_t taken;  /* local acquisitions served */
    uint64_t short_; /* local acquisitions the credit could not cover */
    uint64_t grants; /* grants received */
    int64_t granted; /* milli-units granted in all */
    int64_t returned;
    uint64_t expired; /* grants whose lease ended before they were given
                         back (the cluster counted the rest as used) */
};

/* Credits for the @n pools of @conf, asked for on @client (borrowed) for
 * host @host. Nothing is asked for until the first tick or take. QM_OK or
 * QM_ENOMEM. */
int agent_credits_new(struct agent_credits **out,
                      struct qm_client *client,
                      const char *host,
                      const struct agent_credit_conf *conf,
                      unsigned n);

/* Give back what every pool holds (waiting up to the client's timeout),
 * then free. No take may run any more. */
void agent_credits_free(struct agent_credits *cs);

/* Whether @pool is held on credit. */
bool agent_credits_has(struct agent_credits *cs, const char *pool);

/* Take @amount milli-units of @pool: QM_OK (and *left, what stays held),
 * QM_DENIED (the credit holds less now; a top-up was asked for) or
 * QM_NOT_FOUND (not a credited pool). */
int agent_credits_take(struct agent_credits *cs,
                       const char *pool,
                       int64_t amount,
                       int64_t *left);

/* Loop: top up pools below their low mark, give back grants near the end
 * of their lease. @now_ms is CLOCK_MONOTONIC milliseconds. */
void agent_credits_tick(struct agent_credits *cs, int64_t now_ms);

void agent_credits_stats(struct agent_credits *cs,
                         const char *pool,
                         struct agent_credit_stats *out);

#endif
