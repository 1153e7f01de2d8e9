/*
 * lf_trace.h - distributed traces ([tracing] endpoint): a W3C traceparent
 * taken from each request (or a new trace, sampled at [tracing]
 * sample_percent), a span per request and one per database job and Redis
 * command under it, exported with OTLP/HTTP (JSON) to a collector in
 * batches, off the request path, by each worker (src/trace/trace.c). When
 * the collector is slow or gone, spans past the queue are dropped and
 * counted; requests never wait for it.
 */
#ifndef LF_TRACE_H
#define LF_TRACE_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct lf_config;
struct lf_metrics;
struct lf_log_ctx;

/* The worker's exporter; false when it cannot be set up (logged). With no
 * endpoint it does nothing and lf_trace_enabled is false. */
bool lf_trace_start(struct event_base *base, const struct lf_config *cfg,
		    struct lf_metrics *metrics);
/* Flush what is queued (best effort, bounded) and free. */
void lf_trace_stop(void);
bool lf_trace_enabled(void);

/* A request's trace context from its traceparent header (NULL when none):
 * fills ctx->trace_id, ctx->parent_span_id, ctx->span_id (new) and
 * ctx->sampled. Without tracing, only a valid header's trace id is kept
 * (for the log). */
void lf_trace_begin(const char *traceparent, struct lf_log_ctx *ctx);

/* Attribute of a span: a key and a string or integer value. */
struct lf_trace_attr {
	const char *key;
	const char *str; /* NULL: num */
	int64_t num;
};

/* Record a finished span. kind: 2 server (a request), 3 client (a call
 * out). start_mono_us / end_mono_us: CLOCK_MONOTONIC microseconds. A
 * server span is ctx's own (ctx->span_id, parent ctx->parent_span_id); a
 * client span is a new child of ctx->span_id. Nothing when ctx is not
 * sampled. error: the span's status is ERROR. */
void lf_trace_span(const struct lf_log_ctx *ctx, int kind, const char *name, int64_t start_mono_us,
		   int64_t end_mono_us, bool error, const struct lf_trace_attr *attrs, int nattrs);

/* The same for a request's own span, with the W3C tracestate it came
 * with (NULL or "" for none; kept as the span's traceState). */
void lf_trace_server_span(const struct lf_log_ctx *ctx, const char *trace_state, const char *name,
			  int64_t start_mono_us, int64_t end_mono_us, bool error,
			  const struct lf_trace_attr *attrs, int nattrs);
/* Is this a tracestate worth keeping (W3C: at most 512 printable
 * characters, list members key=value)? */
bool lf_trace_state_ok(const char *s);

int64_t lf_trace_now_us(void); /* CLOCK_MONOTONIC microseconds */

#endif
