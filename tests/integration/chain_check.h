/*
 * chain_check.h - what test_upgrade and test_books share: every ledger
 * chain of a database recomputed in C (lf_ledger_hash) from the rows and
 * compared with the hashes and chain heads the database stored.
 */
#ifndef LF_TEST_CHAIN_CHECK_H
#define LF_TEST_CHAIN_CHECK_H

#include <mysql.h>

/* Streams ledger_entries by (account_id, seq): *checked receives the
 * number of entries; returns the number of entries whose stored hash is
 * not the recomputed one (or whose seq is not the previous one + 1), plus
 * the accounts whose chain_head is not their newest entry's hash; -1 when
 * a query fails (printed). */
long chain_check(MYSQL *m, long *checked);

#endif
