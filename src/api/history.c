/*
 * api/history.c - the history reads of the v2 API:
 *   GET /api/payments?accountId=&status=&limit=&cursor=  the asking
 *     client's payments (every client's for admin), newest first, keyset
 *     paged by payment id with an opaque cursor MAC'd like the ledger's;
 *   GET /api/accounts/{id}/balance?at=RFC3339  the balance after the
 *     account's last ledger entry at or before that time.
 * A read answers 200, 404, 503 (the database cannot be reached: nothing
 * was changed) or 500.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>

#include "lf_api.h"
#include "lf_app.h"
#include "lf_auth.h"
#include "lf_config.h"
#include "lf_handlers.h"
#include "lf_hash.h"
#include "lf_http.h"
#include "lf_money.h"
#include "lf_render.h"
#include "lf_time.h"

#define LIST_DEFAULT_LIMIT 50
#define LIST_MAX_LIMIT 500
#define CURSOR_TAG_HEX 32

/* ---- the cursor: "<32 hex of the last id>.<32 hex of HMAC-SHA-256(
 * cursor secret, "lf-payments-cursor-v1" ‖ client ‖ account or zeros ‖
 * status ‖ id)>": a page's cursor works only for the same client, account
 * and status ---- */

static bool cursor_tag(const struct lf_app *app, const struct lf_payment_query *q,
		       uint64_t client_id, const lf_uuid *id, char out[CURSOR_TAG_HEX + 1])
{
	uint8_t mac[LF_HMAC_LEN], client[8], account[16] = {0}, status[16] = {0};
	for (int i = 0; i < 8; i++)
		client[i] = (uint8_t)(client_id >> (56 - 8 * i));
	if (q->has_account)
		memcpy(account, q->account.b, 16);
	memcpy(status, q->status, strnlen(q->status, sizeof status));
	struct lf_bytes parts[] = {{"lf-payments-cursor-v1", 21},
				   {client, 8},
				   {account, 16},
				   {status, 16},
				   {id->b, 16}};
	if (!lf_hmac_sha256(app->secrets->cursor_mac, sizeof app->secrets->cursor_mac, parts,
			    sizeof parts / sizeof parts[0], mac))
		return false;
	for (int i = 0; i < CURSOR_TAG_HEX / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
	return true;
}

static bool hex16(const char *s, uint8_t out[16])
{
	for (int i = 0; i < 16; i++) {
		unsigned v = 0;
		for (int k = 0; k < 2; k++) {
			char c = s[2 * i + k];
			unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
				     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
							    : 16;
			if (d == 16)
				return false;
			v = v * 16 + d;
		}
		out[i] = (uint8_t)v;
	}
	return true;
}

static bool cursor_parse(const struct lf_app *app, const struct lf_payment_query *q,
			 uint64_t client_id, const char *s, lf_uuid *before)
{
	if (strlen(s) != 32 + 1 + CURSOR_TAG_HEX || s[32] != '.' || !hex16(s, before->b))
		return false;
	char tag[CURSOR_TAG_HEX + 1];
	return cursor_tag(app, q, client_id, before, tag) &&
	       CRYPTO_memcmp(tag, s + 33, CURSOR_TAG_HEX) == 0;
}

/* ---- GET /api/payments ---- */

struct listing {
	struct lf_req *r;
	struct lf_payment_query q;
	struct lf_client who; /* a copy: the pool thread reads nothing of r */
	lf_rc rc;
	unsigned count;
	bool more;
	struct lf_payment rows[]; /* q.limit of them */
};

static void listing_free(void *state)
{
	struct listing *l = state;
	for (unsigned i = 0; i < l->count; i++)
		lf_payment_clear(&l->rows[i]);
	free(l);
}

static bool list_work(struct lf_store_conn *conn, void *arg)
{
	struct listing *l = arg;
	if (conn == NULL) {
		l->rc = LF_LOST;
		return true;
	}
	l->rc = lf_store_list_payments(conn, &l->q, &l->who, l->rows, &l->count, &l->more);
	return l->rc != LF_LOST;
}

static void list_done(void *arg)
{
	struct listing *l = arg;
	struct lf_req *r = l->r;
	struct lf_body body = {0};
	struct evbuffer *b = l->rc == LF_OK ? evbuffer_new() : NULL;
	if (b != NULL) {
		evbuffer_add_printf(b, "{\"payments\":[");
		for (unsigned i = 0; i < l->count; i++) {
			if (i)
				evbuffer_add(b, ",", 1);
			lf_render_payment(b, &l->rows[i]);
		}
		evbuffer_add_printf(b, "],\"nextCursor\":");
		bool ok = true;
		if (l->more && l->count > 0) {
			char tag[CURSOR_TAG_HEX + 1];
			const lf_uuid *last = &l->rows[l->count - 1].id;
			ok = cursor_tag(r->app, &l->q, l->who.id, last, tag); /* else a 500 */
			evbuffer_add(b, "\"", 1);
			for (int i = 0; i < 16; i++)
				evbuffer_add_printf(b, "%02x", last->b[i]);
			evbuffer_add_printf(b, ".%s\"}", ok ? tag : "");
		} else {
			evbuffer_add_printf(b, "null}");
		}
		if (ok)
			(void)lf_render_body(&body, b);
		evbuffer_free(b);
	}
	lf_api_read_send(r, l->rc, &body, "not_found", "No such resource.");
	lf_req_release(r);
}

void lf_payments_list(struct lf_req *r, const char *id)
{
	(void)id;
	struct lf_payment_query q = {.limit = LIST_DEFAULT_LIMIT};
	memset(q.before.b, 0xff, 16);
	struct evkeyvalq kv;
	if (evhttp_parse_query_str(r->query ? r->query : "", &kv) != 0) {
		lf_req_problem(r, 400, "invalid_request", "The query string is malformed.", NULL);
		return;
	}
	const char *account = evhttp_find_header(&kv, "accountId");
	const char *status = evhttp_find_header(&kv, "status");
	const char *limit = evhttp_find_header(&kv, "limit");
	const char *cursor = evhttp_find_header(&kv, "cursor");
	const char *problem = NULL;
	if (account != NULL && !lf_uuid_parse(account, strlen(account), &q.account))
		problem = "accountId is not a UUID.";
	else if (status != NULL && !lf_payment_status_parse(status, &(enum lf_payment_status){0}))
		problem = "status must be COMPLETED, DECLINED, PENDING, VOIDED or EXPIRED.";
	else if (limit != NULL && !lf_api_parse_limit(limit, LIST_MAX_LIMIT, &q.limit))
		problem = "limit must be an integer from 1 to 500.";
	if (problem == NULL) {
		q.has_account = account != NULL;
		if (status != NULL)
			snprintf(q.status, sizeof q.status, "%s", status);
		if (cursor != NULL && !cursor_parse(r->app, &q, r->client.id, cursor, &q.before))
			problem = "cursor was not issued by this server for this listing.";
	}
	evhttp_clear_headers(&kv);
	if (problem != NULL) {
		lf_req_problem(r, 400, "invalid_request", problem, NULL);
		return;
	}
	/* room for the page asked for, not the largest one */
	struct listing *l = calloc(1, sizeof *l + q.limit * sizeof l->rows[0]);
	if (l == NULL) {
		lf_req_problem(r, 500, "internal_error", "Out of memory.", NULL);
		return;
	}
	r->state = l;
	r->free_state = listing_free;
	l->r = r;
	l->q = q;
	l->who = r->client;
	lf_req_arm_deadline(r, r->app->cfg->request_timeout_ms);
	if (!lf_api_read_submit(r, list_work, list_done, l)) {
		struct lf_body none = {0};
		lf_api_read_send(r, LF_LOST, &none, NULL, NULL); /* queue full or stopping: 503 */
	}
}

/* ---- GET /api/accounts/{id}/balance?at= ---- */

struct balance_at {
	struct lf_req *r;
	lf_uuid id;
	struct lf_client who;
	int64_t at_ms;
	lf_rc rc;
	char currency[4];
	int64_t balance;
};

static bool balance_work(struct lf_store_conn *conn, void *arg)
{
	struct balance_at *g = arg;
	if (conn == NULL) {
		g->rc = LF_LOST;
		return true;
	}
	g->rc = lf_store_balance_at(conn, &g->id, &g->who, g->at_ms, g->currency, &g->balance);
	return g->rc != LF_LOST;
}

static void balance_done(void *arg)
{
	struct balance_at *g = arg;
	struct lf_body body = {0};
	struct evbuffer *b = g->rc == LF_OK ? evbuffer_new() : NULL;
	if (b != NULL) {
		const struct lf_currency *cur = lf_currency_find(g->currency);
		char id[LF_UUID_STR_LEN + 1], amount[LF_MONEY_FMT_MAX], at[LF_TIME_STR_LEN + 1];
		lf_uuid_format(&g->id, id);
		lf_time_format_ms(g->at_ms, at);
		if (cur != NULL && lf_money_format(g->balance, cur->exponent, amount) > 0) {
			evbuffer_add_printf(b,
					    "{\"accountId\":\"%s\",\"currency\":\"%s\",\"balance\":"
					    "\"%s\",\"at\":\"%s\"}",
					    id, g->currency, amount, at);
			(void)lf_render_body(&body, b);
		}
		evbuffer_free(b);
	}
	lf_api_read_send(g->r, g->rc, &body, "account_not_found", "No account has this id.");
	lf_req_release(g->r);
}

void lf_accounts_balance_at(struct lf_req *r, const char *id)
{
	lf_uuid account;
	if (!lf_uuid_parse(id, strlen(id), &account)) {
		lf_req_problem(r, 400, "invalid_id", "The account id is not a UUID.", NULL);
		return;
	}
	struct evkeyvalq kv;
	if (evhttp_parse_query_str(r->query ? r->query : "", &kv) != 0) {
		lf_req_problem(r, 400, "invalid_request", "The query string is malformed.", NULL);
		return;
	}
	const char *at = evhttp_find_header(&kv, "at");
	int64_t at_ms = 0;
	bool ok = at != NULL && lf_time_parse_rfc3339(at, &at_ms);
	evhttp_clear_headers(&kv);
	if (!ok) {
		lf_req_problem(r, 400, "invalid_request",
			       "at must be an RFC 3339 date-time, e.g. 2026-11-30T12:00:00Z.",
			       NULL);
		return;
	}
	struct balance_at *g = calloc(1, sizeof *g);
	if (g == NULL) {
		lf_req_problem(r, 500, "internal_error", "Out of memory.", NULL);
		return;
	}
	r->state = g;
	r->free_state = free;
	*g = (struct balance_at){.r = r, .id = account, .who = r->client, .at_ms = at_ms};
	lf_req_arm_deadline(r, r->app->cfg->request_timeout_ms);
	if (!lf_api_read_submit(r, balance_work, balance_done, g)) {
		struct lf_body none = {0};
		lf_api_read_send(r, LF_LOST, &none, NULL, NULL);
	}
}
