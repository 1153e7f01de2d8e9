/*
 * contrib/bench/raw_db.c - the benchmark's database baseline: how many
 * payments per second MariaDB itself decides when nothing but the
 * transaction stands in the way. THREADS threads, each with its own
 * connection (lf_store_connect, as a ledgerflowd pool thread), call the
 * lf_transfer stored procedure through the same prepared statement the
 * server uses (lf_store_transfer), with the same inputs: a fresh
 * idempotency key, three UUIDv7 ids, the 201 and 422 bodies rendered with
 * lf_render_*, between two random distinct accounts of the benchmark's
 * ACCOUNTS, for SECONDS seconds; a deadlock or lock wait timeout is
 * retried like the server does (5 times). No HTTP, no JSON parsing, no
 * Redis, no shared memory.
 *
 *   raw_db HOST PORT USER PASSWORD DATABASE THREADS SECONDS ACCOUNTS TAG [FROM]
 *
 * Account i (1..ACCOUNTS) has the id b0000000-0000-4000-8000-<i, 12 digits>.
 * With FROM (an account number, possibly outside 1..ACCOUNTS), every
 * payment is from that one account to a random other of the ACCOUNTS: the
 * hot-sender baseline, where every transaction waits for the sender's row.
 * Prints one line "RAWDB key=value ..." (requests = payments decided,
 * latencies in microseconds) and exits 0, or 1 when a thread could not
 * connect or a call failed.
 *
 * With RAW_DB_GROUP=N in the environment (2..64), each call is one group
 * commit of N payments (lf_store_transfer_batch, as a ledgerflowd pool
 * thread runs a batch): the database's own speed at deciding payments
 * together, without HTTP (a development baseline; latencies are per
 * group).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "lf_body.h"
#include "lf_render.h"
#include "lf_store.h"
#include "lf_time.h"
#include "lf_uuid.h"

#define RAW_MAX_THREADS 256
#define RAW_MAX_RETRIES 5
#define RAW_BUCKET_US 10u   /* histogram resolution */
#define RAW_BUCKETS 100000u /* 10 us .. 1 s, then overflow */
#define RAW_RETENTION_MS (24LL * 3600 * 1000)

struct raw_thread {
	pthread_t tid;
	unsigned index;
	uint64_t completed, declined, replayed, other, retries, errors;
	uint64_t max_us;
	uint32_t *hist; /* RAW_BUCKETS + 1 */
	uint64_t rng;
	bool connect_failed;
};

static struct lf_db_params raw_db;
static unsigned raw_accounts;
static unsigned raw_from; /* 0: a random sender per payment */
static const char *raw_tag;
static int64_t raw_seconds;
static pthread_barrier_t raw_start;
static atomic_int raw_printed_error;

static uint64_t raw_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t raw_rand(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static void raw_account_id(unsigned i, lf_uuid *out)
{
	char text[LF_UUID_STR_LEN + 1];
	snprintf(text, sizeof text, "b0000000-0000-4000-8000-%012u", i);
	if (!lf_uuid_parse(text, LF_UUID_STR_LEN, out))
		abort();
}

static void raw_report_error(struct raw_thread *t, struct lf_store_conn *c, const char *what)
{
	t->errors++;
	if (atomic_fetch_add(&raw_printed_error, 1) < 5)
		fprintf(stderr, "raw_db: thread %u: %s: %u %s\n", t->index, what, lf_store_errno(c),
			lf_store_error(c));
}

/* One payment's request as ledgerflowd builds it: r, its key and
 * location in the caller's buffers, its bodies in ok / declined. */
static void raw_build(struct raw_thread *t, uint64_t n, struct lf_transfer_req *r_out, char key[96],
		      char location[80], struct lf_body *ok, struct lf_body *declined)
{
	unsigned a, b;
	if (raw_from != 0) {
		a = raw_from;
		do
			b = 1 + (unsigned)(raw_rand(&t->rng) % raw_accounts);
		while (b == a);
	} else {
		a = 1 + (unsigned)(raw_rand(&t->rng) % raw_accounts);
		b = 1 + (unsigned)(raw_rand(&t->rng) % (raw_accounts - 1));
		if (b >= a)
			b++;
	}
	int key_len = snprintf(key, 96, "raw-%s-%u-%" PRIu64, raw_tag, t->index, n);

	struct lf_transfer_req r;
	memset(&r, 0, sizeof r);
	r.client_id = 0;
	r.admin = true; /* as the benchmark's admin key: the accounts are nobody's */
	r.idem_key = key;
	r.idem_key_len = (size_t)key_len;
	for (size_t i = 0; i < LF_FINGERPRINT_LEN; i += 8) {
		uint64_t x = raw_rand(&t->rng);
		memcpy(r.fingerprint + i, &x, 8);
	}
	raw_account_id(a, &r.from);
	raw_account_id(b, &r.to);
	r.amount = 1 + (int64_t)(raw_rand(&t->rng) % 99); /* 0.01 .. 0.99 USD */
	r.currency = "USD";
	lf_uuid_v7(&r.payment_id);
	lf_uuid_v7(&r.debit_entry_id);
	lf_uuid_v7(&r.credit_entry_id);
	r.created_ms = lf_time_now_ms();
	r.expires_ms = r.created_ms + RAW_RETENTION_MS;

	struct lf_payment pay;
	memset(&pay, 0, sizeof pay);
	pay.id = r.payment_id;
	pay.from = r.from;
	pay.to = r.to;
	pay.amount = r.amount;
	memcpy(pay.currency, "USD", 4);
	pay.status = LF_PAYMENT_COMPLETED; /* a plain payment: captured in full */
	pay.has_captured = true;
	pay.captured = r.amount;
	pay.created_ms = r.created_ms;
	char id[LF_UUID_STR_LEN + 1];
	lf_uuid_format(&r.payment_id, id);
	snprintf(location, 80, "/api/payments/%s", id);
	r.location = location;

	if (!lf_render_payment_body(ok, &pay) || !lf_render_declined_body(declined, &r.payment_id))
		abort();
	r.body_completed = ok->data;
	r.body_completed_len = ok->len;
	r.body_declined = declined->data;
	r.body_declined_len = declined->len;
	r.event_declined = declined->data; /* the data of the declined event: any body */
	r.event_declined_len = declined->len;
	*r_out = r;
}

/* One payment, as ledgerflowd's run_transfer does it; false when the
 * connection is no longer usable. */
static bool raw_one(struct raw_thread *t, struct lf_store_conn *c, uint64_t n)
{
	char key[96], location[80];
	struct lf_transfer_req r;
	struct lf_body ok = {0}, declined = {0};
	raw_build(t, n, &r, key, location, &ok, &declined);
	enum lf_transfer_result result = LF_TRANSFER_COMPLETED;
	struct lf_stored stored;
	memset(&stored, 0, sizeof stored);
	lf_rc rc = LF_ERROR;
	for (int attempt = 0;; attempt++) {
		rc = lf_store_transfer(c, &r, &result, &stored);
		if (rc != LF_AGAIN || attempt >= RAW_MAX_RETRIES)
			break;
		t->retries++;
	}
	lf_stored_clear(&stored);
	lf_body_clear(&ok);
	lf_body_clear(&declined);

	bool usable = true;
	if (rc != LF_OK) {
		raw_report_error(t, c, "lf_store_transfer");
		usable = rc == LF_AGAIN || rc == LF_ERROR;
	} else if (result == LF_TRANSFER_COMPLETED) {
		t->completed++;
	} else if (result == LF_TRANSFER_DECLINED) {
		t->declined++;
	} else if (result == LF_TRANSFER_REPLAY) {
		t->replayed++;
	} else {
		t->other++;
	}
	return usable;
}

#define RAW_GROUP_MAX 64
static int raw_group; /* RAW_DB_GROUP: payments per call; 0: one by one */

/* RAW_DB_GROUP payments in one group commit; false when the connection is
 * no longer usable. */
static bool raw_group_one(struct raw_thread *t, struct lf_store_conn *c, uint64_t n)
{
	char key[RAW_GROUP_MAX][96], location[RAW_GROUP_MAX][80];
	struct lf_transfer_req r[RAW_GROUP_MAX];
	struct lf_body ok[RAW_GROUP_MAX], declined[RAW_GROUP_MAX];
	enum lf_transfer_batch_result res[RAW_GROUP_MAX];
	memset(ok, 0, sizeof ok);
	memset(declined, 0, sizeof declined);
	for (int i = 0; i < raw_group; i++)
		raw_build(t, n * RAW_GROUP_MAX + (uint64_t)i, &r[i], key[i], location[i], &ok[i],
			  &declined[i]);
	lf_rc rc = LF_ERROR;
	for (int attempt = 0;; attempt++) {
		rc = lf_store_transfer_batch(c, r, raw_group, res, NULL);
		if (rc != LF_AGAIN || attempt >= RAW_MAX_RETRIES)
			break;
		t->retries++;
	}
	for (int i = 0; i < raw_group; i++) {
		lf_body_clear(&ok[i]);
		lf_body_clear(&declined[i]);
		if (rc != LF_OK)
			continue;
		if (res[i] == LF_TRANSFER_BATCH_COMPLETED)
			t->completed++;
		else if (res[i] == LF_TRANSFER_BATCH_DECLINED)
			t->declined++;
		else
			t->other++;
	}
	if (rc != LF_OK) {
		raw_report_error(t, c, "lf_store_transfer_batch");
		return rc == LF_AGAIN || rc == LF_ERROR;
	}
	return true;
}

static void *raw_thread_main(void *arg)
{
	struct raw_thread *t = arg;
	char err[512];
	struct lf_store_conn *c = lf_store_connect(&raw_db, err, sizeof err);
	if (c == NULL) {
		fprintf(stderr, "raw_db: thread %u: %s\n", t->index, err);
		t->connect_failed = true;
	}
	pthread_barrier_wait(&raw_start);
	if (c == NULL)
		return NULL;
	uint64_t deadline = raw_now_us() + (uint64_t)raw_seconds * 1000000u;
	for (uint64_t n = 1;; n++) {
		uint64_t t0 = raw_now_us();
		if (t0 >= deadline)
			break;
		bool usable = raw_group > 0 ? raw_group_one(t, c, n) : raw_one(t, c, n);
		uint64_t us = raw_now_us() - t0;
		uint64_t bucket = us / RAW_BUCKET_US;
		t->hist[bucket < RAW_BUCKETS ? bucket : RAW_BUCKETS]++;
		if (us > t->max_us)
			t->max_us = us;
		if (!usable)
			break;
	}
	lf_store_close(c);
	return NULL;
}

/* Upper bound of the bucket holding the p-th percentile, in microseconds. */
static uint64_t raw_percentile(const uint64_t *hist, uint64_t total, unsigned p, uint64_t max_us)
{
	if (total == 0)
		return 0;
	uint64_t want = (total * p + 99) / 100, seen = 0;
	for (unsigned i = 0; i <= RAW_BUCKETS; i++) {
		seen += hist[i];
		if (seen >= want)
			return i == RAW_BUCKETS ? max_us : (uint64_t)(i + 1) * RAW_BUCKET_US;
	}
	return max_us;
}

static bool raw_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	unsigned long port, threads, seconds, accounts, from = 0;
	if ((argc != 10 && argc != 11) || !raw_uint(argv[2], 1, 65535, &port) ||
	    !raw_uint(argv[6], 1, RAW_MAX_THREADS, &threads) ||
	    !raw_uint(argv[7], 1, 3600, &seconds) || !raw_uint(argv[8], 2, 999999999, &accounts) ||
	    (argc == 11 && !raw_uint(argv[10], 1, 999999999, &from))) {
		fprintf(stderr,
			"usage: %s HOST PORT USER PASSWORD DATABASE THREADS(1..%d) SECONDS "
			"ACCOUNTS(>=2) TAG [FROM]\n",
			argv[0], RAW_MAX_THREADS);
		return 2;
	}
	raw_from = (unsigned)from;
	raw_db.host = argv[1];
	raw_db.port = (unsigned)port;
	raw_db.user = argv[3];
	raw_db.password = argv[4];
	raw_db.database = argv[5];
	raw_db.connect_timeout_s = 2;
	raw_db.rw_timeout_s = 30;
	raw_db.lock_wait_timeout_s = 2;
	raw_accounts = (unsigned)accounts;
	raw_seconds = (int64_t)seconds;
	raw_tag = argv[9];
	const char *group = getenv("RAW_DB_GROUP");
	if (group != NULL && *group != '\0') {
		raw_group = atoi(group);
		if (raw_group < 2 || raw_group > RAW_GROUP_MAX) {
			fprintf(stderr, "raw_db: RAW_DB_GROUP must be 2..%d\n", RAW_GROUP_MAX);
			return 2;
		}
	}

	struct raw_thread *ts = calloc(threads, sizeof *ts);
	if (ts == NULL || pthread_barrier_init(&raw_start, NULL, (unsigned)threads + 1) != 0) {
		fprintf(stderr, "raw_db: out of memory\n");
		return 1;
	}
	uint64_t seed = (uint64_t)lf_time_now_ms() ^ ((uint64_t)raw_now_us() << 20);
	for (unsigned i = 0; i < threads; i++) {
		ts[i].index = i;
		ts[i].rng = (seed + 0x9E3779B97F4A7C15ULL * (i + 1)) | 1;
		ts[i].hist = calloc(RAW_BUCKETS + 1, sizeof *ts[i].hist);
		if (ts[i].hist == NULL ||
		    pthread_create(&ts[i].tid, NULL, raw_thread_main, &ts[i]) != 0) {
			fprintf(stderr, "raw_db: cannot start thread %u\n", i);
			return 1;
		}
	}
	pthread_barrier_wait(&raw_start);
	uint64_t t0 = raw_now_us();
	for (unsigned i = 0; i < threads; i++)
		pthread_join(ts[i].tid, NULL);
	uint64_t elapsed_us = raw_now_us() - t0;

	uint64_t *hist = calloc(RAW_BUCKETS + 1, sizeof *hist);
	if (hist == NULL)
		return 1;
	uint64_t completed = 0, declined = 0, replayed = 0, other = 0, retries = 0, errors = 0;
	uint64_t max_us = 0, calls = 0;
	bool failed = false;
	for (unsigned i = 0; i < threads; i++) {
		struct raw_thread *t = &ts[i];
		completed += t->completed;
		declined += t->declined;
		replayed += t->replayed;
		other += t->other;
		retries += t->retries;
		errors += t->errors;
		if (t->max_us > max_us)
			max_us = t->max_us;
		failed = failed || t->connect_failed;
		for (unsigned b = 0; b <= RAW_BUCKETS; b++) {
			hist[b] += t->hist[b];
			calls += t->hist[b];
		}
		free(t->hist);
	}
	uint64_t decided = completed + declined;
	/* integer rate with two decimals: decided * 100e6 / elapsed_us */
	uint64_t rate_x100 = elapsed_us ? decided * 100000000u / elapsed_us : 0;
	printf("RAWDB threads=%lu from=%lu requests=%" PRIu64 " duration_us=%" PRIu64
	       " seconds=%" PRIu64 ".%03" PRIu64 " completed=%" PRIu64 " declined=%" PRIu64
	       " replayed=%" PRIu64 " other=%" PRIu64 " retries=%" PRIu64 " errors=%" PRIu64
	       " tps=%" PRIu64 ".%02" PRIu64 " p50_us=%" PRIu64 " p90_us=%" PRIu64
	       " p99_us=%" PRIu64 " max_us=%" PRIu64 "\n",
	       threads, from, decided, elapsed_us, elapsed_us / 1000000u,
	       elapsed_us / 1000u % 1000u, completed, declined, replayed, other, retries, errors,
	       rate_x100 / 100u, rate_x100 % 100u, raw_percentile(hist, calls, 50, max_us),
	       raw_percentile(hist, calls, 90, max_us), raw_percentile(hist, calls, 99, max_us),
	       max_us);
	free(hist);
	free(ts);
	pthread_barrier_destroy(&raw_start);
	return failed || errors > 0 || other > 0 ? 1 : 0;
}
