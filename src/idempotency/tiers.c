/*
 * idempotency/tiers.c - tiers 1 and 2 of idempotency (lf_idempotency.h).
 *
 * Lookup: the shm cache first (no I/O at all). On a miss, when Redis is
 * up, one script both reads and claims (claim_script below): SET key
 * <claim> NX PX <ttl> GET (Redis 7). nil: the key was free and is now
 * ours: go on to the database. A sealed outcome: a replay (and the shm
 * cache is filled). Our claim prefix: another request is deciding this
 * key: 409 with Retry-After. No reply in time or an error: the breaker
 * opens and the database alone decides, which it always can. A hit is
 * unsealed straight into the decision's body (the decoder's malloc'd bytes
 * are adopted) and handed back to the handler, which sends it.
 *
 * Nothing a tier holds is trusted: both tiers store outcomes sealed with
 * the server's outcome MAC bound to the tier key (lf_outcome_seal), and a
 * value that does not unseal (written without the secret, moved from
 * another key, truncated) is a miss, counted and logged (rate-limited),
 * never replayed; in Redis it is also removed (compare-and-delete, so a
 * value written meanwhile stays). A claim always has an expiry: ours
 * carry PX, and the claim script replaces a claim found without one (it
 * was never ours) and cuts a longer one down to ours, so no value can make
 * a key answer 409 for longer than request_timeout + 2 s.
 * A retry with the same bytes as the request an outcome was stored for (its
 * raw digest, lf_idem_raw_digest, is in the outcome) is replayed from the
 * shm cache before the handler parses its body
 * (lf_idempotency_replay_unparsed; payments, their actions and batches):
 * the same bytes are the same fingerprint, so only the JSON work (and, for
 * an action or a batch, the read before the tiers) is skipped.
 * Finish: a decided outcome (fresh or replayed from the database) is
 * sealed once from the decision's body and written to Redis with the
 * retention TTL and to the shm cache; otherwise the claim is released with
 * a compare-and-delete script so only our own claim is removed.
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
#include "lf_log.h"
#include "lf_metrics.h"
#include "lf_redis.h"
#include "lf_time.h"
#include "lf_zone.h"

#define CLAIM_PREFIX "lf-claim:"
#define CLAIM_PREFIX_LEN 9
#define LF_STR2(x) #x
#define LF_STR(x) LF_STR2(x)
_Static_assert(sizeof CLAIM_PREFIX - 1 == CLAIM_PREFIX_LEN, "the claim script's prefix length");

/* Compare-and-delete: our claim when we give it back, a refused value
 * when it is still the one we read. */
static const char release_script[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then return "
				     "redis.call('DEL', KEYS[1]) end return 0";

/* Read and claim in one step: {previous value or nil, repaired}. A claim
 * found without an expiry is replaced by ours (repaired 1: we hold the key
 * now; every claim we write carries PX, so that one was not ours); one
 * with a longer expiry than ours is cut to ours (repaired 2: it still
 * answers 409, but not for longer than ours would). */
/* clang-format off */
static const char claim_script[] =
	"local v = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2], 'GET') "
	"if not v or string.sub(v, 1, " LF_STR(CLAIM_PREFIX_LEN) ") ~= '" CLAIM_PREFIX "' then return {v, 0} end "
	"local t = redis.call('PTTL', KEYS[1]) "
	"if t == -1 then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return {false, 1} end "
	"if t > tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return {v, 2} end "
	"return {v, 0}";
/* clang-format on */

/* One buffer per worker process: the loop is single-threaded. */
static unsigned char value_buf[LF_CACHE_MAX_VALUE];

/* A stored outcome found in a tier: its body goes into the decision as
 * it was decoded, then the handler goes on. */
static void replay_into(struct lf_decision *d, struct lf_outcome *o,
			const uint8_t fp[LF_FINGERPRINT_LEN])
{
	struct lf_body body;
	lf_body_adopt(&body, o->body, o->body_len);
	o->body = NULL;
	o->body_len = 0;
	lf_decision_replay(d, o->status, &body, o->location, o->fingerprint, fp);
}

static void replay(struct lf_idem *idem, struct lf_outcome *o)
{
	replay_into(idem->d, o, idem->fp);
	idem->next(idem->r, true);
}

/* A value in a tier that does not unseal: a miss, logged (never the
 * value or the key: the client id alone names the scope). */
static void refused(const struct lf_req *r, const char *tier)
{
	(void)r;
	lf_log_limited(LF_LOG_WARN, "idem_refused", "idempotency_value_refused",
		       "subsys=idempotency tier=%s reason=\"does not unseal: forged, moved or "
		       "damaged\"",
		       tier);
}

static bool shm_lookup(struct lf_req *r, struct lf_idem *idem)
{
	struct lf_cache *cache = r->app->zone->cache;
	size_t vlen = 0;
	if (lf_cache_get(cache, idem->tkey, idem->tkey_len, value_buf, sizeof value_buf, &vlen,
			 lf_time_now_ms()) != LF_OK)
		return false;
	struct lf_outcome o;
	if (!lf_outcome_unseal(value_buf, vlen, idem->tkey, idem->tkey_len, &o)) {
		refused(r, "shm");
		lf_metrics_inc(&r->app->zone->metrics->idem_refused_shm);
		(void)lf_cache_delete(cache, idem->tkey, idem->tkey_len);
		return false;
	}
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
static void ignore_reply(void *arg, redisReply *reply);

/* A value that did not unseal goes, unless it changed meanwhile. */
static void drop_refused(struct lf_req *r, struct lf_idem *idem, const char *value, size_t len)
{
	const char *argv[] = {"EVAL", release_script, "1", idem->tkey, value};
	size_t argvlen[] = {4, sizeof release_script - 1, 1, idem->tkey_len, len};
	(void)lf_redis_command(r->app->redis, ignore_reply, NULL, 5, argv, argvlen);
}

/* The claim script's answer: {value or nil, repaired}; NULL for anything
 * else (an error reply, no reply). */
static const redisReply *claim_value(const redisReply *reply, long long *repaired)
{
	*repaired = 0;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
	    reply->element[1]->type != REDIS_REPLY_INTEGER)
		return NULL;
	*repaired = reply->element[1]->integer;
	return reply->element[0];
}

static void on_claim(void *arg, redisReply *reply)
{
	struct lf_idem *idem = arg;
	struct lf_req *r = idem->r;
	long long repaired;
	const redisReply *v = claim_value(reply, &repaired);
	if (repaired != 0) {
		lf_metrics_inc(&r->app->zone->metrics->idem_claims_repaired);
		lf_log_limited(LF_LOG_WARN, "idem_claim", "idempotency_claim_repaired",
			       "subsys=idempotency action=%s",
			       repaired == 1 ? "replaced_claim_without_expiry"
					     : "shortened_claim_expiry");
	}
	if (r->replied) {
		/* the deadline answered first: a claim we just took would make
		 * the client's retries wait 409s until it expires */
		if (v != NULL && v->type == REDIS_REPLY_NIL) {
			idem->claimed = true;
			release_claim(r, idem);
		}
		lf_req_release(r);
		return;
	}
	if (v == NULL) {
		/* Redis failed us: the database decides alone */
		idem->next(r, false);
	} else if (v->type == REDIS_REPLY_NIL) {
		idem->claimed = true;
		idem->next(r, false);
	} else if (v->type == REDIS_REPLY_STRING && v->len >= CLAIM_PREFIX_LEN &&
		   memcmp(v->str, CLAIM_PREFIX, CLAIM_PREFIX_LEN) == 0) {
		lf_metrics_inc(&r->app->zone->metrics->idem_in_flight);
		lf_decision_problem(idem->d, 409, "idempotency_key_in_flight",
				    "A request with this Idempotency-Key is still being processed; "
				    "retry shortly.",
				    NULL);
		idem->d->retry_after = true;
		idem->next(r, true);
	} else {
		struct lf_outcome o;
		if (v->type == REDIS_REPLY_STRING &&
		    lf_outcome_unseal(v->str, v->len, idem->tkey, idem->tkey_len, &o)) {
			lf_metrics_inc(&r->app->zone->metrics->idem_hit_redis);
			shm_store(r, idem, v->str, v->len, o.expires_ms);
			replay(idem, &o);
			lf_outcome_clear(&o);
		} else {
			/* forged, moved or not ours: never replayed; the database
			 * decides (without a claim), and the value goes */
			refused(r, "redis");
			lf_metrics_inc(&r->app->zone->metrics->idem_refused_redis);
			if (v->type == REDIS_REPLY_STRING)
				drop_refused(r, idem, v->str, v->len);
			idem->next(r, false);
		}
	}
	lf_req_release(r);
}

static void set_tier_key(struct lf_idem *idem, uint64_t client_id, const char *key, size_t key_len)
{
	int n = snprintf(idem->tkey, sizeof idem->tkey, "lf:idem:%" PRIu64 ":", client_id);
	memcpy(idem->tkey + n, key, key_len);
	idem->tkey_len = (size_t)n + key_len;
}

bool lf_idempotency_replay_unparsed(struct lf_req *r, struct lf_idem *idem, uint64_t client_id,
				    const char *key, size_t key_len, struct lf_decision *d)
{
	struct lf_cache *cache = r->app->zone->cache;
	size_t vlen = 0;
	set_tier_key(idem, client_id, key, key_len);
	/* the outcome stored for this request (lf_idempotency_finish) keeps it */
	size_t len;
	const char *body = lf_req_body(r, &len);
	idem->has_raw =
		lf_idem_raw_digest(lf_req_method_name(r->method), r->path, body, len, idem->raw);
	if (!idem->has_raw)
		return false;
	lf_rc rc = lf_cache_get(cache, idem->tkey, idem->tkey_len, value_buf, sizeof value_buf,
				&vlen, lf_time_now_ms());
	idem->shm_missed = rc == LF_DECLINED && vlen == 0; /* none, or expired */
	if (rc != LF_OK)
		return false;
	struct lf_outcome o;
	if (!lf_outcome_unseal(value_buf, vlen, idem->tkey, idem->tkey_len, &o))
		return false; /* lf_idempotency_begin finds it again, and refuses it */
	bool same = o.has_raw && memcmp(o.raw, idem->raw, sizeof o.raw) == 0;
	if (same) {
		struct lf_metrics *m = r->app->zone->metrics;
		lf_metrics_inc(&m->idem_hit_shm);
		lf_metrics_inc(&m->idem_replay_unparsed);
		/* the same bytes: the stored fingerprint is this request's */
		replay_into(d, &o, o.fingerprint);
	}
	lf_outcome_clear(&o);
	return same;
}

void lf_idempotency_begin(struct lf_req *r, struct lf_idem *idem, uint64_t client_id,
			  const char *key, size_t key_len, const uint8_t fp[LF_FINGERPRINT_LEN],
			  struct lf_decision *d, void (*next)(struct lf_req *r, bool decided))
{
	if (idem->tkey_len == 0) /* else lf_idempotency_replay_unparsed set it */
		set_tier_key(idem, client_id, key, key_len);
	memcpy(idem->fp, fp, LF_FINGERPRINT_LEN);
	idem->d = d;
	idem->next = next;
	idem->claimed = false;
	idem->r = r;

	if (!idem->shm_missed && shm_lookup(r, idem))
		return;
	static uint64_t counter;
	snprintf(idem->token, sizeof idem->token, CLAIM_PREFIX "%ld:%" PRIu64 ":%" PRId64,
		 (long)getpid(), ++counter, lf_time_now_ms());
	const struct lf_config *cfg = r->app->cfg;
	char ttl[24];
	snprintf(ttl, sizeof ttl, "%" PRId64, cfg->request_timeout_ms + 2000);
	const char *argv[] = {"EVAL", claim_script, "1", idem->tkey, idem->token, ttl};
	size_t argvlen[] = {
		4, sizeof claim_script - 1, 1, idem->tkey_len, strlen(idem->token), strlen(ttl)};
	lf_req_hold(r);
	if (!lf_redis_command(r->app->redis, on_claim, idem, 6, argv, argvlen)) {
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
	/* 200 and 409 are the decided answers of capture, void and refund */
	if (d->kind == LF_DEC_REPLY && d->storable &&
	    (d->status == 200 || d->status == 201 || d->status == 409 || d->status == 422)) {
		if (!d->replayed)
			lf_metrics_inc(&r->app->zone->metrics->idem_miss); /* decided afresh */
		int64_t expires = lf_time_now_ms() + r->app->cfg->idempotency_retention_ms;
		struct lf_outcome o = {.status = d->status,
				       .expires_ms = expires,
				       .location = d->location[0] ? (char *)d->location : NULL,
				       .body = d->body.data,
				       .body_len = d->body.len};
		memcpy(o.fingerprint, idem->fp, LF_FINGERPRINT_LEN);
		/* this request's bytes: a byte-identical retry replays unparsed */
		o.has_raw = idem->has_raw;
		memcpy(o.raw, idem->raw, sizeof o.raw);
		size_t len = 0;
		void *enc = lf_outcome_seal(&o, idem->tkey, idem->tkey_len, &len);
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
