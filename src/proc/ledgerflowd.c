/*
 * proc/ledgerflowd.c - ledgerflowd: parse arguments, load and check the
 * configuration (-t), open the listening socket, detach unless -f, write
 * the pid file, map the shared zone, and hand over to the master loop.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "lf_args.h"
#include "lf_auth.h"
#include "lf_gate.h"
#include "lf_config.h"
#include "lf_listen.h"
#include "lf_log.h"
#include "lf_master.h"
#include "lf_zone.h"

#ifndef LF_DEFAULT_CONFIG
#define LF_DEFAULT_CONFIG "/etc/ledgerflow/ledgerflow.conf"
#endif

static void usage(FILE *out)
{
	fprintf(out, "usage: ledgerflowd [-c FILE] [-t] [-f]\n"
		     "  -c FILE  configuration file (default " LF_DEFAULT_CONFIG ")\n"
		     "  -t       check the configuration and exit\n"
		     "  -f       stay in the foreground (systemd, containers)\n"
		     "  -V       print the version\n");
}

/* Classic double fork; stdio goes to /dev/null. */
static bool daemonize(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return false;
	pid = fork();
	if (pid < 0)
		return false;
	if (pid > 0)
		_exit(0);
	umask(027);
	if (chdir("/") != 0)
		return false;
	int fd = open("/dev/null", O_RDWR);
	if (fd < 0)
		return false;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	return true;
}

/* The pepper API keys are checked under: read (or made) once, before the
 * workers fork, so they inherit it. Without it authentication cannot
 * work, so with [auth] enabled = on the daemon does not start. */
static bool load_pepper(const struct lf_config *cfg)
{
	uint8_t pepper[LF_AUTH_PEPPER_LEN];
	char why[600], q[700];
	enum lf_secret_mode mode =
		strcmp(cfg->secret_permissions, "refuse") == 0 ? LF_SECRET_REFUSE : LF_SECRET_WARN;
	lf_rc rc = lf_auth_pepper_load(cfg->auth_pepper_file, true, mode, pepper, why, sizeof why);
	if (rc == LF_ERROR) {
		if (cfg->auth_enabled) {
			lf_error("start_failed", "reason=\"auth.pepper_file\" error=%s",
				 lf_log_quote(why, q, sizeof q));
			fprintf(stderr, "ledgerflowd: [auth] pepper_file: %s\n", why);
			return false;
		}
		lf_warn("pepper_unavailable", "error=%s auth=off", lf_log_quote(why, q, sizeof q));
		return true;
	}
	if (rc == LF_DECLINED)
		lf_warn("secret_file_readable", "problem=%s", lf_log_quote(why, q, sizeof q));
	lf_gate_set_pepper(pepper);
	OPENSSL_cleanse(pepper, sizeof pepper);
	return true;
}

int main(int argc, char **argv)
{
	struct lf_daemon_args args;
	if (!lf_args_parse_daemon(argc, argv, LF_DEFAULT_CONFIG, &args, stderr)) {
		usage(stderr);
		return 2;
	}
	if (args.help) {
		usage(stdout);
		return 0;
	}
	if (args.version) {
		printf("ledgerflowd %s\n", PACKAGE_VERSION);
		return 0;
	}
	struct lf_config *cfg = calloc(1, sizeof *cfg);
	if (cfg == NULL)
		return 1;
	bool ok = lf_config_load(cfg, args.config_path, stderr);
	if (args.test_config) {
		printf(ok ? "configuration ok\n" : "configuration has errors\n");
		lf_config_free(cfg);
		free(cfg);
		return ok ? 0 : 1;
	}
	if (!ok) {
		fprintf(stderr, "ledgerflowd: invalid configuration in %s\n", args.config_path);
		return 1;
	}
	if (!lf_log_open(cfg->log_file, cfg->log_level)) {
		fprintf(stderr, "server.log_file: cannot open %s\n", cfg->log_file);
		return 1;
	}
	lf_log_set_role("master");
	if (!load_pepper(cfg))
		return 1;
	int listen_fd = lf_listen_open(cfg->listen_host, cfg->listen_port, cfg->backlog, stderr);
	if (listen_fd < 0)
		return 1;
	if (!args.foreground && !daemonize()) {
		fprintf(stderr, "ledgerflowd: cannot detach\n");
		return 1;
	}
	if (!lf_pidfile_write(cfg->pid_file, stderr)) {
		char q[600];
		lf_error("start_failed", "reason=\"pid file\" path=%s",
			 lf_log_quote(cfg->pid_file, q, sizeof q));
		return 1;
	}
	struct lf_zone *zone = lf_zone_create(cfg->cache_size);
	if (zone == NULL) {
		lf_error("start_failed", "reason=\"cannot map the shared zone\" size=%zu",
			 cfg->cache_size);
		lf_pidfile_remove(cfg->pid_file);
		return 1;
	}
	char *pid_file = strdup(cfg->pid_file);
	int rc = lf_master_run(&cfg, args.config_path, listen_fd, zone);
	lf_pidfile_remove(pid_file);
	free(pid_file);
	lf_config_free(cfg);
	free(cfg);
	lf_zone_destroy(zone);
	close(listen_fd);
	lf_log_close();
	return rc;
}
