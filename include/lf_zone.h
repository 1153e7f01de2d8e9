/*
 * lf_zone.h - the shared memory zone the master maps before forking: the
 * region header, the metrics counters, the rate-limit buckets and the
 * response cache. It outlives
 * worker generations (a reload keeps it).
 */
#ifndef LF_ZONE_H
#define LF_ZONE_H

#include <stddef.h>
#include <stdint.h>

#include "lf_metrics.h"

struct lf_cache;
struct lf_ratelimit;
struct lf_shm_header;

struct lf_zone {
	void *base;
	size_t size;
	struct lf_shm_header *header;
	struct lf_metrics *metrics;
	struct lf_ratelimit *ratelimit;
	struct lf_cache *cache;
};

/* Map and lay out a zone with a cache of cache_size bytes. */
struct lf_zone *lf_zone_create(size_t cache_size);
void lf_zone_destroy(struct lf_zone *zone);

#endif
