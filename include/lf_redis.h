/*
 * lf_redis.h - the worker's Redis client: one hiredis async connection on
 * the worker's event loop (never a blocking call), a timeout on every
 * command, and a circuit breaker: after an error or a timeout Redis is
 * skipped for breaker_cooldown, then probed again with a fresh connection.
 */
#ifndef LF_REDIS_H
#define LF_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct event_base;
struct lf_config;
struct lf_metrics;
struct redisReply;
struct lf_redis;

/* reply is NULL on error, timeout or disconnect; it is freed after the
 * callback returns. */
typedef void (*lf_redis_cb)(void *arg, struct redisReply *reply);

struct lf_redis *lf_redis_create(struct event_base *base, const struct lf_config *cfg,
				 struct lf_metrics *metrics);
/* Pending commands get their callback with NULL before this returns. */
void lf_redis_free(struct lf_redis *r);
/* Connected and the breaker is closed. */
bool lf_redis_up(const struct lf_redis *r);
/* Send argv (binary safe). Returns false (and never calls cb) when Redis
 * is down or the breaker is open: the caller goes on without Redis. */
bool lf_redis_command(struct lf_redis *r, lf_redis_cb cb, void *arg, int argc, const char **argv,
		      const size_t *argvlen);

/* ---- redis/sentinel.c: the master found through Redis Sentinel ---- */

struct lf_sentinel;
/* found: host:port of the master; else error says why no sentinel told */
typedef void (*lf_sentinel_cb)(void *arg, bool found, const char *host, unsigned port,
			       const char *error);
struct lf_sentinel *lf_sentinel_create(struct event_base *base, const struct lf_config *cfg,
				       lf_sentinel_cb cb, void *arg);
/* Ask the sentinels (one at a time) for [redis] master_name; cb later,
 * once. False when a question is already under way. */
bool lf_sentinel_ask(struct lf_sentinel *s);
void lf_sentinel_free(struct lf_sentinel *s);

/* ---- redis/tls.c: [redis] tls = on through a relay in the worker ---- */

struct ssl_ctx_st;
struct lf_redis_tls;
typedef void (*lf_redis_tls_ready_cb)(void *arg);
/* error: what went wrong, in OpenSSL's or the resolver's words */
typedef void (*lf_redis_tls_failed_cb)(void *arg, const char *error);

/* The client TLS context [redis] describes (CA, client certificate), or
 * NULL with the reason in err. */
struct ssl_ctx_st *lf_redis_tls_context(const struct lf_config *cfg, char *err, size_t len);
/* At start and reload: can that context be built? Prints why not. */
bool lf_redis_tls_check(const struct lf_config *cfg, FILE *errors);
/* A relay listening on 127.0.0.1 (port from lf_redis_tls_port); NULL with
 * the reason in err. on_ready: the TLS handshake of the current relay
 * completed; on_failed: it failed or the connection to Redis ended. */
struct lf_redis_tls *lf_redis_tls_create(struct event_base *base, const struct lf_config *cfg,
					 lf_redis_tls_ready_cb on_ready,
					 lf_redis_tls_failed_cb on_failed, void *arg, char *err,
					 size_t len);
unsigned lf_redis_tls_port(const struct lf_redis_tls *t);
/* fd: the socket hiredis has just connected to the relay; the relay
 * accepts only the connection coming from it, and carries it to
 * host:port (the configured Redis, or the master a sentinel named). */
void lf_redis_tls_expect(struct lf_redis_tls *t, int fd, const char *host, unsigned port);
/* Close the current relay, if any, without calling back. */
void lf_redis_tls_reset(struct lf_redis_tls *t);
void lf_redis_tls_free(struct lf_redis_tls *t);

#endif
