/*
 * lf_http.h - the request context every handler works with: request id,
 * timing, the per-request deadline, exactly-once replies with the common
 * headers, problem+json errors and the access log line.
 */
#ifndef LF_HTTP_H
#define LF_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/http.h>

#include "lf_auth.h"

struct lf_app;
struct lf_body;
struct evbuffer;
struct lf_log_ctx;

#define LF_REQUEST_ID_MAX 128

struct lf_req {
	struct lf_app *app;
	struct evhttp_request *req;
	char request_id[LF_REQUEST_ID_MAX + 1];
	char trace_id[33];
	char span_id[17], parent_span_id[17]; /* tracing (lf_trace.h) */
	char trace_state[513];                /* W3C tracestate, kept on the span */
	bool sampled;
	enum evhttp_cmd_type method;
	char path[512];    /* path part of the URI, as sent */
	const char *query; /* query part or NULL (points into the URI) */
	int64_t start_us;  /* monotonic */
	bool replied;      /* then req is NULL: evhttp frees it once the reply is written */
	unsigned refs;     /* the handler plus each pending async operation */
	struct event *deadline;
	int64_t timeout_ms;                    /* as armed, for the log */
	void (*on_deadline)(struct lf_req *r); /* optional: answer on expiry */
	struct lf_client client;               /* who it acts for (the gate sets it) */
	void *state;                           /* handler state, freed with free_state */
	void (*free_state)(void *state);
};

/* Start a context for an incoming request (sets X-Request-Id, counts it
 * in flight). NULL only when out of memory (a 500 was sent). */
struct lf_req *lf_req_begin(struct lf_app *app, struct evhttp_request *req);
/* Hold / release a reference; the context is freed at the last release. */
void lf_req_hold(struct lf_req *r);
void lf_req_release(struct lf_req *r);
/* Arm the per-request deadline, timeout_ms after the request began (arming
 * again keeps that one deadline): when it expires before a reply, the
 * request is answered 503 service_unavailable (or by on_deadline). */
void lf_req_arm_deadline(struct lf_req *r, int64_t timeout_ms);

/* The request's log context (request id, trace id): lines logged while
 * it is current carry them (lf_log.h). The router makes it current around
 * the handler, the deadline around its callback; asynchronous work carries
 * a copy (the database pool and the Redis client take one when work is
 * queued). */
void lf_req_log_ctx(const struct lf_req *r, struct lf_log_ctx *out);

/* Reply once (later calls are ignored). body may be NULL. The buffer's
 * content is moved out. */
void lf_req_reply(struct lf_req *r, int status, const char *content_type, struct evbuffer *body);
void lf_req_reply_bytes(struct lf_req *r, int status, const char *content_type, const char *data,
			size_t len);
/* Reply once with a body handed over (lf_body.h): the reply references
 * body->data without copying it and frees it once written; *body is left
 * empty, also when the request was already answered (the bytes are freed). */
void lf_req_reply_body(struct lf_req *r, int status, const char *content_type,
		       struct lf_body *body);
/* A response header; a no-op once replied (the request is evhttp's then). */
void lf_req_add_header(struct lf_req *r, const char *name, const char *value);

/* RFC 9457 problem: {"type","title","status","detail","code"[,extra],
 * "requestId"}. extra, when non-NULL, is a JSON fragment of further
 * members ("\"paymentId\":\"...\"") appended inside the object.
 * requestId is this request's X-Request-Id: a problem sent live names the
 * request that got it; stored outcomes never carry it (see below). */
void lf_req_problem(struct lf_req *r, int status, const char *code, const char *detail,
		    const char *extra);
/* 503 service_unavailable with Retry-After: 1 and detail. */
void lf_req_unavailable(struct lf_req *r, const char *detail);
/* Render a problem body into out without a requestId: the form stored with
 * an idempotency key, replayed byte for byte to every retry (whose own
 * request id differs). */
void lf_problem_render(struct evbuffer *out, int status, const char *code, const char *detail,
		       const char *extra);
/* The same with "requestId":request_id last, for answers sent live
 * (request_id holds only [A-Za-z0-9._:-]; NULL or "" renders none). */
void lf_problem_render_live(struct evbuffer *out, int status, const char *code, const char *detail,
			    const char *extra, const char *request_id);
const char *lf_problem_title(const char *code);

/* Request body bytes (contiguous) and length; a request header. Once
 * replied there is no request left to read: "" (length 0) and NULL. */
const char *lf_req_body(struct lf_req *r, size_t *len);
const char *lf_req_header(struct lf_req *r, const char *name);
/* "GET", "POST"... ("OTHER" for a method evhttp has no name for) */
const char *lf_req_method_name(enum evhttp_cmd_type m);

#endif
