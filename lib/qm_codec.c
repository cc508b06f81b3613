#include "qm_codec.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "qm_err.h"

static int fail(char err[QM_ERRMSG_SIZE], const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(char err[QM_ERRMSG_SIZE], const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, QM_ERRMSG_SIZE, fmt, ap);
        va_end(ap);
    }
    return QM_EPROTO;
}

bool qm_valid_name(const char *s, size_t n)
{
    if (n == 0 || (n == 1 && s[0] == '.') ||
        (n == 2 && s[0] == '.' && s[1] == '.')) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* Well-formed UTF-8, and with @printable no control characters either
 * (C0 but tab, DEL, and C1: U+009B is a terminal's CSI). */
static bool utf8_ok(const char *s, size_t n, bool printable)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        if (c < 0x80) {
            if (printable && ((c < 0x20 && c != '\t') || c == 0x7f)) {
                return false;
            }
            i++;
            continue;
        }
        unsigned len;
        unsigned min;
        if ((c & 0xe0) == 0xc0) {
            len = 2;
            min = 0x80;
            c &= 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            min = 0x800;
            c &= 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            min = 0x10000;
            c &= 0x07;
        } else {
            return false;
        }
        if (n - i < len) {
            return false;
        }
        for (unsigned k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return false;
            }
            c = (c << 6) | (p[i + k] & 0x3f);
        }
        /* Overlong forms, beyond Unicode, surrogates. */
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) ||
            (printable && c <= 0x9f)) {
            return false;
        }
        i += len;
    }
    return true;
}

bool qm_valid_text(const char *s, size_t n)
{
    return utf8_ok(s, n, true);
}

bool qm_valid_utf8(const char *s, size_t n)
{
    return utf8_ok(s, n, false);
}

static const struct qm_field *by_key(const struct qm_schema *s,
                                     uint64_t key,
                                     uint32_t *idx)
{
    for (uint32_t i = 0; i < s->nfields; i++) {
        if (s->fields[i].key == key) {
            *idx = i;
            return &s->fields[i];
        }
    }
    return NULL;
}

const struct qm_field *qm_schema_field(const struct qm_schema *s,
                                       const char *name)
{
    for (uint32_t i = 0; i < s->nfields; i++) {
        if (strcmp(s->fields[i].name, name) == 0) {
            return &s->fields[i];
        }
    }
    return NULL;
}

static int decode_at(const struct qm_schema *s,
                     struct qm_mpr *r,
                     void *obj,
                     char err[QM_ERRMSG_SIZE],
                     int depth);

static int decode_field(const struct qm_field *f,
                        struct qm_mpr *r,
                        uint8_t *obj,
                        char err[QM_ERRMSG_SIZE],
                        int depth)
{
    void *v = obj + f->off;
    switch (f->type) {
        case QM_FT_U64: {
            uint64_t x;
            if (qm_mpr_uint(r, &x) != QM_OK) {
                return fail(err, "%s: expected an unsigned integer", f->name);
            }
            if (x < f->ulo || x > f->uhi) {
                return fail(err, "%s: %llu out of range %llu..%llu", f->name,
                            (unsigned long long)x, (unsigned long long)f->ulo,
                            (unsigned long long)f->uhi);
            }
            memcpy(v, &x, sizeof(x));
            return QM_OK;
        }
        case QM_FT_I64: {
            int64_t x;
            if (qm_mpr_int(r, &x) != QM_OK) {
                return fail(err, "%s: expected an integer", f->name);
            }
            if (x < f->lo || x > f->hi) {
                return fail(err, "%s: %lld out of range %lld..%lld", f->name,
                            (long long)x, (long long)f->lo, (long long)f->hi);
            }
            memcpy(v, &x, sizeof(x));
            return QM_OK;
        }
        case QM_FT_BOOL: {
            bool x;
            if (qm_mpr_bool(r, &x) != QM_OK) {
                return fail(err, "%s: expected a boolean", f->name);
            }
            memcpy(v, &x, sizeof(x));
            return QM_OK;
        }
        case QM_FT_STR: {
            const char *p;
            uint32_t n;
            if (qm_mpr_str(r, &p, &n) != QM_OK) {
                return fail(err, "%s: expected a string", f->name);
            }
            if (n >= f->size) {
                return fail(err, "%s: longer than %u bytes", f->name,
                            f->size - 1);
            }
            if (memchr(p, '\0', n) != NULL) {
                return fail(err, "%s: contains a NUL byte", f->name);
            }
            /* An empty name is no name (qm_codec.h): an optional name
             * that is absent is simply left out, never sent as "". */
            if ((f->flags & QM_FF_NAME) && !qm_valid_name(p, n)) {
                return fail(err,
                            "%s: only letters, digits, '.', '_' and '-' "
                            "are allowed",
                            f->name);
            }
            if ((f->flags & QM_FF_TEXT) && !qm_valid_text(p, n)) {
                return fail(err, "%s: not printable UTF-8", f->name);
            }
            memcpy(v, p, n);
            ((char *)v)[n] = '\0';
            return QM_OK;
        }
        case QM_FT_BIN: {
            struct qm_span sp;
            uint32_t n;
            if (qm_mpr_bin(r, &sp.p, &n) != QM_OK) {
                return fail(err, "%s: expected binary data", f->name);
            }
            if (n > f->size) {
                return fail(err, "%s: longer than %u bytes", f->name, f->size);
            }
            if ((f->flags & QM_FF_TEXT) &&
                !qm_valid_text((const char *)sp.p, n)) {
                return fail(err, "%s: not printable UTF-8", f->name);
            }
            sp.n = n;
            memcpy(v, &sp, sizeof(sp));
            return QM_OK;
        }
        case QM_FT_RAW: {
            struct qm_span sp;
            if (qm_mpr_raw(r, &sp) != QM_OK) {
                return fail(err, "%s: malformed value", f->name);
            }
            memcpy(v, &sp, sizeof(sp));
            return QM_OK;
        }
        case QM_FT_LIST: {
            uint32_t n;
            if (depth <= 0) {
                return fail(err, "%s: nested too deeply", f->name);
            }
            if (qm_mpr_array(r, &n) != QM_OK) {
                return fail(err, "%s: expected an array", f->name);
            }
            if (n > f->size) {
                return fail(err, "%s: more than %u items", f->name, f->size);
            }
            uint8_t *items = v;
            for (uint32_t i = 0; i < n; i++) {
                int rv = decode_at(f->elem, r, items + (size_t)i * f->elem_size,
                                   err, depth - 1);
                if (rv != QM_OK) {
                    return rv;
                }
            }
            memcpy(obj + f->count_off, &n, sizeof(n));
            return QM_OK;
        }
        case QM_FT_MAP:
            if (depth <= 0) {
                return fail(err, "%s: nested too deeply", f->name);
            }
            return decode_at(f->elem, r, v, err, depth - 1);
        default:
            return fail(err, "%s: bad schema", f->name);
    }
}

static int decode_at(const struct qm_schema *s,
                     struct qm_mpr *r,
                     void *obj,
                     char err[QM_ERRMSG_SIZE],
                     int depth)
{
    uint32_t n;
    uint64_t seen = 0;
    memset(obj, 0, s->size);
    if (qm_mpr_map(r, &n) != QM_OK) {
        return fail(err, "%s: expected a map", s->name);
    }
    for (uint32_t i = 0; i < n; i++) {
        uint64_t key;
        uint32_t idx;
        if (qm_mpr_uint(r, &key) != QM_OK) {
            return fail(err, "%s: map keys must be unsigned integers", s->name);
        }
        const struct qm_field *f = by_key(s, key, &idx);
        if (f == NULL) {
            if (qm_mpr_skip(r, depth) != QM_OK) {
                return fail(err, "%s: malformed value for key %llu", s->name,
                            (unsigned long long)key);
            }
            continue;
        }
        if (seen & (1ull << idx)) {
            return fail(err, "%s: duplicate field", f->name);
        }
        seen |= 1ull << idx;
        int rv = decode_field(f, r, obj, err, depth);
        if (rv != QM_OK) {
            return rv;
        }
    }
    for (uint32_t i = 0; i < s->nfields; i++) {
        if ((s->fields[i].flags & QM_FF_REQ) && !(seen & (1ull << i))) {
            return fail(err, "%s: missing", s->fields[i].name);
        }
    }
    return QM_OK;
}

int qm_decode_r(const struct qm_schema *s,
                struct qm_mpr *r,
                void *obj,
                char err[QM_ERRMSG_SIZE])
{
    return decode_at(s, r, obj, err, QM_MP_MAX_DEPTH);
}

int qm_decode(const struct qm_schema *s,
              const void *p,
              size_t n,
              void *obj,
              char err[QM_ERRMSG_SIZE])
{
    struct qm_mpr r;
    qm_mpr_init(&r, p, n);
    int rv = qm_decode_r(s, &r, obj, err);
    if (rv == QM_OK && qm_mpr_left(&r) != 0) {
        return fail(err, "%s: trailing bytes after the message", s->name);
    }
    return rv;
}

/* Is the value of @f in @obj zero or empty (so an optional field is left
 * out)? */
static bool is_empty(const struct qm_field *f, const uint8_t *obj)
{
    const void *v = obj + f->off;
    switch (f->type) {
        case QM_FT_U64:
        case QM_FT_I64: {
            uint64_t x;
            memcpy(&x, v, sizeof(x));
            return x == 0;
        }
        case QM_FT_BOOL:
            return !*(const bool *)v;
        case QM_FT_STR:
            return *(const char *)v == '\0';
        case QM_FT_BIN:
        case QM_FT_RAW: {
            struct qm_span sp;
            memcpy(&sp, v, sizeof(sp));
            return sp.n == 0;
        }
        case QM_FT_LIST: {
            uint32_t n;
            memcpy(&n, obj + f->count_off, sizeof(n));
            return n == 0;
        }
        case QM_FT_MAP:
            return false; /* a nested message is always written */
        default:
            return true;
    }
}

static void encode_field(const struct qm_field *f,
                         const uint8_t *obj,
                         struct qm_buf *b)
{
    const void *v = obj + f->off;
    switch (f->type) {
        case QM_FT_U64: {
            uint64_t x;
            memcpy(&x, v, sizeof(x));
            qm_mpw_uint(b, x);
            break;
        }
        case QM_FT_I64: {
            int64_t x;
            memcpy(&x, v, sizeof(x));
            qm_mpw_int(b, x);
            break;
        }
        case QM_FT_BOOL:
            qm_mpw_bool(b, *(const bool *)v);
            break;
        case QM_FT_STR:
            qm_mpw_str(b, v, strnlen(v, f->size));
            break;
        case QM_FT_BIN: {
            struct qm_span sp;
            memcpy(&sp, v, sizeof(sp));
            qm_mpw_bin(b, sp.p, sp.n);
            break;
        }
        case QM_FT_RAW: {
            struct qm_span sp;
            memcpy(&sp, v, sizeof(sp));
            if (sp.n == 0) {
                qm_mpw_nil(b);
            } else {
                qm_mpw_raw(b, sp);
            }
            break;
        }
        case QM_FT_LIST: {
            uint32_t n;
            memcpy(&n, obj + f->count_off, sizeof(n));
            if (n > f->size) {
                n = f->size;
            }
            qm_mpw_array(b, n);
            for (uint32_t i = 0; i < n; i++) {
                qm_encode(f->elem, obj + (size_t)i * f->elem_size + f->off, b);
            }
            break;
        }
        case QM_FT_MAP:
            qm_encode(f->elem, v, b);
            break;
        default:
            break;
    }
}

int qm_encode(const struct qm_schema *s, const void *obj, struct qm_buf *b)
{
    const uint8_t *o = obj;
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->nfields; i++) {
        const struct qm_field *f = &s->fields[i];
        if ((f->flags & QM_FF_REQ) || !is_empty(f, o)) {
            n++;
        }
    }
    qm_mpw_map(b, n);
    for (uint32_t i = 0; i < s->nfields; i++) {
        const struct qm_field *f = &s->fields[i];
        if ((f->flags & QM_FF_REQ) || !is_empty(f, o)) {
            qm_mpw_uint(b, f->key);
            encode_field(f, o, b);
        }
    }
    return qm_buf_status(b);
}
