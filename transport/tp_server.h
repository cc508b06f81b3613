/* The request/reply server of a node: one nng REP socket listening on the
 * API URL, with many contexts so that many requests are in flight at once
 * (not one REP socket serialising everything).
 *
 * Each context is a struct tp_call that is reused: it receives a request,
 * hands it to the owner's callback, and is free again once the owner has
 * called tp_call_reply(). A call carries @user_size bytes of owner memory
 * (tp_call_user), so the owner needs no allocation per request.
 *
 * Threading: the callback runs on an nng thread; tp_call_reply() may be
 * called from any thread, exactly once per callback. tp_server_close() and
 * tp_server_free() belong to the owner's thread. */
#ifndef QM_TRANSPORT_TP_SERVER_H
#define QM_TRANSPORT_TP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "qm_codec.h"

struct tp_server;
struct tp_call;

/* A request arrived; @data/@len stay valid until tp_call_reply(). */
typedef void (*tp_server_cb)(void *arg,
                             struct tp_call *call,
                             const void *data,
                             size_t len);

/* Listen on @url (tcp://ip:port, ipc:///path) with @ncalls contexts.
 * QM_OK and *out; QM_EIO/QM_ECONFIG/QM_ENOMEM with a reason in @err. */
int tp_server_start(struct tp_server **out,
                    const char *url,
                    unsigned ncalls,
                    size_t user_size,
                    tp_server_cb cb,
                    void *arg,
                    char err[QM_ERRMSG_SIZE]);

/* Send @len bytes as the reply and make the call available again. After
 * tp_server_close() the reply is dropped. */
void tp_call_reply(struct tp_call *call, const void *data, size_t len);

/* The owner's memory of this call (user_size bytes, zeroed at start). */
void *tp_call_user(struct tp_call *call);

/* Stop listening and wait for running callbacks to return. Calls handed
 * to the owner stay valid (replies are dropped) until tp_server_free(). */
void tp_server_close(struct tp_server *s);

/* Free everything; no call may be in the owner's hands any more. */
void tp_server_free(struct tp_server *s);

#endif
