/* Hosts: host list|get|delete. A host is shown as its agent registered it
 * (replicated) joined with the leader's latest sample (soft state), with
 * "source" saying which one last_seen_ms comes from. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_host.h"

#define RECENT_ACTIONS 10

/* ---- formatting ---- */

int64_t cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *cli_fmt_bytes(char buf[16], int64_t bytes)
{
    static const char units[] = "KMGTPE";
    if (bytes < 1024) {
        snprintf(buf, 16, "%lld", (long long)bytes);
        return buf;
    }
    int u = 0;
    int64_t scale = 1024;
    while (u < 5 && bytes / scale >= 1024) {
        scale *= 1024;
        u++;
    }
    int64_t whole = bytes / scale;
    int64_t tenth = bytes % scale / (scale / 10);
    if (whole < 10 && tenth != 0) {
        snprintf(buf, 16, "%lld.%lld%c", (long long)whole, (long long)tenth,
                 units[u]);
    } else {
        snprintf(buf, 16, "%lld%c", (long long)whole, units[u]);
    }
    return buf;
}

const char *cli_fmt_age(char buf[16], int64_t ms, int64_t now_ms)
{
    static const struct
    {
        int64_t ms;
        char unit;
    } steps[] = {{86400000, 'd'}, {3600000, 'h'}, {60000, 'm'}, {1000, 's'}};
    if (ms == 0) {
        snprintf(buf, 16, "-");
        return buf;
    }
    int64_t age = now_ms > ms ? now_ms - ms : 0;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        if (age >= steps[i].ms || steps[i].unit == 's') {
            snprintf(buf, 16, "%lld%c", (long long)(age / steps[i].ms),
                     steps[i].unit);
            break;
        }
    }
    return buf;
}

/* ---- JSON ---- */

/* "role=trading,rack=a" as {"role": "trading", "rack": "a"}. */
static void labels_json(struct cli_json *j, const char *labels)
{
    char buf[QM_LABELS_MAX + 1];
    snprintf(buf, sizeof(buf), "%s", labels);
    cj_obj(j);
    for (char *p = buf; *p != '\0';) {
        size_t n = strcspn(p, ",");
        bool last = p[n] == '\0';
        p[n] = '\0';
        char *eq = strchr(p, '=');
        if (eq != NULL) {
            *eq = '\0';
        }
        cj_key(j, p);
        cj_str(j, eq != NULL ? eq + 1 : "");
        p += last ? n : n + 1;
    }
    cj_obj_end(j);
}

static void kv_int(struct cli_json *j, const char *key, int64_t v)
{
    cj_key(j, key);
    cj_int(j, v);
}

static void kv_uint(struct cli_json *j, const char *key, uint64_t v)
{
    cj_key(j, key);
    cj_uint(j, v);
}

/* Per mille as a percentage with one decimal. */
static void kv_pct(struct cli_json *j, const char *key, int64_t pm)
{
    cj_key(j, key);
    cj_fixed(j, pm, 1);
}

static void sample_json(struct cli_json *j, const struct qm_host_metrics *m)
{
    const struct qm_host_sample *s = &m->sample;
    cj_obj(j);
    kv_int(j, "at_ms", m->at_ms);
    kv_uint(j, "seq", m->seq);
    kv_uint(j, "cpus", s->cpus);
    kv_pct(j, "cpu_pct", s->cpu_pm);
    kv_pct(j, "cpu_pct_avg", m->cpu_pm_avg);
    kv_pct(j, "cpu_pct_max", m->cpu_pm_max);
    kv_uint(j, "window", m->window);
    cj_key(j, "load1");
    cj_fixed(j, s->load1_milli, 3);
    kv_int(j, "mem_total", s->mem_total);
    kv_int(j, "mem_avail", s->mem_avail);
    kv_int(j, "swap_total", s->swap_total);
    kv_int(j, "swap_free", s->swap_free);
    kv_int(j, "disk_total", s->disk_total);
    kv_int(j, "disk_avail", s->disk_avail);
    kv_int(j, "net_rx_bytes_per_sec", s->net_rx_bps);
    kv_int(j, "net_tx_bytes_per_sec", s->net_tx_bps);
    kv_uint(j, "procs", s->procs);
    cj_obj_end(j);
}

static void tcp_json(struct cli_json *j, const struct qm_service_sample *s)
{
    cj_obj(j);
    kv_uint(j, "established", s->tcp_established);
    kv_uint(j, "listen", s->tcp_listen);
    kv_uint(j, "time_wait", s->tcp_time_wait);
    kv_uint(j, "close_wait", s->tcp_close_wait);
    kv_uint(j, "other", s->tcp_other);
    cj_obj_end(j);
}

static void svc_json(struct cli_json *j, const struct cli_svc_view *sv)
{
    const struct qm_service_sample *s = sv->s;
    cj_obj(j);
    cj_key(j, "name");
    cj_str(j, sv->name);
    cj_key(j, "match");
    if (sv->match != NULL) {
        cj_str(j, sv->match);
    } else {
        cj_null(j);
    }
    cj_key(j, "sampled");
    cj_bool(j, s != NULL);
    if (s != NULL) {
        kv_uint(j, "procs", s->procs);
        kv_uint(j, "children", s->children);
        kv_pct(j, "cpu_pct", s->cpu_pm);
        kv_int(j, "rss_bytes", s->rss_bytes);
        kv_int(j, "mem_limit", s->mem_limit);
        kv_uint(j, "fds", s->fds);
        kv_uint(j, "fd_limit", s->fd_limit);
        kv_uint(j, "threads", s->threads);
        kv_uint(j, "sockets", s->sockets);
        cj_key(j, "tcp");
        tcp_json(j, s);
        cj_key(j, "note");
        cj_str(j, s->note);
        cj_key(j, "enforce");
        cj_str(j, s->enforce);
    }
    cj_obj_end(j);
}

void cli_host_json(struct cli_json *j, const struct cli_host_view *v, bool open)
{
    const struct qm_host *h = &v->host;
    const char *source;
    int64_t seen = cli_host_last_seen(v, &source);
    cj_obj(j);
    cj_key(j, "id");
    cj_str(j, h->id);
    cj_key(j, "labels");
    labels_json(j, h->labels);
    kv_int(j, "last_seen_ms", seen);
    cj_key(j, "source");
    cj_str(j, source);
    kv_int(j, "registered_ms", h->registered_ms);
    kv_int(j, "updated_ms", h->updated_ms);
    kv_uint(j, "cpus", h->cpus);
    kv_int(j, "mem_bytes", h->mem_bytes);
    kv_int(j, "disk_bytes", h->disk_bytes);
    cj_key(j, "local_api");
    if (h->local_api[0] != '\0') {
        cj_str(j, h->local_api);
    } else {
        cj_null(j);
    }
    kv_uint(j, "alloc_version", h->alloc_version);
    cj_key(j, "sample");
    if (v->sampled) {
        sample_json(j, &v->m);
    } else {
        cj_null(j);
    }
    struct cli_svc_view sv[CLI_SVC_VIEWS_MAX];
    unsigned n = cli_host_services(v, sv);
    cj_key(j, "services");
    cj_arr(j);
    for (unsigned i = 0; i < n; i++) {
        svc_json(j, &sv[i]);
    }
    cj_arr_end(j);
    if (!open) {
        cj_obj_end(j);
    }
}

/* ---- tables ---- */

void cli_svc_header(FILE *out, const char *first)
{
    fprintf(out, "%-24s %6s %6s %7s %13s %7s %7s %16s %s\n", first, "PROCS",
            "CPU%", "RSS", "FDS/LIMIT", "THREADS", "SOCKETS", "TCP EST/LIS/TW",
            "NOTE");
}

void cli_svc_row(FILE *out,
                 const char *label,
                 const struct qm_service_sample *s)
{
    if (s == NULL) {
        fprintf(out, "%-24s %6s %6s %7s %13s %7s %7s %16s %s\n", label, "-",
                "-", "-", "-", "-", "-", "-", "(no sample)");
        return;
    }
    char cpu[40], rss[16], fds[48], tcp[72];
    char lim[24] = "-";
    if (s->fd_limit != 0) {
        snprintf(lim, sizeof(lim), "%llu", (unsigned long long)s->fd_limit);
    }
    snprintf(fds, sizeof(fds), "%llu/%s", (unsigned long long)s->fds, lim);
    snprintf(tcp, sizeof(tcp), "%llu/%llu/%llu",
             (unsigned long long)s->tcp_established,
             (unsigned long long)s->tcp_listen,
             (unsigned long long)s->tcp_time_wait);
    fprintf(out, "%-24s %6llu %6s %7s %13s %7llu %7llu %16s %s%s%s\n", label,
            (unsigned long long)s->procs, cli_fmt_fixed(cpu, s->cpu_pm, 1),
            cli_fmt_bytes(rss, s->rss_bytes), fds,
            (unsigned long long)s->threads, (unsigned long long)s->sockets, tcp,
            s->note, s->note[0] && s->enforce[0] ? "; " : "", s->enforce);
}

static void host_header(void)
{
    printf("%-24s %-28s %8s %6s %6s %13s %6s %s\n", "HOST", "LABELS",
           "SERVICES", "CPU%", "LOAD1", "MEM AVAIL", "SEEN", "SOURCE");
}

static void host_row(const struct cli_host_view *v, int64_t now)
{
    const char *source;
    int64_t seen = cli_host_last_seen(v, &source);
    char svc[24], cpu[40] = "-", load[40] = "-", mem[40] = "-", age[16];
    snprintf(svc, sizeof(svc), "%u/%u", v->sampled ? v->m.nservices : 0,
             v->host.nservices);
    if (v->sampled) {
        char a[16], t[16];
        cli_fmt_fixed(cpu, v->m.sample.cpu_pm, 1);
        cli_fmt_fixed(load, v->m.sample.load1_milli, 3);
        snprintf(mem, sizeof(mem), "%s/%s",
                 cli_fmt_bytes(a, v->m.sample.mem_avail),
                 cli_fmt_bytes(t, v->m.sample.mem_total));
    }
    printf("%-24s %-28s %8s %6s %6s %13s %6s %s\n", v->host.id,
           v->host.labels[0] ? v->host.labels : "-", svc, cpu, load, mem,
           cli_fmt_age(age, seen, now), source);
}

/* ---- host list ---- */

/* The "page" of host list: one joined host at a time, from the iterator
 * (which pages through the registrations and the samples itself). */
struct host_page
{
    struct cli_hosts *it;
    int64_t now;
    const struct cli_host_view *v;
};

static int host_fetch(struct cli *c,
                      void *page,
                      const void *arg,
                      unsigned *n,
                      bool *more,
                      struct qm_result *res)
{
    (void)arg;
    struct host_page *pg = page;
    int rv = cli_hosts_next(c, pg->it, &pg->v, res);
    *n = rv == QM_OK && pg->v != NULL ? 1 : 0;
    *more = *n == 1;
    return rv;
}

static void host_item(struct cli *c, void *page, unsigned i)
{
    (void)i;
    const struct host_page *pg = page;
    if (c->json) {
        cli_host_json(&c->j, pg->v, false);
    } else {
        host_row(pg->v, pg->now);
    }
}

int cli_host_list(struct cli *c,
                  const struct cli_cmd *cmd,
                  int argc,
                  char **argv)
{
    static const struct cli_list list = {
        .what = "host list",
        .empty = "(no hosts)",
        .header = host_header,
        .size = sizeof(struct host_page),
        .fetch = host_fetch,
        .item = host_item,
    };
    char *pos[1];
    int rv = cli_args(cmd, argc, argv, pos, 0);
    struct host_page pg = {rv == CLI_OK ? cli_hosts_new() : NULL, cli_now_ms(),
                           NULL};
    if (pg.it == NULL) {
        return rv != CLI_OK ? rv : cli_fail(c, QM_ENOMEM, NULL, "host list");
    }
    rv = cli_list_run(c, &list, &pg, NULL);
    cli_hosts_free(pg.it);
    return rv;
}

/* ---- host get ---- */

/* What host get shows besides the host: its allocations and its most
 * recent actions (the last RECENT_ACTIONS, oldest first). */
struct host_extra
{
    struct qm_alloc allocs[QM_HOST_SERVICES_MAX];
    unsigned nallocs;
    struct qm_action page[QM_PAGE_MAX];
    struct qm_action recent[RECENT_ACTIONS];
    unsigned nrecent; /* actions seen; the ring holds the last ones */
};

static int extra_fetch(struct cli *c,
                       const char *id,
                       struct host_extra *x,
                       struct qm_result *res)
{
    bool more;
    int rv = qm_alloc_list(c->client, id, NULL, c->stale, x->allocs,
                           QM_HOST_SERVICES_MAX, &x->nallocs, &more, res);
    uint64_t after = 0;
    more = true;
    while (rv == QM_OK && more) {
        unsigned n;
        rv = qm_action_list(c->client, id, after, c->stale, x->page,
                            QM_PAGE_MAX, &n, &more, res);
        for (unsigned i = 0; rv == QM_OK && i < n; i++) {
            x->recent[x->nrecent++ % RECENT_ACTIONS] = x->page[i];
            after = x->page[i].id;
        }
        more = more && n > 0;
    }
    return rv;
}

/* The i-th most recent action kept, oldest first. */
static unsigned recent_count(const struct host_extra *x)
{
    return x->nrecent < RECENT_ACTIONS ? x->nrecent : RECENT_ACTIONS;
}

static const struct qm_action *recent_at(const struct host_extra *x, unsigned i)
{
    return &x->recent[(x->nrecent - recent_count(x) + i) % RECENT_ACTIONS];
}

static void host_get_json(struct cli *c,
                          const struct cli_host_view *v,
                          const struct host_extra *x)
{
    cli_host_json(&c->j, v, true);
    cj_key(&c->j, "allocations");
    cj_arr(&c->j);
    for (unsigned i = 0; i < x->nallocs; i++) {
        cli_alloc_json(&c->j, &x->allocs[i]);
    }
    cj_arr_end(&c->j);
    cj_key(&c->j, "actions");
    cj_arr(&c->j);
    for (unsigned i = 0; i < recent_count(x); i++) {
        cli_action_json(&c->j, recent_at(x, i));
    }
    cj_arr_end(&c->j);
    cj_obj_end(&c->j);
    cj_done(&c->j);
}

/* The host's own lines: registration and host sample. */
static void host_show(const struct cli_host_view *v)
{
    const struct qm_host *h = &v->host;
    const struct qm_host_sample *s = &v->m.sample;
    const char *source;
    char t[32], age[16], b1[16], b2[16];
    int64_t seen = cli_host_last_seen(v, &source);
    printf("host %s\n  labels      %s\n", h->id,
           h->labels[0] ? h->labels : "-");
    printf("  last seen   %s (%s ago, %s)\n", cli_fmt_time(t, seen),
           cli_fmt_age(age, seen, cli_now_ms()), source);
    printf("  registered  %s", cli_fmt_time(t, h->registered_ms));
    printf(", updated %s\n", cli_fmt_time(t, h->updated_ms));
    printf("  capacity    %llu cpus, %s memory, %s disk\n",
           (unsigned long long)h->cpus, cli_fmt_bytes(b1, h->mem_bytes),
           cli_fmt_bytes(b2, h->disk_bytes));
    printf("  services   ");
    for (unsigned i = 0; i < h->nservices; i++) {
        printf(" %s (%s)%s", h->services[i].name, h->services[i].match,
               i + 1 < h->nservices ? "," : "");
    }
    printf("%s\n", h->nservices == 0 ? " -" : "");
    if (h->local_api[0] != '\0') {
        printf("  agent api   %s\n", h->local_api);
    }
    if (!v->sampled) {
        printf(
            "  sample      none: the host has not reported to this leader\n");
        return;
    }
    char cpu[40], avg[40], max[40], load[40];
    printf(
        "  cpu         %s%% of %llu cpus (avg %s%%, max %s%% over %llu), "
        "load %s\n",
        cli_fmt_fixed(cpu, s->cpu_pm, 1), (unsigned long long)s->cpus,
        cli_fmt_fixed(avg, v->m.cpu_pm_avg, 1),
        cli_fmt_fixed(max, v->m.cpu_pm_max, 1), (unsigned long long)v->m.window,
        cli_fmt_fixed(load, s->load1_milli, 3));
    printf("  memory      %s available of %s", cli_fmt_bytes(b1, s->mem_avail),
           cli_fmt_bytes(b2, s->mem_total));
    printf("; swap %s free of %s\n", cli_fmt_bytes(b1, s->swap_free),
           cli_fmt_bytes(b2, s->swap_total));
    printf("  disk        %s available of %s\n",
           cli_fmt_bytes(b1, s->disk_avail), cli_fmt_bytes(b2, s->disk_total));
    printf("  network     rx %s/s", cli_fmt_bytes(b1, s->net_rx_bps));
    printf(", tx %s/s; %llu processes\n", cli_fmt_bytes(b2, s->net_tx_bps),
           (unsigned long long)s->procs);
}

static void host_get_text(const struct cli_host_view *v,
                          const struct host_extra *x)
{
    host_show(v);
    struct cli_svc_view sv[CLI_SVC_VIEWS_MAX];
    unsigned n = cli_host_services(v, sv);
    printf("\n");
    cli_svc_header(stdout, "SERVICE");
    for (unsigned i = 0; i < n; i++) {
        cli_svc_row(stdout, sv[i].name, sv[i].s);
    }
    printf("\nallocations\n");
    if (x->nallocs > 0) {
        cli_alloc_header();
    }
    for (unsigned i = 0; i < x->nallocs; i++) {
        cli_alloc_row(&x->allocs[i]);
    }
    printf("%s\nrecent actions\n", x->nallocs == 0 ? "(none)" : "");
    if (recent_count(x) > 0) {
        cli_action_header();
    }
    for (unsigned i = 0; i < recent_count(x); i++) {
        cli_action_row(recent_at(x, i));
    }
    if (recent_count(x) == 0) {
        printf("(none)\n");
    }
}

int cli_host_get(struct cli *c,
                 const struct cli_cmd *cmd,
                 int argc,
                 char **argv)
{
    char *pos[1];
    int rv = cli_args(cmd, argc, argv, pos, 1);
    if (rv != CLI_OK) {
        return rv;
    }
    struct cli_host_view *v = calloc(1, sizeof(*v));
    struct host_extra *x = calloc(1, sizeof(*x));
    struct qm_result res;
    rv = v != NULL && x != NULL ? cli_host_view_get(c, pos[0], v, &res)
                                : QM_ENOMEM;
    if (rv == QM_OK) {
        rv = extra_fetch(c, pos[0], x, &res);
    }
    if (rv == QM_OK) {
        if (c->json) {
            host_get_json(c, v, x);
        } else {
            host_get_text(v, x);
        }
    }
    free(v);
    free(x);
    return rv == QM_OK ? CLI_OK
                       : cli_fail(c, rv, rv == QM_ENOMEM ? NULL : &res,
                                  "host get %s", pos[0]);
}

/* ---- host delete ---- */

int cli_host_delete(struct cli *c,
                    const struct cli_cmd *cmd,
                    int argc,
                    char **argv)
{
    char *pos[1];
    struct qm_result res;
    int rv = cli_args(cmd, argc, argv, pos, 1);
    if (rv == CLI_OK) {
        rv = qm_host_delete(c->client, pos[0], &res);
        rv = rv == QM_OK ? cli_ok(c)
                         : cli_fail(c, rv, &res, "host delete %s", pos[0]);
    }
    return rv;
}
