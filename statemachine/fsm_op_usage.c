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
    /* The pool lines follow the total under the same prefix. */
    uint8_t prefix[2 * QM_NAME_MAX + 8];
    size_t plen = fsm__usage_key(prefix, ua->client, month, NULL);
    size_t alen = strlen(ua->after);
    memcpy(prefix + plen, ua->after, alen);
    uint64_t limit = ua->limit == 0 ? QM_PAGE_MAX : ua->limit;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(c->txn, c->f->dbi[FSM_DB_USAGE], &cur);
    if (rc != MDB_SUCCESS) {
        return fsm__err_from_mdb(rc);
    }
    /* Start just after @after (or after the total, whose key is the bare
     * prefix): append a 0 byte, which no pool name holds. */
    prefix[plen + alen] = 0;
    MDB_val k = {plen + alen + 1, prefix}, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size <= plen || memcmp(k.mv_data, prefix, plen) != 0) {
            break;
        }
        if (u->npools == limit) {
            u->more = true;
            break;
        }
        struct tp_pool_usage *pu = &u->pools[u->npools];
        size_t nlen = k.mv_size - plen;
        if (nlen > QM_NAME_MAX || line(&v, &pu->units, &pu->cost) != QM_OK) {
            rv = QM_ECORRUPT;
            break;
        }
        memcpy(pu->pool, (const uint8_t *)k.mv_data + plen, nlen);
        pu->pool[nlen] = '\0';
        u->npools++;
    }
    mdb_cursor_close(cur);
    if (rv == QM_OK && rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        rv = fsm__err_from_mdb(rc);
    }
    return rv;
}
