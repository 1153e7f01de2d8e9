/*
 * http/router.c - the evhttp general callback: tells the HTTP edge the
 * request was dispatched, opens the request context, rejects bad framing
 * (lf_edge_framing_error: 400 and close), matches the path against the
 * route table, answers 404/405 (with Allow) and 415 for POST bodies that
 * are not JSON, then hands the request to the gate (authentication,
 * scopes, rate limits: src/auth/gate.c), which calls the handler. The request's log context is
 * current on the loop thread for all of it, so whatever the handler logs
 * names the request.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <event2/http_struct.h>

#include "lf_app.h"
#include "lf_edge.h"
#include "lf_handlers.h"
#include "lf_config.h"
#include "lf_gate.h"
#include "lf_http.h"
#include "lf_log.h"

typedef void (*handler_fn)(struct lf_req *r, const char *id);

enum shape { EXACT, WITH_ID, WITH_ID_SUFFIX };

struct route {
	enum shape shape;
	const char *prefix; /* EXACT: the path; WITH_ID*: text before the id */
	const char *suffix; /* WITH_ID_SUFFIX: text after the id */
	handler_fn get, post;
	unsigned get_scopes, post_scopes; /* what the gate demands (lf_auth.h) */
	bool ops;                         /* /healthz, /readyz, /metrics: [auth] ops_public */
	const char *allow;
};

#define AR LF_SCOPE_ACCOUNTS_READ
#define AW LF_SCOPE_ACCOUNTS_WRITE
#define PR LF_SCOPE_PAYMENTS_READ
#define PW LF_SCOPE_PAYMENTS_WRITE
#define ER LF_SCOPE_EVENTS_READ
#define ADM LF_SCOPE_ADMIN

/* clang-format off */
static const struct route routes[] = {
	{EXACT, "/healthz", NULL, lf_ops_healthz, NULL, ADM, 0, true, "GET, HEAD"},
	{EXACT, "/readyz", NULL, lf_ops_readyz, NULL, ADM, 0, true, "GET, HEAD"},
	{EXACT, "/metrics", NULL, lf_ops_metrics, NULL, ADM, 0, true, "GET, HEAD"},
	{EXACT, "/api/accounts", NULL, NULL, lf_accounts_create, 0, AW, false, "POST"},
	{WITH_ID_SUFFIX, "/api/accounts/", "/ledger", lf_accounts_ledger, NULL, AR, 0, false,
	 "GET, HEAD"},
	{WITH_ID_SUFFIX, "/api/accounts/", "/balance", lf_accounts_balance_at, NULL, AR, 0, false,
	 "GET, HEAD"},
	{WITH_ID, "/api/accounts/", NULL, lf_accounts_get, NULL, AR, 0, false, "GET, HEAD"},
	{EXACT, "/api/payments", NULL, lf_payments_list, lf_payments_create, PR, PW, false,
	 "GET, HEAD, POST"},
	/* before /api/payments/{id}: "batch" is not an id */
	{EXACT, "/api/payments/batch", NULL, NULL, lf_payments_batch, 0, PW, false, "POST"},
	{WITH_ID_SUFFIX, "/api/payments/", "/capture", NULL, lf_payments_capture, 0, PW, false,
	 "POST"},
	{WITH_ID_SUFFIX, "/api/payments/", "/void", NULL, lf_payments_void, 0, PW, false, "POST"},
	{WITH_ID_SUFFIX, "/api/payments/", "/refunds", lf_payments_refunds_list, lf_payments_refund,
	 PR, PW, false, "GET, HEAD, POST"},
	{WITH_ID, "/api/payments/", NULL, lf_payments_get, NULL, PR, 0, false, "GET, HEAD"},
	{EXACT, "/api/events", NULL, lf_events_list, NULL, ER, 0, false, "GET, HEAD"},
	{WITH_ID, "/api/events/", NULL, lf_events_get, NULL, ER, 0, false, "GET, HEAD"},
	/* any authenticated client: no scope */
	{EXACT, "/api/currencies", NULL, lf_currencies_list, NULL, 0, 0, false, "GET, HEAD"},
};
/* clang-format on */

/* Match; on success *id receives the id segment (NUL-terminated copy). */
static bool match(const struct route *rt, const char *path, char *id, size_t idlen)
{
	size_t plen = strlen(rt->prefix);
	if (rt->shape == EXACT)
		return strcmp(path, rt->prefix) == 0;
	if (strncmp(path, rt->prefix, plen) != 0)
		return false;
	const char *seg = path + plen;
	size_t seglen = strcspn(seg, "/");
	if (seglen == 0)
		return false;
	const char *rest = seg + seglen;
	if (rt->shape == WITH_ID && *rest != '\0')
		return false;
	if (rt->shape == WITH_ID_SUFFIX && strcmp(rest, rt->suffix) != 0)
		return false;
	if (seglen >= idlen)
		seglen = idlen - 1; /* too long to be an id: handlers reject it */
	memcpy(id, seg, seglen);
	id[seglen] = '\0';
	return true;
}

/* application/json, optionally with parameters (; charset=utf-8). */
static bool is_json_media_type(const char *ct)
{
	if (ct == NULL)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	size_t n = strlen("application/json");
	if (strncasecmp(ct, "application/json", n) != 0)
		return false;
	const char *rest = ct + n;
	while (*rest == ' ' || *rest == '\t')
		rest++;
	return *rest == '\0' || *rest == ';';
}

/* Answer one request; the caller holds the log context current. On the
 * operators' address (ops_only) only the operations routes exist. */
static void dispatch(struct lf_req *r, bool ops_only)
{
	struct evhttp_request *req = r->req;

	/* before anything reads the body: what follows a badly framed request
	 * on this connection is not trusted, so the connection closes */
	const char *framing = lf_edge_framing_error(req);
	if (framing != NULL) {
		/* the status line repeats the request's version: never an odd one */
		req->major = 1;
		req->minor = 1;
		lf_req_add_header(r, "Connection", "close");
		lf_req_problem(r, 400, "invalid_request", framing, NULL);
		return;
	}

	char id[80];
	const struct route *found = NULL;
	for (size_t i = 0; i < sizeof routes / sizeof routes[0] && found == NULL; i++)
		if (match(&routes[i], r->path, id, sizeof id))
			found = &routes[i];
	/* /metrics on an address of its own is not on the clients' one */
	bool elsewhere = found != NULL && found->get == lf_ops_metrics && !ops_only &&
			 r->app->cfg->metrics_listen[0] != '\0';
	if (found == NULL || (ops_only && !found->ops) || elsewhere) {
		lf_req_problem(r, 404, "not_found", "No such resource.", NULL);
		return;
	}
	handler_fn h = NULL;
	unsigned scopes = 0;
	if (r->method == EVHTTP_REQ_GET || r->method == EVHTTP_REQ_HEAD) {
		h = found->get;
		scopes = found->get_scopes;
	} else if (r->method == EVHTTP_REQ_POST) {
		h = found->post;
		scopes = found->post_scopes;
	}
	if (h == NULL) {
		lf_req_add_header(r, "Allow", found->allow);
		lf_req_problem(r, 405, "method_not_allowed",
			       "This method is not allowed on this resource.", NULL);
		return;
	}
	if (r->method == EVHTTP_REQ_POST && !is_json_media_type(lf_req_header(r, "Content-Type"))) {
		lf_req_problem(r, 415, "unsupported_media_type",
			       "The request body must be application/json.", NULL);
		return;
	}
	const char *arg = found->shape == EXACT ? NULL : id;
	if (found->ops && (ops_only || r->app->cfg->auth_ops_public)) {
		r->client = (struct lf_client){.id = 0};
		h(r, arg);
		return;
	}
	lf_gate_enter(r, scopes, h, arg);
}

static void enter(struct evhttp_request *req, struct lf_app *app, bool ops_only)
{
	if (!ops_only)
		lf_edge_request_begin(app->edge, req);
	struct lf_req *r = lf_req_begin(app, req);
	if (r == NULL)
		return;
	struct lf_log_ctx ctx;
	struct lf_log_scope scope;
	lf_req_log_ctx(r, &ctx);
	lf_log_scope_enter(&scope, &ctx);
	dispatch(r, ops_only);
	lf_req_release(r);
	lf_log_scope_leave(&scope);
}

void lf_router_dispatch(struct evhttp_request *req, void *arg)
{
	enter(req, arg, false);
}

void lf_router_dispatch_ops(struct evhttp_request *req, void *arg)
{
	enter(req, arg, true);
}
