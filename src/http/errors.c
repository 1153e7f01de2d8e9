/*
 * http/errors.c - problem+json for the errors evhttp answers by itself.
 *
 * libevent 2.1 answers some requests before any handler runs: a body over
 * max_body_size (413), a malformed request line or header block (400), a
 * method outside evhttp_set_allowed_methods (405), an unsupported version.
 * It does so by calling its public evhttp_send_error(), which renders an
 * HTML page, and 2.1 has no hook to change that (evhttp_set_errorcb came in
 * 2.2). libevent calls the function through the PLT, so defining it here
 * interposes it for the whole process: every error the server sends is a
 * problem document. evhttp reports a header section over max_header_size
 * as a 400 like any malformed one; the HTTP edge (http/edge.c) saw the
 * bytes arrive and tells the two apart, so that one is 431. The contract
 * of the original is kept: the reply says Connection: close and the
 * connection is closed after it. The server itself never calls
 * evhttp_send_error; its handlers use lf_req_problem().
 */
#include "config.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/http_struct.h>

#include "lf_edge.h"
#include "lf_http.h"
#include "lf_uuid.h"

static const char *code_for(int status)
{
	switch (status) {
	case 400: return "invalid_request";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 413: return "payload_too_large";
	case 431: return "headers_too_large";
	case 503: return "service_unavailable";
	default: return status >= 500 ? "internal_error" : "invalid_request";
	}
}

static const char *detail_for(int status)
{
	switch (status) {
	case 400: return "The request could not be parsed as HTTP/1.1.";
	case 405: return "This method is not supported.";
	case 413: return "The request body is larger than the server accepts.";
	case 431: return "The request line and headers are larger than the server accepts.";
	default: return "The request could not be processed.";
	}
}

void evhttp_send_error(struct evhttp_request *req, int error, const char *reason)
{
	/* libevent says 501 for a method outside evhttp_set_allowed_methods
	 * (TRACE, CONNECT): for this API that is a method not allowed */
	if (error == 501) {
		error = 405;
		reason = NULL;
	}
	struct lf_edge *edge = lf_edge_current();
	if (error == 400 && lf_edge_headers_too_large(edge, req)) {
		error = 431;
		reason = "Request Header Fields Too Large";
	}
	lf_edge_request_begin(edge, req);
	/* Debian's 2.1.12 (+deb12u1) rejects some framing itself (a repeated
	 * Transfer-Encoding, one with Content-Length), and takes "gzip,
	 * chunked" as chunked, so what follows fails as a corrupt chunk (413):
	 * when the headers break a framing rule, that is the answer */
	const char *detail = error == 400 || error == 413 ? lf_edge_framing_error(req) : NULL;
	if (detail != NULL) {
		error = 400;
		reason = NULL;
	}
	/* a request line evhttp could not read leaves the version at 0.0:
	 * answer as HTTP/1.1 (evhttp then also sends Content-Length) */
	if (req->major == 0) {
		req->major = 1;
		req->minor = 1;
	}
	struct evbuffer *body = evbuffer_new();
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	char rid[LF_UUID_STR_LEN + 1];
	lf_uuid id;
	lf_uuid_v7(&id);
	lf_uuid_format(&id, rid);
	evhttp_remove_header(out, "Content-Type");
	evhttp_add_header(out, "Content-Type", "application/problem+json");
	evhttp_add_header(out, "Connection", "close");
	const char *have = evhttp_find_header(out, "X-Request-Id");
	if (have == NULL)
		evhttp_add_header(out, "X-Request-Id", rid);
	if (error == 405)
		evhttp_add_header(out, "Allow", "GET, POST");
	if (body != NULL)
		lf_problem_render_live(body, error, code_for(error),
				       detail != NULL ? detail : detail_for(error), NULL,
				       have != NULL ? have : rid);
	evhttp_send_reply(req, error, reason, body);
	if (body != NULL)
		evbuffer_free(body);
}
