/*
 * test_batching.c - jobs the pool runs together ([mysql] batch_max),
 * against a real ledgerflowd with one pool connection per worker, so
 * concurrent requests queue and are taken as batches:
 *   - concurrent account reads of two clients, each reading its own
 *     account, the other's, and a missing one, are answered from shared
 *     queries: every answer is exactly what a read alone gives (200 with
 *     the right balance, 404 for someone else's or a missing account), and
 *     /metrics shows batches of more than one read.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "harness.h"
#include "../lf_cunit.h"

static char key_a[128], key_b[128];
static char acct_a[37], acct_b[37];

#define READERS 48

struct reader {
	pthread_t t;
	pthread_barrier_t *go;
	const char *key;
	char path[96];
	int want_status;
	const char *want_balance; /* with 200 */
	int status;
	char balance[32];
};

static void *read_one(void *arg)
{
	struct reader *x = arg;
	char h[200];
	snprintf(h, sizeof h, "Authorization: Bearer %s\r\n", x->key);
	pthread_barrier_wait(x->go);
	struct lf_h_resp r;
	x->status = lf_h_http(fx.d.port, "GET", x->path, h, NULL, &r) == 0 ? r.status : -1;
	if (x->status == 200 && !lf_h_json_str(r.body, "balance", x->balance, sizeof x->balance))
		x->balance[0] = '\0';
	lf_h_resp_free(&r);
	return NULL;
}

static long long metric(const char *series)
{
	long long v = -1;
	return lf_h_metric(fx.d.port, series, &v) ? v : -1;
}

static void test_concurrent_reads(void)
{
	long long count0 = metric("ledgerflow_db_batch_size_count{kind=\"account_read\"}");
	long long single0 =
		metric("ledgerflow_db_batch_size_bucket{kind=\"account_read\",le=\"1\"}");
	CU_ASSERT_FATAL(count0 >= 0 && single0 >= 0);
	static struct reader x[READERS];
	char admin[128];
	snprintf(admin, sizeof admin, "%s", lf_h_auth_key());
	lf_h_auth_use(NULL); /* each thread sends its own key */
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, READERS);
	const char *missing = "0190cccc-0000-7000-8000-000000000001";
	int trial = 0;
	long long batched = 0;
	/* a few rounds at most: the batches depend on how the threads meet */
	while (trial++ < 5 && batched == 0) {
		for (int i = 0; i < READERS; i++) {
			bool as_a = i % 2 == 0;
			int what = (i / 2) % 3; /* own, the other's, missing */
			x[i] = (struct reader){.go = &go, .key = as_a ? key_a : key_b};
			const char *id = what == 0   ? (as_a ? acct_a : acct_b)
					 : what == 1 ? (as_a ? acct_b : acct_a)
						     : missing;
			snprintf(x[i].path, sizeof x[i].path, "/api/accounts/%s", id);
			x[i].want_status = what == 0 ? 200 : 404;
			x[i].want_balance = as_a ? "5.00" : "0.00";
		}
		for (int i = 0; i < READERS; i++)
			CU_ASSERT_FATAL(pthread_create(&x[i].t, NULL, read_one, &x[i]) == 0);
		for (int i = 0; i < READERS; i++)
			pthread_join(x[i].t, NULL);
		for (int i = 0; i < READERS; i++) {
			CU_ASSERT_EQUAL(x[i].status, x[i].want_status);
			if (x[i].status != x[i].want_status)
				fprintf(stderr, "\n  %s got %d\n", x[i].path, x[i].status);
			if (x[i].want_status == 200)
				CU_ASSERT_STRING_EQUAL(x[i].balance, x[i].want_balance);
		}
		long long count = metric("ledgerflow_db_batch_size_count{kind=\"account_read\"}");
		long long single =
			metric("ledgerflow_db_batch_size_bucket{kind=\"account_read\",le=\"1\"}");
		long long jobs = metric("ledgerflow_db_batch_size_sum{kind=\"account_read\"}");
		CU_ASSERT(jobs >= READERS * trial);
		batched = (count - count0) - (single - single0);
	}
	pthread_barrier_destroy(&go);
	lf_h_auth_use(admin);
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
	/* one worker with one pool connection: concurrent jobs queue */
	setenv("LEDGERFLOW_MYSQL_POOL_SIZE", "1", 1);
	static const struct lf_h_fixture_opts opts = {
		.name = "batch", .workers = 1, .setup = setup};
	return lf_h_fixture_main(suites, LF_COUNT(suites), &opts);
}
