/*
 * shm/zone.c - lays out the shared memory zone: the lf_shm header, the metrics
 * counters on their own page, the rate-limit buckets, then the response
 * cache. Mapped by the master
 * before it forks, so every worker generation shares it.
 */
#include "config.h"

#include <stdlib.h>

#include "lf_cache.h"
#include "lf_ratelimit.h"
#include "lf_shm.h"
#include "lf_zone.h"

#define LF_ZONE_METRICS_OFFSET 4096
#define LF_ZONE_RATELIMIT_OFFSET 8192
#define LF_ZONE_RATELIMIT_SLOTS 65536u /* 4 MiB: clients and addresses of a host */

_Static_assert(sizeof(struct lf_shm_header) <= LF_ZONE_METRICS_OFFSET, "header fits its page");
_Static_assert(sizeof(struct lf_metrics) <= LF_ZONE_RATELIMIT_OFFSET - LF_ZONE_METRICS_OFFSET,
	       "metrics fit their page");

struct lf_zone *lf_zone_create(size_t cache_size)
{
	struct lf_zone *zone = calloc(1, sizeof *zone);
	if (zone == NULL)
		return NULL;
	size_t rl_size = lf_ratelimit_size(LF_ZONE_RATELIMIT_SLOTS);
	size_t cache_offset = (LF_ZONE_RATELIMIT_OFFSET + rl_size + 4095) & ~(size_t)4095;
	zone->size = cache_offset + cache_size;
	zone->base = lf_shm_create(zone->size);
	if (zone->base == NULL) {
		free(zone);
		return NULL;
	}
	zone->header = zone->base;
	zone->metrics = (struct lf_metrics *)((char *)zone->base + LF_ZONE_METRICS_OFFSET);
	zone->ratelimit = lf_ratelimit_init((char *)zone->base + LF_ZONE_RATELIMIT_OFFSET, rl_size);
	zone->cache = lf_cache_init((char *)zone->base + cache_offset, cache_size);
	if (zone->ratelimit == NULL || zone->cache == NULL) {
		lf_zone_destroy(zone);
		return NULL;
	}
	return zone;
}

void lf_zone_destroy(struct lf_zone *zone)
{
	if (zone == NULL)
		return;
	if (zone->base != NULL)
		lf_shm_destroy(zone->base, zone->size);
	free(zone);
}
