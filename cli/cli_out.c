#include "cli_out.h"

#include <string.h>
#include <time.h>

void cj_init(struct cli_json *j, FILE *out)
{
    memset(j, 0, sizeof(*j));
    j->out = out;
    j->first[0] = true;
}

static void indent(struct cli_json *j)
{
    if (j->compact) {
        return;
    }
    fputc('\n', j->out);
    for (int i = 0; i < j->depth; i++) {
        fputs("  ", j->out);
    }
}

/* Separator and indentation before a value or a key. */
static void before(struct cli_json *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (j->depth == 0) {
        return;
    }
    if (!j->first[j->depth]) {
        fputs(j->compact ? ", " : ",", j->out);
    }
    j->first[j->depth] = false;
    indent(j);
}

static void open_c(struct cli_json *j, char c)
{
    before(j);
    fputc(c, j->out);
    if (j->depth + 1 < CLI_JSON_DEPTH) {
        j->depth++;
    }
    j->first[j->depth] = true;
}

static void close_c(struct cli_json *j, char c)
{
    bool empty = j->first[j->depth];
    if (j->depth > 0) {
        j->depth--;
    }
    if (!empty) {
        indent(j);
    }
    fputc(c, j->out);
}

void cj_obj(struct cli_json *j)
{
    open_c(j, '{');
}

void cj_obj_end(struct cli_json *j)
{
    close_c(j, '}');
}

void cj_arr(struct cli_json *j)
{
    open_c(j, '[');
}

void cj_arr_end(struct cli_json *j)
{
    close_c(j, ']');
}

void cli_print_quoted(FILE *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        switch (p[i]) {
            case '"':
                fputs("\\\"", out);
                break;
            case '\\':
                fputs("\\\\", out);
                break;
            case '\n':
                fputs("\\n", out);
                break;
            case '\t':
                fputs("\\t", out);
                break;
            case '\r':
                fputs("\\r", out);
                break;
            default:
                if (p[i] < 0x20 || p[i] == 0x7f) {
                    fprintf(out, "\\u%04x", p[i]);
                } else if (p[i] == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 &&
                           p[i + 1] <= 0x9f) {
                    /* C1 controls: a terminal may act on them. */
                    fprintf(out, "\\u%04x", p[++i]);
                } else {
                    fputc(p[i], out);
                }
        }
    }
    fputc('"', out);
}

static void quoted(FILE *out, const char *s)
{
    cli_print_quoted(out, s, strlen(s));
}

void cli_print_base64(FILE *out, const void *p, size_t n)
{
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16;
        if (i + 1 < n) {
            v |= (uint32_t)b[i + 1] << 8;
        }
        if (i + 2 < n) {
            v |= b[i + 2];
        }
        fputc(digits[(v >> 18) & 63], out);
        fputc(digits[(v >> 12) & 63], out);
        fputc(i + 1 < n ? digits[(v >> 6) & 63] : '=', out);
        fputc(i + 2 < n ? digits[v & 63] : '=', out);
    }
}

void cj_key(struct cli_json *j, const char *key)
{
    before(j);
    quoted(j->out, key);
    fputs(": ", j->out);
    j->after_key = true;
}

void cj_str(struct cli_json *j, const char *s)
{
    before(j);
    quoted(j->out, s);
}

void cj_strn(struct cli_json *j, const char *s, size_t n)
{
    before(j);
    cli_print_quoted(j->out, s, n);
}

void cj_base64(struct cli_json *j, const void *p, size_t n)
{
    before(j);
    fputc('"', j->out);
    cli_print_base64(j->out, p, n);
    fputc('"', j->out);
}

void cj_int(struct cli_json *j, int64_t v)
{
    before(j);
    fprintf(j->out, "%lld", (long long)v);
}

void cj_uint(struct cli_json *j, uint64_t v)
{
    before(j);
    fprintf(j->out, "%llu", (unsigned long long)v);
}

void cj_bool(struct cli_json *j, bool v)
{
    before(j);
    fputs(v ? "true" : "false", j->out);
}

void cj_null(struct cli_json *j)
{
    before(j);
    fputs("null", j->out);
}

void cj_fixed(struct cli_json *j, int64_t v, int decimals)
{
    char buf[40];
    before(j);
    fputs(cli_fmt_fixed(buf, v, decimals), j->out);
}

void cj_done(struct cli_json *j)
{
    fputc('\n', j->out);
}

static int64_t pow10i(int n)
{
    int64_t p = 1;
    while (n-- > 0) {
        p *= 10;
    }
    return p;
}

int cli_parse_fixed(const char *s,
                    int decimals,
                    bool money,
                    int64_t max,
                    int64_t *out)
{
    if (money && *s == '$') {
        s++;
    }
    int64_t whole = 0, frac = 0;
    int nfrac = 0;
    bool digits = false;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (whole > (INT64_MAX - 9) / 10) {
            return -1;
        }
        whole = whole * 10 + (*p - '0');
        digits = true;
    }
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++) {
            if (nfrac == decimals) {
                return -1;
            }
            frac = frac * 10 + (*p - '0');
            nfrac++;
            digits = true;
        }
    }
    if (*p != '\0' || !digits) {
        return -1;
    }
    int64_t scale = pow10i(decimals);
    if (whole > max / scale) {
        return -1;
    }
    int64_t v = whole * scale + frac * pow10i(decimals - nfrac);
    if (v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

const char *cli_fmt_fixed(char buf[40], int64_t v, int decimals)
{
    int64_t scale = pow10i(decimals);
    bool neg = v < 0;
    uint64_t u = neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    uint64_t whole = u / (uint64_t)scale, frac = u % (uint64_t)scale;
    int n =
        snprintf(buf, 40, "%s%llu", neg ? "-" : "", (unsigned long long)whole);
    if (frac != 0 && n > 0) {
        char f[24];
        snprintf(f, sizeof(f), "%0*llu", decimals, (unsigned long long)frac);
        size_t len = strlen(f);
        while (len > 0 && f[len - 1] == '0') {
            f[--len] = '\0';
        }
        snprintf(buf + n, (size_t)(40 - n), ".%s", f);
    }
    return buf;
}

const char *cli_fmt_time(char buf[32], int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}
