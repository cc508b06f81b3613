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
 * qm_reserve_async, qm_commit_async) run their callback exactly once, on
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

#endif
