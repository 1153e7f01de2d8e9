/*
 * store/accounts.c - the accounts' side of the database (lf_store.h):
 * creating an account (one CALL of lf_create_account, which claims the
 * key, inserts the account and its opening transfer from the currency's
 * issuance account and stores the 201), and
 * the reads: one account, the currencies of a payment's two accounts, and
 * a page of an account's ledger.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

lf_rc lf_store_create_account(struct lf_store_conn *c, const struct lf_create_account_req *r,
			      enum lf_create_result *result, struct lf_stored *stored)
{
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, ST_CREATE, &st);
	memset(stored, 0, sizeof *stored);
	if (rc != LF_OK)
		return rc;
	MYSQL_BIND b[15];
	MYSQL_TIME t_created, t_expires;
	memset(b, 0, sizeof b);
	in_str(&b[13], r->metadata);
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
	in_uuid(&b[12], &r->issuance_entry_id);
	lf_uuid event_id;
	lf_uuid_v7(&event_id);
	in_uuid(&b[14], &event_id);
	if ((rc = lf_store_run(c, st, b)) != LF_OK)
		return rc;
	char outcome[32];
	bool row;
	if ((rc = lf_store_fetch_outcome(c, st, true, outcome, stored, &row)) != LF_OK)
		return rc;
	if (row && strcmp(outcome, "created") == 0)
		*result = LF_CREATE_CREATED;
	else if (row && strcmp(outcome, "exists") == 0)
		*result = LF_CREATE_EXISTS;
	else if (row && strcmp(outcome, "replay") == 0)
		*result = LF_CREATE_REPLAY;
	else if (row && strcmp(outcome, "amount_too_large") == 0)
		*result = LF_CREATE_AMOUNT_TOO_LARGE;
	else {
		lf_stored_clear(stored);
		return lf_store_fail(c, 0, "lf_create_account returned an unexpected result");
	}
	lf_store_keep_only_replay(*result == LF_CREATE_REPLAY, stored);
	return LF_OK;
}

lf_rc lf_store_get_account(struct lf_store_conn *c, const lf_uuid *id, const struct lf_client *who,
			   struct lf_account *out)
{
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, ST_GET_ACCOUNT, &st);
	if (rc != LF_OK)
		return rc;
	MYSQL_BIND in[3], b[7];
	struct col k[7];
	MYSQL_TIME t_created, t_updated;
	char *md = malloc(LF_METADATA_TEXT_MAX);
	if (md == NULL)
		return lf_store_fail(c, 0, "out of memory for an account");
	memset(in, 0, sizeof in);
	memset(b, 0, sizeof b);
	memset(k, 0, sizeof k);
	memset(out, 0, sizeof *out);
	int admin = who->admin;
	in_uuid(&in[0], id);
	in_int(&in[1], &admin);
	in_u64(&in[2], &who->id);
	if ((rc = lf_store_run(c, st, in)) != LF_OK) {
		free(md);
		return rc;
	}
	out_bind(&b[0], &k[0], MYSQL_TYPE_STRING, out->name, sizeof out->name);
	out_bind(&b[1], &k[1], MYSQL_TYPE_STRING, out->currency, sizeof out->currency);
	out_bind(&b[2], &k[2], MYSQL_TYPE_LONGLONG, &out->balance, 0);
	out_bind(&b[3], &k[3], MYSQL_TYPE_DATETIME, &t_created, 0);
	out_bind(&b[4], &k[4], MYSQL_TYPE_DATETIME, &t_updated, 0);
	out_bind(&b[5], &k[5], MYSQL_TYPE_LONGLONG, &out->held, 0);
	out_bind(&b[6], &k[6], MYSQL_TYPE_STRING, md, LF_METADATA_TEXT_MAX);
	if (rc == LF_OK && mysql_stmt_bind_result(st, b))
		rc = lf_store_stmt_fail(c, st);
	int f = rc == LF_OK ? lf_store_next_row(c, st) : 1;
	if (rc == LF_OK && f < 0)
		rc = lf_store_last_rc(c);
	else if (rc == LF_OK && f == 1)
		rc = LF_DECLINED;
	else if (rc == LF_OK) {
		out->id = *id;
		out_str_fix(out->name, sizeof out->name, &k[0]);
		out_str_fix(out->currency, sizeof out->currency, &k[1]);
		out->created_ms = lf_store_time_to_ms(&t_created);
		out->updated_ms = lf_store_time_to_ms(&t_updated);
		bool ok = true;
		out->metadata = lf_store_text_dup(md, LF_METADATA_TEXT_MAX, &k[6], &ok);
		if (!ok)
			rc = lf_store_fail(c, 0, "out of memory for an account's metadata");
	}
	free(md);
	return lf_store_finish(c, st, rc);
}

void lf_store_accounts_params(MYSQL_BIND in[LF_STORE_ACCOUNTS_PER_READ], const lf_uuid *ids, int m)
{
	memset(in, 0, LF_STORE_ACCOUNTS_PER_READ * sizeof *in);
	for (int i = 0; i < LF_STORE_ACCOUNTS_PER_READ; i++)
		in_uuid(&in[i], &ids[i < m ? i : m - 1]);
}

lf_rc lf_store_accounts_rows(struct lf_store_conn *c, MYSQL_STMT *st, int m, const lf_uuid *ids,
			     const struct lf_client *who, struct lf_account *out, lf_rc *rcs)
{
	MYSQL_BIND b[9];
	struct col k[9];
	memset(b, 0, sizeof b);
	memset(k, 0, sizeof k);
	uint8_t id[16];
	uint64_t owner = 0;
	struct lf_account a;
	MYSQL_TIME t_created, t_updated;
	out_bind(&b[0], &k[0], MYSQL_TYPE_BLOB, id, sizeof id);
	out_bind(&b[1], &k[1], MYSQL_TYPE_LONGLONG, &owner, 0);
	b[1].is_unsigned = 1;
	out_bind(&b[2], &k[2], MYSQL_TYPE_STRING, a.name, sizeof a.name);
	out_bind(&b[3], &k[3], MYSQL_TYPE_STRING, a.currency, sizeof a.currency);
	out_bind(&b[4], &k[4], MYSQL_TYPE_LONGLONG, &a.balance, 0);
	out_bind(&b[5], &k[5], MYSQL_TYPE_DATETIME, &t_created, 0);
	out_bind(&b[6], &k[6], MYSQL_TYPE_DATETIME, &t_updated, 0);
	out_bind(&b[7], &k[7], MYSQL_TYPE_LONGLONG, &a.held, 0);
	char *md = malloc(LF_METADATA_TEXT_MAX);
	out_bind(&b[8], &k[8], MYSQL_TYPE_STRING, md, LF_METADATA_TEXT_MAX);
	if (md == NULL)
		return lf_store_finish(c, st, lf_store_fail(c, 0, "out of memory for accounts"));
	if (mysql_stmt_bind_result(st, b)) {
		free(md);
		return lf_store_finish(c, st, lf_store_stmt_fail(c, st));
	}
	for (;;) {
		int f = lf_store_next_row(c, st);
		if (f < 0) {
			free(md);
			return lf_store_finish(c, st, lf_store_last_rc(c));
		}
		if (f == 1)
			break;
		if (!out_uuid_ok(&k[0]))
			continue;
		out_str_fix(a.name, sizeof a.name, &k[2]);
		out_str_fix(a.currency, sizeof a.currency, &k[3]);
		a.created_ms = lf_store_time_to_ms(&t_created);
		a.updated_ms = lf_store_time_to_ms(&t_updated);
		memcpy(a.id.b, id, 16);
		a.owner = owner;
		/* every asker of this id that may see it (the same scope as
		 * ST_GET_ACCOUNT: admin, or the owner) */
		for (int i = 0; i < m; i++) {
			if (memcmp(ids[i].b, id, 16) != 0 || !(who[i].admin || who[i].id == owner))
				continue;
			bool ok = true;
			out[i] = a;
			out[i].metadata = lf_store_text_dup(md, LF_METADATA_TEXT_MAX, &k[8], &ok);
			rcs[i] = ok ? LF_OK : lf_store_fail(c, 0, "out of memory for metadata");
		}
	}
	free(md);
	return lf_store_finish(c, st, LF_OK);
}

/* Up to LF_STORE_ACCOUNTS_PER_READ of the n accounts, from `from`. */
static lf_rc get_accounts_chunk(struct lf_store_conn *c, int from, int n, const lf_uuid *ids,
				const struct lf_client *who, struct lf_account *out, lf_rc *rcs)
{
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, ST_GET_ACCOUNTS, &st);
	if (rc != LF_OK)
		return rc;
	int m = n - from < LF_STORE_ACCOUNTS_PER_READ ? n - from : LF_STORE_ACCOUNTS_PER_READ;
	MYSQL_BIND in[LF_STORE_ACCOUNTS_PER_READ];
	lf_store_accounts_params(in, ids + from, m);
	if ((rc = lf_store_run(c, st, in)) != LF_OK)
		return rc;
	return lf_store_accounts_rows(c, st, m, ids + from, who + from, out + from, rcs + from);
}

lf_rc lf_store_get_accounts(struct lf_store_conn *c, int n, const lf_uuid *ids,
			    const struct lf_client *who, struct lf_account *out, lf_rc *rcs)
{
	for (int i = 0; i < n; i++)
		rcs[i] = LF_DECLINED;
	for (int from = 0; from < n; from += LF_STORE_ACCOUNTS_PER_READ) {
		lf_rc rc = get_accounts_chunk(c, from, n, ids, who, out, rcs);
		if (rc != LF_OK)
			return rc;
	}
	return LF_OK;
}

lf_rc lf_store_account_currencies(struct lf_store_conn *c, const lf_uuid ids[2], bool found[2],
				  char currency[2][4], uint64_t owner[2])
{
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, ST_CURRENCIES, &st);
	found[0] = found[1] = false;
	currency[0][0] = currency[1][0] = '\0';
	owner[0] = owner[1] = 0;
	if (rc != LF_OK)
		return rc;
	MYSQL_BIND in[2], b[3];
	struct col k[3];
	uint8_t id[16];
	char cur[4];
	uint64_t who = 0;
	memset(in, 0, sizeof in);
	memset(b, 0, sizeof b);
	memset(k, 0, sizeof k);
	in_uuid(&in[0], &ids[0]);
	in_uuid(&in[1], &ids[1]);
	if ((rc = lf_store_run(c, st, in)) != LF_OK)
		return rc;
	out_bind(&b[0], &k[0], MYSQL_TYPE_BLOB, id, sizeof id);
	out_bind(&b[1], &k[1], MYSQL_TYPE_STRING, cur, sizeof cur);
	out_bind(&b[2], &k[2], MYSQL_TYPE_LONGLONG, &who, 0);
	b[2].is_unsigned = 1;
	if (mysql_stmt_bind_result(st, b))
		return lf_store_finish(c, st, lf_store_stmt_fail(c, st));
	for (int n = 0; n < 2; n++) {
		int f = lf_store_next_row(c, st);
		if (f < 0)
			return lf_store_finish(c, st, lf_store_last_rc(c));
		if (f == 1)
			break;
		out_str_fix(cur, sizeof cur, &k[1]);
		for (int i = 0; i < 2; i++) {
			if (out_uuid_ok(&k[0]) && memcmp(id, ids[i].b, 16) == 0) {
				found[i] = true;
				memcpy(currency[i], cur, sizeof cur);
				owner[i] = who;
			}
		}
	}
	return lf_store_finish(c, st, LF_OK);
}

lf_rc lf_store_list_ledger(struct lf_store_conn *c, const lf_uuid *account,
			   const struct lf_client *who, int64_t before_seq, unsigned max,
			   struct lf_ledger_entry *out, unsigned *count, bool *more,
			   char currency[4])
{
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, ST_LEDGER, &st);
	*count = 0;
	*more = false;
	currency[0] = '\0';
	if (rc != LF_OK)
		return rc;
	MYSQL_BIND in[6], b[9];
	struct col k[9];
	uint64_t limit = (uint64_t)max + 1;
	struct lf_ledger_entry e;
	char cur[4], dir[8];
	MYSQL_TIME t_created;
	memset(in, 0, sizeof in);
	memset(b, 0, sizeof b);
	memset(k, 0, sizeof k);
	in_uuid(&in[0], account);
	in_i64(&in[1], &before_seq);
	in_u64(&in[2], &limit);
	in_uuid(&in[3], account);
	int admin = who->admin;
	in_int(&in[4], &admin);
	in_u64(&in[5], &who->id);
	if ((rc = lf_store_run(c, st, in)) != LF_OK)
		return rc;
	out_bind(&b[0], &k[0], MYSQL_TYPE_STRING, cur, sizeof cur);
	out_bind(&b[1], &k[1], MYSQL_TYPE_BLOB, e.id.b, 16);
	out_bind(&b[2], &k[2], MYSQL_TYPE_BLOB, e.payment_id.b, 16);
	out_bind(&b[3], &k[3], MYSQL_TYPE_STRING, dir, sizeof dir);
	out_bind(&b[4], &k[4], MYSQL_TYPE_LONGLONG, &e.amount, 0);
	out_bind(&b[5], &k[5], MYSQL_TYPE_LONGLONG, &e.balance_after, 0);
	out_bind(&b[6], &k[6], MYSQL_TYPE_LONGLONG, &e.seq, 0);
	out_bind(&b[7], &k[7], MYSQL_TYPE_DATETIME, &t_created, 0);
	out_bind(&b[8], &k[8], MYSQL_TYPE_BLOB, e.hash, sizeof e.hash);
	if (mysql_stmt_bind_result(st, b))
		return lf_store_finish(c, st, lf_store_stmt_fail(c, st));
	bool any = false;
	for (uint64_t n = 0; n < limit; n++) {
		memset(&e, 0, sizeof e);
		int f = lf_store_next_row(c, st);
		if (f < 0)
			return lf_store_finish(c, st, lf_store_last_rc(c));
		if (f == 1)
			break;
		if (!any) {
			out_str_fix(cur, sizeof cur, &k[0]);
			memcpy(currency, cur, sizeof cur);
			any = true;
		}
		if (!out_uuid_ok(&k[1]))
			break; /* the account has no (older) entries: LEFT JOIN's NULL row */
		if (*count == max) {
			*more = true;
			break;
		}
		out_str_fix(dir, sizeof dir, &k[3]);
		e.has_payment = out_uuid_ok(&k[2]);
		if (!e.has_payment)
			memset(e.payment_id.b, 0, 16);
		e.account_id = *account;
		e.debit = strcmp(dir, "DEBIT") == 0;
		e.created_ms = lf_store_time_to_ms(&t_created);
		out[(*count)++] = e;
	}
	return lf_store_finish(c, st, any ? LF_OK : LF_DECLINED);
}

void lf_account_clear(struct lf_account *a)
{
	if (a == NULL)
		return;
	free(a->metadata);
	a->metadata = NULL;
}
