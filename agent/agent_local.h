/* The agent's local API: an nng REP socket on an ipc:// URL that speaks
 * the cluster's own protocol, so a program points libqm at
 * "ipc:///run/qm-agent.sock" and reserves, commits, releases, acquires and
 * reads without knowing where the cluster is.
 *
 * Each request is checked here (bad input gets INVALID and never leaves
 * the host). An acquisition from a pool the agent holds on credit, without
 * a client to charge, is answered at once from the credit; a retry of it
 * (same session and sequence) gets the same answer. Everything else is
 * forwarded to the leader unchanged, session and sequence included, so
 * exactly-once holds end to end; the program gets the leader's answer, or
 * UNAVAILABLE when the cluster cannot be reached before its deadline.
 * Membership changes, the agent's own operations (registration, reports,
 * credits, actions, agent alerts) and node-local reads are not served.
 *
 * Threading: requests are served on nng's and libqm's threads; start and
 * stop belong to the agent's main thread. */
#ifndef QM_AGENT_AGENT_LOCAL_H
#define QM_AGENT_AGENT_LOCAL_H

#include <stdint.h>

#include "agent_credit.h"
#include "qm.h"

struct agent_local;

struct agent_local_stats
{
    uint64_t requests;
    uint64_t invalid;
    uint64_t from_credit;
    uint64_t forwarded;
    uint64_t unavailable;
};

/* Listen on @url with @client (borrowed) for forwarding and @credits
 * (borrowed, may be NULL). An ipc:// path left by a dead agent is
 * replaced. QM_OK, or QM_ECONFIG/QM_EIO/QM_ENOMEM with a reason in @err. */
int agent_local_start(struct agent_local **out,
                      const char *url,
                      struct qm_client *client,
                      struct agent_credits *credits,
                      char err[QM_ERRMSG_SIZE]);

/* Stop listening, wait for forwarded requests to finish, free. */
void agent_local_stop(struct agent_local *l);

void agent_local_stats(struct agent_local *l, struct agent_local_stats *out);

#endif
