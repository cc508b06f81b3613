/* Credits of hot pools for the local API (agent_credit.h). */
#include "agent_credit.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "qm_alloc.h"
#include "qm_call.h"
#include "qm_log.h"

#define GRANTS_MAX 4

struct grant
{
    uint64_t id;
    int64_t left;
    int64_t use_until; /* monotonic ms */
};

struct cpool
{
    pthread_mutex_t mu;
    struct agent_credits *cs;
    struct agent_credit_conf conf;
    struct grant g[GRANTS_MAX]; /* by use_until */
    unsigned ng;
    bool asking;
    int64_t ask_sent;
    int64_t next_ask;                 /* not before, after a refusal */
    char refused[QM_MESSAGE_MAX + 1]; /* the last refusal logged */
    struct agent_credit_stats st;
};

struct agent_credits
{
    struct qm_client *client;
    char host[QM_NAME_MAX + 1];
    pthread_mutex_t mu; /* inflight */
    pthread_cond_t idle;
    unsigned inflight;
    unsigned n;
    struct cpool p[];
};

static int64_t margin(const struct agent_credit_conf *c)
{
    int64_t m = c->ttl_ms / 5;
    return m < 2000 ? 2000 : m;
}

static void inflight_add(struct agent_credits *cs, int d)
{
    pthread_mutex_lock(&cs->mu);
    cs->inflight = (unsigned)((int)cs->inflight + d);
    if (cs->inflight == 0) {
        pthread_cond_broadcast(&cs->idle);
    }
    pthread_mutex_unlock(&cs->mu);
}

/* ---- giving back ---- */

static void returned(qm__fn fn,
                     void *arg,
                     const struct qm_result *res,
                     const void *body)
{
    (void)fn;
    struct cpool *p = arg;
    pthread_mutex_lock(&p->mu);
    if (res->status == QM_OK && body != NULL) {
        p->st.returned += ((const struct tp_credit_returned *)body)->returned;
    } else {
        p->st.expired++;
    }
    pthread_mutex_unlock(&p->mu);
    inflight_add(p->cs, -1);
}

/* Give @g back. Called without p->mu: libqm may call back at once. */
static void give_back(struct cpool *p, struct grant g)
{
    struct tp_credit_return r = {g.id, g.left};
    inflight_add(p->cs, 1);
    if (qm__call_decoded(
            p->cs->client, TP_OP_CREDIT_RETURN, &tp_credit_return_schema, &r,
            &tp_credit_returned_schema, returned, NULL, p) != QM_OK) {
        pthread_mutex_lock(&p->mu);
        p->st.expired++;
        pthread_mutex_unlock(&p->mu);
        inflight_add(p->cs, -1);
    }
}

static void drop_grant(struct cpool *p, unsigned i)
{
    memmove(&p->g[i], &p->g[i + 1], (p->ng - i - 1) * sizeof(p->g[0]));
    p->ng--;
}

/* ---- asking ---- */

static void granted(qm__fn fn,
                    void *arg,
                    const struct qm_result *res,
                    const void *body)
{
    (void)fn;
    struct cpool *p = arg;
    int64_t now = qm__mono_ms();
    pthread_mutex_lock(&p->mu);
    p->asking = false;
    if (res->status == QM_OK && body != NULL) {
        const struct tp_credit *cr = body;
        struct grant g = {cr->id, cr->amount,
                          p->ask_sent + p->conf.ttl_ms - margin(&p->conf)};
        p->st.grants++;
        p->st.granted += cr->amount;
        if (p->ng == GRANTS_MAX || p->next_ask == INT64_MAX) {
            /* No room, or closing: straight back. */
            pthread_mutex_unlock(&p->mu);
            give_back(p, g);
            inflight_add(p->cs, -1);
            return;
        }
        p->g[p->ng++] = g; /* asked later: ends later */
        p->refused[0] = '\0';
    } else if (p->next_ask != INT64_MAX) {
        int64_t wait = res->status == QM_DENIED ? res->retry_after_ms : 5000;
        p->next_ask = now + (wait < 50 ? 50 : wait > 5000 ? 5000 : wait);
        if (res->status != QM_DENIED && strcmp(p->refused, res->message) != 0) {
            /* Once per reason, not every retry. */
            snprintf(p->refused, sizeof(p->refused), "%s", res->message);
            qm_log(QM_LOG_WARN, "AGNT0030", "credit of pool '%s' refused: %s",
                   p->conf.pool, res->message);
        }
    }
    pthread_mutex_unlock(&p->mu);
    inflight_add(p->cs, -1);
}

/* Whether to ask for a top-up now (none on its way); marks it asked.
 * Caller holds p->mu, and calls ask() once it has let go. */
static bool should_ask(struct cpool *p, int64_t now)
{
    if (p->asking || now < p->next_ask) {
        return false;
    }
    p->asking = true;
    p->ask_sent = now;
    return true;
}

static void ask(struct cpool *p)
{
    struct tp_credit_grant g;
    memset(&g, 0, sizeof(g));
    memcpy(g.host, p->cs->host, sizeof(g.host));
    memcpy(g.pool, p->conf.pool, sizeof(g.pool));
    g.amount = p->conf.batch;
    g.min = p->conf.batch / 10 > 0 ? p->conf.batch / 10 : 1;
    g.ttl_ms = p->conf.ttl_ms;
    inflight_add(p->cs, 1);
    if (qm__call_decoded(p->cs->client, TP_OP_CREDIT_GRANT,
                         &tp_credit_grant_schema, &g, &tp_credit_schema,
                         granted, NULL, p) != QM_OK) {
        pthread_mutex_lock(&p->mu);
        p->asking = false;
        p->next_ask = qm__mono_ms() + 1000;
        pthread_mutex_unlock(&p->mu);
        inflight_add(p->cs, -1);
    }
}

/* ---- the API ---- */

int agent_credits_new(struct agent_credits **out,
                      struct qm_client *client,
                      const char *host,
                      const struct agent_credit_conf *conf,
                      unsigned n)
{
    struct agent_credits *cs =
        qm_calloc(1, sizeof(*cs) + (size_t)n * sizeof(cs->p[0]));
    if (cs == NULL) {
        return QM_ENOMEM;
    }
    cs->client = client;
    snprintf(cs->host, sizeof(cs->host), "%s", host);
    pthread_mutex_init(&cs->mu, NULL);
    pthread_cond_init(&cs->idle, NULL);
    cs->n = n;
    for (unsigned i = 0; i < n; i++) {
        pthread_mutex_init(&cs->p[i].mu, NULL);
        cs->p[i].cs = cs;
        cs->p[i].conf = conf[i];
    }
    *out = cs;
    return QM_OK;
}

static struct cpool *find(struct agent_credits *cs, const char *pool)
{
    for (unsigned i = 0; i < cs->n; i++) {
        if (strcmp(cs->p[i].conf.pool, pool) == 0) {
            return &cs->p[i];
        }
    }
    return NULL;
}

bool agent_credits_has(struct agent_credits *cs, const char *pool)
{
    return cs != NULL && find(cs, pool) != NULL;
}

/* Milli-units of grants still usable at @now; caller holds p->mu. */
static int64_t balance(const struct cpool *p, int64_t now)
{
    int64_t b = 0;
    for (unsigned i = 0; i < p->ng; i++) {
        if (p->g[i].use_until > now) {
            b += p->g[i].left;
        }
    }
    return b;
}

int agent_credits_take(struct agent_credits *cs,
                       const char *pool,
                       int64_t amount,
                       int64_t *left)
{
    struct cpool *p = find(cs, pool);
    if (p == NULL) {
        return QM_NOT_FOUND;
    }
    int64_t now = qm__mono_ms();
    pthread_mutex_lock(&p->mu);
    int64_t b = balance(p, now);
    int rv = QM_DENIED;
    if (b >= amount) {
        int64_t need = amount;
        for (unsigned i = 0; i < p->ng && need > 0; i++) {
            if (p->g[i].use_until > now) {
                int64_t t = need < p->g[i].left ? need : p->g[i].left;
                p->g[i].left -= t;
                need -= t;
            }
        }
        b -= amount;
        p->st.taken++;
        *left = b;
        rv = QM_OK;
    } else {
        p->st.short_++;
    }
    bool more = (b < p->conf.low || rv != QM_OK) && should_ask(p, now);
    pthread_mutex_unlock(&p->mu);
    if (more) {
        ask(p);
    }
    return rv;
}

void agent_credits_tick(struct agent_credits *cs, int64_t now_ms)
{
    for (unsigned k = 0; k < cs->n; k++) {
        struct cpool *p = &cs->p[k];
        struct grant ended[GRANTS_MAX];
        unsigned nended = 0;
        pthread_mutex_lock(&p->mu);
        for (unsigned i = 0; i < p->ng;) {
            if (p->g[i].use_until <= now_ms) {
                ended[nended++] = p->g[i];
                drop_grant(p, i);
            } else {
                i++;
            }
        }
        bool more = balance(p, now_ms) < p->conf.low && should_ask(p, now_ms);
        pthread_mutex_unlock(&p->mu);
        for (unsigned i = 0; i < nended; i++) {
            give_back(p, ended[i]);
        }
        if (more) {
            ask(p);
        }
    }
}

void agent_credits_stats(struct agent_credits *cs,
                         const char *pool,
                         struct agent_credit_stats *out)
{
    memset(out, 0, sizeof(*out));
    struct cpool *p = find(cs, pool);
    if (p == NULL) {
        return;
    }
    pthread_mutex_lock(&p->mu);
    *out = p->st;
    out->balance = balance(p, qm__mono_ms());
    pthread_mutex_unlock(&p->mu);
}

void agent_credits_free(struct agent_credits *cs)
{
    if (cs == NULL) {
        return;
    }
    for (unsigned k = 0; k < cs->n; k++) {
        struct cpool *p = &cs->p[k];
        struct grant held[GRANTS_MAX];
        pthread_mutex_lock(&p->mu);
        p->next_ask = INT64_MAX; /* no more top-ups */
        unsigned n = p->ng;
        memcpy(held, p->g, n * sizeof(held[0]));
        p->ng = 0;
        pthread_mutex_unlock(&p->mu);
        for (unsigned i = 0; i < n; i++) {
            give_back(p, held[i]);
        }
    }
    pthread_mutex_lock(&cs->mu);
    while (cs->inflight > 0) {
        pthread_cond_wait(&cs->idle, &cs->mu);
    }
    pthread_mutex_unlock(&cs->mu);
    for (unsigned k = 0; k < cs->n; k++) {
        struct agent_credit_stats *st = &cs->p[k].st;
        qm_log(QM_LOG_INFO, "AGNT0031",
               "credit of pool '%s': %llu local acquisitions, %llu short, "
               "%lld granted, %lld given back, %llu grants lost",
               cs->p[k].conf.pool, (unsigned long long)st->taken,
               (unsigned long long)st->short_, (long long)st->granted,
               (long long)st->returned, (unsigned long long)st->expired);
        pthread_mutex_destroy(&cs->p[k].mu);
    }
    pthread_cond_destroy(&cs->idle);
    pthread_mutex_destroy(&cs->mu);
    qm_free(cs);
}
