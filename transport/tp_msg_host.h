/* The message catalogue, part two: hosts and their agents. An agent
 * registers its host (replicated), reports samples to the leader (soft
 * state, never through raft), raises alerts, records the actions it took,
 * reads the allocations the ledger holds for its services, and holds leased
 * credits of hot pools for its local API. Included by tp_msg.h; the same
 * rules apply (pure data, thread-safe, no allocation). */
#ifndef QM_TRANSPORT_TP_MSG_HOST_H
#define QM_TRANSPORT_TP_MSG_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "qm_codec.h"
#include "qm_limits.h"

/* ---- registration (replicated) ---- */

/* A watched service as the agent declares it. */
struct tp_host_service
{
    char name[QM_NAME_MAX + 1];
    char match[QM_MATCH_MAX + 1]; /* "exe:NAME", "pid:N", "pidfile:PATH",
                                     "cgroup:PATH" */
};

struct tp_host_register
{
    char id[QM_NAME_MAX + 1];
    char labels[QM_LABELS_MAX + 1]; /* "role=trading,rack=a" */
    uint64_t cpus;
    int64_t mem_bytes;
    int64_t disk_bytes;
    char local_api[QM_URL_MAX + 1]; /* the agent's ipc:// URL, if any */
    uint32_t nservices;
    struct tp_host_service services[QM_HOST_SERVICES_MAX];
};

struct tp_host_info
{
    struct tp_host_register reg; /* as last registered */
    int64_t registered_ms;       /* first registration */
    int64_t updated_ms;          /* last registration */
    uint64_t alloc_version;      /* raised by every ALLOC_SET of the host */
};

struct tp_host_id
{
    char id[QM_NAME_MAX + 1];
};

struct tp_host_page
{
    uint32_t nhosts;
    struct tp_host_info hosts[QM_HOST_PAGE_MAX];
    bool more;
};

/* ---- samples (soft state on the leader) ---- */

/* A service summed over its processes. CPU in per mille of one core;
 * TCP sockets by state. */
struct tp_svc_sample
{
    char name[QM_NAME_MAX + 1];
    uint64_t nprocs;
    uint64_t nchildren;
    int64_t cpu_pm;
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

struct tp_host_sample
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
    int64_t net_rx_bps;
    int64_t net_tx_bps;
    uint64_t procs;
};

/* One report: the host, and a part of its services (an agent with more
 * than QM_REPORT_SERVICES_MAX sends several, @part 0 first). */
struct tp_report
{
    char host[QM_NAME_MAX + 1];
    int64_t at_ms; /* the agent's clock when sampled */
    uint64_t seq;  /* the agent's sample counter */
    uint64_t part;
    uint64_t nparts;
    struct tp_host_sample sample;
    uint32_t nservices;
    struct tp_svc_sample services[QM_REPORT_SERVICES_MAX];
};

struct tp_report_ack
{
    uint64_t alloc_version; /* of the host, as the leader has applied it */
    bool registered;        /* false: register (again) */
};

/* The leader's latest view of a host. */
struct tp_host_metrics
{
    char host[QM_NAME_MAX + 1];
    int64_t seen_ms; /* leader's clock at the last report */
    int64_t at_ms;   /* the agent's clock of that sample */
    uint64_t seq;
    struct tp_host_sample sample;
    int64_t cpu_pm_avg; /* over the recent window the leader keeps */
    int64_t cpu_pm_max;
    uint64_t window; /* samples in that window */
    uint32_t nservices;
    struct tp_svc_sample services[QM_HOST_SERVICES_MAX];
};

struct tp_metrics_args
{
    char host[QM_NAME_MAX + 1];  /* one host, or "" for a page of all */
    char after[QM_NAME_MAX + 1]; /* page after this host id */
    uint64_t limit;              /* 0 = QM_METRICS_PAGE_MAX */
};

struct tp_metrics_page
{
    uint32_t nhosts;
    struct tp_host_metrics hosts[QM_METRICS_PAGE_MAX];
    bool more;
};

/* ---- allocations (replicated) ---- */

enum tp_alloc_field {
    TP_ALLOC_NICE = 1u << 0,
    TP_ALLOC_CPUS = 1u << 1,
    TP_ALLOC_NOFILE = 1u << 2,
    TP_ALLOC_NPROC = 1u << 3,
    TP_ALLOC_CPU_WEIGHT = 1u << 4,
    TP_ALLOC_CPU_MAX = 1u << 5,
    TP_ALLOC_MEMORY_HIGH = 1u << 6,
    TP_ALLOC_MEMORY_MAX = 1u << 7,
    TP_ALLOC_INSTANCES = 1u << 8,
};
#define TP_ALLOC_ALL 0x1ffu

/* What a service on a host is given. Fields count only where @set has
 * their bit. ALLOC_SET replaces the fields of @set and removes those of
 * @unset; the rest stay. */
struct tp_alloc
{
    char host[QM_NAME_MAX + 1];
    char service[QM_NAME_MAX + 1];
    uint64_t set;   /* enum tp_alloc_field */
    uint64_t unset; /* ALLOC_SET only */
    int64_t nice;   /* -20..19 */
    char cpus[QM_CPULIST_MAX + 1];
    uint64_t nofile;
    uint64_t nproc;
    int64_t cpu_weight;        /* 1..10000 */
    int64_t cpu_max_quota_us;  /* -1 = max */
    int64_t cpu_max_period_us; /* 1000..1000000 */
    int64_t memory_high;       /* bytes; -1 = max */
    int64_t memory_max;        /* bytes; -1 = max */
    int64_t instances;         /* processes the agent keeps running */
    int64_t updated_ms;        /* in replies */
};

struct tp_alloc_key
{
    char host[QM_NAME_MAX + 1];
    char service[QM_NAME_MAX + 1];
};

struct tp_alloc_list_args
{
    char host[QM_NAME_MAX + 1];  /* required */
    char after[QM_NAME_MAX + 1]; /* service */
    uint64_t limit;
};

struct tp_alloc_page
{
    uint32_t nallocs;
    struct tp_alloc allocs[QM_PAGE_MAX];
    bool more;
};

/* ---- actions, alerts (replicated) ---- */

struct tp_action
{
    uint64_t id; /* in replies */
    char host[QM_NAME_MAX + 1];
    char service[QM_NAME_MAX + 1];
    char action[16]; /* start, stop, apply */
    bool ok;
    char message[QM_MESSAGE_MAX + 1];
    int64_t at_ms; /* in replies: cluster time recorded */
};

struct tp_action_list_args
{
    char host[QM_NAME_MAX + 1]; /* "" = all hosts */
    uint64_t after;
    uint64_t limit;
};

struct tp_action_page
{
    uint32_t nactions;
    struct tp_action actions[QM_PAGE_MAX];
    bool more;
};

/* An alert an agent raises: kind "leak" or "threshold", subject
 * "HOST/SERVICE" (or "HOST" for the host itself), @topic the resource
 * ("fds", "cpu"), which keeps the cooldowns of different resources and
 * severities of one subject apart. */
struct tp_alert_raise
{
    char kind[24];
    char subject[QM_SUBJECT_MAX + 1];
    char topic[24];
    char severity[16]; /* warning, critical, resolved */
    char message[QM_MESSAGE_MAX + 1];
};

/* ---- credits (replicated) ---- */

/* A batch of a pool's tokens taken now for an agent, which hands them out
 * locally until the lease ends. What is not given back by then counts as
 * used, so the pool never grants more than it holds. */
struct tp_credit_grant
{
    char host[QM_NAME_MAX + 1];
    char pool[QM_NAME_MAX + 1];
    int64_t amount; /* milli-units wanted */
    int64_t min;    /* take less, down to this; 0 = all or nothing */
    int64_t ttl_ms; /* 0 = QM_CREDIT_TTL_MS */
};

struct tp_credit
{
    uint64_t id;
    char host[QM_NAME_MAX + 1];
    char pool[QM_NAME_MAX + 1];
    int64_t amount; /* granted */
    int64_t expires_at_ms;
    int64_t retry_after_ms; /* when denied */
};

struct tp_credit_return
{
    uint64_t id;
    int64_t unused; /* milli-units given back (at most the grant) */
};

struct tp_credit_returned
{
    int64_t returned;
};

struct tp_credit_list_args
{
    char host[QM_NAME_MAX + 1]; /* "" = all */
    uint64_t after;
    uint64_t limit;
};

struct tp_credit_page
{
    uint32_t ncredits;
    struct tp_credit credits[QM_PAGE_MAX];
    bool more;
};

extern const struct qm_schema tp_host_service_schema;
extern const struct qm_schema tp_host_register_schema;
extern const struct qm_schema tp_host_info_schema;
extern const struct qm_schema tp_host_id_schema;
extern const struct qm_schema tp_host_page_schema;
extern const struct qm_schema tp_svc_sample_schema;
extern const struct qm_schema tp_host_sample_schema;
extern const struct qm_schema tp_report_schema;
extern const struct qm_schema tp_report_ack_schema;
extern const struct qm_schema tp_host_metrics_schema;
extern const struct qm_schema tp_metrics_args_schema;
extern const struct qm_schema tp_metrics_page_schema;
extern const struct qm_schema tp_alloc_schema;
extern const struct qm_schema tp_alloc_key_schema;
extern const struct qm_schema tp_alloc_list_args_schema;
extern const struct qm_schema tp_alloc_page_schema;
extern const struct qm_schema tp_action_schema;
extern const struct qm_schema tp_action_list_args_schema;
extern const struct qm_schema tp_action_page_schema;
extern const struct qm_schema tp_alert_raise_schema;
extern const struct qm_schema tp_credit_grant_schema;
extern const struct qm_schema tp_credit_schema;
extern const struct qm_schema tp_credit_return_schema;
extern const struct qm_schema tp_credit_returned_schema;
extern const struct qm_schema tp_credit_list_args_schema;
extern const struct qm_schema tp_credit_page_schema;

/* The operations of this part, for TP_OPS. SOFT operations are served by
 * the leader from memory. */
#define TP_HOST_OPS(X)                                                         \
    X(HOST_REGISTER, 80, TP_CLASS_WRITE, tp_host_register_schema,              \
      tp_report_ack_schema)                                                    \
    X(HOST_GET, 81, TP_CLASS_READ, tp_host_id_schema, tp_host_info_schema)     \
    X(HOST_LIST, 82, TP_CLASS_READ, tp_list_args_schema, tp_host_page_schema)  \
    X(HOST_DELETE, 83, TP_CLASS_WRITE, tp_host_id_schema, tp_empty_schema)     \
    X(HOST_REPORT, 84, TP_CLASS_SOFT, tp_report_schema, tp_report_ack_schema)  \
    X(HOST_METRICS, 85, TP_CLASS_SOFT, tp_metrics_args_schema,                 \
      tp_metrics_page_schema)                                                  \
    X(ALLOC_SET, 86, TP_CLASS_WRITE, tp_alloc_schema, tp_empty_schema)         \
    X(ALLOC_GET, 87, TP_CLASS_READ, tp_alloc_key_schema, tp_alloc_schema)      \
    X(ALLOC_LIST, 88, TP_CLASS_READ, tp_alloc_list_args_schema,                \
      tp_alloc_page_schema)                                                    \
    X(ACTION_RECORD, 89, TP_CLASS_WRITE, tp_action_schema, tp_action_schema)   \
    X(ACTION_LIST, 90, TP_CLASS_READ, tp_action_list_args_schema,              \
      tp_action_page_schema)                                                   \
    X(ALERT_RAISE, 91, TP_CLASS_WRITE, tp_alert_raise_schema, tp_empty_schema) \
    X(CREDIT_GRANT, 92, TP_CLASS_WRITE, tp_credit_grant_schema,                \
      tp_credit_schema)                                                        \
    X(CREDIT_RETURN, 93, TP_CLASS_WRITE, tp_credit_return_schema,              \
      tp_credit_returned_schema)                                               \
    X(CREDIT_LIST, 94, TP_CLASS_READ, tp_credit_list_args_schema,              \
      tp_credit_page_schema)

#endif
