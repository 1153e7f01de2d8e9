/*
 * lf_hash.h - SipHash-2-4, the keyed hash of every table an outsider can
 * choose keys for (the shm cache, the rate-limit buckets): with a random
 * key per zone, colliding keys cannot be computed ahead of time.
 */
#ifndef LF_HASH_H
#define LF_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t lf_siphash24(const uint64_t key[2], const void *in, size_t len);
/* A random SipHash key (from getrandom; a time-and-pid mix if that fails). */
void lf_siphash_key(uint64_t key[2]);

#endif
