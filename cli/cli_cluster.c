/* Cluster commands: status, member add|remove|transfer, debug digest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *state_name(int s)
{
    switch (s) {
        case QM_STATE_LEADER:
            return "leader";
        case QM_STATE_FOLLOWER:
            return "follower";
        case QM_STATE_CANDIDATE:
            return "candidate";
        default:
            return "unavailable";
    }
}

static const char *role_name(int r)
{
    switch (r) {
        case QM_ROLE_VOTER:
            return "voter";
        case QM_ROLE_STANDBY:
            return "standby";
        default:
            return "spare";
    }
}

static int by_id(const void *a, const void *b)
{
    const struct qm_member *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Ask the --cluster URLs in turn until one answers about itself. */
static int first_info(struct cli *c,
                      struct qm_node_info *out,
                      struct qm_result *res)
{
    char urls[1024];
    snprintf(urls, sizeof(urls), "%s", c->cluster);
    int rv = QM_ECONN;
    for (char *save, *u = strtok_r(urls, ",", &save); u != NULL;
         u = strtok_r(NULL, ",", &save)) {
        while (*u == ' ') {
            u++;
        }
        rv = qm_node_info(c->client, u, out, res);
        if (rv == QM_OK) {
            return rv;
        }
    }
    return rv;
}

int cli_status(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv)
{
    char *pos[1];
    int rv = cli_args(cmd, argc, argv, pos, 0);
    if (rv != CLI_OK) {
        return rv;
    }
    struct qm_node_info *base = calloc(1, sizeof(*base));
    struct qm_node_info *each = calloc(QM_MEMBERS_MAX, sizeof(*each));
    bool *up = calloc(QM_MEMBERS_MAX, sizeof(*up));
    if (base == NULL || each == NULL || up == NULL) {
        free(base);
        free(each);
        free(up);
        fprintf(stderr, "qmctl: out of memory\n");
        return CLI_ERROR;
    }
    struct qm_result res;
    rv = first_info(c, base, &res);
    if (rv != QM_OK) {
        rv = cli_fail(c, rv, &res, "status");
        goto out;
    }
    /* The leader's configuration is the authoritative one. */
    if (base->leader_url[0] != '\0' && base->leader_id != base->id) {
        struct qm_node_info *l = &each[0];
        if (qm_node_info(c->client, base->leader_url, l, &res) == QM_OK) {
            *base = *l;
        }
    }
    qsort(base->members, base->nmembers, sizeof(base->members[0]), by_id);
    for (unsigned i = 0; i < base->nmembers; i++) {
        const struct qm_member *m = &base->members[i];
        up[i] = m->api_url[0] != '\0' &&
                qm_node_info(c->client, m->api_url, &each[i], &res) == QM_OK;
    }
    if (c->json) {
        struct cli_json *j = &c->j;
        cj_obj(j);
        cj_key(j, "leader");
        cj_uint(j, base->leader_id);
        cj_key(j, "term");
        cj_uint(j, base->term);
        cj_key(j, "members");
        cj_arr(j);
        for (unsigned i = 0; i < base->nmembers; i++) {
            const struct qm_member *m = &base->members[i];
            cj_obj(j);
            cj_key(j, "id");
            cj_uint(j, m->id);
            cj_key(j, "raft_addr");
            cj_str(j, m->raft_addr);
            cj_key(j, "api_addr");
            cj_str(j, m->api_url);
            cj_key(j, "role");
            cj_str(j, up[i] ? state_name(each[i].state) : "unknown");
            cj_key(j, "membership");
            cj_str(j, role_name(m->role));
            cj_key(j, "applied_index");
            if (up[i]) {
                cj_uint(j, each[i].applied_index);
            } else {
                cj_null(j);
            }
            cj_key(j, "commit_index");
            if (up[i]) {
                cj_uint(j, each[i].commit_index);
            } else {
                cj_null(j);
            }
            cj_key(j, "reachable");
            cj_bool(j, up[i]);
            cj_obj_end(j);
        }
        cj_arr_end(j);
        cj_obj_end(j);
        cj_done(j);
    } else {
        if (base->leader_id != 0) {
            printf("leader %llu (%s), term %llu, %u members\n",
                   (unsigned long long)base->leader_id, base->leader_url,
                   (unsigned long long)base->term, base->nmembers);
        } else {
            printf("no leader known (term %llu), %u members\n",
                   (unsigned long long)base->term, base->nmembers);
        }
        printf("%-4s %-11s %-10s %-21s %-28s %9s %9s %s\n", "ID", "ROLE",
               "MEMBER", "RAFT ADDRESS", "API ADDRESS", "APPLIED", "COMMIT",
               "REACHABLE");
        for (unsigned i = 0; i < base->nmembers; i++) {
            const struct qm_member *m = &base->members[i];
            char applied[24] = "-", commit[24] = "-";
            if (up[i]) {
                snprintf(applied, sizeof(applied), "%llu",
                         (unsigned long long)each[i].applied_index);
                snprintf(commit, sizeof(commit), "%llu",
                         (unsigned long long)each[i].commit_index);
            }
            printf("%-4llu %-11s %-10s %-21s %-28s %9s %9s %s\n",
                   (unsigned long long)m->id,
                   up[i] ? state_name(each[i].state) : "unknown",
                   role_name(m->role), m->raft_addr,
                   m->api_url[0] ? m->api_url : "-", applied, commit,
                   up[i] ? "yes" : "no");
        }
    }
    rv = CLI_OK;
out:
    free(base);
    free(each);
    free(up);
    return rv;
}

static int parse_id(const char *s, uint64_t *id)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s == '\0' || *end != '\0' || *s == '-' || v == 0 ||
        v > QM_NODE_ID_MAX) {
        return -1;
    }
    *id = v;
    return 0;
}

int cli_member(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv)
{
    bool add = strcmp(cmd->verb, "add") == 0;
    char *pos[3];
    int npos;
    int rv = cli_parse(cmd, argc, argv, NULL, 0, pos, add ? 3 : 1, add ? 3 : 1,
                       &npos);
    if (rv != CLI_OK) {
        return rv;
    }
    uint64_t id;
    if (parse_id(pos[0], &id) != 0) {
        return cli_usage_error(cmd, "member id must be 1..%d, got '%s'",
                               QM_NODE_ID_MAX, pos[0]);
    }
    struct qm_result res;
    if (add) {
        rv = qm_member_add(c->client, id, pos[1], pos[2], &res);
    } else if (strcmp(cmd->verb, "remove") == 0) {
        rv = qm_member_remove(c->client, id, &res);
    } else {
        rv = qm_member_transfer(c->client, id, &res);
    }
    if (rv != QM_OK) {
        return cli_fail(c, rv, &res, "member %s %llu", cmd->verb,
                        (unsigned long long)id);
    }
    return cli_ok(c);
}

static void print_digest(struct cli *c,
                         uint64_t id,
                         uint64_t applied,
                         const char *digest)
{
    if (c->json) {
        cj_obj(&c->j);
        cj_key(&c->j, "id");
        cj_uint(&c->j, id);
        cj_key(&c->j, "applied_index");
        cj_uint(&c->j, applied);
        cj_key(&c->j, "digest");
        cj_str(&c->j, digest);
        cj_obj_end(&c->j);
    } else {
        printf("node %llu applied %llu digest %s\n", (unsigned long long)id,
               (unsigned long long)applied, digest);
    }
}

int cli_digest(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv)
{
    struct cli_opt opts[] = {CLI_FLAG("all")};
    char *pos[1];
    int npos;
    int rv = cli_parse(cmd, argc, argv, opts, 1, pos, 0, 0, &npos);
    if (rv != CLI_OK) {
        return rv;
    }
    struct qm_result res;
    uint64_t id, applied;
    char digest[33];
    if (!opts[0].set) {
        rv = qm_digest(c->client, c->first_url, &id, &applied, digest, &res);
        if (rv != QM_OK) {
            return cli_fail(c, rv, &res, "debug digest");
        }
        print_digest(c, id, applied, digest);
        if (c->json) {
            cj_done(&c->j);
        }
        return CLI_OK;
    }
    struct qm_node_info *base = calloc(1, sizeof(*base));
    if (base == NULL) {
        return CLI_ERROR;
    }
    rv = qm_node_info(c->client, c->first_url, base, &res);
    if (rv != QM_OK) {
        free(base);
        return cli_fail(c, rv, &res, "debug digest --all");
    }
    int status = CLI_OK;
    if (c->json) {
        cj_arr(&c->j);
    }
    for (unsigned i = 0; i < base->nmembers; i++) {
        const struct qm_member *m = &base->members[i];
        rv = qm_digest(c->client, m->api_url, &id, &applied, digest, &res);
        if (rv != QM_OK) {
            fprintf(stderr, "qmctl: node %llu (%s): %s\n",
                    (unsigned long long)m->id, m->api_url, res.message);
            status = CLI_UNAVAILABLE;
            continue;
        }
        print_digest(c, id, applied, digest);
    }
    if (c->json) {
        cj_arr_end(&c->j);
        cj_done(&c->j);
    }
    free(base);
    return status;
}
