/*
 * test_concurrency.c - the payment path under concurrent load against the
 * real ledgerflowd (2 workers): no overdraft when 200 payments race for 50
 * units, opposite transfers that must not deadlock into errors, random
 * transfers among 20 accounts (money conserved, reconcile clean, every
 * ledger chain consistent), one Idempotency-Key sent by many clients at
 * once; main() (the table of tests) and the helpers test_concurrency.h
 * shares. The MySQL outage in the middle of the load is in
 * test_concurrency_outage.c.
 *
 * Every client thread has its own keep-alive connection; every loop is
 * bounded in count and in time.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "test_concurrency.h"

#define THREADS 32

static int keyno;

/* ---- one client ---- */

/* POST a payment on the thread's keep-alive connection (opened again when
 * needed). Returns the status; -2 when the request was sent and no complete
 * response came back; -1 when it could not be sent. */
int conn_pay(struct lf_h_conn *c, const char *key, const char *from, const char *to,
	     const char *amount, struct lf_h_resp *r)
{
	char h[128], body[256];
	snprintf(h, sizeof h, "Idempotency-Key: %s\r\n", key);
	snprintf(body, sizeof body,
		 "{\"fromAccountId\":\"%s\",\"toAccountId\":\"%s\",\"amount\":\"%s\"}", from, to,
		 amount);
	memset(r, 0, sizeof *r);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (c->fd < 0 && !lf_h_connect(c, fx.d.port))
			return -1;
		int rc = lf_h_request(c, "POST", "/api/payments", h, body, r);
		if (rc == 0) {
			if (r->conn_close)
				lf_h_close(c);
			return r->status;
		}
		lf_h_close(c);
		lf_h_resp_free(r);
		if (rc == -2)
			return -2;
	}
	return -1;
}

/* ---- a fixed list of payments run by THREADS clients ---- */

struct job {
	char key[48];
	const char *from, *to, *amount;
	int status;
	char code[40];
	char body[512];
	bool retry_after;
};

struct batch {
	struct job *jobs;
	int njobs;
	int next; /* atomic */
	int64_t deadline;
};

static void *batch_thread(void *arg)
{
	struct batch *b = arg;
	struct lf_h_conn c = {.fd = -1};
	for (;;) {
		int i = __atomic_fetch_add(&b->next, 1, __ATOMIC_SEQ_CST);
		if (i >= b->njobs || lf_h_now_ms() > b->deadline)
			break;
		struct job *j = &b->jobs[i];
		struct lf_h_resp r;
		char v[64];
		j->status = conn_pay(&c, j->key, j->from, j->to, j->amount, &r);
		if (j->status > 0) {
			lf_h_json_str(r.body, "code", j->code, sizeof j->code);
			snprintf(j->body, sizeof j->body, "%s", r.body);
			j->retry_after = lf_h_header(&r, "Retry-After", v, sizeof v);
		}
		lf_h_resp_free(&r);
	}
	lf_h_close(&c);
	return NULL;
}

static void run_batch(struct job *jobs, int njobs, int threads)
{
	struct batch b = {.jobs = jobs, .njobs = njobs, .deadline = lf_h_now_ms() + 60000};
	pthread_t t[THREADS];
	for (int i = 0; i < njobs; i++)
		jobs[i].status = 0;
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, batch_thread, &b);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
}

static void job(struct job *j, const char *from, const char *to, const char *amount)
{
	memset(j, 0, sizeof *j);
	snprintf(j->key, sizeof j->key, "conc-%ld-%d", (long)getpid(), ++keyno);
	j->from = from;
	j->to = to;
	j->amount = amount;
}

int64_t balance_minor(const char *id)
{
	char b[64];
	int64_t v = -1;
	if (lf_h_balance(fx.d.port, id, b, sizeof b) != 200 || !lf_h_minor(b, 2, &v))
		return -1;
	return v;
}

/* Walk an account's whole ledger, newest first: each balanceAfter follows
 * from the older entry, the newest equals the balance, the oldest starts
 * from zero. Returns the number of entries, -1 when a check fails. */
static long ledger_walk(const char *id, int64_t balance)
{
	struct lf_h_entry *e = calloc(500, sizeof *e);
	char cursor[128] = "", q[256] = "?limit=500";
	long count = 0;
	int64_t newer_after = -1, newer_delta = 0;
	bool ok = e != NULL, last = false;
	for (int page = 0; ok && !last && page < 200; page++) {
		int n = lf_h_ledger(fx.d.port, id, q, 2, e, 500, cursor, sizeof cursor);
		ok = n >= 0 && (n > 0 || count == 0);
		for (int i = 0; ok && i < n; i++) {
			bool credit = strcmp(e[i].direction, "CREDIT") == 0;
			int64_t delta = credit ? e[i].amount : -e[i].amount;
			if (count == 0)
				ok = e[i].balance_after == balance;
			else
				ok = newer_after == e[i].balance_after + newer_delta;
			ok = ok && e[i].amount > 0 &&
			     (credit || strcmp(e[i].direction, "DEBIT") == 0);
			newer_after = e[i].balance_after;
			newer_delta = delta;
			count++;
			if (!ok)
				fprintf(stderr, "\n  ledger %s: chain broken at entry %ld (%s)\n",
					id, count, e[i].id);
		}
		last = cursor[0] == '\0';
		if (ok && last && n > 0) /* the oldest starts from zero */
			ok = newer_delta == e[n - 1].balance_after;
		snprintf(q, sizeof q, "?limit=500&cursor=%s", cursor);
	}
	free(e);
	return ok && last ? count : -1;
}

/* (a) 200 payments of 1.00 race for a balance of 50.00 */
static void test_no_overdraft(void)
{
	char s[37], r[37];
	CU_ASSERT_FATAL(lf_h_account(fx.d.port, "race-sender", "USD", "50.00", s) == 201);
	CU_ASSERT_FATAL(lf_h_account(fx.d.port, "race-receiver", "USD", NULL, r) == 201);
	static struct job jobs[200];
	for (int i = 0; i < 200; i++)
		job(&jobs[i], s, r, "1.00");
	int64_t t0 = lf_h_now_ms();
	run_batch(jobs, 200, THREADS);
	int64_t took = lf_h_now_ms() - t0;
	int ok = 0, declined = 0, fivexx = 0, other = 0;
	for (int i = 0; i < 200; i++) {
		if (jobs[i].status == 201)
			ok++;
		else if (jobs[i].status == 422 && strcmp(jobs[i].code, "insufficient_funds") == 0)
			declined++;
		else if (jobs[i].status >= 500)
			fivexx++;
		else
			other++;
	}
	int64_t sb = balance_minor(s), rb = balance_minor(r);
	long entries = ledger_walk(s, sb);
	printf("\n  (a) no overdraft: 200 attempted by %d threads in %lld ms: %d completed, "
	       "%d declined, %d 5xx, %d other; sender %lld, receiver %lld minor units, "
	       "sender ledger %ld entries\n",
	       THREADS, (long long)took, ok, declined, fivexx, other, (long long)sb, (long long)rb,
	       entries);
	CU_ASSERT_EQUAL(ok, 50);
	CU_ASSERT_EQUAL(declined, 150);
	CU_ASSERT_EQUAL(fivexx, 0);
	CU_ASSERT_EQUAL(other, 0);
	CU_ASSERT_EQUAL(sb, 0);
	CU_ASSERT_EQUAL(rb, 5000);
	CU_ASSERT_EQUAL(entries, 51);
	CU_ASSERT_EQUAL(ledger_walk(r, rb), 50);
}

/* (b) A->B and B->A at the same time: lock order must not surface */
static void test_opposite_directions(void)
{
	char a[37], b[37];
	CU_ASSERT_FATAL(lf_h_account(fx.d.port, "opp-a", "USD", "1000", a) == 201);
	CU_ASSERT_FATAL(lf_h_account(fx.d.port, "opp-b", "USD", "1000", b) == 201);
	static struct job jobs[400];
	for (int i = 0; i < 400; i++) {
		if (i % 2 == 0)
			job(&jobs[i], a, b, "2.00");
		else
			job(&jobs[i], b, a, "1.00");
	}
	int64_t t0 = lf_h_now_ms();
	run_batch(jobs, 400, THREADS);
	int64_t took = lf_h_now_ms() - t0;
	int ok = 0, fivexx = 0, other = 0;
	for (int i = 0; i < 400; i++) {
		if (jobs[i].status == 201)
			ok++;
		else if (jobs[i].status >= 500)
			fivexx++;
		else
			other++;
		if (jobs[i].status != 201 && other + fivexx <= 3)
			fprintf(stderr, "\n  (b) job %d: %d %s\n", i, jobs[i].status, jobs[i].body);
	}
	int64_t ab = balance_minor(a), bb = balance_minor(b);
	printf("\n  (b) opposite directions: 400 attempted (200 A->B 2.00, 200 B->A 1.00) in %lld "
	       "ms: "
	       "%d completed, %d 5xx, %d other; A %lld, B %lld minor units\n",
	       (long long)took, ok, fivexx, other, (long long)ab, (long long)bb);
	CU_ASSERT_EQUAL(ok, 400);
	CU_ASSERT_EQUAL(fivexx, 0);
	CU_ASSERT_EQUAL(ab, 80000);
	CU_ASSERT_EQUAL(bb, 120000);
	CU_ASSERT_EQUAL(ledger_walk(a, ab), 401);
	CU_ASSERT_EQUAL(ledger_walk(b, bb), 401);
}

/* ---- (c) random transfers for a while ---- */

#define RANDOM_ACCOUNTS 20
#define RANDOM_SECONDS 10

struct randomly {
	char (*ids)[37];
	int64_t until;
	unsigned seed[THREADS];
	long sent[THREADS], ok[THREADS], declined[THREADS], fivexx[THREADS], other[THREADS],
		failed[THREADS];
	int idx[THREADS];
};

static struct randomly R;

static unsigned next_rand(unsigned *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void *random_thread(void *arg)
{
	int t = *(int *)arg;
	struct lf_h_conn c = {.fd = -1};
	char key[64], amount[32];
	for (long n = 0; n < 1000000 && lf_h_now_ms() < R.until; n++) {
		unsigned from = next_rand(&R.seed[t]) % RANDOM_ACCOUNTS;
		unsigned to = (from + 1 + next_rand(&R.seed[t]) % (RANDOM_ACCOUNTS - 1)) %
			      RANDOM_ACCOUNTS;
		unsigned cents = 1 + next_rand(&R.seed[t]) % 5000;
		snprintf(amount, sizeof amount, "%u.%02u", cents / 100, cents % 100);
		snprintf(key, sizeof key, "rnd-%ld-%d-%ld", (long)getpid(), t, n);
		struct lf_h_resp r;
		int st = conn_pay(&c, key, R.ids[from], R.ids[to], amount, &r);
		char code[40] = "";
		if (st > 0)
			lf_h_json_str(r.body, "code", code, sizeof code);
		R.sent[t]++;
		if (st == 201)
			R.ok[t]++;
		else if (st == 422 && strcmp(code, "insufficient_funds") == 0)
			R.declined[t]++;
		else if (st >= 500)
			R.fivexx[t]++;
		else if (st < 0)
			R.failed[t]++;
		else
			R.other[t]++;
		lf_h_resp_free(&r);
	}
	lf_h_close(&c);
	return NULL;
}

static void test_random_transfers(void)
{
	static char ids[RANDOM_ACCOUNTS][37];
	for (int i = 0; i < RANDOM_ACCOUNTS; i++) {
		char name[32];
		snprintf(name, sizeof name, "random-%d", i);
		CU_ASSERT_FATAL(lf_h_account(fx.d.port, name, "USD", "100.00", ids[i]) == 201);
	}
	memset(&R, 0, sizeof R);
	R.ids = ids;
	R.until = lf_h_now_ms() + RANDOM_SECONDS * 1000;
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++) {
		R.idx[i] = i;
		R.seed[i] = 2463534242u + (unsigned)i * 7919u;
		pthread_create(&t[i], NULL, random_thread, &R.idx[i]);
	}
	long sent = 0, ok = 0, declined = 0, fivexx = 0, other = 0, failed = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		sent += R.sent[i];
		ok += R.ok[i];
		declined += R.declined[i];
		fivexx += R.fivexx[i];
		other += R.other[i];
		failed += R.failed[i];
	}
	int64_t sum = 0;
	long entries = 0;
	bool chains = true, all_read = true;
	for (int i = 0; i < RANDOM_ACCOUNTS; i++) {
		int64_t b = balance_minor(ids[i]);
		all_read = all_read && b >= 0;
		sum += b;
		long n = ledger_walk(ids[i], b);
		chains = chains && n > 0;
		entries += n;
	}
	int rec = lf_h_ctl(&fx.env, &fx.d, "reconcile");
	printf("\n  (c) random transfers: %d threads, %d accounts, %d s: %ld attempted, %ld "
	       "completed "
	       "(%ld/s), %ld declined, %ld 5xx, %ld other, %ld transport failures; sum of balances "
	       "%lld minor units (expected %d); %ld ledger entries (expected %ld); reconcile exit "
	       "%d\n",
	       THREADS, RANDOM_ACCOUNTS, RANDOM_SECONDS, sent, ok, ok / RANDOM_SECONDS, declined,
	       fivexx, other, failed, (long long)sum, RANDOM_ACCOUNTS * 10000, entries,
	       RANDOM_ACCOUNTS + 2 * ok, rec);
	CU_ASSERT(ok > 0);
	CU_ASSERT_EQUAL(fivexx, 0);
	CU_ASSERT_EQUAL(other, 0);
	CU_ASSERT_EQUAL(failed, 0);
	CU_ASSERT(all_read);
	CU_ASSERT_EQUAL(sum, RANDOM_ACCOUNTS * 10000);
	CU_ASSERT(chains);
	CU_ASSERT_EQUAL(entries, RANDOM_ACCOUNTS + 2 * ok);
	CU_ASSERT_EQUAL(rec, 0);
	/* every opening came from the issuance account: each currency sums to 0 */
	long long unbalanced = -1;
	CU_ASSERT(lf_h_sql_int(&fx.env, fx.db,
			       "SELECT COUNT(*) FROM (SELECT currency FROM accounts"
			       " GROUP BY currency HAVING SUM(balance) <> 0) x",
			       &unbalanced));
	CU_ASSERT_EQUAL(unbalanced, 0);
}

/* one key, one body, 16 clients at once: one payment */
static void test_same_key_concurrently(void)
{
	char a[37], b[37];
	CU_ASSERT_FATAL(lf_h_account(fx.d.port, "twin-a", "USD", "100", a) == 201);
	CU_ASSERT_FATAL(lf_h_account(fx.d.port, "twin-b", "USD", NULL, b) == 201);
	static struct job jobs[16];
	job(&jobs[0], a, b, "10.00");
	for (int i = 1; i < 16; i++)
		jobs[i] = jobs[0];
	run_batch(jobs, 16, 16);
	int created = 0, in_flight = 0, other = 0, same = 0;
	const char *first = NULL;
	for (int i = 0; i < 16; i++) {
		if (jobs[i].status == 201) {
			created++;
			if (first == NULL)
				first = jobs[i].body;
			same += strcmp(first, jobs[i].body) == 0;
		} else if (jobs[i].status == 409 &&
			   strcmp(jobs[i].code, "idempotency_key_in_flight") == 0 &&
			   jobs[i].retry_after) {
			in_flight++;
		} else {
			other++;
		}
	}
	int64_t ab = balance_minor(a), bb = balance_minor(b);
	printf("\n  same key from 16 clients at once: %d x 201 (%d identical), %d x 409 in flight, "
	       "%d other; sender %lld, receiver %lld minor units\n",
	       created, same, in_flight, other, (long long)ab, (long long)bb);
	CU_ASSERT(created >= 1);
	CU_ASSERT_EQUAL(same, created);
	CU_ASSERT_EQUAL(other, 0);
	CU_ASSERT_EQUAL(ab, 9000);
	CU_ASSERT_EQUAL(bb, 1000);
}

int main(void)
{
	static const struct lf_test tests[] = {
		{"(a) 200 x 1.00 against 50.00: exactly 50 complete", test_no_overdraft},
		{"(b) A->B and B->A concurrently: all complete", test_opposite_directions},
		{"(c) random transfers among 20 accounts for 10 s", test_random_transfers},
		{"one Idempotency-Key from 16 clients at once", test_same_key_concurrently},
		{"(d) MySQL down for 3 s under load, then back", test_mysql_outage},
	};
	static const struct lf_suite suites[] = {{"concurrency", LF_TESTS(tests)}};
	static const struct lf_h_fixture_opts opts = {.name = "concurrency"};
	return lf_h_fixture_main(suites, LF_COUNT(suites), &opts);
}
