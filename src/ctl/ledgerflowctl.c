/*
 * ctl/ledgerflowctl.c - ledgerflowctl: administration against the database named
 * in the configuration: migrate, seed, reconcile, anchor, grants, and the
 * API clients (client create | list | revoke | rotate). as_admin[] says
 * which commands connect as [mysql] admin_user (when it is set): those
 * that change the schema, the accounts' owners or the credentials, and
 * reconcile and anchor, which write checkpoints and anchors the server's
 * own user must not be able to forge; grants only prints.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lf_admin.h"
#include "lf_args.h"
#include "lf_config.h"
#include "lf_log.h"

#ifndef LF_DEFAULT_CONFIG
#define LF_DEFAULT_CONFIG "/etc/ledgerflow/ledgerflow.conf"
#endif

/* grants: the SQL for the runtime user; a warning when nothing keeps the
 * procedures' definer apart from it (REVOKE ALL would then break them). */
static int grants(const struct lf_config *cfg, const struct lf_ctl_args *args)
{
	const char *user = args->grant_user ? args->grant_user : cfg->mysql_user;
	const char *admin = cfg->mysql_admin_user[0] ? cfg->mysql_admin_user : cfg->mysql_user;
	if (strcmp(admin, user) == 0)
		fprintf(stderr,
			"ledgerflowctl: warning: %s is also the user that migrates "
			"(mysql.admin_user "
			"%s); the procedures run with their definer's rights, so migrate as "
			"another user before you revoke this one's\n",
			user, cfg->mysql_admin_user[0] ? "names it" : "is not set");
	lf_rc rc = lf_admin_grants_print(cfg->mysql_database, user,
					 args->grant_host ? args->grant_host : "%", stdout, stderr);
	return rc == LF_OK ? 0 : rc == LF_DECLINED ? 2 : 1;
}

/* clang-format off */
static const bool as_admin[] = {
	[LF_CTL_MIGRATE] = true,        /* DDL, the DEFINER procedures */
	[LF_CTL_SEED] = true,           /* accounts' owner_client_id: an UPDATE */
	[LF_CTL_RECONCILE] = true,      /* writes its checkpoint */
	[LF_CTL_ANCHOR] = true,         /* writes anchors: not the server's user */
	[LF_CTL_GRANTS] = false,        /* no connection */
	[LF_CTL_CLIENT_CREATE] = true,  /* api_clients, api_keys */
	[LF_CTL_CLIENT_LIST] = true,
	[LF_CTL_CLIENT_REVOKE] = true,
	[LF_CTL_CLIENT_ROTATE] = true,
};
/* clang-format on */

int main(int argc, char **argv)
{
	struct lf_ctl_args args;
	if (!lf_args_parse_ctl(argc, argv, LF_DEFAULT_CONFIG, &args, stderr)) {
		lf_args_usage_ctl(stderr);
		return 2;
	}
	if (args.help) {
		lf_args_usage_ctl(stdout);
		return 0;
	}
	bool admin = args.command < sizeof as_admin / sizeof as_admin[0] && as_admin[args.command];
	struct lf_config cfg;
	if (!(admin ? lf_config_load_admin : lf_config_load)(&cfg, args.config_path, stderr)) {
		fprintf(stderr, "ledgerflowctl: invalid configuration in %s\n", args.config_path);
		lf_config_clear(&cfg);
		return 2;
	}
	lf_log_set_role("ctl");
	bool admin_user = admin && cfg.mysql_admin_user[0] != '\0';
	struct lf_db_params p = {
		.host = cfg.mysql_host,
		.port = cfg.mysql_port,
		.user = admin_user ? cfg.mysql_admin_user : cfg.mysql_user,
		.password = admin_user ? cfg.mysql_admin_password : cfg.mysql_password,
		.database = cfg.mysql_database,
		.unix_socket = cfg.mysql_socket[0] ? cfg.mysql_socket : NULL,
		.connect_timeout_s = (unsigned)((cfg.mysql_connect_timeout_ms + 999) / 1000),
		.rw_timeout_s = 600,
		.lock_wait_timeout_s = (unsigned)((cfg.mysql_lock_wait_timeout_ms + 999) / 1000),
		.ssl_mode = cfg.mysql_ssl_mode,
		.ssl_ca = cfg.mysql_ssl_ca,
		.ssl_cert = cfg.mysql_ssl_cert,
		.ssl_key = cfg.mysql_ssl_key,
	};
	struct lf_admin_auth auth = {
		.pepper_file = cfg.auth_pepper_file,
		.secret_mode = strcmp(cfg.secret_permissions, "refuse") == 0 ? LF_SECRET_REFUSE
									     : LF_SECRET_WARN,
		.rotate_grace_ms = cfg.auth_rotate_grace_ms,
	};
	int rc = 2;
	switch (args.command) {
	case LF_CTL_MIGRATE: rc = lf_admin_migrate(&p, cfg.sql_dir, stdout) ? 0 : 1; break;
	case LF_CTL_SEED: rc = lf_admin_seed(&p, args.owner, stdout) ? 0 : 1; break;
	case LF_CTL_RECONCILE: {
		/* --host/--port: e.g. a replica (over TCP, not [mysql] socket) */
		if (args.host) {
			p.host = args.host;
			p.unix_socket = NULL;
		}
		if (args.port) {
			p.port = args.port;
			p.unix_socket = NULL;
		}
		struct lf_reconcile_opts ro = {.full = args.full,
					       .no_checkpoint = args.no_checkpoint,
					       .metrics_file = args.metrics_file};
		rc = lf_admin_reconcile(&p, &ro, stdout);
		break;
	}
	case LF_CTL_ANCHOR: rc = lf_admin_anchor(&p, args.metrics_file, stdout); break;
	case LF_CTL_GRANTS: rc = grants(&cfg, &args); break;
	case LF_CTL_CLIENT_CREATE:
		rc = lf_admin_client_create(&p, &auth, args.client_name, args.scope_bits, args.rate,
					    stdout, stderr) == LF_OK
			     ? 0
			     : 1;
		break;
	case LF_CTL_CLIENT_LIST:
		rc = lf_admin_client_list(&p, stdout, stderr) == LF_OK ? 0 : 1;
		break;
	case LF_CTL_CLIENT_REVOKE:
		rc = lf_admin_client_revoke(&p, args.client_name, stdout, stderr) == LF_OK ? 0 : 1;
		break;
	case LF_CTL_CLIENT_ROTATE:
		rc = lf_admin_client_rotate(&p, &auth, args.client_name, stdout, stderr) == LF_OK
			     ? 0
			     : 1;
		break;
	case LF_CTL_NONE: lf_args_usage_ctl(stderr); break;
	}
	lf_config_clear(&cfg);
	return rc;
}
