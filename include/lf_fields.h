/*
 * lf_fields.h - typed access to request body members: absent and null are
 * the same, a wrong JSON type is reported, string lengths are counted in
 * characters (code points), not bytes.
 */
#ifndef LF_FIELDS_H
#define LF_FIELDS_H

#include <stdbool.h>
#include <stddef.h>

struct json_object;

enum lf_field_rc { LF_FIELD_OK, LF_FIELD_ABSENT, LF_FIELD_WRONG_TYPE };

/* The member's value, NULL when absent or null. */
struct json_object *lf_field_get(struct json_object *obj, const char *name);
enum lf_field_rc lf_field_string(struct json_object *obj, const char *name, const char **s,
				 size_t *len);
/* Number of code points in valid UTF-8 s[0..len). */
size_t lf_utf8_chars(const char *s, size_t len);

#endif
