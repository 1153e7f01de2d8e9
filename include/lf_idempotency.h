/*
 * lf_idempotency.h - the idempotency subsystem (src/idempotency/): the
 * Idempotency-Key header's grammar and the request fingerprint (key.c), a
 * decided outcome, its msgpack encoding and the MAC'd seal that the shm
 * cache and Redis hold (outcome.c), and the tiers in front of the database's stored
 * outcomes (tiers.c): tier 1, the shared-memory cache (every worker, every
 * generation); tier 2, Redis, which also holds the in-flight claim that
 * turns a concurrent duplicate into 409; tier 3, the database, decides
 * inside the payment transaction and is the ground truth. Redis being
 * down, flushed or evicting only costs speed: the database still decides.
 * What a handler decided and how it is replied is lf_decision.h.
 */
#ifndef LF_IDEMPOTENCY_H
#define LF_IDEMPOTENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- stored outcomes (outcome.c) ---- */

#define LF_FINGERPRINT_LEN 32 /* SHA-256 */

struct lf_outcome {
	int status;                              /* HTTP status, e.g. 201 or 422 */
	uint8_t fingerprint[LF_FINGERPRINT_LEN]; /* of the request that decided it */
	int64_t expires_ms;                      /* unix ms */
	char *location;                          /* Location header or NULL */
	char *body;                              /* response body (JSON text) */
	size_t body_len;
	/* The raw digest (lf_idem_raw_digest) of a request whose fingerprint
	 * is the one above: a later request with the same digest has the
	 * same bytes, so it replays without its body being parsed again.
	 * Optional: outcomes read from the database have none. */
	bool has_raw;
	uint8_t raw[LF_FINGERPRINT_LEN];
};

/* The bare encoding, with no integrity of its own: the seal below is
 * built on it, and the unit tests check it. A tier never stores or reads
 * it: anyone who can write to Redis can compute it (the fingerprint is an
 * unkeyed SHA-256), so tiers use only lf_outcome_seal/lf_outcome_unseal.
 * Encode as a msgpack map; returns a malloc'd buffer (free()) or NULL. */
void *lf_outcome_encode(const struct lf_outcome *o, size_t *len);
/* Decode; strings are malloc'd into *o (release with lf_outcome_clear). */
bool lf_outcome_decode(const void *buf, size_t len, struct lf_outcome *o);
void lf_outcome_clear(struct lf_outcome *o);

/* What the shm cache and Redis hold: the encoding sealed with
 * HMAC-SHA-256 under the server's outcome secret, bound to scope (the
 * tier key, which names the client and the Idempotency-Key), so a value
 * written by anyone without the secret, or moved from another key, is
 * refused. seal returns a malloc'd buffer (free()) or NULL; unseal is
 * false for a forged, moved, truncated or undecodable value. */
#define LF_OUTCOME_SECRET_LEN 32
#define LF_OUTCOME_MAC_LEN 32
void lf_outcome_set_secret(const uint8_t secret[LF_OUTCOME_SECRET_LEN]);
void *lf_outcome_seal(const struct lf_outcome *o, const void *scope, size_t scope_len, size_t *len);
bool lf_outcome_unseal(const void *buf, size_t len, const void *scope, size_t scope_len,
		       struct lf_outcome *o);

/* ---- keys and fingerprints (key.c) ---- */

#define LF_IDEM_KEY_MAX 255

enum lf_idem_key_verdict { LF_IDEM_KEY_OK, LF_IDEM_KEY_MISSING, LF_IDEM_KEY_INVALID };

/* Validate the header value; on success key[0..*len) is the key (quotes
 * removed) and key is NUL-terminated. */
enum lf_idem_key_verdict lf_idem_key_parse(const char *header, char key[LF_IDEM_KEY_MAX + 1],
					   size_t *len);

/* Incremental fingerprint: fields are length-prefixed so no two different
 * field lists hash alike. */
struct lf_fp {
	void *ctx; /* EVP_MD_CTX */
};
bool lf_fp_begin(struct lf_fp *fp, const char *method, const char *route);
void lf_fp_field(struct lf_fp *fp, const char *name, const char *value, size_t len);
void lf_fp_null(struct lf_fp *fp, const char *name); /* absent or null */
void lf_fp_end(struct lf_fp *fp, uint8_t out[LF_FINGERPRINT_LEN]);

/* SHA-256 of a request as it arrived: its method, its path and its body's
 * bytes, length-prefixed. Equal digests mean byte-identical requests, and
 * so equal fingerprints; unequal ones mean nothing (the fingerprint
 * ignores member order and whitespace, this does not). False when
 * libcrypto fails: then there is no digest. */
bool lf_idem_raw_digest(const char *method, const char *path, const void *body, size_t len,
			uint8_t out[LF_FINGERPRINT_LEN]);

/* Canonical text of a decimal that passed the grammar: the fraction's
 * trailing zeros removed ("100.00" -> "100", "1.50" -> "1.5"), so it does
 * not depend on a currency. out must hold len + 1 bytes. */
size_t lf_idem_canonical_decimal(const char *text, size_t len, char *out);

/* ---- tiers 1 and 2 (tiers.c) ---- */

struct lf_req;
struct lf_decision;

#define LF_IDEM_TIER_KEY_MAX (LF_IDEM_KEY_MAX + 48)

struct lf_idem {
	struct lf_req *r;
	char tkey[LF_IDEM_TIER_KEY_MAX]; /* "lf:idem:<client>:<key>" */
	size_t tkey_len;
	uint8_t fp[LF_FINGERPRINT_LEN];
	uint8_t raw[LF_FINGERPRINT_LEN]; /* the request's raw digest, if has_raw */
	bool has_raw;
	bool shm_missed; /* lf_idempotency_replay_unparsed found no entry */
	char token[48];  /* our claim's value in Redis */
	bool claimed;
	struct lf_decision *d; /* where a tier's answer goes */
	void (*next)(struct lf_req *r, bool decided);
};

/* Look the key up in the tiers above the database, then call next(r,
 * decided) once (possibly before this returns), unless the request was
 * answered meanwhile by its deadline. decided: a tier answered and *d
 * holds the reply (a byte-identical replay, 422 idempotency_key_reused, or
 * 409 idempotency_key_in_flight with Retry-After); the handler sends it.
 * Not decided: the database decides (the key is now claimed in Redis when
 * Redis is up). The hits are counted here. */
void lf_idempotency_begin(struct lf_req *r, struct lf_idem *idem, uint64_t client_id,
			  const char *key, size_t key_len, const uint8_t fp[LF_FINGERPRINT_LEN],
			  struct lf_decision *d, void (*next)(struct lf_req *r, bool decided));

/* Before the body is parsed: when the shm cache holds this key's outcome
 * and it was decided (or last replayed) for a byte-identical request
 * (same method, path and body: lf_idem_raw_digest), *d gets the replay and
 * this is true; the handler sends it. Anything else (no key's outcome in
 * shm, another digest, an outcome without one) is false and leaves the
 * request to the usual path: parse, validate, lf_idempotency_begin. The
 * client's authentication and scope were checked by the gate, and the
 * tier key names the client, as in lf_idempotency_begin. idem must be
 * zeroed; it keeps the tier key and the digest (the outcome
 * lf_idempotency_finish stores carries it: only a handler that calls this
 * pays for the digest), and whether the key had no entry at all, so that
 * lf_idempotency_begin does not look again (the shm tier is a cache:
 * Redis and the database still decide). */
bool lf_idempotency_replay_unparsed(struct lf_req *r, struct lf_idem *idem, uint64_t client_id,
				    const char *key, size_t key_len, struct lf_decision *d);

/* Before the decision is sent (it reads d->body, which sending hands
 * over): a decided outcome (LF_DEC_REPLY, storable: 200, 201, 409 or 422) fills
 * Redis and the shm cache; anything else, a 500 or a 503 included,
 * releases our claim so the client may retry at once. */
void lf_idempotency_finish(struct lf_req *r, struct lf_idem *idem, const struct lf_decision *d);

#endif
