/*
 * proc/ledgerflowd.c - ledgerflowd: parse arguments, load and check the
 * configuration (-t), open the listening socket, detach unless -f, write
 * the pid file, load the server's secrets (the pepper, created when
 * missing, and what is derived from it), check the database's currencies
 * table against the built-in one, map the shared zone, and hand over to
 * the master loop. Started by an old master's SIGUSR2 (lf_upgrade.h), it
 * takes the listening sockets and the zone it inherited instead, and stays
 * attached to the old master (no detaching).
 */
#include "config.h"

#include <errno.h>
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
#include "lf_idempotency.h"
#include "lf_listen.h"
#include "lf_log.h"
#include "lf_master.h"
#include "lf_redis.h"
#include "lf_store.h"
#include "lf_upgrade.h"
#include "lf_worker.h"
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

/* The pepper, read once here (created when missing, as ledgerflowctl
 * does) so workers inherit it; the outcome MAC's secret is set before the
 * first fork. Problems go to the log (stderr until a log file is set);
 * never the secret. */
static bool secrets_load(const struct lf_config *cfg, struct lf_secrets *secrets)
{
	char why[600], q[700];
	enum lf_secret_mode mode =
		strcmp(cfg->secret_permissions, "refuse") == 0 ? LF_SECRET_REFUSE : LF_SECRET_WARN;
	bool existed = access(cfg->auth_pepper_file, F_OK) == 0;
	uint8_t pepper[LF_AUTH_PEPPER_LEN];
	lf_rc rc = lf_auth_pepper_load(cfg->auth_pepper_file, true, mode, pepper, why, sizeof why);
	if (rc == LF_ERROR) {
		lf_error("start_failed", "reason=\"pepper file\" error=%s",
			 lf_log_quote(why, q, sizeof q));
		return false;
	}
	if (rc == LF_DECLINED)
		lf_warn("secret_file_readable", "key=auth.pepper_file problem=%s",
			lf_log_quote(why, q, sizeof q));
	if (!existed)
		lf_warn("pepper_created",
			"path=%s note=\"back it up with the database: without it no API key can "
			"be checked\"",
			lf_log_quote(cfg->auth_pepper_file, q, sizeof q));
	lf_auth_secrets_from_pepper(secrets, pepper);
	OPENSSL_cleanse(pepper, sizeof pepper);
	lf_outcome_set_secret(secrets->outcome_mac);
	lf_gate_set_pepper(secrets->pepper);
	return true;
}

/* The currencies table (004_books.sql) must agree with the built-in ISO
 * 4217 table, code and exponent, or amounts would be parsed with one
 * exponent and booked under another: refuse to start. A database that
 * cannot be reached now is not a reason to refuse (the server serves 503s
 * until it is back, and /readyz says so): the check is then skipped. */
static bool currencies_check(const struct lf_config *cfg)
{
	struct lf_db_params p = lf_worker_db_params(cfg);
	char err[512], q[700];
	struct lf_store_conn *c = lf_store_connect(&p, err, sizeof err);
	if (c == NULL) {
		lf_warn("currencies_unchecked", "reason=\"database unreachable\" error=%s",
			lf_log_quote(err, q, sizeof q));
		return true;
	}
	lf_rc rc = lf_store_check_currencies(c, err, sizeof err);
	lf_store_close(c);
	if (rc == LF_LOST) {
		lf_warn("currencies_unchecked", "reason=\"database unreachable\"");
		return true;
	}
	if (rc != LF_OK)
		lf_error("start_failed",
			 "reason=\"the currencies table does not agree with the built-in ISO 4217 "
			 "table (run ledgerflowctl migrate with this version's sql/)\" error=%s",
			 lf_log_quote(err, q, sizeof q));
	return rc == LF_OK;
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

/* [server] listen or metrics_listen: the socket an old master handed over
 * (lf_upgrade.h) when one is bound there, else a new one. */
static int listen_socket(const char *host, unsigned port, int backlog)
{
	int fd = lf_upgrade_take_socket(host, port, backlog);
	return fd >= 0 ? fd : lf_listen_open(host, port, backlog, stderr);
}

#ifdef LF_WITH_JEMALLOC
/* jemalloc's own configuration, read at its start (an operator's
 * MALLOC_CONF still overrides it): two arenas instead of four per CPU. A
 * worker's threads are its event loop and the pool threads, which allocate
 * little and briefly; with an arena each they kept more pages than they
 * use (the benchmark's worker RSS at 256 connections: 12.5 MiB of heap
 * with the default, 8.9 MiB with two, at the same throughput). */
const char *malloc_conf = "narenas:2";
#endif

int main(int argc, char **argv)
{
	lf_upgrade_init(argv);
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
	int listen_fd = -1, ops_fd = -1;
	bool ok = lf_config_load(cfg, args.config_path, stderr);
	/* [redis] tls: the files load and the key fits the certificate */
	if (ok && !lf_redis_tls_check(cfg, stderr))
		ok = false;
	if (args.test_config) {
		printf(ok ? "configuration ok\n" : "configuration has errors\n");
		lf_config_clear(cfg);
		free(cfg);
		return ok ? 0 : 1;
	}
	/* no logger before the configuration and the log file are known: these
	 * two go to stderr, which is still the terminal or the journal */
	if (!ok) {
		fprintf(stderr, "ledgerflowd: invalid configuration in %s\n", args.config_path);
		goto fail;
	}
	if (!lf_log_open(cfg->log_file, cfg->log_level)) {
		fprintf(stderr, "server.log_file: cannot open %s\n", cfg->log_file);
		goto fail;
	}
	lf_log_set_role("master");
	static struct lf_secrets secrets;
	if (!secrets_load(cfg, &secrets) || !currencies_check(cfg))
		goto fail;
	listen_fd = listen_socket(cfg->listen_host, cfg->listen_port, cfg->backlog);
	if (listen_fd < 0)
		goto fail;
	/* [server] metrics_listen: /metrics on an address of its own */
	if (cfg->metrics_listen[0] != '\0') {
		char host[256];
		unsigned port = 0;
		if (!lf_config_parse_listen(cfg->metrics_listen, host, sizeof host, &port)) {
			lf_error("start_failed",
				 "reason=\"server.metrics_listen is not host:port\"");
			goto fail;
		}
		ops_fd = listen_socket(host, port, 64);
		if (ops_fd < 0)
			goto fail;
	}
	lf_upgrade_close_unused();
	/* a new binary stays the old master's child: it watches us start */
	if (!args.foreground && !lf_upgrade_inherited() && !daemonize()) {
		lf_error("start_failed", "reason=\"cannot detach\" errno=%d", errno);
		goto fail;
	}
	if (!lf_pidfile_write(cfg->pid_file, stderr)) {
		char q[600];
		lf_error("start_failed", "reason=\"pid file\" path=%s",
			 lf_log_quote(cfg->pid_file, q, sizeof q));
		goto fail;
	}
	struct lf_zone *zone = lf_upgrade_take_zone(cfg->cache_size);
	if (zone == NULL)
		zone = lf_zone_create(cfg->cache_size);
	if (zone == NULL) {
		lf_error("start_failed", "reason=\"cannot map the shared zone\" size=%zu",
			 cfg->cache_size);
		lf_pidfile_remove(cfg->pid_file);
		goto fail;
	}
	char *pid_file = strdup(cfg->pid_file);
	int rc = lf_master_run(&cfg, args.config_path, listen_fd, ops_fd, zone, &secrets);
	lf_auth_secrets_clear(&secrets);
	lf_upgrade_exit();
	lf_pidfile_remove(lf_upgrade_pid_path(pid_file));
	free(pid_file);
	lf_config_clear(cfg);
	free(cfg);
	lf_zone_destroy(zone);
	close(listen_fd);
	if (ops_fd >= 0)
		close(ops_fd);
	lf_log_close();
	return rc;
fail:
	/* a start that failed frees what it had (the sanitizers' leak check
	 * runs on every exit) */
	if (listen_fd >= 0)
		close(listen_fd);
	if (ops_fd >= 0)
		close(ops_fd);
	lf_config_clear(cfg);
	free(cfg);
	lf_log_close();
	return 1;
}
