/* Unit tests of pools through fsm_apply and fsm_query: create, get, list,
 * delete, acquire, refill over cluster time, and refusals. Driven only with
 * encoded entries, as raft drives it. */
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

/* In th_fsm.h: th_pool_create, th_acquire, th_pool_get, th_pool_list. */

/* ---- Assertions ---- */

/* In th_fsm.h: th_assert_digest, th_assert_message, th_assert_statuses. */

/* ---- Cases: pools ---- */

static void test_fsm_pool_create_then_get_returns_the_pool(void **state)
{
    struct th_fsm *fx = *state;
    struct tp_pool_create a;
    th_pool_create_args(&a, "gpu.a", 5000, 250, 7);
    assert_int_equal(th_fsm_do(fx, T0, TP_OP_POOL_CREATE, 1, 1,
                               &tp_pool_create_schema, &a, NULL, NULL),
                     QM_OK);
    struct tp_pool_info info;
    assert_int_equal(th_pool_get(fx, T0, "gpu.a", &info), QM_OK);
    assert_string_equal(info.name, "gpu.a");
    assert_int_equal(info.capacity, 5000);
    assert_int_equal(info.refill, 250);
    assert_int_equal(info.price, 7);
    assert_int_equal(info.kind, TP_KIND_SHARED);
    assert_string_equal(info.owner, "");
    assert_int_equal(info.nshares, 0);
    assert_int_equal(info.tokens, 5000);
    assert_int_equal(info.created_ms, T0);
    assert_int_equal(fsm_applied_index(fx->f), 2);
    assert_int_equal(fsm_clock(fx->f), T0);
}

static void test_fsm_pool_create_result_carries_the_index(void **state)
{
    struct th_fsm *fx = *state;
    th_pool_create(fx, T0, 0, 0, "a", 10, 0);
    struct tp_result r;
    struct qm_span raw = {fx->last, fx->last_len};
    assert_int_equal(th_result_decode(raw, &r, NULL, NULL), QM_OK);
    assert_int_equal(r.index, 2);
    assert_int_equal(r.body.n, 0);
}

static void test_fsm_pool_create_twice_is_exists(void **state)
{
    struct th_fsm *fx = *state;
    assert_int_equal(th_pool_create(fx, T0, 1, 1, "p", 100, 0), QM_OK);
    th_acquire(fx, T0, 1, 2, "p", 40, NULL);
    assert_int_equal(th_pool_create(fx, T0, 1, 3, "p", 999, 5), QM_EXISTS);
    th_assert_message(fx, "'p' already exists");
    struct tp_pool_info info;
    assert_int_equal(th_pool_get(fx, T0, "p", &info), QM_OK);
    assert_int_equal(info.capacity, 100);
    assert_int_equal(info.tokens, 60);
}

static void test_fsm_pool_get_unknown_is_not_found(void **state)
{
    struct th_fsm *fx = *state;
    struct tp_pool_info info;
    assert_int_equal(th_pool_get(fx, T0, "nope", &info), QM_NOT_FOUND);
    th_assert_message(fx, "no pool named 'nope'");
}

static void test_fsm_pool_list_pages_in_name_order(void **state)
{
    struct th_fsm *fx = *state;
    /* 25 pools created in a scrambled order. */
    char names[25][8];
    for (int i = 0; i < 25; i++) {
        int k = (i * 7) % 25;
        snprintf(names[k], sizeof(names[k]), "p%02d", k);
        assert_int_equal(
            th_pool_create(fx, T0 + i, 0, 0, names[k], 1000 + k, 0), QM_OK);
    }
    struct tp_pool_page *page = malloc(sizeof(*page));
    assert_non_null(page);
    char after[16] = "";
    int seen = 0;
    for (int p = 0; p < 3; p++) {
        assert_int_equal(th_pool_list(fx, after, 10, page), QM_OK);
        uint32_t want = p < 2 ? 10 : 5;
        assert_int_equal(page->npools, want);
        assert_true(page->more == (p < 2));
        for (uint32_t i = 0; i < page->npools; i++) {
            char n[8];
            snprintf(n, sizeof(n), "p%02d", seen);
            assert_string_equal(page->pools[i].name, n);
            assert_int_equal(page->pools[i].capacity, 1000 + seen);
            seen++;
        }
        snprintf(after, sizeof(after), "%s",
                 page->pools[page->npools - 1].name);
    }
    assert_int_equal(seen, 25);
    /* limit 0 means a full page; after a name that does not exist starts
     * at the next one. */
    assert_int_equal(th_pool_list(fx, "", 0, page), QM_OK);
    assert_int_equal(page->npools, 25);
    assert_false(page->more);
    assert_int_equal(th_pool_list(fx, "p10x", 3, page), QM_OK);
    assert_int_equal(page->npools, 3);
    assert_string_equal(page->pools[0].name, "p11");
    assert_true(page->more);
    assert_int_equal(th_pool_list(fx, "p24", 10, page), QM_OK);
    assert_int_equal(page->npools, 0);
    assert_false(page->more);
    free(page);
}

static void test_fsm_pool_list_exact_page_has_no_more(void **state)
{
    struct th_fsm *fx = *state;
    struct tp_pool_page *page = malloc(sizeof(*page));
    assert_non_null(page);
    assert_int_equal(th_pool_list(fx, "", 0, page), QM_OK);
    assert_int_equal(page->npools, 0);
    assert_false(page->more);
    th_pool_create(fx, T0, 0, 0, "a", 1, 0);
    th_pool_create(fx, T0, 0, 0, "b", 1, 0);
    assert_int_equal(th_pool_list(fx, "", 2, page), QM_OK);
    assert_int_equal(page->npools, 2);
    assert_false(page->more);
    assert_int_equal(th_pool_list(fx, "", 1, page), QM_OK);
    assert_true(page->more);
    free(page);
}

static void test_fsm_pool_list_of_a_full_page_fits_a_result(void **state)
{
    struct th_fsm *fx = *state;
    /* QM_PAGE_MAX pools with the longest names still make one result. */
    for (int i = 0; i < QM_PAGE_MAX + 1; i++) {
        char name[QM_NAME_MAX + 1];
        memset(name, 'n', QM_NAME_MAX);
        snprintf(name + QM_NAME_MAX - 4, 5, "%04d", i);
        assert_int_equal(
            th_pool_create(fx, T0, 0, 0, name, QM_TOKENS_MAX, QM_REFILL_MAX),
            QM_OK);
    }
    struct tp_pool_page *page = malloc(sizeof(*page));
    assert_non_null(page);
    assert_int_equal(th_pool_list(fx, "", QM_PAGE_MAX, page), QM_OK);
    assert_int_equal(page->npools, QM_PAGE_MAX);
    assert_true(page->more);
    assert_int_equal(page->pools[QM_PAGE_MAX - 1].tokens, QM_TOKENS_MAX);
    free(page);
}

static void test_fsm_pool_delete_removes_and_unknown_is_not_found(void **state)
{
    struct th_fsm *fx = *state;
    th_pool_create(fx, T0, 0, 0, "p", 100, 0);
    assert_int_equal(th_pool_delete(fx, T0, 1, 1, "p"), QM_OK);
    struct tp_pool_info info;
    assert_int_equal(th_pool_get(fx, T0, "p", &info), QM_NOT_FOUND);
    assert_int_equal(th_pool_delete(fx, T0, 1, 2, "p"), QM_NOT_FOUND);
    th_assert_message(fx, "no pool named 'p'");
    /* The name is free again. */
    assert_int_equal(th_pool_create(fx, T0, 1, 3, "p", 7, 0), QM_OK);
    assert_int_equal(th_pool_tokens(fx, T0, "p"), 7);
}

/* ---- Cases: acquire and cluster time ---- */

static void test_fsm_acquire_grants_and_decreases_tokens(void **state)
{
    struct th_fsm *fx = *state;
    th_pool_create(fx, T0, 0, 0, "p", 1000, 0);
    struct tp_acquire_result ar;
    assert_int_equal(th_acquire(fx, T0, 1, 1, "p", 300, &ar), QM_OK);
    assert_true(ar.granted);
    assert_int_equal(ar.tokens, 700);
    assert_int_equal(ar.retry_after_ms, 0);
    assert_int_equal(th_acquire(fx, T0, 1, 2, "p", 700, &ar), QM_OK);
    assert_true(ar.granted);
    assert_int_equal(ar.tokens, 0);
    assert_int_equal(th_pool_tokens(fx, T0, "p"), 0);
}

static void test_fsm_acquire_denied_reports_retry_after_from_refill(
    void **state)
{
    struct th_fsm *fx = *state;
    th_pool_create(fx, T0, 0, 0, "p", 10000, 1000); /* 1 unit/s */
    struct tp_acquire_result ar;
    assert_int_equal(th_acquire(fx, T0, 1, 1, "p", 10000, &ar), QM_OK);
    assert_int_equal(th_acquire(fx, T0, 1, 2, "p", 2500, &ar), QM_DENIED);
    assert_false(ar.granted);
    assert_int_equal(ar.tokens, 0);
    assert_int_equal(ar.retry_after_ms, 2500);
    struct tp_result r;
    struct qm_span raw = {fx->last, fx->last_len};
    th_result_decode(raw, &r, NULL, NULL);
    assert_int_equal(r.retry_after_ms, 2500);
    assert_non_null(strstr(r.message, "too few tokens"));

    assert_int_equal(th_acquire(fx, T0 + 2499, 1, 3, "p", 2500, &ar),
                     QM_DENIED);
    assert_int_equal(ar.tokens, 2499);
    assert_int_equal(ar.retry_after_ms, 1);
    assert_int_equal(th_acquire(fx, T0 + 2500, 1, 4, "p", 2500, &ar), QM_OK);
    assert_true(ar.granted);
    assert_int_equal(ar.tokens, 0);
}

static void test_fsm_acquire_denied_without_refill_has_no_retry_after(
    void **state)
{
    struct th_fsm *fx = *state;
    th_pool_create(fx, T0, 0, 0, "p", 100, 0);
    struct tp_acquire_result ar;
    th_acquire(fx, T0, 1, 1, "p", 60, &ar);
    assert_int_equal(th_acquire(fx, T0 + 1000000, 1, 2, "p", 60, &ar),
                     QM_DENIED);
    assert_int_equal(ar.tokens, 40);
    assert_int_equal(ar.retry_after_ms, 0);
    th_assert_message(fx, "no refill");
}

static void test_fsm_acquire_more_than_capacity_is_invalid(void **state)
{
    struct th_fsm *fx = *state;
    th_pool_create(fx, T0, 0, 0, "p", 1500, 1000);
    assert_int_equal(th_acquire(fx, T0, 1, 1, "p", 1501, NULL), QM_INVALID);
    th_assert_message(fx, "at most 1.500 units here; asked for 1.501");
    assert_int_equal(th_pool_tokens(fx, T0, "p"), 1500);
    assert_int_equal(th_acquire(fx, T0, 1, 2, "p", 1500, NULL), QM_OK);
}

static void test_fsm_acquire_unknown_pool_is_not_found(void **state)
{
    struct th_fsm *fx = *state;
    assert_int_equal(th_acquire(fx, T0, 1, 1, "ghost", 1, NULL), QM_NOT_FOUND);
    th_assert_message(fx, "ghost");
}

static void test_fsm_refill_follows_entry_time_stamps(void **state)
{
    struct th_fsm *fx = *state;
    th_pool_create(fx, T0, 0, 0, "p", 1000000, 1000); /* 1 milli-unit/ms */
    th_acquire(fx, T0, 1, 1, "p", 1000000, NULL);
    /* Reads show tokens as of their own time, or the cluster clock when
     * that is later; they change nothing. */
    assert_int_equal(th_pool_tokens(fx, T0 + 750, "p"), 750);
    assert_int_equal(th_pool_tokens(fx, 0, "p"), 0);
    /* Entries move cluster time; acquire sees the refill of that time. */
    struct tp_acquire_result ar;
    assert_int_equal(th_acquire(fx, T0 + 400, 1, 2, "p", 100, &ar), QM_OK);
    assert_int_equal(ar.tokens, 300);
    assert_int_equal(fsm_clock(fx->f), T0 + 400);
    assert_int_equal(th_pool_tokens(fx, 0, "p"), 300);
    /* A TICK advances time for everybody. */
    th_tick(fx, T0 + 1400);
    assert_int_equal(th_pool_tokens(fx, 0, "p"), 1300);
}

static void test_fsm_clock_never_goes_backwards(void **state)
{
    struct th_fsm *fx = *state;
    th_pool_create(fx, T0 + 10000, 0, 0, "p", 100000, 1000);
    th_acquire(fx, T0 + 10000, 1, 1, "p", 100000, NULL);
    /* An older stamp runs at the previous clock. */
    struct tp_acquire_result ar;
    assert_int_equal(th_acquire(fx, T0 + 5000, 1, 2, "p", 1, &ar), QM_DENIED);
    assert_int_equal(ar.retry_after_ms, 1);
    assert_int_equal(fsm_clock(fx->f), T0 + 10000);
    th_tick(fx, 0);
    assert_int_equal(fsm_clock(fx->f), T0 + 10000);
    /* Refill is counted from the clock, not from the older stamp. */
    th_tick(fx, T0 + 10500);
    assert_int_equal(fsm_clock(fx->f), T0 + 10500);
    assert_int_equal(th_pool_tokens(fx, 0, "p"), 500);
}

static void test_fsm_clock_is_capped_at_time_max(void **state)
{
    struct th_fsm *fx = *state;
    th_tick(fx, INT64_MAX);
    assert_int_equal(fsm_clock(fx->f), QM_TIME_MAX);
    th_pool_create(fx, INT64_MAX, 0, 0, "p", 10, 1);
    struct tp_pool_info info;
    assert_int_equal(th_pool_get(fx, INT64_MAX, "p", &info), QM_OK);
    assert_int_equal(info.created_ms, QM_TIME_MAX);
}

/* ---- Cases: limits and refusals ---- */

static void test_fsm_bounds_themselves_are_accepted(void **state)
{
    struct th_fsm *fx = *state;
    char name[QM_NAME_MAX + 1];
    memset(name, 'n', QM_NAME_MAX);
    name[QM_NAME_MAX] = '\0';
    struct tp_pool_create pc;
    th_pool_create_args(&pc, name, QM_TOKENS_MAX, QM_REFILL_MAX, QM_PRICE_MAX);
    assert_int_equal(th_fsm_do(fx, T0, TP_OP_POOL_CREATE, 1, 1,
                               &tp_pool_create_schema, &pc, NULL, NULL),
                     QM_OK);
    th_pool_create_args(&pc, "a", 1, 0, 0);
    assert_int_equal(th_fsm_do(fx, T0, TP_OP_POOL_CREATE, 1, 2,
                               &tp_pool_create_schema, &pc, NULL, NULL),
                     QM_OK);
    struct tp_acquire_result ar;
    assert_int_equal(th_acquire(fx, T0, 1, 3, name, QM_TOKENS_MAX, &ar), QM_OK);
    assert_int_equal(ar.tokens, 0);
    assert_int_equal(th_pool_tokens(fx, T0 + 1000, name), QM_REFILL_MAX);
    assert_int_equal(th_acquire(fx, T0, 1, 4, "a", 1, &ar), QM_OK);
    assert_int_equal(
        th_member_set(fx, T0, QM_NODE_ID_MAX, "a:1", "tcp://a:2", 0), QM_OK);
}

/* Refusals decided by a handler write nothing either (sessionless here:
 * a session would store the refusal for exactly-once, by design). */
static void test_fsm_refusals_by_handlers_change_nothing(void **state)
{
    struct th_fsm *fx = *state;
    th_pool_create(fx, T0, 0, 0, "p", 100, 0);
    th_acquire(fx, T0, 0, 0, "p", 100, NULL);
    char before[33];
    th_fsm_digest(fx, before);
    assert_int_equal(th_pool_create(fx, T0, 0, 0, "p", 5, 0), QM_EXISTS);
    assert_int_equal(th_pool_delete(fx, T0, 0, 0, "q"), QM_NOT_FOUND);
    assert_int_equal(th_acquire(fx, T0, 0, 0, "q", 1, NULL), QM_NOT_FOUND);
    assert_int_equal(th_acquire(fx, T0, 0, 0, "p", 101, NULL), QM_INVALID);
    assert_int_equal(th_acquire(fx, T0, 0, 0, "p", 1, NULL), QM_DENIED);
    assert_int_equal(th_member_del(fx, T0, 5), QM_NOT_FOUND);
    th_assert_digest(fx, before);
}

/* ---- Cases: reads ---- */

static void test_fsm_query_of_a_non_read_op_is_invalid(void **state)
{
    struct th_fsm *fx = *state;
    struct tp_pool_name pn = {"p"};
    assert_int_equal(th_fsm_query(fx, 0, TP_OP_POOL_DELETE,
                                  &tp_pool_name_schema, &pn, NULL, NULL),
                     QM_INVALID);
    th_assert_message(fx, "not a read");
    assert_int_equal(
        th_fsm_query(fx, 0, TP_OP_NODE_INFO, NULL, NULL, NULL, NULL),
        QM_INVALID);
}

static void test_fsm_query_sees_unflushed_changes(void **state)
{
    struct th_fsm *fx = *state;
    th_pool_create(fx, T0, 0, 0, "p", 100, 0);
    /* No flush: the read uses the group transaction. */
    assert_int_equal(th_pool_tokens(fx, 0, "p"), 100);
    struct tp_result r;
    struct qm_span raw = {fx->last, fx->last_len};
    th_result_decode(raw, &r, NULL, NULL);
    assert_int_equal(r.index, 2); /* reads carry the applied index */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_fsm_pool_create_then_get_returns_the_pool),
        T(test_fsm_pool_create_result_carries_the_index),
        T(test_fsm_pool_create_twice_is_exists),
        T(test_fsm_pool_get_unknown_is_not_found),
        T(test_fsm_pool_list_pages_in_name_order),
        T(test_fsm_pool_list_exact_page_has_no_more),
        T(test_fsm_pool_list_of_a_full_page_fits_a_result),
        T(test_fsm_pool_delete_removes_and_unknown_is_not_found),
        T(test_fsm_acquire_grants_and_decreases_tokens),
        T(test_fsm_acquire_denied_reports_retry_after_from_refill),
        T(test_fsm_acquire_denied_without_refill_has_no_retry_after),
        T(test_fsm_acquire_more_than_capacity_is_invalid),
        T(test_fsm_acquire_unknown_pool_is_not_found),
        T(test_fsm_refill_follows_entry_time_stamps),
        T(test_fsm_clock_never_goes_backwards),
        T(test_fsm_clock_is_capped_at_time_max),
        T(test_fsm_bounds_themselves_are_accepted),
        T(test_fsm_refusals_by_handlers_change_nothing),
        T(test_fsm_query_of_a_non_read_op_is_invalid),
        T(test_fsm_query_sees_unflushed_changes),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
