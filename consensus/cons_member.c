/* Membership changes on the leader: add a voter (record its API address,
 * raft_add as spare, raft_assign voter once it has caught up), remove a
 * member (raft_remove, forget its record), transfer leadership. One change
 * at a time; each raft call is made from the check handle, never inside a
 * raft callback (raft-guide.md §1). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cons_internal.h"
#include "qm_err.h"
#include "qm_log.h"

struct plan
{
    int steps[CONS_PLAN_MAX];
    int n;
};

static bool valid_raft_addr(const char *addr)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr || (size_t)(colon - addr) > 15) {
        return false;
    }
    char host[16];
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    struct in_addr a;
    if (inet_pton(AF_INET, host, &a) != 1) {
        return false;
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    return *end == '\0' && end != colon + 1 && port > 0 && port < 65536;
}

static void finish(struct cons *c, int status, const char *message)
{
    cons_done_fn cb = c->chg.cb;
    void *arg = c->chg.arg;
    c->chg.step = CHG_IDLE;
    c->chg.cb = NULL;
    if (status == QM_OK) {
        qm_log(QM_LOG_INFO, "CONS0030", "membership change done: %s", message);
    } else {
        qm_log(QM_LOG_WARN, "CONS0031", "membership change failed: %s",
               message);
    }
    if (cb != NULL) {
        cb(arg, status, message);
    }
}

void cons__change_abort(struct cons *c, int status, const char *message)
{
    if (c->chg.step != CHG_IDLE) {
        finish(c, status, message);
    }
}

/* Move to the next step of the plan, or finish. */
static void advance(struct cons *c)
{
    struct cons_change *g = &c->chg;
    if (g->plan_pos >= g->plan_len) {
        char msg[128];
        snprintf(msg, sizeof(msg), "member %llu",
                 (unsigned long long)c->chg.member.id);
        finish(c, QM_OK, msg);
        return;
    }
    g->step = g->plan[g->plan_pos++];
    cons__kick(c);
}

static void begin(struct cons *c,
                  const struct plan *p,
                  cons_done_fn cb,
                  void *arg)
{
    memcpy(c->chg.plan, p->steps, sizeof(c->chg.plan));
    c->chg.plan_len = p->n;
    c->chg.plan_pos = 0;
    c->chg.cb = cb;
    c->chg.arg = arg;
    advance(c);
}

static void record_done(void *arg, int status, struct qm_span result)
{
    (void)result;
    struct cons *c = arg;
    if (status != QM_OK) {
        finish(c, status, "could not record the member's addresses");
        return;
    }
    advance(c);
}

static void change_done(struct raft_change *req, int status)
{
    struct cons *c = req->data;
    if (status != 0) {
        char msg[QM_MESSAGE_MAX];
        snprintf(msg, sizeof(msg), "raft refused the change: %s",
                 raft_strerror(status));
        finish(c, cons__err_from_raft(status), msg);
        return;
    }
    advance(c);
}

static void transfer_done(struct raft_transfer *req)
{
    struct cons *c = req->data;
    raft_id leader = 0;
    const char *addr = NULL;
    raft_leader(&c->raft, &leader, &addr);
    char msg[QM_MESSAGE_MAX];
    if (c->chg.self_removal) {
        if (leader != c->id) {
            snprintf(msg, sizeof(msg),
                     "leadership moved to node %llu; retry the removal there",
                     (unsigned long long)leader);
            finish(c, QM_NOT_LEADER, msg);
        } else {
            finish(c, QM_UNAVAILABLE,
                   "could not hand leadership over before leaving; retry");
        }
        return;
    }
    if (leader == c->chg.member.id) {
        advance(c);
        return;
    }
    snprintf(msg, sizeof(msg),
             "node %llu did not take over within the election timeout",
             (unsigned long long)c->chg.member.id);
    finish(c, QM_UNAVAILABLE, msg);
}

void cons__change_step(struct cons *c)
{
    struct cons_change *g = &c->chg;
    if (g->step == CHG_IDLE || g->step == CHG_WAIT) {
        return;
    }
    if (raft_state(&c->raft) != RAFT_LEADER) {
        finish(c, QM_NOT_LEADER, "lost leadership during the change");
        return;
    }
    int step = g->step;
    g->step = CHG_WAIT;
    g->req.data = c;
    g->transfer.data = c;
    int rv = 0;
    switch (step) {
        case CHG_RECORD:
            cons__propose_internal(c, TP_OP_MEMBER_SET, &tp_member_schema,
                                   &g->member, record_done, c);
            return;
        case CHG_FORGET: {
            struct tp_member_id id = {g->member.id};
            cons__propose_internal(c, TP_OP_MEMBER_DEL, &tp_member_id_schema,
                                   &id, record_done, c);
            return;
        }
        case CHG_ADD:
            rv = raft_add(&c->raft, &g->req, g->member.id, g->member.raft_addr,
                          change_done);
            break;
        case CHG_ASSIGN:
            rv = raft_assign(&c->raft, &g->req, g->member.id, RAFT_VOTER,
                             change_done);
            break;
        case CHG_REMOVE:
            rv = raft_remove(&c->raft, &g->req, g->member.id, change_done);
            break;
        case CHG_TRANSFER:
            rv = raft_transfer(&c->raft, &g->transfer,
                               g->self_removal ? 0 : g->member.id,
                               transfer_done);
            break;
        default:
            rv = RAFT_INVALID;
            break;
    }
    if (rv != 0) {
        char msg[QM_MESSAGE_MAX];
        snprintf(msg, sizeof(msg), "raft: %s", raft_errmsg(&c->raft));
        finish(c, cons__err_from_raft(rv), msg);
    }
}

/* Common refusals; true when @cb was answered. */
static bool refuse(struct cons *c, cons_done_fn cb, void *arg)
{
    if (c->closing) {
        cb(arg, QM_UNAVAILABLE, "the node is shutting down");
        return true;
    }
    if (raft_state(&c->raft) != RAFT_LEADER) {
        cb(arg, QM_NOT_LEADER, "not the leader");
        return true;
    }
    if (c->chg.step != CHG_IDLE) {
        cb(arg, QM_UNAVAILABLE,
           "another membership change is in progress; retry");
        return true;
    }
    return false;
}

void cons_member_add(struct cons *c,
                     const struct tp_member *m,
                     cons_done_fn cb,
                     void *arg)
{
    char msg[QM_MESSAGE_MAX];
    if (refuse(c, cb, arg)) {
        return;
    }
    if (!valid_raft_addr(m->raft_addr)) {
        snprintf(msg, sizeof(msg),
                 "raft address '%s' is not IPv4:port (libraft 0.15 takes no "
                 "host names)",
                 m->raft_addr);
        cb(arg, QM_INVALID, msg);
        return;
    }
    struct plan p = {{0}, 0};
    const struct raft_server *s = cons__server(c, m->id);
    if (s != NULL) {
        if (strcmp(s->address, m->raft_addr) != 0) {
            snprintf(msg, sizeof(msg),
                     "member %llu already exists with raft address %s",
                     (unsigned long long)m->id, s->address);
            cb(arg, QM_EXISTS, msg);
            return;
        }
        p.steps[p.n++] = CHG_RECORD;
        if (s->role != RAFT_VOTER) {
            p.steps[p.n++] = CHG_ASSIGN;
        }
    } else {
        const struct raft_configuration *conf = &c->raft.configuration;
        for (unsigned i = 0; i < conf->n; i++) {
            if (strcmp(conf->servers[i].address, m->raft_addr) == 0) {
                snprintf(msg, sizeof(msg),
                         "raft address %s belongs to member %llu", m->raft_addr,
                         (unsigned long long)conf->servers[i].id);
                cb(arg, QM_EXISTS, msg);
                return;
            }
        }
        if (conf->n >= QM_MEMBERS_MAX) {
            snprintf(msg, sizeof(msg), "the cluster has %d members already",
                     QM_MEMBERS_MAX);
            cb(arg, QM_INVALID, msg);
            return;
        }
        p.steps[p.n++] = CHG_RECORD;
        p.steps[p.n++] = CHG_ADD;
        p.steps[p.n++] = CHG_ASSIGN;
    }
    c->chg.member = *m;
    c->chg.member.role = 0;
    c->chg.self_removal = false;
    qm_log(QM_LOG_INFO, "CONS0032", "adding member %llu raft=%s api=%s",
           (unsigned long long)m->id, m->raft_addr, m->api_url);
    begin(c, &p, cb, arg);
}

void cons_member_remove(struct cons *c, uint64_t id, cons_done_fn cb, void *arg)
{
    if (refuse(c, cb, arg)) {
        return;
    }
    if (cons__server(c, id) == NULL) {
        char msg[QM_MESSAGE_MAX];
        snprintf(msg, sizeof(msg), "member %llu is not in the configuration",
                 (unsigned long long)id);
        cb(arg, QM_NOT_FOUND, msg);
        return;
    }
    memset(&c->chg.member, 0, sizeof(c->chg.member));
    c->chg.member.id = id;
    struct plan p = {{0}, 0};
    c->chg.self_removal = id == c->id;
    if (c->chg.self_removal) {
        p.steps[p.n++] = CHG_TRANSFER;
    } else {
        p.steps[p.n++] = CHG_REMOVE;
        p.steps[p.n++] = CHG_FORGET;
    }
    qm_log(QM_LOG_INFO, "CONS0033", "removing member %llu",
           (unsigned long long)id);
    begin(c, &p, cb, arg);
}

void cons_member_transfer(struct cons *c,
                          uint64_t id,
                          cons_done_fn cb,
                          void *arg)
{
    char msg[QM_MESSAGE_MAX];
    if (refuse(c, cb, arg)) {
        return;
    }
    const struct raft_server *s = cons__server(c, id);
    if (s == NULL || s->role != RAFT_VOTER || id == c->id) {
        snprintf(msg, sizeof(msg),
                 id == c->id ? "node %llu already leads"
                             : "member %llu is not a voter",
                 (unsigned long long)id);
        cb(arg, QM_INVALID, msg);
        return;
    }
    memset(&c->chg.member, 0, sizeof(c->chg.member));
    c->chg.member.id = id;
    c->chg.self_removal = false;
    struct plan p = {{CHG_TRANSFER}, 1};
    begin(c, &p, cb, arg);
}
