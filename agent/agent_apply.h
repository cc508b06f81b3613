/* Applying the ledger's allocations to the services of this host: each
 * allocation (tp_alloc, fields as the ledger holds them) becomes an
 * agent_alloc and is enforced on the service's processes of the latest
 * sample (agent_enforce.h). A service's outcome is kept as a note for the
 * reports (what could not be applied), and an "apply" action is recorded
 * in the cluster whenever the outcome changes (not on every re-apply).
 *
 * Not thread-safe: the agent's loop owns it. */
#ifndef QM_AGENT_AGENT_APPLY_H
#define QM_AGENT_AGENT_APPLY_H

#include <stdint.h>

#include "agent_collect.h"
#include "agent_config.h"
#include "agent_scale.h"
#include "tp_msg.h"

struct agent_apply;

/* @cfg is borrowed and must outlive the object; @cgroup_root is the
 * cgroup v2 mount (copied; "" when the host has none). */
int agent_apply_new(struct agent_apply **out,
                    const struct agent_config *cfg,
                    const char *cgroup_root);
void agent_apply_free(struct agent_apply *a);

/* The host's allocations changed: @n of them. Fills @want (instances per
 * configured service, -1 where none is asked for). */
void agent_apply_set(struct agent_apply *a,
                     const struct tp_alloc *allocs,
                     unsigned n,
                     int64_t *want);

/* Enforce every allocation on @smp's processes; outcomes into @notes (one
 * per service of @smp), changes to @emit. */
void agent_apply_run(struct agent_apply *a,
                     const struct agent_sample *smp,
                     char (*notes)[QM_NOTE_MAX + 1],
                     agent_action_fn emit,
                     void *arg);

#endif
