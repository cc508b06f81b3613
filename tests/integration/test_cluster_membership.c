/* Membership: transfer leadership, remove a member (also the leader
 * itself), keep serving with two, add the member back (still running with
 * its old data, then wiped and re-joined with --join), and refuse bad
 * changes with clear statuses. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static void write_ok(struct h_cluster *c, const char *what)
{
    struct qm_acquire got;
    struct qm_result res;
    int rv = qm_acquire(c->client, "m", QM_MILLI, &got, &res);
    H_CHECK(rv == QM_OK, "%s: acquire: %s (%s)", what, qm_errname(rv),
            res.message);
}

int main(void)
{
    struct h_cluster c;
    h_cluster_init(&c, "membership", 3);
    h_cluster_start(&c);
    struct qm_result res;
    struct qm_pool_spec spec = {.name = "m", .capacity = 1000 * QM_MILLI};
    H_CHECK(qm_pool_create(c.client, &spec, &res) == QM_OK, "create: %s",
            res.message);

    /* Transfer to a chosen follower. */
    int leader = h_wait_leader(&c, 5000);
    int target = (leader + 1) % 3;
    int rv = qm_member_transfer(c.client, c.nodes[target].id, &res);
    H_CHECK(rv == QM_OK, "transfer: %s (%s)", qm_errname(rv), res.message);
    H_CHECK(h_wait_leader(&c, 5000) == target, "node %d does not lead",
            target + 1);
    write_ok(&c, "after transfer");

    /* Bad changes. */
    rv = qm_member_transfer(c.client, 99, &res);
    H_CHECK(rv == QM_INVALID, "transfer to a stranger: %s", qm_errname(rv));
    rv = qm_member_remove(c.client, 99, &res);
    H_CHECK(rv == QM_NOT_FOUND, "remove a stranger: %s", qm_errname(rv));
    rv = qm_member_add(c.client, 2, "127.0.0.1:1", "tcp://127.0.0.1:1", &res);
    H_CHECK(rv == QM_EXISTS, "add id 2 at another address: %s", qm_errname(rv));
    rv = qm_member_add(c.client, 9, "not-an-address", "tcp://x:1", &res);
    H_CHECK(rv == QM_INVALID, "add with a bad address: %s", qm_errname(rv));

    /* Remove a follower; two voters keep serving. */
    leader = h_wait_leader(&c, 5000);
    int gone = (leader + 1) % 3;
    rv = qm_member_remove(c.client, c.nodes[gone].id, &res);
    H_CHECK(rv == QM_OK, "remove: %s (%s)", qm_errname(rv), res.message);
    h_wait_voters(&c, 2, 10000);
    write_ok(&c, "with two voters");

    /* Add it back while it still runs with its old data. */
    rv = qm_member_add(c.client, c.nodes[gone].id, c.nodes[gone].raft,
                       c.nodes[gone].api, &res);
    H_CHECK(rv == QM_OK, "re-add: %s (%s)", qm_errname(rv), res.message);
    h_wait_voters(&c, 3, 20000);
    write_ok(&c, "after re-adding");
    h_wait_converged(&c, 20000);

    /* Remove the leader itself: leadership moves first, then it goes. */
    leader = h_wait_leader(&c, 5000);
    rv = qm_member_remove(c.client, c.nodes[leader].id, &res);
    H_CHECK(rv == QM_OK, "remove the leader: %s (%s)", qm_errname(rv),
            res.message);
    h_wait_voters(&c, 2, 10000);
    write_ok(&c, "after the leader left");

    /* The removed node is stopped, wiped and joins again as new. */
    H_CHECK(h_node_stop(&c, leader, SIGTERM) == 0, "clean stop");
    h_node_wipe(&c, leader);
    h_node_start(&c, leader, true);
    h_wait_voters(&c, 3, 30000);
    write_ok(&c, "after the re-join");
    h_wait_converged(&c, 20000);

    struct qm_pool p;
    H_CHECK(qm_pool_get(c.client, "m", false, &p, &res) == QM_OK, "get");
    H_CHECK(p.tokens == 995 * QM_MILLI, "pool shows %lld milli-units",
            (long long)p.tokens);
    h_cluster_stop(&c);
    printf("membership: ok\n");
    return 0;
}
