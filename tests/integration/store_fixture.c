/*
 * store_fixture.c - see store_fixture.h: the fixture of the database
 * integration tests (environment, private database, running the suites)
 * and the helpers they share.
 */
#include "config.h"

#include "store_fixture.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct lf_db_params P;
struct lf_db_params RT;
char rt_user[64], rt_host[64];
static char rt_password[64];
char dbname[64];
char sql_dir[1024];
int64_t T0;
FILE *quiet;
static struct lf_store_conn *C;

int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

MYSQL *raw_connect(const char *db)
{
	MYSQL *m = mysql_init(NULL);
	if (!m)
		return NULL;
	if (!mysql_real_connect(m, P.host, P.user, P.password, db, P.port, NULL, 0)) {
		fprintf(stderr, "raw connect: %s\n", mysql_error(m));
		mysql_close(m);
		return NULL;
	}
	return m;
}

MYSQL *rt_connect(void)
{
	MYSQL *m = mysql_init(NULL);
	if (!m)
		return NULL;
	if (!mysql_real_connect(m, RT.host, RT.user, RT.password, dbname, RT.port, NULL, 0)) {
		fprintf(stderr, "runtime connect: %s\n", mysql_error(m));
		mysql_close(m);
		return NULL;
	}
	return m;
}

bool raw_exec(const char *db, const char *q)
{
	MYSQL *m = raw_connect(db);
	if (!m)
		return false;
	bool ok = mysql_query(m, q) == 0;
	if (!ok)
		fprintf(stderr, "raw exec %s: %s\n", q, mysql_error(m));
	mysql_close(m);
	return ok;
}

long long raw_int(const char *q)
{
	MYSQL *m = raw_connect(dbname);
	long long v = -1;
	if (m && mysql_query(m, q) == 0) {
		MYSQL_RES *r = mysql_store_result(m);
		MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
		if (row && row[0])
			v = atoll(row[0]);
		if (r)
			mysql_free_result(r);
	}
	if (m)
		mysql_close(m);
	return v;
}

void fp_of(const char *text, uint8_t fp[LF_FINGERPRINT_LEN])
{
	memset(fp, 0, LF_FINGERPRINT_LEN);
	for (size_t i = 0; text[i]; i++)
		fp[i % LF_FINGERPRINT_LEN] = (uint8_t)(fp[i % LF_FINGERPRINT_LEN] * 31 + text[i]);
}

static bool conn_admin;

void conn_as_admin(bool on)
{
	conn_reset();
	conn_admin = on;
}

struct lf_store_conn *conn(void)
{
	if (!C) {
		char err[512];
		C = lf_store_connect(conn_admin ? &P : &RT, err, sizeof err);
		if (!C)
			fprintf(stderr, "connect: %s\n", err);
	}
	return C;
}

void conn_reset(void)
{
	lf_store_close(C);
	C = NULL;
}

lf_rc create_account(struct lf_store_conn *c, const char *key, lf_uuid *id, const char *name,
		     const char *cur, int64_t initial, enum lf_create_result *res,
		     struct lf_stored *st)
{
	struct lf_create_account_req r;
	char body[128], loc[64], idtxt[LF_UUID_STR_LEN + 1];
	memset(&r, 0, sizeof r);
	lf_uuid_format(id, idtxt);
	snprintf(body, sizeof body, "{\"id\":\"%s\",\"name\":\"%s\"}", idtxt, name);
	snprintf(loc, sizeof loc, "/api/accounts/%s", idtxt);
	r.client_id = CLIENT;
	r.idem_key = key;
	r.idem_key_len = key ? strlen(key) : 0;
	fp_of(key ? key : "none", r.fingerprint);
	r.id = *id;
	r.name = name;
	r.currency = cur;
	r.initial_balance = initial;
	lf_uuid_v7(&r.opening_entry_id);
	lf_uuid_v7(&r.issuance_entry_id);
	r.created_ms = T0;
	r.expires_ms = T0 + 86400000;
	r.body = body;
	r.body_len = strlen(body);
	r.location = loc;
	return lf_store_create_account(c, &r, res, st);
}

lf_uuid new_account(const char *name, const char *cur, int64_t initial)
{
	lf_uuid id;
	lf_uuid_v7(&id);
	enum lf_create_result res = LF_CREATE_EXISTS;
	struct lf_stored st;
	CU_ASSERT_EQUAL(create_account(conn(), NULL, &id, name, cur, initial, &res, &st), LF_OK);
	CU_ASSERT_EQUAL(res, LF_CREATE_CREATED);
	lf_stored_clear(&st);
	return id;
}

void xfer_init(struct xfer *x, const char *key, const lf_uuid *from, const lf_uuid *to,
	       int64_t amount, const char *cur, const char *ref)
{
	char idtxt[LF_UUID_STR_LEN + 1];
	memset(x, 0, sizeof *x);
	snprintf(x->key, sizeof x->key, "%s", key);
	lf_uuid_v7(&x->r.payment_id);
	lf_uuid_v7(&x->r.debit_entry_id);
	lf_uuid_v7(&x->r.credit_entry_id);
	lf_uuid_format(&x->r.payment_id, idtxt);
	snprintf(x->body_ok, sizeof x->body_ok, "{\"id\":\"%s\",\"status\":\"COMPLETED\"}", idtxt);
	snprintf(x->body_no, sizeof x->body_no, "{\"code\":\"insufficient_funds\",\"p\":\"%s\"}",
		 idtxt);
	snprintf(x->loc, sizeof x->loc, "/api/payments/%s", idtxt);
	x->r.client_id = CLIENT;
	x->r.idem_key = x->key;
	x->r.idem_key_len = strlen(x->key);
	fp_of(key, x->r.fingerprint);
	x->r.from = *from;
	x->r.to = *to;
	x->r.amount = amount;
	x->r.currency = cur;
	x->r.reference = ref;
	x->r.created_ms = T0;
	x->r.expires_ms = T0 + 86400000;
	x->r.body_completed = x->body_ok;
	x->r.body_completed_len = strlen(x->body_ok);
	x->r.body_declined = x->body_no;
	x->r.body_declined_len = strlen(x->body_no);
	x->r.event_declined = x->body_no;
	x->r.event_declined_len = strlen(x->body_no);
	x->r.location = x->loc;
}

int64_t balance_of(const lf_uuid *id)
{
	struct lf_account a;
	if (lf_store_get_account(conn(), id, &FX_ADMIN, &a) != LF_OK)
		return -1;
	return a.balance;
}

int reconcile_quiet(void)
{
	static const struct lf_reconcile_opts full = {.full = true};
	return lf_admin_reconcile(&P, &full, quiet);
}

/* ---- the fixture ---- */

/* Several statements in one text, as the test user; every result read. */
static bool raw_script(const char *db, const char *text)
{
	MYSQL *m = mysql_init(NULL);
	if (!m || !mysql_real_connect(m, P.host, P.user, P.password, db, P.port, NULL,
				      CLIENT_MULTI_STATEMENTS)) {
		fprintf(stderr, "raw connect: %s\n", m ? mysql_error(m) : "out of memory");
		if (m)
			mysql_close(m);
		return false;
	}
	int st = mysql_query(m, text);
	while (st == 0) {
		MYSQL_RES *r = mysql_store_result(m);
		if (r)
			mysql_free_result(r);
		st = mysql_next_result(m);
	}
	if (st != -1)
		fprintf(stderr, "raw script: %s\n", mysql_error(m));
	mysql_close(m);
	return st == -1;
}

/* The runtime user (the server's), with exactly the privileges `ledgerflowctl
 * grants` prints: lf_admin_grants_print run as the test user. */
bool fx_runtime_grants(void)
{
	char q[512];
	snprintf(q, sizeof q, "CREATE USER IF NOT EXISTS '%s'@'%s' IDENTIFIED BY '%s'", rt_user,
		 rt_host, rt_password);
	if (!raw_exec(NULL, q))
		return false;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return false;
	bool ok = lf_admin_grants_print(dbname, rt_user, rt_host, f, stderr) == LF_OK;
	ok = fclose(f) == 0 && ok && raw_script(dbname, text);
	free(text);
	return ok;
}

/* A fresh database (dropped first if it exists), migrated on request. */
static const char *fixture_setup(bool migrate)
{
	char q[128];
	snprintf(q, sizeof q, "DROP DATABASE IF EXISTS %s", dbname);
	if (!raw_exec(P.database, q))
		return "dropping an old database";
	snprintf(q, sizeof q, "CREATE DATABASE %s CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
		 dbname);
	if (!raw_exec(P.database, q))
		return "creating the database";
	P.database = dbname;
	if (migrate && !lf_admin_migrate(&P, sql_dir, stderr))
		return "migrating it";
	if (migrate && !fx_runtime_grants())
		return "the runtime user's grants";
	return NULL;
}

static bool fixture_teardown(void)
{
	char q[256];
	lf_store_close(C);
	C = NULL;
	snprintf(q, sizeof q, "DROP USER IF EXISTS '%s'@'%s'", rt_user, rt_host);
	bool ok = raw_exec(NULL, q);
	snprintf(q, sizeof q, "DROP DATABASE IF EXISTS %s", dbname);
	return raw_exec(NULL, q) && ok;
}

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);
	return v && *v ? v : dflt;
}

int fx_main(const struct lf_suite *suites, size_t n, const struct fx_opts *opts)
{
	const char *port = getenv("LF_TEST_MYSQL_PORT");
	if (!port || !*port) {
		printf("LF_TEST_MYSQL_PORT is not set: skipping test_%s\n", opts->name);
		return 77;
	}
	P.host = env_or("LF_TEST_MYSQL_HOST", "127.0.0.1");
	P.port = (unsigned)atoi(port);
	P.user = env_or("LF_TEST_MYSQL_USER", "ledgerflow");
	P.password = env_or("LF_TEST_MYSQL_PASSWORD", "");
	P.database = getenv("LF_TEST_MYSQL_DATABASE");
	P.connect_timeout_s = 5;
	P.rw_timeout_s = 60;
	P.lock_wait_timeout_s = 10;
	snprintf(dbname, sizeof dbname, "ledgerflow_test_%ld", (long)getpid());
	/* the server's user: the store runs as it (conn()), the admin parts
	 * (migrate, seed, reconcile, the tests' own SQL) as P's */
	snprintf(rt_user, sizeof rt_user, "lf_rt_%ld", (long)getpid());
	snprintf(rt_password, sizeof rt_password, "rt-%ld-%ld", (long)getpid(), (long)time(NULL));
	bool local = strcmp(P.host, "127.0.0.1") == 0 || strcmp(P.host, "localhost") == 0 ||
		     strcmp(P.host, "::1") == 0;
	snprintf(rt_host, sizeof rt_host, "%s", local ? P.host : "%");
	RT = P;
	RT.user = rt_user;
	RT.password = rt_password;
	RT.database = dbname;
	const char *dir = getenv("LF_TEST_SQL_DIR");
	const char *top = getenv("LF_SRCDIR");
	const char *srcdir = getenv("srcdir");
	if (dir && *dir)
		snprintf(sql_dir, sizeof sql_dir, "%s", dir);
	else if (top && *top)
		snprintf(sql_dir, sizeof sql_dir, "%s/sql", top);
	else if (srcdir && *srcdir)
		snprintf(sql_dir, sizeof sql_dir, "%s/sql", srcdir);
	else
		snprintf(sql_dir, sizeof sql_dir, "sql");
	T0 = now_ms() / 1000 * 1000 + 123;
	mysql_library_init(0, NULL, NULL);
	/* LF_TEST_VERBOSE shows the admin output (migrate, seed, reconcile). */
	quiet = getenv("LF_TEST_VERBOSE") ? stderr : fopen("/dev/null", "w");
	if (!quiet)
		quiet = stderr;

	int rc;
	const char *failed = fixture_setup(opts->migrate);
	if (failed != NULL) {
		fprintf(stderr, "test_%s: set-up failed: %s (%s on %s:%u; errors above)\n",
			opts->name, failed, dbname, P.host, P.port);
		rc = 1;
	} else {
		rc = lf_cunit_main(suites, n);
	}
	if (!fixture_teardown()) {
		fprintf(stderr, "test_%s: could not drop %s\n", opts->name, dbname);
		rc = 1;
	}
	mysql_library_end();
	if (quiet != stderr)
		fclose(quiet);
	return rc;
}
