/*
 * api/reads.c - what every GET of the API shares (lf_api.h): queueing a
 * read on the pool (it may run again on a fresh connection: a read changes
 * nothing), turning its result into the answer (200, 404, 503 when the
 * database cannot be reached, 500 when it fails the query otherwise), and
 * the whole GET-by-id path, which a resource describes with a small table
 * (lf_api_read_spec). Reads are always scoped to the asking client: the
 * store returns someone else's row exactly as it returns a missing one.
 * A resource with fetch_many is read in batches: the GETs waiting for the
 * pool when a thread frees up are answered from one query.
 * An account read routed to the primary goes first to the event loop's
 * own connection (lf_loopread.h), batched the same way; when it has none,
 * or its query fails, the read takes the pool path above.
 * Every read goes to the read replica ([mysql_replica]) while its last lag
 * check found it usable, unless the request says ?consistency=strong; a
 * read the replica cannot take falls back to the primary (lf_replica.h).
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "lf_api.h"
#include "lf_app.h"
#include "lf_config.h"
#include "lf_dbpool.h"
#include "lf_decision.h"
#include "lf_http.h"
#include "lf_loopread.h"
#include "lf_replica.h"
#include "lf_time.h"

/* ?consistency=strong: read on the primary whatever the replica's state */
static bool wants_strong(const struct lf_req *r)
{
	if (r->query == NULL || strstr(r->query, "consistency") == NULL)
		return false;
	struct evkeyvalq kv;
	if (evhttp_parse_query_str(r->query, &kv) != 0)
		return true; /* the handler answers 400 on its own */
	const char *v = evhttp_find_header(&kv, "consistency");
	bool strong = v != NULL && strcmp(v, "strong") == 0;
	evhttp_clear_headers(&kv);
	return strong;
}

struct lf_dbpool *lf_api_read_pool(struct lf_req *r)
{
	struct lf_app *app = r->app;
	if (lf_replica_usable(app->replica) && !wants_strong(r))
		return lf_replica_pool(app->replica);
	return app->db;
}

static bool submit_on(struct lf_req *r, struct lf_dbpool *pool, lf_db_work_fn work,
		      lf_db_done_fn done, void *arg)
{
	const struct lf_config *cfg = r->app->cfg;
	int64_t deadline = lf_time_monotonic_ms() + cfg->mysql_request_timeout_ms;
	lf_req_hold(r);
	if (lf_dbpool_submit_rerun(pool, work, done, arg, deadline) == LF_OK)
		return true;
	lf_req_release(r);
	return false;
}

bool lf_api_read_submit(struct lf_req *r, lf_db_work_fn work, lf_db_done_fn done, void *arg)
{
	return submit_on(r, lf_api_read_pool(r), work, done, arg);
}

bool lf_api_read_submit_primary(struct lf_req *r, lf_db_work_fn work, lf_db_done_fn done, void *arg)
{
	return submit_on(r, r->app->db, work, done, arg);
}

bool lf_api_parse_limit(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;
	if (*s < '1' || *s > '9')
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > max)
			return false;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

void lf_api_read_send(struct lf_req *r, lf_rc rc, struct lf_body *body, const char *code,
		      const char *detail)
{
	struct lf_decision d = {0};
	if (rc == LF_OK && body->data != NULL)
		lf_decision_reply(&d, 200, body);
	else if (rc == LF_OK)
		lf_decision_internal(&d); /* out of memory */
	else if (rc == LF_DECLINED)
		lf_decision_problem(&d, 404, code, detail, NULL);
	else
		lf_decision_failed(&d, rc); /* a read: nothing was changed */
	lf_body_clear(body);
	lf_decision_send(r, &d);
	lf_decision_clear(&d);
}

/* ---- GET by id ---- */

struct by_id {
	struct lf_req *r;
	const struct lf_api_read_spec *spec;
	lf_uuid id;
	struct lf_client who; /* a copy: the pool thread reads nothing of r */
	lf_rc rc;
	int64_t deadline_ms;                       /* for the database: [mysql] request_timeout */
	_Alignas(max_align_t) unsigned char row[]; /* spec->row_size bytes */
};

static bool by_id_work(struct lf_store_conn *c, void *arg)
{
	struct by_id *g = arg;
	if (c == NULL) {
		g->rc = LF_LOST;
		return true;
	}
	g->rc = g->spec->fetch(c, &g->id, &g->who, g->row);
	return g->rc != LF_LOST;
}

bool lf_api_by_id_batch_work(struct lf_store_conn *c, void **args, int n)
{
	struct by_id *g0 = args[0];
	const struct lf_api_read_spec *spec = g0->spec;
	if (c == NULL || n == 1) {
		for (int i = 0; i < n; i++)
			(void)by_id_work(c, args[i]);
		return c == NULL || ((struct by_id *)args[0])->rc != LF_LOST;
	}
	lf_uuid *ids = malloc((size_t)n * sizeof *ids);
	struct lf_client *who = malloc((size_t)n * sizeof *who);
	lf_rc *rcs = malloc((size_t)n * sizeof *rcs);
	unsigned char *rows = calloc((size_t)n, spec->row_size);
	lf_rc rc = LF_ERROR;
	if (ids != NULL && who != NULL && rcs != NULL && rows != NULL) {
		for (int i = 0; i < n; i++) {
			struct by_id *g = args[i];
			ids[i] = g->id;
			who[i] = g->who;
		}
		rc = spec->fetch_many(c, n, ids, who, rows, rcs);
	}
	for (int i = 0; i < n; i++) {
		struct by_id *g = args[i];
		g->rc = rc == LF_OK ? rcs[i] : rc;
		if (g->rc == LF_OK)
			memcpy(g->row, rows + (size_t)i * spec->row_size, spec->row_size);
		else if (rows != NULL && spec->clear != NULL)
			spec->clear(rows + (size_t)i * spec->row_size);
	}
	free(ids);
	free(who);
	free(rcs);
	free(rows);
	return rc != LF_LOST;
}

static void by_id_done(void *arg)
{
	struct by_id *g = arg;
	struct lf_body body = {0};
	if (g->rc == LF_OK)
		(void)g->spec->render(&body, g->row);
	lf_api_read_send(g->r, g->rc, &body, g->spec->not_found_code, g->spec->not_found_detail);
	lf_req_release(g->r);
}

static void by_id_free(void *state)
{
	struct by_id *g = state;
	if (g->spec->clear != NULL)
		g->spec->clear(g->row);
	free(g);
}

static void by_id_pool(struct by_id *g);

/* The loop's answer: LF_AGAIN (its query failed, logged) takes the pool
 * path with what is left of the deadline; anything else is the answer. */
static void by_id_loop_done(void *arg, lf_rc rc)
{
	struct by_id *g = arg;
	struct lf_req *r = g->r;
	if (rc == LF_AGAIN) {
		by_id_pool(g);
		lf_req_release(r); /* the pool path holds it on its own */
		return;
	}
	g->rc = rc;
	by_id_done(g);
}

void lf_api_get_by_id(struct lf_req *r, const char *id, const struct lf_api_read_spec *spec)
{
	struct by_id *g = calloc(1, sizeof *g + spec->row_size);
	if (g == NULL) {
		lf_req_problem(r, 500, "internal_error", "Out of memory.", NULL);
		return;
	}
	r->state = g;
	r->free_state = by_id_free;
	g->r = r;
	g->spec = spec;
	g->who = r->client;
	if (!lf_uuid_parse(id, strlen(id), &g->id)) {
		lf_req_problem(r, 400, "invalid_id", spec->invalid_id_detail, NULL);
		return;
	}
	lf_req_arm_deadline(r, r->app->cfg->request_timeout_ms);
	g->deadline_ms = lf_time_monotonic_ms() + r->app->cfg->mysql_request_timeout_ms;
	if (spec->loop_account && r->app->loopread != NULL && lf_api_read_pool(r) == r->app->db) {
		lf_req_hold(r);
		if (lf_loopread_account(r->app->loopread, &g->id, &g->who,
					(struct lf_account *)g->row, g->deadline_ms,
					by_id_loop_done, g))
			return;
		lf_req_release(r);
	}
	by_id_pool(g);
}

/* The pool path: the read batched with the others waiting for a thread
 * (spec->batch), else alone. */
static void by_id_pool(struct by_id *g)
{
	struct lf_req *r = g->r;
	const struct lf_api_read_spec *spec = g->spec;
	if (spec->batch != NULL) {
		lf_req_hold(r);
		if (lf_dbpool_submit_batch(lf_api_read_pool(r), spec->batch, by_id_done, g,
					   g->deadline_ms) == LF_OK)
			return;
		lf_req_release(r);
		struct lf_body none = {0};
		lf_api_read_send(r, LF_LOST, &none, NULL, NULL); /* full or stopping */
		return;
	}
	if (!lf_api_read_submit(r, by_id_work, by_id_done, g)) {
		struct lf_body none = {0};
		lf_api_read_send(r, LF_LOST, &none, NULL, NULL); /* the pool is stopping */
	}
}
