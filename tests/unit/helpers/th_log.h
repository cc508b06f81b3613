/* Capture of qm_log lines in tests: keeps expected error lines off the
 * test output and lets a test assert that a message was logged. */
#ifndef QM_TESTS_UNIT_HELPERS_TH_LOG_H
#define QM_TESTS_UNIT_HELPERS_TH_LOG_H

/* Route qm_log into the capture and clear the counts. */
void th_log_capture(void);
/* Restore the stderr sink. */
void th_log_release(void);
/* Lines captured since th_log_capture() that carry message ID @msgid. */
int th_log_count(const char *msgid);

#endif
