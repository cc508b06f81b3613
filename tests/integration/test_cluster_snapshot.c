/* A follower that was down while the leader took snapshots and dropped the
 * log it missed catches up from a snapshot (InstallSnapshot) when it comes
 * back, and ends with the same digest. Small thresholds force snapshots. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static void acquire_many(struct h_cluster *c, int n)
{
    for (int i = 0; i < n; i++) {
        struct qm_acquire got;
        struct qm_result res;
        int rv = qm_acquire(c->client, "snap", QM_MILLI, &got, &res);
        H_CHECK(rv == QM_OK, "acquire %d: %s (%s)", i, qm_errname(rv),
                res.message);
    }
}

int main(void)
{
    struct h_cluster c;
    h_cluster_init(&c, "snapshot", 3);
    h_cluster_flag(&c, "--snapshot-threshold=64");
    h_cluster_flag(&c, "--snapshot-trailing=16");
    h_cluster_start(&c);

    struct qm_result res;
    struct qm_pool_spec spec = {.name = "snap", .capacity = 1000000 * QM_MILLI};
    H_CHECK(qm_pool_create(c.client, &spec, &res) == QM_OK, "create: %s",
            res.message);
    acquire_many(&c, 50);
    h_wait_converged(&c, 15000);

    int leader = h_wait_leader(&c, 5000);
    int victim = (leader + 1) % 3;
    struct qm_node_info before;
    H_CHECK(h_info(&c, victim, &before) == QM_OK, "victim info");
    H_CHECK(h_node_stop(&c, victim, SIGKILL) == 128 + SIGKILL, "kill");
    h_log("stopped follower %d at applied index %llu", victim + 1,
          (unsigned long long)before.applied_index);

    /* Sequential writes: one entry each, far past threshold + trailing. */
    acquire_many(&c, 400);
    leader = h_wait_leader(&c, 5000);
    struct qm_node_info li;
    H_CHECK(h_info(&c, leader, &li) == QM_OK, "leader info");
    h_log("leader snapshot at %llu, log ends at %llu",
          (unsigned long long)li.snapshot_index,
          (unsigned long long)li.last_index);
    H_CHECK(li.snapshot_index > before.applied_index + 16,
            "leader snapshot %llu does not cover what the follower missed "
            "(%llu)",
            (unsigned long long)li.snapshot_index,
            (unsigned long long)before.applied_index);

    h_node_start(&c, victim, false);
    h_wait_converged(&c, 30000);
    struct qm_node_info after;
    H_CHECK(h_info(&c, victim, &after) == QM_OK, "victim info");
    H_CHECK(after.snapshot_index > before.applied_index,
            "follower did not install a snapshot (its snapshot index %llu)",
            (unsigned long long)after.snapshot_index);
    h_log("follower %d installed snapshot %llu and applied %llu", victim + 1,
          (unsigned long long)after.snapshot_index,
          (unsigned long long)after.applied_index);

    /* It restarts once more from its own snapshot and log. */
    H_CHECK(h_node_stop(&c, victim, SIGTERM) == 0, "clean stop");
    acquire_many(&c, 20);
    h_node_start(&c, victim, false);
    h_wait_converged(&c, 30000);

    struct qm_pool p;
    H_CHECK(qm_pool_get(c.client, "snap", false, &p, &res) == QM_OK, "get");
    H_CHECK(p.tokens == (1000000 - 470) * QM_MILLI,
            "pool shows %lld milli-units", (long long)p.tokens);
    h_cluster_stop(&c);
    printf("snapshot: ok\n");
    return 0;
}
