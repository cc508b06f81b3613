/* Unit tests of determinism (design.md rule 1): replicas that apply the
 * same entries reach byte-identical state and answer byte-identical
 * results, whatever their restarts; the digest tells states apart and
 * ignores only the applied index. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsm.h"
#include "qm_err.h"
#include "qm_limits.h"
#include "th_cmocka.h"
#include "th_fsm.h"
#include "th_log.h"
#include "th_msg.h"
#include "th_replica.h"
#include "th_rng.h"

/* ---- Fixture ---- */

#define T0 1700000000000LL
#define NSTEPS 120      /* entries per stream */
#define MAX_PER_ENTRY 6 /* commands per entry: ~400 commands a stream */
#define NSESSIONS 6

/* Two replicas with a short TTL and a small session cap, so that expiry
 * and eviction happen within a stream. */
struct fx
{
    struct th_fsm *a;
    struct th_fsm *b;
};

static int setup(void **state)
{
    th_log_capture();
    struct fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->a = th_fsm_new();
    fx->b = th_fsm_new();
    th_fsm_configure(fx->a, 3000, 4);
    th_fsm_configure(fx->b, 3000, 4);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    th_fsm_free(fx->a);
    th_fsm_free(fx->b);
    free(fx);
    th_log_release();
    return 0;
}

/* ---- Helpers ---- */

/* A generator of entries as a leader would propose them: mixed commands,
 * sessions with retries and stale sequences, malformed commands, time
 * stamps that mostly advance and sometimes go back. */
struct gen
{
    struct th_rng rng;
    int64_t time;
    uint64_t seq[NSESSIONS + 1];
};

static void gen_init(struct gen *g, uint64_t seed)
{
    memset(g, 0, sizeof(*g));
    th_rng_seed(&g->rng, seed);
    g->time = T0;
}

static uint64_t pick(struct gen *g, uint64_t n)
{
    return th_rng_below(&g->rng, n);
}

static void pool_name(struct gen *g, char *out, size_t n)
{
    snprintf(out, n, "pool-%u", (unsigned)pick(g, 6));
}

/* Session and sequence of the next command: new, retried or stale. */
static void gen_session(struct gen *g, uint64_t *session, uint64_t *seq)
{
    uint64_t s = pick(g, NSESSIONS + 1); /* 0: no session */
    *session = s;
    if (s == 0) {
        *seq = 0;
        return;
    }
    uint64_t r = pick(g, 20);
    if (r < 2 && g->seq[s] > 0) {
        *seq = g->seq[s]; /* a retry */
    } else if (r < 3 && g->seq[s] > 1) {
        *seq = g->seq[s] - 1; /* stale */
    } else {
        *seq = ++g->seq[s];
    }
}

static void gen_cmd(struct gen *g, struct th_cmd *c)
{
    uint64_t session, seq;
    gen_session(g, &session, &seq);
    switch (pick(g, 10)) {
        case 0:
        case 1: {
            struct tp_pool_create a;
            memset(&a, 0, sizeof(a));
            pool_name(g, a.name, sizeof(a.name));
            a.capacity = 1 + (int64_t)pick(g, 100000);
            a.refill = pick(g, 3) == 0 ? 0 : (int64_t)pick(g, 50000);
            a.price = (int64_t)pick(g, 1000);
            th_cmd_make(c, TP_OP_POOL_CREATE, session, seq,
                        &tp_pool_create_schema, &a);
            break;
        }
        case 2: {
            struct tp_pool_name a;
            memset(&a, 0, sizeof(a));
            pool_name(g, a.name, sizeof(a.name));
            th_cmd_make(c, TP_OP_POOL_DELETE, session, seq,
                        &tp_pool_name_schema, &a);
            break;
        }
        case 3:
        case 4:
        case 5: {
            struct tp_acquire a;
            memset(&a, 0, sizeof(a));
            pool_name(g, a.pool, sizeof(a.pool));
            a.amount = 1 + (int64_t)pick(g, 30000);
            th_cmd_make(c, TP_OP_ACQUIRE, session, seq, &tp_acquire_schema, &a);
            break;
        }
        case 6:
            th_cmd_make(c, TP_OP_TICK, 0, 0, NULL, NULL);
            break;
        case 7: {
            struct tp_member m;
            memset(&m, 0, sizeof(m));
            m.id = 1 + pick(g, 4);
            snprintf(m.raft_addr, sizeof(m.raft_addr), "10.0.0.%u:7001",
                     (unsigned)pick(g, 250));
            snprintf(m.api_url, sizeof(m.api_url), "tcp://10.0.0.%u:7101",
                     (unsigned)pick(g, 250));
            th_cmd_make(c, TP_OP_MEMBER_SET, 0, 0, &tp_member_schema, &m);
            break;
        }
        case 8: {
            struct tp_member_id m = {1 + pick(g, 4)};
            th_cmd_make(c, TP_OP_MEMBER_DEL, 0, 0, &tp_member_id_schema, &m);
            break;
        }
        default: { /* malformed: a valid command with bytes spoiled */
            struct tp_acquire a;
            memset(&a, 0, sizeof(a));
            pool_name(g, a.pool, sizeof(a.pool));
            a.amount = 1;
            th_cmd_make(c, TP_OP_ACQUIRE, session, seq, &tp_acquire_schema, &a);
            size_t at = (size_t)pick(g, c->len);
            c->data[at] = (uint8_t)pick(g, 256);
            if (pick(g, 2) == 0) {
                c->len = at + 1;
            }
            break;
        }
    }
}

/* The next entry of the stream into @b (reset first). */
static void gen_entry(struct gen *g, struct qm_buf *b)
{
    if (pick(g, 8) == 0) {
        g->time -= (int64_t)pick(g, 5000); /* a stamp from the past */
    } else {
        g->time += (int64_t)pick(g, 2500);
    }
    struct th_cmd c[MAX_PER_ENTRY];
    uint32_t n = (uint32_t)pick(g, MAX_PER_ENTRY + 1);
    for (uint32_t i = 0; i < n; i++) {
        gen_cmd(g, &c[i]);
    }
    qm_buf_reset(b);
    th_entry_make(b, g->time, c, n);
}

/* ---- Cases ---- */

static void test_fsm_same_stream_gives_same_digest_at_every_step(void **state)
{
    struct fx *fx = *state;
    struct gen g;
    gen_init(&g, 0xd1ce);
    struct qm_buf b;
    qm_buf_init(&b);
    struct th_results *ra = malloc(sizeof(*ra));
    assert_non_null(ra);
    uint32_t statuses[QM_STATUS_MAX + 1] = {0};
    for (int step = 0; step < NSTEPS; step++) {
        gen_entry(&g, &b);
        th_results_keep(th_fsm_apply_raw(fx->a, b.data, b.len), ra);
        const struct fsm_results *rb = th_fsm_apply_raw(fx->b, b.data, b.len);
        th_assert_same_results(ra, rb);
        th_assert_same_state(fx->a, fx->b);
        for (uint32_t i = 0; i < rb->n; i++) {
            struct tp_result r;
            int st = th_result_decode(rb->items[i], &r, NULL, NULL);
            statuses[st]++;
        }
    }
    free(ra);
    qm_buf_close(&b);
    /* The stream exercised the interesting outcomes. */
    assert_true(statuses[QM_OK] > 0);
    assert_true(statuses[QM_DENIED] > 0);
    assert_true(statuses[QM_NOT_FOUND] > 0);
    assert_true(statuses[QM_EXISTS] > 0);
    assert_true(statuses[QM_INVALID] > 0);
}

static void test_fsm_same_stream_with_restarts_gives_same_digest(void **state)
{
    struct fx *fx = *state;
    struct gen g;
    gen_init(&g, 0xfeed);
    struct qm_buf b;
    qm_buf_init(&b);
    for (int step = 0; step < NSTEPS; step++) {
        gen_entry(&g, &b);
        th_fsm_apply_raw(fx->a, b.data, b.len);
        th_fsm_apply_raw(fx->b, b.data, b.len);
        if (step % 17 == 16) {
            th_fsm_reopen(fx->a); /* a restart of replica a */
        } else if (step % 5 == 4) {
            assert_int_equal(fsm_flush(fx->b->f), QM_OK);
        }
        th_assert_same_state(fx->a, fx->b);
    }
    qm_buf_close(&b);
}

static void test_fsm_log_replay_after_restart_changes_nothing(void **state)
{
    struct fx *fx = *state;
    struct gen g;
    gen_init(&g, 0xabc);
    struct qm_buf *log = calloc(NSTEPS, sizeof(*log));
    assert_non_null(log);
    for (int step = 0; step < NSTEPS; step++) {
        qm_buf_init(&log[step]);
        gen_entry(&g, &log[step]);
        th_fsm_apply_raw(fx->a, log[step].data, log[step].len);
    }
    char before[33];
    th_fsm_digest(fx->a, before);
    th_fsm_reopen(fx->a);
    /* libraft re-applies the whole log after its last snapshot. */
    for (int step = 0; step < NSTEPS; step++) {
        struct fsm_results res;
        assert_int_equal(fsm_apply(fx->a->f, (uint64_t)step + 2, log[step].data,
                                   log[step].len, &res),
                         QM_OK);
        assert_int_equal(res.n, 0);
        qm_buf_close(&log[step]);
    }
    free(log);
    char after[33];
    th_fsm_digest(fx->a, after);
    assert_string_equal(after, before);
}

static void test_fsm_different_stream_gives_different_digest(void **state)
{
    struct fx *fx = *state;
    struct gen ga, gb;
    gen_init(&ga, 1);
    gen_init(&gb, 2);
    struct qm_buf b;
    qm_buf_init(&b);
    for (int step = 0; step < NSTEPS; step++) {
        gen_entry(&ga, &b);
        th_fsm_apply_raw(fx->a, b.data, b.len);
        gen_entry(&gb, &b);
        th_fsm_apply_raw(fx->b, b.data, b.len);
    }
    qm_buf_close(&b);
    char da[33], db[33];
    th_fsm_digest(fx->a, da);
    th_fsm_digest(fx->b, db);
    assert_string_not_equal(da, db);
}

static void test_fsm_one_extra_command_changes_the_digest(void **state)
{
    struct fx *fx = *state;
    struct gen g;
    gen_init(&g, 0x51);
    struct qm_buf b;
    qm_buf_init(&b);
    for (int step = 0; step < NSTEPS; step++) {
        gen_entry(&g, &b);
        th_fsm_apply_raw(fx->a, b.data, b.len);
        th_fsm_apply_raw(fx->b, b.data, b.len);
        if (step == NSTEPS / 2) {
            /* Replica b alone gets one more pool, at the same index and
             * time as a's empty entry. */
            th_fsm_apply(fx->a, 0, NULL, 0);
            th_pool_create(fx->b, 0, 0, 0, "extra", 1, 0);
        }
        char da[33], db[33];
        th_fsm_digest(fx->a, da);
        th_fsm_digest(fx->b, db);
        if (step < NSTEPS / 2) {
            assert_string_equal(da, db);
        } else {
            assert_string_not_equal(da, db);
        }
    }
    qm_buf_close(&b);
}

static void test_fsm_digest_ignores_only_the_applied_index(void **state)
{
    struct fx *fx = *state;
    /* Sessionless commands store no result (which would hold the index),
     * so the same commands at other indexes give the same state. */
    fx->b->index = 100;
    th_pool_create(fx->a, T0, 0, 0, "p", 100, 10);
    th_pool_create(fx->b, T0, 0, 0, "p", 100, 10);
    th_acquire(fx->a, T0, 0, 0, "p", 5, NULL);
    th_acquire(fx->b, T0, 0, 0, "p", 5, NULL);
    char da[33], db[33];
    uint64_t ia, ib;
    assert_int_equal(fsm_digest(fx->a->f, da, &ia), QM_OK);
    assert_int_equal(fsm_digest(fx->b->f, db, &ib), QM_OK);
    assert_string_equal(da, db);
    assert_int_equal(ia, 3);
    assert_int_equal(ib, 102);

    /* An empty entry at the same time changes only the index. */
    th_fsm_apply(fx->a, T0, NULL, 0);
    assert_int_equal(fsm_digest(fx->a->f, da, &ia), QM_OK);
    assert_string_equal(da, db);
    assert_int_equal(ia, 4);

    /* Everything else counts: the clock, ... */
    char base[33];
    snprintf(base, sizeof(base), "%s", da);
    th_fsm_apply(fx->a, T0 + 1, NULL, 0);
    th_fsm_digest(fx->a, da);
    assert_string_not_equal(da, base);
    th_fsm_apply(fx->b, T0 + 1, NULL, 0);
    th_fsm_digest(fx->b, db);
    assert_string_equal(da, db);
    /* ... a pool's tokens, ... */
    th_acquire(fx->a, T0 + 1, 0, 0, "p", 1, NULL);
    th_fsm_digest(fx->a, da);
    assert_string_not_equal(da, db);
    th_acquire(fx->b, T0 + 1, 0, 0, "p", 1, NULL);
    th_fsm_digest(fx->b, db);
    assert_string_equal(da, db);
    /* ... a member, ... */
    th_member_set(fx->a, T0 + 1, 1, "a:1", "tcp://a:2", 0);
    th_fsm_digest(fx->a, da);
    assert_string_not_equal(da, db);
    th_member_set(fx->b, T0 + 1, 1, "a:1", "tcp://a:2", 0);
    th_fsm_digest(fx->b, db);
    assert_string_equal(da, db);
    /* ... and a session alone (a refusal remembered for its retry). */
    assert_int_equal(th_acquire(fx->a, T0 + 1, 9, 1, "none", 1, NULL),
                     QM_NOT_FOUND);
    th_fsm_digest(fx->a, da);
    assert_string_not_equal(da, db);
}

static void test_fsm_digest_is_stable_across_reopen(void **state)
{
    struct fx *fx = *state;
    th_pool_create(fx->a, T0, 1, 1, "p", 100, 10);
    char before[33];
    th_fsm_digest(fx->a, before);
    th_fsm_reopen(fx->a);
    char after[33];
    th_fsm_digest(fx->a, after);
    assert_string_equal(after, before);
    assert_int_equal(strlen(after), 32);
    assert_int_equal(strspn(after, "0123456789abcdef"), 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_fsm_same_stream_gives_same_digest_at_every_step),
        T(test_fsm_same_stream_with_restarts_gives_same_digest),
        T(test_fsm_log_replay_after_restart_changes_nothing),
        T(test_fsm_different_stream_gives_different_digest),
        T(test_fsm_one_extra_command_changes_the_digest),
        T(test_fsm_digest_ignores_only_the_applied_index),
        T(test_fsm_digest_is_stable_across_reopen),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
