/* The one error space of quartermaster: wire statuses and local errors.
 *
 * Codes below 32 travel on the wire as a reply status and are what libqm
 * returns for a server's answer; codes from 32 up are local to a process
 * (a failed allocation, a timeout, a corrupt file). Foreign codes (errno,
 * nng, LMDB, raft) are translated at the edge by one function per library
 * and never travel up the stack. Thread-safe: everything here is pure. */
#ifndef QM_LIB_QM_ERR_H
#define QM_LIB_QM_ERR_H

#include <stdbool.h>

/* X(name, value, text) */
#define QM_ERRORS(X)                                          \
    X(QM_OK, 0, "ok")                                         \
    X(QM_NOT_LEADER, 1, "not the leader")                     \
    X(QM_DENIED, 2, "denied")                                 \
    X(QM_BUDGET_EXCEEDED, 3, "budget exceeded")               \
    X(QM_NOT_FOUND, 4, "not found")                           \
    X(QM_EXISTS, 5, "already exists")                         \
    X(QM_INVALID, 6, "invalid request")                       \
    X(QM_UNAVAILABLE, 7, "unavailable")                       \
    X(QM_UNAUTHORIZED, 8, "unauthorized")                     \
    X(QM_INTERNAL, 9, "internal error")                       \
    X(QM_ENOMEM, 32, "out of memory")                         \
    X(QM_EIO, 33, "I/O error")                                \
    X(QM_ECORRUPT, 34, "corrupt data")                        \
    X(QM_EPROTO, 35, "malformed message")                     \
    X(QM_ETIMEDOUT, 36, "deadline exceeded, outcome unknown") \
    X(QM_ECONN, 37, "cannot connect")                         \
    X(QM_ESHUTDOWN, 38, "shutting down")                      \
    X(QM_EFULL, 39, "limit reached")                          \
    X(QM_EBUSY, 40, "busy")                                   \
    X(QM_ECONFIG, 41, "bad configuration")

enum qm_err {
#define QM__ERR_ENUM(name, value, text) name = value,
    QM_ERRORS(QM__ERR_ENUM)
#undef QM__ERR_ENUM
};

/* Size of the buffers that carry a one-line error reason. */
#define QM_ERRMSG_SIZE 192

/* Highest code that may appear as a wire status. */
#define QM_STATUS_MAX 31

/* Static text for @err; "unknown error" for a value outside the table. */
const char *qm_strerror(int err);

/* Stable upper-case name ("NOT_LEADER", "ENOMEM") for logs and JSON. */
const char *qm_errname(int err);

/* True for a status a server may send (QM_OK .. QM_INTERNAL). */
bool qm_is_status(int err);

#endif
