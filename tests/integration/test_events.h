/*
 * test_events.h - what test_events.c (main, the shared helpers) and
 * test_events_kinds.c (every kind of change, each once) share.
 */
#ifndef LF_TEST_EVENTS_H
#define LF_TEST_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "events_util.h"
#include "harness.h"

/* another client with events:read; an admin account with 1000.00 USD */
extern char te_key_y[128], te_funded[37];

/* GET path with the current key: its status (-1: no answer). */
int te_get(const char *path, struct lf_h_resp *r);
/* POST path with a fresh Idempotency-Key and a body: its status; a 2xx
 * body's "id" into id (may be NULL), the whole body into keep (may be NULL). */
int te_post(const char *path, const char *body, char id[37], char *keep, size_t klen);
/* The events the current key sees, from the beginning. */
int te_all_events(struct ev *out, int max);
/* The data of the first event of type for object, as text; false if none. */
bool te_event_data(const char *type, const char *object, char *out, size_t len);

void test_every_kind(void);

#endif
