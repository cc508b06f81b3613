/* The agent's link to the cluster: one thread that registers the host,
 * sends the samples to the leader, delivers alerts and action records, and
 * fetches the host's allocations when the leader says they changed.
 *
 * The loop hands things over and never waits for the network. While no
 * leader answers, the link keeps the last @buffer samples and the alerts
 * and actions not yet delivered (AGENT_LINK_PENDING_MAX each, the oldest
 * dropped first, with a count in the log), and delivers them, oldest first,
 * when a leader answers again. The agent never exits because the cluster
 * is away.
 *
 * Ownership: everything handed over is copied. Threading: the functions
 * may be called from any thread; the link's own thread does the calls. */
#ifndef QM_AGENT_AGENT_LINK_H
#define QM_AGENT_AGENT_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "qm.h"
#include "tp_msg.h"

#define AGENT_LINK_PENDING_MAX 256

struct agent_link;

struct agent_link_stats
{
    bool connected;        /* the last call reached a leader */
    uint64_t reports_sent; /* report messages (parts) the leader took */
    uint64_t reports_dropped;
    uint64_t alerts_sent;
    uint64_t actions_sent;
    uint64_t pending_dropped; /* alerts and actions lost to the bounds */
    unsigned buffered;        /* samples waiting */
};

/* Start the link on @client (borrowed; it must outlive the link) for host
 * @reg->id, keeping up to @buffer samples. QM_OK or QM_ENOMEM/QM_EIO. */
int agent_link_start(struct agent_link **out,
                     struct qm_client *client,
                     const struct tp_host_register *reg,
                     unsigned buffer);

/* Deliver what is pending for up to @flush_ms, then stop the thread and
 * free. */
void agent_link_stop(struct agent_link *l, int64_t flush_ms);

/* A new registration (services changed); sent as soon as possible. */
void agent_link_register(struct agent_link *l,
                         const struct tp_host_register *reg);

/* One sample in @nparts report messages (part 0 first). The oldest
 * buffered sample makes room when the buffer is full. */
void agent_link_report(struct agent_link *l,
                       const struct tp_report *parts,
                       unsigned nparts);

void agent_link_alert(struct agent_link *l, const struct tp_alert_raise *a);
void agent_link_action(struct agent_link *l, const struct tp_action *a);

/* When the host's allocations changed since the last call: true, and
 * @out (QM_HOST_SERVICES_MAX entries) holds them, *n of them. */
bool agent_link_allocs(struct agent_link *l, struct tp_alloc *out, unsigned *n);

void agent_link_stats(struct agent_link *l, struct agent_link_stats *out);

#endif
