/*
 * store_call.c - the calls of the stored procedures (lf_transfer,
 * lf_record_outcome, lf_create_account, lf_get_outcome): bind every input,
 * execute the prepared CALL, read its one outcome row (the body's length
 * first, then the body), and drain the remaining results.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* ---- outcome rows: (outcome,) status, location, body, fingerprint, expires_at ---- */

static enum lf_store_rc fetch_outcome(struct lf_store_conn *c, MYSQL_STMT *st, bool with_outcome,
				      char outcome[32], struct lf_stored *s, bool *got_row)
{
	MYSQL_BIND b[6];
	struct col k[6];
	int status = 0;
	uint8_t fp[LF_FINGERPRINT_LEN];
	MYSQL_TIME exp;
	int o = with_outcome ? 1 : 0;
	memset(b, 0, sizeof b);
	memset(k, 0, sizeof k);
	memset(s, 0, sizeof *s);
	outcome[0] = '\0';
	*got_row = false;
	if (with_outcome)
		out_bind(&b[0], &k[0], MYSQL_TYPE_STRING, outcome, 32);
	out_bind(&b[o + 0], &k[o + 0], MYSQL_TYPE_LONG, &status, 0);
	out_bind(&b[o + 1], &k[o + 1], MYSQL_TYPE_STRING, s->location, sizeof s->location);
	out_bind(&b[o + 2], &k[o + 2], MYSQL_TYPE_BLOB, NULL, 0);
	out_bind(&b[o + 3], &k[o + 3], MYSQL_TYPE_BLOB, fp, sizeof fp);
	out_bind(&b[o + 4], &k[o + 4], MYSQL_TYPE_DATETIME, &exp, 0);
	if (mysql_stmt_field_count(st) != (unsigned)(o + 5)) {
		lf_store_drain(c, st);
		return lf_store_fail(c, 0, "unexpected result shape from stored procedure");
	}
	if (mysql_stmt_bind_result(st, b)) {
		enum lf_store_rc rc = lf_store_stmt_fail(c, st);
		lf_store_drain(c, st);
		return rc;
	}
	int f = mysql_stmt_fetch(st);
	if (f == 1) {
		enum lf_store_rc rc = lf_store_stmt_fail(c, st);
		lf_store_drain(c, st);
		return rc;
	}
	if (f != MYSQL_NO_DATA) {
		*got_row = true;
		if (with_outcome)
			out_str_fix(outcome, 32, &k[0]);
		out_str_fix(s->location, sizeof s->location, &k[o + 1]);
		if (!k[o + 2].null) {
			s->body = malloc(k[o + 2].len + 1);
			if (!s->body) {
				lf_store_drain(c, st);
				return lf_store_fail(c, 0, "out of memory for a stored body");
			}
			s->body_len = k[o + 2].len;
			if (s->body_len > 0) {
				MYSQL_BIND bb;
				memset(&bb, 0, sizeof bb);
				bb.buffer_type = MYSQL_TYPE_BLOB;
				bb.buffer = s->body;
				bb.buffer_length = (unsigned long)s->body_len;
				if (mysql_stmt_fetch_column(st, &bb, (unsigned)(o + 2), 0)) {
					enum lf_store_rc rc = lf_store_stmt_fail(c, st);
					lf_stored_clear(s);
					lf_store_drain(c, st);
					return rc;
				}
			}
			s->body[s->body_len] = '\0';
		}
		if (!k[o].null) {
			s->found = true;
			s->status = status;
		}
		if (!k[o + 3].null && k[o + 3].len == sizeof fp)
			memcpy(s->fingerprint, fp, sizeof fp);
		if (!k[o + 4].null)
			s->expires_ms = lf_store_time_to_ms(&exp);
	}
	/* The outcome is decided once the row is read; a failure to drain only
	 * spoils the connection (marked broken) for the next call. */
	lf_store_drain(c, st);
	return LF_STORE_OK;
}

/* The stored row of a 'replay' is what the caller needs; for any other
 * outcome stored is left empty (found false). */
static void keep_only_replay(bool replay, struct lf_stored *s)
{
	if (!replay)
		lf_stored_clear(s);
}

/* ---- payments and outcomes ---- */

enum lf_store_rc lf_store_transfer(struct lf_store_conn *c, const struct lf_transfer_req *r,
				   enum lf_transfer_result *result, struct lf_stored *stored)
{
	MYSQL_STMT *st;
	enum lf_store_rc rc = lf_store_stmt(c, ST_TRANSFER, &st);
	memset(stored, 0, sizeof *stored);
	if (rc != LF_STORE_OK)
		return rc;
	MYSQL_BIND b[16];
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
	if ((rc = lf_store_run(c, st, b)) != LF_STORE_OK)
		return rc;
	char outcome[32];
	bool row;
	if ((rc = fetch_outcome(c, st, true, outcome, stored, &row)) != LF_STORE_OK)
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
	else if (strcmp(outcome, "payment_exists") == 0)
		*result = LF_TRANSFER_PAYMENT_EXISTS;
	else {
		lf_stored_clear(stored);
		return lf_store_fail(c, 0, "lf_transfer returned an unknown outcome");
	}
	keep_only_replay(*result == LF_TRANSFER_REPLAY || *result == LF_TRANSFER_PAYMENT_EXISTS,
			 stored);
	return LF_STORE_OK;
}

enum lf_store_rc lf_store_record_outcome(struct lf_store_conn *c, uint64_t client_id,
					 const char *key, size_t key_len,
					 const uint8_t fp[LF_FINGERPRINT_LEN], int status,
					 const char *location, const char *body, size_t body_len,
					 int64_t created_ms, int64_t expires_ms, bool *replay,
					 struct lf_stored *stored)
{
	MYSQL_STMT *st;
	enum lf_store_rc rc = lf_store_stmt(c, ST_RECORD, &st);
	memset(stored, 0, sizeof *stored);
	*replay = false;
	if (rc != LF_STORE_OK)
		return rc;
	MYSQL_BIND b[8];
	MYSQL_TIME t_created, t_expires;
	memset(b, 0, sizeof b);
	in_u64(&b[0], &client_id);
	in_bytes(&b[1], key, key_len);
	in_bytes(&b[2], fp, LF_FINGERPRINT_LEN);
	in_int(&b[3], &status);
	in_str(&b[4], location);
	in_body(&b[5], body, body_len);
	in_time(&b[6], &t_created, created_ms);
	in_time(&b[7], &t_expires, expires_ms);
	if ((rc = lf_store_run(c, st, b)) != LF_STORE_OK)
		return rc;
	char outcome[32];
	bool row;
	if ((rc = fetch_outcome(c, st, true, outcome, stored, &row)) != LF_STORE_OK)
		return rc;
	if (!row || (strcmp(outcome, "stored") != 0 && strcmp(outcome, "replay") != 0)) {
		lf_stored_clear(stored);
		return lf_store_fail(c, 0, "lf_record_outcome returned an unexpected result");
	}
	*replay = strcmp(outcome, "replay") == 0;
	keep_only_replay(*replay, stored);
	return LF_STORE_OK;
}

enum lf_store_rc lf_store_get_outcome(struct lf_store_conn *c, uint64_t client_id, const char *key,
				      size_t key_len, struct lf_stored *stored)
{
	MYSQL_STMT *st;
	enum lf_store_rc rc = lf_store_stmt(c, ST_GET_OUTCOME, &st);
	memset(stored, 0, sizeof *stored);
	if (rc != LF_STORE_OK)
		return rc;
	MYSQL_BIND b[2];
	memset(b, 0, sizeof b);
	in_u64(&b[0], &client_id);
	in_bytes(&b[1], key, key_len);
	if ((rc = lf_store_run(c, st, b)) != LF_STORE_OK)
		return rc;
	char unused[32];
	bool row;
	return fetch_outcome(c, st, false, unused, stored, &row);
}

enum lf_store_rc lf_store_create_account(struct lf_store_conn *c,
					 const struct lf_create_account_req *r,
					 enum lf_create_result *result, struct lf_stored *stored)
{
	MYSQL_STMT *st;
	enum lf_store_rc rc = lf_store_stmt(c, ST_CREATE, &st);
	memset(stored, 0, sizeof *stored);
	if (rc != LF_STORE_OK)
		return rc;
	MYSQL_BIND b[12];
	MYSQL_TIME t_created, t_expires;
	memset(b, 0, sizeof b);
	in_u64(&b[0], &r->client_id);
	in_bytes(&b[1], r->idem_key, r->idem_key_len);
	in_bytes(&b[2], r->fingerprint, LF_FINGERPRINT_LEN);
	in_uuid(&b[3], &r->id);
	in_str(&b[4], r->name);
	in_str(&b[5], r->currency);
	in_i64(&b[6], &r->initial_balance);
	in_uuid(&b[7], &r->opening_entry_id);
	in_time(&b[8], &t_created, r->created_ms);
	in_time(&b[9], &t_expires, r->expires_ms);
	in_body(&b[10], r->body, r->body_len);
	in_str(&b[11], r->location);
	if ((rc = lf_store_run(c, st, b)) != LF_STORE_OK)
		return rc;
	char outcome[32];
	bool row;
	if ((rc = fetch_outcome(c, st, true, outcome, stored, &row)) != LF_STORE_OK)
		return rc;
	if (row && strcmp(outcome, "created") == 0)
		*result = LF_CREATE_CREATED;
	else if (row && strcmp(outcome, "exists") == 0)
		*result = LF_CREATE_EXISTS;
	else if (row && strcmp(outcome, "replay") == 0)
		*result = LF_CREATE_REPLAY;
	else {
		lf_stored_clear(stored);
		return lf_store_fail(c, 0, "lf_create_account returned an unexpected result");
	}
	keep_only_replay(*result == LF_CREATE_REPLAY, stored);
	return LF_STORE_OK;
}
