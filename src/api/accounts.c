/*
 * api/accounts.c - POST /api/accounts, GET /api/accounts/{id} and
 * GET /api/accounts/{id}/ledger (keyset pagination over the per-account
 * ledger sequence; the cursor is opaque, tied to its account and checked).
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#include "lf_app.h"
#include "lf_config.h"
#include "lf_dbpool.h"
#include "lf_decision.h"
#include "lf_json.h"
#include "lf_handlers.h"
#include "lf_http.h"
#include "lf_idempotency.h"
#include "lf_metrics.h"
#include "lf_money.h"
#include "lf_render.h"
#include "lf_time.h"
#include "lf_zone.h"

#define LF_LEDGER_DEFAULT_LIMIT 50
#define LF_LEDGER_MAX_LIMIT 500

/* reads may run again on a fresh connection; account creation may not
 * (a lost commit would turn into 409 account_exists) */
static bool submit(struct lf_req *r, lf_db_work_fn work, lf_db_done_fn done, void *arg, bool read)
{
	const struct lf_config *cfg = r->app->cfg;
	int64_t deadline = lf_time_monotonic_ms() + cfg->mysql_request_timeout_ms;
	lf_req_hold(r);
	lf_req_arm_deadline(r, cfg->request_timeout_ms);
	if (read ? lf_dbpool_submit_rerun(r->app->db, work, done, arg, deadline)
		 : lf_dbpool_submit(r->app->db, work, done, arg, deadline))
		return true;
	lf_req_release(r);
	return false;
}

static void send_unavailable(struct lf_req *r)
{
	struct lf_decision d = {0};
	lf_decision_unavailable(&d);
	lf_decision_send(r, &d);
}

/* ---- POST /api/accounts ---- */

struct create {
	struct lf_req *r;
	struct lf_idem idem;
	struct lf_create_account_req req;
	bool has_key;
	char key[LF_IDEM_KEY_MAX + 1];
	char name[201 * 4 + 1];
	char currency[4];
	char location[64];
	char *body;
	size_t body_len;
	enum lf_create_result result;
	struct lf_decision d;
};

static void create_free(void *state)
{
	struct create *c = state;
	lf_decision_clear(&c->d);
	free(c->body);
	free(c);
}

static bool create_work(struct lf_store_conn *conn, void *arg)
{
	struct create *c = arg;
	if (conn == NULL) {
		lf_decision_unavailable(&c->d);
		return true;
	}
	struct lf_stored stored = {0};
	lf_rc rc = LF_AGAIN;
	for (int attempt = 0; rc == LF_AGAIN && attempt <= 3; attempt++)
		rc = lf_store_create_account(conn, &c->req, &c->result, &stored);
	bool healthy = rc != LF_LOST;
	if (rc != LF_OK) {
		/* a lost connection leaves the outcome unknown: a retry with the
		 * same key (or the same id) settles it without a second account */
		lf_decision_unavailable(&c->d);
	} else if (c->result == LF_CREATE_CREATED) {
		lf_decision_fresh(&c->d, 201, c->body, c->body_len, c->location);
		c->body = NULL;
	} else if (c->result == LF_CREATE_EXISTS) {
		lf_decision_problem(&c->d, 409, "account_exists",
				    "An account with this id already exists.", NULL);
	} else {
		lf_decision_from_stored(&c->d, &stored, c->req.fingerprint);
	}
	lf_stored_clear(&stored);
	return healthy;
}

static void create_done(void *arg)
{
	struct create *c = arg;
	if (c->d.kind == LF_DEC_REPLY && c->d.status == 201 && !c->d.replayed)
		lf_metrics_inc(&c->r->app->zone->metrics->accounts_created);
	if (c->d.kind == LF_DEC_REPLY && c->d.replayed)
		lf_metrics_inc(&c->r->app->zone->metrics->idem_hit_db);
	lf_idempotency_finish(c->r, &c->idem, &c->d);
	if (!c->r->replied)
		lf_decision_send(c->r, &c->d);
	lf_req_release(c->r);
}

static void create_proceed(struct lf_req *r)
{
	struct create *c = r->state;
	if (!submit(r, create_work, create_done, c, false)) {
		lf_decision_unavailable(&c->d);
		lf_idempotency_finish(r, &c->idem, &c->d);
		send_unavailable(r);
	}
}

static bool parse_create(struct lf_req *r, struct create *c)
{
	const char *hdr = lf_req_header(r, "Idempotency-Key");
	size_t key_len = 0;
	if (hdr != NULL) {
		if (lf_idem_key_parse(hdr, c->key, &key_len) != LF_IDEM_KEY_OK) {
			lf_req_problem(r, 400, "idempotency_key_invalid",
				       "An Idempotency-Key is 1 to 255 printable ASCII characters.",
				       NULL);
			return false;
		}
		c->has_key = true;
	}
	size_t blen;
	const char *body = lf_req_body(r, &blen);
	struct json_object *obj = NULL;
	enum lf_json_verdict jrc = lf_json_parse_object(body, blen, &obj);
	if (jrc == LF_JSON_INVALID) {
		lf_req_problem(r, 400, "invalid_json",
			       "The body is not valid JSON (or repeats a member name).", NULL);
		return false;
	}
	if (jrc != LF_JSON_OK) {
		lf_req_problem(r, 400, "invalid_request", "The body must be a JSON object.", NULL);
		return false;
	}
	bool ok = false;
	const char *name = NULL, *cur = NULL, *id_s = NULL, *bal_s = NULL;
	size_t name_n = 0, cur_n = 0, id_n = 0, bal_n = 0;
	char ibuf[24];
	enum lf_field_verdict nrc = lf_field_string(obj, "name", &name, &name_n);
	enum lf_field_verdict crc = lf_field_string(obj, "currency", &cur, &cur_n);
	enum lf_field_verdict irc = lf_field_string(obj, "id", &id_s, &id_n);
	struct json_object *bal = lf_field_get(obj, "initialBalance");
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
		lf_fp_end(&fp, c->req.fingerprint);
		ok = true;
	}
	if (ok && c->has_key) {
		c->req.idem_key = c->key;
		c->req.idem_key_len = key_len;
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
	if (!parse_create(r, c))
		return;
	const struct lf_config *cfg = r->app->cfg;
	c->req.client_id = r->app->client_id;
	c->req.name = c->name;
	c->req.currency = c->currency;
	lf_uuid_v7(&c->req.opening_entry_id);
	c->req.created_ms = lf_time_now_ms();
	c->req.expires_ms = c->req.created_ms + cfg->idempotency_retention_ms;
	struct lf_account a = {.id = c->req.id,
			       .balance = c->req.initial_balance,
			       .created_ms = c->req.created_ms,
			       .updated_ms = c->req.created_ms};
	memcpy(a.name, c->name, strlen(c->name) + 1);
	memcpy(a.currency, c->currency, 4);
	struct evbuffer *b = evbuffer_new();
	if (b == NULL) {
		lf_req_problem(r, 500, "internal_error", "Out of memory.", NULL);
		return;
	}
	lf_render_account(b, &a);
	c->body = lf_render_take(b, &c->body_len);
	evbuffer_free(b);
	char idtext[LF_UUID_STR_LEN + 1];
	lf_uuid_format(&c->req.id, idtext);
	snprintf(c->location, sizeof c->location, "/api/accounts/%s", idtext);
	c->req.body = c->body;
	c->req.body_len = c->body_len;
	c->req.location = c->location;
	if (!c->has_key) {
		create_proceed(r);
		return;
	}
	lf_req_arm_deadline(r, cfg->request_timeout_ms);
	lf_idempotency_begin(r, &c->idem, c->req.client_id, c->req.idem_key, c->req.idem_key_len,
			     c->req.fingerprint, create_proceed);
}

/* ---- GET /api/accounts/{id} ---- */

struct get {
	struct lf_req *r;
	lf_uuid id;
	lf_rc rc;
	struct lf_account account;
};

static bool get_work(struct lf_store_conn *conn, void *arg)
{
	struct get *g = arg;
	if (conn == NULL) {
		g->rc = LF_LOST;
		return true;
	}
	g->rc = lf_store_get_account(conn, &g->id, &g->account);
	return g->rc != LF_LOST;
}

static void get_done(void *arg)
{
	struct get *g = arg;
	if (g->rc == LF_OK) {
		struct evbuffer *b = evbuffer_new();
		if (b != NULL)
			lf_render_account(b, &g->account);
		lf_req_reply(g->r, 200, "application/json", b);
		if (b != NULL)
			evbuffer_free(b);
	} else if (g->rc == LF_DECLINED) {
		lf_req_problem(g->r, 404, "account_not_found", "No account has this id.", NULL);
	} else {
		send_unavailable(g->r);
	}
	lf_req_release(g->r);
}

void lf_accounts_get(struct lf_req *r, const char *id)
{
	struct get *g = calloc(1, sizeof *g);
	if (g == NULL) {
		lf_req_problem(r, 500, "internal_error", "Out of memory.", NULL);
		return;
	}
	r->state = g;
	r->free_state = free;
	g->r = r;
	if (!lf_uuid_parse(id, strlen(id), &g->id)) {
		lf_req_problem(r, 400, "invalid_id", "The account id is not a UUID.", NULL);
		return;
	}
	if (!submit(r, get_work, get_done, g, true))
		send_unavailable(r);
}

/* ---- GET /api/accounts/{id}/ledger ---- */

struct ledger {
	struct lf_req *r;
	lf_uuid id;
	int64_t before_seq;
	unsigned limit;
	lf_rc rc;
	unsigned count;
	bool more;
	char currency[4];
	struct lf_ledger_entry entries[]; /* limit of them */
};

/* cursor = "<seq>.<16 hex of SHA-256("lf-cursor-v1" | account | seq)>":
 * opaque to clients, bound to its account, and a cursor the server did not
 * issue (edited, or from another account) fails the check. */
static void cursor_tag(const lf_uuid *account, int64_t seq, char out[17])
{
	unsigned char md[32];
	unsigned int n = 0;
	char seqtext[24];
	int sl = snprintf(seqtext, sizeof seqtext, "%" PRId64, seq);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	memset(md, 0, sizeof md);
	if (ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1) {
		EVP_DigestUpdate(ctx, "lf-cursor-v1", 12);
		EVP_DigestUpdate(ctx, account->b, 16);
		EVP_DigestUpdate(ctx, seqtext, (size_t)sl);
		EVP_DigestFinal_ex(ctx, md, &n);
	}
	EVP_MD_CTX_free(ctx);
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static bool cursor_parse(const lf_uuid *account, const char *s, int64_t *seq)
{
	int64_t v = 0;
	const char *p = s;
	if (*p < '1' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (INT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (*p - '0');
	}
	if (*p != '.' || strlen(p + 1) != 16)
		return false;
	char tag[17];
	cursor_tag(account, v, tag);
	if (strcmp(tag, p + 1) != 0)
		return false;
	*seq = v;
	return true;
}

static bool parse_limit(const char *s, unsigned *out)
{
	unsigned v = 0;
	if (*s < '1' || *s > '9')
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > LF_LEDGER_MAX_LIMIT)
			return false;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v < 1 || v > LF_LEDGER_MAX_LIMIT)
		return false;
	*out = v;
	return true;
}

static bool ledger_work(struct lf_store_conn *conn, void *arg)
{
	struct ledger *l = arg;
	if (conn == NULL) {
		l->rc = LF_LOST;
		return true;
	}
	l->rc = lf_store_list_ledger(conn, &l->id, l->before_seq, l->limit, l->entries, &l->count,
				     &l->more, l->currency);
	return l->rc != LF_LOST;
}

static void ledger_done(void *arg)
{
	struct ledger *l = arg;
	struct lf_req *r = l->r;
	if (l->rc == LF_DECLINED) {
		lf_req_problem(r, 404, "account_not_found", "No account has this id.", NULL);
	} else if (l->rc != LF_OK) {
		send_unavailable(r);
	} else {
		const struct lf_currency *cur = lf_currency_find(l->currency);
		int exponent = cur ? cur->exponent : 2;
		struct evbuffer *b = evbuffer_new();
		if (b != NULL) {
			evbuffer_add_printf(b, "{\"entries\":[");
			for (unsigned i = 0; i < l->count; i++) {
				if (i)
					evbuffer_add(b, ",", 1);
				lf_render_ledger_entry(b, &l->entries[i], exponent);
			}
			evbuffer_add_printf(b, "],\"nextCursor\":");
			if (l->more && l->count > 0) {
				char tag[17];
				int64_t seq = l->entries[l->count - 1].seq;
				cursor_tag(&l->id, seq, tag);
				evbuffer_add_printf(b, "\"%" PRId64 ".%s\"}", seq, tag);
			} else {
				evbuffer_add_printf(b, "null}");
			}
		}
		lf_req_reply(r, 200, "application/json", b);
		if (b != NULL)
			evbuffer_free(b);
	}
	lf_req_release(r);
}

void lf_accounts_ledger(struct lf_req *r, const char *id)
{
	lf_uuid account;
	unsigned limit = LF_LEDGER_DEFAULT_LIMIT;
	int64_t before_seq = INT64_MAX;
	if (!lf_uuid_parse(id, strlen(id), &account)) {
		lf_req_problem(r, 400, "invalid_id", "The account id is not a UUID.", NULL);
		return;
	}
	struct evkeyvalq q;
	if (evhttp_parse_query_str(r->query ? r->query : "", &q) != 0) {
		lf_req_problem(r, 400, "invalid_request", "The query string is malformed.", NULL);
		return;
	}
	const char *limit_s = evhttp_find_header(&q, "limit");
	const char *cursor = evhttp_find_header(&q, "cursor");
	bool ok = true;
	if (limit_s != NULL && !parse_limit(limit_s, &limit)) {
		lf_req_problem(r, 400, "invalid_request", "limit must be an integer from 1 to 500.",
			       NULL);
		ok = false;
	} else if (cursor != NULL && !cursor_parse(&account, cursor, &before_seq)) {
		lf_req_problem(r, 400, "invalid_request",
			       "cursor was not issued by this server for this account.", NULL);
		ok = false;
	}
	evhttp_clear_headers(&q);
	if (!ok)
		return;
	/* room for the page asked for, not the largest one */
	struct ledger *l = calloc(1, sizeof *l + limit * sizeof l->entries[0]);
	if (l == NULL) {
		lf_req_problem(r, 500, "internal_error", "Out of memory.", NULL);
		return;
	}
	r->state = l;
	r->free_state = free;
	*l = (struct ledger){.r = r, .id = account, .before_seq = before_seq, .limit = limit};
	if (!submit(r, ledger_work, ledger_done, l, true))
		send_unavailable(r);
}
