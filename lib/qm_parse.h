/* Parsers of the numbers people write in flags and config files: plain
 * integers, durations ("250ms", "30s", "5m", "1h", "2d"; a bare number is
 * in @bare_unit_ms) and byte sizes ("512", "64K", "512M", "2G", "1T";
 * powers of 1024, with an optional trailing "B" or "iB"). Each returns 0
 * and sets *out, or -1 for anything else (empty, signs, overflow, junk
 * after the number, above @max). Pure and thread-safe. */
#ifndef QM_LIB_QM_PARSE_H
#define QM_LIB_QM_PARSE_H

#include <stdint.h>

int qm_parse_u64(const char *s, uint64_t max, uint64_t *out);
int qm_parse_duration_ms(const char *s,
                         int64_t bare_unit_ms,
                         int64_t max_ms,
                         int64_t *out);
int qm_parse_bytes(const char *s, int64_t max, int64_t *out);

#endif
