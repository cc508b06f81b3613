/* qmctl's view of hosts: a host's replicated registration joined with the
 * leader's latest sample of it (soft state, gone after an election until
 * the agent reports again), and the printers that host, alloc, action and
 * top share. Single-threaded, as all of qmctl. */
#ifndef QM_CLI_CLI_HOST_H
#define QM_CLI_CLI_HOST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"

/* A host as qmctl shows it. */
struct cli_host_view
{
    struct qm_host host;
    bool sampled; /* the leader holds a sample: @m is valid */
    struct qm_host_metrics m;
};

/* A service of a view: declared by the registration (@match), sampled
 * (@s), or both. Borrowed from the view. */
struct cli_svc_view
{
    const char *name;
    const char *match;                 /* NULL: reported, not declared */
    const struct qm_service_sample *s; /* NULL: no sample */
};

#define CLI_SVC_VIEWS_MAX (2 * QM_HOST_SERVICES_MAX)

/* The services of @v sorted by name into @out; returns how many. */
unsigned cli_host_services(const struct cli_host_view *v,
                           struct cli_svc_view out[CLI_SVC_VIEWS_MAX]);

/* When the host was last heard of: the leader's clock at its latest
 * report, or else the registration's last update. *source (may be NULL)
 * is "report" or "registration". */
int64_t cli_host_last_seen(const struct cli_host_view *v, const char **source);

/* One host, joined: QM_OK, QM_NOT_FOUND (not registered), or another
 * failure of either call, with @res. */
int cli_host_view_get(struct cli *c,
                      const char *id,
                      struct cli_host_view *v,
                      struct qm_result *res);

/* Every registered host in id order, each joined with its sample: the
 * registrations page by page, the samples merged in as they come (both
 * are in id order). Hosts that report without a registration are left
 * out. */
struct cli_hosts;

/* NULL when out of memory. */
struct cli_hosts *cli_hosts_new(void);
void cli_hosts_free(struct cli_hosts *it);

/* The next host into *out (borrowed from @it until the next call), or
 * NULL at the end. QM_OK or the failure, with @res. */
int cli_hosts_next(struct cli *c,
                   struct cli_hosts *it,
                   const struct cli_host_view **out,
                   struct qm_result *res);

/* The URL of the leader the last page came from ("" before any). */
const char *cli_hosts_leader(const struct cli_hosts *it);

/* ---- printers ---- */

/* A host view as JSON: {"id", "labels", "last_seen_ms", "source", ...,
 * "sample", "services"}, left open when @open so that the caller can add
 * keys and close it. */
void cli_host_json(struct cli_json *j,
                   const struct cli_host_view *v,
                   bool open);

/* The service table of host get and top: a header whose first column is
 * @first ("SERVICE", "HOST/SERVICE"), and a row labelled @label for the
 * sample @s (NULL: "no sample"), both on @out. */
void cli_svc_header(FILE *out, const char *first);
void cli_svc_row(FILE *out,
                 const char *label,
                 const struct qm_service_sample *s);

/* "1.5G", "512K", "900" for bytes: 3 significant digits at most. */
const char *cli_fmt_bytes(char buf[16], int64_t bytes);

/* "12s", "3m", "2h", "5d" since @ms (now: @now_ms); "-" for 0. */
const char *cli_fmt_age(char buf[16], int64_t ms, int64_t now_ms);

/* Milliseconds since the epoch, now. */
int64_t cli_now_ms(void);

/* Allocations (cli_alloc.c): one as JSON, and the table's header and a
 * row. */
void cli_alloc_json(struct cli_json *j, const struct qm_alloc *a);
void cli_alloc_header(void);
void cli_alloc_row(const struct qm_alloc *a);

/* Actions (cli_action.c): one as JSON, and the table's header and a row. */
void cli_action_json(struct cli_json *j, const struct qm_action *a);
void cli_action_header(void);
void cli_action_row(const struct qm_action *a);

#endif
