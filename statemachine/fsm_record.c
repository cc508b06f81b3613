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
    if (rv != QM_OK) {
        return rv;
    }
    char err[QM_ERRMSG_SIZE];
    return qm_decode(schema, v.mv_data, v.mv_size, obj, err) == QM_OK
               ? QM_OK
               : QM_ECORRUPT;
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
