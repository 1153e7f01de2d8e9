/*
 * events_util.c - see events_util.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "events_util.h"
#include "harness.h"

static void copy_str(struct json_object *o, const char *name, char *buf, size_t len)
{
	struct json_object *v;
	buf[0] = '\0';
	if (o != NULL && json_object_object_get_ex(o, name, &v) &&
	    json_object_is_type(v, json_type_string))
		snprintf(buf, len, "%s", json_object_get_string(v));
}

static void ev_from(struct json_object *o, struct ev *e)
{
	memset(e, 0, sizeof *e);
	copy_str(o, "id", e->id, sizeof e->id);
	copy_str(o, "type", e->type, sizeof e->type);
	copy_str(o, "createdAt", e->created, sizeof e->created);
	struct json_object *d = NULL;
	json_object_object_get_ex(o, "data", &d);
	copy_str(d, "id", e->object, sizeof e->object);
	copy_str(d, "fromAccountId", e->from, sizeof e->from);
	copy_str(d, "toAccountId", e->to, sizeof e->to);
	copy_str(d, "status", e->status, sizeof e->status);
}

bool ev_parse(const char *json, struct ev *e)
{
	struct json_object *o = json_tokener_parse(json);
	if (o == NULL)
		return false;
	ev_from(o, e);
	json_object_put(o);
	return e->id[0] != '\0' && e->type[0] != '\0' && e->object[0] != '\0';
}

int ev_page(unsigned port, const char *after, unsigned limit, struct ev *out, int max, char *next,
	    size_t nlen, int *status)
{
	char path[200];
	int n = snprintf(path, sizeof path, "/api/events");
	const char *sep = "?";
	if (after != NULL && after[0] != '\0') {
		n += snprintf(path + n, sizeof path - (size_t)n, "%safter=%s", sep, after);
		sep = "&";
	}
	if (limit > 0)
		snprintf(path + n, sizeof path - (size_t)n, "%slimit=%u", sep, limit);
	struct lf_h_resp r;
	int rc = lf_h_http(port, "GET", path, NULL, NULL, &r);
	*status = rc == 0 ? r.status : -1;
	if (rc != 0 || r.status != 200) {
		lf_h_resp_free(&r);
		return -1;
	}
	struct json_object *root = json_tokener_parse(r.body), *arr, *cur;
	lf_h_resp_free(&r);
	int count = -1;
	if (root != NULL && json_object_object_get_ex(root, "events", &arr) &&
	    json_object_is_type(arr, json_type_array) &&
	    json_object_object_get_ex(root, "nextCursor", &cur) &&
	    json_object_is_type(cur, json_type_string)) {
		snprintf(next, nlen, "%s", json_object_get_string(cur));
		size_t k = json_object_array_length(arr);
		count = 0;
		for (size_t i = 0; i < k && count < max; i++)
			ev_from(json_object_array_get_idx(arr, i), &out[count++]);
		if (k > (size_t)max)
			count = -1;
	}
	json_object_put(root);
	return count;
}

int ev_all(unsigned port, struct ev *out, int max)
{
	char cursor[40] = "", next[40];
	int total = 0, status;
	for (int pages = 0; pages < 10000; pages++) {
		int n = ev_page(port, cursor, 100, out + total, max - total, next, sizeof next,
				&status);
		if (n < 0)
			return -1;
		total += n;
		if (n == 0)
			return total;
		snprintf(cursor, sizeof cursor, "%s", next);
	}
	return -1;
}

bool ev_signature(const char *secret, const char *t, const char *body, size_t len, char *out,
		  size_t outlen)
{
	size_t tl = strlen(t);
	unsigned char *msg = malloc(tl + 1 + len), mac[EVP_MAX_MD_SIZE];
	unsigned maclen = 0;
	if (msg == NULL)
		return false;
	memcpy(msg, t, tl);
	msg[tl] = '.';
	memcpy(msg + tl + 1, body, len);
	bool ok = HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, tl + 1 + len, mac,
		       &maclen) != NULL;
	free(msg);
	if (!ok || outlen < 2 * maclen + strlen(t) + 8)
		return false;
	int n = snprintf(out, outlen, "t=%s,v1=", t);
	for (unsigned i = 0; i < maclen; i++)
		n += snprintf(out + n, outlen - (size_t)n, "%02x", mac[i]);
	return true;
}
