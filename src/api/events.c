/*
 * api/events.c - the events of the outbox (doc/api.md, "Events"):
 *   GET /api/events?after=CURSOR&limit=N  the asking client's events (every
 *     client's for admin) in commit order, after the cursor; nextCursor is
 *     always there: the cursor to poll from next (the same one on an empty
 *     page);
 *   GET /api/events/{id}  one event (404 event_not_found).
 * The cursor is an event's seq in decimal (store/events.c): the order in
 * which events were numbered once committed, so a poller that follows
 * nextCursor never skips one that committed late. Before reading, the
 * listing numbers what has committed since the last call (a no-op when
 * nothing has). Both render an event as {"id","type","createdAt","data"},
 * data being the object's JSON stored with it (lf_event_render, which the
 * webhook deliveries send too).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "lf_api.h"
#include "lf_app.h"
#include "lf_config.h"
#include "lf_events.h"
#include "lf_handlers.h"
#include "lf_http.h"
#include "lf_render.h"
#include "lf_time.h"

#define EVENTS_DEFAULT_LIMIT 100
#define EVENTS_MAX_LIMIT 500
#define EVENTS_SEQUENCE_MAX 1000 /* events numbered per listing, at most */

void lf_event_render(struct evbuffer *out, const struct lf_event *e)
{
	char id[LF_UUID_STR_LEN + 1], at[LF_TIME_STR_LEN + 1];
	lf_uuid_format(&e->id, id);
	lf_time_format_ms(e->created_ms, at);
	evbuffer_add_printf(out,
			    "{\"id\":\"%s\",\"type\":\"%s\",\"createdAt\":\"%s\",\"data\":", id,
			    e->type, at);
	if (e->data_len > 0)
		evbuffer_add(out, e->data, e->data_len);
	else
		evbuffer_add(out, "null", 4);
	evbuffer_add(out, "}", 1);
}

/* A cursor: decimal digits, no sign or leading zero (but "0"), < 2^63. */
static bool parse_cursor(const char *s, uint64_t *out)
{
	size_t n = strlen(s);
	if (n == 0 || n > 19 || strspn(s, "0123456789") != n || (n > 1 && s[0] == '0'))
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	if (v > (uint64_t)INT64_MAX)
		return false;
	*out = v;
	return true;
}

/* ---- GET /api/events ---- */

struct listing {
	struct lf_req *r;
	struct lf_client who; /* a copy: the pool thread reads nothing of r */
	uint64_t after;
	unsigned limit;
	lf_rc rc;
	unsigned count;
	struct lf_event rows[]; /* limit of them */
};

static void listing_free(void *arg)
{
	struct listing *l = arg;
	for (unsigned i = 0; i < l->count; i++)
		lf_event_clear(&l->rows[i]);
	free(l);
}

static bool list_work(struct lf_store_conn *conn, void *arg)
{
	struct listing *l = arg;
	if (conn == NULL) {
		l->rc = LF_LOST;
		return true;
	}
	/* number what committed since; a failure here (logged) only delays
	 * the newest events to a later poll: read what is numbered */
	lf_rc rc = lf_store_sequence_events(conn, EVENTS_SEQUENCE_MAX);
	if (rc == LF_LOST) {
		l->rc = rc;
		return false;
	}
	l->rc = lf_store_list_events(conn, l->after, &l->who, l->rows, l->limit, &l->count);
	return l->rc != LF_LOST;
}

static void list_done(void *arg)
{
	struct listing *l = arg;
	struct lf_req *r = l->r;
	struct lf_body body = {0};
	struct evbuffer *b = l->rc == LF_OK ? evbuffer_new() : NULL;
	if (b != NULL) {
		evbuffer_add_printf(b, "{\"events\":[");
		for (unsigned i = 0; i < l->count; i++) {
			if (i)
				evbuffer_add(b, ",", 1);
			lf_event_render(b, &l->rows[i]);
		}
		uint64_t next = l->count > 0 ? l->rows[l->count - 1].seq : l->after;
		evbuffer_add_printf(b, "],\"nextCursor\":\"%" PRIu64 "\"}", next);
		(void)lf_render_body(&body, b); /* out of memory: a 500 */
		evbuffer_free(b);
	}
	lf_api_read_send(r, l->rc, &body, "not_found", "No such resource.");
	lf_req_release(r);
}

void lf_events_list(struct lf_req *r, const char *id)
{
	(void)id;
	uint64_t after = 0;
	unsigned limit = EVENTS_DEFAULT_LIMIT;
	struct evkeyvalq kv;
	if (evhttp_parse_query_str(r->query ? r->query : "", &kv) != 0) {
		lf_req_problem(r, 400, "invalid_request", "The query string is malformed.", NULL);
		return;
	}
	const char *a = evhttp_find_header(&kv, "after");
	const char *n = evhttp_find_header(&kv, "limit");
	const char *problem = NULL;
	if (a != NULL && !parse_cursor(a, &after))
		problem = "after must be a cursor this server issued (nextCursor).";
	else if (n != NULL && !lf_api_parse_limit(n, EVENTS_MAX_LIMIT, &limit))
		problem = "limit must be an integer from 1 to 500.";
	evhttp_clear_headers(&kv);
	if (problem != NULL) {
		lf_req_problem(r, 400, "invalid_request", problem, NULL);
		return;
	}
	struct listing *l = calloc(1, sizeof *l + limit * sizeof l->rows[0]);
	if (l == NULL) {
		lf_req_problem(r, 500, "internal_error", "Out of memory.", NULL);
		return;
	}
	r->state = l;
	r->free_state = listing_free;
	l->r = r;
	l->who = r->client;
	l->after = after;
	l->limit = limit;
	lf_req_arm_deadline(r, r->app->cfg->request_timeout_ms);
	/* on the primary: the listing numbers committed events first (a
	 * write), which a replica must never do */
	if (!lf_api_read_submit_primary(r, list_work, list_done, l)) {
		struct lf_body none = {0};
		lf_api_read_send(r, LF_LOST, &none, NULL, NULL); /* queue full or stopping: 503 */
	}
}

/* ---- GET /api/events/{id} ---- */

struct one {
	struct lf_req *r;
	struct lf_client who;
	lf_uuid id;
	lf_rc rc;
	struct lf_event ev;
};

static void one_free(void *arg)
{
	struct one *o = arg;
	lf_event_clear(&o->ev);
	free(o);
}

static bool one_work(struct lf_store_conn *conn, void *arg)
{
	struct one *o = arg;
	if (conn == NULL) {
		o->rc = LF_LOST;
		return true;
	}
	o->rc = lf_store_get_event(conn, &o->id, &o->who, &o->ev);
	return o->rc != LF_LOST;
}

static void one_done(void *arg)
{
	struct one *o = arg;
	struct lf_body body = {0};
	struct evbuffer *b = o->rc == LF_OK ? evbuffer_new() : NULL;
	if (b != NULL) {
		lf_event_render(b, &o->ev);
		(void)lf_render_body(&body, b);
		evbuffer_free(b);
	}
	lf_api_read_send(o->r, o->rc, &body, "event_not_found", "No event has this id.");
	lf_req_release(o->r);
}

void lf_events_get(struct lf_req *r, const char *id)
{
	lf_uuid ev;
	if (!lf_uuid_parse(id, strlen(id), &ev)) {
		lf_req_problem(r, 400, "invalid_id", "The event id is not a UUID.", NULL);
		return;
	}
	struct one *o = calloc(1, sizeof *o);
	if (o == NULL) {
		lf_req_problem(r, 500, "internal_error", "Out of memory.", NULL);
		return;
	}
	r->state = o;
	r->free_state = one_free;
	o->r = r;
	o->who = r->client;
	o->id = ev;
	lf_req_arm_deadline(r, r->app->cfg->request_timeout_ms);
	if (!lf_api_read_submit(r, one_work, one_done, o)) {
		struct lf_body none = {0};
		lf_api_read_send(r, LF_LOST, &none, NULL, NULL);
	}
}
