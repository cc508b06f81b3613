/* Records: typed LMDB get/put through the schema codec, and counters. */
#include <string.h>

#include "fsm_internal.h"
#include "qm_err.h"

int fsm__get(struct fsm_ctx *c,
             int db,
             const void *key,
             size_t klen,
             MDB_val *val)
{
    MDB_val k = {klen, (void *)key};
    return fsm__err_from_mdb(mdb_get(c->txn, c->f->dbi[db], &k, val));
}

int fsm__put(struct fsm_ctx *c,
             int db,
             const void *key,
             size_t klen,
             const void *val,
             size_t vlen)
{
    MDB_val k = {klen, (void *)key};
    MDB_val v = {vlen, (void *)val};
    return fsm__err_from_mdb(mdb_put(c->txn, c->f->dbi[db], &k, &v, 0));
}

int fsm__put_rec(struct fsm_ctx *c,
                 int db,
                 const void *key,
                 size_t klen,
                 const struct qm_schema *schema,
                 const void *obj)
{
    uint8_t mem[4096];
    struct qm_buf b;
    qm_buf_init_fixed(&b, mem, sizeof(mem));
    if (qm_encode(schema, obj, &b) != QM_OK) {
        return QM_EFULL;
    }
    return fsm__put(c, db, key, klen, b.data, b.len);
}

int fsm__get_rec(struct fsm_ctx *c,
                 int db,
                 const void *key,
                 size_t klen,
                 const struct qm_schema *schema,
                 void *obj)
{
    MDB_val v;
    int rv = fsm__get(c, db, key, klen, &v);
    return rv == QM_OK ? fsm__decode(&v, schema, obj) : rv;
}

int fsm__decode(const MDB_val *v, const struct qm_schema *schema, void *obj)
{
    char err[QM_ERRMSG_SIZE];
    return qm_decode(schema, v->mv_data, v->mv_size, obj, err) == QM_OK
               ? QM_OK
               : QM_ECORRUPT;
}

int fsm__key_name(const MDB_val *k, char name[QM_NAME_MAX + 1])
{
    if (k->mv_size > QM_NAME_MAX) {
        return QM_ECORRUPT;
    }
    memcpy(name, k->mv_data, k->mv_size);
    name[k->mv_size] = '\0';
    return QM_OK;
}

int fsm__lookup_failed(struct fsm_res *res,
                       int rv,
                       const char *what,
                       const char *name)
{
    if (rv == QM_NOT_FOUND) {
        fsm__res_fail(res, QM_NOT_FOUND, "no %s named '%s'", what, name);
        return QM_OK;
    }
    if (rv == QM_INVALID) {
        fsm__res_fail(res, QM_INVALID, "'%s' is not a valid %s name", name,
                      what);
        return QM_OK;
    }
    return rv;
}

int fsm__next_id(struct fsm_ctx *c, const char *counter, uint64_t *id)
{
    uint64_t v = 0;
    int rv = fsm__meta_get_u64(c->f, c->txn, counter, &v);
    if (rv != QM_OK && rv != QM_NOT_FOUND) {
        return rv;
    }
    v++;
    rv = fsm__meta_put_u64(c->f, c->txn, counter, v);
    if (rv == QM_OK) {
        *id = v;
    }
    return rv;
}

/* ---- indexes and pages ---- */

void fsm__exp_key(uint8_t k[16], int64_t at, uint64_t id)
{
    fsm__be64_put(k, (uint64_t)at);
    fsm__be64_put(k + 8, id);
}

int fsm__exp_first(struct fsm_ctx *c, int db, int64_t *at, uint64_t *id)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(c->txn, c->f->dbi[db], &cur);
    if (rc != MDB_SUCCESS) {
        return fsm__err_from_mdb(rc);
    }
    MDB_val k, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    mdb_cursor_close(cur);
    if (rc != MDB_SUCCESS) {
        return fsm__err_from_mdb(rc);
    }
    if (k.mv_size != 16) {
        return QM_ECORRUPT;
    }
    const uint8_t *p = k.mv_data;
    *at = (int64_t)fsm__be64_get(p);
    *id = fsm__be64_get(p + 8);
    return QM_OK;
}

int64_t fsm__exp_next(struct fsm *f, MDB_txn *txn, int db)
{
    struct fsm_ctx c = {f, txn, 0, 0};
    int64_t at;
    uint64_t id;
    return fsm__exp_first(&c, db, &at, &id) == QM_OK ? at : INT64_MAX;
}

int fsm__exp_due(struct fsm_ctx *c, int db, uint64_t *id)
{
    int64_t at;
    uint64_t first;
    int rv = fsm__exp_first(c, db, &at, &first);
    if (rv != QM_OK) {
        return rv;
    }
    if (at > c->now) {
        return QM_NOT_FOUND;
    }
    *id = first;
    return QM_OK;
}

int fsm__exp_put(struct fsm_ctx *c, int db, int64_t at, uint64_t id, bool add)
{
    uint8_t k[16];
    fsm__exp_key(k, at, id);
    if (add) {
        return fsm__put(c, db, k, sizeof(k), "", 0);
    }
    MDB_val kv = {sizeof(k), k};
    int rc = mdb_del(c->txn, c->f->dbi[db], &kv, NULL);
    return rc == MDB_NOTFOUND ? QM_OK : fsm__err_from_mdb(rc);
}

int fsm__trim_oldest(struct fsm_ctx *c, int db, size_t max)
{
    MDB_stat st;
    int rc = mdb_stat(c->txn, c->f->dbi[db], &st);
    if (rc != MDB_SUCCESS) {
        return fsm__err_from_mdb(rc);
    }
    if (st.ms_entries <= max) {
        return QM_OK;
    }
    MDB_cursor *cur;
    rc = mdb_cursor_open(c->txn, c->f->dbi[db], &cur);
    if (rc != MDB_SUCCESS) {
        return fsm__err_from_mdb(rc);
    }
    MDB_val k, v;
    for (size_t n = st.ms_entries; n > max && rc == MDB_SUCCESS; n--) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        if (rc == MDB_SUCCESS) {
            rc = mdb_cursor_del(cur, 0);
        }
    }
    mdb_cursor_close(cur);
    return fsm__err_from_mdb(rc);
}

int fsm__page(struct fsm_ctx *c,
              int db,
              const void *start,
              size_t slen,
              bool after,
              fsm_page_fn fn,
              void *arg)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(c->txn, c->f->dbi[db], &cur);
    if (rc != MDB_SUCCESS) {
        return fsm__err_from_mdb(rc);
    }
    MDB_val k = {slen, (void *)start}, v;
    rc = slen == 0 ? mdb_cursor_get(cur, &k, &v, MDB_FIRST)
                   : mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (rc == MDB_SUCCESS && after && slen > 0 && k.mv_size == slen &&
        memcmp(k.mv_data, start, slen) == 0) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    int rv = QM_OK;
    bool stop = false;
    while (rc == MDB_SUCCESS) {
        rv = fn(arg, &k, &v, &stop);
        if (rv != QM_OK || stop) {
            break;
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rv == QM_OK && rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        rv = fsm__err_from_mdb(rc);
    }
    return rv;
}

int fsm__page_ids(struct fsm_ctx *c,
                  int db,
                  uint64_t after,
                  fsm_page_fn fn,
                  void *arg)
{
    if (after == UINT64_MAX) {
        return QM_OK;
    }
    uint8_t start[8];
    fsm__be64_put(start, after + 1);
    return fsm__page(c, db, start, sizeof(start), false, fn, arg);
}

bool fsm__page_full(uint64_t n, uint64_t limit, bool *more, bool *stop)
{
    if (n < limit) {
        return false;
    }
    *more = true;
    *stop = true;
    return true;
}
