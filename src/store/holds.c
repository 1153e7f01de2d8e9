/*
 * store/holds.c - holds and refunds in the database (lf_store.h): the end
 * of a hold (one CALL lf_finish_hold: capture or void), a refund (one CALL
 * lf_refund), the reaper's expiry of holds past their time (the due holds
 * read, then one CALL lf_expire_hold each) and a payment's refunds. The
 * procedures are in sql/procedures_holds.sql.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store_int.h"

static const struct {
	const char *word;
	enum lf_hold_result result;
} outcomes[] = {
	{"captured", LF_HOLD_DONE},
	{"voided", LF_HOLD_DONE},
	{"completed", LF_HOLD_DONE},
	{"not_pending", LF_HOLD_NOT_PENDING},
	{"exceeds", LF_HOLD_EXCEEDS},
	{"declined", LF_HOLD_DECLINED},
	{"replay", LF_HOLD_REPLAY},
	{"not_found", LF_HOLD_NOT_FOUND},
	{"amount_too_large", LF_HOLD_AMOUNT_TOO_LARGE},
	{"invalid_amount", LF_HOLD_INVALID_AMOUNT},
	{"stale", LF_HOLD_STALE},
};

/* Run the CALL bound in b and read its outcome row. */
static lf_rc hold_call(struct lf_store_conn *c, MYSQL_STMT *st, MYSQL_BIND *b, const char *what,
		       enum lf_hold_result *result, struct lf_stored *stored)
{
	lf_rc rc = lf_store_run(c, st, b);
	if (rc != LF_OK)
		return rc;
	char outcome[32];
	bool row;
	if ((rc = lf_store_fetch_outcome(c, st, true, outcome, stored, &row)) != LF_OK)
		return rc;
	if (!row)
		return lf_store_fail(c, 0, what);
	for (size_t i = 0; i < sizeof outcomes / sizeof outcomes[0]; i++) {
		if (strcmp(outcome, outcomes[i].word) == 0) {
			*result = outcomes[i].result;
			lf_store_keep_only_replay(*result == LF_HOLD_REPLAY, stored);
			return LF_OK;
		}
	}
	lf_stored_clear(stored);
	return lf_store_fail(c, 0, what);
}

lf_rc lf_store_finish_hold(struct lf_store_conn *c, const struct lf_hold_req *r,
			   enum lf_hold_result *result, struct lf_stored *stored)
{
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, ST_FINISH_HOLD, &st);
	memset(stored, 0, sizeof *stored);
	if (rc != LF_OK)
		return rc;
	MYSQL_BIND b[14];
	MYSQL_TIME t_created, t_expires;
	memset(b, 0, sizeof b);
	int capture = r->capture, admin = r->admin;
	in_u64(&b[0], &r->client_id);
	in_bytes(&b[1], r->idem_key, r->idem_key_len);
	in_bytes(&b[2], r->fingerprint, LF_FINGERPRINT_LEN);
	in_uuid(&b[3], &r->payment_id);
	in_int(&b[4], &capture);
	if (r->capture && r->amount > 0)
		in_i64(&b[5], &r->amount);
	else
		b[5].buffer_type = MYSQL_TYPE_NULL;
	in_int(&b[6], &admin);
	in_uuid(&b[7], &r->debit_entry_id);
	in_uuid(&b[8], &r->credit_entry_id);
	in_time(&b[9], &t_created, r->created_ms);
	in_time(&b[10], &t_expires, r->expires_ms);
	in_body(&b[11], r->body_ok, r->body_ok_len);
	in_body(&b[12], r->body_other, r->body_other_len);
	in_body(&b[13], r->event_other, r->event_other_len);
	return hold_call(c, st, b, "lf_finish_hold returned an unexpected result", result, stored);
}

lf_rc lf_store_refund(struct lf_store_conn *c, const struct lf_hold_req *r,
		      enum lf_hold_result *result, struct lf_stored *stored)
{
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, ST_REFUND, &st);
	memset(stored, 0, sizeof *stored);
	if (rc != LF_OK)
		return rc;
	MYSQL_BIND b[17];
	MYSQL_TIME t_created, t_expires;
	memset(b, 0, sizeof b);
	int rest = r->rest, admin = r->admin;
	in_u64(&b[0], &r->client_id);
	in_bytes(&b[1], r->idem_key, r->idem_key_len);
	in_bytes(&b[2], r->fingerprint, LF_FINGERPRINT_LEN);
	in_uuid(&b[3], &r->payment_id);
	in_uuid(&b[4], &r->refund_id);
	in_i64(&b[5], &r->amount);
	in_int(&b[6], &rest);
	in_str(&b[7], r->reason);
	in_int(&b[8], &admin);
	in_uuid(&b[9], &r->debit_entry_id);
	in_uuid(&b[10], &r->credit_entry_id);
	in_time(&b[11], &t_created, r->created_ms);
	in_time(&b[12], &t_expires, r->expires_ms);
	in_body(&b[13], r->body_ok, r->body_ok_len);
	in_body(&b[14], r->body_other, r->body_other_len);
	in_body(&b[15], r->body_exceeds, r->body_exceeds_len);
	in_body(&b[16], r->event_other, r->event_other_len);
	return hold_call(c, st, b, "lf_refund returned an unexpected result", result, stored);
}

lf_rc lf_store_due_holds(struct lf_store_conn *c, int64_t now_ms, struct lf_payment *out,
			 unsigned max, unsigned *count)
{
	MYSQL_STMT *st;
	*count = 0;
	lf_rc rc = lf_store_stmt(c, ST_DUE_HOLDS, &st);
	if (rc != LF_OK)
		return rc;
	MYSQL_BIND in[2];
	MYSQL_TIME t_now;
	uint64_t limit = max;
	memset(in, 0, sizeof in);
	in_time(&in[0], &t_now, now_ms);
	in_u64(&in[1], &limit);
	if ((rc = lf_store_run(c, st, in)) != LF_OK)
		return rc;
	struct lf_store_payment_row *w = malloc(sizeof *w);
	if (w == NULL)
		return lf_store_finish(c, st, lf_store_fail(c, 0, "out of memory for holds"));
	if (!lf_store_payment_bind(c, st, w)) {
		free(w);
		return lf_store_finish(c, st, lf_store_last_rc(c));
	}
	for (;;) {
		int f = lf_store_next_row(c, st);
		if (f < 0) {
			rc = lf_store_last_rc(c);
			break;
		}
		if (f == 1 || *count == max)
			break;
		if (!lf_store_payment_take(w, &out[*count])) {
			rc = lf_store_fail(c, 0, "out of memory for a payment's metadata");
			break;
		}
		(*count)++;
	}
	free(w);
	if (rc != LF_OK) {
		for (unsigned i = 0; i < *count; i++)
			lf_payment_clear(&out[i]);
		*count = 0;
	}
	return lf_store_finish(c, st, rc);
}

lf_rc lf_store_expire_hold(struct lf_store_conn *c, const lf_uuid *id, int64_t now_ms,
			   const char *data, size_t len, bool *expired)
{
	MYSQL_STMT *st;
	*expired = false;
	lf_rc rc = lf_store_stmt(c, ST_EXPIRE_HOLD, &st);
	if (rc != LF_OK)
		return rc;
	MYSQL_BIND in[3], b[1];
	struct col k[1];
	MYSQL_TIME t_now;
	memset(in, 0, sizeof in);
	memset(b, 0, sizeof b);
	memset(k, 0, sizeof k);
	in_uuid(&in[0], id);
	in_time(&in[1], &t_now, now_ms);
	in_body(&in[2], data, len);
	if ((rc = lf_store_run(c, st, in)) != LF_OK)
		return rc;
	long long n = 0;
	out_bind(&b[0], &k[0], MYSQL_TYPE_LONGLONG, &n, 0);
	if (mysql_stmt_field_count(st) != 1 || mysql_stmt_bind_result(st, b))
		return lf_store_finish(c, st, lf_store_fail(c, 0, "lf_expire_hold: bad result"));
	int f = lf_store_next_row(c, st);
	if (f < 0)
		return lf_store_finish(c, st, lf_store_last_rc(c));
	if (f == 1)
		return lf_store_finish(c, st, lf_store_fail(c, 0, "lf_expire_hold: no result"));
	*expired = n == 1;
	return lf_store_finish(c, st, LF_OK);
}

lf_rc lf_store_list_refunds(struct lf_store_conn *c, const lf_uuid *payment,
			    const struct lf_client *who, struct lf_refund *out, unsigned max,
			    unsigned *count)
{
	MYSQL_STMT *st;
	*count = 0;
	lf_rc rc = lf_store_stmt(c, ST_LIST_REFUNDS, &st);
	if (rc != LF_OK)
		return rc;
	MYSQL_BIND in[4], b[6];
	struct col k[6];
	memset(in, 0, sizeof in);
	memset(b, 0, sizeof b);
	memset(k, 0, sizeof k);
	int admin = who->admin;
	uint64_t limit = max;
	in_uuid(&in[0], payment);
	in_int(&in[1], &admin);
	in_u64(&in[2], &who->id);
	in_u64(&in[3], &limit);
	if ((rc = lf_store_run(c, st, in)) != LF_OK)
		return rc;
	struct lf_refund x;
	char status[16];
	MYSQL_TIME t_created;
	out_bind(&b[0], &k[0], MYSQL_TYPE_BLOB, x.id.b, 16);
	out_bind(&b[1], &k[1], MYSQL_TYPE_LONGLONG, &x.amount, 0);
	out_bind(&b[2], &k[2], MYSQL_TYPE_STRING, x.currency, sizeof x.currency);
	out_bind(&b[3], &k[3], MYSQL_TYPE_STRING, x.reason, sizeof x.reason);
	out_bind(&b[4], &k[4], MYSQL_TYPE_STRING, status, sizeof status);
	out_bind(&b[5], &k[5], MYSQL_TYPE_DATETIME, &t_created, 0);
	if (mysql_stmt_bind_result(st, b))
		return lf_store_finish(c, st, lf_store_stmt_fail(c, st));
	bool payment_seen = false;
	for (;;) {
		memset(&x, 0, sizeof x);
		int f = lf_store_next_row(c, st);
		if (f < 0)
			return lf_store_finish(c, st, lf_store_last_rc(c));
		if (f == 1)
			break;
		payment_seen = true;
		if (!out_uuid_ok(&k[0]))
			continue; /* the payment without refunds */
		x.payment_id = *payment;
		out_str_fix(x.currency, sizeof x.currency, &k[2]);
		x.has_reason = !k[3].null;
		out_str_fix(x.reason, sizeof x.reason, &k[3]);
		out_str_fix(status, sizeof status, &k[4]);
		x.completed = strcmp(status, "COMPLETED") == 0;
		x.created_ms = lf_store_time_to_ms(&t_created);
		if (*count < max)
			out[(*count)++] = x;
	}
	return lf_store_finish(c, st, payment_seen ? LF_OK : LF_DECLINED);
}
