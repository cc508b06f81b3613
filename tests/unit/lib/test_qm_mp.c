/* Unit tests of lib/qm_mp: the bounded msgpack pull reader and the writer
 * over msgpack-c's packer. */
#include <string.h>

#include "qm_alloc.h"
#include "qm_err.h"
#include "qm_mp.h"
#include "th_cmocka.h"

/* ---- Fixture ---- */

/* A growable buffer per test, closed at teardown even when a case fails. */
static int setup_buf(void **state)
{
    struct qm_buf *b = test_malloc(sizeof(*b));
    qm_buf_init(b);
    *state = b;
    return 0;
}

static int teardown_buf(void **state)
{
    struct qm_buf *b = *state;
    qm_buf_close(b);
    test_free(b);
    qm_alloc_fail_reset();
    return 0;
}

/* ---- Helpers ---- */

/* One value of every kind the writer produces, with the widths that matter
 * (fix forms and each width of the length or value field). */
static void write_every_kind(struct qm_buf *b)
{
    static const uint8_t blob[3] = {0x00, 0xff, 0x7f};
    qm_mpw_nil(b);
    qm_mpw_bool(b, true);
    qm_mpw_bool(b, false);
    qm_mpw_uint(b, 5);
    qm_mpw_uint(b, 200);
    qm_mpw_uint(b, 60000);
    qm_mpw_uint(b, 4000000000u);
    qm_mpw_uint(b, UINT64_MAX);
    qm_mpw_int(b, -5);
    qm_mpw_int(b, -100);
    qm_mpw_int(b, -30000);
    qm_mpw_int(b, -2000000000);
    qm_mpw_int(b, INT64_MIN);
    qm_mpw_cstr(b, "hello");
    qm_mpw_bin(b, blob, sizeof(blob));
    qm_mpw_array(b, 2);
    qm_mpw_uint(b, 1);
    qm_mpw_cstr(b, "x");
    qm_mpw_map(b, 1);
    qm_mpw_uint(b, 7);
    qm_mpw_nil(b);
}

/* Read back what write_every_kind wrote; returns QM_OK or the first
 * error, leaving *r where the failing read left it. */
static int read_every_kind(struct qm_mpr *r)
{
    bool bo;
    uint64_t u;
    int64_t i;
    const char *s;
    const uint8_t *p;
    uint32_t n;
    static const uint64_t uints[] = {5, 200, 60000, 4000000000u, UINT64_MAX};
    static const int64_t ints[] = {-5, -100, -30000, -2000000000, INT64_MIN};
    if (qm_mpr_nil(r) != QM_OK || qm_mpr_bool(r, &bo) != QM_OK || !bo ||
        qm_mpr_bool(r, &bo) != QM_OK || bo) {
        return QM_EPROTO;
    }
    for (size_t k = 0; k < sizeof(uints) / sizeof(uints[0]); k++) {
        if (qm_mpr_uint(r, &u) != QM_OK || u != uints[k]) {
            return QM_EPROTO;
        }
    }
    for (size_t k = 0; k < sizeof(ints) / sizeof(ints[0]); k++) {
        if (qm_mpr_int(r, &i) != QM_OK || i != ints[k]) {
            return QM_EPROTO;
        }
    }
    if (qm_mpr_str(r, &s, &n) != QM_OK || n != 5 ||
        memcmp(s, "hello", 5) != 0) {
        return QM_EPROTO;
    }
    if (qm_mpr_bin(r, &p, &n) != QM_OK || n != 3 || p[1] != 0xff) {
        return QM_EPROTO;
    }
    if (qm_mpr_array(r, &n) != QM_OK || n != 2 || qm_mpr_uint(r, &u) != QM_OK ||
        u != 1 || qm_mpr_str(r, &s, &n) != QM_OK || n != 1) {
        return QM_EPROTO;
    }
    if (qm_mpr_map(r, &n) != QM_OK || n != 1 || qm_mpr_uint(r, &u) != QM_OK ||
        u != 7 || qm_mpr_nil(r) != QM_OK) {
        return QM_EPROTO;
    }
    return QM_OK;
}

/* Try every reader on @r; each must fail and leave the reader unmoved. */
static void assert_every_reader_refuses(struct qm_mpr *r)
{
    const uint8_t *at = r->p;
    uint64_t u;
    int64_t i;
    bool bo;
    const char *s;
    const uint8_t *p;
    uint32_t n;
    struct qm_span sp;
    assert_int_equal(qm_mpr_uint(r, &u), QM_EPROTO);
    assert_ptr_equal(r->p, at);
    assert_int_equal(qm_mpr_int(r, &i), QM_EPROTO);
    assert_ptr_equal(r->p, at);
    assert_int_equal(qm_mpr_bool(r, &bo), QM_EPROTO);
    assert_ptr_equal(r->p, at);
    assert_int_equal(qm_mpr_nil(r), QM_EPROTO);
    assert_ptr_equal(r->p, at);
    assert_int_equal(qm_mpr_str(r, &s, &n), QM_EPROTO);
    assert_ptr_equal(r->p, at);
    assert_int_equal(qm_mpr_bin(r, &p, &n), QM_EPROTO);
    assert_ptr_equal(r->p, at);
    assert_int_equal(qm_mpr_array(r, &n), QM_EPROTO);
    assert_ptr_equal(r->p, at);
    assert_int_equal(qm_mpr_map(r, &n), QM_EPROTO);
    assert_ptr_equal(r->p, at);
    assert_int_equal(qm_mpr_skip(r, QM_MP_MAX_DEPTH), QM_EPROTO);
    assert_ptr_equal(r->p, at);
    assert_int_equal(qm_mpr_raw(r, &sp), QM_EPROTO);
    assert_ptr_equal(r->p, at);
}

/* Write @depth nested one-element arrays around a 0. */
static void write_nested(struct qm_buf *b, int depth)
{
    for (int k = 0; k < depth; k++) {
        qm_mpw_array(b, 1);
    }
    qm_mpw_uint(b, 0);
}

/* ---- Assertions ---- */

/* @bytes hold exactly one valid value: skip and raw consume all of it. */
static void assert_one_value(const uint8_t *bytes, size_t n)
{
    struct qm_mpr r;
    qm_mpr_init(&r, bytes, n);
    assert_int_equal(qm_mpr_skip(&r, QM_MP_MAX_DEPTH), QM_OK);
    assert_int_equal(qm_mpr_left(&r), 0);
    qm_mpr_init(&r, bytes, n);
    struct qm_span sp;
    assert_int_equal(qm_mpr_raw(&r, &sp), QM_OK);
    assert_ptr_equal(sp.p, bytes);
    assert_int_equal(sp.n, n);
}

static void assert_uint_roundtrip(uint64_t v)
{
    uint8_t mem[16];
    struct qm_buf b;
    qm_buf_init_fixed(&b, mem, sizeof(mem));
    qm_mpw_uint(&b, v);
    assert_int_equal(qm_buf_status(&b), QM_OK);
    struct qm_mpr r;
    qm_mpr_init(&r, b.data, b.len);
    assert_int_equal(qm_mpr_peek(&r), QM_MP_UINT);
    uint64_t got = 0;
    assert_int_equal(qm_mpr_uint(&r, &got), QM_OK);
    assert_int_equal(got, v);
    assert_int_equal(qm_mpr_left(&r), 0);
}

static void assert_int_roundtrip(int64_t v)
{
    uint8_t mem[16];
    struct qm_buf b;
    qm_buf_init_fixed(&b, mem, sizeof(mem));
    qm_mpw_int(&b, v);
    assert_int_equal(qm_buf_status(&b), QM_OK);
    struct qm_mpr r;
    qm_mpr_init(&r, b.data, b.len);
    int64_t got = 0;
    assert_int_equal(qm_mpr_int(&r, &got), QM_OK);
    assert_true(got == v);
    assert_int_equal(qm_mpr_left(&r), 0);
    /* Non-negative values also read as unsigned. */
    if (v >= 0) {
        qm_mpr_init(&r, b.data, b.len);
        uint64_t u = 0;
        assert_int_equal(qm_mpr_uint(&r, &u), QM_OK);
        assert_int_equal(u, (uint64_t)v);
    }
}

/* ---- Cases ---- */

static void test_qm_mp_reads_back_every_kind_written(void **state)
{
    struct qm_buf *b = *state;
    write_every_kind(b);
    assert_int_equal(qm_buf_status(b), QM_OK);
    struct qm_mpr r;
    qm_mpr_init(&r, b->data, b->len);
    assert_int_equal(read_every_kind(&r), QM_OK);
    assert_int_equal(qm_mpr_left(&r), 0);
    assert_int_equal(qm_mpr_peek(&r), QM_MP_NONE);
}

static void test_qm_mp_uint_roundtrips_at_every_width_boundary(void **state)
{
    (void)state;
    static const uint64_t v[] = {0,          1,         127,
                                 128,        255,       256,
                                 65535,      65536,     4294967295u,
                                 4294967296, INT64_MAX, (uint64_t)INT64_MAX + 1,
                                 UINT64_MAX};
    for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
        assert_uint_roundtrip(v[k]);
    }
}

static void test_qm_mp_int_roundtrips_at_every_width_boundary(void **state)
{
    (void)state;
    static const int64_t v[] = {0,
                                1,
                                127,
                                128,
                                -1,
                                -32,
                                -33,
                                -128,
                                -129,
                                -32768,
                                -32769,
                                INT32_MIN,
                                (int64_t)INT32_MIN - 1,
                                INT64_MIN,
                                INT64_MAX};
    for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
        assert_int_roundtrip(v[k]);
    }
}

static void test_qm_mp_str_and_bin_roundtrip_at_every_length_width(void **state)
{
    struct qm_buf *b = *state;
    static const uint32_t lens[] = {0, 1, 31, 32, 255, 256, 65535, 65536};
    static uint8_t big[65536];
    for (size_t k = 0; k < sizeof(big); k++) {
        big[k] = (uint8_t)('a' + k % 26);
    }
    for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
        qm_buf_reset(b);
        qm_mpw_str(b, (const char *)big, lens[k]);
        qm_mpw_bin(b, big, lens[k]);
        assert_int_equal(qm_buf_status(b), QM_OK);
        struct qm_mpr r;
        qm_mpr_init(&r, b->data, b->len);
        assert_int_equal(qm_mpr_peek(&r), QM_MP_STR);
        const char *s;
        uint32_t n;
        assert_int_equal(qm_mpr_str(&r, &s, &n), QM_OK);
        assert_int_equal(n, lens[k]);
        if (n > 0) {
            assert_memory_equal(s, big, n);
        }
        assert_int_equal(qm_mpr_peek(&r), QM_MP_BIN);
        const uint8_t *p;
        assert_int_equal(qm_mpr_bin(&r, &p, &n), QM_OK);
        assert_int_equal(n, lens[k]);
        if (n > 0) {
            assert_memory_equal(p, big, n);
        }
        assert_int_equal(qm_mpr_left(&r), 0);
    }
}

static void test_qm_mp_containers_roundtrip_at_every_count_width(void **state)
{
    struct qm_buf *b = *state;
    static const uint32_t counts[] = {0, 15, 16, 65535, 65536};
    for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
        qm_buf_reset(b);
        qm_mpw_array(b, counts[k]);
        for (uint32_t i = 0; i < counts[k]; i++) {
            qm_mpw_nil(b);
        }
        qm_mpw_map(b, counts[k]);
        for (uint32_t i = 0; i < counts[k]; i++) {
            qm_mpw_uint(b, i);
            qm_mpw_bool(b, true);
        }
        assert_int_equal(qm_buf_status(b), QM_OK);
        struct qm_mpr r;
        qm_mpr_init(&r, b->data, b->len);
        uint32_t n = 0;
        assert_int_equal(qm_mpr_peek(&r), QM_MP_ARRAY);
        assert_int_equal(qm_mpr_array(&r, &n), QM_OK);
        assert_int_equal(n, counts[k]);
        for (uint32_t i = 0; i < n; i++) {
            assert_int_equal(qm_mpr_nil(&r), QM_OK);
        }
        assert_int_equal(qm_mpr_peek(&r), QM_MP_MAP);
        const uint8_t *map_at = r.p;
        assert_int_equal(qm_mpr_map(&r, &n), QM_OK);
        assert_int_equal(n, counts[k]);
        r.p = map_at;
        assert_int_equal(qm_mpr_skip(&r, 1), QM_OK);
        assert_int_equal(qm_mpr_left(&r), 0);
    }
}

static void test_qm_mp_peek_classifies_every_tag_byte(void **state)
{
    (void)state;
    for (unsigned t = 0; t <= 0xff; t++) {
        uint8_t byte = (uint8_t)t;
        struct qm_mpr r;
        qm_mpr_init(&r, &byte, 1);
        enum qm_mp_kind want;
        if (t <= 0x7f || (t >= 0xcc && t <= 0xcf)) {
            want = QM_MP_UINT;
        } else if (t <= 0x8f || t == 0xde || t == 0xdf) {
            want = QM_MP_MAP;
        } else if (t <= 0x9f || t == 0xdc || t == 0xdd) {
            want = QM_MP_ARRAY;
        } else if (t <= 0xbf || (t >= 0xd9 && t <= 0xdb)) {
            want = QM_MP_STR;
        } else if (t >= 0xe0 || (t >= 0xd0 && t <= 0xd3)) {
            want = QM_MP_INT;
        } else if (t == 0xc0) {
            want = QM_MP_NIL;
        } else if (t == 0xc2 || t == 0xc3) {
            want = QM_MP_BOOL;
        } else if (t >= 0xc4 && t <= 0xc6) {
            want = QM_MP_BIN;
        } else if (t == 0xca || t == 0xcb) {
            want = QM_MP_FLOAT;
        } else if (t == 0xc1) {
            want = QM_MP_NONE;
        } else {
            want = QM_MP_EXT; /* c7-c9, d4-d8 */
        }
        assert_int_equal(qm_mpr_peek(&r), want);
    }
    struct qm_mpr empty;
    qm_mpr_init(&empty, NULL, 0);
    assert_int_equal(qm_mpr_peek(&empty), QM_MP_NONE);
}

static void test_qm_mp_truncated_input_at_every_prefix_is_refused_in_place(
    void **state)
{
    struct qm_buf *b = *state;
    write_every_kind(b);
    size_t full = b->len;
    for (size_t len = 0; len < full; len++) {
        /* A copy of exactly @len bytes, so ASan sees any read past it. */
        uint8_t *cut = test_malloc(len == 0 ? 1 : len);
        memcpy(cut, b->data, len);
        struct qm_mpr r;
        qm_mpr_init(&r, cut, len);
        int rv = read_every_kind(&r);
        assert_int_equal(rv, QM_EPROTO);
        /* The failing read did not move the reader: whatever is left is a
         * strict prefix of one value, which every reader refuses. */
        assert_every_reader_refuses(&r);
        test_free(cut);
    }
}

static void test_qm_mp_truncated_single_values_are_refused_in_place(
    void **state)
{
    (void)state;
    /* Each value complete, then cut at every length. */
    static const struct
    {
        uint8_t b[12];
        size_t n;
    } vals[] = {
        {{0xcc, 0x80}, 2},
        {{0xcd, 0x01, 0x00}, 3},
        {{0xce, 0, 0, 1, 0}, 5},
        {{0xcf, 0, 0, 0, 0, 0, 0, 1, 0}, 9},
        {{0xd0, 0x80}, 2},
        {{0xd1, 0x80, 0x00}, 3},
        {{0xd2, 0x80, 0, 0, 0}, 5},
        {{0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}, 9},
        {{0xa3, 'a', 'b', 'c'}, 4},
        {{0xd9, 2, 'a', 'b'}, 4},
        {{0xda, 0, 2, 'a', 'b'}, 5},
        {{0xdb, 0, 0, 0, 2, 'a', 'b'}, 7},
        {{0xc4, 2, 1, 2}, 4},
        {{0xc5, 0, 2, 1, 2}, 5},
        {{0xc6, 0, 0, 0, 2, 1, 2}, 7},
        {{0x92, 0x01, 0x02}, 3},
        {{0xdc, 0, 2, 0x01, 0x02}, 5},
        {{0xdd, 0, 0, 0, 2, 0x01, 0x02}, 7},
        {{0x81, 0x01, 0x02}, 3},
        {{0xde, 0, 1, 0x01, 0x02}, 5},
        {{0xdf, 0, 0, 0, 1, 0x01, 0x02}, 7},
        {{0xca, 0, 0, 0, 0}, 5},
        {{0xcb, 0, 0, 0, 0, 0, 0, 0, 0}, 9},
        {{0xd4, 1, 0xaa}, 3},
        {{0xd5, 1, 0xaa, 0xbb}, 4},
        {{0xc7, 2, 1, 0xaa, 0xbb}, 5},
        {{0xc8, 0, 1, 1, 0xaa}, 5},
        {{0xc9, 0, 0, 0, 1, 1, 0xaa}, 7},
    };
    for (size_t k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
        assert_one_value(vals[k].b, vals[k].n);
        for (size_t len = 0; len < vals[k].n; len++) {
            uint8_t *cut = test_malloc(len == 0 ? 1 : len);
            memcpy(cut, vals[k].b, len);
            struct qm_mpr r;
            qm_mpr_init(&r, cut, len);
            assert_every_reader_refuses(&r);
            test_free(cut);
        }
    }
}

static void test_qm_mp_rejects_container_counts_beyond_the_input(void **state)
{
    (void)state;
    static const struct
    {
        uint8_t b[8];
        size_t n;
    } bad[] = {
        {{0xdd, 0xff, 0xff, 0xff, 0xff}, 5},       /* 4G elements, 0 bytes */
        {{0xdf, 0xff, 0xff, 0xff, 0xff}, 5},       /* 4G entries */
        {{0xdc, 0xff, 0xff, 0x00}, 4},             /* 65535 elements, 1 byte */
        {{0x92, 0x01}, 2},                         /* 2 elements, 1 byte */
        {{0x82, 0x01, 0x02, 0x03}, 4},             /* 2 entries, 3 bytes */
        {{0xde, 0x00, 0x02, 0x01, 0x02, 0x03}, 6}, /* same, map16 */
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        struct qm_mpr r;
        qm_mpr_init(&r, bad[k].b, bad[k].n);
        assert_every_reader_refuses(&r);
    }
    /* A count exactly matched by the bytes left is fine. */
    static const uint8_t ok[] = {0x82, 0x01, 0x02, 0x03, 0x04};
    struct qm_mpr r;
    qm_mpr_init(&r, ok, sizeof(ok));
    uint32_t n = 0;
    assert_int_equal(qm_mpr_map(&r, &n), QM_OK);
    assert_int_equal(n, 2);
}

static void test_qm_mp_rejects_str_and_bin_longer_than_the_input(void **state)
{
    (void)state;
    static const uint8_t str32[] = {0xdb, 0xff, 0xff, 0xff, 0xff, 'a'};
    static const uint8_t bin32[] = {0xc6, 0x80, 0x00, 0x00, 0x00, 1};
    static const uint8_t ext32[] = {0xc9, 0xff, 0xff, 0xff, 0xff, 1, 2};
    struct qm_mpr r;
    qm_mpr_init(&r, str32, sizeof(str32));
    assert_every_reader_refuses(&r);
    qm_mpr_init(&r, bin32, sizeof(bin32));
    assert_every_reader_refuses(&r);
    qm_mpr_init(&r, ext32, sizeof(ext32));
    assert_every_reader_refuses(&r);
}

static void test_qm_mp_rejects_nesting_deeper_than_max_depth(void **state)
{
    struct qm_buf *b = *state;
    write_nested(b, QM_MP_MAX_DEPTH);
    assert_one_value(b->data, b->len);

    qm_buf_reset(b);
    write_nested(b, QM_MP_MAX_DEPTH + 1);
    struct qm_mpr r;
    qm_mpr_init(&r, b->data, b->len);
    struct qm_span sp;
    assert_int_equal(qm_mpr_raw(&r, &sp), QM_EPROTO);
    assert_ptr_equal(r.p, b->data);
    assert_int_equal(qm_mpr_skip(&r, QM_MP_MAX_DEPTH), QM_EPROTO);
    assert_ptr_equal(r.p, b->data);

    /* Maps count as levels too, and skip honours its own limit. */
    qm_buf_reset(b);
    qm_mpw_map(b, 1);
    qm_mpw_uint(b, 1);
    qm_mpw_array(b, 0);
    qm_mpr_init(&r, b->data, b->len);
    assert_int_equal(qm_mpr_skip(&r, 1), QM_EPROTO);
    assert_int_equal(qm_mpr_skip(&r, 2), QM_OK);
    /* A scalar needs no level at all. */
    uint8_t one = 0x01;
    qm_mpr_init(&r, &one, 1);
    assert_int_equal(qm_mpr_skip(&r, 0), QM_OK);
}

static void test_qm_mp_int_rejects_uint64_above_int64_max(void **state)
{
    (void)state;
    static const uint8_t big[] = {0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t max[] = {0xcf, 0x7f, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff};
    struct qm_mpr r;
    int64_t i = 42;
    qm_mpr_init(&r, big, sizeof(big));
    assert_int_equal(qm_mpr_int(&r, &i), QM_EPROTO);
    assert_int_equal(i, 42); /* out-parameter untouched */
    assert_int_equal(qm_mpr_left(&r), sizeof(big));
    uint64_t u = 0;
    assert_int_equal(qm_mpr_uint(&r, &u), QM_OK);
    assert_int_equal(u, (uint64_t)INT64_MAX + 1);

    qm_mpr_init(&r, max, sizeof(max));
    assert_int_equal(qm_mpr_int(&r, &i), QM_OK);
    assert_true(i == INT64_MAX);
}

static void test_qm_mp_uint_rejects_negative_values(void **state)
{
    (void)state;
    static const struct
    {
        uint8_t b[9];
        size_t n;
    } neg[] = {
        {{0xff}, 1},                            /* -1 fixint */
        {{0xd0, 0xff}, 2},                      /* -1 int8 */
        {{0xd1, 0x80, 0x00}, 3},                /* int16 min */
        {{0xd2, 0xff, 0xff, 0xff, 0xfe}, 5},    /* -2 int32 */
        {{0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}, 9}, /* int64 min */
    };
    for (size_t k = 0; k < sizeof(neg) / sizeof(neg[0]); k++) {
        struct qm_mpr r;
        qm_mpr_init(&r, neg[k].b, neg[k].n);
        uint64_t u = 42;
        assert_int_equal(qm_mpr_uint(&r, &u), QM_EPROTO);
        assert_int_equal(u, 42);
        assert_int_equal(qm_mpr_left(&r), neg[k].n);
        int64_t i;
        assert_int_equal(qm_mpr_int(&r, &i), QM_OK);
        assert_true(i < 0);
    }
    /* A signed encoding of a non-negative value is an unsigned value. */
    static const uint8_t pos[] = {0xd1, 0x01, 0x00};
    struct qm_mpr r;
    qm_mpr_init(&r, pos, sizeof(pos));
    uint64_t u = 0;
    assert_int_equal(qm_mpr_uint(&r, &u), QM_OK);
    assert_int_equal(u, 256);
}

static void test_qm_mp_readers_refuse_other_kinds_in_place(void **state)
{
    struct qm_buf *b = *state;
    qm_mpw_cstr(b, "7");
    struct qm_mpr r;
    qm_mpr_init(&r, b->data, b->len);
    uint64_t u;
    int64_t i;
    bool bo;
    uint32_t n;
    const uint8_t *p;
    assert_int_equal(qm_mpr_uint(&r, &u), QM_EPROTO);
    assert_int_equal(qm_mpr_int(&r, &i), QM_EPROTO);
    assert_int_equal(qm_mpr_bool(&r, &bo), QM_EPROTO);
    assert_int_equal(qm_mpr_nil(&r), QM_EPROTO);
    assert_int_equal(qm_mpr_bin(&r, &p, &n), QM_EPROTO);
    assert_int_equal(qm_mpr_array(&r, &n), QM_EPROTO);
    assert_int_equal(qm_mpr_map(&r, &n), QM_EPROTO);
    assert_int_equal(qm_mpr_left(&r), b->len);

    qm_buf_reset(b);
    qm_mpw_bin(b, "7", 1);
    qm_mpr_init(&r, b->data, b->len);
    const char *s;
    assert_int_equal(qm_mpr_str(&r, &s, &n), QM_EPROTO);
    assert_int_equal(qm_mpr_left(&r), b->len);
}

static void test_qm_mp_skip_handles_float_and_ext(void **state)
{
    (void)state;
    static const uint8_t vals[] = {
        0xca, 0x3f, 0x80, 0x00, 0x00,                     /* float32 1.0 */
        0xcb, 0,    0,    0,    0,    0,  0,  0xf0, 0x3f, /* float64 */
        0xd4, 0x01, 0xaa,                                 /* fixext1 */
        0xd8, 0x01, 0,    1,    2,    3,  4,  5,    6,
        7,    8,                              /* fixext16 ... */
        9,    10,   11,   12,   13,   14, 15, /* ... 16 bytes */
        0xc7, 0x00, 0x05,                     /* ext8, empty */
        0xc0,
    };
    struct qm_mpr r;
    qm_mpr_init(&r, vals, sizeof(vals));
    assert_int_equal(qm_mpr_peek(&r), QM_MP_FLOAT);
    for (int k = 0; k < 5; k++) {
        assert_int_equal(qm_mpr_skip(&r, 0), QM_OK);
    }
    assert_int_equal(qm_mpr_nil(&r), QM_OK);
    assert_int_equal(qm_mpr_left(&r), 0);
    /* The never-used byte 0xc1 is no value. */
    static const uint8_t c1[] = {0xc1, 0x00};
    qm_mpr_init(&r, c1, sizeof(c1));
    assert_every_reader_refuses(&r);
}

static void test_qm_mp_raw_copies_a_value_verbatim(void **state)
{
    struct qm_buf *b = *state;
    write_every_kind(b);
    struct qm_mpr r;
    qm_mpr_init(&r, b->data, b->len);
    struct qm_buf copy;
    qm_buf_init(&copy);
    while (qm_mpr_left(&r) > 0) {
        struct qm_span sp;
        assert_int_equal(qm_mpr_raw(&r, &sp), QM_OK);
        qm_mpw_raw(&copy, sp);
    }
    assert_int_equal(qm_buf_status(&copy), QM_OK);
    assert_int_equal(copy.len, b->len);
    assert_memory_equal(copy.data, b->data, b->len);
    qm_buf_close(&copy);
}

static void test_qm_mp_fixed_buffer_reports_full_and_stays_full(void **state)
{
    (void)state;
    uint8_t mem[8];
    struct qm_buf b;
    qm_buf_init_fixed(&b, mem, sizeof(mem));
    qm_mpw_uint(&b, UINT64_MAX); /* 9 bytes: does not fit */
    assert_int_equal(qm_buf_status(&b), QM_EFULL);
    assert_int_equal(qm_buf_append(&b, "x", 1), QM_EFULL);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.data, mem);

    /* Exactly full is fine; one byte more is not, and sticks. */
    qm_buf_reset(&b);
    assert_int_equal(qm_buf_status(&b), QM_OK);
    assert_int_equal(qm_buf_append(&b, "12345678", 8), QM_OK);
    assert_int_equal(qm_buf_append(&b, "9", 1), QM_EFULL);
    qm_mpw_nil(&b);
    assert_int_equal(qm_buf_status(&b), QM_EFULL);
    assert_int_equal(b.len, 8);
    qm_buf_close(&b); /* never frees caller memory */
}

static void test_qm_mp_growable_buffer_grows(void **state)
{
    struct qm_buf *b = *state;
    for (uint32_t i = 0; i < 100000; i++) {
        qm_mpw_uint(b, i);
    }
    assert_int_equal(qm_buf_status(b), QM_OK);
    assert_true(b->cap >= b->len);
    struct qm_mpr r;
    qm_mpr_init(&r, b->data, b->len);
    for (uint32_t i = 0; i < 100000; i++) {
        uint64_t u;
        assert_int_equal(qm_mpr_uint(&r, &u), QM_OK);
        assert_int_equal(u, i);
    }
    size_t len = 0;
    size_t want = b->len;
    uint8_t *d = qm_buf_steal(b, &len);
    assert_int_equal(len, want);
    assert_non_null(d);
    assert_int_equal(b->len, 0);
    assert_null(b->data);
    qm_free(d);
}

static void test_qm_mp_growable_buffer_reports_enomem(void **state)
{
    struct qm_buf *b = *state;
    qm_alloc_fail_after(1, 1);
    assert_int_equal(qm_buf_append(b, "x", 1), QM_ENOMEM);
    qm_alloc_fail_reset();
    qm_mpw_nil(b);
    assert_int_equal(qm_buf_status(b), QM_ENOMEM);
    /* Reset clears the error; the buffer works again. */
    qm_buf_reset(b);
    qm_mpw_nil(b);
    assert_int_equal(qm_buf_status(b), QM_OK);
    assert_int_equal(b->len, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup_buf, teardown_buf)
        T(test_qm_mp_reads_back_every_kind_written),
        T(test_qm_mp_uint_roundtrips_at_every_width_boundary),
        T(test_qm_mp_int_roundtrips_at_every_width_boundary),
        T(test_qm_mp_str_and_bin_roundtrip_at_every_length_width),
        T(test_qm_mp_containers_roundtrip_at_every_count_width),
        T(test_qm_mp_peek_classifies_every_tag_byte),
        T(test_qm_mp_truncated_input_at_every_prefix_is_refused_in_place),
        T(test_qm_mp_truncated_single_values_are_refused_in_place),
        T(test_qm_mp_rejects_container_counts_beyond_the_input),
        T(test_qm_mp_rejects_str_and_bin_longer_than_the_input),
        T(test_qm_mp_rejects_nesting_deeper_than_max_depth),
        T(test_qm_mp_int_rejects_uint64_above_int64_max),
        T(test_qm_mp_uint_rejects_negative_values),
        T(test_qm_mp_readers_refuse_other_kinds_in_place),
        T(test_qm_mp_skip_handles_float_and_ext),
        T(test_qm_mp_raw_copies_a_value_verbatim),
        T(test_qm_mp_fixed_buffer_reports_full_and_stays_full),
        T(test_qm_mp_growable_buffer_grows),
        T(test_qm_mp_growable_buffer_reports_enomem),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
