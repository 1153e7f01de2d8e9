/*
 * webhooks/deliver.c - the webhook delivery process, lf-webhooks: a child
 * of the master, not a worker (proc/webhooks_proc.c starts and restarts
 * it). One libevent loop; a timer every [webhooks] poll_interval does a
 * round:
 *   1. connect when needed, and become the database's one deliverer (a
 *      named lock held by its connection; another host's process waits);
 *   2. every second, load the webhooks (a new or removed one takes effect
 *      within that second), opening each sealed secret with the pepper;
 *   3. number the committed events (commit order, lf_events_sequence) and
 *      queue each webhook's new ones (lf_webhook_enqueue);
 *   4. per webhook, read its oldest pending deliveries (at most
 *      WINDOW) in seq order and start those that are due, up to
 *      [webhooks] max_in_flight in all, keeping order per account: a
 *      delivery waits while an earlier one of the same webhook that
 *      shares an account with it is pending (in flight, or failed and
 *      waiting for its retry);
 *   5. every few seconds, count the backlog for /metrics.
 * A delivery is a POST of the event's JSON with LedgerFlow-Event-Id and
 * LedgerFlow-Signature; a 2xx deletes its row, anything else sets its
 * next attempt after an exponential back-off with jitter, until the event
 * is [webhooks] max_age old (then it is kept as failed). The queue is in
 * the database, so a crash or restart loses nothing: what was in flight
 * is sent again (at least once; the receiver dedupes by event id). The
 * database calls are blocking, on this loop: the process has nothing else
 * to serve, and each is bounded by [mysql] request_timeout.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "lf_config.h"
#include "lf_events.h"
#include "lf_log.h"
#include "lf_metrics.h"
#include "lf_store.h"
#include "lf_time.h"
#include "lf_zone.h"
#include "webhooks_int.h"

#define HOOKS_MAX 64      /* webhooks served at once */
#define WINDOW 256        /* pending deliveries looked at per webhook and round */
#define SEQUENCE_MAX 1000 /* events numbered per round */
#define ENQUEUE_MAX 1000  /* events looked at per webhook and round */
#define RELOAD_MS 1000    /* webhooks reloaded this often */
#define BACKLOG_MS 2000   /* backlog counted this often */
#define INFLIGHT_MAX 1024 /* [webhooks] max_in_flight's ceiling */

struct hook {
	struct lf_webhook_row row;
	char secret[LF_WEBHOOK_SECRET_TEXT_LEN + 1];
	bool usable;                   /* the secret opened and the URL is one we send to */
	bool seen;                     /* in the latest load */
	uint64_t flying[INFLIGHT_MAX]; /* seqs in flight */
	unsigned nflying;
};

struct dp {
	const struct lf_config *cfg;
	struct lf_zone *zone;
	const struct lf_secrets *secrets;
	struct event_base *base;
	struct lf_wh_client *http;
	struct lf_store_conn *db;
	bool leader;
	struct hook *hooks[HOOKS_MAX];
	unsigned nhooks;
	int in_flight;
	int64_t next_reload_ms, next_backlog_ms;
	struct lf_delivery_row rows[WINDOW];
};

struct flight {
	struct dp *dp;
	struct hook *h; /* NULL once the webhook was removed meanwhile */
	lf_uuid webhook;
	uint64_t seq;
	unsigned attempts;
	int64_t created_ms;
	char *body;
};

static struct dp D;

static struct lf_db_params db_params(const struct lf_config *cfg)
{
	return (struct lf_db_params){
		.host = cfg->mysql_host,
		.port = cfg->mysql_port,
		.user = cfg->mysql_user,
		.password = cfg->mysql_password,
		.database = cfg->mysql_database,
		.unix_socket = cfg->mysql_socket[0] ? cfg->mysql_socket : NULL,
		.connect_timeout_s = (unsigned)((cfg->mysql_connect_timeout_ms + 999) / 1000),
		.rw_timeout_s = (unsigned)((cfg->mysql_request_timeout_ms + 999) / 1000),
		.lock_wait_timeout_s = (unsigned)((cfg->mysql_lock_wait_timeout_ms + 999) / 1000),
		.ssl_mode = cfg->mysql_ssl_mode,
		.ssl_ca = cfg->mysql_ssl_ca,
		.ssl_cert = cfg->mysql_ssl_cert,
		.ssl_key = cfg->mysql_ssl_key,
	};
}

/* A failed call: a broken link drops the connection (and the leadership
 * that was its lock); the next round connects again. */
static void db_failed(struct dp *d, lf_rc rc)
{
	if (rc == LF_LOST || !lf_store_ping(d->db)) {
		lf_store_close(d->db);
		d->db = NULL;
		d->leader = false;
	}
}

/* ---- the webhooks ---- */

static void hook_free(struct hook *h)
{
	OPENSSL_cleanse(h->secret, sizeof h->secret);
	free(h);
}

static struct hook *hook_find(struct dp *d, const lf_uuid *id)
{
	for (unsigned i = 0; i < d->nhooks; i++)
		if (memcmp(d->hooks[i]->row.id.b, id->b, 16) == 0)
			return d->hooks[i];
	return NULL;
}

static void reload_hooks(struct dp *d)
{
	struct lf_webhook_row *rows = calloc(HOOKS_MAX, sizeof *rows);
	unsigned n = 0;
	if (rows == NULL)
		return;
	lf_rc rc = lf_store_list_webhooks(d->db, rows, HOOKS_MAX, &n);
	if (rc != LF_OK) {
		free(rows);
		db_failed(d, rc);
		return;
	}
	for (unsigned i = 0; i < d->nhooks; i++)
		d->hooks[i]->seen = false;
	for (unsigned i = 0; i < n; i++) {
		struct hook *h = hook_find(d, &rows[i].id);
		if (h == NULL && d->nhooks < HOOKS_MAX && (h = calloc(1, sizeof *h)) != NULL) {
			h->row = rows[i];
			h->usable = lf_webhook_url_valid(h->row.url) &&
				    lf_webhook_secret_open(d->secrets->pepper, &h->row.id,
							   h->row.secret_box, h->row.secret_box_len,
							   h->secret);
			if (!h->usable) {
				char id[LF_UUID_STR_LEN + 1];
				lf_uuid_format(&h->row.id, id);
				lf_error("webhook_unusable",
					 "webhook=%s reason=\"its secret does not open with this "
					 "pepper, or its URL is not http(s)\"",
					 id);
			}
			d->hooks[d->nhooks++] = h;
		}
		if (h != NULL)
			h->seen = true;
	}
	free(rows);
	/* removed ones: their flights finish without them */
	unsigned k = 0;
	for (unsigned i = 0; i < d->nhooks; i++) {
		if (d->hooks[i]->seen) {
			d->hooks[k++] = d->hooks[i];
			continue;
		}
		lf_info("webhook_removed", "in_flight=%u", d->hooks[i]->nflying);
		hook_free(d->hooks[i]);
	}
	d->nhooks = k;
}

/* ---- one delivery ---- */

static bool flying(const struct hook *h, uint64_t seq)
{
	for (unsigned i = 0; i < h->nflying; i++)
		if (h->flying[i] == seq)
			return true;
	return false;
}

static void land(struct hook *h, uint64_t seq)
{
	for (unsigned i = 0; i < h->nflying; i++)
		if (h->flying[i] == seq) {
			h->flying[i] = h->flying[--h->nflying];
			return;
		}
}

/* The wait before attempt n+1 (n >= 1 failed): retry_base * 2^(n-1), at
 * most retry_max, then "equal jitter": half of it fixed, half random. */
static int64_t backoff_ms(const struct lf_config *cfg, unsigned failed)
{
	int64_t b = cfg->webhooks_retry_base_ms;
	for (unsigned i = 1; i < failed && b < cfg->webhooks_retry_max_ms; i++)
		b *= 2;
	if (b > cfg->webhooks_retry_max_ms)
		b = cfg->webhooks_retry_max_ms;
	uint32_t r = 0;
	if (RAND_bytes((unsigned char *)&r, sizeof r) != 1)
		r = (uint32_t)lf_time_monotonic_ms();
	return b / 2 + (int64_t)(r % (uint64_t)(b / 2 + 1));
}

static void landed(int status, const char *why, void *arg)
{
	struct flight *f = arg;
	struct dp *d = f->dp;
	struct lf_metrics *m = d->zone->metrics;
	d->in_flight--;
	__atomic_fetch_sub(&m->webhook_in_flight, 1, __ATOMIC_RELAXED);
	struct hook *h = hook_find(d, &f->webhook);
	if (h != NULL)
		land(h, f->seq);
	bool ok = status >= 200 && status <= 299;
	int64_t now = lf_time_now_ms();
	int64_t next = now;
	bool give_up = false;
	char id[LF_UUID_STR_LEN + 1], q[240];
	lf_uuid_format(&f->webhook, id);
	if (ok) {
		lf_metrics_inc(&m->webhook_delivered);
	} else {
		lf_metrics_inc(&m->webhook_failures);
		next = now + backoff_ms(d->cfg, f->attempts + 1);
		give_up = next - f->created_ms > d->cfg->webhooks_max_age_ms;
		if (give_up)
			lf_metrics_inc(&m->webhook_given_up);
		lf_log_limited(
			give_up ? LF_LOG_ERROR : LF_LOG_WARN, "webhook_failed",
			give_up ? "webhook_given_up" : "webhook_failed",
			"webhook=%s seq=%llu status=%d error=%s attempts=%u retry_in_ms=%lld", id,
			(unsigned long long)f->seq, status,
			lf_log_quote(why[0] ? why : "not 2xx", q, sizeof q), f->attempts + 1,
			give_up ? -1LL : (long long)(next - now));
	}
	/* not recorded (the database is away): the row stays pending and is
	 * sent again - at least once */
	if (d->db != NULL && d->leader) {
		lf_rc rc = lf_store_webhook_result(d->db, &f->webhook, f->seq, ok, status, next,
						   give_up);
		if (rc != LF_OK)
			db_failed(d, rc);
	}
	free(f->body);
	free(f);
}

static bool launch(struct dp *d, struct hook *h, const struct lf_delivery_row *row)
{
	struct evbuffer *b = evbuffer_new();
	struct flight *f = calloc(1, sizeof *f);
	if (b == NULL || f == NULL) {
		evbuffer_free(b);
		free(f);
		return false;
	}
	lf_event_render(b, &row->ev);
	size_t len = evbuffer_get_length(b);
	f->body = malloc(len + 1);
	if (f->body == NULL) {
		evbuffer_free(b);
		free(f);
		return false;
	}
	evbuffer_remove(b, f->body, len);
	f->body[len] = '\0';
	evbuffer_free(b);
	char sig[128], evid[LF_UUID_STR_LEN + 1];
	lf_uuid_format(&row->ev.id, evid);
	*f = (struct flight){.dp = d,
			     .webhook = h->row.id,
			     .seq = row->seq,
			     .attempts = row->attempts,
			     .created_ms = row->ev.created_ms,
			     .body = f->body};
	if (!lf_webhook_sign(h->secret, lf_time_now_ms() / 1000, f->body, len, sig, sizeof sig) ||
	    !lf_wh_post(d->http, h->row.url, evid, sig, f->body, len, d->cfg->webhooks_timeout_ms,
			landed, f)) {
		free(f->body);
		free(f);
		return false;
	}
	h->flying[h->nflying++] = row->seq;
	d->in_flight++;
	__atomic_fetch_add(&d->zone->metrics->webhook_in_flight, 1, __ATOMIC_RELAXED);
	return true;
}

/* ---- a round ---- */

static bool blocked(const lf_uuid *held, unsigned n, const lf_uuid *a)
{
	for (unsigned i = 0; i < n; i++)
		if (memcmp(held[i].b, a->b, 16) == 0)
			return true;
	return false;
}

/* Start what is due for one webhook, in seq order, keeping order per
 * account; returns the creation time of its oldest pending event (0 none). */
static int64_t serve_hook(struct dp *d, struct hook *h, int64_t now)
{
	unsigned n = 0;
	lf_rc rc = lf_store_webhook_pending(d->db, &h->row.id, d->rows, WINDOW, &n);
	if (rc != LF_OK) {
		db_failed(d, rc);
		return 0;
	}
	int64_t oldest = n > 0 ? d->rows[0].ev.created_ms : 0;
	lf_uuid held[2 * WINDOW];
	unsigned nheld = 0;
	for (unsigned i = 0; i < n; i++) {
		struct lf_delivery_row *r = &d->rows[i];
		bool wait = blocked(held, nheld, &r->account) ||
			    (r->has_account2 && blocked(held, nheld, &r->account2));
		if (!wait && h->usable && !flying(h, r->seq) && r->next_ms <= now &&
		    d->in_flight < d->cfg->webhooks_max_in_flight && h->nflying < INFLIGHT_MAX)
			(void)launch(d, h, r); /* not started: tried again next round */
		/* pending, whatever became of it: the later ones of its accounts wait */
		held[nheld++] = r->account;
		if (r->has_account2)
			held[nheld++] = r->account2;
		lf_delivery_row_clear(r);
	}
	return oldest;
}

static void round_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct dp *d = arg;
	int64_t now = lf_time_now_ms(), mono = lf_time_monotonic_ms();
	if (d->db == NULL) {
		char err[512];
		struct lf_db_params p = db_params(d->cfg);
		d->db = lf_store_connect(&p, err, sizeof err);
		if (d->db == NULL) {
			char q[600];
			lf_log_limited(LF_LOG_WARN, "webhooks_db", "webhooks_db_unavailable",
				       "error=%s", lf_log_quote(err, q, sizeof q));
			return;
		}
	}
	if (!d->leader) {
		lf_rc rc = lf_store_webhook_lead(d->db, &d->leader);
		if (rc != LF_OK)
			db_failed(d, rc);
		if (!d->leader)
			return;
		lf_info("webhooks_leading", "%s", "");
		d->next_reload_ms = 0;
	}
	if (mono >= d->next_reload_ms) {
		reload_hooks(d);
		d->next_reload_ms = mono + RELOAD_MS;
	}
	if (d->db != NULL && d->nhooks > 0) {
		lf_rc rc = lf_store_sequence_events(d->db, SEQUENCE_MAX);
		if (rc != LF_OK)
			db_failed(d, rc);
	}
	int64_t oldest = 0;
	for (unsigned i = 0; i < d->nhooks && d->db != NULL; i++) {
		unsigned queued = 0;
		lf_rc rc = lf_store_webhook_enqueue(d->db, &d->hooks[i]->row.id, ENQUEUE_MAX, now,
						    &queued);
		if (rc != LF_OK) {
			db_failed(d, rc);
			break;
		}
		int64_t o = serve_hook(d, d->hooks[i], now);
		if (o != 0 && (oldest == 0 || o < oldest))
			oldest = o;
	}
	if (d->db != NULL && mono >= d->next_backlog_ms) {
		uint64_t pending = 0, failed = 0;
		lf_rc rc = lf_store_webhook_backlog(d->db, &pending, &failed);
		if (rc == LF_OK) {
			struct lf_metrics *m = d->zone->metrics;
			__atomic_store_n(&m->webhook_backlog, (int64_t)pending, __ATOMIC_RELAXED);
			__atomic_store_n(&m->webhook_given_up_now, (int64_t)failed,
					 __ATOMIC_RELAXED);
			__atomic_store_n(&m->webhook_oldest_age_ms, oldest ? now - oldest : 0,
					 __ATOMIC_RELAXED);
		} else {
			db_failed(d, rc);
		}
		d->next_backlog_ms = mono + BACKLOG_MS;
	}
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	struct dp *d = arg;
	lf_info("webhooks_stopping", "signal=%d in_flight=%d", (int)sig, d->in_flight);
	event_base_loopbreak(d->base); /* in flight: sent again by the next process */
}

int lf_webhooks_run(const struct lf_config *cfg, struct lf_zone *zone,
		    const struct lf_secrets *secrets)
{
	struct dp *d = &D;
	memset(d, 0, sizeof *d);
	d->cfg = cfg;
	d->zone = zone;
	d->secrets = secrets;
	d->base = event_base_new();
	char err[300];
	d->http = d->base ? lf_wh_client_new(d->base, cfg->webhooks_tls_ca, err, sizeof err) : NULL;
	if (d->http == NULL) {
		char q[400];
		lf_error("webhooks_start_failed", "error=%s",
			 lf_log_quote(d->base ? err : "no event base", q, sizeof q));
		if (d->base)
			event_base_free(d->base);
		return 1;
	}
	__atomic_store_n(&zone->metrics->webhook_in_flight, 0, __ATOMIC_RELAXED);
	struct timeval every = {.tv_sec = cfg->webhooks_poll_interval_ms / 1000,
				.tv_usec = (cfg->webhooks_poll_interval_ms % 1000) * 1000};
	struct event *tick = event_new(d->base, -1, EV_PERSIST, round_cb, d);
	struct event *term = evsignal_new(d->base, SIGTERM, on_stop, d);
	struct event *quit = evsignal_new(d->base, SIGQUIT, on_stop, d);
	if (tick == NULL || term == NULL || quit == NULL || event_add(tick, &every) != 0 ||
	    event_add(term, NULL) != 0 || event_add(quit, NULL) != 0) {
		lf_error("webhooks_start_failed", "error=%s", "\"events\"");
		return 1;
	}
	lf_info("webhooks_started", "max_in_flight=%d", cfg->webhooks_max_in_flight);
	event_base_dispatch(d->base);
	event_free(tick);
	event_free(term);
	event_free(quit);
	for (unsigned i = 0; i < d->nhooks; i++)
		hook_free(d->hooks[i]);
	lf_wh_client_free(d->http);
	lf_store_close(d->db);
	event_base_free(d->base); /* flights in the air are dropped: sent again later */
	return 0;
}
