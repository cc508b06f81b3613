/* Hosts through qmctl on a 3-node cluster. The test plays the agent: it
 * registers a host, reports a sample with two services, records an action,
 * raises an alert and takes a credit through libqm's internal calls. Then
 * it checks what operators see with the qmctl binary (--json, parsed):
 * host list and get (labels, last_seen_ms, samples), alloc set/get/list
 * with every field (and refusals: usage 2, the cluster's INVALID 1),
 * action list, alerts, credit list and top --once. Last it kills the
 * leader: the registration and the allocations survive the election; the
 * samples, the leader's soft state, come back only once the agent reports
 * to the new leader. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "harness_cmd.h"
#include "harness_json.h"
#include "qm_call.h"

#define HOST "web1"
#define GIB (1LL << 30)
#define MIB (1LL << 20)

/* ---- Fixture ---- */

/* The cluster, and room for qmctl's output and its parse. */
struct fix
{
    struct h_cluster c;
    struct h_run run;
    struct hj_doc doc;
};

/* ---- Helpers ---- */

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* qmctl ARGS... (NULL-terminated); its exit status. */
static int qmctl(struct fix *f, const char *const *args)
{
    return h_qmctl(&f->c, &f->run, args);
}

#define QMCTL(f, ...) qmctl((f), (const char *const[]){__VA_ARGS__, NULL})

/* qmctl --json ARGS..., which must exit 0; the document it printed. */
static const struct hj_val *qmctl_json(struct fix *f, const char *const *args)
{
    const char *argv[40] = {"--json"};
    int n = 1;
    for (int i = 0; args[i] != NULL && n < 39; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    int status = qmctl(f, argv);
    H_CHECK(status == 0, "qmctl --json %s %s: exit %d: %s", args[0],
            args[1] ? args[1] : "", status, f->run.err);
    const struct hj_val *v = hj_parse(&f->doc, f->run.out);
    H_CHECK(v != NULL, "qmctl %s: %s in: %s", args[0], f->doc.err, f->run.out);
    return v;
}

#define JSON(f, ...) qmctl_json((f), (const char *const[]){__VA_ARGS__, NULL})

/* The agent's calls, as qm-agent makes them. */
static int agent_call(struct fix *f,
                      uint32_t op,
                      const struct qm_schema *schema,
                      const void *args,
                      const struct qm_schema *body_schema,
                      void *body)
{
    struct qm_result res;
    int rv = qm__call_sync(f->c.client, op, schema, args, 0, NULL, body_schema,
                           body, &res);
    if (rv != QM_OK) {
        h_log("agent call %u: %s (%s)", op, qm_errname(rv), res.message);
    }
    return rv;
}

static void agent_register(struct fix *f)
{
    struct tp_host_register reg;
    memset(&reg, 0, sizeof(reg));
    snprintf(reg.id, sizeof(reg.id), HOST);
    snprintf(reg.labels, sizeof(reg.labels), "role=trading,rack=a");
    reg.cpus = 8;
    reg.mem_bytes = 16 * GIB;
    reg.disk_bytes = 500 * GIB;
    snprintf(reg.local_api, sizeof(reg.local_api), "ipc:///tmp/qm-web1.sock");
    reg.nservices = 2;
    snprintf(reg.services[0].name, QM_NAME_MAX + 1, "api");
    snprintf(reg.services[0].match, QM_MATCH_MAX + 1, "exe:api-server");
    snprintf(reg.services[1].name, QM_NAME_MAX + 1, "worker");
    snprintf(reg.services[1].match, QM_MATCH_MAX + 1, "pidfile:/run/w.pid");
    struct tp_report_ack ack;
    H_CHECK(agent_call(f, TP_OP_HOST_REGISTER, &tp_host_register_schema, &reg,
                       &tp_report_ack_schema, &ack) == QM_OK &&
                ack.registered,
            "register");
}

/* A sample of the host and its two services; @seq tells samples apart
 * (the api service's threads follow it). */
static void agent_report(struct fix *f, uint64_t seq)
{
    struct tp_report *r = calloc(1, sizeof(*r));
    H_CHECK(r != NULL, "out of memory");
    snprintf(r->host, sizeof(r->host), HOST);
    r->at_ms = wall_ms();
    r->seq = seq;
    r->nparts = 1;
    r->sample = (struct tp_host_sample){
        .cpus = 8,
        .cpu_pm = 123,
        .load1_milli = 520,
        .mem_total = 16 * GIB,
        .mem_avail = 3 * GIB,
        .disk_total = 500 * GIB,
        .disk_avail = 200 * GIB,
        .net_rx_bps = 1200000,
        .net_tx_bps = 300000,
        .procs = 312,
    };
    r->nservices = 2;
    r->services[0] = (struct tp_svc_sample){
        .name = "api",
        .nprocs = 4,
        .nchildren = 3,
        .cpu_pm = 505,
        .rss_bytes = 512 * MIB,
        .fds = 120,
        .fd_limit = 1024,
        .threads = 15 + seq,
        .sockets = 12,
        .tcp_established = 10,
        .tcp_listen = 2,
        .tcp_time_wait = 3,
        .tcp_close_wait = 1,
        .note = "fds growing",
    };
    r->services[1] = (struct tp_svc_sample){
        .name = "worker",
        .nprocs = 1,
        .cpu_pm = 2000,
        .rss_bytes = GIB,
        .fds = 9,
        .threads = 2,
        .enforce = "cpus: not on this kernel",
    };
    struct tp_report_ack ack;
    H_CHECK(agent_call(f, TP_OP_HOST_REPORT, &tp_report_schema, r,
                       &tp_report_ack_schema, &ack) == QM_OK &&
                ack.registered,
            "report %llu", (unsigned long long)seq);
    free(r);
}

static void agent_record_and_raise(struct fix *f)
{
    struct tp_action act = {.host = HOST,
                            .service = "api",
                            .action = "apply",
                            .ok = true,
                            .message = "nice -5 applied"};
    struct tp_action got;
    H_CHECK(agent_call(f, TP_OP_ACTION_RECORD, &tp_action_schema, &act,
                       &tp_action_schema, &got) == QM_OK &&
                got.id > 0,
            "action record");
    struct tp_alert_raise ar = {.kind = "leak",
                                .subject = HOST "/api",
                                .topic = "fds",
                                .severity = "warning",
                                .message = "fds +12/min, limit in 75 min"};
    H_CHECK(agent_call(f, TP_OP_ALERT_RAISE, &tp_alert_raise_schema, &ar, NULL,
                       NULL) == QM_OK,
            "alert raise");
}

/* A credit of 5 units of pool "api" for the host. */
static void agent_take_credit(struct fix *f)
{
    struct qm_result res;
    struct qm_pool_spec spec = {
        .name = "api", .capacity = 100 * QM_MILLI, .refill = 10 * QM_MILLI};
    H_CHECK(qm_pool_create(f->c.client, &spec, &res) == QM_OK, "pool: %s",
            res.message);
    struct tp_credit_grant g = {
        .host = HOST, .pool = "api", .amount = 5 * QM_MILLI, .ttl_ms = 600000};
    struct tp_credit cr;
    H_CHECK(agent_call(f, TP_OP_CREDIT_GRANT, &tp_credit_grant_schema, &g,
                       &tp_credit_schema, &cr) == QM_OK &&
                cr.amount == 5 * QM_MILLI,
            "credit grant");
}

/* The item of array @arr whose @key is @value; NULL if none. */
static const struct hj_val *find(struct fix *f,
                                 const struct hj_val *arr,
                                 const char *key,
                                 const char *value)
{
    for (size_t i = 0; i < arr->len; i++) {
        const struct hj_val *x = hj_item(&f->doc, arr, i);
        const struct hj_val *k = hj_at(&f->doc, x, key);
        if (k != NULL && k->type == HJ_STR && strcmp(k->text, value) == 0) {
            return x;
        }
    }
    return NULL;
}

/* ---- Assertions ---- */

static void assert_str(struct fix *f,
                       const struct hj_val *v,
                       const char *path,
                       const char *want)
{
    const char *got = hj_str(&f->doc, v, path);
    H_CHECK(strcmp(got, want) == 0, "%s is '%s', not '%s'", path, got, want);
}

static void assert_int(struct fix *f,
                       const struct hj_val *v,
                       const char *path,
                       int64_t want)
{
    int64_t got = hj_int(&f->doc, v, path);
    H_CHECK(got == want, "%s is %lld, not %lld", path, (long long)got,
            (long long)want);
}

static void assert_null(struct fix *f, const struct hj_val *v, const char *path)
{
    hj_need(&f->doc, v, path, HJ_NULL);
}

/* qmctl ARGS... exits @status and says @words on stderr. */
static void assert_refused(struct fix *f,
                           int status,
                           const char *words,
                           const char *const *args)
{
    int got = qmctl(f, args);
    H_CHECK(got == status, "qmctl %s %s %s: exit %d, not %d (%s)", args[0],
            args[1], args[2] ? args[2] : "", got, status, f->run.err);
    H_CHECK(strstr(f->run.err, words) != NULL, "qmctl %s %s: '%s' not in: %s",
            args[0], args[1], words, f->run.err);
}

#define REFUSED(f, status, words, ...)     \
    assert_refused((f), (status), (words), \
                   (const char *const[]){__VA_ARGS__, NULL})

/* The host as registered: id, labels, capacity, declared services. */
static void assert_registration(struct fix *f, const struct hj_val *h)
{
    assert_str(f, h, "id", HOST);
    assert_str(f, h, "labels.role", "trading");
    assert_str(f, h, "labels.rack", "a");
    assert_int(f, h, "cpus", 8);
    assert_int(f, h, "mem_bytes", 16 * GIB);
    assert_str(f, h, "local_api", "ipc:///tmp/qm-web1.sock");
    const struct hj_val *svcs = hj_need(&f->doc, h, "services", HJ_ARR);
    H_CHECK(svcs->len == 2, "%zu services", svcs->len);
    assert_str(f, h, "services.0.name", "api");
    assert_str(f, h, "services.0.match", "exe:api-server");
    assert_str(f, h, "services.1.name", "worker");
    assert_str(f, h, "services.1.match", "pidfile:/run/w.pid");
}

/* The host with the sample @seq, reported between @t0 and @t1. */
static void assert_sampled(struct fix *f,
                           const struct hj_val *h,
                           uint64_t seq,
                           int64_t t0,
                           int64_t t1)
{
    assert_registration(f, h);
    assert_str(f, h, "source", "report");
    int64_t seen = hj_int(&f->doc, h, "last_seen_ms");
    H_CHECK(seen >= t0 && seen <= t1, "last seen %lld outside %lld..%lld",
            (long long)seen, (long long)t0, (long long)t1);
    assert_int(f, h, "sample.seq", (int64_t)seq);
    assert_int(f, h, "sample.cpus", 8);
    H_CHECK(hj_num_is(&f->doc, h, "sample.cpu_pct", "12.3"), "host cpu");
    H_CHECK(hj_num_is(&f->doc, h, "sample.load1", "0.52"), "load");
    assert_int(f, h, "sample.mem_avail", 3 * GIB);
    assert_int(f, h, "sample.net_rx_bytes_per_sec", 1200000);
    assert_int(f, h, "sample.procs", 312);
    H_CHECK(hj_bool(&f->doc, h, "services.0.sampled"), "api sampled");
    assert_int(f, h, "services.0.procs", 4);
    assert_int(f, h, "services.0.children", 3);
    H_CHECK(hj_num_is(&f->doc, h, "services.0.cpu_pct", "50.5"), "api cpu");
    assert_int(f, h, "services.0.rss_bytes", 512 * MIB);
    assert_int(f, h, "services.0.fds", 120);
    assert_int(f, h, "services.0.fd_limit", 1024);
    assert_int(f, h, "services.0.threads", 15 + (int64_t)seq);
    assert_int(f, h, "services.0.sockets", 12);
    assert_int(f, h, "services.0.tcp.established", 10);
    assert_int(f, h, "services.0.tcp.listen", 2);
    assert_int(f, h, "services.0.tcp.time_wait", 3);
    assert_int(f, h, "services.0.tcp.close_wait", 1);
    assert_int(f, h, "services.0.tcp.other", 0);
    assert_str(f, h, "services.0.note", "fds growing");
    H_CHECK(hj_num_is(&f->doc, h, "services.1.cpu_pct", "200"), "worker cpu");
    assert_str(f, h, "services.1.enforce", "cpus: not on this kernel");
}

/* The host with its registration only (no sample on this leader). */
static void assert_unsampled(struct fix *f, const struct hj_val *h)
{
    assert_registration(f, h);
    assert_str(f, h, "source", "registration");
    assert_int(f, h, "last_seen_ms", hj_int(&f->doc, h, "updated_ms"));
    assert_null(f, h, "sample");
    H_CHECK(!hj_bool(&f->doc, h, "services.0.sampled"), "api sampled");
    H_CHECK(hj_at(&f->doc, h, "services.0.procs") == NULL, "api procs");
}

/* web1/api as the first alloc set left it, but for what @second changed. */
static void assert_api_alloc(struct fix *f, const struct hj_val *a, bool second)
{
    assert_str(f, a, "host", HOST);
    assert_str(f, a, "service", "api");
    assert_int(f, a, "nice", -5);
    assert_str(f, a, "cpus", "0-1");
    assert_int(f, a, "nofile", 4096);
    assert_int(f, a, "cpu_weight", 200);
    assert_int(f, a, "memory_high", 512 * MIB);
    H_CHECK(hj_int(&f->doc, a, "updated_ms") > 0, "updated_ms");
    if (!second) {
        assert_int(f, a, "nproc", 512);
        assert_str(f, a, "cpu_max", "50000/100000");
        assert_int(f, a, "memory_max", GIB);
        assert_int(f, a, "instances", 2);
        return;
    }
    assert_null(f, a, "nproc");
    assert_str(f, a, "cpu_max", "max/100000");
    assert_str(f, a, "memory_max", "max");
    assert_null(f, a, "instances");
}

/* ---- Cases ---- */

static void hosts_start_empty(struct fix *f)
{
    const struct hj_val *v = JSON(f, "host", "list");
    H_CHECK(v->type == HJ_ARR && v->len == 0, "hosts before any: %s",
            f->run.out);
    REFUSED(f, 1, "NOT_FOUND", "host", "get", HOST);
}

static void hosts_show_registration_and_samples(struct fix *f,
                                                int64_t t0,
                                                int64_t t1)
{
    const struct hj_val *v = JSON(f, "host", "list");
    H_CHECK(v->type == HJ_ARR && v->len == 1, "%zu hosts", v->len);
    assert_sampled(f, hj_item(&f->doc, v, 0), 1, t0, t1);
    v = JSON(f, "host", "get", HOST);
    assert_sampled(f, v, 1, t0, t1);
    const struct hj_val *acts = hj_need(&f->doc, v, "actions", HJ_ARR);
    H_CHECK(acts->len == 1, "%zu actions", acts->len);
    assert_str(f, v, "actions.0.action", "apply");
    assert_str(f, v, "actions.0.service", "api");
    H_CHECK(QMCTL(f, "host", "list") == 0 && strstr(f->run.out, HOST),
            "host list table: %s", f->run.out);
    H_CHECK(
        QMCTL(f, "host", "get", HOST) == 0 && strstr(f->run.out, "fds growing"),
        "host get text: %s", f->run.out);
}

static void allocs_roundtrip_every_field(struct fix *f)
{
    H_CHECK(QMCTL(f, "--json", "alloc", "set", HOST "/api", "--nice", "-5",
                  "--cpus", "0-1", "--nofile", "4096", "--nproc", "512",
                  "--cpu-weight", "200", "--cpu-max", "50000/100000",
                  "--memory-high", "512M", "--memory-max", "1G", "--instances",
                  "2") == 0 &&
                strstr(f->run.out, "\"ok\": true"),
            "alloc set: %s", f->run.err);
    assert_api_alloc(f, JSON(f, "alloc", "get", HOST "/api"), false);
    H_CHECK(QMCTL(f, "alloc", "set", HOST "/api", "--cpu-max", "max",
                  "--memory-max", "max", "--unset", "instances,nproc") == 0,
            "alloc set again: %s", f->run.err);
    assert_api_alloc(f, JSON(f, "alloc", "get", HOST "/api"), true);
    H_CHECK(QMCTL(f, "alloc", "set", HOST "/worker", "--cpu-max=20000",
                  "--unset", "nice") == 0,
            "alloc set worker: %s", f->run.err);
    const struct hj_val *v = JSON(f, "alloc", "list", HOST);
    H_CHECK(v->len == 2, "%zu allocations", v->len);
    assert_api_alloc(f, hj_item(&f->doc, v, 0), true);
    assert_str(f, v, "1.service", "worker");
    assert_str(f, v, "1.cpu_max", "20000/100000");
    assert_null(f, v, "1.nice");
    v = JSON(f, "host", "get", HOST);
    H_CHECK(hj_need(&f->doc, v, "allocations", HJ_ARR)->len == 2,
            "host get allocations");
}

static void allocs_refuse_with_usage_or_error(struct fix *f)
{
    REFUSED(f, 2, "nice wants", "alloc", "set", HOST "/api", "--nice", "40");
    REFUSED(f, 2, "memory-max wants", "alloc", "set", HOST "/api",
            "--memory-max", "1.5G");
    REFUSED(f, 2, "cpu-max wants", "alloc", "set", HOST "/api", "--cpu-max",
            "500");
    REFUSED(f, 2, "nothing to change", "alloc", "set", HOST "/api");
    REFUSED(f, 2, "no field 'bogus'", "alloc", "set", HOST "/api", "--unset",
            "bogus");
    REFUSED(f, 2, "both set and unset", "alloc", "set", HOST "/api", "--nice",
            "1", "--unset", "nice");
    REFUSED(f, 2, "HOST/SERVICE", "alloc", "set", HOST, "--nice", "1");
    REFUSED(f, 1, "cpus must be a CPU list", "alloc", "set", HOST "/api",
            "--cpus", "3-1");
    REFUSED(f, 1, "no host named 'nohost'", "alloc", "set", "nohost/api",
            "--nice", "1");
    REFUSED(f, 1, "NOT_FOUND", "alloc", "get", HOST "/none");
}

static void actions_alerts_credits_are_listed(struct fix *f)
{
    const struct hj_val *v = JSON(f, "action", "list");
    const struct hj_val *a = find(f, v, "action", "apply");
    H_CHECK(a != NULL, "no apply action in %s", f->run.out);
    assert_str(f, a, "host", HOST);
    assert_str(f, a, "message", "nice -5 applied");
    H_CHECK(hj_bool(&f->doc, a, "ok"), "action ok");
    v = JSON(f, "action", "list", "--host", "other");
    H_CHECK(v->len == 0, "actions of another host: %s", f->run.out);
    v = JSON(f, "alerts");
    a = find(f, v, "subject", HOST "/api");
    H_CHECK(a != NULL, "no alert on web1/api in %s", f->run.out);
    assert_str(f, a, "kind", "leak");
    assert_str(f, a, "severity", "warning");
    v = JSON(f, "credit", "list", "--host", HOST);
    H_CHECK(v->len == 1, "%zu credits", v->len);
    assert_str(f, v, "0.pool", "api");
    H_CHECK(hj_num_is(&f->doc, v, "0.amount", "5"), "credit amount");
    H_CHECK(hj_int(&f->doc, v, "0.expires_at_ms") > wall_ms(), "expiry");
}

static void top_once_prints_hosts_and_services(struct fix *f)
{
    H_CHECK(QMCTL(f, "top", "--once") == 0, "top: %s", f->run.err);
    const char *out = f->run.out;
    H_CHECK(strchr(out, '\033') == NULL, "escape codes in a pipe: %s", out);
    H_CHECK(strstr(out, "leader node ") != NULL, "no leader: %s", out);
    H_CHECK(
        strstr(out, "\n" HOST " [role=trading,rack=a]  cpu 12.3% of 8") != NULL,
        "no host line: %s", out);
    const char *api = strstr(out, "\n  api ");
    H_CHECK(api != NULL && strstr(out, "\n  worker ") > api,
            "services not in order: %s", out);
    char want[128];
    snprintf(want, sizeof(want), "\n  %-22s %6d %6s %7s %13s", "api", 4, "50.5",
             "512M", "120/1024");
    H_CHECK(strstr(out, want) != NULL, "no api row '%s' in: %s", want + 1, out);
    REFUSED(f, 2, "top draws a terminal view", "--json", "top", "--once");
}

/* The leader dies: registration and allocations stay; samples are gone
 * until the agent reports to the new leader. */
static void samples_come_back_after_failover(struct fix *f)
{
    int leader = h_wait_leader(&f->c, 10000);
    H_CHECK(h_node_stop(&f->c, leader, SIGKILL) == 128 + SIGKILL, "kill");
    h_log("killed leader node %d", leader + 1);
    int next = h_wait_leader(&f->c, 20000);
    h_log("node %d leads", next + 1);
    struct qm_host_metrics *m = calloc(1, sizeof(*m));
    struct qm_result res;
    H_CHECK(m != NULL, "out of memory");
    int rv = qm_host_metrics(f->c.client, HOST, m, &res);
    H_CHECK(rv == QM_NOT_FOUND, "metrics on the new leader: %s (%s)",
            qm_errname(rv), res.message);
    const struct hj_val *v = JSON(f, "host", "list");
    H_CHECK(v->len == 1, "%zu hosts", v->len);
    assert_unsampled(f, hj_item(&f->doc, v, 0));
    assert_api_alloc(f, JSON(f, "alloc", "get", HOST "/api"), true);
    int64_t t0 = wall_ms();
    agent_report(f, 2);
    int64_t t1 = wall_ms();
    H_CHECK(qm_host_metrics(f->c.client, HOST, m, &res) == QM_OK &&
                m->seq == 2 && m->window == 1,
            "metrics after the report: %s", res.message);
    free(m);
    assert_sampled(f, JSON(f, "host", "get", HOST), 2, t0, t1);
    h_node_start(&f->c, leader, false);
    h_wait_voters(&f->c, 3, 20000);
    h_wait_converged(&f->c, 30000);
}

static void deleted_host_is_gone_with_its_allocations(struct fix *f)
{
    H_CHECK(QMCTL(f, "host", "delete", HOST) == 0, "delete: %s", f->run.err);
    REFUSED(f, 1, "NOT_FOUND", "host", "get", HOST);
    REFUSED(f, 1, "NOT_FOUND", "alloc", "get", HOST "/api");
    const struct hj_val *v = JSON(f, "host", "list");
    H_CHECK(v->len == 0, "hosts after delete: %s", f->run.out);
}

int main(void)
{
    struct fix *f = calloc(1, sizeof(*f));
    H_CHECK(f != NULL, "out of memory");
    h_cluster_init(&f->c, "hosts", 3);
    h_cluster_start(&f->c);
    hosts_start_empty(f);
    agent_register(f);
    int64_t t0 = wall_ms();
    agent_report(f, 1);
    int64_t t1 = wall_ms();
    agent_record_and_raise(f);
    agent_take_credit(f);
    hosts_show_registration_and_samples(f, t0, t1);
    allocs_roundtrip_every_field(f);
    allocs_refuse_with_usage_or_error(f);
    actions_alerts_credits_are_listed(f);
    top_once_prints_hosts_and_services(f);
    samples_come_back_after_failover(f);
    deleted_host_is_gone_with_its_allocations(f);
    h_cluster_stop(&f->c);
    free(f);
    printf("hosts: ok\n");
    return 0;
}
