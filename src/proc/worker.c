/*
 * proc/worker.c - one worker process. After fork it builds its own event_base,
 * an evhttp bound to the inherited listening socket (limits and timeouts
 * from the configuration), its database pool and Redis client, tells the
 * master it is ready, and serves until told to stop.
 *
 * Stopping (LF_CHAN_QUIT graceful, LF_CHAN_TERMINATE fast, or the channel
 * closing): stop accepting (the master and the next generation keep the
 * listening socket, so the kernel's accept queue never disappears), answer
 * every further request with Connection: close, let in-flight requests
 * finish, and for a graceful stop also wait until each keep-alive
 * connection has had its Connection: close reply. All of it is bounded by
 * shutdown_timeout; then evhttp_free() closes what is left.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>

#include "lf_account_cache.h"
#include "lf_app.h"
#include "lf_channel.h"
#include "lf_dbpool.h"
#include "lf_handlers.h"
#include "lf_log.h"
#include "lf_master.h"
#include "lf_reaper.h"
#include "lf_redis.h"
#include "lf_time.h"
#include "lf_worker.h"
#include "lf_zone.h"

#define LF_DRAIN_MIN_MS 200 /* grace for connections accepted just before we stopped */
#define LF_DRAIN_TICK_MS 25

/* Open-addressing set of live connections (pointer keys, tombstones). */
struct conn_set {
	struct evhttp_connection **slots;
	size_t cap, used, live;
};

#define TOMBSTONE ((struct evhttp_connection *)1)

struct worker {
	struct lf_app app;
	struct evhttp_bound_socket *bound;
	struct event *chan_ev, *drain_ev, *sigterm_ev, *sigquit_ev;
	struct conn_set conns;
	struct lf_reaper *reaper;
	int chan_fd;
	bool stopping, graceful;
	int64_t stop_started_ms, stop_deadline_ms;
};

static struct worker W;

static size_t ptr_hash(const void *p, size_t cap)
{
	uintptr_t x = (uintptr_t)p;
	x ^= x >> 17;
	x *= UINT64_C(0xed5ad4bb);
	x ^= x >> 11;
	return (size_t)x & (cap - 1);
}

static bool set_grow(struct conn_set *s)
{
	size_t ncap = s->cap ? s->cap * 2 : 256;
	struct evhttp_connection **n = calloc(ncap, sizeof *n);
	if (n == NULL)
		return false;
	for (size_t i = 0; i < s->cap; i++) {
		struct evhttp_connection *c = s->slots[i];
		if (c == NULL || c == TOMBSTONE)
			continue;
		size_t h = ptr_hash(c, ncap);
		while (n[h] != NULL)
			h = (h + 1) & (ncap - 1);
		n[h] = c;
	}
	free(s->slots);
	s->slots = n;
	s->cap = ncap;
	s->used = s->live;
	return true;
}

/* Returns true if c was added, false if present (or out of memory). */
static bool set_add(struct conn_set *s, struct evhttp_connection *c)
{
	if ((s->used + 1) * 2 > s->cap && !set_grow(s))
		return false;
	size_t h = ptr_hash(c, s->cap);
	size_t tomb = SIZE_MAX;
	while (s->slots[h] != NULL) {
		if (s->slots[h] == c)
			return false;
		if (s->slots[h] == TOMBSTONE && tomb == SIZE_MAX)
			tomb = h;
		h = (h + 1) & (s->cap - 1);
	}
	if (tomb != SIZE_MAX) {
		h = tomb;
	} else {
		s->used++;
	}
	s->slots[h] = c;
	s->live++;
	return true;
}

static void set_remove(struct conn_set *s, struct evhttp_connection *c)
{
	if (s->cap == 0)
		return;
	size_t h = ptr_hash(c, s->cap);
	while (s->slots[h] != NULL) {
		if (s->slots[h] == c) {
			s->slots[h] = TOMBSTONE;
			s->live--;
			return;
		}
		h = (h + 1) & (s->cap - 1);
	}
}

static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
	(void)arg;
	set_remove(&W.conns, evcon);
}

void lf_worker_track_connection(struct lf_app *app, struct evhttp_connection *evcon)
{
	(void)app;
	if (evcon != NULL && set_add(&W.conns, evcon))
		evhttp_connection_set_closecb(evcon, on_conn_close, NULL);
}

static void on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	int64_t now = lf_time_monotonic_ms();
	bool grace_over = now - W.stop_started_ms >= LF_DRAIN_MIN_MS;
	bool done = W.app.inflight == 0 && (!W.graceful || W.conns.live == 0);
	if ((grace_over && done) || now >= W.stop_deadline_ms) {
		if (!done)
			lf_warn("drain_timeout", "inflight=%u connections=%zu", W.app.inflight,
				W.conns.live);
		event_base_loopexit(W.app.base, NULL);
	}
}

static void begin_stop(bool graceful)
{
	if (W.stopping) {
		if (!graceful)
			W.graceful = false; /* a fast stop overrides a graceful one */
		return;
	}
	W.stopping = true;
	W.graceful = graceful;
	W.app.draining = true;
	W.stop_started_ms = lf_time_monotonic_ms();
	W.stop_deadline_ms = W.stop_started_ms + W.app.cfg->shutdown_timeout_ms;
	if (W.bound != NULL) {
		evhttp_del_accept_socket(W.app.http, W.bound);
		W.bound = NULL;
	}
	lf_info("worker_draining", "mode=%s inflight=%u connections=%zu",
		graceful ? "graceful" : "fast", W.app.inflight, W.conns.live);
	struct timeval tick = {0, LF_DRAIN_TICK_MS * 1000};
	W.drain_ev = event_new(W.app.base, -1, EV_PERSIST, on_drain_tick, NULL);
	if (W.drain_ev == NULL || event_add(W.drain_ev, &tick) != 0)
		event_base_loopexit(W.app.base, NULL);
}

static void on_channel(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	(void)arg;
	char buf[16];
	ssize_t r = read(fd, buf, sizeof buf);
	if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
		/* the master is gone: finish what we have and leave */
		event_del(W.chan_ev);
		begin_stop(false);
		return;
	}
	for (ssize_t i = 0; i < r; i++) {
		switch (buf[i]) {
		case LF_CHAN_QUIT: begin_stop(true); break;
		case LF_CHAN_TERMINATE: begin_stop(false); break;
		case LF_CHAN_REOPEN: (void)lf_log_reopen(); break;
		default: break;
		}
	}
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	begin_stop(sig == SIGQUIT);
}

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
	};
}

static int setup(const struct lf_config *cfg, int listen_fd, int chan_fd, struct lf_zone *zone,
		 unsigned generation, int index)
{
	W.chan_fd = chan_fd;
	W.app.cfg = cfg;
	W.app.zone = zone;
	W.app.generation = generation;
	W.app.client_id = 0;
	struct event_config *ecfg = event_config_new();
	if (ecfg == NULL)
		return 1;
	event_config_set_flag(ecfg, EVENT_BASE_FLAG_NOLOCK);
	W.app.base = event_base_new_with_config(ecfg);
	event_config_free(ecfg);
	if (W.app.base == NULL)
		return 1;
	W.app.http = evhttp_new(W.app.base);
	if (W.app.http == NULL)
		return 1;
	evhttp_set_max_headers_size(W.app.http, (ev_ssize_t)cfg->max_header_size);
	evhttp_set_max_body_size(W.app.http, (ev_ssize_t)cfg->max_body_size);
	struct timeval idle = {.tv_sec = cfg->keepalive_timeout_ms / 1000,
			       .tv_usec = (cfg->keepalive_timeout_ms % 1000) * 1000};
	evhttp_set_timeout_tv(W.app.http, &idle);
	evhttp_set_allowed_methods(W.app.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
						       EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						       EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	evhttp_set_default_content_type(W.app.http, "application/json");
	evhttp_set_gencb(W.app.http, lf_router_dispatch, &W.app);

	struct lf_db_params p = db_params(cfg);
	W.app.db = lf_dbpool_create(W.app.base, &p, cfg->pool_size);
	if (W.app.db == NULL) {
		lf_error("worker_setup_failed", "reason=\"database pool\"");
		return 1;
	}
	W.app.redis = lf_redis_create(W.app.base, cfg, zone->metrics);
	W.app.accounts = lf_account_cache_create(4096);
	if (W.app.accounts == NULL)
		return 1;
	/* one reaper per generation is enough */
	if (index == 0 && (W.reaper = lf_reaper_start(&W.app)) == NULL)
		return 1;

	W.chan_ev = event_new(W.app.base, chan_fd, EV_READ | EV_PERSIST, on_channel, NULL);
	W.sigterm_ev = evsignal_new(W.app.base, SIGTERM, on_signal, NULL);
	W.sigquit_ev = evsignal_new(W.app.base, SIGQUIT, on_signal, NULL);
	if (W.chan_ev == NULL || W.sigterm_ev == NULL || W.sigquit_ev == NULL ||
	    event_add(W.chan_ev, NULL) != 0 || event_add(W.sigterm_ev, NULL) != 0 ||
	    event_add(W.sigquit_ev, NULL) != 0)
		return 1;

	W.bound = evhttp_accept_socket_with_handle(W.app.http, listen_fd);
	if (W.bound == NULL) {
		lf_error("worker_setup_failed", "reason=\"cannot accept on the listening socket\"");
		return 1;
	}
	return 0;
}

static void teardown(void)
{
	/* Redis and the pool first: their last callbacks may still answer
	 * requests, which must exist until evhttp_free(). */
	lf_redis_free(W.app.redis);
	W.app.redis = NULL;
	lf_dbpool_free(W.app.db);
	W.app.db = NULL;
	lf_reaper_stop(W.reaper); /* after the pool: its last job has completed */
	W.reaper = NULL;
	if (W.app.http)
		evhttp_free(W.app.http);
	W.app.http = NULL;
	lf_account_cache_free(W.app.accounts);
	if (W.drain_ev)
		event_free(W.drain_ev);
	if (W.chan_ev)
		event_free(W.chan_ev);
	if (W.sigterm_ev)
		event_free(W.sigterm_ev);
	if (W.sigquit_ev)
		event_free(W.sigquit_ev);
	if (W.app.base)
		event_base_free(W.app.base);
	free(W.conns.slots);
	close(W.chan_fd);
}

int lf_worker_run(const struct lf_config *cfg, int listen_fd, int chan_fd, struct lf_zone *zone,
		  unsigned generation, int index)
{
	signal(SIGPIPE, SIG_IGN);
	int rc = setup(cfg, listen_fd, chan_fd, zone, generation, index);
	if (rc != 0) {
		(void)lf_channel_send(chan_fd, LF_CHAN_BAD_CONFIG);
		teardown();
		return LF_EXIT_CONFIG;
	}
	lf_info("worker_started", "generation=%u index=%d", generation, index);
	if (!lf_channel_send(chan_fd, LF_CHAN_READY)) {
		teardown();
		return 1;
	}
	event_base_dispatch(W.app.base);
	lf_info("worker_stopped", "generation=%u index=%d", generation, index);
	teardown();
	return 0;
}
