/*
 * test_idempotency.c - the test_idempotency program: the three idempotency
 * tiers against the real ledgerflowd (2 workers). This file owns main()
 * (the table of tests), the fixture's hooks and the helpers the other two
 * files share (test_idempotency.h); the replay tests are in
 * test_idempotency_replay.c, Redis stopped, flushed and frozen and the
 * replay-heavy run in test_idempotency_redis.c.
 *
 * The MariaDB and Redis servers are shared with other test programs: the
 * database is our own (lf_idempotency_<pid>) and every Idempotency-Key carries a
 * per-run prefix. Whoever stops or freezes Redis restores it on every path,
 * also when the program is killed by SIGTERM/SIGINT (the test timeout).
 */
#include "config.h"

#include <limits.h>
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

#include "test_idempotency.h"

char prefix[48];
static int keyno, acctno;
/* Redis as this program left it: 0 running, 1 stopped, 2 frozen */
volatile sig_atomic_t redis_state;
volatile pid_t frozen_pid;

/* ---- helpers ---- */

int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void next_key(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "%s-%s-%d", prefix, tag, ++keyno);
}

void body_of(char *buf, size_t len, const char *from, const char *to, const char *amount)
{
	snprintf(buf, len, "{\"fromAccountId\":\"%s\",\"toAccountId\":\"%s\",\"amount\":\"%s\"}",
		 from, to, amount);
}

/* POST /api/payments on c, or on a fresh connection when c is NULL.
 * Returns the status, or lf_h_request's -1 / -2. */
int post(struct lf_h_conn *c, const char *key, const char *body, struct lf_h_resp *r)
{
	char h[512];
	snprintf(h, sizeof h, "Idempotency-Key: %s\r\n", key);
	int rc = c ? lf_h_request(c, "POST", "/api/payments", h, body, r)
		   : lf_h_http(fx.d.port, "POST", "/api/payments", h, body, r);
	return rc == 0 ? r->status : rc;
}

bool is_replay(const struct lf_h_resp *r)
{
	char v[32];
	return lf_h_header(r, "Idempotent-Replayed", v, sizeof v) && strcmp(v, "true") == 0;
}

bool has_code(const struct lf_h_resp *r, const char *code)
{
	char c[64];
	return lf_h_json_str(r->body, "code", c, sizeof c) && strcmp(c, code) == 0;
}

void answer_take(struct answer *a, struct lf_h_resp *r)
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

bool answer_same(const struct answer *a, const struct lf_h_resp *r)
{
	char loc[128] = "", type[64] = "";
	lf_h_header(r, "Location", loc, sizeof loc);
	lf_h_header(r, "Content-Type", type, sizeof type);
	return a->status == r->status && a->len == r->body_len && a->body && r->body &&
	       memcmp(a->body, r->body, a->len) == 0 && strcmp(a->location, loc) == 0 &&
	       strcmp(a->type, type) == 0;
}

/* A retry that must be a byte-identical replay of a. */
bool replays(struct lf_h_conn *c, const char *key, const char *body, const struct answer *a)
{
	struct lf_h_resp r;
	bool ok = post(c, key, body, &r) == a->status && answer_same(a, &r) && is_replay(&r);
	if (!ok)
		fprintf(stderr, "  no replay for %s: %d %s\n", key, r.status, r.body ? r.body : "");
	lf_h_resp_free(&r);
	return ok;
}

long long metric(const char *series)
{
	long long v = -1;
	return lf_h_metric(fx.d.port, series, &v) ? v : -1;
}

void tiers_now(struct tiers *t)
{
	t->shm = metric(M_SHM);
	t->redis = metric(M_REDIS);
	t->db = metric(M_DB);
	t->miss = metric(M_MISS);
}

/* The hit counts since t0 are exactly these. */
bool tiers_moved(const struct tiers *t0, long long shm, long long redis, long long db,
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

int64_t balance(const char *id)
{
	char b[64];
	int64_t v = -1;
	if (lf_h_balance(fx.d.port, id, b, sizeof b) != 200 || !lf_h_minor(b, 2, &v))
		return -1;
	return v;
}

/* A funded sender and an empty receiver, both USD. */
bool accounts(char from[37], char to[37], const char *initial)
{
	char name[64];
	snprintf(name, sizeof name, "idem %d from", ++acctno);
	bool ok = lf_h_account(fx.d.port, name, "USD", initial, from) == 201;
	snprintf(name, sizeof name, "idem %d to", acctno);
	return lf_h_account(fx.d.port, name, "USD", NULL, to) == 201 && ok;
}

long long sql_count(const char *fmt, ...)
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

bool redis_do(int argc, const char *const *argv, char *type, char *buf, size_t len)
{
	long long n;
	return lf_h_redis(&fx.env, argc, argv, type, &n, buf, len);
}

/* Redis holds a decided outcome (not a claim) for the key. */
bool redis_has_outcome(const char *key)
{
	char tkey[300], type, buf[16];
	snprintf(tkey, sizeof tkey, "lf:idem:%llu:%s", (unsigned long long)lf_h_admin_id, key);
	const char *argv[] = {"GET", tkey};
	return redis_do(2, argv, &type, buf, sizeof buf) && type == '$' &&
	       strncmp(buf, "lf-claim:", 9) != 0;
}

bool wait_redis_outcome(const char *key, int timeout_ms)
{
	int64_t end = lf_h_now_ms() + timeout_ms;
	while (!redis_has_outcome(key)) {
		if (lf_h_now_ms() >= end)
			return false;
		usleep(10000);
	}
	return true;
}

bool redis_del(const char *key)
{
	char tkey[300], type, buf[16];
	snprintf(tkey, sizeof tkey, "lf:idem:%llu:%s", (unsigned long long)lf_h_admin_id, key);
	const char *argv[] = {"DEL", tkey};
	return redis_do(2, argv, &type, buf, sizeof buf) && type == ':';
}

void redis_restore(void)
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
bool wait_redis_workers(int base, int timeout_ms)
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
bool wait_ready(int n, int timeout_ms)
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
bool restart(void)
{
	int base = lf_h_log_count(&fx.d, "redis_connected");
	if (lf_h_daemon_stop(&fx.d, SIGTERM, 15000) != 0)
		return false;
	return lf_h_daemon_start(&fx.env, &fx.d) && wait_redis_workers(base, 10000);
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
		{"a byte-identical retry replays unparsed, from every tier's outcome",
		 test_replay_unparsed},
		{"refunds, captures and batches: a byte-identical retry replays unparsed",
		 test_actions_replay_unparsed},
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
