/*
 * api/ops.c - the operational endpoints: /healthz (the process serves),
 * /readyz and /metrics (Prometheus text of the shared counters of all
 * workers).
 *
 * /readyz answers from a state this worker refreshes at most once a
 * second: MySQL from one ping through the pool, Redis from the client's
 * own state (connected, breaker closed) with no command sent. A request
 * that finds the state fresh is answered at once; one that finds it older
 * waits for the one ping in flight (starting it if none is), so a burst of
 * any size costs at most one database ping per second per worker
 * (ledgerflow_readyz_db_pings_total) and an unauthenticated caller cannot
 * turn /readyz into database load.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "lf_app.h"
#include "lf_config.h"
#include "lf_dbpool.h"
#include "lf_handlers.h"
#include "lf_http.h"
#include "lf_metrics.h"
#include "lf_redis.h"
#include "lf_time.h"
#include "lf_zone.h"

#define LF_READY_REFRESH_MS 1000

void lf_ops_healthz(struct lf_req *r, const char *id)
{
	(void)id;
	static const char body[] = "{\"status\":\"ok\"}";
	lf_req_reply_bytes(r, 200, "application/json", body, sizeof body - 1);
}

struct ready_waiter {
	struct lf_req *r;
	struct ready_waiter *next;
};

/* This worker's view (the loop is single-threaded; the ping's result is
 * written by the pool thread into ready_ping and read on the loop after
 * the job's hand-over). */
static struct {
	bool known, mysql_up;
	int64_t checked_ms; /* monotonic */
	bool in_flight;
	bool ping_result;
	struct ready_waiter *waiters;
} ready;

static void ready_answer(struct lf_req *r, bool mysql_up, bool redis_up)
{
	const char *status = !mysql_up ? "unready" : redis_up ? "ready" : "degraded";
	struct evbuffer *b = evbuffer_new();
	if (b == NULL) {
		lf_req_reply(r, 500, NULL, NULL);
		return;
	}
	evbuffer_add_printf(b, "{\"status\":\"%s\",\"mysql\":\"%s\",\"redis\":\"%s\"}", status,
			    mysql_up ? "up" : "down", redis_up ? "up" : "down");
	lf_req_reply(r, mysql_up ? 200 : 503, "application/json", b);
	evbuffer_free(b);
}

static bool ready_work(struct lf_store_conn *conn, void *arg)
{
	(void)arg;
	ready.ping_result = conn != NULL && lf_store_ping(conn);
	return conn == NULL || ready.ping_result;
}

/* The ping is back (or never left): every waiter gets the new state;
 * one answered by its deadline meanwhile is skipped by lf_req_reply. */
static void ready_settle(bool mysql_up)
{
	ready.known = true;
	ready.mysql_up = mysql_up;
	ready.checked_ms = lf_time_monotonic_ms();
	ready.in_flight = false;
	struct ready_waiter *w = ready.waiters;
	ready.waiters = NULL;
	while (w != NULL) {
		struct ready_waiter *next = w->next;
		ready_answer(w->r, mysql_up, lf_redis_up(w->r->app->redis));
		lf_req_release(w->r);
		free(w);
		w = next;
	}
}

static void ready_done(void *arg)
{
	(void)arg;
	ready_settle(ready.ping_result);
}

static void ready_deadline(struct lf_req *r)
{
	ready_answer(r, false, lf_redis_up(r->app->redis));
}

void lf_ops_readyz(struct lf_req *r, const char *id)
{
	(void)id;
	struct lf_app *app = r->app;
	if (ready.known && lf_time_monotonic_ms() - ready.checked_ms < LF_READY_REFRESH_MS) {
		ready_answer(r, ready.mysql_up, lf_redis_up(app->redis));
		return;
	}
	struct ready_waiter *w = malloc(sizeof *w);
	if (w == NULL) {
		lf_req_reply(r, 500, NULL, NULL);
		return;
	}
	int64_t timeout = app->cfg->mysql_request_timeout_ms;
	*w = (struct ready_waiter){.r = r, .next = ready.waiters};
	ready.waiters = w;
	lf_req_hold(r);
	r->on_deadline = ready_deadline;
	lf_req_arm_deadline(r, timeout);
	if (ready.in_flight)
		return;
	ready.in_flight = true;
	lf_metrics_inc(&app->zone->metrics->readyz_db_pings);
	if (lf_dbpool_submit_rerun(app->db, ready_work, ready_done, NULL,
				   lf_time_monotonic_ms() + timeout) != LF_OK)
		ready_settle(false); /* the queue is full or the pool stopping: not ready */
}

void lf_ops_metrics(struct lf_req *r, const char *id)
{
	(void)id;
	struct evbuffer *b = evbuffer_new();
	if (b == NULL) {
		lf_req_reply(r, 500, NULL, NULL);
		return;
	}
	lf_metrics_render(r->app->zone->metrics, r->app->zone->cache, b);
	lf_req_reply(r, 200, "text/plain; version=0.0.4", b);
	evbuffer_free(b);
}
