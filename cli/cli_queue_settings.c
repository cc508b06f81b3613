/* queue settings [set]: the replicated settings of the queues. Each
 * setting is a row of one table that gives its flag, its JSON key and
 * its meaning; the bounds are the wire schema's, so they are stated once.
 * set reads the settings, changes the given ones and writes them all
 * back (a concurrent change of another setting can be lost). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "tp_msg.h"

struct setting
{
    const char *flag; /* of queue settings set; the name in the table */
    const char *key;  /* the JSON key and the wire schema's field */
    size_t off;
    const char *meaning;
};

#define SETTING(flag_, field_, meaning_)                              \
    {                                                                 \
        (flag_), #field_, offsetof(struct qm_queue_settings, field_), \
            (meaning_)                                                \
    }

static const struct setting settings[] = {
    SETTING("w-tier", w_tier, "per mille of the client tier's 0..40 points"),
    SETTING("w-urgency", w_urgency, "per mille of the urgency's 0..30 points"),
    SETTING("w-wait", w_wait, "per mille of the wait's 0..20 points"),
    SETTING("w-fair", w_fair, "per mille of fairness's 0..10 points"),
    SETTING("aging-ms", aging_ms, "waiting this long earns a wait point"),
    SETTING("fair-half-life-ms",
            fair_half_life_ms,
            "a client's recent dispatches halve in this"),
    SETTING("fair-scale", fair_scale, "recent dispatches that halve fairness"),
    SETTING("starve-ms",
            starve_ms,
            "requests queued longer go first, with an alert"),
    SETTING("alert-queue-len",
            alert_queue_len,
            "alert when a queue tier holds more requests"),
    SETTING("lease-ms", lease_ms, "lease of queue lease without --lease"),
    SETTING("max-attempts", max_attempts, "attempts of a request by default"),
};
#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))
#define OFFPEAK NSETTINGS /* the option after the table's */

static int64_t *field(struct qm_queue_settings *s, size_t i)
{
    return (int64_t *)(void *)((char *)s + settings[i].off);
}

/* "22:00-06:00", or "none" when the window is empty. */
static const char *fmt_offpeak(char buf[16], const struct qm_queue_settings *s)
{
    if (s->offpeak_start_min == s->offpeak_end_min) {
        return "none";
    }
    snprintf(buf, 16, "%02d:%02d-%02d:%02d", (int)(s->offpeak_start_min / 60),
             (int)(s->offpeak_start_min % 60), (int)(s->offpeak_end_min / 60),
             (int)(s->offpeak_end_min % 60));
    return buf;
}

static void settings_print(struct cli *c, struct qm_queue_settings *s)
{
    char window[16];
    const char *offpeak = fmt_offpeak(window, s);
    if (c->json) {
        cj_obj(&c->j);
        for (size_t i = 0; i < NSETTINGS; i++) {
            cj_key(&c->j, settings[i].key);
            cj_int(&c->j, *field(s, i));
        }
        cj_key(&c->j, "offpeak");
        if (s->offpeak_start_min != s->offpeak_end_min) {
            cj_str(&c->j, offpeak);
        } else {
            cj_null(&c->j);
        }
        cj_obj_end(&c->j);
        cj_done(&c->j);
        return;
    }
    printf("%-18s %12s  %s\n", "SETTING", "VALUE", "MEANING");
    for (size_t i = 0; i < NSETTINGS; i++) {
        printf("%-18s %12lld  %s\n", settings[i].flag, (long long)*field(s, i),
               settings[i].meaning);
    }
    printf("%-18s %12s  %s\n", "offpeak", offpeak,
           "UTC window in which the deferred tier runs");
}

/* Read the settings and print them. */
static int settings_show(struct cli *c, bool stale, const char *what)
{
    struct qm_queue_settings s;
    struct qm_result res;
    int rv = qm_queue_settings_get(c->client, stale, &s, &res);
    if (rv != QM_OK) {
        return cli_fail(c, rv, &res, "%s", what);
    }
    settings_print(c, &s);
    return CLI_OK;
}

int cli_queue_settings(struct cli *c,
                       const struct cli_cmd *cmd,
                       int argc,
                       char **argv)
{
    char *pos[1];
    int rv = cli_args(cmd, argc, argv, pos, 0);
    return rv != CLI_OK ? rv : settings_show(c, c->stale, "queue settings");
}

/* "HH:MM" (the first 5 characters of @s) into minutes of the day. */
static int hhmm(const char *s, int64_t *min)
{
    for (int i = 0; i < 5; i++) {
        if (i == 2 ? s[i] != ':' : (s[i] < '0' || s[i] > '9')) {
            return -1;
        }
    }
    int64_t h = (s[0] - '0') * 10 + (s[1] - '0');
    int64_t m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 23 || m > 59) {
        return -1;
    }
    *min = h * 60 + m;
    return 0;
}

/* --offpeak HH:MM-HH:MM or none. */
static int offpeak_arg(const struct cli_cmd *cmd,
                       const char *v,
                       struct qm_queue_settings *s)
{
    int64_t from = 0, to = 0;
    if (strcmp(v, "none") != 0 &&
        (strlen(v) != 11 || v[5] != '-' || hhmm(v, &from) != 0 ||
         hhmm(v + 6, &to) != 0)) {
        return cli_usage_error(cmd,
                               "--offpeak wants HH:MM-HH:MM (UTC) or none, "
                               "got '%s'",
                               v);
    }
    s->offpeak_start_min = from;
    s->offpeak_end_min = to;
    return CLI_OK;
}

/* Apply the settings given in @opts to @s, within the schema's bounds. */
static int settings_apply(const struct cli_cmd *cmd,
                          const struct cli_opt *opts,
                          struct qm_queue_settings *s)
{
    for (size_t i = 0; i < NSETTINGS; i++) {
        const struct qm_field *f =
            qm_schema_field(&tp_qsettings_schema, settings[i].key);
        int64_t v;
        if (!opts[i].set) {
            continue;
        }
        if (cli_uint(opts[i].value, f->hi, &v) != 0 || v < f->lo) {
            return cli_usage_error(cmd, "--%s wants %lld..%lld, got '%s'",
                                   settings[i].flag, (long long)f->lo,
                                   (long long)f->hi, opts[i].value);
        }
        *field(s, i) = v;
    }
    return opts[OFFPEAK].set ? offpeak_arg(cmd, opts[OFFPEAK].value, s)
                             : CLI_OK;
}

int cli_queue_settings_set(struct cli *c,
                           const struct cli_cmd *cmd,
                           int argc,
                           char **argv)
{
    struct cli_opt opts[NSETTINGS + 1];
    for (size_t i = 0; i < NSETTINGS; i++) {
        opts[i] = (struct cli_opt)CLI_VALUE(settings[i].flag);
    }
    opts[OFFPEAK] = (struct cli_opt)CLI_VALUE("offpeak");
    char *pos[1];
    int npos;
    bool any = false;
    int rv = cli_parse(cmd, argc, argv, opts, NSETTINGS + 1, pos, 0, 0, &npos);
    for (size_t i = 0; i <= NSETTINGS; i++) {
        any = any || opts[i].set;
    }
    if (rv == CLI_OK && !any) {
        rv = cli_usage_error(cmd, "nothing to change: give a setting's flag");
    }
    /* Check the values before any round trip, then again on what is read. */
    struct qm_queue_settings s;
    memset(&s, 0, sizeof(s));
    if (rv == CLI_OK) {
        rv = settings_apply(cmd, opts, &s);
    }
    if (rv != CLI_OK) {
        return rv;
    }
    struct qm_result res;
    rv = qm_queue_settings_get(c->client, false, &s, &res);
    if (rv == QM_OK) {
        settings_apply(cmd, opts, &s);
        rv = qm_queue_settings_set(c->client, &s, &res);
    }
    if (rv != QM_OK) {
        return cli_fail(c, rv, &res, "queue settings set");
    }
    return settings_show(c, false, "queue settings set: changed; reading back");
}
