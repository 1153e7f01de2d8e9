/*
 * store/payments.c - a payment in the database (lf_store.h): the transfer
 * itself, one CALL of lf_transfer (claim the key, lock both accounts in
 * ascending id order, decide, write balances, two ledger entries, the
 * payment and the stored response, commit), and reading a payment back.
 */
#include "config.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	MYSQL_BIND b[19];
	MYSQL_TIME t_created, t_expires;
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
	lf_uuid event_id;
	lf_uuid_v7(&event_id);
	in_uuid(&b[17], &event_id);
	in_body(&b[18], r->event_declined, r->event_declined_len);
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
	else {
		lf_stored_clear(stored);
		return lf_store_fail(c, 0, "lf_transfer returned an unknown outcome");
	}
	lf_store_keep_only_replay(
		*result == LF_TRANSFER_REPLAY || *result == LF_TRANSFER_PAYMENT_EXISTS, stored);
	return LF_OK;
}

lf_rc lf_store_get_payment(struct lf_store_conn *c, const lf_uuid *id, const struct lf_client *who,
			   struct lf_payment *out)
{
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, ST_GET_PAYMENT, &st);
	if (rc != LF_OK)
		return rc;
	MYSQL_BIND in[3], b[7];
	struct col k[7];
	MYSQL_TIME t_created;
	char status[16];
	memset(in, 0, sizeof in);
	memset(b, 0, sizeof b);
	memset(k, 0, sizeof k);
	memset(out, 0, sizeof *out);
	int admin = who->admin;
	in_uuid(&in[0], id);
	in_int(&in[1], &admin);
	in_u64(&in[2], &who->id);
	if ((rc = lf_store_run(c, st, in)) != LF_OK)
		return rc;
	out_bind(&b[0], &k[0], MYSQL_TYPE_BLOB, out->from.b, 16);
	out_bind(&b[1], &k[1], MYSQL_TYPE_BLOB, out->to.b, 16);
	out_bind(&b[2], &k[2], MYSQL_TYPE_LONGLONG, &out->amount, 0);
	out_bind(&b[3], &k[3], MYSQL_TYPE_STRING, out->currency, sizeof out->currency);
	out_bind(&b[4], &k[4], MYSQL_TYPE_STRING, out->reference, sizeof out->reference);
	out_bind(&b[5], &k[5], MYSQL_TYPE_STRING, status, sizeof status);
	out_bind(&b[6], &k[6], MYSQL_TYPE_DATETIME, &t_created, 0);
	if (mysql_stmt_bind_result(st, b))
		return lf_store_finish(c, st, lf_store_stmt_fail(c, st));
	int f = lf_store_next_row(c, st);
	if (f < 0)
		return lf_store_finish(c, st, lf_store_last_rc(c));
	if (f == 1)
		return lf_store_finish(c, st, LF_DECLINED);
	out->id = *id;
	out_str_fix(out->currency, sizeof out->currency, &k[3]);
	out->has_reference = !k[4].null;
	out_str_fix(out->reference, sizeof out->reference, &k[4]);
	out_str_fix(status, sizeof status, &k[5]);
	out->completed = strcmp(status, "COMPLETED") == 0;
	out->created_ms = lf_store_time_to_ms(&t_created);
	return lf_store_finish(c, st, LF_OK);
}
