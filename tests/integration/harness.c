/*
 * harness.c - the integration tests' fixture and servers (harness.h): the
 * environment, a database per program, ledgerflowd started from the build
 * tree and stopped again, its log, worker processes and the services
 * script, and the runtime user the daemons connect as. The clients (HTTP,
 * Redis) are in harness_client.c.
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mysql.h>

#include "harness.h"

int64_t lf_h_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void copy_env(char *dst, size_t len, const char *name, const char *def)
{
	const char *v = getenv(name);
	snprintf(dst, len, "%s", v ? v : def);
}

bool lf_h_env_load(struct lf_h_env *env)
{
	memset(env, 0, sizeof *env);
	const char *port = getenv("LF_TEST_MYSQL_PORT");
	const char *rport = getenv("LF_TEST_REDIS_PORT");
	if (port == NULL || rport == NULL) {
		fprintf(stderr, "LF_TEST_MYSQL_PORT / LF_TEST_REDIS_PORT not set: skipping "
				"(run contrib/dev/test.sh)\n");
		return false;
	}
	env->mysql_port = (unsigned)atoi(port);
	env->redis_port = (unsigned)atoi(rport);
	copy_env(env->mysql_host, sizeof env->mysql_host, "LF_TEST_MYSQL_HOST", "127.0.0.1");
	copy_env(env->mysql_user, sizeof env->mysql_user, "LF_TEST_MYSQL_USER", "ledgerflow");
	copy_env(env->mysql_password, sizeof env->mysql_password, "LF_TEST_MYSQL_PASSWORD",
		 "ledgerflow");
	/* the daemons' own user, for this program only; its account's host is
	 * the address they connect from */
	snprintf(env->runtime_user, sizeof env->runtime_user, "lf_rt_%ld", (long)getpid());
	snprintf(env->runtime_password, sizeof env->runtime_password, "rt-%ld-%ld", (long)getpid(),
		 (long)time(NULL));
	const char *h = env->mysql_host;
	bool local =
		strcmp(h, "127.0.0.1") == 0 || strcmp(h, "localhost") == 0 || strcmp(h, "::1") == 0;
	snprintf(env->runtime_host, sizeof env->runtime_host, "%s", local ? h : "%");
	copy_env(env->builddir, sizeof env->builddir, "LF_BUILDDIR", ".");
	copy_env(env->srcdir, sizeof env->srcdir, "LF_SRCDIR", ".");
	copy_env(env->state_dir, sizeof env->state_dir, "LF_TEST_STATE_DIR", "");
	snprintf(env->services, sizeof env->services, "%s/contrib/dev/services.sh", env->srcdir);
	/* authentication is on by default: the daemons and ledgerflowctl of
	 * this program share one private pepper (never the system's) */
	if (getenv("LEDGERFLOW_AUTH_PEPPER_FILE") == NULL) {
		const char *tmp = getenv("LF_TEST_TMPDIR");
		char pepper[1200];
		snprintf(pepper, sizeof pepper, "%s/pepper-%ld", tmp && *tmp ? tmp : "/tmp",
			 (long)getpid());
		setenv("LEDGERFLOW_AUTH_PEPPER_FILE", pepper, 1);
	}
	return true;
}

char lf_h_admin_key[128];
char lf_h_admin_db[64];
uint64_t lf_h_admin_id;

static MYSQL *connect_db_flags(const struct lf_h_env *env, const char *db, unsigned long flags)
{
	MYSQL *m = mysql_init(NULL);
	if (m == NULL)
		return NULL;
	unsigned timeout = 10;
	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	if (mysql_real_connect(m, env->mysql_host, env->mysql_user, env->mysql_password, db,
			       env->mysql_port, NULL, flags) == NULL) {
		fprintf(stderr, "harness: mysql connect: %s\n", mysql_error(m));
		mysql_close(m);
		return NULL;
	}
	return m;
}

static MYSQL *connect_db(const struct lf_h_env *env, const char *db)
{
	return connect_db_flags(env, db, 0);
}

bool lf_h_sql(const struct lf_h_env *env, const char *db, const char *sql)
{
	MYSQL *m = connect_db(env, db);
	if (m == NULL)
		return false;
	bool ok = mysql_query(m, sql) == 0;
	if (!ok)
		fprintf(stderr, "harness: %s: %s\n", sql, mysql_error(m));
	MYSQL_RES *res = mysql_store_result(m);
	if (res)
		mysql_free_result(res);
	mysql_close(m);
	return ok;
}

bool lf_h_sql_int(const struct lf_h_env *env, const char *db, const char *sql, long long *out)
{
	MYSQL *m = connect_db(env, db);
	if (m == NULL)
		return false;
	bool ok = false;
	if (mysql_query(m, sql) == 0) {
		MYSQL_RES *res = mysql_store_result(m);
		MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
		if (row && row[0]) {
			*out = atoll(row[0]);
			ok = true;
		}
		if (res)
			mysql_free_result(res);
	} else {
		fprintf(stderr, "harness: %s: %s\n", sql, mysql_error(m));
	}
	mysql_close(m);
	return ok;
}

/* Several statements in one text, as the test user; every result read. */
static bool sql_script(const struct lf_h_env *env, const char *db, const char *text)
{
	MYSQL *m = connect_db_flags(env, db, CLIENT_MULTI_STATEMENTS);
	if (m == NULL)
		return false;
	int st = mysql_query(m, text);
	while (st == 0) {
		MYSQL_RES *res = mysql_store_result(m);
		if (res)
			mysql_free_result(res);
		st = mysql_next_result(m);
	}
	bool ok = st == -1;
	if (!ok)
		fprintf(stderr, "harness: %s\n", mysql_error(m));
	mysql_close(m);
	return ok;
}

bool lf_h_runtime_grants(const struct lf_h_env *env, const struct lf_h_daemon *d)
{
	char sql[512];
	snprintf(sql, sizeof sql, "CREATE USER IF NOT EXISTS '%s'@'%s' IDENTIFIED BY '%s'",
		 env->runtime_user, env->runtime_host, env->runtime_password);
	if (!lf_h_sql(env, NULL, sql))
		return false;
	/* the user is the configuration's: grants' default */
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "'%s/ledgerflowctl' -c '%s' grants --host '%s' 2>>'%s'",
		 env->builddir, d->conf, env->runtime_host, d->log);
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return false;
	static char text[64 * 1024];
	size_t n = fread(text, 1, sizeof text - 1, p);
	text[n] = '\0';
	int st = pclose(p);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || n == 0 || n == sizeof text - 1) {
		fprintf(stderr, "harness: ledgerflowctl grants failed; log %s\n", d->log);
		return false;
	}
	return sql_script(env, d->db, text);
}

bool lf_h_runtime_drop(const struct lf_h_env *env)
{
	char sql[256];
	snprintf(sql, sizeof sql, "DROP USER IF EXISTS '%s'@'%s'", env->runtime_user,
		 env->runtime_host);
	return lf_h_sql(env, NULL, sql);
}

bool lf_h_db_create(const struct lf_h_env *env, const char *name)
{
	char sql[256];
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS `%s`", name);
	if (!lf_h_sql(env, NULL, sql))
		return false;
	snprintf(sql, sizeof sql, "CREATE DATABASE `%s` CHARACTER SET utf8mb4", name);
	return lf_h_sql(env, NULL, sql);
}

bool lf_h_db_drop(const struct lf_h_env *env, const char *name)
{
	char sql[256];
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS `%s`", name);
	return lf_h_sql(env, NULL, sql);
}

unsigned lf_h_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	unsigned port = 0;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static bool write_config(const struct lf_h_env *env, struct lf_h_daemon *d, int workers,
			 const char *extra)
{
	/* it holds the database password: 0600, as an operator would */
	int fd = open(d->conf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f == NULL) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	fchmod(fd, 0600);
	fprintf(f,
		"[server]\nlisten = 127.0.0.1:%u\nworkers = %d\npid_file = %s\n"
		"shutdown_timeout = 10s\nrequest_timeout = 5s\n"
		"[mysql]\nhost = %s\nport = %u\nuser = %s\npassword = %s\nadmin_user = %s\n"
		"admin_password = %s\ndatabase = %s\n"
		"pool_size = 4\nrequest_timeout = 3s\nconnect_timeout = 1s\n"
		"[redis]\nhost = 127.0.0.1\nport = %u\n"
		"[cache]\nsize = 4M\n"
		"[auth]\npepper_file = %s/pepper\n"
		"[paths]\nsql_dir = %s/sql\n%s",
		d->port, workers, d->pidfile, env->mysql_host, env->mysql_port, env->runtime_user,
		env->runtime_password, env->mysql_user, env->mysql_password, d->db, env->redis_port,
		d->dir, env->srcdir, extra ? extra : "");
	return fclose(f) == 0;
}

bool lf_h_daemon_config(const struct lf_h_env *env, struct lf_h_daemon *d, const char *db,
			int workers, const char *extra)
{
	memset(d, 0, sizeof *d);
	/* the test command collects every daemon's log under LF_TEST_TMPDIR
	 * and fails the run when a sanitizer reported anything there */
	const char *tmp = getenv("LF_TEST_TMPDIR");
	snprintf(d->dir, sizeof d->dir, "%s/lf-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(d->dir) == NULL)
		return false;
	snprintf(d->conf, sizeof d->conf, "%s/ledgerflow.conf", d->dir);
	snprintf(d->log, sizeof d->log, "%s/ledgerflowd.log", d->dir);
	snprintf(d->pidfile, sizeof d->pidfile, "%s/ledgerflowd.pid", d->dir);
	snprintf(d->db, sizeof d->db, "%s", db);
	d->port = lf_h_free_port();
	return d->port != 0 && write_config(env, d, workers, extra);
}

bool lf_h_daemon_rewrite(const struct lf_h_env *env, struct lf_h_daemon *d, int workers,
			 const char *extra)
{
	return write_config(env, d, workers, extra);
}

int lf_h_ctl(const struct lf_h_env *env, const struct lf_h_daemon *d, const char *command)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "'%s/ledgerflowctl' -c '%s' %s >>'%s' 2>&1", env->builddir,
		 d->conf, command, d->log);
	int st = system(cmd);
	int rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	/* the daemons' user may do exactly what grants prints, on the
	 * migrated database */
	if (rc == 0 && strcmp(command, "migrate") == 0 && !lf_h_runtime_grants(env, d))
		rc = 1;
	/* a freshly migrated database gets an admin client, whose key every
	 * request of the HTTP helpers carries unless told otherwise */
	if (rc == 0 && strcmp(command, "migrate") == 0 && strcmp(lf_h_admin_db, d->db) != 0) {
		char key[128];
		if (lf_h_ctl_key(env, d,
				 "client create harness-admin --scopes admin --rate 1000000", key,
				 sizeof key) == 0) {
			long long id = 0;
			lf_h_sql_int(env, d->db,
				     "SELECT id FROM api_clients WHERE name = 'harness-admin'",
				     &id);
			lf_h_admin_id = (uint64_t)id;
			snprintf(lf_h_admin_key, sizeof lf_h_admin_key, "%s", key);
			snprintf(lf_h_admin_db, sizeof lf_h_admin_db, "%s", d->db);
			lf_h_auth_use(lf_h_admin_key);
		}
	}
	return rc;
}

int lf_h_ctl_key(const struct lf_h_env *env, const struct lf_h_daemon *d, const char *command,
		 char *key, size_t len)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "'%s/ledgerflowctl' -c '%s' %s 2>>'%s'", env->builddir, d->conf,
		 command, d->log);
	key[0] = '\0';
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	char line[512];
	while (fgets(line, sizeof line, p) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		snprintf(key, len, "%s", line); /* the key is the last line */
	}
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

bool lf_h_daemon_start(const struct lf_h_env *env, struct lf_h_daemon *d)
{
	char bin[1100];
	snprintf(bin, sizeof bin, "%s/ledgerflowd", env->builddir);
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		setpgid(0, 0);
		execl(bin, "ledgerflowd", "-f", "-c", d->conf, (char *)NULL);
		_exit(127);
	}
	d->pid = pid;
	int64_t deadline = lf_h_now_ms() + 10000;
	bool serving = false;
	while (lf_h_now_ms() < deadline) {
		struct lf_h_resp r;
		if (!serving && lf_h_http(d->port, "GET", "/healthz", NULL, NULL, &r) == 0) {
			serving = r.status == 200;
			lf_h_resp_free(&r);
		}
		/* one worker may answer before the others are up: ready means the
		 * master said every worker of the first generation is */
		if (serving && lf_h_log_contains(d, "msg=started "))
			return true;
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			d->pid = 0;
			fprintf(stderr, "harness: ledgerflowd exited early; log %s\n", d->log);
			return false;
		}
		usleep(50 * 1000);
	}
	return false;
}

int lf_h_daemon_stop(struct lf_h_daemon *d, int sig, int timeout_ms)
{
	if (d->pid <= 0)
		return -1;
	kill(d->pid, sig);
	int64_t deadline = lf_h_now_ms() + timeout_ms;
	int status = 0;
	while (lf_h_now_ms() < deadline) {
		pid_t w = waitpid(d->pid, &status, WNOHANG);
		if (w == d->pid) {
			d->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		usleep(20 * 1000);
	}
	kill(-d->pid, SIGKILL);
	kill(d->pid, SIGKILL);
	waitpid(d->pid, &status, 0);
	d->pid = 0;
	return -1;
}

bool lf_h_log_contains(const struct lf_h_daemon *d, const char *text)
{
	FILE *f = fopen(d->log, "r");
	if (f == NULL)
		return false;
	char line[4096];
	bool found = false;
	while (!found && fgets(line, sizeof line, f))
		found = strstr(line, text) != NULL;
	fclose(f);
	return found;
}

int lf_h_workers(pid_t master, pid_t *pids, int max)
{
	DIR *dir = opendir("/proc");
	if (dir == NULL)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(dir)) != NULL && n < max) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		char path[300], buf[512];
		snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
		FILE *f = fopen(path, "r");
		if (f == NULL)
			continue;
		size_t len = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[len] = '\0';
		/* pid (comm) state ppid ... */
		char *open_paren = strchr(buf, '('), *close_paren = strrchr(buf, ')');
		if (!open_paren || !close_paren)
			continue;
		*close_paren = '\0';
		char state;
		long ppid;
		if (sscanf(close_paren + 2, "%c %ld", &state, &ppid) != 2)
			continue;
		if (ppid == master && strcmp(open_paren + 1, "lf-worker") == 0 && state != 'Z')
			pids[n++] = (pid_t)atol(e->d_name);
	}
	closedir(dir);
	return n;
}

/* ---- the daemon's log, the services ---- */

int lf_h_log_count(const struct lf_h_daemon *d, const char *text)
{
	FILE *f = fopen(d->log, "r");
	if (f == NULL)
		return 0;
	char line[4096];
	int n = 0;
	while (fgets(line, sizeof line, f))
		if (strstr(line, text) != NULL)
			n++;
	fclose(f);
	return n;
}

int lf_h_services(const struct lf_h_env *env, const char *command)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "'%s' %s '%s' >/dev/null 2>&1", env->services, command,
		 env->state_dir);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

pid_t lf_h_redis_pid(const struct lf_h_env *env)
{
	char path[1100];
	snprintf(path, sizeof path, "%s/redis.pid", env->state_dir);
	FILE *f = fopen(path, "r");
	long pid = 0;
	if (f != NULL) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return (pid_t)pid;
}

/* ---- the fixture ---- */

struct lf_h_fixture fx;
static const struct lf_h_fixture_opts *fx_opts;

/* SIGTERM/SIGINT (the test timeout, ^C): the program's own restore, then
 * the daemon's process group; only async-signal-safe calls. */
static void on_fatal_signal(int sig)
{
	if (fx_opts != NULL && fx_opts->on_signal != NULL)
		fx_opts->on_signal();
	if (fx.d.pid > 0)
		kill(-fx.d.pid, SIGKILL);
	_exit(128 + sig);
}

/* The daemon's part of the set-up; NULL, or the step that failed. */
static const char *fixture_daemon(const struct lf_h_fixture_opts *opts)
{
	int workers = opts->workers > 0 ? opts->workers : 2;
	if (!lf_h_daemon_config(&fx.env, &fx.d, fx.db, workers, opts->extra_conf))
		return "writing the daemon's config";
	if (lf_h_ctl(&fx.env, &fx.d, "migrate") != 0)
		return "ledgerflowctl migrate";
	if (opts->seed && lf_h_ctl(&fx.env, &fx.d, "seed") != 0)
		return "ledgerflowctl seed";
	if (!lf_h_daemon_start(&fx.env, &fx.d))
		return "starting ledgerflowd";
	return NULL;
}

int lf_h_fixture_main(const struct lf_suite *suites, size_t n, const struct lf_h_fixture_opts *opts)
{
	fx_opts = opts;
	if (!lf_h_env_load(&fx.env))
		return LF_H_SKIP;
	if (opts->need_state_dir && fx.env.state_dir[0] == '\0') {
		fprintf(stderr,
			"LF_TEST_STATE_DIR not set: test_%s cannot stop the servers; "
			"skipping\n",
			opts->name);
		return LF_H_SKIP;
	}
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = on_fatal_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	snprintf(fx.db, sizeof fx.db, "lf_%s_%ld", opts->name, (long)getpid());

	const char *failed = NULL;
	if (!lf_h_db_create(&fx.env, fx.db))
		failed = "creating the database";
	else if (!opts->no_daemon)
		failed = fixture_daemon(opts);
	int setup_rc = 0;
	if (failed == NULL && opts->setup != NULL && (setup_rc = opts->setup()) != 0 &&
	    setup_rc != LF_H_SKIP)
		failed = "the program's own set-up";
	int rc;
	if (setup_rc == LF_H_SKIP) {
		rc = LF_H_SKIP; /* the set-up said why */
	} else if (failed != NULL) {
		fprintf(stderr, "test_%s: set-up failed: %s; log %s\n", opts->name, failed,
			fx.d.log[0] ? fx.d.log : "(no daemon)");
		rc = 1;
	} else {
		rc = lf_cunit_main(suites, n);
	}
	if (opts->teardown != NULL)
		opts->teardown();
	if (fx.d.pid > 0 && failed != NULL) {
		lf_h_daemon_stop(&fx.d, SIGKILL, 2000);
	} else if (fx.d.pid > 0) {
		int st = lf_h_daemon_stop(&fx.d, SIGTERM, 15000);
		if (st != 0) {
			fprintf(stderr,
				"test_%s: ledgerflowd did not stop cleanly on SIGTERM "
				"(status %d); log %s\n",
				opts->name, st, fx.d.log);
			rc = 1;
		}
	}
	lf_h_db_drop(&fx.env, fx.db);
	lf_h_runtime_drop(&fx.env);
	return rc;
}
