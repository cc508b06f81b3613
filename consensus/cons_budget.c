/* A byte budget for raft's in-memory log: see cons_budget.h. */
#include "cons_budget.h"

#include <string.h>

#include "qm_alloc.h"
#include "qm_err.h"

int cons_budget_init(struct cons_budget *b,
                     const struct cons_budget_config *cfg)
{
    if (cfg->trailing == 0 || cfg->threshold == 0) {
        return QM_INVALID;
    }
    memset(b, 0, sizeof(*b));
    b->sizes = qm_calloc(cfg->trailing, sizeof(*b->sizes));
    if (b->sizes == NULL) {
        return QM_ENOMEM;
    }
    b->cfg = *cfg;
    return QM_OK;
}

void cons_budget_close(struct cons_budget *b)
{
    qm_free(b->sizes);
    b->sizes = NULL;
}

/* Zero the slots of the entries after the last recorded one and before
 * @index: they never reached the state machine (or were not seen). */
static void clear_gap(struct cons_budget *b, uint64_t index)
{
    uint64_t n = b->cfg.trailing;
    if (b->last == 0 || index <= b->last || index - b->last > n) {
        memset(b->sizes, 0, (size_t)n * sizeof(*b->sizes));
        return;
    }
    for (uint64_t i = b->last + 1; i < index; i++) {
        b->sizes[i % n] = 0;
    }
}

void cons_budget_applied(struct cons_budget *b,
                         struct raft *r,
                         uint64_t index,
                         size_t len)
{
    uint64_t cost = (uint64_t)len + CONS_ENTRY_OVERHEAD;
    clear_gap(b, index);
    b->sizes[index % b->cfg.trailing] =
        cost > UINT32_MAX ? UINT32_MAX : (uint32_t)cost;
    b->last = index;
    b->since += cost;
    if (b->since >= b->cfg.period_bytes && !b->early) {
        /* raft checks its threshold after this batch of applies; a
         * snapshot in progress makes it wait for that one to end. */
        raft_set_snapshot_threshold(r, 1);
        b->early = true;
    }
}

/* Cost of entry @i, 0 when it was not recorded or its slot was reused. */
static uint64_t cost_of(const struct cons_budget *b, uint64_t i)
{
    if (b->last == 0 || i > b->last || b->last - i >= b->cfg.trailing) {
        return 0;
    }
    return b->sizes[i % b->cfg.trailing];
}

unsigned cons_budget_trailing(const struct cons_budget *b, uint64_t index)
{
    uint64_t sum = 0;
    unsigned t = 0;
    while (t < b->cfg.trailing && t < index) {
        uint64_t cost = cost_of(b, index - t);
        if (sum + cost > b->cfg.trailing_bytes) {
            break;
        }
        sum += cost;
        t++;
    }
    return t > 0 ? t : 1; /* 0 would mean "replace the whole log" */
}

void cons_budget_snapshot(struct cons_budget *b, struct raft *r)
{
    /* raft reads its trailing when it writes the snapshot and again when
     * it drops the log: this is the only place that changes it. */
    raft_set_snapshot_trailing(r,
                               cons_budget_trailing(b, raft_last_applied(r)));
    raft_set_snapshot_threshold(r, b->cfg.threshold);
    b->early = false;
    b->since = 0;
}

void cons_budget_restored(struct cons_budget *b, struct raft *r)
{
    raft_set_snapshot_threshold(r, b->cfg.threshold);
    b->early = false;
    b->last = 0;
    b->since = 0;
}
