#include "agent_report.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Kernel TCP states (include/net/tcp_states.h). */
enum {
    TCP_ESTABLISHED_ = 1,
    TCP_TIME_WAIT_ = 6,
    TCP_CLOSE_WAIT_ = 8,
    TCP_LISTEN_ = 10,
};

static uint64_t nonneg(int64_t v)
{
    return v > 0 ? (uint64_t)v : 0;
}

void agent_report_register(const struct agent_config *cfg,
                           const struct agent_service_spec *svcs,
                           unsigned n,
                           const struct agent_sample *smp,
                           struct tp_host_register *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->id, sizeof(out->id), "%s", cfg->host_id);
    snprintf(out->labels, sizeof(out->labels), "%s", cfg->labels);
    snprintf(out->local_api, sizeof(out->local_api), "%s", cfg->local_api);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    out->cpus = cpus > 0 ? (uint64_t)cpus : 0;
    out->mem_bytes = smp->host.mem_total_bytes;
    out->disk_bytes = smp->host.ndisks > 0 ? smp->host.disks[0].total_bytes : 0;
    for (unsigned i = 0; i < n && i < QM_HOST_SERVICES_MAX; i++) {
        struct tp_host_service *s = &out->services[out->nservices++];
        snprintf(s->name, sizeof(s->name), "%s", svcs[i].name);
        snprintf(s->match, sizeof(s->match), "%s", svcs[i].match);
    }
}

static void host_sample(const struct agent_host_sample *h,
                        struct tp_host_sample *out)
{
    memset(out, 0, sizeof(*out));
    out->cpus = nonneg(h->ncpu);
    out->cpu_pm = h->cpu_busy_pm > 0 ? h->cpu_busy_pm : 0;
    out->load1_milli = h->load1_milli > 0 ? h->load1_milli : 0;
    out->mem_total = h->mem_total_bytes;
    out->mem_avail = h->mem_avail_bytes;
    out->swap_total = h->swap_total_bytes;
    out->swap_free = h->swap_free_bytes;
    for (uint32_t i = 0; i < h->ndisks; i++) {
        out->disk_total += h->disks[i].total_bytes;
        out->disk_avail += h->disks[i].avail_bytes;
    }
    out->net_rx_bps = h->net_rx_bps > 0 ? h->net_rx_bps : 0;
    out->net_tx_bps = h->net_tx_bps > 0 ? h->net_tx_bps : 0;
    out->procs = nonneg(h->nprocs);
}

static void svc_sample(const struct agent_service_sample *s,
                       const char *note,
                       const char *enforce,
                       struct tp_svc_sample *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "%s", s->name);
    out->nprocs = nonneg(s->nprocs);
    out->nchildren = nonneg(s->nchildren);
    out->cpu_pm = s->cpu_pm > 0 ? s->cpu_pm : 0;
    out->rss_bytes = s->rss_bytes > 0 ? s->rss_bytes : 0;
    out->fds = nonneg(s->fds);
    out->fd_limit = s->fd_limit > 0 && s->fd_limit < (int64_t)1 << 32
                        ? (uint64_t)s->fd_limit
                        : 0;
    out->threads = nonneg(s->threads);
    out->sockets = nonneg(s->sockets);
    uint64_t other = 0;
    for (int st = 1; st < AGENT_TCP_STATES; st++) {
        other += s->tcp[st];
    }
    out->tcp_established = s->tcp[TCP_ESTABLISHED_];
    out->tcp_listen = s->tcp[TCP_LISTEN_];
    out->tcp_time_wait = s->tcp[TCP_TIME_WAIT_];
    out->tcp_close_wait = s->tcp[TCP_CLOSE_WAIT_];
    out->tcp_other = other - out->tcp_established - out->tcp_listen -
                     out->tcp_time_wait - out->tcp_close_wait;
    snprintf(out->note, sizeof(out->note), "%s", note);
    snprintf(out->enforce, sizeof(out->enforce), "%s", enforce);
}

unsigned agent_report_build(const char *host,
                            const struct agent_sample *smp,
                            uint64_t seq,
                            int64_t at_ms,
                            char (*notes)[QM_NOTE_MAX + 1],
                            char (*enforce)[QM_NOTE_MAX + 1],
                            struct tp_report *parts)
{
    uint32_t n = smp->nservices;
    unsigned nparts =
        n == 0 ? 1 : (n + QM_REPORT_SERVICES_MAX - 1) / QM_REPORT_SERVICES_MAX;
    for (unsigned p = 0; p < nparts; p++) {
        struct tp_report *r = &parts[p];
        memset(r, 0, sizeof(*r));
        snprintf(r->host, sizeof(r->host), "%s", host);
        r->at_ms = at_ms;
        r->seq = seq;
        r->part = p;
        r->nparts = nparts;
        host_sample(&smp->host, &r->sample);
        for (uint32_t i = p * QM_REPORT_SERVICES_MAX;
             i < n && r->nservices < QM_REPORT_SERVICES_MAX; i++) {
            svc_sample(&smp->services[i], notes[i], enforce[i],
                       &r->services[r->nservices++]);
        }
    }
    return nparts;
}
