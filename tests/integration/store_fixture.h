/*
 * store_fixture.h - shared set-up of the database integration tests: the
 * connection parameters from LF_TEST_MYSQL_* (exit 77 when
 * LF_TEST_MYSQL_PORT is unset), a private database ledgerflow_test_<pid>
 * created before and dropped after the suite, and small helpers to make
 * accounts and transfers.
 */
#ifndef STORE_FIXTURE_H
#define STORE_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <CUnit/Basic.h>
#include <mysql.h>

#include "lf_admin.h"
#include "lf_store.h"
#include "lf_uuid.h"

#define USD "USD"
#define CLIENT 7

extern struct lf_db_params P; /* points at the private database */
extern char dbname[64];
extern char sql_dir[1024];
extern int64_t T0;  /* a fixed "now" with a non-zero millisecond part */
extern FILE *quiet; /* admin output of passing steps (LF_TEST_VERBOSE: stderr) */

int64_t now_ms(void);
MYSQL *raw_connect(const char *db);
bool raw_exec(const char *db, const char *q);
long long raw_int(const char *q); /* first column of the first row, -1 on error */
void fp_of(const char *text, uint8_t fp[LF_FINGERPRINT_LEN]);
struct lf_store_conn *conn(void); /* the shared connection of the main thread */
void conn_reset(void);            /* close it; the next conn() reconnects */
lf_rc create_account(struct lf_store_conn *c, const char *key, lf_uuid *id, const char *name,
		     const char *cur, int64_t initial, enum lf_create_result *res,
		     struct lf_stored *st);
lf_uuid new_account(const char *name, const char *cur, int64_t initial);

struct xfer {
	char key[64];
	char body_ok[96], body_no[96], loc[64];
	struct lf_transfer_req r;
};
void xfer_init(struct xfer *x, const char *key, const lf_uuid *from, const lf_uuid *to,
	       int64_t amount, const char *cur, const char *ref);
int64_t balance_of(const lf_uuid *id);
int reconcile_quiet(void);

struct fx_test {
	const char *name;
	void (*fn)(void);
};
/* Run one suite; migrate: apply sql/ in the suite's set-up. Returns the
 * process exit code (77 skipped, 1 failures, 0 all passed). */
int fx_run(const char *suite, const struct fx_test *tests, size_t n, bool migrate);

#endif
