/*
 * api/retry.c - the retry of a transaction the database rolled back for a
 * deadlock (1213) or a lock-wait timeout (1205): bounded by
 * mysql.max_retries, with a short jittered back-off so that the two
 * transactions that collided do not collide again in step (lf_api.h).
 * Runs on a pool thread.
 */
#include "config.h"

#include <stdint.h>
#include <unistd.h>

#include "lf_api.h"
#include "lf_time.h"

static unsigned jitter(void)
{
	static __thread unsigned seed;
	if (seed == 0)
		seed = (unsigned)lf_time_monotonic_ms() ^ (unsigned)(uintptr_t)&seed;
	return seed = seed * 1103515245u + 12345u;
}

lf_rc lf_api_retry(lf_rc (*attempt)(struct lf_store_conn *c, void *arg), struct lf_store_conn *c,
		   void *arg, int max_retries, unsigned *retries)
{
	for (int n = 0;; n++) {
		lf_rc rc = attempt(c, arg);
		if (rc != LF_AGAIN || n >= max_retries)
			return rc;
		usleep(1000u * (1u + (jitter() >> 16) % 4u) * (unsigned)(n + 1));
		(*retries)++;
	}
}
