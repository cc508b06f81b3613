/* Unit tests of hosts in the state machine, through fsm_apply and
 * fsm_query: registration (labels, match specs, the host bound,
 * re-registration), host pages and deletion, and allocations (merge,
 * unset, every validation, the per-host bound, the version the agent
 * polls, deterministic records). What agents record besides is in
 * test_fsm_agent.c. */
#include <stddef.h>
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
#include "th_msg_host.h"

/* ---- Fixture ---- */

#define T0 1700000000000LL
#define GIB (1LL << 30)

/* Host "h1" registered at T0 (th_host_register_make: services web, db).
 * A second state machine @g for the determinism case. */
struct fx
{
    struct th_fsm *f;
    struct th_fsm *g;
};

static int setup(void **state)
{
    th_log_capture();
    struct fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->f = th_fsm_new();
    assert_int_equal(th_host_add(fx->f, T0, "h1"), QM_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    th_fsm_free(fx->f);
    th_fsm_free(fx->g);
    free(fx);
    th_log_release();
    return 0;
}

/* ---- Helpers ---- */

/* Registration @r with labels @labels (NULL: as made) and the match of
 * service db @match (NULL: as made). */
static void spec(struct tp_host_register *r,
                 const char *id,
                 const char *labels,
                 const char *match)
{
    th_host_register_make(r, id);
    if (labels != NULL) {
        snprintf(r->labels, sizeof(r->labels), "%s", labels);
    }
    if (match != NULL) {
        snprintf(r->services[1].match, sizeof(r->services[1].match), "%s",
                 match);
    }
}

/* ---- Assertions ---- */

static void assert_register_refused(struct fx *fx,
                                    const struct tp_host_register *r,
                                    const char *what)
{
    char before[33];
    th_fsm_digest(fx->f, before);
    struct tp_report_ack ack;
    int st = th_host_register(fx->f, T0, r, &ack);
    th_assert_refused(fx->f, st, QM_INVALID, what, before);
    assert_false(ack.registered);
}

static void assert_alloc_refused(struct fx *fx,
                                 const struct tp_alloc *al,
                                 const char *what)
{
    char before[33];
    th_fsm_digest(fx->f, before);
    th_assert_refused(fx->f, th_alloc_set(fx->f, T0, al), QM_INVALID, what,
                      before);
}

/* @r registers at @t, acknowledged with @version, and reads back as sent
 * (byte for byte: @r is zero past each string). */
static void assert_registered(struct fx *fx,
                              int64_t t,
                              const struct tp_host_register *r,
                              uint64_t version)
{
    struct tp_report_ack ack = {99, false};
    assert_int_equal(th_host_register(fx->f, t, r, &ack), QM_OK);
    assert_true(ack.registered);
    assert_int_equal(ack.alloc_version, version);
    struct tp_host_info h;
    assert_int_equal(th_host_get(fx->f, r->id, &h), QM_OK);
    assert_memory_equal(&h.reg, r, sizeof(*r));
}

static void assert_host_times(struct fx *fx,
                              const char *id,
                              int64_t registered,
                              int64_t updated,
                              uint64_t version)
{
    struct tp_host_info h;
    assert_int_equal(th_host_get(fx->f, id, &h), QM_OK);
    assert_int_equal(h.registered_ms, registered);
    assert_int_equal(h.updated_ms, updated);
    assert_int_equal(h.alloc_version, version);
    assert_int_equal(th_host_version(fx->f, id), version);
}

/* ---- Cases: registration ---- */

static void test_fsm_host_register_creates_the_host_as_sent(void **state)
{
    struct fx *fx = *state;
    struct tp_host_register r;
    th_host_register_max(&r, "h2");
    assert_registered(fx, T0 + 7, &r, 0);
    assert_host_times(fx, "h2", T0 + 7, T0 + 7, 0);
    assert_int_equal(th_host_get(fx->f, "h3", NULL), QM_NOT_FOUND);
    th_assert_message(fx->f, "no host named 'h3'");
    uint64_t v = 42;
    assert_int_equal(fsm_host_alloc_version(fx->f->f, "h3", &v), QM_NOT_FOUND);
    assert_int_equal(v, 42);
}

static void test_fsm_host_register_again_keeps_first_time_and_version(void **s)
{
    struct fx *fx = *s;
    assert_int_equal(th_alloc_nice(fx->f, T0 + 1, "h1", "web", 5), QM_OK);
    assert_int_equal(th_alloc_nice(fx->f, T0 + 2, "h1", "db", 6), QM_OK);
    struct tp_host_register r;
    th_host_register_make(&r, "h1");
    memset(r.labels, 0, sizeof(r.labels)); /* compared as bytes below */
    snprintf(r.labels, sizeof(r.labels), "role=db");
    r.cpus = 16;
    r.nservices = 1;
    snprintf(r.services[0].name, sizeof(r.services[0].name), "pg");
    snprintf(r.services[0].match, sizeof(r.services[0].match), "cgroup:/pg");
    memset(&r.services[1], 0, sizeof(r.services[1]));
    assert_registered(fx, T0 + 1000, &r, 2);
    assert_host_times(fx, "h1", T0, T0 + 1000, 2);
    /* The allocations stay: they are the operator's, not the agent's. */
    assert_string_equal(th_alloc_services(fx->f, "h1", "", 0, NULL), "db,web");
}

#define LAB "labels must read key=value"
#define MAT "service 'db': match must be pid:PID"

static void test_fsm_host_register_refuses_bad_specs(void **state)
{
    struct fx *fx = *state;
    /* labels, match, what the refusal says */
    static const char *const bad[][3] = {
        {"a", NULL, LAB},        {"=b", NULL, LAB},      {"a=b,", NULL, LAB},
        {"a=b=c", NULL, LAB},    {"a b=c", NULL, LAB},   {",a=b", NULL, LAB},
        {"a=b,,c=d", NULL, LAB}, {"a=b,c", NULL, LAB},   {"k=v!", NULL, LAB},
        {NULL, "", MAT},         {NULL, "pid:", MAT},    {NULL, "exe", MAT},
        {NULL, "foo:bar", MAT},  {NULL, "EXE:x", MAT},   {NULL, " exe:x", MAT},
        {NULL, "pidfile:", MAT}, {NULL, "cgroup:", MAT},
    };
    struct tp_host_register r;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        for (int known = 0; known < 2; known++) {
            spec(&r, known ? "h1" : "h2", bad[i][0], bad[i][1]);
            assert_register_refused(fx, &r, bad[i][2]);
        }
    }
    spec(&r, "h2", NULL, NULL);
    r.nservices = 3;
    r.services[2] = r.services[0];
    snprintf(r.services[2].match, sizeof(r.services[2].match), "pid:7");
    assert_register_refused(fx, &r, "service 'web' is named twice");
    assert_int_equal(th_host_get(fx->f, "h2", NULL), QM_NOT_FOUND);
}

static void test_fsm_host_register_takes_good_specs(void **state)
{
    struct fx *fx = *state;
    static const char *const good[][2] = {
        {"", "pid:1"},
        {"a=", "exe:n"},
        {"a=b,c=d", "pidfile:/p"},
        {"k.x/y_z-1=V.2", "cgroup:/sys/x"},
    };
    struct tp_host_register r;
    struct tp_host_info h;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        spec(&r, "h1", good[i][0], good[i][1]);
        assert_int_equal(th_host_register(fx->f, T0, &r, NULL), QM_OK);
        assert_int_equal(th_host_get(fx->f, "h1", &h), QM_OK);
        assert_string_equal(h.reg.labels, good[i][0]);
        assert_string_equal(h.reg.services[1].match, good[i][1]);
    }
}

/* The full bound: 10,000 registrations in entries of 64 take well under a
 * second under ASan. */
static void test_fsm_host_register_holds_at_most_the_host_bound(void **state)
{
    struct fx *fx = *state;
    th_apply_each(fx->f, T0 + 1, QM_HOSTS_MAX - 1, th_host_register_cmd,
                  NULL); /* and h1 */
    struct tp_host_register r;
    th_host_register_make(&r, "n09999");
    char before[33];
    th_fsm_digest(fx->f, before);
    th_assert_refused(
        fx->f, th_host_register(fx->f, T0 + 1, &r, NULL), QM_INVALID,
        "the cluster holds 10000 hosts, the most it allows", before);
    /* A known host registers again; a deleted one makes room. */
    assert_int_equal(th_host_add(fx->f, T0 + 2, "h1"), QM_OK);
    assert_host_times(fx, "h1", T0, T0 + 2, 0);
    assert_int_equal(th_host_delete(fx->f, T0 + 2, "n00000"), QM_OK);
    assert_int_equal(th_host_register(fx->f, T0 + 3, &r, NULL), QM_OK);
    assert_int_equal(th_host_add(fx->f, T0 + 3, "n10000"), QM_INVALID);
}

/* ---- Cases: pages and deletion ---- */

static void test_fsm_host_list_pages_after_and_clamps_the_limit(void **s)
{
    struct fx *fx = *s;
    assert_int_equal(th_host_delete(fx->f, T0, "h1"), QM_OK);
    for (int i = 19; i >= 0; i--) { /* key order, not arrival order */
        char id[8];
        snprintf(id, sizeof(id), "h%02d", i);
        assert_int_equal(th_host_add(fx->f, T0, id), QM_OK);
    }
    assert_string_equal(th_host_ids(fx->f, "", 3, NULL), "h00,h01,h02+");
    assert_string_equal(th_host_ids(fx->f, "h02", 3, NULL), "h03,h04,h05+");
    assert_string_equal(th_host_ids(fx->f, "h055", 2, NULL), "h06,h07+");
    assert_string_equal(th_host_ids(fx->f, "h16", 3, NULL), "h17,h18,h19");
    assert_string_equal(th_host_ids(fx->f, "h19", 0, NULL), "");
    /* 0 and anything above QM_HOST_PAGE_MAX (16) read as 16. */
    for (uint64_t limit = 0; limit <= QM_PAGE_MAX; limit += 50) {
        assert_string_equal(th_host_ids(fx->f, "", limit, NULL),
                            "h00,h01,h02,h03,h04,h05,h06,h07,h08,h09,h10,h11,"
                            "h12,h13,h14,h15+");
    }
    assert_string_equal(th_host_ids(fx->f, "h15", 0, NULL), "h16,h17,h18,h19");
}

static void test_fsm_host_delete_takes_its_allocations_only(void **state)
{
    struct fx *fx = *state;
    char before[33];
    th_fsm_digest(fx->f, before);
    th_assert_refused(fx->f, th_host_delete(fx->f, T0, "h2"), QM_NOT_FOUND,
                      "no host named 'h2'", before);
    /* "h1" is a prefix of "h10" and of "h1x"; "h" is a prefix of "h1". */
    static const char *const others[] = {"h", "h10", "h1x", "h0"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(th_host_add(fx->f, T0, others[i]), QM_OK);
        assert_int_equal(th_alloc_nice(fx->f, T0, others[i], "web", 1), QM_OK);
    }
    assert_int_equal(th_alloc_nice(fx->f, T0, "h1", "web", 2), QM_OK);
    assert_int_equal(th_alloc_nice(fx->f, T0, "h1", "db", 3), QM_OK);
    assert_int_equal(th_alloc_nice(fx->f, T0, "h1", "zz", 3), QM_OK);
    assert_int_equal(th_host_delete(fx->f, T0 + 5, "h1"), QM_OK);
    assert_int_equal(th_host_get(fx->f, "h1", NULL), QM_NOT_FOUND);
    assert_int_equal(th_alloc_get(fx->f, "h1", "web", NULL), QM_NOT_FOUND);
    th_assert_message(fx->f, "no allocation for h1/web");
    assert_string_equal(th_alloc_services(fx->f, "h1", "", 0, NULL), "");
    for (size_t i = 0; i < 4; i++) {
        struct tp_alloc al;
        assert_int_equal(th_alloc_get(fx->f, others[i], "web", &al), QM_OK);
        assert_int_equal(al.nice, 1);
        assert_string_equal(th_alloc_services(fx->f, others[i], "", 0, NULL),
                            "web");
    }
    /* Registered again, it starts over. */
    assert_int_equal(th_host_add(fx->f, T0 + 9, "h1"), QM_OK);
    assert_host_times(fx, "h1", T0 + 9, T0 + 9, 0);
    assert_string_equal(th_alloc_services(fx->f, "h1", "", 0, NULL), "");
}

/* ---- Cases: allocations ---- */

static void test_fsm_alloc_set_merges_and_unset_removes(void **state)
{
    struct fx *fx = *state;
    struct tp_alloc al, got;
    th_alloc_args(&al, "h1", "web");
    al.set = TP_ALLOC_NICE | TP_ALLOC_CPUS;
    al.nice = -5;
    snprintf(al.cpus, sizeof(al.cpus), "0-3");
    al.memory_max = 7; /* not in @set: ignored */
    assert_int_equal(th_alloc_set(fx->f, T0 + 1, &al), QM_OK);
    th_alloc_args(&al, "h1", "web");
    al.set = TP_ALLOC_MEMORY_MAX | TP_ALLOC_INSTANCES;
    al.memory_max = GIB;
    al.instances = 3;
    assert_int_equal(th_alloc_set(fx->f, T0 + 2, &al), QM_OK);
    th_alloc_args(&al, "h1", "web");
    al.set = TP_ALLOC_NICE;
    al.nice = 3;
    al.unset = TP_ALLOC_CPUS | TP_ALLOC_INSTANCES | TP_ALLOC_NPROC;
    assert_int_equal(th_alloc_set(fx->f, T0 + 3, &al), QM_OK);
    assert_int_equal(th_alloc_get(fx->f, "h1", "web", &got), QM_OK);
    struct tp_alloc want;
    th_alloc_args(&want, "h1", "web");
    want.set = TP_ALLOC_NICE | TP_ALLOC_MEMORY_MAX;
    want.nice = 3;
    want.memory_max = GIB;
    want.updated_ms = T0 + 3;
    assert_memory_equal(&got, &want, sizeof(want));
    assert_string_equal(th_alloc_services(fx->f, "h1", "", 0, NULL), "web");
}

static void test_fsm_alloc_set_refusals_change_nothing(void **state)
{
    struct fx *fx = *state;
    char before[33];
    th_fsm_digest(fx->f, before);
    th_assert_refused(fx->f, th_alloc_nice(fx->f, T0, "h2", "web", 1),
                      QM_NOT_FOUND,
                      "no host named 'h2' (its agent registers it)", before);
    struct tp_alloc al;
    th_alloc_args(&al, "h1", "web");
    al.set = TP_ALLOC_NICE | TP_ALLOC_NOFILE;
    al.unset = TP_ALLOC_NOFILE;
    al.nofile = 1024;
    assert_alloc_refused(fx, &al, "a field cannot be set and unset");
    th_alloc_args(&al, "h1", "web");
    assert_alloc_refused(fx, &al, "nothing to set or unset");
    th_alloc_args(&al, "h1", "web");
    al.set = TP_ALLOC_ALL + 1; /* an unknown field: the decoder refuses */
    assert_alloc_refused(fx, &al, "set");
    assert_int_equal(th_host_version(fx->f, "h1"), 0);
}

static void test_fsm_alloc_with_every_field_unset_disappears(void **state)
{
    struct fx *fx = *state;
    struct tp_alloc al;
    th_alloc_args(&al, "h1", "web");
    al.set = TP_ALLOC_NICE | TP_ALLOC_NPROC;
    al.nproc = 10;
    assert_int_equal(th_alloc_set(fx->f, T0 + 1, &al), QM_OK);
    th_alloc_args(&al, "h1", "web");
    al.unset = TP_ALLOC_NPROC;
    assert_int_equal(th_alloc_set(fx->f, T0 + 2, &al), QM_OK);
    assert_int_equal(th_alloc_get(fx->f, "h1", "web", NULL), QM_OK);
    al.unset = TP_ALLOC_ALL;
    assert_int_equal(th_alloc_set(fx->f, T0 + 3, &al), QM_OK);
    assert_int_equal(th_alloc_get(fx->f, "h1", "web", NULL), QM_NOT_FOUND);
    th_assert_message(fx->f, "no allocation for h1/web");
    assert_string_equal(th_alloc_services(fx->f, "h1", "", 0, NULL), "");
    assert_int_equal(th_host_version(fx->f, "h1"), 3);
}

static void test_fsm_alloc_cpu_lists(void **state)
{
    struct fx *fx = *state;
    static const char *const good[] = {"0-3,6",  "0",       "4095",
                                       "0-4095", "1,3,5-7", "0-0,2"};
    static const char *const bad[] = {"3-1", "1,1", "a",     "0,",    "4096",
                                      "",    "0-",  "-1",    "1-2,2", "0,,1",
                                      " 1",  "1 ",  "0-3,2", "40960", "0--3"};
    struct tp_alloc al, got;
    th_alloc_args(&al, "h1", "web");
    al.set = TP_ALLOC_CPUS;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(al.cpus, sizeof(al.cpus), "%s", good[i]);
        assert_int_equal(th_alloc_set(fx->f, T0, &al), QM_OK);
        assert_int_equal(th_alloc_get(fx->f, "h1", "web", &got), QM_OK);
        assert_string_equal(got.cpus, good[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(al.cpus, sizeof(al.cpus), "%s", bad[i]);
        assert_alloc_refused(fx, &al, "cpus must be a CPU list such as 0-3,6");
    }
}

static void test_fsm_alloc_cpu_max_bounds_and_default_period(void **state)
{
    struct fx *fx = *state;
    /* quota, period -> stored period (0: refused) */
    static const int64_t cases[][3] = {
        {50000, 0, 100000},     {-1, 0, 100000}, {1000, 1000, 1000},
        {-1, 1000000, 1000000}, {999, 0, 0},     {0, 0, 0},
        {1000, 999, 0},         {1000, 1, 0},
    };
    struct tp_alloc al, got;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        th_alloc_args(&al, "h1", "web");
        al.set = TP_ALLOC_CPU_MAX;
        al.cpu_max_quota_us = cases[i][0];
        al.cpu_max_period_us = cases[i][1];
        if (cases[i][2] == 0) {
            assert_alloc_refused(fx, &al, "cpu max: quota 'max' or >= 1000 us");
            continue;
        }
        assert_int_equal(th_alloc_set(fx->f, T0, &al), QM_OK);
        assert_int_equal(th_alloc_get(fx->f, "h1", "web", &got), QM_OK);
        assert_int_equal(got.cpu_max_quota_us, cases[i][0]);
        assert_int_equal(got.cpu_max_period_us, cases[i][2]);
    }
    /* Past the wire's bounds: the decoder refuses. */
    al.cpu_max_period_us = 1000001;
    assert_alloc_refused(fx, &al, "cpu_max_period_us");
    al.cpu_max_period_us = 0;
    al.cpu_max_quota_us = -2;
    assert_alloc_refused(fx, &al, "cpu_max_quota_us");
}

/* One field of an allocation: its bit, where its value goes, a value
 * refused by the state machine or the decoder (with a word of the
 * message) and the bounds that pass. */
struct field_case
{
    uint64_t bit;
    size_t off;
    int64_t bad;
    const char *why;
    int64_t lo, hi;
};

#define FIELD(bit, m, bad, why, lo, hi)                               \
    {                                                                 \
        (bit), offsetof(struct tp_alloc, m), (bad), (why), (lo), (hi) \
    }

static void test_fsm_alloc_refuses_each_field_out_of_bounds(void **state)
{
    struct fx *fx = *state;
    static const struct field_case cases[] = {
        FIELD(TP_ALLOC_NICE, nice, -21, "nice", -20, 19),
        FIELD(TP_ALLOC_NICE, nice, 20, "nice", -20, 19),
        FIELD(TP_ALLOC_NOFILE, nofile, 15, "nofile must be at least 16", 16,
              1LL << 30),
        FIELD(TP_ALLOC_NPROC, nproc, 0, "nproc must be at least 1", 1,
              1LL << 22),
        FIELD(TP_ALLOC_CPU_WEIGHT, cpu_weight, 0, "cpu weight must be 1..10000",
              1, 10000),
        FIELD(TP_ALLOC_CPU_WEIGHT, cpu_weight, 10001, "cpu_weight", 1, 10000),
        FIELD(TP_ALLOC_MEMORY_HIGH, memory_high, 0,
              "memory high must be 'max' or > 0", -1, 1),
        FIELD(TP_ALLOC_MEMORY_HIGH, memory_high, -2, "memory_high", -1, 1),
        FIELD(TP_ALLOC_MEMORY_MAX, memory_max, 0,
              "memory max must be 'max' or > 0", -1, 1),
        FIELD(TP_ALLOC_MEMORY_MAX, memory_max, -2, "memory_max", -1, 1),
        FIELD(TP_ALLOC_INSTANCES, instances, 1001, "instances", 0, 1000),
    };
    struct tp_alloc al, got;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct field_case *fc = &cases[i];
        int64_t vals[3] = {fc->bad, fc->lo, fc->hi};
        for (int k = 0; k < 3; k++) {
            th_alloc_args(&al, "h1", "web");
            al.set = fc->bit;
            memcpy((char *)&al + fc->off, &vals[k], sizeof(int64_t));
            if (k == 0) {
                assert_alloc_refused(fx, &al, fc->why);
                continue;
            }
            assert_int_equal(th_alloc_set(fx->f, T0, &al), QM_OK);
            assert_int_equal(th_alloc_get(fx->f, "h1", "web", &got), QM_OK);
            assert_memory_equal((char *)&got + fc->off, &vals[k],
                                sizeof(int64_t));
        }
    }
}

static void test_fsm_alloc_checks_only_the_fields_it_sets(void **state)
{
    struct fx *fx = *state;
    struct tp_alloc al, got;
    th_alloc_args(&al, "h1", "web");
    al.set = TP_ALLOC_NICE;
    al.nice = 4;
    al.nofile = 15;
    snprintf(al.cpus, sizeof(al.cpus), "3-1");
    al.cpu_max_quota_us = 5;
    al.cpu_max_period_us = 5;
    assert_int_equal(th_alloc_set(fx->f, T0, &al), QM_OK);
    /* Unset fields are not looked at either. */
    al.set = 0;
    al.unset = TP_ALLOC_NOFILE | TP_ALLOC_CPUS | TP_ALLOC_CPU_MAX;
    assert_int_equal(th_alloc_set(fx->f, T0, &al), QM_OK);
    assert_int_equal(th_alloc_get(fx->f, "h1", "web", &got), QM_OK);
    struct tp_alloc want;
    th_alloc_args(&want, "h1", "web");
    want.set = TP_ALLOC_NICE;
    want.nice = 4;
    want.updated_ms = T0;
    assert_memory_equal(&got, &want, sizeof(want));
}

static void test_fsm_alloc_version_rises_by_one_per_set(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(th_alloc_nice(fx->f, T0, "h1", "web", 1), QM_OK);
    assert_int_equal(th_host_version(fx->f, "h1"), 1);
    assert_int_equal(th_alloc_nice(fx->f, T0, "h1", "db", 1), QM_OK);
    assert_int_equal(th_alloc_nice(fx->f, T0, "h1", "db", 1), QM_OK); /* same */
    assert_int_equal(th_alloc_nice(fx->f, T0, "h1", "db", 99), QM_INVALID);
    assert_host_times(fx, "h1", T0, T0, 3);
    assert_int_equal(th_host_add(fx->f, T0, "h2"), QM_OK);
    assert_int_equal(th_alloc_nice(fx->f, T0, "h2", "db", 1), QM_OK);
    assert_host_times(fx, "h1", T0, T0, 3);
    assert_host_times(fx, "h2", T0, T0, 1);
    struct tp_host_register r;
    th_host_register_make(&r, "h1");
    assert_registered(fx, T0 + 1, &r, 3);
}

static void test_fsm_alloc_holds_at_most_the_services_bound(void **state)
{
    struct fx *fx = *state;
    char svc[16];
    for (int i = 0; i < QM_HOST_SERVICES_MAX; i++) {
        snprintf(svc, sizeof(svc), "s%02d", i);
        assert_int_equal(th_alloc_nice(fx->f, T0, "h1", svc, 1), QM_OK);
    }
    struct tp_alloc al;
    th_alloc_args(&al, "h1", "s32");
    al.set = TP_ALLOC_NICE;
    assert_alloc_refused(fx, &al,
                         "host 'h1' has allocations for 32 services, the most "
                         "it may");
    /* Existing ones change; another host has its own bound. */
    assert_int_equal(th_alloc_nice(fx->f, T0, "h1", "s05", 2), QM_OK);
    assert_int_equal(th_host_add(fx->f, T0, "h10"), QM_OK);
    assert_int_equal(th_alloc_nice(fx->f, T0, "h10", "s32", 1), QM_OK);
    /* One gone makes room. */
    th_alloc_args(&al, "h1", "s00");
    al.unset = TP_ALLOC_NICE;
    assert_int_equal(th_alloc_set(fx->f, T0, &al), QM_OK);
    assert_int_equal(th_alloc_nice(fx->f, T0, "h1", "s32", 1), QM_OK);
    assert_int_equal(th_host_version(fx->f, "h1"), 35);
}

static void test_fsm_alloc_list_pages_one_host_only(void **state)
{
    struct fx *fx = *state;
    static const char *const hosts[] = {"h1", "h10", "h"};
    for (size_t h = 1; h < 3; h++) {
        assert_int_equal(th_host_add(fx->f, T0, hosts[h]), QM_OK);
    }
    static const char *const svcs[] = {"e", "a", "d", "b", "c"};
    for (size_t h = 0; h < 3; h++) {
        for (size_t i = 0; i < 5; i++) {
            assert_int_equal(th_alloc_nice(fx->f, T0, hosts[h], svcs[i], 0),
                             QM_OK);
        }
    }
    assert_string_equal(th_alloc_services(fx->f, "h1", "", 2, NULL), "a,b+");
    assert_string_equal(th_alloc_services(fx->f, "h1", "b", 2, NULL), "c,d+");
    assert_string_equal(th_alloc_services(fx->f, "h1", "d", 2, NULL), "e");
    assert_string_equal(th_alloc_services(fx->f, "h1", "bb", 0, NULL), "c,d,e");
    assert_string_equal(th_alloc_services(fx->f, "h1", "e", 0, NULL), "");
    assert_string_equal(th_alloc_services(fx->f, "h", "", 0, NULL),
                        "a,b,c,d,e");
    assert_string_equal(th_alloc_services(fx->f, "h10", "c", 0, NULL), "d,e");
    assert_string_equal(th_alloc_services(fx->f, "h2", "", 0, NULL), "");
}

/* The same final allocation of h1/web reached two ways, each by two
 * commands (at T0 + 1 and T0 + 2): fields set, changed and unset. */
static const struct tp_alloc paths[2][2] = {
    {{.host = "h1",
      .service = "web",
      .set = TP_ALLOC_NICE | TP_ALLOC_MEMORY_MAX,
      .nice = 5,
      .memory_max = GIB},
     {.host = "h1",
      .service = "web",
      .set = TP_ALLOC_CPUS | TP_ALLOC_CPU_MAX,
      .unset = TP_ALLOC_MEMORY_MAX,
      .cpus = "0-1",
      .cpu_max_quota_us = 20000}},
    {{.host = "h1",
      .service = "web",
      .set = TP_ALLOC_CPUS | TP_ALLOC_MEMORY_HIGH | TP_ALLOC_NICE |
             TP_ALLOC_CPU_MAX,
      .cpus = "0-1",
      .memory_high = 5,
      .nice = -3,
      .cpu_max_quota_us = 20000,
      .cpu_max_period_us = 100000},
     {.host = "h1",
      .service = "web",
      .set = TP_ALLOC_NICE,
      .nice = 5,
      .unset = TP_ALLOC_MEMORY_HIGH}},
};

static void test_fsm_alloc_equal_allocations_give_equal_digests(void **state)
{
    struct fx *fx = *state;
    fx->g = th_fsm_new();
    assert_int_equal(th_host_add(fx->g, T0, "h1"), QM_OK);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(th_alloc_set(fx->f, T0 + 1 + k, &paths[0][k]), QM_OK);
        assert_int_equal(th_alloc_set(fx->g, T0 + 1 + k, &paths[1][k]), QM_OK);
    }
    char a[33], b[33];
    th_fsm_digest(fx->f, a);
    th_fsm_digest(fx->g, b);
    assert_string_equal(a, b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_fsm_host_register_creates_the_host_as_sent),
        T(test_fsm_host_register_again_keeps_first_time_and_version),
        T(test_fsm_host_register_refuses_bad_specs),
        T(test_fsm_host_register_takes_good_specs),
        T(test_fsm_host_register_holds_at_most_the_host_bound),
        T(test_fsm_host_list_pages_after_and_clamps_the_limit),
        T(test_fsm_host_delete_takes_its_allocations_only),
        T(test_fsm_alloc_set_merges_and_unset_removes),
        T(test_fsm_alloc_set_refusals_change_nothing),
        T(test_fsm_alloc_with_every_field_unset_disappears),
        T(test_fsm_alloc_cpu_lists),
        T(test_fsm_alloc_cpu_max_bounds_and_default_period),
        T(test_fsm_alloc_refuses_each_field_out_of_bounds),
        T(test_fsm_alloc_checks_only_the_fields_it_sets),
        T(test_fsm_alloc_version_rises_by_one_per_set),
        T(test_fsm_alloc_holds_at_most_the_services_bound),
        T(test_fsm_alloc_list_pages_one_host_only),
        T(test_fsm_alloc_equal_allocations_give_equal_digests),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
