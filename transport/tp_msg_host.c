/* Schemas of tp_msg_host.h: every bound the wire enforces for hosts,
 * samples, allocations, actions, agent alerts and credits. */
#include "tp_msg.h"

#include <stdint.h>

#define BYTES_MAX (1LL << 60) /* sizes in bytes: an exabyte */
#define COUNT_MAX (1ULL << 32)
#define CPU_PM_MAX 10000000LL /* 10,000 cores, per mille of one */

/* ---- registration ---- */

static const struct qm_field host_service_fields[] = {
    QM_STR(struct tp_host_service, 0, name, QM_FF_REQ | QM_FF_NAME),
    QM_STR(struct tp_host_service, 1, match, QM_FF_REQ | QM_FF_TEXT),
};
QM_SCHEMA(tp_host_service_schema, struct tp_host_service, host_service_fields);

static const struct qm_field host_register_fields[] = {
    QM_STR(struct tp_host_register, 0, id, QM_FF_REQ | QM_FF_NAME),
    QM_STR(struct tp_host_register, 1, labels, QM_FF_TEXT),
    QM_U64(struct tp_host_register, 2, cpus, 0, 0, 65536),
    QM_I64(struct tp_host_register, 3, mem_bytes, 0, 0, BYTES_MAX),
    QM_I64(struct tp_host_register, 4, disk_bytes, 0, 0, BYTES_MAX),
    QM_STR(struct tp_host_register, 5, local_api, QM_FF_TEXT),
    QM_LIST(struct tp_host_register,
            6,
            services,
            nservices,
            tp_host_service_schema,
            0),
};
QM_SCHEMA(tp_host_register_schema,
          struct tp_host_register,
          host_register_fields);

static const struct qm_field host_info_fields[] = {
    QM_MAP(struct tp_host_info, 0, reg, tp_host_register_schema, QM_FF_REQ),
    QM_I64(struct tp_host_info, 1, registered_ms, 0, 0, QM_TIME_MAX),
    QM_I64(struct tp_host_info, 2, updated_ms, 0, 0, QM_TIME_MAX),
    QM_U64(struct tp_host_info, 3, alloc_version, 0, 0, UINT64_MAX),
};
QM_SCHEMA(tp_host_info_schema, struct tp_host_info, host_info_fields);

static const struct qm_field host_id_fields[] = {
    QM_STR(struct tp_host_id, 0, id, QM_FF_REQ | QM_FF_NAME),
};
QM_SCHEMA(tp_host_id_schema, struct tp_host_id, host_id_fields);

static const struct qm_field host_page_fields[] = {
    QM_LIST(struct tp_host_page, 0, hosts, nhosts, tp_host_info_schema, 0),
    QM_BOOL(struct tp_host_page, 1, more, 0),
};
QM_SCHEMA(tp_host_page_schema, struct tp_host_page, host_page_fields);

/* ---- samples ---- */

#define SVC_COUNT(k, m) QM_U64(struct tp_svc_sample, k, m, 0, 0, COUNT_MAX)
static const struct qm_field svc_sample_fields[] = {
    QM_STR(struct tp_svc_sample, 0, name, QM_FF_REQ | QM_FF_NAME),
    SVC_COUNT(1, nprocs),
    SVC_COUNT(2, nchildren),
    QM_I64(struct tp_svc_sample, 3, cpu_pm, 0, 0, CPU_PM_MAX),
    QM_I64(struct tp_svc_sample, 4, rss_bytes, 0, 0, BYTES_MAX),
    QM_I64(struct tp_svc_sample, 5, mem_limit, 0, 0, BYTES_MAX),
    SVC_COUNT(6, fds),
    SVC_COUNT(7, fd_limit),
    SVC_COUNT(8, threads),
    SVC_COUNT(9, sockets),
    SVC_COUNT(10, tcp_established),
    SVC_COUNT(11, tcp_listen),
    SVC_COUNT(12, tcp_time_wait),
    SVC_COUNT(13, tcp_close_wait),
    SVC_COUNT(14, tcp_other),
    QM_STR(struct tp_svc_sample, 15, note, QM_FF_TEXT),
    QM_STR(struct tp_svc_sample, 16, enforce, QM_FF_TEXT),
};
#undef SVC_COUNT
QM_SCHEMA(tp_svc_sample_schema, struct tp_svc_sample, svc_sample_fields);

#define HOST_BYTES(k, m) QM_I64(struct tp_host_sample, k, m, 0, 0, BYTES_MAX)
static const struct qm_field host_sample_fields[] = {
    QM_U64(struct tp_host_sample, 0, cpus, 0, 0, 65536),
    QM_I64(struct tp_host_sample, 1, cpu_pm, 0, 0, 1000),
    QM_I64(struct tp_host_sample, 2, load1_milli, 0, 0, BYTES_MAX),
    HOST_BYTES(3, mem_total),
    HOST_BYTES(4, mem_avail),
    HOST_BYTES(5, swap_total),
    HOST_BYTES(6, swap_free),
    HOST_BYTES(7, disk_total),
    HOST_BYTES(8, disk_avail),
    HOST_BYTES(9, net_rx_bps),
    HOST_BYTES(10, net_tx_bps),
    QM_U64(struct tp_host_sample, 11, procs, 0, 0, COUNT_MAX),
};
#undef HOST_BYTES
QM_SCHEMA(tp_host_sample_schema, struct tp_host_sample, host_sample_fields);

static const struct qm_field report_fields[] = {
    QM_STR(struct tp_report, 0, host, QM_FF_REQ | QM_FF_NAME),
    QM_I64(struct tp_report, 1, at_ms, QM_FF_REQ, 0, QM_TIME_MAX),
    QM_U64(struct tp_report, 2, seq, 0, 0, UINT64_MAX),
    QM_U64(struct tp_report, 3, part, 0, 0, QM_HOST_SERVICES_MAX),
    QM_U64(struct tp_report, 4, nparts, 0, 0, QM_HOST_SERVICES_MAX),
    QM_MAP(struct tp_report, 5, sample, tp_host_sample_schema, QM_FF_REQ),
    QM_LIST(struct tp_report, 6, services, nservices, tp_svc_sample_schema, 0),
};
QM_SCHEMA(tp_report_schema, struct tp_report, report_fields);

static const struct qm_field report_ack_fields[] = {
    QM_U64(struct tp_report_ack, 0, alloc_version, 0, 0, UINT64_MAX),
    QM_BOOL(struct tp_report_ack, 1, registered, 0),
};
QM_SCHEMA(tp_report_ack_schema, struct tp_report_ack, report_ack_fields);

static const struct qm_field host_metrics_fields[] = {
    QM_STR(struct tp_host_metrics, 0, host, QM_FF_REQ | QM_FF_NAME),
    QM_I64(struct tp_host_metrics, 1, seen_ms, 0, 0, QM_TIME_MAX),
    QM_I64(struct tp_host_metrics, 2, at_ms, 0, 0, QM_TIME_MAX),
    QM_U64(struct tp_host_metrics, 3, seq, 0, 0, UINT64_MAX),
    QM_MAP(struct tp_host_metrics, 4, sample, tp_host_sample_schema, QM_FF_REQ),
    QM_I64(struct tp_host_metrics, 5, cpu_pm_avg, 0, 0, 1000),
    QM_I64(struct tp_host_metrics, 6, cpu_pm_max, 0, 0, 1000),
    QM_U64(struct tp_host_metrics, 7, window, 0, 0, COUNT_MAX),
    QM_LIST(struct tp_host_metrics,
            8,
            services,
            nservices,
            tp_svc_sample_schema,
            0),
};
QM_SCHEMA(tp_host_metrics_schema, struct tp_host_metrics, host_metrics_fields);

static const struct qm_field metrics_args_fields[] = {
    QM_STR(struct tp_metrics_args, 0, host, QM_FF_NAME),
    QM_STR(struct tp_metrics_args, 1, after, QM_FF_NAME),
    QM_U64(struct tp_metrics_args, 2, limit, 0, 0, QM_METRICS_PAGE_MAX),
};
QM_SCHEMA(tp_metrics_args_schema, struct tp_metrics_args, metrics_args_fields);

static const struct qm_field metrics_page_fields[] = {
    QM_LIST(struct tp_metrics_page,
            0,
            hosts,
            nhosts,
            tp_host_metrics_schema,
            0),
    QM_BOOL(struct tp_metrics_page, 1, more, 0),
};
QM_SCHEMA(tp_metrics_page_schema, struct tp_metrics_page, metrics_page_fields);

/* ---- allocations ---- */

static const struct qm_field alloc_fields[] = {
    QM_STR(struct tp_alloc, 0, host, QM_FF_REQ | QM_FF_NAME),
    QM_STR(struct tp_alloc, 1, service, QM_FF_REQ | QM_FF_NAME),
    QM_U64(struct tp_alloc, 2, set, 0, 0, TP_ALLOC_ALL),
    QM_U64(struct tp_alloc, 3, unset, 0, 0, TP_ALLOC_ALL),
    QM_I64(struct tp_alloc, 4, nice, 0, -20, 19),
    QM_STR(struct tp_alloc, 5, cpus, QM_FF_TEXT),
    QM_U64(struct tp_alloc, 6, nofile, 0, 0, 1ULL << 30),
    QM_U64(struct tp_alloc, 7, nproc, 0, 0, 1ULL << 22),
    QM_I64(struct tp_alloc, 8, cpu_weight, 0, 0, 10000),
    QM_I64(struct tp_alloc, 9, cpu_max_quota_us, 0, -1, 1LL << 40),
    QM_I64(struct tp_alloc, 10, cpu_max_period_us, 0, 0, 1000000),
    QM_I64(struct tp_alloc, 11, memory_high, 0, -1, BYTES_MAX),
    QM_I64(struct tp_alloc, 12, memory_max, 0, -1, BYTES_MAX),
    QM_I64(struct tp_alloc, 13, instances, 0, 0, 1000),
    QM_I64(struct tp_alloc, 14, updated_ms, 0, 0, QM_TIME_MAX),
};
QM_SCHEMA(tp_alloc_schema, struct tp_alloc, alloc_fields);

static const struct qm_field alloc_key_fields[] = {
    QM_STR(struct tp_alloc_key, 0, host, QM_FF_REQ | QM_FF_NAME),
    QM_STR(struct tp_alloc_key, 1, service, QM_FF_REQ | QM_FF_NAME),
};
QM_SCHEMA(tp_alloc_key_schema, struct tp_alloc_key, alloc_key_fields);

static const struct qm_field alloc_list_args_fields[] = {
    QM_STR(struct tp_alloc_list_args, 0, host, QM_FF_REQ | QM_FF_NAME),
    QM_STR(struct tp_alloc_list_args, 1, after, QM_FF_NAME),
    QM_U64(struct tp_alloc_list_args, 2, limit, 0, 0, QM_PAGE_MAX),
};
QM_SCHEMA(tp_alloc_list_args_schema,
          struct tp_alloc_list_args,
          alloc_list_args_fields);

static const struct qm_field alloc_page_fields[] = {
    QM_LIST(struct tp_alloc_page, 0, allocs, nallocs, tp_alloc_schema, 0),
    QM_BOOL(struct tp_alloc_page, 1, more, 0),
};
QM_SCHEMA(tp_alloc_page_schema, struct tp_alloc_page, alloc_page_fields);

/* ---- actions and alerts ---- */

static const struct qm_field action_fields[] = {
    QM_U64(struct tp_action, 0, id, 0, 0, UINT64_MAX),
    QM_STR(struct tp_action, 1, host, QM_FF_REQ | QM_FF_NAME),
    QM_STR(struct tp_action, 2, service, QM_FF_NAME),
    QM_STR(struct tp_action, 3, action, QM_FF_REQ | QM_FF_NAME),
    QM_BOOL(struct tp_action, 4, ok, 0),
    QM_STR(struct tp_action, 5, message, QM_FF_TEXT),
    QM_I64(struct tp_action, 6, at_ms, 0, 0, QM_TIME_MAX),
};
QM_SCHEMA(tp_action_schema, struct tp_action, action_fields);

static const struct qm_field action_list_args_fields[] = {
    QM_STR(struct tp_action_list_args, 0, host, QM_FF_NAME),
    QM_U64(struct tp_action_list_args, 1, after, 0, 0, UINT64_MAX),
    QM_U64(struct tp_action_list_args, 2, limit, 0, 0, QM_PAGE_MAX),
};
QM_SCHEMA(tp_action_list_args_schema,
          struct tp_action_list_args,
          action_list_args_fields);

static const struct qm_field action_page_fields[] = {
    QM_LIST(struct tp_action_page, 0, actions, nactions, tp_action_schema, 0),
    QM_BOOL(struct tp_action_page, 1, more, 0),
};
QM_SCHEMA(tp_action_page_schema, struct tp_action_page, action_page_fields);

static const struct qm_field alert_raise_fields[] = {
    QM_STR(struct tp_alert_raise, 0, kind, QM_FF_REQ | QM_FF_NAME),
    QM_STR(struct tp_alert_raise, 1, subject, QM_FF_REQ | QM_FF_TEXT),
    QM_STR(struct tp_alert_raise, 2, topic, QM_FF_NAME),
    QM_STR(struct tp_alert_raise, 3, severity, QM_FF_REQ | QM_FF_NAME),
    QM_STR(struct tp_alert_raise, 4, message, QM_FF_TEXT),
};
QM_SCHEMA(tp_alert_raise_schema, struct tp_alert_raise, alert_raise_fields);

/* ---- credits ---- */

static const struct qm_field credit_grant_fields[] = {
    QM_STR(struct tp_credit_grant, 0, host, QM_FF_REQ | QM_FF_NAME),
    QM_STR(struct tp_credit_grant, 1, pool, QM_FF_REQ | QM_FF_NAME),
    QM_I64(struct tp_credit_grant, 2, amount, QM_FF_REQ, 1, QM_TOKENS_MAX),
    QM_I64(struct tp_credit_grant, 3, min, 0, 0, QM_TOKENS_MAX),
    QM_I64(struct tp_credit_grant, 4, ttl_ms, 0, 0, QM_CREDIT_TTL_MAX_MS),
};
QM_SCHEMA(tp_credit_grant_schema, struct tp_credit_grant, credit_grant_fields);

static const struct qm_field credit_fields[] = {
    QM_U64(struct tp_credit, 0, id, 0, 0, UINT64_MAX),
    QM_STR(struct tp_credit, 1, host, QM_FF_NAME),
    QM_STR(struct tp_credit, 2, pool, QM_FF_NAME),
    QM_I64(struct tp_credit, 3, amount, 0, 0, QM_TOKENS_MAX),
    QM_I64(struct tp_credit, 4, expires_at_ms, 0, 0, QM_TIME_MAX),
    QM_I64(struct tp_credit, 5, retry_after_ms, 0, 0, INT64_MAX),
};
QM_SCHEMA(tp_credit_schema, struct tp_credit, credit_fields);

static const struct qm_field credit_return_fields[] = {
    QM_U64(struct tp_credit_return, 0, id, QM_FF_REQ, 1, UINT64_MAX),
    QM_I64(struct tp_credit_return, 1, unused, 0, 0, QM_TOKENS_MAX),
};
QM_SCHEMA(tp_credit_return_schema,
          struct tp_credit_return,
          credit_return_fields);

static const struct qm_field credit_returned_fields[] = {
    QM_I64(struct tp_credit_returned, 0, returned, 0, 0, QM_TOKENS_MAX),
};
QM_SCHEMA(tp_credit_returned_schema,
          struct tp_credit_returned,
          credit_returned_fields);

static const struct qm_field credit_list_args_fields[] = {
    QM_STR(struct tp_credit_list_args, 0, host, QM_FF_NAME),
    QM_U64(struct tp_credit_list_args, 1, after, 0, 0, UINT64_MAX),
    QM_U64(struct tp_credit_list_args, 2, limit, 0, 0, QM_PAGE_MAX),
};
QM_SCHEMA(tp_credit_list_args_schema,
          struct tp_credit_list_args,
          credit_list_args_fields);

static const struct qm_field credit_page_fields[] = {
    QM_LIST(struct tp_credit_page, 0, credits, ncredits, tp_credit_schema, 0),
    QM_BOOL(struct tp_credit_page, 1, more, 0),
};
QM_SCHEMA(tp_credit_page_schema, struct tp_credit_page, credit_page_fields);
