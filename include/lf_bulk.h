/*
 * lf_bulk.h - bulk payments (POST /api/payments/batch): what the store
 * does for a batch (src/store/bulk.c): the currencies and owners of many
 * accounts in one query, an atomic batch in one CALL lf_bulk_atomic
 * (sql/procedures_bulk.sql), and the look-up that tells whether items of
 * a batch key were already decided, and with which request. The handler
 * is src/api/bulk.c (the loop) and src/api/bulk_decide.c (the pool).
 *
 * The items of a batch are kept under internal keys derived from the
 * batch key (lf_bulk_item_key): "batch <SHA-256 of the key, hex> <index>".
 * A client cannot send such a key (a space is not in %x21-7E), so an
 * item's key never meets a key of its own.
 */
#ifndef LF_BULK_H
#define LF_BULK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf_core.h"
#include "lf_idempotency.h"
#include "lf_uuid.h"

struct lf_store_conn;
struct lf_stored;

#define LF_BULK_MAX_ITEMS 1000
/* "batch " + 64 hex + " " : the prefix every item key of a batch shares */
#define LF_BULK_PREFIX_LEN (6 + 64 + 1)
#define LF_BULK_ITEM_KEY_MAX (LF_BULK_PREFIX_LEN + 4)

/* The prefix of the item keys of batch key key[0..len) (not
 * NUL-terminated: exactly LF_BULK_PREFIX_LEN bytes into out). */
void lf_bulk_key_prefix(const char *key, size_t len, char out[LF_BULK_PREFIX_LEN]);
/* Item index's key from the prefix; NUL-terminated, returns its length. */
size_t lf_bulk_item_key(const char prefix[LF_BULK_PREFIX_LEN], int index,
			char out[LF_BULK_ITEM_KEY_MAX + 1]);

/* The currency and owner of each of ids[0..n) (n <= 2 * LF_BULK_MAX_ITEMS;
 * repeats allowed) in one query: found[i] false when no such account. */
lf_rc lf_store_bulk_accounts(struct lf_store_conn *c, const lf_uuid *ids, int n, bool *found,
			     char (*currency)[4], uint64_t *owner);

/* Is any item of the batch whose prefix is given decided already (an
 * outcome stored under one of its keys)? *found, and that outcome's
 * fingerprint (the batch's request) into fp. */
lf_rc lf_store_bulk_prior(struct lf_store_conn *c, uint64_t client_id,
			  const char prefix[LF_BULK_PREFIX_LEN], bool *found,
			  uint8_t fp[LF_FINGERPRINT_LEN]);

/* One payment of an atomic batch as lf_bulk_atomic takes it. */
struct lf_bulk_atomic_item {
	char key[LF_BULK_ITEM_KEY_MAX + 1]; /* its derived key */
	size_t key_len;
	lf_uuid payment_id, debit_entry_id, credit_entry_id, event_id;
	lf_uuid from, to;
	bool sender_known;     /* false: account_not_found when reached (amount unknown) */
	int64_t amount;        /* minor units of the sender's currency */
	char currency[4];      /* the request's, else the sender's */
	const char *reference; /* NULL: none */
	const char *metadata;  /* canonical JSON text; NULL: none */
	const char *body;      /* the payment rendered COMPLETED */
	size_t body_len;
	/* the risk rules it is held to ([risk], lf_risk.h): a rule that
	 * stopped it before the transaction (max_amount, webhook; NULL:
	 * none), and the limits lf_bulk_atomic applies under the locks (0:
	 * off) */
	const char *risk_rule;
	int64_t velocity_count, velocity_sum, velocity_window_ms, daily_limit;
};

struct lf_bulk_atomic_req {
	uint64_t client_id;
	bool admin;
	const char *idem_key;
	size_t idem_key_len;
	uint8_t fingerprint[LF_FINGERPRINT_LEN];
	int64_t created_ms, expires_ms;
	const char *body; /* the 201 body of the whole batch */
	size_t body_len;
	const struct lf_bulk_atomic_item *items;
	int n;
};

enum lf_bulk_atomic_result {
	LF_BULK_ATOMIC_COMPLETED, /* every item moved; the 201 is stored */
	LF_BULK_ATOMIC_FAILED,    /* nothing written; *index and code say why */
	LF_BULK_ATOMIC_REPLAY,    /* the key's stored outcome is in *stored */
};

/* One CALL lf_bulk_atomic. On FAILED, *index is the first item that could
 * not be made and code its problem code; for risk_declined, rule the rule
 * that stopped it ("velocity_count", ...; "" when not told). Return codes as
 * lf_store_transfer's: LF_AGAIN rolled back (retry), LF_LOST / LF_ERROR
 * the outcome unknown (the key decides). */
lf_rc lf_store_bulk_atomic(struct lf_store_conn *c, const struct lf_bulk_atomic_req *r,
			   enum lf_bulk_atomic_result *result, int *index, char code[32],
			   char rule[32], struct lf_stored *stored);

#endif
