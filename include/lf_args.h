/*
 * lf_args.h - command-line parsing for ledgerflowd and ledgerflowctl.
 */
#ifndef LF_ARGS_H
#define LF_ARGS_H

#include <stdbool.h>
#include <stdio.h>

struct lf_daemon_args {
	const char *config_path; /* -c FILE (default: SYSCONFDIR/ledgerflow/ledgerflow.conf) */
	bool test_config;        /* -t */
	bool foreground;         /* -f */
	bool help;               /* -h / --help */
	bool version;            /* -V / --version */
};

/* Parse argv for ledgerflowd. Returns false with a message on `err` (may
 * be NULL) for an unknown option, a missing argument or a stray operand.
 * getopt is reinitialised on each call, so it may be called repeatedly;
 * out->config_path points into argv or is default_config. */
bool lf_args_parse_daemon(int argc, char **argv, const char *default_config,
			  struct lf_daemon_args *out, FILE *err);

enum lf_ctl_command {
	LF_CTL_NONE = 0,
	LF_CTL_MIGRATE,
	LF_CTL_SEED,
	LF_CTL_RECONCILE,
	LF_CTL_CLIENT_CREATE,
};

struct lf_ctl_args {
	const char *config_path; /* -c FILE */
	enum lf_ctl_command command;
	const char *client_name; /* client create NAME */
	const char *scopes;      /* --scopes S,... */
	bool help;
};

/* Parse argv for ledgerflowctl: [-c FILE] migrate | seed | reconcile |
 * client create NAME --scopes S,... With -h/--help the command is not
 * checked. Returns false with a message on `err` for an unknown option or
 * command, a missing NAME or --scopes, or an extra operand. */
bool lf_args_parse_ctl(int argc, char **argv, const char *default_config, struct lf_ctl_args *out,
		       FILE *err);

/* Usage text for -h. */
void lf_args_usage_daemon(FILE *out);
void lf_args_usage_ctl(FILE *out);

#endif
