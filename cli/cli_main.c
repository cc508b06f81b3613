/* qmctl: global flags, the command table, dispatch and exit codes. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define QMCTL_VERSION "0.1.0"
#define DEFAULT_CLUSTER "tcp://127.0.0.1:7101"

static const struct cli_cmd commands[] = {
    {"status", NULL, "",
     "members, leader, term, commit and applied index per member", cli_status},
    {"member", "add", "ID RAFT_ADDR API_URL",
     "add a voter (start it with qmd --join, or before it)", cli_member},
    {"member", "remove", "ID", "remove a member from the cluster", cli_member},
    {"member", "transfer", "ID", "hand leadership to member ID", cli_member},
    {"pool", "create",
     "NAME --capacity N [--refill PER_SEC] [--cost USD_PER_UNIT] [--kind "
     "shared|reserved|dedicated] [--owner CLIENT] [--reserve CLIENT=N|"
     "tier:TIER=N ...] | --preset ai-apis",
     "create a token-bucket pool (full at creation); an owner makes it "
     "dedicated, shares (--reserve) make it reserved",
     cli_pool_create},
    {"pool", "get", "NAME", "show one pool", cli_pool_get},
    {"pool", "list", "", "list all pools", cli_pool_list},
    {"pool", "delete", "NAME", "delete a pool", cli_pool_delete},
    {"acquire", NULL, "POOL N [--client ID]",
     "take N units now (charged to the client), or exit 3 with the time "
     "after which they are there",
     cli_acquire},
    {"client", "create", "ID --tier TIER [--budget USD]",
     "add a client to a tier, with a monthly budget of its own or its "
     "tier's",
     cli_client_create},
    {"client", "set", "ID [--tier TIER] [--budget USD|default]",
     "move a client to a tier, or change its budget", cli_client_set},
    {"client", "get", "ID", "show a client's budget and this month's spending",
     cli_client_get},
    {"client", "list", "", "list all clients", cli_client_list},
    {"tier", "get", "TIER",
     "show a tier (enterprise, premium, standard, basic)", cli_tier_get},
    {"tier", "set",
     "TIER [--priority P] [--max-concurrent N] [--budget USD|custom]",
     "change a tier; --budget custom leaves budgets to its clients",
     cli_tier_set},
    {"tier", "list", "", "list the tiers", cli_tier_list},
    {"reserve", NULL, "--client ID [--ttl SECONDS] POOL=N [POOL=N ...]",
     "set tokens aside for a client until commit, release or the TTL "
     "(60 s); exit 3 or 4 when refused",
     cli_reserve},
    {"commit", NULL, "RES [POOL=USED ...] | RES --used N",
     "close a reservation, charging what was used (all of it if not said)",
     cli_commit},
    {"release", NULL, "RES", "close a reservation without using it",
     cli_release},
    {"reservation", "list", "[--client ID]", "list open reservations",
     cli_reservation_list},
    {"reservation", "get", "RES", "show one reservation", cli_reservation_get},
    {"usage", NULL, "CLIENT [--month YYYY-MM]",
     "what a client used and spent in a month, per pool", cli_usage},
    {"cost", "estimate", "POOL=N [POOL=N ...]",
     "what using these amounts would cost now", cli_cost_estimate},
    {"alerts", NULL, "[--follow]",
     "recent alerts; --follow prints new ones as they come until ^C",
     cli_alerts},
    {"queue", "submit",
     "--client ID --tier TIER [--urgency 0-30] [--needs POOL=N ...] "
     "[--payload TEXT|@FILE] [--deadline SECONDS] [--attempts N]",
     "queue a request for a client in a queue tier (immediate, fast, "
     "normal, batch, deferred); its needs are reserved when it is leased; "
     "@FILE reads the payload from a file (@- stdin), 64 KiB at most",
     cli_queue_submit},
    {"queue", "get", "REQ", "show a request (q17 or 17)", cli_queue_get},
    {"queue", "cancel", "REQ",
     "cancel a queued or running request, then show it", cli_queue_cancel},
    {"queue", "position", "REQ", "a request's place in line and estimated wait",
     cli_queue_position},
    {"queue", "list", "[--client ID] [--tier T] [--state S]",
     "list requests (states: queued, running, done, failed, cancelled)",
     cli_queue_list},
    {"queue", "stats", "",
     "per queue tier: requests queued and running, and done, failed, "
     "cancelled, timed out and dispatched so far",
     cli_queue_stats},
    {"queue", "lease", "--worker W [--lease SECONDS]",
     "take the next request to work on, its needs reserved; exit 3 when "
     "nothing can be leased. Its payload prints as a string, or, when it is "
     "not UTF-8, in base64 (with --json: \"payload_base64\": true)",
     cli_queue_lease},
    {"queue", "complete", "REQ [POOL=USED ...] [--attempt N]",
     "finish a leased request, charging what it used (all its needs if not "
     "said); --attempt: the lease's, so a lease lost to another worker "
     "cannot complete",
     cli_queue_complete},
    {"queue", "fail", "REQ [--reason TEXT] [--attempt N]",
     "give a leased request up; it is queued again until its attempts are "
     "spent",
     cli_queue_fail},
    {"queue", "settings", "", "show the queue settings", cli_queue_settings},
    {"queue", "settings set",
     "[--w-tier PERMILLE] [--w-urgency PERMILLE] [--w-wait PERMILLE] "
     "[--w-fair PERMILLE] [--aging-ms MS] [--fair-half-life-ms MS] "
     "[--fair-scale N] [--starve-ms MS] [--alert-queue-len N] "
     "[--offpeak HH:MM-HH:MM|none] [--lease-ms MS] [--max-attempts N]",
     "change the given queue settings, keep the others",
     cli_queue_settings_set},
    {"host", "list", "",
     "registered hosts with the leader's latest sample of each (source: "
     "report) or, after an election until their agents report again, "
     "their registration only (source: registration)",
     cli_host_list},
    {"host", "get", "ID",
     "one host: labels, capacity, the host's and each service's latest "
     "sample, its allocations and its recent actions",
     cli_host_get},
    {"host", "delete", "ID",
     "forget a host and its allocations (its agent registers it again "
     "when it next reports)",
     cli_host_delete},
    {"alloc", "set",
     "HOST/SERVICE [--nice N] [--cpus LIST] [--nofile N] [--nproc N] "
     "[--cpu-weight W] [--cpu-max QUOTA_US|max[/PERIOD_US]] "
     "[--memory-high BYTES|max] [--memory-max BYTES|max] [--instances N] "
     "[--unset FIELD[,FIELD...] ...]",
     "change what a service on a host is given; fields not named stay. "
     "Sizes take K, M, G, T suffixes (powers of 1024: 512M, 2G); nice "
     "-20..19, cpu-weight 1..10000, period 1000..1000000 us (100000)",
     cli_alloc_set},
    {"alloc", "get", "HOST/SERVICE", "show a service's allocation",
     cli_alloc_get},
    {"alloc", "list", "HOST", "list the allocations of a host's services",
     cli_alloc_list},
    {"action", "list", "[--host ID]",
     "what agents did (apply, start, stop), oldest first", cli_action_list},
    {"credit", "list", "[--host ID]",
     "credits agents hold: pool tokens taken for their local API",
     cli_credit_list},
    {"top", NULL, "[--interval SECONDS] [--once]",
     "live view of hosts and services, redrawn every interval (1 s) until "
     "^C; --once prints one frame",
     cli_top},
    {"debug", "digest", "[--all]",
     "digest of the addressed node's state (--all: of every member)",
     cli_digest},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

#define HELP_WIDTH 79

/* Print @text from column @col, folding it at spaces onto lines that
 * start at column @indent. */
static void wrap(FILE *out, int col, int indent, const char *text)
{
    bool line_start = true;
    for (const char *p = text; *p != '\0'; p += strspn(p, " ")) {
        int w = (int)strcspn(p, " ");
        if (!line_start && col + 1 + w > HELP_WIDTH) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
        } else if (!line_start) {
            fputc(' ', out);
            col++;
        }
        fprintf(out, "%.*s", w, p);
        col += w;
        p += w;
        line_start = false;
    }
    fputc('\n', out);
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: qmctl [--cluster URL[,URL...]] [--json] [--timeout "
            "SECONDS] [--stale]\n"
            "             NOUN [VERB] [ARGS...]\n"
            "\n"
            "Administer a quartermaster cluster.\n"
            "\n"
            "Global flags (before the command):\n"
            "  --cluster URLS   node API URLs, comma-separated (default "
            "$QM_CLUSTER,\n"
            "                   else %s)\n"
            "  --json           print one JSON document\n"
            "  --timeout SECS   deadline of the whole command, retries "
            "included (10)\n"
            "  --stale          read the addressed node's own state, no "
            "leader round trip\n"
            "  -h, --help       this text; qmctl NOUN --help for a noun\n"
            "  --version        print the version\n"
            "\nCommands:\n",
            DEFAULT_CLUSTER);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        char name[48];
        snprintf(name, sizeof(name), "%s%s%s", commands[i].noun,
                 commands[i].verb ? " " : "",
                 commands[i].verb ? commands[i].verb : "");
        int col = fprintf(out, "  %-17s ", name);
        wrap(out, col > 20 ? col : 20, 20, commands[i].help);
        if (commands[i].usage[0] != '\0') {
            char line[512];
            snprintf(line, sizeof(line), "%s %s", name, commands[i].usage);
            fprintf(out, "%22s", "");
            wrap(out, 22, 26, line);
        }
    }
    fprintf(out,
            "\nAmounts are units with up to 3 decimals; money is US "
            "dollars.\n"
            "Exit codes: 0 ok, 1 error, 2 usage, 3 denied, 4 budget "
            "exceeded,\n"
            "5 unavailable (no leader or quorum before the deadline; a "
            "write's outcome\n"
            "may then be unknown).\n");
}

int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "qmctl: %s\nusage: qmctl %s%s%s %s\n", msg, cmd->noun,
            cmd->verb ? " " : "", cmd->verb ? cmd->verb : "", cmd->usage);
    return CLI_USAGE;
}

static struct cli_opt *find_opt(struct cli_opt *opts,
                                size_t nopts,
                                const char *name,
                                size_t len)
{
    for (size_t k = 0; k < nopts; k++) {
        if (strlen(opts[k].name) == len &&
            strncmp(opts[k].name, name, len) == 0) {
            return &opts[k];
        }
    }
    return NULL;
}

int cli_parse(const struct cli_cmd *cmd,
              int argc,
              char **argv,
              struct cli_opt *opts,
              size_t nopts,
              char **pos,
              int min,
              int max,
              int *npos)
{
    *npos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            if (*npos == max) {
                return cli_usage_error(cmd, "unexpected argument '%s'", a);
            }
            pos[(*npos)++] = argv[i];
            continue;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        struct cli_opt *o = find_opt(opts, nopts, name, len);
        if (o == NULL) {
            return cli_usage_error(cmd, "unknown flag '%s'", a);
        }
        o->set = true;
        if (!o->has_value) {
            if (eq != NULL) {
                return cli_usage_error(cmd, "flag --%s takes no value",
                                       o->name);
            }
            continue;
        }
        if (eq != NULL) {
            o->value = eq + 1;
        } else if (i + 1 < argc) {
            o->value = argv[++i];
        } else {
            return cli_usage_error(cmd, "flag --%s needs a value", o->name);
        }
        if (o->values != NULL) {
            if (o->n == o->max) {
                return cli_usage_error(cmd, "flag --%s given over %u times",
                                       o->name, o->max);
            }
            o->values[o->n++] = o->value;
        }
    }
    if (*npos < min) {
        return cli_usage_error(cmd, "missing arguments");
    }
    return CLI_OK;
}

static int exit_code(int status)
{
    switch (status) {
        case QM_OK:
            return CLI_OK;
        case QM_DENIED:
            return CLI_DENIED;
        case QM_BUDGET_EXCEEDED:
            return CLI_BUDGET;
        case QM_UNAVAILABLE:
        case QM_NOT_LEADER:
        case QM_ETIMEDOUT:
        case QM_ECONN:
            return CLI_UNAVAILABLE;
        default:
            return CLI_ERROR;
    }
}

int cli_args(const struct cli_cmd *cmd,
             int argc,
             char **argv,
             char **pos,
             int n)
{
    int npos;
    return cli_parse(cmd, argc, argv, NULL, 0, pos, n, n, &npos);
}

int cli_fail(struct cli *c,
             int status,
             const struct qm_result *res,
             const char *what,
             ...)
{
    char call[128];
    va_list ap;
    va_start(ap, what);
    vsnprintf(call, sizeof(call), what, ap);
    va_end(ap);
    const char *msg =
        res != NULL && res->message[0] ? res->message : qm_strerror(status);
    const char *hint = "";
    char buf[160] = "";
    switch (exit_code(status)) {
        case CLI_UNAVAILABLE:
            snprintf(buf, sizeof(buf),
                     "; is a quorum of the cluster up? check --cluster (%s) "
                     "and 'qmctl status'",
                     c->cluster);
            hint = buf;
            break;
        case CLI_DENIED:
            if (res != NULL && res->retry_after_ms > 0) {
                snprintf(buf, sizeof(buf), "; retry after %lld ms",
                         (long long)res->retry_after_ms);
                hint = buf;
            }
            break;
        default:
            break;
    }
    fprintf(stderr, "qmctl: %s: %s (%s)%s\n", call, msg, qm_errname(status),
            hint);
    return exit_code(status);
}

int cli_ok(struct cli *c)
{
    if (c->json) {
        cj_obj(&c->j);
        cj_key(&c->j, "ok");
        cj_bool(&c->j, true);
        cj_obj_end(&c->j);
        cj_done(&c->j);
    } else {
        printf("OK\n");
    }
    return CLI_OK;
}

int cli_refused(struct cli *c,
                int status,
                const struct qm_result *res,
                const char *what,
                const char *name)
{
    return cli_refused_as(c, "granted", status, res, what, name);
}

int cli_refused_as(struct cli *c,
                   const char *key,
                   int status,
                   const struct qm_result *res,
                   const char *what,
                   const char *name)
{
    if (c->json) {
        cj_obj(&c->j);
        cj_key(&c->j, key);
        cj_bool(&c->j, false);
        cj_key(&c->j, "status");
        cj_str(&c->j, qm_errname(status));
        if (status == QM_DENIED) {
            cj_key(&c->j, "retry_after_ms");
            cj_int(&c->j, res->retry_after_ms);
        }
        cj_key(&c->j, "message");
        cj_str(&c->j, res->message);
        cj_obj_end(&c->j);
        cj_done(&c->j);
    }
    return cli_fail(c, status, res, "%s %s", what, name);
}

/* How many of the words @argv[0..argc) the verb @verb ("settings set")
 * spells; 0 if it does not. */
static int verb_words(const char *verb, int argc, char **argv)
{
    int n = 0;
    for (const char *p = verb;; p++) {
        size_t w = strcspn(p, " ");
        if (n == argc || strlen(argv[n]) != w || strncmp(argv[n], p, w) != 0) {
            return 0;
        }
        n++;
        p += w;
        if (*p == '\0') {
            return n;
        }
    }
}

/* The command @argv (noun, verb words, arguments) names: the one whose
 * verb spells the most words. *words: how many words name it. */
static const struct cli_cmd *find(int argc,
                                  char **argv,
                                  bool *noun_known,
                                  int *words)
{
    const struct cli_cmd *best = NULL;
    *noun_known = false;
    *words = 0;
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(commands[i].noun, argv[0]) != 0) {
            continue;
        }
        *noun_known = true;
        int n = commands[i].verb == NULL
                    ? 1
                    : 1 + verb_words(commands[i].verb, argc - 1, argv + 1);
        if (n > *words && (n > 1 || commands[i].verb == NULL)) {
            best = &commands[i];
            *words = n;
        }
    }
    return best;
}

static void noun_usage(FILE *out, const char *noun)
{
    fprintf(out, "usage:\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(commands[i].noun, noun) == 0) {
            fprintf(out, "  qmctl %s %s %s\n      %s\n", noun,
                    commands[i].verb ? commands[i].verb : "", commands[i].usage,
                    commands[i].help);
        }
    }
}

static int first_url(struct cli *c)
{
    const char *end = strchr(c->cluster, ',');
    size_t n = end ? (size_t)(end - c->cluster) : strlen(c->cluster);
    if (n > QM_URL_MAX) {
        return -1;
    }
    memcpy(c->first_url, c->cluster, n);
    c->first_url[n] = '\0';
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    struct cli c;
    memset(&c, 0, sizeof(c));
    c.cluster = getenv("QM_CLUSTER");
    if (c.cluster == NULL || c.cluster[0] == '\0') {
        c.cluster = DEFAULT_CLUSTER;
    }
    c.timeout_ms = 10000;
    static const struct option opts[] = {
        {"cluster", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 't'},
        {"stale", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    /* '+': stop at the first non-option (the noun). */
    while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (ch) {
            case 'c':
                c.cluster = optarg;
                break;
            case 'j':
                c.json = true;
                break;
            case 's':
                c.stale = true;
                break;
            case 't': {
                char *end;
                errno = 0;
                double s = strtod(optarg, &end);
                if (errno != 0 || *end != '\0' || !(s > 0) || s > 86400) {
                    fprintf(stderr,
                            "qmctl: --timeout wants seconds (0 < s <= "
                            "86400), got '%s'\n",
                            optarg);
                    return CLI_USAGE;
                }
                c.timeout_ms = (int64_t)(s * 1000);
                break;
            }
            case 'h':
                usage(stdout);
                return CLI_OK;
            case 'V':
                printf("qmctl %s\n", QMCTL_VERSION);
                return CLI_OK;
            default:
                fprintf(stderr, "qmctl: see qmctl --help\n");
                return CLI_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *noun = argv[optind];
    const char *verb = optind + 1 < argc ? argv[optind + 1] : NULL;
    bool noun_known;
    int words;
    const struct cli_cmd *cmd =
        find(argc - optind, argv + optind, &noun_known, &words);
    if (cmd == NULL) {
        if (!noun_known) {
            fprintf(stderr, "qmctl: unknown command '%s' (see qmctl --help)\n",
                    noun);
        } else if (verb != NULL &&
                   (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0)) {
            noun_usage(stdout, noun);
            return CLI_OK;
        } else {
            if (verb != NULL) {
                fprintf(stderr, "qmctl: unknown %s command '%s'\n", noun, verb);
            }
            noun_usage(stderr, noun);
        }
        return CLI_USAGE;
    }
    int skip = optind + words;
    for (int i = skip; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: qmctl %s%s%s %s\n  %s\n", cmd->noun,
                   cmd->verb ? " " : "", cmd->verb ? cmd->verb : "", cmd->usage,
                   cmd->help);
            return CLI_OK;
        }
    }
    if (first_url(&c) != 0) {
        fprintf(stderr, "qmctl: --cluster URL too long\n");
        return CLI_USAGE;
    }
    struct qm_options qo = {c.timeout_ms, 0, getenv("QM_TOKEN")};
    if (qo.attempt_timeout_ms == 0 && c.timeout_ms < 2000) {
        qo.attempt_timeout_ms = c.timeout_ms;
    }
    char err[QM_ERRMSG_SIZE];
    int rv = qm_client_new(&c.client, c.cluster, &qo, err);
    if (rv != QM_OK) {
        fprintf(stderr, "qmctl: --cluster %s: %s\n", c.cluster, err);
        return CLI_USAGE;
    }
    cj_init(&c.j, stdout);
    rv = cmd->run(&c, cmd, argc - skip, argv + skip);
    qm_client_free(c.client);
    return rv;
}
