/*
 * api/metadata.c - the "metadata" member of account and payment requests
 * (lf_api.h): a JSON object of at most 20 string values, keys of 1..40
 * and values of 0..500 characters, rendered once into its canonical text
 * (members sorted by key, bytewise; the JSON escaping of the renderer), the
 * text that is stored, returned in bodies and fingerprinted, so member
 * order and escaping do not make two requests different.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <json-c/json.h>

#include "lf_api.h"
#include "lf_json.h"
#include "lf_store.h"

#define LF_METADATA_KEYS_MAX 20
#define LF_METADATA_KEY_CHARS 40
#define LF_METADATA_VALUE_CHARS 500

struct member {
	const char *key;
	size_t key_len;
	const char *value;
	size_t value_len;
};

static int by_key(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = memcmp(x->key, y->key, n);
	return c != 0 ? c : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

enum lf_field_verdict lf_api_metadata_parse(struct json_object *obj, char **out)
{
	*out = NULL;
	struct json_object *md = lf_field_get(obj, "metadata");
	if (md == NULL || json_object_get_type(md) == json_type_null)
		return LF_FIELD_ABSENT;
	if (json_object_get_type(md) != json_type_object ||
	    json_object_object_length(md) > LF_METADATA_KEYS_MAX)
		return LF_FIELD_WRONG_TYPE;
	struct member m[LF_METADATA_KEYS_MAX];
	size_t n = 0;
	json_object_object_foreach(md, key, val)
	{
		size_t kl = strlen(key);
		if (n == LF_METADATA_KEYS_MAX || json_object_get_type(val) != json_type_string)
			return LF_FIELD_WRONG_TYPE;
		const char *v = json_object_get_string(val);
		size_t vl = (size_t)json_object_get_string_len(val);
		size_t kc = lf_utf8_chars(key, kl);
		/* a key with U+0000 would be cut at it (json-c keys are C strings) */
		if (kc == 0 || kc > LF_METADATA_KEY_CHARS ||
		    lf_utf8_chars(v, vl) > LF_METADATA_VALUE_CHARS || memchr(v, '\0', vl) != NULL)
			return LF_FIELD_WRONG_TYPE;
		m[n++] = (struct member){key, kl, v, vl};
	}
	qsort(m, n, sizeof m[0], by_key);
	struct evbuffer *b = evbuffer_new();
	if (b == NULL)
		return LF_FIELD_WRONG_TYPE;
	evbuffer_add(b, "{", 1);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			evbuffer_add(b, ",", 1);
		lf_json_append_string(b, m[i].key, m[i].key_len);
		evbuffer_add(b, ":", 1);
		lf_json_append_string(b, m[i].value, m[i].value_len);
	}
	evbuffer_add(b, "}", 1);
	size_t len = evbuffer_get_length(b);
	char *s = len < LF_METADATA_TEXT_MAX ? malloc(len + 1) : NULL;
	if (s != NULL) {
		evbuffer_remove(b, s, len);
		s[len] = '\0';
	}
	evbuffer_free(b);
	*out = s;
	return s != NULL ? LF_FIELD_OK : LF_FIELD_WRONG_TYPE;
}
