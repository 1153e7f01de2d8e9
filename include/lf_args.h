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
	LF_CTL_ANCHOR,
	LF_CTL_CLIENT_CREATE,
	LF_CTL_CLIENT_LIST,
	LF_CTL_CLIENT_REVOKE,
	LF_CTL_CLIENT_ROTATE,
	LF_CTL_GRANTS,
};

#define LF_CTL_NAME_MAX 100     /* api_clients.name */
#define LF_CTL_RATE_MAX 1000000 /* --rate, requests per second */

struct lf_ctl_args {
	const char *config_path; /* -c FILE */
	enum lf_ctl_command command;
	const char *client_name;  /* client create|revoke|rotate NAME */
	const char *scopes;       /* --scopes S,... as written */
	unsigned scope_bits;      /* --scopes parsed (lf_auth.h, LF_SCOPE_*) */
	unsigned rate;            /* --rate N, 1..LF_CTL_RATE_MAX; 0 when not given */
	const char *owner;        /* seed --owner NAME: the demo accounts' client */
	bool full;                /* reconcile --full */
	bool no_checkpoint;       /* reconcile --no-checkpoint */
	const char *host;         /* reconcile --host H: instead of [mysql] host */
	unsigned port;            /* reconcile --port N, 1..65535; 0 when not given */
	const char *metrics_file; /* reconcile, anchor --metrics-file FILE */
	const char *grant_user;   /* grants --user U (NULL: [mysql] user) */
	const char *grant_host;   /* grants --host H (NULL: %) */
	bool help;
};

/* Parse argv for ledgerflowctl: [-c FILE] migrate | seed [--owner NAME] |
 * reconcile [--full] [--no-checkpoint] [--host H] [--port N] [--metrics-file FILE] |
 * anchor [--metrics-file FILE] | grants [--user U] [--host H] |
 * client create NAME --scopes S,... [--rate N] | client list |
 * client revoke NAME | client rotate NAME. With -h/--help the command is
 * not checked. Returns false with a message on `err` for an unknown option,
 * command or scope, a missing or malformed NAME (1..100 characters of
 * A-Z a-z 0-9 . _ - : @), a missing --scopes, a --rate out of 1..1000000,
 * an option the command does not take, or an extra operand. */
bool lf_args_parse_ctl(int argc, char **argv, const char *default_config, struct lf_ctl_args *out,
		       FILE *err);

/* Usage text for -h. */
void lf_args_usage_daemon(FILE *out);
void lf_args_usage_ctl(FILE *out);

#endif
