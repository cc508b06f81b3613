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
 * rates milli-units per second, prices nano-dollars per unit, money
 * micro-dollars, times milliseconds since the epoch (qm_limits.h).
 *
 * Return values: every call returns QM_OK or one code of qm_err.h: a
 * server's answer (QM_DENIED, QM_BUDGET_EXCEEDED, QM_NOT_FOUND,
 * QM_INVALID, ...) or a local outcome (QM_ETIMEDOUT: the deadline passed
 * and a write's outcome is unknown; QM_ECONN; QM_ENOMEM; QM_EPROTO). An
 * argument the protocol cannot carry (a name outside 1..64 of
 * [A-Za-z0-9._-], too many pools) is refused with QM_INVALID before any
 * request. @res, when not NULL, receives the status and the server's (or
 * that local) message.
 *
 * Ownership: the client copies every string and array it is given before
 * the call returns; out-structs are the caller's, and are written only on
 * QM_OK unless a function says otherwise. Threads: a client may be used
 * from many threads at once. Asynchronous calls (qm_acquire_async,
 * qm_reserve_async, qm_commit_async, qm_submit_async, qm_lease_async,
 * qm_complete_async) run their callback exactly once, on
 * one of libqm's internal threads, when they returned QM_OK, and never
 * when they returned an error; a callback must not block and must not call
 * qm_client_free(), and what it is given is borrowed for the callback
 * only. Free a client only after all its calls have completed. */
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

/* Who may draw from a pool. */
enum qm_pool_kind {
    QM_KIND_SHARED = 1, /* any client */
    QM_KIND_RESERVED,   /* shares set aside per client or per tier */
    QM_KIND_DEDICATED,  /* its owner only */
};

/* Client tiers, in priority order (qm_tier_get). */
enum qm_tier {
    QM_TIER_ENTERPRISE = 1,
    QM_TIER_PREMIUM,
    QM_TIER_STANDARD,
    QM_TIER_BASIC,
};
#define QM_TIERS 4

/* A share of a reserved pool, set aside for a tier (@tier != 0) or else
 * for the client @client. */
struct qm_share
{
    int tier; /* enum qm_tier, or 0 */
    char client[QM_NAME_MAX + 1];
    int64_t amount; /* milli-units set aside */
    int64_t tokens; /* in a qm_pool: available in the share now */
};

struct qm_pool_spec
{
    const char *name;
    int64_t capacity;              /* milli-units */
    int64_t refill;                /* milli-units per second */
    int64_t price;                 /* nano-dollars per unit */
    int kind;                      /* enum qm_pool_kind; 0 = shared */
    const char *owner;             /* dedicated pools; NULL otherwise */
    unsigned nshares;              /* reserved pools; <= QM_SHARES_MAX */
    const struct qm_share *shares; /* borrowed for the call */
};

struct qm_pool
{
    char name[QM_NAME_MAX + 1];
    int64_t capacity;
    int64_t refill;
    int64_t price;
    int kind;       /* enum qm_pool_kind */
    int64_t tokens; /* available to anyone now (the unreserved part) */
    int64_t created_ms;
    char owner[QM_NAME_MAX + 1]; /* "" unless dedicated */
    unsigned nshares;
    struct qm_share shares[QM_SHARES_MAX];
};

/* QM_OK, QM_EXISTS, QM_INVALID (also for a name, owner or share the
 * protocol cannot carry, refused before sending), ... */
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
    int64_t tokens;         /* left for the caller */
    int64_t retry_after_ms; /* when refused */
    int64_t cost;           /* micro-dollars charged to the client */
};

/* Take @amount milli-units from @pool now, or QM_DENIED with the time
 * after which they will be there. @out is written when the server
 * answered QM_OK or QM_DENIED. */
int qm_acquire(struct qm_client *c,
               const char *pool,
               int64_t amount,
               struct qm_acquire *out,
               struct qm_result *res);

/* The same on behalf of the ledger client @client (NULL or "": none): the
 * cost is charged to its monthly budget, and its tier's shares of a
 * reserved pool count. QM_BUDGET_EXCEEDED when the budget cannot pay. */
int qm_acquire_for(struct qm_client *c,
                   const char *pool,
                   int64_t amount,
                   const char *client,
                   struct qm_acquire *out,
                   struct qm_result *res);

/* The same without waiting: @cb runs once, on a libqm thread, with the
 * outcome (@out is NULL unless the server answered the call). QM_OK, or
 * an error and @cb will not run. */
typedef void (*qm_acquire_cb)(void *arg,
                              const struct qm_result *res,
                              const struct qm_acquire *out);
int qm_acquire_async(struct qm_client *c,
                     const char *pool,
                     int64_t amount,
                     qm_acquire_cb cb,
                     void *arg);
int qm_acquire_for_async(struct qm_client *c,
                         const char *pool,
                         int64_t amount,
                         const char *client,
                         qm_acquire_cb cb,
                         void *arg);

/* ---- the ledger: tiers, clients, reservations, usage, alerts ----
 *
 * A ledger client (an account, named like a pool) is not the struct
 * qm_client connection of this library: qm_client_new() opens a
 * connection, qm_client_create() adds an account to the cluster's ledger.
 * Money is int64 micro-dollars (QM_MICRO per dollar); a month is the
 * number YYYYMM of cluster time (UTC). Out-structs are written only when
 * the call returns QM_OK unless said otherwise. */

/* Which fields of a qm_tier_update or qm_client_update to change. */
enum qm_set_field {
    QM_SET_PRIORITY = 1u << 0,       /* tiers */
    QM_SET_MAX_CONCURRENT = 1u << 1, /* tiers */
    QM_SET_BUDGET = 1u << 2,         /* tiers and clients */
    QM_SET_TIER = 1u << 3,           /* clients */
};

struct qm_tier_info
{
    int tier;               /* enum qm_tier */
    int64_t priority;       /* queue points, 0..40 */
    int64_t max_concurrent; /* open reservations per client */
    bool custom;            /* no tier budget: each client sets its own */
    int64_t budget;         /* micro-dollars per month, unless @custom */
};

struct qm_tier_update
{
    unsigned set; /* QM_SET_PRIORITY | QM_SET_MAX_CONCURRENT | QM_SET_BUDGET */
    int64_t priority;
    int64_t max_concurrent;
    bool custom; /* with QM_SET_BUDGET: no tier budget, @budget ignored */
    int64_t budget;
};

/* QM_OK, QM_INVALID (no such tier), ... */
int qm_tier_get(struct qm_client *c,
                int tier,
                bool stale,
                struct qm_tier_info *out,
                struct qm_result *res);

/* Every tier, in priority order: *n (<= QM_TIERS) entries of @out. */
int qm_tier_list(struct qm_client *c,
                 bool stale,
                 struct qm_tier_info out[QM_TIERS],
                 unsigned *n,
                 struct qm_result *res);

int qm_tier_set(struct qm_client *c,
                int tier,
                const struct qm_tier_update *u,
                struct qm_result *res);

struct qm_client_info
{
    char id[QM_NAME_MAX + 1];
    int tier;         /* enum qm_tier */
    bool unlimited;   /* no budget applies; @budget is meaningless */
    bool own_budget;  /* the budget is the client's own, not its tier's */
    int64_t budget;   /* micro-dollars per month */
    int64_t spent;    /* this month */
    int64_t reserved; /* estimated cost of its open reservations */
    uint64_t open;    /* open reservations */
    uint32_t month;   /* YYYYMM the figures are for */
    int64_t created_ms;
};

struct qm_client_update
{
    unsigned set; /* QM_SET_TIER | QM_SET_BUDGET */
    int tier;
    bool budget_default; /* with QM_SET_BUDGET: back to the tier's budget */
    int64_t budget;
};

/* Add the ledger client @id (1..64 of [A-Za-z0-9._-]) to @tier, with a
 * budget of its own (@has_budget) or its tier's. QM_OK, QM_EXISTS,
 * QM_INVALID, ... */
int qm_client_create(struct qm_client *c,
                     const char *id,
                     int tier,
                     bool has_budget,
                     int64_t budget,
                     struct qm_result *res);
int qm_client_set(struct qm_client *c,
                  const char *id,
                  const struct qm_client_update *u,
                  struct qm_result *res);
int qm_client_get(struct qm_client *c,
                  const char *id,
                  bool stale,
                  struct qm_client_info *out,
                  struct qm_result *res);

/* One page of clients in id order after @after ("" or NULL: the first),
 * as qm_pool_list. */
int qm_client_list(struct qm_client *c,
                   const char *after,
                   bool stale,
                   struct qm_client_info *out,
                   unsigned max,
                   unsigned *n,
                   bool *more,
                   struct qm_result *res);

/* An amount of one pool. */
struct qm_amount
{
    char pool[QM_NAME_MAX + 1];
    int64_t amount; /* milli-units */
};

struct qm_reserve
{
    uint64_t id;            /* the reservation; users see it as "r<id>" */
    int64_t expires_at_ms;  /* released by the cluster then, uncommitted */
    int64_t estimate;       /* micro-dollars held against the budget */
    int64_t retry_after_ms; /* with QM_DENIED */
};

/* Set aside @amounts (@n of them, 1..QM_RES_POOLS_MAX distinct pools) for
 * the client @client until committed, released or @ttl_ms (0: the
 * cluster's default, QM_RES_TTL_MS; at most QM_RES_TTL_MAX_MS) passes.
 * QM_OK; QM_DENIED (not enough tokens, or the client's tier allows no
 * more open reservations) with res->retry_after_ms; QM_BUDGET_EXCEEDED
 * (the estimate does not fit the client's budget); QM_NOT_FOUND; ...
 * @out is written on QM_OK, and on QM_DENIED when the server sent it. */
int qm_reserve(struct qm_client *c,
               const char *client,
               int64_t ttl_ms,
               const struct qm_amount *amounts,
               unsigned n,
               struct qm_reserve *out,
               struct qm_result *res);

/* Close reservation @id, charging what was used: @nused entries of @used,
 * one per pool of the reservation, or, with @nused 0, all of it. Unused
 * tokens go back to their pools. *cost (may be NULL): micro-dollars
 * charged. QM_OK, QM_NOT_FOUND (unknown, expired or already closed), ... */
int qm_commit(struct qm_client *c,
              uint64_t id,
              const struct qm_amount *used,
              unsigned nused,
              int64_t *cost,
              struct qm_result *res);

/* The same for a one-pool reservation of which @used milli-units were
 * used (QM_INVALID if it holds several pools). */
int qm_commit_one(struct qm_client *c,
                  uint64_t id,
                  int64_t used,
                  int64_t *cost,
                  struct qm_result *res);

/* Close reservation @id without using it; *cost (may be NULL) is what the
 * cluster charged anyway, normally 0. */
int qm_release(struct qm_client *c,
               uint64_t id,
               int64_t *cost,
               struct qm_result *res);

/* Asynchronous reserve and commit, as qm_acquire_async: @cb runs once on
 * a libqm thread. @out is NULL unless the server answered; @cost is 0
 * unless res->status is QM_OK. @amounts/@used are copied before return. */
typedef void (*qm_reserve_cb)(void *arg,
                              const struct qm_result *res,
                              const struct qm_reserve *out);
typedef void (*qm_commit_cb)(void *arg,
                             const struct qm_result *res,
                             int64_t cost);
int qm_reserve_async(struct qm_client *c,
                     const char *client,
                     int64_t ttl_ms,
                     const struct qm_amount *amounts,
                     unsigned n,
                     qm_reserve_cb cb,
                     void *arg);
int qm_commit_async(struct qm_client *c,
                    uint64_t id,
                    const struct qm_amount *used,
                    unsigned nused,
                    qm_commit_cb cb,
                    void *arg);

struct qm_reservation
{
    uint64_t id;
    char client[QM_NAME_MAX + 1];
    unsigned namounts;
    struct qm_amount amounts[QM_RES_POOLS_MAX];
    int64_t estimate; /* micro-dollars */
    int64_t created_ms;
    int64_t expires_at_ms;
};

int qm_reservation_get(struct qm_client *c,
                       uint64_t id,
                       bool stale,
                       struct qm_reservation *out,
                       struct qm_result *res);

/* One page of open reservations in id order after @after_id (0: the
 * first), of @client only unless it is NULL or "", as qm_pool_list. */
int qm_reservation_list(struct qm_client *c,
                        const char *client,
                        uint64_t after_id,
                        bool stale,
                        struct qm_reservation *out,
                        unsigned max,
                        unsigned *n,
                        bool *more,
                        struct qm_result *res);

struct qm_usage
{
    char client[QM_NAME_MAX + 1];
    uint32_t month; /* YYYYMM */
    int64_t spent;  /* micro-dollars in the month */
};

struct qm_pool_usage
{
    char pool[QM_NAME_MAX + 1];
    int64_t units; /* milli-units used */
    int64_t cost;  /* micro-dollars */
};

/* What @client used in @month (YYYYMM; 0: this month): the totals in
 * @out and one page of pools in name order after @after_pool ("" or NULL:
 * the first), as qm_pool_list. */
int qm_usage(struct qm_client *c,
             const char *client,
             uint32_t month,
             const char *after_pool,
             bool stale,
             struct qm_usage *out,
             struct qm_pool_usage *pools,
             unsigned max,
             unsigned *n,
             bool *more,
             struct qm_result *res);

/* What using @amounts (@n, 1..QM_RES_POOLS_MAX) would cost now, in
 * micro-dollars. */
int qm_cost_estimate(struct qm_client *c,
                     const struct qm_amount *amounts,
                     unsigned n,
                     bool stale,
                     int64_t *cost,
                     struct qm_result *res);

#define QM_ALERT_KIND_MAX 23 /* "pool_low", "budget_exceeded", "leak", ... */
#define QM_SEVERITY_MAX 15   /* "warning", "critical" */

struct qm_alert
{
    uint64_t id; /* increasing */
    char kind[QM_ALERT_KIND_MAX + 1];
    char subject[QM_SUBJECT_MAX + 1]; /* a pool, a client, HOST/SERVICE */
    char severity[QM_SEVERITY_MAX + 1];
    int64_t at_ms;
    char message[QM_MESSAGE_MAX + 1];
};

/* One page of the recent alerts (the cluster keeps QM_ALERTS_MAX) in id
 * order after @after_id (0: the oldest kept), as qm_pool_list. Polling
 * with the last id seen returns the new ones. */
int qm_alert_list(struct qm_client *c,
                  uint64_t after_id,
                  bool stale,
                  struct qm_alert *out,
                  unsigned max,
                  unsigned *n,
                  bool *more,
                  struct qm_result *res);

/* ---- queues of work ----
 *
 * A request is submitted for a ledger client into a queue tier with an
 * urgency, the pool amounts it will need, an opaque payload, an optional
 * deadline and a number of attempts. Workers pull: a lease hands a worker
 * the request of highest priority whose needs can be reserved now (the
 * reservation is made with the lease) until it completes, fails, or its
 * lease runs out (the cluster then queues it again). Users see request ids
 * as "q<id>". Priority is in milli-points, 0..100000 (0..100 points). */

/* Queue tiers: dispatch classes, served in this order. */
enum qm_qtier {
    QM_QTIER_IMMEDIATE = 1,
    QM_QTIER_FAST,
    QM_QTIER_NORMAL,
    QM_QTIER_BATCH,
    QM_QTIER_DEFERRED, /* runs in the off-peak window of the settings */
};
#define QM_QTIERS 5

enum qm_qstate {
    QM_QSTATE_QUEUED = 1,
    QM_QSTATE_RUNNING,
    QM_QSTATE_DONE,
    QM_QSTATE_FAILED,
    QM_QSTATE_CANCELLED,
};
#define QM_QSTATES 5

#define QM_URGENCY_MAX 30

/* What to submit. Everything is borrowed for the call (copied before it
 * returns, or before an async call returns). */
struct qm_submit
{
    const char *client;            /* the ledger client it is for */
    int tier;                      /* enum qm_qtier */
    int64_t urgency;               /* 0..QM_URGENCY_MAX points */
    unsigned nneeds;               /* 0..QM_RES_POOLS_MAX */
    const struct qm_amount *needs; /* reserved when it is leased */
    const void *payload;           /* opaque; may be NULL when empty */
    size_t payload_len;            /* 0..QM_PAYLOAD_MAX bytes */
    int64_t deadline_ms;           /* from now; 0 = none */
    unsigned max_attempts;         /* 1..QM_ATTEMPTS_MAX; 0 = default */
};

/* A request as the cluster sees it. */
struct qm_request
{
    uint64_t id;
    char client[QM_NAME_MAX + 1];
    int tier;          /* enum qm_qtier */
    int64_t urgency;   /* points */
    int state;         /* enum qm_qstate */
    int64_t priority;  /* milli-points at the answer's time */
    uint64_t position; /* 1 = next to go; 0 = not known (qm_queue_position
                          fills it for queued requests) */
    int64_t wait_ms;   /* estimated wait (qm_queue_position only) */
    unsigned attempts; /* leases it had */
    unsigned max_attempts;
    int64_t enqueued_ms;
    int64_t deadline_ms;          /* absolute; 0 = none */
    char worker[QM_NAME_MAX + 1]; /* running: who holds the lease */
    int64_t lease_expires_ms;     /* running: when it runs out */
    uint64_t reservation;         /* running: its reservation, or 0 */
    unsigned nneeds;
    struct qm_amount needs[QM_RES_POOLS_MAX];
    int64_t finished_ms;            /* done, failed, cancelled: when; else 0 */
    char reason[QM_REASON_MAX + 1]; /* why it failed or was cancelled */
};

/* A leased request. The payload of a job filled by qm_lease() or
 * qm_worker_next() is the caller's: qm_job_clear() frees it. It is
 * followed by a NUL byte that payload_len does not count, so a text
 * payload can be used as a string. */
struct qm_job
{
    uint64_t id;
    char client[QM_NAME_MAX + 1];
    int tier; /* enum qm_qtier */
    void *payload;
    size_t payload_len;
    uint64_t reservation; /* of the needs; 0 when it needs nothing */
    uint64_t attempt;     /* 1 for the first lease: the lease's token */
    int64_t lease_expires_ms;
    unsigned nneeds;
    struct qm_amount needs[QM_RES_POOLS_MAX];
};

/* Free what @job holds and zero it. @job must be zeroed or filled by
 * qm_lease()/qm_worker_next(); clearing twice is harmless. */
void qm_job_clear(struct qm_job *job);

/* Queue @s. *id (may be NULL): the new request's id. QM_OK, QM_NOT_FOUND
 * (no such client or pool), QM_INVALID (also, before any request, for
 * arguments the protocol cannot carry), or another refusal in the
 * server's words (@res). */
int qm_submit(struct qm_client *c,
              const struct qm_submit *s,
              uint64_t *id,
              struct qm_result *res);

/* One request by id; QM_NOT_FOUND when unknown or finished long ago (the
 * cluster keeps QM_FINISHED_MAX finished requests, QM_FINISHED_TTL_MS at
 * most). qm_queue_position() also fills @position and @wait_ms. */
int qm_queue_get(struct qm_client *c,
                 uint64_t id,
                 bool stale,
                 struct qm_request *out,
                 struct qm_result *res);
int qm_queue_position(struct qm_client *c,
                      uint64_t id,
                      bool stale,
                      struct qm_request *out,
                      struct qm_result *res);

/* Cancel a queued or running request (a running one's reservation is
 * released). QM_OK, QM_NOT_FOUND, QM_INVALID (already finished), ... */
int qm_queue_cancel(struct qm_client *c, uint64_t id, struct qm_result *res);

/* Which requests qm_queue_list() returns; NULL, "" and 0 match all. */
struct qm_queue_filter
{
    const char *client;
    int tier;  /* enum qm_qtier */
    int state; /* enum qm_qstate */
};

/* One page of requests in id order after @after_id (0: the first), as
 * qm_pool_list. @filter may be NULL. */
int qm_queue_list(struct qm_client *c,
                  const struct qm_queue_filter *filter,
                  uint64_t after_id,
                  bool stale,
                  struct qm_request *out,
                  unsigned max,
                  unsigned *n,
                  bool *more,
                  struct qm_result *res);

/* Counts of one queue tier: requests now queued and running, and since
 * the cluster began, requests done, failed, cancelled, leases that ran
 * out, and leases given. */
struct qm_queue_stats
{
    int tier; /* enum qm_qtier */
    uint64_t queued;
    uint64_t running;
    uint64_t done;
    uint64_t failed;
    uint64_t cancelled;
    uint64_t worker_timeouts;
    uint64_t dispatched;
};

/* Every queue tier's counts, in tier order: *n (<= QM_QTIERS) entries. */
int qm_queue_stats(struct qm_client *c,
                   bool stale,
                   struct qm_queue_stats out[QM_QTIERS],
                   unsigned *n,
                   struct qm_result *res);

/* Lease the request of highest priority whose needs can be reserved now,
 * for the worker @worker (a name) for @lease_ms (0: the settings'
 * default; at most QM_RES_TTL_MAX_MS). QM_OK and @job (clear it with
 * qm_job_clear()); QM_DENIED when nothing can be leased now; ... On
 * QM_ETIMEDOUT a lease may have been given that nobody holds: the cluster
 * queues that request again when the lease runs out. */
int qm_lease(struct qm_client *c,
             const char *worker,
             int64_t lease_ms,
             struct qm_job *job,
             struct qm_result *res);

/* Complete request @id under the lease @attempt (the job's attempt; 0:
 * whichever lease is current), committing its reservation with @used as
 * qm_commit() (@nused 0: all of it). *cost (may be NULL): micro-dollars
 * charged. QM_OK; QM_NOT_FOUND when the request is unknown, not running
 * or its lease @attempt is no longer current (it ran out and another
 * worker has it); ... */
int qm_complete(struct qm_client *c,
                uint64_t id,
                uint64_t attempt,
                const struct qm_amount *used,
                unsigned nused,
                int64_t *cost,
                struct qm_result *res);

/* Fail request @id under the lease @attempt with @reason (NULL or "": none;
 * printable UTF-8, at most QM_REASON_MAX bytes). Its reservation is
 * released, and it is queued again unless it has had its attempts.
 * *requeued and *attempts (each may be NULL): whether it was, and the
 * leases it has had. Errors as qm_complete(). */
int qm_fail(struct qm_client *c,
            uint64_t id,
            uint64_t attempt,
            const char *reason,
            bool *requeued,
            unsigned *attempts,
            struct qm_result *res);

/* Asynchronous submit, lease and complete, as qm_acquire_async: @cb runs
 * once on a libqm thread. @id is 0 and @job NULL unless res->status is
 * QM_OK; @job and its payload (not NUL-terminated here) are borrowed for
 * the callback: copy what must outlive it. qm_complete_async answers with
 * qm_commit_cb (cost 0 unless QM_OK). */
typedef void (*qm_submit_cb)(void *arg,
                             const struct qm_result *res,
                             uint64_t id);
typedef void (*qm_lease_cb)(void *arg,
                            const struct qm_result *res,
                            const struct qm_job *job);
int qm_submit_async(struct qm_client *c,
                    const struct qm_submit *s,
                    qm_submit_cb cb,
                    void *arg);
int qm_lease_async(struct qm_client *c,
                   const char *worker,
                   int64_t lease_ms,
                   qm_lease_cb cb,
                   void *arg);
int qm_complete_async(struct qm_client *c,
                      uint64_t id,
                      uint64_t attempt,
                      const struct qm_amount *used,
                      unsigned nused,
                      qm_commit_cb cb,
                      void *arg);

/* The replicated settings of the queues. A request's priority is the sum
 * of four parts, each weighed per mille of its nominal points: its client
 * tier's priority (0..40), its urgency (0..30), its wait (a point per
 * @aging_ms, up to 20) and fairness (0..10, less for clients that were
 * served much lately). */
struct qm_queue_settings
{
    int64_t w_tier;            /* per mille, 0..10000 */
    int64_t w_urgency;         /* per mille, 0..10000 */
    int64_t w_wait;            /* per mille, 0..10000 */
    int64_t w_fair;            /* per mille, 0..10000 */
    int64_t aging_ms;          /* waiting this long earns a wait point */
    int64_t fair_half_life_ms; /* a client's recent use halves in this */
    int64_t fair_scale;        /* dispatches at which fairness halves */
    int64_t starve_ms;         /* requests queued longer go first, alert */
    int64_t alert_queue_len;   /* alert when a queue tier is longer */
    int64_t offpeak_start_min; /* UTC minute of the day the deferred */
    int64_t offpeak_end_min;   /* tier runs from / to; equal: no window */
    int64_t lease_ms;          /* default lease */
    int64_t max_attempts;      /* default attempts */
};

int qm_queue_settings_get(struct qm_client *c,
                          bool stale,
                          struct qm_queue_settings *out,
                          struct qm_result *res);

/* Replace every setting (read them first to change some). QM_OK,
 * QM_INVALID (a value out of its range), ... */
int qm_queue_settings_set(struct qm_client *c,
                          const struct qm_queue_settings *s,
                          struct qm_result *res);

/* ---- workers ----
 *
 * The worker loop over qm_lease/qm_complete/qm_fail. A worker object
 * belongs to one thread at a time (it holds the idle back-off, no lock);
 * many workers, on many threads, may share one qm_client. */

struct qm_worker;

struct qm_worker_options
{
    const char *name;    /* the worker's name, 1..64 of [A-Za-z0-9._-];
                            copied */
    int64_t lease_ms;    /* each lease; 0 = the cluster's default */
    int64_t idle_min_ms; /* back-off while nothing can be leased: from */
    int64_t idle_max_ms; /* this (0: 20 ms), doubling up to this (0: 1 s) */
};

/* A worker leasing through @c (borrowed: free the worker first). QM_OK,
 * QM_INVALID (a bad name or back-off, said in @res), QM_ENOMEM. */
int qm_worker_new(struct qm_worker **out,
                  struct qm_client *c,
                  const struct qm_worker_options *opt,
                  struct qm_result *res);
void qm_worker_free(struct qm_worker *w);

/* Lease the next request, trying again with the idle back-off while
 * nothing can be leased, for up to @timeout_ms (0: one try; < 0: no
 * limit). QM_OK and @job (the caller clears it with qm_job_clear());
 * QM_DENIED when the time passed with nothing to lease; any other error
 * of qm_lease() at once. */
int qm_worker_next(struct qm_worker *w,
                   int64_t timeout_ms,
                   struct qm_job *job,
                   struct qm_result *res);

/* qm_complete() and qm_fail() for @job under its own lease. The job stays
 * the caller's to clear. */
int qm_worker_complete(struct qm_worker *w,
                       const struct qm_job *job,
                       const struct qm_amount *used,
                       unsigned nused,
                       int64_t *cost,
                       struct qm_result *res);
int qm_worker_fail(struct qm_worker *w,
                   const struct qm_job *job,
                   const char *reason,
                   bool *requeued,
                   struct qm_result *res);

/* What qm_worker_run() calls for each leased request, on its thread. It
 * returns QM_OK to complete the request, with what it used in @used (room
 * for QM_RES_POOLS_MAX; *nused starts at 0, which commits all the needs),
 * or anything else to fail it with @reason (starts empty; printable UTF-8;
 * empty: the error's name). @job is borrowed for the call. */
typedef int (*qm_worker_fn)(void *arg,
                            const struct qm_job *job,
                            struct qm_amount *used,
                            unsigned *nused,
                            char reason[QM_REASON_MAX + 1]);

/* Lease, handle, complete or fail, until *stop is true (set it from
 * another thread or a signal handler; it is looked at between calls and
 * every 50 ms while idle, so a call in flight ends first: within the
 * client's timeout_ms). A lost lease or a complete or fail that
 * gets no answer is left to the cluster (the lease runs out and the
 * request is queued again); the loop goes on through an unavailable
 * cluster, backing off. QM_OK once stopped, or the error that stopped it
 * (QM_INVALID, QM_UNAUTHORIZED, QM_ENOMEM, ...) with @res (may be NULL)
 * saying why. */
int qm_worker_run(struct qm_worker *w,
                  qm_worker_fn handler,
                  void *arg,
                  const volatile bool *stop,
                  struct qm_result *res);

/* ---- hosts and their agents ----
 *
 * An agent (qm-agent) registers its host (replicated): labels, capacity
 * and the services it watches. It reports samples of the host and of each
 * service to the leader, which keeps the latest in memory only: after an
 * election the new leader has none until each agent reports to it again
 * (within one report interval), and qm_host_metrics() answers
 * QM_NOT_FOUND until then. An operator sets what each service on a host
 * is given (an allocation), the agent applies it and records what it did
 * (actions). Credits are batches of a pool's tokens an agent holds for
 * local callers.
 *
 * Host ids and service names are names (1..64 of [A-Za-z0-9._-]). Units:
 * sizes in bytes, rates in bytes per second, CPU in per mille of one core
 * (a service at 1500 uses one and a half cores) except where a field says
 * "of all CPUs", load averages in thousandths, times in milliseconds since
 * the epoch. Out-structs are written only when the call returns QM_OK.
 * The agent's own calls (register, report, action record, alert raise,
 * credit grant and return) are made with qm__call_sync() of qm_call.h. */

/* A watched service as its agent declared it. */
struct qm_host_service
{
    char name[QM_NAME_MAX + 1];
    char match[QM_MATCH_MAX + 1]; /* "exe:NAME", "pid:N", "pidfile:PATH",
                                     "cgroup:PATH" */
};

/* A registered host. */
struct qm_host
{
    char id[QM_NAME_MAX + 1];
    char labels[QM_LABELS_MAX + 1]; /* "role=trading,rack=a", or "" */
    uint64_t cpus;
    int64_t mem_bytes;
    int64_t disk_bytes;
    char local_api[QM_URL_MAX + 1]; /* the agent's local API URL, or "" */
    unsigned nservices;
    struct qm_host_service services[QM_HOST_SERVICES_MAX];
    int64_t registered_ms;  /* first registration */
    int64_t updated_ms;     /* last registration */
    uint64_t alloc_version; /* raised by every qm_alloc_set() of the host */
};

/* QM_OK, QM_NOT_FOUND, QM_INVALID (a bad id, refused before sending). */
int qm_host_get(struct qm_client *c,
                const char *id,
                bool stale,
                struct qm_host *out,
                struct qm_result *res);

/* One page of hosts in id order after @after ("" or NULL: the first), as
 * qm_pool_list; the cluster sends at most QM_HOST_PAGE_MAX at a time. */
int qm_host_list(struct qm_client *c,
                 const char *after,
                 bool stale,
                 struct qm_host *out,
                 unsigned max,
                 unsigned *n,
                 bool *more,
                 struct qm_result *res);

/* Forget a host and its allocations. Its agent registers it again when
 * it next reports. QM_OK, QM_NOT_FOUND, ... */
int qm_host_delete(struct qm_client *c, const char *id, struct qm_result *res);

/* A service summed over its processes, as last sampled. */
struct qm_service_sample
{
    char name[QM_NAME_MAX + 1];
    uint64_t procs;    /* matching processes */
    uint64_t children; /* of those, children of another one */
    int64_t cpu_pm;    /* per mille of one core */
    int64_t rss_bytes;
    int64_t mem_limit; /* bytes; 0 = none known */
    uint64_t fds;
    uint64_t fd_limit; /* smallest soft RLIMIT_NOFILE; 0 = unlimited */
    uint64_t threads;
    uint64_t sockets;
    uint64_t tcp_established;
    uint64_t tcp_listen;
    uint64_t tcp_time_wait;
    uint64_t tcp_close_wait;
    uint64_t tcp_other;            /* syn, fin-wait, closing, last-ack, close */
    char note[QM_NOTE_MAX + 1];    /* the worst finding now ("" = none) */
    char enforce[QM_NOTE_MAX + 1]; /* what the last allocation left out */
};

/* The host itself, as last sampled. */
struct qm_host_sample
{
    uint64_t cpus;
    int64_t cpu_pm; /* busy share of all CPUs, per mille */
    int64_t load1_milli;
    int64_t mem_total;
    int64_t mem_avail;
    int64_t swap_total;
    int64_t swap_free;
    int64_t disk_total;
    int64_t disk_avail;
    int64_t net_rx_bps; /* bytes per second */
    int64_t net_tx_bps;
    uint64_t procs;
};

/* The leader's latest view of a host. */
struct qm_host_metrics
{
    char host[QM_NAME_MAX + 1];
    int64_t seen_ms; /* the leader's clock when the last report came */
    int64_t at_ms;   /* the agent's clock when it sampled */
    uint64_t seq;    /* the agent's sample counter */
    struct qm_host_sample sample;
    int64_t cpu_pm_avg; /* host CPU over the leader's recent window, */
    int64_t cpu_pm_max; /* per mille of all CPUs */
    uint64_t window;    /* samples in that window */
    unsigned nservices;
    struct qm_service_sample services[QM_HOST_SERVICES_MAX];
};

/* The latest sample of host @host on the leader (never stale: only the
 * leader holds samples). QM_OK; QM_NOT_FOUND when the host has not
 * reported to this leader yet; ... */
int qm_host_metrics(struct qm_client *c,
                    const char *host,
                    struct qm_host_metrics *out,
                    struct qm_result *res);

/* One page of the hosts the leader holds samples of, in id order after
 * @after ("" or NULL: the first), as qm_pool_list; at most
 * QM_METRICS_PAGE_MAX come at a time. A host that reports without being
 * registered (or after it was deleted) may appear here. */
int qm_host_metrics_list(struct qm_client *c,
                         const char *after,
                         struct qm_host_metrics *out,
                         unsigned max,
                         unsigned *n,
                         bool *more,
                         struct qm_result *res);

/* ---- allocations: what a service on a host is given ---- */

/* The fields of an allocation; the values are the wire's. */
enum qm_alloc_field {
    QM_ALLOC_NICE = 1u << 0,        /* scheduling priority, -20..19 */
    QM_ALLOC_CPUS = 1u << 1,        /* CPU list for affinity, "0-3,6" */
    QM_ALLOC_NOFILE = 1u << 2,      /* RLIMIT_NOFILE, 16..2^30 */
    QM_ALLOC_NPROC = 1u << 3,       /* RLIMIT_NPROC, 1..2^22 */
    QM_ALLOC_CPU_WEIGHT = 1u << 4,  /* cgroup cpu.weight, 1..10000 */
    QM_ALLOC_CPU_MAX = 1u << 5,     /* cgroup cpu.max: quota per period */
    QM_ALLOC_MEMORY_HIGH = 1u << 6, /* cgroup memory.high */
    QM_ALLOC_MEMORY_MAX = 1u << 7,  /* cgroup memory.max */
    QM_ALLOC_INSTANCES = 1u << 8,   /* processes the agent keeps running */
};
#define QM_ALLOC_FIELDS 9
#define QM_ALLOC_ALL ((1u << QM_ALLOC_FIELDS) - 1)

/* The value "max" (no limit) of cpu_max_quota_us, memory_high and
 * memory_max. */
#define QM_ALLOC_UNLIMITED (-1)

struct qm_alloc
{
    char host[QM_NAME_MAX + 1];
    char service[QM_NAME_MAX + 1];
    unsigned set;   /* the fields that hold a value (enum qm_alloc_field) */
    unsigned unset; /* qm_alloc_set() only: fields to remove */
    int64_t nice;
    char cpus[QM_CPULIST_MAX + 1];
    int64_t nofile;
    int64_t nproc;
    int64_t cpu_weight;
    int64_t cpu_max_quota_us;  /* 1000..2^40, or QM_ALLOC_UNLIMITED */
    int64_t cpu_max_period_us; /* 1000..1000000; 0 in qm_alloc_set():
                                  100000 */
    int64_t memory_high;       /* bytes, or QM_ALLOC_UNLIMITED */
    int64_t memory_max;        /* bytes, or QM_ALLOC_UNLIMITED */
    int64_t instances;         /* 0..1000 */
    int64_t updated_ms;        /* read only */
};

/* Change @a->host's allocation of @a->service: the fields of @a->set take
 * their values from @a, those of @a->unset are removed, the others stay.
 * An allocation left with no field is deleted. QM_OK; QM_NOT_FOUND (no
 * such host: its agent registers it); QM_INVALID (nothing to change, a
 * field both set and unset, a value out of range, or more than
 * QM_HOST_SERVICES_MAX services on the host), ... */
int qm_alloc_set(struct qm_client *c,
                 const struct qm_alloc *a,
                 struct qm_result *res);

/* QM_OK, or QM_NOT_FOUND when @service on @host has no allocation. */
int qm_alloc_get(struct qm_client *c,
                 const char *host,
                 const char *service,
                 bool stale,
                 struct qm_alloc *out,
                 struct qm_result *res);

/* One page of @host's allocations in service order after @after ("" or
 * NULL: the first), as qm_pool_list. An unknown host has none. */
int qm_alloc_list(struct qm_client *c,
                  const char *host,
                  const char *after,
                  bool stale,
                  struct qm_alloc *out,
                  unsigned max,
                  unsigned *n,
                  bool *more,
                  struct qm_result *res);

/* Text forms of allocations, as qmctl takes and prints them (pure,
 * thread-safe). Field names: "nice", "cpus", "nofile", "nproc",
 * "cpu-weight", "cpu-max", "memory-high", "memory-max", "instances" ('_'
 * may stand for '-'). Values: whole numbers; cpus a CPU list ("0-3,6");
 * cpu-max QUOTA_US or "max", optionally "/PERIOD_US"; memory-high and
 * memory-max bytes with an optional K, M, G, T or P suffix (powers of
 * 1024: "512M", "2G") or "max". */

/* The field named @name, or 0. */
unsigned qm_alloc_field_parse(const char *name);

/* The name of @field (one bit), or NULL. */
const char *qm_alloc_field_name(unsigned field);

/* Set @field of @a from @text: the value, its bit in @a->set (and out of
 * @a->unset). QM_OK, or QM_INVALID with what the field wants in @res
 * (@a unchanged). */
int qm_alloc_value_parse(struct qm_alloc *a,
                         unsigned field,
                         const char *text,
                         struct qm_result *res);

#define QM_ALLOC_TEXT_MAX 63

/* The value of @field of @a in the text form qm_alloc_value_parse()
 * takes ("2G", "max/100000"), into @buf; "" when @a does not set it.
 * Returns @buf. */
const char *qm_alloc_value_format(const struct qm_alloc *a,
                                  unsigned field,
                                  char buf[QM_ALLOC_TEXT_MAX + 1]);

/* ---- what agents did, and what they hold ---- */

struct qm_action
{
    uint64_t id; /* increasing */
    char host[QM_NAME_MAX + 1];
    char service[QM_NAME_MAX + 1]; /* "" for the host itself */
    char action[16];               /* "apply", "start", "stop" */
    bool ok;
    char message[QM_MESSAGE_MAX + 1];
    int64_t at_ms; /* cluster time it was recorded */
};

/* One page of the recent actions (the cluster keeps QM_ACTIONS_MAX) in id
 * order after @after_id (0: the oldest kept), of @host only unless it is
 * NULL or "", as qm_pool_list. */
int qm_action_list(struct qm_client *c,
                   const char *host,
                   uint64_t after_id,
                   bool stale,
                   struct qm_action *out,
                   unsigned max,
                   unsigned *n,
                   bool *more,
                   struct qm_result *res);

/* A credit an agent holds: tokens taken from a pool now, handed out
 * locally until it is returned or expires (what is not returned by then
 * counts as used). */
struct qm_credit
{
    uint64_t id;
    char host[QM_NAME_MAX + 1];
    char pool[QM_NAME_MAX + 1];
    int64_t amount; /* milli-units granted */
    int64_t expires_at_ms;
};

/* One page of outstanding credits in id order after @after_id (0: the
 * first), of @host only unless it is NULL or "", as qm_pool_list. */
int qm_credit_list(struct qm_client *c,
                   const char *host,
                   uint64_t after_id,
                   bool stale,
                   struct qm_credit *out,
                   unsigned max,
                   unsigned *n,
                   bool *more,
                   struct qm_result *res);

#endif
