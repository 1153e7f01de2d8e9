/*
 * api/payments.c - POST /api/payments and GET /api/payments/{id}: the
 * event-loop half of a payment and its states (payments_int.h has the
 * state machine; payment_decide.c the pool-thread half).
 *
 * PARSE: the prelude (key, JSON) and every field's 400, the fingerprint.
 * LOOKUP: when this worker does not know both accounts' currencies yet,
 * the loop reader (else a pool job) learns them, so the amount's 400
 * (digits of the sender's currency) still comes before any idempotency
 * lookup. CLAIM: tiers 1 and 2 (a hit or a 409 finishes here). DECIDE: a
 * pool batch job (the group commit, payment_batch.c); SETTLE: a pool job
 * of its own; after an unknown outcome the loop sends up to
 * LF_SETTLE_ATTEMPTS more settle jobs. FINISH: the outcome goes to the
 * tiers (or the claim is released), the counters move, and the decision
 * is sent, once; all of it also when the deadline answered first, except
 * the reply.
 */
#include "config.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lf_account_cache.h"
#include "lf_api.h"
#include "lf_app.h"
#include "lf_config.h"
#include "lf_dbpool.h"
#include "lf_decision.h"
#include "lf_handlers.h"
#include "lf_http.h"
#include "lf_json.h"
#include "lf_loopread.h"
#include "lf_metrics.h"
#include "lf_money.h"
#include "lf_render.h"
#include "lf_risk.h"
#include "lf_time.h"
#include "lf_zone.h"
#include "payments_int.h"

#define LF_SETTLE_ATTEMPTS 3

/* clang-format off */
static const bool allowed[PAY_FINISH + 1][PAY_FINISH + 1] = {
	[PAY_PARSE]  = {[PAY_LOOKUP] = true, [PAY_CLAIM] = true, [PAY_FINISH] = true},
	[PAY_LOOKUP] = {[PAY_CLAIM] = true, [PAY_FINISH] = true},
	[PAY_CLAIM]  = {[PAY_DECIDE] = true, [PAY_FINISH] = true},
	[PAY_DECIDE] = {[PAY_SETTLE] = true, [PAY_FINISH] = true},
	[PAY_SETTLE] = {[PAY_SETTLE] = true, [PAY_DECIDE] = true, [PAY_FINISH] = true},
	[PAY_FINISH] = {0},
};
/* clang-format on */

void lf_pay_check_owner(struct lf_pay *p)
{
	/* another client's sender looks exactly like a missing one (422
	 * account_not_found): existence does not leak, and nothing is locked */
	if (p->found[0] && !p->admin && p->owner[0] != p->client_id)
		p->found[0] = false;
}

void lf_pay_enter(struct lf_pay *p, enum lf_pay_state next)
{
	assert(p->state <= PAY_FINISH && next <= PAY_FINISH);
	assert(allowed[p->state][next]);
	p->state = next;
}

void lf_pay_unknown(struct lf_pay *p)
{
	lf_decision_unknown(&p->d, NULL);
	lf_pay_enter(p, PAY_SETTLE);
}

static void pay_free(void *state)
{
	struct lf_pay *p = state;
	lf_decision_clear(&p->d);
	free(p->metadata);
	free(p);
}

bool lf_pay_hold_timeout(const char *s, size_t n, int64_t *ms)
{
	/* "<seconds>s": 1 to 30 days in whole seconds, no sign or leading zero */
	if (n < 2 || n > 9 || s[n - 1] != 's' || s[0] == '0')
		return false;
	int64_t v = 0;
	for (size_t i = 0; i + 1 < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > LF_HOLD_TIMEOUT_MAX_S)
		return false;
	*ms = v * 1000;
	return true;
}

/* The amount against the sender's currency (its exponent and the 10^15
 * limit). False with a 400 decision in p->d when it does not fit. */
static bool check_amount(struct lf_pay *p)
{
	const struct lf_currency *cur = lf_currency_find(p->cur[0]);
	enum lf_money_verdict merr =
		cur ? lf_money_parse(p->amount, p->amount_len, cur->exponent, false, &p->minor)
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

/* FINISH: everything a decided request does once, on the loop. tiers:
 * the request went past the tiers to the database, so its outcome is
 * stored there or its claim released. */
static void pay_finish(struct lf_pay *p, bool tiers)
{
	struct lf_req *r = p->r;
	struct lf_metrics *m = r->app->zone->metrics;
	lf_pay_enter(p, PAY_FINISH);
	if (tiers) {
		if (p->d.kind == LF_DEC_REPLY && p->d.replayed)
			lf_metrics_inc(&m->idem_hit_db);
		else if (p->d.kind == LF_DEC_REPLY && p->d.storable && p->d.status == 201)
			lf_metrics_inc(&m->payments_completed);
		else if (p->d.kind == LF_DEC_REPLY && p->d.storable && p->declined)
			lf_metrics_inc(&m->payments_declined);
		if (p->d.kind == LF_DEC_REPLY && p->d.storable && p->declined &&
		    p->risk_declined > LF_RISK_NONE && p->risk_declined < LF_RISK_NRULES)
			lf_metrics_inc(&m->risk_declined[p->risk_declined]);
		if (p->risk_webhook_failed)
			lf_metrics_inc(&m->risk_webhook_failures);
		p->risk_webhook_failed = false;
		lf_metrics_add(&m->db_retries, p->retries);
		p->retries = 0;
		/* even when the deadline already answered: store the outcome
		 * in the tiers, or release the claim */
		lf_idempotency_finish(r, &p->idem, &p->d);
	}
	lf_decision_send(r, &p->d);
}

static void pay_done(void *arg);

static bool pay_submit(struct lf_pay *p)
{
	const struct lf_config *cfg = p->r->app->cfg;
	lf_req_hold(p->r);
	if (lf_dbpool_submit_rerun(p->r->app->db, lf_pay_work, pay_done, p,
				   lf_time_monotonic_ms() + cfg->mysql_request_timeout_ms) == LF_OK)
		return true;
	lf_req_release(p->r);
	return false;
}

/* DECIDE goes to the pool as a batch job: the transfers ready together
 * are decided in one transaction (payment_batch.c). */
static bool pay_submit_decide(struct lf_pay *p)
{
	const struct lf_config *cfg = p->r->app->cfg;
	p->batch_done = false;
	lf_req_hold(p->r);
	if (lf_dbpool_submit_batch(p->r->app->db, &lf_pay_batch_kind, pay_done, p,
				   lf_time_monotonic_ms() + cfg->mysql_request_timeout_ms) == LF_OK)
		return true;
	lf_req_release(p->r);
	return false;
}

/* CLAIM is over: a tier answered, or the database decides. */
static void pay_claimed(struct lf_req *r, bool decided)
{
	struct lf_pay *p = r->state;
	if (decided) {
		pay_finish(p, false);
		return;
	}
	lf_pay_enter(p, PAY_DECIDE);
	/* a risk rule that reads history (or asks the webhook) needs each
	 * payment decided alone: the single path, never a group commit */
	bool single = lf_risk_needs_single_path(r->app->cfg);
	if (!(single ? pay_submit(p) : pay_submit_decide(p))) {
		/* the job queue is full or the pool is stopping: nothing sent */
		lf_decision_unavailable(&p->d);
		pay_finish(p, true);
	}
}

/* Every 400 is behind us once the amount fits the sender's currency (an
 * unknown sender is a 422 the database records): on to the tiers. */
static void pay_validated(struct lf_pay *p)
{
	if (p->found[0] && !check_amount(p)) {
		pay_finish(p, false);
		return;
	}
	if (p->found[0])
		lf_risk_limits_for(p->cfg, p->cur[0], &p->risk);
	lf_pay_enter(p, PAY_CLAIM);
	lf_idempotency_begin(p->r, &p->idem, p->client_id, p->key.text, p->key.len, p->fp, &p->d,
			     pay_claimed);
}

/* LOOKUP is over (on the pool or the loop reader): the accounts' facts
 * are known, or the read failed (p->d says how). */
static void pay_looked_up(struct lf_pay *p)
{
	struct lf_req *r = p->r;
	for (int i = 0; p->cur_known && i < 2; i++)
		if (p->found[i])
			lf_account_cache_put(r->app->accounts, i ? &p->to : &p->from, p->cur[i],
					     p->owner[i]);
	if (r->replied) /* the deadline answered; nothing was claimed */
		lf_pay_enter(p, PAY_FINISH);
	else if (!p->cur_known)
		pay_finish(p, false); /* a read failed: nothing was changed */
	else
		pay_validated(p);
}

/* A pool job of this payment is back on the loop. */
static void pay_done(void *arg)
{
	struct lf_pay *p = arg;
	struct lf_req *r = p->r;
	switch (p->state) {
	case PAY_LOOKUP: pay_looked_up(p); break;
	case PAY_SETTLE:
		/* the outcome is still unknown: ask the key again, a few times */
		if (p->d.kind == LF_DEC_UNKNOWN) {
			if (!p->after_error)
				lf_metrics_inc(&r->app->zone->metrics->db_conn_lost);
			if (!r->replied && p->settles < LF_SETTLE_ATTEMPTS) {
				p->settles++;
				if (pay_submit(p))
					break;
			}
		}
		pay_finish(p, true);
		break;
	case PAY_DECIDE: pay_finish(p, true); break;
	default: assert(!"a payment job came back in a state without one"); break;
	}
	lf_req_release(r);
}

/* The 400 checks of the body, in the contract's order (the key's came
 * first). Returns false after replying. */
static bool parse_request(struct lf_req *r, struct lf_pay *p)
{
	struct json_object *obj = NULL;
	if (!lf_api_prelude_body(r, &obj))
		return false;
	bool ok = false;
	const char *from_s = NULL, *to_s = NULL, *cur_s = NULL, *ref_s = NULL, *amount_s = NULL;
	size_t from_n = 0, to_n = 0, cur_n = 0, ref_n = 0, amount_n = 0;
	char ibuf[24];
	enum lf_field_verdict frc = lf_field_string(obj, "fromAccountId", &from_s, &from_n);
	enum lf_field_verdict trc = lf_field_string(obj, "toAccountId", &to_s, &to_n);
	struct json_object *amount = lf_field_get(obj, "amount");
	enum lf_field_verdict crc = lf_field_string(obj, "currency", &cur_s, &cur_n);
	enum lf_field_verdict rrc = lf_field_string(obj, "reference", &ref_s, &ref_n);
	struct json_object *capture = lf_field_get(obj, "capture");
	const char *ht_s = NULL;
	size_t ht_n = 0;
	enum lf_field_verdict hrc = lf_field_string(obj, "holdTimeout", &ht_s, &ht_n);
	enum lf_field_verdict mrc = lf_api_metadata_parse(obj, &p->metadata);
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
	} else if (capture != NULL && json_object_get_type(capture) != json_type_boolean) {
		lf_req_problem(r, 400, "invalid_request", "capture must be true or false.", NULL);
	} else if (hrc == LF_FIELD_WRONG_TYPE ||
		   (hrc == LF_FIELD_OK && !lf_pay_hold_timeout(ht_s, ht_n, &p->hold_timeout_ms))) {
		lf_req_problem(r, 400, "invalid_request",
			       "holdTimeout is \"<seconds>s\", from 1s to 2592000s (30 days).",
			       NULL);
	} else if (hrc == LF_FIELD_OK && (capture == NULL || json_object_get_boolean(capture))) {
		lf_req_problem(r, 400, "invalid_request",
			       "holdTimeout applies to a hold only (\"capture\": false).", NULL);
	} else if (mrc == LF_FIELD_WRONG_TYPE) {
		lf_req_problem(r, 400, "invalid_request",
			       "metadata is an object of at most 20 string values, keys of 1 to 40 "
			       "and values of at most 500 characters.",
			       NULL);
	} else {
		p->hold = capture != NULL && !json_object_get_boolean(capture);
		p->has_hold_timeout = hrc == LF_FIELD_OK;
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

static void fingerprint(struct lf_pay *p)
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
	/* the v2 members only when given: a v1 request's fingerprint is
	 * unchanged */
	if (p->hold)
		lf_fp_field(&fp, "capture", "false", 5);
	if (p->has_hold_timeout) {
		char t[32];
		int tn = snprintf(t, sizeof t, "%lld", (long long)(p->hold_timeout_ms / 1000));
		lf_fp_field(&fp, "holdTimeout", t, (size_t)tn);
	}
	if (p->metadata != NULL)
		lf_fp_field(&fp, "metadata", p->metadata, strlen(p->metadata));
	lf_fp_end(&fp, p->fp);
}

/* LOOKUP on the worker's loop reader (lf_loopread.h): both accounts read
 * unscoped (the owner check is lf_pay_check_owner's) in the query that
 * answers the concurrent GETs and lookups together, with no pool thread
 * and no statement of its own. A failed loop query takes the pool path. */
struct pay_lookup {
	struct lf_pay *p;
	int pending;
	bool again; /* a read could not be queued, or the loop query failed */
	lf_rc rc[2];
	struct lf_account row[2];
	struct pay_lookup_side {
		struct pay_lookup *l;
		int i;
	} side[2];
};

static void pay_lookup_end(struct pay_lookup *l)
{
	struct lf_pay *p = l->p;
	struct lf_req *r = p->r;
	bool again = l->again;
	lf_rc failed = LF_OK;
	for (int i = 0; i < 2; i++) {
		if (l->rc[i] != LF_OK && l->rc[i] != LF_DECLINED && l->rc[i] != LF_AGAIN)
			failed = l->rc[i];
		p->found[i] = l->rc[i] == LF_OK;
		if (p->found[i]) {
			memcpy(p->cur[i], l->row[i].currency, sizeof p->cur[i]);
			p->owner[i] = l->row[i].owner;
		}
		lf_account_clear(&l->row[i]);
	}
	free(l);
	if (again && failed == LF_OK && !r->replied) {
		if (!pay_submit(p)) {
			lf_decision_unavailable(&p->d);
			pay_finish(p, false);
		}
	} else {
		if (failed != LF_OK)
			lf_decision_failed(&p->d, failed);
		else if (!again) {
			lf_pay_check_owner(p);
			lf_decision_clear(&p->d);
			p->cur_known = true;
		}
		pay_looked_up(p);
	}
	lf_req_release(r);
}

static void pay_lookup_read(void *arg, lf_rc rc)
{
	struct pay_lookup_side *s = arg;
	struct pay_lookup *l = s->l;
	l->rc[s->i] = rc;
	if (rc == LF_AGAIN)
		l->again = true;
	if (--l->pending == 0)
		pay_lookup_end(l);
}

static bool pay_lookup_on_loop(struct lf_pay *p)
{
	struct lf_req *r = p->r;
	if (r->app->loopread == NULL)
		return false;
	struct pay_lookup *l = calloc(1, sizeof *l);
	if (l == NULL)
		return false;
	l->p = p;
	static const struct lf_client anyone = {.admin = true};
	int64_t deadline = lf_time_monotonic_ms() + p->cfg->mysql_request_timeout_ms;
	/* no answer comes from within lf_loopread_account, so pending only
	 * counts here; a side not queued stays LF_AGAIN (the pool path) */
	for (int i = 0; i < 2; i++) {
		l->side[i] = (struct pay_lookup_side){l, i};
		l->rc[i] = LF_AGAIN;
		if (!lf_loopread_account(r->app->loopread, i ? &p->to : &p->from, &anyone,
					 &l->row[i], deadline, pay_lookup_read, &l->side[i])) {
			l->again = true;
			break;
		}
		l->pending++;
	}
	if (l->pending == 0) {
		free(l);
		return false;
	}
	lf_req_hold(r); /* released by pay_lookup_end */
	return true;
}

void lf_payments_create(struct lf_req *r, const char *id)
{
	(void)id;
	struct lf_pay *p = calloc(1, sizeof *p);
	if (p == NULL) {
		lf_req_problem(r, 500, "internal_error", "Out of memory.", NULL);
		return;
	}
	r->state = p;
	r->free_state = pay_free;
	p->r = r;
	p->state = PAY_PARSE;
	if (!lf_api_prelude_key(r, LF_API_KEY_REQUIRED, "POST /api/payments", &p->key)) {
		lf_pay_enter(p, PAY_FINISH); /* a 400 was sent */
		return;
	}
	/* a retry of a decided payment, byte for byte: no JSON work at all */
	if (lf_idempotency_replay_unparsed(r, &p->idem, r->client.id, p->key.text, p->key.len,
					   &p->d)) {
		pay_finish(p, false);
		return;
	}
	if (!parse_request(r, p)) {
		lf_pay_enter(p, PAY_FINISH); /* a 400 was sent */
		return;
	}
	fingerprint(p);
	const struct lf_config *cfg = r->app->cfg;
	p->cfg = cfg;
	p->metrics = r->app->zone->metrics;
	p->client_id = r->client.id;
	p->admin = r->client.admin;
	p->max_retries = cfg->mysql_max_retries;
	p->retention_ms = cfg->idempotency_retention_ms;
	if (p->hold && !p->has_hold_timeout)
		p->hold_timeout_ms = cfg->payments_hold_timeout_ms;
	p->cur_known = lf_account_cache_get(r->app->accounts, &p->from, p->cur[0], &p->owner[0]) &&
		       lf_account_cache_get(r->app->accounts, &p->to, p->cur[1], &p->owner[1]);
	if (p->cur_known) {
		p->found[0] = p->found[1] = true;
		lf_pay_check_owner(p);
	}
	lf_req_arm_deadline(r, cfg->request_timeout_ms);
	if (p->cur_known) {
		pay_validated(p);
		return;
	}
	/* an account this worker has not seen yet: learn its currency first,
	 * so the amount's 400 comes before any idempotency lookup */
	lf_pay_enter(p, PAY_LOOKUP);
	if (pay_lookup_on_loop(p))
		return;
	if (!pay_submit(p)) {
		lf_decision_unavailable(&p->d);
		pay_finish(p, false);
	}
}

/* ---- GET /api/payments/{id} ---- */

static lf_rc fetch_payment(struct lf_store_conn *c, const lf_uuid *id, const struct lf_client *who,
			   void *row)
{
	return lf_store_get_payment(c, id, who, row);
}

static bool render_payment(struct lf_body *out, const void *row)
{
	return lf_render_payment_body(out, row);
}

static void clear_payment(void *row)
{
	lf_payment_clear(row);
}

static const struct lf_api_read_spec payment_spec = {
	.clear = clear_payment,
	.invalid_id_detail = "The payment id is not a UUID.",
	.not_found_code = "payment_not_found",
	.not_found_detail = "No payment has this id.",
	.row_size = sizeof(struct lf_payment),
	.fetch = fetch_payment,
	.render = render_payment,
};

void lf_payments_get(struct lf_req *r, const char *id)
{
	lf_api_get_by_id(r, id, &payment_spec);
}
