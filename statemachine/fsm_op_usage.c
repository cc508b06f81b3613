/* Usage: a client's spend in a calendar month, with units and cost per
 * pool (keys client \0 be32 YYYYMM [pool] of FSM_DB_USAGE). */
#include <stdio.h>
#include <string.h>

#include "fsm_client.h"
#include "fsm_money.h"
#include "qm_err.h"

/* Decode one usage line. */
static int line(const MDB_val *v, int64_t *units, int64_t *cost)
{
    if (v->mv_size != 16) {
        return QM_ECORRUPT;
    }
    *units = (int64_t)fsm__be64_get(v->mv_data);
    *cost = (int64_t)fsm__be64_get((const uint8_t *)v->mv_data + 8);
    return QM_OK;
}

struct usage_walk
{
    struct tp_usage *u;
    const uint8_t *prefix; /* client \0 be32 month */
    size_t plen;
    uint64_t limit;
};

/* One pool line, until the prefix ends or the page is full. */
static int usage_one(void *arg, const MDB_val *k, const MDB_val *v, bool *stop)
{
    struct usage_walk *w = arg;
    struct tp_usage *u = w->u;
    if (k->mv_size <= w->plen || memcmp(k->mv_data, w->prefix, w->plen) != 0) {
        *stop = true;
        return QM_OK;
    }
    if (fsm__page_full(u->npools, w->limit, &u->more, stop)) {
        return QM_OK;
    }
    struct tp_pool_usage *pu = &u->pools[u->npools];
    size_t nlen = k->mv_size - w->plen;
    if (nlen > QM_NAME_MAX || line(v, &pu->units, &pu->cost) != QM_OK) {
        return QM_ECORRUPT;
    }
    memcpy(pu->pool, (const uint8_t *)k->mv_data + w->plen, nlen);
    pu->pool[nlen] = '\0';
    u->npools++;
    return QM_OK;
}

int fsm__usage(struct fsm_ctx *c, const union tp_args *a, struct fsm_res *res)
{
    const struct tp_usage_args *ua = &a->usage;
    struct fsm_client cl;
    int rv = fsm__client_load(c, ua->client, &cl);
    if (rv != QM_OK) {
        return fsm__lookup_failed(res, rv, "client", ua->client);
    }
    uint32_t month =
        ua->month != 0 ? (uint32_t)ua->month : fsm_month_of(c->now);
    if (!fsm_month_valid(month)) {
        fsm__res_fail(res, QM_INVALID, "%llu is not a month (YYYYMM)",
                      (unsigned long long)ua->month);
        return QM_OK;
    }
    struct tp_usage *u = &res->body.usage;
    memset(u, 0, sizeof(*u));
    snprintf(u->client, sizeof(u->client), "%s", ua->client);
    u->month = month;
    res->body_schema = &tp_usage_schema;
    rv = fsm__spent(c, ua->client, month, &u->spent);
    if (rv != QM_OK) {
        return rv;
    }
    /* The pool lines follow the total under the same prefix. Start just
     * after @after (or after the total, whose key is the bare prefix):
     * append a 0 byte, which no pool name holds. */
    uint8_t prefix[2 * QM_NAME_MAX + 8];
    size_t plen = fsm__usage_key(prefix, ua->client, month, NULL);
    size_t alen = strlen(ua->after);
    memcpy(prefix + plen, ua->after, alen);
    prefix[plen + alen] = 0;
    struct usage_walk w = {u, prefix, plen,
                           ua->limit == 0 ? QM_PAGE_MAX : ua->limit};
    return fsm__page(c, FSM_DB_USAGE, prefix, plen + alen + 1, false, usage_one,
                     &w);
}
