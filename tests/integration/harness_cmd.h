/* Running qmctl from a cluster test: the binary of the build under test
 * (QM_BIN_DIR) as a child process against the test's cluster, its output
 * captured, its exit status returned. The child is waited for by its PID,
 * and killed by it when it outlives its deadline. */
#ifndef QM_TESTS_INTEGRATION_HARNESS_CMD_H
#define QM_TESTS_INTEGRATION_HARNESS_CMD_H

#include <stddef.h>

#include "harness.h"

#define H_OUT_MAX 65536
#define H_ERR_MAX 8192

struct h_run
{
    int status; /* exit status, or 128 + signal */
    char out[H_OUT_MAX];
    size_t nout;
    char err[H_ERR_MAX];
    size_t nerr;
};

/* Run "qmctl --cluster URLS ARGS..." (@args ends with NULL) with a 60 s
 * deadline into @r; returns r->status. Output beyond the buffers is
 * dropped; both are NUL-terminated. */
int h_qmctl(struct h_cluster *c, struct h_run *r, const char *const *args);

#endif
