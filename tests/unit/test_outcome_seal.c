/*
 * test_outcome_seal.c - unit tests for the seal of stored outcomes
 * (src/idempotency/outcome.c, lf_outcome_seal/unseal): a sealed value
 * round-trips for its own scope only; a value forged without the secret,
 * moved to another client's or key's scope, truncated, extended or with
 * any one byte flipped is refused; another secret refuses everything.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "../lf_cunit.h"
#include "lf_idempotency.h"

static const char scope_a[] = "lf:idem:1:key-1";
static const char scope_b[] = "lf:idem:2:key-1"; /* another client, same key */
static const char scope_c[] = "lf:idem:1:key-2"; /* same client, another key */

static struct lf_outcome sample(void)
{
	static char body[] =
		"{\"id\":\"0190b3c8-0000-7000-8000-000000000001\",\"status\":\"COMPLETED\"}";
	static char loc[] = "/api/payments/0190b3c8-0000-7000-8000-000000000001";
	struct lf_outcome o = {.status = 201,
			       .expires_ms = INT64_C(1790000000123),
			       .location = loc,
			       .body = body,
			       .body_len = sizeof body - 1};
	for (int i = 0; i < LF_FINGERPRINT_LEN; i++)
		o.fingerprint[i] = (uint8_t)(i * 7 + 1);
	return o;
}

static void set_secret(uint8_t fill)
{
	uint8_t s[LF_OUTCOME_SECRET_LEN];
	memset(s, fill, sizeof s);
	lf_outcome_set_secret(s);
}

static void test_round_trip(void)
{
	set_secret(0x42);
	struct lf_outcome o = sample(), d;
	size_t len = 0;
	uint8_t *v = lf_outcome_seal(&o, scope_a, strlen(scope_a), &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_TRUE_FATAL(lf_outcome_unseal(v, len, scope_a, strlen(scope_a), &d));
	CU_ASSERT_EQUAL(d.status, 201);
	CU_ASSERT_EQUAL(d.expires_ms, o.expires_ms);
	CU_ASSERT_EQUAL(memcmp(d.fingerprint, o.fingerprint, LF_FINGERPRINT_LEN), 0);
	CU_ASSERT_EQUAL(d.body_len, o.body_len);
	CU_ASSERT_EQUAL(memcmp(d.body, o.body, o.body_len), 0);
	CU_ASSERT_STRING_EQUAL(d.location, o.location);
	lf_outcome_clear(&d);
	free(v);
}

static void test_moved_or_forged(void)
{
	set_secret(0x42);
	struct lf_outcome o = sample(), d;
	size_t len = 0;
	uint8_t *v = lf_outcome_seal(&o, scope_a, strlen(scope_a), &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	/* another client's or another key's scope */
	CU_ASSERT_FALSE(lf_outcome_unseal(v, len, scope_b, strlen(scope_b), &d));
	CU_ASSERT_FALSE(lf_outcome_unseal(v, len, scope_c, strlen(scope_c), &d));
	CU_ASSERT_FALSE(lf_outcome_unseal(v, len, "", 0, &d));
	/* the bare encoding (what an attacker with Redis access can compute) */
	size_t plain_len = 0;
	void *plain = lf_outcome_encode(&o, &plain_len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(plain);
	CU_ASSERT_FALSE(lf_outcome_unseal(plain, plain_len, scope_a, strlen(scope_a), &d));
	/* the encoding with a MAC made under a guessable key */
	set_secret(0);
	size_t zlen = 0;
	uint8_t *z = lf_outcome_seal(&o, scope_a, strlen(scope_a), &zlen);
	set_secret(0x42);
	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	CU_ASSERT_FALSE(lf_outcome_unseal(z, zlen, scope_a, strlen(scope_a), &d));
	/* every single flipped byte, truncation and extension */
	int accepted = 0;
	for (size_t i = 0; i < len; i++) {
		v[i] ^= 0x01;
		accepted += lf_outcome_unseal(v, len, scope_a, strlen(scope_a), &d);
		v[i] ^= 0x01;
	}
	CU_ASSERT_EQUAL(accepted, 0);
	for (size_t n = 0; n < len; n++)
		accepted += lf_outcome_unseal(v, n, scope_a, strlen(scope_a), &d);
	CU_ASSERT_EQUAL(accepted, 0);
	uint8_t *longer = malloc(len + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(longer);
	memcpy(longer, v, len);
	longer[len] = 0;
	CU_ASSERT_FALSE(lf_outcome_unseal(longer, len + 1, scope_a, strlen(scope_a), &d));
	/* and the original still unseals */
	CU_ASSERT_TRUE(lf_outcome_unseal(v, len, scope_a, strlen(scope_a), &d));
	lf_outcome_clear(&d);
	free(longer);
	free(z);
	free(plain);
	free(v);
}

static void test_other_secret(void)
{
	set_secret(0x42);
	struct lf_outcome o = sample(), d;
	size_t len = 0;
	uint8_t *v = lf_outcome_seal(&o, scope_a, strlen(scope_a), &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	set_secret(0x43); /* another deployment's secret */
	CU_ASSERT_FALSE(lf_outcome_unseal(v, len, scope_a, strlen(scope_a), &d));
	set_secret(0x42);
	CU_ASSERT_TRUE(lf_outcome_unseal(v, len, scope_a, strlen(scope_a), &d));
	lf_outcome_clear(&d);
	free(v);
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	CU_pSuite s = CU_add_suite("outcome seal", NULL, NULL);
	CU_add_test(s, "sealed value round-trips in its scope", test_round_trip);
	CU_add_test(s, "moved, forged, flipped, truncated: refused", test_moved_or_forged);
	CU_add_test(s, "another secret refuses", test_other_secret);
	return lf_cunit_run();
}
