/*
 * shm/cache_check.c - the shared-memory cache's integrity walk and test hooks.
 *
 * lf_cache_check() takes each partition lock in turn (one at a time, never
 * nested, like cache.c) and checks that every bucket chain holds
 * well-formed entries of that bucket and partition, that no chunk is
 * reachable twice, and that the free list plus the reachable chunks
 * account for every chunk. The lf_cache_debug_* hooks let the unit tests
 * find a key's partition and leave it locked (optionally garbled) the way
 * a worker killed mid-update would. Neither is used by the server; the
 * layout they walk is in cache_int.h. What the walk finds wrong is logged
 * (lf_log, subsys=cache).
 */
#include "config.h"

#include "lf_cache.h"
#include "lf_log.h"
#include "cache_int.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- integrity walk ------------------------------------------------ */

static void check_failed(uint32_t idx, const char *why)
{
	char q[240];

	lf_error("cache_check_failed", "subsys=cache partition=%u problem=%s", (unsigned)idx,
		 lf_log_quote(why, q, sizeof q));
}

static bool check_part_locked(struct lf_cache *c, struct part *p, uint32_t idx, uint8_t *seen)
{
	uint32_t *b = bucket_array(c, p);
	uint64_t reachable = 0, nfree = 0, entries = 0;
	uint32_t i, n, k;

#define FAIL(...)                                         \
	do {                                              \
		char why_[200];                           \
		snprintf(why_, sizeof why_, __VA_ARGS__); \
		check_failed(idx, why_);                  \
		return false;                             \
	} while (0)

	for (i = 0; i < p->nbuckets; i++) {
		for (n = b[i]; n != LF_NIL; n = entry_of(chunk_at(c, p, n))->bucket_next) {
			struct entry_hdr *e;

			if (n >= p->nchunks || seen[n])
				FAIL("bucket %u: bad or repeated chunk %u", i, n);
			if (!entry_sane_locked(c, p, n))
				FAIL("bucket %u: malformed entry at chunk %u", i, n);
			e = entry_of(chunk_at(c, p, n));
			if ((e->hash & (p->nbuckets - 1)) != i)
				FAIL("entry at chunk %u in the wrong bucket", n);
			if (part_for(c, e->hash) != p)
				FAIL("entry at chunk %u in the wrong partition", n);
			seen[n] = 1;
			reachable++;
			/* the chain was validated by entry_sane_locked() */
			k = chunk_at(c, p, n)->next;
			while (k != LF_NIL) {
				if (seen[k])
					FAIL("chunk %u shared by two entries", k);
				seen[k] = 1;
				reachable++;
				k = chunk_at(c, p, k)->next;
			}
			entries++;
		}
	}
	for (n = p->free_head; n != LF_NIL; n = chunk_at(c, p, n)->next) {
		if (n >= p->nchunks || seen[n])
			FAIL("free list: bad or repeated chunk %u", n);
		if (chunk_at(c, p, n)->state != CHUNK_FREE)
			FAIL("free list: chunk %u not marked free", n);
		seen[n] = 1;
		nfree++;
	}
	if (nfree != p->free_count)
		FAIL("free list holds %llu chunks, free_count says %u", (unsigned long long)nfree,
		     p->free_count);
	if (entries != p->entries)
		FAIL("%llu entries reachable, entries says %u", (unsigned long long)entries,
		     p->entries);
	if (nfree + reachable != p->nchunks)
		FAIL("free %llu + reachable %llu != total %u", (unsigned long long)nfree,
		     (unsigned long long)reachable, p->nchunks);
#undef FAIL
	return true;
}

bool lf_cache_check(struct lf_cache *c)
{
	bool ok = true;
	uint32_t i;

	if (lf_cache_attach(c) == NULL) {
		lf_error("cache_check_failed", "subsys=cache problem=%s", "\"bad layout header\"");
		return false;
	}
	for (i = 0; i < c->npart && ok; i++) {
		struct part *p = part_at(c, i);
		uint8_t *seen = calloc(p->nchunks ? p->nchunks : 1, 1);

		if (seen == NULL || !lf_cache_part_lock(c, p)) {
			free(seen);
			check_failed(i, "cannot lock or allocate");
			return false;
		}
		ok = check_part_locked(c, p, i, seen);
		part_unlock(p);
		free(seen);
	}
	return ok;
}

/* ---- test hooks ---------------------------------------------------- */

int lf_cache_debug_partition_for_key(struct lf_cache *c, const void *key, size_t klen)
{
	uint64_t h = lf_cache_key_hash(c, key, klen);

	return (int)((h >> 32) % c->npart);
}

bool lf_cache_debug_lock_partition_for_key(struct lf_cache *c, const void *key, size_t klen,
					   bool scribble)
{
	struct part *p = part_for(c, lf_cache_key_hash(c, key, klen));
	uint32_t *b, i;

	if (!lf_cache_part_lock(c, p))
		return false;
	if (scribble) { /* what a worker killed mid-update might leave behind */
		b = bucket_array(c, p);
		for (i = 0; i < p->nbuckets; i++)
			b[i] = UINT32_C(0x9e3779b9) * (i + 1);
		p->free_head = p->nchunks / 2;
		p->free_count += 7;
	}
	return true; /* deliberately left locked */
}
