/*
 * lf_hash.h - SipHash-2-4, the keyed hash of every table an outsider can
 * choose keys for (the shm cache, the rate-limit buckets): with a random
 * key per zone, colliding keys cannot be computed ahead of time. And
 * HMAC-SHA-256 over several parts, for the MACs of stored outcomes and
 * cursors. And SHA-256 fetched once, for the hashes made per request.
 */
#ifndef LF_HASH_H
#define LF_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

uint64_t lf_siphash24(const uint64_t key[2], const void *in, size_t len);
/* A random SipHash key (getrandom without blocking; a time-and-pid mix
 * when the pool is not ready yet, early at boot). */
void lf_siphash_key(uint64_t key[2]);

#define LF_HMAC_LEN 32

struct lf_bytes {
	const void *data;
	size_t len;
};
/* HMAC-SHA-256(key, parts[0] ‖ ... ‖ parts[n-1]). False when OpenSSL fails. */
bool lf_hmac_sha256(const void *key, size_t keylen, const struct lf_bytes *parts, size_t nparts,
		    uint8_t out[LF_HMAC_LEN]);

/* SHA-256 fetched once per process from the default provider (EVP_sha256()
 * when that fails): EVP_DigestInit_ex with EVP_sha256() fetches it again
 * on every call. Never freed. */
const EVP_MD *lf_sha256_md(void);

#endif
