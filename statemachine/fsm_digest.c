/* The digest of the whole replicated state: XXH3-128 over every record of
 * every database, in database order and LMDB key order (both deterministic),
 * leaving out only the applied index. */
#include <stdio.h>
#include <string.h>

#include <xxhash.h>

#include "fsm_internal.h"
#include "qm_err.h"

static void hash_u32(XXH3_state_t *st, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                    (uint8_t)v};
    XXH3_128bits_update(st, b, sizeof(b));
}

static int hash_db(struct fsm *f, MDB_txn *txn, int db, XXH3_state_t *st)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, f->dbi[db], &cur);
    if (rc != MDB_SUCCESS) {
        return fsm__err_from_mdb(rc);
    }
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (db == FSM_DB_META && k.mv_size == 7 &&
            memcmp(k.mv_data, "applied", 7) == 0) {
            continue;
        }
        uint8_t tag = (uint8_t)db;
        XXH3_128bits_update(st, &tag, 1);
        hash_u32(st, (uint32_t)k.mv_size);
        XXH3_128bits_update(st, k.mv_data, k.mv_size);
        hash_u32(st, (uint32_t)v.mv_size);
        XXH3_128bits_update(st, v.mv_data, v.mv_size);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? QM_OK : fsm__err_from_mdb(rc);
}

int fsm_digest(struct fsm *f, char hex[33], uint64_t *applied_index)
{
    XXH3_state_t *st = XXH3_createState();
    if (st == NULL) {
        return QM_ENOMEM;
    }
    XXH3_128bits_reset(st);
    MDB_txn *txn;
    int rv = fsm__read_begin(f, &txn);
    if (rv != QM_OK) {
        XXH3_freeState(st);
        return rv;
    }
    for (int db = 0; db < FSM_DB_COUNT && rv == QM_OK; db++) {
        rv = hash_db(f, txn, db, st);
    }
    fsm__read_end(f, txn);
    if (rv == QM_OK) {
        XXH128_hash_t h = XXH3_128bits_digest(st);
        snprintf(hex, 33, "%016llx%016llx", (unsigned long long)h.high64,
                 (unsigned long long)h.low64);
        *applied_index = f->applied;
    }
    XXH3_freeState(st);
    return rv;
}
