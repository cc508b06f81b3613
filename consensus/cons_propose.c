/* The apply pipeline: commands proposed during one loop iteration travel to
 * raft as one log entry (raft-guide.md §6: batching amortises the fsync),
 * reads share one barrier per iteration, and the leader's housekeeping
 * proposes TICK and its own member record. */
#include <string.h>

#include "cons_internal.h"
#include "qm_alloc.h"
#include "qm_err.h"
#include "qm_log.h"

/* Send the batch early when it grows past this many bytes. */
#define BATCH_BYTES_MAX (512u * 1024)

/* Entries proposed and not yet applied, at most. While the pipeline is
 * full, commands keep joining the next batch: under light load every batch
 * leaves at once (latency), under heavy load batches grow instead of
 * messages and disk writes multiplying (throughput). libraft 0.15 never
 * sets TCP_NODELAY, whose coalescing this replaces deliberately. */
#define PIPELINE 4

struct batch_req
{
    struct raft_apply req;
    struct cons *c;
    uint32_t n;
    struct cons_waiter w[];
};

struct barrier_req
{
    struct raft_barrier req;
    struct cons_reader *readers;
};

void cons__pipeline_init(struct cons *c)
{
    qm_buf_init(&c->batch);
    c->nbatch = 0;
    c->readers = NULL;
    c->readers_tail = &c->readers;
}

void cons__pipeline_close(struct cons *c)
{
    qm_buf_close(&c->batch);
}

static void fail_waiters(struct cons_waiter *w, uint32_t n, int status)
{
    struct qm_span none = {NULL, 0};
    for (uint32_t i = 0; i < n; i++) {
        w[i].cb(w[i].arg, status, none);
    }
}

static void fail_readers(struct cons_reader *r, int status, const char *msg)
{
    while (r != NULL) {
        struct cons_reader *next = r->next;
        r->cb(r->arg, status, msg);
        qm_free(r);
        r = next;
    }
}

void cons__fail_pending(struct cons *c, int status)
{
    uint32_t n = c->nbatch;
    c->nbatch = 0;
    qm_buf_reset(&c->batch);
    fail_waiters(c->waiters, n, status);
    struct cons_reader *r = c->readers;
    c->readers = NULL;
    c->readers_tail = &c->readers;
    fail_readers(r, status,
                 status == QM_NOT_LEADER ? "not the leader" : "closing");
}

static int status_of_raft(int rv)
{
    return rv == RAFT_NOTLEADER ? QM_NOT_LEADER : QM_UNAVAILABLE;
}

/* raft calls this right after applying the entry (0.15: after its first
 * entry, and ours hold exactly one), with the state machine's results. */
static void batch_done(struct raft_apply *req, int status, void *result)
{
    struct batch_req *b = req->data;
    b->c->inflight--;
    cons__kick(b->c); /* a batch may wait for room in the pipeline */
    if (status != 0) {
        /* LEADERSHIPLOST or SHUTDOWN: the entry may still commit. */
        fail_waiters(b->w, b->n, QM_UNAVAILABLE);
        qm_free(b);
        return;
    }
    const struct fsm_results *res = result;
    for (uint32_t i = 0; i < b->n; i++) {
        if (res != NULL && i < res->n) {
            b->w[i].cb(b->w[i].arg, QM_OK, res->items[i]);
        } else {
            struct qm_span none = {NULL, 0};
            b->w[i].cb(b->w[i].arg, QM_INTERNAL, none);
        }
    }
    qm_free(b);
}

/* Send the batch to raft, unless the pipeline is full and @force is not
 * set (a full batch leaves anyway). */
static void flush_batch(struct cons *c, bool force)
{
    uint32_t n = c->nbatch;
    if (n == 0 || (!force && c->inflight >= PIPELINE)) {
        return;
    }
    c->nbatch = 0;
    struct batch_req *b =
        qm_malloc(sizeof(*b) + (size_t)n * sizeof(struct cons_waiter));
    uint8_t hdr[32];
    struct qm_buf h;
    qm_buf_init_fixed(&h, hdr, sizeof(hdr));
    fsm_entry_header(&h, cons__wall_ms(), n);
    /* libraft 0.15's TCP transport sends entry payloads as they are, but
     * its receiver (uvDecodeEntriesBatch) skips padding up to a multiple of
     * 8 bytes after each one: pad, or followers misread every batch. */
    size_t len = h.len + c->batch.len;
    size_t pad = (8 - len % 8) % 8;
    struct raft_buffer buf = {NULL, len + pad};
    buf.base = b != NULL ? raft_malloc(buf.len) : NULL;
    if (b == NULL || buf.base == NULL) {
        qm_free(b);
        qm_buf_reset(&c->batch);
        fail_waiters(c->waiters, n, QM_UNAVAILABLE);
        return;
    }
    memcpy(buf.base, h.data, h.len);
    memcpy((uint8_t *)buf.base + h.len, c->batch.data, c->batch.len);
    memset((uint8_t *)buf.base + len, 0, pad);
    qm_buf_reset(&c->batch);
    b->c = c;
    b->n = n;
    memcpy(b->w, c->waiters, (size_t)n * sizeof(struct cons_waiter));
    b->req.data = b;
    int rv = raft_apply(&c->raft, &b->req, &buf, 1, batch_done);
    if (rv != 0) {
        raft_free(buf.base);
        fail_waiters(b->w, n, status_of_raft(rv));
        qm_free(b);
        return;
    }
    c->inflight++;
}

void cons_propose(struct cons *c,
                  struct qm_span cmd,
                  cons_result_fn cb,
                  void *arg)
{
    struct qm_span none = {NULL, 0};
    if (c->closing) {
        cb(arg, QM_UNAVAILABLE, none);
        return;
    }
    if (raft_state(&c->raft) != RAFT_LEADER) {
        cb(arg, QM_NOT_LEADER, none);
        return;
    }
    if (qm_buf_append(&c->batch, cmd.p, cmd.n) != QM_OK) {
        cb(arg, QM_UNAVAILABLE, none);
        return;
    }
    c->waiters[c->nbatch].cb = cb;
    c->waiters[c->nbatch].arg = arg;
    if (c->nbatch++ == 0) {
        cons__kick(c);
    }
    if (c->nbatch == QM_BATCH_MAX || c->batch.len >= BATCH_BYTES_MAX) {
        flush_batch(c, true);
    }
}

void cons__propose_internal(struct cons *c,
                            uint32_t op,
                            const struct qm_schema *schema,
                            const void *args,
                            cons_result_fn cb,
                            void *arg)
{
    uint8_t amem[512], cmem[600];
    struct qm_buf a, cmd;
    qm_buf_init_fixed(&a, amem, sizeof(amem));
    qm_buf_init_fixed(&cmd, cmem, sizeof(cmem));
    struct qm_span as = {NULL, 0};
    if (schema != NULL) {
        qm_encode(schema, args, &a);
        as.p = a.data;
        as.n = a.len;
    }
    if (qm_buf_status(&a) != QM_OK ||
        tp_cmd_encode(&cmd, op, 0, 0, as) != QM_OK) {
        struct qm_span none = {NULL, 0};
        cb(arg, QM_INTERNAL, none);
        return;
    }
    struct qm_span cs = {cmd.data, cmd.len};
    cons_propose(c, cs, cb, arg);
}

/* ---- reads ---- */

static void barrier_done(struct raft_barrier *req, int status)
{
    struct barrier_req *b = req->data;
    if (status == 0) {
        fail_readers(b->readers, QM_OK, NULL);
    } else {
        fail_readers(b->readers, QM_UNAVAILABLE,
                     "leadership changed during the read; retry");
    }
    qm_free(b);
}

static void flush_reads(struct cons *c)
{
    struct cons_reader *r = c->readers;
    if (r == NULL) {
        return;
    }
    c->readers = NULL;
    c->readers_tail = &c->readers;
    struct barrier_req *b = qm_malloc(sizeof(*b));
    if (b == NULL) {
        fail_readers(r, QM_UNAVAILABLE, "out of memory");
        return;
    }
    b->readers = r;
    b->req.data = b;
    int rv = raft_barrier(&c->raft, &b->req, barrier_done);
    if (rv != 0) {
        fail_readers(r, status_of_raft(rv), raft_strerror(rv));
        qm_free(b);
    }
}

void cons_barrier(struct cons *c, cons_done_fn cb, void *arg)
{
    if (c->closing) {
        cb(arg, QM_UNAVAILABLE, "closing");
        return;
    }
    if (raft_state(&c->raft) != RAFT_LEADER) {
        cb(arg, QM_NOT_LEADER, "not the leader");
        return;
    }
    struct cons_reader *r = qm_malloc(sizeof(*r));
    if (r == NULL) {
        cb(arg, QM_UNAVAILABLE, "out of memory");
        return;
    }
    r->cb = cb;
    r->arg = arg;
    r->next = NULL;
    *c->readers_tail = r;
    c->readers_tail = &r->next;
    cons__kick(c);
}

void cons__flush(struct cons *c)
{
    flush_batch(c, false);
    flush_reads(c);
}

/* ---- housekeeping ---- */

static void tick_done(void *arg, int status, struct qm_span result)
{
    (void)status;
    (void)result;
    struct cons *c = arg;
    c->tick_inflight = false;
}

static void record_done(void *arg, int status, struct qm_span result)
{
    (void)result;
    struct cons *c = arg;
    c->record_inflight = false;
    if (status == QM_OK) {
        qm_log(QM_LOG_INFO, "CONS0020", "recorded this node's API address %s",
               c->api_url);
    }
}

void cons__housekeeping(struct cons *c)
{
    if (c->closing || raft_state(&c->raft) != RAFT_LEADER) {
        return;
    }
    if (!c->tick_inflight && fsm_next_deadline(c->fsm) <= cons__wall_ms()) {
        c->tick_inflight = true;
        cons__propose_internal(c, TP_OP_TICK, NULL, NULL, tick_done, c);
    }
    struct tp_member m;
    int rv = fsm_member_get(c->fsm, c->id, &m);
    bool current = rv == QM_OK && strcmp(m.api_url, c->api_url) == 0 &&
                   strcmp(m.raft_addr, c->raft_addr) == 0;
    if (!current && !c->record_inflight && c->chg.step == CHG_IDLE) {
        memset(&m, 0, sizeof(m));
        m.id = c->id;
        memcpy(m.raft_addr, c->raft_addr, sizeof(m.raft_addr));
        memcpy(m.api_url, c->api_url, sizeof(m.api_url));
        c->record_inflight = true;
        cons__propose_internal(c, TP_OP_MEMBER_SET, &tp_member_schema, &m,
                               record_done, c);
    }
}
