/*
 * api/payment_decide.c - the pool-thread half of POST /api/payments (the
 * states are in payments_int.h): learning the accounts' currencies
 * (LOOKUP), the 422s that need no lock, recorded with the key, and the
 * transfer (DECIDE), and settling an unknown outcome by asking the key
 * (SETTLE). The transfer is three steps: building the call (the request
 * and both possible bodies, rendered before the call so that the stored
 * body is the one sent; payment_batch.c builds its members' the same way),
 * the retry loop (lf_api_retry), and mapping the result to a decision. Error classes: LF_LOST or
 * LF_ERROR on a write make the outcome unknown, settled through the key (lf_pay_unknown); LF_AGAIN
 * past the retries is a rolled-back 503; a read's LF_ERROR a 500; no
 * connection a 503.
 */
#include "config.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "lf_config.h"
#include "lf_render.h"
#include "lf_store.h"
#include "lf_time.h"
#include "payments_int.h"

/* A failure of a write that was rolled back, or of a read: nothing was
 * changed. LF_LOST is not one of them for a write (lf_pay_unknown). */
static void rolled_back(struct lf_pay *p, lf_rc rc)
{
	lf_decision_failed(&p->d, rc);
}

/* ---- the 422s decided before the transaction ---- */

struct record_call {
	struct lf_pay *p;
	bool replay;
	struct lf_stored stored;
};

static lf_rc record_attempt(struct lf_store_conn *c, void *arg)
{
	struct record_call *rc = arg;
	struct lf_pay *p = rc->p;
	int64_t now = lf_time_now_ms();
	lf_stored_clear(&rc->stored);
	return lf_store_record_outcome(c, p->client_id, p->key.text, p->key.len, p->fp, 422, NULL,
				       p->d.body.data, p->d.body.len, now, now + p->retention_ms,
				       &rc->replay, &rc->stored);
}

/* A 422 decided without a transaction: record it with the key so a retry
 * gets the same answer, or take the outcome the key already has. Returns
 * false when the connection broke. */
static bool decide_422(struct lf_store_conn *c, struct lf_pay *p, const char *code,
		       const char *detail)
{
	lf_decision_problem(&p->d, 422, code, detail, NULL);
	struct record_call call = {.p = p};
	lf_rc rc = lf_api_retry(record_attempt, c, &call, p->max_retries, &p->retries);
	if (rc == LF_OK && call.replay)
		lf_decision_from_stored(&p->d, &call.stored, p->fp);
	else if (rc == LF_OK)
		p->d.storable = true;
	else if (rc == LF_LOST || rc == LF_ERROR) {
		p->after_error = rc == LF_ERROR;
		lf_pay_unknown(p);
	} else
		rolled_back(p, rc);
	lf_stored_clear(&call.stored);
	return rc != LF_LOST;
}

/* ---- the transfer ---- */

bool lf_pay_transfer_build(struct lf_pay *p, struct lf_pay_transfer *call)
{
	struct lf_transfer_req *t = &call->t;
	*t = (struct lf_transfer_req){
		.client_id = p->client_id,
		.admin = p->admin,
		.idem_key = p->key.text,
		.idem_key_len = p->key.len,
		.from = p->from,
		.to = p->to,
		.amount = p->minor,
		.currency = p->cur[0],
		.reference = p->has_reference ? p->reference : NULL,
	};
	memcpy(t->fingerprint, p->fp, LF_FINGERPRINT_LEN);
	lf_uuid_v7(&t->payment_id);
	lf_uuid_v7(&t->debit_entry_id);
	lf_uuid_v7(&t->credit_entry_id);
	t->created_ms = lf_time_now_ms();
	t->expires_ms = t->created_ms + p->retention_ms;

	t->metadata = p->metadata;
	if (p->hold)
		t->hold_expires_ms = t->created_ms + p->hold_timeout_ms;
	/* metadata is p's, only lent to the renderer */
	struct lf_payment pay = {.id = t->payment_id,
				 .from = p->from,
				 .to = p->to,
				 .amount = p->minor,
				 .has_reference = p->has_reference,
				 .status = p->hold ? LF_PAYMENT_PENDING : LF_PAYMENT_COMPLETED,
				 .is_hold = p->hold,
				 .expires_ms = t->hold_expires_ms,
				 .has_captured = !p->hold,
				 .captured = p->minor,
				 .created_ms = t->created_ms,
				 .metadata = p->metadata};
	memcpy(pay.currency, p->cur[0], 4);
	if (p->has_reference)
		snprintf(pay.reference, sizeof pay.reference, "%s", p->reference);
	char id[LF_UUID_STR_LEN + 1];
	lf_uuid_format(&t->payment_id, id);
	snprintf(call->location, sizeof call->location, "/api/payments/%s", id);
	t->location = call->location;

	if (!lf_render_payment_body(&call->completed, &pay) ||
	    !lf_render_declined_body(&call->declined, &t->payment_id))
		return false;
	/* the payment as GET shows it once declined: its event's data */
	pay.status = LF_PAYMENT_DECLINED;
	pay.has_captured = false;
	if (!lf_render_payment_body(&call->declined_event, &pay))
		return false;
	t->event_declined = call->declined_event.data;
	t->event_declined_len = call->declined_event.len;
	t->body_completed = call->completed.data;
	t->body_completed_len = call->completed.len;
	t->body_declined = call->declined.data;
	t->body_declined_len = call->declined.len;
	/* the risk rules: the thresholds lf_transfer checks under the locks,
	 * and a rule decided here */
	t->risk_rule = p->risk_rule;
	t->velocity_count = p->risk.velocity_count;
	t->velocity_sum = p->risk.velocity_sum;
	t->velocity_window_ms = p->risk.velocity_window_ms;
	t->daily_limit = p->risk.daily_limit;
	if (!lf_render_risk_declined_body(&call->risk, &t->payment_id))
		return false;
	t->body_risk = call->risk.data;
	t->body_risk_len = call->risk.len;
	return true;
}

/* Step 2, one attempt of the retry loop. */
static lf_rc transfer_attempt(struct lf_store_conn *c, void *arg)
{
	struct lf_pay_transfer *call = arg;
	lf_stored_clear(&call->stored);
	return lf_store_transfer(c, &call->t, &call->result, &call->stored);
}

/* The key's stored outcome is gone (retention) but its payment is not:
 * answer from the payment row, rendered as it was the first time. */
static bool replay_payment(struct lf_store_conn *c, struct lf_pay *p, struct lf_stored *stored)
{
	if (stored->body_len != 16) {
		lf_decision_internal(&p->d);
		return true;
	}
	lf_uuid id;
	memcpy(id.b, stored->body, 16);
	struct lf_payment pay;
	/* the payment was made under this client's own key: it is theirs */
	struct lf_client who = {.id = p->client_id, .admin = true};
	lf_rc rc = lf_store_get_payment(c, &id, &who, &pay);
	if (rc != LF_OK) {
		rolled_back(p, rc == LF_DECLINED ? LF_ERROR : rc); /* a read */
		return rc != LF_LOST;
	}
	char idtext[LF_UUID_STR_LEN + 1], location[80];
	lf_uuid_format(&id, idtext);
	snprintf(location, sizeof location, "/api/payments/%s", idtext);
	struct lf_body body;
	/* as it was answered the first time: a hold PENDING, a payment
	 * COMPLETED, neither refunded yet */
	bool made = pay.status != LF_PAYMENT_DECLINED;
	if (made) {
		pay.status = pay.is_hold ? LF_PAYMENT_PENDING : LF_PAYMENT_COMPLETED;
		pay.has_captured = !pay.is_hold;
		pay.captured = pay.amount;
		pay.refunded = 0;
	}
	bool ok = made                ? lf_render_payment_body(&body, &pay)
		  : pay.risk_declined ? lf_render_risk_declined_body(&body, &id)
				      : lf_render_declined_body(&body, &id);
	lf_payment_clear(&pay);
	if (!ok) {
		lf_decision_internal(&p->d);
		return true;
	}
	lf_decision_replay(&p->d, made ? 201 : 422, &body, made ? location : NULL,
			   stored->fingerprint, p->fp);
	return true;
}

/* Step 3: what the transaction's result means for the client. Returns
 * false when the connection broke. */
static bool transfer_decide(struct lf_store_conn *c, struct lf_pay *p, struct lf_pay_transfer *call,
			    lf_rc rc)
{
	if (rc == LF_LOST) {
		lf_pay_unknown(p); /* during the CALL or after its COMMIT */
		return false;
	}
	if (rc == LF_ERROR) {
		/* the server may have committed before the error (or the
		 * result could not be read): the key settles it */
		p->after_error = true;
		lf_pay_unknown(p);
		return true;
	}
	if (rc != LF_OK) {
		rolled_back(p, rc); /* LF_AGAIN past the retries */
		return true;
	}
	switch (call->result) {
	case LF_TRANSFER_COMPLETED:
		lf_decision_fresh(&p->d, 201, &call->completed, call->location);
		return true;
	case LF_TRANSFER_DECLINED:
		lf_decision_fresh(&p->d, 422, &call->declined, NULL);
		p->declined = true;
		return true;
	case LF_TRANSFER_REPLAY: lf_decision_from_stored(&p->d, &call->stored, p->fp); return true;
	case LF_TRANSFER_ACCOUNT_NOT_FOUND:
		return decide_422(c, p, "account_not_found",
				  "An account of the payment does not exist.");
	case LF_TRANSFER_CURRENCY_MISMATCH:
		return decide_422(
			c, p, "currency_mismatch",
			"The accounts' currencies differ from each other or from the request.");
	case LF_TRANSFER_AMOUNT_TOO_LARGE:
		return decide_422(c, p, "amount_too_large",
				  "The amount would take an account's balance past the largest "
				  "amount the ledger can hold.");
	case LF_TRANSFER_PAYMENT_EXISTS: return replay_payment(c, p, &call->stored);
	case LF_TRANSFER_RISK_DECLINED:
		lf_decision_fresh(&p->d, 422, &call->risk, NULL);
		p->declined = true;
		p->risk_declined = lf_risk_rule_parse(call->stored.location);
		lf_stored_clear(&call->stored);
		return true;
	}
	lf_decision_internal(&p->d);
	return true;
}

static bool run_transfer(struct lf_store_conn *c, struct lf_pay *p)
{
	struct lf_pay_transfer call = {0};
	bool healthy = true;
	if (!lf_pay_transfer_build(p, &call)) {
		lf_decision_internal(&p->d); /* out of memory: nothing was sent */
	} else {
		lf_rc rc = lf_api_retry(transfer_attempt, c, &call, p->max_retries, &p->retries);
		healthy = transfer_decide(c, p, &call, rc);
	}
	lf_pay_transfer_clear(&call);
	return healthy;
}

void lf_pay_transfer_clear(struct lf_pay_transfer *call)
{
	lf_stored_clear(&call->stored);
	lf_body_clear(&call->completed);
	lf_body_clear(&call->declined);
	lf_body_clear(&call->declined_event);
	lf_body_clear(&call->risk);
}

static bool currency_differs(const struct lf_pay *p)
{
	return (p->has_currency && strcmp(p->currency, p->cur[0]) != 0) ||
	       strcmp(p->cur[0], p->cur[1]) != 0;
}

/* The amount's own rule: decided here, recorded by lf_transfer. */
static bool over_max_amount(const struct lf_pay *p)
{
	return p->risk.max_amount > 0 && p->minor > p->risk.max_amount;
}

/* The rules decided before the transaction (never while it holds a
 * lock): the amount, then the risk webhook, asked from this pool thread. */
static enum lf_risk_rule risk_before(struct lf_pay *p)
{
	if (over_max_amount(p))
		return LF_RISK_MAX_AMOUNT;
	if (p->cfg == NULL || p->cfg->risk_webhook_url[0] == '\0')
		return LF_RISK_NONE;
	if (!p->risk_webhook_down) {
		switch (lf_pay_risk_webhook(p)) {
		case LF_RISK_APPROVE: return LF_RISK_NONE;
		case LF_RISK_DECLINE: return LF_RISK_WEBHOOK;
		case LF_RISK_FAILED: break;
		}
		p->risk_webhook_failed = true;
	}
	return strcmp(p->cfg->risk_webhook_policy, "closed") == 0 ? LF_RISK_WEBHOOK : LF_RISK_NONE;
}

/* Every 400 is behind us and the currencies are known: the 422s that
 * need no lock, then the transaction. */
static bool decide(struct lf_store_conn *c, struct lf_pay *p)
{
	assert(p->state == PAY_DECIDE);
	p->declined = false;
	if (c == NULL) {
		lf_decision_unavailable(&p->d); /* nothing was sent */
		return true;
	}
	if (!p->found[0])
		return decide_422(c, p, "account_not_found", "The sender account does not exist.");
	if (memcmp(p->from.b, p->to.b, 16) == 0)
		return decide_422(c, p, "same_account", "A payment needs two different accounts.");
	if (!p->found[1])
		return decide_422(c, p, "account_not_found",
				  "The receiver account does not exist.");
	if (currency_differs(p))
		return decide_422(
			c, p, "currency_mismatch",
			"The accounts' currencies differ from each other or from the request.");
	p->risk_declined = LF_RISK_NONE;
	p->risk_rule = risk_before(p);
	return run_transfer(c, p);
}

bool lf_pay_needs_transfer(const struct lf_pay *p)
{
	/* a hold is batched like a payment (group.c places it); a payment a
	 * risk rule stops before the transaction is decided alone */
	return p->state == PAY_DECIDE && p->found[0] && p->found[1] &&
	       memcmp(p->from.b, p->to.b, 16) != 0 && !currency_differs(p) && !over_max_amount(p);
}

/* An earlier attempt's outcome is unknown: the key's stored outcome
 * decides. Found: it is replayed (ours, or a concurrent twin's with the
 * same fingerprint). None: nothing committed, decide again (an orphaned
 * transaction still alive in the server makes the new one wait on the
 * key's row, then replay or proceed). */
static bool settle(struct lf_store_conn *c, struct lf_pay *p)
{
	if (c == NULL) {
		lf_pay_unknown(p);
		return true;
	}
	struct lf_stored stored = {0};
	lf_rc rc = lf_store_get_outcome(c, p->client_id, p->key.text, p->key.len, &stored);
	if (rc != LF_OK) {
		lf_stored_clear(&stored);
		lf_pay_unknown(p);
		return rc != LF_LOST;
	}
	if (stored.found) {
		lf_decision_from_stored(&p->d, &stored, p->fp);
		lf_stored_clear(&stored);
		return true;
	}
	lf_stored_clear(&stored);
	if (p->after_error) {
		/* the write ended with an error and its key has no outcome:
		 * nothing committed (the key is written in the same
		 * transaction); deciding again would fail the same way */
		lf_decision_internal(&p->d);
		return true;
	}
	lf_decision_clear(&p->d);
	lf_pay_enter(p, PAY_DECIDE);
	return decide(c, p);
}

static bool lookup(struct lf_store_conn *c, struct lf_pay *p)
{
	if (c == NULL) {
		lf_decision_unavailable(&p->d);
		return true;
	}
	lf_uuid ids[2] = {p->from, p->to};
	lf_rc rc = lf_store_account_currencies(c, ids, p->found, p->cur, p->owner);
	if (rc != LF_OK) {
		rolled_back(p, rc); /* a read */
		return rc != LF_LOST;
	}
	lf_pay_check_owner(p);
	lf_decision_clear(&p->d);
	p->cur_known = true;
	return true;
}

bool lf_pay_work(struct lf_store_conn *c, void *arg)
{
	struct lf_pay *p = arg;
	switch (p->state) {
	case PAY_LOOKUP: return lookup(c, p);
	case PAY_DECIDE: return decide(c, p);
	case PAY_SETTLE: return settle(c, p);
	default: break;
	}
	assert(!"a payment job in a state without database work");
	return true;
}
