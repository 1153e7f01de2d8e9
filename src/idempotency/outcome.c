/*
 * idempotency/outcome.c - the msgpack encoding of a decided request outcome, the unit
 * idempotency stores in the shm cache and in Redis and replays.
 *
 * Wire form (format version 1): a msgpack map with one-letter keys
 *   "v": 1 (uint)          "s": HTTP status (uint, 100..599)
 *   "f": fingerprint (bin, exactly LF_FINGERPRINT_LEN bytes)
 *   "e": expiry, unix ms (int)
 *   "l": Location header (str without NUL) or nil; may be absent
 *   "b": body (bin; str also accepted)
 *   "r": raw digest of a request with fingerprint "f" (bin, exactly
 *        LF_FINGERPRINT_LEN bytes); may be absent
 * Unknown string keys are ignored (additions that keep version 1); a
 * different "v" is refused. Decoding treats its input as hostile: the bytes
 * are first walked by mp_skim() so that no container claims more elements
 * than the input could hold (msgpack-c allocates a container's elements
 * from the count in its header, before reading them), then the unpacked
 * object is checked type by type; a duplicated key, a missing key, a wrong
 * type or length, truncation or trailing bytes all reject.
 * What the tiers store is the encoding sealed with a MAC (lf_outcome_seal,
 * at the end of this file).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <msgpack.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "lf_hash.h"
#include "lf_idempotency.h"

#define OUTCOME_VERSION 1

enum {
	K_V = 1 << 0,
	K_S = 1 << 1,
	K_F = 1 << 2,
	K_E = 1 << 3,
	K_L = 1 << 4,
	K_B = 1 << 5,
	K_R = 1 << 6,
	K_REQUIRED = K_V | K_S | K_F | K_E | K_B,
};

static int pack_key(msgpack_packer *pk, char k)
{
	return msgpack_pack_str(pk, 1) | msgpack_pack_str_body(pk, &k, 1);
}

void *lf_outcome_encode(const struct lf_outcome *o, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	size_t llen = 0;
	int rc = 0;
	if (o == NULL || len == NULL || o->status < 100 || o->status > 599 ||
	    (o->body == NULL && o->body_len > 0) || o->body_len > UINT32_MAX)
		return NULL;
	if (o->location != NULL && (llen = strlen(o->location)) > UINT32_MAX)
		return NULL;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	rc |= msgpack_pack_map(&pk, o->has_raw ? 7 : 6);
	rc |= pack_key(&pk, 'v');
	rc |= msgpack_pack_unsigned_int(&pk, OUTCOME_VERSION);
	rc |= pack_key(&pk, 's');
	rc |= msgpack_pack_unsigned_int(&pk, (unsigned)o->status);
	rc |= pack_key(&pk, 'f');
	rc |= msgpack_pack_bin(&pk, LF_FINGERPRINT_LEN);
	rc |= msgpack_pack_bin_body(&pk, o->fingerprint, LF_FINGERPRINT_LEN);
	rc |= pack_key(&pk, 'e');
	rc |= msgpack_pack_int64(&pk, o->expires_ms);
	rc |= pack_key(&pk, 'l');
	if (o->location != NULL) {
		rc |= msgpack_pack_str(&pk, llen);
		rc |= msgpack_pack_str_body(&pk, o->location, llen);
	} else {
		rc |= msgpack_pack_nil(&pk);
	}
	rc |= pack_key(&pk, 'b');
	rc |= msgpack_pack_bin(&pk, o->body_len);
	if (o->body_len > 0)
		rc |= msgpack_pack_bin_body(&pk, o->body, o->body_len);
	if (o->has_raw) {
		rc |= pack_key(&pk, 'r');
		rc |= msgpack_pack_bin(&pk, LF_FINGERPRINT_LEN);
		rc |= msgpack_pack_bin_body(&pk, o->raw, LF_FINGERPRINT_LEN);
	}

	if (rc != 0 || sb.data == NULL) {
		msgpack_sbuffer_destroy(&sb);
		return NULL;
	}
	*len = sb.size;
	return sb.data; /* realloc'd by the sbuffer: free() releases it */
}

static uint64_t be_read(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	while (n--)
		v = v << 8 | *p++;
	return v;
}

/* Walk one complete msgpack value covering exactly buf[0..len): false if it
 * is truncated, followed by trailing bytes, uses the reserved byte 0xc1, or
 * has a container (at any depth) claiming more elements than bytes remain.
 * Iterative: it counts the values still owed instead of recursing. */
static bool mp_skim(const uint8_t *p, size_t len)
{
	size_t pos = 0;
	uint64_t owed = 1;
	while (owed > 0) {
		uint64_t items = 0, skip = 0;
		unsigned lenbytes = 0, extra = 0;
		uint8_t t;
		if (pos >= len)
			return false;
		t = p[pos++];
		owed--;
		if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3)
			; /* fixint, nil, false, true */
		else if (t <= 0x8f)
			items = 2 * (uint64_t)(t & 0x0f);
		else if (t <= 0x9f)
			items = t & 0x0f;
		else if (t <= 0xbf)
			skip = t & 0x1f;
		else if (t == 0xc1)
			return false;
		else if (t >= 0xc4 && t <= 0xc6) /* bin 8/16/32 */
			lenbytes = 1u << (t - 0xc4);
		else if (t >= 0xc7 && t <= 0xc9) /* ext 8/16/32, then a type byte */
			lenbytes = 1u << (t - 0xc7), extra = 1;
		else if (t == 0xca || t == 0xcb) /* float 32/64 */
			skip = t == 0xca ? 4 : 8;
		else if (t >= 0xcc && t <= 0xd3) /* uint/int 8..64 */
			skip = 1u << ((t - 0xcc) & 3);
		else if (t >= 0xd4 && t <= 0xd8) /* fixext 1..16, plus type byte */
			skip = 1 + (1u << (t - 0xd4));
		else if (t >= 0xd9 && t <= 0xdb) /* str 8/16/32 */
			lenbytes = 1u << (t - 0xd9);
		else if (t == 0xdc || t == 0xdd) { /* array 16/32 */
			if (len - pos < (t == 0xdc ? 2u : 4u))
				return false;
			items = be_read(p + pos, t == 0xdc ? 2 : 4);
			pos += t == 0xdc ? 2 : 4;
		} else { /* 0xde, 0xdf: map 16/32 */
			if (len - pos < (t == 0xde ? 2u : 4u))
				return false;
			items = 2 * be_read(p + pos, t == 0xde ? 2 : 4);
			pos += t == 0xde ? 2 : 4;
		}
		if (lenbytes) {
			if (len - pos < lenbytes)
				return false;
			skip = be_read(p + pos, lenbytes) + extra;
			pos += lenbytes;
		}
		if (skip > len - pos)
			return false;
		pos += skip;
		/* every owed value takes at least one byte */
		if (items > len - pos || owed + items > len - pos)
			return false;
		owed += items;
	}
	return pos == len;
}

static char *dup_bytes(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d == NULL)
		return NULL;
	if (n > 0)
		memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* Check one key/value pair of the root map into *o; false rejects. */
static bool take_field(const msgpack_object_kv *kv, struct lf_outcome *o, unsigned *seen,
		       const msgpack_object **body, const msgpack_object **loc)
{
	const msgpack_object *v = &kv->val;
	unsigned bit;
	if (kv->key.type != MSGPACK_OBJECT_STR)
		return false;
	if (kv->key.via.str.size != 1)
		return true; /* unknown key: ignored */
	switch (kv->key.via.str.ptr[0]) {
	case 'v': bit = K_V; break;
	case 's': bit = K_S; break;
	case 'f': bit = K_F; break;
	case 'e': bit = K_E; break;
	case 'l': bit = K_L; break;
	case 'b': bit = K_B; break;
	case 'r': bit = K_R; break;
	default: return true;
	}
	if (*seen & bit)
		return false; /* duplicated key */
	*seen |= bit;

	switch (bit) {
	case K_V:
		return v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 == OUTCOME_VERSION;
	case K_S:
		if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 < 100 ||
		    v->via.u64 > 599)
			return false;
		o->status = (int)v->via.u64;
		return true;
	case K_F:
		if (v->type != MSGPACK_OBJECT_BIN || v->via.bin.size != LF_FINGERPRINT_LEN)
			return false;
		memcpy(o->fingerprint, v->via.bin.ptr, LF_FINGERPRINT_LEN);
		return true;
	case K_E:
		if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
			o->expires_ms = v->via.i64;
		else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= INT64_MAX)
			o->expires_ms = (int64_t)v->via.u64;
		else
			return false;
		return true;
	case K_R:
		if (v->type != MSGPACK_OBJECT_BIN || v->via.bin.size != LF_FINGERPRINT_LEN)
			return false;
		memcpy(o->raw, v->via.bin.ptr, LF_FINGERPRINT_LEN);
		o->has_raw = true;
		return true;
	case K_L:
		if (v->type == MSGPACK_OBJECT_NIL)
			return true;
		if (v->type != MSGPACK_OBJECT_STR ||
		    (v->via.str.size > 0 && memchr(v->via.str.ptr, '\0', v->via.str.size)))
			return false;
		*loc = v;
		return true;
	default: /* K_B */
		if (v->type != MSGPACK_OBJECT_BIN && v->type != MSGPACK_OBJECT_STR)
			return false;
		*body = v;
		return true;
	}
}

bool lf_outcome_decode(const void *buf, size_t len, struct lf_outcome *o)
{
	const msgpack_object *body = NULL, *loc = NULL;
	msgpack_unpacked u;
	size_t off = 0, blen;
	unsigned seen = 0;
	bool ok = false;
	uint32_t i;
	if (o == NULL)
		return false;
	memset(o, 0, sizeof *o);
	if (buf == NULL || len == 0 || !mp_skim(buf, len))
		return false;

	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, buf, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len ||
	    u.data.type != MSGPACK_OBJECT_MAP)
		goto out;
	for (i = 0; i < u.data.via.map.size; i++)
		if (!take_field(&u.data.via.map.ptr[i], o, &seen, &body, &loc))
			goto out;
	if ((seen & K_REQUIRED) != K_REQUIRED)
		goto out;

	blen = body->type == MSGPACK_OBJECT_BIN ? body->via.bin.size : body->via.str.size;
	o->body = dup_bytes(
		body->type == MSGPACK_OBJECT_BIN ? body->via.bin.ptr : body->via.str.ptr, blen);
	o->body_len = blen;
	if (o->body == NULL)
		goto out;
	if (loc != NULL && (o->location = dup_bytes(loc->via.str.ptr, loc->via.str.size)) == NULL)
		goto out;
	ok = true;
out:
	msgpack_unpacked_destroy(&u);
	if (!ok)
		lf_outcome_clear(o);
	return ok;
}

void lf_outcome_clear(struct lf_outcome *o)
{
	if (o == NULL)
		return;
	free(o->location);
	free(o->body);
	memset(o, 0, sizeof *o);
}

/* ---- the seal: what makes a stored outcome unforgeable ----
 * A tier stores encode(o) followed by HMAC-SHA-256(secret, len(scope) ‖
 * scope ‖ encode(o)), where scope is the tier key ("lf:idem:<client>:<key>").
 * Whoever can write to Redis but does not hold the secret cannot make a
 * value that unseals, nor move one sealed for another client or key. */

static uint8_t seal_secret[LF_OUTCOME_SECRET_LEN];
static bool seal_secret_set;

void lf_outcome_set_secret(const uint8_t secret[LF_OUTCOME_SECRET_LEN])
{
	memcpy(seal_secret, secret, LF_OUTCOME_SECRET_LEN);
	seal_secret_set = true;
}

static bool seal_mac(const void *scope, size_t scope_len, const void *bytes, size_t len,
		     uint8_t mac[LF_OUTCOME_MAC_LEN])
{
	if (!seal_secret_set) {
		/* never a known key: a process that was not given the secret
		 * seals with a random one (its values unseal nowhere else) */
		if (RAND_bytes(seal_secret, sizeof seal_secret) != 1)
			return false;
		seal_secret_set = true;
	}
	uint8_t n[8];
	for (int i = 0; i < 8; i++)
		n[i] = (uint8_t)((uint64_t)scope_len >> (56 - 8 * i));
	struct lf_bytes parts[] = {{n, sizeof n}, {scope, scope_len}, {bytes, len}};
	return lf_hmac_sha256(seal_secret, sizeof seal_secret, parts, 3, mac);
}

void *lf_outcome_seal(const struct lf_outcome *o, const void *scope, size_t scope_len, size_t *len)
{
	size_t n = 0;
	uint8_t *enc = lf_outcome_encode(o, &n);
	if (enc == NULL)
		return NULL;
	uint8_t *out = realloc(enc, n + LF_OUTCOME_MAC_LEN);
	if (out == NULL || !seal_mac(scope, scope_len, out, n, out + n)) {
		free(out ? out : enc);
		return NULL;
	}
	*len = n + LF_OUTCOME_MAC_LEN;
	return out;
}

bool lf_outcome_unseal(const void *buf, size_t len, const void *scope, size_t scope_len,
		       struct lf_outcome *o)
{
	memset(o, 0, sizeof *o);
	if (buf == NULL || len <= LF_OUTCOME_MAC_LEN)
		return false;
	size_t n = len - LF_OUTCOME_MAC_LEN;
	uint8_t mac[LF_OUTCOME_MAC_LEN];
	if (!seal_mac(scope, scope_len, buf, n, mac) ||
	    CRYPTO_memcmp(mac, (const uint8_t *)buf + n, LF_OUTCOME_MAC_LEN) != 0)
		return false;
	return lf_outcome_decode(buf, n, o);
}
