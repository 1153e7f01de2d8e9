/*
 * test_api.c - every account and payment endpoint against the real
 * ledgerflowd, held to doc api-contract: statuses, Content-Type, problem
 * documents and their codes, Location, Idempotent-Replayed and X-Request-Id
 * headers, idempotent replays byte for byte, the ledger's keyset pages and
 * its balanceAfter chain. The concurrency suite is test_concurrency.c.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "harness.h"

static int keyno, idno;

/* ---- helpers ---- */

static void next_key(char *buf, size_t len)
{
	snprintf(buf, len, "api-%ld-%d", (long)getpid(), ++keyno);
}

/* A fresh lower-case UUID (version 4 layout) unique to this run. */
static void next_uuid(char out[37])
{
	unsigned n = (unsigned)++idno;
	snprintf(out, 37, "%08lx-%04x-4abc-8def-%012x", (unsigned long)getpid() & 0xffffffffUL,
		 n & 0xffff, n * 7919u);
}

static int http(const char *method, const char *path, const char *headers, const char *body,
		struct lf_h_resp *r)
{
	return lf_h_http(fx.d.port, method, path, headers, body, r) == 0 ? r->status : -1;
}

static int pay_raw(const char *key, const char *body, struct lf_h_resp *r)
{
	char h[1024];
	snprintf(h, sizeof h, "Idempotency-Key: %s\r\n", key);
	return http("POST", "/api/payments", h, body, r);
}

static int pay(const char *key, const char *from, const char *to, const char *amount,
	       struct lf_h_resp *r)
{
	char body[512];
	snprintf(body, sizeof body,
		 "{\"fromAccountId\":\"%s\",\"toAccountId\":\"%s\",\"amount\":%s}", from, to,
		 amount);
	return pay_raw(key, body, r);
}

/* A POST with a chosen Content-Type (NULL: none), sent byte for byte. */
static int post_ct(const char *path, const char *ctype, const char *headers, const char *body,
		   struct lf_h_resp *r)
{
	size_t n = strlen(body) + 1024;
	char *req = malloc(n);
	int len = snprintf(
		req, n,
		"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%s%sContent-Length: %zu\r\n\r\n%s",
		path, ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "",
		headers ? headers : "", strlen(body), body);
	int rc = lf_h_raw(fx.d.port, req, (size_t)len, r);
	free(req);
	return rc == 0 ? r->status : -1;
}

/* tmpl with each @ replaced by a and each # by b; FT starts a payment */
#define FT "{\"fromAccountId\":\"@\",\"toAccountId\":\"#\""
static void fill(char *out, size_t len, const char *tmpl, const char *a, const char *b)
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

static bool header_is(const struct lf_h_resp *r, const char *name, const char *want)
{
	char v[512];
	return lf_h_header(r, name, v, sizeof v) && strcmp(v, want) == 0;
}

static bool str_is(const char *body, const char *name, const char *want)
{
	char v[1024];
	bool ok = lf_h_json_str(body, name, v, sizeof v) && strcmp(v, want) == 0;
	if (!ok)
		fprintf(stderr, "  member %s: want \"%s\", got \"%s\"\n", name, want, v);
	return ok;
}

static bool is_uuid_lower(const char *s)
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
static bool is_timestamp(const char *s)
{
	const char *pat = "dddd-dd-ddTdd:dd:dd.dddZ";
	if (strlen(s) != strlen(pat))
		return false;
	for (size_t i = 0; pat[i]; i++)
		if (pat[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != pat[i])
			return false;
	return true;
}

static bool member_ok(const char *body, const char *name, bool (*check)(const char *))
{
	char v[128];
	return lf_h_json_str(body, name, v, sizeof v) && check(v);
}

/* status, problem+json and the document's members */
static bool problem_at(const struct lf_h_resp *r, int status, const char *code, int line)
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
#define PROBLEM(r, st, code) CU_ASSERT(problem_at(&(r), (st), (code), __LINE__))
/* one request into r_, its problem checked, r_ freed */
#define ONE_PROBLEM(call, st, code)                                 \
	do {                                                        \
		struct lf_h_resp r_;                                \
		(void)(call);                                       \
		CU_ASSERT(problem_at(&r_, (st), (code), __LINE__)); \
		lf_h_resp_free(&r_);                                \
	} while (0)

/* st is evaluated once: (request(..., &r), expected) */
static bool status_at(const struct lf_h_resp *r, int status, int line)
{
	if (r->status != status)
		fprintf(stderr, "\n  line %d: want %d, got %d %s\n", line, status, r->status,
			r->body ? r->body : "");
	return r->status == status;
}
#define EXPECT_STATUS(r, st) CU_ASSERT(status_at(&(r), (st), __LINE__))

static bool balance_is(const char *id, const char *want)
{
	char b[64];
	int st = lf_h_balance(fx.d.port, id, b, sizeof b);
	if (st != 200 || strcmp(b, want) != 0)
		fprintf(stderr, "\n  balance of %s: want %s, got %d %s\n", id, want, st, b);
	return st == 200 && strcmp(b, want) == 0;
}

static void account(const char *name, const char *cur, const char *initial, char id[37])
{
	int st = lf_h_account(fx.d.port, name, cur, initial, id);
	CU_ASSERT_EQUAL_FATAL(st, 201);
}

/* ---- accounts ---- */

static bool account_body_ok(const char *body, const char *name, const char *cur, const char *bal)
{
	return member_ok(body, "id", is_uuid_lower) && str_is(body, "name", name) &&
	       str_is(body, "currency", cur) && str_is(body, "balance", bal) &&
	       member_ok(body, "createdAt", is_timestamp) &&
	       member_ok(body, "updatedAt", is_timestamp);
}

static void test_account_create_and_get(void)
{
	struct lf_h_resp r, g;
	CU_ASSERT_EQUAL(http("POST", "/api/accounts", NULL,
			     "{\"name\":\"Alice\",\"currency\":\"USD\",\"initialBalance\":\"100\"}",
			     &r),
			201);
	CU_ASSERT(header_is(&r, "Content-Type", "application/json"));
	CU_ASSERT(account_body_ok(r.body, "Alice", "USD", "100.00"));
	char id[64], loc[128], path[128];
	CU_ASSERT_FATAL(lf_h_json_str(r.body, "id", id, sizeof id));
	CU_ASSERT_EQUAL(id[14], '7'); /* the server makes UUIDv7 */
	snprintf(path, sizeof path, "/api/accounts/%s", id);
	CU_ASSERT(lf_h_header(&r, "Location", loc, sizeof loc) && strcmp(loc, path) == 0);
	CU_ASSERT(!lf_h_header(&r, "Idempotent-Replayed", loc, sizeof loc));
	CU_ASSERT_EQUAL(http("GET", path, NULL, NULL, &g), 200);
	CU_ASSERT(header_is(&g, "Content-Type", "application/json"));
	CU_ASSERT(account_body_ok(g.body, "Alice", "USD", "100.00"));
	CU_ASSERT(str_is(g.body, "id", id));
	char c1[64], c2[64];
	lf_h_json_str(r.body, "createdAt", c1, sizeof c1);
	lf_h_json_str(g.body, "createdAt", c2, sizeof c2);
	CU_ASSERT_STRING_EQUAL(c1, c2);
	lf_h_resp_free(&r);
	lf_h_resp_free(&g);
	/* the seeded demo account */
	EXPECT_STATUS(g, (http("GET", "/api/accounts/11111111-1111-1111-1111-111111111111", NULL,
			       NULL, &g),
			  200));
	CU_ASSERT(str_is(g.body, "name", "Alice") && str_is(g.body, "currency", "USD"));
	lf_h_resp_free(&g);
}

static void test_account_initial_balances(void)
{
	static const struct {
		const char *member, *cur, *want;
	} cases[] = {
		{"", "USD", "0.00"},
		{",\"initialBalance\":0", "USD", "0.00"},
		{",\"initialBalance\":\"0\"", "USD", "0.00"},
		{",\"initialBalance\":12.5", "USD", "12.50"},
		{",\"initialBalance\":100", "USD", "100.00"},
		{",\"initialBalance\":\"100.00\"", "USD", "100.00"},
		{",\"initialBalance\":5", "JPY", "5"},
		{",\"initialBalance\":\"5\"", "JPY", "5"},
		{",\"initialBalance\":\"1.25\"", "KWD", "1.250"},
		{",\"initialBalance\":1.250", "KWD", "1.250"},
		{",\"initialBalance\":\"0.001\"", "KWD", "0.001"},
		{",\"initialBalance\":\"10000000000000.00\"", "USD", "10000000000000.00"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char body[256], id[64], name[16];
		struct lf_h_resp r;
		snprintf(name, sizeof name, "b%zu", i);
		snprintf(body, sizeof body, "{\"name\":\"%s\",\"currency\":\"%s\"%s}", name,
			 cases[i].cur, cases[i].member);
		EXPECT_STATUS(r, (http("POST", "/api/accounts", NULL, body, &r), 201));
		CU_ASSERT(account_body_ok(r.body, name, cases[i].cur, cases[i].want));
		if (lf_h_json_str(r.body, "id", id, sizeof id))
			CU_ASSERT(balance_is(id, cases[i].want));
		lf_h_resp_free(&r);
	}
}

static void test_account_with_id(void)
{
	char id[37], upper[37], body[256], path[128], loc[128];
	struct lf_h_resp r;
	next_uuid(id);
	for (int i = 0; i < 37; i++)
		upper[i] = (char)(id[i] >= 'a' && id[i] <= 'f' ? id[i] - 32 : id[i]);
	snprintf(body, sizeof body, "{\"id\":\"%s\",\"name\":\"Bob\",\"currency\":\"EUR\"}", upper);
	EXPECT_STATUS(r, (http("POST", "/api/accounts", NULL, body, &r), 201));
	CU_ASSERT(str_is(r.body, "id", id)); /* lower-case in the response */
	snprintf(path, sizeof path, "/api/accounts/%s", id);
	CU_ASSERT(lf_h_header(&r, "Location", loc, sizeof loc) && strcmp(loc, path) == 0);
	CU_ASSERT(account_body_ok(r.body, "Bob", "EUR", "0.00"));
	lf_h_resp_free(&r);
	/* the same id again, in either case: 409 */
	ONE_PROBLEM(http("POST", "/api/accounts", NULL, body, &r_), 409, "account_exists");
	snprintf(body, sizeof body, "{\"id\":\"%s\",\"name\":\"Other\",\"currency\":\"USD\"}", id);
	ONE_PROBLEM(http("POST", "/api/accounts", NULL, body, &r_), 409, "account_exists");
	/* an upper-case id in the path */
	snprintf(path, sizeof path, "/api/accounts/%s", upper);
	EXPECT_STATUS(r, (http("GET", path, NULL, NULL, &r), 200));
	CU_ASSERT(str_is(r.body, "id", id));
	CU_ASSERT(str_is(r.body, "name", "Bob"));
	lf_h_resp_free(&r);
}

static void test_account_invalid_request(void)
{
	char name201[260], body[480];
	memset(name201, 'n', 201);
	name201[201] = '\0';
	snprintf(body, sizeof body, "{\"name\":\"%s\",\"currency\":\"USD\"}", name201);
	const char *cases[] = {
		"[]",
		"\"x\"",
		"42",
		"null",
		"{\"currency\":\"USD\"}",
		"{\"name\":\"a\"}",
		"{\"name\":\"a\",\"currency\":\"usd\"}",
		"{\"name\":\"a\",\"currency\":\"XYZ\"}",
		"{\"name\":\"a\",\"currency\":\"US\"}",
		"{\"name\":\"\",\"currency\":\"USD\"}",
		"{\"name\":42,\"currency\":\"USD\"}",
		"{\"name\":\"a\",\"currency\":\"USD\",\"id\":\"not-a-uuid\"}",
		"{\"name\":\"a\",\"currency\":\"USD\",\"id\":\"123e4567-e89b-12d3-a456-"
		"42661417400g\"}",
		"{\"name\":\"a\",\"currency\":\"USD\",\"id\":42}",
		body,
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		ONE_PROBLEM(http("POST", "/api/accounts", NULL, cases[i], &r_), 400,
			    "invalid_request");
	/* 200 characters are fine, counted as characters, not bytes */
	char name200[420] = "";
	for (int i = 0; i < 200; i++)
		strcat(name200, i % 2 ? "n" : "\xc3\xa9");
	snprintf(body, sizeof body, "{\"name\":\"%s\",\"currency\":\"USD\"}", name200);
	struct lf_h_resp r;
	EXPECT_STATUS(r, (http("POST", "/api/accounts", NULL, body, &r), 201));
	CU_ASSERT(str_is(r.body, "name", name200));
	lf_h_resp_free(&r);
}

static void test_account_invalid_amount_and_json(void)
{
	const char *amounts[] = {"true",   "\"1.001\"", "1.001",  "\"-1\"", "-1", "\"1e3\"", "1e3",
				 "\"+1\"", "\"007\"",   "\" 1\"", "[]",     "{}", "\"\""};
	for (size_t i = 0; i < sizeof amounts / sizeof amounts[0]; i++) {
		char body[256];
		snprintf(body, sizeof body,
			 "{\"name\":\"a\",\"currency\":\"USD\",\"initialBalance\":%s}", amounts[i]);
		ONE_PROBLEM(http("POST", "/api/accounts", NULL, body, &r_), 400, "invalid_amount");
	}
	ONE_PROBLEM(http("POST", "/api/accounts", NULL,
			 "{\"name\":\"a\",\"currency\":\"JPY\",\"initialBalance\":\"5.0\"}", &r_),
		    400, "invalid_amount");
	const char *bad_json[] = {"{\"name\":\"a\",", "{name:\"a\"}",
				  "{\"name\":\"a\",\"name\":\"b\",\"currency\":\"USD\"}",
				  "{\"name\":\"a\",\"currency\":\"USD\"} x"};
	for (size_t i = 0; i < sizeof bad_json / sizeof bad_json[0]; i++)
		ONE_PROBLEM(http("POST", "/api/accounts", NULL, bad_json[i], &r_), 400,
			    "invalid_json");
}

static void test_account_media_type(void)
{
	const char *body = "{\"name\":\"media\",\"currency\":\"USD\"}";
	struct lf_h_resp r;
	const char *bad[] = {NULL, "text/plain", "application/jsonx", "text/json"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ONE_PROBLEM(post_ct("/api/accounts", bad[i], NULL, body, &r_), 415,
			    "unsupported_media_type");
	const char *utf8 = "application/json; charset=utf-8";
	EXPECT_STATUS(r, (post_ct("/api/accounts", utf8, NULL, body, &r), 201));
	lf_h_resp_free(&r);
}

static void test_account_get_errors(void)
{
	char id[37], path[128];
	next_uuid(id);
	snprintf(path, sizeof path, "/api/accounts/%s", id);
	ONE_PROBLEM(http("GET", path, NULL, NULL, &r_), 404, "account_not_found");
	const char *bad[] = {"/api/accounts/abc",
			     "/api/accounts/123e4567-e89b-12d3-a456-42661417400z",
			     "/api/accounts/123e4567e89b12d3a45642661417400012"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ONE_PROBLEM(http("GET", bad[i], NULL, NULL, &r_), 400, "invalid_id");
}

static void test_account_idempotency(void)
{
	char key[48], h[128], name[64], sql[256];
	next_key(key, sizeof key);
	snprintf(h, sizeof h, "Idempotency-Key: %s\r\n", key);
	snprintf(name, sizeof name, "idem-%s", key);
	char body[256];
	snprintf(body, sizeof body, "{\"name\":\"%s\",\"currency\":\"KWD\",\"initialBalance\":2.5}",
		 name);
	struct lf_h_resp a, b;
	EXPECT_STATUS(a, (http("POST", "/api/accounts", h, body, &a), 201));
	CU_ASSERT(str_is(a.body, "balance", "2.500"));
	EXPECT_STATUS(b, (http("POST", "/api/accounts", h, body, &b), 201));
	CU_ASSERT(a.body_len == b.body_len && memcmp(a.body, b.body, a.body_len) == 0);
	CU_ASSERT(header_is(&b, "Idempotent-Replayed", "true"));
	char la[128] = "", lb[128] = "";
	lf_h_header(&a, "Location", la, sizeof la);
	lf_h_header(&b, "Location", lb, sizeof lb);
	CU_ASSERT(la[0] && strcmp(la, lb) == 0);
	lf_h_resp_free(&a);
	lf_h_resp_free(&b);
	long long n = -1;
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM accounts WHERE name = '%s'", name);
	CU_ASSERT(lf_h_sql_int(&fx.env, fx.db, sql, &n) && n == 1);
	/* same key, another body */
	snprintf(body, sizeof body, "{\"name\":\"%s\",\"currency\":\"KWD\",\"initialBalance\":2.6}",
		 name);
	ONE_PROBLEM(http("POST", "/api/accounts", h, body, &r_), 422, "idempotency_key_reused");
	ONE_PROBLEM(http("POST", "/api/accounts", "Idempotency-Key: a b\r\n", body, &r_), 400,
		    "idempotency_key_invalid");
}

/* ---- payments ---- */

static bool payment_body_ok(const char *body, const char *status, const char *from, const char *to,
			    const char *amount, const char *cur)
{
	return member_ok(body, "id", is_uuid_lower) && str_is(body, "status", status) &&
	       str_is(body, "fromAccountId", from) && str_is(body, "toAccountId", to) &&
	       str_is(body, "amount", amount) && str_is(body, "currency", cur) &&
	       member_ok(body, "createdAt", is_timestamp);
}

static void test_payment_created(void)
{
	char a[37], b[37], key[64], body[512], id[64], path[128], loc[128];
	account("pa", "USD", "1000", a);
	account("pb", "USD", NULL, b);
	next_key(key, sizeof key);
	fill(body, sizeof body, FT ",\"amount\":\"100.00\",\"reference\":\"inv-1\"}", a, b);
	struct lf_h_resp r, g;
	EXPECT_STATUS(r, (pay_raw(key, body, &r), 201));
	CU_ASSERT(header_is(&r, "Content-Type", "application/json"));
	CU_ASSERT(payment_body_ok(r.body, "COMPLETED", a, b, "100.00", "USD"));
	CU_ASSERT(str_is(r.body, "reference", "inv-1"));
	CU_ASSERT_FATAL(lf_h_json_str(r.body, "id", id, sizeof id));
	CU_ASSERT_EQUAL(id[14], '7');
	snprintf(path, sizeof path, "/api/payments/%s", id);
	CU_ASSERT(lf_h_header(&r, "Location", loc, sizeof loc) && strcmp(loc, path) == 0);
	CU_ASSERT(!lf_h_header(&r, "Idempotent-Replayed", loc, sizeof loc));
	CU_ASSERT(balance_is(a, "900.00"));
	CU_ASSERT(balance_is(b, "100.00"));
	EXPECT_STATUS(g, (http("GET", path, NULL, NULL, &g), 200));
	CU_ASSERT(header_is(&g, "Content-Type", "application/json"));
	CU_ASSERT_STRING_EQUAL(g.body, r.body);
	lf_h_resp_free(&r);
	lf_h_resp_free(&g);
	/* a number amount, no reference (null), the matching currency */
	next_key(key, sizeof key);
	fill(body, sizeof body, FT ",\"amount\":0.5,\"currency\":\"USD\",\"x\":1}", a, b);
	EXPECT_STATUS(r, (pay_raw(key, body, &r), 201));
	CU_ASSERT(payment_body_ok(r.body, "COMPLETED", a, b, "0.50", "USD"));
	CU_ASSERT(lf_h_json_null(r.body, "reference"));
	lf_h_resp_free(&r);
	CU_ASSERT(balance_is(a, "899.50"));
	/* JPY and KWD amounts */
	char j1[37], j2[37], k1[37], k2[37];
	account("jy1", "JPY", "1000", j1);
	account("jy2", "JPY", NULL, j2);
	account("kw1", "KWD", "10", k1);
	account("kw2", "KWD", NULL, k2);
	next_key(key, sizeof key);
	EXPECT_STATUS(r, (pay(key, j1, j2, "5", &r), 201));
	CU_ASSERT(payment_body_ok(r.body, "COMPLETED", j1, j2, "5", "JPY"));
	lf_h_resp_free(&r);
	next_key(key, sizeof key);
	EXPECT_STATUS(r, (pay(key, k1, k2, "\"1.25\"", &r), 201));
	CU_ASSERT(payment_body_ok(r.body, "COMPLETED", k1, k2, "1.250", "KWD"));
	lf_h_resp_free(&r);
	CU_ASSERT(balance_is(j1, "995") && balance_is(k2, "1.250"));
	next_key(key, sizeof key);
	ONE_PROBLEM(pay(key, j1, j2, "\"5.0\"", &r_), 400, "invalid_amount");
}

static void test_payment_get_errors(void)
{
	char id[37], path[128];
	next_uuid(id);
	snprintf(path, sizeof path, "/api/payments/%s", id);
	ONE_PROBLEM(http("GET", path, NULL, NULL, &r_), 404, "payment_not_found");
	ONE_PROBLEM(http("GET", "/api/payments/xyz", NULL, NULL, &r_), 400, "invalid_id");
}

static void test_insufficient_funds(void)
{
	char c[37], e[37], key[64], pid[64], path[128];
	account("poor", "USD", "10", c);
	account("rich", "USD", NULL, e);
	next_key(key, sizeof key);
	struct lf_h_resp r, g;
	PROBLEM(r, (pay(key, c, e, "\"20.00\"", &r), 422), "insufficient_funds");
	CU_ASSERT_FATAL(lf_h_json_str(r.body, "paymentId", pid, sizeof pid));
	CU_ASSERT(is_uuid_lower(pid));
	snprintf(path, sizeof path, "/api/payments/%s", pid);
	EXPECT_STATUS(g, (http("GET", path, NULL, NULL, &g), 200));
	CU_ASSERT(payment_body_ok(g.body, "DECLINED", c, e, "20.00", "USD"));
	lf_h_resp_free(&g);
	CU_ASSERT(balance_is(c, "10.00"));
	CU_ASSERT(balance_is(e, "0.00"));
	/* the decline is replayed byte for byte */
	PROBLEM(g, (pay(key, c, e, "20", &g), 422), "insufficient_funds");
	CU_ASSERT_STRING_EQUAL(g.body, r.body);
	CU_ASSERT(header_is(&g, "Idempotent-Replayed", "true"));
	lf_h_resp_free(&r);
	lf_h_resp_free(&g);
	/* exactly the balance is fine; 10^15 minor units is a valid amount */
	next_key(key, sizeof key);
	EXPECT_STATUS(r, (pay(key, c, e, "10", &r), 201));
	lf_h_resp_free(&r);
	CU_ASSERT(balance_is(c, "0.00") && balance_is(e, "10.00"));
	next_key(key, sizeof key);
	ONE_PROBLEM(pay(key, e, c, "\"10000000000000.00\"", &r_), 422, "insufficient_funds");
}

static void test_payment_422s(void)
{
	char a[37], b[37], eur[37], ghost[37], key[64], body[512];
	account("u1", "USD", "100", a);
	account("u2", "USD", NULL, b);
	account("e1", "EUR", "100", eur);
	next_uuid(ghost);
	struct lf_h_resp r, r2;
	next_key(key, sizeof key);
	ONE_PROBLEM(pay(key, ghost, b, "1", &r_), 422, "account_not_found");
	next_key(key, sizeof key); /* an unknown sender: no exponent to judge 1.001 by */
	ONE_PROBLEM(pay(key, ghost, b, "\"1.001\"", &r_), 422, "account_not_found");
	next_key(key, sizeof key);
	ONE_PROBLEM(pay(key, a, ghost, "1", &r_), 422, "account_not_found");
	next_key(key, sizeof key);
	PROBLEM(r, (pay(key, a, a, "1", &r), 422), "same_account");
	PROBLEM(r2, (pay(key, a, a, "1.00", &r2), 422), "same_account"); /* replayed */
	CU_ASSERT_STRING_EQUAL(r.body, r2.body);
	CU_ASSERT(header_is(&r2, "Idempotent-Replayed", "true"));
	lf_h_resp_free(&r);
	lf_h_resp_free(&r2);
	next_key(key, sizeof key);
	ONE_PROBLEM(pay(key, a, eur, "1", &r_), 422, "currency_mismatch");
	next_key(key, sizeof key);
	ONE_PROBLEM(pay(key, eur, a, "1", &r_), 422, "currency_mismatch");
	next_key(key, sizeof key);
	snprintf(body, sizeof body,
		 "{\"fromAccountId\":\"%s\",\"toAccountId\":\"%s\",\"amount\":1,\"currency\":"
		 "\"EUR\"}",
		 a, b);
	ONE_PROBLEM(pay_raw(key, body, &r_), 422, "currency_mismatch");
	CU_ASSERT(balance_is(a, "100.00") && balance_is(b, "0.00") && balance_is(eur, "100.00"));
}

static void test_payment_400s(void)
{
	char a[37], b[37], key[64], body[600];
	account("v1", "USD", "100", a);
	account("v2", "USD", NULL, b);
	static const char *json[] = {"{\"fromAccountId\":", "{\"amount\":1,\"amount\":2}",
				     "{'a':1}", "{\"amount\":1}}"};
	for (size_t i = 0; i < sizeof json / sizeof json[0]; i++) {
		next_key(key, sizeof key);
		ONE_PROBLEM(pay_raw(key, json[i], &r_), 400, "invalid_json");
	}
	next_key(key, sizeof key);
	fill(body, sizeof body, FT ",\"amount\":1,\"amount\":1}", a, b);
	ONE_PROBLEM(pay_raw(key, body, &r_), 400, "invalid_json");
	/* invalid_request: @ is a, # is b */
	static const char *req[] = {
		"[1]",
		FT "}",
		"{\"fromAccountId\":\"@\",\"amount\":1}",
		"{\"toAccountId\":\"#\",\"amount\":1}",
		"{\"fromAccountId\":42,\"toAccountId\":\"#\",\"amount\":1}",
		"{\"fromAccountId\":\"@\",\"toAccountId\":\"#0\",\"amount\":1}",
		"{\"fromAccountId\":\"@\",\"toAccountId\":\"123e4567-e89b-12d3-a456-4266141740\","
		"\"amount\":1}",
		"{\"fromAccountId\":\"@x\",\"toAccountId\":\"#\",\"amount\":1}",
		FT ",\"amount\":1,\"currency\":\"usd\"}",
		FT ",\"amount\":1,\"currency\":\"XYZ\"}",
		FT ",\"amount\":1,\"currency\":1}",
		FT ",\"amount\":1,\"reference\":5}",
		FT ",\"amount\":1,\"reference\":\"a\\u0000b\"}",
	};
	for (size_t i = 0; i < sizeof req / sizeof req[0]; i++) {
		next_key(key, sizeof key);
		fill(body, sizeof body, req[i], a, b);
		ONE_PROBLEM(pay_raw(key, body, &r_), 400, "invalid_request");
	}
	/* a reference of 201 characters */
	char ref[202];
	memset(ref, 'r', 201);
	ref[201] = '\0';
	next_key(key, sizeof key);
	fill(body, sizeof body, FT ",\"amount\":1,\"reference\":\"", a, b);
	strcat(strcat(body, ref), "\"}");
	ONE_PROBLEM(pay_raw(key, body, &r_), 400, "invalid_request");
	/* invalid_amount, also before any 422 (here same_account) */
	static const char *amounts[] = {"0",
					"\"0.00\"",
					"-5",
					"\"-5\"",
					"\"1.001\"",
					"1.001",
					"1e2",
					"\"1e2\"",
					"\"007\"",
					"true",
					"\"10000000000000.01\"",
					"\"1.\"",
					"\".5\"",
					"\"+1\"",
					"\"1,00\"",
					"{}",
					"[1]",
					"\"\""};
	for (size_t i = 0; i < sizeof amounts / sizeof amounts[0]; i++) {
		next_key(key, sizeof key);
		ONE_PROBLEM(pay(key, a, b, amounts[i], &r_), 400, "invalid_amount");
		next_key(key, sizeof key);
		ONE_PROBLEM(pay(key, a, a, amounts[i], &r_), 400, "invalid_amount");
	}
	/* the type check comes before the UUID check */
	next_key(key, sizeof key);
	fill(body, sizeof body, "{\"fromAccountId\":\"bad\",\"toAccountId\":\"#\",\"amount\":true}",
	     a, b);
	ONE_PROBLEM(pay_raw(key, body, &r_), 400, "invalid_amount");
	CU_ASSERT(balance_is(a, "100.00") && balance_is(b, "0.00"));
}

static void test_idempotency_keys(void)
{
	char a[37], b[37], body[512], h[600], key[300];
	account("k1", "USD", "100", a);
	account("k2", "USD", NULL, b);
	fill(body, sizeof body, FT ",\"amount\":1}", a, b);
	struct lf_h_resp r, r2;
	ONE_PROBLEM(http("POST", "/api/payments", NULL, body, &r_), 400, "idempotency_key_missing");
	memset(key, 'k', 256);
	key[256] = '\0';
	const char *bad[] = {key, "a b", "k\xc3\xa9y", "\"\""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ONE_PROBLEM(pay_raw(bad[i], body, &r_), 400, "idempotency_key_invalid");
	ONE_PROBLEM(http("POST", "/api/payments", "Idempotency-Key: \r\n", body, &r_), 400,
		    "idempotency_key_invalid");
	/* 255 characters, first and last printable */
	snprintf(key, sizeof key, "!%ld-", (long)getpid());
	memset(key + strlen(key), 'x', 255 - strlen(key));
	key[254] = '~';
	key[255] = '\0';
	EXPECT_STATUS(r, (pay_raw(key, body, &r), 201));
	lf_h_resp_free(&r);
	/* the quoted form is the same key */
	char plain[64];
	next_key(plain, sizeof plain);
	snprintf(h, sizeof h, "\"%s\"", plain);
	EXPECT_STATUS(r, (pay_raw(h, body, &r), 201));
	EXPECT_STATUS(r2, (pay_raw(plain, body, &r2), 201));
	CU_ASSERT_STRING_EQUAL(r.body, r2.body);
	CU_ASSERT(header_is(&r2, "Idempotent-Replayed", "true"));
	lf_h_resp_free(&r);
	lf_h_resp_free(&r2);
	CU_ASSERT(balance_is(a, "98.00"));
}

static void test_idempotent_replay(void)
{
	char a[37], b[37], ua[37], ub[37], key[64], body[512];
	account("r1", "USD", "1000", a);
	account("r2", "USD", NULL, b);
	for (int i = 0; i < 37; i++) {
		ua[i] = (char)(a[i] >= 'a' && a[i] <= 'f' ? a[i] - 32 : a[i]);
		ub[i] = (char)(b[i] >= 'a' && b[i] <= 'f' ? b[i] - 32 : b[i]);
	}
	next_key(key, sizeof key);
	struct lf_h_resp r, r2;
	EXPECT_STATUS(r, (pay(key, a, b, "100", &r), 201));
	/* whitespace, member order, "100.00" for 100, upper-case ids */
	snprintf(body, sizeof body,
		 "{ \"amount\" : \"100.00\",\n \"toAccountId\": \"%s\", \"fromAccountId\":\"%s\" }",
		 ub, ua);
	EXPECT_STATUS(r2, (pay_raw(key, body, &r2), 201));
	CU_ASSERT(r.body_len == r2.body_len && memcmp(r.body, r2.body, r.body_len) == 0);
	CU_ASSERT(header_is(&r2, "Idempotent-Replayed", "true"));
	char l1[128] = "", l2[128] = "";
	lf_h_header(&r, "Location", l1, sizeof l1);
	lf_h_header(&r2, "Location", l2, sizeof l2);
	CU_ASSERT(l1[0] && strcmp(l1, l2) == 0);
	lf_h_resp_free(&r2);
	CU_ASSERT(balance_is(a, "900.00") && balance_is(b, "100.00"));
	/* the same key for another request */
	ONE_PROBLEM(pay(key, a, b, "101", &r_), 422, "idempotency_key_reused");
	ONE_PROBLEM(pay(key, b, a, "100", &r_), 422, "idempotency_key_reused");
	fill(body, sizeof body, FT ",\"amount\":100,\"reference\":\"x\"}", a, b);
	ONE_PROBLEM(pay_raw(key, body, &r_), 422, "idempotency_key_reused");
	char h[128];
	snprintf(h, sizeof h, "Idempotency-Key: %s\r\n", key);
	ONE_PROBLEM(http("POST", "/api/accounts", h, "{\"name\":\"z\",\"currency\":\"USD\"}", &r_),
		    422, "idempotency_key_reused");
	/* and the original still replays */
	EXPECT_STATUS(r2, (pay(key, a, b, "100.0", &r2), 201));
	CU_ASSERT_STRING_EQUAL(r.body, r2.body);
	lf_h_resp_free(&r);
	lf_h_resp_free(&r2);
	CU_ASSERT(balance_is(a, "900.00") && balance_is(b, "100.00"));
}

static void test_400_then_fixed(void)
{
	char a[37], b[37], key[64], body[512];
	account("f1", "USD", "100", a);
	account("f2", "USD", NULL, b);
	struct lf_h_resp r;
	next_key(key, sizeof key);
	ONE_PROBLEM(pay(key, a, b, "\"1.001\"", &r_), 400, "invalid_amount");
	EXPECT_STATUS(r, (pay(key, a, b, "\"1.00\"", &r), 201));
	CU_ASSERT(!header_is(&r, "Idempotent-Replayed", "true"));
	lf_h_resp_free(&r);
	next_key(key, sizeof key);
	ONE_PROBLEM(pay_raw(key, "{\"fromAccountId\":", &r_), 400, "invalid_json");
	fill(body, sizeof body, FT ",\"amount\":2}", a, b);
	char h[128];
	snprintf(h, sizeof h, "Idempotency-Key: %s\r\n", key);
	ONE_PROBLEM(post_ct("/api/payments", "text/plain", h, body, &r_), 415,
		    "unsupported_media_type");
	EXPECT_STATUS(r, (pay_raw(key, body, &r), 201));
	lf_h_resp_free(&r);
	/* a 400 after a decision does not touch the stored outcome */
	ONE_PROBLEM(pay(key, a, b, "0", &r_), 400, "invalid_amount");
	CU_ASSERT(balance_is(a, "97.00") && balance_is(b, "3.00"));
}

static void test_protocol_errors(void)
{
	struct lf_h_resp r;
	char v[256];
	/* a body over 64 KiB */
	size_t n = 70 * 1024;
	char *big = malloc(n + 512);
	int hl = snprintf(big, 512,
			  "POST /api/payments HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			  "Content-Type: application/json\r\nIdempotency-Key: big-%ld\r\n"
			  "Content-Length: %zu\r\n\r\n{\"reference\":\"",
			  (long)getpid(), n);
	memset(big + hl, 'x', n - 16);
	memcpy(big + hl + n - 16, "\"}", 3);
	size_t total = (size_t)hl + n - 16 + 2;
	/* Content-Length counts the body: {"reference":" is 14 bytes */
	CU_ASSERT_EQUAL(total - (size_t)hl + 14, n);
	CU_ASSERT_EQUAL(lf_h_raw(fx.d.port, big, total, &r), 0);
	PROBLEM(r, 413, "payload_too_large");
	CU_ASSERT(r.conn_close);
	lf_h_resp_free(&r);
	free(big);
	/* methods and paths */
	PROBLEM(r, (http("DELETE", "/api/payments", NULL, NULL, &r), 405), "method_not_allowed");
	CU_ASSERT(header_is(&r, "Allow", "POST"));
	lf_h_resp_free(&r);
	PROBLEM(r, (http("GET", "/api/payments", NULL, NULL, &r), 405), "method_not_allowed");
	CU_ASSERT(header_is(&r, "Allow", "POST"));
	lf_h_resp_free(&r);
	const char *methods[] = {"POST", "PUT", "DELETE"};
	for (int i = 0; i < 3; i++) {
		PROBLEM(r,
			(http(methods[i], "/api/accounts/11111111-1111-1111-1111-111111111111",
			      NULL, "{}", &r),
			 405),
			"method_not_allowed");
		CU_ASSERT(header_is(&r, "Allow", "GET, HEAD"));
		lf_h_resp_free(&r);
	}
	ONE_PROBLEM(http("GET", "/api/nothing", NULL, NULL, &r_), 404, "not_found");
	ONE_PROBLEM(http("GET", "/api/payments/a/b", NULL, NULL, &r_), 404, "not_found");
	/* X-Request-Id */
	CU_ASSERT_EQUAL(http("GET", "/healthz", "X-Request-Id: abc.DEF_1:2-3\r\n", NULL, &r), 200);
	CU_ASSERT(header_is(&r, "X-Request-Id", "abc.DEF_1:2-3"));
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(http("GET", "/api/nothing", "X-Request-Id: echo-me\r\n", NULL, &r), 404);
	CU_ASSERT(header_is(&r, "X-Request-Id", "echo-me"));
	lf_h_resp_free(&r);
	char h[400], id128[129];
	memset(id128, 'i', 128);
	id128[128] = '\0';
	snprintf(h, sizeof h, "X-Request-Id: %s\r\n", id128);
	CU_ASSERT_EQUAL(http("GET", "/healthz", h, NULL, &r), 200);
	CU_ASSERT(header_is(&r, "X-Request-Id", id128));
	lf_h_resp_free(&r);
	const char *bad[] = {"X-Request-Id: bad id\r\n", "X-Request-Id: a/b\r\n", NULL};
	snprintf(h, sizeof h, "X-Request-Id: %si\r\n", id128);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(http("GET", "/healthz", bad[i] ? bad[i] : h, NULL, &r), 200);
		CU_ASSERT(lf_h_header(&r, "X-Request-Id", v, sizeof v) && is_uuid_lower(v));
		lf_h_resp_free(&r);
	}
	CU_ASSERT_EQUAL(http("GET", "/healthz", NULL, NULL, &r), 200);
	CU_ASSERT(lf_h_header(&r, "X-Request-Id", v, sizeof v) && is_uuid_lower(v));
	lf_h_resp_free(&r);
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
