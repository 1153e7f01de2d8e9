/*
 * test_tracing.c - [tracing] against a real ledgerflowd and a collector in
 * this program (a loopback HTTP server that keeps every OTLP/JSON body it
 * is sent, or, when told to, answers each only after 4 s):
 *   - a request with a sampled traceparent gives a server span in that
 *     trace under that parent, with database and Redis spans under it;
 *   - an unsampled traceparent gives no span; with sample_percent 0 a
 *     request without one gives none either;
 *   - a collector that does not answer costs the requests nothing: they
 *     are answered as fast as before, and spans are dropped and counted.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "harness.h"
#include "../lf_cunit.h"

/* ---- the collector ---- */

static struct {
	int lfd;
	unsigned port;
	pthread_t thread;
	pthread_mutex_t mu;
	char *bodies; /* every body received, newline separated; guarded by mu */
	size_t len;
	int posts;
	volatile int slow; /* answer after 4 s */
	volatile int stop;
} C = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void serve(int fd)
{
	char buf[1 << 16];
	size_t have = 0;
	for (;;) {
		char *end = NULL;
		while ((end = memmem(buf, have, "\r\n\r\n", 4)) == NULL) {
			if (have == sizeof buf)
				return;
			ssize_t n = recv(fd, buf + have, sizeof buf - have, 0);
			if (n <= 0)
				return;
			have += (size_t)n;
		}
		size_t head = (size_t)(end - buf) + 4;
		char *cl = strcasestr(buf, "Content-Length:");
		size_t want = cl != NULL && cl < end ? (size_t)atol(cl + 15) : 0;
		char *body = malloc(want + 1);
		if (body == NULL)
			return;
		size_t got = have - head < want ? have - head : want;
		memcpy(body, buf + head, got);
		size_t rest = have - head - got;
		memmove(buf, buf + head + got, rest);
		have = rest;
		while (got < want) {
			ssize_t n = recv(fd, body + got, want - got, 0);
			if (n <= 0) {
				free(body);
				return;
			}
			got += (size_t)n;
		}
		body[want] = '\0';
		pthread_mutex_lock(&C.mu);
		char *grown = realloc(C.bodies, C.len + want + 2);
		if (grown != NULL) {
			C.bodies = grown;
			memcpy(C.bodies + C.len, body, want);
			C.len += want;
			C.bodies[C.len++] = '\n';
			C.bodies[C.len] = '\0';
			C.posts++;
		}
		pthread_mutex_unlock(&C.mu);
		free(body);
		if (C.slow)
			sleep(4);
		const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				  "Content-Length: 2\r\n\r\n{}";
		if (send(fd, ok, sizeof ok - 1, MSG_NOSIGNAL) < 0)
			return;
	}
}

static void *collector(void *arg)
{
	(void)arg;
	while (!C.stop) {
		int fd = accept(C.lfd, NULL, NULL);
		if (fd < 0)
			continue;
		struct timeval tv = {1, 0};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		serve(fd);
		close(fd);
	}
	return NULL;
}

static bool collector_start(void)
{
	C.lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	if (C.lfd < 0 || bind(C.lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(C.lfd, 16) != 0 || getsockname(C.lfd, (struct sockaddr *)&a, &len) != 0)
		return false;
	struct timeval tv = {0, 200 * 1000}; /* accept wakes up to see stop */
	setsockopt(C.lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	C.port = ntohs(a.sin_port);
	return pthread_create(&C.thread, NULL, collector, NULL) == 0;
}

/* Does some body hold every text of the list (NULL-terminated) within one
 * span object? Waits at most timeout_ms. */
static bool span_with(const char *const *texts, int timeout_ms)
{
	int64_t until = lf_h_now_ms() + timeout_ms;
	for (;;) {
		bool found = false;
		pthread_mutex_lock(&C.mu);
		for (const char *s = C.bodies; s != NULL && !found;
		     s = strstr(s + 1, "{\"traceId\"")) {
			const char *e = strstr(s + 1, "{\"traceId\"");
			size_t n = e ? (size_t)(e - s) : strlen(s);
			bool all = true;
			for (const char *const *t = texts; *t && all; t++) {
				const char *hit = strstr(s, *t);
				all = hit != NULL && (size_t)(hit - s) < n;
			}
			found = all && s != C.bodies;
		}
		pthread_mutex_unlock(&C.mu);
		if (found)
			return true;
		if (lf_h_now_ms() >= until)
			return false;
		usleep(50 * 1000);
	}
}

static bool any_with(const char *text)
{
	pthread_mutex_lock(&C.mu);
	bool hit = C.bodies != NULL && strstr(C.bodies, text) != NULL;
	pthread_mutex_unlock(&C.mu);
	return hit;
}

/* The spanId of the span carrying text (the first), into out. */
static bool span_id_of(const char *text, char out[17])
{
	bool ok = false;
	pthread_mutex_lock(&C.mu);
	const char *hit = C.bodies ? strstr(C.bodies, text) : NULL;
	if (hit != NULL) {
		/* back to the span's start */
		const char *s = hit;
		while (s > C.bodies && strncmp(s, "{\"traceId\"", 10) != 0)
			s--;
		const char *id = strstr(s, "\"spanId\":\"");
		if (id != NULL && id < hit) {
			memcpy(out, id + 10, 16);
			out[16] = '\0';
			ok = true;
		}
	}
	pthread_mutex_unlock(&C.mu);
	return ok;
}

/* ---- tests ---- */

static struct lf_h_daemon d;
static char funded[37], other[37];

static int get_with(const char *path, const char *traceparent)
{
	char h[200] = "";
	if (traceparent != NULL)
		snprintf(h, sizeof h, "traceparent: %s\r\n", traceparent);
	struct lf_h_resp r;
	int st = lf_h_http(d.port, "GET", path, h[0] ? h : NULL, NULL, &r) == 0 ? r.status : -1;
	lf_h_resp_free(&r);
	return st;
}

static void test_sampled_request(void)
{
	const char *tid = "4bf92f3577b34da6a3ce929d0e0e4736";
	char tp[80], path[96];
	snprintf(tp, sizeof tp, "00-%s-00f067aa0ba902b7-01", tid);
	snprintf(path, sizeof path, "/api/accounts/%s", funded);
	/* with a tracestate, kept on the request's span */
	char h0[300];
	snprintf(h0, sizeof h0,
		 "traceparent: %s\r\ntracestate: rojo=00f067aa0ba902b7,congo=t61rcWkgMzE\r\n", tp);
	struct lf_h_resp r0;
	CU_ASSERT_EQUAL(lf_h_http(d.port, "GET", path, h0, NULL, &r0), 0);
	CU_ASSERT_EQUAL(r0.status, 200);
	lf_h_resp_free(&r0);
	char trace[64];
	snprintf(trace, sizeof trace, "\"traceId\":\"%s\"", tid);
	const char *server[] = {trace,
				"\"parentSpanId\":\"00f067aa0ba902b7\"",
				"\"traceState\":\"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE\"",
				"\"name\":\"HTTP GET\"",
				"\"kind\":2",
				"\"intValue\":\"200\"",
				NULL};
	CU_ASSERT(span_with(server, 5000));
	char sid[17] = "", parent[48];
	CU_ASSERT_FATAL(span_id_of("\"parentSpanId\":\"00f067aa0ba902b7\"", sid));
	snprintf(parent, sizeof parent, "\"parentSpanId\":\"%s\"", sid);
	const char *db[] = {trace, parent, "\"name\":\"db job\"", "\"kind\":3", NULL};
	CU_ASSERT(span_with(db, 5000));

	/* a payment: Redis commands under the request too */
	const char *tid2 = "5bf92f3577b34da6a3ce929d0e0e4737";
	snprintf(tp, sizeof tp, "00-%s-10f067aa0ba902b8-01", tid2);
	char h[200], key[64], body[256];
	snprintf(h, sizeof h, "traceparent: %s\r\nIdempotency-Key: tr-%ld\r\n", tp, (long)getpid());
	snprintf(body, sizeof body,
		 "{\"fromAccountId\":\"%s\",\"toAccountId\":\"%s\",\"amount\":\"1.00\"}", funded,
		 other);
	(void)key;
	struct lf_h_resp r;
	CU_ASSERT_EQUAL(lf_h_http(d.port, "POST", "/api/payments", h, body, &r), 0);
	CU_ASSERT_EQUAL(r.status, 201);
	lf_h_resp_free(&r);
	snprintf(trace, sizeof trace, "\"traceId\":\"%s\"", tid2);
	const char *redis[] = {trace, "\"name\":\"redis ", "\"stringValue\":\"redis\"", NULL};
	CU_ASSERT(span_with(redis, 5000));
	const char *post[] = {trace, "\"name\":\"HTTP POST\"", "\"intValue\":\"201\"", NULL};
	CU_ASSERT(span_with(post, 5000));
}

static void test_not_sampled(void)
{
	char path[96];
	snprintf(path, sizeof path, "/api/accounts/%s", funded);
	const char *tid = "6bf92f3577b34da6a3ce929d0e0e4738";
	char tp[80];
	snprintf(tp, sizeof tp, "00-%s-20f067aa0ba902b9-00", tid);
	CU_ASSERT_EQUAL(get_with(path, tp), 200);
	/* malformed ones are ignored (sample_percent is 0 here: no trace) */
	CU_ASSERT_EQUAL(get_with(path, "00-zz-yy-01"), 200);
	CU_ASSERT_EQUAL(get_with(path, "00-00000000000000000000000000000000-20f067aa0ba902b9-01"),
			200);
	CU_ASSERT_EQUAL(get_with(path, NULL), 200);
	/* a sampled request after them: its spans arrive, theirs never did */
	const char *tid2 = "7bf92f3577b34da6a3ce929d0e0e4739";
	snprintf(tp, sizeof tp, "00-%s-30f067aa0ba902ba-01", tid2);
	CU_ASSERT_EQUAL(get_with(path, tp), 200);
	char trace[64];
	snprintf(trace, sizeof trace, "\"traceId\":\"%s\"", tid2);
	const char *server[] = {trace, "\"name\":\"HTTP GET\"", NULL};
	CU_ASSERT(span_with(server, 5000));
	CU_ASSERT_FALSE(any_with(tid));
	CU_ASSERT_FALSE(any_with("\"traceId\":\"00000000000000000000000000000000\""));
	/* every span here belongs to a traceparent we sent */
	pthread_mutex_lock(&C.mu);
	int foreign = 0;
	for (const char *s = C.bodies; s != NULL && (s = strstr(s, "\"traceId\":\"")) != NULL;
	     s++) {
		foreign += strncmp(s + 11, "4bf9", 4) != 0 && strncmp(s + 11, "5bf9", 4) != 0 &&
			   strncmp(s + 11, "7bf9", 4) != 0;
	}
	pthread_mutex_unlock(&C.mu);
	CU_ASSERT_EQUAL(foreign, 0);
}

static void test_slow_collector(void)
{
	char path[96];
	snprintf(path, sizeof path, "/api/accounts/%s", funded);
	C.slow = 1;
	long long dropped0 = -1;
	CU_ASSERT(lf_h_metric(d.port, "ledgerflow_trace_spans_dropped_total", &dropped0));
	int64_t t0 = lf_h_now_ms();
	int ok = 0, slowest = 0;
	for (int i = 0; i < 300; i++) {
		char tp[80];
		snprintf(tp, sizeof tp, "00-8bf92f3577b34da6a3ce929d0e0e%04x-40f067aa0ba902bb-01",
			 i);
		int64_t s = lf_h_now_ms();
		ok += get_with(path, tp) == 200;
		int took = (int)(lf_h_now_ms() - s);
		if (took > slowest)
			slowest = took;
	}
	int64_t total = lf_h_now_ms() - t0;
	CU_ASSERT_EQUAL(ok, 300);
	/* no request waited for the collector (4 s an answer) */
	CU_ASSERT(slowest < 1000);
	fprintf(stderr, "\n  300 requests with a stuck collector: %lld ms, slowest %d ms\n",
		(long long)total, slowest);
	/* spans past the queue (16) dropped and counted; the stuck export
	 * times out (1 s) and counts as failed */
	usleep(2500 * 1000);
	long long dropped = -1, failures = -1;
	CU_ASSERT(lf_h_metric(d.port, "ledgerflow_trace_spans_dropped_total", &dropped));
	CU_ASSERT(dropped > dropped0);
	CU_ASSERT(lf_h_metric(d.port, "ledgerflow_trace_export_failures_total", &failures));
	CU_ASSERT(failures >= 1);
	C.slow = 0;
}

static int setup(void)
{
	if (!collector_start())
		return 1;
	if (!lf_h_daemon_config(&fx.env, &d, fx.db, 1, NULL) ||
	    lf_h_ctl(&fx.env, &d, "migrate") != 0)
		return 1;
	char endpoint[100];
	snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%u/v1/traces", C.port);
	setenv("LEDGERFLOW_TRACING_ENDPOINT", endpoint, 1);
	setenv("LEDGERFLOW_TRACING_SAMPLE_PERCENT", "0", 1);
	setenv("LEDGERFLOW_TRACING_FLUSH_INTERVAL", "100ms", 1);
	setenv("LEDGERFLOW_TRACING_MAX_QUEUE", "16", 1);
	setenv("LEDGERFLOW_TRACING_TIMEOUT", "1s", 1);
	bool ok = lf_h_daemon_start(&fx.env, &d);
	unsetenv("LEDGERFLOW_TRACING_ENDPOINT");
	unsetenv("LEDGERFLOW_TRACING_SAMPLE_PERCENT");
	unsetenv("LEDGERFLOW_TRACING_FLUSH_INTERVAL");
	unsetenv("LEDGERFLOW_TRACING_MAX_QUEUE");
	unsetenv("LEDGERFLOW_TRACING_TIMEOUT");
	if (!ok || lf_h_account(d.port, "funded", "USD", "100.00", funded) != 201 ||
	    lf_h_account(d.port, "other", "USD", NULL, other) != 201) {
		fprintf(stderr, "test_tracing: daemon set-up failed; log %s\n", d.log);
		return 1;
	}
	return 0;
}

static void teardown(void)
{
	if (d.pid > 0)
		lf_h_daemon_stop(&d, SIGTERM, 15000);
	C.stop = 1;
	pthread_join(C.thread, NULL);
	close(C.lfd);
	free(C.bodies);
}

static const struct lf_test tracing_tests[] = {
	{"a sampled traceparent: the request's span, database and Redis spans under it",
	 test_sampled_request},
	{"unsampled, malformed or absent traceparent (sample_percent 0): no span",
	 test_not_sampled},
	{"a stuck collector costs requests nothing; spans dropped and counted",
	 test_slow_collector},
};

static const struct lf_suite suites[] = {{"tracing", LF_TESTS(tracing_tests)}};

int main(void)
{
	static const struct lf_h_fixture_opts opts = {
		.name = "tracing", .no_daemon = true, .setup = setup, .teardown = teardown};
	return lf_h_fixture_main(suites, LF_COUNT(suites), &opts);
}
