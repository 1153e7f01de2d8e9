/*
 * test_cluster_faults.c - the scenarios of test_cluster. First, the hosts
 * read from Galera node 3 ([mysql_replica]) and ?consistency=strong from
 * the node they write through. Then, each under load on both hosts and
 * each ending with cl_verify (every acknowledged payment present, no
 * duplicate, reconcile --full clean):
 *   - the same Idempotency-Key sent to both hosts at once moves money once:
 *     one original, the other its byte-identical replay or a 409 in
 *     flight whose retry replays;
 *   - SIGHUP to one host while the other serves: no request of either
 *     fails;
 *   - a Galera node killed (-9) while both hosts write through it: they
 *     fail over, keep answering, and take it back (failback) once it has
 *     rejoined by IST (the full form kills every node in turn);
 *   - the Redis master killed (-9): Sentinel promotes the replica and the
 *     hosts follow (the full form also brings the old master back stale and
 *     fails over once more by hand).
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "harness.h"
#include "test_cluster.h"

/* An assertion while the load runs: on failure, on to `out`, which stops
 * the load (CU_ASSERT_FATAL would leave its threads running). */
#define CL_CHECK(cond)             \
	do {                       \
		bool ok_ = (cond); \
		CU_ASSERT(ok_);    \
		if (!ok_)          \
			goto out;  \
	} while (0)

/* Wait (bounded) while load runs; returns false if the deadline passed
 * before pred() held. */
static bool wait_for(bool (*pred)(void *), void *arg, int ms)
{
	int64_t until = lf_h_now_ms() + ms;
	while (lf_h_now_ms() < until) {
		if (pred(arg))
			return true;
		usleep(100 * 1000);
	}
	return pred(arg);
}

/* ---- the same key on both hosts ---- */

struct race {
	pthread_barrier_t *go;
	int host;
	const char *key;
	int status, final; /* the first answer, the answer after 409 retries */
	bool replayed;     /* the final answer said Idempotent-Replayed: true */
	char *body;        /* the final answer's body (malloc'd) */
};

static void *race_thread(void *arg)
{
	struct race *x = arg;
	char headers[128], body[400];
	snprintf(headers, sizeof headers, "Idempotency-Key: %s\r\n", x->key);
	snprintf(body, sizeof body,
		 "{\"fromAccountId\":\"%s\",\"toAccountId\":\"%s\",\"amount\":\"0.01\","
		 "\"reference\":\"%s\"}",
		 cl.account[0], cl.account[1], x->key);
	struct lf_h_conn c;
	bool open = lf_h_connect(&c, cl.host[x->host]);
	pthread_barrier_wait(x->go);
	for (int attempt = 0; attempt < 100 && open; attempt++) {
		struct lf_h_resp r;
		if (lf_h_request(&c, "POST", "/api/payments", headers, body, &r) != 0) {
			lf_h_resp_free(&r);
			break;
		}
		if (attempt == 0)
			x->status = r.status;
		x->final = r.status;
		char v[16] = "";
		x->replayed = lf_h_header(&r, "Idempotent-Replayed", v, sizeof v) &&
			      strcmp(v, "true") == 0;
		if (r.status != 409) {
			x->body = r.body;
			r.body = NULL;
			lf_h_resp_free(&r);
			break;
		}
		lf_h_resp_free(&r);
		usleep(50 * 1000);
	}
	if (open)
		lf_h_close(&c);
	return NULL;
}

void test_same_key_two_hosts(void)
{
	int rounds = cl.quick ? 20 : 200;
	struct cl_load l;
	memset(&l, 0, sizeof l);
	snprintf(l.tag, sizeof l.tag, "race%ld", (long)(time(NULL) % 100000));
	pthread_mutex_init(&l.lock, NULL);
	l.acks = calloc((size_t)rounds, sizeof *l.acks);
	CU_ASSERT_FATAL(l.acks != NULL);
	long long before = -1, after = -1;
	char sql[300];
	snprintf(sql, sizeof sql,
		 "SELECT balance FROM accounts WHERE id = UNHEX(REPLACE('%s', '-', ''))",
		 cl.account[0]);
	CU_ASSERT_FATAL(cl_sql_int(sql, &before));
	int originals = 0, replays = 0, in_flight = 0, bad = 0;
	for (int i = 0; i < rounds; i++) {
		char key[48];
		snprintf(key, sizeof key, "%s-%d", l.tag, i);
		pthread_barrier_t go;
		pthread_barrier_init(&go, NULL, CL_HOSTS);
		struct race x[CL_HOSTS];
		pthread_t th[CL_HOSTS];
		for (int h = 0; h < CL_HOSTS; h++) {
			x[h] = (struct race){.go = &go, .host = h, .key = key};
			pthread_create(&th[h], NULL, race_thread, &x[h]);
		}
		for (int h = 0; h < CL_HOSTS; h++)
			pthread_join(th[h], NULL);
		pthread_barrier_destroy(&go);
		/* one original and one replay of it, byte for byte */
		int orig = !x[0].replayed ? 0 : !x[1].replayed ? 1 : -1;
		struct race *o = orig >= 0 ? &x[orig] : NULL, *p = orig >= 0 ? &x[1 - orig] : NULL;
		bool good = o != NULL && o->final == 201 && p->final == 201 && p->replayed &&
			    o->body != NULL && p->body != NULL && strcmp(o->body, p->body) == 0;
		char id[40];
		if (good && lf_h_json_str(o->body, "id", id, sizeof id)) {
			snprintf(l.acks[l.nacks].id, sizeof l.acks[l.nacks].id, "%s", id);
			snprintf(l.acks[l.nacks].key, sizeof l.acks[l.nacks].key, "%s", key);
			l.nacks++;
			l.ok[orig]++; /* the host that answered the original */
			originals++;
			replays++;
			in_flight += (x[0].status == 409) + (x[1].status == 409);
		} else {
			bad++;
			fprintf(stderr, "  %s: host1 %d->%d%s, host2 %d->%d%s\n", key, x[0].status,
				x[0].final, x[0].replayed ? " replayed" : "", x[1].status,
				x[1].final, x[1].replayed ? " replayed" : "");
		}
		for (int h = 0; h < CL_HOSTS; h++)
			free(x[h].body);
	}
	CU_ASSERT(cl_sql_int(sql, &after));
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(before - after, rounds); /* 0.01 each, once */
	struct cl_verdict v = cl_verify(&l);
	char fig[160];
	snprintf(fig, sizeof fig,
		 "%d rounds: %d originals, %d replays (%d answered 409 in flight first), "
		 "payer moved %lld minor units",
		 rounds, originals, replays, in_flight, before - after);
	cl_report("same key on both hosts", &l, &v, fig);
	free(l.acks);
	pthread_mutex_destroy(&l.lock);
}

/* ---- reads from Galera node 3 ---- */

/* GET the account on host h (query "" or "?consistency=strong"): its name. */
static int account_name(int h, const char *id, const char *query, char *name, size_t len)
{
	char path[128];
	snprintf(path, sizeof path, "/api/accounts/%s%s", id, query);
	struct lf_h_resp r;
	int st = lf_h_http(cl.host[h], "GET", path, NULL, NULL, &r) == 0 ? r.status : -1;
	if (st != 200 || !lf_h_json_str(r.body, "name", name, len))
		name[0] = '\0';
	lf_h_resp_free(&r);
	return st;
}

/* An account renamed on node 3 alone (wsrep_on OFF for that session; no
 * payment ever touches it): an answer with that name came from node 3. */
void test_reads_from_node3(void)
{
	char id[37], sql[300], v[64];
	CU_ASSERT_FATAL(lf_h_account(cl.host[0], "node3", "USD", NULL, id) == 201);
	snprintf(sql, sizeof sql,
		 "SELECT COUNT(*) FROM accounts WHERE id = UNHEX(REPLACE('%s', '-', ''))", id);
	int64_t until = lf_h_now_ms() + 10000;
	while (lf_h_now_ms() < until && !(cl_sql_node(2, sql, v, sizeof v) && strcmp(v, "1") == 0))
		usleep(100 * 1000);
	snprintf(sql, sizeof sql,
		 "SET SESSION wsrep_on = OFF; UPDATE accounts SET name = 'node3-only' WHERE id = "
		 "UNHEX(REPLACE('%s', '-', ''))",
		 id);
	CU_ASSERT_FATAL(cl_sql_node(2, sql, NULL, 0));
	for (int h = 0; h < CL_HOSTS; h++) {
		char name[64] = "";
		until = lf_h_now_ms() + 8000;
		while (lf_h_now_ms() < until && strcmp(name, "node3-only") != 0) {
			CU_ASSERT_EQUAL(account_name(h, id, "", name, sizeof name), 200);
			usleep(100 * 1000);
		}
		CU_ASSERT_STRING_EQUAL(name, "node3-only");
		CU_ASSERT_EQUAL(account_name(h, id, "?consistency=strong", name, sizeof name), 200);
		CU_ASSERT_STRING_EQUAL(name, "node3");
		CU_ASSERT(cl_log_count(h, "msg=db_replica_usable") > 0);
	}
}

/* ---- SIGHUP one host ---- */

struct count_arg {
	int host;
	const char *text;
	int want;
};

static bool log_reached(void *arg)
{
	struct count_arg *a = arg;
	return cl_log_count(a->host, a->text) >= a->want;
}

void test_reload_one_host(void)
{
	int reloads = cl.quick ? 1 : 5;
	struct cl_load l;
	int64_t worst = 0;
	CU_ASSERT_FATAL(cl_load_start(&l, "hup", 100000, 30 + reloads * 10));
	int pid = cl_host_pid(0);
	CL_CHECK(pid > 0);
	int done0 = cl_log_count(0, "msg=reload_done");
	for (int i = 0; i < reloads; i++) {
		sleep(1);
		int64_t t0 = lf_h_now_ms();
		CL_CHECK(kill(pid, SIGHUP) == 0);
		struct count_arg a = {0, "msg=reload_done", done0 + i + 1};
		CU_ASSERT(wait_for(log_reached, &a, 15000));
		if (lf_h_now_ms() - t0 > worst)
			worst = lf_h_now_ms() - t0;
	}
	sleep(1);
	int ok1 = cl_load_ok(&l);
	sleep(1);
	CU_ASSERT(cl_load_ok(&l) > ok1); /* both still serving */
out:
	cl_load_stop(&l);
	for (int h = 0; h < CL_HOSTS; h++) {
		CU_ASSERT_EQUAL(l.retried[h], 0);
		CU_ASSERT_EQUAL(l.broken[h], 0);
		CU_ASSERT_EQUAL(l.given_up[h], 0);
		CU_ASSERT(l.ok[h] > 0);
	}
	struct cl_verdict v = cl_verify(&l);
	char fig[120];
	snprintf(fig, sizeof fig, "%d reload(s) of host1, the slowest done in %lld ms", reloads,
		 (long long)worst);
	cl_report("SIGHUP one host", &l, &v, fig);
	cl_load_clear(&l);
}

/* ---- a Galera node killed ---- */

struct moved {
	struct cl_load *l;
	int from;
};

static bool acks_past(void *arg)
{
	struct moved *m = arg;
	return cl_load_ok(m->l) >= m->from + 20;
}

static bool failed_back(void *arg)
{
	int *want = arg;
	for (int h = 0; h < CL_HOSTS; h++)
		if (cl_log_count(h, "msg=db_failback") < want[h])
			return false;
	return true;
}

static bool kill_and_restore(struct cl_load *l, int node, char *fig, size_t len)
{
	int back[CL_HOSTS];
	for (int h = 0; h < CL_HOSTS; h++)
		back[h] = cl_log_count(h, "msg=db_failback") + 1;
	struct moved m = {l, cl_load_ok(l)};
	CU_ASSERT(wait_for(acks_past, &m, 10000)); /* load flowing */
	int64_t t0 = lf_h_now_ms();
	CL_CHECK(cl_up("galera-kill", node) == 0);
	/* the hosts keep answering 201 without the node */
	m.from = cl_load_ok(l);
	bool served = wait_for(acks_past, &m, 15000);
	int64_t t_served = lf_h_now_ms() - t0;
	CU_ASSERT(served);
	int64_t t1 = lf_h_now_ms();
	CL_CHECK(cl_up("galera-start", node) == 0);
	int64_t t_rejoin = lf_h_now_ms() - t1;
	int64_t t_back = -1;
	if (node == 1) {
		/* both hosts wrote through node 1: they return within
		 * failback_interval (2 s) of its being Synced */
		int64_t t2 = lf_h_now_ms();
		CU_ASSERT(wait_for(failed_back, back, 10000));
		t_back = lf_h_now_ms() - t2;
	}
	m.from = cl_load_ok(l);
	CU_ASSERT(wait_for(acks_past, &m, 10000));
	size_t used = strlen(fig);
	snprintf(fig + used, len - used,
		 "%snode %d: 20 payments past the kill in %lld ms, rejoined (IST) in %lld ms%s",
		 used ? "; " : "", node, (long long)t_served, (long long)t_rejoin,
		 t_back >= 0 ? ", failback within" : "");
	if (t_back >= 0) {
		used = strlen(fig);
		snprintf(fig + used, len - used, " %lld ms", (long long)t_back);
	}
	return true;
out:
	return false;
}

void test_galera_node_killed(void)
{
	struct cl_load l;
	int nodes = cl.quick ? 1 : 3;
	CU_ASSERT_FATAL(cl_load_start(&l, "gal", 100000, 60 + nodes * 90));
	char fig[600] = "";
	for (int node = 1; node <= nodes; node++)
		if (!kill_and_restore(&l, node, fig, sizeof fig))
			break;
	cl_load_stop(&l);
	struct cl_verdict v = cl_verify(&l);
	cl_report("Galera node killed", &l, &v, fig);
	cl_load_clear(&l);
}

/* ---- the Redis master failed over ---- */

struct master_is {
	unsigned port;
};

static bool master_moved(void *arg)
{
	struct master_is *m = arg;
	unsigned now = cl_redis_master();
	return now != 0 && now != m->port;
}

void test_redis_failover(void)
{
	struct cl_load l;
	char fig[300] = "";
	CU_ASSERT_FATAL(cl_load_start(&l, "red", 100000, cl.quick ? 60 : 120));
	struct moved m = {&l, cl_load_ok(&l)};
	CU_ASSERT(wait_for(acks_past, &m, 10000));
	unsigned old = cl_redis_master();
	CL_CHECK(old == cl.redis[0] || old == cl.redis[1]);
	int node = old == cl.redis[0] ? 1 : 2;
	/* the hosts follow: each worker connects to the promoted replica */
	unsigned other = node == 1 ? cl.redis[1] : cl.redis[0];
	char connected[160];
	snprintf(connected, sizeof connected,
		 "msg=redis_connected subsys=redis host=\"127.0.0.1\" port=%u ", other);
	int before[CL_HOSTS];
	for (int h = 0; h < CL_HOSTS; h++)
		before[h] = cl_log_count(h, connected);
	int64_t t0 = lf_h_now_ms();
	CL_CHECK(cl_up("redis-kill", node) == 0);
	struct master_is was = {old};
	CL_CHECK(wait_for(master_moved, &was, 20000));
	int64_t t_promoted = lf_h_now_ms() - t0;
	CU_ASSERT_EQUAL(cl_redis_master(), other);
	int64_t t_followed = -1;
	while (lf_h_now_ms() - t0 < 30000) {
		int ok = 0;
		for (int h = 0; h < CL_HOSTS; h++)
			ok += cl_log_count(h, connected) > before[h];
		if (ok == CL_HOSTS) {
			t_followed = lf_h_now_ms() - t0;
			break;
		}
		usleep(100 * 1000);
	}
	CU_ASSERT(t_followed >= 0 && t_followed <= 20000);
	m.from = cl_load_ok(&l);
	CU_ASSERT(wait_for(acks_past, &m, 10000));
	int n = snprintf(fig, sizeof fig,
			 "master killed: promoted in %lld ms, both hosts followed in %lld ms",
			 (long long)t_promoted, (long long)t_followed);
	/* the old master back, stale and empty, until the sentinels demote
	 * it (the database decides, not Redis) */
	CU_ASSERT(cl_up("redis-start", node) == 0);
	if (!cl.quick) {
		/* then a manual failover back to it */
		sleep(12);
		char cmd[200];
		snprintf(cmd, sizeof cmd,
			 "redis-cli -h 127.0.0.1 -p %u SENTINEL FAILOVER lfmaster >/dev/null",
			 cl.sentinel[0]);
		CU_ASSERT(system(cmd) == 0);
		struct master_is now = {cl_redis_master()};
		int64_t t1 = lf_h_now_ms();
		CU_ASSERT(wait_for(master_moved, &now, 20000));
		snprintf(fig + n, sizeof fig - (size_t)n,
			 "; the old master back and failed over to by hand in %lld ms",
			 (long long)(lf_h_now_ms() - t1));
		m.from = cl_load_ok(&l);
		CU_ASSERT(wait_for(acks_past, &m, 10000));
	}
out:
	cl_load_stop(&l);
	struct cl_verdict v = cl_verify(&l);
	cl_report("Redis master failed over", &l, &v, fig);
	cl_load_clear(&l);
}
