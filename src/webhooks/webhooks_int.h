/*
 * webhooks/webhooks_int.h - private to src/webhooks/: the delivery
 * process's HTTP client (client.c), one POST per delivery over libevent's
 * evhttp_connection, plain for http:// and through bufferevent_openssl
 * for https:// with the peer's certificate and name verified.
 */
#ifndef LF_WEBHOOKS_INT_H
#define LF_WEBHOOKS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct lf_wh_client;

/* A client on base; ca_file "" for the system's CA store. NULL (the
 * reason in err) when TLS cannot be set up. */
struct lf_wh_client *lf_wh_client_new(struct event_base *base, const char *ca_file, char *err,
				      size_t errlen);
void lf_wh_client_free(struct lf_wh_client *c);

/* Called once per POST: status is the HTTP status, 0 when there was no
 * answer (connection refused, TLS failure, timeout); why then says which
 * ("timeout", "eof", "tls: <OpenSSL's reason>", ...), "" otherwise. */
typedef void (*lf_wh_done_fn)(int status, const char *why, void *arg);
/* POST body to url with the delivery's headers, within timeout_ms. False
 * when it could not even be started (done is then not called). */
bool lf_wh_post(struct lf_wh_client *c, const char *url, const char *event_id,
		const char *signature, const char *body, size_t len, int64_t timeout_ms,
		lf_wh_done_fn done, void *arg);

#endif
