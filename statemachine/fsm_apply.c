/* Applying raft entries: a batch of commands under one leader time stamp,
 * with exactly-once sessions and the applied index in the same
 * transaction (design.md rules 2-4). */
#include <stdio.h>
#include <string.h>

#include "fsm.h"
#include "fsm_internal.h"
#include "qm_err.h"
#include "qm_log.h"

#define ENTRY_FORMAT 1

int fsm_entry_header(struct qm_buf *b, int64_t time_ms, uint32_t n)
{
    if (n > QM_BATCH_MAX) {
        return QM_INVALID;
    }
    qm_mpw_array(b, 3);
    qm_mpw_uint(b, ENTRY_FORMAT);
    qm_mpw_int(b, time_ms);
    qm_mpw_array(b, n);
    return qm_buf_status(b);
}

int fsm_entry_encode(struct qm_buf *b,
                     int64_t time_ms,
                     const struct qm_span *cmds,
                     uint32_t n)
{
    int rv = fsm_entry_header(b, time_ms, n);
    if (rv != QM_OK) {
        return rv;
    }
    for (uint32_t i = 0; i < n; i++) {
        qm_mpw_raw(b, cmds[i]);
    }
    return qm_buf_status(b);
}

/* Read the entry header: format, time stamp and command count. */
static int entry_header(struct qm_mpr *r, int64_t *time_ms, uint32_t *n)
{
    uint32_t fields;
    uint64_t format;
    if (qm_mpr_array(r, &fields) != QM_OK || fields != 3 ||
        qm_mpr_uint(r, &format) != QM_OK || format != ENTRY_FORMAT ||
        qm_mpr_int(r, time_ms) != QM_OK || *time_ms < 0 ||
        qm_mpr_array(r, n) != QM_OK || *n > QM_BATCH_MAX) {
        return QM_EPROTO;
    }
    return QM_OK;
}

/* Up to 7 zero bytes may pad an entry to a multiple of 8 (fsm.h). */
static bool padding_only(const uint8_t *p, size_t n)
{
    if (n > 7) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0) {
            return false;
        }
    }
    return true;
}

/* Apply one command; its encoded result is appended to f->resbuf. */
static int apply_cmd(struct fsm_ctx *c, struct qm_span raw)
{
    struct fsm *f = c->f;
    struct fsm_res *res = &f->res;
    struct tp_decoded *d = &f->dec;
    char err[QM_ERRMSG_SIZE];

    fsm__res_reset(res);
    int rv = tp_cmd_decode(raw, &d->cmd, &d->info, &d->args, err);
    if (rv != QM_OK) {
        fsm__res_fail(res, QM_INVALID, "%s", err);
        return fsm__res_encode(res, c->index, &f->resbuf) == QM_OK ? QM_OK
                                                                   : QM_ENOMEM;
    }
    const struct fsm_op *op = fsm__op(d->cmd.op);
    if (op == NULL || op->apply == NULL) {
        fsm__res_fail(res, QM_INVALID, "operation %s is not a command",
                      d->info->name);
        return fsm__res_encode(res, c->index, &f->resbuf) == QM_OK ? QM_OK
                                                                   : QM_ENOMEM;
    }

    bool sessioned = d->cmd.session != 0;
    if (sessioned) {
        int verdict;
        struct qm_span stored;
        rv = fsm__session_check(c, d->cmd.session, d->cmd.seq, &verdict,
                                &stored);
        if (rv != QM_OK) {
            return rv;
        }
        if (verdict == FSM_SESS_REPLAY) {
            return qm_buf_append(&f->resbuf, stored.p, stored.n);
        }
        if (verdict == FSM_SESS_STALE) {
            fsm__res_fail(res, QM_INVALID,
                          "sequence %llu of session %016llx was already "
                          "used",
                          (unsigned long long)d->cmd.seq,
                          (unsigned long long)d->cmd.session);
            return fsm__res_encode(res, c->index, &f->resbuf);
        }
    }

    rv = op->apply(c, &d->args, res);
    if (rv != QM_OK) {
        return rv;
    }
    size_t start = f->resbuf.len;
    rv = fsm__res_encode(res, c->index, &f->resbuf);
    if (rv != QM_OK || !sessioned) {
        return rv;
    }
    struct qm_span result = {f->resbuf.data + start, f->resbuf.len - start};
    return fsm__session_store(c, d->cmd.session, d->cmd.seq, result);
}

int fsm_apply(struct fsm *f,
              uint64_t index,
              const void *entry,
              size_t len,
              struct fsm_results *out)
{
    out->n = 0;
    out->items = f->res_spans;
    if (index <= f->applied) {
        return QM_OK; /* replayed after a restart: already in LMDB */
    }
    MDB_txn *txn;
    int rv = fsm__wtxn(f, &txn);
    if (rv != QM_OK) {
        return QM_EIO;
    }
    qm_buf_reset(&f->resbuf);

    struct qm_mpr r;
    int64_t stamp = 0;
    uint32_t n = 0;
    qm_mpr_init(&r, entry, len);
    if (entry_header(&r, &stamp, &n) != QM_OK) {
        /* Only our leaders write entries, so this is corruption or a bug;
         * apply nothing, but never stall raft (raft-guide.md §2.1). */
        qm_log(QM_LOG_ERR, "FSM0010",
               "malformed log entry at index %llu skipped",
               (unsigned long long)index);
        n = 0;
        stamp = 0; /* not even its time stamp, which may have been read */
    }
    int64_t now = stamp > f->clock ? stamp : f->clock;
    if (now > QM_TIME_MAX) {
        now = QM_TIME_MAX;
    }
    struct fsm_ctx c = {f, txn, now, index};
    uint32_t done = 0;
    for (; done < n; done++) {
        struct qm_span raw;
        size_t start = f->resbuf.len;
        if (qm_mpr_raw(&r, &raw) != QM_OK) {
            qm_log(QM_LOG_ERR, "FSM0011",
                   "malformed command %u in entry %llu; rest skipped", done,
                   (unsigned long long)index);
            break;
        }
        rv = apply_cmd(&c, raw);
        if (rv != QM_OK) {
            qm_log(QM_LOG_ERR, "FSM0012",
                   "applying entry %llu failed: %s; stopping",
                   (unsigned long long)index, qm_strerror(rv));
            /* The commands before the failure wrote into the group
             * transaction; committing that later (fsm_flush, fsm_close)
             * would store half an entry without its index. */
            fsm__wtxn_abort(f);
            return QM_EIO;
        }
        f->res_off[done] = start;
        f->res_len[done] = f->resbuf.len - start;
    }
    if (done == n && !padding_only(r.p, qm_mpr_left(&r))) {
        qm_log(QM_LOG_WARN, "FSM0013",
               "log entry %llu has trailing bytes after its commands",
               (unsigned long long)index);
    }
    if (fsm__meta_put_u64(f, txn, "applied", index) != QM_OK ||
        fsm__meta_put_u64(f, txn, "clock", (uint64_t)now) != QM_OK) {
        fsm__wtxn_abort(f);
        return QM_EIO;
    }
    f->applied = index;
    f->clock = now;
    for (uint32_t i = 0; i < done; i++) {
        f->res_spans[i].p = f->resbuf.data + f->res_off[i];
        f->res_spans[i].n = f->res_len[i];
    }
    out->n = done;
    return QM_OK;
}

int fsm_query(struct fsm *f,
              const struct tp_decoded *req,
              int64_t now_ms,
              struct qm_buf *b)
{
    const struct fsm_op *op = fsm__op(req->cmd.op);
    struct fsm_res *res = &f->res;
    fsm__res_reset(res);
    if (op == NULL || op->query == NULL) {
        fsm__res_fail(res, QM_INVALID, "operation %s is not a read",
                      req->info->name);
        return fsm__res_encode(res, f->applied, b);
    }
    MDB_txn *txn;
    int rv = fsm__read_begin(f, &txn);
    if (rv != QM_OK) {
        return QM_EIO;
    }
    struct fsm_ctx c = {f, txn, now_ms > f->clock ? now_ms : f->clock, 0};
    rv = op->query(&c, &req->args, res);
    fsm__read_end(f, txn);
    if (rv != QM_OK) {
        return rv;
    }
    return fsm__res_encode(res, f->applied, b);
}
