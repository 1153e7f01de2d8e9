/*
 * test_auth.c - clients, keys, scopes, ownership and rate limits against
 * the real ledgerflowd (authentication on, as by default): a 401/403
 * matrix for every endpoint and scope; two clients that cannot read,
 * debit or replay each other's objects (and may credit each other, and
 * use the same Idempotency-Key independently); exact counts for a burst
 * against a client's and an address's bucket, with the RateLimit headers;
 * a revoke that reaches every worker within about a second; a rotation
 * that leaves the old key working through its grace; HEAD without a body.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "harness.h"
#include "../lf_cunit.h"

enum who { ALICE, BOB, READER, ISSUER, LIMITED, NCLIENTS };

static const char *const client_cmd[NCLIENTS] = {
	"client create alice-co --scopes "
	"accounts:read,accounts:write,payments:read,payments:write --rate 100000",
	"client create bob-co --scopes "
	"accounts:read,accounts:write,payments:read,payments:write --rate 100000",
	"client create reader --scopes accounts:read,payments:read --rate 100000",
	"client create issuer --scopes accounts:read,accounts:write,funds:issue --rate 100000",
	"client create limited --scopes accounts:read --rate 3",
};
static char keys[NCLIENTS][128];

/* an account funded by the admin client, and one owned by each of Alice
 * and Bob (credited 100.00 each by the admin) */
static char funded[37], alice_acct[37], bob_acct[37];

static void as(enum who w)
{
	lf_h_auth_use(keys[w]);
}

static void as_admin(void)
{
	lf_h_auth_use(lf_h_admin_key);
}

static int status(const char *method, const char *path, const char *headers, const char *body)
{
	struct lf_h_resp r;
	int rc = lf_h_http(fx.d.port, method, path, headers, body, &r);
	int st = rc == 0 ? r.status : -1;
	lf_h_resp_free(&r);
	return st;
}

static bool code_is(const struct lf_h_resp *r, const char *code)
{
	char got[64];
	return lf_h_json_str(r->body, "code", got, sizeof got) && strcmp(got, code) == 0;
}

/* Idempotency keys are unique per run: Redis outlives a test database,
 * whose client ids start again at 1. */
static int pay(const char *key, const char *from, const char *to, const char *amount,
	       struct lf_h_resp *r)
{
	char unique[128];
	snprintf(unique, sizeof unique, "%ld-%s", (long)getpid(), key);
	return lf_h_pay(fx.d.port, unique, from, to, amount, r);
}

static int setup(void)
{
	for (int i = 0; i < NCLIENTS; i++)
		if (lf_h_ctl_key(&fx.env, &fx.d, client_cmd[i], keys[i], sizeof keys[i]) != 0 ||
		    strncmp(keys[i], "lfk_", 4) != 0)
			return 1;
	as_admin();
	if (lf_h_account(fx.d.port, "Funded", "USD", "1000.00", funded) != 201)
		return 1;
	as(ALICE);
	if (lf_h_account(fx.d.port, "Alice", "USD", NULL, alice_acct) != 201)
		return 1;
	as(BOB);
	if (lf_h_account(fx.d.port, "Bob", "USD", NULL, bob_acct) != 201)
		return 1;
	as_admin();
	struct lf_h_resp r;
	int a = pay("setup-a", funded, alice_acct, "100.00", &r);
	lf_h_resp_free(&r);
	int b = pay("setup-b", funded, bob_acct, "100.00", &r);
	lf_h_resp_free(&r);
	return a == 201 && b == 201 ? 0 : 1;
}

/* ---- 401 ---- */

static void test_unauthenticated(void)
{
	char acct[96], ledger[120], balance[160];
	snprintf(balance, sizeof balance, "/api/accounts/%s/balance?at=2026-01-01T00:00:00Z",
		 alice_acct);
	snprintf(acct, sizeof acct, "/api/accounts/%s", alice_acct);
	snprintf(ledger, sizeof ledger, "/api/accounts/%s/ledger", alice_acct);
	const char *pay_body = "{\"fromAccountId\":\"11111111-1111-1111-1111-111111111111\","
			       "\"toAccountId\":\"22222222-2222-2222-2222-222222222222\","
			       "\"amount\":1}";
	struct {
		const char *method, *path, *headers, *body;
	} ep[] = {
		{"GET", acct, NULL, NULL},
		{"GET", ledger, NULL, NULL},
		{"POST", "/api/accounts", NULL, "{\"name\":\"x\",\"currency\":\"USD\"}"},
		{"POST", "/api/payments", "Idempotency-Key: anon-1\r\n",
		 pay_body}, /* never stored */
		{"GET", "/api/payments/0190b3c8-0000-7000-8000-000000000001", NULL, NULL},
		{"GET", "/api/payments?limit=5", NULL, NULL},
		{"GET", balance, NULL, NULL},
		{"GET", "/api/currencies", NULL, NULL},
	};
	/* a well-formed key nobody was given */
	const char *forged = "Authorization: Bearer "
			     "lfk_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n";
	const char *variants[] = {NULL, "Authorization: Basic dXNlcjpwYXNz\r\n",
				  "Authorization: Bearer not-a-key\r\n", forged};
	as_admin();
	lf_h_auth_use(NULL);
	for (size_t e = 0; e < sizeof ep / sizeof ep[0]; e++) {
		/* the address's anonymous bucket (20/s) refills for each endpoint */
		usleep(250 * 1000);
		for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
			char headers[512];
			snprintf(headers, sizeof headers, "%s%s", variants[v] ? variants[v] : "",
				 ep[e].headers ? ep[e].headers : "");
			struct lf_h_resp r;
			CU_ASSERT_EQUAL(lf_h_http(fx.d.port, ep[e].method, ep[e].path, headers,
						  ep[e].body, &r),
					0);
			CU_ASSERT_EQUAL(r.status, 401);
			CU_ASSERT(code_is(&r, "unauthorized"));
			char www[128] = "";
			CU_ASSERT(lf_h_header(&r, "WWW-Authenticate", www, sizeof www));
			CU_ASSERT_EQUAL(strncmp(www, "Bearer", 6), 0);
			/* a presented token that is not valid says so */
			if (variants[v] != NULL && strstr(variants[v], "Bearer") != NULL)
				CU_ASSERT_PTR_NOT_NULL(strstr(www, "invalid_token"));
			lf_h_resp_free(&r);
		}
	}
	/* the operations endpoints are public by default */
	CU_ASSERT_EQUAL(status("GET", "/healthz", NULL, NULL), 200);
	CU_ASSERT_EQUAL(status("GET", "/metrics", NULL, NULL), 200);
	as_admin();
}

/* ---- 403 ---- */

static void test_scopes(void)
{
	char acct[96], ledger[120], paypath[96];
	snprintf(acct, sizeof acct, "/api/accounts/%s", alice_acct);
	snprintf(ledger, sizeof ledger, "/api/accounts/%s/ledger", alice_acct);
	char body[256];
	snprintf(body, sizeof body,
		 "{\"fromAccountId\":\"%s\",\"toAccountId\":\"%s\",\"amount\":\"1.00\"}", funded,
		 alice_acct);
	char scope_key[2][64];
	for (int i = 0; i < 2; i++)
		snprintf(scope_key[i], sizeof scope_key[i], "Idempotency-Key: %ld-scope-%d\r\n",
			 (long)getpid(), i);
	/* the reader: reads, never writes */
	as(READER);
	CU_ASSERT_EQUAL(
		status("POST", "/api/accounts", NULL, "{\"name\":\"r\",\"currency\":\"USD\"}"),
		403);
	CU_ASSERT_EQUAL(status("POST", "/api/payments", scope_key[0], body), 403);
	/* it sees only its own accounts: Alice's is a 404, not a 403 */
	CU_ASSERT_EQUAL(status("GET", acct, NULL, NULL), 404);
	CU_ASSERT_EQUAL(status("GET", ledger, NULL, NULL), 404);
	/* the issuer has no payments scope */
	as(ISSUER);
	CU_ASSERT_EQUAL(status("POST", "/api/payments", scope_key[1], body), 403);
	snprintf(paypath, sizeof paypath, "/api/payments/0190b3c8-0000-7000-8000-000000000001");
	CU_ASSERT_EQUAL(status("GET", paypath, NULL, NULL), 403);
	CU_ASSERT_EQUAL(status("GET", "/api/payments", NULL, NULL), 403);
	/* the reader may list (its own: none) and ask a balance (its own) */
	as(READER);
	CU_ASSERT_EQUAL(status("GET", "/api/payments", NULL, NULL), 200);
	char bal_at[160];
	snprintf(bal_at, sizeof bal_at, "/api/accounts/%s/balance?at=2026-01-01T00:00:00Z",
		 alice_acct);
	CU_ASSERT_EQUAL(status("GET", bal_at, NULL, NULL), 404);
	/* creating money needs funds:issue */
	char id[37];
	as(ALICE);
	struct lf_h_resp r;
	CU_ASSERT_EQUAL(
		lf_h_http(fx.d.port, "POST", "/api/accounts", NULL,
			  "{\"name\":\"rich\",\"currency\":\"USD\",\"initialBalance\":\"5.00\"}",
			  &r),
		0);
	CU_ASSERT_EQUAL(r.status, 403);
	CU_ASSERT(code_is(&r, "forbidden"));
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(lf_h_account(fx.d.port, "poor", "USD", "0", id), 201);
	as(ISSUER);
	CU_ASSERT_EQUAL(lf_h_account(fx.d.port, "minted", "USD", "5.00", id), 201);
	/* admin holds every scope */
	as_admin();
	CU_ASSERT_EQUAL(status("GET", acct, NULL, NULL), 200);
	CU_ASSERT_EQUAL(status("GET", ledger, NULL, NULL), 200);
}

/* ---- isolation ---- */

static void balance_is(const char *id, const char *want)
{
	as_admin();
	char bal[32] = "";
	CU_ASSERT_EQUAL(lf_h_balance(fx.d.port, id, bal, sizeof bal), 200);
	CU_ASSERT_STRING_EQUAL(bal, want);
}

static void test_isolation(void)
{
	char path[128];
	struct lf_h_resp r;
	/* reading: each sees its own, the other's is "not found" */
	as(ALICE);
	snprintf(path, sizeof path, "/api/accounts/%s", alice_acct);
	CU_ASSERT_EQUAL(status("GET", path, NULL, NULL), 200);
	snprintf(path, sizeof path, "/api/accounts/%s", bob_acct);
	CU_ASSERT_EQUAL(lf_h_http(fx.d.port, "GET", path, NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 404);
	CU_ASSERT(code_is(&r, "account_not_found"));
	lf_h_resp_free(&r);
	snprintf(path, sizeof path, "/api/accounts/%s/ledger", bob_acct);
	CU_ASSERT_EQUAL(status("GET", path, NULL, NULL), 404);
	/* debiting another client's account: as if it did not exist */
	CU_ASSERT_EQUAL(pay("iso-debit", bob_acct, alice_acct, "50.00", &r), 422);
	CU_ASSERT(code_is(&r, "account_not_found"));
	lf_h_resp_free(&r);
	balance_is(bob_acct, "100.00");
	/* crediting it is fine */
	as(ALICE);
	CU_ASSERT_EQUAL(pay("iso-credit", alice_acct, bob_acct, "10.00", &r), 201);
	char payment[40] = "";
	CU_ASSERT(lf_h_json_str(r.body, "id", payment, sizeof payment));
	lf_h_resp_free(&r);
	balance_is(bob_acct, "110.00");
	balance_is(alice_acct, "90.00");
	/* the payment is Alice's: Bob cannot see it, even as its receiver */
	snprintf(path, sizeof path, "/api/payments/%s", payment);
	as(ALICE);
	CU_ASSERT_EQUAL(status("GET", path, NULL, NULL), 200);
	as(BOB);
	CU_ASSERT_EQUAL(lf_h_http(fx.d.port, "GET", path, NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 404);
	CU_ASSERT(code_is(&r, "payment_not_found"));
	lf_h_resp_free(&r);
}

static void test_same_key_two_clients(void)
{
	struct lf_h_resp r;
	char replayed[16];
	as(ALICE);
	CU_ASSERT_EQUAL(pay("shared-key", alice_acct, bob_acct, "1.00", &r), 201);
	lf_h_resp_free(&r);
	/* Bob's own request under the same key: independent, not "reused" */
	as(BOB);
	CU_ASSERT_EQUAL(pay("shared-key", bob_acct, alice_acct, "2.00", &r), 201);
	CU_ASSERT_FALSE(lf_h_header(&r, "Idempotent-Replayed", replayed, sizeof replayed));
	lf_h_resp_free(&r);
	/* Bob sending Alice's exact request never receives her stored 201 */
	CU_ASSERT_EQUAL(pay("shared-key-2", bob_acct, alice_acct, "3.00", &r), 201);
	lf_h_resp_free(&r);
	as(ALICE);
	CU_ASSERT_EQUAL(pay("shared-key-3", alice_acct, bob_acct, "4.00", &r), 201);
	lf_h_resp_free(&r);
	as(BOB);
	CU_ASSERT_EQUAL(pay("shared-key-3", alice_acct, bob_acct, "4.00", &r), 422);
	CU_ASSERT(code_is(&r, "account_not_found"));
	CU_ASSERT_FALSE(lf_h_header(&r, "Idempotent-Replayed", replayed, sizeof replayed));
	lf_h_resp_free(&r);
	/* the books: 90 - 1 + 2 - 4 + 3 = 90.00 and 110 + 1 - 2 + 4 - 3 = 110.00 */
	balance_is(alice_acct, "90.00");
	balance_is(bob_acct, "110.00");
	as_admin();
}

/* ---- rate limits ---- */

static void test_client_burst(void)
{
	char path[96];
	snprintf(path, sizeof path, "/api/accounts/%s", funded);
	as(LIMITED);
	/* one keep-alive connection, six requests back to back (well under
	 * the 333 ms a token takes): exactly the burst of 3 gets through */
	struct lf_h_conn c;
	CU_ASSERT_FATAL(lf_h_connect(&c, fx.d.port));
	int ok = 0, limited = 0, other = 0;
	char policy[96] = "", ratelimit[96] = "", retry[16] = "";
	for (int i = 0; i < 6; i++) {
		struct lf_h_resp r;
		CU_ASSERT_EQUAL(lf_h_request(&c, "GET", path, NULL, NULL, &r), 0);
		if (r.status == 404) /* the account is the admin's: a 404, counted */
			ok++;
		else if (r.status == 429) {
			limited++;
			CU_ASSERT(code_is(&r, "rate_limited"));
			CU_ASSERT(lf_h_header(&r, "Retry-After", retry, sizeof retry));
			CU_ASSERT(lf_h_header(&r, "RateLimit-Policy", policy, sizeof policy));
			CU_ASSERT(lf_h_header(&r, "RateLimit", ratelimit, sizeof ratelimit));
		} else
			other++;
		lf_h_resp_free(&r);
	}
	lf_h_close(&c);
	CU_ASSERT_EQUAL(ok, 3);
	CU_ASSERT_EQUAL(limited, 3);
	CU_ASSERT_EQUAL(other, 0);
	CU_ASSERT(atoi(retry) >= 1);
	CU_ASSERT_STRING_EQUAL(policy, "\"client\";q=3;w=1");
	CU_ASSERT_EQUAL(strncmp(ratelimit, "\"client\";r=0;t=", 15), 0);
	/* a second later a token is back */
	usleep(1100 * 1000);
	CU_ASSERT_EQUAL(status("GET", path, NULL, NULL), 404);
	as_admin();
}

static void test_anonymous_burst(void)
{
	/* a daemon of its own, with a small allowance per address */
	struct lf_h_daemon d2;
	CU_ASSERT_FATAL(
		lf_h_daemon_config(&fx.env, &d2, fx.db, 1, "[ratelimit]\nanonymous_rate = 4\n"));
	CU_ASSERT_FATAL(lf_h_daemon_start(&fx.env, &d2));
	lf_h_auth_use(NULL);
	struct lf_h_conn c;
	CU_ASSERT_FATAL(lf_h_connect(&c, d2.port));
	int unauthorized = 0, limited = 0;
	char policy[96] = "";
	for (int i = 0; i < 8; i++) {
		struct lf_h_resp r;
		CU_ASSERT_EQUAL(lf_h_request(&c, "GET", "/api/accounts/x", NULL, NULL, &r), 0);
		unauthorized += r.status == 401;
		if (r.status == 429) {
			limited++;
			lf_h_header(&r, "RateLimit-Policy", policy, sizeof policy);
		}
		lf_h_resp_free(&r);
	}
	lf_h_close(&c);
	CU_ASSERT_EQUAL(unauthorized, 4);
	CU_ASSERT_EQUAL(limited, 4);
	CU_ASSERT_STRING_EQUAL(policy, "\"anonymous\";q=4;w=1");
	/* a valid key is not charged to the address */
	as_admin();
	struct lf_h_resp r;
	char path[96];
	snprintf(path, sizeof path, "/api/accounts/%s", funded);
	CU_ASSERT_EQUAL(lf_h_http(d2.port, "GET", path, NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(lf_h_daemon_stop(&d2, SIGTERM, 15000), 0);
}

/* Wall-clock ms (the global windows are wall-clock seconds). */
static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Start at the beginning of a wall-clock second. */
static void at_second_start(void)
{
	while (wall_ms() % 1000 > 50)
		usleep(5 * 1000);
}

/* [ratelimit] global: two hosts (two daemons sharing the database and
 * Redis), one client of rate 4, requests alternating between them within
 * one second: each host's own bucket would let 8 through; counted in
 * Redis, the rate plus at most one reply-late request per host. */
static void test_global_burst(void)
{
	char key[128], path[96];
	CU_ASSERT_FATAL(lf_h_ctl_key(&fx.env, &fx.d,
				     "client create global-co --scopes accounts:read --rate 4", key,
				     sizeof key) == 0);
	struct lf_h_daemon h[2];
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_FATAL(
			lf_h_daemon_config(&fx.env, &h[i], fx.db, 1, "[ratelimit]\nglobal = on\n"));
		CU_ASSERT_FATAL(lf_h_daemon_start(&fx.env, &h[i]));
	}
	snprintf(path, sizeof path, "/api/accounts/%s", funded);
	lf_h_auth_use(key);
	int ok = 0, global = 0, other = 0, tries = 0;
	bool one_window = false;
	char policy[96] = "";
	while (!one_window && tries++ < 3) {
		usleep(1100 * 1000); /* the buckets are full again */
		struct lf_h_conn c[2];
		CU_ASSERT_FATAL(lf_h_connect(&c[0], h[0].port) && lf_h_connect(&c[1], h[1].port));
		ok = global = other = 0;
		at_second_start();
		int64_t start = wall_ms();
		for (int i = 0; i < 16; i++) {
			struct lf_h_resp r;
			CU_ASSERT_EQUAL(lf_h_request(&c[i % 2], "GET", path, NULL, NULL, &r), 0);
			char pol[96] = "";
			lf_h_header(&r, "RateLimit-Policy", pol, sizeof pol);
			if (r.status == 404)
				ok++;
			else if (r.status == 429 && strncmp(pol, "\"global\"", 8) == 0) {
				global++;
				snprintf(policy, sizeof policy, "%s", pol);
			} else if (r.status != 429)
				other++;
			lf_h_resp_free(&r);
			/* room for the count's answer to come back (it is not
			 * waited for): 16 x 25 ms stay within the second */
			usleep(25 * 1000);
		}
		one_window = wall_ms() / 1000 == start / 1000;
		lf_h_close(&c[0]);
		lf_h_close(&c[1]);
	}
	CU_ASSERT(one_window);
	/* the rate, plus what got in before a count's answer came back (one
	 * per host when the machine is idle); the hosts' own buckets alone
	 * would admit 8 */
	CU_ASSERT(ok >= 4 && ok < 8);
	if (ok < 4 || ok >= 8)
		fprintf(stderr, "\n  global burst: %d admitted, %d global 429\n", ok, global);
	CU_ASSERT(global >= 1);
	CU_ASSERT_EQUAL(other, 0);
	CU_ASSERT_STRING_EQUAL(policy, "\"global\";q=4;w=1");
	long long refused = 0, a = 0;
	CU_ASSERT(lf_h_metric(h[0].port, "ledgerflow_rate_limited_total{limit=\"global\"}", &a));
	CU_ASSERT(lf_h_metric(h[1].port, "ledgerflow_rate_limited_total{limit=\"global\"}",
			      &refused));
	CU_ASSERT_EQUAL(a + refused, global);
	for (int i = 0; i < 2; i++)
		CU_ASSERT_EQUAL(lf_h_daemon_stop(&h[i], SIGTERM, 15000), 0);

	/* Redis unreachable: the limit fails open to the host's own bucket,
	 * with a log line and a metric */
	struct lf_h_daemon lone;
	char port[16];
	snprintf(port, sizeof port, "%u", lf_h_free_port());
	setenv("LEDGERFLOW_REDIS_PORT", port, 1);
	CU_ASSERT_FATAL(lf_h_daemon_config(&fx.env, &lone, fx.db, 1, "[ratelimit]\nglobal = on\n"));
	bool started = lf_h_daemon_start(&fx.env, &lone);
	unsetenv("LEDGERFLOW_REDIS_PORT");
	CU_ASSERT_FATAL(started);
	usleep(1100 * 1000);
	struct lf_h_conn c;
	CU_ASSERT_FATAL(lf_h_connect(&c, lone.port));
	ok = 0;
	for (int i = 0; i < 8; i++) {
		struct lf_h_resp r;
		CU_ASSERT_EQUAL(lf_h_request(&c, "GET", path, NULL, NULL, &r), 0);
		ok += r.status == 404;
		lf_h_resp_free(&r);
	}
	lf_h_close(&c);
	CU_ASSERT(ok >= 4 && ok <= 5); /* the bucket, plus a token that refilled */
	long long unavailable = 0;
	CU_ASSERT(lf_h_metric(lone.port, "ledgerflow_ratelimit_global_unavailable_total",
			      &unavailable));
	CU_ASSERT(unavailable >= 4);
	CU_ASSERT(lf_h_log_contains(&lone, "msg=ratelimit_global_unavailable"));
	CU_ASSERT_EQUAL(lf_h_daemon_stop(&lone, SIGTERM, 15000), 0);
	as_admin();
}

static void test_429_not_stored(void)
{
	/* a payment refused by the bucket is not an outcome: the same key
	 * later gets the real decision */
	char key[128];
	CU_ASSERT_FATAL(lf_h_ctl_key(&fx.env, &fx.d,
				     "client create slowpay --scopes "
				     "accounts:read,accounts:write,payments:write --rate 1",
				     key, sizeof key) == 0);
	lf_h_auth_use(key);
	char acct[37];
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "slow", "USD", NULL, acct), 201);
	struct lf_h_resp r;
	/* the bucket is empty now (rate 1, burst 1) */
	CU_ASSERT_EQUAL(pay("slow-1", acct, alice_acct, "1.00", &r), 429);
	lf_h_resp_free(&r);
	usleep(1100 * 1000);
	CU_ASSERT_EQUAL(pay("slow-1", acct, alice_acct, "1.00", &r), 422);
	CU_ASSERT(code_is(&r, "insufficient_funds"));
	lf_h_resp_free(&r);
	as_admin();
}

/* ---- keys over time ---- */

static void test_revoke_and_rotate(void)
{
	char key[128], key2[128], path[96];
	snprintf(path, sizeof path, "/api/accounts/%s", funded);
	CU_ASSERT_FATAL(lf_h_ctl_key(&fx.env, &fx.d,
				     "client create temp --scopes accounts:read --rate 100000", key,
				     sizeof key) == 0);
	lf_h_auth_use(key);
	CU_ASSERT_EQUAL(status("GET", path, NULL, NULL), 404); /* known: the admin's account */
	/* a rotation: the new key works at once, the old one through its grace */
	CU_ASSERT_FATAL(lf_h_ctl_key(&fx.env, &fx.d, "client rotate temp", key2, sizeof key2) == 0);
	CU_ASSERT_STRING_NOT_EQUAL(key, key2);
	lf_h_auth_use(key2);
	CU_ASSERT_EQUAL(status("GET", path, NULL, NULL), 404);
	lf_h_auth_use(key);
	CU_ASSERT_EQUAL(status("GET", path, NULL, NULL), 404);
	/* a revoke: within about a second every worker refuses both keys */
	CU_ASSERT_EQUAL(lf_h_ctl(&fx.env, &fx.d, "client revoke temp"), 0);
	int64_t t0 = lf_h_now_ms();
	int st = 0;
	while (lf_h_now_ms() - t0 < 5000) {
		st = status("GET", path, NULL, NULL);
		if (st == 401)
			break;
		usleep(50 * 1000);
	}
	int64_t took = lf_h_now_ms() - t0;
	printf("\n  revoke took effect after %lld ms\n", (long long)took);
	CU_ASSERT_EQUAL(st, 401);
	CU_ASSERT(took < 2500);
	/* both workers: a handful of fresh connections are all refused */
	for (int i = 0; i < 6; i++) {
		lf_h_auth_use(i % 2 ? key : key2);
		CU_ASSERT_EQUAL(status("GET", path, NULL, NULL), 401);
	}
	as_admin();
}

/* ---- HTTP details ---- */

static void test_head_has_no_body(void)
{
	char path[96];
	snprintf(path, sizeof path, "/api/accounts/%s", funded);
	as_admin();
	struct lf_h_conn c;
	CU_ASSERT_FATAL(lf_h_connect(&c, fx.d.port));
	/* HEAD then GET on one connection: the GET's answer is intact */
	char req[512];
	int n = snprintf(req, sizeof req,
			 "HEAD %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
			 "GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n",
			 path, lf_h_admin_key, path, lf_h_admin_key);
	CU_ASSERT_EQUAL(write(c.fd, req, (size_t)n), n);
	usleep(300 * 1000);
	char buf[8192];
	ssize_t got = read(c.fd, buf, sizeof buf - 1);
	CU_ASSERT_FATAL(got > 0);
	buf[got] = '\0';
	/* two status lines, and the first response's body is absent: the
	 * second status line follows the first header block directly */
	char *first_end = strstr(buf, "\r\n\r\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(first_end);
	CU_ASSERT_EQUAL(strncmp(first_end + 4, "HTTP/1.1 200", 12), 0);
	lf_h_close(&c);
	/* an HTTP version other than 1.0 and 1.1: 400 and close */
	struct lf_h_resp r;
	const char *odd = "GET /healthz HTTP/1.2\r\nHost: x\r\n\r\n";
	CU_ASSERT_EQUAL(lf_h_raw(fx.d.port, odd, strlen(odd), &r), 0);
	CU_ASSERT_EQUAL(r.status, 400);
	CU_ASSERT(r.conn_close);
	lf_h_resp_free(&r);
}

static void test_metrics_listen(void)
{
	unsigned ops = lf_h_free_port();
	char extra[128];
	snprintf(extra, sizeof extra, "[server]\nmetrics_listen = 127.0.0.1:%u\n", ops);
	struct lf_h_daemon d3;
	CU_ASSERT_FATAL(lf_h_daemon_config(&fx.env, &d3, fx.db, 1, extra));
	CU_ASSERT_FATAL(lf_h_daemon_start(&fx.env, &d3));
	lf_h_auth_use(NULL); /* the operators' address needs no key */
	struct lf_h_resp r;
	CU_ASSERT_EQUAL(lf_h_http(ops, "GET", "/metrics", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_PTR_NOT_NULL(r.body ? strstr(r.body, "ledgerflow_http_responses_total") : NULL);
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(lf_h_http(ops, "GET", "/healthz", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	lf_h_resp_free(&r);
	/* nothing else is there, and /metrics has left the clients' address */
	char path[96];
	snprintf(path, sizeof path, "/api/accounts/%s", funded);
	CU_ASSERT_EQUAL(lf_h_http(ops, "GET", path, NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 404);
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(lf_h_http(d3.port, "GET", "/metrics", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 404);
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(lf_h_http(d3.port, "GET", "/healthz", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	lf_h_resp_free(&r);
	as_admin();
	CU_ASSERT_EQUAL(lf_h_daemon_stop(&d3, SIGTERM, 15000), 0);
}

static const struct lf_test auth_tests[] = {
	{"401 for every endpoint: no key, Basic, malformed, unknown", test_unauthenticated},
	{"403 for a missing scope; funds:issue to create money", test_scopes},
	{"two clients: reads, debits, credits, payments", test_isolation},
	{"the same Idempotency-Key from two clients", test_same_key_two_clients},
	{"a client's burst: exactly its rate, RateLimit headers", test_client_burst},
	{"an address's burst without a key", test_anonymous_burst},
	{"[ratelimit] global: one limit across two hosts; fails open without Redis",
	 test_global_burst},
	{"a 429 is not a stored outcome", test_429_not_stored},
	{"rotate keeps the old key through its grace; revoke within a second",
	 test_revoke_and_rotate},
	{"HEAD has no body; odd HTTP versions are refused", test_head_has_no_body},
	{"/metrics on an address of its own", test_metrics_listen},
};

static const struct lf_suite suites[] = {{"auth", LF_TESTS(auth_tests)}};

int main(void)
{
	static const struct lf_h_fixture_opts opts = {.name = "auth", .setup = setup};
	return lf_h_fixture_main(suites, LF_COUNT(suites), &opts);
}
