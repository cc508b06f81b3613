#include "th_queue.h"

#include <stdio.h>
#include <string.h>

#include "qm_err.h"
#include "th_cmocka.h"

/* ---- commands ---- */

void th_submit_args(struct tp_submit *s,
                    const char *client,
                    uint64_t qtier,
                    int64_t urgency)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->client, sizeof(s->client), "%s", client);
    s->qtier = qtier;
    s->urgency = urgency;
}

void th_submit_need(struct tp_submit *s, const char *pool, int64_t amount)
{
    assert_true(s->nneeds < QM_RES_POOLS_MAX);
    struct tp_amount *a = &s->needs[s->nneeds++];
    snprintf(a->pool, sizeof(a->pool), "%s", pool);
    a->amount = amount;
}

int th_submit(struct th_fsm *fx,
              int64_t t,
              const struct tp_submit *s,
              uint64_t *id)
{
    struct tp_req_id out;
    int st;
    if (s->payload.n > TH_CMD_MAX / 2) {
        st = th_fsm_do_large(fx, t, TP_OP_QUEUE_SUBMIT, 0, 0, &tp_submit_schema,
                             s, &tp_req_id_schema, &out);
    } else {
        st = th_fsm_do(fx, t, TP_OP_QUEUE_SUBMIT, 0, 0, &tp_submit_schema, s,
                       &tp_req_id_schema, &out);
    }
    if (st == QM_OK && id != NULL) {
        *id = out.id;
    }
    return st;
}

uint64_t th_enqueue(struct th_fsm *fx,
                    int64_t t,
                    const char *client,
                    uint64_t qtier,
                    int64_t urgency)
{
    struct tp_submit s;
    uint64_t id = 0;
    th_submit_args(&s, client, qtier, urgency);
    assert_int_equal(th_submit(fx, t, &s, &id), QM_OK);
    assert_true(id > 0);
    return id;
}

int th_lease(struct th_fsm *fx,
             int64_t t,
             const char *worker,
             int64_t lease_ms,
             struct tp_lease *out)
{
    struct tp_lease_args a;
    struct tp_lease ignored;
    memset(&a, 0, sizeof(a));
    snprintf(a.worker, sizeof(a.worker), "%s", worker);
    a.lease_ms = lease_ms;
    return th_fsm_do(fx, t, TP_OP_QUEUE_LEASE, 0, 0, &tp_lease_args_schema, &a,
                     &tp_lease_schema, out != NULL ? out : &ignored);
}

uint64_t th_lease_id(struct th_fsm *fx, int64_t t, const char *worker)
{
    struct tp_lease l;
    int st = th_lease(fx, t, worker, 0, &l);
    if (st != QM_OK) {
        struct tp_result r;
        struct qm_span raw = {fx->last, fx->last_len};
        th_result_decode(raw, &r, NULL, NULL);
        fail_msg("lease at %lld: %s (%s)", (long long)t, qm_errname(st),
                 r.message);
    }
    return l.id;
}

void th_complete_args(struct tp_complete *c, uint64_t id, uint64_t attempt)
{
    memset(c, 0, sizeof(*c));
    c->id = id;
    c->attempt = attempt;
}

void th_complete_used(struct tp_complete *c, const char *pool, int64_t used)
{
    assert_true(c->nused < QM_RES_POOLS_MAX);
    struct tp_amount *a = &c->used[c->nused++];
    snprintf(a->pool, sizeof(a->pool), "%s", pool);
    a->amount = used;
}

int th_complete(struct th_fsm *fx,
                int64_t t,
                const struct tp_complete *c,
                int64_t *cost)
{
    struct tp_charge ch;
    int st = th_fsm_do(fx, t, TP_OP_QUEUE_COMPLETE, 0, 0, &tp_complete_schema,
                       c, &tp_charge_schema, &ch);
    if (cost != NULL) {
        *cost = ch.cost;
    }
    return st;
}

int th_complete_all(struct th_fsm *fx, int64_t t, uint64_t id, uint64_t attempt)
{
    struct tp_complete c;
    th_complete_args(&c, id, attempt);
    return th_complete(fx, t, &c, NULL);
}

int th_fail(struct th_fsm *fx,
            int64_t t,
            uint64_t id,
            uint64_t attempt,
            const char *reason,
            struct tp_fail_result *out)
{
    struct tp_fail a;
    struct tp_fail_result ignored;
    memset(&a, 0, sizeof(a));
    a.id = id;
    a.attempt = attempt;
    snprintf(a.reason, sizeof(a.reason), "%s", reason);
    return th_fsm_do(fx, t, TP_OP_QUEUE_FAIL, 0, 0, &tp_fail_schema, &a,
                     &tp_fail_result_schema, out != NULL ? out : &ignored);
}

int th_cancel(struct th_fsm *fx, int64_t t, uint64_t id)
{
    struct tp_req_id a = {id};
    return th_fsm_do(fx, t, TP_OP_QUEUE_CANCEL, 0, 0, &tp_req_id_schema, &a,
                     NULL, NULL);
}

/* ---- reads ---- */

int th_req_get(struct th_fsm *fx,
               int64_t now,
               uint64_t id,
               struct tp_req_info *out)
{
    struct tp_req_id a = {id};
    struct tp_req_info ignored;
    return th_fsm_query(fx, now, TP_OP_QUEUE_GET, &tp_req_id_schema, &a,
                        &tp_req_info_schema, out != NULL ? out : &ignored);
}

uint64_t th_req_state(struct th_fsm *fx, int64_t now, uint64_t id)
{
    struct tp_req_info ri;
    assert_int_equal(th_req_get(fx, now, id, &ri), QM_OK);
    return ri.state;
}

int th_position(struct th_fsm *fx,
                int64_t now,
                uint64_t id,
                struct tp_req_info *out)
{
    struct tp_req_id a = {id};
    struct tp_req_info ignored;
    return th_fsm_query(fx, now, TP_OP_QUEUE_POSITION, &tp_req_id_schema, &a,
                        &tp_req_info_schema, out != NULL ? out : &ignored);
}

int th_req_list(struct th_fsm *fx,
                int64_t now,
                const struct tp_req_list_args *a,
                struct tp_req_page *page)
{
    return th_fsm_query(fx, now, TP_OP_QUEUE_LIST, &tp_req_list_args_schema, a,
                        &tp_req_page_schema, page);
}

int th_qstats(struct th_fsm *fx, int64_t now, struct tp_queue_stats *out)
{
    return th_fsm_query(fx, now, TP_OP_QUEUE_STATS, NULL, NULL,
                        &tp_queue_stats_schema, out);
}

struct tp_qtier_stats th_qtier_stats(struct th_fsm *fx, uint64_t qtier)
{
    struct tp_queue_stats qs;
    assert_int_equal(th_qstats(fx, 0, &qs), QM_OK);
    for (uint32_t i = 0; i < qs.ntiers; i++) {
        if (qs.tiers[i].qtier == qtier) {
            return qs.tiers[i];
        }
    }
    fail_msg("QUEUE_STATS has no tier %llu", (unsigned long long)qtier);
    struct tp_qtier_stats none;
    memset(&none, 0, sizeof(none));
    return none;
}

int th_qsettings_get(struct th_fsm *fx, int64_t now, struct tp_qsettings *out)
{
    return th_fsm_query(fx, now, TP_OP_QUEUE_SETTINGS_GET, NULL, NULL,
                        &tp_qsettings_schema, out);
}

int th_qsettings_set(struct th_fsm *fx, int64_t t, const struct tp_qsettings *s)
{
    return th_fsm_do(fx, t, TP_OP_QUEUE_SETTINGS_SET, 0, 0,
                     &tp_qsettings_schema, s, NULL, NULL);
}

/* ---- the documented model ---- */

void th_qsettings_defaults(struct tp_qsettings *s)
{
    memset(s, 0, sizeof(*s));
    s->w_tier = 1000;
    s->w_urgency = 1000;
    s->w_wait = 1000;
    s->w_fair = 1000;
    s->aging_ms = 30000;            /* 20 wait points in 10 minutes */
    s->fair_half_life_ms = 3600000; /* an hour */
    s->fair_scale = 10;             /* 10 recent dispatches: 5 points */
    s->starve_ms = 600000;          /* 10 minutes */
    s->alert_queue_len = 1000;      /* requests in a queue tier */
    s->offpeak_start_min = 0;       /* 00:00 UTC */
    s->offpeak_end_min = 6 * 60;    /* to 06:00 UTC */
    s->lease_ms = 60000;            /* a minute */
    s->max_attempts = 3;
}

int64_t th_prio_static(const struct tp_qsettings *s,
                       int64_t tier_pts,
                       int64_t urgency,
                       int64_t fair_m)
{
    return s->w_tier * tier_pts + s->w_urgency * urgency +
           s->w_fair * fair_m / 1000;
}

int64_t th_prio_wait(const struct tp_qsettings *s, int64_t waited_ms)
{
    if (waited_ms <= 0) {
        return 0;
    }
    if (waited_ms >= 20 * s->aging_ms) {
        return 20 * s->w_wait;
    }
    return s->w_wait * waited_ms / s->aging_ms;
}

int64_t th_prio(const struct tp_qsettings *s,
                int64_t tier_pts,
                int64_t urgency,
                int64_t fair_m,
                int64_t waited_ms)
{
    return th_prio_static(s, tier_pts, urgency, fair_m) +
           th_prio_wait(s, waited_ms);
}

int64_t th_prio_scaled(const struct tp_qsettings *s,
                       int64_t tier_pts,
                       int64_t urgency,
                       int64_t fair_m,
                       int64_t waited_ms)
{
    int64_t w = waited_ms < 0 ? 0 : waited_ms;
    if (w > 20 * s->aging_ms) {
        w = 20 * s->aging_ms;
    }
    return th_prio_static(s, tier_pts, urgency, fair_m) * s->aging_ms +
           s->w_wait * w;
}

/* sqrt by Newton's method: the model stays free of libm. */
static double newton_sqrt(double x)
{
    double r = x > 1.0 ? x : 1.0;
    for (int k = 0; k < 64; k++) {
        r = 0.5 * (r + x / r);
    }
    return r;
}

/* round(2^30 x 2^(-i/64)); the nearest integer is never closer than 0.009
 * to a rounding boundary, far beyond the error of doubles here. */
static int64_t q30_pow2neg(int64_t i)
{
    double step = 0.5;
    for (int k = 0; k < 6; k++) {
        step = newton_sqrt(step); /* 2^(-1/64) after six roots */
    }
    double v = 1073741824.0;
    for (int64_t j = 0; j < i; j++) {
        v *= step;
    }
    return (int64_t)(v + 0.5);
}

int64_t th_decay(int64_t u, int64_t dt, int64_t half)
{
    if (dt <= 0 || u <= 0) {
        return u;
    }
    int64_t k = dt / half;
    if (k >= 63) {
        return 0;
    }
    u >>= k;
    int64_t i = (dt % half) * 64 / half;
    __extension__ typedef __int128 i128;
    return (int64_t)(((i128)u * q30_pow2neg(i)) >> 30);
}

int64_t th_fairness(const struct tp_qsettings *s,
                    const struct th_use *use,
                    int64_t now)
{
    int64_t u = th_decay(use->u, now - use->at, s->fair_half_life_ms);
    int64_t scale = s->fair_scale * 1000;
    return 10000 * scale / (scale + u);
}

void th_use_dispatch(const struct tp_qsettings *s,
                     struct th_use *use,
                     int64_t now)
{
    use->u = th_decay(use->u, now - use->at, s->fair_half_life_ms) + 1000;
    use->at = now;
}

bool th_offpeak(const struct tp_qsettings *s, int64_t now)
{
    int64_t minute = (now / 60000) % (24 * 60);
    int64_t a = s->offpeak_start_min, b = s->offpeak_end_min;
    if (a == b) {
        return false;
    }
    if (a < b) {
        return minute >= a && minute < b;
    }
    return minute >= a || minute < b;
}
