/*
 * lf_dbpool.h - a worker's pool of MySQL connections. Each connection is
 * owned by one pool thread running blocking Connector/C calls; the event
 * loop only enqueues jobs and gets completions back through an eventfd, so
 * it never blocks on the database. See doc/design.md for why threads and
 * not the non-blocking API.
 */
#ifndef LF_DBPOOL_H
#define LF_DBPOOL_H

#include <stdbool.h>
#include <stdint.h>

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
 * metrics (may be NULL) counts the jobs refused past it. */
struct lf_dbpool *lf_dbpool_create(struct event_base *base, const struct lf_db_params *params,
				   int size, int max_queue, struct lf_metrics *metrics);
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
/* Connections currently established (for /readyz and logs). */
int lf_dbpool_connected(struct lf_dbpool *pool);
/* Stop the threads after their current job and free the pool; queued jobs
 * are completed with conn == NULL before it returns. */
void lf_dbpool_free(struct lf_dbpool *pool);

#endif
