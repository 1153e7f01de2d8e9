/*
 * idempotency/tiers.c - tiers 1 and 2 of idempotency (lf_idempotency.h).
 *
 * Lookup: the shm cache first (no I/O at all). On a miss, when Redis is
 * up, one command both reads and claims: SET key <claim> NX PX <ttl> GET
 * (Redis 7). nil: the key was free and is now ours: go on to the
 * database. A msgpack outcome: a replay (and the shm cache is filled). Our
 * claim prefix: another request is deciding this key: 409 with
 * Retry-After. No reply in time or an error: the breaker opens and the
 * database alone decides, which it always can. A hit is decoded straight
 * into the decision's body (the decoder's malloc'd bytes are adopted) and
 * handed back to the handler, which sends it.
 * Finish: a decided outcome (fresh or replayed from the database) is
 * encoded once from the decision's body and written to Redis with the
 * retention TTL and to the shm cache; otherwise
 * the claim is released with a compare-and-delete script so only our own
 * claim is removed.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "lf_app.h"
#include "lf_cache.h"
#include "lf_config.h"
#include "lf_decision.h"
#include "lf_http.h"
#include "lf_idempotency.h"
#include "lf_metrics.h"
#include "lf_redis.h"
#include "lf_time.h"
#include "lf_zone.h"

#define CLAIM_PREFIX "lf-claim:"

static const char release_script[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then return "
				     "redis.call('DEL', KEYS[1]) end return 0";

/* One buffer per worker process: the loop is single-threaded. */
static unsigned char value_buf[LF_CACHE_MAX_VALUE];

/* A stored outcome found in a tier: its body goes into the decision as
 * it was decoded, then the handler goes on. */
static void replay(struct lf_idem *idem, struct lf_outcome *o)
{
	struct lf_body body;
	lf_body_adopt(&body, o->body, o->body_len);
	o->body = NULL;
	o->body_len = 0;
	lf_decision_replay(idem->d, o->status, &body, o->location, o->fingerprint, idem->fp);
	idem->next(idem->r, true);
}

static bool shm_lookup(struct lf_req *r, struct lf_idem *idem)
{
	struct lf_cache *cache = r->app->zone->cache;
	size_t vlen = 0;
	if (lf_cache_get(cache, idem->tkey, idem->tkey_len, value_buf, sizeof value_buf, &vlen,
			 lf_time_now_ms()) != LF_OK)
		return false;
	struct lf_outcome o;
	if (!lf_outcome_decode(value_buf, vlen, &o))
		return false;
	lf_metrics_inc(&r->app->zone->metrics->idem_hit_shm);
	replay(idem, &o);
	lf_outcome_clear(&o);
	return true;
}

static void shm_store(struct lf_req *r, struct lf_idem *idem, const void *enc, size_t len,
		      int64_t expires_ms)
{
	(void)lf_cache_put(r->app->zone->cache, idem->tkey, idem->tkey_len, enc, len, expires_ms,
			   lf_time_now_ms());
}

static void release_claim(struct lf_req *r, struct lf_idem *idem);

static void on_claim(void *arg, redisReply *reply)
{
	struct lf_idem *idem = arg;
	struct lf_req *r = idem->r;
	if (r->replied) {
		/* the deadline answered first: a claim we just took would make
		 * the client's retries wait 409s until it expires */
		if (reply != NULL && reply->type == REDIS_REPLY_NIL) {
			idem->claimed = true;
			release_claim(r, idem);
		}
		lf_req_release(r);
		return;
	}
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		/* Redis failed us: the database decides alone */
		idem->next(r, false);
	} else if (reply->type == REDIS_REPLY_NIL) {
		idem->claimed = true;
		idem->next(r, false);
	} else if (reply->type == REDIS_REPLY_STRING && reply->len >= sizeof CLAIM_PREFIX - 1 &&
		   memcmp(reply->str, CLAIM_PREFIX, sizeof CLAIM_PREFIX - 1) == 0) {
		lf_metrics_inc(&r->app->zone->metrics->idem_in_flight);
		lf_decision_problem(idem->d, 409, "idempotency_key_in_flight",
				    "A request with this Idempotency-Key is still being processed; "
				    "retry shortly.",
				    NULL);
		idem->d->retry_after = true;
		idem->next(r, true);
	} else {
		struct lf_outcome o;
		if (reply->type == REDIS_REPLY_STRING &&
		    lf_outcome_decode(reply->str, reply->len, &o)) {
			lf_metrics_inc(&r->app->zone->metrics->idem_hit_redis);
			shm_store(r, idem, reply->str, reply->len, o.expires_ms);
			replay(idem, &o);
			lf_outcome_clear(&o);
		} else {
			/* not ours to read: let the database decide */
			idem->next(r, false);
		}
	}
	lf_req_release(r);
}

void lf_idempotency_begin(struct lf_req *r, struct lf_idem *idem, uint64_t client_id,
			  const char *key, size_t key_len, const uint8_t fp[LF_FINGERPRINT_LEN],
			  struct lf_decision *d, void (*next)(struct lf_req *r, bool decided))
{
	int n = snprintf(idem->tkey, sizeof idem->tkey, "lf:idem:%" PRIu64 ":", client_id);
	memcpy(idem->tkey + n, key, key_len);
	idem->tkey_len = (size_t)n + key_len;
	memcpy(idem->fp, fp, LF_FINGERPRINT_LEN);
	idem->d = d;
	idem->next = next;
	idem->claimed = false;
	idem->r = r;

	if (shm_lookup(r, idem))
		return;
	static uint64_t counter;
	snprintf(idem->token, sizeof idem->token, CLAIM_PREFIX "%ld:%" PRIu64 ":%" PRId64,
		 (long)getpid(), ++counter, lf_time_now_ms());
	const struct lf_config *cfg = r->app->cfg;
	char ttl[24];
	snprintf(ttl, sizeof ttl, "%" PRId64, cfg->request_timeout_ms + 2000);
	const char *argv[] = {"SET", idem->tkey, idem->token, "NX", "PX", ttl, "GET"};
	size_t argvlen[] = {3, idem->tkey_len, strlen(idem->token), 2, 2, strlen(ttl), 3};
	lf_req_hold(r);
	if (!lf_redis_command(r->app->redis, on_claim, idem, 7, argv, argvlen)) {
		lf_req_release(r);
		next(r, false); /* Redis down or breaker open */
	}
}

static void ignore_reply(void *arg, redisReply *reply)
{
	(void)arg;
	(void)reply;
}

void lf_idempotency_finish(struct lf_req *r, struct lf_idem *idem, const struct lf_decision *d)
{
	if (idem->tkey_len == 0)
		return;
	if (d->kind == LF_DEC_REPLY && d->storable && (d->status == 201 || d->status == 422)) {
		if (!d->replayed)
			lf_metrics_inc(&r->app->zone->metrics->idem_miss); /* decided afresh */
		int64_t expires = lf_time_now_ms() + r->app->cfg->idempotency_retention_ms;
		struct lf_outcome o = {.status = d->status,
				       .expires_ms = expires,
				       .location = d->location[0] ? (char *)d->location : NULL,
				       .body = d->body.data,
				       .body_len = d->body.len};
		memcpy(o.fingerprint, idem->fp, LF_FINGERPRINT_LEN);
		size_t len = 0;
		void *enc = lf_outcome_encode(&o, &len);
		if (enc == NULL)
			return;
		shm_store(r, idem, enc, len, expires);
		char ttl[24];
		snprintf(ttl, sizeof ttl, "%" PRId64, r->app->cfg->idempotency_retention_ms);
		const char *argv[] = {"SET", idem->tkey, enc, "PX", ttl};
		size_t argvlen[] = {3, idem->tkey_len, len, 2, strlen(ttl)};
		(void)lf_redis_command(r->app->redis, ignore_reply, NULL, 5, argv, argvlen);
		free(enc);
		idem->claimed = false;
	} else {
		release_claim(r, idem);
	}
}

/* Compare-and-delete: only our own claim goes. */
static void release_claim(struct lf_req *r, struct lf_idem *idem)
{
	if (!idem->claimed)
		return;
	const char *argv[] = {"EVAL", release_script, "1", idem->tkey, idem->token};
	size_t argvlen[] = {4, sizeof release_script - 1, 1, idem->tkey_len, strlen(idem->token)};
	(void)lf_redis_command(r->app->redis, ignore_reply, NULL, 5, argv, argvlen);
	idem->claimed = false;
}
