/*
 * ctl/reconcile_ledger.c - the ledger pass of `ledgerflowctl reconcile`:
 * accounts in primary-key order, RC_CHUNK at a time, and for each chunk
 * its ledger entries streamed (mysql_use_result) in (account_id, seq)
 * order, a primary-key range scan. Per entry: seq follows, balance_after
 * is the running sum, the hash chain recomputes, a standard account stays
 * >= 0, an entry without a payment is an opening. Per account: balance =
 * sum of entries, ledger_seq = newest seq, chain_head = newest hash, the
 * account's kind matches the currencies table. Incremental runs start each
 * chain from the checkpointed (seq, hash, balance_after) and read only the
 * entries after it. Memory: one chunk of accounts.
 */
#include "config.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>

#include "lf_ledger_hash.h"
#include "reconcile_int.h"

struct acct {
	uint8_t id[RC_ID_LEN];
	char currency[4];
	bool issuance;      /* kind = 'ISSUANCE' */
	bool known;         /* its currency is in currencies */
	uint8_t issuer[16]; /* the currency's issuance account */
	int64_t balance, ledger_seq;
	uint8_t head[RC_HASH_LEN];
	bool has_cp;
	int64_t cp_seq;
	/* running state */
	int64_t seq, sum, after;
	uint8_t prev[RC_HASH_LEN];
};

enum { A_ID, A_CUR, A_KIND, A_BAL, A_SEQ, A_HEAD, A_ISSUER, C_SEQ, C_HASH, C_BAL, E0_HASH, E0_BAL };
enum { E_ACCT, E_SEQ, E_ID, E_PAY, E_CP, E_DIR, E_AMT, E_AFTER, E_AT, E_HASH, E_NCOL };

static const uint8_t zero_hash[RC_HASH_LEN];

/* Fill a from one row of the chunk query; false on a malformed row. */
static bool acct_load(struct rc_run *r, struct acct *a, MYSQL_ROW row, unsigned long *len)
{
	memset(a, 0, sizeof *a);
	if (!rc_bin(row[A_ID], len[A_ID], RC_ID_LEN, a->id) || !row[A_CUR] || len[A_CUR] != 3 ||
	    !row[A_KIND] || !rc_int(row[A_BAL], len[A_BAL], &a->balance) ||
	    !rc_int(row[A_SEQ], len[A_SEQ], &a->ledger_seq) ||
	    !rc_bin(row[A_HEAD], len[A_HEAD], RC_HASH_LEN, a->head))
		return false;
	memcpy(a->currency, row[A_CUR], 3);
	a->issuance = strcmp(row[A_KIND], "ISSUANCE") == 0;
	a->known = rc_bin(row[A_ISSUER], len[A_ISSUER], RC_ID_LEN, a->issuer);
	char u[37];
	rc_uuid(a->id, u);
	if (!a->known)
		rc_fail(r, "account %s: currency %s is not in the currencies table", u,
			a->currency);
	else if (a->issuance != (memcmp(a->issuer, a->id, RC_ID_LEN) == 0))
		rc_fail(r, "account %s: kind %s but %s the issuance account of %s", u,
			a->issuance ? "ISSUANCE" : "STANDARD", a->issuance ? "not" : "is",
			a->currency);
	if (!row[C_SEQ])
		return true; /* no checkpoint: verify from seq 1 */
	uint8_t cp_hash[RC_HASH_LEN], e0_hash[RC_HASH_LEN];
	int64_t cp_bal, e0_bal;
	if (!rc_int(row[C_SEQ], len[C_SEQ], &a->cp_seq) ||
	    !rc_bin(row[C_HASH], len[C_HASH], RC_HASH_LEN, cp_hash) ||
	    !rc_int(row[C_BAL], len[C_BAL], &cp_bal))
		return false;
	a->has_cp = true;
	a->seq = a->cp_seq;
	a->sum = a->after = cp_bal;
	memcpy(a->prev, cp_hash, RC_HASH_LEN);
	if (!row[E0_HASH])
		rc_fail(r, "account %s seq %lld: the checkpointed entry is gone", u,
			(long long)a->cp_seq);
	else if (!rc_bin(row[E0_HASH], len[E0_HASH], RC_HASH_LEN, e0_hash) ||
		 !rc_int(row[E0_BAL], len[E0_BAL], &e0_bal))
		return false;
	else if (memcmp(e0_hash, cp_hash, RC_HASH_LEN) != 0 || e0_bal != cp_bal)
		rc_fail(r,
			"account %s seq %lld: the entry differs from the checkpoint "
			"(history rewritten since the last clean pass)",
			u, (long long)a->cp_seq);
	return true;
}

/* After the account's last entry. */
static void acct_finish(struct rc_run *r, const struct acct *a)
{
	char u[37];
	rc_uuid(a->id, u);
	r->accounts++;
	if (a->seq != a->ledger_seq)
		rc_fail(r,
			"account %s seq %lld: ledger_seq is %lld but the newest entry is seq %lld",
			u, (long long)a->seq, (long long)a->ledger_seq, (long long)a->seq);
	if (a->sum != a->balance)
		rc_fail(r, "account %s seq %lld: balance %lld but its entries sum to %lld", u,
			(long long)a->seq, (long long)a->balance, (long long)a->sum);
	if (memcmp(a->head, a->seq ? a->prev : zero_hash, RC_HASH_LEN) != 0)
		rc_fail(r, "account %s seq %lld: chain_head is not the hash of the newest entry", u,
			(long long)a->seq);
	if (!a->issuance && a->balance < 0)
		rc_fail(r, "account %s seq %lld: balance %lld < 0 on a standard account", u,
			(long long)a->seq, (long long)a->balance);
}

/* One entry of account a (row already matched to it). */
static bool entry_check(struct rc_run *r, struct acct *a, MYSQL_ROW row, unsigned long *len)
{
	int64_t seq, amount, after;
	uint8_t id[RC_ID_LEN], pay[RC_ID_LEN], cp[RC_ID_LEN], hash[RC_HASH_LEN];
	bool has_pay = row[E_PAY] != NULL;
	if (!rc_int(row[E_SEQ], len[E_SEQ], &seq) || !rc_bin(row[E_ID], len[E_ID], RC_ID_LEN, id) ||
	    (has_pay && !rc_bin(row[E_PAY], len[E_PAY], RC_ID_LEN, pay)) ||
	    !rc_bin(row[E_CP], len[E_CP], RC_ID_LEN, cp) || !row[E_DIR] ||
	    !rc_int(row[E_AMT], len[E_AMT], &amount) ||
	    !rc_int(row[E_AFTER], len[E_AFTER], &after) || !row[E_AT] ||
	    !rc_bin(row[E_HASH], len[E_HASH], RC_HASH_LEN, hash))
		return false;
	char u[37];
	rc_uuid(a->id, u);
	long long s = (long long)seq;
	bool credit = strcmp(row[E_DIR], "CREDIT") == 0;
	if (seq != a->seq + 1)
		rc_fail(r, "account %s seq %lld: follows seq %lld (an entry is missing or moved)",
			u, s, (long long)a->seq);
	if (amount <= 0 || (!credit && strcmp(row[E_DIR], "DEBIT") != 0))
		rc_fail(r, "account %s seq %lld: %s of %lld", u, s, row[E_DIR], (long long)amount);
	int64_t delta = credit ? amount : -amount;
	if (after != a->after + delta)
		rc_fail(r, "account %s seq %lld: balance_after %lld, expected %lld", u, s,
			(long long)after, (long long)(a->after + delta));
	if (!a->issuance && after < 0)
		rc_fail(r, "account %s seq %lld: balance_after %lld < 0 on a standard account", u,
			s, (long long)after);
	struct lf_ledger_hash_in e = {
		.seq = seq,
		.has_payment = has_pay,
		.debit = !credit,
		.amount = amount,
		.balance_after = after,
	};
	memcpy(e.account_id.b, a->id, RC_ID_LEN);
	memcpy(e.id.b, id, RC_ID_LEN);
	if (has_pay)
		memcpy(e.payment_id.b, pay, RC_ID_LEN);
	memcpy(e.counterparty_id.b, cp, RC_ID_LEN);
	uint8_t want[RC_HASH_LEN];
	if (!rc_datetime_ms(row[E_AT], len[E_AT], &e.created_ms) ||
	    !lf_ledger_hash(seq == 1 ? NULL : a->prev, &e, want))
		return false;
	if (memcmp(want, hash, RC_HASH_LEN) != 0)
		rc_fail(r,
			"account %s seq %lld: the hash does not recompute (entry edited, or the "
			"chain broken before it)",
			u, s);
	if (memcmp(cp, a->id, RC_ID_LEN) == 0)
		rc_fail(r, "account %s seq %lld: counterparty is the account itself", u, s);
	if (!has_pay) {
		bool opening = !a->issuance && credit && seq == 1 && a->known &&
			       memcmp(cp, a->issuer, RC_ID_LEN) == 0;
		if (!opening && !(a->issuance && !credit))
			rc_fail(r,
				"account %s seq %lld: an entry without a payment must be an "
				"opening "
				"CREDIT (seq 1, from the currency's issuance account) or an "
				"issuance "
				"DEBIT",
				u, s);
	} else if (r->full) {
		rc_mset_add(r, r->sum_ledger, pay, a->id, credit ? 'C' : 'D', amount, cp,
			    a->currency);
		r->n_ledger++;
	} else if (r->have_from && memcmp(pay, r->payments_from, RC_ID_LEN) < 0) {
		char pu[37];
		rc_uuid(pay, pu);
		rc_fail(r,
			"account %s seq %lld: a new entry of payment %s, older than the payments "
			"this run checks (run --full)",
			u, s, pu);
	}
	a->seq = seq;
	a->sum += delta;
	a->after = after;
	memcpy(a->prev, hash, RC_HASH_LEN);
	r->entries++;
	if ((r->entries & 0xffff) == 0)
		rc_progress(r, "ledger entries", r->entries, false);
	return true;
}

/* Queue the checkpoint rows of a chunk on the writer; false on error. */
static bool checkpoint_chunk(struct rc_run *r, const struct acct *as, size_t n)
{
	if (!r->w)
		return true;
	/* one row: (X'32 hex',seq,X'64 hex',balance,UTC_TIMESTAMP(3)) */
	size_t cap = 600 + n * 200; /* a row is at most ~170 bytes */
	char *q = malloc(cap);
	if (!q) {
		fprintf(r->out, "reconcile: out of memory\n");
		return false;
	}
	size_t k = (size_t)snprintf(q, cap,
				    "INSERT INTO reconcile_checkpoints"
				    " (account_id, seq, hash, balance, checked_at) VALUES ");
	size_t rows = 0;
	for (size_t i = 0; i < n; i++) {
		const struct acct *a = &as[i];
		if (a->seq == 0 || (a->has_cp && a->seq == a->cp_seq))
			continue;
		char idl[2 * RC_ID_LEN + 4], hl[2 * RC_HASH_LEN + 4];
		rc_xlit(a->id, RC_ID_LEN, idl);
		rc_xlit(a->prev, RC_HASH_LEN, hl);
		k += (size_t)snprintf(q + k, cap - k, "%s(%s,%lld,%s,%lld,UTC_TIMESTAMP(3))",
				      rows ? "," : "", idl, (long long)a->seq, hl,
				      (long long)a->after);
		rows++;
	}
	k += (size_t)snprintf(q + k, cap - k,
			      " ON DUPLICATE KEY UPDATE seq = VALUES(seq), hash = VALUES(hash),"
			      " balance = VALUES(balance), checked_at = VALUES(checked_at)");
	assert(k < cap);
	bool ok = rows == 0 || rc_query(r, r->w, q, k, "writing the checkpoint");
	free(q);
	return ok;
}

#define ENTRY_COLS                                                                    \
	"SELECT account_id, seq, id, payment_id, counterparty_id, direction, amount," \
	" balance_after, created_at, hash FROM ledger_entries WHERE "

/* The statement reading a chunk's entries, in (account_id, seq) order, a
 * primary-key range scan either way: full, the range (lo, hi] (NULL: open);
 * incremental, one range per account, from after its checkpoint (an empty
 * range costs one index dive). Caller frees; NULL when out of memory. */
static char *entries_sql(struct rc_run *r, const struct acct *as, size_t n, const uint8_t *lo,
			 const uint8_t *hi, size_t *len)
{
	size_t cap = 200 + (r->full ? 100 : n * 100), k = 0;
	char *q = malloc(cap), lit[2 * RC_ID_LEN + 4];
	if (!q)
		return NULL;
	k += (size_t)snprintf(q + k, cap - k, "%s", ENTRY_COLS);
	if (r->full) {
		if (lo) {
			rc_xlit(lo, RC_ID_LEN, lit);
			k += (size_t)snprintf(q + k, cap - k, "account_id > %s AND ", lit);
		}
		if (hi) {
			rc_xlit(hi, RC_ID_LEN, lit);
			k += (size_t)snprintf(q + k, cap - k, "account_id <= %s AND ", lit);
		}
		k += (size_t)snprintf(q + k, cap - k, "TRUE");
	} else {
		for (size_t i = 0; i < n; i++) {
			rc_xlit(as[i].id, RC_ID_LEN, lit);
			k += (size_t)snprintf(q + k, cap - k, "%s(account_id = %s AND seq > %lld)",
					      i ? " OR " : "", lit, (long long)as[i].seq);
		}
	}
	k += (size_t)snprintf(q + k, cap - k, " ORDER BY account_id, seq");
	assert(k < cap);
	*len = k;
	return q;
}

/* Stream the entries of one chunk (full: lo exclusive, hi inclusive; NULL:
 * open) and check them against as[0..n). */
static bool chunk_entries(struct rc_run *r, struct acct *as, size_t n, const uint8_t *lo,
			  const uint8_t *hi)
{
	size_t k;
	char *q = entries_sql(r, as, n, lo, hi, &k);
	if (!q) {
		fprintf(r->out, "reconcile: out of memory\n");
		return false;
	}
	bool ran = rc_query(r, r->m, q, k, "reading ledger entries");
	free(q);
	if (!ran)
		return false;
	MYSQL_RES *res = mysql_use_result(r->m);
	if (!res || mysql_num_fields(res) != E_NCOL) {
		rc_sql_error(r, r->m, "reading ledger entries");
		if (res)
			mysql_free_result(res);
		return false;
	}
	size_t i = 0;
	bool ok = true;
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res))) {
		unsigned long *len = mysql_fetch_lengths(res);
		uint8_t acct_id[RC_ID_LEN];
		if (!rc_bin(row[E_ACCT], len[E_ACCT], RC_ID_LEN, acct_id)) {
			ok = false;
			break;
		}
		while (i < n && memcmp(as[i].id, acct_id, RC_ID_LEN) < 0)
			acct_finish(r, &as[i++]);
		if (i == n || memcmp(as[i].id, acct_id, RC_ID_LEN) != 0) {
			char u[37];
			rc_uuid(acct_id, u);
			rc_fail(r,
				"account %s seq %s: a ledger entry of an account that does not "
				"exist",
				u, row[E_SEQ] ? row[E_SEQ] : "?");
			continue;
		}
		if (!entry_check(r, &as[i], row, len)) {
			ok = false;
			break;
		}
	}
	if (ok && mysql_errno(r->m)) {
		rc_sql_error(r, r->m, "reading ledger entries");
		ok = false;
	} else if (!ok) {
		fprintf(r->out, "reconcile: a malformed ledger entry row\n");
	}
	mysql_free_result(res);
	for (; ok && i < n; i++)
		acct_finish(r, &as[i]);
	return ok;
}

bool rc_ledger_pass(struct rc_run *r)
{
	struct acct *as = calloc(RC_CHUNK, sizeof *as);
	if (!as) {
		fprintf(r->out, "reconcile: out of memory\n");
		return false;
	}
	uint8_t last[RC_ID_LEN];
	bool have_last = false, ok = true;
	for (;;) {
		char lit[2 * RC_ID_LEN + 16], q[1400];
		rc_xlit(last, RC_ID_LEN, lit + 7);
		memcpy(lit, "a.id > ", 7);
		int k = snprintf(
			q, sizeof q,
			"SELECT a.id, a.currency, a.kind, a.balance, a.ledger_seq, a.chain_head,"
			" cu.issuance_account_id, %s FROM accounts a"
			" LEFT JOIN currencies cu ON cu.code = a.currency %s"
			" WHERE %s ORDER BY a.id LIMIT %d",
			r->full ? "NULL, NULL, NULL, NULL, NULL"
				: "c.seq, c.hash, c.balance, e0.hash, e0.balance_after",
			r->full ? ""
				: "LEFT JOIN reconcile_checkpoints c ON c.account_id = a.id"
				  " LEFT JOIN ledger_entries e0 ON e0.account_id = a.id"
				  "  AND e0.seq = c.seq",
			have_last ? lit : "TRUE", RC_CHUNK);
		if (!rc_query(r, r->m, q, (size_t)k, "reading accounts")) {
			ok = false;
			break;
		}
		MYSQL_RES *res = mysql_store_result(r->m);
		if (!res) {
			rc_sql_error(r, r->m, "reading accounts");
			ok = false;
			break;
		}
		size_t n = 0;
		MYSQL_ROW row;
		while (ok && n < RC_CHUNK && (row = mysql_fetch_row(res)))
			if (!acct_load(r, &as[n++], row, mysql_fetch_lengths(res))) {
				fprintf(r->out, "reconcile: a malformed account row\n");
				ok = false;
			}
		mysql_free_result(res);
		if (!ok)
			break;
		/* the last chunk also takes entries past the last account (full) */
		bool end = n < RC_CHUNK;
		if (n > 0 || r->full)
			ok = chunk_entries(r, as, n, have_last ? last : NULL,
					   end ? NULL : as[n - 1].id) &&
			     checkpoint_chunk(r, as, n);
		if (!ok || end)
			break;
		memcpy(last, as[n - 1].id, RC_ID_LEN);
		have_last = true;
	}
	free(as);
	return ok;
}
