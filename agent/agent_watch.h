/* What the agent concludes from its samples: a leak detector per watched
 * process and resource (fds, sockets, threads, RSS; agent_detect.h) and
 * the host's utilisation thresholds (CPU, memory, disk). Each change of a
 * level becomes one alert for the ledger (kind "leak" or "threshold",
 * subject HOST/SERVICE or HOST, topic the resource), and each service gets
 * a one-line note of its worst finding for the leader's view.
 *
 * A process is known by (service, pid, start time): a restart starts its
 * detectors over, and a process that goes away clears its alerts with a
 * "resolved" one. Bounded by the collector's AGENT_PROCS_MAX.
 *
 * Not thread-safe: the agent's loop owns it. */
#ifndef QM_AGENT_AGENT_WATCH_H
#define QM_AGENT_AGENT_WATCH_H

#include <stdint.h>

#include "agent_collect.h"
#include "agent_detect.h"
#include "qm_limits.h"
#include "tp_msg.h"

/* Resources tracked per process. */
enum agent_res {
    AGENT_RES_FDS = 0,
    AGENT_RES_SOCKETS,
    AGENT_RES_THREADS,
    AGENT_RES_RSS,
    AGENT_RES_COUNT,
};

/* One alert to send (filled for the callback, borrowed for the call). */
typedef void (*agent_alert_fn)(void *arg, const struct tp_alert_raise *a);

struct agent_watch;

/* @host is this host's id (copied); @leak and @thresh (3, by enum
 * agent_util) are copied. QM_OK, QM_ECONFIG (a bad detector setting),
 * QM_ENOMEM. */
int agent_watch_new(struct agent_watch **out,
                    const char *host,
                    const struct agent_leak_conf *leak,
                    const struct agent_thresh_conf *thresh);
void agent_watch_free(struct agent_watch *w);

/* Feed one sample: every change of level goes to @emit; @notes (one per
 * service of the sample, QM_NOTE_MAX + 1 bytes each) get each service's
 * worst finding now, or "". QM_OK or QM_ENOMEM (a new process could not
 * be tracked; the others were). */
int agent_watch_feed(struct agent_watch *w,
                     const struct agent_sample *s,
                     agent_alert_fn emit,
                     void *arg,
                     char (*notes)[QM_NOTE_MAX + 1]);

/* Processes being tracked (tests, the overhead benchmark). */
unsigned agent_watch_tracked(const struct agent_watch *w);

#endif
