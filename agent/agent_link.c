/* The agent's link to the cluster (agent_link.h). */
#include "agent_link.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "qm_alloc.h"
#include "qm_call.h"
#include "qm_log.h"

/* A sample waiting to be sent: its report messages, encoded as commands. */
struct sample
{
    struct sample *next;
    unsigned nparts;
    unsigned sent; /* parts the leader took already */
    size_t len[QM_HOST_SERVICES_MAX];
    uint8_t *cmd[QM_HOST_SERVICES_MAX];
};

/* A FIFO of fixed-size records. */
struct ring
{
    void *items;
    size_t size;
    unsigned head;
    unsigned n;
};

struct agent_link
{
    struct qm_client *client;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
    int64_t flush_until; /* monotonic ms, once stopping */

    struct tp_host_register reg;
    bool need_register;
    uint64_t alloc_version; /* of the allocations held */
    uint64_t leader_version;
    bool allocs_new;
    unsigned nallocs;
    struct tp_alloc allocs[QM_HOST_SERVICES_MAX];

    struct sample *head, *tail;
    unsigned nsamples;
    unsigned buffer;
    struct ring alerts;  /* struct tp_alert_raise */
    struct ring actions; /* struct tp_action */
    struct agent_link_stats st;

    /* The link thread's scratch. */
    struct tp_alloc_page page;
};

/* ---- rings ---- */

static void *ring_at(struct ring *r, unsigned i)
{
    return (char *)r->items +
           (size_t)((r->head + i) % AGENT_LINK_PENDING_MAX) * r->size;
}

/* Append; when full, the oldest goes (returns true then). */
static bool ring_push(struct ring *r, const void *item)
{
    bool dropped = false;
    if (r->n == AGENT_LINK_PENDING_MAX) {
        r->head = (r->head + 1) % AGENT_LINK_PENDING_MAX;
        r->n--;
        dropped = true;
    }
    memcpy(ring_at(r, r->n), item, r->size);
    r->n++;
    return dropped;
}

static void ring_pop(struct ring *r)
{
    r->head = (r->head + 1) % AGENT_LINK_PENDING_MAX;
    r->n--;
}

static void sample_free(struct sample *s)
{
    for (unsigned i = 0; i < s->nparts; i++) {
        qm_free(s->cmd[i]);
    }
    qm_free(s);
}

/* ---- calls ---- */

struct fwd_wait
{
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    struct qm_result res;
    struct tp_report_ack ack;
};

static void fwd_done(void *arg, const struct qm_result *res, struct qm_span r)
{
    struct fwd_wait *w = arg;
    w->res = *res;
    struct tp_result result;
    char err[QM_ERRMSG_SIZE];
    if (r.n > 0 &&
        qm_decode(&tp_result_schema, r.p, r.n, &result, err) == QM_OK &&
        result.body.n > 0) {
        qm_decode(&tp_report_ack_schema, result.body.p, result.body.n, &w->ack,
                  err);
    }
    pthread_mutex_lock(&w->mu);
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Send one encoded report and wait: its status, and the ack. */
static int send_report(struct agent_link *l,
                       const uint8_t *cmd,
                       size_t len,
                       struct tp_report_ack *ack)
{
    struct fwd_wait w;
    memset(&w, 0, sizeof(w));
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    struct qm_span s = {cmd, len};
    int rv = qm__call_forward(l->client, s, NULL, 0, fwd_done, &w);
    if (rv == QM_OK) {
        pthread_mutex_lock(&w.mu);
        while (!w.done) {
            pthread_cond_wait(&w.cv, &w.mu);
        }
        pthread_mutex_unlock(&w.mu);
        rv = w.res.status;
        *ack = w.ack;
    }
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return rv;
}

/* A local outcome (no leader answered): try again later. */
static bool unreachable(int status)
{
    return !qm_is_status(status) || status == QM_UNAVAILABLE ||
           status == QM_NOT_LEADER;
}

static void set_connected(struct agent_link *l, bool up, const char *why)
{
    pthread_mutex_lock(&l->mu);
    bool was = l->st.connected;
    l->st.connected = up;
    unsigned buffered = l->nsamples;
    pthread_mutex_unlock(&l->mu);
    if (was && !up) {
        qm_log(QM_LOG_WARN, "AGNT0020",
               "cluster unreachable (%s); buffering samples, alerts and "
               "actions",
               why);
    } else if (!was && up) {
        qm_log(QM_LOG_NOTICE, "AGNT0021",
               "cluster reachable; delivering %u buffered samples", buffered);
    }
}

/* Note what an ack says: register again, or allocations changed. */
static void take_ack(struct agent_link *l, const struct tp_report_ack *ack)
{
    pthread_mutex_lock(&l->mu);
    if (!ack->registered) {
        l->need_register = true;
    } else {
        l->leader_version = ack->alloc_version;
    }
    pthread_mutex_unlock(&l->mu);
}

static int do_register(struct agent_link *l)
{
    struct tp_host_register *reg = qm_malloc(sizeof(*reg));
    if (reg == NULL) {
        return QM_ENOMEM;
    }
    pthread_mutex_lock(&l->mu);
    *reg = l->reg;
    pthread_mutex_unlock(&l->mu);
    struct tp_report_ack ack;
    struct qm_result res;
    int rv =
        qm__call_sync(l->client, TP_OP_HOST_REGISTER, &tp_host_register_schema,
                      reg, 0, NULL, &tp_report_ack_schema, &ack, &res);
    qm_free(reg);
    if (rv == QM_OK) {
        pthread_mutex_lock(&l->mu);
        l->need_register = false;
        l->leader_version = ack.alloc_version;
        pthread_mutex_unlock(&l->mu);
    } else if (!unreachable(rv)) {
        qm_log(QM_LOG_ERR, "AGNT0022", "the cluster refused host '%s': %s",
               l->reg.id, res.message);
    }
    return rv;
}

/* Deliver the oldest record of @r with @op; false when unreachable. */
static bool deliver_one(struct agent_link *l,
                        struct ring *r,
                        uint32_t op,
                        const struct qm_schema *schema,
                        uint64_t *sent)
{
    union {
        struct tp_alert_raise alert;
        struct tp_action action;
    } item;
    pthread_mutex_lock(&l->mu);
    bool have = r->n > 0;
    if (have) {
        memcpy(&item, ring_at(r, 0), r->size);
    }
    pthread_mutex_unlock(&l->mu);
    if (!have) {
        return true;
    }
    struct qm_result res;
    int rv =
        qm__call_sync(l->client, op, schema, &item, 0, NULL, NULL, NULL, &res);
    if (unreachable(rv)) {
        set_connected(l, false, res.message);
        return false;
    }
    set_connected(l, true, NULL);
    if (rv != QM_OK) {
        qm_log(QM_LOG_WARN, "AGNT0023", "the cluster refused a %s: %s",
               tp_op_info(op)->name, res.message);
    }
    pthread_mutex_lock(&l->mu);
    ring_pop(r);
    (*sent)++;
    pthread_mutex_unlock(&l->mu);
    return true;
}

/* Send the oldest buffered sample; false when unreachable. */
static bool deliver_sample(struct agent_link *l)
{
    /* Off the list while it is sent, so that the loop, which drops the
     * oldest sample when the buffer is full, cannot free it under us. */
    pthread_mutex_lock(&l->mu);
    struct sample *s = l->head;
    if (s == NULL) {
        pthread_mutex_unlock(&l->mu);
        return true;
    }
    l->head = s->next;
    if (l->head == NULL) {
        l->tail = NULL;
    }
    l->nsamples--;
    pthread_mutex_unlock(&l->mu);
    for (; s->sent < s->nparts; s->sent++) {
        struct tp_report_ack ack = {0, true};
        struct qm_result res;
        memset(&res, 0, sizeof(res));
        int rv = send_report(l, s->cmd[s->sent], s->len[s->sent], &ack);
        if (unreachable(rv)) {
            set_connected(l, false, qm_strerror(rv));
            pthread_mutex_lock(&l->mu);
            s->next = l->head; /* back in front, to be tried again */
            l->head = s;
            if (l->tail == NULL) {
                l->tail = s;
            }
            l->nsamples++;
            pthread_mutex_unlock(&l->mu);
            return false;
        }
        set_connected(l, true, NULL);
        if (rv == QM_OK) {
            take_ack(l, &ack);
            pthread_mutex_lock(&l->mu);
            l->st.reports_sent++;
            pthread_mutex_unlock(&l->mu);
        }
    }
    sample_free(s);
    return true;
}

static bool fetch_allocs(struct agent_link *l)
{
    pthread_mutex_lock(&l->mu);
    uint64_t want = l->leader_version;
    bool need = want != l->alloc_version;
    pthread_mutex_unlock(&l->mu);
    if (!need) {
        return true;
    }
    struct tp_alloc_list_args a;
    memset(&a, 0, sizeof(a));
    snprintf(a.host, sizeof(a.host), "%s", l->reg.id);
    a.limit = QM_HOST_SERVICES_MAX;
    struct qm_result res;
    int rv =
        qm__call_sync(l->client, TP_OP_ALLOC_LIST, &tp_alloc_list_args_schema,
                      &a, 0, NULL, &tp_alloc_page_schema, &l->page, &res);
    if (unreachable(rv)) {
        set_connected(l, false, res.message);
        return false;
    }
    pthread_mutex_lock(&l->mu);
    if (rv == QM_OK) {
        l->nallocs = l->page.nallocs;
        memcpy(l->allocs, l->page.allocs, l->nallocs * sizeof(l->allocs[0]));
        l->allocs_new = true;
    }
    l->alloc_version = want;
    pthread_mutex_unlock(&l->mu);
    return true;
}

/* One pass over everything pending; false when the cluster was away. */
static bool deliver(struct agent_link *l)
{
    pthread_mutex_lock(&l->mu);
    bool reg = l->need_register;
    pthread_mutex_unlock(&l->mu);
    if (reg) {
        int rv = do_register(l);
        if (unreachable(rv)) {
            set_connected(l, false, qm_strerror(rv));
            return false;
        }
        set_connected(l, true, NULL);
    }
    for (;;) {
        pthread_mutex_lock(&l->mu);
        bool more = l->alerts.n + l->actions.n > 0 || l->head != NULL;
        bool stop = l->stopping && qm__mono_ms() > l->flush_until;
        pthread_mutex_unlock(&l->mu);
        if (!more || stop) {
            break;
        }
        if (!deliver_one(l, &l->alerts, TP_OP_ALERT_RAISE,
                         &tp_alert_raise_schema, &l->st.alerts_sent) ||
            !deliver_one(l, &l->actions, TP_OP_ACTION_RECORD, &tp_action_schema,
                         &l->st.actions_sent) ||
            !deliver_sample(l)) {
            return false;
        }
    }
    return fetch_allocs(l);
}

static bool pending(struct agent_link *l)
{
    return l->need_register || l->alerts.n + l->actions.n > 0 ||
           l->head != NULL || l->leader_version != l->alloc_version;
}

static void wait_ms(struct agent_link *l, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&l->cv, &l->mu, &ts);
}

static void *run(void *arg)
{
    struct agent_link *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        if (l->stopping && (!pending(l) || qm__mono_ms() > l->flush_until)) {
            break;
        }
        if (!pending(l)) {
            wait_ms(l, 1000);
            continue;
        }
        pthread_mutex_unlock(&l->mu);
        bool ok = deliver(l);
        pthread_mutex_lock(&l->mu);
        if (!ok && !l->stopping) {
            wait_ms(l, 1000); /* the cluster is away: not too eager */
        } else if (!ok) {
            break;
        }
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

/* ---- the loop's side ---- */

int agent_link_start(struct agent_link **out,
                     struct qm_client *client,
                     const struct tp_host_register *reg,
                     unsigned buffer)
{
    struct agent_link *l = qm_calloc(1, sizeof(*l));
    if (l == NULL) {
        return QM_ENOMEM;
    }
    l->alerts.size = sizeof(struct tp_alert_raise);
    l->actions.size = sizeof(struct tp_action);
    l->alerts.items = qm_calloc(AGENT_LINK_PENDING_MAX, l->alerts.size);
    l->actions.items = qm_calloc(AGENT_LINK_PENDING_MAX, l->actions.size);
    if (l->alerts.items == NULL || l->actions.items == NULL) {
        qm_free(l->alerts.items);
        qm_free(l->actions.items);
        qm_free(l);
        return QM_ENOMEM;
    }
    l->client = client;
    l->reg = *reg;
    l->need_register = true;
    l->buffer = buffer > 0 ? buffer : 1;
    pthread_mutex_init(&l->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&l->thread, NULL, run, l) != 0) {
        pthread_cond_destroy(&l->cv);
        pthread_mutex_destroy(&l->mu);
        qm_free(l->alerts.items);
        qm_free(l->actions.items);
        qm_free(l);
        return QM_EIO;
    }
    *out = l;
    return QM_OK;
}

void agent_link_stop(struct agent_link *l, int64_t flush_ms)
{
    pthread_mutex_lock(&l->mu);
    l->stopping = true;
    l->flush_until = qm__mono_ms() + flush_ms;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    while (l->head != NULL) {
        struct sample *s = l->head;
        l->head = s->next;
        sample_free(s);
    }
    if (l->alerts.n + l->actions.n > 0) {
        qm_log(QM_LOG_WARN, "AGNT0024",
               "stopped with %u alerts and %u actions undelivered", l->alerts.n,
               l->actions.n);
    }
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    qm_free(l->alerts.items);
    qm_free(l->actions.items);
    qm_free(l);
}

void agent_link_register(struct agent_link *l,
                         const struct tp_host_register *reg)
{
    pthread_mutex_lock(&l->mu);
    l->reg = *reg;
    l->need_register = true;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

/* Encode @parts into a new sample; NULL when memory runs out. */
static struct sample *sample_new(const struct tp_report *parts, unsigned n)
{
    struct sample *s = qm_calloc(1, sizeof(*s));
    struct qm_buf args, cmd;
    qm_buf_init(&args);
    qm_buf_init(&cmd);
    for (unsigned i = 0; s != NULL && i < n && i < QM_HOST_SERVICES_MAX; i++) {
        qm_buf_reset(&args);
        qm_buf_reset(&cmd);
        qm_encode(&tp_report_schema, &parts[i], &args);
        struct qm_span as = {args.data, args.len};
        tp_cmd_encode(&cmd, TP_OP_HOST_REPORT, 0, 0, as);
        if (qm_buf_status(&args) != QM_OK || qm_buf_status(&cmd) != QM_OK) {
            sample_free(s);
            s = NULL;
            break;
        }
        s->cmd[i] = qm_buf_steal(&cmd, &s->len[i]);
        s->nparts++;
    }
    qm_buf_close(&args);
    qm_buf_close(&cmd);
    return s;
}

void agent_link_report(struct agent_link *l,
                       const struct tp_report *parts,
                       unsigned nparts)
{
    struct sample *s = sample_new(parts, nparts);
    struct sample *drop = NULL;
    pthread_mutex_lock(&l->mu);
    if (s == NULL) {
        l->st.reports_dropped++;
    } else {
        if (l->tail != NULL) {
            l->tail->next = s;
        } else {
            l->head = s;
        }
        l->tail = s;
        l->nsamples++;
        if (l->nsamples > l->buffer) {
            drop = l->head;
            l->head = drop->next;
            l->nsamples--;
            l->st.reports_dropped++;
        }
        pthread_cond_signal(&l->cv);
    }
    pthread_mutex_unlock(&l->mu);
    if (drop != NULL) {
        sample_free(drop);
    }
}

static void push(struct agent_link *l, struct ring *r, const void *item)
{
    pthread_mutex_lock(&l->mu);
    if (ring_push(r, item)) {
        if (l->st.pending_dropped++ % 100 == 0) {
            qm_log(QM_LOG_WARN, "AGNT0025",
                   "undelivered alerts or actions over %d: oldest dropped",
                   AGENT_LINK_PENDING_MAX);
        }
    }
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

void agent_link_alert(struct agent_link *l, const struct tp_alert_raise *a)
{
    push(l, &l->alerts, a);
}

void agent_link_action(struct agent_link *l, const struct tp_action *a)
{
    push(l, &l->actions, a);
}

bool agent_link_allocs(struct agent_link *l, struct tp_alloc *out, unsigned *n)
{
    pthread_mutex_lock(&l->mu);
    bool changed = l->allocs_new;
    if (changed) {
        memcpy(out, l->allocs, l->nallocs * sizeof(out[0]));
        *n = l->nallocs;
        l->allocs_new = false;
    }
    pthread_mutex_unlock(&l->mu);
    return changed;
}

void agent_link_stats(struct agent_link *l, struct agent_link_stats *out)
{
    pthread_mutex_lock(&l->mu);
    *out = l->st;
    out->buffered = l->nsamples;
    pthread_mutex_unlock(&l->mu);
}
