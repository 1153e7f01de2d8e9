/*
 * store/loopread.c - account reads on the worker's event loop (see
 * lf_loopread.h): one connection per worker, opened by a pool thread
 * (lf_dbpool_open: the pool's node, back-off and log lines), then driven
 * with Connector/C's non-blocking API (MYSQL_OPT_NONBLOCK; execute and
 * store the prepared ST_GET_ACCOUNTS with mysql_stmt_*_start/_cont, each
 * MYSQL_WAIT_READ/WRITE/TIMEOUT waited for by one libevent event). The
 * reads queued while a query is in flight go together in the next one, up
 * to LF_STORE_ACCOUNTS_PER_READ. The query's deadline is its oldest
 * member's: past it the members are answered LF_LOST and the connection is
 * dropped. A query still unanswered after LF_LOOPREAD_PATIENCE_MS is
 * given up before that: a connection the server is tearing down, or a
 * peer gone without a FIN, can leave it waiting with no byte and no error,
 * and every read queued behind it would wait as long; its reads are
 * primary-key lookups, safe to rerun. On any failure the connection is
 * dropped too, its members are answered LF_AGAIN (the caller reruns them
 * on the pool; LF_LOST past their deadline) and a new one is asked of a
 * pool thread; until it comes every read takes the pool path.
 * Dropping shuts the socket down first, so neither finishing a suspended
 * call nor closing can block the loop. A sampled read gets a "db job" span
 * as a pool job does (lf.event_loop = true).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <mysql.h>

#include "lf_dbpool.h"
#include "lf_log.h"
#include "lf_loopread.h"
#include "lf_metrics.h"
#include "lf_time.h"
#include "lf_trace.h"
#include "store_int.h"

#define LF_LOOPREAD_RETRY_MS 1000 /* after a failed connect: the pool path meanwhile */
/* a loop query unanswered this long: the connection is dropped and its
 * reads rerun on the pool (a healthy one answers in a few ms) */
#define LF_LOOPREAD_PATIENCE_MS 500
#define N LF_STORE_ACCOUNTS_PER_READ

struct member {
	lf_uuid id;
	struct lf_client who;
	struct lf_account *out;
	int64_t deadline_ms;
	lf_loopread_done_fn done;
	void *arg;
	struct lf_log_ctx log;
	int64_t submitted_us; /* monotonic: the span's queue wait */
	struct member *next;
};

/* A connect job in a pool thread; lr is NULL once the loopread is gone. */
struct opening {
	struct lf_loopread *lr;
	struct lf_dbpool *pool;
	struct lf_store_conn *conn;
	int node;
};

enum phase { IDLE, EXEC, STORE };

struct lf_loopread {
	struct event_base *base;
	struct lf_dbpool *pool;
	struct lf_metrics *metrics;
	int max_waiting;
	int64_t connect_deadline_ms;
	struct lf_store_conn *conn; /* NULL: none yet, or being opened */
	int node;                   /* conn's */
	struct opening *opening;    /* the connect job in flight, or NULL */
	int64_t retry_at_ms;
	enum phase phase;
	MYSQL_STMT *st;
	int ret;                    /* the _start/_cont result */
	int64_t started_us;         /* the query in flight: when it went out */
	int64_t first_deadline_ms;  /* and its oldest member's deadline */
	struct member *head, *tail; /* waiting, in arrival order */
	int waiting;
	struct member *batch[N];
	int n;
	lf_uuid ids[N];
	struct lf_client who[N];
	struct lf_account rows[N];
	lf_rc rcs[N];
	MYSQL_BIND in[N];
	struct event *io, *deadline, *kick;
};

static void start(struct lf_loopread *lr);

/* ---- answering ---- */

static void answer(struct member *m, lf_rc rc)
{
	struct lf_log_scope scope;
	lf_log_scope_enter(&scope, &m->log);
	m->done(m->arg, rc);
	lf_log_scope_leave(&scope);
	free(m);
}

/* A member of the query in flight: its span (as a pool job's, "db job"),
 * then its answer; past its deadline a failure is LF_LOST, as a pool job
 * that never reached a connection (rerunning it would only say so). */
static void answer_member(struct lf_loopread *lr, struct member *m, lf_rc rc, int n)
{
	if (rc == LF_AGAIN && lf_time_monotonic_ms() >= m->deadline_ms)
		rc = LF_LOST;
	if (m->log.sampled) {
		struct lf_trace_attr attrs[] = {
			{"db.system", "mysql", 0},
			{"lf.queue_wait_us", NULL, lr->started_us - m->submitted_us},
			{"lf.batch_size", NULL, n},
			{"lf.event_loop", "true", 0},
		};
		lf_trace_span(&m->log, 3, "db job", lr->started_us, lf_trace_now_us(),
			      rc != LF_OK && rc != LF_DECLINED, attrs, 4);
	}
	struct lf_log_scope scope;
	lf_log_scope_enter(&scope, &m->log);
	m->done(m->arg, rc);
	lf_log_scope_leave(&scope);
	free(m);
}

/* Every waiting read to the pool path (no connection for them). */
static void answer_waiting(struct lf_loopread *lr, lf_rc rc)
{
	struct member *list = lr->head;
	lr->head = lr->tail = NULL;
	lr->waiting = 0;
	while (list != NULL) {
		struct member *m = list;
		list = m->next;
		answer(m, rc);
	}
}

static void answer_batch(struct lf_loopread *lr, lf_rc rc)
{
	int n = lr->n;
	struct member *b[N];
	memcpy(b, lr->batch, (size_t)n * sizeof *b);
	lr->n = 0;
	for (int i = 0; i < n; i++)
		answer_member(lr, b[i], rc, n);
}

/* ---- the connection ---- */

static bool open_work(struct lf_store_conn *unused, void *arg)
{
	(void)unused; /* the thread's own: this job opens another */
	struct opening *o = arg;
	o->conn = lf_dbpool_open(o->pool, &o->node);
	if (o->conn == NULL)
		return true;
	MYSQL_STMT *st;
	/* prepared here, blocking; MYSQL_OPT_NONBLOCK only gives the handle
	 * its context: blocking calls still work until a _start is made */
	if (lf_store_stmt(o->conn, ST_GET_ACCOUNTS, &st) != LF_OK ||
	    mysql_options(o->conn->m, MYSQL_OPT_NONBLOCK, 0) != 0) {
		if (!o->conn->logged)
			lf_log_limited(LF_LOG_WARN, "loopread_setup", "loopread_setup_failed",
				       "subsys=store reason=\"non-blocking context\"");
		lf_store_close(o->conn);
		o->conn = NULL;
	}
	return true;
}

static void open_done(void *arg)
{
	struct opening *o = arg;
	struct lf_loopread *lr = o->lr;
	if (lr == NULL) {
		lf_store_close(o->conn);
		free(o);
		return;
	}
	lr->opening = NULL;
	lr->conn = o->conn;
	lr->node = o->node;
	free(o);
	if (lr->conn == NULL) {
		lr->retry_at_ms = lf_time_monotonic_ms() + LF_LOOPREAD_RETRY_MS;
		return; /* pool_connect logged why */
	}
	lr->phase = IDLE;
	lf_info("loopread_connected", "subsys=store thread_id=%lu node=%d",
		mysql_thread_id(lr->conn->m), lr->node);
}

/* Ask a pool thread for a connection, unless one is coming or a failed
 * attempt is recent. */
static void want_conn(struct lf_loopread *lr)
{
	int64_t now = lf_time_monotonic_ms();
	if (lr->conn != NULL || lr->opening != NULL || now < lr->retry_at_ms)
		return;
	struct opening *o = calloc(1, sizeof *o);
	if (o == NULL)
		return;
	*o = (struct opening){.lr = lr, .pool = lr->pool};
	/* under no request's log context: the lines it logs are the pool's */
	struct lf_log_ctx none = {0};
	struct lf_log_scope scope;
	lf_log_scope_enter(&scope, &none);
	lf_rc rc =
		lf_dbpool_submit(lr->pool, open_work, open_done, o, now + lr->connect_deadline_ms);
	lf_log_scope_leave(&scope);
	if (rc != LF_OK) {
		free(o);
		lr->retry_at_ms = now + LF_LOOPREAD_RETRY_MS;
		return;
	}
	lr->opening = o;
}

/* Close the connection without blocking: the socket is shut down first,
 * so a suspended call finishes at once (with an error) and the close's
 * own writes fail instead of waiting. */
static void drop(struct lf_loopread *lr)
{
	event_del(lr->io);
	event_del(lr->deadline);
	if (lr->conn == NULL)
		return;
	shutdown(mysql_get_socket(lr->conn->m), SHUT_RDWR);
	int status = 1;
	for (int i = 0; i < 8 && status != 0 && lr->phase != IDLE; i++) {
		int w = MYSQL_WAIT_READ | MYSQL_WAIT_WRITE;
		status = lr->phase == EXEC ? mysql_stmt_execute_cont(&lr->ret, lr->st, w)
					   : mysql_stmt_store_result_cont(&lr->ret, lr->st, w);
	}
	lr->phase = IDLE;
	lf_store_close(lr->conn);
	lr->conn = NULL;
	lr->st = NULL;
}

/* The query failed (logged by the store, under its first member's
 * context): its members and the waiting reads go to the pool. */
static void fail(struct lf_loopread *lr)
{
	drop(lr);
	answer_batch(lr, LF_AGAIN);
	answer_waiting(lr, LF_AGAIN);
	want_conn(lr);
}

/* ---- one query ---- */

static void on_io(evutil_socket_t fd, short what, void *arg);

static void step(struct lf_loopread *lr, int status)
{
	for (;;) {
		if (status != 0) {
			short ev = (status & MYSQL_WAIT_READ ? EV_READ : 0) |
				   (status & MYSQL_WAIT_WRITE ? EV_WRITE : 0);
			struct timeval tv, *t = NULL;
			if (status & MYSQL_WAIT_TIMEOUT) {
				unsigned ms = mysql_get_timeout_value_ms(lr->conn->m);
				tv = (struct timeval){ms / 1000, (ms % 1000) * 1000};
				t = &tv;
			}
			event_assign(lr->io, lr->base, mysql_get_socket(lr->conn->m), ev, on_io,
				     lr);
			event_add(lr->io, t);
			return;
		}
		struct lf_log_scope scope;
		lf_log_scope_enter(&scope, &lr->batch[0]->log);
		bool ok = lr->ret == 0;
		if (!ok)
			(void)lf_store_stmt_fail(lr->conn, lr->st);
		lf_log_scope_leave(&scope);
		if (!ok) {
			lr->phase = IDLE; /* the call is over: nothing to finish */
			fail(lr);
			return;
		}
		if (lr->phase == EXEC) {
			lr->phase = STORE;
			status = mysql_stmt_store_result_start(&lr->ret, lr->st);
			continue;
		}
		break; /* stored: the rows are in memory */
	}
	event_del(lr->deadline);
	lr->phase = IDLE;
	int n = lr->n;
	for (int i = 0; i < n; i++)
		lr->rcs[i] = LF_DECLINED;
	memset(lr->rows, 0, sizeof lr->rows);
	struct lf_log_scope scope;
	lf_log_scope_enter(&scope, &lr->batch[0]->log);
	lf_rc rc = lf_store_accounts_rows(lr->conn, lr->st, n, lr->ids, lr->who, lr->rows, lr->rcs);
	lf_log_scope_leave(&scope);
	if (rc != LF_OK) {
		for (int i = 0; i < n; i++)
			lf_account_clear(&lr->rows[i]);
		fail(lr);
		return;
	}
	struct member *b[N];
	memcpy(b, lr->batch, (size_t)n * sizeof *b);
	lr->n = 0;
	for (int i = 0; i < n; i++) {
		if (lr->rcs[i] == LF_OK)
			*b[i]->out = lr->rows[i]; /* the metadata goes with it */
		else
			lf_account_clear(&lr->rows[i]);
		answer_member(lr, b[i], lr->rcs[i], n);
	}
	start(lr);
}

static void on_io(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	struct lf_loopread *lr = arg;
	int s = (what & EV_READ ? MYSQL_WAIT_READ : 0) | (what & EV_WRITE ? MYSQL_WAIT_WRITE : 0) |
		(what & EV_TIMEOUT ? MYSQL_WAIT_TIMEOUT : 0);
	int status = lr->phase == EXEC ? mysql_stmt_execute_cont(&lr->ret, lr->st, s)
				       : mysql_stmt_store_result_cont(&lr->ret, lr->st, s);
	step(lr, status);
}

/* The query in flight went unanswered for LF_LOOPREAD_PATIENCE_MS: the
 * connection, in an unknown state, is dropped and its reads go to the
 * pool. Or its oldest member's deadline passed first: its members get what
 * a pool job past its deadline gets. */
static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct lf_loopread *lr = arg;
	bool patience = lf_time_monotonic_ms() < lr->first_deadline_ms;
	struct lf_log_scope scope;
	lf_log_scope_enter(&scope, &lr->batch[0]->log);
	if (patience)
		lf_log_limited(LF_LOG_WARN, "loopread_slow", "loopread_unanswered",
			       "subsys=store reads=%d waited_ms=%d", lr->n,
			       LF_LOOPREAD_PATIENCE_MS);
	else
		lf_log_limited(LF_LOG_WARN, "db_pool_timeout", "loopread_timeout",
			       "subsys=store reads=%d", lr->n);
	lf_log_scope_leave(&scope);
	drop(lr);
	answer_batch(lr, patience ? LF_AGAIN : LF_LOST);
	answer_waiting(lr, LF_AGAIN);
	want_conn(lr);
}

/* Send the waiting reads (up to N) as one query, when idle. */
static void start(struct lf_loopread *lr)
{
	if (lr->phase != IDLE || lr->conn == NULL || lr->head == NULL)
		return;
	if (lf_dbpool_node(lr->pool) != lr->node) {
		/* the pool moved (failover, failback): follow it */
		drop(lr);
		answer_waiting(lr, LF_AGAIN);
		want_conn(lr);
		return;
	}
	int64_t now = lf_time_monotonic_ms(), first = INT64_MAX;
	lr->n = 0;
	while (lr->head != NULL && lr->n < N) {
		struct member *m = lr->head;
		lr->head = m->next;
		lr->waiting--;
		if (now >= m->deadline_ms) {
			answer(m, LF_LOST);
			continue;
		}
		lr->ids[lr->n] = m->id;
		lr->who[lr->n] = m->who;
		lr->batch[lr->n++] = m;
		if (m->deadline_ms < first)
			first = m->deadline_ms;
	}
	if (lr->head == NULL)
		lr->tail = NULL;
	if (lr->n == 0)
		return;
	if (lr->metrics != NULL)
		lf_metrics_batch(lr->metrics, LF_BATCH_ACCOUNT_READ, lr->n);
	lr->started_us = lf_trace_now_us();
	struct lf_log_scope scope;
	lf_log_scope_enter(&scope, &lr->batch[0]->log);
	lf_rc rc = lf_store_stmt(lr->conn, ST_GET_ACCOUNTS, &lr->st);
	if (rc == LF_OK) {
		lf_store_accounts_params(lr->in, lr->ids, lr->n);
		if (mysql_stmt_bind_param(lr->st, lr->in))
			rc = lf_store_stmt_fail(lr->conn, lr->st);
	}
	lf_log_scope_leave(&scope);
	if (rc != LF_OK) {
		fail(lr);
		return;
	}
	lr->first_deadline_ms = first;
	int64_t left =
		first - now < LF_LOOPREAD_PATIENCE_MS ? first - now : LF_LOOPREAD_PATIENCE_MS;
	struct timeval tv = {left / 1000, (left % 1000) * 1000};
	event_add(lr->deadline, &tv);
	lr->phase = EXEC;
	step(lr, mysql_stmt_execute_start(&lr->ret, lr->st));
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	start(arg);
}

/* ---- the interface ---- */

struct lf_loopread *lf_loopread_create(struct event_base *base, struct lf_dbpool *pool,
				       int max_waiting, int64_t connect_deadline_ms,
				       struct lf_metrics *metrics)
{
	struct lf_loopread *lr = calloc(1, sizeof *lr);
	if (lr == NULL)
		return NULL;
	*lr = (struct lf_loopread){
		.base = base,
		.pool = pool,
		.metrics = metrics,
		.max_waiting = max_waiting > 0 ? max_waiting : 1,
		.connect_deadline_ms = connect_deadline_ms > 0 ? connect_deadline_ms : 5000,
		/* io is assigned its socket and events at each wait */
		.io = event_new(base, -1, 0, on_io, lr),
		.deadline = evtimer_new(base, on_deadline, lr),
		.kick = event_new(base, -1, 0, on_kick, lr),
	};
	if (lr->io == NULL || lr->deadline == NULL || lr->kick == NULL) {
		lf_loopread_free(lr);
		return NULL;
	}
	want_conn(lr);
	return lr;
}

bool lf_loopread_account(struct lf_loopread *lr, const lf_uuid *id, const struct lf_client *who,
			 struct lf_account *out, int64_t deadline_ms, lf_loopread_done_fn done,
			 void *arg)
{
	if (lr->conn == NULL) {
		want_conn(lr);
		return false;
	}
	if (lr->waiting >= lr->max_waiting)
		return false;
	struct member *m = malloc(sizeof *m);
	if (m == NULL)
		return false;
	*m = (struct member){.id = *id,
			     .who = *who,
			     .out = out,
			     .deadline_ms = deadline_ms,
			     .done = done,
			     .arg = arg,
			     .submitted_us = lf_trace_now_us()};
	(void)lf_log_ctx_get(&m->log);
	if (lr->tail != NULL)
		lr->tail->next = m;
	else
		lr->head = m;
	lr->tail = m;
	lr->waiting++;
	/* started from the loop, not from here: the reads of this loop
	 * turn join it, and done never runs inside this call */
	if (lr->phase == IDLE)
		event_active(lr->kick, EV_TIMEOUT, 0);
	return true;
}

unsigned long lf_loopread_thread_id(const struct lf_loopread *lr)
{
	return lr != NULL && lr->conn != NULL ? mysql_thread_id(lr->conn->m) : 0;
}

void lf_loopread_free(struct lf_loopread *lr)
{
	if (lr == NULL)
		return;
	if (lr->io != NULL && lr->deadline != NULL)
		drop(lr);
	answer_batch(lr, LF_AGAIN);
	answer_waiting(lr, LF_AGAIN);
	if (lr->opening != NULL)
		lr->opening->lr = NULL; /* open_done closes what it brings */
	if (lr->io)
		event_free(lr->io);
	if (lr->deadline)
		event_free(lr->deadline);
	if (lr->kick)
		event_free(lr->kick);
	free(lr);
}
