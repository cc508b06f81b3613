#include "th_log.h"

#include <string.h>

#include "qm_log.h"

#define TH_LOG_LINES 64
#define TH_LOG_LINE_MAX 256

/* The captured lines (the last TH_LOG_LINES), test-only state. */
static char lines[TH_LOG_LINES][TH_LOG_LINE_MAX];
static int nlines;

static void sink(void *arg, int level, const char *line)
{
    (void)arg;
    (void)level;
    char *dst = lines[nlines % TH_LOG_LINES];
    strncpy(dst, line, TH_LOG_LINE_MAX - 1);
    dst[TH_LOG_LINE_MAX - 1] = '\0';
    nlines++;
}

void th_log_capture(void)
{
    nlines = 0;
    qm_log_set_sink(sink, NULL);
}

void th_log_release(void)
{
    qm_log_set_sink(NULL, NULL);
}

int th_log_count(const char *msgid)
{
    int n = 0;
    int kept = nlines < TH_LOG_LINES ? nlines : TH_LOG_LINES;
    for (int i = 0; i < kept; i++) {
        /* The message ID follows the level, as its own word. */
        const char *p = strstr(lines[i], msgid);
        if (p != NULL && p > lines[i] && p[-1] == ' ' &&
            p[strlen(msgid)] == ' ') {
            n++;
        }
    }
    return n;
}
