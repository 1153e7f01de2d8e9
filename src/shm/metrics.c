/*
 * shm/metrics.c - Prometheus rendering of the shared counters (lf_metrics.h)
 * and of the shared cache's statistics (lf_cache_stats). Latencies are
 * integer microseconds; the exposition prints seconds with integer
 * arithmetic.
 */
#include "config.h"

#include <event2/buffer.h>

#include "lf_cache.h"
#include "lf_metrics.h"
#include "lf_risk.h"

static const uint64_t bucket_us[LF_METRICS_LATENCY_BUCKETS] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 5000000,
};

static uint64_t load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void lf_metrics_observe_latency(struct lf_metrics *m, uint64_t micros)
{
	for (unsigned i = 0; i < LF_METRICS_LATENCY_BUCKETS; i++) {
		if (micros <= bucket_us[i]) {
			lf_metrics_inc(&m->latency_bucket[i]);
			break;
		}
	}
	lf_metrics_inc(&m->latency_count);
	lf_metrics_add(&m->latency_sum_us, micros);
}

static void counter(struct evbuffer *out, const char *name, const char *help, const uint64_t *v)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name,
			    name, (unsigned long long)load(v));
}

static void counter_value(struct evbuffer *out, const char *name, const char *help, uint64_t v)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name,
			    name, (unsigned long long)v);
}

static void gauge_value(struct evbuffer *out, const char *name, const char *help, uint64_t v)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %llu\n", name, help, name, name,
			    (unsigned long long)v);
}

static int64_t gauge_load(const int64_t *v)
{
	int64_t x = __atomic_load_n(v, __ATOMIC_RELAXED);
	return x > 0 ? x : 0;
}

/* The webhook delivery process: its backlog and failures. */
static void render_webhooks(const struct lf_metrics *m, struct evbuffer *out)
{
	gauge_value(out, "ledgerflow_webhook_backlog",
		    "Webhook deliveries pending (not yet answered 2xx), as last counted.",
		    (uint64_t)gauge_load(&m->webhook_backlog));
	gauge_value(out, "ledgerflow_webhook_given_up",
		    "Webhook deliveries given up after [webhooks] max_age, kept in the database.",
		    (uint64_t)gauge_load(&m->webhook_given_up_now));
	gauge_value(out, "ledgerflow_webhook_in_flight", "Webhook deliveries under way.",
		    (uint64_t)gauge_load(&m->webhook_in_flight));
	gauge_value(out, "ledgerflow_webhook_oldest_pending_seconds",
		    "Age of the oldest pending webhook delivery's event.",
		    (uint64_t)gauge_load(&m->webhook_oldest_age_ms) / 1000);
	counter(out, "ledgerflow_webhook_delivered_total", "Webhook deliveries answered 2xx.",
		&m->webhook_delivered);
	counter(out, "ledgerflow_webhook_failures_total",
		"Webhook delivery attempts that failed (no answer in time, or not 2xx).",
		&m->webhook_failures);
	counter(out, "ledgerflow_webhook_given_up_total",
		"Webhook deliveries given up after [webhooks] max_age.", &m->webhook_given_up);
	counter(out, "ledgerflow_webhook_process_restarts_total",
		"Times the webhook delivery process died and was restarted.", &m->webhook_restarts);
}

/* The risk rules: declines by rule, and webhook calls without an answer. */
static void render_risk(const struct lf_metrics *m, struct evbuffer *out)
{
	evbuffer_add_printf(out, "# HELP ledgerflow_risk_declined_total Payments a risk rule "
				 "declined (422 risk_declined), by rule.\n"
				 "# TYPE ledgerflow_risk_declined_total counter\n");
	for (int i = LF_RISK_NONE + 1; i < LF_RISK_NRULES; i++)
		evbuffer_add_printf(out, "ledgerflow_risk_declined_total{rule=\"%s\"} %llu\n",
				    lf_risk_rule_name((enum lf_risk_rule)i),
				    (unsigned long long)__atomic_load_n(&m->risk_declined[i],
									__ATOMIC_RELAXED));
	counter(out, "ledgerflow_risk_webhook_failures_total",
		"Risk webhook calls without a usable answer in time ([risk] webhook_policy "
		"decided).",
		&m->risk_webhook_failures);
}

/* The shared cache (idempotency tier 1): its counters live in its
 * partitions, summed over them. */
static void render_cache(struct lf_cache *cache, struct evbuffer *out)
{
	struct lf_cache_stats st;
	lf_cache_stats(cache, &st);
	counter_value(out, "ledgerflow_cache_hits_total",
		      "Shared cache lookups that found a value.", st.hits);
	counter_value(out, "ledgerflow_cache_misses_total",
		      "Shared cache lookups that found nothing (expired entries included).",
		      st.misses);
	counter_value(out, "ledgerflow_cache_expired_total",
		      "Shared cache entries dropped at their expiry.", st.expired);
	counter_value(out, "ledgerflow_cache_inserts_total", "Values stored in the shared cache.",
		      st.inserts);
	counter_value(out, "ledgerflow_cache_evictions_total",
		      "Live shared cache entries evicted to make room.", st.evictions);
	counter_value(out, "ledgerflow_cache_refused_total",
		      "Values the shared cache refused (too large for a partition).", st.refused);
	counter_value(out, "ledgerflow_cache_wipes_total",
		      "Shared cache partitions wiped (a worker died holding the lock, or "
		      "corruption was found).",
		      st.wipes);
	gauge_value(out, "ledgerflow_cache_entries", "Entries in the shared cache now.",
		    st.entries);
	gauge_value(out, "ledgerflow_cache_bytes", "Bytes of the shared cache's chunks in use now.",
		    st.slots_used * st.slot_size);
	gauge_value(out, "ledgerflow_cache_capacity_bytes",
		    "Bytes of chunks the shared cache has for entries.",
		    st.slots_total * st.slot_size);
}

static void seconds(struct evbuffer *out, uint64_t us)
{
	evbuffer_add_printf(out, "%llu.%06llu", (unsigned long long)(us / 1000000),
			    (unsigned long long)(us % 1000000));
}

void lf_metrics_render(const struct lf_metrics *m, struct lf_cache *cache, struct evbuffer *out)
{
	evbuffer_add_printf(
		out, "# HELP ledgerflow_http_responses_total HTTP responses by status class.\n"
		     "# TYPE ledgerflow_http_responses_total counter\n");
	for (unsigned c = 1; c <= 5; c++)
		evbuffer_add_printf(out, "ledgerflow_http_responses_total{class=\"%uxx\"} %llu\n",
				    c, (unsigned long long)load(&m->http_responses[c]));
	evbuffer_add_printf(out,
			    "# HELP ledgerflow_payments_total Payments decided, by outcome.\n"
			    "# TYPE ledgerflow_payments_total counter\n"
			    "ledgerflow_payments_total{status=\"completed\"} %llu\n"
			    "ledgerflow_payments_total{status=\"declined\"} %llu\n",
			    (unsigned long long)load(&m->payments_completed),
			    (unsigned long long)load(&m->payments_declined));
	evbuffer_add_printf(
		out,
		"# HELP ledgerflow_payment_batches_total Batches of POST /api/payments/batch "
		"decided, by mode and outcome.\n"
		"# TYPE ledgerflow_payment_batches_total counter\n"
		"ledgerflow_payment_batches_total{mode=\"atomic\",outcome=\"completed\"} %llu\n"
		"ledgerflow_payment_batches_total{mode=\"atomic\",outcome=\"failed\"} %llu\n"
		"ledgerflow_payment_batches_total{mode=\"independent\",outcome=\"decided\"} %llu\n",
		(unsigned long long)load(&m->payment_batches[0]),
		(unsigned long long)load(&m->payment_batches[1]),
		(unsigned long long)load(&m->payment_batches[2]));
	counter(out, "ledgerflow_accounts_created_total", "Accounts created.",
		&m->accounts_created);
	evbuffer_add_printf(
		out,
		"# HELP ledgerflow_idempotency_lookups_total Idempotency lookups by result and "
		"tier.\n"
		"# TYPE ledgerflow_idempotency_lookups_total counter\n"
		"ledgerflow_idempotency_lookups_total{result=\"hit\",tier=\"shm\"} %llu\n"
		"ledgerflow_idempotency_lookups_total{result=\"hit\",tier=\"redis\"} %llu\n"
		"ledgerflow_idempotency_lookups_total{result=\"hit\",tier=\"db\"} %llu\n"
		"ledgerflow_idempotency_lookups_total{result=\"miss\",tier=\"none\"} %llu\n",
		(unsigned long long)load(&m->idem_hit_shm),
		(unsigned long long)load(&m->idem_hit_redis),
		(unsigned long long)load(&m->idem_hit_db), (unsigned long long)load(&m->idem_miss));
	counter(out, "ledgerflow_idempotency_replays_unparsed_total",
		"Shm cache hits replayed before the body was parsed: the request's method, path "
		"and body were byte for byte those the outcome was stored for.",
		&m->idem_replay_unparsed);
	counter(out, "ledgerflow_idempotency_in_flight_total", "Requests answered 409 in flight.",
		&m->idem_in_flight);
	counter(out, "ledgerflow_idempotency_reused_total", "Keys reused with another request.",
		&m->idem_reused);
	evbuffer_add_printf(
		out,
		"# HELP ledgerflow_idempotency_refused_total Stored outcomes that failed the MAC "
		"check or did not decode: treated as a miss, never replayed.\n"
		"# TYPE ledgerflow_idempotency_refused_total counter\n"
		"ledgerflow_idempotency_refused_total{tier=\"shm\"} %llu\n"
		"ledgerflow_idempotency_refused_total{tier=\"redis\"} %llu\n",
		(unsigned long long)load(&m->idem_refused_shm),
		(unsigned long long)load(&m->idem_refused_redis));
	counter(out, "ledgerflow_idempotency_claims_repaired_total",
		"Claims found in Redis without an expiry (replaced by ours) or with a longer one "
		"than ours (shortened).",
		&m->idem_claims_repaired);
	counter(out, "ledgerflow_redis_errors_total", "Redis errors and timeouts.",
		&m->redis_errors);
	counter(out, "ledgerflow_redis_breaker_opened_total",
		"Times the Redis circuit breaker opened.", &m->redis_breaker_open);
	evbuffer_add_printf(
		out,
		"# HELP ledgerflow_redis_breaker_open Workers whose Redis circuit breaker is open "
		"now.\n"
		"# TYPE ledgerflow_redis_breaker_open gauge\n"
		"ledgerflow_redis_breaker_open %lld\n",
		(long long)__atomic_load_n(&m->redis_breaker_open_now, __ATOMIC_RELAXED));
	counter(out, "ledgerflow_db_retries_total",
		"Transactions retried after deadlock or lock wait timeout.", &m->db_retries);
	counter(out, "ledgerflow_db_unavailable_total", "Requests answered 503 for the database.",
		&m->db_unavailable);
	counter(out, "ledgerflow_db_connections_lost_total", "Database connections lost mid-call.",
		&m->db_conn_lost);
	static const char *const batch_kind[LF_BATCH_KINDS] = {"account_read", "payment"};
	evbuffer_add_printf(out, "# HELP ledgerflow_db_batch_size Jobs handed to one pool "
				 "thread at once (one query or one transaction), by kind.\n"
				 "# TYPE ledgerflow_db_batch_size histogram\n");
	for (unsigned k = 0; k < LF_BATCH_KINDS; k++) {
		uint64_t cumulative = 0;
		for (unsigned b = 0; b < LF_METRICS_BATCH_BUCKETS; b++) {
			cumulative += load(&m->db_batch_bucket[k][b]);
			if (b + 1 < LF_METRICS_BATCH_BUCKETS)
				evbuffer_add_printf(out,
						    "ledgerflow_db_batch_size_bucket{kind=\"%s\","
						    "le=\"%u\"} %llu\n",
						    batch_kind[k], 1u << b,
						    (unsigned long long)cumulative);
			else
				evbuffer_add_printf(out,
						    "ledgerflow_db_batch_size_bucket{kind=\"%s\","
						    "le=\"+Inf\"} %llu\n",
						    batch_kind[k], (unsigned long long)cumulative);
		}
		evbuffer_add_printf(out,
				    "ledgerflow_db_batch_size_sum{kind=\"%s\"} %llu\n"
				    "ledgerflow_db_batch_size_count{kind=\"%s\"} %llu\n",
				    batch_kind[k], (unsigned long long)load(&m->db_batch_jobs[k]),
				    batch_kind[k], (unsigned long long)cumulative);
	}
	evbuffer_add_printf(
		out,
		"# HELP ledgerflow_db_payment_groups_total Group commits of payments, by "
		"how their accounts were read (locked_first: one was contended).\n"
		"# TYPE ledgerflow_db_payment_groups_total counter\n"
		"ledgerflow_db_payment_groups_total{read=\"unlocked\"} %llu\n"
		"ledgerflow_db_payment_groups_total{read=\"locked_first\"} %llu\n",
		(unsigned long long)load(&m->db_groups[0]),
		(unsigned long long)load(&m->db_groups[1]));
	counter(out, "ledgerflow_db_payment_groups_stale_total",
		"Group commits that found an account moved since their read and decided again "
		"under the locks.",
		&m->db_groups_stale);
	counter(out, "ledgerflow_db_payment_groups_assumed_total",
		"Group commits that took an account as another group in flight leaves it "
		"(its intent).",
		&m->db_groups_assumed);
	counter(out, "ledgerflow_db_payment_group_fallbacks_total",
		"Payments a group commit handed back to be decided alone (a key already known, "
		"an account missing, ...).",
		&m->db_group_fallbacks);
	counter(out, "ledgerflow_db_queue_full_total",
		"Database jobs refused at once (503): the worker's job queue was full.",
		&m->db_queue_full);
	counter(out, "ledgerflow_readyz_db_pings_total",
		"Database pings made to refresh /readyz's state (at most one a second per "
		"worker).",
		&m->readyz_db_pings);
	counter(out, "ledgerflow_reloads_total", "Configuration reloads.", &m->reloads);
	counter(out, "ledgerflow_workers_spawned_total", "Workers started.", &m->workers_spawned);
	counter(out, "ledgerflow_workers_died_total", "Workers that died unexpectedly.",
		&m->workers_died);
	counter(out, "ledgerflow_idempotency_keys_reaped_total",
		"Expired idempotency keys removed.", &m->keys_reaped);
	render_webhooks(m, out);
	render_risk(m, out);
	if (cache != NULL)
		render_cache(cache, out);
	evbuffer_add_printf(
		out,
		"# HELP ledgerflow_connections_open HTTP connections open in all workers.\n"
		"# TYPE ledgerflow_connections_open gauge\n"
		"ledgerflow_connections_open %lld\n",
		(long long)__atomic_load_n(&m->conn_open, __ATOMIC_RELAXED));
	counter(out, "ledgerflow_connections_refused_total",
		"Connections closed at once: the worker was at max_connections.", &m->conn_refused);
	evbuffer_add_printf(
		out,
		"# HELP ledgerflow_connections_timed_out_total Connections closed because a "
		"request's headers or body were not complete in time.\n"
		"# TYPE ledgerflow_connections_timed_out_total counter\n"
		"ledgerflow_connections_timed_out_total{phase=\"headers\"} %llu\n"
		"ledgerflow_connections_timed_out_total{phase=\"body\"} %llu\n",
		(unsigned long long)load(&m->conn_header_timeout),
		(unsigned long long)load(&m->conn_body_timeout));
	counter(out, "ledgerflow_accept_errors_total",
		"accept() failures (EMFILE, ENFILE...) that paused accepting.", &m->accept_errors);
	counter(out, "ledgerflow_accept_balanced_total",
		"Times a worker holding more than its share of the open connections stopped "
		"accepting until it was back within it.",
		&m->accept_balanced);
	counter(out, "ledgerflow_auth_lookups_total", "API key lookups that went to the database.",
		&m->auth_lookups);
	counter(out, "ledgerflow_auth_rejected_total", "401 answers: no valid API key.",
		&m->auth_rejected);
	counter(out, "ledgerflow_auth_forbidden_total", "403 answers: a scope was missing.",
		&m->auth_forbidden);
	evbuffer_add_printf(
		out,
		"# HELP ledgerflow_rate_limited_total 429 answers, by the limit that refused.\n"
		"# TYPE ledgerflow_rate_limited_total counter\n"
		"ledgerflow_rate_limited_total{limit=\"client\"} %llu\n"
		"ledgerflow_rate_limited_total{limit=\"anonymous\"} %llu\n"
		"ledgerflow_rate_limited_total{limit=\"global\"} %llu\n",
		(unsigned long long)load(&m->rate_limited),
		(unsigned long long)load(&m->rate_limited_anon),
		(unsigned long long)load(&m->rate_limited_global));
	counter(out, "ledgerflow_trace_spans_exported_total",
		"Spans the collector accepted ([tracing] endpoint).", &m->trace_spans_exported);
	counter(out, "ledgerflow_trace_spans_dropped_total",
		"Spans dropped: the queue was full (a slow collector) or their export failed.",
		&m->trace_spans_dropped);
	counter(out, "ledgerflow_trace_export_failures_total",
		"Exports to the collector that failed or timed out.", &m->trace_export_failures);
	counter(out, "ledgerflow_ratelimit_global_unavailable_total",
		"Requests [ratelimit] global could not count in Redis (the limit failed open).",
		&m->ratelimit_global_unavailable);

	evbuffer_add_printf(out, "# HELP ledgerflow_request_duration_seconds Request latency.\n"
				 "# TYPE ledgerflow_request_duration_seconds histogram\n");
	uint64_t cumulative = 0;
	for (unsigned i = 0; i < LF_METRICS_LATENCY_BUCKETS; i++) {
		cumulative += load(&m->latency_bucket[i]);
		evbuffer_add_printf(out, "ledgerflow_request_duration_seconds_bucket{le=\"");
		seconds(out, bucket_us[i]);
		evbuffer_add_printf(out, "\"} %llu\n", (unsigned long long)cumulative);
	}
	evbuffer_add_printf(out, "ledgerflow_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
			    (unsigned long long)load(&m->latency_count));
	evbuffer_add_printf(out, "ledgerflow_request_duration_seconds_sum ");
	seconds(out, load(&m->latency_sum_us));
	evbuffer_add_printf(out, "\nledgerflow_request_duration_seconds_count %llu\n",
			    (unsigned long long)load(&m->latency_count));
}
