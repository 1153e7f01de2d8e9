/*
 * test_time.c - unit tests for src/core/time.c: RFC 3339 UTC rendering of
 * known instants (epoch, leap days, 2038 and later, before 1970, the
 * clamped ends) and the two clocks.
 */
#include "config.h"

#include "lf_time.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lf_cunit.h"

struct time_case {
	int64_t ms;
	const char *text;
};

/* clang-format off */
static const struct time_case cases[] = {
	{0, "1970-01-01T00:00:00.000Z"},
	{1, "1970-01-01T00:00:00.001Z"},
	{999, "1970-01-01T00:00:00.999Z"},
	{1000, "1970-01-01T00:00:01.000Z"},
	{86399999, "1970-01-01T23:59:59.999Z"},
	{86400000, "1970-01-02T00:00:00.000Z"},
	{-1, "1969-12-31T23:59:59.999Z"},
	{-1000, "1969-12-31T23:59:59.000Z"},
	{-1001, "1969-12-31T23:59:58.999Z"},
	{-86400000, "1969-12-31T00:00:00.000Z"},
	{INT64_C(951782400000), "2000-02-29T00:00:00.000Z"},
	{INT64_C(978307199999), "2000-12-31T23:59:59.999Z"},
	{INT64_C(1709164800000), "2024-02-29T00:00:00.000Z"},
	{INT64_C(1709251199999), "2024-02-29T23:59:59.999Z"},
	{INT64_C(1709251200000), "2024-03-01T00:00:00.000Z"},
	{INT64_C(1677628800000), "2023-03-01T00:00:00.000Z"},
	{INT64_C(1764082348123), "2025-11-25T14:52:28.123Z"},
	{INT64_C(1795618348123), "2026-11-25T14:52:28.123Z"},
	{INT64_C(2147483647000), "2038-01-19T03:14:07.000Z"},
	{INT64_C(2147483648000), "2038-01-19T03:14:08.000Z"},
	{INT64_C(2147483648500), "2038-01-19T03:14:08.500Z"},
	{INT64_C(4102444800000), "2100-01-01T00:00:00.000Z"},
	{INT64_C(4107456000000), "2100-02-28T00:00:00.000Z"},
	{INT64_C(4107542400000), "2100-03-01T00:00:00.000Z"}, /* no Feb 29 */
	{INT64_C(32503680000000), "3000-01-01T00:00:00.000Z"},
	{INT64_C(253402300799999), "9999-12-31T23:59:59.999Z"},
	{INT64_C(-62167219200000), "0000-01-01T00:00:00.000Z"},
	/* out of the four-digit range: clamped */
	{INT64_C(253402300800000), "9999-12-31T23:59:59.999Z"},
	{INT64_MAX, "9999-12-31T23:59:59.999Z"},
	{INT64_MIN, "0000-01-01T00:00:00.000Z"},
};
/* clang-format on */

static void test_format_known(void)
{
	char out[LF_TIME_STR_LEN + 1];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(out, 'x', sizeof(out));
		lf_time_format_ms(cases[i].ms, out);
		if (strcmp(out, cases[i].text) != 0)
			fprintf(stderr, "\n  %lld -> %.25s, want %s\n", (long long)cases[i].ms, out,
				cases[i].text);
		CU_ASSERT_STRING_EQUAL(out, cases[i].text);
		CU_ASSERT_EQUAL(strlen(out), LF_TIME_STR_LEN);
	}
}

/* every millisecond digit and every day of a leap year renders back to
 * the same instant through timegm() */
static void test_format_round_trip(void)
{
	char out[LF_TIME_STR_LEN + 1];
	int bad = 0;

	for (int64_t day = 0; day < 366; day++) {
		int64_t ms = INT64_C(1704067200000) + day * 86400000 + (day * 7919 % 86400000) +
			     day % 1000;
		struct tm tm;
		int msec;

		memset(&tm, 0, sizeof(tm));
		lf_time_format_ms(ms, out);
		if (sscanf(out, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon,
			   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &msec) != 7) {
			bad++;
			continue;
		}
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		if ((int64_t)timegm(&tm) * 1000 + msec != ms)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	lf_time_format_ms(INT64_C(1704067200000) + 366 * INT64_C(86400000) - 1, out);
	CU_ASSERT_STRING_EQUAL(out, "2024-12-31T23:59:59.999Z");
}

static void test_parse(void)
{
	static const struct {
		const char *text;
		int64_t ms;
	} good[] = {
		{"1970-01-01T00:00:00Z", 0},
		{"2026-11-25T14:52:28.123Z", INT64_C(1795618348123)},
		{"2026-11-25t14:52:28.1234567z", INT64_C(1795618348123)},
		{"2026-11-25T15:52:28.123+01:00", INT64_C(1795618348123)},
		{"2026-11-25T15:52:28.123 01:00", INT64_C(1795618348123)}, /* a decoded + */
		{"2026-11-25T13:22:28.123-01:30", INT64_C(1795618348123)},
		{"2024-02-29T00:00:00Z", INT64_C(1709164800000)},
		{"1969-12-31T23:59:59.999Z", -1},
		{"9999-12-31T23:59:59.999Z", INT64_C(253402300799999)},
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		int64_t ms = 42;
		CU_ASSERT_TRUE(lf_time_parse_rfc3339(good[i].text, &ms));
		CU_ASSERT_EQUAL(ms, good[i].ms);
		if (ms != good[i].ms)
			fprintf(stderr, "%s -> %lld\n", good[i].text, (long long)ms);
	}
	static const char *const bad[] = {
		"",
		"2026-11-25",
		"2026-11-25T14:52:28",             /* no offset */
		"2026-11-25 14:52:28Z",            /* a space for T */
		"2026-13-01T00:00:00Z",            /* month */
		"2025-02-29T00:00:00Z",            /* not a leap year */
		"2026-04-31T00:00:00Z",            /* April has 30 days */
		"2026-11-25T24:00:00Z",            /* hour */
		"2026-11-25T23:60:00Z",            /* minute */
		"2026-12-31T23:59:60Z",            /* a leap second */
		"2026-11-25T14:52:28.Z",           /* an empty fraction */
		"2026-11-25T14:52:28.1234567890Z", /* ten fraction digits */
		"2026-11-25T14:52:28+0100",        /* offset without a colon */
		"2026-11-25T14:52:28+24:00",       /* offset hour */
		"2026-11-25T14:52:28Zjunk",
		"+2026-11-25T14:52:28Z",
		"2026-1-25T14:52:28Z",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t ms = 42;
		CU_ASSERT_FALSE(lf_time_parse_rfc3339(bad[i], &ms));
		if (lf_time_parse_rfc3339(bad[i], &ms))
			fprintf(stderr, "accepted: %s\n", bad[i]);
	}
	/* every formatted instant parses back to itself */
	for (int64_t ms = INT64_C(-86400000) * 400; ms < INT64_C(253402300799999);
	     ms += INT64_C(86400000) * 97 + 3601007) {
		char text[LF_TIME_STR_LEN + 1];
		int64_t back = 0;
		lf_time_format_ms(ms, text);
		CU_ASSERT_TRUE(lf_time_parse_rfc3339(text, &back));
		CU_ASSERT_EQUAL(back, ms);
	}
}

static void test_clocks(void)
{
	struct timespec ts;
	int64_t now, mono1, mono2;
	struct timespec pause = {0, 5000000};

	clock_gettime(CLOCK_REALTIME, &ts);
	now = lf_time_now_ms();
	CU_ASSERT_TRUE(now >= (int64_t)ts.tv_sec * 1000);
	CU_ASSERT_TRUE(now - (int64_t)ts.tv_sec * 1000 < 2000);
	/* after 2024 and before 2100 */
	CU_ASSERT_TRUE(now > INT64_C(1704067200000));
	CU_ASSERT_TRUE(now < INT64_C(4102444800000));
	mono1 = lf_time_monotonic_ms();
	nanosleep(&pause, NULL);
	mono2 = lf_time_monotonic_ms();
	CU_ASSERT_TRUE(mono2 >= mono1 + 4);
	CU_ASSERT_TRUE(mono2 - mono1 < 5000);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("time", NULL, NULL);
	if (s == NULL || CU_add_test(s, "format known instants", test_format_known) == NULL ||
	    CU_add_test(s, "format round trip", test_format_round_trip) == NULL ||
	    CU_add_test(s, "parse RFC 3339", test_parse) == NULL ||
	    CU_add_test(s, "clocks", test_clocks) == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	return lf_cunit_run();
}
