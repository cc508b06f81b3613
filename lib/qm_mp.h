/* msgpack reading and writing.
 *
 * Writing uses msgpack-c's packer over a qm_buf. Reading uses our own pull
 * reader, because msgpack-c's C unpacker allocates (count x 24) bytes for
 * every array or map header before reading one element: a five-byte message
 * can ask for 96 GB. This reader allocates nothing, bounds every count by
 * the bytes that remain, and limits nesting depth.
 *
 * Ownership: a reader borrows the input; strings and spans it returns point
 * into that input and live as long as it does. A qm_buf owns its data unless
 * it was initialised over caller memory with qm_buf_init_fixed(). No shared
 * state: each object belongs to one thread at a time. */
#ifndef QM_LIB_QM_MP_H
#define QM_LIB_QM_MP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

/* Deepest nesting of arrays/maps the reader accepts. */
#define QM_MP_MAX_DEPTH 8

/* A byte range inside some buffer: borrowed. */
struct qm_span
{
    const uint8_t *p;
    size_t n;
};

/* ---- writing ---- */

struct qm_buf
{
    uint8_t *data;
    size_t len;
    size_t cap;
    bool fixed; /* data is caller memory, never grown or freed */
    bool full;  /* a write did not fit (fixed) or allocation failed */
    msgpack_packer pk;
};

void qm_buf_init(struct qm_buf *b);
void qm_buf_init_fixed(struct qm_buf *b, void *mem, size_t cap);
void qm_buf_close(struct qm_buf *b);
/* Forget the contents, keep the memory. */
void qm_buf_reset(struct qm_buf *b);
/* Append raw bytes; QM_ENOMEM (growable) or QM_EFULL (fixed). */
int qm_buf_append(struct qm_buf *b, const void *p, size_t n);
/* QM_OK, or the error of the first write that failed since the last reset. */
int qm_buf_status(const struct qm_buf *b);
/* Hand the data to the caller (growable buffers only); the buffer is empty
 * afterwards. Free with qm_free(). */
uint8_t *qm_buf_steal(struct qm_buf *b, size_t *len);

/* Packing helpers; errors are sticky in the buffer (see qm_buf_status). */
void qm_mpw_uint(struct qm_buf *b, uint64_t v);
void qm_mpw_int(struct qm_buf *b, int64_t v);
void qm_mpw_bool(struct qm_buf *b, bool v);
void qm_mpw_nil(struct qm_buf *b);
void qm_mpw_str(struct qm_buf *b, const char *s, size_t n);
void qm_mpw_cstr(struct qm_buf *b, const char *s);
void qm_mpw_bin(struct qm_buf *b, const void *p, size_t n);
void qm_mpw_array(struct qm_buf *b, uint32_t n);
void qm_mpw_map(struct qm_buf *b, uint32_t n);
/* Copy an already encoded msgpack value. */
void qm_mpw_raw(struct qm_buf *b, struct qm_span raw);

/* ---- reading ---- */

enum qm_mp_kind {
    QM_MP_NONE = 0, /* end of input or a byte that starts no valid value */
    QM_MP_NIL,
    QM_MP_BOOL,
    QM_MP_UINT,
    QM_MP_INT, /* negative integer */
    QM_MP_FLOAT,
    QM_MP_STR,
    QM_MP_BIN,
    QM_MP_ARRAY,
    QM_MP_MAP,
    QM_MP_EXT,
};

struct qm_mpr
{
    const uint8_t *p;
    const uint8_t *end;
};

void qm_mpr_init(struct qm_mpr *r, const void *p, size_t n);
size_t qm_mpr_left(const struct qm_mpr *r);
/* Kind of the next value without consuming it. */
enum qm_mp_kind qm_mpr_peek(const struct qm_mpr *r);

/* Each reader returns QM_OK and advances, or QM_EPROTO and leaves the
 * reader where it was. Out-parameters are written only on success. */
int qm_mpr_uint(struct qm_mpr *r, uint64_t *v);
int qm_mpr_int(struct qm_mpr *r, int64_t *v);
int qm_mpr_bool(struct qm_mpr *r, bool *v);
int qm_mpr_nil(struct qm_mpr *r);
int qm_mpr_str(struct qm_mpr *r, const char **s, uint32_t *n);
int qm_mpr_bin(struct qm_mpr *r, const uint8_t **p, uint32_t *n);
/* Container headers: the count is checked against the bytes left (each
 * element needs at least one byte, each map entry two). */
int qm_mpr_array(struct qm_mpr *r, uint32_t *n);
int qm_mpr_map(struct qm_mpr *r, uint32_t *n);
/* Skip one complete value, validating it; nesting deeper than @depth
 * levels is an error. */
int qm_mpr_skip(struct qm_mpr *r, int depth);
/* Validate and capture one complete value as a span. */
int qm_mpr_raw(struct qm_mpr *r, struct qm_span *raw);

#endif
