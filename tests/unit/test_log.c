/*
 * test_log.c - unit tests for src/core/log.c: the per-thread request
 * context (request_id / trace_id on every line while it is current, scopes
 * that restore the outer context, no leak to other threads), the per-kind
 * rate limit (a burst of 100 lines gives at most the burst plus one line
 * saying how many were suppressed; kinds are independent; several threads
 * share one budget), and that no raw CR or LF ever reaches the log.
 * Everything is logged into a temporary file and read back.
 */
#include "config.h"

#include "lf_log.h"

#include <CUnit/Basic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lf_cunit.h"

static char log_path[64];

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Start every test on an empty log file. */
static void reset_log(void)
{
	FILE *f = fopen(log_path, "w");
	if (f != NULL)
		fclose(f);
	CU_ASSERT_FATAL(lf_log_open(log_path, "debug"));
}

/* The whole log file, NUL-terminated (free()). */
static char *read_log(size_t *len)
{
	FILE *f = fopen(log_path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap + 1);
	while (buf != NULL) {
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
		if (n == cap) {
			char *more = realloc(buf, cap * 2 + 1);
			if (more == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = more;
			cap *= 2;
		}
	}
	fclose(f);
	if (buf != NULL)
		buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

/* Lines of the log containing every one of up to two texts (b NULL: only a). */
static int count_lines(const char *a, const char *b)
{
	char *all = read_log(NULL);
	int n = 0;
	for (char *line = all, *nl; line != NULL && *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl == NULL)
			break;
		*nl = '\0';
		if (strstr(line, a) != NULL && (b == NULL || strstr(line, b) != NULL))
			n++;
	}
	free(all);
	return n;
}

/* The first line containing text, copied into buf; false if none. */
static bool find_line(const char *text, char *buf, size_t len)
{
	char *all = read_log(NULL);
	bool found = false;
	for (char *line = all, *nl; line != NULL && *line != '\0' && !found; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl == NULL)
			break;
		*nl = '\0';
		if (strstr(line, text) != NULL) {
			snprintf(buf, len, "%s", line);
			found = true;
		}
	}
	free(all);
	return found;
}

static void set_ctx(struct lf_log_ctx *c, const char *rid, const char *trace)
{
	memset(c, 0, sizeof *c);
	snprintf(c->request_id, sizeof c->request_id, "%s", rid);
	snprintf(c->trace_id, sizeof c->trace_id, "%s", trace);
}

/* ---- context ---- */

static void test_context_on_lines(void)
{
	reset_log();
	struct lf_log_ctx c;
	set_ctx(&c, "req-abc.1:X", "4bf92f3577b34da6a3ce929d0e0e4736");
	lf_info("before", "n=%d", 1);
	lf_log_ctx_set(&c);
	lf_info("during", "n=%d", 2);
	lf_log_ctx_clear();
	lf_info("after", "n=%d", 3);

	char line[2048];
	CU_ASSERT_FATAL(find_line("msg=during", line, sizeof line));
	CU_ASSERT(strstr(line, "msg=during request_id=req-abc.1:X "
			       "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 n=2") != NULL);
	CU_ASSERT_FATAL(find_line("msg=before", line, sizeof line));
	CU_ASSERT(strstr(line, "request_id=") == NULL);
	CU_ASSERT_FATAL(find_line("msg=after", line, sizeof line));
	CU_ASSERT(strstr(line, "request_id=") == NULL);

	/* no trace id: no trace_id pair */
	set_ctx(&c, "only-req", "");
	lf_log_ctx_set(&c);
	lf_warn("no_trace", "%s", "");
	lf_log_ctx_clear();
	CU_ASSERT_FATAL(find_line("msg=no_trace", line, sizeof line));
	CU_ASSERT(strstr(line, "request_id=only-req") != NULL);
	CU_ASSERT(strstr(line, "trace_id") == NULL);

	/* an empty request id is no context */
	set_ctx(&c, "", "4bf92f3577b34da6a3ce929d0e0e4736");
	lf_log_ctx_set(&c);
	struct lf_log_ctx got;
	CU_ASSERT(!lf_log_ctx_get(&got));
	CU_ASSERT(got.request_id[0] == '\0');
}

static void test_context_scopes_nest(void)
{
	reset_log();
	struct lf_log_ctx outer, inner, got;
	set_ctx(&outer, "outer-1", "");
	set_ctx(&inner, "inner-2", "");
	struct lf_log_scope s1, s2;
	lf_log_scope_enter(&s1, &outer);
	lf_log_scope_enter(&s2, &inner);
	lf_info("in_inner", "%s", "");
	lf_log_scope_leave(&s2);
	lf_info("back_in_outer", "%s", "");
	CU_ASSERT(lf_log_ctx_get(&got) && strcmp(got.request_id, "outer-1") == 0);
	lf_log_scope_leave(&s1);
	CU_ASSERT(!lf_log_ctx_get(&got));
	lf_info("outside", "%s", "");

	CU_ASSERT(count_lines("msg=in_inner request_id=inner-2", NULL) == 1);
	CU_ASSERT(count_lines("msg=back_in_outer request_id=outer-1", NULL) == 1);
	CU_ASSERT(count_lines("msg=outside", "request_id=") == 0);
	CU_ASSERT(count_lines("msg=outside", NULL) == 1);

	/* a scope entered with no context clears, and restores on leave */
	lf_log_ctx_set(&outer);
	lf_log_scope_enter(&s1, NULL);
	CU_ASSERT(!lf_log_ctx_get(&got));
	lf_log_scope_leave(&s1);
	CU_ASSERT(lf_log_ctx_get(&got) && strcmp(got.request_id, "outer-1") == 0);
	lf_log_ctx_clear();
}

static void *log_without_context(void *arg)
{
	(void)arg;
	lf_info("other_thread", "%s", "");
	return NULL;
}

static void test_context_is_per_thread(void)
{
	reset_log();
	struct lf_log_ctx c;
	set_ctx(&c, "main-thread", "");
	lf_log_ctx_set(&c);
	pthread_t t;
	CU_ASSERT_FATAL(pthread_create(&t, NULL, log_without_context, NULL) == 0);
	pthread_join(t, NULL);
	lf_info("main_thread", "%s", "");
	lf_log_ctx_clear();
	CU_ASSERT(count_lines("msg=other_thread", NULL) == 1);
	CU_ASSERT(count_lines("msg=other_thread", "request_id=") == 0);
	CU_ASSERT(count_lines("msg=main_thread request_id=main-thread", NULL) == 1);
}

/* ---- rate limit ---- */

static void test_limit_burst(void)
{
	reset_log();
	struct lf_log_ctx c;
	set_ctx(&c, "flood-req", "");
	lf_log_ctx_set(&c);
	int64_t t0 = mono_ms();
	int written = 0;
	for (int i = 0; i < 100; i++)
		written += lf_log_limited(LF_LOG_WARN, "t_burst", "burst_line", "i=%d", i);
	int64_t took = mono_ms() - t0;
	int lines = count_lines("msg=burst_line", NULL);
	CU_ASSERT(lines == written);
	/* the burst, plus whatever refilled while the loop ran */
	int allowed = LF_LOG_LIMIT_BURST + (int)(took * LF_LOG_LIMIT_PER_S / 1000) + 1;
	CU_ASSERT(lines >= LF_LOG_LIMIT_BURST);
	CU_ASSERT(lines <= allowed);
	CU_ASSERT(count_lines("msg=burst_line", "suppressed=") == 0);

	/* after a pause one more line gets through and says what was dropped */
	usleep((1000 / LF_LOG_LIMIT_PER_S + 50) * 1000);
	CU_ASSERT(lf_log_limited(LF_LOG_WARN, "t_burst", "burst_line", "i=%d", 100));
	char want[64], line[2048];
	snprintf(want, sizeof want, " suppressed=%d", 100 - written);
	CU_ASSERT(count_lines("msg=burst_line", "suppressed=") == 1);
	CU_ASSERT_FATAL(find_line("i=100", line, sizeof line));
	CU_ASSERT(strstr(line, want) != NULL);
	CU_ASSERT(strstr(line, "request_id=flood-req") != NULL);
	/* suppressed=N comes last */
	CU_ASSERT(strcmp(line + strlen(line) - strlen(want), want) == 0);
	/* ... and only once */
	usleep((1000 / LF_LOG_LIMIT_PER_S + 50) * 1000);
	CU_ASSERT(lf_log_limited(LF_LOG_WARN, "t_burst", "burst_line", "i=%d", 101));
	CU_ASSERT(count_lines("msg=burst_line", "suppressed=") == 1);
	lf_log_ctx_clear();
}

static void test_limit_kinds_independent(void)
{
	reset_log();
	for (int i = 0; i < 50; i++)
		(void)lf_log_limited(LF_LOG_ERROR, "t_kind_a", "kind_a", "i=%d", i);
	/* a flood of one kind does not silence another */
	int b = 0;
	for (int i = 0; i < LF_LOG_LIMIT_BURST; i++)
		b += lf_log_limited(LF_LOG_ERROR, "t_kind_b", "kind_b", "i=%d", i);
	CU_ASSERT(b == LF_LOG_LIMIT_BURST);
	CU_ASSERT(count_lines("msg=kind_b", NULL) == LF_LOG_LIMIT_BURST);

	/* a level below the threshold is neither written nor counted */
	CU_ASSERT_FATAL(lf_log_open(log_path, "warn"));
	for (int i = 0; i < 20; i++)
		CU_ASSERT(!lf_log_limited(LF_LOG_DEBUG, "t_kind_c", "kind_c", "i=%d", i));
	CU_ASSERT(lf_log_limited(LF_LOG_WARN, "t_kind_c", "kind_c", "i=%d", 20));
	CU_ASSERT(count_lines("msg=kind_c", NULL) == 1);
	CU_ASSERT(count_lines("msg=kind_c", "suppressed=") == 0);
}

#define THREADS 4
#define PER_THREAD 200

static void *flood(void *arg)
{
	int *written = arg;
	for (int i = 0; i < PER_THREAD; i++)
		*written += lf_log_limited(LF_LOG_WARN, "t_threads", "thread_line", "i=%d", i);
	return NULL;
}

static void test_limit_shared_by_threads(void)
{
	reset_log();
	pthread_t t[THREADS];
	int written[THREADS] = {0};
	int64_t t0 = mono_ms();
	int started = 0;
	for (int i = 0; i < THREADS; i++)
		started += pthread_create(&t[i], NULL, flood, &written[i]) == 0;
	CU_ASSERT_FATAL(started == THREADS);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	int64_t took = mono_ms() - t0;
	int total = 0;
	for (int i = 0; i < THREADS; i++)
		total += written[i];
	int lines = count_lines("msg=thread_line", NULL);
	CU_ASSERT(lines == total);
	CU_ASSERT(lines >= LF_LOG_LIMIT_BURST);
	CU_ASSERT(lines <= LF_LOG_LIMIT_BURST + (int)(took * LF_LOG_LIMIT_PER_S / 1000) + 1);
}

/* ---- CR / LF ---- */

static void test_no_raw_cr_lf(void)
{
	reset_log();
	const char *evil = "line one\r\nmsg=forged level=error\nthird\rend";
	char q[256];
	lf_info("quoted", "value=%s", lf_log_quote(evil, q, sizeof q));
	/* a value that skipped the quoting still cannot break the line */
	lf_info("unquoted", "value=%s", evil);
	lf_log_limited(LF_LOG_WARN, "t_crlf", "limited", "value=%s", evil);
	struct lf_log_ctx c;
	set_ctx(&c, "crlf-req", "");
	lf_log_ctx_set(&c);
	lf_error("with_ctx", "value=%s", evil);
	lf_log_ctx_clear();

	size_t len = 0;
	char *all = read_log(&len);
	CU_ASSERT_FATAL(all != NULL);
	CU_ASSERT(memchr(all, '\r', len) == NULL);
	int newlines = 0;
	for (size_t i = 0; i < len; i++)
		newlines += all[i] == '\n';
	CU_ASSERT(newlines == 4); /* one per event */
	CU_ASSERT(len > 0 && all[len - 1] == '\n');
	free(all);
	CU_ASSERT(count_lines("msg=forged", NULL) == 4); /* inside each line, not a line */
	CU_ASSERT(count_lines("msg=quoted value=\"line one\\x0d\\x0amsg=forged", NULL) == 1);
	CU_ASSERT(count_lines("msg=unquoted value=line one\\r\\nmsg=forged", NULL) == 1);

	/* quoting: quotes and backslashes escaped, always closed when truncated */
	CU_ASSERT_STRING_EQUAL(lf_log_quote("a\"b\\c", q, sizeof q), "\"a\\\"b\\\\c\"");
	char small[10];
	lf_log_quote("\n\n\n\n\n\n", small, sizeof small);
	CU_ASSERT(small[0] == '"' && small[strlen(small) - 1] == '"');
	CU_ASSERT(strchr(small, '\n') == NULL);
}

static void test_long_line_stays_one_line(void)
{
	reset_log();
	char big[5000];
	memset(big, '\n', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	lf_info("huge", "value=%s", big);
	size_t len = 0;
	char *all = read_log(&len);
	CU_ASSERT_FATAL(all != NULL);
	int newlines = 0;
	for (size_t i = 0; i < len; i++)
		newlines += all[i] == '\n';
	CU_ASSERT(newlines == 1);
	CU_ASSERT(len > 0 && all[len - 1] == '\n');
	free(all);
}

int main(void)
{
	snprintf(log_path, sizeof log_path, "/tmp/lf-test-log-%ld.log", (long)getpid());
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	CU_pSuite s = CU_add_suite("log", NULL, NULL);
	if (s == NULL || CU_add_test(s, "context on every line", test_context_on_lines) == NULL ||
	    CU_add_test(s, "scopes nest and restore", test_context_scopes_nest) == NULL ||
	    CU_add_test(s, "context is per thread", test_context_is_per_thread) == NULL ||
	    CU_add_test(s, "burst of 100: burst + suppressed=N", test_limit_burst) == NULL ||
	    CU_add_test(s, "kinds are independent", test_limit_kinds_independent) == NULL ||
	    CU_add_test(s, "threads share one budget", test_limit_shared_by_threads) == NULL ||
	    CU_add_test(s, "no raw CR or LF", test_no_raw_cr_lf) == NULL ||
	    CU_add_test(s, "a long line stays one line", test_long_line_stays_one_line) == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	int rc = lf_cunit_run();
	lf_log_close();
	unlink(log_path);
	return rc;
}
