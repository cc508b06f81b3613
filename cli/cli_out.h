/* qmctl output: a JSON emitter that prints fixed-point amounts as exact
 * decimals (jansson and friends go through double, which would print a
 * price of $0.0000015 as 1.5000000000000002e-06), and the parsing and
 * printing of amounts. Single-threaded. */
#ifndef QM_CLI_CLI_OUT_H
#define QM_CLI_CLI_OUT_H

#include <stdbool.h>
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
void cj_int(struct cli_json *j, int64_t v);
void cj_uint(struct cli_json *j, uint64_t v);
void cj_bool(struct cli_json *j, bool v);
void cj_null(struct cli_json *j);
/* @v / 10^@decimals as an exact JSON number. */
void cj_fixed(struct cli_json *j, int64_t v, int decimals);
/* End the document with a newline. */
void cj_done(struct cli_json *j);

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
