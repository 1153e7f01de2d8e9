/*
 * api/accounts.c - GET /api/accounts/{id} and GET /api/accounts/{id}/ledger
 * (keyset pagination over the per-account ledger sequence; the cursor is
 * opaque, tied to its account and MAC'd with a server secret). A read answers 200, 404, 503
 * when the database cannot be reached (nothing was changed), or 500 when
 * the database fails the query for another reason. Creating an account
 * is api/account_create.c.
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
#include "lf_dbpool.h"
#include "lf_decision.h"
#include "lf_handlers.h"
#include "lf_hash.h"
#include "lf_http.h"
#include "lf_money.h"
#include "lf_render.h"
#include "lf_time.h"

#define LF_LEDGER_DEFAULT_LIMIT 50
#define LF_LEDGER_MAX_LIMIT 500

/* ---- GET /api/accounts/{id} ---- */

static lf_rc fetch_account(struct lf_store_conn *c, const lf_uuid *id, const struct lf_client *who,
			   void *row)
{
	return lf_store_get_account(c, id, who, row);
}

static bool render_account(struct lf_body *out, const void *row)
{
	return lf_render_account_body(out, row);
}

static lf_rc fetch_accounts(struct lf_store_conn *c, int n, const lf_uuid *ids,
			    const struct lf_client *who, void *rows, lf_rc *rcs)
{
	return lf_store_get_accounts(c, n, ids, who, rows, rcs);
}

static const struct lf_db_batch_kind account_reads = {
	.metric = LF_BATCH_ACCOUNT_READ,
	.work = lf_api_by_id_batch_work,
};

static void clear_account(void *row)
{
	lf_account_clear(row);
}

static const struct lf_api_read_spec account_spec = {
	.clear = clear_account,
	.invalid_id_detail = "The account id is not a UUID.",
	.not_found_code = "account_not_found",
	.not_found_detail = "No account has this id.",
	.row_size = sizeof(struct lf_account),
	.fetch = fetch_account,
	.render = render_account,
	.fetch_many = fetch_accounts,
	.batch = &account_reads,
	.loop_account = true,
};

void lf_accounts_get(struct lf_req *r, const char *id)
{
	lf_api_get_by_id(r, id, &account_spec);
}

/* ---- GET /api/accounts/{id}/ledger ---- */

struct ledger {
	struct lf_req *r;
	lf_uuid id;
	struct lf_client who; /* a copy: the pool thread reads nothing of r */
	int64_t before_seq;
	unsigned limit;
	lf_rc rc;
	unsigned count;
	bool more;
	char currency[4];
	struct lf_ledger_entry entries[]; /* limit of them */
};

/* cursor = "<seq>.<32 hex of HMAC-SHA-256(cursor secret, "lf-cursor-v2" ‖
 * account ‖ client ‖ seq)>", the first 128 bits: opaque to clients, bound
 * to its account (and to the client, once requests carry one), and keyed
 * with a secret derived from the pepper, so nobody without it can mint a
 * cursor, and one edited or taken from another account fails the check. */
#define CURSOR_TAG_HEX 32

static void be64(uint8_t out[8], uint64_t v)
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (56 - 8 * i));
}

static bool cursor_tag(const struct lf_app *app, const lf_uuid *account, uint64_t client_id,
		       int64_t seq, char out[CURSOR_TAG_HEX + 1])
{
	uint8_t mac[LF_HMAC_LEN], client[8], seqb[8];
	be64(client, client_id);
	be64(seqb, (uint64_t)seq);
	struct lf_bytes parts[] = {{"lf-cursor-v2", 12}, {account->b, 16}, {client, 8}, {seqb, 8}};
	if (!lf_hmac_sha256(app->secrets->cursor_mac, sizeof app->secrets->cursor_mac, parts,
			    sizeof parts / sizeof parts[0], mac))
		return false;
	for (int i = 0; i < CURSOR_TAG_HEX / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
	return true;
}

static bool cursor_parse(const struct lf_app *app, const lf_uuid *account, uint64_t client_id,
			 const char *s, int64_t *seq)
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
	if (*p != '.' || strlen(p + 1) != CURSOR_TAG_HEX)
		return false;
	char tag[CURSOR_TAG_HEX + 1];
	if (!cursor_tag(app, account, client_id, v, tag) ||
	    CRYPTO_memcmp(tag, p + 1, CURSOR_TAG_HEX) != 0)
		return false;
	*seq = v;
	return true;
}

static bool ledger_work(struct lf_store_conn *conn, void *arg)
{
	struct ledger *l = arg;
	if (conn == NULL) {
		l->rc = LF_LOST;
		return true;
	}
	l->rc = lf_store_list_ledger(conn, &l->id, &l->who, l->before_seq, l->limit, l->entries,
				     &l->count, &l->more, l->currency);
	return l->rc != LF_LOST;
}

static void ledger_done(void *arg)
{
	struct ledger *l = arg;
	struct lf_req *r = l->r;
	struct lf_body body = {0};
	struct evbuffer *b = l->rc == LF_OK ? evbuffer_new() : NULL;
	if (b != NULL) {
		const struct lf_currency *cur = lf_currency_find(l->currency);
		int exponent = cur ? cur->exponent : 2;
		evbuffer_add_printf(b, "{\"entries\":[");
		for (unsigned i = 0; i < l->count; i++) {
			if (i)
				evbuffer_add(b, ",", 1);
			lf_render_ledger_entry(b, &l->entries[i], exponent);
		}
		evbuffer_add_printf(b, "],\"nextCursor\":");
		bool ok = true;
		if (l->more && l->count > 0) {
			char tag[CURSOR_TAG_HEX + 1];
			int64_t seq = l->entries[l->count - 1].seq;
			ok = cursor_tag(r->app, &l->id, l->who.id, seq, tag); /* else a 500 */
			evbuffer_add_printf(b, "\"%" PRId64 ".%s\"}", seq, ok ? tag : "");
		} else {
			evbuffer_add_printf(b, "null}");
		}
		if (ok)
			(void)lf_render_body(&body, b);
		evbuffer_free(b);
	}
	lf_api_read_send(r, l->rc, &body, "account_not_found", "No account has this id.");
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
	if (limit_s != NULL && !lf_api_parse_limit(limit_s, LF_LEDGER_MAX_LIMIT, &limit)) {
		lf_req_problem(r, 400, "invalid_request", "limit must be an integer from 1 to 500.",
			       NULL);
		ok = false;
	} else if (cursor != NULL &&
		   !cursor_parse(r->app, &account, r->client.id, cursor, &before_seq)) {
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
	*l = (struct ledger){
		.r = r, .id = account, .who = r->client, .before_seq = before_seq, .limit = limit};
	lf_req_arm_deadline(r, r->app->cfg->request_timeout_ms);
	if (!lf_api_read_submit(r, ledger_work, ledger_done, l)) {
		struct lf_body none = {0};
		lf_api_read_send(r, LF_LOST, &none, NULL, NULL); /* queue full or stopping: 503 */
	}
}
