/* Client and tier commands: client create/set, tier set; reads: client
 * get/list, tier get/list. */
#include <stdio.h>
#include <string.h>

#include "fsm_client.h"
#include "qm_err.h"

int fsm__client_create(struct fsm_ctx *c,
                       const union tp_args *a,
                       struct fsm_res *res)
{
    const struct tp_client_create *cc = &a->client_create;
    struct fsm_client cl;
    int rv = fsm__client_load(c, cc->id, &cl);
    if (rv == QM_OK) {
        fsm__res_fail(res, QM_EXISTS, "client '%s' already exists", cc->id);
        return QM_OK;
    }
    if (rv != QM_NOT_FOUND) {
        return fsm__lookup_failed(res, rv, "client", cc->id);
    }
    MDB_stat st;
    int rc = mdb_stat(c->txn, c->f->dbi[FSM_DB_CLIENTS], &st);
    if (rc != MDB_SUCCESS) {
        return fsm__err_from_mdb(rc);
    }
    if (st.ms_entries >= QM_CLIENTS_MAX) {
        fsm__res_fail(res, QM_INVALID,
                      "the cluster holds %d clients, the most it allows",
                      QM_CLIENTS_MAX);
        return QM_OK;
    }
    memset(&cl, 0, sizeof(cl));
    cl.tier = cc->tier;
    cl.has_budget = cc->has_budget;
    cl.budget = cc->has_budget ? cc->budget : 0;
    cl.created_ms = c->now;
    return fsm__client_store(c, cc->id, &cl);
}

int fsm__client_set(struct fsm_ctx *c,
                    const union tp_args *a,
                    struct fsm_res *res)
{
    const struct tp_client_set *cs = &a->client_set;
    struct fsm_client cl;
    int rv = fsm__client_load(c, cs->id, &cl);
    if (rv != QM_OK) {
        return fsm__lookup_failed(res, rv, "client", cs->id);
    }
    if (cs->set & ~(uint64_t)(TP_SET_TIER | TP_SET_BUDGET)) {
        fsm__res_fail(res, QM_INVALID, "a client has a tier and a budget");
        return QM_OK;
    }
    if ((cs->set & TP_SET_TIER) && cs->tier == 0) {
        fsm__res_fail(res, QM_INVALID, "a tier is needed");
        return QM_OK;
    }
    if (cs->set & TP_SET_TIER) {
        cl.tier = cs->tier;
    }
    if (cs->set & TP_SET_BUDGET) {
        cl.has_budget = !cs->budget_default;
        cl.budget = cs->budget_default ? 0 : cs->budget;
    }
    return fsm__client_store(c, cs->id, &cl);
}

int fsm__client_get(struct fsm_ctx *c,
                    const union tp_args *a,
                    struct fsm_res *res)
{
    const char *id = a->client_id.id;
    struct fsm_client cl;
    int rv = fsm__client_load(c, id, &cl);
    if (rv != QM_OK) {
        return fsm__lookup_failed(res, rv, "client", id);
    }
    rv = fsm__client_info(c, id, &cl, &res->body.client);
    res->body_schema = &tp_client_info_schema;
    return rv;
}

struct client_walk
{
    struct fsm_ctx *c;
    struct tp_client_page *page;
    uint64_t limit;
};

static int client_one(void *arg, const MDB_val *k, const MDB_val *v, bool *stop)
{
    (void)v;
    struct client_walk *w = arg;
    struct tp_client_page *page = w->page;
    if (fsm__page_full(page->nclients, w->limit, &page->more, stop)) {
        return QM_OK;
    }
    char id[QM_NAME_MAX + 1];
    struct fsm_client cl;
    int rv = fsm__key_name(k, id);
    if (rv == QM_OK) {
        rv = fsm__client_load(w->c, id, &cl);
    }
    if (rv == QM_OK) {
        rv = fsm__client_info(w->c, id, &cl, &page->clients[page->nclients++]);
    }
    return rv;
}

int fsm__client_list(struct fsm_ctx *c,
                     const union tp_args *a,
                     struct fsm_res *res)
{
    const struct tp_list_args *la = &a->list;
    struct client_walk w = {c, &res->body.clients,
                            la->limit == 0 ? QM_PAGE_MAX : la->limit};
    w.page->nclients = 0;
    w.page->more = false;
    res->body_schema = &tp_client_page_schema;
    return fsm__page(c, FSM_DB_CLIENTS, la->after, strlen(la->after), true,
                     client_one, &w);
}

int fsm__tier_get(struct fsm_ctx *c,
                  const union tp_args *a,
                  struct fsm_res *res)
{
    res->body_schema = &tp_tier_info_schema;
    return fsm__tier_load(c, a->tier_id.tier, &res->body.tier);
}

int fsm__tier_list(struct fsm_ctx *c,
                   const union tp_args *a,
                   struct fsm_res *res)
{
    (void)a;
    struct tp_tier_list *l = &res->body.tiers;
    l->ntiers = 0;
    res->body_schema = &tp_tier_list_schema;
    for (uint64_t t = 1; t <= TP_TIERS; t++) {
        int rv = fsm__tier_load(c, t, &l->tiers[l->ntiers++]);
        if (rv != QM_OK) {
            return rv;
        }
    }
    return QM_OK;
}

int fsm__tier_set(struct fsm_ctx *c,
                  const union tp_args *a,
                  struct fsm_res *res)
{
    const struct tp_tier_set *ts = &a->tier_set;
    struct tp_tier_info t;
    int rv = fsm__tier_load(c, ts->tier, &t);
    if (rv != QM_OK) {
        return rv;
    }
    if (ts->set &
        ~(uint64_t)(TP_SET_PRIORITY | TP_SET_MAX_CONCURRENT | TP_SET_BUDGET)) {
        fsm__res_fail(res, QM_INVALID,
                      "a tier has a priority, a concurrency and a budget");
        return QM_OK;
    }
    if ((ts->set & TP_SET_MAX_CONCURRENT) && ts->max_concurrent < 1) {
        fsm__res_fail(res, QM_INVALID, "max_concurrent must be at least 1");
        return QM_OK;
    }
    if (ts->set & TP_SET_PRIORITY) {
        t.priority = ts->priority;
    }
    if (ts->set & TP_SET_MAX_CONCURRENT) {
        t.max_concurrent = ts->max_concurrent;
    }
    if (ts->set & TP_SET_BUDGET) {
        t.custom = ts->custom;
        t.budget = ts->custom ? 0 : ts->budget;
    }
    uint8_t key = (uint8_t)ts->tier;
    return fsm__put_rec(c, FSM_DB_TIERS, &key, 1, &tp_tier_info_schema, &t);
}
