/*
 * proc/webhooks_proc.c - when the master runs its webhook delivery
 * process (webhooks_proc.h). One child at most: started on the first
 * round of the master's loop while [webhooks] enabled is on; after an
 * unexpected death restarted with a back-off that doubles from 100 ms to
 * 10 s while it keeps dying within 5 s of its start; after a reload told to
 * stop (SIGTERM) and started again at once with the new configuration; at
 * a stop sent SIGTERM and killed past the shutdown timeout. Its state is
 * in the database, so a restart loses nothing (doc/design.md).
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lf_config.h"
#include "lf_events.h"
#include "lf_log.h"
#include "lf_metrics.h"
#include "lf_time.h"
#include "lf_zone.h"
#include "webhooks_proc.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 10000
#define QUICK_DEATH_MS 5000

static pid_t pid;          /* 0: none */
static bool stop_asked;    /* we sent SIGTERM: its exit is expected */
static int64_t started_ms; /* when it was forked */
static int64_t due_ms;     /* no start before this (back-off) */
static int64_t backoff_ms; /* the next back-off after a quick death */
static int64_t kill_at_ms; /* SIGKILL deadline while stopping; 0 none */

bool lf_whproc_alive(void)
{
	return pid > 0;
}

bool lf_whproc_reaped(pid_t p, int status, bool stopping, struct lf_zone *zone)
{
	if (pid <= 0 || p != pid)
		return false;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	int64_t now = lf_time_monotonic_ms();
	pid = 0;
	kill_at_ms = 0;
	if (stop_asked || stopping) {
		stop_asked = false;
		lf_info("webhooks_exited", "pid=%ld code=%d signal=%d", (long)p, code, sig);
		due_ms = now;
		return true;
	}
	lf_metrics_inc(&zone->metrics->webhook_restarts);
	if (now - started_ms < QUICK_DEATH_MS)
		backoff_ms = backoff_ms == 0                   ? BACKOFF_MIN_MS
			     : backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
							       : backoff_ms * 2;
	else
		backoff_ms = 0;
	due_ms = now + backoff_ms;
	lf_warn("webhooks_died", "pid=%ld code=%d signal=%d restart_in_ms=%lld", (long)p, code, sig,
		(long long)backoff_ms);
	return true;
}

/* The child: named like a worker is, its signals as a worker's, then the
 * delivery loop until SIGTERM. */
static void child(const struct lf_config *cfg, struct lf_zone *zone,
		  const struct lf_secrets *secrets, void (*close_channels)(int keep))
{
	close_channels(-1);
	sigset_t none;
	sigemptyset(&none);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN); /* the master coordinates a terminal ^C */
	signal(SIGUSR1, SIG_IGN);
	signal(SIGUSR2, SIG_IGN); /* a binary upgrade is the master's */
	signal(SIGWINCH, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_NAME, "lf-webhooks", 0, 0, 0);
	lf_log_set_role("webhooks");
	_exit(lf_webhooks_run(cfg, zone, secrets));
}

void lf_whproc_tick(const struct lf_config *cfg, struct lf_zone *zone,
		    const struct lf_secrets *secrets, void (*close_channels)(int keep))
{
	int64_t now = lf_time_monotonic_ms();
	if (pid != 0 || !cfg->webhooks_enabled || now < due_ms)
		return;
	pid_t p = fork();
	if (p < 0) {
		lf_error("spawn_failed", "process=lf-webhooks reason=fork errno=%d", errno);
		due_ms = now + BACKOFF_MAX_MS;
		return;
	}
	if (p == 0)
		child(cfg, zone, secrets, close_channels);
	lf_info("webhooks_spawned", "pid=%ld", (long)p);
	pid = p;
	started_ms = now;
}

void lf_whproc_reload(const struct lf_config *next)
{
	(void)next; /* the next tick starts it with next when enabled there */
	if (pid <= 0)
		return;
	stop_asked = true;
	backoff_ms = 0;
	kill_at_ms = lf_time_monotonic_ms() + BACKOFF_MAX_MS;
	kill(pid, SIGTERM);
}

void lf_whproc_stop(int64_t timeout_ms)
{
	if (pid <= 0)
		return;
	stop_asked = true;
	kill_at_ms = lf_time_monotonic_ms() + timeout_ms + 2000;
	kill(pid, SIGTERM);
}

void lf_whproc_enforce(void)
{
	if (pid > 0 && kill_at_ms != 0 && lf_time_monotonic_ms() >= kill_at_ms) {
		lf_warn("webhooks_kill", "pid=%ld reason=\"shutdown timeout\"", (long)pid);
		kill(pid, SIGKILL);
		kill_at_ms = 0;
	}
}
