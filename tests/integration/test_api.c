/*
 * test_api.c - the test_api program: every account and payment endpoint
 * against the real ledgerflowd, held to doc api-contract: statuses,
 * Content-Type, problem documents and their codes, Location,
 * Idempotent-Replayed and X-Request-Id headers, idempotent replays byte for
 * byte, the ledger's keyset pages and its balanceAfter chain. This file
 * owns main() (the table of tests), the helpers the other files share
 * (test_api.h) and the ledger tests; the account tests are in
 * test_api_accounts.c, the payment tests in test_api_payments.c. The
 * concurrency suite is test_concurrency.c.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "test_api.h"

static int keyno, idno;

/* ---- helpers ---- */

void next_key(char *buf, size_t len)
{
	snprintf(buf, len, "api-%ld-%d", (long)getpid(), ++keyno);
}

/* A fresh lower-case UUID (version 4 layout) unique to this run. */
void next_uuid(char out[37])
{
	unsigned n = (unsigned)++idno;
	snprintf(out, 37, "%08lx-%04x-4abc-8def-%012x", (unsigned long)getpid() & 0xffffffffUL,
		 n & 0xffff, n * 7919u);
}

int http(const char *method, const char *path, const char *headers, const char *body,
	 struct lf_h_resp *r)
{
	return lf_h_http(fx.d.port, method, path, headers, body, r) == 0 ? r->status : -1;
}

int pay_raw(const char *key, const char *body, struct lf_h_resp *r)
{
	char h[1024];
	snprintf(h, sizeof h, "Idempotency-Key: %s\r\n", key);
	return http("POST", "/api/payments", h, body, r);
}

int pay(const char *key, const char *from, const char *to, const char *amount, struct lf_h_resp *r)
{
	char body[512];
	snprintf(body, sizeof body,
		 "{\"fromAccountId\":\"%s\",\"toAccountId\":\"%s\",\"amount\":%s}", from, to,
		 amount);
	return pay_raw(key, body, r);
}

/* A POST with a chosen Content-Type (NULL: none), sent byte for byte. */
int post_ct(const char *path, const char *ctype, const char *headers, const char *body,
	    struct lf_h_resp *r)
{
	size_t n = strlen(body) + 1200;
	char *req = malloc(n);
	char auth[200] = "";
	if (lf_h_auth_key()[0] != '\0')
		snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", lf_h_auth_key());
	int len = snprintf(
		req, n,
		"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%s%s%sContent-Length: %zu\r\n\r\n%s",
		path, auth, ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "",
		headers ? headers : "", strlen(body), body);
	int rc = lf_h_raw(fx.d.port, req, (size_t)len, r);
	free(req);
	return rc == 0 ? r->status : -1;
}

void fill(char *out, size_t len, const char *tmpl, const char *a, const char *b)
{
	size_t n = 0;
	for (const char *p = tmpl; *p && n + 40 < len; p++) {
		const char *put = *p == '@' ? a : *p == '#' ? b : NULL;
		if (put) {
			memcpy(out + n, put, strlen(put));
			n += strlen(put);
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
}

bool header_is(const struct lf_h_resp *r, const char *name, const char *want)
{
	char v[512];
	return lf_h_header(r, name, v, sizeof v) && strcmp(v, want) == 0;
}

bool str_is(const char *body, const char *name, const char *want)
{
	char v[1024];
	bool ok = lf_h_json_str(body, name, v, sizeof v) && strcmp(v, want) == 0;
	if (!ok)
		fprintf(stderr, "  member %s: want \"%s\", got \"%s\"\n", name, want, v);
	return ok;
}

bool is_uuid_lower(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-'
			 : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

/* 2026-11-25T14:52:28.123Z */
bool is_timestamp(const char *s)
{
	const char *pat = "dddd-dd-ddTdd:dd:dd.dddZ";
	if (strlen(s) != strlen(pat))
		return false;
	for (size_t i = 0; pat[i]; i++)
		if (pat[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != pat[i])
			return false;
	return true;
}

bool member_ok(const char *body, const char *name, bool (*check)(const char *))
{
	char v[128];
	return lf_h_json_str(body, name, v, sizeof v) && check(v);
}

/* status, problem+json and the document's members */
bool problem_at(const struct lf_h_resp *r, int status, const char *code, int line)
{
	long long st = 0;
	char v[256];
	bool ok = r->status == status && header_is(r, "Content-Type", "application/problem+json") &&
		  lf_h_json_str(r->body, "code", v, sizeof v) && strcmp(v, code) == 0 &&
		  lf_h_json_int(r->body, "status", &st) && st == status &&
		  lf_h_json_str(r->body, "type", v, sizeof v) && v[0] &&
		  lf_h_json_str(r->body, "title", v, sizeof v) && v[0] &&
		  lf_h_json_str(r->body, "detail", v, sizeof v) && v[0];
	if (!ok)
		fprintf(stderr, "\n  line %d: want %d %s, got %d %s\n", line, status, code,
			r->status, r->body ? r->body : "(no body)");
	return ok;
}

/* st is evaluated once: (request(..., &r), expected) */
bool status_at(const struct lf_h_resp *r, int status, int line)
{
	if (r->status != status)
		fprintf(stderr, "\n  line %d: want %d, got %d %s\n", line, status, r->status,
			r->body ? r->body : "");
	return r->status == status;
}

bool balance_is(const char *id, const char *want)
{
	char b[64];
	int st = lf_h_balance(fx.d.port, id, b, sizeof b);
	if (st != 200 || strcmp(b, want) != 0)
		fprintf(stderr, "\n  balance of %s: want %s, got %d %s\n", id, want, st, b);
	return st == 200 && strcmp(b, want) == 0;
}

void account(const char *name, const char *cur, const char *initial, char id[37])
{
	int st = lf_h_account(fx.d.port, name, cur, initial, id);
	CU_ASSERT_EQUAL_FATAL(st, 201);
}

/* ---- ledger ---- */

#define ledger_page(acct, query, out, max, cursor, clen) \
	lf_h_ledger(fx.d.port, (acct), (query), 2, (out), (max), (cursor), (clen))

static void test_ledger_pagination(void)
{
	char l[37], m[37], key[64], pids[6][64];
	account("ledger-l", "USD", "100", l);
	account("ledger-m", "USD", "50", m);
	/* L: -1 -2 -3 +4 -5 +6 */
	static const char *amt[] = {"1", "2", "3", "4", "5", "6"};
	static const bool out[] = {true, true, true, false, true, false};
	for (int i = 0; i < 6; i++) {
		struct lf_h_resp r;
		next_key(key, sizeof key);
		EXPECT_STATUS(r, (pay(key, out[i] ? l : m, out[i] ? m : l, amt[i], &r), 201));
		lf_h_json_str(r.body, "id", pids[i], sizeof pids[i]);
		lf_h_resp_free(&r);
	}
	CU_ASSERT(balance_is(l, "99.00"));
	struct lf_h_entry all[16];
	char cursor[128], q[256];
	int total = 0, pages = 0, sizes[8] = {0};
	snprintf(q, sizeof q, "?limit=3");
	while (pages < 8) {
		int n = ledger_page(l, q, all + total, 16 - total, cursor, sizeof cursor);
		CU_ASSERT_FATAL(n >= 0 && total + n <= 16);
		sizes[pages++] = n;
		total += n;
		if (cursor[0] == '\0')
			break;
		snprintf(q, sizeof q, "?limit=3&cursor=%s", cursor);
	}
	CU_ASSERT_EQUAL(pages, 3);
	CU_ASSERT(sizes[0] == 3 && sizes[1] == 3 && sizes[2] == 1);
	CU_ASSERT_FATAL(total == 7);
	/* newest first: +6 -5 +4 -3 -2 -1, then the opening +100 */
	for (int i = 0; i < 6; i++) {
		struct lf_h_entry *e = &all[i];
		int k = 5 - i;
		CU_ASSERT_STRING_EQUAL(e->direction, out[k] ? "DEBIT" : "CREDIT");
		CU_ASSERT_EQUAL(e->amount, (k + 1) * 100);
		CU_ASSERT_STRING_EQUAL(e->payment, pids[k]);
		int64_t delta = out[k] ? -e->amount : e->amount;
		CU_ASSERT_EQUAL(e->balance_after, all[i + 1].balance_after + delta);
	}
	for (int i = 0; i < 7; i++) {
		CU_ASSERT(is_uuid_lower(all[i].id) && is_timestamp(all[i].created));
		CU_ASSERT_STRING_EQUAL(all[i].account, l);
		for (int j = 0; j < i; j++)
			CU_ASSERT(strcmp(all[i].id, all[j].id) != 0);
	}
	CU_ASSERT_EQUAL(all[0].balance_after, 9900);
	CU_ASSERT(all[6].payment_null && strcmp(all[6].direction, "CREDIT") == 0);
	CU_ASSERT(all[6].amount == 10000 && all[6].balance_after == 10000);
	/* nextCursor is null exactly at the end */
	struct lf_h_entry e[16];
	CU_ASSERT_EQUAL(ledger_page(l, "?limit=7", e, 16, cursor, sizeof cursor), 7);
	CU_ASSERT_STRING_EQUAL(cursor, "");
	CU_ASSERT_EQUAL(ledger_page(l, "", e, 16, cursor, sizeof cursor), 7);
	CU_ASSERT_STRING_EQUAL(cursor, "");
	CU_ASSERT_EQUAL(ledger_page(l, "?limit=6", e, 16, cursor, sizeof cursor), 6);
	CU_ASSERT(cursor[0] != '\0');
	snprintf(q, sizeof q, "?cursor=%s&limit=6", cursor);
	CU_ASSERT_EQUAL(ledger_page(l, q, e, 16, cursor, sizeof cursor), 1);
	CU_ASSERT(e[0].payment_null && strcmp(cursor, "") == 0);
	/* no entry for a zero opening balance */
	char z[37];
	account("ledger-zero", "USD", "0", z);
	CU_ASSERT_EQUAL(ledger_page(z, "?limit=1", e, 16, cursor, sizeof cursor), 0);
	CU_ASSERT_STRING_EQUAL(cursor, "");
	/* the other side's ledger agrees */
	CU_ASSERT_EQUAL(ledger_page(m, "?limit=500", e, 16, cursor, sizeof cursor), 7);
	CU_ASSERT_EQUAL(e[0].balance_after, 5100);
}

static void test_ledger_errors(void)
{
	char l[37], m[37], key[64], cursor[128], path[300];
	struct lf_h_resp r;
	account("lerr-l", "USD", "10", l);
	account("lerr-m", "USD", "10", m);
	for (int i = 0; i < 3; i++) {
		next_key(key, sizeof key);
		EXPECT_STATUS(r, (pay(key, l, m, "1", &r), 201));
		lf_h_resp_free(&r);
	}
	struct lf_h_entry e[8];
	CU_ASSERT_EQUAL(ledger_page(l, "?limit=2", e, 8, cursor, sizeof cursor), 2);
	CU_ASSERT_FATAL(cursor[0] != '\0');
	const char *bad_limits[] = {"0", "501", "abc", "-1", "", "1.5", "2x"};
	for (size_t i = 0; i < sizeof bad_limits / sizeof bad_limits[0]; i++) {
		snprintf(path, sizeof path, "/api/accounts/%s/ledger?limit=%s", l, bad_limits[i]);
		ONE_PROBLEM(http("GET", path, NULL, NULL, &r_), 400, "invalid_request");
	}
	char tampered[128];
	snprintf(tampered, sizeof tampered, "%s", cursor);
	size_t tl = strlen(tampered);
	tampered[tl - 1] = tampered[tl - 1] == '0' ? '1' : '0';
	const char *bad_cursors[] = {tampered, "abc", "1", "999999.0000000000000000"};
	for (size_t i = 0; i < sizeof bad_cursors / sizeof bad_cursors[0]; i++) {
		snprintf(path, sizeof path, "/api/accounts/%s/ledger?cursor=%s", l, bad_cursors[i]);
		ONE_PROBLEM(http("GET", path, NULL, NULL, &r_), 400, "invalid_request");
	}
	/* a cursor issued for another account */
	snprintf(path, sizeof path, "/api/accounts/%s/ledger?cursor=%s", m, cursor);
	ONE_PROBLEM(http("GET", path, NULL, NULL, &r_), 400, "invalid_request");
	snprintf(path, sizeof path, "/api/accounts/%s/ledger?limit=500", l);
	EXPECT_STATUS(r, (http("GET", path, NULL, NULL, &r), 200));
	lf_h_resp_free(&r);
	char ghost[37];
	next_uuid(ghost);
	snprintf(path, sizeof path, "/api/accounts/%s/ledger", ghost);
	ONE_PROBLEM(http("GET", path, NULL, NULL, &r_), 404, "account_not_found");
	ONE_PROBLEM(http("GET", "/api/accounts/nope/ledger", NULL, NULL, &r_), 400, "invalid_id");
}

static void test_reconcile(void)
{
	CU_ASSERT_EQUAL(lf_h_ctl(&fx.env, &fx.d, "reconcile"), 0);
}

int main(void)
{
	static const struct lf_test accounts[] = {
		{"create, Location, GET it back", test_account_create_and_get},
		{"initial balances: absent/0/number/string, JPY, KWD",
		 test_account_initial_balances},
		{"client id, 409 account_exists, upper-case ids", test_account_with_id},
		{"400 invalid_request", test_account_invalid_request},
		{"400 invalid_amount and invalid_json", test_account_invalid_amount_and_json},
		{"415 unless application/json", test_account_media_type},
		{"404 account_not_found, 400 invalid_id", test_account_get_errors},
		{"Idempotency-Key replays the creation", test_account_idempotency},
	};
	static const struct lf_test payments[] = {
		{"201, Location, GET it back", test_payment_created},
		{"404 payment_not_found, 400 invalid_id", test_payment_get_errors},
		{"422 insufficient_funds recorded and replayed", test_insufficient_funds},
		{"422 account_not_found, same_account, currency_mismatch", test_payment_422s},
		{"400 invalid_json, invalid_request, invalid_amount", test_payment_400s},
		{"Idempotency-Key missing, invalid, quoted", test_idempotency_keys},
		{"replay byte for byte, 422 idempotency_key_reused", test_idempotent_replay},
		{"a 400 then the fixed request with the same key", test_400_then_fixed},
		{"413, 405 with Allow, 404, X-Request-Id", test_protocol_errors},
	};
	static const struct lf_test ledger[] = {
		{"pagination and the balanceAfter chain", test_ledger_pagination},
		{"400 limit and cursor, 404, invalid_id", test_ledger_errors},
		{"ledgerflowctl reconcile exits 0", test_reconcile},
	};
	static const struct lf_suite suites[] = {
		{"accounts", LF_TESTS(accounts)},
		{"payments", LF_TESTS(payments)},
		{"ledger", LF_TESTS(ledger)},
	};
	static const struct lf_h_fixture_opts opts = {.name = "api", .seed = true};
	return lf_h_fixture_main(suites, LF_COUNT(suites), &opts);
}
