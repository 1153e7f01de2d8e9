/*
 * api/payments.c - POST /api/payments and GET /api/payments/{id}.
 *
 * On the event loop: every 400 check (key, JSON, fields, amount grammar),
 * the fingerprint, then one pool job. On the pool thread the job decides:
 * the accounts' currencies (from the worker's cache or one read), the
 * amount against the sender's ISO 4217 exponent, the 422s that need no
 * lock (recorded with the key through lf_record_outcome), and finally the
 * transfer itself: one CALL of lf_transfer, the whole transaction in one
 * round trip, retried on deadlock or lock-wait timeout with jitter. When
 * the connection breaks mid-call the outcome is unknown: the loop sends a
 * second job that asks the database for the key's stored outcome and only
 * runs the transfer again when none was committed. Never a guess.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <json-c/json.h>

#include "lf_account_cache.h"
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

#define LF_AMOUNT_TEXT_MAX 64
#define LF_RESOLVE_ATTEMPTS 3

struct pay {
	struct lf_req *r;
	struct lf_idem idem;
	/* the validated request */
	char key[LF_IDEM_KEY_MAX + 1];
	size_t key_len;
	uint8_t fp[LF_FINGERPRINT_LEN];
	lf_uuid from, to;
	char amount[LF_AMOUNT_TEXT_MAX + 1];
	size_t amount_len;
	int64_t minor; /* the amount in the sender's minor units, once known */
	bool has_currency;
	char currency[4];
	bool has_reference;
	char reference[201 * 4];
	uint64_t client_id;
	int max_retries;
	int64_t retention_ms;
	/* accounts' currencies: [0] sender, [1] receiver */
	bool cur_known;
	bool found[2];
	char cur[2][4];
	/* progress and result */
	bool lookup_only; /* first job: only learn the accounts' currencies */
	bool resolve;     /* ask the key first: a previous attempt's outcome is unknown */
	int resolves;
	unsigned retries; /* deadlock / lock-wait retries, for the metric */
	enum lf_transfer_result result;
	struct lf_decision d;
};

static void pay_free(void *state)
{
	struct pay *p = state;
	lf_decision_clear(&p->d);
	free(p);
}

static unsigned jitter_seed(void)
{
	static __thread unsigned seed;
	if (seed == 0)
		seed = (unsigned)lf_time_monotonic_ms() ^ (unsigned)(uintptr_t)&seed;
	return seed = seed * 1103515245u + 12345u;
}

/* A 422 decided without a transaction: record it with the key so a retry
 * gets the same answer, or take the outcome the key already has. */
static bool decide_422(struct lf_store_conn *c, struct pay *p, const char *code, const char *detail)
{
	lf_decision_problem(&p->d, 422, code, detail, NULL);
	int64_t now = lf_time_now_ms();
	bool replay = false;
	struct lf_stored stored = {0};
	lf_rc rc = lf_store_record_outcome(c, p->client_id, p->key, p->key_len, p->fp, 422, NULL,
					   p->d.body, p->d.body_len, now, now + p->retention_ms,
					   &replay, &stored);
	if (rc == LF_OK) {
		if (replay)
			lf_decision_from_stored(&p->d, &stored, p->fp);
		else
			p->d.storable = true;
		lf_stored_clear(&stored);
		return true;
	}
	lf_stored_clear(&stored);
	if (rc == LF_LOST) {
		lf_decision_clear(&p->d);
		p->d.kind = LF_DEC_UNKNOWN;
		p->resolve = true;
		return false;
	}
	lf_decision_unavailable(&p->d);
	return true;
}

/* The key's stored outcome is gone (retention) but its payment is not:
 * answer from the payment row, rendered as it was the first time. */
static bool replay_payment(struct lf_store_conn *c, struct pay *p, struct lf_stored *stored)
{
	if (stored->body_len != 16) {
		lf_decision_unavailable(&p->d);
		return true;
	}
	lf_uuid id;
	memcpy(id.b, stored->body, 16);
	struct lf_payment pay;
	lf_rc rc = lf_store_get_payment(c, &id, &pay);
	if (rc != LF_OK) {
		lf_decision_unavailable(&p->d);
		return rc != LF_LOST;
	}
	struct evbuffer *b = evbuffer_new();
	if (b == NULL) {
		lf_decision_unavailable(&p->d);
		return true;
	}
	char idtext[LF_UUID_STR_LEN + 1], location[80];
	lf_uuid_format(&id, idtext);
	snprintf(location, sizeof location, "/api/payments/%s", idtext);
	if (pay.completed)
		lf_render_payment(b, &pay);
	else
		lf_render_declined(b, &id);
	size_t len;
	char *body = lf_render_take(b, &len);
	evbuffer_free(b);
	lf_decision_replay(&p->d, pay.completed ? 201 : 422, body, len,
			   pay.completed ? location : NULL, stored->fingerprint, p->fp);
	return true;
}

static bool run_transfer(struct lf_store_conn *c, struct pay *p, int64_t minor)
{
	struct lf_transfer_req t = {
		.client_id = p->client_id,
		.idem_key = p->key,
		.idem_key_len = p->key_len,
		.from = p->from,
		.to = p->to,
		.amount = minor,
		.currency = p->cur[0],
		.reference = p->has_reference ? p->reference : NULL,
	};
	memcpy(t.fingerprint, p->fp, LF_FINGERPRINT_LEN);
	lf_uuid_v7(&t.payment_id);
	lf_uuid_v7(&t.debit_entry_id);
	lf_uuid_v7(&t.credit_entry_id);
	t.created_ms = lf_time_now_ms();
	t.expires_ms = t.created_ms + p->retention_ms;

	struct lf_payment pay = {.id = t.payment_id,
				 .from = p->from,
				 .to = p->to,
				 .amount = minor,
				 .has_reference = p->has_reference,
				 .completed = true,
				 .created_ms = t.created_ms};
	memcpy(pay.currency, p->cur[0], 4);
	if (p->has_reference)
		snprintf(pay.reference, sizeof pay.reference, "%s", p->reference);
	char id[LF_UUID_STR_LEN + 1], location[80];
	lf_uuid_format(&t.payment_id, id);
	snprintf(location, sizeof location, "/api/payments/%s", id);
	t.location = location;

	struct evbuffer *ok = evbuffer_new(), *declined = evbuffer_new();
	if (ok == NULL || declined == NULL) {
		if (ok)
			evbuffer_free(ok);
		if (declined)
			evbuffer_free(declined);
		lf_decision_unavailable(&p->d);
		return true;
	}
	lf_render_payment(ok, &pay);
	lf_render_declined(declined, &t.payment_id);
	size_t ok_len, declined_len;
	char *ok_body = lf_render_take(ok, &ok_len);
	char *declined_body = lf_render_take(declined, &declined_len);
	evbuffer_free(ok);
	evbuffer_free(declined);
	t.body_completed = ok_body;
	t.body_completed_len = ok_len;
	t.body_declined = declined_body;
	t.body_declined_len = declined_len;

	struct lf_stored stored = {0};
	lf_rc rc = LF_ERROR;
	for (int attempt = 0; ok_body && declined_body; attempt++) {
		rc = lf_store_transfer(c, &t, &p->result, &stored);
		if (rc != LF_AGAIN || attempt >= p->max_retries)
			break;
		usleep(1000u * (1u + jitter_seed() % 4u) * (unsigned)(attempt + 1));
		p->retries++;
	}
	bool healthy = true;
	if (rc == LF_OK) {
		switch (p->result) {
		case LF_TRANSFER_COMPLETED:
			lf_decision_fresh(&p->d, 201, ok_body, ok_len, location);
			ok_body = NULL;
			break;
		case LF_TRANSFER_DECLINED:
			lf_decision_fresh(&p->d, 422, declined_body, declined_len, NULL);
			declined_body = NULL;
			break;
		case LF_TRANSFER_REPLAY: lf_decision_from_stored(&p->d, &stored, p->fp); break;
		case LF_TRANSFER_ACCOUNT_NOT_FOUND:
			healthy = decide_422(c, p, "account_not_found",
					     "An account of the payment does not exist.");
			break;
		case LF_TRANSFER_CURRENCY_MISMATCH:
			healthy = decide_422(c, p, "currency_mismatch",
					     "The accounts' currencies differ from each other or "
					     "from the request.");
			break;
		case LF_TRANSFER_PAYMENT_EXISTS: healthy = replay_payment(c, p, &stored); break;
		}
	} else if (rc == LF_LOST) {
		lf_decision_clear(&p->d);
		p->d.kind = LF_DEC_UNKNOWN;
		p->resolve = true;
		healthy = false;
	} else {
		/* deadlocks beyond the retry budget, or an error: rolled back */
		lf_decision_unavailable(&p->d);
	}
	lf_stored_clear(&stored);
	free(ok_body);
	free(declined_body);
	return healthy;
}

/* The amount against the sender's currency (its exponent and the 10^15
 * limit). False with a 400 decision in p->d when it does not fit. */
static bool check_amount(struct pay *p, int64_t *minor)
{
	const struct lf_currency *cur = lf_currency_find(p->cur[0]);
	enum lf_money_verdict merr =
		cur ? lf_money_parse(p->amount, p->amount_len, cur->exponent, false, minor)
		    : LF_MONEY_SYNTAX;
	if (merr == LF_MONEY_OK)
		return true;
	char detail[160];
	snprintf(detail, sizeof detail,
		 merr == LF_MONEY_FRACTION ? "The amount has more fraction digits than %s allows."
		 : merr == LF_MONEY_TOO_LARGE
			 ? "The amount exceeds the largest accepted amount (%s)."
			 : "The amount is not a valid positive decimal (%s).",
		 p->cur[0]);
	lf_decision_problem(&p->d, 400, "invalid_amount", detail, NULL);
	return false;
}

static bool lookup_currencies(struct lf_store_conn *c, struct pay *p)
{
	lf_uuid ids[2] = {p->from, p->to};
	lf_rc rc = lf_store_account_currencies(c, ids, p->found, p->cur);
	if (rc != LF_OK) {
		lf_decision_unavailable(&p->d);
		return rc != LF_LOST;
	}
	p->cur_known = true;
	return true;
}

/* Every 400 is behind us (pay_validated) and the currencies are known:
 * the 422s that need no lock, then the transaction. */
static bool decide(struct lf_store_conn *c, struct pay *p)
{
	if (!p->found[0])
		return decide_422(c, p, "account_not_found", "The sender account does not exist.");
	if (memcmp(p->from.b, p->to.b, 16) == 0)
		return decide_422(c, p, "same_account", "A payment needs two different accounts.");
	if (!p->found[1])
		return decide_422(c, p, "account_not_found",
				  "The receiver account does not exist.");
	if ((p->has_currency && strcmp(p->currency, p->cur[0]) != 0) ||
	    strcmp(p->cur[0], p->cur[1]) != 0)
		return decide_422(
			c, p, "currency_mismatch",
			"The accounts' currencies differ from each other or from the request.");
	return run_transfer(c, p, p->minor);
}

static bool pay_work(struct lf_store_conn *c, void *arg)
{
	struct pay *p = arg;
	if (c == NULL) {
		/* while an earlier attempt's outcome is unknown, it stays unknown */
		if (p->resolve) {
			lf_decision_clear(&p->d);
			p->d.kind = LF_DEC_UNKNOWN;
		} else {
			lf_decision_unavailable(&p->d);
		}
		return true;
	}
	if (p->lookup_only)
		return lookup_currencies(c, p);
	if (p->resolve) {
		struct lf_stored stored = {0};
		lf_rc rc = lf_store_get_outcome(c, p->client_id, p->key, p->key_len, &stored);
		if (rc != LF_OK) {
			lf_stored_clear(&stored);
			lf_decision_clear(&p->d);
			p->d.kind = LF_DEC_UNKNOWN; /* resolve stays set */
			return rc != LF_LOST;
		}
		if (stored.found) {
			/* our own earlier attempt committed (or a concurrent twin did) */
			lf_decision_from_stored(&p->d, &stored, p->fp);
			lf_stored_clear(&stored);
			return true;
		}
		lf_stored_clear(&stored);
		p->resolve = false; /* nothing committed: decide again */
	}
	return decide(c, p);
}

static void pay_done(void *arg);

static bool pay_submit(struct pay *p)
{
	const struct lf_config *cfg = p->r->app->cfg;
	return lf_dbpool_submit_rerun(p->r->app->db, pay_work, pay_done, p,
				      lf_time_monotonic_ms() + cfg->mysql_request_timeout_ms);
}

static void pay_validated(struct lf_req *r);

static void pay_done(void *arg)
{
	struct pay *p = arg;
	struct lf_req *r = p->r;
	struct lf_metrics *m = r->app->zone->metrics;
	if (p->cur_known) {
		for (int i = 0; i < 2; i++)
			if (p->found[i])
				lf_account_cache_put(r->app->accounts, i ? &p->to : &p->from,
						     p->cur[i]);
	}
	if (p->lookup_only) {
		p->lookup_only = false;
		if (!r->replied) {
			if (p->cur_known)
				pay_validated(r);
			else
				lf_decision_send(r, &p->d); /* 503: nothing was claimed yet */
		}
		lf_req_release(r);
		return;
	}
	if (p->d.kind == LF_DEC_UNKNOWN && !r->replied && p->resolves < LF_RESOLVE_ATTEMPTS) {
		lf_metrics_inc(&m->db_conn_lost);
		p->resolves++;
		p->resolve = true;
		p->d.kind = LF_DEC_NONE;
		if (pay_submit(p))
			return; /* still holding r */
	}
	if (p->d.kind == LF_DEC_REPLY && !p->d.replayed && p->d.storable) {
		if (p->d.status == 201)
			lf_metrics_inc(&m->payments_completed);
		else if (p->result == LF_TRANSFER_DECLINED)
			lf_metrics_inc(&m->payments_declined);
	}
	if (p->d.kind == LF_DEC_REPLY && p->d.replayed)
		lf_metrics_inc(&m->idem_hit_db);
	lf_metrics_add(&m->db_retries, p->retries);
	p->retries = 0;
	/* even when the deadline already answered: store the outcome in the
	 * tiers, or release the claim */
	lf_idempotency_finish(r, &p->idem, &p->d);
	if (!r->replied)
		lf_decision_send(r, &p->d);
	lf_req_release(r);
}

/* Tiers 1 and 2 missed (or are down): the database decides. */
static void pay_proceed(struct lf_req *r)
{
	struct pay *p = r->state;
	lf_req_hold(r);
	if (!pay_submit(p)) {
		lf_decision_unavailable(&p->d);
		lf_idempotency_finish(r, &p->idem, &p->d);
		lf_decision_send(r, &p->d);
		lf_req_release(r);
	}
}

/* Every 400 is behind us once the amount fits the sender's currency: look
 * the key up in the tiers, then let the database decide. */
static void pay_validated(struct lf_req *r)
{
	struct pay *p = r->state;
	if (p->found[0] && !check_amount(p, &p->minor)) {
		lf_decision_send(r, &p->d);
		return;
	}
	lf_idempotency_begin(r, &p->idem, p->client_id, p->key, p->key_len, p->fp, pay_proceed);
}

/* The 400 checks, in the contract's order. Returns false after replying. */
static bool parse_request(struct lf_req *r, struct pay *p)
{
	enum lf_idem_key_verdict krc =
		lf_idem_key_parse(lf_req_header(r, "Idempotency-Key"), p->key, &p->key_len);
	if (krc == LF_IDEM_KEY_MISSING) {
		lf_req_problem(r, 400, "idempotency_key_missing",
			       "POST /api/payments requires an Idempotency-Key header.", NULL);
		return false;
	}
	if (krc != LF_IDEM_KEY_OK) {
		lf_req_problem(r, 400, "idempotency_key_invalid",
			       "An Idempotency-Key is 1 to 255 printable ASCII characters.", NULL);
		return false;
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
	const char *from_s = NULL, *to_s = NULL, *cur_s = NULL, *ref_s = NULL, *amount_s = NULL;
	size_t from_n = 0, to_n = 0, cur_n = 0, ref_n = 0, amount_n = 0;
	char ibuf[24];
	enum lf_field_verdict frc = lf_field_string(obj, "fromAccountId", &from_s, &from_n);
	enum lf_field_verdict trc = lf_field_string(obj, "toAccountId", &to_s, &to_n);
	struct json_object *amount = lf_field_get(obj, "amount");
	enum lf_field_verdict crc = lf_field_string(obj, "currency", &cur_s, &cur_n);
	enum lf_field_verdict rrc = lf_field_string(obj, "reference", &ref_s, &ref_n);
	if (frc == LF_FIELD_ABSENT || trc == LF_FIELD_ABSENT || amount == NULL) {
		lf_req_problem(r, 400, "invalid_request",
			       "fromAccountId, toAccountId and amount are required.", NULL);
	} else if (frc != LF_FIELD_OK || trc != LF_FIELD_OK || crc == LF_FIELD_WRONG_TYPE ||
		   rrc == LF_FIELD_WRONG_TYPE) {
		lf_req_problem(
			r, 400, "invalid_request",
			"fromAccountId, toAccountId, currency and reference must be strings.",
			NULL);
	} else if (!lf_money_json_text(amount, ibuf, &amount_s, &amount_n)) {
		lf_req_problem(r, 400, "invalid_amount",
			       "amount must be a JSON number or a decimal string.", NULL);
	} else if (!lf_uuid_parse(from_s, from_n, &p->from) || !lf_uuid_parse(to_s, to_n, &p->to)) {
		lf_req_problem(r, 400, "invalid_request", "Account ids must be UUIDs.", NULL);
	} else if (crc == LF_FIELD_OK && (cur_n != 3 || lf_currency_find(cur_s) == NULL)) {
		lf_req_problem(r, 400, "invalid_request",
			       "currency must be an upper-case active ISO 4217 code.", NULL);
	} else if (rrc == LF_FIELD_OK &&
		   (lf_utf8_chars(ref_s, ref_n) > 200 || ref_n >= sizeof p->reference ||
		    memchr(ref_s, '\0', ref_n) != NULL)) {
		lf_req_problem(r, 400, "invalid_request",
			       "reference is at most 200 characters, without U+0000.", NULL);
	} else {
		int64_t ignored;
		enum lf_money_verdict merr =
			amount_n > LF_AMOUNT_TEXT_MAX
				? LF_MONEY_TOO_LARGE
				: lf_money_parse(amount_s, amount_n, 9, false, &ignored);
		/* the sender's exponent decides fraction digits and the limit
		 * later; here only the grammar and the sign */
		if (merr == LF_MONEY_SYNTAX || merr == LF_MONEY_NOT_POSITIVE ||
		    merr == LF_MONEY_WRONG_TYPE || amount_n > LF_AMOUNT_TEXT_MAX) {
			lf_req_problem(r, 400, "invalid_amount",
				       "amount must be a positive decimal without sign, exponent "
				       "or leading zeros.",
				       NULL);
		} else {
			memcpy(p->amount, amount_s, amount_n);
			p->amount[amount_n] = '\0';
			p->amount_len = amount_n;
			p->has_currency = crc == LF_FIELD_OK;
			if (p->has_currency)
				memcpy(p->currency, cur_s, 4);
			p->has_reference = rrc == LF_FIELD_OK;
			if (p->has_reference) {
				memcpy(p->reference, ref_s, ref_n);
				p->reference[ref_n] = '\0';
			}
			ok = true;
		}
	}
	json_object_put(obj);
	return ok;
}

static void fingerprint(struct pay *p)
{
	struct lf_fp fp;
	char id[LF_UUID_STR_LEN + 1];
	char canon[LF_AMOUNT_TEXT_MAX + 1];
	lf_fp_begin(&fp, "POST", "/api/payments");
	lf_uuid_format(&p->from, id);
	lf_fp_field(&fp, "fromAccountId", id, LF_UUID_STR_LEN);
	lf_uuid_format(&p->to, id);
	lf_fp_field(&fp, "toAccountId", id, LF_UUID_STR_LEN);
	size_t n = lf_idem_canonical_decimal(p->amount, p->amount_len, canon);
	lf_fp_field(&fp, "amount", canon, n);
	if (p->has_currency)
		lf_fp_field(&fp, "currency", p->currency, 3);
	else
		lf_fp_null(&fp, "currency");
	if (p->has_reference)
		lf_fp_field(&fp, "reference", p->reference, strlen(p->reference));
	else
		lf_fp_null(&fp, "reference");
	lf_fp_end(&fp, p->fp);
}

void lf_payments_create(struct lf_req *r, const char *id)
{
	(void)id;
	struct pay *p = calloc(1, sizeof *p);
	if (p == NULL) {
		lf_req_problem(r, 500, "internal_error", "Out of memory.", NULL);
		return;
	}
	r->state = p;
	r->free_state = pay_free;
	p->r = r;
	if (!parse_request(r, p))
		return;
	fingerprint(p);
	const struct lf_config *cfg = r->app->cfg;
	p->client_id = r->app->client_id;
	p->max_retries = cfg->mysql_max_retries;
	p->retention_ms = cfg->idempotency_retention_ms;
	p->cur_known = lf_account_cache_get(r->app->accounts, &p->from, p->cur[0]) &&
		       lf_account_cache_get(r->app->accounts, &p->to, p->cur[1]);
	if (p->cur_known)
		p->found[0] = p->found[1] = true;
	lf_req_arm_deadline(r, cfg->request_timeout_ms);
	if (p->cur_known) {
		pay_validated(r);
		return;
	}
	/* an account this worker has not seen yet: learn its currency first,
	 * so the amount's 400 comes before any idempotency lookup */
	p->lookup_only = true;
	lf_req_hold(r);
	if (!pay_submit(p)) {
		lf_decision_unavailable(&p->d);
		lf_decision_send(r, &p->d);
		lf_req_release(r);
	}
}

/* ---- GET /api/payments/{id} ---- */

struct pay_get {
	struct lf_req *r;
	lf_uuid id;
	lf_rc rc;
	struct lf_payment pay;
};

static bool pay_get_work(struct lf_store_conn *c, void *arg)
{
	struct pay_get *g = arg;
	if (c == NULL) {
		g->rc = LF_LOST;
		return true;
	}
	g->rc = lf_store_get_payment(c, &g->id, &g->pay);
	return g->rc != LF_LOST;
}

static void pay_get_done(void *arg)
{
	struct pay_get *g = arg;
	struct lf_req *r = g->r;
	if (g->rc == LF_OK) {
		struct evbuffer *b = evbuffer_new();
		if (b != NULL)
			lf_render_payment(b, &g->pay);
		lf_req_reply(r, 200, "application/json", b);
		if (b != NULL)
			evbuffer_free(b);
	} else if (g->rc == LF_DECLINED) {
		lf_req_problem(r, 404, "payment_not_found", "No payment has this id.", NULL);
	} else {
		struct lf_decision d = {0};
		lf_decision_unavailable(&d);
		lf_decision_send(r, &d);
	}
	lf_req_release(r);
}

void lf_payments_get(struct lf_req *r, const char *id)
{
	struct pay_get *g = calloc(1, sizeof *g);
	if (g == NULL) {
		lf_req_problem(r, 500, "internal_error", "Out of memory.", NULL);
		return;
	}
	r->state = g;
	r->free_state = free;
	g->r = r;
	if (!lf_uuid_parse(id, strlen(id), &g->id)) {
		lf_req_problem(r, 400, "invalid_id", "The payment id is not a UUID.", NULL);
		return;
	}
	const struct lf_config *cfg = r->app->cfg;
	lf_req_hold(r);
	lf_req_arm_deadline(r, cfg->request_timeout_ms);
	if (!lf_dbpool_submit_rerun(r->app->db, pay_get_work, pay_get_done, g,
				    lf_time_monotonic_ms() + cfg->mysql_request_timeout_ms)) {
		g->rc = LF_LOST;
		pay_get_done(g);
	}
}
