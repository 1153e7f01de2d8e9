/*
 * fuzz_json.c - libFuzzer harness for the strict request-JSON gate
 * (core/json.c). Properties: lf_json_parse_object() returns an object only
 * for text json-c itself parses (default flags) as one object with nothing
 * after it; nothing it accepts has a duplicated member name, and a text
 * lf_json_has_duplicate_members() flags is never accepted; json-c's own
 * serialisation of an accepted object is accepted again and compares
 * equal; a NOT_OBJECT verdict is for a top-level value that is not an
 * object. lf_json_append_string() on the same bytes always produces a
 * JSON string the gate accepts, which decodes back to the input exactly
 * when the input is valid UTF-8.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <json-c/json.h>

#include "lf_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "fuzz_json: property failed: %s (%s:%d)\n", #cond, \
				__FILE__, __LINE__);                                       \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* RFC 3629 UTF-8, written independently of json.c. */
static bool valid_utf8(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint32_t c = p[i], cp;
		size_t k;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xE0) == 0xC0)
			k = 2, cp = c & 0x1F;
		else if ((c & 0xF0) == 0xE0)
			k = 3, cp = c & 0x0F;
		else if ((c & 0xF8) == 0xF0)
			k = 4, cp = c & 0x07;
		else
			return false;
		if (n - i < k)
			return false;
		for (size_t j = 1; j < k; j++) {
			if ((p[i + j] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + j] & 0x3F);
		}
		static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
		if (cp < min[k] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += k;
	}
	return true;
}

static void check_parse(const char *text, size_t size)
{
	struct json_object *obj = NULL;
	enum lf_json_verdict v = lf_json_parse_object(text, size, &obj);
	bool dup = lf_json_has_duplicate_members(text, size);
	if (dup)
		CHECK(v != LF_JSON_OK);
	if (v != LF_JSON_OK) {
		CHECK(obj == NULL);
		if (v == LF_JSON_NOT_OBJECT) {
			/* valid JSON, so json-c must take it, and not as an object;
			 * a top-level number or literal needs the NUL to end it */
			char *z = malloc(size + 1);
			struct json_tokener *tok = json_tokener_new_ex(64);
			CHECK(tok != NULL && z != NULL);
			memcpy(z, text, size);
			z[size] = '\0';
			struct json_object *o = json_tokener_parse_ex(tok, z, (int)size + 1);
			CHECK(json_tokener_get_error(tok) == json_tokener_success);
			CHECK(!json_object_is_type(o, json_type_object));
			json_object_put(o);
			json_tokener_free(tok);
			free(z);
		}
		return;
	}
	CHECK(obj != NULL && json_object_is_type(obj, json_type_object));

	/* json-c with its default flags agrees: one object */
	struct json_tokener *tok = json_tokener_new_ex(64);
	CHECK(tok != NULL);
	struct json_object *lax = json_tokener_parse_ex(tok, text, (int)size);
	CHECK(lax != NULL && json_object_is_type(lax, json_type_object));
	for (size_t end = json_tokener_get_parse_end(tok); end < size; end++)
		CHECK(text[end] == ' ' || text[end] == '\t' || text[end] == '\n' ||
		      text[end] == '\r');
	CHECK(json_object_equal(obj, lax));
	json_object_put(lax);
	json_tokener_free(tok);

	/* what json-c writes back is strict JSON the gate takes again */
	const char *out = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
	CHECK(out != NULL);
	struct json_object *again = NULL;
	size_t olen = strlen(out);
	CHECK(lf_json_parse_object(out, olen, &again) == LF_JSON_OK);
	CHECK(!lf_json_has_duplicate_members(out, olen));
	CHECK(json_object_equal(obj, again));
	json_object_put(again);
	json_object_put(obj);
}

static void check_append_string(const char *s, size_t size)
{
	struct evbuffer *b = evbuffer_new();
	CHECK(b != NULL);
	evbuffer_add(b, "{\"k\":", 5);
	lf_json_append_string(b, s, size);
	evbuffer_add(b, "}", 1);
	size_t n = evbuffer_get_length(b);
	const char *text = (const char *)evbuffer_pullup(b, -1);
	struct json_object *obj = NULL, *k = NULL;
	CHECK(lf_json_parse_object(text, n, &obj) == LF_JSON_OK);
	CHECK(json_object_object_get_ex(obj, "k", &k) && json_object_is_type(k, json_type_string));
	if (valid_utf8((const uint8_t *)s, size)) {
		CHECK((size_t)json_object_get_string_len(k) == size);
		CHECK(size == 0 || memcmp(json_object_get_string(k), s, size) == 0);
	}
	json_object_put(obj);
	evbuffer_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_parse((const char *)data, size);
	check_append_string((const char *)data, size);
	return 0;
}
