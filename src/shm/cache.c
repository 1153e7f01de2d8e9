/*
 * shm/cache.c - the shared-memory response cache (idempotency tier 1).
 *
 * Owns the layout of a cache inside a caller-given region that the master
 * maps before fork() and every worker generation shares. Nothing in the
 * region is a pointer: the header, partitions, buckets and chunks refer to
 * one another by byte offsets from the cache base or by chunk numbers
 * inside a partition (chunk n lives at chunks_off + n * LF_CHUNK_SIZE).
 *
 * Layout:  [struct lf_cache][struct part x npart][part 0: buckets | chunks]...
 *
 * Partitions: a key's SipHash-2-4 (keyed per cache) picks the partition
 * from its high 32 bits and the bucket from its low bits. Each partition
 * has its own robust process-shared mutex, a power-of-two bucket array of
 * chunk numbers (chained through entry_hdr.bucket_next) and a fixed pool of
 * 256-byte chunks with a free list.
 *
 * Allocator: chained fixed-size chunks. An entry is a chain linked by
 * chunk_hdr.next: the head chunk holds an entry_hdr then the start of the
 * data stream (key bytes, then value bytes), continuation chunks hold the
 * rest. Any size up to LF_CACHE_MAX_KEY + LF_CACHE_MAX_VALUE fits if the
 * partition owns enough chunks; a bigger entry is refused (TOO_BIG).
 *
 * Expiry: absolute unix ms, checked on read; expired entries are dropped
 * lazily (by a get, or when the CLOCK hand meets them).
 * Eviction: CLOCK (second chance) on the put path only. A hit only sets the
 * head chunk's reference bit; the hand walks chunk numbers, clears set bits
 * and evicts the first unreferenced head it meets, until the new entry fits.
 *
 * Crash safety: a worker that dies holding a partition lock leaves the
 * partition possibly half written. The next locker gets EOWNERDEAD
 * (lf_shm_mutex_lock makes the mutex consistent) and wipes the whole
 * partition: it is only a cache. Index sanity checks on every walk also
 * wipe a partition found corrupt instead of following a wild offset.
 *
 * Locking: one partition lock at a time, never nested. Functions ending in
 * _locked expect the partition lock held. Values are copied in and out
 * under the lock, never handed out by pointer.
 *
 * Files: the structures, layout constants and offset helpers are in
 * cache_int.h (shared with cache_check.c, which holds the integrity walk
 * lf_cache_check and the lf_cache_debug_* test hooks).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_int.h"
#include "lf_cache.h"
#include "lf_hash.h"
#include "lf_log.h"
#include "lf_shm.h"

#define LF_MIN_SIZE (64 * 1024) /* smallest region lf_cache_init accepts */

/* ---- SipHash-2-4 --------------------------------------------------- */

uint64_t lf_cache_key_hash(const struct lf_cache *c, const void *key, size_t klen)
{
	static const uint8_t empty[1];

	return lf_siphash24(c->sipkey, klen ? key : empty, klen);
}

/* ---- partition upkeep ---------------------------------------------- */

/* Forget everything in the partition: empty buckets, all chunks free. */
static void part_wipe_locked(struct lf_cache *c, struct part *p)
{
	uint32_t *b = bucket_array(c, p);
	uint32_t i;

	for (i = 0; i < p->nbuckets; i++)
		b[i] = LF_NIL;
	for (i = 0; i < p->nchunks; i++) {
		struct chunk_hdr *ch = chunk_at(c, p, i);

		ch->next = i + 1 < p->nchunks ? i + 1 : LF_NIL;
		ch->state = CHUNK_FREE;
		ch->ref = 0;
		ch->reserved = 0;
	}
	p->free_head = p->nchunks ? 0 : LF_NIL;
	p->free_count = p->nchunks;
	p->hand = 0;
	p->entries = 0;
}

static unsigned part_index(struct lf_cache *c, struct part *p)
{
	return (unsigned)(((char *)p - ((char *)c + c->parts_off)) / sizeof *p);
}

/* A wipe loses cached outcomes (they are still in Redis and the database)
 * and means a worker died mid-operation or memory was damaged: worth a
 * warning, rate limited, written with the lock held (one write(2)). */
static void log_wipe_locked(struct lf_cache *c, struct part *p, const char *reason,
			    const char *where)
{
	lf_log_limited(LF_LOG_WARN, "cache_wipe", "cache_partition_wiped",
		       "subsys=cache partition=%u reason=%s where=\"%s\" entries=%u",
		       part_index(c, p), reason, where, p->entries);
}

static void part_corrupt_locked(struct lf_cache *c, struct part *p, const char *what)
{
	log_wipe_locked(c, p, "corrupt", what);
	part_wipe_locked(c, p);
	p->wipes++;
}

/* Take the partition lock; wipe the partition if its last owner died. */
bool lf_cache_part_lock(struct lf_cache *c, struct part *p)
{
	bool died = false;

	if (!lf_shm_mutex_lock(&p->lock.m, &died)) {
		lf_log_limited(LF_LOG_ERROR, "cache_lock", "cache_lock_failed",
			       "subsys=cache partition=%u", part_index(c, p));
		return false;
	}
	if (died) {
		log_wipe_locked(c, p, "owner_died", "lock");
		part_wipe_locked(c, p);
		p->wipes++;
	}
	return true;
}

/* ---- the entry data stream (key then value) over a chunk chain ----- */

enum stream_op { STREAM_READ, STREAM_WRITE, STREAM_CMP };

/* Read, write or compare len bytes at stream offset off of the entry whose
 * head chunk is head. For STREAM_CMP returns 0 when equal. The chain was
 * validated by the caller (bucket_walk_locked / entry_alloc_locked). */
static int stream_io_locked(struct lf_cache *c, struct part *p, uint32_t head, size_t off,
			    void *buf, size_t len, enum stream_op op)
{
	struct chunk_hdr *ch = chunk_at(c, p, head);
	char *data = (char *)(entry_of(ch) + 1);
	size_t cap = HEAD_PAYLOAD, n;
	char *u = buf;

	while (off >= cap) {
		off -= cap;
		ch = chunk_at(c, p, ch->next);
		data = (char *)(ch + 1);
		cap = CONT_PAYLOAD;
	}
	while (len > 0) {
		n = cap - off < len ? cap - off : len;
		if (op == STREAM_READ)
			memcpy(u, data + off, n);
		else if (op == STREAM_WRITE)
			memcpy(data + off, u, n);
		else if (memcmp(u, data + off, n) != 0)
			return 1;
		u += n;
		len -= n;
		off = 0;
		if (len > 0) {
			ch = chunk_at(c, p, ch->next);
			data = (char *)(ch + 1);
			cap = CONT_PAYLOAD;
		}
	}
	return 0;
}

/* Walk key's bucket (h) for the entry matching key, or when key is NULL
 * for the entry whose head chunk is target. Returns its head or LF_NIL;
 * *prev gets the bucket predecessor (LF_NIL when first). A broken index
 * wipes the partition (as if its owner had died) and reports LF_NIL. */
static uint32_t bucket_walk_locked(struct lf_cache *c, struct part *p, uint64_t h, const void *key,
				   size_t klen, uint32_t target, uint32_t *prev)
{
	uint32_t n = bucket_array(c, p)[h & (p->nbuckets - 1)];
	uint32_t pv = LF_NIL, steps = 0;

	while (n != LF_NIL) {
		struct entry_hdr *e = entry_of(chunk_at(c, p, n < p->nchunks ? n : 0));

		if (n >= p->nchunks || ++steps > p->nchunks || !entry_sane_locked(c, p, n)) {
			part_corrupt_locked(c, p, "bucket chain");
			return LF_NIL;
		}
		if (key == NULL ? n == target
				: e->hash == h && e->klen == klen &&
					  (klen == 0 || stream_io_locked(c, p, n, 0, (void *)key,
									 klen, STREAM_CMP) == 0)) {
			*prev = pv;
			return n;
		}
		pv = n;
		n = e->bucket_next;
	}
	return LF_NIL;
}

/* Unlink the entry at head (bucket predecessor prev) and free its chain. */
static void entry_remove_locked(struct lf_cache *c, struct part *p, uint32_t head, uint32_t prev)
{
	struct chunk_hdr *ch = chunk_at(c, p, head);
	struct entry_hdr *e = entry_of(ch);
	uint32_t n = head, next, i, count = e->nchunks;

	if (prev == LF_NIL)
		bucket_array(c, p)[e->hash & (p->nbuckets - 1)] = e->bucket_next;
	else
		entry_of(chunk_at(c, p, prev))->bucket_next = e->bucket_next;
	for (i = 0; i < count && n != LF_NIL; i++) {
		ch = chunk_at(c, p, n);
		next = ch->next;
		ch->state = CHUNK_FREE;
		ch->ref = 0;
		ch->next = p->free_head;
		p->free_head = n;
		p->free_count++;
		n = next;
	}
	p->entries--;
}

/* Remove an entry known only by its head chunk (CLOCK path). False when
 * the partition had to be wiped instead (the entry was not in its bucket:
 * an orphan that would otherwise never be freed). */
static bool entry_evict_locked(struct lf_cache *c, struct part *p, uint32_t head)
{
	uint64_t wipes = p->wipes;
	uint32_t prev;

	if (bucket_walk_locked(c, p, entry_of(chunk_at(c, p, head))->hash, NULL, 0, head, &prev) !=
	    head) {
		if (p->wipes == wipes) /* the walk did not wipe already */
			part_corrupt_locked(c, p, "orphan entry");
		return false;
	}
	entry_remove_locked(c, p, head, prev);
	return true;
}

/* CLOCK: free at least one entry (or wipe a partition found corrupt).
 * Expired heads go without a second chance. False if the partition holds
 * no entry, or the hand found nothing to evict in two sweeps. */
static bool clock_evict_one_locked(struct lf_cache *c, struct part *p, int64_t now_ms)
{
	uint64_t steps, limit = 2 * (uint64_t)p->nchunks + 1;

	for (steps = 0; steps < limit && p->entries > 0; steps++) {
		uint32_t n = p->hand < p->nchunks ? p->hand : 0;
		struct chunk_hdr *ch = chunk_at(c, p, n);

		p->hand = n + 1 < p->nchunks ? n + 1 : 0;
		if (ch->state != CHUNK_HEAD)
			continue;
		if (!entry_sane_locked(c, p, n)) {
			part_corrupt_locked(c, p, "clock");
			return true; /* everything is free now */
		}
		if (entry_of(ch)->expires_ms <= now_ms) {
			if (entry_evict_locked(c, p, n)) /* else it wiped */
				p->expired++;
			return true;
		}
		if (ch->ref) {
			ch->ref = 0;
			continue;
		}
		if (entry_evict_locked(c, p, n))
			p->evictions++;
		return true;
	}
	return false;
}

/* Pop need chunks off the free list and chain them; returns the head. */
static uint32_t entry_alloc_locked(struct lf_cache *c, struct part *p, uint32_t need)
{
	uint32_t head = LF_NIL, tail = LF_NIL, i, n;

	if (p->free_count < need)
		return LF_NIL;
	for (i = 0; i < need; i++) {
		struct chunk_hdr *ch;

		n = p->free_head;
		if (n >= p->nchunks || chunk_at(c, p, n)->state != CHUNK_FREE)
			return LF_NIL; /* corrupt free list; caller wipes */
		ch = chunk_at(c, p, n);
		p->free_head = ch->next;
		p->free_count--;
		ch->next = LF_NIL;
		ch->ref = 0;
		ch->state = i == 0 ? CHUNK_HEAD : CHUNK_CONT;
		if (tail == LF_NIL)
			head = n;
		else
			chunk_at(c, p, tail)->next = n;
		tail = n;
	}
	return head;
}

/* ---- public API ---------------------------------------------------- */

static uint64_t align_up(uint64_t v)
{
	return (v + LF_ALIGN - 1) / LF_ALIGN * LF_ALIGN;
}

struct lf_cache *lf_cache_init(void *mem, size_t size)
{
	struct lf_cache *c = mem;
	uint64_t max_entry = (uint64_t)chunks_for(LF_CACHE_MAX_KEY + LF_CACHE_MAX_VALUE) *
			     (LF_CHUNK_SIZE + sizeof(uint32_t));
	uint64_t off, per_part, nb, bucket_bytes, est;
	uint32_t npart = LF_MAX_PARTS, i;

	if (mem == NULL || size < LF_MIN_SIZE || (uintptr_t)mem % 8 != 0)
		return NULL;
	/* Fewer partitions for small regions: each should hold two entries of
	 * the largest size so one big value does not empty its partition. */
	while (npart > 1 && size / npart < 2 * max_entry)
		npart /= 2;

	memset(c, 0, sizeof *c);
	c->header_size = sizeof(struct lf_cache);
	c->part_size = sizeof(struct part);
	c->chunk_size = LF_CHUNK_SIZE;
	c->size = size;
	c->npart = npart;
	c->max_key = LF_CACHE_MAX_KEY;
	c->max_value = LF_CACHE_MAX_VALUE;
	c->parts_off = align_up(sizeof(struct lf_cache));
	lf_siphash_key(c->sipkey);

	off = align_up(c->parts_off + (uint64_t)npart * sizeof(struct part));
	per_part = (size - off) / npart / LF_ALIGN * LF_ALIGN;
	est = per_part / (LF_CHUNK_SIZE + sizeof(uint32_t));
	for (nb = 1; nb * 2 <= est / 2; nb *= 2)
		;
	bucket_bytes = align_up(nb * sizeof(uint32_t));
	if (per_part <= bucket_bytes || (per_part - bucket_bytes) / LF_CHUNK_SIZE < 8 ||
	    (per_part - bucket_bytes) / LF_CHUNK_SIZE >= LF_NIL)
		return NULL;

	for (i = 0; i < npart; i++) {
		struct part *p = part_at(c, i);

		memset(p, 0, sizeof *p);
		if (!lf_shm_mutex_init(&p->lock.m))
			return NULL;
		p->buckets_off = off;
		p->nbuckets = (uint32_t)nb;
		p->chunks_off = off + bucket_bytes;
		p->nchunks = (uint32_t)((per_part - bucket_bytes) / LF_CHUNK_SIZE);
		part_wipe_locked(c, p);
		off += per_part;
	}
	/* Publish last: attach() trusts a cache only once the magic is set. */
	c->layout_version = LF_CACHE_LAYOUT_VERSION;
	__atomic_store_n(&c->magic, LF_CACHE_MAGIC, __ATOMIC_RELEASE);
	return c;
}

struct lf_cache *lf_cache_attach(void *mem)
{
	struct lf_cache *c = mem;

	if (mem == NULL || (uintptr_t)mem % 8 != 0 ||
	    __atomic_load_n(&c->magic, __ATOMIC_ACQUIRE) != LF_CACHE_MAGIC ||
	    c->layout_version != LF_CACHE_LAYOUT_VERSION ||
	    c->header_size != sizeof(struct lf_cache) || c->part_size != sizeof(struct part) ||
	    c->chunk_size != LF_CHUNK_SIZE || c->max_key != LF_CACHE_MAX_KEY ||
	    c->max_value != LF_CACHE_MAX_VALUE || c->npart == 0 || c->npart > LF_MAX_PARTS)
		return NULL;
	return c;
}

lf_rc lf_cache_put(struct lf_cache *c, const void *key, size_t klen, const void *value, size_t vlen,
		   int64_t expires_ms, int64_t now_ms)
{
	uint64_t h = lf_cache_key_hash(c, key, klen);
	struct part *p = part_for(c, h);
	uint32_t need, head, prev;
	struct entry_hdr *e;

	if (!lf_cache_part_lock(c, p))
		return LF_ERROR;
	need = klen > LF_CACHE_MAX_KEY || vlen > LF_CACHE_MAX_VALUE ? UINT32_MAX
								    : chunks_for(klen + vlen);
	/* the old value goes in every case: it must not outlive a put */
	if (klen <= LF_CACHE_MAX_KEY &&
	    (head = bucket_walk_locked(c, p, h, key, klen, LF_NIL, &prev)) != LF_NIL)
		entry_remove_locked(c, p, head, prev);
	if (need > p->nchunks) {
		p->refused++;
		part_unlock(p);
		return LF_DECLINED;
	}
	if (expires_ms <= now_ms) { /* already dead: storing it would be a miss */
		part_unlock(p);
		return LF_OK;
	}
	while (p->free_count < need)
		if (!clock_evict_one_locked(c, p, now_ms))
			part_corrupt_locked(c, p, "clock"); /* then every chunk is free */
	head = entry_alloc_locked(c, p, need);
	if (head == LF_NIL) {
		part_corrupt_locked(c, p, "free list");
		head = entry_alloc_locked(c, p, need);
	}
	e = entry_of(chunk_at(c, p, head));
	e->hash = h;
	e->expires_ms = expires_ms;
	e->klen = (uint32_t)klen;
	e->vlen = (uint32_t)vlen;
	e->nchunks = need;
	if (klen)
		stream_io_locked(c, p, head, 0, (void *)key, klen, STREAM_WRITE);
	if (vlen)
		stream_io_locked(c, p, head, klen, (void *)value, vlen, STREAM_WRITE);
	e->bucket_next = bucket_array(c, p)[h & (p->nbuckets - 1)];
	bucket_array(c, p)[h & (p->nbuckets - 1)] = head;
	p->entries++;
	p->inserts++;
	part_unlock(p);
	return LF_OK;
}

lf_rc lf_cache_get(struct lf_cache *c, const void *key, size_t klen, void *buf, size_t cap,
		   size_t *vlen, int64_t now_ms)
{
	uint64_t h = lf_cache_key_hash(c, key, klen);
	struct part *p = part_for(c, h);
	lf_rc r;
	uint32_t head, prev;
	struct chunk_hdr *ch;
	struct entry_hdr *e;

	if (vlen)
		*vlen = 0;
	if (klen > LF_CACHE_MAX_KEY)
		return LF_DECLINED; /* could never have been stored */
	if (!lf_cache_part_lock(c, p))
		return LF_ERROR;
	head = bucket_walk_locked(c, p, h, key, klen, LF_NIL, &prev);
	if (head == LF_NIL) {
		p->misses++;
		part_unlock(p);
		return LF_DECLINED;
	}
	ch = chunk_at(c, p, head);
	e = entry_of(ch);
	if (e->expires_ms <= now_ms) {
		entry_remove_locked(c, p, head, prev);
		p->expired++;
		p->misses++;
		part_unlock(p);
		return LF_DECLINED;
	}
	if (vlen)
		*vlen = e->vlen;
	if (e->vlen > cap) {
		r = LF_DECLINED; /* *vlen tells the size needed */
	} else {
		if (e->vlen)
			stream_io_locked(c, p, head, e->klen, buf, e->vlen, STREAM_READ);
		ch->ref = 1;
		p->hits++;
		r = LF_OK;
	}
	part_unlock(p);
	return r;
}

bool lf_cache_delete(struct lf_cache *c, const void *key, size_t klen)
{
	uint64_t h = lf_cache_key_hash(c, key, klen);
	struct part *p = part_for(c, h);
	uint32_t head, prev;

	if (klen > LF_CACHE_MAX_KEY || !lf_cache_part_lock(c, p))
		return false;
	head = bucket_walk_locked(c, p, h, key, klen, LF_NIL, &prev);
	if (head != LF_NIL)
		entry_remove_locked(c, p, head, prev);
	part_unlock(p);
	return head != LF_NIL;
}

void lf_cache_clear(struct lf_cache *c)
{
	uint32_t i;

	for (i = 0; i < c->npart; i++) {
		struct part *p = part_at(c, i);

		if (!lf_cache_part_lock(c, p))
			continue;
		part_wipe_locked(c, p);
		part_unlock(p);
	}
}

void lf_cache_stats(struct lf_cache *c, struct lf_cache_stats *out)
{
	uint32_t i;

	memset(out, 0, sizeof *out);
	for (i = 0; i < c->npart; i++) {
		struct part *p = part_at(c, i);

		if (!lf_cache_part_lock(c, p))
			continue;
		out->hits += p->hits;
		out->misses += p->misses;
		out->expired += p->expired;
		out->inserts += p->inserts;
		out->evictions += p->evictions;
		out->refused += p->refused;
		out->wipes += p->wipes;
		out->slots_total += p->nchunks;
		out->slots_free += p->free_count;
		out->entries += p->entries;
		part_unlock(p);
	}
	out->slots_used = out->slots_total - out->slots_free;
	out->slot_size = LF_CHUNK_SIZE;
}
