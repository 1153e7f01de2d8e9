/*
 * test_http.c - unit tests for what the handlers build on: problem+json
 * rendering, resource rendering, Idempotency-Key validation, request
 * fingerprints and raw digests, the canonical decimal, typed body fields.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <event2/buffer.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "lf_json.h"
#include "lf_http.h"
#include "lf_idempotency.h"
#include "lf_render.h"
#include "../lf_cunit.h"

static char *take(struct evbuffer *b)
{
	struct lf_body body;
	lf_render_body(&body, b);
	evbuffer_free(b);
	return body.data;
}

static void test_problem_render(void)
{
	struct evbuffer *b = evbuffer_new();
	lf_problem_render(b, 422, "insufficient_funds", "say \"no\"\n", "\"paymentId\":\"x\"");
	char *s = take(b);
	CU_ASSERT_STRING_EQUAL(s,
			       "{\"type\":\"urn:ledgerflow:problem:insufficient_funds\","
			       "\"title\":\"Insufficient funds\",\"status\":422,"
			       "\"detail\":\"say \\\"no\\\"\\n\",\"code\":\"insufficient_funds\","
			       "\"paymentId\":\"x\"}");
	/* it parses as JSON with the members the contract requires */
	struct json_object *o = NULL;
	CU_ASSERT_EQUAL(lf_json_parse_object(s, strlen(s), &o), LF_JSON_OK);
	struct json_object *v;
	CU_ASSERT(json_object_object_get_ex(o, "status", &v) && json_object_get_int(v) == 422);
	CU_ASSERT(json_object_object_get_ex(o, "code", &v) &&
		  strcmp(json_object_get_string(v), "insufficient_funds") == 0);
	CU_ASSERT(json_object_object_get_ex(o, "type", &v));
	CU_ASSERT(json_object_object_get_ex(o, "title", &v));
	CU_ASSERT(json_object_object_get_ex(o, "detail", &v));
	json_object_put(o);
	free(s);
}

static void test_problem_titles(void)
{
	static const char *codes[] = {
		"invalid_json",
		"invalid_request",
		"invalid_id",
		"invalid_amount",
		"idempotency_key_missing",
		"idempotency_key_invalid",
		"idempotency_key_reused",
		"idempotency_key_in_flight",
		"account_exists",
		"account_not_found",
		"payment_not_found",
		"same_account",
		"currency_mismatch",
		"insufficient_funds",
		"amount_too_large",
		"payment_not_pending",
		"refund_exceeds_payment",
		"batch_failed",
		"unsupported_media_type",
		"payload_too_large",
		"method_not_allowed",
		"not_found",
		"unauthorized",
		"forbidden",
		"rate_limited",
		"service_unavailable",
		"internal_error",
	};
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		CU_ASSERT_STRING_NOT_EQUAL(lf_problem_title(codes[i]), "Error");
	CU_ASSERT_STRING_EQUAL(lf_problem_title("no_such_code"), "Error");
}

static void test_render_payment_and_account(void)
{
	struct lf_payment p = {0};
	CU_ASSERT(lf_uuid_parse("01a213bb-bf0d-7715-aa1c-dfad16dd7683", 36, &p.id));
	CU_ASSERT(lf_uuid_parse("11111111-1111-1111-1111-111111111111", 36, &p.from));
	CU_ASSERT(lf_uuid_parse("22222222-2222-2222-2222-222222222222", 36, &p.to));
	p.amount = 10050;
	memcpy(p.currency, "USD", 4);
	p.status = LF_PAYMENT_COMPLETED;
	p.has_captured = true;
	p.captured = p.amount;
	p.created_ms = 1764082348123LL; /* 2025-11-25T14:52:28.123Z */
	struct evbuffer *b = evbuffer_new();
	lf_render_payment(b, &p);
	char *s = take(b);
	CU_ASSERT_STRING_EQUAL(
		s, "{\"id\":\"01a213bb-bf0d-7715-aa1c-dfad16dd7683\",\"status\":\"COMPLETED\","
		   "\"fromAccountId\":\"11111111-1111-1111-1111-111111111111\","
		   "\"toAccountId\":\"22222222-2222-2222-2222-222222222222\","
		   "\"amount\":\"100.50\",\"currency\":\"USD\",\"reference\":null,"
		   "\"capturedAmount\":\"100.50\",\"refundedAmount\":\"0.00\","
		   "\"expiresAt\":null,\"metadata\":null,"
		   "\"createdAt\":\"2025-11-25T14:52:28.123Z\"}");
	free(s);

	/* a hold: PENDING, nothing captured, its expiry, metadata as given */
	char md[] = "{\"order\":\"7\"}";
	p.status = LF_PAYMENT_PENDING;
	p.has_captured = false;
	p.is_hold = true;
	p.expires_ms = p.created_ms + 1000;
	p.metadata = md;
	b = evbuffer_new();
	lf_render_payment(b, &p);
	s = take(b);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"status\":\"PENDING\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"capturedAmount\":null,\"refundedAmount\":\"0.00\","
					 "\"expiresAt\":\"2025-11-25T14:52:29.123Z\","
					 "\"metadata\":{\"order\":\"7\"}"));
	free(s);
	p.metadata = NULL;
	p.is_hold = false;

	p.has_reference = true;
	strcpy(p.reference, "inv \"7\"");
	p.status = LF_PAYMENT_DECLINED;
	memcpy(p.currency, "KWD", 4);
	p.amount = 1250;
	b = evbuffer_new();
	lf_render_payment(b, &p);
	s = take(b);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"status\":\"DECLINED\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"amount\":\"1.250\",\"currency\":\"KWD\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"reference\":\"inv \\\"7\\\"\""));
	free(s);

	struct lf_account a = {0};
	a.id = p.from;
	strcpy(a.name, "Alice");
	memcpy(a.currency, "JPY", 4);
	a.balance = 500;
	a.held = 200;
	a.created_ms = a.updated_ms = 0;
	b = evbuffer_new();
	lf_render_account(b, &a);
	s = take(b);
	CU_ASSERT_STRING_EQUAL(
		s, "{\"id\":\"11111111-1111-1111-1111-111111111111\",\"name\":\"Alice\","
		   "\"currency\":\"JPY\",\"balance\":\"500\",\"availableBalance\":\"300\","
		   "\"heldBalance\":\"200\",\"metadata\":null,"
		   "\"createdAt\":\"1970-01-01T00:00:00.000Z\","
		   "\"updatedAt\":\"1970-01-01T00:00:00.000Z\"}");
	free(s);
}

static void test_render_ledger_entry(void)
{
	struct lf_ledger_entry e = {0};
	lf_uuid_parse("11111111-1111-1111-1111-111111111111", 36, &e.id);
	e.account_id = e.id;
	e.debit = false;
	e.amount = 100000;
	e.balance_after = 100000;
	struct evbuffer *b = evbuffer_new();
	lf_render_ledger_entry(b, &e, 2);
	char *s = take(b);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"paymentId\":null"));
	CU_ASSERT_PTR_NOT_NULL(strstr(
		s, "\"direction\":\"CREDIT\",\"amount\":\"1000.00\",\"balanceAfter\":\"1000.00\""));
	free(s);
	e.has_payment = true;
	e.payment_id = e.id;
	e.debit = true;
	b = evbuffer_new();
	lf_render_ledger_entry(b, &e, 0);
	s = take(b);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"paymentId\":\"11111111-1111-1111-1111-111111111111\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"direction\":\"DEBIT\",\"amount\":\"100000\""));
	free(s);
}

static void test_idempotency_key(void)
{
	char key[LF_IDEM_KEY_MAX + 1];
	size_t n = 0;
	CU_ASSERT_EQUAL(lf_idem_key_parse(NULL, key, &n), LF_IDEM_KEY_MISSING);
	CU_ASSERT_EQUAL(lf_idem_key_parse("", key, &n), LF_IDEM_KEY_INVALID);
	CU_ASSERT_EQUAL(lf_idem_key_parse("\"\"", key, &n), LF_IDEM_KEY_INVALID);
	CU_ASSERT_EQUAL(lf_idem_key_parse("a b", key, &n), LF_IDEM_KEY_INVALID);
	CU_ASSERT_EQUAL(lf_idem_key_parse("caf\xc3\xa9", key, &n), LF_IDEM_KEY_INVALID);
	CU_ASSERT_EQUAL(lf_idem_key_parse("tab\there", key, &n), LF_IDEM_KEY_INVALID);
	CU_ASSERT_EQUAL(lf_idem_key_parse("abc", key, &n), LF_IDEM_KEY_OK);
	CU_ASSERT_STRING_EQUAL(key, "abc");
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(lf_idem_key_parse("\"abc\"", key, &n), LF_IDEM_KEY_OK);
	CU_ASSERT_STRING_EQUAL(key, "abc");
	CU_ASSERT_EQUAL(lf_idem_key_parse("!~", key, &n), LF_IDEM_KEY_OK);
	char long_key[300];
	memset(long_key, 'k', sizeof long_key);
	long_key[255] = '\0';
	CU_ASSERT_EQUAL(lf_idem_key_parse(long_key, key, &n), LF_IDEM_KEY_OK);
	CU_ASSERT_EQUAL(n, 255);
	long_key[255] = 'k';
	long_key[256] = '\0';
	CU_ASSERT_EQUAL(lf_idem_key_parse(long_key, key, &n), LF_IDEM_KEY_INVALID);
}

static void fp_of(const char *amount, const char *ref, uint8_t out[LF_FINGERPRINT_LEN])
{
	struct lf_fp fp;
	char canon[64];
	CU_ASSERT(lf_fp_begin(&fp, "POST", "/api/payments"));
	size_t n = lf_idem_canonical_decimal(amount, strlen(amount), canon);
	lf_fp_field(&fp, "amount", canon, n);
	if (ref)
		lf_fp_field(&fp, "reference", ref, strlen(ref));
	else
		lf_fp_null(&fp, "reference");
	lf_fp_end(&fp, out);
}

static void test_fingerprint(void)
{
	uint8_t a[32], b[32];
	fp_of("100", NULL, a);
	fp_of("100.00", NULL, b);
	CU_ASSERT_EQUAL(memcmp(a, b, 32), 0);
	fp_of("100.5", NULL, a);
	fp_of("100.50", NULL, b);
	CU_ASSERT_EQUAL(memcmp(a, b, 32), 0);
	fp_of("100", NULL, a);
	fp_of("1000", NULL, b);
	CU_ASSERT_NOT_EQUAL(memcmp(a, b, 32), 0);
	fp_of("100", "", a);
	fp_of("100", NULL, b);
	CU_ASSERT_NOT_EQUAL(memcmp(a, b, 32), 0); /* "" is not absent */

	char out[32];
	CU_ASSERT_EQUAL(lf_idem_canonical_decimal("10.000", 6, out), 2);
	CU_ASSERT_STRING_EQUAL(out, "10");
	CU_ASSERT_EQUAL(lf_idem_canonical_decimal("100", 3, out), 3);
	CU_ASSERT_STRING_EQUAL(out, "100");
	CU_ASSERT_EQUAL(lf_idem_canonical_decimal("0.10", 4, out), 3);
	CU_ASSERT_STRING_EQUAL(out, "0.1");
}

/* The raw digest: the known SHA-256 of its framing, and each part moves it,
 * also where only a byte moves from one part to the next. */
static void test_raw_digest(void)
{
	uint8_t a[32], b[32];
	CU_ASSERT(lf_idem_raw_digest("POST", "/api/payments", "{}", 2, a));
	/* SHA-256 of the four length-prefixed parts, computed apart from it */
	static const char framed[] = "\0\0\0\0\0\0\0\6raw-v1"
				     "\0\0\0\0\0\0\0\4POST"
				     "\0\0\0\0\0\0\0\x0d/api/payments"
				     "\0\0\0\0\0\0\0\2{}";
	unsigned int n = 0;
	CU_ASSERT(EVP_Digest(framed, sizeof framed - 1, b, &n, EVP_sha256(), NULL) == 1 && n == 32);
	CU_ASSERT_EQUAL(memcmp(a, b, 32), 0);
	/* the same parts, then each part moved once */
	static const struct {
		const char *method, *path, *body;
		size_t len;
		bool same;
	} other[] = {
		{"POST", "/api/payments", "{}", 2, true},
		{"PUT", "/api/payments", "{}", 2, false},
		{"POST", "/api/payments/", "{}", 2, false},
		{"POST", "/api/payments", "{ }", 3, false},
		{"POST", "/api/payments", "{}", 1, false},
	};
	for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
		CU_ASSERT(lf_idem_raw_digest(other[i].method, other[i].path, other[i].body,
					     other[i].len, b));
		CU_ASSERT_EQUAL(memcmp(a, b, 32) == 0, other[i].same);
	}
	/* a byte moved between path and body */
	CU_ASSERT(lf_idem_raw_digest("POST", "/x", "{}", 2, a));
	CU_ASSERT(lf_idem_raw_digest("POST", "/x{", "}", 1, b));
	CU_ASSERT_NOT_EQUAL(memcmp(a, b, 32), 0);
	/* no body is the empty body */
	CU_ASSERT(lf_idem_raw_digest("POST", "/x", NULL, 0, a));
	CU_ASSERT(lf_idem_raw_digest("POST", "/x", "", 0, b));
	CU_ASSERT_EQUAL(memcmp(a, b, 32), 0);
}

static void test_fields(void)
{
	const char *text = "{\"s\":\"h\\u00e9llo\",\"n\":5,\"z\":null}";
	struct json_object *o = NULL;
	CU_ASSERT_EQUAL_FATAL(lf_json_parse_object(text, strlen(text), &o), LF_JSON_OK);
	const char *s;
	size_t n;
	CU_ASSERT_EQUAL(lf_field_string(o, "s", &s, &n), LF_FIELD_OK);
	CU_ASSERT_EQUAL(n, 6);
	CU_ASSERT_EQUAL(lf_utf8_chars(s, n), 5);
	CU_ASSERT_EQUAL(lf_field_string(o, "n", &s, &n), LF_FIELD_WRONG_TYPE);
	CU_ASSERT_EQUAL(lf_field_string(o, "z", &s, &n), LF_FIELD_ABSENT);
	CU_ASSERT_EQUAL(lf_field_string(o, "missing", &s, &n), LF_FIELD_ABSENT);
	json_object_put(o);
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	CU_pSuite s = CU_add_suite("http", NULL, NULL);
	CU_add_test(s, "problem+json rendering", test_problem_render);
	CU_add_test(s, "every error code has a title", test_problem_titles);
	CU_add_test(s, "payment and account rendering", test_render_payment_and_account);
	CU_add_test(s, "ledger entry rendering", test_render_ledger_entry);
	CU_add_test(s, "Idempotency-Key grammar", test_idempotency_key);
	CU_add_test(s, "fingerprints normalise amounts", test_fingerprint);
	CU_add_test(s, "typed body fields", test_fields);
	CU_add_test(s, "raw request digests", test_raw_digest);
	return lf_cunit_run();
}
