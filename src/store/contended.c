/*
 * store/contended.c - the accounts this process's payment groups keep
 * finding moved by others (store_int.h, doc/design.md "Group commit"):
 * a group reads its accounts without a lock and lf_transfer_group_v2 finds
 * one moved when another worker's (or host's) group committed it in
 * between, which costs the group a second decision and a second CALL
 * while it holds its locks. An account found so twice within
 * LF_CONTENDED_GROUPS groups of this process (a hot sender that every
 * worker's groups debit) is contended: the groups that touch it lock
 * their accounts first (lf_group_lock) and read them under the lock,
 * which answers the same two round trips without the second decision.
 * It stays contended while the locked reads keep finding it moved since
 * this process last committed it; otherwise it is forgotten
 * LF_CONTENDED_GROUPS groups later. A few slots, one mutex: a group asks
 * once before its read and tells once after its commit.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "store_int.h"

#define LF_CONTENDED_SLOTS 16
#define LF_CONTENDED_GROUPS 64

struct slot {
	bool used;
	lf_uuid id;
	int hits;      /* times found moved, the last at group `seen` */
	uint64_t seen; /* the group count then */
	int64_t seq;   /* its ledger_seq after this process's last commit, or -1 */
	int64_t held;  /* and its held then */
};

static pthread_mutex_t contended_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot slots[LF_CONTENDED_SLOTS]; /* guarded by contended_lock */
static uint64_t groups;                       /* guarded by contended_lock */

static struct slot *find(const lf_uuid *id)
{
	for (int i = 0; i < LF_CONTENDED_SLOTS; i++)
		if (slots[i].used && memcmp(slots[i].id.b, id->b, 16) == 0)
			return &slots[i];
	return NULL;
}

static bool recent(const struct slot *s)
{
	return groups - s->seen <= LF_CONTENDED_GROUPS;
}

/* Under the lock. */
static void note(const lf_uuid *id)
{
	struct slot *s = find(id);
	if (s == NULL) {
		/* a free slot, else the one seen longest ago */
		s = &slots[0];
		for (int i = 0; i < LF_CONTENDED_SLOTS && s->used; i++)
			if (!slots[i].used || slots[i].seen < s->seen)
				s = &slots[i];
		*s = (struct slot){.used = true, .id = *id, .seq = -1, .held = -1};
	}
	s->hits = s->used && s->hits > 0 && recent(s) ? s->hits + 1 : 1;
	s->seen = groups;
}

bool lf_contended_begin(const lf_uuid *first, size_t stride, int n)
{
	bool any = false;
	pthread_mutex_lock(&contended_lock);
	groups++;
	for (int i = 0; i < n && !any; i++) {
		const struct slot *s = find(
			(const lf_uuid *)(const void *)((const char *)first + (size_t)i * stride));
		any = s != NULL && s->hits >= 2 && recent(s);
	}
	pthread_mutex_unlock(&contended_lock);
	return any;
}

void lf_contended_moved(const lf_uuid *id)
{
	pthread_mutex_lock(&contended_lock);
	note(id);
	pthread_mutex_unlock(&contended_lock);
}

void lf_contended_locked(const lf_uuid *id, int64_t seq, int64_t held)
{
	pthread_mutex_lock(&contended_lock);
	struct slot *s = find(id);
	/* moved by another since this process committed it: still contended */
	if (s != NULL && s->seq >= 0 && (s->seq != seq || s->held != held))
		note(id);
	pthread_mutex_unlock(&contended_lock);
}

void lf_contended_committed(const lf_uuid *id, int64_t seq, int64_t held)
{
	pthread_mutex_lock(&contended_lock);
	struct slot *s = find(id);
	if (s != NULL) {
		s->seq = seq;
		s->held = held;
	}
	pthread_mutex_unlock(&contended_lock);
}
