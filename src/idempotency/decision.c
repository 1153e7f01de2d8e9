/*
 * idempotency/decision.c - building and sending lf_decision replies (lf_decision.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "lf_app.h"
#include "lf_decision.h"
#include "lf_http.h"
#include "lf_metrics.h"
#include "lf_render.h"
#include "lf_zone.h"

void lf_decision_clear(struct lf_decision *d)
{
	free(d->body);
	memset(d, 0, sizeof *d);
}

void lf_decision_problem(struct lf_decision *d, int status, const char *code, const char *detail,
			 const char *extra)
{
	lf_decision_clear(d);
	struct evbuffer *b = evbuffer_new();
	d->kind = LF_DEC_REPLY;
	d->status = status;
	if (b == NULL)
		return;
	lf_problem_render(b, status, code, detail, extra);
	d->body = lf_render_take(b, &d->body_len);
	evbuffer_free(b);
}

void lf_decision_fresh(struct lf_decision *d, int status, char *body, size_t len,
		       const char *location)
{
	lf_decision_clear(d);
	d->kind = LF_DEC_REPLY;
	d->status = status;
	d->body = body;
	d->body_len = len;
	d->storable = true;
	if (location != NULL)
		snprintf(d->location, sizeof d->location, "%s", location);
}

void lf_decision_replay(struct lf_decision *d, int status, char *body, size_t len,
			const char *location, const uint8_t stored_fp[LF_FINGERPRINT_LEN],
			const uint8_t fp[LF_FINGERPRINT_LEN])
{
	if (memcmp(stored_fp, fp, LF_FINGERPRINT_LEN) != 0) {
		free(body);
		lf_decision_problem(
			d, 422, "idempotency_key_reused",
			"This Idempotency-Key was already used with a different request.", NULL);
		d->reused = true;
		return;
	}
	lf_decision_fresh(d, status, body, len, location && location[0] ? location : NULL);
	d->replayed = true;
}

void lf_decision_from_stored(struct lf_decision *d, struct lf_stored *s,
			     const uint8_t fp[LF_FINGERPRINT_LEN])
{
	lf_decision_replay(d, s->status, s->body, s->body_len, s->location, s->fingerprint, fp);
	s->body = NULL;
	s->body_len = 0;
}

void lf_decision_unavailable(struct lf_decision *d)
{
	lf_decision_clear(d);
	d->kind = LF_DEC_UNAVAILABLE;
}

void lf_decision_send(struct lf_req *r, struct lf_decision *d)
{
	/* a late completion after the deadline answered 503: nothing to send,
	 * and nothing to count (that 503 was not this decision's) */
	if (r->replied)
		return;
	if (d->kind != LF_DEC_REPLY) {
		lf_metrics_inc(&r->app->zone->metrics->db_unavailable);
		lf_req_add_header(r, "Retry-After", "1");
		lf_req_problem(r, 503, "service_unavailable",
			       d->kind == LF_DEC_UNKNOWN
				       ? "The database connection was lost before the outcome "
					 "could be confirmed. Retry with the same Idempotency-Key: "
					 "the recorded outcome, if any, will be returned."
				       : "The ledger database is unavailable; nothing was changed. "
					 "Retry later with the same Idempotency-Key.",
			       NULL);
		return;
	}
	if (d->reused)
		lf_metrics_inc(&r->app->zone->metrics->idem_reused);
	if (d->location[0])
		lf_req_add_header(r, "Location", d->location);
	if (d->replayed)
		lf_req_add_header(r, "Idempotent-Replayed", "true");
	const char *ct = d->status >= 400 ? "application/problem+json" : "application/json";
	lf_req_reply_bytes(r, d->status, ct, d->body ? d->body : "", d->body ? d->body_len : 0);
}
