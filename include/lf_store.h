/*
 * lf_store.h - the ledger's database access: blocking calls on one MySQL
 * connection, each a prepared statement (input only as bound parameters),
 * the money-moving ones a single CALL of a stored procedure in sql/ so a
 * transaction is one round trip. Run on a pool thread, never on an event
 * loop. A struct lf_store_conn is used by one thread at a time.
 */
#ifndef LF_STORE_H
#define LF_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf_auth.h"
#include "lf_core.h"
#include "lf_idempotency.h"
#include "lf_uuid.h"

struct lf_db_params {
	const char *host;
	unsigned port;
	const char *user;
	const char *password;
	const char *database;
	const char *unix_socket;      /* NULL: TCP */
	unsigned connect_timeout_s;   /* MYSQL_OPT_CONNECT_TIMEOUT */
	unsigned rw_timeout_s;        /* MYSQL_OPT_READ_TIMEOUT / WRITE_TIMEOUT */
	unsigned lock_wait_timeout_s; /* SET SESSION innodb_lock_wait_timeout */
	/* TLS ([mysql] ssl_*): ssl_mode NULL or "disabled" for none; the
	 * files NULL or "" for none */
	const char *ssl_mode, *ssl_ca, *ssl_cert, *ssl_key;
};

/* How a call ended (lf_core.h): LF_OK; LF_DECLINED for a lookup that found
 * no row; LF_AGAIN for a deadlock (1213) or lock-wait timeout (1205),
 * rolled back and safe to retry; LF_LOST when the connection broke (2006,
 * 2013, ...) and a write's outcome is unknown; LF_ERROR for anything else,
 * rolled back. Every failure is logged once, where it happens (conn.c). */

struct lf_store_conn;

/* Connect (never MYSQL_OPT_RECONNECT), set READ COMMITTED, utf8mb4,
 * time_zone '+00:00', innodb_lock_wait_timeout. NULL on failure with a
 * message in err (never containing the password). */
struct lf_store_conn *lf_store_connect(const struct lf_db_params *p, char *err, size_t errlen);
/* [mysql] host may list nodes ("h1:3306,h2,[::1]:3307"; an entry without
 * a port takes p->port): how many, and node i's address (false past the
 * end or for an unusable entry). */
int lf_store_node_count(const struct lf_db_params *p);
bool lf_store_node_addr(const struct lf_db_params *p, int i, char *host, size_t hostlen,
			unsigned *port);
/* Connect to the first node, from `start` on (wrapping once), that
 * answers and is ready (a Galera node that is not synced, wsrep_ready
 * OFF, is passed over); *node says which. only_start: that node alone
 * (a failback probe). */
struct lf_store_conn *lf_store_connect_node(const struct lf_db_params *p, int start,
					    bool only_start, int *node, char *err, size_t errlen);
/* Set p's TLS options ([mysql] ssl_*) on a MYSQL handle before it
 * connects (lf_store_connect does; ledgerflowctl's connections too). */
struct st_mysql;
void lf_store_tls_options(struct st_mysql *m, const struct lf_db_params *p);
/* After connecting: false (the reason in err) when p's ssl_mode requires
 * TLS and the connection has none. */
bool lf_store_tls_check(struct st_mysql *m, const struct lf_db_params *p, char *err, size_t errlen);
void lf_store_close(struct lf_store_conn *c);
/* mysql_ping; false if the connection is unusable. */
bool lf_store_ping(struct lf_store_conn *c);
/* After each pool job: may c serve the next one? No transaction outlives
 * the job that began it: when the server says one is still open on c (a
 * job cut short between a procedure's statements, e.g. out of memory
 * before the second call of a group in the same transaction), it is
 * rolled back before the connection serves anything else (the next
 * procedure's START TRANSACTION would otherwise commit it) and logged.
 * False (the caller closes c, which the server also rolls back) when c is
 * broken, the rollback failed, or the session lost a file of its own
 * (errors 1017, 1030: every later statement would fail alike). No round
 * trip when none is open (the status of the last reply). */
bool lf_store_end_job(struct lf_store_conn *c);
/* Has the server closed c while it was idle (end of stream or an error
 * pending on its socket: a KILL, a restart, a proxy's cut)? One poll, no
 * round trip. Before work that may not run twice: a dead connection found
 * by it would leave the outcome unknown. */
bool lf_store_peer_closed(struct lf_store_conn *c);
/* Last MySQL error number / text on this connection (for logs). */
unsigned lf_store_errno(struct lf_store_conn *c);
const char *lf_store_error(struct lf_store_conn *c);

/* The longest canonical metadata text (lf_api_metadata_parse) a row
 * holds: 20 keys of 40 and values of 500 characters fit. */
#define LF_METADATA_TEXT_MAX 65536

/* ---- accounts ---- */
struct lf_account {
	lf_uuid id;
	char name[201 * 4]; /* utf8mb4, NUL-terminated */
	char currency[4];
	int64_t balance; /* minor units */
	int64_t held;    /* the sum of its PENDING holds: available = balance - held */
	int64_t created_ms, updated_ms;
	char *metadata; /* canonical JSON object, malloc'd (lf_account_clear); NULL: none */
	uint64_t owner; /* its owner's client id: set by lf_store_get_accounts (and
			 * the loop reader), 0 from the other reads */
};
/* Free what a row read by the store holds (its metadata); NULL is fine. */
void lf_account_clear(struct lf_account *a);

/* Stored idempotent outcome, as kept in the idempotency_keys table. */
struct lf_stored {
	bool found;
	int status;
	uint8_t fingerprint[LF_FINGERPRINT_LEN];
	char location[128]; /* "" when none */
	char *body;         /* malloc'd, NUL-terminated; free() */
	size_t body_len;
	int64_t expires_ms;
};
void lf_stored_clear(struct lf_stored *s);

enum lf_create_result {
	LF_CREATE_CREATED,
	LF_CREATE_EXISTS,           /* an account with that id exists: 409, not stored */
	LF_CREATE_REPLAY,           /* the key already has an outcome: see stored */
	LF_CREATE_AMOUNT_TOO_LARGE, /* the issuance account's balance would leave
				     * int64: nothing written (422 amount_too_large) */
};

struct lf_create_account_req {
	uint64_t client_id;
	const char *idem_key; /* NULL: no Idempotency-Key */
	size_t idem_key_len;
	uint8_t fingerprint[LF_FINGERPRINT_LEN];
	lf_uuid id;
	const char *name;     /* NUL-terminated, 1..200 characters */
	const char *currency; /* "USD" */
	int64_t initial_balance;
	lf_uuid opening_entry_id;  /* used when initial_balance > 0: the CREDIT */
	lf_uuid issuance_entry_id; /* ... and the issuance account's DEBIT */
	int64_t created_ms;
	int64_t expires_ms; /* idempotency retention */
	const char *body;   /* the 201 body to store with the key, and the
			     * data of its account.created event */
	size_t body_len;
	const char *location; /* "/api/accounts/{id}" */
	const char *metadata; /* canonical JSON object; NULL: none */
};
/* Every write of the store writes its event in its transaction (the outbox,
 * 008_events.sql); the event's id is a UUIDv7 the store makes per call. */
lf_rc lf_store_create_account(struct lf_store_conn *c, const struct lf_create_account_req *r,
			      enum lf_create_result *result, struct lf_stored *stored);
/* Reads take who is asking: a non-admin client sees only its own rows,
 * anything else is LF_DECLINED exactly like a missing row. */
/* n accounts in as few queries as can be (concurrent GETs): rcs[i] is
 * LF_OK with out[i], or LF_DECLINED when id[i] is missing or who[i] may
 * not see it. Returns the first failure (then rcs[] mean nothing). */
lf_rc lf_store_get_accounts(struct lf_store_conn *c, int n, const lf_uuid *ids,
			    const struct lf_client *who, struct lf_account *out, lf_rc *rcs);
lf_rc lf_store_get_account(struct lf_store_conn *c, const lf_uuid *id, const struct lf_client *who,
			   struct lf_account *out);

/* Currency and owner of up to two accounts in one round trip (no locks).
 * found[i] false when the account does not exist. Not scoped: the caller
 * decides what the owner means (a payment may debit only its own, credit
 * any); the transaction checks it again under the lock. */
lf_rc lf_store_account_currencies(struct lf_store_conn *c, const lf_uuid ids[2], bool found[2],
				  char currency[2][4], uint64_t owner[2]);

/* ---- payments ---- */
enum lf_transfer_result {
	LF_TRANSFER_COMPLETED,
	LF_TRANSFER_DECLINED,          /* insufficient funds, recorded */
	LF_TRANSFER_REPLAY,            /* the key already had an outcome: see stored */
	LF_TRANSFER_ACCOUNT_NOT_FOUND, /* nothing written */
	LF_TRANSFER_CURRENCY_MISMATCH, /* nothing written */
	LF_TRANSFER_AMOUNT_TOO_LARGE,  /* a balance would leave int64: nothing written */
	LF_TRANSFER_PAYMENT_EXISTS,    /* the key's stored outcome was reaped but its
					* payment exists: stored->body holds the 16-byte
					* payment id, stored->fingerprint its fingerprint */
	LF_TRANSFER_RISK_DECLINED,     /* a risk rule stopped it, recorded (body_risk);
					* stored->location holds the rule's name */
};

struct lf_transfer_req {
	uint64_t client_id; /* who pays: the sender must be its account */
	bool admin;         /* ... unless it is an admin client */
	const char *idem_key;
	size_t idem_key_len;
	uint8_t fingerprint[LF_FINGERPRINT_LEN];
	lf_uuid payment_id, debit_entry_id, credit_entry_id;
	lf_uuid from, to;
	int64_t amount;
	const char *currency;  /* the currency the payment is in */
	const char *reference; /* NULL for none */
	int64_t created_ms;
	int64_t expires_ms;
	const char *body_completed;
	size_t body_completed_len; /* 201 body */
	const char *body_declined;
	size_t body_declined_len; /* 422 body */
	const char *location;     /* "/api/payments/{id}" for the 201 */
	int64_t hold_expires_ms;  /* > 0: a hold (capture false) that expires then */
	const char *metadata;     /* canonical JSON object; NULL: none */
	/* the payment as GET renders it once DECLINED: the data of the
	 * payment.declined event (body_completed is payment.completed's) */
	const char *event_declined;
	size_t event_declined_len;
	/* the risk rules (lf_risk.h); zero: off. risk_rule: a rule decided
	 * before the call (max_amount, the webhook) declines it; the others
	 * are thresholds lf_transfer checks under the locks. body_risk is the
	 * 422 risk_declined body, needed when any of them is set. */
	int risk_rule; /* enum lf_risk_rule */
	int64_t velocity_count, velocity_sum, velocity_window_ms, daily_limit;
	const char *body_risk;
	size_t body_risk_len;
};
/* One CALL lf_transfer(...): the whole transaction in one round trip. */
lf_rc lf_store_transfer(struct lf_store_conn *c, const struct lf_transfer_req *r,
			enum lf_transfer_result *result, struct lf_stored *stored);

/* What the group commit decided for one payment of a batch. */
enum lf_transfer_batch_result {
	LF_TRANSFER_BATCH_COMPLETED, /* 201, written and committed with the batch */
	LF_TRANSFER_BATCH_DECLINED,  /* 422 insufficient funds, recorded likewise */
	LF_TRANSFER_BATCH_FALLBACK,  /* nothing written: decide it alone (lf_store_transfer) */
};
/* The group commit (store/group.c, doc/design.md "Group commit"): the
 * payments r[0..n) decided in one transaction, in this order, each with
 * lf_transfer's rules against the running balances (a decline does not
 * affect the others). The decisions are taken here, in C, from the
 * accounts read without a lock; one CALL lf_transfer_group_v2 then locks the
 * accounts in ascending id order, checks that they are as read and that
 * every entry follows from them (sequence, arithmetic, hash chain,
 * available funds, ownership, currency), and writes it all set-wise with
 * one COMMIT. When an account moved in between, the procedure answers its
 * locked state and keeps the transaction open; the group is decided again
 * from it and applied in that transaction. result[i] says what happened
 * to r[i]; every payment lf_transfer would not complete or decline for
 * insufficient funds (a key already known or repeated in the batch, an
 * account missing or not the client's, a currency mismatch, an amount too
 * large) is FALLBACK: nothing written for it. The return codes are
 * lf_store_transfer's: LF_AGAIN rolled back as a whole (retry it),
 * LF_LOST / LF_ERROR the outcome of every payment unknown (its key
 * decides). */
struct lf_transfer_batch_path;
lf_rc lf_store_transfer_batch(struct lf_store_conn *c, const struct lf_transfer_req *r, int n,
			      enum lf_transfer_batch_result *result,
			      struct lf_transfer_batch_path *path);

/* How a group commit went, for the metrics (may be NULL above): whether
 * it locked its accounts before reading them (one was contended,
 * store/contended.c), and the STALE answers it got (an account moved
 * between the unlocked read and the lock: the group decided again). */
struct lf_transfer_batch_path {
	bool locked_first;
	int stale;
	int assumed; /* accounts it took as another group in flight leaves them */
};

/* The group commits of this process build on the intents of the host's
 * other groups in flight (lf_intents.h); set once, before the pool
 * threads start. Without it (NULL) every unlocked read is taken as read. */
struct lf_intents;
void lf_store_use_intents(struct lf_intents *t);

/* Store a decided outcome that moved no money (a 422 decided before the
 * transaction) with its key; if the key already has one, *replay is set
 * and stored receives it. */
lf_rc lf_store_record_outcome(struct lf_store_conn *c, uint64_t client_id, const char *key,
			      size_t key_len, const uint8_t fp[LF_FINGERPRINT_LEN], int status,
			      const char *location, const char *body, size_t body_len,
			      int64_t created_ms, int64_t expires_ms, bool *replay,
			      struct lf_stored *stored);
/* The stored outcome of a key (tier 3 of idempotency, and the judge of a
 * commit whose result was lost). stored->found false when none. */
lf_rc lf_store_get_outcome(struct lf_store_conn *c, uint64_t client_id, const char *key,
			   size_t key_len, struct lf_stored *stored);

enum lf_payment_status {
	LF_PAYMENT_COMPLETED,
	LF_PAYMENT_DECLINED,
	LF_PAYMENT_PENDING, /* a hold, not captured, voided or expired yet */
	LF_PAYMENT_VOIDED,
	LF_PAYMENT_EXPIRED,
};
/* "COMPLETED", ... and back (false for an unknown name). */
const char *lf_payment_status_name(enum lf_payment_status s);
bool lf_payment_status_parse(const char *name, enum lf_payment_status *out);

struct lf_payment {
	lf_uuid id, from, to;
	int64_t amount;
	char currency[4];
	bool has_reference;
	char reference[201 * 4];
	enum lf_payment_status status;
	bool is_hold;       /* made with capture false: expires_ms is its expiry */
	int64_t expires_ms; /* a hold's */
	bool has_captured;  /* capturedAmount: a COMPLETED payment's */
	int64_t captured;   /* the amount, or what a capture took */
	int64_t refunded;   /* sum of the COMPLETED refunds */
	int64_t created_ms;
	char *metadata;     /* canonical JSON object, malloc'd (lf_payment_clear); NULL: none */
	bool risk_declined; /* DECLINED by a risk rule, not for funds */
};
/* Free what a row read by the store holds (its metadata); NULL is fine. */
void lf_payment_clear(struct lf_payment *p);
lf_rc lf_store_get_payment(struct lf_store_conn *c, const lf_uuid *id, const struct lf_client *who,
			   struct lf_payment *out);

/* ---- holds and refunds (store/holds.c) ---- */
enum lf_hold_result {
	LF_HOLD_DONE,             /* captured / voided / refunded: the 2xx stored */
	LF_HOLD_NOT_PENDING,      /* 409 payment_not_pending stored (capture, void) */
	LF_HOLD_EXCEEDS,          /* 422 refund_exceeds_payment stored (refund) */
	LF_HOLD_DECLINED,         /* 422 insufficient_funds, a DECLINED refund, stored */
	LF_HOLD_REPLAY,           /* the key already had an outcome: see stored */
	LF_HOLD_NOT_FOUND,        /* no such payment for the client: nothing written */
	LF_HOLD_AMOUNT_TOO_LARGE, /* a balance would leave int64: nothing written */
	LF_HOLD_INVALID_AMOUNT,   /* more than held: nothing written */
	LF_HOLD_STALE,            /* the refund's "rest" changed meanwhile: nothing written */
};

/* Capture (capture true; amount 0: all of it) or void a hold, one CALL
 * lf_finish_hold. body_ok is the 200, body_other the 409. */
struct lf_hold_req {
	uint64_t client_id;
	bool admin;
	const char *idem_key;
	size_t idem_key_len;
	uint8_t fingerprint[LF_FINGERPRINT_LEN];
	lf_uuid payment_id;
	/* a refund's own id; the entries' ids of a capture or refund */
	lf_uuid refund_id, debit_entry_id, credit_entry_id;
	bool capture;   /* lf_finish_hold: capture, else void */
	int64_t amount; /* capture: 0 for all; refund: the amount */
	bool rest;      /* refund: amount is what was read as the rest */
	const char *reason;
	int64_t created_ms, expires_ms;
	const char *body_ok; /* 200 (capture, void) or 201 (refund) */
	size_t body_ok_len;
	const char *body_other; /* 409 not pending (hold); 422 declined (refund) */
	size_t body_other_len;
	const char *body_exceeds; /* refund: 422 refund_exceeds_payment */
	size_t body_exceeds_len;
	/* the event's data when the other outcome happens: the payment
	 * rendered EXPIRED (hold: payment.expired; NULL for a payment that is
	 * not a hold), the refund rendered DECLINED (refund: refund.declined) */
	const char *event_other;
	size_t event_other_len;
};
lf_rc lf_store_finish_hold(struct lf_store_conn *c, const struct lf_hold_req *r,
			   enum lf_hold_result *result, struct lf_stored *stored);
/* One CALL lf_refund. */
lf_rc lf_store_refund(struct lf_store_conn *c, const struct lf_hold_req *r,
		      enum lf_hold_result *result, struct lf_stored *stored);
/* The reaper, first: up to max PENDING holds whose expiry is at or before
 * now_ms, oldest expiry first, into out (each to lf_payment_clear). */
lf_rc lf_store_due_holds(struct lf_store_conn *c, int64_t now_ms, struct lf_payment *out,
			 unsigned max, unsigned *count);
/* Then each: one CALL lf_expire_hold, which expires it (*expired) if it is
 * still PENDING and due at now_ms, with data (the payment rendered
 * EXPIRED) as its payment.expired event's, in one transaction. */
lf_rc lf_store_expire_hold(struct lf_store_conn *c, const lf_uuid *id, int64_t now_ms,
			   const char *data, size_t len, bool *expired);

struct lf_refund {
	lf_uuid id, payment_id;
	int64_t amount;
	char currency[4];
	bool has_reason;
	char reason[201 * 4];
	bool completed; /* COMPLETED, else DECLINED */
	int64_t created_ms;
};
/* A payment's refunds, oldest first, at most max (LF_DECLINED: no such
 * payment for who). */
lf_rc lf_store_list_refunds(struct lf_store_conn *c, const lf_uuid *payment,
			    const struct lf_client *who, struct lf_refund *out, unsigned max,
			    unsigned *count);

/* ---- history (store/history.c) ---- */
/* GET /api/payments: newest first, ids below `before` (all ones for the
 * first page); status "" for any. */
struct lf_payment_query {
	bool has_account;
	lf_uuid account;
	char status[16];
	lf_uuid before;
	unsigned limit;
};
/* Up to q->limit payments (who's own, or every one for admin) into out;
 * *more when there is a next page. */
lf_rc lf_store_list_payments(struct lf_store_conn *c, const struct lf_payment_query *q,
			     const struct lf_client *who, struct lf_payment *out, unsigned *count,
			     bool *more);
/* The balance after the account's last ledger entry at or before at_ms
 * (time order, then sequence; 0 before the first). LF_DECLINED: no such
 * account for who. */
lf_rc lf_store_balance_at(struct lf_store_conn *c, const lf_uuid *account,
			  const struct lf_client *who, int64_t at_ms, char currency[4],
			  int64_t *balance);

/* ---- ledger ---- */
struct lf_ledger_entry {
	lf_uuid id;
	bool has_payment;
	lf_uuid payment_id;
	lf_uuid account_id;
	bool debit;
	int64_t amount; /* > 0 */
	int64_t balance_after;
	int64_t seq; /* per-account sequence, 1 = first entry */
	int64_t created_ms;
	uint8_t hash[32]; /* SHA-256 chain (lf_ledger_hash.h) */
};
/* Entries of an account with seq < before_seq (INT64_MAX for the newest),
 * newest first, at most max; *more tells whether older ones exist.
 * *currency receives the account's currency; LF_DECLINED when the
 * account does not exist. */
lf_rc lf_store_list_ledger(struct lf_store_conn *c, const lf_uuid *account,
			   const struct lf_client *who, int64_t before_seq, unsigned max,
			   struct lf_ledger_entry *out, unsigned *count, bool *more,
			   char currency[4]);

/* ---- currencies (004_books.sql) ---- */
struct lf_currency_row {
	char code[4];
	int exponent;
	lf_uuid issuance_account_id; /* the account that creates this money */
};
/* At most max rows of the currencies table, by code. */
lf_rc lf_store_list_currencies(struct lf_store_conn *c, struct lf_currency_row *out, unsigned max,
			       unsigned *count);
/* Does the currencies table agree with the built-in table (lf_money.h),
 * code for code and exponent for exponent? LF_OK yes; LF_DECLINED no, the
 * first difference in why; another code when the query failed (logged;
 * a missing table is LF_ERROR, errno 1146: not migrated). */
lf_rc lf_store_check_currencies(struct lf_store_conn *c, char *why, size_t whylen);

/* ---- events (store/events.c, 008_events.sql) ---- */
#define LF_EVENT_TYPE_MAX 32
struct lf_event {
	uint64_t seq; /* commit order: the cursor */
	lf_uuid id;
	char type[LF_EVENT_TYPE_MAX];
	int64_t created_ms;
	char *data; /* the object's JSON, malloc'd, NUL-terminated: lf_event_clear */
	size_t data_len;
};
void lf_event_clear(struct lf_event *e);
/* Give the committed events without a place in commit order theirs (CALL
 * lf_events_sequence, at most max of them). LF_OK also when another
 * sequencer was running (it numbers them). */
lf_rc lf_store_sequence_events(struct lf_store_conn *c, unsigned max);
/* Up to max events with seq > after, in seq order: who's own, or every
 * client's for admin. out[0..*count) are filled (lf_event_clear each). */
lf_rc lf_store_list_events(struct lf_store_conn *c, uint64_t after, const struct lf_client *who,
			   struct lf_event *out, unsigned max, unsigned *count);
/* One event by id (only once it has a seq); LF_DECLINED when none for who. */
lf_rc lf_store_get_event(struct lf_store_conn *c, const lf_uuid *id, const struct lf_client *who,
			 struct lf_event *out);

/* ---- webhooks (store/webhooks.c): the delivery process's calls ---- */
#define LF_WEBHOOK_URL_MAX 2048
#define LF_WEBHOOK_TYPES_MAX 512
#define LF_WEBHOOK_BOX_MAX 128
struct lf_webhook_row {
	lf_uuid id;
	char url[LF_WEBHOOK_URL_MAX + 1];
	char types[LF_WEBHOOK_TYPES_MAX + 1]; /* comma-separated */
	bool has_client;
	uint64_t client_id;
	uint8_t secret_box[LF_WEBHOOK_BOX_MAX]; /* sealed: lf_webhook_secret_open */
	size_t secret_box_len;
};
/* The webhooks not removed, at most max, by id. */
lf_rc lf_store_list_webhooks(struct lf_store_conn *c, struct lf_webhook_row *out, unsigned max,
			     unsigned *count);
/* Queue the webhook's new events (lf_webhook_enqueue), looking at most max. */
lf_rc lf_store_webhook_enqueue(struct lf_store_conn *c, const lf_uuid *webhook, unsigned max,
			       int64_t now_ms, unsigned *queued);
struct lf_delivery_row {
	uint64_t seq;
	unsigned attempts;
	int64_t next_ms; /* not before */
	struct lf_event ev;
	lf_uuid account, account2; /* delivery order keys */
	bool has_account2;
};
void lf_delivery_row_clear(struct lf_delivery_row *d);
/* The webhook's oldest pending deliveries, at most max, in seq order. */
lf_rc lf_store_webhook_pending(struct lf_store_conn *c, const lf_uuid *webhook,
			       struct lf_delivery_row *out, unsigned max, unsigned *count);
/* Record one attempt (lf_webhook_result). */
lf_rc lf_store_webhook_result(struct lf_store_conn *c, const lf_uuid *webhook, uint64_t seq,
			      bool delivered, int status, int64_t next_ms, bool give_up);
/* Deliveries pending and given up, over every webhook. */
lf_rc lf_store_webhook_backlog(struct lf_store_conn *c, uint64_t *pending, uint64_t *failed);
/* Become the one delivering process of this database (a named lock held
 * by this connection while it lives): *leader true when it is. */
lf_rc lf_store_webhook_lead(struct lf_store_conn *c, bool *leader);

/* ---- API keys (authentication) ---- */
struct lf_key_row {
	uint8_t digest[LF_AUTH_DIGEST_LEN]; /* HMAC-SHA-256(pepper, key) */
	uint64_t client_id;
	unsigned scopes;    /* LF_SCOPE_* bits */
	unsigned rate;      /* requests per second; 0 = [ratelimit] rate */
	int64_t expires_ms; /* the key's end after a rotation; 0 = none */
	bool revoked;       /* the key or its client is revoked */
};
/* The key whose public prefix is `prefix` (NUL-terminated), with its
 * client's scopes and rate; LF_DECLINED when there is none. The caller
 * compares digests (lf_auth_digest_equal) and checks revoked and
 * expires_ms against its clock. Scopes the server does not know are
 * LF_ERROR (refused), never a partial set. */
lf_rc lf_store_find_key(struct lf_store_conn *c, const char prefix[LF_AUTH_PREFIX_LEN + 1],
			struct lf_key_row *out);
/* The authentication epoch: bumped by every revoke and rotate, so a
 * worker that sees it change drops the key lookups it cached. */
lf_rc lf_store_auth_epoch(struct lf_store_conn *c, uint64_t *epoch);

/* ---- retention ---- */
/* Delete up to `batch` idempotency rows whose expiry is before now_ms. */
lf_rc lf_store_reap_keys(struct lf_store_conn *c, int64_t now_ms, unsigned batch,
			 unsigned long *deleted);

#endif
