#include "qm_mp.h"

#include <string.h>

#include "qm_alloc.h"
#include "qm_err.h"

/* ---- writing ---- */

static int buf_write(void *data, const char *p, size_t n)
{
    return qm_buf_append(data, p, n) == QM_OK ? 0 : -1;
}

void qm_buf_init(struct qm_buf *b)
{
    memset(b, 0, sizeof(*b));
    msgpack_packer_init(&b->pk, b, buf_write);
}

void qm_buf_init_fixed(struct qm_buf *b, void *mem, size_t cap)
{
    qm_buf_init(b);
    b->data = mem;
    b->cap = cap;
    b->fixed = true;
}

void qm_buf_close(struct qm_buf *b)
{
    if (!b->fixed) {
        qm_free(b->data);
    }
    b->data = NULL;
    b->len = b->cap = 0;
}

void qm_buf_reset(struct qm_buf *b)
{
    b->len = 0;
    b->full = false;
}

int qm_buf_status(const struct qm_buf *b)
{
    if (!b->full) {
        return QM_OK;
    }
    return b->fixed ? QM_EFULL : QM_ENOMEM;
}

int qm_buf_append(struct qm_buf *b, const void *p, size_t n)
{
    if (b->full) {
        return qm_buf_status(b);
    }
    if (n > b->cap - b->len) {
        if (b->fixed) {
            b->full = true;
            return QM_EFULL;
        }
        size_t cap = b->cap < 256 ? 256 : b->cap;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2) {
                b->full = true;
                return QM_ENOMEM;
            }
            cap *= 2;
        }
        uint8_t *d = qm_realloc(b->data, cap);
        if (d == NULL) {
            b->full = true;
            return QM_ENOMEM;
        }
        b->data = d;
        b->cap = cap;
    }
    if (n > 0) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    return QM_OK;
}

uint8_t *qm_buf_steal(struct qm_buf *b, size_t *len)
{
    uint8_t *d = b->data;
    *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

void qm_mpw_uint(struct qm_buf *b, uint64_t v)
{
    msgpack_pack_uint64(&b->pk, v);
}

void qm_mpw_int(struct qm_buf *b, int64_t v)
{
    msgpack_pack_int64(&b->pk, v);
}

void qm_mpw_bool(struct qm_buf *b, bool v)
{
    if (v) {
        msgpack_pack_true(&b->pk);
    } else {
        msgpack_pack_false(&b->pk);
    }
}

void qm_mpw_nil(struct qm_buf *b)
{
    msgpack_pack_nil(&b->pk);
}

void qm_mpw_str(struct qm_buf *b, const char *s, size_t n)
{
    msgpack_pack_str(&b->pk, n);
    msgpack_pack_str_body(&b->pk, s, n);
}

void qm_mpw_cstr(struct qm_buf *b, const char *s)
{
    qm_mpw_str(b, s, strlen(s));
}

void qm_mpw_bin(struct qm_buf *b, const void *p, size_t n)
{
    msgpack_pack_bin(&b->pk, n);
    msgpack_pack_bin_body(&b->pk, p, n);
}

void qm_mpw_array(struct qm_buf *b, uint32_t n)
{
    msgpack_pack_array(&b->pk, n);
}

void qm_mpw_map(struct qm_buf *b, uint32_t n)
{
    msgpack_pack_map(&b->pk, n);
}

void qm_mpw_raw(struct qm_buf *b, struct qm_span raw)
{
    qm_buf_append(b, raw.p, raw.n);
}

/* ---- reading ---- */

void qm_mpr_init(struct qm_mpr *r, const void *p, size_t n)
{
    r->p = p;
    r->end = r->p + n;
}

size_t qm_mpr_left(const struct qm_mpr *r)
{
    return (size_t)(r->end - r->p);
}

enum qm_mp_kind qm_mpr_peek(const struct qm_mpr *r)
{
    if (r->p >= r->end) {
        return QM_MP_NONE;
    }
    uint8_t b = *r->p;
    if (b <= 0x7f) {
        return QM_MP_UINT;
    }
    if (b <= 0x8f) {
        return QM_MP_MAP;
    }
    if (b <= 0x9f) {
        return QM_MP_ARRAY;
    }
    if (b <= 0xbf) {
        return QM_MP_STR;
    }
    if (b >= 0xe0) {
        return QM_MP_INT;
    }
    switch (b) {
        case 0xc0:
            return QM_MP_NIL;
        case 0xc2:
        case 0xc3:
            return QM_MP_BOOL;
        case 0xc4:
        case 0xc5:
        case 0xc6:
            return QM_MP_BIN;
        case 0xc7:
        case 0xc8:
        case 0xc9:
        case 0xd4:
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
            return QM_MP_EXT;
        case 0xca:
        case 0xcb:
            return QM_MP_FLOAT;
        case 0xcc:
        case 0xcd:
        case 0xce:
        case 0xcf:
            return QM_MP_UINT;
        case 0xd0:
        case 0xd1:
        case 0xd2:
        case 0xd3:
            return QM_MP_INT;
        case 0xd9:
        case 0xda:
        case 0xdb:
            return QM_MP_STR;
        case 0xdc:
        case 0xdd:
            return QM_MP_ARRAY;
        case 0xde:
        case 0xdf:
            return QM_MP_MAP;
        default:
            return QM_MP_NONE; /* 0xc1 is never used */
    }
}

/* Big-endian unsigned of @n bytes at @p (n <= 8); caller checked bounds. */
static uint64_t be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* Width in bytes of the length/value field that follows tag @b, for the
 * tags that have one (0 for the "fix" forms). */
static unsigned field_width(uint8_t b)
{
    switch (b) {
        case 0xcc:
        case 0xd0:
        case 0xd9:
        case 0xc4:
        case 0xc7:
            return 1;
        case 0xcd:
        case 0xd1:
        case 0xda:
        case 0xc5:
        case 0xc8:
        case 0xdc:
        case 0xde:
            return 2;
        case 0xce:
        case 0xd2:
        case 0xdb:
        case 0xc6:
        case 0xc9:
        case 0xdd:
        case 0xdf:
            return 4;
        case 0xcf:
        case 0xd3:
            return 8;
        default:
            return 0;
    }
}

/* Read the tag and its length/value field. On success *hdr is the number of
 * bytes consumed so far (tag + field) and *val the field's value. */
static int header(const struct qm_mpr *r,
                  uint8_t *tag,
                  uint64_t *val,
                  size_t *hdr)
{
    if (r->p >= r->end) {
        return QM_EPROTO;
    }
    uint8_t b = r->p[0];
    unsigned w = field_width(b);
    if (qm_mpr_left(r) < 1 + (size_t)w) {
        return QM_EPROTO;
    }
    *tag = b;
    *val = be(r->p + 1, w);
    *hdr = 1 + w;
    return QM_OK;
}

int qm_mpr_uint(struct qm_mpr *r, uint64_t *v)
{
    uint8_t t;
    uint64_t x;
    size_t h;
    if (header(r, &t, &x, &h) != QM_OK) {
        return QM_EPROTO;
    }
    if (t <= 0x7f) {
        x = t;
    } else if (t >= 0xcc && t <= 0xcf) {
        /* x already holds the value */
    } else if (t >= 0xd0 && t <= 0xd3) {
        int64_t s;
        int rv = qm_mpr_int(r, &s);
        if (rv != QM_OK || s < 0) {
            if (rv == QM_OK) {
                r->p -= h; /* give it back */
            }
            return QM_EPROTO;
        }
        *v = (uint64_t)s;
        return QM_OK;
    } else {
        return QM_EPROTO;
    }
    r->p += h;
    *v = x;
    return QM_OK;
}

int qm_mpr_int(struct qm_mpr *r, int64_t *v)
{
    uint8_t t;
    uint64_t x;
    size_t h;
    if (header(r, &t, &x, &h) != QM_OK) {
        return QM_EPROTO;
    }
    int64_t s;
    if (t <= 0x7f) {
        s = t;
    } else if (t >= 0xe0) {
        s = (int8_t)t;
    } else if (t >= 0xcc && t <= 0xcf) {
        if (x > INT64_MAX) {
            return QM_EPROTO;
        }
        s = (int64_t)x;
    } else if (t == 0xd0) {
        s = (int8_t)(uint8_t)x;
    } else if (t == 0xd1) {
        s = (int16_t)(uint16_t)x;
    } else if (t == 0xd2) {
        s = (int32_t)(uint32_t)x;
    } else if (t == 0xd3) {
        s = (int64_t)x;
    } else {
        return QM_EPROTO;
    }
    r->p += h;
    *v = s;
    return QM_OK;
}

int qm_mpr_bool(struct qm_mpr *r, bool *v)
{
    if (r->p >= r->end || (*r->p != 0xc2 && *r->p != 0xc3)) {
        return QM_EPROTO;
    }
    *v = *r->p == 0xc3;
    r->p++;
    return QM_OK;
}

int qm_mpr_nil(struct qm_mpr *r)
{
    if (r->p >= r->end || *r->p != 0xc0) {
        return QM_EPROTO;
    }
    r->p++;
    return QM_OK;
}

/* Read a length-prefixed body (str or bin). */
static int body(struct qm_mpr *r, bool want_str, const uint8_t **p, uint32_t *n)
{
    uint8_t t;
    uint64_t x;
    size_t h;
    if (header(r, &t, &x, &h) != QM_OK) {
        return QM_EPROTO;
    }
    bool is_str = (t >= 0xa0 && t <= 0xbf) || (t >= 0xd9 && t <= 0xdb);
    bool is_bin = t >= 0xc4 && t <= 0xc6;
    if (want_str ? !is_str : !is_bin) {
        return QM_EPROTO;
    }
    if (t >= 0xa0 && t <= 0xbf) {
        x = t & 0x1f;
    }
    if (x > qm_mpr_left(r) - h) {
        return QM_EPROTO;
    }
    *p = r->p + h;
    *n = (uint32_t)x;
    r->p += h + x;
    return QM_OK;
}

int qm_mpr_str(struct qm_mpr *r, const char **s, uint32_t *n)
{
    const uint8_t *p;
    int rv = body(r, true, &p, n);
    if (rv == QM_OK) {
        *s = (const char *)p;
    }
    return rv;
}

int qm_mpr_bin(struct qm_mpr *r, const uint8_t **p, uint32_t *n)
{
    return body(r, false, p, n);
}

static int container(struct qm_mpr *r, bool want_map, uint32_t *n)
{
    uint8_t t;
    uint64_t x;
    size_t h;
    if (header(r, &t, &x, &h) != QM_OK) {
        return QM_EPROTO;
    }
    if (want_map) {
        if (t >= 0x80 && t <= 0x8f) {
            x = t & 0x0f;
        } else if (t != 0xde && t != 0xdf) {
            return QM_EPROTO;
        }
    } else {
        if (t >= 0x90 && t <= 0x9f) {
            x = t & 0x0f;
        } else if (t != 0xdc && t != 0xdd) {
            return QM_EPROTO;
        }
    }
    /* Every element takes at least one byte. */
    size_t left = qm_mpr_left(r) - h;
    if (x > left || (want_map && x > left / 2)) {
        return QM_EPROTO;
    }
    r->p += h;
    *n = (uint32_t)x;
    return QM_OK;
}

int qm_mpr_array(struct qm_mpr *r, uint32_t *n)
{
    return container(r, false, n);
}

int qm_mpr_map(struct qm_mpr *r, uint32_t *n)
{
    return container(r, true, n);
}

static int skip(struct qm_mpr *r, int depth)
{
    uint8_t t;
    uint64_t x;
    size_t h;
    uint32_t n;
    const uint8_t *p;
    switch (qm_mpr_peek(r)) {
        case QM_MP_NIL:
        case QM_MP_BOOL:
            r->p++;
            return QM_OK;
        case QM_MP_UINT:
        case QM_MP_INT: {
            int64_t s;
            uint64_t u;
            if (qm_mpr_int(r, &s) == QM_OK || qm_mpr_uint(r, &u) == QM_OK) {
                return QM_OK;
            }
            return QM_EPROTO;
        }
        case QM_MP_FLOAT:
            h = *r->p == 0xca ? 5 : 9;
            if (qm_mpr_left(r) < h) {
                return QM_EPROTO;
            }
            r->p += h;
            return QM_OK;
        case QM_MP_STR: {
            const char *s;
            return qm_mpr_str(r, &s, &n);
        }
        case QM_MP_BIN:
            return qm_mpr_bin(r, &p, &n);
        case QM_MP_EXT:
            if (header(r, &t, &x, &h) != QM_OK) {
                return QM_EPROTO;
            }
            if (t >= 0xd4 && t <= 0xd8) {
                x = 1u << (t - 0xd4);
            }
            /* one type byte follows the length */
            if (qm_mpr_left(r) - h < 1 || x > qm_mpr_left(r) - h - 1) {
                return QM_EPROTO;
            }
            r->p += h + 1 + x;
            return QM_OK;
        case QM_MP_ARRAY:
        case QM_MP_MAP: {
            bool map = qm_mpr_peek(r) == QM_MP_MAP;
            if (depth <= 0) {
                return QM_EPROTO;
            }
            if (container(r, map, &n) != QM_OK) {
                return QM_EPROTO;
            }
            uint64_t items = map ? (uint64_t)n * 2 : n;
            for (uint64_t i = 0; i < items; i++) {
                if (skip(r, depth - 1) != QM_OK) {
                    return QM_EPROTO;
                }
            }
            return QM_OK;
        }
        default:
            return QM_EPROTO;
    }
}

int qm_mpr_skip(struct qm_mpr *r, int depth)
{
    const uint8_t *start = r->p;
    int rv = skip(r, depth);
    if (rv != QM_OK) {
        r->p = start;
    }
    return rv;
}

int qm_mpr_raw(struct qm_mpr *r, struct qm_span *raw)
{
    const uint8_t *start = r->p;
    int rv = qm_mpr_skip(r, QM_MP_MAX_DEPTH);
    if (rv == QM_OK) {
        raw->p = start;
        raw->n = (size_t)(r->p - start);
    }
    return rv;
}
