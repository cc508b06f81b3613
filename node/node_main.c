/* qmd: start-up, the node's timer, and clean shutdown on SIGTERM/SIGINT. */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"
#include "node_http.h"
#include "node_join.h"
#include "qm_alloc.h"
#include "qm_err.h"
#include "qm_log.h"

#define NODE_TICK_MS 500

void node_publish_info(struct node *n)
{
    struct tp_node_info *tmp = qm_malloc(sizeof(*tmp));
    if (tmp == NULL) {
        return;
    }
    cons_info(n->cons, tmp);
    pthread_mutex_lock(&n->info_mu);
    n->info = *tmp;
    pthread_mutex_unlock(&n->info_mu);
    qm_free(tmp);
}

/* Ask to be added (joining) or to have our API address recorded. */
static void maybe_register(struct node *n)
{
    if (n->join == NULL || node_join_busy(n->join)) {
        return;
    }
    if (!cons_is_voter(n->cons)) {
        if (n->joining) {
            node_join_request(n->join, n->cfg.join);
        }
        return;
    }
    if (n->joining) {
        qm_log(QM_LOG_INFO, "NODE0030", "node %llu is a voter now",
               (unsigned long long)n->cfg.id);
        n->joining = false;
    }
    if (cons_is_leader(n->cons)) {
        return; /* the leader records itself (consensus housekeeping) */
    }
    struct tp_member m;
    int rv = fsm_member_get(n->fsm, n->cfg.id, &m);
    if (rv == QM_OK && strcmp(m.api_url, n->cfg.api_addr) == 0) {
        return;
    }
    char url[QM_URL_MAX + 1];
    cons_leader_url(n->cons, url);
    node_join_request(n->join, url[0] != '\0' ? url : n->cfg.join);
}

static void on_timer(uv_timer_t *h)
{
    struct node *n = h->data;
    node_publish_info(n);
    maybe_register(n);
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

static void close_signals(struct node *n)
{
    uv_close((uv_handle_t *)&n->sigterm, on_closed);
    uv_close((uv_handle_t *)&n->sigint, on_closed);
}

static void on_cons_closed(void *arg)
{
    struct node *n = arg;
    n->cons = NULL;
    qm_log(QM_LOG_INFO, "NODE0003", "raft closed");
    close_signals(n);
}

static void shutdown_node(struct node *n)
{
    if (n->stopping) {
        return;
    }
    n->stopping = true;
    if (n->srv != NULL) {
        tp_server_close(n->srv); /* no new requests; replies are dropped */
    }
    node_join_stop(n->join);
    n->join = NULL;
    node_http_stop(n->http);
    n->http = NULL;
    uv_timer_stop(&n->timer);
    uv_close((uv_handle_t *)&n->timer, on_closed);
    uv_close((uv_handle_t *)&n->wake, on_closed);
    /* The signal watchers stay until raft is closed, so that a second
     * SIGTERM during shutdown is only logged. */
    if (n->cons != NULL) {
        cons_close(n->cons, on_cons_closed, n);
    } else {
        close_signals(n);
    }
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct node *n = h->data;
    const char *name = signum == SIGTERM ? "SIGTERM" : "SIGINT";
    if (n->stopping) {
        qm_log(QM_LOG_NOTICE, "NODE0008", "received %s: already shutting down",
               name);
        return;
    }
    qm_log(QM_LOG_INFO, "NODE0001", "received %s: shutting down", name);
    shutdown_node(n);
}

/* Open the state machine; wipe it when raft's own data is gone, since the
 * state then comes back from the cluster (raft-guide.md §2.3). */
static int open_state(struct node *n, char err[QM_ERRMSG_SIZE])
{
    struct fsm_config fc = {
        .dir = n->data.state_dir,
        .map_size = (size_t)n->cfg.map_size_mb << 20,
        .sync = n->cfg.sync,
    };
    int rv = fsm_open(&n->fsm, &fc, err);
    if (rv != QM_OK) {
        return rv;
    }
    if (!n->data.raft_has_state && fsm_applied_index(n->fsm) > 0) {
        qm_log(QM_LOG_WARN, "NODE0004",
               "raft data is gone but the state database is at index %llu: "
               "wiping it",
               (unsigned long long)fsm_applied_index(n->fsm));
        rv = fsm_wipe(n->fsm);
        if (rv != QM_OK) {
            snprintf(err, QM_ERRMSG_SIZE, "wipe state: %s", qm_strerror(rv));
        }
    }
    return rv;
}

static int start(struct node *n, char err[QM_ERRMSG_SIZE])
{
    int rv = node_data_open(&n->data, n->cfg.data_dir, n->cfg.id, err);
    if (rv != QM_OK) {
        return rv;
    }
    rv = open_state(n, err);
    if (rv != QM_OK) {
        return rv;
    }
    bool join = n->cfg.join[0] != '\0';
    n->joining = join;
    struct cons_config cc = {
        .id = n->cfg.id,
        .raft_addr = n->cfg.raft_addr,
        .api_url = n->cfg.api_addr,
        .dir = n->data.raft_dir,
        .bootstrap = !n->data.raft_has_state && !join,
        .election_ms = n->cfg.election_ms,
        .heartbeat_ms = n->cfg.heartbeat_ms,
        .snapshot_threshold = n->cfg.snapshot_threshold,
        .snapshot_trailing = n->cfg.snapshot_trailing,
        .install_snapshot_ms = n->cfg.install_snapshot_ms,
        .fsm = n->fsm,
        .loop = &n->loop,
    };
    rv = cons_init(&n->cons, &cc, err);
    if (rv != QM_OK) {
        n->cons = NULL;
        return rv;
    }
    rv = cons_start(n->cons, err);
    if (rv != QM_OK) {
        return rv;
    }
    rv = tp_server_start(&n->srv, n->cfg.api_addr, n->cfg.api_contexts,
                         sizeof(struct node_req), node_serve_request, n, err);
    if (rv != QM_OK) {
        return rv;
    }
    if (n->cfg.http_addr[0] != '\0') {
        rv = node_http_start(&n->http, n, n->cfg.http_addr, err);
        if (rv != QM_OK) {
            return rv;
        }
    }
    struct tp_member self;
    memset(&self, 0, sizeof(self));
    self.id = n->cfg.id;
    snprintf(self.raft_addr, sizeof(self.raft_addr), "%s", n->cfg.raft_addr);
    snprintf(self.api_url, sizeof(self.api_url), "%s", n->cfg.api_addr);
    rv = node_join_start(&n->join, &self);
    if (rv != QM_OK) {
        snprintf(err, QM_ERRMSG_SIZE, "registrar thread: %s", qm_strerror(rv));
        return rv;
    }
    uv_timer_start(&n->timer, on_timer, 0, NODE_TICK_MS);
    uv_signal_start(&n->sigterm, on_signal, SIGTERM);
    uv_signal_start(&n->sigint, on_signal, SIGINT);
    qm_log(QM_LOG_NOTICE, "NODE0000",
           "node %llu serving on %s (raft %s, http %s, data %s)%s",
           (unsigned long long)n->cfg.id, n->cfg.api_addr, n->cfg.raft_addr,
           n->cfg.http_addr[0] ? n->cfg.http_addr : "off", n->cfg.data_dir,
           n->data.raft_has_state ? ""
           : join                 ? "; joining"
                                  : "; new cluster");
    return QM_OK;
}

/* Pin glibc's mmap threshold (its default, 128 KiB) before any thread
 * starts. Left dynamic, the threshold rises to the size of every large
 * block freed, up to 32 MiB, and the trim threshold to twice that: after
 * the first snapshot, the next snapshot buffer (the whole state, ~17 MiB
 * with the bench's population), raft entries of large batches and big nng
 * messages are carved from the per-thread arenas instead, and the freed
 * memory never goes back to the system (make bench: ~35 MiB of free heap
 * held per node). Pinned, blocks of 128 KiB and more are mapped and
 * unmapped on their own and arena tops are trimmed past 128 KiB. */
static void tune_malloc(void)
{
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    mallopt(M_TRIM_THRESHOLD, 128 * 1024);
#endif
}

int main(int argc, char **argv)
{
    tune_malloc();
    /* A dead peer would otherwise kill us (raft-guide.md §5). */
    signal(SIGPIPE, SIG_IGN);
    struct node *n = qm_calloc(1, sizeof(*n));
    if (n == NULL) {
        fprintf(stderr, "qmd: out of memory\n");
        return 1;
    }
    char err[QM_ERRMSG_SIZE] = "";
    int rv = node_config_load(&n->cfg, argc, argv, err);
    if (rv != NODE_CONFIG_OK) {
        if (rv == NODE_CONFIG_ERROR) {
            fprintf(stderr, "qmd: %s\n", err);
        }
        qm_free(n);
        return rv == NODE_CONFIG_EXIT ? 0 : 2;
    }
    char prefix[48];
    snprintf(prefix, sizeof(prefix), "qmd[%llu]",
             (unsigned long long)n->cfg.id);
    qm_log_set_prefix(prefix);
    qm_log_set_level(n->cfg.log_level);

    pthread_mutex_init(&n->info_mu, NULL);
    node_serve_init(n);
    n->data.lock_fd = -1;
    uv_loop_init(&n->loop);
    uv_async_init(&n->loop, &n->wake, node_serve_drain);
    uv_timer_init(&n->loop, &n->timer);
    uv_signal_init(&n->loop, &n->sigterm);
    uv_signal_init(&n->loop, &n->sigint);
    n->wake.data = n->timer.data = n->sigterm.data = n->sigint.data = n;

    int status = 0;
    rv = start(n, err);
    if (rv != QM_OK) {
        qm_log(QM_LOG_ERR, "NODE0005", "cannot start: %s", err);
        status = 1;
        shutdown_node(n);
    }
    uv_run(&n->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&n->loop) != 0) {
        qm_log(QM_LOG_WARN, "NODE0006", "event loop closed with live handles");
    }
    tp_server_free(n->srv);
    fsm_close(n->fsm);
    node_data_close(&n->data);
    node_serve_close(n);
    qm_buf_close(&n->out);
    qm_buf_close(&n->result);
    pthread_mutex_destroy(&n->qmu);
    pthread_mutex_destroy(&n->info_mu);
    if (status == 0) {
        qm_log(QM_LOG_INFO, "NODE0007", "stopped cleanly");
    }
    qm_free(n);
    return status;
}
