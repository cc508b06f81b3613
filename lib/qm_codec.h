/* Schema-driven msgpack codec: a message is a C struct plus a const table
 * of fields, and one encoder and one decoder serve every message (the
 * schema-as-data idea of dqlite's COMMAND__FRAMES). On the wire a message is
 * a msgpack map from small integer keys to values.
 *
 * Decoding checks every type, length, count and numeric bound the schema
 * states, rejects duplicate keys and missing required fields, skips unknown
 * keys (so newer peers can add fields), and allocates nothing: strings are
 * copied into fixed char arrays, lists into fixed inline arrays, and BIN/RAW
 * fields point into the input (borrowed: valid while the input is).
 *
 * Encoding writes the fields in schema order and leaves out optional fields
 * whose value is zero or empty, so the same struct always encodes to the
 * same bytes (the state machine relies on that). Thread-safe: pure. */
#ifndef QM_LIB_QM_CODEC_H
#define QM_LIB_QM_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qm_err.h"
#include "qm_mp.h"

enum qm_ftype {
    QM_FT_U64 = 1,
    QM_FT_I64,
    QM_FT_BOOL,
    QM_FT_STR,  /* char[size], NUL-terminated, length < size */
    QM_FT_BIN,  /* struct qm_span into the input, length <= size */
    QM_FT_RAW,  /* struct qm_span holding any one encoded value */
    QM_FT_LIST, /* inline array of elem structs, count in a uint32_t */
    QM_FT_MAP,  /* one embedded elem struct (a nested message) */
};

enum qm_fflag {
    QM_FF_REQ = 1u << 0,  /* must be present */
    QM_FF_NAME = 1u << 1, /* STR: 1+ chars of [A-Za-z0-9._-], not "." or ".." */
    QM_FF_TEXT = 1u << 2, /* STR/BIN: valid UTF-8 without control chars */
};

struct qm_schema;

struct qm_field
{
    const char *name;
    uint32_t key;
    uint8_t type;
    uint8_t flags;
    uint32_t off;      /* offset of the value in the struct */
    uint32_t size;     /* STR: array size; BIN: max bytes; LIST: max items */
    int64_t lo, hi;    /* I64 bounds */
    uint64_t ulo, uhi; /* U64 bounds */
    const struct qm_schema *elem; /* LIST element schema */
    uint32_t elem_size;           /* LIST element size */
    uint32_t count_off;           /* LIST: offset of the uint32_t count */
};

struct qm_schema
{
    const char *name;
    const struct qm_field *fields;
    uint32_t nfields;
    uint32_t size; /* sizeof the struct */
};

/* Field constructors. Each checks at compile time that member @m of struct
 * @T has the C type the field kind needs. */
#define QM__OFF(T, m, type) _Generic((((T *)0)->m), type : offsetof(T, m))
#define QM__SIZE(T, m) ((uint32_t)sizeof(((T *)0)->m))

#define QM_U64(T, k, m, fl, lo_, hi_)                              \
    {                                                              \
        .name = #m, .key = (k), .type = QM_FT_U64, .flags = (fl),  \
        .off = QM__OFF(T, m, uint64_t), .ulo = (lo_), .uhi = (hi_) \
    }
#define QM_I64(T, k, m, fl, lo_, hi_)                             \
    {                                                             \
        .name = #m, .key = (k), .type = QM_FT_I64, .flags = (fl), \
        .off = QM__OFF(T, m, int64_t), .lo = (lo_), .hi = (hi_)   \
    }
#define QM_BOOL(T, k, m, fl)                                       \
    {                                                              \
        .name = #m, .key = (k), .type = QM_FT_BOOL, .flags = (fl), \
        .off = QM__OFF(T, m, bool)                                 \
    }
#define QM_STR(T, k, m, fl)                                       \
    {                                                             \
        .name = #m, .key = (k), .type = QM_FT_STR, .flags = (fl), \
        .off = QM__OFF(T, m, char *), .size = QM__SIZE(T, m)      \
    }
#define QM_BIN(T, k, m, fl, max_)                                 \
    {                                                             \
        .name = #m, .key = (k), .type = QM_FT_BIN, .flags = (fl), \
        .off = QM__OFF(T, m, struct qm_span), .size = (max_)      \
    }
#define QM_RAW(T, k, m, fl)                                       \
    {                                                             \
        .name = #m, .key = (k), .type = QM_FT_RAW, .flags = (fl), \
        .off = QM__OFF(T, m, struct qm_span)                      \
    }
#define QM_LIST(T, k, m, count_m, elem_schema, fl)                             \
    {                                                                          \
        .name = #m, .key = (k), .type = QM_FT_LIST, .flags = (fl),             \
        .off = (uint32_t)offsetof(T, m),                                       \
        .size = QM__SIZE(T, m) / (uint32_t)sizeof(((T *)0)->m[0]),             \
        .elem = &(elem_schema), .elem_size = (uint32_t)sizeof(((T *)0)->m[0]), \
        .count_off = QM__OFF(T, count_m, uint32_t)                             \
    }

#define QM_MAP(T, k, m, elem_schema, fl)                          \
    {                                                             \
        .name = #m, .key = (k), .type = QM_FT_MAP, .flags = (fl), \
        .off = (uint32_t)offsetof(T, m), .elem = &(elem_schema),  \
        .elem_size = (uint32_t)sizeof(((T *)0)->m)                \
    }

#define QM_SCHEMA(var, T, table)                                               \
    const struct qm_schema var = {#T, table, sizeof(table) / sizeof(table[0]), \
                                  sizeof(T)}

/* Decode one map from @r into @obj (zeroed first). QM_OK, or QM_EPROTO with
 * a one-line reason in @err ("capacity: out of range 1..1000"). On error
 * @obj holds partial data and the reader is at an unspecified position. */
int qm_decode_r(const struct qm_schema *s,
                struct qm_mpr *r,
                void *obj,
                char err[QM_ERRMSG_SIZE]);

/* Decode a buffer that must hold exactly one map. */
int qm_decode(const struct qm_schema *s,
              const void *p,
              size_t n,
              void *obj,
              char err[QM_ERRMSG_SIZE]);

/* Append the encoding of @obj to @b. Returns qm_buf_status(b). */
int qm_encode(const struct qm_schema *s, const void *obj, struct qm_buf *b);

/* Field lookup by name (tests, tools); NULL if absent. */
const struct qm_field *qm_schema_field(const struct qm_schema *s,
                                       const char *name);

/* The checks QM_FF_NAME and QM_FF_TEXT apply, for callers that build
 * strings themselves (the CLI, the state machine's keys). */
bool qm_valid_name(const char *s, size_t n);
bool qm_valid_text(const char *s, size_t n);

/* Well-formed UTF-8 of any characters, controls and NUL included (the CLI
 * prints such a payload as a JSON string). */
bool qm_valid_utf8(const char *s, size_t n);

#endif
