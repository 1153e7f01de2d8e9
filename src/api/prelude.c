/*
 * api/prelude.c - the prelude every POST that decides something once
 * shares (lf_api.h): the Idempotency-Key header, then the JSON object
 * body, each with its 400, in the contract's order (the key first, then
 * the body; the handler's own field checks follow), whole or in its two
 * halves.
 */
#include "config.h"

#include <stdio.h>

#include <json-c/json.h>

#include "lf_api.h"
#include "lf_http.h"
#include "lf_json.h"

bool lf_api_prelude_key(struct lf_req *r, enum lf_api_key_rule rule, const char *what,
			struct lf_api_key *key)
{
	key->present = false;
	key->len = 0;
	key->text[0] = '\0';
	const char *hdr = lf_req_header(r, "Idempotency-Key");
	if (hdr != NULL || rule == LF_API_KEY_REQUIRED) {
		enum lf_idem_key_verdict v = lf_idem_key_parse(hdr, key->text, &key->len);
		if (v == LF_IDEM_KEY_MISSING) {
			char detail[128];
			snprintf(detail, sizeof detail, "%s requires an Idempotency-Key header.",
				 what);
			lf_req_problem(r, 400, "idempotency_key_missing", detail, NULL);
			return false;
		}
		if (v != LF_IDEM_KEY_OK) {
			lf_req_problem(r, 400, "idempotency_key_invalid",
				       "An Idempotency-Key is 1 to 255 printable ASCII characters.",
				       NULL);
			return false;
		}
		key->present = true;
	}
	return true;
}

bool lf_api_prelude_body(struct lf_req *r, struct json_object **obj)
{
	*obj = NULL;
	size_t blen;
	const char *body = lf_req_body(r, &blen);
	enum lf_json_verdict v = lf_json_parse_object(body, blen, obj);
	if (v == LF_JSON_INVALID) {
		lf_req_problem(r, 400, "invalid_json",
			       "The body is not valid JSON (or repeats a member name).", NULL);
		return false;
	}
	if (v != LF_JSON_OK) {
		lf_req_problem(r, 400, "invalid_request", "The body must be a JSON object.", NULL);
		return false;
	}
	return true;
}

bool lf_api_prelude(struct lf_req *r, enum lf_api_key_rule rule, const char *what,
		    struct lf_api_key *key, struct json_object **obj)
{
	*obj = NULL;
	return lf_api_prelude_key(r, rule, what, key) && lf_api_prelude_body(r, obj);
}
