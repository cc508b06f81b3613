#include "th_host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qm_err.h"
#include "qm_limits.h"
#include "th_cmocka.h"
#include "th_msg_host.h"

#define SET(dst, ...) snprintf((dst), sizeof(dst), __VA_ARGS__)

/* ---- hosts ---- */

int th_host_register(struct th_fsm *fx,
                     int64_t t,
                     const struct tp_host_register *r,
                     struct tp_report_ack *out)
{
    struct tp_report_ack ignored;
    return th_fsm_do_large(fx, t, TP_OP_HOST_REGISTER, 0, 0,
                           &tp_host_register_schema, r, &tp_report_ack_schema,
                           out != NULL ? out : &ignored);
}

int th_host_add(struct th_fsm *fx, int64_t t, const char *id)
{
    struct tp_host_register r;
    th_host_register_make(&r, id);
    return th_host_register(fx, t, &r, NULL);
}

void th_host_register_max(struct tp_host_register *r, const char *id)
{
    th_host_register_make(r, id);
    memset(r->labels, 'v', QM_LABELS_MAX);
    memcpy(r->labels, "k=", 2);
    memset(r->local_api, 'x', QM_URL_MAX);
    memcpy(r->local_api, "ipc:///", 7);
    r->nservices = QM_HOST_SERVICES_MAX;
    for (int i = 0; i < QM_HOST_SERVICES_MAX; i++) {
        struct tp_host_service *sv = &r->services[i];
        snprintf(sv->name, sizeof(sv->name), "%02d%062d", i, 0);
        memset(sv->match, 'p', QM_MATCH_MAX);
        memcpy(sv->match, "pidfile:/", 9);
    }
}

static void host_id(struct tp_host_id *a, const char *id)
{
    memset(a, 0, sizeof(*a));
    SET(a->id, "%s", id);
}

int th_host_get(struct th_fsm *fx, const char *id, struct tp_host_info *out)
{
    struct tp_host_id a;
    host_id(&a, id);
    struct tp_host_info *ignored = NULL;
    if (out == NULL) {
        ignored = malloc(sizeof(*ignored));
        assert_non_null(ignored);
    }
    int st = th_fsm_query(fx, 0, TP_OP_HOST_GET, &tp_host_id_schema, &a,
                          &tp_host_info_schema, out != NULL ? out : ignored);
    free(ignored);
    return st;
}

int th_host_list(struct th_fsm *fx,
                 const char *after,
                 uint64_t limit,
                 struct tp_host_page *page)
{
    struct tp_list_args a;
    memset(&a, 0, sizeof(a));
    SET(a.after, "%s", after);
    a.limit = limit;
    return th_fsm_query(fx, 0, TP_OP_HOST_LIST, &tp_list_args_schema, &a,
                        &tp_host_page_schema, page);
}

int th_host_delete(struct th_fsm *fx, int64_t t, const char *id)
{
    struct tp_host_id a;
    host_id(&a, id);
    return th_fsm_do(fx, t, TP_OP_HOST_DELETE, 0, 0, &tp_host_id_schema, &a,
                     NULL, NULL);
}

uint64_t th_host_version(struct th_fsm *fx, const char *id)
{
    uint64_t v = UINT64_MAX;
    assert_int_equal(fsm_host_alloc_version(fx->f, id, &v), QM_OK);
    return v;
}

/* ---- allocations ---- */

void th_alloc_args(struct tp_alloc *al, const char *host, const char *service)
{
    memset(al, 0, sizeof(*al));
    SET(al->host, "%s", host);
    SET(al->service, "%s", service);
}

int th_alloc_set(struct th_fsm *fx, int64_t t, const struct tp_alloc *al)
{
    return th_fsm_do(fx, t, TP_OP_ALLOC_SET, 0, 0, &tp_alloc_schema, al, NULL,
                     NULL);
}

int th_alloc_nice(struct th_fsm *fx,
                  int64_t t,
                  const char *host,
                  const char *service,
                  int64_t nice)
{
    struct tp_alloc al;
    th_alloc_args(&al, host, service);
    al.set = TP_ALLOC_NICE;
    al.nice = nice;
    return th_alloc_set(fx, t, &al);
}

int th_alloc_get(struct th_fsm *fx,
                 const char *host,
                 const char *service,
                 struct tp_alloc *out)
{
    struct tp_alloc_key a;
    memset(&a, 0, sizeof(a));
    SET(a.host, "%s", host);
    SET(a.service, "%s", service);
    struct tp_alloc ignored;
    return th_fsm_query(fx, 0, TP_OP_ALLOC_GET, &tp_alloc_key_schema, &a,
                        &tp_alloc_schema, out != NULL ? out : &ignored);
}

int th_alloc_list(struct th_fsm *fx,
                  const char *host,
                  const char *after,
                  uint64_t limit,
                  struct tp_alloc_page *page)
{
    struct tp_alloc_list_args a;
    memset(&a, 0, sizeof(a));
    SET(a.host, "%s", host);
    SET(a.after, "%s", after);
    a.limit = limit;
    return th_fsm_query(fx, 0, TP_OP_ALLOC_LIST, &tp_alloc_list_args_schema, &a,
                        &tp_alloc_page_schema, page);
}

/* ---- actions and agent alerts ---- */

int th_action_record(struct th_fsm *fx,
                     int64_t t,
                     const char *host,
                     const char *service,
                     const char *action,
                     struct tp_action *out)
{
    struct tp_action a;
    memset(&a, 0, sizeof(a));
    SET(a.host, "%s", host);
    SET(a.service, "%s", service);
    SET(a.action, "%s", action);
    a.ok = true;
    SET(a.message, "%s %s/%s", action, host, service);
    struct tp_action ignored;
    return th_fsm_do(fx, t, TP_OP_ACTION_RECORD, 0, 0, &tp_action_schema, &a,
                     &tp_action_schema, out != NULL ? out : &ignored);
}

int th_action_list(struct th_fsm *fx,
                   const char *host,
                   uint64_t after,
                   uint64_t limit,
                   struct tp_action_page *page)
{
    struct tp_action_list_args a;
    memset(&a, 0, sizeof(a));
    SET(a.host, "%s", host);
    a.after = after;
    a.limit = limit;
    return th_fsm_query(fx, 0, TP_OP_ACTION_LIST, &tp_action_list_args_schema,
                        &a, &tp_action_page_schema, page);
}

int th_alert_raise(struct th_fsm *fx,
                   int64_t t,
                   const char *kind,
                   const char *subject,
                   const char *topic,
                   const char *severity,
                   const char *message)
{
    struct tp_alert_raise a;
    memset(&a, 0, sizeof(a));
    SET(a.kind, "%s", kind);
    SET(a.subject, "%s", subject);
    SET(a.topic, "%s", topic);
    SET(a.severity, "%s", severity);
    SET(a.message, "%s", message);
    return th_fsm_do(fx, t, TP_OP_ALERT_RAISE, 0, 0, &tp_alert_raise_schema, &a,
                     NULL, NULL);
}

/* ---- credits ---- */

void th_credit_args(struct tp_credit_grant *g,
                    const char *host,
                    const char *pool,
                    int64_t amount,
                    int64_t min,
                    int64_t ttl_ms)
{
    memset(g, 0, sizeof(*g));
    SET(g->host, "%s", host);
    SET(g->pool, "%s", pool);
    g->amount = amount;
    g->min = min;
    g->ttl_ms = ttl_ms;
}

int th_credit_grant(struct th_fsm *fx,
                    int64_t t,
                    uint64_t session,
                    uint64_t seq,
                    const struct tp_credit_grant *g,
                    struct tp_credit *out)
{
    struct tp_credit ignored;
    return th_fsm_do(fx, t, TP_OP_CREDIT_GRANT, session, seq,
                     &tp_credit_grant_schema, g, &tp_credit_schema,
                     out != NULL ? out : &ignored);
}

int th_credit_take(struct th_fsm *fx,
                   int64_t t,
                   const char *host,
                   const char *pool,
                   int64_t amount,
                   int64_t min,
                   int64_t ttl_ms,
                   struct tp_credit *out)
{
    struct tp_credit_grant g;
    th_credit_args(&g, host, pool, amount, min, ttl_ms);
    return th_credit_grant(fx, t, 0, 0, &g, out);
}

int th_credit_return(struct th_fsm *fx,
                     int64_t t,
                     uint64_t id,
                     int64_t unused,
                     int64_t *returned)
{
    struct tp_credit_return a = {id, unused};
    struct tp_credit_returned r = {0};
    int st =
        th_fsm_do(fx, t, TP_OP_CREDIT_RETURN, 0, 0, &tp_credit_return_schema,
                  &a, &tp_credit_returned_schema, &r);
    if (returned != NULL) {
        *returned = r.returned;
    }
    return st;
}

int th_credit_list(struct th_fsm *fx,
                   const char *host,
                   uint64_t after,
                   uint64_t limit,
                   struct tp_credit_page *page)
{
    struct tp_credit_list_args a;
    memset(&a, 0, sizeof(a));
    SET(a.host, "%s", host);
    a.after = after;
    a.limit = limit;
    return th_fsm_query(fx, 0, TP_OP_CREDIT_LIST, &tp_credit_list_args_schema,
                        &a, &tp_credit_page_schema, page);
}

/* ---- pages as text ---- */

/* Room for a page of QM_PAGE_MAX names. */
#define TEXT_MAX (QM_PAGE_MAX * (QM_NAME_MAX + 1) + 2)

/* Key @i of a page, as text in @buf (24 bytes) or pointing into the page. */
typedef const char *(*key_fn)(const void *page, uint32_t i, char *buf);

/* @n keys of @page joined by ',' into @out, '+' after them when @more. */
static const char *tell(char *out,
                        const void *page,
                        uint32_t n,
                        bool more,
                        key_fn key)
{
    size_t len = 0;
    out[0] = '\0';
    for (uint32_t i = 0; i < n; i++) {
        char buf[24];
        len += (size_t)snprintf(out + len, TEXT_MAX - len, "%s%s",
                                i > 0 ? "," : "", key(page, i, buf));
    }
    snprintf(out + len, TEXT_MAX - len, "%s", more ? "+" : "");
    return out;
}

static const char *id_text(uint64_t id, char *buf)
{
    snprintf(buf, 24, "%llu", (unsigned long long)id);
    return buf;
}

static const char *host_key(const void *page, uint32_t i, char *buf)
{
    (void)buf;
    return ((const struct tp_host_page *)page)->hosts[i].reg.id;
}

static const char *alloc_key(const void *page, uint32_t i, char *buf)
{
    (void)buf;
    return ((const struct tp_alloc_page *)page)->allocs[i].service;
}

static const char *action_key(const void *page, uint32_t i, char *buf)
{
    return id_text(((const struct tp_action_page *)page)->actions[i].id, buf);
}

static const char *credit_key(const void *page, uint32_t i, char *buf)
{
    return id_text(((const struct tp_credit_page *)page)->credits[i].id, buf);
}

const char *th_host_ids(struct th_fsm *fx,
                        const char *after,
                        uint64_t limit,
                        struct tp_host_page *page)
{
    static char out[TEXT_MAX];
    static struct tp_host_page mine;
    page = page != NULL ? page : &mine;
    assert_int_equal(th_host_list(fx, after, limit, page), QM_OK);
    return tell(out, page, page->nhosts, page->more, host_key);
}

const char *th_alloc_services(struct th_fsm *fx,
                              const char *host,
                              const char *after,
                              uint64_t limit,
                              struct tp_alloc_page *page)
{
    static char out[TEXT_MAX];
    static struct tp_alloc_page mine;
    page = page != NULL ? page : &mine;
    assert_int_equal(th_alloc_list(fx, host, after, limit, page), QM_OK);
    return tell(out, page, page->nallocs, page->more, alloc_key);
}

const char *th_action_ids(struct th_fsm *fx,
                          const char *host,
                          uint64_t after,
                          uint64_t limit,
                          struct tp_action_page *page)
{
    static char out[TEXT_MAX];
    static struct tp_action_page mine;
    page = page != NULL ? page : &mine;
    assert_int_equal(th_action_list(fx, host, after, limit, page), QM_OK);
    return tell(out, page, page->nactions, page->more, action_key);
}

const char *th_credit_ids(struct th_fsm *fx,
                          const char *host,
                          uint64_t after,
                          uint64_t limit,
                          struct tp_credit_page *page)
{
    static char out[TEXT_MAX];
    static struct tp_credit_page mine;
    page = page != NULL ? page : &mine;
    assert_int_equal(th_credit_list(fx, host, after, limit, page), QM_OK);
    return tell(out, page, page->ncredits, page->more, credit_key);
}

/* ---- batches ---- */

void th_apply_each(struct th_fsm *fx,
                   int64_t t,
                   int n,
                   th_make_fn make,
                   void *arg)
{
    enum { BATCH = 64 };
    /* Static, so that a failing assertion leaks nothing. */
    static struct th_cmd cmds[BATCH];
    for (int i = 0; i < n; i += BATCH) {
        uint32_t k = 0;
        for (; k < BATCH && i + (int)k < n; k++) {
            make(arg, i + (int)k, &cmds[k]);
        }
        const struct fsm_results *res = th_fsm_apply(fx, t, cmds, k);
        for (uint32_t j = 0; j < k; j++) {
            struct tp_result r;
            if (th_result_decode(res->items[j], &r, NULL, NULL) != QM_OK) {
                fail_msg("command %d: %s", i + (int)j, r.message);
            }
        }
    }
}

void th_host_register_cmd(void *arg, int i, struct th_cmd *c)
{
    (void)arg;
    struct tp_host_register r;
    char id[16];
    snprintf(id, sizeof(id), "n%05d", i);
    th_host_register_make(&r, id);
    th_cmd_make(c, TP_OP_HOST_REGISTER, 0, 0, &tp_host_register_schema, &r);
}

void th_action_cmd(void *arg, int i, struct th_cmd *c)
{
    struct tp_action a;
    memset(&a, 0, sizeof(a));
    SET(a.host, "%s", (const char *)arg);
    SET(a.action, "apply");
    SET(a.message, "#%d", i + 1);
    th_cmd_make(c, TP_OP_ACTION_RECORD, 0, 0, &tp_action_schema, &a);
}

/* ---- results ---- */

void th_assert_refused(struct th_fsm *fx,
                       int got,
                       int status,
                       const char *what,
                       const char *before)
{
    assert_int_equal(got, status);
    if (what != NULL) {
        th_assert_message(fx, what);
    }
    th_assert_digest(fx, before);
}

int64_t th_last_retry_after(struct th_fsm *fx)
{
    struct tp_result r;
    struct qm_span raw = {fx->last, fx->last_len};
    th_result_decode(raw, &r, NULL, NULL);
    return r.retry_after_ms;
}
