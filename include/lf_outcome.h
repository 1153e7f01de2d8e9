/*
 * lf_outcome.h - a decided request outcome (what idempotency replays) and
 * its msgpack encoding, shared by the shm cache and Redis.
 */
#ifndef LF_OUTCOME_H
#define LF_OUTCOME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LF_FINGERPRINT_LEN 32 /* SHA-256 */

struct lf_outcome {
	int status;                              /* HTTP status, e.g. 201 or 422 */
	uint8_t fingerprint[LF_FINGERPRINT_LEN]; /* of the request that decided it */
	int64_t expires_ms;                      /* unix ms */
	char *location;                          /* Location header or NULL */
	char *body;                              /* response body (JSON text) */
	size_t body_len;
};

/* Encode as a msgpack map; returns a malloc'd buffer (free()) or NULL. */
void *lf_outcome_encode(const struct lf_outcome *o, size_t *len);
/* Decode; strings are malloc'd into *o (release with lf_outcome_clear). */
bool lf_outcome_decode(const void *buf, size_t len, struct lf_outcome *o);
void lf_outcome_clear(struct lf_outcome *o);

#endif
