/*
 * test_process.c - the process model against the real binary: reloads
 * under load with zero failed requests, a killed worker replaced, a broken
 * configuration refused on reload, a graceful stop under load.
 *
 * The load: 20 threads, each on its own keep-alive connection, sending
 * GET /healthz until told to stop (bounded in time). A request that was
 * sent and got no complete response is a failure; a reply that says
 * Connection: close makes the client reconnect, as HTTP/1.1 clients do.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "harness.h"

#define LOAD_THREADS 20

struct load {
	unsigned port;
	volatile int stop;
	int64_t stop_counting_after_ms; /* connections opened after this are not judged */
	pthread_t threads[LOAD_THREADS];
	/* per-thread counters, summed after join */
	long sent[LOAD_THREADS], ok[LOAD_THREADS], failed[LOAD_THREADS], refused[LOAD_THREADS];
	long closes[LOAD_THREADS], non200[LOAD_THREADS];
	int idx[LOAD_THREADS];
};

static void *load_thread(void *arg)
{
	int *idxp = arg;
	int i = *idxp;
	struct load *L = (struct load *)((char *)(idxp - i) - offsetof(struct load, idx));
	struct lf_h_conn c = {.fd = -1};
	int64_t opened_ms = 0;
	int64_t hard_stop = lf_h_now_ms() + 60000;
	while (!L->stop && lf_h_now_ms() < hard_stop) {
		if (c.fd < 0) {
			if (!lf_h_connect(&c, L->port)) {
				L->refused[i]++;
				usleep(20000);
				continue;
			}
			opened_ms = lf_h_now_ms();
		}
		struct lf_h_resp r;
		int rc = lf_h_request(&c, "GET", "/healthz", NULL, NULL, &r);
		bool judged =
			L->stop_counting_after_ms == 0 || opened_ms < L->stop_counting_after_ms;
		if (rc == 0) {
			L->sent[i]++;
			if (r.status == 200)
				L->ok[i]++;
			else
				L->non200[i]++;
			if (r.conn_close) {
				L->closes[i]++;
				lf_h_close(&c);
			}
		} else {
			if (rc == -2 && judged) {
				L->sent[i]++;
				L->failed[i]++;
			}
			lf_h_close(&c);
		}
		lf_h_resp_free(&r);
	}
	lf_h_close(&c);
	return NULL;
}

static void load_start(struct load *L, unsigned port)
{
	memset(L, 0, sizeof *L);
	L->port = port;
	for (int i = 0; i < LOAD_THREADS; i++) {
		L->idx[i] = i;
		pthread_create(&L->threads[i], NULL, load_thread, &L->idx[i]);
	}
}

static void load_stop(struct load *L, long *sent, long *ok, long *failed, long *closes,
		      long *non200)
{
	L->stop = 1;
	*sent = *ok = *failed = *closes = *non200 = 0;
	for (int i = 0; i < LOAD_THREADS; i++) {
		pthread_join(L->threads[i], NULL);
		*sent += L->sent[i];
		*ok += L->ok[i];
		*failed += L->failed[i];
		*closes += L->closes[i];
		*non200 += L->non200[i];
	}
}

static bool disjoint(const pid_t *a, int na, const pid_t *b, int nb)
{
	for (int i = 0; i < na; i++)
		for (int j = 0; j < nb; j++)
			if (a[i] == b[j])
				return false;
	return true;
}

static int wait_workers(pid_t master, int want, pid_t *pids, int64_t timeout_ms)
{
	int64_t deadline = lf_h_now_ms() + timeout_ms;
	int n = 0;
	do {
		n = lf_h_workers(master, pids, 16);
		if (n == want)
			return n;
		usleep(20000);
	} while (lf_h_now_ms() < deadline);
	return n;
}

static void test_reload_under_load(void)
{
	struct lf_h_daemon d;
	CU_ASSERT_FATAL(lf_h_daemon_config(&fx.env, &d, fx.db, 2, NULL));
	CU_ASSERT_FATAL(lf_h_daemon_start(&fx.env, &d));
	pid_t before[16], after[16];
	int nb = wait_workers(d.pid, 2, before, 5000);
	CU_ASSERT_EQUAL(nb, 2);

	struct load L;
	load_start(&L, d.port);
	usleep(500 * 1000);
	for (int i = 0; i < 10; i++) {
		kill(d.pid, SIGHUP);
		usleep(900 * 1000);
	}
	usleep(500 * 1000);
	long sent, ok, failed, closes, non200;
	load_stop(&L, &sent, &ok, &failed, &closes, &non200);
	int na = wait_workers(d.pid, 2, after, 5000);
	printf("\n  reload under load: %ld requests, %ld ok, %ld failed, %ld non-200, "
	       "%ld Connection: close, 10 reloads\n",
	       sent, ok, failed, non200, closes);
	CU_ASSERT(sent > 1000);
	CU_ASSERT_EQUAL(failed, 0);
	CU_ASSERT_EQUAL(non200, 0);
	CU_ASSERT_EQUAL(ok, sent);
	CU_ASSERT_EQUAL(na, 2);
	CU_ASSERT(disjoint(before, nb, after, na));
	CU_ASSERT(lf_h_log_contains(&d, "reload_done"));
	CU_ASSERT_EQUAL(lf_h_daemon_stop(&d, SIGTERM, 15000), 0);
}

static void test_killed_worker_replaced(void)
{
	struct lf_h_daemon d;
	CU_ASSERT_FATAL(lf_h_daemon_config(&fx.env, &d, fx.db, 2, NULL));
	CU_ASSERT_FATAL(lf_h_daemon_start(&fx.env, &d));
	pid_t before[16], now[16];
	CU_ASSERT_EQUAL_FATAL(wait_workers(d.pid, 2, before, 5000), 2);
	int64_t t0 = lf_h_now_ms();
	kill(before[0], SIGKILL);
	bool replaced = false;
	while (lf_h_now_ms() - t0 < 1000 && !replaced) {
		int n = lf_h_workers(d.pid, now, 16);
		replaced = n == 2 && (now[0] != before[0] && now[1] != before[0]);
		if (!replaced)
			usleep(10000);
	}
	int64_t took = lf_h_now_ms() - t0;
	printf("\n  killed worker replaced in %lld ms\n", (long long)took);
	CU_ASSERT(replaced);
	/* and the service answers */
	int good = 0;
	for (int i = 0; i < 20; i++) {
		struct lf_h_resp r;
		if (lf_h_http(d.port, "GET", "/healthz", NULL, NULL, &r) == 0 && r.status == 200)
			good++;
		lf_h_resp_free(&r);
	}
	CU_ASSERT_EQUAL(good, 20);
	CU_ASSERT(lf_h_log_contains(&d, "worker_died"));
	CU_ASSERT_EQUAL(lf_h_daemon_stop(&d, SIGTERM, 15000), 0);
}

static void test_broken_config_reload_keeps_serving(void)
{
	struct lf_h_daemon d;
	CU_ASSERT_FATAL(lf_h_daemon_config(&fx.env, &d, fx.db, 2, NULL));
	CU_ASSERT_FATAL(lf_h_daemon_start(&fx.env, &d));
	pid_t before[16], after[16];
	CU_ASSERT_EQUAL_FATAL(wait_workers(d.pid, 2, before, 5000), 2);
	CU_ASSERT_FATAL(lf_h_daemon_rewrite(&fx.env, &d, 2, "[mysql]\npool_size = lots\n"));
	kill(d.pid, SIGHUP);
	usleep(700 * 1000);
	int na = wait_workers(d.pid, 2, after, 2000);
	CU_ASSERT_EQUAL(na, 2);
	CU_ASSERT(!disjoint(before, 2, after, na));
	CU_ASSERT(before[0] == after[0] || before[0] == after[1]);
	CU_ASSERT(lf_h_log_contains(&d, "reload_rejected"));
	CU_ASSERT(lf_h_log_contains(&d, "pool_size"));
	struct lf_h_resp r;
	CU_ASSERT_EQUAL(lf_h_http(d.port, "GET", "/healthz", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	lf_h_resp_free(&r);
	/* a fixed file is taken by the next reload */
	CU_ASSERT_FATAL(lf_h_daemon_rewrite(&fx.env, &d, 3, NULL));
	kill(d.pid, SIGHUP);
	CU_ASSERT_EQUAL(wait_workers(d.pid, 3, after, 5000), 3);
	CU_ASSERT_EQUAL(lf_h_daemon_stop(&d, SIGTERM, 15000), 0);
}

static void test_graceful_stop_under_load(void)
{
	struct lf_h_daemon d;
	CU_ASSERT_FATAL(lf_h_daemon_config(&fx.env, &d, fx.db, 2, NULL));
	CU_ASSERT_FATAL(lf_h_daemon_start(&fx.env, &d));
	struct load L;
	load_start(&L, d.port);
	usleep(1000 * 1000);
	L.stop_counting_after_ms = lf_h_now_ms();
	int64_t t0 = lf_h_now_ms();
	int rc = lf_h_daemon_stop(&d, SIGQUIT, 15000);
	int64_t took = lf_h_now_ms() - t0;
	long sent, ok, failed, closes, non200;
	load_stop(&L, &sent, &ok, &failed, &closes, &non200);
	printf("\n  graceful stop under load: %ld requests, %ld failed on connections open "
	       "before SIGQUIT, stopped in %lld ms\n",
	       sent, failed, (long long)took);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(failed, 0);
	CU_ASSERT_EQUAL(non200, 0);
	CU_ASSERT(sent > 100);
	struct stat st;
	CU_ASSERT(stat(d.pidfile, &st) != 0); /* pid file removed */
	CU_ASSERT(lf_h_log_contains(&d, "mode=graceful"));
}

static void test_config_check(void)
{
	struct lf_h_daemon d;
	CU_ASSERT_FATAL(lf_h_daemon_config(&fx.env, &d, fx.db, 2, NULL));
	char cmd[4096];
	snprintf(cmd, sizeof cmd, "'%s/ledgerflowd' -t -c '%s' | grep -qx 'configuration ok'",
		 fx.env.builddir, d.conf);
	CU_ASSERT_EQUAL(system(cmd), 0);
	CU_ASSERT_FATAL(lf_h_daemon_rewrite(&fx.env, &d, 2, "[redis]\nport = 99999\n"));
	snprintf(cmd, sizeof cmd, "'%s/ledgerflowd' -t -c '%s' 2>&1 | grep -q 'redis.port'",
		 fx.env.builddir, d.conf);
	CU_ASSERT_EQUAL(system(cmd), 0);
	snprintf(cmd, sizeof cmd, "'%s/ledgerflowd' -t -c '%s' >/dev/null 2>&1", fx.env.builddir,
		 d.conf);
	int st = system(cmd);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 1);
}

static long read_pid(const char *path)
{
	FILE *f = fopen(path, "r");
	long pid = 0;
	if (f != NULL) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return pid;
}

/* Without -f the daemon detaches: the command returns, the pid file names
 * a live master that serves; SIGUSR1 reopens the log file (rotation);
 * SIGTERM stops it and removes the pid file. */
static void test_daemonize_and_log_reopen(void)
{
	struct lf_h_daemon d;
	CU_ASSERT_FATAL(lf_h_daemon_config(&fx.env, &d, fx.db, 1, NULL));
	char logfile[400], rotated[420];
	snprintf(logfile, sizeof logfile, "%s/server.log", d.dir);
	snprintf(rotated, sizeof rotated, "%s/server.log.1", d.dir);
	/* the environment overrides the file (log_file lives in [server]) */
	setenv("LEDGERFLOW_SERVER_LOG_FILE", logfile, 1);
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "'%s/ledgerflowd' -c '%s'", fx.env.builddir, d.conf);
	int64_t t0 = lf_h_now_ms();
	int st = system(cmd);
	unsetenv("LEDGERFLOW_SERVER_LOG_FILE");
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CU_ASSERT(lf_h_now_ms() - t0 < 5000); /* returned: detached */
	long pid = 0;
	for (int i = 0; i < 100 && (pid = read_pid(d.pidfile)) == 0; i++)
		usleep(50 * 1000);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT(kill((pid_t)pid, 0) == 0);
	bool serving = false;
	for (int i = 0; i < 100 && !serving; i++) {
		struct lf_h_resp r;
		serving = lf_h_http(d.port, "GET", "/healthz", NULL, NULL, &r) == 0 &&
			  r.status == 200;
		lf_h_resp_free(&r);
		if (!serving)
			usleep(50 * 1000);
	}
	CU_ASSERT(serving);

	/* rotate: move the file away, SIGUSR1, the next lines go to a new file */
	CU_ASSERT(rename(logfile, rotated) == 0);
	kill((pid_t)pid, SIGUSR1);
	usleep(300 * 1000);
	struct lf_h_resp r;
	CU_ASSERT(lf_h_http(d.port, "GET", "/healthz", NULL, NULL, &r) == 0 && r.status == 200);
	lf_h_resp_free(&r);
	usleep(200 * 1000);
	struct stat sb;
	CU_ASSERT(stat(logfile, &sb) == 0 && sb.st_size > 0);
	/* the worker's access line is in the new file: workers reopened too */
	char grep[1024];
	snprintf(grep, sizeof grep, "grep -q 'msg=access' '%s'", logfile);
	CU_ASSERT_EQUAL(system(grep), 0);

	kill((pid_t)pid, SIGTERM);
	bool gone = false;
	for (int i = 0; i < 200 && !gone; i++) {
		gone = kill((pid_t)pid, 0) != 0;
		if (!gone)
			usleep(50 * 1000);
	}
	CU_ASSERT(gone);
	CU_ASSERT(stat(d.pidfile, &sb) != 0);
}

/* The daemons refuse to start on a database whose currencies table does
 * not agree with the built-in one (an unmigrated one included). */
static int setup(void)
{
	struct lf_h_daemon d;
	return lf_h_daemon_config(&fx.env, &d, fx.db, 1, NULL) &&
			       lf_h_ctl(&fx.env, &d, "migrate") == 0
		       ? 0
		       : 1;
}

int main(void)
{
	static const struct lf_test tests[] = {
		{"config check (-t)", test_config_check},
		{"SIGHUP x10 under load: zero failures, workers replaced", test_reload_under_load},
		{"kill -9 a worker: replaced within a second", test_killed_worker_replaced},
		{"SIGHUP with a broken config keeps the old workers",
		 test_broken_config_reload_keeps_serving},
		{"SIGQUIT under load: in-flight complete, pid file gone",
		 test_graceful_stop_under_load},
		{"detaches without -f; SIGUSR1 reopens the log", test_daemonize_and_log_reopen},
	};
	static const struct lf_suite suites[] = {{"process", LF_TESTS(tests)}};
	/* every test starts (and stops) daemons of its own */
	static const struct lf_h_fixture_opts opts = {
		.name = "process", .no_daemon = true, .setup = setup};
	return lf_h_fixture_main(suites, LF_COUNT(suites), &opts);
}
