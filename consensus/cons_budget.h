/* A byte budget for raft's in-memory log.
 *
 * libraft 0.15 keeps in memory every entry since the last snapshot plus
 * `trailing` entries before it, and counts both limits in entries. Ours are
 * batches of 1 to QM_BATCH_MAX commands, from ~100 bytes to 512 KiB, so an
 * entry count bounds nothing: 16384 + 8192 entries of acquire batches at
 * 256 in flight (1.75 KiB each) held 43 MiB per node.
 *
 * The entry counts stay as upper bounds; this adds byte bounds. Once the
 * entries applied since the last snapshot cost period_bytes, the next
 * snapshot starts right away (raft's threshold is lowered to 1 until it
 * does); when a snapshot starts, raft's trailing is set to the number of
 * latest entries that fit in trailing_bytes. Entries raft never hands to
 * the state machine (barriers, configuration changes) and entries older
 * than the start of this process count as 0 bytes: the entry counts bound
 * those.
 *
 * Threading: loop thread only, from raft's apply, snapshot and restore
 * callbacks (cons_fsm). No errors after cons_budget_init. */
#ifndef QM_CONSENSUS_CONS_BUDGET_H
#define QM_CONSENSUS_CONS_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <raft.h>

/* Bytes an entry costs beyond its payload: its raft_entry in the log's
 * array, its reference count record and the allocator's header. */
#define CONS_ENTRY_OVERHEAD 96

struct cons_budget_config
{
    uint64_t period_bytes;   /* applied since the last snapshot: snapshot */
    uint64_t trailing_bytes; /* kept before a snapshot's index, at most */
    unsigned threshold;      /* raft's entry counts, the most ever used */
    unsigned trailing;       /* (must be at least 1) */
};

struct cons_budget
{
    struct cons_budget_config cfg;
    uint32_t *sizes; /* cfg.trailing slots: cost of entry i at i % trailing */
    uint64_t last;   /* index recorded last; 0 = none */
    uint64_t since;  /* cost of the entries applied since the last snapshot */
    bool early;      /* raft's threshold is lowered to start a snapshot */
};

/* Set @b up for @cfg. QM_INVALID if cfg->trailing or cfg->threshold is 0,
 * QM_ENOMEM. On success the caller must cons_budget_close(@b). */
int cons_budget_init(struct cons_budget *b,
                     const struct cons_budget_config *cfg);

void cons_budget_close(struct cons_budget *b);

/* The entry at @index, of @len payload bytes, was applied to the state
 * machine of @r: count it, and ask @r for a snapshot if the period's bytes
 * are spent. */
void cons_budget_applied(struct cons_budget *b,
                         struct raft *r,
                         uint64_t index,
                         size_t len);

/* @r starts a snapshot at its last applied index: set its trailing for
 * this snapshot, put its threshold back, and start a new period. */
void cons_budget_snapshot(struct cons_budget *b, struct raft *r);

/* A snapshot from the leader replaced the log of @r: forget what was
 * recorded and put its threshold back. */
void cons_budget_restored(struct cons_budget *b, struct raft *r);

/* How many entries up to @index (included) a snapshot at @index keeps:
 * the most that fit in trailing_bytes, between 1 and cfg.trailing. */
unsigned cons_budget_trailing(const struct cons_budget *b, uint64_t index);

#endif
