#include "agent_sock.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_fs.h"
#include "qm_alloc.h"
#include "qm_err.h"

/* Fields of a /proc/net/tcp line, counted from 0 ("sl"). */
#define F_STATE 3
#define F_INODE 9
/* A key keeps the state in its low 4 bits. */
#define STATE_BITS 4
#define INODE_MAX (UINT64_MAX >> STATE_BITS)
#define FIRST_CAP 64
/* Dump states: all but time-wait, whose sockets have no inode. */
#define DIAG_STATES (((1u << AGENT_TCP_STATES) - 2) & ~(1u << 6))
/* One recv of a dump; the kernel fits its batches to what we read. */
#define DIAG_BUF 16384

const char *const agent_tcp_state_names[AGENT_TCP_STATES] = {
    "unknown",    "established", "syn_sent",  "syn_recv",
    "fin_wait1",  "fin_wait2",   "time_wait", "close",
    "close_wait", "last_ack",    "listen",    "closing",
};

/* ---- One table ---- */

void agent_sock_table_init(struct agent_sock_table *t)
{
    memset(t, 0, sizeof(*t));
}

void agent_sock_table_close(struct agent_sock_table *t)
{
    qm_free(t->keys);
    memset(t, 0, sizeof(*t));
}

/* What a load carries between lines. */
struct load
{
    struct agent_sock_table *t;
    bool nomem;
};

/* The next blank-separated token at *@p: its start, length in *@n. */
static const char *token(const char **p, size_t *n)
{
    const char *s = *p;
    while (*s == ' ') {
        s++;
    }
    const char *start = s;
    while (*s != ' ' && *s != '\0') {
        s++;
    }
    *n = (size_t)(s - start);
    *p = s;
    return start;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

static bool add_key(struct load *l, uint64_t key)
{
    struct agent_sock_table *t = l->t;
    if (t->n == t->cap) {
        size_t cap = t->cap == 0 ? FIRST_CAP : t->cap * 2;
        if (cap > AGENT_SOCK_TABLE_MAX || l->nomem) {
            return false;
        }
        uint64_t *keys = qm_realloc(t->keys, cap * sizeof(*keys));
        if (keys == NULL) {
            l->nomem = true;
            return false;
        }
        t->keys = keys;
        t->cap = cap;
    }
    t->keys[t->n++] = key;
    return true;
}

/* One line: "N: LOCAL REMOTE ST TXQ:RXQ TR:WHEN RETR UID TIMEOUT INODE
 * ...". The header and anything malformed are skipped. */
static int load_line(void *arg, char *line, size_t len)
{
    struct load *l = arg;
    const char *p = line;
    size_t n;
    const char *tok = token(&p, &n);
    int state = -1;
    (void)len;
    if (n < 2 || tok[n - 1] != ':') {
        return 0;
    }
    for (int f = 1; f <= F_INODE; f++) {
        tok = token(&p, &n);
        if (n == 0) {
            return 0;
        }
        if (f == F_STATE) {
            int hi = n == 2 ? hexval(tok[0]) : -1;
            int lo = n == 2 ? hexval(tok[1]) : -1;
            state = hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
        }
    }
    uint64_t inode;
    if (state < 1 || state >= AGENT_TCP_STATES ||
        !agent__next_u64(&tok, &inode) || tok != p || inode == 0 ||
        inode > INODE_MAX) {
        return 0; /* inode 0: time-wait and request sockets have no fd */
    }
    if (!add_key(l, inode << STATE_BITS | (uint64_t)state)) {
        l->t->truncated++;
    }
    return 0;
}

static int cmp_key(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int agent_sock_table_load(struct agent_sock_table *t,
                          int dirfd,
                          const char *netdir)
{
    char path[AGENT_PATH_MAX];
    struct load l = {.t = t, .nomem = false};
    t->n = 0;
    t->truncated = 0;
    snprintf(path, sizeof(path), "%s/tcp", netdir);
    if (agent__each_line_at(dirfd, path, load_line, &l) != 0) {
        t->n = 0;
        return QM_EIO;
    }
    snprintf(path, sizeof(path), "%s/tcp6", netdir);
    (void)agent__each_line_at(dirfd, path, load_line, &l);
    if (t->n > 1) {
        qsort(t->keys, t->n, sizeof(*t->keys), cmp_key);
    }
    return l.nomem ? QM_ENOMEM : QM_OK;
}

/* Request a dump of @family's TCP sockets on the sock_diag socket @fd. */
static int diag_request(int fd, uint8_t family)
{
    struct
    {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 r;
    } req;
    memset(&req, 0, sizeof(req));
    req.nlh.nlmsg_len = sizeof(req);
    req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.r.sdiag_family = family;
    req.r.sdiag_protocol = IPPROTO_TCP;
    req.r.idiag_states = DIAG_STATES;
    ssize_t w;
    do {
        w = send(fd, &req, sizeof(req), 0);
    } while (w < 0 && errno == EINTR);
    return w == (ssize_t)sizeof(req) ? 0 : -1;
}

/* Add the sockets of one batch of a dump; 1 at its end, -1 on an error
 * or a malformed message, else 0. Read through memcpy: no alignment
 * assumptions. */
static int diag_batch(struct load *l, const char *buf, size_t len)
{
    size_t off = 0;
    while (len - off >= sizeof(struct nlmsghdr)) {
        struct nlmsghdr h;
        struct inet_diag_msg m;
        memcpy(&h, buf + off, sizeof(h));
        if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > len - off ||
            h.nlmsg_type == NLMSG_ERROR) {
            return -1;
        }
        if (h.nlmsg_type == NLMSG_DONE) {
            return 1;
        }
        if (h.nlmsg_len >= NLMSG_LENGTH(sizeof(m))) {
            memcpy(&m, buf + off + NLMSG_LENGTH(0), sizeof(m));
            if (m.idiag_inode != 0 && m.idiag_state >= 1 &&
                m.idiag_state < AGENT_TCP_STATES &&
                !add_key(
                    l, (uint64_t)m.idiag_inode << STATE_BITS | m.idiag_state)) {
                l->t->truncated++;
            }
        }
        off += NLMSG_ALIGN(h.nlmsg_len);
        off = off < len ? off : len;
    }
    return 0;
}

/* Dump @family's TCP sockets into @l; 0, or -1 if the kernel refused. */
static int diag_dump(int fd, uint8_t family, struct load *l)
{
    _Alignas(struct nlmsghdr) char buf[DIAG_BUF];
    if (diag_request(fd, family) != 0) {
        return -1;
    }
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof(buf), 0);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return -1;
        }
        int rv = diag_batch(l, buf, (size_t)r);
        if (rv != 0) {
            return rv > 0 ? 0 : -1;
        }
    }
}

int agent_sock_table_load_diag(struct agent_sock_table *t)
{
    struct load l = {.t = t, .nomem = false};
    t->n = 0;
    t->truncated = 0;
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) {
        return QM_EIO;
    }
    int rv = diag_dump(fd, AF_INET, &l);
    if (rv == 0) {
        (void)diag_dump(fd, AF_INET6, &l); /* IPv6 may be off */
    }
    close(fd);
    if (rv != 0) {
        t->n = 0;
        return QM_EIO;
    }
    if (t->n > 1) {
        qsort(t->keys, t->n, sizeof(*t->keys), cmp_key);
    }
    return l.nomem ? QM_ENOMEM : QM_OK;
}

int agent_sock_table_state(const struct agent_sock_table *t, uint64_t inode)
{
    if (inode == 0 || inode > INODE_MAX) {
        return 0;
    }
    uint64_t want = inode << STATE_BITS;
    size_t lo = 0;
    size_t hi = t->n;
    while (lo < hi) { /* first key >= want */
        size_t mid = lo + (hi - lo) / 2;
        if (t->keys[mid] < want) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo < t->n && t->keys[lo] >> STATE_BITS == inode) {
        return (int)(t->keys[lo] & ((1u << STATE_BITS) - 1));
    }
    return 0;
}

/* ---- All namespaces ---- */

/* Inode of @name's network namespace file, 0 if it cannot be told. */
static uint64_t ns_of(int rootfd, const char *name)
{
    char path[48];
    struct stat st;
    snprintf(path, sizeof(path), "%s/ns/net", name);
    return fstatat(rootfd, path, &st, 0) == 0 ? (uint64_t)st.st_ino : 0;
}

void agent_sock_ns_init(struct agent_sock_ns *s, int rootfd, bool live)
{
    memset(s, 0, sizeof(*s));
    s->rootfd = rootfd;
    s->live = live;
    s->self_ns = ns_of(rootfd, "self");
    for (size_t i = 0; i < AGENT_NETNS_MAX; i++) {
        agent_sock_table_init(&s->v[i].table);
    }
}

void agent_sock_ns_close(struct agent_sock_ns *s)
{
    for (size_t i = 0; i < AGENT_NETNS_MAX; i++) {
        agent_sock_table_close(&s->v[i].table);
    }
    s->n = 0;
}

void agent_sock_ns_begin(struct agent_sock_ns *s)
{
    s->sample++;
}

/* The slot of namespace @ns: its own, a new one, or the one used longest
 * ago if that was before this sample; NULL if all are in use now. */
static struct agent_sock_nsent *slot_of(struct agent_sock_ns *s, uint64_t ns)
{
    struct agent_sock_nsent *oldest = NULL;
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i].ns == ns) {
            return &s->v[i];
        }
        if (oldest == NULL || s->v[i].loaded_in < oldest->loaded_in) {
            oldest = &s->v[i];
        }
    }
    if (s->n < AGENT_NETNS_MAX) {
        oldest = &s->v[s->n++];
        oldest->loaded_in = 0;
    } else if (oldest == NULL || oldest->loaded_in == s->sample) {
        s->overflow++;
        return NULL;
    }
    oldest->ns = ns;
    oldest->loaded_in = 0;
    return oldest;
}

const struct agent_sock_table *agent_sock_ns_table(struct agent_sock_ns *s,
                                                   int32_t pid)
{
    char name[16];
    snprintf(name, sizeof(name), "%d", (int)pid);
    uint64_t ns = ns_of(s->rootfd, name);
    if (ns == s->self_ns) {
        ns = 0; /* ours, or unknown: the root's own "net" */
    }
    struct agent_sock_nsent *e = slot_of(s, ns);
    if (e == NULL) {
        return NULL;
    }
    if (e->loaded_in != s->sample) {
        char netdir[32];
        snprintf(netdir, sizeof(netdir), "%s/net", name);
        int rv = QM_EIO;
        if (ns == 0 && s->live && !s->diag_failed) {
            rv = agent_sock_table_load_diag(&e->table);
            s->diag_failed = rv == QM_EIO;
        }
        if (rv == QM_EIO) {
            rv = agent_sock_table_load(&e->table, s->rootfd,
                                       ns == 0 ? "net" : netdir);
        }
        if (rv == QM_EIO) {
            return NULL; /* the next process of this namespace retries */
        }
        e->loaded_in = s->sample;
    }
    return &e->table;
}
