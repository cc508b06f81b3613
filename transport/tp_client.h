/* The client side of the wire: one nng REQ socket per node URL (tp_conn),
 * dialled in the background with quick reconnects, and a reusable
 * request/reply exchange (tp_xchg) with a timeout.
 *
 * A connection watches its pipes: when the peer goes away, every exchange
 * waiting on it ends at once with QM_ECONN instead of waiting for its
 * timeout, so a client notices a dead leader in microseconds.
 *
 * Threading: tp_conn and tp_xchg calls may be made from any thread; an
 * exchange runs one operation at a time. Callbacks run on nng threads and
 * may start the next operation on the same exchange. */
#ifndef QM_TRANSPORT_TP_CLIENT_H
#define QM_TRANSPORT_TP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qm_codec.h"

struct tp_conn;
struct tp_xchg;

/* Open a socket that dials @url (copied). QM_OK, QM_ECONFIG (bad URL),
 * QM_ENOMEM, QM_EIO, with a reason in @err. */
int tp_conn_open(struct tp_conn **out,
                 const char *url,
                 char err[QM_ERRMSG_SIZE]);
void tp_conn_close(struct tp_conn *c);
const char *tp_conn_url(const struct tp_conn *c);
/* Whether a connection to the peer is up right now. */
bool tp_conn_up(struct tp_conn *c);

/* Completion: QM_OK with the reply (valid during the callback only),
 * QM_ETIMEDOUT, QM_ECONN (peer unreachable or gone), QM_ESHUTDOWN (the
 * exchange was freed) or QM_ENOMEM. After tp_xchg_sleep: QM_OK, no data. */
typedef void (*tp_xchg_cb)(void *arg,
                           int status,
                           const void *reply,
                           size_t len);

int tp_xchg_new(struct tp_xchg **out, tp_xchg_cb cb, void *arg);
/* Stop any operation (its callback runs with QM_ESHUTDOWN or not at all)
 * and free. Not from the exchange's own callback. */
void tp_xchg_free(struct tp_xchg *x);

/* Send @len bytes (copied) on @conn and wait up to @timeout_ms in all for
 * the reply. When @conn is down the wait is cut to the connect grace. */
void tp_xchg_start(struct tp_xchg *x,
                   struct tp_conn *conn,
                   const void *req,
                   size_t len,
                   int64_t timeout_ms);

/* Call back with QM_OK after @ms milliseconds (back-off between tries). */
void tp_xchg_sleep(struct tp_xchg *x, int64_t ms);

/* Translate an nng error code into our error space (the one place that
 * does, c-style rule 10). */
int tp_err_from_nng(int rv);

/* The milliseconds a request waits for a connection that is not up yet.
 * A connection that was up and dropped fails requests at once until it is
 * back (the node died or restarts; the caller tries another node). */
#define TP_CONNECT_GRACE_MS 300

#endif
