#include "fsm_bucket.h"

/* ceil(a / b) for a >= 0, b > 0 */
static int64_t div_ceil(int64_t a, int64_t b)
{
    return a / b + (a % b != 0);
}

void fsm_bucket_advance(struct fsm_bucket *b, int64_t now)
{
    if (now <= b->last_ms) {
        return;
    }
    int64_t elapsed = now - b->last_ms;
    b->last_ms = now;
    if (b->refill <= 0 || b->tokens >= b->capacity) {
        b->carry = 0;
        return;
    }
    /* Work in milli-unit milliseconds per second (1/1000 of a milli-unit):
     * room <= 10^15 * 1000 = 10^18 < INT64_MAX. */
    int64_t room = (b->capacity - b->tokens) * 1000 - b->carry;
    if (elapsed >= div_ceil(room, b->refill)) {
        b->tokens = b->capacity;
        b->carry = 0;
        return;
    }
    /* Here refill * elapsed < room <= 10^18: no overflow. */
    int64_t earned = b->refill * elapsed + b->carry;
    b->tokens += earned / 1000;
    b->carry = earned % 1000;
}

int64_t fsm_bucket_wait_ms(const struct fsm_bucket *b, int64_t n)
{
    if (n > b->capacity) {
        return -1;
    }
    if (b->tokens >= n) {
        return 0;
    }
    if (b->refill <= 0) {
        return -1;
    }
    int64_t deficit = (n - b->tokens) * 1000 - b->carry;
    return deficit <= 0 ? 0 : div_ceil(deficit, b->refill);
}

bool fsm_bucket_take(struct fsm_bucket *b, int64_t n)
{
    if (n < 0 || b->tokens < n) {
        return false;
    }
    b->tokens -= n;
    return true;
}
