#include "agent_config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "agent_match.h"
#include "qm_codec.h"
#include "qm_log.h"
#include "qm_parse.h"

#define AGENT_VERSION "0.1.0"

static const char usage_text[] =
    "Usage: qm-agent [OPTIONS]\n"
    "\n"
    "Watch this host and its services for quartermaster: sample them from\n"
    "/proc and cgroups, find leaks before they exhaust a limit, report to\n"
    "the cluster's leader, apply the allocations the ledger holds, and\n"
    "serve a local API on which programs reserve without knowing the\n"
    "cluster.\n"
    "\n"
    "Options (each may also be set in the --config file, [section] key):\n"
    "  --config FILE           INI file read before the flags\n"
    "  --cluster URL[,URL...]  node API URLs ([agent] cluster; $QM_CLUSTER,\n"
    "                          else tcp://127.0.0.1:7101)\n"
    "  --host-id ID            this host's name in the ledger ([agent]\n"
    "                          host_id; the hostname)\n"
    "  --labels K=V[,K=V...]   ([agent] labels)\n"
    "  --local-api URL|off     ipc:// socket for local programs ([agent]\n"
    "                          local_api; ipc:///run/qm-agent.sock as root,\n"
    "                          else ipc:///tmp/qm-agent-UID.sock)\n"
    "  --interval DURATION     sampling interval ([agent] interval; 1s)\n"
    "  --watch NAME=SPEC       watch a service; SPEC is pid:PID, exe:NAME,\n"
    "                          pidfile:PATH or cgroup:PATH (repeatable;\n"
    "                          [service NAME] match = SPEC)\n"
    "  --credit POOL=UNITS     hold a credit of POOL for the local API,\n"
    "                          UNITS at a time ([credit POOL] batch)\n"
    "  --log-level LEVEL       err, warn, notice, info, debug ([agent]\n"
    "                          log_level; info)\n"
    "  -h, --help              this text\n"
    "  --version               print the version\n"
    "\n"
    "Config-file only: [agent] rescan (5s), enforce_every (10s), buffer\n"
    "(300 samples kept while no leader answers), disks (/), credential;\n"
    "[leak] window (60s), min_span (30s), long_window (1h), min_r2 (0.9),\n"
    "min_rise (10), warning_horizon (24h), critical_horizon (1h),\n"
    "clear_hold (60s); [thresholds] cpu (80,95), memory (85,95), disk\n"
    "(80,90) in percent; [service NAME] match, start, stop (\"{pid}\" is\n"
    "the instance), start_mode (detach|wait), exec_timeout (30s),\n"
    "scale_cooldown (10s); [credit POOL] batch, low (a quarter of batch),\n"
    "ttl (30s). Durations take ms, s, m, h, d.\n"
    "\n"
    "The agent never exits because the cluster is away: it keeps sampling,\n"
    "buffers what it has to say, and catches up when a leader answers.\n"
    "SIGTERM or SIGINT stops it cleanly (credits given back).\n";

void agent_config_usage(FILE *out)
{
    fputs(usage_text, out);
}

static void default_host_id(char id[QM_NAME_MAX + 1])
{
    char host[256] = "localhost";
    gethostname(host, sizeof(host) - 1);
    size_t n = 0;
    for (const char *p = host; *p != '\0' && n < QM_NAME_MAX; p++) {
        char ch = *p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
                  ch == '-';
        id[n++] = ok ? ch : '-';
    }
    id[n] = '\0';
}

static void defaults(struct agent_config *c)
{
    memset(c, 0, sizeof(*c));
    const char *env = getenv("QM_CLUSTER");
    snprintf(c->cluster, sizeof(c->cluster), "%s",
             env != NULL && *env != '\0' ? env : "tcp://127.0.0.1:7101");
    default_host_id(c->host_id);
    if (geteuid() == 0) {
        snprintf(c->local_api, sizeof(c->local_api),
                 "ipc:///run/qm-agent.sock");
    } else {
        snprintf(c->local_api, sizeof(c->local_api),
                 "ipc:///tmp/qm-agent-%u.sock", (unsigned)geteuid());
    }
    c->interval_ms = 1000;
    c->rescan_ms = 5000;
    c->enforce_ms = 10000;
    c->buffer = 300;
    c->ndisks = 1;
    snprintf(c->disks[0], sizeof(c->disks[0]), "/");
    agent_leak_conf_default(&c->leak);
    agent_thresh_conf_default(AGENT_UTIL_CPU, &c->thresh[AGENT_UTIL_CPU]);
    agent_thresh_conf_default(AGENT_UTIL_MEMORY, &c->thresh[AGENT_UTIL_MEMORY]);
    agent_thresh_conf_default(AGENT_UTIL_DISK, &c->thresh[AGENT_UTIL_DISK]);
    c->log_level = QM_LOG_INFO;
}

#define SET_STR(field, value)                                   \
    (strlen(value) < sizeof(field)                              \
         ? (snprintf((field), sizeof(field), "%s", (value)), 0) \
         : -1)

/* ---- values ---- */

static int duration(const char *v, int64_t *out)
{
    return qm_parse_duration_ms(v, 1000, 365LL * 86400 * 1000, out);
}

/* "W,C" in percent into per mille. */
static int thresholds(const char *v, struct agent_thresh_conf *t)
{
    char buf[32];
    if (SET_STR(buf, v) != 0) {
        return -1;
    }
    char *comma = strchr(buf, ',');
    uint64_t w, c;
    if (comma == NULL) {
        return -1;
    }
    *comma = '\0';
    if (qm_parse_u64(buf, 100, &w) != 0 || qm_parse_u64(comma + 1, 100, &c) ||
        w == 0 || c < w) {
        return -1;
    }
    t->warn_pm = (uint32_t)w * 10;
    t->crit_pm = (uint32_t)c * 10;
    return 0;
}

static int disks(struct agent_config *c, const char *v)
{
    c->ndisks = 0;
    const char *p = v;
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        if (n == 0 || n >= sizeof(c->disks[0]) || p[0] != '/' ||
            c->ndisks == AGENT_CONF_DISKS_MAX) {
            return -1;
        }
        memcpy(c->disks[c->ndisks], p, n);
        c->disks[c->ndisks++][n] = '\0';
        p += n + (end != NULL);
    }
    return c->ndisks > 0 ? 0 : -1;
}

/* ---- sections ---- */

static int set_agent(struct agent_config *c, const char *k, const char *v)
{
    uint64_t n;
    if (strcmp(k, "cluster") == 0) {
        return SET_STR(c->cluster, v);
    } else if (strcmp(k, "host_id") == 0) {
        return qm_valid_name(v, strlen(v)) ? SET_STR(c->host_id, v) : -1;
    } else if (strcmp(k, "labels") == 0) {
        return SET_STR(c->labels, v);
    } else if (strcmp(k, "local_api") == 0) {
        return strcmp(v, "off") == 0 ? (c->local_api[0] = '\0', 0)
                                     : SET_STR(c->local_api, v);
    } else if (strcmp(k, "credential") == 0) {
        return SET_STR(c->credential, v);
    } else if (strcmp(k, "interval") == 0) {
        return duration(v, &c->interval_ms) != 0 || c->interval_ms < 100 ? -1
                                                                         : 0;
    } else if (strcmp(k, "rescan") == 0) {
        return duration(v, &c->rescan_ms);
    } else if (strcmp(k, "enforce_every") == 0) {
        return duration(v, &c->enforce_ms);
    } else if (strcmp(k, "buffer") == 0) {
        if (qm_parse_u64(v, 100000, &n) != 0 || n == 0) {
            return -1;
        }
        c->buffer = (unsigned)n;
        return 0;
    } else if (strcmp(k, "disks") == 0) {
        return disks(c, v);
    } else if (strcmp(k, "log_level") == 0) {
        c->log_level = qm_log_level_parse(v);
        return c->log_level < 0 ? -1 : 0;
    }
    return -2;
}

static int set_leak(struct agent_leak_conf *l, const char *k, const char *v)
{
    static const struct
    {
        const char *key;
        size_t off;
    } durations[] = {
        {"window", offsetof(struct agent_leak_conf, window_ms)},
        {"min_span", offsetof(struct agent_leak_conf, min_span_ms)},
        {"long_window", offsetof(struct agent_leak_conf, long_window_ms)},
        {"warning_horizon", offsetof(struct agent_leak_conf, warn_horizon_ms)},
        {"critical_horizon", offsetof(struct agent_leak_conf, crit_horizon_ms)},
        {"clear_hold", offsetof(struct agent_leak_conf, clear_hold_ms)},
    };
    for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
        if (strcmp(k, durations[i].key) == 0) {
            int64_t *field = (int64_t *)(void *)((char *)l + durations[i].off);
            return duration(v, field);
        }
    }
    char *end;
    if (strcmp(k, "min_r2") == 0 || strcmp(k, "min_rise") == 0) {
        double d = strtod(v, &end);
        if (*v == '\0' || *end != '\0' || d < 0) {
            return -1;
        }
        *(strcmp(k, "min_r2") == 0 ? &l->min_r2 : &l->min_rise) = d;
        return 0;
    }
    return -2;
}

static int set_thresholds(struct agent_config *c, const char *k, const char *v)
{
    static const char *const names[] = {"cpu", "memory", "disk"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(k, names[i]) == 0) {
            return thresholds(v, &c->thresh[i]);
        }
    }
    return -2;
}

static struct agent_service_conf *service_slot(struct agent_config *c,
                                               const char *name)
{
    for (unsigned i = 0; i < c->nservices; i++) {
        if (strcmp(c->services[i].name, name) == 0) {
            return &c->services[i];
        }
    }
    if (c->nservices == AGENT_CONF_SERVICES_MAX ||
        !qm_valid_name(name, strlen(name)) || strlen(name) > QM_NAME_MAX) {
        return NULL;
    }
    struct agent_service_conf *s = &c->services[c->nservices++];
    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->exec_timeout_ms = 30000;
    s->scale_cooldown_ms = 10000;
    return s;
}

static int set_service(struct agent_service_conf *s,
                       const char *k,
                       const char *v)
{
    struct agent_argv argv;
    char err[QM_ERRMSG_SIZE];
    if (strcmp(k, "match") == 0) {
        struct agent_match m;
        if (agent_match_parse(&m, v, err) != QM_OK) {
            return -1;
        }
        return SET_STR(s->match, v);
    } else if (strcmp(k, "start") == 0 || strcmp(k, "stop") == 0) {
        if (agent_exec_split(v, &argv, err) != QM_OK) {
            return -1;
        }
        return strcmp(k, "start") == 0 ? SET_STR(s->start, v)
                                       : SET_STR(s->stop, v);
    } else if (strcmp(k, "start_mode") == 0) {
        if (strcmp(v, "detach") != 0 && strcmp(v, "wait") != 0) {
            return -1;
        }
        s->start_mode =
            strcmp(v, "wait") == 0 ? AGENT_START_WAIT : AGENT_START_DETACH;
        return 0;
    } else if (strcmp(k, "exec_timeout") == 0) {
        return duration(v, &s->exec_timeout_ms);
    } else if (strcmp(k, "scale_cooldown") == 0) {
        return duration(v, &s->scale_cooldown_ms);
    }
    return -2;
}

static struct agent_credit_conf *credit_slot(struct agent_config *c,
                                             const char *pool)
{
    for (unsigned i = 0; i < c->ncredits; i++) {
        if (strcmp(c->credits[i].pool, pool) == 0) {
            return &c->credits[i];
        }
    }
    if (c->ncredits == AGENT_CONF_CREDITS_MAX ||
        !qm_valid_name(pool, strlen(pool)) || strlen(pool) > QM_NAME_MAX) {
        return NULL;
    }
    struct agent_credit_conf *cr = &c->credits[c->ncredits++];
    memset(cr, 0, sizeof(*cr));
    snprintf(cr->pool, sizeof(cr->pool), "%s", pool);
    cr->batch = 100 * QM_MILLI;
    cr->ttl_ms = QM_CREDIT_TTL_MS;
    return cr;
}

static int set_credit(struct agent_credit_conf *cr,
                      const char *k,
                      const char *v)
{
    uint64_t n;
    if (strcmp(k, "batch") == 0 || strcmp(k, "low") == 0) {
        if (qm_parse_u64(v, QM_TOKENS_MAX / QM_MILLI, &n) != 0 ||
            (n == 0 && k[0] == 'b')) {
            return -1;
        }
        *(k[0] == 'b' ? &cr->batch : &cr->low) = (int64_t)n * QM_MILLI;
        return 0;
    } else if (strcmp(k, "ttl") == 0) {
        return duration(v, &cr->ttl_ms) != 0 || cr->ttl_ms < 2000 ||
                       cr->ttl_ms > QM_CREDIT_TTL_MAX_MS
                   ? -1
                   : 0;
    }
    return -2;
}

/* One key of @section. 0, -1 (bad value), -2 (unknown key or section). */
static int set_key(struct agent_config *c,
                   const char *section,
                   const char *k,
                   const char *v)
{
    if (strcmp(section, "agent") == 0) {
        return set_agent(c, k, v);
    } else if (strcmp(section, "leak") == 0) {
        return set_leak(&c->leak, k, v);
    } else if (strcmp(section, "thresholds") == 0) {
        return set_thresholds(c, k, v);
    } else if (strncmp(section, "service ", 8) == 0) {
        struct agent_service_conf *s = service_slot(c, section + 8);
        return s != NULL ? set_service(s, k, v) : -1;
    } else if (strncmp(section, "credit ", 7) == 0) {
        struct agent_credit_conf *cr = credit_slot(c, section + 7);
        return cr != NULL ? set_credit(cr, k, v) : -1;
    }
    return -2;
}

/* ---- the file ---- */

struct ini_ctx
{
    struct agent_config *c;
    char *err;
    bool failed;
};

static int on_ini(void *user,
                  const char *section,
                  const char *name,
                  const char *value)
{
    struct ini_ctx *x = user;
    if (x->failed) {
        return 0;
    }
    int rv = set_key(x->c, section, name, value);
    if (rv != 0) {
        snprintf(x->err, QM_ERRMSG_SIZE, "[%s] %s: %s", section, name,
                 rv == -2 ? "unknown key" : "invalid value");
        x->failed = true;
        return 0;
    }
    return 1;
}

static int load_file(struct agent_config *c,
                     const char *path,
                     char err[QM_ERRMSG_SIZE])
{
    struct ini_ctx x = {c, err, false};
    int rv = ini_parse(path, on_ini, &x);
    if (rv < 0) {
        snprintf(err, QM_ERRMSG_SIZE, "cannot read config file %s", path);
        return -1;
    }
    if (x.failed) {
        return -1;
    }
    if (rv > 0) {
        snprintf(err, QM_ERRMSG_SIZE, "%s:%d: not an INI line", path, rv);
        return -1;
    }
    return 0;
}

/* ---- flags ---- */

int agent_config_watch(struct agent_config *cfg,
                       const char *arg,
                       char err[QM_ERRMSG_SIZE])
{
    const char *eq = strchr(arg, '=');
    char name[QM_NAME_MAX + 1];
    if (eq == NULL || eq == arg || (size_t)(eq - arg) > QM_NAME_MAX) {
        snprintf(err, QM_ERRMSG_SIZE, "--watch %s: expected NAME=SPEC", arg);
        return -1;
    }
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = '\0';
    struct agent_service_conf *s = service_slot(cfg, name);
    if (s == NULL || set_service(s, "match", eq + 1) != 0) {
        snprintf(err, QM_ERRMSG_SIZE,
                 "--watch %s: a service name of [A-Za-z0-9._-] (at most %d "
                 "services) and a spec pid:PID, exe:NAME, pidfile:PATH or "
                 "cgroup:PATH",
                 arg, AGENT_CONF_SERVICES_MAX);
        return -1;
    }
    return 0;
}

static int credit_flag(struct agent_config *cfg,
                       const char *arg,
                       char err[QM_ERRMSG_SIZE])
{
    const char *eq = strchr(arg, '=');
    char pool[QM_NAME_MAX + 1];
    struct agent_credit_conf *cr = NULL;
    if (eq != NULL && eq != arg && (size_t)(eq - arg) <= QM_NAME_MAX) {
        memcpy(pool, arg, (size_t)(eq - arg));
        pool[eq - arg] = '\0';
        cr = credit_slot(cfg, pool);
    }
    if (cr == NULL || set_credit(cr, "batch", eq + 1) != 0) {
        snprintf(err, QM_ERRMSG_SIZE, "--credit %s: expected POOL=UNITS", arg);
        return -1;
    }
    return 0;
}

enum {
    OPT_CONFIG = 256,
    OPT_CLUSTER,
    OPT_HOST_ID,
    OPT_LABELS,
    OPT_LOCAL_API,
    OPT_INTERVAL,
    OPT_WATCH,
    OPT_CREDIT,
    OPT_LOG_LEVEL,
    OPT_VERSION,
};

static const struct option options[] = {
    {"config", required_argument, NULL, OPT_CONFIG},
    {"cluster", required_argument, NULL, OPT_CLUSTER},
    {"host-id", required_argument, NULL, OPT_HOST_ID},
    {"labels", required_argument, NULL, OPT_LABELS},
    {"local-api", required_argument, NULL, OPT_LOCAL_API},
    {"interval", required_argument, NULL, OPT_INTERVAL},
    {"watch", required_argument, NULL, OPT_WATCH},
    {"credit", required_argument, NULL, OPT_CREDIT},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* Flags that map onto an [agent] key. */
static const char *agent_key(int opt)
{
    switch (opt) {
        case OPT_CLUSTER:
            return "cluster";
        case OPT_HOST_ID:
            return "host_id";
        case OPT_LABELS:
            return "labels";
        case OPT_LOCAL_API:
            return "local_api";
        case OPT_INTERVAL:
            return "interval";
        case OPT_LOG_LEVEL:
            return "log_level";
        default:
            return NULL;
    }
}

static int apply_flag(struct agent_config *c,
                      int opt,
                      const char *arg,
                      char err[QM_ERRMSG_SIZE])
{
    if (opt == OPT_WATCH) {
        return agent_config_watch(c, arg, err);
    }
    if (opt == OPT_CREDIT) {
        return credit_flag(c, arg, err);
    }
    const char *key = agent_key(opt);
    if (key == NULL || set_agent(c, key, arg) != 0) {
        snprintf(err, QM_ERRMSG_SIZE, "invalid value for --%s: %s",
                 key != NULL ? key : "?", arg);
        return -1;
    }
    return 0;
}

/* Checks that need the whole configuration. */
static int finish(struct agent_config *c, char err[QM_ERRMSG_SIZE])
{
    for (unsigned i = 0; i < c->nservices; i++) {
        if (c->services[i].match[0] == '\0') {
            snprintf(err, QM_ERRMSG_SIZE, "[service %s] needs a match",
                     c->services[i].name);
            return -1;
        }
    }
    for (unsigned i = 0; i < c->ncredits; i++) {
        struct agent_credit_conf *cr = &c->credits[i];
        if (cr->low == 0) {
            cr->low = cr->batch / 4;
        }
    }
    c->leak.interval_ms = c->interval_ms;
    if (agent_leak_conf_check(&c->leak) != QM_OK) {
        snprintf(err, QM_ERRMSG_SIZE,
                 "[leak]: windows must hold at least 4 samples, spans be "
                 "shorter than their windows, 0 < critical_horizon <= "
                 "warning_horizon");
        return -1;
    }
    return 0;
}

int agent_config_load(struct agent_config *cfg,
                      int argc,
                      char **argv,
                      char err[QM_ERRMSG_SIZE])
{
    defaults(cfg);
    /* The config file first, wherever --config is on the line. */
    for (int i = 1; i < argc; i++) {
        const char *file = NULL;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            file = argv[i + 1];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            file = argv[i] + 9;
        }
        if (file != NULL && load_file(cfg, file, err) != 0) {
            return AGENT_CONFIG_ERROR;
        }
    }
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        if (opt == 'h') {
            agent_config_usage(stdout);
            return AGENT_CONFIG_EXIT;
        } else if (opt == OPT_VERSION) {
            printf("qm-agent %s\n", AGENT_VERSION);
            return AGENT_CONFIG_EXIT;
        } else if (opt == '?' || opt == ':') {
            snprintf(err, QM_ERRMSG_SIZE, "%s option %s; see qm-agent --help",
                     opt == ':' ? "missing value for" : "unknown",
                     argv[optind - 1]);
            return AGENT_CONFIG_ERROR;
        } else if (opt != OPT_CONFIG && apply_flag(cfg, opt, optarg, err)) {
            return AGENT_CONFIG_ERROR;
        }
    }
    if (optind < argc) {
        snprintf(err, QM_ERRMSG_SIZE, "unexpected argument %s", argv[optind]);
        return AGENT_CONFIG_ERROR;
    }
    return finish(cfg, err) == 0 ? AGENT_CONFIG_OK : AGENT_CONFIG_ERROR;
}
