/*
 * test_api_accounts.c - part of the test_api program (main in test_api.c):
 * POST and GET /api/accounts against the real ledgerflowd: creation,
 * Location, initial balances, client ids, every 4xx and its code, and
 * Idempotency-Key replays of a creation.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "test_api.h"

/* ---- accounts ---- */

static bool account_body_ok(const char *body, const char *name, const char *cur, const char *bal)
{
	return member_ok(body, "id", is_uuid_lower) && str_is(body, "name", name) &&
	       str_is(body, "currency", cur) && str_is(body, "balance", bal) &&
	       member_ok(body, "createdAt", is_timestamp) &&
	       member_ok(body, "updatedAt", is_timestamp);
}

void test_account_create_and_get(void)
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

void test_account_initial_balances(void)
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

void test_account_with_id(void)
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

void test_account_invalid_request(void)
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

void test_account_invalid_amount_and_json(void)
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

void test_account_media_type(void)
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

void test_account_get_errors(void)
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

void test_account_idempotency(void)
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
