/*
 * auth/global_limit.c - [ratelimit] global = on: a client's rate counted
 * across every host that shares Redis, on top of the per-host token
 * bucket (gate.c).
 *
 * Windows are wall-clock seconds. Each request the host admits adds one
 * to lf:rl:<client>:<unix second> in Redis (INCR, expiring after 2 s)
 * without waiting for the answer; when the answer shows the count past
 * the client's rate, this host marks the client as over the limit for the
 * rest of that second in the shared cache, and every worker of the host
 * answers 429 until the second ends. The request path never waits for
 * Redis, so the limit takes hold one reply late: a host may let a few
 * requests past the rate in the second it is reached.
 *
 * When Redis cannot be asked (down, breaker open, an error) the global
 * count is not kept and the limit fails open, the per-host bucket still
 * applying: counted in ledgerflow_ratelimit_global_unavailable_total and
 * logged here (rate limited), where it happens.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "lf_app.h"
#include "lf_cache.h"
#include "lf_gate.h"
#include "lf_log.h"
#include "lf_metrics.h"
#include "lf_redis.h"
#include "lf_time.h"
#include "lf_zone.h"

/* INCR and, for a new window, its expiry in one round trip */
static const char incr_script[] =
	"local n = redis.call('INCR', KEYS[1]) "
	"if n == 1 then redis.call('PEXPIRE', KEYS[1], 2000) end return n";

struct count {
	struct lf_app *app;
	uint64_t client;
	int64_t second;
	uint32_t rate;
};

static size_t over_key(char *buf, size_t len, uint64_t client, int64_t second)
{
	int n = snprintf(buf, len, "lf:rlg:%" PRIu64 ":%" PRId64, client, second);
	return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

static void unavailable(struct lf_app *app, const char *why)
{
	lf_metrics_inc(&app->zone->metrics->ratelimit_global_unavailable);
	lf_log_limited(LF_LOG_WARN, "ratelimit_global", "ratelimit_global_unavailable",
		       "subsys=ratelimit reason=\"%s\" effect=\"the per-host limit only\"", why);
}

static void on_count(void *arg, struct redisReply *reply)
{
	struct count *c = arg;
	if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
		/* an error or a timeout: logged by the Redis client; the
		 * count of this request is lost, the limit fails open */
		unavailable(c->app, reply == NULL ? "no answer from Redis" : "unexpected reply");
	} else if (reply->integer > (long long)c->rate) {
		char k[64];
		size_t n = over_key(k, sizeof k, c->client, c->second);
		int64_t end = (c->second + 1) * 1000;
		uint8_t one = 1;
		if (n > 0)
			(void)lf_cache_put(c->app->zone->cache, k, n, &one, 1, end,
					   lf_time_now_ms());
	}
	free(c);
}

bool lf_global_limit_over(struct lf_app *app, uint64_t client, int64_t now_ms,
			  uint32_t *retry_after_s)
{
	char k[64];
	uint8_t one = 0;
	size_t vlen = 0, n = over_key(k, sizeof k, client, now_ms / 1000);
	*retry_after_s = 1;
	return n > 0 && lf_cache_get(app->zone->cache, k, n, &one, 1, &vlen, now_ms) == LF_OK &&
	       vlen == 1;
}

void lf_global_limit_count(struct lf_app *app, uint64_t client, uint32_t rate, int64_t now_ms)
{
	struct count *c = malloc(sizeof *c);
	if (c == NULL)
		return;
	*c = (struct count){.app = app, .client = client, .second = now_ms / 1000, .rate = rate};
	char key[64];
	int kn = snprintf(key, sizeof key, "lf:rl:%" PRIu64 ":%" PRId64, client, c->second);
	const char *argv[] = {"EVAL", incr_script, "1", key};
	size_t argvlen[] = {4, sizeof incr_script - 1, 1, (size_t)kn};
	if (!lf_redis_command(app->redis, on_count, c, 4, argv, argvlen)) {
		free(c);
		unavailable(app, "Redis is down or its breaker is open");
	}
}
