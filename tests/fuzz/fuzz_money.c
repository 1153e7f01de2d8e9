/*
 * fuzz_money.c - libFuzzer harness for the request amount grammar:
 * lf_money_parse() for every exponent 0..4, allow_zero both ways, checked
 * against a reference model written here from the header's grammar (the
 * verdict must match exactly, and so must the value). When it accepts:
 * 0 <= value <= 10^15, value > 0 unless allow_zero; lf_money_format() of
 * the value parses back to the same value and reads exactly `exponent`
 * fraction digits; the canonical text (lf_idem_canonical_decimal) parses to
 * the same value and equals the canonical text of the formatted value (so
 * "1.50" and "1.5" fingerprint alike); one more allowed fraction digit
 * scales the value by ten; a JSON string holding the text gets the same
 * verdict through lf_money_from_json().
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lf_idempotency.h"
#include "lf_money.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                         \
	do {                                                                                \
		if (!(cond)) {                                                              \
			fprintf(stderr, "fuzz_money: property failed: %s (%s:%d)\n", #cond, \
				__FILE__, __LINE__);                                        \
			abort();                                                            \
		}                                                                           \
	} while (0)

/* The grammar ("0" / %x31-39 *DIGIT) ["." 1*DIGIT] and the verdict order of
 * lf_money.h, computed the slow and obvious way. */
static enum lf_money_verdict reference(const char *s, size_t len, int exponent, bool allow_zero,
				       int64_t *out)
{
	size_t i = 0, nfrac = 0;
	if (len == 0 || s[0] < '0' || s[0] > '9' || (s[0] == '0' && len > 1 && s[1] != '.'))
		return LF_MONEY_SYNTAX;
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	size_t int_end = i;
	if (i < len) {
		if (s[i] != '.')
			return LF_MONEY_SYNTAX;
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			nfrac++;
		if (nfrac == 0 || i != len)
			return LF_MONEY_SYNTAX;
	}
	if (nfrac > (size_t)exponent)
		return LF_MONEY_FRACTION;
	/* value = digits * 10^(exponent - nfrac), saturating above 10^15 */
	unsigned __int128 v = 0;
	bool big = false;
	for (size_t k = 0; k < len; k++) {
		if (k == int_end)
			continue; /* the dot */
		v = v * 10 + (unsigned)(s[k] - '0');
		if (v > (unsigned __int128)LF_MONEY_MAX_MINOR * 10000)
			big = true, v = (unsigned __int128)LF_MONEY_MAX_MINOR * 10000;
	}
	for (size_t k = nfrac; k < (size_t)exponent; k++)
		v *= 10;
	if (big || v > (unsigned __int128)LF_MONEY_MAX_MINOR)
		return LF_MONEY_TOO_LARGE;
	if (v == 0 && !allow_zero)
		return LF_MONEY_NOT_POSITIVE;
	*out = (int64_t)v;
	return LF_MONEY_OK;
}

static bool has_exact_fraction(const char *s, size_t len, int exponent)
{
	const char *dot = memchr(s, '.', len);
	if (exponent == 0)
		return dot == NULL;
	return dot != NULL && (size_t)(s + len - dot - 1) == (size_t)exponent;
}

static void check_one(const char *text, size_t len, int e, bool allow_zero, int64_t *accepted)
{
	int64_t v = -1, ref = -1;
	enum lf_money_verdict got = lf_money_parse(text, len, e, allow_zero, &v);
	enum lf_money_verdict want = reference(text, len, e, allow_zero, &ref);
	if (got != want)
		fprintf(stderr, "fuzz_money: exponent %d allow_zero %d: verdict %d, model %d\n", e,
			allow_zero, got, want);
	CHECK(got == want);
	*accepted = -1;
	if (got != LF_MONEY_OK)
		return;
	CHECK(v == ref);
	CHECK(v >= 0 && v <= LF_MONEY_MAX_MINOR);
	CHECK(allow_zero || v > 0);
	*accepted = v;

	/* formatted, the value reads back the same, with exactly e digits */
	char buf[LF_MONEY_FMT_MAX];
	size_t n = lf_money_format(v, e, buf);
	CHECK(n == strlen(buf));
	CHECK(has_exact_fraction(buf, n, e));
	int64_t again = -1;
	CHECK(lf_money_parse(buf, n, e, allow_zero, &again) == LF_MONEY_OK && again == v);

	/* the canonical text: same value, and the same for both spellings */
	char *canon = malloc(len + 1), fcanon[LF_MONEY_FMT_MAX];
	CHECK(canon != NULL);
	size_t cn = lf_idem_canonical_decimal(text, len, canon);
	CHECK(cn <= len && cn > 0);
	again = -1;
	CHECK(lf_money_parse(canon, cn, e, allow_zero, &again) == LF_MONEY_OK && again == v);
	size_t fn = lf_idem_canonical_decimal(buf, n, fcanon);
	CHECK(fn == cn && memcmp(fcanon, canon, cn) == 0);
	free(canon);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	for (int z = 0; z < 2; z++) {
		int64_t prev = -1;
		for (int e = 0; e <= 4; e++) {
			int64_t v;
			check_one(text, size, e, z == 1, &v);
			/* one more fraction digit allowed: ten times the minor units */
			if (prev >= 0 && prev * 10 <= LF_MONEY_MAX_MINOR)
				CHECK(v == prev * 10);
			prev = v;
		}
	}

	/* the same text as a JSON string takes the same path */
	struct json_object *js = json_object_new_string_len(text, (int)(size > 4096 ? 4096 : size));
	if (js != NULL) {
		size_t n = size > 4096 ? 4096 : size;
		int64_t a = -1, b = -1;
		CHECK(lf_money_from_json(js, 2, false, &a) ==
		      lf_money_parse(text, n, 2, false, &b));
		CHECK(a == b);
		json_object_put(js);
	}
	return 0;
}
