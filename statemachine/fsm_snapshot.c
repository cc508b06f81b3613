/* Snapshots: a consistent read view serialised off the loop, and restore
 * that replaces the whole database in one transaction.
 *
 * Format: "QMSNAP01", be64 applied index, then records
 * {u8 db, be32 key length, be32 value length, key, value} in database and
 * key order, then 0xFF, a be64 XXH3-64 of everything before it, and zero
 * bytes up to a multiple of 8 (libraft 0.15 pads payloads; fsm.h). */
#include <string.h>

#include <xxhash.h>

#include "fsm_internal.h"
#include "qm_alloc.h"
#include "qm_err.h"
#include "qm_log.h"

#define MAGIC "QMSNAP01"
#define MAGIC_LEN 8
#define HDR_LEN (MAGIC_LEN + 8)
#define END_TAG 0xFF
#define MAX_KEY 511

struct fsm_snap
{
    struct fsm *f;
    MDB_txn *txn;
    uint64_t applied;
};

static void put_be32(struct qm_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                    (uint8_t)v};
    qm_buf_append(b, x, sizeof(x));
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

int fsm_snapshot_begin(struct fsm *f, struct fsm_snap **out)
{
    int rv = fsm_flush(f);
    if (rv != QM_OK) {
        return rv;
    }
    if (f->sync == FSM_SYNC_NONE && mdb_env_sync(f->env, 1) != MDB_SUCCESS) {
        return QM_EIO;
    }
    struct fsm_snap *s = qm_malloc(sizeof(*s));
    if (s == NULL) {
        return QM_ENOMEM;
    }
    int rc = mdb_txn_begin(f->env, NULL, MDB_RDONLY, &s->txn);
    if (rc != MDB_SUCCESS) {
        qm_free(s);
        return fsm__err_from_mdb(rc);
    }
    s->f = f;
    s->applied = f->applied;
    *out = s;
    return QM_OK;
}

int fsm_snapshot_write(struct fsm_snap *s, void **buf, size_t *len)
{
    struct qm_buf b;
    qm_buf_init(&b);
    qm_buf_append(&b, MAGIC, MAGIC_LEN);
    uint8_t idx[8];
    fsm__be64_put(idx, s->applied);
    qm_buf_append(&b, idx, sizeof(idx));
    int rv = QM_OK;
    for (int db = 0; db < FSM_DB_COUNT && rv == QM_OK; db++) {
        MDB_cursor *cur;
        int rc = mdb_cursor_open(s->txn, s->f->dbi[db], &cur);
        if (rc != MDB_SUCCESS) {
            rv = fsm__err_from_mdb(rc);
            break;
        }
        MDB_val k, v;
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            uint8_t tag = (uint8_t)db;
            qm_buf_append(&b, &tag, 1);
            put_be32(&b, (uint32_t)k.mv_size);
            put_be32(&b, (uint32_t)v.mv_size);
            qm_buf_append(&b, k.mv_data, k.mv_size);
            qm_buf_append(&b, v.mv_data, v.mv_size);
        }
        mdb_cursor_close(cur);
        if (rc != MDB_NOTFOUND) {
            rv = fsm__err_from_mdb(rc);
        }
    }
    uint8_t end = END_TAG;
    qm_buf_append(&b, &end, 1);
    if (rv == QM_OK && qm_buf_status(&b) == QM_OK) {
        uint8_t sum[8];
        fsm__be64_put(sum, XXH3_64bits(b.data, b.len));
        qm_buf_append(&b, sum, sizeof(sum));
        static const uint8_t zeros[8];
        qm_buf_append(&b, zeros, (8 - b.len % 8) % 8);
    }
    if (rv == QM_OK) {
        rv = qm_buf_status(&b);
    }
    if (rv != QM_OK) {
        qm_buf_close(&b);
        return rv;
    }
    *buf = qm_buf_steal(&b, len);
    return QM_OK;
}

void fsm_snapshot_end(struct fsm_snap *s)
{
    mdb_txn_abort(s->txn);
    qm_free(s);
}

/* Walk the records, checking every bound; with @txn set, also write them.
 * On success *end is the offset just past the end tag. */
static int walk(struct fsm *f,
                MDB_txn *txn,
                const uint8_t *p,
                size_t len,
                size_t *end)
{
    size_t off = HDR_LEN;
    int last_db = -1;
    while (off < len) {
        uint8_t db = p[off];
        if (db == END_TAG) {
            *end = off + 1;
            return QM_OK;
        }
        if (db >= FSM_DB_COUNT || db < last_db || len - off < 9) {
            return QM_ECORRUPT;
        }
        last_db = db;
        uint32_t kl = get_be32(p + off + 1);
        uint32_t vl = get_be32(p + off + 5);
        off += 9;
        if (kl == 0 || kl > MAX_KEY || kl > len - off || vl > len - off - kl) {
            return QM_ECORRUPT;
        }
        if (txn != NULL) {
            MDB_val k = {kl, (void *)(p + off)};
            MDB_val v = {vl, (void *)(p + off + kl)};
            int rc = mdb_put(txn, f->dbi[db], &k, &v, MDB_APPEND);
            if (rc != MDB_SUCCESS) {
                return rc == MDB_KEYEXIST ? QM_ECORRUPT : fsm__err_from_mdb(rc);
            }
        }
        off += kl + vl;
    }
    return QM_ECORRUPT;
}

/* Magic, structure, checksum, and nothing after it but padding. */
static int check(const uint8_t *p, size_t len)
{
    size_t end;
    if (len < HDR_LEN + 1 + 8 || memcmp(p, MAGIC, MAGIC_LEN) != 0 ||
        walk(NULL, NULL, p, len, &end) != QM_OK || len - end < 8) {
        return QM_ECORRUPT;
    }
    if (XXH3_64bits(p, end) != fsm__be64_get(p + end)) {
        return QM_ECORRUPT;
    }
    for (size_t i = end + 8; i < len; i++) {
        if (p[i] != 0 || len - (end + 8) > 7) {
            return QM_ECORRUPT;
        }
    }
    return QM_OK;
}

uint64_t fsm_snapshot_index(const void *buf, size_t len)
{
    if (check(buf, len) != QM_OK) {
        return 0;
    }
    return fsm__be64_get((const uint8_t *)buf + MAGIC_LEN);
}

int fsm_restore(struct fsm *f, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    int rv = check(p, len);
    if (rv != QM_OK) {
        qm_log(QM_LOG_ERR, "FSM0020", "snapshot rejected: malformed");
        return rv;
    }
    uint64_t index = fsm__be64_get(p + MAGIC_LEN);
    if (index <= f->applied) {
        qm_log(QM_LOG_INFO, "FSM0021",
               "snapshot at %llu kept out: the database is at %llu",
               (unsigned long long)index, (unsigned long long)f->applied);
        return QM_OK;
    }
    rv = fsm_flush(f);
    if (rv != QM_OK) {
        return rv;
    }
    MDB_txn *txn;
    rv = fsm__wtxn(f, &txn);
    if (rv != QM_OK) {
        return rv;
    }
    for (int db = 0; db < FSM_DB_COUNT && rv == QM_OK; db++) {
        rv = fsm__err_from_mdb(mdb_drop(txn, f->dbi[db], 0));
    }
    size_t end;
    if (rv == QM_OK) {
        rv = walk(f, txn, p, len, &end);
    }
    uint64_t applied = 0, clock = 0;
    if (rv == QM_OK) {
        rv = fsm__meta_get_u64(f, txn, "applied", &applied);
    }
    if (rv == QM_OK) {
        rv = fsm__meta_get_u64(f, txn, "clock", &clock);
        rv = rv == QM_NOT_FOUND ? QM_OK : rv;
    }
    if (rv == QM_OK && applied != index) {
        rv = QM_ECORRUPT;
    }
    if (rv != QM_OK) {
        mdb_txn_abort(txn);
        f->wtxn = NULL;
        qm_log(QM_LOG_ERR, "FSM0022", "snapshot restore failed: %s",
               qm_strerror(rv));
        return rv;
    }
    rv = fsm_flush(f);
    if (rv == QM_OK) {
        f->applied = applied;
        f->clock = (int64_t)clock;
        qm_log(QM_LOG_INFO, "FSM0023", "restored snapshot at index %llu",
               (unsigned long long)index);
    }
    return rv;
}
