/* Unit tests of clients and tiers through fsm_apply and fsm_query: client
 * create, set (tier, own budget, back to the tier's), get and list; tier
 * parameters with the defaults of seed 004, changed by an admin as
 * replicated state; and the budget that applies to a client. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsm.h"
#include "qm_err.h"
#include "qm_limits.h"
#include "th_cmocka.h"
#include "th_fsm.h"
#include "th_ledger.h"
#include "th_log.h"
#include "th_msg.h"

/* ---- Fixture ---- */

#define T0 1700000000000LL /* 2023-11-14T22:13:20Z */

static int setup(void **state)
{
    th_log_capture();
    *state = th_fsm_new();
    return 0;
}

static int teardown(void **state)
{
    th_fsm_free(*state);
    th_log_release();
    return 0;
}

/* ---- Helpers ---- */

static void tier_set_args(struct tp_tier_set *ts, uint64_t tier, uint64_t set)
{
    memset(ts, 0, sizeof(*ts));
    ts->tier = tier;
    ts->set = set;
}

/* ---- Assertions ---- */

static void assert_tier(const struct tp_tier_info *t,
                        uint64_t tier,
                        int64_t priority,
                        int64_t max_concurrent,
                        int64_t budget,
                        bool custom)
{
    assert_int_equal(t->tier, tier);
    assert_int_equal(t->priority, priority);
    assert_int_equal(t->max_concurrent, max_concurrent);
    assert_int_equal(t->budget, budget);
    assert_int_equal(t->custom, custom);
}

/* The budget that applies to @id: unlimited, or @budget (own or not). */
static void assert_budget(struct th_fsm *fx,
                          const char *id,
                          bool unlimited,
                          bool own,
                          int64_t budget)
{
    struct tp_client_info ci;
    assert_int_equal(th_client_get(fx, 0, id, &ci), QM_OK);
    assert_int_equal(ci.unlimited, unlimited);
    assert_int_equal(ci.own_budget, own);
    assert_int_equal(ci.budget, budget);
}

/* ---- Cases: clients ---- */

static void test_fsm_client_create_then_get_returns_the_client(void **state)
{
    struct th_fsm *fx = *state;
    assert_int_equal(
        th_client_create(fx, T0, "acme", TP_TIER_PREMIUM, TH_USD(2500)), QM_OK);
    struct tp_client_info ci;
    assert_int_equal(th_client_get(fx, T0 + 5, "acme", &ci), QM_OK);
    assert_string_equal(ci.id, "acme");
    assert_int_equal(ci.tier, TP_TIER_PREMIUM);
    assert_false(ci.unlimited);
    assert_true(ci.own_budget);
    assert_int_equal(ci.budget, TH_USD(2500));
    assert_int_equal(ci.spent, 0);
    assert_int_equal(ci.reserved, 0);
    assert_int_equal(ci.open, 0);
    assert_int_equal(ci.month, 202311);
    assert_int_equal(ci.created_ms, T0);
}

static void test_fsm_client_without_a_budget_has_its_tiers(void **state)
{
    struct th_fsm *fx = *state;
    th_client_create(fx, T0, "p", TP_TIER_PREMIUM, TH_TIER_BUDGET);
    th_client_create(fx, T0, "s", TP_TIER_STANDARD, TH_TIER_BUDGET);
    th_client_create(fx, T0, "b", TP_TIER_BASIC, TH_TIER_BUDGET);
    th_client_create(fx, T0, "e", TP_TIER_ENTERPRISE, TH_TIER_BUDGET);
    th_client_create(fx, T0, "e2", TP_TIER_ENTERPRISE, TH_USD(50000));
    assert_budget(fx, "p", false, false, TH_USD(1000));
    assert_budget(fx, "s", false, false, TH_USD(500));
    assert_budget(fx, "b", false, false, TH_USD(100));
    /* Enterprise budgets are custom: none unless the client has one. */
    assert_budget(fx, "e", true, false, 0);
    assert_budget(fx, "e2", false, true, TH_USD(50000));
}

static void test_fsm_client_create_twice_is_exists(void **state)
{
    struct th_fsm *fx = *state;
    th_client_create(fx, T0, "acme", TP_TIER_BASIC, TH_TIER_BUDGET);
    char before[33];
    th_fsm_digest(fx, before);
    assert_int_equal(
        th_client_create(fx, T0, "acme", TP_TIER_PREMIUM, TH_USD(9)),
        QM_EXISTS);
    th_assert_message(fx, "'acme' already exists");
    th_assert_digest(fx, before);
    assert_budget(fx, "acme", false, false, TH_USD(100));
}

static void test_fsm_client_get_unknown_is_not_found(void **state)
{
    struct th_fsm *fx = *state;
    assert_int_equal(th_client_get(fx, T0, "ghost", NULL), QM_NOT_FOUND);
    th_assert_message(fx, "no client named 'ghost'");
}

static void test_fsm_client_id_must_be_a_name(void **state)
{
    struct th_fsm *fx = *state;
    assert_int_equal(th_client_create(fx, T0, "a b", TP_TIER_BASIC, 0),
                     QM_INVALID);
    assert_int_equal(th_client_create(fx, T0, "", TP_TIER_BASIC, 0),
                     QM_INVALID);
    assert_int_equal(th_client_create(fx, T0, "x", 0, 0), QM_INVALID);
    assert_int_equal(th_client_create(fx, T0, "x", TP_TIERS + 1, 0),
                     QM_INVALID);
    assert_int_equal(th_client_create(fx, T0, "x", TP_TIER_BASIC, -5),
                     QM_INVALID);
    assert_int_equal(
        th_client_create(fx, T0, "x", TP_TIER_BASIC, QM_MONEY_MAX + 1),
        QM_INVALID);
    assert_int_equal(th_client_get(fx, T0, "x", NULL), QM_NOT_FOUND);
    assert_int_equal(th_client_create(fx, T0, "x", TP_TIER_BASIC, QM_MONEY_MAX),
                     QM_OK);
}

static void test_fsm_client_set_tier_moves_it_to_that_tiers_budget(void **s)
{
    struct th_fsm *fx = *s;
    th_client_create(fx, T0, "acme", TP_TIER_BASIC, TH_TIER_BUDGET);
    assert_int_equal(th_client_set_tier(fx, T0, "acme", TP_TIER_STANDARD),
                     QM_OK);
    struct tp_client_info ci;
    th_client_get(fx, 0, "acme", &ci);
    assert_int_equal(ci.tier, TP_TIER_STANDARD);
    assert_budget(fx, "acme", false, false, TH_USD(500));
    assert_int_equal(th_client_set_tier(fx, T0, "acme", TP_TIER_ENTERPRISE),
                     QM_OK);
    assert_budget(fx, "acme", true, false, 0);
    /* The created time is kept. */
    th_client_get(fx, 0, "acme", &ci);
    assert_int_equal(ci.created_ms, T0);
}

static void test_fsm_client_own_budget_overrides_the_tier_until_reset(
    void **state)
{
    struct th_fsm *fx = *state;
    th_client_create(fx, T0, "acme", TP_TIER_STANDARD, TH_TIER_BUDGET);
    assert_int_equal(th_client_set_budget(fx, T0, "acme", TH_USD(42)), QM_OK);
    assert_budget(fx, "acme", false, true, TH_USD(42));
    /* A tier change keeps the client's own budget. */
    th_client_set_tier(fx, T0, "acme", TP_TIER_PREMIUM);
    assert_budget(fx, "acme", false, true, TH_USD(42));
    /* Zero is a budget, not "none". */
    assert_int_equal(th_client_set_budget(fx, T0, "acme", 0), QM_OK);
    assert_budget(fx, "acme", false, true, 0);
    /* Back to the tier's. */
    assert_int_equal(th_client_set_budget(fx, T0, "acme", TH_TIER_BUDGET),
                     QM_OK);
    assert_budget(fx, "acme", false, false, TH_USD(1000));
}

static void test_fsm_client_set_refuses_bad_arguments(void **state)
{
    struct th_fsm *fx = *state;
    assert_int_equal(th_client_set_tier(fx, T0, "ghost", TP_TIER_BASIC),
                     QM_NOT_FOUND);
    th_assert_message(fx, "ghost");
    th_client_create(fx, T0, "acme", TP_TIER_BASIC, TH_TIER_BUDGET);
    char before[33];
    th_fsm_digest(fx, before);
    assert_int_equal(th_client_set_tier(fx, T0, "acme", 0), QM_INVALID);
    th_assert_message(fx, "tier");
    /* Nothing to set. */
    struct tp_client_set cs;
    memset(&cs, 0, sizeof(cs));
    snprintf(cs.id, sizeof(cs.id), "acme");
    assert_int_equal(th_fsm_do(fx, T0, TP_OP_CLIENT_SET, 0, 0,
                               &tp_client_set_schema, &cs, NULL, NULL),
                     QM_INVALID);
    th_assert_digest(fx, before);
}

static void test_fsm_client_set_both_fields_at_once(void **state)
{
    struct th_fsm *fx = *state;
    th_client_create(fx, T0, "acme", TP_TIER_BASIC, TH_TIER_BUDGET);
    struct tp_client_set cs;
    memset(&cs, 0, sizeof(cs));
    snprintf(cs.id, sizeof(cs.id), "acme");
    cs.set = TP_SET_TIER | TP_SET_BUDGET;
    cs.tier = TP_TIER_ENTERPRISE;
    cs.budget = TH_USD(7);
    assert_int_equal(th_fsm_do(fx, T0, TP_OP_CLIENT_SET, 0, 0,
                               &tp_client_set_schema, &cs, NULL, NULL),
                     QM_OK);
    struct tp_client_info ci;
    th_client_get(fx, 0, "acme", &ci);
    assert_int_equal(ci.tier, TP_TIER_ENTERPRISE);
    assert_budget(fx, "acme", false, true, TH_USD(7));
}

static void test_fsm_client_list_pages_in_id_order(void **state)
{
    struct th_fsm *fx = *state;
    for (int i = 0; i < 25; i++) {
        int k = (i * 7) % 25; /* scrambled creation order */
        char id[8];
        snprintf(id, sizeof(id), "c%02d", k);
        assert_int_equal(
            th_client_create(fx, T0 + i, id, (uint64_t)(k % TP_TIERS) + 1,
                             TH_TIER_BUDGET),
            QM_OK);
    }
    struct tp_client_page *page = malloc(sizeof(*page));
    assert_non_null(page);
    char after[QM_NAME_MAX + 1] = "";
    int seen = 0;
    for (int p = 0; p < 3; p++) {
        assert_int_equal(th_client_list(fx, T0, after, 10, page), QM_OK);
        assert_int_equal(page->nclients, p < 2 ? 10 : 5);
        assert_int_equal(page->more, p < 2);
        for (uint32_t i = 0; i < page->nclients; i++, seen++) {
            char id[8];
            snprintf(id, sizeof(id), "c%02d", seen);
            assert_string_equal(page->clients[i].id, id);
            assert_int_equal(page->clients[i].tier,
                             (uint64_t)(seen % TP_TIERS) + 1);
            assert_int_equal(page->clients[i].month, 202311);
        }
        snprintf(after, sizeof(after), "%s",
                 page->clients[page->nclients - 1].id);
    }
    assert_int_equal(seen, 25);
    /* A full page by default; after a missing id starts at the next. */
    assert_int_equal(th_client_list(fx, T0, "", 0, page), QM_OK);
    assert_int_equal(page->nclients, 25);
    assert_false(page->more);
    assert_int_equal(th_client_list(fx, T0, "c10x", 2, page), QM_OK);
    assert_int_equal(page->nclients, 2);
    assert_string_equal(page->clients[0].id, "c11");
    assert_true(page->more);
    assert_int_equal(th_client_list(fx, T0, "c24", 0, page), QM_OK);
    assert_int_equal(page->nclients, 0);
    assert_false(page->more);
    free(page);
}

static void test_fsm_client_count_is_bounded(void **state)
{
    struct th_fsm *fx = *state;
    enum { BATCH = 64 };
    struct th_cmd *c = malloc(BATCH * sizeof(*c));
    assert_non_null(c);
    for (int i = 0; i < QM_CLIENTS_MAX; i += BATCH) {
        uint32_t k = 0;
        for (; k < BATCH && i + (int)k < QM_CLIENTS_MAX; k++) {
            struct tp_client_create a;
            memset(&a, 0, sizeof(a));
            snprintf(a.id, sizeof(a.id), "c%06d", i + (int)k);
            a.tier = TP_TIER_BASIC;
            th_cmd_make(&c[k], TP_OP_CLIENT_CREATE, 0, 0,
                        &tp_client_create_schema, &a);
        }
        const struct fsm_results *res = th_fsm_apply(fx, T0, c, k);
        struct tp_result r;
        assert_int_equal(th_result_decode(res->items[k - 1], &r, NULL, NULL),
                         QM_OK);
    }
    free(c);
    assert_int_equal(th_client_create(fx, T0, "one-more", TP_TIER_BASIC, 0),
                     QM_INVALID);
    th_assert_message(fx, "the most it allows");
    /* An existing id is still EXISTS, not the bound. */
    assert_int_equal(th_client_create(fx, T0, "c000000", TP_TIER_BASIC, 0),
                     QM_EXISTS);
}

/* ---- Cases: tiers ---- */

static void test_fsm_tier_defaults_are_those_of_seed_004(void **state)
{
    struct th_fsm *fx = *state;
    struct tp_tier_info t;
    assert_int_equal(th_tier_get(fx, T0, TP_TIER_ENTERPRISE, &t), QM_OK);
    assert_tier(&t, TP_TIER_ENTERPRISE, 40, 100, 0, true);
    assert_int_equal(th_tier_get(fx, T0, TP_TIER_PREMIUM, &t), QM_OK);
    assert_tier(&t, TP_TIER_PREMIUM, 30, 50, TH_USD(1000), false);
    assert_int_equal(th_tier_get(fx, T0, TP_TIER_STANDARD, &t), QM_OK);
    assert_tier(&t, TP_TIER_STANDARD, 20, 20, TH_USD(500), false);
    assert_int_equal(th_tier_get(fx, T0, TP_TIER_BASIC, &t), QM_OK);
    assert_tier(&t, TP_TIER_BASIC, 10, 5, TH_USD(100), false);

    struct tp_tier_list l;
    assert_int_equal(th_tier_list(fx, T0, &l), QM_OK);
    assert_int_equal(l.ntiers, TP_TIERS);
    for (uint32_t i = 0; i < TP_TIERS; i++) {
        assert_int_equal(l.tiers[i].tier, i + 1);
    }
    assert_tier(&l.tiers[3], TP_TIER_BASIC, 10, 5, TH_USD(100), false);
}

static void test_fsm_tier_set_changes_only_the_fields_named(void **state)
{
    struct th_fsm *fx = *state;
    struct tp_tier_set ts;
    struct tp_tier_info t;
    tier_set_args(&ts, TP_TIER_STANDARD, TP_SET_PRIORITY);
    ts.priority = 25;
    ts.max_concurrent = 999; /* not named: ignored */
    ts.budget = TH_USD(1);
    assert_int_equal(th_tier_set(fx, T0, &ts), QM_OK);
    th_tier_get(fx, T0, TP_TIER_STANDARD, &t);
    assert_tier(&t, TP_TIER_STANDARD, 25, 20, TH_USD(500), false);

    tier_set_args(&ts, TP_TIER_STANDARD, TP_SET_MAX_CONCURRENT);
    ts.max_concurrent = 3;
    assert_int_equal(th_tier_set(fx, T0, &ts), QM_OK);
    th_tier_get(fx, T0, TP_TIER_STANDARD, &t);
    assert_tier(&t, TP_TIER_STANDARD, 25, 3, TH_USD(500), false);

    tier_set_args(&ts, TP_TIER_STANDARD, TP_SET_BUDGET);
    ts.budget = TH_USD(750);
    assert_int_equal(th_tier_set(fx, T0, &ts), QM_OK);
    th_tier_get(fx, T0, TP_TIER_STANDARD, &t);
    assert_tier(&t, TP_TIER_STANDARD, 25, 3, TH_USD(750), false);

    /* Custom: no tier budget. */
    tier_set_args(&ts, TP_TIER_STANDARD, TP_SET_BUDGET);
    ts.custom = true;
    ts.budget = TH_USD(5); /* ignored with custom */
    assert_int_equal(th_tier_set(fx, T0, &ts), QM_OK);
    th_tier_get(fx, T0, TP_TIER_STANDARD, &t);
    assert_tier(&t, TP_TIER_STANDARD, 25, 3, 0, true);

    /* Enterprise can get a budget like any tier. */
    tier_set_args(&ts, TP_TIER_ENTERPRISE, TP_SET_BUDGET);
    ts.budget = TH_USD(100000);
    assert_int_equal(th_tier_set(fx, T0, &ts), QM_OK);
    th_tier_get(fx, T0, TP_TIER_ENTERPRISE, &t);
    assert_tier(&t, TP_TIER_ENTERPRISE, 40, 100, TH_USD(100000), false);

    /* Other tiers kept their defaults. */
    th_tier_get(fx, T0, TP_TIER_PREMIUM, &t);
    assert_tier(&t, TP_TIER_PREMIUM, 30, 50, TH_USD(1000), false);
}

static void test_fsm_tier_set_all_fields_survives_reopen(void **state)
{
    struct th_fsm *fx = *state;
    struct tp_tier_set ts;
    tier_set_args(&ts, TP_TIER_BASIC,
                  TP_SET_PRIORITY | TP_SET_MAX_CONCURRENT | TP_SET_BUDGET);
    ts.priority = 0;
    ts.max_concurrent = 1;
    ts.budget = TH_USD(3);
    assert_int_equal(th_tier_set(fx, T0, &ts), QM_OK);
    th_fsm_reopen(fx);
    struct tp_tier_info t;
    th_tier_get(fx, T0, TP_TIER_BASIC, &t);
    assert_tier(&t, TP_TIER_BASIC, 0, 1, TH_USD(3), false);
}

static void test_fsm_tier_set_refuses_bad_values(void **state)
{
    struct th_fsm *fx = *state;
    th_tick(fx, T0); /* the clock is part of the digest */
    char before[33];
    th_fsm_digest(fx, before);
    struct tp_tier_set ts;
    tier_set_args(&ts, TP_TIER_BASIC, TP_SET_MAX_CONCURRENT);
    ts.max_concurrent = 0;
    assert_int_equal(th_tier_set(fx, T0, &ts), QM_INVALID);
    th_assert_message(fx, "max_concurrent");
    tier_set_args(&ts, TP_TIER_BASIC, TP_SET_PRIORITY);
    ts.priority = 41;
    assert_int_equal(th_tier_set(fx, T0, &ts), QM_INVALID);
    tier_set_args(&ts, TP_TIERS + 1, TP_SET_PRIORITY);
    assert_int_equal(th_tier_set(fx, T0, &ts), QM_INVALID);
    tier_set_args(&ts, TP_TIER_BASIC, 0);
    assert_int_equal(th_tier_set(fx, T0, &ts), QM_INVALID);
    tier_set_args(&ts, TP_TIER_BASIC, TP_SET_TIER);
    assert_int_equal(th_tier_set(fx, T0, &ts), QM_INVALID);
    tier_set_args(&ts, TP_TIER_BASIC, TP_SET_BUDGET);
    ts.budget = QM_MONEY_MAX + 1;
    assert_int_equal(th_tier_set(fx, T0, &ts), QM_INVALID);
    th_assert_digest(fx, before);
}

static void test_fsm_tier_budget_applies_to_clients_without_their_own(
    void **state)
{
    struct th_fsm *fx = *state;
    th_client_create(fx, T0, "tier", TP_TIER_PREMIUM, TH_TIER_BUDGET);
    th_client_create(fx, T0, "own", TP_TIER_PREMIUM, TH_USD(10));
    struct tp_tier_set ts;
    tier_set_args(&ts, TP_TIER_PREMIUM, TP_SET_BUDGET);
    ts.budget = TH_USD(2000);
    assert_int_equal(th_tier_set(fx, T0, &ts), QM_OK);
    assert_budget(fx, "tier", false, false, TH_USD(2000));
    assert_budget(fx, "own", false, true, TH_USD(10));
    ts.custom = true;
    assert_int_equal(th_tier_set(fx, T0, &ts), QM_OK);
    assert_budget(fx, "tier", true, false, 0);
    assert_budget(fx, "own", false, true, TH_USD(10));
}

static void test_fsm_tier_budget_is_enforced_for_its_clients(void **state)
{
    struct th_fsm *fx = *state;
    th_pool_priced(fx, T0, "p", TH_UNITS(1000), 0, TH_USD_PER_UNIT(1));
    th_client_create(fx, T0, "acme", TP_TIER_BASIC, TH_TIER_BUDGET);
    /* $100: 100 units fit, 101 do not. */
    assert_int_equal(th_reserve1(fx, T0, "acme", "p", TH_UNITS(101), NULL),
                     QM_BUDGET_EXCEEDED);
    struct tp_tier_set ts;
    tier_set_args(&ts, TP_TIER_BASIC, TP_SET_BUDGET);
    ts.budget = TH_USD(101);
    th_tier_set(fx, T0, &ts);
    assert_int_equal(th_reserve1(fx, T0, "acme", "p", TH_UNITS(101), NULL),
                     QM_OK);
    /* The client's own budget, once set, is what counts. */
    th_client_set_budget(fx, T0, "acme", TH_USD(200));
    assert_int_equal(th_reserve1(fx, T0, "acme", "p", TH_UNITS(99), NULL),
                     QM_OK);
    assert_int_equal(th_reserve1(fx, T0, "acme", "p", 1, NULL),
                     QM_BUDGET_EXCEEDED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_fsm_client_create_then_get_returns_the_client),
        T(test_fsm_client_without_a_budget_has_its_tiers),
        T(test_fsm_client_create_twice_is_exists),
        T(test_fsm_client_get_unknown_is_not_found),
        T(test_fsm_client_id_must_be_a_name),
        T(test_fsm_client_set_tier_moves_it_to_that_tiers_budget),
        T(test_fsm_client_own_budget_overrides_the_tier_until_reset),
        T(test_fsm_client_set_refuses_bad_arguments),
        T(test_fsm_client_set_both_fields_at_once),
        T(test_fsm_client_list_pages_in_id_order),
        T(test_fsm_client_count_is_bounded),
        T(test_fsm_tier_defaults_are_those_of_seed_004),
        T(test_fsm_tier_set_changes_only_the_fields_named),
        T(test_fsm_tier_set_all_fields_survives_reopen),
        T(test_fsm_tier_set_refuses_bad_values),
        T(test_fsm_tier_budget_applies_to_clients_without_their_own),
        T(test_fsm_tier_budget_is_enforced_for_its_clients),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
