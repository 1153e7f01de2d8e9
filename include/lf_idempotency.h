/*
 * lf_idempotency.h - the tiers in front of the database's stored outcomes:
 * tier 1, the shared-memory cache (every worker, every generation); tier 2,
 * Redis, which also holds the in-flight claim that turns a concurrent
 * duplicate into 409; tier 3, the database, decides inside the payment
 * transaction (lf_transfer) and is the ground truth. Redis being down,
 * flushed or evicting only costs speed: the database still decides.
 */
#ifndef LF_IDEMPOTENCY_H
#define LF_IDEMPOTENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf_idem.h"
#include "lf_outcome.h"

struct lf_req;
struct lf_decision;

#define LF_IDEM_TIER_KEY_MAX (LF_IDEM_KEY_MAX + 48)

struct lf_idem {
	struct lf_req *r;
	char tkey[LF_IDEM_TIER_KEY_MAX]; /* "lf:idem:<client>:<key>" */
	size_t tkey_len;
	uint8_t fp[LF_FINGERPRINT_LEN];
	char token[48]; /* our claim's value in Redis */
	bool claimed;
	void (*proceed)(struct lf_req *r);
};

/* Look the key up in the tiers above the database. Answers the request
 * itself on a hit (a byte-identical replay, or 422 idempotency_key_reused)
 * or when another request holds the key (409 idempotency_key_in_flight);
 * otherwise, after claiming the key in Redis when Redis is up, calls
 * proceed(r), which goes on to the database. */
void lf_idempotency_begin(struct lf_req *r, struct lf_idem *idem, uint64_t client_id,
			  const char *key, size_t key_len, const uint8_t fp[LF_FINGERPRINT_LEN],
			  void (*proceed)(struct lf_req *r));

/* Before the decision is sent: a decided outcome fills Redis and the shm
 * cache; anything else releases our claim so the client may retry. */
void lf_idempotency_finish(struct lf_req *r, struct lf_idem *idem, const struct lf_decision *d);

#endif
