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

/* Runs on a pool thread. conn is NULL when no connection could be had
 * before the job's deadline (database unavailable). Return false when the
 * connection is broken and must be replaced. */
typedef bool (*lf_db_work_fn)(struct lf_store_conn *conn, void *arg);
/* Runs on the event loop thread after work. */
typedef void (*lf_db_done_fn)(void *arg);

struct lf_dbpool *lf_dbpool_create(struct event_base *base, const struct lf_db_params *params,
				   int size);
/* Queue a job. deadline_ms (monotonic) bounds the wait for a connection:
 * a job still queued then runs with conn == NULL. False if the pool is
 * shutting down (nothing queued). */
bool lf_dbpool_submit(struct lf_dbpool *pool, lf_db_work_fn work, lf_db_done_fn done, void *arg,
		      int64_t deadline_ms);
/* Same, for work that may run again: when it reports a broken connection,
 * the pool reconnects and runs it once more on the fresh connection (while
 * the deadline allows). For reads, and for work that checks what a broken
 * attempt left behind before it writes again (payments resolve their key). */
bool lf_dbpool_submit_rerun(struct lf_dbpool *pool, lf_db_work_fn work, lf_db_done_fn done,
			    void *arg, int64_t deadline_ms);
/* Connections currently established (for /readyz and logs). */
int lf_dbpool_connected(struct lf_dbpool *pool);
/* Stop the threads after their current job and free the pool; queued jobs
 * are completed with conn == NULL before it returns. */
void lf_dbpool_free(struct lf_dbpool *pool);

#endif
