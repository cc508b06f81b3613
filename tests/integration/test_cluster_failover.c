/* Kill -9 the leader of a 3-node cluster while clients stream acquisitions.
 * After re-election: every acknowledged acquisition is reflected exactly
 * once, none that was refused is reflected, one whose outcome the client
 * could not learn is reflected at most once, and all members report the
 * same digest. The killed node restarts and catches up. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define STREAMS 4
#define CAPACITY (1000000000LL * QM_MILLI) /* no refill: exact accounting */
#define UNIT QM_MILLI

struct stream
{
    struct h_cluster *c;
    pthread_t thread;
    long ok, denied, unknown, failed;
    int64_t first_ok_after_kill; /* ms, 0 if none */
};

static atomic_bool stop;
static atomic_llong kill_time; /* ms; 0 before the kill */
static atomic_long total_ok;

static void *run_stream(void *arg)
{
    struct stream *s = arg;
    struct qm_options opt = {10000, 1000, NULL};
    struct qm_client *cl;
    char err[QM_ERRMSG_SIZE];
    H_CHECK(qm_client_new(&cl, s->c->urls, &opt, err) == QM_OK, "%s", err);
    while (!atomic_load(&stop)) {
        struct qm_acquire got;
        struct qm_result res;
        int64_t started = h_now_ms();
        int rv = qm_acquire(cl, "stream", UNIT, &got, &res);
        int64_t killed = atomic_load(&kill_time);
        if (rv == QM_OK) {
            s->ok++;
            atomic_fetch_add(&total_ok, 1);
            /* Only a call that began after the kill proves writes work. */
            if (killed != 0 && started > killed &&
                s->first_ok_after_kill == 0) {
                s->first_ok_after_kill = h_now_ms();
            }
        } else if (rv == QM_DENIED) {
            s->denied++;
        } else if (rv == QM_ETIMEDOUT || rv == QM_ECONN ||
                   rv == QM_UNAVAILABLE) {
            s->unknown++;
            h_log("stream: outcome unknown: %s (%s)", qm_errname(rv),
                  res.message);
        } else {
            s->failed++;
            h_log("stream: failed: %s (%s)", qm_errname(rv), res.message);
        }
    }
    qm_client_free(cl);
    return NULL;
}

static int64_t pool_tokens(struct h_cluster *c)
{
    struct qm_pool p;
    struct qm_result res;
    int rv = qm_pool_get(c->client, "stream", false, &p, &res);
    H_CHECK(rv == QM_OK, "pool get: %s", res.message);
    return p.tokens;
}

static void wait_total(long n, int timeout_ms)
{
    int64_t deadline = h_now_ms() + timeout_ms;
    while (atomic_load(&total_ok) < n) {
        H_CHECK(h_now_ms() < deadline, "only %ld of %ld acquisitions acked",
                atomic_load(&total_ok), n);
        h_sleep_ms(10);
    }
}

int main(void)
{
    struct h_cluster c;
    h_cluster_init(&c, "failover", 3);
    h_cluster_start(&c);

    struct qm_result res;
    struct qm_pool_spec spec = {
        .name = "stream", .capacity = CAPACITY, .price = 1000};
    H_CHECK(qm_pool_create(c.client, &spec, &res) == QM_OK, "create: %s",
            res.message);

    struct stream s[STREAMS];
    memset(s, 0, sizeof(s));
    for (int i = 0; i < STREAMS; i++) {
        s[i].c = &c;
        pthread_create(&s[i].thread, NULL, run_stream, &s[i]);
    }
    wait_total(300, 30000);

    int leader = h_wait_leader(&c, 5000);
    long before = atomic_load(&total_ok);
    atomic_store(&kill_time, h_now_ms());
    int code = h_node_stop(&c, leader, SIGKILL);
    H_CHECK(code == 128 + SIGKILL, "kill -9 gave %d", code);
    h_log("killed leader node %d after %ld acks", leader + 1, before);

    wait_total(before + 300, 30000);
    atomic_store(&stop, true);
    long ok = 0, denied = 0, unknown = 0, failed = 0;
    int64_t first = 0;
    for (int i = 0; i < STREAMS; i++) {
        pthread_join(s[i].thread, NULL);
        ok += s[i].ok;
        denied += s[i].denied;
        unknown += s[i].unknown;
        failed += s[i].failed;
        if (s[i].first_ok_after_kill != 0 &&
            (first == 0 || s[i].first_ok_after_kill < first)) {
            first = s[i].first_ok_after_kill;
        }
    }
    h_log(
        "acks %ld, denied %ld, unknown %ld, failed %ld; writes succeeded "
        "again %lld ms after the kill",
        ok, denied, unknown, failed,
        (long long)(first - atomic_load(&kill_time)));
    H_CHECK(denied == 0 && failed == 0, "unexpected refusals or failures");

    int new_leader = h_wait_leader(&c, 10000);
    H_CHECK(new_leader != leader, "the dead node still leads");
    int64_t taken = (CAPACITY - pool_tokens(&c)) / UNIT;
    h_log("pool shows %lld acquisitions; clients saw %ld acked, %ld unknown",
          (long long)taken, ok, unknown);
    H_CHECK(taken >= ok && taken <= ok + unknown,
            "pool reflects %lld acquisitions, acked %ld, unknown %ld",
            (long long)taken, ok, unknown);
    h_wait_converged(&c, 15000);

    /* The killed node restarts as the member it was and catches up. */
    h_node_start(&c, leader, false);
    h_wait_voters(&c, 3, 20000);
    h_wait_converged(&c, 30000);
    struct qm_node_info info;
    H_CHECK(h_info(&c, leader, &info) == QM_OK, "restarted node answers");
    H_CHECK(info.state == QM_STATE_FOLLOWER || info.state == QM_STATE_LEADER,
            "restarted node is a member (state %d)", info.state);

    /* A refused acquisition changes nothing. */
    int64_t t0 = pool_tokens(&c);
    struct qm_acquire got;
    int rv = qm_acquire(c.client, "stream", CAPACITY, &got, &res);
    H_CHECK(rv == QM_DENIED, "acquire of everything: %s", qm_errname(rv));
    H_CHECK(pool_tokens(&c) == t0, "a refused acquisition took tokens");
    h_wait_converged(&c, 15000);

    h_cluster_stop(&c);
    printf("failover: ok (%lld ms to the first write after the kill)\n",
           (long long)(first - atomic_load(&kill_time)));
    return 0;
}
