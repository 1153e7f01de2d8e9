/*
 * idempotency/key.c - Idempotency-Key parsing and request fingerprints (lf_idem.h).
 * SHA-256 comes from OpenSSL's libcrypto.
 */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>

#include "lf_hash.h"
#include "lf_idempotency.h"

enum lf_idem_key_verdict lf_idem_key_parse(const char *header, char key[LF_IDEM_KEY_MAX + 1],
					   size_t *len)
{
	if (header == NULL)
		return LF_IDEM_KEY_MISSING;
	size_t n = strlen(header);
	const char *p = header;
	/* the draft's structured-field form: a quoted string "abc" */
	if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
		p++;
		n -= 2;
	}
	if (n == 0 || n > LF_IDEM_KEY_MAX)
		return LF_IDEM_KEY_INVALID;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c < 0x21 || c > 0x7e)
			return LF_IDEM_KEY_INVALID;
	}
	memcpy(key, p, n);
	key[n] = '\0';
	*len = n;
	return LF_IDEM_KEY_OK;
}

bool lf_fp_begin(struct lf_fp *fp, const char *method, const char *route)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	fp->ctx = ctx;
	if (ctx == NULL || EVP_DigestInit_ex(ctx, lf_sha256_md(), NULL) != 1)
		return false;
	lf_fp_field(fp, "method", method, strlen(method));
	lf_fp_field(fp, "route", route, strlen(route));
	return true;
}

static bool put_len(EVP_MD_CTX *ctx, uint64_t n)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(n >> (56 - 8 * i));
	return EVP_DigestUpdate(ctx, b, sizeof b) == 1;
}

/* len as 8 bytes big-endian, then the bytes */
static bool digest_part(EVP_MD_CTX *ctx, const void *p, size_t len)
{
	return put_len(ctx, len) && EVP_DigestUpdate(ctx, p, len) == 1;
}

void lf_fp_field(struct lf_fp *fp, const char *name, const char *value, size_t len)
{
	EVP_MD_CTX *ctx = fp->ctx;
	if (ctx == NULL)
		return;
	size_t nl = strlen(name);
	put_len(ctx, nl);
	EVP_DigestUpdate(ctx, name, nl);
	EVP_DigestUpdate(ctx, "=", 1);
	put_len(ctx, len);
	EVP_DigestUpdate(ctx, value, len);
}

void lf_fp_null(struct lf_fp *fp, const char *name)
{
	EVP_MD_CTX *ctx = fp->ctx;
	if (ctx == NULL)
		return;
	size_t nl = strlen(name);
	put_len(ctx, nl);
	EVP_DigestUpdate(ctx, name, nl);
	EVP_DigestUpdate(ctx, "~", 1);
}

void lf_fp_end(struct lf_fp *fp, uint8_t out[LF_FINGERPRINT_LEN])
{
	EVP_MD_CTX *ctx = fp->ctx;
	unsigned int n = 0;
	memset(out, 0, LF_FINGERPRINT_LEN);
	if (ctx != NULL) {
		EVP_DigestFinal_ex(ctx, out, &n);
		EVP_MD_CTX_free(ctx);
	}
	fp->ctx = NULL;
}

bool lf_idem_raw_digest(const char *method, const char *path, const void *body, size_t len,
			uint8_t out[LF_FINGERPRINT_LEN])
{
	/* lf_fp's framing under its own version name, every step checked:
	 * a digest that could be wrong must not be made at all */
	static const char version[] = "raw-v1";
	const char *parts[] = {version, method, path};
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;
	bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, lf_sha256_md(), NULL) == 1;
	for (size_t i = 0; ok && i < sizeof parts / sizeof parts[0]; i++)
		ok = digest_part(ctx, parts[i], strlen(parts[i]));
	ok = ok && digest_part(ctx, body != NULL ? body : "", len) &&
	     EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == LF_FINGERPRINT_LEN;
	EVP_MD_CTX_free(ctx);
	return ok;
}

size_t lf_idem_canonical_decimal(const char *text, size_t len, char *out)
{
	const char *dot = memchr(text, '.', len);
	size_t n = len;
	if (dot != NULL) {
		while (n > 0 && text[n - 1] == '0')
			n--;
		if (n > 0 && text[n - 1] == '.')
			n--;
	}
	memcpy(out, text, n);
	out[n] = '\0';
	return n;
}
