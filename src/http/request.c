/*
 * http/request.c - request contexts on top of evhttp: every request gets an
 * X-Request-Id (the client's when well-formed, else a new UUID), a trace id
 * from a W3C traceparent, a deadline, exactly one reply with the common
 * headers (problem documents name the request id), and one access-log
 * line. It also builds the request's log context (lf_log.h) and makes it
 * current around the deadline callback. Contexts are reference counted so an
 * asynchronous job that finishes after the deadline answered finds its
 * context still valid and its request already replied.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "lf_app.h"
#include "lf_body.h"
#include "lf_config.h"
#include "lf_http.h"
#include "lf_json.h"
#include "lf_log.h"
#include "lf_trace.h"
#include "lf_metrics.h"
#include "lf_time.h"
#include "lf_uuid.h"
#include "lf_zone.h"

static bool request_id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > LF_REQUEST_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return false;
	}
	return true;
}

/* Once replied, r->req is evhttp's to free (after the reply is written):
 * nothing may read or change it, so these become no-ops. */
const char *lf_req_header(struct lf_req *r, const char *name)
{
	if (r->replied)
		return NULL;
	/* evhttp_find_header() compares through libevent's character-table
	 * strcasecmp, one call per byte: glibc's is several times faster and,
	 * in the C locale the daemon runs in (it never calls setlocale), the
	 * same ASCII comparison. Several headers are looked up per request. */
	struct evkeyvalq *h = evhttp_request_get_input_headers(r->req);
	for (struct evkeyval *kv = h->tqh_first; kv != NULL; kv = kv->next.tqe_next)
		if (strcasecmp(kv->key, name) == 0)
			return kv->value;
	return NULL;
}

void lf_req_add_header(struct lf_req *r, const char *name, const char *value)
{
	if (r->replied)
		return;
	evhttp_add_header(evhttp_request_get_output_headers(r->req), name, value);
}

struct lf_req *lf_req_begin(struct lf_app *app, struct evhttp_request *req)
{
	struct lf_req *r = calloc(1, sizeof *r);
	if (r == NULL) {
		evhttp_send_reply(req, 500, "Internal Server Error", NULL);
		return NULL;
	}
	r->app = app;
	r->req = req;
	r->refs = 1;
	r->start_us = lf_time_monotonic_us();
	r->method = evhttp_request_get_command(req);
	const char *rid = lf_req_header(r, "X-Request-Id");
	if (rid != NULL && request_id_ok(rid)) {
		memcpy(r->request_id, rid, strlen(rid) + 1);
	} else {
		lf_uuid id;
		lf_uuid_v7(&id);
		lf_uuid_format(&id, r->request_id);
	}
	struct lf_log_ctx tc;
	lf_trace_begin(lf_req_header(r, "traceparent"), &tc);
	memcpy(r->trace_id, tc.trace_id, sizeof r->trace_id);
	memcpy(r->span_id, tc.span_id, sizeof r->span_id);
	memcpy(r->parent_span_id, tc.parent_span_id, sizeof r->parent_span_id);
	r->sampled = tc.sampled;
	if (r->sampled && r->parent_span_id[0] != '\0') {
		const char *ts = lf_req_header(r, "tracestate"); /* only then: a walk */
		if (lf_trace_state_ok(ts))
			snprintf(r->trace_state, sizeof r->trace_state, "%s", ts);
	}
	const char *uri = evhttp_request_get_uri(req);
	size_t plen = strcspn(uri, "?#");
	if (plen >= sizeof r->path)
		plen = sizeof r->path - 1;
	memcpy(r->path, uri, plen);
	r->path[plen] = '\0';
	r->query = uri[strcspn(uri, "?")] == '?' ? uri + strcspn(uri, "?") + 1 : NULL;
	lf_req_add_header(r, "X-Request-Id", r->request_id);
	app->inflight++;
	return r;
}

void lf_req_log_ctx(const struct lf_req *r, struct lf_log_ctx *out)
{
	memcpy(out->request_id, r->request_id, sizeof out->request_id);
	memcpy(out->trace_id, r->trace_id, sizeof out->trace_id);
	memcpy(out->span_id, r->span_id, sizeof out->span_id);
	memcpy(out->parent_span_id, r->parent_span_id, sizeof out->parent_span_id);
	out->sampled = r->sampled;
}

void lf_req_hold(struct lf_req *r)
{
	r->refs++;
}

void lf_req_release(struct lf_req *r)
{
	if (--r->refs > 0)
		return;
	if (!r->replied) {
		struct lf_log_ctx ctx;
		struct lf_log_scope scope;
		lf_req_log_ctx(r, &ctx);
		lf_log_scope_enter(&scope, &ctx);
		lf_error("request_unanswered", "subsys=http%s", "");
		lf_req_problem(r, 500, "internal_error", "The request was not answered.", NULL);
		lf_log_scope_leave(&scope);
	}
	if (r->deadline)
		event_free(r->deadline);
	if (r->free_state)
		r->free_state(r->state);
	free(r);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct lf_req *r = arg;
	(void)fd;
	(void)what;
	if (r->replied)
		return;
	struct lf_log_ctx ctx;
	struct lf_log_scope scope;
	lf_req_log_ctx(r, &ctx);
	lf_log_scope_enter(&scope, &ctx);
	lf_log_limited(LF_LOG_WARN, "request_deadline", "request_deadline",
		       "subsys=http timeout_ms=%lld", (long long)r->timeout_ms);
	if (r->on_deadline) {
		r->on_deadline(r);
	} else {
		lf_req_unavailable(r, "The request did not complete in time; it may be retried "
				      "with the same Idempotency-Key.");
	}
	lf_log_scope_leave(&scope);
}

void lf_req_arm_deadline(struct lf_req *r, int64_t timeout_ms)
{
	if (r->deadline == NULL)
		r->deadline = evtimer_new(r->app->base, on_deadline, r);
	if (r->deadline == NULL)
		return;
	/* counted from the request's start: arming again (the gate, then the
	 * handler) keeps one deadline instead of extending it */
	r->timeout_ms = timeout_ms;
	int64_t left_us = timeout_ms * 1000 - (lf_time_monotonic_us() - r->start_us);
	if (left_us < 0)
		left_us = 0;
	struct timeval tv = {.tv_sec = left_us / 1000000, .tv_usec = left_us % 1000000};
	evtimer_add(r->deadline, &tv);
}

const char *lf_req_method_name(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	case EVHTTP_REQ_TRACE: return "TRACE";
	case EVHTTP_REQ_CONNECT: return "CONNECT";
	case EVHTTP_REQ_PATCH: return "PATCH";
	}
	return "OTHER";
}

void lf_req_reply(struct lf_req *r, int status, const char *content_type, struct evbuffer *body)
{
	if (r->replied)
		return;
	if (r->deadline)
		evtimer_del(r->deadline);
	if (content_type != NULL)
		lf_req_add_header(r, "Content-Type", content_type);
	if (r->app->draining)
		lf_req_add_header(r, "Connection", "close");
	if (r->method == EVHTTP_REQ_HEAD && body != NULL) {
		/* HEAD: the GET's headers, its length, and no body (libevent 2.1
		 * would send it, and a keep-alive client would read it as the
		 * start of the next response) */
		char n[24];
		snprintf(n, sizeof n, "%zu", evbuffer_get_length(body));
		struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
		evhttp_remove_header(out, "Content-Length");
		evhttp_add_header(out, "Content-Length", n);
		evbuffer_drain(body, evbuffer_get_length(body));
	}
	r->replied = true;
	evhttp_send_reply(r->req, status, NULL, body);
	r->req = NULL; /* evhttp frees it once written: a late use must fault */
	r->app->inflight--;

	int64_t end_us = lf_time_monotonic_us();
	int64_t us = end_us - r->start_us;
	struct lf_metrics *m = r->app->zone->metrics;
	if (r->sampled) {
		struct lf_log_ctx ctx;
		lf_req_log_ctx(r, &ctx);
		char name[32];
		snprintf(name, sizeof name, "HTTP %s", lf_req_method_name(r->method));
		struct lf_trace_attr attrs[] = {
			{"http.request.method", lf_req_method_name(r->method), 0},
			{"url.path", r->path, 0},
			{"http.response.status_code", NULL, status},
			{"lf.request_id", r->request_id, 0},
		};
		lf_trace_server_span(&ctx, r->trace_state, name, r->start_us, end_us, status >= 500,
				     attrs, (int)(sizeof attrs / sizeof attrs[0]));
	}
	if (status >= 100 && status < 600)
		lf_metrics_inc(&m->http_responses[status / 100]);
	lf_metrics_observe_latency(m, (uint64_t)us);
	if (r->app->cfg->access_log && lf_log_enabled(LF_LOG_INFO)) {
		/* the context writes request_id and trace_id (whichever
		 * callback sends the reply) */
		char q[600];
		struct lf_log_ctx ctx;
		struct lf_log_scope scope;
		lf_req_log_ctx(r, &ctx);
		lf_log_scope_enter(&scope, &ctx);
		lf_info("access", "method=%s path=%s status=%d duration_us=%lld",
			lf_req_method_name(r->method), lf_log_quote(r->path, q, sizeof q), status,
			(long long)us);
		lf_log_scope_leave(&scope);
	}
}

void lf_req_reply_bytes(struct lf_req *r, int status, const char *content_type, const char *data,
			size_t len)
{
	struct evbuffer *b = evbuffer_new();
	if (b != NULL && len > 0)
		evbuffer_add(b, data, len);
	lf_req_reply(r, status, content_type, b);
	if (b != NULL)
		evbuffer_free(b);
}

static void free_reference(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)data);
}

void lf_req_reply_body(struct lf_req *r, int status, const char *content_type, struct lf_body *body)
{
	struct evbuffer *b = r->replied ? NULL : evbuffer_new();
	if (b != NULL && body->len > 0) {
		/* handed over: evbuffer_add_buffer() in evhttp moves the
		 * reference chain, so the bytes are never copied again */
		if (evbuffer_add_reference(b, body->data, body->len, free_reference, NULL) == 0)
			body->data = NULL;
		else
			evbuffer_add(b, body->data, body->len);
	}
	lf_body_clear(body);
	if (!r->replied)
		lf_req_reply(r, status, content_type, b);
	if (b != NULL)
		evbuffer_free(b);
}

const char *lf_req_body(struct lf_req *r, size_t *len)
{
	*len = 0;
	if (r->replied)
		return "";
	struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
	*len = evbuffer_get_length(in);
	if (*len == 0)
		return "";
	return (const char *)evbuffer_pullup(in, -1);
}

static const struct {
	const char *code, *title;
} titles[] = {
	{"invalid_json", "Malformed JSON"},
	{"invalid_request", "Invalid request"},
	{"invalid_id", "Invalid identifier"},
	{"invalid_amount", "Invalid amount"},
	{"idempotency_key_missing", "Idempotency-Key header missing"},
	{"idempotency_key_invalid", "Idempotency-Key header invalid"},
	{"idempotency_key_reused", "Idempotency-Key reused with another request"},
	{"idempotency_key_in_flight", "A request with this Idempotency-Key is in progress"},
	{"account_exists", "Account already exists"},
	{"account_not_found", "Account not found"},
	{"payment_not_found", "Payment not found"},
	{"event_not_found", "Event not found"},
	{"same_account", "Sender and receiver are the same account"},
	{"currency_mismatch", "Currency mismatch"},
	{"insufficient_funds", "Insufficient funds"},
	{"payment_not_pending", "Payment is not a pending hold"},
	{"refund_exceeds_payment", "Refund exceeds the payment"},
	{"amount_too_large", "Amount too large for the ledger"},
	{"batch_failed", "A payment of the atomic batch could not be made"},
	{"risk_declined", "Declined by a risk rule"},
	{"unsupported_media_type", "Unsupported media type"},
	{"payload_too_large", "Payload too large"},
	{"headers_too_large", "Request header fields too large"},
	{"method_not_allowed", "Method not allowed"},
	{"not_found", "Not found"},
	{"unauthorized", "Unauthorized"},
	{"forbidden", "Forbidden"},
	{"rate_limited", "Too many requests"},
	{"service_unavailable", "Service unavailable"},
	{"internal_error", "Internal server error"},
};

const char *lf_problem_title(const char *code)
{
	for (size_t i = 0; i < sizeof titles / sizeof titles[0]; i++)
		if (strcmp(titles[i].code, code) == 0)
			return titles[i].title;
	return "Error";
}

void lf_problem_render_live(struct evbuffer *out, int status, const char *code, const char *detail,
			    const char *extra, const char *request_id)
{
	const char *title = lf_problem_title(code);
	evbuffer_add_printf(out, "{\"type\":\"urn:ledgerflow:problem:%s\",\"title\":", code);
	lf_json_append_string(out, title, strlen(title));
	evbuffer_add_printf(out, ",\"status\":%d,\"detail\":", status);
	lf_json_append_string(out, detail, strlen(detail));
	evbuffer_add_printf(out, ",\"code\":\"%s\"", code);
	if (extra != NULL && extra[0] != '\0')
		evbuffer_add_printf(out, ",%s", extra);
	if (request_id != NULL && request_id[0] != '\0') {
		evbuffer_add_printf(out, ",\"requestId\":");
		lf_json_append_string(out, request_id, strlen(request_id));
	}
	evbuffer_add(out, "}", 1);
}

void lf_problem_render(struct evbuffer *out, int status, const char *code, const char *detail,
		       const char *extra)
{
	lf_problem_render_live(out, status, code, detail, extra, NULL);
}

void lf_req_unavailable(struct lf_req *r, const char *detail)
{
	lf_req_add_header(r, "Retry-After", "1");
	lf_req_problem(r, 503, "service_unavailable", detail, NULL);
}

void lf_req_problem(struct lf_req *r, int status, const char *code, const char *detail,
		    const char *extra)
{
	if (r->replied)
		return;
	struct evbuffer *b = evbuffer_new();
	if (b == NULL) {
		lf_req_reply(r, status, NULL, NULL);
		return;
	}
	lf_problem_render_live(b, status, code, detail, extra, r->request_id);
	lf_req_reply(r, status, "application/problem+json", b);
	evbuffer_free(b);
}
