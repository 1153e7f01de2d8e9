/*
 * idempotency/reaper.c - deletes expired idempotency rows in small batches (short
 * transactions, no long locks) every [idempotency] reap_interval, and
 * expires the holds past their expiresAt (PENDING -> EXPIRED, the held
 * amount released; CALL lf_expire_holds, one short transaction per hold)
 * every [payments] expire_interval, on the worker's database pool like
 * any other job.
 */
#include "config.h"

#include <stdlib.h>

#include <event2/event.h>

#include "lf_app.h"
#include "lf_config.h"
#include "lf_dbpool.h"
#include "lf_log.h"
#include "lf_metrics.h"
#include "lf_reaper.h"
#include "lf_time.h"
#include "lf_zone.h"

#define LF_REAP_BATCH 1000
#define LF_REAP_MAX_BATCHES 50 /* per round: bounded work */
#define LF_EXPIRE_BATCH 1000   /* holds expired per round at most */

struct lf_reaper {
	struct lf_app *app;
	struct event *timer, *expire_timer;
	bool busy, expiring;
	unsigned long deleted, expired;
};

static bool expire_work(struct lf_store_conn *c, void *arg)
{
	struct lf_reaper *rp = arg;
	rp->expired = 0;
	if (c == NULL)
		return true;
	lf_rc rc = lf_store_expire_holds(c, lf_time_now_ms(), LF_EXPIRE_BATCH, &rp->expired);
	return rc != LF_LOST;
}

static void expire_done(void *arg)
{
	struct lf_reaper *rp = arg;
	rp->expiring = false;
	if (rp->expired > 0)
		lf_info("holds_expired", "count=%lu", rp->expired);
}

static void on_expire_timer(evutil_socket_t fd, short what, void *arg)
{
	struct lf_reaper *rp = arg;
	(void)fd;
	(void)what;
	if (rp->expiring || rp->app->draining)
		return;
	rp->expiring = lf_dbpool_submit(rp->app->db, expire_work, expire_done, rp,
					lf_time_monotonic_ms() +
						rp->app->cfg->mysql_request_timeout_ms) == LF_OK;
}

static bool reap_work(struct lf_store_conn *c, void *arg)
{
	struct lf_reaper *rp = arg;
	rp->deleted = 0;
	if (c == NULL)
		return true;
	for (int i = 0; i < LF_REAP_MAX_BATCHES; i++) {
		unsigned long n = 0;
		lf_rc rc = lf_store_reap_keys(c, lf_time_now_ms(), LF_REAP_BATCH, &n);
		if (rc != LF_OK)
			return rc != LF_LOST;
		rp->deleted += n;
		if (n < LF_REAP_BATCH)
			break;
	}
	return true;
}

static void reap_done(void *arg)
{
	struct lf_reaper *rp = arg;
	rp->busy = false;
	if (rp->deleted > 0) {
		lf_metrics_add(&rp->app->zone->metrics->keys_reaped, rp->deleted);
		lf_info("idempotency_keys_reaped", "count=%lu", rp->deleted);
	}
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct lf_reaper *rp = arg;
	(void)fd;
	(void)what;
	if (rp->busy || rp->app->draining)
		return;
	/* a full queue skips this round: the next tick tries again */
	rp->busy = lf_dbpool_submit(rp->app->db, reap_work, reap_done, rp,
				    lf_time_monotonic_ms() +
					    rp->app->cfg->mysql_request_timeout_ms) == LF_OK;
}

struct lf_reaper *lf_reaper_start(struct lf_app *app)
{
	struct lf_reaper *rp = calloc(1, sizeof *rp);
	if (rp == NULL)
		return NULL;
	rp->app = app;
	rp->timer = event_new(app->base, -1, EV_PERSIST, on_timer, rp);
	int64_t ms = app->cfg->idempotency_reap_interval_ms;
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	if (rp->timer == NULL || event_add(rp->timer, &tv) != 0) {
		lf_reaper_stop(rp);
		return NULL;
	}
	rp->expire_timer = event_new(app->base, -1, EV_PERSIST, on_expire_timer, rp);
	ms = app->cfg->payments_expire_interval_ms;
	tv = (struct timeval){.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	if (rp->expire_timer == NULL || event_add(rp->expire_timer, &tv) != 0) {
		lf_reaper_stop(rp);
		return NULL;
	}
	return rp;
}

void lf_reaper_stop(struct lf_reaper *rp)
{
	if (rp == NULL)
		return;
	if (rp->timer)
		event_free(rp->timer);
	if (rp->expire_timer)
		event_free(rp->expire_timer);
	free(rp);
}
