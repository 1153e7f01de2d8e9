/*
 * store/payments.c - a payment in the database (lf_store.h): the transfer
 * itself, one CALL of lf_transfer (claim the key, lock both accounts in
 * ascending id order, decide, write balances, two ledger entries, the
 * payment and the stored response, commit), and reading a payment back
 * (the group commit of many payments is group.c).
 */
#include "config.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lf_risk.h"
#include "store_int.h"

lf_rc lf_store_transfer(struct lf_store_conn *c, const struct lf_transfer_req *r,
			enum lf_transfer_result *result, struct lf_stored *stored)
{
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, ST_TRANSFER, &st);
	memset(stored, 0, sizeof *stored);
	if (rc != LF_OK)
		return rc;
	assert(r->event_declined != NULL && r->event_declined_len > 0);
	MYSQL_BIND b[27];
	MYSQL_TIME t_created, t_expires, t_hold;
	memset(b, 0, sizeof b);
	in_u64(&b[0], &r->client_id);
	in_bytes(&b[1], r->idem_key, r->idem_key_len);
	in_bytes(&b[2], r->fingerprint, LF_FINGERPRINT_LEN);
	in_uuid(&b[3], &r->payment_id);
	in_uuid(&b[4], &r->debit_entry_id);
	in_uuid(&b[5], &r->credit_entry_id);
	in_uuid(&b[6], &r->from);
	in_uuid(&b[7], &r->to);
	in_i64(&b[8], &r->amount);
	in_str(&b[9], r->currency);
	in_str(&b[10], r->reference);
	in_time(&b[11], &t_created, r->created_ms);
	in_time(&b[12], &t_expires, r->expires_ms);
	in_body(&b[13], r->body_completed, r->body_completed_len);
	in_body(&b[14], r->body_declined, r->body_declined_len);
	in_str(&b[15], r->location);
	int admin = r->admin;
	in_int(&b[16], &admin);
	if (r->hold_expires_ms > 0)
		in_time(&b[17], &t_hold, r->hold_expires_ms);
	else
		b[17].buffer_type = MYSQL_TYPE_NULL;
	in_str(&b[18], r->metadata);
	lf_uuid event_id;
	lf_uuid_v7(&event_id);
	in_uuid(&b[19], &event_id);
	in_body(&b[20], r->event_declined, r->event_declined_len);
	/* the risk rules: NULL when off */
	const char *rule = lf_risk_rule_name((enum lf_risk_rule)r->risk_rule);
	assert(r->body_risk != NULL || (rule == NULL && r->velocity_count == 0 &&
					r->velocity_sum == 0 && r->daily_limit == 0));
	in_str(&b[21], rule);
	in_bytes(&b[22], r->body_risk, r->body_risk_len);
	const int64_t *limits[4] = {&r->velocity_count, &r->velocity_sum, &r->velocity_window_ms,
				    &r->daily_limit};
	for (int i = 0; i < 4; i++) {
		if (*limits[i] > 0 && (i != 2 || r->velocity_count > 0 || r->velocity_sum > 0))
			in_i64(&b[23 + i], limits[i]);
		else
			b[23 + i].buffer_type = MYSQL_TYPE_NULL;
	}
	if ((rc = lf_store_run(c, st, b)) != LF_OK)
		return rc;
	char outcome[32];
	bool row;
	if ((rc = lf_store_fetch_outcome(c, st, true, outcome, stored, &row)) != LF_OK)
		return rc;
	if (!row)
		return lf_store_fail(c, 0, "lf_transfer returned no row");
	if (strcmp(outcome, "completed") == 0)
		*result = LF_TRANSFER_COMPLETED;
	else if (strcmp(outcome, "declined") == 0)
		*result = LF_TRANSFER_DECLINED;
	else if (strcmp(outcome, "replay") == 0)
		*result = LF_TRANSFER_REPLAY;
	else if (strcmp(outcome, "account_not_found") == 0)
		*result = LF_TRANSFER_ACCOUNT_NOT_FOUND;
	else if (strcmp(outcome, "currency_mismatch") == 0)
		*result = LF_TRANSFER_CURRENCY_MISMATCH;
	else if (strcmp(outcome, "amount_too_large") == 0)
		*result = LF_TRANSFER_AMOUNT_TOO_LARGE;
	else if (strcmp(outcome, "payment_exists") == 0)
		*result = LF_TRANSFER_PAYMENT_EXISTS;
	else if (strcmp(outcome, "risk_declined") == 0 &&
		 lf_risk_rule_parse(stored->location) != LF_RISK_NONE) {
		*result = LF_TRANSFER_RISK_DECLINED;
		return LF_OK; /* stored->location: the rule */
	} else {
		lf_stored_clear(stored);
		return lf_store_fail(c, 0, "lf_transfer returned an unknown outcome");
	}
	lf_store_keep_only_replay(
		*result == LF_TRANSFER_REPLAY || *result == LF_TRANSFER_PAYMENT_EXISTS, stored);
	return LF_OK;
}

/* ---- payment rows ---- */

static const char *const status_names[] = {
	[LF_PAYMENT_COMPLETED] = "COMPLETED", [LF_PAYMENT_DECLINED] = "DECLINED",
	[LF_PAYMENT_PENDING] = "PENDING",     [LF_PAYMENT_VOIDED] = "VOIDED",
	[LF_PAYMENT_EXPIRED] = "EXPIRED",
};

const char *lf_payment_status_name(enum lf_payment_status s)
{
	return (size_t)s < sizeof status_names / sizeof status_names[0] ? status_names[s] : "?";
}

bool lf_payment_status_parse(const char *name, enum lf_payment_status *out)
{
	for (size_t i = 0; i < sizeof status_names / sizeof status_names[0]; i++)
		if (strcmp(name, status_names[i]) == 0) {
			*out = (enum lf_payment_status)i;
			return true;
		}
	return false;
}

void lf_payment_clear(struct lf_payment *p)
{
	if (p == NULL)
		return;
	free(p->metadata);
	p->metadata = NULL;
}

char *lf_store_text_dup(const char *buf, size_t cap, const struct col *k, bool *ok)
{
	if (k->null)
		return NULL;
	if (k->len >= cap) {
		*ok = false;
		return NULL;
	}
	char *s = malloc(k->len + 1);
	if (s == NULL) {
		*ok = false;
		return NULL;
	}
	memcpy(s, buf, k->len);
	s[k->len] = '\0';
	return s;
}

bool lf_store_payment_bind(struct lf_store_conn *c, MYSQL_STMT *st, struct lf_store_payment_row *w)
{
	struct lf_payment *p = &w->p;
	memset(w->b, 0, sizeof w->b);
	memset(w->k, 0, sizeof w->k);
	out_bind(&w->b[0], &w->k[0], MYSQL_TYPE_BLOB, p->id.b, 16);
	out_bind(&w->b[1], &w->k[1], MYSQL_TYPE_BLOB, p->from.b, 16);
	out_bind(&w->b[2], &w->k[2], MYSQL_TYPE_BLOB, p->to.b, 16);
	out_bind(&w->b[3], &w->k[3], MYSQL_TYPE_LONGLONG, &p->amount, 0);
	out_bind(&w->b[4], &w->k[4], MYSQL_TYPE_STRING, p->currency, sizeof p->currency);
	out_bind(&w->b[5], &w->k[5], MYSQL_TYPE_STRING, p->reference, sizeof p->reference);
	out_bind(&w->b[6], &w->k[6], MYSQL_TYPE_STRING, w->status, sizeof w->status);
	out_bind(&w->b[7], &w->k[7], MYSQL_TYPE_DATETIME, &w->t_created, 0);
	out_bind(&w->b[8], &w->k[8], MYSQL_TYPE_LONGLONG, &w->captured, 0);
	out_bind(&w->b[9], &w->k[9], MYSQL_TYPE_LONGLONG, &p->refunded, 0);
	out_bind(&w->b[10], &w->k[10], MYSQL_TYPE_DATETIME, &w->t_expires, 0);
	out_bind(&w->b[11], &w->k[11], MYSQL_TYPE_STRING, w->md, sizeof w->md);
	out_bind(&w->b[12], &w->k[12], MYSQL_TYPE_STRING, w->decline_reason,
		 sizeof w->decline_reason);
	if (mysql_stmt_field_count(st) != LF_PAYMENT_NCOL) {
		lf_store_fail(c, 0, "a payment row has the wrong columns");
		return false;
	}
	if (mysql_stmt_bind_result(st, w->b)) {
		lf_store_stmt_fail(c, st);
		return false;
	}
	return true;
}

bool lf_store_payment_take(struct lf_store_payment_row *w, struct lf_payment *out)
{
	struct lf_payment *p = &w->p;
	*out = *p;
	out->metadata = NULL;
	out_str_fix(out->currency, sizeof out->currency, &w->k[4]);
	out->has_reference = !w->k[5].null;
	out_str_fix(out->reference, sizeof out->reference, &w->k[5]);
	out_str_fix(w->status, sizeof w->status, &w->k[6]);
	if (!lf_payment_status_parse(w->status, &out->status))
		out->status = LF_PAYMENT_DECLINED;
	out->created_ms = lf_store_time_to_ms(&w->t_created);
	out->has_captured = out->status == LF_PAYMENT_COMPLETED;
	out->captured = w->k[8].null ? out->amount : w->captured;
	out->is_hold = !w->k[10].null;
	out->expires_ms = out->is_hold ? lf_store_time_to_ms(&w->t_expires) : 0;
	out_str_fix(w->decline_reason, sizeof w->decline_reason, &w->k[12]);
	out->risk_declined = !w->k[12].null && strcmp(w->decline_reason, "risk_declined") == 0;
	bool ok = true;
	out->metadata = lf_store_text_dup(w->md, sizeof w->md, &w->k[11], &ok);
	return ok;
}

lf_rc lf_store_get_payment(struct lf_store_conn *c, const lf_uuid *id, const struct lf_client *who,
			   struct lf_payment *out)
{
	MYSQL_STMT *st;
	memset(out, 0, sizeof *out);
	lf_rc rc = lf_store_stmt(c, ST_GET_PAYMENT, &st);
	if (rc != LF_OK)
		return rc;
	MYSQL_BIND in[3];
	memset(in, 0, sizeof in);
	int admin = who->admin;
	in_uuid(&in[0], id);
	in_int(&in[1], &admin);
	in_u64(&in[2], &who->id);
	if ((rc = lf_store_run(c, st, in)) != LF_OK)
		return rc;
	struct lf_store_payment_row *w = malloc(sizeof *w);
	if (w == NULL)
		return lf_store_finish(c, st, lf_store_fail(c, 0, "out of memory for a payment"));
	if (!lf_store_payment_bind(c, st, w)) {
		free(w);
		return lf_store_finish(c, st, lf_store_last_rc(c));
	}
	int f = lf_store_next_row(c, st);
	if (f < 0)
		rc = lf_store_last_rc(c);
	else if (f == 1)
		rc = LF_DECLINED;
	else if (!lf_store_payment_take(w, out))
		rc = lf_store_fail(c, 0, "out of memory for a payment's metadata");
	free(w);
	return lf_store_finish(c, st, rc);
}
