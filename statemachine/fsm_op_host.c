/* Hosts and allocations: an agent registers its host (labels, capacity,
 * watched services); an operator sets what each service on a host is
 * given; the agent reads that back and applies it. Reads: host get/list,
 * allocation get/list. */
#include <stdio.h>
#include <string.h>

#include "fsm_internal.h"
#include "qm_alloc.h"
#include "qm_err.h"

/* ---- validation ---- */

static bool label_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-' ||
           ch == '/';
}

/* "key=value,key=value": keys non-empty, both of label characters. */
static bool labels_valid(const char *s)
{
    bool in_value = false;
    size_t run = 0;
    for (const char *p = s;; p++) {
        if (*p == '\0' || *p == ',') {
            if (*s != '\0' && (!in_value)) {
                return false;
            }
            if (*p == '\0') {
                return true;
            }
            in_value = false;
            run = 0;
        } else if (*p == '=' && !in_value) {
            if (run == 0) {
                return false;
            }
            in_value = true;
        } else if (label_char(*p)) {
            run++;
        } else {
            return false;
        }
    }
}

static bool match_valid(const char *m)
{
    static const char *const kinds[] = {"pid:", "exe:", "pidfile:", "cgroup:"};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        size_t n = strlen(kinds[i]);
        if (strncmp(m, kinds[i], n) == 0 && m[n] != '\0') {
            return true;
        }
    }
    return false;
}

static bool register_refused(const struct tp_host_register *r,
                             struct fsm_res *res)
{
    if (!labels_valid(r->labels)) {
        fsm__res_fail(res, QM_INVALID,
                      "labels must read key=value[,key=value...] of "
                      "[A-Za-z0-9._/-]");
        return true;
    }
    for (uint32_t i = 0; i < r->nservices; i++) {
        if (!match_valid(r->services[i].match)) {
            fsm__res_fail(res, QM_INVALID,
                          "service '%s': match must be pid:PID, exe:NAME, "
                          "pidfile:PATH or cgroup:PATH",
                          r->services[i].name);
            return true;
        }
        for (uint32_t j = 0; j < i; j++) {
            if (strcmp(r->services[i].name, r->services[j].name) == 0) {
                fsm__res_fail(res, QM_INVALID, "service '%s' is named twice",
                              r->services[i].name);
                return true;
            }
        }
    }
    return false;
}

/* A CPU list: "0-3,6", ascending numbers below 4096. */
static bool cpulist_valid(const char *s)
{
    long prev = -1;
    const char *p = s;
    if (*p == '\0') {
        return false;
    }
    while (*p != '\0') {
        long a = 0, b;
        if (*p < '0' || *p > '9') {
            return false;
        }
        for (; *p >= '0' && *p <= '9' && a < 4096; p++) {
            a = a * 10 + (*p - '0');
        }
        b = a;
        if (*p == '-') {
            p++;
            if (*p < '0' || *p > '9') {
                return false;
            }
            for (b = 0; *p >= '0' && *p <= '9' && b < 4096; p++) {
                b = b * 10 + (*p - '0');
            }
        }
        if (a <= prev || b < a || b >= 4096) {
            return false;
        }
        prev = b;
        if (*p == ',') {
            p++;
            if (*p == '\0') {
                return false;
            }
        } else if (*p != '\0') {
            return false;
        }
    }
    return true;
}

static bool alloc_refused(const struct tp_alloc *al, struct fsm_res *res)
{
    uint64_t s = al->set;
    if (s & al->unset) {
        fsm__res_fail(res, QM_INVALID, "a field cannot be set and unset");
    } else if (s == 0 && al->unset == 0) {
        fsm__res_fail(res, QM_INVALID, "nothing to set or unset");
    } else if ((s & TP_ALLOC_CPUS) && !cpulist_valid(al->cpus)) {
        fsm__res_fail(res, QM_INVALID,
                      "cpus must be a CPU list such as 0-3,6 (ascending)");
    } else if ((s & TP_ALLOC_NOFILE) && al->nofile < 16) {
        fsm__res_fail(res, QM_INVALID, "nofile must be at least 16");
    } else if ((s & TP_ALLOC_NPROC) && al->nproc < 1) {
        fsm__res_fail(res, QM_INVALID, "nproc must be at least 1");
    } else if ((s & TP_ALLOC_CPU_WEIGHT) && al->cpu_weight < 1) {
        fsm__res_fail(res, QM_INVALID, "cpu weight must be 1..10000");
    } else if ((s & TP_ALLOC_CPU_MAX) &&
               ((al->cpu_max_quota_us != -1 && al->cpu_max_quota_us < 1000) ||
                (al->cpu_max_period_us != 0 && al->cpu_max_period_us < 1000))) {
        fsm__res_fail(res, QM_INVALID,
                      "cpu max: quota 'max' or >= 1000 us, period "
                      "1000..1000000 us");
    } else if ((s & TP_ALLOC_MEMORY_HIGH) && al->memory_high == 0) {
        fsm__res_fail(res, QM_INVALID, "memory high must be 'max' or > 0");
    } else if ((s & TP_ALLOC_MEMORY_MAX) && al->memory_max == 0) {
        fsm__res_fail(res, QM_INVALID, "memory max must be 'max' or > 0");
    } else {
        return false;
    }
    return true;
}

/* ---- records ---- */

int fsm__host_load(struct fsm_ctx *c, const char *id, struct tp_host_info *h)
{
    return fsm__get_rec(c, FSM_DB_HOSTS, id, strlen(id), &tp_host_info_schema,
                        h);
}

static int host_store(struct fsm_ctx *c, const struct tp_host_info *h)
{
    struct qm_buf *b = &c->f->recbuf;
    qm_buf_reset(b);
    if (qm_encode(&tp_host_info_schema, h, b) != QM_OK) {
        return QM_ENOMEM;
    }
    return fsm__put(c, FSM_DB_HOSTS, h->reg.id, strlen(h->reg.id), b->data,
                    b->len);
}

/* host \0 service */
static size_t alloc_key(uint8_t *k, const char *host, const char *service)
{
    size_t a = strlen(host), b = strlen(service);
    memcpy(k, host, a);
    k[a] = 0;
    memcpy(k + a + 1, service, b);
    return a + 1 + b;
}

struct alloc_walk
{
    struct tp_alloc_page *page;
    uint64_t limit;
    const char *host;
};

static int alloc_one(void *arg, const MDB_val *k, const MDB_val *v, bool *stop)
{
    struct alloc_walk *w = arg;
    size_t n = strlen(w->host);
    if (k->mv_size <= n || memcmp(k->mv_data, w->host, n) != 0 ||
        ((const uint8_t *)k->mv_data)[n] != 0) {
        *stop = true;
        return QM_OK;
    }
    if (fsm__page_full(w->page->nallocs, w->limit, &w->page->more, stop)) {
        return QM_OK;
    }
    int rv =
        fsm__decode(v, &tp_alloc_schema, &w->page->allocs[w->page->nallocs]);
    if (rv == QM_OK) {
        w->page->nallocs++;
    }
    return rv;
}

/* A page of @host's allocations after service @after into @page. */
static int alloc_page(struct fsm_ctx *c,
                      const char *host,
                      const char *after,
                      uint64_t limit,
                      struct tp_alloc_page *page)
{
    struct alloc_walk w = {page, limit, host};
    page->nallocs = 0;
    page->more = false;
    uint8_t k[2 * QM_NAME_MAX + 2];
    size_t klen = alloc_key(k, host, after);
    return fsm__page(c, FSM_DB_ALLOCS, k, klen, after[0] != '\0', alloc_one,
                     &w);
}

static int alloc_del(struct fsm_ctx *c, const char *host, const char *service)
{
    uint8_t k[2 * QM_NAME_MAX + 2];
    MDB_val kv = {alloc_key(k, host, service), k};
    int rc = mdb_del(c->txn, c->f->dbi[FSM_DB_ALLOCS], &kv, NULL);
    return rc == MDB_NOTFOUND ? QM_OK : fsm__err_from_mdb(rc);
}

/* ---- commands ---- */

int fsm__host_register(struct fsm_ctx *c,
                       const union tp_args *a,
                       struct fsm_res *res)
{
    const struct tp_host_register *r = &a->host_register;
    if (register_refused(r, res)) {
        return QM_OK;
    }
    struct tp_host_info h;
    int rv = fsm__host_load(c, r->id, &h);
    if (rv == QM_NOT_FOUND) {
        MDB_stat st;
        int rc = mdb_stat(c->txn, c->f->dbi[FSM_DB_HOSTS], &st);
        if (rc != MDB_SUCCESS) {
            return fsm__err_from_mdb(rc);
        }
        if (st.ms_entries >= QM_HOSTS_MAX) {
            fsm__res_fail(res, QM_INVALID,
                          "the cluster holds %d hosts, the most it allows",
                          QM_HOSTS_MAX);
            return QM_OK;
        }
        memset(&h, 0, sizeof(h));
        h.registered_ms = c->now;
    } else if (rv != QM_OK) {
        return rv;
    }
    h.reg = *r;
    h.updated_ms = c->now;
    rv = host_store(c, &h);
    res->body.ack.alloc_version = h.alloc_version;
    res->body.ack.registered = true;
    res->body_schema = &tp_report_ack_schema;
    return rv;
}

int fsm__host_get(struct fsm_ctx *c,
                  const union tp_args *a,
                  struct fsm_res *res)
{
    const char *id = a->host_id.id;
    int rv = fsm__host_load(c, id, &res->body.host);
    if (rv != QM_OK) {
        return fsm__lookup_failed(res, rv, "host", id);
    }
    res->body_schema = &tp_host_info_schema;
    return QM_OK;
}

struct host_walk
{
    struct tp_host_page *page;
    uint64_t limit;
};

static int host_one(void *arg, const MDB_val *k, const MDB_val *v, bool *stop)
{
    (void)k;
    struct host_walk *w = arg;
    if (fsm__page_full(w->page->nhosts, w->limit, &w->page->more, stop)) {
        return QM_OK;
    }
    int rv =
        fsm__decode(v, &tp_host_info_schema, &w->page->hosts[w->page->nhosts]);
    if (rv == QM_OK) {
        w->page->nhosts++;
    }
    return rv;
}

int fsm__host_list(struct fsm_ctx *c,
                   const union tp_args *a,
                   struct fsm_res *res)
{
    const struct tp_list_args *la = &a->list;
    struct host_walk w = {&res->body.hosts, la->limit};
    if (w.limit == 0 || w.limit > QM_HOST_PAGE_MAX) {
        w.limit = QM_HOST_PAGE_MAX;
    }
    w.page->nhosts = 0;
    w.page->more = false;
    res->body_schema = &tp_host_page_schema;
    return fsm__page(c, FSM_DB_HOSTS, la->after, strlen(la->after), true,
                     host_one, &w);
}

int fsm__host_delete(struct fsm_ctx *c,
                     const union tp_args *a,
                     struct fsm_res *res)
{
    const char *id = a->host_id.id;
    struct tp_host_info h;
    int rv = fsm__host_load(c, id, &h);
    if (rv != QM_OK) {
        return fsm__lookup_failed(res, rv, "host", id);
    }
    MDB_val k = {strlen(id), (void *)id};
    rv = fsm__err_from_mdb(mdb_del(c->txn, c->f->dbi[FSM_DB_HOSTS], &k, NULL));
    /* Its allocations go with it, a page at a time (the reply has no body,
     * so its page is scratch). */
    struct tp_alloc_page *page = &res->body.allocs;
    bool more = true;
    while (rv == QM_OK && more) {
        rv = alloc_page(c, id, "", QM_PAGE_MAX, page);
        more = page->more;
        for (uint32_t i = 0; rv == QM_OK && i < page->nallocs; i++) {
            rv = alloc_del(c, id, page->allocs[i].service);
        }
    }
    res->body_schema = NULL;
    return rv;
}

/* ---- allocations ---- */

static void alloc_merge(struct tp_alloc *cur, const struct tp_alloc *in)
{
    uint64_t s = in->set;
    if (s & TP_ALLOC_NICE) {
        cur->nice = in->nice;
    }
    if (s & TP_ALLOC_CPUS) {
        memcpy(cur->cpus, in->cpus, sizeof(cur->cpus));
    }
    if (s & TP_ALLOC_NOFILE) {
        cur->nofile = in->nofile;
    }
    if (s & TP_ALLOC_NPROC) {
        cur->nproc = in->nproc;
    }
    if (s & TP_ALLOC_CPU_WEIGHT) {
        cur->cpu_weight = in->cpu_weight;
    }
    if (s & TP_ALLOC_CPU_MAX) {
        cur->cpu_max_quota_us = in->cpu_max_quota_us;
        cur->cpu_max_period_us =
            in->cpu_max_period_us != 0 ? in->cpu_max_period_us : 100000;
    }
    if (s & TP_ALLOC_MEMORY_HIGH) {
        cur->memory_high = in->memory_high;
    }
    if (s & TP_ALLOC_MEMORY_MAX) {
        cur->memory_max = in->memory_max;
    }
    if (s & TP_ALLOC_INSTANCES) {
        cur->instances = in->instances;
    }
    cur->set = (cur->set | s) & ~in->unset;
}

/* Fields whose bit is off read as zero, so equal allocations encode to
 * equal bytes. */
static void alloc_clean(struct tp_alloc *al)
{
    struct tp_alloc z;
    memset(&z, 0, sizeof(z));
    memcpy(z.host, al->host, sizeof(z.host));
    memcpy(z.service, al->service, sizeof(z.service));
    z.updated_ms = al->updated_ms;
    al->unset = 0;
    alloc_merge(&z, al);
    *al = z;
}

int fsm__alloc_set(struct fsm_ctx *c,
                   const union tp_args *a,
                   struct fsm_res *res)
{
    const struct tp_alloc *in = &a->alloc;
    if (alloc_refused(in, res)) {
        return QM_OK;
    }
    struct tp_host_info h;
    int rv = fsm__host_load(c, in->host, &h);
    if (rv != QM_OK) {
        if (rv == QM_NOT_FOUND) {
            fsm__res_fail(res, QM_NOT_FOUND,
                          "no host named '%s' (its agent registers it)",
                          in->host);
            return QM_OK;
        }
        return rv;
    }
    uint8_t k[2 * QM_NAME_MAX + 2];
    size_t klen = alloc_key(k, in->host, in->service);
    struct tp_alloc cur;
    rv = fsm__get_rec(c, FSM_DB_ALLOCS, k, klen, &tp_alloc_schema, &cur);
    if (rv == QM_NOT_FOUND && in->set == 0) {
        return QM_OK; /* nothing to unset: nothing changes */
    }
    if (rv == QM_NOT_FOUND) {
        memset(&cur, 0, sizeof(cur));
        memcpy(cur.host, in->host, sizeof(cur.host));
        memcpy(cur.service, in->service, sizeof(cur.service));
        /* A new one: at most QM_HOST_SERVICES_MAX per host (the reply
         * has no body, so its page is scratch). */
        rv = alloc_page(c, in->host, "", QM_HOST_SERVICES_MAX,
                        &res->body.allocs);
        if (rv != QM_OK) {
            return rv;
        }
        if (res->body.allocs.nallocs == QM_HOST_SERVICES_MAX) {
            fsm__res_fail(res, QM_INVALID,
                          "host '%s' has allocations for %d services, the "
                          "most it may",
                          in->host, QM_HOST_SERVICES_MAX);
            return QM_OK;
        }
    } else if (rv != QM_OK) {
        return rv;
    }
    alloc_merge(&cur, in);
    cur.unset = 0;
    cur.updated_ms = c->now;
    alloc_clean(&cur);
    if (cur.set == 0) {
        rv = alloc_del(c, in->host, in->service);
    } else {
        rv = fsm__put_rec(c, FSM_DB_ALLOCS, k, klen, &tp_alloc_schema, &cur);
    }
    if (rv == QM_OK) {
        h.alloc_version++;
        rv = host_store(c, &h);
    }
    return rv;
}

int fsm__alloc_get(struct fsm_ctx *c,
                   const union tp_args *a,
                   struct fsm_res *res)
{
    const struct tp_alloc_key *ak = &a->alloc_key;
    uint8_t k[2 * QM_NAME_MAX + 2];
    size_t klen = alloc_key(k, ak->host, ak->service);
    int rv = fsm__get_rec(c, FSM_DB_ALLOCS, k, klen, &tp_alloc_schema,
                          &res->body.alloc);
    if (rv == QM_NOT_FOUND) {
        fsm__res_fail(res, QM_NOT_FOUND, "no allocation for %s/%s", ak->host,
                      ak->service);
        return QM_OK;
    }
    res->body_schema = rv == QM_OK ? &tp_alloc_schema : NULL;
    return rv;
}

int fsm__alloc_list(struct fsm_ctx *c,
                    const union tp_args *a,
                    struct fsm_res *res)
{
    const struct tp_alloc_list_args *la = &a->alloc_list;
    res->body_schema = &tp_alloc_page_schema;
    return alloc_page(c, la->host, la->after,
                      la->limit == 0 ? QM_PAGE_MAX : la->limit,
                      &res->body.allocs);
}

int fsm_host_alloc_version(struct fsm *f, const char *id, uint64_t *version)
{
    struct fsm_ctx c = {f, NULL, f->clock, 0};
    int rv = fsm__read_begin(f, &c.txn);
    if (rv != QM_OK) {
        return rv;
    }
    struct tp_host_info *h = qm_malloc(sizeof(*h));
    if (h == NULL) {
        fsm__read_end(f, c.txn);
        return QM_ENOMEM;
    }
    rv = fsm__host_load(&c, id, h);
    if (rv == QM_OK) {
        *version = h->alloc_version;
    }
    qm_free(h);
    fsm__read_end(f, c.txn);
    return rv;
}
