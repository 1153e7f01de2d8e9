/*
 * test_request_states.c - the error classes of a request that decides
 * something once, against the real ledgerflowd: a database error that is
 * neither connectivity nor a lock conflict is 500 internal_error, never
 * stored, its claim released; a write whose connection is lost after its
 * COMMIT is settled through its Idempotency-Key (a replay of what
 * committed), and without a key is answered "outcome unknown", never
 * "nothing was changed".
 *
 * The daemon reaches MariaDB through a small TCP proxy in this program.
 * Armed with a marker (an Idempotency-Key, an account name), the proxy
 * forwards the first client packet that contains it (the CALL's execute)
 * and then, at the server's first reply bytes on that connection, closes
 * both sides instead of forwarding them. The procedures answer only after
 * their COMMIT, so the commit happened and its result is lost:
 * deterministically, without timing. Armed "with an error", the proxy
 * answers that CALL with a server error packet of its own instead (the
 * commit happened, the daemon hears 1105), swallows the real answer and
 * forwards everything after it: an error after the COMMIT, which the key
 * must settle too.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "harness.h"
#include "../lf_cunit.h"

static struct lf_h_daemon d;

/* ---- the proxy ---- */

#define PROXY_PAIRS 64
#define MARKER_MAX 128

struct pair {
	int c, s;     /* the daemon's side, the server's side; -1 when unused */
	bool trapped; /* the marker went through: drop the server's reply */
	bool inject;  /* ... and answer with an error packet instead */
	bool swallow; /* the rest of that reply: dropped until the next command */
	char tail[MARKER_MAX];
	size_t tail_len; /* the last bytes from the client, for a split marker */
};

static struct {
	int lfd;
	unsigned port, upstream;
	pthread_t thread;
	pthread_mutex_t mu;
	char marker[MARKER_MAX]; /* armed when non-empty; guarded by mu */
	bool with_error;         /* guarded by mu */
	int fired;               /* guarded by mu */
	volatile sig_atomic_t stop;
	struct pair p[PROXY_PAIRS];
} X = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void proxy_arm(const char *marker)
{
	pthread_mutex_lock(&X.mu);
	snprintf(X.marker, sizeof X.marker, "%s", marker);
	X.with_error = false;
	pthread_mutex_unlock(&X.mu);
}

static void proxy_arm_error(const char *marker)
{
	pthread_mutex_lock(&X.mu);
	snprintf(X.marker, sizeof X.marker, "%s", marker);
	X.with_error = true;
	pthread_mutex_unlock(&X.mu);
}

static int proxy_fired(void)
{
	pthread_mutex_lock(&X.mu);
	int n = X.fired;
	pthread_mutex_unlock(&X.mu);
	return n;
}

static bool write_all(int fd, const char *b, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		b += w;
		n -= (size_t)w;
	}
	return true;
}

static void pair_close(struct pair *p)
{
	close(p->c);
	close(p->s);
	p->c = p->s = -1;
}

/* Data from the daemon: look for the armed marker (also across two
 * reads), then forward. */
static bool from_client(struct pair *p, const char *buf, size_t n)
{
	pthread_mutex_lock(&X.mu);
	size_t ml = strlen(X.marker);
	if (ml > 0) {
		char *joined = malloc(p->tail_len + n);
		memcpy(joined, p->tail, p->tail_len);
		memcpy(joined + p->tail_len, buf, n);
		if (memmem(joined, p->tail_len + n, X.marker, ml) != NULL) {
			p->trapped = true;
			p->inject = X.with_error;
			X.marker[0] = '\0'; /* one shot */
		}
		free(joined);
	}
	pthread_mutex_unlock(&X.mu);
	p->swallow = false; /* a new command: its answer is forwarded */
	size_t keep = n < MARKER_MAX - 1 ? n : MARKER_MAX - 1;
	memcpy(p->tail, buf + n - keep, keep);
	p->tail_len = keep;
	return write_all(p->s, buf, n);
}

static void *proxy_thread(void *arg)
{
	(void)arg;
	char buf[65536];
	while (!X.stop) {
		struct pollfd fds[1 + 2 * PROXY_PAIRS];
		int who[1 + 2 * PROXY_PAIRS];
		int nf = 0;
		fds[nf] = (struct pollfd){.fd = X.lfd, .events = POLLIN};
		who[nf++] = -1;
		for (int i = 0; i < PROXY_PAIRS; i++) {
			if (X.p[i].c < 0)
				continue;
			fds[nf] = (struct pollfd){.fd = X.p[i].c, .events = POLLIN};
			who[nf++] = 2 * i;
			fds[nf] = (struct pollfd){.fd = X.p[i].s, .events = POLLIN};
			who[nf++] = 2 * i + 1;
		}
		if (poll(fds, (nfds_t)nf, 100) <= 0)
			continue;
		for (int k = 0; k < nf; k++) {
			if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (who[k] < 0) {
				int c = accept(X.lfd, NULL, NULL);
				int s = socket(AF_INET, SOCK_STREAM, 0);
				struct sockaddr_in a = {.sin_family = AF_INET,
							.sin_port = htons((uint16_t)X.upstream),
							.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
				int slot = -1;
				for (int i = 0; i < PROXY_PAIRS && slot < 0; i++)
					if (X.p[i].c < 0)
						slot = i;
				if (c < 0 || s < 0 || slot < 0 ||
				    connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
					if (c >= 0)
						close(c);
					if (s >= 0)
						close(s);
					continue;
				}
				X.p[slot] = (struct pair){.c = c, .s = s};
				continue;
			}
			struct pair *p = &X.p[who[k] / 2];
			if (p->c < 0 || fds[k].fd != (who[k] % 2 ? p->s : p->c))
				continue; /* closed earlier in this round */
			ssize_t n = recv(fds[k].fd, buf, sizeof buf, 0);
			bool ok = n > 0;
			if (ok && who[k] % 2 == 0) {
				ok = from_client(p, buf, (size_t)n);
			} else if (ok && p->trapped && p->inject) {
				/* the server answered the trapped CALL, after its
				 * COMMIT: the daemon hears an error instead, with
				 * the sequence number of the real answer */
				static const char msg[] =
					"\xff\x51\x04#HY000injected after the commit";
				char pkt[4 + sizeof msg];
				size_t len = sizeof msg - 1;
				pkt[0] = (char)len;
				pkt[1] = pkt[2] = 0;
				pkt[3] = n >= 4 ? buf[3] : 1;
				memcpy(pkt + 4, msg, len);
				pthread_mutex_lock(&X.mu);
				X.fired++;
				pthread_mutex_unlock(&X.mu);
				p->trapped = p->inject = false;
				p->swallow = true;
				ok = write_all(p->c, pkt, 4 + len);
			} else if (ok && p->swallow) {
				/* the rest of the real answer */
			} else if (ok && p->trapped) {
				/* the server answered the trapped CALL: after its
				 * COMMIT. The daemon never sees the answer. */
				pthread_mutex_lock(&X.mu);
				X.fired++;
				pthread_mutex_unlock(&X.mu);
				ok = false;
			} else if (ok) {
				ok = write_all(p->c, buf, (size_t)n);
			}
			if (!ok)
				pair_close(p);
		}
	}
	for (int i = 0; i < PROXY_PAIRS; i++)
		if (X.p[i].c >= 0)
			pair_close(&X.p[i]);
	return NULL;
}

static bool proxy_start(unsigned upstream)
{
	for (int i = 0; i < PROXY_PAIRS; i++)
		X.p[i].c = X.p[i].s = -1;
	X.upstream = upstream;
	X.lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	if (X.lfd < 0 || bind(X.lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(X.lfd, 64) != 0 || getsockname(X.lfd, (struct sockaddr *)&a, &len) != 0)
		return false;
	X.port = ntohs(a.sin_port);
	return pthread_create(&X.thread, NULL, proxy_thread, NULL) == 0;
}

static void proxy_stop(void)
{
	X.stop = 1;
	pthread_join(X.thread, NULL);
	close(X.lfd);
}

/* ---- helpers ---- */

static int post(const char *path, const char *key, const char *body, struct lf_h_resp *r)
{
	char h[512] = "";
	if (key != NULL)
		snprintf(h, sizeof h, "Idempotency-Key: %s\r\n", key);
	return lf_h_http(d.port, "POST", path, key ? h : NULL, body, r) == 0 ? r->status : -1;
}

static int pay(const char *key, const char *from, const char *to, const char *amount,
	       struct lf_h_resp *r)
{
	char body[512];
	snprintf(body, sizeof body,
		 "{\"fromAccountId\":\"%s\",\"toAccountId\":\"%s\",\"amount\":\"%s\"}", from, to,
		 amount);
	return post("/api/payments", key, body, r);
}

static bool has_code(const struct lf_h_resp *r, const char *code)
{
	char v[64];
	return lf_h_json_str(r->body, "code", v, sizeof v) && strcmp(v, code) == 0;
}

static bool replayed(const struct lf_h_resp *r)
{
	char v[16];
	return lf_h_header(r, "Idempotent-Replayed", v, sizeof v) && strcmp(v, "true") == 0;
}

static bool says_nothing_changed(const struct lf_h_resp *r)
{
	return r->body != NULL && strstr(r->body, "nothing was changed") != NULL;
}

static long long count(const char *sql)
{
	long long n = -1;
	if (!lf_h_sql_int(&fx.env, fx.db, sql, &n))
		return -1;
	return n;
}

/* ---- tests ---- */

/* RENAME TABLE payments away: the database is up and answers, but the
 * transaction fails with 1146. That is a 500, not a 503 "nothing was
 * changed"; it is not stored in any tier and the claim is released, so
 * the same key works once the table is back. */
static void test_sql_error_is_500_not_stored(void)
{
	char a[37], b[37], key[64], warm[64], pid[40] = "", path[80];
	struct lf_h_resp r;
	CU_ASSERT_FATAL(lf_h_account(d.port, "sqlerr-a", "USD", "100.00", a) == 201);
	CU_ASSERT_FATAL(lf_h_account(d.port, "sqlerr-b", "USD", NULL, b) == 201);
	/* the worker learns both currencies, so the next payment goes
	 * straight to the tiers and the transaction */
	snprintf(warm, sizeof warm, "sqlerr-warm-%ld", (long)getpid());
	CU_ASSERT_EQUAL(pay(warm, a, b, "1.00", &r), 201);
	CU_ASSERT(lf_h_json_str(r.body, "id", pid, sizeof pid));
	lf_h_resp_free(&r);

	CU_ASSERT_FATAL(lf_h_sql(&fx.env, fx.db, "RENAME TABLE payments TO payments_away"));
	snprintf(key, sizeof key, "sqlerr-%ld", (long)getpid());
	char ct[64];
	CU_ASSERT_EQUAL(pay(key, a, b, "2.00", &r), 500);
	CU_ASSERT(has_code(&r, "internal_error"));
	CU_ASSERT(lf_h_header(&r, "Content-Type", ct, sizeof ct) &&
		  strcmp(ct, "application/problem+json") == 0);
	CU_ASSERT_FALSE(says_nothing_changed(&r));
	CU_ASSERT_FALSE(replayed(&r));
	lf_h_resp_free(&r);
	/* the claim was released: the same key is tried again, not 409 */
	CU_ASSERT_EQUAL(pay(key, a, b, "2.00", &r), 500);
	CU_ASSERT(has_code(&r, "internal_error"));
	lf_h_resp_free(&r);
	/* a read of a missing table is a 500 as well */
	snprintf(path, sizeof path, "/api/payments/%s", pid);
	CU_ASSERT_EQUAL(lf_h_http(d.port, "GET", path, NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 500);
	CU_ASSERT(has_code(&r, "internal_error"));
	lf_h_resp_free(&r);
	CU_ASSERT_FATAL(lf_h_sql(&fx.env, fx.db, "RENAME TABLE payments_away TO payments"));

	/* nothing was stored under the key: it decides afresh now */
	CU_ASSERT_EQUAL(pay(key, a, b, "2.00", &r), 201);
	CU_ASSERT_FALSE(replayed(&r));
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(pay(key, a, b, "2.00", &r), 201);
	CU_ASSERT(replayed(&r));
	lf_h_resp_free(&r);
	char bal[32];
	CU_ASSERT_EQUAL(lf_h_balance(d.port, a, bal, sizeof bal), 200);
	CU_ASSERT_STRING_EQUAL(bal, "97.00");
	CU_ASSERT_EQUAL(lf_h_ctl(&fx.env, &d, "reconcile"), 0);
}

/* An account creation with a key whose CALL committed and whose answer
 * was lost: the key settles it, the answer is the 201 that committed. */
static void test_create_lost_after_commit_with_key(void)
{
	char key[64], name[64], body[256], id[40] = "";
	struct lf_h_resp r;
	snprintf(key, sizeof key, "lost-create-%ld", (long)getpid());
	snprintf(name, sizeof name, "lost-create-%ld", (long)getpid());
	snprintf(body, sizeof body,
		 "{\"name\":\"%s\",\"currency\":\"EUR\",\"initialBalance\":\"5\"}", name);
	int before = proxy_fired();
	proxy_arm(key);
	int st = post("/api/accounts", key, body, &r);
	CU_ASSERT_EQUAL(proxy_fired(), before + 1);
	CU_ASSERT_EQUAL(st, 201);
	CU_ASSERT(replayed(&r)); /* settled from the stored outcome */
	CU_ASSERT_FALSE(says_nothing_changed(&r));
	CU_ASSERT(lf_h_json_str(r.body, "id", id, sizeof id));
	lf_h_resp_free(&r);
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM accounts WHERE name = '%s'", name);
	CU_ASSERT_EQUAL(count(sql), 1);
	CU_ASSERT_EQUAL(post("/api/accounts", key, body, &r), 201);
	CU_ASSERT(replayed(&r));
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(count(sql), 1);
}

/* Without a key the outcome cannot be settled: the answer says it is
 * unknown, never "nothing was changed", and the account does exist. */
static void test_create_lost_after_commit_without_key(void)
{
	char name[64], body[256], id[37] = "0190aaaa-0000-7000-8000-000000000001", path[80];
	struct lf_h_resp r;
	snprintf(id + 24, 13, "%012lx", (unsigned long)getpid());
	snprintf(name, sizeof name, "lost-nokey-%ld", (long)getpid());
	snprintf(body, sizeof body, "{\"id\":\"%s\",\"name\":\"%s\",\"currency\":\"USD\"}", id,
		 name);
	int before = proxy_fired();
	proxy_arm(name);
	int st = post("/api/accounts", NULL, body, &r);
	CU_ASSERT_EQUAL(proxy_fired(), before + 1);
	CU_ASSERT_EQUAL(st, 503);
	CU_ASSERT(has_code(&r, "service_unavailable"));
	CU_ASSERT_FALSE(says_nothing_changed(&r));
	CU_ASSERT(r.body != NULL && strstr(r.body, "may have been created") != NULL);
	char v[16];
	CU_ASSERT(lf_h_header(&r, "Retry-After", v, sizeof v));
	lf_h_resp_free(&r);
	snprintf(path, sizeof path, "/api/accounts/%s", id);
	CU_ASSERT_EQUAL(lf_h_http(d.port, "GET", path, NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	lf_h_resp_free(&r);
	/* and a retry says so */
	CU_ASSERT_EQUAL(post("/api/accounts", NULL, body, &r), 409);
	CU_ASSERT(has_code(&r, "account_exists"));
	lf_h_resp_free(&r);
}

/* A payment whose transfer committed and whose answer was lost: settled
 * through the key, the money moved once. */
static void test_payment_lost_after_commit(void)
{
	char a[37], b[37], key[64], warm[64], bal[32];
	struct lf_h_resp r;
	CU_ASSERT_FATAL(lf_h_account(d.port, "lost-pay-a", "USD", "50.00", a) == 201);
	CU_ASSERT_FATAL(lf_h_account(d.port, "lost-pay-b", "USD", NULL, b) == 201);
	snprintf(warm, sizeof warm, "lost-pay-warm-%ld", (long)getpid());
	CU_ASSERT_EQUAL(pay(warm, a, b, "1.00", &r), 201);
	lf_h_resp_free(&r);
	snprintf(key, sizeof key, "lost-pay-%ld", (long)getpid());
	int before = proxy_fired();
	proxy_arm(key);
	CU_ASSERT_EQUAL(pay(key, a, b, "10.00", &r), 201);
	CU_ASSERT_EQUAL(proxy_fired(), before + 1);
	CU_ASSERT(replayed(&r));
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(pay(key, a, b, "10.00", &r), 201);
	CU_ASSERT(replayed(&r));
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(lf_h_balance(d.port, a, bal, sizeof bal), 200);
	CU_ASSERT_STRING_EQUAL(bal, "39.00");
	CU_ASSERT_EQUAL(lf_h_ctl(&fx.env, &d, "reconcile"), 0);
}

/* An error reply after a payment's COMMIT: not "nothing was changed" but
 * settled through the key, the money moved once. */
static void test_payment_error_after_commit(void)
{
	char a[37], b[37], key[64], bal[32];
	struct lf_h_resp r;
	CU_ASSERT_FATAL(lf_h_account(d.port, "err-pay-a", "USD", "50.00", a) == 201);
	CU_ASSERT_FATAL(lf_h_account(d.port, "err-pay-b", "USD", NULL, b) == 201);
	snprintf(key, sizeof key, "err-pay-%ld", (long)getpid());
	int before = proxy_fired();
	proxy_arm_error(key);
	CU_ASSERT_EQUAL(pay(key, a, b, "7.00", &r), 201);
	CU_ASSERT_EQUAL(proxy_fired(), before + 1);
	CU_ASSERT(replayed(&r)); /* settled from the stored outcome */
	CU_ASSERT_FALSE(says_nothing_changed(&r));
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(pay(key, a, b, "7.00", &r), 201);
	CU_ASSERT(replayed(&r));
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(lf_h_balance(d.port, a, bal, sizeof bal), 200);
	CU_ASSERT_STRING_EQUAL(bal, "43.00");
	CU_ASSERT_EQUAL(lf_h_ctl(&fx.env, &d, "reconcile"), 0);
}

/* The same for an account creation: with a key the 201 that committed,
 * once; without one "outcome unknown", and the account does exist. */
static void test_create_error_after_commit(void)
{
	char key[64], name[64], body[256];
	struct lf_h_resp r;
	snprintf(key, sizeof key, "err-create-%ld", (long)getpid());
	snprintf(name, sizeof name, "err-create-%ld", (long)getpid());
	snprintf(body, sizeof body,
		 "{\"name\":\"%s\",\"currency\":\"EUR\",\"initialBalance\":\"5\"}", name);
	int before = proxy_fired();
	proxy_arm_error(key);
	CU_ASSERT_EQUAL(post("/api/accounts", key, body, &r), 201);
	CU_ASSERT_EQUAL(proxy_fired(), before + 1);
	CU_ASSERT(replayed(&r));
	lf_h_resp_free(&r);
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM accounts WHERE name = '%s'", name);
	CU_ASSERT_EQUAL(count(sql), 1);

	char id[37] = "0190bbbb-0000-7000-8000-000000000001", path[80];
	snprintf(id + 24, 13, "%012lx", (unsigned long)getpid());
	snprintf(name, sizeof name, "err-nokey-%ld", (long)getpid());
	snprintf(body, sizeof body, "{\"id\":\"%s\",\"name\":\"%s\",\"currency\":\"USD\"}", id,
		 name);
	before = proxy_fired();
	proxy_arm_error(name);
	CU_ASSERT_EQUAL(post("/api/accounts", NULL, body, &r), 503);
	CU_ASSERT_EQUAL(proxy_fired(), before + 1);
	CU_ASSERT_FALSE(says_nothing_changed(&r));
	CU_ASSERT(r.body != NULL && strstr(r.body, "may have been created") != NULL);
	lf_h_resp_free(&r);
	snprintf(path, sizeof path, "/api/accounts/%s", id);
	CU_ASSERT_EQUAL(lf_h_http(d.port, "GET", path, NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	lf_h_resp_free(&r);
}

/* An account-creation key is kept as long as the account: the reaper
 * never takes it, so a retry however late finds it. */
static void test_create_key_kept(void)
{
	char key[64], name[64], body[256], sql[400];
	struct lf_h_resp r;
	snprintf(key, sizeof key, "kept-create-%ld", (long)getpid());
	snprintf(name, sizeof name, "kept-create-%ld", (long)getpid());
	snprintf(body, sizeof body, "{\"name\":\"%s\",\"currency\":\"EUR\"}", name);
	CU_ASSERT_EQUAL(post("/api/accounts", key, body, &r), 201);
	lf_h_resp_free(&r);
	snprintf(sql, sizeof sql,
		 "SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = '%s'"
		 " AND expires_at = '9999-12-31 23:59:59.999'",
		 key);
	CU_ASSERT_EQUAL(count(sql), 1);
	/* a payment's key keeps the configured retention */
	snprintf(sql, sizeof sql,
		 "SELECT COUNT(*) FROM idempotency_keys WHERE idem_key LIKE 'err-pay-%%'"
		 " AND expires_at < NOW() + INTERVAL 2 DAY");
	CU_ASSERT_EQUAL(count(sql), 1);
}

/* The daemon reaches the database through the proxy; migrations and the
 * tests' own SQL go straight to it. */
static int setup(void)
{
	struct lf_h_env via_proxy = fx.env;
	if (!proxy_start(fx.env.mysql_port))
		return 1;
	via_proxy.mysql_port = X.port;
	if (!lf_h_daemon_config(&via_proxy, &d, fx.db, 1, NULL) ||
	    lf_h_ctl(&fx.env, &d, "migrate") != 0 || !lf_h_daemon_start(&fx.env, &d)) {
		fprintf(stderr, "test_request_states: daemon set-up failed; log %s\n", d.log);
		return 1;
	}
	return 0;
}

static void teardown(void)
{
	if (d.pid > 0)
		lf_h_daemon_stop(&d, SIGTERM, 15000);
	proxy_stop();
}

static const struct lf_test state_tests[] = {
	{"a non-connectivity SQL error: 500, not stored, claim released",
	 test_sql_error_is_500_not_stored},
	{"account creation lost after COMMIT, with a key: settled by the key",
	 test_create_lost_after_commit_with_key},
	{"account creation lost after COMMIT, no key: 'outcome unknown'",
	 test_create_lost_after_commit_without_key},
	{"payment lost after COMMIT: settled by the key, money moved once",
	 test_payment_lost_after_commit},
	{"payment with an error reply after COMMIT: settled by the key",
	 test_payment_error_after_commit},
	{"account creation with an error reply after COMMIT: key settles; no key: unknown",
	 test_create_error_after_commit},
	{"an account-creation key is kept as long as the account", test_create_key_kept},
};
static const struct lf_suite suites[] = {{"request states", LF_TESTS(state_tests)}};

int main(void)
{
	static const struct lf_h_fixture_opts opts = {
		.name = "states", .no_daemon = true, .setup = setup, .teardown = teardown};
	return lf_h_fixture_main(suites, LF_COUNT(suites), &opts);
}
