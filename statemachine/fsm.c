/* LMDB environment, transactions and meta records of the state machine. */
#include "fsm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fsm_internal.h"
#include "fsm_queue.h"
#include "qm_alloc.h"
#include "qm_err.h"
#include "qm_log.h"

#define FSM_FORMAT 1
#define DEFAULT_MAP_SIZE ((size_t)4 << 30)

const char *const fsm_db_names[FSM_DB_COUNT] = {
    "meta",    "members", "pools",      "sessions", "sess_exp",   "tiers",
    "clients", "usage",   "res",        "res_exp",  "alerts",     "alert_last",
    "reqs",    "q_grow",  "q_cap",      "q_enq",    "q_deadline", "q_run",
    "q_done",  "q_stats", "q_fair",     "q_enq_nd", "hosts",      "allocs",
    "actions", "credits", "credit_exp",
};

int fsm__err_from_mdb(int rc)
{
    switch (rc) {
        case MDB_SUCCESS:
            return QM_OK;
        case MDB_NOTFOUND:
            return QM_NOT_FOUND;
        case ENOMEM:
            return QM_ENOMEM;
        case MDB_CORRUPTED:
        case MDB_PAGE_NOTFOUND:
        case MDB_INVALID:
        case MDB_VERSION_MISMATCH:
            return QM_ECORRUPT;
        default:
            return QM_EIO;
    }
}

void fsm__be64_put(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

uint64_t fsm__be64_get(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

int fsm__meta_put_u64(struct fsm *f, MDB_txn *txn, const char *key, uint64_t v)
{
    uint8_t b[8];
    fsm__be64_put(b, v);
    MDB_val k = {strlen(key), (void *)key};
    MDB_val d = {sizeof(b), b};
    return fsm__err_from_mdb(mdb_put(txn, f->dbi[FSM_DB_META], &k, &d, 0));
}

int fsm__meta_get_u64(struct fsm *f, MDB_txn *txn, const char *key, uint64_t *v)
{
    MDB_val k = {strlen(key), (void *)key};
    MDB_val d;
    int rc = mdb_get(txn, f->dbi[FSM_DB_META], &k, &d);
    if (rc != MDB_SUCCESS) {
        return fsm__err_from_mdb(rc);
    }
    if (d.mv_size != 8) {
        return QM_ECORRUPT;
    }
    *v = fsm__be64_get(d.mv_data);
    return QM_OK;
}

/* Read applied index and clock (missing = 0) and check the format. */
static int load_meta(struct fsm *f, MDB_txn *txn, char err[QM_ERRMSG_SIZE])
{
    uint64_t format = 0, applied = 0, clock = 0;
    int rv = fsm__meta_get_u64(f, txn, "format", &format);
    if (rv == QM_NOT_FOUND) {
        rv = fsm__meta_put_u64(f, txn, "format", FSM_FORMAT);
        format = FSM_FORMAT;
    }
    if (rv != QM_OK) {
        snprintf(err, QM_ERRMSG_SIZE, "read meta: %s", qm_strerror(rv));
        return rv;
    }
    if (format != FSM_FORMAT) {
        snprintf(err, QM_ERRMSG_SIZE,
                 "database format %llu, this build reads %d",
                 (unsigned long long)format, FSM_FORMAT);
        return QM_ECORRUPT;
    }
    rv = fsm__meta_get_u64(f, txn, "applied", &applied);
    if (rv != QM_OK && rv != QM_NOT_FOUND) {
        return rv;
    }
    rv = fsm__meta_get_u64(f, txn, "clock", &clock);
    if (rv != QM_OK && rv != QM_NOT_FOUND) {
        return rv;
    }
    f->applied = applied;
    f->clock = (int64_t)clock;
    return QM_OK;
}

int fsm_open(struct fsm **out,
             const struct fsm_config *cfg,
             char err[QM_ERRMSG_SIZE])
{
    struct fsm *f = qm_calloc(1, sizeof(*f));
    if (f == NULL) {
        snprintf(err, QM_ERRMSG_SIZE, "out of memory");
        return QM_ENOMEM;
    }
    f->sync = cfg->sync;
    f->session_ttl_ms =
        cfg->session_ttl_ms > 0 ? cfg->session_ttl_ms : QM_SESSION_TTL_MS;
    f->max_sessions =
        cfg->max_sessions > 0 ? cfg->max_sessions : QM_SESSIONS_MAX;
    f->finished_max =
        cfg->finished_max > 0 ? cfg->finished_max : QM_FINISHED_MAX;
    qm_buf_init(&f->resbuf);
    qm_buf_init(&f->recbuf);

    int rv;
    if (mkdir(cfg->dir, 0750) != 0 && errno != EEXIST) {
        snprintf(err, QM_ERRMSG_SIZE, "create %s: %s", cfg->dir,
                 strerror(errno));
        rv = QM_EIO;
        goto err_free;
    }
    int rc = mdb_env_create(&f->env);
    if (rc != MDB_SUCCESS) {
        snprintf(err, QM_ERRMSG_SIZE, "lmdb: %s", mdb_strerror(rc));
        rv = fsm__err_from_mdb(rc);
        goto err_free;
    }
    mdb_env_set_maxdbs(f->env, 32);
    mdb_env_set_mapsize(f->env,
                        cfg->map_size > 0 ? cfg->map_size : DEFAULT_MAP_SIZE);
    unsigned flags = MDB_NOTLS;
    if (cfg->sync == FSM_SYNC_NONE) {
        flags |= MDB_NOSYNC;
    }
    rc = mdb_env_open(f->env, cfg->dir, flags, 0640);
    if (rc != MDB_SUCCESS) {
        snprintf(err, QM_ERRMSG_SIZE, "open %s: %s", cfg->dir,
                 mdb_strerror(rc));
        rv = fsm__err_from_mdb(rc);
        goto err_close_env;
    }
    MDB_txn *txn;
    rc = mdb_txn_begin(f->env, NULL, 0, &txn);
    if (rc != MDB_SUCCESS) {
        snprintf(err, QM_ERRMSG_SIZE, "begin: %s", mdb_strerror(rc));
        rv = fsm__err_from_mdb(rc);
        goto err_close_env;
    }
    for (int i = 0; i < FSM_DB_COUNT; i++) {
        rc = mdb_dbi_open(txn, fsm_db_names[i], MDB_CREATE, &f->dbi[i]);
        if (rc != MDB_SUCCESS) {
            snprintf(err, QM_ERRMSG_SIZE, "open database %s: %s",
                     fsm_db_names[i], mdb_strerror(rc));
            rv = fsm__err_from_mdb(rc);
            goto err_abort;
        }
    }
    rv = load_meta(f, txn, err);
    if (rv != QM_OK) {
        goto err_abort;
    }
    rc = mdb_txn_commit(txn);
    if (rc != MDB_SUCCESS) {
        snprintf(err, QM_ERRMSG_SIZE, "commit: %s", mdb_strerror(rc));
        rv = fsm__err_from_mdb(rc);
        goto err_close_env;
    }
    *out = f;
    return QM_OK;

err_abort:
    mdb_txn_abort(txn);
err_close_env:
    mdb_env_close(f->env);
err_free:
    qm_buf_close(&f->resbuf);
    qm_buf_close(&f->recbuf);
    qm_free(f);
    return rv;
}

void fsm_close(struct fsm *f)
{
    if (f == NULL) {
        return;
    }
    if (fsm_flush(f) != QM_OK) {
        qm_log(QM_LOG_ERR, "FSM0002",
               "final commit failed; the raft log will replay it");
    }
    if (f->sync == FSM_SYNC_NONE) {
        mdb_env_sync(f->env, 1);
    }
    mdb_env_close(f->env);
    qm_buf_close(&f->resbuf);
    qm_buf_close(&f->recbuf);
    qm_free(f);
}

int fsm__wtxn(struct fsm *f, MDB_txn **txn)
{
    if (f->wtxn == NULL) {
        int rc = mdb_txn_begin(f->env, NULL, 0, &f->wtxn);
        if (rc != MDB_SUCCESS) {
            f->wtxn = NULL;
            qm_log(QM_LOG_ERR, "FSM0003", "begin write transaction: %s",
                   mdb_strerror(rc));
            return fsm__err_from_mdb(rc);
        }
    }
    *txn = f->wtxn;
    return QM_OK;
}

void fsm__wtxn_abort(struct fsm *f)
{
    if (f->wtxn != NULL) {
        mdb_txn_abort(f->wtxn);
        f->wtxn = NULL;
    }
    MDB_txn *txn;
    if (mdb_txn_begin(f->env, NULL, MDB_RDONLY, &txn) != MDB_SUCCESS) {
        return; /* the caller is failing with QM_EIO already */
    }
    uint64_t applied = 0, clock = 0;
    int rv = fsm__meta_get_u64(f, txn, "applied", &applied);
    if (rv == QM_OK || rv == QM_NOT_FOUND) {
        rv = fsm__meta_get_u64(f, txn, "clock", &clock);
    }
    mdb_txn_abort(txn);
    if (rv == QM_OK || rv == QM_NOT_FOUND) {
        f->applied = applied;
        f->clock = (int64_t)clock;
    }
}

int fsm_flush(struct fsm *f)
{
    if (f->wtxn == NULL) {
        return QM_OK;
    }
    int rc = mdb_txn_commit(f->wtxn);
    f->wtxn = NULL;
    if (rc != MDB_SUCCESS) {
        qm_log(QM_LOG_ERR, "FSM0004", "commit: %s", mdb_strerror(rc));
        return QM_EIO;
    }
    return QM_OK;
}

bool fsm_pending(const struct fsm *f)
{
    return f->wtxn != NULL;
}

int fsm__read_begin(struct fsm *f, MDB_txn **txn)
{
    if (f->wtxn != NULL) {
        *txn = f->wtxn;
        return QM_OK;
    }
    int rc = mdb_txn_begin(f->env, NULL, MDB_RDONLY, txn);
    return fsm__err_from_mdb(rc);
}

void fsm__read_end(struct fsm *f, MDB_txn *txn)
{
    if (txn != f->wtxn) {
        mdb_txn_abort(txn);
    }
}

int fsm_wipe(struct fsm *f)
{
    MDB_txn *txn;
    int rv = fsm__wtxn(f, &txn);
    if (rv != QM_OK) {
        return rv;
    }
    for (int i = 0; i < FSM_DB_COUNT; i++) {
        int rc = mdb_drop(txn, f->dbi[i], 0);
        if (rc != MDB_SUCCESS) {
            fsm__wtxn_abort(f);
            return fsm__err_from_mdb(rc);
        }
    }
    rv = fsm__meta_put_u64(f, txn, "format", FSM_FORMAT);
    if (rv != QM_OK) {
        fsm__wtxn_abort(f);
        return rv;
    }
    rv = fsm_flush(f);
    if (rv == QM_OK) {
        f->applied = 0;
        f->clock = 0;
    }
    return rv;
}

uint64_t fsm_applied_index(struct fsm *f)
{
    return f->applied;
}

int64_t fsm_clock(struct fsm *f)
{
    return f->clock;
}

int64_t fsm_next_deadline(struct fsm *f)
{
    MDB_txn *txn;
    if (fsm__read_begin(f, &txn) != QM_OK) {
        return INT64_MAX;
    }
    int64_t t = fsm__session_next_expiry(f, txn);
    int64_t r = fsm__res_next_expiry(f, txn);
    int64_t q = fsm__q_next_deadline(f, txn);
    int64_t cr = fsm__credit_next_expiry(f, txn);
    fsm__read_end(f, txn);
    t = r < t ? r : t;
    t = cr < t ? cr : t;
    return q < t ? q : t;
}

/* ---- results ---- */

void fsm__res_reset(struct fsm_res *res)
{
    res->status = QM_OK;
    res->message[0] = '\0';
    res->retry_after_ms = 0;
    res->body_schema = NULL;
}

void fsm__res_fail(struct fsm_res *res, int status, const char *fmt, ...)
{
    res->status = status;
    res->body_schema = NULL;
    res->retry_after_ms = 0; /* set again by the refusals that have one */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof(res->message), fmt, ap);
    va_end(ap);
}

int fsm__res_encode(const struct fsm_res *res, uint64_t index, struct qm_buf *b)
{
    return tp_result_encode(b, res->status, res->message, NULL,
                            res->retry_after_ms, index, res->body_schema,
                            res->body_schema != NULL ? &res->body : NULL);
}
