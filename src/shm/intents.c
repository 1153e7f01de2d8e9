/*
 * shm/intents.c - the account states group commits in flight are about
 * to write, shared by the workers of a host (lf_intents.h).
 *
 * Layout: a header (magic, partition count, SipHash key, counters), then
 * the partitions, each a robust mutex and INTENT_PART_SLOTS slots. An
 * account's hash picks the partition and a home slot; its intent lives in
 * one of the INTENT_PROBE slots from there, and a new account takes a
 * free or expired slot there, else the oldest. Losing an intent (evicted,
 * expired, wiped after a holder died) costs a group a 'stale' answer,
 * never a wrong decision: the procedure checks every state it is given.
 */
#include "config.h"

#include <stdatomic.h>
#include <string.h>

#include "lf_hash.h"
#include "lf_intents.h"
#include "lf_shm.h"

#define INTENT_MAGIC UINT64_C(0x4c46494e54453031) /* "LFINTE01" */
#define INTENT_PARTS 16u
#define INTENT_PART_SLOTS 256u
#define INTENT_PROBE 8u

struct slot {
	uint8_t id[16];
	uint64_t tag; /* the publishing group's; 0: free */
	int64_t at_us;
	uint64_t settled; /* its group committed it */
	struct lf_intent in;
};

struct part {
	pthread_mutex_t lock;
	struct slot slots[INTENT_PART_SLOTS];
};

struct lf_intents {
	uint64_t magic;
	uint32_t nparts;
	uint32_t reserved;
	uint64_t sipkey[2];
	_Atomic uint64_t published, found, withdrawn, wipes;
	/* struct part parts[nparts] follows, 64-byte aligned */
};

#define HEADER_SIZE ((sizeof(struct lf_intents) + 63) & ~(size_t)63)
#define PART_SIZE ((sizeof(struct part) + 63) & ~(size_t)63)

static struct part *part_at(struct lf_intents *t, uint32_t i)
{
	return (struct part *)((char *)t + HEADER_SIZE + (size_t)i * PART_SIZE);
}

size_t lf_intents_size(void)
{
	return HEADER_SIZE + INTENT_PARTS * PART_SIZE;
}

struct lf_intents *lf_intents_init(void *mem, size_t size)
{
	if (size != lf_intents_size())
		return NULL;
	struct lf_intents *t = mem;
	memset(t, 0, HEADER_SIZE);
	t->nparts = INTENT_PARTS;
	lf_siphash_key(t->sipkey);
	for (uint32_t i = 0; i < t->nparts; i++) {
		struct part *p = part_at(t, i);
		memset(p, 0, sizeof *p);
		if (!lf_shm_mutex_init(&p->lock))
			return NULL;
	}
	t->magic = INTENT_MAGIC;
	return t;
}

struct lf_intents *lf_intents_attach(void *mem, size_t size)
{
	struct lf_intents *t = mem;
	if (size != lf_intents_size() || t->magic != INTENT_MAGIC || t->nparts != INTENT_PARTS)
		return NULL;
	return t;
}

/* The partition of id, locked (wiped first when its last holder died);
 * NULL when its lock cannot be had. *home: the id's first slot. */
static struct part *lock_part(struct lf_intents *t, const lf_uuid *id, uint32_t *home)
{
	uint64_t h = lf_siphash24(t->sipkey, id->b, 16);
	struct part *p = part_at(t, (uint32_t)(h % t->nparts));
	*home = (uint32_t)(h >> 32) % INTENT_PART_SLOTS;
	bool died = false;
	if (!lf_shm_mutex_lock(&p->lock, &died))
		return NULL;
	if (died) {
		memset(p->slots, 0, sizeof p->slots);
		atomic_fetch_add_explicit(&t->wipes, 1, memory_order_relaxed);
	}
	return p;
}

static bool live(const struct slot *s, int64_t now_us)
{
	return s->tag != 0 && now_us - s->at_us < LF_INTENT_TTL_US;
}

/* id's slot among the probed ones, or NULL. */
static struct slot *slot_of(struct part *p, uint32_t home, const lf_uuid *id)
{
	for (uint32_t i = 0; i < INTENT_PROBE; i++) {
		struct slot *s = &p->slots[(home + i) % INTENT_PART_SLOTS];
		if (s->tag != 0 && memcmp(s->id, id->b, 16) == 0)
			return s;
	}
	return NULL;
}

void lf_intents_publish(struct lf_intents *t, const lf_uuid *id, const struct lf_intent *in,
			uint64_t tag, int64_t now_us)
{
	uint32_t home;
	struct part *p = lock_part(t, id, &home);
	if (p == NULL)
		return;
	struct slot *s = slot_of(p, home, id);
	if (s != NULL && live(s, now_us) && s->tag != tag && s->in.seq > in->seq) {
		/* a group that built on a newer state published already */
		lf_shm_mutex_unlock(&p->lock);
		return;
	}
	if (s == NULL) {
		/* a free or expired slot, else the one published longest ago */
		for (uint32_t i = 0; i < INTENT_PROBE; i++) {
			struct slot *x = &p->slots[(home + i) % INTENT_PART_SLOTS];
			if (!live(x, now_us)) {
				s = x;
				break;
			}
			if (s == NULL || x->at_us < s->at_us)
				s = x;
		}
	}
	memcpy(s->id, id->b, 16);
	s->tag = tag;
	s->at_us = now_us;
	s->settled = 0;
	s->in = *in;
	lf_shm_mutex_unlock(&p->lock);
	atomic_fetch_add_explicit(&t->published, 1, memory_order_relaxed);
}

bool lf_intents_find(struct lf_intents *t, const lf_uuid *id, int64_t after_seq, int64_t now_us,
		     struct lf_intent *out, bool *in_flight)
{
	uint32_t home;
	if (in_flight != NULL)
		*in_flight = false;
	struct part *p = lock_part(t, id, &home);
	if (p == NULL)
		return false;
	const struct slot *s = slot_of(p, home, id);
	bool ok = s != NULL && live(s, now_us) && s->in.seq > after_seq;
	if (ok)
		*out = s->in;
	if (in_flight != NULL)
		*in_flight = s != NULL && live(s, now_us) && !s->settled;
	lf_shm_mutex_unlock(&p->lock);
	if (ok)
		atomic_fetch_add_explicit(&t->found, 1, memory_order_relaxed);
	return ok;
}

void lf_intents_end(struct lf_intents *t, const lf_uuid *id, uint64_t tag, bool committed)
{
	uint32_t home;
	struct part *p = lock_part(t, id, &home);
	if (p == NULL)
		return;
	struct slot *s = slot_of(p, home, id);
	bool mine = s != NULL && s->tag == tag;
	if (mine && committed)
		s->settled = 1;
	else if (mine)
		memset(s, 0, sizeof *s);
	lf_shm_mutex_unlock(&p->lock);
	if (mine && !committed)
		atomic_fetch_add_explicit(&t->withdrawn, 1, memory_order_relaxed);
}

void lf_intents_stats(struct lf_intents *t, struct lf_intents_stats *out)
{
	out->published = atomic_load_explicit(&t->published, memory_order_relaxed);
	out->found = atomic_load_explicit(&t->found, memory_order_relaxed);
	out->withdrawn = atomic_load_explicit(&t->withdrawn, memory_order_relaxed);
	out->wipes = atomic_load_explicit(&t->wipes, memory_order_relaxed);
}
