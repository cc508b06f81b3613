/* Unit tests of lib/qm_codec: the schema-driven msgpack codec. */
#include <stdio.h>
#include <string.h>

#include "qm_codec.h"
#include "qm_err.h"
#include "qm_mp.h"
#include "th_cmocka.h"

/* ---- Fixture ---- */

/* A message with every kind of field. */
struct t_item
{
    uint64_t id;
    char tag[8];
};

static const struct qm_field item_fields[] = {
    QM_U64(struct t_item, 0, id, QM_FF_REQ, 1, 99),
    QM_STR(struct t_item, 1, tag, 0),
};
static QM_SCHEMA(item_schema, struct t_item, item_fields);

struct t_msg
{
    uint64_t count;
    int64_t delta;
    bool flag;
    char label[8];
    char name[16];
    char text[32];
    struct qm_span blob;
    struct qm_span any;
    uint32_t nitems;
    struct t_item items[3];
};

static const struct qm_field msg_fields[] = {
    QM_U64(struct t_msg, 0, count, QM_FF_REQ, 10, 1000),
    QM_I64(struct t_msg, 1, delta, 0, -50, 50),
    QM_BOOL(struct t_msg, 2, flag, 0),
    QM_STR(struct t_msg, 3, label, 0),
    QM_STR(struct t_msg, 4, name, QM_FF_NAME),
    QM_STR(struct t_msg, 5, text, QM_FF_TEXT),
    QM_BIN(struct t_msg, 6, blob, QM_FF_TEXT, 4),
    QM_RAW(struct t_msg, 7, any, 0),
    QM_LIST(struct t_msg, 8, items, nitems, item_schema, 0),
};
static QM_SCHEMA(msg_schema, struct t_msg, msg_fields);

/* Each case gets a growable buffer, closed at teardown. */
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
    return 0;
}

/* ---- Helpers ---- */

/* A message with every field set. @raw must outlive it. */
static void full_msg(struct t_msg *m)
{
    static const uint8_t raw[] = {0x92, 0xa1, 'x', 0xc3}; /* ["x", true] */
    memset(m, 0, sizeof(*m));
    m->count = 500;
    m->delta = -7;
    m->flag = true;
    snprintf(m->label, sizeof(m->label), "lbl");
    snprintf(m->name, sizeof(m->name), "a.b-c_1");
    snprintf(m->text, sizeof(m->text), "h\xc3\xa9llo\tw\xe2\x9c\x93");
    m->blob.p = (const uint8_t *)"ab";
    m->blob.n = 2;
    m->any.p = raw;
    m->any.n = sizeof(raw);
    m->nitems = 2;
    m->items[0].id = 1;
    snprintf(m->items[0].tag, sizeof(m->items[0].tag), "one");
    m->items[1].id = 99;
}

/* Encode {0: count, @key: <value written by @put>}: a minimal valid
 * message plus one field under test. */
typedef void (*put_fn)(struct qm_buf *b, const void *arg);

static void with_field(struct qm_buf *b,
                       uint64_t key,
                       put_fn put,
                       const void *arg)
{
    qm_buf_reset(b);
    qm_mpw_map(b, 2);
    qm_mpw_uint(b, 0);
    qm_mpw_uint(b, 10);
    qm_mpw_uint(b, key);
    put(b, arg);
    assert_int_equal(qm_buf_status(b), QM_OK);
}

static void put_str(struct qm_buf *b, const void *arg)
{
    qm_mpw_cstr(b, arg);
}

static void put_uint(struct qm_buf *b, const void *arg)
{
    qm_mpw_uint(b, *(const uint64_t *)arg);
}

static void put_int(struct qm_buf *b, const void *arg)
{
    qm_mpw_int(b, *(const int64_t *)arg);
}

static void put_bin(struct qm_buf *b, const void *arg)
{
    qm_mpw_bin(b, arg, strlen(arg));
}

static int decode(struct qm_buf *b, struct t_msg *m, char *err)
{
    err[0] = '\0';
    return qm_decode(&msg_schema, b->data, b->len, m, err);
}

/* ---- Assertions ---- */

/* Decoding fails and the reason names @what. */
static void assert_refused(struct qm_buf *b, const char *what)
{
    struct t_msg m;
    char err[QM_ERRMSG_SIZE];
    assert_int_equal(decode(b, &m, err), QM_EPROTO);
    if (strstr(err, what) == NULL) {
        fail_msg("reason '%s' does not mention '%s'", err, what);
    }
}

static void assert_accepted(struct qm_buf *b, struct t_msg *m)
{
    char err[QM_ERRMSG_SIZE];
    int rv = decode(b, m, err);
    if (rv != QM_OK) {
        fail_msg("refused: %s", err);
    }
}

static void assert_text_field(struct qm_buf *b, const char *s, bool ok)
{
    with_field(b, 5, put_str, s);
    struct t_msg m;
    char err[QM_ERRMSG_SIZE];
    int rv = decode(b, &m, err);
    if (ok && rv != QM_OK) {
        fail_msg("text field refused: %s", err);
    }
    if (!ok && rv == QM_OK) {
        fail_msg("text field accepted");
    }
    /* The same check applies to BIN fields marked QM_FF_TEXT, when the
     * value fits the BIN field. */
    if (strlen(s) <= 4) {
        with_field(b, 6, put_bin, s);
        assert_int_equal(decode(b, &m, err), ok ? QM_OK : QM_EPROTO);
    }
    assert_true(qm_valid_text(s, strlen(s)) == ok);
}

static void assert_name_field(struct qm_buf *b, const char *s, bool ok)
{
    with_field(b, 4, put_str, s);
    struct t_msg m;
    char err[QM_ERRMSG_SIZE];
    int rv = decode(b, &m, err);
    if (ok && rv != QM_OK) {
        fail_msg("name '%s' refused: %s", s, err);
    }
    if (!ok && rv == QM_OK) {
        fail_msg("name '%s' accepted", s);
    }
    if (ok) {
        assert_string_equal(m.name, s);
    }
    assert_true(qm_valid_name(s, strlen(s)) == ok);
}

/* ---- Cases ---- */

static void test_qm_codec_roundtrips_every_field_kind(void **state)
{
    struct qm_buf *b = *state;
    struct t_msg in;
    full_msg(&in);
    assert_int_equal(qm_encode(&msg_schema, &in, b), QM_OK);
    struct t_msg out;
    assert_accepted(b, &out);
    assert_int_equal(out.count, 500);
    assert_int_equal(out.delta, -7);
    assert_true(out.flag);
    assert_string_equal(out.label, "lbl");
    assert_string_equal(out.name, "a.b-c_1");
    assert_string_equal(out.text, in.text);
    assert_int_equal(out.blob.n, 2);
    assert_memory_equal(out.blob.p, "ab", 2);
    /* BIN and RAW point into the input. */
    assert_true(out.blob.p >= b->data && out.blob.p < b->data + b->len);
    assert_int_equal(out.any.n, in.any.n);
    assert_memory_equal(out.any.p, in.any.p, in.any.n);
    assert_true(out.any.p >= b->data && out.any.p < b->data + b->len);
    assert_int_equal(out.nitems, 2);
    assert_int_equal(out.items[0].id, 1);
    assert_string_equal(out.items[0].tag, "one");
    assert_int_equal(out.items[1].id, 99);
    assert_string_equal(out.items[1].tag, "");
}

static void test_qm_codec_reencoding_is_byte_identical(void **state)
{
    struct qm_buf *b = *state;
    struct t_msg in;
    full_msg(&in);
    assert_int_equal(qm_encode(&msg_schema, &in, b), QM_OK);
    struct t_msg out;
    assert_accepted(b, &out);
    struct qm_buf b2;
    qm_buf_init(&b2);
    assert_int_equal(qm_encode(&msg_schema, &out, &b2), QM_OK);
    assert_int_equal(b2.len, b->len);
    assert_memory_equal(b2.data, b->data, b->len);
    qm_buf_close(&b2);
}

static void test_qm_codec_omits_optional_zero_fields(void **state)
{
    struct qm_buf *b = *state;
    struct t_msg in;
    memset(&in, 0, sizeof(in));
    in.count = 10;
    assert_int_equal(qm_encode(&msg_schema, &in, b), QM_OK);
    static const uint8_t want[] = {0x81, 0x00, 0x0a};
    assert_int_equal(b->len, sizeof(want));
    assert_memory_equal(b->data, want, sizeof(want));
    struct t_msg out;
    assert_accepted(b, &out);
    assert_memory_equal(&out, &in, sizeof(in));
}

static void test_qm_codec_writes_fields_in_schema_order(void **state)
{
    struct qm_buf *b = *state;
    struct t_msg in;
    memset(&in, 0, sizeof(in));
    in.count = 10;
    in.flag = true;
    in.delta = -1;
    assert_int_equal(qm_encode(&msg_schema, &in, b), QM_OK);
    static const uint8_t want[] = {0x83, 0x00, 0x0a, 0x01, 0xff, 0x02, 0xc3};
    assert_int_equal(b->len, sizeof(want));
    assert_memory_equal(b->data, want, sizeof(want));
}

static void test_qm_codec_rejects_missing_required_field_by_name(void **state)
{
    struct qm_buf *b = *state;
    qm_mpw_map(b, 1);
    qm_mpw_uint(b, 2);
    qm_mpw_bool(b, true);
    assert_refused(b, "count");

    /* A required field of a list element is named too. */
    qm_buf_reset(b);
    qm_mpw_map(b, 2);
    qm_mpw_uint(b, 0);
    qm_mpw_uint(b, 10);
    qm_mpw_uint(b, 8);
    qm_mpw_array(b, 1);
    qm_mpw_map(b, 1);
    qm_mpw_uint(b, 1);
    qm_mpw_cstr(b, "t");
    assert_refused(b, "id: missing");
}

static void test_qm_codec_rejects_duplicate_key(void **state)
{
    struct qm_buf *b = *state;
    qm_mpw_map(b, 2);
    qm_mpw_uint(b, 0);
    qm_mpw_uint(b, 10);
    qm_mpw_uint(b, 0);
    qm_mpw_uint(b, 11);
    assert_refused(b, "count: duplicate");

    qm_buf_reset(b);
    qm_mpw_map(b, 3);
    qm_mpw_uint(b, 0);
    qm_mpw_uint(b, 10);
    qm_mpw_uint(b, 3);
    qm_mpw_cstr(b, "a");
    qm_mpw_uint(b, 3);
    qm_mpw_cstr(b, "a");
    assert_refused(b, "label: duplicate");
}

static void test_qm_codec_enforces_both_numeric_bounds(void **state)
{
    struct qm_buf *b = *state;
    struct t_msg m;
    static const uint64_t u_ok[] = {10, 1000};
    static const uint64_t u_bad[] = {0, 9, 1001, UINT64_MAX};
    for (size_t k = 0; k < 2; k++) {
        qm_buf_reset(b);
        qm_mpw_map(b, 1);
        qm_mpw_uint(b, 0);
        qm_mpw_uint(b, u_ok[k]);
        assert_accepted(b, &m);
        assert_int_equal(m.count, u_ok[k]);
    }
    for (size_t k = 0; k < 4; k++) {
        qm_buf_reset(b);
        qm_mpw_map(b, 1);
        qm_mpw_uint(b, 0);
        qm_mpw_uint(b, u_bad[k]);
        assert_refused(b, "count");
    }
    static const int64_t i_ok[] = {-50, 0, 50};
    static const int64_t i_bad[] = {INT64_MIN, -51, 51, INT64_MAX};
    for (size_t k = 0; k < 3; k++) {
        with_field(b, 1, put_int, &i_ok[k]);
        assert_accepted(b, &m);
        assert_int_equal(m.delta, i_ok[k]);
    }
    for (size_t k = 0; k < 4; k++) {
        with_field(b, 1, put_int, &i_bad[k]);
        assert_refused(b, "delta");
    }
    /* A uint64 above INT64_MAX is no int64; a negative is no uint64. */
    static const uint64_t huge = (uint64_t)INT64_MAX + 1;
    with_field(b, 1, put_uint, &huge);
    assert_refused(b, "delta");
    qm_buf_reset(b);
    qm_mpw_map(b, 1);
    qm_mpw_uint(b, 0);
    qm_mpw_int(b, -10);
    assert_refused(b, "count");
}

static void test_qm_codec_string_must_be_shorter_than_its_array(void **state)
{
    struct qm_buf *b = *state;
    struct t_msg m;
    with_field(b, 3, put_str, "1234567"); /* label is char[8] */
    assert_accepted(b, &m);
    assert_string_equal(m.label, "1234567");
    with_field(b, 3, put_str, "12345678");
    assert_refused(b, "label");
    /* A list element's string field too. */
    qm_buf_reset(b);
    qm_mpw_map(b, 2);
    qm_mpw_uint(b, 0);
    qm_mpw_uint(b, 10);
    qm_mpw_uint(b, 8);
    qm_mpw_array(b, 1);
    qm_mpw_map(b, 2);
    qm_mpw_uint(b, 0);
    qm_mpw_uint(b, 1);
    qm_mpw_uint(b, 1);
    qm_mpw_cstr(b, "12345678");
    assert_refused(b, "tag");
}

static void test_qm_codec_bin_longer_than_its_bound_is_refused(void **state)
{
    struct qm_buf *b = *state;
    struct t_msg m;
    with_field(b, 6, put_bin, "abcd");
    assert_accepted(b, &m);
    assert_int_equal(m.blob.n, 4);
    with_field(b, 6, put_bin, "abcde");
    assert_refused(b, "blob");
}

static void test_qm_codec_rejects_nul_inside_string(void **state)
{
    struct qm_buf *b = *state;
    qm_mpw_map(b, 2);
    qm_mpw_uint(b, 0);
    qm_mpw_uint(b, 10);
    qm_mpw_uint(b, 3);
    qm_mpw_str(b, "a\0b", 3);
    assert_refused(b, "label: contains a NUL");
}

static void test_qm_codec_name_flag_allows_only_the_name_charset(void **state)
{
    struct qm_buf *b = *state;
    assert_name_field(b, "a.b-c_1", true);
    assert_name_field(b, "A", true);
    assert_name_field(b, "...", true);
    assert_name_field(b, "123456789012345", true);
    assert_name_field(b, "a b", false);
    assert_name_field(b, "", false);
    assert_name_field(b, ".", false);
    assert_name_field(b, "..", false);
    assert_name_field(b, "\xc3\xa9", false); /* é */
    assert_name_field(b, "a/b", false);
    assert_name_field(b, "a:b", false);
    assert_name_field(b, "a\tb", false);
}

static void test_qm_codec_text_flag_accepts_printable_utf8(void **state)
{
    struct qm_buf *b = *state;
    assert_text_field(b, "", true);
    assert_text_field(b, "plain ascii ~", true);
    assert_text_field(b, "tab\there", true);
    assert_text_field(b, "\xc3\xa9", true);         /* U+00E9 */
    assert_text_field(b, "\xc2\xa0", true);         /* U+00A0 */
    assert_text_field(b, "\xe2\x9c\x93", true);     /* U+2713 */
    assert_text_field(b, "\xef\xbf\xbd", true);     /* U+FFFD */
    assert_text_field(b, "\xf0\x9d\x84\x9e", true); /* U+1D11E */
    assert_text_field(b, "\xf4\x8f\xbf\xbf", true); /* U+10FFFF */
}

static void test_qm_codec_text_flag_rejects_invalid_utf8(void **state)
{
    struct qm_buf *b = *state;
    assert_text_field(b, "\xc0\xaf", false);             /* overlong '/' */
    assert_text_field(b, "\xc1\xbf", false);             /* overlong */
    assert_text_field(b, "\xe0\x80\xaf", false);         /* overlong, 3 bytes */
    assert_text_field(b, "\xe0\x9f\xbf", false);         /* overlong U+07FF */
    assert_text_field(b, "\xf0\x80\x80\xaf", false);     /* overlong, 4 bytes */
    assert_text_field(b, "\xf0\x8f\xbf\xbf", false);     /* overlong U+FFFF */
    assert_text_field(b, "\xed\xa0\x80", false);         /* surrogate D800 */
    assert_text_field(b, "\xed\xbf\xbf", false);         /* surrogate DFFF */
    assert_text_field(b, "\xf4\x90\x80\x80", false);     /* above U+10FFFF */
    assert_text_field(b, "\xf8\x88\x80\x80\x80", false); /* 5 bytes */
    assert_text_field(b, "\xff", false);
    assert_text_field(b, "\x80", false);         /* lone continuation */
    assert_text_field(b, "\xe2\x82", false);     /* truncated */
    assert_text_field(b, "\xe2\x28\xa1", false); /* bad continuation */
}

static void test_qm_codec_text_flag_rejects_control_characters(void **state)
{
    struct qm_buf *b = *state;
    assert_text_field(b, "\x01", false);
    assert_text_field(b, "a\nb", false);
    assert_text_field(b, "a\rb", false);
    assert_text_field(b, "\x1b[2J", false);  /* ESC: terminal control */
    assert_text_field(b, "\x7f", false);     /* DEL */
    assert_text_field(b, "\xc2\x80", false); /* U+0080, C1 control */
    assert_text_field(b, "\xc2\x85", false); /* U+0085 NEL */
    assert_text_field(b, "\xc2\x9b", false); /* U+009B CSI */
    assert_text_field(b, "\xc2\x9f", false); /* U+009F */
}

static void test_qm_codec_skips_unknown_keys(void **state)
{
    struct qm_buf *b = *state;
    qm_mpw_map(b, 4);
    qm_mpw_uint(b, 99);
    qm_mpw_map(b, 1); /* a nested value under an unknown key */
    qm_mpw_cstr(b, "k");
    qm_mpw_array(b, 2);
    qm_mpw_nil(b);
    qm_mpw_bin(b, "xy", 2);
    qm_mpw_uint(b, 0);
    qm_mpw_uint(b, 12);
    qm_mpw_uint(b, UINT64_MAX);
    qm_mpw_int(b, -1);
    qm_mpw_uint(b, 3);
    qm_mpw_cstr(b, "after");
    struct t_msg m;
    assert_accepted(b, &m);
    assert_int_equal(m.count, 12);
    assert_string_equal(m.label, "after");
}

static void test_qm_codec_rejects_malformed_value_of_unknown_key(void **state)
{
    struct qm_buf *b = *state;
    /* The unknown key's value claims more bytes than there are. */
    static const uint8_t bad[] = {0x82, 0x00, 0x0a, 0x63, 0xdb,
                                  0x00, 0x00, 0x10, 0x00, 'x'};
    qm_buf_append(b, bad, sizeof(bad));
    assert_refused(b, "key 99");

    /* Or nests deeper than the reader allows. */
    qm_buf_reset(b);
    qm_mpw_map(b, 2);
    qm_mpw_uint(b, 0);
    qm_mpw_uint(b, 10);
    qm_mpw_uint(b, 99);
    for (int k = 0; k <= QM_MP_MAX_DEPTH; k++) {
        qm_mpw_array(b, 1);
    }
    qm_mpw_nil(b);
    assert_refused(b, "key 99");
}

static void test_qm_codec_rejects_wrong_types(void **state)
{
    struct qm_buf *b = *state;
    static const char *const names[] = {
        "count", "delta", "flag", "label", "name",
        "text",  "blob",  NULL,   "items",
    };
    for (uint64_t key = 0; key <= 8; key++) {
        if (names[key] == NULL) {
            continue; /* RAW takes any value */
        }
        qm_buf_reset(b);
        qm_mpw_map(b, key == 0 ? 1 : 2);
        if (key != 0) {
            qm_mpw_uint(b, 0);
            qm_mpw_uint(b, 10);
        }
        qm_mpw_uint(b, key);
        /* A string where a number is expected and vice versa. */
        if (key == 3 || key == 4 || key == 5) {
            qm_mpw_uint(b, 1);
        } else {
            qm_mpw_cstr(b, "1");
        }
        assert_refused(b, names[key]);
    }
    /* A list of non-maps. */
    qm_buf_reset(b);
    qm_mpw_map(b, 2);
    qm_mpw_uint(b, 0);
    qm_mpw_uint(b, 10);
    qm_mpw_uint(b, 8);
    qm_mpw_array(b, 1);
    qm_mpw_uint(b, 1);
    assert_refused(b, "expected a map");
    /* The message itself must be a map with unsigned keys. */
    qm_buf_reset(b);
    qm_mpw_array(b, 0);
    assert_refused(b, "expected a map");
    qm_buf_reset(b);
    qm_mpw_map(b, 1);
    qm_mpw_cstr(b, "0");
    qm_mpw_uint(b, 10);
    assert_refused(b, "keys");
    qm_buf_reset(b);
    qm_mpw_map(b, 1);
    qm_mpw_int(b, -1);
    qm_mpw_uint(b, 10);
    assert_refused(b, "keys");
}

static void test_qm_codec_rejects_list_longer_than_its_array(void **state)
{
    struct qm_buf *b = *state;
    qm_mpw_map(b, 2);
    qm_mpw_uint(b, 0);
    qm_mpw_uint(b, 10);
    qm_mpw_uint(b, 8);
    qm_mpw_array(b, 4);
    for (int k = 0; k < 4; k++) {
        qm_mpw_map(b, 1);
        qm_mpw_uint(b, 0);
        qm_mpw_uint(b, 1);
    }
    assert_refused(b, "items: more than 3");
}

static void test_qm_codec_rejects_trailing_bytes(void **state)
{
    struct qm_buf *b = *state;
    qm_mpw_map(b, 1);
    qm_mpw_uint(b, 0);
    qm_mpw_uint(b, 10);
    qm_mpw_nil(b);
    assert_refused(b, "trailing");
    /* qm_decode_r reads one map and leaves the rest. */
    struct qm_mpr r;
    qm_mpr_init(&r, b->data, b->len);
    struct t_msg m;
    char err[QM_ERRMSG_SIZE];
    assert_int_equal(qm_decode_r(&msg_schema, &r, &m, err), QM_OK);
    assert_int_equal(qm_mpr_left(&r), 1);
}

static void test_qm_codec_rejects_every_truncation(void **state)
{
    struct qm_buf *b = *state;
    struct t_msg in;
    full_msg(&in);
    assert_int_equal(qm_encode(&msg_schema, &in, b), QM_OK);
    for (size_t len = 0; len < b->len; len++) {
        uint8_t *cut = test_malloc(len == 0 ? 1 : len);
        memcpy(cut, b->data, len);
        struct t_msg m;
        char err[QM_ERRMSG_SIZE];
        assert_int_equal(qm_decode(&msg_schema, cut, len, &m, err), QM_EPROTO);
        test_free(cut);
    }
}

static void test_qm_codec_encode_reports_a_full_buffer(void **state)
{
    (void)state;
    struct t_msg in;
    full_msg(&in);
    uint8_t mem[16];
    struct qm_buf b;
    qm_buf_init_fixed(&b, mem, sizeof(mem));
    assert_int_equal(qm_encode(&msg_schema, &in, &b), QM_EFULL);
}

static void test_qm_codec_finds_fields_by_name(void **state)
{
    (void)state;
    const struct qm_field *f = qm_schema_field(&msg_schema, "blob");
    assert_non_null(f);
    assert_int_equal(f->key, 6);
    assert_int_equal(f->type, QM_FT_BIN);
    assert_int_equal(f->size, 4);
    f = qm_schema_field(&msg_schema, "items");
    assert_non_null(f);
    assert_int_equal(f->size, 3);
    assert_ptr_equal(f->elem, &item_schema);
    assert_null(qm_schema_field(&msg_schema, "nope"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup_buf, teardown_buf)
        T(test_qm_codec_roundtrips_every_field_kind),
        T(test_qm_codec_reencoding_is_byte_identical),
        T(test_qm_codec_omits_optional_zero_fields),
        T(test_qm_codec_writes_fields_in_schema_order),
        T(test_qm_codec_rejects_missing_required_field_by_name),
        T(test_qm_codec_rejects_duplicate_key),
        T(test_qm_codec_enforces_both_numeric_bounds),
        T(test_qm_codec_string_must_be_shorter_than_its_array),
        T(test_qm_codec_bin_longer_than_its_bound_is_refused),
        T(test_qm_codec_rejects_nul_inside_string),
        T(test_qm_codec_name_flag_allows_only_the_name_charset),
        T(test_qm_codec_text_flag_accepts_printable_utf8),
        T(test_qm_codec_text_flag_rejects_invalid_utf8),
        T(test_qm_codec_text_flag_rejects_control_characters),
        T(test_qm_codec_skips_unknown_keys),
        T(test_qm_codec_rejects_malformed_value_of_unknown_key),
        T(test_qm_codec_rejects_wrong_types),
        T(test_qm_codec_rejects_list_longer_than_its_array),
        T(test_qm_codec_rejects_trailing_bytes),
        T(test_qm_codec_rejects_every_truncation),
        T(test_qm_codec_encode_reports_a_full_buffer),
        T(test_qm_codec_finds_fields_by_name),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
