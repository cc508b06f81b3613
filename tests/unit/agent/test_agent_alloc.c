/* Unit tests of agent/agent_alloc, the allocation agent_enforce applies:
 * CPU lists parsed and formatted back, refused when malformed, every field
 * validated with a message naming it, and values formatted as the cgroup
 * files show them. */
#include <stdio.h>
#include <string.h>

#include "agent_alloc.h"
#include "agent_cgroup.h"
#include "qm_err.h"
#include "th_cmocka.h"

/* ---- Fixture, Helpers, Assertions ---- */

/* None of their own: the functions are pure, each case builds its input
 * and checks with cmocka's assertions. */

/* ---- Cases ---- */

static void test_agent_alloc_cpu_lists_parse_and_format_back(void **state)
{
    static const char *const lists[][2] = {
        {"0", "0"},       {"0-3,6", "0-3,6"}, {"3,2,1,0", "0-3"},
        {"1023", "1023"}, {"5-5", "5"},       {"0-1,1-2\n", "0-2"},
    };
    struct agent_cpuset s;
    char out[64], err[QM_ERRMSG_SIZE];
    (void)state;
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        assert_int_equal(agent_cpus_parse(lists[i][0], &s, err), QM_OK);
        assert_int_equal(agent_cpus_format(&s, out, sizeof(out)), QM_OK);
        assert_string_equal(out, lists[i][1]);
    }
    assert_int_equal(agent_cpus_parse("0-3,6", &s, err), QM_OK);
    assert_int_equal(agent_cpuset_count(&s), 5);
    assert_int_equal(agent_cpus_format(&s, out, 4), QM_EFULL);
}

static void test_agent_alloc_cpu_lists_refuse_bad_syntax(void **state)
{
    static const char *const bad[] = {"",  ",",   "1,",   "-1",     "1-",
                                      "a", "1 2", "1024", "0-1024", "1\n\n"};
    struct agent_cpuset s;
    char err[QM_ERRMSG_SIZE];
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(agent_cpus_parse(bad[i], &s, err), QM_INVALID);
    }
    assert_int_equal(agent_cpus_parse("3-1", &s, err), QM_INVALID);
    assert_string_equal(err, "cpu list '3-1': range 3-1 runs backwards");
}

static void test_agent_alloc_validate_names_the_bad_field(void **state)
{
    static const struct
    {
        struct agent_alloc a;
        const char *msg;
    } bad[] = {
        {{.set = AGENT_ALLOC_NICE, .nice = 20}, "nice 20 outside -20..19"},
        {{.set = AGENT_ALLOC_NOFILE}, "nofile must be at least 1"},
        {{.set = AGENT_ALLOC_CPU_WEIGHT, .cpu_weight = 0},
         "cpu.weight 0 outside 1..10000"},
        {{.set = AGENT_ALLOC_CPU_MAX,
          .cpu_max_quota_us = 500,
          .cpu_max_period_us = 100000},
         "cpu.max quota (-1 = max) 500 outside 1000..4096000000"},
        {{.set = AGENT_ALLOC_CPU_MAX,
          .cpu_max_quota_us = -1,
          .cpu_max_period_us = 2000000},
         "cpu.max period 2000000 outside 1000..1000000"},
        {{.set = AGENT_ALLOC_MEMORY_HIGH | AGENT_ALLOC_MEMORY_MAX,
          .memory_high = 64 << 20,
          .memory_max = 32 << 20},
         "memory.high 67108864 above memory.max 33554432"},
        {{.set = AGENT_ALLOC_CPUS, .cpus = "0-"},
         "cpu list '0-': expected N or N-M items separated by commas, each "
         "below 1024"},
        {{.set = AGENT_ALLOC_CPUS, .cpus = "0-2"},
         "cpus '0-2': not all of them exist on this host (0-1)"},
        {{.set = 1u << 9}, "unknown allocation fields 0x200"},
    };
    struct agent_alloc ok = {.set = AGENT_ALLOC_CPUS, .cpus = "1"};
    struct agent_cpuset exist;
    char err[QM_ERRMSG_SIZE];
    (void)state;
    assert_int_equal(agent_cpus_parse("0-1", &exist, err), QM_OK);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(agent_alloc_validate(&bad[i].a, &exist, err),
                         QM_INVALID);
        assert_string_equal(err, bad[i].msg);
    }
    assert_int_equal(agent_alloc_validate(&ok, &exist, err), QM_OK);
}

static void test_agent_alloc_formats_values_as_cgroup_files_show_them(
    void **state)
{
    struct agent_alloc a = {
        .cpu_max_quota_us = 50000,
        .cpu_max_period_us = 100000,
        .memory_max = AGENT_CG_MAX,
        .nofile = AGENT_RLIM_UNLIMITED,
    };
    char v[AGENT_ALLOC_VALUE_MAX];
    (void)state;
    agent_alloc_format_field(&a, AGENT_ALLOC_CPU_MAX, v, sizeof(v));
    assert_string_equal(v, "50000 100000");
    a.cpu_max_quota_us = AGENT_CG_MAX;
    agent_alloc_format_field(&a, AGENT_ALLOC_CPU_MAX, v, sizeof(v));
    assert_string_equal(v, "max 100000");
    agent_alloc_format_field(&a, AGENT_ALLOC_MEMORY_MAX, v, sizeof(v));
    assert_string_equal(v, "max");
    agent_alloc_format_field(&a, AGENT_ALLOC_NOFILE, v, sizeof(v));
    assert_string_equal(v, "unlimited");
    assert_int_equal(agent_alloc_format_field(&a, 3, v, sizeof(v)), QM_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agent_alloc_cpu_lists_parse_and_format_back),
        cmocka_unit_test(test_agent_alloc_cpu_lists_refuse_bad_syntax),
        cmocka_unit_test(test_agent_alloc_validate_names_the_bad_field),
        cmocka_unit_test(
            test_agent_alloc_formats_values_as_cgroup_files_show_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
