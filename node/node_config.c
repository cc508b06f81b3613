#include "node_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "fsm.h"
#include "qm_log.h"

#define QMD_VERSION "0.1.0"

static const char usage_text[] =
    "Usage: qmd [OPTIONS]\n"
    "\n"
    "Run one quartermaster coordinator node: a raft member holding the\n"
    "replicated resource ledger, serving clients on its API address.\n"
    "\n"
    "  An empty data dir without --join bootstraps a new single-node "
    "cluster.\n"
    "  An empty data dir with --join asks that cluster's leader to add this\n"
    "  node as a voter and waits until it is one.\n"
    "  A data dir with state restarts as the member it was (--join is then\n"
    "  used only while the node is not yet a voter).\n"
    "\n"
    "Options (each may also be set in the --config file, [section] key):\n"
    "  --config FILE             INI file read before the flags\n"
    "  --id N                    raft id of this node, 1..1000000 "
    "([node] id; 1)\n"
    "  --data-dir DIR            state folder ([node] data_dir; ./qm-data)\n"
    "  --raft-addr IP:PORT       raft peer address, IPv4 ([node] raft_addr;\n"
    "                            127.0.0.1:7001)\n"
    "  --api-addr URL            client API ([node] api_addr;\n"
    "                            tcp://127.0.0.1:7101)\n"
    "  --http-addr IP:PORT       metrics and health over HTTP, 'off' to "
    "disable\n"
    "                            ([node] http_addr; 127.0.0.1:7201)\n"
    "  --join URL[,URL...]       API URLs of the cluster to join ([node] "
    "join)\n"
    "  --api-contexts N          requests served at once ([node] "
    "api_contexts; 256)\n"
    "  --election-timeout MS     ([raft] election_timeout_ms; 250)\n"
    "  --heartbeat-timeout MS    ([raft] heartbeat_timeout_ms; 50)\n"
    "  --snapshot-threshold N    entries between snapshots, at most: 4 MiB\n"
    "                            of entries also start one\n"
    "                            ([raft] snapshot_threshold; 16384)\n"
    "  --snapshot-trailing N     entries kept after a snapshot, at most:\n"
    "                            no more than 4 MiB of them\n"
    "                            ([raft] snapshot_trailing; 8192)\n"
    "  --install-snapshot-timeout MS  resend a snapshot to a follower after\n"
    "                            ([raft] install_snapshot_timeout_ms; 5000)\n"
    "  --sync full|none          fsync the state database at each group\n"
    "                            commit (at most one per 10 ms; raft's log\n"
    "                            is fsynced before every reply either way)\n"
    "                            ([storage] sync; full)\n"
    "  --map-size-mb N           largest size of the state database\n"
    "                            ([storage] map_size_mb; 4096)\n"
    "  --log-level LEVEL         err, warn, notice, info, debug ([log] "
    "level; info)\n"
    "  -h, --help                this text\n"
    "  --version                 print the version\n"
    "\n"
    "Logs go to stderr, one line per event. SIGTERM or SIGINT stops the node\n"
    "cleanly (leadership handed over, raft and the database closed).\n";

void node_config_usage(FILE *out)
{
    fputs(usage_text, out);
}

static void defaults(struct node_config *c)
{
    memset(c, 0, sizeof(*c));
    c->id = 1;
    snprintf(c->data_dir, sizeof(c->data_dir), "./qm-data");
    snprintf(c->raft_addr, sizeof(c->raft_addr), "127.0.0.1:7001");
    snprintf(c->api_addr, sizeof(c->api_addr), "tcp://127.0.0.1:7101");
    snprintf(c->http_addr, sizeof(c->http_addr), "127.0.0.1:7201");
    c->api_contexts = 256;
    c->election_ms = 250;
    c->heartbeat_ms = 50;
    c->snapshot_threshold = 16384;
    c->snapshot_trailing = 8192;
    c->install_snapshot_ms = 5000;
    c->sync = FSM_SYNC_FULL;
    c->map_size_mb = 4096;
    c->log_level = QM_LOG_INFO;
}

static int parse_uint(const char *s,
                      unsigned long long max,
                      unsigned long long *out)
{
    if (s == NULL || *s == '\0' || *s == '-') {
        return -1;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

int node_config_check_addr(const char *addr)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr || colon - addr > 15) {
        return -1;
    }
    char host[16];
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    struct in_addr a;
    unsigned long long port;
    if (inet_pton(AF_INET, host, &a) != 1 ||
        parse_uint(colon + 1, 65535, &port) != 0 || port == 0) {
        return -1;
    }
    return 0;
}

#define SET_STR(field, value)                                   \
    (strlen(value) < sizeof(field)                              \
         ? (snprintf((field), sizeof(field), "%s", (value)), 0) \
         : -1)

/* Set one key; @key is the INI "section.name" spelling. 0, or -1 with the
 * reason in @err. */
static int set_key(struct node_config *c,
                   const char *key,
                   const char *v,
                   char err[QM_ERRMSG_SIZE])
{
    unsigned long long n;
    int rv = 0;
    if (strcmp(key, "node.id") == 0) {
        rv = parse_uint(v, QM_NODE_ID_MAX, &n);
        if (rv == 0 && n == 0) {
            rv = -1;
        }
        c->id = n;
    } else if (strcmp(key, "node.data_dir") == 0) {
        rv = SET_STR(c->data_dir, v);
    } else if (strcmp(key, "node.raft_addr") == 0) {
        rv = SET_STR(c->raft_addr, v);
    } else if (strcmp(key, "node.api_addr") == 0) {
        rv = SET_STR(c->api_addr, v);
    } else if (strcmp(key, "node.http_addr") == 0) {
        rv = SET_STR(c->http_addr, strcmp(v, "off") == 0 ? "" : v);
    } else if (strcmp(key, "node.join") == 0) {
        rv = SET_STR(c->join, v);
    } else if (strcmp(key, "node.api_contexts") == 0) {
        rv = parse_uint(v, 4096, &n);
        rv = rv == 0 && n > 0 ? 0 : -1;
        c->api_contexts = (unsigned)n;
    } else if (strcmp(key, "raft.election_timeout_ms") == 0) {
        rv = parse_uint(v, 60000, &n);
        rv = rv == 0 && n >= 10 ? 0 : -1;
        c->election_ms = (unsigned)n;
    } else if (strcmp(key, "raft.heartbeat_timeout_ms") == 0) {
        rv = parse_uint(v, 60000, &n);
        rv = rv == 0 && n >= 1 ? 0 : -1;
        c->heartbeat_ms = (unsigned)n;
    } else if (strcmp(key, "raft.snapshot_threshold") == 0) {
        rv = parse_uint(v, 100000000, &n);
        rv = rv == 0 && n >= 16 ? 0 : -1;
        c->snapshot_threshold = (unsigned)n;
    } else if (strcmp(key, "raft.snapshot_trailing") == 0) {
        rv = parse_uint(v, 100000000, &n);
        rv = rv == 0 && n >= 1 ? 0 : -1;
        c->snapshot_trailing = (unsigned)n;
    } else if (strcmp(key, "raft.install_snapshot_timeout_ms") == 0) {
        rv = parse_uint(v, 3600000, &n);
        rv = rv == 0 && n >= 100 ? 0 : -1;
        c->install_snapshot_ms = (unsigned)n;
    } else if (strcmp(key, "storage.sync") == 0) {
        if (strcmp(v, "full") == 0) {
            c->sync = FSM_SYNC_FULL;
        } else if (strcmp(v, "none") == 0) {
            c->sync = FSM_SYNC_NONE;
        } else {
            rv = -1;
        }
    } else if (strcmp(key, "storage.map_size_mb") == 0) {
        rv = parse_uint(v, 1u << 20, &n);
        rv = rv == 0 && n >= 16 ? 0 : -1;
        c->map_size_mb = (unsigned)n;
    } else if (strcmp(key, "log.level") == 0) {
        c->log_level = qm_log_level_parse(v);
        rv = c->log_level < 0 ? -1 : 0;
    } else {
        snprintf(err, QM_ERRMSG_SIZE, "unknown setting '%s'", key);
        return -1;
    }
    if (rv != 0) {
        snprintf(err, QM_ERRMSG_SIZE, "bad value '%s' for %s", v, key);
    }
    return rv;
}

struct ini_ctx
{
    struct node_config *c;
    char *err;
    int failed;
};

static int on_ini(void *user,
                  const char *section,
                  const char *name,
                  const char *value)
{
    struct ini_ctx *x = user;
    char key[128];
    snprintf(key, sizeof(key), "%s.%s", section, name);
    if (set_key(x->c, key, value, x->err) != 0) {
        x->failed = 1;
        return 0;
    }
    return 1;
}

enum {
    OPT_CONFIG = 256,
    OPT_VERSION,
};

/* Flag -> INI key. */
static const struct
{
    const char *flag;
    const char *key;
} flag_keys[] = {
    {"id", "node.id"},
    {"data-dir", "node.data_dir"},
    {"raft-addr", "node.raft_addr"},
    {"api-addr", "node.api_addr"},
    {"http-addr", "node.http_addr"},
    {"join", "node.join"},
    {"api-contexts", "node.api_contexts"},
    {"election-timeout", "raft.election_timeout_ms"},
    {"heartbeat-timeout", "raft.heartbeat_timeout_ms"},
    {"snapshot-threshold", "raft.snapshot_threshold"},
    {"snapshot-trailing", "raft.snapshot_trailing"},
    {"install-snapshot-timeout", "raft.install_snapshot_timeout_ms"},
    {"sync", "storage.sync"},
    {"map-size-mb", "storage.map_size_mb"},
    {"log-level", "log.level"},
};
#define NFLAGS (sizeof(flag_keys) / sizeof(flag_keys[0]))

static int validate(const struct node_config *c, char err[QM_ERRMSG_SIZE])
{
    if (node_config_check_addr(c->raft_addr) != 0) {
        snprintf(err, QM_ERRMSG_SIZE,
                 "raft address '%s' must be IPv4:port (libraft 0.15 takes no "
                 "host names)",
                 c->raft_addr);
        return -1;
    }
    if (strncmp(c->api_addr, "tcp://", 6) != 0 &&
        strncmp(c->api_addr, "ipc://", 6) != 0 &&
        strncmp(c->api_addr, "tls+tcp://", 10) != 0) {
        snprintf(err, QM_ERRMSG_SIZE,
                 "API address '%s' must start with tcp://, tls+tcp:// or "
                 "ipc://",
                 c->api_addr);
        return -1;
    }
    if (c->http_addr[0] != '\0' && node_config_check_addr(c->http_addr)) {
        snprintf(err, QM_ERRMSG_SIZE,
                 "HTTP address '%s' must be IPv4:port, or 'off'", c->http_addr);
        return -1;
    }
    if (c->heartbeat_ms >= c->election_ms) {
        snprintf(err, QM_ERRMSG_SIZE,
                 "the heartbeat timeout (%u ms) must be below the election "
                 "timeout (%u ms)",
                 c->heartbeat_ms, c->election_ms);
        return -1;
    }
    return 0;
}

int node_config_load(struct node_config *cfg,
                     int argc,
                     char **argv,
                     char err[QM_ERRMSG_SIZE])
{
    struct option opts[NFLAGS + 4];
    for (size_t i = 0; i < NFLAGS; i++) {
        opts[i].name = flag_keys[i].flag;
        opts[i].has_arg = required_argument;
        opts[i].flag = NULL;
        opts[i].val = (int)(1000 + i);
    }
    opts[NFLAGS] =
        (struct option){"config", required_argument, NULL, OPT_CONFIG};
    opts[NFLAGS + 1] = (struct option){"help", no_argument, NULL, 'h'};
    opts[NFLAGS + 2] =
        (struct option){"version", no_argument, NULL, OPT_VERSION};
    opts[NFLAGS + 3] = (struct option){NULL, 0, NULL, 0};

    defaults(cfg);
    /* First pass: --config, --help, --version and unknown flags. */
    const char *config = NULL;
    opterr = 0;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (ch == 'h') {
            node_config_usage(stdout);
            return NODE_CONFIG_EXIT;
        }
        if (ch == OPT_VERSION) {
            printf("qmd %s\n", QMD_VERSION);
            return NODE_CONFIG_EXIT;
        }
        if (ch == OPT_CONFIG) {
            config = optarg;
        } else if (ch == '?' || ch == ':') {
            snprintf(err, QM_ERRMSG_SIZE,
                     "unknown option or missing value: %s (see qmd --help)",
                     argv[optind - 1]);
            return NODE_CONFIG_ERROR;
        }
    }
    if (optind < argc) {
        snprintf(err, QM_ERRMSG_SIZE,
                 "unexpected argument '%s' (see qmd --help)", argv[optind]);
        return NODE_CONFIG_ERROR;
    }
    if (config != NULL) {
        struct ini_ctx x = {cfg, err, 0};
        int rv = ini_parse(config, on_ini, &x);
        if (rv < 0) {
            snprintf(err, QM_ERRMSG_SIZE, "cannot read config file %s: %s",
                     config, strerror(errno));
            return NODE_CONFIG_ERROR;
        }
        if (rv > 0 || x.failed) {
            char why[QM_ERRMSG_SIZE];
            snprintf(why, sizeof(why), "%s", x.failed ? err : "syntax error");
            snprintf(err, QM_ERRMSG_SIZE, "%s line %d: %s", config, rv, why);
            return NODE_CONFIG_ERROR;
        }
    }
    /* Second pass: flags override the file. */
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (ch >= 1000 && ch < 1000 + (int)NFLAGS) {
            if (set_key(cfg, flag_keys[ch - 1000].key, optarg, err) != 0) {
                return NODE_CONFIG_ERROR;
            }
        }
    }
    return validate(cfg, err) == 0 ? NODE_CONFIG_OK : NODE_CONFIG_ERROR;
}
