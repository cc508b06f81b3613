/* Helpers shared by the typed functions of qm_api.c, qm_api_ledger.c,
 * qm_api_queue.c and qm_api_host.c: reads of one item and of a page, argument
 * checks that fill the caller's qm_result, as the server would, and conversions
 * between public and wire structs. Not part of the installed API. Thread-safe.
 */
#ifndef QM_LIB_QM_API_INTERNAL_H
#define QM_LIB_QM_API_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qm.h"
#include "qm_call.h"

#define QM__COPY_STR(dst, src) snprintf((dst), sizeof(dst), "%s", (src))

/* Fill @res (may be NULL) for an outcome decided here, before any
 * request, and return @status. */
int qm__fail_local(struct qm_result *res, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copy the name @src into @dst, refusing (QM_INVALID, with @what in
 * res->message) what the protocol would refuse: a name must be 1..64 of
 * [A-Za-z0-9._-]. With @optional, NULL or "" is accepted as "none" and
 * leaves @dst empty. */
int qm__name_arg(char dst[QM_NAME_MAX + 1],
                 const char *src,
                 bool optional,
                 const char *what,
                 struct qm_result *res);

/* The qm__call flags of a read. */
unsigned qm__read_flags(bool stale);

/* A page of a list, allocated (QM_ENOMEM in @res when it cannot be);
 * free it with qm_free(). */
void *qm__page_alloc(size_t size, struct qm_result *res);

/* How many of a page's @count items go to a caller's array of @max: sets
 * *n to that and *more to whether items are left after them. */
unsigned qm__page_take(unsigned count,
                       bool page_more,
                       unsigned max,
                       unsigned *n,
                       bool *more);

/* The limit to ask a server for, for a caller's array of @max. */
uint64_t qm__page_limit(unsigned max);

/* Converts one wire item @in to its public form @out (both borrowed). */
typedef void (*qm__item_out_fn)(const void *in, void *out);

/* A read whose answer is a page: a LIST of items first and a BOOL "more",
 * as every page of tp_msg.h and tp_msg_host.h is. */
struct qm__list_call
{
    uint32_t op;
    const struct qm_schema *args_schema;
    const void *args; /* borrowed for the call */
    unsigned flags;   /* qm__call flags */
    const struct qm_schema *page_schema;
    qm__item_out_fn out;
    size_t out_size; /* of one public item */
};

/* Run @l, with the page decoded on the heap, and convert up to @max of its
 * items into @out (an array of @max items of l->out_size): *n and *more as
 * qm__page_take() sets them, written on QM_OK only. Returns the call's
 * status (QM_ENOMEM in @res when the page cannot be allocated). */
int qm__list_run(struct qm_client *c,
                 const struct qm__list_call *l,
                 void *out,
                 unsigned max,
                 unsigned *n,
                 bool *more,
                 struct qm_result *res);

/* qm__list_run() of a list whose arguments are a tp_list_args (pools,
 * clients, hosts): the page after the name @after (NULL or "": from the
 * start), read stale when @stale. @l gives the op, page schema, converter
 * and item size; its args and flags are set here. QM_INVALID in @res for
 * a malformed @after. */
int qm__list_after(struct qm_client *c,
                   struct qm__list_call l,
                   const char *after,
                   bool stale,
                   void *out,
                   unsigned max,
                   unsigned *n,
                   bool *more,
                   struct qm_result *res);

/* A read of one item, its body decoded on the heap (records of kilobytes)
 * and converted into @out by @fn on QM_OK. Returns the call's status
 * (QM_ENOMEM in @res when the body cannot be allocated). */
int qm__get_run(struct qm_client *c,
                uint32_t op,
                const struct qm_schema *args_schema,
                const void *args,
                bool stale,
                const struct qm_schema *body_schema,
                qm__item_out_fn fn,
                void *out,
                struct qm_result *res);

/* @n amounts (@min..QM_RES_POOLS_MAX, pool names checked) into their wire
 * form; QM_INVALID in @res otherwise. */
int qm__amounts_in(struct tp_amount *out,
                   uint32_t *nout,
                   const struct qm_amount *in,
                   unsigned n,
                   unsigned min,
                   struct qm_result *res);

/* @n wire amounts into @out; returns @n. */
unsigned qm__amounts_out(struct qm_amount *out,
                         const struct tp_amount *in,
                         uint32_t n);

/* A call answered with a tp_charge (commit, release, queue complete):
 * *cost (may be NULL) is written on QM_OK. */
int qm__charge_call(struct qm_client *c,
                    uint32_t op,
                    const struct qm_schema *schema,
                    const void *args,
                    int64_t *cost,
                    struct qm_result *res);

/* The qm__decoded_cb of a call answered with a tp_charge, for callers'
 * qm_commit_cb. */
void qm__charge_done(qm__fn fn,
                     void *arg,
                     const struct qm_result *res,
                     const void *body);

#endif
