/* Unit tests of agent credits in the state machine, through fsm_apply and
 * fsm_query: a grant takes a pool's tokens at once (all or nothing, or
 * down to a minimum), from the unreserved part only; a return gives back
 * what was not used, never above the capacity; a lease that ends counts
 * as used; the credit bound, exactly-once retries, the deadline the
 * leader ticks for, and a randomised check that no interleaving hands out
 * more than the pool ever held. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsm.h"
#include "qm_err.h"
#include "qm_limits.h"
#include "th_cmocka.h"
#include "th_fsm.h"
#include "th_host.h"
#include "th_ledger.h"
#include "th_log.h"
#include "th_msg.h"
#include "th_rng.h"

/* ---- Fixture ---- */

#define T0 1700000000000LL
#define U QM_MILLI
#define TTL QM_CREDIT_TTL_MS

/* Hosts h1 and h2. Pools: "s" 100 units without refill, "r" 100 units
 * refilling 10 a second, "rv" 100 units of which 60 are set aside for
 * client acme, "d" dedicated to acme. All created full at T0. */
struct fx
{
    struct th_fsm *f;
    struct tp_credit_page *page;
};

static int setup(void **state)
{
    th_log_capture();
    struct fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->page = malloc(sizeof(*fx->page));
    assert_non_null(fx->page);
    struct th_fsm *f = fx->f = th_fsm_new();
    assert_int_equal(th_host_add(f, T0, "h1"), QM_OK);
    assert_int_equal(th_host_add(f, T0, "h2"), QM_OK);
    assert_int_equal(th_pool_create(f, T0, 0, 0, "s", 100 * U, 0), QM_OK);
    assert_int_equal(th_pool_create(f, T0, 0, 0, "r", 100 * U, 10 * U), QM_OK);
    assert_int_equal(
        th_client_create(f, T0, "acme", TP_TIER_BASIC, TH_TIER_BUDGET), QM_OK);
    struct tp_pool_create a;
    th_pool_create_args(&a, "rv", 100 * U, 0, 0);
    a.kind = TP_KIND_RESERVED;
    th_share_client(&a, "acme", 60 * U);
    assert_int_equal(th_pool_create_as(f, T0, &a), QM_OK);
    th_pool_create_args(&a, "d", 10 * U, 0, 0);
    a.kind = TP_KIND_DEDICATED;
    snprintf(a.owner, sizeof(a.owner), "acme");
    assert_int_equal(th_pool_create_as(f, T0, &a), QM_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    th_fsm_free(fx->f);
    free(fx->page);
    free(fx);
    th_log_release();
    return 0;
}

/* ---- Helpers ---- */

static int64_t tokens(struct fx *fx, int64_t now, const char *pool)
{
    return th_pool_tokens(fx->f, now, pool);
}

static int take(struct fx *fx,
                int64_t t,
                const char *pool,
                int64_t amount,
                int64_t min,
                struct tp_credit *out)
{
    return th_credit_take(fx->f, t, "h1", pool, amount, min, 0, out);
}

static const char *credit_ids(struct fx *fx,
                              const char *host,
                              uint64_t after,
                              uint64_t limit)
{
    return th_credit_ids(fx->f, host, after, limit, fx->page);
}

static void make_grant(void *arg, int i, struct th_cmd *c)
{
    (void)i;
    const struct tp_credit_grant *g = arg;
    th_cmd_make(c, TP_OP_CREDIT_GRANT, 0, 0, &tp_credit_grant_schema, g);
}

/* ---- Assertions ---- */

static void assert_credit(const struct tp_credit *cr,
                          uint64_t id,
                          const char *pool,
                          int64_t amount,
                          int64_t expires)
{
    assert_int_equal(cr->id, id);
    assert_string_equal(cr->host, "h1");
    assert_string_equal(cr->pool, pool);
    assert_int_equal(cr->amount, amount);
    assert_int_equal(cr->expires_at_ms, expires);
    assert_int_equal(cr->retry_after_ms, 0);
}

/* DENIED with @retry in the result and in the body, and nothing changed
 * (the command is stamped with the current cluster time). */
static void assert_denied(struct fx *fx,
                          const char *pool,
                          int64_t amount,
                          int64_t min,
                          int64_t retry)
{
    char before[33];
    th_fsm_digest(fx->f, before);
    struct tp_credit cr;
    assert_int_equal(take(fx, fsm_clock(fx->f->f), pool, amount, min, &cr),
                     QM_DENIED);
    th_assert_message(fx->f, "too few tokens");
    assert_int_equal(th_last_retry_after(fx->f), retry);
    assert_int_equal(cr.retry_after_ms, retry);
    assert_int_equal(cr.id, 0);
    assert_int_equal(cr.amount, 0);
    th_assert_digest(fx->f, before);
}

static void assert_grant_refused(struct fx *fx,
                                 const char *host,
                                 const char *pool,
                                 int status,
                                 const char *what)
{
    char before[33];
    th_fsm_digest(fx->f, before);
    th_assert_refused(fx->f,
                      th_credit_take(fx->f, T0, host, pool, U, 0, 0, NULL),
                      status, what, before);
}

/* ---- Cases: grant ---- */

static void test_fsm_credit_grant_needs_a_host_and_a_shared_pool(void **s)
{
    struct fx *fx = *s;
    assert_grant_refused(fx, "h3", "s", QM_NOT_FOUND, "no host named 'h3'");
    assert_grant_refused(fx, "h1", "nope", QM_NOT_FOUND,
                         "no pool named 'nope'");
    assert_grant_refused(fx, "h1", "d", QM_INVALID,
                         "pool 'd' is dedicated to one client; credits come "
                         "from shared or reserved pools");
    assert_int_equal(th_host_delete(fx->f, T0, "h2"), QM_OK);
    assert_grant_refused(fx, "h2", "s", QM_NOT_FOUND, "no host named 'h2'");
}

static void test_fsm_credit_grant_takes_the_tokens_at_once(void **state)
{
    struct fx *fx = *state;
    struct tp_credit cr;
    assert_int_equal(
        th_credit_take(fx->f, T0 + 1, "h1", "s", 30 * U, 0, 0, &cr), QM_OK);
    assert_credit(&cr, 1, "s", 30 * U, T0 + 1 + TTL);
    assert_int_equal(tokens(fx, 0, "s"), 70 * U);
    assert_int_equal(
        th_credit_take(fx->f, T0 + 2, "h1", "s", 70 * U, 0, 5000, &cr), QM_OK);
    assert_credit(&cr, 2, "s", 70 * U, T0 + 2 + 5000);
    assert_int_equal(tokens(fx, 0, "s"), 0);
    assert_string_equal(credit_ids(fx, "", 0, 0), "1,2");
    assert_credit(&fx->page->credits[0], 1, "s", 30 * U, T0 + 1 + TTL);
}

static void test_fsm_credit_grant_is_all_or_nothing_without_min(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(take(fx, T0, "s", 80 * U, 0, NULL), QM_OK);
    /* No refill: never, so no retry time. */
    assert_denied(fx, "s", 30 * U, 0, 0);
    assert_int_equal(tokens(fx, 0, "s"), 20 * U);
    /* 10 units a second: 5 units in 500 ms. */
    assert_int_equal(th_acquire(fx->f, T0, 0, 0, "r", 100 * U, NULL), QM_OK);
    assert_denied(fx, "r", 5 * U, 0, 500);
    assert_int_equal(take(fx, T0 + 499, "r", 5 * U, 0, NULL), QM_DENIED);
    assert_int_equal(th_last_retry_after(fx->f), 1);
    struct tp_credit cr;
    assert_int_equal(take(fx, T0 + 500, "r", 5 * U, 0, &cr), QM_OK);
    assert_credit(&cr, 2, "r", 5 * U, T0 + 500 + TTL);
    assert_int_equal(tokens(fx, 0, "r"), 0);
    /* More than the pool ever holds is invalid, not worth a retry. */
    assert_int_equal(take(fx, T0 + 500, "s", 100 * U + 1, 0, NULL), QM_INVALID);
    th_assert_message(fx->f,
                      "pool 's' can give at most 100.000 units here; asked "
                      "for 100.001");
}

static void test_fsm_credit_grant_down_to_min(void **state)
{
    struct fx *fx = *state;
    struct tp_credit cr;
    assert_int_equal(take(fx, T0, "s", 80 * U, 0, NULL), QM_OK);
    assert_int_equal(take(fx, T0, "s", 30 * U, 10 * U, &cr), QM_OK);
    assert_credit(&cr, 2, "s", 20 * U, T0 + TTL);
    assert_int_equal(tokens(fx, 0, "s"), 0);
    assert_denied(fx, "s", 30 * U, 10 * U, 0);
    /* All there is when at least min: 2.5 units 250 ms after emptying. */
    assert_int_equal(th_acquire(fx->f, T0, 0, 0, "r", 100 * U, NULL), QM_OK);
    assert_int_equal(take(fx, T0 + 250, "r", 5 * U, 2 * U, &cr), QM_OK);
    assert_credit(&cr, 3, "r", 2500, T0 + 250 + TTL);
    assert_int_equal(tokens(fx, 0, "r"), 0);
    /* Short of min: the retry time is that of min, not of the amount. */
    assert_denied(fx, "r", 50 * U, U, 100);
    /* min == amount is all or nothing. */
    assert_int_equal(take(fx, T0 + 350, "r", U + 1, U + 1, NULL), QM_DENIED);
    assert_int_equal(tokens(fx, 0, "r"), U);
}

static void test_fsm_credit_takes_the_unreserved_part_only(void **state)
{
    struct fx *fx = *state;
    struct tp_credit cr;
    assert_int_equal(take(fx, T0, "rv", 45 * U, 0, NULL), QM_INVALID);
    th_assert_message(fx->f, "pool 'rv' can give at most 40.000 units here");
    assert_int_equal(take(fx, T0, "rv", 45 * U, 5 * U, &cr), QM_OK);
    assert_credit(&cr, 1, "rv", 40 * U, T0 + TTL);
    struct tp_pool_info info;
    assert_int_equal(th_pool_get(fx->f, 0, "rv", &info), QM_OK);
    assert_int_equal(info.tokens, 0);
    assert_int_equal(info.shares[0].tokens, 60 * U);
    assert_denied(fx, "rv", U, 0, 0);
    /* acme's share is still all there for acme. */
    assert_int_equal(th_acquire_for(fx->f, T0, "acme", "rv", 60 * U, NULL),
                     QM_OK);
    /* Given back, the credit's tokens go to the unreserved part. */
    assert_int_equal(th_credit_return(fx->f, T0, 1, 40 * U, NULL), QM_OK);
    assert_int_equal(th_pool_get(fx->f, 0, "rv", &info), QM_OK);
    assert_int_equal(info.tokens, 40 * U);
    assert_int_equal(info.shares[0].tokens, 0);
}

/* ---- Cases: return and expiry ---- */

static void test_fsm_credit_return_gives_back_the_unused_part(void **state)
{
    struct fx *fx = *state;
    int64_t back = -1;
    assert_int_equal(take(fx, T0, "s", 30 * U, 0, NULL), QM_OK);
    assert_int_equal(take(fx, T0, "s", 20 * U, 0, NULL), QM_OK);
    assert_int_equal(tokens(fx, 0, "s"), 50 * U);
    assert_int_equal(th_credit_return(fx->f, T0 + 1, 1, 10 * U, &back), QM_OK);
    assert_int_equal(back, 10 * U);
    assert_int_equal(tokens(fx, 0, "s"), 60 * U);
    assert_string_equal(credit_ids(fx, "", 0, 0), "2");
    /* Never more than the credit. */
    assert_int_equal(th_credit_return(fx->f, T0 + 1, 2, 50 * U, &back), QM_OK);
    assert_int_equal(back, 20 * U);
    assert_int_equal(tokens(fx, 0, "s"), 80 * U);
    assert_string_equal(credit_ids(fx, "", 0, 0), "");
    /* Once only. */
    char before[33];
    th_fsm_digest(fx->f, before);
    assert_int_equal(th_credit_return(fx->f, T0 + 1, 2, U, &back),
                     QM_NOT_FOUND);
    th_assert_message(fx->f,
                      "no credit 2 (given back already, or its lease ended "
                      "and its tokens counted as used)");
    th_assert_digest(fx->f, before);
    assert_int_equal(th_credit_return(fx->f, T0 + 1, 99, 0, NULL),
                     QM_NOT_FOUND);
}

static void test_fsm_credit_return_never_fills_past_capacity(void **state)
{
    struct fx *fx = *state;
    int64_t back;
    assert_int_equal(take(fx, T0, "r", 50 * U, 0, NULL), QM_OK);
    /* 5 s later the pool has refilled to its capacity. */
    assert_int_equal(tokens(fx, T0 + 5000, "r"), 100 * U);
    assert_int_equal(th_credit_return(fx->f, T0 + 5000, 1, 50 * U, &back),
                     QM_OK);
    assert_int_equal(back, 50 * U); /* what the credit gave back */
    assert_int_equal(tokens(fx, 0, "r"), 100 * U);
    /* Partly full: filled up to the capacity, the rest dropped. */
    assert_int_equal(take(fx, T0 + 5000, "r", 30 * U, 0, NULL), QM_OK);
    assert_int_equal(th_acquire(fx->f, T0 + 5000, 0, 0, "r", 10 * U, NULL),
                     QM_OK);
    assert_int_equal(th_credit_return(fx->f, T0 + 5000, 2, 25 * U, &back),
                     QM_OK);
    assert_int_equal(back, 25 * U);
    assert_int_equal(tokens(fx, 0, "r"), 85 * U);
}

static void test_fsm_credit_lease_end_counts_as_used(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(fsm_next_deadline(fx->f->f), INT64_MAX);
    assert_int_equal(
        th_credit_take(fx->f, T0, "h1", "s", 30 * U, 0, 2000, NULL), QM_OK);
    assert_int_equal(
        th_credit_take(fx->f, T0, "h2", "s", 10 * U, 0, 1000, NULL), QM_OK);
    assert_int_equal(fsm_next_deadline(fx->f->f), T0 + 1000);
    assert_int_equal(th_tick(fx->f, T0 + 999), QM_OK);
    assert_string_equal(credit_ids(fx, "", 0, 0), "1,2");
    assert_int_equal(th_tick(fx->f, T0 + 1000), QM_OK);
    assert_string_equal(credit_ids(fx, "", 0, 0), "1");
    assert_int_equal(tokens(fx, 0, "s"), 60 * U); /* nothing came back */
    assert_int_equal(fsm_next_deadline(fx->f->f), T0 + 2000);
    assert_int_equal(th_credit_return(fx->f, T0 + 1000, 2, 10 * U, NULL),
                     QM_NOT_FOUND);
    th_assert_message(fx->f, "its lease ended and its tokens counted as used");
    /* Given back before its end, a credit leaves no deadline behind. */
    assert_int_equal(th_credit_return(fx->f, T0 + 1500, 1, 0, NULL), QM_OK);
    assert_int_equal(fsm_next_deadline(fx->f->f), INT64_MAX);
    assert_int_equal(th_tick(fx->f, T0 + 3000), QM_OK);
    assert_int_equal(tokens(fx, 0, "s"), 60 * U);
}

static void test_fsm_credit_deadline_is_the_earliest_of_all(void **state)
{
    struct fx *fx = *state;
    /* A reservation ends at T0 + 60 s (its default lease). */
    assert_int_equal(th_reserve1(fx->f, T0, "acme", "s", U, NULL), QM_OK);
    assert_int_equal(fsm_next_deadline(fx->f->f), T0 + QM_RES_TTL_MS);
    assert_int_equal(th_credit_take(fx->f, T0, "h1", "s", U, 0, 70000, NULL),
                     QM_OK);
    assert_int_equal(fsm_next_deadline(fx->f->f), T0 + QM_RES_TTL_MS);
    assert_int_equal(th_credit_take(fx->f, T0, "h1", "s", U, 0, 100, NULL),
                     QM_OK);
    assert_int_equal(fsm_next_deadline(fx->f->f), T0 + 100);
}

static void test_fsm_credit_return_after_its_pool_was_deleted(void **state)
{
    struct fx *fx = *state;
    int64_t back;
    assert_int_equal(take(fx, T0, "s", 30 * U, 0, NULL), QM_OK);
    assert_int_equal(th_pool_delete(fx->f, T0, 0, 0, "s"), QM_OK);
    assert_int_equal(th_credit_return(fx->f, T0 + 1, 1, 10 * U, &back), QM_OK);
    assert_int_equal(back, 10 * U);
    assert_string_equal(credit_ids(fx, "", 0, 0), "");
    assert_int_equal(fsm_next_deadline(fx->f->f), INT64_MAX);
}

/* ---- Cases: list, bound, sessions ---- */

static void test_fsm_credit_list_filters_by_host_and_pages(void **state)
{
    struct fx *fx = *state;
    static const char *const who[] = {"h1", "h2", "h1", "h2", "h1"};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(th_credit_take(fx->f, T0, who[i], "s", U, 0, 0, NULL),
                         QM_OK);
    }
    assert_string_equal(credit_ids(fx, "h1", 0, 2), "1,3+");
    assert_string_equal(credit_ids(fx, "h1", 3, 2), "5");
    assert_string_equal(credit_ids(fx, "h2", 0, 0), "2,4");
    assert_string_equal(credit_ids(fx, "", 1, 2), "2,3+");
    assert_string_equal(credit_ids(fx, "", 5, 0), "");
    assert_string_equal(credit_ids(fx, "", UINT64_MAX, 0), "");
    assert_string_equal(credit_ids(fx, "h3", 0, 0), "");
}

/* The full bound: 100,000 grants of one milli-unit in entries of 64; each
 * grant reads the host and the pool and writes the pool, the credit, its
 * expiry key and a counter: about a second under ASan in all. */
static void test_fsm_credit_holds_at_most_the_credit_bound(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(
        th_pool_create(fx->f, T0, 0, 0, "big", QM_CREDITS_MAX + 5, 0), QM_OK);
    struct tp_credit_grant g;
    th_credit_args(&g, "h1", "big", 1, 0, QM_CREDIT_TTL_MAX_MS);
    th_apply_each(fx->f, T0, QM_CREDITS_MAX, make_grant, &g);
    char before[33];
    th_fsm_digest(fx->f, before);
    assert_int_equal(th_credit_grant(fx->f, T0, 0, 0, &g, NULL), QM_INVALID);
    th_assert_message(fx->f,
                      "100000 credits are outstanding, the most the "
                      "cluster allows");
    th_assert_digest(fx->f, before);
    assert_int_equal(tokens(fx, 0, "big"), 5);
    assert_int_equal(th_credit_return(fx->f, T0, 77, 1, NULL), QM_OK);
    struct tp_credit cr;
    assert_int_equal(th_credit_grant(fx->f, T0, 0, 0, &g, &cr), QM_OK);
    assert_int_equal(cr.id, QM_CREDITS_MAX + 1);
}

static void test_fsm_credit_retried_grant_is_answered_once(void **state)
{
    struct fx *fx = *state;
    struct tp_credit_grant g;
    th_credit_args(&g, "h1", "s", 30 * U, 0, 0);
    struct tp_credit first, again;
    assert_int_equal(th_credit_grant(fx->f, T0, 7, 1, &g, &first), QM_OK);
    assert_credit(&first, 1, "s", 30 * U, T0 + TTL);
    assert_int_equal(th_credit_grant(fx->f, T0 + 10, 7, 1, &g, &again), QM_OK);
    assert_memory_equal(&again, &first, sizeof(first));
    assert_int_equal(tokens(fx, 0, "s"), 70 * U);
    assert_string_equal(credit_ids(fx, "", 0, 0), "1");
    assert_int_equal(th_credit_grant(fx->f, T0 + 10, 7, 2, &g, &again), QM_OK);
    assert_credit(&again, 2, "s", 30 * U, T0 + 10 + TTL);
    assert_int_equal(tokens(fx, 0, "s"), 40 * U);
}

/* A lease end is clamped to QM_TIME_MAX, as a reservation's is. Without
 * that, a grant near the time bound stored a credit whose record no longer
 * decoded (expires_at_ms is checked against QM_TIME_MAX): its reply body,
 * CREDIT_LIST, CREDIT_RETURN and the TICK that expires it failed, the last
 * two with QM_ECORRUPT, which stopped every replica. */
static void test_fsm_credit_lease_end_is_clamped_to_the_time_bound(void **state)
{
    struct fx *fx = *state;
    int64_t t = QM_TIME_MAX - 1000;
    struct tp_credit cr;
    assert_int_equal(take(fx, t, "s", U, 0, &cr), QM_OK);
    assert_int_equal(cr.expires_at_ms, QM_TIME_MAX);
    assert_string_equal(credit_ids(fx, "", 0, 0), "1");
    assert_int_equal(th_credit_return(fx->f, t, 1, U, NULL), QM_OK);
    assert_int_equal(take(fx, t, "s", U, 0, &cr), QM_OK);
    assert_int_equal(th_tick(fx->f, QM_TIME_MAX), QM_OK);
    assert_string_equal(credit_ids(fx, "", 0, 0), "");
}

/* ---- Cases: random interleavings ---- */

/* The model of the property case: outstanding credits as granted, and
 * what left the pool for good (grants and acquisitions, less what
 * returns actually put back). */
#define MODEL_MAX 512
struct model
{
    uint64_t ids[MODEL_MAX];
    int64_t amounts[MODEL_MAX];
    int64_t expires[MODEL_MAX];
    int n;
    uint64_t next_id;
    int64_t consumed;
};

#define PCAP (100 * U)
#define PREFILL (7 * U) /* milli-units a second */

static void model_drop(struct model *m, int i)
{
    m->n--;
    m->ids[i] = m->ids[m->n];
    m->amounts[i] = m->amounts[m->n];
    m->expires[i] = m->expires[m->n];
}

static void step_grant(struct fx *fx,
                       struct model *m,
                       struct th_rng *r,
                       int64_t t,
                       int64_t tok)
{
    int64_t amount = 1 + (int64_t)th_rng_below(r, 40 * U);
    int64_t min =
        th_rng_below(r, 2) ? 0 : 1 + (int64_t)th_rng_below(r, (uint64_t)amount);
    int64_t ttl = 100 + (int64_t)th_rng_below(r, 3000);
    struct tp_credit cr;
    int st = th_credit_take(fx->f, t, th_rng_below(r, 2) ? "h1" : "h2", "pr",
                            amount, min, ttl, &cr);
    int64_t want = tok >= amount ? amount : (min > 0 && tok >= min ? tok : 0);
    if (want == 0) {
        assert_int_equal(st, QM_DENIED);
        /* The retry time is exact: the tokens are there then, not before. */
        int64_t need = min > 0 ? min : amount;
        assert_true(cr.retry_after_ms > 0);
        assert_true(tokens(fx, t + cr.retry_after_ms, "pr") >= need);
        assert_true(tokens(fx, t + cr.retry_after_ms - 1, "pr") < need);
        return;
    }
    assert_int_equal(st, QM_OK);
    assert_int_equal(cr.id, ++m->next_id);
    assert_int_equal(cr.amount, want);
    assert_int_equal(cr.expires_at_ms, t + ttl);
    assert_true(m->n < MODEL_MAX);
    m->ids[m->n] = cr.id;
    m->amounts[m->n] = want;
    m->expires[m->n++] = t + ttl;
    m->consumed += want;
    assert_int_equal(tokens(fx, t, "pr"), tok - want);
}

static void step_return(struct fx *fx,
                        struct model *m,
                        struct th_rng *r,
                        int64_t t,
                        int64_t tok)
{
    int64_t back;
    if (m->n == 0 || th_rng_below(r, 5) == 0) {
        uint64_t gone = m->next_id + 1 + th_rng_below(r, 3);
        assert_int_equal(th_credit_return(fx->f, t, gone, U, &back),
                         QM_NOT_FOUND);
        return;
    }
    int i = (int)th_rng_below(r, (uint64_t)m->n);
    int64_t unused =
        (int64_t)th_rng_below(r, (uint64_t)m->amounts[i] * 3 / 2 + 1);
    assert_int_equal(th_credit_return(fx->f, t, m->ids[i], unused, &back),
                     QM_OK);
    int64_t want = unused < m->amounts[i] ? unused : m->amounts[i];
    assert_int_equal(back, want);
    int64_t after = tokens(fx, t, "pr");
    assert_int_equal(after, tok + want < PCAP ? tok + want : PCAP);
    m->consumed -= after - tok;
    model_drop(m, i);
}

static void step_tick(struct fx *fx, struct model *m, int64_t t, int64_t tok)
{
    assert_int_equal(th_tick(fx->f, t), QM_OK);
    for (int i = m->n - 1; i >= 0; i--) {
        if (m->expires[i] <= t) {
            model_drop(m, i);
        }
    }
    assert_int_equal(tokens(fx, t, "pr"), tok);
}

static void step_acquire(struct fx *fx,
                         struct model *m,
                         struct th_rng *r,
                         int64_t t,
                         int64_t tok)
{
    int64_t amount = 1 + (int64_t)th_rng_below(r, 30 * U);
    int st = th_acquire(fx->f, t, 0, 0, "pr", amount, NULL);
    assert_int_equal(st, tok >= amount ? QM_OK : QM_DENIED);
    if (st == QM_OK) {
        m->consumed += amount;
    }
    assert_int_equal(tokens(fx, t, "pr"), st == QM_OK ? tok - amount : tok);
}

/* The credits the state machine lists are the model's, and the deadline
 * is the earliest of their lease ends. */
static void assert_model(struct fx *fx, const struct model *m)
{
    int64_t first = INT64_MAX;
    uint32_t seen = 0;
    uint64_t after = 0;
    do {
        assert_int_equal(th_credit_list(fx->f, "", after, 0, fx->page), QM_OK);
        for (uint32_t k = 0; k < fx->page->ncredits; k++, seen++) {
            const struct tp_credit *cr = &fx->page->credits[k];
            int i = 0;
            while (i < m->n && m->ids[i] != cr->id) {
                i++;
            }
            assert_true(i < m->n);
            assert_int_equal(cr->amount, m->amounts[i]);
            assert_int_equal(cr->expires_at_ms, m->expires[i]);
            first = cr->expires_at_ms < first ? cr->expires_at_ms : first;
            after = cr->id;
        }
    } while (fx->page->more);
    assert_int_equal(seen, (uint32_t)m->n);
    assert_int_equal(fsm_next_deadline(fx->f->f), first);
}

static void test_fsm_credit_never_hands_out_more_than_the_pool_held(void **s)
{
    struct fx *fx = *s;
    struct model m;
    memset(&m, 0, sizeof(m));
    struct th_rng r;
    th_rng_seed(&r, 0xc4ed17);
    assert_int_equal(th_pool_create(fx->f, T0, 0, 0, "pr", PCAP, PREFILL),
                     QM_OK);
    int64_t t = T0;
    for (int n = 0; n < 3000; n++) {
        /* Now and then a long pause fills the pool: returns then drop
         * what the capacity has no room for. */
        t += (int64_t)th_rng_below(&r, th_rng_below(&r, 20) ? 300 : 20000);
        int64_t tok = tokens(fx, t, "pr");
        uint64_t op = th_rng_below(&r, 10);
        if (op < 4) {
            step_grant(fx, &m, &r, t, tok);
        } else if (op < 7) {
            step_return(fx, &m, &r, t, tok);
        } else if (op < 8) {
            step_tick(fx, &m, t, tok);
        } else {
            step_acquire(fx, &m, &r, t, tok);
        }
        int64_t now = tokens(fx, t, "pr");
        int64_t held_ever = PCAP + PREFILL * (t - T0) / 1000;
        int64_t out = 0;
        for (int i = 0; i < m.n; i++) {
            out += m.amounts[i];
        }
        assert_true(now >= 0 && now <= PCAP);
        assert_true(out + now <= held_ever);
        assert_true(m.consumed + now <= held_ever);
        if (n % 50 == 0) {
            assert_model(fx, &m);
        }
    }
    assert_model(fx, &m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_fsm_credit_grant_needs_a_host_and_a_shared_pool),
        T(test_fsm_credit_grant_takes_the_tokens_at_once),
        T(test_fsm_credit_grant_is_all_or_nothing_without_min),
        T(test_fsm_credit_grant_down_to_min),
        T(test_fsm_credit_takes_the_unreserved_part_only),
        T(test_fsm_credit_return_gives_back_the_unused_part),
        T(test_fsm_credit_return_never_fills_past_capacity),
        T(test_fsm_credit_lease_end_counts_as_used),
        T(test_fsm_credit_deadline_is_the_earliest_of_all),
        T(test_fsm_credit_return_after_its_pool_was_deleted),
        T(test_fsm_credit_list_filters_by_host_and_pages),
        T(test_fsm_credit_holds_at_most_the_credit_bound),
        T(test_fsm_credit_retried_grant_is_answered_once),
        T(test_fsm_credit_never_hands_out_more_than_the_pool_held),
        T(test_fsm_credit_lease_end_is_clamped_to_the_time_bound),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
