/*
 * core/hash.c - SipHash-2-4 (Aumasson and Bernstein's reference
 * algorithm) and its random keys, and HMAC-SHA-256 over several parts
 * through OpenSSL 3's EVP_MAC (lf_hash.h).
 */
#include "config.h"

#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
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

bool lf_hmac_sha256(const void *key, size_t keylen, const struct lf_bytes *parts, size_t nparts,
		    uint8_t out[LF_HMAC_LEN])
{
	static EVP_MAC *mac; /* fetched once per process; never freed */
	if (mac == NULL)
		mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};
	size_t n = 0;
	bool ok = ctx != NULL && EVP_MAC_init(ctx, key, keylen, params) == 1;
	for (size_t i = 0; ok && i < nparts; i++)
		ok = parts[i].len == 0 || EVP_MAC_update(ctx, parts[i].data, parts[i].len) == 1;
	ok = ok && EVP_MAC_final(ctx, out, &n, LF_HMAC_LEN) == 1 && n == LF_HMAC_LEN;
	EVP_MAC_CTX_free(ctx);
	return ok;
}
