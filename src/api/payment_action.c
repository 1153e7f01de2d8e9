/*
 * api/payment_action.c - POST /api/payments/{id}/capture, /void and
 * /refunds: what is done to a payment that exists, each with a required
 * Idempotency-Key, each decided in one CALL (lf_finish_hold, lf_refund)
 * that claims the key, locks the payment's accounts and then its row,
 * decides, moves the money if any and stores the answer (200, 201, 409
 * payment_not_pending, 422), which is then replayed like a payment's.
 *
 * A small state machine, like a payment's (payments_int.h):
 *
 *   PARSE  -> LOOKUP | FINISH           (the 400s; a byte-identical retry of a
 *                                        decided action is replayed between
 *                                        the key's and the body's)
 *   LOOKUP -> CLAIM | FINISH            (pool: read the payment: 404, the amount's 400s)
 *   CLAIM  -> DECIDE | FINISH           (tiers 1 and 2: miss, or hit / 409)
 *   DECIDE -> SETTLE | FINISH           (pool: the CALL; outcome unknown)
 *   SETTLE -> SETTLE | DECIDE | FINISH  (pool: ask the key; none: decide again)
 *   FINISH                              (loop: tiers, the reply)
 *
 * The bodies are rendered before the CALL from the payment as LOOKUP read
 * it (its amounts, accounts and currency never change) so the stored body
 * is the one sent. A refund of "the rest" ({} body) depends on what was
 * refunded before: the CALL refuses ('stale') when it changed, and the
 * payment is read again, a bounded number of times. The keys of these
 * requests are kept as long as the payment (their answers name money
 * that moved).
 */
#include "config.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lf_api.h"
#include "lf_app.h"
#include "lf_config.h"
#include "lf_dbpool.h"
#include "lf_decision.h"
#include "lf_handlers.h"
#include "lf_http.h"
#include "lf_json.h"
#include "lf_metrics.h"
#include "lf_money.h"
#include "lf_render.h"
#include "lf_store.h"
#include "lf_time.h"
#include "lf_zone.h"
#include "payments_int.h"

#define ACT_SETTLE_ATTEMPTS 3
#define ACT_STALE_ATTEMPTS 8

enum act_kind { ACT_CAPTURE, ACT_VOID, ACT_REFUND };
enum act_state { ACT_PARSE, ACT_LOOKUP, ACT_CLAIM, ACT_DECIDE, ACT_SETTLE, ACT_FINISH };

static const char *const act_names[] = {"capture", "void", "refunds"};

struct act {
	struct lf_req *r;
	enum act_kind kind;
	enum act_state state;
	struct lf_idem idem;
	struct lf_api_key key;
	uint8_t fp[LF_FINGERPRINT_LEN];
	lf_uuid payment_id;
	bool has_amount;
	char amount[LF_AMOUNT_TEXT_MAX + 1];
	size_t amount_len;
	int64_t minor;
	bool has_reason;
	char reason[201 * 4];
	struct lf_client who;
	int max_retries;
	unsigned retries;
	int settles;
	bool after_error;
	bool found;            /* LOOKUP found the payment for who */
	struct lf_payment pay; /* as LOOKUP (or a stale refund) read it */
	struct lf_decision d;
};

/* clang-format off */
static const bool act_allowed[ACT_FINISH + 1][ACT_FINISH + 1] = {
	[ACT_PARSE]  = {[ACT_LOOKUP] = true, [ACT_FINISH] = true},
	[ACT_LOOKUP] = {[ACT_CLAIM] = true, [ACT_FINISH] = true},
	[ACT_CLAIM]  = {[ACT_DECIDE] = true, [ACT_FINISH] = true},
	[ACT_DECIDE] = {[ACT_SETTLE] = true, [ACT_FINISH] = true},
	[ACT_SETTLE] = {[ACT_SETTLE] = true, [ACT_DECIDE] = true, [ACT_FINISH] = true},
	[ACT_FINISH] = {0},
};
/* clang-format on */

static void act_enter(struct act *a, enum act_state next)
{
	assert(a->state <= ACT_FINISH && next <= ACT_FINISH);
	assert(act_allowed[a->state][next]);
	a->state = next;
}

static void act_unknown(struct act *a)
{
	lf_decision_unknown(&a->d, NULL);
	act_enter(a, ACT_SETTLE);
}

static void act_free(void *state)
{
	struct act *a = state;
	lf_decision_clear(&a->d);
	lf_payment_clear(&a->pay);
	free(a);
}

/* ---- the CALL (pool thread) ---- */

struct act_call {
	struct lf_hold_req h;
	struct lf_body ok, other, exceeds, event_other;
	enum lf_hold_result result;
	struct lf_stored stored;
};

static void call_clear(struct act_call *k)
{
	lf_body_clear(&k->ok);
	lf_body_clear(&k->other);
	lf_body_clear(&k->exceeds);
	lf_body_clear(&k->event_other);
	lf_stored_clear(&k->stored);
}

static bool render_problem(struct lf_body *out, int status, const char *code, const char *detail,
			   const char *extra)
{
	return lf_render_problem_body(out, status, code, detail, extra);
}

/* The request, the bodies it may store and the events' data, from a->pay:
 * the payment's other columns never change, so each is what its GET shows
 * after that outcome. */
static bool call_build(struct act *a, struct act_call *k)
{
	struct lf_hold_req *h = &k->h;
	*h = (struct lf_hold_req){.client_id = a->who.id,
				  .admin = a->who.admin,
				  .idem_key = a->key.text,
				  .idem_key_len = a->key.len,
				  .payment_id = a->payment_id,
				  .capture = a->kind == ACT_CAPTURE,
				  .reason = a->has_reason ? a->reason : NULL};
	memcpy(h->fingerprint, a->fp, LF_FINGERPRINT_LEN);
	lf_uuid_v7(&h->refund_id);
	lf_uuid_v7(&h->debit_entry_id);
	lf_uuid_v7(&h->credit_entry_id);
	h->created_ms = lf_time_now_ms();
	h->expires_ms = LF_TIME_FOREVER_MS;
	char pid[LF_UUID_STR_LEN + 1], extra[160];
	lf_uuid_format(&a->payment_id, pid);
	if (a->kind != ACT_REFUND) {
		struct lf_payment after = a->pay;
		after.refunded = 0;
		if (a->kind == ACT_CAPTURE) {
			after.status = LF_PAYMENT_COMPLETED;
			after.has_captured = true;
			after.captured = a->has_amount ? a->minor : a->pay.amount;
			h->amount = a->has_amount ? a->minor : 0;
		} else {
			after.status = LF_PAYMENT_VOIDED;
			after.has_captured = false;
		}
		/* a hold past its time expires in the CALL: payment.expired */
		struct lf_payment expired = a->pay;
		expired.status = LF_PAYMENT_EXPIRED;
		expired.has_captured = false;
		expired.refunded = 0;
		snprintf(extra, sizeof extra, "\"paymentId\":\"%s\"", pid);
		if (a->pay.is_hold && !lf_render_payment_body(&k->event_other, &expired))
			return false;
		if (!lf_render_payment_body(&k->ok, &after) ||
		    !render_problem(&k->other, 409, "payment_not_pending",
				    "The payment is not a PENDING hold: only a pending hold can be "
				    "captured or voided.",
				    extra))
			return false;
	} else {
		int64_t captured = a->pay.status == LF_PAYMENT_COMPLETED ? a->pay.captured : 0;
		h->rest = !a->has_amount;
		h->amount = a->has_amount ? a->minor : captured - a->pay.refunded;
		struct lf_refund x = {.id = h->refund_id,
				      .payment_id = a->payment_id,
				      .amount = h->amount > 0 ? h->amount : 0,
				      .has_reason = a->has_reason,
				      .completed = true,
				      .created_ms = h->created_ms};
		memcpy(x.currency, a->pay.currency, 4);
		if (a->has_reason)
			memcpy(x.reason, a->reason, sizeof x.reason);
		char rid[LF_UUID_STR_LEN + 1];
		lf_uuid_format(&h->refund_id, rid);
		snprintf(extra, sizeof extra, "\"paymentId\":\"%s\",\"refundId\":\"%s\"", pid, rid);
		struct lf_refund declined = x;
		declined.completed = false;
		bool ok = lf_render_refund_body(&k->ok, &x) &&
			  lf_render_refund_body(&k->event_other, &declined) &&
			  render_problem(&k->other, 422, "insufficient_funds",
					 "The receiver's available balance does not cover the "
					 "refund; the refund was declined and recorded.",
					 extra);
		snprintf(extra, sizeof extra, "\"paymentId\":\"%s\"", pid);
		if (!ok || !render_problem(&k->exceeds, 422, "refund_exceeds_payment",
					   "The refund exceeds what is left of the payment's "
					   "captured amount.",
					   extra))
			return false;
		h->body_exceeds = k->exceeds.data;
		h->body_exceeds_len = k->exceeds.len;
	}
	h->body_ok = k->ok.data;
	h->body_ok_len = k->ok.len;
	h->body_other = k->other.data;
	h->body_other_len = k->other.len;
	h->event_other = k->event_other.data;
	h->event_other_len = k->event_other.len;
	return true;
}

static lf_rc hold_attempt(struct lf_store_conn *c, void *arg)
{
	struct act_call *k = arg;
	lf_stored_clear(&k->stored);
	return lf_store_finish_hold(c, &k->h, &k->result, &k->stored);
}

static lf_rc refund_attempt(struct lf_store_conn *c, void *arg)
{
	struct act_call *k = arg;
	lf_stored_clear(&k->stored);
	return lf_store_refund(c, &k->h, &k->result, &k->stored);
}

struct record_call {
	struct act *a;
	bool replay;
	struct lf_stored stored;
};

static lf_rc record_attempt(struct lf_store_conn *c, void *arg)
{
	struct record_call *rc = arg;
	struct act *a = rc->a;
	int64_t now = lf_time_now_ms();
	lf_stored_clear(&rc->stored);
	return lf_store_record_outcome(c, a->who.id, a->key.text, a->key.len, a->fp, 422, NULL,
				       a->d.body.data, a->d.body.len, now, LF_TIME_FOREVER_MS,
				       &rc->replay, &rc->stored);
}

/* A 422 the CALL decided without writing: recorded with the key. */
static bool record_422(struct lf_store_conn *c, struct act *a, const char *code, const char *detail)
{
	lf_decision_problem(&a->d, 422, code, detail, NULL);
	struct record_call call = {.a = a};
	lf_rc rc = lf_api_retry(record_attempt, c, &call, a->max_retries, &a->retries);
	if (rc == LF_OK && call.replay)
		lf_decision_from_stored(&a->d, &call.stored, a->fp);
	else if (rc == LF_OK)
		a->d.storable = true;
	else if (rc == LF_LOST || rc == LF_ERROR) {
		a->after_error = rc == LF_ERROR;
		act_unknown(a);
	} else
		lf_decision_failed(&a->d, rc);
	lf_stored_clear(&call.stored);
	return rc != LF_LOST;
}

/* What the CALL's result means. False when the connection broke. */
static bool call_decide(struct lf_store_conn *c, struct act *a, struct act_call *k, lf_rc rc)
{
	if (rc == LF_LOST || rc == LF_ERROR) {
		a->after_error = rc == LF_ERROR;
		act_unknown(a);
		return rc != LF_LOST;
	}
	if (rc != LF_OK) {
		lf_decision_failed(&a->d, rc); /* rolled back past the retries */
		return true;
	}
	switch (k->result) {
	case LF_HOLD_DONE:
		lf_decision_fresh(&a->d, a->kind == ACT_REFUND ? 201 : 200, &k->ok, NULL);
		return true;
	case LF_HOLD_NOT_PENDING:
	case LF_HOLD_DECLINED:
		lf_decision_fresh(&a->d, k->result == LF_HOLD_NOT_PENDING ? 409 : 422, &k->other,
				  NULL);
		return true;
	case LF_HOLD_EXCEEDS: lf_decision_fresh(&a->d, 422, &k->exceeds, NULL); return true;
	case LF_HOLD_REPLAY: lf_decision_from_stored(&a->d, &k->stored, a->fp); return true;
	case LF_HOLD_NOT_FOUND:
		lf_decision_problem(&a->d, 404, "payment_not_found", "No payment has this id.",
				    NULL);
		return true;
	case LF_HOLD_AMOUNT_TOO_LARGE:
		return record_422(c, a, "amount_too_large",
				  "The amount would take an account's balance past the largest "
				  "amount the ledger can hold.");
	case LF_HOLD_INVALID_AMOUNT:
		lf_decision_problem(&a->d, 400, "invalid_amount",
				    "The amount exceeds the held amount.", NULL);
		return true;
	case LF_HOLD_STALE: break;
	}
	lf_decision_internal(&a->d);
	return true;
}

static bool act_decide(struct lf_store_conn *c, struct act *a)
{
	assert(a->state == ACT_DECIDE);
	if (c == NULL) {
		lf_decision_unavailable(&a->d);
		return true;
	}
	for (int attempt = 0;; attempt++) {
		struct act_call k = {0};
		if (!call_build(a, &k)) {
			call_clear(&k);
			lf_decision_internal(&a->d); /* out of memory: nothing sent */
			return true;
		}
		lf_rc rc = lf_api_retry(a->kind == ACT_REFUND ? refund_attempt : hold_attempt, c,
					&k, a->max_retries, &a->retries);
		if (rc == LF_OK && k.result == LF_HOLD_STALE && attempt < ACT_STALE_ATTEMPTS) {
			/* a concurrent refund changed the rest: read it again */
			call_clear(&k);
			lf_payment_clear(&a->pay);
			rc = lf_store_get_payment(c, &a->payment_id, &a->who, &a->pay);
			if (rc == LF_OK)
				continue;
			if (rc == LF_DECLINED)
				rc = LF_ERROR;
			lf_decision_failed(&a->d, rc); /* a read: nothing changed */
			return rc != LF_LOST;
		}
		if (rc == LF_OK && k.result == LF_HOLD_STALE) {
			call_clear(&k);
			lf_decision_failed(&a->d, LF_AGAIN); /* 503: retry */
			return true;
		}
		bool healthy = call_decide(c, a, &k, rc);
		call_clear(&k);
		return healthy;
	}
}

static bool act_settle(struct lf_store_conn *c, struct act *a)
{
	if (c == NULL) {
		act_unknown(a);
		return true;
	}
	struct lf_stored stored = {0};
	lf_rc rc = lf_store_get_outcome(c, a->who.id, a->key.text, a->key.len, &stored);
	if (rc != LF_OK) {
		lf_stored_clear(&stored);
		act_unknown(a);
		return rc != LF_LOST;
	}
	if (stored.found) {
		lf_decision_from_stored(&a->d, &stored, a->fp);
		lf_stored_clear(&stored);
		return true;
	}
	lf_stored_clear(&stored);
	if (a->after_error) {
		lf_decision_internal(&a->d);
		return true;
	}
	lf_decision_clear(&a->d);
	act_enter(a, ACT_DECIDE);
	return act_decide(c, a);
}

static bool act_lookup(struct lf_store_conn *c, struct act *a)
{
	if (c == NULL) {
		lf_decision_unavailable(&a->d);
		return true;
	}
	lf_rc rc = lf_store_get_payment(c, &a->payment_id, &a->who, &a->pay);
	a->found = rc == LF_OK;
	if (rc == LF_OK || rc == LF_DECLINED)
		return true;
	lf_decision_failed(&a->d, rc);
	return rc != LF_LOST;
}

static bool act_work(struct lf_store_conn *c, void *arg)
{
	struct act *a = arg;
	switch (a->state) {
	case ACT_LOOKUP: return act_lookup(c, a);
	case ACT_DECIDE: return act_decide(c, a);
	case ACT_SETTLE: return act_settle(c, a);
	default: break;
	}
	assert(!"a payment action job in a state without database work");
	return true;
}

/* ---- the loop ---- */

static void act_finish(struct act *a, bool tiers)
{
	struct lf_metrics *m = a->r->app->zone->metrics;
	act_enter(a, ACT_FINISH);
	if (tiers) {
		if (a->d.kind == LF_DEC_REPLY && a->d.replayed)
			lf_metrics_inc(&m->idem_hit_db);
		lf_metrics_add(&m->db_retries, a->retries);
		a->retries = 0;
		lf_idempotency_finish(a->r, &a->idem, &a->d);
	}
	lf_decision_send(a->r, &a->d);
}

static void act_done(void *arg);

static bool act_submit(struct act *a)
{
	struct lf_req *r = a->r;
	lf_req_hold(r);
	int64_t deadline = lf_time_monotonic_ms() + r->app->cfg->mysql_request_timeout_ms;
	if (lf_dbpool_submit_rerun(r->app->db, act_work, act_done, a, deadline) == LF_OK)
		return true;
	lf_req_release(r);
	return false;
}

static void act_claimed(struct lf_req *r, bool decided)
{
	struct act *a = r->state;
	if (decided) {
		act_finish(a, false);
		return;
	}
	act_enter(a, ACT_DECIDE);
	if (!act_submit(a)) {
		lf_decision_unavailable(&a->d);
		act_finish(a, true);
	}
}

/* LOOKUP is back: 404, the amount's 400s, then the tiers. */
static void act_looked_up(struct act *a)
{
	if (a->d.kind != LF_DEC_NONE) {
		act_finish(a, false); /* the read failed: nothing changed */
		return;
	}
	if (!a->found) {
		lf_decision_problem(&a->d, 404, "payment_not_found", "No payment has this id.",
				    NULL);
		act_finish(a, false);
		return;
	}
	if (a->has_amount) {
		const struct lf_currency *cur = lf_currency_find(a->pay.currency);
		enum lf_money_verdict v = cur ? lf_money_parse(a->amount, a->amount_len,
							       cur->exponent, false, &a->minor)
					      : LF_MONEY_SYNTAX;
		const char *why = v == LF_MONEY_FRACTION
					  ? "The amount has more fraction digits than the "
					    "payment's currency allows."
				  : v != LF_MONEY_OK ? "The amount is not a valid positive decimal."
				  : a->kind == ACT_CAPTURE && a->minor > a->pay.amount
					  ? "The amount exceeds the held amount."
					  : NULL;
		if (why != NULL) {
			lf_decision_problem(&a->d, 400, "invalid_amount", why, NULL);
			act_finish(a, false);
			return;
		}
	}
	act_enter(a, ACT_CLAIM);
	lf_idempotency_begin(a->r, &a->idem, a->who.id, a->key.text, a->key.len, a->fp, &a->d,
			     act_claimed);
}

static void act_done(void *arg)
{
	struct act *a = arg;
	struct lf_req *r = a->r;
	switch (a->state) {
	case ACT_LOOKUP:
		if (r->replied)
			act_enter(a, ACT_FINISH);
		else
			act_looked_up(a);
		break;
	case ACT_SETTLE:
		if (a->d.kind == LF_DEC_UNKNOWN) {
			if (!a->after_error)
				lf_metrics_inc(&r->app->zone->metrics->db_conn_lost);
			if (!r->replied && a->settles < ACT_SETTLE_ATTEMPTS) {
				a->settles++;
				if (act_submit(a))
					break;
			}
		}
		act_finish(a, true);
		break;
	case ACT_DECIDE: act_finish(a, true); break;
	default: assert(!"a payment action job came back in a state without one"); break;
	}
	lf_req_release(r);
}

/* PARSE, its first half: the id, then the Idempotency-Key. False after a
 * 400 was sent. */
static bool act_parse_key(struct lf_req *r, struct act *a, const char *id)
{
	if (id == NULL || !lf_uuid_parse(id, strlen(id), &a->payment_id)) {
		lf_req_problem(r, 400, "invalid_id", "The payment id is not a UUID.", NULL);
		return false;
	}
	char what[64];
	snprintf(what, sizeof what, "POST /api/payments/{id}/%s", act_names[a->kind]);
	return lf_api_prelude_key(r, LF_API_KEY_REQUIRED, what, &a->key);
}

/* PARSE, the rest: the body's members, the fingerprint. False after a
 * 400 was sent. */
static bool act_parse_body(struct lf_req *r, struct act *a)
{
	struct json_object *obj = NULL;
	if (!lf_api_prelude_body(r, &obj))
		return false;
	bool ok = false;
	struct json_object *amount = lf_field_get(obj, "amount");
	const char *amount_s = NULL, *reason_s = NULL;
	size_t amount_n = 0, reason_n = 0;
	char ibuf[24];
	enum lf_field_verdict rrc = a->kind == ACT_REFUND
					    ? lf_field_string(obj, "reason", &reason_s, &reason_n)
					    : LF_FIELD_ABSENT;
	int64_t ignored;
	if (a->kind != ACT_VOID && amount != NULL &&
	    !lf_money_json_text(amount, ibuf, &amount_s, &amount_n)) {
		lf_req_problem(r, 400, "invalid_amount",
			       "amount must be a JSON number or a decimal string.", NULL);
	} else if (a->kind != ACT_VOID && amount != NULL &&
		   (amount_n > LF_AMOUNT_TEXT_MAX ||
		    lf_money_parse(amount_s, amount_n, 9, false, &ignored) == LF_MONEY_SYNTAX ||
		    lf_money_parse(amount_s, amount_n, 9, false, &ignored) ==
			    LF_MONEY_NOT_POSITIVE)) {
		lf_req_problem(r, 400, "invalid_amount",
			       "amount must be a positive decimal without sign, exponent or "
			       "leading zeros.",
			       NULL);
	} else if (rrc == LF_FIELD_WRONG_TYPE ||
		   (rrc == LF_FIELD_OK &&
		    (lf_utf8_chars(reason_s, reason_n) > 200 || reason_n >= sizeof a->reason ||
		     memchr(reason_s, '\0', reason_n) != NULL))) {
		lf_req_problem(r, 400, "invalid_request",
			       "reason is a string of at most 200 characters, without U+0000.",
			       NULL);
	} else {
		a->has_amount = a->kind != ACT_VOID && amount != NULL;
		if (a->has_amount) {
			memcpy(a->amount, amount_s, amount_n);
			a->amount[amount_n] = '\0';
			a->amount_len = amount_n;
		}
		a->has_reason = rrc == LF_FIELD_OK;
		if (a->has_reason) {
			memcpy(a->reason, reason_s, reason_n);
			a->reason[reason_n] = '\0';
		}
		ok = true;
	}
	json_object_put(obj);
	if (!ok)
		return false;
	struct lf_fp fp;
	char route[96], pid[LF_UUID_STR_LEN + 1], canon[LF_AMOUNT_TEXT_MAX + 1];
	lf_uuid_format(&a->payment_id, pid);
	snprintf(route, sizeof route, "/api/payments/%s/%s", pid, act_names[a->kind]);
	lf_fp_begin(&fp, "POST", route);
	if (a->has_amount) {
		size_t n = lf_idem_canonical_decimal(a->amount, a->amount_len, canon);
		lf_fp_field(&fp, "amount", canon, n);
	} else {
		lf_fp_null(&fp, "amount");
	}
	if (a->has_reason)
		lf_fp_field(&fp, "reason", a->reason, strlen(a->reason));
	else
		lf_fp_null(&fp, "reason");
	lf_fp_end(&fp, a->fp);
	return true;
}

static void act_start(struct lf_req *r, const char *id, enum act_kind kind)
{
	struct act *a = calloc(1, sizeof *a);
	if (a == NULL) {
		lf_req_problem(r, 500, "internal_error", "Out of memory.", NULL);
		return;
	}
	r->state = a;
	r->free_state = act_free;
	a->r = r;
	a->kind = kind;
	a->state = ACT_PARSE;
	if (!act_parse_key(r, a, id)) {
		act_enter(a, ACT_FINISH); /* a 400 was sent */
		return;
	}
	/* a retry of a decided action, byte for byte: no JSON work, and no
	 * read of the payment */
	if (lf_idempotency_replay_unparsed(r, &a->idem, r->client.id, a->key.text, a->key.len,
					   &a->d)) {
		act_finish(a, false);
		return;
	}
	if (!act_parse_body(r, a)) {
		act_enter(a, ACT_FINISH);
		return;
	}
	const struct lf_config *cfg = r->app->cfg;
	a->who = r->client;
	a->max_retries = cfg->mysql_max_retries;
	lf_req_arm_deadline(r, cfg->request_timeout_ms);
	act_enter(a, ACT_LOOKUP);
	if (!act_submit(a)) {
		lf_decision_unavailable(&a->d);
		act_finish(a, false);
	}
}

void lf_payments_capture(struct lf_req *r, const char *id)
{
	act_start(r, id, ACT_CAPTURE);
}

void lf_payments_void(struct lf_req *r, const char *id)
{
	act_start(r, id, ACT_VOID);
}

void lf_payments_refund(struct lf_req *r, const char *id)
{
	act_start(r, id, ACT_REFUND);
}
