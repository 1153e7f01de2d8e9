/*
 * test_reconcile.c - `ledgerflowctl reconcile` and `anchor` against a real
 * MariaDB: a clean ledger passes; each kind of tampering, done as the
 * migrating login after dropping the append-only triggers, is caught with
 * exit 1 and a line naming the account and seq (an amount edited
 * consistently everywhere, an entry deleted, one inserted, two swapped, a
 * balance edited, every chain recomputed after an anchor); an incremental
 * run reads only what is new; --metrics-file reports each run's result and
 * keeps the last clean run's time; a hot account of 100k entries is checked.
 * Each tamper test saves the books first and puts them back after.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lf_ledger_hash.h"
#include "store_fixture.h"

/* several statements on one connection of the migrating login */
static bool sql(const char *q)
{
	MYSQL *m = mysql_init(NULL);
	if (!m || !mysql_real_connect(m, P.host, P.user, P.password, dbname, P.port, NULL,
				      CLIENT_MULTI_STATEMENTS)) {
		fprintf(stderr, "sql connect: %s\n", m ? mysql_error(m) : "oom");
		mysql_close(m);
		return false;
	}
	bool ok = mysql_query(m, q) == 0;
	while (ok) {
		MYSQL_RES *r = mysql_store_result(m);
		if (r)
			mysql_free_result(r);
		int next = mysql_next_result(m);
		if (next > 0)
			ok = false;
		if (next != 0)
			break;
	}
	if (!ok)
		fprintf(stderr, "sql %.200s: %s\n", q, mysql_error(m));
	mysql_close(m);
	return ok;
}

/* reconcile (full or incremental); *out is its output (caller frees) */
static int reconcile(bool full, char **out)
{
	size_t len = 0;
	FILE *f = open_memstream(out, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	struct lf_reconcile_opts o = {.full = full};
	int rc = lf_admin_reconcile(&P, &o, f);
	fclose(f);
	if (getenv("LF_TEST_VERBOSE"))
		fputs(*out, stderr);
	return rc;
}

static const char *const tables[] = {"accounts", "payments", "ledger_entries", "idempotency_keys"};

static void save(void)
{
	for (size_t i = 0; i < LF_COUNT(tables); i++) {
		char q[256];
		snprintf(q, sizeof q, "CREATE OR REPLACE TABLE saved_%s AS SELECT * FROM %s",
			 tables[i], tables[i]);
		CU_ASSERT_TRUE_FATAL(sql(q));
	}
}

/* put the saved books back; reconcile is clean again */
static void restore(void)
{
	for (size_t i = 0; i < LF_COUNT(tables); i++) {
		char q[512];
		snprintf(q, sizeof q,
			 "SET foreign_key_checks = 0; DELETE FROM %s; INSERT INTO %s SELECT * FROM"
			 " saved_%s; DROP TABLE saved_%s",
			 tables[i], tables[i], tables[i], tables[i]);
		CU_ASSERT_TRUE_FATAL(sql(q));
	}
	char *out = NULL;
	CU_ASSERT_EQUAL(reconcile(true, &out), 0);
	free(out);
}

struct books {
	lf_uuid a, b;
	char ah[33], bh[33]; /* hex, for SQL */
	char au[LF_UUID_STR_LEN + 1], bu[LF_UUID_STR_LEN + 1];
	lf_uuid pay[3];
};

static void hex_of(const lf_uuid *u, char out[33])
{
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", u->b[i]);
}

static void pay(const lf_uuid *from, const lf_uuid *to, int64_t amount, lf_uuid *id)
{
	static int n;
	char key[32];
	snprintf(key, sizeof key, "rk-%d-%d", (int)getpid(), ++n);
	struct xfer x;
	xfer_init(&x, key, from, to, amount, USD, NULL);
	enum lf_transfer_result res;
	struct lf_stored st;
	CU_ASSERT_EQUAL_FATAL(lf_store_transfer(conn(), &x.r, &res, &st), LF_OK);
	CU_ASSERT_EQUAL(res, LF_TRANSFER_COMPLETED);
	lf_stored_clear(&st);
	if (id)
		*id = x.r.payment_id;
}

/* A and B with 10000 each; A->B 100 (seq 2 each), B->A 50 (seq 3), A->B 25
 * (seq 4) */
static void books(struct books *k)
{
	k->a = new_account("A", USD, 10000);
	k->b = new_account("B", USD, 10000);
	hex_of(&k->a, k->ah);
	hex_of(&k->b, k->bh);
	lf_uuid_format(&k->a, k->au);
	lf_uuid_format(&k->b, k->bu);
	pay(&k->a, &k->b, 100, &k->pay[0]);
	pay(&k->b, &k->a, 50, &k->pay[1]);
	pay(&k->a, &k->b, 25, &k->pay[2]);
}

/* out has a FAIL line about this account and seq */
static bool names(const char *out, const char *uuid, int seq)
{
	char want[96];
	snprintf(want, sizeof want, "FAIL account %s seq %d:", uuid, seq);
	return strstr(out, want) != NULL;
}

static void expect_caught(const struct books *k, const char *uuid, int seq, const char *why)
{
	char *out = NULL;
	CU_ASSERT_EQUAL(reconcile(true, &out), 1);
	CU_ASSERT_TRUE(names(out, uuid, seq));
	if (why)
		CU_ASSERT_PTR_NOT_NULL(strstr(out, why));
	if (!names(out, uuid, seq))
		fprintf(stderr, "expected account %s seq %d in:\n%s", uuid, seq, out);
	(void)k;
	free(out);
}

static void test_clean(void)
{
	struct books k;
	books(&k);
	char *out = NULL;
	CU_ASSERT_EQUAL(reconcile(true, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "the books hold"));
	CU_ASSERT_PTR_NULL(strstr(out, "FAIL"));
	free(out);
}

/* +1 on the payment, both entries, every later balance_after, both balances */
static void edit_amount(const struct books *k)
{
	char q[1400];
	snprintf(q, sizeof q,
		 "UPDATE payments SET amount = amount + 1 WHERE id = (SELECT payment_id FROM"
		 " ledger_entries WHERE account_id = X'%s' AND seq = 2);"
		 "UPDATE ledger_entries SET amount = amount + IF(seq = 2, 1, 0),"
		 " balance_after = balance_after - 1 WHERE account_id = X'%s' AND seq >= 2;"
		 "UPDATE ledger_entries SET amount = amount + IF(seq = 2, 1, 0),"
		 " balance_after = balance_after + 1 WHERE account_id = X'%s' AND seq >= 2;"
		 "UPDATE accounts SET balance = balance - 1 WHERE id = X'%s';"
		 "UPDATE accounts SET balance = balance + 1 WHERE id = X'%s'",
		 k->ah, k->ah, k->bh, k->ah, k->bh);
	CU_ASSERT_TRUE_FATAL(sql(q));
}

static void test_amount_edited_consistently(void)
{
	struct books k;
	books(&k);
	save();
	edit_amount(&k);
	expect_caught(&k, k.au, 2, "the hash does not recompute");
	expect_caught(&k, k.bu, 2, "the hash does not recompute");
	restore();
}

static void test_entry_deleted(void)
{
	struct books k;
	books(&k);
	save();
	char q[256];
	snprintf(q, sizeof q, "DELETE FROM ledger_entries WHERE account_id = X'%s' AND seq = 3",
		 k.bh);
	CU_ASSERT_TRUE_FATAL(sql(q));
	expect_caught(&k, k.bu, 4, "follows seq 2");
	restore();
}

/* a second CREDIT of payment 1 on B with a correct hash, balance, seq and
 * chain head: only the payment check can see it */
static void test_entry_inserted(void)
{
	struct books k;
	books(&k);
	save();
	char q[1400];
	snprintf(q, sizeof q,
		 "INSERT INTO ledger_entries (account_id, seq, id, payment_id, counterparty_id,"
		 " direction, amount, balance_after, created_at, hash)"
		 " SELECT e.account_id, 5, UNHEX(REPLACE(UUID(), '-', '')), e.payment_id,"
		 " e.counterparty_id, 'CREDIT', e.amount, l.balance_after + e.amount, l.created_at,"
		 " X'00' FROM ledger_entries e JOIN ledger_entries l ON l.account_id = e.account_id"
		 " AND l.seq = 4 WHERE e.account_id = X'%s' AND e.seq = 2;"
		 "SET @p = (SELECT hash FROM ledger_entries WHERE account_id = X'%s' AND seq = 4);"
		 "UPDATE ledger_entries SET hash = lf_entry_hash(@p, account_id, seq, id, "
		 "payment_id,"
		 " counterparty_id, direction, amount, balance_after, created_at)"
		 " WHERE account_id = X'%s' AND seq = 5;"
		 "UPDATE accounts a JOIN ledger_entries e ON e.account_id = a.id AND e.seq = 5"
		 " SET a.balance = e.balance_after, a.ledger_seq = 5, a.chain_head = e.hash"
		 " WHERE a.id = X'%s'",
		 k.bh, k.bh, k.bh, k.bh);
	CU_ASSERT_TRUE_FATAL(sql(q));
	char *out = NULL;
	CU_ASSERT_EQUAL(reconcile(true, &out), 1);
	char want[128];
	snprintf(want, sizeof want, "account %s seq 5 CREDIT 100", k.bu);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "FAIL currency USD: the balances sum to 100, not 0"));
	CU_ASSERT_PTR_NULL(strstr(out, "hash does not recompute"));
	free(out);
	restore();
}

static void test_entries_swapped(void)
{
	struct books k;
	books(&k);
	save();
	char q[512];
	snprintf(q, sizeof q,
		 "UPDATE ledger_entries SET seq = 1000 WHERE account_id = X'%s' AND seq = 2;"
		 "UPDATE ledger_entries SET seq = 2 WHERE account_id = X'%s' AND seq = 3;"
		 "UPDATE ledger_entries SET seq = 3 WHERE account_id = X'%s' AND seq = 1000",
		 k.ah, k.ah, k.ah);
	CU_ASSERT_TRUE_FATAL(sql(q));
	expect_caught(&k, k.au, 2, "balance_after");
	expect_caught(&k, k.au, 3, "the hash does not recompute");
	restore();
}

static void test_balance_edited(void)
{
	struct books k;
	books(&k);
	save();
	char q[256];
	snprintf(q, sizeof q, "UPDATE accounts SET balance = balance + 5 WHERE id = X'%s'", k.ah);
	CU_ASSERT_TRUE_FATAL(sql(q));
	expect_caught(&k, k.au, 4, "but its entries sum to");
	restore();
}

/* Every hash of the account from seq 2 on, and its chain head, recomputed
 * the way the server computes them. */
static void rechain(const char *hex)
{
	for (int seq = 2; seq <= 4; seq++) {
		char q[900];
		snprintf(q, sizeof q,
			 "SET @p = (SELECT hash FROM ledger_entries WHERE account_id = X'%s' AND"
			 " seq = %d);"
			 "UPDATE ledger_entries SET hash = lf_entry_hash(@p, account_id, seq, id,"
			 " payment_id, counterparty_id, direction, amount, balance_after, "
			 "created_at)"
			 " WHERE account_id = X'%s' AND seq = %d",
			 hex, seq - 1, hex, seq);
		CU_ASSERT_TRUE_FATAL(sql(q));
	}
	char q[400];
	snprintf(q, sizeof q,
		 "UPDATE accounts a JOIN ledger_entries e ON e.account_id = a.id AND e.seq = 4"
		 " SET a.chain_head = e.hash WHERE a.id = X'%s'",
		 hex);
	CU_ASSERT_TRUE_FATAL(sql(q));
}

static void test_chains_recomputed_after_anchor(void)
{
	struct books k;
	books(&k);
	char *out = NULL;
	CU_ASSERT_EQUAL(lf_admin_anchor(&P, NULL, quiet), 0);
	CU_ASSERT_EQUAL(reconcile(true, &out), 0);
	free(out);
	save();
	edit_amount(&k);
	rechain(k.ah);
	rechain(k.bh);
	CU_ASSERT_EQUAL(reconcile(true, &out), 1);
	/* the chains themselves are perfect now: only the anchor shows it */
	CU_ASSERT_PTR_NULL(strstr(out, "hash does not recompute"));
	CU_ASSERT_PTR_NULL(strstr(out, "balance_after"));
	CU_ASSERT_TRUE(names(out, k.au, 4));
	CU_ASSERT_TRUE(names(out, k.bu, 4));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "differs from anchor"));
	free(out);
	restore();
}

static unsigned long long verified(const char *out)
{
	const char *p = strstr(out, "reconcile: verified ");
	return p ? strtoull(p + strlen("reconcile: verified "), NULL, 10) : ~0ull;
}

static void test_incremental(void)
{
	struct books k;
	books(&k);
	char *out = NULL;
	CU_ASSERT_EQUAL(reconcile(true, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "checkpoint written"));
	unsigned long long all = verified(out);
	free(out);
	pay(&k.a, &k.b, 7, NULL);
	pay(&k.b, &k.a, 3, NULL);
	CU_ASSERT_EQUAL(reconcile(false, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "(incremental)"));
	CU_ASSERT_EQUAL(verified(out), 4); /* two payments, two entries each */
	CU_ASSERT_TRUE(all >= 8);
	free(out);
	CU_ASSERT_EQUAL(reconcile(false, &out), 0);
	CU_ASSERT_EQUAL(verified(out), 0);
	free(out);
	/* an edit of a checkpointed entry's chain is still seen incrementally */
	save();
	edit_amount(&k);
	rechain(k.ah);
	CU_ASSERT_EQUAL(reconcile(false, &out), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "differs from the checkpoint"));
	free(out);
	restore();
}

/* One gauge of a textfile-collector file; -1 when it is not there. */
static long long gauge(const char *path, const char *name)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char line[256];
	long long v = -1;
	size_t n = strlen(name);
	while (fgets(line, sizeof line, f))
		if (strncmp(line, name, n) == 0 && line[n] == ' ') {
			v = strtoll(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

#define M_RUN "ledgerflow_reconcile_last_run_timestamp_seconds"
#define M_OK "ledgerflow_reconcile_last_success_timestamp_seconds"
#define M_RESULT "ledgerflow_reconcile_result"
#define M_VIOLATIONS "ledgerflow_reconcile_violations"

/* The file says a clean run ended now; then, with an old clean run in it
 * (time 1000), a run that finds the books broken and one that cannot reach
 * the database each say so and keep the time of the old clean run: what
 * the ReconcileFailing and ReconcileStale alerts read. An unwritable file
 * fails a clean run with 2. */
static void test_metrics_file(void)
{
	struct books k;
	books(&k);
	char path[256], old[600];
	snprintf(path, sizeof path, "/tmp/lf-reconcile-%d.prom", (int)getpid());
	struct lf_reconcile_opts o = {.full = true, .metrics_file = path};
	long long t0 = (long long)time(NULL);
	CU_ASSERT_EQUAL(lf_admin_reconcile(&P, &o, quiet), 0);
	long long t1 = (long long)time(NULL);
	CU_ASSERT_EQUAL(gauge(path, M_RESULT), 0);
	CU_ASSERT_EQUAL(gauge(path, M_VIOLATIONS), 0);
	CU_ASSERT_TRUE(gauge(path, M_OK) >= t0 && gauge(path, M_OK) <= t1);
	CU_ASSERT_EQUAL(gauge(path, M_RUN), gauge(path, M_OK));

	snprintf(old, sizeof old, "%s 1000\n", M_OK);
	FILE *f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(old, f);
	fclose(f);
	save();
	char q[256];
	snprintf(q, sizeof q, "UPDATE accounts SET balance = balance + 5 WHERE id = X'%s'", k.ah);
	CU_ASSERT_TRUE_FATAL(sql(q));
	CU_ASSERT_EQUAL(lf_admin_reconcile(&P, &o, quiet), 1);
	CU_ASSERT_EQUAL(gauge(path, M_RESULT), 1);
	CU_ASSERT_TRUE(gauge(path, M_VIOLATIONS) >= 1);
	CU_ASSERT_EQUAL(gauge(path, M_OK), 1000);
	CU_ASSERT_TRUE(gauge(path, M_RUN) >= t0);
	restore();

	struct lf_db_params down = P;
	down.host = "127.0.0.1";
	down.port = 1; /* nothing listens there */
	down.unix_socket = NULL;
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(old, f);
	fclose(f);
	CU_ASSERT_EQUAL(lf_admin_reconcile(&down, &o, quiet), 2);
	CU_ASSERT_EQUAL(gauge(path, M_RESULT), 2);
	CU_ASSERT_EQUAL(gauge(path, M_OK), 1000);
	CU_ASSERT_TRUE(gauge(path, M_RUN) >= t0);
	unlink(path);

	struct lf_reconcile_opts nowhere = {.full = true,
					    .metrics_file = "/nonexistent-lf-dir/r.prom"};
	CU_ASSERT_EQUAL(lf_admin_reconcile(&P, &nowhere, quiet), 2);
}

static void drop_triggers(void)
{
	CU_ASSERT_TRUE_FATAL(sql("DROP TRIGGER IF EXISTS ledger_entries_no_update;"
				 "DROP TRIGGER IF EXISTS ledger_entries_no_delete;"
				 "DROP TRIGGER IF EXISTS payments_no_update;"
				 "DROP TRIGGER IF EXISTS payments_no_delete"));
}

/* ---- a hot account: 100k payments from one account, written directly ---- */

#define HOT_N 100000
#define HOT_BATCH 1000
#define HOT_AT "2026-01-01 00:00:00.123"

struct hot {
	lf_uuid h, s;
	uint8_t hprev[32], sprev[32];
	int64_t hbal, sbal;
	char *q;
	size_t cap, len;
};

static void put(struct hot *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct hot *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t->q + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	CU_ASSERT_FATAL(n >= 0 && (size_t)n < t->cap - t->len);
	t->len += (size_t)n;
}

static void put_hex(struct hot *t, const uint8_t *b, size_t n)
{
	put(t, "X'");
	for (size_t i = 0; i < n; i++)
		put(t, "%02x", b[i]);
	put(t, "'");
}

/* one ledger entry row "(...)" with its hash; prev is updated */
static void put_entry(struct hot *t, const lf_uuid *acct, int64_t seq, const lf_uuid *payment,
		      const lf_uuid *cp, bool debit, int64_t after, int64_t at_ms, uint8_t prev[32])
{
	struct lf_ledger_hash_in e = {.account_id = *acct,
				      .seq = seq,
				      .has_payment = true,
				      .payment_id = *payment,
				      .counterparty_id = *cp,
				      .debit = debit,
				      .amount = 1,
				      .balance_after = after,
				      .created_ms = at_ms};
	lf_uuid_v7(&e.id);
	uint8_t h[32];
	CU_ASSERT_TRUE_FATAL(lf_ledger_hash(prev, &e, h));
	memcpy(prev, h, 32);
	put(t, "(");
	put_hex(t, acct->b, 16);
	put(t, ",%lld,", (long long)seq);
	put_hex(t, e.id.b, 16);
	put(t, ",");
	put_hex(t, payment->b, 16);
	put(t, ",");
	put_hex(t, cp->b, 16);
	put(t, ",'%s',1,%lld,'" HOT_AT "',", debit ? "DEBIT" : "CREDIT", (long long)after);
	put_hex(t, h, 32);
	put(t, ")");
}

static void hot_batch(struct hot *t, int64_t first, int64_t n, int64_t at_ms)
{
	lf_uuid ids[HOT_BATCH];
	t->len = 0;
	put(t, "INSERT INTO payments (id, client_id, idempotency_key, fingerprint,"
	       " from_account_id, to_account_id, amount, currency, status, created_at) VALUES ");
	for (int64_t i = 0; i < n; i++) {
		lf_uuid_v7(&ids[i]);
		put(t, "%s(", i ? "," : "");
		put_hex(t, ids[i].b, 16);
		put(t, ",%d,'hot-%lld',REPEAT(X'00',32),", CLIENT, (long long)(first + i));
		put_hex(t, t->h.b, 16);
		put(t, ",");
		put_hex(t, t->s.b, 16);
		put(t, ",1,'USD','COMPLETED','" HOT_AT "')");
	}
	put(t, "; INSERT INTO ledger_entries (account_id, seq, id, payment_id, counterparty_id,"
	       " direction, amount, balance_after, created_at, hash) VALUES ");
	for (int64_t i = 0; i < n; i++) {
		t->hbal--;
		t->sbal++;
		put(t, "%s", i ? "," : "");
		put_entry(t, &t->h, first + i + 1, &ids[i], &t->s, true, t->hbal, at_ms, t->hprev);
		put(t, ",");
		put_entry(t, &t->s, first + i, &ids[i], &t->h, false, t->sbal, at_ms, t->sprev);
	}
	CU_ASSERT_TRUE_FATAL(sql(t->q));
}

static void test_hot_account(void)
{
	struct hot t = {.cap = 2u << 20};
	t.q = malloc(t.cap);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t.q);
	t.hbal = 1000000000;
	t.h = new_account("hot", USD, t.hbal);
	t.s = new_account("sink", USD, 0);
	char q[256], hh[33];
	hex_of(&t.h, hh);
	snprintf(q, sizeof q,
		 "SELECT COUNT(*) FROM ledger_entries WHERE account_id = X'%s' AND seq = 1", hh);
	CU_ASSERT_EQUAL_FATAL(raw_int(q), 1);
	/* the opening's hash, as the chain's start */
	MYSQL *m = raw_connect(dbname);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	snprintf(q, sizeof q,
		 "SELECT hash FROM ledger_entries WHERE account_id = X'%s' AND seq = 1", hh);
	CU_ASSERT_EQUAL_FATAL(mysql_query(m, q), 0);
	MYSQL_RES *r = mysql_store_result(m);
	MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
	CU_ASSERT_FATAL(row && row[0] && mysql_fetch_lengths(r)[0] == 32);
	memcpy(t.hprev, row[0], 32);
	mysql_free_result(r);
	mysql_close(m);
	int64_t at_ms = 1767225600123; /* HOT_AT */
	for (int64_t i = 0; i < HOT_N; i += HOT_BATCH)
		hot_batch(&t, i + 1, HOT_BATCH, at_ms);
	char sh[33];
	hex_of(&t.s, sh);
	t.len = 0;
	put(&t,
	    "UPDATE accounts SET balance = %lld, ledger_seq = %d, chain_head = ", (long long)t.hbal,
	    HOT_N + 1);
	put_hex(&t, t.hprev, 32);
	put(&t,
	    " WHERE id = X'%s'; UPDATE accounts SET balance = %lld, ledger_seq = %d,"
	    " chain_head = ",
	    hh, (long long)t.sbal, HOT_N);
	put_hex(&t, t.sprev, 32);
	put(&t, " WHERE id = X'%s'", sh);
	CU_ASSERT_TRUE_FATAL(sql(t.q));
	free(t.q);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char *out = NULL;
	CU_ASSERT_EQUAL(reconcile(true, &out), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CU_ASSERT_TRUE(verified(out) >= 2 * HOT_N + 1);
	free(out);
	/* linear, not quadratic: the old reconcile took minutes for a tenth of this */
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	CU_ASSERT_TRUE(s < 60.0);
	fprintf(stderr, "hot account: %d entries reconciled in %.1f s\n", 2 * HOT_N + 1, s);
}

int main(void)
{
	static const struct lf_test tamper[] = {
		{"drop the append-only triggers (as the migrating login)", drop_triggers},
		{"a clean ledger passes", test_clean},
		{"an amount edited consistently: the chain", test_amount_edited_consistently},
		{"an entry deleted", test_entry_deleted},
		{"an entry inserted with a correct hash", test_entry_inserted},
		{"two entries swapped", test_entries_swapped},
		{"a balance edited", test_balance_edited},
		{"chains recomputed after an anchor: the anchor",
		 test_chains_recomputed_after_anchor},
		{"incremental: only what is new", test_incremental},
		{"--metrics-file: result, violations, last clean run", test_metrics_file},
	};
	static const struct lf_test hot[] = {
		{"a hot account of 100k entries", test_hot_account},
	};
	static const struct lf_suite suites[] = {{"tamper", LF_TESTS(tamper)},
						 {"scale", LF_TESTS(hot)}};
	static const struct fx_opts opts = {.name = "reconcile", .migrate = true};
	return fx_main(suites, LF_COUNT(suites), &opts);
}
