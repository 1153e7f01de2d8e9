/*
 * test_idempotency_replay.c - part of the test_idempotency program (main
 * in test_idempotency.c): byte-identical replays from each tier (also
 * across SIGHUP), 50 concurrent requests with one key, a key reused with
 * another request, 400s not stored while declines are, and the replay of
 * a byte-identical retry before its body is parsed (payments, then
 * refunds, captures and batches).
 */
#include "config.h"

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "test_idempotency.h"

/* ---- 1. a replay from each tier ---- */

void test_replay_each_tier(void)
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

void test_concurrent_one_key(void)
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

void test_key_reused(void)
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

void test_400_not_stored_decline_stored(void)
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

/* ---- 5. a byte-identical retry, before its body is parsed ---- */

/* One POST that must replay first's answer from the shm cache; unparsed:
 * whether it did so without parsing its body. */
static void replays_shm(const char *key, const char *body, const struct answer *first,
			bool unparsed)
{
	struct tiers t0;
	tiers_now(&t0);
	long long u0 = metric(M_UNPARSED);
	CU_ASSERT(replays(NULL, key, body, first));
	CU_ASSERT(tiers_moved(&t0, 1, 0, 0, 0));
	CU_ASSERT_EQUAL(metric(M_UNPARSED) - u0, unparsed ? 1 : 0);
}

void test_replay_unparsed(void)
{
	char from[37], to[37], key[96], body[512], b[512];
	CU_ASSERT_FATAL(accounts(from, to, "100.00"));
	next_key(key, sizeof key, "unparsed");
	body_of(body, sizeof body, from, to, "3.00");
	struct lf_h_resp r;
	struct answer first;
	/* a new key: the one look into the shm cache is the unparsed path's
	 * (lf_idempotency_begin does not look again) */
	long long miss0 = metric("ledgerflow_cache_misses_total");
	CU_ASSERT_EQUAL_FATAL(post(NULL, key, body, &r), 201);
	CU_ASSERT_EQUAL(metric("ledgerflow_cache_misses_total") - miss0, 1);
	answer_take(&first, &r);

	/* the same bytes: replayed unparsed, as often as asked */
	replays_shm(key, body, &first, true);
	replays_shm(key, body, &first, true);
	/* the same request in other bytes: parsed, and the same replay */
	snprintf(b, sizeof b, "{\"amount\":\"3\",\"toAccountId\":\"%s\",\"fromAccountId\":\"%s\"}",
		 to, from);
	replays_shm(key, b, &first, false);
	/* another request under the key: parsed, and refused */
	long long u0 = metric(M_UNPARSED);
	body_of(b, sizeof b, from, to, "3.01");
	CU_ASSERT_EQUAL(post(NULL, key, b, &r), 422);
	CU_ASSERT(has_code(&r, "idempotency_key_reused"));
	lf_h_resp_free(&r);
	/* a body that is not JSON at all: parsed, and a 400 */
	CU_ASSERT_EQUAL(post(NULL, key, "{\"amount\":", &r), 400);
	CU_ASSERT(has_code(&r, "invalid_json"));
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(metric(M_UNPARSED), u0);
	/* the bytes that decided it still replay unparsed */
	replays_shm(key, body, &first, true);

	/* the digest travels with the outcome through Redis: its replay
	 * fills the shm cache, and the next retry needs no parse */
	CU_ASSERT(wait_redis_outcome(key, 2000));
	CU_ASSERT_FATAL(restart());
	struct tiers t0;
	tiers_now(&t0);
	CU_ASSERT(replays(NULL, key, body, &first));
	CU_ASSERT(tiers_moved(&t0, 0, 1, 0, 0));
	replays_shm(key, body, &first, true);

	/* the database keeps no digest: its replay stores the outcome with
	 * the digest of the request that it answered */
	CU_ASSERT_FATAL(restart());
	CU_ASSERT(redis_del(key));
	tiers_now(&t0);
	size_t blen = strlen(body);
	CU_ASSERT_FATAL(blen + 2 <= sizeof b);
	b[0] = ' '; /* other bytes, the same request */
	memcpy(b + 1, body, blen + 1);
	CU_ASSERT(replays(NULL, key, b, &first));
	CU_ASSERT(tiers_moved(&t0, 0, 0, 1, 0));
	replays_shm(key, b, &first, true);
	replays_shm(key, body, &first, false);

	/* the money moved once */
	CU_ASSERT_EQUAL(balance(from), 10000 - 300);
	CU_ASSERT_EQUAL(balance(to), 300);
	free(first.body);
}

/* ---- 6. the same for the other POSTs that decide once ---- */

static int post_at(const char *path, const char *key, const char *body, struct lf_h_resp *r)
{
	char h[512];
	snprintf(h, sizeof h, "Idempotency-Key: %s\r\n", key);
	int rc = lf_h_http(fx.d.port, "POST", path, h, body, r);
	return rc == 0 ? r->status : rc;
}

/* POST path once (want: its status), then the same bytes twice: each a
 * replay from the shm cache, unparsed. Another spelling of the same
 * request is parsed and replays too. */
static void action_replays_unparsed(const char *path, const char *key, const char *body,
				    const char *respelled, int want)
{
	struct lf_h_resp r;
	CU_ASSERT_EQUAL_FATAL(post_at(path, key, body, &r), want);
	struct answer first;
	answer_take(&first, &r);
	for (int i = 0; i < 3; i++) {
		const char *b = i < 2 ? body : respelled;
		struct tiers t0;
		tiers_now(&t0);
		long long u0 = metric(M_UNPARSED);
		CU_ASSERT_EQUAL(post_at(path, key, b, &r), want);
		CU_ASSERT(answer_same(&first, &r));
		CU_ASSERT(is_replay(&r));
		lf_h_resp_free(&r);
		CU_ASSERT(tiers_moved(&t0, 1, 0, 0, 0));
		CU_ASSERT_EQUAL(metric(M_UNPARSED) - u0, i < 2 ? 1 : 0);
	}
	free(first.body);
}

void test_actions_replay_unparsed(void)
{
	char from[37], to[37], key[96], body[512], path[128], paid[37], held[37];
	CU_ASSERT_FATAL(accounts(from, to, "100.00"));
	struct lf_h_resp r;
	/* a payment to refund, a hold to capture */
	next_key(key, sizeof key, "act-paid");
	body_of(body, sizeof body, from, to, "10.00");
	CU_ASSERT_EQUAL_FATAL(post(NULL, key, body, &r), 201);
	CU_ASSERT_FATAL(lf_h_json_str(r.body, "id", paid, sizeof paid));
	lf_h_resp_free(&r);
	next_key(key, sizeof key, "act-held");
	snprintf(body, sizeof body,
		 "{\"fromAccountId\":\"%s\",\"toAccountId\":\"%s\",\"amount\":\"5.00\","
		 "\"currency\":\"USD\",\"capture\":false}",
		 from, to);
	CU_ASSERT_EQUAL_FATAL(post(NULL, key, body, &r), 201);
	CU_ASSERT_FATAL(lf_h_json_str(r.body, "id", held, sizeof held));
	lf_h_resp_free(&r);

	snprintf(path, sizeof path, "/api/payments/%s/refunds", paid);
	next_key(key, sizeof key, "act-refund");
	action_replays_unparsed(path, key, "{\"amount\":\"1.00\"}", "{\"amount\": \"1.0\"}", 201);
	snprintf(path, sizeof path, "/api/payments/%s/capture", held);
	next_key(key, sizeof key, "act-capture");
	action_replays_unparsed(path, key, "{\"amount\":\"2.00\"}", "{ \"amount\":\"2\"}", 200);
	next_key(key, sizeof key, "act-batch");
	snprintf(body, sizeof body,
		 "{\"atomic\":true,\"payments\":[{\"fromAccountId\":\"%s\",\"toAccountId\":"
		 "\"%s\",\"amount\":\"3.00\",\"currency\":\"USD\"}]}",
		 from, to);
	char respelled[sizeof body + 1];
	snprintf(respelled, sizeof respelled, " %s", body);
	action_replays_unparsed("/api/payments/batch", key, body, respelled, 201);

	/* the money moved once each: 10 paid, 1 refunded, 2 of 5 captured
	 * (the rest released), 3 in the batch */
	CU_ASSERT_EQUAL(balance(from), 10000 - 1000 + 100 - 200 - 300);
	CU_ASSERT_EQUAL(balance(to), 1000 - 100 + 200 + 300);
}
