/*
 * trace/trace.c - the worker's trace exporter (lf_trace.h): finished spans
 * are rendered at once into a bounded queue (OTLP/JSON span objects), and
 * a timer sends the queue as one OTLP/HTTP request to [tracing] endpoint
 * every flush_interval, or sooner once half the queue is full. One export
 * is in flight at a time; while it is, new spans queue, and past
 * max_queue they are dropped and counted (the collector is slow or gone:
 * requests never wait for it). An export that fails or takes longer than
 * [tracing] timeout loses its batch (counted, logged rate limited, once
 * per failure). Everything runs on the worker's event loop: spans of pool
 * jobs and Redis commands are recorded when their completion reaches the
 * loop.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/rand.h>

#include "lf_config.h"
#include "lf_log.h"
#include "lf_metrics.h"
#include "lf_time.h"
#include "lf_trace.h"

#define MAX_SPAN_JSON 2048

struct exporter {
	struct event_base *base;
	const struct lf_config *cfg;
	struct lf_metrics *metrics;
	struct evhttp_uri *uri;
	struct evhttp_connection *conn;
	struct event *timer;
	struct evbuffer *queue; /* rendered spans, comma separated */
	unsigned queued;        /* spans in queue */
	unsigned in_flight;     /* spans of the export under way (0: none) */
	char host_header[300];
	char path[512];
};

static struct exporter *X;

int64_t lf_trace_now_us(void)
{
	return lf_time_monotonic_us();
}

static int64_t wall_ns_of(int64_t mono_us)
{
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	int64_t now_wall_ns = (int64_t)wall.tv_sec * 1000000000 + wall.tv_nsec;
	return now_wall_ns - (lf_trace_now_us() - mono_us) * 1000;
}

bool lf_trace_enabled(void)
{
	return X != NULL;
}

static bool lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static void random_hex(char *out, size_t bytes)
{
	unsigned char b[16];
	if (RAND_bytes(b, (int)bytes) != 1)
		for (size_t i = 0; i < bytes; i++) /* never all zero */
			b[i] = (unsigned char)(rand() | 1);
	for (size_t i = 0; i < bytes; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

void lf_trace_begin(const char *tp, struct lf_log_ctx *ctx)
{
	ctx->trace_id[0] = ctx->span_id[0] = ctx->parent_span_id[0] = '\0';
	ctx->sampled = false;
	/* 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags> */
	size_t len = tp ? strlen(tp) : 0;
	bool v00 = tp != NULL && tp[0] == '0' && tp[1] == '0';
	/* version 00 is exactly 55 characters; a later version may add
	 * fields after a '-'; ff is invalid; all-zero ids are invalid */
	bool valid = len >= 55 && tp[2] == '-' && tp[35] == '-' && tp[52] == '-' &&
		     lower_hex(tp, 2) && lower_hex(tp + 3, 32) && lower_hex(tp + 36, 16) &&
		     lower_hex(tp + 53, 2) && strncmp(tp, "ff", 2) != 0 &&
		     strspn(tp + 3, "0") < 32 && strspn(tp + 36, "0") < 16 &&
		     (v00 ? len == 55 : (len == 55 || tp[55] == '-'));
	if (valid) {
		memcpy(ctx->trace_id, tp + 3, 32);
		ctx->trace_id[32] = '\0';
		memcpy(ctx->parent_span_id, tp + 36, 16);
		ctx->parent_span_id[16] = '\0';
	}
	if (X == NULL)
		return;
	if (valid) {
		unsigned flags = (unsigned)strtoul((char[3]){tp[53], tp[54], '\0'}, NULL, 16);
		ctx->sampled = (flags & 1) != 0;
	} else {
		unsigned char b;
		ctx->sampled = X->cfg->tracing_sample_percent >= 100 ||
			       (RAND_bytes(&b, 1) == 1 &&
				(unsigned)b * 100 / 256 < (unsigned)X->cfg->tracing_sample_percent);
		if (ctx->sampled)
			random_hex(ctx->trace_id, 16);
	}
	if (ctx->sampled)
		random_hex(ctx->span_id, 8);
}

/* A JSON string: the names and values here are ours (route names, method
 * words, statement kinds), but escape anyway. */
static void json_str(struct evbuffer *b, const char *s)
{
	evbuffer_add(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			evbuffer_add_printf(b, "\\%c", c);
		else if (c < 0x20)
			evbuffer_add_printf(b, "\\u%04x", c);
		else
			evbuffer_add(b, s, 1);
	}
	evbuffer_add(b, "\"", 1);
}

static void export_now(void);

static void span_out(const struct lf_log_ctx *ctx, const char *trace_state, int kind,
		     const char *name, int64_t start_mono_us, int64_t end_mono_us, bool error,
		     const struct lf_trace_attr *attrs, int nattrs)
{
	if (X == NULL || ctx == NULL || !ctx->sampled || ctx->span_id[0] == '\0')
		return;
	if (X->queued >= (unsigned)X->cfg->tracing_max_queue) {
		lf_metrics_inc(&X->metrics->trace_spans_dropped);
		return;
	}
	char span[17], parent[17];
	if (kind == 2) {
		memcpy(span, ctx->span_id, sizeof span);
		memcpy(parent, ctx->parent_span_id, sizeof parent);
	} else {
		random_hex(span, 8);
		memcpy(parent, ctx->span_id, sizeof parent);
	}
	struct evbuffer *b = X->queue;
	if (X->queued > 0)
		evbuffer_add(b, ",", 1);
	evbuffer_add_printf(b, "{\"traceId\":\"%s\",\"spanId\":\"%s\",", ctx->trace_id, span);
	if (parent[0] != '\0')
		evbuffer_add_printf(b, "\"parentSpanId\":\"%s\",", parent);
	if (trace_state != NULL && trace_state[0] != '\0') {
		evbuffer_add_printf(b, "\"traceState\":");
		json_str(b, trace_state);
		evbuffer_add(b, ",", 1);
	}
	evbuffer_add_printf(b, "\"name\":");
	json_str(b, name);
	evbuffer_add_printf(b,
			    ",\"kind\":%d,\"startTimeUnixNano\":\"%" PRId64
			    "\",\"endTimeUnixNano\":\"%" PRId64 "\",\"attributes\":[",
			    kind, wall_ns_of(start_mono_us), wall_ns_of(end_mono_us));
	for (int i = 0; i < nattrs; i++) {
		evbuffer_add_printf(b, "%s{\"key\":", i ? "," : "");
		json_str(b, attrs[i].key);
		if (attrs[i].str != NULL) {
			evbuffer_add_printf(b, ",\"value\":{\"stringValue\":");
			json_str(b, attrs[i].str);
			evbuffer_add_printf(b, "}}");
		} else {
			evbuffer_add_printf(b, ",\"value\":{\"intValue\":\"%" PRId64 "\"}}",
					    attrs[i].num);
		}
	}
	evbuffer_add_printf(b, "],\"status\":{\"code\":%d}}", error ? 2 : 1);
	X->queued++;
	if (X->in_flight == 0 && X->queued >= (unsigned)X->cfg->tracing_max_queue / 2)
		export_now();
}

void lf_trace_span(const struct lf_log_ctx *ctx, int kind, const char *name, int64_t start_mono_us,
		   int64_t end_mono_us, bool error, const struct lf_trace_attr *attrs, int nattrs)
{
	span_out(ctx, NULL, kind, name, start_mono_us, end_mono_us, error, attrs, nattrs);
}

void lf_trace_server_span(const struct lf_log_ctx *ctx, const char *trace_state, const char *name,
			  int64_t start_mono_us, int64_t end_mono_us, bool error,
			  const struct lf_trace_attr *attrs, int nattrs)
{
	span_out(ctx, trace_state, 2, name, start_mono_us, end_mono_us, error, attrs, nattrs);
}

bool lf_trace_state_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 512 || strchr(s, '=') == NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

static void on_export_done(struct evhttp_request *req, void *arg)
{
	(void)arg;
	if (X == NULL)
		return;
	int code = req ? evhttp_request_get_response_code(req) : 0;
	if (code >= 200 && code < 300) {
		lf_metrics_add(&X->metrics->trace_spans_exported, X->in_flight);
	} else {
		lf_metrics_add(&X->metrics->trace_spans_dropped, X->in_flight);
		lf_metrics_inc(&X->metrics->trace_export_failures);
		char q[600];
		lf_log_limited(LF_LOG_WARN, "trace_export", "trace_export_failed",
			       "subsys=trace endpoint=%s status=%d spans=%u",
			       lf_log_quote(X->cfg->tracing_endpoint, q, sizeof q), code,
			       X->in_flight);
	}
	X->in_flight = 0;
}

static void export_now(void)
{
	if (X == NULL || X->in_flight > 0 || X->queued == 0)
		return;
	struct evhttp_request *req = evhttp_request_new(on_export_done, NULL);
	if (req == NULL)
		return;
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	evbuffer_add_printf(out, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":"
				 "\"service.name\",\"value\":{\"stringValue\":");
	json_str(out, X->cfg->tracing_service_name);
	evbuffer_add_printf(out, "}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"ledgerflowd\","
				 "\"version\":\"" PACKAGE_VERSION "\"},\"spans\":[");
	evbuffer_add_buffer(out, X->queue);
	evbuffer_add_printf(out, "]}]}]}");
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", X->host_header);
	evhttp_add_header(h, "Content-Type", "application/json");
	X->in_flight = X->queued;
	X->queued = 0;
	if (evhttp_make_request(X->conn, req, EVHTTP_REQ_POST, X->path) != 0) {
		/* the request is freed by libevent on failure */
		lf_metrics_add(&X->metrics->trace_spans_dropped, X->in_flight);
		lf_metrics_inc(&X->metrics->trace_export_failures);
		X->in_flight = 0;
	}
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	export_now();
}

bool lf_trace_start(struct event_base *base, const struct lf_config *cfg,
		    struct lf_metrics *metrics)
{
	if (cfg->tracing_endpoint[0] == '\0')
		return true;
	struct exporter *x = calloc(1, sizeof *x);
	if (x == NULL)
		return false;
	x->base = base;
	x->cfg = cfg;
	x->metrics = metrics;
	x->uri = evhttp_uri_parse(cfg->tracing_endpoint);
	const char *host = x->uri ? evhttp_uri_get_host(x->uri) : NULL;
	const char *scheme = x->uri ? evhttp_uri_get_scheme(x->uri) : NULL;
	int port = x->uri ? evhttp_uri_get_port(x->uri) : -1;
	const char *path = x->uri ? evhttp_uri_get_path(x->uri) : NULL;
	if (host == NULL || scheme == NULL || strcmp(scheme, "http") != 0) {
		char q[600];
		lf_error("trace_setup_failed",
			 "subsys=trace endpoint=%s reason=\"not http://host[:port]/path\"",
			 lf_log_quote(cfg->tracing_endpoint, q, sizeof q));
		if (x->uri)
			evhttp_uri_free(x->uri);
		free(x);
		return false;
	}
	if (port < 0)
		port = 80;
	snprintf(x->path, sizeof x->path, "%s", path && path[0] ? path : "/v1/traces");
	snprintf(x->host_header, sizeof x->host_header, "%s:%d", host, port);
	x->conn = evhttp_connection_base_new(base, NULL, host, (unsigned short)port);
	x->queue = evbuffer_new();
	x->timer = event_new(base, -1, EV_PERSIST, on_timer, NULL);
	struct timeval every = {.tv_sec = cfg->tracing_flush_interval_ms / 1000,
				.tv_usec = (cfg->tracing_flush_interval_ms % 1000) * 1000};
	if (x->conn == NULL || x->queue == NULL || x->timer == NULL ||
	    event_add(x->timer, &every) != 0) {
		if (x->conn)
			evhttp_connection_free(x->conn);
		if (x->queue)
			evbuffer_free(x->queue);
		if (x->timer)
			event_free(x->timer);
		evhttp_uri_free(x->uri);
		free(x);
		return false;
	}
	evhttp_connection_set_timeout(x->conn, (int)((cfg->tracing_timeout_ms + 999) / 1000));
	evhttp_connection_set_retries(x->conn, 0);
	X = x;
	return true;
}

void lf_trace_stop(void)
{
	struct exporter *x = X;
	if (x == NULL)
		return;
	X = NULL;
	/* what is queued is dropped with the connection: a worker that stops
	 * does not wait for a collector */
	lf_metrics_add(&x->metrics->trace_spans_dropped, x->queued);
	event_free(x->timer);
	evhttp_connection_free(x->conn); /* its pending request is cancelled */
	evbuffer_free(x->queue);
	evhttp_uri_free(x->uri);
	free(x);
}
