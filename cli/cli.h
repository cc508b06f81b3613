/* qmctl: the admin command line. A const table of commands (noun, verb,
 * usage, handler) is dispatched by cli_main.c after the global flags;
 * each handler parses its own flags with cli_parse(), calls libqm and
 * prints a table or, with --json, one JSON document. Exit codes follow
 * design.md: 0 ok, 1 error, 2 usage, 3 denied, 4 budget exceeded,
 * 5 unavailable. Single-threaded. */
#ifndef QM_CLI_CLI_H
#define QM_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "cli_out.h"
#include "qm.h"

enum cli_exit {
    CLI_OK = 0,
    CLI_ERROR = 1,
    CLI_USAGE = 2,
    CLI_DENIED = 3,
    CLI_BUDGET = 4,
    CLI_UNAVAILABLE = 5,
};

struct cli
{
    struct qm_client *client;
    const char *cluster; /* the URLs, as given */
    char first_url[QM_URL_MAX + 1];
    bool json;
    bool stale;
    int64_t timeout_ms;
    struct cli_json j;
};

struct cli_cmd
{
    const char *noun;
    const char *verb; /* NULL: a one-word command */
    const char *usage;
    const char *help;
    int (*run)(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv);
};

/* Per-command flags. */
struct cli_opt
{
    const char *name; /* without the leading "--" */
    bool has_value;
    const char *value; /* set by cli_parse: the last one given */
    bool set;
    /* A repeatable flag keeps every value in @values (room for @max);
     * @n counts them. */
    const char **values;
    unsigned max;
    unsigned n;
};

#define CLI_FLAG(name_) \
    {                   \
        .name = (name_) \
    }
#define CLI_VALUE(name_)                   \
    {                                      \
        .name = (name_), .has_value = true \
    }
#define CLI_VALUES(name_, arr_)                               \
    {                                                         \
        .name = (name_), .has_value = true, .values = (arr_), \
        .max = sizeof(arr_) / sizeof((arr_)[0])               \
    }

/* Split @argv into flags (@opts) and positional arguments (@pos, at most
 * @max). Prints a usage error and returns CLI_USAGE on anything unknown,
 * a missing value, or a wrong count of positionals (min..max). */
int cli_parse(const struct cli_cmd *cmd,
              int argc,
              char **argv,
              struct cli_opt *opts,
              size_t nopts,
              char **pos,
              int min,
              int max,
              int *npos);

/* Report a failed call on stderr (one line: what, why, what to do) and
 * return the exit code for @status. @what is a format naming the call. */
int cli_fail(struct cli *c,
             int status,
             const struct qm_result *res,
             const char *what,
             ...) __attribute__((format(printf, 4, 5)));

/* cli_parse for a command without flags that takes exactly @n
 * positional arguments. */
int cli_args(const struct cli_cmd *cmd,
             int argc,
             char **argv,
             char **pos,
             int n);

/* A usage error for @cmd with a reason. Returns CLI_USAGE. */
int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Print {"ok": true} (JSON) or "OK" and return CLI_OK. */
int cli_ok(struct cli *c);

/* A refused acquisition or reservation (QM_DENIED, QM_BUDGET_EXCEEDED):
 * the error line of cli_fail, and with --json the document
 * {"granted": false, "status", "message"[, "retry_after_ms"]}. Returns
 * the exit code. */
int cli_refused(struct cli *c,
                int status,
                const struct qm_result *res,
                const char *what,
                const char *name);

/* The same with @key instead of "granted" ({"leased": false, ...}). */
int cli_refused_as(struct cli *c,
                   const char *key,
                   int status,
                   const struct qm_result *res,
                   const char *what,
                   const char *name);

/* {"ok": true, "cost": USD} or "OK; charged $X" (commit, release, queue
 * complete). Returns CLI_OK. */
int cli_charged(struct cli *c, int64_t cost);

/* ---- arguments and values shared by commands (cli_args.c) ---- */

/* "premium" -> QM_TIER_PREMIUM; 0 for anything else. */
int cli_tier_parse(const char *s);
const char *cli_tier_name(int tier);
/* cli_tier_parse, or a usage error for @cmd. */
int cli_tier_arg(const struct cli_cmd *cmd, const char *s, int *tier);

/* Queue tiers ("immediate" .. "deferred") and request states ("queued"
 * .. "cancelled"): a name into its enum, or a usage error for @cmd that
 * lists the names; and back ("unknown" outside the enum). */
int cli_qtier_arg(const struct cli_cmd *cmd, const char *s, int *tier);
const char *cli_qtier_name(int tier);
int cli_qstate_arg(const struct cli_cmd *cmd, const char *s, int *state);
const char *cli_qstate_name(int state);

/* "shared", "reserved", "dedicated" -> enum qm_pool_kind; 0 otherwise. */
int cli_kind_parse(const char *s);
const char *cli_kind_name(int kind);

/* Split "NAME=N" into a name (1..64 of [A-Za-z0-9._-]) and an amount in
 * milli-units (> 0 unless @allow_zero). 0, or -1 when malformed. */
int cli_name_amount(const char *arg,
                    char name[QM_NAME_MAX + 1],
                    int64_t *amount,
                    bool allow_zero);

/* Parse @n "POOL=N" arguments (distinct pools, at most QM_RES_POOLS_MAX)
 * into @out. CLI_OK, or a usage error for @cmd. */
int cli_amounts(const struct cli_cmd *cmd,
                char **args,
                int n,
                bool allow_zero,
                struct qm_amount out[QM_RES_POOLS_MAX],
                unsigned *nout);

/* Money in US dollars with up to 6 decimals ("12.5", "$0.000001") into
 * micro-dollars, or the word @word (may be NULL), which sets *is_word.
 * 0, or -1 when malformed. */
int cli_money(const char *s, const char *word, bool *is_word, int64_t *v);

/* A whole number 0..@max. 0, or -1. */
int cli_uint(const char *s, int64_t max, int64_t *v);

/* Reservation ids: "r17" or "17" in (or a usage error for @cmd), "r17"
 * out; request ids the same with "q17". */
int cli_res_id_arg(const struct cli_cmd *cmd, const char *s, uint64_t *id);
const char *cli_fmt_res_id(char buf[24], uint64_t id);
int cli_req_id_arg(const struct cli_cmd *cmd, const char *s, uint64_t *id);
const char *cli_fmt_req_id(char buf[24], uint64_t id);

/* Months: "2026-11" <-> 202611. */
int cli_month_parse(const char *s, uint32_t *month);
const char *cli_fmt_month(char buf[16], uint32_t month);

/* "$12.5" for micro-dollars. */
const char *cli_fmt_usd(char buf[40], int64_t micro);

/* "gpt4=500,embed=0.5" into @buf of @size. */
const char *cli_fmt_amounts(char *buf,
                            size_t size,
                            const struct qm_amount *a,
                            unsigned n);

/* JSON {POOL: units, ...}. */
void cli_json_amounts(struct cli_json *j,
                      const struct qm_amount *a,
                      unsigned n);

/* ---- lists that page through every item (cli_list.c) ---- */

struct cli_list
{
    const char *what;  /* the command, for errors: "client list" */
    const char *empty; /* printed (not with --json) when there is none */
    void (*header)(void);
    size_t size; /* of the page, which cli_list_run allocates zeroed */
    /* Fetch the next page into @page (the cursor lives there too): *n
     * items. @arg is cli_list_run's, e.g. a filter. */
    int (*fetch)(struct cli *c,
                 void *page,
                 const void *arg,
                 unsigned *n,
                 bool *more,
                 struct qm_result *res);
    /* Print item @i of the page just fetched: a JSON value, or a row. */
    void (*item)(struct cli *c, void *page, unsigned i);
    /* Optional: what goes around the items, once the first page is in,
     * instead of a JSON array or @header and @empty. */
    void (*begin)(struct cli *c, void *page);
    void (*end)(struct cli *c, void *page, unsigned total);
};

/* Fetch and print every page; CLI_OK or the exit code of the failure.
 * @page: NULL to have one allocated for the run, or one of l->size that
 * the caller keeps, with its cursor, from run to run (alerts --follow). */
int cli_list_run(struct cli *c,
                 const struct cli_list *l,
                 void *page,
                 const void *arg);

/* Commands, by family. */
int cli_status(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv);
int cli_member(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv);
int cli_digest(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv);
int cli_pool_create(struct cli *c,
                    const struct cli_cmd *cmd,
                    int argc,
                    char **argv);
int cli_pool_get(struct cli *c,
                 const struct cli_cmd *cmd,
                 int argc,
                 char **argv);
int cli_pool_list(struct cli *c,
                  const struct cli_cmd *cmd,
                  int argc,
                  char **argv);
int cli_pool_delete(struct cli *c,
                    const struct cli_cmd *cmd,
                    int argc,
                    char **argv);
int cli_acquire(struct cli *c,
                const struct cli_cmd *cmd,
                int argc,
                char **argv);

/* The ledger. */
int cli_client_create(struct cli *c,
                      const struct cli_cmd *cmd,
                      int argc,
                      char **argv);
int cli_client_set(struct cli *c,
                   const struct cli_cmd *cmd,
                   int argc,
                   char **argv);
int cli_client_get(struct cli *c,
                   const struct cli_cmd *cmd,
                   int argc,
                   char **argv);
int cli_client_list(struct cli *c,
                    const struct cli_cmd *cmd,
                    int argc,
                    char **argv);
int cli_tier_get(struct cli *c,
                 const struct cli_cmd *cmd,
                 int argc,
                 char **argv);
int cli_tier_set(struct cli *c,
                 const struct cli_cmd *cmd,
                 int argc,
                 char **argv);
int cli_tier_list(struct cli *c,
                  const struct cli_cmd *cmd,
                  int argc,
                  char **argv);
int cli_reserve(struct cli *c,
                const struct cli_cmd *cmd,
                int argc,
                char **argv);
int cli_commit(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv);
int cli_release(struct cli *c,
                const struct cli_cmd *cmd,
                int argc,
                char **argv);
int cli_reservation_list(struct cli *c,
                         const struct cli_cmd *cmd,
                         int argc,
                         char **argv);
int cli_reservation_get(struct cli *c,
                        const struct cli_cmd *cmd,
                        int argc,
                        char **argv);
int cli_usage(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv);
int cli_cost_estimate(struct cli *c,
                      const struct cli_cmd *cmd,
                      int argc,
                      char **argv);
int cli_alerts(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv);

/* Queues of work (cli_queue.c, cli_queue_work.c, cli_queue_settings.c). */
int cli_queue_submit(struct cli *c,
                     const struct cli_cmd *cmd,
                     int argc,
                     char **argv);
int cli_queue_get(struct cli *c,
                  const struct cli_cmd *cmd,
                  int argc,
                  char **argv);
int cli_queue_cancel(struct cli *c,
                     const struct cli_cmd *cmd,
                     int argc,
                     char **argv);
int cli_queue_position(struct cli *c,
                       const struct cli_cmd *cmd,
                       int argc,
                       char **argv);
int cli_queue_list(struct cli *c,
                   const struct cli_cmd *cmd,
                   int argc,
                   char **argv);
int cli_queue_stats(struct cli *c,
                    const struct cli_cmd *cmd,
                    int argc,
                    char **argv);
int cli_queue_lease(struct cli *c,
                    const struct cli_cmd *cmd,
                    int argc,
                    char **argv);
int cli_queue_complete(struct cli *c,
                       const struct cli_cmd *cmd,
                       int argc,
                       char **argv);
int cli_queue_fail(struct cli *c,
                   const struct cli_cmd *cmd,
                   int argc,
                   char **argv);
int cli_queue_settings(struct cli *c,
                       const struct cli_cmd *cmd,
                       int argc,
                       char **argv);
int cli_queue_settings_set(struct cli *c,
                           const struct cli_cmd *cmd,
                           int argc,
                           char **argv);

/* Hosts and their agents (cli_host.c, cli_alloc.c, cli_action.c,
 * cli_top.c). */
int cli_host_list(struct cli *c,
                  const struct cli_cmd *cmd,
                  int argc,
                  char **argv);
int cli_host_get(struct cli *c,
                 const struct cli_cmd *cmd,
                 int argc,
                 char **argv);
int cli_host_delete(struct cli *c,
                    const struct cli_cmd *cmd,
                    int argc,
                    char **argv);
int cli_alloc_set(struct cli *c,
                  const struct cli_cmd *cmd,
                  int argc,
                  char **argv);
int cli_alloc_get(struct cli *c,
                  const struct cli_cmd *cmd,
                  int argc,
                  char **argv);
int cli_alloc_list(struct cli *c,
                   const struct cli_cmd *cmd,
                   int argc,
                   char **argv);
int cli_action_list(struct cli *c,
                    const struct cli_cmd *cmd,
                    int argc,
                    char **argv);
int cli_credit_list(struct cli *c,
                    const struct cli_cmd *cmd,
                    int argc,
                    char **argv);
int cli_top(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv);

#endif
