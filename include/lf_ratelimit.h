/*
 * lf_ratelimit.h - token buckets in shared memory, shared by every worker
 * of a host: one bucket per client (its id) or, for requests without a
 * valid key, per source address. A bucket refills at `rate` tokens a
 * second up to `burst`; each request takes one. The table is a fixed set
 * of slots in partitions, each behind a robust process-shared mutex (a
 * holder that dies gets its partition wiped: a wiped bucket is a full one,
 * which only ever errs towards letting a request through).
 */
#ifndef LF_RATELIMIT_H
#define LF_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf_core.h"

#define LF_RATELIMIT_KEY_MAX 24 /* a tag byte + a client id or an IPv6 address */

struct lf_ratelimit; /* lives inside the shared region; opaque */

struct lf_rate_verdict {
	bool allowed;
	uint32_t remaining;     /* whole tokens left after this request */
	uint32_t reset_s;       /* seconds until the bucket is full again (>= 0) */
	uint32_t retry_after_s; /* when refused: seconds until a token is there (>= 1) */
};

/* Bytes needed for `slots` buckets (rounded up to whole partitions). */
size_t lf_ratelimit_size(unsigned slots);
/* Lay out a table in mem[0..size) (8-byte aligned shared memory); NULL
 * when size is too small for one partition. */
struct lf_ratelimit *lf_ratelimit_init(void *mem, size_t size);
/* The buckets laid out by lf_ratelimit_init(mem, size) in a region mapped
 * again (a binary upgrade's new master); NULL unless they match. */
struct lf_ratelimit *lf_ratelimit_attach(void *mem, size_t size);

/* Take one token from the bucket of key[0..klen) (klen <= max). rate and
 * burst >= 1. now_us is a monotonic clock in microseconds (injectable for
 * tests). LF_OK with the verdict; LF_ERROR when the partition's lock is
 * unrecoverable (the caller lets the request through and logs it). */
lf_rc lf_ratelimit_take(struct lf_ratelimit *rl, const void *key, size_t klen, uint32_t rate,
			uint32_t burst, int64_t now_us, struct lf_rate_verdict *out);

/* The same verdict without taking a token: whether a request would be
 * allowed now (for work that is charged only if it turns out wasted). */
lf_rc lf_ratelimit_peek(struct lf_ratelimit *rl, const void *key, size_t klen, uint32_t rate,
			uint32_t burst, int64_t now_us, struct lf_rate_verdict *out);

struct lf_ratelimit_stats {
	uint64_t allowed, limited, evictions, wipes;
	uint64_t slots_total;
};
void lf_ratelimit_stats(struct lf_ratelimit *rl, struct lf_ratelimit_stats *out);

#endif
