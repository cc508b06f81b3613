/* Helpers shared by the typed functions of qm_api.c and qm_api_ledger.c:
 * argument checks that fill the caller's qm_result, as the server would.
 * Not part of the installed API. Pure, thread-safe. */
#ifndef QM_LIB_QM_API_INTERNAL_H
#define QM_LIB_QM_API_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qm.h"

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

#endif
