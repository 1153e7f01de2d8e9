/*
 * auth/gate.c - authentication, authorisation and rate limits in front of
 * every API handler (lf_gate.h).
 *
 * A request with a well-formed Bearer key: its prefix is looked up in the
 * shared cache under the current authentication epoch ("lf:auth:<epoch>:
 * <prefix>"); on a miss, or when the entry is older than [auth] cache_ttl,
 * one pool job reads the key's row (lf_store_find_key) and the answer,
 * found or not, is cached. The key is then checked against the row's
 * digest (HMAC-SHA-256 under the pepper, constant-time), its revocation
 * and its expiry after a rotation; the client's token bucket is charged;
 * the route's scopes are checked ([ratelimit] global adds a count across
 * hosts in Redis: global_limit.c). A request without a valid key is charged
 * to its source address's bucket ([ratelimit] anonymous_rate) and answered
 * 401 (or 429). A lookup is made only while the address's lookup bucket
 * (the same rate) has a token, and one that finds no valid key takes one,
 * so random keys cannot turn into a stream of database reads. Each worker
 * polls the epoch once a second; a revoke or rotate bumps it, so no worker
 * trusts an old lookup for more than about a second after. When the
 * database cannot be asked, an entry of the current epoch that is past its
 * cache_ttl (kept up to STALE_FACTOR times longer) still answers: a key
 * that was valid a moment ago, under an epoch nobody bumped, still is.
 */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>
#include <openssl/crypto.h>

#include "lf_app.h"
#include "lf_cache.h"
#include "lf_config.h"
#include "lf_dbpool.h"
#include "lf_gate.h"
#include "lf_http.h"
#include "lf_log.h"
#include "lf_metrics.h"
#include "lf_ratelimit.h"
#include "lf_store.h"
#include "lf_time.h"
#include "lf_zone.h"

#define CACHE_VERSION 2
#define EPOCH_POLL_MS 1000
#define STALE_FACTOR 12 /* a lookup is kept this many cache_ttl, for outages */

static uint8_t gate_pepper[LF_AUTH_PEPPER_LEN];

void lf_gate_set_pepper(const uint8_t pepper[LF_AUTH_PEPPER_LEN])
{
	memcpy(gate_pepper, pepper, LF_AUTH_PEPPER_LEN);
}

/* A key lookup as the shared cache keeps it (this process's layout; the
 * version byte guards a zone kept across a binary change). */
struct cached_key {
	uint8_t version;
	uint8_t found;
	uint8_t revoked;
	uint8_t pad;
	uint32_t scopes;
	uint32_t rate;
	uint32_t pad2;
	int64_t expires_ms;     /* the key's own end (rotation), 0: none */
	int64_t fresh_until_ms; /* trusted without asking until then */
	uint64_t client_id;
	uint8_t digest[LF_AUTH_DIGEST_LEN];
};

/* One request's passage through the gate while it waits for a lookup. */
struct passage {
	struct lf_req *r;
	unsigned scopes;
	lf_gate_next_fn next;
	char id[80];
	char prefix[LF_AUTH_PREFIX_LEN + 1];
	char key[LF_AUTH_KEY_LEN + 1]; /* the presented key: never logged, wiped */
	uint64_t epoch;
	bool have_stale; /* an entry past its freshness, for an outage */
	bool looked_up;  /* the row came from the database just now */
	struct cached_key stale;
	lf_rc rc;
	struct lf_key_row row;
};

static void passage_free(struct passage *p)
{
	OPENSSL_cleanse(p->key, sizeof p->key);
	free(p);
}

static uint64_t current_epoch(struct lf_app *app)
{
	return __atomic_load_n(&app->zone->metrics->auth_epoch, __ATOMIC_ACQUIRE);
}

static size_t cache_key(char *buf, size_t len, uint64_t epoch, const char *prefix)
{
	int n = snprintf(buf, len, "lf:auth:%" PRIu64 ":%s", epoch, prefix);
	return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

/* ---- answers ---- */

static void policy_headers(struct lf_req *r, const char *name, uint32_t rate,
			   const struct lf_rate_verdict *v)
{
	char buf[96];
	snprintf(buf, sizeof buf, "\"%s\";q=%" PRIu32 ";w=1", name, rate);
	lf_req_add_header(r, "RateLimit-Policy", buf);
	snprintf(buf, sizeof buf, "\"%s\";r=%" PRIu32 ";t=%" PRIu32, name, v->remaining,
		 v->reset_s);
	lf_req_add_header(r, "RateLimit", buf);
}

static void answer_429(struct lf_req *r, const char *name, uint32_t rate,
		       const struct lf_rate_verdict *v)
{
	char retry[16];
	snprintf(retry, sizeof retry, "%" PRIu32, v->retry_after_s ? v->retry_after_s : 1);
	lf_req_add_header(r, "Retry-After", retry);
	policy_headers(r, name, rate, v);
	lf_req_problem(r, 429, "rate_limited",
		       "Too many requests; retry after the number of seconds in Retry-After.",
		       NULL);
}

static void answer_401(struct lf_req *r, bool presented)
{
	lf_metrics_inc(&r->app->zone->metrics->auth_rejected);
	lf_req_add_header(r, "WWW-Authenticate",
			  presented ? "Bearer realm=\"ledgerflow\", error=\"invalid_token\""
				    : "Bearer realm=\"ledgerflow\"");
	lf_req_problem(r, 401, "unauthorized",
		       presented ? "The API key is not valid (unknown, revoked or expired)."
				 : "This endpoint needs an API key: Authorization: Bearer <key>.",
		       NULL);
}

/* ---- buckets ---- */

/* The source address's buckets: 'a' for requests without a valid key,
 * 'l' for key lookups that turned out to be for nothing. */
enum address_bucket { ANONYMOUS = 'a', LOOKUPS = 'l' };

/* Charge one of the source address's buckets (or, with take false, only
 * look whether it has a token). False when it is empty (429 sent). */
static bool charge_address(struct lf_req *r, enum address_bucket which, bool take)
{
	uint8_t key[LF_RATELIMIT_KEY_MAX] = {(uint8_t)which};
	size_t klen = 1;
	char *host = NULL;
	ev_uint16_t port = 0;
	struct evhttp_connection *evcon = r->req ? evhttp_request_get_connection(r->req) : NULL;
	if (evcon != NULL)
		evhttp_connection_get_peer(evcon, &host, &port);
	if (host != NULL && inet_pton(AF_INET6, host, key + 1) == 1)
		klen = 17;
	else if (host != NULL && inet_pton(AF_INET, host, key + 1) == 1)
		klen = 5;
	uint32_t rate = (uint32_t)r->app->cfg->ratelimit_anonymous_rate;
	struct lf_rate_verdict v;
	lf_rc rc = take ? lf_ratelimit_take(r->app->zone->ratelimit, key, klen, rate, rate,
					    lf_time_monotonic_ms() * 1000, &v)
			: lf_ratelimit_peek(r->app->zone->ratelimit, key, klen, rate, rate,
					    lf_time_monotonic_ms() * 1000, &v);
	if (rc != LF_OK)
		return true; /* a lock lost for good: let it through */
	if (v.allowed)
		return true;
	lf_metrics_inc(&r->app->zone->metrics->rate_limited_anon);
	answer_429(r, "anonymous", rate, &v);
	return false;
}

/* Charge the client's bucket; headers on every answer. False when it is
 * empty (429 sent). */
static bool charge_client(struct lf_req *r, uint32_t rate)
{
	uint8_t key[9] = {'c'};
	for (int i = 0; i < 8; i++)
		key[1 + i] = (uint8_t)(r->client.id >> (56 - 8 * i));
	struct lf_rate_verdict v;
	if (lf_ratelimit_take(r->app->zone->ratelimit, key, sizeof key, rate, rate,
			      lf_time_monotonic_ms() * 1000, &v) != LF_OK)
		return true;
	if (!v.allowed) {
		lf_metrics_inc(&r->app->zone->metrics->rate_limited);
		answer_429(r, "client", rate, &v);
		return false;
	}
	policy_headers(r, "client", rate, &v);
	return true;
}

/* ---- the decision, once the key's row is known ---- */

static void admit(struct passage *p, const struct cached_key *k)
{
	struct lf_req *r = p->r;
	uint8_t digest[LF_AUTH_DIGEST_LEN];
	lf_auth_key_digest(gate_pepper, p->key, digest);
	bool ok = k->found && !k->revoked &&
		  (k->expires_ms == 0 || lf_time_now_ms() < k->expires_ms) &&
		  lf_auth_digest_equal(digest, k->digest);
	OPENSSL_cleanse(p->key, sizeof p->key);
	if (!ok) {
		lf_info("auth_rejected", "key_prefix=%s reason=%s", p->prefix,
			!k->found                                                 ? "unknown"
			: k->revoked                                              ? "revoked"
			: k->expires_ms != 0 && lf_time_now_ms() >= k->expires_ms ? "expired"
										  : "digest");
		/* a lookup made for nothing costs the address a lookup token;
		 * any invalid key costs it an anonymous request */
		if (p->looked_up)
			(void)charge_address(r, LOOKUPS, true);
		if (charge_address(r, ANONYMOUS, true))
			answer_401(r, true);
		return;
	}
	r->client.id = k->client_id;
	r->client.scopes = k->scopes;
	r->client.admin = (k->scopes & LF_SCOPE_ADMIN) != 0;
	snprintf(r->client.prefix, sizeof r->client.prefix, "%s", p->prefix);
	uint32_t rate = k->rate ? k->rate : (uint32_t)r->app->cfg->ratelimit_rate;
	int64_t now = lf_time_now_ms();
	uint32_t retry_s = 1;
	if (r->app->cfg->ratelimit_global &&
	    lf_global_limit_over(r->app, r->client.id, now, &retry_s)) {
		struct lf_rate_verdict v = {.retry_after_s = retry_s, .reset_s = retry_s};
		lf_metrics_inc(&r->app->zone->metrics->rate_limited_global);
		answer_429(r, "global", rate, &v);
		return;
	}
	if (!charge_client(r, rate))
		return;
	if (r->app->cfg->ratelimit_global)
		lf_global_limit_count(r->app, r->client.id, rate, now);
	if (!lf_auth_scopes_allow(k->scopes, p->scopes)) {
		lf_metrics_inc(&r->app->zone->metrics->auth_forbidden);
		char need[160];
		lf_auth_scopes_format(p->scopes, need, sizeof need);
		char detail[240];
		snprintf(detail, sizeof detail,
			 "This API key lacks the scope this request needs (%s).", need);
		lf_req_problem(r, 403, "forbidden", detail, NULL);
		return;
	}
	p->next(r, p->id[0] ? p->id : NULL);
}

static void remember(struct lf_app *app, const struct passage *p, const struct cached_key *k)
{
	int64_t ttl = app->cfg->auth_cache_ttl_ms;
	if (ttl <= 0)
		return;
	int64_t now = lf_time_now_ms(), expires = now + ttl * STALE_FACTOR;
	if (k->found && k->expires_ms != 0 && k->expires_ms < expires)
		expires = k->expires_ms;
	char ck[96];
	size_t n = cache_key(ck, sizeof ck, p->epoch, p->prefix);
	if (n > 0)
		(void)lf_cache_put(app->zone->cache, ck, n, k, sizeof *k, expires, now);
}

static bool lookup_work(struct lf_store_conn *c, void *arg)
{
	struct passage *p = arg;
	if (c == NULL) {
		p->rc = LF_LOST;
		return true;
	}
	p->rc = lf_store_find_key(c, p->prefix, &p->row);
	return p->rc != LF_LOST;
}

static void lookup_done(void *arg)
{
	struct passage *p = arg;
	struct lf_req *r = p->r;
	if (!r->replied) {
		if (p->rc == LF_OK || p->rc == LF_DECLINED) {
			struct cached_key k = {.version = CACHE_VERSION,
					       .found = p->rc == LF_OK,
					       .fresh_until_ms = lf_time_now_ms() +
								 r->app->cfg->auth_cache_ttl_ms};
			if (k.found) {
				k.revoked = p->row.revoked;
				k.scopes = p->row.scopes;
				k.rate = p->row.rate;
				k.expires_ms = p->row.expires_ms;
				k.client_id = p->row.client_id;
				memcpy(k.digest, p->row.digest, sizeof k.digest);
			}
			remember(r->app, p, &k);
			p->looked_up = true;
			admit(p, &k);
		} else if (p->have_stale) {
			admit(p, &p->stale); /* the database cannot be asked: the last answer */
		} else {
			lf_req_unavailable(r, "The API key could not be checked: the database "
					      "is unavailable. Nothing was changed.");
		}
	}
	lf_req_release(r);
	passage_free(p);
}

void lf_gate_enter(struct lf_req *r, unsigned scopes, lf_gate_next_fn next, const char *id)
{
	const struct lf_config *cfg = r->app->cfg;
	if (!cfg->auth_enabled) {
		r->client = (struct lf_client){.id = 0, .scopes = LF_SCOPE_ALL, .admin = true};
		next(r, id);
		return;
	}
	const char *key = NULL;
	char prefix[LF_AUTH_PREFIX_LEN + 1];
	lf_rc krc = lf_auth_key_from_header(lf_req_header(r, "Authorization"), &key, prefix);
	if (krc != LF_OK) {
		if (charge_address(r, ANONYMOUS, true))
			answer_401(r, krc == LF_ERROR);
		return;
	}
	/* on the stack while the shared cache answers (the common case); on
	 * the heap only when it waits for the database */
	struct passage here = {.r = r, .scopes = scopes, .next = next};
	snprintf(here.id, sizeof here.id, "%s", id ? id : "");
	memcpy(here.prefix, prefix, sizeof prefix);
	memcpy(here.key, key, LF_AUTH_KEY_LEN);
	here.epoch = current_epoch(r->app);

	char ck[96];
	struct cached_key k;
	size_t vlen = 0, n = cache_key(ck, sizeof ck, here.epoch, prefix);
	if (n > 0 &&
	    lf_cache_get(r->app->zone->cache, ck, n, &k, sizeof k, &vlen, lf_time_now_ms()) ==
		    LF_OK &&
	    vlen == sizeof k && k.version == CACHE_VERSION) {
		if (lf_time_now_ms() < k.fresh_until_ms) {
			admit(&here, &k); /* wipes the key */
			return;
		}
		here.have_stale = true;
		here.stale = k;
	}
	/* a database read on behalf of a key nobody vouched for yet: only
	 * while the address's lookup bucket has a token (a lookup that finds
	 * no valid key takes one), so random keys cannot become a stream of
	 * reads, and requests without a key do not use up the lookups */
	struct passage *p = NULL;
	if ((!here.have_stale && !charge_address(r, LOOKUPS, false)) ||
	    (p = malloc(sizeof *p)) == NULL) {
		if (p == NULL && !r->replied)
			lf_req_problem(r, 500, "internal_error", "Out of memory.", NULL);
		OPENSSL_cleanse(here.key, sizeof here.key);
		return;
	}
	*p = here;
	OPENSSL_cleanse(here.key, sizeof here.key);
	lf_metrics_inc(&r->app->zone->metrics->auth_lookups);
	lf_req_hold(r);
	lf_req_arm_deadline(r, cfg->request_timeout_ms);
	if (lf_dbpool_submit_rerun(r->app->db, lookup_work, lookup_done, p,
				   lf_time_monotonic_ms() + cfg->mysql_request_timeout_ms) !=
	    LF_OK) {
		/* the queue is full or the pool is stopping: 503, nothing done */
		p->rc = LF_LOST;
		lookup_done(p);
	}
}

/* ---- the epoch poll ---- */

struct epoch_poll {
	struct lf_app *app;
	struct event *timer;
	bool busy;
	lf_rc rc;
	uint64_t epoch;
};

static struct epoch_poll poll_state;

static bool epoch_work(struct lf_store_conn *c, void *arg)
{
	struct epoch_poll *ep = arg;
	if (c == NULL) {
		ep->rc = LF_LOST;
		return true;
	}
	ep->rc = lf_store_auth_epoch(c, &ep->epoch);
	return ep->rc != LF_LOST;
}

static void epoch_done(void *arg)
{
	struct epoch_poll *ep = arg;
	ep->busy = false;
	if (ep->rc != LF_OK)
		return;
	uint64_t *shared = &ep->app->zone->metrics->auth_epoch;
	uint64_t seen = __atomic_load_n(shared, __ATOMIC_ACQUIRE);
	while (ep->epoch > seen && !__atomic_compare_exchange_n(shared, &seen, ep->epoch, false,
								__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		;
}

static void on_epoch_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct epoch_poll *ep = arg;
	if (ep->busy || !ep->app->cfg->auth_enabled)
		return;
	ep->busy = true;
	if (lf_dbpool_submit(ep->app->db, epoch_work, epoch_done, ep,
			     lf_time_monotonic_ms() + EPOCH_POLL_MS) != LF_OK)
		ep->busy = false;
}

bool lf_gate_start(struct lf_app *app)
{
	poll_state = (struct epoch_poll){.app = app};
	poll_state.timer = event_new(app->base, -1, EV_PERSIST, on_epoch_timer, &poll_state);
	struct timeval tv = {.tv_sec = EPOCH_POLL_MS / 1000, .tv_usec = 0};
	return poll_state.timer != NULL && event_add(poll_state.timer, &tv) == 0;
}

void lf_gate_stop(struct lf_app *app)
{
	(void)app;
	if (poll_state.timer != NULL) {
		event_free(poll_state.timer);
		poll_state.timer = NULL;
	}
}
