/* libFuzzer target for every decoder that takes bytes from outside the
 * process: client requests (tp_request_decode, from clients and from
 * peers), logged commands (tp_cmd_decode), results and node information
 * (qm_decode), and the state machine itself (fsm_apply on the input as a
 * raft entry, and on the input as the one command of a valid entry).
 *
 * Beyond "no crash, no sanitizer report" it checks the contracts:
 * decoders answer only their documented codes, whatever decodes encodes
 * back to bytes that decode to the same encoding, fsm_apply never fails
 * on input and answers well-formed results, reads answer too.
 *
 *   make fuzz-build MODE=fuzz && build/fuzz/fuzz/fuzz_decode CORPUS SEEDS
 *
 * The harness keeps one state machine for the whole run (opening LMDB per
 * input would dominate the time), in process-global state: a fuzz harness
 * is the one place the no-globals rule gives way. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsm.h"
#include "qm_alloc.h"
#include "qm_codec.h"
#include "qm_err.h"
#include "qm_log.h"
#include "qm_mp.h"
#include "tp_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define T0 1700000000000LL
#define FLUSH_EVERY 64
#define WIPE_EVERY 20000

/* ---- the state machine of the run ---- */

static struct fsm *fsm;
static uint64_t next_index = 2;
static uint64_t applies;

static void quiet(void *arg, int level, const char *line)
{
    (void)arg;
    (void)level;
    (void)line;
}

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_decode: contract broken: %s\n", what);
        abort();
    }
}

/* Open the state machine on a fresh folder, then unlink its files and the
 * folder: LMDB keeps working on the open map, and nothing is left behind
 * however the fuzzer exits. */
static struct fsm *the_fsm(void)
{
    if (fsm != NULL) {
        return fsm;
    }
    qm_log_set_sink(quiet, NULL);
    char dir[] = "/tmp/qm-fuzz-XXXXXX";
    check(mkdtemp(dir) != NULL, "mkdtemp");
    struct fsm_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.dir = dir;
    cfg.map_size = (size_t)1 << 30;
    cfg.sync = FSM_SYNC_NONE;
    cfg.session_ttl_ms = 60000;
    cfg.max_sessions = 1000;
    char err[QM_ERRMSG_SIZE] = "";
    int rv = fsm_open(&fsm, &cfg, err);
    if (rv != QM_OK) {
        fprintf(stderr, "fuzz_decode: fsm_open: %s\n", err);
        abort();
    }
    char path[64];
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/lock.mdb", dir);
    unlink(path);
    rmdir(dir);
    return fsm;
}

/* ---- contracts ---- */

/* Encode @obj, decode that, encode again: both encodings are the same. */
static void check_reencode(const struct qm_schema *s, const void *obj)
{
    static uint8_t again[sizeof(struct tp_node_info) + 64];
    struct qm_buf b1, b2;
    qm_buf_init(&b1);
    qm_buf_init(&b2);
    check(qm_encode(s, obj, &b1) == QM_OK, "encode a decoded message");
    char err[QM_ERRMSG_SIZE];
    check(s->size <= sizeof(again), "scratch size");
    int rv = qm_decode(s, b1.data, b1.len, again, err);
    if (rv != QM_OK) {
        fprintf(stderr, "fuzz_decode: %s: %s\n", s->name, err);
    }
    check(rv == QM_OK, "decode what encode wrote");
    check(qm_encode(s, again, &b2) == QM_OK, "encode again");
    check(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0,
          "encoding is stable");
    qm_buf_close(&b1);
    qm_buf_close(&b2);
}

/* A result the state machine wrote is a well-formed result map. */
static void check_result(struct qm_span raw)
{
    static struct tp_result r;
    char err[QM_ERRMSG_SIZE];
    check(qm_decode(&tp_result_schema, raw.p, raw.n, &r, err) == QM_OK,
          "fsm result decodes");
    check(qm_is_status((int)r.status), "fsm result status");
}

static void apply(const void *entry, size_t len)
{
    struct fsm *f = the_fsm();
    struct fsm_results res;
    int rv = fsm_apply(f, next_index, entry, len, &res);
    check(rv == QM_OK, "fsm_apply never fails on input");
    check(fsm_applied_index(f) == next_index, "applied index moves");
    next_index++;
    check(res.n <= QM_BATCH_MAX, "result count");
    for (uint32_t i = 0; i < res.n; i++) {
        check_result(res.items[i]);
    }
    if (++applies % FLUSH_EVERY == 0) {
        check(fsm_flush(f) == QM_OK, "fsm_flush");
    }
    if (applies % WIPE_EVERY == 0) {
        /* Keep the database small; the index goes on rising. */
        check(fsm_wipe(f) == QM_OK, "fsm_wipe");
    }
}

/* ---- the target ---- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct tp_decoded d;
    char err[QM_ERRMSG_SIZE];

    for (int from_client = 0; from_client <= 1; from_client++) {
        int rv = tp_request_decode(data, size, from_client, &d, err);
        check(rv == QM_OK || rv == QM_INVALID, "tp_request_decode codes");
        if (rv != QM_OK) {
            continue;
        }
        check(d.info != NULL && d.info->op == d.cmd.op, "decoded op");
        check(!from_client || d.info->cls != TP_CLASS_INTERNAL,
              "internal op from a client");
        check_reencode(d.info->args, &d.args);
        if (d.info->cls == TP_CLASS_READ) {
            struct qm_buf b;
            qm_buf_init(&b);
            rv = fsm_query(the_fsm(), &d, T0, &b);
            check(rv == QM_OK, "fsm_query answers");
            struct qm_span sp = {b.data, b.len};
            check_result(sp);
            qm_buf_close(&b);
        }
    }

    static struct tp_cmd cmd;
    static union tp_args args;
    const struct tp_op_info *info = NULL;
    struct qm_span raw = {data, size};
    int rv = tp_cmd_decode(raw, &cmd, &info, &args, err);
    check(rv == QM_OK || rv == QM_INVALID, "tp_cmd_decode codes");
    if (rv == QM_OK) {
        check_reencode(info->args, &args);
    }

    static struct tp_result result;
    rv = qm_decode(&tp_result_schema, data, size, &result, err);
    check(rv == QM_OK || rv == QM_EPROTO, "qm_decode codes");
    if (rv == QM_OK) {
        check_reencode(&tp_result_schema, &result);
    }
    static struct tp_node_info ni;
    rv = qm_decode(&tp_node_info_schema, data, size, &ni, err);
    check(rv == QM_OK || rv == QM_EPROTO, "qm_decode codes");
    if (rv == QM_OK) {
        check_reencode(&tp_node_info_schema, &ni);
    }

    /* The input as a whole raft entry, then as one command of an entry
     * stamped with a time that mostly moves forward. */
    apply(data, size);
    struct qm_buf b;
    qm_buf_init(&b);
    int64_t stamp = T0 + (int64_t)(next_index * 37 % 100000);
    if (fsm_entry_encode(&b, stamp, &raw, 1) == QM_OK) {
        apply(b.data, b.len);
    }
    qm_buf_close(&b);
    return 0;
}
