/* libqm: the C client library of quartermaster.
 *
 * A client connects to a list of node URLs, finds the leader (following
 * NOT_LEADER redirects, learning nodes it was not given), and retries each
 * call with the same session and sequence number, with a bounded back-off,
 * until the call's deadline, so that a write is applied at most once even
 * when a leader dies mid-call (design.md rule 3).
 *
 *   struct qm_client *c;
 *   char err[QM_ERRMSG_SIZE];
 *   if (qm_client_new(&c, "tcp://10.0.0.1:7101,tcp://10.0.0.2:7101", NULL,
 *                     err) != QM_OK) { ... }
 *   struct qm_result res;
 *   struct qm_acquire got;
 *   int rv = qm_acquire(c, "openai", 5 * QM_MILLI, &got, &res);
 *   // rv == QM_OK, QM_DENIED (res.retry_after_ms), QM_ETIMEDOUT, ...
 *   qm_client_free(c);
 *
 * Units: token amounts are int64 milli-units (QM_MILLI per unit), refill
 * rates milli-units per second, prices nano-dollars per unit, times
 * milliseconds since the epoch (qm_limits.h).
 *
 * Return values: every call returns QM_OK or one code of qm_err.h: a
 * server's answer (QM_DENIED, QM_NOT_FOUND, QM_INVALID, ...) or a local
 * outcome (QM_ETIMEDOUT: the deadline passed and a write's outcome is
 * unknown; QM_ECONN; QM_ENOMEM; QM_EPROTO). @res, when not NULL, receives
 * the status and the server's message.
 *
 * Ownership: the client copies every string it is given; out-structs are
 * the caller's. Threads: a client may be used from many threads at once.
 * Asynchronous callbacks run on libqm's internal threads; they must not
 * block and must not call qm_client_free(). Free a client only after all
 * its calls have completed. */
#ifndef QM_LIB_QM_H
#define QM_LIB_QM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qm_err.h"
#include "qm_limits.h"

struct qm_client;

struct qm_options
{
    int64_t timeout_ms;         /* a call's deadline, retries included;
                                   0 = 10000 */
    int64_t attempt_timeout_ms; /* one try on one node; 0 = 2000 */
    const char *credential;     /* bearer token sent with each request */
};

/* The outcome of a call, with the server's words. */
struct qm_result
{
    int status;
    char message[QM_MESSAGE_MAX + 1];
    char leader[QM_URL_MAX + 1]; /* the leader the call ended on, if known */
    int64_t retry_after_ms;      /* with QM_DENIED */
    uint64_t index;              /* raft index the answer reflects */
};

/* @urls: one or more node URLs separated by commas
 * ("tcp://127.0.0.1:7101"). QM_OK, or QM_ECONFIG/QM_ENOMEM with a reason
 * in @err. */
int qm_client_new(struct qm_client **out,
                  const char *urls,
                  const struct qm_options *opt,
                  char err[QM_ERRMSG_SIZE]);
void qm_client_free(struct qm_client *c);

/* ---- cluster ---- */

enum qm_node_state {
    QM_STATE_UNAVAILABLE = 0,
    QM_STATE_FOLLOWER,
    QM_STATE_CANDIDATE,
    QM_STATE_LEADER,
};

enum qm_role { QM_ROLE_VOTER = 1, QM_ROLE_STANDBY, QM_ROLE_SPARE };

struct qm_member
{
    uint64_t id;
    char raft_addr[QM_ADDR_MAX + 1];
    char api_url[QM_URL_MAX + 1];
    int role; /* enum qm_role */
};

struct qm_node_info
{
    uint64_t id;
    int state; /* enum qm_node_state */
    uint64_t term;
    uint64_t commit_index;
    uint64_t applied_index;
    uint64_t last_index;
    uint64_t snapshot_index;
    uint64_t leader_id; /* 0: none known */
    char leader_url[QM_URL_MAX + 1];
    char raft_addr[QM_ADDR_MAX + 1];
    char api_url[QM_URL_MAX + 1];
    int64_t clock_ms;
    unsigned nmembers;
    struct qm_member members[QM_MEMBERS_MAX];
};

/* Ask one node (@url, or the client's first node when NULL) about itself
 * and its configuration. No redirect: this is that node's own view. */
int qm_node_info(struct qm_client *c,
                 const char *url,
                 struct qm_node_info *out,
                 struct qm_result *res);

/* The digest of one node's state (see qmctl debug digest). */
int qm_digest(struct qm_client *c,
              const char *url,
              uint64_t *node_id,
              uint64_t *applied_index,
              char digest[33],
              struct qm_result *res);

/* Membership, on the leader. Adding returns once the node votes. */
int qm_member_add(struct qm_client *c,
                  uint64_t id,
                  const char *raft_addr,
                  const char *api_url,
                  struct qm_result *res);
int qm_member_remove(struct qm_client *c, uint64_t id, struct qm_result *res);
int qm_member_transfer(struct qm_client *c, uint64_t id, struct qm_result *res);

/* ---- pools ---- */

struct qm_pool_spec
{
    const char *name;
    int64_t capacity; /* milli-units */
    int64_t refill;   /* milli-units per second */
    int64_t price;    /* nano-dollars per unit */
};

struct qm_pool
{
    char name[QM_NAME_MAX + 1];
    int64_t capacity;
    int64_t refill;
    int64_t price;
    char kind[16];
    int64_t tokens;
    int64_t created_ms;
};

int qm_pool_create(struct qm_client *c,
                   const struct qm_pool_spec *spec,
                   struct qm_result *res);
int qm_pool_delete(struct qm_client *c,
                   const char *name,
                   struct qm_result *res);

/* Reads are linearizable unless @stale, which reads the first node's own
 * state without asking the leader. */
int qm_pool_get(struct qm_client *c,
                const char *name,
                bool stale,
                struct qm_pool *out,
                struct qm_result *res);

/* One page of pools in name order, starting after @after ("" or NULL for
 * the first). Up to @max (<= QM_PAGE_MAX) go to @out; *more tells whether
 * another page follows. */
int qm_pool_list(struct qm_client *c,
                 const char *after,
                 bool stale,
                 struct qm_pool *out,
                 unsigned max,
                 unsigned *n,
                 bool *more,
                 struct qm_result *res);

struct qm_acquire
{
    bool granted;
    int64_t tokens;         /* left in the pool */
    int64_t retry_after_ms; /* when refused */
};

/* Take @amount milli-units from @pool now, or QM_DENIED with the time
 * after which they will be there. */
int qm_acquire(struct qm_client *c,
               const char *pool,
               int64_t amount,
               struct qm_acquire *out,
               struct qm_result *res);

/* The same without waiting: @cb runs once, on a libqm thread, with the
 * outcome (@out is NULL unless the server answered the call). */
typedef void (*qm_acquire_cb)(void *arg,
                              const struct qm_result *res,
                              const struct qm_acquire *out);
int qm_acquire_async(struct qm_client *c,
                     const char *pool,
                     int64_t amount,
                     qm_acquire_cb cb,
                     void *arg);

#endif
