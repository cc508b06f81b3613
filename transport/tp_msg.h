/* The message catalogue: every operation's code, class, argument schema and
 * reply-body schema, and the envelopes that carry them. This is the wire
 * contract between qmctl/libqm/qm-agent and qmd, and the format of the
 * commands stored in the raft log (docs in README "Protocol").
 *
 * A request is {0: version, 1: request id, 2: credential, 3: flags,
 * 4: command}; a command is {0: op, 1: session, 2: sequence, 3: args}. The
 * node copies the command bytes verbatim into the raft log, so what a client
 * sent is exactly what every replica applies (the credential stays out).
 * A reply is {0: version, 1: request id, 2: result}; a result is
 * {0: status, 1: message, 2: leader URL, 3: retry-after ms, 4: index,
 * 5: body}. The state machine encodes a result once and stores it with the
 * session, so a retried request gets the same bytes.
 *
 * Pure data and codec calls: thread-safe, no allocation. */
#ifndef QM_TRANSPORT_TP_MSG_H
#define QM_TRANSPORT_TP_MSG_H

#include <stdbool.h>
#include <stdint.h>

#include "qm_codec.h"
#include "qm_limits.h"

/* ---- envelopes ---- */

enum tp_req_flag {
    TP_RF_STALE = 1u << 0, /* serve a read from the addressed node's state */
};

struct tp_request
{
    uint64_t version;
    uint64_t id;
    char cred[QM_CRED_MAX + 1];
    uint64_t flags;
    struct qm_span cmd;
};

struct tp_cmd
{
    uint64_t op;
    uint64_t session;
    uint64_t seq;
    struct qm_span args;
};

struct tp_reply
{
    uint64_t version;
    uint64_t id;
    struct qm_span result;
};

struct tp_result
{
    uint64_t status;
    char message[QM_MESSAGE_MAX + 1];
    char leader[QM_URL_MAX + 1];
    int64_t retry_after_ms;
    uint64_t index;
    struct qm_span body;
};

extern const struct qm_schema tp_request_schema;
extern const struct qm_schema tp_cmd_schema;
extern const struct qm_schema tp_reply_schema;
extern const struct qm_schema tp_result_schema;

/* ---- argument and body messages ---- */

struct tp_empty
{
    uint64_t unused;
};

struct tp_member
{
    uint64_t id;
    char raft_addr[QM_ADDR_MAX + 1];
    char api_url[QM_URL_MAX + 1];
    uint64_t role; /* enum tp_role; in replies only */
};

enum tp_role { TP_ROLE_VOTER = 1, TP_ROLE_STANDBY, TP_ROLE_SPARE };

struct tp_member_id
{
    uint64_t id;
};

struct tp_node_info
{
    uint64_t id;
    uint64_t state; /* enum tp_state */
    uint64_t term;
    uint64_t commit_index;
    uint64_t applied_index;
    uint64_t last_index;
    uint64_t snapshot_index;
    uint64_t leader_id;
    char leader_url[QM_URL_MAX + 1];
    char raft_addr[QM_ADDR_MAX + 1];
    char api_url[QM_URL_MAX + 1];
    int64_t clock_ms; /* the state machine's cluster time */
    uint32_t nmembers;
    struct tp_member members[QM_MEMBERS_MAX];
};

enum tp_state {
    TP_STATE_UNAVAILABLE = 0,
    TP_STATE_FOLLOWER,
    TP_STATE_CANDIDATE,
    TP_STATE_LEADER,
};

struct tp_digest
{
    uint64_t id;
    uint64_t applied_index;
    char digest[33]; /* 128 bits in hex */
};

/* Client tiers (seed 004), in priority order. */
enum tp_tier {
    TP_TIER_ENTERPRISE = 1,
    TP_TIER_PREMIUM,
    TP_TIER_STANDARD,
    TP_TIER_BASIC,
};
#define TP_TIERS 4

/* Pool kinds. */
enum tp_kind {
    TP_KIND_SHARED = 1, /* any client */
    TP_KIND_RESERVED,   /* shares set aside per client or tier */
    TP_KIND_DEDICATED,  /* one client only */
};

/* A share of a reserved pool, set aside for a client or for a tier. */
struct tp_share
{
    uint64_t tier;                /* the tier it belongs to, or 0 */
    char client[QM_NAME_MAX + 1]; /* the client it belongs to, if no tier */
    int64_t amount;               /* milli-units set aside */
    int64_t tokens;               /* in replies: available in the share now */
};

struct tp_pool_create
{
    char name[QM_NAME_MAX + 1];
    int64_t capacity;            /* milli-units */
    int64_t refill;              /* milli-units per second */
    int64_t price;               /* nano-dollars per unit */
    uint64_t kind;               /* enum tp_kind; 0 = shared */
    char owner[QM_NAME_MAX + 1]; /* dedicated pools */
    uint32_t nshares;
    struct tp_share shares[QM_SHARES_MAX];
};

struct tp_pool_name
{
    char name[QM_NAME_MAX + 1];
};

struct tp_pool_info
{
    char name[QM_NAME_MAX + 1];
    int64_t capacity;
    int64_t refill;
    int64_t price;
    uint64_t kind;
    int64_t tokens; /* available to anyone now (the unreserved part) */
    int64_t created_ms;
    char owner[QM_NAME_MAX + 1];
    uint32_t nshares;
    struct tp_share shares[QM_SHARES_MAX];
};

struct tp_list_args
{
    char after[QM_NAME_MAX + 1]; /* start after this name ("" = first) */
    uint64_t limit;              /* 0 = QM_PAGE_MAX */
};

struct tp_pool_page
{
    uint32_t npools;
    struct tp_pool_info pools[QM_PAGE_MAX];
    bool more;
};

struct tp_acquire
{
    char pool[QM_NAME_MAX + 1];
    int64_t amount;               /* milli-units */
    char client[QM_NAME_MAX + 1]; /* optional: charge and check this client */
};

struct tp_acquire_result
{
    bool granted;
    int64_t tokens;         /* left for the caller after the call */
    int64_t retry_after_ms; /* when denied: time until @amount is there */
    int64_t cost;           /* micro-dollars charged to the client */
};

/* ---- the ledger ---- */

/* Tier parameters. A tier's budget applies to clients without their own;
 * @custom means the tier has none (each client sets one, or has none). */
struct tp_tier_info
{
    uint64_t tier;
    int64_t priority;       /* queue points, 0..40 */
    int64_t max_concurrent; /* open reservations per client */
    int64_t budget;         /* micro-dollars per month */
    bool custom;
};

enum tp_tier_set_field {
    TP_SET_PRIORITY = 1u << 0,
    TP_SET_MAX_CONCURRENT = 1u << 1,
    TP_SET_BUDGET = 1u << 2, /* @budget, or @custom for none */
    TP_SET_TIER = 1u << 3,   /* clients */
};

struct tp_tier_set
{
    uint64_t tier;
    uint64_t set; /* enum tp_tier_set_field */
    int64_t priority;
    int64_t max_concurrent;
    int64_t budget;
    bool custom;
};

struct tp_tier_id
{
    uint64_t tier;
};

struct tp_tier_list
{
    uint32_t ntiers;
    struct tp_tier_info tiers[TP_TIERS];
};

struct tp_client_create
{
    char id[QM_NAME_MAX + 1];
    uint64_t tier;
    bool has_budget; /* else the tier's budget applies */
    int64_t budget;  /* micro-dollars per month */
};

struct tp_client_set
{
    char id[QM_NAME_MAX + 1];
    uint64_t set; /* TP_SET_TIER, TP_SET_BUDGET */
    uint64_t tier;
    bool budget_default; /* with TP_SET_BUDGET: back to the tier's */
    int64_t budget;
};

struct tp_client_id
{
    char id[QM_NAME_MAX + 1];
};

struct tp_client_info
{
    char id[QM_NAME_MAX + 1];
    uint64_t tier;
    bool unlimited;   /* no budget applies */
    bool own_budget;  /* the budget is the client's, not the tier's */
    int64_t budget;   /* micro-dollars per month */
    int64_t spent;    /* this month, micro-dollars */
    int64_t reserved; /* estimated cost of open reservations */
    uint64_t open;    /* open reservations */
    uint64_t month;   /* YYYYMM of cluster time */
    int64_t created_ms;
};

struct tp_client_page
{
    uint32_t nclients;
    struct tp_client_info clients[QM_PAGE_MAX];
    bool more;
};

struct tp_amount
{
    char pool[QM_NAME_MAX + 1];
    int64_t amount; /* milli-units */
};

struct tp_reserve
{
    char client[QM_NAME_MAX + 1];
    int64_t ttl_ms; /* 0 = QM_RES_TTL_MS */
    uint32_t namounts;
    struct tp_amount amounts[QM_RES_POOLS_MAX];
};

struct tp_reserve_result
{
    uint64_t id;
    int64_t expires_at_ms;
    int64_t estimate;       /* micro-dollars held against the budget */
    int64_t retry_after_ms; /* when denied */
};

/* Commit: either @used (one entry per pool of the reservation), or
 * @has_used_one for a one-pool reservation, or neither: all used. */
struct tp_commit
{
    uint64_t id;
    uint32_t nused;
    struct tp_amount used[QM_RES_POOLS_MAX];
    bool has_used_one;
    int64_t used_one;
};

struct tp_res_id
{
    uint64_t id;
};

struct tp_charge
{
    int64_t cost; /* micro-dollars charged */
};

struct tp_res_info
{
    uint64_t id;
    char client[QM_NAME_MAX + 1];
    uint32_t namounts;
    struct tp_amount amounts[QM_RES_POOLS_MAX];
    int64_t estimate;
    int64_t created_ms;
    int64_t expires_at_ms;
};

struct tp_res_list_args
{
    char client[QM_NAME_MAX + 1]; /* "" = every client */
    uint64_t after;               /* reservation id */
    uint64_t limit;
};

struct tp_res_page
{
    uint32_t nres;
    struct tp_res_info res[QM_PAGE_MAX];
    bool more;
};

struct tp_usage_args
{
    char client[QM_NAME_MAX + 1];
    uint64_t month;              /* YYYYMM; 0 = this month */
    char after[QM_NAME_MAX + 1]; /* pool */
    uint64_t limit;
};

struct tp_pool_usage
{
    char pool[QM_NAME_MAX + 1];
    int64_t units; /* milli-units used */
    int64_t cost;  /* micro-dollars */
};

struct tp_usage
{
    char client[QM_NAME_MAX + 1];
    uint64_t month;
    int64_t spent;
    uint32_t npools;
    struct tp_pool_usage pools[QM_PAGE_MAX];
    bool more;
};

struct tp_estimate_args
{
    uint32_t namounts;
    struct tp_amount amounts[QM_RES_POOLS_MAX];
};

struct tp_estimate
{
    int64_t cost; /* micro-dollars */
};

struct tp_alert
{
    uint64_t id;
    char kind[24]; /* pool_low, budget_high, budget_exceeded, ... */
    char subject[QM_SUBJECT_MAX + 1];
    char severity[16]; /* warning, critical */
    int64_t at_ms;
    char message[QM_MESSAGE_MAX + 1];
};

struct tp_alert_args
{
    uint64_t after; /* alert id */
    uint64_t limit;
};

struct tp_alert_page
{
    uint32_t nalerts;
    struct tp_alert alerts[QM_PAGE_MAX];
    bool more;
};

extern const struct qm_schema tp_empty_schema;
extern const struct qm_schema tp_member_schema;
extern const struct qm_schema tp_member_id_schema;
extern const struct qm_schema tp_node_info_schema;
extern const struct qm_schema tp_digest_schema;
extern const struct qm_schema tp_pool_create_schema;
extern const struct qm_schema tp_pool_name_schema;
extern const struct qm_schema tp_pool_info_schema;
extern const struct qm_schema tp_list_args_schema;
extern const struct qm_schema tp_pool_page_schema;
extern const struct qm_schema tp_acquire_schema;
extern const struct qm_schema tp_acquire_result_schema;
extern const struct qm_schema tp_share_schema;
extern const struct qm_schema tp_tier_info_schema;
extern const struct qm_schema tp_tier_set_schema;
extern const struct qm_schema tp_tier_id_schema;
extern const struct qm_schema tp_tier_list_schema;
extern const struct qm_schema tp_client_create_schema;
extern const struct qm_schema tp_client_set_schema;
extern const struct qm_schema tp_client_id_schema;
extern const struct qm_schema tp_client_info_schema;
extern const struct qm_schema tp_client_page_schema;
extern const struct qm_schema tp_amount_schema;
extern const struct qm_schema tp_reserve_schema;
extern const struct qm_schema tp_reserve_result_schema;
extern const struct qm_schema tp_commit_schema;
extern const struct qm_schema tp_res_id_schema;
extern const struct qm_schema tp_charge_schema;
extern const struct qm_schema tp_res_info_schema;
extern const struct qm_schema tp_res_list_args_schema;
extern const struct qm_schema tp_res_page_schema;
extern const struct qm_schema tp_usage_args_schema;
extern const struct qm_schema tp_pool_usage_schema;
extern const struct qm_schema tp_usage_schema;
extern const struct qm_schema tp_estimate_args_schema;
extern const struct qm_schema tp_estimate_schema;
extern const struct qm_schema tp_alert_schema;
extern const struct qm_schema tp_alert_args_schema;
extern const struct qm_schema tp_alert_page_schema;

/* ---- queues ---- */

/* Queue tiers: dispatch classes, served in this order. */
enum tp_qtier {
    TP_QTIER_IMMEDIATE = 1,
    TP_QTIER_FAST,
    TP_QTIER_NORMAL,
    TP_QTIER_BATCH,
    TP_QTIER_DEFERRED,
};
#define TP_QTIERS 5

enum tp_qstate {
    TP_QSTATE_QUEUED = 1,
    TP_QSTATE_RUNNING,
    TP_QSTATE_DONE,
    TP_QSTATE_FAILED,
    TP_QSTATE_CANCELLED,
};
#define TP_QSTATES 5

struct tp_submit
{
    char client[QM_NAME_MAX + 1];
    uint64_t qtier;  /* enum tp_qtier */
    int64_t urgency; /* 0..30 priority points */
    uint32_t nneeds;
    struct tp_amount needs[QM_RES_POOLS_MAX];
    struct qm_span payload; /* opaque, up to QM_PAYLOAD_MAX bytes */
    int64_t deadline_ms;    /* from now; 0 = none */
    uint64_t attempts;      /* most leases it gets; 0 = the default */
};

struct tp_req_id
{
    uint64_t id;
};

struct tp_req_info
{
    uint64_t id;
    char client[QM_NAME_MAX + 1];
    uint64_t qtier;
    int64_t urgency;
    uint64_t state;    /* enum tp_qstate */
    int64_t priority;  /* milli-points (0..100 000) at the answer's time */
    uint64_t position; /* 1 = next to go (QUEUE_POSITION only) */
    int64_t wait_ms;   /* estimated wait (QUEUE_POSITION only) */
    uint64_t attempts;
    uint64_t max_attempts;
    int64_t enqueued_ms;
    int64_t deadline_ms; /* absolute; 0 = none */
    char worker[QM_NAME_MAX + 1];
    int64_t lease_expires_ms;
    uint64_t reservation;
    uint32_t nneeds;
    struct tp_amount needs[QM_RES_POOLS_MAX];
    int64_t finished_ms;
    char reason[QM_REASON_MAX + 1];
};

struct tp_req_list_args
{
    char client[QM_NAME_MAX + 1]; /* filters: "" and 0 match all */
    uint64_t qtier;
    uint64_t state;
    uint64_t after;
    uint64_t limit;
};

struct tp_req_page
{
    uint32_t nreqs;
    struct tp_req_info reqs[QM_PAGE_MAX];
    bool more;
};

struct tp_qtier_stats
{
    uint64_t qtier;
    uint64_t queued;
    uint64_t running;
    uint64_t done;
    uint64_t failed;
    uint64_t cancelled;
    uint64_t worker_timeouts;
    uint64_t dispatched;
};

struct tp_queue_stats
{
    uint32_t ntiers;
    struct tp_qtier_stats tiers[TP_QTIERS];
};

struct tp_lease_args
{
    char worker[QM_NAME_MAX + 1];
    int64_t lease_ms; /* 0 = the default */
};

struct tp_lease
{
    uint64_t id;
    char client[QM_NAME_MAX + 1];
    uint64_t qtier;
    struct qm_span payload;
    uint64_t reservation; /* 0 when the request needs nothing */
    uint64_t attempt;     /* 1 for the first lease: the lease's token */
    int64_t lease_expires_ms;
    uint32_t nneeds;
    struct tp_amount needs[QM_RES_POOLS_MAX];
};

/* Complete: the reservation is committed with @used (as tp_commit). */
struct tp_complete
{
    uint64_t id;
    uint64_t attempt; /* the lease's token; 0 = the current lease */
    uint32_t nused;
    struct tp_amount used[QM_RES_POOLS_MAX];
};

struct tp_fail
{
    uint64_t id;
    uint64_t attempt;
    char reason[QM_REASON_MAX + 1];
};

struct tp_fail_result
{
    bool requeued; /* false: out of attempts, the request failed */
    uint64_t attempts;
};

/* Replicated settings of the queues. Weights are per mille of the
 * nominal points (tier 0..40, urgency 0..30, wait 0..20, fairness 0..10).
 */
struct tp_qsettings
{
    int64_t w_tier;
    int64_t w_urgency;
    int64_t w_wait;
    int64_t w_fair;
    int64_t aging_ms;          /* waiting this long earns a wait point */
    int64_t fair_half_life_ms; /* a client's usage halves in this time */
    int64_t fair_scale;        /* dispatches at which fairness is halved */
    int64_t starve_ms;         /* older queued requests go first + alert */
    int64_t alert_queue_len;   /* alert when a queue tier is longer */
    int64_t offpeak_start_min; /* UTC minute of day the deferred tier */
    int64_t offpeak_end_min;   /* runs from/to; equal = no window */
    int64_t lease_ms;          /* default lease */
    int64_t max_attempts;      /* default attempts */
};

extern const struct qm_schema tp_submit_schema;
extern const struct qm_schema tp_req_id_schema;
extern const struct qm_schema tp_req_info_schema;
extern const struct qm_schema tp_req_list_args_schema;
extern const struct qm_schema tp_req_page_schema;
extern const struct qm_schema tp_qtier_stats_schema;
extern const struct qm_schema tp_queue_stats_schema;
extern const struct qm_schema tp_lease_args_schema;
extern const struct qm_schema tp_lease_schema;
extern const struct qm_schema tp_complete_schema;
extern const struct qm_schema tp_fail_schema;
extern const struct qm_schema tp_fail_result_schema;
extern const struct qm_schema tp_qsettings_schema;

/* ---- operations ---- */

/* How a node serves an operation. */
enum tp_class {
    TP_CLASS_LOCAL = 1, /* answered from the addressed node's own state */
    TP_CLASS_READ,      /* linearizable read on the leader (or --stale) */
    TP_CLASS_WRITE,     /* a command through raft and the state machine */
    TP_CLASS_ADMIN,     /* a raft membership change on the leader */
    TP_CLASS_INTERNAL,  /* proposed by the leader only; refused from clients */
    TP_CLASS_SOFT, /* the leader's soft state in memory (agents' samples) */
};

#include "tp_msg_host.h" /* hosts and agents: structs and TP_HOST_OPS */

/* X(name, code, class, args schema, body schema) */
#define TP_OPS(X)                                                              \
    X(NODE_INFO, 1, TP_CLASS_LOCAL, tp_empty_schema, tp_node_info_schema)      \
    X(DIGEST, 2, TP_CLASS_LOCAL, tp_empty_schema, tp_digest_schema)            \
    X(MEMBER_ADD, 3, TP_CLASS_ADMIN, tp_member_schema, tp_empty_schema)        \
    X(MEMBER_REMOVE, 4, TP_CLASS_ADMIN, tp_member_id_schema, tp_empty_schema)  \
    X(MEMBER_TRANSFER, 5, TP_CLASS_ADMIN, tp_member_id_schema,                 \
      tp_empty_schema)                                                         \
    X(POOL_CREATE, 16, TP_CLASS_WRITE, tp_pool_create_schema, tp_empty_schema) \
    X(POOL_GET, 17, TP_CLASS_READ, tp_pool_name_schema, tp_pool_info_schema)   \
    X(POOL_LIST, 18, TP_CLASS_READ, tp_list_args_schema, tp_pool_page_schema)  \
    X(POOL_DELETE, 19, TP_CLASS_WRITE, tp_pool_name_schema, tp_empty_schema)   \
    X(ACQUIRE, 20, TP_CLASS_WRITE, tp_acquire_schema,                          \
      tp_acquire_result_schema)                                                \
    X(CLIENT_CREATE, 21, TP_CLASS_WRITE, tp_client_create_schema,              \
      tp_empty_schema)                                                         \
    X(CLIENT_SET, 22, TP_CLASS_WRITE, tp_client_set_schema, tp_empty_schema)   \
    X(CLIENT_GET, 23, TP_CLASS_READ, tp_client_id_schema,                      \
      tp_client_info_schema)                                                   \
    X(CLIENT_LIST, 24, TP_CLASS_READ, tp_list_args_schema,                     \
      tp_client_page_schema)                                                   \
    X(TIER_GET, 25, TP_CLASS_READ, tp_tier_id_schema, tp_tier_info_schema)     \
    X(TIER_SET, 26, TP_CLASS_WRITE, tp_tier_set_schema, tp_empty_schema)       \
    X(TIER_LIST, 27, TP_CLASS_READ, tp_empty_schema, tp_tier_list_schema)      \
    X(RESERVE, 28, TP_CLASS_WRITE, tp_reserve_schema,                          \
      tp_reserve_result_schema)                                                \
    X(COMMIT, 29, TP_CLASS_WRITE, tp_commit_schema, tp_charge_schema)          \
    X(RELEASE, 30, TP_CLASS_WRITE, tp_res_id_schema, tp_charge_schema)         \
    X(RESERVATION_LIST, 31, TP_CLASS_READ, tp_res_list_args_schema,            \
      tp_res_page_schema)                                                      \
    X(RESERVATION_GET, 32, TP_CLASS_READ, tp_res_id_schema,                    \
      tp_res_info_schema)                                                      \
    X(USAGE, 33, TP_CLASS_READ, tp_usage_args_schema, tp_usage_schema)         \
    X(COST_ESTIMATE, 34, TP_CLASS_READ, tp_estimate_args_schema,               \
      tp_estimate_schema)                                                      \
    X(ALERT_LIST, 35, TP_CLASS_READ, tp_alert_args_schema,                     \
      tp_alert_page_schema)                                                    \
    X(QUEUE_SUBMIT, 40, TP_CLASS_WRITE, tp_submit_schema, tp_req_id_schema)    \
    X(QUEUE_GET, 41, TP_CLASS_READ, tp_req_id_schema, tp_req_info_schema)      \
    X(QUEUE_CANCEL, 42, TP_CLASS_WRITE, tp_req_id_schema, tp_empty_schema)     \
    X(QUEUE_POSITION, 43, TP_CLASS_READ, tp_req_id_schema, tp_req_info_schema) \
    X(QUEUE_LIST, 44, TP_CLASS_READ, tp_req_list_args_schema,                  \
      tp_req_page_schema)                                                      \
    X(QUEUE_STATS, 45, TP_CLASS_READ, tp_empty_schema, tp_queue_stats_schema)  \
    X(QUEUE_LEASE, 46, TP_CLASS_WRITE, tp_lease_args_schema, tp_lease_schema)  \
    X(QUEUE_COMPLETE, 47, TP_CLASS_WRITE, tp_complete_schema,                  \
      tp_charge_schema)                                                        \
    X(QUEUE_FAIL, 48, TP_CLASS_WRITE, tp_fail_schema, tp_fail_result_schema)   \
    X(QUEUE_SETTINGS_GET, 49, TP_CLASS_READ, tp_empty_schema,                  \
      tp_qsettings_schema)                                                     \
    X(QUEUE_SETTINGS_SET, 50, TP_CLASS_WRITE, tp_qsettings_schema,             \
      tp_empty_schema)                                                         \
    X(TICK, 64, TP_CLASS_INTERNAL, tp_empty_schema, tp_empty_schema)           \
    X(MEMBER_SET, 65, TP_CLASS_INTERNAL, tp_member_schema, tp_empty_schema)    \
    X(MEMBER_DEL, 66, TP_CLASS_INTERNAL, tp_member_id_schema, tp_empty_schema) \
    TP_HOST_OPS(X)

enum tp_op {
#define TP__OP_ENUM(name, code, cls, args, body) TP_OP_##name = code,
    TP_OPS(TP__OP_ENUM)
#undef TP__OP_ENUM
};

/* Highest op code; op codes index tables of this size + 1. */
#define TP_OP_MAX 127

struct tp_op_info
{
    uint32_t op;
    const char *name; /* "POOL_CREATE" */
    uint8_t cls;
    const struct qm_schema *args;
    const struct qm_schema *body;
};

/* The catalogue entry for @op, or NULL for an unknown code. */
const struct tp_op_info *tp_op_info(uint64_t op);

/* Every argument struct fits in this union; a decoded command's args live
 * here. */
union tp_args {
    struct tp_empty empty;
    struct tp_member member;
    struct tp_member_id member_id;
    struct tp_pool_create pool_create;
    struct tp_pool_name pool_name;
    struct tp_list_args list;
    struct tp_acquire acquire;
    struct tp_tier_set tier_set;
    struct tp_tier_id tier_id;
    struct tp_client_create client_create;
    struct tp_client_set client_set;
    struct tp_client_id client_id;
    struct tp_reserve reserve;
    struct tp_commit commit;
    struct tp_res_id res_id;
    struct tp_res_list_args res_list;
    struct tp_usage_args usage;
    struct tp_estimate_args estimate;
    struct tp_alert_args alerts;
    struct tp_submit submit;
    struct tp_req_id req_id;
    struct tp_req_list_args req_list;
    struct tp_lease_args lease;
    struct tp_complete complete;
    struct tp_fail fail;
    struct tp_qsettings qsettings;
    struct tp_host_register host_register;
    struct tp_host_id host_id;
    struct tp_report report;
    struct tp_metrics_args metrics;
    struct tp_alloc alloc;
    struct tp_alloc_key alloc_key;
    struct tp_alloc_list_args alloc_list;
    struct tp_action action;
    struct tp_action_list_args action_list;
    struct tp_alert_raise alert_raise;
    struct tp_credit_grant credit_grant;
    struct tp_credit_return credit_return;
    struct tp_credit_list_args credit_list;
};

/* A request decoded down to its typed arguments. Spans borrow the input. */
struct tp_decoded
{
    struct tp_request req;
    struct tp_cmd cmd;
    const struct tp_op_info *info;
    union tp_args args;
};

/* Decode and validate a whole request: envelope, command, op and arguments.
 * QM_OK, QM_INVALID with a reason in @err (anything malformed, an unknown or
 * internal op when @from_client), or QM_EPROTO... never: every failure of
 * the input is QM_INVALID. */
int tp_request_decode(const void *p,
                      size_t n,
                      bool from_client,
                      struct tp_decoded *out,
                      char err[QM_ERRMSG_SIZE]);

/* Decode one command (as stored in the log) down to its arguments. */
int tp_cmd_decode(struct qm_span raw,
                  struct tp_cmd *cmd,
                  const struct tp_op_info **info,
                  union tp_args *args,
                  char err[QM_ERRMSG_SIZE]);

/* Encoders for the envelopes. @args/@body are already encoded maps (or
 * empty spans). */
int tp_cmd_encode(struct qm_buf *b,
                  uint32_t op,
                  uint64_t session,
                  uint64_t seq,
                  struct qm_span args);
int tp_request_encode(struct qm_buf *b,
                      uint64_t id,
                      const char *cred,
                      uint64_t flags,
                      struct qm_span cmd);
int tp_reply_encode(struct qm_buf *b, uint64_t id, struct qm_span result);

/* Encode a result map. @body_schema/@body may be NULL for no body. */
int tp_result_encode(struct qm_buf *b,
                     int status,
                     const char *message,
                     const char *leader,
                     int64_t retry_after_ms,
                     uint64_t index,
                     const struct qm_schema *body_schema,
                     const void *body);

#endif
