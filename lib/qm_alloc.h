/* Allocation: every allocation in quartermaster goes through here so that
 * tests can inject failures at each call site (dqlite heap.h). Library code
 * returns QM_ENOMEM on failure and never aborts. Thread-safe. */
#ifndef QM_LIB_QM_ALLOC_H
#define QM_LIB_QM_ALLOC_H

#include <stddef.h>

void *qm_malloc(size_t size);
void *qm_calloc(size_t n, size_t size);
void *qm_realloc(void *p, size_t size);
void qm_free(void *p);

/* Duplicate a string; NULL on allocation failure. */
char *qm_strdup(const char *s);

/* Tests: make the @nth allocation from now on (1 = the next one) and the
 * @count after it fail. qm_alloc_fail_reset() turns injection off. */
void qm_alloc_fail_after(int nth, int count);
void qm_alloc_fail_reset(void);

#endif
