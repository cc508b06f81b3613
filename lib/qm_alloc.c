#include "qm_alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Failure injection state: countdown to the first failing call, then the
 * number of calls that fail. Zero countdown means injection is off. */
static atomic_int fail_countdown;
static atomic_int fail_remaining;

static int should_fail(void)
{
    if (atomic_load_explicit(&fail_countdown, memory_order_relaxed) == 0) {
        return 0;
    }
    if (atomic_fetch_sub(&fail_countdown, 1) != 1) {
        return 0;
    }
    if (atomic_fetch_sub(&fail_remaining, 1) > 1) {
        atomic_store(&fail_countdown, 1); /* fail the next call too */
    }
    return 1;
}

void qm_alloc_fail_after(int nth, int count)
{
    atomic_store(&fail_remaining, count);
    atomic_store(&fail_countdown, nth);
}

void qm_alloc_fail_reset(void)
{
    atomic_store(&fail_countdown, 0);
    atomic_store(&fail_remaining, 0);
}

void *qm_malloc(size_t size)
{
    if (should_fail()) {
        return NULL;
    }
    return malloc(size == 0 ? 1 : size);
}

void *qm_calloc(size_t n, size_t size)
{
    if (should_fail()) {
        return NULL;
    }
    return calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);
}

void *qm_realloc(void *p, size_t size)
{
    if (should_fail()) {
        return NULL;
    }
    return realloc(p, size == 0 ? 1 : size);
}

void qm_free(void *p)
{
    free(p);
}

char *qm_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = qm_malloc(n);
    if (d != NULL) {
        memcpy(d, s, n);
    }
    return d;
}
