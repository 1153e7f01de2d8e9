/*
 * ctl/reconcile.c - `ledgerflowctl reconcile`: check that the books hold,
 * on one consistent, read-only snapshot (REPEATABLE READ, START
 * TRANSACTION WITH CONSISTENT SNAPSHOT, no locks: safe beside a running
 * server, and on a replica). Every pass streams its table in primary-key
 * order, so the work is linear in the rows read and the memory bounded:
 * the ledger (reconcile_ledger.c), the payments, openings
 * (reconcile_payments.c), the anchors (anchor.c), and here the
 * per-currency sums and the stored idempotency keys. By default a run is
 * incremental: it continues from the checkpoint of the last clean run
 * (sql/005_reconcile.sql) and reads only what is newer; --full reads
 * everything. A clean run writes the next checkpoint through a second
 * connection, in one transaction committed only when the books hold; on a
 * read-only server (a replica) or with --no-checkpoint it writes none.
 * Exit: 0 the books hold, 1 a violation (each named: account and seq, or
 * payment), 2 an error.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mysql.h>

#include "lf_admin.h"
#include "lf_hash.h"
#include "reconcile_int.h"

/* ---- reporting ---- */

void rc_fail(struct rc_run *r, const char *fmt, ...)
{
	if (++r->violations > RC_PRINT_MAX)
		return;
	if (r->progress)
		fputs("\r\033[K", stderr);
	va_list ap;
	va_start(ap, fmt);
	fputs("reconcile: FAIL ", r->out);
	vfprintf(r->out, fmt, ap);
	fputc('\n', r->out);
	va_end(ap);
}

void rc_sql_error(struct rc_run *r, MYSQL *m, const char *what)
{
	fprintf(r->out, "reconcile: %s: MySQL error %u (%s): %s\n", what, mysql_errno(m),
		mysql_sqlstate(m), mysql_error(m));
}

bool rc_query(struct rc_run *r, MYSQL *m, const char *sql, size_t len, const char *what)
{
	if (mysql_real_query(m, sql, len) == 0)
		return true;
	rc_sql_error(r, m, what);
	return false;
}

static double since(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

void rc_progress(struct rc_run *r, const char *what, uint64_t n, bool force)
{
	if (!r->progress)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!force && since(&r->last_progress, &now) < 0.5)
		return;
	r->last_progress = now;
	double t = since(&r->started, &now);
	fprintf(stderr, "\r\033[Kreconcile: %s %llu, %.1f s", what, (unsigned long long)n, t);
	if (force)
		fputc('\n', stderr);
	fflush(stderr);
}

/* ---- row helpers ---- */

bool rc_int(const char *s, unsigned long len, int64_t *out)
{
	if (!s || len == 0 || len > 20)
		return false;
	bool neg = s[0] == '-';
	unsigned long i = neg;
	if (i == len)
		return false;
	uint64_t v = 0;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > (uint64_t)INT64_MAX + neg)
		return false;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

bool rc_bin(const char *s, unsigned long len, size_t want, uint8_t *out)
{
	if (!s || len != want)
		return false;
	memcpy(out, s, want);
	return true;
}

void rc_hex(const uint8_t *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = '\0';
}

void rc_uuid(const uint8_t id[RC_ID_LEN], char out[37])
{
	size_t k = 0;
	for (size_t i = 0; i < RC_ID_LEN; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[k++] = '-';
		rc_hex(id + i, 1, out + k);
		k += 2;
	}
	out[k] = '\0';
}

void rc_xlit(const uint8_t *b, size_t n, char *out)
{
	out[0] = 'X';
	out[1] = '\'';
	rc_hex(b, n, out + 2);
	out[2 + 2 * n] = '\'';
	out[3 + 2 * n] = '\0';
}

static bool digits(const char *s, int n, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return true;
}

bool rc_datetime_ms(const char *s, unsigned long len, int64_t *out)
{
	unsigned y, mo, d, h, mi, sec, ms = 0;
	if (!s || len < 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' ||
	    s[16] != ':' || !digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
	    !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec) ||
	    mo < 1 || mo > 12 || d < 1 || d > 31)
		return false;
	if (len > 19) { /* .f, .ff, ... up to microseconds: milliseconds kept */
		unsigned long n = len - 20;
		if (s[19] != '.' || n < 1 || n > 6)
			return false;
		for (unsigned long i = 0; i < 3; i++) {
			unsigned dg = 0;
			if (i < n && !digits(s + 20 + i, 1, &dg))
				return false;
			ms = ms * 10 + dg;
		}
	}
	/* days from the civil date (H. Hinnant's algorithm) */
	int64_t yy = (int64_t)y - (mo <= 2);
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	unsigned yoe = (unsigned)(yy - era * 400);
	unsigned doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	int64_t days = era * 146097 + (int64_t)doe - 719468;
	*out = ((days * 24 + h) * 60 + mi) * 60000 + (int64_t)sec * 1000 + ms;
	return true;
}

/* ---- the checks that are one query each ---- */

static bool currency_pass(struct rc_run *r)
{
	static const char sums[] = "SELECT currency, SUM(balance) FROM accounts GROUP BY currency"
				   " HAVING SUM(balance) <> 0";
	static const char issuers[] =
		"SELECT c.code FROM currencies c LEFT JOIN accounts a ON a.id = "
		"c.issuance_account_id"
		" WHERE a.id IS NULL OR a.kind <> 'ISSUANCE' OR a.currency <> c.code";
	if (!rc_query(r, r->m, sums, sizeof sums - 1, "summing balances per currency"))
		return false;
	MYSQL_RES *res = mysql_store_result(r->m);
	if (!res) {
		rc_sql_error(r, r->m, "summing balances per currency");
		return false;
	}
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res)))
		rc_fail(r, "currency %s: the balances sum to %s, not 0", row[0] ? row[0] : "?",
			row[1] ? row[1] : "?");
	mysql_free_result(res);
	if (!rc_query(r, r->m, issuers, sizeof issuers - 1, "checking issuance accounts"))
		return false;
	if (!(res = mysql_store_result(r->m))) {
		rc_sql_error(r, r->m, "checking issuance accounts");
		return false;
	}
	while ((row = mysql_fetch_row(res)))
		rc_fail(r,
			"currency %s: its issuance account is missing, not ISSUANCE or in "
			"another currency",
			row[0] ? row[0] : "?");
	mysql_free_result(res);
	return true;
}

/* Every stored key that names a payment agrees with it. */
static bool key_pass(struct rc_run *r)
{
	static const char q[] =
		"SELECT k.client_id, k.response_status, k.payment_id, p.id, p.status,"
		" k.fingerprint = p.fingerprint,"
		" p.client_id = k.client_id AND p.idempotency_key = k.idem_key,"
		" p.expires_at IS NOT NULL"
		" FROM idempotency_keys k LEFT JOIN payments p ON p.id = k.payment_id"
		" WHERE k.response_status = 0 OR k.payment_id IS NOT NULL";
	if (!rc_query(r, r->m, q, sizeof q - 1, "checking idempotency keys"))
		return false;
	MYSQL_RES *res = mysql_use_result(r->m);
	if (!res) {
		rc_sql_error(r, r->m, "checking idempotency keys");
		return false;
	}
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(res))) {
		unsigned long *len = mysql_fetch_lengths(res);
		uint8_t pid[RC_ID_LEN];
		char pu[37] = "?";
		const char *client = row[0] ? row[0] : "?", *st = row[1] ? row[1] : "?";
		r->keys++;
		if (rc_bin(row[2], len[2], RC_ID_LEN, pid))
			rc_uuid(pid, pu);
		if (strcmp(st, "0") == 0) {
			rc_fail(r, "idempotency key of client %s: half written (status 0)", client);
			continue;
		}
		if (!row[3]) {
			rc_fail(r, "payment %s: named by a stored key of client %s but missing", pu,
				client);
			continue;
		}
		const char *ps = row[4] ? row[4] : "?";
		if (!row[5] || strcmp(row[5], "1") != 0)
			rc_fail(r, "payment %s: its stored key's fingerprint differs", pu);
		if (!row[6] || strcmp(row[6], "1") != 0)
			rc_fail(r,
				"payment %s: the stored key of client %s is not the payment's key",
				pu, client);
		/* a hold answered 201 PENDING; it may have ended since */
		bool hold = row[7] != NULL && strcmp(row[7], "1") == 0;
		bool agree = (strcmp(st, "201") == 0 && strcmp(ps, "COMPLETED") == 0) ||
			     (strcmp(st, "201") == 0 && hold && strcmp(ps, "DECLINED") != 0) ||
			     (strcmp(st, "422") == 0 && strcmp(ps, "DECLINED") == 0);
		if (!agree)
			rc_fail(r, "payment %s: its stored key answers %s but the payment is %s",
				pu, st, ps);
	}
	bool ok = mysql_errno(r->m) == 0;
	if (!ok)
		rc_sql_error(r, r->m, "checking idempotency keys");
	mysql_free_result(res);
	return ok;
}

/* ---- snapshot, checkpoint, report ---- */

static bool simple(struct rc_run *r, MYSQL *m, const char *q)
{
	if (!rc_query(r, m, q, strlen(q), q))
		return false;
	MYSQL_RES *res = mysql_store_result(m);
	if (res)
		mysql_free_result(res);
	return true;
}

/* One-row query into row[0..n) text (copied); false on error or no row. */
static bool one_row(struct rc_run *r, MYSQL *m, const char *q, char out[][80], unsigned long *len,
		    unsigned n)
{
	if (!rc_query(r, m, q, strlen(q), q))
		return false;
	MYSQL_RES *res = mysql_store_result(m);
	MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
	bool ok = row && mysql_num_fields(res) == n;
	for (unsigned i = 0; ok && i < n; i++) {
		unsigned long l = mysql_fetch_lengths(res)[i];
		len[i] = row[i] ? (l < 79 ? l : 79) : 0;
		if (row[i])
			memcpy(out[i], row[i], len[i]);
		out[i][len[i]] = '\0';
	}
	if (res)
		mysql_free_result(res);
	return ok;
}

/* The previous checkpoint; decides full or incremental. */
static bool load_state(struct rc_run *r)
{
	if (r->full)
		return true;
	char v[3][80];
	unsigned long len[3];
	if (!one_row(
		    r, r->m,
		    "SELECT payments_from, anchor_id, checked_at FROM reconcile_state WHERE id = 1",
		    v, len, 3) ||
	    !rc_bin(v[0], len[0], RC_ID_LEN, r->payments_from)) {
		if (mysql_errno(r->m))
			return false;
		fprintf(r->out, "reconcile: no checkpoint yet: a full pass\n");
		r->full = true;
		return true;
	}
	int64_t a;
	r->have_from = true;
	r->anchor_from = rc_int(v[1], len[1], &a) && a > 0 ? (uint64_t)a : 0;
	r->anchor_newest = r->anchor_from;
	fprintf(r->out, "reconcile: incremental, from the checkpoint of %s (--full for all)\n",
		v[2]);
	return true;
}

/* The writer: a second connection under a named lock, or none. */
static void open_writer(struct rc_run *r, const struct lf_db_params *p, bool no_checkpoint)
{
	char v[1][80];
	unsigned long len[1];
	if (no_checkpoint) {
		fprintf(r->out, "reconcile: --no-checkpoint: no checkpoint will be written\n");
		return;
	}
	if (one_row(r, r->m, "SELECT @@global.read_only", v, len, 1) && strcmp(v[0], "0") != 0) {
		fprintf(r->out, "reconcile: the server is read-only (a replica?): no checkpoint "
				"will be written\n");
		return;
	}
	r->w = lf_admin_connect(p, r->out);
	if (!r->w)
		return;
	if (!one_row(r, r->w, "SELECT GET_LOCK('ledgerflow.reconcile', 0)", v, len, 1) ||
	    strcmp(v[0], "1") != 0 || !simple(r, r->w, "START TRANSACTION")) {
		fprintf(r->out, "reconcile: another reconcile holds the checkpoint: this run "
				"writes none\n");
		mysql_close(r->w);
		r->w = NULL;
	}
}

/* The rest of the checkpoint, then commit it. */
static bool write_state(struct rc_run *r)
{
	uint8_t from[RC_ID_LEN] = {0};
	if (r->have_newest) {
		uint64_t ms = 0;
		for (int i = 0; i < 6; i++)
			ms = ms << 8 | r->newest_payment[i];
		ms = ms > RC_PAYMENT_MARGIN_MS ? ms - RC_PAYMENT_MARGIN_MS : 0;
		for (int i = 5; i >= 0; i--, ms >>= 8)
			from[i] = (uint8_t)ms;
	} else if (r->have_from) {
		memcpy(from, r->payments_from, RC_ID_LEN);
	}
	char lit[2 * RC_ID_LEN + 4], q[512];
	rc_xlit(from, RC_ID_LEN, lit);
	int k = snprintf(q, sizeof q,
			 "INSERT INTO reconcile_state (id, payments_from, anchor_id, entries,"
			 " full_pass, checked_at) VALUES (1, %s, %llu, %llu, %d, UTC_TIMESTAMP(3))"
			 " ON DUPLICATE KEY UPDATE payments_from = VALUES(payments_from),"
			 " anchor_id = VALUES(anchor_id), entries = VALUES(entries),"
			 " full_pass = VALUES(full_pass), checked_at = VALUES(checked_at)",
			 lit, (unsigned long long)r->anchor_newest, (unsigned long long)r->entries,
			 r->full ? 1 : 0);
	return rc_query(r, r->w, q, (size_t)k, "writing the checkpoint") &&
	       simple(r, r->w, "COMMIT");
}

/* Each pass in turn, with its time on one line. */
static bool run_passes(struct rc_run *r)
{
	static const struct {
		const char *name;
		bool (*fn)(struct rc_run *);
	} passes[] = {
		{"ledger", rc_ledger_pass},    {"payments", rc_payment_pass},
		{"openings", rc_opening_pass}, {"holds", rc_holds_pass},
		{"currencies", currency_pass}, {"keys", key_pass},
		{"anchors", rc_anchor_pass},
	};
	char line[256];
	size_t k = 0;
	for (size_t i = 0; i < sizeof passes / sizeof passes[0]; i++) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (!passes[i].fn(r))
			return false;
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (i == 0)
			rc_progress(r, "ledger entries", r->entries, true);
		k += (size_t)snprintf(line + k, sizeof line - k, "%s%s %.1f s", i ? ", " : "",
				      passes[i].name, since(&a, &b));
	}
	fprintf(r->out, "reconcile: passes: %s\n", line);
	return true;
}

static int reconcile(const struct lf_db_params *p, const struct lf_reconcile_opts *o,
		     uint64_t *violations, FILE *out)
{
	struct rc_run r = {.out = out, .full = o->full, .progress = isatty(STDERR_FILENO) == 1};
	clock_gettime(CLOCK_MONOTONIC, &r.started);
	r.last_progress = r.started;
	lf_siphash_key(r.mkey[0]);
	lf_siphash_key(r.mkey[1]);
	r.m = lf_admin_connect(p, out);
	if (!r.m)
		return 2;
	int rc = 2;
	if (!simple(&r, r.m, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ") ||
	    !simple(&r, r.m, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY") ||
	    !load_state(&r))
		goto done;
	open_writer(&r, p, o->no_checkpoint);
	fprintf(out, "reconcile: checking the books on one consistent snapshot (%s)\n",
		r.full ? "full" : "incremental");
	if (!run_passes(&r))
		goto done;
	simple(&r, r.m, "COMMIT");
	struct timespec end;
	clock_gettime(CLOCK_MONOTONIC, &end);
	fprintf(out,
		"reconcile: verified %llu ledger entries of %llu accounts, %llu payments, %llu "
		"openings, %llu idempotency keys, %llu anchor heads of %llu anchors in %.1f s\n",
		(unsigned long long)r.entries, (unsigned long long)r.accounts,
		(unsigned long long)r.payments, (unsigned long long)r.openings,
		(unsigned long long)r.keys, (unsigned long long)r.heads,
		(unsigned long long)r.anchors, since(&r.started, &end));
	if (r.violations) {
		if (r.violations > RC_PRINT_MAX)
			fprintf(out, "reconcile: ... and %llu more\n",
				(unsigned long long)(r.violations - RC_PRINT_MAX));
		fprintf(out, "reconcile: %llu violation(s): the books do NOT hold\n",
			(unsigned long long)r.violations);
		rc = 1;
		goto done;
	}
	fprintf(out, "reconcile: the books hold\n");
	rc = 0;
	if (r.w) {
		if (!write_state(&r))
			rc = 2;
		else
			fprintf(out, "reconcile: checkpoint written\n");
	}
done:
	if (r.w)
		mysql_close(r.w); /* uncommitted: rolled back */
	mysql_close(r.m);
	*violations = r.violations;
	return rc;
}

int lf_admin_reconcile(const struct lf_db_params *p, const struct lf_reconcile_opts *o, FILE *out)
{
	uint64_t violations = 0;
	int rc = reconcile(p, o, &violations, out);
	if (o->metrics_file &&
	    !rc_metrics_reconcile(o->metrics_file, rc, violations, (int64_t)time(NULL), out) &&
	    rc == 0)
		rc = 2;
	return rc;
}
