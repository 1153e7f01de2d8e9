/*
 * idempotency/reaper.c - deletes expired idempotency rows in small batches (short
 * transactions, no long locks) every [idempotency] reap_interval, and
 * expires the holds past their expiresAt (PENDING -> EXPIRED, the held
 * amount released, the payment.expired event written; one CALL
 * lf_expire_hold, one short transaction, per hold) every [payments]
 * expire_interval, on the worker's database pool like any other job. The
 * event's data is the payment as its GET shows it once EXPIRED, rendered
 * here from the row the reaper read (its other columns cannot change
 * while it is PENDING), so it is the GET's bytes.
 */
#include "config.h"

#include <assert.h>
#include <stdlib.h>

#include <event2/event.h>

#include "lf_app.h"
#include "lf_body.h"
#include "lf_config.h"
#include "lf_dbpool.h"
#include "lf_log.h"
#include "lf_metrics.h"
#include "lf_reaper.h"
#include "lf_render.h"
#include "lf_time.h"
#include "lf_zone.h"

#define LF_REAP_BATCH 1000
#define LF_REAP_MAX_BATCHES 50 /* per round: bounded work */
#define LF_EXPIRE_BATCH 1000   /* holds tried per round at most */
#define LF_EXPIRE_PAGE 50      /* holds read at a time */

struct lf_reaper {
	struct lf_app *app;
	struct event *timer, *expire_timer;
	bool busy, expiring;
	unsigned long deleted, expired;
};

/* One due hold: rendered EXPIRED (its event's data), then expired by its
 * CALL, which leaves alone one captured or voided since it was read. */
static lf_rc expire_one(struct lf_store_conn *c, const struct lf_payment *p, int64_t now_ms,
			unsigned long *expired)
{
	assert(p->is_hold && p->status == LF_PAYMENT_PENDING && !p->has_captured);
	struct lf_payment after = *p;
	after.status = LF_PAYMENT_EXPIRED;
	struct lf_body data;
	if (!lf_render_payment_body(&data, &after)) {
		lf_warn("holds_expire_failed", "error=%s", "out of memory rendering a payment");
		return LF_ERROR;
	}
	bool done = false;
	lf_rc rc = lf_store_expire_hold(c, &p->id, now_ms, data.data, data.len, &done);
	lf_body_clear(&data);
	*expired += rc == LF_OK && done;
	return rc;
}

/* The due holds a page at a time, LF_EXPIRE_BATCH at most per round; a
 * failure ends the round (the next one tries again). */
static bool expire_work(struct lf_store_conn *c, void *arg)
{
	struct lf_reaper *rp = arg;
	rp->expired = 0;
	if (c == NULL)
		return true;
	struct lf_payment *due = calloc(LF_EXPIRE_PAGE, sizeof *due);
	if (due == NULL) {
		lf_warn("holds_expire_failed", "error=%s", "out of memory");
		return true;
	}
	lf_rc rc = LF_OK;
	for (unsigned tried = 0; tried < LF_EXPIRE_BATCH && rc == LF_OK;) {
		int64_t now = lf_time_now_ms();
		unsigned n = 0;
		rc = lf_store_due_holds(c, now, due, LF_EXPIRE_PAGE, &n);
		for (unsigned i = 0; i < n; i++) {
			if (rc == LF_OK)
				rc = expire_one(c, &due[i], now, &rp->expired);
			lf_payment_clear(&due[i]);
		}
		tried += n;
		if (n < LF_EXPIRE_PAGE)
			break;
	}
	free(due);
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
