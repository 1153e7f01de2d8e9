/*
 * lf_replica.h - a worker's read replica ([mysql_replica]): a pool of its
 * own and a lag check once a second off the request path. Reads go there
 * while lf_replica_usable(); money is always decided on the primary.
 */
#ifndef LF_REPLICA_H
#define LF_REPLICA_H

#include <stdbool.h>
#include <stdint.h>

#include "lf_dbpool.h"

struct event_base;
struct lf_replica;

/* A pool of size connections to params' server(s), whose jobs fall back to
 * `primary` when it cannot connect, and the watcher thread. NULL on
 * failure (logged by the caller). */
struct lf_replica *lf_replica_create(struct event_base *base, const struct lf_db_params *params,
				     int size, const struct lf_dbpool_limits *limits,
				     int64_t max_lag_ms, struct lf_dbpool *primary,
				     struct lf_metrics *metrics);
/* The last check (at most a second old) found it replicating and under
 * max_lag. NULL: false. */
bool lf_replica_usable(const struct lf_replica *r);
struct lf_dbpool *lf_replica_pool(struct lf_replica *r);
/* Stop the watcher and the pool (before the primary's pool is freed). */
void lf_replica_free(struct lf_replica *r);

#endif
