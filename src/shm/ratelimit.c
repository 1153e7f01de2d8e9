/*
 * shm/ratelimit.c - token buckets in shared memory (lf_ratelimit.h).
 *
 * Layout: a header (magic, partition count, SipHash key, counters), then
 * the partitions, each a robust mutex and RL_PART_SLOTS slots. A key's
 * hash picks the partition and a home slot; a bucket lives in one of the
 * RL_PROBE slots from there. When all are taken by other keys, the slot to
 * reuse is the fullest one (forgetting a full bucket changes nothing; a
 * drained one is what holds an abuser back, so it is kept longest), then
 * the one idle longest. Tokens are kept in millionths, so
 * refilling is exact integer arithmetic: elapsed microseconds x rate.
 */
#include "config.h"

#include <assert.h>
#include <stdatomic.h>
#include <string.h>

#include "lf_hash.h"
#include "lf_ratelimit.h"
#include "lf_shm.h"

#define RL_MAGIC UINT64_C(0x4c46524154453031) /* "LFRATE01" */
#define RL_PART_SLOTS 1024u
#define RL_PROBE 8u
#define MICRO INT64_C(1000000)

struct slot {
	uint64_t hash;        /* 0: free */
	int64_t tokens_u;     /* millionths of a token */
	int64_t last_us;      /* when tokens_u was computed */
	uint32_t rate, burst; /* as last taken with */
	uint8_t klen;
	uint8_t key[LF_RATELIMIT_KEY_MAX];
};

struct part {
	pthread_mutex_t lock;
	struct slot slots[RL_PART_SLOTS];
};

struct lf_ratelimit {
	uint64_t magic;
	uint32_t nparts;
	uint32_t reserved;
	uint64_t sipkey[2];
	_Atomic uint64_t allowed, limited, evictions, wipes;
	/* struct part parts[nparts] follows, 64-byte aligned */
};

#define HEADER_SIZE ((sizeof(struct lf_ratelimit) + 63) & ~(size_t)63)
#define PART_SIZE ((sizeof(struct part) + 63) & ~(size_t)63)

_Static_assert(sizeof(struct slot) == 64, "slot layout");

static struct part *part_at(struct lf_ratelimit *rl, uint32_t i)
{
	return (struct part *)((char *)rl + HEADER_SIZE + (size_t)i * PART_SIZE);
}

size_t lf_ratelimit_size(unsigned slots)
{
	size_t parts = (slots + RL_PART_SLOTS - 1) / RL_PART_SLOTS;
	return HEADER_SIZE + (parts ? parts : 1) * PART_SIZE;
}

struct lf_ratelimit *lf_ratelimit_init(void *mem, size_t size)
{
	if (size < HEADER_SIZE + PART_SIZE)
		return NULL;
	struct lf_ratelimit *rl = mem;
	memset(rl, 0, HEADER_SIZE);
	rl->nparts = (uint32_t)((size - HEADER_SIZE) / PART_SIZE);
	lf_siphash_key(rl->sipkey);
	for (uint32_t i = 0; i < rl->nparts; i++) {
		struct part *p = part_at(rl, i);
		memset(p, 0, sizeof *p);
		if (!lf_shm_mutex_init(&p->lock))
			return NULL;
	}
	rl->magic = RL_MAGIC;
	return rl;
}

struct lf_ratelimit *lf_ratelimit_attach(void *mem, size_t size)
{
	struct lf_ratelimit *rl = mem;
	if (size < HEADER_SIZE + PART_SIZE || rl->magic != RL_MAGIC ||
	    rl->nparts != (uint32_t)((size - HEADER_SIZE) / PART_SIZE))
		return NULL;
	return rl;
}

/* The tokens of a bucket at now_us (a full bucket when it is new). */
static int64_t refill(const struct slot *s, uint32_t rate, uint32_t burst, int64_t now_us)
{
	int64_t cap = (int64_t)burst * MICRO;
	int64_t elapsed = now_us - s->last_us;
	if (elapsed <= 0)
		return s->tokens_u < cap ? s->tokens_u : cap;
	/* past the time to fill from empty, it is full: no overflow below */
	if (elapsed >= cap / (int64_t)rate + 1)
		return cap;
	int64_t t = s->tokens_u + elapsed * (int64_t)rate;
	return t < cap ? t : cap;
}

static uint32_t ceil_div(int64_t a, int64_t b)
{
	if (a <= 0)
		return 0;
	int64_t q = (a + b - 1) / b;
	return q > UINT32_MAX ? UINT32_MAX : (uint32_t)q;
}

/* How full a bucket is now, in parts per million of its burst. */
static int64_t fullness_ppm(const struct slot *s, int64_t now_us)
{
	int64_t t = refill(s, s->rate, s->burst, now_us);
	return t / (int64_t)s->burst; /* millionths of a token per token of burst */
}

/* The slot of key in p, or the one to take for it (reset to a full
 * bucket). */
static struct slot *find_slot_locked(struct lf_ratelimit *rl, struct part *p, uint64_t h,
				     const void *key, size_t klen, uint32_t burst, int64_t now_us)
{
	uint32_t home = (uint32_t)(h >> 32) % RL_PART_SLOTS;
	struct slot *victim = NULL;
	int64_t victim_ppm = -1;
	for (uint32_t i = 0; i < RL_PROBE; i++) {
		struct slot *s = &p->slots[(home + i) % RL_PART_SLOTS];
		if (s->hash == h && s->klen == klen && memcmp(s->key, key, klen) == 0)
			return s;
		if (s->hash == 0) {
			/* slots are only ever freed all at once (a wipe), so the
			 * key is not further along: take this one */
			victim = s;
			break;
		}
		int64_t ppm = fullness_ppm(s, now_us);
		if (ppm > victim_ppm || (ppm == victim_ppm && s->last_us < victim->last_us)) {
			victim = s;
			victim_ppm = ppm;
		}
	}
	assert(victim != NULL);
	if (victim->hash != 0)
		atomic_fetch_add_explicit(&rl->evictions, 1, memory_order_relaxed);
	victim->hash = h;
	victim->klen = (uint8_t)klen;
	memcpy(victim->key, key, klen);
	victim->tokens_u = (int64_t)burst * MICRO;
	victim->last_us = now_us;
	return victim;
}

static lf_rc take_or_peek(struct lf_ratelimit *rl, const void *key, size_t klen, uint32_t rate,
			  uint32_t burst, int64_t now_us, bool take, struct lf_rate_verdict *out)
{
	assert(rl->magic == RL_MAGIC);
	assert(klen <= LF_RATELIMIT_KEY_MAX && rate >= 1 && burst >= 1);
	uint64_t h = lf_siphash24(rl->sipkey, key, klen) | 1; /* never 0: 0 marks a free slot */
	struct part *p = part_at(rl, (uint32_t)(h % rl->nparts));
	bool died = false;
	if (!lf_shm_mutex_lock(&p->lock, &died))
		return LF_ERROR;
	if (died) {
		/* a holder died mid-update: forget this partition's buckets */
		memset(p->slots, 0, sizeof p->slots);
		atomic_fetch_add_explicit(&rl->wipes, 1, memory_order_relaxed);
	}
	struct slot *s = find_slot_locked(rl, p, h, key, klen, burst, now_us);
	int64_t tokens = refill(s, rate, burst, now_us);
	s->rate = rate;
	s->burst = burst;
	if (now_us > s->last_us)
		s->last_us = now_us;
	int64_t cap = (int64_t)burst * MICRO;
	out->allowed = tokens >= MICRO;
	if (out->allowed && take)
		tokens -= MICRO;
	s->tokens_u = tokens;
	lf_shm_mutex_unlock(&p->lock);

	int64_t per_s = (int64_t)rate * MICRO; /* millionths gained a second */
	out->remaining = (uint32_t)(tokens / MICRO);
	out->reset_s = ceil_div(cap - tokens, per_s);
	out->retry_after_s = out->allowed ? 0 : ceil_div(MICRO - tokens, per_s);
	if (!out->allowed && out->retry_after_s == 0)
		out->retry_after_s = 1;
	if (take)
		atomic_fetch_add_explicit(out->allowed ? &rl->allowed : &rl->limited, 1,
					  memory_order_relaxed);
	return LF_OK;
}

lf_rc lf_ratelimit_take(struct lf_ratelimit *rl, const void *key, size_t klen, uint32_t rate,
			uint32_t burst, int64_t now_us, struct lf_rate_verdict *out)
{
	return take_or_peek(rl, key, klen, rate, burst, now_us, true, out);
}

lf_rc lf_ratelimit_peek(struct lf_ratelimit *rl, const void *key, size_t klen, uint32_t rate,
			uint32_t burst, int64_t now_us, struct lf_rate_verdict *out)
{
	return take_or_peek(rl, key, klen, rate, burst, now_us, false, out);
}

void lf_ratelimit_stats(struct lf_ratelimit *rl, struct lf_ratelimit_stats *out)
{
	out->allowed = atomic_load_explicit(&rl->allowed, memory_order_relaxed);
	out->limited = atomic_load_explicit(&rl->limited, memory_order_relaxed);
	out->evictions = atomic_load_explicit(&rl->evictions, memory_order_relaxed);
	out->wipes = atomic_load_explicit(&rl->wipes, memory_order_relaxed);
	out->slots_total = (uint64_t)rl->nparts * RL_PART_SLOTS;
}
