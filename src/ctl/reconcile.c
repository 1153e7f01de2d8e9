/*
 * ctl/reconcile.c - `ledgerflowctl reconcile`: check that the books hold,
 * on one consistent snapshot (REPEATABLE READ, START TRANSACTION WITH
 * CONSISTENT SNAPSHOT, read-only, no locks: safe beside a running server).
 * Every check is one aggregate query that streams the tables in primary-key
 * order (scales to millions of rows) and yields, per violation class, a
 * count and a few examples. Exit code: 0 books hold, 1 violations, 2 error.
 */
#include "config.h"

#include "lf_admin.h"

#include <stdlib.h>
#include <string.h>

#include <mysql.h>

/* BINARY(16) -> canonical lower-case UUID text. */
#define UUID_TXT(col) \
	"LOWER(INSERT(INSERT(INSERT(INSERT(HEX(" col "),21,0,'-'),17,0,'-'),13,0,'-'),9,0,'-'))"
#define EXAMPLES(cond, text) "GROUP_CONCAT(IF(" cond ", " text ", NULL) SEPARATOR '; ' LIMIT 5)"
#define COUNT_IF(cond) "COALESCE(SUM(" cond "), 0)"

/* One query; its single row holds (count, examples) per class. */
struct check {
	const char *sql;
	int nclasses;
	const char *titles[4];
};

/* clang-format off */
static const struct check checks[] = {
	{
		/* Per account, streaming accounts by primary key and its entries
		 * by the (account_id, seq) primary key: no temporary table. */
		"SELECT " COUNT_IF("x.balance <> x.net") ", "
		EXAMPLES("x.balance <> x.net",
			 "CONCAT(" UUID_TXT("x.id") ", ': balance ', x.balance, "
			 "', entries sum to ', x.net)") ", "
		COUNT_IF("x.ledger_seq <> x.mx") ", "
		EXAMPLES("x.ledger_seq <> x.mx",
			 "CONCAT(" UUID_TXT("x.id") ", ': ledger_seq ', x.ledger_seq, "
			 "', newest entry seq ', x.mx)") ", "
		COUNT_IF("x.n <> x.mx OR (x.n > 0 AND x.mn <> 1)") ", "
		EXAMPLES("x.n <> x.mx OR (x.n > 0 AND x.mn <> 1)",
			 "CONCAT(" UUID_TXT("x.id") ", ': ', x.n, ' entries with seq ', x.mn, "
			 "'..', x.mx)")
		" FROM (SELECT a.id, a.balance, a.ledger_seq,"
		"  COALESCE(SUM(CASE e.direction WHEN 'CREDIT' THEN e.amount"
		"   WHEN 'DEBIT' THEN -e.amount END), 0) AS net,"
		"  COUNT(e.seq) AS n, COALESCE(MIN(e.seq), 0) AS mn, COALESCE(MAX(e.seq), 0) AS mx"
		"  FROM accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id"
		"  GROUP BY a.id) x",
		3,
		{ "account balance equals the sum of its ledger entries",
		  "account ledger_seq equals its newest entry's seq",
		  "ledger entry seqs are 1..n without gaps" },
	},
	{
		/* Each entry against its predecessor (primary-key lookup). */
		"SELECT COUNT(*), "
		EXAMPLES("1", "CONCAT(" UUID_TXT("x.account_id") ", ' seq ', x.seq, "
			      "': balance_after ', x.balance_after, ', expected ', x.expected)")
		" FROM (SELECT e.account_id, e.seq, e.balance_after,"
		"  COALESCE(p.balance_after, 0) + IF(e.direction = 'CREDIT', e.amount, -e.amount)"
		"   AS expected"
		"  FROM ledger_entries e LEFT JOIN ledger_entries p"
		"   ON p.account_id = e.account_id AND p.seq = e.seq - 1"
		"  WHERE e.seq = 1 OR p.seq IS NOT NULL) x"
		" WHERE x.balance_after <> x.expected",
		1,
		{ "each entry's balance_after follows from the previous one" },
	},
	{
		/* Per payment, its entries through the payment_id index. */
		"SELECT " COUNT_IF("x.status = 'COMPLETED' AND NOT (x.n = 2 AND x.d = 1 AND x.c = 1)") ", "
		EXAMPLES("x.status = 'COMPLETED' AND NOT (x.n = 2 AND x.d = 1 AND x.c = 1)",
			 "CONCAT(" UUID_TXT("x.id") ", ': ', x.n, ' entries, ', x.d, "
			 "' matching debit(s), ', x.c, ' matching credit(s)')") ", "
		COUNT_IF("x.status = 'DECLINED' AND x.n > 0") ", "
		EXAMPLES("x.status = 'DECLINED' AND x.n > 0",
			 "CONCAT(" UUID_TXT("x.id") ", ': ', x.n, ' entries')") ", "
		COUNT_IF("x.cur_bad") ", "
		EXAMPLES("x.cur_bad", "CONCAT(" UUID_TXT("x.id") ", ': ', x.currency)")
		" FROM (SELECT p.id, p.status, p.currency,"
		"  (SELECT COUNT(*) FROM ledger_entries e WHERE e.payment_id = p.id) AS n,"
		"  (SELECT COUNT(*) FROM ledger_entries e WHERE e.payment_id = p.id"
		"    AND e.account_id = p.from_account_id AND e.direction = 'DEBIT'"
		"    AND e.amount = p.amount) AS d,"
		"  (SELECT COUNT(*) FROM ledger_entries e WHERE e.payment_id = p.id"
		"    AND e.account_id = p.to_account_id AND e.direction = 'CREDIT'"
		"    AND e.amount = p.amount) AS c,"
		"  (COALESCE(af.currency, '') <> p.currency OR COALESCE(at.currency, '') <> p.currency)"
		"   AS cur_bad"
		"  FROM payments p"
		"  LEFT JOIN accounts af ON af.id = p.from_account_id"
		"  LEFT JOIN accounts at ON at.id = p.to_account_id) x",
		3,
		{ "each COMPLETED payment has one DEBIT on from and one CREDIT on to of its amount",
		  "DECLINED payments have no ledger entries",
		  "payments are in the currency of both accounts" },
	},
	{
		"SELECT " COUNT_IF("x.no_payment") ", "
		EXAMPLES("x.no_payment", "x.txt") ", "
		COUNT_IF("x.no_account") ", "
		EXAMPLES("x.no_account", "x.txt") ", "
		COUNT_IF("x.bad_opening") ", "
		EXAMPLES("x.bad_opening", "x.txt")
		" FROM (SELECT e.payment_id IS NOT NULL AND p.id IS NULL AS no_payment,"
		"  a.id IS NULL AS no_account,"
		"  e.payment_id IS NULL AND NOT ((a.kind = 'STANDARD' AND e.direction = 'CREDIT'"
		"   AND e.seq = 1) OR (a.kind = 'ISSUANCE' AND e.direction = 'DEBIT')) AS bad_opening,"
		"  CONCAT('entry ', " UUID_TXT("e.id") ") AS txt"
		"  FROM ledger_entries e"
		"  LEFT JOIN payments p ON p.id = e.payment_id"
		"  LEFT JOIN accounts a ON a.id = e.account_id) x",
		3,
		{ "no ledger entry references a missing payment",
		  "no ledger entry references a missing account",
		  "entries without a payment are opening CREDITs with seq 1 or issuance DEBITs" },
	},
	{
		/* Money is conserved: every movement, openings included, is a
		 * transfer (from the currency's issuance account for an opening),
		 * so per currency the balances sum to exactly 0. */
		"SELECT " COUNT_IF("x.total <> 0") ", "
		EXAMPLES("x.total <> 0", "CONCAT(x.currency, ': balances sum to ', x.total)")
		" FROM (SELECT a.currency, SUM(a.balance) AS total"
		"  FROM accounts a GROUP BY a.currency) x",
		1,
		{ "money is conserved (per currency the balances sum to 0)" },
	},
	{
		"SELECT " COUNT_IF("k.response_status = 0") ", "
		EXAMPLES("k.response_status = 0",
			 "CONCAT('client ', k.client_id, ' key ', LEFT(k.idem_key, 64))") ", "
		COUNT_IF("k.payment_id IS NOT NULL AND p.id IS NULL") ", "
		EXAMPLES("k.payment_id IS NOT NULL AND p.id IS NULL",
			 "CONCAT('client ', k.client_id, ' key ', LEFT(k.idem_key, 64))")
		" FROM idempotency_keys k LEFT JOIN payments p ON p.id = k.payment_id",
		2,
		{ "every idempotency row has a decided status (none half written)",
		  "every idempotency row's payment exists" },
	},
};
/* clang-format on */

static bool simple(MYSQL *m, const char *q, FILE *out)
{
	if (mysql_query(m, q)) {
		fprintf(out, "reconcile: %s: %s\n", q, mysql_error(m));
		return false;
	}
	MYSQL_RES *r = mysql_store_result(m);
	if (r)
		mysql_free_result(r);
	return true;
}

/* Run one check; returns the number of failing classes, -1 on error. */
static int run_check(MYSQL *m, const struct check *ck, FILE *out)
{
	if (mysql_query(m, ck->sql)) {
		fprintf(out, "reconcile: query failed: %u %s\n", mysql_errno(m), mysql_error(m));
		return -1;
	}
	MYSQL_RES *res = mysql_store_result(m);
	MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
	if (!row || mysql_num_fields(res) != (unsigned)(2 * ck->nclasses)) {
		fprintf(out, "reconcile: unexpected result: %s\n", mysql_error(m));
		if (res)
			mysql_free_result(res);
		return -1;
	}
	int failing = 0;
	for (int i = 0; i < ck->nclasses; i++) {
		const char *count = row[2 * i] ? row[2 * i] : "0";
		const char *ex = row[2 * i + 1];
		if (strcmp(count, "0") == 0) {
			fprintf(out, "  ok    %s\n", ck->titles[i]);
			continue;
		}
		failing++;
		fprintf(out, "  FAIL  %s: %s violation(s)\n", ck->titles[i], count);
		if (ex)
			fprintf(out, "        e.g. %s\n", ex);
	}
	mysql_free_result(res);
	return failing;
}

static void totals(MYSQL *m, FILE *out)
{
	if (mysql_query(m, "SELECT (SELECT COUNT(*) FROM accounts), (SELECT COUNT(*) FROM"
			   " ledger_entries), (SELECT COUNT(*) FROM payments)"))
		return;
	MYSQL_RES *r = mysql_store_result(m);
	MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
	if (row && row[0] && row[1] && row[2])
		fprintf(out, "reconcile: %s accounts, %s ledger entries, %s payments\n", row[0],
			row[1], row[2]);
	if (r)
		mysql_free_result(r);
}

int lf_admin_reconcile(const struct lf_db_params *p, FILE *out)
{
	MYSQL *m = lf_admin_connect(p, out);
	if (!m)
		return 2;
	int rc = 2;
	if (!simple(m, "SET SESSION group_concat_max_len = 65536", out) ||
	    !simple(m, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", out) ||
	    !simple(m, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", out))
		goto done;
	fprintf(out, "reconcile: checking the books on one consistent snapshot\n");
	totals(m, out);
	int classes = 0;
	for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
		int f = run_check(m, &checks[i], out);
		if (f < 0)
			goto done;
		classes += f;
	}
	simple(m, "COMMIT", out);
	if (classes == 0) {
		fprintf(out, "reconcile: the books hold\n");
		rc = 0;
	} else {
		fprintf(out, "reconcile: %d violation class(es): the books do NOT hold\n", classes);
		rc = 1;
	}
done:
	mysql_close(m);
	return rc;
}
