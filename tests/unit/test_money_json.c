/*
 * test_money_json.c - unit tests for src/core/money.c's JSON amounts
 * (lf_money_from_json): numbers and strings as json-c parses them, the
 * request grammar and the 10^15 ceiling, and values of the wrong type.
 * The text grammar, formatting and currencies are test_money.c.
 */
#include "config.h"

#include "lf_money.h"

#include <CUnit/Basic.h>
#include <json-c/json.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lf_cunit.h"
#include "test_money.h"

/* JSON amounts: text parsed by json-c (strict) as `[<text>]`. */
struct json_case {
	const char *json;
	int exp;
	bool zero;
	int err;
	int64_t value;
};

/* clang-format off */
static const struct json_case json_cases[] = {
	{"100", 2, false, OK, 10000},
	{"100.5", 2, false, OK, 10050},
	{"100.50", 2, false, OK, 10050},
	{"100.00", 2, false, OK, 10000},
	{"100.000", 2, false, FRAC, 0},
	{"1.000", 2, false, FRAC, 0},
	{"5", 0, false, OK, 5},
	{"5.0", 0, false, FRAC, 0},
	{"1.250", 3, false, OK, 1250},
	{"1.0001", 4, false, OK, 10001},
	{"0", 2, false, NPOS, 0},
	{"0", 2, true, OK, 0},
	{"0.0", 2, true, OK, 0},
	{"0.00", 2, false, NPOS, 0},
	{"0.29", 2, false, OK, 29},
	{"0.1", 2, false, OK, 10},
	{"1234567890123.45", 2, false, OK, INT64_C(123456789012345)},
	{"9999999999999.99", 2, false, OK, INT64_C(999999999999999)},
	{"9007199254740993", 0, false, BIG, 0},
	{"10000000000000", 2, false, OK, MAXM},
	{"10000000000000.00", 2, false, OK, MAXM},
	{"10000000000000.01", 2, false, BIG, 0},
	{"10000000000001", 2, false, BIG, 0},
	{"1000000000000000", 0, false, OK, MAXM},
	{"1000000000000001", 0, false, BIG, 0},
	{"1000000000000", 3, false, OK, MAXM},
	{"1000000000000.001", 3, false, BIG, 0},
	{"100000000000", 4, false, OK, MAXM},
	{"100000000000.0001", 4, false, BIG, 0},
	{"9223372036854775807", 2, false, BIG, 0},
	{"9223372036854775808", 2, false, BIG, 0},
	{"18446744073709551615", 2, false, BIG, 0},
	{"18446744073709551616", 2, false, BIG, 0},
	{"123456789012345678901234567890", 2, false, BIG, 0},
	{"123456789012345678901234567890", 0, false, BIG, 0},
	{"123456789012345678901234567890.5", 2, false, BIG, 0},
	{"1.000000000000000000000000000001", 2, false, FRAC, 0},
	{"-1", 2, false, SYN, 0},
	{"-1.5", 2, false, SYN, 0},
	{"-0.0", 2, true, SYN, 0},
	{"-9223372036854775808", 2, false, SYN, 0},
	{"-9223372036854775809", 2, false, SYN, 0},
	{"-123456789012345678901234567890", 2, false, SYN, 0},
	{"1e2", 2, false, SYN, 0},
	{"1E2", 2, false, SYN, 0},
	{"1e-2", 2, false, SYN, 0},
	{"1.5e3", 2, false, SYN, 0},
	{"1.5E+3", 2, false, SYN, 0},
	{"0e0", 2, true, SYN, 0},
	{"1e999", 2, false, SYN, 0},
	/* json-c accepts these even in strict mode; the grammar does not */
	{"1.", 2, false, SYN, 0},
	{"01.5", 2, false, SYN, 0},
	{"NaN", 2, false, SYN, 0},
	{"Infinity", 2, false, SYN, 0},
	{"-Infinity", 2, false, SYN, 0},
	/* not JSON at all */
	{"007", 2, false, JSON_REJECT, 0},
	{"+1", 2, false, JSON_REJECT, 0},
	{".5", 2, false, JSON_REJECT, 0},
	{"1.2.3", 2, false, JSON_REJECT, 0},
	{"0x10", 2, false, JSON_REJECT, 0},
	{"'1'", 2, false, JSON_REJECT, 0},
	/* strings */
	{"\"100.00\"", 2, false, OK, 10000},
	{"\"100\"", 2, false, OK, 10000},
	{"\"100.5\"", 2, false, OK, 10050},
	{"\"5\"", 0, false, OK, 5},
	{"\"5.0\"", 0, false, FRAC, 0},
	{"\"1.000\"", 2, false, FRAC, 0},
	{"\"0\"", 2, false, NPOS, 0},
	{"\"0\"", 2, true, OK, 0},
	{"\"10000000000000.00\"", 2, false, OK, MAXM},
	{"\"10000000000000.01\"", 2, false, BIG, 0},
	{"\"123456789012345678901234567890\"", 2, false, BIG, 0},
	{"\"007\"", 2, false, SYN, 0},
	{"\"0.5\"", 2, false, OK, 50},
	{"\"1e2\"", 2, false, SYN, 0},
	{"\" 1\"", 2, false, SYN, 0},
	{"\"\"", 2, true, SYN, 0},
	{"\"\\u0031\"", 2, false, OK, 100},
	{"\"1\\u0000\"", 2, false, SYN, 0},
	{"\"\\u0661\"", 2, false, SYN, 0},
	{"\"\xd9\xa1\"", 2, false, SYN, 0},
	{"\"\xef\xbc\x91\"", 2, false, SYN, 0},
	/* neither number nor string */
	{"true", 2, false, TYPE, 0},
	{"false", 2, false, TYPE, 0},
	{"null", 2, true, TYPE, 0},
	{"[]", 2, false, TYPE, 0},
	{"[1]", 2, false, TYPE, 0},
	{"{}", 2, false, TYPE, 0},
	{"{\"amount\":1}", 2, false, TYPE, 0},
};
/* clang-format on */

static struct json_object *parse_wrapped(const char *text)
{
	char buf[256];
	struct json_tokener *tok;
	struct json_object *arr;
	int n = snprintf(buf, sizeof(buf), "[%s]", text);

	CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(buf));
	tok = json_tokener_new();
	CU_ASSERT_FATAL(tok != NULL);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	arr = json_tokener_parse_ex(tok, buf, n);
	if (arr != NULL && json_tokener_get_parse_end(tok) != (size_t)n) {
		json_object_put(arr);
		arr = NULL;
	}
	json_tokener_free(tok);
	return arr;
}

static void test_from_json_table(void)
{
	for (size_t i = 0; i < sizeof(json_cases) / sizeof(json_cases[0]); i++) {
		const struct json_case *c = &json_cases[i];
		struct json_object *arr = parse_wrapped(c->json);
		int64_t v = SENTINEL;
		enum lf_money_verdict e;
		bool ok;

		if (c->err == JSON_REJECT) {
			if (arr != NULL)
				fprintf(stderr, "\n  json-c accepted %s\n", c->json);
			CU_ASSERT_PTR_NULL(arr);
			json_object_put(arr);
			continue;
		}
		if (arr == NULL)
			fprintf(stderr, "\n  json-c rejected %s\n", c->json);
		CU_ASSERT_PTR_NOT_NULL_FATAL(arr);
		e = lf_money_from_json(json_object_array_get_idx(arr, 0), c->exp, c->zero, &v);
		ok = (int)e == c->err && (c->err == OK ? v == c->value : v == SENTINEL);
		if (!ok)
			fprintf(stderr,
				"\n  from_json(%s exp=%d zero=%d): got %d/%" PRId64
				", want %d/%" PRId64 "\n",
				c->json, c->exp, c->zero, (int)e, v, c->err, c->value);
		CU_ASSERT(ok);
		json_object_put(arr);
	}
}

static void test_from_json_objects(void)
{
	struct json_object *o;
	int64_t v = SENTINEL;
	char buf[24];
	const char *text;
	size_t len;

	CU_ASSERT_EQUAL(lf_money_from_json(NULL, 2, true, &v), TYPE);

	o = json_object_new_int64(12345);
	CU_ASSERT_EQUAL(lf_money_from_json(o, 2, false, &v), OK);
	CU_ASSERT_EQUAL(v, 1234500);
	CU_ASSERT(lf_money_json_text(o, buf, &text, &len));
	CU_ASSERT_EQUAL(len, 5);
	CU_ASSERT_NSTRING_EQUAL(text, "12345", 5);
	json_object_put(o);

	o = json_object_new_int64(INT64_MIN);
	CU_ASSERT_EQUAL(lf_money_from_json(o, 2, false, &v), SYN);
	CU_ASSERT(lf_money_json_text(o, buf, &text, &len));
	CU_ASSERT_EQUAL(len, 20);
	CU_ASSERT_NSTRING_EQUAL(text, "-9223372036854775808", 20);
	json_object_put(o);

	o = json_object_new_uint64(UINT64_MAX);
	CU_ASSERT_EQUAL(lf_money_from_json(o, 0, false, &v), BIG);
	CU_ASSERT(lf_money_json_text(o, buf, &text, &len));
	CU_ASSERT_EQUAL(len, 20);
	CU_ASSERT_NSTRING_EQUAL(text, "18446744073709551615", 20);
	json_object_put(o);

	/* every grammar violation, as the contents of a JSON string */
	for (size_t i = 0; i < sizeof(syntax_errors) / sizeof(syntax_errors[0]); i++) {
		o = json_object_new_string(syntax_errors[i]);
		v = SENTINEL;
		CU_ASSERT_EQUAL(lf_money_from_json(o, 2, true, &v), SYN);
		CU_ASSERT_EQUAL(v, SENTINEL);
		json_object_put(o);
	}
	v = 1234500;

	o = json_object_new_string_len("1\0", 2);
	CU_ASSERT_EQUAL(lf_money_from_json(o, 2, false, &v), SYN);
	json_object_put(o);

	o = json_object_new_string("100.00");
	CU_ASSERT(lf_money_json_text(o, buf, &text, &len));
	CU_ASSERT_EQUAL(len, 6);
	CU_ASSERT_NSTRING_EQUAL(text, "100.00", 6);
	json_object_put(o);

	o = json_object_new_boolean(1);
	CU_ASSERT_FALSE(lf_money_json_text(o, buf, &text, &len));
	json_object_put(o);

	/* a double parsed from text keeps that text exactly */
	o = json_tokener_parse("{\"a\": 100.50}");
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT(lf_money_json_text(json_object_object_get(o, "a"), buf, &text, &len));
	CU_ASSERT_EQUAL(len, 6);
	CU_ASSERT_NSTRING_EQUAL(text, "100.50", 6);
	json_object_put(o);
	/* the failures above left the last good value alone */
	CU_ASSERT_EQUAL(v, 1234500);
}

int main(void)
{
	static const struct lf_test tests[] = {
		{"from_json table", test_from_json_table},
		{"from_json objects", test_from_json_objects},
	};
	static const struct lf_suite suites[] = {{"money json", LF_TESTS(tests)}};
	return lf_cunit_main(suites, LF_COUNT(suites));
}
