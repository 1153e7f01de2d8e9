/*
 * test_request_states.c - the error classes of a request that decides
 * something once, against the real ledgerflowd: a database error that is
 * neither connectivity nor a lock conflict is 500 internal_error, never
 * stored, its claim released; a write whose connection is lost after its
 * COMMIT is settled through its Idempotency-Key (a replay of what
 * committed), and without a key is answered "outcome unknown", never
 * "nothing was changed".
 *
 * The daemon reaches MariaDB through the test proxy (db_proxy.h).
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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "db_proxy.h"
#include "harness.h"
#include "../lf_cunit.h"

static struct lf_h_daemon d;

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
	int before = lf_h_proxy_fired();
	lf_h_proxy_arm(key);
	int st = post("/api/accounts", key, body, &r);
	CU_ASSERT_EQUAL(lf_h_proxy_fired(), before + 1);
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
	int before = lf_h_proxy_fired();
	lf_h_proxy_arm(name);
	int st = post("/api/accounts", NULL, body, &r);
	CU_ASSERT_EQUAL(lf_h_proxy_fired(), before + 1);
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
	int before = lf_h_proxy_fired();
	lf_h_proxy_arm(key);
	CU_ASSERT_EQUAL(pay(key, a, b, "10.00", &r), 201);
	CU_ASSERT_EQUAL(lf_h_proxy_fired(), before + 1);
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
	int before = lf_h_proxy_fired();
	lf_h_proxy_arm_error(key);
	CU_ASSERT_EQUAL(pay(key, a, b, "7.00", &r), 201);
	CU_ASSERT_EQUAL(lf_h_proxy_fired(), before + 1);
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
	snprintf(name, sizeof name, "err-create-name-%ld", (long)getpid());
	snprintf(body, sizeof body,
		 "{\"name\":\"%s\",\"currency\":\"EUR\",\"initialBalance\":\"5\"}", name);
	int before = lf_h_proxy_fired();
	/* armed on the name, which only the CALL carries: a lookup of the key
	 * (the database tier, when Redis answers late under load) must not
	 * take the error meant for the CALL's reply */
	lf_h_proxy_arm_error(name);
	CU_ASSERT_EQUAL(post("/api/accounts", key, body, &r), 201);
	CU_ASSERT_EQUAL(lf_h_proxy_fired(), before + 1);
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
	before = lf_h_proxy_fired();
	lf_h_proxy_arm_error(name);
	CU_ASSERT_EQUAL(post("/api/accounts", NULL, body, &r), 503);
	CU_ASSERT_EQUAL(lf_h_proxy_fired(), before + 1);
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
	return lf_h_proxy_daemon_start(&d, "test_request_states") ? 0 : 1;
}

static void teardown(void)
{
	lf_h_proxy_daemon_stop(&d);
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
