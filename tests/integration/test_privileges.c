/*
 * test_privileges.c - the least-privilege model against a real MariaDB:
 * the runtime user (the server's, given exactly what `ledgerflowctl
 * grants` prints by the store fixture) moves money through the procedures
 * but is refused (1142) every direct edit of history; the procedures are
 * SQL SECURITY DEFINER; what the database holds for the user is exactly
 * the grants table, which names every procedure and only tables that
 * exist; and the printer refuses names it cannot quote.
 */
#include "config.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <stdlib.h>
#include <string.h>

#include "store_fixture.h"

/* The runtime user's error for q (0: it succeeded). */
static unsigned rt_errno(MYSQL *m, const char *q)
{
	if (mysql_query(m, q) != 0)
		return mysql_errno(m);
	MYSQL_RES *r = mysql_store_result(m);
	if (r)
		mysql_free_result(r);
	return 0;
}

/* COUNT(*) and SUM(amount or balance) of a table, as the test user: a
 * fingerprint any successful edit of its rows would move. */
static long long table_print(const char *table)
{
	char q[160];
	snprintf(q, sizeof q, "SELECT COUNT(*) * 1000003 + IFNULL(SUM(%s), 0) FROM %s",
		 strcmp(table, "accounts") == 0 ? "balance" : "amount", table);
	return raw_int(q);
}

/* A denial: 1142 on a table; 1044 / 1370 / 1227 for DDL. */
static bool denied(unsigned e)
{
	return e == ER_TABLEACCESS_DENIED_ERROR || e == ER_DBACCESS_DENIED_ERROR ||
	       e == ER_PROCACCESS_DENIED_ERROR || e == ER_SPECIFIC_ACCESS_DENIED_ERROR;
}

/* clang-format off */
static const struct {
	const char *sql;
	unsigned want; /* 0: any denial */
} refused[] = {
	{"UPDATE ledger_entries SET amount = amount + 1", ER_TABLEACCESS_DENIED_ERROR},
	{"DELETE FROM ledger_entries", ER_TABLEACCESS_DENIED_ERROR},
	{"INSERT INTO ledger_entries (account_id, seq, id, payment_id, direction, amount,"
	 " balance_after, created_at) SELECT account_id, seq + 1000, UNHEX(REPLACE(UUID(),"
	 " '-', '')), payment_id, direction, amount, balance_after, created_at"
	 " FROM ledger_entries", ER_TABLEACCESS_DENIED_ERROR},
	{"UPDATE payments SET amount = amount + 1", ER_TABLEACCESS_DENIED_ERROR},
	{"DELETE FROM payments", ER_TABLEACCESS_DENIED_ERROR},
	{"INSERT INTO payments SELECT * FROM payments", ER_TABLEACCESS_DENIED_ERROR},
	{"UPDATE accounts SET balance = balance + 1", ER_TABLEACCESS_DENIED_ERROR},
	{"DELETE FROM accounts", ER_TABLEACCESS_DENIED_ERROR},
	{"INSERT INTO accounts (id, name, currency, balance, created_at, updated_at)"
	 " VALUES (UNHEX(REPLACE(UUID(), '-', '')), 'minted', 'USD', 100,"
	 " UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))", ER_TABLEACCESS_DENIED_ERROR},
	{"UPDATE idempotency_keys SET response_status = 201", ER_TABLEACCESS_DENIED_ERROR},
	{"UPDATE api_keys SET revoked_at = NULL", ER_TABLEACCESS_DENIED_ERROR},
	{"INSERT INTO api_clients (name, scopes, created_at) VALUES ('x', 'admin',"
	 " UTC_TIMESTAMP(3))", ER_TABLEACCESS_DENIED_ERROR},
	{"UPDATE auth_epoch SET epoch = 0", ER_TABLEACCESS_DENIED_ERROR},
	/* events: only with their change, through the procedures */
	{"INSERT INTO events (id, type, object_id, client_id, account_id, created_at, data)"
	 " VALUES (UNHEX(REPLACE(UUID(), '-', '')), 'payment.completed', x'00', 1, x'00',"
	 " UTC_TIMESTAMP(3), '{}')", ER_TABLEACCESS_DENIED_ERROR},
	{"UPDATE events SET seq = NULL", ER_TABLEACCESS_DENIED_ERROR},
	{"DELETE FROM events", ER_TABLEACCESS_DENIED_ERROR},
	{"CALL lf_event_add(UNHEX(REPLACE(UUID(), '-', '')), 'payment.completed', x'00', 1,"
	 " x'00', NULL, UTC_TIMESTAMP(3), '{}')", ER_PROCACCESS_DENIED_ERROR},
	{"CALL lf_client_day(1, 'USD', '2026-01-01', @d, @s)", ER_PROCACCESS_DENIED_ERROR},
	{"UPDATE webhooks SET url = 'http://evil.example/'", ER_TABLEACCESS_DENIED_ERROR},
	{"INSERT INTO webhook_deliveries (webhook_id, seq, next_at) VALUES (x'00', 1,"
	 " UTC_TIMESTAMP(3))", ER_TABLEACCESS_DENIED_ERROR},
	{"CREATE OR REPLACE PROCEDURE lf_get_outcome() SELECT 1", 0},
	{"ALTER TABLE ledger_entries DROP CONSTRAINT ledger_amount_pos", 0},
	{"TRUNCATE TABLE idempotency_keys", 0},
};
/* clang-format on */

static void test_runtime_refused_history_edits(void)
{
	/* a payment made by the runtime user, through the procedures */
	lf_uuid a = new_account("Priv-A", USD, 5000), b = new_account("Priv-B", USD, 0);
	struct xfer x;
	xfer_init(&x, "priv-1", &a, &b, 1234, USD, NULL);
	enum lf_transfer_result res;
	struct lf_stored st;
	CU_ASSERT_EQUAL_FATAL(lf_store_transfer(conn(), &x.r, &res, &st), LF_OK);
	CU_ASSERT_EQUAL(res, LF_TRANSFER_COMPLETED);
	lf_stored_clear(&st);

	static const char *const tables[] = {"ledger_entries", "payments", "accounts",
					     "idempotency_keys"};
	long long before[LF_COUNT(tables)];
	for (size_t i = 0; i < LF_COUNT(tables); i++)
		before[i] = table_print(tables[i]);
	CU_ASSERT_TRUE(before[0] > 0 && before[1] > 0);
	MYSQL *m = rt_connect();
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	/* it reads them: the refusals below are not a broken login */
	CU_ASSERT_EQUAL(rt_errno(m, "SELECT COUNT(*) FROM ledger_entries"), 0);
	CU_ASSERT_EQUAL(rt_errno(m, "SELECT COUNT(*) FROM payments"), 0);
	for (size_t i = 0; i < LF_COUNT(refused); i++) {
		unsigned e = rt_errno(m, refused[i].sql);
		bool ok = refused[i].want ? e == refused[i].want : denied(e);
		if (!ok)
			fprintf(stderr, "\n  %s: got %u %s\n", refused[i].sql, e,
				e ? mysql_error(m) : "(allowed)");
		CU_ASSERT(ok);
	}
	mysql_close(m);
	for (size_t i = 0; i < LF_COUNT(tables); i++)
		CU_ASSERT_EQUAL(table_print(tables[i]), before[i]);
	CU_ASSERT_EQUAL(reconcile_quiet(), 0);
}

/* The one write the runtime user does itself: the reaper's DELETE. */
static void test_runtime_reaps(void)
{
	CU_ASSERT_TRUE_FATAL(raw_exec(dbname, "UPDATE idempotency_keys SET expires_at ="
					      " '2000-01-01 00:00:00' WHERE idem_key = 'priv-1'"));
	unsigned long n = 0;
	CU_ASSERT_EQUAL(lf_store_reap_keys(conn(), now_ms(), 100, &n), LF_OK);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = 'priv-1'"),
			0);
}

/* Every procedure runs with its definer's rights (what lets EXECUTE alone
 * move money), and the grants table names each one: a procedure added
 * without its row would leave the server unable to call it. */
static void test_procedures_are_definer(void)
{
	size_t n = 0;
	const struct lf_admin_grant *g = lf_admin_grants(&n);
	/* the procedures; the function lf_entry_hash is called only inside
	 * them (it runs as their definer), so the runtime user needs nothing
	 * on it */
	long long routines =
		raw_int("SELECT COUNT(*) FROM information_schema.ROUTINES"
			" WHERE ROUTINE_SCHEMA = DATABASE() AND ROUTINE_TYPE = 'PROCEDURE'");
	CU_ASSERT_TRUE(routines >= 4);
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM information_schema.ROUTINES WHERE"
				" ROUTINE_SCHEMA = DATABASE() AND ROUTINE_TYPE = 'PROCEDURE' AND "
				"SECURITY_TYPE = 'DEFINER'"),
			routines);
	long long listed = 0;
	for (size_t i = 0; i < n; i++) {
		char q[256];
		snprintf(q, sizeof q,
			 "SELECT COUNT(*) FROM information_schema.%s WHERE %s_SCHEMA = DATABASE()"
			 " AND %s_NAME = '%s'",
			 g[i].routine ? "ROUTINES" : "TABLES", g[i].routine ? "ROUTINE" : "TABLE",
			 g[i].routine ? "ROUTINE" : "TABLE", g[i].object);
		if (raw_int(q) != 1)
			fprintf(stderr, "\n  %s is in the grants table, not in the database\n",
				g[i].object);
		CU_ASSERT_EQUAL(raw_int(q), 1);
		listed += g[i].routine;
	}
	/* every procedure but lf_event_add and lf_client_day, which only the
	 * others call (an event exists only with its change; a client's day
	 * is locked only inside a payment's transaction) */
	CU_ASSERT_EQUAL(listed, routines - 2);
}

/* What the database holds for the runtime user is the table, no more:
 * no global or database privilege, each table's privileges as listed,
 * EXECUTE on each procedure. */
static void test_held_grants_are_the_table(void)
{
	char grantee[160], q[512];
	snprintf(grantee, sizeof grantee, "'%s'@'%s'", rt_user, rt_host);
	snprintf(q, sizeof q,
		 "SELECT COUNT(*) FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = \"%s\""
		 " AND PRIVILEGE_TYPE <> 'USAGE'",
		 grantee);
	CU_ASSERT_EQUAL(raw_int(q), 0);
	snprintf(q, sizeof q,
		 "SELECT COUNT(*) FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = \"%s\"",
		 grantee);
	CU_ASSERT_EQUAL(raw_int(q), 0);
	size_t n = 0;
	const struct lf_admin_grant *g = lf_admin_grants(&n);
	long long table_privs = 0, procs = 0;
	for (size_t i = 0; i < n; i++) {
		if (g[i].routine) {
			snprintf(q, sizeof q,
				 "SELECT COUNT(*) FROM mysql.procs_priv WHERE User = '%s' AND"
				 " Host = '%s' AND Db = DATABASE() AND Routine_name = '%s' AND"
				 " Routine_type = 'PROCEDURE' AND Proc_priv = 'Execute'",
				 rt_user, rt_host, g[i].object);
			CU_ASSERT_EQUAL(raw_int(q), 1);
			procs++;
			continue;
		}
		/* "SELECT, DELETE": each privilege is one row */
		for (const char *p = g[i].privileges; p && *p; p = strchr(p, ',')) {
			p += *p == ',' ? 2 : 0;
			size_t len = strcspn(p, ",");
			snprintf(q, sizeof q,
				 "SELECT COUNT(*) FROM information_schema.TABLE_PRIVILEGES WHERE"
				 " GRANTEE = \"%s\" AND TABLE_SCHEMA = DATABASE() AND"
				 " TABLE_NAME = '%s' AND PRIVILEGE_TYPE = '%.*s'",
				 grantee, g[i].object, (int)len, p);
			CU_ASSERT_EQUAL(raw_int(q), 1);
			table_privs++;
		}
	}
	snprintf(q, sizeof q,
		 "SELECT COUNT(*) FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = \"%s\"",
		 grantee);
	CU_ASSERT_EQUAL(raw_int(q), table_privs);
	snprintf(q, sizeof q, "SELECT COUNT(*) FROM mysql.procs_priv WHERE User = '%s'", rt_user);
	CU_ASSERT_EQUAL(raw_int(q), procs);
	snprintf(q, sizeof q,
		 "SELECT COUNT(*) FROM information_schema.COLUMN_PRIVILEGES WHERE GRANTEE = \"%s\"",
		 grantee);
	CU_ASSERT_EQUAL(raw_int(q), 0);
}

/* The printed SQL: REVOKE ALL first, one GRANT per row; names that would
 * need quoting are refused instead. */
static void test_grants_output(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_EQUAL(lf_admin_grants_print("lfdb", "lf_app", "10.0.0.%", f, stderr), LF_OK);
	fclose(f);
	const char *first = text;
	while (*first == '-') /* the leading comment lines */
		first = strchr(first, '\n') + 1;
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "REVOKE ALL PRIVILEGES, GRANT OPTION FROM "
					    "'lf_app'@'10.0.0.%';\n"));
	CU_ASSERT_EQUAL(strncmp(first, "REVOKE ALL", 10), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "GRANT SELECT, DELETE ON `lfdb`.`idempotency_keys` TO "
					    "'lf_app'@'10.0.0.%';\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "GRANT EXECUTE ON PROCEDURE `lfdb`.`lf_transfer` TO "
					    "'lf_app'@'10.0.0.%';\n"));
	size_t n = 0, grants = 0;
	lf_admin_grants(&n);
	for (const char *p = text; (p = strstr(p, "\nGRANT ")) != NULL; p++)
		grants++;
	CU_ASSERT_EQUAL(grants, n);
	CU_ASSERT_PTR_NULL(strstr(text, "UPDATE")); /* no row grants an UPDATE */
	CU_ASSERT_PTR_NULL(strstr(text, "INSERT"));
	free(text);

	static const char *const bad[][3] = {
		{"db", "a'b", "%"}, {"db", "u", "h'"},  {"d`b", "u", "%"},
		{"db", "u\\", "%"}, {"db", "", "%"},    {"db", "u", ""},
		{"", "u", "%"},     {"db", "u\n", "%"}, {"db", "u\"x", "%"},
	};
	for (size_t i = 0; i < LF_COUNT(bad); i++) {
		char out[64] = "";
		FILE *o = fmemopen(out, sizeof out, "w");
		CU_ASSERT_EQUAL(lf_admin_grants_print(bad[i][0], bad[i][1], bad[i][2], o, quiet),
				LF_DECLINED);
		fclose(o);
		CU_ASSERT_STRING_EQUAL(out, ""); /* nothing to pipe into a client */
	}
}

int main(void)
{
	static const struct lf_test tests[] = {
		{"runtime user refused history edits (1142)", test_runtime_refused_history_edits},
		{"runtime user reaps expired keys", test_runtime_reaps},
		{"procedures are SQL SECURITY DEFINER, all granted", test_procedures_are_definer},
		{"held grants are exactly the table", test_held_grants_are_the_table},
		{"grants output", test_grants_output},
	};
	static const struct lf_suite suites[] = {{"privileges", LF_TESTS(tests)}};
	static const struct fx_opts opts = {.name = "privileges", .migrate = true};
	return fx_main(suites, LF_COUNT(suites), &opts);
}
