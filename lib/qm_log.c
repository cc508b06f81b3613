#include "qm_log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char log_prefix[64] = "qm";
static int log_level = QM_LOG_INFO;
static qm_log_sink_fn log_sink;
static void *log_sink_arg;

static const char *const level_names[] = {
    "emerg", "alert", "crit", "err", "warn", "notice", "info", "debug",
};

void qm_log_set_prefix(const char *prefix)
{
    snprintf(log_prefix, sizeof(log_prefix), "%s", prefix);
}

void qm_log_set_level(int level)
{
    log_level = level;
}

int qm_log_get_level(void)
{
    return log_level;
}

int qm_log_level_parse(const char *name)
{
    for (int i = QM_LOG_ERR; i <= QM_LOG_DEBUG; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

void qm_log_set_sink(qm_log_sink_fn fn, void *arg)
{
    log_sink = fn;
    log_sink_arg = arg;
}

void qm_log(int level, const char *msgid, const char *fmt, ...)
{
    if (level > log_level || level < 0) {
        return;
    }
    char line[1024];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(
        line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s %s ",
        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
        tm.tm_sec, ts.tv_nsec / 1000000, log_prefix, level_names[level], msgid);
    if (n < 0 || (size_t)n >= sizeof(line)) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    if (m < 0) {
        return;
    }
    size_t len = strlen(line);
    if (log_sink != NULL) {
        log_sink(log_sink_arg, level, line);
        return;
    }
    line[len < sizeof(line) - 1 ? len : sizeof(line) - 2] = '\n';
    len = len < sizeof(line) - 1 ? len + 1 : sizeof(line) - 1;
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
