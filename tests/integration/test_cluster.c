/*
 * test_cluster.c - several hosts, tested (issue 12): contrib/cluster/up.sh
 * starts three Galera nodes, Redis with a replica and three Sentinels and
 * two ledgerflowd hosts; the scenarios (test_cluster_faults.c) put load on
 * both hosts while one thing fails, and each ends with every acknowledged
 * payment present, no key that moved money twice and reconcile --full
 * clean. This file has main(), the cluster's endpoints, the load and the
 * checks.
 *
 * The quick form (the default, and what make check runs) fits CI;
 * LF_TEST_CLUSTER=full runs every scenario longer and harder;
 * LF_TEST_CLUSTER=off skips. LF_TEST_CLUSTER_DIR names a running cluster
 * to use (left running) instead of starting one. Skipped (77) without the
 * suite's servers (as every integration test) or when Galera cannot run.
 */
#include "config.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "harness.h"
#include "test_cluster.h"
#include "../lf_cunit.h"

struct cl cl;
static bool own_cluster; /* started here: stopped at the end */

int cl_up(const char *command, int n)
{
	char cmd[3000];
	if (n > 0)
		snprintf(cmd, sizeof cmd, "'%s' %s '%s' %d >>'%s/test.log' 2>&1", cl.up, command,
			 cl.dir, n, cl.dir);
	else
		snprintf(cmd, sizeof cmd, "'%s' %s '%s' >>'%s/test.log' 2>&1", cl.up, command,
			 cl.dir, cl.dir);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

bool cl_sql_node(int node, const char *sql, char *out, size_t len)
{
	char cmd[2048];
	snprintf(cmd, sizeof cmd,
		 "MYSQL_PWD=lfadmin mariadb --no-defaults -h127.0.0.1 -P%u -ulfadmin "
		 "--connect-timeout=2 -N -B ledgerflow -e \"%s\" 2>/dev/null",
		 cl.galera[node], sql);
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return false;
	char line[256] = "";
	bool got = fgets(line, sizeof line, p) != NULL;
	int st = pclose(p);
	line[strcspn(line, "\n")] = '\0';
	if (out != NULL)
		snprintf(out, len, "%s", line);
	return (got || out == NULL) && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

bool cl_sql_int(const char *sql, long long *out)
{
	for (int i = 0; i < 3; i++) {
		char line[256];
		if (cl_sql_node(i, sql, line, sizeof line)) {
			*out = atoll(line);
			return true;
		}
	}
	return false;
}

int cl_log_count(int host, const char *text)
{
	char path[700], line[4096];
	snprintf(path, sizeof path, "%s/host%d/ledgerflowd.log", cl.dir, host + 1);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	int n = 0;
	while (fgets(line, sizeof line, f) != NULL)
		n += strstr(line, text) != NULL;
	fclose(f);
	return n;
}

int cl_host_pid(int host)
{
	char path[700], buf[32];
	snprintf(path, sizeof path, "%s/host%d/ledgerflowd.pid", cl.dir, host + 1);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	int pid = fgets(buf, sizeof buf, f) ? atoi(buf) : 0;
	fclose(f);
	return pid;
}

unsigned cl_redis_master(void)
{
	for (int i = 0; i < 3; i++) {
		char cmd[256], host[64], port[16];
		snprintf(cmd, sizeof cmd,
			 "redis-cli -h 127.0.0.1 -p %u SENTINEL get-master-addr-by-name lfmaster "
			 "2>/dev/null",
			 cl.sentinel[i]);
		FILE *p = popen(cmd, "r");
		if (p == NULL)
			continue;
		bool ok =
			fgets(host, sizeof host, p) != NULL && fgets(port, sizeof port, p) != NULL;
		pclose(p);
		if (ok && atoi(port) > 0)
			return (unsigned)atoi(port);
	}
	return 0;
}

/* ---- the load ---- */

struct cl_thread {
	struct cl_load *l;
	int host;
};
static struct cl_thread threads[CL_HOSTS];

static void ack(struct cl_load *l, const char *id, const char *key)
{
	pthread_mutex_lock(&l->lock);
	if (l->nacks == l->cap) {
		int cap = l->cap ? l->cap * 2 : 256;
		struct cl_ack *a = realloc(l->acks, (size_t)cap * sizeof *a);
		if (a == NULL) {
			pthread_mutex_unlock(&l->lock);
			return;
		}
		l->acks = a;
		l->cap = cap;
	}
	struct cl_ack *a = &l->acks[l->nacks++];
	snprintf(a->id, sizeof a->id, "%s", id);
	snprintf(a->key, sizeof a->key, "%s", key);
	pthread_mutex_unlock(&l->lock);
}

/* One payment with one key, retried with that key (5xx, 409 in flight, a
 * broken connection) until it is answered 201, for 20 s at most. */
static void pay_one(struct cl_load *l, int h, struct lf_h_conn *c, bool *open, int n)
{
	char key[48], headers[128], body[400];
	snprintf(key, sizeof key, "%s-h%d-%d", l->tag, h, n);
	snprintf(headers, sizeof headers, "Idempotency-Key: %s\r\n", key);
	snprintf(body, sizeof body,
		 "{\"fromAccountId\":\"%s\",\"toAccountId\":\"%s\",\"amount\":\"0.01\","
		 "\"reference\":\"%s\"}",
		 cl.account[n % CL_ACCOUNTS], cl.account[(n + 1 + h) % CL_ACCOUNTS], key);
	int64_t until = lf_h_now_ms() + 20000;
	for (int attempt = 0; attempt < 200 && lf_h_now_ms() < until; attempt++) {
		if (!*open && !(*open = lf_h_connect(c, cl.host[h]))) {
			__atomic_add_fetch(&l->broken[h], 1, __ATOMIC_RELAXED);
			usleep(100 * 1000);
			continue;
		}
		struct lf_h_resp r;
		int rc = lf_h_request(c, "POST", "/api/payments", headers, body, &r);
		if (rc != 0 || r.conn_close) {
			lf_h_close(c);
			*open = false;
		}
		if (rc != 0) {
			__atomic_add_fetch(&l->broken[h], 1, __ATOMIC_RELAXED);
			lf_h_resp_free(&r);
			usleep(100 * 1000);
			continue;
		}
		char id[40];
		if (r.status == 201 && r.body && lf_h_json_str(r.body, "id", id, sizeof id)) {
			ack(l, id, key);
			__atomic_add_fetch(&l->ok[h], 1, __ATOMIC_RELAXED);
			lf_h_resp_free(&r);
			return;
		}
		if (r.status >= 500 || r.status == 409) {
			__atomic_add_fetch(&l->retried[h], 1, __ATOMIC_RELAXED);
		} else {
			fprintf(stderr, "  unexpected %d for %s: %.200s\n", r.status, key,
				r.body ? r.body : "");
			__atomic_add_fetch(&l->unexpected, 1, __ATOMIC_RELAXED);
			lf_h_resp_free(&r);
			return;
		}
		lf_h_resp_free(&r);
		usleep(100 * 1000);
	}
	__atomic_add_fetch(&l->given_up[h], 1, __ATOMIC_RELAXED);
}

static void *load_thread(void *arg)
{
	struct cl_thread *t = arg;
	struct cl_load *l = t->l;
	struct lf_h_conn c;
	bool open = false;
	for (int n = 0; n < l->max_per_host && !l->stop && lf_h_now_ms() < l->deadline_ms; n++) {
		pay_one(l, t->host, &c, &open, n);
		usleep(5 * 1000); /* a steady load, not a flood: 2 cores */
	}
	if (open)
		lf_h_close(&c);
	return NULL;
}

bool cl_load_start(struct cl_load *l, const char *tag, int max_per_host, int seconds)
{
	memset(l, 0, sizeof *l);
	snprintf(l->tag, sizeof l->tag, "%s%ld", tag, (long)(time(NULL) % 100000));
	l->max_per_host = max_per_host;
	l->deadline_ms = lf_h_now_ms() + (int64_t)seconds * 1000;
	pthread_mutex_init(&l->lock, NULL);
	for (int h = 0; h < CL_HOSTS; h++) {
		threads[h] = (struct cl_thread){.l = l, .host = h};
		if (pthread_create(&l->th[h], NULL, load_thread, &threads[h]) != 0)
			return false;
	}
	return true;
}

int cl_load_stop(struct cl_load *l)
{
	l->stop = true;
	for (int h = 0; h < CL_HOSTS; h++)
		pthread_join(l->th[h], NULL);
	return l->nacks;
}

void cl_load_clear(struct cl_load *l)
{
	free(l->acks);
	pthread_mutex_destroy(&l->lock);
	memset(l, 0, sizeof *l);
}

int cl_load_ok(struct cl_load *l)
{
	int n = 0;
	for (int h = 0; h < CL_HOSTS; h++)
		n += __atomic_load_n(&l->ok[h], __ATOMIC_RELAXED);
	return n;
}

struct cl_verdict cl_verify(struct cl_load *l)
{
	struct cl_verdict v = {.acked = l->nacks, .reconcile = -1};
	struct lf_h_conn c[CL_HOSTS];
	bool open[CL_HOSTS] = {false};
	for (int i = 0; i < l->nacks; i++) {
		int h = i % CL_HOSTS;
		char path[80], ref[64] = "";
		snprintf(path, sizeof path, "/api/payments/%s", l->acks[i].id);
		struct lf_h_resp r = {0};
		int rc = -1;
		for (int attempt = 0; attempt < 3 && rc != 0; attempt++) {
			if (!open[h])
				open[h] = lf_h_connect(&c[h], cl.host[h]);
			rc = open[h] ? lf_h_request(&c[h], "GET", path, NULL, NULL, &r) : -1;
			if (rc != 0 || r.conn_close) {
				if (open[h])
					lf_h_close(&c[h]);
				open[h] = false;
			}
			if (rc != 0)
				lf_h_resp_free(&r);
		}
		bool found = rc == 0 && r.status == 200 && r.body &&
			     lf_h_json_str(r.body, "reference", ref, sizeof ref) &&
			     strcmp(ref, l->acks[i].key) == 0;
		if (!found && rc == 0 && r.status == 404) {
			/* the hosts read from Galera node 3 ([mysql_replica]),
			 * which applies what it certified a moment later: the
			 * primary decides */
			v.stale++;
			lf_h_resp_free(&r);
			snprintf(path, sizeof path, "/api/payments/%s?consistency=strong",
				 l->acks[i].id);
			rc = lf_h_http(cl.host[h], "GET", path, NULL, NULL, &r);
			found = rc == 0 && r.status == 200 && r.body &&
				lf_h_json_str(r.body, "reference", ref, sizeof ref) &&
				strcmp(ref, l->acks[i].key) == 0;
		}
		if (!found) {
			v.lost++;
			fprintf(stderr, "  acknowledged payment %s (%s) not found: %d\n",
				l->acks[i].id, l->acks[i].key, rc == 0 ? r.status : rc);
		}
		lf_h_resp_free(&r);
	}
	for (int h = 0; h < CL_HOSTS; h++)
		if (open[h])
			lf_h_close(&c[h]);
	char sql[400];
	long long total = -1, distinct = -1;
	snprintf(sql, sizeof sql,
		 "SELECT COUNT(*) - COUNT(DISTINCT reference) FROM payments WHERE reference "
		 "LIKE '%s-%%'",
		 l->tag);
	if (cl_sql_int(sql, &total))
		v.dups = (int)total;
	else
		v.dups = -1;
	(void)distinct;
	char cmd[2400];
	snprintf(cmd, sizeof cmd,
		 "'%s/ledgerflowctl' -c '%s/host1/ledgerflow.conf' reconcile --full "
		 ">>'%s/test.log' 2>&1",
		 cl.build, cl.dir, cl.dir);
	int st = system(cmd);
	v.reconcile = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return v;
}

void cl_report(const char *scenario, const struct cl_load *l, const struct cl_verdict *v,
	       const char *figures)
{
	fprintf(stderr,
		"\n  %s: %d acknowledged (host1 %d, host2 %d), retried answers %d/%d, broken "
		"connections %d/%d, keys given up %d/%d; lost %d, duplicates %d, read from the "
		"primary after a 404 of the replica %d, reconcile --full exit %d%s%s\n",
		scenario, v->acked, l->ok[0], l->ok[1], l->retried[0], l->retried[1], l->broken[0],
		l->broken[1], l->given_up[0], l->given_up[1], v->lost, v->dups, v->stale,
		v->reconcile, figures ? "; " : "", figures ? figures : "");
	CU_ASSERT(v->acked > 0);
	CU_ASSERT_EQUAL(v->lost, 0);
	CU_ASSERT_EQUAL(v->dups, 0);
	CU_ASSERT_EQUAL(v->reconcile, 0);
	CU_ASSERT_EQUAL(l->unexpected, 0);
}

/* ---- set-up ---- */

static bool read_env(void)
{
	char path[700], line[1200];
	snprintf(path, sizeof path, "%s/cluster.env", cl.dir);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return false;
	char keyfile[1024] = "";
	while (fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		char *eq = strchr(line, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		const char *v = eq + 1;
		int i = 0;
		char rest[16] = "";
		/* name<digit>_port exactly */
		bool port =
			sscanf(line, "%*[a-z]%d_%15s", &i, rest) == 2 && strcmp(rest, "port") == 0;
		if (port && strncmp(line, "galera", 6) == 0 && i >= 1 && i <= 3)
			cl.galera[i - 1] = (unsigned)atoi(v);
		else if (port && strncmp(line, "redis", 5) == 0 && i >= 1 && i <= 2)
			cl.redis[i - 1] = (unsigned)atoi(v);
		else if (port && strncmp(line, "sentinel", 8) == 0 && i >= 1 && i <= 3)
			cl.sentinel[i - 1] = (unsigned)atoi(v);
		else if (port && strncmp(line, "host", 4) == 0 && i >= 1 && i <= CL_HOSTS)
			cl.host[i - 1] = (unsigned)atoi(v);
		else if (strcmp(line, "admin_key_file") == 0)
			snprintf(keyfile, sizeof keyfile, "%s", v);
	}
	fclose(f);
	f = fopen(keyfile, "r");
	if (f == NULL)
		return false;
	char key[200] = "";
	bool ok = fgets(key, sizeof key, f) != NULL;
	fclose(f);
	key[strcspn(key, "\n")] = '\0';
	static char kept[200];
	snprintf(kept, sizeof kept, "%s", key);
	lf_h_auth_use(kept);
	return ok && cl.host[0] && cl.host[1] && cl.galera[0];
}

static int setup(void)
{
	const char *reuse = getenv("LF_TEST_CLUSTER_DIR");
	if (reuse != NULL && *reuse != '\0') {
		snprintf(cl.dir, sizeof cl.dir, "%s", reuse);
	} else {
		const char *tmp = getenv("LF_TEST_TMPDIR");
		snprintf(cl.dir, sizeof cl.dir, "%s/lf-cluster-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (mkdtemp(cl.dir) == NULL)
			return 1;
		own_cluster = true;
		int64_t t0 = lf_h_now_ms();
		int rc = cl_up("start", 0);
		if (rc == 3)
			return LF_H_SKIP;
		if (rc != 0) {
			fprintf(stderr, "test_cluster: up.sh start failed (%d); see %s/test.log\n",
				rc, cl.dir);
			return 1;
		}
		fprintf(stderr, "test_cluster: the cluster came up in %lld ms (%s)\n",
			(long long)(lf_h_now_ms() - t0), cl.dir);
	}
	if (!read_env()) {
		fprintf(stderr, "test_cluster: no usable %s/cluster.env\n", cl.dir);
		return 1;
	}
	for (int i = 0; i < CL_ACCOUNTS; i++) {
		char name[32];
		snprintf(name, sizeof name, "cluster-%d", i);
		if (lf_h_account(cl.host[i % CL_HOSTS], name, "USD", "1000000.00", cl.account[i]) !=
		    201) {
			fprintf(stderr, "test_cluster: creating accounts failed; see %s\n", cl.dir);
			return 1;
		}
	}
	return 0;
}

static void on_fatal(int sig)
{
	(void)sig;
	if (own_cluster) {
		pid_t pid = fork();
		if (pid == 0) {
			execl("/bin/sh", "sh", cl.up, "stop", cl.dir, (char *)NULL);
			_exit(127);
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
	}
	_exit(1);
}

static const struct lf_test cluster_tests[] = {
	{"reads from Galera node 3 ([mysql_replica]); strong from the primary",
	 test_reads_from_node3},
	{"same key on both hosts at once: money moves once", test_same_key_two_hosts},
	{"SIGHUP one host while the other serves", test_reload_one_host},
	{"a Galera node killed (-9) and back", test_galera_node_killed},
	{"the Redis master failed over by Sentinel", test_redis_failover},
};

static const struct lf_suite suites[] = {{"cluster", LF_TESTS(cluster_tests)}};

int main(void)
{
	const char *mode = getenv("LF_TEST_CLUSTER");
	if (mode != NULL && strcmp(mode, "off") == 0) {
		fprintf(stderr, "LF_TEST_CLUSTER=off: skipping\n");
		return LF_H_SKIP;
	}
	cl.quick = mode == NULL || strcmp(mode, "full") != 0;
	struct lf_h_env env;
	if (!lf_h_env_load(&env))
		return LF_H_SKIP;
	if (access("/usr/lib/galera/libgalera_smm.so", R_OK) != 0) {
		fprintf(stderr, "test_cluster: no Galera here (/usr/lib/galera/libgalera_smm.so: "
				"apt-get install galera-4 rsync): skipping\n");
		return LF_H_SKIP;
	}
	snprintf(cl.up, sizeof cl.up, "%s/contrib/cluster/up.sh", env.srcdir);
	snprintf(cl.build, sizeof cl.build, "%s", env.builddir);
	char abs[1024];
	if (realpath(env.builddir, abs) != NULL)
		snprintf(cl.build, sizeof cl.build, "%s", abs);
	setenv("LF_BUILD_DIR", cl.build, 1);
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = on_fatal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	fprintf(stderr, "test_cluster: the %s form (LF_TEST_CLUSTER=full for the rest)\n",
		cl.quick ? "quick" : "full");
	int rc = setup();
	if (rc == 0)
		rc = lf_cunit_main(suites, LF_COUNT(suites));
	else if (rc == LF_H_SKIP)
		fprintf(stderr,
			"test_cluster: Galera cannot run here (see %s/test.log): "
			"skipping\n",
			cl.dir);
	if (own_cluster) {
		(void)cl_up("stop", 0);
		/* the suite scans the logs one level under LF_TEST_TMPDIR for sanitizer
		 * reports; the hosts' logs are a level deeper, so here */
		char scan[800];
		snprintf(scan, sizeof scan,
			 "grep -l -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "
			 "'%s'/host*/ledgerflowd.log >&2",
			 cl.dir);
		if (system(scan) == 0) {
			fprintf(stderr, "test_cluster: sanitizer reports in the hosts' logs\n");
			rc = 1;
		}
		if (rc == 1) {
			fprintf(stderr, "test_cluster: the cluster's logs are left in %s\n",
				cl.dir);
		} else {
			char cmd[700];
			snprintf(cmd, sizeof cmd, "rm -rf '%s'", cl.dir);
			(void)system(cmd);
		}
	}
	return rc;
}
