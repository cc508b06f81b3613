/* Several clients reserve and commit concurrently from one pool while the
 * leader is killed. Afterwards: what the pool gave out never exceeds its
 * capacity plus its refill over the elapsed cluster time, no reservation is
 * charged twice, every client's books add up, and all members report the
 * same digest. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

#define CLIENTS 4
#define CAPACITY (100 * QM_MILLI)
#define REFILL (40 * QM_MILLI) /* per second */
#define PRICE 1000000LL        /* nano-dollars: $0.001 per unit */
#define TAKE (4 * QM_MILLI)    /* reserved each time */
#define USE (3 * QM_MILLI)     /* committed as used */
#define CHARGE 3000LL          /* micro-dollars per commit */

struct worker
{
    struct h_cluster *c;
    char id[16];
    pthread_t thread;
    long reserved, committed, denied;
    long reserve_unknown, commit_unknown, failed;
};

static atomic_bool stop;

static bool unknown(int rv)
{
    return rv == QM_ETIMEDOUT || rv == QM_ECONN || rv == QM_UNAVAILABLE;
}

static void *run(void *arg)
{
    struct worker *w = arg;
    struct qm_options opt = {8000, 1000, NULL};
    struct qm_client *cl;
    char err[QM_ERRMSG_SIZE];
    H_CHECK(qm_client_new(&cl, w->c->urls, &opt, err) == QM_OK, "%s", err);
    struct qm_amount want = {"api", TAKE};
    while (!atomic_load(&stop)) {
        struct qm_reserve r;
        struct qm_result res;
        int rv = qm_reserve(cl, w->id, 20000, &want, 1, &r, &res);
        if (rv == QM_DENIED) {
            w->denied++;
            int64_t wait = res.retry_after_ms;
            h_sleep_ms(wait > 0 && wait < 50 ? (int)wait : 50);
            continue;
        }
        if (unknown(rv)) {
            w->reserve_unknown++;
            continue;
        }
        if (rv != QM_OK) {
            w->failed++;
            h_log("%s: reserve: %s (%s)", w->id, qm_errname(rv), res.message);
            continue;
        }
        w->reserved++;
        int64_t cost = 0;
        rv = qm_commit_one(cl, r.id, USE, &cost, &res);
        if (rv == QM_OK) {
            H_CHECK(cost == CHARGE, "commit charged %lld", (long long)cost);
            w->committed++;
        } else if (unknown(rv)) {
            w->commit_unknown++;
        } else {
            w->failed++;
            h_log("%s: commit r%llu: %s (%s)", w->id, (unsigned long long)r.id,
                  qm_errname(rv), res.message);
        }
    }
    qm_client_free(cl);
    return NULL;
}

/* Sum of what open reservations hold, per client and in all. */
static int64_t open_held(struct h_cluster *c,
                         const char *client,
                         unsigned *count)
{
    struct qm_reservation page[QM_PAGE_MAX];
    uint64_t after = 0;
    bool more = true;
    int64_t sum = 0;
    *count = 0;
    while (more) {
        unsigned n;
        struct qm_result res;
        int rv = qm_reservation_list(c->client, client, after, false, page,
                                     QM_PAGE_MAX, &n, &more, &res);
        H_CHECK(rv == QM_OK, "reservation list: %s", res.message);
        for (unsigned i = 0; i < n; i++) {
            sum += page[i].amounts[0].amount;
            after = page[i].id;
        }
        *count += n;
        if (n == 0) {
            break;
        }
    }
    return sum;
}

/* One client's books: spent is a whole number of commits, matching the
 * units used; open reservations match the client record. Returns the
 * number of commits the cluster applied. */
static long check_books(struct h_cluster *c,
                        const struct worker *w,
                        int64_t *units)
{
    struct qm_usage u;
    struct qm_pool_usage pools[4];
    unsigned n;
    bool more;
    struct qm_result res;
    int rv = qm_usage(c->client, w->id, 0, NULL, false, &u, pools, 4, &n, &more,
                      &res);
    H_CHECK(rv == QM_OK, "usage %s: %s", w->id, res.message);
    H_CHECK(u.spent % CHARGE == 0, "%s spent %lld micro-dollars", w->id,
            (long long)u.spent);
    long applied = (long)(u.spent / CHARGE);
    *units = n == 1 ? pools[0].units : 0;
    H_CHECK(*units == applied * USE,
            "%s used %lld milli-units for %ld "
            "commits",
            w->id, (long long)*units, applied);
    H_CHECK(
        applied >= w->committed && applied <= w->committed + w->commit_unknown,
        "%s: %ld commits applied; %ld acknowledged, %ld unknown", w->id,
        applied, w->committed, w->commit_unknown);
    struct qm_client_info ci;
    rv = qm_client_get(c->client, w->id, false, &ci, &res);
    H_CHECK(rv == QM_OK, "client get: %s", res.message);
    unsigned open;
    open_held(c, w->id, &open);
    H_CHECK(ci.open == open, "%s: record says %llu open, list has %u", w->id,
            (unsigned long long)ci.open, open);
    H_CHECK(ci.reserved == (int64_t)open * 4000, "%s holds %lld for %u open",
            w->id, (long long)ci.reserved, open);
    return applied;
}

int main(void)
{
    struct h_cluster c;
    h_cluster_init(&c, "ledger", 3);
    h_cluster_start(&c);
    struct qm_result res;
    struct qm_pool_spec spec = {
        .name = "api", .capacity = CAPACITY, .refill = REFILL, .price = PRICE};
    H_CHECK(qm_pool_create(c.client, &spec, &res) == QM_OK, "pool: %s",
            res.message);
    struct qm_pool pool;
    H_CHECK(qm_pool_get(c.client, "api", false, &pool, &res) == QM_OK,
            "pool get");
    struct worker w[CLIENTS];
    memset(w, 0, sizeof(w));
    for (int i = 0; i < CLIENTS; i++) {
        w[i].c = &c;
        snprintf(w[i].id, sizeof(w[i].id), "client%d", i + 1);
        H_CHECK(qm_client_create(c.client, w[i].id, QM_TIER_ENTERPRISE, true,
                                 1000 * QM_MICRO, &res) == QM_OK,
                "client: %s", res.message);
    }
    for (int i = 0; i < CLIENTS; i++) {
        pthread_create(&w[i].thread, NULL, run, &w[i]);
    }
    h_sleep_ms(1500);
    int leader = h_wait_leader(&c, 5000);
    H_CHECK(h_node_stop(&c, leader, SIGKILL) == 128 + SIGKILL, "kill");
    h_log("killed leader node %d", leader + 1);
    h_sleep_ms(3500);
    atomic_store(&stop, true);
    long committed = 0, unknowns = 0;
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(w[i].thread, NULL);
        h_log(
            "%s: %ld reserved, %ld committed, %ld denied, %ld+%ld unknown, "
            "%ld failed",
            w[i].id, w[i].reserved, w[i].committed, w[i].denied,
            w[i].reserve_unknown, w[i].commit_unknown, w[i].failed);
        H_CHECK(w[i].failed == 0, "%s had failures", w[i].id);
        committed += w[i].committed;
        unknowns += w[i].reserve_unknown + w[i].commit_unknown;
    }
    H_CHECK(committed > 0, "nothing was committed");
    h_wait_converged(&c, 20000);

    /* Books per client; units used in all. */
    int64_t used = 0;
    for (int i = 0; i < CLIENTS; i++) {
        int64_t units;
        check_books(&c, &w[i], &units);
        used += units;
    }
    /* What left the pool: used units plus what open reservations hold;
     * never more than capacity + refill over the elapsed cluster time. */
    unsigned open;
    int64_t held = open_held(&c, NULL, &open);
    int l = h_wait_leader(&c, 5000);
    struct qm_node_info info;
    H_CHECK(h_info(&c, l, &info) == QM_OK, "leader info");
    int64_t elapsed = info.clock_ms - pool.created_ms;
    int64_t bound = CAPACITY + REFILL * elapsed / 1000;
    h_log(
        "gave out %lld milli-units (%lld used, %lld held in %u open) over "
        "%lld ms; bound %lld; %ld unknown outcomes",
        (long long)(used + held), (long long)used, (long long)held, open,
        (long long)elapsed, (long long)bound, unknowns);
    H_CHECK(used + held <= bound, "the pool gave out %lld > %lld",
            (long long)(used + held), (long long)bound);
    H_CHECK(open <= (unsigned)unknowns, "%u reservations left open", open);

    /* The killed node comes back with the same books. */
    h_node_start(&c, leader, false);
    h_wait_voters(&c, 3, 20000);
    h_wait_converged(&c, 30000);
    h_cluster_stop(&c);
    printf("ledger: ok (%ld commits)\n", committed);
    return 0;
}
