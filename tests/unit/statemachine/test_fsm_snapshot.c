/* Unit tests of state machine snapshots: a consistent view serialised,
 * restored into another database, kept out when older, and refused when
 * corrupt without touching the database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "fsm.h"
#include "qm_alloc.h"
#include "qm_err.h"
#include "th_cmocka.h"
#include "th_fsm.h"
#include "th_log.h"
#include "th_msg.h"

/* ---- Fixture ---- */

#define T0 1700000000000LL
#define HDR_LEN 16 /* "QMSNAP01" and the be64 applied index */

/* A source replica with some state and a target replica. */
struct fx
{
    struct th_fsm *src;
    struct th_fsm *dst;
    void *snap;
    size_t len;
};

static int setup(void **state)
{
    th_log_capture();
    struct fx *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->src = th_fsm_new();
    fx->dst = th_fsm_new();
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    qm_free(fx->snap);
    th_fsm_free(fx->src);
    th_fsm_free(fx->dst);
    free(fx);
    th_log_release();
    return 0;
}

/* ---- Helpers ---- */

/* Pools, a member, sessions: one record of each database. */
static void fill(struct th_fsm *f, int64_t t)
{
    th_pool_create(f, t, 1, 1, "a", 1000, 10);
    th_pool_create(f, t, 1, 2, "b", 500, 0);
    th_acquire(f, t + 5, 2, 1, "a", 300, NULL);
    th_member_set(f, t + 6, 2, "10.0.0.2:7001", "tcp://10.0.0.2:7101", 0);
}

/* Take a snapshot of @f into fx->snap. */
static void take(struct fx *fx, struct th_fsm *f)
{
    qm_free(fx->snap);
    fx->snap = NULL;
    struct fsm_snap *s;
    assert_int_equal(fsm_snapshot_begin(f->f, &s), QM_OK);
    int rv = fsm_snapshot_write(s, &fx->snap, &fx->len);
    fsm_snapshot_end(s);
    assert_int_equal(rv, QM_OK);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

/* Offset of the @k-th record (0-based) of a snapshot. */
static size_t record_at(const uint8_t *p, size_t len, int k)
{
    size_t off = HDR_LEN;
    for (int i = 0; i < k; i++) {
        assert_true(off + 9 <= len);
        off += 9 + be32(p + off + 1) + be32(p + off + 5);
    }
    return off;
}

/* Offset just past the end tag of an intact snapshot: the checksum
 * follows, then the padding. */
static size_t end_of_records(const uint8_t *p, size_t len)
{
    size_t off = HDR_LEN;
    while (p[off] != 0xff) {
        assert_true(off + 9 <= len);
        off += 9 + be32(p + off + 1) + be32(p + off + 5);
    }
    return off + 1;
}

/* Recompute the checksum after editing a snapshot whose records end at
 * @end, so that only the structure is wrong. */
static void reseal(uint8_t *p, size_t end)
{
    uint64_t sum = XXH3_64bits(p, end);
    for (int i = 7; i >= 0; i--) {
        p[end + (size_t)i] = (uint8_t)sum;
        sum >>= 8;
    }
}

/* ---- Assertions ---- */

static void assert_same_state(struct th_fsm *a, struct th_fsm *b)
{
    char da[33], db[33];
    th_fsm_digest(a, da);
    th_fsm_digest(b, db);
    assert_string_equal(da, db);
    assert_int_equal(fsm_applied_index(a->f), fsm_applied_index(b->f));
    assert_int_equal(fsm_clock(a->f), fsm_clock(b->f));
}

/* Restoring @p refuses with QM_ECORRUPT and leaves @f as it was. */
static void assert_refused_unchanged(struct th_fsm *f,
                                     const void *p,
                                     size_t len)
{
    char before[33];
    th_fsm_digest(f, before);
    uint64_t applied = fsm_applied_index(f->f);
    int64_t clock = fsm_clock(f->f);
    void *copy = malloc(len == 0 ? 1 : len); /* exact size for ASan */
    assert_non_null(copy);
    memcpy(copy, p, len);
    assert_int_equal(fsm_restore(f->f, copy, len), QM_ECORRUPT);
    free(copy);
    char after[33];
    th_fsm_digest(f, after);
    assert_string_equal(after, before);
    assert_int_equal(fsm_applied_index(f->f), applied);
    assert_int_equal(fsm_clock(f->f), clock);
}

/* ---- Cases ---- */

static void test_fsm_snapshot_restore_into_fresh_fsm_gives_same_state(
    void **state)
{
    struct fx *fx = *state;
    fill(fx->src, T0);
    take(fx, fx->src);
    assert_int_equal(fsm_snapshot_index(fx->snap, fx->len),
                     fsm_applied_index(fx->src->f));
    assert_int_equal(fsm_restore(fx->dst->f, fx->snap, fx->len), QM_OK);
    assert_same_state(fx->src, fx->dst);
    assert_int_equal(fsm_next_deadline(fx->dst->f),
                     fsm_next_deadline(fx->src->f));
    struct tp_member m;
    assert_int_equal(fsm_member_get(fx->dst->f, 2, &m), QM_OK);
    assert_int_equal(th_pool_tokens(fx->dst, 0, "a"), 700);
}

static void test_fsm_snapshot_restored_replica_goes_on_like_the_source(
    void **state)
{
    struct fx *fx = *state;
    fill(fx->src, T0);
    take(fx, fx->src);
    assert_int_equal(fsm_restore(fx->dst->f, fx->snap, fx->len), QM_OK);
    fx->dst->index = fx->src->index;
    /* A retry answered from the restored session, then new work. */
    for (int k = 0; k < 2; k++) {
        struct th_fsm *f = k == 0 ? fx->src : fx->dst;
        th_acquire(f, T0 + 1000, 2, 1, "a", 300, NULL);
        th_acquire(f, T0 + 2000, 2, 2, "a", 50, NULL);
        th_pool_delete(f, T0 + 2000, 1, 3, "b");
    }
    assert_same_state(fx->src, fx->dst);
    /* 700 + 10/s over 1995 ms (19.95: 19 whole, the rest carried) - 50 */
    assert_int_equal(th_pool_tokens(fx->dst, 0, "a"), 669);
    /* And the restored state was committed: it survives a restart. */
    th_fsm_reopen(fx->dst);
    assert_same_state(fx->src, fx->dst);
}

static void test_fsm_snapshot_view_is_fixed_at_begin(void **state)
{
    struct fx *fx = *state;
    fill(fx->src, T0);
    char at_begin[33];
    th_fsm_digest(fx->src, at_begin);
    uint64_t index = fsm_applied_index(fx->src->f);
    struct fsm_snap *s;
    assert_int_equal(fsm_snapshot_begin(fx->src->f, &s), QM_OK);
    /* The loop goes on applying while the view is serialised. */
    th_pool_create(fx->src, T0 + 100, 0, 0, "later", 5, 0);
    th_acquire(fx->src, T0 + 100, 0, 0, "a", 1, NULL);
    assert_int_equal(fsm_flush(fx->src->f), QM_OK);
    int rv = fsm_snapshot_write(s, &fx->snap, &fx->len);
    fsm_snapshot_end(s);
    assert_int_equal(rv, QM_OK);
    assert_int_equal(fsm_snapshot_index(fx->snap, fx->len), index);
    assert_int_equal(fsm_restore(fx->dst->f, fx->snap, fx->len), QM_OK);
    char restored[33];
    th_fsm_digest(fx->dst, restored);
    assert_string_equal(restored, at_begin);
    struct tp_pool_info info;
    assert_int_equal(th_pool_get(fx->dst, 0, "later", &info), QM_NOT_FOUND);
}

static void test_fsm_snapshot_of_same_state_is_byte_identical(void **state)
{
    struct fx *fx = *state;
    fill(fx->src, T0);
    fill(fx->dst, T0);
    take(fx, fx->src);
    void *first = fx->snap;
    size_t first_len = fx->len;
    fx->snap = NULL;
    take(fx, fx->dst);
    assert_int_equal(fx->len, first_len);
    assert_memory_equal(fx->snap, first, first_len);
    qm_free(first);
}

static void test_fsm_restore_of_older_snapshot_keeps_the_database(void **state)
{
    struct fx *fx = *state;
    fill(fx->src, T0);
    take(fx, fx->src);
    /* dst is further along (its own history, a higher index). */
    fx->dst->index = fx->src->index + 10;
    th_pool_create(fx->dst, T0, 0, 0, "mine", 1, 0);
    char before[33];
    th_fsm_digest(fx->dst, before);
    uint64_t applied = fsm_applied_index(fx->dst->f);
    assert_int_equal(fsm_restore(fx->dst->f, fx->snap, fx->len), QM_OK);
    char after[33];
    th_fsm_digest(fx->dst, after);
    assert_string_equal(after, before);
    assert_int_equal(fsm_applied_index(fx->dst->f), applied);
    /* A snapshot at exactly the applied index is kept out too. */
    take(fx, fx->dst);
    assert_int_equal(fsm_restore(fx->dst->f, fx->snap, fx->len), QM_OK);
    th_fsm_digest(fx->dst, after);
    assert_string_equal(after, before);
}

static void test_fsm_restore_replaces_unflushed_newer_work(void **state)
{
    struct fx *fx = *state;
    fill(fx->src, T0);
    fx->src->index += 20;
    th_tick(fx->src, T0 + 50);
    take(fx, fx->src);
    /* dst has applied a few entries of its own, not yet committed. */
    th_pool_create(fx->dst, T0, 0, 0, "stale", 1, 0);
    assert_int_equal(fsm_restore(fx->dst->f, fx->snap, fx->len), QM_OK);
    assert_same_state(fx->src, fx->dst);
    struct tp_pool_info info;
    assert_int_equal(th_pool_get(fx->dst, 0, "stale", &info), QM_NOT_FOUND);
}

static void test_fsm_snapshot_is_padded_to_a_multiple_of_8(void **state)
{
    struct fx *fx = *state;
    /* Pool names of every length mod 8 move the end of the data around. */
    for (int k = 0; k < 8; k++) {
        char name[16];
        snprintf(name, sizeof(name), "%.*s", k + 1, "abcdefgh");
        th_pool_create(fx->src, T0, 0, 0, name, 10, 0);
        take(fx, fx->src);
        assert_int_equal(fx->len % 8, 0);
        size_t data = end_of_records(fx->snap, fx->len) + 8;
        assert_true(fx->len - data <= 7);
        for (size_t i = data; i < fx->len; i++) {
            assert_int_equal(((uint8_t *)fx->snap)[i], 0);
        }
    }
}

static void test_fsm_restore_rejects_every_truncation_of_the_data(void **state)
{
    struct fx *fx = *state;
    /* The snapshot is newer than dst, so accepting it would show. */
    fx->src->index = 10;
    th_pool_create(fx->src, T0, 0, 0, "a", 10, 0);
    take(fx, fx->src);
    th_pool_create(fx->dst, T0, 0, 0, "z", 20, 0);
    size_t data = end_of_records(fx->snap, fx->len) + 8;
    for (size_t len = 0; len < data; len++) {
        assert_int_equal(fsm_snapshot_index(fx->snap, len), 0);
        assert_refused_unchanged(fx->dst, fx->snap, len);
    }
    /* Cutting only padding leaves a whole snapshot. */
    for (size_t len = data; len <= fx->len; len++) {
        assert_int_equal(fsm_snapshot_index(fx->snap, len), 11);
    }
    assert_int_equal(fsm_restore(fx->dst->f, fx->snap, data), QM_OK);
    assert_same_state(fx->src, fx->dst);
}

static void test_fsm_restore_rejects_every_flipped_byte(void **state)
{
    struct fx *fx = *state;
    th_pool_create(fx->src, T0, 0, 0, "a", 10, 0);
    th_acquire(fx->src, T0, 1, 1, "a", 3, NULL);
    take(fx, fx->src);
    uint8_t *p = fx->snap;
    for (size_t i = 0; i < fx->len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            p[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(fsm_snapshot_index(p, fx->len), 0);
            assert_refused_unchanged(fx->dst, p, fx->len);
            p[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* Anything but padding after the checksum is refused too: a non-zero
     * byte, or more than 7 bytes of padding. */
    size_t data = end_of_records(p, fx->len) + 8;
    uint8_t *longer = calloc(1, data + 8);
    assert_non_null(longer);
    memcpy(longer, p, data);
    for (size_t pad = 0; pad <= 7; pad++) {
        assert_int_not_equal(fsm_snapshot_index(longer, data + pad), 0);
    }
    assert_refused_unchanged(fx->dst, longer, data + 8);
    longer[data] = 1;
    assert_refused_unchanged(fx->dst, longer, data + 1);
    free(longer);
    assert_int_equal(fsm_restore(fx->dst->f, fx->snap, fx->len), QM_OK);
}

static void test_fsm_restore_rejects_bad_magic_even_when_sealed(void **state)
{
    struct fx *fx = *state;
    th_pool_create(fx->src, T0, 0, 0, "a", 10, 0);
    take(fx, fx->src);
    uint8_t *p = fx->snap;
    size_t end = end_of_records(p, fx->len);
    p[7] = '2'; /* "QMSNAP02" */
    reseal(p, end);
    assert_refused_unchanged(fx->dst, p, fx->len);
    memcpy(p, "XXXXXXXX", 8);
    reseal(p, end);
    assert_refused_unchanged(fx->dst, p, fx->len);
}

static void test_fsm_restore_rejects_sealed_structural_damage(void **state)
{
    struct fx *fx = *state;
    fill(fx->src, T0);
    take(fx, fx->src);
    th_pool_create(fx->dst, T0, 0, 0, "z", 20, 0);
    uint8_t *orig = malloc(fx->len);
    assert_non_null(orig);
    memcpy(orig, fx->snap, fx->len);
    uint8_t *p = fx->snap;
    size_t len = fx->len;
    /* Records: meta "applied", "clock", "format" (db 0), member (db 1),
     * pools a, b (db 2), sessions ... */
    size_t end = end_of_records(p, len);
    size_t r0 = record_at(p, len, 0);
    size_t r3 = record_at(p, len, 3);
    size_t r4 = record_at(p, len, 4);
    size_t r5 = record_at(p, len, 5);
    assert_int_equal(p[r3], 1);
    assert_int_equal(p[r4], 2);
    assert_int_equal(p[r5], 2);

    /* 1. An unknown database tag. */
    p[r0] = 9;
    reseal(p, end);
    assert_refused_unchanged(fx->dst, p, len);
    memcpy(p, orig, len);
    /* 2. Databases out of order: a pool record among the meta records,
     * and the last expiry record (db 4) among the sessions (db 3), where
     * its key would sort last, so only the order check can tell. */
    p[r4] = 0;
    reseal(p, end);
    assert_refused_unchanged(fx->dst, p, len);
    memcpy(p, orig, len);
    size_t r9 = record_at(p, len, 9);
    assert_int_equal(p[r9], 4);
    assert_int_equal(record_at(p, len, 10), end - 1);
    p[r9] = 3;
    reseal(p, end);
    assert_refused_unchanged(fx->dst, p, len);
    memcpy(p, orig, len);
    /* 3. Keys out of order within a database: pool "b" renamed "A". */
    assert_int_equal(be32(p + r5 + 1), 1);
    p[r5 + 9] = 'A';
    reseal(p, end);
    assert_refused_unchanged(fx->dst, p, len);
    memcpy(p, orig, len);
    /* 4. The same key twice: "b" renamed "a". */
    p[r5 + 9] = 'a';
    reseal(p, end);
    assert_refused_unchanged(fx->dst, p, len);
    memcpy(p, orig, len);
    /* 5. A key length of zero, and one past the end. */
    p[r4 + 1] = p[r4 + 2] = p[r4 + 3] = p[r4 + 4] = 0;
    reseal(p, end);
    assert_refused_unchanged(fx->dst, p, len);
    memcpy(p, orig, len);
    p[r4 + 1] = 0x7f;
    reseal(p, end);
    assert_refused_unchanged(fx->dst, p, len);
    memcpy(p, orig, len);
    /* 6. A value length past the end. */
    p[r4 + 5] = 0x7f;
    reseal(p, end);
    assert_refused_unchanged(fx->dst, p, len);
    memcpy(p, orig, len);
    /* 7. A header index that is not the applied index it holds. */
    p[HDR_LEN - 1] ^= 0x40;
    reseal(p, end);
    assert_refused_unchanged(fx->dst, p, len);
    memcpy(p, orig, len);
    /* 8. No end tag: the last record runs into the checksum. */
    p[end - 1] = 0;
    reseal(p, end);
    assert_refused_unchanged(fx->dst, p, len);
    memcpy(p, orig, len);
    free(orig);
    /* Intact, it restores. */
    assert_int_equal(fsm_restore(fx->dst->f, p, len), QM_OK);
    assert_same_state(fx->src, fx->dst);
}

static void test_fsm_snapshot_index_reads_the_header(void **state)
{
    struct fx *fx = *state;
    fx->src->index = 41;
    th_pool_create(fx->src, T0, 0, 0, "a", 10, 0);
    take(fx, fx->src);
    assert_int_equal(fsm_snapshot_index(fx->snap, fx->len), 42);
    static const uint8_t junk[] = "QMSNAP01 but not a snapshot at all";
    assert_int_equal(fsm_snapshot_index(junk, sizeof(junk)), 0);
    assert_int_equal(fsm_snapshot_index(junk, 0), 0);
}

static void test_fsm_snapshot_of_empty_database_restores_nothing(void **state)
{
    struct fx *fx = *state;
    take(fx, fx->src);
    assert_int_equal(fsm_snapshot_index(fx->snap, fx->len), 0);
    /* Index 0 is never newer than anything: kept out. */
    th_pool_create(fx->dst, T0, 0, 0, "z", 20, 0);
    char before[33];
    th_fsm_digest(fx->dst, before);
    assert_int_equal(fsm_restore(fx->dst->f, fx->snap, fx->len), QM_OK);
    char after[33];
    th_fsm_digest(fx->dst, after);
    assert_string_equal(after, before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_fsm_snapshot_restore_into_fresh_fsm_gives_same_state),
        T(test_fsm_snapshot_restored_replica_goes_on_like_the_source),
        T(test_fsm_snapshot_view_is_fixed_at_begin),
        T(test_fsm_snapshot_of_same_state_is_byte_identical),
        T(test_fsm_restore_of_older_snapshot_keeps_the_database),
        T(test_fsm_restore_replaces_unflushed_newer_work),
        T(test_fsm_snapshot_is_padded_to_a_multiple_of_8),
        T(test_fsm_restore_rejects_every_truncation_of_the_data),
        T(test_fsm_restore_rejects_every_flipped_byte),
        T(test_fsm_restore_rejects_bad_magic_even_when_sealed),
        T(test_fsm_restore_rejects_sealed_structural_damage),
        T(test_fsm_snapshot_index_reads_the_header),
        T(test_fsm_snapshot_of_empty_database_restores_nothing),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
