/* The raft node: set-up, start (bootstrap), the per-iteration check handle
 * (leadership watch, membership steps, batch flush, group commit), the
 * housekeeping timer, state queries and graceful close. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cons_internal.h"
#include "qm_alloc.h"
#include "qm_err.h"
#include "qm_log.h"

int cons__err_from_raft(int rv)
{
    switch (rv) {
        case 0:
            return QM_OK;
        case RAFT_NOTLEADER:
            return QM_NOT_LEADER;
        case RAFT_LEADERSHIPLOST:
        case RAFT_SHUTDOWN:
        case RAFT_CANTCHANGE:
        case RAFT_NOCONNECTION:
        case RAFT_BUSY:
            return QM_UNAVAILABLE;
        case RAFT_BADID:
        case RAFT_BADROLE:
        case RAFT_INVALID:
        case RAFT_MALFORMED:
        case RAFT_NAMETOOLONG:
        case RAFT_TOOBIG:
            return QM_INVALID;
        case RAFT_DUPLICATEID:
        case RAFT_DUPLICATEADDRESS:
            return QM_EXISTS;
        case RAFT_NOTFOUND:
            return QM_NOT_FOUND;
        default:
            return QM_INTERNAL;
    }
}

int64_t cons__wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const struct raft_server *cons__server(struct cons *c, uint64_t id)
{
    const struct raft_configuration *conf = &c->raft.configuration;
    for (unsigned i = 0; i < conf->n; i++) {
        if (conf->servers[i].id == id) {
            return &conf->servers[i];
        }
    }
    return NULL;
}

static const char *state_name(int s)
{
    switch (s) {
        case RAFT_FOLLOWER:
            return "follower";
        case RAFT_CANDIDATE:
            return "candidate";
        case RAFT_LEADER:
            return "leader";
        default:
            return "unavailable";
    }
}

static void noop_done(void *arg, int status, const char *message)
{
    (void)arg;
    (void)status;
    (void)message;
}

/* Notice leadership changes (0.15 has no state callback: poll, as dqlite's
 * monitor does). */
static void watch_state(struct cons *c)
{
    int s = raft_state(&c->raft);
    if (s == c->last_state) {
        return;
    }
    raft_id leader = 0;
    const char *addr = NULL;
    raft_leader(&c->raft, &leader, &addr);
    qm_log(QM_LOG_INFO, "CONS0002",
           "node %llu is %s term=%llu leader=%llu commit=%llu applied=%llu",
           (unsigned long long)c->id, state_name(s),
           (unsigned long long)c->raft.current_term, (unsigned long long)leader,
           (unsigned long long)c->raft.commit_index,
           (unsigned long long)raft_last_applied(&c->raft));
    int was = c->last_state;
    c->last_state = s;
    if (s == RAFT_LEADER) {
        /* 0.15 appends no entry of its own on election: a barrier commits
         * what earlier terms left (raft-guide.md §3.2). */
        cons_barrier(c, noop_done, NULL);
        cons__housekeeping(c);
    } else if (was == RAFT_LEADER) {
        c->tick_inflight = false;
        c->record_inflight = false;
        /* A change waiting on a raft or propose callback hears the outcome
         * from it (a transfer is even expected to end here); only one that
         * is between steps is abandoned. */
        if (c->chg.step != CHG_WAIT) {
            cons__change_abort(c, QM_NOT_LEADER, "lost leadership");
        }
    }
}

/* libraft 0.15 lets a follower become a candidate while it writes a
 * snapshot it was sent, then answers the leader as a candidate, reading the
 * leader's address from the candidate's half of a union: a crash seen here
 * (canonical/raft#343; 0.17 does not start elections during an install).
 * Do what 0.17 does, from outside: keep the election timer fresh while an
 * install runs. This runs every loop iteration, and raft's tick runs at
 * least every heartbeat, so the timer never gets near expiry. */
static void hold_elections_while_installing(struct cons *c)
{
    if (raft_state(&c->raft) == RAFT_FOLLOWER &&
        c->raft.snapshot.put.data != NULL) {
        c->raft.election_timer_start = c->raft.io->time(c->raft.io);
    }
}

/* libraft 0.15's TCP transport never sets TCP_NODELAY: a small
 * AppendEntries (or its result) sent while an earlier one is unacknowledged
 * waits for the peer's delayed ACK, 40 ms. Its sockets are libuv handles on
 * this loop, so set the option on them: the listener (accepted sockets
 * inherit it on Linux) and each connection, new ones included, from the
 * housekeeping timer. */
static void nodelay_one(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (h->type == UV_TCP && !uv_is_closing(h)) {
        uv_tcp_nodelay((uv_tcp_t *)h, 1);
    }
}

static void nodelay_all(struct cons *c)
{
    uv_walk(c->loop, nodelay_one, NULL);
}

static void commit_now(struct cons *c)
{
    if (fsm_flush(c->fsm) != QM_OK) {
        qm_log(QM_LOG_ERR, "CONS0003",
               "cannot commit the state machine; exiting (the log replays "
               "on restart)");
        _exit(3);
    }
    c->committed_ms = uv_now(c->loop);
}

static void on_commit_timer(uv_timer_t *h)
{
    commit_now(h->data);
}

/* Commit the state machine's group transaction at most every
 * CONS_COMMIT_MS. A commit writes its dirty pages and syncs twice, on this
 * thread and on the disk that raft's log shares; within the interval a
 * page written by many commands is written once. Replies do not wait for
 * it (the raft log is the truth and replays after a crash, fsm.h), and
 * reads see the open transaction. make bench at 256 in flight, a commit
 * per loop iteration against at most one per 10 ms: queue 9,816 against
 * 12,574 cycles/s, reserve-commit 14,875 against 19,499. */
static void group_commit(struct cons *c)
{
    if (!fsm_pending(c->fsm)) {
        return;
    }
    uint64_t since = uv_now(c->loop) - c->committed_ms;
    if (since >= CONS_COMMIT_MS) {
        uv_timer_stop(&c->commit_timer);
        commit_now(c);
    } else if (!uv_is_active((uv_handle_t *)&c->commit_timer)) {
        uv_timer_start(&c->commit_timer, on_commit_timer,
                       CONS_COMMIT_MS - since, 0);
    }
}

static void on_check(uv_check_t *h)
{
    struct cons *c = h->data;
    if (c->closing || !c->raft_inited) {
        uv_idle_stop(&c->idle);
        return;
    }
    watch_state(c);
    hold_elections_while_installing(c);
    cons__change_step(c);
    cons__flush(c);
    group_commit(c);
    uv_idle_stop(&c->idle);
}

static void on_idle(uv_idle_t *h)
{
    (void)h; /* exists only to keep the poll phase from blocking */
}

void cons__kick(struct cons *c)
{
    if (!c->closing) {
        uv_idle_start(&c->idle, on_idle);
    }
}

static void on_timer(uv_timer_t *h)
{
    struct cons *c = h->data;
    watch_state(c);
    cons__housekeeping(c);
    nodelay_all(c);
    cons__kick(c);
}

/* raft's entry counts as configured, and the byte bounds under them. */
static void budget_config(const struct cons_config *cfg,
                          struct cons_budget_config *bc)
{
    bc->period_bytes = CONS_LOG_PERIOD_BYTES;
    bc->trailing_bytes = CONS_LOG_TRAILING_BYTES;
    bc->threshold =
        cfg->snapshot_threshold > 0 ? cfg->snapshot_threshold : 16384;
    bc->trailing = cfg->snapshot_trailing > 0 ? cfg->snapshot_trailing : 8192;
}

int cons_init(struct cons **out,
              const struct cons_config *cfg,
              char err[QM_ERRMSG_SIZE])
{
    struct cons *c = qm_calloc(1, sizeof(*c));
    if (c == NULL) {
        snprintf(err, QM_ERRMSG_SIZE, "out of memory");
        return QM_ENOMEM;
    }
    c->loop = cfg->loop;
    c->fsm = cfg->fsm;
    c->id = cfg->id;
    snprintf(c->raft_addr, sizeof(c->raft_addr), "%s", cfg->raft_addr);
    snprintf(c->api_url, sizeof(c->api_url), "%s", cfg->api_url);
    c->bootstrap = cfg->bootstrap;
    c->tick_ms = cfg->tick_ms > 0 ? cfg->tick_ms : 1000;
    c->election_ms = cfg->election_ms > 0 ? cfg->election_ms : 250;
    unsigned heartbeat = cfg->heartbeat_ms > 0 ? cfg->heartbeat_ms : 50;
    struct cons_budget_config bc;
    budget_config(cfg, &bc);
    c->last_state = RAFT_UNAVAILABLE;
    cons__pipeline_init(c);
    if (cons_budget_init(&c->budget, &bc) != QM_OK) {
        snprintf(err, QM_ERRMSG_SIZE, "out of memory");
        cons__pipeline_close(c);
        qm_free(c);
        return QM_ENOMEM;
    }

    int rv = raft_uv_tcp_init(&c->tcp, c->loop);
    if (rv != 0) {
        snprintf(err, QM_ERRMSG_SIZE, "raft transport: %s", raft_strerror(rv));
        goto err_free;
    }
    rv = raft_uv_init(&c->io, c->loop, cfg->dir, &c->tcp);
    if (rv != 0) {
        snprintf(err, QM_ERRMSG_SIZE, "raft storage in %s: %s", cfg->dir,
                 c->io.errmsg);
        goto err_tcp;
    }
    /* 0.15 sets io->version = 1 although raft_uv implements async work;
     * version 3 state machines need 2 (raft-guide.md §2.4). */
    c->io.version = 2;
    c->glue.raft = &c->raft;
    c->glue.fsm = c->fsm;
    c->glue.budget = &c->budget;
    cons_fsm_init(&c->rfsm, &c->glue, true);
    rv = raft_init(&c->raft, &c->io, &c->rfsm, c->id, c->raft_addr);
    if (rv != 0) {
        snprintf(err, QM_ERRMSG_SIZE, "raft: %s", raft_errmsg(&c->raft));
        raft_uv_close(&c->io);
        goto err_tcp;
    }
    c->raft_inited = true;
    c->raft.data = c;
    raft_set_election_timeout(&c->raft, c->election_ms);
    raft_set_heartbeat_timeout(&c->raft, heartbeat);
    raft_set_pre_vote(&c->raft, true);
    /* The entry counts bound the log; the budget bounds its bytes. */
    raft_set_snapshot_threshold(&c->raft, bc.threshold);
    raft_set_snapshot_trailing(&c->raft, bc.trailing);
    /* 0.15's follower drops an InstallSnapshot that arrives while it takes
     * its own snapshot without answering (RAFT_BUSY in
     * replicationInstallSnapshot); the leader resends only after this
     * timeout, 30 s by default. */
    raft_set_install_snapshot_timeout(&c->raft, cfg->install_snapshot_ms > 0
                                                    ? cfg->install_snapshot_ms
                                                    : 5000);

    uv_check_init(c->loop, &c->check);
    uv_idle_init(c->loop, &c->idle);
    uv_timer_init(c->loop, &c->timer);
    uv_timer_init(c->loop, &c->commit_timer);
    c->check.data = c->idle.data = c->timer.data = c->commit_timer.data = c;
    c->open_handles = 4;
    uv_check_start(&c->check, on_check);
    *out = c;
    return QM_OK;

err_tcp:
    raft_uv_tcp_close(&c->tcp);
err_free:
    cons_budget_close(&c->budget);
    cons__pipeline_close(c);
    qm_free(c);
    return QM_EIO;
}

int cons_start(struct cons *c, char err[QM_ERRMSG_SIZE])
{
    if (c->bootstrap) {
        struct raft_configuration conf;
        raft_configuration_init(&conf);
        int rv = raft_configuration_add(&conf, c->id, c->raft_addr, RAFT_VOTER);
        if (rv == 0) {
            rv = raft_bootstrap(&c->raft, &conf);
        }
        raft_configuration_close(&conf);
        if (rv != 0 && rv != RAFT_CANTBOOTSTRAP) {
            snprintf(err, QM_ERRMSG_SIZE, "bootstrap: %s",
                     raft_errmsg(&c->raft));
            return QM_EIO;
        }
        if (rv == 0) {
            qm_log(QM_LOG_INFO, "CONS0004",
                   "bootstrapped a new cluster with node %llu at %s",
                   (unsigned long long)c->id, c->raft_addr);
        }
    }
    int rv = raft_start(&c->raft);
    if (rv != 0) {
        snprintf(err, QM_ERRMSG_SIZE, "raft start: %s", raft_errmsg(&c->raft));
        return QM_EIO;
    }
    nodelay_all(c);
    uv_timer_start(&c->timer, on_timer, c->tick_ms, c->tick_ms);
    qm_log(QM_LOG_INFO, "CONS0005",
           "raft started: node %llu at %s, applied=%llu last=%llu "
           "snapshot=%llu",
           (unsigned long long)c->id, c->raft_addr,
           (unsigned long long)raft_last_applied(&c->raft),
           (unsigned long long)raft_last_index(&c->raft),
           (unsigned long long)c->raft.log.snapshot.last_index);
    watch_state(c);
    cons__kick(c);
    return QM_OK;
}

/* ---- close ---- */

static void on_handle_closed(uv_handle_t *h)
{
    struct cons *c = h->data;
    if (--c->open_handles > 0) {
        return;
    }
    void (*cb)(void *) = c->close_cb;
    void *arg = c->close_arg;
    cons_budget_close(&c->budget);
    cons__pipeline_close(c);
    qm_free(c);
    if (cb != NULL) {
        cb(arg);
    }
}

static void on_raft_closed(struct raft *r)
{
    struct cons *c = r->data;
    raft_uv_close(&c->io);
    raft_uv_tcp_close(&c->tcp);
    uv_close((uv_handle_t *)&c->check, on_handle_closed);
    uv_close((uv_handle_t *)&c->idle, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->commit_timer, on_handle_closed);
}

static void close_raft(uv_timer_t *h)
{
    struct cons *c = h->data;
    qm_log(QM_LOG_INFO, "CONS0007", "closing raft");
    raft_close(&c->raft, on_raft_closed);
}

static void close_transfer_done(struct raft_transfer *req)
{
    struct cons *c = req->data;
    raft_id leader = 0;
    const char *addr = NULL;
    raft_leader(&c->raft, &leader, &addr);
    if (leader != c->id && leader != 0) {
        qm_log(QM_LOG_INFO, "CONS0006", "leadership handed to node %llu",
               (unsigned long long)leader);
    } else {
        qm_log(QM_LOG_INFO, "CONS0008",
               "no voter took leadership over; closing anyway");
    }
    /* Inside a raft callback: close from a timer instead. */
    uv_timer_start(&c->timer, close_raft, 0, 0);
}

static unsigned voters(struct cons *c)
{
    unsigned n = 0;
    for (unsigned i = 0; i < c->raft.configuration.n; i++) {
        n += c->raft.configuration.servers[i].role == RAFT_VOTER;
    }
    return n;
}

void cons_close(struct cons *c, void (*cb)(void *arg), void *arg)
{
    if (c->closing) {
        return;
    }
    c->closing = true;
    c->close_cb = cb;
    c->close_arg = arg;
    uv_timer_stop(&c->timer);
    uv_idle_stop(&c->idle);
    cons__change_abort(c, QM_UNAVAILABLE, "the node is shutting down");
    cons__fail_pending(c, QM_UNAVAILABLE);
    if (raft_state(&c->raft) == RAFT_LEADER && voters(c) > 1) {
        c->close_transfer.data = c;
        if (raft_transfer(&c->raft, &c->close_transfer, 0,
                          close_transfer_done) == 0) {
            return;
        }
    }
    close_raft(&c->timer);
}

/* ---- state ---- */

bool cons_is_leader(struct cons *c)
{
    return raft_state(&c->raft) == RAFT_LEADER;
}

bool cons_is_voter(struct cons *c)
{
    const struct raft_server *s = cons__server(c, c->id);
    return s != NULL && s->role == RAFT_VOTER;
}

static void api_url_of(struct cons *c, uint64_t id, char url[QM_URL_MAX + 1])
{
    struct tp_member m;
    url[0] = '\0';
    if (id == c->id) {
        snprintf(url, QM_URL_MAX + 1, "%s", c->api_url);
    } else if (id != 0 && fsm_member_get(c->fsm, id, &m) == QM_OK) {
        snprintf(url, QM_URL_MAX + 1, "%s", m.api_url);
    }
}

void cons_leader_url(struct cons *c, char url[QM_URL_MAX + 1])
{
    raft_id leader = 0;
    const char *addr = NULL;
    raft_leader(&c->raft, &leader, &addr);
    api_url_of(c, leader, url);
}

static uint64_t role_of(int role)
{
    switch (role) {
        case RAFT_VOTER:
            return TP_ROLE_VOTER;
        case RAFT_STANDBY:
            return TP_ROLE_STANDBY;
        default:
            return TP_ROLE_SPARE;
    }
}

void cons_info(struct cons *c, struct tp_node_info *o)
{
    memset(o, 0, sizeof(*o));
    o->id = c->id;
    switch (raft_state(&c->raft)) {
        case RAFT_FOLLOWER:
            o->state = TP_STATE_FOLLOWER;
            break;
        case RAFT_CANDIDATE:
            o->state = TP_STATE_CANDIDATE;
            break;
        case RAFT_LEADER:
            o->state = TP_STATE_LEADER;
            break;
        default:
            o->state = TP_STATE_UNAVAILABLE;
            break;
    }
    o->term = c->raft.current_term;
    o->commit_index = c->raft.commit_index;
    o->applied_index = raft_last_applied(&c->raft);
    o->last_index = raft_last_index(&c->raft);
    o->snapshot_index = c->raft.log.snapshot.last_index;
    raft_id leader = 0;
    const char *addr = NULL;
    raft_leader(&c->raft, &leader, &addr);
    o->leader_id = leader;
    api_url_of(c, leader, o->leader_url);
    snprintf(o->raft_addr, sizeof(o->raft_addr), "%s", c->raft_addr);
    snprintf(o->api_url, sizeof(o->api_url), "%s", c->api_url);
    o->clock_ms = fsm_clock(c->fsm);
    const struct raft_configuration *conf = &c->raft.configuration;
    for (unsigned i = 0; i < conf->n && o->nmembers < QM_MEMBERS_MAX; i++) {
        struct tp_member *m = &o->members[o->nmembers++];
        m->id = conf->servers[i].id;
        snprintf(m->raft_addr, sizeof(m->raft_addr), "%s",
                 conf->servers[i].address);
        api_url_of(c, m->id, m->api_url);
        m->role = role_of(conf->servers[i].role);
    }
}
