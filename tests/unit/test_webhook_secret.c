/*
 * test_webhook_secret.c - webhooks/secret.c: a new secret's form, sealing
 * and opening under the pepper (and refusing another pepper, another
 * webhook's id, a changed byte, a wrong length), the signature against a
 * vector computed elsewhere (Python's hmac), and which event types and
 * URLs a webhook may name.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "lf_events.h"
#include "../lf_cunit.h"

static void test_new_secret(void)
{
	char a[LF_WEBHOOK_SECRET_TEXT_LEN + 1], b[LF_WEBHOOK_SECRET_TEXT_LEN + 1];
	CU_ASSERT_TRUE_FATAL(lf_webhook_secret_new(a));
	CU_ASSERT_TRUE_FATAL(lf_webhook_secret_new(b));
	CU_ASSERT_EQUAL(strlen(a), 70);
	CU_ASSERT_EQUAL(strncmp(a, "whsec_", 6), 0);
	CU_ASSERT_EQUAL(strspn(a + 6, "0123456789abcdef"), 64);
	CU_ASSERT(strcmp(a, b) != 0);
}

static void test_seal_open(void)
{
	uint8_t pepper[LF_AUTH_PEPPER_LEN], other[LF_AUTH_PEPPER_LEN];
	memset(pepper, 7, sizeof pepper);
	memset(other, 8, sizeof other);
	lf_uuid id, id2;
	lf_uuid_v7(&id);
	lf_uuid_v7(&id2);
	char secret[LF_WEBHOOK_SECRET_TEXT_LEN + 1], out[LF_WEBHOOK_SECRET_TEXT_LEN + 1];
	uint8_t box[LF_WEBHOOK_SEALED_LEN], box2[LF_WEBHOOK_SEALED_LEN];
	size_t len = 0, len2 = 0;
	CU_ASSERT_TRUE_FATAL(lf_webhook_secret_new(secret));
	CU_ASSERT_TRUE_FATAL(lf_webhook_secret_seal(pepper, &id, secret, box, &len));
	CU_ASSERT_EQUAL(len, LF_WEBHOOK_SEALED_LEN);
	/* the secret is not in the box, and two seals differ (a fresh nonce) */
	CU_ASSERT_PTR_NULL(memmem(box, len, secret + 6, 16));
	CU_ASSERT_TRUE_FATAL(lf_webhook_secret_seal(pepper, &id, secret, box2, &len2));
	CU_ASSERT(memcmp(box, box2, len) != 0);
	CU_ASSERT_TRUE(lf_webhook_secret_open(pepper, &id, box, len, out));
	CU_ASSERT_STRING_EQUAL(out, secret);
	CU_ASSERT_FALSE(lf_webhook_secret_open(other, &id, box, len, out));
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT_FALSE(lf_webhook_secret_open(pepper, &id2, box, len, out)); /* moved */
	CU_ASSERT_FALSE(lf_webhook_secret_open(pepper, &id, box, len - 1, out));
	for (size_t i = 0; i < len; i += 13) {
		box[i] ^= 1;
		CU_ASSERT_FALSE(lf_webhook_secret_open(pepper, &id, box, len, out));
		box[i] ^= 1;
	}
	CU_ASSERT_FALSE(lf_webhook_secret_seal(pepper, &id, "whsec_short", box, &len));
}

static void test_sign(void)
{
	char sig[128];
	const char body[] = "{\"a\":1}";
	CU_ASSERT_TRUE_FATAL(
		lf_webhook_sign("whsec_test", 1700000000, body, strlen(body), sig, sizeof sig));
	CU_ASSERT_STRING_EQUAL(
		sig,
		"t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789");
	CU_ASSERT_FALSE(lf_webhook_sign("whsec_test", 1700000000, body, strlen(body), sig, 20));
}

static void test_types_and_urls(void)
{
	char bad[40];
	CU_ASSERT_TRUE(lf_webhook_types_valid("payment.completed", bad));
	CU_ASSERT_TRUE(lf_webhook_types_valid(
		"account.created,payment.completed,payment.declined,payment.pending,"
		"payment.captured,payment.voided,payment.expired,refund.completed,refund.declined",
		bad));
	CU_ASSERT_FALSE(lf_webhook_types_valid("", bad));
	CU_ASSERT_FALSE(lf_webhook_types_valid("payment.completed,,account.created", bad));
	CU_ASSERT_FALSE(lf_webhook_types_valid("payment.*", bad));
	CU_ASSERT_STRING_EQUAL(bad, "payment.*");
	CU_ASSERT_FALSE(lf_webhook_types_valid("account.created ", bad));
	CU_ASSERT_TRUE(
		lf_webhook_types_match("account.created,payment.declined", "payment.declined"));
	CU_ASSERT_FALSE(lf_webhook_types_match("account.created,payment.declined", "payment"));
	CU_ASSERT_FALSE(lf_webhook_types_match("payment.completed", "payment.complete"));

	CU_ASSERT_TRUE(lf_webhook_url_valid("http://127.0.0.1:8080/hook"));
	CU_ASSERT_TRUE(lf_webhook_url_valid("https://hooks.example.com/a/b?x=1"));
	CU_ASSERT_TRUE(lf_webhook_url_valid("http://[::1]:9/"));
	CU_ASSERT_FALSE(lf_webhook_url_valid("ftp://h/"));
	CU_ASSERT_FALSE(lf_webhook_url_valid("//h/"));
	CU_ASSERT_FALSE(lf_webhook_url_valid("http:///x"));
	CU_ASSERT_FALSE(lf_webhook_url_valid("http://u:p@h/"));
	CU_ASSERT_FALSE(lf_webhook_url_valid("http://h/a b"));
	CU_ASSERT_FALSE(lf_webhook_url_valid(""));
	char longurl[LF_WEBHOOK_URL_MAX + 16];
	snprintf(longurl, sizeof longurl, "http://h/%0*d", LF_WEBHOOK_URL_MAX, 0);
	CU_ASSERT_FALSE(lf_webhook_url_valid(longurl));
}

int main(void)
{
	static const struct lf_test tests[] = {
		{"a new secret", test_new_secret},
		{"sealed under the pepper, bound to the webhook", test_seal_open},
		{"signature vector", test_sign},
		{"event types and URLs", test_types_and_urls},
	};
	static const struct lf_suite suites[] = {{"webhook secrets", LF_TESTS(tests)}};
	return lf_cunit_main(suites, LF_COUNT(suites));
}
