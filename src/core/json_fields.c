/*
 * core/json_fields.c - request body member access (lf_fields.h).
 */
#include "config.h"

#include <json-c/json.h>

#include "lf_json.h"

struct json_object *lf_field_get(struct json_object *obj, const char *name)
{
	struct json_object *v = NULL;
	if (!json_object_object_get_ex(obj, name, &v))
		return NULL;
	return v; /* a JSON null is a NULL object in json-c */
}

enum lf_field_verdict lf_field_string(struct json_object *obj, const char *name, const char **s,
				      size_t *len)
{
	struct json_object *v = lf_field_get(obj, name);
	if (v == NULL)
		return LF_FIELD_ABSENT;
	if (!json_object_is_type(v, json_type_string))
		return LF_FIELD_WRONG_TYPE;
	*s = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	return LF_FIELD_OK;
}

size_t lf_utf8_chars(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}
