/*
 * api/account_create.c - POST /api/accounts: an optional Idempotency-Key
 * and the JSON prelude (lf_api.h), the fields' 400s, then one CALL of
 * lf_create_account that claims the key, inserts the account and its
 * opening entry and stores the 201, settled through the key when its
 * result is lost.
 */
#include "config.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lf_api.h"
#include "lf_auth.h"
#include "lf_app.h"
#include "lf_config.h"
#include "lf_dbpool.h"
#include "lf_decision.h"
#include "lf_handlers.h"
#include "lf_http.h"
#include "lf_idempotency.h"
#include "lf_json.h"
#include "lf_metrics.h"
#include "lf_money.h"
#include "lf_render.h"
#include "lf_time.h"
#include "lf_zone.h"

/* ---- POST /api/accounts ---- */

/*
 * An account creation is a state machine like a payment's (see
 * payments_int.h); every change goes through create_enter():
 *
 *   PARSE  -> CLAIM | DECIDE | FINISH   (with a key; without one; a 400)
 *   CLAIM  -> DECIDE | FINISH           (tiers 1 and 2: miss, or hit / 409)
 *   DECIDE -> SETTLE | FINISH           (pool: the CALL; outcome unknown, with a key)
 *   SETTLE -> SETTLE | DECIDE | FINISH  (pool: ask the key; none: decide again)
 *   FINISH                              (loop: tiers, counters, the reply)
 *
 * Without a key an unknown outcome cannot be settled: the answer says so
 * (503, the account may exist) and never "nothing was changed".
 *
 * Unknown is a lost connection, and also any error after the CALL other
 * than a deadlock or lock wait (LF_AGAIN, retried): with a key, the key
 * settles it; a key without an outcome after an error reply then means
 * nothing committed (500). Without a key it stays unknown (503): an error
 * reply may follow the procedure's COMMIT.
 */
enum create_state { CR_PARSE, CR_CLAIM, CR_DECIDE, CR_SETTLE, CR_FINISH };

#define CR_SETTLE_ATTEMPTS 3

struct create {
	struct lf_req *r;
	enum create_state state;
	struct lf_idem idem;
	struct lf_create_account_req req;
	struct lf_api_key key;
	char name[201 * 4 + 1];
	char currency[4];
	char location[64];
	char *metadata;      /* canonical text (malloc'd); NULL: none */
	struct lf_body body; /* the 201 body, stored with the key by the CALL */
	enum lf_create_result result;
	struct lf_stored stored;
	bool replay; /* the 422's record found an outcome under the key */
	int max_retries;
	unsigned retries;
	int settles;
	bool after_error; /* unknown after an error reply, not a lost connection */
	struct lf_decision d;
};

/* clang-format off */
static const bool create_allowed[CR_FINISH + 1][CR_FINISH + 1] = {
	[CR_PARSE]  = {[CR_CLAIM] = true, [CR_DECIDE] = true, [CR_FINISH] = true},
	[CR_CLAIM]  = {[CR_DECIDE] = true, [CR_FINISH] = true},
	[CR_DECIDE] = {[CR_SETTLE] = true, [CR_FINISH] = true},
	[CR_SETTLE] = {[CR_SETTLE] = true, [CR_DECIDE] = true, [CR_FINISH] = true},
	[CR_FINISH] = {0},
};
/* clang-format on */

static void create_enter(struct create *c, enum create_state next)
{
	assert(c->state <= CR_FINISH && next <= CR_FINISH);
	assert(create_allowed[c->state][next]);
	c->state = next;
}

/* The CALL may have committed and its result was lost. With a key, the
 * key decides (SETTLE); without one, say that the outcome is unknown. */
static void create_unknown(struct create *c)
{
	if (c->key.present) {
		lf_decision_unknown(&c->d, NULL);
		create_enter(c, CR_SETTLE);
		return;
	}
	char id[LF_UUID_STR_LEN + 1], detail[320];
	lf_uuid_format(&c->req.id, id);
	snprintf(detail, sizeof detail,
		 "The database connection was lost before the outcome could be confirmed: the "
		 "account %s may have been created. GET /api/accounts/%s tells whether it was.",
		 id, id);
	lf_decision_unknown(&c->d, detail);
}

static void create_free(void *state)
{
	struct create *c = state;
	lf_decision_clear(&c->d);
	lf_body_clear(&c->body);
	lf_stored_clear(&c->stored);
	free(c->metadata);
	free(c);
}

static lf_rc create_attempt(struct lf_store_conn *conn, void *arg)
{
	struct create *c = arg;
	lf_stored_clear(&c->stored);
	return lf_store_create_account(conn, &c->req, &c->result, &c->stored);
}

static lf_rc record_attempt(struct lf_store_conn *conn, void *arg)
{
	struct create *c = arg;
	lf_stored_clear(&c->stored);
	return lf_store_record_outcome(conn, c->req.client_id, c->key.text, c->key.len,
				       c->req.fingerprint, 422, NULL, c->d.body.data, c->d.body.len,
				       c->req.created_ms, c->req.expires_ms, &c->replay,
				       &c->stored);
}

/* The opening balance would take the issuance account's balance past
 * int64 (the CALL wrote nothing): a decided 422, recorded with the key
 * like a payment's 422 so a retry gets the same answer. Returns false
 * when the connection broke. */
static bool create_too_large(struct lf_store_conn *conn, struct create *c)
{
	lf_decision_problem(&c->d, 422, "amount_too_large",
			    "The initialBalance would take the currency's issuance account past "
			    "the largest amount the ledger can hold.",
			    NULL);
	if (!c->key.present)
		return true;
	c->replay = false;
	lf_rc rc = lf_api_retry(record_attempt, conn, c, c->max_retries, &c->retries);
	if (rc == LF_OK && c->replay)
		lf_decision_from_stored(&c->d, &c->stored, c->req.fingerprint);
	else if (rc == LF_OK)
		c->d.storable = true;
	else if (rc == LF_LOST || rc == LF_ERROR) {
		c->after_error = rc == LF_ERROR; /* the key settles it */
		create_unknown(c);
	} else
		lf_decision_failed(&c->d, rc);
	return rc != LF_LOST;
}

/* DECIDE, on a pool thread: the CALL, retried on deadlocks, and what its
 * result means. */
static bool create_decide(struct lf_store_conn *conn, struct create *c)
{
	if (conn == NULL) {
		lf_decision_unavailable(&c->d); /* nothing was sent */
		return true;
	}
	lf_rc rc = lf_api_retry(create_attempt, conn, c, c->max_retries, &c->retries);
	if (rc == LF_ERROR) {
		/* the error may have come after the procedure's COMMIT */
		c->after_error = c->key.present;
		create_unknown(c);
		return true;
	}
	if (rc == LF_OK && c->result == LF_CREATE_AMOUNT_TOO_LARGE) {
		lf_stored_clear(&c->stored);
		return create_too_large(conn, c);
	}
	if (rc == LF_LOST)
		create_unknown(c);
	else if (rc != LF_OK)
		lf_decision_failed(&c->d, rc); /* rolled back */
	else if (c->result == LF_CREATE_CREATED)
		lf_decision_fresh(&c->d, 201, &c->body, c->location);
	else if (c->result == LF_CREATE_EXISTS)
		lf_decision_problem(&c->d, 409, "account_exists",
				    "An account with this id already exists.", NULL);
	else
		lf_decision_from_stored(&c->d, &c->stored, c->req.fingerprint);
	lf_stored_clear(&c->stored);
	return rc != LF_LOST;
}

/* SETTLE, on a pool thread: the key's stored outcome, else decide again
 * (the CALL claims the key first, so a transaction of ours still alive in
 * the server makes it wait, then replay). */
static bool create_settle(struct lf_store_conn *conn, struct create *c)
{
	if (conn == NULL) {
		create_unknown(c);
		return true;
	}
	lf_rc rc =
		lf_store_get_outcome(conn, c->req.client_id, c->key.text, c->key.len, &c->stored);
	if (rc != LF_OK) {
		create_unknown(c);
	} else if (c->stored.found) {
		lf_decision_from_stored(&c->d, &c->stored, c->req.fingerprint);
	} else if (c->after_error) {
		/* the CALL ended with an error and its key has no outcome:
		 * nothing committed (the key is written in the same
		 * transaction); deciding again would fail the same way */
		lf_decision_internal(&c->d);
	} else {
		lf_decision_clear(&c->d);
		create_enter(c, CR_DECIDE);
		lf_stored_clear(&c->stored);
		return create_decide(conn, c);
	}
	lf_stored_clear(&c->stored);
	return rc != LF_LOST;
}

static bool create_work(struct lf_store_conn *conn, void *arg)
{
	struct create *c = arg;
	if (c->state == CR_SETTLE)
		return create_settle(conn, c);
	assert(c->state == CR_DECIDE);
	return create_decide(conn, c);
}

/* FINISH, on the loop. tiers: the request went past the tiers. */
static void create_finish(struct create *c, bool tiers)
{
	struct lf_metrics *m = c->r->app->zone->metrics;
	create_enter(c, CR_FINISH);
	if (c->d.kind == LF_DEC_REPLY && c->d.replayed)
		lf_metrics_inc(&m->idem_hit_db);
	else if (c->d.kind == LF_DEC_REPLY && c->d.storable && c->d.status == 201)
		lf_metrics_inc(&m->accounts_created);
	lf_metrics_add(&m->db_retries, c->retries);
	c->retries = 0;
	if (tiers && c->key.present)
		lf_idempotency_finish(c->r, &c->idem, &c->d);
	lf_decision_send(c->r, &c->d);
}

static void create_done(void *arg);

/* With a key the job may run again on a fresh connection (it settles
 * through the key before it writes again); without one it may not (a
 * lost commit would turn into 409 account_exists). */
static bool create_submit(struct create *c)
{
	struct lf_req *r = c->r;
	int64_t deadline = lf_time_monotonic_ms() + r->app->cfg->mysql_request_timeout_ms;
	lf_req_hold(r);
	lf_rc rc =
		c->key.present
			? lf_dbpool_submit_rerun(r->app->db, create_work, create_done, c, deadline)
			: lf_dbpool_submit(r->app->db, create_work, create_done, c, deadline);
	if (rc == LF_OK)
		return true;
	lf_req_release(r);
	return false;
}

static void create_done(void *arg)
{
	struct create *c = arg;
	struct lf_req *r = c->r;
	if (c->d.kind == LF_DEC_UNKNOWN && !c->after_error)
		lf_metrics_inc(&r->app->zone->metrics->db_conn_lost);
	if (c->state == CR_SETTLE && c->d.kind == LF_DEC_UNKNOWN && !r->replied &&
	    c->settles < CR_SETTLE_ATTEMPTS) {
		c->settles++;
		if (create_submit(c)) {
			lf_req_release(r);
			return;
		}
	}
	create_finish(c, true);
	lf_req_release(r);
}

/* CLAIM is over (or there was no key): a tier answered, or the database
 * decides. */
static void create_claimed(struct lf_req *r, bool decided)
{
	struct create *c = r->state;
	if (decided) {
		create_finish(c, false);
		return;
	}
	create_enter(c, CR_DECIDE);
	if (!create_submit(c)) {
		/* the job queue is full or the pool is stopping: nothing sent */
		lf_decision_unavailable(&c->d);
		create_finish(c, true);
	}
}

/* PARSE: the prelude (an optional key, the JSON object), then every
 * field's 400 in the contract's order, and the fingerprint. Returns false
 * after replying. */
static bool parse_create(struct lf_req *r, struct create *c)
{
	struct json_object *obj = NULL;
	if (!lf_api_prelude(r, LF_API_KEY_OPTIONAL, "POST /api/accounts", &c->key, &obj))
		return false;
	bool ok = false;
	const char *name = NULL, *cur = NULL, *id_s = NULL, *bal_s = NULL;
	size_t name_n = 0, cur_n = 0, id_n = 0, bal_n = 0;
	char ibuf[24];
	enum lf_field_verdict nrc = lf_field_string(obj, "name", &name, &name_n);
	enum lf_field_verdict crc = lf_field_string(obj, "currency", &cur, &cur_n);
	enum lf_field_verdict irc = lf_field_string(obj, "id", &id_s, &id_n);
	struct json_object *bal = lf_field_get(obj, "initialBalance");
	enum lf_field_verdict mrc = lf_api_metadata_parse(obj, &c->metadata);
	const struct lf_currency *currency = NULL;
	int64_t initial = 0;
	if (nrc == LF_FIELD_ABSENT || crc == LF_FIELD_ABSENT) {
		lf_req_problem(r, 400, "invalid_request", "name and currency are required.", NULL);
	} else if (nrc != LF_FIELD_OK || crc != LF_FIELD_OK || irc == LF_FIELD_WRONG_TYPE) {
		lf_req_problem(r, 400, "invalid_request", "id, name and currency must be strings.",
			       NULL);
	} else if (bal != NULL && !lf_money_json_text(bal, ibuf, &bal_s, &bal_n)) {
		lf_req_problem(r, 400, "invalid_amount",
			       "initialBalance must be a JSON number or a decimal string.", NULL);
	} else if (irc == LF_FIELD_OK && !lf_uuid_parse(id_s, id_n, &c->req.id)) {
		lf_req_problem(r, 400, "invalid_request", "id must be a UUID.", NULL);
	} else if (cur_n != 3 || (currency = lf_currency_find(cur)) == NULL) {
		lf_req_problem(r, 400, "invalid_request",
			       "currency must be an upper-case active ISO 4217 code.", NULL);
	} else if (name_n == 0 || lf_utf8_chars(name, name_n) > 200 || name_n >= sizeof c->name ||
		   memchr(name, '\0', name_n) != NULL) {
		lf_req_problem(r, 400, "invalid_request", "name is 1 to 200 characters.", NULL);
	} else if (bal != NULL && lf_money_parse(bal_s, bal_n, currency->exponent, true,
						 &initial) != LF_MONEY_OK) {
		lf_req_problem(r, 400, "invalid_amount",
			       "initialBalance must be a decimal >= 0 with at most the currency's "
			       "minor digits.",
			       NULL);
	} else if (mrc == LF_FIELD_WRONG_TYPE) {
		lf_req_problem(r, 400, "invalid_request",
			       "metadata is an object of at most 20 string values, keys of 1 to 40 "
			       "and values of at most 500 characters.",
			       NULL);
	} else {
		memcpy(c->name, name, name_n);
		c->name[name_n] = '\0';
		memcpy(c->currency, cur, 4);
		c->req.initial_balance = initial;
		if (irc != LF_FIELD_OK)
			lf_uuid_v7(&c->req.id);

		struct lf_fp fp;
		char idtext[LF_UUID_STR_LEN + 1], canon[64];
		lf_fp_begin(&fp, "POST", "/api/accounts");
		if (irc == LF_FIELD_OK) {
			lf_uuid_format(&c->req.id, idtext);
			lf_fp_field(&fp, "id", idtext, LF_UUID_STR_LEN);
		} else {
			lf_fp_null(&fp, "id");
		}
		lf_fp_field(&fp, "name", c->name, name_n);
		lf_fp_field(&fp, "currency", c->currency, 3);
		snprintf(canon, sizeof canon, "%" PRId64, initial);
		lf_fp_field(&fp, "initialBalance", canon, strlen(canon));
		/* only when given: a v1 request's fingerprint is unchanged */
		if (c->metadata != NULL)
			lf_fp_field(&fp, "metadata", c->metadata, strlen(c->metadata));
		lf_fp_end(&fp, c->req.fingerprint);
		ok = true;
	}
	if (ok && c->key.present) {
		c->req.idem_key = c->key.text;
		c->req.idem_key_len = c->key.len;
	}
	json_object_put(obj);
	return ok;
}

void lf_accounts_create(struct lf_req *r, const char *id)
{
	(void)id;
	struct create *c = calloc(1, sizeof *c);
	if (c == NULL) {
		lf_req_problem(r, 500, "internal_error", "Out of memory.", NULL);
		return;
	}
	r->state = c;
	r->free_state = create_free;
	c->r = r;
	c->state = CR_PARSE;
	if (!parse_create(r, c)) {
		create_enter(c, CR_FINISH); /* a 400 was sent */
		return;
	}
	/* money is created only by a client allowed to issue it */
	if (c->req.initial_balance > 0 &&
	    !lf_auth_scopes_allow(r->client.scopes, LF_SCOPE_FUNDS_ISSUE)) {
		lf_metrics_inc(&r->app->zone->metrics->auth_forbidden);
		lf_req_problem(r, 403, "forbidden",
			       "An initialBalance above 0 creates money: it needs the funds:issue "
			       "scope.",
			       NULL);
		create_enter(c, CR_FINISH);
		return;
	}
	const struct lf_config *cfg = r->app->cfg;
	c->max_retries = cfg->mysql_max_retries;
	c->req.client_id = r->client.id;
	c->req.name = c->name;
	c->req.currency = c->currency;
	lf_uuid_v7(&c->req.opening_entry_id);
	lf_uuid_v7(&c->req.issuance_entry_id);
	c->req.created_ms = lf_time_now_ms();
	/* the key lives as long as the account: a retry however late finds
	 * it, never a second account (the caches keep it for the retention) */
	c->req.expires_ms = LF_TIME_FOREVER_MS;
	struct lf_account a = {.id = c->req.id,
			       .balance = c->req.initial_balance,
			       .created_ms = c->req.created_ms,
			       .updated_ms = c->req.created_ms};
	memcpy(a.name, c->name, strlen(c->name) + 1);
	memcpy(a.currency, c->currency, 4);
	a.metadata = c->metadata; /* lent to the renderer */
	c->req.metadata = c->metadata;
	if (!lf_render_account_body(&c->body, &a)) {
		lf_decision_internal(&c->d); /* out of memory */
		create_finish(c, false);
		return;
	}
	char idtext[LF_UUID_STR_LEN + 1];
	lf_uuid_format(&c->req.id, idtext);
	snprintf(c->location, sizeof c->location, "/api/accounts/%s", idtext);
	c->req.body = c->body.data;
	c->req.body_len = c->body.len;
	c->req.location = c->location;
	lf_req_arm_deadline(r, cfg->request_timeout_ms);
	if (!c->key.present) {
		create_claimed(r, false);
		return;
	}
	create_enter(c, CR_CLAIM);
	lf_idempotency_begin(r, &c->idem, c->req.client_id, c->key.text, c->key.len,
			     c->req.fingerprint, &c->d, create_claimed);
}
