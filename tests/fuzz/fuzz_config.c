/*
 * fuzz_config.c - libFuzzer harness for the configuration reader
 * (core/config.c, core/config_value.c). The input is written to a memfd
 * and loaded with lf_config_load() through /proc/self/fd/N (no files on
 * disk). Properties: no crash or leak; the problem report is bounded (at
 * most a few lines more than the input has lines, each under 1 KiB, and
 * every line names its source); a load that succeeds yields values inside
 * the key table's ranges; a failed load leaves the structure zeroed; a
 * password never appears in the report. The value parsers (sizes,
 * durations, booleans, listen addresses) are checked against models
 * written here, and a listen address that parses is re-written and parses
 * to the same host and port, even into a host buffer of the exact size.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lf_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "fuzz_config: property failed: %s (%s:%d)\n", #cond, \
				__FILE__, __LINE__);                                         \
			abort();                                                             \
		}                                                                            \
	} while (0)

#define SECRET_MARK "ZqXjPw"

static int memfd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* the environment overrides the file: keep it out of the inputs */
	extern char **environ;
	for (size_t i = 0; environ[i] != NULL;) {
		if (strncmp(environ[i], "LEDGERFLOW_", 11) == 0) {
			char name[256];
			size_t n = strcspn(environ[i], "=");
			snprintf(name, sizeof name, "%.*s", (int)n, environ[i]);
			unsetenv(name);
			continue; /* environ shifted down */
		}
		i++;
	}
	memfd = memfd_create("lf-fuzz-config", MFD_CLOEXEC);
	CHECK(memfd >= 0);
	snprintf(path, sizeof path, "/proc/self/fd/%d", memfd);
	return 0;
}

static void put_file(const void *data, size_t size)
{
	CHECK(ftruncate(memfd, 0) == 0);
	CHECK(size == 0 || pwrite(memfd, data, size, 0) == (ssize_t)size);
}

/* Load the memfd; returns the report (free()) and whether it loaded. */
static char *load(bool *ok, size_t *report_len)
{
	char *report = NULL;
	FILE *err = open_memstream(&report, report_len);
	CHECK(err != NULL);
	struct lf_config cfg;
	*ok = lf_config_load(&cfg, path, err);
	fclose(err);
	if (*ok) {
		CHECK(cfg.listen != NULL && cfg.listen_host[0] != '\0');
		CHECK(cfg.listen_port >= 1 && cfg.listen_port <= 65535);
		CHECK(cfg.workers >= 1 && cfg.workers <= 64);
		CHECK(cfg.max_body_size >= 1024 && cfg.max_body_size <= 16 * 1024 * 1024);
		CHECK(cfg.max_header_size >= 1024 && cfg.max_header_size <= 1024 * 1024);
		CHECK(cfg.request_timeout_ms >= 1 && cfg.request_timeout_ms <= 3600 * 1000);
		CHECK(cfg.mysql_lock_wait_timeout_ms % 1000 == 0);
		CHECK(cfg.pool_size >= 1 && cfg.pool_size <= 256);
		CHECK(cfg.mysql_host != NULL && cfg.mysql_host[0] != '\0');
		CHECK(cfg.sql_dir != NULL && cfg.sql_dir[0] != '\0');
		CHECK(cfg.log_level != NULL);
		/* a load that succeeds may only warn */
		for (const char *l = report; l != NULL && *l != '\0';) {
			const char *eol = strchr(l, '\n');
			size_t n = eol ? (size_t)(eol - l) : strlen(l);
			if (memmem(l, n, ": warning: ", 11) == NULL)
				fprintf(stderr, "fuzz_config: not a warning: %.*s\n", (int)n, l);
			CHECK(memmem(l, n, ": warning: ", 11) != NULL);
			l = eol ? eol + 1 : NULL;
		}
		lf_config_clear(&cfg);
	} else {
		/* freed and zeroed */
		static const struct lf_config zero;
		CHECK(memcmp(&cfg, &zero, sizeof cfg) == 0);
		CHECK(*report_len > 0);
	}
	return report;
}

static void check_report(const char *report, size_t len, size_t input_lines)
{
	size_t lines = 0;
	for (const char *p = report; p < report + len;) {
		const char *nl = memchr(p, '\n', (size_t)(report + len - p));
		CHECK(nl != NULL); /* every problem is a whole line */
		CHECK(nl - p < 1024);
		/* "SOURCE: ...": the file and line, or the file itself */
		CHECK(strncmp(p, path, strlen(path)) == 0);
		lines++;
		p = nl + 1;
	}
	CHECK(lines <= input_lines + 3);
}

static void check_file(const uint8_t *data, size_t size)
{
	size_t input_lines = 1, report_len = 0;
	for (size_t i = 0; i < size; i++)
		input_lines += data[i] == '\n';
	put_file(data, size);
	bool ok;
	char *report = load(&ok, &report_len);
	check_report(report, report_len, input_lines);
	free(report);
}

/* The input as both passwords, behind a marker no message contains. */
static void check_secrets(const uint8_t *data, size_t size)
{
	size_t n = size > 1100 ? 1100 : size, o = 0;
	char *file = malloc(2 * (n + 64));
	CHECK(file != NULL);
	for (int s = 0; s < 2; s++) {
		o += (size_t)sprintf(file + o, "[%s]\npassword = " SECRET_MARK,
				     s ? "redis" : "mysql");
		for (size_t i = 0; i < n; i++)
			if (data[i] != '\n' && data[i] != '\r' && data[i] != '\0')
				file[o++] = (char)data[i];
		file[o++] = '\n';
	}
	put_file(file, o);
	free(file);
	bool ok;
	size_t report_len = 0;
	char *report = load(&ok, &report_len);
	CHECK(memmem(report, report_len, SECRET_MARK, strlen(SECRET_MARK)) == NULL);
	free(report);
}

/* ---- value parsers against models ---- */

static bool model_number(const char *s, const char **end, uint64_t *n)
{
	unsigned __int128 v = 0;
	const char *p = s;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (unsigned)(*p++ - '0');
		if (v > UINT64_MAX)
			return false;
	}
	*end = p;
	*n = (uint64_t)v;
	return p != s;
}

static void check_values(const char *s)
{
	const char *end;
	uint64_t n;
	bool num = model_number(s, &end, &n);

	size_t sz = 0;
	bool got = lf_config_parse_size(s, &sz);
	uint64_t mult = 0;
	if (num) {
		if (*end == '\0')
			mult = 1;
		else if (end[1] == '\0' && strchr("kKmMgG", *end) != NULL)
			mult = (uint64_t)1 << (*end == 'k' || *end == 'K'   ? 10
					       : *end == 'm' || *end == 'M' ? 20
									    : 30);
	}
	bool want = mult != 0 && n <= SIZE_MAX / mult;
	CHECK(got == want);
	if (got)
		CHECK(sz == n * mult);

	int64_t ms = 0;
	got = lf_config_parse_duration(s, &ms);
	mult = 0;
	if (num) {
		if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
			mult = 1000;
		else if (strcmp(end, "ms") == 0)
			mult = 1;
		else if (strcmp(end, "m") == 0)
			mult = 60000;
		else if (strcmp(end, "h") == 0)
			mult = 3600000;
		else if (strcmp(end, "d") == 0)
			mult = 86400000; /* days: [webhooks] max_age = 3d */
	}
	want = mult != 0 && n <= (uint64_t)INT64_MAX / mult;
	CHECK(got == want);
	if (got)
		CHECK(ms >= 0 && (uint64_t)ms == n * mult);

	bool b = false;
	static const char *const words[] = {"on", "yes", "true", "1", "off", "no", "false", "0"};
	want = false;
	bool val = false;
	for (size_t i = 0; i < 8; i++)
		if (strcasecmp(s, words[i]) == 0)
			want = true, val = i < 4;
	got = lf_config_parse_bool(s, &b);
	CHECK(got == want);
	if (got)
		CHECK(b == val);

	char host[256];
	unsigned port = 0;
	if (lf_config_parse_listen(s, host, sizeof host, &port)) {
		size_t hl = strlen(host);
		CHECK(hl > 0 && port >= 1 && port <= 65535);
		char again[300], host2[256];
		unsigned port2 = 0;
		snprintf(again, sizeof again, s[0] == '[' ? "[%s]:%u" : "%s:%u", host, port);
		CHECK(lf_config_parse_listen(again, host2, sizeof host2, &port2));
		CHECK(strcmp(host, host2) == 0 && port == port2);
		/* exactly the room it needs, and one byte less */
		char *tight = malloc(hl + 1);
		CHECK(tight != NULL);
		CHECK(lf_config_parse_listen(s, tight, hl + 1, &port2) && strcmp(tight, host) == 0);
		CHECK(!lf_config_parse_listen(s, tight, hl, &port2));
		free(tight);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_file(data, size);
	check_secrets(data, size);
	char *s = malloc(size + 1);
	CHECK(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	check_values(s);
	free(s);
	return 0;
}
