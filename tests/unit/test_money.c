/*
 * test_money.c - unit tests for src/core/money.c: the ISO 4217 table, the
 * request decimal grammar (text and JSON numbers/strings), overflow and
 * the 10^15 ceiling, and formatting of minor units. Amounts in JSON documents are
 * test_money_json.c.
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

static const int64_t pow10_tab[] = {1, 10, 100, 1000, 10000, 100000};

static void check_parse_len(const char *text, size_t len, int exp, bool zero, int want,
			    int64_t want_v)
{
	int64_t v = SENTINEL;
	enum lf_money_verdict e = lf_money_parse(text, len, exp, zero, &v);
	bool ok = (int)e == want && (want == OK ? v == want_v : v == SENTINEL);

	if (!ok)
		fprintf(stderr,
			"\n  parse(\"%.*s\" len=%zu exp=%d zero=%d): got %d/%" PRId64
			", want %d/%" PRId64 "\n",
			(int)(len > 80 ? 80 : len), text ? text : "(null)", len, exp, zero, (int)e,
			v, want, want_v);
	CU_ASSERT(ok);
}

static void check_parse(const char *text, int exp, bool zero, int want, int64_t want_v)
{
	check_parse_len(text, strlen(text), exp, zero, want, want_v);
}

struct parse_case {
	const char *text;
	int exp;
	bool zero;
	int err;
	int64_t value;
};

/* clang-format off */
static const struct parse_case parse_cases[] = {
	/* zero */
	{"0", 2, false, NPOS, 0},
	{"0", 2, true, OK, 0},
	{"0.0", 2, true, OK, 0},
	{"0.00", 2, true, OK, 0},
	{"0.00", 2, false, NPOS, 0},
	{"0.000", 2, true, FRAC, 0},
	{"0", 0, false, NPOS, 0},
	{"0", 0, true, OK, 0},
	{"0.0", 0, true, FRAC, 0},
	{"0.0000", 4, true, OK, 0},
	{"0.0000", 4, false, NPOS, 0},
	{"0.00000", 4, true, FRAC, 0},
	/* USD-like, exponent 2 */
	{"1", 2, false, OK, 100},
	{"100", 2, false, OK, 10000},
	{"100.5", 2, false, OK, 10050},
	{"100.50", 2, false, OK, 10050},
	{"100.05", 2, false, OK, 10005},
	{"100.500", 2, false, FRAC, 0},
	{"1.000", 2, false, FRAC, 0},
	{"1.0", 2, false, OK, 100},
	{"1.00", 2, false, OK, 100},
	{"0.01", 2, false, OK, 1},
	{"0.1", 2, false, OK, 10},
	{"0.29", 2, false, OK, 29},
	{"0.5", 2, false, OK, 50},
	{"0.001", 2, false, FRAC, 0},
	{"0.010", 2, false, FRAC, 0},
	{"1234567890123.45", 2, false, OK, INT64_C(123456789012345)},
	{"9999999999999.99", 2, false, OK, INT64_C(999999999999999)},
	{"10000000000000", 2, false, OK, MAXM},
	{"10000000000000.0", 2, false, OK, MAXM},
	{"10000000000000.00", 2, false, OK, MAXM},
	{"10000000000000.01", 2, false, BIG, 0},
	{"10000000000000.10", 2, false, BIG, 0},
	{"10000000000001", 2, false, BIG, 0},
	{"100000000000000", 2, false, BIG, 0},
	{"99999999999999", 2, false, BIG, 0},
	{"10000000000000.001", 2, false, FRAC, 0},
	/* JPY-like, exponent 0 */
	{"5", 0, false, OK, 5},
	{"5.0", 0, false, FRAC, 0},
	{"5.", 0, false, SYN, 0},
	{"1000000000000000", 0, false, OK, MAXM},
	{"1000000000000001", 0, false, BIG, 0},
	{"999999999999999", 0, false, OK, MAXM - 1},
	{"10000000000000000", 0, false, BIG, 0},
	{"9223372036854775807", 0, false, BIG, 0},
	{"9223372036854775808", 0, false, BIG, 0},
	{"18446744073709551615", 0, false, BIG, 0},
	{"18446744073709551616", 0, false, BIG, 0},
	/* KWD-like, exponent 3 */
	{"1.250", 3, false, OK, 1250},
	{"1.25", 3, false, OK, 1250},
	{"1.2500", 3, false, FRAC, 0},
	{"0.001", 3, false, OK, 1},
	{"1000000000000", 3, false, OK, MAXM},
	{"1000000000000.000", 3, false, OK, MAXM},
	{"1000000000000.001", 3, false, BIG, 0},
	{"999999999999.999", 3, false, OK, MAXM - 1},
	/* CLF-like, exponent 4 */
	{"1.0001", 4, false, OK, 10001},
	{"0.0001", 4, false, OK, 1},
	{"1.00001", 4, false, FRAC, 0},
	{"100000000000", 4, false, OK, MAXM},
	{"100000000000.0001", 4, false, BIG, 0},
	{"99999999999.9999", 4, false, OK, MAXM - 1},
	{"922337203685477.5807", 4, false, BIG, 0},
	{"922337203685477.58070", 4, false, FRAC, 0},
	/* 30-digit overflow strings */
	{"123456789012345678901234567890", 0, false, BIG, 0},
	{"123456789012345678901234567890", 2, false, BIG, 0},
	{"123456789012345678901234567890", 3, false, BIG, 0},
	{"123456789012345678901234567890", 4, false, BIG, 0},
	{"999999999999999999999999999999", 2, false, BIG, 0},
	{"999999999999999999999999999999.99", 2, false, BIG, 0},
	{"999999999999999999999999999999.99", 0, false, FRAC, 0},
	{"1.123456789012345678901234567890", 2, false, FRAC, 0},
	{"1.000000000000000000000000000000", 4, false, FRAC, 0},
	/* unsupported exponents */
	{"1", -1, false, SYN, 0},
	{"1", 10, false, SYN, 0},
};
/* clang-format on */

static void test_parse_table(void)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];

		check_parse(c->text, c->exp, c->zero, c->err, c->value);
	}
	for (size_t i = 0; i < sizeof(syntax_errors) / sizeof(syntax_errors[0]); i++)
		for (int exp = 0; exp <= 4; exp++) {
			check_parse(syntax_errors[i], exp, false, SYN, 0);
			check_parse(syntax_errors[i], exp, true, SYN, 0);
		}
}

static void test_parse_length_respected(void)
{
	/* Only len bytes are read; a NUL inside the range is not a digit. */
	check_parse_len("12", 1, 2, false, OK, 100);
	check_parse_len("1.5x", 3, 2, false, OK, 150);
	check_parse_len("1\0", 2, 2, false, SYN, 0);
	check_parse_len("1.\0", 3, 2, false, SYN, 0);
	check_parse_len("\0"
			"1",
			2, 2, false, SYN, 0);
	check_parse_len("1", 0, 2, true, SYN, 0);
	check_parse_len(NULL, 0, 2, true, SYN, 0);
}

/* Every exponent 0..4: the ceiling and one past it, fraction digit
 * counts 0..6 as written, and the smallest unit. */
static void test_parse_every_exponent(void)
{
	char buf[64];

	for (int exp = 0; exp <= 4; exp++) {
		int64_t whole = MAXM / pow10_tab[exp];

		/* exactly 10^15 minor units */
		snprintf(buf, sizeof(buf), "%" PRId64, whole);
		check_parse(buf, exp, false, OK, MAXM);
		if (exp > 0) {
			snprintf(buf, sizeof(buf), "%" PRId64 ".%0*d", whole, exp, 0);
			check_parse(buf, exp, false, OK, MAXM);
			/* 10^15 + 1 minor units */
			snprintf(buf, sizeof(buf), "%" PRId64 ".%0*d", whole, exp, 1);
			check_parse(buf, exp, false, BIG, 0);
			/* 10^15 - 1 minor units */
			snprintf(buf, sizeof(buf), "%" PRId64 ".%0*" PRId64, whole - 1, exp,
				 pow10_tab[exp] - 1);
			check_parse(buf, exp, false, OK, MAXM - 1);
			/* smallest unit */
			snprintf(buf, sizeof(buf), "0.%0*d", exp, 1);
			check_parse(buf, exp, false, OK, 1);
		}
		snprintf(buf, sizeof(buf), "%" PRId64, whole + 1);
		check_parse(buf, exp, false, BIG, 0);
		snprintf(buf, sizeof(buf), "%" PRId64, whole * 10);
		check_parse(buf, exp, false, BIG, 0);

		/* "1" followed by n fraction zeros, counted as written */
		for (int n = 0; n <= 6; n++) {
			size_t len = 0;

			buf[len++] = '1';
			buf[len++] = '.';
			for (int k = 0; k < n; k++)
				buf[len++] = '0';
			buf[len] = '\0';
			if (n == 0)
				check_parse(buf, exp, false, SYN, 0);
			else if (n <= exp)
				check_parse(buf, exp, false, OK, pow10_tab[exp]);
			else
				check_parse(buf, exp, false, FRAC, 0);
			/* and "0.0...0" with allow_zero */
			buf[0] = '0';
			if (n == 0)
				check_parse(buf, exp, true, SYN, 0);
			else if (n <= exp)
				check_parse(buf, exp, true, OK, 0);
			else
				check_parse(buf, exp, true, FRAC, 0);
		}
	}
}

static void test_parse_absurdly_long(void)
{
	enum { N = 5000 };
	char *buf = malloc(N + 8);

	CU_ASSERT_FATAL(buf != NULL);
	/* 5000 nines: too large, no overflow */
	memset(buf, '9', N);
	for (int exp = 0; exp <= 4; exp++)
		check_parse_len(buf, N, exp, false, BIG, 0);
	/* 1 followed by 4999 zeros */
	buf[0] = '1';
	memset(buf + 1, '0', N - 1);
	check_parse_len(buf, N, 2, false, BIG, 0);
	/* the same ending in garbage is a syntax error, not too large */
	buf[N - 1] = 'x';
	check_parse_len(buf, N, 2, false, SYN, 0);
	/* 5000 zeros */
	memset(buf, '0', N);
	check_parse_len(buf, N, 2, true, SYN, 0);
	/* "0." then 4998 zeros: too many fraction digits */
	buf[1] = '.';
	check_parse_len(buf, N, 2, true, FRAC, 0);
	check_parse_len(buf, N, 4, true, FRAC, 0);
	/* "1." then 4998 nines */
	buf[0] = '1';
	memset(buf + 2, '9', N - 2);
	check_parse_len(buf, N, 4, false, FRAC, 0);
	free(buf);
}

/* format -> parse round trip over boundaries and pseudo-random values */
static void test_round_trip(void)
{
	static const int exps[] = {0, 2, 3, 4};
	static const int64_t fixed[] = {
		1,     5,        9,         10,        11,        99,
		100,   101,      999,       1000,      1001,      9999,
		10000, 10001,    12345,     100000,    123456789, INT64_C(999999999999999),
		MAXM,  MAXM + 1, MAXM * 10, INT64_MAX,
	};
	char buf[LF_MONEY_FMT_MAX];
	uint64_t seed = 0x9e3779b97f4a7c15u;

	for (size_t e = 0; e < 4; e++) {
		int exp = exps[e];

		for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
			size_t n = lf_money_format(fixed[i], exp, buf);

			CU_ASSERT_EQUAL(n, strlen(buf));
			check_parse(buf, exp, false, fixed[i] > MAXM ? BIG : OK, fixed[i]);
		}
		for (int i = 0; i < 200; i++) {
			int64_t v;

			seed = seed * 6364136223846793005u + 1442695040888963407u;
			v = (int64_t)((seed >> 11) % (uint64_t)MAXM) + 1;
			lf_money_format(v, exp, buf);
			check_parse(buf, exp, false, OK, v);
		}
	}
}

struct fmt_case {
	int64_t minor;
	int exp;
	const char *text;
};

/* clang-format off */
static const struct fmt_case fmt_cases[] = {
	{0, 2, "0.00"},
	{0, 0, "0"},
	{0, 3, "0.000"},
	{0, 4, "0.0000"},
	{5, 0, "5"},
	{-5, 0, "-5"},
	{1, 2, "0.01"},
	{-1, 2, "-0.01"},
	{10, 2, "0.10"},
	{100, 2, "1.00"},
	{10050, 2, "100.50"},
	{10000, 2, "100.00"},
	{-310, 2, "-3.10"},
	{1250, 3, "1.250"},
	{1, 3, "0.001"},
	{-1, 4, "-0.0001"},
	{10001, 4, "1.0001"},
	{MAXM, 2, "10000000000000.00"},
	{MAXM, 0, "1000000000000000"},
	{MAXM, 3, "1000000000000.000"},
	{MAXM, 4, "100000000000.0000"},
	{INT64_MAX, 0, "9223372036854775807"},
	{INT64_MAX, 2, "92233720368547758.07"},
	{INT64_MIN, 0, "-9223372036854775808"},
	{INT64_MIN, 2, "-92233720368547758.08"},
	{INT64_MIN, 3, "-9223372036854775.808"},
	{INT64_MIN, 4, "-922337203685477.5808"},
	{INT64_MIN + 1, 2, "-92233720368547758.07"},
	{INT64_MIN, 18, "-9.223372036854775808"},
	{1, 18, "0.000000000000000001"},
	{7, -3, "7"},
};
/* clang-format on */

static void test_format_table(void)
{
	char buf[LF_MONEY_FMT_MAX];

	for (size_t i = 0; i < sizeof(fmt_cases) / sizeof(fmt_cases[0]); i++) {
		const struct fmt_case *c = &fmt_cases[i];
		size_t n;

		memset(buf, 'x', sizeof(buf));
		n = lf_money_format(c->minor, c->exp, buf);
		if (strcmp(buf, c->text) != 0)
			fprintf(stderr, "\n  format(%" PRId64 ", %d) = \"%s\", want \"%s\"\n",
				c->minor, c->exp, buf, c->text);
		CU_ASSERT_STRING_EQUAL(buf, c->text);
		CU_ASSERT_EQUAL(n, strlen(c->text));
	}
}

/* The whole table as the test knows it: each code must be found with its
 * exponent (a binary search over an unsorted table would miss some). */
static const struct {
	const char *code;
	int exp;
} iso[] = {
	{"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"AOA", 2}, {"ARS", 2}, {"AUD", 2},
	{"AWG", 2}, {"AZN", 2}, {"BAM", 2}, {"BBD", 2}, {"BDT", 2}, {"BGN", 2}, {"BHD", 3},
	{"BIF", 0}, {"BMD", 2}, {"BND", 2}, {"BOB", 2}, {"BOV", 2}, {"BRL", 2}, {"BSD", 2},
	{"BTN", 2}, {"BWP", 2}, {"BYN", 2}, {"BZD", 2}, {"CAD", 2}, {"CDF", 2}, {"CHE", 2},
	{"CHF", 2}, {"CHW", 2}, {"CLF", 4}, {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"COU", 2},
	{"CRC", 2}, {"CUC", 2}, {"CUP", 2}, {"CVE", 2}, {"CZK", 2}, {"DJF", 0}, {"DKK", 2},
	{"DOP", 2}, {"DZD", 2}, {"EGP", 2}, {"ERN", 2}, {"ETB", 2}, {"EUR", 2}, {"FJD", 2},
	{"FKP", 2}, {"GBP", 2}, {"GEL", 2}, {"GHS", 2}, {"GIP", 2}, {"GMD", 2}, {"GNF", 0},
	{"GTQ", 2}, {"GYD", 2}, {"HKD", 2}, {"HNL", 2}, {"HTG", 2}, {"HUF", 2}, {"IDR", 2},
	{"ILS", 2}, {"INR", 2}, {"IQD", 3}, {"IRR", 2}, {"ISK", 0}, {"JMD", 2}, {"JOD", 3},
	{"JPY", 0}, {"KES", 2}, {"KGS", 2}, {"KHR", 2}, {"KMF", 0}, {"KPW", 2}, {"KRW", 0},
	{"KWD", 3}, {"KYD", 2}, {"KZT", 2}, {"LAK", 2}, {"LBP", 2}, {"LKR", 2}, {"LRD", 2},
	{"LSL", 2}, {"LYD", 3}, {"MAD", 2}, {"MDL", 2}, {"MGA", 2}, {"MKD", 2}, {"MMK", 2},
	{"MNT", 2}, {"MOP", 2}, {"MRU", 2}, {"MUR", 2}, {"MVR", 2}, {"MWK", 2}, {"MXN", 2},
	{"MXV", 2}, {"MYR", 2}, {"MZN", 2}, {"NAD", 2}, {"NGN", 2}, {"NIO", 2}, {"NOK", 2},
	{"NPR", 2}, {"NZD", 2}, {"OMR", 3}, {"PAB", 2}, {"PEN", 2}, {"PGK", 2}, {"PHP", 2},
	{"PKR", 2}, {"PLN", 2}, {"PYG", 0}, {"QAR", 2}, {"RON", 2}, {"RSD", 2}, {"RUB", 2},
	{"RWF", 0}, {"SAR", 2}, {"SBD", 2}, {"SCR", 2}, {"SDG", 2}, {"SEK", 2}, {"SGD", 2},
	{"SHP", 2}, {"SLE", 2}, {"SOS", 2}, {"SRD", 2}, {"SSP", 2}, {"STN", 2}, {"SVC", 2},
	{"SYP", 2}, {"SZL", 2}, {"THB", 2}, {"TJS", 2}, {"TMT", 2}, {"TND", 3}, {"TOP", 2},
	{"TRY", 2}, {"TTD", 2}, {"TWD", 2}, {"TZS", 2}, {"UAH", 2}, {"UGX", 0}, {"USD", 2},
	{"USN", 2}, {"UYI", 0}, {"UYU", 2}, {"UYW", 4}, {"UZS", 2}, {"VED", 2}, {"VES", 2},
	{"VND", 0}, {"VUV", 0}, {"WST", 2}, {"XAF", 0}, {"XCD", 2}, {"XCG", 2}, {"XOF", 0},
	{"XPF", 0}, {"YER", 2}, {"ZAR", 2}, {"ZMW", 2}, {"ZWG", 2},
};

static void test_currency_table(void)
{
	for (size_t i = 0; i < sizeof(iso) / sizeof(iso[0]); i++) {
		const struct lf_currency *c = lf_currency_find(iso[i].code);

		if (c == NULL || c->exponent != iso[i].exp)
			fprintf(stderr, "\n  currency %s: %s\n", iso[i].code,
				c ? "wrong exponent" : "not found");
		CU_ASSERT_PTR_NOT_NULL_FATAL(c);
		CU_ASSERT_STRING_EQUAL(c->code, iso[i].code);
		CU_ASSERT_EQUAL(c->exponent, iso[i].exp);
	}
}

static void test_currency_rejects(void)
{
	static const char *const bad[] = {
		"usd", "Usd", "uSD", "US",  "U",   "",    "USDX", "USD ",       " USD",
		"XAU", "XAG", "XPT", "XPD", "XTS", "XXX", "XDR",  "XSU",        "XUA",
		"XBA", "XBB", "XBC", "XBD", "HRK", "ZWL", "LTL",  "DEM",        "ABC",
		"AAA", "ZZZ", "AEA", "ZZA", "U$D", "US1", "840",  "E\xc3\x9aR",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (lf_currency_find(bad[i]) != NULL)
			fprintf(stderr, "\n  currency \"%s\" unexpectedly found\n", bad[i]);
		CU_ASSERT_PTR_NULL(lf_currency_find(bad[i]));
	}
	CU_ASSERT_PTR_NULL(lf_currency_find(NULL));
	CU_ASSERT_EQUAL(lf_currency_find("USD")->exponent, 2);
	CU_ASSERT_EQUAL(lf_currency_find("JPY")->exponent, 0);
	CU_ASSERT_EQUAL(lf_currency_find("KWD")->exponent, 3);
	CU_ASSERT_EQUAL(lf_currency_find("CLF")->exponent, 4);
}

int main(void)
{
	static const struct lf_test tests[] = {
		{"parse table", test_parse_table},
		{"parse respects length", test_parse_length_respected},
		{"parse every exponent", test_parse_every_exponent},
		{"parse absurdly long", test_parse_absurdly_long},
		{"format/parse round trip", test_round_trip},
		{"format table", test_format_table},
		{"currency table", test_currency_table},
		{"currency rejects", test_currency_rejects},
	};
	static const struct lf_suite suites[] = {{"money", LF_TESTS(tests)}};
	return lf_cunit_main(suites, LF_COUNT(suites));
}
