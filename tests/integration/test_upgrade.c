/*
 * test_upgrade.c - 004_books.sql upgrades a database the previous schema
 * filled: migrations 001..003 and the previous procedures
 * (fixtures/procedures_v1.sql: single-sided opening credits, no hashes)
 * are applied, accounts are opened in two currencies and payments made
 * through those procedures (a hot account past the 1000 recursion steps
 * MariaDB allows by default), then the normal migrate to the latest runs.
 * After it: every currency's balances sum to 0, each opening credit has
 * its issuance debit, every entry its counterparty, every chain recomputes
 * in C (lf_ledger_hash) with the heads right, reconcile passes, the tables
 * are append-only, and the new procedures keep the chains going.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chain_check.h"
#include "store_fixture.h"

#define ACCOUNTS 12
#define PAYMENTS 300
#define HOT_PAYMENTS 1100 /* past max_recursive_iterations' default of 1000 */

static lf_uuid ids[ACCOUNTS];
static const char *cur_of(int i)
{
	return i % 3 == 2 ? "JPY" : "USD";
}

/* sql/001..003 and the previous procedures.sql, in a directory of their own. */
static bool old_sql_dir(char *dir, size_t len)
{
	snprintf(dir, len, "/tmp/lf-upgrade-%ld", (long)getpid());
	if (mkdir(dir, 0700) != 0)
		return false;
	static const char *const files[] = {"001_schema.sql", "002_procedures.sql",
					    "003_clients.sql"};
	char from[PATH_MAX], to[PATH_MAX + 64];
	bool ok = true;
	for (size_t i = 0; i < 3; i++) {
		snprintf(from, sizeof from, "%s/%s", sql_dir, files[i]);
		snprintf(to, sizeof to, "%s/%s", dir, files[i]);
		ok = ok && symlink(from, to) == 0;
	}
	snprintf(from, sizeof from, "%s/../tests/integration/fixtures/procedures_v1.sql", sql_dir);
	snprintf(to, sizeof to, "%s/procedures.sql", dir);
	return ok && symlink(from, to) == 0;
}

static void old_sql_dir_remove(const char *dir)
{
	static const char *const files[] = {"001_schema.sql", "002_procedures.sql",
					    "003_clients.sql", "procedures.sql"};
	char p[PATH_MAX + 64];
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

/* The old lf_create_account: 12 parameters, the opening CREDIT only. */
static bool old_open(int i, int64_t initial)
{
	lf_uuid entry;
	lf_uuid_v7(&ids[i]);
	lf_uuid_v7(&entry);
	char id[33], e[33], q[640];
	for (int k = 0; k < 16; k++) {
		snprintf(id + 2 * k, 3, "%02x", ids[i].b[k]);
		snprintf(e + 2 * k, 3, "%02x", entry.b[k]);
	}
	snprintf(q, sizeof q,
		 "CALL lf_create_account(%d, NULL, REPEAT('a', 32), UNHEX('%s'), 'old-%d', '%s',"
		 " %lld, UNHEX('%s'), UTC_TIMESTAMP(3) - INTERVAL %d SECOND, UTC_TIMESTAMP(3),"
		 " '', '/api/accounts/x')",
		 CLIENT, id, i, cur_of(i), (long long)initial, e, ACCOUNTS - i);
	return raw_exec(dbname, q);
}

/* A payment through the old lf_transfer: 17 parameters (no hold, no
 * metadata), so a raw CALL; its result read back from the payment row. */
static int old_pay(int from, int to, int64_t amount, int n)
{
	lf_uuid pid, dr, cr;
	lf_uuid_v7(&pid);
	lf_uuid_v7(&dr);
	lf_uuid_v7(&cr);
	char hex[5][33];
	const lf_uuid *u[5] = {&pid, &dr, &cr, &ids[from], &ids[to]};
	for (int j = 0; j < 5; j++)
		for (int k = 0; k < 16; k++)
			snprintf(hex[j] + 2 * k, 3, "%02x", u[j]->b[k]);
	/* a chain over many distinct times */
	long long at = (long long)(T0 + n) * 1000;
	char q[1200];
	snprintf(q, sizeof q,
		 "CALL lf_transfer(%d, 'up-%d', REPEAT('f', 32), UNHEX('%s'), UNHEX('%s'),"
		 " UNHEX('%s'), UNHEX('%s'), UNHEX('%s'), %lld, '%s', NULL,"
		 " TIMESTAMPADD(MICROSECOND, %lld, '1970-01-01 00:00:00'),"
		 " TIMESTAMPADD(MICROSECOND, %lld, '1970-01-02 00:00:00'), '{}', '{}',"
		 " '/api/payments/x', 1)",
		 CLIENT, n, hex[0], hex[1], hex[2], hex[3], hex[4], (long long)amount, cur_of(from),
		 at, at);
	if (!raw_exec(dbname, q))
		return -1;
	char s[120];
	snprintf(s, sizeof s, "SELECT status + 0 FROM payments WHERE idempotency_key = 'up-%d'", n);
	long long st = raw_int(s); /* ENUM('COMPLETED','DECLINED'): 1 or 2 */
	return st == 1 ? LF_TRANSFER_COMPLETED : st == 2 ? LF_TRANSFER_DECLINED : -1;
}

/* A payment through the current procedures (after the migration). */
static int pay(int from, int to, int64_t amount, int n)
{
	char key[64];
	snprintf(key, sizeof key, "up-%d", n);
	struct xfer x;
	xfer_init(&x, key, &ids[from], &ids[to], amount, cur_of(from), NULL);
	x.r.created_ms = T0 + n;
	enum lf_transfer_result res;
	struct lf_stored st;
	lf_rc rc = lf_store_transfer(conn(), &x.r, &res, &st);
	lf_stored_clear(&st);
	return rc == LF_OK ? (int)res : -1;
}

/* The database as the previous version left it. */
static void fill_old(int64_t *usd_opened, int64_t *jpy_opened, int *openings)
{
	*usd_opened = *jpy_opened = 0;
	*openings = 0;
	for (int i = 0; i < ACCOUNTS; i++) {
		int64_t initial = i == 4 ? 0 : 100000 + 1000 * i; /* one without an opening */
		CU_ASSERT_FATAL(old_open(i, initial));
		*(i % 3 == 2 ? jpy_opened : usd_opened) += initial;
		*openings += initial > 0;
	}
	int n = 0, completed = 0, declined = 0;
	unsigned seed = 12345;
	for (int k = 0; k < PAYMENTS; k++) {
		seed = seed * 1103515245u + 12345u;
		int from = (int)(seed >> 8) % ACCOUNTS;
		int to = (from + 3 * (1 + (int)(seed >> 20) % 3)) % ACCOUNTS; /* same currency */
		int r = old_pay(from, to, 1 + (int64_t)(seed >> 16) % 30000, ++n);
		completed += r == LF_TRANSFER_COMPLETED;
		declined += r == LF_TRANSFER_DECLINED;
	}
	/* the hot account: a chain longer than 1000 entries */
	for (int k = 0; k < HOT_PAYMENTS; k++)
		completed += old_pay(0, 3, 1, ++n) == LF_TRANSFER_COMPLETED;
	CU_ASSERT(declined > 0);
	CU_ASSERT_EQUAL(completed + declined, PAYMENTS + HOT_PAYMENTS);
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM ledger_entries"), *openings + 2 * completed);
}

static void test_upgrade(void)
{
	char dir[128];
	CU_ASSERT_FATAL(old_sql_dir(dir, sizeof dir));
	bool old_ok = lf_admin_migrate(&P, dir, quiet);
	old_sql_dir_remove(dir);
	CU_ASSERT_FATAL(old_ok);
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM information_schema.tables WHERE"
				" table_schema = DATABASE() AND table_name = 'currencies'"),
			0);
	int64_t usd, jpy;
	int openings;
	conn_as_admin(true); /* the v1 procedures are SQL SECURITY INVOKER */
	fill_old(&usd, &jpy, &openings);
	long long entries_before = raw_int("SELECT COUNT(*) FROM ledger_entries");

	conn_as_admin(false);
	CU_ASSERT_FATAL(lf_admin_migrate(&P, sql_dir, quiet));
	CU_ASSERT_FATAL(fx_runtime_grants()); /* from now on as the server runs */

	/* every currency's balances sum to 0: the issuance accounts hold -opened */
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM (SELECT currency FROM accounts"
				" GROUP BY currency HAVING SUM(balance) <> 0) x"),
			0);
	CU_ASSERT_EQUAL(raw_int("SELECT balance FROM accounts WHERE id ="
				" UNHEX('00000000000080008000000000555344')"),
			-usd);
	CU_ASSERT_EQUAL(raw_int("SELECT balance FROM accounts WHERE name = 'issuance:JPY'"
				" AND kind = 'ISSUANCE'"),
			-jpy);
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM currencies"), 166);
	/* one issuance DEBIT per opening CREDIT, with the new account as counterparty */
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM ledger_entries"), entries_before + openings);
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM ledger_entries o JOIN currencies c"
				" JOIN ledger_entries d ON d.account_id = c.issuance_account_id"
				" AND d.counterparty_id = o.account_id AND d.amount = o.amount"
				" AND d.direction = 'DEBIT' AND d.payment_id IS NULL"
				" AND d.created_at = o.created_at"
				" WHERE o.payment_id IS NULL AND o.direction = 'CREDIT'"
				" AND o.counterparty_id = c.issuance_account_id"),
			openings);
	/* payment entries name the other side */
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM ledger_entries e JOIN payments p"
				" ON p.id = e.payment_id WHERE e.counterparty_id <>"
				" IF(e.direction = 'DEBIT', p.to_account_id, p.from_account_id)"),
			0);
	MYSQL *m = raw_connect(dbname);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	long checked = 0;
	CU_ASSERT_EQUAL(chain_check(m, &checked), 0);
	CU_ASSERT_EQUAL(checked, entries_before + openings);
	CU_ASSERT_EQUAL(reconcile_quiet(), 0);

	/* append-only from now on */
	CU_ASSERT_NOT_EQUAL(mysql_query(m, "UPDATE ledger_entries SET amount = amount + 1"), 0);
	CU_ASSERT_EQUAL(mysql_errno(m), 1644);
	CU_ASSERT_NOT_EQUAL(mysql_query(m, "DELETE FROM payments"), 0);
	CU_ASSERT_EQUAL(mysql_errno(m), 1644);

	/* the new procedures extend the migrated chains */
	CU_ASSERT_EQUAL(pay(0, 3, 7, 100000), LF_TRANSFER_COMPLETED);
	(void)new_account("after", "USD", 500);
	CU_ASSERT_EQUAL(chain_check(m, &checked), 0);
	CU_ASSERT_EQUAL(checked, entries_before + openings + 4);
	mysql_close(m);
	CU_ASSERT_EQUAL(reconcile_quiet(), 0);
}

int main(void)
{
	static const struct lf_test tests[] = {
		{"a v1 database migrates to the books schema", test_upgrade},
	};
	static const struct lf_suite suites[] = {{"upgrade", LF_TESTS(tests)}};
	static const struct fx_opts opts = {.name = "upgrade", .migrate = false};
	return fx_main(suites, LF_COUNT(suites), &opts);
}
