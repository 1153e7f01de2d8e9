/*
 * lf_handlers.h - the endpoint handlers the router dispatches to. Each gets
 * a request context (it holds a reference while it works asynchronously)
 * and, for /{id} routes, the raw id path segment.
 */
#ifndef LF_HANDLERS_H
#define LF_HANDLERS_H

struct lf_req;
struct evhttp_request;

/* The evhttp general callback: routing, framing and media-type checks. */
void lf_router_dispatch(struct evhttp_request *req, void *arg);
/* The same for the [server] metrics_listen address: only /metrics,
 * /healthz and /readyz, without a key. */
void lf_router_dispatch_ops(struct evhttp_request *req, void *arg);

void lf_ops_healthz(struct lf_req *r, const char *id);
void lf_ops_readyz(struct lf_req *r, const char *id);
void lf_ops_metrics(struct lf_req *r, const char *id);

void lf_accounts_create(struct lf_req *r, const char *id);
void lf_accounts_get(struct lf_req *r, const char *id);
void lf_accounts_ledger(struct lf_req *r, const char *id);
void lf_accounts_balance_at(struct lf_req *r, const char *id); /* api/history.c */
void lf_payments_list(struct lf_req *r, const char *id);       /* api/history.c */
void lf_payments_create(struct lf_req *r, const char *id);
void lf_payments_get(struct lf_req *r, const char *id);
/* POST /api/payments/batch (src/api/bulk.c) */
void lf_payments_batch(struct lf_req *r, const char *id);
/* api/payment_action.c: a hold's capture and void, a payment's refund */
void lf_payments_capture(struct lf_req *r, const char *id);
void lf_payments_void(struct lf_req *r, const char *id);
void lf_payments_refund(struct lf_req *r, const char *id);
void lf_payments_refunds_list(struct lf_req *r, const char *id); /* api/refunds.c */
void lf_currencies_list(struct lf_req *r, const char *id);
void lf_events_list(struct lf_req *r, const char *id); /* api/events.c */
void lf_events_get(struct lf_req *r, const char *id);

#endif
