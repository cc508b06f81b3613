#include "th_msg_host.h"

#include <stdio.h>
#include <string.h>

#define SET(dst, ...) snprintf((dst), sizeof(dst), __VA_ARGS__)

void th_host_register_make(struct tp_host_register *r, const char *id)
{
    memset(r, 0, sizeof(*r));
    SET(r->id, "%s", id);
    SET(r->labels, "role=trading,rack=a");
    r->cpus = 8;
    r->mem_bytes = 16LL << 30;
    r->disk_bytes = 500LL << 30;
    SET(r->local_api, "ipc:///run/qm-agent.sock");
    r->nservices = 2;
    SET(r->services[0].name, "web");
    SET(r->services[0].match, "exe:nginx");
    SET(r->services[1].name, "db");
    SET(r->services[1].match, "pidfile:/run/postgresql/15-main.pid");
}

static void report_make(struct tp_report *r)
{
    SET(r->host, "h1");
    r->at_ms = 1700000000000;
    r->seq = 5;
    r->nparts = 1;
    r->sample.cpus = 8;
    r->sample.cpu_pm = 250;
    r->sample.mem_total = 16LL << 30;
    r->sample.mem_avail = 8LL << 30;
    r->sample.procs = 300;
    r->nservices = 1;
    struct tp_svc_sample *s = &r->services[0];
    SET(s->name, "web");
    s->nprocs = 4;
    s->cpu_pm = 120;
    s->rss_bytes = 64 << 20;
    s->fds = 120;
    s->fd_limit = 1024;
    s->threads = 9;
    s->tcp_established = 30;
    s->tcp_listen = 2;
    SET(s->note, "fds growing 1.00/s, exhaustion in 15m");
}

bool th_host_valid_args(const struct qm_schema *s, union tp_args *a)
{
    memset(a, 0, sizeof(*a));
    if (s == &tp_host_register_schema) {
        th_host_register_make(&a->host_register, "h1");
    } else if (s == &tp_host_id_schema) {
        SET(a->host_id.id, "h1");
    } else if (s == &tp_report_schema) {
        report_make(&a->report);
    } else if (s == &tp_metrics_args_schema) {
        SET(a->metrics.after, "h0");
        a->metrics.limit = 2;
    } else if (s == &tp_alloc_schema) {
        SET(a->alloc.host, "h1");
        SET(a->alloc.service, "web");
        a->alloc.set = TP_ALLOC_NICE | TP_ALLOC_CPUS | TP_ALLOC_MEMORY_MAX;
        a->alloc.nice = -5;
        SET(a->alloc.cpus, "0-3,6");
        a->alloc.memory_max = 1LL << 30;
    } else if (s == &tp_alloc_key_schema) {
        SET(a->alloc_key.host, "h1");
        SET(a->alloc_key.service, "web");
    } else if (s == &tp_alloc_list_args_schema) {
        SET(a->alloc_list.host, "h1");
        a->alloc_list.limit = 10;
    } else if (s == &tp_action_schema) {
        SET(a->action.host, "h1");
        SET(a->action.service, "web");
        SET(a->action.action, "start");
        a->action.ok = true;
        SET(a->action.message, "started pid 4242");
    } else if (s == &tp_action_list_args_schema) {
        SET(a->action_list.host, "h1");
        a->action_list.after = 3;
    } else if (s == &tp_alert_raise_schema) {
        SET(a->alert_raise.kind, "leak");
        SET(a->alert_raise.subject, "h1/web");
        SET(a->alert_raise.topic, "fds");
        SET(a->alert_raise.severity, "warning");
        SET(a->alert_raise.message, "fds growing 1.00/s");
    } else if (s == &tp_credit_grant_schema) {
        SET(a->credit_grant.host, "h1");
        SET(a->credit_grant.pool, "openai");
        a->credit_grant.amount = 100000;
        a->credit_grant.min = 1000;
        a->credit_grant.ttl_ms = 10000;
    } else if (s == &tp_credit_return_schema) {
        a->credit_return.id = 7;
        a->credit_return.unused = 500;
    } else if (s == &tp_credit_list_args_schema) {
        SET(a->credit_list.host, "h1");
    } else {
        return false;
    }
    return true;
}
