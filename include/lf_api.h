/*
 * lf_api.h - what the handlers that decide something once share
 * (src/api/prelude.c, src/api/retry.c): the prelude of such a POST, its
 * Idempotency-Key header then its JSON object body, with their 400s in
 * the contract's order; and the bounded, jittered retry of a transaction
 * that the database rolled back because of a deadlock or a lock wait.
 */
#ifndef LF_API_H
#define LF_API_H

#include <stdbool.h>
#include <stddef.h>

#include "lf_core.h"
#include "lf_idempotency.h"

struct json_object;
struct lf_req;
struct lf_store_conn;

/* ---- the prelude (prelude.c) ---- */

struct lf_api_key {
	bool present;
	size_t len;
	char text[LF_IDEM_KEY_MAX + 1]; /* NUL-terminated, quotes removed */
};

enum lf_api_key_rule { LF_API_KEY_REQUIRED, LF_API_KEY_OPTIONAL };

/* The Idempotency-Key header (400 idempotency_key_missing when required
 * and absent, 400 idempotency_key_invalid when malformed), then the body
 * as a JSON object (400 invalid_json, 400 invalid_request). On success
 * *obj is the object (json_object_put() it) and key is filled; false
 * after the 400 was sent. what names the endpoint in the missing-key
 * detail ("POST /api/payments"). */
bool lf_api_prelude(struct lf_req *r, enum lf_api_key_rule rule, const char *what,
		    struct lf_api_key *key, struct json_object **obj);

/* ---- retries (retry.c) ---- */

/* Run attempt(c, arg) until it returns anything but LF_AGAIN or
 * max_retries retries are spent, sleeping a short jittered back-off
 * (1..4 ms times the attempt number) between attempts on this pool
 * thread. *retries counts the retries made (for the metric). Returns the
 * last attempt's code: LF_AGAIN means the budget ran out, rolled back. */
lf_rc lf_api_retry(lf_rc (*attempt)(struct lf_store_conn *c, void *arg), struct lf_store_conn *c,
		   void *arg, int max_retries, unsigned *retries);

#endif
