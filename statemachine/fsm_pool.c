#include "fsm_pool.h"

#include <stdio.h>
#include <string.h>

#include "fsm_bucket.h"
#include "qm_err.h"

static const struct qm_field share_fields[] = {
    QM_U64(struct fsm_share, 0, tier, 0, 0, TP_TIERS),
    QM_STR(struct fsm_share, 1, client, QM_FF_NAME),
    QM_I64(struct fsm_share, 2, capacity, QM_FF_REQ, 1, QM_TOKENS_MAX),
    QM_I64(struct fsm_share, 3, tokens, 0, 0, QM_TOKENS_MAX),
    QM_I64(struct fsm_share, 4, carry, 0, 0, 999),
};
static QM_SCHEMA(share_schema, struct fsm_share, share_fields);

static const struct qm_field pool_fields[] = {
    QM_I64(struct fsm_pool, 0, capacity, QM_FF_REQ, 1, QM_TOKENS_MAX),
    QM_I64(struct fsm_pool, 1, refill, 0, 0, QM_REFILL_MAX),
    QM_I64(struct fsm_pool, 2, price, 0, 0, QM_PRICE_MAX),
    QM_U64(struct fsm_pool, 3, kind, 0, 0, TP_KIND_DEDICATED),
    QM_STR(struct fsm_pool, 4, owner, QM_FF_NAME),
    QM_I64(struct fsm_pool, 5, tokens, 0, 0, QM_TOKENS_MAX),
    QM_I64(struct fsm_pool, 6, carry, 0, 0, 999),
    QM_I64(struct fsm_pool, 7, last_ms, 0, 0, QM_TIME_MAX),
    QM_I64(struct fsm_pool, 8, created_ms, 0, 0, QM_TIME_MAX),
    QM_LIST(struct fsm_pool, 9, shares, nshares, share_schema, 0),
};
static QM_SCHEMA(pool_schema, struct fsm_pool, pool_fields);

int fsm__pool_load(struct fsm_ctx *c, const char *name, struct fsm_pool *p)
{
    /* The decoder checked the name already; a key LMDB refuses would stop
     * every replica, so check again where the key is made. */
    size_t n = strlen(name);
    if (!qm_valid_name(name, n)) {
        return QM_INVALID;
    }
    return fsm__get_rec(c, FSM_DB_POOLS, name, n, &pool_schema, p);
}

int fsm__pool_store(struct fsm_ctx *c,
                    const char *name,
                    const struct fsm_pool *p)
{
    return fsm__put_rec(c, FSM_DB_POOLS, name, strlen(name), &pool_schema, p);
}

/* Part @i: a share (0..nshares-1) or the unreserved part (-1). */
#define UNRESERVED (-1)

static int64_t share_refill(const struct fsm_pool *p, int i)
{
    /* refill * cap / capacity, without overflow: both are <= 10^15 */
    __extension__ typedef __int128 i128;
    return (int64_t)((i128)p->refill * p->shares[i].capacity / p->capacity);
}

static void part(const struct fsm_pool *p, int i, struct fsm_bucket *b)
{
    b->last_ms = p->last_ms;
    if (i >= 0) {
        b->capacity = p->shares[i].capacity;
        b->refill = share_refill(p, i);
        b->tokens = p->shares[i].tokens;
        b->carry = p->shares[i].carry;
        return;
    }
    b->capacity = p->capacity;
    b->refill = p->refill;
    for (uint32_t k = 0; k < p->nshares; k++) {
        b->capacity -= p->shares[k].capacity;
        b->refill -= share_refill(p, (int)k);
    }
    b->tokens = p->tokens;
    b->carry = p->carry;
}

static void set_part(struct fsm_pool *p, int i, const struct fsm_bucket *b)
{
    if (i >= 0) {
        p->shares[i].tokens = b->tokens;
        p->shares[i].carry = b->carry;
    } else {
        p->tokens = b->tokens;
        p->carry = b->carry;
    }
}

void fsm_pool_advance(struct fsm_pool *p, int64_t now)
{
    if (now <= p->last_ms) {
        return;
    }
    for (int i = UNRESERVED; i < (int)p->nshares; i++) {
        struct fsm_bucket b;
        part(p, i, &b);
        fsm_bucket_advance(&b, now);
        set_part(p, i, &b);
    }
    p->last_ms = now;
}

bool fsm_pool_allowed(const struct fsm_pool *p, const struct fsm_who *who)
{
    return p->kind != TP_KIND_DEDICATED ||
           (who->client[0] != '\0' && strcmp(who->client, p->owner) == 0);
}

/* The parts @who reaches, in the order it takes from them. */
static int parts_of(const struct fsm_pool *p,
                    const struct fsm_who *who,
                    int out[3])
{
    int n = 0;
    if (!fsm_pool_allowed(p, who)) {
        return 0;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t k = 0; k < p->nshares; k++) {
            const struct fsm_share *s = &p->shares[k];
            bool mine = pass == 0 ? s->tier == 0 && who->client[0] != '\0' &&
                                        strcmp(s->client, who->client) == 0
                                  : s->tier != 0 && s->tier == who->tier;
            if (mine) {
                out[n++] = (int)k;
                break;
            }
        }
    }
    out[n++] = UNRESERVED;
    return n;
}

int64_t fsm_pool_available(const struct fsm_pool *p, const struct fsm_who *who)
{
    int idx[3];
    int n = parts_of(p, who, idx);
    int64_t sum = 0;
    for (int k = 0; k < n; k++) {
        struct fsm_bucket b;
        part(p, idx[k], &b);
        sum += b.tokens;
    }
    return sum;
}

int64_t fsm_pool_reach(const struct fsm_pool *p, const struct fsm_who *who)
{
    int idx[3];
    int n = parts_of(p, who, idx);
    int64_t sum = 0;
    for (int k = 0; k < n; k++) {
        struct fsm_bucket b;
        part(p, idx[k], &b);
        sum += b.capacity;
    }
    return sum;
}

bool fsm_pool_take(struct fsm_pool *p, const struct fsm_who *who, int64_t n)
{
    if (n < 0 || fsm_pool_available(p, who) < n) {
        return false;
    }
    int idx[3];
    int np = parts_of(p, who, idx);
    for (int k = 0; k < np && n > 0; k++) {
        struct fsm_bucket b;
        part(p, idx[k], &b);
        int64_t t = b.tokens < n ? b.tokens : n;
        b.tokens -= t;
        n -= t;
        set_part(p, idx[k], &b);
    }
    return true;
}

void fsm_pool_give(struct fsm_pool *p, const struct fsm_who *who, int64_t n)
{
    int idx[3];
    int np = parts_of(p, who, idx);
    for (int k = 0; k < np && n > 0; k++) {
        struct fsm_bucket b;
        part(p, idx[k], &b);
        int64_t room = b.capacity - b.tokens;
        int64_t t = room < n ? room : n;
        b.tokens += t;
        n -= t;
        if (b.tokens == b.capacity) {
            b.carry = 0;
        }
        set_part(p, idx[k], &b);
    }
}

/* Tokens the parts @idx of @p hold @t ms after its last_ms. */
static int64_t held_after(const struct fsm_pool *p,
                          const int *idx,
                          int np,
                          int64_t t)
{
    int64_t sum = 0;
    for (int k = 0; k < np; k++) {
        struct fsm_bucket b;
        part(p, idx[k], &b);
        fsm_bucket_advance(&b, p->last_ms + t);
        sum += b.tokens;
    }
    return sum;
}

int64_t fsm_pool_wait_ms(const struct fsm_pool *p,
                         const struct fsm_who *who,
                         int64_t n)
{
    if (n > fsm_pool_reach(p, who)) {
        return -1;
    }
    /* Each part refills at its own rate and stops when full, so adding
     * up their rates is wrong as soon as one is full. What the parts hold
     * together never decreases with time: search for the first
     * millisecond it reaches @n, before the time every refilling part is
     * full (<= 10^18 ms: no overflow when added to last_ms). */
    int idx[3];
    int np = parts_of(p, who, idx);
    int64_t hi = 0;
    for (int k = 0; k < np; k++) {
        struct fsm_bucket b;
        part(p, idx[k], &b);
        int64_t full = fsm_bucket_wait_ms(&b, b.capacity);
        hi = full > hi ? full : hi;
    }
    if (held_after(p, idx, np, 0) >= n) {
        return 0;
    }
    if (held_after(p, idx, np, hi) < n) {
        return -1;
    }
    int64_t lo = 0; /* held_after(lo) < n <= held_after(hi) */
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (held_after(p, idx, np, mid) >= n) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    return hi;
}

int64_t fsm_pool_total(const struct fsm_pool *p)
{
    int64_t sum = p->tokens;
    for (uint32_t k = 0; k < p->nshares; k++) {
        sum += p->shares[k].tokens;
    }
    return sum;
}

/* Refuse @amount from @name for @who when the pool cannot give it now.
 * Returns true (with @res set) when refused. */
bool fsm_pool_refuse(const char *name,
                     const struct fsm_pool *p,
                     const struct fsm_who *who,
                     int64_t amount,
                     struct fsm_res *res)
{
    if (!fsm_pool_allowed(p, who)) {
        fsm__res_fail(res, QM_DENIED, "pool '%s' is dedicated to client '%s'",
                      name, p->owner);
        return true;
    }
    if (amount > fsm_pool_reach(p, who)) {
        fsm__res_fail(res, QM_INVALID,
                      "pool '%s' can give at most %lld.%03lld units here; "
                      "asked for %lld.%03lld",
                      name, (long long)(fsm_pool_reach(p, who) / 1000),
                      (long long)(fsm_pool_reach(p, who) % 1000),
                      (long long)(amount / 1000), (long long)(amount % 1000));
        return true;
    }
    if (fsm_pool_available(p, who) >= amount) {
        return false;
    }
    int64_t wait = fsm_pool_wait_ms(p, who, amount);
    if (wait < 0) {
        fsm__res_fail(res, QM_DENIED,
                      "pool '%s' has too few tokens and no refill", name);
    } else {
        fsm__res_fail(res, QM_DENIED, "pool '%s' has too few tokens", name);
        res->retry_after_ms = wait;
    }
    return true;
}

/* Raise pool_low when a pool falls below 10% of its capacity. */
int fsm__pool_low_alert(struct fsm_ctx *c,
                        const char *name,
                        const struct fsm_pool *p)
{
    int64_t total = fsm_pool_total(p);
    if (total * 10 >= p->capacity) {
        return QM_OK;
    }
    char subject[QM_SUBJECT_MAX + 1];
    snprintf(subject, sizeof(subject), "pool/%s", name);
    return fsm__alert(c, "pool_low", subject, "warning",
                      "pool '%s' holds %lld.%03lld of %lld.%03lld units", name,
                      (long long)(total / 1000), (long long)(total % 1000),
                      (long long)(p->capacity / 1000),
                      (long long)(p->capacity % 1000));
}

void fsm_pool_info(const char *name,
                   const struct fsm_pool *p,
                   struct tp_pool_info *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "%s", name);
    out->capacity = p->capacity;
    out->refill = p->refill;
    out->price = p->price;
    out->kind = p->kind;
    out->tokens = p->tokens;
    out->created_ms = p->created_ms;
    snprintf(out->owner, sizeof(out->owner), "%s", p->owner);
    out->nshares = p->nshares;
    for (uint32_t k = 0; k < p->nshares; k++) {
        out->shares[k].tier = p->shares[k].tier;
        snprintf(out->shares[k].client, sizeof(out->shares[k].client), "%s",
                 p->shares[k].client);
        out->shares[k].amount = p->shares[k].capacity;
        out->shares[k].tokens = p->shares[k].tokens;
    }
}
