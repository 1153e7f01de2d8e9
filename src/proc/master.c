/*
 * proc/master.c - the master process, nginx style. It keeps the listening
 * socket and the shared zone open for its whole life, forks generations of
 * workers, and sleeps in ppoll() with every signal blocked except during
 * the wait; handlers only set flags and the loop acts on them:
 *   SIGHUP   reload: parse the file again; if valid, start a new
 *            generation, wait until each new worker says it is ready, then
 *            tell the old generation to drain and leave. If invalid, log why
 *            and keep serving with the old configuration.
 *   SIGTERM/SIGINT  fast stop: workers finish in-flight requests and exit.
 *   SIGQUIT  graceful stop: workers also let idle keep-alive clients finish.
 *   SIGUSR1  reopen log files (master and workers).
 *   SIGUSR2  binary upgrade (upgrade.c): start the binary again with the
 *            listening sockets and the shared zone; both generations serve.
 *   SIGWINCH (only while a new master runs) stop our workers gracefully and
 *            stay, for a rollback: SIGHUP then starts workers again, as does
 *            the new master's exit.
 *   SIGCHLD  reap; a worker of the current generation that died is
 *            replaced, with a growing back-off when it keeps dying; one that
 *            exits with LF_EXIT_CONFIG is not respawned in a loop.
 * The master talks to each worker over its own socketpair (lf_channel.h).
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef LF_WITH_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "lf_channel.h"
#include "lf_log.h"
#include "lf_master.h"
#include "lf_redis.h"
#include "lf_shm.h"
#include "lf_time.h"
#include "lf_upgrade.h"
#include "lf_worker.h"
#include "lf_zone.h"

#define LF_MAX_SLOTS 256
#define LF_READY_TIMEOUT_MS 15000
#define LF_RESPAWN_BACKOFF_MAX_MS 10000

enum slot_state { SLOT_FREE = 0, SLOT_STARTING, SLOT_READY, SLOT_STOPPING };

struct slot {
	enum slot_state state;
	pid_t pid;
	int chan; /* master's end of the socketpair */
	unsigned generation;
	int index; /* position within its generation */
	int64_t started_ms;
	int64_t kill_at_ms; /* SIGKILL deadline once stopping; 0 = none */
	bool chan_eof;      /* the worker closed its end: stop polling it */
};

/* The only way a slot changes state: FREE -> STARTING (spawned),
 * STARTING -> READY (it said so), STARTING/READY -> STOPPING (told to
 * stop, or timed out), and any state -> FREE once reaped. */
static void slot_set_state(struct slot *s, enum slot_state next)
{
	assert(next == SLOT_FREE || (s->state == SLOT_FREE && next == SLOT_STARTING) ||
	       (s->state == SLOT_STARTING && next == SLOT_READY) ||
	       ((s->state == SLOT_STARTING || s->state == SLOT_READY) && next == SLOT_STOPPING));
	s->state = next;
}

struct pending_respawn {
	bool active;
	int index;
	int64_t at_ms;
};

static volatile sig_atomic_t sig_reload, sig_terminate, sig_quit, sig_reopen;
static volatile sig_atomic_t sig_upgrade, sig_winch;

static struct slot slots[LF_MAX_SLOTS];
static struct pending_respawn respawns[LF_MAX_SLOTS];
static unsigned current_generation;
static unsigned crash_streak; /* consecutive quick deaths, drives back-off */
static bool config_broken;    /* a worker refused the configuration */

static void on_signal(int signo)
{
	switch (signo) {
	case SIGHUP: sig_reload = 1; break;
	case SIGTERM:
	case SIGINT: sig_terminate = 1; break;
	case SIGQUIT: sig_quit = 1; break;
	case SIGUSR1: sig_reopen = 1; break;
	case SIGUSR2: sig_upgrade = 1; break;
	case SIGWINCH: sig_winch = 1; break;
	case SIGCHLD: break; /* only wakes ppoll(): the loop reaps every round */
	default: break;
	}
}

static void notify(const char *state)
{
#ifdef LF_WITH_SYSTEMD
	if (lf_upgrade_notify_allowed())
		(void)sd_notify(0, state);
#else
	(void)state;
#endif
}

static int count_slots(unsigned generation, enum slot_state state)
{
	int n = 0;
	for (int i = 0; i < LF_MAX_SLOTS; i++)
		if (slots[i].state == state && slots[i].generation == generation)
			n++;
	return n;
}

static int count_alive(void)
{
	int n = 0;
	for (int i = 0; i < LF_MAX_SLOTS; i++)
		if (slots[i].state != SLOT_FREE)
			n++;
	return n;
}

static void close_master_channels_in_child(int keep)
{
	for (int i = 0; i < LF_MAX_SLOTS; i++)
		if (slots[i].state != SLOT_FREE && slots[i].chan != keep)
			close(slots[i].chan);
}

/* Fork one worker of `generation`; false if fork or socketpair failed. */
/* The server's secrets (loaded by ledgerflowd.c), handed to each worker,
 * and the listening socket of [server] metrics_listen (-1: none). */
static const struct lf_secrets *master_secrets;
static int master_ops_fd = -1;

static bool spawn_worker(struct lf_config *cfg, int listen_fd, struct lf_zone *zone,
			 unsigned generation, int index)
{
	int slot_i = -1;
	for (int i = 0; i < LF_MAX_SLOTS; i++) {
		if (slots[i].state == SLOT_FREE) {
			slot_i = i;
			break;
		}
	}
	if (slot_i < 0) {
		lf_error("spawn_failed", "reason=\"no free worker slot\"");
		return false;
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		lf_error("spawn_failed", "reason=socketpair errno=%d", errno);
		return false;
	}
	pid_t pid = fork();
	if (pid < 0) {
		lf_error("spawn_failed", "reason=fork errno=%d", errno);
		close(sv[0]);
		close(sv[1]);
		return false;
	}
	if (pid == 0) {
		close(sv[0]);
		close_master_channels_in_child(-1);
		sigset_t none;
		sigemptyset(&none);
		signal(SIGHUP, SIG_IGN);
		signal(SIGINT, SIG_IGN); /* the master coordinates a terminal ^C */
		signal(SIGUSR1, SIG_IGN);
		signal(SIGUSR2, SIG_IGN); /* `systemctl kill -s USR2` without --kill-whom=main */
		signal(SIGWINCH, SIG_IGN);
		signal(SIGCHLD, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		prctl(PR_SET_NAME, "lf-worker", 0, 0, 0);
		lf_log_set_role("worker");
		int rc = lf_worker_run(cfg, listen_fd, master_ops_fd, sv[1], zone, generation,
				       index, master_secrets);
		_exit(rc);
	}
	close(sv[1]);
	assert(slots[slot_i].state == SLOT_FREE);
	slots[slot_i] = (struct slot){
		.pid = pid,
		.chan = sv[0],
		.generation = generation,
		.index = index,
		.started_ms = lf_time_monotonic_ms(),
	};
	slot_set_state(&slots[slot_i], SLOT_STARTING);
	lf_metrics_inc(&zone->metrics->workers_spawned);
	lf_info("worker_spawned", "worker_pid=%ld generation=%u index=%d", (long)pid, generation,
		index);
	return true;
}

static void stop_slot(struct slot *s, enum lf_channel_msg how, int64_t timeout_ms)
{
	if (s->state == SLOT_FREE || s->state == SLOT_STOPPING)
		return;
	slot_set_state(s, SLOT_STOPPING);
	s->kill_at_ms = lf_time_monotonic_ms() + timeout_ms + 2000;
	if (!lf_channel_send(s->chan, how))
		kill(s->pid, SIGTERM);
}

static void stop_generation(unsigned generation, enum lf_channel_msg how, int64_t timeout_ms)
{
	for (int i = 0; i < LF_MAX_SLOTS; i++)
		if (slots[i].state != SLOT_FREE && slots[i].generation == generation)
			stop_slot(&slots[i], how, timeout_ms);
}

static void stop_all(enum lf_channel_msg how, int64_t timeout_ms)
{
	for (int i = 0; i < LF_MAX_SLOTS; i++)
		stop_slot(&slots[i], how, timeout_ms);
	for (int i = 0; i < LF_MAX_SLOTS; i++)
		respawns[i].active = false;
}

static void schedule_respawn(int index)
{
	int64_t delay = 0;
	if (crash_streak > 0) {
		delay = 100;
		for (unsigned i = 1; i < crash_streak && delay < LF_RESPAWN_BACKOFF_MAX_MS; i++)
			delay *= 2;
		if (delay > LF_RESPAWN_BACKOFF_MAX_MS)
			delay = LF_RESPAWN_BACKOFF_MAX_MS;
	}
	for (int i = 0; i < LF_MAX_SLOTS; i++) {
		if (!respawns[i].active) {
			respawns[i] = (struct pending_respawn){true, index,
							       lf_time_monotonic_ms() + delay};
			lf_info("worker_respawn_scheduled", "index=%d delay_ms=%lld", index,
				(long long)delay);
			return;
		}
	}
}

static void reap_children(struct lf_zone *zone, bool stopping)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct slot *s = NULL;
		for (int i = 0; i < LF_MAX_SLOTS; i++)
			if (slots[i].state != SLOT_FREE && slots[i].pid == pid)
				s = &slots[i];
		if (s == NULL) {
			(void)lf_upgrade_reaped(pid, status); /* a new binary's master? */
			continue;
		}
		bool expected = s->state == SLOT_STOPPING;
		bool ready_before = s->state == SLOT_READY;
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
		close(s->chan);
		unsigned gen = s->generation;
		int index = s->index;
		int64_t lived = lf_time_monotonic_ms() - s->started_ms;
		*s = (struct slot){0};
		if (expected) {
			lf_info("worker_exited", "worker_pid=%ld code=%d signal=%d", (long)pid,
				code, sig);
			continue;
		}
		lf_metrics_inc(&zone->metrics->workers_died);
		if (code == LF_EXIT_CONFIG) {
			lf_error("worker_config_unusable",
				 "worker_pid=%ld action=\"not respawned; fix the configuration and "
				 "send SIGHUP\"",
				 (long)pid);
			config_broken = true;
			continue;
		}
		lf_warn("worker_died", "worker_pid=%ld code=%d signal=%d lived_ms=%lld", (long)pid,
			code, sig, (long long)lived);
		if (stopping || gen != current_generation)
			continue;
		/* a worker that dies soon after starting (or before it was ready)
		 * lengthens the back-off; one that served a while resets it */
		if (!ready_before || lived < 5000)
			crash_streak++;
		else
			crash_streak = 0;
		schedule_respawn(index);
	}
}

static void run_respawns(struct lf_config *cfg, int listen_fd, struct lf_zone *zone)
{
	int64_t now = lf_time_monotonic_ms();
	for (int i = 0; i < LF_MAX_SLOTS; i++) {
		if (respawns[i].active && respawns[i].at_ms <= now) {
			respawns[i].active = false;
			if (!spawn_worker(cfg, listen_fd, zone, current_generation,
					  respawns[i].index))
				schedule_respawn(respawns[i].index);
		}
	}
}

/* Read what workers said on their channels. */
static void read_channels(struct pollfd *pfds, int *map, int n)
{
	for (int k = 0; k < n; k++) {
		if (pfds[k].revents == 0)
			continue;
		struct slot *s = &slots[map[k]];
		char buf[16];
		ssize_t r = read(s->chan, buf, sizeof buf);
		if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
			s->chan_eof = true; /* exiting: waitpid() will tell */
		if (r <= 0)
			continue;
		for (ssize_t j = 0; j < r; j++) {
			if (buf[j] == LF_CHAN_READY && s->state == SLOT_STARTING) {
				slot_set_state(s, SLOT_READY);
				lf_info("worker_ready", "worker_pid=%ld generation=%u",
					(long)s->pid, s->generation);
			} else if (buf[j] == LF_CHAN_BAD_CONFIG) {
				config_broken = true;
			}
		}
	}
}

/* Kill stopping workers that overran their deadline, and starting workers
 * that never became ready. */
static void enforce_deadlines(void)
{
	int64_t now = lf_time_monotonic_ms();
	for (int i = 0; i < LF_MAX_SLOTS; i++) {
		struct slot *s = &slots[i];
		if (s->state == SLOT_STOPPING && s->kill_at_ms != 0 && now >= s->kill_at_ms) {
			lf_warn("worker_kill", "worker_pid=%ld reason=\"shutdown timeout\"",
				(long)s->pid);
			kill(s->pid, SIGKILL);
			s->kill_at_ms = 0;
		} else if (s->state == SLOT_STARTING && now - s->started_ms > LF_READY_TIMEOUT_MS) {
			lf_warn("worker_kill", "worker_pid=%ld reason=\"not ready in time\"",
				(long)s->pid);
			kill(s->pid, SIGKILL);
			slot_set_state(s, SLOT_STOPPING);
		}
	}
}

static void broadcast(enum lf_channel_msg msg)
{
	for (int i = 0; i < LF_MAX_SLOTS; i++)
		if (slots[i].state == SLOT_STARTING || slots[i].state == SLOT_READY)
			(void)lf_channel_send(slots[i].chan, msg);
}

/* One ppoll() round: wait for channel messages, signals or a timer. */
static void wait_once(const sigset_t *unblocked, int64_t timeout_ms)
{
	struct pollfd pfds[LF_MAX_SLOTS];
	int map[LF_MAX_SLOTS];
	int n = 0;
	for (int i = 0; i < LF_MAX_SLOTS; i++) {
		if (slots[i].state != SLOT_FREE && !slots[i].chan_eof) {
			pfds[n] = (struct pollfd){.fd = slots[i].chan, .events = POLLIN};
			map[n++] = i;
		}
	}
	struct timespec ts = {.tv_sec = timeout_ms / 1000,
			      .tv_nsec = (timeout_ms % 1000) * 1000000};
	int r = ppoll(pfds, (nfds_t)n, &ts, unblocked);
	if (r > 0)
		read_channels(pfds, map, n);
}

static bool start_generation(struct lf_config *cfg, int listen_fd, struct lf_zone *zone)
{
	current_generation++;
	__atomic_store_n(&zone->header->generation, current_generation, __ATOMIC_RELAXED);
	for (int i = 0; i < cfg->workers; i++)
		if (!spawn_worker(cfg, listen_fd, zone, current_generation, i))
			return false;
	return true;
}

/* Wait until the current generation is ready (true) or failed (false). */
static bool wait_generation_ready(struct lf_config *cfg, const sigset_t *unblocked,
				  struct lf_zone *zone)
{
	int64_t deadline = lf_time_monotonic_ms() + LF_READY_TIMEOUT_MS;
	config_broken = false;
	while (lf_time_monotonic_ms() < deadline) {
		if (count_slots(current_generation, SLOT_READY) == cfg->workers)
			return true;
		reap_children(zone, true); /* no respawn while starting */
		if (config_broken || sig_terminate || sig_quit)
			return false;
		if (count_slots(current_generation, SLOT_STARTING) +
			    count_slots(current_generation, SLOT_READY) <
		    cfg->workers)
			return false; /* one died while starting */
		wait_once(unblocked, 100);
	}
	return false;
}

/* Old workers that died while a reload was being tried were not replaced
 * then (the reload would have retired them): replace them now. */
static void respawn_missing(int workers, unsigned generation)
{
	for (int index = 0; index < workers; index++) {
		bool present = false;
		for (int i = 0; i < LF_MAX_SLOTS && !present; i++)
			present =
				(slots[i].state == SLOT_STARTING || slots[i].state == SLOT_READY) &&
				slots[i].generation == generation && slots[i].index == index;
		for (int i = 0; i < LF_MAX_SLOTS && !present; i++)
			present = respawns[i].active && respawns[i].index == index;
		if (!present)
			schedule_respawn(index);
	}
}

static void reload(struct lf_config **cfgp, const char *config_path, int listen_fd,
		   const sigset_t *unblocked, struct lf_zone *zone)
{
	struct lf_config *cur = *cfgp;
	notify("RELOADING=1");
	char qp[600];
	lf_info("reload_begin", "config=%s",
		lf_log_quote(config_path ? config_path : "(defaults)", qp, sizeof qp));
	struct lf_config *next = calloc(1, sizeof *next);
	if (next == NULL) {
		notify("READY=1");
		return;
	}
	char *errs = NULL;
	size_t errlen = 0;
	FILE *ef = open_memstream(&errs, &errlen);
	bool ok = ef != NULL && lf_config_load(next, config_path, ef);
	/* TLS files that do not load would leave the new workers without
	 * Redis: refuse the reload instead */
	if (ok && !lf_redis_tls_check(next, ef))
		ok = false;
	if (ef != NULL)
		fclose(ef);
	if (!ok) {
		char q[1024];
		lf_error("reload_rejected", "reason=\"invalid configuration\" problems=%s",
			 lf_log_quote(errs ? errs : "", q, sizeof q));
		free(errs);
		lf_config_clear(next);
		free(next);
		notify("READY=1");
		return;
	}
	free(errs);
	/* the master's stderr is /dev/null once detached: the keys kept go to
	 * the log, one line per key */
	char *kept = NULL;
	size_t keptlen = 0;
	FILE *kf = open_memstream(&kept, &keptlen);
	lf_config_keep_unreloadable(cur, next, kf);
	if (kf != NULL)
		fclose(kf);
	for (char *line = kept, *nl; line != NULL && *line != '\0'; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl != NULL)
			*nl = '\0';
		char q[1024];
		lf_warn("reload_key_kept", "problem=%s", lf_log_quote(line, q, sizeof q));
	}
	free(kept);
	if (!lf_log_open(next->log_file, next->log_level))
		lf_warn("log_open_failed", "path=%s", lf_log_quote(next->log_file, qp, sizeof qp));

	unsigned old_generation = current_generation;
	if (!start_generation(next, listen_fd, zone) ||
	    !wait_generation_ready(next, unblocked, zone)) {
		lf_error("reload_failed", "reason=\"new workers did not become ready\" "
					  "action=\"keeping the old generation\"");
		stop_generation(current_generation, LF_CHAN_TERMINATE, 1000);
		current_generation = old_generation;
		__atomic_store_n(&zone->header->generation, current_generation, __ATOMIC_RELAXED);
		respawn_missing(cur->workers, current_generation);
		lf_config_clear(next);
		free(next);
		notify("READY=1");
		return;
	}
	stop_generation(old_generation, LF_CHAN_QUIT, next->shutdown_timeout_ms);
	lf_config_clear(cur);
	free(cur);
	*cfgp = next;
	crash_streak = 0;
	lf_metrics_inc(&zone->metrics->reloads);
	lf_info("reload_done", "generation=%u workers=%d", current_generation, next->workers);
	notify("READY=1");
}

/* ---- binary upgrade (upgrade.c does the hand-over) ---- */

static bool winched;             /* SIGWINCH stopped our workers; a new master serves */
static int64_t restart_after_ms; /* no restart of workers before (a failed one) */

/* Start a generation again after SIGWINCH: SIGHUP, or the new master left. */
static void restart_workers(struct lf_config *cfg, int listen_fd, const sigset_t *unblocked,
			    struct lf_zone *zone)
{
	if (start_generation(cfg, listen_fd, zone) && wait_generation_ready(cfg, unblocked, zone)) {
		winched = false;
		crash_streak = 0;
		lf_info("workers_restarted", "generation=%u workers=%d", current_generation,
			cfg->workers);
		return;
	}
	lf_error("workers_restart_failed", "reason=\"workers did not become ready\"");
	stop_generation(current_generation, LF_CHAN_TERMINATE, 1000);
	restart_after_ms = lf_time_monotonic_ms() + 1000;
}

static void upgrade_tick(struct lf_config *cfg, int listen_fd, const sigset_t *unblocked,
			 struct lf_zone *zone)
{
	if (sig_upgrade) {
		sig_upgrade = 0;
		int fds[2] = {listen_fd, master_ops_fd};
		(void)lf_upgrade_begin(cfg->pid_file, fds, master_ops_fd >= 0 ? 2 : 1, zone->fd);
	}
	lf_upgrade_poll();
	if (sig_winch) {
		sig_winch = 0;
		if (lf_upgrade_state() != LF_UPGRADE_RUNNING) {
			/* stopping every worker with no new master would refuse
			 * connections (and a terminal's resize sends SIGWINCH) */
			lf_warn("winch_ignored", "reason=\"no new master is serving\"");
		} else if (!winched) {
			lf_info("workers_stopping", "reason=SIGWINCH new_pid=%ld",
				(long)lf_upgrade_new_pid());
			stop_all(LF_CHAN_QUIT, cfg->shutdown_timeout_ms);
			winched = true;
		}
	}
	/* the new master left while we had no workers: serve again */
	if (winched && lf_upgrade_state() == LF_UPGRADE_NONE &&
	    lf_time_monotonic_ms() >= restart_after_ms) {
		lf_warn("workers_restarting", "reason=\"the new master exited\"");
		restart_workers(cfg, listen_fd, unblocked, zone);
	}
}

int lf_master_run(struct lf_config **cfgp, const char *config_path, int listen_fd, int ops_fd,
		  struct lf_zone *zone, const struct lf_secrets *secrets)
{
	struct lf_config *cfg = *cfgp;
	master_secrets = secrets;
	master_ops_fd = ops_fd;
	sigset_t blocked, unblocked;
	sigemptyset(&blocked);
	int sigs[] = {SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD};
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		sigaddset(&blocked, sigs[i]);
		sigaction(sigs[i], &sa, NULL);
	}
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_BLOCK, &blocked, &unblocked);
	sigdelset(&unblocked, SIGHUP);
	for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigdelset(&unblocked, sigs[i]);

	lf_log_set_role("master");
	if (!start_generation(cfg, listen_fd, zone) ||
	    !wait_generation_ready(cfg, &unblocked, zone)) {
		lf_error("start_failed", "reason=\"workers did not become ready\"");
		stop_all(LF_CHAN_TERMINATE, 1000);
		int64_t deadline = lf_time_monotonic_ms() + 3000;
		while (count_alive() > 0 && lf_time_monotonic_ms() < deadline) {
			reap_children(zone, true);
			wait_once(&unblocked, 50);
		}
		return 1;
	}
	char ql[300];
	lf_info("started", "workers=%d listen=%s", cfg->workers,
		lf_log_quote(cfg->listen, ql, sizeof ql));
	if (!lf_upgrade_started()) /* else the old master announces us */
		notify("READY=1");

	bool stopping = false;
	for (;;) {
		/* reap every round, not only on SIGCHLD: a ppoll() that returns
		 * because a channel is readable leaves the signal pending */
		reap_children(zone, stopping);
		if (stopping) {
			if (count_alive() == 0)
				break;
			enforce_deadlines();
		} else if (sig_terminate || sig_quit) {
			bool graceful = sig_quit && !sig_terminate;
			notify("STOPPING=1");
			lf_info("stopping", "mode=%s", graceful ? "graceful" : "fast");
			stop_all(graceful ? LF_CHAN_QUIT : LF_CHAN_TERMINATE,
				 cfg->shutdown_timeout_ms);
			stopping = true;
			continue;
		} else if (sig_reload && winched) {
			sig_reload = 0;
			restart_workers(cfg, listen_fd, &unblocked, zone);
		} else if (sig_reload) {
			sig_reload = 0;
			reload(&cfg, config_path, listen_fd, &unblocked, zone);
			*cfgp = cfg;
			continue;
		} else {
			if (sig_reopen) {
				sig_reopen = 0;
				(void)lf_log_reopen();
				broadcast(LF_CHAN_REOPEN);
				lf_info("logs_reopened", "%s", "");
			}
			upgrade_tick(cfg, listen_fd, &unblocked, zone);
			run_respawns(cfg, listen_fd, zone);
			enforce_deadlines();
		}
		wait_once(&unblocked, 200);
	}
	lf_info("stopped", "%s", "");
	return 0;
}
