/* Unit tests of agent/agent_detect's utilisation thresholds: the
 * defaults, a single spike ignored, held load raised, hysteresis on the
 * way down, bad configurations refused, and the text. The leak detector is
 * tested in test_agent_detect.c. */
#include <stdbool.h>
#include <stdint.h>

#include "agent_detect.h"
#include "qm_err.h"
#include "th_cmocka.h"

/* ---- Fixture ---- */

/* None of its own: each case starts its own threshold. */

/* ---- Helpers ---- */

static void thresh_start(struct agent_thresh *t, enum agent_util kind)
{
    struct agent_thresh_conf c;
    agent_thresh_conf_default(kind, &c);
    assert_int_equal(agent_thresh_init(t, &c), QM_OK);
}

/* Feed @n samples of @pm; true if any changed the level. */
static bool thresh_feed_n(struct agent_thresh *t, uint32_t pm, int n)
{
    bool changed = false;
    for (int i = 0; i < n; i++) {
        changed |= agent_thresh_feed(t, pm);
    }
    return changed;
}

/* ---- Assertions ---- */

/* cmocka's: a threshold's level and text are plain values. */

/* ---- Cases: thresholds ---- */

static void test_agent_detect_threshold_defaults_follow_seed_001(void **state)
{
    (void)state;
    static const struct
    {
        enum agent_util kind;
        uint32_t warn, crit;
    } want[] = {
        {AGENT_UTIL_CPU, 800, 950},
        {AGENT_UTIL_MEMORY, 850, 950},
        {AGENT_UTIL_DISK, 800, 900},
        {(enum agent_util)7, 800, 950},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        struct agent_thresh_conf c;
        agent_thresh_conf_default(want[i].kind, &c);
        assert_int_equal(c.warn_pm, want[i].warn);
        assert_int_equal(c.crit_pm, want[i].crit);
        assert_int_equal(c.margin_pm, 50);
        assert_int_equal(c.hold, 3);
    }
}

static void test_agent_detect_threshold_ignores_a_single_spike(void **state)
{
    (void)state;
    struct agent_thresh t;
    thresh_start(&t, AGENT_UTIL_CPU);
    assert_false(thresh_feed_n(&t, 500, 5));
    assert_false(agent_thresh_feed(&t, 990));
    assert_false(thresh_feed_n(&t, 500, 5));
    assert_false(thresh_feed_n(&t, 990, 2));
    assert_false(thresh_feed_n(&t, 500, 1));
    assert_int_equal(agent_thresh_level(&t), AGENT_LEVEL_NONE);
}

static void test_agent_detect_threshold_raises_held_load(void **state)
{
    (void)state;
    struct agent_thresh t;
    thresh_start(&t, AGENT_UTIL_MEMORY);
    assert_false(thresh_feed_n(&t, 860, 2));
    assert_true(agent_thresh_feed(&t, 860));
    assert_int_equal(agent_thresh_level(&t), AGENT_LEVEL_WARNING);
    assert_false(thresh_feed_n(&t, 960, 2));
    assert_true(agent_thresh_feed(&t, 960));
    assert_int_equal(agent_thresh_level(&t), AGENT_LEVEL_CRITICAL);
    /* Load above warning but wavering around critical: a warning. */
    thresh_start(&t, AGENT_UTIL_MEMORY);
    assert_false(agent_thresh_feed(&t, 960));
    assert_false(agent_thresh_feed(&t, 900));
    assert_true(agent_thresh_feed(&t, 960));
    assert_int_equal(agent_thresh_level(&t), AGENT_LEVEL_WARNING);
}

static void test_agent_detect_threshold_clears_with_hysteresis(void **state)
{
    (void)state;
    struct agent_thresh t;
    thresh_start(&t, AGENT_UTIL_MEMORY);
    assert_true(thresh_feed_n(&t, 970, 3));
    assert_int_equal(agent_thresh_level(&t), AGENT_LEVEL_CRITICAL);
    /* Below 950 but not below 900: still critical. */
    assert_false(thresh_feed_n(&t, 920, 10));
    /* Two samples below 900 then back: no change. */
    assert_false(thresh_feed_n(&t, 890, 2));
    assert_false(agent_thresh_feed(&t, 930));
    assert_false(thresh_feed_n(&t, 890, 2));
    assert_true(agent_thresh_feed(&t, 890));
    assert_int_equal(agent_thresh_level(&t), AGENT_LEVEL_WARNING);
    /* Below 850 but not below 800: still warning. */
    assert_false(thresh_feed_n(&t, 810, 10));
    assert_false(thresh_feed_n(&t, 790, 2));
    assert_true(agent_thresh_feed(&t, 790));
    assert_int_equal(agent_thresh_level(&t), AGENT_LEVEL_NONE);
    /* From critical straight down: to the highest level of the run. */
    thresh_start(&t, AGENT_UTIL_DISK);
    assert_true(thresh_feed_n(&t, 950, 3));
    assert_false(agent_thresh_feed(&t, 100));
    assert_false(agent_thresh_feed(&t, 800));
    assert_true(agent_thresh_feed(&t, 100));
    assert_int_equal(agent_thresh_level(&t), AGENT_LEVEL_WARNING);
}

static void test_agent_detect_threshold_init_rejects_bad_conf(void **state)
{
    (void)state;
    struct agent_thresh t;
    static const struct agent_thresh_conf bad[] = {
        {0, 950, 0, 3},
        {960, 950, 50, 3},
        {800, 950, 800, 3},
        {800, 950, 50, 0},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(agent_thresh_init(&t, &bad[i]), QM_ECONFIG);
    }
}

static void test_agent_detect_threshold_format(void **state)
{
    (void)state;
    struct agent_thresh t;
    char buf[64];
    thresh_start(&t, AGENT_UTIL_CPU);
    agent_thresh_feed(&t, 410);
    agent_thresh_format(buf, sizeof(buf), "cpu", &t);
    assert_string_equal(buf, "cpu 41.0% (normal)");
    thresh_feed_n(&t, 962, 3);
    agent_thresh_format(buf, sizeof(buf), "cpu", &t);
    assert_string_equal(buf, "cpu 96.2% (critical at 95.0%)");
    thresh_start(&t, AGENT_UTIL_DISK);
    thresh_feed_n(&t, 840, 3);
    agent_thresh_format(buf, sizeof(buf), "disk /var", &t);
    assert_string_equal(buf, "disk /var 84.0% (warning at 80.0%)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agent_detect_threshold_defaults_follow_seed_001),
        cmocka_unit_test(test_agent_detect_threshold_ignores_a_single_spike),
        cmocka_unit_test(test_agent_detect_threshold_raises_held_load),
        cmocka_unit_test(test_agent_detect_threshold_clears_with_hysteresis),
        cmocka_unit_test(test_agent_detect_threshold_init_rejects_bad_conf),
        cmocka_unit_test(test_agent_detect_threshold_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
