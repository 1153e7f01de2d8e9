/*
 * auth/key.c - API keys and scopes (lf_auth.h): generating a key from
 * OpenSSL's CSPRNG, taking it out of an Authorization header, its
 * HMAC-SHA-256 digest under the pepper, constant-time comparison, derived
 * secrets, and the scope names of the contract.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "lf_auth.h"
#include "lf_hash.h"

#define KEY_TAG "lfk_"
#define KEY_TAG_LEN 4
#define PREFIX_HEX 12 /* 48 bits */
#define SECRET_BYTES 32
#define SECRET_CHARS 43 /* base64url of 32 bytes, unpadded */

_Static_assert(KEY_TAG_LEN + PREFIX_HEX == LF_AUTH_PREFIX_LEN, "prefix length");
_Static_assert(LF_AUTH_PREFIX_LEN + 1 + SECRET_CHARS == LF_AUTH_KEY_LEN, "key length");

/* clang-format off */
static const struct {
	const char *name;
	unsigned bit;
} scope_names[] = {
	{"accounts:read", LF_SCOPE_ACCOUNTS_READ},
	{"accounts:write", LF_SCOPE_ACCOUNTS_WRITE},
	{"payments:read", LF_SCOPE_PAYMENTS_READ},
	{"payments:write", LF_SCOPE_PAYMENTS_WRITE},
	{"funds:issue", LF_SCOPE_FUNDS_ISSUE},
	{"events:read", LF_SCOPE_EVENTS_READ},
	{"admin", LF_SCOPE_ADMIN},
};
/* clang-format on */
#define NSCOPES (sizeof scope_names / sizeof scope_names[0])

bool lf_auth_scopes_parse(const char *list, unsigned *scopes, char bad[65])
{
	*scopes = 0;
	bad[0] = '\0';
	if (list == NULL)
		return false;
	const char *p = list;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		bool found = false;
		for (size_t i = 0; i < NSCOPES && !found; i++) {
			if (strlen(scope_names[i].name) == n &&
			    memcmp(scope_names[i].name, p, n) == 0) {
				*scopes |= scope_names[i].bit;
				found = true;
			}
		}
		if (!found) {
			size_t m = n < 64 ? n : 64;
			memcpy(bad, p, m);
			bad[m] = '\0';
			*scopes = 0;
			return false;
		}
		if (end == NULL)
			return true;
		p = end + 1;
	}
}

void lf_auth_scopes_format(unsigned scopes, char *buf, size_t len)
{
	size_t n = 0;
	if (len == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < NSCOPES; i++) {
		if (!(scopes & scope_names[i].bit))
			continue;
		size_t w = strlen(scope_names[i].name);
		if (n + (n > 0) + w + 1 > len)
			break;
		if (n > 0)
			buf[n++] = ',';
		memcpy(buf + n, scope_names[i].name, w);
		n += w;
		buf[n] = '\0';
	}
}

bool lf_auth_scopes_allow(unsigned scopes, unsigned needed)
{
	return (scopes & LF_SCOPE_ADMIN) || (scopes & needed) == needed;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static bool is_b64url(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

static bool is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

lf_rc lf_auth_key_generate(char key[LF_AUTH_KEY_LEN + 1], char prefix[LF_AUTH_PREFIX_LEN + 1])
{
	unsigned char id[PREFIX_HEX / 2], secret[SECRET_BYTES + 1];
	if (RAND_bytes(id, sizeof id) != 1 || RAND_bytes(secret, SECRET_BYTES) != 1)
		return LF_ERROR;
	secret[SECRET_BYTES] = 0;
	static const char hex[] = "0123456789abcdef";
	memcpy(key, KEY_TAG, KEY_TAG_LEN);
	size_t n = KEY_TAG_LEN;
	for (size_t i = 0; i < sizeof id; i++) {
		key[n++] = hex[id[i] >> 4];
		key[n++] = hex[id[i] & 15];
	}
	memcpy(prefix, key, LF_AUTH_PREFIX_LEN);
	prefix[LF_AUTH_PREFIX_LEN] = '\0';
	key[n++] = '_';
	/* base64url of 32 bytes: 10 groups of 3 bytes, then 2 bytes -> 3 chars */
	for (size_t i = 0; i < SECRET_BYTES; i += 3) {
		uint32_t v = (uint32_t)secret[i] << 16 | (uint32_t)secret[i + 1] << 8 |
			     (i + 2 < SECRET_BYTES ? secret[i + 2] : 0);
		key[n++] = b64url[(v >> 18) & 63];
		key[n++] = b64url[(v >> 12) & 63];
		key[n++] = b64url[(v >> 6) & 63];
		if (i + 2 < SECRET_BYTES)
			key[n++] = b64url[v & 63];
	}
	key[n] = '\0';
	OPENSSL_cleanse(secret, sizeof secret);
	return n == LF_AUTH_KEY_LEN ? LF_OK : LF_ERROR;
}

lf_rc lf_auth_key_from_header(const char *authorization, const char **key,
			      char prefix[LF_AUTH_PREFIX_LEN + 1])
{
	if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
		return LF_DECLINED;
	const char *k = authorization + 7;
	while (*k == ' ')
		k++;
	size_t n = strlen(k);
	while (n > 0 && (k[n - 1] == ' ' || k[n - 1] == '\t'))
		n--;
	if (n != LF_AUTH_KEY_LEN || memcmp(k, KEY_TAG, KEY_TAG_LEN) != 0 ||
	    k[LF_AUTH_PREFIX_LEN] != '_')
		return LF_ERROR;
	for (size_t i = KEY_TAG_LEN; i < LF_AUTH_PREFIX_LEN; i++)
		if (!is_lower_hex(k[i]))
			return LF_ERROR;
	for (size_t i = LF_AUTH_PREFIX_LEN + 1; i < LF_AUTH_KEY_LEN; i++)
		if (!is_b64url(k[i]))
			return LF_ERROR;
	memcpy(prefix, k, LF_AUTH_PREFIX_LEN);
	prefix[LF_AUTH_PREFIX_LEN] = '\0';
	*key = k;
	return LF_OK;
}

void lf_auth_key_digest(const uint8_t pepper[LF_AUTH_PEPPER_LEN], const char *key,
			uint8_t out[LF_AUTH_DIGEST_LEN])
{
	struct lf_bytes part = {key, LF_AUTH_KEY_LEN};
	if (!lf_hmac_sha256(pepper, LF_AUTH_PEPPER_LEN, &part, 1, out))
		memset(out, 0, LF_AUTH_DIGEST_LEN); /* matches no stored digest */
}

bool lf_auth_digest_equal(const uint8_t a[LF_AUTH_DIGEST_LEN], const uint8_t b[LF_AUTH_DIGEST_LEN])
{
	static const uint8_t zero[LF_AUTH_DIGEST_LEN];
	return CRYPTO_memcmp(a, b, LF_AUTH_DIGEST_LEN) == 0 &&
	       CRYPTO_memcmp(a, zero, LF_AUTH_DIGEST_LEN) != 0;
}

void lf_auth_derive(const uint8_t pepper[LF_AUTH_PEPPER_LEN], const char *label,
		    uint8_t out[LF_AUTH_SECRET_LEN])
{
	struct lf_bytes parts[] = {{"ledgerflow:", 11}, {label, strlen(label)}};
	if (!lf_hmac_sha256(pepper, LF_AUTH_PEPPER_LEN, parts, 2, out))
		memset(out, 0, LF_AUTH_SECRET_LEN);
}

void lf_auth_secrets_from_pepper(struct lf_secrets *s, const uint8_t pepper[LF_AUTH_PEPPER_LEN])
{
	memcpy(s->pepper, pepper, LF_AUTH_PEPPER_LEN);
	lf_auth_derive(pepper, "outcome-mac", s->outcome_mac);
	lf_auth_derive(pepper, "cursor-mac", s->cursor_mac);
}

void lf_auth_secrets_clear(struct lf_secrets *s)
{
	OPENSSL_cleanse(s, sizeof *s);
}
