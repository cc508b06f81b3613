/* Comparing replicas of the state machine in unit tests: a copy of one
 * apply's results to compare with another replica's, and the assertion
 * that two replicas hold the same state. Failures fail the running cmocka
 * test. */
#ifndef QM_TESTS_UNIT_HELPERS_TH_REPLICA_H
#define QM_TESTS_UNIT_HELPERS_TH_REPLICA_H

#include <stddef.h>
#include <stdint.h>

#include "fsm.h"
#include "th_fsm.h"

#define TH_REPLICA_CMDS 8      /* commands per entry, at most */
#define TH_REPLICA_RESULT 1024 /* bytes per result, at most */

/* The results of one apply, copied. */
struct th_results
{
    uint32_t n;
    size_t len[TH_REPLICA_CMDS];
    uint8_t data[TH_REPLICA_CMDS][TH_REPLICA_RESULT];
};

void th_results_keep(const struct fsm_results *res, struct th_results *out);
/* @y (another replica's apply of the same entry) equals @x byte for byte. */
void th_assert_same_results(const struct th_results *x,
                            const struct fsm_results *y);
/* Same digest, applied index, clock and next deadline. */
void th_assert_same_state(struct th_fsm *a, struct th_fsm *b);

#endif
