/* qmctl output: a JSON emitter that prints fixed-point amounts as exact
 * decimals (jansson and friends go through double, which would print a
 * price of $0.0000015 as 1.5000000000000002e-06), and the parsing and
 * printing of amounts. Single-threaded. */
#ifndef QM_CLI_CLI_OUT_H
#define QM_CLI_CLI_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_JSON_DEPTH 16

struct cli_json
{
    FILE *out;
    int depth;
    bool first[CLI_JSON_DEPTH];
    bool after_key;
    bool compact; /* each document on one line (JSON Lines) */
};

void cj_init(struct cli_json *j, FILE *out);
void cj_obj(struct cli_json *j);
void cj_obj_end(struct cli_json *j);
void cj_arr(struct cli_json *j);
void cj_arr_end(struct cli_json *j);
void cj_key(struct cli_json *j, const char *key);
void cj_str(struct cli_json *j, const char *s);
/* @n bytes of UTF-8 (NUL and controls escaped) as a JSON string. */
void cj_strn(struct cli_json *j, const char *s, size_t n);
/* @n bytes as a JSON string in base64 (RFC 4648, padded). */
void cj_base64(struct cli_json *j, const void *p, size_t n);
void cj_int(struct cli_json *j, int64_t v);
void cj_uint(struct cli_json *j, uint64_t v);
void cj_bool(struct cli_json *j, bool v);
void cj_null(struct cli_json *j);
/* @v / 10^@decimals as an exact JSON number. */
void cj_fixed(struct cli_json *j, int64_t v, int decimals);
/* End the document with a newline. */
void cj_done(struct cli_json *j);

/* @n bytes of UTF-8 as a quoted JSON string, and @n bytes in base64, on
 * @out (for text output too: no control character reaches a terminal). */
void cli_print_quoted(FILE *out, const char *s, size_t n);
void cli_print_base64(FILE *out, const void *p, size_t n);

/* Parse a non-negative decimal ("12", "0.5", "1e3" is refused) into
 * v * 10^@decimals; a leading '$' is allowed when @money. 0, or -1 when it
 * is malformed, has more decimals than @decimals, or exceeds @max. */
int cli_parse_fixed(const char *s,
                    int decimals,
                    bool money,
                    int64_t max,
                    int64_t *out);

/* Print @v / 10^@decimals without trailing zeros into @buf. */
const char *cli_fmt_fixed(char buf[40], int64_t v, int decimals);

/* "2026-11-23T03:13:23Z" for milliseconds since the epoch. */
const char *cli_fmt_time(char buf[32], int64_t ms);

#endif
