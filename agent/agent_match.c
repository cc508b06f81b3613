#include "agent_match.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_fs.h"
#include "agent_proc.h"
#include "qm_alloc.h"

#define FIRST_CAP 256
#define DELETED_SUFFIX " (deleted)"

/* ---- Specs ---- */

/* The kinds by their prefix, in the order of the error message. */
static const struct
{
    const char *prefix;
    enum agent_match_kind kind;
} kinds[] = {
    {"pid:", AGENT_MATCH_PID},
    {"exe:", AGENT_MATCH_EXE},
    {"pidfile:", AGENT_MATCH_PIDFILE},
    {"cgroup:", AGENT_MATCH_CGROUP},
};

/* Whether @path has a ".." component. */
static bool has_dotdot(const char *path)
{
    for (const char *p = strstr(path, ".."); p != NULL;
         p = strstr(p + 1, "..")) {
        if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/')) {
            return true;
        }
    }
    return false;
}

/* Check @arg for @kind; NULL if fine, else the reason. */
static const char *check_arg(enum agent_match_kind kind,
                             const char *arg,
                             int32_t *pid)
{
    if (*arg == '\0') {
        return "is empty";
    }
    if (strlen(arg) >= AGENT_MATCH_ARG_MAX) {
        return "is too long";
    }
    switch (kind) {
        case AGENT_MATCH_PID:
            *pid = agent__parse_pid(arg);
            return *pid < 0 ? "is not a pid (a number 1..2147483647)" : NULL;
        case AGENT_MATCH_EXE:
            return strchr(arg, '/') != NULL ? "must be a file name without '/'"
                                            : NULL;
        case AGENT_MATCH_PIDFILE:
            return arg[0] != '/' ? "must be an absolute path" : NULL;
        case AGENT_MATCH_CGROUP:
            return has_dotdot(arg) ? "must not contain '..'" : NULL;
    }
    return "is of an unknown kind";
}

int agent_match_parse(struct agent_match *m,
                      const char *spec,
                      char errmsg[QM_ERRMSG_SIZE])
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        size_t plen = strlen(kinds[i].prefix);
        if (strncmp(spec, kinds[i].prefix, plen) != 0) {
            continue;
        }
        const char *arg = spec + plen;
        int32_t pid = 0;
        const char *why = check_arg(kinds[i].kind, arg, &pid);
        if (why != NULL) {
            snprintf(errmsg, QM_ERRMSG_SIZE, "match spec \"%.64s\": %.*s %s",
                     spec, (int)(plen - 1), kinds[i].prefix, why);
            return QM_INVALID;
        }
        memset(m, 0, sizeof(*m));
        m->kind = kinds[i].kind;
        m->pid = pid;
        snprintf(m->arg, sizeof(m->arg), "%s", arg);
        if (m->kind == AGENT_MATCH_EXE) {
            m->exe_hash = agent_match_name_hash(arg, strlen(arg));
        }
        return QM_OK;
    }
    snprintf(errmsg, QM_ERRMSG_SIZE,
             "match spec \"%.64s\": want pid:PID, exe:NAME, pidfile:PATH "
             "or cgroup:PATH",
             spec);
    return QM_INVALID;
}

uint64_t agent_match_name_hash(const char *name, size_t len)
{
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)name[i];
        h *= 0x100000001b3u;
    }
    return h == 0 ? 1 : h;
}

/* ---- The process table ---- */

void agent_ptable_init(struct agent_ptable *t)
{
    memset(t, 0, sizeof(*t));
}

void agent_ptable_close(struct agent_ptable *t)
{
    qm_free(t->v);
    qm_free(t->kids);
    memset(t, 0, sizeof(*t));
}

static bool ptable_grow(struct agent_ptable *t)
{
    size_t cap = t->cap == 0 ? FIRST_CAP : t->cap * 2;
    if (cap > AGENT_SCAN_MAX) {
        return false;
    }
    struct agent_pent *v = qm_realloc(t->v, cap * sizeof(*v));
    if (v == NULL) {
        return false;
    }
    t->v = v;
    struct agent_pedge *k = qm_realloc(t->kids, cap * sizeof(*k));
    if (k == NULL) {
        return false;
    }
    t->kids = k;
    t->cap = cap;
    return true;
}

/* Hash of the executable name of @pid: basename of its exe link, else
 * @comm. */
static uint64_t exe_hash_of(int rootfd, const char *pidname, const char *comm)
{
    char path[32];
    char link[AGENT_PATH_MAX];
    snprintf(path, sizeof(path), "%s/exe", pidname);
    ssize_t n = readlinkat(rootfd, path, link, sizeof(link) - 1);
    if (n <= 0) {
        return agent_match_name_hash(comm, strlen(comm));
    }
    link[n] = '\0';
    size_t slen = sizeof(DELETED_SUFFIX) - 1;
    if ((size_t)n > slen && strcmp(link + n - slen, DELETED_SUFFIX) == 0) {
        n -= (ssize_t)slen;
        link[n] = '\0';
    }
    const char *base = strrchr(link, '/');
    base = base == NULL ? link : base + 1;
    return agent_match_name_hash(base, strlen(base));
}

/* Read one process into @e; false if it vanished or does not parse. */
static bool scan_one(int rootfd,
                     const char *name,
                     int32_t pid,
                     bool want_exe,
                     struct agent_pent *e)
{
    char path[32];
    char buf[1024];
    struct agent_proc_sample s;
    snprintf(path, sizeof(path), "%s/stat", name);
    ssize_t n = agent__read_at(rootfd, path, buf, sizeof(buf));
    if (n <= 0 || agent_proc_parse_stat(buf, (size_t)n, 1, &s) != QM_OK ||
        s.pid != pid) {
        return false;
    }
    e->pid = pid;
    e->ppid = s.ppid;
    e->exe_hash = want_exe ? exe_hash_of(rootfd, name, s.comm) : 0;
    return true;
}

static int cmp_pent(const void *a, const void *b)
{
    const struct agent_pent *x = a;
    const struct agent_pent *y = b;
    return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static int cmp_edge(const void *a, const void *b)
{
    const struct agent_pedge *x = a;
    const struct agent_pedge *y = b;
    if (x->ppid != y->ppid) {
        return x->ppid < y->ppid ? -1 : 1;
    }
    return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* Sort by pid, drop duplicates, and build the by-parent index. */
static void ptable_index(struct agent_ptable *t)
{
    if (t->n == 0) {
        return;
    }
    qsort(t->v, t->n, sizeof(*t->v), cmp_pent);
    size_t w = 1;
    for (size_t r = 1; r < t->n; r++) {
        if (t->v[r].pid != t->v[w - 1].pid) {
            t->v[w++] = t->v[r];
        }
    }
    t->n = w;
    for (size_t i = 0; i < t->n; i++) {
        t->kids[i].ppid = t->v[i].ppid;
        t->kids[i].pid = t->v[i].pid;
    }
    qsort(t->kids, t->n, sizeof(*t->kids), cmp_edge);
}

int agent_ptable_scan(struct agent_ptable *t, int rootfd, bool want_exe)
{
    struct agent__dir d;
    int rv = QM_OK;
    t->n = 0;
    t->truncated = 0;
    if (agent__dir_open_at(&d, rootfd, ".") != 0) {
        return QM_EIO;
    }
    const char *name;
    while ((name = agent__dir_next(&d)) != NULL) {
        int32_t pid = agent__parse_pid(name);
        if (pid < 0) {
            continue;
        }
        if (t->n == t->cap && !ptable_grow(t)) {
            rv = t->cap < AGENT_SCAN_MAX ? QM_ENOMEM : QM_OK;
            t->truncated++;
            continue;
        }
        if (scan_one(rootfd, name, pid, want_exe, &t->v[t->n])) {
            t->n++;
        }
    }
    agent__dir_close(&d);
    ptable_index(t);
    return rv;
}

bool agent_ptable_has(const struct agent_ptable *t, int32_t pid)
{
    struct agent_pent key = {.pid = pid};
    return t->n > 0 &&
           bsearch(&key, t->v, t->n, sizeof(*t->v), cmp_pent) != NULL;
}

/* ---- Matching ---- */

/* Where roots are collected. */
struct roots
{
    const struct agent_ptable *t;
    int32_t *pids;
    size_t cap;
    size_t n;
    size_t truncated;
};

static void roots_add(struct roots *r, int32_t pid)
{
    if (!agent_ptable_has(r->t, pid)) {
        return;
    }
    if (r->n == r->cap) {
        r->truncated++;
        return;
    }
    r->pids[r->n++] = pid;
}

/* One line of cgroup.procs: a pid. */
static int procs_line(void *arg, char *line, size_t len)
{
    (void)len;
    int32_t pid = agent__parse_pid(line);
    if (pid > 0) {
        roots_add(arg, pid);
    }
    return 0;
}

static void match_cgroup(const struct agent_match *m,
                         const char *cgroup_root,
                         struct roots *r)
{
    char path[AGENT_PATH_MAX];
    if (m->arg[0] == '/') {
        snprintf(path, sizeof(path), "%s/cgroup.procs", m->arg);
        if (agent__each_line_at(AT_FDCWD, path, procs_line, r) == 0 ||
            errno != ENOENT) {
            return;
        }
    }
    int n = snprintf(path, sizeof(path), "%s/%s/cgroup.procs", cgroup_root,
                     m->arg[0] == '/' ? m->arg + 1 : m->arg);
    if (n > 0 && (size_t)n < sizeof(path)) {
        (void)agent__each_line_at(AT_FDCWD, path, procs_line, r);
    }
}

static void match_pidfile(const struct agent_match *m, struct roots *r)
{
    char buf[32];
    if (agent__read_at(AT_FDCWD, m->arg, buf, sizeof(buf)) <= 0) {
        return;
    }
    const char *p = buf;
    uint64_t pid;
    if (agent__next_u64(&p, &pid) && pid > 0 && pid <= INT32_MAX &&
        (*p == '\0' || *p == '\n' || *p == ' ' || *p == '\r')) {
        roots_add(r, (int32_t)pid);
    }
}

static int cmp_pid(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a;
    int32_t y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

int agent_match_roots(const struct agent_match *m,
                      const struct agent_ptable *t,
                      const char *cgroup_root,
                      int32_t *pids,
                      size_t cap,
                      size_t *n,
                      size_t *truncated)
{
    struct roots r = {.t = t, .pids = pids, .cap = cap};
    switch (m->kind) {
        case AGENT_MATCH_PID:
            roots_add(&r, m->pid);
            break;
        case AGENT_MATCH_EXE:
            for (size_t i = 0; i < t->n; i++) {
                if (t->v[i].exe_hash == m->exe_hash) {
                    roots_add(&r, t->v[i].pid);
                }
            }
            break;
        case AGENT_MATCH_PIDFILE:
            match_pidfile(m, &r);
            break;
        case AGENT_MATCH_CGROUP:
            match_cgroup(m, cgroup_root, &r);
            break;
    }
    qsort(pids, r.n, sizeof(*pids), cmp_pid);
    size_t w = 0;
    for (size_t i = 0; i < r.n; i++) {
        if (w == 0 || pids[w - 1] != pids[i]) {
            pids[w++] = pids[i];
        }
    }
    *n = w;
    *truncated = r.truncated;
    return QM_OK;
}

/* Index of the first pair in @t->kids whose parent is @ppid. */
static size_t first_child(const struct agent_ptable *t, int32_t ppid)
{
    size_t lo = 0;
    size_t hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->kids[mid].ppid < ppid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* A breadth-first walk from the roots. */
struct walk
{
    const struct agent_ptable *t;
    const int32_t *roots;
    size_t nroots;
    int32_t *out;
    size_t cap;
    size_t n;
    size_t truncated;
};

/* Append the children of @ppid that are not roots to the walk's out. */
static void add_children(struct walk *w, int32_t ppid)
{
    const struct agent_ptable *t = w->t;
    for (size_t k = first_child(t, ppid); k < t->n && t->kids[k].ppid == ppid;
         k++) {
        int32_t pid = t->kids[k].pid;
        if (pid == ppid ||
            (w->nroots > 0 && bsearch(&pid, w->roots, w->nroots,
                                      sizeof(*w->roots), cmp_pid) != NULL)) {
            continue;
        }
        if (w->n == w->cap) {
            w->truncated++;
            continue;
        }
        w->out[w->n++] = pid;
    }
}

void agent_match_descendants(const struct agent_ptable *t,
                             const int32_t *roots,
                             size_t nroots,
                             int32_t *out,
                             size_t cap,
                             size_t *n,
                             size_t *truncated)
{
    struct walk w = {t, roots, nroots, out, cap, 0, 0};
    for (size_t i = 0; i < nroots; i++) {
        add_children(&w, roots[i]);
    }
    /* Each pid has one parent in @t, so each is found at most once. */
    for (size_t i = 0; i < w.n; i++) {
        add_children(&w, out[i]);
    }
    *n = w.n;
    *truncated = w.truncated;
}
