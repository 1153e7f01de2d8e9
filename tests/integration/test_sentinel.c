/*
 * test_sentinel.c - [redis] sentinels against real Redis servers on
 * loopback: a master, one replica and three sentinels (redis-server
 * --sentinel, quorum 2, down-after 1 s), all of this program's own.
 *   - ledgerflowd finds the master through the sentinels: a payment's
 *     outcome lands there;
 *   - a manual failover (SENTINEL FAILOVER: the old master stays up as a
 *     replica) is followed within 10 s: outcomes land on the new master;
 *   - the master killed (-9) and promoted away by the sentinels is
 *     followed within 10 s as well;
 * while every payment is answered 201 throughout (Redis is optional), and
 * the moves are logged (redis_master_changed).
 */
#include "config.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "harness.h"
#include "../lf_cunit.h"

#define NODES 2
#define SENTINELS 3

static char dir[256];
static unsigned node_port[NODES], sentinel_port[SENTINELS];
static volatile pid_t pids[NODES + SENTINELS]; /* for on_signal */
static char prefix[48];
static int seq;
static struct lf_h_daemon d;
static char payer[37], payee[37];

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

static pid_t pid_of(const char *name)
{
	char path[400], buf[32];
	snprintf(path, sizeof path, "%s/%s.pid", dir, name);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	pid_t pid = fgets(buf, sizeof buf, f) ? (pid_t)atoi(buf) : 0;
	fclose(f);
	return pid;
}

/* One line of redis-cli's answer (a command to port), or "" */
static void cli(unsigned port, const char *command, char *out, size_t len)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "redis-cli -h 127.0.0.1 -p %u %s 2>/dev/null", port, command);
	out[0] = '\0';
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return;
	if (fgets(out, (int)len, p) == NULL)
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	pclose(p);
}

/* The port of the node the sentinels name as master (0: none agree). */
static unsigned master_port(void)
{
	char cmd[256], host[64], port[16];
	for (int i = 0; i < SENTINELS; i++) {
		snprintf(cmd, sizeof cmd, "SENTINEL get-master-addr-by-name lfmaster");
		char c[1024];
		snprintf(c, sizeof c, "redis-cli -h 127.0.0.1 -p %u %s 2>/dev/null",
			 sentinel_port[i], cmd);
		FILE *p = popen(c, "r");
		if (p == NULL)
			continue;
		bool ok =
			fgets(host, sizeof host, p) != NULL && fgets(port, sizeof port, p) != NULL;
		pclose(p);
		if (ok)
			return (unsigned)atoi(port);
	}
	return 0;
}

/* Is port the master by its own account (ROLE), with a replica online? */
static bool is_master(unsigned port)
{
	char out[64];
	cli(port, "ROLE", out, sizeof out);
	return strcmp(out, "master") == 0;
}

static int pay_fresh(char *tier, size_t len)
{
	char key[64];
	snprintf(key, sizeof key, "%s-%d", prefix, ++seq);
	snprintf(tier, len, "lf:idem:%llu:%s", (unsigned long long)lf_h_admin_id, key);
	struct lf_h_resp r;
	int st = lf_h_pay(d.port, key, payer, payee, "\"0.01\"", &r);
	lf_h_resp_free(&r);
	return st;
}

static bool exists_on(unsigned port, const char *key)
{
	char cmd[300], out[16];
	snprintf(cmd, sizeof cmd, "EXISTS '%s'", key);
	cli(port, cmd, out, sizeof out);
	return strcmp(out, "1") == 0;
}

/* Pay until an outcome lands on `port` (the new master), at most 12 s;
 * every payment must be 201. Returns ms it took, or -1. */
static int64_t until_outcomes_on(unsigned port)
{
	int64_t start = lf_h_now_ms();
	while (lf_h_now_ms() - start < 12000) {
		char tier[200];
		CU_ASSERT_EQUAL(pay_fresh(tier, sizeof tier), 201);
		if (exists_on(port, tier))
			return lf_h_now_ms() - start;
		usleep(100 * 1000);
	}
	return -1;
}

static void test_found_through_sentinels(void)
{
	unsigned m = master_port();
	CU_ASSERT_FATAL(m == node_port[0]);
	int64_t ms = until_outcomes_on(m);
	CU_ASSERT(ms >= 0 && ms < 5000);
}

static void test_manual_failover(void)
{
	unsigned old = master_port();
	unsigned other = old == node_port[0] ? node_port[1] : node_port[0];
	char out[128];
	cli(sentinel_port[0], "SENTINEL FAILOVER lfmaster", out, sizeof out);
	CU_ASSERT_STRING_EQUAL(out, "OK");
	int64_t t0 = lf_h_now_ms();
	while (!is_master(other) && lf_h_now_ms() - t0 < 10000)
		usleep(100 * 1000);
	CU_ASSERT_FATAL(is_master(other));
	int64_t ms = until_outcomes_on(other);
	CU_ASSERT(ms >= 0 && ms <= 10000);
	fprintf(stderr, "\n  manual failover followed in %lld ms\n", (long long)ms);
	CU_ASSERT(lf_h_log_contains(&d, "msg=redis_master_changed"));
}

static void test_master_killed(void)
{
	/* let the old master finish becoming a replica of the new one */
	int64_t t0 = lf_h_now_ms();
	unsigned m = master_port();
	unsigned other = m == node_port[0] ? node_port[1] : node_port[0];
	char out[64] = "";
	while (lf_h_now_ms() - t0 < 10000) {
		cli(other, "ROLE", out, sizeof out);
		char link[256] = "";
		cli(other, "INFO replication", link, sizeof link);
		if (strcmp(out, "slave") == 0)
			break;
		usleep(100 * 1000);
	}
	CU_ASSERT_FATAL(strcmp(out, "slave") == 0);
	sleep(2); /* the sentinels see the replica */
	pid_t pid = pid_of(m == node_port[0] ? "node0" : "node1");
	CU_ASSERT_FATAL(pid > 0);
	kill(pid, SIGKILL);
	t0 = lf_h_now_ms();
	while (!is_master(other) && lf_h_now_ms() - t0 < 15000)
		usleep(100 * 1000);
	CU_ASSERT_FATAL(is_master(other));
	int64_t promoted = lf_h_now_ms() - t0;
	int64_t ms = until_outcomes_on(other);
	CU_ASSERT(ms >= 0 && ms <= 10000);
	fprintf(stderr, "  master killed: promoted in %lld ms, followed %lld ms later\n",
		(long long)promoted, (long long)ms);
}

/* ---- set-up ---- */

static bool start_node(int i)
{
	char replica[64] = "";
	if (i > 0)
		snprintf(replica, sizeof replica, "--replicaof 127.0.0.1 %u", node_port[0]);
	return run("cd '%s' && redis-server --port %u --bind 127.0.0.1 --save '' --appendonly no "
		   "--daemonize yes --pidfile '%s/node%d.pid' --logfile '%s/node%d.log' "
		   "--dir '%s' --dbfilename node%d.rdb %s",
		   dir, node_port[i], dir, i, dir, i, dir, i, replica) == 0;
}

static bool start_sentinel(int i)
{
	char conf[400];
	snprintf(conf, sizeof conf, "%s/sentinel%d.conf", dir, i);
	FILE *f = fopen(conf, "w");
	if (f == NULL)
		return false;
	fprintf(f,
		"port %u\nbind 127.0.0.1\ndaemonize yes\npidfile %s/sentinel%d.pid\n"
		"logfile %s/sentinel%d.log\ndir %s\n"
		"sentinel monitor lfmaster 127.0.0.1 %u 2\n"
		"sentinel down-after-milliseconds lfmaster 1000\n"
		"sentinel failover-timeout lfmaster 4000\n"
		"sentinel parallel-syncs lfmaster 1\n",
		sentinel_port[i], dir, i, dir, i, dir, node_port[0]);
	fclose(f);
	return run("redis-server '%s' --sentinel", conf) == 0;
}

static int setup(void)
{
	const char *tmp = getenv("LF_TEST_TMPDIR");
	snprintf(dir, sizeof dir, "%s/lf-sent-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	snprintf(prefix, sizeof prefix, "sent%ldx%lld", (long)getpid(),
		 (long long)(time(NULL) % 1000000));
	if (mkdtemp(dir) == NULL)
		return 1;
	for (int i = 0; i < NODES; i++)
		node_port[i] = lf_h_free_port();
	for (int i = 0; i < SENTINELS; i++)
		sentinel_port[i] = lf_h_free_port();
	for (int i = 0; i < NODES; i++)
		if (!start_node(i))
			return 1;
	usleep(300 * 1000);
	for (int i = 0; i < SENTINELS; i++)
		if (!start_sentinel(i))
			return 1;
	/* the sentinels know the master and its replica */
	int64_t t0 = lf_h_now_ms();
	char out[64] = "";
	while (lf_h_now_ms() - t0 < 10000) {
		cli(sentinel_port[0], "SENTINEL replicas lfmaster", out, sizeof out);
		if (master_port() == node_port[0] && out[0] != '\0')
			break;
		usleep(200 * 1000);
	}
	for (int i = 0; i < NODES; i++) {
		char name[16];
		snprintf(name, sizeof name, "node%d", i);
		pids[i] = pid_of(name);
	}
	for (int i = 0; i < SENTINELS; i++) {
		char name[16];
		snprintf(name, sizeof name, "sentinel%d", i);
		pids[NODES + i] = pid_of(name);
	}
	if (master_port() != node_port[0] || out[0] == '\0') {
		fprintf(stderr, "test_sentinel: the sentinels did not settle; see %s\n", dir);
		return 1;
	}
	char list[200];
	snprintf(list, sizeof list, "127.0.0.1:%u,127.0.0.1:%u,127.0.0.1:%u", sentinel_port[0],
		 sentinel_port[1], sentinel_port[2]);
	if (!lf_h_daemon_config(&fx.env, &d, fx.db, 1, NULL) ||
	    lf_h_ctl(&fx.env, &d, "migrate") != 0)
		return 1;
	setenv("LEDGERFLOW_REDIS_SENTINELS", list, 1);
	setenv("LEDGERFLOW_REDIS_MASTER_NAME", "lfmaster", 1);
	setenv("LEDGERFLOW_REDIS_BREAKER_COOLDOWN", "500ms", 1);
	bool ok = lf_h_daemon_start(&fx.env, &d);
	unsetenv("LEDGERFLOW_REDIS_SENTINELS");
	unsetenv("LEDGERFLOW_REDIS_MASTER_NAME");
	unsetenv("LEDGERFLOW_REDIS_BREAKER_COOLDOWN");
	if (!ok || lf_h_account(d.port, "payer", "USD", "1000.00", payer) != 201 ||
	    lf_h_account(d.port, "payee", "USD", NULL, payee) != 201) {
		fprintf(stderr, "test_sentinel: daemon set-up failed; log %s\n", d.log);
		return 1;
	}
	return 0;
}

static void teardown(void)
{
	if (d.pid > 0)
		lf_h_daemon_stop(&d, SIGTERM, 15000);
	for (int i = 0; i < NODES + SENTINELS; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
}

static void on_signal(void)
{
	for (int i = 0; i < NODES + SENTINELS; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGKILL);
}

static const struct lf_test sentinel_tests[] = {
	{"the master found through the sentinels", test_found_through_sentinels},
	{"a manual failover followed within 10 s", test_manual_failover},
	{"the master killed: the promoted replica followed within 10 s", test_master_killed},
};

static const struct lf_suite suites[] = {{"sentinel", LF_TESTS(sentinel_tests)}};

int main(void)
{
	static const struct lf_h_fixture_opts opts = {.name = "sentinel",
						      .no_daemon = true,
						      .setup = setup,
						      .teardown = teardown,
						      .on_signal = on_signal};
	return lf_h_fixture_main(suites, LF_COUNT(suites), &opts);
}
