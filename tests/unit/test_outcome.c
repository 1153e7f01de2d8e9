/*
 * test_outcome.c - unit tests for the msgpack encoding of decided outcomes
 * (src/idempotency/outcome.c): round trips (with and without the raw
 * digest), and rejection of truncated, trailing,
 * mistyped, hostile and random input.
 */
#include "config.h"

#include "lf_idempotency.h"

#include <CUnit/Basic.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "../lf_cunit.h"

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * UINT64_C(0x2545F4914F6CDD1D);
}

static void sample(struct lf_outcome *o, int status, char *loc, char *body, size_t blen)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->status = status;
	for (i = 0; i < LF_FINGERPRINT_LEN; i++)
		o->fingerprint[i] = (uint8_t)(i * 13 + 1);
	o->expires_ms = INT64_C(1764082348123);
	o->location = loc;
	o->body = body;
	o->body_len = blen;
}

/* Encode, decode, compare; then every truncation and a trailing byte must
 * be refused. */
static void round_trip(const struct lf_outcome *in)
{
	struct lf_outcome out;
	unsigned char *buf, *longer;
	size_t len = 0, cut;
	unsigned truncated_ok = 0;

	buf = lf_outcome_encode(in, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	CU_ASSERT_TRUE_FATAL(lf_outcome_decode(buf, len, &out));
	CU_ASSERT_EQUAL(out.status, in->status);
	CU_ASSERT_EQUAL(memcmp(out.fingerprint, in->fingerprint, LF_FINGERPRINT_LEN), 0);
	CU_ASSERT_EQUAL(out.expires_ms, in->expires_ms);
	CU_ASSERT_EQUAL(out.has_raw, in->has_raw);
	if (in->has_raw)
		CU_ASSERT_EQUAL(memcmp(out.raw, in->raw, LF_FINGERPRINT_LEN), 0);
	if (in->location == NULL) {
		CU_ASSERT_PTR_NULL(out.location);
	} else {
		CU_ASSERT_PTR_NOT_NULL(out.location);
		if (out.location)
			CU_ASSERT_STRING_EQUAL(out.location, in->location);
	}
	CU_ASSERT_EQUAL(out.body_len, in->body_len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out.body);
	CU_ASSERT_EQUAL(out.body[out.body_len], '\0');
	if (in->body_len)
		CU_ASSERT_EQUAL(memcmp(out.body, in->body, in->body_len), 0);
	lf_outcome_clear(&out);
	CU_ASSERT_PTR_NULL(out.body);

	/* each prefix is copied to the very end of a heap block, so that an
	 * overread runs into ASan's redzone */
	longer = malloc(len + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(longer);
	for (cut = 0; cut < len; cut++) {
		unsigned char *prefix = longer + (len + 1 - cut);

		memcpy(prefix, buf, cut);
		if (lf_outcome_decode(prefix, cut, &out)) {
			truncated_ok++;
			lf_outcome_clear(&out);
		} else {
			CU_ASSERT_PTR_NULL(out.body); /* left cleared on failure */
		}
	}
	CU_ASSERT_EQUAL(truncated_ok, 0);

	memcpy(longer, buf, len);
	longer[len] = 0xc0;
	CU_ASSERT_FALSE(lf_outcome_decode(longer, len + 1, &out));
	free(longer);
	free(buf);
}

static void test_round_trip_location(void)
{
	struct lf_outcome o;
	char body[] = "{\"id\":\"0190f0a2-7c1e-7b3a-9c2d-1234567890ab\",\"status\":\"COMPLETED\"}";

	sample(&o, 201, "/api/payments/0190f0a2-7c1e-7b3a-9c2d-1234567890ab", body, strlen(body));
	round_trip(&o);
}

static void test_round_trip_raw_digest(void)
{
	struct lf_outcome o;
	char body[] = "{\"id\":\"0190f0a2-7c1e-7b3a-9c2d-1234567890ab\"}";

	sample(&o, 201, "/api/payments/0190f0a2-7c1e-7b3a-9c2d-1234567890ab", body, strlen(body));
	o.has_raw = true;
	for (int i = 0; i < LF_FINGERPRINT_LEN; i++)
		o.raw[i] = (uint8_t)(200 - i);
	round_trip(&o);
}

static void test_round_trip_no_location(void)
{
	struct lf_outcome o;
	char body[] = "{\"type\":\"about:blank\",\"status\":422,\"code\":\"insufficient_funds\"}";

	sample(&o, 422, NULL, body, strlen(body));
	o.expires_ms = -5; /* negative expiry still round-trips */
	round_trip(&o);
}

static void test_round_trip_empty_body(void)
{
	struct lf_outcome o;
	char empty[] = "";

	sample(&o, 204, NULL, empty, 0);
	round_trip(&o);
	sample(&o, 201, "", NULL, 0);
	round_trip(&o);
}

static void test_round_trip_large_body(void)
{
	size_t n = 60 * 1024, i;
	char *body = malloc(n);
	struct lf_outcome o;

	CU_ASSERT_PTR_NOT_NULL_FATAL(body);
	for (i = 0; i < n; i++)
		body[i] = (char)(i * 7 + (i >> 8)); /* includes NUL bytes */
	sample(&o, 201, "/api/accounts/11111111-1111-1111-1111-111111111111", body, n);
	round_trip(&o);
	free(body);
}

static void test_encode_refuses(void)
{
	struct lf_outcome o;
	size_t len = 0;

	sample(&o, 99, NULL, "x", 1);
	CU_ASSERT_PTR_NULL(lf_outcome_encode(&o, &len));
	sample(&o, 600, NULL, "x", 1);
	CU_ASSERT_PTR_NULL(lf_outcome_encode(&o, &len));
	sample(&o, 201, NULL, NULL, 3);
	CU_ASSERT_PTR_NULL(lf_outcome_encode(&o, &len));
	CU_ASSERT_PTR_NULL(lf_outcome_encode(NULL, &len));
}

/* ---- hand-built variants ------------------------------------------- */

enum variant {
	V_GOOD,
	V_UNKNOWN_KEY,
	V_BODY_STR,
	V_NO_LOC,
	V_VERSION_2,
	V_VERSION_STR,
	V_STATUS_STR,
	V_STATUS_600,
	V_STATUS_NEG,
	V_FP_31,
	V_FP_33,
	V_FP_STR,
	V_EXP_STR,
	V_EXP_HUGE,
	V_LOC_INT,
	V_LOC_NUL,
	V_BODY_INT,
	V_MISS_V,
	V_MISS_S,
	V_MISS_F,
	V_MISS_E,
	V_MISS_B,
	V_DUP_S,
	V_INT_KEY,
	V_ROOT_ARRAY,
	V_NESTED_UNKNOWN,
	V_RAW,
	V_RAW_31,
	V_RAW_STR,
	V_RAW_DUP,
	V_COUNT
};

static void key(msgpack_packer *pk, const char *k)
{
	msgpack_pack_str(pk, strlen(k));
	msgpack_pack_str_body(pk, k, strlen(k));
}

static void str(msgpack_packer *pk, const char *s, size_t n)
{
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

static void bin(msgpack_packer *pk, const void *b, size_t n)
{
	msgpack_pack_bin(pk, n);
	msgpack_pack_bin_body(pk, b, n);
}

/* Pack the pairs into `body`, counting them, then prefix the map header. */
static msgpack_sbuffer build(enum variant v)
{
	static const uint8_t fp[40] = {1, 2, 3};
	msgpack_sbuffer pairs, out;
	msgpack_packer pk;
	unsigned n = 0;

	msgpack_sbuffer_init(&pairs);
	msgpack_packer_init(&pk, &pairs, msgpack_sbuffer_write);
	if (v != V_MISS_V) {
		key(&pk, "v"), n++;
		if (v == V_VERSION_STR)
			str(&pk, "1", 1);
		else
			msgpack_pack_uint8(&pk, v == V_VERSION_2 ? 2 : 1);
	}
	if (v != V_MISS_S) {
		key(&pk, "s"), n++;
		if (v == V_STATUS_STR)
			str(&pk, "201", 3);
		else
			msgpack_pack_int(&pk, v == V_STATUS_600   ? 600
					      : v == V_STATUS_NEG ? -201
								  : 201);
	}
	if (v != V_MISS_F) {
		key(&pk, "f"), n++;
		if (v == V_FP_STR)
			str(&pk, (const char *)fp, 32);
		else
			bin(&pk, fp, v == V_FP_31 ? 31 : v == V_FP_33 ? 33 : 32);
	}
	if (v != V_MISS_E) {
		key(&pk, "e"), n++;
		if (v == V_EXP_STR)
			str(&pk, "1764082348123", 13);
		else if (v == V_EXP_HUGE)
			msgpack_pack_uint64(&pk, UINT64_MAX);
		else
			msgpack_pack_int64(&pk, INT64_C(1764082348123));
	}
	if (v != V_NO_LOC) {
		key(&pk, "l"), n++;
		if (v == V_LOC_INT)
			msgpack_pack_int(&pk, 7);
		else if (v == V_LOC_NUL)
			str(&pk, "/api/a\0b", 8);
		else
			str(&pk, "/api/payments/x", 15);
	}
	if (v != V_MISS_B) {
		key(&pk, "b"), n++;
		if (v == V_BODY_INT)
			msgpack_pack_int(&pk, 5);
		else if (v == V_BODY_STR)
			str(&pk, "{}", 2);
		else
			bin(&pk, "{}", 2);
	}
	if (v == V_RAW || v == V_RAW_DUP)
		key(&pk, "r"), bin(&pk, fp, 32), n++;
	if (v == V_RAW_DUP)
		key(&pk, "r"), bin(&pk, fp, 32), n++;
	if (v == V_RAW_31)
		key(&pk, "r"), bin(&pk, fp, 31), n++;
	if (v == V_RAW_STR)
		key(&pk, "r"), str(&pk, (const char *)fp, 32), n++;
	if (v == V_DUP_S)
		key(&pk, "s"), msgpack_pack_int(&pk, 201), n++;
	if (v == V_INT_KEY)
		msgpack_pack_int(&pk, 1), msgpack_pack_int(&pk, 1), n++;
	if (v == V_UNKNOWN_KEY)
		key(&pk, "zz"), msgpack_pack_true(&pk), n++;
	if (v == V_NESTED_UNKNOWN) {
		key(&pk, "x"), n++;
		msgpack_pack_array(&pk, 2);
		msgpack_pack_map(&pk, 1);
		key(&pk, "k");
		msgpack_pack_nil(&pk);
		msgpack_pack_true(&pk);
	}

	msgpack_sbuffer_init(&out);
	msgpack_packer_init(&pk, &out, msgpack_sbuffer_write);
	if (v == V_ROOT_ARRAY)
		msgpack_pack_array(&pk, n * 2);
	else
		msgpack_pack_map(&pk, n);
	msgpack_sbuffer_write(&out, pairs.data, pairs.size);
	msgpack_sbuffer_destroy(&pairs);
	return out;
}

static void test_variants(void)
{
	int v;

	for (v = 0; v < V_COUNT; v++) {
		msgpack_sbuffer sb = build((enum variant)v);
		struct lf_outcome o;
		bool ok = lf_outcome_decode(sb.data, sb.size, &o);
		bool want = v == V_GOOD || v == V_UNKNOWN_KEY || v == V_BODY_STR || v == V_NO_LOC ||
			    v == V_NESTED_UNKNOWN || v == V_RAW;

		if (ok != want)
			fprintf(stderr, "\n    variant %d: decode %s\n", v,
				ok ? "accepted" : "refused");
		CU_ASSERT_EQUAL(ok, want);
		if (ok) {
			CU_ASSERT_EQUAL(o.status, 201);
			CU_ASSERT_EQUAL(o.body_len, 2);
			CU_ASSERT_STRING_EQUAL(o.body, "{}");
			if (v == V_NO_LOC)
				CU_ASSERT_PTR_NULL(o.location);
			if (v == V_GOOD)
				CU_ASSERT_STRING_EQUAL(o.location, "/api/payments/x");
			CU_ASSERT_EQUAL(o.has_raw, v == V_RAW);
			if (v == V_RAW)
				CU_ASSERT(o.raw[0] == 1 && o.raw[2] == 3 && o.raw[31] == 0);
			lf_outcome_clear(&o);
		}
		msgpack_sbuffer_destroy(&sb);
	}
}

/* Headers that claim huge containers or strings must be refused before
 * anything is allocated for them. */
static void test_hostile_headers(void)
{
	static const unsigned char cases[][12] = {
		{0xdd, 0xff, 0xff, 0xff, 0xf0},                     /* array32, 4G items */
		{0xdf, 0xff, 0xff, 0xff, 0xff},                     /* map32, 4G pairs */
		{0x81, 0xa1, 'x', 0xdd, 0x00, 0xff, 0xff, 0xff},    /* nested array32 */
		{0x81, 0xa1, 'b', 0xc6, 0xff, 0xff, 0xff, 0xff},    /* bin32 past the end */
		{0x81, 0xa1, 'l', 0xdb, 0x7f, 0xff, 0xff, 0xff},    /* str32 past the end */
		{0x81, 0xa1, 'x', 0xc9, 0xff, 0xff, 0xff, 0xff, 1}, /* ext32 past the end */
		{0xde, 0xff, 0xff, 0xa1, 'v', 0x01},                /* map16 short */
		{0x81, 0xc1, 0x01},                                 /* reserved byte */
		{0x80},                                             /* empty map */
		{0xc0},                                             /* nil */
	};
	static const size_t lens[] = {5, 5, 8, 8, 8, 9, 6, 3, 1, 1};
	size_t i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct lf_outcome o;

		CU_ASSERT_FALSE(lf_outcome_decode(cases[i], lens[i], &o));
		CU_ASSERT_PTR_NULL(o.body);
	}
	CU_ASSERT_FALSE(lf_outcome_decode(NULL, 0, &(struct lf_outcome){0}));
	CU_ASSERT_FALSE(lf_outcome_decode("x", 1, NULL));
}

static void test_random_garbage(void)
{
	uint64_t seed = 0x1234567;
	unsigned char buf[300];
	int i, accepted = 0;

	for (i = 0; i < 50000; i++) {
		size_t len = (size_t)(rng_next(&seed) % sizeof(buf)), j;
		unsigned char *copy;
		struct lf_outcome o;

		for (j = 0; j < len; j++)
			buf[j] = (unsigned char)rng_next(&seed);
		if (len > 0 && i % 2) /* half start like a map, to get further */
			buf[0] = 0x86;
		copy = malloc(len ? len : 1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
		memcpy(copy, buf, len);
		if (lf_outcome_decode(copy, len, &o)) {
			accepted++;
			lf_outcome_clear(&o);
		}
		free(copy);
	}
	CU_ASSERT_EQUAL(accepted, 0);
}

/* Every single-byte corruption of a valid encoding: no crash, and what is
 * accepted is still a well-formed outcome (payload bytes such as the
 * fingerprint or the body may legitimately change). */
static void test_mutations(void)
{
	static const unsigned char repl[] = {0x00, 0x01, 0x7f, 0x80, 0x8f, 0x90, 0xa0, 0xc0, 0xc1,
					     0xc4, 0xc6, 0xcf, 0xd3, 0xd9, 0xdb, 0xdd, 0xdf, 0xff};
	char body[] = "{\"a\":1}";
	struct lf_outcome in, o;
	unsigned char *buf;
	size_t len = 0, i, r;
	unsigned accepted = 0, tried = 0;

	sample(&in, 201, "/x", body, strlen(body));
	buf = lf_outcome_encode(&in, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	for (i = 0; i < len; i++) {
		unsigned char saved = buf[i];

		for (r = 0; r < sizeof(repl); r++) {
			if (repl[r] == saved)
				continue;
			buf[i] = repl[r];
			tried++;
			if (lf_outcome_decode(buf, len, &o)) {
				accepted++;
				CU_ASSERT(i > 0); /* the map header is structural */
				CU_ASSERT(o.status >= 100 && o.status <= 599);
				CU_ASSERT_PTR_NOT_NULL(o.body);
				lf_outcome_clear(&o);
			}
		}
		buf[i] = saved;
	}
	/* payload bytes (fingerprint, body...) may change; not everything */
	CU_ASSERT(accepted > 0 && accepted < tried);
	free(buf);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("outcome", NULL, NULL);
	if (s == NULL || !CU_add_test(s, "round trip with location", test_round_trip_location) ||
	    !CU_add_test(s, "round trip without location", test_round_trip_no_location) ||
	    !CU_add_test(s, "round trip with a raw digest", test_round_trip_raw_digest) ||
	    !CU_add_test(s, "round trip empty body", test_round_trip_empty_body) ||
	    !CU_add_test(s, "round trip 60 KiB body", test_round_trip_large_body) ||
	    !CU_add_test(s, "encode refuses bad input", test_encode_refuses) ||
	    !CU_add_test(s, "decode type checks", test_variants) ||
	    !CU_add_test(s, "hostile headers", test_hostile_headers) ||
	    !CU_add_test(s, "random garbage", test_random_garbage) ||
	    !CU_add_test(s, "single-byte mutations", test_mutations)) {
		CU_cleanup_registry();
		return 1;
	}
	return lf_cunit_run();
}
