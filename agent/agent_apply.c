/* Applying the ledger's allocations (agent_apply.h). */
#include "agent_apply.h"

#include <stdio.h>
#include <string.h>

#include "agent_enforce.h"
#include "qm_alloc.h"
#include "qm_log.h"

_Static_assert(TP_ALLOC_NICE == AGENT_ALLOC_NICE &&
                   TP_ALLOC_CPUS == AGENT_ALLOC_CPUS &&
                   TP_ALLOC_NOFILE == AGENT_ALLOC_NOFILE &&
                   TP_ALLOC_NPROC == AGENT_ALLOC_NPROC &&
                   TP_ALLOC_CPU_WEIGHT == AGENT_ALLOC_CPU_WEIGHT &&
                   TP_ALLOC_CPU_MAX == AGENT_ALLOC_CPU_MAX &&
                   TP_ALLOC_MEMORY_HIGH == AGENT_ALLOC_MEMORY_HIGH &&
                   TP_ALLOC_MEMORY_MAX == AGENT_ALLOC_MEMORY_MAX,
               "the wire's allocation bits are the agent's");

struct agent_apply
{
    const struct agent_config *cfg;
    char cgroup_root[AGENT_CGROUP_PATH_MAX];
    bool have[AGENT_SERVICES_MAX];
    struct agent_alloc alloc[AGENT_SERVICES_MAX];
    char last[AGENT_SERVICES_MAX][QM_MESSAGE_MAX + 1]; /* last outcome */
    struct agent_enforce_report rep;
    pid_t pids[AGENT_PROCS_MAX];
};

int agent_apply_new(struct agent_apply **out,
                    const struct agent_config *cfg,
                    const char *cgroup_root)
{
    struct agent_apply *a = qm_calloc(1, sizeof(*a));
    if (a == NULL) {
        return QM_ENOMEM;
    }
    a->cfg = cfg;
    snprintf(a->cgroup_root, sizeof(a->cgroup_root), "%s", cgroup_root);
    *out = a;
    return QM_OK;
}

void agent_apply_free(struct agent_apply *a)
{
    qm_free(a);
}

static int service_index(const struct agent_config *cfg, const char *name)
{
    for (unsigned i = 0; i < cfg->nservices; i++) {
        if (strcmp(cfg->services[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static void from_wire(const struct tp_alloc *in, struct agent_alloc *out)
{
    memset(out, 0, sizeof(*out));
    out->set = (uint32_t)(in->set & AGENT_ALLOC_ALL);
    out->nice = (int32_t)in->nice;
    snprintf(out->cpus, sizeof(out->cpus), "%s", in->cpus);
    out->nofile = in->nofile;
    out->nproc = in->nproc;
    out->cpu_weight = in->cpu_weight;
    out->cpu_max_quota_us = in->cpu_max_quota_us;
    out->cpu_max_period_us = in->cpu_max_period_us;
    out->memory_high = in->memory_high;
    out->memory_max = in->memory_max;
}

void agent_apply_set(struct agent_apply *a,
                     const struct tp_alloc *allocs,
                     unsigned n,
                     int64_t *want)
{
    memset(a->have, 0, sizeof(a->have));
    for (unsigned i = 0; i < a->cfg->nservices; i++) {
        want[i] = -1;
    }
    for (unsigned k = 0; k < n; k++) {
        int i = service_index(a->cfg, allocs[k].service);
        if (i < 0) {
            qm_log(QM_LOG_WARN, "AGNT0050",
                   "allocation for service '%s', which this agent does not "
                   "watch: ignored",
                   allocs[k].service);
            continue;
        }
        from_wire(&allocs[k], &a->alloc[i]);
        a->have[i] = a->alloc[i].set != 0;
        if (allocs[k].set & TP_ALLOC_INSTANCES) {
            want[i] = allocs[k].instances;
        }
    }
}

/* The service's own cgroup folder when it is matched by one. */
static const char *cgroup_dir(const struct agent_apply *a,
                              unsigned i,
                              char *buf,
                              size_t size)
{
    const char *m = a->cfg->services[i].match;
    if (strncmp(m, "cgroup:", 7) != 0) {
        return NULL;
    }
    const char *path = m + 7;
    if (path[0] == '/' &&
        strncmp(path, a->cgroup_root, strlen(a->cgroup_root)) == 0) {
        snprintf(buf, size, "%s", path);
    } else {
        snprintf(buf, size, "%s/%s", a->cgroup_root,
                 path[0] == '/' ? path + 1 : path);
    }
    return buf;
}

static void run_one(struct agent_apply *a,
                    const struct agent_sample *smp,
                    unsigned i,
                    char *note,
                    agent_action_fn emit,
                    void *arg)
{
    const struct agent_service_sample *ss = &smp->services[i];
    size_t n = 0;
    for (uint32_t k = 0; k < ss->proc_count; k++) {
        a->pids[n++] = smp->procs[ss->proc_first + k].pid;
    }
    char dir[AGENT_CGROUP_PATH_MAX], err[QM_ERRMSG_SIZE];
    struct agent_enforce_target t = {
        ss->name,
        a->pids,
        n,
        cgroup_dir(a, i, dir, sizeof(dir)),
        a->cgroup_root[0] != '\0' ? a->cgroup_root : NULL,
        NULL};
    char out[QM_MESSAGE_MAX + 1];
    bool ok = false;
    if (agent_enforce_apply(&a->alloc[i], &t, &a->rep, err) != QM_OK) {
        snprintf(out, sizeof(out), "not applied: %s", err);
    } else {
        ok = agent_enforce_all_applied(&a->rep);
        agent_enforce_summary(&a->rep, out, sizeof(out));
    }
    snprintf(note, QM_NOTE_MAX + 1, "%s", ok ? "" : out);
    if (n > 0 && strcmp(out, a->last[i]) != 0) {
        memcpy(a->last[i], out, sizeof(out));
        struct tp_action act;
        memset(&act, 0, sizeof(act));
        snprintf(act.host, sizeof(act.host), "%s", a->cfg->host_id);
        snprintf(act.service, sizeof(act.service), "%s", ss->name);
        snprintf(act.action, sizeof(act.action), "apply");
        act.ok = ok;
        snprintf(act.message, sizeof(act.message), "%s", out);
        qm_log(ok ? QM_LOG_NOTICE : QM_LOG_WARN, "AGNT0051", "apply %s: %s",
               ss->name, out);
        emit(arg, &act);
    }
}

void agent_apply_run(struct agent_apply *a,
                     const struct agent_sample *smp,
                     char (*notes)[QM_NOTE_MAX + 1],
                     agent_action_fn emit,
                     void *arg)
{
    for (unsigned i = 0; i < a->cfg->nservices && i < smp->nservices; i++) {
        if (!a->have[i]) {
            notes[i][0] = '\0';
            a->last[i][0] = '\0';
            continue;
        }
        run_one(a, smp, i, notes[i], emit, arg);
    }
}
