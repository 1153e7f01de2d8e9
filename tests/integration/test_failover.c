/*
 * test_failover.c - [mysql] host listing two nodes, the first reached
 * through the tests' TCP proxy (db_proxy.c), the second directly (the
 * same MariaDB: one database, two addresses, as a Galera cluster's nodes
 * show the same data):
 *   - the pool writes through the first node;
 *   - the first node dies (the proxy cuts every connection and closes new
 *     ones): payments go on through the second (db_failover), every one
 *     answered 201 or, at the moment of the cut, settled through its key
 *     on a retry; money moved once;
 *   - the first node is back: within failback_interval (1 s here) the pool
 *     returns to it (db_failback) and new work goes through it again.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "db_proxy.h"
#include "harness.h"
#include "../lf_cunit.h"

static struct lf_h_daemon d;
static char payer[37], payee[37];
static int seq, paid;

/* One payment of 0.01 with a fresh key, retried (same key) on a 503 for
 * at most 5 s; its final status. */
static int pay_once(void)
{
	char key[64];
	snprintf(key, sizeof key, "fo-%ld-%d", (long)getpid(), ++seq);
	int64_t until = lf_h_now_ms() + 5000;
	for (;;) {
		struct lf_h_resp r;
		int st = lf_h_pay(d.port, key, payer, payee, "\"0.01\"", &r);
		lf_h_resp_free(&r);
		if (st != 503 || lf_h_now_ms() >= until) {
			paid += st == 201;
			return st;
		}
		usleep(100 * 1000);
	}
}

static void test_first_node(void)
{
	int before = lf_h_proxy_accepted();
	CU_ASSERT_EQUAL(pay_once(), 201);
	/* the pool's connections are the proxy's (made at the first job) */
	CU_ASSERT(lf_h_proxy_accepted() >= before);
	CU_ASSERT(lf_h_proxy_accepted() >= 1);
	CU_ASSERT_FALSE(lf_h_log_contains(&d, "msg=db_failover"));
}

static void test_failover_and_back(void)
{
	lf_h_proxy_down(true);
	int ok = 0, total = 0;
	int64_t until = lf_h_now_ms() + 3000;
	while (lf_h_now_ms() < until) {
		total++;
		ok += pay_once() == 201;
	}
	CU_ASSERT_EQUAL(ok, total);
	CU_ASSERT(total >= 5);
	CU_ASSERT(lf_h_log_contains(&d, "msg=db_failover"));

	/* the first node is back: the pool returns to it */
	int accepted = lf_h_proxy_accepted();
	lf_h_proxy_down(false);
	int64_t t0 = lf_h_now_ms();
	while (!lf_h_log_contains(&d, "msg=db_failback") && lf_h_now_ms() - t0 < 5000)
		usleep(100 * 1000);
	CU_ASSERT(lf_h_log_contains(&d, "msg=db_failback"));
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(pay_once(), 201);
	CU_ASSERT(lf_h_proxy_accepted() > accepted); /* new connections to the first node */

	/* money moved once per 201 */
	char bal[32], want[32];
	CU_ASSERT_EQUAL(lf_h_balance(d.port, payee, bal, sizeof bal), 200);
	snprintf(want, sizeof want, "%d.%02d", paid / 100, paid % 100);
	CU_ASSERT_STRING_EQUAL(bal, want);
	CU_ASSERT_EQUAL(lf_h_ctl(&fx.env, &d, "reconcile --full"), 0);
}

static int setup(void)
{
	if (!lf_h_proxy_start(fx.env.mysql_port))
		return 1;
	if (!lf_h_daemon_config(&fx.env, &d, fx.db, 1, NULL) ||
	    lf_h_ctl(&fx.env, &d, "migrate") != 0)
		return 1;
	char hosts[128];
	snprintf(hosts, sizeof hosts, "127.0.0.1:%u, 127.0.0.1:%u", lf_h_proxy_port(),
		 fx.env.mysql_port);
	setenv("LEDGERFLOW_MYSQL_HOST", hosts, 1);
	setenv("LEDGERFLOW_MYSQL_FAILBACK_INTERVAL", "1s", 1);
	setenv("LEDGERFLOW_MYSQL_POOL_SIZE", "2", 1);
	bool ok = lf_h_daemon_start(&fx.env, &d);
	unsetenv("LEDGERFLOW_MYSQL_HOST");
	unsetenv("LEDGERFLOW_MYSQL_FAILBACK_INTERVAL");
	unsetenv("LEDGERFLOW_MYSQL_POOL_SIZE");
	if (!ok || lf_h_account(d.port, "payer", "USD", "100.00", payer) != 201 ||
	    lf_h_account(d.port, "payee", "USD", NULL, payee) != 201) {
		fprintf(stderr, "test_failover: daemon set-up failed; log %s\n", d.log);
		return 1;
	}
	return 0;
}

static void teardown(void)
{
	if (d.pid > 0)
		lf_h_daemon_stop(&d, SIGTERM, 15000);
	lf_h_proxy_stop();
}

static const struct lf_test failover_tests[] = {
	{"the pool writes through the first node", test_first_node},
	{"the first node dies: failover, no payment lost; back: failback", test_failover_and_back},
};

static const struct lf_suite suites[] = {{"failover", LF_TESTS(failover_tests)}};

int main(void)
{
	static const struct lf_h_fixture_opts opts = {
		.name = "failover", .no_daemon = true, .setup = setup, .teardown = teardown};
	return lf_h_fixture_main(suites, LF_COUNT(suites), &opts);
}
