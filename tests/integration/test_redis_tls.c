/*
 * test_redis_tls.c - [redis] tls = on against real TLS Redis servers
 * (redis-server --tls-port, Debian's build links OpenSSL), with a private
 * CA, server and client certificates made here by the openssl command:
 *   - payments go through: the outcome lands in the TLS Redis (read back
 *     with redis-cli --tls), the certificate checked against 127.0.0.1;
 *   - a certificate for another name, and one from another CA, are not
 *     accepted: redis_connect_failed with OpenSSL's reason, no
 *     redis_connected line, and payments still 201 without Redis;
 *   - a Redis that requires client certificates: refused without one,
 *     served with tls_cert/tls_key;
 *   - another local process connecting to the worker's relay is closed at
 *     once (redis_tls_relay_refused) and Redis keeps serving the worker;
 *   - a SIGHUP whose client certificate does not load is refused;
 *   - Redis restarted: the worker connects again after the cool-down;
 *   - `ledgerflowd -t` refuses a CA file that does not load and a key
 *     that does not fit its certificate.
 * Our own Redis servers and database (lf_rtls_<pid>); nothing shared is
 * stopped.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "harness.h"
#include "../lf_cunit.h"

static char dir[256];                /* certificates and the Redis servers' files */
static unsigned port_any, port_mtls; /* tls-auth-clients optional / yes */
static volatile pid_t redis_pids[2]; /* for on_signal */
static char prefix[48];
static int seq;

/* ---- helpers ---- */

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A CA, and certificates it signs for the server (localhost, 127.0.0.1)
 * and a client; a second CA that signs nothing we trust. */
static bool make_certs(void)
{
	static const char *const steps[] = {
		"openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
		"-keyout ca.key -out ca.pem -days 2 -subj /CN=lf-test-ca",
		"openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
		"-keyout rogue.key -out rogue.pem -days 2 -subj /CN=lf-test-rogue-ca",
		"openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
		"-keyout server.key -out server.csr -subj /CN=localhost",
		"openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
		"-out server.pem -days 2 -extfile server.ext",
		"openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
		"-keyout client.key -out client.csr -subj /CN=ledgerflow",
		"openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
		"-out client.pem -days 2",
		"chmod 0600 ca.key rogue.key server.key client.key",
	};
	char ext[400];
	snprintf(ext, sizeof ext, "%s/server.ext", dir);
	FILE *f = fopen(ext, "w");
	if (f == NULL || fputs("subjectAltName=DNS:localhost,IP:127.0.0.1\n", f) < 0 ||
	    fclose(f) != 0)
		return false;
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		if (run("cd '%s' && %s >>openssl.log 2>&1", dir, steps[i]) != 0) {
			fprintf(stderr, "test_redis_tls: failed: %s (see %s/openssl.log)\n",
				steps[i], dir);
			return false;
		}
	}
	return true;
}

static bool redis_start(unsigned port, const char *auth_clients)
{
	return run("cd '%s' && redis-server --port 0 --tls-port %u --bind 127.0.0.1 "
		   "--tls-cert-file server.pem --tls-key-file server.key --tls-ca-cert-file ca.pem "
		   "--tls-auth-clients %s --save '' --appendonly no --daemonize yes "
		   "--pidfile '%s/redis-%u.pid' --logfile '%s/redis-%u.log' --dir '%s'",
		   dir, port, auth_clients, dir, port, dir, port, dir) == 0;
}

static pid_t redis_pid(unsigned port)
{
	char path[400], buf[32];
	snprintf(path, sizeof path, "%s/redis-%u.pid", dir, port);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	pid_t pid = fgets(buf, sizeof buf, f) ? (pid_t)atoi(buf) : 0;
	fclose(f);
	return pid;
}

static void redis_stop(unsigned port)
{
	pid_t pid = redis_pid(port);
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 100 && kill(pid, 0) == 0; i++)
		usleep(50 * 1000);
}

/* EXISTS key on the TLS Redis at port, through redis-cli --tls with the
 * client certificate: 1, 0, or -1 when redis-cli failed. */
static int tls_exists(unsigned port, const char *key)
{
	char cmd[2048], out[64] = "";
	snprintf(
		cmd, sizeof cmd,
		"redis-cli --tls --cacert '%s/ca.pem' --cert '%s/client.pem' --key '%s/client.key' "
		"-h 127.0.0.1 -p %u EXISTS '%s' 2>&1",
		dir, dir, dir, port, key);
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	if (fgets(out, sizeof out, p) == NULL)
		out[0] = '\0';
	int st = pclose(p);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	return out[0] == '1' ? 1 : out[0] == '0' ? 0 : -1;
}

/* LEDGERFLOW_* variables for the next daemon: NULL-terminated name/value
 * pairs; the harness's file already names [redis] port. */
static bool start(struct lf_h_daemon *d, const char *const *env)
{
	if (!lf_h_daemon_config(&fx.env, d, fx.db, 1, NULL))
		return false;
	for (const char *const *e = env; e[0] != NULL; e += 2)
		setenv(e[0], e[1], 1);
	setenv("LEDGERFLOW_REDIS_BREAKER_COOLDOWN", "300ms", 1);
	bool ok = lf_h_daemon_start(&fx.env, d);
	for (const char *const *e = env; e[0] != NULL; e += 2)
		unsetenv(e[0]);
	unsetenv("LEDGERFLOW_REDIS_BREAKER_COOLDOWN");
	if (!ok)
		fprintf(stderr, "test_redis_tls: daemon did not start; log %s\n", d->log);
	return ok;
}

static bool wait_log(const struct lf_h_daemon *d, const char *text, int n, int timeout_ms)
{
	int64_t deadline = lf_h_now_ms() + timeout_ms;
	while (lf_h_log_count(d, text) < n) {
		if (lf_h_now_ms() >= deadline)
			return false;
		usleep(50 * 1000);
	}
	return true;
}

/* A payment between two fresh accounts with a fresh key; the tier key
 * it is stored under in Redis goes to tier_key. The HTTP status. */
static int pay_fresh(unsigned port, char *tier_key, size_t len)
{
	char from[37], to[37], key[64];
	if (lf_h_account(port, "Payer", "EUR", "10.00", from) != 201 ||
	    lf_h_account(port, "Payee", "EUR", "0", to) != 201)
		return -1;
	snprintf(key, sizeof key, "%s-%d", prefix, ++seq);
	snprintf(tier_key, len, "lf:idem:%llu:%s", (unsigned long long)lf_h_admin_id, key);
	struct lf_h_resp r = {0};
	int status = lf_h_pay(port, key, from, to, "\"1.25\"", &r);
	lf_h_resp_free(&r);
	return status;
}

/* The loopback ports pid listens on, other than skip (the API's). */
static int listening_ports(pid_t pid, unsigned skip, unsigned *ports, int max)
{
	char path[128], link[128];
	unsigned long inodes[256];
	int ninodes = 0, n = 0;
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	DIR *dp = opendir(path);
	if (dp == NULL)
		return 0;
	struct dirent *de;
	while ((de = readdir(dp)) != NULL && ninodes < 256) {
		char fdpath[400];
		snprintf(fdpath, sizeof fdpath, "%s/%s", path, de->d_name);
		ssize_t k = readlink(fdpath, link, sizeof link - 1);
		if (k <= 0)
			continue;
		link[k] = '\0';
		unsigned long ino;
		if (sscanf(link, "socket:[%lu]", &ino) == 1)
			inodes[ninodes++] = ino;
	}
	closedir(dp);
	FILE *f = fopen("/proc/net/tcp", "r");
	if (f == NULL)
		return 0;
	char line[512];
	while (fgets(line, sizeof line, f) != NULL && n < max) {
		unsigned addr, port, st;
		unsigned long ino;
		if (sscanf(line, " %*d: %x:%x %*x:%*x %x %*x:%*x %*x:%*x %*x %*u %*u %lu", &addr,
			   &port, &st, &ino) != 4 ||
		    st != 0x0A || addr != 0x0100007F || port == skip)
			continue;
		for (int i = 0; i < ninodes; i++)
			if (inodes[i] == ino)
				ports[n++] = port;
	}
	fclose(f);
	return n;
}

/* ---- tests ---- */

static void test_payments_through_tls(void)
{
	struct lf_h_daemon d;
	/* the certificate is checked against the host, an IP address */
	const char *env[] = {"LEDGERFLOW_REDIS_PORT",
			     NULL,
			     "LEDGERFLOW_REDIS_TLS",
			     "on",
			     "LEDGERFLOW_REDIS_TLS_CA",
			     NULL,
			     NULL};
	char port[16], ca[400];
	snprintf(port, sizeof port, "%u", port_any);
	snprintf(ca, sizeof ca, "%s/ca.pem", dir);
	env[1] = port;
	env[5] = ca;
	CU_ASSERT_FATAL(start(&d, env));
	CU_ASSERT(wait_log(&d, "msg=redis_connected", 1, 5000));
	CU_ASSERT(lf_h_log_contains(&d, "tls=on"));
	char tier[200];
	CU_ASSERT(pay_fresh(d.port, tier, sizeof tier) == 201);
	CU_ASSERT(tls_exists(port_any, tier) == 1);
	CU_ASSERT(lf_h_log_count(&d, "redis_connect_failed") == 0);
	CU_ASSERT(lf_h_log_count(&d, "redis_connection_lost") == 0);

	/* the claim script's text went once; the next claims by its SHA1 */
	CU_ASSERT(pay_fresh(d.port, tier, sizeof tier) == 201);
	CU_ASSERT(tls_exists(port_any, tier) == 1);
	char cmd[1024], line[256];
	snprintf(
		cmd, sizeof cmd,
		"redis-cli --tls --cacert '%s/ca.pem' --cert '%s/client.pem' --key '%s/client.key' "
		"-h 127.0.0.1 -p %u INFO commandstats 2>&1",
		dir, dir, dir, port_any);
	FILE *p = popen(cmd, "r");
	long evalsha = 0, eval = 0;
	while (p != NULL && fgets(line, sizeof line, p) != NULL) {
		if (strncmp(line, "cmdstat_evalsha:calls=", 22) == 0)
			evalsha = atol(line + 22);
		else if (strncmp(line, "cmdstat_eval:calls=", 19) == 0)
			eval = atol(line + 19);
	}
	if (p != NULL)
		pclose(p);
	CU_ASSERT(evalsha >= 1);
	CU_ASSERT(eval >= 1 && eval <= 2); /* the first claim (and release) of the connection */

	/* Redis restarted: the worker connects again after the cool-down
	 * (the loss logged once), and outcomes land there again */
	redis_stop(port_any);
	CU_ASSERT_FATAL(redis_start(port_any, "optional"));
	usleep(300 * 1000);
	redis_pids[0] = redis_pid(port_any);
	char t2[200];
	int64_t deadline = lf_h_now_ms() + 8000;
	bool stored = false;
	while (!stored && lf_h_now_ms() < deadline) {
		CU_ASSERT(pay_fresh(d.port, t2, sizeof t2) == 201);
		stored = tls_exists(port_any, t2) == 1;
		if (!stored)
			usleep(200 * 1000);
	}
	CU_ASSERT(stored);
	CU_ASSERT(lf_h_log_count(&d, "msg=redis_connected") >= 2);
	CU_ASSERT(lf_h_daemon_stop(&d, SIGTERM, 15000) == 0);
}

/* A certificate that is not accepted: logged with OpenSSL's reason, no
 * connection, and the service goes on without Redis. */
static void refused(const char *ca_file, const char *server_name, const char *reason)
{
	struct lf_h_daemon d;
	char port[16], ca[400];
	snprintf(port, sizeof port, "%u", port_any);
	snprintf(ca, sizeof ca, "%s/%s", dir, ca_file);
	const char *env[] = {"LEDGERFLOW_REDIS_PORT",
			     port,
			     "LEDGERFLOW_REDIS_TLS",
			     "on",
			     "LEDGERFLOW_REDIS_TLS_CA",
			     ca,
			     server_name ? "LEDGERFLOW_REDIS_TLS_SERVER_NAME" : NULL,
			     server_name,
			     NULL};
	CU_ASSERT_FATAL(start(&d, env));
	CU_ASSERT(wait_log(&d, "redis_connect_failed", 1, 5000));
	CU_ASSERT(lf_h_log_contains(&d, reason));
	if (!lf_h_log_contains(&d, reason))
		run("grep redis_ '%s' | head -5 >&2", d.log);
	char tier[200];
	CU_ASSERT(pay_fresh(d.port, tier, sizeof tier) == 201);
	CU_ASSERT(tls_exists(port_any, tier) == 0);
	CU_ASSERT(lf_h_log_count(&d, "msg=redis_connected") == 0);
	CU_ASSERT(lf_h_daemon_stop(&d, SIGTERM, 15000) == 0);
}

static void test_wrong_name_refused(void)
{
	refused("ca.pem", "redis.example.internal", "not accepted");
}

static void test_other_ca_refused(void)
{
	refused("rogue.pem", "localhost", "not accepted");
}

static void test_client_certificate(void)
{
	char port[16], ca[400], cert[400], key[400], tier[200];
	snprintf(port, sizeof port, "%u", port_mtls);
	snprintf(ca, sizeof ca, "%s/ca.pem", dir);
	snprintf(cert, sizeof cert, "%s/client.pem", dir);
	snprintf(key, sizeof key, "%s/client.key", dir);

	/* without one: the server ends the handshake */
	struct lf_h_daemon d;
	const char *without[] = {"LEDGERFLOW_REDIS_PORT",
				 port,
				 "LEDGERFLOW_REDIS_TLS",
				 "on",
				 "LEDGERFLOW_REDIS_TLS_CA",
				 ca,
				 "LEDGERFLOW_REDIS_TLS_SERVER_NAME",
				 "localhost",
				 NULL};
	CU_ASSERT_FATAL(start(&d, without));
	CU_ASSERT(wait_log(&d, "redis_connect_failed", 1, 5000) ||
		  wait_log(&d, "redis_connection_lost", 1, 1000));
	CU_ASSERT(pay_fresh(d.port, tier, sizeof tier) == 201);
	CU_ASSERT(tls_exists(port_mtls, tier) == 0);
	CU_ASSERT(lf_h_daemon_stop(&d, SIGTERM, 15000) == 0);

	/* with one: served */
	const char *with[] = {"LEDGERFLOW_REDIS_PORT",
			      port,
			      "LEDGERFLOW_REDIS_TLS",
			      "on",
			      "LEDGERFLOW_REDIS_TLS_CA",
			      ca,
			      "LEDGERFLOW_REDIS_TLS_SERVER_NAME",
			      "localhost",
			      "LEDGERFLOW_REDIS_TLS_CERT",
			      cert,
			      "LEDGERFLOW_REDIS_TLS_KEY",
			      key,
			      NULL};
	CU_ASSERT_FATAL(start(&d, with));
	CU_ASSERT(wait_log(&d, "msg=redis_connected", 1, 5000));
	CU_ASSERT(pay_fresh(d.port, tier, sizeof tier) == 201);
	CU_ASSERT(tls_exists(port_mtls, tier) == 1);
	CU_ASSERT(lf_h_log_count(&d, "redis_connect_failed") == 0);
	CU_ASSERT(lf_h_daemon_stop(&d, SIGTERM, 15000) == 0);
}

static void test_relay_refuses_others(void)
{
	struct lf_h_daemon d;
	char port[16], ca[400], tier[200];
	snprintf(port, sizeof port, "%u", port_any);
	snprintf(ca, sizeof ca, "%s/ca.pem", dir);
	const char *env[] = {"LEDGERFLOW_REDIS_PORT",
			     port,
			     "LEDGERFLOW_REDIS_TLS",
			     "on",
			     "LEDGERFLOW_REDIS_TLS_CA",
			     ca,
			     NULL};
	CU_ASSERT_FATAL(start(&d, env));
	CU_ASSERT(wait_log(&d, "msg=redis_connected", 1, 5000));
	pid_t workers[4];
	CU_ASSERT_FATAL(lf_h_workers(d.pid, workers, 4) == 1);
	unsigned relay[8];
	int n = listening_ports(workers[0], d.port, relay, 8);
	CU_ASSERT_FATAL(n == 1); /* the relay: the API socket is skipped */

	/* connect as any local process would and ask Redis something */
	struct lf_h_conn c;
	CU_ASSERT_FATAL(lf_h_connect(&c, relay[0]));
	struct timeval tv = {3, 0};
	setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	const char ping[] = "*1\r\n$4\r\nPING\r\n";
	(void)lf_h_send_all(c.fd, ping, sizeof ping - 1);
	char buf[64];
	ssize_t got = recv(c.fd, buf, sizeof buf, 0);
	CU_ASSERT(got <= 0 && !(got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)));
	lf_h_close(&c);
	CU_ASSERT(wait_log(&d, "redis_tls_relay_refused", 1, 3000));

	/* the worker's own connection is untouched */
	CU_ASSERT(pay_fresh(d.port, tier, sizeof tier) == 201);
	CU_ASSERT(tls_exists(port_any, tier) == 1);
	CU_ASSERT(lf_h_log_count(&d, "redis_connection_lost") == 0);

	/* a reload whose client certificate does not load is refused: the
	 * workers keep their Redis */
	char extra[900];
	snprintf(extra, sizeof extra,
		 "[redis]\ntls_cert = %s/nonexistent.pem\ntls_key = %s/client.key\n", dir, dir);
	CU_ASSERT_FATAL(lf_h_daemon_rewrite(&fx.env, &d, 1, extra));
	kill(d.pid, SIGHUP);
	CU_ASSERT(wait_log(&d, "msg=reload_rejected", 1, 5000));
	CU_ASSERT(lf_h_log_contains(&d, "redis.tls_cert: cannot load"));
	CU_ASSERT(pay_fresh(d.port, tier, sizeof tier) == 201);
	CU_ASSERT(tls_exists(port_any, tier) == 1);
	CU_ASSERT(lf_h_daemon_stop(&d, SIGTERM, 15000) == 0);
}

/* ledgerflowd -t with these variables; its exit status, and its output
 * into out. */
static int test_config(const char *name, const char *value, const char *name2, const char *value2,
		       char *out, size_t len)
{
	struct lf_h_daemon d;
	if (!lf_h_daemon_config(&fx.env, &d, fx.db, 1, NULL))
		return -1;
	char cmd[2048];
	snprintf(cmd, sizeof cmd,
		 "LEDGERFLOW_REDIS_TLS=on %s='%s' %s='%s' '%s/ledgerflowd' -t -c '%s' 2>&1", name,
		 value, name2, value2, fx.env.builddir, d.conf);
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	size_t o = 0;
	while (o + 1 < len && fgets(out + o, (int)(len - o), p) != NULL)
		o += strlen(out + o);
	out[o] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_config_check(void)
{
	char out[2048], ca[400], cert[400], key[400];
	snprintf(ca, sizeof ca, "%s/ca.pem", dir);
	snprintf(cert, sizeof cert, "%s/client.pem", dir);
	snprintf(key, sizeof key, "%s/server.key", dir); /* another certificate's key */

	CU_ASSERT(test_config("LEDGERFLOW_REDIS_TLS_CA", ca, "LEDGERFLOW_REDIS_DB", "0", out,
			      sizeof out) == 0);
	CU_ASSERT(strstr(out, "configuration ok") != NULL);

	CU_ASSERT(test_config("LEDGERFLOW_REDIS_TLS_CA", "/nonexistent/ca.pem",
			      "LEDGERFLOW_REDIS_DB", "0", out, sizeof out) == 1);
	CU_ASSERT(strstr(out, "redis.tls_ca: cannot load /nonexistent/ca.pem") != NULL);

	CU_ASSERT(test_config("LEDGERFLOW_REDIS_TLS_CERT", cert, "LEDGERFLOW_REDIS_TLS_KEY", key,
			      out, sizeof out) == 1);
	CU_ASSERT(strstr(out, "redis.tls_key: cannot load") != NULL &&
		  strstr(out, "mismatch") != NULL);
	if (strstr(out, "mismatch") == NULL)
		fprintf(stderr, "\n  ledgerflowd -t said: %s\n", out);
}

/* ---- suite ---- */

static int suite_init(void)
{
	const char *tmp = getenv("LF_TEST_TMPDIR");
	snprintf(dir, sizeof dir, "%s/lf-rtls-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	snprintf(prefix, sizeof prefix, "rtls%ldx%lld", (long)getpid(),
		 (long long)(time(NULL) % 1000000));
	if (mkdtemp(dir) == NULL || !make_certs())
		return 1;
	port_any = lf_h_free_port();
	port_mtls = lf_h_free_port();
	if (port_any == 0 || port_mtls == 0 || port_any == port_mtls ||
	    !redis_start(port_any, "optional") || !redis_start(port_mtls, "yes")) {
		fprintf(stderr, "test_redis_tls: TLS Redis did not start; see %s\n", dir);
		return 1;
	}
	/* the servers answer (redis-server --daemonize returns before) */
	int64_t deadline = lf_h_now_ms() + 5000;
	while (tls_exists(port_any, "x") < 0 || tls_exists(port_mtls, "x") < 0) {
		if (lf_h_now_ms() >= deadline) {
			fprintf(stderr, "test_redis_tls: TLS Redis does not answer; see %s\n", dir);
			return 1;
		}
		usleep(100 * 1000);
	}
	redis_pids[0] = redis_pid(port_any);
	redis_pids[1] = redis_pid(port_mtls);
	struct lf_h_daemon d;
	if (!lf_h_daemon_config(&fx.env, &d, fx.db, 1, NULL) ||
	    lf_h_ctl(&fx.env, &d, "migrate") != 0)
		return 1;
	return 0;
}

static int suite_cleanup(void)
{
	redis_stop(port_any);
	redis_stop(port_mtls);
	return 0;
}

static void on_signal(void)
{
	/* async-signal-safe: the test's time ran out; do not leave our Redis
	 * servers behind */
	for (int i = 0; i < 2; i++)
		if (redis_pids[i] > 0)
			kill(redis_pids[i], SIGKILL);
}

static const struct lf_test tls_tests[] = {
	{"payments through TLS Redis; a restarted Redis is found again", test_payments_through_tls},
	{"a certificate for another name is not accepted", test_wrong_name_refused},
	{"a certificate from another CA is not accepted", test_other_ca_refused},
	{"a Redis that requires client certificates", test_client_certificate},
	{"the relay refuses every other local connection; a bad reload is refused",
	 test_relay_refuses_others},
	{"ledgerflowd -t refuses TLS files that do not load", test_config_check},
};

static const struct lf_suite suites[] = {
	{"redis_tls", LF_TESTS(tls_tests), .init = suite_init, .cleanup = suite_cleanup},
};

int main(void)
{
	static const struct lf_h_fixture_opts opts = {
		.name = "rtls", .no_daemon = true, .on_signal = on_signal};
	return lf_h_fixture_main(suites, LF_COUNT(suites), &opts);
}
