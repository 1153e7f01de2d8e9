/*
 * test_idempotency.c - the three idempotency tiers against the real
 * ledgerflowd (2 workers): byte-identical replays from the shm cache (also
 * across SIGHUP), from Redis and from the database; a 50-way race on one
 * key; a key reused with another request; 400s not stored, declines
 * stored; Redis stopped under load, flushed and frozen; and the tier hit
 * counts of a replay-heavy run, printed for the record.
 *
 * The MariaDB and Redis servers are shared with other test programs: the
 * database is our own (lf_idem_<pid>) and every Idempotency-Key carries a
 * per-run prefix. Whoever stops or freezes Redis restores it on every path,
 * also when the program is killed by SIGTERM/SIGINT (the test timeout).
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "harness.h"

#define EXTRA_CONF "[redis]\ntimeout = 200ms\nbreaker_cooldown = 2s\n"
#define REDIS_TIMEOUT_MS 200
#define M_SHM "ledgerflow_idempotency_lookups_total{result=\"hit\",tier=\"shm\"}"
#define M_REDIS "ledgerflow_idempotency_lookups_total{result=\"hit\",tier=\"redis\"}"
#define M_DB "ledgerflow_idempotency_lookups_total{result=\"hit\",tier=\"db\"}"
#define M_MISS "ledgerflow_idempotency_lookups_total{result=\"miss\",tier=\"none\"}"
#define M_IN_FLIGHT "ledgerflow_idempotency_in_flight_total"
#define M_BREAKER "ledgerflow_redis_breaker_opened_total"

static char prefix[48];
static int keyno, acctno;
/* Redis as this program left it: 0 running, 1 stopped, 2 frozen */
static volatile sig_atomic_t redis_state;
static volatile pid_t frozen_pid;

/* ---- helpers ---- */

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void next_key(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "%s-%s-%d", prefix, tag, ++keyno);
}

static void body_of(char *buf, size_t len, const char *from, const char *to, const char *amount)
{
	snprintf(buf, len, "{\"fromAccountId\":\"%s\",\"toAccountId\":\"%s\",\"amount\":\"%s\"}",
		 from, to, amount);
}

/* POST /api/payments on c, or on a fresh connection when c is NULL.
 * Returns the status, or lf_h_request's -1 / -2. */
static int post(struct lf_h_conn *c, const char *key, const char *body, struct lf_h_resp *r)
{
	char h[512];
	snprintf(h, sizeof h, "Idempotency-Key: %s\r\n", key);
	int rc = c ? lf_h_request(c, "POST", "/api/payments", h, body, r)
		   : lf_h_http(fx.d.port, "POST", "/api/payments", h, body, r);
	return rc == 0 ? r->status : rc;
}

static bool is_replay(const struct lf_h_resp *r)
{
	char v[32];
	return lf_h_header(r, "Idempotent-Replayed", v, sizeof v) && strcmp(v, "true") == 0;
}

static bool has_code(const struct lf_h_resp *r, const char *code)
{
	char c[64];
	return lf_h_json_str(r->body, "code", c, sizeof c) && strcmp(c, code) == 0;
}

/* A recorded answer: status, body bytes, Location and Content-Type. */
struct answer {
	int status;
	char *body;
	size_t len;
	char location[128], type[64];
};

static void answer_take(struct answer *a, struct lf_h_resp *r)
{
	a->status = r->status;
	a->body = r->body;
	a->len = r->body_len;
	r->body = NULL;
	if (!lf_h_header(r, "Location", a->location, sizeof a->location))
		a->location[0] = '\0';
	if (!lf_h_header(r, "Content-Type", a->type, sizeof a->type))
		a->type[0] = '\0';
}

static bool answer_same(const struct answer *a, const struct lf_h_resp *r)
{
	char loc[128] = "", type[64] = "";
	lf_h_header(r, "Location", loc, sizeof loc);
	lf_h_header(r, "Content-Type", type, sizeof type);
	return a->status == r->status && a->len == r->body_len && a->body && r->body &&
	       memcmp(a->body, r->body, a->len) == 0 && strcmp(a->location, loc) == 0 &&
	       strcmp(a->type, type) == 0;
}

/* A retry that must be a byte-identical replay of a. */
static bool replays(struct lf_h_conn *c, const char *key, const char *body, const struct answer *a)
{
	struct lf_h_resp r;
	bool ok = post(c, key, body, &r) == a->status && answer_same(a, &r) && is_replay(&r);
	if (!ok)
		fprintf(stderr, "  no replay for %s: %d %s\n", key, r.status, r.body ? r.body : "");
	lf_h_resp_free(&r);
	return ok;
}

static long long metric(const char *series)
{
	long long v = -1;
	return lf_h_metric(fx.d.port, series, &v) ? v : -1;
}

struct tiers {
	long long shm, redis, db, miss;
};

static void tiers_now(struct tiers *t)
{
	t->shm = metric(M_SHM);
	t->redis = metric(M_REDIS);
	t->db = metric(M_DB);
	t->miss = metric(M_MISS);
}

/* The hit counts since t0 are exactly these. */
static bool tiers_moved(const struct tiers *t0, long long shm, long long redis, long long db,
			long long miss)
{
	struct tiers t;
	tiers_now(&t);
	bool ok = t.shm - t0->shm == shm && t.redis - t0->redis == redis && t.db - t0->db == db &&
		  t.miss - t0->miss == miss;
	if (!ok)
		fprintf(stderr,
			"  tiers moved shm %lld redis %lld db %lld miss %lld; wanted %lld %lld "
			"%lld %lld\n",
			t.shm - t0->shm, t.redis - t0->redis, t.db - t0->db, t.miss - t0->miss, shm,
			redis, db, miss);
	return ok;
}

static int64_t balance(const char *id)
{
	char b[64];
	int64_t v = -1;
	if (lf_h_balance(fx.d.port, id, b, sizeof b) != 200 || !lf_h_minor(b, 2, &v))
		return -1;
	return v;
}

/* A funded sender and an empty receiver, both USD. */
static bool accounts(char from[37], char to[37], const char *initial)
{
	char name[64];
	snprintf(name, sizeof name, "idem %d from", ++acctno);
	bool ok = lf_h_account(fx.d.port, name, "USD", initial, from) == 201;
	snprintf(name, sizeof name, "idem %d to", acctno);
	return lf_h_account(fx.d.port, name, "USD", NULL, to) == 201 && ok;
}

static long long sql_count(const char *fmt, ...)
{
	char sql[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	long long v = -1;
	return lf_h_sql_int(&fx.env, fx.db, sql, &v) ? v : -1;
}

/* ---- Redis control ---- */

static bool redis_do(int argc, const char *const *argv, char *type, char *buf, size_t len)
{
	long long n;
	return lf_h_redis(&fx.env, argc, argv, type, &n, buf, len);
}

/* Redis holds a decided outcome (not a claim) for the key. */
static bool redis_has_outcome(const char *key)
{
	char tkey[300], type, buf[16];
	snprintf(tkey, sizeof tkey, "lf:idem:0:%s", key);
	const char *argv[] = {"GET", tkey};
	return redis_do(2, argv, &type, buf, sizeof buf) && type == '$' &&
	       strncmp(buf, "lf-claim:", 9) != 0;
}

static bool wait_redis_outcome(const char *key, int timeout_ms)
{
	int64_t end = lf_h_now_ms() + timeout_ms;
	while (!redis_has_outcome(key)) {
		if (lf_h_now_ms() >= end)
			return false;
		usleep(10000);
	}
	return true;
}

static bool redis_del(const char *key)
{
	char tkey[300], type, buf[16];
	snprintf(tkey, sizeof tkey, "lf:idem:0:%s", key);
	const char *argv[] = {"DEL", tkey};
	return redis_do(2, argv, &type, buf, sizeof buf) && type == ':';
}

static void redis_restore(void)
{
	if (redis_state == 2 && frozen_pid > 0)
		kill(frozen_pid, SIGCONT);
	else if (redis_state == 1 && lf_h_services(&fx.env, "redis-start") != 0)
		fprintf(stderr, "test_idempotency: could not restart Redis\n");
	redis_state = 0;
	frozen_pid = 0;
}

/* The fixture's SIGTERM/SIGINT hook (then it kills the daemon): only
 * async-signal-safe calls here, kill, fork, execl, waitpid, _exit. */
static void redis_restore_on_signal(void)
{
	if (redis_state == 2 && frozen_pid > 0) {
		kill(frozen_pid, SIGCONT);
	} else if (redis_state == 1) {
		pid_t p = fork();
		if (p == 0) {
			execl("/bin/bash", "bash", fx.env.services, "redis-start", fx.env.state_dir,
			      (char *)NULL);
			_exit(127);
		}
		if (p > 0)
			waitpid(p, NULL, 0);
	}
}

/* Each worker logs redis_connected when its connection comes up. */
static bool wait_redis_workers(int base, int timeout_ms)
{
	int64_t end = lf_h_now_ms() + timeout_ms;
	while (lf_h_log_count(&fx.d, "redis_connected") < base + 2) {
		if (lf_h_now_ms() >= end)
			return false;
		usleep(20000);
	}
	return true;
}

/* /readyz says ready n times in a row (the workers share the socket). */
static bool wait_ready(int n, int timeout_ms)
{
	int64_t end = lf_h_now_ms() + timeout_ms;
	int streak = 0;
	while (streak < n && lf_h_now_ms() < end) {
		struct lf_h_resp r;
		char st[32];
		bool ready = lf_h_http(fx.d.port, "GET", "/readyz", NULL, NULL, &r) == 0 &&
			     lf_h_json_str(r.body, "status", st, sizeof st) &&
			     strcmp(st, "ready") == 0;
		lf_h_resp_free(&r);
		streak = ready ? streak + 1 : 0;
		if (!ready)
			usleep(100000);
	}
	return streak >= n;
}

/* A new daemon on the same config: a fresh shm cache, Redis and the
 * database as they were. */
static bool restart(void)
{
	int base = lf_h_log_count(&fx.d, "redis_connected");
	if (lf_h_daemon_stop(&fx.d, SIGTERM, 15000) != 0)
		return false;
	return lf_h_daemon_start(&fx.env, &fx.d) && wait_redis_workers(base, 10000);
}

/* ---- 1. a replay from each tier ---- */

static void test_replay_each_tier(void)
{
	char from[37], to[37], key[96], body[512];
	CU_ASSERT_FATAL(accounts(from, to, "1000.00"));
	next_key(key, sizeof key, "tier");
	body_of(body, sizeof body, from, to, "12.34");
	struct tiers t0;
	struct lf_h_resp r;
	struct answer first;
	tiers_now(&t0);
	CU_ASSERT_EQUAL_FATAL(post(NULL, key, body, &r), 201);
	CU_ASSERT(!is_replay(&r));
	answer_take(&first, &r);
	CU_ASSERT(strncmp(first.location, "/api/payments/", 14) == 0);
	CU_ASSERT(strstr(first.body, "\"COMPLETED\"") != NULL);

	/* tier 1: the shm cache */
	CU_ASSERT(replays(NULL, key, body, &first));
	CU_ASSERT(tiers_moved(&t0, 1, 0, 0, 1));

	/* the shm cache outlives a reload: new workers, same answers */
	pid_t before[8], now[8];
	int nb = lf_h_workers(fx.d.pid, before, 8);
	CU_ASSERT_EQUAL(nb, 2);
	kill(fx.d.pid, SIGHUP);
	bool replaced = false;
	for (int64_t end = lf_h_now_ms() + 8000; !replaced && lf_h_now_ms() < end; usleep(20000)) {
		int n = lf_h_workers(fx.d.pid, now, 8);
		replaced = n == 2;
		for (int i = 0; i < n; i++)
			for (int j = 0; j < nb; j++)
				replaced = replaced && now[i] != before[j];
	}
	CU_ASSERT(replaced);
	tiers_now(&t0);
	CU_ASSERT(replays(NULL, key, body, &first));
	CU_ASSERT(tiers_moved(&t0, 1, 0, 0, 0));

	/* tier 2: a new daemon has an empty shm cache; Redis answers, and
	 * fills the shm cache for the next retry */
	CU_ASSERT(wait_redis_outcome(key, 2000));
	CU_ASSERT_FATAL(restart());
	tiers_now(&t0);
	CU_ASSERT(replays(NULL, key, body, &first));
	CU_ASSERT(tiers_moved(&t0, 0, 1, 0, 0));
	CU_ASSERT(replays(NULL, key, body, &first));
	CU_ASSERT(tiers_moved(&t0, 1, 1, 0, 0));

	/* tier 3: no shm, no Redis entry: the database's stored outcome, which
	 * then fills Redis again */
	CU_ASSERT_FATAL(restart());
	CU_ASSERT(redis_del(key));
	tiers_now(&t0);
	CU_ASSERT(replays(NULL, key, body, &first));
	CU_ASSERT(tiers_moved(&t0, 0, 0, 1, 0));
	CU_ASSERT(wait_redis_outcome(key, 2000));

	/* the money moved once */
	CU_ASSERT_EQUAL(balance(from), 100000 - 1234);
	CU_ASSERT_EQUAL(balance(to), 1234);
	CU_ASSERT_EQUAL(
		sql_count("SELECT COUNT(*) FROM payments WHERE idempotency_key = '%s'", key), 1);
	free(first.body);
}

/* ---- 2. fifty concurrent requests with one key ---- */

#define RACERS 50
#define RACE_ROUNDS 4

struct racer {
	pthread_barrier_t *start;
	const char *key, *body;
	int status;
	struct lf_h_resp r;
};

static void *racer_main(void *arg)
{
	struct racer *x = arg;
	struct lf_h_conn c;
	bool up = lf_h_connect(&c, fx.d.port);
	pthread_barrier_wait(x->start);
	x->status = up ? post(&c, x->key, x->body, &x->r) : -1;
	if (up)
		lf_h_close(&c);
	return NULL;
}

/* One race: RACERS requests with one key at once. With Redis down only
 * the database tells them apart: no 409 then, every loser replays. */
static void race_round(bool redis_down, long *fresh_total, long *replayed_total, long *busy_total)
{
	char from[37], to[37], key[96], body[512];
	CU_ASSERT_FATAL(accounts(from, to, "100.00"));
	next_key(key, sizeof key, "race");
	body_of(body, sizeof body, from, to, "7.77");
	int base = lf_h_log_count(&fx.d, "redis_connected");
	if (redis_down) {
		redis_state = 1;
		CU_ASSERT(lf_h_services(&fx.env, "redis-stop") == 0);
	}
	long long in_flight0 = metric(M_IN_FLIGHT);
	struct tiers t0;
	tiers_now(&t0);
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, RACERS);
	struct racer x[RACERS];
	pthread_t th[RACERS];
	int started = 0;
	for (int i = 0; i < RACERS; i++) {
		x[i] = (struct racer){.start = &start, .key = key, .body = body};
		started += pthread_create(&th[i], NULL, racer_main, &x[i]) == 0;
	}
	CU_ASSERT_EQUAL(started,
			RACERS); /* else the barrier never opens: the test hangs, and times out */
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);

	struct answer fresh = {0};
	int fresh_n = 0, replayed = 0, busy = 0, other = 0;
	for (int i = 0; i < RACERS; i++)
		if (x[i].status == 201 && !is_replay(&x[i].r) && fresh_n++ == 0)
			answer_take(&fresh, &x[i].r);
	for (int i = 0; i < RACERS; i++) {
		char ra[16];
		if (x[i].status == 201 && is_replay(&x[i].r)) {
			replayed++;
			CU_ASSERT(fresh.body && answer_same(&fresh, &x[i].r));
		} else if (x[i].status == 409) {
			busy++;
			CU_ASSERT(has_code(&x[i].r, "idempotency_key_in_flight"));
			CU_ASSERT(lf_h_header(&x[i].r, "Retry-After", ra, sizeof ra) &&
				  atoi(ra) >= 1);
		} else if (x[i].status != 201) {
			other++;
			fprintf(stderr, "  racer got %d %s\n", x[i].status,
				x[i].r.body ? x[i].r.body : "");
		}
		lf_h_resp_free(&x[i].r);
	}
	CU_ASSERT_EQUAL(fresh_n, 1);
	CU_ASSERT_EQUAL(other, 0);
	CU_ASSERT_EQUAL(fresh_n + replayed + busy, RACERS);
	CU_ASSERT_EQUAL(metric(M_IN_FLIGHT) - in_flight0, busy);
	struct tiers t1;
	tiers_now(&t1);
	CU_ASSERT_EQUAL(t1.miss - t0.miss, 1);
	CU_ASSERT_EQUAL((t1.shm - t0.shm) + (t1.redis - t0.redis) + (t1.db - t0.db), replayed);
	if (redis_down) {
		CU_ASSERT_EQUAL(busy, 0);
		printf("\n  with Redis down: ");
	} else {
		printf("\n  ");
	}
	printf("one key x %d: %d fresh 201, %d replayed 201 (shm %lld, redis %lld, db %lld), "
	       "%d 409 in flight, %d other",
	       RACERS, fresh_n, replayed, t1.shm - t0.shm, t1.redis - t0.redis, t1.db - t0.db, busy,
	       other);
	/* after the race the key is decided: a retry replays it */
	if (fresh.body != NULL)
		CU_ASSERT(replays(NULL, key, body, &fresh));
	if (redis_down) {
		redis_restore();
		CU_ASSERT(wait_redis_workers(base, 10000));
	}
	CU_ASSERT_EQUAL(balance(from), 10000 - 777);
	CU_ASSERT_EQUAL(balance(to), 777);
	CU_ASSERT_EQUAL(sql_count("SELECT COUNT(*) FROM ledger_entries WHERE account_id = "
				  "UNHEX(REPLACE('%s','-','')) AND direction = 'DEBIT'",
				  from),
			1);
	CU_ASSERT_EQUAL(
		sql_count("SELECT COUNT(*) FROM payments WHERE idempotency_key = '%s'", key), 1);
	*fresh_total += fresh_n;
	*replayed_total += replayed;
	*busy_total += busy;
	free(fresh.body);
}

static void test_concurrent_one_key(void)
{
	long fresh = 0, replayed = 0, busy = 0;
	for (int round = 0; round < RACE_ROUNDS; round++)
		race_round(round == RACE_ROUNDS - 1, &fresh, &replayed, &busy);
	printf("\n  %d rounds (the last with Redis stopped): %ld fresh 201, %ld replayed 201, "
	       "%ld 409\n",
	       RACE_ROUNDS, fresh, replayed, busy);
}

/* ---- 3. the same key with another request ---- */

static void expect_reused(const char *key, const char *body)
{
	struct lf_h_resp r;
	CU_ASSERT_EQUAL(post(NULL, key, body, &r), 422);
	CU_ASSERT(has_code(&r, "idempotency_key_reused"));
	CU_ASSERT(!is_replay(&r));
	lf_h_resp_free(&r);
}

static void test_key_reused(void)
{
	char from[37], to[37], other[37], key[96], body[512], b[512];
	CU_ASSERT_FATAL(accounts(from, to, "100.00"));
	CU_ASSERT_FATAL(lf_h_account(fx.d.port, "idem other", "USD", NULL, other) == 201);
	next_key(key, sizeof key, "reuse");
	body_of(body, sizeof body, from, to, "5.00");
	struct lf_h_resp r;
	struct answer first;
	CU_ASSERT_EQUAL_FATAL(post(NULL, key, body, &r), 201);
	answer_take(&first, &r);

	/* the same request written differently is the same request */
	snprintf(b, sizeof b,
		 " { \"amount\" : 5 , \"toAccountId\":\"%s\",\n\"fromAccountId\":\"%s\" } ", to,
		 from);
	CU_ASSERT(replays(NULL, key, b, &first));
	body_of(b, sizeof b, from, to, "5.0");
	CU_ASSERT(replays(NULL, key, b, &first));

	/* another amount, receiver or reference is another request (shm tier) */
	body_of(b, sizeof b, from, to, "6.00");
	expect_reused(key, b);
	body_of(b, sizeof b, from, other, "5.00");
	expect_reused(key, b);
	snprintf(b, sizeof b,
		 "{\"fromAccountId\":\"%s\",\"toAccountId\":\"%s\",\"amount\":\"5.00\","
		 "\"reference\":\"x\"}",
		 from, to);
	expect_reused(key, b);
	CU_ASSERT(replays(NULL, key, body, &first));

	/* the Redis tier */
	CU_ASSERT(wait_redis_outcome(key, 2000));
	CU_ASSERT_FATAL(restart());
	body_of(b, sizeof b, from, to, "6.00");
	expect_reused(key, b);
	CU_ASSERT(replays(NULL, key, body, &first));

	/* the database tier, also for a request that would be a 422 itself */
	CU_ASSERT_FATAL(restart());
	CU_ASSERT(redis_del(key));
	body_of(b, sizeof b, from, other, "5.00");
	expect_reused(key, b);
	body_of(b, sizeof b, from, from, "5.00");
	expect_reused(key, b);
	CU_ASSERT(replays(NULL, key, body, &first));

	CU_ASSERT_EQUAL(balance(from), 9500);
	CU_ASSERT_EQUAL(balance(to), 500);
	CU_ASSERT_EQUAL(balance(other), 0);
	CU_ASSERT_EQUAL(
		sql_count("SELECT COUNT(*) FROM payments WHERE idempotency_key = '%s'", key), 1);
	free(first.body);
}

/* ---- 4. a 400 is not stored; a decline is ---- */

/* A 400 with code, then the fixed request with the same key is decided
 * afresh (201), and replayed after that. */
static void fixed_after_400(const char *from, const char *to, const char *bad, const char *code,
			    const char *amount)
{
	char key[96], body[512];
	next_key(key, sizeof key, "fix");
	struct lf_h_resp r;
	CU_ASSERT_EQUAL(post(NULL, key, bad, &r), 400);
	CU_ASSERT(has_code(&r, code));
	lf_h_resp_free(&r);
	body_of(body, sizeof body, from, to, amount);
	CU_ASSERT_EQUAL(post(NULL, key, body, &r), 201);
	CU_ASSERT(!is_replay(&r));
	struct answer a;
	answer_take(&a, &r);
	CU_ASSERT(replays(NULL, key, body, &a));
	/* every 400 check comes before the lookup, also for a decided key */
	CU_ASSERT_EQUAL(post(NULL, key, bad, &r), 400);
	CU_ASSERT(has_code(&r, code));
	lf_h_resp_free(&r);
	free(a.body);
}

static void test_400_not_stored_decline_stored(void)
{
	char from[37], to[37], poor[37], key[96], body[512], bad[512];
	CU_ASSERT_FATAL(accounts(from, to, "50.00"));
	body_of(bad, sizeof bad, from, to, "1.001");
	fixed_after_400(from, to, bad, "invalid_amount", "1.00");
	snprintf(bad, sizeof bad, "{\"fromAccountId\":\"%s\",\"toAccountId\":", from);
	fixed_after_400(from, to, bad, "invalid_json", "2.00");
	snprintf(bad, sizeof bad, "{\"fromAccountId\":\"%s\",\"toAccountId\":\"%s\"}", from, to);
	fixed_after_400(from, to, bad, "invalid_request", "3.00");

	/* insufficient funds: the decline is recorded and replayed, even after
	 * the sender could pay */
	CU_ASSERT_FATAL(lf_h_account(fx.d.port, "idem poor", "USD", "1.00", poor) == 201);
	next_key(key, sizeof key, "decline");
	body_of(body, sizeof body, poor, to, "5.00");
	struct lf_h_resp r;
	CU_ASSERT_EQUAL_FATAL(post(NULL, key, body, &r), 422);
	CU_ASSERT(has_code(&r, "insufficient_funds"));
	CU_ASSERT(!is_replay(&r));
	struct answer decline;
	answer_take(&decline, &r);
	char pid[64] = "", path[128];
	CU_ASSERT(lf_h_json_str(decline.body, "paymentId", pid, sizeof pid));
	CU_ASSERT(replays(NULL, key, body, &decline));
	char fund_key[96];
	next_key(fund_key, sizeof fund_key, "fund");
	char fund[512];
	body_of(fund, sizeof fund, from, poor, "10.00");
	CU_ASSERT_EQUAL(post(NULL, fund_key, fund, &r), 201);
	lf_h_resp_free(&r);
	CU_ASSERT(replays(NULL, key, body, &decline));
	CU_ASSERT_FATAL(restart());
	CU_ASSERT(redis_del(key));
	CU_ASSERT(replays(NULL, key, body, &decline)); /* from the database */
	snprintf(path, sizeof path, "/api/payments/%s", pid);
	CU_ASSERT_EQUAL(lf_h_http(fx.d.port, "GET", path, NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT(r.body && strstr(r.body, "\"DECLINED\"") != NULL);
	lf_h_resp_free(&r);

	CU_ASSERT_EQUAL(balance(from), 5000 - 100 - 200 - 300 - 1000);
	CU_ASSERT_EQUAL(balance(poor), 1100);
	CU_ASSERT_EQUAL(balance(to), 600);
	free(decline.body);
}

/* ---- 5. Redis stopped under load ---- */

#define LOAD_THREADS 8
#define LOAD_MAX 3000

struct rec {
	char key[72];
	int64_t sent_ms, done_ms, amount;
	struct answer a;
};

struct loader {
	int idx;
	volatile int *stop;
	char from[37], to[37];
	struct rec *recs;
	int n;
	long ok, declined, errors5xx, other, lost;
	int64_t sum;
};

static void amount_text(char *buf, size_t len, int64_t minor)
{
	snprintf(buf, len, "%lld.%02lld", (long long)(minor / 100), (long long)(minor % 100));
}

static void load_body(const struct loader *L, const struct rec *x, char *body, size_t len)
{
	char amount[32];
	amount_text(amount, sizeof amount, x->amount);
	body_of(body, len, L->from, L->to, amount);
}

static void *loader_main(void *arg)
{
	struct loader *L = arg;
	struct lf_h_conn c = {.fd = -1};
	int64_t hard_stop = lf_h_now_ms() + 30000;
	while (!*L->stop && L->n < LOAD_MAX && lf_h_now_ms() < hard_stop) {
		struct rec *x = &L->recs[L->n];
		snprintf(x->key, sizeof x->key, "%s-load-%d-%d", prefix, L->idx, L->n);
		/* every tenth asks for more than the sender has: a decline */
		x->amount = L->n % 10 == 9 ? 900000000 : 100 + L->n % 50;
		char body[512];
		load_body(L, x, body, sizeof body);
		struct lf_h_resp r = {0};
		int st = -1;
		x->sent_ms = lf_h_now_ms();
		for (int attempt = 0; attempt < 5 && st < 0; attempt++) {
			if (c.fd < 0 && !lf_h_connect(&c, fx.d.port)) {
				usleep(20000);
				continue;
			}
			st = post(&c, x->key, body, &r);
			if (st == -2)
				L->lost++; /* sent, no answer: retried with the same key */
			if (st < 0 || r.conn_close)
				lf_h_close(&c);
			if (st < 0)
				lf_h_resp_free(&r);
		}
		x->done_ms = lf_h_now_ms();
		if (st == 201) {
			L->ok++;
			L->sum += x->amount;
		} else if (st == 422 && has_code(&r, "insufficient_funds")) {
			L->declined++;
		} else if (st >= 500) {
			L->errors5xx++;
		} else {
			L->other++;
			fprintf(stderr, "  load got %d %s\n", st, r.body ? r.body : "");
		}
		if (st > 0)
			answer_take(&x->a, &r);
		lf_h_resp_free(&r);
		L->n++;
	}
	lf_h_close(&c);
	return NULL;
}

static void sleep_until(int64_t t_ms)
{
	int64_t now = lf_h_now_ms();
	if (t_ms > now)
		usleep((useconds_t)(t_ms - now) * 1000);
}

static void test_redis_stopped_under_load(void)
{
	static struct loader L[LOAD_THREADS];
	pthread_t th[LOAD_THREADS];
	volatile int stop = 0;
	memset(L, 0, sizeof L);
	for (int i = 0; i < LOAD_THREADS; i++) {
		L[i].idx = i;
		L[i].stop = &stop;
		L[i].recs = calloc(LOAD_MAX, sizeof *L[i].recs);
		CU_ASSERT_FATAL(L[i].recs != NULL);
		CU_ASSERT_FATAL(accounts(L[i].from, L[i].to, "1000000.00"));
	}
	long long breaker0 = metric(M_BREAKER);
	int64_t t0 = lf_h_now_ms();
	for (int i = 0; i < LOAD_THREADS; i++)
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, loader_main, &L[i]) == 0);

	sleep_until(t0 + 2000);
	redis_state = 1;
	int stop_rc = lf_h_services(&fx.env, "redis-stop");
	int64_t down_at = lf_h_now_ms();
	bool degraded = false;
	while (!degraded && lf_h_now_ms() < down_at + 1800) {
		struct lf_h_resp r;
		char st[32], rs[32];
		degraded = lf_h_http(fx.d.port, "GET", "/readyz", NULL, NULL, &r) == 0 &&
			   r.status == 200 && lf_h_json_str(r.body, "status", st, sizeof st) &&
			   strcmp(st, "degraded") == 0 &&
			   lf_h_json_str(r.body, "redis", rs, sizeof rs) && strcmp(rs, "down") == 0;
		lf_h_resp_free(&r);
		if (!degraded)
			usleep(50000);
	}
	sleep_until(down_at + 2000);
	int64_t up_at = lf_h_now_ms();
	int base = lf_h_log_count(&fx.d, "redis_connected");
	redis_restore();
	sleep_until(t0 + 6000);
	stop = 1;
	long n = 0, ok = 0, declined = 0, e5xx = 0, other = 0, lost = 0;
	for (int i = 0; i < LOAD_THREADS; i++) {
		pthread_join(th[i], NULL);
		n += L[i].n;
		ok += L[i].ok;
		declined += L[i].declined;
		e5xx += L[i].errors5xx;
		other += L[i].other;
		lost += L[i].lost;
		CU_ASSERT_EQUAL(balance(L[i].from), 100000000 - L[i].sum);
		CU_ASSERT_EQUAL(balance(L[i].to), L[i].sum);
	}
	long long completed = sql_count("SELECT COUNT(*) FROM payments WHERE idempotency_key LIKE "
					"'%s-load-%%' AND status = 'COMPLETED'",
					prefix);
	long long declined_db =
		sql_count("SELECT COUNT(*) FROM payments WHERE idempotency_key LIKE "
			  "'%s-load-%%' AND status = 'DECLINED'",
			  prefix);
	int reconcile = lf_h_ctl(&fx.env, &fx.d, "reconcile");

	long long breaker = metric(M_BREAKER) - breaker0;

	/* the keys decided while Redis was down replay, once it is back: from
	 * the shm cache, or the database for those the 4 MB cache evicted */
	CU_ASSERT(wait_redis_workers(base, 10000));
	struct tiers ta, tb;
	tiers_now(&ta);
	long outage = 0, outage_ok = 0;
	for (int i = 0; i < LOAD_THREADS; i++) {
		for (int j = 0; j < L[i].n; j++) {
			struct rec *x = &L[i].recs[j];
			if (x->sent_ms < down_at || x->done_ms > up_at || x->a.body == NULL)
				continue;
			char body[512];
			load_body(&L[i], x, body, sizeof body);
			outage++;
			outage_ok += replays(NULL, x->key, body, &x->a);
		}
	}
	tiers_now(&tb);
	CU_ASSERT_EQUAL(tb.redis - ta.redis, 0);
	CU_ASSERT_EQUAL((tb.shm - ta.shm) + (tb.db - ta.db), outage);
	/* and after a restart (a sample): from the database, or from Redis
	 * for those a database replay above wrote back */
	CU_ASSERT_FATAL(restart());
	struct tiers tr;
	tiers_now(&tr);
	long sample = 0, sample_ok = 0;
	for (int i = 0; i < LOAD_THREADS; i++) {
		for (int j = 0; j < L[i].n && sample < 40; j += 7) {
			struct rec *x = &L[i].recs[j];
			if (x->sent_ms < down_at || x->done_ms > up_at || x->a.body == NULL)
				continue;
			char body[512];
			load_body(&L[i], x, body, sizeof body);
			sample++;
			sample_ok += replays(NULL, x->key, body, &x->a);
		}
	}
	struct tiers tc;
	tiers_now(&tc);
	CU_ASSERT_EQUAL(tc.shm - tr.shm, 0);
	CU_ASSERT_EQUAL((tc.redis - tr.redis) + (tc.db - tr.db), sample);
	printf("\n  Redis stopped for %lld ms under load (%d threads): %ld payments attempted, "
	       "%ld completed, %ld declined, %ld 5xx, %ld other, %ld unanswered; in the database "
	       "%lld completed, %lld declined: %lld duplicates; reconcile exit %d; /readyz "
	       "degraded: %s; breaker opened %lld times\n"
	       "  %ld/%ld keys decided during the outage replayed once Redis was back (shm %lld, "
	       "db %lld); after a restart %ld/%ld of a sample (redis %lld, db %lld)\n",
	       (long long)(up_at - down_at), LOAD_THREADS, n, ok, declined, e5xx, other, lost,
	       completed, declined_db, completed - ok, reconcile, degraded ? "yes" : "no", breaker,
	       outage_ok, outage, tb.shm - ta.shm, tb.db - ta.db, sample_ok, sample,
	       tc.redis - tr.redis, tc.db - tr.db);
	CU_ASSERT(breaker >= 1);
	CU_ASSERT_EQUAL(stop_rc, 0);
	CU_ASSERT(degraded);
	CU_ASSERT(n > 100);
	CU_ASSERT_EQUAL(e5xx, 0);
	CU_ASSERT_EQUAL(other, 0);
	CU_ASSERT_EQUAL(lost, 0);
	CU_ASSERT_EQUAL(completed, ok);
	CU_ASSERT_EQUAL(declined_db, declined);
	CU_ASSERT_EQUAL(ok + declined, n);
	CU_ASSERT_EQUAL(reconcile, 0);
	CU_ASSERT(outage > 0);
	CU_ASSERT_EQUAL(outage_ok, outage);
	CU_ASSERT(sample > 0);
	CU_ASSERT_EQUAL(sample_ok, sample);
	for (int i = 0; i < LOAD_THREADS; i++) {
		for (int j = 0; j < L[i].n; j++)
			free(L[i].recs[j].a.body);
		free(L[i].recs);
	}
}

/* ---- 6. Redis flushed ---- */

static void test_redis_flushed(void)
{
	enum { N = 5 };
	char from[37], to[37], key[N][96], body[N][512];
	struct answer a[N];
	CU_ASSERT_FATAL(accounts(from, to, "100.00"));
	for (int i = 0; i < N; i++) {
		struct lf_h_resp r;
		char amount[16];
		snprintf(amount, sizeof amount, "%d.00", i + 1);
		next_key(key[i], sizeof key[i], "flush");
		body_of(body[i], sizeof body[i], from, to, amount);
		CU_ASSERT_EQUAL_FATAL(post(NULL, key[i], body[i], &r), 201);
		answer_take(&a[i], &r);
		CU_ASSERT(wait_redis_outcome(key[i], 2000));
	}
	/* FLUSHALL is what this test is about; it also empties the other test
	 * programs' keys, which per the contract costs them only speed */
	char type, buf[16];
	const char *argv[] = {"FLUSHALL"};
	CU_ASSERT(redis_do(1, argv, &type, buf, sizeof buf) && type == '+');
	struct tiers t0;
	tiers_now(&t0);
	for (int i = 0; i < N; i++)
		CU_ASSERT(replays(NULL, key[i], body[i], &a[i]));
	CU_ASSERT(tiers_moved(&t0, N, 0, 0, 0));
	CU_ASSERT_FATAL(restart());
	tiers_now(&t0);
	for (int i = 0; i < N; i++)
		CU_ASSERT(replays(NULL, key[i], body[i], &a[i]));
	CU_ASSERT(tiers_moved(&t0, 0, 0, N, 0));
	for (int i = 0; i < N; i++) {
		CU_ASSERT(wait_redis_outcome(key[i], 2000));
		CU_ASSERT(replays(NULL, key[i], body[i], &a[i]));
		free(a[i].body);
	}
	CU_ASSERT(tiers_moved(&t0, N, 0, N, 0));
	CU_ASSERT_EQUAL(balance(from), 10000 - 1500);
	CU_ASSERT_EQUAL(balance(to), 1500);
}

/* ---- 7. Redis frozen ---- */

static void test_redis_frozen(void)
{
	char from[37], to[37], key[96], keys[4][96], body[512];
	CU_ASSERT_FATAL(accounts(from, to, "100.00"));
	CU_ASSERT(wait_ready(6, 10000));
	body_of(body, sizeof body, from, to, "1.00");
	next_key(key, sizeof key, "frozen");
	struct lf_h_resp r;
	struct answer before, during = {0};
	CU_ASSERT_EQUAL_FATAL(post(NULL, key, body, &r), 201);
	answer_take(&before, &r);
	pid_t pid = lf_h_redis_pid(&fx.env);
	CU_ASSERT_FATAL(pid > 0);
	long long breaker0 = metric(M_BREAKER);

	frozen_pid = pid;
	redis_state = 2;
	kill(pid, SIGSTOP);
	int64_t worst = 0;
	int ok = 0;
	for (int i = 0; i < 4; i++) {
		next_key(keys[i], sizeof keys[i], "frozen");
		int64_t t = lf_h_now_ms();
		int st = post(NULL, keys[i], body, &r);
		int64_t took = lf_h_now_ms() - t;
		worst = took > worst ? took : worst;
		ok += st == 201 && took <= REDIS_TIMEOUT_MS + 1000;
		if (i == 0 && st == 201)
			answer_take(&during, &r);
		lf_h_resp_free(&r);
	}
	int64_t t = lf_h_now_ms();
	int ready_rc = lf_h_http(fx.d.port, "GET", "/readyz", NULL, NULL, &r);
	int64_t ready_ms = lf_h_now_ms() - t;
	char st[32] = "";
	lf_h_json_str(r.body, "status", st, sizeof st);
	int ready_status = r.status;
	lf_h_resp_free(&r);
	bool replay_before = replays(NULL, key, body, &before);
	bool replay_during = during.body && replays(NULL, keys[0], body, &during);
	redis_restore();

	printf("\n  Redis frozen: 4 payments, slowest %lld ms (limit %d ms); /readyz %d %s in %lld "
	       "ms; breaker opened %lld times\n",
	       (long long)worst, REDIS_TIMEOUT_MS + 1000, ready_status, st, (long long)ready_ms,
	       metric(M_BREAKER) - breaker0);
	CU_ASSERT_EQUAL(ok, 4);
	CU_ASSERT(ready_rc == 0 && ready_status == 200 && ready_ms <= REDIS_TIMEOUT_MS + 1000);
	CU_ASSERT(replay_before);
	CU_ASSERT(replay_during);
	CU_ASSERT(metric(M_BREAKER) - breaker0 >= 1);

	/* thawed: Redis is used again and the answers still replay */
	CU_ASSERT(wait_ready(6, 10000));
	CU_ASSERT(during.body && replays(NULL, keys[0], body, &during));
	next_key(key, sizeof key, "thawed");
	CU_ASSERT_EQUAL(post(NULL, key, body, &r), 201);
	lf_h_resp_free(&r);
	CU_ASSERT(wait_redis_outcome(key, 2000));
	CU_ASSERT_EQUAL(balance(from), 10000 - 600);
	free(before.body);
	free(during.body);
}

/* ---- a replay-heavy run, for the tier hit rates ---- */

#define HEAVY_N 200
#define HEAVY_RETRIES 3
#define HEAVY_THREADS 8

struct heavy {
	int idx, phase;
	char from[37], to[37];
	char key[HEAVY_N / HEAVY_THREADS][96];
	struct answer a[HEAVY_N / HEAVY_THREADS];
	long fresh, replays, bad;
	int64_t fresh_us, replay_us;
};

static void *heavy_main(void *arg)
{
	struct heavy *H = arg;
	struct lf_h_conn c = {.fd = -1};
	for (int i = 0; i < HEAVY_N / HEAVY_THREADS; i++) {
		char body[512];
		body_of(body, sizeof body, H->from, H->to, "0.01");
		int tries = H->phase == 0 ? 1 + HEAVY_RETRIES : 1;
		for (int t = 0; t < tries; t++) {
			if (c.fd < 0 && !lf_h_connect(&c, fx.d.port)) {
				H->bad++;
				continue;
			}
			struct lf_h_resp r;
			int64_t t0 = now_us();
			int st = post(&c, H->key[i], body, &r);
			int64_t took = now_us() - t0;
			if (st < 0 || r.conn_close)
				lf_h_close(&c);
			if (H->phase == 0 && t == 0) {
				H->fresh++;
				H->fresh_us += took;
				if (st == 201 && !is_replay(&r))
					answer_take(&H->a[i], &r);
				else
					H->bad++;
			} else {
				H->replays++;
				H->replay_us += took;
				if (!(H->a[i].body && answer_same(&H->a[i], &r) && is_replay(&r)))
					H->bad++;
			}
			lf_h_resp_free(&r);
		}
	}
	lf_h_close(&c);
	return NULL;
}

static void heavy_phase(struct heavy *H, int phase, long *fresh, long *replays, long *bad,
			int64_t *fresh_us, int64_t *replay_us)
{
	pthread_t th[HEAVY_THREADS];
	for (int i = 0; i < HEAVY_THREADS; i++) {
		H[i].phase = phase;
		H[i].fresh = H[i].replays = H[i].bad = 0;
		H[i].fresh_us = H[i].replay_us = 0;
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, heavy_main, &H[i]) == 0);
	}
	*fresh = *replays = *bad = 0;
	*fresh_us = *replay_us = 0;
	for (int i = 0; i < HEAVY_THREADS; i++) {
		pthread_join(th[i], NULL);
		*fresh += H[i].fresh;
		*replays += H[i].replays;
		*bad += H[i].bad;
		*fresh_us += H[i].fresh_us;
		*replay_us += H[i].replay_us;
	}
}

static void print_tiers(const char *what, const struct tiers *t0, long replays)
{
	struct tiers t;
	tiers_now(&t);
	long long s = t.shm - t0->shm, r = t.redis - t0->redis, b = t.db - t0->db;
	long den = replays > 0 ? replays : 1;
	printf("  %s: %ld replays: shm %lld (%lld%%), redis %lld (%lld%%), db %lld (%lld%%); "
	       "fresh decisions %lld\n",
	       what, replays, s, s * 100 / den, r, r * 100 / den, b, b * 100 / den,
	       t.miss - t0->miss);
}

static void test_replay_heavy(void)
{
	static struct heavy H[HEAVY_THREADS];
	memset(H, 0, sizeof H);
	for (int i = 0; i < HEAVY_THREADS; i++) {
		H[i].idx = i;
		CU_ASSERT_FATAL(accounts(H[i].from, H[i].to, "100.00"));
		for (int j = 0; j < HEAVY_N / HEAVY_THREADS; j++)
			next_key(H[i].key[j], sizeof H[i].key[j], "heavy");
	}
	long fresh, replays, bad;
	int64_t fresh_us, replay_us;
	struct tiers t0;
	tiers_now(&t0);
	heavy_phase(H, 0, &fresh, &replays, &bad, &fresh_us, &replay_us);
	printf("\n  replay-heavy: %ld payments each retried %d times (%d threads): mean %lld us "
	       "fresh, %lld us replay, %ld wrong answers\n",
	       fresh, HEAVY_RETRIES, HEAVY_THREADS, (long long)(fresh_us / (fresh ? fresh : 1)),
	       (long long)(replay_us / (replays ? replays : 1)), bad);
	print_tiers("same daemon", &t0, replays);
	CU_ASSERT_EQUAL(fresh, HEAVY_N);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(tiers_moved(&t0, HEAVY_N * HEAVY_RETRIES, 0, 0, HEAVY_N));

	for (int i = 0; i < HEAVY_THREADS; i++)
		for (int j = 0; j < HEAVY_N / HEAVY_THREADS; j++)
			CU_ASSERT(wait_redis_outcome(H[i].key[j], 2000));
	CU_ASSERT_FATAL(restart());
	tiers_now(&t0);
	heavy_phase(H, 1, &fresh, &replays, &bad, &fresh_us, &replay_us);
	print_tiers("after a daemon restart, each once more", &t0, replays);
	printf("  mean %lld us per replay, %ld wrong answers\n",
	       (long long)(replay_us / (replays ? replays : 1)), bad);
	CU_ASSERT_EQUAL(replays, HEAVY_N);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(tiers_moved(&t0, 0, HEAVY_N, 0, 0));
	for (int i = 0; i < HEAVY_THREADS; i++) {
		CU_ASSERT_EQUAL(balance(H[i].from), 10000 - HEAVY_N / HEAVY_THREADS);
		for (int j = 0; j < HEAVY_N / HEAVY_THREADS; j++)
			free(H[i].a[j].body);
	}
}

/* ---- suite ---- */

/* After the fixture started the daemon: the run's key prefix, and both
 * workers connected to Redis (the tier counts depend on it). */
static int idempotency_setup(void)
{
	snprintf(prefix, sizeof prefix, "idt%ldx%lld", (long)getpid(),
		 (long long)(time(NULL) % 1000000));
	if (!wait_redis_workers(0, 10000)) {
		fprintf(stderr, "test_idempotency: the workers did not connect to Redis\n");
		return 1;
	}
	return 0;
}

/* Starts of the shared MariaDB so far: another test program that stops
 * it while ours run makes our failures meaningless, so say so. */
static int mysql_starts(void)
{
	char path[1100], line[1024];
	snprintf(path, sizeof path, "%s/mysql.err", fx.env.state_dir);
	FILE *f = fopen(path, "r");
	int n = 0;
	while (f != NULL && fgets(line, sizeof line, f))
		n += strstr(line, "ready for connections") != NULL;
	if (f != NULL)
		fclose(f);
	return n;
}

static int mysql_starts_before;

/* Redis is restored around every test, even one a fatal assertion ended. */
static void before_each(void)
{
	redis_restore();
	mysql_starts_before = mysql_starts();
}

static void after_each(void)
{
	redis_restore();
	if (mysql_starts() != mysql_starts_before)
		printf("\n  NOTE: the shared MariaDB was restarted by another program during this "
		       "test\n");
}

int main(void)
{
	static const struct lf_test tests[] = {
		{"replay from shm (also after SIGHUP), Redis and the database",
		 test_replay_each_tier},
		{"50 concurrent requests with one key: money moves once", test_concurrent_one_key},
		{"same key, another request: 422 idempotency_key_reused, not stored",
		 test_key_reused},
		{"a 400 is not stored, a decline is", test_400_not_stored_decline_stored},
		{"Redis stopped under load: no 5xx, no duplicates, books hold",
		 test_redis_stopped_under_load},
		{"Redis flushed: replays from shm and the database", test_redis_flushed},
		{"Redis frozen: payments finish within the timeout", test_redis_frozen},
		{"replay-heavy run: tier hit counts", test_replay_heavy},
	};
	static const struct lf_suite suites[] = {
		{"idempotency", LF_TESTS(tests), .before_each = before_each,
		 .after_each = after_each},
	};
	static const struct lf_h_fixture_opts opts = {
		.name = "idempotency",
		.extra_conf = EXTRA_CONF,
		.seed = true,
		.need_state_dir = true,
		.setup = idempotency_setup,
		.teardown = redis_restore,
		.on_signal = redis_restore_on_signal,
	};
	return lf_h_fixture_main(suites, LF_COUNT(suites), &opts);
}
