/*
 * fuzz_http.c - libFuzzer harness for raw request bytes through the HTTP
 * edge: libevent's evhttp set up as a worker sets it up (http/worker.c
 * setup(): header and body limits, timeouts, allowed methods), the real
 * router, request contexts, handlers, idempotency tiers and the shm cache,
 * with the database and Redis down: lf_dbpool_submit*() run the job with
 * conn == NULL on the next loop turn (the pool's "no connection before the
 * deadline" contract) and lf_redis_command() refuses (Redis down). No
 * network: the server accepts on an abstract AF_UNIX socket; the input is
 * written by a client socket, which half-closes once the server is idle
 * (everything read, nothing in flight, nothing queued) and then reads
 * until the server closes.
 *
 * Properties: no crash, leak or hang (the server closes within 5 s); the
 * output is a well-formed sequence of HTTP/1.x responses; every request
 * handed to the router is answered exactly once and in order (each carries
 * the X-Fuzz-Seq header added before dispatch); at most one other response
 * (evhttp's own error) and nothing after a Connection: close; a request
 * with a repeated Content-Length or Content-Length plus Transfer-Encoding is
 * answered 400 with Connection: close; handlers never see headers or a
 * body over the configured limits; X-Request-Id is the client's when well
 * formed, else a UUID, and the access log line of each reply carries that
 * id and a trace id taken only from a well-formed traceparent.
 *
 * Known issues, tolerated unless LF_FUZZ_HTTP_STRICT=1 (then they fail):
 * a HEAD response carries the handler's body, without Content-Length
 * (corpus: head-readyz, head-pipelined); a request line "HTTP/0.0" or
 * "HTTP/2.7" or "HTTP/1.-1" is served and answered in that version
 * (corpus: version-0.0, version-negative), and an HTTP/0.x reply without
 * Content-Length leaves the connection open (corpus: version-0.0-keepalive).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/sockios.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "lf_account_cache.h"
#include "lf_app.h"
#include "lf_config.h"
#include "lf_dbpool.h"
#include "lf_handlers.h"
#include "lf_http.h"
#include "lf_log.h"
#include "lf_loopread.h"
#include "lf_redis.h"
#include "lf_worker.h"
#include "lf_zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define CHECK(cond)                              \
	do {                                     \
		if (!(cond))                     \
			failed(#cond, __LINE__); \
	} while (0)

#define MAX_SEQ 256           /* requests per input whose details are kept */
#define MAX_OUTPUT (8u << 20) /* more server output than this is a bug */
#define HANG_NS (5 * 1000000000LL)

struct seq_info {
	enum evhttp_cmd_type method;
	bool ambiguous;                  /* repeated CL, or CL with TE */
	char rid[LF_REQUEST_ID_MAX + 1]; /* the client's id if well formed, else "" */
	const char *rid_seen;            /* (parsing) */
	bool trace_strict;               /* traceparent is W3C version 00, well formed */
	char trace[33];                  /* its trace id when trace_strict */
};

static struct {
	struct lf_config cfg;
	struct lf_app app;
	struct sockaddr_un addr;
	socklen_t addrlen;
	int logfd;
	unsigned pending_jobs;
	/* per input */
	unsigned dispatched, closes;
	struct seq_info seq[MAX_SEQ + 1];
} G;

/* The server's output so far, shown (escaped, cut) when a property fails. */
static const char *shown;
static size_t shown_len;
/* LF_FUZZ_HTTP_STRICT=1: also fail on the known issues (see the top) */
static bool strict;

static void __attribute__((noreturn)) failed(const char *what, int line)
{
	fprintf(stderr, "fuzz_http: property failed: %s (%s:%d)\n", what, __FILE__, line);
	if (shown != NULL) {
		fprintf(stderr, "fuzz_http: the server wrote %zu bytes:\n", shown_len);
		for (size_t i = 0; i < shown_len && i < 4096; i++) {
			unsigned char c = (unsigned char)shown[i];
			if (c == '\n' || (c >= 0x20 && c < 0x7f))
				fputc(c, stderr);
			else if (c != '\r')
				fprintf(stderr, "\\x%02x", c);
		}
		fputc('\n', stderr);
	}
	abort();
}

/* ---- stand-ins for the database pool, Redis and the worker ---- */

struct job {
	lf_db_work_fn work;
	lf_db_done_fn done;
	void *arg;
};

static void run_job(evutil_socket_t fd, short what, void *arg)
{
	struct job *j = arg;
	(void)fd;
	(void)what;
	j->work(NULL, j->arg); /* no connection before the deadline */
	j->done(j->arg);
	G.pending_jobs--;
	free(j);
}

lf_rc lf_dbpool_submit(struct lf_dbpool *pool, lf_db_work_fn work, lf_db_done_fn done, void *arg,
		       int64_t deadline_ms)
{
	(void)pool;
	(void)deadline_ms;
	struct job *j = malloc(sizeof *j);
	static const struct timeval now = {0, 0};
	CHECK(j != NULL);
	*j = (struct job){work, done, arg};
	CHECK(event_base_once(G.app.base, -1, EV_TIMEOUT, run_job, j, &now) == 0);
	G.pending_jobs++;
	return LF_OK;
}

lf_rc lf_dbpool_submit_rerun(struct lf_dbpool *pool, lf_db_work_fn work, lf_db_done_fn done,
			     void *arg, int64_t deadline_ms)
{
	return lf_dbpool_submit(pool, work, done, arg, deadline_ms);
}

/* A batch kind's work (the account reads) as a job of one. */
struct batch_job {
	const struct lf_db_batch_kind *kind;
	void *arg;
	lf_db_done_fn done_fn;
};

static bool run_batch_one(struct lf_store_conn *conn, void *arg)
{
	struct batch_job *b = arg;
	return b->kind->work(conn, &b->arg, 1);
}

static void batch_done(void *arg)
{
	struct batch_job *b = arg;
	lf_db_done_fn done = b->done_fn;
	void *a = b->arg;
	free(b);
	done(a);
}

lf_rc lf_dbpool_submit_batch(struct lf_dbpool *pool, const struct lf_db_batch_kind *kind,
			     lf_db_done_fn done, void *arg, int64_t deadline_ms)
{
	struct batch_job *b = malloc(sizeof *b);
	CHECK(b != NULL);
	*b = (struct batch_job){kind, arg, done};
	return lf_dbpool_submit(pool, run_batch_one, batch_done, b, deadline_ms);
}

/* No loop reads: every read takes the stand-in pool above (the module
 * would bring the real pool along). */
bool lf_loopread_account(struct lf_loopread *lr, const lf_uuid *id, const struct lf_client *who,
			 struct lf_account *out, int64_t deadline_ms, lf_loopread_done_fn done,
			 void *arg)
{
	(void)lr;
	(void)id;
	(void)who;
	(void)out;
	(void)deadline_ms;
	(void)done;
	(void)arg;
	return false;
}

/* No read replica (its module would bring the real pool along). */
bool lf_replica_usable(const struct lf_replica *r)
{
	(void)r;
	return false;
}

struct lf_dbpool *lf_replica_pool(struct lf_replica *r)
{
	(void)r;
	return NULL;
}

int lf_dbpool_connected(struct lf_dbpool *pool)
{
	(void)pool;
	return 0;
}

bool lf_redis_up(const struct lf_redis *r)
{
	(void)r;
	return false;
}

bool lf_redis_command(struct lf_redis *r, lf_redis_cb cb, void *arg, int argc, const char **argv,
		      const size_t *argvlen)
{
	(void)r, (void)cb, (void)arg, (void)argc, (void)argv, (void)argvlen;
	return false;
}

static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	(void)arg;
	G.closes++;
}

/* the router's edge is NULL here (no per-connection deadlines in this
 * harness); connections are counted as they close */
static void track_connection(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	if (evcon != NULL)
		evhttp_connection_set_closecb(evcon, on_conn_close, NULL);
}

/* ---- models of the header rules ---- */

static bool rid_well_formed(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > LF_REQUEST_ID_MAX)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") == n;
}

static bool lower_hex(const char *s, size_t n)
{
	return strspn(s, "0123456789abcdef") >= n;
}

/* W3C Trace Context, version 00: exactly 00-<32 hex>-<16 hex>-<2 hex>,
 * trace id and parent id not all zero. */
static bool traceparent_strict(const char *tp)
{
	return tp != NULL && strlen(tp) == 55 && strncmp(tp, "00-", 3) == 0 &&
	       lower_hex(tp + 3, 32) && tp[35] == '-' && lower_hex(tp + 36, 16) && tp[52] == '-' &&
	       lower_hex(tp + 53, 2) && strspn(tp + 3, "0") < 32 && strspn(tp + 36, "0") < 16;
}

static bool is_uuid(const char *s, size_t n)
{
	if (n != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !lower_hex(s + i, 1))
			return false;
	}
	return true;
}

/* ---- the server ---- */

static void on_request(struct evhttp_request *req, void *arg)
{
	(void)arg;
	track_connection(req);
	unsigned seq = ++G.dispatched;
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	size_t hsize = 0;
	int ncl = 0, nte = 0;
	for (struct evkeyval *kv = in->tqh_first; kv != NULL; kv = kv->next.tqe_next) {
		hsize += strlen(kv->key) + strlen(kv->value);
		ncl += strcasecmp(kv->key, "Content-Length") == 0;
		nte += strcasecmp(kv->key, "Transfer-Encoding") == 0;
	}
	CHECK(hsize <= G.cfg.max_header_size);
	CHECK(evbuffer_get_length(evhttp_request_get_input_buffer(req)) <= G.cfg.max_body_size);
	if (seq <= MAX_SEQ) {
		struct seq_info *s = &G.seq[seq];
		memset(s, 0, sizeof *s);
		s->method = evhttp_request_get_command(req);
		s->ambiguous = ncl > 1 || (ncl == 1 && nte > 0);
		const char *rid = evhttp_find_header(in, "X-Request-Id");
		if (rid != NULL && rid_well_formed(rid))
			memcpy(s->rid, rid, strlen(rid) + 1);
		const char *tp = evhttp_find_header(in, "traceparent");
		s->trace_strict = traceparent_strict(tp);
		if (s->trace_strict)
			memcpy(s->trace, tp + 3, 32);
	}
	char v[16];
	snprintf(v, sizeof v, "%u", seq);
	evhttp_add_header(evhttp_request_get_output_headers(req), "X-Fuzz-Seq", v);
	lf_router_dispatch(req, &G.app);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	const char *sh = getenv("LF_FUZZ_HTTP_STRICT");
	strict = sh != NULL && strcmp(sh, "1") == 0;
	lf_config_defaults(&G.cfg);
	G.cfg.access_log = true;
	/* the gate would need a key lookup, which a database that is down
	 * answers 503: the edge, the router and the handlers are what is
	 * fuzzed here (the gate's parsing of Authorization is unit-tested) */
	G.cfg.auth_enabled = false;
	/* the log goes to a memfd the harness reads back after each input */
	G.logfd = memfd_create("lf-fuzz-http-log", MFD_CLOEXEC);
	CHECK(G.logfd >= 0);
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", G.logfd);
	CHECK(lf_log_open(path, "info"));
	lf_log_set_role("worker");

	struct lf_app *app = &G.app;
	app->cfg = &G.cfg;
	app->base = event_base_new();
	app->http = app->base ? evhttp_new(app->base) : NULL;
	CHECK(app->http != NULL);
	/* as worker.c setup() */
	evhttp_set_max_headers_size(app->http, (ev_ssize_t)G.cfg.max_header_size);
	evhttp_set_max_body_size(app->http, (ev_ssize_t)G.cfg.max_body_size);
	struct timeval idle = {.tv_sec = G.cfg.keepalive_timeout_ms / 1000,
			       .tv_usec = (G.cfg.keepalive_timeout_ms % 1000) * 1000};
	evhttp_set_timeout_tv(app->http, &idle);
	evhttp_set_allowed_methods(app->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
						      EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						      EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	evhttp_set_default_content_type(app->http, "application/json");
	evhttp_set_gencb(app->http, on_request, NULL);

	app->zone = lf_zone_create(1u << 20);
	app->accounts = lf_account_cache_create(4096);
	/* never dereferenced: the stand-ins above take their place */
	static char db_token, redis_token;
	app->db = (struct lf_dbpool *)&db_token;
	app->redis = (struct lf_redis *)&redis_token;
	app->generation = 1;
	CHECK(app->zone != NULL && app->accounts != NULL);

	/* an abstract AF_UNIX name: nothing on disk, nothing on the network */
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	CHECK(lfd >= 0);
	G.addr.sun_family = AF_UNIX;
	int n = snprintf(G.addr.sun_path + 1, sizeof G.addr.sun_path - 1, "lf-fuzz-http-%ld",
			 (long)getpid());
	G.addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	CHECK(bind(lfd, (struct sockaddr *)&G.addr, G.addrlen) == 0);
	CHECK(listen(lfd, 16) == 0);
	CHECK(evhttp_accept_socket_with_handle(app->http, lfd) != NULL);
	return 0;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool server_idle(int fd)
{
	int outq = 0;
	CHECK(ioctl(fd, SIOCOUTQ, &outq) == 0);
	return outq == 0 && G.pending_jobs == 0 && G.app.inflight == 0 &&
	       event_base_get_num_events(G.app.base, EVENT_BASE_COUNT_ACTIVE) == 0;
}

/* Send the input, half-close when the server is idle, read until it closes. */
static char *exchange(const uint8_t *data, size_t size, size_t *outlen)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	CHECK(connect(fd, (struct sockaddr *)&G.addr, G.addrlen) == 0);
	size_t written = 0, len = 0, cap = 4096;
	char *out = malloc(cap);
	bool half = false, eof = false;
	int64_t start = now_ns();
	CHECK(out != NULL);
	while (!eof) {
		CHECK(event_base_loop(G.app.base, EVLOOP_NONBLOCK) >= 0);
		if (written < size) {
			ssize_t n = send(fd, data + written, size - written, MSG_NOSIGNAL);
			if (n > 0)
				written += (size_t)n;
			else if (n < 0 && errno != EAGAIN)
				written = size; /* EPIPE: the server has closed */
		}
		for (;;) {
			if (cap - len < 4096) {
				CHECK(cap < MAX_OUTPUT);
				out = realloc(out, cap *= 2);
				CHECK(out != NULL);
			}
			ssize_t n = recv(fd, out + len, cap - len, 0);
			if (n > 0) {
				len += (size_t)n;
				continue;
			}
			if (n == 0 || errno == ECONNRESET)
				eof = true;
			else
				CHECK(errno == EAGAIN);
			break;
		}
		if (!half && !eof && written == size && server_idle(fd)) {
			CHECK(shutdown(fd, SHUT_WR) == 0);
			half = true;
		}
		if (now_ns() - start > HANG_NS) {
			fprintf(stderr,
				"fuzz_http: the server neither answered nor closed in 5 s "
				"(written %zu of %zu, half-closed %d, jobs %u, inflight %u)\n",
				written, size, half, G.pending_jobs, G.app.inflight);
			abort();
		}
	}
	close(fd);
	/* jobs of requests whose connection went away still complete */
	while (G.pending_jobs > 0) {
		CHECK(event_base_loop(G.app.base, EVLOOP_NONBLOCK) >= 0);
		CHECK(now_ns() - start <= HANG_NS);
	}
	*outlen = len;
	return out;
}

/* ---- checking what came back ---- */

/* Value of header `name` in the block hdr[0..n) (lines after the status
 * line), NUL-terminated into buf; NULL when absent. */
static const char *header(const char *hdr, size_t n, const char *name, char *buf, size_t blen)
{
	size_t nl = strlen(name);
	for (const char *p = hdr; p < hdr + n;) {
		const char *eol = memmem(p, (size_t)(hdr + n - p), "\r\n", 2);
		if (eol == NULL)
			eol = hdr + n;
		if ((size_t)(eol - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
			const char *v = p + nl + 1;
			while (v < eol && *v == ' ')
				v++;
			size_t vl = (size_t)(eol - v) < blen - 1 ? (size_t)(eol - v) : blen - 1;
			memcpy(buf, v, vl);
			buf[vl] = '\0';
			return buf;
		}
		p = eol + 2;
	}
	return NULL;
}

/* If p[0..n) starts with "HTTP/[-]<digits>.[-]<digits> <3 digits> ", the
 * offset of the status code (major and minor into *major, *minor); else 0. */
static size_t status_line(const char *p, size_t n, unsigned long *major, unsigned long *minor)
{
	size_t i = 5, d;
	if (n < 5 || memcmp(p, "HTTP/", 5) != 0)
		return 0;
	for (int part = 0; part < 2; part++) {
		unsigned long v = 0;
		if (i < n && p[i] == '-') /* evhttp echoes what sscanf("%d.%d") read */
			i++;
		for (d = 0; i < n && p[i] >= '0' && p[i] <= '9'; i++, d++)
			v = v < 100000 ? v * 10 + (unsigned long)(p[i] - '0') : v;
		if (d == 0 || i >= n || p[i] != (part == 0 ? '.' : ' '))
			return 0;
		*(part == 0 ? major : minor) = v;
		i++;
	}
	for (d = 0; d < 3; d++)
		if (i + d >= n || p[i + d] < '0' || p[i + d] > '9')
			return 0;
	return i + 3 < n && p[i + 3] == ' ' ? i : 0;
}

/* Offset of the first status line in p[0..n), or n. */
static size_t next_status_line(const char *p, size_t n)
{
	unsigned long major, minor;
	for (size_t i = 0; i < n; i++)
		if (status_line(p + i, n - i, &major, &minor) != 0)
			return i;
	return n;
}

static void check_responses(const char *out, size_t len)
{
	size_t pos = 0;
	unsigned next = 1, unmarked = 0;
	while (pos < len) {
		const char *r = out + pos;
		size_t rest = len - pos;
		/* evhttp says HTTP/0.0 to a request line it could not read */
		unsigned long major = 0, minor = 0;
		size_t code = status_line(r, rest, &major, &minor);
		CHECK(code != 0);
		bool v1x = major == 1 && minor <= 1;
		int status = atoi(r + code);
		CHECK(status >= 100 && status <= 599);
		const char *end = memmem(r, rest, "\r\n\r\n", 4);
		CHECK(end != NULL);
		const char *hdr = (const char *)memmem(r, rest, "\r\n", 2) + 2;
		size_t hlen = (size_t)(end + 2 - hdr);
		size_t off = (size_t)(end + 4 - r);
		char buf[256], ridbuf[LF_REQUEST_ID_MAX + 2];
		if (status < 200) {
			pos += off; /* 100 Continue: no body */
			continue;
		}
		/* no Content-Length: the body runs to the end of the connection;
		 * evhttp keeps an HTTP/0.x connection open after such a reply
		 * (known, with the version issue): the next status line ends it */
		const char *cl = header(hdr, hlen, "Content-Length", buf, sizeof buf);
		size_t body = cl != NULL ? strtoul(cl, NULL, 10) : rest - off;
		if (cl == NULL && !v1x && !strict)
			body = next_status_line(r + off, rest - off);
		bool closing = cl == NULL && (v1x || strict);
		const char *conn = header(hdr, hlen, "Connection", buf, sizeof buf);
		bool conn_close = conn != NULL && strcasecmp(conn, "close") == 0;
		closing = closing || conn_close;
		const char *seqh = header(hdr, hlen, "X-Fuzz-Seq", buf, sizeof buf);
		if (seqh == NULL) {
			/* evhttp's own error: the last thing on the connection */
			unmarked++;
			CHECK(unmarked == 1);
			CHECK(status >= 400);
			CHECK(off + body == rest || off == rest); /* no body for HEAD */
			break;
		}
		/* evhttp takes any HTTP/d.d request line and answers in that
		 * version ("HTTP/0.0 200 OK"): known, tolerated unless strict */
		if (strict)
			CHECK(v1x);
		unsigned seq = (unsigned)strtoul(seqh, NULL, 10);
		CHECK(seq == next); /* each dispatched request once, in order */
		next++;
		if (seq <= MAX_SEQ) {
			struct seq_info *s = &G.seq[seq];
			if (s->method == EVHTTP_REQ_HEAD) {
				/* libevent 2.1 writes whatever body the handler gave,
				 * without a Content-Length, even to HEAD: a client reads
				 * it as the start of the next response. Known (see the
				 * top); tolerated unless strict, the boundary found by
				 * the next status line. */
				body = next_status_line(r + off, rest - off);
				if (strict)
					CHECK(body == 0);
				closing = conn_close;
			}
			if (s->ambiguous)
				CHECK(status == 400 && closing);
			const char *rid = header(hdr, hlen, "X-Request-Id", ridbuf, sizeof ridbuf);
			CHECK(rid != NULL);
			if (s->rid[0] != '\0')
				CHECK(strcmp(rid, s->rid) == 0);
			else
				CHECK(is_uuid(rid, strlen(rid)));
		}
		CHECK(off + body <= rest);
		pos += off + body;
		if (closing)
			CHECK(pos == len); /* nothing after Connection: close */
	}
	CHECK(next - 1 == G.dispatched);
}

/* The value of `key` in a logfmt line (key=value or key="v \"q\""
 * pairs), or NULL; *n gets its length, quotes included. */
static const char *logfmt_value(const char *line, const char *key, size_t *n)
{
	size_t kl = strlen(key);
	for (const char *p = line; *p;) {
		const char *eq = strchr(p, '=');
		CHECK(eq != NULL); /* every token is key=value */
		const char *v = eq + 1, *e = v;
		if (*v == '"') {
			for (e = v + 1; *e && *e != '"'; e++)
				if (*e == '\\' && e[1] != '\0')
					e++;
			CHECK(*e == '"'); /* a quoted value ends */
			e++;
		} else {
			e = v + strcspn(v, " ");
		}
		CHECK(*e == ' ' || *e == '\0');
		if ((size_t)(eq - p) == kl && memcmp(p, key, kl) == 0) {
			*n = (size_t)(e - v);
			return v;
		}
		p = *e ? e + 1 : e;
	}
	return NULL;
}

/* One access line per reply, in order: its request_id and trace_id. */
static void check_access_log(void)
{
	off_t n = lseek(G.logfd, 0, SEEK_END);
	CHECK(n >= 0);
	char *log = malloc((size_t)n + 1);
	CHECK(log != NULL);
	CHECK(pread(G.logfd, log, (size_t)n, 0) == n);
	log[n] = '\0';
	CHECK(ftruncate(G.logfd, 0) == 0);
	unsigned seq = 0;
	for (char *line = log, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		CHECK(nl != NULL); /* whole lines only */
		*nl = '\0';
		size_t ml, rl, tl;
		const char *msg = logfmt_value(line, "msg", &ml);
		if (msg == NULL || ml != 6 || memcmp(msg, "access", 6) != 0)
			continue;
		seq++;
		CHECK(seq <= G.dispatched);
		if (seq > MAX_SEQ)
			continue;
		struct seq_info *s = &G.seq[seq];
		shown = line; /* a failure shows this line */
		shown_len = strlen(line);
		const char *rid = logfmt_value(line, "request_id", &rl);
		CHECK(rid != NULL);
		if (s->rid[0] != '\0')
			CHECK(rl == strlen(s->rid) && memcmp(rid, s->rid, rl) == 0);
		else
			CHECK(is_uuid(rid, rl));
		const char *tr = logfmt_value(line, "trace_id", &tl);
		if (tr != NULL) {
			CHECK(tl == 32 && lower_hex(tr, 32) && strspn(tr, "0") < 32);
			if (s->trace_strict)
				CHECK(memcmp(tr, s->trace, 32) == 0);
		} else {
			CHECK(!s->trace_strict);
		}
	}
	CHECK(seq == G.dispatched);
	free(log);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	G.dispatched = 0;
	G.closes = 0;
	size_t len;
	char *out = exchange(data, size, &len);
	shown = out;
	shown_len = len;
	check_responses(out, len);
	check_access_log();
	CHECK(G.closes <= 1);
	if (G.dispatched > 0)
		CHECK(G.closes == 1);
	CHECK(G.app.inflight == 0);
	shown = NULL;
	free(out);
	return 0;
}
