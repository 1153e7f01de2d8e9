/*
 * store/outcomes.c - stored idempotent outcomes in the database (tier 3,
 * lf_store.h): reading the one outcome row every procedure returns,
 * recording a 422 decided before any transaction (lf_record_outcome),
 * asking a key's outcome (lf_get_outcome, the judge of a lost commit) and
 * reaping keys past their retention.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* ---- outcome rows: (outcome,) status, location, body, fingerprint, expires_at ---- */

lf_rc lf_store_fetch_outcome(struct lf_store_conn *c, MYSQL_STMT *st, bool with_outcome,
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
		lf_rc rc = lf_store_stmt_fail(c, st);
		lf_store_drain(c, st);
		return rc;
	}
	int f = mysql_stmt_fetch(st);
	if (f == 1) {
		lf_rc rc = lf_store_stmt_fail(c, st);
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
					lf_rc rc = lf_store_stmt_fail(c, st);
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
	return LF_OK;
}

/* The stored row of a 'replay' is what the caller needs; for any other
 * outcome stored is left empty (found false). */
void lf_store_keep_only_replay(bool replay, struct lf_stored *s)
{
	if (!replay)
		lf_stored_clear(s);
}

lf_rc lf_store_record_outcome(struct lf_store_conn *c, uint64_t client_id, const char *key,
			      size_t key_len, const uint8_t fp[LF_FINGERPRINT_LEN], int status,
			      const char *location, const char *body, size_t body_len,
			      int64_t created_ms, int64_t expires_ms, bool *replay,
			      struct lf_stored *stored)
{
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, ST_RECORD, &st);
	memset(stored, 0, sizeof *stored);
	*replay = false;
	if (rc != LF_OK)
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
	if ((rc = lf_store_run(c, st, b)) != LF_OK)
		return rc;
	char outcome[32];
	bool row;
	if ((rc = lf_store_fetch_outcome(c, st, true, outcome, stored, &row)) != LF_OK)
		return rc;
	if (!row || (strcmp(outcome, "stored") != 0 && strcmp(outcome, "replay") != 0)) {
		lf_stored_clear(stored);
		return lf_store_fail(c, 0, "lf_record_outcome returned an unexpected result");
	}
	*replay = strcmp(outcome, "replay") == 0;
	lf_store_keep_only_replay(*replay, stored);
	return LF_OK;
}

lf_rc lf_store_get_outcome(struct lf_store_conn *c, uint64_t client_id, const char *key,
			   size_t key_len, struct lf_stored *stored)
{
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, ST_GET_OUTCOME, &st);
	memset(stored, 0, sizeof *stored);
	if (rc != LF_OK)
		return rc;
	MYSQL_BIND b[2];
	memset(b, 0, sizeof b);
	in_u64(&b[0], &client_id);
	in_bytes(&b[1], key, key_len);
	if ((rc = lf_store_run(c, st, b)) != LF_OK)
		return rc;
	char unused[32];
	bool row;
	return lf_store_fetch_outcome(c, st, false, unused, stored, &row);
}

void lf_stored_clear(struct lf_stored *s)
{
	if (!s)
		return;
	free(s->body);
	memset(s, 0, sizeof *s);
}

lf_rc lf_store_reap_keys(struct lf_store_conn *c, int64_t now_ms, unsigned batch,
			 unsigned long *deleted)
{
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, ST_REAP, &st);
	*deleted = 0;
	if (rc != LF_OK)
		return rc;
	MYSQL_BIND in[2];
	MYSQL_TIME t_now;
	uint64_t limit = batch;
	memset(in, 0, sizeof in);
	in_time(&in[0], &t_now, now_ms);
	in_u64(&in[1], &limit);
	if ((rc = lf_store_run(c, st, in)) != LF_OK)
		return rc;
	my_ulonglong n = mysql_stmt_affected_rows(st);
	*deleted = n == (my_ulonglong)-1 ? 0 : (unsigned long)n;
	return lf_store_finish(c, st, LF_OK);
}
