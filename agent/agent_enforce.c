/* Enforcement of an allocation; see agent_enforce.h.
 *
 * On Linux setpriority(PRIO_PROCESS, id) and sched_setaffinity(id) act on
 * one thread, so nice and affinity are applied to every thread listed in
 * /proc/PID/task; prlimit() acts on the whole process. */
#define _GNU_SOURCE /* sched_setaffinity, prlimit, strerrorname_np */
#include "agent_enforce.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "qm_alloc.h"

/* ---- tallies: one field's outcome over many processes or threads ---- */

struct tally
{
    unsigned failed;
    bool changed;
    char first[AGENT_ENFORCE_MSG_MAX]; /* the first failure */
};

static void tally_fail(struct tally *t, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void tally_fail(struct tally *t, int err, const char *fmt, ...)
{
    if (t->failed++ > 0) {
        return;
    }
    const char *name = strerrorname_np(err);
    int n = snprintf(t->first, sizeof(t->first), "%s ", name ? name : "E?");
    if (n < 0 || (size_t)n >= sizeof(t->first)) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->first + n, sizeof(t->first) - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Append an item for @field with @state and @msg (may be NULL). */
static struct agent_enforce_item *add_item(struct agent_enforce_report *r,
                                           const struct agent_alloc *a,
                                           uint32_t field,
                                           enum agent_item_state state,
                                           const char *msg)
{
    struct agent_enforce_item *it = &r->items[r->count++];
    it->field = field;
    it->state = state;
    it->changed = false;
    agent_alloc_format_field(a, field, it->value, sizeof(it->value));
    snprintf(it->msg, sizeof(it->msg), "%s", msg != NULL ? msg : "");
    return it;
}

static void add_tally_item(struct agent_enforce_report *r,
                           const struct agent_alloc *a,
                           uint32_t field,
                           const struct tally *t)
{
    struct agent_enforce_item *it = add_item(
        r, a, field, t->failed > 0 ? AGENT_ITEM_FAILED : AGENT_ITEM_APPLIED,
        t->failed > 0 ? t->first : NULL);
    it->changed = t->changed;
    if (t->failed > 1) {
        size_t len = strlen(it->msg);
        snprintf(it->msg + len, sizeof(it->msg) - len, " (and %u more)",
                 t->failed - 1);
    }
}

/* ---- threads: nice and affinity ---- */

struct thread_job
{
    const struct agent_alloc *a;
    cpu_set_t cpus;
    struct tally nice;
    struct tally affinity;
    uint32_t threads;
};

static void apply_nice(pid_t tid, int nice, struct tally *t)
{
    errno = 0;
    int cur = getpriority(PRIO_PROCESS, (id_t)tid);
    if (cur == -1 && errno != 0) {
        if (errno != ESRCH) {
            tally_fail(t, errno, "reading nice of tid %d", (int)tid);
        }
        return;
    }
    if (cur == nice) {
        return;
    }
    if (setpriority(PRIO_PROCESS, (id_t)tid, nice) != 0) {
        if (errno != ESRCH) {
            tally_fail(t, errno, "setting nice %d on tid %d (was %d)", nice,
                       (int)tid, cur);
        }
        return;
    }
    t->changed = true;
}

static void apply_affinity(pid_t tid, struct thread_job *j)
{
    cpu_set_t cur;
    CPU_ZERO(&cur);
    if (sched_getaffinity(tid, sizeof(cur), &cur) != 0) {
        if (errno != ESRCH) {
            tally_fail(&j->affinity, errno, "reading affinity of tid %d",
                       (int)tid);
        }
        return;
    }
    if (CPU_EQUAL(&cur, &j->cpus)) {
        return;
    }
    if (sched_setaffinity(tid, sizeof(j->cpus), &j->cpus) != 0) {
        if (errno != ESRCH) {
            tally_fail(&j->affinity, errno,
                       "setting cpus %s on tid %d (outside its cpuset?)",
                       j->a->cpus, (int)tid);
        }
        return;
    }
    j->affinity.changed = true;
}

/* Apply the thread fields to every thread of @pid. False when the process
 * is gone. */
static bool apply_threads(pid_t pid, struct thread_job *j)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (d == NULL) {
        return false;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long tid = strtol(e->d_name, &end, 10);
        if (*end != '\0' || tid <= 0 || tid > INT32_MAX) {
            continue; /* ".", ".." */
        }
        if (j->a->set & AGENT_ALLOC_NICE) {
            apply_nice((pid_t)tid, j->a->nice, &j->nice);
        }
        if (j->a->set & AGENT_ALLOC_CPUS) {
            apply_affinity((pid_t)tid, j);
        }
        j->threads++;
    }
    closedir(d);
    return true;
}

/* ---- processes: rlimits ---- */

/* Set soft and hard limit @resource of @pid to @v. False when the process
 * is gone. */
static bool apply_rlimit(pid_t pid,
                         int resource,
                         const char *name,
                         uint64_t v,
                         struct tally *t)
{
    struct rlimit cur;
    rlim_t want = v == AGENT_RLIM_UNLIMITED ? RLIM_INFINITY : (rlim_t)v;
    if (prlimit(pid, (__rlimit_resource_t)resource, NULL, &cur) != 0) {
        if (errno == ESRCH) {
            return false;
        }
        tally_fail(t, errno, "reading %s of pid %d", name, (int)pid);
        return true;
    }
    if (cur.rlim_cur == want && cur.rlim_max == want) {
        return true;
    }
    struct rlimit nw = {.rlim_cur = want, .rlim_max = want};
    if (prlimit(pid, (__rlimit_resource_t)resource, &nw, NULL) != 0) {
        if (errno == ESRCH) {
            return false;
        }
        if (want > cur.rlim_max) {
            tally_fail(t, errno,
                       "raising %s hard limit from %llu to %llu on pid %d",
                       name, (unsigned long long)cur.rlim_max,
                       (unsigned long long)want, (int)pid);
        } else {
            tally_fail(t, errno, "setting %s to %llu on pid %d", name,
                       (unsigned long long)want, (int)pid);
        }
        return true;
    }
    t->changed = true;
    return true;
}

/* Fill @set from the validated CPU list of @a. */
static void cpus_of(const struct agent_alloc *a, cpu_set_t *set)
{
    struct agent_cpuset s;
    char ignored[QM_ERRMSG_SIZE];
    CPU_ZERO(set);
    if (agent_cpus_parse(a->cpus, &s, ignored) != QM_OK) {
        return; /* validated before: cannot happen */
    }
    for (unsigned c = 0; c < AGENT_CPU_MAX && c < CPU_SETSIZE; c++) {
        if (agent_cpuset_has(&s, c)) {
            CPU_SET(c, set);
        }
    }
}

static void apply_processes(const struct agent_alloc *a,
                            const struct agent_enforce_target *t,
                            struct agent_enforce_report *r)
{
    struct thread_job j;
    struct tally nofile, nproc;
    memset(&j, 0, sizeof(j));
    memset(&nofile, 0, sizeof(nofile));
    memset(&nproc, 0, sizeof(nproc));
    j.a = a;
    cpus_of(a, &j.cpus);
    for (size_t i = 0; i < t->npids; i++) {
        pid_t pid = t->pids[i];
        bool alive = pid > 0;
        if (alive && (a->set & AGENT_ALLOC_THREAD_FIELDS)) {
            alive = apply_threads(pid, &j);
        }
        if (alive && (a->set & AGENT_ALLOC_NOFILE)) {
            alive =
                apply_rlimit(pid, RLIMIT_NOFILE, "nofile", a->nofile, &nofile);
        }
        if (alive && (a->set & AGENT_ALLOC_NPROC)) {
            alive = apply_rlimit(pid, RLIMIT_NPROC, "nproc", a->nproc, &nproc);
        }
        if (alive) {
            r->pids_alive++;
        } else {
            r->pids_gone++;
        }
    }
    r->threads = j.threads;
    const uint32_t fields[] = {AGENT_ALLOC_NICE, AGENT_ALLOC_CPUS,
                               AGENT_ALLOC_NOFILE, AGENT_ALLOC_NPROC};
    const struct tally *tallies[] = {&j.nice, &j.affinity, &nofile, &nproc};
    for (size_t k = 0; k < 4; k++) {
        if (a->set & fields[k]) {
            add_tally_item(r, a, fields[k], tallies[k]);
        }
    }
}

/* ---- the cgroup ---- */

static unsigned ctrl_of(uint32_t field)
{
    return field == AGENT_ALLOC_CPU_WEIGHT || field == AGENT_ALLOC_CPU_MAX
               ? AGENT_CG_CPU
               : AGENT_CG_MEMORY;
}

static const uint32_t cgroup_fields[] = {
    AGENT_ALLOC_CPU_WEIGHT,
    AGENT_ALLOC_CPU_MAX,
    AGENT_ALLOC_MEMORY_HIGH,
    AGENT_ALLOC_MEMORY_MAX,
};
#define CGROUP_FIELD_COUNT (sizeof(cgroup_fields) / sizeof(cgroup_fields[0]))

/* One item per requested cgroup field, all with @state and @msg. */
static void cgroup_items_all(const struct agent_alloc *a,
                             struct agent_enforce_report *r,
                             enum agent_item_state state,
                             const char *msg)
{
    for (size_t k = 0; k < CGROUP_FIELD_COUNT; k++) {
        if (a->set & cgroup_fields[k]) {
            add_item(r, a, cgroup_fields[k], state, msg);
        }
    }
}

/* True when the cgroup file shows the value @want already. The kernel
 * keeps memory limits in pages: 100000000 reads back as 99999744. */
static bool value_holds(uint32_t field, const char *cur, const char *want)
{
    if (strcmp(cur, want) == 0) {
        return true;
    }
    if (field != AGENT_ALLOC_MEMORY_HIGH && field != AGENT_ALLOC_MEMORY_MAX) {
        return false;
    }
    char *e1, *e2;
    unsigned long long c = strtoull(cur, &e1, 10);
    unsigned long long w = strtoull(want, &e2, 10);
    long page = sysconf(_SC_PAGESIZE);
    if (*e1 != '\0' || *e2 != '\0' || *cur == '\0' || page <= 0) {
        return false;
    }
    return c == w / (unsigned long long)page * (unsigned long long)page;
}

static enum agent_item_state state_of(int rv)
{
    return rv == QM_UNAVAILABLE ? AGENT_ITEM_UNAVAILABLE : AGENT_ITEM_FAILED;
}

/* Read, compare and write one cgroup field of @dir. */
static void apply_cg_value(const struct agent_alloc *a,
                           const char *dir,
                           uint32_t field,
                           struct agent_enforce_report *r)
{
    char want[AGENT_ALLOC_VALUE_MAX];
    char cur[AGENT_CGROUP_VALUE_MAX];
    char msg[QM_ERRMSG_SIZE];
    const char *file = agent_alloc_field_name(field);
    agent_alloc_format_field(a, field, want, sizeof(want));
    int rv = agent_cgroup_read(dir, file, cur, sizeof(cur), msg);
    if (rv == QM_OK && value_holds(field, cur, want)) {
        add_item(r, a, field, AGENT_ITEM_APPLIED, NULL);
        return;
    }
    if (rv == QM_OK || rv == QM_EFULL) {
        rv = agent_cgroup_write(dir, file, want, msg);
    }
    if (rv != QM_OK) {
        add_item(r, a, field, state_of(rv), msg);
        return;
    }
    add_item(r, a, field, AGENT_ITEM_APPLIED, NULL)->changed = true;
}

static int cmp_pid(const void *x, const void *y)
{
    pid_t a = *(const pid_t *)x, b = *(const pid_t *)y;
    return (a > b) - (a < b);
}

/* Move the target's processes that are not members yet into @dir; one
 * AGENT_ENFORCE_PROCS item. */
static void move_procs(const struct agent_alloc *a,
                       const struct agent_enforce_target *t,
                       const char *dir,
                       struct agent_enforce_report *r)
{
    struct tally tl;
    char msg[QM_ERRMSG_SIZE];
    size_t n = 0;
    memset(&tl, 0, sizeof(tl));
    pid_t *members = qm_malloc(AGENT_ENFORCE_PIDS_MAX * sizeof(pid_t));
    /* Without the member list every process is written again: the kernel
     * takes a move into the cgroup a process is in as a no-op. */
    if (members != NULL) {
        (void)agent_cgroup_procs(dir, members, AGENT_ENFORCE_PIDS_MAX, &n, msg);
        qsort(members, n, sizeof(pid_t), cmp_pid);
    }
    for (size_t i = 0; i < t->npids; i++) {
        pid_t pid = t->pids[i];
        if (pid <= 0 || (n > 0 && bsearch(&pid, members, n, sizeof(pid_t),
                                          cmp_pid) != NULL)) {
            continue;
        }
        int rv = agent_cgroup_move(dir, pid, msg);
        if (rv == QM_OK) {
            tl.changed = true;
        } else if (rv != QM_NOT_FOUND && tl.failed++ == 0) {
            snprintf(tl.first, sizeof(tl.first), "pid %d: %s", (int)pid, msg);
        }
    }
    qm_free(members);
    add_tally_item(r, a, AGENT_ENFORCE_PROCS, &tl);
    struct agent_enforce_item *it = &r->items[r->count - 1];
    snprintf(it->value, sizeof(it->value), "%zu pids", t->npids);
}

/* The cgroup the agent makes for the target: writes its path to @dir.
 * False (with the items added) when it has none to use. */
static bool own_cgroup(const struct agent_alloc *a,
                       const struct agent_enforce_target *t,
                       struct agent_enforce_report *r,
                       unsigned *root_has,
                       char dir[AGENT_CGROUP_PATH_MAX])
{
    char msg[QM_ERRMSG_SIZE];
    unsigned need = 0;
    for (size_t k = 0; k < CGROUP_FIELD_COUNT; k++) {
        need |= (a->set & cgroup_fields[k]) ? ctrl_of(cgroup_fields[k]) : 0;
    }
    if (t->cgroup_root == NULL) {
        cgroup_items_all(a, r, AGENT_ITEM_UNAVAILABLE,
                         "no cgroup v2 mount on this host");
        return false;
    }
    int rv = agent_cgroup_controllers(t->cgroup_root, root_has, msg);
    if (rv == QM_OK && (need & *root_has) == 0) {
        /* Nothing requested could work there: create nothing. */
        return true;
    }
    if (rv == QM_OK) {
        rv = agent_cgroup_create(t->cgroup_root, t->cgroup_slice, t->service,
                                 need & *root_has, dir, AGENT_CGROUP_PATH_MAX,
                                 msg);
    }
    if (rv != QM_OK) {
        cgroup_items_all(a, r, state_of(rv), msg);
        return false;
    }
    return true;
}

static void apply_cgroup(const struct agent_alloc *a,
                         const struct agent_enforce_target *t,
                         struct agent_enforce_report *r)
{
    char dir[AGENT_CGROUP_PATH_MAX] = "";
    char msg[QM_ERRMSG_SIZE];
    unsigned root_has = AGENT_CG_CPU | AGENT_CG_MEMORY;
    unsigned has = 0;
    bool own = t->cgroup_dir == NULL;
    if (own && !own_cgroup(a, t, r, &root_has, dir)) {
        return;
    }
    if (!own) {
        snprintf(dir, sizeof(dir), "%s", t->cgroup_dir);
    }
    if (dir[0] != '\0') {
        int rv = agent_cgroup_controllers(dir, &has, msg);
        if (rv != QM_OK) {
            cgroup_items_all(a, r, state_of(rv), msg);
            return;
        }
        snprintf(r->cgroup, sizeof(r->cgroup), "%s", dir);
    }
    for (size_t k = 0; k < CGROUP_FIELD_COUNT; k++) {
        uint32_t field = cgroup_fields[k];
        unsigned ctrl = ctrl_of(field);
        if (!(a->set & field)) {
            continue;
        }
        if (has & ctrl) {
            apply_cg_value(a, dir, field, r);
            continue;
        }
        bool at_root = own && !(root_has & ctrl);
        snprintf(msg, sizeof(msg), "cgroup v2 controller '%s' not %s %s",
                 agent_cgroup_ctrl_name(ctrl),
                 at_root ? "available on" : "enabled for",
                 at_root ? t->cgroup_root : dir);
        add_item(r, a, field, AGENT_ITEM_UNAVAILABLE, msg);
    }
    if (own && dir[0] != '\0') {
        move_procs(a, t, dir, r); /* after the limits: no burst unlimited */
    }
}

/* ---- the API ---- */

int agent_enforce_apply(const struct agent_alloc *a,
                        const struct agent_enforce_target *t,
                        struct agent_enforce_report *r,
                        char errmsg[QM_ERRMSG_SIZE])
{
    memset(r, 0, sizeof(*r));
    int rv = agent_alloc_validate(a, NULL, errmsg);
    if (rv != QM_OK) {
        return rv;
    }
    if ((a->set & AGENT_ALLOC_CGROUP_FIELDS) && t->cgroup_dir == NULL &&
        t->service == NULL) {
        snprintf(errmsg, QM_ERRMSG_SIZE,
                 "cgroup limits need a service name or a cgroup");
        return QM_INVALID;
    }
    apply_processes(a, t, r);
    if (a->set & AGENT_ALLOC_CGROUP_FIELDS) {
        apply_cgroup(a, t, r);
    }
    return QM_OK;
}

const struct agent_enforce_item *agent_enforce_item(
    const struct agent_enforce_report *r,
    uint32_t field)
{
    for (size_t i = 0; i < r->count; i++) {
        if (r->items[i].field == field) {
            return &r->items[i];
        }
    }
    return NULL;
}

bool agent_enforce_all_applied(const struct agent_enforce_report *r)
{
    for (size_t i = 0; i < r->count; i++) {
        if (r->items[i].state != AGENT_ITEM_APPLIED) {
            return false;
        }
    }
    return true;
}

static const char *item_name(uint32_t field)
{
    return field == AGENT_ENFORCE_PROCS ? "cgroup.procs"
                                        : agent_alloc_field_name(field);
}

size_t agent_enforce_summary(const struct agent_enforce_report *r,
                             char *buf,
                             size_t size)
{
    static const char dots[] = "...";
    size_t len = 0;
    if (size == 0) {
        return 0;
    }
    buf[0] = '\0';
    for (size_t i = 0; i < r->count; i++) {
        const struct agent_enforce_item *it = &r->items[i];
        const char *sep = i > 0 ? "; " : "";
        int n = it->state == AGENT_ITEM_APPLIED
                    ? snprintf(buf + len, size - len, "%s%s=%s ok", sep,
                               item_name(it->field), it->value)
                    : snprintf(buf + len, size - len, "%s%s %s: %s", sep,
                               item_name(it->field),
                               it->state == AGENT_ITEM_FAILED ? "failed"
                                                              : "unavailable",
                               it->msg);
        if (n < 0 || (size_t)n >= size - len) {
            if (size > sizeof(dots)) {
                memcpy(buf + size - sizeof(dots), dots, sizeof(dots));
            }
            return strlen(buf);
        }
        len += (size_t)n;
    }
    return len;
}
