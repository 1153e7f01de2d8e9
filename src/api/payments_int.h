/*
 * api/payments_int.h - a payment request's state, shared by its two
 * halves: payments.c (the event loop: parsing, the states, the tiers, the
 * reply) and payment_decide.c (the pool thread: the currencies, the
 * 422s, the transfer, settling an unknown outcome through the key).
 *
 * A payment is a small state machine; every change of state goes through
 * lf_pay_enter(), which asserts that the transition is allowed:
 *
 *   PARSE  -> LOOKUP | CLAIM | FINISH   (400s or a byte-identical replay;
 *                                        currencies unknown; all known)
 *   LOOKUP -> CLAIM | FINISH            (loop reader or pool: the currencies; 400 amount)
 *   CLAIM  -> DECIDE | FINISH           (tiers 1 and 2: miss, or hit / 409)
 *   DECIDE -> SETTLE | FINISH           (pool: 422s, the transfer; outcome unknown)
 *   SETTLE -> SETTLE | DECIDE | FINISH  (pool: ask the key; no outcome: decide again)
 *   FINISH                              (loop: fill or release the tiers, reply)
 *
 * The pool thread only moves between DECIDE and SETTLE; FINISH is
 * entered on the loop. While a job is out, only the pool thread touches
 * the state; the job's hand-off through the pool's queues orders it.
 */
#ifndef LF_API_PAYMENTS_INT_H
#define LF_API_PAYMENTS_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "lf_api.h"
#include "lf_decision.h"
#include "lf_idempotency.h"
#include "lf_risk.h"
#include "lf_uuid.h"

struct lf_metrics;

#define LF_AMOUNT_TEXT_MAX 64

enum lf_pay_state { PAY_PARSE, PAY_LOOKUP, PAY_CLAIM, PAY_DECIDE, PAY_SETTLE, PAY_FINISH };

struct lf_pay {
	struct lf_req *r;
	enum lf_pay_state state;
	struct lf_idem idem;
	/* the validated request */
	struct lf_api_key key;
	uint8_t fp[LF_FINGERPRINT_LEN];
	lf_uuid from, to;
	char amount[LF_AMOUNT_TEXT_MAX + 1];
	size_t amount_len;
	int64_t minor; /* the amount in the sender's minor units, once known */
	bool has_currency;
	char currency[4];
	bool has_reference;
	char reference[201 * 4];
	bool hold;               /* "capture": false */
	bool has_hold_timeout;   /* "holdTimeout" given */
	int64_t hold_timeout_ms; /* the request's, else [payments] hold_timeout */
	char *metadata;          /* canonical text (malloc'd); NULL: none */
	uint64_t client_id;      /* who pays (r->client) */
	bool admin;              /* may debit any account */
	int max_retries;
	int64_t retention_ms;
	/* accounts' currencies and owners: [0] sender, [1] receiver; found[0]
	 * is false also for a sender this client may not debit (the
	 * transaction checks that again under the lock) */
	bool cur_known;
	bool found[2];
	char cur[2][4];
	uint64_t owner[2];
	/* progress and result */
	int settles;      /* settle jobs the loop sent after an unknown outcome */
	bool after_error; /* unknown after an error reply, not a lost connection */
	unsigned retries; /* deadlock / lock-wait retries, for the metric */
	bool declined;    /* the decision is a fresh, recorded decline (metric) */
	bool batch_done;  /* its part of the current DECIDE batch job is done */
	/* the risk rules (lf_risk.h): the thresholds of the sender's
	 * currency, set once the currencies are known; cfg is the worker's,
	 * unchanged while it lives (the webhook's URL and policy) */
	const struct lf_config *cfg;
	struct lf_metrics *metrics; /* the shared counters, for the group commit's; may be NULL */
	struct lf_risk_limits risk;
	int risk_rule;            /* decided before the call (enum lf_risk_rule) */
	int risk_declined;        /* the rule of a fresh risk decline (metric) */
	bool risk_webhook_failed; /* the webhook gave no answer (metric) */
	bool risk_webhook_down;   /* a batch's earlier item got none: the policy
				   * decides without asking */
	struct lf_decision d;
};

/* The longest hold a request may ask for (holdTimeout), in seconds. */
#define LF_HOLD_TIMEOUT_MAX_S (30 * 24 * 3600)
/* "holdTimeout": "<seconds>s" (1..LF_HOLD_TIMEOUT_MAX_S) into ms. */
bool lf_pay_hold_timeout(const char *s, size_t n, int64_t *ms);

/* The one way to change state (asserts the transition is allowed). */
void lf_pay_enter(struct lf_pay *p, enum lf_pay_state next);
/* A write may have committed and its outcome is not known: the key must
 * decide (503 "could not be confirmed" unless a settle job learns it).
 * That is a lost connection, and any other error of a write but a deadlock
 * or lock wait (p->after_error: then a key without an outcome means
 * nothing committed, 500). */
void lf_pay_unknown(struct lf_pay *p);

/* A client may debit only its own accounts (admin any): clears found[0]
 * for someone else's sender. */
void lf_pay_check_owner(struct lf_pay *p);

/* The pool job of every state that needs the database (LOOKUP, DECIDE,
 * SETTLE); an lf_db_work_fn. */
bool lf_pay_work(struct lf_store_conn *c, void *arg);

/* A transfer as the pool thread sends it: the request and both bodies it
 * may store, rendered before the call so that the stored body is the one
 * sent. */
struct lf_pay_transfer {
	struct lf_transfer_req t;
	char location[80];
	struct lf_body completed, declined; /* the 201 and 422 bodies */
	struct lf_body declined_event;      /* the payment once DECLINED (its event) */
	struct lf_body risk;                /* the 422 risk_declined body */
	enum lf_transfer_result result;
	struct lf_stored stored;
};
/* Fill call for p (new ids, the time, both bodies). False when out of
 * memory. */
bool lf_pay_transfer_build(struct lf_pay *p, struct lf_pay_transfer *call);
void lf_pay_transfer_clear(struct lf_pay_transfer *call);
/* In DECIDE, and none of the 422s decided before the transaction applies:
 * the payment goes to lf_transfer (or a batch of them). */
bool lf_pay_needs_transfer(const struct lf_pay *p);

/* Ask [risk] webhook_url about p (api/risk_webhook.c), from a pool
 * thread before the transaction. */
enum lf_risk_verdict lf_pay_risk_webhook(const struct lf_pay *p);

/* DECIDE jobs run together (payment_batch.c): the group commit. */
struct lf_db_batch_kind;
extern const struct lf_db_batch_kind lf_pay_batch_kind;

#endif
