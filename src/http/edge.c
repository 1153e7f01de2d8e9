/*
 * http/edge.c - the HTTP edge of a worker (lf_edge.h): one record per
 * accepted connection, created in evhttp's bufferevent callback, that
 * enforces max_connections, watches the input buffer for the first byte of
 * each request and the end of its header section, and closes the
 * connection when header_timeout (from the first byte) or body_timeout
 * (from the end of the headers) passes. Also the framing rules of a
 * dispatched request, the 431 decision for http/errors.c, pausing
 * accept() on EMFILE/ENFILE, and the accept balance between the workers.
 *
 * libevent 2.1 has no hook when evhttp creates or frees a server
 * connection. evhttp_set_bevcb() is called for each accepted socket before
 * the evhttp_connection exists; evhttp then makes that connection the
 * bufferevent's callback argument. A zero-delay event queued from the
 * bevcb (it runs before the loop next polls, so before any byte can be
 * read) reads it back with bufferevent_getcb(), checks it is the
 * connection that owns this bufferevent, and sets the close callback that
 * releases the record. doc/design.md, "The HTTP edge", says why this and
 * not an interposed libevent function.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "lf_app.h"
#include "lf_config.h"
#include "lf_edge.h"
#include "lf_log.h"
#include "lf_metrics.h"
#include "lf_time.h"
#include "lf_zone.h"

#define LF_EDGE_ACCEPT_PAUSE_MS 100 /* after accept() failed for want of fds */
#define LF_EDGE_LOG_EVERY_MS 10000  /* at most one line per kind of event */
#define LF_EDGE_BALANCE_CHECK_MS 5  /* a worker over its share looks again */
#define LF_EDGE_BALANCE_MAX_MS 100  /* and accepts again after this at most */

enum conn_phase {
	CONN_IDLE,     /* waiting for the first byte of a request */
	CONN_HEADERS,  /* header section under way: header_timeout runs */
	CONN_BODY,     /* headers complete, evhttp reads the body: body_timeout runs */
	CONN_HANDLING, /* dispatched or answered: no deadline of ours */
};

struct edge_conn {
	struct lf_edge *edge;
	struct bufferevent *bev;
	struct evhttp_connection *evcon; /* NULL until adopted */
	struct evbuffer_cb_entry *watch; /* on the input buffer; NULL if refused */
	struct event *timer;             /* the adoption, then the deadlines */
	evutil_socket_t fd;
	enum conn_phase phase;
	bool adopted, refused, used;
	/* the header scanner: bytes counted as evhttp counts them (lines
	 * without their CRLF or LF, plus the unfinished line) */
	size_t header_bytes;
	size_t line_len; /* bytes of the current line, a trailing CR included */
	bool cr;         /* the last byte was a CR */
	unsigned lines;  /* complete lines of this header section */
};

struct ratelog {
	int64_t last_ms;
	unsigned suppressed;
};

struct lf_edge {
	struct lf_app *app;
	struct lf_metrics *m;
	struct edge_conn **by_fd; /* adopted connections by socket */
	size_t cap;
	size_t open, used; /* admitted connections; those that sent a byte */
	struct evconnlistener *listener;
	struct event *resume;
	bool paused;            /* accept() failed for want of fds: resume waits */
	struct event *balance;  /* over its share of the host's connections */
	int64_t balanced_at_ms; /* when it stopped accepting for that */
	struct ratelog log_refused, log_timeout, log_accept;
};

static struct lf_edge *current;

struct lf_edge *lf_edge_current(void)
{
	return current;
}

static bool ratelog_due(struct ratelog *l)
{
	int64_t now = lf_time_monotonic_ms();
	if (l->last_ms != 0 && now - l->last_ms < LF_EDGE_LOG_EVERY_MS) {
		l->suppressed++;
		return false;
	}
	l->last_ms = now;
	return true;
}

static void arm(struct edge_conn *c, int64_t ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	evtimer_add(c->timer, &tv);
}

/* Forget the record (the connection itself is evhttp's business). */
static void conn_free(struct edge_conn *c)
{
	struct lf_edge *e = c->edge;
	if (c->watch != NULL)
		evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->watch);
	event_free(c->timer);
	if (c->fd >= 0 && (size_t)c->fd < e->cap && e->by_fd[c->fd] == c)
		e->by_fd[c->fd] = NULL;
	if (!c->refused) {
		assert(e->open > 0);
		e->open--;
		lf_metrics_gauge_add(&e->m->conn_open, -1);
	}
	if (c->used) {
		assert(e->used > 0);
		e->used--;
	}
	free(c);
}

/* Close the connection now: evhttp frees it (and its request, which no
 * handler has seen) and closes the socket. */
static void conn_close(struct edge_conn *c)
{
	struct evhttp_connection *evcon = c->evcon;
	evhttp_connection_set_closecb(evcon, NULL, NULL);
	conn_free(c);
	evhttp_connection_free(evcon);
}

static void on_close(struct evhttp_connection *evcon, void *arg)
{
	struct edge_conn *c = arg;
	assert(c->evcon == evcon);
	conn_free(c);
}

static void begin_headers(struct edge_conn *c)
{
	c->phase = CONN_HEADERS;
	c->header_bytes = c->line_len = 0;
	c->cr = false;
	c->lines = 0;
	if (!c->used) {
		c->used = true;
		c->edge->used++;
	}
	arm(c, c->edge->app->cfg->header_timeout_ms);
}

/* Feed bytes of the header section; returns how many were taken (fewer
 * than n when its end was among them: the rest is body or the next
 * request). The section ends with an empty line after the request line;
 * a line ends with LF or CRLF, as evbuffer_readln(EVBUFFER_EOL_CRLF) reads. */
static size_t scan_bytes(struct edge_conn *c, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* the bytes up to the next LF at once (memchr, not a byte loop:
		 * this runs over every header byte of every request) */
		const unsigned char *lf = memchr(p + i, '\n', n - i);
		size_t k = (lf != NULL ? (size_t)(lf - p) : n) - i;
		if (k > 0) {
			c->header_bytes += k;
			c->line_len += k;
			c->cr = p[i + k - 1] == '\r';
			i += k;
			if (i == n)
				break;
		}
		size_t content = c->line_len - (c->cr ? 1 : 0);
		if (c->cr)
			c->header_bytes--; /* the CR of a CRLF is not the line's */
		c->line_len = 0;
		c->cr = false;
		if (content == 0 && c->lines > 0) {
			c->phase = CONN_BODY;
			arm(c, c->edge->app->cfg->body_timeout_ms);
			return i + 1;
		}
		c->lines++;
	}
	return n;
}

/* Scan n bytes of buf from offset `from`, while the header section lasts. */
static void scan(struct edge_conn *c, struct evbuffer *buf, size_t from, size_t n)
{
	struct evbuffer_ptr pos;
	if (evbuffer_ptr_set(buf, &pos, from, EVBUFFER_PTR_SET) != 0)
		return;
	while (n > 0 && c->phase == CONN_HEADERS) {
		struct evbuffer_iovec v[4];
		int nv = evbuffer_peek(buf, (ev_ssize_t)n, &pos, v, 4);
		if (nv <= 0)
			return;
		size_t taken = 0;
		for (int i = 0; i < nv && i < 4 && taken < n && c->phase == CONN_HEADERS; i++) {
			size_t len = v[i].iov_len < n - taken ? v[i].iov_len : n - taken;
			taken += scan_bytes(c, v[i].iov_base, len);
		}
		if (taken == 0 || c->phase != CONN_HEADERS)
			return;
		n -= taken;
		if (evbuffer_ptr_set(buf, &pos, taken, EVBUFFER_PTR_ADD) != 0)
			return;
	}
}

static bool adopt(struct edge_conn *c);

static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	if (info->n_added == 0)
		return; /* evhttp consuming what it parsed */
	struct edge_conn *c = arg;
	if (!c->adopted && !adopt(c))
		return;
	if (c->phase == CONN_IDLE)
		begin_headers(c);
	if (c->phase != CONN_HEADERS)
		return;
	size_t len = evbuffer_get_length(buf);
	size_t n = info->n_added < len ? info->n_added : len;
	scan(c, buf, len - n, n);
}

/* Learn the evhttp_connection that owns c->bev (see the top of the file).
 * False when the record is gone: the connection was refused and closed,
 * or evhttp already dropped it while setting it up. */
static bool adopt(struct edge_conn *c)
{
	struct lf_edge *e = c->edge;
	event_del(c->timer);
	c->adopted = true;
	void *arg = NULL;
	bufferevent_getcb(c->bev, NULL, NULL, NULL, &arg);
	struct evhttp_connection *evcon = arg;
	if (evcon == NULL) {
		/* evhttp freed the connection in its own set-up (out of
		 * memory): bufferevent_free() cleared the callbacks; the
		 * memory lives until its finaliser, queued after us, runs */
		c->watch = NULL;
		conn_free(c);
		return false;
	}
	if (evhttp_connection_get_bufferevent(evcon) != c->bev ||
	    evhttp_connection_get_server(evcon) != e->app->http) {
		lf_error("edge_unexpected_libevent", "reason=\"a bufferevent's argument is not "
						     "its evhttp connection\"");
		abort();
	}
	c->evcon = evcon;
	c->fd = bufferevent_getfd(c->bev);
	if (c->refused) {
		lf_metrics_inc(&e->m->conn_refused);
		if (ratelog_due(&e->log_refused))
			lf_warn("connection_refused",
				"reason=max_connections max_connections=%d open=%zu suppressed=%u",
				e->app->cfg->max_connections, e->open, e->log_refused.suppressed);
		conn_close(c);
		return false;
	}
	if (c->fd >= 0 && (size_t)c->fd >= e->cap) {
		size_t ncap = e->cap ? e->cap : 256;
		while (ncap <= (size_t)c->fd)
			ncap *= 2;
		struct edge_conn **n = realloc(e->by_fd, ncap * sizeof *n);
		if (n == NULL) {
			lf_error("edge_out_of_memory", "fd=%d", (int)c->fd);
			conn_close(c);
			return false;
		}
		memset(n + e->cap, 0, (ncap - e->cap) * sizeof *n);
		e->by_fd = n;
		e->cap = ncap;
	}
	if (c->fd >= 0)
		e->by_fd[c->fd] = c;
	evhttp_connection_set_closecb(evcon, on_close, c);
	return true;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct edge_conn *c = arg;
	if (!c->adopted) {
		(void)adopt(c);
		return;
	}
	assert(c->phase == CONN_HEADERS || c->phase == CONN_BODY);
	struct lf_edge *e = c->edge;
	bool headers = c->phase == CONN_HEADERS;
	lf_metrics_inc(headers ? &e->m->conn_header_timeout : &e->m->conn_body_timeout);
	if (ratelog_due(&e->log_timeout))
		lf_info("connection_timeout", "phase=%s timeout_ms=%lld suppressed=%u",
			headers ? "headers" : "body",
			(long long)(headers ? e->app->cfg->header_timeout_ms
					    : e->app->cfg->body_timeout_ms),
			e->log_timeout.suppressed);
	conn_close(c);
}

/* ---- accept balance ----
 * The workers accept from one inherited socket, and whichever wakes first
 * takes the connection: a burst of connects can leave one worker with
 * half as many again as another (123 against 77 of wrk's 200), and its
 * clients then wait longer for every batch. A worker holding more than
 * its share of the host's open connections (the shared gauge over the
 * workers, plus an eighth) stops accepting until it is back within it,
 * as nginx's accept_disabled does. The gauge counts every live
 * connection (a dead worker's stay counted), so the worker with the
 * fewest is never over its share and always accepts; and a worker accepts
 * again after LF_EDGE_BALANCE_MAX_MS whatever the others hold. */
static bool over_share(const struct lf_edge *e)
{
	int64_t n = e->app->cfg->workers;
	if (n < 2 || e->listener == NULL)
		return false;
	int64_t share = __atomic_load_n(&e->m->conn_open, __ATOMIC_RELAXED) / n;
	int64_t slack = share / 8 > 4 ? share / 8 : 4;
	return (int64_t)e->open > share + slack;
}

static void balance_later(struct lf_edge *e)
{
	struct timeval tv = {0, LF_EDGE_BALANCE_CHECK_MS * 1000};
	evtimer_add(e->balance, &tv);
}

/* After an accept: stop accepting while over the share. */
static void balance_accepting(struct lf_edge *e)
{
	if (e->paused || evtimer_pending(e->balance, NULL) || !over_share(e))
		return;
	evconnlistener_disable(e->listener);
	e->balanced_at_ms = lf_time_monotonic_ms();
	lf_metrics_inc(&e->m->accept_balanced);
	balance_later(e);
}

static void on_balance(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct lf_edge *e = arg;
	if (e->listener == NULL || e->paused)
		return; /* no longer accepting, or on_resume will */
	if (over_share(e) && lf_time_monotonic_ms() - e->balanced_at_ms < LF_EDGE_BALANCE_MAX_MS) {
		balance_later(e);
		return;
	}
	evconnlistener_enable(e->listener);
}

/* evhttp_set_bevcb: a connection was accepted; its socket is not set yet. */
static struct bufferevent *on_accepted(struct event_base *base, void *arg)
{
	struct lf_edge *e = arg;
	struct edge_conn *c = calloc(1, sizeof *c);
	struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);
	struct event *timer = c != NULL ? evtimer_new(base, on_timer, c) : NULL;
	if (c == NULL || bev == NULL || timer == NULL) {
		/* evhttp makes its own bufferevent: served, not tracked */
		lf_error("edge_out_of_memory", "reason=\"connection record\"");
		free(c);
		if (bev != NULL)
			bufferevent_free(bev);
		if (timer != NULL)
			event_free(timer);
		return NULL;
	}
	c->edge = e;
	c->bev = bev;
	c->timer = timer;
	c->fd = -1;
	c->refused = e->open >= (size_t)e->app->cfg->max_connections;
	if (!c->refused) {
		c->watch = evbuffer_add_cb(bufferevent_get_input(bev), on_input, c);
		e->open++;
		lf_metrics_gauge_add(&e->m->conn_open, 1);
	}
	event_active(timer, EV_TIMEOUT, 1); /* adopt it before the next poll */
	balance_accepting(e);
	return bev;
}

static struct edge_conn *conn_of(const struct lf_edge *e, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
	if (e == NULL || fd < 0 || (size_t)fd >= e->cap)
		return NULL;
	struct edge_conn *c = e->by_fd[fd];
	return c != NULL && c->evcon == evcon ? c : NULL;
}

/* The reply is written: the next request's first byte may already be here. */
static void on_complete(struct evhttp_request *req, void *arg)
{
	(void)req;
	struct edge_conn *c = arg;
	c->phase = CONN_IDLE;
	evtimer_del(c->timer);
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t len = evbuffer_get_length(in);
	if (len > 0) {
		begin_headers(c);
		scan(c, in, 0, len);
	}
}

void lf_edge_request_begin(struct lf_edge *e, struct evhttp_request *req)
{
	struct edge_conn *c = conn_of(e, req);
	if (c == NULL)
		return;
	c->phase = CONN_HANDLING;
	evtimer_del(c->timer);
	evhttp_request_set_on_complete_cb(req, on_complete, c);
}

bool lf_edge_headers_too_large(const struct lf_edge *e, struct evhttp_request *req)
{
	/* the count stays until the next request: a section may arrive
	 * whole, its end seen here before evhttp parsed it */
	struct edge_conn *c = conn_of(e, req);
	return c != NULL && (c->phase == CONN_HEADERS || c->phase == CONN_BODY) &&
	       c->header_bytes > e->app->cfg->max_header_size;
}

size_t lf_edge_connections(const struct lf_edge *e)
{
	return e->open;
}

size_t lf_edge_connections_used(const struct lf_edge *e)
{
	return e->used;
}

/* ---- framing ---- */

static int count_header(struct evkeyvalq *h, const char *name, const char **value)
{
	int n = 0;
	for (struct evkeyval *kv = h->tqh_first; kv != NULL; kv = kv->next.tqe_next)
		if (strcasecmp(kv->key, name) == 0 && n++ == 0)
			*value = kv->value;
	return n;
}

/* 1*DIGIT (evhttp itself would take "+5" or " 5" through strtoll) */
static bool decimal(const char *s, bool *zero)
{
	size_t n = strspn(s, "0123456789");
	*zero = strspn(s, "0") == n;
	return n > 0 && s[n] == '\0';
}

const char *lf_edge_framing_error(struct evhttp_request *req)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *te = NULL, *cl = NULL, *host = NULL;
	int nte = count_header(in, "Transfer-Encoding", &te);
	int ncl = count_header(in, "Content-Length", &cl);
	int nhost = count_header(in, "Host", &host);
	bool cl_zero = true;
	if (nte > 1)
		return "Transfer-Encoding is repeated.";
	if (nte == 1 && strcasecmp(te, "chunked") != 0)
		return "Transfer-Encoding must be exactly chunked.";
	if (ncl > 1)
		return "Content-Length is repeated.";
	if (ncl == 1 && !decimal(cl, &cl_zero))
		return "Content-Length is not a decimal number.";
	if (nte == 1 && ncl == 1)
		return "Both Transfer-Encoding and Content-Length are present.";
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	if ((m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD || m == EVHTTP_REQ_DELETE) &&
	    (nte == 1 || !cl_zero))
		return "A GET, HEAD or DELETE request must not have a body.";
	if (req->major != 1 || req->minor > 1)
		return "Only HTTP/1.0 and HTTP/1.1 are served.";
	bool http11 = req->major == 1 && req->minor == 1;
	if (http11 && nhost == 0)
		return "An HTTP/1.1 request must have a Host header.";
	if (nhost > 1)
		return "Host is repeated.";
	return NULL;
}

/* ---- accepting ---- */

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct lf_edge *e = arg;
	e->paused = false;
	if (e->listener != NULL)
		evconnlistener_enable(e->listener);
}

/* accept() failed with something other than EAGAIN/EINTR/ECONNABORTED
 * (evconnlistener retries those): EMFILE, ENFILE, ENOBUFS, ENOMEM. The
 * listening socket stays readable, so carrying on would spin: pause. The
 * argument is evhttp's, not ours. */
static void on_accept_error(struct evconnlistener *lev, void *arg)
{
	(void)arg;
	int err = errno;
	struct lf_edge *e = current;
	evconnlistener_disable(lev);
	if (e == NULL || e->listener != lev)
		return;
	e->paused = true;
	evtimer_del(e->balance);
	lf_metrics_inc(&e->m->accept_errors);
	if (ratelog_due(&e->log_accept))
		lf_warn("accept_failed",
			"errno=%d error=\"%s\" paused_ms=%d open=%zu suppressed=%u", err,
			strerror(err), LF_EDGE_ACCEPT_PAUSE_MS, e->open, e->log_accept.suppressed);
	struct timeval tv = {0, LF_EDGE_ACCEPT_PAUSE_MS * 1000};
	evtimer_add(e->resume, &tv);
}

lf_rc lf_edge_watch_listener(struct lf_edge *e, struct evhttp_bound_socket *bound)
{
	struct evconnlistener *lev = evhttp_bound_socket_get_listener(bound);
	if (lev == NULL) {
		lf_error("worker_setup_failed", "reason=\"the bound socket has no listener\"");
		return LF_ERROR;
	}
	e->listener = lev;
	evconnlistener_set_error_cb(lev, on_accept_error);
	return LF_OK;
}

void lf_edge_unwatch_listener(struct lf_edge *e)
{
	if (e == NULL)
		return;
	if (e->listener != NULL)
		evconnlistener_set_error_cb(e->listener, NULL);
	e->listener = NULL;
	evtimer_del(e->resume);
	evtimer_del(e->balance);
}

struct lf_edge *lf_edge_create(struct lf_app *app)
{
	assert(current == NULL);
	ev_uint32_t v = event_get_version_number();
	if (v >> 16 != 0x0201) {
		lf_error("worker_setup_failed",
			 "reason=\"the HTTP edge needs libevent 2.1\" libevent=%s",
			 event_get_version());
		return NULL;
	}
	struct lf_edge *e = calloc(1, sizeof *e);
	if (e == NULL)
		return NULL;
	e->app = app;
	e->m = app->zone->metrics;
	e->resume = evtimer_new(app->base, on_resume, e);
	e->balance = evtimer_new(app->base, on_balance, e);
	if (e->resume == NULL || e->balance == NULL) {
		if (e->resume != NULL)
			event_free(e->resume);
		if (e->balance != NULL)
			event_free(e->balance);
		free(e);
		return NULL;
	}
	evhttp_set_bevcb(app->http, on_accepted, e);
	current = e;
	return e;
}

void lf_edge_free(struct lf_edge *e)
{
	if (e == NULL)
		return;
	/* evhttp_free() has closed every connection, and their close
	 * callbacks released the records */
	for (size_t i = 0; i < e->cap; i++)
		assert(e->by_fd[i] == NULL);
	free(e->by_fd);
	event_free(e->resume);
	event_free(e->balance);
	if (current == e)
		current = NULL;
	free(e);
}
