/* Valid arguments for the host and agent operations of tp_msg_host.h, for
 * the catalogue tests and the state machine's tests. */
#ifndef QM_TESTS_TH_MSG_HOST_H
#define QM_TESTS_TH_MSG_HOST_H

#include <stdbool.h>

#include "tp_msg.h"

/* Fill @a (zeroed around the set fields) with valid arguments for @s when
 * @s is one of the host/agent argument schemas; false otherwise. */
bool th_host_valid_args(const struct qm_schema *s, union tp_args *a);

/* A registration of host @id with two services, web and db. */
void th_host_register_make(struct tp_host_register *r, const char *id);

#endif
