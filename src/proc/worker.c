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
#include "lf_edge.h"
#include "lf_gate.h"
#include "lf_handlers.h"
#include "lf_log.h"
#include "lf_master.h"
#include "lf_reaper.h"
#include "lf_redis.h"
#include "lf_loopread.h"
#include "lf_replica.h"
#include "lf_store.h"
#include "lf_time.h"
#include "lf_worker.h"
#include "lf_trace.h"
#include "lf_zone.h"

#define LF_DRAIN_MIN_MS 200 /* grace for connections accepted just before we stopped */
#define LF_DRAIN_TICK_MS 25

struct worker {
	struct lf_app app;
	struct evhttp_bound_socket *bound;
	struct evhttp *ops_http; /* [server] metrics_listen, or NULL */
	struct evhttp_bound_socket *ops_bound;
	struct event *chan_ev, *drain_ev, *sigterm_ev, *sigquit_ev;
	struct lf_reaper *reaper;
	int chan_fd;
	bool stopping, graceful;
	int64_t stop_started_ms, stop_deadline_ms;
};

static struct worker W;

static void on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	int64_t now = lf_time_monotonic_ms();
	bool grace_over = now - W.stop_started_ms >= LF_DRAIN_MIN_MS;
	size_t conns = lf_edge_connections_used(W.app.edge);
	bool done = W.app.inflight == 0 && (!W.graceful || conns == 0);
	if ((grace_over && done) || now >= W.stop_deadline_ms) {
		if (!done)
			lf_warn("drain_timeout", "inflight=%u connections=%zu", W.app.inflight,
				conns);
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
		lf_edge_unwatch_listener(W.app.edge);
		evhttp_del_accept_socket(W.app.http, W.bound);
		W.bound = NULL;
	}
	if (W.ops_bound != NULL) {
		evhttp_del_accept_socket(W.ops_http, W.ops_bound);
		W.ops_bound = NULL;
	}
	lf_info("worker_draining", "mode=%s inflight=%u connections=%zu",
		graceful ? "graceful" : "fast", W.app.inflight,
		lf_edge_connections_used(W.app.edge));
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

struct lf_db_params lf_worker_db_params(const struct lf_config *cfg)
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

/* [mysql_replica]: its own address and login, the rest as [mysql] */
static struct lf_db_params replica_params(const struct lf_config *cfg)
{
	struct lf_db_params p = lf_worker_db_params(cfg);
	p.host = cfg->replica_host;
	p.port = cfg->replica_port;
	if (cfg->replica_user[0] != '\0') {
		p.user = cfg->replica_user;
		p.password = cfg->replica_password;
	}
	if (cfg->replica_database[0] != '\0')
		p.database = cfg->replica_database;
	p.unix_socket = cfg->replica_socket[0] ? cfg->replica_socket : NULL;
	p.connect_timeout_s = (unsigned)((cfg->replica_connect_timeout_ms + 999) / 1000);
	p.rw_timeout_s = (unsigned)((cfg->replica_request_timeout_ms + 999) / 1000);
	return p;
}

/* The evhttp of [server] metrics_listen: /metrics, /healthz, /readyz
 * only, without a key (an address for the operators, not the clients). */
static bool setup_ops(const struct lf_config *cfg, int ops_fd)
{
	W.ops_http = evhttp_new(W.app.base);
	if (W.ops_http == NULL)
		return false;
	evhttp_set_max_headers_size(W.ops_http, (ev_ssize_t)cfg->max_header_size);
	evhttp_set_max_body_size(W.ops_http, 1024);
	struct timeval idle = {.tv_sec = cfg->keepalive_timeout_ms / 1000,
			       .tv_usec = (cfg->keepalive_timeout_ms % 1000) * 1000};
	evhttp_set_timeout_tv(W.ops_http, &idle);
	evhttp_set_allowed_methods(W.ops_http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_gencb(W.ops_http, lf_router_dispatch_ops, &W.app);
	W.ops_bound = evhttp_accept_socket_with_handle(W.ops_http, ops_fd);
	return W.ops_bound != NULL;
}

static int setup(const struct lf_config *cfg, int listen_fd, int ops_fd, int chan_fd,
		 struct lf_zone *zone, unsigned generation, int index)
{
	W.chan_fd = chan_fd;
	W.app.cfg = cfg;
	W.app.zone = zone;
	W.app.generation = generation;
	struct event_config *ecfg = event_config_new();
	if (ecfg == NULL)
		return 1;
	event_config_set_flag(ecfg, EVENT_BASE_FLAG_NOLOCK);
	/* epoll changes are applied once per loop iteration: evhttp deletes
	 * and re-adds a connection's read and write events around every
	 * request (4 epoll_ctl per keep-alive request without this, ~0 with
	 * it). libevent's caveat: an fd cloned with dup() and registered
	 * twice would confuse epoll; this process registers no dup()ed fd
	 * (its only dup2() calls, in the master, are stdio onto /dev/null) */
	event_config_set_flag(ecfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
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
	W.app.edge = lf_edge_create(&W.app);
	if (W.app.edge == NULL)
		return 1;

	struct lf_db_params p = lf_worker_db_params(cfg);
	struct lf_dbpool_limits limits = {.max_queue = cfg->mysql_max_queue,
					  .batch_max = cfg->mysql_batch_max,
					  .batch_window_us = cfg->mysql_batch_window_us,
					  .batch_concurrency = cfg->mysql_batch_concurrency,
					  .failback_interval_ms = cfg->mysql_failback_interval_ms};
	lf_store_use_intents(zone->intents); /* before the pool threads start */
	W.app.db = lf_dbpool_create(W.app.base, &p, cfg->pool_size, &limits, zone->metrics);
	if (W.app.db == NULL) {
		lf_error("worker_setup_failed", "reason=\"database pool\"");
		return 1;
	}
	/* account reads on this loop, over a connection of the primary's pool
	 * (lf_loopread.h); without it they all take the pool path */
	if (cfg->mysql_loop_reads) {
		W.app.loopread = lf_loopread_create(W.app.base, W.app.db, cfg->mysql_max_queue,
						    cfg->mysql_connect_timeout_ms, zone->metrics);
		if (W.app.loopread == NULL)
			lf_warn("worker_loop_reads_off", "reason=\"out of memory\"");
	}
	if (cfg->replica_host[0] != '\0') {
		struct lf_db_params rp = replica_params(cfg);
		W.app.replica = lf_replica_create(W.app.base, &rp, cfg->replica_pool_size, &limits,
						  cfg->replica_max_lag_ms, W.app.db, zone->metrics);
		if (W.app.replica == NULL) {
			lf_error("worker_setup_failed", "reason=\"read replica pool\"");
			return 1;
		}
	}
	if (!lf_trace_start(W.app.base, cfg, zone->metrics))
		lf_warn("worker_tracing_off", "reason=\"the [tracing] exporter could not start\"");
	W.app.redis = lf_redis_create(W.app.base, cfg, zone->metrics);
	W.app.accounts = lf_account_cache_create(4096);
	if (W.app.accounts == NULL)
		return 1;
	if (!lf_gate_start(&W.app)) {
		lf_error("worker_start_failed", "reason=\"authentication epoch poll\"");
		return 1;
	}
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
	if (lf_edge_watch_listener(W.app.edge, W.bound) != LF_OK)
		return 1;
	if (ops_fd >= 0 && !setup_ops(cfg, ops_fd)) {
		lf_error("worker_setup_failed",
			 "reason=\"cannot accept on server.metrics_listen\"");
		return 1;
	}
	return 0;
}

static void teardown(void)
{
	/* Redis and the pool first: their last callbacks may still answer
	 * requests, which must exist until evhttp_free(). */
	lf_redis_free(W.app.redis);
	lf_trace_stop();
	W.app.redis = NULL;
	lf_loopread_free(W.app.loopread); /* its last reads go to the pool */
	W.app.loopread = NULL;
	lf_replica_free(W.app.replica); /* hands jobs to the primary's pool */
	W.app.replica = NULL;
	lf_dbpool_free(W.app.db);
	W.app.db = NULL;
	lf_reaper_stop(W.reaper); /* after the pool: its last job has completed */
	lf_gate_stop(&W.app);
	W.reaper = NULL;
	if (W.ops_http)
		evhttp_free(W.ops_http);
	W.ops_http = NULL;
	if (W.app.http)
		evhttp_free(W.app.http);
	W.app.http = NULL;
	lf_edge_free(W.app.edge); /* after evhttp_free: it closed the connections */
	W.app.edge = NULL;
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
	close(W.chan_fd);
}

int lf_worker_run(const struct lf_config *cfg, int listen_fd, int ops_fd, int chan_fd,
		  struct lf_zone *zone, unsigned generation, int index,
		  const struct lf_secrets *secrets)
{
	W.app.secrets = secrets;
	W.app.pepper = secrets->pepper;
	signal(SIGPIPE, SIG_IGN);
	int rc = setup(cfg, listen_fd, ops_fd, chan_fd, zone, generation, index);
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
