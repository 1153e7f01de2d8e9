/*
 * lf_json.h - strict request JSON: RFC 8259 parsing with json-c, rejecting
 * duplicated member names (I-JSON) at any depth, plus typed field access.
 */
#ifndef LF_JSON_H
#define LF_JSON_H

#include <stdbool.h>
#include <stddef.h>

struct json_object;

enum lf_json_err {
	LF_JSON_OK = 0,
	LF_JSON_INVALID, /* not JSON, bad UTF-8, trailing data, duplicate member name, too deep */
	LF_JSON_NOT_OBJECT, /* valid JSON whose top level is not an object */
};

/* Parse body[0..len) (not NUL-terminated). On LF_JSON_OK *out is an
 * object the caller releases with json_object_put(); on LF_JSON_NOT_OBJECT
 * nothing is returned. Depth is limited (32). */
enum lf_json_err lf_json_parse_object(const char *body, size_t len, struct json_object **out);

/* True if text[0..len) has a duplicated member name in some object. */
bool lf_json_has_duplicate_members(const char *text, size_t len);

/* Append a JSON string literal (quotes, RFC 8259 escapes) for s[0..len). */
struct evbuffer;
void lf_json_append_string(struct evbuffer *out, const char *s, size_t len);

#endif
