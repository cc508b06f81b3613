/* A fixed-seed xorshift64* generator for random-input tests: the same seed
 * gives the same sequence on every run and machine. */
#ifndef QM_TESTS_UNIT_HELPERS_TH_RNG_H
#define QM_TESTS_UNIT_HELPERS_TH_RNG_H

#include <stdint.h>

struct th_rng
{
    uint64_t s;
};

/* Any seed works (0 is replaced by a fixed non-zero value). */
void th_rng_seed(struct th_rng *r, uint64_t seed);
uint64_t th_rng_next(struct th_rng *r);
/* Uniform-enough value in 0..n-1; @n > 0. */
uint64_t th_rng_below(struct th_rng *r, uint64_t n);

#endif
