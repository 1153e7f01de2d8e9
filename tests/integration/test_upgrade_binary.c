/*
 * test_upgrade_binary.c - the binary upgrade without downtime against the
 * real binary (api-contract.md, "Process: binary upgrade"): SIGUSR2 starts
 * a new master next to the old one, SIGWINCH stops the old one's workers,
 * SIGQUIT ends it; the rollback (SIGHUP to the old master, SIGQUIT to the
 * new one); a new binary that fails to start (a broken file at the
 * binary's path, an invalid configuration) leaves the old master serving
 * with its pid file back; the shared cache survives the hand-over (a
 * replay served from tier 1 by the new master), and a zone laid out
 * differently is not inherited.
 *
 * Each daemon runs from its own copy of ledgerflowd in its temp directory,
 * so a test can put a new file at the binary's path (a package upgrade) or
 * a broken one. The test program is a child subreaper: a new master whose
 * old master ended becomes our child, as under systemd. The load: LOAD_THREADS
 * threads on keep-alive connections sending GET /healthz (a reply with
 * Connection: close makes the client reconnect); every request sent that
 * gets no complete 200 is a failure, and none is allowed at any step.
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "harness.h"

#define LOAD_THREADS 8
#define LOAD_MAX_MS 90000

struct load {
	unsigned port;
	volatile int stop;
	useconds_t pace_us; /* a pause between requests (a long test's log stays small) */
	pthread_t threads[LOAD_THREADS];
	long sent[LOAD_THREADS], failed[LOAD_THREADS], non200[LOAD_THREADS];
	struct load_arg {
		struct load *L;
		int i;
	} args[LOAD_THREADS];
};

static void *load_thread(void *arg)
{
	struct load_arg *a = arg;
	struct load *L = a->L;
	struct lf_h_conn c = {.fd = -1};
	int64_t hard_stop = lf_h_now_ms() + LOAD_MAX_MS;
	while (!L->stop && lf_h_now_ms() < hard_stop) {
		if (c.fd < 0 && !lf_h_connect(&c, L->port)) {
			L->failed[a->i]++; /* refused: nobody accepted */
			usleep(20000);
			continue;
		}
		struct lf_h_resp r;
		int rc = lf_h_request(&c, "GET", "/healthz", NULL, NULL, &r);
		if (rc == 0) {
			L->sent[a->i]++;
			if (r.status != 200)
				L->non200[a->i]++;
			if (r.conn_close)
				lf_h_close(&c);
		} else {
			if (rc == -2) { /* sent, no complete answer */
				L->sent[a->i]++;
				L->failed[a->i]++;
			}
			lf_h_close(&c);
		}
		lf_h_resp_free(&r);
		if (L->pace_us > 0)
			usleep(L->pace_us);
	}
	lf_h_close(&c);
	return NULL;
}

static void load_start(struct load *L, unsigned port, useconds_t pace_us)
{
	memset(L, 0, sizeof *L);
	L->port = port;
	L->pace_us = pace_us;
	for (int i = 0; i < LOAD_THREADS; i++) {
		L->args[i] = (struct load_arg){L, i};
		pthread_create(&L->threads[i], NULL, load_thread, &L->args[i]);
	}
}

/* Stop the load; the requests sent, and the failures (incl. non-200). */
static long load_stop(struct load *L, long *failed)
{
	L->stop = 1;
	long sent = 0;
	*failed = 0;
	for (int i = 0; i < LOAD_THREADS; i++) {
		pthread_join(L->threads[i], NULL);
		sent += L->sent[i];
		*failed += L->failed[i] + L->non200[i];
	}
	return sent;
}

/* Every daemon's process group (a new master is in its old master's), so
 * a failed or timed-out test leaves no process behind. */
static pid_t groups[16];
static volatile int ngroups;

static void kill_groups(void)
{
	for (int i = 0; i < ngroups; i++)
		kill(-groups[i], SIGKILL);
}

static bool copy_file(const char *from, const char *to, mode_t mode)
{
	char tmp[600], buf[65536];
	snprintf(tmp, sizeof tmp, "%s.new", to);
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	bool ok = in >= 0 && out >= 0;
	ssize_t n;
	while (ok && (n = read(in, buf, sizeof buf)) > 0)
		ok = write(out, buf, (size_t)n) == n;
	if (in >= 0)
		close(in);
	if (out >= 0)
		ok = close(out) == 0 && ok;
	/* a rename, as a package manager does: the running binary keeps its file */
	return ok && chmod(tmp, mode) == 0 && rename(tmp, to) == 0;
}

/* A new build of ledgerflowd at the daemon's binary path. */
static bool install_binary(const struct lf_h_daemon *d)
{
	char from[1100], to[400];
	snprintf(from, sizeof from, "%s/ledgerflowd", fx.env.builddir);
	snprintf(to, sizeof to, "%s/ledgerflowd", d->dir);
	return copy_file(from, to, 0755);
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

static long read_oldbin(const struct lf_h_daemon *d)
{
	char path[400];
	snprintf(path, sizeof path, "%s.oldbin", d->pidfile);
	return read_pid(path);
}

/* Alive and not a zombie. */
static bool alive(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return false;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

static int wait_workers(pid_t master, int want, int64_t timeout_ms)
{
	int64_t deadline = lf_h_now_ms() + timeout_ms;
	pid_t pids[16];
	int n;
	while ((n = lf_h_workers(master, pids, 16)) != want && lf_h_now_ms() < deadline)
		usleep(20000);
	return n;
}

static bool wait_log(const struct lf_h_daemon *d, const char *text, int count, int64_t timeout_ms)
{
	int64_t deadline = lf_h_now_ms() + timeout_ms;
	while (lf_h_log_count(d, text) < count && lf_h_now_ms() < deadline)
		usleep(50000);
	return lf_h_log_count(d, text) >= count;
}

static bool wait_gone(pid_t pid, int64_t timeout_ms)
{
	int64_t deadline = lf_h_now_ms() + timeout_ms;
	while (alive(pid) && lf_h_now_ms() < deadline)
		usleep(20000);
	return !alive(pid);
}

/* Start ledgerflowd -f from a copy in its own directory, as the harness
 * starts the build's (healthz answers and the master logged "started"). */
static bool start_daemon(struct lf_h_daemon *d, const char *extra)
{
	if (!lf_h_daemon_config(&fx.env, d, fx.db, 2, extra) || !install_binary(d))
		return false;
	char bin[400];
	snprintf(bin, sizeof bin, "%s/ledgerflowd", d->dir);
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
		execl(bin, bin, "-f", "-c", d->conf, (char *)NULL);
		_exit(127);
	}
	d->pid = pid;
	if (ngroups < (int)(sizeof groups / sizeof groups[0]))
		groups[ngroups++] = pid;
	int64_t deadline = lf_h_now_ms() + 10000;
	while (lf_h_now_ms() < deadline) {
		struct lf_h_resp r;
		bool ok = lf_h_http(d->port, "GET", "/healthz", NULL, NULL, &r) == 0 &&
			  r.status == 200;
		lf_h_resp_free(&r);
		if (ok && lf_h_log_contains(d, "msg=started ") && wait_workers(pid, 2, 0) == 2)
			return true;
		usleep(50000);
	}
	return false;
}

/* SIGUSR2 to the master; the new master's pid once it is ready (the
 * nth upgrade_new_master_ready line, its pid in the pid file, the old
 * master's in .oldbin, its two workers up), or 0. */
static pid_t upgrade(const struct lf_h_daemon *d, pid_t old, int nth)
{
	kill(old, SIGUSR2);
	if (!wait_log(d, "upgrade_new_master_ready", nth, 20000))
		return 0;
	pid_t np = (pid_t)read_pid(d->pidfile);
	if (np <= 0 || np == old || read_oldbin(d) != (long)old || wait_workers(np, 2, 5000) != 2)
		return 0;
	return np;
}

/* Requests the workers of master answered, by the access log. */
static int served_by(const struct lf_h_daemon *d, pid_t master)
{
	pid_t pids[16];
	int n = lf_h_workers(master, pids, 16), total = 0;
	for (int i = 0; i < n; i++) {
		char text[64];
		snprintf(text, sizeof text, "pid=%ld role=worker msg=access", (long)pids[i]);
		total += lf_h_log_count(d, text);
	}
	return total;
}

/* Both generations answer: the old one on the load's keep-alive
 * connections, the new one (at least) some of the new connections. */
static bool both_serve(const struct lf_h_daemon *d, pid_t old, pid_t np)
{
	int old0 = served_by(d, old);
	int64_t deadline = lf_h_now_ms() + 5000;
	while (served_by(d, np) == 0 && lf_h_now_ms() < deadline) {
		for (int i = 0; i < 10; i++) {
			struct lf_h_resp r;
			(void)lf_h_http(d->port, "GET", "/healthz", NULL, NULL, &r);
			lf_h_resp_free(&r);
		}
	}
	return served_by(d, np) > 0 && served_by(d, old) > old0;
}

/* SIGUSR2, both serve, SIGWINCH to the old master, SIGQUIT to it: under
 * load, not one failed request; the new master (a new file at the
 * binary's path) owns the pid file and serves alone. */
static void test_upgrade_under_load(void)
{
	struct lf_h_daemon d;
	CU_ASSERT_FATAL(start_daemon(&d, NULL));
	pid_t old = d.pid;
	struct load L;
	load_start(&L, d.port, 0);
	usleep(500 * 1000);
	CU_ASSERT(install_binary(&d)); /* the package manager put a new file there */
	int64_t t0 = lf_h_now_ms();
	pid_t np = upgrade(&d, old, 1);
	CU_ASSERT_FATAL(np > 0);
	printf("\n  new master ready %lld ms after SIGUSR2", (long long)(lf_h_now_ms() - t0));
	CU_ASSERT(lf_h_log_contains(&d, "socket_inherited"));
	CU_ASSERT(lf_h_log_contains(&d, "zone_inherited"));
	CU_ASSERT_EQUAL(wait_workers(old, 2, 0), 2);
	CU_ASSERT(both_serve(&d, old, np));
	kill(old, SIGWINCH);
	CU_ASSERT_EQUAL(wait_workers(old, 0, 15000), 0);
	CU_ASSERT(alive(old)); /* it stays, for a rollback */
	usleep(700 * 1000);
	CU_ASSERT_EQUAL(lf_h_daemon_stop(&d, SIGQUIT, 15000), 0);
	CU_ASSERT_EQUAL(read_oldbin(&d), 0);
	CU_ASSERT_EQUAL(read_pid(d.pidfile), (long)np);
	usleep(700 * 1000);
	long failed;
	long sent = load_stop(&L, &failed);
	printf("\n  upgrade under load: %ld requests, %ld failed\n", sent, failed);
	CU_ASSERT(sent > 500);
	CU_ASSERT_EQUAL(failed, 0);
	CU_ASSERT_EQUAL(wait_workers(np, 2, 0), 2);
	/* the new master is our child now (subreaper): it stops as a master does */
	d.pid = np;
	CU_ASSERT_EQUAL(lf_h_daemon_stop(&d, SIGTERM, 15000), 0);
	CU_ASSERT_EQUAL(read_pid(d.pidfile), 0);
}

/* SIGUSR2, SIGWINCH, then the rollback: SIGHUP to the old master starts
 * its workers again, SIGQUIT to the new one ends it; the old master has
 * its pid file back. Not one failed request. */
static void test_rollback_under_load(void)
{
	struct lf_h_daemon d;
	CU_ASSERT_FATAL(start_daemon(&d, NULL));
	pid_t old = d.pid;
	struct load L;
	load_start(&L, d.port, 0);
	usleep(500 * 1000);
	pid_t np = upgrade(&d, old, 1);
	CU_ASSERT_FATAL(np > 0);
	kill(old, SIGWINCH);
	CU_ASSERT_EQUAL(wait_workers(old, 0, 15000), 0);
	usleep(500 * 1000);
	kill(old, SIGHUP);
	CU_ASSERT_EQUAL(wait_workers(old, 2, 15000), 2);
	CU_ASSERT(wait_log(&d, "workers_restarted", 1, 5000));
	usleep(500 * 1000);
	kill(np, SIGQUIT);
	CU_ASSERT(wait_gone(np, 15000));
	CU_ASSERT(wait_log(&d, "upgrade_new_master_exited", 1, 5000));
	CU_ASSERT_EQUAL(read_pid(d.pidfile), (long)old);
	CU_ASSERT_EQUAL(read_oldbin(&d), 0);
	usleep(700 * 1000);
	long failed;
	long sent = load_stop(&L, &failed);
	printf("\n  rollback under load: %ld requests, %ld failed\n", sent, failed);
	CU_ASSERT(sent > 500);
	CU_ASSERT_EQUAL(failed, 0);
	CU_ASSERT_EQUAL(wait_workers(old, 2, 0), 2);
	/* and it can upgrade again */
	pid_t again = upgrade(&d, old, 2);
	CU_ASSERT(again > 0);
	CU_ASSERT_EQUAL(lf_h_daemon_stop(&d, SIGTERM, 15000), 0);
	if (again > 0) {
		kill(again, SIGTERM);
		CU_ASSERT(wait_gone(again, 15000));
		int st;
		CU_ASSERT_EQUAL(waitpid(again, &st, 0), again);
		CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
}

/* SIGUSR2 when the new binary cannot start: the old master logs it, takes
 * its pid file back and serves on, not one failed request. */
static void failed_upgrade(const struct lf_h_daemon *d, int nth)
{
	pid_t old = d->pid;
	kill(old, SIGUSR2);
	CU_ASSERT(wait_log(d, "upgrade_failed", nth, 20000));
	int64_t deadline = lf_h_now_ms() + 5000;
	while (read_pid(d->pidfile) != (long)old && lf_h_now_ms() < deadline)
		usleep(20000);
	CU_ASSERT_EQUAL(read_pid(d->pidfile), (long)old);
	CU_ASSERT_EQUAL(read_oldbin(d), 0);
	CU_ASSERT_EQUAL(wait_workers(old, 2, 0), 2);
	CU_ASSERT(alive(old));
}

/* A broken build at the binary's path: a script in its place. */
static bool install_script(const struct lf_h_daemon *d, const char *body)
{
	char bin[400], script[600];
	snprintf(bin, sizeof bin, "%s/ledgerflowd", d->dir);
	snprintf(script, sizeof script, "%s/broken", d->dir);
	FILE *f = fopen(script, "w");
	if (f == NULL)
		return false;
	fprintf(f, "#!/bin/sh\n%s\n", body);
	return fclose(f) == 0 && chmod(script, 0755) == 0 && rename(script, bin) == 0;
}

static void test_new_binary_fails(void)
{
	struct lf_h_daemon d;
	CU_ASSERT_FATAL(start_daemon(&d, NULL));
	struct load L;
	load_start(&L, d.port, 0);
	usleep(300 * 1000);
	/* a broken build at the binary's path: it exits at once */
	CU_ASSERT(install_script(&d, "echo 'broken build' >&2; exit 1"));
	failed_upgrade(&d, 1);
	/* a good binary, an invalid configuration: the new master refuses it */
	CU_ASSERT(install_binary(&d));
	CU_ASSERT(lf_h_daemon_rewrite(&fx.env, &d, 2, "[server]\nworkers_typo = 3\n"));
	failed_upgrade(&d, 2);
	usleep(300 * 1000);
	long failed;
	long sent = load_stop(&L, &failed);
	printf("\n  failed upgrades under load: %ld requests, %ld failed\n", sent, failed);
	CU_ASSERT(sent > 200);
	CU_ASSERT_EQUAL(failed, 0);
	CU_ASSERT(lf_h_log_contains(&d, "code=1"));
	/* fixed, the next SIGUSR2 works */
	CU_ASSERT(lf_h_daemon_rewrite(&fx.env, &d, 2, NULL));
	pid_t np = upgrade(&d, d.pid, 1);
	CU_ASSERT(np > 0);
	CU_ASSERT_EQUAL(lf_h_daemon_stop(&d, SIGQUIT, 15000), 0);
	if (np > 0) {
		d.pid = np;
		CU_ASSERT_EQUAL(lf_h_daemon_stop(&d, SIGTERM, 15000), 0);
	}
}

/* [cache] size in the daemon's file (the harness writes 4M). */
static bool set_cache_size(const struct lf_h_daemon *d, const char *size)
{
	char text[8192], tmp[400];
	FILE *f = fopen(d->conf, "r");
	size_t n = f != NULL ? fread(text, 1, sizeof text - 1, f) : 0;
	if (f != NULL)
		fclose(f);
	text[n] = '\0';
	char *at = strstr(text, "[cache]\nsize = 4M\n");
	if (at == NULL)
		return false;
	*at = '\0';
	snprintf(tmp, sizeof tmp, "%s.new", d->conf);
	f = fopen(tmp, "w");
	if (f == NULL)
		return false;
	fprintf(f, "%s[cache]\nsize = %s\n%s", text, size, at + strlen("[cache]\nsize = 4M\n"));
	return fclose(f) == 0 && chmod(tmp, 0600) == 0 && rename(tmp, d->conf) == 0;
}

struct tiers {
	long long shm, redis, db;
};

static bool tiers_read(unsigned port, struct tiers *t)
{
	return lf_h_metric(port,
			   "ledgerflow_idempotency_lookups_total{result=\"hit\",tier=\"shm\"}",
			   &t->shm) &&
	       lf_h_metric(port,
			   "ledgerflow_idempotency_lookups_total{result=\"hit\",tier=\"redis\"}",
			   &t->redis) &&
	       lf_h_metric(port, "ledgerflow_idempotency_lookups_total{result=\"hit\",tier=\"db\"}",
			   &t->db);
}

/* A replay of key: the first answer byte for byte, marked replayed. */
static bool replayed(unsigned port, const char *key, const char *a, const char *b,
		     const struct lf_h_resp *first)
{
	struct lf_h_resp r;
	char h[16] = "";
	bool ok = lf_h_pay(port, key, a, b, "\"2.50\"", &r) == 201 &&
		  lf_h_header(&r, "Idempotent-Replayed", h, sizeof h) && strcmp(h, "true") == 0 &&
		  r.body_len == first->body_len && memcmp(r.body, first->body, r.body_len) == 0;
	lf_h_resp_free(&r);
	return ok;
}

/* Pay once, upgrade (SIGUSR2, SIGWINCH, SIGQUIT), replay on the new
 * master: the answer comes from the shared cache the old master made
 * (tier 1), its counters carried over with the zone. */
static void test_cache_survives(void)
{
	struct lf_h_daemon d;
	CU_ASSERT_FATAL(start_daemon(&d, NULL));
	char a[37], b[37], key[64];
	CU_ASSERT_EQUAL_FATAL(lf_h_account(d.port, "Upg A", "USD", "100.00", a), 201);
	CU_ASSERT_EQUAL_FATAL(lf_h_account(d.port, "Upg B", "USD", "0", b), 201);
	snprintf(key, sizeof key, "upgrade-cache-%ld", (long)getpid());
	struct lf_h_resp first;
	CU_ASSERT_EQUAL_FATAL(lf_h_pay(d.port, key, a, b, "\"2.50\"", &first), 201);
	struct tiers t0, t1, t2;
	CU_ASSERT_FATAL(tiers_read(d.port, &t0));
	CU_ASSERT(replayed(d.port, key, a, b, &first));
	CU_ASSERT_FATAL(tiers_read(d.port, &t1));
	CU_ASSERT_EQUAL(t1.shm, t0.shm + 1); /* served from tier 1 */

	pid_t old = d.pid;
	pid_t np = upgrade(&d, old, 1);
	CU_ASSERT_FATAL(np > 0);
	kill(old, SIGWINCH);
	CU_ASSERT_EQUAL(wait_workers(old, 0, 15000), 0);
	CU_ASSERT_EQUAL(lf_h_daemon_stop(&d, SIGQUIT, 15000), 0);
	d.pid = np;
	/* only the new master's workers answer now */
	CU_ASSERT(replayed(d.port, key, a, b, &first));
	CU_ASSERT_FATAL(tiers_read(d.port, &t2));
	printf("\n  tier hits shm/redis/db: before %lld/%lld/%lld, after the upgrade "
	       "%lld/%lld/%lld\n",
	       t1.shm, t1.redis, t1.db, t2.shm, t2.redis, t2.db);
	CU_ASSERT_EQUAL(t2.shm, t1.shm + 1);
	CU_ASSERT_EQUAL(t2.redis, t1.redis);
	CU_ASSERT_EQUAL(t2.db, t1.db);
	CU_ASSERT(lf_h_log_contains(&d, "zone_inherited"));

	/* a zone laid out otherwise (a bigger cache) is not inherited: the new
	 * master starts a fresh one and the replay comes from Redis */
	CU_ASSERT(set_cache_size(&d, "8M"));
	pid_t np2 = upgrade(&d, np, 2);
	CU_ASSERT_FATAL(np2 > 0);
	CU_ASSERT(lf_h_log_contains(&d, "zone_not_inherited"));
	CU_ASSERT(lf_h_log_contains(&d, "reason=\"size differs\""));
	kill(np, SIGWINCH);
	CU_ASSERT_EQUAL(wait_workers(np, 0, 15000), 0);
	CU_ASSERT_EQUAL(lf_h_daemon_stop(&d, SIGQUIT, 15000), 0);
	d.pid = np2;
	CU_ASSERT(replayed(d.port, key, a, b, &first));
	struct tiers t3;
	CU_ASSERT_FATAL(tiers_read(d.port, &t3));
	CU_ASSERT_EQUAL(t3.shm, 0); /* fresh counters with the fresh zone */
	CU_ASSERT_EQUAL(t3.redis, 1);
	lf_h_resp_free(&first);
	CU_ASSERT_EQUAL(lf_h_daemon_stop(&d, SIGTERM, 15000), 0);
}

/* A new binary that never says it is ready (it hangs) is stopped once
 * LF_UPGRADE_READY_TIMEOUT_MS (30 s) has passed; the old master serves on. */
static void test_new_binary_hangs(void)
{
	struct lf_h_daemon d;
	CU_ASSERT_FATAL(start_daemon(&d, NULL));
	struct load L;
	load_start(&L, d.port, 10000);
	CU_ASSERT(install_script(&d, "exec sleep 120"));
	int64_t t0 = lf_h_now_ms();
	kill(d.pid, SIGUSR2);
	CU_ASSERT(wait_log(&d, "not ready in time", 1, 40000));
	CU_ASSERT(wait_log(&d, "exited before it was ready", 1, 15000));
	int64_t took = lf_h_now_ms() - t0;
	CU_ASSERT_EQUAL(read_pid(d.pidfile), (long)d.pid);
	CU_ASSERT_EQUAL(read_oldbin(&d), 0);
	CU_ASSERT_EQUAL(wait_workers(d.pid, 2, 0), 2);
	long failed;
	long sent = load_stop(&L, &failed);
	printf("\n  hanging new binary given up after %lld ms: %ld requests, %ld failed\n",
	       (long long)took, sent, failed);
	CU_ASSERT(took >= 30000);
	CU_ASSERT(sent > 500);
	CU_ASSERT_EQUAL(failed, 0);
	CU_ASSERT_EQUAL(lf_h_daemon_stop(&d, SIGTERM, 15000), 0);
}

/* SIGWINCH with no new master is ignored (a terminal's resize must not
 * stop every worker); a second SIGUSR2 while a new master runs is refused,
 * as is SIGUSR2 to the new master while the old one lives. */
static void test_refusals(void)
{
	struct lf_h_daemon d;
	CU_ASSERT_FATAL(start_daemon(&d, NULL));
	pid_t old = d.pid;
	kill(old, SIGWINCH);
	CU_ASSERT(wait_log(&d, "winch_ignored", 1, 5000));
	CU_ASSERT_EQUAL(wait_workers(old, 2, 0), 2);
	pid_t np = upgrade(&d, old, 1);
	CU_ASSERT_FATAL(np > 0);
	kill(old, SIGUSR2);
	kill(np, SIGUSR2);
	CU_ASSERT(wait_log(&d, "upgrade_refused", 2, 5000));
	CU_ASSERT_EQUAL(read_pid(d.pidfile), (long)np);
	CU_ASSERT_EQUAL(read_oldbin(&d), (long)old);
	/* SIGTERM to the old master: the new one keeps serving */
	CU_ASSERT_EQUAL(lf_h_daemon_stop(&d, SIGTERM, 15000), 0);
	CU_ASSERT_EQUAL(read_oldbin(&d), 0);
	struct lf_h_resp r;
	CU_ASSERT(lf_h_http(d.port, "GET", "/healthz", NULL, NULL, &r) == 0 && r.status == 200);
	lf_h_resp_free(&r);
	d.pid = np;
	CU_ASSERT_EQUAL(lf_h_daemon_stop(&d, SIGTERM, 15000), 0);
}

static int setup(void)
{
	/* a new master whose old master ended becomes ours, as under systemd */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
		return 1;
	struct lf_h_daemon d;
	return lf_h_daemon_config(&fx.env, &d, fx.db, 1, NULL) &&
			       lf_h_ctl(&fx.env, &d, "migrate") == 0
		       ? 0
		       : 1;
}

int main(void)
{
	static const struct lf_test tests[] = {
		{"SIGUSR2, SIGWINCH, SIGQUIT under load: zero failures", test_upgrade_under_load},
		{"rollback (SIGHUP old, SIGQUIT new) under load: zero failures",
		 test_rollback_under_load},
		{"a new binary that cannot start: the old master serves on", test_new_binary_fails},
		{"a new binary that hangs: stopped after 30 s, the old master serves on",
		 test_new_binary_hangs},
		{"the shared cache survives the hand-over (tier 1 replay)", test_cache_survives},
		{"SIGWINCH without a new master, a second SIGUSR2: refused", test_refusals},
	};
	static const struct lf_suite suites[] = {{"upgrade_binary", LF_TESTS(tests)}};
	static const struct lf_h_fixture_opts opts = {.name = "upgrade_binary",
						      .no_daemon = true,
						      .setup = setup,
						      .teardown = kill_groups,
						      .on_signal = kill_groups};
	return lf_h_fixture_main(suites, LF_COUNT(suites), &opts);
}
