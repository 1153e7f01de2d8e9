/*
 * lf_metrics.h - counters shared by all processes, living in the shared
 * zone (so /metrics aggregates every worker of every generation), updated
 * with atomic operations and rendered in the Prometheus text format,
 * together with the statistics the shared cache keeps itself.
 */
#ifndef LF_METRICS_H
#define LF_METRICS_H

#include <stdint.h>

#include "lf_risk.h"

struct evbuffer;
struct lf_cache;

#define LF_METRICS_LATENCY_BUCKETS 12
/* jobs the pool hands a thread at once, by kind (lf_dbpool.h) */
enum lf_metrics_batch_kind { LF_BATCH_ACCOUNT_READ, LF_BATCH_PAYMENT, LF_BATCH_KINDS };
#define LF_METRICS_BATCH_BUCKETS 8 /* 1, 2, 4 ... 64, +Inf */

struct lf_metrics {
	uint64_t http_responses[6]; /* index = status / 100 (0 unused) */
	uint64_t payments_completed;
	uint64_t payments_declined;
	uint64_t accounts_created;
	uint64_t idem_hit_shm, idem_hit_redis, idem_hit_db;
	uint64_t idem_replay_unparsed; /* of idem_hit_shm: byte-identical, body not parsed */
	uint64_t idem_miss, idem_in_flight, idem_reused;
	uint64_t idem_refused_shm, idem_refused_redis; /* a stored value that did not unseal */
	uint64_t idem_claims_repaired; /* a claim without expiry replaced, or a long one cut */
	uint64_t redis_errors, redis_breaker_open; /* breaker_open: times it opened */
	int64_t redis_breaker_open_now;            /* gauge: workers whose breaker is open */
	uint64_t db_retries, db_unavailable, db_conn_lost;
	uint64_t db_queue_full; /* jobs refused: the worker's job queue was at mysql.max_queue */
	/* group commits of payments (src/api/payment_batch.c): by how their
	 * accounts were read ([0] without a lock, [1] locked first: one was
	 * contended), their STALE answers (decided again under the locks),
	 * those that built on another group's intents (lf_intents.h), and
	 * the members handed back to be decided alone */
	uint64_t db_groups[2], db_groups_stale, db_groups_assumed, db_group_fallbacks;
	uint64_t db_batch_bucket[LF_BATCH_KINDS][LF_METRICS_BATCH_BUCKETS]; /* not cumulative */
	uint64_t db_batch_jobs[LF_BATCH_KINDS]; /* the histogram's sum */
	uint64_t readyz_db_pings;               /* database pings made for /readyz's state */
	uint64_t reloads, workers_spawned, workers_died;
	uint64_t keys_reaped;
	uint64_t latency_bucket[LF_METRICS_LATENCY_BUCKETS]; /* cumulative at render */
	uint64_t latency_count, latency_sum_us;
	/* the HTTP edge (src/http/edge.c) */
	int64_t conn_open;            /* gauge: admitted connections open in all workers */
	uint64_t conn_refused;        /* closed at once: the worker was at max_connections */
	uint64_t conn_header_timeout; /* closed: headers not complete within header_timeout */
	uint64_t conn_body_timeout;   /* closed: body not complete within body_timeout */
	uint64_t accept_errors;       /* accept() failed (EMFILE, ENFILE...): accepting paused */
	uint64_t accept_balanced;     /* a worker over its share of connections stopped accepting */
	/* the gate (src/auth/gate.c) */
	uint64_t auth_epoch;                   /* gauge: the newest authentication epoch seen */
	uint64_t auth_lookups;                 /* key lookups that went to the database */
	uint64_t auth_rejected;                /* 401 answers */
	uint64_t auth_forbidden;               /* 403 answers */
	uint64_t rate_limited;                 /* 429 answers, keyed requests */
	uint64_t rate_limited_anon;            /* 429 answers, per source address */
	uint64_t rate_limited_global;          /* 429 answers, [ratelimit] global */
	uint64_t ratelimit_global_unavailable; /* requests not counted globally: Redis */
	/* traces (src/trace/trace.c) */
	uint64_t trace_spans_exported;
	uint64_t trace_spans_dropped; /* the queue was full, or an export failed */
	uint64_t trace_export_failures;
	/* the webhook delivery process (src/webhooks/deliver.c) */
	int64_t webhook_backlog;       /* gauge: deliveries pending (the database's count) */
	int64_t webhook_given_up_now;  /* gauge: deliveries given up after max_age, kept */
	int64_t webhook_in_flight;     /* gauge: deliveries under way */
	int64_t webhook_oldest_age_ms; /* gauge: age of the oldest pending event seen */
	uint64_t webhook_delivered;    /* answered 2xx */
	uint64_t webhook_failures;     /* attempts that failed: no answer, or not 2xx */
	uint64_t webhook_given_up;     /* deliveries given up after max_age */
	uint64_t webhook_restarts;     /* the delivery process died and was restarted */
	/* POST /api/payments/batch decided afresh: atomic 201, atomic 422
	 * batch_failed, independent 200 (src/api/bulk.c) */
	uint64_t payment_batches[3];
	/* the risk rules (lf_risk.h) */
	uint64_t risk_declined[LF_RISK_NRULES]; /* fresh risk declines, by rule */
	uint64_t risk_webhook_failures;         /* risk webhook calls without an answer */
};

static inline void lf_metrics_add(uint64_t *counter, uint64_t n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}
#define lf_metrics_inc(counter) lf_metrics_add((counter), 1)

/* One batch of n jobs of a kind was handed to a pool thread. */
static inline void lf_metrics_batch(struct lf_metrics *m, enum lf_metrics_batch_kind kind, int n)
{
	unsigned b = 0;
	while (b + 1 < LF_METRICS_BATCH_BUCKETS && n > (1 << b))
		b++;
	lf_metrics_inc(&m->db_batch_bucket[kind][b]);
	lf_metrics_add(&m->db_batch_jobs[kind], (uint64_t)n);
}

static inline void lf_metrics_gauge_add(int64_t *gauge, int64_t n)
{
	__atomic_fetch_add(gauge, n, __ATOMIC_RELAXED);
}

void lf_metrics_observe_latency(struct lf_metrics *m, uint64_t micros);
/* The counters, then (when cache is not NULL) the shared cache's own
 * counters and gauges (lf_cache_stats: it takes each partition lock in
 * turn, briefly). */
void lf_metrics_render(const struct lf_metrics *m, struct lf_cache *cache, struct evbuffer *out);

#endif
