/*
 * lf_ledger_hash.h - the hash chain of an account's ledger entries,
 * canonical encoding version 1 (doc/database.md): the same bytes as the
 * database's lf_entry_hash (sql/procedures.sql), so that a check outside
 * the database (reconcile, the tests) can recompute every chain.
 */
#ifndef LF_LEDGER_HASH_H
#define LF_LEDGER_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf_uuid.h"

#define LF_LEDGER_HASH_LEN 32
/* The canonical text of one entry is at most this long (with NUL). */
#define LF_LEDGER_CANON_MAX 256

struct lf_ledger_hash_in {
	lf_uuid account_id;
	int64_t seq; /* 1 = the account's first entry */
	lf_uuid id;
	bool has_payment; /* false: payment_id NULL ("-") */
	lf_uuid payment_id;
	lf_uuid counterparty_id;
	bool debit; /* DEBIT, else CREDIT */
	int64_t amount;
	int64_t balance_after;
	int64_t created_ms; /* Unix ms, UTC (DATETIME(3)) */
};

/* The canonical encoding v1 of an entry into buf (NUL-terminated);
 * returns its length. */
size_t lf_ledger_hash_canonical(const struct lf_ledger_hash_in *e, char buf[LF_LEDGER_CANON_MAX]);
/* out = SHA-256(prev || canonical(e)); prev is the hash of the account's
 * entry seq-1, NULL for seq 1 (32 zero bytes). False when OpenSSL fails. */
bool lf_ledger_hash(const uint8_t prev[LF_LEDGER_HASH_LEN], const struct lf_ledger_hash_in *e,
		    uint8_t out[LF_LEDGER_HASH_LEN]);
/* 64 lowercase hex characters and a NUL. */
void lf_ledger_hash_hex(const uint8_t h[LF_LEDGER_HASH_LEN], char out[2 * LF_LEDGER_HASH_LEN + 1]);

#endif
