/* top: a live view of the hosts and their services, redrawn every
 * --interval from the registrations and the leader's samples. On a
 * terminal it draws in the alternate screen with ANSI codes (no curses),
 * fitted to the window, and restores the screen on Ctrl-C or SIGTERM;
 * elsewhere (a pipe, a file) it prints plain frames one after another.
 * --once draws one plain frame and exits. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli_host.h"

#define INTERVAL_MIN_MS 100
#define INTERVAL_MAX_MS 3600000

/* ANSI: the alternate screen and the cursor, home, clear to the end of
 * the line and of the screen. */
#define ESC_ENTER "\033[?1049h\033[?25l"
#define ESC_LEAVE "\033[?25h\033[?1049l"
#define ESC_HOME "\033[H"
#define ESC_EOL "\033[K"
#define ESC_EOS "\033[J"

/* Set by the signal handler to end the view. The one global besides the
 * const tables: a handler can reach nothing else. */
static volatile sig_atomic_t top_stop;

struct top
{
    struct cli *c;
    bool live;           /* drawing on a terminal, in place */
    int64_t interval_ms; /* between frames */
};

static void on_signal(int sig)
{
    (void)sig;
    top_stop = 1;
}

/* ---- a frame ---- */

/* The line of a host: its sample in brief, or why there is none. */
static void host_line(FILE *f, const struct cli_host_view *v, int64_t now)
{
    const char *source;
    char age[16], cpu[40], load[40], b1[16], b2[16];
    int64_t seen = cli_host_last_seen(v, &source);
    fprintf(f, "%s", v->host.id);
    if (v->host.labels[0] != '\0') {
        fprintf(f, " [%s]", v->host.labels);
    }
    if (!v->sampled) {
        fprintf(f, "  no sample on this leader; registered %s ago\n",
                cli_fmt_age(age, seen, now));
        return;
    }
    const struct qm_host_sample *s = &v->m.sample;
    fprintf(f, "  cpu %s%% of %llu, load %s", cli_fmt_fixed(cpu, s->cpu_pm, 1),
            (unsigned long long)s->cpus,
            cli_fmt_fixed(load, s->load1_milli, 3));
    fprintf(f, ", mem %s/%s avail", cli_fmt_bytes(b1, s->mem_avail),
            cli_fmt_bytes(b2, s->mem_total));
    fprintf(f, ", net %s/%s B/s", cli_fmt_bytes(b1, s->net_rx_bps),
            cli_fmt_bytes(b2, s->net_tx_bps));
    fprintf(f, ", seen %s ago\n", cli_fmt_age(age, seen, now));
}

/* Every host and its services, sorted by host then service. */
static int hosts_draw(struct cli *c,
                      FILE *f,
                      char leader[QM_URL_MAX + 1],
                      struct qm_result *res)
{
    struct cli_hosts *it = cli_hosts_new();
    if (it == NULL) {
        snprintf(res->message, sizeof(res->message), "out of memory");
        return QM_ENOMEM;
    }
    int64_t now = cli_now_ms();
    const struct cli_host_view *v;
    unsigned hosts = 0;
    int rv;
    cli_svc_header(f, "HOST/SERVICE");
    while ((rv = cli_hosts_next(c, it, &v, res)) == QM_OK && v != NULL) {
        struct cli_svc_view sv[CLI_SVC_VIEWS_MAX];
        unsigned n = cli_host_services(v, sv);
        host_line(f, v, now);
        for (unsigned i = 0; i < n; i++) {
            char label[QM_NAME_MAX + 3];
            snprintf(label, sizeof(label), "  %s", sv[i].name);
            cli_svc_row(f, label, sv[i].s);
        }
        hosts++;
    }
    memcpy(leader, cli_hosts_leader(it), QM_URL_MAX + 1);
    cli_hosts_free(it);
    if (rv == QM_OK && hosts == 0) {
        fprintf(f, "(no hosts registered)\n");
    }
    return rv;
}

/* The first line: who answers, and when. */
static void title(const struct top *t, FILE *f, const char *leader)
{
    struct qm_node_info *info = calloc(1, sizeof(*info));
    struct qm_result res;
    char when[32], every[40];
    fprintf(f, "qmctl top  %s  every %ss", cli_fmt_time(when, cli_now_ms()),
            cli_fmt_fixed(every, t->interval_ms, 3));
    if (leader[0] == '\0') {
        fprintf(f, "  leader unknown\n");
    } else if (info != NULL &&
               qm_node_info(t->c->client, leader, info, &res) == QM_OK) {
        fprintf(f, "  leader node %llu (%s), term %llu\n",
                (unsigned long long)info->id, leader,
                (unsigned long long)info->term);
    } else {
        fprintf(f, "  leader %s\n", leader);
    }
    free(info);
}

/* Draw one frame into @f; QM_OK, or the failure (also written in the
 * frame). */
static int frame(const struct top *t, FILE *f, struct qm_result *res)
{
    char leader[QM_URL_MAX + 1] = "";
    char *body = NULL;
    size_t len = 0;
    FILE *b = open_memstream(&body, &len);
    if (b == NULL) {
        snprintf(res->message, sizeof(res->message), "out of memory");
        return QM_ENOMEM;
    }
    int rv = hosts_draw(t->c, b, leader, res);
    fclose(b);
    title(t, f, leader);
    if (rv != QM_OK) {
        fprintf(f, "error: %s (%s)%s\n", res->message, qm_errname(rv),
                t->live ? "; trying again" : "");
    }
    fwrite(body, 1, len, f);
    free(body);
    return rv;
}

/* ---- the screen ---- */

/* Write @text to stdout within @rows lines of @cols columns, each line
 * clearing what was there before, then the rest of the screen. */
static void screen_put(const char *text, int rows, int cols)
{
    fputs(ESC_HOME, stdout);
    int row = 0;
    for (const char *p = text; *p != '\0' && row < rows - 1; row++) {
        size_t n = strcspn(p, "\n");
        size_t w = n < (size_t)cols ? n : (size_t)cols;
        /* Cut at a character, not inside one. */
        while (w < n && w > 0 && ((unsigned char)p[w] & 0xc0) == 0x80) {
            w--;
        }
        fwrite(p, 1, w, stdout);
        fputs(ESC_EOL "\n", stdout);
        p += n + (p[n] == '\n' ? 1 : 0);
    }
    fputs(ESC_EOS, stdout);
    fflush(stdout);
}

static void window_size(int *rows, int *cols)
{
    struct winsize ws;
    *rows = 24;
    *cols = 80;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 2 &&
        ws.ws_col > 10) {
        *rows = ws.ws_row;
        *cols = ws.ws_col;
    }
}

/* Sleep @ms unless a signal comes first. */
static void pause_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    if (!top_stop) {
        nanosleep(&ts, NULL); /* a signal cuts it short (no SA_RESTART) */
    }
}

/* Frames until a signal: in place on a terminal, else one after another. */
static int run(const struct top *t)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (t->live) {
        fputs(ESC_ENTER, stdout);
    }
    while (!top_stop) {
        struct qm_result res;
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (f == NULL) {
            break;
        }
        frame(t, f, &res);
        fclose(f);
        if (t->live) {
            int rows, cols;
            window_size(&rows, &cols);
            screen_put(text, rows, cols);
        } else {
            printf("%s\n", text);
            fflush(stdout);
        }
        free(text);
        pause_ms(t->interval_ms);
    }
    if (t->live) {
        fputs(ESC_LEAVE, stdout);
        fflush(stdout);
    }
    return CLI_OK;
}

int cli_top(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv)
{
    enum { T_INTERVAL, T_ONCE };
    struct cli_opt opts[] = {
        [T_INTERVAL] = CLI_VALUE("interval"), [T_ONCE] = CLI_FLAG("once")};
    char *pos[1];
    int npos;
    struct top t = {c, false, 1000};
    int rv = cli_parse(cmd, argc, argv, opts, 2, pos, 0, 0, &npos);
    if (rv != CLI_OK) {
        return rv;
    }
    if (c->json) {
        return cli_usage_error(cmd,
                               "top draws a terminal view; for JSON use "
                               "'qmctl --json host list'");
    }
    if (opts[T_INTERVAL].set &&
        (cli_parse_fixed(opts[T_INTERVAL].value, 3, false, INTERVAL_MAX_MS,
                         &t.interval_ms) != 0 ||
         t.interval_ms < INTERVAL_MIN_MS)) {
        return cli_usage_error(cmd,
                               "--interval wants seconds, 0.1..3600 with up "
                               "to 3 decimals, got '%s'",
                               opts[T_INTERVAL].value);
    }
    if (!opts[T_ONCE].set) {
        t.live = isatty(STDOUT_FILENO) == 1;
        return run(&t);
    }
    struct qm_result res;
    rv = frame(&t, stdout, &res);
    return rv == QM_OK ? CLI_OK : cli_fail(c, rv, &res, "top");
}
