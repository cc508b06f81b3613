/* TCP socket states by socket inode, one table per network namespace.
 *
 * A process's socket fds link to "socket:[INODE]"; the kernel's TCP tables
 * list each socket's state and inode. A table is a sorted array of packed
 * (inode << 4 | state) keys, looked up by binary search. The tables of all
 * namespaces live in a struct agent_sock_ns that reads each namespace's
 * table at most once per sample, and only when a process of that namespace
 * has a socket.
 *
 * Sources: the agent's own namespace is read through NETLINK_SOCK_DIAG (a
 * dump of TCP sockets, all states but time-wait), because reading
 * /proc/net/tcp walks the kernel's whole established hash at each 4 KiB
 * chunk: about 5 ms per file on a host with a large hash, even when empty,
 * against well under 1 ms for the dump. Other namespaces, fake proc trees
 * and hosts without sock_diag use /proc/PID/net/tcp and tcp6.
 *
 * Not thread-safe: one thread (the agent's loop) owns these objects. */
#ifndef QM_AGENT_AGENT_SOCK_H
#define QM_AGENT_AGENT_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Kernel TCP states are 1 (TCP_ESTABLISHED) .. 11 (TCP_CLOSING); arrays of
 * counts by state have AGENT_TCP_STATES slots and slot 0 stays unused. */
#define AGENT_TCP_STATES 12

/* Sockets one table holds. More are left out and counted in
 * agent_sock_table.truncated: their fds still count as sockets, with no
 * state. 2^18 keys are 2 MiB. */
#define AGENT_SOCK_TABLE_MAX (1u << 18)

/* Network namespaces tracked at once. A process in a further namespace has
 * its sockets counted without states (agent_sock_ns.overflow counts such
 * look-ups). */
#define AGENT_NETNS_MAX 16

/* Lower-case state names by kernel state number: [1] "established" ..
 * [11] "closing"; [0] is "unknown". */
extern const char *const agent_tcp_state_names[AGENT_TCP_STATES];

/* One namespace's table. Embedded; agent_sock_table_init/close. */
struct agent_sock_table
{
    uint64_t *keys; /* owned; sorted (inode << 4 | state) */
    size_t n;
    size_t cap;
    size_t truncated; /* sockets left out at the last load */
};

void agent_sock_table_init(struct agent_sock_table *t);
void agent_sock_table_close(struct agent_sock_table *t);

/* Replace @t's contents with the sockets of @netdir/tcp and @netdir/tcp6,
 * @netdir relative to the open directory @dirfd ("net" or "1234/net" under
 * a proc root). Lines that do not parse are skipped. A missing tcp6 is
 * fine (IPv6 off). Returns QM_OK, QM_EIO when tcp cannot be read (the
 * table is then empty) or QM_ENOMEM (the table keeps what fit). */
int agent_sock_table_load(struct agent_sock_table *t,
                          int dirfd,
                          const char *netdir);

/* Replace @t's contents with a NETLINK_SOCK_DIAG dump of the TCP sockets
 * (IPv4, then IPv6 if the kernel has it) of the calling thread's network
 * namespace. Returns QM_OK, QM_EIO (no sock_diag: @t is then empty) or
 * QM_ENOMEM (@t keeps what fit). */
int agent_sock_table_load_diag(struct agent_sock_table *t);

/* State (1..11) of the TCP socket with @inode, or 0 if @t does not hold
 * it (not TCP, or not in this namespace). */
int agent_sock_table_state(const struct agent_sock_table *t, uint64_t inode);

/* One namespace's table and when it was read. */
struct agent_sock_nsent
{
    uint64_t ns;        /* inode of /proc/PID/ns/net; 0 = the agent's own */
    uint64_t loaded_in; /* agent_sock_ns.sample of the last good load */
    struct agent_sock_table table;
};

/* The tables of all namespaces. Embedded; init/close. */
struct agent_sock_ns
{
    int rootfd;       /* borrowed: the proc root directory */
    bool live;        /* the root is this kernel's /proc */
    bool diag_failed; /* sock_diag refused once: files from then on */
    uint64_t self_ns; /* the agent's namespace, 0 if unknown */
    uint64_t sample;  /* current sample number, from 1 */
    size_t n;
    size_t overflow; /* look-ups refused because all slots were in use */
    struct agent_sock_nsent v[AGENT_NETNS_MAX];
};

/* Borrows @rootfd (an open proc root directory) for @s's lifetime. @live:
 * the root is this kernel's /proc, so the agent's own namespace may be
 * read through sock_diag. */
void agent_sock_ns_init(struct agent_sock_ns *s, int rootfd, bool live);
void agent_sock_ns_close(struct agent_sock_ns *s);

/* Start a new sample: each namespace's files are read again on its next
 * look-up. */
void agent_sock_ns_begin(struct agent_sock_ns *s);

/* Table of the network namespace of process @pid, reading it if this
 * sample has not yet; NULL when it cannot be read. The pointer is valid
 * until the next call on @s. A process whose namespace cannot be told (no
 * ns/net file, as in a fake proc tree) uses the root's "net" folder. */
const struct agent_sock_table *agent_sock_ns_table(struct agent_sock_ns *s,
                                                   int32_t pid);

#endif
