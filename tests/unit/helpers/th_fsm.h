/* A state machine on a temporary folder, driven only with encoded raft
 * entries at increasing indexes (2, 3, ...: index 1 is raft's bootstrap
 * configuration), as the consensus glue drives it. Reads go through
 * fsm_query with requests decoded by tp_request_decode, as a node serves
 * them. Failures fail the running cmocka test. */
#ifndef QM_TESTS_UNIT_HELPERS_TH_FSM_H
#define QM_TESTS_UNIT_HELPERS_TH_FSM_H

#include <stddef.h>
#include <stdint.h>

#include "fsm.h"
#include "th_msg.h"
#include "th_tmpdir.h"
#include "tp_msg.h"

/* Room for any result a test reads back: a lease carries a payload of up
 * to QM_PAYLOAD_MAX (64 KiB), a page of requests a hundred records. */
#define TH_RES_MAX (128 * 1024)

struct th_fsm
{
    char dir[TH_PATH_MAX];
    struct fsm_config cfg;
    struct fsm *f;
    uint64_t index;           /* last index given to fsm_apply */
    struct fsm_results res;   /* of the last apply (borrowed from f) */
    uint8_t last[TH_RES_MAX]; /* copy of the last result th_fsm_do or
                                 th_fsm_query decoded */
    size_t last_len;
};

/* Heap fixture on a new folder with the default configuration. */
struct th_fsm *th_fsm_new(void);
/* fsm_close, remove the folder, free the fixture. */
void th_fsm_free(struct th_fsm *fx);

/* Close and open again on the same folder (fsm_close commits). */
void th_fsm_reopen(struct th_fsm *fx);
/* Reopen with these session settings (0 = default). */
void th_fsm_configure(struct th_fsm *fx,
                      int64_t session_ttl_ms,
                      uint32_t max_sessions);

/* Apply an entry of @n commands stamped @time_ms at the next index;
 * asserts QM_OK and returns the results (valid until the next call). */
const struct fsm_results *th_fsm_apply(struct th_fsm *fx,
                                       int64_t time_ms,
                                       const struct th_cmd *cmds,
                                       uint32_t n);
/* Apply raw entry bytes at the next index; asserts QM_OK. */
const struct fsm_results *th_fsm_apply_raw(struct th_fsm *fx,
                                           const void *p,
                                           size_t n);

/* One command in an entry of its own. Decodes the result into @body
 * (when @body_schema is set), keeps a copy of its bytes in fx->last and
 * returns the status. */
int th_fsm_do(struct th_fsm *fx,
              int64_t time_ms,
              uint32_t op,
              uint64_t session,
              uint64_t seq,
              const struct qm_schema *args_schema,
              const void *args,
              const struct qm_schema *body_schema,
              void *body);

/* th_fsm_do for a command of any size (th_cmd holds TH_CMD_MAX bytes):
 * a queue submit with a large payload, say. */
int th_fsm_do_large(struct th_fsm *fx,
                    int64_t time_ms,
                    uint32_t op,
                    uint64_t session,
                    uint64_t seq,
                    const struct qm_schema *args_schema,
                    const void *args,
                    const struct qm_schema *body_schema,
                    void *body);

/* A read served with fsm_query at @now_ms; same result handling. */
int th_fsm_query(struct th_fsm *fx,
                 int64_t now_ms,
                 uint32_t op,
                 const struct qm_schema *args_schema,
                 const void *args,
                 const struct qm_schema *body_schema,
                 void *body);

/* Shortcuts over the two above. Session 0 means a sessionless command. */
int th_pool_create(struct th_fsm *fx,
                   int64_t time_ms,
                   uint64_t session,
                   uint64_t seq,
                   const char *name,
                   int64_t capacity,
                   int64_t refill);
int th_pool_delete(struct th_fsm *fx,
                   int64_t time_ms,
                   uint64_t session,
                   uint64_t seq,
                   const char *name);
int th_acquire(struct th_fsm *fx,
               int64_t time_ms,
               uint64_t session,
               uint64_t seq,
               const char *pool,
               int64_t amount,
               struct tp_acquire_result *out);
int th_tick(struct th_fsm *fx, int64_t time_ms);
int th_pool_get(struct th_fsm *fx,
                int64_t now_ms,
                const char *name,
                struct tp_pool_info *out);
/* Tokens of @name at @now_ms; fails the test if the pool is missing. */
int64_t th_pool_tokens(struct th_fsm *fx, int64_t now_ms, const char *name);

/* Arguments of POOL_CREATE, zero-filled around the fields. */
void th_pool_create_args(struct tp_pool_create *a,
                         const char *name,
                         int64_t capacity,
                         int64_t refill,
                         int64_t price);
/* POOL_LIST through fsm_query. */
int th_pool_list(struct th_fsm *fx,
                 const char *after,
                 uint64_t limit,
                 struct tp_pool_page *page);
/* MEMBER_SET and MEMBER_DEL, as the leader proposes them (no session). */
int th_member_set(struct th_fsm *fx,
                  int64_t time_ms,
                  uint64_t id,
                  const char *raft_addr,
                  const char *api_url,
                  uint64_t role);
int th_member_del(struct th_fsm *fx, int64_t time_ms, uint64_t id);

/* fsm_digest, asserting success. */
void th_fsm_digest(struct th_fsm *fx, char hex[33]);

/* The digest is @want. */
void th_assert_digest(struct th_fsm *fx, const char *want);
/* The message of the result in fx->last mentions @what. */
void th_assert_message(struct th_fsm *fx, const char *what);
/* @res holds @n results with these statuses, in order. */
void th_assert_statuses(const struct fsm_results *res,
                        const int *want,
                        uint32_t n);

#endif
