/* qmd's configuration: built-in defaults (design.md "Defaults"), then an
 * INI file (--config), then command-line flags, each overriding the one
 * before. README "qmd configuration" lists every key; keep them in step.
 * Used once at start-up on the main thread. */
#ifndef QM_NODE_NODE_CONFIG_H
#define QM_NODE_NODE_CONFIG_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "qm_err.h"
#include "qm_limits.h"

struct node_config
{
    uint64_t id;
    char data_dir[PATH_MAX];
    char raft_addr[QM_ADDR_MAX + 1];
    char api_addr[QM_URL_MAX + 1];
    char http_addr[QM_ADDR_MAX + 1]; /* "" = no HTTP */
    char join[1024];                 /* comma-separated API URLs */
    unsigned api_contexts;
    unsigned election_ms;
    unsigned heartbeat_ms;
    unsigned snapshot_threshold;
    unsigned snapshot_trailing;
    unsigned install_snapshot_ms;
    int sync; /* enum fsm_sync */
    unsigned map_size_mb;
    int log_level;
};

enum node_config_result {
    NODE_CONFIG_OK = 0,
    NODE_CONFIG_ERROR = 1, /* @err says what was wrong */
    NODE_CONFIG_EXIT = 2,  /* --help or --version was printed: exit 0 */
};

/* Fill @cfg from defaults, the --config file and @argv. */
int node_config_load(struct node_config *cfg,
                     int argc,
                     char **argv,
                     char err[QM_ERRMSG_SIZE]);

void node_config_usage(FILE *out);

/* Check an IPv4 "a.b.c.d:port" address (the only form libraft 0.15
 * takes). */
int node_config_check_addr(const char *addr);

#endif
