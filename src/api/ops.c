/*
 * api/ops.c - the operational endpoints: /healthz (the process serves),
 * /readyz (MySQL answers a ping through the pool, Redis is connected) and
 * /metrics (Prometheus text of the shared counters of all workers).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

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

void lf_ops_healthz(struct lf_req *r, const char *id)
{
	(void)id;
	static const char body[] = "{\"status\":\"ok\"}";
	lf_req_reply_bytes(r, 200, "application/json", body, sizeof body - 1);
}

struct ready_state {
	struct lf_req *r;
	unsigned pending; /* the MySQL job and the Redis PING */
	bool mysql_up, redis_up;
};

static bool ready_work(struct lf_store_conn *conn, void *arg)
{
	struct ready_state *s = arg;
	s->mysql_up = conn != NULL && lf_store_ping(conn);
	return conn == NULL || s->mysql_up;
}

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

static void ready_step_done(struct ready_state *s)
{
	if (--s->pending > 0)
		return;
	ready_answer(s->r, s->mysql_up, s->redis_up);
	lf_req_release(s->r);
	free(s);
}

static void ready_done(void *arg)
{
	ready_step_done(arg);
}

static void ready_pong(void *arg, struct redisReply *reply)
{
	struct ready_state *s = arg;
	s->redis_up = reply != NULL && reply->type == REDIS_REPLY_STATUS &&
		      strcmp(reply->str, "PONG") == 0;
	ready_step_done(s);
}

static void ready_deadline(struct lf_req *r)
{
	ready_answer(r, false, lf_redis_up(r->app->redis));
}

void lf_ops_readyz(struct lf_req *r, const char *id)
{
	(void)id;
	struct ready_state *s = calloc(1, sizeof *s);
	if (s == NULL) {
		ready_answer(r, false, false);
		return;
	}
	s->r = r;
	s->pending = 2;
	int64_t timeout = r->app->cfg->mysql_request_timeout_ms;
	lf_req_hold(r);
	r->on_deadline = ready_deadline;
	lf_req_arm_deadline(r, timeout);
	static const char *ping[] = {"PING"};
	static const size_t ping_len[] = {4};
	if (!lf_redis_command(r->app->redis, ready_pong, s, 1, ping, ping_len))
		s->pending--; /* down or breaker open: redis_up stays false */
	if (!lf_dbpool_submit_rerun(r->app->db, ready_work, ready_done, s,
				    lf_time_monotonic_ms() + timeout))
		ready_step_done(s);
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
