#include "node_join.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "qm.h"
#include "qm_alloc.h"
#include "qm_log.h"

/* A join waits while the leader brings this node's log up to date. */
#define JOIN_TIMEOUT_MS 8000

struct node_join
{
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    bool pending;
    bool running;
    char urls[1024];
    struct tp_member self;
};

static void register_once(struct node_join *j, const char *urls)
{
    struct qm_options opt = {JOIN_TIMEOUT_MS, 2000, NULL};
    struct qm_client *c;
    char err[QM_ERRMSG_SIZE];
    if (qm_client_new(&c, urls, &opt, err) != QM_OK) {
        qm_log(QM_LOG_ERR, "NODE0020", "cannot reach %s: %s", urls, err);
        return;
    }
    struct qm_result res;
    int rv =
        qm_member_add(c, j->self.id, j->self.raft_addr, j->self.api_url, &res);
    if (rv == QM_OK) {
        qm_log(QM_LOG_INFO, "NODE0021",
               "the cluster added node %llu (raft %s, API %s)",
               (unsigned long long)j->self.id, j->self.raft_addr,
               j->self.api_url);
    } else {
        qm_log(QM_LOG_WARN, "NODE0022",
               "asking %s to add node %llu: %s: %s; will ask again", urls,
               (unsigned long long)j->self.id, qm_errname(rv), res.message);
    }
    qm_client_free(c);
}

static void *run(void *arg)
{
    struct node_join *j = arg;
    pthread_mutex_lock(&j->mu);
    for (;;) {
        while (!j->stop && !j->pending) {
            pthread_cond_wait(&j->cv, &j->mu);
        }
        if (j->stop) {
            break;
        }
        char urls[sizeof(j->urls)];
        memcpy(urls, j->urls, sizeof(urls));
        j->pending = false;
        j->running = true;
        pthread_mutex_unlock(&j->mu);
        register_once(j, urls);
        pthread_mutex_lock(&j->mu);
        j->running = false;
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

int node_join_start(struct node_join **out, const struct tp_member *self)
{
    struct node_join *j = qm_calloc(1, sizeof(*j));
    if (j == NULL) {
        return QM_ENOMEM;
    }
    j->self = *self;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    if (pthread_create(&j->thread, NULL, run, j) != 0) {
        pthread_cond_destroy(&j->cv);
        pthread_mutex_destroy(&j->mu);
        qm_free(j);
        return QM_ENOMEM;
    }
    *out = j;
    return QM_OK;
}

void node_join_request(struct node_join *j, const char *urls)
{
    pthread_mutex_lock(&j->mu);
    if (!j->pending && !j->running && urls[0] != '\0') {
        snprintf(j->urls, sizeof(j->urls), "%s", urls);
        j->pending = true;
        pthread_cond_signal(&j->cv);
    }
    pthread_mutex_unlock(&j->mu);
}

bool node_join_busy(struct node_join *j)
{
    pthread_mutex_lock(&j->mu);
    bool busy = j->pending || j->running;
    pthread_mutex_unlock(&j->mu);
    return busy;
}

void node_join_stop(struct node_join *j)
{
    if (j == NULL) {
        return;
    }
    pthread_mutex_lock(&j->mu);
    j->stop = true;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
    pthread_join(j->thread, NULL);
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
    qm_free(j);
}
