/*
 * test_cluster.h - what the cluster tests share (test_cluster.c): the
 * cluster contrib/cluster/up.sh started (its endpoints from cluster.env),
 * a bounded payment load against both hosts that records every 201, and
 * the checks every scenario ends with (each acknowledged payment exists,
 * no key moved money twice, reconcile --full clean).
 */
#ifndef LF_TEST_CLUSTER_H
#define LF_TEST_CLUSTER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define CL_HOSTS 2
#define CL_ACCOUNTS 4

struct cl {
	char dir[300];    /* the cluster's state directory */
	char up[1100];    /* contrib/cluster/up.sh */
	char build[1024]; /* where ledgerflowctl is */
	bool quick;       /* the CI form; LF_TEST_CLUSTER=full for the rest */
	unsigned host[CL_HOSTS];
	unsigned galera[3];
	unsigned redis[2], sentinel[3];
	char account[CL_ACCOUNTS][37];
};
extern struct cl cl;

/* `up.sh COMMAND DIR [N]`; its exit status. */
int cl_up(const char *command, int n);
/* SQL on Galera node (0-based) as the admin login; the first column of
 * the first row into out (may be NULL: no row needed). */
bool cl_sql_node(int node, const char *sql, char *out, size_t len);
/* One integer from SQL on the first Galera node that answers (as the
 * admin login); false when none answers or the query fails. */
bool cl_sql_int(const char *sql, long long *out);
/* How many lines of host i's log (0-based) contain text. */
int cl_log_count(int host, const char *text);
/* The host's master pid (its pid file), 0 when unknown. */
int cl_host_pid(int host);
/* The port the sentinels name as the Redis master (0: none answers). */
unsigned cl_redis_master(void);

/* ---- the load: one thread per host, fresh keys, every 201 kept ---- */
struct cl_ack {
	char id[40];
	char key[48];
};
struct cl_load {
	char tag[24]; /* the keys' and references' prefix */
	int max_per_host;
	int64_t deadline_ms;
	pthread_t th[CL_HOSTS];
	volatile bool stop;
	pthread_mutex_t lock;
	struct cl_ack *acks; /* guarded by lock */
	int nacks, cap;
	/* per host: payments acknowledged, answers that were not 201 (5xx,
	 * 409 in flight), broken connections, keys never acknowledged */
	int ok[CL_HOSTS], retried[CL_HOSTS], broken[CL_HOSTS], given_up[CL_HOSTS];
	int unexpected; /* a 4xx other than 409 in flight: fails the test */
};
/* Start the load (tag unique per scenario); at most max_per_host payments
 * a host and seconds long. */
bool cl_load_start(struct cl_load *l, const char *tag, int max_per_host, int seconds);
/* Stop it and wait for the threads; acknowledged so far. */
int cl_load_stop(struct cl_load *l);
void cl_load_clear(struct cl_load *l);
int cl_load_ok(struct cl_load *l); /* 201s so far, both hosts */
/* The end of every scenario: every acknowledged payment readable from a
 * host with its reference (lost), payments per reference of this tag
 * beyond the first (dups), and ledgerflowctl reconcile --full's status.
 * The hosts read from Galera node 3: a payment it has not applied yet is
 * read again with ?consistency=strong (stale), and only then lost. */
struct cl_verdict {
	int acked, lost, dups, reconcile;
	int stale; /* 404 from the replica (Galera node 3), then found on the primary */
};
struct cl_verdict cl_verify(struct cl_load *l);
void cl_report(const char *scenario, const struct cl_load *l, const struct cl_verdict *v,
	       const char *figures);

/* the scenarios (test_cluster_faults.c) */
void test_galera_node_killed(void);
void test_reads_from_node3(void);
void test_redis_failover(void);
void test_same_key_two_hosts(void);
void test_reload_one_host(void);

#endif
