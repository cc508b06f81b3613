/* Units and limits shared by every process (design.md rules 1 and 5).
 * README's "Limits" table lists these; change both together. */
#ifndef QM_LIB_QM_LIMITS_H
#define QM_LIB_QM_LIMITS_H

/* Fixed-point units. Tokens are int64 milli-units, refill rates milli-units
 * per second, money int64 micro-dollars, per-unit prices int64 nano-dollars
 * (so a price of $0.0000005 per read is exact). */
#define QM_MILLI 1000LL
#define QM_MICRO 1000000LL
#define QM_NANO 1000000000LL

/* Protocol. */
#define QM_PROTO_VERSION 1
#define QM_MSG_MAX (1u << 20) /* bytes in one request or reply */
#define QM_CRED_MAX 256       /* credential (bearer token) bytes */
#define QM_URL_MAX 255        /* an API URL such as tcp://10.0.0.1:7101 */
#define QM_ADDR_MAX 63        /* a raft address a.b.c.d:port */
#define QM_MESSAGE_MAX 200    /* the text of an error reply */

/* Names of pools (and later clients): 1..64 of [A-Za-z0-9._-]. */
#define QM_NAME_MAX 64

/* Pools. */
#define QM_TOKENS_MAX 1000000000000000LL /* 10^12 units, in milli-units */
#define QM_REFILL_MAX 1000000000000000LL /* milli-units per second */
#define QM_PRICE_MAX 1000000000000000LL  /* $10^6 per unit, nano-dollars */
#define QM_POOLS_MAX 100000

/* The ledger: clients, tiers, reservations, money, alerts. */
#define QM_MONEY_MAX 1000000000000000LL /* $10^9, in micro-dollars */
#define QM_CLIENTS_MAX 100000
#define QM_SHARES_MAX 16   /* reserved shares of one pool */
#define QM_RES_POOLS_MAX 8 /* pools in one reservation */
#define QM_RESERVATIONS_MAX 1000000
#define QM_RES_TTL_MS 60000LL /* default lease of a reservation */
#define QM_RES_TTL_MAX_MS (24LL * 3600 * 1000)
#define QM_ALERTS_MAX 1000 /* the most recent are kept */
#define QM_ALERT_COOLDOWN_MS (5LL * 60 * 1000)
#define QM_SUBJECT_MAX 160 /* an alert's subject */

/* Queues of work. */
#define QM_PAYLOAD_MAX (64 * 1024) /* opaque payload of a request */
#define QM_REQUESTS_MAX 2000000    /* queued and running requests */
#define QM_FINISHED_MAX 100000     /* finished requests kept for reads */
#define QM_FINISHED_TTL_MS (60LL * 60 * 1000) /* and for at most an hour */
#define QM_ATTEMPTS_MAX 100
#define QM_REASON_MAX 200

/* Hosts and their agents. */
#define QM_HOSTS_MAX 10000        /* registered hosts */
#define QM_HOST_SERVICES_MAX 32   /* watched services of one host */
#define QM_REPORT_SERVICES_MAX 32 /* service samples in one report */
#define QM_LABELS_MAX 255         /* "key=value,key=value" of a host */
#define QM_MATCH_MAX 160          /* a service's match spec */
#define QM_CPULIST_MAX 63         /* a CPU list such as "0-3,6" */
#define QM_NOTE_MAX 120           /* a short status text of a service */
#define QM_ACTIONS_MAX 1000       /* recorded agent actions kept */
#define QM_CREDITS_MAX 100000     /* outstanding agent credits */
#define QM_CREDIT_TTL_MS 30000LL  /* default lease of a credit */
#define QM_CREDIT_TTL_MAX_MS (60LL * 60 * 1000)
#define QM_METRICS_HOSTS_MAX 1024 /* hosts whose samples a leader keeps */
#define QM_METRICS_PAGE_MAX 4     /* hosts in one metrics page */
#define QM_HOST_PAGE_MAX 16       /* hosts in one page of registrations */

/* Cluster. */
#define QM_MEMBERS_MAX 16
#define QM_NODE_ID_MAX 1000000

/* Lists are paged; one page holds at most this many items. */
#define QM_PAGE_MAX 100

/* Raft entries: one entry carries a batch of commands. */
#define QM_BATCH_MAX 1024

/* Client sessions (exactly-once replies). */
#define QM_SESSIONS_MAX 100000
#define QM_SESSION_TTL_MS (30LL * 60 * 1000)

/* Cluster time is milliseconds since the epoch; this bounds stamps. */
#define QM_TIME_MAX 253402300799999LL /* 9999-12-31T23:59:59.999Z */

#endif
