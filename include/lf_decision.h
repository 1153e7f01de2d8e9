/*
 * lf_decision.h - what a request handler decided, computed on a pool
 * thread (or by the idempotency tiers) and sent on the event loop. Every
 * kind but LF_DEC_NONE carries its status and its body:
 *   LF_DEC_REPLY        an answer: fresh, or a replay of a stored outcome
 *                       (storable when it is a decided outcome);
 *   LF_DEC_UNAVAILABLE  503: no connection, or a rolled-back transient
 *                       failure: nothing was changed;
 *   LF_DEC_UNKNOWN      503: a write may have committed and its outcome
 *                       could not be confirmed (the key decides on retry);
 *   LF_DEC_INTERNAL     500 internal_error: the database refused the
 *                       statement for another reason (rolled back).
 * Only LF_DEC_REPLY with storable set is ever written to a tier.
 *
 * The body (lf_body.h) is owned by the decision: the setters take the
 * body they are given, lf_decision_send hands it to the reply without a
 * copy, lf_decision_clear frees what is left.
 */
#ifndef LF_DECISION_H
#define LF_DECISION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf_body.h"
#include "lf_core.h"
#include "lf_idempotency.h"
#include "lf_store.h"

struct lf_req;

enum lf_decision_kind {
	LF_DEC_NONE = 0,
	LF_DEC_REPLY,
	LF_DEC_UNAVAILABLE,
	LF_DEC_UNKNOWN,
	LF_DEC_INTERNAL,
};

struct lf_decision {
	enum lf_decision_kind kind;
	int status;
	struct lf_body body;
	char location[128]; /* "" when none */
	bool replayed;      /* answered from a stored outcome */
	bool reused;        /* 422 idempotency_key_reused: counted, never stored */
	bool storable;      /* a decided outcome the caches may keep */
	bool retry_after;   /* send Retry-After: 1 (409 in flight, every 503) */
};

/* A problem reply (not stored anywhere by this call). */
void lf_decision_problem(struct lf_decision *d, int status, const char *code, const char *detail,
			 const char *extra);
/* An answer that is not an idempotent outcome (a GET's 200): takes body. */
void lf_decision_reply(struct lf_decision *d, int status, struct lf_body *body);
/* Take a body as a fresh decided outcome. */
void lf_decision_fresh(struct lf_decision *d, int status, struct lf_body *body,
		       const char *location);
/* An outcome stored under the key, from any tier: a byte-identical
 * replay when the fingerprint it was stored with matches fp, else 422
 * idempotency_key_reused. Takes the body in either case. */
void lf_decision_replay(struct lf_decision *d, int status, struct lf_body *body,
			const char *location, const uint8_t stored_fp[LF_FINGERPRINT_LEN],
			const uint8_t fp[LF_FINGERPRINT_LEN]);
/* The same for a row of the idempotency table (lf_store): takes s->body. */
void lf_decision_from_stored(struct lf_decision *d, struct lf_stored *s,
			     const uint8_t fp[LF_FINGERPRINT_LEN]);
/* 503, nothing was changed: no connection was had, a read failed, or a
 * write failed and was rolled back (deadlocks past the retry budget). */
void lf_decision_unavailable(struct lf_decision *d);
/* 503, a write's outcome is unknown. detail NULL: the standard text for a
 * request with an Idempotency-Key (retry with the same key). */
void lf_decision_unknown(struct lf_decision *d, const char *detail);
/* 500 internal_error: an error that is neither connectivity nor a
 * transient lock conflict; never stored, the claim is released. */
void lf_decision_internal(struct lf_decision *d);
/* A failure where nothing was changed (a read, or a rolled-back write):
 * LF_ERROR is internal, anything else (LF_LOST, LF_AGAIN, no connection)
 * unavailable. */
void lf_decision_failed(struct lf_decision *d, lf_rc rc);
void lf_decision_clear(struct lf_decision *d);
/* Send it (Location, Idempotent-Replayed, Retry-After as apt), handing the
 * body over to the reply: d->body is empty afterwards. Nothing is sent or
 * counted once r was replied (its deadline answered first). */
void lf_decision_send(struct lf_req *r, struct lf_decision *d);

#endif
