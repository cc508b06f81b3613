/* qm-agent's configuration: built-in defaults, then an INI file
 * (--config), then command-line flags, each overriding the one before.
 * README "qm-agent configuration" lists every key; keep them in step.
 * Used once at start-up on the main thread. */
#ifndef QM_AGENT_AGENT_CONFIG_H
#define QM_AGENT_AGENT_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "agent_detect.h"
#include "agent_exec.h"
#include "qm_err.h"
#include "qm_limits.h"

/* Services of the configuration; one more slot is the agent itself. */
#define AGENT_CONF_SERVICES_MAX (QM_HOST_SERVICES_MAX - 1)
#define AGENT_CONF_CREDITS_MAX 16
#define AGENT_CONF_DISKS_MAX 8

/* How a start command runs: the command is the instance itself (detach),
 * or it starts one and returns (wait, like "systemctl start"). */
enum agent_start_mode {
    AGENT_START_DETACH = 0,
    AGENT_START_WAIT,
};

struct agent_service_conf
{
    char name[QM_NAME_MAX + 1];
    char match[QM_MATCH_MAX + 1];
    char start[AGENT_EXEC_CMD_MAX]; /* "" = cannot scale up */
    char stop[AGENT_EXEC_CMD_MAX];  /* "{pid}" = the instance to stop */
    int start_mode;                 /* enum agent_start_mode */
    int64_t exec_timeout_ms;
    int64_t scale_cooldown_ms; /* least time between two scaling actions */
};

/* A pool whose tokens the agent holds on credit for local programs. */
struct agent_credit_conf
{
    char pool[QM_NAME_MAX + 1];
    int64_t batch;  /* milli-units asked for at a time */
    int64_t low;    /* ask for more below this many milli-units */
    int64_t ttl_ms; /* lease of a grant */
};

struct agent_config
{
    char cluster[1024];
    char host_id[QM_NAME_MAX + 1];
    char labels[QM_LABELS_MAX + 1];
    char local_api[QM_URL_MAX + 1]; /* "" = no local API */
    char credential[QM_CRED_MAX + 1];
    int64_t interval_ms;
    int64_t rescan_ms;
    int64_t enforce_ms; /* re-apply allocations this often */
    unsigned buffer;    /* samples kept while no leader answers */
    unsigned ndisks;
    char disks[AGENT_CONF_DISKS_MAX][256];
    struct agent_leak_conf leak;
    struct agent_thresh_conf thresh[3]; /* enum agent_util */
    unsigned nservices;
    struct agent_service_conf services[AGENT_CONF_SERVICES_MAX];
    unsigned ncredits;
    struct agent_credit_conf credits[AGENT_CONF_CREDITS_MAX];
    int log_level;
};

enum agent_config_result {
    AGENT_CONFIG_OK = 0,
    AGENT_CONFIG_ERROR = 1, /* @err says what was wrong */
    AGENT_CONFIG_EXIT = 2,  /* --help or --version was printed: exit 0 */
};

/* Fill @cfg from defaults, the --config file and @argv. */
int agent_config_load(struct agent_config *cfg,
                      int argc,
                      char **argv,
                      char err[QM_ERRMSG_SIZE]);

void agent_config_usage(FILE *out);

/* Add a service "NAME=SPEC" (a --watch flag). 0, or -1 with @err. */
int agent_config_watch(struct agent_config *cfg,
                       const char *arg,
                       char err[QM_ERRMSG_SIZE]);

#endif
