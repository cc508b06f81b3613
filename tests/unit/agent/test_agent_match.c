/* Unit tests of agent_match: parsing match specs, and finding matched
 * processes and their descendants in a process table built in memory. */
#include <stdio.h>
#include <string.h>

#include "agent_match.h"
#include "qm_err.h"
#include "th_cmocka.h"

/* ---- Fixture ---- */

/* pid, ppid: a tree under 1, a self-parented pid and a parent cycle. */
static const struct agent_pedge tree[] = {
    {0, 1},   {1, 10},  {1, 20},  {10, 11}, {10, 12},
    {11, 13}, {20, 21}, {30, 30}, {40, 41}, {41, 40},
};
#define NTREE (sizeof(tree) / sizeof(tree[0]))

/* A table over @tree, with @pents and @kids as its storage. */
static void table_of_tree(struct agent_ptable *t,
                          struct agent_pent *pents,
                          struct agent_pedge *kids)
{
    memset(t, 0, sizeof(*t));
    /* tree[] is sorted by (ppid, pid); by pid it is: */
    static const int32_t by_pid[] = {1, 10, 11, 12, 13, 20, 21, 30, 40, 41};
    for (size_t i = 0; i < NTREE; i++) {
        kids[i] = tree[i];
        for (size_t k = 0; k < NTREE; k++) {
            if (tree[k].pid == by_pid[i]) {
                pents[i] = (struct agent_pent){tree[k].pid, tree[k].ppid, 0};
            }
        }
    }
    t->v = pents;
    t->kids = kids;
    t->n = NTREE;
    t->cap = NTREE;
}

/* ---- Helpers ---- */

static void descendants(const int32_t *roots,
                        size_t nroots,
                        size_t cap,
                        int32_t *out,
                        size_t *n,
                        size_t *truncated)
{
    struct agent_ptable t;
    struct agent_pent pents[NTREE];
    struct agent_pedge kids[NTREE];
    table_of_tree(&t, pents, kids);
    agent_match_descendants(&t, roots, nroots, out, cap, n, truncated);
}

/* ---- Assertions ---- */

static void assert_invalid(const char *spec, const char *reason)
{
    struct agent_match m;
    char err[QM_ERRMSG_SIZE] = "";
    memset(&m, 0x5a, sizeof(m));
    assert_int_equal(agent_match_parse(&m, spec, err), QM_INVALID);
    if (strstr(err, reason) == NULL) {
        fail_msg("spec \"%s\": \"%s\" lacks \"%s\"", spec, err, reason);
    }
    assert_int_equal(((unsigned char *)&m)[0], 0x5a); /* untouched */
}

static void assert_pids(const int32_t *got,
                        size_t n,
                        const int32_t *want,
                        size_t nwant)
{
    assert_int_equal(n, nwant);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(got[i], want[i]);
    }
}

/* ---- Cases ---- */

static void test_agent_match_parses_each_kind(void **state)
{
    struct agent_match m;
    char err[QM_ERRMSG_SIZE];
    (void)state;
    assert_int_equal(agent_match_parse(&m, "pid:4194304", err), QM_OK);
    assert_int_equal(m.kind, AGENT_MATCH_PID);
    assert_int_equal(m.pid, 4194304);
    assert_int_equal(agent_match_parse(&m, "exe:nginx", err), QM_OK);
    assert_int_equal(m.kind, AGENT_MATCH_EXE);
    assert_string_equal(m.arg, "nginx");
    assert_int_equal(m.exe_hash, agent_match_name_hash("nginx", 5));
    assert_int_not_equal(m.exe_hash, agent_match_name_hash("nginy", 5));
    assert_int_equal(agent_match_parse(&m, "pidfile:/run/x.pid", err), QM_OK);
    assert_int_equal(m.kind, AGENT_MATCH_PIDFILE);
    assert_string_equal(m.arg, "/run/x.pid");
    assert_int_equal(
        agent_match_parse(&m, "cgroup:system.slice/a..b.service", err), QM_OK);
    assert_int_equal(m.kind, AGENT_MATCH_CGROUP);
    assert_string_equal(m.arg, "system.slice/a..b.service");
    assert_int_equal(agent_match_parse(&m, "cgroup:/sys/fs/cgroup/x", err),
                     QM_OK);
    assert_string_equal(m.arg, "/sys/fs/cgroup/x");
}

static void test_agent_match_rejects_bad_specs_with_a_reason(void **state)
{
    char longarg[AGENT_MATCH_ARG_MAX + 8];
    (void)state;
    assert_invalid("", "want pid:PID");
    assert_invalid("foo:bar", "want pid:PID");
    assert_invalid("PID:1", "want pid:PID");
    assert_invalid("pid", "want pid:PID");
    assert_invalid("pid:", "pid is empty");
    assert_invalid("pid:0", "not a pid");
    assert_invalid("pid:-1", "not a pid");
    assert_invalid("pid:12a", "not a pid");
    assert_invalid("pid: 12", "not a pid");
    assert_invalid("pid:2147483648", "not a pid");
    assert_invalid("exe:", "exe is empty");
    assert_invalid("exe:a/b", "without '/'");
    assert_invalid("pidfile:run/x.pid", "absolute");
    assert_invalid("cgroup:..", "'..'");
    assert_invalid("cgroup:a/../b", "'..'");
    assert_invalid("cgroup:/x/..", "'..'");
    snprintf(longarg, sizeof(longarg), "exe:%0*d", AGENT_MATCH_ARG_MAX, 0);
    assert_invalid(longarg, "too long");
}

static void test_agent_match_descendants_breadth_first(void **state)
{
    int32_t out[16];
    size_t n;
    size_t lost;
    (void)state;
    static const int32_t r10[] = {10};
    static const int32_t w10[] = {11, 12, 13};
    descendants(r10, 1, 16, out, &n, &lost);
    assert_pids(out, n, w10, 3);
    assert_int_equal(lost, 0);
    /* A matched process below another matched one is not a child. */
    static const int32_t r10_11[] = {10, 11};
    static const int32_t w10_11[] = {12, 13};
    descendants(r10_11, 2, 16, out, &n, &lost);
    assert_pids(out, n, w10_11, 2);
    static const int32_t r1[] = {1};
    static const int32_t w1[] = {10, 20, 11, 12, 21, 13};
    descendants(r1, 1, 16, out, &n, &lost);
    assert_pids(out, n, w1, 6);
}

static void test_agent_match_descendants_survive_odd_tables(void **state)
{
    int32_t out[16];
    size_t n;
    size_t lost;
    (void)state;
    static const int32_t r30[] = {30}; /* its own parent */
    descendants(r30, 1, 16, out, &n, &lost);
    assert_int_equal(n, 0);
    static const int32_t r40[] = {40}; /* a parent cycle */
    static const int32_t w40[] = {41};
    descendants(r40, 1, 16, out, &n, &lost);
    assert_pids(out, n, w40, 1);
    static const int32_t r99[] = {99}; /* not in the table */
    descendants(r99, 1, 16, out, &n, &lost);
    assert_int_equal(n, 0);
    /* Room for one: the rest are counted, never written. */
    static const int32_t r10[] = {10};
    static const int32_t w10[] = {11};
    out[1] = -7;
    descendants(r10, 1, 1, out, &n, &lost);
    assert_pids(out, n, w10, 1);
    assert_int_equal(lost, 2);
    assert_int_equal(out[1], -7);
}

static void test_agent_match_roots_by_pid_only_when_alive(void **state)
{
    struct agent_ptable t;
    struct agent_pent pents[NTREE];
    struct agent_pedge kids[NTREE];
    struct agent_match m;
    char err[QM_ERRMSG_SIZE];
    int32_t pids[4];
    size_t n;
    size_t lost;
    (void)state;
    table_of_tree(&t, pents, kids);
    assert_true(agent_ptable_has(&t, 13));
    assert_false(agent_ptable_has(&t, 14));
    assert_int_equal(agent_match_parse(&m, "pid:21", err), QM_OK);
    assert_int_equal(agent_match_roots(&m, &t, "/none", pids, 4, &n, &lost),
                     QM_OK);
    assert_int_equal(n, 1);
    assert_int_equal(pids[0], 21);
    assert_int_equal(agent_match_parse(&m, "pid:22", err), QM_OK);
    assert_int_equal(agent_match_roots(&m, &t, "/none", pids, 4, &n, &lost),
                     QM_OK);
    assert_int_equal(n, 0);
    assert_int_equal(lost, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agent_match_parses_each_kind),
        cmocka_unit_test(test_agent_match_rejects_bad_specs_with_a_reason),
        cmocka_unit_test(test_agent_match_descendants_breadth_first),
        cmocka_unit_test(test_agent_match_descendants_survive_odd_tables),
        cmocka_unit_test(test_agent_match_roots_by_pid_only_when_alive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
