/* The consensus glue (cons_fsm) under libraft's deterministic fixture: three
 * raft servers with in-memory I/O and a simulated clock, each with its own
 * LMDB state machine on a temporary folder. No sleeps: seconds of cluster
 * time run in milliseconds. */
#include <stdlib.h>
#include <string.h>

#include <raft.h>
#include <raft/fixture.h>

#include "cons_fsm.h"
#include "qm_alloc.h"
#include "qm_err.h"
#include "th_cmocka.h"
#include "th_msg.h"
#include "th_tmpdir.h"

/* ---- Fixture ---- */

#define N 3
#define CAP (1000 * QM_MILLI)

struct fx
{
    struct raft_fixture *f;
    char dir[N][TH_PATH_MAX];
    struct fsm *fsm[N];
    struct cons_fsm glue[N];
    struct raft_fsm rf[N];
    int64_t time_ms;
    uint64_t seq;
};

static int setup(void **state)
{
    struct fx *x = calloc(1, sizeof(*x));
    assert_non_null(x);
    /* 0.15: raft_fixture_initialize does not zero the struct. */
    x->f = calloc(1, sizeof(*x->f));
    assert_non_null(x->f);
    assert_int_equal(raft_fixture_initialize(x->f), 0);
    for (int i = 0; i < N; i++) {
        th_tmpdir_make(x->dir[i]);
        struct fsm_config cfg = {.dir = x->dir[i]};
        char err[QM_ERRMSG_SIZE];
        assert_int_equal(fsm_open(&x->fsm[i], &cfg, err), QM_OK);
        x->glue[i].fsm = x->fsm[i];
        cons_fsm_init(&x->rf[i], &x->glue[i], false);
        assert_int_equal(raft_fixture_grow(x->f, &x->rf[i]), 0);
        x->glue[i].raft = raft_fixture_get(x->f, (unsigned)i);
    }
    struct raft_configuration conf;
    assert_int_equal(raft_fixture_configuration(x->f, N, &conf), 0);
    assert_int_equal(raft_fixture_bootstrap(x->f, &conf), 0);
    raft_configuration_close(&conf);
    for (int i = 0; i < N; i++) {
        struct raft *r = raft_fixture_get(x->f, (unsigned)i);
        raft_set_snapshot_threshold(r, 16);
        raft_set_snapshot_trailing(r, 4);
    }
    assert_int_equal(raft_fixture_start(x->f), 0);
    raft_fixture_elect(x->f, 0);
    x->time_ms = 1700000000000LL;
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct fx *x = *state;
    raft_fixture_close(x->f);
    free(x->f);
    for (int i = 0; i < N; i++) {
        fsm_close(x->fsm[i]);
        th_tmpdir_remove(x->dir[i]);
    }
    free(x);
    return 0;
}

/* ---- Helpers ---- */

struct applied
{
    bool done;
    int status;
    uint8_t result[4096];
    size_t len;
};

static void on_applied(struct raft_apply *req, int status, void *result)
{
    struct applied *a = req->data;
    a->done = true;
    a->status = status;
    const struct fsm_results *res = result;
    if (status == 0 && res != NULL && res->n > 0) {
        a->len = res->items[0].n;
        memcpy(a->result, res->items[0].p, a->len);
    }
}

/* Propose one command on server @i (padded entry, as consensus does). */
static int propose(struct fx *x,
                   unsigned i,
                   const struct th_cmd *cmd,
                   struct raft_apply *req,
                   struct applied *a)
{
    struct qm_buf b;
    qm_buf_init(&b);
    x->time_ms += 100;
    th_entry_make(&b, x->time_ms, cmd, 1);
    size_t pad = (8 - b.len % 8) % 8;
    struct raft_buffer buf = {raft_malloc(b.len + pad), b.len + pad};
    assert_non_null(buf.base);
    memset(buf.base, 0, buf.len);
    memcpy(buf.base, b.data, b.len);
    qm_buf_close(&b);
    memset(a, 0, sizeof(*a));
    req->data = a;
    int rv = raft_apply(raft_fixture_get(x->f, i), req, &buf, 1, on_applied);
    if (rv != 0) {
        raft_free(buf.base);
    }
    return rv;
}

static void acquire_cmd(struct fx *x, struct th_cmd *cmd, int64_t amount)
{
    struct tp_acquire aq;
    memset(&aq, 0, sizeof(aq));
    strcpy(aq.pool, "p");
    aq.amount = amount;
    th_cmd_make(cmd, TP_OP_ACQUIRE, 7, ++x->seq, &tp_acquire_schema, &aq);
}

/* Propose on the leader and step until every live server it can reach
 * applied it;
 * returns the command's status. */
static int run(struct fx *x, const struct th_cmd *cmd)
{
    unsigned l = raft_fixture_leader_index(x->f);
    assert_true(l < N);
    struct raft_apply req;
    struct applied a;
    assert_int_equal(propose(x, l, cmd, &req, &a), 0);
    raft_index idx = raft_last_index(raft_fixture_get(x->f, l));
    for (unsigned i = 0; i < N; i++) {
        bool cut = i != l && raft_fixture_saturated(x->f, l, i);
        if (raft_fixture_alive(x->f, i) && !cut) {
            assert_true(raft_fixture_step_until_applied(x->f, i, idx, 5000));
        }
    }
    assert_true(a.done);
    assert_int_equal(a.status, 0);
    struct tp_result r;
    struct qm_span s = {a.result, a.len};
    return th_result_decode(s, &r, NULL, NULL);
}

static void create_pool(struct fx *x)
{
    struct tp_pool_create pc;
    memset(&pc, 0, sizeof(pc));
    strcpy(pc.name, "p");
    pc.capacity = CAP;
    struct th_cmd cmd;
    th_cmd_make(&cmd, TP_OP_POOL_CREATE, 7, ++x->seq, &tp_pool_create_schema,
                &pc);
    assert_int_equal(run(x, &cmd), QM_OK);
}

/* ---- Assertions ---- */

static void assert_converged(struct fx *x)
{
    char first[33], d[33];
    uint64_t i0, idx;
    assert_int_equal(fsm_digest(x->fsm[0], first, &i0), QM_OK);
    for (int i = 1; i < N; i++) {
        assert_int_equal(fsm_digest(x->fsm[i], d, &idx), QM_OK);
        assert_int_equal(idx, i0);
        assert_string_equal(d, first);
    }
}

static int64_t tokens_on(struct fx *x, int i)
{
    struct qm_buf b;
    qm_buf_init(&b);
    struct tp_decoded d;
    memset(&d, 0, sizeof(d));
    d.info = tp_op_info(TP_OP_POOL_GET);
    d.cmd.op = TP_OP_POOL_GET;
    strcpy(d.args.pool_name.name, "p");
    assert_int_equal(fsm_query(x->fsm[i], &d, 0, &b), QM_OK);
    struct tp_result r;
    struct tp_pool_info info;
    struct qm_span s = {b.data, b.len};
    assert_int_equal(th_result_decode(s, &r, &tp_pool_info_schema, &info),
                     QM_OK);
    qm_buf_close(&b);
    return info.tokens;
}

/* ---- Cases ---- */

static void test_cons_fixture_replicas_converge(void **state)
{
    struct fx *x = *state;
    create_pool(x);
    struct th_cmd cmd;
    for (int k = 0; k < 40; k++) {
        acquire_cmd(x, &cmd, QM_MILLI);
        assert_int_equal(run(x, &cmd), QM_OK);
    }
    acquire_cmd(x, &cmd, CAP);
    assert_int_equal(run(x, &cmd), QM_DENIED);
    assert_converged(x);
    for (int i = 0; i < N; i++) {
        assert_int_equal(tokens_on(x, i), CAP - 40 * QM_MILLI);
    }
}

static void test_cons_fixture_retry_after_leader_loss_applies_once(void **state)
{
    struct fx *x = *state;
    create_pool(x);
    /* The leader proposes, then is cut off before it can commit. */
    struct th_cmd cmd;
    acquire_cmd(x, &cmd, 5 * QM_MILLI);
    struct raft_apply req;
    struct applied a;
    assert_int_equal(propose(x, 0, &cmd, &req, &a), 0);
    for (unsigned j = 1; j < N; j++) {
        raft_fixture_saturate(x->f, 0, j);
        raft_fixture_saturate(x->f, j, 0);
    }
    raft_fixture_depose(x->f);
    assert_true(raft_fixture_step_until_has_leader(x->f, 10000));
    unsigned l = raft_fixture_leader_index(x->f);
    assert_int_not_equal(l, 0);
    assert_true(a.done);
    assert_int_not_equal(a.status, 0); /* outcome unknown to the client */
    /* The client retries the same session and sequence on the new leader. */
    assert_int_equal(run(x, &cmd), QM_OK);
    for (unsigned j = 1; j < N; j++) {
        raft_fixture_desaturate(x->f, 0, j);
        raft_fixture_desaturate(x->f, j, 0);
    }
    /* One more command so the healed server catches up to the end. */
    struct th_cmd more;
    acquire_cmd(x, &more, QM_MILLI);
    assert_int_equal(run(x, &more), QM_OK);
    assert_true(raft_fixture_step_until_applied(
        x->f, 0, raft_last_index(raft_fixture_get(x->f, l)), 10000));
    assert_converged(x);
    for (int i = 0; i < N; i++) {
        assert_int_equal(tokens_on(x, i), CAP - 6 * QM_MILLI);
    }
}

static void test_cons_fixture_lagging_server_restores_snapshot(void **state)
{
    struct fx *x = *state;
    create_pool(x);
    raft_fixture_kill(x->f, 2);
    struct th_cmd cmd;
    for (int k = 0; k < 60; k++) {
        acquire_cmd(x, &cmd, QM_MILLI);
        assert_int_equal(run(x, &cmd), QM_OK);
    }
    struct raft *leader = raft_fixture_get(x->f, 0);
    assert_true(leader->log.snapshot.last_index > 20);
    raft_fixture_revive(x->f, 2);
    assert_true(raft_fixture_step_until_applied(
        x->f, 2, raft_last_index(leader), 20000));
    /* Server 2 skipped the log it missed: it installed a snapshot. */
    assert_true(raft_fixture_get(x->f, 2)->log.snapshot.last_index > 0);
    assert_converged(x);
    assert_int_equal(tokens_on(x, 2), CAP - 60 * QM_MILLI);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cons_fixture_replicas_converge,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_cons_fixture_retry_after_leader_loss_applies_once, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_cons_fixture_lagging_server_restores_snapshot, setup,
            teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
