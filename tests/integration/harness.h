/*
 * harness.h - what the integration tests share: the fixture that sets a
 * program up (the servers the test command started, from LF_TEST_*
 * environment variables; a fresh database per test program; a real
 * ledgerflowd started from the build tree) and runs its suites, a small
 * blocking HTTP/1.1 client on loopback, Redis requests, and process
 * inspection. harness.c has the fixture and servers, harness_client.c the
 * clients.
 */
#ifndef LF_TEST_HARNESS_H
#define LF_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../lf_cunit.h"

#define LF_H_SKIP 77

/* Two database users: mysql_user (LF_TEST_MYSQL_USER) is the privileged
 * login that creates the databases, migrates (the daemons' [mysql]
 * admin_user, so ledgerflowctl's admin commands use it) and runs the
 * tests' own SQL; the daemons run as runtime_user, created by the harness
 * for this program and given exactly what `ledgerflowctl grants` prints
 * after every migrate, so the whole suite proves those grants enough. */
struct lf_h_env {
	char mysql_host[64];
	unsigned mysql_port;
	char mysql_user[64];
	char mysql_password[64];
	char runtime_user[64]; /* lf_rt_<pid> */
	char runtime_password[64];
	char runtime_host[64]; /* the host part of its account */
	unsigned redis_port;
	char builddir[1024];
	char srcdir[1024];
	char services[1200];  /* contrib/dev/services.sh */
	char state_dir[1024]; /* the services' state directory, for stop/start */
};

/* Reads the environment; false when the servers are not configured (the
 * test program then exits LF_H_SKIP). */
bool lf_h_env_load(struct lf_h_env *env);

/* Create an empty database (dropped first if it exists). */
bool lf_h_db_create(const struct lf_h_env *env, const char *name);
bool lf_h_db_drop(const struct lf_h_env *env, const char *name);
/* Run one SQL statement as the test user (no result rows returned). */
bool lf_h_sql(const struct lf_h_env *env, const char *db, const char *sql);

/* Run a query returning one integer (first column of the first row). */
bool lf_h_sql_int(const struct lf_h_env *env, const char *db, const char *sql, long long *out);

struct lf_h_daemon {
	pid_t pid;
	unsigned port;
	char dir[256]; /* private temp dir: config, log, pid file */
	char conf[300];
	char log[300];
	char pidfile[300];
	char db[64];
};

/* Create the runtime user if needed and give it exactly what
 * `ledgerflowctl -c d->conf grants` prints for it on d->db (lf_h_ctl does
 * after every migrate). */
bool lf_h_runtime_grants(const struct lf_h_env *env, const struct lf_h_daemon *d);
/* Drop the runtime user (the fixture does at the end). */
bool lf_h_runtime_drop(const struct lf_h_env *env);

/* Write a configuration for database `db` into a fresh temp dir: the
 * daemon connects as the runtime user, ledgerflowctl's admin commands as
 * the test user; extra is appended verbatim (more sections/keys). */
bool lf_h_daemon_config(const struct lf_h_env *env, struct lf_h_daemon *d, const char *db,
			int workers, const char *extra);
/* Rewrite the config file (for reload tests). */
bool lf_h_daemon_rewrite(const struct lf_h_env *env, struct lf_h_daemon *d, int workers,
			 const char *extra);
/* Run `ledgerflowctl -c conf ARGS...` and return its exit status. After a
 * successful "migrate" the runtime user gets its grants
 * (lf_h_runtime_grants); of a database not seen before, an admin client is
 * created there and its key (lf_h_admin_key) becomes the one the HTTP
 * helpers send (lf_h_auth_use). */
int lf_h_ctl(const struct lf_h_env *env, const struct lf_h_daemon *d, const char *command);
/* Run a ledgerflowctl command that prints a key on its last line (client
 * create, client rotate); the key into key. Returns the exit status. */
int lf_h_ctl_key(const struct lf_h_env *env, const struct lf_h_daemon *d, const char *command,
		 char *key, size_t len);
/* The admin client's key of the database last migrated, and its name. */
extern char lf_h_admin_key[128];
extern char lf_h_admin_db[64];
extern uint64_t lf_h_admin_id; /* its client id: tier keys are lf:idem:<id>:<key> */

/* Start ledgerflowd -f and wait until /healthz answers (10 s at most). */
bool lf_h_daemon_start(const struct lf_h_env *env, struct lf_h_daemon *d);
/* Send sig and wait for the master to exit (timeout_ms); returns its
 * exit status or -1 on timeout (then it is killed). */
int lf_h_daemon_stop(struct lf_h_daemon *d, int sig, int timeout_ms);
/* Does the daemon's log contain the text? */
bool lf_h_log_contains(const struct lf_h_daemon *d, const char *text);

/* Children of `master` named lf-worker; returns how many (at most max). */
int lf_h_workers(pid_t master, pid_t *pids, int max);

/* ---- HTTP ---- */
struct lf_h_resp {
	int status;
	char headers[4096]; /* raw header block, lower-cased names kept as sent */
	char *body;         /* malloc'd, NUL-terminated */
	size_t body_len;
	bool conn_close; /* the response said Connection: close */
};
void lf_h_resp_free(struct lf_h_resp *r);
/* Value of a response header (case-insensitive name) into buf; false if absent. */
bool lf_h_header(const struct lf_h_resp *r, const char *name, char *buf, size_t len);

/* A keep-alive connection. */
struct lf_h_conn {
	int fd;
	unsigned port;
};
bool lf_h_connect(struct lf_h_conn *c, unsigned port);
/* Send all of p[0..n) on fd (MSG_NOSIGNAL, EINTR retried); false when the
 * peer closed or failed first. */
bool lf_h_send_all(int fd, const char *p, size_t n);
void lf_h_close(struct lf_h_conn *c);
/* Send a request on c and read the response. extra_headers is a block of
 * "Name: value\r\n" lines or NULL. Returns 0 on success; -1 when sending
 * failed before anything was sent (a retry is safe); -2 when the request
 * was sent and no complete response came back (a failure for the tests). */
int lf_h_request(struct lf_h_conn *c, const char *method, const char *path,
		 const char *extra_headers, const char *body, struct lf_h_resp *resp);
/* The API key the requests carry (Authorization: Bearer) unless their
 * extra headers name an Authorization of their own; NULL or "": none. */
void lf_h_auth_use(const char *key);
const char *lf_h_auth_key(void);

/* One request on a fresh connection. */
int lf_h_http(unsigned port, const char *method, const char *path, const char *extra_headers,
	      const char *body, struct lf_h_resp *resp);

/* A POST /api/payments with a key; returns the status (or -1). */
int lf_h_pay(unsigned port, const char *key, const char *from, const char *to, const char *amount,
	     struct lf_h_resp *resp);

int64_t lf_h_now_ms(void);
unsigned lf_h_free_port(void);

/* ---- helpers of the API tests ---- */
/* Send raw request bytes on a fresh connection and read one response. A
 * send that fails part-way (the server answered early and closed) still
 * reads the response. Returns as lf_h_request. */
int lf_h_raw(unsigned port, const char *request, size_t len, struct lf_h_resp *resp);
/* Members of a JSON object body: a string (false when absent, null or not a
 * string), an integer, or whether the member is present and null. */
bool lf_h_json_str(const char *body, const char *name, char *buf, size_t len);
bool lf_h_json_int(const char *body, const char *name, long long *out);
bool lf_h_json_null(const char *body, const char *name);
/* A response amount ("12.50": exactly `exponent` fraction digits, no
 * leading zeros; "-12.50" for an issuance account's balance) in minor
 * units; false when it is not written that way. */
bool lf_h_minor(const char *s, int exponent, int64_t *out);
/* A ledger entry as GET /api/accounts/{id}/ledger gives it; amounts in
 * minor units (-1 when not written with exactly the currency's digits). */
struct lf_h_entry {
	char id[40], payment[40], account[40], direction[8], created[40];
	char hash[72]; /* 64 lowercase hex characters */
	bool payment_null;
	int64_t amount, balance_after;
};
/* One page of an account's ledger: query is "" or "?limit=..&cursor=..";
 * the next cursor into cursor ("" when null). Returns the number of
 * entries, or -1 (not a 200 application/json page, or more than max). */
int lf_h_ledger(unsigned port, const char *account, const char *query, int exponent,
		struct lf_h_entry *out, int max, char *cursor, size_t clen);
/* POST /api/accounts with name, currency and (unless NULL) initialBalance
 * as a string; the new id into id. Returns the status, -1 on failure. */
int lf_h_account(unsigned port, const char *name, const char *currency, const char *initial,
		 char id[37]);
/* GET /api/accounts/{id}: the balance text into buf. Returns the status. */
int lf_h_balance(unsigned port, const char *id, char *buf, size_t len);

/* ---- helpers of the idempotency tests ---- */
/* One sample of GET /metrics: series is the exact text before the value,
 * e.g. `ledgerflow_payments_total{status="completed"}`. */
bool lf_h_metric(unsigned port, const char *series, long long *out);
/* How many lines of the daemon's log contain text. */
int lf_h_log_count(const struct lf_h_daemon *d, const char *text);
/* One command to the test Redis (2 s timeout). *type is the reply's first
 * byte (+ - : $ *), or '0' for a nil bulk; *num an integer reply or a
 * bulk's length; buf (truncated, NUL-terminated) the text of a simple,
 * error or bulk reply. False on a connection or protocol failure. */
bool lf_h_redis(const struct lf_h_env *env, int argc, const char *const *argv, char *type,
		long long *num, char *buf, size_t len);
/* `contrib/dev/services.sh COMMAND STATE_DIR` (redis-stop, redis-start);
 * its exit status. */
int lf_h_services(const struct lf_h_env *env, const char *command);
/* The test Redis server's pid (STATE_DIR/redis.pid), 0 when unknown. */
pid_t lf_h_redis_pid(const struct lf_h_env *env);

/* ---- the fixture: every daemon-based test program's main() ----
 *
 *	static const struct lf_test payments[] = {{"201 and Location", test_created}, ...};
 *	static const struct lf_suite suites[] = {{"payments", LF_TESTS(payments)}};
 *	static const struct lf_h_fixture_opts opts = {.name = "api", .seed = true};
 *	return lf_h_fixture_main(suites, LF_COUNT(suites), &opts);
 *
 * lf_h_fixture_main loads the environment (exit LF_H_SKIP without the
 * servers), ignores SIGPIPE, creates the database lf_<name>_<pid>, writes
 * a config, migrates, seeds, starts ledgerflowd and runs opts->setup; when
 * any of that fails it says which step and where the log is, and returns
 * 1. Then it runs the suites (lf_cunit_main), opts->teardown, stops the
 * daemon with SIGTERM (a daemon that does not exit 0 within 15 s fails the
 * program) and drops the database. SIGTERM/SIGINT (the test timeout) run
 * opts->on_signal and kill the daemon's process group. The tests reach
 * the servers, the daemon and the database through fx. */
struct lf_h_fixture_opts {
	const char *name;        /* "api": messages say test_api, database lf_api_<pid> */
	int workers;             /* the daemon's workers; 0: 2 */
	const char *extra_conf;  /* appended to the daemon's config (more sections/keys) */
	bool seed;               /* ledgerflowctl seed after migrate */
	bool no_daemon;          /* the database only: the tests start their own daemons */
	bool need_state_dir;     /* the tests stop/start servers: skip without LF_TEST_STATE_DIR */
	int (*setup)(void);      /* after the daemon is up, before the tests; non-zero fails,
				  * LF_H_SKIP skips the program */
	void (*teardown)(void);  /* after the tests (or a failed set-up), before the stop */
	void (*on_signal)(void); /* async-signal-safe restore on SIGTERM/SIGINT */
};

struct lf_h_fixture {
	struct lf_h_env env;
	struct lf_h_daemon d; /* the program's daemon (unused with no_daemon) */
	char db[64];          /* its database */
};
extern struct lf_h_fixture fx;

int lf_h_fixture_main(const struct lf_suite *suites, size_t n,
		      const struct lf_h_fixture_opts *opts);

#endif
