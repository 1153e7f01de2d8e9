/*
 * lf_loopread.h - account reads on the worker's event loop itself: one
 * connection per worker driven with Connector/C's non-blocking API, so a
 * GET /api/accounts/{id}, or a payment's look at accounts its worker has
 * not seen (asked with an admin `who`: currency and owner), costs no
 * hand-off to a pool thread and back. The
 * connection is opened (blocking connect, TLS, session setup) by a pool
 * thread of the pool it belongs to and handed to the loop; the reads
 * arriving while a query is in flight are answered together by the next
 * one (ST_GET_ACCOUNTS, the pool's batch read, each row scoped to its own
 * asker). Whenever it has no connection, or its query fails, the caller
 * takes the pool path: a read changes nothing, so rerunning it is safe.
 */
#ifndef LF_LOOPREAD_H
#define LF_LOOPREAD_H

#include <stdbool.h>
#include <stdint.h>

#include "lf_store.h"

struct event_base;
struct lf_dbpool;
struct lf_metrics;
struct lf_loopread;

/* Runs on the event loop. rc: LF_OK (*out filled: the caller clears it),
 * LF_DECLINED (no such account for this client), LF_LOST (its deadline
 * passed: answer as the pool does for a job past its deadline), LF_AGAIN
 * (the loop's query failed, logged once: take the pool path). */
typedef void (*lf_loopread_done_fn)(void *arg, lf_rc rc);

/* pool: the pool whose connect function opens the connection and whose
 * node it follows; max_waiting bounds the reads queued behind a query
 * (past it the caller takes the pool path); metrics (may be NULL) counts
 * the batches in the account_read histogram. NULL when out of memory. */
struct lf_loopread *lf_loopread_create(struct event_base *base, struct lf_dbpool *pool,
				       int max_waiting, int64_t connect_deadline_ms,
				       struct lf_metrics *metrics);
/* Queue a read of account id for who, answered by done(arg, rc) on the
 * loop, never from within this call. false: no loop connection now (or
 * the queue is full): nothing was queued, take the pool path. */
bool lf_loopread_account(struct lf_loopread *lr, const lf_uuid *id, const struct lf_client *who,
			 struct lf_account *out, int64_t deadline_ms, lf_loopread_done_fn done,
			 void *arg);
/* MySQL's thread id of the loop connection, 0 without one (tests, logs). */
unsigned long lf_loopread_thread_id(const struct lf_loopread *lr);
/* Close the connection; the reads still queued are answered LF_AGAIN
 * (their done runs before this returns). NULL is fine. */
void lf_loopread_free(struct lf_loopread *lr);

#endif
