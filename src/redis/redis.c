/*
 * redis/redis.c - hiredis async client with command timeouts and a circuit
 * breaker (see lf_redis.h). hiredis 0.14 has no timeout for async
 * commands, so each command carries its own timer: when it fires the
 * caller is answered with NULL at once, the breaker opens and the
 * connection is dropped (hiredis then completes the other pending
 * commands with NULL). A late reply to an answered command is ignored.
 * A one-second tick reconnects once the cool-down has passed.
 *
 * With [redis] tls = on hiredis talks to the worker's TLS relay (tls.c)
 * instead of Redis: the connection counts as up once Redis has answered
 * through the relay's TLS connection, and a TLS failure the relay reports
 * is logged here like any other connection failure.
 *
 * With [redis] sentinels (sentinel.c) the master's address is asked of
 * the sentinels before connecting, and again every few seconds while
 * connected, after a READONLY error reply (the master became a replica)
 * and after the connection is lost; a new address drops the connection
 * and connects there (redis_master_changed).
 *
 * Scripts: an EVAL of a script this process has sent before goes out as
 * EVALSHA once the script is known to be in the server's cache (after its
 * first EVAL on the current connection answered), so the script's text
 * crosses the wire once per connection, not once per request. A NOSCRIPT
 * answer (the cache was flushed) fails that command like any error reply
 * and sends the text again next time.
 *
 * Failures are logged here, once each, with subsys=redis and rate limited
 * (lf_log.h): a connect failure or a lost connection with hiredis's text,
 * an error reply with Redis's text, a timeout, the breaker opening and
 * closing. A command keeps a copy of the log context current when it was
 * sent, made current again around its reply callback, so those lines and
 * whatever the callback logs name the request.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "lf_config.h"
#include "lf_log.h"
#include "lf_metrics.h"
#include "lf_redis.h"
#include "lf_time.h"
#include <openssl/sha.h>
#include "lf_trace.h"

enum conn_state { R_DOWN, R_CONNECTING, R_UP };

struct pending {
	struct lf_redis *r;
	lf_redis_cb cb;
	void *arg;
	struct event *timer;
	bool answered;
	char command[16];      /* argv[0], for the log (never the arguments) */
	struct lf_log_ctx log; /* the sender's context, by value */
	int64_t sent_us;       /* CLOCK_MONOTONIC, for its span */
	int script;            /* 1 + index in scripts[] for an EVAL/EVALSHA; 0 none */
};

struct lf_redis {
	struct event_base *base;
	const struct lf_config *cfg;
	struct lf_metrics *metrics;
	redisAsyncContext *ac;
	enum conn_state state;
	int64_t breaker_until_ms; /* monotonic; 0 = closed */
	int64_t connect_started_ms;
	struct event *tick;
	bool freeing;
	struct lf_redis_tls *tls; /* [redis] tls = on */
	bool tls_broken;          /* the relay could not be set up */
	bool hiredis_connected;   /* to the relay; waiting for its handshake */
	bool tls_up;              /* handshake done, Redis answered through it */
	unsigned scripts_loaded;  /* bit i: scripts[i] is in the server's cache */
	/* where Redis is: [redis] host/port, or the master a sentinel named */
	char host[256];
	unsigned port;
	struct lf_sentinel *sentinel; /* [redis] sentinels */
	bool have_master;             /* host/port came from a sentinel */
	bool reresolve;               /* ask the sentinels on the next tick */
	int64_t checked_ms;           /* when the sentinels were last asked */
};

#define SENTINEL_CHECK_MS 3000 /* while connected, ask again this often */

/* The scripts EVAL'd so far (the callers' static texts, by address). */
#define MAX_SCRIPTS 16
static struct {
	const char *text;
	char sha[41];
} scripts[MAX_SCRIPTS];
static int nscripts;

static int script_index(const char *text, size_t len)
{
	for (int i = 0; i < nscripts; i++)
		if (scripts[i].text == text)
			return i;
	if (nscripts == MAX_SCRIPTS)
		return -1;
	unsigned char md[SHA_DIGEST_LENGTH];
	if (SHA1((const unsigned char *)text, len, md) == NULL)
		return -1;
	for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
		snprintf(scripts[nscripts].sha + 2 * i, 3, "%02x", md[i]);
	scripts[nscripts].text = text;
	return nscripts++;
}

static void drop_connection(struct lf_redis *r);

/* A connection-level failure: msg names the event, detail is hiredis's
 * text (quoted: it may hold anything the peer sent). */
static void log_redis_error(const struct lf_redis *r, const char *msg, const char *detail)
{
	char h[300], q[300];
	lf_log_limited(LF_LOG_WARN, "redis_error", msg, "subsys=redis host=%s port=%u error=%s",
		       lf_log_quote(r->host, h, sizeof h), r->port,
		       lf_log_quote(detail ? detail : "", q, sizeof q));
}

static void open_breaker(struct lf_redis *r, const char *why)
{
	if (r->breaker_until_ms == 0) {
		lf_metrics_inc(&r->metrics->redis_breaker_open);
		lf_metrics_gauge_add(&r->metrics->redis_breaker_open_now, 1);
		lf_log_limited(LF_LOG_WARN, "redis_breaker", "redis_breaker_open",
			       "subsys=redis reason=\"%s\" cooldown_ms=%lld", why,
			       (long long)r->cfg->redis_breaker_cooldown_ms);
	}
	r->breaker_until_ms = lf_time_monotonic_ms() + r->cfg->redis_breaker_cooldown_ms;
}

static void mark_up(struct lf_redis *r)
{
	r->state = R_UP;
	if (r->breaker_until_ms != 0) {
		lf_metrics_gauge_add(&r->metrics->redis_breaker_open_now, -1);
		lf_log_limited(LF_LOG_INFO, "redis_breaker", "redis_breaker_closed",
			       "subsys=redis");
	}
	r->breaker_until_ms = 0;
	char h[300];
	lf_info("redis_connected", "subsys=redis host=%s port=%u tls=%s",
		lf_log_quote(r->host, h, sizeof h), r->port, r->tls ? "on" : "off");
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct lf_redis *r = ac->data;
	if (r == NULL || r->ac != ac)
		return;
	if (status != REDIS_OK) {
		/* hiredis frees the context after this callback */
		log_redis_error(r, "redis_connect_failed", ac->errstr);
		r->ac = NULL;
		r->state = R_DOWN;
		lf_redis_tls_reset(r->tls);
		lf_metrics_inc(&r->metrics->redis_errors);
		open_breaker(r, "connect failed");
		return;
	}
	r->hiredis_connected = true;
	if (r->tls == NULL || r->tls_up)
		mark_up(r);
}

/* Redis answered the first PING through the relay. */
static void on_tls_probe(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct lf_redis *r = privdata;
	redisReply *rep = reply;
	if (rep == NULL || r == NULL || r->ac != ac || rep->type != REDIS_REPLY_STATUS)
		return; /* a failure is reported by whoever saw it */
	r->tls_up = true;
	if (r->hiredis_connected && r->state == R_CONNECTING)
		mark_up(r);
}

/* The relay's TLS handshake is done. With TLS 1.3 a server that wants a
 * client certificate refuses only after that, so the connection counts
 * as up once Redis has answered a PING (after AUTH and SELECT). */
static void on_tls_ready(void *arg)
{
	struct lf_redis *r = arg;
	if (r->ac != NULL)
		redisAsyncCommand(r->ac, on_tls_probe, r, "PING");
}

/* The relay could not reach Redis, or its connection ended. */
static void on_tls_failed(void *arg, const char *error)
{
	struct lf_redis *r = arg;
	if (r->ac == NULL)
		return;
	bool was_up = r->state == R_UP;
	log_redis_error(r, was_up ? "redis_connection_lost" : "redis_connect_failed", error);
	lf_metrics_inc(&r->metrics->redis_errors);
	open_breaker(r, was_up ? "connection lost" : "connect failed");
	drop_connection(r);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct lf_redis *r = ac->data;
	if (r == NULL || r->ac != ac)
		return;
	r->ac = NULL;
	r->state = R_DOWN;
	lf_redis_tls_reset(r->tls);
	if (status != REDIS_OK && !r->freeing) {
		log_redis_error(r, "redis_connection_lost", ac->errstr);
		lf_metrics_inc(&r->metrics->redis_errors);
		open_breaker(r, "connection lost");
	}
}

/* AUTH refused (a wrong password, an unknown or disabled ACL user): say
 * so once, where it happens, and stay away for the cool-down instead of
 * failing every command with NOAUTH. */
static void on_auth(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct lf_redis *r = privdata;
	redisReply *rep = reply;
	if (rep == NULL || rep->type != REDIS_REPLY_ERROR || r == NULL || r->ac != ac)
		return;
	log_redis_error(r, "redis_auth_failed", rep->str);
	lf_metrics_inc(&r->metrics->redis_errors);
	open_breaker(r, "auth failed");
	redisAsyncDisconnect(ac);
}

static void on_sentinel(void *arg, bool found, const char *host, unsigned port, const char *error);

static void start_connect(struct lf_redis *r)
{
	if (r->tls_broken)
		return;
	if (r->sentinel != NULL && !r->have_master) {
		/* the address first; on_sentinel connects */
		r->state = R_CONNECTING;
		r->connect_started_ms = lf_time_monotonic_ms();
		(void)lf_sentinel_ask(r->sentinel);
		return;
	}
	/* with TLS, hiredis connects to the relay, which is on loopback */
	redisAsyncContext *ac =
		r->tls ? redisAsyncConnect("127.0.0.1", (int)lf_redis_tls_port(r->tls))
		       : redisAsyncConnect(r->host, (int)r->port);
	if (ac == NULL || ac->err) {
		log_redis_error(r, "redis_connect_failed", ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		open_breaker(r, "connect failed");
		return;
	}
	ac->data = r;
	if (redisLibeventAttach(ac, r->base) != REDIS_OK) {
		redisAsyncFree(ac);
		open_breaker(r, "attach failed");
		return;
	}
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	r->ac = ac;
	r->state = R_CONNECTING;
	r->hiredis_connected = false;
	r->tls_up = false;
	r->scripts_loaded = 0; /* perhaps another server now */
	if (r->tls)
		lf_redis_tls_expect(r->tls, ac->c.fd, r->host, r->port);
	r->connect_started_ms = lf_time_monotonic_ms();
	/* AUTH and SELECT are queued before any other command */
	if (r->cfg->redis_password[0] != '\0' || r->cfg->redis_user[0] != '\0') {
		/* AUTH [user] password (a Redis 6 ACL user when one is set; a
		 * nopass user takes any password, the empty one included) */
		const char *argv[] = {"AUTH", r->cfg->redis_user, r->cfg->redis_password};
		size_t argvlen[] = {4, strlen(r->cfg->redis_user), strlen(r->cfg->redis_password)};
		bool user = r->cfg->redis_user[0] != '\0';
		if (!user) {
			argv[1] = argv[2];
			argvlen[1] = argvlen[2];
		}
		redisAsyncCommandArgv(ac, on_auth, r, user ? 3 : 2, argv, argvlen);
	}
	if (r->cfg->redis_db != 0)
		redisAsyncCommand(ac, NULL, NULL, "SELECT %d", r->cfg->redis_db);
}

static void drop_connection(struct lf_redis *r)
{
	redisAsyncContext *ac = r->ac;
	if (ac == NULL)
		return;
	r->ac = NULL;
	r->state = R_DOWN;
	ac->data = NULL;
	lf_redis_tls_reset(r->tls);
	redisAsyncFree(ac); /* completes pending commands with NULL */
}

/* A sentinel named the master (or none could). */
static void on_sentinel(void *arg, bool found, const char *host, unsigned port, const char *error)
{
	struct lf_redis *r = arg;
	r->checked_ms = lf_time_monotonic_ms();
	if (!found) {
		if (r->state == R_UP)
			return; /* connected: keep the master we have */
		log_redis_error(r, "redis_connect_failed", error);
		lf_metrics_inc(&r->metrics->redis_errors);
		r->state = R_DOWN;
		open_breaker(r, "no sentinel named the master");
		return;
	}
	bool moved = !r->have_master || strcmp(r->host, host) != 0 || r->port != port;
	if (moved && r->have_master) {
		char a[300], b[300];
		lf_log_limited(LF_LOG_WARN, "redis_master", "redis_master_changed",
			       "subsys=redis from=%s:%u to=%s:%u",
			       lf_log_quote(r->host, a, sizeof a), r->port,
			       lf_log_quote(host, b, sizeof b), port);
	}
	snprintf(r->host, sizeof r->host, "%s", host);
	r->port = port;
	r->have_master = true;
	if (moved && r->ac != NULL)
		drop_connection(r); /* the old master: connect to the new one */
	if (r->ac == NULL) {
		r->state = R_DOWN;
		start_connect(r);
	}
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct lf_redis *r = arg;
	(void)fd;
	(void)what;
	int64_t now = lf_time_monotonic_ms();
	if (r->state == R_CONNECTING &&
	    now - r->connect_started_ms > r->cfg->redis_timeout_ms + 1000) {
		log_redis_error(r, "redis_connect_timeout", "no answer to the connection attempt");
		drop_connection(r);
		open_breaker(r, "connect timeout");
	}
	if (r->sentinel != NULL && r->reresolve && r->ac != NULL) {
		/* the master turned replica under us (READONLY) */
		r->reresolve = false;
		r->have_master = false;
		drop_connection(r);
		open_breaker(r, "the master became a replica");
	}
	if (r->sentinel != NULL && r->state == R_UP && now - r->checked_ms >= SENTINEL_CHECK_MS)
		(void)lf_sentinel_ask(r->sentinel); /* a failover elsewhere */
	if (r->state == R_DOWN && now >= r->breaker_until_ms) {
		if (r->sentinel != NULL)
			r->have_master = false; /* ask again after a failure */
		start_connect(r);
	}
}

struct lf_redis *lf_redis_create(struct event_base *base, const struct lf_config *cfg,
				 struct lf_metrics *metrics)
{
	struct lf_redis *r = calloc(1, sizeof *r);
	if (r == NULL)
		return NULL;
	r->base = base;
	r->cfg = cfg;
	r->metrics = metrics;
	snprintf(r->host, sizeof r->host, "%s", cfg->redis_host);
	r->port = cfg->redis_port;
	r->tick = event_new(base, -1, EV_PERSIST, on_tick, r);
	struct timeval second = {1, 0};
	if (r->tick == NULL || event_add(r->tick, &second) != 0) {
		lf_redis_free(r);
		return NULL;
	}
	if (cfg->redis_tls) {
		char err[600], q[700];
		r->tls = lf_redis_tls_create(base, cfg, on_tls_ready, on_tls_failed, r, err,
					     sizeof err);
		if (r->tls == NULL) {
			/* the master checked the same files at start or reload:
			 * they changed since; this worker goes on without Redis */
			r->tls_broken = true;
			lf_error("redis_tls_setup_failed", "subsys=redis error=%s",
				 lf_log_quote(err, q, sizeof q));
			return r;
		}
	}
	if (cfg->redis_sentinels[0] != '\0') {
		r->sentinel = lf_sentinel_create(base, cfg, on_sentinel, r);
		if (r->sentinel == NULL) {
			lf_redis_free(r);
			return NULL;
		}
	}
	start_connect(r);
	return r;
}

void lf_redis_free(struct lf_redis *r)
{
	if (r == NULL)
		return;
	r->freeing = true;
	if (r->breaker_until_ms != 0) /* this worker no longer counts */
		lf_metrics_gauge_add(&r->metrics->redis_breaker_open_now, -1);
	drop_connection(r);
	lf_sentinel_free(r->sentinel);
	lf_redis_tls_free(r->tls);
	if (r->tick)
		event_free(r->tick);
	free(r);
}

bool lf_redis_up(const struct lf_redis *r)
{
	return r != NULL && r->state == R_UP && r->breaker_until_ms == 0;
}

static void finish(struct pending *p, redisReply *reply)
{
	if (p->answered)
		return;
	p->answered = true;
	evtimer_del(p->timer);
	p->cb(p->arg, reply);
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct pending *p = privdata;
	(void)ac;
	redisReply *rep = reply;
	struct lf_log_scope scope;
	lf_log_scope_enter(&scope, &p->log);
	if (!p->answered && p->r != NULL) {
		if (rep == NULL) {
			/* the connection went away: that was logged where it did */
			lf_metrics_inc(&p->r->metrics->redis_errors);
		} else if (rep->type == REDIS_REPLY_ERROR) {
			lf_metrics_inc(&p->r->metrics->redis_errors);
			if (p->script && strncmp(rep->str, "NOSCRIPT", 8) == 0)
				p->r->scripts_loaded &= ~(1u << (p->script - 1));
			if (p->r->sentinel != NULL && strncmp(rep->str, "READONLY", 8) == 0)
				p->r->reresolve = true; /* the tick asks the sentinels */
			char q[300];
			lf_log_limited(LF_LOG_WARN, "redis_error", "redis_error_reply",
				       "subsys=redis command=%s error=%s", p->command,
				       lf_log_quote(rep->str, q, sizeof q));
		}
	}
	if (p->script && p->r != NULL && rep != NULL &&
	    !(rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0))
		p->r->scripts_loaded |= 1u << (p->script - 1);
	if (p->log.sampled && p->r != NULL) {
		char name[32];
		snprintf(name, sizeof name, "redis %s", p->command);
		struct lf_trace_attr attrs[] = {{"db.system", "redis", 0}};
		lf_trace_span(&p->log, 3, name, p->sent_us, lf_trace_now_us(),
			      rep == NULL || rep->type == REDIS_REPLY_ERROR, attrs, 1);
	}
	finish(p, rep);
	lf_log_scope_leave(&scope);
	event_free(p->timer);
	free(p);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;
	(void)fd;
	(void)what;
	struct lf_redis *r = p->r;
	struct lf_log_scope scope;
	lf_log_scope_enter(&scope, &p->log);
	lf_metrics_inc(&r->metrics->redis_errors);
	lf_log_limited(LF_LOG_WARN, "redis_error", "redis_timeout",
		       "subsys=redis command=%s timeout_ms=%lld", p->command,
		       (long long)r->cfg->redis_timeout_ms);
	finish(p, NULL);
	open_breaker(r, "command timeout");
	lf_log_scope_leave(&scope);
	drop_connection(r); /* frees p through on_reply(NULL) */
}

bool lf_redis_command(struct lf_redis *r, lf_redis_cb cb, void *arg, int argc, const char **argv,
		      const size_t *argvlen)
{
	if (!lf_redis_up(r) || r->ac == NULL)
		return false;
	struct pending *p = calloc(1, sizeof *p);
	if (p == NULL)
		return false;
	p->r = r;
	p->cb = cb;
	p->arg = arg;
	(void)lf_log_ctx_get(&p->log);
	p->sent_us = lf_trace_now_us();
	/* a command name is a short word: keep letters only */
	size_t n = 0;
	for (size_t i = 0; argc > 0 && i < argvlen[0] && n < sizeof p->command - 1; i++) {
		char ch = argv[0][i];
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z'))
			p->command[n++] = ch;
	}
	p->command[n] = '\0';
	/* a script already in the server's cache: by its SHA1 */
	const char *eval_argv[32];
	size_t eval_len[32];
	if (argc >= 2 && argc <= 32 && argvlen[0] == 4 && memcmp(argv[0], "EVAL", 4) == 0) {
		int i = script_index(argv[1], argvlen[1]);
		if (i >= 0) {
			p->script = i + 1;
			if (r->scripts_loaded & (1u << i)) {
				memcpy(eval_argv, argv, (size_t)argc * sizeof *argv);
				memcpy(eval_len, argvlen, (size_t)argc * sizeof *argvlen);
				eval_argv[0] = "EVALSHA";
				eval_len[0] = 7;
				eval_argv[1] = scripts[i].sha;
				eval_len[1] = 40;
				argv = eval_argv;
				argvlen = eval_len;
			}
		}
	}
	p->timer = evtimer_new(r->base, on_timeout, p);
	if (p->timer == NULL) {
		free(p);
		return false;
	}
	if (redisAsyncCommandArgv(r->ac, on_reply, p, argc, argv, argvlen) != REDIS_OK) {
		event_free(p->timer);
		free(p);
		return false;
	}
	struct timeval tv = {.tv_sec = r->cfg->redis_timeout_ms / 1000,
			     .tv_usec = (r->cfg->redis_timeout_ms % 1000) * 1000};
	evtimer_add(p->timer, &tv);
	return true;
}
