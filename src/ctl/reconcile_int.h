/*
 * ctl/reconcile_int.h - what the passes of `ledgerflowctl reconcile` share
 * (reconcile.c drives them; reconcile_ledger.c, reconcile_payments.c and
 * anchor.c implement them): the run's state, its counters, the way a
 * violation is reported, and small helpers for rows of the text protocol.
 */
#ifndef LF_RECONCILE_INT_H
#define LF_RECONCILE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <mysql.h>

#define RC_ID_LEN 16
#define RC_HASH_LEN 32
/* accounts per chunk of the ledger pass (their rows are held in memory) */
#define RC_CHUNK 1000
/* violations printed in full; the rest are only counted */
#define RC_PRINT_MAX 100
/* incremental runs re-check payments made up to this long before the
 * newest one already checked: a payment's id is taken before its
 * transaction commits, so one committed late may sort before it (a
 * transaction lasts seconds: lock waits and requests time out sooner); a
 * new entry of an older payment is reported, never skipped */
#define RC_PAYMENT_MARGIN_MS (60 * 1000)

struct rc_run {
	MYSQL *m; /* the consistent, read-only snapshot */
	MYSQL *w; /* writes the checkpoint in its own transaction; NULL: none */
	FILE *out;
	bool full;     /* false: continue from the checkpoint */
	bool progress; /* a progress line on stderr (a terminal) */
	uint64_t violations;
	/* what was verified */
	uint64_t accounts, entries, payments, keys, anchors, heads, openings;
	/* full pass: the multiset of payment entries as the ledger has them and
	 * as the payments say they must be, as sums of keyed hashes */
	uint64_t mkey[2][2];
	uint64_t sum_ledger[2], sum_payments[2];
	uint64_t n_ledger, n_payments;
	/* incremental: payments with id >= payments_from are checked */
	uint8_t payments_from[RC_ID_LEN];
	bool have_from;
	/* for the next checkpoint */
	uint8_t newest_payment[RC_ID_LEN];
	bool have_newest;
	uint64_t anchor_from;   /* anchors with id > this are checked */
	uint64_t anchor_newest; /* the newest anchor seen */
	struct timespec started, last_progress;
};

/* ---- metrics_file.c: Prometheus textfile-collector files ---- */
/* Replace path with text atomically (path.tmp, renamed); on failure a line
 * "<who>: cannot write <path>" on out. */
bool rc_metrics_write(const char *path, const char *text, const char *who, FILE *out);
/* reconcile --metrics-file: the run's end time (now, Unix seconds), its
 * result (0, 1, 2: the exit status) and violations, and the last clean
 * run's end time: now when result is 0, else the one the old file had. */
bool rc_metrics_reconcile(const char *path, int result, uint64_t violations, int64_t now,
			  FILE *out);

/* One violation: "reconcile: FAIL <text>" (the first RC_PRINT_MAX only). */
void rc_fail(struct rc_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A query that failed: the statement's purpose and MySQL's error, on out. */
void rc_sql_error(struct rc_run *r, MYSQL *m, const char *what);
/* mysql_real_query + error report; true when it ran. */
bool rc_query(struct rc_run *r, MYSQL *m, const char *sql, size_t len, const char *what);
/* The progress line, at most twice a second (force: now, and end it). */
void rc_progress(struct rc_run *r, const char *what, uint64_t n, bool force);

/* Row helpers (text protocol: integers in decimal, binary columns raw). */
bool rc_int(const char *s, unsigned long len, int64_t *out);
bool rc_bin(const char *s, unsigned long len, size_t want, uint8_t *out);
/* "YYYY-MM-DD hh:mm:ss[.f...]" (UTC) -> Unix milliseconds. */
bool rc_datetime_ms(const char *s, unsigned long len, int64_t *out);
/* 32 lower-case hex digits of an id; "8-4-4-4-12" when uuid. */
void rc_hex(const uint8_t *b, size_t n, char *out);
void rc_uuid(const uint8_t id[RC_ID_LEN], char out[37]);
/* X'..' literal of bytes that came from the database itself. */
void rc_xlit(const uint8_t *b, size_t n, char *out);

/* The passes: false on a database error (already reported). */
bool rc_ledger_pass(struct rc_run *r);
bool rc_payment_pass(struct rc_run *r);
bool rc_opening_pass(struct rc_run *r);
bool rc_holds_pass(struct rc_run *r);
bool rc_anchor_pass(struct rc_run *r);

/* The multiset element of one payment entry (reconcile_payments.c). */
void rc_mset_add(struct rc_run *r, uint64_t sum[2], const uint8_t payment[RC_ID_LEN],
		 const uint8_t account[RC_ID_LEN], char dir, int64_t amount,
		 const uint8_t counterparty[RC_ID_LEN], const char currency[3]);

#endif
