/* The command table: op code -> handler. Nothing else. */
#include "fsm_internal.h"

static const struct fsm_op table[TP_OP_MAX + 1] = {
    [TP_OP_POOL_CREATE] = {fsm__pool_create, NULL},
    [TP_OP_POOL_DELETE] = {fsm__pool_delete, NULL},
    [TP_OP_ACQUIRE] = {fsm__pool_acquire, NULL},
    [TP_OP_POOL_GET] = {NULL, fsm__pool_get},
    [TP_OP_POOL_LIST] = {NULL, fsm__pool_list},
    [TP_OP_CLIENT_CREATE] = {fsm__client_create, NULL},
    [TP_OP_CLIENT_SET] = {fsm__client_set, NULL},
    [TP_OP_CLIENT_GET] = {NULL, fsm__client_get},
    [TP_OP_CLIENT_LIST] = {NULL, fsm__client_list},
    [TP_OP_TIER_GET] = {NULL, fsm__tier_get},
    [TP_OP_TIER_SET] = {fsm__tier_set, NULL},
    [TP_OP_TIER_LIST] = {NULL, fsm__tier_list},
    [TP_OP_RESERVE] = {fsm__reserve, NULL},
    [TP_OP_COMMIT] = {fsm__commit, NULL},
    [TP_OP_RELEASE] = {fsm__release, NULL},
    [TP_OP_RESERVATION_LIST] = {NULL, fsm__res_list},
    [TP_OP_RESERVATION_GET] = {NULL, fsm__res_get},
    [TP_OP_USAGE] = {NULL, fsm__usage},
    [TP_OP_COST_ESTIMATE] = {NULL, fsm__cost_estimate},
    [TP_OP_ALERT_LIST] = {NULL, fsm__alert_list},
    [TP_OP_QUEUE_SUBMIT] = {fsm__q_submit, NULL},
    [TP_OP_QUEUE_GET] = {NULL, fsm__q_get},
    [TP_OP_QUEUE_CANCEL] = {fsm__q_cancel, NULL},
    [TP_OP_QUEUE_POSITION] = {NULL, fsm__q_position},
    [TP_OP_QUEUE_LIST] = {NULL, fsm__q_list},
    [TP_OP_QUEUE_STATS] = {NULL, fsm__q_stats_get},
    [TP_OP_QUEUE_LEASE] = {fsm__q_lease, NULL},
    [TP_OP_QUEUE_COMPLETE] = {fsm__q_complete, NULL},
    [TP_OP_QUEUE_FAIL] = {fsm__q_fail, NULL},
    [TP_OP_QUEUE_SETTINGS_GET] = {NULL, fsm__q_settings_get},
    [TP_OP_QUEUE_SETTINGS_SET] = {fsm__q_settings_set, NULL},
    [TP_OP_TICK] = {fsm__tick, NULL},
    [TP_OP_MEMBER_SET] = {fsm__member_set, NULL},
    [TP_OP_MEMBER_DEL] = {fsm__member_del, NULL},
    [TP_OP_HOST_REGISTER] = {fsm__host_register, NULL},
    [TP_OP_HOST_GET] = {NULL, fsm__host_get},
    [TP_OP_HOST_LIST] = {NULL, fsm__host_list},
    [TP_OP_HOST_DELETE] = {fsm__host_delete, NULL},
    [TP_OP_ALLOC_SET] = {fsm__alloc_set, NULL},
    [TP_OP_ALLOC_GET] = {NULL, fsm__alloc_get},
    [TP_OP_ALLOC_LIST] = {NULL, fsm__alloc_list},
    [TP_OP_ACTION_RECORD] = {fsm__action_record, NULL},
    [TP_OP_ACTION_LIST] = {NULL, fsm__action_list},
    [TP_OP_ALERT_RAISE] = {fsm__alert_raise, NULL},
    [TP_OP_CREDIT_GRANT] = {fsm__credit_grant, NULL},
    [TP_OP_CREDIT_RETURN] = {fsm__credit_return, NULL},
    [TP_OP_CREDIT_LIST] = {NULL, fsm__credit_list},
};

const struct fsm_op *fsm__op(uint64_t op)
{
    if (op > TP_OP_MAX) {
        return NULL;
    }
    const struct fsm_op *o = &table[op];
    return o->apply == NULL && o->query == NULL ? NULL : o;
}
