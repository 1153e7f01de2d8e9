/*
 * ctl/reconcile_payments.c - the payment passes of `ledgerflowctl
 * reconcile`. A full run never joins payments to entries: the ledger pass
 * adds every payment entry, as the ledger has it, to a multiset (a sum of
 * keyed SipHashes of (payment, account, direction, amount, counterparty,
 * currency)); one scan of payments in primary-key order adds what each
 * COMPLETED payment says its two entries must be. Equal sums and counts
 * mean every COMPLETED payment has exactly its DEBIT on from and CREDIT on
 * to, and nothing else refers to a payment (DECLINED ones included). Only
 * when they differ, and on incremental runs (recent payments only), the
 * entries are joined to their payments through ledger_entries_payment, in
 * payment-id order, to name each one. Also here: openings against their
 * issuance debits, per-currency sums, and the stored idempotency keys.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <mysql.h>

#include "lf_hash.h"
#include "reconcile_int.h"

void rc_mset_add(struct rc_run *r, uint64_t sum[2], const uint8_t payment[RC_ID_LEN],
		 const uint8_t account[RC_ID_LEN], char dir, int64_t amount,
		 const uint8_t counterparty[RC_ID_LEN], const char currency[3])
{
	uint8_t b[2 * RC_ID_LEN + 1 + 8 + RC_ID_LEN + 3];
	memcpy(b, payment, RC_ID_LEN);
	memcpy(b + 16, account, RC_ID_LEN);
	b[32] = (uint8_t)dir;
	for (int i = 0; i < 8; i++)
		b[33 + i] = (uint8_t)((uint64_t)amount >> (8 * i));
	memcpy(b + 41, counterparty, RC_ID_LEN);
	memcpy(b + 57, currency, 3);
	sum[0] += lf_siphash24(r->mkey[0], b, sizeof b);
	sum[1] += lf_siphash24(r->mkey[1], b, sizeof b);
}

/* ---- one payment with its entries (the join) ---- */

#define PAY_MAX_ENTRIES 4

struct pay_entry {
	uint8_t account[RC_ID_LEN], cp[RC_ID_LEN];
	int64_t seq, amount;
	bool debit;
	char currency[4];
};

struct pay {
	uint8_t id[RC_ID_LEN], from[RC_ID_LEN], to[RC_ID_LEN];
	int64_t amount, captured, refunded;
	char currency[4];
	bool completed, declined, known;
	size_t n; /* entries, even past PAY_MAX_ENTRIES */
	struct pay_entry e[PAY_MAX_ENTRIES];
	/* the refund direction's entries (DEBIT on to, CREDIT on from) */
	size_t rd, rc, fd, fc; /* ... and the forward pair's (of the captured amount) */
	int64_t rd_sum, rc_sum;
};

enum { P_ID, P_FROM, P_TO, P_AMT, P_CUR, P_STATUS, P_CAP, P_REF, P_NCOL };
enum { J_ACCT = P_NCOL, J_SEQ, J_DIR, J_AMT, J_CP, J_CUR, J_NCOL };

static bool pay_load(struct pay *p, MYSQL_ROW row, unsigned long *len)
{
	memset(p, 0, sizeof *p);
	if (!rc_bin(row[P_ID], len[P_ID], RC_ID_LEN, p->id) ||
	    !rc_bin(row[P_FROM], len[P_FROM], RC_ID_LEN, p->from) ||
	    !rc_bin(row[P_TO], len[P_TO], RC_ID_LEN, p->to) ||
	    !rc_int(row[P_AMT], len[P_AMT], &p->amount) || !row[P_CUR] || len[P_CUR] != 3 ||
	    !row[P_STATUS] || !rc_int(row[P_CAP], len[P_CAP], &p->captured) ||
	    !rc_int(row[P_REF], len[P_REF], &p->refunded))
		return false;
	memcpy(p->currency, row[P_CUR], 3);
	p->completed = strcmp(row[P_STATUS], "COMPLETED") == 0;
	/* a hold not captured moves nothing, like a decline */
	p->declined = strcmp(row[P_STATUS], "DECLINED") == 0 ||
		      strcmp(row[P_STATUS], "PENDING") == 0 ||
		      strcmp(row[P_STATUS], "VOIDED") == 0 || strcmp(row[P_STATUS], "EXPIRED") == 0;
	p->known = p->completed || p->declined;
	return true;
}

/* What holds for a payment on its own. */
static void pay_basic(struct rc_run *r, const struct pay *p)
{
	char u[37];
	rc_uuid(p->id, u);
	if (memcmp(p->from, p->to, RC_ID_LEN) == 0)
		rc_fail(r, "payment %s: from and to are the same account", u);
	if (p->amount <= 0)
		rc_fail(r, "payment %s: amount %lld", u, (long long)p->amount);
	if (!p->known)
		rc_fail(r, "payment %s: unknown status", u);
	if (p->captured <= 0 || p->captured > p->amount)
		rc_fail(r, "payment %s: captured %lld of %lld", u, (long long)p->captured,
			(long long)p->amount);
	if (p->refunded < 0 || p->refunded > (p->completed ? p->captured : 0))
		rc_fail(r, "payment %s: refunded %lld of %lld captured", u, (long long)p->refunded,
			p->completed ? (long long)p->captured : 0LL);
}

static bool entry_is(const struct pay_entry *e, const struct pay *p, bool debit)
{
	return e->debit == debit && e->amount == p->captured &&
	       memcmp(e->account, debit ? p->from : p->to, RC_ID_LEN) == 0 &&
	       memcmp(e->cp, debit ? p->to : p->from, RC_ID_LEN) == 0 &&
	       memcmp(e->currency, p->currency, 3) == 0;
}

/* The payment against the entries that name it. */
static void pay_judge(struct rc_run *r, const struct pay *p)
{
	size_t n = p->n < PAY_MAX_ENTRIES ? p->n : PAY_MAX_ENTRIES;
	/* the forward pair and every other entry a refund's, summing to
	 * refunded_amount each way (counted while reading; the first
	 * PAY_MAX_ENTRIES are kept for the report) */
	bool ok = p->completed ? p->fd == 1 && p->fc == 1 && p->n == 2 + p->rd + p->rc &&
					 p->rd == p->rc && p->rd_sum == p->refunded &&
					 p->rc_sum == p->refunded
			       : p->n == 0;
	if (ok)
		return;
	char u[37], list[4 * 96] = "";
	rc_uuid(p->id, u);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char au[37];
		rc_uuid(p->e[i].account, au);
		k += (size_t)snprintf(list + k, sizeof list - k, "%saccount %s seq %lld %s %lld %s",
				      i ? "; " : "", au, (long long)p->e[i].seq,
				      p->e[i].debit ? "DEBIT" : "CREDIT", (long long)p->e[i].amount,
				      p->e[i].currency);
		if (k >= sizeof list)
			break;
	}
	if (p->completed)
		rc_fail(r,
			"payment %s: COMPLETED with %zu entries (%s); expected one DEBIT on from "
			"and "
			"one CREDIT on to of %lld %s",
			u, p->n, p->n ? list : "none", (long long)p->amount, p->currency);
	else
		rc_fail(r, "payment %s: %s but has %zu entries (%s)", u,
			p->declined ? "DECLINED" : "not COMPLETED", p->n, list);
}

/* Payments (id >= from, or all) joined to their entries, in payment-id
 * order; basic: also the checks of a payment alone. */
static bool pay_join(struct rc_run *r, const uint8_t *from, bool basic)
{
	char lit[2 * RC_ID_LEN + 4], cond[64] = "TRUE", q[1024];
	if (from) {
		rc_xlit(from, RC_ID_LEN, lit);
		snprintf(cond, sizeof cond, "p.id >= %s", lit);
	}
	int k = snprintf(q, sizeof q,
			 "SELECT p.id, p.from_account_id, p.to_account_id, p.amount, p.currency,"
			 " p.status, IFNULL(p.captured_amount, p.amount), p.refunded_amount,"
			 " e.account_id, e.seq, e.direction, e.amount, e.counterparty_id,"
			 " a.currency FROM payments p"
			 " LEFT JOIN ledger_entries e ON e.payment_id = p.id"
			 " LEFT JOIN accounts a ON a.id = e.account_id"
			 " WHERE %s ORDER BY p.id",
			 cond);
	if (!rc_query(r, r->m, q, (size_t)k, "joining payments to their entries"))
		return false;
	MYSQL_RES *res = mysql_use_result(r->m);
	if (!res || mysql_num_fields(res) != J_NCOL) {
		rc_sql_error(r, r->m, "joining payments to their entries");
		if (res)
			mysql_free_result(res);
		return false;
	}
	struct pay p;
	bool have = false, ok = true;
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res))) {
		unsigned long *len = mysql_fetch_lengths(res);
		uint8_t id[RC_ID_LEN];
		if (!rc_bin(row[P_ID], len[P_ID], RC_ID_LEN, id)) {
			ok = false;
			break;
		}
		if (!have || memcmp(id, p.id, RC_ID_LEN) != 0) {
			if (have) {
				pay_judge(r, &p);
				if (basic)
					pay_basic(r, &p);
			}
			if (!pay_load(&p, row, len)) {
				ok = false;
				break;
			}
			have = true;
			if (basic) {
				r->payments++;
				memcpy(r->newest_payment, p.id, RC_ID_LEN);
				r->have_newest = true;
			}
		}
		if (!row[J_ACCT])
			continue; /* no entries */
		{
			uint8_t acct[RC_ID_LEN], cp[RC_ID_LEN];
			int64_t amt;
			if (row[J_DIR] && rc_bin(row[J_ACCT], len[J_ACCT], RC_ID_LEN, acct) &&
			    rc_bin(row[J_CP], len[J_CP], RC_ID_LEN, cp) &&
			    rc_int(row[J_AMT], len[J_AMT], &amt)) {
				bool debit = strcmp(row[J_DIR], "DEBIT") == 0;
				struct pay_entry fe = {.debit = debit, .amount = amt};
				memcpy(fe.account, acct, RC_ID_LEN);
				memcpy(fe.cp, cp, RC_ID_LEN);
				if (row[J_CUR] && len[J_CUR] == 3)
					memcpy(fe.currency, row[J_CUR], 3);
				if (entry_is(&fe, &p, debit)) {
					if (debit)
						p.fd++;
					else
						p.fc++;
				} else if (debit && memcmp(acct, p.to, RC_ID_LEN) == 0 &&
					   memcmp(cp, p.from, RC_ID_LEN) == 0) {
					p.rd++;
					p.rd_sum += amt;
				} else if (!debit && memcmp(acct, p.from, RC_ID_LEN) == 0 &&
					   memcmp(cp, p.to, RC_ID_LEN) == 0) {
					p.rc++;
					p.rc_sum += amt;
				}
			}
		}
		if (p.n < PAY_MAX_ENTRIES) {
			struct pay_entry *e = &p.e[p.n];
			if (!rc_bin(row[J_ACCT], len[J_ACCT], RC_ID_LEN, e->account) ||
			    !rc_int(row[J_SEQ], len[J_SEQ], &e->seq) || !row[J_DIR] ||
			    !rc_int(row[J_AMT], len[J_AMT], &e->amount) ||
			    !rc_bin(row[J_CP], len[J_CP], RC_ID_LEN, e->cp)) {
				ok = false;
				break;
			}
			e->debit = strcmp(row[J_DIR], "DEBIT") == 0;
			if (row[J_CUR] && len[J_CUR] == 3)
				memcpy(e->currency, row[J_CUR], 3);
		}
		p.n++;
	}
	if (ok && mysql_errno(r->m)) {
		rc_sql_error(r, r->m, "joining payments to their entries");
		ok = false;
	} else if (!ok) {
		fprintf(r->out, "reconcile: a malformed payment row\n");
	}
	mysql_free_result(res);
	if (ok && have) {
		pay_judge(r, &p);
		if (basic)
			pay_basic(r, &p);
	}
	return ok;
}

/* Entries naming a payment that does not exist (payment id >= from). */
static bool orphans(struct rc_run *r, const uint8_t *from)
{
	char lit[2 * RC_ID_LEN + 4], cond[64] = "e.payment_id IS NOT NULL", q[512];
	if (from) {
		rc_xlit(from, RC_ID_LEN, lit);
		snprintf(cond, sizeof cond, "e.payment_id >= %s", lit);
	}
	int k = snprintf(q, sizeof q,
			 "SELECT e.account_id, e.seq, e.payment_id FROM ledger_entries e"
			 " LEFT JOIN payments p ON p.id = e.payment_id WHERE %s AND p.id IS NULL",
			 cond);
	if (!rc_query(r, r->m, q, (size_t)k, "looking for entries of missing payments"))
		return false;
	MYSQL_RES *res = mysql_store_result(r->m);
	if (!res) {
		rc_sql_error(r, r->m, "looking for entries of missing payments");
		return false;
	}
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res))) {
		unsigned long *len = mysql_fetch_lengths(res);
		uint8_t a[RC_ID_LEN], p[RC_ID_LEN];
		char au[37] = "?", pu[37] = "?";
		if (rc_bin(row[0], len[0], RC_ID_LEN, a))
			rc_uuid(a, au);
		if (rc_bin(row[2], len[2], RC_ID_LEN, p))
			rc_uuid(p, pu);
		rc_fail(r, "account %s seq %s: an entry of payment %s, which does not exist", au,
			row[1] ? row[1] : "?", pu);
	}
	mysql_free_result(res);
	return true;
}

/* Full: every payment once, in primary-key order, into the multiset. */
static bool pay_scan(struct rc_run *r)
{
	static const char q[] = "SELECT id, from_account_id, to_account_id, amount, currency,"
				" status, IFNULL(captured_amount, amount), refunded_amount"
				" FROM payments ORDER BY id";
	if (!rc_query(r, r->m, q, sizeof q - 1, "reading payments"))
		return false;
	MYSQL_RES *res = mysql_use_result(r->m);
	if (!res || mysql_num_fields(res) != P_NCOL) {
		rc_sql_error(r, r->m, "reading payments");
		if (res)
			mysql_free_result(res);
		return false;
	}
	bool ok = true;
	MYSQL_ROW row;
	struct pay p;
	while ((row = mysql_fetch_row(res))) {
		if (!pay_load(&p, row, mysql_fetch_lengths(res))) {
			fprintf(r->out, "reconcile: a malformed payment row\n");
			ok = false;
			break;
		}
		pay_basic(r, &p);
		if (p.completed) {
			rc_mset_add(r, r->sum_payments, p.id, p.from, 'D', p.captured, p.to,
				    p.currency);
			rc_mset_add(r, r->sum_payments, p.id, p.to, 'C', p.captured, p.from,
				    p.currency);
			r->n_payments += 2;
		}
		r->payments++;
		memcpy(r->newest_payment, p.id, RC_ID_LEN);
		r->have_newest = true;
		if ((r->payments & 0xffff) == 0)
			rc_progress(r, "payments", r->payments, false);
	}
	if (ok && mysql_errno(r->m)) {
		rc_sql_error(r, r->m, "reading payments");
		ok = false;
	}
	mysql_free_result(res);
	return ok;
}

/* Full: every COMPLETED refund's two entries into the multiset (the
 * payment's receiver gives back to its sender). */
static bool refund_scan(struct rc_run *r)
{
	static const char q[] = "SELECT x.payment_id, p.from_account_id, p.to_account_id, x.amount,"
				" p.currency FROM refunds x JOIN payments p ON p.id = x.payment_id"
				" WHERE x.status = 'COMPLETED'";
	if (!rc_query(r, r->m, q, sizeof q - 1, "reading refunds"))
		return false;
	MYSQL_RES *res = mysql_use_result(r->m);
	if (!res) {
		rc_sql_error(r, r->m, "reading refunds");
		return false;
	}
	bool ok = true;
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res))) {
		unsigned long *len = mysql_fetch_lengths(res);
		uint8_t id[RC_ID_LEN], from[RC_ID_LEN], to[RC_ID_LEN];
		int64_t amount;
		if (!rc_bin(row[0], len[0], RC_ID_LEN, id) ||
		    !rc_bin(row[1], len[1], RC_ID_LEN, from) ||
		    !rc_bin(row[2], len[2], RC_ID_LEN, to) || !rc_int(row[3], len[3], &amount) ||
		    !row[4] || len[4] != 3) {
			fprintf(r->out, "reconcile: a malformed refund row\n");
			ok = false;
			break;
		}
		rc_mset_add(r, r->sum_payments, id, to, 'D', amount, from, row[4]);
		rc_mset_add(r, r->sum_payments, id, from, 'C', amount, to, row[4]);
		r->n_payments += 2;
	}
	if (ok && mysql_errno(r->m)) {
		rc_sql_error(r, r->m, "reading refunds");
		ok = false;
	}
	mysql_free_result(res);
	return ok;
}

bool rc_payment_pass(struct rc_run *r)
{
	if (!r->full)
		return pay_join(r, r->have_from ? r->payments_from : NULL, true) &&
		       orphans(r, r->have_from ? r->payments_from : NULL);
	if (!pay_scan(r) || !refund_scan(r))
		return false;
	if (r->n_ledger == r->n_payments && r->sum_ledger[0] == r->sum_payments[0] &&
	    r->sum_ledger[1] == r->sum_payments[1])
		return true;
	/* they differ: find which payments, the slow way */
	uint64_t before = r->violations;
	fprintf(r->out,
		"reconcile: the payment entries (%llu) and the payments (%llu expected) "
		"disagree; naming them\n",
		(unsigned long long)r->n_ledger, (unsigned long long)r->n_payments);
	if (!pay_join(r, NULL, false) || !orphans(r, NULL))
		return false;
	if (r->violations == before)
		rc_fail(r, "payment entries and payments disagree, but no single payment shows it");
	return true;
}

/* Openings: each opening CREDIT (payment_id NULL) against the issuance
 * DEBIT that names it as counterparty, grouped by (account, issuer): a
 * temporary table the size of the openings, not of the ledger. */
bool rc_opening_pass(struct rc_run *r)
{
	char q[2048];
	const char *join =
		r->full ? "" : " LEFT JOIN reconcile_checkpoints c ON c.account_id = e.account_id";
	const char *news = r->full ? "" : " AND e.seq > IFNULL(c.seq, 0)";
	int k = snprintf(
		q, sizeof q,
		"SELECT x, i, SUM(cn), SUM(dn), SUM(ca), SUM(da), MIN(cs), MIN(ds) FROM ("
		"SELECT e.account_id AS x, e.counterparty_id AS i, 1 AS cn, 0 AS dn,"
		" e.amount AS ca, 0 AS da, e.seq AS cs, NULL AS ds FROM ledger_entries e%s"
		" WHERE e.payment_id IS NULL AND e.direction = 'CREDIT'%s"
		" UNION ALL SELECT e.counterparty_id, e.account_id, 0, 1, 0, e.amount, NULL,"
		" e.seq FROM ledger_entries e%s"
		" WHERE e.payment_id IS NULL AND e.direction = 'DEBIT'%s) u"
		" GROUP BY x, i",
		join, news, join, news);
	if (!rc_query(r, r->m, q, (size_t)k, "matching openings"))
		return false;
	MYSQL_RES *res = mysql_use_result(r->m);
	if (!res) {
		rc_sql_error(r, r->m, "matching openings");
		return false;
	}
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res))) {
		unsigned long *len = mysql_fetch_lengths(res);
		uint8_t x[RC_ID_LEN], i[RC_ID_LEN];
		int64_t cn, dn, ca, da;
		if (!rc_bin(row[0], len[0], RC_ID_LEN, x) ||
		    !rc_bin(row[1], len[1], RC_ID_LEN, i) || !rc_int(row[2], len[2], &cn) ||
		    !rc_int(row[3], len[3], &dn) || !rc_int(row[4], len[4], &ca) ||
		    !rc_int(row[5], len[5], &da)) {
			rc_fail(r, "an opening entry with a malformed account, counterparty or "
				   "amount");
			continue;
		}
		r->openings += (uint64_t)cn;
		if (cn == 1 && dn == 1 && ca == da)
			continue;
		char xu[37], iu[37];
		rc_uuid(x, xu);
		rc_uuid(i, iu);
		if (cn == 0)
			rc_fail(r,
				"account %s seq %s: an issuance DEBIT of %lld to %s, which has no "
				"opening CREDIT from it",
				iu, row[7] ? row[7] : "?", (long long)da, xu);
		else if (dn == 0)
			rc_fail(r,
				"account %s seq %s: an opening CREDIT of %lld without its issuance "
				"DEBIT on %s",
				xu, row[6] ? row[6] : "?", (long long)ca, iu);
		else
			rc_fail(r,
				"account %s seq %s: %lld opening CREDIT(s) of %lld against %lld "
				"issuance DEBIT(s) of %lld on %s (seq %s)",
				xu, row[6] ? row[6] : "?", (long long)cn, (long long)ca,
				(long long)dn, (long long)da, iu, row[7] ? row[7] : "?");
	}
	bool ok = mysql_errno(r->m) == 0;
	if (!ok)
		rc_sql_error(r, r->m, "matching openings");
	mysql_free_result(res);
	return ok;
}

/* Holds and refunds: each account's held is the sum of its PENDING holds,
 * each payment's refunded_amount the sum of its COMPLETED refunds. */
bool rc_holds_pass(struct rc_run *r)
{
	static const char *const q[2] = {
		"SELECT a.id, a.held, IFNULL(h.total, 0) FROM accounts a LEFT JOIN"
		" (SELECT from_account_id, SUM(amount) AS total FROM payments"
		"  WHERE status = 'PENDING' GROUP BY from_account_id) h"
		" ON h.from_account_id = a.id WHERE a.held <> IFNULL(h.total, 0)",
		"SELECT p.id, p.refunded_amount, IFNULL(x.total, 0) FROM payments p LEFT JOIN"
		" (SELECT payment_id, SUM(amount) AS total FROM refunds"
		"  WHERE status = 'COMPLETED' GROUP BY payment_id) x ON x.payment_id = p.id"
		" WHERE p.refunded_amount <> IFNULL(x.total, 0)",
	};
	static const char *const what[2] = {"checking held amounts", "checking refunded amounts"};
	for (int i = 0; i < 2; i++) {
		if (!rc_query(r, r->m, q[i], strlen(q[i]), what[i]))
			return false;
		MYSQL_RES *res = mysql_store_result(r->m);
		if (!res) {
			rc_sql_error(r, r->m, what[i]);
			return false;
		}
		MYSQL_ROW row;
		while ((row = mysql_fetch_row(res))) {
			unsigned long *len = mysql_fetch_lengths(res);
			uint8_t id[RC_ID_LEN];
			char u[37] = "?";
			if (rc_bin(row[0], len[0], RC_ID_LEN, id))
				rc_uuid(id, u);
			if (i == 0)
				rc_fail(r, "account %s: held %s but its PENDING holds sum to %s", u,
					row[1] ? row[1] : "?", row[2] ? row[2] : "?");
			else
				rc_fail(r,
					"payment %s: refunded_amount %s but its COMPLETED refunds "
					"sum "
					"to %s",
					u, row[1] ? row[1] : "?", row[2] ? row[2] : "?");
		}
		mysql_free_result(res);
	}
	return true;
}
