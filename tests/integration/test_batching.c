/*
 * test_batching.c - jobs the pool runs together ([mysql] batch_max),
 * against a real ledgerflowd with one pool connection per worker (and
 * [mysql] loop_reads off: the reads go to the pool), so
 * concurrent requests queue and are taken as batches:
 *   - concurrent account reads of two clients, each reading its own
 *     account, the other's, and a missing one, are answered from shared
 *     queries: every answer is exactly what a read alone gives (200 with
 *     the right balance, 404 for someone else's or a missing account), and
 *     /metrics shows batches of more than one read.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "harness.h"
#include "reads_util.h"
#include "../lf_cunit.h"

static char key_a[128], key_b[128];
static char acct_a[37], acct_b[37];

static void test_concurrent_reads(void)
{
	const struct lf_h_two_readers t = {.key = {key_a, key_b},
					   .acct = {acct_a, acct_b},
					   .balance = {"5.00", "0.00"},
					   .missing = "0190cccc-0000-7000-8000-000000000001"};
	long long batched = 0;
	/* a few rounds at most: the batches depend on how the threads meet */
	for (int trial = 0; trial < 5 && batched == 0; trial++) {
		int wrong;
		long long reads;
		batched = lf_h_read_round(fx.d.port, &t, &wrong, &reads);
		CU_ASSERT_EQUAL_FATAL(wrong, 0);
		CU_ASSERT(reads >= READS_UTIL_READERS); /* each counted in the histogram */
	}
	CU_ASSERT(batched > 0); /* some queries answered several reads */
}

static int setup(void)
{
	if (lf_h_ctl_key(&fx.env, &fx.d,
			 "client create batch-a --scopes accounts:read,accounts:write", key_a,
			 sizeof key_a) != 0 ||
	    lf_h_ctl_key(&fx.env, &fx.d,
			 "client create batch-b --scopes accounts:read,accounts:write", key_b,
			 sizeof key_b) != 0)
		return 1;
	char admin[128], funded[37];
	snprintf(admin, sizeof admin, "%s", lf_h_admin_key);
	if (lf_h_account(fx.d.port, "funded", "USD", "100.00", funded) != 201)
		return 1;
	lf_h_auth_use(key_a);
	int a = lf_h_account(fx.d.port, "batch-a", "USD", NULL, acct_a);
	lf_h_auth_use(key_b);
	int b = lf_h_account(fx.d.port, "batch-b", "USD", NULL, acct_b);
	lf_h_auth_use(admin);
	struct lf_h_resp r;
	char k[64];
	snprintf(k, sizeof k, "batch-fund-%ld", (long)getpid());
	int p = lf_h_pay(fx.d.port, k, funded, acct_a, "\"5.00\"", &r);
	lf_h_resp_free(&r);
	return a == 201 && b == 201 && p == 201 ? 0 : 1;
}

static const struct lf_test batch_tests[] = {
	{"concurrent reads of two clients from shared queries: each its own answer",
	 test_concurrent_reads},
};

static const struct lf_suite suites[] = {{"batching", LF_TESTS(batch_tests)}};

int main(void)
{
	/* one worker with one pool connection: concurrent jobs queue; the
	 * reads on the pool (the event loop's are test_loopread's) */
	setenv("LEDGERFLOW_MYSQL_POOL_SIZE", "1", 1);
	setenv("LEDGERFLOW_MYSQL_LOOP_READS", "off", 1);
	static const struct lf_h_fixture_opts opts = {
		.name = "batch", .workers = 1, .setup = setup};
	return lf_h_fixture_main(suites, LF_COUNT(suites), &opts);
}
