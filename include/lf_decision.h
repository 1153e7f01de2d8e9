/*
 * lf_decision.h - what a request handler decided, computed on a pool
 * thread and sent on the event loop: a reply (fresh, or a replay of a
 * stored outcome), "database unavailable" (503), or "unknown" (the
 * connection broke while a transaction may have committed: the stored
 * idempotency key must decide).
 */
#ifndef LF_DECISION_H
#define LF_DECISION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf_idempotency.h"
#include "lf_store.h"

struct lf_req;

enum lf_decision_kind { LF_DEC_NONE = 0, LF_DEC_REPLY, LF_DEC_UNAVAILABLE, LF_DEC_UNKNOWN };

struct lf_decision {
	enum lf_decision_kind kind;
	int status;
	char *body; /* malloc'd */
	size_t body_len;
	char location[128]; /* "" when none */
	bool replayed;      /* answered from a stored outcome */
	bool reused;        /* 422 idempotency_key_reused: counted, never stored */
	bool storable;      /* a decided outcome (201/422) the caches may keep */
};

/* A problem reply (not stored anywhere by this call). */
void lf_decision_problem(struct lf_decision *d, int status, const char *code, const char *detail,
			 const char *extra);
/* Take a body (malloc'd) as a fresh decided outcome. */
void lf_decision_fresh(struct lf_decision *d, int status, char *body, size_t len,
		       const char *location);
/* An outcome stored under the key, from any tier: a byte-identical
 * replay when the fingerprint it was stored with matches fp, else 422
 * idempotency_key_reused. Takes the body (malloc'd) in either case. */
void lf_decision_replay(struct lf_decision *d, int status, char *body, size_t len,
			const char *location, const uint8_t stored_fp[LF_FINGERPRINT_LEN],
			const uint8_t fp[LF_FINGERPRINT_LEN]);
/* The same for a row of the idempotency table (lf_store). */
void lf_decision_from_stored(struct lf_decision *d, struct lf_stored *s,
			     const uint8_t fp[LF_FINGERPRINT_LEN]);
void lf_decision_unavailable(struct lf_decision *d);
void lf_decision_clear(struct lf_decision *d);
/* Send it (Location, Idempotent-Replayed, Retry-After as apt); nothing
 * once r was replied (its deadline answered first). */
void lf_decision_send(struct lf_req *r, struct lf_decision *d);

#endif
