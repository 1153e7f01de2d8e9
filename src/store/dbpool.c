/*
 * store/dbpool.c - the worker's MySQL connection pool: `size` threads, each
 * owning one lf_store_conn, taking jobs from a shared FIFO and posting them
 * back to the event loop through an eventfd. A thread whose connection is
 * down reconnects before its next job, at most once per back-off period;
 * while the database is unreachable jobs fail fast (conn == NULL) instead
 * of queueing, so requests get their 503 within the request timeout.
 * A job carries a copy of the log context current when it was submitted
 * (lf_log.h), made current on the pool thread around its work and on the
 * event loop around its done callback, so every line logged for it (a
 * failed statement, a connect failure, a pool timeout) names its request.
 * The FIFO is bounded (mysql.max_queue): past it a job is refused at once
 * (LF_AGAIN, counted, logged rate-limited) so a flood of requests costs a
 * fast 503 each, not memory and a 503 at its deadline.
 *
 * Nodes: [mysql] host may list several (a Galera cluster). The pool
 * writes through one, `preferred` (at first the first that answers); a
 * thread that cannot reach it tries the next ones in order and the pool
 * moves there (db_failover). A watcher thread tries the earlier nodes every
 * failback_interval and, when one is back and ready, moves the pool back
 * (db_failback); each thread then reconnects before its next job. Every
 * host lists the nodes in the same order, so all write through one node
 * and certification conflicts stay rare.
 *
 * Fallback: a read replica's pool names the primary's; a job it cannot get
 * a connection for (before its deadline) moves to the primary's queue
 * instead of failing.
 *
 * Batches: a job of a batch kind (lf_dbpool_submit_batch) is taken
 * together with the jobs of its kind already waiting, in arrival order,
 * and, when fewer than batch_max, the thread waits batch_window_us once for
 * more (the group commit of payments; one query for concurrent account
 * reads). Members whose deadline passed are answered on their own with
 * conn == NULL. The batch runs under the first member's log context (the
 * others' lines name it); each member's done runs under its own. At most
 * batch_concurrency threads run batches of one kind at once: a thread
 * passes over the jobs of a kind at its limit (they wait to join the next
 * batch, which is what makes batches grow under load) and takes the next
 * job of another kind.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "lf_dbpool.h"
#include "lf_log.h"
#include "lf_metrics.h"
#include "lf_time.h"
#include "lf_trace.h"

#define LF_DBPOOL_RECONNECT_BACKOFF_MS 250

struct job {
	const struct lf_db_batch_kind *kind; /* a batchable job; else work */
	lf_db_work_fn work;
	lf_db_done_fn done;
	void *arg;
	int64_t deadline_ms;
	bool rerun; /* may run again after a broken connection */
	int64_t submitted_ms;
	struct lf_log_ctx log;           /* the submitter's context, by value */
	int64_t started_us, finished_us; /* on a thread (CLOCK_MONOTONIC): its span */
	int batch;                       /* jobs it ran with (1: alone) */
	struct job *next;
};

struct queue {
	struct job *head, *tail;
};

struct lf_dbpool {
	struct lf_db_params params;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct queue todo; /* guarded by lock */
	int queued;        /* jobs in todo; guarded by lock */
	int max_queue;
	int batch_max;
	int64_t batch_window_us;
	int batch_concurrency;
	int batch_running[LF_BATCH_KINDS]; /* threads running a batch of each kind; guarded by lock
					    */
	int last_batch[LF_BATCH_KINDS]; /* members of the last batch of each kind; guarded by lock
					 */
	struct lf_metrics *metrics;
	struct queue done;               /* guarded by lock */
	bool stopping;                   /* guarded by lock */
	int connected;                   /* guarded by lock */
	int64_t last_connect_failure_ms; /* guarded by lock */
	int efd;
	struct event *done_ev;
	int nthreads;
	pthread_t *threads;
	int nodes;
	int preferred; /* guarded by lock */
	int64_t failback_interval_ms;
	pthread_t watcher;
	pthread_cond_t watch_wake; /* the watcher's own: job wake-ups are not its */
	bool watching;
	struct lf_dbpool *fallback; /* a read replica's: the primary's pool */
};

static void queue_push(struct queue *q, struct job *j)
{
	j->next = NULL;
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
}

static struct job *queue_pop(struct queue *q)
{
	struct job *j = q->head;
	if (j) {
		q->head = j->next;
		if (q->head == NULL)
			q->tail = NULL;
	}
	return j;
}

/* Hand a finished job to the event loop. The eventfd is written only
 * when the done queue was empty: the loop drains the whole queue at each
 * wake-up, so a batch's jobs cost it one wake-up, not one each. */
static void wake_loop(struct lf_dbpool *pool)
{
	uint64_t one = 1;
	ssize_t w = write(pool->efd, &one, sizeof one);
	(void)w;
}

static void post_done(struct lf_dbpool *pool, struct job *j)
{
	pthread_mutex_lock(&pool->lock);
	bool was_empty = pool->done.head == NULL;
	queue_push(&pool->done, j);
	pthread_mutex_unlock(&pool->lock);
	if (was_empty)
		wake_loop(pool);
}

/* A job this pool has no connection for, to the fallback pool's queue
 * (past its max_queue: the job was admitted here already). The fallback
 * completes it through its own eventfd, on the same event loop. */
static bool forward(struct lf_dbpool *pool, struct job *j)
{
	struct lf_dbpool *to = pool->fallback;
	if (to == NULL)
		return false;
	pthread_mutex_lock(&to->lock);
	bool ok = !to->stopping;
	if (ok) {
		queue_push(&to->todo, j);
		to->queued++;
		pthread_cond_signal(&to->wake);
	}
	pthread_mutex_unlock(&to->lock);
	return ok;
}

/* Try to (re)connect unless the last attempt by any thread failed within
 * the back-off period: while the database is down, fail fast. */
static struct lf_store_conn *pool_connect(struct lf_dbpool *pool, int *node, bool counted)
{
	int64_t now = lf_time_monotonic_ms();
	pthread_mutex_lock(&pool->lock);
	bool backoff = pool->last_connect_failure_ms != 0 &&
		       now - pool->last_connect_failure_ms < LF_DBPOOL_RECONNECT_BACKOFF_MS;
	pthread_mutex_unlock(&pool->lock);
	if (backoff)
		return NULL;
	char err[256];
	pthread_mutex_lock(&pool->lock);
	int start = pool->preferred;
	pthread_mutex_unlock(&pool->lock);
	int got = start;
	struct lf_store_conn *c =
		lf_store_connect_node(&pool->params, start, false, &got, err, sizeof err);
	int from = -1;
	pthread_mutex_lock(&pool->lock);
	if (c == NULL) {
		pool->last_connect_failure_ms = lf_time_monotonic_ms();
	} else {
		pool->last_connect_failure_ms = 0;
		pool->connected += counted;
		if (got != pool->preferred) {
			from = pool->preferred;
			pool->preferred = got; /* every thread follows */
		}
	}
	pthread_mutex_unlock(&pool->lock);
	*node = got;
	if (from >= 0) {
		char a[256], b[256];
		unsigned pa = 0, pb = 0;
		lf_store_node_addr(&pool->params, from, a, sizeof a, &pa);
		lf_store_node_addr(&pool->params, got, b, sizeof b, &pb);
		lf_log_limited(LF_LOG_WARN, "db_failover", "db_failover",
			       "subsys=store from=%s:%u to=%s:%u reason=\"%s unreachable or not "
			       "ready\"",
			       a, pa, b, pb, a);
	}
	if (c == NULL) {
		char q[300], h[300];
		lf_log_limited(LF_LOG_WARN, "db_connect", "db_connect_failed",
			       "subsys=store host=%s port=%u error=%s",
			       lf_log_quote(pool->params.host, h, sizeof h), pool->params.port,
			       lf_log_quote(err, q, sizeof q));
	}
	return c;
}

static void drop_conn(struct lf_dbpool *pool, struct lf_store_conn **c)
{
	lf_store_close(*c);
	*c = NULL;
	pthread_mutex_lock(&pool->lock);
	pool->connected--;
	pthread_mutex_unlock(&pool->lock);
}

/* Move the waiting jobs of j's kind, oldest first, into batch[] (which
 * holds n already), up to max. Under the lock. */
static int gather(struct lf_dbpool *pool, struct job **batch, int n, int max)
{
	const struct lf_db_batch_kind *kind = batch[0]->kind;
	struct job **link = &pool->todo.head, *prev = NULL;
	while (*link != NULL && n < max) {
		struct job *x = *link;
		if (x->kind != kind) {
			prev = x;
			link = &x->next;
			continue;
		}
		*link = x->next;
		if (pool->todo.tail == x)
			pool->todo.tail = prev;
		pool->queued--;
		batch[n++] = x;
	}
	return n;
}

/* Run a batch that begins with j (taken from the queue already). */
static void run_batch(struct lf_dbpool *pool, struct job *j, struct lf_store_conn **conn, int *node)
{
	int max = pool->batch_max > 0 ? pool->batch_max : 1;
	struct job *stack[64];
	struct job **batch = max <= 64 ? stack : malloc((size_t)max * sizeof *batch);
	if (batch == NULL) {
		batch = stack;
		max = 64;
	}
	batch[0] = j;
	int n = 1;
	pthread_mutex_lock(&pool->lock);
	n = gather(pool, batch, n, max);
	int last = pool->last_batch[j->kind->metric];
	pthread_mutex_unlock(&pool->lock);
	/* under load, a moment for more to arrive: others were waiting, or
	 * the last batch of this kind had company. A closed loop of clients
	 * refills the queue a moment after a batch's answers go out, so the
	 * first job back would otherwise be decided alone, in a transaction
	 * of its own (for a hot account, one that holds its row lock as long
	 * as a whole batch's), while the rest wait for it. */
	if ((n > 1 || last > 1) && n < max && pool->batch_window_us > 0) {
		struct timespec ts = {.tv_sec = pool->batch_window_us / 1000000,
				      .tv_nsec = (pool->batch_window_us % 1000000) * 1000};
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&pool->lock);
		n = gather(pool, batch, n, max);
		pthread_mutex_unlock(&pool->lock);
	}
	if (*conn == NULL && lf_time_monotonic_ms() < j->deadline_ms)
		*conn = pool_connect(pool, node, true);
	/* members past their deadline, or without a connection, learn so on
	 * their own */
	void *args[64];
	void **live = n <= 64 ? args : malloc((size_t)n * sizeof *live);
	int m = 0;
	int64_t now = lf_time_monotonic_ms();
	for (int i = 0; i < n; i++) {
		bool expired = now >= batch[i]->deadline_ms;
		if (!expired && *conn != NULL && live != NULL) {
			live[m++] = batch[i]->arg;
			continue;
		}
		if (!expired && *conn == NULL && forward(pool, batch[i])) {
			batch[i] = NULL; /* the fallback answers it */
			continue;
		}
		struct lf_log_scope scope;
		lf_log_scope_enter(&scope, &batch[i]->log);
		if (expired)
			lf_log_limited(LF_LOG_WARN, "db_pool_timeout", "db_pool_timeout",
				       "subsys=store waited_ms=%lld pool_size=%d",
				       (long long)(now - batch[i]->submitted_ms), pool->nthreads);
		else
			lf_log_limited(LF_LOG_WARN, "db_unavailable", "db_unavailable",
				       "subsys=store reason=no_connection");
		(void)batch[i]->kind->work(NULL, &batch[i]->arg, 1);
		lf_log_scope_leave(&scope);
	}
	int64_t started = lf_trace_now_us();
	if (m > 0) {
		if (pool->metrics != NULL)
			lf_metrics_batch(pool->metrics, j->kind->metric, m);
		struct lf_log_scope scope;
		lf_log_scope_enter(&scope, &batch[0]->log);
		if (!j->kind->work(*conn, live, m)) {
			drop_conn(pool, conn);
			/* as submit_rerun: once more on a fresh connection,
			 * while the oldest member's deadline allows */
			if (lf_time_monotonic_ms() < j->deadline_ms) {
				*conn = pool_connect(pool, node, true);
				if (!j->kind->work(*conn, live, m) && *conn != NULL)
					drop_conn(pool, conn);
			}
		}
		if (*conn != NULL && !lf_store_end_job(*conn))
			drop_conn(pool, conn);
		lf_log_scope_leave(&scope);
	}
	int64_t finished = lf_trace_now_us();
	/* the members go to the loop together: one lock, one wake-up */
	pthread_mutex_lock(&pool->lock);
	pool->last_batch[j->kind->metric] = n;
	bool was_empty = pool->done.head == NULL;
	for (int i = 0; i < n; i++) {
		if (batch[i] == NULL)
			continue; /* forwarded to the fallback pool */
		batch[i]->started_us = started;
		batch[i]->finished_us = finished;
		batch[i]->batch = m;
		queue_push(&pool->done, batch[i]);
	}
	pthread_mutex_unlock(&pool->lock);
	if (was_empty)
		wake_loop(pool);
	if (live != args)
		free(live);
	if (batch != stack)
		free(batch);
}

/* The oldest job a thread may take: one alone, or of a batch kind below
 * its concurrency. Under the lock. */
static struct job *take(struct lf_dbpool *pool)
{
	struct job **link = &pool->todo.head, *prev = NULL;
	for (struct job *x = *link; x != NULL; prev = x, link = &x->next, x = *link) {
		if (x->kind != NULL &&
		    pool->batch_running[x->kind->metric] >= pool->batch_concurrency)
			continue;
		*link = x->next;
		if (pool->todo.tail == x)
			pool->todo.tail = prev;
		pool->queued--;
		if (x->kind != NULL)
			pool->batch_running[x->kind->metric]++;
		return x;
	}
	return NULL;
}

/* After a batch of `kind`: do jobs of that kind wait that this thread
 * will not take next (take() would give it an older job of another kind
 * first)? Only then is another thread woken for them: waking one for the
 * jobs this thread takes itself costs two futex calls and a switch per
 * batch for nothing. Under the lock. */
static bool passed_over(const struct lf_dbpool *pool, enum lf_metrics_batch_kind kind)
{
	bool next_found = false;
	for (const struct job *x = pool->todo.head; x != NULL; x = x->next) {
		bool of_kind = x->kind != NULL && x->kind->metric == kind;
		if (!next_found && (x->kind == NULL || pool->batch_running[x->kind->metric] <
							       pool->batch_concurrency)) {
			if (of_kind)
				return false; /* the oldest job this thread may take */
			next_found = true;
			continue;
		}
		if (of_kind)
			return true;
	}
	return false;
}

static void *pool_thread(void *arg)
{
	struct lf_dbpool *pool = arg;
	struct lf_store_conn *conn = NULL;
	int node = 0; /* conn's */
	for (;;) {
		pthread_mutex_lock(&pool->lock);
		struct job *j;
		while ((j = take(pool)) == NULL && !pool->stopping)
			pthread_cond_wait(&pool->wake, &pool->lock);
		bool stopping = pool->stopping;
		pthread_mutex_unlock(&pool->lock);
		if (j == NULL && stopping)
			break;
		if (j == NULL)
			continue;
		/* the pool moved to another node (a failback): follow it */
		pthread_mutex_lock(&pool->lock);
		bool moved = conn != NULL && node != pool->preferred;
		pthread_mutex_unlock(&pool->lock);
		if (moved)
			drop_conn(pool, &conn);
		if (j->kind != NULL) {
			enum lf_metrics_batch_kind kind = j->kind->metric;
			run_batch(pool, j, &conn, &node); /* j is posted: gone */
			/* the jobs of that kind passed over meanwhile may be
			 * taken now: one more thread is woken (once per batch,
			 * not per job), in case this one takes an older job of
			 * another kind first */
			pthread_mutex_lock(&pool->lock);
			pool->batch_running[kind]--;
			if (passed_over(pool, kind))
				pthread_cond_signal(&pool->wake);
			pthread_mutex_unlock(&pool->lock);
			continue;
		}
		struct lf_log_scope scope;
		lf_log_scope_enter(&scope, &j->log);
		/* work that may not run again: not on a connection the server
		 * has closed meanwhile (reads, which would find it out safely,
		 * no longer pass through the pool: lf_loopread.h) */
		if (conn != NULL && !j->rerun && lf_store_peer_closed(conn))
			drop_conn(pool, &conn);
		if (conn == NULL && lf_time_monotonic_ms() < j->deadline_ms)
			conn = pool_connect(pool, &node, true);
		int64_t now = lf_time_monotonic_ms();
		bool expired = now >= j->deadline_ms;
		if (!expired && conn == NULL && forward(pool, j)) {
			lf_log_scope_leave(&scope);
			continue;
		}
		if (expired)
			lf_log_limited(LF_LOG_WARN, "db_pool_timeout", "db_pool_timeout",
				       "subsys=store waited_ms=%lld pool_size=%d",
				       (long long)(now - j->submitted_ms), pool->nthreads);
		else if (conn == NULL)
			lf_log_limited(LF_LOG_WARN, "db_unavailable", "db_unavailable",
				       "subsys=store reason=no_connection");
		j->started_us = lf_trace_now_us();
		j->batch = 1;
		bool healthy = j->work(expired ? NULL : conn, j->arg);
		if (!healthy && conn != NULL && !expired) {
			drop_conn(pool, &conn);
			/* a connection that died while idle (server restarted)
			 * should not cost the request its answer */
			if (j->rerun && lf_time_monotonic_ms() < j->deadline_ms) {
				conn = pool_connect(pool, &node, true);
				if (conn == NULL && forward(pool, j)) {
					lf_log_scope_leave(&scope);
					continue;
				}
				if (!j->work(conn, j->arg) && conn != NULL)
					drop_conn(pool, &conn);
			}
		}
		if (conn != NULL && !lf_store_end_job(conn))
			drop_conn(pool, &conn);
		j->finished_us = lf_trace_now_us();
		lf_log_scope_leave(&scope);
		post_done(pool, j);
	}
	if (conn != NULL)
		drop_conn(pool, &conn);
	return NULL;
}

/* Every failback_interval: is an earlier node than the one in use back
 * and ready? Then the pool moves there. */
static void *watcher_thread(void *arg)
{
	struct lf_dbpool *pool = arg;
	pthread_mutex_lock(&pool->lock);
	while (!pool->stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		int64_t ns = until.tv_nsec + (pool->failback_interval_ms % 1000) * 1000000;
		until.tv_sec += pool->failback_interval_ms / 1000 + ns / 1000000000;
		until.tv_nsec = ns % 1000000000;
		pthread_cond_timedwait(&pool->watch_wake, &pool->lock, &until);
		int current = pool->preferred;
		if (pool->stopping || current == 0)
			continue;
		pthread_mutex_unlock(&pool->lock);
		int back = -1;
		for (int i = 0; i < current && back < 0; i++) {
			char err[256];
			struct lf_store_conn *c = lf_store_connect_node(&pool->params, i, true,
									NULL, err, sizeof err);
			if (c != NULL) {
				lf_store_close(c);
				back = i;
			}
		}
		pthread_mutex_lock(&pool->lock);
		if (back >= 0 && pool->preferred == current) {
			pool->preferred = back;
			char a[256], b[256];
			unsigned pa = 0, pb = 0;
			lf_store_node_addr(&pool->params, current, a, sizeof a, &pa);
			lf_store_node_addr(&pool->params, back, b, sizeof b, &pb);
			lf_log_limited(LF_LOG_INFO, "db_failback", "db_failback",
				       "subsys=store from=%s:%u to=%s:%u", a, pa, b, pb);
		}
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
	struct lf_dbpool *pool = arg;
	uint64_t n;
	ssize_t r = read(fd, &n, sizeof n);
	(void)r;
	(void)what;
	for (;;) {
		/* everything finished so far, taken at once */
		pthread_mutex_lock(&pool->lock);
		struct job *list = pool->done.head;
		pool->done.head = pool->done.tail = NULL;
		pthread_mutex_unlock(&pool->lock);
		if (list == NULL)
			break;
		while (list != NULL) {
			struct job *j = list;
			list = j->next;
			struct lf_log_scope scope;
			lf_log_scope_enter(&scope, &j->log);
			if (j->log.sampled && j->started_us != 0) {
				struct lf_trace_attr attrs[] = {
					{"db.system", "mysql", 0},
					{"lf.queue_wait_us", NULL,
					 j->started_us - j->submitted_ms * 1000},
					{"lf.batch_size", NULL, j->batch},
				};
				lf_trace_span(&j->log, 3, "db job", j->started_us, j->finished_us,
					      false, attrs, 3);
			}
			j->done(j->arg);
			lf_log_scope_leave(&scope);
			free(j);
		}
	}
}

struct lf_dbpool *lf_dbpool_create(struct event_base *base, const struct lf_db_params *params,
				   int size, const struct lf_dbpool_limits *limits,
				   struct lf_metrics *metrics)
{
	struct lf_dbpool *pool = calloc(1, sizeof *pool);
	if (pool == NULL)
		return NULL;
	pool->efd = -1;
	pool->max_queue = limits->max_queue > 0 ? limits->max_queue : 1;
	pool->batch_max = limits->batch_max > 0 ? limits->batch_max : 1;
	pool->batch_window_us = limits->batch_window_us > 0 ? limits->batch_window_us : 0;
	pool->batch_concurrency = limits->batch_concurrency > 0 ? limits->batch_concurrency : size;
	pool->failback_interval_ms =
		limits->failback_interval_ms > 0 ? limits->failback_interval_ms : 30000;
	pool->nodes = lf_store_node_count(params);
	pool->metrics = metrics;
	pool->params = *params;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->wake, NULL);
	pthread_cond_init(&pool->watch_wake, NULL);
	pool->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pool->efd < 0)
		goto fail;
	pool->done_ev = event_new(base, pool->efd, EV_READ | EV_PERSIST, on_done, pool);
	if (pool->done_ev == NULL || event_add(pool->done_ev, NULL) != 0)
		goto fail;
	pool->threads = calloc((size_t)size, sizeof *pool->threads);
	if (pool->threads == NULL)
		goto fail;
	for (int i = 0; i < size; i++) {
		if (pthread_create(&pool->threads[i], NULL, pool_thread, pool) != 0)
			break;
		pool->nthreads++;
	}
	if (pool->nthreads == 0)
		goto fail;
	if (pool->nodes > 1)
		pool->watching = pthread_create(&pool->watcher, NULL, watcher_thread, pool) == 0;
	return pool;
fail:
	lf_dbpool_free(pool);
	return NULL;
}

static lf_rc submit(struct lf_dbpool *pool, const struct lf_db_batch_kind *kind, lf_db_work_fn work,
		    lf_db_done_fn done, void *arg, int64_t deadline_ms, bool rerun)
{
	struct job *j = malloc(sizeof *j);
	if (j == NULL)
		return LF_ERROR;
	*j = (struct job){.kind = kind,
			  .work = work,
			  .done = done,
			  .arg = arg,
			  .deadline_ms = deadline_ms,
			  .rerun = rerun,
			  .submitted_ms = lf_time_monotonic_ms()};
	(void)lf_log_ctx_get(&j->log);
	pthread_mutex_lock(&pool->lock);
	lf_rc rc = pool->stopping ? LF_ERROR : pool->queued >= pool->max_queue ? LF_AGAIN : LF_OK;
	if (rc == LF_OK) {
		queue_push(&pool->todo, j);
		pool->queued++;
		/* a job of a kind at its concurrency waits for the thread
		 * running that kind, which takes it next: waking an idle
		 * thread that may not take it would only cost a switch */
		if (kind == NULL || pool->batch_running[kind->metric] < pool->batch_concurrency)
			pthread_cond_signal(&pool->wake);
	}
	pthread_mutex_unlock(&pool->lock);
	if (rc == LF_OK)
		return LF_OK;
	free(j);
	if (rc == LF_AGAIN) {
		if (pool->metrics != NULL)
			lf_metrics_inc(&pool->metrics->db_queue_full);
		lf_log_limited(LF_LOG_WARN, "db_queue_full", "db_queue_full",
			       "subsys=store max_queue=%d pool_size=%d", pool->max_queue,
			       pool->nthreads);
	}
	return rc;
}

lf_rc lf_dbpool_submit(struct lf_dbpool *pool, lf_db_work_fn work, lf_db_done_fn done, void *arg,
		       int64_t deadline_ms)
{
	return submit(pool, NULL, work, done, arg, deadline_ms, false);
}

lf_rc lf_dbpool_submit_rerun(struct lf_dbpool *pool, lf_db_work_fn work, lf_db_done_fn done,
			     void *arg, int64_t deadline_ms)
{
	return submit(pool, NULL, work, done, arg, deadline_ms, true);
}

lf_rc lf_dbpool_submit_batch(struct lf_dbpool *pool, const struct lf_db_batch_kind *kind,
			     lf_db_done_fn done, void *arg, int64_t deadline_ms)
{
	return submit(pool, kind, NULL, done, arg, deadline_ms, true);
}

void lf_dbpool_set_fallback(struct lf_dbpool *pool, struct lf_dbpool *fallback)
{
	pool->fallback = fallback;
}

struct lf_store_conn *lf_dbpool_open(struct lf_dbpool *pool, int *node)
{
	return pool_connect(pool, node, false);
}

int lf_dbpool_node(struct lf_dbpool *pool)
{
	pthread_mutex_lock(&pool->lock);
	int n = pool->preferred;
	pthread_mutex_unlock(&pool->lock);
	return n;
}

int lf_dbpool_connected(struct lf_dbpool *pool)
{
	pthread_mutex_lock(&pool->lock);
	int n = pool->connected;
	pthread_mutex_unlock(&pool->lock);
	return n;
}

void lf_dbpool_free(struct lf_dbpool *pool)
{
	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = true;
	pthread_cond_broadcast(&pool->wake);
	pthread_cond_broadcast(&pool->watch_wake);
	pthread_mutex_unlock(&pool->lock);
	for (int i = 0; i < pool->nthreads; i++)
		pthread_join(pool->threads[i], NULL);
	if (pool->watching)
		pthread_join(pool->watcher, NULL);
	/* whatever is left never reached a connection */
	struct job *j;
	while ((j = queue_pop(&pool->todo)) != NULL) {
		pool->queued--;
		struct lf_log_scope scope;
		lf_log_scope_enter(&scope, &j->log);
		if (j->kind != NULL)
			(void)j->kind->work(NULL, &j->arg, 1);
		else
			(void)j->work(NULL, j->arg);
		lf_log_scope_leave(&scope);
		queue_push(&pool->done, j);
	}
	while ((j = queue_pop(&pool->done)) != NULL) {
		struct lf_log_scope scope;
		lf_log_scope_enter(&scope, &j->log);
		j->done(j->arg);
		lf_log_scope_leave(&scope);
		free(j);
	}
	if (pool->done_ev)
		event_free(pool->done_ev);
	if (pool->efd >= 0)
		close(pool->efd);
	free(pool->threads);
	pthread_cond_destroy(&pool->wake);
	pthread_cond_destroy(&pool->watch_wake);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}
