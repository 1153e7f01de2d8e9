/*
 * api/bulk_decide.c - the pool-thread half of POST /api/payments/batch
 * (the states are in bulk_int.h): learning every account's currency and
 * owner (LOOKUP), deciding the batch (DECIDE), and settling an unknown
 * outcome by asking the batch key (SETTLE).
 *
 * Atomic: every item's payment is rendered first (new ids, the time), then
 * one CALL lf_bulk_atomic decides the whole batch in one transaction and
 * stores the 201; a batch that fails at an item is rolled back whole and
 * its 422 batch_failed recorded with the key (lf_record_outcome: a
 * concurrent twin that stored first is replayed instead).
 *
 * Independent: the batch key's stored outcome first (a replay), and
 * whether items under it were decided for another request (422
 * idempotency_key_reused); then each item in request order through the
 * single payment's decision (lf_pay_work) under its derived key, so a
 * batch retried after a crash replays the items already decided and
 * decides the rest; then the 200 is recorded under the batch key. The
 * item in progress survives a broken connection (the pool runs the job
 * again on a fresh one and the item settles through its own key). A
 * batch's 201 and 200 are kept as long as its payments (their keys never
 * expire); a 422 batch_failed for the retention.
 */
#include "config.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "lf_config.h"
#include "lf_render.h"
#include "lf_risk.h"
#include "lf_store.h"
#include "lf_time.h"
#include "bulk_int.h"

/* ---- LOOKUP ---- */

static bool lookup(struct lf_store_conn *c, struct lf_bulk *b)
{
	if (c == NULL) {
		lf_decision_unavailable(&b->d);
		return true;
	}
	int m = 2 * b->n;
	lf_uuid *ids = malloc((size_t)m * sizeof *ids);
	bool *found = malloc((size_t)m * sizeof *found);
	char(*cur)[4] = malloc((size_t)m * sizeof *cur);
	uint64_t *owner = malloc((size_t)m * sizeof *owner);
	lf_rc rc = LF_ERROR;
	if (ids != NULL && found != NULL && cur != NULL && owner != NULL) {
		for (int i = 0; i < b->n; i++) {
			ids[2 * i] = b->items[i].from;
			ids[2 * i + 1] = b->items[i].to;
		}
		rc = lf_store_bulk_accounts(c, ids, m, found, cur, owner);
	}
	if (rc == LF_OK) {
		lf_decision_clear(&b->d); /* a failed first run's answer */
		for (int i = 0; i < b->n; i++) {
			struct lf_bulk_item *it = &b->items[i];
			for (int s = 0; s < 2; s++) {
				it->found[s] = found[2 * i + s];
				memcpy(it->cur[s], cur[2 * i + s], 4);
				it->owner[s] = owner[2 * i + s];
			}
			/* another client's sender looks exactly like a missing one */
			if (it->found[0] && !b->admin && it->owner[0] != b->client_id)
				it->found[0] = false;
		}
	} else if (ids == NULL || found == NULL || cur == NULL || owner == NULL) {
		lf_decision_internal(&b->d);
	} else {
		lf_decision_failed(&b->d, rc); /* a read: nothing was changed */
	}
	free(ids);
	free(found);
	free(cur);
	free(owner);
	return rc != LF_LOST;
}

/* ---- recording an outcome that moved no money of its own ---- */

struct record_call {
	struct lf_bulk *b;
	int status;
	int64_t expires_ms;
	bool replay;
	struct lf_stored stored;
};

static lf_rc record_attempt(struct lf_store_conn *c, void *arg)
{
	struct record_call *rc = arg;
	struct lf_bulk *b = rc->b;
	lf_stored_clear(&rc->stored);
	return lf_store_record_outcome(c, b->client_id, b->key.text, b->key.len, b->fp, rc->status,
				       NULL, b->d.body.data, b->d.body.len, lf_time_now_ms(),
				       rc->expires_ms, &rc->replay, &rc->stored);
}

/* b->d holds the decided answer: store it under the batch key, or take
 * the outcome the key already has. False when the connection broke. */
static bool record(struct lf_store_conn *c, struct lf_bulk *b, int64_t expires_ms)
{
	struct record_call call = {.b = b, .status = b->d.status, .expires_ms = expires_ms};
	b->wrote = true;
	lf_rc rc = lf_api_retry(record_attempt, c, &call, b->max_retries, &b->retries);
	if (rc == LF_OK && call.replay) {
		lf_bulk_metrics_forget(b); /* another request's answer */
		lf_decision_from_stored(&b->d, &call.stored, b->fp);
	} else if (rc == LF_OK) {
		b->d.storable = true;
	} else if (rc == LF_LOST || rc == LF_ERROR) {
		b->after_error = rc == LF_ERROR;
		lf_bulk_unknown(b);
	} else {
		lf_decision_failed(&b->d, rc); /* rolled back */
	}
	lf_stored_clear(&call.stored);
	return rc != LF_LOST;
}

/* ---- atomic ---- */

/* The payment item i becomes, COMPLETED, rendered into out. */
static bool render_item(const struct lf_bulk *b, int i, const struct lf_bulk_atomic_item *a,
			int64_t created_ms, struct lf_body *out)
{
	const struct lf_bulk_item *it = &b->items[i];
	struct lf_payment pay = {.id = a->payment_id,
				 .from = it->from,
				 .to = it->to,
				 .amount = it->minor,
				 .has_reference = it->reference != NULL,
				 .status = LF_PAYMENT_COMPLETED,
				 .has_captured = true,
				 .captured = it->minor,
				 .created_ms = created_ms,
				 .metadata = it->metadata};
	memcpy(pay.currency, it->cur[0], 4);
	if (it->reference != NULL)
		snprintf(pay.reference, sizeof pay.reference, "%s", it->reference);
	return lf_render_payment_body(out, &pay);
}

static const char *problem_detail(const char *code)
{
	if (strcmp(code, "insufficient_funds") == 0)
		return "The sender's available balance does not cover the payment.";
	if (strcmp(code, "same_account") == 0)
		return "A payment needs two different accounts.";
	if (strcmp(code, "currency_mismatch") == 0)
		return "The accounts' currencies differ from each other or from the request.";
	if (strcmp(code, "risk_declined") == 0)
		return "A risk rule declined the payment.";
	if (strcmp(code, "amount_too_large") == 0)
		return "The amount would take an account's balance past the largest amount the "
		       "ledger can hold.";
	return "An account of the payment does not exist.";
}

/* 422 batch_failed into b->d: the index and the problem the item would
 * have got on its own (without paymentId: nothing was recorded). */
static bool render_failed(struct lf_bulk *b, int index, const char *code)
{
	struct lf_body item = {0};
	if (!lf_render_problem_body(&item, 422, code, problem_detail(code), NULL))
		return false;
	size_t cap = item.len + 64;
	char *extra = malloc(cap);
	if (extra == NULL) {
		lf_body_clear(&item);
		return false;
	}
	snprintf(extra, cap, "\"index\":%d,\"error\":%s", index, item.data);
	char detail[160];
	snprintf(detail, sizeof detail,
		 "payments[%d] could not be made (%s): nothing of the batch was done.", index,
		 code);
	lf_decision_problem(&b->d, 422, "batch_failed", detail, extra);
	free(extra);
	lf_body_clear(&item);
	return b->d.body.data != NULL;
}

struct atomic_call {
	struct lf_bulk_atomic_req req;
	enum lf_bulk_atomic_result result;
	int index;
	char code[32], rule[32];
	struct lf_stored stored;
};

/* Item i as a single payment in DECIDE under its derived key. */
static struct lf_pay *item_pay(struct lf_bulk *b, int i);

/* The risk rules of every item: the limits lf_bulk_atomic applies under
 * the locks, and the rules decided before the transaction, in request
 * order (lf_bulk_atomic reports the first item that cannot be made, so a
 * rule stopping item 3 does not hide item 1's insufficient funds):
 * max_amount, then the risk webhook, asked from this pool thread while no
 * lock is held, like a payment's. The webhook is not asked past an item
 * stopped here (the batch fails there or before it), nor again after one
 * call in the batch went unanswered: [risk] webhook_policy decides for
 * the rest, so a batch waits for at most one timeout. False when out of
 * memory. */
static bool atomic_risk(struct lf_bulk *b, struct lf_bulk_atomic_item *items)
{
	if (b->cfg == NULL)
		return true;
	bool ask = b->cfg->risk_webhook_url[0] != '\0';
	bool closed = strcmp(b->cfg->risk_webhook_policy, "closed") == 0;
	for (int i = 0; i < b->n; i++) {
		const struct lf_bulk_item *it = &b->items[i];
		struct lf_bulk_atomic_item *a = &items[i];
		struct lf_risk_limits lim;
		if (!it->found[0])
			continue; /* account_not_found when reached */
		lf_risk_limits_for(b->cfg, it->cur[0], &lim);
		a->velocity_count = lim.velocity_count;
		a->velocity_sum = lim.velocity_sum;
		a->velocity_window_ms = lim.velocity_window_ms;
		a->daily_limit = lim.daily_limit;
		if (lim.max_amount > 0 && it->minor > lim.max_amount) {
			a->risk_rule = lf_risk_rule_name(LF_RISK_MAX_AMOUNT);
			ask = false;
			continue;
		}
		if (!ask || !it->found[1] || memcmp(it->from.b, it->to.b, 16) == 0)
			continue;
		enum lf_risk_verdict v = LF_RISK_FAILED;
		if (!b->risk_webhook_down) {
			struct lf_pay *p = item_pay(b, i);
			if (p == NULL)
				return false;
			v = lf_pay_risk_webhook(p);
			free(p); /* its metadata is the item's */
			if (v == LF_RISK_FAILED) {
				b->risk_webhook_down = true;
				b->risk_webhook_failures++;
			}
		}
		if (v == LF_RISK_DECLINE || (v == LF_RISK_FAILED && closed)) {
			a->risk_rule = lf_risk_rule_name(LF_RISK_WEBHOOK);
			ask = false;
		}
	}
	return true;
}

static lf_rc atomic_attempt(struct lf_store_conn *c, void *arg)
{
	struct atomic_call *k = arg;
	lf_stored_clear(&k->stored);
	return lf_store_bulk_atomic(c, &k->req, &k->result, &k->index, k->code, k->rule,
				    &k->stored);
}

/* The items and both bodies (each payment's, the batch's 201). */
static bool atomic_build(struct lf_bulk *b, struct lf_bulk_atomic_item *items,
			 struct lf_body *bodies, struct lf_body *all, int64_t now)
{
	struct evbuffer *eb = evbuffer_new();
	if (eb == NULL)
		return false;
	bool ok = evbuffer_add(eb, "{\"payments\":[", 13) == 0;
	for (int i = 0; ok && i < b->n; i++) {
		const struct lf_bulk_item *it = &b->items[i];
		struct lf_bulk_atomic_item *a = &items[i];
		a->key_len = lf_bulk_item_key(b->prefix, i, a->key);
		lf_uuid_v7(&a->payment_id);
		lf_uuid_v7(&a->debit_entry_id);
		lf_uuid_v7(&a->credit_entry_id);
		lf_uuid_v7(&a->event_id);
		a->from = it->from;
		a->to = it->to;
		a->sender_known = it->found[0];
		a->amount = it->minor;
		memcpy(a->currency, it->has_currency ? it->currency : it->cur[0], 4);
		if (a->currency[0] == '\0')
			memcpy(a->currency, "XXX", 4); /* unknown sender: never reached */
		a->reference = it->reference;
		a->metadata = it->metadata;
		ok = render_item(b, i, a, now, &bodies[i]);
		if (ok) {
			a->body = bodies[i].data;
			a->body_len = bodies[i].len;
			ok = (i == 0 || evbuffer_add(eb, ",", 1) == 0) &&
			     evbuffer_add(eb, bodies[i].data, bodies[i].len) == 0;
		}
	}
	ok = ok && evbuffer_add(eb, "]}", 2) == 0 && lf_render_body(all, eb);
	evbuffer_free(eb);
	return ok;
}

static bool atomic(struct lf_store_conn *c, struct lf_bulk *b)
{
	if (c == NULL) {
		lf_decision_unavailable(&b->d); /* nothing was sent */
		return true;
	}
	/* items under this key decided for another batch (an independent
	 * one cut short): the key is taken */
	bool prior = false;
	uint8_t prior_fp[LF_FINGERPRINT_LEN];
	lf_rc prc = lf_store_bulk_prior(c, b->client_id, b->prefix, &prior, prior_fp);
	if (prc != LF_OK) {
		lf_decision_failed(&b->d, prc); /* a read: nothing was changed */
		return prc != LF_LOST;
	}
	if (prior && memcmp(prior_fp, b->fp, LF_FINGERPRINT_LEN) != 0) {
		struct lf_body none = {0};
		lf_decision_replay(&b->d, 422, &none, NULL, prior_fp, b->fp);
		return true;
	}
	int64_t now = lf_time_now_ms();
	struct lf_bulk_atomic_item *items = calloc((size_t)b->n, sizeof *items);
	struct lf_body *bodies = calloc((size_t)b->n, sizeof *bodies);
	struct lf_body all = {0};
	struct atomic_call k = {0};
	bool healthy = true;
	if (items == NULL || bodies == NULL || !atomic_risk(b, items) ||
	    !atomic_build(b, items, bodies, &all, now)) {
		lf_decision_internal(&b->d); /* out of memory: nothing was sent */
		goto out;
	}
	k.req = (struct lf_bulk_atomic_req){.client_id = b->client_id,
					    .admin = b->admin,
					    .idem_key = b->key.text,
					    .idem_key_len = b->key.len,
					    .created_ms = now,
					    .expires_ms = LF_TIME_FOREVER_MS,
					    .body = all.data,
					    .body_len = all.len,
					    .items = items,
					    .n = b->n};
	memcpy(k.req.fingerprint, b->fp, LF_FINGERPRINT_LEN);
	b->wrote = true;
	lf_rc rc = lf_api_retry(atomic_attempt, c, &k, b->max_retries, &b->retries);
	if (rc == LF_LOST || rc == LF_ERROR) {
		/* it may have committed: the key settles it */
		b->after_error = rc == LF_ERROR;
		lf_bulk_unknown(b);
		healthy = rc != LF_LOST;
	} else if (rc != LF_OK) {
		lf_decision_failed(&b->d, rc); /* LF_AGAIN past the retries: rolled back */
	} else if (k.result == LF_BULK_ATOMIC_COMPLETED) {
		lf_decision_fresh(&b->d, 201, &all, NULL);
		b->completed = (unsigned)b->n;
	} else if (k.result == LF_BULK_ATOMIC_REPLAY) {
		lf_decision_from_stored(&b->d, &k.stored, b->fp);
	} else if (!render_failed(b, k.index, k.code)) {
		lf_decision_internal(&b->d);
	} else {
		enum lf_risk_rule rule = lf_risk_rule_parse(k.rule);
		if (strcmp(k.code, "risk_declined") == 0 && rule != LF_RISK_NONE)
			b->risk_declined[rule]++;
		/* a failed batch keeps its answer for the retention only */
		healthy = record(c, b, now + b->retention_ms);
	}
out:
	lf_stored_clear(&k.stored);
	lf_body_clear(&all);
	for (int i = 0; bodies != NULL && i < b->n; i++)
		lf_body_clear(&bodies[i]);
	free(bodies);
	free(items);
	return healthy;
}

/* ---- independent ---- */

static struct lf_pay *item_pay(struct lf_bulk *b, int i)
{
	const struct lf_bulk_item *it = &b->items[i];
	struct lf_pay *p = calloc(1, sizeof *p);
	if (p == NULL)
		return NULL;
	p->r = b->r; /* never touched on the pool thread */
	p->state = PAY_DECIDE;
	p->key.present = true;
	p->key.len = lf_bulk_item_key(b->prefix, i, p->key.text);
	memcpy(p->fp, b->fp, LF_FINGERPRINT_LEN); /* the batch's request */
	p->from = it->from;
	p->to = it->to;
	memcpy(p->amount, it->amount, sizeof p->amount);
	p->amount_len = it->amount_len;
	p->minor = it->minor;
	p->has_currency = it->has_currency;
	memcpy(p->currency, it->currency, sizeof p->currency);
	p->has_reference = it->reference != NULL;
	if (p->has_reference)
		snprintf(p->reference, sizeof p->reference, "%s", it->reference);
	p->metadata = it->metadata; /* lent: the item frees it */
	p->client_id = b->client_id;
	p->admin = b->admin;
	/* the risk rules, as for a single payment (decide() and lf_transfer_v2
	 * apply them) */
	p->cfg = b->cfg;
	p->risk_webhook_down = b->risk_webhook_down;
	if (it->found[0] && b->cfg != NULL)
		lf_risk_limits_for(b->cfg, it->cur[0], &p->risk);
	p->max_retries = b->max_retries;
	p->retention_ms = b->retention_ms;
	p->cur_known = true;
	memcpy(p->found, it->found, sizeof p->found);
	memcpy(p->cur, it->cur, sizeof p->cur);
	memcpy(p->owner, it->owner, sizeof p->owner);
	return p;
}

static void drop_pay(struct lf_bulk *b)
{
	if (b->pay == NULL)
		return;
	lf_decision_clear(&b->pay->d);
	free(b->pay);
	b->pay = NULL;
}

/* The batch key's own outcome, then its items'. False when the
 * connection broke; b->checked when the items are to be decided. */
static bool independent_check(struct lf_store_conn *c, struct lf_bulk *b)
{
	struct lf_stored stored = {0};
	lf_decision_clear(&b->d); /* a failed first run's answer */
	lf_rc rc = lf_store_get_outcome(c, b->client_id, b->key.text, b->key.len, &stored);
	if (rc == LF_OK && stored.found) {
		lf_decision_from_stored(&b->d, &stored, b->fp);
	} else if (rc == LF_OK) {
		bool found = false;
		uint8_t fp[LF_FINGERPRINT_LEN];
		rc = lf_store_bulk_prior(c, b->client_id, b->prefix, &found, fp);
		if (rc == LF_OK && found && memcmp(fp, b->fp, LF_FINGERPRINT_LEN) != 0) {
			/* items of this key were decided for another batch */
			struct lf_body none = {0};
			lf_decision_replay(&b->d, 422, &none, NULL, fp, b->fp);
		} else if (rc == LF_OK) {
			b->checked = true;
		}
	}
	if (rc != LF_OK)
		lf_decision_failed(&b->d, rc); /* a read: nothing was changed */
	lf_stored_clear(&stored);
	return rc != LF_LOST;
}

/* The 200 of the decided items into b->d. */
static bool render_results(struct lf_bulk *b)
{
	struct evbuffer *eb = evbuffer_new();
	if (eb == NULL)
		return false;
	bool ok = evbuffer_add(eb, "{\"results\":[", 12) == 0;
	for (int i = 0; ok && i < b->n; i++) {
		const struct lf_bulk_item *it = &b->items[i];
		ok = evbuffer_add_printf(eb, "%s{\"status\":%d,\"%s\":", i ? "," : "", it->status,
					 it->status == 201 ? "payment" : "problem") > 0 &&
		     evbuffer_add(eb, it->body.data, it->body.len) == 0 &&
		     evbuffer_add(eb, "}", 1) == 0;
	}
	ok = ok && evbuffer_add(eb, "]}", 2) == 0;
	struct lf_body body = {0};
	ok = ok && lf_render_body(&body, eb);
	evbuffer_free(eb);
	if (ok)
		lf_decision_fresh(&b->d, 200, &body, NULL);
	return ok;
}

static bool independent(struct lf_store_conn *c, struct lf_bulk *b)
{
	if (c == NULL) {
		if (b->wrote)
			lf_bulk_unknown(b);
		else
			lf_decision_unavailable(&b->d);
		return true;
	}
	if (!b->checked && !independent_check(c, b))
		return false;
	if (!b->checked)
		return true; /* answered */
	while (b->next < b->n) {
		if (b->pay == NULL && (b->pay = item_pay(b, b->next)) == NULL) {
			lf_decision_internal(&b->d);
			return true;
		}
		struct lf_pay *p = b->pay;
		b->wrote = true;
		/* the item's decision, settled through its own key when its
		 * outcome is unknown (bounded like the loop's settle jobs) */
		for (int tries = 0;; tries++) {
			bool healthy = lf_pay_work(c, p);
			b->retries += p->retries;
			p->retries = 0;
			if (!healthy)
				return false; /* the pool runs it again on a fresh connection */
			if (p->state != PAY_SETTLE || p->d.kind != LF_DEC_UNKNOWN || tries >= 3)
				break;
		}
		if (p->d.kind != LF_DEC_REPLY || p->d.reused) {
			/* the batch stops: a 503 (unknown or not), a 500, or an item
			 * key decided for another request; decided items replay */
			if (p->d.kind == LF_DEC_UNKNOWN)
				b->after_error = p->after_error;
			lf_decision_clear(&b->d);
			b->d = p->d;
			memset(&p->d, 0, sizeof p->d); /* handed over */
			drop_pay(b);
			return true;
		}
		struct lf_bulk_item *it = &b->items[b->next];
		it->status = p->d.status;
		lf_body_take(&it->body, &p->d.body);
		if (p->d.storable && !p->d.replayed && it->status == 201)
			b->completed++;
		else if (p->d.storable && !p->d.replayed && p->declined)
			b->declined++;
		if (p->d.storable && !p->d.replayed && p->declined &&
		    p->risk_declined > LF_RISK_NONE && p->risk_declined < LF_RISK_NRULES)
			b->risk_declined[p->risk_declined]++;
		b->risk_webhook_failures += p->risk_webhook_failed;
		b->risk_webhook_down = b->risk_webhook_down || p->risk_webhook_failed;
		drop_pay(b);
		b->next++;
	}
	if (!render_results(b)) {
		lf_decision_internal(&b->d);
		return true;
	}
	/* kept as long as its payments */
	return record(c, b, LF_TIME_FOREVER_MS);
}

/* ---- SETTLE ---- */

/* The batch's outcome is unknown: its key decides. Found: replayed. None:
 * nothing of the batch committed (atomic) or its 200 was not stored
 * (independent): decide again. */
static bool settle(struct lf_store_conn *c, struct lf_bulk *b)
{
	if (c == NULL)
		return true; /* still unknown */
	struct lf_stored stored = {0};
	lf_rc rc = lf_store_get_outcome(c, b->client_id, b->key.text, b->key.len, &stored);
	if (rc != LF_OK) {
		lf_stored_clear(&stored);
		lf_bulk_unknown(b);
		return rc != LF_LOST;
	}
	if (stored.found) {
		lf_bulk_metrics_forget(b);
		lf_decision_from_stored(&b->d, &stored, b->fp);
		lf_stored_clear(&stored);
		return true;
	}
	lf_stored_clear(&stored);
	if (b->after_error) {
		/* an error and no outcome under the key: nothing committed
		 * (the key is written in the same transaction) */
		lf_decision_internal(&b->d);
		return true;
	}
	lf_decision_clear(&b->d);
	lf_bulk_enter(b, BULK_DECIDE);
	return b->atomic ? atomic(c, b) : independent(c, b);
}

bool lf_bulk_work(struct lf_store_conn *c, void *arg)
{
	struct lf_bulk *b = arg;
	switch (b->state) {
	case BULK_LOOKUP: return lookup(c, b);
	case BULK_DECIDE: return b->atomic ? atomic(c, b) : independent(c, b);
	case BULK_SETTLE: return settle(c, b);
	default: break;
	}
	assert(!"a batch job in a state without database work");
	return true;
}
