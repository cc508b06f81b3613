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
    const char *value; /* set by cli_parse */
    bool set;
};

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

#endif
