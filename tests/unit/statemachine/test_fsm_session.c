/* Unit tests of exactly-once sessions in the state machine: replays,
 * stale sequences, expiry by TICK, the session cap and the deadline the
 * leader ticks for. Driven only with encoded entries, as raft drives it. */
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

/* ---- Fixture ---- */

#define T0 1700000000000LL
#define TTL 1000 /* a short session TTL for the expiry cases */

static int setup(void **state)
{
    th_log_capture();
    struct th_fsm *fx = th_fsm_new();
    /* Every case charges a pool to see whether a command applied. */
    assert_int_equal(th_pool_create(fx, T0, 0, 0, "p", 1000000, 0), QM_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    th_fsm_free(*state);
    th_log_release();
    return 0;
}

/* ---- Helpers ---- */

/* A copy of the last result, to compare with a later one. */
struct saved
{
    uint8_t b[TH_RES_MAX];
    size_t n;
};

static void save(const struct th_fsm *fx, struct saved *s)
{
    memcpy(s->b, fx->last, fx->last_len);
    s->n = fx->last_len;
}

static int64_t tokens(struct th_fsm *fx)
{
    return th_pool_tokens(fx, 0, "p");
}

/* Acquire 1 from "p" in session @s with sequence @q at @t. */
static int take1(struct th_fsm *fx, int64_t t, uint64_t s, uint64_t q)
{
    return th_acquire(fx, t, s, q, "p", 1, NULL);
}

/* ---- Assertions ---- */

static void assert_last_is(const struct th_fsm *fx, const struct saved *s)
{
    assert_int_equal(fx->last_len, s->n);
    assert_memory_equal(fx->last, s->b, s->n);
}

/* A retry of (@s, @q) is answered from the session: same bytes, no
 * charge. */
static void assert_replayed(struct th_fsm *fx,
                            int64_t t,
                            uint64_t s,
                            uint64_t q,
                            const struct saved *first)
{
    int64_t before = tokens(fx);
    take1(fx, t, s, q);
    assert_last_is(fx, first);
    assert_int_equal(tokens(fx), before);
}

/* (@s, @q) applies as new: charged once more. */
static void assert_applied_again(struct th_fsm *fx,
                                 int64_t t,
                                 uint64_t s,
                                 uint64_t q)
{
    int64_t before = tokens(fx);
    assert_int_equal(take1(fx, t, s, q), QM_OK);
    assert_int_equal(tokens(fx), before - 1);
}

/* ---- Cases: exactly once ---- */

static void test_fsm_session_retry_in_same_entry_gets_same_bytes_charged_once(
    void **state)
{
    struct th_fsm *fx = *state;
    struct tp_acquire aq;
    memset(&aq, 0, sizeof(aq));
    snprintf(aq.pool, sizeof(aq.pool), "p");
    aq.amount = 10;
    struct th_cmd c[3];
    for (int k = 0; k < 3; k++) {
        th_cmd_make(&c[k], TP_OP_ACQUIRE, 7, 1, &tp_acquire_schema, &aq);
    }
    const struct fsm_results *res = th_fsm_apply(fx, T0, c, 3);
    assert_int_equal(res->n, 3);
    for (int k = 1; k < 3; k++) {
        assert_int_equal(res->items[k].n, res->items[0].n);
        assert_memory_equal(res->items[k].p, res->items[0].p, res->items[0].n);
    }
    assert_int_equal(tokens(fx), 1000000 - 10);
}

static void test_fsm_session_retry_in_later_entry_gets_same_bytes(void **state)
{
    struct th_fsm *fx = *state;
    struct tp_acquire_result ar;
    assert_int_equal(th_acquire(fx, T0, 7, 1, "p", 10, &ar), QM_OK);
    struct saved first;
    save(fx, &first);
    /* Time passes, other sessions change the pool, the entry index is
     * different: the retry still gets the stored bytes (index included). */
    take1(fx, T0 + 10, 8, 1);
    take1(fx, T0 + 20, 8, 2);
    assert_int_equal(th_acquire(fx, T0 + 30, 7, 1, "p", 10, &ar), QM_OK);
    assert_last_is(fx, &first);
    assert_int_equal(ar.tokens, 1000000 - 10);
    struct tp_result r;
    struct qm_span raw = {fx->last, fx->last_len};
    th_result_decode(raw, &r, NULL, NULL);
    assert_int_equal(r.index, 3); /* the index it was applied at */
    assert_int_equal(tokens(fx), 1000000 - 12);
}

static void test_fsm_session_replay_answers_whatever_the_retried_command(
    void **state)
{
    struct th_fsm *fx = *state;
    take1(fx, T0, 7, 1);
    struct saved first;
    save(fx, &first);
    /* The same (session, seq) with another command is a retry too. */
    assert_int_equal(th_pool_delete(fx, T0, 7, 1, "p"), QM_OK);
    assert_last_is(fx, &first);
    assert_int_equal(tokens(fx), 1000000 - 1);
}

static void test_fsm_session_replays_a_refusal_unchanged(void **state)
{
    struct th_fsm *fx = *state;
    assert_int_equal(th_pool_create(fx, T0, 0, 0, "slow", 1000, 100), QM_OK);
    th_acquire(fx, T0, 0, 0, "slow", 1000, NULL);
    struct tp_acquire_result ar;
    assert_int_equal(th_acquire(fx, T0, 7, 1, "slow", 500, &ar), QM_DENIED);
    assert_int_equal(ar.retry_after_ms, 5000);
    struct saved first;
    save(fx, &first);
    /* Long after, the pool could grant it; the retry is still the stored
     * refusal. */
    assert_int_equal(th_acquire(fx, T0 + 60000, 7, 1, "slow", 500, &ar),
                     QM_DENIED);
    assert_last_is(fx, &first);
    assert_int_equal(th_pool_tokens(fx, 0, "slow"), 1000);
}

static void test_fsm_session_older_seq_is_invalid_and_changes_nothing(
    void **state)
{
    struct th_fsm *fx = *state;
    take1(fx, T0, 7, 5);
    char before[33];
    th_fsm_digest(fx, before);
    assert_int_equal(take1(fx, T0, 7, 4), QM_INVALID);
    struct tp_result r;
    struct qm_span raw = {fx->last, fx->last_len};
    th_result_decode(raw, &r, NULL, NULL);
    assert_non_null(strstr(r.message, "sequence 4"));
    assert_int_equal(take1(fx, T0, 7, 1), QM_INVALID);
    char after[33];
    th_fsm_digest(fx, after);
    assert_string_equal(after, before);
    /* The newest result is still the one replayed. */
    assert_int_equal(take1(fx, T0, 7, 5), QM_OK);
    assert_int_equal(tokens(fx), 1000000 - 1);
}

static void test_fsm_session_sequences_may_skip_forward(void **state)
{
    struct th_fsm *fx = *state;
    assert_applied_again(fx, T0, 7, 1);
    assert_applied_again(fx, T0, 7, 10);
    assert_applied_again(fx, T0, 7, UINT64_MAX);
    assert_int_equal(take1(fx, T0, 7, 11), QM_INVALID);
}

static void test_fsm_sessions_are_independent(void **state)
{
    struct th_fsm *fx = *state;
    assert_applied_again(fx, T0, 1, 1);
    assert_applied_again(fx, T0, 2, 1);
    assert_applied_again(fx, T0, UINT64_MAX, 1);
    assert_applied_again(fx, T0, 2, 2);
    assert_int_equal(take1(fx, T0, 1, 1), QM_OK); /* replay */
    assert_int_equal(tokens(fx), 1000000 - 4);
}

static void test_fsm_session_zero_means_no_deduplication(void **state)
{
    struct th_fsm *fx = *state;
    assert_applied_again(fx, T0, 0, 0);
    assert_applied_again(fx, T0, 0, 0);
    assert_applied_again(fx, T0, 0, 5);
    assert_int_equal(fsm_next_deadline(fx->f), INT64_MAX);
}

static void test_fsm_session_replay_survives_reopen(void **state)
{
    struct th_fsm *fx = *state;
    take1(fx, T0, 7, 1);
    struct saved first;
    save(fx, &first);
    th_fsm_reopen(fx);
    assert_replayed(fx, T0 + 1, 7, 1, &first);
}

static void test_fsm_session_decode_failures_are_not_remembered(void **state)
{
    struct th_fsm *fx = *state;
    /* A command that does not decode never reaches the session table: the
     * same (session, seq) is still free for a valid command. */
    assert_int_equal(th_acquire(fx, T0, 7, 1, "p", 0, NULL), QM_INVALID);
    assert_applied_again(fx, T0, 7, 1);
}

/* ---- Cases: expiry ---- */

static void test_fsm_tick_after_ttl_expires_session_so_same_seq_applies_again(
    void **state)
{
    struct th_fsm *fx = *state;
    th_fsm_configure(fx, TTL, 0);
    take1(fx, T0, 7, 1);
    struct saved first;
    save(fx, &first);
    /* One millisecond short of the TTL, TICK keeps the session. */
    th_tick(fx, T0 + TTL - 1);
    assert_replayed(fx, T0 + TTL - 1, 7, 1, &first);
    /* At the TTL it is dropped: the client's retry is now a new command
     * (the documented limit of exactly-once: retry within the TTL). */
    th_tick(fx, T0 + TTL);
    assert_applied_again(fx, T0 + TTL, 7, 1);
}

static void test_fsm_expiry_happens_only_on_tick(void **state)
{
    struct th_fsm *fx = *state;
    th_fsm_configure(fx, TTL, 0);
    take1(fx, T0, 7, 1);
    struct saved first;
    save(fx, &first);
    /* Without a TICK the idle session stays, however late the clock. */
    assert_replayed(fx, T0 + 10 * TTL, 7, 1, &first);
    /* That replay does not refresh the session: it expires at the next
     * TICK. */
    th_tick(fx, T0 + 10 * TTL);
    assert_applied_again(fx, T0 + 10 * TTL, 7, 1);
}

static void test_fsm_session_activity_postpones_expiry(void **state)
{
    struct th_fsm *fx = *state;
    th_fsm_configure(fx, TTL, 0);
    take1(fx, T0, 7, 1);
    take1(fx, T0 + 600, 7, 2);
    struct saved second;
    save(fx, &second);
    th_tick(fx, T0 + TTL);
    assert_replayed(fx, T0 + TTL, 7, 2, &second);
    th_tick(fx, T0 + 600 + TTL);
    assert_applied_again(fx, T0 + 600 + TTL, 7, 2);
}

static void test_fsm_tick_expires_only_the_idle_sessions(void **state)
{
    struct th_fsm *fx = *state;
    th_fsm_configure(fx, TTL, 0);
    take1(fx, T0, 1, 1);
    struct saved s1;
    save(fx, &s1);
    take1(fx, T0 + 500, 2, 1);
    struct saved s2;
    save(fx, &s2);
    th_tick(fx, T0 + TTL);
    assert_replayed(fx, T0 + TTL, 2, 1, &s2);
    assert_applied_again(fx, T0 + TTL, 1, 1);
}

static void test_fsm_next_deadline_tracks_the_oldest_session(void **state)
{
    struct th_fsm *fx = *state;
    th_fsm_configure(fx, TTL, 0);
    assert_int_equal(fsm_next_deadline(fx->f), INT64_MAX);
    take1(fx, T0 + 100, 1, 1);
    assert_int_equal(fsm_next_deadline(fx->f), T0 + 100 + TTL);
    take1(fx, T0 + 300, 2, 1);
    assert_int_equal(fsm_next_deadline(fx->f), T0 + 100 + TTL);
    take1(fx, T0 + 400, 1, 2); /* session 1 is now the younger */
    assert_int_equal(fsm_next_deadline(fx->f), T0 + 300 + TTL);
    th_tick(fx, T0 + 300 + TTL);
    assert_int_equal(fsm_next_deadline(fx->f), T0 + 400 + TTL);
    th_tick(fx, T0 + 400 + TTL);
    assert_int_equal(fsm_next_deadline(fx->f), INT64_MAX);
    /* The deadline survives a restart. */
    take1(fx, T0 + 5000, 3, 1);
    th_fsm_reopen(fx);
    assert_int_equal(fsm_next_deadline(fx->f), T0 + 5000 + TTL);
}

static void test_fsm_default_ttl_is_the_documented_one(void **state)
{
    struct th_fsm *fx = *state;
    take1(fx, T0, 7, 1);
    assert_int_equal(fsm_next_deadline(fx->f), T0 + QM_SESSION_TTL_MS);
    th_tick(fx, T0 + QM_SESSION_TTL_MS - 1);
    assert_int_equal(take1(fx, T0 + QM_SESSION_TTL_MS - 1, 7, 1), QM_OK);
    assert_int_equal(tokens(fx), 1000000 - 1);
}

/* ---- Cases: the session cap ---- */

static void test_fsm_session_cap_evicts_the_idlest(void **state)
{
    struct th_fsm *fx = *state;
    th_fsm_configure(fx, 0, 3);
    take1(fx, T0 + 1, 1, 1);
    take1(fx, T0 + 2, 2, 1);
    take1(fx, T0 + 3, 3, 1);
    take1(fx, T0 + 4, 1, 2); /* session 2 is now the idlest */
    struct saved s1;
    save(fx, &s1);
    take1(fx, T0 + 5, 4, 1); /* a fourth session: 2 goes */
    struct saved s4;
    save(fx, &s4);
    assert_replayed(fx, T0 + 6, 1, 2, &s1);
    assert_replayed(fx, T0 + 6, 4, 1, &s4);
    assert_int_equal(take1(fx, T0 + 6, 3, 1), QM_OK);
    /* Session 2 was forgotten: its retry applies again (and, being a new
     * session, evicts the idlest of the others, session 3). */
    assert_applied_again(fx, T0 + 7, 2, 1);
    assert_applied_again(fx, T0 + 8, 3, 1);
}

static void test_fsm_session_cap_of_one_keeps_the_newest(void **state)
{
    struct th_fsm *fx = *state;
    th_fsm_configure(fx, 0, 1);
    take1(fx, T0, 1, 1);
    take1(fx, T0, 2, 1);
    struct saved s2;
    save(fx, &s2);
    assert_replayed(fx, T0, 2, 1, &s2);
    assert_applied_again(fx, T0, 1, 1);
    assert_int_equal(fsm_next_deadline(fx->f), T0 + QM_SESSION_TTL_MS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_fsm_session_retry_in_same_entry_gets_same_bytes_charged_once),
        T(test_fsm_session_retry_in_later_entry_gets_same_bytes),
        T(test_fsm_session_replay_answers_whatever_the_retried_command),
        T(test_fsm_session_replays_a_refusal_unchanged),
        T(test_fsm_session_older_seq_is_invalid_and_changes_nothing),
        T(test_fsm_session_sequences_may_skip_forward),
        T(test_fsm_sessions_are_independent),
        T(test_fsm_session_zero_means_no_deduplication),
        T(test_fsm_session_replay_survives_reopen),
        T(test_fsm_session_decode_failures_are_not_remembered),
        T(test_fsm_tick_after_ttl_expires_session_so_same_seq_applies_again),
        T(test_fsm_expiry_happens_only_on_tick),
        T(test_fsm_session_activity_postpones_expiry),
        T(test_fsm_tick_expires_only_the_idle_sessions),
        T(test_fsm_next_deadline_tracks_the_oldest_session),
        T(test_fsm_default_ttl_is_the_documented_one),
        T(test_fsm_session_cap_evicts_the_idlest),
        T(test_fsm_session_cap_of_one_keeps_the_newest),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
