/* Scaling of services to their wanted instances (agent_scale.h). */
#include "agent_scale.h"

#include <stdio.h>
#include <string.h>

#include "agent_exec.h"
#include "qm_alloc.h"
#include "qm_log.h"

/* Detached instances whose exit the agent reaps. */
#define CHILDREN_MAX 256

struct svc_state
{
    struct agent_exec *running; /* a start (wait mode) or stop command */
    const char *action;         /* "start" or "stop" while running */
    int64_t last_ms;            /* when the last action began */
    bool acted;
};

struct agent_scale
{
    const struct agent_config *cfg;
    struct svc_state st[AGENT_CONF_SERVICES_MAX];
    pid_t children[CHILDREN_MAX];
    unsigned nchildren;
};

int agent_scale_new(struct agent_scale **out, const struct agent_config *cfg)
{
    struct agent_scale *s = qm_calloc(1, sizeof(*s));
    if (s == NULL) {
        return QM_ENOMEM;
    }
    s->cfg = cfg;
    *out = s;
    return QM_OK;
}

void agent_scale_free(struct agent_scale *s)
{
    if (s == NULL) {
        return;
    }
    for (unsigned i = 0; i < AGENT_CONF_SERVICES_MAX; i++) {
        agent_exec_free(s->st[i].running);
    }
    qm_free(s);
}

int32_t agent_scale_instances(const struct agent_sample *smp, uint32_t i)
{
    const struct agent_service_sample *ss = &smp->services[i];
    return ss->nprocs - ss->nchildren;
}

static void record(const struct agent_config *cfg,
                   uint32_t i,
                   const char *action,
                   bool ok,
                   const char *message,
                   agent_action_fn emit,
                   void *arg)
{
    struct tp_action a;
    memset(&a, 0, sizeof(a));
    snprintf(a.host, sizeof(a.host), "%s", cfg->host_id);
    snprintf(a.service, sizeof(a.service), "%s", cfg->services[i].name);
    snprintf(a.action, sizeof(a.action), "%s", action);
    a.ok = ok;
    snprintf(a.message, sizeof(a.message), "%s", message);
    qm_log(ok ? QM_LOG_NOTICE : QM_LOG_WARN, "AGNT0040", "%s %s: %s", action,
           cfg->services[i].name, message);
    emit(arg, &a);
}

/* The newest instance of service @i, or 0. */
static int32_t newest(const struct agent_sample *smp, uint32_t i)
{
    const struct agent_service_sample *ss = &smp->services[i];
    int32_t pid = 0;
    uint64_t start = 0;
    for (uint32_t k = 0; k < ss->proc_count; k++) {
        const struct agent_proc_sample *p = &smp->procs[ss->proc_first + k];
        if (!p->child && p->start_ticks >= start) {
            start = p->start_ticks;
            pid = p->pid;
        }
    }
    return pid;
}

/* @cmd with each "{pid}" replaced by @pid; false if it does not fit. */
static bool with_pid(const char *cmd, int32_t pid, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = cmd; *p != '\0';) {
        int w;
        if (strncmp(p, "{pid}", 5) == 0) {
            w = snprintf(out + n, size - n, "%d", (int)pid);
            p += 5;
        } else {
            w = snprintf(out + n, size - n, "%c", *p++);
        }
        if (w < 0 || (size_t)w >= size - n) {
            return false;
        }
        n += (size_t)w;
    }
    return true;
}

static void start_one(struct agent_scale *s,
                      uint32_t i,
                      int64_t now,
                      agent_action_fn emit,
                      void *arg)
{
    const struct agent_service_conf *sc = &s->cfg->services[i];
    char err[QM_ERRMSG_SIZE], msg[QM_MESSAGE_MAX + 1];
    if (sc->start[0] == '\0') {
        record(s->cfg, i, "start", false,
               "no start command in the agent's configuration", emit, arg);
        return;
    }
    if (sc->start_mode == AGENT_START_WAIT) {
        struct agent_exec_opts o = {sc->exec_timeout_ms, 0};
        if (agent_exec_start(sc->start, &o, now, &s->st[i].running, err) !=
            QM_OK) {
            record(s->cfg, i, "start", false, err, emit, arg);
            return;
        }
        s->st[i].action = "start";
        return;
    }
    pid_t pid;
    if (agent_exec_spawn_detached(sc->start, NULL, &pid, err) != QM_OK) {
        record(s->cfg, i, "start", false, err, emit, arg);
        return;
    }
    if (s->nchildren < CHILDREN_MAX) {
        s->children[s->nchildren++] = pid;
    }
    snprintf(msg, sizeof(msg), "started pid %d: %s", (int)pid, sc->start);
    record(s->cfg, i, "start", true, msg, emit, arg);
}

static void stop_one(struct agent_scale *s,
                     const struct agent_sample *smp,
                     uint32_t i,
                     int64_t now,
                     agent_action_fn emit,
                     void *arg)
{
    const struct agent_service_conf *sc = &s->cfg->services[i];
    char cmd[AGENT_EXEC_CMD_MAX], err[QM_ERRMSG_SIZE];
    int32_t pid = newest(smp, i);
    if (sc->stop[0] == '\0') {
        record(s->cfg, i, "stop", false,
               "no stop command in the agent's configuration", emit, arg);
        return;
    }
    if (pid == 0 || !with_pid(sc->stop, pid, cmd, sizeof(cmd))) {
        record(s->cfg, i, "stop", false, "no instance to stop", emit, arg);
        return;
    }
    struct agent_exec_opts o = {sc->exec_timeout_ms, 0};
    if (agent_exec_start(cmd, &o, now, &s->st[i].running, err) != QM_OK) {
        record(s->cfg, i, "stop", false, err, emit, arg);
        return;
    }
    s->st[i].action = "stop";
}

/* A command that ran to its end: record how it went. */
static void finish(struct agent_scale *s,
                   uint32_t i,
                   const struct agent_exec_result *r,
                   agent_action_fn emit,
                   void *arg)
{
    char msg[QM_MESSAGE_MAX + 1];
    bool ok = r->exit_code == 0 && !r->timed_out;
    if (r->timed_out) {
        snprintf(msg, sizeof(msg), "timed out after %lld ms; output: %s",
                 (long long)r->duration_ms, r->output);
    } else if (r->signal != 0) {
        snprintf(msg, sizeof(msg), "killed by signal %d; output: %s", r->signal,
                 r->output);
    } else {
        snprintf(msg, sizeof(msg), "exit %d in %lld ms; output: %s",
                 r->exit_code, (long long)r->duration_ms, r->output);
    }
    record(s->cfg, i, s->st[i].action, ok, msg, emit, arg);
    agent_exec_free(s->st[i].running);
    s->st[i].running = NULL;
}

static void reap_children(struct agent_scale *s)
{
    for (unsigned k = 0; k < s->nchildren;) {
        int code, sig;
        if (agent_exec_reap(s->children[k], &code, &sig) != QM_EBUSY) {
            s->children[k] = s->children[--s->nchildren];
        } else {
            k++;
        }
    }
}

void agent_scale_tick(struct agent_scale *s,
                      const struct agent_sample *smp,
                      const int64_t *want,
                      int64_t now_ms,
                      agent_action_fn emit,
                      void *arg)
{
    reap_children(s);
    for (uint32_t i = 0; i < s->cfg->nservices && i < smp->nservices; i++) {
        struct svc_state *st = &s->st[i];
        if (st->running != NULL) {
            struct agent_exec_result r;
            if (agent_exec_poll(st->running, now_ms, &r) == QM_OK) {
                finish(s, i, &r, emit, arg);
            }
            continue;
        }
        if (want[i] < 0 ||
            (st->acted &&
             now_ms - st->last_ms < s->cfg->services[i].scale_cooldown_ms)) {
            continue;
        }
        int32_t have = agent_scale_instances(smp, i);
        if (have == want[i]) {
            continue;
        }
        st->acted = true;
        st->last_ms = now_ms;
        if (have < want[i]) {
            start_one(s, i, now_ms, emit, arg);
        } else {
            stop_one(s, smp, i, now_ms, emit, arg);
        }
    }
}
