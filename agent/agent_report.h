/* The agent's messages to the cluster built from its samples: the host's
 * registration (labels, capacity, watched services) and the report of one
 * sample, cut into parts of QM_REPORT_SERVICES_MAX services. Pure
 * conversions; any thread. */
#ifndef QM_AGENT_AGENT_REPORT_H
#define QM_AGENT_AGENT_REPORT_H

#include <stdint.h>

#include "agent_collect.h"
#include "agent_config.h"
#include "tp_msg.h"

/* Parts a report can take. */
#define AGENT_REPORT_PARTS_MAX \
    ((AGENT_SERVICES_MAX + QM_REPORT_SERVICES_MAX - 1) / QM_REPORT_SERVICES_MAX)

/* The registration of this host: @svcs are the @n watched services (the
 * configured ones and the agent itself); capacity from @smp. */
void agent_report_register(const struct agent_config *cfg,
                           const struct agent_service_spec *svcs,
                           unsigned n,
                           const struct agent_sample *smp,
                           struct tp_host_register *out);

/* The report of @smp as sample number @seq taken at wall-clock @at_ms,
 * with each service's @notes and @enforce texts (one per service of
 * @smp). Returns the number of parts written to @parts. */
unsigned agent_report_build(const char *host,
                            const struct agent_sample *smp,
                            uint64_t seq,
                            int64_t at_ms,
                            char (*notes)[QM_NOTE_MAX + 1],
                            char (*enforce)[QM_NOTE_MAX + 1],
                            struct tp_report *parts);

#endif
