/* The typed functions of qm.h for hosts and their agents: registrations,
 * the leader's samples, allocations (and their text forms), actions and
 * credits. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "qm_api_internal.h"
#include "qm_call.h"
#include "qm_parse.h"

#define COPY_STR QM__COPY_STR

/* The public values are the wire's. */
_Static_assert((int)QM_ALLOC_NICE == (int)TP_ALLOC_NICE &&
                   (int)QM_ALLOC_INSTANCES == (int)TP_ALLOC_INSTANCES &&
                   QM_ALLOC_ALL == TP_ALLOC_ALL,
               "allocation fields");
_Static_assert(sizeof(((struct tp_action *)0)->action) ==
                   sizeof(((struct qm_action *)0)->action),
               "action names");

#define BYTES_MAX (1LL << 60) /* the wire's bound on sizes */

/* ---- hosts ---- */

static void host_out(const void *in_, void *out_)
{
    const struct tp_host_info *in = in_;
    struct qm_host *out = out_;
    memset(out, 0, sizeof(*out));
    COPY_STR(out->id, in->reg.id);
    COPY_STR(out->labels, in->reg.labels);
    out->cpus = in->reg.cpus;
    out->mem_bytes = in->reg.mem_bytes;
    out->disk_bytes = in->reg.disk_bytes;
    COPY_STR(out->local_api, in->reg.local_api);
    out->nservices = in->reg.nservices;
    for (uint32_t i = 0; i < in->reg.nservices; i++) {
        COPY_STR(out->services[i].name, in->reg.services[i].name);
        COPY_STR(out->services[i].match, in->reg.services[i].match);
    }
    out->registered_ms = in->registered_ms;
    out->updated_ms = in->updated_ms;
    out->alloc_version = in->alloc_version;
}

int qm_host_get(struct qm_client *c,
                const char *id,
                bool stale,
                struct qm_host *out,
                struct qm_result *res)
{
    struct tp_host_id hi;
    int rv = qm__name_arg(hi.id, id, false, "host id", res);
    if (rv != QM_OK) {
        return rv;
    }
    return qm__get_run(c, TP_OP_HOST_GET, &tp_host_id_schema, &hi, stale,
                       &tp_host_info_schema, host_out, out, res);
}

int qm_host_list(struct qm_client *c,
                 const char *after,
                 bool stale,
                 struct qm_host *out,
                 unsigned max,
                 unsigned *n,
                 bool *more,
                 struct qm_result *res)
{
    struct qm__list_call l = {.op = TP_OP_HOST_LIST,
                              .page_schema = &tp_host_page_schema,
                              .out = host_out,
                              .out_size = sizeof(*out)};
    return qm__list_after(c, l, after, stale, out, max, n, more, res);
}

int qm_host_delete(struct qm_client *c, const char *id, struct qm_result *res)
{
    struct tp_host_id hi;
    int rv = qm__name_arg(hi.id, id, false, "host id", res);
    if (rv != QM_OK) {
        return rv;
    }
    return qm__call_sync(c, TP_OP_HOST_DELETE, &tp_host_id_schema, &hi, 0, NULL,
                         NULL, NULL, res);
}

/* ---- samples ---- */

/* The numbers of a service sample: public name, wire name. */
#define SVC_NUMBERS(X)                  \
    X(procs, nprocs)                    \
    X(children, nchildren)              \
    X(cpu_pm, cpu_pm)                   \
    X(rss_bytes, rss_bytes)             \
    X(mem_limit, mem_limit)             \
    X(fds, fds)                         \
    X(fd_limit, fd_limit)               \
    X(threads, threads)                 \
    X(sockets, sockets)                 \
    X(tcp_established, tcp_established) \
    X(tcp_listen, tcp_listen)           \
    X(tcp_time_wait, tcp_time_wait)     \
    X(tcp_close_wait, tcp_close_wait)   \
    X(tcp_other, tcp_other)

/* The host sample has the same fields on both sides. */
#define HOST_NUMBERS(X) \
    X(cpus)             \
    X(cpu_pm)           \
    X(load1_milli)      \
    X(mem_total)        \
    X(mem_avail)        \
    X(swap_total)       \
    X(swap_free)        \
    X(disk_total)       \
    X(disk_avail)       \
    X(net_rx_bps)       \
    X(net_tx_bps)       \
    X(procs)
_Static_assert(sizeof(struct tp_host_sample) == sizeof(struct qm_host_sample),
               "HOST_NUMBERS lists every field");

static void svc_out(const struct tp_svc_sample *in,
                    struct qm_service_sample *out)
{
    COPY_STR(out->name, in->name);
#define PUT(pub, wire) out->pub = in->wire;
    SVC_NUMBERS(PUT)
#undef PUT
    COPY_STR(out->note, in->note);
    COPY_STR(out->enforce, in->enforce);
}

static void metrics_out(const void *in_, void *out_)
{
    const struct tp_host_metrics *in = in_;
    struct qm_host_metrics *out = out_;
    memset(out, 0, sizeof(*out));
    COPY_STR(out->host, in->host);
    out->seen_ms = in->seen_ms;
    out->at_ms = in->at_ms;
    out->seq = in->seq;
#define PUT(f) out->sample.f = in->sample.f;
    HOST_NUMBERS(PUT)
#undef PUT
    out->cpu_pm_avg = in->cpu_pm_avg;
    out->cpu_pm_max = in->cpu_pm_max;
    out->window = in->window;
    out->nservices = in->nservices;
    for (uint32_t i = 0; i < in->nservices; i++) {
        svc_out(&in->services[i], &out->services[i]);
    }
}

/* HOST_METRICS for one host (@host) or a page after @after. */
static int metrics_call(struct qm_client *c,
                        const char *host,
                        const char *after,
                        struct qm_host_metrics *out,
                        unsigned max,
                        unsigned *n,
                        bool *more,
                        struct qm_result *res)
{
    struct tp_metrics_args ma = {
        .limit = max < QM_METRICS_PAGE_MAX ? max : QM_METRICS_PAGE_MAX};
    int rv = qm__name_arg(ma.host, host, true, "host id", res);
    if (rv == QM_OK) {
        rv = qm__name_arg(ma.after, after, true, "list start", res);
    }
    if (rv != QM_OK) {
        return rv;
    }
    /* Only the leader holds samples: never a stale read. */
    struct qm__list_call l = {TP_OP_HOST_METRICS,
                              &tp_metrics_args_schema,
                              &ma,
                              0,
                              &tp_metrics_page_schema,
                              metrics_out,
                              sizeof(*out)};
    return qm__list_run(c, &l, out, max, n, more, res);
}

int qm_host_metrics(struct qm_client *c,
                    const char *host,
                    struct qm_host_metrics *out,
                    struct qm_result *res)
{
    unsigned n;
    bool more;
    if (host == NULL || host[0] == '\0') {
        return qm__fail_local(res, QM_INVALID, "a host id is needed");
    }
    int rv = metrics_call(c, host, NULL, out, 1, &n, &more, res);
    if (rv == QM_OK && n != 1) {
        return qm__fail_local(res, QM_EPROTO, "the leader sent %u hosts", n);
    }
    return rv;
}

int qm_host_metrics_list(struct qm_client *c,
                         const char *after,
                         struct qm_host_metrics *out,
                         unsigned max,
                         unsigned *n,
                         bool *more,
                         struct qm_result *res)
{
    return metrics_call(c, NULL, after, out, max, n, more, res);
}

/* ---- allocations ---- */

/* The numbers with the same type on both sides. */
#define ALLOC_NUMBERS(X) \
    X(nice)              \
    X(cpu_weight)        \
    X(cpu_max_quota_us)  \
    X(cpu_max_period_us) \
    X(memory_high)       \
    X(memory_max)        \
    X(instances)         \
    X(updated_ms)

static void alloc_out(const void *in_, void *out_)
{
    const struct tp_alloc *in = in_;
    struct qm_alloc *out = out_;
    memset(out, 0, sizeof(*out));
    COPY_STR(out->host, in->host);
    COPY_STR(out->service, in->service);
    out->set = (unsigned)(in->set & QM_ALLOC_ALL);
    COPY_STR(out->cpus, in->cpus);
    out->nofile = (int64_t)in->nofile;
    out->nproc = (int64_t)in->nproc;
#define PUT(f) out->f = in->f;
    ALLOC_NUMBERS(PUT)
#undef PUT
}

static const struct afield *afield_of(unsigned bit);
static void alloc_clean(struct qm_alloc *a);

static int alloc_in(struct tp_alloc *out,
                    const struct qm_alloc *in_,
                    struct qm_result *res)
{
    struct qm_alloc clean = *in_;
    const struct qm_alloc *in = &clean;
    alloc_clean(&clean);
    memset(out, 0, sizeof(*out));
    int rv = qm__name_arg(out->host, in->host, false, "host id", res);
    if (rv == QM_OK) {
        rv = qm__name_arg(out->service, in->service, false, "service", res);
    }
    if (rv != QM_OK) {
        return rv;
    }
    if (((in->set | in->unset) & ~QM_ALLOC_ALL) != 0 ||
        (in->set | in->unset) == 0) {
        return qm__fail_local(res, QM_INVALID,
                              "nothing to set or unset (fields 0x%x, 0x%x)",
                              in->set, in->unset);
    }
    out->set = in->set;
    out->unset = in->unset;
    COPY_STR(out->cpus, in->cpus);
    out->nofile = in->nofile > 0 ? (uint64_t)in->nofile : 0;
    out->nproc = in->nproc > 0 ? (uint64_t)in->nproc : 0;
#define PUT(f) out->f = in->f;
    ALLOC_NUMBERS(PUT)
#undef PUT
    out->updated_ms = 0;
    return QM_OK;
}

int qm_alloc_set(struct qm_client *c,
                 const struct qm_alloc *a,
                 struct qm_result *res)
{
    struct tp_alloc al;
    int rv = alloc_in(&al, a, res);
    if (rv != QM_OK) {
        return rv;
    }
    return qm__call_sync(c, TP_OP_ALLOC_SET, &tp_alloc_schema, &al, 0, NULL,
                         NULL, NULL, res);
}

int qm_alloc_get(struct qm_client *c,
                 const char *host,
                 const char *service,
                 bool stale,
                 struct qm_alloc *out,
                 struct qm_result *res)
{
    struct tp_alloc_key k;
    int rv = qm__name_arg(k.host, host, false, "host id", res);
    if (rv == QM_OK) {
        rv = qm__name_arg(k.service, service, false, "service", res);
    }
    if (rv != QM_OK) {
        return rv;
    }
    return qm__get_run(c, TP_OP_ALLOC_GET, &tp_alloc_key_schema, &k, stale,
                       &tp_alloc_schema, alloc_out, out, res);
}

int qm_alloc_list(struct qm_client *c,
                  const char *host,
                  const char *after,
                  bool stale,
                  struct qm_alloc *out,
                  unsigned max,
                  unsigned *n,
                  bool *more,
                  struct qm_result *res)
{
    struct tp_alloc_list_args la = {.limit = qm__page_limit(max)};
    int rv = qm__name_arg(la.host, host, false, "host id", res);
    if (rv == QM_OK) {
        rv = qm__name_arg(la.after, after, true, "list start", res);
    }
    if (rv != QM_OK) {
        return rv;
    }
    struct qm__list_call l = {
        TP_OP_ALLOC_LIST,      &tp_alloc_list_args_schema, &la,
        qm__read_flags(stale), &tp_alloc_page_schema,      alloc_out,
        sizeof(*out)};
    return qm__list_run(c, &l, out, max, n, more, res);
}

/* ---- text forms of allocations ---- */

enum vkind { V_INT, V_CPUS, V_CPU_MAX, V_BYTES };

/* A field: its bit, name, kind of value, bounds and, for numbers, where
 * it lives in struct qm_alloc (an int64_t). */
struct afield
{
    unsigned bit;
    const char *name;
    enum vkind kind;
    int64_t lo, hi;
    size_t off;
};

#define AOFF(m) offsetof(struct qm_alloc, m)
static const struct afield afields[QM_ALLOC_FIELDS] = {
    {QM_ALLOC_NICE, "nice", V_INT, -20, 19, AOFF(nice)},
    {QM_ALLOC_CPUS, "cpus", V_CPUS, 0, 0, 0},
    {QM_ALLOC_NOFILE, "nofile", V_INT, 16, 1LL << 30, AOFF(nofile)},
    {QM_ALLOC_NPROC, "nproc", V_INT, 1, 1LL << 22, AOFF(nproc)},
    {QM_ALLOC_CPU_WEIGHT, "cpu-weight", V_INT, 1, 10000, AOFF(cpu_weight)},
    {QM_ALLOC_CPU_MAX, "cpu-max", V_CPU_MAX, 1000, 1LL << 40,
     AOFF(cpu_max_quota_us)},
    {QM_ALLOC_MEMORY_HIGH, "memory-high", V_BYTES, 1, BYTES_MAX,
     AOFF(memory_high)},
    {QM_ALLOC_MEMORY_MAX, "memory-max", V_BYTES, 1, BYTES_MAX,
     AOFF(memory_max)},
    {QM_ALLOC_INSTANCES, "instances", V_INT, 0, 1000, AOFF(instances)},
};
#undef AOFF

#define PERIOD_MIN 1000
#define PERIOD_MAX 1000000

static const struct afield *afield_of(unsigned bit)
{
    for (size_t i = 0; i < QM_ALLOC_FIELDS; i++) {
        if (afields[i].bit == bit) {
            return &afields[i];
        }
    }
    return NULL;
}

/* Zero the values of the fields @a does not set, so that what the caller
 * left in them never reaches the wire. */
static void alloc_clean(struct qm_alloc *a)
{
    static const int64_t zero = 0;
    for (size_t i = 0; i < QM_ALLOC_FIELDS; i++) {
        const struct afield *f = &afields[i];
        if ((a->set & f->bit) != 0) {
            continue;
        }
        if (f->kind == V_CPUS) {
            a->cpus[0] = '\0';
        } else {
            memcpy((char *)a + f->off, &zero, sizeof(zero));
        }
        if (f->kind == V_CPU_MAX) {
            a->cpu_max_period_us = 0;
        }
    }
}

/* @name against @field's name, '_' standing for '-'. */
static bool name_is(const char *name, const char *field)
{
    size_t i = 0;
    for (; name[i] != '\0' && field[i] != '\0'; i++) {
        char ch = name[i] == '_' ? '-' : name[i];
        if (ch != field[i]) {
            return false;
        }
    }
    return name[i] == '\0' && field[i] == '\0';
}

unsigned qm_alloc_field_parse(const char *name)
{
    for (size_t i = 0; name != NULL && i < QM_ALLOC_FIELDS; i++) {
        if (name_is(name, afields[i].name)) {
            return afields[i].bit;
        }
    }
    return 0;
}

const char *qm_alloc_field_name(unsigned field)
{
    const struct afield *f = afield_of(field);
    return f != NULL ? f->name : NULL;
}

/* A whole number, optionally negative, within lo..hi. */
static int int_parse(const char *s, int64_t lo, int64_t hi, int64_t *v)
{
    bool neg = s[0] == '-';
    uint64_t u;
    if (qm_parse_u64(s + (neg ? 1 : 0), (uint64_t)INT64_MAX, &u) != 0) {
        return -1;
    }
    int64_t x = neg ? -(int64_t)u : (int64_t)u;
    if (x < lo || x > hi) {
        return -1;
    }
    *v = x;
    return 0;
}

/* "max" (QM_ALLOC_UNLIMITED), or a number of @f's range through @parse. */
static int max_or(const char *s,
                  const struct afield *f,
                  int (*parse)(const char *s, int64_t max, int64_t *v),
                  int64_t *v)
{
    if (strcmp(s, "max") == 0) {
        *v = QM_ALLOC_UNLIMITED;
        return 0;
    }
    int64_t x;
    if (parse(s, f->hi, &x) != 0 || x < f->lo) {
        return -1;
    }
    *v = x;
    return 0;
}

static int uint_parse(const char *s, int64_t max, int64_t *v)
{
    return int_parse(s, 0, max, v);
}

/* QUOTA_US|max[/PERIOD_US]; *period 0 when not given. */
static int cpu_max_parse(const char *s,
                         const struct afield *f,
                         int64_t *quota,
                         int64_t *period)
{
    char q[32];
    const char *slash = strchr(s, '/');
    size_t n = slash != NULL ? (size_t)(slash - s) : strlen(s);
    if (n >= sizeof(q)) {
        return -1;
    }
    memcpy(q, s, n);
    q[n] = '\0';
    *period = 0;
    if (slash != NULL &&
        int_parse(slash + 1, PERIOD_MIN, PERIOD_MAX, period) != 0) {
        return -1;
    }
    return max_or(q, f, uint_parse, quota);
}

/* Characters of a CPU list; the cluster checks its order and ranges. */
static bool cpus_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= QM_CPULIST_MAX && strspn(s, "0123456789,-") == n;
}

static const char *wants(const struct afield *f, char buf[96])
{
    switch (f->kind) {
        case V_CPUS:
            return "a CPU list such as 0-3,6";
        case V_CPU_MAX:
            return "QUOTA_US (>= 1000) or max, optionally /PERIOD_US "
                   "(1000..1000000)";
        case V_BYTES:
            return "bytes with an optional K, M, G, T or P suffix (512M, "
                   "2G), or max";
        default:
            snprintf(buf, 96, "a whole number %lld..%lld", (long long)f->lo,
                     (long long)f->hi);
            return buf;
    }
}

/* Parse @text as @f's value into @a; -1 when malformed. */
static int value_parse(struct qm_alloc *a,
                       const struct afield *f,
                       const char *text)
{
    int64_t v = 0, period = 0;
    int rv = -1;
    switch (f->kind) {
        case V_INT:
            rv = int_parse(text, f->lo, f->hi, &v);
            break;
        case V_BYTES:
            rv = max_or(text, f, qm_parse_bytes, &v);
            break;
        case V_CPU_MAX:
            rv = cpu_max_parse(text, f, &v, &period);
            a->cpu_max_period_us = rv == 0 ? period : a->cpu_max_period_us;
            break;
        case V_CPUS:
            if (cpus_ok(text)) {
                COPY_STR(a->cpus, text);
                return 0;
            }
            return -1;
    }
    if (rv == 0) {
        memcpy((char *)a + f->off, &v, sizeof(v));
    }
    return rv;
}

int qm_alloc_value_parse(struct qm_alloc *a,
                         unsigned field,
                         const char *text,
                         struct qm_result *res)
{
    const struct afield *f = afield_of(field);
    if (f == NULL) {
        return qm__fail_local(res, QM_INVALID, "no allocation field 0x%x",
                              field);
    }
    char buf[96];
    if (text == NULL || value_parse(a, f, text) != 0) {
        return qm__fail_local(res, QM_INVALID, "%s wants %s, got '%.40s'",
                              f->name, wants(f, buf), text ? text : "");
    }
    a->set |= field;
    a->unset &= ~field;
    return QM_OK;
}

/* Bytes exactly: with the largest binary suffix that divides them. */
static void bytes_format(char *buf, size_t size, int64_t v)
{
    static const char suffixes[] = "KMGTP";
    int k = -1;
    while (k + 1 < 5 && v != 0 && v % 1024 == 0) {
        v /= 1024;
        k++;
    }
    if (k < 0) {
        snprintf(buf, size, "%lld", (long long)v);
    } else {
        snprintf(buf, size, "%lld%c", (long long)v, suffixes[k]);
    }
}

const char *qm_alloc_value_format(const struct qm_alloc *a,
                                  unsigned field,
                                  char buf[QM_ALLOC_TEXT_MAX + 1])
{
    const struct afield *f = afield_of(field);
    const size_t size = QM_ALLOC_TEXT_MAX + 1;
    buf[0] = '\0';
    if (f == NULL || (a->set & field) == 0) {
        return buf;
    }
    int64_t v = 0;
    if (f->kind != V_CPUS) {
        memcpy(&v, (const char *)a + f->off, sizeof(v));
    }
    if (f->kind == V_CPUS) {
        snprintf(buf, size, "%s", a->cpus);
    } else if (f->kind != V_INT && v == QM_ALLOC_UNLIMITED) {
        snprintf(buf, size, "max");
    } else if (f->kind == V_BYTES) {
        bytes_format(buf, size, v);
    } else {
        snprintf(buf, size, "%lld", (long long)v);
    }
    if (f->kind == V_CPU_MAX && a->cpu_max_period_us != 0) {
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "/%lld",
                 (long long)a->cpu_max_period_us);
    }
    return buf;
}

/* ---- actions and credits ---- */

static void action_out(const void *in_, void *out_)
{
    const struct tp_action *in = in_;
    struct qm_action *out = out_;
    memset(out, 0, sizeof(*out));
    out->id = in->id;
    COPY_STR(out->host, in->host);
    COPY_STR(out->service, in->service);
    COPY_STR(out->action, in->action);
    out->ok = in->ok;
    COPY_STR(out->message, in->message);
    out->at_ms = in->at_ms;
}

/* The lists of one host's records by id (actions, credits): what differs
 * between them. Their arguments have the same fields, so one struct
 * serves both. */
struct by_host
{
    uint32_t op;
    const struct qm_schema *args_schema;
    const struct qm_schema *page_schema;
    qm__item_out_fn out;
};
_Static_assert(sizeof(struct tp_action_list_args) ==
                       sizeof(struct tp_credit_list_args) &&
                   offsetof(struct tp_action_list_args, after) ==
                       offsetof(struct tp_credit_list_args, after) &&
                   offsetof(struct tp_action_list_args, limit) ==
                       offsetof(struct tp_credit_list_args, limit),
               "list arguments by host");

static int by_host_list(struct qm_client *c,
                        const struct by_host *w,
                        const char *host,
                        uint64_t after_id,
                        bool stale,
                        void *out,
                        size_t out_size,
                        unsigned max,
                        unsigned *n,
                        bool *more,
                        struct qm_result *res)
{
    struct tp_action_list_args la = {.after = after_id,
                                     .limit = qm__page_limit(max)};
    int rv = qm__name_arg(la.host, host, true, "host id", res);
    if (rv != QM_OK) {
        return rv;
    }
    struct qm__list_call l = {
        w->op,          w->args_schema, &la,     qm__read_flags(stale),
        w->page_schema, w->out,         out_size};
    return qm__list_run(c, &l, out, max, n, more, res);
}

int qm_action_list(struct qm_client *c,
                   const char *host,
                   uint64_t after_id,
                   bool stale,
                   struct qm_action *out,
                   unsigned max,
                   unsigned *n,
                   bool *more,
                   struct qm_result *res)
{
    static const struct by_host w = {TP_OP_ACTION_LIST,
                                     &tp_action_list_args_schema,
                                     &tp_action_page_schema, action_out};
    return by_host_list(c, &w, host, after_id, stale, out, sizeof(*out), max, n,
                        more, res);
}

static void credit_out(const void *in_, void *out_)
{
    const struct tp_credit *in = in_;
    struct qm_credit *out = out_;
    memset(out, 0, sizeof(*out));
    out->id = in->id;
    COPY_STR(out->host, in->host);
    COPY_STR(out->pool, in->pool);
    out->amount = in->amount;
    out->expires_at_ms = in->expires_at_ms;
}

int qm_credit_list(struct qm_client *c,
                   const char *host,
                   uint64_t after_id,
                   bool stale,
                   struct qm_credit *out,
                   unsigned max,
                   unsigned *n,
                   bool *more,
                   struct qm_result *res)
{
    static const struct by_host w = {TP_OP_CREDIT_LIST,
                                     &tp_credit_list_args_schema,
                                     &tp_credit_page_schema, credit_out};
    return by_host_list(c, &w, host, after_id, stale, out, sizeof(*out), max, n,
                        more, res);
}
