/*
 * test_books.c - double-entry funding and the tamper-evident ledger
 * against a real ledgerflowd: GET /api/currencies and who sees the
 * issuance accounts, an opening balance as a transfer from issuance, each
 * ledger entry's "hash" equal to the C recomputation (lf_ledger_hash),
 * UPDATE/DELETE of ledger_entries and payments refused by the triggers to
 * the server's own database user, a standard account never negative, 422
 * amount_too_large for a payment and an opening that would overflow a
 * balance (recorded and replayed with the key), every currency summing to
 * 0 after concurrent openings and payments, and the start refused when
 * the currencies table disagrees with the built-in one.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/Basic.h>
#include <json-c/json.h>
#include <mysql.h>

#include "chain_check.h"
#include "harness.h"
#include "lf_ledger_hash.h"

#define USD_ISSUANCE "00000000-0000-8000-8000-000000555344"
#define NOK_ISSUANCE_HEX "000000000000800080000000004E4F4B"
#define THREADS 8
#define PER_THREAD 12

/* ---- helpers ---- */

static MYSQL *db(void)
{
	MYSQL *m = mysql_init(NULL);
	if (m && !mysql_real_connect(m, fx.env.mysql_host, fx.env.mysql_user, fx.env.mysql_password,
				     fx.db, fx.env.mysql_port, NULL, 0)) {
		fprintf(stderr, "test_books: %s\n", mysql_error(m));
		mysql_close(m);
		return NULL;
	}
	return m;
}

static long long sql_int(const char *q)
{
	long long v = -1;
	return lf_h_sql_int(&fx.env, fx.db, q, &v) ? v : -1;
}

/* A statement that must be refused: the server's error number, and
 * whether its message contains text. */
static unsigned refused(const char *q, const char *text)
{
	MYSQL *m = db();
	if (m == NULL)
		return 0;
	unsigned e = mysql_query(m, q) == 0 ? 0 : mysql_errno(m);
	if (e != 0 && text != NULL && strstr(mysql_error(m), text) == NULL)
		e = 1;
	mysql_close(m);
	return e;
}

static int64_t parse_ms(const char *t)
{
	struct tm tm = {0};
	int ms = 0;
	if (sscanf(t, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		   &tm.tm_min, &tm.tm_sec, &ms) != 7)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000 + ms;
}

static int64_t balance(const char *id, int exponent)
{
	char b[64];
	int64_t v;
	if (lf_h_balance(fx.d.port, id, b, sizeof b) != 200 || !lf_h_minor(b, exponent, &v))
		return INT64_MIN;
	return v;
}

/* The account's whole ledger (n entries, newest first) recomputed from
 * what the API returned; cps[i] the counterparty of the i-th oldest entry.
 * Returns how many entries carry the hash the C code computes. */
static int api_chain(const char *account, int exponent, const char *const *cps, int n)
{
	struct lf_h_entry e[16];
	char cursor[256];
	int got = lf_h_ledger(fx.d.port, account, "?limit=16", exponent, e, 16, cursor,
			      sizeof cursor);
	if (got != n || n > 16)
		return -1;
	uint8_t prev[LF_LEDGER_HASH_LEN];
	int ok = 0;
	for (int seq = 1; seq <= n; seq++) {
		const struct lf_h_entry *x = &e[n - seq];
		struct lf_ledger_hash_in in = {.seq = seq,
					       .has_payment = !x->payment_null,
					       .debit = strcmp(x->direction, "DEBIT") == 0,
					       .amount = x->amount,
					       .balance_after = x->balance_after,
					       .created_ms = parse_ms(x->created)};
		bool parsed = lf_uuid_parse(x->account, strlen(x->account), &in.account_id) &&
			      lf_uuid_parse(x->id, strlen(x->id), &in.id) &&
			      lf_uuid_parse(cps[seq - 1], 36, &in.counterparty_id) &&
			      (x->payment_null ||
			       lf_uuid_parse(x->payment, strlen(x->payment), &in.payment_id));
		uint8_t h[LF_LEDGER_HASH_LEN];
		char hex[2 * LF_LEDGER_HASH_LEN + 1];
		if (parsed && lf_ledger_hash(seq == 1 ? NULL : prev, &in, h)) {
			lf_ledger_hash_hex(h, hex);
			ok += strcmp(hex, x->hash) == 0;
		}
		memcpy(prev, h, sizeof prev);
	}
	return ok;
}

/* POST /api/payments; the code of a problem into code. */
static int pay(const char *key, const char *from, const char *to, const char *amount, char *code,
	       size_t len, bool *replayed)
{
	struct lf_h_resp r;
	int st = lf_h_pay(fx.d.port, key, from, to, amount, &r);
	char v[16];
	code[0] = '\0';
	if (st > 0)
		lf_h_json_str(r.body, "code", code, len);
	if (replayed)
		*replayed = st > 0 && lf_h_header(&r, "Idempotent-Replayed", v, sizeof v);
	lf_h_resp_free(&r);
	return st;
}

/* ---- currencies ---- */

static int currencies(const char *auth, char *usd_issuance, int *usd_exp, int *kwd_exp)
{
	struct lf_h_resp r;
	int n = -1;
	*usd_exp = *kwd_exp = -1;
	usd_issuance[0] = '\0';
	if (lf_h_http(fx.d.port, "GET", "/api/currencies", auth, NULL, &r) == 0 &&
	    r.status == 200) {
		struct json_object *root = json_tokener_parse(r.body), *arr;
		if (root && json_object_object_get_ex(root, "currencies", &arr)) {
			n = (int)json_object_array_length(arr);
			for (int i = 0; i < n; i++) {
				const char *o = json_object_to_json_string(
					json_object_array_get_idx(arr, (size_t)i));
				char code[8] = "";
				long long e = -1;
				lf_h_json_str(o, "code", code, sizeof code);
				lf_h_json_int(o, "exponent", &e);
				if (strcmp(code, "USD") == 0) {
					*usd_exp = (int)e;
					lf_h_json_str(o, "issuanceAccountId", usd_issuance, 37);
				} else if (strcmp(code, "KWD") == 0) {
					*kwd_exp = (int)e;
				}
			}
		}
		json_object_put(root);
	}
	lf_h_resp_free(&r);
	return n;
}

static void test_currencies(void)
{
	char iss[40];
	int usd, kwd;
	CU_ASSERT_EQUAL(currencies(NULL, iss, &usd, &kwd), 166);
	CU_ASSERT_STRING_EQUAL(iss, USD_ISSUANCE);
	CU_ASSERT_EQUAL(usd, 2);
	CU_ASSERT_EQUAL(kwd, 3);
	/* any client may list them; only admin sees an issuance account */
	char key[128], auth[200];
	CU_ASSERT_FATAL(lf_h_ctl_key(&fx.env, &fx.d, "client create reader --scopes accounts:read",
				     key, sizeof key) == 0);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", key);
	CU_ASSERT_EQUAL(currencies(auth, iss, &usd, &kwd), 166);
	struct lf_h_resp r;
	CU_ASSERT_EQUAL(lf_h_http(fx.d.port, "GET", "/api/accounts/" USD_ISSUANCE, auth, NULL, &r),
			0);
	CU_ASSERT_EQUAL(r.status, 404);
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(lf_h_http(fx.d.port, "GET", "/api/currencies",
				  "Authorization: Bearer lfk_000000000000.nope\r\n", NULL, &r),
			0);
	CU_ASSERT_EQUAL(r.status, 401);
	lf_h_resp_free(&r);
	char name[64];
	CU_ASSERT_EQUAL(lf_h_http(fx.d.port, "GET", "/api/accounts/" USD_ISSUANCE, NULL, NULL, &r),
			0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT(lf_h_json_str(r.body, "name", name, sizeof name) &&
		  strcmp(name, "issuance:USD") == 0);
	lf_h_resp_free(&r);
}

/* ---- openings, hashes ---- */

static void test_opening_is_a_transfer(void)
{
	int64_t before = balance(USD_ISSUANCE, 2);
	char a[37];
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "opened", "USD", "10.00", a), 201);
	CU_ASSERT_EQUAL(balance(USD_ISSUANCE, 2), before - 1000);
	CU_ASSERT(before <= 0);
	struct lf_h_entry e[2];
	char cursor[256];
	CU_ASSERT_EQUAL_FATAL(
		lf_h_ledger(fx.d.port, USD_ISSUANCE, "?limit=1", 2, e, 2, cursor, sizeof cursor),
		1);
	CU_ASSERT_STRING_EQUAL(e[0].direction, "DEBIT");
	CU_ASSERT(e[0].payment_null);
	CU_ASSERT_EQUAL(e[0].amount, 1000);
	CU_ASSERT_EQUAL(e[0].balance_after, before - 1000);
	const char *cps[] = {USD_ISSUANCE};
	CU_ASSERT_EQUAL(api_chain(a, 2, cps, 1), 1);
	CU_ASSERT(sql_int("SELECT COUNT(*) FROM ledger_entries WHERE account_id ="
			  " UNHEX('00000000000080008000000000555344') AND payment_id IS NULL"
			  " AND direction = 'DEBIT'") >= 1);
}

static void test_hash_in_api(void)
{
	char a[37], b[37], code[48];
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "hash-a", "USD", "20.00", a), 201);
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "hash-b", "USD", NULL, b), 201);
	CU_ASSERT_EQUAL(pay("books-hash-1", a, b, "5.00", code, sizeof code, NULL), 201);
	CU_ASSERT_EQUAL(pay("books-hash-2", b, a, "1.25", code, sizeof code, NULL), 201);
	const char *a_cps[] = {USD_ISSUANCE, b, b};
	const char *b_cps[] = {a, a};
	CU_ASSERT_EQUAL(api_chain(a, 2, a_cps, 3), 3);
	CU_ASSERT_EQUAL(api_chain(b, 2, b_cps, 2), 2);
	/* a wrong counterparty gives another hash: the check can fail */
	const char *wrong[] = {a, b};
	CU_ASSERT_EQUAL(api_chain(b, 2, wrong, 2), 1);
}

/* ---- append-only, never negative ---- */

static void test_append_only(void)
{
	long long entries = sql_int("SELECT COUNT(*) FROM ledger_entries");
	long long sum = sql_int("SELECT SUM(amount) FROM payments");
	CU_ASSERT(entries > 0 && sum > 0);
	CU_ASSERT_EQUAL(refused("UPDATE ledger_entries SET amount = amount + 1", "append-only"),
			1644);
	CU_ASSERT_EQUAL(refused("DELETE FROM ledger_entries", "append-only"), 1644);
	CU_ASSERT_EQUAL(refused("UPDATE payments SET amount = 1", "append-only"), 1644);
	CU_ASSERT_EQUAL(refused("DELETE FROM payments LIMIT 1", "append-only"), 1644);
	CU_ASSERT_EQUAL(sql_int("SELECT COUNT(*) FROM ledger_entries"), entries);
	CU_ASSERT_EQUAL(sql_int("SELECT SUM(amount) FROM payments"), sum);
}

static void test_never_negative(void)
{
	char c[37], d[37], code[48];
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "poor", "USD", "1.00", c), 201);
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "rich", "USD", NULL, d), 201);
	CU_ASSERT_EQUAL(pay("books-poor", c, d, "1.01", code, sizeof code, NULL), 422);
	CU_ASSERT_STRING_EQUAL(code, "insufficient_funds");
	CU_ASSERT_EQUAL(balance(c, 2), 100);
	/* not even by hand: the CHECK holds for every account but issuance */
	CU_ASSERT_NOT_EQUAL(refused("UPDATE accounts SET balance = -1 WHERE kind = 'STANDARD'"
				    " LIMIT 1",
				    NULL),
			    0);
	CU_ASSERT(
		sql_int("SELECT COUNT(*) FROM accounts WHERE balance < 0 AND kind = 'STANDARD'") ==
		0);
	CU_ASSERT(balance(USD_ISSUANCE, 2) < 0);
}

/* ---- overflow ---- */

static void test_overflow_payment(void)
{
	char s[37], r[37], code[48], sql[256];
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "ovf-s", "NOK", "5.00", s), 201);
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "ovf-r", "NOK", NULL, r), 201);
	/* the receiver 1.00 below the largest balance (set by hand, put back below) */
	snprintf(sql, sizeof sql,
		 "UPDATE accounts SET balance = 9223372036854775707 WHERE id ="
		 " UNHEX(REPLACE('%s', '-', ''))",
		 r);
	CU_ASSERT_FATAL(lf_h_sql(&fx.env, fx.db, sql));
	bool replayed = true;
	CU_ASSERT_EQUAL(pay("books-ovf", s, r, "1.01", code, sizeof code, &replayed), 422);
	CU_ASSERT_STRING_EQUAL(code, "amount_too_large");
	CU_ASSERT_FALSE(replayed);
	CU_ASSERT_EQUAL(pay("books-ovf", s, r, "1.01", code, sizeof code, &replayed), 422);
	CU_ASSERT_STRING_EQUAL(code, "amount_too_large");
	CU_ASSERT_TRUE(replayed);
	CU_ASSERT_EQUAL(balance(s, 2), 500);
	snprintf(sql, sizeof sql,
		 "SELECT COUNT(*) FROM payments WHERE from_account_id ="
		 " UNHEX(REPLACE('%s', '-', ''))",
		 s);
	CU_ASSERT_EQUAL(sql_int(sql), 0); /* decided, nothing written */
	snprintf(sql, sizeof sql,
		 "UPDATE accounts SET balance = 0 WHERE id = UNHEX(REPLACE('%s', '-', ''))", r);
	CU_ASSERT(lf_h_sql(&fx.env, fx.db, sql));
}

static int open_with_key(const char *key, const char *name, const char *initial, char *code,
			 bool *replayed)
{
	char h[128], body[160], v[16];
	snprintf(h, sizeof h, "Idempotency-Key: %s\r\n", key);
	snprintf(body, sizeof body,
		 "{\"name\":\"%s\",\"currency\":\"NOK\",\"initialBalance\":\"%s\"}", name, initial);
	struct lf_h_resp r;
	int st = lf_h_http(fx.d.port, "POST", "/api/accounts", key ? h : NULL, body, &r) == 0
			 ? r.status
			 : -1;
	code[0] = '\0';
	if (st > 0)
		lf_h_json_str(r.body, "code", code, 48);
	*replayed = st > 0 && lf_h_header(&r, "Idempotent-Replayed", v, sizeof v);
	lf_h_resp_free(&r);
	return st;
}

static void test_overflow_opening(void)
{
	long long was =
		sql_int("SELECT balance FROM accounts WHERE id = UNHEX('" NOK_ISSUANCE_HEX "')");
	/* the NOK issuance account 0.50 above the smallest balance */
	CU_ASSERT_FATAL(lf_h_sql(&fx.env, fx.db,
				 "UPDATE accounts SET balance = -9223372036854775758 WHERE id ="
				 " UNHEX('" NOK_ISSUANCE_HEX "')"));
	char code[48];
	bool replayed = true;
	CU_ASSERT_EQUAL(open_with_key("books-big", "big", "0.51", code, &replayed), 422);
	CU_ASSERT_STRING_EQUAL(code, "amount_too_large");
	CU_ASSERT_FALSE(replayed);
	CU_ASSERT_EQUAL(open_with_key("books-big", "big", "0.51", code, &replayed), 422);
	CU_ASSERT_STRING_EQUAL(code, "amount_too_large");
	CU_ASSERT_TRUE(replayed);
	CU_ASSERT_EQUAL(open_with_key(NULL, "big", "0.51", code, &replayed), 422);
	CU_ASSERT_STRING_EQUAL(code, "amount_too_large");
	CU_ASSERT_EQUAL(sql_int("SELECT COUNT(*) FROM accounts WHERE name = 'big'"), 0);
	CU_ASSERT_EQUAL(
		sql_int("SELECT balance FROM accounts WHERE id = UNHEX('" NOK_ISSUANCE_HEX "')"),
		-9223372036854775758LL);
	char sql[200];
	snprintf(sql, sizeof sql,
		 "UPDATE accounts SET balance = %lld WHERE id = UNHEX('" NOK_ISSUANCE_HEX "')",
		 was);
	CU_ASSERT(lf_h_sql(&fx.env, fx.db, sql));
}

/* ---- concurrency: issuance is one hot row per currency ---- */

struct worker {
	int idx;
	char target[37];
	int created, paid, other;
};

static void *opener(void *arg)
{
	struct worker *w = arg;
	int64_t deadline = lf_h_now_ms() + 60000;
	for (int i = 0; i < PER_THREAD && lf_h_now_ms() < deadline; i++) {
		char name[48], id[37], key[64], code[48];
		snprintf(name, sizeof name, "conc-%d-%d", w->idx, i);
		const char *cur = i % 2 ? "JPY" : "USD";
		int st = lf_h_account(fx.d.port, name, cur, i % 2 ? "700" : "3.00", id);
		w->created += st == 201;
		if (st != 201 || i % 2) {
			w->other += st != 201;
			continue;
		}
		snprintf(key, sizeof key, "books-conc-%d-%d", w->idx, i);
		st = pay(key, id, w->target, "1.50", code, sizeof code, NULL);
		w->paid += st == 201;
		w->other += st != 201;
	}
	return NULL;
}

static void test_concurrent_issuance(void)
{
	static struct worker w[THREADS];
	pthread_t t[THREADS];
	char target[37];
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "conc-target", "USD", NULL, target), 201);
	for (int i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].idx = i;
		memcpy(w[i].target, target, sizeof target);
		pthread_create(&t[i], NULL, opener, &w[i]);
	}
	int created = 0, paid = 0, other = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		created += w[i].created;
		paid += w[i].paid;
		other += w[i].other;
	}
	CU_ASSERT_EQUAL(created, THREADS * PER_THREAD);
	CU_ASSERT_EQUAL(paid, THREADS * PER_THREAD / 2);
	CU_ASSERT_EQUAL(other, 0);
	CU_ASSERT_EQUAL(balance(target, 2), 150 * paid);
	CU_ASSERT_EQUAL(sql_int("SELECT COUNT(*) FROM (SELECT currency FROM accounts"
				" GROUP BY currency HAVING SUM(balance) <> 0) x"),
			0);
	CU_ASSERT_EQUAL(sql_int("SELECT -balance FROM accounts WHERE name = 'issuance:JPY'"),
			700LL * THREADS * PER_THREAD / 2);
	MYSQL *m = db();
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	long checked = 0;
	CU_ASSERT_EQUAL(chain_check(m, &checked), 0);
	CU_ASSERT_EQUAL(checked, sql_int("SELECT COUNT(*) FROM ledger_entries"));
	mysql_close(m);
	CU_ASSERT_EQUAL(lf_h_ctl(&fx.env, &fx.d, "reconcile"), 0);
}

/* ---- the start check ---- */

static bool start_refused(const char *text)
{
	struct lf_h_daemon d2;
	if (!lf_h_daemon_config(&fx.env, &d2, fx.db, 1, NULL))
		return false;
	if (lf_h_daemon_start(&fx.env, &d2)) {
		lf_h_daemon_stop(&d2, SIGTERM, 15000);
		return false;
	}
	return lf_h_log_contains(&d2, "msg=start_failed") && lf_h_log_contains(&d2, text);
}

static void test_currencies_mismatch(void)
{
	CU_ASSERT_FATAL(
		lf_h_sql(&fx.env, fx.db, "UPDATE currencies SET exponent = 3 WHERE code = 'USD'"));
	CU_ASSERT(start_refused("USD has exponent 3 in the currencies table, 2 built in"));
	CU_ASSERT_FATAL(
		lf_h_sql(&fx.env, fx.db, "UPDATE currencies SET exponent = 2 WHERE code = 'USD'"));
	CU_ASSERT_FATAL(lf_h_sql(&fx.env, fx.db, "DELETE FROM currencies WHERE code = 'XCG'"));
	CU_ASSERT(start_refused("XCG is built in but not in the currencies table"));
	CU_ASSERT_FATAL(lf_h_sql(&fx.env, fx.db,
				 "INSERT INTO currencies (code, exponent, issuance_account_id)"
				 " VALUES ('XCG', 2, UNHEX('00000000000080008000000000584347'))"));
	/* agreeing again: a second daemon starts */
	struct lf_h_daemon d2;
	CU_ASSERT_FATAL(lf_h_daemon_config(&fx.env, &d2, fx.db, 1, NULL));
	CU_ASSERT_FATAL(lf_h_daemon_start(&fx.env, &d2));
	CU_ASSERT_EQUAL(lf_h_daemon_stop(&d2, SIGTERM, 15000), 0);
}

int main(void)
{
	static const struct lf_test tests[] = {
		{"GET /api/currencies; issuance accounts only for admin", test_currencies},
		{"an opening balance is a transfer from issuance", test_opening_is_a_transfer},
		{"each entry's hash in the API equals the C recomputation", test_hash_in_api},
		{"UPDATE/DELETE of entries and payments refused", test_append_only},
		{"a standard account never goes negative", test_never_negative},
		{"a payment that would overflow: 422 amount_too_large, replayed",
		 test_overflow_payment},
		{"an opening that would overflow: 422 amount_too_large, replayed",
		 test_overflow_opening},
		{"concurrent openings and payments: every currency sums to 0",
		 test_concurrent_issuance},
		{"a currencies table that disagrees: the start is refused",
		 test_currencies_mismatch},
	};
	static const struct lf_suite suites[] = {{"books", LF_TESTS(tests)}};
	static const struct lf_h_fixture_opts opts = {.name = "books"};
	return lf_h_fixture_main(suites, LF_COUNT(suites), &opts);
}
