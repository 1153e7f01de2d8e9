/*
 * test_retention.c - idempotency keys past their retention: the reaper
 * removes stored outcomes from the database (and the caches let them
 * expire), yet a retry of a payment with its key never pays twice: it is
 * answered from the payment row, byte for byte as the first time, and a
 * different request under that key is still 422 idempotency_key_reused.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "harness.h"

static char prefix[32];

static bool key_rows(const char *key, long long *n)
{
	char sql[512];
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = '%s'",
		 key);
	return lf_h_sql_int(&fx.env, fx.db, sql, n);
}

/* Wait until the reaper removed the key's stored outcome (at most 10 s). */
static bool wait_reaped(const char *key)
{
	int64_t deadline = lf_h_now_ms() + 10000;
	long long n = -1;
	while (lf_h_now_ms() < deadline) {
		if (key_rows(key, &n) && n == 0)
			return true;
		usleep(100 * 1000);
	}
	return false;
}

static void test_completed_payment_after_retention(void)
{
	char a[37], b[37], key[64], bal[32];
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "Ret A", "USD", "100.00", a), 201);
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "Ret B", "USD", "0", b), 201);
	snprintf(key, sizeof key, "%s-completed", prefix);

	struct lf_h_resp first, again, other;
	CU_ASSERT_EQUAL_FATAL(lf_h_pay(fx.d.port, key, a, b, "\"12.34\"", &first), 201);
	long long n = 0;
	CU_ASSERT(key_rows(key, &n) && n == 1);
	CU_ASSERT(wait_reaped(key));
	usleep(1200 * 1000); /* the shm and Redis copies expire with the same retention */

	CU_ASSERT_EQUAL(lf_h_pay(fx.d.port, key, a, b, "12.34", &again), 201);
	CU_ASSERT_EQUAL(again.body_len, first.body_len);
	CU_ASSERT(again.body && first.body && strcmp(again.body, first.body) == 0);
	char v[128], loc1[128];
	CU_ASSERT(lf_h_header(&again, "Idempotent-Replayed", v, sizeof v) &&
		  strcmp(v, "true") == 0);
	CU_ASSERT(lf_h_header(&first, "Location", loc1, sizeof loc1));
	CU_ASSERT(lf_h_header(&again, "Location", v, sizeof v) && strcmp(v, loc1) == 0);
	CU_ASSERT_EQUAL(lf_h_balance(fx.d.port, a, bal, sizeof bal), 200);
	CU_ASSERT_STRING_EQUAL(bal, "87.66"); /* moved once */

	CU_ASSERT_EQUAL(lf_h_pay(fx.d.port, key, a, b, "1.00", &other), 422);
	CU_ASSERT_PTR_NOT_NULL(
		other.body ? strstr(other.body, "\"code\":\"idempotency_key_reused\"") : NULL);
	CU_ASSERT_EQUAL(lf_h_balance(fx.d.port, a, bal, sizeof bal), 200);
	CU_ASSERT_STRING_EQUAL(bal, "87.66");
	lf_h_resp_free(&first);
	lf_h_resp_free(&again);
	lf_h_resp_free(&other);
}

static void test_declined_payment_after_retention(void)
{
	char a[37], b[37], key[64], bal[32];
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "Ret C", "USD", "1.00", a), 201);
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "Ret D", "USD", "0", b), 201);
	snprintf(key, sizeof key, "%s-declined", prefix);
	struct lf_h_resp first, again;
	CU_ASSERT_EQUAL_FATAL(lf_h_pay(fx.d.port, key, a, b, "5.00", &first), 422);
	CU_ASSERT(wait_reaped(key));
	usleep(1200 * 1000);
	/* fund the sender: a new decision would now complete, a replay must not */
	struct lf_h_resp fund;
	char fkey[64];
	snprintf(fkey, sizeof fkey, "%s-fund", prefix);
	char e[37];
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "Ret E", "USD", "50.00", e), 201);
	CU_ASSERT_EQUAL(lf_h_pay(fx.d.port, fkey, e, a, "10.00", &fund), 201);
	lf_h_resp_free(&fund);

	CU_ASSERT_EQUAL(lf_h_pay(fx.d.port, key, a, b, "5.00", &again), 422);
	CU_ASSERT(again.body && first.body && strcmp(again.body, first.body) == 0);
	CU_ASSERT_EQUAL(lf_h_balance(fx.d.port, a, bal, sizeof bal), 200);
	CU_ASSERT_STRING_EQUAL(bal, "11.00");
	lf_h_resp_free(&first);
	lf_h_resp_free(&again);
}

static void test_reaper_counted_and_books_hold(void)
{
	long long reaped = 0;
	CU_ASSERT(lf_h_metric(fx.d.port, "ledgerflow_idempotency_keys_reaped_total", &reaped));
	CU_ASSERT(reaped >= 2);
	printf("\n  keys reaped: %lld\n", reaped);
	CU_ASSERT_EQUAL(lf_h_ctl(&fx.env, &fx.d, "reconcile"), 0);
}

static int retention_setup(void)
{
	snprintf(prefix, sizeof prefix, "ret%ld", (long)getpid());
	return 0;
}

int main(void)
{
	static const struct lf_test tests[] = {
		{"a completed payment's key after retention replays, never pays twice",
		 test_completed_payment_after_retention},
		{"a declined payment's key after retention replays the decline",
		 test_declined_payment_after_retention},
		{"reaped keys are counted; the books hold", test_reaper_counted_and_books_hold},
	};
	static const struct lf_suite suites[] = {{"retention", LF_TESTS(tests)}};
	static const struct lf_h_fixture_opts opts = {
		.name = "retention",
		.extra_conf = "[idempotency]\nretention = 1s\nreap_interval = 200ms\n",
		.setup = retention_setup,
	};
	return lf_h_fixture_main(suites, LF_COUNT(suites), &opts);
}
