/*
 * test_idempotency_redis.c - part of the test_idempotency program (main
 * in test_idempotency.c): Redis stopped under load, flushed and frozen,
 * and the tier hit counts of a replay-heavy run, printed for the record.
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

/* Stop Redis 2 s into the load for 2 s: whether /readyz said degraded
 * (redis down) meanwhile; the times it went down and came back. */
struct redis_outage {
	int stop_rc, base;
	bool degraded;
	int64_t down_at, up_at;
};

static void stop_redis_for_2s(int64_t t0, struct redis_outage *o)
{
	sleep_until(t0 + 2000);
	redis_state = 1;
	o->stop_rc = lf_h_services(&fx.env, "redis-stop");
	o->down_at = lf_h_now_ms();
	o->degraded = false;
	while (!o->degraded && lf_h_now_ms() < o->down_at + 1800) {
		struct lf_h_resp r;
		char st[32], rs[32];
		o->degraded = lf_h_http(fx.d.port, "GET", "/readyz", NULL, NULL, &r) == 0 &&
			      r.status == 200 && lf_h_json_str(r.body, "status", st, sizeof st) &&
			      strcmp(st, "degraded") == 0 &&
			      lf_h_json_str(r.body, "redis", rs, sizeof rs) &&
			      strcmp(rs, "down") == 0;
		lf_h_resp_free(&r);
		if (!o->degraded)
			usleep(50000);
	}
	sleep_until(o->down_at + 2000);
	o->up_at = lf_h_now_ms();
	o->base = lf_h_log_count(&fx.d, "redis_connected");
	redis_restore();
}

/* Retry the keys decided while Redis was down (every step-th of each
 * loader, at most max of them): how many were retried, and how many of
 * those replayed byte for byte. */
static void replay_outage_keys(struct loader *L, const struct redis_outage *o, int step, long max,
			       long *tried, long *replayed)
{
	*tried = *replayed = 0;
	for (int i = 0; i < LOAD_THREADS; i++) {
		for (int j = 0; j < L[i].n && *tried < max; j += step) {
			struct rec *x = &L[i].recs[j];
			if (x->sent_ms < o->down_at || x->done_ms > o->up_at || x->a.body == NULL)
				continue;
			char body[512];
			load_body(&L[i], x, body, sizeof body);
			(*tried)++;
			*replayed += replays(NULL, x->key, body, &x->a);
		}
	}
}

void test_redis_stopped_under_load(void)
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
	struct redis_outage o;
	stop_redis_for_2s(t0, &o);
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
	CU_ASSERT(wait_redis_workers(o.base, 10000));
	struct tiers ta, tb;
	tiers_now(&ta);
	long outage, outage_ok;
	replay_outage_keys(L, &o, 1, LONG_MAX, &outage, &outage_ok);
	tiers_now(&tb);
	CU_ASSERT_EQUAL(tb.redis - ta.redis, 0);
	CU_ASSERT_EQUAL((tb.shm - ta.shm) + (tb.db - ta.db), outage);
	/* and after a restart (a sample): from the database, or from Redis
	 * for those a database replay above wrote back */
	CU_ASSERT_FATAL(restart());
	struct tiers tr, tc;
	tiers_now(&tr);
	long sample, sample_ok;
	replay_outage_keys(L, &o, 7, 40, &sample, &sample_ok);
	tiers_now(&tc);
	CU_ASSERT_EQUAL(tc.shm - tr.shm, 0);
	CU_ASSERT_EQUAL((tc.redis - tr.redis) + (tc.db - tr.db), sample);
	printf("\n  Redis stopped for %lld ms under load (%d threads): %ld payments attempted, "
	       "%ld completed, %ld declined, %ld 5xx, %ld other, %ld unanswered; in the database "
	       "%lld completed, %lld declined: %lld duplicates; reconcile exit %d; /readyz "
	       "degraded: %s; breaker opened %lld times\n"
	       "  %ld/%ld keys decided during the outage replayed once Redis was back (shm %lld, "
	       "db %lld); after a restart %ld/%ld of a sample (redis %lld, db %lld)\n",
	       (long long)(o.up_at - o.down_at), LOAD_THREADS, n, ok, declined, e5xx, other, lost,
	       completed, declined_db, completed - ok, reconcile, o.degraded ? "yes" : "no",
	       breaker, outage_ok, outage, tb.shm - ta.shm, tb.db - ta.db, sample_ok, sample,
	       tc.redis - tr.redis, tc.db - tr.db);
	CU_ASSERT(breaker >= 1);
	CU_ASSERT_EQUAL(o.stop_rc, 0);
	CU_ASSERT(o.degraded);
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

void test_redis_flushed(void)
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

void test_redis_frozen(void)
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

void test_replay_heavy(void)
{
	static struct heavy H[HEAVY_THREADS];
	memset(H, 0, sizeof H);
	/* an earlier test may have left a worker's Redis breaker open (for
	 * breaker_cooldown): outcomes decided meanwhile are not written to
	 * Redis, and this test counts on them there */
	int64_t until = lf_h_now_ms() + 10000;
	long long open = 1;
	while (lf_h_now_ms() < until &&
	       (!lf_h_metric(fx.d.port, "ledgerflow_redis_breaker_open", &open) || open != 0))
		usleep(50 * 1000);
	CU_ASSERT_EQUAL_FATAL(open, 0);
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
