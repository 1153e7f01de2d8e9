/*
 * api/bulk_int.h - a batch of payments (POST /api/payments/batch), shared
 * by its two halves: bulk.c (the event loop: parsing, the 400s, the
 * states, the tiers, the reply) and bulk_decide.c (the pool thread: the
 * accounts' currencies, an atomic batch in one CALL, an independent batch
 * item by item through the single payment's decision, settling an
 * unknown outcome through the batch key).
 *
 * The states, like a payment's (payments_int.h), every change through
 * lf_bulk_enter():
 *
 *   PARSE  -> LOOKUP | FINISH           (400s; learn the currencies)
 *   LOOKUP -> CLAIM | FINISH            (pool: currencies and owners; 400 amount)
 *   CLAIM  -> DECIDE | FINISH           (tiers 1 and 2: miss, or hit / 409)
 *   DECIDE -> SETTLE | FINISH           (pool: the batch; outcome unknown)
 *   SETTLE -> SETTLE | DECIDE | FINISH  (pool: ask the key; none: decide again)
 *   FINISH                              (loop: fill or release the tiers, reply)
 */
#ifndef LF_API_BULK_INT_H
#define LF_API_BULK_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "lf_api.h"
#include "lf_body.h"
#include "lf_bulk.h"
#include "lf_decision.h"
#include "lf_idempotency.h"
#include "lf_uuid.h"
#include "payments_int.h"

enum lf_bulk_state { BULK_PARSE, BULK_LOOKUP, BULK_CLAIM, BULK_DECIDE, BULK_SETTLE, BULK_FINISH };

/* One payment of the batch, as validated. */
struct lf_bulk_item {
	lf_uuid from, to;
	char amount[LF_AMOUNT_TEXT_MAX + 1];
	size_t amount_len;
	int64_t minor; /* in the sender's minor units, once known */
	bool has_currency;
	char currency[4];
	char *reference; /* malloc'd; NULL: none */
	char *metadata;  /* canonical text, malloc'd; NULL: none */
	/* [0] sender, [1] receiver; found[0] false also for a sender this
	 * client may not debit */
	bool found[2];
	char cur[2][4];
	uint64_t owner[2];
	/* an independent batch: the item's decided answer (201 or 422) */
	int status;
	struct lf_body body;
};

struct lf_bulk {
	struct lf_req *r;
	enum lf_bulk_state state;
	struct lf_idem idem;
	struct lf_api_key key;
	uint8_t fp[LF_FINGERPRINT_LEN];
	char prefix[LF_BULK_PREFIX_LEN]; /* of the items' derived keys */
	bool atomic;
	int n;
	struct lf_bulk_item *items;
	uint64_t client_id;
	bool admin;
	const struct lf_config *cfg; /* [risk]: read on the pool thread too */
	int max_retries;
	int64_t retention_ms;
	/* progress and result */
	bool checked;       /* independent: the batch key and its items looked up */
	int next;           /* independent: items decided so far */
	struct lf_pay *pay; /* independent: the item being decided (kept across a rerun) */
	bool wrote;         /* a write was sent: a lost connection leaves it unknown */
	int settles;        /* settle jobs the loop sent after an unknown outcome */
	bool after_error;   /* unknown after an error reply, not a lost connection */
	unsigned retries;   /* deadlock / lock-wait retries, for the metric */
	unsigned completed; /* payments made afresh by this request (metric) */
	unsigned declined;  /* declines recorded afresh by this request (metric) */
	unsigned risk_declined[LF_RISK_NRULES]; /* of them (or the failed item) by rule */
	unsigned risk_webhook_failures;         /* risk webhook calls without an answer */
	bool risk_webhook_down; /* one went unanswered: the policy decides the rest */
	struct lf_decision d;
};

void lf_bulk_enter(struct lf_bulk *b, enum lf_bulk_state next);
/* The answer is another request's (a replay): count nothing afresh. */
void lf_bulk_metrics_forget(struct lf_bulk *b);
/* A write may have committed: the batch key decides (SETTLE). */
void lf_bulk_unknown(struct lf_bulk *b);
/* The pool job of LOOKUP, DECIDE and SETTLE (an lf_db_work_fn). */
bool lf_bulk_work(struct lf_store_conn *c, void *arg);

#endif
