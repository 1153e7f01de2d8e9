/*
 * harness.c - the integration tests' shared machinery (harness.h).
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

#include <json-c/json.h>
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
	copy_env(env->builddir, sizeof env->builddir, "LF_BUILDDIR", ".");
	copy_env(env->srcdir, sizeof env->srcdir, "LF_SRCDIR", ".");
	copy_env(env->state_dir, sizeof env->state_dir, "LF_TEST_STATE_DIR", "");
	snprintf(env->services, sizeof env->services, "%s/contrib/dev/services.sh", env->srcdir);
	return true;
}

static MYSQL *connect_db(const struct lf_h_env *env, const char *db)
{
	MYSQL *m = mysql_init(NULL);
	if (m == NULL)
		return NULL;
	unsigned timeout = 10;
	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	if (mysql_real_connect(m, env->mysql_host, env->mysql_user, env->mysql_password, db,
			       env->mysql_port, NULL, 0) == NULL) {
		fprintf(stderr, "harness: mysql connect: %s\n", mysql_error(m));
		mysql_close(m);
		return NULL;
	}
	return m;
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
	FILE *f = fopen(d->conf, "w");
	if (f == NULL)
		return false;
	fprintf(f,
		"[server]\nlisten = 127.0.0.1:%u\nworkers = %d\npid_file = %s\n"
		"shutdown_timeout = 10s\nrequest_timeout = 5s\n"
		"[mysql]\nhost = %s\nport = %u\nuser = %s\npassword = %s\ndatabase = %s\n"
		"pool_size = 4\nrequest_timeout = 3s\nconnect_timeout = 1s\n"
		"[redis]\nhost = 127.0.0.1\nport = %u\n"
		"[cache]\nsize = 4M\n"
		"[paths]\nsql_dir = %s/sql\n%s",
		d->port, workers, d->pidfile, env->mysql_host, env->mysql_port, env->mysql_user,
		env->mysql_password, d->db, env->redis_port, env->srcdir, extra ? extra : "");
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
	while (lf_h_now_ms() < deadline) {
		struct lf_h_resp r;
		if (lf_h_http(d->port, "GET", "/healthz", NULL, NULL, &r) == 0) {
			int st = r.status;
			lf_h_resp_free(&r);
			if (st == 200)
				return true;
		}
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

/* ---- HTTP client ---- */

void lf_h_resp_free(struct lf_h_resp *r)
{
	free(r->body);
	r->body = NULL;
}

bool lf_h_header(const struct lf_h_resp *r, const char *name, char *buf, size_t len)
{
	size_t nl = strlen(name);
	const char *p = r->headers;
	while (p && *p) {
		const char *eol = strstr(p, "\r\n");
		if (eol == NULL)
			break;
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (*v == ' ')
				v++;
			size_t vl = (size_t)(eol - v);
			if (vl >= len)
				vl = len - 1;
			memcpy(buf, v, vl);
			buf[vl] = '\0';
			return true;
		}
		p = eol + 2;
	}
	return false;
}

bool lf_h_connect(struct lf_h_conn *c, unsigned port)
{
	c->port = port;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return false;
	struct timeval tv = {10, 0};
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(c->fd);
		c->fd = -1;
		return false;
	}
	return true;
}

void lf_h_close(struct lf_h_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static bool send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Read one response (headers, then Content-Length bytes of body). */
static int read_response(int fd, struct lf_h_resp *resp)
{
	/* read until the header block is complete, then the body; the header
	 * end is kept as an offset because the buffer may move on realloc */
	size_t have = 0, bufcap = 8192;
	char *buf = malloc(bufcap + 1);
	if (buf == NULL)
		return -2;
	size_t hdr_len = 0; /* 0 until the blank line arrived */
	long content_length = -1;
	for (;;) {
		if (hdr_len != 0 && content_length >= 0 && have >= hdr_len + (size_t)content_length)
			break;
		if (have == bufcap) {
			bufcap *= 2;
			char *nb = realloc(buf, bufcap + 1);
			if (nb == NULL) {
				free(buf);
				return -2;
			}
			buf = nb;
		}
		ssize_t r = recv(fd, buf + have, bufcap - have, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(buf);
			return -2;
		}
		have += (size_t)r;
		buf[have] = '\0';
		char *hdr_end;
		if (hdr_len == 0 && (hdr_end = strstr(buf, "\r\n\r\n")) != NULL) {
			hdr_len = (size_t)(hdr_end - buf) + 4;
			size_t hl = hdr_len - 2;
			if (hl >= sizeof resp->headers)
				hl = sizeof resp->headers - 1;
			memcpy(resp->headers, buf, hl);
			resp->headers[hl] = '\0';
			char v[64];
			content_length =
				lf_h_header(resp, "Content-Length", v, sizeof v) ? atol(v) : 0;
			if (sscanf(buf, "HTTP/1.%*d %d", &resp->status) != 1) {
				free(buf);
				return -2;
			}
		}
	}
	resp->body_len = (size_t)content_length;
	resp->body = malloc(resp->body_len + 1);
	if (resp->body == NULL) {
		free(buf);
		return -2;
	}
	memcpy(resp->body, buf + hdr_len, resp->body_len);
	resp->body[resp->body_len] = '\0';
	char v[64];
	resp->conn_close =
		lf_h_header(resp, "Connection", v, sizeof v) && strcasecmp(v, "close") == 0;
	free(buf);
	return 0;
}

int lf_h_request(struct lf_h_conn *c, const char *method, const char *path,
		 const char *extra_headers, const char *body, struct lf_h_resp *resp)
{
	memset(resp, 0, sizeof *resp);
	size_t blen = body ? strlen(body) : 0;
	size_t cap = 1024 + strlen(path) + (extra_headers ? strlen(extra_headers) : 0) + blen;
	char *req = malloc(cap);
	if (req == NULL)
		return -1;
	int n = snprintf(req, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n%s", method, path,
			 c->port, extra_headers ? extra_headers : "");
	if (body != NULL)
		n += snprintf(req + n, cap - (size_t)n,
			      "Content-Type: application/json\r\nContent-Length: %zu\r\n", blen);
	n += snprintf(req + n, cap - (size_t)n, "\r\n");
	if (body != NULL) {
		memcpy(req + n, body, blen);
		n += (int)blen;
	}
	bool sent = send_all(c->fd, req, (size_t)n);
	free(req);
	if (!sent)
		return -1;

	return read_response(c->fd, resp);
}

int lf_h_http(unsigned port, const char *method, const char *path, const char *extra_headers,
	      const char *body, struct lf_h_resp *resp)
{
	struct lf_h_conn c;
	memset(resp, 0, sizeof *resp);
	if (!lf_h_connect(&c, port))
		return -1;
	int rc = lf_h_request(&c, method, path, extra_headers, body, resp);
	lf_h_close(&c);
	return rc;
}

int lf_h_pay(unsigned port, const char *key, const char *from, const char *to, const char *amount,
	     struct lf_h_resp *resp)
{
	char headers[512], body[512];
	snprintf(headers, sizeof headers, "Idempotency-Key: %s\r\n", key);
	snprintf(body, sizeof body,
		 "{\"fromAccountId\":\"%s\",\"toAccountId\":\"%s\",\"amount\":%s}", from, to,
		 amount);
	int rc = lf_h_http(port, "POST", "/api/payments", headers, body, resp);
	return rc == 0 ? resp->status : -1;
}

/* ---- helpers of the API tests ---- */

int lf_h_raw(unsigned port, const char *request, size_t len, struct lf_h_resp *resp)
{
	struct lf_h_conn c;
	memset(resp, 0, sizeof *resp);
	if (!lf_h_connect(&c, port))
		return -1;
	/* a server that answers early (413) may close before reading it all:
	 * a failed send still reads what came back */
	(void)send_all(c.fd, request, len);
	int rc = read_response(c.fd, resp);
	lf_h_close(&c);
	return rc;
}

static struct json_object *member(const char *body, const char *name, struct json_object **root)
{
	struct json_object *v = NULL;
	*root = body ? json_tokener_parse(body) : NULL;
	if (*root == NULL || !json_object_is_type(*root, json_type_object) ||
	    !json_object_object_get_ex(*root, name, &v))
		return NULL;
	return v;
}

bool lf_h_json_str(const char *body, const char *name, char *buf, size_t len)
{
	struct json_object *root;
	struct json_object *v = member(body, name, &root);
	bool ok = v != NULL && json_object_is_type(v, json_type_string);
	if (ok)
		snprintf(buf, len, "%s", json_object_get_string(v));
	else if (len > 0)
		buf[0] = '\0';
	json_object_put(root);
	return ok;
}

bool lf_h_json_int(const char *body, const char *name, long long *out)
{
	struct json_object *root;
	struct json_object *v = member(body, name, &root);
	bool ok = v != NULL && json_object_is_type(v, json_type_int);
	if (ok)
		*out = (long long)json_object_get_int64(v);
	json_object_put(root);
	return ok;
}

bool lf_h_json_null(const char *body, const char *name)
{
	struct json_object *root = body ? json_tokener_parse(body) : NULL, *v = NULL;
	bool ok = root != NULL && json_object_is_type(root, json_type_object) &&
		  json_object_object_get_ex(root, name, &v) && v == NULL;
	json_object_put(root);
	return ok;
}

bool lf_h_minor(const char *s, int exponent, int64_t *out)
{
	int64_t v = 0;
	int frac = -1; /* digits after the point, -1 before it */
	if (s == NULL || s[0] < '0' || s[0] > '9' || (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
		return false;
	for (const char *p = s; *p; p++) {
		if (*p == '.' && frac < 0 && p[1] != '\0') {
			frac = 0;
			continue;
		}
		if (*p < '0' || *p > '9' || v > INT64_MAX / 10 - 9)
			return false;
		v = v * 10 + (*p - '0');
		if (frac >= 0)
			frac++;
	}
	if ((frac < 0 ? 0 : frac) != exponent)
		return false;
	*out = v;
	return true;
}

int lf_h_ledger(unsigned port, const char *account, const char *query, int exponent,
		struct lf_h_entry *out, int max, char *cursor, size_t clen)
{
	char path[512], ct[64];
	struct lf_h_resp r;
	snprintf(path, sizeof path, "/api/accounts/%s/ledger%s", account, query);
	cursor[0] = '\0';
	if (lf_h_http(port, "GET", path, NULL, NULL, &r) != 0 || r.status != 200 ||
	    !lf_h_header(&r, "Content-Type", ct, sizeof ct) ||
	    strcmp(ct, "application/json") != 0) {
		fprintf(stderr, "\n  GET %s: %d %s\n", path, r.status, r.body ? r.body : "");
		lf_h_resp_free(&r);
		return -1;
	}
	struct json_object *root = json_tokener_parse(r.body), *arr = NULL, *cur = NULL;
	int n = -1;
	if (root && json_object_object_get_ex(root, "entries", &arr) &&
	    json_object_is_type(arr, json_type_array) &&
	    json_object_object_get_ex(root, "nextCursor", &cur)) {
		if (cur != NULL)
			snprintf(cursor, clen, "%s", json_object_get_string(cur));
		n = (int)json_object_array_length(arr);
		for (int i = 0; i < n && i < max; i++) {
			struct json_object *o = json_object_array_get_idx(arr, (size_t)i);
			const char *e = json_object_to_json_string(o);
			struct lf_h_entry *x = &out[i];
			char amt[40] = "", after[40] = "";
			memset(x, 0, sizeof *x);
			lf_h_json_str(e, "id", x->id, sizeof x->id);
			lf_h_json_str(e, "paymentId", x->payment, sizeof x->payment);
			x->payment_null = lf_h_json_null(e, "paymentId");
			lf_h_json_str(e, "accountId", x->account, sizeof x->account);
			lf_h_json_str(e, "direction", x->direction, sizeof x->direction);
			lf_h_json_str(e, "createdAt", x->created, sizeof x->created);
			lf_h_json_str(e, "amount", amt, sizeof amt);
			lf_h_json_str(e, "balanceAfter", after, sizeof after);
			if (!lf_h_minor(amt, exponent, &x->amount) ||
			    !lf_h_minor(after, exponent, &x->balance_after))
				x->amount = x->balance_after = -1;
		}
		if (n > max)
			n = -1;
	}
	json_object_put(root);
	lf_h_resp_free(&r);
	return n;
}

int lf_h_account(unsigned port, const char *name, const char *currency, const char *initial,
		 char id[37])
{
	char body[512];
	struct lf_h_resp r;
	if (initial != NULL)
		snprintf(body, sizeof body,
			 "{\"name\":\"%s\",\"currency\":\"%s\",\"initialBalance\":\"%s\"}", name,
			 currency, initial);
	else
		snprintf(body, sizeof body, "{\"name\":\"%s\",\"currency\":\"%s\"}", name,
			 currency);
	if (lf_h_http(port, "POST", "/api/accounts", NULL, body, &r) != 0) {
		lf_h_resp_free(&r);
		return -1;
	}
	int st = r.status;
	if (!lf_h_json_str(r.body, "id", id, 37))
		id[0] = '\0';
	lf_h_resp_free(&r);
	return st;
}

int lf_h_balance(unsigned port, const char *id, char *buf, size_t len)
{
	char path[128];
	struct lf_h_resp r;
	snprintf(path, sizeof path, "/api/accounts/%s", id);
	buf[0] = '\0';
	if (lf_h_http(port, "GET", path, NULL, NULL, &r) != 0) {
		lf_h_resp_free(&r);
		return -1;
	}
	int st = r.status;
	lf_h_json_str(r.body, "balance", buf, len);
	lf_h_resp_free(&r);
	return st;
}

/* ---- helpers of the idempotency tests ---- */

bool lf_h_metric(unsigned port, const char *series, long long *out)
{
	struct lf_h_resp r;
	if (lf_h_http(port, "GET", "/metrics", NULL, NULL, &r) != 0 || r.status != 200) {
		lf_h_resp_free(&r);
		return false;
	}
	size_t sl = strlen(series);
	bool found = false;
	for (const char *p = r.body; p && *p && !found; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, series, sl) == 0 && p[sl] == ' ') {
			*out = atoll(p + sl + 1);
			found = true;
		}
	}
	lf_h_resp_free(&r);
	return found;
}

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

/* Read from fd until buf holds `want` bytes or a line end (want == 0). */
static bool redis_read(int fd, char *buf, size_t cap, size_t *have, size_t want)
{
	while (want ? *have < want : memchr(buf, '\n', *have) == NULL) {
		if (*have >= cap)
			return false;
		ssize_t n = recv(fd, buf + *have, cap - *have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		*have += (size_t)n;
	}
	return true;
}

bool lf_h_redis(const struct lf_h_env *env, int argc, const char *const *argv, char *type,
		long long *num, char *buf, size_t len)
{
	struct lf_h_conn c;
	if (!lf_h_connect(&c, env->redis_port))
		return false;
	struct timeval tv = {2, 0};
	setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	size_t cap = 64;
	for (int i = 0; i < argc; i++)
		cap += strlen(argv[i]) + 32;
	size_t rcap = 1 << 20;
	char *req = malloc(cap), *rep = malloc(rcap + 1);
	bool ok = false;
	if (req == NULL || rep == NULL)
		goto out;
	int n = snprintf(req, cap, "*%d\r\n", argc);
	for (int i = 0; i < argc; i++)
		n += snprintf(req + n, cap - (size_t)n, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
	size_t have = 0;
	if (!send_all(c.fd, req, (size_t)n) || !redis_read(c.fd, rep, rcap, &have, 0))
		goto out;
	char *eol = memchr(rep, '\r', have);
	if (eol == NULL)
		goto out;
	*eol = '\0';
	*type = rep[0];
	*num = atoll(rep + 1);
	const char *text = rep + 1;
	size_t tlen = strlen(text);
	if (rep[0] == '$' && *num < 0) {
		*type = '0'; /* nil */
		tlen = 0;
	} else if (rep[0] == '$') {
		size_t start = (size_t)(eol - rep) + 2;
		if ((size_t)*num > rcap - start - 2 ||
		    !redis_read(c.fd, rep, rcap, &have, start + (size_t)*num + 2))
			goto out;
		text = rep + start;
		tlen = (size_t)*num;
	}
	if (len > 0) {
		if (tlen >= len)
			tlen = len - 1;
		memcpy(buf, text, tlen);
		buf[tlen] = '\0';
	}
	ok = true;
out:
	free(req);
	free(rep);
	lf_h_close(&c);
	return ok;
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
