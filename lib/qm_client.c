/* The client object: its nodes, the leader it believes in, its sessions. */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "qm_alloc.h"
#include "qm_call.h"

int64_t qm__mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int qm__node_find(struct qm_client *c, const char *url)
{
    for (int i = 0; i < c->nnodes; i++) {
        if (strcmp(tp_conn_url(c->nodes[i].conn), url) == 0) {
            return i;
        }
    }
    if (c->nnodes == QM_CLIENT_NODES_MAX) {
        return -1;
    }
    char err[QM_ERRMSG_SIZE];
    if (tp_conn_open(&c->nodes[c->nnodes].conn, url, err) != QM_OK) {
        return -1;
    }
    return c->nnodes++;
}

static int add_urls(struct qm_client *c,
                    const char *urls,
                    char err[QM_ERRMSG_SIZE])
{
    const char *p = urls;
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        while (n > 0 && p[0] == ' ') {
            p++;
            n--;
        }
        while (n > 0 && p[n - 1] == ' ') {
            n--;
        }
        if (n > 0) {
            char url[QM_URL_MAX + 1];
            if (n > QM_URL_MAX) {
                snprintf(err, QM_ERRMSG_SIZE, "URL longer than %d bytes",
                         QM_URL_MAX);
                return QM_ECONFIG;
            }
            memcpy(url, p, n);
            url[n] = '\0';
            if (c->nnodes == QM_CLIENT_NODES_MAX) {
                snprintf(err, QM_ERRMSG_SIZE, "more than %d URLs",
                         QM_CLIENT_NODES_MAX);
                return QM_ECONFIG;
            }
            int rv = tp_conn_open(&c->nodes[c->nnodes].conn, url, err);
            if (rv != QM_OK) {
                return rv;
            }
            c->nnodes++;
        }
        if (end == NULL) {
            break;
        }
        p = end + 1;
    }
    if (c->nnodes == 0) {
        snprintf(err, QM_ERRMSG_SIZE, "no node URL given");
        return QM_ECONFIG;
    }
    return QM_OK;
}

int qm_client_new(struct qm_client **out,
                  const char *urls,
                  const struct qm_options *opt,
                  char err[QM_ERRMSG_SIZE])
{
    struct qm_client *c = qm_calloc(1, sizeof(*c));
    if (c == NULL) {
        snprintf(err, QM_ERRMSG_SIZE, "out of memory");
        return QM_ENOMEM;
    }
    if (opt != NULL) {
        c->opt = *opt;
    }
    if (c->opt.timeout_ms <= 0) {
        c->opt.timeout_ms = 10000;
    }
    if (c->opt.attempt_timeout_ms <= 0) {
        c->opt.attempt_timeout_ms = 2000;
    }
    if (c->opt.credential != NULL) {
        if (strlen(c->opt.credential) > QM_CRED_MAX) {
            snprintf(err, QM_ERRMSG_SIZE, "credential longer than %d bytes",
                     QM_CRED_MAX);
            qm_free(c);
            return QM_ECONFIG;
        }
        snprintf(c->cred, sizeof(c->cred), "%s", c->opt.credential);
    }
    c->opt.credential = NULL;
    c->leader = -1;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->idle, NULL);
    int rv = add_urls(c, urls, err);
    if (rv != QM_OK) {
        qm_client_free(c);
        return rv;
    }
    *out = c;
    return QM_OK;
}

void qm_client_free(struct qm_client *c)
{
    if (c == NULL) {
        return;
    }
    pthread_mutex_lock(&c->mu);
    while (c->inflight > 0) {
        pthread_cond_wait(&c->idle, &c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    qm__calls_free(c);
    for (int i = 0; i < c->nnodes; i++) {
        tp_conn_close(c->nodes[i].conn);
    }
    while (c->free_sessions != NULL) {
        struct qm_session *s = c->free_sessions;
        c->free_sessions = s->next;
        qm_free(s);
    }
    pthread_cond_destroy(&c->idle);
    pthread_mutex_destroy(&c->mu);
    qm_free(c);
}

struct qm_session *qm__session_take(struct qm_client *c)
{
    struct qm_session *s = c->free_sessions;
    if (s != NULL) {
        c->free_sessions = s->next;
        return s;
    }
    s = qm_calloc(1, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    /* 64 random bits: the cluster keys sessions by this id alone. */
    while (s->id == 0) {
        if (getrandom(&s->id, sizeof(s->id), 0) != sizeof(s->id)) {
            s->id = (uint64_t)qm__mono_ms() * 0x9e3779b97f4a7c15ull ^
                    (uint64_t)(uintptr_t)s;
        }
    }
    return s;
}

void qm__session_give(struct qm_client *c, struct qm_session *s)
{
    s->next = c->free_sessions;
    c->free_sessions = s;
}
