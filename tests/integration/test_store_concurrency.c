/*
 * test_store_concurrency.c - integration tests of the database layer under
 * contention, each thread on its own connection: a lock wait timeout is
 * LF_AGAIN with nothing written; 8 threads making 200 transfers of
 * 1.00 from an account holding 50.00 complete exactly 50; eight requests
 * with one key move money once; transfers in opposite directions between
 * two accounts never deadlock and conserve money. Same environment as
 * test_store.c (LF_TEST_MYSQL_*; skipped with 77 without a port).
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_fixture.h"

static void test_lock_wait_is_retry(void)
{
	struct lf_db_params q = RT;
	q.lock_wait_timeout_s = 1;
	char err[512];
	struct lf_store_conn *c = lf_store_connect(&q, err, sizeof err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	lf_uuid a = new_account("Locked", USD, 100), b = new_account("Other", USD, 0);
	MYSQL *holder = raw_connect(dbname);
	CU_ASSERT_PTR_NOT_NULL_FATAL(holder);
	char idtxt[LF_UUID_STR_LEN + 1], sql[256];
	lf_uuid_format(&a, idtxt);
	snprintf(sql, sizeof sql,
		 "SELECT balance FROM accounts WHERE id = UNHEX(REPLACE('%s','-',''))"
		 " FOR UPDATE",
		 idtxt);
	CU_ASSERT_EQUAL(mysql_query(holder, "START TRANSACTION"), 0);
	CU_ASSERT_EQUAL(mysql_query(holder, sql), 0);
	MYSQL_RES *r = mysql_store_result(holder);
	if (r)
		mysql_free_result(r);

	struct xfer x;
	enum lf_transfer_result res;
	struct lf_stored st;
	xfer_init(&x, "locked-1", &a, &b, 10, USD, NULL);
	CU_ASSERT_EQUAL(lf_store_transfer(c, &x.r, &res, &st), LF_AGAIN);
	CU_ASSERT_EQUAL(lf_store_errno(c), 1205);
	lf_stored_clear(&st);
	CU_ASSERT_EQUAL(mysql_query(holder, "ROLLBACK"), 0);
	mysql_close(holder);

	/* Rolled back: the key is free and the retry on the same connection works. */
	CU_ASSERT_EQUAL(lf_store_get_outcome(c, CLIENT, "locked-1", 8, &st), LF_OK);
	CU_ASSERT_FALSE(st.found);
	lf_stored_clear(&st);
	CU_ASSERT_EQUAL(lf_store_transfer(c, &x.r, &res, &st), LF_OK);
	CU_ASSERT_EQUAL(res, LF_TRANSFER_COMPLETED);
	lf_stored_clear(&st);
	CU_ASSERT_TRUE(lf_store_ping(c));
	lf_store_close(c);
	CU_ASSERT_EQUAL(balance_of(&a), 90);
}

/* ---- concurrency ---- */

#define THREADS 8
#define TRANSFERS 200
#define MAX_TRIES 50

struct worker {
	int index;
	lf_uuid from, to;
	const char *prefix;
	bool same_key;
	int completed, declined, replayed, failed;
	struct lf_stored first;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char err[512];
	struct lf_store_conn *c = lf_store_connect(&RT, err, sizeof err);
	if (!c) {
		w->failed = TRANSFERS;
		return NULL;
	}
	int count = w->same_key ? 1 : TRANSFERS / THREADS;
	for (int i = 0; i < count; i++) {
		char key[64];
		if (w->same_key)
			snprintf(key, sizeof key, "%s", w->prefix);
		else
			snprintf(key, sizeof key, "%s-%d-%d", w->prefix, w->index, i);
		struct xfer x;
		xfer_init(&x, key, &w->from, &w->to, 100, USD, NULL);
		enum lf_transfer_result res = LF_TRANSFER_ACCOUNT_NOT_FOUND;
		struct lf_stored st;
		lf_rc rc = LF_AGAIN;
		for (int t = 0; t < MAX_TRIES && rc == LF_AGAIN; t++) {
			rc = lf_store_transfer(c, &x.r, &res, &st);
			if (rc == LF_AGAIN)
				usleep(1000 * (unsigned)(1 + t));
		}
		if (rc != LF_OK) {
			fprintf(stderr, "worker %d: %s\n", w->index, lf_store_error(c));
			w->failed++;
			continue;
		}
		if (res == LF_TRANSFER_COMPLETED)
			w->completed++;
		else if (res == LF_TRANSFER_DECLINED)
			w->declined++;
		else if (res == LF_TRANSFER_REPLAY) {
			w->replayed++;
			w->first = st;
			continue;
		} else
			w->failed++;
		lf_stored_clear(&st);
	}
	lf_store_close(c);
	return NULL;
}

static void test_concurrent_transfers(void)
{
	lf_uuid from = new_account("Funded", USD, 5000), to = new_account("Receiver", USD, 0);
	struct worker w[THREADS];
	pthread_t th[THREADS];
	int64_t start = now_ms();
	for (int i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].index = i;
		w[i].from = from;
		w[i].to = to;
		w[i].prefix = "conc";
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	int completed = 0, declined = 0, other = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		completed += w[i].completed;
		declined += w[i].declined;
		other += w[i].failed + w[i].replayed;
	}
	fprintf(quiet, "concurrent: %d completed, %d declined in %lld ms\n", completed, declined,
		(long long)(now_ms() - start));
	CU_ASSERT_EQUAL(completed, 50);
	CU_ASSERT_EQUAL(declined, 150);
	CU_ASSERT_EQUAL(other, 0);
	CU_ASSERT_EQUAL(balance_of(&from), 0);
	CU_ASSERT_EQUAL(balance_of(&to), 5000);
	CU_ASSERT_EQUAL(
		raw_int("SELECT COUNT(*) FROM idempotency_keys WHERE idem_key LIKE 'conc-%'"), 200);
	CU_ASSERT_EQUAL(reconcile_quiet(), 0);
}

static void test_concurrent_same_key(void)
{
	lf_uuid from = new_account("Twice", USD, 1000), to = new_account("Once", USD, 0);
	struct worker w[THREADS];
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].index = i;
		w[i].from = from;
		w[i].to = to;
		w[i].prefix = "same-key";
		w[i].same_key = true;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	int completed = 0, replayed = 0, failed = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		completed += w[i].completed;
		replayed += w[i].replayed;
		failed += w[i].failed + w[i].declined;
		if (w[i].replayed) {
			CU_ASSERT_EQUAL(w[i].first.status, 201);
			CU_ASSERT_PTR_NOT_NULL(w[i].first.body);
		}
		lf_stored_clear(&w[i].first);
	}
	CU_ASSERT_EQUAL(completed, 1);
	CU_ASSERT_EQUAL(replayed, THREADS - 1);
	CU_ASSERT_EQUAL(failed, 0);
	CU_ASSERT_EQUAL(balance_of(&from), 900);
	CU_ASSERT_EQUAL(balance_of(&to), 100);
}

/* Opposite directions between the same two accounts: locks are taken in
 * id order, so no deadlock, and any RETRY is absorbed; money is conserved. */
static void test_concurrent_crossing(void)
{
	lf_uuid x = new_account("Left", USD, 10000), y = new_account("Right", USD, 10000);
	struct worker w[THREADS];
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].index = i;
		w[i].from = i % 2 ? x : y;
		w[i].to = i % 2 ? y : x;
		w[i].prefix = "cross";
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	int completed = 0, other = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		completed += w[i].completed;
		other += w[i].failed + w[i].replayed + w[i].declined;
	}
	CU_ASSERT_EQUAL(completed, TRANSFERS);
	CU_ASSERT_EQUAL(other, 0);
	CU_ASSERT_EQUAL(balance_of(&x) + balance_of(&y), 20000);
	CU_ASSERT_EQUAL(balance_of(&x), 10000); /* as many each way, 100 each */
	CU_ASSERT_EQUAL(reconcile_quiet(), 0);
}

int main(void)
{
	static const struct lf_test tests[] = {
		{"lock wait is retry", test_lock_wait_is_retry},
		{"concurrent transfers", test_concurrent_transfers},
		{"concurrent same key", test_concurrent_same_key},
		{"concurrent crossing", test_concurrent_crossing},
	};
	static const struct lf_suite suites[] = {{"store concurrency", LF_TESTS(tests)}};
	static const struct fx_opts opts = {.name = "store_concurrency", .migrate = true};
	return fx_main(suites, LF_COUNT(suites), &opts);
}
