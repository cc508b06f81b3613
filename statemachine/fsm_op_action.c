/* What agents tell the ledger besides samples: the actions they took
 * (allocation applied, an instance started or stopped) as a bounded
 * history, and the alerts they raise (leak, threshold), which go into the
 * ledger's alerts with a cooldown per subject, resource and severity. */
#include <stdio.h>
#include <string.h>

#include "fsm_internal.h"
#include "qm_err.h"

static bool one_of(const char *s, const char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s, set[i]) == 0) {
            return true;
        }
    }
    return false;
}

int fsm__action_record(struct fsm_ctx *c,
                       const union tp_args *a,
                       struct fsm_res *res)
{
    static const char *const actions[] = {"apply", "start", "stop"};
    struct tp_action act = a->action;
    if (!one_of(act.action, actions, sizeof(actions) / sizeof(actions[0]))) {
        fsm__res_fail(res, QM_INVALID, "action must be apply, start or stop");
        return QM_OK;
    }
    struct tp_host_info h;
    int rv = fsm__host_load(c, act.host, &h);
    if (rv != QM_OK) {
        return fsm__lookup_failed(res, rv, "host", act.host);
    }
    rv = fsm__next_id(c, "next_action", &act.id);
    if (rv != QM_OK) {
        return rv;
    }
    act.at_ms = c->now;
    uint8_t key[8];
    fsm__be64_put(key, act.id);
    rv = fsm__put_rec(c, FSM_DB_ACTIONS, key, sizeof(key), &tp_action_schema,
                      &act);
    if (rv == QM_OK) {
        rv = fsm__trim_oldest(c, FSM_DB_ACTIONS, QM_ACTIONS_MAX);
    }
    res->body.action = act;
    res->body_schema = &tp_action_schema;
    return rv;
}

struct action_walk
{
    struct tp_action_page *page;
    uint64_t limit;
    const char *host;
};

static int action_one(void *arg, const MDB_val *k, const MDB_val *v, bool *stop)
{
    (void)k;
    struct action_walk *w = arg;
    struct tp_action act;
    int rv = fsm__decode(v, &tp_action_schema, &act);
    if (rv != QM_OK || (w->host[0] != '\0' && strcmp(act.host, w->host) != 0)) {
        return rv;
    }
    if (fsm__page_full(w->page->nactions, w->limit, &w->page->more, stop)) {
        return QM_OK;
    }
    w->page->actions[w->page->nactions++] = act;
    return QM_OK;
}

int fsm__action_list(struct fsm_ctx *c,
                     const union tp_args *a,
                     struct fsm_res *res)
{
    const struct tp_action_list_args *la = &a->action_list;
    struct action_walk w = {&res->body.actions,
                            la->limit == 0 ? QM_PAGE_MAX : la->limit, la->host};
    w.page->nactions = 0;
    w.page->more = false;
    res->body_schema = &tp_action_page_schema;
    return fsm__page_ids(c, FSM_DB_ACTIONS, la->after, action_one, &w);
}

int fsm__alert_raise(struct fsm_ctx *c,
                     const union tp_args *a,
                     struct fsm_res *res)
{
    static const char *const kinds[] = {"leak", "threshold"};
    static const char *const severities[] = {"warning", "critical", "resolved"};
    const struct tp_alert_raise *ar = &a->alert_raise;
    if (!one_of(ar->kind, kinds, sizeof(kinds) / sizeof(kinds[0]))) {
        fsm__res_fail(res, QM_INVALID,
                      "an agent raises leak or threshold "
                      "alerts");
        return QM_OK;
    }
    if (!one_of(ar->severity, severities,
                sizeof(severities) / sizeof(severities[0]))) {
        fsm__res_fail(res, QM_INVALID,
                      "severity must be warning, critical or resolved");
        return QM_OK;
    }
    /* HOST or HOST/SERVICE, each part a name. */
    const char *slash = strchr(ar->subject, '/');
    size_t hlen =
        slash != NULL ? (size_t)(slash - ar->subject) : strlen(ar->subject);
    if (hlen > QM_NAME_MAX || !qm_valid_name(ar->subject, hlen) ||
        (slash != NULL && (strlen(slash + 1) > QM_NAME_MAX ||
                           !qm_valid_name(slash + 1, strlen(slash + 1))))) {
        fsm__res_fail(res, QM_INVALID, "subject must be HOST or HOST/SERVICE");
        return QM_OK;
    }
    /* Only registered hosts raise alerts, which bounds the cooldown
     * records agents can create. */
    char host[QM_NAME_MAX + 1];
    memcpy(host, ar->subject, hlen);
    host[hlen] = '\0';
    struct tp_host_info h;
    int rv = fsm__host_load(c, host, &h);
    if (rv != QM_OK) {
        return fsm__lookup_failed(res, rv, "host", host);
    }
    char dedup[64];
    snprintf(dedup, sizeof(dedup), "%s\x1f%s", ar->topic, ar->severity);
    return fsm__alert_keyed(c, ar->kind, ar->subject, dedup, ar->severity,
                            ar->message);
}
