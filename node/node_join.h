/* The registrar: a thread that asks the cluster to add this node as a
 * voter (joining with --join) or to record its current API address. The
 * loop decides when to ask (node_join_request); the thread makes one
 * blocking libqm call at a time and reports how it went in the log. */
#ifndef QM_NODE_NODE_JOIN_H
#define QM_NODE_NODE_JOIN_H

#include <stdbool.h>

#include "tp_msg.h"

struct node_join;

int node_join_start(struct node_join **out, const struct tp_member *self);

/* Loop: ask once through @urls (comma-separated API URLs; copied) unless
 * a request is already under way. */
void node_join_request(struct node_join *j, const char *urls);

/* Whether a request is queued or running. */
bool node_join_busy(struct node_join *j);

/* Stop the thread; waits for a running call to end (at most its
 * timeout). */
void node_join_stop(struct node_join *j);

#endif
