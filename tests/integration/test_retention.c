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
#include "../lf_cunit.h"

static struct lf_h_env env;
static struct lf_h_daemon d;
static char dbname[64];
static char prefix[32];

static bool key_rows(const char *key, long long *n)
{
	char sql[512];
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = '%s'",
		 key);
	return lf_h_sql_int(&env, dbname, sql, n);
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
	CU_ASSERT_EQUAL_FATAL(lf_h_account(d.port, "Ret A", "USD", "100.00", a), 201);
	CU_ASSERT_EQUAL_FATAL(lf_h_account(d.port, "Ret B", "USD", "0", b), 201);
	snprintf(key, sizeof key, "%s-completed", prefix);

	struct lf_h_resp first, again, other;
	CU_ASSERT_EQUAL_FATAL(lf_h_pay(d.port, key, a, b, "\"12.34\"", &first), 201);
	long long n = 0;
	CU_ASSERT(key_rows(key, &n) && n == 1);
	CU_ASSERT(wait_reaped(key));
	usleep(1200 * 1000); /* the shm and Redis copies expire with the same retention */

	CU_ASSERT_EQUAL(lf_h_pay(d.port, key, a, b, "12.34", &again), 201);
	CU_ASSERT_EQUAL(again.body_len, first.body_len);
	CU_ASSERT(again.body && first.body && strcmp(again.body, first.body) == 0);
	char v[128], loc1[128];
	CU_ASSERT(lf_h_header(&again, "Idempotent-Replayed", v, sizeof v) &&
		  strcmp(v, "true") == 0);
	CU_ASSERT(lf_h_header(&first, "Location", loc1, sizeof loc1));
	CU_ASSERT(lf_h_header(&again, "Location", v, sizeof v) && strcmp(v, loc1) == 0);
	CU_ASSERT_EQUAL(lf_h_balance(d.port, a, bal, sizeof bal), 200);
	CU_ASSERT_STRING_EQUAL(bal, "87.66"); /* moved once */

	CU_ASSERT_EQUAL(lf_h_pay(d.port, key, a, b, "1.00", &other), 422);
	CU_ASSERT_PTR_NOT_NULL(
		other.body ? strstr(other.body, "\"code\":\"idempotency_key_reused\"") : NULL);
	CU_ASSERT_EQUAL(lf_h_balance(d.port, a, bal, sizeof bal), 200);
	CU_ASSERT_STRING_EQUAL(bal, "87.66");
	lf_h_resp_free(&first);
	lf_h_resp_free(&again);
	lf_h_resp_free(&other);
}

static void test_declined_payment_after_retention(void)
{
	char a[37], b[37], key[64], bal[32];
	CU_ASSERT_EQUAL_FATAL(lf_h_account(d.port, "Ret C", "USD", "1.00", a), 201);
	CU_ASSERT_EQUAL_FATAL(lf_h_account(d.port, "Ret D", "USD", "0", b), 201);
	snprintf(key, sizeof key, "%s-declined", prefix);
	struct lf_h_resp first, again;
	CU_ASSERT_EQUAL_FATAL(lf_h_pay(d.port, key, a, b, "5.00", &first), 422);
	CU_ASSERT(wait_reaped(key));
	usleep(1200 * 1000);
	/* fund the sender: a new decision would now complete, a replay must not */
	struct lf_h_resp fund;
	char fkey[64];
	snprintf(fkey, sizeof fkey, "%s-fund", prefix);
	char e[37];
	CU_ASSERT_EQUAL_FATAL(lf_h_account(d.port, "Ret E", "USD", "50.00", e), 201);
	CU_ASSERT_EQUAL(lf_h_pay(d.port, fkey, e, a, "10.00", &fund), 201);
	lf_h_resp_free(&fund);

	CU_ASSERT_EQUAL(lf_h_pay(d.port, key, a, b, "5.00", &again), 422);
	CU_ASSERT(again.body && first.body && strcmp(again.body, first.body) == 0);
	CU_ASSERT_EQUAL(lf_h_balance(d.port, a, bal, sizeof bal), 200);
	CU_ASSERT_STRING_EQUAL(bal, "11.00");
	lf_h_resp_free(&first);
	lf_h_resp_free(&again);
}

static void test_reaper_counted_and_books_hold(void)
{
	long long reaped = 0;
	CU_ASSERT(lf_h_metric(d.port, "ledgerflow_idempotency_keys_reaped_total", &reaped));
	CU_ASSERT(reaped >= 2);
	printf("\n  keys reaped: %lld\n", reaped);
	CU_ASSERT_EQUAL(lf_h_ctl(&env, &d, "reconcile"), 0);
}

int main(void)
{
	if (!lf_h_env_load(&env))
		return LF_H_SKIP;
	signal(SIGPIPE, SIG_IGN);
	snprintf(dbname, sizeof dbname, "lf_retention_%ld", (long)getpid());
	snprintf(prefix, sizeof prefix, "ret%ld", (long)getpid());
	if (!lf_h_db_create(&env, dbname) ||
	    !lf_h_daemon_config(&env, &d, dbname, 2,
				"[idempotency]\nretention = 1s\nreap_interval = 200ms\n") ||
	    lf_h_ctl(&env, &d, "migrate") != 0 || !lf_h_daemon_start(&env, &d)) {
		fprintf(stderr, "setup failed; see %s\n", d.log);
		return 1;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	CU_pSuite s = CU_add_suite("retention", NULL, NULL);
	CU_add_test(s, "a completed payment's key after retention replays, never pays twice",
		    test_completed_payment_after_retention);
	CU_add_test(s, "a declined payment's key after retention replays the decline",
		    test_declined_payment_after_retention);
	CU_add_test(s, "reaped keys are counted; the books hold",
		    test_reaper_counted_and_books_hold);
	int rc = lf_cunit_run();
	if (lf_h_daemon_stop(&d, SIGTERM, 15000) != 0)
		rc = 1;
	lf_h_db_drop(&env, dbname);
	return rc;
}
