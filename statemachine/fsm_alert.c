/* Alerts: replicated records raised by the rules (a pool below 10% of its
 * capacity, a client above 95% of its budget or past it), each kind and
 * subject at most once per cooldown of cluster time. The QM_ALERTS_MAX most
 * recent are kept. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fsm_internal.h"
#include "qm_err.h"

/* kind \0 subject [\0 dedup] */
static size_t last_key(uint8_t *k,
                       const char *kind,
                       const char *subject,
                       const char *dedup)
{
    size_t a = strlen(kind), b = strlen(subject);
    memcpy(k, kind, a);
    k[a] = 0;
    memcpy(k + a + 1, subject, b);
    size_t n = a + 1 + b;
    if (dedup != NULL) {
        size_t d = strlen(dedup);
        k[n] = 0;
        memcpy(k + n + 1, dedup, d);
        n += 1 + d;
    }
    return n;
}

int fsm__alert_keyed(struct fsm_ctx *c,
                     const char *kind,
                     const char *subject,
                     const char *dedup,
                     const char *severity,
                     const char *message)
{
    uint8_t lk[32 + QM_SUBJECT_MAX + 64];
    size_t lklen = last_key(lk, kind, subject, dedup);
    MDB_val v;
    int rv = fsm__get(c, FSM_DB_ALERT_LAST, lk, lklen, &v);
    if (rv == QM_OK && v.mv_size == 8) {
        int64_t last = (int64_t)fsm__be64_get(v.mv_data);
        if (c->now - last < QM_ALERT_COOLDOWN_MS) {
            return QM_OK;
        }
    } else if (rv != QM_NOT_FOUND && rv != QM_OK) {
        return rv;
    }
    struct tp_alert a;
    memset(&a, 0, sizeof(a));
    rv = fsm__next_id(c, "next_alert", &a.id);
    if (rv != QM_OK) {
        return rv;
    }
    snprintf(a.kind, sizeof(a.kind), "%s", kind);
    snprintf(a.subject, sizeof(a.subject), "%s", subject);
    snprintf(a.severity, sizeof(a.severity), "%s", severity);
    snprintf(a.message, sizeof(a.message), "%s", message);
    a.at_ms = c->now;
    uint8_t key[8], at[8];
    fsm__be64_put(key, a.id);
    fsm__be64_put(at, (uint64_t)c->now);
    rv = fsm__put_rec(c, FSM_DB_ALERTS, key, sizeof(key), &tp_alert_schema, &a);
    if (rv == QM_OK) {
        rv = fsm__put(c, FSM_DB_ALERT_LAST, lk, lklen, at, sizeof(at));
    }
    return rv == QM_OK ? fsm__trim_oldest(c, FSM_DB_ALERTS, QM_ALERTS_MAX) : rv;
}

int fsm__alert(struct fsm_ctx *c,
               const char *kind,
               const char *subject,
               const char *severity,
               const char *fmt,
               ...)
{
    char message[QM_MESSAGE_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    return fsm__alert_keyed(c, kind, subject, NULL, severity, message);
}

struct alert_walk
{
    struct tp_alert_page *page;
    uint64_t limit;
};

static int alert_one(void *arg, const MDB_val *k, const MDB_val *v, bool *stop)
{
    (void)k;
    struct alert_walk *w = arg;
    struct tp_alert_page *page = w->page;
    if (fsm__page_full(page->nalerts, w->limit, &page->more, stop)) {
        return QM_OK;
    }
    int rv = fsm__decode(v, &tp_alert_schema, &page->alerts[page->nalerts]);
    if (rv == QM_OK) {
        page->nalerts++;
    }
    return rv;
}

int fsm__alert_list(struct fsm_ctx *c,
                    const union tp_args *a,
                    struct fsm_res *res)
{
    const struct tp_alert_args *aa = &a->alerts;
    struct alert_walk w = {&res->body.alerts,
                           aa->limit == 0 ? QM_PAGE_MAX : aa->limit};
    w.page->nalerts = 0;
    w.page->more = false;
    res->body_schema = &tp_alert_page_schema;
    return fsm__page_ids(c, FSM_DB_ALERTS, aa->after, alert_one, &w);
}
