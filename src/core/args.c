/*
 * core/args.c - command-line parsing for ledgerflowd and ledgerflowctl, with
 * getopt_long. Options and operands are taken in the order written (the
 * "-" optstring mode), so "ledgerflowctl migrate -c FILE" works with or
 * without POSIXLY_CORRECT and argv is never permuted. Every problem is one
 * line on `err`; the caller prints the usage.
 */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <string.h>

#include "lf_args.h"
#include "lf_auth.h"

#define MAX_OPERANDS 8

/* Start getopt afresh: optind = 0 makes glibc reinitialise all its state
 * (a plain optind = 1 would keep a half-scanned "-tf" cluster). */
static void getopt_reset(void)
{
	optind = 0;
	opterr = 0;
}

/* Report one of getopt's error returns ('?' or ':'). For an unknown
 * short option optopt is the letter; for "--flag=x" on a flag it is the
 * flag's value; for an unknown long option it is 0. A long option's own
 * argv element is argv[optind - 1]. */
static void option_error(FILE *err, const char *prog, const char *optstring, int ch, int argc,
			 char **argv)
{
	const char *arg = (optind > 0 && optind <= argc) ? argv[optind - 1] : "";
	bool is_long = strncmp(arg, "--", 2) == 0;
	bool known = optopt >= 0x100 || (optopt > 0 && strchr(optstring, optopt) != NULL);
	int n = (int)strcspn(arg, "=");
	if (!err)
		return;
	if (ch == ':' && is_long)
		fprintf(err, "%s: option '%s' needs an argument\n", prog, arg);
	else if (ch == ':')
		fprintf(err, "%s: option '-%c' needs an argument\n", prog, optopt);
	else if (optopt == 0)
		fprintf(err, "%s: unknown option '%.*s'\n", prog, n, arg);
	else if (known && is_long)
		fprintf(err, "%s: option '%.*s' takes no argument\n", prog, n, arg);
	else
		fprintf(err, "%s: unknown option '-%c'\n", prog, optopt);
}

static bool __attribute__((format(printf, 3, 4)))
fail(FILE *err, const char *prog, const char *fmt, ...)
{
	va_list ap;
	if (!err)
		return false;
	fprintf(err, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(err, fmt, ap);
	va_end(ap);
	fputc('\n', err);
	return false;
}

bool lf_args_parse_daemon(int argc, char **argv, const char *default_config,
			  struct lf_daemon_args *out, FILE *err)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'}, {"test", no_argument, NULL, 't'},
		{"foreground", no_argument, NULL, 'f'},   {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
	};
	static const char prog[] = "ledgerflowd";
#define OPTSTRING "-:c:tfhV"
	const char *stray = NULL;
	int ch;

	memset(out, 0, sizeof *out);
	out->config_path = default_config;
	getopt_reset();
	while ((ch = getopt_long(argc, argv, OPTSTRING, longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			if (optarg[0] == '\0')
				return fail(err, prog, "-c needs a file name, not an empty string");
			out->config_path = optarg;
			break;
		case 't': out->test_config = true; break;
		case 'f': out->foreground = true; break;
		case 'h': out->help = true; break;
		case 'V': out->version = true; break;
		case 1:
			if (!stray)
				stray = optarg;
			break;
		default: option_error(err, prog, OPTSTRING, ch, argc, argv); return false;
		}
	}
	if (!stray && optind < argc)
		stray = argv[optind]; /* after "--" */
	if (stray && !out->help && !out->version)
		return fail(err, prog, "unexpected argument '%s'", stray);
	return true;
#undef OPTSTRING
}

/* "a,b,c": no empty item, no blanks or control characters. */
static bool valid_scopes(const char *s)
{
	bool item = false;
	for (; *s; s++) {
		if (*s == ',') {
			if (!item)
				return false;
			item = false;
		} else if ((unsigned char)*s <= ' ' || *s == 0x7f) {
			return false;
		} else {
			item = true;
		}
	}
	return item;
}

/* A client name: 1..LF_CTL_NAME_MAX of [A-Za-z0-9._:@-] (it is printed
 * in lists and logs as it is). */
static bool valid_name(const char *s)
{
	static const char ok[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:@-";
	size_t n = strlen(s);
	return n >= 1 && n <= LF_CTL_NAME_MAX && strspn(s, ok) == n;
}

/* --rate: decimal digits only, 1..LF_CTL_RATE_MAX. */
static bool parse_rate(const char *s, unsigned *out)
{
	unsigned long v = 0;
	size_t n = strspn(s, "0123456789");
	if (n == 0 || s[n] != '\0' || n > 7)
		return false;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned long)(s[i] - '0');
	if (v < 1 || v > LF_CTL_RATE_MAX)
		return false;
	*out = (unsigned)v;
	return true;
}

/* --port: decimal digits only, 1..65535. */
static bool parse_port(const char *s, unsigned *out)
{
	unsigned long v = 0;
	size_t n = strspn(s, "0123456789");
	if (n == 0 || s[n] != '\0' || n > 5)
		return false;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned long)(s[i] - '0');
	if (v < 1 || v > 65535)
		return false;
	*out = (unsigned)v;
	return true;
}

/* client create NAME --scopes S,... [--rate N] | list | revoke NAME |
 * rotate NAME: ops[0] is "client". */
static bool parse_client(struct lf_ctl_args *out, const char *const *ops, int nops, bool too_many,
			 const char *rate, FILE *err, const char *prog)
{
	static const struct {
		const char *word;
		enum lf_ctl_command cmd;
		bool named;
	} subs[] = {
		{"create", LF_CTL_CLIENT_CREATE, true},
		{"list", LF_CTL_CLIENT_LIST, false},
		{"revoke", LF_CTL_CLIENT_REVOKE, true},
		{"rotate", LF_CTL_CLIENT_ROTATE, true},
	};
	if (nops < 2)
		return fail(err, prog,
			    "client: missing subcommand (create, list, revoke or rotate)");
	size_t i = 0;
	while (i < sizeof subs / sizeof subs[0] && strcmp(ops[1], subs[i].word) != 0)
		i++;
	if (i == sizeof subs / sizeof subs[0])
		return fail(err, prog, "client: unknown subcommand '%s'", ops[1]);
	const char *sub = subs[i].word;
	bool create = subs[i].cmd == LF_CTL_CLIENT_CREATE;
	int want = subs[i].named ? 3 : 2;
	if (subs[i].named && (nops < 3 || ops[2][0] == '\0'))
		return fail(err, prog, "client %s: missing NAME", sub);
	if (nops > want || too_many)
		return fail(err, prog, "client %s: unexpected argument '%s'", sub,
			    nops > want ? ops[want] : "");
	if (subs[i].named && !valid_name(ops[2]))
		return fail(err, prog,
			    "client %s: NAME must be 1..%d characters of A-Z a-z 0-9 . _ - : @",
			    sub, LF_CTL_NAME_MAX);
	if (!create && out->scopes)
		return fail(err, prog, "client %s: --scopes is only for client create", sub);
	if (!create && rate)
		return fail(err, prog, "client %s: --rate is only for client create", sub);
	if (create) {
		char bad[65];
		if (!out->scopes)
			return fail(err, prog, "client create: --scopes S,... is required");
		if (!valid_scopes(out->scopes))
			return fail(err, prog,
				    "client create: --scopes must be a comma-separated list "
				    "without empty items or blanks");
		if (!lf_auth_scopes_parse(out->scopes, &out->scope_bits, bad)) {
			char all[160];
			lf_auth_scopes_format(LF_SCOPE_ALL, all, sizeof all);
			return fail(err, prog, "client create: unknown scope '%s' (scopes: %s)",
				    bad, all);
		}
		if (rate && !parse_rate(rate, &out->rate))
			return fail(err, prog,
				    "client create: --rate must be a whole number of requests per "
				    "second, 1..%d",
				    LF_CTL_RATE_MAX);
	}
	out->command = subs[i].cmd;
	out->client_name = subs[i].named ? ops[2] : NULL;
	return true;
}

/* grants [--user U] [--host H]: ops[0] is "grants". The names are checked
 * where they are printed (lf_admin_grants_print). */
static bool parse_grants(struct lf_ctl_args *out, const char *const *ops, int nops,
			 const char *rate, FILE *err, const char *prog)
{
	if (nops > 1)
		return fail(err, prog, "grants: unexpected argument '%s'", ops[1]);
	if (out->scopes || rate || out->owner)
		return fail(err, prog, "grants: takes only --user and --host");
	if ((out->grant_user && out->grant_user[0] == '\0') ||
	    (out->grant_host && out->grant_host[0] == '\0'))
		return fail(err, prog, "grants: --user and --host need a value");
	out->command = LF_CTL_GRANTS;
	return true;
}

bool lf_args_parse_ctl(int argc, char **argv, const char *default_config, struct lf_ctl_args *out,
		       FILE *err)
{
	enum {
		OPT_SCOPES = 0x100,
		OPT_RATE,
		OPT_OWNER,
		OPT_USER,
		OPT_FULL,
		OPT_NO_CHECKPOINT,
		OPT_HOST,
		OPT_PORT,
		OPT_METRICS_FILE
	};
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{"scopes", required_argument, NULL, OPT_SCOPES},
		{"rate", required_argument, NULL, OPT_RATE},
		{"owner", required_argument, NULL, OPT_OWNER},
		{"user", required_argument, NULL, OPT_USER},
		{"full", no_argument, NULL, OPT_FULL},
		{"no-checkpoint", no_argument, NULL, OPT_NO_CHECKPOINT},
		{"host", required_argument, NULL, OPT_HOST},
		{"port", required_argument, NULL, OPT_PORT},
		{"metrics-file", required_argument, NULL, OPT_METRICS_FILE},
		{NULL, 0, NULL, 0},
	};
	static const char prog[] = "ledgerflowctl";
#define OPTSTRING "-:c:h"
	const char *ops[MAX_OPERANDS];
	const char *rate = NULL, *port = NULL;
	int nops = 0, ch;
	bool too_many = false;

	memset(out, 0, sizeof *out);
	out->config_path = default_config;
	getopt_reset();
	while ((ch = getopt_long(argc, argv, OPTSTRING, longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			if (optarg[0] == '\0')
				return fail(err, prog, "-c needs a file name, not an empty string");
			out->config_path = optarg;
			break;
		case 'h': out->help = true; break;
		case OPT_SCOPES: out->scopes = optarg; break;
		case OPT_RATE: rate = optarg; break;
		case OPT_OWNER: out->owner = optarg; break;
		case OPT_USER: out->grant_user = optarg; break;
		case OPT_FULL: out->full = true; break;
		case OPT_NO_CHECKPOINT: out->no_checkpoint = true; break;
		case OPT_HOST: out->host = optarg; break; /* grants: the user's host */
		case OPT_PORT: port = optarg; break;
		case OPT_METRICS_FILE: out->metrics_file = optarg; break;
		case 1:
			if (nops < MAX_OPERANDS)
				ops[nops++] = optarg;
			else
				too_many = true;
			break;
		default: option_error(err, prog, OPTSTRING, ch, argc, argv); return false;
		}
	}
	for (; optind < argc; optind++) /* after "--" */
		if (nops < MAX_OPERANDS)
			ops[nops++] = argv[optind];
		else
			too_many = true;
	if (out->help)
		return true;
	if (nops == 0)
		return fail(
			err, prog,
			"no command given (migrate, seed, reconcile, anchor, grants or client)");
	if (out->grant_user && strcmp(ops[0], "grants") != 0)
		return fail(err, prog, "%s: --user is only for grants", ops[0]);
	if (strcmp(ops[0], "grants") == 0) {
		if (out->full || out->no_checkpoint || port || out->metrics_file)
			return fail(
				err, prog,
				"grants: --full, --no-checkpoint, --port and --metrics-file are "
				"not for grants");
		out->grant_host = out->host;
		out->host = NULL;
		return parse_grants(out, ops, nops, rate, err, prog);
	}

	bool reconcile = strcmp(ops[0], "reconcile") == 0, anchor = strcmp(ops[0], "anchor") == 0;
	if (!reconcile && out->host)
		return fail(err, prog, "%s: --host is only for reconcile and grants", ops[0]);
	if (!reconcile && (out->full || out->no_checkpoint || port))
		return fail(err, prog,
			    "%s: --full, --no-checkpoint and --port are only for reconcile",
			    ops[0]);
	if (!anchor && !reconcile && out->metrics_file)
		return fail(err, prog, "%s: --metrics-file is only for reconcile and anchor",
			    ops[0]);
	if (reconcile && out->host && out->host[0] == '\0')
		return fail(err, prog, "reconcile: --host needs a host name");
	if (reconcile && port && !parse_port(port, &out->port))
		return fail(err, prog, "reconcile: --port must be a port number, 1..65535");
	if (out->metrics_file && out->metrics_file[0] == '\0')
		return fail(err, prog, "%s: --metrics-file needs a file name", ops[0]);
	if (strcmp(ops[0], "migrate") == 0 || strcmp(ops[0], "seed") == 0 || reconcile || anchor) {
		out->command = ops[0][0] == 'm'   ? LF_CTL_MIGRATE
			       : ops[0][0] == 's' ? LF_CTL_SEED
			       : anchor           ? LF_CTL_ANCHOR
						  : LF_CTL_RECONCILE;
		if (nops > 1)
			return fail(err, prog, "%s: unexpected argument '%s'", ops[0], ops[1]);
		if (out->scopes)
			return fail(err, prog, "%s: --scopes is only for client create", ops[0]);
		if (rate)
			return fail(err, prog, "%s: --rate is only for client create", ops[0]);
		if (out->owner && out->command != LF_CTL_SEED)
			return fail(err, prog, "%s: --owner is only for seed", ops[0]);
		if (out->owner && out->owner[0] == '\0')
			return fail(err, prog, "seed: --owner needs a client name");
		return true;
	}
	if (strcmp(ops[0], "client") != 0)
		return fail(err, prog, "unknown command '%s'", ops[0]);
	if (out->owner)
		return fail(err, prog, "client: --owner is only for seed");
	return parse_client(out, ops, nops, too_many, rate, err, prog);
#undef OPTSTRING
}

void lf_args_usage_daemon(FILE *out)
{
	fputs("Usage: ledgerflowd [-c FILE] [-t] [-f]\n"
	      "  -c, --config FILE   configuration file\n"
	      "  -t, --test          check the configuration and exit\n"
	      "  -f, --foreground    do not detach (systemd, containers)\n"
	      "  -h, --help          show this help\n"
	      "  -V, --version       show the version\n",
	      out);
}

void lf_args_usage_ctl(FILE *out)
{
	fputs("Usage: ledgerflowctl [-c FILE] COMMAND\n"
	      "Commands:\n"
	      "  migrate       apply the sql/ migrations that are missing, in order\n"
	      "  seed          load the demo accounts (idempotent)\n"
	      "  reconcile [--full] [--no-checkpoint] [--host H] [--port N]\n"
	      "            [--metrics-file FILE]\n"
	      "                check the books (from the last clean checkpoint; --full:\n"
	      "                everything); exit 0 when they hold, 1 with a report\n"
	      "  anchor [--metrics-file FILE]\n"
	      "                record every account's chain head with a digest\n"
	      "  grants [--user U] [--host H]\n"
	      "                print the SQL that gives the runtime user U@H (default:\n"
	      "                [mysql] user @ %) exactly what the server needs\n"
	      "  client create NAME --scopes S,... [--rate N]\n"
	      "                create an API client; its key is printed once, alone on the\n"
	      "                last line\n"
	      "  client list   the clients, their scopes, rates and key prefixes (no secrets)\n"
	      "  client revoke NAME\n"
	      "                revoke the client and every key it has, at once\n"
	      "  client rotate NAME\n"
	      "                print a new key; the old ones work for [auth] rotate_grace\n"
	      "Scopes: accounts:read accounts:write payments:read payments:write funds:issue\n"
	      "        events:read admin\n"
	      "Options:\n"
	      "  -c, --config FILE   configuration file\n"
	      "  --scopes S,...      client create: the scopes, comma-separated\n"
	      "  --rate N            client create: requests per second, 1..1000000\n"
	      "                      (default: [ratelimit] rate)\n"
	      "  --full              reconcile: verify every entry, not only the new ones\n"
	      "  --no-checkpoint     reconcile: record no checkpoint (read-only)\n"
	      "  --host H, --port N  reconcile: another server (a replica) than [mysql]'s\n"
	      "  --metrics-file FILE reconcile: write the run's result and time, and the\n"
	      "                      last clean run's time; anchor: the anchor's time;\n"
	      "                      as Prometheus textfile-collector gauges\n"
	      "  -h, --help          show this help\n",
	      out);
}
