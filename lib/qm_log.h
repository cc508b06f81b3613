/* Logging: one line per event, RFC 5424 levels, stable message IDs.
 *
 *   qm_log(QM_LOG_INFO, "RAFT0003", "became leader term=%llu", term);
 *
 * prints "2026-11-23T03:13:23.123Z qmd[1] info RAFT0003 became leader term=3"
 * to the sink (stderr by default). The level is checked before formatting.
 * The sink and the prefix are the process's only mutable globals; they are
 * set once at start-up, before other threads exist. qm_log() itself may be
 * called from any thread: each line is written with one write(2). */
#ifndef QM_LIB_QM_LOG_H
#define QM_LIB_QM_LOG_H

#include <stdarg.h>

enum qm_log_level {
    QM_LOG_ERR = 3,
    QM_LOG_WARN = 4,
    QM_LOG_NOTICE = 5,
    QM_LOG_INFO = 6,
    QM_LOG_DEBUG = 7,
};

/* Receives one formatted line without the trailing newline. */
typedef void (*qm_log_sink_fn)(void *arg, int level, const char *line);

/* Set the prefix ("qmd[1]"), copied. Call before starting threads. */
void qm_log_set_prefix(const char *prefix);

/* Lines above @level are dropped. Default QM_LOG_INFO. */
void qm_log_set_level(int level);
int qm_log_get_level(void);

/* Parse "err|warn|notice|info|debug"; returns -1 on anything else. */
int qm_log_level_parse(const char *name);

/* Replace the sink; NULL restores stderr. */
void qm_log_set_sink(qm_log_sink_fn fn, void *arg);

void qm_log(int level, const char *msgid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
