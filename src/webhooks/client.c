/*
 * webhooks/client.c - the HTTP client of the delivery process
 * (webhooks_int.h): one evhttp_connection per delivery (no connection is
 * kept between deliveries: each POST says Connection: close), a timeout
 * on every step of it, a bounded answer (its body is not read past 64 KiB,
 * nor its headers past 8 KiB), and for https:// a bufferevent_openssl
 * whose peer must present a certificate that chains to the CA store and
 * names the URL's host (a DNS name, SNI sent; or an IP address). The connection is freed from a
 * fresh event-loop turn, never inside its own callback.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "webhooks_int.h"

#define ANSWER_BODY_MAX (64 * 1024)
#define ANSWER_HEADERS_MAX (8 * 1024)

struct lf_wh_client {
	struct event_base *base;
	SSL_CTX *ssl;
};

struct post {
	struct lf_wh_client *c;
	struct evhttp_connection *conn;
	struct bufferevent *bev; /* owned by conn */
	bool tls;
	enum evhttp_request_error error;
	bool failed; /* error is set */
	lf_wh_done_fn done;
	void *arg;
	bool finished;
};

struct lf_wh_client *lf_wh_client_new(struct event_base *base, const char *ca_file, char *err,
				      size_t errlen)
{
	struct lf_wh_client *c = calloc(1, sizeof *c);
	SSL_CTX *ctx = c ? SSL_CTX_new(TLS_client_method()) : NULL;
	if (ctx == NULL) {
		snprintf(err, errlen, "out of memory, or no TLS client method");
		free(c);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (ca_file[0] ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1
		       : SSL_CTX_set_default_verify_paths(ctx) != 1) {
		snprintf(err, errlen, "cannot load the CA %s: %s", ca_file[0] ? ca_file : "store",
			 ERR_reason_error_string(ERR_get_error()));
		SSL_CTX_free(ctx);
		free(c);
		return NULL;
	}
	c->base = base;
	c->ssl = ctx;
	return c;
}

void lf_wh_client_free(struct lf_wh_client *c)
{
	if (c == NULL)
		return;
	SSL_CTX_free(c->ssl);
	free(c);
}

static bool is_ip_literal(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static void free_later(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct post *p = arg;
	if (p->conn != NULL)
		evhttp_connection_free(p->conn);
	free(p);
}

/* Why there was no answer, for the log. */
static const char *why_not(struct post *p, char *buf, size_t len)
{
	unsigned long e = p->tls ? bufferevent_get_openssl_error(p->bev) : 0;
	if (e != 0) {
		snprintf(buf, len, "tls: %s",
			 ERR_reason_error_string(e) ? ERR_reason_error_string(e)
						    : "handshake failed");
		return buf;
	}
	if (!p->failed)
		return "no answer";
	switch (p->error) {
	case EVREQ_HTTP_TIMEOUT: return "timeout";
	case EVREQ_HTTP_EOF: return p->tls ? "eof (or a TLS handshake refused)" : "eof";
	case EVREQ_HTTP_INVALID_HEADER: return "invalid answer";
	case EVREQ_HTTP_BUFFER_ERROR: return "connection failed";
	default: return "cancelled";
	}
}

static void finish(struct post *p, int status)
{
	if (p->finished)
		return;
	p->finished = true;
	char buf[200];
	p->done(status, status == 0 ? why_not(p, buf, sizeof buf) : "", p->arg);
	struct timeval now = {0, 0};
	if (event_base_once(p->c->base, -1, EV_TIMEOUT, free_later, p, &now) != 0)
		p->conn = NULL; /* leaked rather than freed inside its own callback */
}

static void on_answer(struct evhttp_request *req, void *arg)
{
	struct post *p = arg;
	finish(p, req != NULL ? evhttp_request_get_response_code(req) : 0);
}

static void on_error(enum evhttp_request_error e, void *arg)
{
	struct post *p = arg;
	p->error = e;
	p->failed = true;
	finish(p, 0);
}

bool lf_wh_post(struct lf_wh_client *c, const char *url, const char *event_id,
		const char *signature, const char *body, size_t len, int64_t timeout_ms,
		lf_wh_done_fn done, void *arg)
{
	struct evhttp_uri *u = evhttp_uri_parse(url);
	if (u == NULL)
		return false;
	const char *scheme = evhttp_uri_get_scheme(u), *host = evhttp_uri_get_host(u);
	bool tls = scheme != NULL && strcmp(scheme, "https") == 0;
	int port = evhttp_uri_get_port(u);
	char target[2100], hosthdr[300];
	const char *path = evhttp_uri_get_path(u), *query = evhttp_uri_get_query(u);
	snprintf(target, sizeof target, "%s%s%s", path && *path ? path : "/", query ? "?" : "",
		 query ? query : "");
	if (host == NULL || *host == '\0' || strlen(host) > 255) {
		evhttp_uri_free(u);
		return false;
	}
	if (port < 0)
		snprintf(hosthdr, sizeof hosthdr, "%s", host);
	else
		snprintf(hosthdr, sizeof hosthdr, "%s:%d", host, port);
	if (port < 0)
		port = tls ? 443 : 80;

	struct post *p = calloc(1, sizeof *p);
	struct bufferevent *bev = NULL;
	if (p != NULL && tls) {
		SSL *ssl = SSL_new(c->ssl);
		if (ssl != NULL) {
			/* a name is checked against DNS entries and sent as SNI; an
			 * address against the certificate's IP entries, no SNI */
			if (is_ip_literal(host)) {
				X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
			} else {
				SSL_set_tlsext_host_name(ssl, host);
				SSL_set1_host(ssl, host);
			}
			bev = bufferevent_openssl_socket_new(c->base, -1, ssl,
							     BUFFEREVENT_SSL_CONNECTING,
							     BEV_OPT_CLOSE_ON_FREE);
			if (bev == NULL)
				SSL_free(ssl);
			else /* framed by Content-Length: a close without
			      * close_notify truncates nothing we read */
				bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
		}
	} else if (p != NULL) {
		bev = bufferevent_socket_new(c->base, -1, BEV_OPT_CLOSE_ON_FREE);
	}
	struct evhttp_connection *conn =
		bev ? evhttp_connection_base_bufferevent_new(c->base, NULL, bev, host,
							     (unsigned short)port)
		    : NULL;
	evhttp_uri_free(u);
	if (conn == NULL) {
		if (bev != NULL)
			bufferevent_free(bev);
		free(p);
		return false;
	}
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	evhttp_connection_set_timeout_tv(conn, &tv);
	evhttp_connection_set_retries(conn, 0);
	evhttp_connection_set_max_body_size(conn, ANSWER_BODY_MAX);
	evhttp_connection_set_max_headers_size(conn, ANSWER_HEADERS_MAX);
	*p = (struct post){.c = c, .conn = conn, .bev = bev, .tls = tls, .done = done, .arg = arg};
	struct evhttp_request *req = evhttp_request_new(on_answer, p);
	if (req == NULL) {
		evhttp_connection_free(conn);
		free(p);
		return false;
	}
	evhttp_request_set_error_cb(req, on_error);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", hosthdr);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "User-Agent", "LedgerFlow-Webhooks/" PACKAGE_VERSION);
	evhttp_add_header(h, "Connection", "close");
	evhttp_add_header(h, "LedgerFlow-Event-Id", event_id);
	evhttp_add_header(h, "LedgerFlow-Signature", signature);
	evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	if (evhttp_make_request(conn, req, EVHTTP_REQ_POST, target) != 0) {
		/* evhttp freed the request */
		evhttp_connection_free(conn);
		free(p);
		return false;
	}
	return true;
}
