/* The worker loop of qm.h (qm_worker_*): lease with an idle back-off while
 * nothing can be leased, hand each request to a handler, complete or fail
 * it. Recovery from a worker that dies or loses its way is the cluster's:
 * a lease that runs out puts the request back in its queue. */
#include <string.h>
#include <time.h>

#include "qm_alloc.h"
#include "qm_api_internal.h"
#include "qm_call.h"

#define IDLE_MIN_MS 20
#define IDLE_MAX_MS 1000
#define NAP_MS 50 /* how often an idle worker looks at *stop */

struct qm_worker
{
    struct qm_client *c;
    char name[QM_NAME_MAX + 1];
    int64_t lease_ms;
    int64_t idle_min_ms;
    int64_t idle_max_ms;
    int64_t idle_ms; /* the next back-off */
};

int qm_worker_new(struct qm_worker **out,
                  struct qm_client *c,
                  const struct qm_worker_options *opt,
                  struct qm_result *res)
{
    struct qm_worker w = {
        .c = c,
        .lease_ms = opt->lease_ms,
        .idle_min_ms = opt->idle_min_ms != 0 ? opt->idle_min_ms : IDLE_MIN_MS,
        .idle_max_ms = opt->idle_max_ms != 0 ? opt->idle_max_ms : IDLE_MAX_MS,
    };
    int rv = qm__name_arg(w.name, opt->name, false, "worker name", res);
    if (rv != QM_OK) {
        return rv;
    }
    if (w.lease_ms < 0 || w.lease_ms > QM_RES_TTL_MAX_MS) {
        return qm__fail_local(res, QM_INVALID, "a lease lasts 0..%lld ms",
                              QM_RES_TTL_MAX_MS);
    }
    if (w.idle_min_ms < 0 || w.idle_max_ms < w.idle_min_ms) {
        return qm__fail_local(res, QM_INVALID,
                              "the idle back-off wants 0 <= min <= max");
    }
    struct qm_worker *p = qm_malloc(sizeof(*p));
    if (p == NULL) {
        return qm__fail_local(res, QM_ENOMEM, "%s", qm_strerror(QM_ENOMEM));
    }
    w.idle_ms = w.idle_min_ms;
    *p = w;
    *out = p;
    return QM_OK;
}

void qm_worker_free(struct qm_worker *w)
{
    qm_free(w);
}

static bool stopped(const volatile bool *stop)
{
    return stop != NULL && *stop;
}

/* Sleep the back-off, or @left ms if that is less (< 0: no limit), in naps
 * that notice *stop; the next back-off is twice as long, up to the max. */
static void idle(struct qm_worker *w, int64_t left, const volatile bool *stop)
{
    int64_t t = left >= 0 && left < w->idle_ms ? left : w->idle_ms;
    for (int64_t slept = 0; slept < t && !stopped(stop); slept += NAP_MS) {
        int64_t ms = t - slept < NAP_MS ? t - slept : NAP_MS;
        struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
    }
    w->idle_ms =
        w->idle_ms * 2 < w->idle_max_ms ? w->idle_ms * 2 : w->idle_max_ms;
}

/* qm_worker_next, also giving up (QM_DENIED) once *stop is set. */
static int next(struct qm_worker *w,
                int64_t timeout_ms,
                const volatile bool *stop,
                struct qm_job *job,
                struct qm_result *res)
{
    int64_t deadline = timeout_ms >= 0 ? qm__mono_ms() + timeout_ms : -1;
    for (;;) {
        int rv = qm_lease(w->c, w->name, w->lease_ms, job, res);
        if (rv == QM_OK) {
            w->idle_ms = w->idle_min_ms;
        }
        if (rv != QM_DENIED) {
            return rv;
        }
        int64_t left = deadline >= 0 ? deadline - qm__mono_ms() : -1;
        if ((deadline >= 0 && left <= 0) || stopped(stop)) {
            return QM_DENIED;
        }
        idle(w, left, stop);
        if (stopped(stop)) {
            return QM_DENIED;
        }
    }
}

int qm_worker_next(struct qm_worker *w,
                   int64_t timeout_ms,
                   struct qm_job *job,
                   struct qm_result *res)
{
    return next(w, timeout_ms, NULL, job, res);
}

int qm_worker_complete(struct qm_worker *w,
                       const struct qm_job *job,
                       const struct qm_amount *used,
                       unsigned nused,
                       int64_t *cost,
                       struct qm_result *res)
{
    return qm_complete(w->c, job->id, job->attempt, used, nused, cost, res);
}

int qm_worker_fail(struct qm_worker *w,
                   const struct qm_job *job,
                   const char *reason,
                   bool *requeued,
                   struct qm_result *res)
{
    return qm_fail(w->c, job->id, job->attempt, reason, requeued, NULL, res);
}

/* @reason as the cluster takes it: printable UTF-8 (a character cut at
 * the end is dropped), else @fallback. */
static const char *reason_text(char *reason, const char *fallback)
{
    size_t n = strlen(reason);
    for (int cut = 0; cut < 3 && n > 0 && !qm_valid_text(reason, n); cut++) {
        if (((unsigned char)reason[n - 1] & 0x80) == 0) {
            break;
        }
        reason[--n] = '\0';
    }
    return n > 0 && qm_valid_text(reason, n) ? reason : fallback;
}

/* Errors after which the loop goes on: the cluster may come back. */
static bool transient(int rv)
{
    return rv == QM_ETIMEDOUT || rv == QM_ECONN || rv == QM_UNAVAILABLE ||
           rv == QM_NOT_LEADER || rv == QM_EBUSY;
}

/* Errors that stop the loop: no other request would fare better. */
static int fatal(int rv)
{
    return rv == QM_ENOMEM || rv == QM_UNAUTHORIZED ? rv : QM_OK;
}

/* Run the handler on @job and complete or fail it. QM_OK, or an error
 * that should stop the loop (@res says why). A lost lease or no answer is
 * left to the cluster: the lease runs out. */
static int handle(struct qm_worker *w,
                  const struct qm_job *job,
                  qm_worker_fn handler,
                  void *arg,
                  struct qm_result *res)
{
    struct qm_amount used[QM_RES_POOLS_MAX];
    unsigned nused = 0;
    char reason[QM_REASON_MAX + 1] = "";
    memset(used, 0, sizeof(used));
    int h = handler(arg, job, used, &nused, reason);
    const char *why = qm_errname(h);
    if (h == QM_OK) {
        int rv = qm_worker_complete(w, job, used, nused, NULL, res);
        if (rv != QM_INVALID) {
            return fatal(rv);
        }
        /* The cluster refused what the handler said it used. */
        snprintf(reason, sizeof(reason), "complete refused: %s", res->message);
        why = "complete refused";
    }
    return fatal(qm_worker_fail(w, job, reason_text(reason, why), NULL, res));
}

int qm_worker_run(struct qm_worker *w,
                  qm_worker_fn handler,
                  void *arg,
                  const volatile bool *stop,
                  struct qm_result *res)
{
    struct qm_result local;
    res = res != NULL ? res : &local;
    while (!stopped(stop)) {
        struct qm_job job;
        int rv = next(w, -1, stop, &job, res);
        if (rv == QM_OK) {
            rv = handle(w, &job, handler, arg, res);
            qm_job_clear(&job);
        }
        if (transient(rv)) {
            idle(w, -1, stop);
        } else if (rv != QM_OK && rv != QM_DENIED) {
            return rv;
        }
    }
    return QM_OK;
}
