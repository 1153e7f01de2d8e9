/*
 * core/hash.c - SipHash-2-4 (Aumasson and Bernstein's reference
 * algorithm) and its random keys, and HMAC-SHA-256 over several parts
 * through OpenSSL 3's EVP_MAC, each thread keeping its keys' contexts,
 * and SHA-256 fetched once (lf_hash.h).
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "lf_hash.h"

#define ROTL64(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static inline void sipround(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = ROTL64(v[1], 13);
	v[1] ^= v[0];
	v[0] = ROTL64(v[0], 32);
	v[2] += v[3];
	v[3] = ROTL64(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = ROTL64(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = ROTL64(v[1], 17);
	v[1] ^= v[2];
	v[2] = ROTL64(v[2], 32);
}

uint64_t lf_siphash24(const uint64_t key[2], const void *in, size_t len)
{
	const uint8_t *p = in;
	uint64_t v[4] = {
		UINT64_C(0x736f6d6570736575) ^ key[0],
		UINT64_C(0x646f72616e646f6d) ^ key[1],
		UINT64_C(0x6c7967656e657261) ^ key[0],
		UINT64_C(0x7465646279746573) ^ key[1],
	};
	size_t whole = len - len % 8;
	for (size_t i = 0; i < whole; i += 8) {
		uint64_t m = 0;
		for (size_t j = 0; j < 8; j++)
			m |= (uint64_t)p[i + j] << (8 * j);
		v[3] ^= m;
		sipround(v);
		sipround(v);
		v[0] ^= m;
	}
	uint64_t b = (uint64_t)len << 56;
	for (size_t j = 0; j < len % 8; j++)
		b |= (uint64_t)p[whole + j] << (8 * j);
	v[3] ^= b;
	sipround(v);
	sipround(v);
	v[0] ^= b;
	v[2] ^= 0xff;
	for (int j = 0; j < 4; j++)
		sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

void lf_siphash_key(uint64_t key[2])
{
	if (getrandom(key, 2 * sizeof key[0], GRND_NONBLOCK) == (ssize_t)(2 * sizeof key[0]))
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	key[0] = (uint64_t)ts.tv_nsec * UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)getpid();
	key[1] = (uint64_t)ts.tv_sec * UINT64_C(0xc2b2ae3d27d4eb4f) ^ (uint64_t)(uintptr_t)key;
}

static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md; /* fetched once per process; never freed */

static void sha256_setup(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

const EVP_MD *lf_sha256_md(void)
{
	pthread_once(&sha256_once, sha256_setup);
	return sha256_md != NULL ? sha256_md : EVP_sha256();
}

/* HMAC-SHA-256 through EVP_MAC, with each thread's keyed contexts kept:
 * a process MACs with a few keys (the pepper for API keys, the outcomes'
 * and cursors' secrets, a webhook's), so a thread sets each one up once
 * and every later MAC under it reinitialises that context (EVP_MAC_init
 * without a key: the key's inner and outer digest states are kept).
 * Setting one up at every call (a context allocated, the digest fetched
 * by name, the key hashed) was ~6 % of a replay's CPU (performance.md,
 * "Keyed HMAC contexts"). A key longer than HMAC_KEY_MAX, or a thread
 * whose cache cannot be allocated, gets a context for the one call. */
#define HMAC_SLOTS 4
#define HMAC_KEY_MAX 64

struct hmac_slot {
	EVP_MAC_CTX *ctx; /* NULL: free */
	size_t keylen;
	uint8_t key[HMAC_KEY_MAX];
};
struct hmac_cache {
	struct hmac_slot slot[HMAC_SLOTS];
	unsigned next; /* the slot a new key takes (round robin) */
};

static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;
static EVP_MAC *hmac_mac; /* fetched once per process; never freed */
static pthread_key_t hmac_cache_key;
static bool hmac_cache_ok;

static void hmac_slot_clear(struct hmac_slot *sl)
{
	EVP_MAC_CTX_free(sl->ctx);
	OPENSSL_cleanse(sl, sizeof *sl);
}

static void hmac_cache_free(void *p)
{
	struct hmac_cache *c = p;
	for (int i = 0; i < HMAC_SLOTS; i++)
		hmac_slot_clear(&c->slot[i]);
	free(c);
}

static void hmac_setup(void)
{
	hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	hmac_cache_ok = pthread_key_create(&hmac_cache_key, hmac_cache_free) == 0;
}

static EVP_MAC_CTX *hmac_new(const void *key, size_t keylen)
{
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(hmac_mac);
	if (ctx != NULL && EVP_MAC_init(ctx, key, keylen, params) != 1) {
		EVP_MAC_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

/* The calling thread's slot for key, its context ready for a new MAC; NULL
 * when the key is not to be cached or no slot could be set up. */
static struct hmac_slot *hmac_slot_for(const void *key, size_t keylen)
{
	if (!hmac_cache_ok || keylen > HMAC_KEY_MAX)
		return NULL;
	struct hmac_cache *c = pthread_getspecific(hmac_cache_key);
	if (c == NULL) {
		c = calloc(1, sizeof *c);
		if (c == NULL || pthread_setspecific(hmac_cache_key, c) != 0) {
			free(c);
			return NULL;
		}
	}
	for (int i = 0; i < HMAC_SLOTS; i++) {
		struct hmac_slot *sl = &c->slot[i];
		if (sl->ctx != NULL && sl->keylen == keylen &&
		    CRYPTO_memcmp(sl->key, key, keylen) == 0) {
			if (EVP_MAC_init(sl->ctx, NULL, 0, NULL) == 1)
				return sl;
			hmac_slot_clear(sl);
			return NULL;
		}
	}
	struct hmac_slot *sl = &c->slot[c->next++ % HMAC_SLOTS];
	hmac_slot_clear(sl);
	sl->ctx = hmac_new(key, keylen);
	if (sl->ctx == NULL)
		return NULL;
	sl->keylen = keylen;
	memcpy(sl->key, key, keylen);
	return sl;
}

bool lf_hmac_sha256(const void *key, size_t keylen, const struct lf_bytes *parts, size_t nparts,
		    uint8_t out[LF_HMAC_LEN])
{
	pthread_once(&hmac_once, hmac_setup);
	if (hmac_mac == NULL)
		return false;
	struct hmac_slot *sl = hmac_slot_for(key, keylen);
	EVP_MAC_CTX *ctx = sl != NULL ? sl->ctx : hmac_new(key, keylen);
	size_t n = 0;
	bool ok = ctx != NULL;
	for (size_t i = 0; ok && i < nparts; i++)
		ok = parts[i].len == 0 || EVP_MAC_update(ctx, parts[i].data, parts[i].len) == 1;
	ok = ok && EVP_MAC_final(ctx, out, &n, LF_HMAC_LEN) == 1 && n == LF_HMAC_LEN;
	if (sl == NULL)
		EVP_MAC_CTX_free(ctx);
	else if (!ok)
		hmac_slot_clear(sl); /* not reused in an unknown state */
	return ok;
}
