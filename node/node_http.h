/* qmd's HTTP endpoint (nng's HTTP server): GET /health (200 when the node
 * sees a leader, else 503), GET /metrics (Prometheus text), GET /v1/status
 * (JSON). Handlers run on nng threads and read only what the loop
 * publishes under n->info_mu and the atomic counters. */
#ifndef QM_NODE_NODE_HTTP_H
#define QM_NODE_NODE_HTTP_H

#include "node.h"

/* Serve on @addr (IPv4:port). QM_OK or QM_EIO with a reason in @err. */
int node_http_start(struct node_http **out,
                    struct node *n,
                    const char *addr,
                    char err[QM_ERRMSG_SIZE]);
void node_http_stop(struct node_http *h);

#endif
