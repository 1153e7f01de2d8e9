/*
 * lf_zone.h - the shared memory zone the master maps before forking: the
 * region header, the metrics counters, the rate-limit buckets, the group
 * commits' intents (lf_intents.h) and the response cache. It outlives
 * worker generations (a reload keeps it) and, handed over as a memfd, a
 * binary upgrade (the new master maps the same pages).
 */
#ifndef LF_ZONE_H
#define LF_ZONE_H

#include <stddef.h>
#include <stdint.h>

#include "lf_metrics.h"

struct lf_cache;
struct lf_intents;
struct lf_ratelimit;
struct lf_shm_header;

struct lf_zone {
	void *base;
	size_t size;
	int fd; /* the memfd behind the mapping (close-on-exec), -1 when none */
	struct lf_shm_header *header;
	struct lf_metrics *metrics;
	struct lf_ratelimit *ratelimit;
	struct lf_intents *intents;
	struct lf_cache *cache;
};

/* Map and lay out a zone with a cache of cache_size bytes. */
struct lf_zone *lf_zone_create(size_t cache_size);
/* Map the zone an old master handed over as the memfd fd, if it is laid
 * out exactly as lf_zone_create(cache_size) of this build would lay it
 * out (header, layout record, rate-limit and intents tables, cache
 * headers); on
 * success the zone owns fd. NULL with *why saying what differed (fd is
 * then still the caller's). */
struct lf_zone *lf_zone_attach(int fd, size_t cache_size, const char **why);
/* Unmap and close the memfd. */
void lf_zone_destroy(struct lf_zone *zone);

#endif
