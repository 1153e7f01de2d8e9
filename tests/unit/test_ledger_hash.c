/*
 * test_ledger_hash.c - unit tests for src/core/ledger_hash.c: the
 * canonical encoding v1 of a ledger entry, and hashes equal to the ones
 * MariaDB's lf_entry_hash (sql/procedures.sql) returned for the same
 * entries (vectors taken from the database), with and without a previous
 * hash and a payment, a negative balance and a leap day.
 */
#include "config.h"

#include "lf_ledger_hash.h"

#include <CUnit/Basic.h>
#include <string.h>

#include "../lf_cunit.h"

static lf_uuid uuid(const char *text)
{
	lf_uuid u;
	CU_ASSERT_TRUE_FATAL(lf_uuid_parse(text, strlen(text), &u));
	return u;
}

/* An opening CREDIT: seq 1, no payment, the USD issuance account. */
static struct lf_ledger_hash_in opening(void)
{
	return (struct lf_ledger_hash_in){
		.account_id = uuid("018f3e1a-2b3c-7d4e-8f90-a1b2c3d4e5f6"),
		.seq = 1,
		.id = uuid("018f3e1a-2b3c-7d4e-8f90-a1b2c3d4e5f7"),
		.counterparty_id = uuid("00000000-0000-8000-8000-000000555344"),
		.amount = 100000,
		.balance_after = 100000,
		.created_ms = 1709251199007, /* 2024-02-29 23:59:59.007 */
	};
}

static void test_canonical(void)
{
	struct lf_ledger_hash_in e = opening();
	char buf[LF_LEDGER_CANON_MAX];
	size_t n = lf_ledger_hash_canonical(&e, buf);
	const char *want =
		"lf1|018f3e1a2b3c7d4e8f90a1b2c3d4e5f6|1|018f3e1a2b3c7d4e8f90a1b2c3d4e5f7|"
		"-|00000000000080008000000000555344|CREDIT|100000|100000|"
		"2024-02-29 23:59:59.007000";
	CU_ASSERT_STRING_EQUAL(buf, want);
	CU_ASSERT_EQUAL(n, strlen(want));
	/* the longest entry still fits */
	e.seq = INT64_MAX;
	e.amount = INT64_MAX;
	e.balance_after = INT64_MIN;
	e.has_payment = true;
	e.debit = true;
	n = lf_ledger_hash_canonical(&e, buf);
	CU_ASSERT_TRUE(n < LF_LEDGER_CANON_MAX - 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "|DEBIT|9223372036854775807|-9223372036854775808|"));
}

static void test_vectors(void)
{
	struct lf_ledger_hash_in e = opening();
	uint8_t h[LF_LEDGER_HASH_LEN];
	char hex[2 * LF_LEDGER_HASH_LEN + 1];
	CU_ASSERT_TRUE_FATAL(lf_ledger_hash(NULL, &e, h));
	lf_ledger_hash_hex(h, hex);
	CU_ASSERT_STRING_EQUAL(hex,
			       "cb6bdc37b131b7153ec181f143c11cdfd6bc1566c7e91b39309117ed46eb1b5b");

	/* prev = SHA-256("x"), a payment DEBIT to a negative balance */
	static const uint8_t prev[LF_LEDGER_HASH_LEN] = {
		0x2d, 0x71, 0x16, 0x42, 0xb7, 0x26, 0xb0, 0x44, 0x01, 0x62, 0x7c,
		0xa9, 0xfb, 0xac, 0x32, 0xf5, 0xc8, 0x53, 0x0f, 0xb1, 0x90, 0x3c,
		0xc4, 0xdb, 0x02, 0x25, 0x87, 0x17, 0x92, 0x1a, 0x48, 0x81};
	e.seq = 2;
	e.id = uuid("018f3e1a-2b3c-7d4e-8f90-a1b2c3d4e5f8");
	e.has_payment = true;
	e.payment_id = uuid("018F3E1A-2B3C-7D4E-8F90-A1B2C3D4E5F9");
	e.counterparty_id = uuid("22222222-2222-2222-2222-222222222222");
	e.debit = true;
	e.amount = 250;
	e.balance_after = -INT64_MAX;
	e.created_ms = 946598400000; /* 1999-12-31 00:00:00.000 */
	CU_ASSERT_TRUE_FATAL(lf_ledger_hash(prev, &e, h));
	lf_ledger_hash_hex(h, hex);
	CU_ASSERT_STRING_EQUAL(hex,
			       "b03032c8e48f4024cd2db992d495770e809afdbb5e95f4bb4f108c8933d6903e");
	/* any field changes the hash */
	uint8_t h2[LF_LEDGER_HASH_LEN];
	e.amount = 251;
	CU_ASSERT_TRUE(lf_ledger_hash(prev, &e, h2));
	CU_ASSERT_NOT_EQUAL(memcmp(h, h2, sizeof h), 0);
}

int main(void)
{
	static const struct lf_test tests[] = {
		{"canonical encoding v1", test_canonical},
		{"hashes equal the database's", test_vectors},
	};
	static const struct lf_suite suites[] = {{"ledger_hash", LF_TESTS(tests)}};
	return lf_cunit_main(suites, LF_COUNT(suites));
}
