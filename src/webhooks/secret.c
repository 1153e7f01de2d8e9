/*
 * webhooks/secret.c - the webhooks' signing secrets and signatures
 * (lf_events.h). A secret is 32 random bytes shown once as whsec_ + hex by
 * `ledgerflowctl webhook add`; the database keeps it sealed with
 * AES-256-GCM under lf_auth_derive(pepper, "webhook-secret"), the webhook's
 * id bound as additional data, so a copy of the database alone cannot
 * sign (doc/security.md). A signature is Stripe's scheme:
 * t=<unix seconds>,v1=hex(HMAC-SHA-256(secret, "<t>.<body>")). Also the
 * event types and URLs a webhook may name.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <event2/http.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "lf_events.h"
#include "lf_hash.h"

static const char *const event_types[] = {
	"account.created", "payment.completed", "payment.declined",
	"payment.pending", "payment.captured",  "payment.voided",
	"payment.expired", "refund.completed",  "refund.declined",
};

static void hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

bool lf_webhook_secret_new(char out[LF_WEBHOOK_SECRET_TEXT_LEN + 1])
{
	uint8_t raw[LF_WEBHOOK_SECRET_LEN];
	if (RAND_bytes(raw, sizeof raw) != 1)
		return false;
	memcpy(out, "whsec_", 6);
	hex(raw, sizeof raw, out + 6);
	OPENSSL_cleanse(raw, sizeof raw);
	return true;
}

static void seal_key(const uint8_t pepper[LF_AUTH_PEPPER_LEN], uint8_t key[LF_AUTH_SECRET_LEN])
{
	lf_auth_derive(pepper, "webhook-secret", key);
}

bool lf_webhook_secret_seal(const uint8_t pepper[LF_AUTH_PEPPER_LEN], const lf_uuid *webhook,
			    const char *secret, uint8_t *box, size_t *box_len)
{
	uint8_t key[LF_AUTH_SECRET_LEN];
	uint8_t *nonce = box, *ct = box + LF_WEBHOOK_NONCE_LEN;
	uint8_t *tag = ct + LF_WEBHOOK_SECRET_TEXT_LEN;
	int len = 0;
	bool ok = false;
	if (strlen(secret) != LF_WEBHOOK_SECRET_TEXT_LEN ||
	    RAND_bytes(nonce, LF_WEBHOOK_NONCE_LEN) != 1)
		return false;
	seal_key(pepper, key);
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	if (x != NULL && EVP_EncryptInit_ex(x, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
	    EVP_EncryptUpdate(x, NULL, &len, webhook->b, sizeof webhook->b) == 1 &&
	    EVP_EncryptUpdate(x, ct, &len, (const uint8_t *)secret, LF_WEBHOOK_SECRET_TEXT_LEN) ==
		    1 &&
	    len == LF_WEBHOOK_SECRET_TEXT_LEN && EVP_EncryptFinal_ex(x, ct + len, &len) == 1 &&
	    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, LF_WEBHOOK_TAG_LEN, tag) == 1)
		ok = true;
	EVP_CIPHER_CTX_free(x);
	OPENSSL_cleanse(key, sizeof key);
	*box_len = ok ? LF_WEBHOOK_SEALED_LEN : 0;
	return ok;
}

bool lf_webhook_secret_open(const uint8_t pepper[LF_AUTH_PEPPER_LEN], const lf_uuid *webhook,
			    const uint8_t *box, size_t box_len,
			    char out[LF_WEBHOOK_SECRET_TEXT_LEN + 1])
{
	if (box_len != LF_WEBHOOK_SEALED_LEN)
		return false;
	uint8_t key[LF_AUTH_SECRET_LEN], tag[LF_WEBHOOK_TAG_LEN];
	const uint8_t *nonce = box, *ct = box + LF_WEBHOOK_NONCE_LEN;
	memcpy(tag, ct + LF_WEBHOOK_SECRET_TEXT_LEN, sizeof tag);
	int len = 0;
	bool ok = false;
	seal_key(pepper, key);
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	if (x != NULL && EVP_DecryptInit_ex(x, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
	    EVP_DecryptUpdate(x, NULL, &len, webhook->b, sizeof webhook->b) == 1 &&
	    EVP_DecryptUpdate(x, (uint8_t *)out, &len, ct, LF_WEBHOOK_SECRET_TEXT_LEN) == 1 &&
	    len == LF_WEBHOOK_SECRET_TEXT_LEN &&
	    EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, sizeof tag, tag) == 1 &&
	    EVP_DecryptFinal_ex(x, (uint8_t *)out + len, &len) == 1)
		ok = true;
	EVP_CIPHER_CTX_free(x);
	OPENSSL_cleanse(key, sizeof key);
	out[ok ? LF_WEBHOOK_SECRET_TEXT_LEN : 0] = '\0';
	if (!ok)
		OPENSSL_cleanse(out, LF_WEBHOOK_SECRET_TEXT_LEN);
	return ok;
}

bool lf_webhook_sign(const char *secret, int64_t t, const char *body, size_t len, char *out,
		     size_t outlen)
{
	char ts[24];
	int tn = snprintf(ts, sizeof ts, "%" PRId64, t);
	struct lf_bytes parts[] = {{ts, (size_t)tn}, {".", 1}, {body, len}};
	uint8_t mac[LF_HMAC_LEN];
	char mhex[2 * LF_HMAC_LEN + 1];
	if (!lf_hmac_sha256(secret, strlen(secret), parts, 3, mac))
		return false;
	hex(mac, sizeof mac, mhex);
	int n = snprintf(out, outlen, "t=%s,v1=%s", ts, mhex);
	return n > 0 && (size_t)n < outlen;
}

static bool is_type(const char *p, size_t n)
{
	for (size_t i = 0; i < sizeof event_types / sizeof event_types[0]; i++)
		if (strlen(event_types[i]) == n && memcmp(event_types[i], p, n) == 0)
			return true;
	return false;
}

bool lf_webhook_types_valid(const char *list, char bad[40])
{
	bad[0] = '\0';
	if (list == NULL || *list == '\0' || strlen(list) > LF_WEBHOOK_TYPES_MAX)
		return false;
	for (const char *p = list;;) {
		size_t n = strcspn(p, ",");
		if (!is_type(p, n)) {
			snprintf(bad, 40, "%.*s", (int)(n < 39 ? n : 39), p);
			return false;
		}
		if (p[n] == '\0')
			return true;
		p += n + 1;
	}
}

bool lf_webhook_types_match(const char *list, const char *type)
{
	size_t tn = strlen(type);
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		if (n == tn && memcmp(p, type, n) == 0)
			return true;
		p += n + (p[n] == ',');
	}
	return false;
}

bool lf_webhook_url_valid(const char *url)
{
	size_t n = strlen(url);
	if (n == 0 || n > LF_WEBHOOK_URL_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
			return false;
	struct evhttp_uri *u = evhttp_uri_parse(url);
	if (u == NULL)
		return false;
	const char *scheme = evhttp_uri_get_scheme(u), *host = evhttp_uri_get_host(u);
	bool ok = scheme != NULL && (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) &&
		  host != NULL && host[0] != '\0' && evhttp_uri_get_userinfo(u) == NULL;
	evhttp_uri_free(u);
	return ok;
}
