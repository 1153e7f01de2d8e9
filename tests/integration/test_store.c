/*
 * test_store.c - integration tests of the database layer against a real
 * MariaDB/MySQL: migrations, seed, the stored procedures through
 * lf_store.h (accounts, transfers, idempotent outcomes, ledger paging,
 * reaping) and reconcile. Concurrency is in test_store_concurrency.c.
 *
 * Environment: LF_TEST_MYSQL_HOST (127.0.0.1), LF_TEST_MYSQL_PORT (unset:
 * exit 77, skipped), LF_TEST_MYSQL_USER (ledgerflow), LF_TEST_MYSQL_PASSWORD,
 * LF_TEST_MYSQL_DATABASE (database to connect to for CREATE/DROP; may be
 * unset), LF_TEST_SQL_DIR (default $LF_SRCDIR/sql, $srcdir/sql, else
 * ./sql). The test creates and drops its own database
 * ledgerflow_test_<pid> and the runtime user the store runs as, so the
 * user needs ALL ON *.* WITH GRANT OPTION (contrib/dev/services.sh gives
 * it that). Shared set-up: store_fixture.c.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store_fixture.h"
#include "../../src/store/store_int.h" /* the connection's MYSQL, to leave a transaction open */

/* ---- migrations and seed ---- */

static void test_migrate_twice(void)
{
	CU_ASSERT_TRUE(lf_admin_migrate(&P, sql_dir, quiet));
	long long n1 = raw_int("SELECT COUNT(*) FROM schema_migrations");
	CU_ASSERT_TRUE(n1 >= 2);
	CU_ASSERT_TRUE(lf_admin_migrate(&P, sql_dir, quiet));
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM schema_migrations"), n1);
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM information_schema.routines WHERE "
				"routine_schema = DATABASE() AND routine_name LIKE 'lf\\_%'"),
			22); /* 15 procedures, lf_entry_hash, and the previous release's 6
			      * signatures (procedures_compat.sql) */
	/* A procedure file may be re-applied. */
	char q[128];
	snprintf(q, sizeof q, "DELETE FROM %s.schema_migrations WHERE version = 2", dbname);
	CU_ASSERT_TRUE(raw_exec(dbname, q));
	CU_ASSERT_TRUE(lf_admin_migrate(&P, sql_dir, quiet));
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM schema_migrations"), n1);
	/* A missing directory is an error, not a silent success. */
	CU_ASSERT_FALSE(lf_admin_migrate(&P, "/nonexistent/sql", quiet));
}

static void test_seed_twice(void)
{
	lf_uuid alice, bob;
	CU_ASSERT_TRUE(lf_uuid_parse("11111111-1111-1111-1111-111111111111", 36, &alice));
	CU_ASSERT_TRUE(lf_uuid_parse("22222222-2222-2222-2222-222222222222", 36, &bob));
	CU_ASSERT_TRUE(lf_admin_seed(&P, NULL, quiet));
	CU_ASSERT_TRUE(lf_admin_seed(&P, NULL, quiet));
	struct lf_account a;
	CU_ASSERT_EQUAL_FATAL(lf_store_get_account(conn(), &alice, &FX_ADMIN, &a), LF_OK);
	CU_ASSERT_STRING_EQUAL(a.name, "Alice");
	CU_ASSERT_STRING_EQUAL(a.currency, "USD");
	CU_ASSERT_EQUAL(a.balance, 100000);
	CU_ASSERT_EQUAL(balance_of(&bob), 100000);
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM accounts WHERE kind = 'STANDARD'"), 2);
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM ledger_entries WHERE payment_id IS NULL"
				" AND seq = 1 AND direction = 'CREDIT' AND amount = 100000"),
			2);
	/* each opening CREDIT and its DEBIT on the USD issuance account */
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM ledger_entries"), 4);
	CU_ASSERT_EQUAL(raw_int("SELECT balance FROM accounts WHERE name = 'issuance:USD'"),
			-200000);
	CU_ASSERT_EQUAL(reconcile_quiet(), 0);
}

/* ---- accounts ---- */

static void test_create_account(void)
{
	struct lf_store_conn *c = conn();
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	enum lf_create_result res;
	struct lf_stored st;
	lf_uuid zero_id, rich_id;
	lf_uuid_v7(&zero_id);
	lf_uuid_v7(&rich_id);

	/* Without initial balance and without a key: no ledger entry. */
	CU_ASSERT_EQUAL(
		create_account(c, NULL, &zero_id, "Zo\xc3\xab \xf0\x9f\x9a\x80", USD, 0, &res, &st),
		LF_OK);
	CU_ASSERT_EQUAL(res, LF_CREATE_CREATED);
	CU_ASSERT_FALSE(st.found);
	lf_stored_clear(&st);
	struct lf_account a;
	CU_ASSERT_EQUAL_FATAL(lf_store_get_account(c, &zero_id, &FX_ADMIN, &a), LF_OK);
	CU_ASSERT_STRING_EQUAL(a.name, "Zo\xc3\xab \xf0\x9f\x9a\x80");
	CU_ASSERT_EQUAL(a.balance, 0);
	CU_ASSERT_EQUAL(a.created_ms, T0);
	CU_ASSERT_EQUAL(a.updated_ms, T0);
	CU_ASSERT(memcmp(a.id.b, zero_id.b, 16) == 0);

	/* With an initial balance and a key: an opening CREDIT entry, seq 1. */
	CU_ASSERT_EQUAL(create_account(c, "acct-key-1", &rich_id, "Rich", USD, 12345, &res, &st),
			LF_OK);
	CU_ASSERT_EQUAL(res, LF_CREATE_CREATED);
	lf_stored_clear(&st);
	CU_ASSERT_EQUAL(balance_of(&rich_id), 12345);
	struct lf_ledger_entry e[4];
	unsigned n = 0;
	bool more = true;
	char cur[4];
	CU_ASSERT_EQUAL(
		lf_store_list_ledger(c, &rich_id, &FX_ADMIN, INT64_MAX, 4, e, &n, &more, cur),
		LF_OK);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_FALSE(more);
	CU_ASSERT_STRING_EQUAL(cur, USD);
	CU_ASSERT_FALSE(e[0].has_payment);
	CU_ASSERT_FALSE(e[0].debit);
	CU_ASSERT_EQUAL(e[0].amount, 12345);
	CU_ASSERT_EQUAL(e[0].balance_after, 12345);
	CU_ASSERT_EQUAL(e[0].seq, 1);
	CU_ASSERT_EQUAL(e[0].created_ms, T0);

	/* Same key again: the stored 201 is replayed byte for byte. */
	CU_ASSERT_EQUAL(create_account(c, "acct-key-1", &rich_id, "Rich", USD, 12345, &res, &st),
			LF_OK);
	CU_ASSERT_EQUAL(res, LF_CREATE_REPLAY);
	CU_ASSERT_TRUE(st.found);
	CU_ASSERT_EQUAL(st.status, 201);
	CU_ASSERT_PTR_NOT_NULL(st.body);
	if (st.body)
		CU_ASSERT_PTR_NOT_NULL(strstr(st.body, "\"name\":\"Rich\""));
	CU_ASSERT_EQUAL(st.body_len, st.body ? strlen(st.body) : 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(st.location, "/api/accounts/"));
	CU_ASSERT_EQUAL(st.expires_ms, T0 + 86400000);
	uint8_t fp[LF_FINGERPRINT_LEN];
	fp_of("acct-key-1", fp);
	CU_ASSERT(memcmp(st.fingerprint, fp, sizeof fp) == 0);
	lf_stored_clear(&st);

	/* Existing id, with a fresh key or none: exists, nothing stored. */
	CU_ASSERT_EQUAL(create_account(c, "acct-key-2", &rich_id, "Other", USD, 5, &res, &st),
			LF_OK);
	CU_ASSERT_EQUAL(res, LF_CREATE_EXISTS);
	lf_stored_clear(&st);
	CU_ASSERT_EQUAL(lf_store_get_outcome(c, CLIENT, "acct-key-2", 10, &st), LF_OK);
	CU_ASSERT_FALSE(st.found);
	lf_stored_clear(&st);
	CU_ASSERT_EQUAL(create_account(c, NULL, &rich_id, "Other", USD, 5, &res, &st), LF_OK);
	CU_ASSERT_EQUAL(res, LF_CREATE_EXISTS);
	lf_stored_clear(&st);
	CU_ASSERT_EQUAL(balance_of(&rich_id), 12345);
}

static void test_get_account_missing(void)
{
	lf_uuid id;
	lf_uuid_v7(&id);
	struct lf_account a;
	CU_ASSERT_EQUAL(lf_store_get_account(conn(), &id, &FX_ADMIN, &a), LF_DECLINED);
	lf_uuid ids[2];
	bool found[2];
	char cur[2][4];
	uint64_t owners[2];
	ids[0] = new_account("EuroCo", "EUR", 0);
	ids[1] = id;
	CU_ASSERT_EQUAL(lf_store_account_currencies(conn(), ids, found, cur, owners), LF_OK);
	CU_ASSERT_TRUE(found[0]);
	CU_ASSERT_STRING_EQUAL(cur[0], "EUR");
	CU_ASSERT_EQUAL(owners[0], CLIENT); /* made by the fixture's client */
	CU_ASSERT_FALSE(found[1]);
}

/* ---- payments ---- */

/* ---- transfer outcomes, one scenario each ---- */

static void test_transfer_completed(void)
{
	struct lf_store_conn *c = conn();
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	lf_uuid a = new_account("A", USD, 1000), b = new_account("B", USD, 0);
	enum lf_transfer_result res;
	struct lf_stored st;
	struct xfer x;

	/* Completed. */
	xfer_init(&x, "pay-1", &a, &b, 600, USD, "rent");
	CU_ASSERT_EQUAL_FATAL(lf_store_transfer(c, &x.r, &res, &st), LF_OK);
	CU_ASSERT_EQUAL(res, LF_TRANSFER_COMPLETED);
	CU_ASSERT_FALSE(st.found);
	lf_stored_clear(&st);
	CU_ASSERT_EQUAL(balance_of(&a), 400);
	CU_ASSERT_EQUAL(balance_of(&b), 600);
	struct lf_payment p;
	CU_ASSERT_EQUAL_FATAL(lf_store_get_payment(c, &x.r.payment_id, &FX_ADMIN, &p), LF_OK);
	CU_ASSERT_EQUAL(p.status, LF_PAYMENT_COMPLETED);
	CU_ASSERT_EQUAL(p.amount, 600);
	CU_ASSERT_STRING_EQUAL(p.currency, USD);
	CU_ASSERT_TRUE(p.has_reference);
	CU_ASSERT_STRING_EQUAL(p.reference, "rent");
	CU_ASSERT(memcmp(p.from.b, a.b, 16) == 0 && memcmp(p.to.b, b.b, 16) == 0);
	CU_ASSERT_EQUAL(p.created_ms, T0);

	/* Replay of the same key: the stored 201, no second movement. */
	struct xfer again;
	xfer_init(&again, "pay-1", &a, &b, 600, USD, "rent");
	CU_ASSERT_EQUAL(lf_store_transfer(c, &again.r, &res, &st), LF_OK);
	CU_ASSERT_EQUAL(res, LF_TRANSFER_REPLAY);
	CU_ASSERT_TRUE(st.found);
	CU_ASSERT_EQUAL(st.status, 201);
	CU_ASSERT_STRING_EQUAL(st.location, x.loc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st.body);
	CU_ASSERT_STRING_EQUAL(st.body, x.body_ok);
	CU_ASSERT(memcmp(st.fingerprint, x.r.fingerprint, LF_FINGERPRINT_LEN) == 0);
	lf_stored_clear(&st);
	CU_ASSERT_EQUAL(balance_of(&a), 400);
	CU_ASSERT_EQUAL(lf_store_get_payment(c, &again.r.payment_id, &FX_ADMIN, &p), LF_DECLINED);
}

/* The sender holds 400 (as after a 600 payment out of 1000). */
static void test_transfer_declined(void)
{
	struct lf_store_conn *c = conn();
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	lf_uuid a = new_account("A", USD, 400), b = new_account("B", USD, 0);
	enum lf_transfer_result res;
	struct lf_stored st;
	struct xfer x;
	struct lf_payment p;
	struct xfer again;

	/* Declined: recorded, replayable, no money moved. */
	xfer_init(&x, "pay-2", &a, &b, 401, USD, NULL);
	CU_ASSERT_EQUAL(lf_store_transfer(c, &x.r, &res, &st), LF_OK);
	CU_ASSERT_EQUAL(res, LF_TRANSFER_DECLINED);
	lf_stored_clear(&st);
	CU_ASSERT_EQUAL(balance_of(&a), 400);
	CU_ASSERT_EQUAL_FATAL(lf_store_get_payment(c, &x.r.payment_id, &FX_ADMIN, &p), LF_OK);
	CU_ASSERT_EQUAL(p.status, LF_PAYMENT_DECLINED);
	CU_ASSERT_FALSE(p.has_reference);
	xfer_init(&again, "pay-2", &a, &b, 401, USD, NULL);
	CU_ASSERT_EQUAL(lf_store_transfer(c, &again.r, &res, &st), LF_OK);
	CU_ASSERT_EQUAL(res, LF_TRANSFER_REPLAY);
	CU_ASSERT_EQUAL(st.status, 422);
	CU_ASSERT_STRING_EQUAL(st.location, "");
	CU_ASSERT_PTR_NOT_NULL_FATAL(st.body);
	CU_ASSERT_STRING_EQUAL(st.body, x.body_no);
	lf_stored_clear(&st);
}

static void test_transfer_account_not_found(void)
{
	struct lf_store_conn *c = conn();
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	lf_uuid a = new_account("A", USD, 400), ghost;
	lf_uuid_v7(&ghost);
	enum lf_transfer_result res;
	struct lf_stored st;
	struct xfer x;
	struct lf_payment p;

	/* Unknown account (either side): nothing written. */
	xfer_init(&x, "pay-3", &a, &ghost, 1, USD, NULL);
	CU_ASSERT_EQUAL(lf_store_transfer(c, &x.r, &res, &st), LF_OK);
	CU_ASSERT_EQUAL(res, LF_TRANSFER_ACCOUNT_NOT_FOUND);
	lf_stored_clear(&st);
	xfer_init(&x, "pay-3", &ghost, &a, 1, USD, NULL);
	CU_ASSERT_EQUAL(lf_store_transfer(c, &x.r, &res, &st), LF_OK);
	CU_ASSERT_EQUAL(res, LF_TRANSFER_ACCOUNT_NOT_FOUND);
	lf_stored_clear(&st);
	CU_ASSERT_EQUAL(lf_store_get_outcome(c, CLIENT, "pay-3", 5, &st), LF_OK);
	CU_ASSERT_FALSE(st.found);
	lf_stored_clear(&st);
	CU_ASSERT_EQUAL(lf_store_get_payment(c, &x.r.payment_id, &FX_ADMIN, &p), LF_DECLINED);
}

static void test_transfer_currency_mismatch(void)
{
	struct lf_store_conn *c = conn();
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	lf_uuid a = new_account("A", USD, 400), b = new_account("B", USD, 0);
	lf_uuid eur = new_account("E", "EUR", 1000);
	enum lf_transfer_result res;
	struct lf_stored st;
	struct xfer x;

	/* Currency mismatch: between accounts, or against the request. */
	xfer_init(&x, "pay-4", &a, &eur, 1, USD, NULL);
	CU_ASSERT_EQUAL(lf_store_transfer(c, &x.r, &res, &st), LF_OK);
	CU_ASSERT_EQUAL(res, LF_TRANSFER_CURRENCY_MISMATCH);
	lf_stored_clear(&st);
	xfer_init(&x, "pay-4", &a, &b, 1, "EUR", NULL);
	CU_ASSERT_EQUAL(lf_store_transfer(c, &x.r, &res, &st), LF_OK);
	CU_ASSERT_EQUAL(res, LF_TRANSFER_CURRENCY_MISMATCH);
	lf_stored_clear(&st);
	xfer_init(&x, "pay-4", &a, &b, 1, "usd", NULL); /* codes compare exactly */
	CU_ASSERT_EQUAL(lf_store_transfer(c, &x.r, &res, &st), LF_OK);
	CU_ASSERT_EQUAL(res, LF_TRANSFER_CURRENCY_MISMATCH);
	lf_stored_clear(&st);
	CU_ASSERT_EQUAL(lf_store_get_outcome(c, CLIENT, "pay-4", 5, &st), LF_OK);
	CU_ASSERT_FALSE(st.found);
	lf_stored_clear(&st);
	CU_ASSERT_EQUAL(balance_of(&a), 400);
	CU_ASSERT_EQUAL(balance_of(&eur), 1000);
}

/* Keys are per client, and a key whose outcome was reaped cannot pay
 * again; the payment made under the key comes first (as in
 * test_transfer_completed: 600 of 1000). */
static void test_transfer_key_per_client_and_reaped(void)
{
	struct lf_store_conn *c = conn();
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	lf_uuid a = new_account("A", USD, 1000), b = new_account("B", USD, 0);
	enum lf_transfer_result res;
	struct lf_stored st;
	struct xfer x;

	xfer_init(&x, "pay-5", &a, &b, 600, USD, "rent");
	CU_ASSERT_EQUAL_FATAL(lf_store_transfer(c, &x.r, &res, &st), LF_OK);
	CU_ASSERT_EQUAL(res, LF_TRANSFER_COMPLETED);
	lf_stored_clear(&st);

	/* Another client may use the same key independently (an admin one:
	 * the accounts are CLIENT's). */
	xfer_init(&x, "pay-5", &a, &b, 100, USD, NULL);
	x.r.client_id = CLIENT + 1;
	x.r.admin = true;
	CU_ASSERT_EQUAL(lf_store_transfer(c, &x.r, &res, &st), LF_OK);
	CU_ASSERT_EQUAL(res, LF_TRANSFER_COMPLETED);
	lf_stored_clear(&st);
	CU_ASSERT_EQUAL(balance_of(&a), 300);

	/* A key whose stored outcome was reaped still cannot pay twice: the
	 * procedure names the payment already made under it. */
	CU_ASSERT_TRUE(raw_exec(dbname, "DELETE FROM idempotency_keys WHERE idem_key = 'pay-5'"));
	xfer_init(&x, "pay-5", &a, &b, 1, USD, NULL);
	CU_ASSERT_EQUAL(lf_store_transfer(c, &x.r, &res, &st), LF_OK);
	CU_ASSERT_EQUAL(res, LF_TRANSFER_PAYMENT_EXISTS);
	CU_ASSERT_EQUAL(st.body_len, 16);
	if (st.body_len == 16) {
		struct lf_payment old;
		lf_uuid old_id;
		memcpy(old_id.b, st.body, 16);
		CU_ASSERT_EQUAL(lf_store_get_payment(c, &old_id, &FX_ADMIN, &old), LF_OK);
		CU_ASSERT_EQUAL(old.status, LF_PAYMENT_COMPLETED);
		CU_ASSERT_EQUAL(memcmp(old.from.b, a.b, 16), 0);
		CU_ASSERT_NOT_EQUAL(old.amount, 1); /* not the retry's amount */
	}
	lf_stored_clear(&st);
	CU_ASSERT_EQUAL(balance_of(&a), 300);
	CU_ASSERT_EQUAL(lf_store_get_outcome(c, CLIENT, "pay-5", 5, &st), LF_OK);
	CU_ASSERT_FALSE(st.found);
	lf_stored_clear(&st);
	CU_ASSERT_EQUAL(reconcile_quiet(), 0);
}

static void test_record_and_get_outcome(void)
{
	struct lf_store_conn *c = conn();
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	uint8_t fp[LF_FINGERPRINT_LEN], fp2[LF_FINGERPRINT_LEN];
	fp_of("rec-1", fp);
	fp_of("something else", fp2);
	const char *body = "{\"code\":\"account_not_found\"}";
	bool replay = true;
	struct lf_stored st;
	CU_ASSERT_EQUAL(lf_store_record_outcome(c, CLIENT, "rec-1", 5, fp, 422, NULL, body,
						strlen(body), T0, T0 + 5000, &replay, &st),
			LF_OK);
	CU_ASSERT_FALSE(replay);
	CU_ASSERT_FALSE(st.found);
	lf_stored_clear(&st);
	/* A second decision for the same key loses: the first is replayed. */
	CU_ASSERT_EQUAL(lf_store_record_outcome(c, CLIENT, "rec-1", 5, fp2, 201, "/x", "{}", 2, T0,
						T0 + 9000, &replay, &st),
			LF_OK);
	CU_ASSERT_TRUE(replay);
	CU_ASSERT_TRUE(st.found);
	CU_ASSERT_EQUAL(st.status, 422);
	CU_ASSERT_STRING_EQUAL(st.location, "");
	CU_ASSERT_PTR_NOT_NULL_FATAL(st.body);
	CU_ASSERT_STRING_EQUAL(st.body, body);
	CU_ASSERT(memcmp(st.fingerprint, fp, sizeof fp) == 0);
	CU_ASSERT_EQUAL(st.expires_ms, T0 + 5000);
	lf_stored_clear(&st);

	CU_ASSERT_EQUAL(lf_store_get_outcome(c, CLIENT, "rec-1", 5, &st), LF_OK);
	CU_ASSERT_TRUE(st.found);
	CU_ASSERT_EQUAL(st.status, 422);
	CU_ASSERT_EQUAL(st.body_len, strlen(body));
	lf_stored_clear(&st);
	CU_ASSERT_EQUAL(lf_store_get_outcome(c, CLIENT + 1, "rec-1", 5, &st), LF_OK);
	CU_ASSERT_FALSE(st.found);
	lf_stored_clear(&st);

	/* A large body (above any fixed buffer) survives intact. */
	size_t big_len = 300000;
	char *big = malloc(big_len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (char)('a' + i % 26);
	CU_ASSERT_EQUAL(lf_store_record_outcome(c, CLIENT, "rec-big", 7, fp, 422, NULL, big,
						big_len, T0, T0 + 5000, &replay, &st),
			LF_OK);
	lf_stored_clear(&st);
	CU_ASSERT_EQUAL(lf_store_get_outcome(c, CLIENT, "rec-big", 7, &st), LF_OK);
	CU_ASSERT_EQUAL(st.body_len, big_len);
	CU_ASSERT(st.body && memcmp(st.body, big, big_len) == 0);
	lf_stored_clear(&st);
	free(big);
}

/* ---- ledger ---- */

static void test_ledger_pagination(void)
{
	struct lf_store_conn *c = conn();
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	lf_uuid a = new_account("Pager", USD, 1000), b = new_account("Sink", USD, 0);
	enum lf_transfer_result res;
	struct lf_stored st;
	struct xfer x;
	/* 6 movements: out 100, in 30, out 100, ... -> 7 entries with the opening one. */
	for (int i = 0; i < 6; i++) {
		char key[32];
		snprintf(key, sizeof key, "page-%d", i);
		if (i % 2 == 0)
			xfer_init(&x, key, &a, &b, 100, USD, NULL);
		else
			xfer_init(&x, key, &b, &a, 30, USD, NULL);
		x.r.created_ms = T0 + i;
		CU_ASSERT_EQUAL(lf_store_transfer(c, &x.r, &res, &st), LF_OK);
		CU_ASSERT_EQUAL(res, LF_TRANSFER_COMPLETED);
		lf_stored_clear(&st);
	}
	CU_ASSERT_EQUAL(balance_of(&a), 1000 - 300 + 90);

	struct lf_ledger_entry all[8], page[3];
	unsigned total = 0, n;
	bool more = true;
	char cur[4];
	int64_t before = INT64_MAX;
	for (int pages = 0; pages < 5 && more; pages++) {
		CU_ASSERT_EQUAL_FATAL(
			lf_store_list_ledger(c, &a, &FX_ADMIN, before, 3, page, &n, &more, cur),
			LF_OK);
		CU_ASSERT_STRING_EQUAL(cur, USD);
		CU_ASSERT_TRUE(n == 3 || !more);
		for (unsigned i = 0; i < n && total < 8; i++)
			all[total++] = page[i];
		if (n > 0)
			before = page[n - 1].seq;
	}
	CU_ASSERT_FALSE(more);
	CU_ASSERT_EQUAL_FATAL(total, 7);
	/* Newest first, seq 7..1, and each balance_after follows from the one below. */
	for (unsigned i = 0; i < total; i++) {
		CU_ASSERT_EQUAL(all[i].seq, 7 - (int64_t)i);
		CU_ASSERT(memcmp(all[i].account_id.b, a.b, 16) == 0);
		CU_ASSERT_TRUE(all[i].amount > 0);
		int64_t below = i + 1 < total ? all[i + 1].balance_after : 0;
		int64_t delta = all[i].debit ? -all[i].amount : all[i].amount;
		CU_ASSERT_EQUAL(all[i].balance_after, below + delta);
		CU_ASSERT_EQUAL(all[i].has_payment, i + 1 < total);
	}
	CU_ASSERT_EQUAL(all[0].balance_after, balance_of(&a));
	CU_ASSERT_EQUAL(all[0].created_ms, T0 + 5);

	/* A page exactly as long as what remains: no more. */
	CU_ASSERT_EQUAL(lf_store_list_ledger(c, &a, &FX_ADMIN, 4, 3, page, &n, &more, cur), LF_OK);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_FALSE(more);
	CU_ASSERT_EQUAL(page[2].seq, 1);
	/* Nothing older than seq 1. */
	CU_ASSERT_EQUAL(lf_store_list_ledger(c, &a, &FX_ADMIN, 1, 3, page, &n, &more, cur), LF_OK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_FALSE(more);
	CU_ASSERT_STRING_EQUAL(cur, USD);
	/* An account without entries, and no account at all. */
	lf_uuid empty = new_account("Empty", "JPY", 0), ghost;
	CU_ASSERT_EQUAL(
		lf_store_list_ledger(c, &empty, &FX_ADMIN, INT64_MAX, 3, page, &n, &more, cur),
		LF_OK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_FALSE(more);
	CU_ASSERT_STRING_EQUAL(cur, "JPY");
	lf_uuid_v7(&ghost);
	CU_ASSERT_EQUAL(
		lf_store_list_ledger(c, &ghost, &FX_ADMIN, INT64_MAX, 3, page, &n, &more, cur),
		LF_DECLINED);
}

/* ---- retention ---- */

static void test_reap_keys(void)
{
	struct lf_store_conn *c = conn();
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	int64_t now = now_ms();
	uint8_t fp[LF_FINGERPRINT_LEN];
	fp_of("reap", fp);
	bool replay;
	struct lf_stored st;
	for (int i = 0; i < 3; i++) {
		char key[16];
		snprintf(key, sizeof key, "old-%d", i);
		CU_ASSERT_EQUAL(lf_store_record_outcome(c, CLIENT, key, strlen(key), fp, 422, NULL,
							"{}", 2, now - 90000, now - 1000 + i,
							&replay, &st),
				LF_OK);
		lf_stored_clear(&st);
	}
	CU_ASSERT_EQUAL(lf_store_record_outcome(c, CLIENT, "young", 5, fp, 422, NULL, "{}", 2, now,
						now + 60000, &replay, &st),
			LF_OK);
	lf_stored_clear(&st);
	long long before = raw_int("SELECT COUNT(*) FROM idempotency_keys");
	unsigned long deleted = 0;
	CU_ASSERT_EQUAL(lf_store_reap_keys(c, now, 2, &deleted), LF_OK);
	CU_ASSERT_EQUAL(deleted, 2);
	CU_ASSERT_EQUAL(lf_store_reap_keys(c, now, 100, &deleted), LF_OK);
	CU_ASSERT_TRUE(deleted >= 1);
	CU_ASSERT_EQUAL(lf_store_reap_keys(c, now, 100, &deleted), LF_OK);
	CU_ASSERT_EQUAL(deleted, 0);
	CU_ASSERT_TRUE(raw_int("SELECT COUNT(*) FROM idempotency_keys") <= before - 3);
	CU_ASSERT_EQUAL(lf_store_get_outcome(c, CLIENT, "old-2", 5, &st), LF_OK);
	CU_ASSERT_FALSE(st.found);
	lf_stored_clear(&st);
	CU_ASSERT_EQUAL(lf_store_get_outcome(c, CLIENT, "young", 5, &st), LF_OK);
	CU_ASSERT_TRUE(st.found);
	lf_stored_clear(&st);
}

/* ---- reconcile ---- */

static void test_reconcile_detects_corruption(void)
{
	CU_ASSERT_EQUAL(reconcile_quiet(), 0);
	CU_ASSERT_TRUE(raw_exec(dbname, "UPDATE accounts SET balance = balance + 1 WHERE id ="
					" UNHEX('11111111111111111111111111111111')"));
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
	static const struct lf_reconcile_opts full = {.full = true};
	CU_ASSERT_EQUAL(lf_admin_reconcile(&P, &full, mem), 1);
	fclose(mem);
	CU_ASSERT_PTR_NOT_NULL(
		strstr(buf, "FAIL account 11111111-1111-1111-1111-111111111111 seq "));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "but its entries sum to"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "FAIL currency USD: the balances sum to 1, not 0"));
	free(buf);
	CU_ASSERT_TRUE(raw_exec(dbname, "UPDATE accounts SET balance = balance - 1 WHERE id ="
					" UNHEX('11111111111111111111111111111111')"));
	CU_ASSERT_EQUAL(reconcile_quiet(), 0);
	/* Unreachable database: 2. */
	struct lf_db_params bad = P;
	bad.port = 1;
	bad.connect_timeout_s = 2;
	CU_ASSERT_EQUAL(lf_admin_reconcile(&bad, &full, quiet), 2);
}

/* ---- connection ---- */

static void test_connection_errors(void)
{
	/* A refused login names neither the password nor connects. */
	struct lf_db_params bad = P;
	bad.password = "not-the-password-xyzzy";
	char err[512];
	CU_ASSERT_PTR_NULL(lf_store_connect(&bad, err, sizeof err));
	CU_ASSERT_PTR_NULL(strstr(err, "xyzzy"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "1045"));

	/* A connection killed under us: CONN_LOST, and ping says so. */
	struct lf_store_conn *c = lf_store_connect(&RT, err, sizeof err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	lf_uuid alice;
	lf_uuid_parse("11111111-1111-1111-1111-111111111111", 36, &alice);
	struct lf_account a;
	CU_ASSERT_EQUAL(lf_store_get_account(c, &alice, &FX_ADMIN, &a), LF_OK);
	CU_ASSERT_TRUE(lf_store_ping(c));
	conn_reset();
	MYSQL *m = raw_connect(dbname);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	char q[256];
	snprintf(q, sizeof q,
		 "SELECT id FROM information_schema.processlist"
		 " WHERE db = '%s' AND id <> CONNECTION_ID()",
		 dbname);
	int killed = 0;
	if (mysql_query(m, q) == 0) {
		MYSQL_RES *r = mysql_store_result(m);
		MYSQL_ROW row;
		char kq[64];
		while (r && (row = mysql_fetch_row(r)) != NULL && killed < 16) {
			snprintf(kq, sizeof kq, "KILL CONNECTION %s", row[0]);
			if (mysql_query(m, kq) == 0)
				killed++;
		}
		if (r)
			mysql_free_result(r);
	}
	mysql_close(m);
	CU_ASSERT_TRUE(killed >= 1);
	CU_ASSERT_EQUAL(lf_store_get_account(c, &alice, &FX_ADMIN, &a), LF_LOST);
	CU_ASSERT_FALSE(lf_store_ping(c));
	CU_ASSERT_EQUAL(lf_store_get_account(c, &alice, &FX_ADMIN, &a), LF_LOST);
	lf_store_close(c);
	/* A new connection works. */
	CU_ASSERT_EQUAL(lf_store_get_account(conn(), &alice, &FX_ADMIN, &a), LF_OK);
}

/* A transaction left open by a job (its row lock held) is rolled back by
 * lf_store_end_job, which the pool calls after every job, and only then;
 * a session that lost a file of its own is not kept. */
static void test_end_job_rolls_back(void)
{
	char err[512];
	struct lf_store_conn *c = lf_store_connect(&P, err, sizeof err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_TRUE(lf_store_end_job(c)); /* nothing open: kept */
	const char *lock = "SELECT balance FROM accounts"
			   " WHERE id = UNHEX('11111111111111111111111111111111') FOR UPDATE";
	CU_ASSERT_EQUAL_FATAL(mysql_query(c->m, "START TRANSACTION"), 0);
	CU_ASSERT_EQUAL_FATAL(mysql_query(c->m, lock), 0);
	mysql_free_result(mysql_store_result(c->m));
	MYSQL *m = raw_connect(dbname);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	char nowait[200];
	snprintf(nowait, sizeof nowait, "%s NOWAIT", lock);
	CU_ASSERT_NOT_EQUAL(mysql_query(m, nowait), 0); /* held by the open transaction */
	CU_ASSERT_TRUE(lf_store_end_job(c));            /* rolled back, kept */
	CU_ASSERT_EQUAL(mysql_query(m, nowait), 0);     /* released */
	mysql_free_result(mysql_store_result(m));
	mysql_close(m);
	CU_ASSERT_TRUE(lf_store_end_job(c));
	lf_uuid alice;
	lf_uuid_parse("11111111-1111-1111-1111-111111111111", 36, &alice);
	struct lf_account a;
	CU_ASSERT_EQUAL(lf_store_get_account(c, &alice, &FX_ADMIN, &a), LF_OK);
	/* a temporary table's file gone under the server (error 1017): the
	 * same session would fail every statement alike; not kept */
	CU_ASSERT_EQUAL(lf_store_fail(c, 1017, "Can't find file: '#sql-temptable'"), LF_ERROR);
	CU_ASSERT_FALSE(lf_store_end_job(c));
	lf_store_close(c);
}

int main(void)
{
	static const struct lf_test tests[] = {
		{"migrate twice", test_migrate_twice},
		{"seed twice", test_seed_twice},
		{"create account", test_create_account},
		{"missing account, currencies", test_get_account_missing},
		{"transfer completed, replayed", test_transfer_completed},
		{"transfer declined, replayed", test_transfer_declined},
		{"transfer to or from an unknown account", test_transfer_account_not_found},
		{"transfer currency mismatch", test_transfer_currency_mismatch},
		{"transfer keys per client; a reaped key", test_transfer_key_per_client_and_reaped},
		{"record and get outcome", test_record_and_get_outcome},
		{"ledger pagination", test_ledger_pagination},
		{"reap keys", test_reap_keys},
		{"reconcile detects corruption", test_reconcile_detects_corruption},
		{"connection errors", test_connection_errors},
		{"a transaction left open by a job is rolled back", test_end_job_rolls_back},
	};
	static const struct lf_suite suites[] = {{"store", LF_TESTS(tests)}};
	static const struct fx_opts opts = {.name = "store", .migrate = true};
	return fx_main(suites, LF_COUNT(suites), &opts);
}
