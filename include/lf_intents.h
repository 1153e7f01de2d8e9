/*
 * lf_intents.h - the account states that the workers' group commits in
 * flight are about to write ("intents"), in shared memory, shared by the
 * workers of a host (doc/design.md, "Group commit"). A group publishes
 * the state it leaves each account it moves before it sends its CALL; a
 * group of another worker that reads the same account without a lock in
 * the meantime builds on that state instead of the committed one, so that
 * when its CALL gets the account's lock, after the first one's COMMIT, it
 * finds the account as it decided it (instead of answering 'stale' and
 * deciding again while it holds the locks). An intent is a guess and
 * nothing more: lf_transfer_group_v2 compares every locked account with
 * what the group assumed, and a wrong intent costs a 'stale' answer.
 * Slots in partitions behind robust mutexes; a holder that dies gets its
 * partition wiped (forgetting intents is always safe).
 */
#ifndef LF_INTENTS_H
#define LF_INTENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf_ledger_hash.h"
#include "lf_uuid.h"

/* An intent older than this is ignored (its group is long over). */
#define LF_INTENT_TTL_US INT64_C(2000000)

struct lf_intents; /* lives inside the shared region; opaque */

/* The state a group leaves an account: its ledger sequence, balance,
 * held amount and the hash at the head of its chain. */
struct lf_intent {
	int64_t seq, balance, held;
	uint8_t head[LF_LEDGER_HASH_LEN];
};

/* Bytes the table takes. */
size_t lf_intents_size(void);
/* Lay out an empty table in mem[0..size) (8-byte aligned shared memory);
 * NULL when size is not lf_intents_size() or a mutex cannot be made. */
struct lf_intents *lf_intents_init(void *mem, size_t size);
/* The table laid out by lf_intents_init(mem, size) in a region mapped
 * again (a binary upgrade's new master); NULL unless it matches. */
struct lf_intents *lf_intents_attach(void *mem, size_t size);

/* Set the intent of account id (tag: the publishing group's, for
 * lf_intents_end). One with a lower seq than the account's current
 * live intent is not kept (that group built on an older state). now_us
 * is CLOCK_MONOTONIC in microseconds. */
void lf_intents_publish(struct lf_intents *t, const lf_uuid *id, const struct lf_intent *in,
			uint64_t tag, int64_t now_us);
/* The live intent of account id, if there is one with a seq greater than
 * after_seq (newer than what the caller read); false otherwise. With
 * in_flight (may be NULL): whether the account has a live intent whose
 * group has not committed it yet, whatever its seq. */
bool lf_intents_find(struct lf_intents *t, const lf_uuid *id, int64_t after_seq, int64_t now_us,
		     struct lf_intent *out, bool *in_flight);
/* The group of tag is over, if the intent of account id is still the
 * one it published: committed, the intent stays (for the groups that read
 * the account before that COMMIT) and is no longer in flight; otherwise
 * it is forgotten (withdrawn). */
void lf_intents_end(struct lf_intents *t, const lf_uuid *id, uint64_t tag, bool committed);

struct lf_intents_stats {
	uint64_t published, found, withdrawn, wipes;
};
void lf_intents_stats(struct lf_intents *t, struct lf_intents_stats *out);

#endif
