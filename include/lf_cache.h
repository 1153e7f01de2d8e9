/*
 * lf_cache.h - the shared-memory response cache: a partitioned hash table
 * of offsets over a fixed region, each partition behind a robust
 * process-shared mutex, TTL checked on read, CLOCK eviction on write.
 * Values are copied in and out under the lock, never handed out by pointer.
 * Naming: functions that expect the partition lock held end in _locked.
 */
#ifndef LF_CACHE_H
#define LF_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf_core.h"

#define LF_CACHE_MAX_KEY 320     /* bytes */
#define LF_CACHE_MAX_VALUE 65536 /* bytes; larger values are refused */

struct lf_cache; /* lives inside the shared region; opaque */

struct lf_cache_stats {
	/* misses include reads of expired entries; expired counts entries
	 * dropped at expiry (by a read or by the CLOCK hand); evictions counts
	 * live entries pushed out; wipes counts partitions reset after a
	 * holder died (or corruption was found) */
	uint64_t hits, misses, expired, inserts, evictions, refused, wipes;
	/* at the moment of the call: chunks (slots) of slot_size bytes each,
	 * and the entries they hold */
	uint64_t slots_total, slots_free, slots_used, entries;
	unsigned slot_size;
};

/* lf_cache_put and lf_cache_get return (lf_core.h) LF_OK; LF_DECLINED for a miss
 * (absent or expired) or a value larger than the cache accepts or than
 * buf; LF_ERROR when a lock is unrecoverable. */

/* Lay out a new cache in mem[0..size) (shared memory mapped by the
 * master; mem 8-byte aligned). Returns NULL if size is too small
 * (< 64 KiB). Small regions get fewer partitions; a value that needs more
 * room than one partition owns is refused with LF_DECLINED. */
struct lf_cache *lf_cache_init(void *mem, size_t size);
/* Validate the layout header of an already initialised cache. */
struct lf_cache *lf_cache_attach(void *mem);

/* Store (replace) key -> value with an absolute expiry (unix ms). now_ms is
 * the caller's clock (injectable for tests). Evicts (CLOCK) when full.
 * The old value of key is dropped in every case: also when the new one is
 * refused (LF_DECLINED) or already expired (OK, nothing stored). */
lf_rc lf_cache_put(struct lf_cache *c, const void *key, size_t klen, const void *value, size_t vlen,
		   int64_t expires_ms, int64_t now_ms);
/* Copy the value out into buf[0..cap); *vlen gets its length (also when
 * the result is LF_DECLINED because cap is too small: retry with a
 * buffer of *vlen bytes). Expired entries are dropped and reported as
 * LF_DECLINED. */
lf_rc lf_cache_get(struct lf_cache *c, const void *key, size_t klen, void *buf, size_t cap,
		   size_t *vlen, int64_t now_ms);
bool lf_cache_delete(struct lf_cache *c, const void *key, size_t klen);
void lf_cache_clear(struct lf_cache *c); /* drop everything (tests, admin) */
void lf_cache_stats(struct lf_cache *c, struct lf_cache_stats *out);
/* Walk every partition and check free + reachable == total; false and an
 * error line in the log (lf_log) if the invariant breaks (tests). */
bool lf_cache_check(struct lf_cache *c);

/* ---- test hooks: for unit tests only, never called by the server ---- */
/* Index of the partition that holds key. */
int lf_cache_debug_partition_for_key(struct lf_cache *c, const void *key, size_t klen);
/* Lock key's partition and return with it still locked, so that a forked
 * test child can _exit() holding it (a worker dying mid-operation). With
 * scribble, also garble the partition's buckets and free list, as a worker
 * killed half-way through an update might. */
bool lf_cache_debug_lock_partition_for_key(struct lf_cache *c, const void *key, size_t klen,
					   bool scribble);

#endif
