/*
 * test_json.c - unit tests for src/core/json.c: strict object parsing (valid
 * objects, other top-level values, malformed text, trailing data,
 * json-c's lax corners, UTF-8, depth), duplicate member names after
 * unescaping at any depth, and string literal rendering round trips.
 */
#include "config.h"

#include "lf_json.h"

#include <CUnit/Basic.h>
#include <event2/buffer.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lf_cunit.h"

#define OK LF_JSON_OK
#define BAD LF_JSON_INVALID
#define NOBJ LF_JSON_NOT_OBJECT

struct parse_case {
	const char *text;
	size_t len; /* 0: strlen(text) */
	enum lf_json_verdict want;
};

#define C(t, w)         \
	{               \
		t, 0, w \
	}
#define CL(t, w)                    \
	{                           \
		t, sizeof(t) - 1, w \
	} /* may hold NUL bytes */

/* clang-format off */
static const struct parse_case cases[] = {
	/* valid objects */
	C("{}", OK),
	C(" {} ", OK),
	C("\n\t{\r\n}\r\n\t ", OK),
	C("{\"a\":1}", OK),
	C("{\"a\" : 1 , \"b\" : [ 1 , 2 ] }", OK),
	C("{\"amount\":\"100.00\",\"currency\":\"USD\",\"reference\":null}", OK),
	C("{\"a\":{\"b\":{\"c\":[{},[],{\"d\":true,\"e\":false}]}}}", OK),
	C("{\"a\":-0,\"b\":0.5,\"c\":-1.5e-3,\"d\":1E+5,\"e\":10e2}", OK),
	C("{\"a\":123456789012345678901234567890}", OK),
	C("{\"\":1}", OK),
	C("{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\ud83d\\ude00\"}", OK),
	C("{\"a\":\"\\u0000\"}", OK), /* U+0000 in a value is fine */
	C("{\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\":\"\xf4\x8f\xbf\xbf\"}", OK),
	C("{\"a\":1,\"A\":2}", OK),   /* names are case-sensitive */
	C("{\"a\":{\"a\":{\"a\":1}}}", OK), /* same name, different objects */
	C("{\"a\":[{\"x\":1},{\"x\":2}]}", OK),
	C("{\"a\\u0062\":1,\"ab \":2}", OK),
	/* valid JSON, not an object */
	C("[]", NOBJ),
	C("[{\"a\":1}]", NOBJ),
	C("\"s\"", NOBJ),
	C("1", NOBJ),
	C("-1.5", NOBJ),
	C("0", NOBJ),
	C("true", NOBJ),
	C("false", NOBJ),
	C("null", NOBJ),
	C("  [1, 2]  ", NOBJ),
	/* not JSON */
	C("", BAD),
	C("   ", BAD),
	C("{", BAD),
	C("}", BAD),
	C("{\"a\"}", BAD),
	C("{\"a\":}", BAD),
	C("{\"a\" 1}", BAD),
	C("{\"a\":1,}", BAD),
	C("{,\"a\":1}", BAD),
	C("{\"a\":1 \"b\":2}", BAD),
	C("{\"a\":[1,]}", BAD),
	C("{\"a\":[,1]}", BAD),
	C("{\"a\":[1 2]}", BAD),
	C("{\"a\":[}", BAD),
	C("{\"a\":{]}", BAD),
	C("{a:1}", BAD),
	C("{'a':1}", BAD),        /* json-c strict accepts this */
	C("{\"a\":'x'}", BAD),
	C("{\"a\":007}", BAD),
	C("{\"a\":01.5}", BAD),   /* json-c strict accepts this */
	C("{\"a\":1.}", BAD),     /* json-c strict accepts this */
	C("{\"a\":.5}", BAD),
	C("{\"a\":+1}", BAD),
	C("{\"a\":-}", BAD),
	C("{\"a\":1e}", BAD),
	C("{\"a\":1e+}", BAD),
	C("{\"a\":0x10}", BAD),
	C("{\"a\":NaN}", BAD),      /* json-c strict accepts this */
	C("{\"a\":Infinity}", BAD), /* json-c strict accepts this */
	C("{\"a\":-Infinity}", BAD),
	C("{\"a\":tru}", BAD),
	C("{\"a\":True}", BAD),
	C("{\"a\":nul}", BAD),
	C("{\"a\":nulll}", BAD),
	C("{\"a\":truefalse}", BAD),
	C("{\"a\":\"x}", BAD),
	C("{\"a\":\"\\x\"}", BAD),
	C("{\"a\":\"\\u12\"}", BAD),
	C("{\"a\":\"\\u12g4\"}", BAD),
	C("{\"a\":\"\\U0041\"}", BAD),
	C("{\"a\":\"\\\"}", BAD),
	C("{/*c*/\"a\":1}", BAD),
	C("{\"a\":1}//c", BAD),
	C("{\"a\":1}#", BAD),
	/* control characters in strings (json-c strict accepts them) */
	C("{\"a\":\"x\ty\"}", BAD),
	C("{\"a\":\"x\ny\"}", BAD),
	C("{\"a\":\"x\x01y\"}", BAD),
	C("{\"a\":\"x\x1fy\"}", BAD),
	C("{\"a\x02\":1}", BAD),
	CL("{\"a\":\"x\0y\"}", BAD),
	/* whitespace JSON does not know */
	C("{\"a\":1}\f", BAD),
	C("{\"a\":1}\v", BAD),
	C("\f{}", BAD),
	C("{\xc2\xa0\"a\":1}", BAD),
	/* trailing data */
	C("{\"a\":1} x", BAD),
	C("{\"a\":1}{}", BAD),
	C("{\"a\":1}{\"a\":1}", BAD),
	C("{}[]", BAD),
	C("{}}", BAD),
	C("{} 1", BAD),
	C("{},", BAD),
	C("[] {}", BAD),
	C("1 2", BAD),
	CL("{\"a\":1}\0", BAD),
	CL("{\"a\":1}\0 garbage", BAD),
	CL("\0{}", BAD),
	/* invalid UTF-8 (json-c takes the overlong and surrogate forms) */
	C("{\"a\":\"\xff\"}", BAD),
	C("{\"a\":\"\xc3\"}", BAD),
	C("{\"a\":\"\xc3(\"}", BAD),
	C("{\"a\":\"\x80\"}", BAD),
	C("{\"a\":\"\xc0\xaf\"}", BAD),
	C("{\"a\":\"\xc1\xbf\"}", BAD),
	C("{\"a\":\"\xe0\x80\xaf\"}", BAD),
	C("{\"a\":\"\xed\xa0\x80\"}", BAD),
	C("{\"a\":\"\xed\xbf\xbf\"}", BAD),
	C("{\"a\":\"\xf0\x80\x80\xaf\"}", BAD),
	C("{\"a\":\"\xf4\x90\x80\x80\"}", BAD),
	C("{\"a\":\"\xf5\x80\x80\x80\"}", BAD),
	C("{\"a\":\"\xe2\x82\"}", BAD),
	C("{\"\xfe\":1}", BAD),
	C("\xef\xbb\xbf{}", BAD), /* byte order mark */
	/* lone surrogate escapes (I-JSON) */
	C("{\"a\":\"\\ud800\"}", BAD),
	C("{\"a\":\"\\udc00\"}", BAD),
	C("{\"a\":\"\\ud800x\"}", BAD),
	C("{\"a\":\"\\ud800\\u0041\"}", BAD),
	C("{\"a\":\"\\ude00\\ud83d\"}", BAD),
	/* duplicates, top level and nested, raw and escaped */
	C("{\"a\":1,\"a\":2}", BAD),
	C("{\"a\":1,\"a\":1}", BAD),
	C("{\"a\":1,\"b\":2,\"c\":3,\"b\":4}", BAD),
	C("{\"amount\":\"1.00\",\"amount\":\"1000.00\"}", BAD),
	C("{\"a\":1,\"b\":{\"c\":1},\"a\":2}", BAD),
	C("{\"x\":{\"a\":1,\"a\":2}}", BAD),
	C("{\"x\":[1,{\"y\":[{\"a\":1,\"a\":2}]}]}", BAD),
	C("[{\"a\":1,\"a\":2}]", BAD), /* invalid beats not-an-object */
	C("{\"a\":1,\"\\u0061\":2}", BAD),
	C("{\"\\u0061\":1,\"\\u0061\":2}", BAD),
	C("{\"\\u0041\":1,\"A\":2}", BAD),
	C("{\"\xc3\xa9\":1,\"\\u00e9\":2}", BAD),
	C("{\"\xc3\xa9\":1,\"\\u00E9\":2}", BAD),
	C("{\"\xf0\x9f\x98\x80\":1,\"\\ud83d\\ude00\":2}", BAD),
	C("{\"a/b\":1,\"a\\/b\":2}", BAD),
	C("{\"\\n\":1,\"\\u000a\":2}", BAD),
	C("{\"\":1,\"\":2}", BAD),
	/* U+0000 in a name: json-c would cut the name there */
	C("{\"a\\u0000b\":1}", BAD),
	C("{\"a\\u0000b\":1,\"a\":2}", BAD),
};
/* clang-format on */

static void test_parse_table(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct parse_case *c = &cases[i];
		size_t len = c->len ? c->len : strlen(c->text);
		struct json_object *obj = (struct json_object *)&obj;
		enum lf_json_verdict e = lf_json_parse_object(c->text, len, &obj);

		if (e != c->want)
			fprintf(stderr, "\n  case %zu \"%.*s\": got %d, want %d\n", i, (int)len,
				c->text, (int)e, (int)c->want);
		CU_ASSERT_EQUAL(e, c->want);
		if (e == OK) {
			CU_ASSERT_PTR_NOT_NULL(obj);
			CU_ASSERT_TRUE(json_object_is_type(obj, json_type_object));
			json_object_put(obj);
		} else {
			CU_ASSERT_PTR_NULL(obj);
		}
	}
}

static void test_parse_values(void)
{
	static const char body[] =
		"{\"amount\": 100.50, \"n\": 7, \"s\": \"\\u00e9\\ud83d\\ude00\","
		" \"z\": \"a\\u0000b\", \"nested\": {\"k\": [true, null]}}trailing";
	struct json_object *obj, *v;

	/* only len bytes count: the trailing word is outside */
	CU_ASSERT_EQUAL_FATAL(lf_json_parse_object(body, strlen(body) - 8, &obj), OK);
	CU_ASSERT_TRUE(json_object_object_get_ex(obj, "amount", &v));
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string(v), "100.50");
	CU_ASSERT_TRUE(json_object_object_get_ex(obj, "n", &v));
	CU_ASSERT_EQUAL(json_object_get_int64(v), 7);
	CU_ASSERT_TRUE(json_object_object_get_ex(obj, "s", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "\xc3\xa9\xf0\x9f\x98\x80");
	CU_ASSERT_TRUE(json_object_object_get_ex(obj, "z", &v));
	CU_ASSERT_EQUAL(json_object_get_string_len(v), 3);
	CU_ASSERT_EQUAL(memcmp(json_object_get_string(v), "a\0b", 3), 0);
	CU_ASSERT_TRUE(json_object_object_get_ex(obj, "nested", &v));
	CU_ASSERT_TRUE(json_object_is_type(v, json_type_object));
	CU_ASSERT_EQUAL(json_object_object_length(obj), 5);
	json_object_put(obj);
	/* the same with the trailing word is invalid */
	CU_ASSERT_EQUAL(lf_json_parse_object(body, strlen(body), &obj), BAD);
	CU_ASSERT_EQUAL(lf_json_parse_object(NULL, 0, &obj), BAD);
}

/* depth n: n nested objects, the top-level one counting 1; with_dup puts
 * a duplicated name in the innermost one */
static char *nested(int depth, bool with_dup)
{
	char *buf = malloc((size_t)depth * 8 + 32);
	size_t n = 0;

	if (buf == NULL)
		return NULL;
	buf[n++] = '{';
	for (int d = 1; d < depth; d++) {
		memcpy(buf + n, "\"k\":{", 5);
		n += 5;
	}
	if (with_dup) {
		memcpy(buf + n, "\"a\":1,\"a\":2", 11);
		n += 11;
	}
	for (int d = 0; d < depth; d++)
		buf[n++] = '}';
	buf[n] = '\0';
	return buf;
}

static void test_depth(void)
{
	for (int depth = 1; depth <= 40; depth++) {
		char *text = nested(depth, false);
		struct json_object *obj;
		enum lf_json_verdict e;

		CU_ASSERT_PTR_NOT_NULL_FATAL(text);
		e = lf_json_parse_object(text, strlen(text), &obj);
		if (e != (depth <= 32 ? OK : BAD))
			fprintf(stderr, "\n  depth %d: got %d\n", depth, (int)e);
		CU_ASSERT_EQUAL(e, depth <= 32 ? OK : BAD);
		if (e == OK)
			json_object_put(obj);
		free(text);
	}
	/* arrays: {"k":[[...]]} with 31 arrays is depth 32 */
	for (int arrays = 30; arrays <= 33; arrays++) {
		char buf[128];
		size_t n = 0;
		struct json_object *obj;
		enum lf_json_verdict e;

		n += (size_t)sprintf(buf, "{\"k\":");
		for (int a = 0; a < arrays; a++)
			buf[n++] = '[';
		for (int a = 0; a < arrays; a++)
			buf[n++] = ']';
		buf[n++] = '}';
		e = lf_json_parse_object(buf, n, &obj);
		CU_ASSERT_EQUAL(e, arrays + 1 <= 32 ? OK : BAD);
		if (e == OK)
			json_object_put(obj);
	}
	/* very deep input is refused without exhausting anything */
	{
		enum { DEEP = 100000 };
		char *buf = malloc(2 * DEEP + 2);
		struct json_object *obj;

		CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
		buf[0] = '{';
		memset(buf + 1, '[', DEEP);
		CU_ASSERT_EQUAL(lf_json_parse_object(buf, DEEP + 1, &obj), BAD);
		free(buf);
	}
}

static void test_duplicates_direct(void)
{
	static const struct {
		const char *text;
		bool dup;
	} dcases[] = {
		{"{}", false},
		{"{\"a\":1}", false},
		{"{\"a\":1,\"b\":2}", false},
		{"{\"a\":1,\"a\":2}", true},
		{"{\"a\":{\"b\":1},\"b\":{\"a\":1}}", false},
		{"{\"a\":{\"b\":1,\"b\":2}}", true},
		{"[{\"a\":1},{\"a\":1}]", false},
		{"[[[{\"q\":[],\"q\":{}}]]]", true},
		{"{\"a\":1,\"\\u0061\":2}", true},
		{"{\"\\\"\":1,\"\\u0022\":2}", true},
		{"{\"\\\\\":1,\"\\u005c\":2}", true},
		{"{\"ab\":1,\"a\":2,\"abc\":3,\"b\":4}", false},
		{"{\"a\\u0000x\":1,\"a\":2}", true},  /* json-c's view: both are "a" */
		{"{\"k\":\"a\",\"v\":\"a\"}", false}, /* values are not names */
		{"\"a\"", false},
		{"1", false},
	};

	for (size_t i = 0; i < sizeof(dcases) / sizeof(dcases[0]); i++) {
		bool got = lf_json_has_duplicate_members(dcases[i].text, strlen(dcases[i].text));

		if (got != dcases[i].dup)
			fprintf(stderr, "\n  dup(%s) = %d\n", dcases[i].text, got);
		CU_ASSERT_EQUAL(got, dcases[i].dup);
	}
	/* deeper than the parse limit still finds the duplicate */
	{
		char *text = nested(200, true);

		CU_ASSERT_PTR_NOT_NULL_FATAL(text);
		CU_ASSERT_TRUE(lf_json_has_duplicate_members(text, strlen(text)));
		free(text);
		text = nested(200, false);
		CU_ASSERT_PTR_NOT_NULL_FATAL(text);
		CU_ASSERT_FALSE(lf_json_has_duplicate_members(text, strlen(text)));
		free(text);
	}
}

/* Many distinct names, then one repeated at the end. */
static void test_duplicates_many(void)
{
	enum { N = 5000 };
	char *buf = malloc(N * 16 + 64);
	size_t n = 0;
	struct json_object *obj;

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	buf[n++] = '{';
	for (int k = 0; k < N; k++)
		n += (size_t)sprintf(buf + n, "%s\"k%d\":%d", k ? "," : "", k, k);
	buf[n++] = '}';
	CU_ASSERT_FALSE(lf_json_has_duplicate_members(buf, n));
	CU_ASSERT_EQUAL(lf_json_parse_object(buf, n, &obj), OK);
	json_object_put(obj);
	n--;
	n += (size_t)sprintf(buf + n, ",\"k\\u0031234\":0}");
	CU_ASSERT_TRUE(lf_json_has_duplicate_members(buf, n));
	CU_ASSERT_EQUAL(lf_json_parse_object(buf, n, &obj), BAD);
	free(buf);
}

/* Render s with lf_json_append_string; return the text (caller frees). */
static char *render(const char *s, size_t len, size_t *outlen)
{
	struct evbuffer *eb = evbuffer_new();
	size_t n;
	char *text;

	CU_ASSERT_PTR_NOT_NULL_FATAL(eb);
	lf_json_append_string(eb, s, len);
	n = evbuffer_get_length(eb);
	text = malloc(n + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	evbuffer_remove(eb, text, n);
	text[n] = '\0';
	evbuffer_free(eb);
	*outlen = n;
	return text;
}

static void check_render(const char *s, size_t len, const char *want)
{
	size_t n;
	char *text = render(s, len, &n);

	if (strcmp(text, want) != 0)
		fprintf(stderr, "\n  rendered %s, want %s\n", text, want);
	CU_ASSERT_STRING_EQUAL(text, want);
	CU_ASSERT_EQUAL(n, strlen(want));
	free(text);
}

static void test_render_exact(void)
{
	check_render("", 0, "\"\"");
	check_render("abc", 3, "\"abc\"");
	check_render("a\"b", 3, "\"a\\\"b\"");
	check_render("a\\b", 3, "\"a\\\\b\"");
	check_render("/", 1, "\"/\"");
	check_render("\b\f\n\r\t", 5, "\"\\b\\f\\n\\r\\t\"");
	check_render("\x01\x1f", 2, "\"\\u0001\\u001f\"");
	check_render("a\0b", 3, "\"a\\u0000b\"");
	check_render("\x7f", 1, "\"\x7f\"");
	check_render("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9,
		     "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
	/* not UTF-8: each bad byte becomes U+FFFD, output stays valid */
	check_render("a\xff"
		     "b",
		     3, "\"a\\ufffdb\"");
	check_render("\xc0\xaf", 2, "\"\\ufffd\\ufffd\"");
	check_render("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"");
	check_render("\xe2\x82", 2, "\"\\ufffd\\ufffd\"");
}

/* Render then parse with json-c: the same bytes come back. */
static void check_round_trip(const char *s, size_t len)
{
	size_t n;
	char *text = render(s, len, &n);
	char *doc = malloc(n + 16);
	struct json_object *obj, *v;

	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	memcpy(doc, "{\"v\":", 5);
	memcpy(doc + 5, text, n);
	doc[5 + n] = '}';
	CU_ASSERT_EQUAL_FATAL(lf_json_parse_object(doc, n + 6, &obj), OK);
	CU_ASSERT_TRUE(json_object_object_get_ex(obj, "v", &v));
	CU_ASSERT_EQUAL((size_t)json_object_get_string_len(v), len);
	CU_ASSERT_EQUAL(memcmp(json_object_get_string(v), s, len), 0);
	json_object_put(obj);
	free(doc);
	free(text);
}

static void test_render_round_trip(void)
{
	static const char *const samples[] = {
		"",
		"plain",
		"quote \" and backslash \\",
		"tab\tnewline\nreturn\r",
		"\x01\x02\x03\x1e\x1f\x7f",
		"caf\xc3\xa9",
		"\xe2\x82\xac 100",
		"\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf",
		"</script>",
		"\\u0041",
		"\xef\xbf\xbf\xee\x80\x80",
		"\xe2\x80\xa8\xe2\x80\xa9",
	};
	char all[256], big[3000];

	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
		check_round_trip(samples[i], strlen(samples[i]));
	check_round_trip("a\0b\0", 4);
	/* every ASCII byte including NUL */
	for (int c = 0; c < 128; c++)
		all[c] = (char)c;
	check_round_trip(all, 128);
	/* longer than the internal chunk, mixing escapes and multibyte */
	for (size_t k = 0; k + 3 <= sizeof(big); k += 3) {
		if (k % 2)
			memcpy(big + k, "\xe2\x82\xac", 3);
		else
			memcpy(big + k, "\"\n\x01", 3);
	}
	check_round_trip(big, sizeof(big));
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("json", NULL, NULL);
	if (s == NULL || CU_add_test(s, "parse table", test_parse_table) == NULL ||
	    CU_add_test(s, "parsed values", test_parse_values) == NULL ||
	    CU_add_test(s, "depth limit", test_depth) == NULL ||
	    CU_add_test(s, "duplicates direct", test_duplicates_direct) == NULL ||
	    CU_add_test(s, "duplicates among many", test_duplicates_many) == NULL ||
	    CU_add_test(s, "render exact", test_render_exact) == NULL ||
	    CU_add_test(s, "render round trip", test_render_round_trip) == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	return lf_cunit_run();
}
