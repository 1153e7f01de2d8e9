/*
 * test_webhooks.c - webhook delivery against a real ledgerflowd and a
 * loopback receiver (test_webhooks_receiver.c):
 *   a delivery answered 500 twice is retried with a growing, jittered
 *   back-off and then delivered; every POST's signature verifies and its
 *   LedgerFlow-Event-Id names its event;
 *   order per account and at least once: payments from 3 threads among 4
 *   accounts, delivered to a slow receiver, with ledgerflowd restarted
 *   half-way: every event is delivered, and no event of an account is sent
 *   before the account's earlier one was answered 2xx;
 *   a webhook added while running (for one client) is used within 5 s and
 *   gets only that client's events; once removed it gets nothing;
 *   /metrics shows the backlog and failures while the receiver is down,
 *   and the backlog drains when it is back;
 *   the delivery process is a child of the master named lf-webhooks,
 *   restarted when killed and after SIGHUP;
 *   with max_age = 1s (a reload) a delivery is given up, kept and counted,
 *   and the account's next event is delivered;
 *   https: a receiver whose certificate chains to [webhooks] tls_ca (for
 *   127.0.0.1) gets its delivery; one signed by another CA never does.
 */
#include "config.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "events_util.h"
#include "harness.h"
#include "test_webhooks.h"
#include "../lf_cunit.h"

#define TYPES "account.created,payment.completed,payment.declined"
#define WRITERS 3
#define PAYS 40
#define NACCT 4

static struct rx RX;
static char admin[128], key_y[128];
static char hook_a[40];
static char y_acct[37], funded[37];

/* `ledgerflowctl webhook add ...`: its id (first line) and secret (last). */
static int wh_add(const char *args, char id[40], char *secret, size_t slen)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "'%s/ledgerflowctl' -c '%s' webhook add %s 2>>'%s'",
		 fx.env.builddir, fx.d.conf, args, fx.d.log);
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	char line[512];
	int n = 0;
	id[0] = secret[0] = '\0';
	while (fgets(line, sizeof line, p) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (n++ == 0)
			snprintf(id, 40, "%.39s", line);
		snprintf(secret, slen, "%.99s", line);
	}
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int pay(const char *from, const char *to, const char *amount, char id[37])
{
	static int seq;
	char k[64];
	snprintf(k, sizeof k, "wh-%ld-%d", (long)getpid(),
		 __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
	struct lf_h_resp r;
	int st = lf_h_pay(fx.d.port, k, from, to, amount, &r);
	if (id != NULL && !(st == 201 && lf_h_json_str(r.body, "id", id, 37)))
		id[0] = '\0';
	lf_h_resp_free(&r);
	return st;
}

/* The line of `ledgerflowctl webhook list` that starts with id ("" none). */
static void wh_list_line(const char *id, char *out, size_t len)
{
	char cmd[4096], line[4096];
	snprintf(cmd, sizeof cmd, "'%s/ledgerflowctl' -c '%s' webhook list 2>>'%s'",
		 fx.env.builddir, fx.d.conf, fx.d.log);
	out[0] = '\0';
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return;
	while (fgets(line, sizeof line, p) != NULL)
		if (strncmp(line, id, strlen(id)) == 0)
			snprintf(out, len, "%.*s", (int)strcspn(line, "\n"), line);
	pclose(p);
}

/* Wait (at most ms) until path has a 200 for the event of object. */
static bool delivered(int path, const char *object, int ms)
{
	static struct rx_hit h[RX_MAX];
	for (int64_t end = lf_h_now_ms() + ms; lf_h_now_ms() < end; usleep(20000)) {
		int n = rx_hits(&RX, path, h, RX_MAX);
		for (int i = 0; i < n; i++)
			if (h[i].status == 200 && strcmp(h[i].ev.object, object) == 0)
				return true;
	}
	return false;
}

static void test_retry_and_signature(void)
{
	static struct rx_hit h[RX_MAX];
	char acct[37];
	pthread_mutex_lock(&RX.mu);
	RX.fail_first = 2;
	pthread_mutex_unlock(&RX.mu);
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "wh-retry", "USD", NULL, acct), 201);
	CU_ASSERT_TRUE_FATAL(delivered(0, acct, 15000));
	pthread_mutex_lock(&RX.mu);
	RX.fail_first = 0;
	pthread_mutex_unlock(&RX.mu);
	int n = rx_hits(&RX, 0, h, RX_MAX), k = 0;
	int64_t at[3] = {0};
	for (int i = 0; i < n; i++) {
		if (strcmp(h[i].ev.object, acct) != 0)
			continue;
		CU_ASSERT_TRUE(h[i].sig_ok);
		CU_ASSERT_TRUE(h[i].id_ok);
		CU_ASSERT_STRING_EQUAL(h[i].ev.type, "account.created");
		CU_ASSERT_EQUAL(h[i].status, k < 2 ? 500 : 200);
		if (k < 3)
			at[k] = h[i].at_ms;
		k++;
	}
	CU_ASSERT_EQUAL(k, 3);
	/* retry_base 200ms: the first wait 100..200 ms, the second 200..400 */
	CU_ASSERT(at[1] - at[0] >= 100);
	CU_ASSERT(at[2] - at[1] >= 200);
	CU_ASSERT(at[2] - at[1] < 3000);
}

/* ---- order per account, across a restart ---- */

static char accts[NACCT][37];

static void *pay_thread(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg * 31u + 7u;
	for (int i = 0; i < PAYS; i++) {
		int a = (int)(rand_r(&seed) % NACCT),
		    b = (a + 1 + (int)(rand_r(&seed) % 3)) % NACCT;
		(void)pay(accts[a], accts[b], rand_r(&seed) % 6 == 0 ? "\"500.00\"" : "\"1.00\"",
			  NULL);
	}
	return NULL;
}

/* For every account: no event reaches the receiver before the account's
 * previous event was answered 200. Returns the number of violations. */
static int order_violations(const struct ev *evs, int n, const struct rx_hit *h, int nh)
{
	int bad = 0;
	for (int a = 0; a < NACCT; a++) {
		int64_t prev_ok = 0;
		for (int i = 0; i < n; i++) {
			if (strcmp(evs[i].from, accts[a]) != 0 && strcmp(evs[i].to, accts[a]) != 0)
				continue;
			int64_t first = 0, first_ok = 0;
			for (int j = 0; j < nh; j++) {
				if (strcmp(h[j].ev.id, evs[i].id) != 0)
					continue;
				if (first == 0)
					first = h[j].at_ms;
				if (first_ok == 0 && h[j].status == 200)
					first_ok = h[j].at_ms;
			}
			if (first == 0 || first < prev_ok)
				bad++;
			prev_ok = first_ok;
		}
	}
	return bad;
}

static void test_order_across_restart(void)
{
	for (int i = 0; i < NACCT; i++) {
		char name[32];
		snprintf(name, sizeof name, "wh-ord-%d", i);
		CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, name, "USD", "20.00", accts[i]), 201);
	}
	/* every event's first attempt fails: a deliverer that did not hold an
	 * account's later events back would deliver them before the retry */
	pthread_mutex_lock(&RX.mu);
	RX.delay_ms = 15;
	RX.fail_first = 1;
	pthread_mutex_unlock(&RX.mu);
	pthread_t t[WRITERS];
	for (int i = 0; i < WRITERS; i++)
		pthread_create(&t[i], NULL, pay_thread, (void *)(uintptr_t)i);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(t[i], NULL);
	/* a backlog remains (15 ms a delivery): restart in the middle of it */
	static struct rx_hit h[RX_MAX];
	int before = rx_hits(&RX, 0, h, RX_MAX), ours_before = 0;
	for (int j = 0; j < before; j++)
		for (int a = 0; a < NACCT; a++)
			ours_before += h[j].status == 200 && strcmp(h[j].ev.from, accts[a]) == 0;
	CU_ASSERT(ours_before < WRITERS * PAYS); /* stopped in the middle of them */
	CU_ASSERT_EQUAL_FATAL(lf_h_daemon_stop(&fx.d, SIGTERM, 15000), 0);
	CU_ASSERT_TRUE_FATAL(lf_h_daemon_start(&fx.env, &fx.d));
	pthread_mutex_lock(&RX.mu);
	RX.delay_ms = 0;
	pthread_mutex_unlock(&RX.mu);
	static struct ev evs[4000];
	int n = ev_all(fx.d.port, evs, 4000), pays = 0;
	CU_ASSERT_FATAL(n > 0);
	/* every payment event of these accounts delivered */
	int missing = 0;
	for (int i = 0; i < n; i++) {
		bool ours = false;
		for (int a = 0; a < NACCT; a++)
			ours |= strcmp(evs[i].from, accts[a]) == 0;
		if (!ours)
			continue;
		pays++;
		if (!delivered(0, evs[i].object, missing ? 100 : 20000))
			missing++;
	}
	CU_ASSERT_EQUAL(pays, WRITERS * PAYS);
	CU_ASSERT_EQUAL(missing, 0);
	pthread_mutex_lock(&RX.mu);
	RX.fail_first = 0;
	pthread_mutex_unlock(&RX.mu);
	int nh = rx_hits(&RX, 0, h, RX_MAX);
	CU_ASSERT(before < nh); /* some were delivered after the restart */
	CU_ASSERT_EQUAL(order_violations(evs, n, h, nh), 0);
	for (int j = 0; j < nh; j++)
		CU_ASSERT(h[j].sig_ok && h[j].id_ok);
}

/* ---- a webhook added and removed while running ---- */

static void test_added_while_running(void)
{
	char id[40], secret[100], paid[37], args[300];
	snprintf(args, sizeof args,
		 "'http://127.0.0.1:%u/b' --events payment.completed --client wh-y", RX.port);
	int64_t added = lf_h_now_ms();
	CU_ASSERT_EQUAL_FATAL(wh_add(args, id, secret, sizeof secret), 0);
	CU_ASSERT_EQUAL(strlen(secret), 70); /* whsec_ + 64 hex */
	pthread_mutex_lock(&RX.mu);
	snprintf(RX.secret[1], sizeof RX.secret[1], "%s", secret);
	pthread_mutex_unlock(&RX.mu);
	lf_h_auth_use(key_y);
	CU_ASSERT_EQUAL_FATAL(pay(y_acct, funded, "\"1.00\"", paid), 201);
	lf_h_auth_use(admin);
	char other[37];
	CU_ASSERT_EQUAL_FATAL(pay(funded, y_acct, "\"1.00\"", other), 201); /* the admin's */
	CU_ASSERT_TRUE(delivered(1, paid, 5000));
	CU_ASSERT(lf_h_now_ms() - added < 6000);
	CU_ASSERT_FALSE(delivered(1, other, 500)); /* not Y's: not for /b */
	CU_ASSERT_TRUE(delivered(0, other, 5000)); /* the catch-all one has it */

	char line[4096];
	wh_list_line(id, line, sizeof line);
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "/b events=payment.completed client=wh-y"));
	CU_ASSERT_PTR_NULL(strstr(line, "whsec_")); /* no secret */
	char cmd[100];
	snprintf(cmd, sizeof cmd, "webhook remove %s", id);
	CU_ASSERT_EQUAL(lf_h_ctl(&fx.env, &fx.d, cmd), 0);
	CU_ASSERT_NOT_EQUAL(lf_h_ctl(&fx.env, &fx.d, cmd), 0); /* gone */
	wh_list_line(id, line, sizeof line);
	CU_ASSERT_STRING_EQUAL(line, "");
	usleep(1500 * 1000);
	lf_h_auth_use(key_y);
	CU_ASSERT_EQUAL_FATAL(pay(y_acct, funded, "\"1.00\"", paid), 201);
	lf_h_auth_use(admin);
	CU_ASSERT_FALSE(delivered(1, paid, 2000));
}

/* ---- /metrics ---- */

static long long metric(const char *series)
{
	long long v = -1;
	return lf_h_metric(fx.d.port, series, &v) ? v : -1;
}

static void test_metrics(void)
{
	long long failures0 = metric("ledgerflow_webhook_failures_total");
	CU_ASSERT_FATAL(failures0 >= 0);
	pthread_mutex_lock(&RX.mu);
	RX.down = true;
	pthread_mutex_unlock(&RX.mu);
	char ids[3][37];
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL_FATAL(pay(funded, y_acct, "\"1.00\"", ids[i]), 201);
	long long backlog = 0, failures = 0;
	for (int64_t end = lf_h_now_ms() + 8000; lf_h_now_ms() < end; usleep(100000)) {
		backlog = metric("ledgerflow_webhook_backlog");
		failures = metric("ledgerflow_webhook_failures_total");
		if (backlog >= 3 && failures >= failures0 + 3)
			break;
	}
	CU_ASSERT(backlog >= 3);
	CU_ASSERT(failures >= failures0 + 3);
	pthread_mutex_lock(&RX.mu);
	RX.down = false;
	pthread_mutex_unlock(&RX.mu);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_TRUE(delivered(0, ids[i], 10000));
	for (int64_t end = lf_h_now_ms() + 8000; lf_h_now_ms() < end; usleep(100000))
		if ((backlog = metric("ledgerflow_webhook_backlog")) == 0)
			break;
	CU_ASSERT_EQUAL(backlog, 0);
	CU_ASSERT(metric("ledgerflow_webhook_delivered_total") > 0);
}

/* ---- the process ---- */

/* The master's child named lf-webhooks (0: none). */
static pid_t webhooks_child(pid_t master)
{
	DIR *d = opendir("/proc");
	pid_t found = 0;
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL) {
		char path[300], buf[512];
		snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
		FILE *f = fopen(path, "r");
		if (f == NULL)
			continue;
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[n] = '\0';
		char *close_paren = strrchr(buf, ')');
		long ppid = 0;
		char state;
		if (close_paren != NULL && sscanf(close_paren + 2, "%c %ld", &state, &ppid) == 2 &&
		    ppid == master && strstr(buf, "(lf-webhooks)") != NULL && state != 'Z')
			found = (pid_t)atol(e->d_name);
	}
	if (d != NULL)
		closedir(d);
	return found;
}

static pid_t wait_child(pid_t master, pid_t not, int ms)
{
	for (int64_t end = lf_h_now_ms() + ms; lf_h_now_ms() < end; usleep(50000)) {
		pid_t p = webhooks_child(master);
		if (p != 0 && p != not )
			return p;
	}
	return 0;
}

static void test_process(void)
{
	pid_t first = wait_child(fx.d.pid, 0, 5000);
	CU_ASSERT_FATAL(first > 0);
	CU_ASSERT_EQUAL(kill(first, SIGKILL), 0);
	pid_t second = wait_child(fx.d.pid, first, 10000);
	CU_ASSERT_FATAL(second > 0);
	CU_ASSERT(metric("ledgerflow_webhook_process_restarts_total") >= 1);
	char acct[37];
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "wh-after-kill", "USD", NULL, acct), 201);
	CU_ASSERT_TRUE(delivered(0, acct, 10000));
	/* SIGHUP: restarted with the new configuration */
	CU_ASSERT_EQUAL(kill(fx.d.pid, SIGHUP), 0);
	pid_t third = wait_child(fx.d.pid, second, 15000);
	CU_ASSERT_FATAL(third > 0);
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "wh-after-hup", "USD", NULL, acct), 201);
	CU_ASSERT_TRUE(delivered(0, acct, 10000));
}

/* ---- given up after max_age ---- */

#define WH_CONF \
	"[webhooks]\nretry_base = 200ms\nretry_max = 1s\npoll_interval = 50ms\ntimeout = 2s\n"

/* Rewrite the configuration, SIGHUP, and wait for the new lf-webhooks. */
static bool reload_with(const char *extra)
{
	pid_t before = webhooks_child(fx.d.pid);
	return lf_h_daemon_rewrite(&fx.env, &fx.d, 2, extra) && kill(fx.d.pid, SIGHUP) == 0 &&
	       wait_child(fx.d.pid, before, 15000) > 0;
}

static void test_given_up(void)
{
	CU_ASSERT_TRUE_FATAL(reload_with(WH_CONF "max_age = 1s\n"));
	long long given0 = metric("ledgerflow_webhook_given_up_total");
	CU_ASSERT_FATAL(given0 >= 0);
	pthread_mutex_lock(&RX.mu);
	RX.down = true;
	pthread_mutex_unlock(&RX.mu);
	char first[37], second[37];
	CU_ASSERT_EQUAL_FATAL(pay(funded, y_acct, "\"1.00\"", first), 201);
	long long given = given0;
	for (int64_t end = lf_h_now_ms() + 8000; lf_h_now_ms() < end && given == given0;
	     usleep(100000))
		given = metric("ledgerflow_webhook_given_up_total");
	CU_ASSERT(given > given0);
	pthread_mutex_lock(&RX.mu);
	RX.down = false;
	pthread_mutex_unlock(&RX.mu);
	/* the same accounts' next event is not held back by the given-up one */
	CU_ASSERT_EQUAL_FATAL(pay(funded, y_acct, "\"1.00\"", second), 201);
	CU_ASSERT_TRUE(delivered(0, second, 5000));
	CU_ASSERT_FALSE(delivered(0, first, 500)); /* never sent again */
	long long kept = 0;
	for (int64_t end = lf_h_now_ms() + 5000; lf_h_now_ms() < end && kept < 1; usleep(100000))
		kept = metric("ledgerflow_webhook_given_up");
	CU_ASSERT(kept >= 1);
	CU_ASSERT_TRUE(reload_with(WH_CONF));
}

/* ---- https ---- */

/* In fx.d.dir: a CA and a server certificate it signs for 127.0.0.1, and
 * a second CA with a server certificate of its own that nothing trusts. */
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
		"openssl x509 -req -in server.csr -CA rogue.pem -CAkey rogue.key -CAcreateserial "
		"-out rogue-server.pem -days 2 -extfile server.ext",
	};
	char ext[400];
	snprintf(ext, sizeof ext, "%s/server.ext", fx.d.dir);
	FILE *f = fopen(ext, "w");
	if (f == NULL || fputs("subjectAltName=DNS:localhost,IP:127.0.0.1\n", f) < 0 ||
	    fclose(f) != 0)
		return false;
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		char cmd[1200];
		snprintf(cmd, sizeof cmd, "cd '%s' && %s >>openssl.log 2>&1", fx.d.dir, steps[i]);
		int st = system(cmd);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return false;
	}
	return true;
}

static void test_https(void)
{
	static struct rx good, rogue;
	static char cert[300], key[300], rogue_cert[300], conf[600];
	CU_ASSERT_TRUE_FATAL(make_certs());
	snprintf(cert, sizeof cert, "%s/server.pem", fx.d.dir);
	snprintf(key, sizeof key, "%s/server.key", fx.d.dir);
	snprintf(rogue_cert, sizeof rogue_cert, "%s/rogue-server.pem", fx.d.dir);
	good.cert = cert;
	good.key = key;
	rogue.cert = rogue_cert;
	rogue.key = key;
	CU_ASSERT_TRUE_FATAL(rx_start(&good));
	CU_ASSERT_TRUE_FATAL(rx_start(&rogue));
	snprintf(conf, sizeof conf, WH_CONF "tls_ca = %s/ca.pem\n", fx.d.dir);
	CU_ASSERT_TRUE_FATAL(reload_with(conf));
	char id1[40], id2[40], secret[100], args[300];
	snprintf(args, sizeof args, "'https://127.0.0.1:%u/c' --events account.created", good.port);
	CU_ASSERT_EQUAL_FATAL(wh_add(args, id1, secret, sizeof secret), 0);
	snprintf(good.secret[2], sizeof good.secret[2], "%s", secret);
	snprintf(args, sizeof args, "'https://127.0.0.1:%u/c' --events account.created",
		 rogue.port);
	CU_ASSERT_EQUAL_FATAL(wh_add(args, id2, secret, sizeof secret), 0);
	usleep(1200 * 1000); /* picked up within a second */
	char acct[37];
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "wh-https", "USD", NULL, acct), 201);
	static struct rx_hit h[RX_MAX];
	int n = 0, ok = 0;
	for (int64_t end = lf_h_now_ms() + 10000; lf_h_now_ms() < end && ok == 0; usleep(50000)) {
		n = rx_hits(&good, 2, h, RX_MAX);
		for (int i = 0; i < n; i++)
			ok += strcmp(h[i].ev.object, acct) == 0 && h[i].status == 200 &&
			      h[i].sig_ok;
	}
	CU_ASSERT_EQUAL(ok, 1); /* verified: chain to tls_ca, 127.0.0.1 in the certificate */
	/* a certificate of a CA not trusted: the handshake fails, nothing sent */
	for (int64_t end = lf_h_now_ms() + 5000;
	     lf_h_now_ms() < end && __atomic_load_n(&rogue.tls_failed, __ATOMIC_RELAXED) < 2;
	     usleep(50000))
		;
	CU_ASSERT(__atomic_load_n(&rogue.tls_failed, __ATOMIC_RELAXED) >= 2); /* retried */
	CU_ASSERT_EQUAL(rx_hits(&rogue, 2, h, RX_MAX), 0);
	char cmd[100];
	snprintf(cmd, sizeof cmd, "webhook remove %s", id1);
	CU_ASSERT_EQUAL(lf_h_ctl(&fx.env, &fx.d, cmd), 0);
	snprintf(cmd, sizeof cmd, "webhook remove %s", id2);
	CU_ASSERT_EQUAL(lf_h_ctl(&fx.env, &fx.d, cmd), 0);
	CU_ASSERT_TRUE(reload_with(WH_CONF));
	rx_stop(&good);
	rx_stop(&rogue);
}

static int setup(void)
{
	snprintf(admin, sizeof admin, "%s", lf_h_admin_key);
	if (!rx_start(&RX))
		return 1;
	char cmd[300], secret[100];
	snprintf(cmd, sizeof cmd,
		 "client create wh-y --scopes accounts:read,accounts:write,payments:read,"
		 "payments:write,events:read");
	if (lf_h_ctl_key(&fx.env, &fx.d, cmd, key_y, sizeof key_y) != 0)
		return 1;
	snprintf(cmd, sizeof cmd, "'http://127.0.0.1:%u/a' --events " TYPES, RX.port);
	if (wh_add(cmd, hook_a, secret, sizeof secret) != 0)
		return 1;
	snprintf(RX.secret[0], sizeof RX.secret[0], "%s", secret);
	if (lf_h_account(fx.d.port, "wh-funded", "USD", "1000.00", funded) != 201)
		return 1;
	lf_h_auth_use(key_y);
	int st = lf_h_account(fx.d.port, "wh-y", "USD", NULL, y_acct);
	lf_h_auth_use(admin);
	if (st != 201 || pay(funded, y_acct, "\"50.00\"", NULL) != 201)
		return 1;
	return 0;
}

static void teardown(void)
{
	rx_stop(&RX);
}

static const struct lf_test webhook_tests[] = {
	{"retried with back-off, signed", test_retry_and_signature},
	{"order per account, nothing lost across a restart", test_order_across_restart},
	{"a webhook added while running; removed", test_added_while_running},
	{"metrics: backlog and failures", test_metrics},
	{"lf-webhooks: a child of the master, restarted", test_process},
	{"given up after max_age, not holding the account back", test_given_up},
	{"https: verified against tls_ca; an untrusted certificate refused", test_https},
};

static const struct lf_suite suites[] = {{"webhooks", LF_TESTS(webhook_tests)}};

int main(void)
{
	static const struct lf_h_fixture_opts opts = {
		.name = "webhooks", .setup = setup, .teardown = teardown, .extra_conf = WH_CONF};
	return lf_h_fixture_main(suites, LF_COUNT(suites), &opts);
}
