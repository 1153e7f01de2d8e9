/*
 * store_fixture.h - shared set-up of the database integration tests: the
 * connection parameters from LF_TEST_MYSQL_* (exit 77 when
 * LF_TEST_MYSQL_PORT is unset), a private database ledgerflow_test_<pid>
 * created before and dropped after the suites (fx_main), the runtime user
 * lf_rt_<pid> that the store runs as (with exactly what `ledgerflowctl
 * grants` prints), and small helpers to make accounts and transfers.
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

#include "../lf_cunit.h"

#define USD "USD"
#define CLIENT 7
/* the store read as an admin client sees it: every row */
static const struct lf_client FX_ADMIN = {.id = CLIENT, .admin = true};

extern struct lf_db_params P;         /* points at the private database, as the test user */
extern struct lf_db_params RT;        /* the same, as the runtime user (after .migrate) */
extern char rt_user[64], rt_host[64]; /* its account: 'lf_rt_<pid>'@'127.0.0.1' */
extern char dbname[64];
extern char sql_dir[1024];
extern int64_t T0;  /* a fixed "now" with a non-zero millisecond part */
extern FILE *quiet; /* admin output of passing steps (LF_TEST_VERBOSE: stderr) */

int64_t now_ms(void);
MYSQL *raw_connect(const char *db); /* as the test user, who may do anything */
MYSQL *rt_connect(void);            /* as the runtime user, on the private database */
bool raw_exec(const char *db, const char *q);
long long raw_int(const char *q); /* first column of the first row, -1 on error */
void fp_of(const char *text, uint8_t fp[LF_FINGERPRINT_LEN]);
struct lf_store_conn *conn(void); /* the shared connection of the main thread */
void conn_reset(void);            /* close it; the next conn() reconnects */
/* conn() as the test user (a database of an older schema, whose
 * procedures were SQL SECURITY INVOKER) or, again, as the runtime user */
void conn_as_admin(bool on);
/* (Re)give the runtime user exactly what `ledgerflowctl grants` prints
 * (fx_main does after .migrate; a test that migrates itself, again). */
bool fx_runtime_grants(void);
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

/* The fixture: every database test program's main() is a table of suites
 * (lf_cunit.h) and one call, as with the daemon fixture in harness.h:
 *
 *	static const struct lf_test tests[] = {{"create account", test_create_account}, ...};
 *	static const struct lf_suite suites[] = {{"store", LF_TESTS(tests)}};
 *	static const struct fx_opts opts = {.name = "store", .migrate = true};
 *	return fx_main(suites, LF_COUNT(suites), &opts);
 *
 * fx_main reads LF_TEST_MYSQL_* (LF_TEST_MYSQL_PORT unset: returns 77,
 * skipped), creates ledgerflow_test_<pid>, applies sql/ when asked and
 * then gives the runtime user its grants (a failure there says so and
 * returns 1), runs the suites, then closes the shared connection and drops
 * the database and the runtime user. Returns the exit code: 0 all
 * passed, 1 a failure. */
struct fx_opts {
	const char *name; /* "store": messages say test_store */
	bool migrate;     /* apply sql/ before the tests (else an empty database) */
};
int fx_main(const struct lf_suite *suites, size_t n, const struct fx_opts *opts);

#endif
