/* Shortcuts for hosts and their agents over th_fsm: registration,
 * allocations, actions, agent alerts and credits. Writes go through
 * th_fsm_do (one command per entry, stamped with the cluster time @t),
 * reads through th_fsm_query. Each returns the status and decodes the body
 * into @out when @out is not NULL; the result stays in fx->last for
 * th_assert_message. Commands are sessionless unless they take a session,
 * so a refused one leaves no trace (exact "nothing changed" digests).
 * Failures fail the running cmocka test. Pages are caller-owned and large:
 * allocate them. */
#ifndef QM_TESTS_UNIT_HELPERS_TH_HOST_H
#define QM_TESTS_UNIT_HELPERS_TH_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "th_fsm.h"
#include "tp_msg.h"

/* ---- hosts ---- */

int th_host_register(struct th_fsm *fx,
                     int64_t t,
                     const struct tp_host_register *r,
                     struct tp_report_ack *out);
/* Register @id as th_host_register_make makes it (services web, db). */
int th_host_add(struct th_fsm *fx, int64_t t, const char *id);
/* A registration of @id with every field at its largest: labels, API URL,
 * QM_HOST_SERVICES_MAX services with the longest names and match specs. */
void th_host_register_max(struct tp_host_register *r, const char *id);
int th_host_get(struct th_fsm *fx, const char *id, struct tp_host_info *out);
int th_host_list(struct th_fsm *fx,
                 const char *after,
                 uint64_t limit,
                 struct tp_host_page *page);
int th_host_delete(struct th_fsm *fx, int64_t t, const char *id);
/* The alloc_version fsm_host_alloc_version reports; asserts QM_OK. */
uint64_t th_host_version(struct th_fsm *fx, const char *id);

/* ---- allocations ---- */

/* ALLOC_SET arguments for @host/@service with nothing set (zero-filled). */
void th_alloc_args(struct tp_alloc *al, const char *host, const char *service);
int th_alloc_set(struct th_fsm *fx, int64_t t, const struct tp_alloc *al);
/* Set only nice = @nice on @host/@service. */
int th_alloc_nice(struct th_fsm *fx,
                  int64_t t,
                  const char *host,
                  const char *service,
                  int64_t nice);
int th_alloc_get(struct th_fsm *fx,
                 const char *host,
                 const char *service,
                 struct tp_alloc *out);
int th_alloc_list(struct th_fsm *fx,
                  const char *host,
                  const char *after,
                  uint64_t limit,
                  struct tp_alloc_page *page);

/* ---- actions and agent alerts ---- */

int th_action_record(struct th_fsm *fx,
                     int64_t t,
                     const char *host,
                     const char *service,
                     const char *action,
                     struct tp_action *out);
int th_action_list(struct th_fsm *fx,
                   const char *host,
                   uint64_t after,
                   uint64_t limit,
                   struct tp_action_page *page);
int th_alert_raise(struct th_fsm *fx,
                   int64_t t,
                   const char *kind,
                   const char *subject,
                   const char *topic,
                   const char *severity,
                   const char *message);

/* ---- credits ---- */

void th_credit_args(struct tp_credit_grant *g,
                    const char *host,
                    const char *pool,
                    int64_t amount,
                    int64_t min,
                    int64_t ttl_ms);
/* CREDIT_GRANT in session @session (0: none) with sequence @seq. */
int th_credit_grant(struct th_fsm *fx,
                    int64_t t,
                    uint64_t session,
                    uint64_t seq,
                    const struct tp_credit_grant *g,
                    struct tp_credit *out);
/* Sessionless grant of @amount down to @min for @ttl_ms (0: default). */
int th_credit_take(struct th_fsm *fx,
                   int64_t t,
                   const char *host,
                   const char *pool,
                   int64_t amount,
                   int64_t min,
                   int64_t ttl_ms,
                   struct tp_credit *out);
/* @returned may be NULL. */
int th_credit_return(struct th_fsm *fx,
                     int64_t t,
                     uint64_t id,
                     int64_t unused,
                     int64_t *returned);
int th_credit_list(struct th_fsm *fx,
                   const char *host,
                   uint64_t after,
                   uint64_t limit,
                   struct tp_credit_page *page);

/* ---- pages as text ---- */

/* A page read into @page (caller-owned; NULL: a static one) and told as
 * its keys joined by ',', with '+' appended when there are more:
 * "h00,h01+". The text is static, valid until the next call of the same
 * function. */
const char *th_host_ids(struct th_fsm *fx,
                        const char *after,
                        uint64_t limit,
                        struct tp_host_page *page);
const char *th_alloc_services(struct th_fsm *fx,
                              const char *host,
                              const char *after,
                              uint64_t limit,
                              struct tp_alloc_page *page);
const char *th_action_ids(struct th_fsm *fx,
                          const char *host,
                          uint64_t after,
                          uint64_t limit,
                          struct tp_action_page *page);
const char *th_credit_ids(struct th_fsm *fx,
                          const char *host,
                          uint64_t after,
                          uint64_t limit,
                          struct tp_credit_page *page);

/* ---- batches ---- */

/* Make command @i of a batch into @c. */
typedef void (*th_make_fn)(void *arg, int i, struct th_cmd *c);

/* Apply @n commands made by @make in entries of 64 (the most th_entry_make
 * takes), all stamped @t, and assert that each succeeded (status QM_OK). */
void th_apply_each(struct th_fsm *fx,
                   int64_t t,
                   int n,
                   th_make_fn make,
                   void *arg);

/* th_make_fn: register host "n%05d" of @i (th_host_register_make). */
void th_host_register_cmd(void *arg, int i, struct th_cmd *c);
/* th_make_fn: record action "apply" of host @arg (a string) with the
 * message "#" @i + 1. */
void th_action_cmd(void *arg, int i, struct th_cmd *c);

/* ---- results ---- */

/* @got is @status, the message of the result in fx->last mentions @what
 * (unless NULL), and the digest is still @before: a refusal changed
 * nothing. */
void th_assert_refused(struct th_fsm *fx,
                       int got,
                       int status,
                       const char *what,
                       const char *before);

/* The retry_after_ms of the result in fx->last. */
int64_t th_last_retry_after(struct th_fsm *fx);

#endif
