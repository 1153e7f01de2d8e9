/*
 * ctl/ledgerflowctl.c - ledgerflowctl: administration against the database named
 * in the configuration: migrate, seed, reconcile.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "lf_admin.h"
#include "lf_args.h"
#include "lf_config.h"
#include "lf_log.h"

#ifndef LF_DEFAULT_CONFIG
#define LF_DEFAULT_CONFIG "/etc/ledgerflow/ledgerflow.conf"
#endif

static void usage(FILE *out)
{
	fprintf(out, "usage: ledgerflowctl [-c FILE] COMMAND\n"
		     "commands:\n"
		     "  migrate     apply the sql/ migrations that are missing, in order\n"
		     "  seed        load the demo accounts (idempotent)\n"
		     "  reconcile   check the books; exit 0 when they hold, 1 with a report\n"
		     "  client create NAME --scopes S,...   create an API client\n");
}

int main(int argc, char **argv)
{
	struct lf_ctl_args args;
	if (!lf_args_parse_ctl(argc, argv, LF_DEFAULT_CONFIG, &args, stderr)) {
		usage(stderr);
		return 2;
	}
	if (args.help) {
		usage(stdout);
		return 0;
	}
	struct lf_config cfg;
	if (!lf_config_load(&cfg, args.config_path, stderr)) {
		fprintf(stderr, "ledgerflowctl: invalid configuration in %s\n", args.config_path);
		lf_config_free(&cfg);
		return 2;
	}
	lf_log_set_role("ctl");
	struct lf_db_params p = {
		.host = cfg.mysql_host,
		.port = cfg.mysql_port,
		.user = cfg.mysql_user,
		.password = cfg.mysql_password,
		.database = cfg.mysql_database,
		.unix_socket = cfg.mysql_socket[0] ? cfg.mysql_socket : NULL,
		.connect_timeout_s = (unsigned)((cfg.mysql_connect_timeout_ms + 999) / 1000),
		.rw_timeout_s = 600,
		.lock_wait_timeout_s = (unsigned)((cfg.mysql_lock_wait_timeout_ms + 999) / 1000),
	};
	int rc = 2;
	switch (args.command) {
	case LF_CTL_MIGRATE: rc = lf_admin_migrate(&p, cfg.sql_dir, stdout) ? 0 : 1; break;
	case LF_CTL_SEED: rc = lf_admin_seed(&p, stdout) ? 0 : 1; break;
	case LF_CTL_RECONCILE: rc = lf_admin_reconcile(&p, stdout); break;
	case LF_CTL_CLIENT_CREATE:
		fprintf(stderr, "ledgerflowctl: client management arrives with authentication\n");
		rc = 2;
		break;
	case LF_CTL_NONE: usage(stderr); break;
	}
	lf_config_free(&cfg);
	return rc;
}
