/* Unit tests of transport/tp_msg: the message catalogue, its envelopes and
 * the request decoder that every byte from the network goes through. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qm_err.h"
#include "qm_limits.h"
#include "th_cmocka.h"
#include "th_msg.h"
#include "th_msg_host.h"
#include "th_rng.h"
#include "tp_msg.h"

/* ---- Fixture ---- */

/* Every operation of the catalogue, from the X-macro itself, so a new
 * operation is covered without editing this file. */
struct op_row
{
    uint32_t op;
    uint8_t cls;
    const struct qm_schema *args;
    const struct qm_schema *body;
};

static const struct op_row all_ops[] = {
#define ROW(name, code, cls, args, body) {code, cls, &args, &body},
    TP_OPS(ROW)
#undef ROW
};
#define NOPS (sizeof(all_ops) / sizeof(all_ops[0]))

/* A decoded request is large (a pool page); one per case, on the heap. */
struct fx
{
    struct qm_buf b;
    struct tp_decoded d;
};

static int setup(void **state)
{
    struct fx *fx = test_calloc(1, sizeof(*fx));
    qm_buf_init(&fx->b);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    qm_buf_close(&fx->b);
    test_free(fx);
    return 0;
}

/* ---- Helpers ---- */

/* Valid arguments for @schema, zero-filled around the set fields. */
static void valid_args(const struct qm_schema *s, union tp_args *a)
{
    memset(a, 0, sizeof(*a));
    if (s == &tp_member_schema) {
        a->member.id = 3;
        snprintf(a->member.raft_addr, sizeof(a->member.raft_addr),
                 "10.0.0.3:7001");
        snprintf(a->member.api_url, sizeof(a->member.api_url),
                 "tcp://10.0.0.3:7101");
    } else if (s == &tp_member_id_schema) {
        a->member_id.id = 3;
    } else if (s == &tp_pool_create_schema) {
        snprintf(a->pool_create.name, sizeof(a->pool_create.name), "gpu.a");
        a->pool_create.capacity = 5000;
        a->pool_create.refill = 100;
        a->pool_create.price = 7;
        a->pool_create.kind = TP_KIND_RESERVED;
        a->pool_create.nshares = 2;
        a->pool_create.shares[0].tier = TP_TIER_PREMIUM;
        a->pool_create.shares[0].amount = 1000;
        snprintf(a->pool_create.shares[1].client,
                 sizeof(a->pool_create.shares[1].client), "acme");
        a->pool_create.shares[1].amount = 500;
    } else if (s == &tp_pool_name_schema) {
        snprintf(a->pool_name.name, sizeof(a->pool_name.name), "gpu.a");
    } else if (s == &tp_list_args_schema) {
        snprintf(a->list.after, sizeof(a->list.after), "b");
        a->list.limit = 10;
    } else if (s == &tp_acquire_schema) {
        snprintf(a->acquire.pool, sizeof(a->acquire.pool), "gpu.a");
        a->acquire.amount = 250;
    } else if (s == &tp_tier_set_schema) {
        a->tier_set.tier = TP_TIER_STANDARD;
        a->tier_set.set = TP_SET_PRIORITY | TP_SET_BUDGET;
        a->tier_set.priority = 25;
        a->tier_set.budget = 750 * QM_MICRO;
    } else if (s == &tp_tier_id_schema) {
        a->tier_id.tier = TP_TIER_BASIC;
    } else if (s == &tp_client_create_schema) {
        snprintf(a->client_create.id, sizeof(a->client_create.id), "acme");
        a->client_create.tier = TP_TIER_PREMIUM;
        a->client_create.has_budget = true;
        a->client_create.budget = 2500 * QM_MICRO;
    } else if (s == &tp_client_set_schema) {
        snprintf(a->client_set.id, sizeof(a->client_set.id), "acme");
        a->client_set.set = TP_SET_TIER;
        a->client_set.tier = TP_TIER_BASIC;
    } else if (s == &tp_client_id_schema) {
        snprintf(a->client_id.id, sizeof(a->client_id.id), "acme");
    } else if (s == &tp_reserve_schema) {
        snprintf(a->reserve.client, sizeof(a->reserve.client), "acme");
        a->reserve.ttl_ms = 30000;
        a->reserve.namounts = 2;
        snprintf(a->reserve.amounts[0].pool, sizeof(a->reserve.amounts[0].pool),
                 "gpu.a");
        a->reserve.amounts[0].amount = 250;
        snprintf(a->reserve.amounts[1].pool, sizeof(a->reserve.amounts[1].pool),
                 "gpu.b");
        a->reserve.amounts[1].amount = 750;
    } else if (s == &tp_commit_schema) {
        a->commit.id = 12;
        a->commit.nused = 1;
        snprintf(a->commit.used[0].pool, sizeof(a->commit.used[0].pool),
                 "gpu.a");
        a->commit.used[0].amount = 100;
    } else if (s == &tp_res_id_schema) {
        a->res_id.id = 12;
    } else if (s == &tp_res_list_args_schema) {
        snprintf(a->res_list.client, sizeof(a->res_list.client), "acme");
        a->res_list.after = 3;
        a->res_list.limit = 10;
    } else if (s == &tp_usage_args_schema) {
        snprintf(a->usage.client, sizeof(a->usage.client), "acme");
        a->usage.month = 202402;
        snprintf(a->usage.after, sizeof(a->usage.after), "gpu.a");
        a->usage.limit = 10;
    } else if (s == &tp_estimate_args_schema) {
        a->estimate.namounts = 1;
        snprintf(a->estimate.amounts[0].pool,
                 sizeof(a->estimate.amounts[0].pool), "gpu.a");
        a->estimate.amounts[0].amount = 1500;
    } else if (s == &tp_alert_args_schema) {
        a->alerts.after = 7;
        a->alerts.limit = 10;
    } else if (s == &tp_submit_schema) {
        /* No payload: a decoded span points into the request, so the
         * roundtrip's byte comparison of the arguments holds only without
         * one (test_tp_msg_submit_payload_roundtrips covers it). */
        snprintf(a->submit.client, sizeof(a->submit.client), "acme");
        a->submit.qtier = TP_QTIER_BATCH;
        a->submit.urgency = 30;
        a->submit.nneeds = 2;
        snprintf(a->submit.needs[0].pool, sizeof(a->submit.needs[0].pool),
                 "gpu.a");
        a->submit.needs[0].amount = 250;
        snprintf(a->submit.needs[1].pool, sizeof(a->submit.needs[1].pool),
                 "gpu.b");
        a->submit.needs[1].amount = 750;
        a->submit.deadline_ms = 600000;
        a->submit.attempts = 5;
    } else if (s == &tp_req_id_schema) {
        a->req_id.id = 41;
    } else if (s == &tp_req_list_args_schema) {
        snprintf(a->req_list.client, sizeof(a->req_list.client), "acme");
        a->req_list.qtier = TP_QTIER_FAST;
        a->req_list.state = TP_QSTATE_RUNNING;
        a->req_list.after = 3;
        a->req_list.limit = 10;
    } else if (s == &tp_lease_args_schema) {
        snprintf(a->lease.worker, sizeof(a->lease.worker), "worker-1");
        a->lease.lease_ms = 30000;
    } else if (s == &tp_complete_schema) {
        a->complete.id = 41;
        a->complete.attempt = 2;
        a->complete.nused = 1;
        snprintf(a->complete.used[0].pool, sizeof(a->complete.used[0].pool),
                 "gpu.a");
        a->complete.used[0].amount = 100;
    } else if (s == &tp_fail_schema) {
        a->fail.id = 41;
        a->fail.attempt = 2;
        snprintf(a->fail.reason, sizeof(a->fail.reason), "upstream 503");
    } else if (s == &tp_qsettings_schema) {
        a->qsettings.w_tier = 1000;
        a->qsettings.w_urgency = 1500;
        a->qsettings.w_wait = 500;
        a->qsettings.w_fair = 1000;
        a->qsettings.aging_ms = 30000;
        a->qsettings.fair_half_life_ms = 3600000;
        a->qsettings.fair_scale = 10;
        a->qsettings.starve_ms = 600000;
        a->qsettings.alert_queue_len = 1000;
        a->qsettings.offpeak_start_min = 22 * 60;
        a->qsettings.offpeak_end_min = 6 * 60;
        a->qsettings.lease_ms = 60000;
        a->qsettings.max_attempts = 3;
    } else if (!th_host_valid_args(s, a)) {
        assert_ptr_equal(s, &tp_empty_schema);
    }
}

/* Encode a full request for @row with valid arguments into fx->b. */
static void valid_request(struct fx *fx,
                          const struct op_row *row,
                          uint64_t session,
                          uint64_t seq)
{
    union tp_args a;
    valid_args(row->args, &a);
    struct th_cmd c;
    th_cmd_make(&c, row->op, session, seq, row->args, &a);
    qm_buf_reset(&fx->b);
    th_request_make(&fx->b, 77, "token-1", 0, &c);
}

/* A request map whose fields are written by the caller: starts the map of
 * @n entries. */
static void request_head(struct qm_buf *b, uint32_t n)
{
    qm_buf_reset(b);
    qm_mpw_map(b, n);
}

/* A command map for @op with session/seq 1/1 and arguments @args. */
static void put_cmd(struct qm_buf *b,
                    uint64_t op,
                    const struct qm_schema *s,
                    const void *args)
{
    qm_mpw_map(b, s != NULL ? 4 : 3);
    qm_mpw_uint(b, 0);
    qm_mpw_uint(b, op);
    qm_mpw_uint(b, 1);
    qm_mpw_uint(b, 1);
    qm_mpw_uint(b, 2);
    qm_mpw_uint(b, 1);
    if (s != NULL) {
        qm_mpw_uint(b, 3);
        qm_encode(s, args, b);
    }
}

static int decode_req(struct fx *fx, bool from_client, char *err)
{
    err[0] = '\0';
    return tp_request_decode(fx->b.data, fx->b.len, from_client, &fx->d, err);
}

/* ---- Assertions ---- */

static void assert_valid(struct fx *fx, bool from_client)
{
    char err[QM_ERRMSG_SIZE];
    int rv = decode_req(fx, from_client, err);
    if (rv != QM_OK) {
        fail_msg("request refused: %s", err);
    }
}

/* Refused as INVALID, with a reason mentioning @what. */
static void assert_invalid(struct fx *fx, bool from_client, const char *what)
{
    char err[QM_ERRMSG_SIZE];
    int rv = decode_req(fx, from_client, err);
    if (rv != QM_INVALID) {
        fail_msg("expected INVALID, got %s (%s)", qm_errname(rv), err);
    }
    if (strstr(err, what) == NULL) {
        fail_msg("reason '%s' does not mention '%s'", err, what);
    }
}

/* ---- Cases ---- */

static void test_tp_msg_catalogue_lookup_matches_the_table(void **state)
{
    (void)state;
    for (size_t k = 0; k < NOPS; k++) {
        const struct tp_op_info *oi = tp_op_info(all_ops[k].op);
        assert_non_null(oi);
        assert_int_equal(oi->op, all_ops[k].op);
        assert_int_equal(oi->cls, all_ops[k].cls);
        assert_ptr_equal(oi->args, all_ops[k].args);
        assert_ptr_equal(oi->body, all_ops[k].body);
        assert_true(oi->op <= TP_OP_MAX);
        /* Codes are unique. */
        for (size_t j = 0; j < k; j++) {
            assert_int_not_equal(all_ops[j].op, all_ops[k].op);
        }
    }
    assert_null(tp_op_info(0));
    assert_null(tp_op_info(6));
    assert_null(tp_op_info(TP_OP_MAX + 1));
    assert_null(tp_op_info(UINT64_MAX));
    assert_string_equal(tp_op_info(TP_OP_POOL_CREATE)->name, "POOL_CREATE");
}

static void test_tp_msg_every_op_decodes_with_valid_args(void **state)
{
    struct fx *fx = *state;
    for (size_t k = 0; k < NOPS; k++) {
        valid_request(fx, &all_ops[k], 42, 9);
        assert_valid(fx, all_ops[k].cls != TP_CLASS_INTERNAL);
        assert_int_equal(fx->d.req.version, QM_PROTO_VERSION);
        assert_int_equal(fx->d.req.id, 77);
        assert_string_equal(fx->d.req.cred, "token-1");
        assert_int_equal(fx->d.cmd.op, all_ops[k].op);
        assert_int_equal(fx->d.cmd.session, 42);
        assert_int_equal(fx->d.cmd.seq, 9);
        assert_int_equal(fx->d.info->op, all_ops[k].op);
    }
}

static void test_tp_msg_args_of_every_op_roundtrip(void **state)
{
    struct fx *fx = *state;
    for (size_t k = 0; k < NOPS; k++) {
        union tp_args want;
        valid_args(all_ops[k].args, &want);
        valid_request(fx, &all_ops[k], 42, 9);
        assert_valid(fx, false);
        assert_memory_equal(&fx->d.args, &want, all_ops[k].args->size);
        /* Re-encoding the decoded arguments gives the sent bytes. */
        struct qm_buf again;
        qm_buf_init(&again);
        assert_int_equal(qm_encode(all_ops[k].args, &fx->d.args, &again),
                         QM_OK);
        if (fx->d.cmd.args.n > 0) {
            assert_int_equal(again.len, fx->d.cmd.args.n);
            assert_memory_equal(again.data, fx->d.cmd.args.p, again.len);
        } else {
            /* No arguments: the empty schema encodes as an empty map. */
            assert_int_equal(again.len, 1);
        }
        qm_buf_close(&again);
    }
}

static void test_tp_msg_submit_payload_roundtrips(void **state)
{
    struct fx *fx = *state;
    union tp_args a;
    valid_args(&tp_submit_schema, &a);
    static const uint8_t payload[] = {0x00, 0xff, 0x10, 'j', 'o', 'b'};
    a.submit.payload.p = payload;
    a.submit.payload.n = sizeof(payload);
    struct th_cmd c;
    th_cmd_make(&c, TP_OP_QUEUE_SUBMIT, 1, 1, &tp_submit_schema, &a);
    qm_buf_reset(&fx->b);
    th_request_make(&fx->b, 1, NULL, 0, &c);
    assert_valid(fx, true);
    assert_int_equal(fx->d.args.submit.payload.n, sizeof(payload));
    assert_memory_equal(fx->d.args.submit.payload.p, payload, sizeof(payload));
    /* Everything but the span is as sent. */
    fx->d.args.submit.payload = a.submit.payload;
    assert_memory_equal(&fx->d.args.submit, &a.submit, sizeof(a.submit));
}

static void test_tp_msg_cmd_decode_reads_a_logged_command(void **state)
{
    (void)state;
    union tp_args a;
    valid_args(&tp_acquire_schema, &a);
    struct th_cmd c;
    th_cmd_make(&c, TP_OP_ACQUIRE, 5, 6, &tp_acquire_schema, &a);
    struct tp_cmd cmd;
    const struct tp_op_info *info = NULL;
    union tp_args out;
    char err[QM_ERRMSG_SIZE];
    assert_int_equal(tp_cmd_decode(th_cmd_span(&c), &cmd, &info, &out, err),
                     QM_OK);
    assert_int_equal(cmd.op, TP_OP_ACQUIRE);
    assert_int_equal(cmd.session, 5);
    assert_int_equal(cmd.seq, 6);
    assert_ptr_equal(info, tp_op_info(TP_OP_ACQUIRE));
    assert_string_equal(out.acquire.pool, "gpu.a");
    assert_int_equal(out.acquire.amount, 250);

    /* Without arguments, required arguments are reported missing. */
    th_cmd_make(&c, TP_OP_ACQUIRE, 5, 6, NULL, NULL);
    info = NULL;
    assert_int_equal(tp_cmd_decode(th_cmd_span(&c), &cmd, &info, &out, err),
                     QM_INVALID);
    assert_non_null(strstr(err, "missing"));
    assert_null(info);
    /* An unknown op in a command. */
    th_cmd_make(&c, 100, 5, 6, NULL, NULL);
    assert_int_equal(tp_cmd_decode(th_cmd_span(&c), &cmd, &info, &out, err),
                     QM_INVALID);
    assert_non_null(strstr(err, "unknown operation 100"));
}

static void test_tp_msg_rejects_every_truncated_request(void **state)
{
    struct fx *fx = *state;
    for (size_t k = 0; k < NOPS; k++) {
        valid_request(fx, &all_ops[k], 42, 9);
        for (size_t len = 0; len < fx->b.len; len++) {
            uint8_t *cut = test_malloc(len == 0 ? 1 : len);
            memcpy(cut, fx->b.data, len);
            char err[QM_ERRMSG_SIZE];
            assert_int_equal(tp_request_decode(cut, len, false, &fx->d, err),
                             QM_INVALID);
            test_free(cut);
        }
    }
}

static void test_tp_msg_rejects_requests_larger_than_msg_max(void **state)
{
    struct fx *fx = *state;
    /* A valid request padded, under an unknown key, to exactly
     * QM_MSG_MAX bytes is accepted; one byte more is not. */
    union tp_args a;
    valid_args(&tp_pool_name_schema, &a);
    struct th_cmd c;
    th_cmd_make(&c, TP_OP_POOL_GET, 0, 0, &tp_pool_name_schema, &a);
    struct qm_buf base;
    qm_buf_init(&base);
    qm_mpw_uint(&base, 0);
    qm_mpw_uint(&base, 1);
    qm_mpw_uint(&base, 4);
    qm_mpw_raw(&base, th_cmd_span(&c));
    qm_mpw_uint(&base, 9); /* unknown key; a bin32 follows */
    size_t head = 1 + base.len + 5;
    for (size_t extra = 0; extra <= 1; extra++) {
        size_t pad = QM_MSG_MAX - head + extra;
        uint8_t *zeros = calloc(1, pad);
        assert_non_null(zeros);
        qm_buf_reset(&fx->b);
        qm_mpw_map(&fx->b, 3);
        qm_buf_append(&fx->b, base.data, base.len);
        qm_mpw_bin(&fx->b, zeros, pad);
        free(zeros);
        assert_int_equal(qm_buf_status(&fx->b), QM_OK);
        assert_int_equal(fx->b.len, QM_MSG_MAX + extra);
        if (extra == 0) {
            assert_valid(fx, true);
        } else {
            assert_invalid(fx, true, "larger than");
        }
    }
    qm_buf_close(&base);
}

static void test_tp_msg_rejects_wrongly_typed_envelope_fields(void **state)
{
    struct fx *fx = *state;
    union tp_args a;
    valid_args(&tp_pool_name_schema, &a);
    static const char *const field[] = {"version", "id", "cred", "flags"};
    for (uint64_t key = 0; key < 4; key++) {
        request_head(&fx->b, key == 0 ? 2 : 3);
        if (key != 0) {
            qm_mpw_uint(&fx->b, 0);
            qm_mpw_uint(&fx->b, 1);
        }
        qm_mpw_uint(&fx->b, key);
        if (key == 2) {
            qm_mpw_uint(&fx->b, 5);
        } else {
            qm_mpw_cstr(&fx->b, "1");
        }
        qm_mpw_uint(&fx->b, 4);
        put_cmd(&fx->b, TP_OP_POOL_GET, &tp_pool_name_schema, &a);
        assert_invalid(fx, true, field[key]);
    }
    /* The command must be a map; its fields must have their types. */
    request_head(&fx->b, 2);
    qm_mpw_uint(&fx->b, 0);
    qm_mpw_uint(&fx->b, 1);
    qm_mpw_uint(&fx->b, 4);
    qm_mpw_uint(&fx->b, 17);
    assert_invalid(fx, true, "expected a map");

    static const char *const cfield[] = {"op", "session", "seq", "args"};
    for (uint64_t key = 0; key < 4; key++) {
        request_head(&fx->b, 2);
        qm_mpw_uint(&fx->b, 0);
        qm_mpw_uint(&fx->b, 1);
        qm_mpw_uint(&fx->b, 4);
        qm_mpw_map(&fx->b, key == 0 ? 1 : 2);
        if (key != 0) {
            qm_mpw_uint(&fx->b, 0);
            qm_mpw_uint(&fx->b, TP_OP_POOL_GET);
        }
        qm_mpw_uint(&fx->b, key);
        if (key == 1) {
            qm_mpw_int(&fx->b, -1);
        } else if (key == 3) {
            qm_mpw_array(&fx->b, 0);
        } else {
            qm_mpw_cstr(&fx->b, "1");
        }
        assert_invalid(fx, true, key == 3 ? "expected a map" : cfield[key]);
    }
    /* A request that is not a map at all. */
    qm_buf_reset(&fx->b);
    qm_mpw_array(&fx->b, 1);
    assert_invalid(fx, true, "expected a map");
    /* Unknown flag bits. */
    valid_args(&tp_pool_name_schema, &a);
    struct th_cmd c;
    th_cmd_make(&c, TP_OP_POOL_GET, 0, 0, &tp_pool_name_schema, &a);
    qm_buf_reset(&fx->b);
    th_request_make(&fx->b, 1, NULL, 2, &c);
    assert_invalid(fx, true, "flags");
    qm_buf_reset(&fx->b);
    th_request_make(&fx->b, 1, NULL, TP_RF_STALE, &c);
    assert_valid(fx, true);
    assert_int_equal(fx->d.req.flags, TP_RF_STALE);
}

static void test_tp_msg_credential_is_bounded(void **state)
{
    struct fx *fx = *state;
    union tp_args a;
    valid_args(&tp_pool_name_schema, &a);
    struct th_cmd c;
    th_cmd_make(&c, TP_OP_POOL_GET, 0, 0, &tp_pool_name_schema, &a);
    char cred[QM_CRED_MAX + 2];
    memset(cred, 'k', sizeof(cred));
    cred[QM_CRED_MAX] = '\0';
    qm_buf_reset(&fx->b);
    th_request_make(&fx->b, 1, cred, 0, &c);
    assert_valid(fx, true);
    assert_int_equal(strlen(fx->d.req.cred), QM_CRED_MAX);

    request_head(&fx->b, 3);
    qm_mpw_uint(&fx->b, 0);
    qm_mpw_uint(&fx->b, 1);
    qm_mpw_uint(&fx->b, 2);
    qm_mpw_str(&fx->b, cred, QM_CRED_MAX + 1);
    qm_mpw_uint(&fx->b, 4);
    qm_mpw_raw(&fx->b, th_cmd_span(&c));
    assert_invalid(fx, true, "cred");
}

static void test_tp_msg_rejects_unknown_op(void **state)
{
    struct fx *fx = *state;
    static const uint64_t bad[] = {
        0, 6, 63, 100, TP_OP_MAX, TP_OP_MAX + 1, UINT64_MAX};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        request_head(&fx->b, 2);
        qm_mpw_uint(&fx->b, 0);
        qm_mpw_uint(&fx->b, 1);
        qm_mpw_uint(&fx->b, 4);
        put_cmd(&fx->b, bad[k], NULL, NULL);
        assert_invalid(fx, false, "op");
    }
}

static void test_tp_msg_rejects_other_protocol_versions(void **state)
{
    struct fx *fx = *state;
    union tp_args a;
    valid_args(&tp_pool_name_schema, &a);
    static const uint64_t bad[] = {0, 2, 255, 256, UINT64_MAX};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        request_head(&fx->b, 2);
        qm_mpw_uint(&fx->b, 0);
        qm_mpw_uint(&fx->b, bad[k]);
        qm_mpw_uint(&fx->b, 4);
        put_cmd(&fx->b, TP_OP_POOL_GET, &tp_pool_name_schema, &a);
        assert_invalid(fx, true, "version");
    }
    /* And a request without any version. */
    request_head(&fx->b, 1);
    qm_mpw_uint(&fx->b, 4);
    put_cmd(&fx->b, TP_OP_POOL_GET, &tp_pool_name_schema, &a);
    assert_invalid(fx, true, "version");
}

static void test_tp_msg_internal_ops_are_refused_from_clients_only(void **state)
{
    struct fx *fx = *state;
    static const uint32_t internal[] = {TP_OP_TICK, TP_OP_MEMBER_SET,
                                        TP_OP_MEMBER_DEL};
    size_t seen = 0;
    for (size_t k = 0; k < NOPS; k++) {
        if (all_ops[k].cls != TP_CLASS_INTERNAL) {
            continue;
        }
        seen++;
        valid_request(fx, &all_ops[k], 0, 0);
        assert_invalid(fx, true, "internal");
        assert_valid(fx, false);
    }
    assert_int_equal(seen, sizeof(internal) / sizeof(internal[0]));
    for (size_t k = 0; k < seen; k++) {
        assert_int_equal(tp_op_info(internal[k])->cls, TP_CLASS_INTERNAL);
    }
}

static void test_tp_msg_write_ops_need_session_and_seq(void **state)
{
    struct fx *fx = *state;
    size_t writes = 0;
    for (size_t k = 0; k < NOPS; k++) {
        if (all_ops[k].cls != TP_CLASS_WRITE) {
            /* Other classes do not need them. */
            valid_request(fx, &all_ops[k], 0, 0);
            assert_valid(fx, false);
            continue;
        }
        writes++;
        valid_request(fx, &all_ops[k], 0, 1);
        assert_invalid(fx, true, "session");
        valid_request(fx, &all_ops[k], 1, 0);
        assert_invalid(fx, true, "session");
        valid_request(fx, &all_ops[k], 0, 0);
        assert_invalid(fx, false, "session");
        valid_request(fx, &all_ops[k], 1, 1);
        assert_valid(fx, true);
    }
    /* 9 pool, client, tier and reservation commands; 6 queue commands
     * (submit, cancel, lease, complete, fail, settings); 7 of hosts and
     * agents (register, delete, allocation, action, alert, credit grant
     * and return). */
    assert_int_equal(writes, 22);
}

static void test_tp_msg_rejects_invalid_args_of_each_op(void **state)
{
    struct fx *fx = *state;
    union tp_args a;
    struct th_cmd c;
    /* Arguments out of bounds, per schema (the full bound tables are in the
     * statemachine tests; here: one of each kind of field). */
    valid_args(&tp_pool_create_schema, &a);
    a.pool_create.capacity = 0;
    th_cmd_make(&c, TP_OP_POOL_CREATE, 1, 1, &tp_pool_create_schema, &a);
    qm_buf_reset(&fx->b);
    th_request_make(&fx->b, 1, NULL, 0, &c);
    assert_invalid(fx, true, "capacity");

    valid_args(&tp_acquire_schema, &a);
    snprintf(a.acquire.pool, sizeof(a.acquire.pool), "a b");
    th_cmd_make(&c, TP_OP_ACQUIRE, 1, 1, &tp_acquire_schema, &a);
    qm_buf_reset(&fx->b);
    th_request_make(&fx->b, 1, NULL, 0, &c);
    assert_invalid(fx, true, "pool");

    valid_args(&tp_list_args_schema, &a);
    a.list.limit = QM_PAGE_MAX + 1;
    th_cmd_make(&c, TP_OP_POOL_LIST, 0, 0, &tp_list_args_schema, &a);
    qm_buf_reset(&fx->b);
    th_request_make(&fx->b, 1, NULL, 0, &c);
    assert_invalid(fx, true, "limit");

    valid_args(&tp_member_schema, &a);
    a.member.id = QM_NODE_ID_MAX + 1;
    th_cmd_make(&c, TP_OP_MEMBER_ADD, 0, 0, &tp_member_schema, &a);
    qm_buf_reset(&fx->b);
    th_request_make(&fx->b, 1, NULL, 0, &c);
    assert_invalid(fx, true, "id");

    /* Arguments that are not a map. */
    request_head(&fx->b, 2);
    qm_mpw_uint(&fx->b, 0);
    qm_mpw_uint(&fx->b, 1);
    qm_mpw_uint(&fx->b, 4);
    qm_mpw_map(&fx->b, 2);
    qm_mpw_uint(&fx->b, 0);
    qm_mpw_uint(&fx->b, TP_OP_POOL_GET);
    qm_mpw_uint(&fx->b, 3);
    qm_mpw_nil(&fx->b);
    assert_invalid(fx, true, "expected a map");
}

static void test_tp_msg_reply_and_result_roundtrip(void **state)
{
    struct fx *fx = *state;
    struct tp_acquire_result body = {false, 12, 345, 6789};
    struct qm_buf res;
    qm_buf_init(&res);
    assert_int_equal(tp_result_encode(&res, QM_DENIED, "too few", NULL, 345, 17,
                                      &tp_acquire_result_schema, &body),
                     QM_OK);
    struct qm_span rs = {res.data, res.len};
    assert_int_equal(tp_reply_encode(&fx->b, 99, rs), QM_OK);

    struct tp_reply rep;
    char err[QM_ERRMSG_SIZE];
    assert_int_equal(
        qm_decode(&tp_reply_schema, fx->b.data, fx->b.len, &rep, err), QM_OK);
    assert_int_equal(rep.version, QM_PROTO_VERSION);
    assert_int_equal(rep.id, 99);
    assert_int_equal(rep.result.n, res.len);
    assert_memory_equal(rep.result.p, res.data, res.len);

    struct tp_result r;
    struct tp_acquire_result got;
    assert_int_equal(
        th_result_decode(rep.result, &r, &tp_acquire_result_schema, &got),
        QM_DENIED);
    assert_string_equal(r.message, "too few");
    assert_string_equal(r.leader, "");
    assert_int_equal(r.retry_after_ms, 345);
    assert_int_equal(r.index, 17);
    assert_false(got.granted);
    assert_int_equal(got.tokens, 12);
    assert_int_equal(got.retry_after_ms, 345);
    assert_int_equal(got.cost, 6789);

    /* NOT_LEADER with a leader URL and no body. */
    qm_buf_reset(&res);
    assert_int_equal(tp_result_encode(&res, QM_NOT_LEADER, NULL,
                                      "tcp://10.0.0.1:7101", 0, 0, NULL, NULL),
                     QM_OK);
    rs.p = res.data;
    rs.n = res.len;
    assert_int_equal(th_result_decode(rs, &r, NULL, NULL), QM_NOT_LEADER);
    assert_string_equal(r.leader, "tcp://10.0.0.1:7101");
    assert_int_equal(r.body.n, 0);
    qm_buf_close(&res);
}

static void test_tp_msg_result_truncates_an_overlong_message(void **state)
{
    (void)state;
    char msg[QM_MESSAGE_MAX + 50];
    memset(msg, 'm', sizeof(msg) - 1);
    msg[sizeof(msg) - 1] = '\0';
    struct qm_buf res;
    qm_buf_init(&res);
    assert_int_equal(
        tp_result_encode(&res, QM_INVALID, msg, NULL, 0, 0, NULL, NULL), QM_OK);
    struct qm_span rs = {res.data, res.len};
    struct tp_result r;
    assert_int_equal(th_result_decode(rs, &r, NULL, NULL), QM_INVALID);
    assert_int_equal(strlen(r.message), QM_MESSAGE_MAX);
    qm_buf_close(&res);
}

static void test_tp_msg_random_bytes_never_crash(void **state)
{
    struct fx *fx = *state;
    struct th_rng rng;
    th_rng_seed(&rng, 0x5eed0001);
    uint8_t buf[300];
    for (int i = 0; i < 20000; i++) {
        size_t len = (size_t)th_rng_below(&rng, sizeof(buf) + 1);
        /* Bias towards msgpack structure: small maps and ints. */
        for (size_t j = 0; j < len; j++) {
            uint64_t x = th_rng_next(&rng);
            buf[j] = (x & 3) == 0 ? (uint8_t)(0x80 | ((x >> 8) & 7))
                                  : (uint8_t)(x >> 16);
        }
        uint8_t *in = malloc(len == 0 ? 1 : len);
        assert_non_null(in);
        memcpy(in, buf, len);
        char err[QM_ERRMSG_SIZE];
        for (int fc = 0; fc <= 1; fc++) {
            int rv = tp_request_decode(in, len, fc == 1, &fx->d, err);
            assert_true(rv == QM_OK || rv == QM_INVALID);
        }
        struct tp_cmd cmd;
        const struct tp_op_info *info;
        union tp_args args;
        struct qm_span sp = {in, len};
        int rv = tp_cmd_decode(sp, &cmd, &info, &args, err);
        assert_true(rv == QM_OK || rv == QM_INVALID);
        free(in);
    }
}

static void test_tp_msg_mutated_requests_never_crash(void **state)
{
    struct fx *fx = *state;
    struct th_rng rng;
    th_rng_seed(&rng, 0x5eed0002);
    size_t accepted = 0;
    for (int i = 0; i < 20000; i++) {
        const struct op_row *row = &all_ops[th_rng_below(&rng, NOPS)];
        valid_request(fx, row, 1 + th_rng_below(&rng, 3),
                      1 + th_rng_below(&rng, 3));
        uint8_t buf[TH_CMD_MAX + 64];
        size_t len = fx->b.len;
        memcpy(buf, fx->b.data, len);
        int edits = 1 + (int)th_rng_below(&rng, 4);
        for (int e = 0; e < edits; e++) {
            size_t at = len == 0 ? 0 : (size_t)th_rng_below(&rng, len);
            switch (th_rng_below(&rng, 4)) {
                case 0: /* flip bits */
                    if (len > 0) {
                        buf[at] ^= (uint8_t)(1u << th_rng_below(&rng, 8));
                    }
                    break;
                case 1: /* truncate */
                    len = at;
                    break;
                case 2: /* insert a byte */
                    if (len < sizeof(buf)) {
                        memmove(buf + at + 1, buf + at, len - at);
                        buf[at] = (uint8_t)th_rng_next(&rng);
                        len++;
                    }
                    break;
                default: /* overwrite with an interesting byte */
                    if (len > 0) {
                        static const uint8_t tags[] = {0xc0, 0xc1, 0xcf, 0xd3,
                                                       0xdb, 0xdd, 0xdf, 0xff,
                                                       0x00, 0x7f, 0x80, 0x9f};
                        buf[at] = tags[th_rng_below(&rng, sizeof(tags))];
                    }
                    break;
            }
        }
        uint8_t *in = malloc(len == 0 ? 1 : len);
        assert_non_null(in);
        memcpy(in, buf, len);
        char err[QM_ERRMSG_SIZE];
        for (int fc = 0; fc <= 1; fc++) {
            int rv = tp_request_decode(in, len, fc == 1, &fx->d, err);
            assert_true(rv == QM_OK || rv == QM_INVALID);
            accepted += rv == QM_OK;
        }
        free(in);
    }
    /* Some mutations keep a request valid (a flipped id bit); make sure the
     * loop exercised both outcomes. */
    assert_true(accepted > 0);
    assert_true(accepted < 40000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_tp_msg_catalogue_lookup_matches_the_table),
        T(test_tp_msg_every_op_decodes_with_valid_args),
        T(test_tp_msg_args_of_every_op_roundtrip),
        T(test_tp_msg_submit_payload_roundtrips),
        T(test_tp_msg_cmd_decode_reads_a_logged_command),
        T(test_tp_msg_rejects_every_truncated_request),
        T(test_tp_msg_rejects_requests_larger_than_msg_max),
        T(test_tp_msg_rejects_wrongly_typed_envelope_fields),
        T(test_tp_msg_credential_is_bounded),
        T(test_tp_msg_rejects_unknown_op),
        T(test_tp_msg_rejects_other_protocol_versions),
        T(test_tp_msg_internal_ops_are_refused_from_clients_only),
        T(test_tp_msg_write_ops_need_session_and_seq),
        T(test_tp_msg_rejects_invalid_args_of_each_op),
        T(test_tp_msg_reply_and_result_roundtrip),
        T(test_tp_msg_result_truncates_an_overlong_message),
        T(test_tp_msg_random_bytes_never_crash),
        T(test_tp_msg_mutated_requests_never_crash),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
