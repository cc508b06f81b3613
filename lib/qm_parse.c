#include "qm_parse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The leading decimal digits of @s into *v; *end after them. */
static int digits(const char *s, uint64_t *v, const char **end)
{
    if (s == NULL || *s < '0' || *s > '9') {
        return -1;
    }
    char *e;
    errno = 0;
    unsigned long long x = strtoull(s, &e, 10);
    if (errno != 0) {
        return -1;
    }
    *v = x;
    *end = e;
    return 0;
}

int qm_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v;
    const char *end;
    if (digits(s, &v, &end) != 0 || *end != '\0' || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

/* v * mul, unless that passes @max. */
static int scaled(uint64_t v, uint64_t mul, int64_t max, int64_t *out)
{
    if (max < 0 || (mul != 0 && v > (uint64_t)max / mul)) {
        return -1;
    }
    *out = (int64_t)(v * mul);
    return 0;
}

int qm_parse_duration_ms(const char *s,
                         int64_t bare_unit_ms,
                         int64_t max_ms,
                         int64_t *out)
{
    static const struct
    {
        const char *suffix;
        uint64_t ms;
    } units[] = {
        {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    uint64_t v;
    const char *end;
    if (digits(s, &v, &end) != 0) {
        return -1;
    }
    if (*end == '\0') {
        return scaled(v, (uint64_t)bare_unit_ms, max_ms, out);
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            return scaled(v, units[i].ms, max_ms, out);
        }
    }
    return -1;
}

int qm_parse_bytes(const char *s, int64_t max, int64_t *out)
{
    static const char prefixes[] = "KMGTP";
    uint64_t v;
    const char *end;
    if (digits(s, &v, &end) != 0) {
        return -1;
    }
    uint64_t mul = 1;
    if (*end != '\0' && *end != 'B') {
        const char *p = strchr(prefixes, *end);
        if (p == NULL) {
            return -1;
        }
        for (const char *q = prefixes; q <= p; q++) {
            mul *= 1024;
        }
        end++;
        if (*end == 'i') {
            end++;
        }
    }
    if (*end == 'B') {
        end++;
    }
    if (*end != '\0') {
        return -1;
    }
    return scaled(v, mul, max, out);
}
