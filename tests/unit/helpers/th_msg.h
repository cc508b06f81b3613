/* Builders of encoded messages for tests: commands (tp_cmd_encode around
 * arguments encoded by qm_encode), requests, raft entries
 * (fsm_entry_encode), and a decoder of results (tp_result_schema, then
 * the body schema). Failures fail the running cmocka test. */
#ifndef QM_TESTS_UNIT_HELPERS_TH_MSG_H
#define QM_TESTS_UNIT_HELPERS_TH_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "qm_codec.h"
#include "qm_mp.h"
#include "tp_msg.h"

#define TH_CMD_MAX 2048

/* One encoded command, held inline so arrays of them need no cleanup. */
struct th_cmd
{
    uint8_t data[TH_CMD_MAX];
    size_t len;
};

/* Encode @args with @schema (NULL: a command without arguments) and wrap
 * them in a command for @op. */
void th_cmd_make(struct th_cmd *c,
                 uint32_t op,
                 uint64_t session,
                 uint64_t seq,
                 const struct qm_schema *schema,
                 const void *args);

/* A command made of caller-provided bytes (malformed commands). */
void th_cmd_bytes(struct th_cmd *c, const void *p, size_t n);

struct qm_span th_cmd_span(const struct th_cmd *c);

/* Append a request around @c to @b (a buffer the caller owns). */
void th_request_make(struct qm_buf *b,
                     uint64_t id,
                     const char *cred,
                     uint64_t flags,
                     const struct th_cmd *c);

/* Append a raft entry of @n commands stamped @time_ms to @b. */
void th_entry_make(struct qm_buf *b,
                   int64_t time_ms,
                   const struct th_cmd *cmds,
                   uint32_t n);

/* Decode an encoded result into @r and, when @body_schema is set and the
 * result has a body, the body into @body (zeroed when there is none).
 * Returns the status. */
int th_result_decode(struct qm_span raw,
                     struct tp_result *r,
                     const struct qm_schema *body_schema,
                     void *body);

#endif
