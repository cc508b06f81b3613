/* Scaling: keep as many instances of a service running as its allocation
 * asks for ("instances"), by running the start and stop commands of the
 * agent's own configuration, never a command from the network. An
 * instance is a matched process (not a descendant of one). One action per
 * service at a time, at most one per scale_cooldown; each action's result
 * becomes an action record in the cluster.
 *
 * Not thread-safe: the agent's loop owns it. */
#ifndef QM_AGENT_AGENT_SCALE_H
#define QM_AGENT_AGENT_SCALE_H

#include <stdint.h>

#include "agent_collect.h"
#include "agent_config.h"
#include "tp_msg.h"

/* An action's record (borrowed for the call). */
typedef void (*agent_action_fn)(void *arg, const struct tp_action *a);

struct agent_scale;

/* @cfg is borrowed and must outlive the object. QM_OK or QM_ENOMEM. */
int agent_scale_new(struct agent_scale **out, const struct agent_config *cfg);

/* Stop waiting for running commands (they are killed) and free. Started
 * instances keep running. */
void agent_scale_free(struct agent_scale *s);

/* One step at @now_ms (monotonic): @want[i] is the instances wanted for
 * configured service i (-1: not managed); @smp the latest sample, whose
 * first services are the configured ones in order. */
void agent_scale_tick(struct agent_scale *s,
                      const struct agent_sample *smp,
                      const int64_t *want,
                      int64_t now_ms,
                      agent_action_fn emit,
                      void *arg);

/* Instances of service @i in @smp. */
int32_t agent_scale_instances(const struct agent_sample *smp, uint32_t i);

#endif
