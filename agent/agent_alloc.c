/* Allocation validation and CPU lists; see agent_alloc.h. */
#include "agent_alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- CPU sets ---- */

void agent_cpuset_clear(struct agent_cpuset *s)
{
    memset(s, 0, sizeof(*s));
}

void agent_cpuset_add(struct agent_cpuset *s, unsigned cpu)
{
    if (cpu < AGENT_CPU_MAX) {
        s->bits[cpu / 64] |= UINT64_C(1) << (cpu % 64);
    }
}

bool agent_cpuset_has(const struct agent_cpuset *s, unsigned cpu)
{
    return cpu < AGENT_CPU_MAX &&
           (s->bits[cpu / 64] & (UINT64_C(1) << (cpu % 64))) != 0;
}

unsigned agent_cpuset_count(const struct agent_cpuset *s)
{
    unsigned n = 0;
    for (size_t i = 0; i < AGENT_CPU_MAX / 64; i++) {
        n += (unsigned)__builtin_popcountll(s->bits[i]);
    }
    return n;
}

bool agent_cpuset_equal(const struct agent_cpuset *a,
                        const struct agent_cpuset *b)
{
    return memcmp(a->bits, b->bits, sizeof(a->bits)) == 0;
}

bool agent_cpuset_subset(const struct agent_cpuset *a,
                         const struct agent_cpuset *b)
{
    for (size_t i = 0; i < AGENT_CPU_MAX / 64; i++) {
        if ((a->bits[i] & ~b->bits[i]) != 0) {
            return false;
        }
    }
    return true;
}

/* ---- CPU lists ---- */

/* Parse the decimal CPU number at *p, advancing *p. False when there is no
 * digit or the number is >= AGENT_CPU_MAX. */
static bool parse_cpu(const char **p, unsigned *out)
{
    const char *s = *p;
    unsigned v = 0;
    if (*s < '0' || *s > '9') {
        return false;
    }
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (unsigned)(*s - '0');
        if (v >= AGENT_CPU_MAX) {
            return false;
        }
        s++;
    }
    *p = s;
    *out = v;
    return true;
}

int agent_cpus_parse(const char *list,
                     struct agent_cpuset *out,
                     char errmsg[QM_ERRMSG_SIZE])
{
    struct agent_cpuset set;
    agent_cpuset_clear(&set);
    const char *p = list;
    for (;;) {
        unsigned lo, hi;
        if (!parse_cpu(&p, &lo)) {
            goto err_syntax;
        }
        hi = lo;
        if (*p == '-') {
            p++;
            if (!parse_cpu(&p, &hi)) {
                goto err_syntax;
            }
            if (hi < lo) {
                snprintf(errmsg, QM_ERRMSG_SIZE,
                         "cpu list '%.64s': range %u-%u runs backwards", list,
                         lo, hi);
                return QM_INVALID;
            }
        }
        for (unsigned c = lo; c <= hi; c++) {
            agent_cpuset_add(&set, c);
        }
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '\0' || (p[0] == '\n' && p[1] == '\0')) {
            break;
        }
        goto err_syntax;
    }
    *out = set;
    return QM_OK;

err_syntax:
    snprintf(errmsg, QM_ERRMSG_SIZE,
             "cpu list '%.64s': expected N or N-M items separated by commas, "
             "each below %d",
             list, AGENT_CPU_MAX);
    return QM_INVALID;
}

int agent_cpus_format(const struct agent_cpuset *s, char *buf, size_t size)
{
    if (size == 0) {
        return QM_EFULL;
    }
    size_t len = 0;
    buf[0] = '\0';
    for (unsigned c = 0; c < AGENT_CPU_MAX; c++) {
        if (!agent_cpuset_has(s, c)) {
            continue;
        }
        unsigned hi = c;
        while (hi + 1 < AGENT_CPU_MAX && agent_cpuset_has(s, hi + 1)) {
            hi++;
        }
        int n = hi == c ? snprintf(buf + len, size - len, "%s%u",
                                   len > 0 ? "," : "", c)
                        : snprintf(buf + len, size - len, "%s%u-%u",
                                   len > 0 ? "," : "", c, hi);
        if (n < 0 || (size_t)n >= size - len) {
            return QM_EFULL;
        }
        len += (size_t)n;
        c = hi;
    }
    return QM_OK;
}

int agent_cpus_read(const char *path,
                    struct agent_cpuset *out,
                    char errmsg[QM_ERRMSG_SIZE])
{
    char buf[4096];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(errmsg, QM_ERRMSG_SIZE, "cannot open %s: %s", path,
                 strerror(errno));
        return QM_EIO;
    }
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    int saved = errno;
    close(fd);
    if (n < 0) {
        snprintf(errmsg, QM_ERRMSG_SIZE, "cannot read %s: %s", path,
                 strerror(saved));
        return QM_EIO;
    }
    buf[n] = '\0';
    return agent_cpus_parse(buf, out, errmsg);
}

/* ---- allocations ---- */

static int invalid(char errmsg[QM_ERRMSG_SIZE],
                   const char *field,
                   int64_t v,
                   int64_t lo,
                   int64_t hi)
{
    snprintf(errmsg, QM_ERRMSG_SIZE,
             "%s %" PRId64 " outside %" PRId64 "..%" PRId64, field, v, lo, hi);
    return QM_INVALID;
}

/* A cgroup value: AGENT_CG_MAX or lo..hi. */
static bool cg_value_ok(int64_t v, int64_t lo, int64_t hi)
{
    return v == AGENT_CG_MAX || (v >= lo && v <= hi);
}

static int validate_cpus(const struct agent_alloc *a,
                         const struct agent_cpuset *exist,
                         char errmsg[QM_ERRMSG_SIZE])
{
    struct agent_cpuset set;
    if (memchr(a->cpus, '\0', sizeof(a->cpus)) == NULL) {
        snprintf(errmsg, QM_ERRMSG_SIZE, "cpus: list longer than %d bytes",
                 AGENT_CPUS_LEN - 1);
        return QM_INVALID;
    }
    int rv = agent_cpus_parse(a->cpus, &set, errmsg);
    if (rv != QM_OK) {
        return rv;
    }
    if (exist != NULL && !agent_cpuset_subset(&set, exist)) {
        char have[AGENT_CPUS_LEN];
        agent_cpus_format(exist, have, sizeof(have));
        snprintf(errmsg, QM_ERRMSG_SIZE,
                 "cpus '%s': not all of them exist on this host (%s)", a->cpus,
                 have);
        return QM_INVALID;
    }
    return QM_OK;
}

static int validate_rlimits(const struct agent_alloc *a,
                            char errmsg[QM_ERRMSG_SIZE])
{
    if ((a->set & AGENT_ALLOC_NOFILE) && a->nofile == 0) {
        snprintf(errmsg, QM_ERRMSG_SIZE, "nofile must be at least 1");
        return QM_INVALID;
    }
    if ((a->set & AGENT_ALLOC_NPROC) && a->nproc == 0) {
        snprintf(errmsg, QM_ERRMSG_SIZE, "nproc must be at least 1");
        return QM_INVALID;
    }
    return QM_OK;
}

static int validate_cgroup(const struct agent_alloc *a,
                           char errmsg[QM_ERRMSG_SIZE])
{
    uint32_t s = a->set;
    if ((s & AGENT_ALLOC_CPU_WEIGHT) &&
        (a->cpu_weight < AGENT_CPU_WEIGHT_MIN ||
         a->cpu_weight > AGENT_CPU_WEIGHT_MAX)) {
        return invalid(errmsg, "cpu.weight", a->cpu_weight,
                       AGENT_CPU_WEIGHT_MIN, AGENT_CPU_WEIGHT_MAX);
    }
    if (s & AGENT_ALLOC_CPU_MAX) {
        if (a->cpu_max_period_us < AGENT_CPU_PERIOD_MIN_US ||
            a->cpu_max_period_us > AGENT_CPU_PERIOD_MAX_US) {
            return invalid(errmsg, "cpu.max period", a->cpu_max_period_us,
                           AGENT_CPU_PERIOD_MIN_US, AGENT_CPU_PERIOD_MAX_US);
        }
        if (!cg_value_ok(a->cpu_max_quota_us, AGENT_CPU_QUOTA_MIN_US,
                         AGENT_CPU_QUOTA_MAX_US)) {
            return invalid(errmsg, "cpu.max quota (-1 = max)",
                           a->cpu_max_quota_us, AGENT_CPU_QUOTA_MIN_US,
                           AGENT_CPU_QUOTA_MAX_US);
        }
    }
    if ((s & AGENT_ALLOC_MEMORY_HIGH) &&
        !cg_value_ok(a->memory_high, AGENT_MEMORY_MIN, INT64_MAX)) {
        return invalid(errmsg, "memory.high (-1 = max)", a->memory_high,
                       AGENT_MEMORY_MIN, INT64_MAX);
    }
    if ((s & AGENT_ALLOC_MEMORY_MAX) &&
        !cg_value_ok(a->memory_max, AGENT_MEMORY_MIN, INT64_MAX)) {
        return invalid(errmsg, "memory.max (-1 = max)", a->memory_max,
                       AGENT_MEMORY_MIN, INT64_MAX);
    }
    /* memory.high above memory.max never takes effect: a ledger mistake. */
    if ((s & AGENT_ALLOC_MEMORY_HIGH) && (s & AGENT_ALLOC_MEMORY_MAX) &&
        a->memory_max != AGENT_CG_MAX &&
        (a->memory_high == AGENT_CG_MAX || a->memory_high > a->memory_max)) {
        snprintf(errmsg, QM_ERRMSG_SIZE,
                 "memory.high %" PRId64 " above memory.max %" PRId64,
                 a->memory_high, a->memory_max);
        return QM_INVALID;
    }
    return QM_OK;
}

int agent_alloc_validate(const struct agent_alloc *a,
                         const struct agent_cpuset *exist,
                         char errmsg[QM_ERRMSG_SIZE])
{
    if ((a->set & ~AGENT_ALLOC_ALL) != 0) {
        snprintf(errmsg, QM_ERRMSG_SIZE, "unknown allocation fields 0x%x",
                 (unsigned)(a->set & ~AGENT_ALLOC_ALL));
        return QM_INVALID;
    }
    if ((a->set & AGENT_ALLOC_NICE) &&
        (a->nice < AGENT_NICE_MIN || a->nice > AGENT_NICE_MAX)) {
        return invalid(errmsg, "nice", a->nice, AGENT_NICE_MIN, AGENT_NICE_MAX);
    }
    if (a->set & AGENT_ALLOC_CPUS) {
        int rv = validate_cpus(a, exist, errmsg);
        if (rv != QM_OK) {
            return rv;
        }
    }
    int rv = validate_rlimits(a, errmsg);
    if (rv != QM_OK) {
        return rv;
    }
    return validate_cgroup(a, errmsg);
}

static const struct
{
    uint32_t bit;
    const char *name;
} field_names[] = {
    {AGENT_ALLOC_NICE, "nice"},
    {AGENT_ALLOC_CPUS, "cpus"},
    {AGENT_ALLOC_NOFILE, "nofile"},
    {AGENT_ALLOC_NPROC, "nproc"},
    {AGENT_ALLOC_CPU_WEIGHT, "cpu.weight"},
    {AGENT_ALLOC_CPU_MAX, "cpu.max"},
    {AGENT_ALLOC_MEMORY_HIGH, "memory.high"},
    {AGENT_ALLOC_MEMORY_MAX, "memory.max"},
};

const char *agent_alloc_field_name(uint32_t bit)
{
    for (size_t i = 0; i < sizeof(field_names) / sizeof(field_names[0]); i++) {
        if (field_names[i].bit == bit) {
            return field_names[i].name;
        }
    }
    return "?";
}

/* QM_OK when snprintf's result @n fitted in @size bytes. */
static int fitted(int n, size_t size)
{
    return n < 0 || (size_t)n >= size ? QM_EFULL : QM_OK;
}

/* "unlimited" or the decimal value, for an rlimit. */
static int format_rlim(uint64_t v, char *buf, size_t size)
{
    int n = v == AGENT_RLIM_UNLIMITED ? snprintf(buf, size, "unlimited")
                                      : snprintf(buf, size, "%" PRIu64, v);
    return fitted(n, size);
}

/* "max" or the decimal value, as cgroup files show them. */
static int format_cg(int64_t v, char *buf, size_t size)
{
    int n = v == AGENT_CG_MAX ? snprintf(buf, size, "max")
                              : snprintf(buf, size, "%" PRId64, v);
    return fitted(n, size);
}

int agent_alloc_format_field(const struct agent_alloc *a,
                             uint32_t bit,
                             char *buf,
                             size_t size)
{
    int n;
    switch (bit) {
        case AGENT_ALLOC_NICE:
            n = snprintf(buf, size, "%" PRId32, a->nice);
            return fitted(n, size);
        case AGENT_ALLOC_CPUS:
            n = snprintf(buf, size, "%.*s", AGENT_CPUS_LEN - 1, a->cpus);
            return fitted(n, size);
        case AGENT_ALLOC_NOFILE:
            return format_rlim(a->nofile, buf, size);
        case AGENT_ALLOC_NPROC:
            return format_rlim(a->nproc, buf, size);
        case AGENT_ALLOC_CPU_WEIGHT:
            return format_cg(a->cpu_weight, buf, size);
        case AGENT_ALLOC_CPU_MAX: {
            char quota[24];
            format_cg(a->cpu_max_quota_us, quota, sizeof(quota));
            n = snprintf(buf, size, "%s %" PRId64, quota, a->cpu_max_period_us);
            return fitted(n, size);
        }
        case AGENT_ALLOC_MEMORY_HIGH:
            return format_cg(a->memory_high, buf, size);
        case AGENT_ALLOC_MEMORY_MAX:
            return format_cg(a->memory_max, buf, size);
        default:
            if (size > 0) {
                buf[0] = '\0';
            }
            return QM_INVALID;
    }
}
