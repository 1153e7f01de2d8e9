/*
 * lf_dbpool.h - a worker's pool of MySQL connections. Each connection is
 * owned by one pool thread running blocking Connector/C calls; the event
 * loop only enqueues jobs and gets completions back through an eventfd, so
 * it never blocks on the database. See doc/design.md for why threads and
 * not the non-blocking API (which account reads use: lf_loopread.h).
 */
#ifndef LF_DBPOOL_H
#define LF_DBPOOL_H

#include <stdbool.h>
#include <stdint.h>

#include "lf_metrics.h"
#include "lf_store.h"

struct event_base;
struct lf_dbpool;
struct lf_metrics;

/* Runs on a pool thread. conn is NULL when no connection could be had
 * before the job's deadline (database unavailable). Return false when the
 * connection is broken and must be replaced. */
typedef bool (*lf_db_work_fn)(struct lf_store_conn *conn, void *arg);
/* Runs on the event loop thread after work. */
typedef void (*lf_db_done_fn)(void *arg);

/* max_queue bounds the jobs waiting for a thread (mysql.max_queue);
 * metrics (may be NULL) counts the jobs refused past it. batch_max and
 * batch_window_us: the most jobs of a batch kind run together, and how long
 * a thread waits for more after the first ([mysql] batch_max,
 * batch_window); batch_concurrency: how many threads run batches of one
 * kind at once ([mysql] batch_concurrency). */
struct lf_dbpool_limits {
	int max_queue;
	int batch_max;
	int64_t batch_window_us;
	int batch_concurrency;        /* threads running batches of one kind at once */
	int64_t failback_interval_ms; /* [mysql] failback_interval (several nodes) */
};
struct lf_dbpool *lf_dbpool_create(struct event_base *base, const struct lf_db_params *params,
				   int size, const struct lf_dbpool_limits *limits,
				   struct lf_metrics *metrics);
/* Queue a job. deadline_ms (monotonic) bounds the wait for a connection:
 * a job still queued then runs with conn == NULL. LF_OK: queued, done()
 * will run. LF_AGAIN: max_queue jobs are already waiting, nothing was
 * queued (answer 503 with Retry-After at once). LF_ERROR: the pool is
 * shutting down or out of memory, nothing queued. */
lf_rc lf_dbpool_submit(struct lf_dbpool *pool, lf_db_work_fn work, lf_db_done_fn done, void *arg,
		       int64_t deadline_ms) __attribute__((warn_unused_result));
/* Same, for work that may run again: when it reports a broken connection,
 * the pool reconnects and runs it once more on the fresh connection (while
 * the deadline allows). For reads, and for work that checks what a broken
 * attempt left behind before it writes again (payments resolve their key). */
lf_rc lf_dbpool_submit_rerun(struct lf_dbpool *pool, lf_db_work_fn work, lf_db_done_fn done,
			     void *arg, int64_t deadline_ms) __attribute__((warn_unused_result));
/* Work that may be done for several jobs at once: when a pool thread
 * takes such a job it also takes the jobs of the same kind already
 * waiting (and those arriving within the pool's batch window), up to the
 * pool's batch_max, and runs them together: args[0..n) are the jobs'
 * args in arrival order; conn is NULL when no connection could be had
 * (each job then learns so). Returns false when the connection broke: the
 * pool reconnects and runs the batch once more (as submit_rerun). */
struct lf_db_batch_kind {
	enum lf_metrics_batch_kind metric; /* its histogram in /metrics */
	bool (*work)(struct lf_store_conn *conn, void **args, int n);
};
lf_rc lf_dbpool_submit_batch(struct lf_dbpool *pool, const struct lf_db_batch_kind *kind,
			     lf_db_done_fn done, void *arg, int64_t deadline_ms)
	__attribute__((warn_unused_result));
/* A read replica's pool: jobs it cannot get a connection for (before
 * their deadline) are handed to fallback (the primary's pool, on the same
 * event loop, freed after this one) instead of running with conn == NULL. */
void lf_dbpool_set_fallback(struct lf_dbpool *pool, struct lf_dbpool *fallback);
/* A connection opened the way the pool's threads open theirs (the node
 * the pool writes through, failing over as they do, the same back-off and
 * log lines), for another owner (the event loop's reads, lf_loopread.h):
 * not counted in lf_dbpool_connected; the caller closes it. Blocking: call
 * it from a job's work, on a pool thread. *node: the node it reached. */
struct lf_store_conn *lf_dbpool_open(struct lf_dbpool *pool, int *node);
/* The node the pool writes through now (0 with a single host): a
 * connection of another node is to be replaced, as the threads do. */
int lf_dbpool_node(struct lf_dbpool *pool);
/* Connections currently established (for /readyz and logs). */
int lf_dbpool_connected(struct lf_dbpool *pool);
/* Stop the threads after their current job and free the pool; queued jobs
 * are completed with conn == NULL before it returns. */
void lf_dbpool_free(struct lf_dbpool *pool);

#endif
