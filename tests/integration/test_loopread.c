/*
 * test_loopread.c - account reads on the worker's event loop ([mysql]
 * loop_reads, store/loopread.c), against a real ledgerflowd reaching
 * MariaDB through the test proxy (db_proxy.h), beside a second daemon on
 * the same database with loop_reads = off (the pool path) to compare with:
 *   - GET /api/accounts/{id} answered by the loop connection (its
 *     PROCESSLIST QUERY_ID moves) with the same status, type and bytes as
 *     the pool path; someone else's account and a missing one: the same 404;
 *   - concurrent GETs of two clients, answered from shared queries, each
 *     its own answer;
 *   - a payment's lookup of accounts the worker has not seen (currency and
 *     owner) asked on the loop: the same status and code as the pool path
 *     for a transfer, another client's sender, an amount with more digits
 *     than the sender's currency, a currency mismatch and a missing
 *     receiver; with the loop connection KILLed, the pool asks; behind a
 *     table lock, 503 and nothing claimed: the same key then decides once;
 *   - the loop connection KILLed under it: the GETs are still answered
 *     (the pool path), a new loop connection comes and serves again;
 *   - the database unreachable: 503 problem+json as from the pool, then
 *     reads come back with the database.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <mysql.h>

#include "db_proxy.h"
#include "harness.h"
#include "reads_util.h"
#include "../lf_cunit.h"

static struct lf_h_daemon d, off;
static char key_a[128], key_b[128], key_c[128];
static char acct_a[37], acct_b[37];
static const char *missing = "0190cccc-0000-7000-8000-00000000abcd";

/* The loop connections the daemon announced: how many, the last's id. */
static int loop_conns(unsigned long *last)
{
	FILE *f = fopen(d.log, "r");
	if (f == NULL)
		return 0;
	char line[2048];
	int n = 0;
	while (fgets(line, sizeof line, f) != NULL) {
		const char *t = strstr(line, "msg=loopread_connected");
		if (t == NULL || (t = strstr(t, "thread_id=")) == NULL)
			continue;
		n++;
		*last = strtoul(t + 10, NULL, 10);
	}
	fclose(f);
	return n;
}

/* Wait (5 s at most) for more than `after` loop connections. */
static unsigned long wait_loop_conn(int after)
{
	unsigned long id = 0;
	for (int i = 0; i < 100; i++) {
		if (loop_conns(&id) > after)
			return id;
		usleep(50 * 1000);
	}
	return 0;
}

static long long query_id(unsigned long thread)
{
	char q[160];
	long long v = -1;
	snprintf(q, sizeof q, "SELECT QUERY_ID FROM information_schema.PROCESSLIST WHERE ID = %lu",
		 thread);
	return lf_h_sql_int(&fx.env, NULL, q, &v) ? v : -1;
}

static int get_as(unsigned port, const char *key, const char *id, const char *request_id,
		  struct lf_h_resp *r)
{
	char h[300], path[96];
	snprintf(h, sizeof h, "Authorization: Bearer %s\r\nX-Request-Id: %s\r\n", key, request_id);
	snprintf(path, sizeof path, "/api/accounts/%s", id);
	return lf_h_http(port, "GET", path, h, NULL, r) == 0 ? r->status : -1;
}

static int get(unsigned port, const char *key, const char *id, struct lf_h_resp *r)
{
	return get_as(port, key, id, "loop-test", r);
}

/* The same request (the same X-Request-Id: a problem names it) to both
 * daemons: the same status, Content-Type and body. */
static void same_answer(const char *key, const char *id, int want)
{
	struct lf_h_resp a, b;
	static int n;
	char rid[32];
	snprintf(rid, sizeof rid, "loop-same-%d", ++n);
	CU_ASSERT_EQUAL(get_as(d.port, key, id, rid, &a), want);
	CU_ASSERT_EQUAL(get_as(off.port, key, id, rid, &b), want);
	char ta[128] = "", tb[128] = "";
	CU_ASSERT(lf_h_header(&a, "Content-Type", ta, sizeof ta));
	CU_ASSERT(lf_h_header(&b, "Content-Type", tb, sizeof tb));
	CU_ASSERT_STRING_EQUAL(ta, tb);
	CU_ASSERT_FATAL(a.body != NULL && b.body != NULL);
	CU_ASSERT_EQUAL(a.body_len, b.body_len);
	CU_ASSERT(a.body_len == b.body_len && memcmp(a.body, b.body, a.body_len) == 0);
	lf_h_resp_free(&a);
	lf_h_resp_free(&b);
}

static void test_same_bytes(void)
{
	unsigned long tid = wait_loop_conn(0);
	CU_ASSERT_FATAL(tid != 0);
	long long q0 = query_id(tid);
	CU_ASSERT_FATAL(q0 >= 0);
	same_answer(key_a, acct_a, 200);
	long long q1 = query_id(tid);
	CU_ASSERT(q1 > q0); /* the loop connection ran it */
	same_answer(lf_h_admin_key, acct_a, 200);
	same_answer(key_b, acct_b, 200);
}

static void test_not_yours_404(void)
{
	unsigned long tid = wait_loop_conn(0);
	long long q0 = query_id(tid);
	same_answer(key_b, acct_a, 404); /* someone else's: as a missing one */
	same_answer(key_a, missing, 404);
	CU_ASSERT(query_id(tid) > q0);
}

static void test_concurrent(void)
{
	unsigned long tid = wait_loop_conn(0);
	long long q0 = query_id(tid);
	const struct lf_h_two_readers t = {.key = {key_a, key_b},
					   .acct = {acct_a, acct_b},
					   .balance = {"5.00", "0.00"},
					   .missing = missing};
	long long batched = 0;
	/* a few rounds at most: the batches depend on how the readers meet */
	for (int trial = 0; trial < 5 && batched == 0; trial++) {
		int wrong;
		long long reads;
		batched = lf_h_read_round(d.port, &t, &wrong, &reads);
		CU_ASSERT_EQUAL_FATAL(wrong, 0);
		CU_ASSERT(reads >= READS_UTIL_READERS); /* each counted in the histogram */
	}
	CU_ASSERT(batched > 0); /* some loop queries answered several reads */
	CU_ASSERT(query_id(tid) > q0);
}

/* A payment as both daemons answer it (fresh keys): its status, and the
 * problem's code when there is one. */
static int pay_both(const char *key, const char *from, const char *to, const char *amount,
		    char code[2][48])
{
	static int n;
	int status[2];
	const unsigned ports[2] = {d.port, off.port};
	for (int i = 0; i < 2; i++) {
		char k[64];
		struct lf_h_resp r;
		snprintf(k, sizeof k, "loop-pay-%ld-%d", (long)getpid(), ++n);
		lf_h_auth_use(key);
		status[i] = lf_h_pay(ports[i], k, from, to, amount, &r);
		code[i][0] = '\0';
		if (r.body != NULL)
			(void)lf_h_json_str(r.body, "code", code[i], 48);
		lf_h_resp_free(&r);
	}
	lf_h_auth_use(lf_h_admin_key);
	CU_ASSERT_EQUAL(status[0], status[1]);
	CU_ASSERT_STRING_EQUAL(code[0], code[1]);
	return status[0] == status[1] ? status[0] : -1;
}

/* Accounts neither daemon's workers have seen: the payment's first
 * question (both accounts' currencies and owners) is asked on the loop. */
static void fresh_account(const char *key, const char *currency, const char *initial, char id[37])
{
	static int n;
	char name[32];
	snprintf(name, sizeof name, "loop-pay-%d", ++n);
	lf_h_auth_use(key);
	CU_ASSERT_EQUAL_FATAL(lf_h_account(d.port, name, currency, initial, id), 201);
	lf_h_auth_use(lf_h_admin_key);
}

static void test_payment_lookup(void)
{
	unsigned long tid = wait_loop_conn(0);
	CU_ASSERT_FATAL(tid != 0);
	char code[2][48];
	char f1[37], r1[37], theirs[37], mine[37], jp[37], jp2[37], usd[37];
	/* money moves, and the lookup was the loop connection's query */
	fresh_account(lf_h_admin_key, "USD", "10.00", f1);
	fresh_account(lf_h_admin_key, "USD", NULL, r1);
	long long q0 = query_id(tid);
	CU_ASSERT_EQUAL(pay_both(lf_h_admin_key, f1, r1, "\"1.00\"", code), 201);
	CU_ASSERT(query_id(tid) > q0);
	/* another client's sender: as a missing one, the receiver anyone's */
	fresh_account(lf_h_admin_key, "USD", "10.00", theirs);
	fresh_account(key_c, "USD", NULL, mine);
	CU_ASSERT_EQUAL(pay_both(key_c, theirs, mine, "\"1.00\"", code), 422);
	CU_ASSERT_STRING_EQUAL(code[0], "account_not_found");
	/* the amount's digits are the sender's currency's, learned on the loop */
	fresh_account(lf_h_admin_key, "JPY", "100", jp);
	fresh_account(lf_h_admin_key, "JPY", NULL, jp2);
	CU_ASSERT_EQUAL(pay_both(lf_h_admin_key, jp, jp2, "\"5.5\"", code), 400);
	CU_ASSERT_STRING_EQUAL(code[0], "invalid_amount");
	fresh_account(lf_h_admin_key, "USD", NULL, usd);
	CU_ASSERT_EQUAL(pay_both(lf_h_admin_key, jp, usd, "\"5\"", code), 422);
	CU_ASSERT_STRING_EQUAL(code[0], "currency_mismatch");
	CU_ASSERT_EQUAL(pay_both(lf_h_admin_key, r1, missing, "\"0.01\"", code), 422);
	CU_ASSERT_STRING_EQUAL(code[0], "account_not_found");
	/* the loop connection killed: the lookup goes to the pool */
	char q[64];
	snprintf(q, sizeof q, "KILL %lu", tid);
	int conns = loop_conns(&(unsigned long){0});
	CU_ASSERT_FATAL(lf_h_sql(&fx.env, NULL, q));
	fresh_account(lf_h_admin_key, "USD", "10.00", f1);
	fresh_account(lf_h_admin_key, "USD", NULL, r1);
	CU_ASSERT_EQUAL(pay_both(lf_h_admin_key, f1, r1, "\"2.00\"", code), 201);
	CU_ASSERT(wait_loop_conn(conns) != 0); /* and a new one comes */
}

static void test_killed(void)
{
	unsigned long tid = 0;
	int conns = loop_conns(&tid);
	CU_ASSERT_FATAL(conns >= 1 && tid != 0);
	char q[64];
	snprintf(q, sizeof q, "KILL %lu", tid);
	CU_ASSERT_FATAL(lf_h_sql(&fx.env, NULL, q));
	/* every read answered: the first one on the dead connection by the
	 * pool path */
	for (int i = 0; i < 5; i++) {
		struct lf_h_resp r;
		char bal[32] = "";
		CU_ASSERT_EQUAL(get(d.port, key_a, acct_a, &r), 200);
		CU_ASSERT(lf_h_json_str(r.body, "balance", bal, sizeof bal));
		CU_ASSERT_STRING_EQUAL(bal, "5.00");
		lf_h_resp_free(&r);
	}
	/* the query on the killed connection failed, or (when the KILL
	 * raced it: no byte and no error came) was given up after 500 ms */
	CU_ASSERT(lf_h_log_contains(&d, "stmt=get_accounts") ||
		  lf_h_log_contains(&d, "msg=loopread_unanswered"));
	unsigned long fresh = wait_loop_conn(conns);
	CU_ASSERT_FATAL(fresh != 0);
	CU_ASSERT(fresh != tid);
	long long q0 = query_id(fresh);
	same_answer(key_a, acct_a, 200);
	CU_ASSERT(query_id(fresh) > q0); /* the new loop connection serves */
}

/* A session of the test's own holding LOCK TABLES accounts WRITE. */
static MYSQL *lock_accounts(void)
{
	MYSQL *m = mysql_init(NULL);
	CU_ASSERT_FATAL(m != NULL);
	if (mysql_real_connect(m, fx.env.mysql_host, fx.env.mysql_user, fx.env.mysql_password,
			       fx.db, fx.env.mysql_port, NULL, 0) == NULL ||
	    mysql_query(m, "LOCK TABLES accounts WRITE") != 0) {
		fprintf(stderr, "\n  lock: %s\n", mysql_error(m));
		mysql_close(m);
		CU_FAIL_FATAL("could not lock the accounts table");
	}
	return m;
}

/* The loop's query waits behind a table lock: after 500 ms the loop
 * gives it up (its connection dropped) and the pool takes the read, which
 * waits on until [mysql] request_timeout (3 s in the harness's config):
 * 503 as from the pool, a new loop connection after. */
static void test_timeout(void)
{
	unsigned long tid = 0;
	int conns = loop_conns(&tid);
	CU_ASSERT_FATAL(conns >= 1);
	MYSQL *m = lock_accounts();
	struct lf_h_resp r;
	int64_t t0 = lf_h_now_ms();
	CU_ASSERT_EQUAL(get_as(d.port, key_a, acct_a, "loop-timeout", &r), 503);
	int64_t took = lf_h_now_ms() - t0;
	char ct[128] = "";
	CU_ASSERT(lf_h_header(&r, "Content-Type", ct, sizeof ct));
	CU_ASSERT_STRING_EQUAL(ct, "application/problem+json");
	lf_h_resp_free(&r);
	CU_ASSERT(took >= 2500); /* the database's deadline, not a failure */
	/* the loop gave the query up after its patience (500 ms) and the pool
	 * answered the read at its deadline */
	CU_ASSERT(lf_h_log_contains(&d, "msg=loopread_unanswered request_id=loop-timeout "));
	CU_ASSERT(lf_h_log_contains(&d, "msg=db_pool_timeout request_id=loop-timeout ") ||
		  lf_h_log_contains(&d, "request_id=loop-timeout subsys=store stmt=get_account"));
	CU_ASSERT(mysql_query(m, "UNLOCK TABLES") == 0);
	mysql_close(m);
	unsigned long fresh = 0;
	for (int i = 0; i < 100 && fresh == 0; i++) {
		CU_ASSERT_EQUAL(get(d.port, key_a, acct_a, &r), 200);
		lf_h_resp_free(&r);
		if (loop_conns(&fresh) <= conns) {
			fresh = 0;
			usleep(50 * 1000);
		}
	}
	CU_ASSERT(fresh != 0 && fresh != tid);
}

/* A payment's lookup behind a table lock: the loop gives it up, the pool
 * answers 503 at the deadline, and nothing was claimed or moved: the same
 * request (the same key) then decides, once. */
static void test_payment_lookup_timeout(void)
{
	char from[37], to[37], k[64], code[48] = "";
	fresh_account(lf_h_admin_key, "USD", "10.00", from);
	fresh_account(lf_h_admin_key, "USD", NULL, to);
	snprintf(k, sizeof k, "loop-pay-timeout-%ld", (long)getpid());
	MYSQL *m = lock_accounts();
	struct lf_h_resp r;
	CU_ASSERT_EQUAL(lf_h_pay(d.port, k, from, to, "\"1.00\"", &r), 503);
	CU_ASSERT(r.body != NULL && lf_h_json_str(r.body, "code", code, sizeof code));
	CU_ASSERT_STRING_EQUAL(code, "service_unavailable");
	lf_h_resp_free(&r);
	CU_ASSERT(mysql_query(m, "UNLOCK TABLES") == 0);
	mysql_close(m);
	int status = 0;
	for (int i = 0; i < 100 && status != 201; i++) {
		status = lf_h_pay(d.port, k, from, to, "\"1.00\"", &r);
		lf_h_resp_free(&r);
		CU_ASSERT(status == 201 || status == 503);
		if (status != 201)
			usleep(50 * 1000);
	}
	CU_ASSERT_EQUAL(status, 201);
	char bal[32] = "";
	CU_ASSERT_EQUAL(get(d.port, lf_h_admin_key, to, &r), 200);
	CU_ASSERT(r.body != NULL && lf_h_json_str(r.body, "balance", bal, sizeof bal));
	CU_ASSERT_STRING_EQUAL(bal, "1.00");
	lf_h_resp_free(&r);
}

static void test_unreachable(void)
{
	int conns = loop_conns(&(unsigned long){0});
	lf_h_proxy_down(true);
	for (int i = 0; i < 3; i++) {
		struct lf_h_resp r;
		CU_ASSERT_EQUAL(get(d.port, key_a, acct_a, &r), 503);
		char ct[128] = "";
		CU_ASSERT(lf_h_header(&r, "Content-Type", ct, sizeof ct));
		CU_ASSERT_STRING_EQUAL(ct, "application/problem+json");
		CU_ASSERT(r.body != NULL && strstr(r.body, "service_unavailable") != NULL);
		lf_h_resp_free(&r);
	}
	lf_h_proxy_down(false);
	/* back with the database (the pool's back-off, then the loop's) */
	int status = 0;
	for (int i = 0; i < 100 && status != 200; i++) {
		struct lf_h_resp r;
		status = get(d.port, key_a, acct_a, &r);
		lf_h_resp_free(&r);
		if (status != 200)
			usleep(50 * 1000);
	}
	CU_ASSERT_EQUAL(status, 200);
	unsigned long fresh = 0;
	for (int i = 0; i < 100 && fresh == 0; i++) {
		struct lf_h_resp r;
		(void)get(d.port, key_a, acct_a, &r); /* a read asks for the connection */
		lf_h_resp_free(&r);
		if (loop_conns(&fresh) <= conns) {
			fresh = 0;
			usleep(50 * 1000);
		}
	}
	CU_ASSERT(fresh != 0);
}

static int setup(void)
{
	if (!lf_h_proxy_daemon_start(&d, "test_loopread") ||
	    !lf_h_daemon_config(&fx.env, &off, fx.db, 1, NULL))
		goto fail;
	setenv("LEDGERFLOW_MYSQL_LOOP_READS", "off", 1);
	bool started = lf_h_daemon_start(&fx.env, &off);
	unsetenv("LEDGERFLOW_MYSQL_LOOP_READS");
	if (!started)
		goto fail;
	if (lf_h_ctl_key(&fx.env, &d, "client create loop-a --scopes accounts:read,accounts:write",
			 key_a, sizeof key_a) != 0 ||
	    lf_h_ctl_key(&fx.env, &d, "client create loop-b --scopes accounts:read,accounts:write",
			 key_b, sizeof key_b) != 0 ||
	    lf_h_ctl_key(
		    &fx.env, &d,
		    "client create loop-c --scopes accounts:read,accounts:write,payments:write",
		    key_c, sizeof key_c) != 0)
		goto fail;
	char funded[37];
	if (lf_h_account(d.port, "funded", "USD", "100.00", funded) != 201)
		goto fail;
	lf_h_auth_use(key_a);
	int a = lf_h_account(d.port, "loop-a", "USD", NULL, acct_a);
	lf_h_auth_use(key_b);
	int b = lf_h_account(d.port, "loop-b", "USD", NULL, acct_b);
	lf_h_auth_use(lf_h_admin_key);
	struct lf_h_resp r;
	char k[64];
	snprintf(k, sizeof k, "loop-fund-%ld", (long)getpid());
	int p = lf_h_pay(d.port, k, funded, acct_a, "\"5.00\"", &r);
	lf_h_resp_free(&r);
	if (a == 201 && b == 201 && p == 201)
		return 0;
fail:
	fprintf(stderr, "test_loopread: set-up failed; logs %s %s\n", d.log, off.log);
	return 1;
}

static void teardown(void)
{
	if (off.pid > 0)
		lf_h_daemon_stop(&off, SIGTERM, 15000);
	lf_h_proxy_daemon_stop(&d);
}

static const struct lf_test loop_tests[] = {
	{"GET account on the loop: the same status, type and bytes as the pool path",
	 test_same_bytes},
	{"someone else's account and a missing one: the same 404", test_not_yours_404},
	{"concurrent reads of two clients from shared loop queries: each its own answer",
	 test_concurrent},
	{"a payment's first look at its accounts on the loop: the pool path's answers",
	 test_payment_lookup},
	{"the loop connection killed: reads answered by the pool, then a new one serves",
	 test_killed},
	{"the loop's query past its deadline: 503, the connection replaced", test_timeout},
	{"a payment's lookup past its deadline: 503, nothing claimed, the key then decides once",
	 test_payment_lookup_timeout},
	{"the database unreachable: 503 problem+json, then reads come back", test_unreachable},
};
static const struct lf_suite suites[] = {{"loop reads", LF_TESTS(loop_tests)}};

int main(void)
{
	static const struct lf_h_fixture_opts opts = {
		.name = "loopread", .no_daemon = true, .setup = setup, .teardown = teardown};
	return lf_h_fixture_main(suites, LF_COUNT(suites), &opts);
}
