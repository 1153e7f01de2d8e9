/*
 * shm/zone.c - lays out the shared memory zone: the lf_shm header and the
 * zone's layout record, the metrics counters on their own page, the
 * rate-limit buckets, the group commits' intents, then the response
 * cache. Mapped by the master
 * before it forks, so every worker generation shares it; backed by a
 * memfd, so a binary upgrade's new master maps the same pages from the
 * inherited fd (lf_zone_attach) after checking that the layout record
 * describes exactly the zone this build would lay out.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lf_cache.h"
#include "lf_intents.h"
#include "lf_ratelimit.h"
#include "lf_shm.h"
#include "lf_zone.h"

#define LF_ZONE_LAYOUT_OFFSET 64
#define LF_ZONE_METRICS_OFFSET 4096
#define LF_ZONE_RATELIMIT_OFFSET 8192
#define LF_ZONE_RATELIMIT_SLOTS 65536u /* 4 MiB: clients and addresses of a host */
#define LF_ZONE_LAYOUT_MAGIC UINT64_C(0x4c465a4f4e453032) /* "LFZONE02": with intents */

/* Where each part lives and how big it is: a new master attaches to an
 * inherited zone only when every field equals what it would lay out. */
struct lf_zone_layout {
	uint64_t magic;
	uint64_t metrics_off, metrics_size;
	uint64_t ratelimit_off, ratelimit_size;
	uint64_t intents_off, intents_size;
	uint64_t cache_off, cache_size;
	uint64_t total;
};

_Static_assert(sizeof(struct lf_shm_header) <= LF_ZONE_LAYOUT_OFFSET, "header before layout");
_Static_assert(LF_ZONE_LAYOUT_OFFSET + sizeof(struct lf_zone_layout) <= LF_ZONE_METRICS_OFFSET,
	       "header and layout fit their page");
_Static_assert(sizeof(struct lf_metrics) <= LF_ZONE_RATELIMIT_OFFSET - LF_ZONE_METRICS_OFFSET,
	       "metrics fit their page");

static struct lf_zone_layout zone_layout(size_t cache_size)
{
	size_t rl_size = lf_ratelimit_size(LF_ZONE_RATELIMIT_SLOTS);
	size_t intents_offset = (LF_ZONE_RATELIMIT_OFFSET + rl_size + 4095) & ~(size_t)4095;
	size_t cache_offset = (intents_offset + lf_intents_size() + 4095) & ~(size_t)4095;
	return (struct lf_zone_layout){
		.magic = LF_ZONE_LAYOUT_MAGIC,
		.metrics_off = LF_ZONE_METRICS_OFFSET,
		.metrics_size = sizeof(struct lf_metrics),
		.ratelimit_off = LF_ZONE_RATELIMIT_OFFSET,
		.ratelimit_size = rl_size,
		.intents_off = intents_offset,
		.intents_size = lf_intents_size(),
		.cache_off = cache_offset,
		.cache_size = cache_size,
		.total = cache_offset + cache_size,
	};
}

static struct lf_zone_layout *layout_at(void *base)
{
	return (struct lf_zone_layout *)((char *)base + LF_ZONE_LAYOUT_OFFSET);
}

struct lf_zone *lf_zone_create(size_t cache_size)
{
	struct lf_zone *zone = calloc(1, sizeof *zone);
	if (zone == NULL)
		return NULL;
	struct lf_zone_layout l = zone_layout(cache_size);
	zone->size = l.total;
	zone->base = lf_shm_create_fd(zone->size, &zone->fd);
	if (zone->base == NULL) {
		free(zone);
		return NULL;
	}
	zone->header = zone->base;
	zone->metrics = (struct lf_metrics *)((char *)zone->base + l.metrics_off);
	zone->ratelimit = lf_ratelimit_init((char *)zone->base + l.ratelimit_off, l.ratelimit_size);
	zone->intents = lf_intents_init((char *)zone->base + l.intents_off, l.intents_size);
	zone->cache = lf_cache_init((char *)zone->base + l.cache_off, cache_size);
	if (zone->ratelimit == NULL || zone->intents == NULL || zone->cache == NULL) {
		lf_zone_destroy(zone);
		return NULL;
	}
	*layout_at(zone->base) = l; /* last: a zone half laid out is never attached */
	return zone;
}

struct lf_zone *lf_zone_attach(int fd, size_t cache_size, const char **why)
{
	struct lf_zone_layout l = zone_layout(cache_size);
	void *base = lf_shm_attach(fd, l.total, why);
	if (base == NULL)
		return NULL;
	struct lf_zone *zone = calloc(1, sizeof *zone);
	if (zone == NULL) {
		*why = "out of memory";
		lf_shm_destroy(base, l.total);
		return NULL;
	}
	zone->base = base;
	zone->size = l.total;
	zone->fd = fd;
	zone->header = base;
	if (memcmp(layout_at(base), &l, sizeof l) != 0) {
		*why = "zone layout differs";
	} else {
		zone->metrics = (struct lf_metrics *)((char *)base + l.metrics_off);
		zone->ratelimit =
			lf_ratelimit_attach((char *)base + l.ratelimit_off, l.ratelimit_size);
		zone->intents = lf_intents_attach((char *)base + l.intents_off, l.intents_size);
		zone->cache = lf_cache_attach((char *)base + l.cache_off);
		if (zone->ratelimit == NULL)
			*why = "rate-limit table layout differs";
		else if (zone->intents == NULL)
			*why = "intents table layout differs";
		else if (zone->cache == NULL)
			*why = "cache layout differs";
	}
	if (zone->metrics == NULL || zone->ratelimit == NULL || zone->intents == NULL ||
	    zone->cache == NULL) {
		zone->fd = -1; /* the caller's still */
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
	if (zone->fd >= 0)
		close(zone->fd);
	free(zone);
}
