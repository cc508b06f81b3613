/* qm-agent: the host agent. The main thread samples the host and its
 * services every interval, turns what it sees into findings, reports and
 * allocations applied, and scaling actions; the link thread talks to the
 * cluster; the local API serves programs on this host (agent_local.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent_apply.h"
#include "agent_cgroup.h"
#include "agent_collect.h"
#include "agent_config.h"
#include "agent_credit.h"
#include "agent_link.h"
#include "agent_local.h"
#include "agent_report.h"
#include "agent_scale.h"
#include "agent_watch.h"
#include "qm_alloc.h"
#include "qm_call.h"
#include "qm_log.h"

/* The agent watches itself too, under this service name. */
#define SELF_SERVICE "qm-agent"

struct agent
{
    struct agent_config cfg;
    struct qm_client *client;
    struct agent_collect *collect;
    struct agent_watch *watch;
    struct agent_link *link;
    struct agent_credits *credits;
    struct agent_local *local;
    struct agent_scale *scale;
    struct agent_apply *apply;
    struct agent_sample *smp;
    struct tp_report parts[AGENT_REPORT_PARTS_MAX];
    struct tp_alloc allocs[QM_HOST_SERVICES_MAX];
    char notes[AGENT_SERVICES_MAX][QM_NOTE_MAX + 1];
    char enforce[AGENT_SERVICES_MAX][QM_NOTE_MAX + 1];
    int64_t want[AGENT_CONF_SERVICES_MAX];
    unsigned nsvcs;
    struct agent_service_spec svcs[AGENT_SERVICES_MAX];
    char self_match[32];
    char cgroup_root[AGENT_CGROUP_PATH_MAX];
    uint64_t seq;
    sigset_t signals;
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_alert(void *arg, const struct tp_alert_raise *a)
{
    struct agent *ag = arg;
    qm_log(strcmp(a->severity, "resolved") == 0 ? QM_LOG_NOTICE : QM_LOG_WARN,
           "AGNT0002", "%s %s %s: %s", a->kind, a->severity, a->subject,
           a->message);
    agent_link_alert(ag->link, a);
}

static void on_action(void *arg, const struct tp_action *a)
{
    struct agent *ag = arg;
    agent_link_action(ag->link, a);
}

/* ---- start-up ---- */

static void services(struct agent *ag)
{
    for (unsigned i = 0; i < ag->cfg.nservices; i++) {
        ag->svcs[i].name = ag->cfg.services[i].name;
        ag->svcs[i].match = ag->cfg.services[i].match;
    }
    snprintf(ag->self_match, sizeof(ag->self_match), "pid:%d", (int)getpid());
    ag->svcs[ag->cfg.nservices].name = SELF_SERVICE;
    ag->svcs[ag->cfg.nservices].match = ag->self_match;
    ag->nsvcs = ag->cfg.nservices + 1;
    for (unsigned i = 0; i < ag->cfg.nservices; i++) {
        ag->want[i] = -1;
    }
}

static int open_collect(struct agent *ag, char err[QM_ERRMSG_SIZE])
{
    const char *disks[AGENT_CONF_DISKS_MAX];
    for (unsigned i = 0; i < ag->cfg.ndisks; i++) {
        disks[i] = ag->cfg.disks[i];
    }
    if (agent_cgroup_find_mount("/proc/self/mountinfo", ag->cgroup_root,
                                sizeof(ag->cgroup_root)) != QM_OK) {
        ag->cgroup_root[0] = '\0';
    }
    struct agent_collect_opts o = {
        .cgroup_root = ag->cgroup_root[0] != '\0' ? ag->cgroup_root : NULL,
        .rescan_ms = ag->cfg.rescan_ms,
        .disk_paths = disks,
        .ndisk_paths = ag->cfg.ndisks,
    };
    return agent_collect_new(&ag->collect, ag->svcs, ag->nsvcs, &o, err);
}

static int open_cluster(struct agent *ag, char err[QM_ERRMSG_SIZE])
{
    struct qm_options o = {5000, 1000, ag->cfg.credential};
    int rv = qm_client_new(&ag->client, ag->cfg.cluster, &o, err);
    if (rv != QM_OK) {
        return rv;
    }
    /* The first sample gives the capacity the registration states. */
    agent_collect_sample(ag->collect, qm__mono_ms(), ag->smp);
    struct tp_host_register *reg = qm_malloc(sizeof(*reg));
    if (reg == NULL) {
        return QM_ENOMEM;
    }
    agent_report_register(&ag->cfg, ag->svcs, ag->nsvcs, ag->smp, reg);
    rv = agent_link_start(&ag->link, ag->client, reg, ag->cfg.buffer);
    qm_free(reg);
    if (rv != QM_OK) {
        snprintf(err, QM_ERRMSG_SIZE, "cannot start the cluster link");
        return rv;
    }
    rv = agent_credits_new(&ag->credits, ag->client, ag->cfg.host_id,
                           ag->cfg.credits, ag->cfg.ncredits);
    if (rv == QM_OK && ag->cfg.local_api[0] != '\0') {
        rv = agent_local_start(&ag->local, ag->cfg.local_api, ag->client,
                               ag->credits, err);
    }
    return rv;
}

static int start(struct agent *ag, char err[QM_ERRMSG_SIZE])
{
    services(ag);
    ag->smp = qm_calloc(1, sizeof(*ag->smp));
    if (ag->smp == NULL) {
        return QM_ENOMEM;
    }
    int rv = open_collect(ag, err);
    if (rv == QM_OK &&
        agent_watch_new(&ag->watch, ag->cfg.host_id, &ag->cfg.leak,
                        ag->cfg.thresh) != QM_OK) {
        snprintf(err, QM_ERRMSG_SIZE, "bad [leak] or [thresholds] settings");
        rv = QM_ECONFIG;
    }
    if (rv == QM_OK) {
        rv = agent_scale_new(&ag->scale, &ag->cfg);
    }
    if (rv == QM_OK) {
        rv = agent_apply_new(&ag->apply, &ag->cfg, ag->cgroup_root);
    }
    if (rv == QM_OK) {
        rv = open_cluster(ag, err);
    }
    return rv;
}

static void stop(struct agent *ag)
{
    agent_local_stop(ag->local);
    agent_credits_free(ag->credits);
    if (ag->link != NULL) {
        agent_link_stop(ag->link, 2000);
    }
    if (ag->client != NULL) {
        qm_client_free(ag->client);
    }
    agent_apply_free(ag->apply);
    agent_scale_free(ag->scale);
    agent_watch_free(ag->watch);
    agent_collect_free(ag->collect);
    qm_free(ag->smp);
}

/* ---- the loop ---- */

static void step(struct agent *ag, int64_t now, int64_t *next_enforce)
{
    agent_collect_sample(ag->collect, now, ag->smp);
    agent_watch_feed(ag->watch, ag->smp, on_alert, ag, ag->notes);
    unsigned n;
    if (agent_link_allocs(ag->link, ag->allocs, &n)) {
        agent_apply_set(ag->apply, ag->allocs, n, ag->want);
        *next_enforce = now;
    }
    if (now >= *next_enforce) {
        agent_apply_run(ag->apply, ag->smp, ag->enforce, on_action, ag);
        *next_enforce = now + ag->cfg.enforce_ms;
    }
    agent_scale_tick(ag->scale, ag->smp, ag->want, now, on_action, ag);
    agent_credits_tick(ag->credits, now);
    unsigned nparts =
        agent_report_build(ag->cfg.host_id, ag->smp, ++ag->seq, wall_ms(),
                           ag->notes, ag->enforce, ag->parts);
    agent_link_report(ag->link, ag->parts, nparts);
}

/* Sleep until @until (monotonic ms); true when a stop signal came. */
static bool sleep_until(struct agent *ag, int64_t until)
{
    for (;;) {
        int64_t left = until - qm__mono_ms();
        if (left <= 0) {
            return false;
        }
        struct timespec ts = {(time_t)(left / 1000),
                              (long)(left % 1000) * 1000000};
        int sig = sigtimedwait(&ag->signals, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT) {
            qm_log(QM_LOG_INFO, "AGNT0003", "signal %d: stopping", sig);
            return true;
        }
    }
}

static void run(struct agent *ag)
{
    int64_t next = qm__mono_ms();
    int64_t next_enforce = next;
    for (;;) {
        step(ag, next, &next_enforce);
        next += ag->cfg.interval_ms;
        int64_t now = qm__mono_ms();
        if (next < now) {
            next = now; /* fell behind: do not catch up in a burst */
        }
        if (sleep_until(ag, next)) {
            return;
        }
    }
}

int main(int argc, char **argv)
{
    struct agent *ag = qm_calloc(1, sizeof(*ag));
    char err[QM_ERRMSG_SIZE];
    if (ag == NULL) {
        fprintf(stderr, "qm-agent: out of memory\n");
        return 1;
    }
    int rc = agent_config_load(&ag->cfg, argc, argv, err);
    if (rc != AGENT_CONFIG_OK) {
        if (rc == AGENT_CONFIG_ERROR) {
            fprintf(stderr, "qm-agent: %s\n", err);
        }
        qm_free(ag);
        return rc == AGENT_CONFIG_EXIT ? 0 : 2;
    }
    char prefix[QM_NAME_MAX + 16];
    snprintf(prefix, sizeof(prefix), "qm-agent[%s]", ag->cfg.host_id);
    qm_log_set_prefix(prefix);
    qm_log_set_level(ag->cfg.log_level);
    /* Signals are taken by the loop alone: block them before any thread
     * starts, so every thread inherits the mask. */
    sigemptyset(&ag->signals);
    sigaddset(&ag->signals, SIGTERM);
    sigaddset(&ag->signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &ag->signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    int status = 0;
    if (start(ag, err) != QM_OK) {
        qm_log(QM_LOG_ERR, "AGNT0001", "cannot start: %s", err);
        status = 1;
    } else {
        qm_log(QM_LOG_INFO, "AGNT0000",
               "watching %u services every %lld ms; cluster %s; local API "
               "%s",
               ag->nsvcs, (long long)ag->cfg.interval_ms, ag->cfg.cluster,
               ag->cfg.local_api[0] != '\0' ? ag->cfg.local_api : "off");
        run(ag);
    }
    stop(ag);
    if (status == 0) {
        qm_log(QM_LOG_INFO, "AGNT0004", "stopped cleanly");
    }
    qm_free(ag);
    return status;
}
