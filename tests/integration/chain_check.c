/*
 * chain_check.c - recompute every ledger chain of a database in C and
 * compare it with what the database stored (chain_check.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain_check.h"
#include "lf_ledger_hash.h"

/* A binary column of exactly n bytes into out; false otherwise. */
static bool bytes(const char *v, unsigned long len, size_t n, void *out)
{
	if (v == NULL || len != n)
		return false;
	memcpy(out, v, n);
	return true;
}

static long heads_wrong(MYSQL *m)
{
	const char *q = "SELECT COUNT(*) FROM accounts a LEFT JOIN ledger_entries e"
			" ON e.account_id = a.id AND e.seq = a.ledger_seq"
			" WHERE a.chain_head <> COALESCE(e.hash, REPEAT(x'00', 32))";
	if (mysql_query(m, q)) {
		fprintf(stderr, "chain_check: %s\n", mysql_error(m));
		return -1;
	}
	MYSQL_RES *r = mysql_store_result(m);
	MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
	long n = row && row[0] ? atol(row[0]) : -1;
	if (r)
		mysql_free_result(r);
	return n;
}

long chain_check(MYSQL *m, long *checked)
{
	*checked = 0;
	const char *q =
		"SELECT account_id, seq, id, payment_id, counterparty_id, direction, amount,"
		" balance_after, TIMESTAMPDIFF(MICROSECOND, '1970-01-01', created_at) DIV 1000,"
		" hash FROM ledger_entries ORDER BY account_id, seq";
	if (mysql_query(m, q)) {
		fprintf(stderr, "chain_check: %s\n", mysql_error(m));
		return -1;
	}
	MYSQL_RES *r = mysql_use_result(m);
	if (r == NULL) {
		fprintf(stderr, "chain_check: %s\n", mysql_error(m));
		return -1;
	}
	long bad = 0;
	uint8_t prev[LF_LEDGER_HASH_LEN];
	lf_uuid account = {{0}};
	int64_t last_seq = 0;
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(r)) != NULL) {
		unsigned long *len = mysql_fetch_lengths(r);
		struct lf_ledger_hash_in e = {0};
		uint8_t stored[LF_LEDGER_HASH_LEN], h[LF_LEDGER_HASH_LEN];
		bool ok = bytes(row[0], len[0], 16, e.account_id.b) && row[1] &&
			  bytes(row[2], len[2], 16, e.id.b) &&
			  bytes(row[4], len[4], 16, e.counterparty_id.b) && row[5] && row[6] &&
			  row[7] && row[8] && bytes(row[9], len[9], 32, stored);
		e.has_payment = row[3] != NULL;
		if (ok && e.has_payment)
			ok = bytes(row[3], len[3], 16, e.payment_id.b);
		if (!ok) {
			bad++;
			(*checked)++;
			continue;
		}
		e.seq = strtoll(row[1], NULL, 10);
		e.debit = strcmp(row[5], "DEBIT") == 0;
		e.amount = strtoll(row[6], NULL, 10);
		e.balance_after = strtoll(row[7], NULL, 10);
		e.created_ms = strtoll(row[8], NULL, 10);
		bool first = *checked == 0 || memcmp(account.b, e.account_id.b, 16) != 0;
		if (first) {
			account = e.account_id;
			last_seq = 0;
		}
		if (e.seq != last_seq + 1 || !lf_ledger_hash(first ? NULL : prev, &e, h) ||
		    memcmp(h, stored, sizeof h) != 0)
			bad++;
		/* the next entry chains on what the database stored */
		memcpy(prev, stored, sizeof prev);
		last_seq = e.seq;
		(*checked)++;
	}
	bool failed = mysql_errno(m) != 0;
	mysql_free_result(r);
	if (failed) {
		fprintf(stderr, "chain_check: %s\n", mysql_error(m));
		return -1;
	}
	long heads = heads_wrong(m);
	return heads < 0 ? -1 : bad + heads;
}
