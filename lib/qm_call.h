/* libqm internals: the client object and the call state machine that the
 * typed functions of qm_api.c, qmctl and qm-agent are built on. Not part of
 * the installed API. Thread rules as in qm.h. */
#ifndef QM_LIB_QM_CALL_H
#define QM_LIB_QM_CALL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "qm.h"
#include "qm_codec.h"
#include "tp_client.h"
#include "tp_msg.h"

#define QM_CLIENT_NODES_MAX 32

struct qm_session
{
    uint64_t id;
    uint64_t seq;
    struct qm_session *next;
};

struct qm_node
{
    struct tp_conn *conn;
};

struct qm_call;

struct qm_client
{
    pthread_mutex_t mu;
    pthread_cond_t idle; /* signalled when inflight drops to 0 */
    struct qm_options opt;
    char cred[QM_CRED_MAX + 1];
    struct qm_node nodes[QM_CLIENT_NODES_MAX];
    int nnodes;
    int leader; /* index of the believed leader, -1 if unknown */
    int next;   /* round-robin start when no leader is known */
    struct qm_session *free_sessions;
    struct qm_call *free_calls;
    unsigned inflight;
    uint64_t next_id;
};

/* Outcome of a call: @body is the result's body (borrowed for the
 * callback; empty unless res->status is a server answer). */
typedef void (*qm__call_cb)(void *arg,
                            const struct qm_result *res,
                            struct qm_span body);

enum qm_call_flag {
    QM_CALL_STALE = 1u << 0, /* read the addressed node's own state */
};

/* Start a call of @op with @args (encoded with @schema; NULL for none).
 * @url pins the call to that node, with no redirect and no retry (node-
 * local operations). Returns QM_OK (the callback will run exactly once) or
 * an error (it will not). */
int qm__call(struct qm_client *c,
             uint32_t op,
             const struct qm_schema *schema,
             const void *args,
             unsigned flags,
             const char *url,
             qm__call_cb cb,
             void *arg);

/* The same, waiting: decodes the body into @body with @body_schema (may be
 * NULL) and returns the status. */
int qm__call_sync(struct qm_client *c,
                  uint32_t op,
                  const struct qm_schema *schema,
                  const void *args,
                  unsigned flags,
                  const char *url,
                  const struct qm_schema *body_schema,
                  void *body,
                  struct qm_result *res);

/* qm__call_sync for a body whose BIN or RAW fields must outlive the call:
 * the body's bytes are copied into @keep (initialised by the caller, who
 * closes it once done with @body), and the spans of @body point there. A
 * copy that cannot be allocated turns the status into QM_ENOMEM. */
int qm__call_sync_keep(struct qm_client *c,
                       uint32_t op,
                       const struct qm_schema *schema,
                       const void *args,
                       unsigned flags,
                       const char *url,
                       const struct qm_schema *body_schema,
                       void *body,
                       struct qm_buf *keep,
                       struct qm_result *res);

/* Send a command encoded elsewhere (a program talking to qm-agent's local
 * API), bytes unchanged, so its session and sequence keep a retried write
 * applied once; leader-finding and retries as qm__call. @cred (NULL or ""
 * for the client's own) goes in the request. @cb gets the answer's whole
 * result map (tp_result_schema) in place of the body, or an empty span for
 * a local outcome (res->status >= 32). Returns QM_OK (@cb will run once),
 * QM_INVALID (not a command), QM_ENOMEM. */
int qm__call_forward(struct qm_client *c,
                     struct qm_span cmd,
                     const char *cred,
                     unsigned flags,
                     qm__call_cb cb,
                     void *arg);

/* An asynchronous call whose body is decoded for its callback: @done runs
 * once, on a libqm thread, with the caller's @fn and @arg (the typed async
 * functions keep their caller's callback there), the outcome, and @body
 * decoded with @body_schema (NULL unless the server answered with a body;
 * a body that does not decode turns the status into QM_EPROTO). @body is
 * borrowed for the callback. Returns QM_OK (@done will run) or an error
 * (it will not). */
typedef void (*qm__fn)(void);
typedef void (*qm__decoded_cb)(qm__fn fn,
                               void *arg,
                               const struct qm_result *res,
                               const void *body);
int qm__call_decoded(struct qm_client *c,
                     uint32_t op,
                     const struct qm_schema *schema,
                     const void *args,
                     const struct qm_schema *body_schema,
                     qm__decoded_cb done,
                     qm__fn fn,
                     void *arg);

/* Index of the node with @url, adding it if new; -1 if there is no room
 * or the URL is unusable. Caller holds c->mu. */
int qm__node_find(struct qm_client *c, const char *url);

/* Sessions: one per write in flight (qm_session.c of the state machine
 * remembers the last sequence of each). Caller holds c->mu. */
struct qm_session *qm__session_take(struct qm_client *c);
void qm__session_give(struct qm_client *c, struct qm_session *s);

/* Free the pooled call objects (qm_client_free). */
void qm__calls_free(struct qm_client *c);

int64_t qm__mono_ms(void);

#endif
