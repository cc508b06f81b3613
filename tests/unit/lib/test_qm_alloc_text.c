/* Unit tests of the text forms of allocations in lib/qm_api_host.c: field
 * names, values as qmctl takes them ("512M", "max/100000") and as it
 * prints them back. Pure: no cluster. */
#include <string.h>

#include "qm.h"
#include "th_cmocka.h"

/* ---- Fixture ---- */

/* Each case starts from a zeroed allocation. */
static int setup_alloc(void **state)
{
    struct qm_alloc *a = test_calloc(1, sizeof(*a));
    *state = a;
    return 0;
}

static int teardown_alloc(void **state)
{
    test_free(*state);
    return 0;
}

/* ---- Helpers ---- */

/* Parse @text into @field of @a; the status. */
static int parse(struct qm_alloc *a, unsigned field, const char *text)
{
    struct qm_result res;
    memset(&res, 0, sizeof(res));
    int rv = qm_alloc_value_parse(a, field, text, &res);
    if (rv != QM_OK) {
        assert_int_equal(res.status, rv);
        assert_true(res.message[0] != '\0');
    }
    return rv;
}

/* ---- Assertions ---- */

/* @text is refused for @field and leaves @a as it was. */
static void assert_refused(struct qm_alloc *a, unsigned field, const char *text)
{
    struct qm_alloc before = *a;
    assert_int_equal(parse(a, field, text), QM_INVALID);
    assert_memory_equal(&before, a, sizeof(before));
}

/* @text parses for @field and prints back as @printed. */
static void assert_prints(struct qm_alloc *a,
                          unsigned field,
                          const char *text,
                          const char *printed)
{
    char buf[QM_ALLOC_TEXT_MAX + 1];
    assert_int_equal(parse(a, field, text), QM_OK);
    assert_true((a->set & field) != 0);
    assert_string_equal(qm_alloc_value_format(a, field, buf), printed);
}

/* ---- Cases ---- */

static void test_qm_alloc_field_names_roundtrip_and_accept_underscores(
    void **state)
{
    (void)state;
    static const char *const names[QM_ALLOC_FIELDS] = {
        "nice",    "cpus",        "nofile",     "nproc",     "cpu-weight",
        "cpu-max", "memory-high", "memory-max", "instances",
    };
    for (unsigned i = 0; i < QM_ALLOC_FIELDS; i++) {
        unsigned bit = 1u << i;
        assert_string_equal(qm_alloc_field_name(bit), names[i]);
        assert_int_equal(qm_alloc_field_parse(names[i]), bit);
    }
    assert_int_equal(qm_alloc_field_parse("memory_max"), QM_ALLOC_MEMORY_MAX);
    assert_int_equal(qm_alloc_field_parse("cpu_weight"), QM_ALLOC_CPU_WEIGHT);
    assert_int_equal(qm_alloc_field_parse("memory"), 0);
    assert_int_equal(qm_alloc_field_parse("memory-max-x"), 0);
    assert_int_equal(qm_alloc_field_parse(""), 0);
    assert_int_equal(qm_alloc_field_parse(NULL), 0);
    assert_null(qm_alloc_field_name(0));
    assert_null(qm_alloc_field_name(QM_ALLOC_NICE | QM_ALLOC_CPUS));
    assert_null(qm_alloc_field_name(1u << QM_ALLOC_FIELDS));
}

static void test_qm_alloc_sizes_take_binary_suffixes_and_max(void **state)
{
    struct qm_alloc *a = *state;
    assert_prints(a, QM_ALLOC_MEMORY_MAX, "512M", "512M");
    assert_int_equal(a->memory_max, 512LL << 20);
    assert_prints(a, QM_ALLOC_MEMORY_MAX, "2G", "2G");
    assert_int_equal(a->memory_max, 2LL << 30);
    assert_prints(a, QM_ALLOC_MEMORY_HIGH, "1536M", "1536M");
    assert_prints(a, QM_ALLOC_MEMORY_HIGH, "2GiB", "2G");
    assert_prints(a, QM_ALLOC_MEMORY_HIGH, "1048576", "1M");
    assert_prints(a, QM_ALLOC_MEMORY_HIGH, "1000", "1000");
    assert_int_equal(a->memory_high, 1000);
    assert_prints(a, QM_ALLOC_MEMORY_HIGH, "3T", "3T");
    assert_prints(a, QM_ALLOC_MEMORY_MAX, "max", "max");
    assert_int_equal(a->memory_max, QM_ALLOC_UNLIMITED);
}

static void test_qm_alloc_sizes_refuse_zero_junk_and_overflow(void **state)
{
    struct qm_alloc *a = *state;
    assert_refused(a, QM_ALLOC_MEMORY_MAX, "0");
    assert_refused(a, QM_ALLOC_MEMORY_MAX, "");
    assert_refused(a, QM_ALLOC_MEMORY_MAX, "-1");
    assert_refused(a, QM_ALLOC_MEMORY_MAX, "1.5G");
    assert_refused(a, QM_ALLOC_MEMORY_MAX, "2X");
    assert_refused(a, QM_ALLOC_MEMORY_MAX, "2G ");
    assert_refused(a, QM_ALLOC_MEMORY_MAX, "MAX");
    assert_refused(a, QM_ALLOC_MEMORY_MAX, "2048P"); /* above 2^60 */
    assert_refused(a, QM_ALLOC_MEMORY_HIGH, "99999999999999999999999");
    assert_int_equal(a->set, 0);
}

static void test_qm_alloc_cpu_max_takes_quota_max_and_period(void **state)
{
    struct qm_alloc *a = *state;
    assert_prints(a, QM_ALLOC_CPU_MAX, "50000", "50000");
    assert_int_equal(a->cpu_max_quota_us, 50000);
    assert_int_equal(a->cpu_max_period_us, 0);
    assert_prints(a, QM_ALLOC_CPU_MAX, "50000/100000", "50000/100000");
    assert_int_equal(a->cpu_max_period_us, 100000);
    assert_prints(a, QM_ALLOC_CPU_MAX, "max", "max");
    assert_int_equal(a->cpu_max_quota_us, QM_ALLOC_UNLIMITED);
    assert_int_equal(a->cpu_max_period_us, 0);
    assert_prints(a, QM_ALLOC_CPU_MAX, "max/20000", "max/20000");
    assert_prints(a, QM_ALLOC_CPU_MAX, "1000/1000", "1000/1000");
    assert_prints(a, QM_ALLOC_CPU_MAX, "1099511627776/1000000",
                  "1099511627776/1000000");
}

static void test_qm_alloc_cpu_max_refuses_out_of_range_and_junk(void **state)
{
    struct qm_alloc *a = *state;
    assert_refused(a, QM_ALLOC_CPU_MAX, "999");
    assert_refused(a, QM_ALLOC_CPU_MAX, "1099511627777");
    assert_refused(a, QM_ALLOC_CPU_MAX, "50000/999");
    assert_refused(a, QM_ALLOC_CPU_MAX, "50000/1000001");
    assert_refused(a, QM_ALLOC_CPU_MAX, "50000/");
    assert_refused(a, QM_ALLOC_CPU_MAX, "/100000");
    assert_refused(a, QM_ALLOC_CPU_MAX, "50000 100000");
    assert_refused(a, QM_ALLOC_CPU_MAX, "max/max");
    assert_refused(a, QM_ALLOC_CPU_MAX, "-1");
    assert_refused(a, QM_ALLOC_CPU_MAX, "12345678901234567890123456789012/1");
    assert_int_equal(a->set, 0);
}

static void test_qm_alloc_numbers_hold_their_ranges(void **state)
{
    struct qm_alloc *a = *state;
    assert_prints(a, QM_ALLOC_NICE, "-20", "-20");
    assert_prints(a, QM_ALLOC_NICE, "19", "19");
    assert_prints(a, QM_ALLOC_NICE, "0", "0");
    assert_refused(a, QM_ALLOC_NICE, "-21");
    assert_refused(a, QM_ALLOC_NICE, "20");
    assert_refused(a, QM_ALLOC_NICE, "+5");
    assert_refused(a, QM_ALLOC_NICE, "--5");
    assert_refused(a, QM_ALLOC_NICE, "5k");
    assert_prints(a, QM_ALLOC_NOFILE, "16", "16");
    assert_refused(a, QM_ALLOC_NOFILE, "15");
    assert_prints(a, QM_ALLOC_NOFILE, "1073741824", "1073741824");
    assert_refused(a, QM_ALLOC_NOFILE, "1073741825");
    assert_refused(a, QM_ALLOC_NPROC, "0");
    assert_prints(a, QM_ALLOC_NPROC, "4194304", "4194304");
    assert_refused(a, QM_ALLOC_CPU_WEIGHT, "0");
    assert_refused(a, QM_ALLOC_CPU_WEIGHT, "10001");
    assert_prints(a, QM_ALLOC_CPU_WEIGHT, "10000", "10000");
    assert_prints(a, QM_ALLOC_INSTANCES, "0", "0");
    assert_refused(a, QM_ALLOC_INSTANCES, "1001");
    assert_refused(a, QM_ALLOC_INSTANCES, "max");
}

static void test_qm_alloc_cpus_take_list_characters_only(void **state)
{
    struct qm_alloc *a = *state;
    char long_list[QM_CPULIST_MAX + 2];
    memset(long_list, '1', sizeof(long_list) - 1);
    long_list[sizeof(long_list) - 1] = '\0';
    assert_prints(a, QM_ALLOC_CPUS, "0-3,6", "0-3,6");
    assert_refused(a, QM_ALLOC_CPUS, "");
    assert_refused(a, QM_ALLOC_CPUS, "0-3;6");
    assert_refused(a, QM_ALLOC_CPUS, "all");
    assert_refused(a, QM_ALLOC_CPUS, long_list);
    long_list[QM_CPULIST_MAX] = '\0';
    assert_prints(a, QM_ALLOC_CPUS, long_list, long_list);
}

static void test_qm_alloc_parse_moves_a_field_from_unset_to_set(void **state)
{
    struct qm_alloc *a = *state;
    a->unset = QM_ALLOC_NICE | QM_ALLOC_INSTANCES;
    assert_int_equal(parse(a, QM_ALLOC_NICE, "5"), QM_OK);
    assert_int_equal(a->set, QM_ALLOC_NICE);
    assert_int_equal(a->unset, QM_ALLOC_INSTANCES);
    assert_int_equal(parse(a, 1u << QM_ALLOC_FIELDS, "5"), QM_INVALID);
    assert_int_equal(parse(a, 0, "5"), QM_INVALID);
    assert_int_equal(parse(a, QM_ALLOC_NICE, NULL), QM_INVALID);
    assert_int_equal(a->nice, 5);
}

static void test_qm_alloc_format_is_empty_for_fields_not_set(void **state)
{
    struct qm_alloc *a = *state;
    char buf[QM_ALLOC_TEXT_MAX + 1] = "junk";
    a->memory_max = 5;
    a->cpus[0] = '7';
    for (unsigned i = 0; i < QM_ALLOC_FIELDS; i++) {
        assert_string_equal(qm_alloc_value_format(a, 1u << i, buf), "");
    }
    a->set = QM_ALLOC_ALL;
    assert_string_equal(qm_alloc_value_format(a, 0, buf), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup_alloc, teardown_alloc)
        T(test_qm_alloc_field_names_roundtrip_and_accept_underscores),
        T(test_qm_alloc_sizes_take_binary_suffixes_and_max),
        T(test_qm_alloc_sizes_refuse_zero_junk_and_overflow),
        T(test_qm_alloc_cpu_max_takes_quota_max_and_period),
        T(test_qm_alloc_cpu_max_refuses_out_of_range_and_junk),
        T(test_qm_alloc_numbers_hold_their_ranges),
        T(test_qm_alloc_cpus_take_list_characters_only),
        T(test_qm_alloc_parse_moves_a_field_from_unset_to_set),
        T(test_qm_alloc_format_is_empty_for_fields_not_set),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
