#include "tp_msg.h"

#include <stdio.h>
#include <string.h>

#include "qm_err.h"

/* ---- envelopes ---- */

static const struct qm_field request_fields[] = {
    QM_U64(struct tp_request, 0, version, QM_FF_REQ, 1, 255),
    QM_U64(struct tp_request, 1, id, 0, 0, UINT64_MAX),
    QM_STR(struct tp_request, 2, cred, 0),
    QM_U64(struct tp_request, 3, flags, 0, 0, TP_RF_STALE),
    QM_RAW(struct tp_request, 4, cmd, QM_FF_REQ),
};
QM_SCHEMA(tp_request_schema, struct tp_request, request_fields);

static const struct qm_field cmd_fields[] = {
    QM_U64(struct tp_cmd, 0, op, QM_FF_REQ, 1, TP_OP_MAX),
    QM_U64(struct tp_cmd, 1, session, 0, 0, UINT64_MAX),
    QM_U64(struct tp_cmd, 2, seq, 0, 0, UINT64_MAX),
    QM_RAW(struct tp_cmd, 3, args, 0),
};
QM_SCHEMA(tp_cmd_schema, struct tp_cmd, cmd_fields);

static const struct qm_field reply_fields[] = {
    QM_U64(struct tp_reply, 0, version, QM_FF_REQ, 1, 255),
    QM_U64(struct tp_reply, 1, id, 0, 0, UINT64_MAX),
    QM_RAW(struct tp_reply, 2, result, QM_FF_REQ),
};
QM_SCHEMA(tp_reply_schema, struct tp_reply, reply_fields);

static const struct qm_field result_fields[] = {
    QM_U64(struct tp_result, 0, status, QM_FF_REQ, 0, QM_STATUS_MAX),
    QM_STR(struct tp_result, 1, message, 0),
    QM_STR(struct tp_result, 2, leader, 0),
    QM_I64(struct tp_result, 3, retry_after_ms, 0, 0, INT64_MAX),
    QM_U64(struct tp_result, 4, index, 0, 0, UINT64_MAX),
    QM_RAW(struct tp_result, 5, body, 0),
};
QM_SCHEMA(tp_result_schema, struct tp_result, result_fields);

/* ---- messages ---- */

const struct qm_schema tp_empty_schema = {"struct tp_empty", NULL, 0,
                                          sizeof(struct tp_empty)};

static const struct qm_field member_fields[] = {
    QM_U64(struct tp_member, 0, id, QM_FF_REQ, 1, QM_NODE_ID_MAX),
    QM_STR(struct tp_member, 1, raft_addr, QM_FF_REQ | QM_FF_TEXT),
    QM_STR(struct tp_member, 2, api_url, QM_FF_REQ | QM_FF_TEXT),
    QM_U64(struct tp_member, 3, role, 0, 0, TP_ROLE_SPARE),
};
QM_SCHEMA(tp_member_schema, struct tp_member, member_fields);

static const struct qm_field member_id_fields[] = {
    QM_U64(struct tp_member_id, 0, id, QM_FF_REQ, 1, QM_NODE_ID_MAX),
};
QM_SCHEMA(tp_member_id_schema, struct tp_member_id, member_id_fields);

static const struct qm_field node_info_fields[] = {
    QM_U64(struct tp_node_info, 0, id, QM_FF_REQ, 1, QM_NODE_ID_MAX),
    QM_U64(struct tp_node_info, 1, state, 0, 0, TP_STATE_LEADER),
    QM_U64(struct tp_node_info, 2, term, 0, 0, UINT64_MAX),
    QM_U64(struct tp_node_info, 3, commit_index, 0, 0, UINT64_MAX),
    QM_U64(struct tp_node_info, 4, applied_index, 0, 0, UINT64_MAX),
    QM_U64(struct tp_node_info, 5, last_index, 0, 0, UINT64_MAX),
    QM_U64(struct tp_node_info, 6, snapshot_index, 0, 0, UINT64_MAX),
    QM_U64(struct tp_node_info, 7, leader_id, 0, 0, QM_NODE_ID_MAX),
    QM_STR(struct tp_node_info, 8, leader_url, 0),
    QM_STR(struct tp_node_info, 9, raft_addr, 0),
    QM_STR(struct tp_node_info, 10, api_url, 0),
    QM_I64(struct tp_node_info, 11, clock_ms, 0, 0, QM_TIME_MAX),
    QM_LIST(struct tp_node_info, 12, members, nmembers, tp_member_schema, 0),
};
QM_SCHEMA(tp_node_info_schema, struct tp_node_info, node_info_fields);

static const struct qm_field digest_fields[] = {
    QM_U64(struct tp_digest, 0, id, QM_FF_REQ, 1, QM_NODE_ID_MAX),
    QM_U64(struct tp_digest, 1, applied_index, 0, 0, UINT64_MAX),
    QM_STR(struct tp_digest, 2, digest, QM_FF_REQ),
};
QM_SCHEMA(tp_digest_schema, struct tp_digest, digest_fields);

static const struct qm_field share_fields[] = {
    QM_U64(struct tp_share, 0, tier, 0, 0, TP_TIERS),
    QM_STR(struct tp_share, 1, client, QM_FF_NAME),
    QM_I64(struct tp_share, 2, amount, QM_FF_REQ, 1, QM_TOKENS_MAX),
    QM_I64(struct tp_share, 3, tokens, 0, 0, QM_TOKENS_MAX),
};
QM_SCHEMA(tp_share_schema, struct tp_share, share_fields);

static const struct qm_field pool_create_fields[] = {
    QM_STR(struct tp_pool_create, 0, name, QM_FF_REQ | QM_FF_NAME),
    QM_I64(struct tp_pool_create, 1, capacity, QM_FF_REQ, 1, QM_TOKENS_MAX),
    QM_I64(struct tp_pool_create, 2, refill, 0, 0, QM_REFILL_MAX),
    QM_I64(struct tp_pool_create, 3, price, 0, 0, QM_PRICE_MAX),
    QM_U64(struct tp_pool_create, 4, kind, 0, 0, TP_KIND_DEDICATED),
    QM_STR(struct tp_pool_create, 5, owner, QM_FF_NAME),
    QM_LIST(struct tp_pool_create, 6, shares, nshares, tp_share_schema, 0),
};
QM_SCHEMA(tp_pool_create_schema, struct tp_pool_create, pool_create_fields);

static const struct qm_field pool_name_fields[] = {
    QM_STR(struct tp_pool_name, 0, name, QM_FF_REQ | QM_FF_NAME),
};
QM_SCHEMA(tp_pool_name_schema, struct tp_pool_name, pool_name_fields);

static const struct qm_field pool_info_fields[] = {
    QM_STR(struct tp_pool_info, 0, name, QM_FF_REQ | QM_FF_NAME),
    QM_I64(struct tp_pool_info, 1, capacity, 0, 0, QM_TOKENS_MAX),
    QM_I64(struct tp_pool_info, 2, refill, 0, 0, QM_REFILL_MAX),
    QM_I64(struct tp_pool_info, 3, price, 0, 0, QM_PRICE_MAX),
    QM_U64(struct tp_pool_info, 4, kind, 0, 0, TP_KIND_DEDICATED),
    QM_I64(struct tp_pool_info, 5, tokens, 0, 0, QM_TOKENS_MAX),
    QM_I64(struct tp_pool_info, 6, created_ms, 0, 0, QM_TIME_MAX),
    QM_STR(struct tp_pool_info, 7, owner, QM_FF_NAME),
    QM_LIST(struct tp_pool_info, 8, shares, nshares, tp_share_schema, 0),
};
QM_SCHEMA(tp_pool_info_schema, struct tp_pool_info, pool_info_fields);

static const struct qm_field list_args_fields[] = {
    QM_STR(struct tp_list_args, 0, after, QM_FF_NAME),
    QM_U64(struct tp_list_args, 1, limit, 0, 0, QM_PAGE_MAX),
};
QM_SCHEMA(tp_list_args_schema, struct tp_list_args, list_args_fields);

static const struct qm_field pool_page_fields[] = {
    QM_LIST(struct tp_pool_page, 0, pools, npools, tp_pool_info_schema, 0),
    QM_BOOL(struct tp_pool_page, 1, more, 0),
};
QM_SCHEMA(tp_pool_page_schema, struct tp_pool_page, pool_page_fields);

static const struct qm_field acquire_fields[] = {
    QM_STR(struct tp_acquire, 0, pool, QM_FF_REQ | QM_FF_NAME),
    QM_I64(struct tp_acquire, 1, amount, QM_FF_REQ, 1, QM_TOKENS_MAX),
    QM_STR(struct tp_acquire, 2, client, QM_FF_NAME),
};
QM_SCHEMA(tp_acquire_schema, struct tp_acquire, acquire_fields);

static const struct qm_field acquire_result_fields[] = {
    QM_BOOL(struct tp_acquire_result, 0, granted, 0),
    QM_I64(struct tp_acquire_result, 1, tokens, 0, 0, QM_TOKENS_MAX),
    QM_I64(struct tp_acquire_result, 2, retry_after_ms, 0, 0, INT64_MAX),
    QM_I64(struct tp_acquire_result, 3, cost, 0, 0, INT64_MAX),
};
QM_SCHEMA(tp_acquire_result_schema,
          struct tp_acquire_result,
          acquire_result_fields);

/* ---- the ledger ---- */

static const struct qm_field tier_info_fields[] = {
    QM_U64(struct tp_tier_info, 0, tier, QM_FF_REQ, 1, TP_TIERS),
    QM_I64(struct tp_tier_info, 1, priority, 0, 0, 40),
    QM_I64(struct tp_tier_info, 2, max_concurrent, 0, 0, QM_RESERVATIONS_MAX),
    QM_I64(struct tp_tier_info, 3, budget, 0, 0, QM_MONEY_MAX),
    QM_BOOL(struct tp_tier_info, 4, custom, 0),
};
QM_SCHEMA(tp_tier_info_schema, struct tp_tier_info, tier_info_fields);

static const struct qm_field tier_set_fields[] = {
    QM_U64(struct tp_tier_set, 0, tier, QM_FF_REQ, 1, TP_TIERS),
    QM_U64(struct tp_tier_set,
           1,
           set,
           QM_FF_REQ,
           1,
           TP_SET_PRIORITY | TP_SET_MAX_CONCURRENT | TP_SET_BUDGET),
    QM_I64(struct tp_tier_set, 2, priority, 0, 0, 40),
    QM_I64(struct tp_tier_set, 3, max_concurrent, 0, 0, QM_RESERVATIONS_MAX),
    QM_I64(struct tp_tier_set, 4, budget, 0, 0, QM_MONEY_MAX),
    QM_BOOL(struct tp_tier_set, 5, custom, 0),
};
QM_SCHEMA(tp_tier_set_schema, struct tp_tier_set, tier_set_fields);

static const struct qm_field tier_id_fields[] = {
    QM_U64(struct tp_tier_id, 0, tier, QM_FF_REQ, 1, TP_TIERS),
};
QM_SCHEMA(tp_tier_id_schema, struct tp_tier_id, tier_id_fields);

static const struct qm_field tier_list_fields[] = {
    QM_LIST(struct tp_tier_list, 0, tiers, ntiers, tp_tier_info_schema, 0),
};
QM_SCHEMA(tp_tier_list_schema, struct tp_tier_list, tier_list_fields);

static const struct qm_field client_create_fields[] = {
    QM_STR(struct tp_client_create, 0, id, QM_FF_REQ | QM_FF_NAME),
    QM_U64(struct tp_client_create, 1, tier, QM_FF_REQ, 1, TP_TIERS),
    QM_BOOL(struct tp_client_create, 2, has_budget, 0),
    QM_I64(struct tp_client_create, 3, budget, 0, 0, QM_MONEY_MAX),
};
QM_SCHEMA(tp_client_create_schema,
          struct tp_client_create,
          client_create_fields);

static const struct qm_field client_set_fields[] = {
    QM_STR(struct tp_client_set, 0, id, QM_FF_REQ | QM_FF_NAME),
    QM_U64(struct tp_client_set,
           1,
           set,
           QM_FF_REQ,
           1,
           TP_SET_TIER | TP_SET_BUDGET),
    QM_U64(struct tp_client_set, 2, tier, 0, 0, TP_TIERS),
    QM_BOOL(struct tp_client_set, 3, budget_default, 0),
    QM_I64(struct tp_client_set, 4, budget, 0, 0, QM_MONEY_MAX),
};
QM_SCHEMA(tp_client_set_schema, struct tp_client_set, client_set_fields);

static const struct qm_field client_id_fields[] = {
    QM_STR(struct tp_client_id, 0, id, QM_FF_REQ | QM_FF_NAME),
};
QM_SCHEMA(tp_client_id_schema, struct tp_client_id, client_id_fields);

static const struct qm_field client_info_fields[] = {
    QM_STR(struct tp_client_info, 0, id, QM_FF_REQ | QM_FF_NAME),
    QM_U64(struct tp_client_info, 1, tier, QM_FF_REQ, 1, TP_TIERS),
    QM_BOOL(struct tp_client_info, 2, unlimited, 0),
    QM_BOOL(struct tp_client_info, 3, own_budget, 0),
    QM_I64(struct tp_client_info, 4, budget, 0, 0, QM_MONEY_MAX),
    QM_I64(struct tp_client_info, 5, spent, 0, 0, INT64_MAX),
    QM_I64(struct tp_client_info, 6, reserved, 0, 0, INT64_MAX),
    QM_U64(struct tp_client_info, 7, open, 0, 0, QM_RESERVATIONS_MAX),
    QM_U64(struct tp_client_info, 8, month, 0, 0, 999912),
    QM_I64(struct tp_client_info, 9, created_ms, 0, 0, QM_TIME_MAX),
};
QM_SCHEMA(tp_client_info_schema, struct tp_client_info, client_info_fields);

static const struct qm_field client_page_fields[] = {
    QM_LIST(struct tp_client_page,
            0,
            clients,
            nclients,
            tp_client_info_schema,
            0),
    QM_BOOL(struct tp_client_page, 1, more, 0),
};
QM_SCHEMA(tp_client_page_schema, struct tp_client_page, client_page_fields);

static const struct qm_field amount_fields[] = {
    QM_STR(struct tp_amount, 0, pool, QM_FF_REQ | QM_FF_NAME),
    QM_I64(struct tp_amount, 1, amount, QM_FF_REQ, 0, QM_TOKENS_MAX),
};
QM_SCHEMA(tp_amount_schema, struct tp_amount, amount_fields);

static const struct qm_field reserve_fields[] = {
    QM_STR(struct tp_reserve, 0, client, QM_FF_REQ | QM_FF_NAME),
    QM_I64(struct tp_reserve, 1, ttl_ms, 0, 0, QM_RES_TTL_MAX_MS),
    QM_LIST(struct tp_reserve, 2, amounts, namounts, tp_amount_schema, 0),
};
QM_SCHEMA(tp_reserve_schema, struct tp_reserve, reserve_fields);

static const struct qm_field reserve_result_fields[] = {
    QM_U64(struct tp_reserve_result, 0, id, 0, 0, UINT64_MAX),
    QM_I64(struct tp_reserve_result, 1, expires_at_ms, 0, 0, QM_TIME_MAX),
    QM_I64(struct tp_reserve_result, 2, estimate, 0, 0, INT64_MAX),
    QM_I64(struct tp_reserve_result, 3, retry_after_ms, 0, 0, INT64_MAX),
};
QM_SCHEMA(tp_reserve_result_schema,
          struct tp_reserve_result,
          reserve_result_fields);

static const struct qm_field commit_fields[] = {
    QM_U64(struct tp_commit, 0, id, QM_FF_REQ, 1, UINT64_MAX),
    QM_LIST(struct tp_commit, 1, used, nused, tp_amount_schema, 0),
    QM_BOOL(struct tp_commit, 2, has_used_one, 0),
    QM_I64(struct tp_commit, 3, used_one, 0, 0, QM_TOKENS_MAX),
};
QM_SCHEMA(tp_commit_schema, struct tp_commit, commit_fields);

static const struct qm_field res_id_fields[] = {
    QM_U64(struct tp_res_id, 0, id, QM_FF_REQ, 1, UINT64_MAX),
};
QM_SCHEMA(tp_res_id_schema, struct tp_res_id, res_id_fields);

static const struct qm_field charge_fields[] = {
    QM_I64(struct tp_charge, 0, cost, 0, 0, INT64_MAX),
};
QM_SCHEMA(tp_charge_schema, struct tp_charge, charge_fields);

static const struct qm_field res_info_fields[] = {
    QM_U64(struct tp_res_info, 0, id, QM_FF_REQ, 1, UINT64_MAX),
    QM_STR(struct tp_res_info, 1, client, QM_FF_REQ | QM_FF_NAME),
    QM_LIST(struct tp_res_info, 2, amounts, namounts, tp_amount_schema, 0),
    QM_I64(struct tp_res_info, 3, estimate, 0, 0, INT64_MAX),
    QM_I64(struct tp_res_info, 4, created_ms, 0, 0, QM_TIME_MAX),
    QM_I64(struct tp_res_info, 5, expires_at_ms, 0, 0, QM_TIME_MAX),
};
QM_SCHEMA(tp_res_info_schema, struct tp_res_info, res_info_fields);

static const struct qm_field res_list_args_fields[] = {
    QM_STR(struct tp_res_list_args, 0, client, QM_FF_NAME),
    QM_U64(struct tp_res_list_args, 1, after, 0, 0, UINT64_MAX),
    QM_U64(struct tp_res_list_args, 2, limit, 0, 0, QM_PAGE_MAX),
};
QM_SCHEMA(tp_res_list_args_schema,
          struct tp_res_list_args,
          res_list_args_fields);

static const struct qm_field res_page_fields[] = {
    QM_LIST(struct tp_res_page, 0, res, nres, tp_res_info_schema, 0),
    QM_BOOL(struct tp_res_page, 1, more, 0),
};
QM_SCHEMA(tp_res_page_schema, struct tp_res_page, res_page_fields);

static const struct qm_field usage_args_fields[] = {
    QM_STR(struct tp_usage_args, 0, client, QM_FF_REQ | QM_FF_NAME),
    QM_U64(struct tp_usage_args, 1, month, 0, 0, 999912),
    QM_STR(struct tp_usage_args, 2, after, QM_FF_NAME),
    QM_U64(struct tp_usage_args, 3, limit, 0, 0, QM_PAGE_MAX),
};
QM_SCHEMA(tp_usage_args_schema, struct tp_usage_args, usage_args_fields);

static const struct qm_field pool_usage_fields[] = {
    QM_STR(struct tp_pool_usage, 0, pool, QM_FF_REQ | QM_FF_NAME),
    QM_I64(struct tp_pool_usage, 1, units, 0, 0, INT64_MAX),
    QM_I64(struct tp_pool_usage, 2, cost, 0, 0, INT64_MAX),
};
QM_SCHEMA(tp_pool_usage_schema, struct tp_pool_usage, pool_usage_fields);

static const struct qm_field usage_fields[] = {
    QM_STR(struct tp_usage, 0, client, QM_FF_REQ | QM_FF_NAME),
    QM_U64(struct tp_usage, 1, month, 0, 0, 999912),
    QM_I64(struct tp_usage, 2, spent, 0, 0, INT64_MAX),
    QM_LIST(struct tp_usage, 3, pools, npools, tp_pool_usage_schema, 0),
    QM_BOOL(struct tp_usage, 4, more, 0),
};
QM_SCHEMA(tp_usage_schema, struct tp_usage, usage_fields);

static const struct qm_field estimate_args_fields[] = {
    QM_LIST(struct tp_estimate_args, 0, amounts, namounts, tp_amount_schema, 0),
};
QM_SCHEMA(tp_estimate_args_schema,
          struct tp_estimate_args,
          estimate_args_fields);

static const struct qm_field estimate_fields[] = {
    QM_I64(struct tp_estimate, 0, cost, 0, 0, INT64_MAX),
};
QM_SCHEMA(tp_estimate_schema, struct tp_estimate, estimate_fields);

static const struct qm_field alert_fields[] = {
    QM_U64(struct tp_alert, 0, id, QM_FF_REQ, 1, UINT64_MAX),
    QM_STR(struct tp_alert, 1, kind, QM_FF_REQ | QM_FF_NAME),
    QM_STR(struct tp_alert, 2, subject, QM_FF_TEXT),
    QM_STR(struct tp_alert, 3, severity, QM_FF_NAME),
    QM_I64(struct tp_alert, 4, at_ms, 0, 0, QM_TIME_MAX),
    QM_STR(struct tp_alert, 5, message, QM_FF_TEXT),
};
QM_SCHEMA(tp_alert_schema, struct tp_alert, alert_fields);

static const struct qm_field alert_args_fields[] = {
    QM_U64(struct tp_alert_args, 0, after, 0, 0, UINT64_MAX),
    QM_U64(struct tp_alert_args, 1, limit, 0, 0, QM_PAGE_MAX),
};
QM_SCHEMA(tp_alert_args_schema, struct tp_alert_args, alert_args_fields);

static const struct qm_field alert_page_fields[] = {
    QM_LIST(struct tp_alert_page, 0, alerts, nalerts, tp_alert_schema, 0),
    QM_BOOL(struct tp_alert_page, 1, more, 0),
};
QM_SCHEMA(tp_alert_page_schema, struct tp_alert_page, alert_page_fields);

/* ---- queues ---- */

static const struct qm_field submit_fields[] = {
    QM_STR(struct tp_submit, 0, client, QM_FF_REQ | QM_FF_NAME),
    QM_U64(struct tp_submit, 1, qtier, QM_FF_REQ, 1, TP_QTIERS),
    QM_I64(struct tp_submit, 2, urgency, 0, 0, 30),
    QM_LIST(struct tp_submit, 3, needs, nneeds, tp_amount_schema, 0),
    QM_BIN(struct tp_submit, 4, payload, 0, QM_PAYLOAD_MAX),
    QM_I64(struct tp_submit, 5, deadline_ms, 0, 0, QM_TIME_MAX),
    QM_U64(struct tp_submit, 6, attempts, 0, 0, QM_ATTEMPTS_MAX),
};
QM_SCHEMA(tp_submit_schema, struct tp_submit, submit_fields);

static const struct qm_field req_id_fields[] = {
    QM_U64(struct tp_req_id, 0, id, QM_FF_REQ, 1, UINT64_MAX),
};
QM_SCHEMA(tp_req_id_schema, struct tp_req_id, req_id_fields);

static const struct qm_field req_info_fields[] = {
    QM_U64(struct tp_req_info, 0, id, QM_FF_REQ, 1, UINT64_MAX),
    QM_STR(struct tp_req_info, 1, client, QM_FF_REQ | QM_FF_NAME),
    QM_U64(struct tp_req_info, 2, qtier, 0, 0, TP_QTIERS),
    QM_I64(struct tp_req_info, 3, urgency, 0, 0, 30),
    QM_U64(struct tp_req_info, 4, state, 0, 0, TP_QSTATES),
    QM_I64(struct tp_req_info, 5, priority, 0, 0, INT64_MAX),
    QM_U64(struct tp_req_info, 6, position, 0, 0, UINT64_MAX),
    QM_I64(struct tp_req_info, 7, wait_ms, 0, 0, INT64_MAX),
    QM_U64(struct tp_req_info, 8, attempts, 0, 0, QM_ATTEMPTS_MAX),
    QM_U64(struct tp_req_info, 9, max_attempts, 0, 0, QM_ATTEMPTS_MAX),
    QM_I64(struct tp_req_info, 10, enqueued_ms, 0, 0, QM_TIME_MAX),
    QM_I64(struct tp_req_info, 11, deadline_ms, 0, 0, QM_TIME_MAX),
    QM_STR(struct tp_req_info, 12, worker, QM_FF_NAME),
    QM_I64(struct tp_req_info, 13, lease_expires_ms, 0, 0, QM_TIME_MAX),
    QM_U64(struct tp_req_info, 14, reservation, 0, 0, UINT64_MAX),
    QM_LIST(struct tp_req_info, 15, needs, nneeds, tp_amount_schema, 0),
    QM_I64(struct tp_req_info, 16, finished_ms, 0, 0, QM_TIME_MAX),
    QM_STR(struct tp_req_info, 17, reason, QM_FF_TEXT),
};
QM_SCHEMA(tp_req_info_schema, struct tp_req_info, req_info_fields);

static const struct qm_field req_list_args_fields[] = {
    QM_STR(struct tp_req_list_args, 0, client, QM_FF_NAME),
    QM_U64(struct tp_req_list_args, 1, qtier, 0, 0, TP_QTIERS),
    QM_U64(struct tp_req_list_args, 2, state, 0, 0, TP_QSTATES),
    QM_U64(struct tp_req_list_args, 3, after, 0, 0, UINT64_MAX),
    QM_U64(struct tp_req_list_args, 4, limit, 0, 0, QM_PAGE_MAX),
};
QM_SCHEMA(tp_req_list_args_schema,
          struct tp_req_list_args,
          req_list_args_fields);

static const struct qm_field req_page_fields[] = {
    QM_LIST(struct tp_req_page, 0, reqs, nreqs, tp_req_info_schema, 0),
    QM_BOOL(struct tp_req_page, 1, more, 0),
};
QM_SCHEMA(tp_req_page_schema, struct tp_req_page, req_page_fields);

static const struct qm_field qtier_stats_fields[] = {
    QM_U64(struct tp_qtier_stats, 0, qtier, QM_FF_REQ, 1, TP_QTIERS),
    QM_U64(struct tp_qtier_stats, 1, queued, 0, 0, UINT64_MAX),
    QM_U64(struct tp_qtier_stats, 2, running, 0, 0, UINT64_MAX),
    QM_U64(struct tp_qtier_stats, 3, done, 0, 0, UINT64_MAX),
    QM_U64(struct tp_qtier_stats, 4, failed, 0, 0, UINT64_MAX),
    QM_U64(struct tp_qtier_stats, 5, cancelled, 0, 0, UINT64_MAX),
    QM_U64(struct tp_qtier_stats, 6, worker_timeouts, 0, 0, UINT64_MAX),
    QM_U64(struct tp_qtier_stats, 7, dispatched, 0, 0, UINT64_MAX),
};
QM_SCHEMA(tp_qtier_stats_schema, struct tp_qtier_stats, qtier_stats_fields);

static const struct qm_field queue_stats_fields[] = {
    QM_LIST(struct tp_queue_stats, 0, tiers, ntiers, tp_qtier_stats_schema, 0),
};
QM_SCHEMA(tp_queue_stats_schema, struct tp_queue_stats, queue_stats_fields);

static const struct qm_field lease_args_fields[] = {
    QM_STR(struct tp_lease_args, 0, worker, QM_FF_REQ | QM_FF_NAME),
    QM_I64(struct tp_lease_args, 1, lease_ms, 0, 0, QM_RES_TTL_MAX_MS),
};
QM_SCHEMA(tp_lease_args_schema, struct tp_lease_args, lease_args_fields);

static const struct qm_field lease_fields[] = {
    QM_U64(struct tp_lease, 0, id, QM_FF_REQ, 1, UINT64_MAX),
    QM_STR(struct tp_lease, 1, client, QM_FF_REQ | QM_FF_NAME),
    QM_U64(struct tp_lease, 2, qtier, 0, 0, TP_QTIERS),
    QM_BIN(struct tp_lease, 3, payload, 0, QM_PAYLOAD_MAX),
    QM_U64(struct tp_lease, 4, reservation, 0, 0, UINT64_MAX),
    QM_U64(struct tp_lease, 5, attempt, 0, 0, QM_ATTEMPTS_MAX),
    QM_I64(struct tp_lease, 6, lease_expires_ms, 0, 0, QM_TIME_MAX),
    QM_LIST(struct tp_lease, 7, needs, nneeds, tp_amount_schema, 0),
};
QM_SCHEMA(tp_lease_schema, struct tp_lease, lease_fields);

static const struct qm_field complete_fields[] = {
    QM_U64(struct tp_complete, 0, id, QM_FF_REQ, 1, UINT64_MAX),
    QM_U64(struct tp_complete, 1, attempt, 0, 0, QM_ATTEMPTS_MAX),
    QM_LIST(struct tp_complete, 2, used, nused, tp_amount_schema, 0),
};
QM_SCHEMA(tp_complete_schema, struct tp_complete, complete_fields);

static const struct qm_field fail_fields[] = {
    QM_U64(struct tp_fail, 0, id, QM_FF_REQ, 1, UINT64_MAX),
    QM_U64(struct tp_fail, 1, attempt, 0, 0, QM_ATTEMPTS_MAX),
    QM_STR(struct tp_fail, 2, reason, QM_FF_TEXT),
};
QM_SCHEMA(tp_fail_schema, struct tp_fail, fail_fields);

static const struct qm_field fail_result_fields[] = {
    QM_BOOL(struct tp_fail_result, 0, requeued, 0),
    QM_U64(struct tp_fail_result, 1, attempts, 0, 0, QM_ATTEMPTS_MAX),
};
QM_SCHEMA(tp_fail_result_schema, struct tp_fail_result, fail_result_fields);

#define DAY_MIN (24 * 60)
static const struct qm_field qsettings_fields[] = {
    QM_I64(struct tp_qsettings, 0, w_tier, QM_FF_REQ, 0, 10000),
    QM_I64(struct tp_qsettings, 1, w_urgency, QM_FF_REQ, 0, 10000),
    QM_I64(struct tp_qsettings, 2, w_wait, QM_FF_REQ, 0, 10000),
    QM_I64(struct tp_qsettings, 3, w_fair, QM_FF_REQ, 0, 10000),
    QM_I64(struct tp_qsettings, 4, aging_ms, QM_FF_REQ, 1, 86400000),
    QM_I64(struct tp_qsettings,
           5,
           fair_half_life_ms,
           QM_FF_REQ,
           1000,
           30LL * 86400000),
    QM_I64(struct tp_qsettings, 6, fair_scale, QM_FF_REQ, 1, 1000000000),
    QM_I64(struct tp_qsettings, 7, starve_ms, QM_FF_REQ, 1000, 30LL * 86400000),
    QM_I64(struct tp_qsettings,
           8,
           alert_queue_len,
           QM_FF_REQ,
           1,
           QM_REQUESTS_MAX),
    QM_I64(struct tp_qsettings,
           9,
           offpeak_start_min,
           QM_FF_REQ,
           0,
           DAY_MIN - 1),
    QM_I64(struct tp_qsettings, 10, offpeak_end_min, QM_FF_REQ, 0, DAY_MIN - 1),
    QM_I64(struct tp_qsettings,
           11,
           lease_ms,
           QM_FF_REQ,
           1000,
           QM_RES_TTL_MAX_MS),
    QM_I64(struct tp_qsettings,
           12,
           max_attempts,
           QM_FF_REQ,
           1,
           QM_ATTEMPTS_MAX),
};
QM_SCHEMA(tp_qsettings_schema, struct tp_qsettings, qsettings_fields);

/* ---- operations ---- */

static const struct tp_op_info ops[] = {
#define TP__OP_ROW(name, code, cls, args, body) \
    {code, #name, cls, &args, &body},
    TP_OPS(TP__OP_ROW)
#undef TP__OP_ROW
};

const struct tp_op_info *tp_op_info(uint64_t op)
{
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (ops[i].op == op) {
            return &ops[i];
        }
    }
    return NULL;
}

int tp_cmd_decode(struct qm_span raw,
                  struct tp_cmd *cmd,
                  const struct tp_op_info **info,
                  union tp_args *args,
                  char err[QM_ERRMSG_SIZE])
{
    if (qm_decode(&tp_cmd_schema, raw.p, raw.n, cmd, err) != QM_OK) {
        return QM_INVALID;
    }
    const struct tp_op_info *oi = tp_op_info(cmd->op);
    if (oi == NULL) {
        snprintf(err, QM_ERRMSG_SIZE, "unknown operation %llu",
                 (unsigned long long)cmd->op);
        return QM_INVALID;
    }
    if (cmd->args.n == 0) {
        /* No arguments: decode an empty map so required fields complain. */
        static const uint8_t empty_map = 0x80;
        if (qm_decode(oi->args, &empty_map, 1, args, err) != QM_OK) {
            return QM_INVALID;
        }
    } else if (qm_decode(oi->args, cmd->args.p, cmd->args.n, args, err) !=
               QM_OK) {
        return QM_INVALID;
    }
    *info = oi;
    return QM_OK;
}

int tp_request_decode(const void *p,
                      size_t n,
                      bool from_client,
                      struct tp_decoded *out,
                      char err[QM_ERRMSG_SIZE])
{
    if (n > QM_MSG_MAX) {
        snprintf(err, QM_ERRMSG_SIZE, "request larger than %u bytes",
                 QM_MSG_MAX);
        return QM_INVALID;
    }
    if (qm_decode(&tp_request_schema, p, n, &out->req, err) != QM_OK) {
        return QM_INVALID;
    }
    if (out->req.version != QM_PROTO_VERSION) {
        snprintf(err, QM_ERRMSG_SIZE,
                 "protocol version %llu not supported (this node speaks %d)",
                 (unsigned long long)out->req.version, QM_PROTO_VERSION);
        return QM_INVALID;
    }
    int rv =
        tp_cmd_decode(out->req.cmd, &out->cmd, &out->info, &out->args, err);
    if (rv != QM_OK) {
        return rv;
    }
    if (from_client && out->info->cls == TP_CLASS_INTERNAL) {
        snprintf(err, QM_ERRMSG_SIZE, "operation %s is internal",
                 out->info->name);
        return QM_INVALID;
    }
    if (out->info->cls == TP_CLASS_WRITE &&
        (out->cmd.session == 0 || out->cmd.seq == 0)) {
        snprintf(err, QM_ERRMSG_SIZE,
                 "operation %s needs a session and a sequence number",
                 out->info->name);
        return QM_INVALID;
    }
    return QM_OK;
}

int tp_cmd_encode(struct qm_buf *b,
                  uint32_t op,
                  uint64_t session,
                  uint64_t seq,
                  struct qm_span args)
{
    struct tp_cmd c = {op, session, seq, args};
    return qm_encode(&tp_cmd_schema, &c, b);
}

int tp_request_encode(struct qm_buf *b,
                      uint64_t id,
                      const char *cred,
                      uint64_t flags,
                      struct qm_span cmd)
{
    struct tp_request r;
    memset(&r, 0, sizeof(r));
    r.version = QM_PROTO_VERSION;
    r.id = id;
    if (cred != NULL) {
        snprintf(r.cred, sizeof(r.cred), "%s", cred);
    }
    r.flags = flags;
    r.cmd = cmd;
    return qm_encode(&tp_request_schema, &r, b);
}

int tp_reply_encode(struct qm_buf *b, uint64_t id, struct qm_span result)
{
    struct tp_reply r = {QM_PROTO_VERSION, id, result};
    return qm_encode(&tp_reply_schema, &r, b);
}

/* The length of @s cut to at most @max bytes without splitting a UTF-8
 * character. */
static size_t utf8_cut(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n <= max) {
        return n;
    }
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) {
        n--;
    }
    return n;
}

int tp_result_encode(struct qm_buf *b,
                     int status,
                     const char *message,
                     const char *leader,
                     int64_t retry_after_ms,
                     uint64_t index,
                     const struct qm_schema *body_schema,
                     const void *body)
{
    /* Written by hand rather than through a struct tp_result so that the
     * body is encoded straight into @b, without a second buffer. */
    uint32_t n = 1;
    bool has_msg = message != NULL && message[0] != '\0';
    bool has_leader = leader != NULL && leader[0] != '\0';
    n += (uint32_t)has_msg + (uint32_t)has_leader +
         (uint32_t)(retry_after_ms > 0) + (uint32_t)(index > 0) +
         (uint32_t)(body_schema != NULL);
    qm_mpw_map(b, n);
    qm_mpw_uint(b, 0);
    qm_mpw_uint(b, (uint64_t)status);
    if (has_msg) {
        qm_mpw_uint(b, 1);
        qm_mpw_str(b, message, utf8_cut(message, QM_MESSAGE_MAX));
    }
    if (has_leader) {
        qm_mpw_uint(b, 2);
        qm_mpw_str(b, leader, utf8_cut(leader, QM_URL_MAX));
    }
    if (retry_after_ms > 0) {
        qm_mpw_uint(b, 3);
        qm_mpw_int(b, retry_after_ms);
    }
    if (index > 0) {
        qm_mpw_uint(b, 4);
        qm_mpw_uint(b, index);
    }
    if (body_schema != NULL) {
        qm_mpw_uint(b, 5);
        qm_encode(body_schema, body, b);
    }
    return qm_buf_status(b);
}
