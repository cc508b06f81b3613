/* Token-bucket arithmetic in fixed point: tokens in milli-units, refill in
 * milli-units per second, time in milliseconds. Exact: the fraction of a
 * milli-unit that a short interval earns is carried, not lost, so polling
 * a slow bucket often does not starve it. Every intermediate value fits in
 * int64 for the bounds of qm_limits.h (capacity and refill <= 10^15).
 * Pure functions: no state, no clock, thread-safe. */
#ifndef QM_STATEMACHINE_FSM_BUCKET_H
#define QM_STATEMACHINE_FSM_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

struct fsm_bucket
{
    int64_t capacity; /* milli-units, 1..QM_TOKENS_MAX */
    int64_t refill;   /* milli-units per second, 0..QM_REFILL_MAX */
    int64_t tokens;   /* 0..capacity */
    int64_t carry;    /* earned but not yet whole milli-unit, 0..999
                         (in milli-unit milliseconds per second) */
    int64_t last_ms;  /* time the bucket was last brought up to date */
};

/* Bring the bucket to time @now: add what the refill earned since last_ms,
 * up to capacity. A time at or before last_ms changes nothing (the clock
 * never runs backwards for a bucket). */
void fsm_bucket_advance(struct fsm_bucket *b, int64_t now);

/* Milliseconds from the bucket's last_ms until @n milli-units are there:
 * 0 when they already are, -1 when they never will be (no refill, or n is
 * above capacity). */
int64_t fsm_bucket_wait_ms(const struct fsm_bucket *b, int64_t n);

/* Take @n milli-units if the bucket holds them (after fsm_bucket_advance). */
bool fsm_bucket_take(struct fsm_bucket *b, int64_t n);

#endif
