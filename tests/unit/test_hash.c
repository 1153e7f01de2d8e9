/*
 * test_hash.c - unit tests for src/core/hash.c's HMAC-SHA-256: RFC 4231's
 * vectors; a MAC over parts equals the MAC of their concatenation; keys
 * of every length from 0 to 100 bytes (past the 64 whose contexts a
 * thread keeps) against OpenSSL's one-shot HMAC(), in an order that
 * makes each thread's four kept contexts change keys; and four threads
 * MACing under eight keys at once, each answer against the reference.
 */
#include "config.h"

#include "lf_hash.h"
#include "lf_ledger_hash.h"

#include <CUnit/Basic.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lf_cunit.h"

_Static_assert(LF_LEDGER_HASH_LEN == LF_HMAC_LEN, "both are SHA-256 sized");

static bool mac_hex(const void *key, size_t keylen, const void *data, size_t len, char *hex)
{
	uint8_t out[LF_HMAC_LEN];
	struct lf_bytes part = {data, len};
	if (!lf_hmac_sha256(key, keylen, &part, 1, out))
		return false;
	lf_ledger_hash_hex(out, hex); /* 32 bytes as lower-case hex */
	return true;
}

static void test_rfc4231(void)
{
	uint8_t k1[20], k3[20], d3[50], k6[131];
	memset(k1, 0x0b, sizeof k1);
	memset(k3, 0xaa, sizeof k3);
	memset(d3, 0xdd, sizeof d3);
	memset(k6, 0xaa, sizeof k6);
	const struct {
		const void *key;
		size_t keylen;
		const void *data;
		size_t len;
		const char *want;
	} v[] = {
		{k1, sizeof k1, "Hi There", 8,
		 "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
		{"Jefe", 4, "what do ya want for nothing?", 28,
		 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{k3, sizeof k3, d3, sizeof d3,
		 "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
		{k6, sizeof k6, "Test Using Larger Than Block-Size Key - Hash Key First", 54,
		 "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
	};
	/* three times over: the second and third reuse the kept contexts */
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
			char hex[2 * LF_HMAC_LEN + 1] = "";
			CU_ASSERT_TRUE(mac_hex(v[i].key, v[i].keylen, v[i].data, v[i].len, hex));
			CU_ASSERT_STRING_EQUAL(hex, v[i].want);
		}
}

static void test_parts(void)
{
	const char *text = "ledgerflow:outcome-mac";
	uint8_t joined[LF_HMAC_LEN], split[LF_HMAC_LEN];
	struct lf_bytes one = {text, strlen(text)};
	struct lf_bytes three[] = {{text, 5}, {"", 0}, {text + 5, strlen(text) - 5}};
	CU_ASSERT_TRUE(lf_hmac_sha256("key", 3, &one, 1, joined));
	CU_ASSERT_TRUE(lf_hmac_sha256("key", 3, three, 3, split));
	CU_ASSERT_EQUAL(memcmp(joined, split, LF_HMAC_LEN), 0);
	/* no parts at all: the MAC of the empty message */
	uint8_t empty[LF_HMAC_LEN], want[LF_HMAC_LEN];
	unsigned int wl = 0;
	CU_ASSERT_TRUE(lf_hmac_sha256("key", 3, NULL, 0, empty));
	CU_ASSERT_PTR_NOT_NULL(HMAC(EVP_sha256(), "key", 3, (const uint8_t *)"", 0, want, &wl));
	CU_ASSERT_EQUAL(memcmp(empty, want, LF_HMAC_LEN), 0);
}

/* Key i: i bytes of (i * 7 + j) & 0xff; message: "message <i>". */
static void key_of(int i, uint8_t *key)
{
	for (int j = 0; j < i; j++)
		key[j] = (uint8_t)((i * 7 + j) & 0xff);
}

static bool matches_reference(int i)
{
	uint8_t key[128], got[LF_HMAC_LEN], want[LF_HMAC_LEN];
	char msg[32];
	key_of(i, key);
	int len = snprintf(msg, sizeof msg, "message %d", i);
	struct lf_bytes part = {msg, (size_t)len};
	unsigned int wl = 0;
	if (!lf_hmac_sha256(key, (size_t)i, &part, 1, got) ||
	    HMAC(EVP_sha256(), key, i, (const uint8_t *)msg, (size_t)len, want, &wl) == NULL)
		return false;
	return wl == LF_HMAC_LEN && memcmp(got, want, LF_HMAC_LEN) == 0;
}

static void test_every_key_length(void)
{
	int bad = 0;
	/* 0..100 once, then the lengths in a stride that keeps coming back to
	 * keys whose kept context another key has taken since */
	for (int i = 0; i <= 100; i++)
		bad += !matches_reference(i);
	for (int n = 0; n < 500; n++)
		bad += !matches_reference((n * 37) % 101);
	CU_ASSERT_EQUAL(bad, 0);
}

static void *mac_thread(void *arg)
{
	int seed = *(int *)arg, bad = 0;
	for (int n = 0; n < 3000; n++)
		bad += !matches_reference(16 + (n * 5 + seed) % 8 * 6);
	*(int *)arg = bad;
	return NULL;
}

static void test_threads(void)
{
	pthread_t t[4];
	int arg[4];
	for (int i = 0; i < 4; i++) {
		arg[i] = i;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, mac_thread, &arg[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT_EQUAL(arg[i], 0);
	}
}

int main(void)
{
	static const struct lf_test tests[] = {
		{"RFC 4231 vectors, again under kept contexts", test_rfc4231},
		{"parts are their concatenation", test_parts},
		{"keys of 0-100 bytes against HMAC(), contexts changing keys",
		 test_every_key_length},
		{"four threads under eight keys", test_threads},
	};
	static const struct lf_suite suites[] = {{"hmac", LF_TESTS(tests)}};
	return lf_cunit_main(suites, LF_COUNT(suites));
}
