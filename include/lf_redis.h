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

#endif
