/*
 * lf_api.h - what the handlers share: for the POSTs that decide
 * something once (src/api/prelude.c, src/api/retry.c), the prelude, its
 * Idempotency-Key header then its JSON object body, with their 400s in
 * the contract's order, and the bounded, jittered retry of a transaction
 * that the database rolled back because of a deadlock or a lock wait; for
 * the GETs (src/api/reads.c), queueing a read and answering it, and the
 * whole GET-by-id path.
 */
#ifndef LF_API_H
#define LF_API_H

#include <stdbool.h>
#include <stddef.h>

#include "lf_core.h"
#include "lf_dbpool.h"
#include "lf_idempotency.h"
#include "lf_json.h"
#include "lf_uuid.h"

struct json_object;
struct lf_body;
struct lf_client;
struct lf_db_batch_kind;
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
/* Its two halves, for a handler with work between them (payments, their
 * captures, voids and refunds, and batches replay a byte-identical retry
 * before the body is parsed): the key's checks, then the body's. Each is
 * false after its 400 was sent. */
bool lf_api_prelude_key(struct lf_req *r, enum lf_api_key_rule rule, const char *what,
			struct lf_api_key *key);
bool lf_api_prelude_body(struct lf_req *r, struct json_object **obj);

/* ---- metadata (metadata.c) ---- */

/* The request object's "metadata" member: LF_FIELD_ABSENT (absent or
 * null), LF_FIELD_OK with *out its canonical text (malloc'd, the caller
 * frees: members sorted by key), or LF_FIELD_WRONG_TYPE for anything the
 * contract refuses (not an object of at most 20 string values, keys of
 * 1..40 and values of 0..500 characters): a 400 invalid_request. */
enum lf_field_verdict lf_api_metadata_parse(struct json_object *obj, char **out);

/* ---- retries (retry.c) ---- */

/* Run attempt(c, arg) until it returns anything but LF_AGAIN or
 * max_retries retries are spent, sleeping a short jittered back-off
 * (1..4 ms times the attempt number) between attempts on this pool
 * thread. *retries counts the retries made (for the metric). Returns the
 * last attempt's code: LF_AGAIN means the budget ran out, rolled back. */
lf_rc lf_api_retry(lf_rc (*attempt)(struct lf_store_conn *c, void *arg), struct lf_store_conn *c,
		   void *arg, int max_retries, unsigned *retries);

/* ---- reads (reads.c) ---- */

/* Queue a read for r (held until done runs). False when the queue is
 * full or the pool is stopping (nothing was queued, r not held: answer
 * 503 at once). */
bool lf_api_read_submit(struct lf_req *r, lf_db_work_fn work, lf_db_done_fn done, void *arg);
/* The same on the primary whatever the replica's state: for a read that
 * also writes (the events listing numbers what committed first). */
bool lf_api_read_submit_primary(struct lf_req *r, lf_db_work_fn work, lf_db_done_fn done,
				void *arg);
/* A page size: 1..max, decimal digits only, no leading zero. */
bool lf_api_parse_limit(const char *s, unsigned max, unsigned *out);
/* The pool a read goes to: the replica's while it is usable and the
 * request does not say ?consistency=strong, else the primary's. */
struct lf_dbpool *lf_api_read_pool(struct lf_req *r);
/* Answer a read: 200 with body (taken), 404 code/detail for LF_DECLINED,
 * 503 or 500 for a failure. */
void lf_api_read_send(struct lf_req *r, lf_rc rc, struct lf_body *body, const char *code,
		      const char *detail);

/* A resource that is read by its id. */
struct lf_api_read_spec {
	const char *invalid_id_detail; /* 400 invalid_id */
	const char *not_found_code;    /* "account_not_found" */
	const char *not_found_detail;
	size_t row_size;
	/* on a pool thread: fill row for id as who may see it */
	lf_rc (*fetch)(struct lf_store_conn *c, const lf_uuid *id, const struct lf_client *who,
		       void *row);
	/* on the loop: render row (false when out of memory) */
	bool (*render)(struct lf_body *out, const void *row);
	/* optional: free what a fetched row holds (a zeroed row too) */
	void (*clear)(void *row);
	/* optional: n reads at once (concurrent GETs in one query): rows is
	 * n * row_size bytes, rcs[i] as fetch's; batch's work is
	 * lf_api_by_id_batch_work */
	lf_rc (*fetch_many)(struct lf_store_conn *c, int n, const lf_uuid *ids,
			    const struct lf_client *who, void *rows, lf_rc *rcs);
	const struct lf_db_batch_kind *batch;
	/* optional: row is a struct lf_account, read on the event loop
	 * (lf_loopread.h) when the read is routed to the primary and the
	 * loop has a connection; else, or when that fails, as batch */
	bool loop_account;
};
/* The batch work of every spec with fetch_many (lf_dbpool.h). */
bool lf_api_by_id_batch_work(struct lf_store_conn *c, void **args, int n);
/* GET /{resource}/{id}: 400 invalid_id, then one read scoped to r's
 * client, then 200 / 404 / 503 / 500. */
void lf_api_get_by_id(struct lf_req *r, const char *id, const struct lf_api_read_spec *spec);

#endif
