/*
 * store/store_int.h - private to src/store/: the connection structure, the
 * prepared-statement cache ids, result helpers and small bind helpers.
 * Not part of the public lf_store.h interface.
 */
#ifndef LF_STORE_INT_H
#define LF_STORE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <mysql.h>

#include "lf_store.h"

/* Ids one ST_GET_ACCOUNTS reads (unused places repeat an id). */
#define LF_STORE_ACCOUNTS_PER_READ 16

/* Prepared statements cached per connection. */
enum lf_store_stmt_id {
	ST_TRANSFER,
	ST_GROUP_READ,
	ST_GROUP_LOCK,
	ST_GROUP_APPLY,
	ST_RECORD,
	ST_CREATE,
	ST_FINISH_HOLD,
	ST_REFUND,
	ST_DUE_HOLDS,
	ST_EXPIRE_HOLD,
	ST_LIST_REFUNDS,
	ST_GET_OUTCOME,
	ST_GET_ACCOUNT,
	ST_GET_ACCOUNTS,
	ST_LIST_PAYMENTS_ACCOUNT,
	ST_LIST_PAYMENTS_CLIENT,
	ST_LIST_PAYMENTS_ALL,
	ST_BALANCE_AT,
	ST_CURRENCIES,
	ST_GET_PAYMENT,
	ST_LEDGER,
	ST_REAP,
	ST_FIND_KEY,
	ST_AUTH_EPOCH,
	ST_LIST_CURRENCIES,
	ST_EVENTS_SEQUENCE,
	ST_LIST_EVENTS_CLIENT,
	ST_LIST_EVENTS_ALL,
	ST_GET_EVENT,
	ST_WEBHOOKS,
	ST_WEBHOOK_ENQUEUE,
	ST_WEBHOOK_PENDING,
	ST_WEBHOOK_RESULT,
	ST_WEBHOOK_BACKLOG,
	ST_WEBHOOK_LEAD,
	ST_BULK_ACCOUNTS,
	ST_BULK_PRIOR,
	ST_BULK_ATOMIC,
	ST_COUNT
};

/* The columns of a payment row, in the order lf_store_payment_bind binds
 * them (the table is aliased p). */
#define LF_PAYMENT_COLUMNS                                                             \
	"p.id, p.from_account_id, p.to_account_id, p.amount, p.currency, p.reference," \
	" p.status, p.created_at, p.captured_amount, p.refunded_amount, p.expires_at," \
	" p.metadata, p.decline_reason"
#define LF_PAYMENT_NCOL 13

struct lf_store_conn {
	MYSQL *m;
	MYSQL_STMT *st[ST_COUNT];
	bool broken;  /* the link failed: ping says false from now on */
	bool damaged; /* the session lost a file of its own (a temporary table's,
		       * removed under a running server): a fresh one cures it */
	unsigned err_no;
	char err[512];
	const char *what; /* the statement being run (its name), for the log */
	bool logged;      /* its failure was logged: log only the first one */
};

/* The accounts the payment groups keep finding moved (contended.c). */
/* A group about to read n accounts, the first id at `first`, the next
 * `stride` bytes further each: true when one is contended (lock first).
 * Counts the group (an account is forgotten groups later). */
bool lf_contended_begin(const lf_uuid *first, size_t stride, int n);
/* A STALE answer found the account moved since the unlocked read. */
void lf_contended_moved(const lf_uuid *id);
/* lf_group_lock read the account so (moved since our commit: noted). */
void lf_contended_locked(const lf_uuid *id, int64_t seq, int64_t held);
/* This process committed the account at seq, held. */
void lf_contended_committed(const lf_uuid *id, int64_t seq, int64_t held);

/* Record an error (number and text) on c, log it (once per statement run,
 * see conn.c) and map it to a return code. lf_store_fail is for errors
 * without a SQLSTATE of their own (client-side, or a result of the wrong
 * shape): it logs HY000. */
lf_rc lf_store_fail(struct lf_store_conn *c, unsigned e, const char *msg);
lf_rc lf_store_fail_state(struct lf_store_conn *c, unsigned e, const char *sqlstate,
			  const char *msg);
lf_rc lf_store_stmt_fail(struct lf_store_conn *c, MYSQL_STMT *st);
/* The statement `id`, prepared on first use and kept. */
lf_rc lf_store_stmt(struct lf_store_conn *c, enum lf_store_stmt_id id, MYSQL_STMT **out);
/* Bind params, execute, buffer the first result (if any). */
lf_rc lf_store_run(struct lf_store_conn *c, MYSQL_STMT *st, MYSQL_BIND *params);
/* Read and discard every result after the current one (CALL status). */
lf_rc lf_store_drain(struct lf_store_conn *c, MYSQL_STMT *st);
/* Fetch the next row: 0 a row, 1 no more rows, -1 error (recorded). */
int lf_store_next_row(struct lf_store_conn *c, MYSQL_STMT *st);
/* Finish a query: on error keep its code, else report a drain failure. */
lf_rc lf_store_finish(struct lf_store_conn *c, MYSQL_STMT *st, lf_rc rc);
/* The code of the error last recorded on c. */
lf_rc lf_store_last_rc(struct lf_store_conn *c);
/* ST_GET_ACCOUNTS in two halves, so that the event loop's non-blocking
 * read (loopread.c) runs the same statement as the pool: its inputs (the m
 * ids, m <= LF_STORE_ACCOUNTS_PER_READ, the unused places repeating the
 * last), and, once its result is stored, its rows matched to their askers
 * (rcs[i] set to LF_OK where who[i] may see ids[i]; the caller sets them to
 * LF_DECLINED first). Neither does I/O. */
void lf_store_accounts_params(MYSQL_BIND in[LF_STORE_ACCOUNTS_PER_READ], const lf_uuid *ids, int m);
lf_rc lf_store_accounts_rows(struct lf_store_conn *c, MYSQL_STMT *st, int m, const lf_uuid *ids,
			     const struct lf_client *who, struct lf_account *out, lf_rc *rcs);
/* Read the one outcome row of a procedure (status, location, body,
 * fingerprint, expires_at, preceded by the outcome word when with_outcome)
 * and drain the rest; *got_row false when the procedure returned none. */
lf_rc lf_store_fetch_outcome(struct lf_store_conn *c, MYSQL_STMT *st, bool with_outcome,
			     char outcome[32], struct lf_stored *s, bool *got_row);
/* Read column `col` of the current row, *len bytes long (its bound
 * length), into a malloc'd NUL-terminated buffer (*out); LF_ERROR logged. */
lf_rc lf_store_fetch_blob(struct lf_store_conn *c, MYSQL_STMT *st, unsigned col, size_t len,
			  char **out);
/* Keep stored only when it is a replay; otherwise clear it. */
void lf_store_keep_only_replay(bool replay, struct lf_stored *s);
/* Unix ms <-> MYSQL_TIME (UTC, exact milliseconds). */
void lf_store_ms_to_time(int64_t ms, MYSQL_TIME *t);
int64_t lf_store_time_to_ms(const MYSQL_TIME *t);

/* ---- bind helpers (inputs) ---- */

static inline void in_u64(MYSQL_BIND *b, const uint64_t *v)
{
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = (void *)v;
	b->is_unsigned = 1;
}

static inline void in_i64(MYSQL_BIND *b, const int64_t *v)
{
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = (void *)v;
}

static inline void in_int(MYSQL_BIND *b, const int *v)
{
	b->buffer_type = MYSQL_TYPE_LONG;
	b->buffer = (void *)v;
}

/* Bytes (BINARY/VARBINARY/BLOB); NULL pointer binds SQL NULL. */
static inline void in_bytes(MYSQL_BIND *b, const void *p, size_t len)
{
	if (!p) {
		b->buffer_type = MYSQL_TYPE_NULL;
		return;
	}
	b->buffer_type = MYSQL_TYPE_BLOB;
	b->buffer = (void *)p;
	b->buffer_length = (unsigned long)len;
}

/* utf8mb4 text; NULL binds SQL NULL. */
static inline void in_text(MYSQL_BIND *b, const char *s, size_t len)
{
	if (!s) {
		b->buffer_type = MYSQL_TYPE_NULL;
		return;
	}
	b->buffer_type = MYSQL_TYPE_STRING;
	b->buffer = (void *)s;
	b->buffer_length = (unsigned long)len;
}

/* A response body: never SQL NULL (NULL binds an empty body). */
static inline void in_body(MYSQL_BIND *b, const char *p, size_t len)
{
	in_bytes(b, p ? p : "", p ? len : 0);
}

static inline void in_str(MYSQL_BIND *b, const char *s)
{
	in_text(b, s, s ? strlen(s) : 0);
}

static inline void in_uuid(MYSQL_BIND *b, const lf_uuid *u)
{
	in_bytes(b, u->b, sizeof u->b);
}

static inline void in_time(MYSQL_BIND *b, MYSQL_TIME *t, int64_t ms)
{
	lf_store_ms_to_time(ms, t);
	b->buffer_type = MYSQL_TYPE_DATETIME;
	b->buffer = t;
}

/* ---- bind helpers (outputs) ---- */

struct col {
	unsigned long len;
	my_bool null, error;
};

static inline void out_bind(MYSQL_BIND *b, struct col *k, enum enum_field_types t, void *buf,
			    unsigned long cap)
{
	b->buffer_type = t;
	b->buffer = buf;
	b->buffer_length = cap;
	b->length = &k->len;
	b->is_null = &k->null;
	b->error = &k->error;
}

/* NUL-terminate a fetched string column of buffer size cap. */
static inline void out_str_fix(char *buf, size_t cap, const struct col *k)
{
	size_t n = k->null ? 0 : (k->len < cap - 1 ? k->len : cap - 1);
	buf[n] = '\0';
}

static inline bool out_uuid_ok(const struct col *k)
{
	return !k->null && k->len == 16;
}

/* Result buffers of one payment row (LF_PAYMENT_COLUMNS); big (the
 * metadata): put it on the heap or a pool thread's stack. */
struct lf_store_payment_row {
	struct lf_payment p;
	char status[16];
	MYSQL_TIME t_created, t_expires;
	int64_t captured;
	char md[LF_METADATA_TEXT_MAX];
	char decline_reason[65];
	MYSQL_BIND b[LF_PAYMENT_NCOL];
	struct col k[LF_PAYMENT_NCOL];
};
/* Bind w's buffers as the result of st; false (recorded) on failure. */
bool lf_store_payment_bind(struct lf_store_conn *c, MYSQL_STMT *st, struct lf_store_payment_row *w);
/* The fetched row into out (its metadata malloc'd); false when out of
 * memory or the metadata was cut. */
bool lf_store_payment_take(struct lf_store_payment_row *w, struct lf_payment *out);
/* A fetched text column into a malloc'd string (NULL when SQL NULL; *ok
 * false when out of memory or longer than cap - 1). */
char *lf_store_text_dup(const char *buf, size_t cap, const struct col *k, bool *ok);

#endif
