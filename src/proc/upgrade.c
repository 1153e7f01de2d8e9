/*
 * proc/upgrade.c - the binary upgrade without downtime (lf_upgrade.h), both
 * sides: the old master that starts the binary again and hands over its
 * listening sockets and the shared zone, watches the new master come up
 * (a byte on a pipe), and takes its pid file back when the new master
 * exits; and the new master that takes what it inherited (sockets matched
 * by address, the zone only when its layout matches) and says when it is
 * ready. The master loop (master.c) only calls in here.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef LF_WITH_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "lf_log.h"
#include "lf_time.h"
#include "lf_upgrade.h"
#include "lf_zone.h"

#define ENV_SOCKETS "LEDGERFLOW_INHERIT"
#define ENV_ZONE "LEDGERFLOW_INHERIT_ZONE"
#define ENV_READY "LEDGERFLOW_INHERIT_READY"
#define MAX_INHERITED 8
#define KILL_GRACE_MS 10000

static char exe_path[PATH_MAX];
static char start_dir[PATH_MAX]; /* a relative -c path means from here */
static char **saved_argv;

/* the new master's side: what an old master handed over */
static int inherited[MAX_INHERITED];
static int n_inherited;
static int inherited_zone = -1;
static int ready_wr = -1;
static pid_t old_master; /* our parent when we were started by SIGUSR2 */
static bool announced;   /* the ready byte went to the old master */

/* the old master's side: the new master we started */
static enum lf_upgrade_state state;
static pid_t new_pid;
static int ready_rd = -1;
static int64_t deadline_ms;
static bool handed_main; /* systemd's MAINPID is the new master's */
static char pid_path[PATH_MAX], oldbin_path[PATH_MAX + 8];

static void notify_mainpid(pid_t pid)
{
#ifdef LF_WITH_SYSTEMD
	char msg[32];
	snprintf(msg, sizeof msg, "MAINPID=%ld", (long)pid);
	(void)sd_notify(0, msg);
#else
	(void)pid;
#endif
}

/* A decimal fd that is open, or -1. */
static int parse_fd(const char *s, char **end)
{
	errno = 0;
	long v = strtol(s, end, 10);
	if (errno != 0 || *end == s || v < 0 || v > INT_MAX || fcntl((int)v, F_GETFD) < 0)
		return -1;
	return (int)v;
}

static int take_env_fd(const char *name)
{
	const char *v = getenv(name);
	char *end;
	int fd = v != NULL ? parse_fd(v, &end) : -1;
	if (fd >= 0)
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	unsetenv(name);
	return fd;
}

void lf_upgrade_init(char **argv)
{
	saved_argv = argv;
	if (getcwd(start_dir, sizeof start_dir) == NULL)
		start_dir[0] = '\0';
	ssize_t n = readlink("/proc/self/exe", exe_path, sizeof exe_path - 1);
	exe_path[n > 0 ? n : 0] = '\0';
	/* started from a file that was replaced since: the path is the binary */
	static const char deleted[] = " (deleted)";
	size_t len = strlen(exe_path);
	if (len > sizeof deleted - 1 && strcmp(exe_path + len - (sizeof deleted - 1), deleted) == 0)
		exe_path[len - (sizeof deleted - 1)] = '\0';

	const char *socks = getenv(ENV_SOCKETS);
	bool handed = socks != NULL;
	for (const char *p = socks; p != NULL && *p != '\0' && n_inherited < MAX_INHERITED;) {
		char *end;
		int fd = parse_fd(p, &end);
		if (fd < 0)
			break;
		inherited[n_inherited++] = fd;
		p = *end == ';' ? end + 1 : end;
	}
	unsetenv(ENV_SOCKETS);
	inherited_zone = take_env_fd(ENV_ZONE);
	ready_wr = take_env_fd(ENV_READY);
	if (handed || inherited_zone >= 0 || ready_wr >= 0)
		old_master = getppid();
}

bool lf_upgrade_inherited(void)
{
	return old_master != 0;
}

/* Is fd a listening TCP socket bound to what host:port resolves to? */
static bool socket_matches(int fd, const char *host, unsigned port)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int listening = 0;
	socklen_t ol = sizeof listening;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ol) != 0 || !listening)
		return false;
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char portstr[16];
	snprintf(portstr, sizeof portstr, "%u", port);
	if (getaddrinfo(host[0] ? host : NULL, portstr, &hints, &res) != 0)
		return false;
	bool match = false;
	for (struct addrinfo *ai = res; ai != NULL && !match; ai = ai->ai_next) {
		if (ai->ai_family != ss.ss_family)
			continue;
		if (ai->ai_family == AF_INET) {
			const struct sockaddr_in *a = (const void *)ai->ai_addr;
			const struct sockaddr_in *b = (const void *)&ss;
			match = a->sin_port == b->sin_port &&
				a->sin_addr.s_addr == b->sin_addr.s_addr;
		} else if (ai->ai_family == AF_INET6) {
			const struct sockaddr_in6 *a = (const void *)ai->ai_addr;
			const struct sockaddr_in6 *b = (const void *)&ss;
			match = a->sin6_port == b->sin6_port &&
				memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0;
		}
	}
	freeaddrinfo(res);
	return match;
}

int lf_upgrade_take_socket(const char *host, unsigned port, int backlog)
{
	for (int i = 0; i < n_inherited; i++) {
		int fd = inherited[i];
		if (fd < 0 || !socket_matches(fd, host, port))
			continue;
		inherited[i] = -1;
		(void)listen(fd, backlog); /* the configured backlog, as a bind would */
		char q[300];
		lf_info("socket_inherited", "fd=%d host=%s port=%u", fd,
			lf_log_quote(host, q, sizeof q), port);
		return fd;
	}
	return -1;
}

void lf_upgrade_close_unused(void)
{
	for (int i = 0; i < n_inherited; i++) {
		if (inherited[i] < 0)
			continue;
		lf_info("socket_not_inherited",
			"fd=%d reason=\"no configured address is bound to it\"", inherited[i]);
		close(inherited[i]);
		inherited[i] = -1;
	}
}

struct lf_zone *lf_upgrade_take_zone(size_t cache_size)
{
	if (inherited_zone < 0)
		return NULL;
	const char *why = NULL;
	struct lf_zone *zone = lf_zone_attach(inherited_zone, cache_size, &why);
	if (zone == NULL) {
		lf_warn("zone_not_inherited",
			"reason=\"%s\" action=\"a fresh zone: the cache and the rate limits "
			"start empty\"",
			why ? why : "unknown");
		close(inherited_zone);
	} else {
		lf_info("zone_inherited", "size=%zu", zone->size);
	}
	inherited_zone = -1;
	return zone;
}

bool lf_upgrade_started(void)
{
	if (ready_wr < 0)
		return false;
	char one = 1;
	ssize_t w;
	do
		w = write(ready_wr, &one, 1);
	while (w < 0 && errno == EINTR);
	close(ready_wr);
	ready_wr = -1;
	announced = w == 1;
	if (announced)
		lf_info("upgrade_ready", "old_master_pid=%ld", (long)old_master);
	else
		lf_warn("upgrade_ready_unsent", "old_master_pid=%ld errno=%d", (long)old_master,
			errno);
	return true;
}

bool lf_upgrade_notify_allowed(void)
{
	return !handed_main && (old_master == 0 || announced);
}

/* In the child, between fork and exec: nothing that can fail silently
 * matters here, the parent sees the exit status. */
static void exec_new_binary(const int *fds, int n, int zone_fd, int ready_fd)
{
	sigset_t none;
	sigemptyset(&none);
	int sigs[] = {SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD};
	for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		signal(sigs[i], SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	char list[MAX_INHERITED * 12 + 1] = "";
	size_t o = 0;
	for (int i = 0; i < n && i < MAX_INHERITED; i++) {
		(void)fcntl(fds[i], F_SETFD, 0);
		o += (size_t)snprintf(list + o, sizeof list - o, "%d;", fds[i]);
	}
	char zone_s[16], ready_s[16];
	snprintf(zone_s, sizeof zone_s, "%d", zone_fd);
	snprintf(ready_s, sizeof ready_s, "%d", ready_fd);
	if (zone_fd >= 0) {
		(void)fcntl(zone_fd, F_SETFD, 0);
		setenv(ENV_ZONE, zone_s, 1);
	}
	(void)fcntl(ready_fd, F_SETFD, 0);
	setenv(ENV_SOCKETS, list, 1);
	setenv(ENV_READY, ready_s, 1);
	/* a detached master moved to /: the arguments are relative to where it
	 * was started */
	if (start_dir[0] != '\0' && chdir(start_dir) != 0)
		lf_warn("upgrade_chdir_failed", "errno=%d", errno);
	execv(exe_path, saved_argv);
	lf_error("upgrade_exec_failed", "errno=%d", errno);
	_exit(127);
}

bool lf_upgrade_begin(const char *pid_file, const int *fds, int n, int zone_fd)
{
	if (state != LF_UPGRADE_NONE) {
		lf_warn("upgrade_refused", "reason=\"a new master is already running\" new_pid=%ld",
			(long)new_pid);
		return false;
	}
	if (old_master != 0 && getppid() == old_master) {
		lf_warn("upgrade_refused",
			"reason=\"the master that started this one still runs: SIGQUIT it "
			"first\" old_master_pid=%ld",
			(long)old_master);
		return false;
	}
	char q[PATH_MAX + 16];
	if (exe_path[0] == '\0' || access(exe_path, X_OK) != 0) {
		lf_error("upgrade_failed", "reason=\"binary not executable\" path=%s",
			 lf_log_quote(exe_path, q, sizeof q));
		return false;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0) {
		lf_error("upgrade_failed", "reason=pipe errno=%d", errno);
		return false;
	}
	(void)fcntl(p[0], F_SETFL, O_NONBLOCK);
	pid_path[0] = '\0';
	if (pid_file != NULL && pid_file[0] != '\0') {
		snprintf(pid_path, sizeof pid_path, "%s", pid_file);
		snprintf(oldbin_path, sizeof oldbin_path, "%s.oldbin", pid_file);
		if (rename(pid_path, oldbin_path) != 0) {
			lf_error("upgrade_failed", "reason=\"cannot rename the pid file\" errno=%d",
				 errno);
			close(p[0]);
			close(p[1]);
			return false;
		}
	}
	pid_t pid = fork();
	if (pid == 0)
		exec_new_binary(fds, n, zone_fd, p[1]);
	close(p[1]);
	if (pid < 0) {
		lf_error("upgrade_failed", "reason=fork errno=%d", errno);
		close(p[0]);
		if (pid_path[0] != '\0')
			(void)rename(oldbin_path, pid_path);
		return false;
	}
	new_pid = pid;
	ready_rd = p[0];
	state = LF_UPGRADE_STARTING;
	deadline_ms = lf_time_monotonic_ms() + LF_UPGRADE_READY_TIMEOUT_MS;
	lf_info("upgrade_begin", "new_pid=%ld binary=%s", (long)pid,
		lf_log_quote(exe_path, q, sizeof q));
	return true;
}

void lf_upgrade_poll(void)
{
	if (state == LF_UPGRADE_STARTING) {
		char c;
		if (read(ready_rd, &c, 1) == 1) {
			close(ready_rd);
			ready_rd = -1;
			state = LF_UPGRADE_RUNNING;
			if (lf_upgrade_notify_allowed()) {
				notify_mainpid(new_pid);
				handed_main = true;
			}
			lf_info("upgrade_new_master_ready",
				"new_pid=%ld next=\"SIGWINCH here stops this master's workers, "
				"SIGQUIT ends it\"",
				(long)new_pid);
		} else if (lf_time_monotonic_ms() > deadline_ms) {
			lf_error("upgrade_failed",
				 "reason=\"new master not ready in time\" new_pid=%ld "
				 "action=\"stopping it; this master keeps serving\"",
				 (long)new_pid);
			kill(new_pid, SIGTERM);
			state = LF_UPGRADE_FAILING;
			deadline_ms = lf_time_monotonic_ms() + KILL_GRACE_MS;
		}
	} else if (state == LF_UPGRADE_FAILING && lf_time_monotonic_ms() > deadline_ms) {
		kill(new_pid, SIGKILL);
		deadline_ms = INT64_MAX;
	}
}

bool lf_upgrade_reaped(pid_t pid, int status)
{
	if (state == LF_UPGRADE_NONE || pid != new_pid)
		return false;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	if (pid_path[0] != '\0' && rename(oldbin_path, pid_path) != 0)
		lf_error("pidfile_restore_failed", "errno=%d", errno);
	if (state == LF_UPGRADE_RUNNING)
		lf_info("upgrade_new_master_exited",
			"new_pid=%ld code=%d signal=%d action=\"pid file renamed back; this "
			"master is the master again\"",
			(long)pid, code, sig);
	else
		lf_error("upgrade_failed",
			 "reason=\"the new master exited before it was ready\" new_pid=%ld "
			 "code=%d signal=%d action=\"pid file renamed back; this master keeps "
			 "serving\"",
			 (long)pid, code, sig);
	if (ready_rd >= 0)
		close(ready_rd);
	ready_rd = -1;
	/* a new master that was main handed MAINPID back before it left */
	handed_main = false;
	state = LF_UPGRADE_NONE;
	new_pid = 0;
	return true;
}

enum lf_upgrade_state lf_upgrade_state(void)
{
	return state;
}

pid_t lf_upgrade_new_pid(void)
{
	return new_pid;
}

const char *lf_upgrade_pid_path(const char *pid_file)
{
	return state != LF_UPGRADE_NONE && pid_path[0] != '\0' ? oldbin_path : pid_file;
}

void lf_upgrade_exit(void)
{
	if (announced && old_master != 0 && getppid() == old_master) {
		notify_mainpid(old_master);
		lf_info("upgrade_handed_back", "old_master_pid=%ld", (long)old_master);
	}
}
