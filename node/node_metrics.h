/* The leader's soft state: the latest sample of each host's agent and a
 * short window of its CPU, kept in memory only (samples never go through
 * raft; a new leader fills up again within one report interval). Bounded:
 * QM_METRICS_HOSTS_MAX hosts; when full, the host heard from longest ago
 * makes room.
 *
 * Ownership: the store owns its entries; pages are written into the
 * caller's struct. Threading: the node's loop only. */
#ifndef QM_NODE_NODE_METRICS_H
#define QM_NODE_NODE_METRICS_H

#include <stdint.h>

#include "tp_msg.h"

/* CPU samples per host kept for the window figures. */
#define NODE_METRICS_WINDOW 60

struct node_metrics_host;

struct node_metrics
{
    struct node_metrics_host **hosts; /* sorted by id */
    uint32_t nhosts;
};

void node_metrics_init(struct node_metrics *m);
void node_metrics_close(struct node_metrics *m);

/* Take a report (one part of a host's sample) received at @now_ms.
 * QM_OK or QM_ENOMEM (nothing changed). */
int node_metrics_report(struct node_metrics *m,
                        const struct tp_report *r,
                        int64_t now_ms);

/* One host (@a->host) or a page of hosts after @a->after into @out.
 * QM_OK, or QM_NOT_FOUND when @a->host has not reported to this node. */
int node_metrics_page(const struct node_metrics *m,
                      const struct tp_metrics_args *a,
                      struct tp_metrics_page *out);

/* Forget a host (deleted from the ledger). */
void node_metrics_forget(struct node_metrics *m, const char *host);

#endif
