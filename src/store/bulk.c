/*
 * store/bulk.c - bulk payments in the database (lf_bulk.h): the item keys
 * derived from a batch key, the currencies and owners of a batch's
 * accounts in one query (the ids as one JSON array through JSON_TABLE),
 * whether a batch key's items were decided already (a range scan of the
 * idempotency table's primary key), and an atomic batch as one CALL
 * lf_bulk_atomic (sql/procedures_bulk.sql), its items as one JSON array
 * bound as a single parameter and read with JSON_TABLE.
 */
#include "config.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "lf_bulk.h"
#include "lf_hash.h"
#include "store_int.h"

static const char hexdigits[] = "0123456789abcdef";

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdigits[b[i] >> 4];
		out[2 * i + 1] = hexdigits[b[i] & 15];
	}
}

void lf_bulk_key_prefix(const char *key, size_t len, char out[LF_BULK_PREFIX_LEN])
{
	uint8_t md[32];
	unsigned mdlen = 0;
	/* SHA-256 of at most 255 bytes cannot fail short of a broken libcrypto */
	if (EVP_Digest(key, len, md, &mdlen, lf_sha256_md(), NULL) != 1 || mdlen != sizeof md)
		abort();
	memcpy(out, "batch ", 6);
	hex(md, sizeof md, out + 6);
	out[LF_BULK_PREFIX_LEN - 1] = ' ';
}

size_t lf_bulk_item_key(const char prefix[LF_BULK_PREFIX_LEN], int index,
			char out[LF_BULK_ITEM_KEY_MAX + 1])
{
	assert(index >= 0 && index < LF_BULK_MAX_ITEMS);
	memcpy(out, prefix, LF_BULK_PREFIX_LEN);
	int n = snprintf(out + LF_BULK_PREFIX_LEN, LF_BULK_ITEM_KEY_MAX + 1 - LF_BULK_PREFIX_LEN,
			 "%d", index);
	return LF_BULK_PREFIX_LEN + (size_t)n;
}

static struct json_object *json_hex(const uint8_t *b, size_t n)
{
	char out[2 * 32];
	if (n > 32)
		return NULL;
	hex(b, n, out);
	return json_object_new_string_len(out, (int)(2 * n));
}

lf_rc lf_store_bulk_accounts(struct lf_store_conn *c, const lf_uuid *ids, int n, bool *found,
			     char (*currency)[4], uint64_t *owner)
{
	assert(n > 0 && n <= 2 * LF_BULK_MAX_ITEMS);
	for (int i = 0; i < n; i++) {
		found[i] = false;
		currency[i][0] = '\0';
		owner[i] = 0;
	}
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, ST_BULK_ACCOUNTS, &st);
	if (rc != LF_OK)
		return rc;
	/* ["<hex>", ...]: 35 bytes an id */
	size_t cap = (size_t)n * 35 + 3, len = 0;
	char *list = malloc(cap);
	if (list == NULL)
		return lf_store_fail(c, 0, "out of memory for a batch's account ids");
	list[len++] = '[';
	for (int i = 0; i < n; i++) {
		if (i > 0)
			list[len++] = ',';
		list[len++] = '"';
		hex(ids[i].b, 16, list + len);
		len += 32;
		list[len++] = '"';
	}
	list[len++] = ']';
	assert(len <= cap);
	MYSQL_BIND in[1], b[3];
	struct col k[3];
	uint8_t id[16];
	char cur[4];
	uint64_t who = 0;
	memset(in, 0, sizeof in);
	memset(b, 0, sizeof b);
	memset(k, 0, sizeof k);
	in_text(&in[0], list, len);
	rc = lf_store_run(c, st, in);
	free(list);
	if (rc != LF_OK)
		return rc;
	out_bind(&b[0], &k[0], MYSQL_TYPE_BLOB, id, sizeof id);
	out_bind(&b[1], &k[1], MYSQL_TYPE_STRING, cur, sizeof cur);
	out_bind(&b[2], &k[2], MYSQL_TYPE_LONGLONG, &who, 0);
	b[2].is_unsigned = 1;
	if (mysql_stmt_bind_result(st, b))
		return lf_store_finish(c, st, lf_store_stmt_fail(c, st));
	/* at most one row an id: the bound is the number asked */
	for (int rows = 0; rows <= n; rows++) {
		int f = lf_store_next_row(c, st);
		if (f < 0)
			return lf_store_finish(c, st, lf_store_last_rc(c));
		if (f == 1)
			break;
		out_str_fix(cur, sizeof cur, &k[1]);
		for (int i = 0; out_uuid_ok(&k[0]) && i < n; i++) {
			if (memcmp(id, ids[i].b, 16) == 0) {
				found[i] = true;
				memcpy(currency[i], cur, sizeof cur);
				owner[i] = who;
			}
		}
	}
	return lf_store_finish(c, st, LF_OK);
}

lf_rc lf_store_bulk_prior(struct lf_store_conn *c, uint64_t client_id,
			  const char prefix[LF_BULK_PREFIX_LEN], bool *found,
			  uint8_t fp[LF_FINGERPRINT_LEN])
{
	*found = false;
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, ST_BULK_PRIOR, &st);
	if (rc != LF_OK)
		return rc;
	/* [prefix, prefix with its last byte ' ' + 1): every "<prefix><index>" */
	char hi[LF_BULK_PREFIX_LEN];
	memcpy(hi, prefix, LF_BULK_PREFIX_LEN);
	hi[LF_BULK_PREFIX_LEN - 1] = ' ' + 1;
	MYSQL_BIND in[3], b[1];
	struct col k[1];
	memset(in, 0, sizeof in);
	memset(b, 0, sizeof b);
	memset(k, 0, sizeof k);
	in_u64(&in[0], &client_id);
	in_bytes(&in[1], prefix, LF_BULK_PREFIX_LEN);
	in_bytes(&in[2], hi, LF_BULK_PREFIX_LEN);
	if ((rc = lf_store_run(c, st, in)) != LF_OK)
		return rc;
	out_bind(&b[0], &k[0], MYSQL_TYPE_BLOB, fp, LF_FINGERPRINT_LEN);
	if (mysql_stmt_bind_result(st, b))
		return lf_store_finish(c, st, lf_store_stmt_fail(c, st));
	int f = lf_store_next_row(c, st);
	if (f < 0)
		return lf_store_finish(c, st, lf_store_last_rc(c));
	*found = f == 0 && !k[0].null && k[0].len == LF_FINGERPRINT_LEN;
	return lf_store_finish(c, st, LF_OK);
}

static bool add(struct json_object *o, const char *name, struct json_object *v)
{
	return v != NULL && json_object_object_add(o, name, v) == 0;
}

static bool add_text(struct json_object *o, const char *name, const char *s)
{
	if (s == NULL)
		return json_object_object_add(o, name, NULL) == 0;
	return add(o, name, json_object_new_string(s));
}

/* A risk limit; absent when 0 (off). */
static bool add_limit(struct json_object *o, const char *name, int64_t v)
{
	return v <= 0 || add(o, name, json_object_new_int64(v));
}

static struct json_object *atomic_item(const struct lf_bulk_atomic_item *it)
{
	struct json_object *o = json_object_new_object();
	if (o == NULL)
		return NULL;
	bool ok = add(o, "k", json_object_new_string_len(it->key, (int)it->key_len)) &&
		  add(o, "id", json_hex(it->payment_id.b, 16)) &&
		  add(o, "dr", json_hex(it->debit_entry_id.b, 16)) &&
		  add(o, "cr", json_hex(it->credit_entry_id.b, 16)) &&
		  add(o, "f", json_hex(it->from.b, 16)) && add(o, "t", json_hex(it->to.b, 16)) &&
		  (it->sender_known ? add(o, "a", json_object_new_int64(it->amount))
				    : json_object_object_add(o, "a", NULL) == 0) &&
		  add(o, "cur", json_object_new_string(it->currency)) &&
		  add_text(o, "ref", it->reference) && add_text(o, "md", it->metadata) &&
		  add(o, "bc", json_object_new_string_len(it->body, (int)it->body_len)) &&
		  add(o, "ev", json_hex(it->event_id.b, 16)) &&
		  (it->risk_rule == NULL || add(o, "rr", json_object_new_string(it->risk_rule))) &&
		  add_limit(o, "vc", it->velocity_count) && add_limit(o, "vs", it->velocity_sum) &&
		  add_limit(o, "vw", it->velocity_window_ms) && add_limit(o, "dl", it->daily_limit);
	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

lf_rc lf_store_bulk_atomic(struct lf_store_conn *c, const struct lf_bulk_atomic_req *r,
			   enum lf_bulk_atomic_result *result, int *index, char code[32],
			   char rule[32], struct lf_stored *stored)
{
	memset(stored, 0, sizeof *stored);
	*index = -1;
	code[0] = rule[0] = '\0';
	assert(r->n > 0 && r->n <= LF_BULK_MAX_ITEMS);
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, ST_BULK_ATOMIC, &st);
	if (rc != LF_OK)
		return rc;
	struct json_object *arr = json_object_new_array_ext(r->n);
	for (int i = 0; arr != NULL && i < r->n; i++) {
		struct json_object *o = atomic_item(&r->items[i]);
		if (o == NULL || json_object_array_add(arr, o) != 0) {
			json_object_put(o);
			json_object_put(arr);
			arr = NULL;
		}
	}
	if (arr == NULL)
		return lf_store_fail(c, 0, "out of memory for a batch's items");
	size_t items_len;
	const char *items =
		json_object_to_json_string_length(arr, JSON_C_TO_STRING_PLAIN, &items_len);
	if (items == NULL) {
		json_object_put(arr);
		return lf_store_fail(c, 0, "out of memory for a batch's items");
	}
	MYSQL_BIND b[8];
	MYSQL_TIME t_created, t_expires;
	memset(b, 0, sizeof b);
	in_u64(&b[0], &r->client_id);
	in_bytes(&b[1], r->idem_key, r->idem_key_len);
	in_bytes(&b[2], r->fingerprint, LF_FINGERPRINT_LEN);
	int admin = r->admin;
	in_int(&b[3], &admin);
	in_time(&b[4], &t_created, r->created_ms);
	in_time(&b[5], &t_expires, r->expires_ms);
	in_body(&b[6], r->body, r->body_len);
	in_text(&b[7], items, items_len);
	rc = lf_store_run(c, st, b);
	json_object_put(arr);
	if (rc != LF_OK)
		return rc;
	char outcome[32];
	bool row;
	if ((rc = lf_store_fetch_outcome(c, st, true, outcome, stored, &row)) != LF_OK)
		return rc;
	if (!row)
		return lf_store_fail(c, 0, "lf_bulk_atomic returned no row");
	if (strcmp(outcome, "completed") == 0) {
		*result = LF_BULK_ATOMIC_COMPLETED;
	} else if (strcmp(outcome, "replay") == 0) {
		*result = LF_BULK_ATOMIC_REPLAY;
	} else if (strcmp(outcome, "failed") == 0 && stored->status >= 0 && stored->status < r->n &&
		   stored->location[0] != '\0') {
		/* the failing item's index and code ride in status and location */
		*result = LF_BULK_ATOMIC_FAILED;
		*index = stored->status;
		size_t n = strnlen(stored->location, 31);
		memcpy(code, stored->location, n);
		code[n] = '\0';
		/* and a risk decline's rule in body */
		n = stored->body != NULL
			    ? strnlen(stored->body, stored->body_len < 31 ? stored->body_len : 31)
			    : 0;
		memcpy(rule, stored->body != NULL ? stored->body : "", n);
		rule[n] = '\0';
	} else {
		lf_stored_clear(stored);
		return lf_store_fail(c, 0, "lf_bulk_atomic returned an unknown outcome");
	}
	lf_store_keep_only_replay(*result == LF_BULK_ATOMIC_REPLAY, stored);
	return LF_OK;
}
