#include "agent_host.h"

#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

#include "agent_fs.h"

/* Columns of a "cpu" line of /proc/stat: user nice system idle iowait irq
 * softirq steal (guest time is already inside user and nice). */
#define CPU_COLS 8
#define COL_IDLE 3
#define COL_IOWAIT 4
/* Columns of an interface in /proc/net/dev after "NAME:". */
#define DEV_RX_BYTES 0
#define DEV_TX_BYTES 8

int agent_host_init(struct agent_host *h,
                    int rootfd,
                    const char *const *disks,
                    size_t ndisks,
                    char errmsg[QM_ERRMSG_SIZE])
{
    static const char *const root_only[] = {"/"};
    if (ndisks == 0) {
        disks = root_only;
        ndisks = 1;
    }
    if (ndisks > AGENT_DISKS_MAX) {
        snprintf(errmsg, QM_ERRMSG_SIZE, "%zu disk paths, at most %d", ndisks,
                 AGENT_DISKS_MAX);
        return QM_INVALID;
    }
    memset(h, 0, sizeof(*h));
    for (size_t i = 0; i < ndisks; i++) {
        size_t len = strlen(disks[i]);
        if (disks[i][0] != '/' || len >= AGENT_DISK_PATH_MAX) {
            snprintf(errmsg, QM_ERRMSG_SIZE,
                     "disk path \"%.64s\": must be absolute, at most %d "
                     "bytes",
                     disks[i], AGENT_DISK_PATH_MAX - 1);
            return QM_INVALID;
        }
        memcpy(h->disks[i], disks[i], len + 1);
    }
    h->ndisks = (uint32_t)ndisks;
    h->rootfd = rootfd;
    return QM_OK;
}

void agent_host_close(struct agent_host *h)
{
    h->ndisks = 0;
}

/* ---- /proc/stat ---- */

struct cpu_read
{
    int32_t ncpu;
    bool have_total;
    uint64_t total;
    uint64_t idle;
};

static int stat_line(void *arg, char *line, size_t len)
{
    struct cpu_read *c = arg;
    (void)len;
    if (strncmp(line, "cpu", 3) != 0) {
        return 0;
    }
    if (line[3] >= '0' && line[3] <= '9') {
        c->ncpu++;
        return 0;
    }
    const char *p = line + 3;
    uint64_t col[CPU_COLS];
    uint64_t total = 0;
    for (int i = 0; i < CPU_COLS; i++) {
        if (!agent__next_u64(&p, &col[i])) {
            return 0;
        }
        total += col[i];
    }
    c->have_total = true;
    c->total = total;
    c->idle = col[COL_IDLE] + col[COL_IOWAIT];
    return 0;
}

static void sample_cpu(struct agent_host *h, struct agent_host_sample *out)
{
    struct cpu_read c = {0};
    if (agent__each_line_at(h->rootfd, "stat", stat_line, &c) != 0 ||
        !c.have_total) {
        return;
    }
    out->ncpu = c.ncpu;
    uint64_t dt = c.total - h->prev_cpu_total;
    uint64_t di = c.idle - h->prev_cpu_idle;
    if (h->have_cpu && c.total > h->prev_cpu_total &&
        c.idle >= h->prev_cpu_idle && di <= dt) {
        out->cpu_busy_pm = (int32_t)((dt - di) * 1000 / dt);
    }
    h->prev_cpu_total = c.total;
    h->prev_cpu_idle = c.idle;
    h->have_cpu = true;
}

/* ---- /proc/loadavg, /proc/meminfo ---- */

static void sample_load(struct agent_host *h, struct agent_host_sample *out)
{
    char buf[128];
    const char *p = buf;
    uint64_t whole;
    if (agent__read_at(h->rootfd, "loadavg", buf, sizeof(buf)) <= 0 ||
        !agent__next_u64(&p, &whole) || whole > INT32_MAX / 1000) {
        return;
    }
    int64_t milli = (int64_t)whole * 1000;
    if (*p == '.') {
        int scale = 100;
        for (p++; *p >= '0' && *p <= '9' && scale > 0; p++, scale /= 10) {
            milli += (*p - '0') * scale;
        }
    }
    out->load1_milli = milli > INT32_MAX ? INT32_MAX : (int32_t)milli;
}

static int meminfo_line(void *arg, char *line, size_t len)
{
    static const struct
    {
        const char *label;
        size_t off;
    } keys[] = {
        {"MemTotal:", offsetof(struct agent_host_sample, mem_total_bytes)},
        {"MemAvailable:", offsetof(struct agent_host_sample, mem_avail_bytes)},
        {"SwapTotal:", offsetof(struct agent_host_sample, swap_total_bytes)},
        {"SwapFree:", offsetof(struct agent_host_sample, swap_free_bytes)},
    };
    (void)len;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        size_t n = strlen(keys[i].label);
        const char *p = line + n;
        uint64_t kib;
        if (strncmp(line, keys[i].label, n) == 0 && agent__next_u64(&p, &kib) &&
            kib <= INT64_MAX / 1024) {
            int64_t bytes = (int64_t)kib * 1024;
            memcpy((char *)arg + keys[i].off, &bytes, sizeof(bytes));
        }
    }
    return 0;
}

/* ---- /proc/net/dev ---- */

struct net_read
{
    bool any;
    int64_t rx;
    int64_t tx;
};

/* "  eth0: RXBYTES PACKETS ... TXBYTES ..."; headers have no ':'. */
static int netdev_line(void *arg, char *line, size_t len)
{
    struct net_read *nr = arg;
    (void)len;
    char *colon = strchr(line, ':');
    if (colon == NULL) {
        return 0;
    }
    const char *name = line;
    while (*name == ' ') {
        name++;
    }
    if (colon - name == 2 && strncmp(name, "lo", 2) == 0) {
        return 0;
    }
    const char *p = colon + 1;
    uint64_t rx = 0;
    uint64_t tx = 0;
    for (int i = 0; i <= DEV_TX_BYTES; i++) {
        uint64_t v;
        if (!agent__next_u64(&p, &v)) {
            return 0;
        }
        rx = i == DEV_RX_BYTES ? v : rx;
        tx = i == DEV_TX_BYTES ? v : tx;
    }
    nr->any = true;
    nr->rx += (int64_t)(rx & INT64_MAX);
    nr->tx += (int64_t)(tx & INT64_MAX);
    return 0;
}

static int64_t per_second(int64_t now, int64_t prev, int64_t dt_ms)
{
    return now < prev ? 0 : (now - prev) * 1000 / dt_ms;
}

static void sample_net(struct agent_host *h,
                       int64_t now_ms,
                       struct agent_host_sample *out)
{
    struct net_read nr = {0};
    if (agent__each_line_at(h->rootfd, "net/dev", netdev_line, &nr) != 0 ||
        !nr.any) {
        return;
    }
    out->net_rx_bytes = nr.rx;
    out->net_tx_bytes = nr.tx;
    int64_t dt = now_ms - h->net_ms;
    if (h->have_net && dt > 0) {
        out->net_rx_bps = per_second(nr.rx, h->prev_rx, dt);
        out->net_tx_bps = per_second(nr.tx, h->prev_tx, dt);
    }
    h->prev_rx = nr.rx;
    h->prev_tx = nr.tx;
    h->net_ms = now_ms;
    h->have_net = true;
}

/* ---- Processes and disks ---- */

static void sample_nprocs(struct agent_host *h, struct agent_host_sample *out)
{
    struct agent__dir d;
    if (agent__dir_open_at(&d, h->rootfd, ".") != 0) {
        return;
    }
    int32_t n = 0;
    const char *name;
    while ((name = agent__dir_next(&d)) != NULL) {
        n += agent__parse_pid(name) > 0;
    }
    agent__dir_close(&d);
    out->nprocs = n;
}

static void sample_disks(struct agent_host *h, struct agent_host_sample *out)
{
    out->ndisks = h->ndisks;
    for (uint32_t i = 0; i < h->ndisks; i++) {
        struct agent_disk_sample *d = &out->disks[i];
        struct statvfs st;
        memcpy(d->path, h->disks[i], sizeof(d->path));
        d->total_bytes = -1;
        d->used_bytes = -1;
        d->avail_bytes = -1;
        if (statvfs(h->disks[i], &st) != 0) {
            continue;
        }
        int64_t unit = (int64_t)st.f_frsize;
        d->total_bytes = (int64_t)st.f_blocks * unit;
        d->used_bytes = (int64_t)(st.f_blocks - st.f_bfree) * unit;
        d->avail_bytes = (int64_t)st.f_bavail * unit;
    }
}

int agent_host_sample(struct agent_host *h,
                      int64_t now_ms,
                      struct agent_host_sample *out)
{
    /* Every field before ndisks is signed: all bits set is -1. */
    memset(out, 0xff, offsetof(struct agent_host_sample, ndisks));
    out->ndisks = 0;
    sample_cpu(h, out);
    sample_load(h, out);
    (void)agent__each_line_at(h->rootfd, "meminfo", meminfo_line, out);
    sample_net(h, now_ms, out);
    sample_nprocs(h, out);
    sample_disks(h, out);
    return QM_OK;
}
