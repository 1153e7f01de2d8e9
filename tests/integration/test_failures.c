/*
 * test_failures.c - failures are logged once, where they happen, and name
 * the request: against a real ledgerflowd (1 worker, a pool of one
 * connection, short timeouts), one test per failure class, each asserting
 * both what the client got and the log line:
 *   - a SQL error (the payments table renamed away): not 201, a problem
 *     with our requestId, one store_error line with our request id,
 *     errno=1146 and SQLSTATE 42S02, and neither the body nor the
 *     Authorization value anywhere in the log;
 *   - a Redis error reply (the key's tier-2 slot holds a list: WRONGTYPE)
 *     and Redis unreachable (a second daemon pointed at a closed port):
 *     a subsys=redis warn line, and the payment still 201;
 *   - a pool timeout (the only pool connection blocked behind LOCK TABLES
 *     on a side connection): 503 with Retry-After, and a db_pool_timeout
 *     line with our request id.
 * And the shared cache's counters and gauges are in /metrics.
 * The database is our own (lf_fail_<pid>); Redis is shared, so only a key
 * of our own prefix is touched, and nothing is stopped.
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
#include <mysql.h>

#include "harness.h"
#include "../lf_cunit.h"

/* Set in the environment of the main daemon (the harness's file already
 * names these keys, and a key may not be repeated): one pool connection,
 * so one blocked statement starves the next job, and an HTTP deadline
 * after the pool's, so a queued job outlives its request's answer. */
static const char *const daemon_env[][2] = {
	{"LEDGERFLOW_MYSQL_POOL_SIZE", "1"},
	{"LEDGERFLOW_MYSQL_REQUEST_TIMEOUT", "1s"},
	{"LEDGERFLOW_SERVER_REQUEST_TIMEOUT", "2s"},
	/* the blocked GETs of (c) hold the pool: not read on the event loop */
	{"LEDGERFLOW_MYSQL_LOOP_READS", "off"},
};
#define NENV (sizeof daemon_env / sizeof daemon_env[0])

static struct lf_h_daemon d;
static char prefix[48];
static char alice[37], bob[37];
static int seq;

/* ---- helpers ---- */

/* Lines of d's log that contain every text of the NULL-terminated list. */
static int log_lines(const struct lf_h_daemon *dm, const char *const *texts)
{
	FILE *f = fopen(dm->log, "r");
	if (f == NULL)
		return 0;
	char line[8192];
	int n = 0;
	while (fgets(line, sizeof line, f) != NULL) {
		bool all = true;
		for (const char *const *t = texts; *t != NULL && all; t++)
			all = strstr(line, *t) != NULL;
		n += all;
	}
	fclose(f);
	return n;
}

/* Wait (at most timeout_ms) until some line has every text. */
static bool wait_log(const struct lf_h_daemon *dm, const char *const *texts, int timeout_ms)
{
	int64_t deadline = lf_h_now_ms() + timeout_ms;
	for (;;) {
		if (log_lines(dm, texts) > 0)
			return true;
		if (lf_h_now_ms() >= deadline)
			return false;
		usleep(50 * 1000);
	}
}

/* Print the matching lines' context when an assertion is about to fail. */
static void show_log(const struct lf_h_daemon *dm, const char *about)
{
	char cmd[600];
	fprintf(stderr, "\n  log lines about %s in %s:\n", about, dm->log);
	snprintf(cmd, sizeof cmd, "grep -F -- '%s' '%s' | head -20 >&2", about, dm->log);
	if (system(cmd) != 0)
		fprintf(stderr, "  (none)\n");
}

static void next_id(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "%s-%s-%d", prefix, tag, ++seq);
}

/* POST /api/payments with our own X-Request-Id (and optional extra
 * header lines); the status or -1. */
static int pay(unsigned port, const char *key, const char *rid, const char *extra, const char *body,
	       struct lf_h_resp *r)
{
	char h[1024];
	snprintf(h, sizeof h, "Idempotency-Key: %s\r\nX-Request-Id: %s\r\n%s", key, rid,
		 extra ? extra : "");
	return lf_h_http(port, "POST", "/api/payments", h, body, r) == 0 ? r->status : -1;
}

static void pay_body(char *buf, size_t len, const char *reference)
{
	snprintf(buf, len,
		 "{\"fromAccountId\":\"%s\",\"toAccountId\":\"%s\",\"amount\":\"1.00\","
		 "\"reference\":\"%s\"}",
		 alice, bob, reference);
}

static bool problem_names(const struct lf_h_resp *r, const char *rid)
{
	char got[160];
	return r->body != NULL && lf_h_json_str(r->body, "requestId", got, sizeof got) &&
	       strcmp(got, rid) == 0;
}

/* ---- (a) a SQL error ---- */

static void test_sql_error(void)
{
	char rid[96], key[96], body[512], auth[160];
	next_id(rid, sizeof rid, "sql");
	next_id(key, sizeof key, "sqlkey");
	const char *secret_ref = "body-secret-7f3a";
	/* the real API key: it must pass the gate and never reach the log */
	const char *secret_auth = lf_h_admin_key;
	pay_body(body, sizeof body, secret_ref);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", secret_auth);

	CU_ASSERT_FATAL(lf_h_sql(&fx.env, fx.db, "RENAME TABLE payments TO payments_away"));
	struct lf_h_resp r = {0};
	int st = pay(d.port, key, rid, auth, body, &r);
	CU_ASSERT(lf_h_sql(&fx.env, fx.db, "RENAME TABLE payments_away TO payments"));

	/* a SQL error that is not about the connection: 500, never 201 */
	CU_ASSERT(st == 500);
	CU_ASSERT(st != 201);
	CU_ASSERT(problem_names(&r, rid));
	if (!problem_names(&r, rid))
		fprintf(stderr, "\n  %d %s\n", st, r.body ? r.body : "");
	lf_h_resp_free(&r);

	char want_rid[128];
	snprintf(want_rid, sizeof want_rid, "request_id=%s ", rid);
	const char *line[] = {want_rid, "subsys=store", "errno=1146", NULL};
	const char *full[] = {want_rid,         "level=error",   "msg=store_error",
			      "subsys=store",   "stmt=transfer", "errno=1146",
			      "sqlstate=42S02", "doesn't exist", NULL};
	CU_ASSERT(wait_log(&d, line, 3000));
	/* once: the store logs it, nobody repeats it */
	CU_ASSERT(log_lines(&d, line) == 1);
	CU_ASSERT(log_lines(&d, full) == 1);
	if (log_lines(&d, full) != 1)
		show_log(&d, rid);
	/* the access line carries the same id */
	const char *access[] = {"msg=access", want_rid, NULL};
	CU_ASSERT(log_lines(&d, access) == 1);
	/* never a body or a credential */
	const char *ref[] = {secret_ref, NULL};
	const char *tok[] = {secret_auth, NULL};
	CU_ASSERT(log_lines(&d, ref) == 0);
	CU_ASSERT(log_lines(&d, tok) == 0);

	/* the table is back: the same key now goes through */
	next_id(rid, sizeof rid, "sql-after");
	r = (struct lf_h_resp){0};
	CU_ASSERT(pay(d.port, key, rid, NULL, body, &r) == 201);
	lf_h_resp_free(&r);
}

/* ---- (b) Redis errors ---- */

static void test_redis_error_reply(void)
{
	char rid[96], key[96], tkey[160], body[512];
	next_id(rid, sizeof rid, "redis");
	next_id(key, sizeof key, "rediskey");
	/* the key's tier-2 slot (lf:idem:<client>:<key>) holds a
	 * list: the claim script's SET ... NX GET answers WRONGTYPE */
	snprintf(tkey, sizeof tkey, "lf:idem:%llu:%s", (unsigned long long)lf_h_admin_id, key);
	const char *rpush[] = {"RPUSH", tkey, "not-an-outcome"};
	const char *expire[] = {"PEXPIRE", tkey, "60000"};
	char type = 0, buf[128];
	long long num = 0;
	CU_ASSERT_FATAL(lf_h_redis(&fx.env, 3, rpush, &type, &num, buf, sizeof buf) && type == ':');
	CU_ASSERT(lf_h_redis(&fx.env, 3, expire, &type, &num, buf, sizeof buf));

	pay_body(body, sizeof body, "redis-error");
	struct lf_h_resp r = {0};
	CU_ASSERT(pay(d.port, key, rid, NULL, body, &r) == 201); /* Redis never decides */
	lf_h_resp_free(&r);

	char want_rid[128];
	snprintf(want_rid, sizeof want_rid, "request_id=%s ", rid);
	const char *line[] = {"level=warn",
			      "msg=redis_error_reply",
			      want_rid,
			      "subsys=redis",
			      "command=EVAL",
			      "WRONGTYPE",
			      NULL};
	CU_ASSERT(wait_log(&d, line, 3000));
	CU_ASSERT(log_lines(&d, line) == 1);
	if (log_lines(&d, line) != 1)
		show_log(&d, rid);

	const char *del[] = {"DEL", tkey};
	(void)lf_h_redis(&fx.env, 2, del, &type, &num, buf, sizeof buf);
}

static void test_redis_unreachable(void)
{
	/* a second daemon, same database, whose Redis port is closed */
	struct lf_h_daemon d2;
	CU_ASSERT_FATAL(lf_h_daemon_config(&fx.env, &d2, fx.db, 1, NULL));
	unsigned closed = lf_h_free_port();
	char port[16];
	snprintf(port, sizeof port, "%u", closed);
	setenv("LEDGERFLOW_REDIS_PORT", port, 1);
	bool started = lf_h_daemon_start(&fx.env, &d2);
	unsetenv("LEDGERFLOW_REDIS_PORT");
	CU_ASSERT_FATAL(started);

	const char *line[] = {"level=warn", "msg=redis_connect_failed", "subsys=redis", port, NULL};
	CU_ASSERT(wait_log(&d2, line, 5000));
	const char *breaker[] = {"msg=redis_breaker_open", "subsys=redis", NULL};
	CU_ASSERT(wait_log(&d2, breaker, 3000));

	char rid[96], key[96], body[512];
	next_id(rid, sizeof rid, "noredis");
	next_id(key, sizeof key, "noredis");
	pay_body(body, sizeof body, "no-redis");
	struct lf_h_resp r = {0};
	CU_ASSERT(pay(d2.port, key, rid, NULL, body, &r) == 201);
	lf_h_resp_free(&r);
	CU_ASSERT(lf_h_daemon_stop(&d2, SIGTERM, 15000) == 0);
}

/* ---- (c) a pool timeout ---- */

/* A statement blocked behind the lock holds the pool's connection until
 * the connection's read timeout (mysql.request_timeout, 1 s) breaks it; the
 * next job then gets a fresh connection and blocks as long again. So with
 * a few blocked GETs queued ahead of it, the payment's job is still queued
 * when its own deadline (1 s after it was submitted) passes. */
#define BLOCKERS 3

struct blocked_get {
	char rid[96];
	int status;
};

static void *get_account(void *arg)
{
	struct blocked_get *g = arg;
	char path[128], h[160];
	snprintf(path, sizeof path, "/api/accounts/%s", alice);
	snprintf(h, sizeof h, "X-Request-Id: %s\r\n", g->rid);
	struct lf_h_resp r = {0};
	g->status = lf_h_http(d.port, "GET", path, h, NULL, &r) == 0 ? r.status : -1;
	lf_h_resp_free(&r);
	return NULL;
}

static void test_pool_timeout(void)
{
	/* a side connection write-locks accounts: the pool's one connection
	 * blocks on it with the first request's statement */
	MYSQL *side = mysql_init(NULL);
	CU_ASSERT_FATAL(side != NULL);
	if (mysql_real_connect(side, fx.env.mysql_host, fx.env.mysql_user, fx.env.mysql_password,
			       fx.db, fx.env.mysql_port, NULL, 0) == NULL) {
		fprintf(stderr, "side connection: %s\n", mysql_error(side));
		mysql_close(side);
		CU_FAIL_FATAL("side connection");
	}
	CU_ASSERT_FATAL(mysql_query(side, "LOCK TABLES accounts WRITE") == 0);

	struct blocked_get g[BLOCKERS];
	pthread_t t[BLOCKERS];
	bool threaded[BLOCKERS];
	for (int i = 0; i < BLOCKERS; i++) {
		g[i].status = 0;
		next_id(g[i].rid, sizeof g[i].rid, "blocker");
		threaded[i] = pthread_create(&t[i], NULL, get_account, &g[i]) == 0;
		CU_ASSERT(threaded[i]);
		usleep(100 * 1000); /* in this order into the pool's queue */
	}

	char rid[96], key[96], body[512];
	next_id(rid, sizeof rid, "pool");
	next_id(key, sizeof key, "pool");
	pay_body(body, sizeof body, "pool-timeout");
	struct lf_h_resp r = {0};
	int64_t t0 = lf_h_now_ms();
	int st = pay(d.port, key, rid, NULL, body, &r);
	int64_t took = lf_h_now_ms() - t0;
	char retry[16] = "";
	bool has_retry = lf_h_header(&r, "Retry-After", retry, sizeof retry);
	CU_ASSERT(st == 503);
	CU_ASSERT(has_retry && retry[0] != '\0');
	CU_ASSERT(problem_names(&r, rid));
	CU_ASSERT(took < 6000);
	if (st != 503)
		fprintf(stderr, "\n  %d %s\n", st, r.body ? r.body : "");
	lf_h_resp_free(&r);

	/* release: the blocked statement ends, the pool takes the payment's
	 * job past its deadline and says so */
	CU_ASSERT(mysql_query(side, "UNLOCK TABLES") == 0);
	mysql_close(side);
	for (int i = 0; i < BLOCKERS; i++) {
		if (threaded[i])
			pthread_join(t[i], NULL);
		CU_ASSERT(g[i].status == 503 || g[i].status == 200);
	}

	char want_rid[128];
	snprintf(want_rid, sizeof want_rid, "request_id=%s ", rid);
	const char *line[] = {"level=warn",   "msg=db_pool_timeout", want_rid,
			      "subsys=store", "waited_ms=",          NULL};
	CU_ASSERT(wait_log(&d, line, 5000));
	CU_ASSERT(log_lines(&d, line) == 1);
	if (log_lines(&d, line) != 1)
		show_log(&d, rid);
	/* the first blocker's statement was cut by the read timeout: a lost
	 * connection, logged as such with its own request id */
	char blocker_rid[128];
	snprintf(blocker_rid, sizeof blocker_rid, "request_id=%s ", g[0].rid);
	const char *lost[] = {"level=warn", "msg=store_conn_lost", blocker_rid, "errno=2013", NULL};
	CU_ASSERT(log_lines(&d, lost) == 1);

	/* and the pool serves again */
	next_id(rid, sizeof rid, "pool-after");
	next_id(key, sizeof key, "pool-after");
	r = (struct lf_h_resp){0};
	CU_ASSERT(pay(d.port, key, rid, NULL, body, &r) == 201);
	lf_h_resp_free(&r);
}

/* ---- everything counted is visible ---- */

static void test_cache_metrics(void)
{
	/* the payments above stored their outcomes in the shared cache */
	long long inserts = -1, entries = -1, bytes = -1, capacity = -1, wipes = -1;
	CU_ASSERT(lf_h_metric(d.port, "ledgerflow_cache_inserts_total", &inserts) && inserts > 0);
	CU_ASSERT(lf_h_metric(d.port, "ledgerflow_cache_entries", &entries) && entries > 0);
	CU_ASSERT(lf_h_metric(d.port, "ledgerflow_cache_bytes", &bytes) && bytes > 0);
	CU_ASSERT(lf_h_metric(d.port, "ledgerflow_cache_capacity_bytes", &capacity) &&
		  capacity > bytes);
	CU_ASSERT(lf_h_metric(d.port, "ledgerflow_cache_wipes_total", &wipes) && wipes == 0);
	long long v = -1;
	CU_ASSERT(lf_h_metric(d.port, "ledgerflow_cache_evictions_total", &v) && v >= 0);
	CU_ASSERT(lf_h_metric(d.port, "ledgerflow_cache_hits_total", &v) && v >= 0);
	CU_ASSERT(lf_h_metric(d.port, "ledgerflow_cache_misses_total", &v) && v >= 0);
	CU_ASSERT(lf_h_metric(d.port, "ledgerflow_cache_expired_total", &v) && v >= 0);
	CU_ASSERT(lf_h_metric(d.port, "ledgerflow_cache_refused_total", &v) && v >= 0);

	struct lf_h_resp r = {0};
	CU_ASSERT_FATAL(lf_h_http(d.port, "GET", "/metrics", NULL, NULL, &r) == 0);
	CU_ASSERT(r.body != NULL &&
		  strstr(r.body, "# TYPE ledgerflow_cache_evictions_total counter\n") != NULL &&
		  strstr(r.body, "# HELP ledgerflow_cache_evictions_total ") != NULL &&
		  strstr(r.body, "# TYPE ledgerflow_cache_entries gauge\n") != NULL &&
		  strstr(r.body, "# TYPE ledgerflow_cache_bytes gauge\n") != NULL);
	lf_h_resp_free(&r);
}

/* ---- suite ---- */

static int suite_init(void)
{
	if (!lf_h_daemon_config(&fx.env, &d, fx.db, 1, NULL) ||
	    lf_h_ctl(&fx.env, &d, "migrate") != 0)
		goto fail;
	for (size_t i = 0; i < NENV; i++)
		setenv(daemon_env[i][0], daemon_env[i][1], 1);
	bool started = lf_h_daemon_start(&fx.env, &d);
	for (size_t i = 0; i < NENV; i++)
		unsetenv(daemon_env[i][0]);
	if (!started || lf_h_account(d.port, "Alice", "USD", "1000.00", alice) != 201 ||
	    lf_h_account(d.port, "Bob", "USD", "0", bob) != 201)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "test_failures: daemon did not start; log %s\n", d.log);
	return 1;
}

static int suite_cleanup(void)
{
	return lf_h_daemon_stop(&d, SIGTERM, 15000) == 0 ? 0 : 1;
}

static int setup(void)
{
	snprintf(prefix, sizeof prefix, "tf%ldx%lld", (long)getpid(),
		 (long long)(time(NULL) % 1000000));
	return 0;
}

static void teardown(void)
{
	if (d.pid > 0)
		lf_h_daemon_stop(&d, SIGKILL, 5000);
}

static const struct lf_test failure_tests[] = {
	{"SQL error: not 201, one store_error line with the request id", test_sql_error},
	{"Redis error reply: a subsys=redis warn line, payment 201", test_redis_error_reply},
	{"Redis unreachable: a subsys=redis warn line, payment 201", test_redis_unreachable},
	{"pool timeout: 503 Retry-After, a db_pool_timeout line", test_pool_timeout},
	{"the shared cache's counters are in /metrics", test_cache_metrics},
};

static const struct lf_suite suites[] = {
	{"failures", LF_TESTS(failure_tests), .init = suite_init, .cleanup = suite_cleanup},
};

int main(void)
{
	/* the database only: the tests start daemons with their own settings */
	static const struct lf_h_fixture_opts opts = {
		.name = "fail", .no_daemon = true, .setup = setup, .teardown = teardown};
	return lf_h_fixture_main(suites, LF_COUNT(suites), &opts);
}
