/*
 * lf_render.h - JSON representations of accounts, payments and ledger
 * entries, exactly as the API contract spells them: ids in lower-case
 * canonical form, amounts as strings with the currency's minor digits,
 * RFC 3339 UTC timestamps with milliseconds, absent optionals as null.
 * The *_body variants render straight into an owned struct lf_body
 * (lf_body.h), the form a body keeps from here to the reply.
 */
#ifndef LF_RENDER_H
#define LF_RENDER_H

#include <stdbool.h>
#include <stdint.h>

#include "lf_body.h"
#include "lf_store.h"

struct evbuffer;

void lf_render_account(struct evbuffer *out, const struct lf_account *a);
void lf_render_payment(struct evbuffer *out, const struct lf_payment *p);
void lf_render_refund(struct evbuffer *out, const struct lf_refund *x);
void lf_render_ledger_entry(struct evbuffer *out, const struct lf_ledger_entry *e, int exponent);
/* The 422 insufficient_funds problem of a declined payment. */
void lf_render_declined(struct evbuffer *out, const lf_uuid *payment_id);
/* The 422 risk_declined problem of a payment a risk rule stopped (the same
 * bytes whichever rule it was, so a replay from the payment row matches). */
void lf_render_risk_declined(struct evbuffer *out, const lf_uuid *payment_id);

/* Move the buffer's bytes into *out (malloc'd, NUL-terminated; the one
 * copy a body gets); b is left empty. False when out of memory (out empty). */
bool lf_render_body(struct lf_body *out, struct evbuffer *b);
/* The same bodies rendered into an owned lf_body; false when out of memory. */
bool lf_render_payment_body(struct lf_body *out, const struct lf_payment *p);
bool lf_render_account_body(struct lf_body *out, const struct lf_account *a);
bool lf_render_refund_body(struct lf_body *out, const struct lf_refund *x);
bool lf_render_declined_body(struct lf_body *out, const lf_uuid *payment_id);
bool lf_render_risk_declined_body(struct lf_body *out, const lf_uuid *payment_id);
bool lf_render_problem_body(struct lf_body *out, int status, const char *code, const char *detail,
			    const char *extra);

#endif
