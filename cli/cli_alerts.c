/* alerts: the recent alerts, or with --follow every new one as it comes
 * (polled once a second) until SIGINT or SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli.h"

#define FOLLOW_POLL_MS 1000
#define FOLLOW_NAP_MS 100

/* Set by the signal handler to end --follow. The one global besides the
 * const tables: a handler can reach nothing else. */
static volatile sig_atomic_t follow_stop;

struct alert_page
{
    uint64_t after; /* the last alert printed */
    struct qm_alert items[QM_PAGE_MAX];
};

static void alert_json(struct cli_json *j, const struct qm_alert *a)
{
    cj_obj(j);
    cj_key(j, "id");
    cj_uint(j, a->id);
    cj_key(j, "kind");
    cj_str(j, a->kind);
    cj_key(j, "subject");
    cj_str(j, a->subject);
    cj_key(j, "severity");
    cj_str(j, a->severity);
    cj_key(j, "at_ms");
    cj_int(j, a->at_ms);
    cj_key(j, "message");
    cj_str(j, a->message);
    cj_obj_end(j);
}

static void alert_header(void)
{
    printf("%-8s %-20s %-8s %-16s %-24s %s\n", "ID", "TIME", "SEVERITY", "KIND",
           "SUBJECT", "MESSAGE");
}

static int alert_fetch(struct cli *c,
                       void *page,
                       const void *arg,
                       unsigned *n,
                       bool *more,
                       struct qm_result *res)
{
    struct alert_page *pg = page;
    (void)arg;
    int rv = qm_alert_list(c->client, pg->after, c->stale, pg->items,
                           QM_PAGE_MAX, n, more, res);
    if (rv == QM_OK && *n > 0) {
        pg->after = pg->items[*n - 1].id;
    }
    return rv;
}

/* One alert: a JSON value (a whole line when following) or a row. */
static void alert_item(struct cli *c, void *page, unsigned i)
{
    const struct qm_alert *a = &((struct alert_page *)page)->items[i];
    char t[32];
    if (!c->json) {
        printf("%-8llu %-20s %-8s %-16s %-24s %s\n", (unsigned long long)a->id,
               cli_fmt_time(t, a->at_ms), a->severity, a->kind, a->subject,
               a->message);
        return;
    }
    alert_json(&c->j, a);
    if (c->j.compact) {
        cj_done(&c->j);
    }
}

/* While following, each poll prints its new alerts and nothing around
 * them, and lets them out at once. */
static void follow_begin(struct cli *c, void *page)
{
    (void)c;
    (void)page;
}

static void follow_end(struct cli *c, void *page, unsigned total)
{
    (void)c;
    (void)page;
    (void)total;
    fflush(stdout);
}

static void on_signal(int sig)
{
    (void)sig;
    follow_stop = 1;
}

/* Sleep @ms, in naps that notice a signal. */
static void nap(int64_t ms)
{
    struct timespec ts = {0, FOLLOW_NAP_MS * 1000000L};
    for (int64_t t = 0; t < ms && !follow_stop; t += FOLLOW_NAP_MS) {
        nanosleep(&ts, NULL);
    }
}

static int follow(struct cli *c)
{
    static const struct cli_list list = {
        .what = "alerts --follow",
        .size = sizeof(struct alert_page),
        .fetch = alert_fetch,
        .item = alert_item,
        .begin = follow_begin,
        .end = follow_end,
    };
    struct alert_page *pg = calloc(1, sizeof(*pg));
    if (pg == NULL) {
        fprintf(stderr, "qmctl: alerts --follow: out of memory\n");
        return CLI_ERROR;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    c->j.compact = true;
    if (!c->json) {
        alert_header();
    }
    int rv = CLI_OK;
    while (rv == CLI_OK && !follow_stop) {
        rv = cli_list_run(c, &list, pg, NULL);
        nap(FOLLOW_POLL_MS);
    }
    free(pg);
    return rv;
}

int cli_alerts(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv)
{
    static const struct cli_list list = {
        .what = "alerts",
        .empty = "(no alerts)",
        .header = alert_header,
        .size = sizeof(struct alert_page),
        .fetch = alert_fetch,
        .item = alert_item,
    };
    struct cli_opt opts[] = {CLI_FLAG("follow")};
    char *pos[1];
    int npos;
    int rv = cli_parse(cmd, argc, argv, opts, 1, pos, 0, 0, &npos);
    if (rv != CLI_OK) {
        return rv;
    }
    return opts[0].set ? follow(c) : cli_list_run(c, &list, NULL, NULL);
}
