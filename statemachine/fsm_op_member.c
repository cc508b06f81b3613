/* Members: the API address of each raft member, replicated so that any
 * node can tell a client where the leader is (raft-guide.md §3.1). The raft
 * configuration itself belongs to libraft; these records only add what
 * libraft does not keep. */
#include <string.h>

#include "fsm_internal.h"
#include "qm_err.h"

int fsm__member_set(struct fsm_ctx *c,
                    const union tp_args *a,
                    struct fsm_res *res)
{
    (void)res;
    struct tp_member m = a->member;
    m.role = 0; /* roles live in the raft configuration */
    uint8_t kb[8];
    fsm__be64_put(kb, m.id);
    uint8_t mem[512];
    struct qm_buf b;
    qm_buf_init_fixed(&b, mem, sizeof(mem));
    if (qm_encode(&tp_member_schema, &m, &b) != QM_OK) {
        return QM_EFULL;
    }
    MDB_val k = {sizeof(kb), kb};
    MDB_val v = {b.len, b.data};
    return fsm__err_from_mdb(
        mdb_put(c->txn, c->f->dbi[FSM_DB_MEMBERS], &k, &v, 0));
}

int fsm__member_del(struct fsm_ctx *c,
                    const union tp_args *a,
                    struct fsm_res *res)
{
    uint8_t kb[8];
    fsm__be64_put(kb, a->member_id.id);
    MDB_val k = {sizeof(kb), kb};
    int rc = mdb_del(c->txn, c->f->dbi[FSM_DB_MEMBERS], &k, NULL);
    if (rc == MDB_NOTFOUND) {
        fsm__res_fail(res, QM_NOT_FOUND, "no member %llu",
                      (unsigned long long)a->member_id.id);
        return QM_OK;
    }
    return fsm__err_from_mdb(rc);
}

int fsm_member_get(struct fsm *f, uint64_t id, struct tp_member *out)
{
    MDB_txn *txn;
    int rv = fsm__read_begin(f, &txn);
    if (rv != QM_OK) {
        return rv;
    }
    uint8_t kb[8];
    fsm__be64_put(kb, id);
    MDB_val k = {sizeof(kb), kb};
    MDB_val v;
    int rc = mdb_get(txn, f->dbi[FSM_DB_MEMBERS], &k, &v);
    rv = fsm__err_from_mdb(rc);
    if (rv == QM_OK) {
        rv = fsm__decode(&v, &tp_member_schema, out);
    }
    fsm__read_end(f, txn);
    return rv;
}
