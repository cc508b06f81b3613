/* Comparing replicas of the state machine: see th_replica.h. */
#include "th_replica.h"

#include <string.h>

#include "th_cmocka.h"

void th_results_keep(const struct fsm_results *res, struct th_results *out)
{
    assert_true(res->n <= TH_REPLICA_CMDS);
    out->n = res->n;
    for (uint32_t i = 0; i < res->n; i++) {
        assert_true(res->items[i].n <= sizeof(out->data[i]));
        out->len[i] = res->items[i].n;
        memcpy(out->data[i], res->items[i].p, res->items[i].n);
    }
}

void th_assert_same_results(const struct th_results *x,
                            const struct fsm_results *y)
{
    assert_int_equal(x->n, y->n);
    for (uint32_t i = 0; i < x->n; i++) {
        assert_int_equal(x->len[i], y->items[i].n);
        assert_memory_equal(x->data[i], y->items[i].p, x->len[i]);
    }
}

void th_assert_same_state(struct th_fsm *a, struct th_fsm *b)
{
    char da[33], db[33];
    th_fsm_digest(a, da);
    th_fsm_digest(b, db);
    assert_string_equal(da, db);
    assert_int_equal(fsm_applied_index(a->f), fsm_applied_index(b->f));
    assert_int_equal(fsm_clock(a->f), fsm_clock(b->f));
    assert_int_equal(fsm_next_deadline(a->f), fsm_next_deadline(b->f));
}
