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

struct lf_app;
struct evbuffer;

#define LF_REQUEST_ID_MAX 128

struct lf_req {
	struct lf_app *app;
	struct evhttp_request *req;
	char request_id[LF_REQUEST_ID_MAX + 1];
	char trace_id[33];
	enum evhttp_cmd_type method;
	char path[512];    /* path part of the URI, as sent */
	const char *query; /* query part or NULL (points into the URI) */
	int64_t start_us;  /* monotonic */
	bool replied;      /* then req is NULL: evhttp frees it once the reply is written */
	unsigned refs;     /* the handler plus each pending async operation */
	struct event *deadline;
	void (*on_deadline)(struct lf_req *r); /* optional: answer on expiry */
	void *state;                           /* handler state, freed with free_state */
	void (*free_state)(void *state);
};

/* Start a context for an incoming request (sets X-Request-Id, counts it
 * in flight). NULL only when out of memory (a 500 was sent). */
struct lf_req *lf_req_begin(struct lf_app *app, struct evhttp_request *req);
/* Hold / release a reference; the context is freed at the last release. */
void lf_req_hold(struct lf_req *r);
void lf_req_release(struct lf_req *r);
/* Arm the per-request deadline: when it expires before a reply, the
 * request is answered 503 service_unavailable (or by on_deadline). */
void lf_req_arm_deadline(struct lf_req *r, int64_t timeout_ms);

/* Reply once (later calls are ignored). body may be NULL. The buffer's
 * content is moved out. */
void lf_req_reply(struct lf_req *r, int status, const char *content_type, struct evbuffer *body);
void lf_req_reply_bytes(struct lf_req *r, int status, const char *content_type, const char *data,
			size_t len);
/* A response header; a no-op once replied (the request is evhttp's then). */
void lf_req_add_header(struct lf_req *r, const char *name, const char *value);

/* RFC 9457 problem: {"type","title","status","detail","code"[,extra]}.
 * extra, when non-NULL, is a JSON fragment of further members
 * ("\"paymentId\":\"...\"") appended inside the object. */
void lf_req_problem(struct lf_req *r, int status, const char *code, const char *detail,
		    const char *extra);
/* Render a problem body into out (used for stored outcomes too). */
void lf_problem_render(struct evbuffer *out, int status, const char *code, const char *detail,
		       const char *extra);
const char *lf_problem_title(const char *code);

/* Request body bytes (contiguous) and length; a request header. Once
 * replied there is no request left to read: "" (length 0) and NULL. */
const char *lf_req_body(struct lf_req *r, size_t *len);
const char *lf_req_header(struct lf_req *r, const char *name);

#endif
