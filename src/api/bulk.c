/*
 * api/bulk.c - POST /api/payments/batch: the event-loop half of a batch
 * of payments (bulk_int.h has the states; bulk_decide.c the pool-thread
 * half).
 *
 * PARSE: the key (then a byte-identical retry of a decided batch is
 * replayed from the shm cache, lf_idempotency_replay_unparsed), the JSON
 * object, "atomic" and "payments" (1..1000
 * items), each item's 400 with the single payment's rules and the index
 * of the item in the problem ("index"), the fingerprint over the
 * normalised batch. LOOKUP: a pool job learns every account's currency
 * and owner in one query, so each amount's 400 (digits of its sender's
 * currency) still comes before any idempotency lookup. CLAIM: tiers 1 and
 * 2 under the batch key. DECIDE and SETTLE: pool jobs (bulk_decide.c);
 * after an unknown outcome the loop sends up to BULK_SETTLE_ATTEMPTS more
 * settle jobs. FINISH: the outcome goes to the tiers (or the claim is
 * released), the counters move, the decision is sent, once.
 *
 * A hold ("capture": false) is not accepted in a batch (400): a batch is
 * payments that move money now.
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
#include "lf_time.h"
#include "lf_zone.h"
#include "bulk_int.h"

#define BULK_SETTLE_ATTEMPTS 3

/* clang-format off */
static const bool allowed[BULK_FINISH + 1][BULK_FINISH + 1] = {
	[BULK_PARSE]  = {[BULK_LOOKUP] = true, [BULK_FINISH] = true},
	[BULK_LOOKUP] = {[BULK_CLAIM] = true, [BULK_FINISH] = true},
	[BULK_CLAIM]  = {[BULK_DECIDE] = true, [BULK_FINISH] = true},
	[BULK_DECIDE] = {[BULK_SETTLE] = true, [BULK_FINISH] = true},
	[BULK_SETTLE] = {[BULK_SETTLE] = true, [BULK_DECIDE] = true, [BULK_FINISH] = true},
	[BULK_FINISH] = {0},
};
/* clang-format on */

void lf_bulk_enter(struct lf_bulk *b, enum lf_bulk_state next)
{
	assert(b->state <= BULK_FINISH && next <= BULK_FINISH);
	assert(allowed[b->state][next]);
	b->state = next;
}

void lf_bulk_unknown(struct lf_bulk *b)
{
	lf_decision_unknown(&b->d, NULL);
	lf_bulk_enter(b, BULK_SETTLE);
}

static void bulk_free(void *state)
{
	struct lf_bulk *b = state;
	for (int i = 0; b->items != NULL && i < b->n; i++) {
		free(b->items[i].reference);
		free(b->items[i].metadata);
		lf_body_clear(&b->items[i].body);
	}
	free(b->items);
	if (b->pay != NULL)
		lf_decision_clear(&b->pay->d);
	free(b->pay);
	lf_decision_clear(&b->d);
	free(b);
}

/* ---- PARSE ---- */

/* A 400 naming the item. */
static void item_problem(struct lf_req *r, int i, const char *code, const char *what)
{
	char detail[320], extra[32];
	snprintf(detail, sizeof detail, "payments[%d]: %s", i, what);
	snprintf(extra, sizeof extra, "\"index\":%d", i);
	lf_req_problem(r, 400, code, detail, extra);
}

/* One item's 400 checks, in the single payment's order (payments.c).
 * False after replying. */
static bool parse_item(struct lf_req *r, struct json_object *obj, int i, struct lf_bulk_item *it)
{
	if (obj == NULL || json_object_get_type(obj) != json_type_object) {
		item_problem(r, i, "invalid_request", "each payment is a JSON object.");
		return false;
	}
	const char *from_s = NULL, *to_s = NULL, *cur_s = NULL, *ref_s = NULL, *amount_s = NULL;
	size_t from_n = 0, to_n = 0, cur_n = 0, ref_n = 0, amount_n = 0;
	char ibuf[24];
	enum lf_field_verdict frc = lf_field_string(obj, "fromAccountId", &from_s, &from_n);
	enum lf_field_verdict trc = lf_field_string(obj, "toAccountId", &to_s, &to_n);
	struct json_object *amount = lf_field_get(obj, "amount");
	enum lf_field_verdict crc = lf_field_string(obj, "currency", &cur_s, &cur_n);
	enum lf_field_verdict rrc = lf_field_string(obj, "reference", &ref_s, &ref_n);
	struct json_object *capture = lf_field_get(obj, "capture");
	struct json_object *hold_timeout = lf_field_get(obj, "holdTimeout");
	enum lf_field_verdict mrc = lf_api_metadata_parse(obj, &it->metadata);
	int64_t ignored;
	if (frc == LF_FIELD_ABSENT || trc == LF_FIELD_ABSENT || amount == NULL) {
		item_problem(r, i, "invalid_request",
			     "fromAccountId, toAccountId and amount are required.");
	} else if (frc != LF_FIELD_OK || trc != LF_FIELD_OK || crc == LF_FIELD_WRONG_TYPE ||
		   rrc == LF_FIELD_WRONG_TYPE) {
		item_problem(r, i, "invalid_request",
			     "fromAccountId, toAccountId, currency and reference must be strings.");
	} else if (!lf_money_json_text(amount, ibuf, &amount_s, &amount_n)) {
		item_problem(r, i, "invalid_amount",
			     "amount must be a JSON number or a decimal string.");
	} else if (!lf_uuid_parse(from_s, from_n, &it->from) ||
		   !lf_uuid_parse(to_s, to_n, &it->to)) {
		item_problem(r, i, "invalid_request", "Account ids must be UUIDs.");
	} else if (crc == LF_FIELD_OK && (cur_n != 3 || lf_currency_find(cur_s) == NULL)) {
		item_problem(r, i, "invalid_request",
			     "currency must be an upper-case active ISO 4217 code.");
	} else if (rrc == LF_FIELD_OK && (lf_utf8_chars(ref_s, ref_n) > 200 || ref_n >= 201 * 4 ||
					  memchr(ref_s, '\0', ref_n) != NULL)) {
		item_problem(r, i, "invalid_request",
			     "reference is at most 200 characters, without U+0000.");
	} else if (capture != NULL && json_object_get_type(capture) != json_type_boolean) {
		item_problem(r, i, "invalid_request", "capture must be true or false.");
	} else if ((capture != NULL && !json_object_get_boolean(capture)) || hold_timeout != NULL) {
		item_problem(r, i, "invalid_request",
			     "a batch makes payments only: holds (\"capture\": false, "
			     "\"holdTimeout\") are made one by one with POST /api/payments.");
	} else if (mrc == LF_FIELD_WRONG_TYPE) {
		item_problem(r, i, "invalid_request",
			     "metadata is an object of at most 20 string values, keys of 1 to 40 "
			     "and values of at most 500 characters.");
	} else if (amount_n > LF_AMOUNT_TEXT_MAX) {
		item_problem(r, i, "invalid_amount",
			     "amount must be a positive decimal without sign, exponent or "
			     "leading zeros.");
	} else {
		/* the sender's exponent decides fraction digits and the limit
		 * after LOOKUP; here only the grammar and the sign */
		enum lf_money_verdict merr = lf_money_parse(amount_s, amount_n, 9, false, &ignored);
		if (merr == LF_MONEY_SYNTAX || merr == LF_MONEY_NOT_POSITIVE ||
		    merr == LF_MONEY_WRONG_TYPE) {
			item_problem(r, i, "invalid_amount",
				     "amount must be a positive decimal without sign, exponent or "
				     "leading zeros.");
			return false;
		}
		memcpy(it->amount, amount_s, amount_n);
		it->amount[amount_n] = '\0';
		it->amount_len = amount_n;
		it->has_currency = crc == LF_FIELD_OK;
		if (it->has_currency)
			memcpy(it->currency, cur_s, 4);
		if (rrc == LF_FIELD_OK) {
			it->reference = strndup(ref_s, ref_n);
			if (it->reference == NULL) {
				lf_req_problem(r, 500, "internal_error", "Out of memory.", NULL);
				return false;
			}
		}
		return true;
	}
	return false;
}

/* The batch's 400 checks after the key's. False after replying. */
static bool parse_request(struct lf_req *r, struct lf_bulk *b)
{
	struct json_object *obj = NULL;
	if (!lf_api_prelude_body(r, &obj))
		return false;
	bool ok = false;
	struct json_object *atomic = lf_field_get(obj, "atomic");
	struct json_object *list = lf_field_get(obj, "payments");
	if (atomic == NULL || list == NULL) {
		lf_req_problem(r, 400, "invalid_request", "atomic and payments are required.",
			       NULL);
	} else if (json_object_get_type(atomic) != json_type_boolean) {
		lf_req_problem(r, 400, "invalid_request", "atomic must be true or false.", NULL);
	} else if (json_object_get_type(list) != json_type_array ||
		   json_object_array_length(list) < 1 ||
		   json_object_array_length(list) > LF_BULK_MAX_ITEMS) {
		lf_req_problem(r, 400, "invalid_request",
			       "payments is an array of 1 to 1000 payment requests.", NULL);
	} else {
		b->atomic = json_object_get_boolean(atomic);
		int n = (int)json_object_array_length(list);
		b->items = calloc((size_t)n, sizeof *b->items);
		if (b->items == NULL) {
			lf_req_problem(r, 500, "internal_error", "Out of memory.", NULL);
		} else {
			b->n = n;
			ok = true;
			for (int i = 0; ok && i < n; i++)
				ok = parse_item(r, json_object_array_get_idx(list, (size_t)i), i,
						&b->items[i]);
		}
	}
	json_object_put(obj);
	return ok;
}

/* Over the normalised batch: member order, whitespace and 100 versus
 * "100.00" do not make two batches different; an item is fingerprinted
 * with the single payment's fields, after its index. */
static void fingerprint(struct lf_bulk *b)
{
	struct lf_fp fp;
	char id[LF_UUID_STR_LEN + 1];
	char canon[LF_AMOUNT_TEXT_MAX + 1];
	char idx[16];
	lf_fp_begin(&fp, "POST", "/api/payments/batch");
	lf_fp_field(&fp, "atomic", b->atomic ? "true" : "false", b->atomic ? 4 : 5);
	for (int i = 0; i < b->n; i++) {
		const struct lf_bulk_item *it = &b->items[i];
		int in = snprintf(idx, sizeof idx, "%d", i);
		lf_fp_field(&fp, "index", idx, (size_t)in);
		lf_uuid_format(&it->from, id);
		lf_fp_field(&fp, "fromAccountId", id, LF_UUID_STR_LEN);
		lf_uuid_format(&it->to, id);
		lf_fp_field(&fp, "toAccountId", id, LF_UUID_STR_LEN);
		size_t cn = lf_idem_canonical_decimal(it->amount, it->amount_len, canon);
		lf_fp_field(&fp, "amount", canon, cn);
		if (it->has_currency)
			lf_fp_field(&fp, "currency", it->currency, 3);
		else
			lf_fp_null(&fp, "currency");
		if (it->reference != NULL)
			lf_fp_field(&fp, "reference", it->reference, strlen(it->reference));
		else
			lf_fp_null(&fp, "reference");
		if (it->metadata != NULL)
			lf_fp_field(&fp, "metadata", it->metadata, strlen(it->metadata));
	}
	lf_fp_end(&fp, b->fp);
}

/* ---- the states on the loop ---- */

void lf_bulk_metrics_forget(struct lf_bulk *b)
{
	b->completed = b->declined = b->risk_webhook_failures = 0;
	memset(b->risk_declined, 0, sizeof b->risk_declined);
}

static void bulk_finish(struct lf_bulk *b, bool tiers)
{
	struct lf_req *r = b->r;
	struct lf_metrics *m = r->app->zone->metrics;
	lf_bulk_enter(b, BULK_FINISH);
	if (tiers) {
		if (b->d.kind == LF_DEC_REPLY && b->d.replayed)
			lf_metrics_inc(&m->idem_hit_db);
		lf_metrics_add(&m->payments_completed, b->completed);
		lf_metrics_add(&m->payments_declined, b->declined);
		for (int i = LF_RISK_NONE + 1; i < LF_RISK_NRULES; i++)
			lf_metrics_add(&m->risk_declined[i], b->risk_declined[i]);
		lf_metrics_add(&m->risk_webhook_failures, b->risk_webhook_failures);
		if (b->d.kind == LF_DEC_REPLY && b->d.storable && !b->d.replayed)
			lf_metrics_inc(b->atomic ? &m->payment_batches[b->d.status == 201 ? 0 : 1]
						 : &m->payment_batches[2]);
		lf_bulk_metrics_forget(b);
		lf_metrics_add(&m->db_retries, b->retries);
		b->retries = 0;
		/* even when the deadline already answered */
		lf_idempotency_finish(r, &b->idem, &b->d);
	}
	lf_decision_send(r, &b->d);
}

static void bulk_done(void *arg);

static bool bulk_submit(struct lf_bulk *b)
{
	const struct lf_config *cfg = b->r->app->cfg;
	lf_req_hold(b->r);
	if (lf_dbpool_submit_rerun(b->r->app->db, lf_bulk_work, bulk_done, b,
				   lf_time_monotonic_ms() + cfg->mysql_request_timeout_ms) == LF_OK)
		return true;
	lf_req_release(b->r);
	return false;
}

static void bulk_claimed(struct lf_req *r, bool decided)
{
	struct lf_bulk *b = r->state;
	if (decided) {
		bulk_finish(b, false);
		return;
	}
	lf_bulk_enter(b, BULK_DECIDE);
	if (!bulk_submit(b)) {
		lf_decision_unavailable(&b->d); /* nothing was sent */
		bulk_finish(b, true);
	}
}

/* Every amount against its sender's currency; then the tiers. */
static void bulk_validated(struct lf_bulk *b)
{
	for (int i = 0; i < b->n; i++) {
		struct lf_bulk_item *it = &b->items[i];
		if (!it->found[0])
			continue; /* account_not_found when decided */
		const struct lf_currency *cur = lf_currency_find(it->cur[0]);
		enum lf_money_verdict merr = cur ? lf_money_parse(it->amount, it->amount_len,
								  cur->exponent, false, &it->minor)
						 : LF_MONEY_SYNTAX;
		if (merr == LF_MONEY_OK)
			continue;
		char what[160], extra[32];
		snprintf(what, sizeof what,
			 merr == LF_MONEY_FRACTION
				 ? "The amount has more fraction digits than %s allows."
			 : merr == LF_MONEY_TOO_LARGE
				 ? "The amount exceeds the largest accepted amount (%s)."
				 : "The amount is not a valid positive decimal (%s).",
			 it->cur[0]);
		char detail[200];
		snprintf(detail, sizeof detail, "payments[%d]: %s", i, what);
		snprintf(extra, sizeof extra, "\"index\":%d", i);
		lf_decision_problem(&b->d, 400, "invalid_amount", detail, extra);
		bulk_finish(b, false);
		return;
	}
	lf_bulk_enter(b, BULK_CLAIM);
	lf_idempotency_begin(b->r, &b->idem, b->client_id, b->key.text, b->key.len, b->fp, &b->d,
			     bulk_claimed);
}

static void bulk_done(void *arg)
{
	struct lf_bulk *b = arg;
	struct lf_req *r = b->r;
	switch (b->state) {
	case BULK_LOOKUP:
		if (r->replied)
			lf_bulk_enter(b, BULK_FINISH); /* the deadline answered; nothing claimed */
		else if (b->d.kind != LF_DEC_NONE)
			bulk_finish(b, false); /* a read failed: nothing was changed */
		else
			bulk_validated(b);
		break;
	case BULK_SETTLE:
		if (b->d.kind == LF_DEC_UNKNOWN) {
			if (!b->after_error)
				lf_metrics_inc(&r->app->zone->metrics->db_conn_lost);
			if (!r->replied && b->settles < BULK_SETTLE_ATTEMPTS) {
				b->settles++;
				if (bulk_submit(b))
					break;
			}
		}
		bulk_finish(b, true);
		break;
	case BULK_DECIDE:
		if (b->d.kind == LF_DEC_NONE) /* the rerun could not run: maybe written */
			lf_decision_unknown(&b->d, NULL);
		bulk_finish(b, true);
		break;
	default: assert(!"a batch job came back in a state without one"); break;
	}
	lf_req_release(r);
}

void lf_payments_batch(struct lf_req *r, const char *id)
{
	(void)id;
	struct lf_bulk *b = calloc(1, sizeof *b);
	if (b == NULL) {
		lf_req_problem(r, 500, "internal_error", "Out of memory.", NULL);
		return;
	}
	r->state = b;
	r->free_state = bulk_free;
	b->r = r;
	b->state = BULK_PARSE;
	if (!lf_api_prelude_key(r, LF_API_KEY_REQUIRED, "POST /api/payments/batch", &b->key)) {
		lf_bulk_enter(b, BULK_FINISH); /* a 400 was sent */
		return;
	}
	/* a retry of a decided batch, byte for byte: no JSON work, and no
	 * read of its accounts */
	if (lf_idempotency_replay_unparsed(r, &b->idem, r->client.id, b->key.text, b->key.len,
					   &b->d)) {
		bulk_finish(b, false);
		return;
	}
	if (!parse_request(r, b)) {
		lf_bulk_enter(b, BULK_FINISH); /* a 400 was sent */
		return;
	}
	fingerprint(b);
	lf_bulk_key_prefix(b->key.text, b->key.len, b->prefix);
	const struct lf_config *cfg = r->app->cfg;
	b->client_id = r->client.id;
	b->admin = r->client.admin;
	b->cfg = cfg;
	b->max_retries = cfg->mysql_max_retries;
	b->retention_ms = cfg->idempotency_retention_ms;
	lf_req_arm_deadline(r, cfg->request_timeout_ms);
	/* every account's currency and owner, so that each amount's 400
	 * comes before any idempotency lookup */
	lf_bulk_enter(b, BULK_LOOKUP);
	if (!bulk_submit(b)) {
		lf_decision_unavailable(&b->d);
		bulk_finish(b, false);
	}
}
