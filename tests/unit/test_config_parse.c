/*
 * test_config_parse.c - unit tests for src/core/config.c's key table (names,
 * defaults, descriptions, secret and reloadable flags) and its value
 * parsers (sizes, durations, booleans, listen addresses), table-driven.
 * Loading files and the environment is test_config.c.
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "lf_config.h"
#include "../lf_cunit.h"

static void test_key_table(void)
{
	char buf[64];
	struct lf_config_key_info info;
	size_t n = lf_config_key_count();
	bool seen_listen = false, seen_workers = false;

	CU_ASSERT_PTR_NULL(lf_config_key_name(n, buf, sizeof(buf)));
	CU_ASSERT_PTR_NULL(lf_config_key_name(0, buf, 4)); /* too small */
	CU_ASSERT_FALSE(lf_config_key_info(n, &info));
	for (size_t i = 0; i < n; i++) {
		char dotted[96];
		CU_ASSERT_FATAL(lf_config_key_info(i, &info));
		CU_ASSERT_PTR_NOT_NULL(info.default_text);
		CU_ASSERT(info.description && info.description[0]);
		snprintf(dotted, sizeof(dotted), "%s.%s", info.section, info.name);
		CU_ASSERT_STRING_EQUAL(lf_config_key_name(i, buf, sizeof(buf)), dotted);
		CU_ASSERT_EQUAL(info.secret, strcmp(info.name, "password") == 0 ||
						     strcmp(info.name, "admin_password") == 0 ||
						     strcmp(dotted, "risk.webhook_secret") == 0);
		if (strcmp(dotted, "server.listen") == 0 || strcmp(dotted, "cache.size") == 0 ||
		    strcmp(dotted, "server.pid_file") == 0)
			CU_ASSERT_FALSE(info.reloadable);
		seen_listen |= strcmp(dotted, "server.listen") == 0;
		if (strcmp(dotted, "server.workers") == 0) {
			seen_workers = true;
			CU_ASSERT_TRUE(info.reloadable);
			CU_ASSERT_STRING_EQUAL(info.default_text, "auto");
		}
	}
	CU_ASSERT(seen_listen && seen_workers);
}

/* ---- parsers, table-driven ---- */

static void test_parse_size(void)
{
	static const struct {
		const char *s;
		bool ok;
		size_t v;
	} t[] = {
		{"0", true, 0},
		{"1", true, 1},
		{"123", true, 123},
		{"1K", true, 1024},
		{"1k", true, 1024},
		{"64K", true, 65536},
		{"1M", true, 1048576},
		{"16m", true, 16777216},
		{"2G", true, 2147483648u},
		{"1g", true, 1073741824},
		{"18446744073709551615", true, SIZE_MAX},
		{"17179869183G", true, 17179869183ull << 30},
		{"18446744073709551616", false, 0},
		{"17179869184G", false, 0},
		{"", false, 0},
		{"K", false, 0},
		{"1KB", false, 0},
		{"1T", false, 0},
		{" 1", false, 0},
		{"1 ", false, 0},
		{"-1", false, 0},
		{"+1", false, 0},
		{"1.5K", false, 0},
		{"0x10", false, 0},
		{"1KK", false, 0},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t v = 12345;
		bool ok = lf_config_parse_size(t[i].s, &v);
		if (ok != t[i].ok || (ok && v != t[i].v))
			fprintf(stderr, "size \"%s\": ok=%d v=%zu\n", t[i].s, ok, v);
		CU_ASSERT_EQUAL(ok, t[i].ok);
		if (t[i].ok)
			CU_ASSERT_EQUAL(v, t[i].v);
	}
	CU_ASSERT_FALSE(lf_config_parse_size(NULL, &(size_t){0}));
}

static void test_parse_duration(void)
{
	static const struct {
		const char *s;
		bool ok;
		int64_t v;
	} t[] = {
		{"0", true, 0},
		{"5", true, 5000},
		{"5s", true, 5000},
		{"500ms", true, 500},
		{"0ms", true, 0},
		{"2m", true, 120000},
		{"1h", true, 3600000},
		{"24h", true, 86400000},
		{"9223372036854775807ms", true, INT64_MAX},
		{"9223372036854775s", true, 9223372036854775000LL},
		{"9223372036854775808ms", false, 0},
		{"9223372036854776s", false, 0},
		{"2562047788015h", true, 2562047788015LL * 3600000},
		{"2562047788016h", false, 0},
		{"99999999999999999999", false, 0},
		{"", false, 0},
		{"s", false, 0},
		{"ms", false, 0},
		{"5x", false, 0},
		{"5S", false, 0},
		{"1.5s", false, 0},
		{"-1", false, 0},
		{"5 s", false, 0},
		{"5sec", false, 0},
		{"5mss", false, 0},
		{" 5", false, 0},
		{"1d", true, 86400000},
		{"3d", true, 259200000},
		{"106751991167d", true, 106751991167LL * 86400000},
		{"106751991168d", false, 0},
		{"1dd", false, 0},
		{"1w", false, 0},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int64_t v = 12345;
		bool ok = lf_config_parse_duration(t[i].s, &v);
		if (ok != t[i].ok || (ok && v != t[i].v))
			fprintf(stderr, "duration \"%s\": ok=%d v=%lld\n", t[i].s, ok,
				(long long)v);
		CU_ASSERT_EQUAL(ok, t[i].ok);
		if (t[i].ok)
			CU_ASSERT_EQUAL(v, t[i].v);
	}
}

static void test_parse_bool(void)
{
	static const struct {
		const char *s;
		bool ok;
		bool v;
	} t[] = {
		{"on", true, true},    {"off", true, false},     {"yes", true, true},
		{"no", true, false},   {"true", true, true},     {"false", true, false},
		{"1", true, true},     {"0", true, false},       {"ON", true, true},
		{"True", true, true},  {"NO", true, false},      {"", false, false},
		{"2", false, false},   {"enable", false, false}, {"o", false, false},
		{"onn", false, false}, {" on", false, false},    {"y", false, false},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bool v = !t[i].v;
		bool ok = lf_config_parse_bool(t[i].s, &v);
		CU_ASSERT_EQUAL(ok, t[i].ok);
		if (t[i].ok)
			CU_ASSERT_EQUAL(v, t[i].v);
	}
}

static void test_parse_listen(void)
{
	static const struct {
		const char *s;
		bool ok;
		const char *host;
		unsigned port;
	} t[] = {
		{"127.0.0.1:8080", true, "127.0.0.1", 8080},
		{"0.0.0.0:80", true, "0.0.0.0", 80},
		{"localhost:1", true, "localhost", 1},
		{"my-host.example_x:65535", true, "my-host.example_x", 65535},
		{"[::1]:8080", true, "::1", 8080},
		{"[2001:db8::1]:443", true, "2001:db8::1", 443},
		{"[::]:9000", true, "::", 9000},
		{"", false, NULL, 0},
		{"127.0.0.1", false, NULL, 0},
		{":8080", false, NULL, 0},
		{"8080", false, NULL, 0},
		{"[::1]", false, NULL, 0},
		{"[::1]:", false, NULL, 0},
		{"[::1]8080", false, NULL, 0},
		{"::1:8080", false, NULL, 0},
		{"[zz]:80", false, NULL, 0},
		{"[]:80", false, NULL, 0},
		{"[127.0.0.1]:80", false, NULL, 0},
		{"h:0", false, NULL, 0},
		{"h:65536", false, NULL, 0},
		{"h:80x", false, NULL, 0},
		{"h:+80", false, NULL, 0},
		{"h:-1", false, NULL, 0},
		{"a b:80", false, NULL, 0},
		{"h:", false, NULL, 0},
		{"h:99999999999999999999999", false, NULL, 0},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char host[256] = "unchanged";
		unsigned port = 7;
		bool ok = lf_config_parse_listen(t[i].s, host, sizeof(host), &port);
		if (ok != t[i].ok)
			fprintf(stderr, "listen \"%s\": ok=%d\n", t[i].s, ok);
		CU_ASSERT_EQUAL(ok, t[i].ok);
		if (t[i].ok) {
			CU_ASSERT_STRING_EQUAL(host, t[i].host);
			CU_ASSERT_EQUAL(port, t[i].port);
		}
	}
	{
		char small[9];
		unsigned port;
		CU_ASSERT_FALSE(
			lf_config_parse_listen("localhost:80", small, sizeof(small), &port));
		CU_ASSERT_TRUE(lf_config_parse_listen("abcdefgh:80", small, sizeof(small), &port));
		CU_ASSERT_STRING_EQUAL(small, "abcdefgh");
	}
}

int main(void)
{
	static const struct lf_test tests[] = {
		{"key table", test_key_table},           {"parse size", test_parse_size},
		{"parse duration", test_parse_duration}, {"parse bool", test_parse_bool},
		{"parse listen", test_parse_listen},
	};
	static const struct lf_suite suites[] = {{"config parse", LF_TESTS(tests)}};
	return lf_cunit_main(suites, LF_COUNT(suites));
}
