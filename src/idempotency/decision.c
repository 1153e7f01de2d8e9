/*
 * idempotency/decision.c - building and sending lf_decision replies
 * (lf_decision.h): the bodies of the failure kinds, the replay-or-reused
 * rule for stored outcomes, and the reply that takes the body over.
 */
#include "config.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lf_app.h"
#include "lf_decision.h"
#include "lf_http.h"
#include "lf_metrics.h"
#include "lf_render.h"
#include "lf_zone.h"

#define DETAIL_UNAVAILABLE                                                                    \
	"The ledger database is unavailable; nothing was changed. Retry later with the same " \
	"Idempotency-Key."
#define DETAIL_UNKNOWN                                                                            \
	"The database connection was lost before the outcome could be confirmed. Retry with the " \
	"same Idempotency-Key: the recorded outcome, if any, will be returned."
#define DETAIL_INTERNAL                                                                   \
	"The database failed the request with an internal error. Retrying with the same " \
	"Idempotency-Key is safe: the recorded outcome, if any, will be returned."

void lf_decision_clear(struct lf_decision *d)
{
	lf_body_clear(&d->body);
	memset(d, 0, sizeof *d);
}

void lf_decision_problem(struct lf_decision *d, int status, const char *code, const char *detail,
			 const char *extra)
{
	lf_decision_clear(d);
	d->kind = LF_DEC_REPLY;
	d->status = status;
	/* out of memory: the status goes out with an empty body */
	(void)lf_render_problem_body(&d->body, status, code, detail, extra);
}

static void failure(struct lf_decision *d, enum lf_decision_kind kind, int status, const char *code,
		    const char *detail)
{
	lf_decision_problem(d, status, code, detail, NULL);
	d->kind = kind;
	d->retry_after = status == 503;
}

void lf_decision_unavailable(struct lf_decision *d)
{
	failure(d, LF_DEC_UNAVAILABLE, 503, "service_unavailable", DETAIL_UNAVAILABLE);
}

void lf_decision_unknown(struct lf_decision *d, const char *detail)
{
	failure(d, LF_DEC_UNKNOWN, 503, "service_unavailable", detail ? detail : DETAIL_UNKNOWN);
}

void lf_decision_internal(struct lf_decision *d)
{
	failure(d, LF_DEC_INTERNAL, 500, "internal_error", DETAIL_INTERNAL);
}

void lf_decision_failed(struct lf_decision *d, lf_rc rc)
{
	assert(rc != LF_OK);
	if (rc == LF_ERROR)
		lf_decision_internal(d);
	else
		lf_decision_unavailable(d);
}

void lf_decision_fresh(struct lf_decision *d, int status, struct lf_body *body,
		       const char *location)
{
	lf_decision_clear(d);
	d->kind = LF_DEC_REPLY;
	d->status = status;
	lf_body_take(&d->body, body);
	d->storable = true;
	if (location != NULL)
		snprintf(d->location, sizeof d->location, "%s", location);
}

void lf_decision_reply(struct lf_decision *d, int status, struct lf_body *body)
{
	lf_decision_fresh(d, status, body, NULL);
	d->storable = false;
}

void lf_decision_replay(struct lf_decision *d, int status, struct lf_body *body,
			const char *location, const uint8_t stored_fp[LF_FINGERPRINT_LEN],
			const uint8_t fp[LF_FINGERPRINT_LEN])
{
	if (memcmp(stored_fp, fp, LF_FINGERPRINT_LEN) != 0) {
		lf_body_clear(body);
		lf_decision_problem(
			d, 422, "idempotency_key_reused",
			"This Idempotency-Key was already used with a different request.", NULL);
		d->reused = true;
		return;
	}
	lf_decision_fresh(d, status, body, location && location[0] ? location : NULL);
	d->replayed = true;
}

void lf_decision_from_stored(struct lf_decision *d, struct lf_stored *s,
			     const uint8_t fp[LF_FINGERPRINT_LEN])
{
	struct lf_body body;
	lf_body_adopt(&body, s->body, s->body_len);
	s->body = NULL;
	s->body_len = 0;
	lf_decision_replay(d, s->status, &body, s->location, s->fingerprint, fp);
}

/* A live problem names the request that got it (the same member as
 * lf_req_problem adds); a stored or replayed outcome never does, so that
 * replays stay byte for byte. The request id is [A-Za-z0-9._:-] only (or
 * a generated UUID), so it needs no escaping. */
static void add_request_id(struct lf_body *b, const char *request_id)
{
	size_t n = strlen(request_id);
	if (n == 0 || b->data == NULL || b->len == 0 || b->data[b->len - 1] != '}')
		return;
	char *grown = realloc(b->data, b->len + n + 16);
	if (grown == NULL)
		return; /* sent without it */
	int w = snprintf(grown + b->len - 1, n + 17, ",\"requestId\":\"%s\"}", request_id);
	b->data = grown;
	b->len += (size_t)w - 1;
}

void lf_decision_send(struct lf_req *r, struct lf_decision *d)
{
	assert(d->kind != LF_DEC_NONE);
	if (r->replied) { /* the deadline answered first: never touch it again */
		lf_body_clear(&d->body);
		return;
	}
	struct lf_metrics *m = r->app->zone->metrics;
	if (d->kind == LF_DEC_UNAVAILABLE || d->kind == LF_DEC_UNKNOWN)
		lf_metrics_inc(&m->db_unavailable);
	if (d->reused)
		lf_metrics_inc(&m->idem_reused);
	if (d->retry_after)
		lf_req_add_header(r, "Retry-After", "1");
	if (d->location[0])
		lf_req_add_header(r, "Location", d->location);
	if (d->replayed)
		lf_req_add_header(r, "Idempotent-Replayed", "true");
	if (d->status >= 400 && !d->storable && !d->replayed)
		add_request_id(&d->body, r->request_id);
	const char *ct = d->status >= 400 ? "application/problem+json" : "application/json";
	lf_req_reply_body(r, d->status, ct, &d->body);
}
