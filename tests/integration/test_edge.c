/*
 * test_edge.c - the HTTP edge of the contract against a real ledgerflowd,
 * over raw sockets on 127.0.0.1: each framing rule answers 400
 * invalid_request with Connection: close, closes the connection and never
 * answers what was smuggled behind the request; an oversize header section
 * is 431 then close; header_timeout and body_timeout count from the first
 * byte while a normal client keeps being served; max_connections closes
 * the extra connections at once and serves the others; accept() out of
 * file descriptors does not spin; and an answer that arrives after the
 * request's deadline (a locked table) changes nothing and crashes nothing.
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <mysql.h>

#include "harness.h"
#include "../lf_cunit.h"

#define HEADER_TIMEOUT_MS 2000
#define BODY_TIMEOUT_MS 2000
#define REQUEST_TIMEOUT_MS 1000
#define MARGIN_MS 1000
#define CAP 3 /* max_connections of the capped daemon, per worker */

/* ---- raw sockets ---- */

static int raw_connect(unsigned port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read until the peer closes (true), or until nothing came for idle_ms.
 * buf is NUL-terminated; a reset counts as closed. */
static bool read_to_eof(int fd, char *buf, size_t cap, size_t *len, int idle_ms)
{
	*len = 0;
	buf[0] = '\0';
	for (int rounds = 0; rounds < 1000; rounds++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int n = poll(&p, 1, idle_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		char tmp[4096];
		ssize_t r = recv(fd, tmp, sizeof tmp, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == ECONNRESET;
		if (r == 0)
			return true;
		size_t take = (size_t)r < cap - 1 - *len ? (size_t)r : cap - 1 - *len;
		memcpy(buf + *len, tmp, take);
		*len += take;
		buf[*len] = '\0';
	}
	return false;
}

/* Is the connection closed by the server? (no wait) */
static bool peer_closed(int fd)
{
	char c;
	ssize_t r = recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
	return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static int count_status_lines(const char *s)
{
	int n = 0;
	/* "HTTP/1.x NNN ": a status line may follow the previous body on the
	 * same line; a detail that names HTTP/1.1 is not one */
	for (const char *p = s; (p = strstr(p, "HTTP/1.")) != NULL; p++) {
		int status, end = 0;
		if (sscanf(p, "HTTP/1.%*1[01] %3d %n", &status, &end) == 1 && end == 13)
			n++;
	}
	return n;
}

struct exchange {
	char buf[16384];
	size_t len;
	bool closed;
	int status;
	int responses;
	bool conn_close;
};

/* Send request bytes on a fresh connection, read everything until close. */
static void exchange(unsigned port, const char *req, size_t n, struct exchange *x)
{
	memset(x, 0, sizeof *x);
	int fd = raw_connect(port);
	CU_ASSERT_FATAL(fd >= 0);
	(void)lf_h_send_all(fd, req, n);
	x->closed = read_to_eof(fd, x->buf, sizeof x->buf, &x->len, 3000);
	close(fd);
	x->responses = count_status_lines(x->buf);
	if (sscanf(x->buf, "HTTP/1.%*d %d", &x->status) != 1)
		x->status = -1;
	char *hdr_end = strstr(x->buf, "\r\n\r\n");
	for (char *p = x->buf; hdr_end != NULL && (p = strstr(p, "\r\n")) != NULL && p < hdr_end;
	     p += 2)
		if (strncasecmp(p + 2, "Connection: close\r\n", 19) == 0)
			x->conn_close = true;
}

/* ---- framing ---- */

/* what a smuggler puts behind the request: it must never be answered */
#define SMUGGLED "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"

static void expect_rejected(const char *req, int status, const char *code, const char *detail)
{
	struct exchange x;
	exchange(fx.d.port, req, strlen(req), &x);
	CU_ASSERT_EQUAL(x.status, status);
	CU_ASSERT_EQUAL(x.responses, 1); /* the smuggled request is never answered */
	CU_ASSERT_TRUE(x.conn_close);
	CU_ASSERT_TRUE(x.closed); /* read returned 0: the server closed */
	CU_ASSERT_PTR_NOT_NULL(strstr(x.buf, "application/problem+json"));
	char c[80];
	snprintf(c, sizeof c, "\"code\":\"%s\"", code);
	if (strncmp(req, "HEAD ", 5) != 0) /* an answer to HEAD has no body */
		CU_ASSERT_PTR_NOT_NULL(strstr(x.buf, c));
	if (detail != NULL)
		CU_ASSERT_PTR_NOT_NULL(strstr(x.buf, detail));
	if (x.status != status || x.responses != 1 || !x.closed || !x.conn_close)
		fprintf(stderr, "request:\n%s\nresponse (closed=%d):\n%s\n", req, x.closed, x.buf);
}

static void test_transfer_encoding(void)
{
	expect_rejected(
		"POST /api/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
		"Transfer-Encoding: gzip, chunked\r\n\r\n" SMUGGLED,
		400, "invalid_request", "Transfer-Encoding must be exactly chunked");
	expect_rejected(
		"POST /api/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
		"Transfer-Encoding: identity\r\n\r\n" SMUGGLED,
		400, "invalid_request", "Transfer-Encoding must be exactly chunked");
	expect_rejected(
		"POST /api/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
		"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
		"0\r\n\r\n" SMUGGLED,
		400, "invalid_request", "Transfer-Encoding is repeated");
	expect_rejected(
		"POST /api/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
		"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" SMUGGLED,
		400, "invalid_request", "Both Transfer-Encoding and Content-Length");
}

static void test_content_length(void)
{
	expect_rejected(
		"POST /api/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
		"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}" SMUGGLED,
		400, "invalid_request", "Content-Length is repeated");
	expect_rejected(
		"POST /api/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
		"Content-Length: +2\r\n\r\n{}" SMUGGLED,
		400, "invalid_request", "Content-Length is not a decimal number");
	/* evhttp itself refuses what strtoll cannot read: the same answer */
	expect_rejected(
		"POST /api/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
		"Content-Length: 2x\r\n\r\n{}" SMUGGLED,
		400, "invalid_request", "Content-Length is not a decimal number");
}

static void test_body_on_get_head_delete(void)
{
	char req[512];
	/* the body is itself a request: answered as a second one behind a
	 * proxy that reuses the connection, unless the server closes */
	const char *methods[] = {"GET", "HEAD", "DELETE"};
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		snprintf(req, sizeof req,
			 "%s /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s",
			 methods[i], strlen(SMUGGLED), SMUGGLED);
		expect_rejected(req, 400, "invalid_request",
				i == 1 ? NULL /* HEAD: no body in the answer */
				       : "must not have a body");
	}
	expect_rejected("GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
			"0\r\n\r\n" SMUGGLED,
			400, "invalid_request", "must not have a body");
	/* Content-Length: 0 is no body */
	struct exchange x;
	const char *ok = "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
			 "Connection: close\r\n\r\n";
	exchange(fx.d.port, ok, strlen(ok), &x);
	CU_ASSERT_EQUAL(x.status, 200);
}

static void test_host(void)
{
	expect_rejected("GET /healthz HTTP/1.1\r\n\r\n" SMUGGLED, 400, "invalid_request",
			"must have a Host header");
	expect_rejected("GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" SMUGGLED, 400,
			"invalid_request", "Host is repeated");
	/* HTTP/1.0 needs no Host */
	struct exchange x;
	const char *ok = "GET /healthz HTTP/1.0\r\n\r\n";
	exchange(fx.d.port, ok, strlen(ok), &x);
	CU_ASSERT_EQUAL(x.status, 200);
	CU_ASSERT_TRUE(x.closed);
}

/* ---- 431 ---- */

static void test_headers_too_large(void)
{
	size_t big = 6000; /* max_header_size = 4K */
	char *req = malloc(big + 256);
	CU_ASSERT_FATAL(req != NULL);
	/* complete, incomplete, and a request line alone over the limit */
	int n = sprintf(req, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(req + n, 'a', big);
	strcpy(req + n + big, "\r\n\r\n" SMUGGLED);
	expect_rejected(req, 431, "headers_too_large", "larger than the server accepts");
	req[n + big] = '\0';
	expect_rejected(req, 431, "headers_too_large", NULL);
	n = sprintf(req, "GET /healthz?");
	memset(req + n, 'q', big);
	strcpy(req + n + big, " HTTP/1.1\r\nHost: x\r\n\r\n");
	expect_rejected(req, 431, "headers_too_large", NULL);
	free(req);
	/* under the limit but malformed: still 400 */
	expect_rejected("GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", 400,
			"invalid_request", NULL);
}

/* ---- deadlines ---- */

#define SLOW 50
#define SLOW_HEAD "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "

/* 50 connections trickle one header byte every 500 ms: each is closed
 * header_timeout after its first byte (not reset by the bytes), while a
 * normal client keeps getting 200s from /healthz. */
static void test_header_timeout(void)
{
	int fds[SLOW];
	int64_t first[SLOW], closed_at[SLOW];
	size_t sent[SLOW];
	char text[256];
	int n = snprintf(text, sizeof text, "%s", SLOW_HEAD);
	memset(text + n, 'a', sizeof text - (size_t)n - 1);
	text[sizeof text - 1] = '\0';
	for (int i = 0; i < SLOW; i++) {
		fds[i] = raw_connect(fx.d.port);
		CU_ASSERT_FATAL(fds[i] >= 0);
		first[i] = lf_h_now_ms();
		CU_ASSERT(lf_h_send_all(fds[i], text, 1));
		sent[i] = 1;
		closed_at[i] = 0;
	}
	int normal_ok = 0, normal_failed = 0, open = SLOW;
	int64_t start = lf_h_now_ms(), next_byte = start + 500;
	int64_t limit = start + HEADER_TIMEOUT_MS + MARGIN_MS + 2000;
	while (open > 0 && lf_h_now_ms() < limit) {
		struct lf_h_resp r;
		if (lf_h_http(fx.d.port, "GET", "/healthz", NULL, NULL, &r) == 0 && r.status == 200)
			normal_ok++;
		else
			normal_failed++;
		lf_h_resp_free(&r);
		bool trickle = lf_h_now_ms() >= next_byte;
		if (trickle)
			next_byte += 500;
		for (int i = 0; i < SLOW; i++) {
			if (closed_at[i] != 0)
				continue;
			bool gone = peer_closed(fds[i]);
			if (!gone && trickle && sent[i] < strlen(text))
				gone = !lf_h_send_all(fds[i], text + sent[i]++, 1);
			if (gone) {
				closed_at[i] = lf_h_now_ms();
				open--;
			}
		}
		usleep(20000);
	}
	CU_ASSERT_EQUAL(open, 0);
	for (int i = 0; i < SLOW; i++) {
		int64_t after = closed_at[i] - first[i];
		CU_ASSERT(closed_at[i] != 0);
		CU_ASSERT(after >= HEADER_TIMEOUT_MS - 100);
		CU_ASSERT(after <= HEADER_TIMEOUT_MS + MARGIN_MS);
		if (closed_at[i] == 0 || after < HEADER_TIMEOUT_MS - 100 ||
		    after > HEADER_TIMEOUT_MS + MARGIN_MS)
			fprintf(stderr, "slow connection %d closed after %lld ms\n", i,
				(long long)after);
		close(fds[i]);
	}
	CU_ASSERT_EQUAL(normal_failed, 0);
	CU_ASSERT(normal_ok > 20);
	long long timed_out = 0;
	CU_ASSERT(lf_h_metric(fx.d.port,
			      "ledgerflow_connections_timed_out_total{phase=\"headers\"}",
			      &timed_out));
	CU_ASSERT(timed_out >= SLOW);
}

/* Headers sent slowly but within the limit, then a keep-alive pause longer
 * than header_timeout, then pipelined requests: all served. */
static void test_deadline_per_request(void)
{
	int fd = raw_connect(fx.d.port);
	CU_ASSERT_FATAL(fd >= 0);
	const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	size_t half = strlen(req) / 2;
	CU_ASSERT(lf_h_send_all(fd, req, half));
	usleep(HEADER_TIMEOUT_MS * 1000 / 2);
	CU_ASSERT(lf_h_send_all(fd, req + half, strlen(req) - half));
	char buf[4096];
	size_t len;
	CU_ASSERT_FALSE(read_to_eof(fd, buf, sizeof buf, &len, 500));
	CU_ASSERT_EQUAL(count_status_lines(buf), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "HTTP/1.1 200"));
	usleep((HEADER_TIMEOUT_MS + 500) * 1000); /* idle: no deadline runs */
	CU_ASSERT_FALSE(peer_closed(fd));
	char two[256];
	snprintf(two, sizeof two, "%s%s", req, req);
	CU_ASSERT(lf_h_send_all(fd, two, strlen(two)));
	CU_ASSERT_FALSE(read_to_eof(fd, buf, sizeof buf, &len, 500));
	CU_ASSERT_EQUAL(count_status_lines(buf), 2);
	if (count_status_lines(buf) != 2)
		fprintf(stderr, "pipelined after a pause:\n%s\n", buf);
	close(fd);
}

/* Headers complete, the body trickled: closed body_timeout after the
 * headers, without an answer. */
static void test_body_timeout(void)
{
	int fd = raw_connect(fx.d.port);
	CU_ASSERT_FATAL(fd >= 0);
	const char *head = "POST /api/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: "
			   "application/json\r\nContent-Length: 200\r\n\r\n";
	CU_ASSERT(lf_h_send_all(fd, head, strlen(head)));
	int64_t start = lf_h_now_ms(), closed = 0;
	for (int i = 0; i < 40 && closed == 0; i++) {
		if (peer_closed(fd) || !lf_h_send_all(fd, " ", 1))
			closed = lf_h_now_ms();
		else
			usleep(200000);
	}
	CU_ASSERT(closed != 0);
	CU_ASSERT(closed - start >= BODY_TIMEOUT_MS - 100);
	CU_ASSERT(closed - start <= BODY_TIMEOUT_MS + MARGIN_MS);
	char buf[1024];
	size_t len;
	(void)read_to_eof(fd, buf, sizeof buf, &len, 200);
	CU_ASSERT_EQUAL(count_status_lines(buf), 0);
	close(fd);
	long long n = 0;
	CU_ASSERT(lf_h_metric(fx.d.port, "ledgerflow_connections_timed_out_total{phase=\"body\"}",
			      &n));
	CU_ASSERT(n >= 1);
}

/* ---- an answer after the deadline ---- */

/* KILL QUERY every statement of the daemon's that waits on the table lock
 * (the test user sees its own threads); returns how many. */
static int kill_blocked(MYSQL *side)
{
	char q[256];
	snprintf(q, sizeof q,
		 "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = '%s' AND "
		 "ID <> CONNECTION_ID() AND COMMAND = 'Query'",
		 fx.db);
	if (mysql_query(side, q) != 0)
		return -1;
	MYSQL_RES *res = mysql_store_result(side);
	if (res == NULL)
		return -1;
	long long ids[64];
	int n = 0;
	MYSQL_ROW row;
	while (n < 64 && (row = mysql_fetch_row(res)) != NULL)
		ids[n++] = atoll(row[0]);
	mysql_free_result(res);
	for (int i = 0; i < n; i++) {
		snprintf(q, sizeof q, "KILL QUERY %lld", ids[i]);
		(void)mysql_query(side, q);
	}
	return n;
}

/* The accounts table locked from a side connection: reads of it outlive
 * server.request_timeout and get the deadline's 503. Then their queries
 * are killed, so each completes late with a failure and goes the way of
 * a 503 for the database (send_unavailable, lf_decision_send, Retry-After)
 * on a request evhttp may have freed: nothing may be sent or counted, and
 * under the sanitizers nothing may be touched. */
static void test_answer_after_deadline(void)
{
	char id[37], to[37];
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "edge", "USD", NULL, id), 201);
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "edge-to", "USD", NULL, to), 201);
	pid_t before[8];
	int nw = lf_h_workers(fx.d.pid, before, 8);
	long long unavailable0 = -1, unavailable1 = -1;
	CU_ASSERT(lf_h_metric(fx.d.port, "ledgerflow_db_unavailable_total", &unavailable0));
	MYSQL *side = mysql_init(NULL);
	CU_ASSERT_FATAL(side != NULL);
	CU_ASSERT_FATAL(mysql_real_connect(side, fx.env.mysql_host, fx.env.mysql_user,
					   fx.env.mysql_password, fx.db, fx.env.mysql_port, NULL,
					   0) != NULL);
	CU_ASSERT_FATAL(mysql_query(side, "LOCK TABLES accounts WRITE") == 0);
	char path[128];
	snprintf(path, sizeof path, "/api/accounts/%s", id);
	for (int i = 0; i < 4; i++) {
		struct lf_h_resp r;
		int64_t t0 = lf_h_now_ms();
		CU_ASSERT_EQUAL(lf_h_http(fx.d.port, "GET", path, NULL, NULL, &r), 0);
		CU_ASSERT_EQUAL(r.status, 503);
		CU_ASSERT(lf_h_now_ms() - t0 < REQUEST_TIMEOUT_MS + MARGIN_MS);
		char v[16];
		CU_ASSERT(lf_h_header(&r, "Retry-After", v, sizeof v));
		lf_h_resp_free(&r);
	}
	struct lf_h_resp r;
	CU_ASSERT_EQUAL(lf_h_pay(fx.d.port, "edge-late-1", id, to, "1", &r), 503);
	lf_h_resp_free(&r);
	/* past every job's mysql.request_timeout (3 s): each read has failed
	 * by its own read timeout after its 503, or is killed now (not run
	 * again: its deadline passed) */
	usleep(3000 * 1000);
	CU_ASSERT(kill_blocked(side) >= 0);
	usleep(1000 * 1000);
	CU_ASSERT(lf_h_metric(fx.d.port, "ledgerflow_db_unavailable_total", &unavailable1));
	CU_ASSERT_EQUAL(unavailable1, unavailable0);
	mysql_query(side, "UNLOCK TABLES");
	mysql_close(side);
	usleep(500 * 1000);
	CU_ASSERT_EQUAL(lf_h_http(fx.d.port, "GET", path, NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	lf_h_resp_free(&r);
	pid_t after[8];
	CU_ASSERT_EQUAL(lf_h_workers(fx.d.pid, after, 8), nw);
	for (int i = 0; i < nw; i++)
		CU_ASSERT_EQUAL(before[i], after[i]);
	long long died = -1;
	CU_ASSERT(lf_h_metric(fx.d.port, "ledgerflow_workers_died_total", &died));
	CU_ASSERT_EQUAL(died, 0);
}

/* ---- a second daemon: max_connections ---- */

static void test_max_connections(void)
{
	struct lf_h_daemon c;
	char extra[128];
	snprintf(extra, sizeof extra, "[server]\nmax_connections = %d\n", CAP);
	CU_ASSERT_FATAL(lf_h_daemon_config(&fx.env, &c, fx.db, 2, extra));
	CU_ASSERT_FATAL(lf_h_daemon_start(&fx.env, &c));
	usleep(300 * 1000); /* the start-up probes' connections are gone */
	enum { N = 2 * CAP + 4 };
	int fds[N];
	for (int i = 0; i < N; i++) {
		fds[i] = raw_connect(c.port);
		CU_ASSERT_FATAL(fds[i] >= 0);
	}
	usleep(300 * 1000); /* "at once": well within this */
	int closed = 0;
	bool gone[N];
	for (int i = 0; i < N; i++)
		if ((gone[i] = peer_closed(fds[i])))
			closed++;
	/* per worker: the kernel spreads the connections as it likes, so at
	 * most 2 * CAP stay */
	CU_ASSERT(closed >= N - 2 * CAP);
	/* the ones kept are served */
	const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	for (int i = 0; i < N; i++) {
		if (gone[i])
			continue;
		char buf[2048];
		size_t len;
		CU_ASSERT(lf_h_send_all(fds[i], req, strlen(req)));
		(void)read_to_eof(fds[i], buf, sizeof buf, &len, 1000);
		CU_ASSERT_PTR_NOT_NULL(strstr(buf, "HTTP/1.1 200"));
	}
	long long refused = 0, open = -1;
	for (int i = 0; i < N; i++)
		if (!gone[i])
			close(fds[i]);
	usleep(300 * 1000);
	CU_ASSERT(lf_h_metric(c.port, "ledgerflow_connections_refused_total", &refused));
	CU_ASSERT_EQUAL(refused, closed);
	CU_ASSERT(lf_h_metric(c.port, "ledgerflow_connections_open", &open));
	CU_ASSERT(open >= 1 && open <= 2); /* the /metrics connection, maybe a probe */
	for (int i = 0; i < N; i++)
		if (gone[i])
			close(fds[i]);
	CU_ASSERT_EQUAL(lf_h_daemon_stop(&c, SIGTERM, 15000), 0);
}

/* ---- a third daemon: out of file descriptors ---- */

static long long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	unsigned long long ut = 0, st = 0;
	if (p == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

static void test_accept_emfile(void)
{
	struct lf_h_daemon e;
	CU_ASSERT_FATAL(lf_h_daemon_config(&fx.env, &e, fx.db, 1, NULL));
	struct rlimit old, low;
	CU_ASSERT_FATAL(getrlimit(RLIMIT_NOFILE, &old) == 0);
	low = old;
	low.rlim_cur = 64; /* inherited by the daemon */
	CU_ASSERT_FATAL(setrlimit(RLIMIT_NOFILE, &low) == 0);
	bool started = lf_h_daemon_start(&fx.env, &e);
	CU_ASSERT_FATAL(setrlimit(RLIMIT_NOFILE, &old) == 0);
	CU_ASSERT_FATAL(started);
	pid_t w;
	CU_ASSERT_FATAL(lf_h_workers(e.pid, &w, 1) == 1);
	enum { N = 100 };
	int fds[N];
	for (int i = 0; i < N; i++)
		fds[i] = raw_connect(e.port); /* completes in the backlog */
	usleep(300 * 1000);
	long long t0 = cpu_ticks(w);
	usleep(2000 * 1000);
	long long t1 = cpu_ticks(w);
	CU_ASSERT(t0 >= 0 && t1 >= 0);
	/* a busy loop would burn ~200 ticks in 2 s; pausing costs next to none */
	CU_ASSERT(t1 - t0 < 40);
	for (int i = 0; i < N; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	usleep(500 * 1000);
	long long errors = 0;
	CU_ASSERT(lf_h_metric(e.port, "ledgerflow_accept_errors_total", &errors));
	CU_ASSERT(errors > 0);
	CU_ASSERT(lf_h_log_count(&e, "msg=accept_failed") >= 1);
	CU_ASSERT(lf_h_log_count(&e, "msg=accept_failed") <= 2); /* rate-limited */
	struct lf_h_resp r;
	CU_ASSERT_EQUAL(lf_h_http(e.port, "GET", "/healthz", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(lf_h_daemon_stop(&e, SIGTERM, 15000), 0);
}

static const struct lf_test framing_tests[] = {
	{"Transfer-Encoding: not chunked, repeated, with Content-Length", test_transfer_encoding},
	{"Content-Length: repeated, malformed", test_content_length},
	{"a body on GET, HEAD, DELETE", test_body_on_get_head_delete},
	{"HTTP/1.1 without Host, Host repeated", test_host},
	{"431 headers_too_large then close", test_headers_too_large},
};
static const struct lf_test deadline_tests[] = {
	{"50 slow header senders closed, a normal client served", test_header_timeout},
	{"the deadline is per request, not per connection", test_deadline_per_request},
	{"a trickled body closed after body_timeout", test_body_timeout},
	{"a late result after the 503 changes nothing", test_answer_after_deadline},
};
/* The established connections to port that process pid holds: its
 * sockets' inodes among /proc/net/tcp's ESTABLISHED rows on that local
 * port (IPv4 loopback). -1 when /proc cannot be read. */
static int conns_of(pid_t pid, unsigned port)
{
	enum { MAXI = 512 };
	unsigned long inodes[MAXI];
	int ni = 0;
	FILE *f = fopen("/proc/net/tcp", "r");
	if (f == NULL)
		return -1;
	char line[512];
	while (fgets(line, sizeof line, f) != NULL && ni < MAXI) {
		unsigned lport, st;
		unsigned long ino;
		if (sscanf(line, " %*d: %*x:%x %*x:%*x %x %*x:%*x %*x:%*x %*x %*u %*u %lu", &lport,
			   &st, &ino) == 3 &&
		    lport == port && st == 1)
			inodes[ni++] = ino;
	}
	fclose(f);
	char dir[64];
	snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
	DIR *d = opendir(dir);
	if (d == NULL)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char path[320], link[64];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		ssize_t len = readlink(path, link, sizeof link - 1);
		unsigned long ino;
		if (len <= 0)
			continue;
		link[len] = '\0';
		if (sscanf(link, "socket:[%lu]", &ino) != 1)
			continue;
		for (int i = 0; i < ni; i++)
			if (inodes[i] == ino) {
				n++;
				break;
			}
	}
	closedir(d);
	return n;
}

/* Connections opened in a burst end up spread over the workers: none
 * holds more than its share plus the slack (an eighth, at least 4) and
 * the one accept that put it over, so each holds at least N / 2 - 5 of
 * N = 64 over 2 workers. Without the balance the worker that wakes first
 * takes most of a burst. */
static void test_accept_balance(void)
{
	struct lf_h_daemon c;
	CU_ASSERT_FATAL(lf_h_daemon_config(&fx.env, &c, fx.db, 2, ""));
	CU_ASSERT_FATAL(lf_h_daemon_start(&fx.env, &c));
	usleep(300 * 1000); /* the start-up probes' connections are gone */
	pid_t w[2];
	CU_ASSERT_FATAL(lf_h_workers(c.pid, w, 2) == 2);
	enum { N = 64 };
	int fds[N];
	for (int i = 0; i < N; i++) {
		fds[i] = raw_connect(c.port);
		CU_ASSERT_FATAL(fds[i] >= 0);
	}
	int got[2] = {0, 0};
	for (int tries = 0; tries < 100 && got[0] + got[1] < N; tries++) {
		usleep(20 * 1000); /* until both have accepted all of them */
		got[0] = conns_of(w[0], c.port);
		got[1] = conns_of(w[1], c.port);
	}
	CU_ASSERT_EQUAL(got[0] + got[1], N);
	CU_ASSERT(got[0] >= N / 2 - 5 && got[1] >= N / 2 - 5);
	/* every one of them is served */
	const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	for (int i = 0; i < N; i++) {
		char buf[2048];
		size_t len;
		CU_ASSERT(lf_h_send_all(fds[i], req, strlen(req)));
		(void)read_to_eof(fds[i], buf, sizeof buf, &len, 1000);
		CU_ASSERT_PTR_NOT_NULL(strstr(buf, "HTTP/1.1 200"));
		close(fds[i]);
	}
	CU_ASSERT_EQUAL(lf_h_daemon_stop(&c, SIGTERM, 15000), 0);
}

static const struct lf_test limit_tests[] = {
	{"a burst of connections is spread over the workers", test_accept_balance},
	{"max_connections: extra closed at once, others served", test_max_connections},
	{"accept() out of fds pauses, no busy loop", test_accept_emfile},
};
static const struct lf_suite suites[] = {
	{"framing", LF_TESTS(framing_tests)},
	{"deadlines", LF_TESTS(deadline_tests)},
	{"limits", LF_TESTS(limit_tests)},
};

int main(void)
{
	/* the harness's file already sets these: the environment overrides */
	setenv("LEDGERFLOW_SERVER_REQUEST_TIMEOUT", "1s", 1);
	setenv("LEDGERFLOW_SERVER_HEADER_TIMEOUT", "2s", 1);
	setenv("LEDGERFLOW_SERVER_BODY_TIMEOUT", "2s", 1);
	setenv("LEDGERFLOW_SERVER_MAX_HEADER_SIZE", "4K", 1);
	static const struct lf_h_fixture_opts opts = {.name = "edge", .seed = true};
	return lf_h_fixture_main(suites, LF_COUNT(suites), &opts);
}
