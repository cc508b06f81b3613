/* Unit tests of fsm_apply itself: which entries are skipped, malformed
 * entries and commands, bounds, batches, persistence, failures and member
 * records. Driven only with encoded entries, as raft drives it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsm.h"
#include "qm_alloc.h"
#include "qm_err.h"
#include "qm_limits.h"
#include "th_cmocka.h"
#include "th_fsm.h"
#include "th_log.h"
#include "th_msg.h"

/* ---- Fixture ---- */

#define T0 1700000000000LL /* cluster time of the first entry */

static int setup(void **state)
{
    th_log_capture();
    *state = th_fsm_new();
    return 0;
}

static int teardown(void **state)
{
    qm_alloc_fail_reset();
    th_fsm_free(*state);
    th_log_release();
    return 0;
}

/* ---- Helpers ---- */

/* In th_fsm.h: th_fsm_apply, th_fsm_do, th_member_set, th_member_del. */

/* ---- Assertions ---- */

/* In th_fsm.h: th_assert_digest, th_assert_message, th_assert_statuses. */

/* ---- Cases: what is skipped ---- */

static void test_fsm_index_at_or_below_applied_is_skipped(void **state)
{
    struct th_fsm *fx = *state;
    th_pool_create(fx, T0, 0, 0, "p", 100, 0);
    char before[33];
    th_fsm_digest(fx, before);

    struct tp_pool_create a;
    th_pool_create_args(&a, "q", 100, 0, 0);
    struct th_cmd c;
    th_cmd_make(&c, TP_OP_POOL_CREATE, 0, 0, &tp_pool_create_schema, &a);
    struct qm_buf b;
    qm_buf_init(&b);
    th_entry_make(&b, T0 + 99999, &c, 1);
    static const uint64_t old[] = {2, 1, 0};
    for (size_t k = 0; k < 3; k++) {
        struct fsm_results res;
        res.n = 77;
        assert_int_equal(fsm_apply(fx->f, old[k], b.data, b.len, &res), QM_OK);
        assert_int_equal(res.n, 0);
        assert_int_equal(fsm_applied_index(fx->f), 2);
    }
    qm_buf_close(&b);
    struct tp_pool_info info;
    assert_int_equal(th_pool_get(fx, 0, "q", &info), QM_NOT_FOUND);
    assert_int_equal(fsm_clock(fx->f), T0);
    th_assert_digest(fx, before);
}

static void test_fsm_index_gaps_are_applied(void **state)
{
    struct th_fsm *fx = *state;
    fx->index = 41; /* raft may skip indexes (configuration entries) */
    th_pool_create(fx, T0, 0, 0, "p", 100, 0);
    assert_int_equal(fsm_applied_index(fx->f), 42);
}

static void test_fsm_malformed_entries_are_skipped_without_change(void **state)
{
    struct th_fsm *fx = *state;
    th_pool_create(fx, T0, 0, 0, "p", 100, 0);
    char before[33];
    th_fsm_digest(fx, before);
    int64_t later = T0 + 5000;
    struct qm_buf b;
    qm_buf_init(&b);
    for (int k = 0; k < 9; k++) {
        qm_buf_reset(&b);
        switch (k) {
            case 0: /* not msgpack */
                qm_buf_append(&b, "\xc1\xc1", 2);
                break;
            case 1: /* a map, not an array */
                qm_mpw_map(&b, 0);
                break;
            case 2: /* two fields */
                qm_mpw_array(&b, 2);
                qm_mpw_uint(&b, 1);
                qm_mpw_int(&b, later);
                break;
            case 3: /* an unknown format */
                qm_mpw_array(&b, 3);
                qm_mpw_uint(&b, 2);
                qm_mpw_int(&b, later);
                qm_mpw_array(&b, 0);
                break;
            case 4: /* a negative time stamp */
                qm_mpw_array(&b, 3);
                qm_mpw_uint(&b, 1);
                qm_mpw_int(&b, -1);
                qm_mpw_array(&b, 0);
                break;
            case 5: /* a valid stamp, then no command list */
                qm_mpw_array(&b, 3);
                qm_mpw_uint(&b, 1);
                qm_mpw_int(&b, later);
                qm_mpw_nil(&b);
                break;
            case 6: /* more commands than a batch holds */
                qm_mpw_array(&b, 3);
                qm_mpw_uint(&b, 1);
                qm_mpw_int(&b, later);
                qm_mpw_array(&b, QM_BATCH_MAX + 1);
                for (int i = 0; i <= QM_BATCH_MAX; i++) {
                    qm_mpw_nil(&b);
                }
                break;
            case 7: /* a command count beyond the bytes */
                qm_mpw_array(&b, 3);
                qm_mpw_uint(&b, 1);
                qm_mpw_int(&b, later);
                qm_buf_append(&b, "\xdd\x00\x00\x00\x05", 5);
                break;
            default: /* empty */
                break;
        }
        const struct fsm_results *res = th_fsm_apply_raw(fx, b.data, b.len);
        assert_int_equal(res->n, 0);
        assert_int_equal(fsm_applied_index(fx->f), fx->index);
        /* A skipped entry applies nothing, not even its time stamp. */
        assert_int_equal(fsm_clock(fx->f), T0);
        th_assert_digest(fx, before);
    }
    qm_buf_close(&b);
    assert_true(th_log_count("FSM0010") >= 9);
    /* Later entries still apply. */
    assert_int_equal(th_pool_create(fx, later, 0, 0, "q", 100, 0), QM_OK);
    assert_int_equal(fsm_clock(fx->f), later);
}

static void test_fsm_malformed_commands_answer_invalid_and_others_apply(
    void **state)
{
    struct th_fsm *fx = *state;
    struct th_cmd c[7];
    struct tp_pool_create a;
    th_pool_create_args(&a, "a", 10, 0, 0);
    th_cmd_make(&c[0], TP_OP_POOL_CREATE, 1, 1, &tp_pool_create_schema, &a);
    th_cmd_bytes(&c[1], "\x81\x00\xa1x", 4);   /* op is a string */
    th_cmd_make(&c[2], 100, 1, 2, NULL, NULL); /* unknown op */
    struct tp_pool_name pn = {"a"};
    th_cmd_make(&c[3], TP_OP_POOL_GET, 1, 3, &tp_pool_name_schema, &pn);
    th_cmd_make(&c[4], TP_OP_NODE_INFO, 0, 0, NULL, NULL);   /* local op */
    th_cmd_make(&c[5], TP_OP_POOL_CREATE, 1, 4, NULL, NULL); /* no args */
    th_pool_create_args(&a, "b", 10, 0, 0);
    th_cmd_make(&c[6], TP_OP_POOL_CREATE, 1, 5, &tp_pool_create_schema, &a);
    const struct fsm_results *res = th_fsm_apply(fx, T0, c, 7);
    static const int want[] = {QM_OK,      QM_INVALID, QM_INVALID, QM_INVALID,
                               QM_INVALID, QM_INVALID, QM_OK};
    th_assert_statuses(res, want, 7);
    struct tp_result r;
    th_result_decode(res->items[3], &r, NULL, NULL);
    assert_non_null(strstr(r.message, "POOL_GET is not a command"));
    assert_int_equal(th_pool_tokens(fx, 0, "a"), 10);
    assert_int_equal(th_pool_tokens(fx, 0, "b"), 10);
}

static void test_fsm_malformed_value_in_command_list_ends_the_entry(
    void **state)
{
    struct th_fsm *fx = *state;
    /* [1, T0, [cmd, <truncated>]]: the commands before the bad value apply
     * and get results; nothing after it does. */
    struct tp_pool_create a;
    th_pool_create_args(&a, "a", 10, 0, 0);
    struct th_cmd c;
    th_cmd_make(&c, TP_OP_POOL_CREATE, 0, 0, &tp_pool_create_schema, &a);
    struct qm_buf b;
    qm_buf_init(&b);
    qm_mpw_array(&b, 3);
    qm_mpw_uint(&b, 1);
    qm_mpw_int(&b, T0);
    qm_mpw_array(&b, 2);
    qm_mpw_raw(&b, th_cmd_span(&c));
    qm_buf_append(&b, "\xda\x00\x09xx", 5);
    const struct fsm_results *res = th_fsm_apply_raw(fx, b.data, b.len);
    qm_buf_close(&b);
    static const int want[] = {QM_OK};
    th_assert_statuses(res, want, 1);
    assert_int_equal(th_log_count("FSM0011"), 1);
    assert_int_equal(th_pool_tokens(fx, 0, "a"), 10);
}

static void test_fsm_entry_padding_is_ignored(void **state)
{
    struct th_fsm *fx = *state;
    struct tp_pool_create a;
    th_pool_create_args(&a, "a", 10, 0, 0);
    struct th_cmd c;
    th_cmd_make(&c, TP_OP_POOL_CREATE, 0, 0, &tp_pool_create_schema, &a);
    struct qm_buf b;
    qm_buf_init(&b);
    th_entry_make(&b, T0, &c, 1);
    size_t len = b.len;
    static const uint8_t zeros[8];
    qm_buf_append(&b, zeros, sizeof(zeros));
    /* Up to 7 zero bytes pad an entry (libraft 0.15): no warning. */
    for (size_t pad = 0; pad <= 7; pad++) {
        const struct fsm_results *res = th_fsm_apply_raw(fx, b.data, len + pad);
        static const int want[] = {QM_OK};
        th_assert_statuses(res, want, 1);
        th_pool_delete(fx, T0, 0, 0, "a");
    }
    assert_int_equal(th_log_count("FSM0013"), 0);
    /* Anything else after the commands is reported, and the commands
     * still apply (they were complete). */
    const struct fsm_results *res = th_fsm_apply_raw(fx, b.data, len + 8);
    assert_int_equal(res->n, 1);
    assert_int_equal(th_log_count("FSM0013"), 1);
    b.data[len] = 0x01;
    th_pool_delete(fx, T0, 0, 0, "a");
    res = th_fsm_apply_raw(fx, b.data, len + 1);
    assert_int_equal(res->n, 1);
    assert_int_equal(th_log_count("FSM0013"), 2);
    qm_buf_close(&b);
    assert_int_equal(th_pool_tokens(fx, 0, "a"), 10);
}

static void test_fsm_entry_header_then_commands_is_an_entry(void **state)
{
    (void)state;
    struct th_cmd c[2];
    th_cmd_make(&c[0], TP_OP_TICK, 0, 0, NULL, NULL);
    struct tp_member_id m = {4};
    th_cmd_make(&c[1], TP_OP_MEMBER_DEL, 0, 0, &tp_member_id_schema, &m);
    struct qm_buf whole, parts;
    qm_buf_init(&whole);
    qm_buf_init(&parts);
    th_entry_make(&whole, T0, c, 2);
    assert_int_equal(fsm_entry_header(&parts, T0, 2), QM_OK);
    qm_buf_append(&parts, c[0].data, c[0].len);
    qm_buf_append(&parts, c[1].data, c[1].len);
    assert_int_equal(parts.len, whole.len);
    assert_memory_equal(parts.data, whole.data, whole.len);
    qm_buf_reset(&parts);
    assert_int_equal(fsm_entry_header(&parts, T0, QM_BATCH_MAX + 1),
                     QM_INVALID);
    qm_buf_close(&whole);
    qm_buf_close(&parts);
}

static void test_fsm_empty_entry_moves_clock_and_index(void **state)
{
    struct th_fsm *fx = *state;
    const struct fsm_results *res = th_fsm_apply(fx, T0 + 5, NULL, 0);
    assert_int_equal(res->n, 0);
    assert_int_equal(fsm_applied_index(fx->f), 2);
    assert_int_equal(fsm_clock(fx->f), T0 + 5);
}

/* ---- Cases: bounds ---- */

/* One refused command per bound, all decoded as INVALID before anything is
 * touched: the digest stays the same even though they carry a session. */
static void test_fsm_out_of_bounds_commands_are_invalid_and_change_nothing(
    void **state)
{
    struct th_fsm *fx = *state;
    th_pool_create(fx, T0, 0, 0, "p", 100, 0);
    char before[33];
    th_fsm_digest(fx, before);

    char longname[QM_NAME_MAX + 2];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    char longaddr[QM_ADDR_MAX + 2];
    memset(longaddr, '1', sizeof(longaddr) - 1);
    longaddr[sizeof(longaddr) - 1] = '\0';

    struct th_cmd c[20];
    uint32_t n = 0;
    uint64_t seq = 1;
    struct tp_pool_create pc;
    const struct
    {
        const char *name;
        int64_t cap, refill, price;
    } creates[] = {
        {"ok", 0, 0, 0},
        {"ok", QM_TOKENS_MAX + 1, 0, 0},
        {"ok", -1, 0, 0},
        {"ok", 10, -1, 0},
        {"ok", 10, QM_REFILL_MAX + 1, 0},
        {"ok", 10, 0, -1},
        {"ok", 10, 0, QM_PRICE_MAX + 1},
        {"a b", 10, 0, 0},
        {"", 10, 0, 0},
        {"..", 10, 0, 0},
        {"caf\xc3\xa9", 10, 0, 0},
    };
    for (size_t k = 0; k < sizeof(creates) / sizeof(creates[0]); k++) {
        th_pool_create_args(&pc, creates[k].name, creates[k].cap,
                            creates[k].refill, creates[k].price);
        th_cmd_make(&c[n++], TP_OP_POOL_CREATE, 9, seq++,
                    &tp_pool_create_schema, &pc);
    }
    /* A name one byte too long: the struct cannot hold it, so encode it
     * by hand. */
    uint8_t mem[256];
    struct qm_buf ab;
    qm_buf_init_fixed(&ab, mem, sizeof(mem));
    qm_mpw_map(&ab, 2);
    qm_mpw_uint(&ab, 0);
    qm_mpw_cstr(&ab, longname);
    qm_mpw_uint(&ab, 1);
    qm_mpw_int(&ab, 10);
    struct qm_span as = {ab.data, ab.len};
    struct qm_buf cb;
    qm_buf_init_fixed(&cb, c[n].data, sizeof(c[n].data));
    assert_int_equal(tp_cmd_encode(&cb, TP_OP_POOL_CREATE, 9, seq++, as),
                     QM_OK);
    c[n++].len = cb.len;

    struct tp_acquire aq;
    memset(&aq, 0, sizeof(aq));
    snprintf(aq.pool, sizeof(aq.pool), "p");
    aq.amount = 0;
    th_cmd_make(&c[n++], TP_OP_ACQUIRE, 9, seq++, &tp_acquire_schema, &aq);
    aq.amount = -5;
    th_cmd_make(&c[n++], TP_OP_ACQUIRE, 9, seq++, &tp_acquire_schema, &aq);
    aq.amount = QM_TOKENS_MAX + 1;
    th_cmd_make(&c[n++], TP_OP_ACQUIRE, 9, seq++, &tp_acquire_schema, &aq);

    struct tp_member m;
    memset(&m, 0, sizeof(m));
    snprintf(m.raft_addr, sizeof(m.raft_addr), "1.2.3.4:5");
    snprintf(m.api_url, sizeof(m.api_url), "tcp://1.2.3.4:6");
    m.id = 0;
    th_cmd_make(&c[n++], TP_OP_MEMBER_SET, 0, 0, &tp_member_schema, &m);
    m.id = QM_NODE_ID_MAX + 1;
    th_cmd_make(&c[n++], TP_OP_MEMBER_SET, 0, 0, &tp_member_schema, &m);
    m.id = 1;
    m.role = TP_ROLE_SPARE + 1;
    th_cmd_make(&c[n++], TP_OP_MEMBER_SET, 0, 0, &tp_member_schema, &m);
    struct tp_member_id mid = {0};
    th_cmd_make(&c[n++], TP_OP_MEMBER_DEL, 0, 0, &tp_member_id_schema, &mid);
    assert_true(n <= 20);

    const struct fsm_results *res = th_fsm_apply(fx, T0, c, n);
    for (uint32_t i = 0; i < n; i++) {
        struct tp_result r;
        int st = th_result_decode(res->items[i], &r, NULL, NULL);
        if (st != QM_INVALID) {
            fail_msg("command %u: %s, expected INVALID", i, qm_errname(st));
        }
    }
    /* The long address: the struct cannot hold it either. */
    qm_buf_reset(&ab);
    qm_mpw_map(&ab, 3);
    qm_mpw_uint(&ab, 0);
    qm_mpw_uint(&ab, 1);
    qm_mpw_uint(&ab, 1);
    qm_mpw_cstr(&ab, longaddr);
    qm_mpw_uint(&ab, 2);
    qm_mpw_cstr(&ab, "tcp://x:1");
    as.p = ab.data;
    as.n = ab.len;
    qm_buf_init_fixed(&cb, c[0].data, sizeof(c[0].data));
    assert_int_equal(tp_cmd_encode(&cb, TP_OP_MEMBER_SET, 0, 0, as), QM_OK);
    c[0].len = cb.len;
    res = th_fsm_apply(fx, T0, c, 1);
    static const int invalid[] = {QM_INVALID};
    th_assert_statuses(res, invalid, 1);

    th_assert_digest(fx, before);
    assert_int_equal(th_pool_tokens(fx, 0, "p"), 100);
}

/* ---- Cases: batches ---- */

static void test_fsm_entry_encode_refuses_more_than_batch_max(void **state)
{
    (void)state;
    static struct qm_span spans[QM_BATCH_MAX + 1];
    struct qm_buf b;
    qm_buf_init(&b);
    assert_int_equal(fsm_entry_encode(&b, T0, spans, QM_BATCH_MAX + 1),
                     QM_INVALID);
    qm_buf_close(&b);
}

static void test_fsm_full_batch_answers_every_command(void **state)
{
    struct th_fsm *fx = *state;
    th_pool_create(fx, T0, 0, 0, "p", QM_BATCH_MAX / 2, 0);
    struct tp_acquire aq;
    memset(&aq, 0, sizeof(aq));
    snprintf(aq.pool, sizeof(aq.pool), "p");
    aq.amount = 1;
    struct th_cmd *c = malloc(QM_BATCH_MAX * sizeof(*c));
    struct qm_span *spans = malloc(QM_BATCH_MAX * sizeof(*spans));
    assert_non_null(c);
    assert_non_null(spans);
    for (uint32_t i = 0; i < QM_BATCH_MAX; i++) {
        th_cmd_make(&c[i], TP_OP_ACQUIRE, 1000 + i, 1, &tp_acquire_schema, &aq);
        spans[i] = th_cmd_span(&c[i]);
    }
    struct qm_buf b;
    qm_buf_init(&b);
    assert_int_equal(fsm_entry_encode(&b, T0, spans, QM_BATCH_MAX), QM_OK);
    const struct fsm_results *res = th_fsm_apply_raw(fx, b.data, b.len);
    qm_buf_close(&b);
    assert_int_equal(res->n, QM_BATCH_MAX);
    for (uint32_t i = 0; i < QM_BATCH_MAX; i++) {
        struct tp_result r;
        int st = th_result_decode(res->items[i], &r, NULL, NULL);
        assert_int_equal(st, i < QM_BATCH_MAX / 2 ? QM_OK : QM_DENIED);
    }
    free(spans);
    free(c);
    assert_int_equal(th_pool_tokens(fx, 0, "p"), 0);
}

/* ---- Cases: persistence and failures ---- */

static void test_fsm_state_and_index_survive_flush_and_reopen(void **state)
{
    struct th_fsm *fx = *state;
    th_pool_create(fx, T0, 0, 0, "p", 100, 10);
    th_acquire(fx, T0 + 10, 1, 1, "p", 30, NULL);
    assert_int_equal(fsm_flush(fx->f), QM_OK);
    assert_int_equal(fsm_flush(fx->f), QM_OK); /* nothing open: fine */
    char before[33];
    th_fsm_digest(fx, before);
    th_fsm_reopen(fx);
    assert_int_equal(fsm_applied_index(fx->f), 3);
    assert_int_equal(fsm_clock(fx->f), T0 + 10);
    th_assert_digest(fx, before);
    assert_int_equal(th_pool_tokens(fx, 0, "p"), 70);
    /* The replay of the same indexes after a restart is skipped. */
    struct tp_pool_create a;
    th_pool_create_args(&a, "other", 1, 0, 0);
    struct th_cmd c;
    th_cmd_make(&c, TP_OP_POOL_CREATE, 0, 0, &tp_pool_create_schema, &a);
    struct qm_buf b;
    qm_buf_init(&b);
    th_entry_make(&b, T0 + 20, &c, 1);
    for (uint64_t idx = 2; idx <= 3; idx++) {
        struct fsm_results res;
        assert_int_equal(fsm_apply(fx->f, idx, b.data, b.len, &res), QM_OK);
        assert_int_equal(res.n, 0);
    }
    qm_buf_close(&b);
    th_assert_digest(fx, before);
}

static void test_fsm_close_commits_pending_changes(void **state)
{
    struct th_fsm *fx = *state;
    th_pool_create(fx, T0, 0, 0, "p", 100, 0);
    th_acquire(fx, T0, 1, 1, "p", 1, NULL);
    char before[33];
    th_fsm_digest(fx, before);
    th_fsm_reopen(fx); /* no fsm_flush: fsm_close commits */
    assert_int_equal(fsm_applied_index(fx->f), 3);
    th_assert_digest(fx, before);
    assert_int_equal(th_pool_tokens(fx, 0, "p"), 99);
}

static void test_fsm_failed_apply_commits_nothing_of_its_entry(void **state)
{
    struct th_fsm *fx = *state;
    th_pool_create(fx, T0, 0, 0, "before", 100, 0);
    char before[33];
    th_fsm_digest(fx, before);
    assert_int_equal(fsm_flush(fx->f), QM_OK);

    /* An entry whose first command writes and whose result then cannot be
     * stored: fsm_apply fails, and the process is meant to stop. What it
     * leaves must not reach LMDB, or the replay applies it twice. */
    struct th_cmd c[4];
    struct tp_pool_create a;
    th_pool_create_args(&a, "half", 100, 0, 0);
    th_cmd_make(&c[0], TP_OP_POOL_CREATE, 0, 0, &tp_pool_create_schema, &a);
    struct tp_acquire aq;
    memset(&aq, 0, sizeof(aq));
    memset(aq.pool, 'z', QM_NAME_MAX);
    aq.amount = 1;
    for (int k = 1; k < 4; k++) {
        th_cmd_make(&c[k], TP_OP_ACQUIRE, 0, 0, &tp_acquire_schema, &aq);
    }
    struct qm_buf b;
    qm_buf_init(&b);
    th_entry_make(&b, T0 + 1, c, 4);
    /* The result buffer has 256 bytes from the first entry; the long
     * NOT_FOUND messages of the next commands make it grow, and that
     * allocation fails. */
    struct fsm_results res;
    qm_alloc_fail_after(1, 1000);
    int rv = fsm_apply(fx->f, 3, b.data, b.len, &res);
    qm_alloc_fail_reset();
    assert_int_equal(rv, QM_EIO);
    assert_int_equal(fsm_applied_index(fx->f), 2);
    assert_int_equal(fsm_clock(fx->f), T0);
    th_assert_digest(fx, before);

    th_fsm_reopen(fx);
    assert_int_equal(fsm_applied_index(fx->f), 2);
    th_assert_digest(fx, before);
    /* The replay applies it once, completely. */
    rv = fsm_apply(fx->f, 3, b.data, b.len, &res);
    qm_buf_close(&b);
    assert_int_equal(rv, QM_OK);
    static const int want[] = {QM_OK, QM_NOT_FOUND, QM_NOT_FOUND, QM_NOT_FOUND};
    th_assert_statuses(&res, want, 4);
}

static void test_fsm_failed_apply_rolls_back_to_the_last_flush(void **state)
{
    struct th_fsm *fx = *state;
    th_pool_create(fx, T0, 0, 0, "flushed", 100, 0);
    assert_int_equal(fsm_flush(fx->f), QM_OK);
    char flushed[33];
    th_fsm_digest(fx, flushed);
    th_pool_create(fx, T0 + 1, 0, 0, "unflushed", 100, 0);
    assert_int_equal(fsm_applied_index(fx->f), 3);

    struct th_cmd c[4];
    struct tp_acquire aq;
    memset(&aq, 0, sizeof(aq));
    memset(aq.pool, 'z', QM_NAME_MAX);
    aq.amount = 1;
    for (int k = 0; k < 4; k++) {
        th_cmd_make(&c[k], TP_OP_ACQUIRE, 0, 0, &tp_acquire_schema, &aq);
    }
    struct qm_buf b;
    qm_buf_init(&b);
    th_entry_make(&b, T0 + 2, c, 4);
    struct fsm_results res;
    qm_alloc_fail_after(1, 1000);
    int rv = fsm_apply(fx->f, 4, b.data, b.len, &res);
    qm_alloc_fail_reset();
    qm_buf_close(&b);
    assert_int_equal(rv, QM_EIO);
    /* The group transaction is gone with the failed entry; the state and
     * the applied index are those of the last commit, from which the raft
     * log replays. */
    assert_int_equal(fsm_applied_index(fx->f), 2);
    assert_int_equal(fsm_clock(fx->f), T0);
    th_assert_digest(fx, flushed);
    fx->index = 2;
    assert_int_equal(th_pool_create(fx, T0 + 1, 0, 0, "unflushed", 100, 0),
                     QM_OK);
    assert_int_equal(fsm_applied_index(fx->f), 3);
}

static void test_fsm_wipe_erases_everything(void **state)
{
    struct th_fsm *fx = *state;
    char fresh[33];
    th_fsm_digest(fx, fresh);
    th_pool_create(fx, T0, 0, 0, "p", 100, 0);
    th_member_set(fx, T0, 1, "a:1", "tcp://a:2", 0);
    th_acquire(fx, T0, 1, 1, "p", 1, NULL);
    assert_int_equal(fsm_wipe(fx->f), QM_OK);
    assert_int_equal(fsm_applied_index(fx->f), 0);
    assert_int_equal(fsm_clock(fx->f), 0);
    th_assert_digest(fx, fresh);
    assert_int_equal(fsm_next_deadline(fx->f), INT64_MAX);
    th_fsm_reopen(fx);
    th_assert_digest(fx, fresh);
}

/* ---- Cases: members ---- */

static void test_fsm_member_set_get_and_del(void **state)
{
    struct th_fsm *fx = *state;
    struct tp_member m;
    assert_int_equal(fsm_member_get(fx->f, 2, &m), QM_NOT_FOUND);
    assert_int_equal(th_member_set(fx, T0, 2, "10.0.0.2:7001",
                                   "tcp://10.0.0.2:7101", TP_ROLE_STANDBY),
                     QM_OK);
    assert_int_equal(fsm_member_get(fx->f, 2, &m), QM_OK);
    assert_int_equal(m.id, 2);
    assert_string_equal(m.raft_addr, "10.0.0.2:7001");
    assert_string_equal(m.api_url, "tcp://10.0.0.2:7101");
    assert_int_equal(m.role, 0); /* roles live in raft's configuration */
    /* Setting again replaces. */
    th_member_set(fx, T0, 2, "10.0.0.9:7001", "tcp://10.0.0.9:7101", 0);
    assert_int_equal(fsm_member_get(fx->f, 2, &m), QM_OK);
    assert_string_equal(m.api_url, "tcp://10.0.0.9:7101");
    th_member_set(fx, T0, 3, "10.0.0.3:7001", "tcp://10.0.0.3:7101", 0);
    /* Persisted. */
    th_fsm_reopen(fx);
    assert_int_equal(fsm_member_get(fx->f, 3, &m), QM_OK);
    assert_int_equal(th_member_del(fx, T0, 2), QM_OK);
    assert_int_equal(fsm_member_get(fx->f, 2, &m), QM_NOT_FOUND);
    assert_int_equal(fsm_member_get(fx->f, 3, &m), QM_OK);
    assert_int_equal(th_member_del(fx, T0, 2), QM_NOT_FOUND);
    th_assert_message(fx, "no member 2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_fsm_index_at_or_below_applied_is_skipped),
        T(test_fsm_index_gaps_are_applied),
        T(test_fsm_malformed_entries_are_skipped_without_change),
        T(test_fsm_malformed_commands_answer_invalid_and_others_apply),
        T(test_fsm_malformed_value_in_command_list_ends_the_entry),
        T(test_fsm_entry_padding_is_ignored),
        T(test_fsm_entry_header_then_commands_is_an_entry),
        T(test_fsm_empty_entry_moves_clock_and_index),
        T(test_fsm_out_of_bounds_commands_are_invalid_and_change_nothing),
        T(test_fsm_entry_encode_refuses_more_than_batch_max),
        T(test_fsm_full_batch_answers_every_command),
        T(test_fsm_state_and_index_survive_flush_and_reopen),
        T(test_fsm_close_commits_pending_changes),
        T(test_fsm_failed_apply_commits_nothing_of_its_entry),
        T(test_fsm_failed_apply_rolls_back_to_the_last_flush),
        T(test_fsm_wipe_erases_everything),
        T(test_fsm_member_set_get_and_del),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
