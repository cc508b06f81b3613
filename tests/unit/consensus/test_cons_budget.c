/* The byte budget of raft's in-memory log (cons_budget): its accounting on
 * a bare raft struct, then under libraft's deterministic fixture, where
 * every server must snapshot and drop its log by bytes long before its
 * entry counts say so. */
#include <stdlib.h>
#include <string.h>

#include <raft.h>
#include <raft/fixture.h>

#include "cons_budget.h"
#include "cons_fsm.h"
#include "qm_err.h"
#include "th_cmocka.h"
#include "th_msg.h"
#include "th_tmpdir.h"

/* ---- Fixture ---- */

/* Entries of COST bytes each (payload + CONS_ENTRY_OVERHEAD). */
#define COST 1000u

struct bare
{
    struct raft r; /* only its snapshot settings and last_applied are used */
    struct cons_budget b;
};

static int bare_setup(void **state)
{
    struct bare *x = calloc(1, sizeof(*x));
    assert_non_null(x);
    struct cons_budget_config cfg = {
        .period_bytes = 5 * COST,
        .trailing_bytes = 3 * COST + COST / 2,
        .threshold = 100,
        .trailing = 8,
    };
    assert_int_equal(cons_budget_init(&x->b, &cfg), QM_OK);
    raft_set_snapshot_threshold(&x->r, cfg.threshold);
    raft_set_snapshot_trailing(&x->r, cfg.trailing);
    *state = x;
    return 0;
}

static int bare_teardown(void **state)
{
    struct bare *x = *state;
    cons_budget_close(&x->b);
    free(x);
    return 0;
}

/* Three raft servers (0.15's fixture fails to close a cluster of one),
 * each with its own state machine and a budget of a few entries; raft's
 * entry counts are far out of reach. */
#define N 3
#define TRIO_THRESHOLD 1000u
#define TRIO_TRAILING 500u

struct trio
{
    struct raft_fixture *f;
    struct server
    {
        char dir[TH_PATH_MAX];
        struct fsm *fsm;
        struct cons_fsm glue;
        struct raft_fsm rf;
        struct cons_budget b;
    } s[N];
};

static void server_open(struct trio *x, unsigned i)
{
    struct server *s = &x->s[i];
    th_tmpdir_make(s->dir);
    struct fsm_config fc = {.dir = s->dir};
    char err[QM_ERRMSG_SIZE];
    assert_int_equal(fsm_open(&s->fsm, &fc, err), QM_OK);
    struct cons_budget_config bc = {
        .period_bytes = 8 * 1024,
        .trailing_bytes = 4 * 1024,
        .threshold = TRIO_THRESHOLD,
        .trailing = TRIO_TRAILING,
    };
    assert_int_equal(cons_budget_init(&s->b, &bc), QM_OK);
    s->glue.fsm = s->fsm;
    s->glue.budget = &s->b;
    cons_fsm_init(&s->rf, &s->glue, false);
    assert_int_equal(raft_fixture_grow(x->f, &s->rf), 0);
    s->glue.raft = raft_fixture_get(x->f, i);
}

static int trio_setup(void **state)
{
    struct trio *x = calloc(1, sizeof(*x));
    assert_non_null(x);
    x->f = calloc(1, sizeof(*x->f)); /* 0.15 does not zero it */
    assert_non_null(x->f);
    assert_int_equal(raft_fixture_initialize(x->f), 0);
    for (unsigned i = 0; i < N; i++) {
        server_open(x, i);
    }
    struct raft_configuration conf;
    assert_int_equal(raft_fixture_configuration(x->f, N, &conf), 0);
    assert_int_equal(raft_fixture_bootstrap(x->f, &conf), 0);
    raft_configuration_close(&conf);
    for (unsigned i = 0; i < N; i++) {
        raft_set_snapshot_threshold(x->s[i].glue.raft, TRIO_THRESHOLD);
        raft_set_snapshot_trailing(x->s[i].glue.raft, TRIO_TRAILING);
    }
    assert_int_equal(raft_fixture_start(x->f), 0);
    raft_fixture_elect(x->f, 0);
    *state = x;
    return 0;
}

static int trio_teardown(void **state)
{
    struct trio *x = *state;
    raft_fixture_close(x->f);
    free(x->f);
    for (unsigned i = 0; i < N; i++) {
        fsm_close(x->s[i].fsm);
        cons_budget_close(&x->s[i].b);
        th_tmpdir_remove(x->s[i].dir);
    }
    free(x);
    return 0;
}

/* ---- Helpers ---- */

/* Record entries @from..@to (included) as applied, COST bytes each. */
static void applied(struct bare *x, uint64_t from, uint64_t to)
{
    for (uint64_t i = from; i <= to; i++) {
        cons_budget_applied(&x->b, &x->r, i, COST - CONS_ENTRY_OVERHEAD);
    }
}

/* Propose on server 0 (the leader) an entry of 16 equal-sized commands
 * and step until every server applied it; returns the entry's size in
 * bytes (padded as consensus pads). */
static size_t apply_entry(struct trio *x, uint64_t seq)
{
    struct th_cmd cmds[16];
    struct tp_acquire aq;
    memset(&aq, 0, sizeof(aq));
    strcpy(aq.pool, "p");
    aq.amount = 1;
    for (int k = 0; k < 16; k++) {
        /* seq below 128: every command encodes to the same size */
        th_cmd_make(&cmds[k], TP_OP_ACQUIRE, 7, seq, &tp_acquire_schema, &aq);
    }
    struct qm_buf b;
    qm_buf_init(&b);
    th_entry_make(&b, 1700000000000LL, cmds, 16);
    size_t len = b.len + (8 - b.len % 8) % 8;
    struct raft_buffer buf = {raft_calloc(1, len), len};
    assert_non_null(buf.base);
    memcpy(buf.base, b.data, b.len);
    qm_buf_close(&b);
    struct raft *leader = raft_fixture_get(x->f, 0);
    struct raft_apply req;
    assert_int_equal(raft_apply(leader, &req, &buf, 1, NULL), 0);
    assert_true(raft_fixture_step_until_applied(x->f, N,
                                                raft_last_index(leader), 5000));
    return len;
}

/* ---- Assertions ---- */

static void assert_threshold(const struct raft *r, unsigned n)
{
    assert_int_equal(r->snapshot.threshold, n);
}

/* ---- Cases ---- */

static void test_cons_budget_rejects_zero_counts(void **state)
{
    (void)state;
    struct cons_budget b;
    struct cons_budget_config cfg = {.period_bytes = 1, .trailing_bytes = 1};
    cfg.threshold = 1;
    assert_int_equal(cons_budget_init(&b, &cfg), QM_INVALID);
    cfg.threshold = 0;
    cfg.trailing = 1;
    assert_int_equal(cons_budget_init(&b, &cfg), QM_INVALID);
}

static void test_cons_budget_keeps_the_latest_entries_that_fit(void **state)
{
    struct bare *x = *state;
    applied(x, 1, 4);
    /* 3.5 entries' worth of bytes: entries 4, 3 and 2 */
    assert_int_equal(cons_budget_trailing(&x->b, 4), 3);
}

static void test_cons_budget_keeps_no_more_than_the_entry_count(void **state)
{
    struct bare *x = *state;
    for (uint64_t i = 1; i <= 20; i++) {
        cons_budget_applied(&x->b, &x->r, i, 0);
    }
    /* 20 entries of 96 bytes fit in 3.5 KB; the count allows 8 */
    assert_int_equal(cons_budget_trailing(&x->b, 20), 8);
}

static void test_cons_budget_keeps_one_entry_larger_than_the_budget(
    void **state)
{
    struct bare *x = *state;
    cons_budget_applied(&x->b, &x->r, 1, 100 * COST);
    assert_int_equal(cons_budget_trailing(&x->b, 1), 1);
}

static void test_cons_budget_counts_unseen_entries_as_free(void **state)
{
    struct bare *x = *state;
    applied(x, 1, 3);
    applied(x, 7, 7); /* 4..6 were barriers: never applied */
    /* 7 to 2 cost 3,000 bytes (4 to 6 nothing); 1 would make 4,000 */
    assert_int_equal(cons_budget_trailing(&x->b, 7), 6);
}

static void test_cons_budget_forgets_entries_beyond_its_window(void **state)
{
    struct bare *x = *state;
    applied(x, 1, 4);
    applied(x, 40, 40); /* a gap wider than the 8 slots */
    assert_int_equal(cons_budget_trailing(&x->b, 40), 8);
}

static void test_cons_budget_spent_period_asks_for_a_snapshot(void **state)
{
    struct bare *x = *state;
    applied(x, 1, 4);
    assert_threshold(&x->r, 100);
    applied(x, 5, 5); /* the fifth entry spends the 5,000 bytes */
    assert_threshold(&x->r, 1);
    applied(x, 6, 6); /* still waiting for the snapshot to start */
    assert_threshold(&x->r, 1);
}

static void test_cons_budget_snapshot_sets_trailing_and_threshold(void **state)
{
    struct bare *x = *state;
    applied(x, 1, 6);
    x->r.last_applied = 6;
    cons_budget_snapshot(&x->b, &x->r);
    assert_int_equal(x->r.snapshot.trailing, 3);
    assert_threshold(&x->r, 100);
    /* a new period: four more entries do not spend it */
    applied(x, 7, 10);
    assert_threshold(&x->r, 100);
}

static void test_cons_budget_restore_starts_over(void **state)
{
    struct bare *x = *state;
    applied(x, 1, 5);
    assert_threshold(&x->r, 1);
    cons_budget_restored(&x->b, &x->r);
    assert_threshold(&x->r, 100);
    /* nothing recorded survives: a snapshot at 5 keeps the whole count */
    assert_int_equal(cons_budget_trailing(&x->b, 5), 5);
}

static void test_cons_budget_raft_snapshots_and_drops_log_by_bytes(void **state)
{
    struct trio *x = *state;
    struct raft *leader = raft_fixture_get(x->f, 0);
    size_t len = 0;
    uint64_t seq = 1;
    while (leader->log.snapshot.last_index == 0 && seq < 100) {
        len = apply_entry(x, seq++);
    }
    apply_entry(x, seq); /* every server has finished its snapshot */
    uint64_t cost = len + CONS_ENTRY_OVERHEAD;
    raft_index snap = leader->log.snapshot.last_index;
    /* The snapshot came once 8 KiB of entries were applied, far below the
     * 1000 entries raft counts (+ 1: the bootstrap configuration entry). */
    assert_int_equal(snap, 1 + (8 * 1024 + cost - 1) / cost);
    for (unsigned i = 0; i < N; i++) {
        struct raft *r = raft_fixture_get(x->f, i);
        assert_int_equal(r->log.snapshot.last_index, snap);
        /* It kept the entries that fit in 4 KiB before it. */
        assert_int_equal(r->snapshot.trailing, 4 * 1024 / cost);
        assert_int_equal(snap - r->log.offset, 4 * 1024 / cost);
        assert_threshold(r, TRIO_THRESHOLD);
    }
}

int main(void)
{
#define BARE(t) cmocka_unit_test_setup_teardown(t, bare_setup, bare_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cons_budget_rejects_zero_counts),
        BARE(test_cons_budget_keeps_the_latest_entries_that_fit),
        BARE(test_cons_budget_keeps_no_more_than_the_entry_count),
        BARE(test_cons_budget_keeps_one_entry_larger_than_the_budget),
        BARE(test_cons_budget_counts_unseen_entries_as_free),
        BARE(test_cons_budget_forgets_entries_beyond_its_window),
        BARE(test_cons_budget_spent_period_asks_for_a_snapshot),
        BARE(test_cons_budget_snapshot_sets_trailing_and_threshold),
        BARE(test_cons_budget_restore_starts_over),
        cmocka_unit_test_setup_teardown(
            test_cons_budget_raft_snapshots_and_drops_log_by_bytes, trio_setup,
            trio_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
