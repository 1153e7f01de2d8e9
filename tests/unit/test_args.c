/*
 * test_args.c - unit tests for src/core/args.c: every option and command of
 * ledgerflowd and ledgerflowctl, and every error case with its message.
 */
#define _GNU_SOURCE
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "lf_args.h"
#include "lf_auth.h"
#include "../lf_cunit.h"

#define DEF "/etc/ledgerflow/ledgerflow.conf"
#define MAXARGS 16

/* argv arrays are built in writable storage, as getopt expects. */
struct argv_buf {
	char *argv[MAXARGS + 1];
	char store[MAXARGS][128];
	int argc;
};

static void build(struct argv_buf *b, const char *prog, const char *const *args)
{
	memset(b, 0, sizeof(*b));
	snprintf(b->store[0], sizeof(b->store[0]), "%s", prog);
	b->argv[0] = b->store[0];
	b->argc = 1;
	for (; *args && b->argc < MAXARGS; args++, b->argc++) {
		snprintf(b->store[b->argc], sizeof(b->store[0]), "%s", *args);
		b->argv[b->argc] = b->store[b->argc];
	}
	b->argv[b->argc] = NULL;
}

static char errbuf[1024];

static bool daemon_args(struct lf_daemon_args *out, const char *const *args)
{
	static struct argv_buf b; /* out points into it */
	FILE *f = fmemopen(errbuf, sizeof(errbuf), "w");
	bool ok;
	build(&b, "ledgerflowd", args);
	ok = lf_args_parse_daemon(b.argc, b.argv, DEF, out, f);
	fclose(f);
	return ok;
}

static bool ctl_args(struct lf_ctl_args *out, const char *const *args)
{
	static struct argv_buf b;
	FILE *f = fmemopen(errbuf, sizeof(errbuf), "w");
	bool ok;
	build(&b, "ledgerflowctl", args);
	ok = lf_args_parse_ctl(b.argc, b.argv, DEF, out, f);
	fclose(f);
	return ok;
}

#define A(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NONE ((const char *const[]){NULL})

/* ---- ledgerflowd ---- */

static void test_daemon_defaults(void)
{
	struct lf_daemon_args a;
	CU_ASSERT_TRUE(daemon_args(&a, NONE));
	CU_ASSERT_STRING_EQUAL(a.config_path, DEF);
	CU_ASSERT_FALSE(a.test_config || a.foreground || a.help || a.version);
	CU_ASSERT_STRING_EQUAL(errbuf, "");
}

static void test_daemon_options(void)
{
	const struct {
		const char *const *args;
		const char *config;
		bool t, f, h, v;
	} t[] = {
		{A("-c", "/x.conf"), "/x.conf", false, false, false, false},
		{A("-c/x.conf"), "/x.conf", false, false, false, false},
		{A("--config", "/y.conf"), "/y.conf", false, false, false, false},
		{A("--config=/z.conf"), "/z.conf", false, false, false, false},
		{A("--conf=/z.conf"), "/z.conf", false, false, false,
		 false}, /* unambiguous prefix */
		{A("-c", "/a", "-c", "/b"), "/b", false, false, false, false}, /* last wins */
		{A("-t"), DEF, true, false, false, false},
		{A("--test"), DEF, true, false, false, false},
		{A("-f"), DEF, false, true, false, false},
		{A("--foreground"), DEF, false, true, false, false},
		{A("-tf"), DEF, true, true, false, false},
		{A("-ftc", "/c.conf"), "/c.conf", true, true, false, false},
		{A("-h"), DEF, false, false, true, false},
		{A("--help"), DEF, false, false, true, false},
		{A("-V"), DEF, false, false, false, true},
		{A("--version"), DEF, false, false, false, true},
		{A("-t", "-c", "/t.conf", "-f"), "/t.conf", true, true, false, false},
		{A("-h", "stray"), DEF, false, false, true, false}, /* help wins */
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct lf_daemon_args a;
		bool ok = daemon_args(&a, t[i].args);
		if (!ok)
			fprintf(stderr, "case %zu: %s", i, errbuf);
		CU_ASSERT_TRUE_FATAL(ok);
		CU_ASSERT_STRING_EQUAL(a.config_path, t[i].config);
		CU_ASSERT_EQUAL(a.test_config, t[i].t);
		CU_ASSERT_EQUAL(a.foreground, t[i].f);
		CU_ASSERT_EQUAL(a.help, t[i].h);
		CU_ASSERT_EQUAL(a.version, t[i].v);
	}
}

static void test_daemon_errors(void)
{
	const struct {
		const char *const *args;
		const char *says;
	} t[] = {
		{A("-c"), "ledgerflowd: option '-c' needs an argument"},
		{A("-tc"), "option '-c' needs an argument"},
		{A("--config"), "option '--config' needs an argument"},
		{A("-x"), "unknown option '-x'"},
		{A("-tx"), "unknown option '-x'"},
		{A("-xt"), "unknown option '-x'"},
		{A("--foreground", "-xt"), "unknown option '-x'"},
		{A("--bogus"), "unknown option '--bogus'"},
		{A("--bogus=1"), "unknown option '--bogus'"},
		{A("--help=yes"), "option '--help' takes no argument"},
		{A("stray"), "unexpected argument 'stray'"},
		{A("-t", "stray", "-f"), "unexpected argument 'stray'"},
		{A("--", "after"), "unexpected argument 'after'"},
		{A("-c", ""), "-c needs a file name"},
		{A("--config="), "-c needs a file name"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct lf_daemon_args a;
		CU_ASSERT_FALSE(daemon_args(&a, t[i].args));
		if (!strstr(errbuf, t[i].says))
			fprintf(stderr, "case %zu: got \"%s\"\n", i, errbuf);
		CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, t[i].says));
		CU_ASSERT_PTR_NOT_NULL(strchr(errbuf, '\n'));
	}
}

static void test_daemon_reuse(void)
{
	struct lf_daemon_args a;
	struct argv_buf b;
	/* an error in the middle of a cluster leaves getopt mid-scan; the next
	 * parse must start afresh */
	CU_ASSERT_FALSE(daemon_args(&a, A("-xtf")));
	CU_ASSERT_TRUE(daemon_args(&a, A("-f")));
	CU_ASSERT_TRUE(a.foreground);
	CU_ASSERT_FALSE(a.test_config);
	CU_ASSERT_TRUE(daemon_args(&a, NONE));
	CU_ASSERT_FALSE(a.foreground);
	/* err == NULL is allowed; the same argv parses the same twice */
	build(&b, "ledgerflowd", A("-t", "-c", "/r.conf"));
	for (int round = 0; round < 2; round++) {
		CU_ASSERT_TRUE(lf_args_parse_daemon(b.argc, b.argv, DEF, &a, NULL));
		CU_ASSERT_TRUE(a.test_config);
		CU_ASSERT_STRING_EQUAL(a.config_path, "/r.conf");
		CU_ASSERT_STRING_EQUAL(b.argv[1], "-t"); /* argv not permuted */
	}
	build(&b, "ledgerflowd", A("-q"));
	CU_ASSERT_FALSE(lf_args_parse_daemon(b.argc, b.argv, DEF, &a, NULL));
}

/* ---- ledgerflowctl ---- */

static void test_ctl_seed_owner(void)
{
	struct lf_ctl_args a;
	const char *argv[] = {"ledgerflowctl", "seed", "--owner", "demo", NULL};
	CU_ASSERT_TRUE_FATAL(lf_args_parse_ctl(4, (char **)argv, DEF, &a, NULL));
	CU_ASSERT_EQUAL(a.command, LF_CTL_SEED);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a.owner);
	CU_ASSERT_STRING_EQUAL(a.owner, "demo");
	const char *plain[] = {"ledgerflowctl", "seed", NULL};
	CU_ASSERT_TRUE_FATAL(lf_args_parse_ctl(2, (char **)plain, DEF, &a, NULL));
	CU_ASSERT_PTR_NULL(a.owner);
}

static void test_ctl_grants(void)
{
	struct lf_ctl_args a;
	CU_ASSERT_TRUE_FATAL(ctl_args(&a, A("grants")));
	CU_ASSERT_EQUAL(a.command, LF_CTL_GRANTS);
	CU_ASSERT_PTR_NULL(a.grant_user);
	CU_ASSERT_PTR_NULL(a.grant_host);
	CU_ASSERT_TRUE_FATAL(
		ctl_args(&a, A("-c", "/g.conf", "grants", "--user", "lf_app", "--host=10.0.0.%")));
	CU_ASSERT_EQUAL(a.command, LF_CTL_GRANTS);
	CU_ASSERT_STRING_EQUAL(a.config_path, "/g.conf");
	CU_ASSERT_STRING_EQUAL(a.grant_user, "lf_app");
	CU_ASSERT_STRING_EQUAL(a.grant_host, "10.0.0.%");
}

static void test_ctl_commands(void)
{
	const struct {
		const char *const *args;
		enum lf_ctl_command cmd;
		const char *config, *name, *scopes;
	} t[] = {
		{A("migrate"), LF_CTL_MIGRATE, DEF, NULL, NULL},
		{A("seed"), LF_CTL_SEED, DEF, NULL, NULL},
		{A("reconcile"), LF_CTL_RECONCILE, DEF, NULL, NULL},
		{A("-c", "/x.conf", "migrate"), LF_CTL_MIGRATE, "/x.conf", NULL, NULL},
		{A("migrate", "-c", "/x.conf"), LF_CTL_MIGRATE, "/x.conf", NULL, NULL},
		{A("--config=/y.conf", "seed"), LF_CTL_SEED, "/y.conf", NULL, NULL},
		{A("--config", "/y.conf", "reconcile"), LF_CTL_RECONCILE, "/y.conf", NULL, NULL},
		{A("-c", "/c.conf", "client", "create", "shop", "--scopes",
		   "payments:write,accounts:read"),
		 LF_CTL_CLIENT_CREATE, "/c.conf", "shop", "payments:write,accounts:read"},
		{A("--scopes=admin", "client", "create", "n1"), LF_CTL_CLIENT_CREATE, DEF, "n1",
		 "admin"},
		{A("client", "--scopes", "admin,funds:issue", "create", "n2"), LF_CTL_CLIENT_CREATE,
		 DEF, "n2", "admin,funds:issue"},
		{A("client", "create", "--scopes", "events:read", "--", "-dash-name"),
		 LF_CTL_CLIENT_CREATE, DEF, "-dash-name", "events:read"},
		{A("--", "migrate"), LF_CTL_MIGRATE, DEF, NULL, NULL},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct lf_ctl_args a;
		bool ok = ctl_args(&a, t[i].args);
		if (!ok)
			fprintf(stderr, "case %zu: %s", i, errbuf);
		CU_ASSERT_TRUE_FATAL(ok);
		CU_ASSERT_EQUAL(a.command, t[i].cmd);
		CU_ASSERT_STRING_EQUAL(a.config_path, t[i].config);
		CU_ASSERT_FALSE(a.help);
		if (t[i].name) {
			CU_ASSERT_STRING_EQUAL(a.client_name, t[i].name);
		} else {
			CU_ASSERT_PTR_NULL(a.client_name);
		}
		if (t[i].scopes) {
			CU_ASSERT_STRING_EQUAL(a.scopes, t[i].scopes);
		} else {
			CU_ASSERT_PTR_NULL(a.scopes);
		}
	}
}

/* reconcile's and anchor's options */
static void test_ctl_reconcile_anchor(void)
{
	struct lf_ctl_args a;
	CU_ASSERT_TRUE_FATAL(ctl_args(&a, A("reconcile")));
	CU_ASSERT_FALSE(a.full);
	CU_ASSERT_FALSE(a.no_checkpoint);
	CU_ASSERT_PTR_NULL(a.host);
	CU_ASSERT_EQUAL(a.port, 0);
	CU_ASSERT_TRUE_FATAL(ctl_args(&a, A("reconcile", "--full", "--no-checkpoint", "--host",
					    "replica", "--port", "3307")));
	CU_ASSERT_EQUAL(a.command, LF_CTL_RECONCILE);
	CU_ASSERT_TRUE(a.full);
	CU_ASSERT_TRUE(a.no_checkpoint);
	CU_ASSERT_STRING_EQUAL(a.host, "replica");
	CU_ASSERT_EQUAL(a.port, 3307);
	CU_ASSERT_TRUE_FATAL(ctl_args(&a, A("anchor")));
	CU_ASSERT_EQUAL(a.command, LF_CTL_ANCHOR);
	CU_ASSERT_PTR_NULL(a.metrics_file);
	CU_ASSERT_TRUE_FATAL(ctl_args(&a, A("--metrics-file", "/var/lib/m.prom", "anchor")));
	CU_ASSERT_EQUAL(a.command, LF_CTL_ANCHOR);
	CU_ASSERT_STRING_EQUAL(a.metrics_file, "/var/lib/m.prom");
	CU_ASSERT_TRUE_FATAL(ctl_args(&a, A("reconcile", "--metrics-file", "/var/lib/r.prom")));
	CU_ASSERT_EQUAL(a.command, LF_CTL_RECONCILE);
	CU_ASSERT_STRING_EQUAL(a.metrics_file, "/var/lib/r.prom");
}

static void test_ctl_help(void)
{
	struct lf_ctl_args a;
	CU_ASSERT_TRUE(ctl_args(&a, A("-h")));
	CU_ASSERT_TRUE(a.help);
	CU_ASSERT_EQUAL(a.command, LF_CTL_NONE);
	CU_ASSERT_TRUE(ctl_args(&a, A("--help")));
	CU_ASSERT_TRUE(a.help);
	CU_ASSERT_TRUE(ctl_args(&a, A("bogus", "--help"))); /* the command is not checked */
	CU_ASSERT_TRUE(a.help);
	CU_ASSERT_TRUE(ctl_args(&a, A("migrate")));
	CU_ASSERT_FALSE(a.help);
}

static void test_ctl_errors(void)
{
	const struct {
		const char *const *args;
		const char *says;
	} t[] = {
		{NONE, "ledgerflowctl: no command given"},
		{A("-c", "/x.conf"), "no command given"},
		{A("migrat"), "unknown command 'migrat'"},
		{A("MIGRATE"), "unknown command 'MIGRATE'"},
		{A("migrate", "now"), "migrate: unexpected argument 'now'"},
		{A("seed", "x"), "seed: unexpected argument 'x'"},
		{A("reconcile", "x", "y"), "reconcile: unexpected argument 'x'"},
		{A("migrate", "--full"), "only for reconcile"},
		{A("anchor", "--no-checkpoint"), "only for reconcile"},
		{A("seed", "--host", "h"), "only for reconcile"},
		{A("migrate", "--metrics-file", "/m"),
		 "migrate: --metrics-file is only for reconcile and anchor"},
		{A("client", "list", "--metrics-file", "/m"),
		 "--metrics-file is only for reconcile"},
		{A("reconcile", "--metrics-file="), "reconcile: --metrics-file needs a file name"},
		{A("reconcile", "--port", "0"), "--port must be a port number"},
		{A("reconcile", "--port", "65536"), "--port must be a port number"},
		{A("reconcile", "--port", "33x"), "--port must be a port number"},
		{A("reconcile", "--host", ""), "--host needs a host name"},
		{A("anchor", "--metrics-file="), "--metrics-file needs a file name"},
		{A("anchor", "now"), "anchor: unexpected argument 'now'"},
		{A("migrate", "--scopes", "a"), "--scopes is only for client create"},
		{A("grants", "x"), "grants: unexpected argument 'x'"},
		{A("grants", "--user", ""), "grants: --user and --host need a value"},
		{A("grants", "--host="), "grants: --user and --host need a value"},
		{A("grants", "--scopes", "a"), "grants: takes only --user and --host"},
		{A("migrate", "--user", "u"), "migrate: --user is only for grants"},
		{A("client", "list", "--host", "h"),
		 "client: --host is only for reconcile and grants"},
		{A("client"), "client: missing subcommand"},
		{A("client", "delete", "x"), "client: unknown subcommand 'delete'"},
		{A("client", "create"), "client create: missing NAME"},
		{A("client", "create", "--scopes", "a"), "client create: missing NAME"},
		{A("client", "create", ""), "client create: missing NAME"},
		{A("client", "create", "n", "extra", "--scopes", "a"),
		 "unexpected argument 'extra'"},
		{A("client", "create", "n"), "--scopes S,... is required"},
		{A("client", "create", "n", "--scopes", ""), "--scopes must be"},
		{A("client", "create", "n", "--scopes="), "--scopes must be"},
		{A("client", "create", "n", "--scopes", "a,,b"), "--scopes must be"},
		{A("client", "create", "n", "--scopes", "a,"), "--scopes must be"},
		{A("client", "create", "n", "--scopes", ",a"), "--scopes must be"},
		{A("client", "create", "n", "--scopes", "a b"), "--scopes must be"},
		{A("client", "create", "n", "--scopes"), "option '--scopes' needs an argument"},
		{A("-c"), "option '-c' needs an argument"},
		{A("-c", "", "migrate"), "-c needs a file name"},
		{A("-t", "migrate"), "unknown option '-t'"},
		{A("--bogus", "migrate"), "unknown option '--bogus'"},
		{A("--help=1"), "option '--help' takes no argument"},
		{A("client", "create", "a", "b", "c", "d", "e", "f", "g", "h", "i", "--scopes",
		   "s"),
		 "unexpected argument 'b'"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct lf_ctl_args a;
		CU_ASSERT_FALSE(ctl_args(&a, t[i].args));
		if (!strstr(errbuf, t[i].says))
			fprintf(stderr, "case %zu: got \"%s\"\n", i, errbuf);
		CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, t[i].says));
	}
}

static void test_ctl_posixly_correct(void)
{
	struct lf_ctl_args a;
	/* options after the command still count with POSIXLY_CORRECT set */
	setenv("POSIXLY_CORRECT", "1", 1);
	CU_ASSERT_TRUE(ctl_args(&a, A("client", "create", "n", "--scopes", "admin", "-c", "/p.conf",
				      "--rate", "9")));
	CU_ASSERT_EQUAL(a.command, LF_CTL_CLIENT_CREATE);
	CU_ASSERT_STRING_EQUAL(a.scopes, "admin");
	CU_ASSERT_EQUAL(a.rate, 9);
	CU_ASSERT_STRING_EQUAL(a.config_path, "/p.conf");
	unsetenv("POSIXLY_CORRECT");
	CU_ASSERT_TRUE(ctl_args(&a, A("migrate", "-c", "/q.conf")));
	CU_ASSERT_STRING_EQUAL(a.config_path, "/q.conf");
}

/* client create --rate, list, revoke, rotate; scopes checked by name */
static void test_ctl_clients(void)
{
	const struct {
		const char *const *args;
		enum lf_ctl_command cmd;
		const char *name;
		unsigned scopes, rate;
	} t[] = {
		{A("client", "create", "shop", "--scopes", "accounts:read,payments:write"),
		 LF_CTL_CLIENT_CREATE, "shop", LF_SCOPE_ACCOUNTS_READ | LF_SCOPE_PAYMENTS_WRITE, 0},
		{A("client", "create", "a.b_c-d:e@f", "--scopes", "admin", "--rate", "1"),
		 LF_CTL_CLIENT_CREATE, "a.b_c-d:e@f", LF_SCOPE_ADMIN, 1},
		{A("--rate=1000000", "client", "create", "big", "--scopes=funds:issue,events:read"),
		 LF_CTL_CLIENT_CREATE, "big", LF_SCOPE_FUNDS_ISSUE | LF_SCOPE_EVENTS_READ, 1000000},
		{A("client", "list"), LF_CTL_CLIENT_LIST, NULL, 0, 0},
		{A("client", "list", "-c", "/x.conf"), LF_CTL_CLIENT_LIST, NULL, 0, 0},
		{A("client", "revoke", "shop"), LF_CTL_CLIENT_REVOKE, "shop", 0, 0},
		{A("client", "rotate", "shop"), LF_CTL_CLIENT_ROTATE, "shop", 0, 0},
		{A("client", "rotate", "--", "-x"), LF_CTL_CLIENT_ROTATE, "-x", 0, 0},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct lf_ctl_args a;
		bool ok = ctl_args(&a, t[i].args);
		if (!ok)
			fprintf(stderr, "case %zu: %s", i, errbuf);
		CU_ASSERT_TRUE_FATAL(ok);
		CU_ASSERT_EQUAL(a.command, t[i].cmd);
		if (t[i].name) {
			CU_ASSERT_STRING_EQUAL(a.client_name, t[i].name);
		} else {
			CU_ASSERT_PTR_NULL(a.client_name);
		}
		CU_ASSERT_EQUAL(a.scope_bits, t[i].scopes);
		CU_ASSERT_EQUAL(a.rate, t[i].rate);
	}

	char name101[128];
	memset(name101, 'n', 101);
	name101[101] = '\0';
	const struct {
		const char *const *args;
		const char *says;
	} bad[] = {
		{A("client", "create", "n", "--scopes", "accounts:read,bogus"),
		 "client create: unknown scope 'bogus' (scopes: accounts:read,"},
		{A("client", "create", "n", "--scopes", "Admin"), "unknown scope 'Admin'"},
		{A("client", "create", "n", "--scopes", "admin", "--rate", "0"),
		 "--rate must be a whole number of requests per second, 1..1000000"},
		{A("client", "create", "n", "--scopes", "admin", "--rate", "1000001"),
		 "--rate must"},
		{A("client", "create", "n", "--scopes", "admin", "--rate", "-5"), "--rate must"},
		{A("client", "create", "n", "--scopes", "admin", "--rate", "5x"), "--rate must"},
		{A("client", "create", "n", "--scopes", "admin", "--rate", ""), "--rate must"},
		{A("client", "create", "n", "--scopes", "admin", "--rate", "99999999999"),
		 "--rate must"},
		{A("client", "create", "n", "--scopes", "admin", "--rate"),
		 "option '--rate' needs an argument"},
		{A("client", "create", "a b", "--scopes", "admin"), "client create: NAME must be"},
		{A("client", "create", "caf\xc3\xa9", "--scopes", "admin"), "NAME must be"},
		{A("client", "create", name101, "--scopes", "admin"), "NAME must be 1..100"},
		{A("client", "list", "x"), "client list: unexpected argument 'x'"},
		{A("client", "list", "--scopes", "admin"),
		 "client list: --scopes is only for client create"},
		{A("client", "list", "--rate", "5"),
		 "client list: --rate is only for client create"},
		{A("client", "revoke"), "client revoke: missing NAME"},
		{A("client", "revoke", "a", "b"), "client revoke: unexpected argument 'b'"},
		{A("client", "revoke", "a", "--scopes", "admin"),
		 "--scopes is only for client create"},
		{A("client", "rotate"), "client rotate: missing NAME"},
		{A("client", "rotate", "n", "--rate", "5"), "--rate is only for client create"},
		{A("client", "rotate", "bad/name"), "client rotate: NAME must be"},
		{A("seed", "--rate", "5"), "seed: --rate is only for client create"},
		{A("migrate", "--owner", "demo"), "migrate: --owner is only for seed"},
		{A("client", "list", "--owner", "demo"), "client: --owner is only for seed"},
		{A("seed", "--owner="), "seed: --owner needs a client name"},
		{A("client"), "client: missing subcommand (create, list, revoke or rotate)"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct lf_ctl_args a;
		CU_ASSERT_FALSE(ctl_args(&a, bad[i].args));
		if (!strstr(errbuf, bad[i].says))
			fprintf(stderr, "case %zu: got \"%s\"\n", i, errbuf);
		CU_ASSERT_PTR_NOT_NULL(strstr(errbuf, bad[i].says));
	}
}

static void test_usage(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	CU_ASSERT_FATAL(f != NULL);
	lf_args_usage_daemon(f);
	lf_args_usage_ctl(f);
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "Usage: ledgerflowd"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "--foreground"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "Usage: ledgerflowctl"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "client create NAME --scopes"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "--rate N"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "client list"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "client revoke NAME"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "client rotate NAME"));
	free(text);
}

int main(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{"daemon defaults", test_daemon_defaults},
		{"daemon options", test_daemon_options},
		{"daemon errors", test_daemon_errors},
		{"daemon parse reuse", test_daemon_reuse},
		{"ctl commands", test_ctl_commands},
		{"ctl help", test_ctl_help},
		{"ctl reconcile and anchor options", test_ctl_reconcile_anchor},
		{"ctl errors", test_ctl_errors},
		{"ctl grants", test_ctl_grants},
		{"ctl with POSIXLY_CORRECT", test_ctl_posixly_correct},
		{"ctl client commands", test_ctl_clients},
		{"ctl seed --owner", test_ctl_seed_owner},
		{"usage text", test_usage},
	};
	CU_pSuite suite;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("args", NULL, NULL);
	if (!suite)
		goto fail;
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (!CU_add_test(suite, tests[i].name, tests[i].fn))
			goto fail;
	return lf_cunit_run();
fail:
	CU_cleanup_registry();
	return 1;
}
