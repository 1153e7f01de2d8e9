/*
 * harness.h - what the integration tests share: the servers the test
 * command started (from LF_TEST_* environment variables), a fresh database
 * per test program, a real ledgerflowd started from the build tree, a
 * small blocking HTTP/1.1 client on loopback, and process inspection.
 */
#ifndef LF_TEST_HARNESS_H
#define LF_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LF_H_SKIP 77

struct lf_h_env {
	char mysql_host[64];
	unsigned mysql_port;
	char mysql_user[64];
	char mysql_password[64];
	unsigned redis_port;
	char builddir[1024];
	char srcdir[1024];
	char services[1200];   /* contrib/dev/services.sh */
	char state_dir[1024];  /* the services' state directory, for stop/start */
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
	char dir[256];       /* private temp dir: config, log, pid file */
	char conf[300];
	char log[300];
	char pidfile[300];
	char db[64];
};

/* Write a configuration for database `db` into a fresh temp dir; extra is
 * appended verbatim (more sections/keys). */
bool lf_h_daemon_config(const struct lf_h_env *env, struct lf_h_daemon *d, const char *db,
			int workers, const char *extra);
/* Rewrite the config file (for reload tests). */
bool lf_h_daemon_rewrite(const struct lf_h_env *env, struct lf_h_daemon *d, int workers,
			 const char *extra);
/* Run `ledgerflowctl -c conf ARGS...` and return its exit status. */
int lf_h_ctl(const struct lf_h_env *env, const struct lf_h_daemon *d, const char *command);
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
	char headers[4096];  /* raw header block, lower-cased names kept as sent */
	char *body;          /* malloc'd, NUL-terminated */
	size_t body_len;
	bool conn_close;     /* the response said Connection: close */
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
void lf_h_close(struct lf_h_conn *c);
/* Send a request on c and read the response. extra_headers is a block of
 * "Name: value\r\n" lines or NULL. Returns 0 on success; -1 when sending
 * failed before anything was sent (a retry is safe); -2 when the request
 * was sent and no complete response came back (a failure for the tests). */
int lf_h_request(struct lf_h_conn *c, const char *method, const char *path,
		 const char *extra_headers, const char *body, struct lf_h_resp *resp);
/* One request on a fresh connection. */
int lf_h_http(unsigned port, const char *method, const char *path, const char *extra_headers,
	      const char *body, struct lf_h_resp *resp);

/* A POST /api/payments with a key; returns the status (or -1). */
int lf_h_pay(unsigned port, const char *key, const char *from, const char *to, const char *amount,
	     struct lf_h_resp *resp);

int64_t lf_h_now_ms(void);
unsigned lf_h_free_port(void);

#endif
