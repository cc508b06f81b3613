#include "th_rng.h"

void th_rng_seed(struct th_rng *r, uint64_t seed)
{
    r->s = seed != 0 ? seed : 0x9e3779b97f4a7c15ull;
}

uint64_t th_rng_next(struct th_rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545f4914f6cdd1dull;
}

uint64_t th_rng_below(struct th_rng *r, uint64_t n)
{
    return th_rng_next(r) % n;
}
