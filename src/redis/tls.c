/*
 * redis/tls.c - TLS to Redis for a hiredis that cannot speak it ([redis]
 * tls = on). Debian 12's hiredis 0.14 has no TLS and no way to hand an
 * async context a socket of our own, so each worker runs a small relay:
 * it listens on a loopback port the kernel picks, hiredis connects there,
 * and the relay pipes that connection through a libevent OpenSSL
 * bufferevent to the real Redis, verifying its certificate (the CA file or
 * the system's, and the name: tls_server_name or host) and presenting a
 * client certificate when one is configured.
 *
 * The relay accepts exactly one connection: the one whose source port is
 * the local port of the socket hiredis has just connected with (the lead
 * tells it through lf_redis_tls_expect). Any other local process that
 * finds the port is closed at once and counted, so it can neither reach
 * Redis under our certificate nor read our traffic.
 *
 * A failure of the connection to Redis is not logged here: it is handed to
 * redis.c through the callbacks, with OpenSSL's or the resolver's words,
 * and logged there once with the connection's other failures. A refused
 * local connection is logged here (rate limited), where it happens.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "lf_config.h"
#include "lf_log.h"
#include "lf_redis.h"

/* Backpressure: past this much unsent data one side stops reading. */
#define RELAY_MAX_PENDING (1024 * 1024)

struct relay {
	struct lf_redis_tls *t;
	struct bufferevent *plain; /* hiredis's side, on loopback */
	struct bufferevent *tls;   /* Redis's side */
	bool up;
};

struct lf_redis_tls {
	struct event_base *base;
	const struct lf_config *cfg;
	SSL_CTX *ctx;
	struct evconnlistener *listener;
	struct evdns_base *dns; /* only for a host that is a name */
	unsigned port;          /* where the relay listens */
	unsigned expected;      /* source port of hiredis's socket; 0 none */
	char target_host[256];  /* where the relay connects: Redis, or the master */
	unsigned target_port;
	struct relay *relay; /* the one live relay, or NULL */
	lf_redis_tls_ready_cb on_ready;
	lf_redis_tls_failed_cb on_failed;
	void *arg;
};

/* The name the certificate must carry: tls_server_name, else the host the
 * relay connects to (the configured one, or the master a sentinel named). */
static const char *server_name(const struct lf_redis_tls *t)
{
	return t->cfg->redis_tls_server_name[0] ? t->cfg->redis_tls_server_name : t->target_host;
}

static bool is_ip_literal(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* OpenSSL's queued errors as one line (they are consumed). */
static void ssl_errors(char *err, size_t len, const char *what)
{
	unsigned long e = ERR_get_error();
	char one[256];
	if (e == 0) {
		snprintf(err, len, "%s", what);
		return;
	}
	ERR_error_string_n(e, one, sizeof one);
	snprintf(err, len, "%s: %s", what, one);
	ERR_clear_error();
}

SSL_CTX *lf_redis_tls_context(const struct lf_config *cfg, char *err, size_t len)
{
	ERR_clear_error();
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		ssl_errors(err, len, "cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	const char *ca = cfg->redis_tls_ca;
	if (ca[0] ? SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1
		  : SSL_CTX_set_default_verify_paths(ctx) != 1) {
		char what[300];
		snprintf(what, sizeof what, "redis.tls_ca: cannot load %.200s",
			 ca[0] ? ca : "the system's CA certificates");
		ssl_errors(err, len, what);
		goto fail;
	}
	if (cfg->redis_tls_cert[0]) {
		char what[300];
		if (SSL_CTX_use_certificate_chain_file(ctx, cfg->redis_tls_cert) != 1) {
			snprintf(what, sizeof what, "redis.tls_cert: cannot load %.200s",
				 cfg->redis_tls_cert);
			ssl_errors(err, len, what);
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(ctx, cfg->redis_tls_key, SSL_FILETYPE_PEM) != 1) {
			snprintf(what, sizeof what, "redis.tls_key: cannot load %.200s",
				 cfg->redis_tls_key);
			ssl_errors(err, len, what);
			goto fail;
		}
		if (SSL_CTX_check_private_key(ctx) != 1) {
			ssl_errors(err, len, "redis.tls_key does not match redis.tls_cert");
			goto fail;
		}
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

bool lf_redis_tls_check(const struct lf_config *cfg, FILE *errors)
{
	if (!cfg->redis_tls)
		return true;
	char err[600];
	SSL_CTX *ctx = lf_redis_tls_context(cfg, err, sizeof err);
	if (ctx == NULL) {
		if (errors)
			fprintf(errors, "%s\n", err);
		return false;
	}
	SSL_CTX_free(ctx);
	return true;
}

static void relay_free(struct relay *r)
{
	if (r == NULL)
		return;
	if (r->t->relay == r)
		r->t->relay = NULL;
	if (r->plain)
		bufferevent_free(r->plain);
	if (r->tls) {
		/* no close_notify wait: Redis does not need one, and it could
		 * hang on a dead peer */
		SSL *ssl = bufferevent_openssl_get_ssl(r->tls);
		if (ssl)
			SSL_set_shutdown(ssl, SSL_RECEIVED_SHUTDOWN);
		bufferevent_free(r->tls);
	}
	free(r);
}

/* Why the TLS side ended, in the words of whoever knows. */
static void tls_failure(struct relay *r, short what, char *err, size_t len)
{
	struct bufferevent *bev = r->tls;
	unsigned long e;
	char one[256];
	int dns = bufferevent_socket_get_dns_error(bev);
	SSL *ssl = bufferevent_openssl_get_ssl(bev);
	long verify = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
	if (dns != 0) {
		snprintf(err, len, "tls: cannot resolve %s: %s", r->t->target_host,
			 evutil_gai_strerror(dns));
	} else if (verify != X509_V_OK) {
		snprintf(err, len, "tls: certificate of %s not accepted: %s", server_name(r->t),
			 X509_verify_cert_error_string(verify));
	} else if ((e = bufferevent_get_openssl_error(bev)) != 0) {
		ERR_error_string_n(e, one, sizeof one);
		snprintf(err, len, "tls: %s", one);
		while (bufferevent_get_openssl_error(bev) != 0)
			;
	} else if (what & BEV_EVENT_EOF) {
		snprintf(err, len, "tls: %s by the server",
			 r->up ? "connection closed" : "handshake refused");
	} else {
		int se = EVUTIL_SOCKET_ERROR();
		snprintf(err, len, "tls: %s", se ? evutil_socket_error_to_string(se) : "error");
	}
}

static void relay_read(struct bufferevent *bev, void *arg);
static void relay_event(struct bufferevent *bev, short what, void *arg);

/* The side that had too much to send has drained: read its partner again. */
static void relay_drained(struct bufferevent *bev, void *arg)
{
	struct relay *r = arg;
	struct bufferevent *partner = bev == r->plain ? r->tls : r->plain;
	bufferevent_setcb(bev, relay_read, NULL, relay_event, r);
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	bufferevent_enable(partner, EV_READ);
}

static void relay_read(struct bufferevent *bev, void *arg)
{
	struct relay *r = arg;
	struct bufferevent *to = bev == r->plain ? r->tls : r->plain;
	struct evbuffer *out = bufferevent_get_output(to);
	evbuffer_add_buffer(out, bufferevent_get_input(bev));
	if (evbuffer_get_length(out) >= RELAY_MAX_PENDING) {
		bufferevent_setcb(to, relay_read, relay_drained, relay_event, r);
		bufferevent_setwatermark(to, EV_WRITE, RELAY_MAX_PENDING / 2, RELAY_MAX_PENDING);
		bufferevent_disable(bev, EV_READ);
	}
}

static void relay_event(struct bufferevent *bev, short what, void *arg)
{
	struct relay *r = arg;
	struct lf_redis_tls *t = r->t;
	if (bev == r->tls && (what & BEV_EVENT_CONNECTED)) {
		r->up = true;
		if (t->on_ready)
			t->on_ready(t->arg);
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)))
		return;
	if (bev == r->plain) {
		/* hiredis closed its end: the lead already knows */
		relay_free(r);
		return;
	}
	char err[400];
	tls_failure(r, what, err, sizeof err);
	relay_free(r);
	if (t->on_failed)
		t->on_failed(t->arg, err);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
		      void *arg)
{
	struct lf_redis_tls *t = arg;
	(void)l;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
	bool ours = t->expected != 0 && sa->sa_family == AF_INET && salen >= (int)sizeof *sin &&
		    sin->sin_addr.s_addr == htonl(INADDR_LOOPBACK) &&
		    ntohs(sin->sin_port) == t->expected;
	if (!ours || t->relay != NULL) {
		char peer[INET6_ADDRSTRLEN + 8] = "?";
		if (sa->sa_family == AF_INET)
			evutil_inet_ntop(AF_INET, &sin->sin_addr, peer, sizeof peer);
		lf_log_limited(
			LF_LOG_WARN, "redis_tls_refused", "redis_tls_relay_refused",
			"subsys=redis peer=%s port=%u reason=\"not this worker's connection\"",
			peer, sa->sa_family == AF_INET ? ntohs(sin->sin_port) : 0u);
		evutil_closesocket(fd);
		return;
	}
	t->expected = 0;
	struct relay *r = calloc(1, sizeof *r);
	SSL *ssl = SSL_new(t->ctx);
	char err[400];
	if (r == NULL || ssl == NULL) {
		free(r);
		SSL_free(ssl);
		evutil_closesocket(fd);
		if (t->on_failed)
			t->on_failed(t->arg, "tls: out of memory");
		return;
	}
	r->t = t;
	const char *name = server_name(t);
	if (is_ip_literal(name)) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name);
	} else {
		SSL_set_tlsext_host_name(ssl, name);
		SSL_set1_host(ssl, name);
	}
	r->plain = bufferevent_socket_new(t->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (r->plain == NULL) {
		evutil_closesocket(fd);
		SSL_free(ssl);
		free(r);
		if (t->on_failed)
			t->on_failed(t->arg, "tls: out of memory");
		return;
	}
	r->tls = bufferevent_openssl_socket_new(t->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
						BEV_OPT_CLOSE_ON_FREE);
	if (r->tls == NULL) {
		SSL_free(ssl);
		relay_free(r);
		if (t->on_failed)
			t->on_failed(t->arg, "tls: out of memory");
		return;
	}
	t->relay = r;
	bufferevent_openssl_set_allow_dirty_shutdown(r->tls, 1);
	bufferevent_setcb(r->plain, relay_read, NULL, relay_event, r);
	bufferevent_setcb(r->tls, relay_read, NULL, relay_event, r);
	bufferevent_enable(r->plain, EV_READ | EV_WRITE);
	bufferevent_enable(r->tls, EV_READ | EV_WRITE);
	/* an IP address connects at once; a name is resolved without
	 * blocking the loop */
	int rc = bufferevent_socket_connect_hostname(
		r->tls, is_ip_literal(t->target_host) ? NULL : t->dns, AF_UNSPEC, t->target_host,
		(int)t->target_port);
	if (rc != 0) {
		tls_failure(r, BEV_EVENT_ERROR, err, sizeof err);
		relay_free(r);
		if (t->on_failed)
			t->on_failed(t->arg, err);
	}
}

struct lf_redis_tls *lf_redis_tls_create(struct event_base *base, const struct lf_config *cfg,
					 lf_redis_tls_ready_cb on_ready,
					 lf_redis_tls_failed_cb on_failed, void *arg, char *err,
					 size_t len)
{
	struct lf_redis_tls *t = calloc(1, sizeof *t);
	if (t == NULL) {
		snprintf(err, len, "out of memory");
		return NULL;
	}
	t->base = base;
	t->cfg = cfg;
	t->on_ready = on_ready;
	t->on_failed = on_failed;
	t->arg = arg;
	t->ctx = lf_redis_tls_context(cfg, err, len);
	if (t->ctx == NULL)
		goto fail;
	/* a name to resolve (the host, or sentinels naming masters by name) */
	if (!is_ip_literal(cfg->redis_host) || cfg->redis_sentinels[0] != '\0') {
		t->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
		if (t->dns == NULL) {
			snprintf(err, len, "cannot set up the resolver for %s", cfg->redis_host);
			goto fail;
		}
	}
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	t->listener = evconnlistener_new_bind(base, on_accept, t,
					      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 4,
					      (struct sockaddr *)&sin, sizeof sin);
	if (t->listener == NULL) {
		snprintf(err, len, "cannot listen on loopback: %s",
			 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		goto fail;
	}
	struct sockaddr_in bound;
	socklen_t blen = sizeof bound;
	if (getsockname(evconnlistener_get_fd(t->listener), (struct sockaddr *)&bound, &blen) !=
	    0) {
		snprintf(err, len, "cannot read the relay's port");
		goto fail;
	}
	t->port = ntohs(bound.sin_port);
	return t;
fail:
	lf_redis_tls_free(t);
	return NULL;
}

unsigned lf_redis_tls_port(const struct lf_redis_tls *t)
{
	return t->port;
}

void lf_redis_tls_expect(struct lf_redis_tls *t, int fd, const char *host, unsigned port)
{
	snprintf(t->target_host, sizeof t->target_host, "%s", host);
	t->target_port = port;
	struct sockaddr_in me;
	socklen_t len = sizeof me;
	t->expected = 0;
	if (getsockname(fd, (struct sockaddr *)&me, &len) == 0 && me.sin_family == AF_INET)
		t->expected = ntohs(me.sin_port);
}

void lf_redis_tls_reset(struct lf_redis_tls *t)
{
	if (t == NULL)
		return;
	t->expected = 0;
	relay_free(t->relay);
}

void lf_redis_tls_free(struct lf_redis_tls *t)
{
	if (t == NULL)
		return;
	lf_redis_tls_reset(t);
	if (t->listener)
		evconnlistener_free(t->listener);
	if (t->dns)
		evdns_base_free(t->dns, 0);
	SSL_CTX_free(t->ctx);
	free(t);
}
