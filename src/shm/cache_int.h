/*
 * shm/cache_int.h - private to cache.c and cache_check.c: the layout of a
 * cache inside its shared region (header, partitions, chunks; offsets and
 * chunk numbers, never pointers), the helpers that turn offsets into
 * addresses, and the few partition operations both files need. Not part
 * of the public lf_cache.h interface; see cache.c for how it all works.
 *
 * Layout:  [struct lf_cache][struct part x npart][part 0: buckets | chunks]...
 */
#ifndef LF_CACHE_INT_H
#define LF_CACHE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf_cache.h"
#include "lf_shm.h"

#define LF_CACHE_MAGIC UINT64_C(0x4c46434143484531) /* "LFCACHE1" */
#define LF_CACHE_LAYOUT_VERSION 1
#define LF_CHUNK_SIZE 256
#define LF_MAX_PARTS 16
#define LF_NIL UINT32_MAX
#define LF_ALIGN 64

enum chunk_state { CHUNK_FREE = 0, CHUNK_HEAD = 1, CHUNK_CONT = 2 };

struct chunk_hdr {
	uint32_t next; /* next chunk of the entry, or next free chunk */
	uint8_t state; /* enum chunk_state */
	uint8_t ref;   /* CLOCK reference bit (head chunks) */
	uint16_t reserved;
};

struct entry_hdr { /* follows the chunk_hdr of a head chunk */
	uint64_t hash;
	int64_t expires_ms;
	uint32_t bucket_next; /* next head chunk in the same bucket */
	uint32_t klen;
	uint32_t vlen;
	uint32_t nchunks; /* length of the chain, head included */
};

#define HEAD_PAYLOAD (LF_CHUNK_SIZE - sizeof(struct chunk_hdr) - sizeof(struct entry_hdr))
#define CONT_PAYLOAD (LF_CHUNK_SIZE - sizeof(struct chunk_hdr))

struct part {
	union {
		pthread_mutex_t m;
		uint8_t pad[64];
	} lock;
	uint64_t buckets_off; /* from cache base */
	uint64_t chunks_off;  /* from cache base */
	uint32_t nbuckets;    /* power of two */
	uint32_t nchunks;
	uint32_t free_head;
	uint32_t free_count;
	uint32_t hand; /* CLOCK hand, a chunk number */
	uint32_t entries;
	uint64_t hits, misses, expired, inserts, evictions, refused, wipes;
	uint8_t reserved[32];
};

struct lf_cache {
	uint64_t magic;
	uint32_t layout_version;
	uint32_t header_size; /* sizeof(struct lf_cache) */
	uint32_t part_size;   /* sizeof(struct part) */
	uint32_t chunk_size;
	uint64_t size; /* bytes of the region given to lf_cache_init */
	uint32_t npart;
	uint32_t max_key;
	uint32_t max_value;
	uint32_t reserved0;
	uint64_t sipkey[2];
	uint64_t parts_off;
	uint8_t reserved[56];
};

_Static_assert(sizeof(struct chunk_hdr) == 8, "chunk_hdr layout");
_Static_assert(sizeof(struct entry_hdr) == 32, "entry_hdr layout");
_Static_assert(_Alignof(struct entry_hdr) <= 8, "entry_hdr alignment");
_Static_assert(sizeof(pthread_mutex_t) <= 64, "mutex does not fit its slot");
_Static_assert(sizeof(struct part) == 192, "part layout");
_Static_assert(sizeof(struct part) % LF_ALIGN == 0, "part not cache-line sized");
_Static_assert(sizeof(struct lf_cache) == 128, "cache header layout");
_Static_assert(_Alignof(struct lf_cache) <= 8 && _Alignof(struct part) <= 8,
	       "region only promises 8-byte alignment");
_Static_assert(LF_CHUNK_SIZE % 8 == 0 && HEAD_PAYLOAD > 0, "chunk size");

/* ---- addressing ---------------------------------------------------- */

static inline struct part *part_at(struct lf_cache *c, uint32_t i)
{
	return (struct part *)((char *)c + c->parts_off + (uint64_t)i * sizeof(struct part));
}

static inline uint32_t *bucket_array(struct lf_cache *c, struct part *p)
{
	return (uint32_t *)((char *)c + p->buckets_off);
}

static inline struct chunk_hdr *chunk_at(struct lf_cache *c, struct part *p, uint32_t n)
{
	return (struct chunk_hdr *)((char *)c + p->chunks_off + (uint64_t)n * LF_CHUNK_SIZE);
}

static inline struct entry_hdr *entry_of(struct chunk_hdr *ch)
{
	return (struct entry_hdr *)(ch + 1);
}

static inline uint32_t chunks_for(size_t bytes)
{
	if (bytes <= HEAD_PAYLOAD)
		return 1;
	return (uint32_t)(1 + (bytes - HEAD_PAYLOAD + CONT_PAYLOAD - 1) / CONT_PAYLOAD);
}

static inline struct part *part_for(struct lf_cache *c, uint64_t h)
{
	return part_at(c, (uint32_t)((h >> 32) % c->npart));
}

/* ---- partition locking and sanity ---------------------------------- */

/* The key's SipHash-2-4 under the cache's own key. */
uint64_t lf_cache_key_hash(const struct lf_cache *c, const void *key, size_t klen);
/* Take the partition lock; wipe the partition if its last owner died. */
bool lf_cache_part_lock(struct lf_cache *c, struct part *p);

static inline void part_unlock(struct part *p)
{
	lf_shm_mutex_unlock(&p->lock.m);
}

/* Check that the entry at head is a well-formed chain inside p. */
static inline bool entry_sane_locked(struct lf_cache *c, struct part *p, uint32_t head)
{
	struct chunk_hdr *ch = chunk_at(c, p, head);
	struct entry_hdr *e = entry_of(ch);
	uint32_t i, n = ch->next;

	if (ch->state != CHUNK_HEAD || e->klen > LF_CACHE_MAX_KEY || e->vlen > LF_CACHE_MAX_VALUE ||
	    e->nchunks != chunks_for((size_t)e->klen + e->vlen))
		return false;
	for (i = 1; i < e->nchunks; i++) {
		if (n >= p->nchunks || chunk_at(c, p, n)->state != CHUNK_CONT)
			return false;
		n = chunk_at(c, p, n)->next;
	}
	return n == LF_NIL;
}

#endif
