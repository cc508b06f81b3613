/* qmd: the node object that ties the parts together. The main thread runs
 * the libuv loop that owns raft, the state machine and everything below;
 * nng threads only decode requests and queue them (node_serve.c). */
#ifndef QM_NODE_NODE_H
#define QM_NODE_NODE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <uv.h>

#include "cons.h"
#include "fsm.h"
#include "node_config.h"
#include "node_data.h"
#include "node_metrics.h"
#include "qm_mp.h"
#include "tp_msg.h"
#include "tp_server.h"

struct node_http;
struct node_join;

/* One request, in the memory of the server context that received it. */
struct node_req
{
    struct node *n;
    struct tp_call *call;
    struct tp_decoded d; /* spans point into the request message */
    struct node_req *next;
};

/* Counters the HTTP endpoint shows; updated with relaxed atomics. */
struct node_counters
{
    atomic_ullong requests;
    atomic_ullong invalid;
    atomic_ullong writes;
    atomic_ullong reads;
    atomic_ullong redirects;
    atomic_ullong unavailable;
};

struct node
{
    struct node_config cfg;
    struct node_data data;
    uv_loop_t loop;
    uv_async_t wake;
    uv_signal_t sigterm;
    uv_signal_t sigint;
    uv_timer_t timer;
    struct fsm *fsm;
    struct cons *cons;
    struct tp_server *srv;
    struct node_http *http;
    struct node_join *join;
    bool stopping;
    bool joining; /* started with --join and not yet a voter */

    /* nng threads -> loop */
    pthread_mutex_t qmu;
    struct node_req *qhead;
    struct node_req **qtail;

    struct qm_buf out;             /* loop: reply being encoded */
    struct qm_buf result;          /* loop: result being encoded */
    struct node_metrics metrics;   /* loop: agents' samples (leader) */
    struct tp_metrics_page *mpage; /* loop: scratch for metrics pages */
    struct node_counters counters;

    /* Published by the loop for the HTTP threads. */
    pthread_mutex_t info_mu;
    struct tp_node_info info;
};

/* node_serve.c */
void node_serve_init(struct node *n);
/* loop: free what serving holds (after the server is closed). */
void node_serve_close(struct node *n);
/* nng thread: a request arrived (tp_server_cb). */
void node_serve_request(void *arg,
                        struct tp_call *call,
                        const void *data,
                        size_t len);
/* loop: serve everything queued (uv_async callback). */
void node_serve_drain(uv_async_t *h);

/* loop: copy raft's view for the HTTP threads. */
void node_publish_info(struct node *n);

#endif
