/* A node's data folder: DIR/raft (libraft's log, snapshots, metadata),
 * DIR/state (the LMDB state machine), DIR/node-id (which node owns it) and
 * DIR/LOCK (an flock held while qmd runs; libraft takes none itself).
 * Used on the main thread at start-up and shutdown. */
#ifndef QM_NODE_NODE_DATA_H
#define QM_NODE_NODE_DATA_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "qm_err.h"

struct node_data
{
    int lock_fd;
    char raft_dir[PATH_MAX];
    char state_dir[PATH_MAX];
    bool raft_has_state; /* raft metadata exists: not a first start */
};

/* Create the folders, take the lock, check or write the owner id.
 * QM_OK, or QM_EIO/QM_EBUSY/QM_ECONFIG with the reason in @err. */
int node_data_open(struct node_data *d,
                   const char *dir,
                   uint64_t id,
                   char err[QM_ERRMSG_SIZE]);
void node_data_close(struct node_data *d);

#endif
