/*
 * lf_app.h - what one worker process runs with: its event loop, its HTTP
 * server, the configuration, the shared zone, its database pool and Redis
 * client, and its drain state. One per worker; handlers reach it through
 * their request context.
 */
#ifndef LF_APP_H
#define LF_APP_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct evhttp;
struct lf_config;
struct lf_zone;
struct lf_dbpool;
struct lf_replica;
struct lf_redis;
struct lf_account_cache;
struct lf_edge;
struct lf_secrets;

struct lf_app {
	struct event_base *base;
	struct evhttp *http;
	const struct lf_config *cfg;
	struct lf_zone *zone;
	struct lf_dbpool *db;
	struct lf_replica *replica;   /* [mysql_replica], or NULL: reads (lf_api_read_pool) */
	struct lf_loopread *loopread; /* account reads on the loop ([mysql] loop_reads), or NULL */
	struct lf_redis *redis;
	struct lf_account_cache *accounts; /* account id -> currency (immutable facts) */
	struct lf_edge *edge;              /* connection limits and deadlines */
	unsigned generation;
	bool draining;     /* replies say Connection: close */
	unsigned inflight; /* requests received and not yet answered */
	/* The server's secrets, loaded by the master before the fork; never
	 * logged. pepper is secrets->pepper (LF_AUTH_PEPPER_LEN bytes, the
	 * API-key digest key); secrets also holds the derived MAC secrets. */
	const struct lf_secrets *secrets;
	const uint8_t *pepper;
};

#endif
