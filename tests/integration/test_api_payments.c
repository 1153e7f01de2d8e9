/*
 * test_api_payments.c - part of the test_api program (main in test_api.c):
 * POST and GET /api/payments against the real ledgerflowd: 201 and
 * Location, declines recorded and replayed, every 4xx and its code,
 * Idempotency-Key rules and byte-for-byte replays, and the protocol errors
 * (413, 405 with Allow, 404, X-Request-Id).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "test_api.h"

/* ---- payments ---- */

static bool payment_body_ok(const char *body, const char *status, const char *from, const char *to,
			    const char *amount, const char *cur)
{
	return member_ok(body, "id", is_uuid_lower) && str_is(body, "status", status) &&
	       str_is(body, "fromAccountId", from) && str_is(body, "toAccountId", to) &&
	       str_is(body, "amount", amount) && str_is(body, "currency", cur) &&
	       member_ok(body, "createdAt", is_timestamp);
}

void test_payment_created(void)
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

void test_payment_get_errors(void)
{
	char id[37], path[128];
	next_uuid(id);
	snprintf(path, sizeof path, "/api/payments/%s", id);
	ONE_PROBLEM(http("GET", path, NULL, NULL, &r_), 404, "payment_not_found");
	ONE_PROBLEM(http("GET", "/api/payments/xyz", NULL, NULL, &r_), 400, "invalid_id");
}

void test_insufficient_funds(void)
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

void test_payment_422s(void)
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

void test_payment_400s(void)
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

void test_idempotency_keys(void)
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

void test_idempotent_replay(void)
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

void test_400_then_fixed(void)
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

void test_protocol_errors(void)
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
	CU_ASSERT(header_is(&r, "Allow", "GET, HEAD, POST"));
	lf_h_resp_free(&r);
	PROBLEM(r, (http("PUT", "/api/payments", NULL, "{}", &r), 405), "method_not_allowed");
	CU_ASSERT(header_is(&r, "Allow", "GET, HEAD, POST"));
	lf_h_resp_free(&r);
	const char *methods[] = {"POST", "PUT", "DELETE"};
	for (int i = 0; i < 3; i++) {
		/* a DELETE has no body (a body on it is a framing error: 400) */
		PROBLEM(r,
			(http(methods[i], "/api/accounts/11111111-1111-1111-1111-111111111111",
			      NULL, i == 2 ? NULL : "{}", &r),
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
