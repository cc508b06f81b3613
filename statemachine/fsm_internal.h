/* State machine internals shared by the files of statemachine/ and its unit
 * tests. Not for other modules. */
#ifndef QM_STATEMACHINE_FSM_INTERNAL_H
#define QM_STATEMACHINE_FSM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <lmdb.h>

#include "fsm.h"
#include "qm_codec.h"
#include "tp_msg.h"

/* Named databases. The numbers are part of the snapshot format and fix the
 * order of the digest: append, never renumber. */
enum fsm_db {
    FSM_DB_META = 0, /* "applied", "clock", "format" */
    FSM_DB_MEMBERS,  /* be64 raft id -> tp_member */
    FSM_DB_POOLS,    /* pool name -> fsm pool record */
    FSM_DB_SESSIONS, /* be64 session -> be64 seq, be64 last_ms, result */
    FSM_DB_SESS_EXP, /* be64 last_ms, be64 session -> "" (expiry order) */
    FSM_DB_TIERS,    /* u8 tier -> tier record (absent: the defaults) */
    FSM_DB_CLIENTS,  /* client id -> client record */
    FSM_DB_USAGE,    /* client \0 be32 YYYYMM [pool] -> be64 units, be64 cost */
    FSM_DB_RES,      /* be64 reservation id -> reservation record */
    FSM_DB_RES_EXP,  /* be64 expires_ms, be64 id -> "" (expiry order) */
    FSM_DB_ALERTS,   /* be64 alert id -> tp_alert */
    FSM_DB_ALERT_LAST, /* kind \0 subject -> be64 time last raised */
    FSM_DB_REQS,       /* be64 request id -> request record */
    FSM_DB_Q_GROW,     /* u8 tier, be64 ~k, be64 id -> "" (fsm_queue.h) */
    FSM_DB_Q_CAP,      /* u8 tier, be64 ~priority, be64 id -> "" */
    FSM_DB_Q_ENQ,      /* be64 enqueued_ms, be64 id -> u8 tier (queued) */
    FSM_DB_Q_DEADLINE, /* be64 deadline_ms, be64 id -> "" (queued) */
    FSM_DB_Q_RUN,      /* be64 lease_exp_ms, be64 id -> "" (running) */
    FSM_DB_Q_DONE,     /* be64 finished_ms, be64 id -> "" (history) */
    FSM_DB_Q_STATS,    /* u8 tier -> be64 counters (enum fsm_qcount) */
    FSM_DB_Q_FAIR,     /* client -> be64 milli-dispatches, be64 as of */
    FSM_DB_Q_ENQ_ND,   /* be64 enqueued_ms, be64 id -> "" (queued, deferred
                          excepted: the starving walk skips no request) */
    FSM_DB_HOSTS,      /* host id -> tp_host_info */
    FSM_DB_ALLOCS,     /* host \0 service -> tp_alloc */
    FSM_DB_ACTIONS,    /* be64 action id -> tp_action */
    FSM_DB_CREDITS,    /* be64 credit id -> tp_credit */
    FSM_DB_CREDIT_EXP, /* be64 expires_ms, be64 id -> "" */
    FSM_DB_COUNT,
};

extern const char *const fsm_db_names[FSM_DB_COUNT];

/* The result a command handler fills in; fsm_apply encodes it. */
struct fsm_res
{
    int status;
    char message[QM_MESSAGE_MAX + 1];
    int64_t retry_after_ms;
    const struct qm_schema *body_schema; /* NULL: no body */
    union {
        struct tp_acquire_result acquire;
        struct tp_pool_info pool;
        struct tp_pool_page page;
        struct tp_tier_info tier;
        struct tp_tier_list tiers;
        struct tp_client_info client;
        struct tp_client_page clients;
        struct tp_reserve_result reserve;
        struct tp_charge charge;
        struct tp_res_info res;
        struct tp_res_page res_page;
        struct tp_usage usage;
        struct tp_estimate estimate;
        struct tp_alert_page alerts;
        struct tp_req_id req_id;
        struct tp_req_info req;
        struct tp_req_page reqs;
        struct tp_queue_stats qstats;
        struct tp_lease lease;
        struct tp_fail_result fail;
        struct tp_qsettings qsettings;
        struct tp_host_info host;
        struct tp_host_page hosts;
        struct tp_report_ack ack;
        struct tp_alloc alloc;
        struct tp_alloc_page allocs;
        struct tp_action action;
        struct tp_action_page actions;
        struct tp_credit credit;
        struct tp_credit_returned returned;
        struct tp_credit_page credits;
    } body;
};

struct fsm
{
    MDB_env *env;
    MDB_dbi dbi[FSM_DB_COUNT];
    MDB_txn *wtxn; /* the open group write transaction, or NULL */
    int sync;
    int64_t session_ttl_ms;
    uint32_t max_sessions;
    uint32_t finished_max; /* finished requests kept, at most */

    /* Mirrors of meta records, valid while no write fails. */
    uint64_t applied;
    int64_t clock;

    /* Scratch for fsm_apply: results of the current entry. */
    struct qm_buf resbuf;
    size_t res_off[QM_BATCH_MAX];
    size_t res_len[QM_BATCH_MAX];
    struct qm_span res_spans[QM_BATCH_MAX];
    struct fsm_res res;
    struct tp_decoded dec;
    /* A second result, for commands made of others (a queue lease tries
     * reservations), and a buffer for records that hold payloads. */
    struct fsm_res inner;
    struct qm_buf recbuf;
};

/* What a command handler sees. */
struct fsm_ctx
{
    struct fsm *f;
    MDB_txn *txn;
    int64_t now;    /* cluster time of the entry (or of the read) */
    uint64_t index; /* raft index being applied; 0 for reads */
};

/* Command handlers: decide, then write. A handler validates everything
 * before its first write, so a refused command changes nothing. Returns
 * QM_OK (the outcome, refusals included, is in @res) or QM_EIO when LMDB
 * failed. */
typedef int (*fsm_handler_fn)(struct fsm_ctx *c,
                              const union tp_args *a,
                              struct fsm_res *res);

struct fsm_op
{
    fsm_handler_fn apply; /* TP_CLASS_WRITE / TP_CLASS_INTERNAL */
    fsm_handler_fn query; /* TP_CLASS_READ */
};

/* The command table (fsm_dispatch.c), indexed by op code. */
const struct fsm_op *fsm__op(uint64_t op);

/* Result helpers. */
void fsm__res_reset(struct fsm_res *res);
void fsm__res_fail(struct fsm_res *res, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int fsm__res_encode(const struct fsm_res *res,
                    uint64_t index,
                    struct qm_buf *b);

/* Transactions: the group write transaction (opened on demand) and reads
 * that see it. fsm__read_end() aborts only a transaction it began. */
int fsm__wtxn(struct fsm *f, MDB_txn **txn);
/* Abort the group write transaction after a failure, so that nothing of
 * it can be committed later, and reload the applied index and the clock
 * from what LMDB holds (the state as of the last commit). */
void fsm__wtxn_abort(struct fsm *f);
int fsm__read_begin(struct fsm *f, MDB_txn **txn);
void fsm__read_end(struct fsm *f, MDB_txn *txn);

/* Meta records. */
int fsm__meta_put_u64(struct fsm *f, MDB_txn *txn, const char *key, uint64_t v);
int fsm__meta_get_u64(struct fsm *f,
                      MDB_txn *txn,
                      const char *key,
                      uint64_t *v);

/* Translate an LMDB code into our error space (QM_OK for MDB_SUCCESS). */
int fsm__err_from_mdb(int rc);

/* Big-endian keys, so LMDB's byte order is numeric order. */
void fsm__be64_put(uint8_t *p, uint64_t v);
uint64_t fsm__be64_get(const uint8_t *p);

/* Sessions (fsm_session.c). */
enum fsm_sess_check {
    FSM_SESS_APPLY = 0, /* new sequence: apply the command */
    FSM_SESS_REPLAY,    /* seen: *stored is the result to send again */
    FSM_SESS_STALE,     /* older than the last sequence: refuse */
};
int fsm__session_check(struct fsm_ctx *c,
                       uint64_t session,
                       uint64_t seq,
                       int *verdict,
                       struct qm_span *stored);
int fsm__session_store(struct fsm_ctx *c,
                       uint64_t session,
                       uint64_t seq,
                       struct qm_span result);
int fsm__session_expire(struct fsm_ctx *c);
int64_t fsm__session_next_expiry(struct fsm *f, MDB_txn *txn);

/* Put/get a fixed-size record and a value under a name key. */
int fsm__get(struct fsm_ctx *c,
             int db,
             const void *key,
             size_t klen,
             MDB_val *val);
int fsm__put(struct fsm_ctx *c,
             int db,
             const void *key,
             size_t klen,
             const void *val,
             size_t vlen);
/* Encode @obj with @schema and put it under @key. */
int fsm__put_rec(struct fsm_ctx *c,
                 int db,
                 const void *key,
                 size_t klen,
                 const struct qm_schema *schema,
                 const void *obj);
/* Get and decode; QM_NOT_FOUND, QM_ECORRUPT (undecodable), QM_EIO. */
int fsm__get_rec(struct fsm_ctx *c,
                 int db,
                 const void *key,
                 size_t klen,
                 const struct qm_schema *schema,
                 void *obj);
/* Decode the record @v with @schema into @obj (QM_ECORRUPT when it does
 * not decode). */
int fsm__decode(const MDB_val *v, const struct qm_schema *schema, void *obj);
/* Copy the name key @k into @name, terminated (QM_ECORRUPT when the key is
 * longer than a name). */
int fsm__key_name(const MDB_val *k, char name[QM_NAME_MAX + 1]);
/* Turn a failed lookup of @what @name into the command's result
 * (NOT_FOUND or INVALID, returning QM_OK), or pass a local error on. */
int fsm__lookup_failed(struct fsm_res *res,
                       int rv,
                       const char *what,
                       const char *name);
/* Expiry indexes: keys be64 time, be64 id -> "" (sessions, reservations,
 * credits and the queue's time orders). fsm__exp_key() writes such a key.
 * fsm__exp_first() reads the earliest entry of @db into *at and *id
 * (QM_NOT_FOUND when @db is empty, QM_ECORRUPT for a key of another size,
 * QM_EIO). fsm__exp_next() is the earliest time in @db (INT64_MAX if none
 * or unreadable). fsm__exp_due() is the id of the earliest entry due at
 * c->now (QM_NOT_FOUND when none is due). fsm__exp_put() adds an entry, or
 * removes it (an absent entry is not an error). */
void fsm__exp_key(uint8_t k[16], int64_t at, uint64_t id);
int fsm__exp_first(struct fsm_ctx *c, int db, int64_t *at, uint64_t *id);
int64_t fsm__exp_next(struct fsm *f, MDB_txn *txn, int db);
int fsm__exp_due(struct fsm_ctx *c, int db, uint64_t *id);
int fsm__exp_put(struct fsm_ctx *c, int db, int64_t at, uint64_t id, bool add);

/* A walk over an index of 16-byte keys (be64 time, be64 id) that resumes
 * after the key saved in META under a name, so that a TICK costs what it
 * changes (the queue's cap migration and starving alerts).
 * fsm__resume_open() opens @w on @db just after the saved key (at the
 * first key when none is saved); w->rc is MDB_SUCCESS while w->k and w->v
 * hold an entry. On QM_OK the caller must mdb_cursor_close(w->mc); errors
 * reading the saved key or opening the cursor are returned.
 * fsm__resume_save() saves @k as the point to resume after. */
struct fsm_resume
{
    MDB_cursor *mc;
    MDB_val k, v;
    int rc;
};
int fsm__resume_open(struct fsm_ctx *c,
                     int db,
                     const char *name,
                     struct fsm_resume *w);
void fsm__resume_next(struct fsm_resume *w);
int fsm__resume_save(struct fsm_ctx *c, const char *name, const uint8_t k[16]);

/* Delete the first (oldest) records of @db until it holds at most @max. */
int fsm__trim_oldest(struct fsm_ctx *c, int db, size_t max);

/* Walk @db in key order from @start (the first key when @slen is 0),
 * skipping a key equal to @start when @after, and call @fn for each record
 * until it sets *stop or fails. The callback's values are borrowed for the
 * call. Returns the first error of @fn or of LMDB. */
typedef int (*fsm_page_fn)(void *arg,
                           const MDB_val *k,
                           const MDB_val *v,
                           bool *stop);
int fsm__page(struct fsm_ctx *c,
              int db,
              const void *start,
              size_t slen,
              bool after,
              fsm_page_fn fn,
              void *arg);
/* fsm__page() over @db keyed by be64 id, from the first id above @after;
 * nothing is walked when @after is UINT64_MAX (no id follows it). */
int fsm__page_ids(struct fsm_ctx *c,
                  int db,
                  uint64_t after,
                  fsm_page_fn fn,
                  void *arg);
/* For a page callback that holds @n records of at most @limit: true, with
 * *more and *stop set, when the page is full and the record at hand is the
 * first one past it. */
bool fsm__page_full(uint64_t n, uint64_t limit, bool *more, bool *stop);

/* Next value of a meta counter (starts at 1). */
int fsm__next_id(struct fsm_ctx *c, const char *counter, uint64_t *id);

/* Alerts (fsm_alert.c): raise unless the same kind and subject was raised
 * less than the cooldown ago; keeps the QM_ALERTS_MAX most recent. */
int fsm__alert(struct fsm_ctx *c,
               const char *kind,
               const char *subject,
               const char *severity,
               const char *fmt,
               ...) __attribute__((format(printf, 5, 6)));

/* Reservations (fsm_op_reserve.c): release those whose lease ended. */
int fsm__res_expire(struct fsm_ctx *c);
int64_t fsm__res_next_expiry(struct fsm *f, MDB_txn *txn);

/* Handlers, by family. */
int fsm__pool_create(struct fsm_ctx *c,
                     const union tp_args *a,
                     struct fsm_res *res);
int fsm__pool_delete(struct fsm_ctx *c,
                     const union tp_args *a,
                     struct fsm_res *res);
int fsm__pool_acquire(struct fsm_ctx *c,
                      const union tp_args *a,
                      struct fsm_res *res);
int fsm__pool_get(struct fsm_ctx *c,
                  const union tp_args *a,
                  struct fsm_res *res);
int fsm__pool_list(struct fsm_ctx *c,
                   const union tp_args *a,
                   struct fsm_res *res);
int fsm__member_set(struct fsm_ctx *c,
                    const union tp_args *a,
                    struct fsm_res *res);
int fsm__member_del(struct fsm_ctx *c,
                    const union tp_args *a,
                    struct fsm_res *res);
int fsm__tick(struct fsm_ctx *c, const union tp_args *a, struct fsm_res *res);
int fsm__tier_get(struct fsm_ctx *c,
                  const union tp_args *a,
                  struct fsm_res *res);
int fsm__tier_set(struct fsm_ctx *c,
                  const union tp_args *a,
                  struct fsm_res *res);
int fsm__tier_list(struct fsm_ctx *c,
                   const union tp_args *a,
                   struct fsm_res *res);
int fsm__client_create(struct fsm_ctx *c,
                       const union tp_args *a,
                       struct fsm_res *res);
int fsm__client_set(struct fsm_ctx *c,
                    const union tp_args *a,
                    struct fsm_res *res);
int fsm__client_get(struct fsm_ctx *c,
                    const union tp_args *a,
                    struct fsm_res *res);
int fsm__client_list(struct fsm_ctx *c,
                     const union tp_args *a,
                     struct fsm_res *res);
int fsm__reserve(struct fsm_ctx *c,
                 const union tp_args *a,
                 struct fsm_res *res);
int fsm__commit(struct fsm_ctx *c, const union tp_args *a, struct fsm_res *res);
int fsm__release(struct fsm_ctx *c,
                 const union tp_args *a,
                 struct fsm_res *res);
int fsm__res_get(struct fsm_ctx *c,
                 const union tp_args *a,
                 struct fsm_res *res);
int fsm__res_list(struct fsm_ctx *c,
                  const union tp_args *a,
                  struct fsm_res *res);
int fsm__usage(struct fsm_ctx *c, const union tp_args *a, struct fsm_res *res);
int fsm__cost_estimate(struct fsm_ctx *c,
                       const union tp_args *a,
                       struct fsm_res *res);
int fsm__q_submit(struct fsm_ctx *c,
                  const union tp_args *a,
                  struct fsm_res *res);
int fsm__q_cancel(struct fsm_ctx *c,
                  const union tp_args *a,
                  struct fsm_res *res);
int fsm__q_get(struct fsm_ctx *c, const union tp_args *a, struct fsm_res *res);
int fsm__q_position(struct fsm_ctx *c,
                    const union tp_args *a,
                    struct fsm_res *res);
int fsm__q_list(struct fsm_ctx *c, const union tp_args *a, struct fsm_res *res);
int fsm__q_stats_get(struct fsm_ctx *c,
                     const union tp_args *a,
                     struct fsm_res *res);
int fsm__q_lease(struct fsm_ctx *c,
                 const union tp_args *a,
                 struct fsm_res *res);
int fsm__q_complete(struct fsm_ctx *c,
                    const union tp_args *a,
                    struct fsm_res *res);
int fsm__q_fail(struct fsm_ctx *c, const union tp_args *a, struct fsm_res *res);
int fsm__q_settings_get(struct fsm_ctx *c,
                        const union tp_args *a,
                        struct fsm_res *res);
int fsm__q_settings_set(struct fsm_ctx *c,
                        const union tp_args *a,
                        struct fsm_res *res);
int fsm__alert_list(struct fsm_ctx *c,
                    const union tp_args *a,
                    struct fsm_res *res);

/* Alerts with a cooldown key of their own (kind, subject, @dedup). */
int fsm__alert_keyed(struct fsm_ctx *c,
                     const char *kind,
                     const char *subject,
                     const char *dedup,
                     const char *severity,
                     const char *message);

/* Hosts, allocations, actions, agent alerts (fsm_op_host.c,
 * fsm_op_action.c) and credits (fsm_op_credit.c). */
int fsm__host_register(struct fsm_ctx *c,
                       const union tp_args *a,
                       struct fsm_res *res);
int fsm__host_get(struct fsm_ctx *c,
                  const union tp_args *a,
                  struct fsm_res *res);
int fsm__host_list(struct fsm_ctx *c,
                   const union tp_args *a,
                   struct fsm_res *res);
int fsm__host_delete(struct fsm_ctx *c,
                     const union tp_args *a,
                     struct fsm_res *res);
int fsm__alloc_set(struct fsm_ctx *c,
                   const union tp_args *a,
                   struct fsm_res *res);
int fsm__alloc_get(struct fsm_ctx *c,
                   const union tp_args *a,
                   struct fsm_res *res);
int fsm__alloc_list(struct fsm_ctx *c,
                    const union tp_args *a,
                    struct fsm_res *res);
int fsm__action_record(struct fsm_ctx *c,
                       const union tp_args *a,
                       struct fsm_res *res);
int fsm__action_list(struct fsm_ctx *c,
                     const union tp_args *a,
                     struct fsm_res *res);
int fsm__alert_raise(struct fsm_ctx *c,
                     const union tp_args *a,
                     struct fsm_res *res);
int fsm__credit_grant(struct fsm_ctx *c,
                      const union tp_args *a,
                      struct fsm_res *res);
int fsm__credit_return(struct fsm_ctx *c,
                       const union tp_args *a,
                       struct fsm_res *res);
int fsm__credit_list(struct fsm_ctx *c,
                     const union tp_args *a,
                     struct fsm_res *res);
/* TICK: credits whose lease ended count as used. */
int fsm__credit_expire(struct fsm_ctx *c);
int64_t fsm__credit_next_expiry(struct fsm *f, MDB_txn *txn);
/* The host record of @id (QM_OK, QM_NOT_FOUND, QM_ECORRUPT, QM_EIO). */
int fsm__host_load(struct fsm_ctx *c, const char *id, struct tp_host_info *h);

#endif
