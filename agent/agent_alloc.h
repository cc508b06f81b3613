/* The allocation the ledger holds for one watched service, as the agent
 * applies it (agent_enforce.h): nice level, CPU affinity, rlimits and the
 * cgroup v2 cpu and memory limits; plus its validation and the CPU-list
 * ("0-3,6") parser and formatter.
 *
 * An allocation is plain data, copied by value. Only the fields whose bit
 * is in @set are requested; the others are ignored. Everything here is pure
 * (no I/O) except agent_cpus_read(), and may be called from any thread. */
#ifndef QM_AGENT_AGENT_ALLOC_H
#define QM_AGENT_AGENT_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qm_err.h"

/* Bits of agent_alloc.set, one per field. */
#define AGENT_ALLOC_NICE (1u << 0)
#define AGENT_ALLOC_CPUS (1u << 1)
#define AGENT_ALLOC_NOFILE (1u << 2)
#define AGENT_ALLOC_NPROC (1u << 3)
#define AGENT_ALLOC_CPU_WEIGHT (1u << 4)
#define AGENT_ALLOC_CPU_MAX (1u << 5)
#define AGENT_ALLOC_MEMORY_HIGH (1u << 6)
#define AGENT_ALLOC_MEMORY_MAX (1u << 7)
#define AGENT_ALLOC_ALL 0xffu
/* The fields applied to every thread, to every process, to a cgroup. */
#define AGENT_ALLOC_THREAD_FIELDS (AGENT_ALLOC_NICE | AGENT_ALLOC_CPUS)
#define AGENT_ALLOC_RLIMIT_FIELDS (AGENT_ALLOC_NOFILE | AGENT_ALLOC_NPROC)
#define AGENT_ALLOC_CGROUP_FIELDS                                             \
    (AGENT_ALLOC_CPU_WEIGHT | AGENT_ALLOC_CPU_MAX | AGENT_ALLOC_MEMORY_HIGH | \
     AGENT_ALLOC_MEMORY_MAX)

/* Ranges (the kernel's, unless said otherwise). */
#define AGENT_NICE_MIN (-20)
#define AGENT_NICE_MAX 19
#define AGENT_CPUS_LEN 64  /* bytes of agent_alloc.cpus, NUL included */
#define AGENT_CPU_MAX 1024 /* CPUs 0..1023, as glibc's cpu_set_t */
#define AGENT_CPU_WEIGHT_MIN 1
#define AGENT_CPU_WEIGHT_MAX 10000
#define AGENT_CPU_PERIOD_MIN_US 1000LL /* kernel: 1 ms .. 1 s */
#define AGENT_CPU_PERIOD_MAX_US 1000000LL
#define AGENT_CPU_QUOTA_MIN_US 1000LL /* kernel: at least 1 ms */
/* Ours: a quota of 4096 CPUs for a whole second is enough. */
#define AGENT_CPU_QUOTA_MAX_US (4096LL * 1000000LL)
/* Ours: a limit below 1 MiB would only get the service OOM-killed. */
#define AGENT_MEMORY_MIN (1LL << 20)
/* nofile and nproc: this value means "unlimited" (RLIM_INFINITY). */
#define AGENT_RLIM_UNLIMITED UINT64_MAX
/* cpu_max_quota_us, memory_high, memory_max: this value means "max". */
#define AGENT_CG_MAX (-1)

struct agent_alloc
{
    uint32_t set;              /* AGENT_ALLOC_* bits of the requested fields */
    int32_t nice;              /* AGENT_NICE_MIN..AGENT_NICE_MAX */
    char cpus[AGENT_CPUS_LEN]; /* CPU list "0-3,6", NUL-terminated */
    uint64_t nofile;           /* soft and hard RLIMIT_NOFILE, >= 1 */
    uint64_t nproc;            /* soft and hard RLIMIT_NPROC, >= 1 */
    int64_t cpu_weight;        /* cgroup cpu.weight */
    int64_t cpu_max_quota_us;  /* cgroup cpu.max quota, AGENT_CG_MAX */
    int64_t cpu_max_period_us; /* cgroup cpu.max period */
    int64_t memory_high;       /* bytes, AGENT_CG_MAX = no limit */
    int64_t memory_max;        /* bytes, AGENT_CG_MAX = no limit */
};

/* A set of CPUs 0..AGENT_CPU_MAX-1, independent of glibc's cpu_set_t. */
struct agent_cpuset
{
    uint64_t bits[AGENT_CPU_MAX / 64];
};

/* ---- CPU sets ---- */

void agent_cpuset_clear(struct agent_cpuset *s);

/* Add @cpu; a value >= AGENT_CPU_MAX is ignored. */
void agent_cpuset_add(struct agent_cpuset *s, unsigned cpu);

bool agent_cpuset_has(const struct agent_cpuset *s, unsigned cpu);

unsigned agent_cpuset_count(const struct agent_cpuset *s);

bool agent_cpuset_equal(const struct agent_cpuset *a,
                        const struct agent_cpuset *b);

/* True when every CPU of @a is in @b. */
bool agent_cpuset_subset(const struct agent_cpuset *a,
                         const struct agent_cpuset *b);

/* Parse a CPU list: comma-separated items "N" or "N-M" (N <= M), decimal,
 * no spaces, not empty; one trailing newline is accepted (sysfs files end
 * with one). On success fills *out. Returns QM_OK, or QM_INVALID with the
 * reason in @errmsg (e.g. "cpu list '3-1': range runs backwards"). */
int agent_cpus_parse(const char *list,
                     struct agent_cpuset *out,
                     char errmsg[QM_ERRMSG_SIZE]);

/* Format @s as the shortest CPU list ("0-3,6"; "" for the empty set) into
 * @buf of @size bytes. Returns QM_OK, or QM_EFULL when it does not fit (then
 * @buf holds a truncated, NUL-terminated prefix). */
int agent_cpus_format(const struct agent_cpuset *s, char *buf, size_t size);

/* Read a CPU list file such as AGENT_CPUS_ONLINE_PATH into *out. Returns
 * QM_OK, QM_EIO (cannot read; errno text in @errmsg) or QM_INVALID. */
#define AGENT_CPUS_ONLINE_PATH "/sys/devices/system/cpu/online"
int agent_cpus_read(const char *path,
                    struct agent_cpuset *out,
                    char errmsg[QM_ERRMSG_SIZE]);

/* ---- allocations ---- */

/* Check every requested field of @a: known bits only, the ranges above,
 * memory.high not above memory.max, the CPU list's syntax, and, when
 * @exist is not NULL, that every CPU listed is in @exist (the agent passes
 * the online CPUs). Returns QM_OK, or QM_INVALID with a one-line reason
 * naming the field in @errmsg ("cpu.weight 0 outside 1..10000"). */
int agent_alloc_validate(const struct agent_alloc *a,
                         const struct agent_cpuset *exist,
                         char errmsg[QM_ERRMSG_SIZE]);

/* The name of one field bit: "nice", "cpus", "nofile", "nproc",
 * "cpu.weight", "cpu.max", "memory.high", "memory.max"; "?" otherwise.
 * The cgroup fields are named for their cgroup file. */
const char *agent_alloc_field_name(uint32_t bit);

/* Format the requested value of one field of @a as text: "5", "0-3",
 * "4096", "unlimited" (nofile/nproc), "250"; for the cgroup fields exactly
 * what the cgroup file takes and shows: "max 100000", "50000 100000",
 * "max", "67108864". Returns QM_OK, QM_EFULL (truncated) or QM_INVALID
 * (@bit is not one field). */
#define AGENT_ALLOC_VALUE_MAX 48
int agent_alloc_format_field(const struct agent_alloc *a,
                             uint32_t bit,
                             char *buf,
                             size_t size);

#endif
