/*
 * events_util.h - what test_events and test_webhooks share: one page of
 * GET /api/events parsed (json-c), and the webhook signature recomputed
 * independently of the server (OpenSSL's HMAC).
 */
#ifndef LF_TEST_EVENTS_UTIL_H
#define LF_TEST_EVENTS_UTIL_H

#include <stdbool.h>
#include <stddef.h>

struct ev {
	char id[40], type[32], created[32];
	char object[40];       /* data.id */
	char from[40], to[40]; /* a payment's accounts ("" otherwise) */
	char status[16];       /* data.status of a payment */
};

/* Parse one event object's JSON text into e. */
bool ev_parse(const char *json, struct ev *e);
/* GET /api/events[?after=..&limit=..] with the current key: the events
 * into out (at most max), nextCursor into next. Returns their count, or
 * -1 when the answer is not a 200 page (its status into *status). */
int ev_page(unsigned port, const char *after, unsigned limit, struct ev *out, int max, char *next,
	    size_t nlen, int *status);
/* Every event from the beginning, following nextCursor (pages of 100). */
int ev_all(unsigned port, struct ev *out, int max);
/* "t=<t>,v1=<hex>" over body with secret, as a receiver checks it. */
bool ev_signature(const char *secret, const char *t, const char *body, size_t len, char *out,
		  size_t outlen);

#endif
