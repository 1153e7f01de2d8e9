/*
 * lf_json.h - strict request JSON: RFC 8259 parsing with json-c, rejecting
 * duplicated member names (I-JSON) at any depth (json.c); typed access to
 * request members (json_fields.c): absent and null are the same, a wrong
 * JSON type is reported, string lengths are counted in code points.
 */
#ifndef LF_JSON_H
#define LF_JSON_H

#include <stdbool.h>
#include <stddef.h>

struct json_object;

enum lf_json_verdict {
	LF_JSON_OK = 0,
	LF_JSON_INVALID, /* not JSON, bad UTF-8, trailing data, duplicate member name, too deep */
	LF_JSON_NOT_OBJECT, /* valid JSON whose top level is not an object */
};

/* Parse body[0..len) (not NUL-terminated). On LF_JSON_OK *out is an
 * object the caller releases with json_object_put(); on LF_JSON_NOT_OBJECT
 * nothing is returned. Depth is limited (32). */
enum lf_json_verdict lf_json_parse_object(const char *body, size_t len, struct json_object **out);

/* True if text[0..len) has a duplicated member name in some object. */
bool lf_json_has_duplicate_members(const char *text, size_t len);

/* Append a JSON string literal (quotes, RFC 8259 escapes) for s[0..len). */
struct evbuffer;
void lf_json_append_string(struct evbuffer *out, const char *s, size_t len);

/* ---- typed member access (json_fields.c) ---- */

enum lf_field_verdict { LF_FIELD_OK, LF_FIELD_ABSENT, LF_FIELD_WRONG_TYPE };

/* The member's value, NULL when absent or null. */
struct json_object *lf_field_get(struct json_object *obj, const char *name);
enum lf_field_verdict lf_field_string(struct json_object *obj, const char *name, const char **s,
				      size_t *len);
/* Number of code points in valid UTF-8 s[0..len). */
size_t lf_utf8_chars(const char *s, size_t len);

#endif
