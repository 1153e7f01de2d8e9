/*
 * test_config_secrets.c - unit tests for the secrets of the configuration
 * (src/core/config_secrets.c and the keys around it): the passwords read
 * from [mysql] / [redis] password_file (and [mysql] admin_password_file,
 * which only lf_config_load_admin reads), the permission policy
 * (server.secret_permissions = warn | refuse) for password files and for a
 * configuration file that holds a password, the conflicts, and that no
 * secret ever reaches a message. Also the defaults of the [auth] keys.
 */
#define _GNU_SOURCE
#include "config.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "lf_config.h"
#include "../lf_cunit.h"

#ifndef LF_DEFAULT_PEPPER_FILE
#define LF_DEFAULT_PEPPER_FILE "/var/lib/ledgerflow/pepper"
#endif

#define SECRET "Sup3rS3cr3t-file-pw"

static char tmpdir[64];
static char made[48][128];
static unsigned nmade;

static void clear_env(void)
{
	char key[128], env[160];
	for (size_t i = 0; i < lf_config_key_count(); i++) {
		if (!lf_config_key_name(i, key, sizeof key))
			continue;
		size_t o = (size_t)snprintf(env, sizeof env, "LEDGERFLOW_%s", key);
		for (size_t j = 0; j < o && j < sizeof env; j++)
			env[j] = env[j] == '.' ? '_' : (char)toupper((unsigned char)env[j]);
		unsetenv(env);
	}
}

/* A new file in tmpdir holding text, with exactly this mode. */
static const char *write_file(const char *name, const char *text, mode_t mode)
{
	CU_ASSERT_FATAL(nmade < sizeof made / sizeof made[0]);
	char *path = made[nmade++];
	snprintf(path, sizeof made[0], "%s/%s", tmpdir, name);
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	CU_ASSERT_FATAL(fchmod(fd, mode) == 0);
	close(fd);
	return path;
}

/* Load path; *errs gets the message text (caller frees). */
static bool load(struct lf_config *cfg, const char *path, char **errs)
{
	size_t len = 0;
	*errs = NULL;
	FILE *f = open_memstream(errs, &len);
	CU_ASSERT_FATAL(f != NULL);
	bool ok = lf_config_load(cfg, path, f);
	fclose(f);
	CU_ASSERT_PTR_NULL(strstr(*errs, SECRET)); /* never, whatever happened */
	return ok;
}

static unsigned count_lines(const char *s)
{
	unsigned n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_defaults(void)
{
	struct lf_config cfg;
	char *errs;
	CU_ASSERT_FATAL(load(&cfg, NULL, &errs));
	CU_ASSERT_STRING_EQUAL(errs, "");
	CU_ASSERT_STRING_EQUAL(cfg.secret_permissions, "warn");
	CU_ASSERT_STRING_EQUAL(cfg.mysql_password_file, "");
	CU_ASSERT_STRING_EQUAL(cfg.redis_password_file, "");
	CU_ASSERT_STRING_EQUAL(cfg.auth_pepper_file, LF_DEFAULT_PEPPER_FILE);
	CU_ASSERT_EQUAL(cfg.auth_rotate_grace_ms, 24 * 3600 * 1000LL);
	lf_config_clear(&cfg);
	free(errs);

	/* the table says which defaults come from the build */
	struct lf_config_key_info k;
	for (size_t i = 0; lf_config_key_info(i, &k); i++) {
		bool path =
			(strcmp(k.section, "auth") == 0 && strcmp(k.name, "pepper_file") == 0) ||
			strcmp(k.section, "paths") == 0;
		CU_ASSERT_EQUAL(k.build_default, path);
	}
}

static void test_bad_values(void)
{
	struct lf_config cfg;
	char *errs;
	const char *conf = write_file("bad.conf",
				      "[server]\nsecret_permissions = ignore\n"
				      "[auth]\npepper_file =\nrotate_grace = 9000h\n",
				      0600);
	CU_ASSERT_FALSE(load(&cfg, conf, &errs));
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, ":2: server.secret_permissions: \"ignore\" must be "
					    "one of warn|refuse"));
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, ":4: auth.pepper_file: \"\" must not be empty"));
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, ":5: auth.rotate_grace: \"9000h\" is out of range"));
	CU_ASSERT_EQUAL(count_lines(errs), 3);
	free(errs);
}

static void test_password_from_file(void)
{
	struct lf_config cfg;
	char *errs, text[512];
	const char *pw = write_file("mysql.pw", SECRET "\nsecond line ignored\n", 0600);
	const char *rpw = write_file("redis.pw", "redis-" SECRET, 0400); /* no newline */
	snprintf(text, sizeof text, "[mysql]\npassword_file = %s\n[redis]\npassword_file = %s\n",
		 pw, rpw);
	CU_ASSERT_FATAL(load(&cfg, write_file("pw.conf", text, 0644), &errs));
	CU_ASSERT_STRING_EQUAL(errs, ""); /* the file names a file, it holds no secret */
	CU_ASSERT_STRING_EQUAL(cfg.mysql_password, SECRET);
	CU_ASSERT_STRING_EQUAL(cfg.redis_password, "redis-" SECRET);
	CU_ASSERT_STRING_EQUAL(cfg.mysql_password_file, pw);
	lf_config_clear(&cfg);
	free(errs);

	/* from the environment too, with CRLF */
	pw = write_file("crlf.pw", SECRET "\r\n", 0600);
	setenv("LEDGERFLOW_MYSQL_PASSWORD_FILE", pw, 1);
	CU_ASSERT_FATAL(load(&cfg, NULL, &errs));
	CU_ASSERT_STRING_EQUAL(errs, "");
	CU_ASSERT_STRING_EQUAL(cfg.mysql_password, SECRET);
	lf_config_clear(&cfg);
	free(errs);
	clear_env();
}

/* Load path as ledgerflowctl's administrative commands do. */
static bool load_admin(struct lf_config *cfg, const char *path, char **errs)
{
	size_t len = 0;
	*errs = NULL;
	FILE *f = open_memstream(errs, &len);
	CU_ASSERT_FATAL(f != NULL);
	bool ok = lf_config_load_admin(cfg, path, f);
	fclose(f);
	CU_ASSERT_PTR_NULL(strstr(*errs, SECRET));
	return ok;
}

/* The admin's password file is read only by lf_config_load_admin: the
 * daemon loads a configuration naming a file it cannot read, untouched. */
static void test_admin_password_file(void)
{
	struct lf_config cfg;
	char *errs, text[512];
	const char *apw = write_file("admin.pw", "admin-" SECRET "\n", 0600);
	snprintf(text, sizeof text, "[mysql]\nadmin_user = lf_admin\nadmin_password_file = %s\n",
		 apw);
	const char *conf = write_file("admin.conf", text, 0644);
	CU_ASSERT_FATAL(load_admin(&cfg, conf, &errs));
	CU_ASSERT_STRING_EQUAL(errs, "");
	CU_ASSERT_STRING_EQUAL(cfg.mysql_admin_user, "lf_admin");
	CU_ASSERT_STRING_EQUAL(cfg.mysql_admin_password, "admin-" SECRET);
	CU_ASSERT_STRING_EQUAL(cfg.mysql_password, ""); /* the runtime one is apart */
	lf_config_clear(&cfg);
	free(errs);
	CU_ASSERT_FATAL(load(&cfg, conf, &errs));
	CU_ASSERT_STRING_EQUAL(cfg.mysql_admin_password, "");
	lf_config_clear(&cfg);
	free(errs);

	/* a file that is not there: the daemon's load does not care, the
	 * admin's fails naming the key */
	snprintf(text, sizeof text, "[mysql]\nadmin_password_file = %s/absent.pw\n", tmpdir);
	conf = write_file("absent.conf", text, 0644);
	CU_ASSERT_TRUE(load(&cfg, conf, &errs));
	CU_ASSERT_STRING_EQUAL(errs, "");
	lf_config_clear(&cfg);
	free(errs);
	CU_ASSERT_FALSE(load_admin(&cfg, conf, &errs));
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, ":2: mysql.admin_password_file: "));
	free(errs);

	/* not with admin_password, like password_file */
	snprintf(text, sizeof text,
		 "[mysql]\nadmin_password = " SECRET "\nadmin_password_file = %s\n", apw);
	CU_ASSERT_FALSE(load_admin(&cfg, write_file("both.conf", text, 0600), &errs));
	CU_ASSERT_PTR_NOT_NULL(strstr(
		errs, ":3: mysql.admin_password_file: set together with mysql.admin_password"));
	free(errs);
}

static void test_password_file_permissions(void)
{
	struct lf_config cfg;
	char *errs, text[512];
	const char *pw = write_file("group.pw", SECRET "\n", 0640);

	/* warn (the default): one warning line, the load succeeds */
	snprintf(text, sizeof text, "[mysql]\npassword_file = %s\n", pw);
	const char *conf = write_file("warn.conf", text, 0600);
	CU_ASSERT_FATAL(load(&cfg, conf, &errs));
	CU_ASSERT_EQUAL(count_lines(errs), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, ":2: mysql.password_file: warning: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, pw));
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, "its group"));
	CU_ASSERT_STRING_EQUAL(cfg.mysql_password, SECRET);
	lf_config_clear(&cfg);
	free(errs);

	/* refuse: a problem naming the key, and the load fails */
	snprintf(text, sizeof text,
		 "[server]\nsecret_permissions = refuse\n[mysql]\n"
		 "password_file = %s\n",
		 pw);
	conf = write_file("refuse.conf", text, 0600);
	CU_ASSERT_FALSE(load(&cfg, conf, &errs));
	CU_ASSERT_EQUAL(count_lines(errs), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, ":4: mysql.password_file: "));
	CU_ASSERT_PTR_NULL(strstr(errs, "warning"));
	CU_ASSERT_PTR_NULL(cfg.mysql_password); /* freed */
	free(errs);

	/* the policy from the environment, the file from the environment */
	pw = write_file("others.pw", SECRET "\n", 0604);
	setenv("LEDGERFLOW_SERVER_SECRET_PERMISSIONS", "refuse", 1);
	setenv("LEDGERFLOW_REDIS_PASSWORD_FILE", pw, 1);
	CU_ASSERT_FALSE(load(&cfg, NULL, &errs));
	CU_ASSERT_PTR_NOT_NULL(
		strstr(errs, "$LEDGERFLOW_REDIS_PASSWORD_FILE: redis.password_file: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, "others"));
	free(errs);
	clear_env();
}

static void test_password_file_problems(void)
{
	struct lf_config cfg;
	char *errs, text[512];
	const char *pw = write_file("ok.pw", SECRET "\n", 0600);

	/* both the password and its file */
	snprintf(text, sizeof text, "[mysql]\npassword = " SECRET "\npassword_file = %s\n", pw);
	CU_ASSERT_FALSE(load(&cfg, write_file("both.conf", text, 0600), &errs));
	CU_ASSERT_PTR_NOT_NULL(
		strstr(errs, ":3: mysql.password_file: set together with mysql.password"));
	free(errs);
	setenv("LEDGERFLOW_REDIS_PASSWORD", SECRET, 1);
	setenv("LEDGERFLOW_REDIS_PASSWORD_FILE", pw, 1);
	CU_ASSERT_FALSE(load(&cfg, NULL, &errs));
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, "redis.password_file: set together with "
					    "redis.password"));
	free(errs);
	clear_env();

	/* an empty password next to its file is no conflict */
	snprintf(text, sizeof text, "[mysql]\npassword =\npassword_file = %s\n", pw);
	CU_ASSERT_TRUE(load(&cfg, write_file("empty-pw.conf", text, 0600), &errs));
	CU_ASSERT_STRING_EQUAL(cfg.mysql_password, SECRET);
	lf_config_clear(&cfg);
	free(errs);

	/* missing, empty, too long, a control character */
	static char big[1100];
	memset(big, 'x', 1025);
	big[1025] = '\0';
	const struct {
		const char *path, *want;
	} bad[] = {
		{"/nonexistent/lf.pw", "No such file"},
		{write_file("empty.pw", "\nsecond\n", 0600), "is empty"},
		{write_file("long.pw", big, 0600), "longer than 1024 bytes"},
		{write_file("ctl.pw", SECRET "\tx\n", 0600), "control character"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(text, sizeof text, "[mysql]\npassword_file = %s\n", bad[i].path);
		CU_ASSERT_FALSE(load(&cfg, write_file("bad-pw.conf", text, 0600), &errs));
		if (!strstr(errs, bad[i].want) || !strstr(errs, "mysql.password_file: "))
			fprintf(stderr, "case %zu: %s", i, errs);
		CU_ASSERT_PTR_NOT_NULL(strstr(errs, bad[i].want));
		CU_ASSERT_PTR_NOT_NULL(strstr(errs, ":2: mysql.password_file: "));
		free(errs);
	}
	/* exactly the longest allowed */
	big[1024] = '\0';
	snprintf(text, sizeof text, "[mysql]\npassword_file = %s\n",
		 write_file("max.pw", big, 0600));
	CU_ASSERT_TRUE(load(&cfg, write_file("max.conf", text, 0600), &errs));
	CU_ASSERT_EQUAL(strlen(cfg.mysql_password), 1024);
	lf_config_clear(&cfg);
	free(errs);
}

static void test_config_file_holding_a_secret(void)
{
	struct lf_config cfg;
	char *errs;

	/* readable by others: a warning naming the file and the key */
	const char *conf = write_file("open.conf", "[redis]\npassword = " SECRET "\n", 0644);
	CU_ASSERT_FATAL(load(&cfg, conf, &errs));
	CU_ASSERT_EQUAL(count_lines(errs), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, ":2: redis.password: warning: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, conf));
	CU_ASSERT_STRING_EQUAL(cfg.redis_password, SECRET);
	lf_config_clear(&cfg);
	free(errs);

	/* refused */
	conf = write_file("open-refuse.conf",
			  "[server]\nsecret_permissions = refuse\n[mysql]\npassword = " SECRET "\n",
			  0604);
	CU_ASSERT_FALSE(load(&cfg, conf, &errs));
	CU_ASSERT_EQUAL(count_lines(errs), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, ":4: mysql.password: "));
	CU_ASSERT_PTR_NULL(strstr(errs, "warning"));
	free(errs);

	/* readable by the group only (root:ledgerflow 0640) is fine, so is an
	 * open file without a password, and a password from the environment */
	const char *fine[] = {
		write_file("group.conf", "[mysql]\npassword = " SECRET "\n", 0640),
		write_file("nopw.conf", "[mysql]\npassword =\n[redis]\nport = 6380\n", 0644),
	};
	setenv("LEDGERFLOW_SERVER_SECRET_PERMISSIONS", "refuse", 1);
	for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
		CU_ASSERT_TRUE(load(&cfg, fine[i], &errs));
		CU_ASSERT_STRING_EQUAL(errs, "");
		lf_config_clear(&cfg);
		free(errs);
	}
	setenv("LEDGERFLOW_MYSQL_PASSWORD", SECRET, 1);
	CU_ASSERT_TRUE(load(&cfg, fine[1], &errs));
	CU_ASSERT_STRING_EQUAL(errs, "");
	CU_ASSERT_STRING_EQUAL(cfg.mysql_password, SECRET);
	lf_config_clear(&cfg);
	free(errs);
	clear_env();
}

static void test_tls_key_files(void)
{
	struct lf_config cfg;
	char *errs, text[600];

	/* a client key readable by others: a warning naming the key, refused
	 * under secret_permissions = refuse; group-readable is fine */
	const char *open_key = write_file("open-key.pem", "not read here\n", 0644);
	const char *group_key = write_file("group-key.pem", "not read here\n", 0640);
	const char *cert = write_file("cert.pem", "not read here\n", 0644);
	snprintf(text, sizeof text,
		 "[mysql]\nssl_mode = required\nssl_cert = %s\nssl_key = %s\n"
		 "[redis]\ntls = on\ntls_cert = %s\ntls_key = %s\n",
		 cert, open_key, cert, open_key);
	const char *conf = write_file("keys.conf", text, 0640);
	CU_ASSERT_FATAL(load(&cfg, conf, &errs));
	CU_ASSERT_EQUAL(count_lines(errs), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, ":4: mysql.ssl_key: warning: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, ":8: redis.tls_key: warning: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, "readable by others (mode 0644)"));
	lf_config_clear(&cfg);
	free(errs);

	setenv("LEDGERFLOW_SERVER_SECRET_PERMISSIONS", "refuse", 1);
	CU_ASSERT_FALSE(load(&cfg, conf, &errs));
	CU_ASSERT_EQUAL(count_lines(errs), 2);
	CU_ASSERT_PTR_NULL(strstr(errs, "warning"));
	free(errs);
	setenv("LEDGERFLOW_REDIS_TLS_KEY", group_key, 1);
	setenv("LEDGERFLOW_MYSQL_SSL_KEY", group_key, 1);
	CU_ASSERT_TRUE(load(&cfg, conf, &errs));
	CU_ASSERT_STRING_EQUAL(errs, "");
	CU_ASSERT_STRING_EQUAL(cfg.redis_tls_key, group_key);
	lf_config_clear(&cfg);
	free(errs);
	clear_env();

	/* a certificate without its key (or the reverse) is a problem only
	 * when TLS is on */
	conf = write_file("half.conf", "[redis]\ntls = on\ntls_cert = /x/cert.pem\n", 0640);
	CU_ASSERT_FALSE(load(&cfg, conf, &errs));
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, "redis.tls_cert and redis.tls_key go together"));
	free(errs);
	conf = write_file("half-off.conf", "[redis]\ntls = off\ntls_cert = /x/cert.pem\n", 0640);
	CU_ASSERT_TRUE(load(&cfg, conf, &errs));
	CU_ASSERT_STRING_EQUAL(errs, "");
	lf_config_clear(&cfg);
	free(errs);
	conf = write_file("half-mysql.conf", "[mysql]\nssl_mode = required\nssl_key = /x/key.pem\n",
			  0640);
	CU_ASSERT_FALSE(load(&cfg, conf, &errs));
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, "mysql.ssl_cert and mysql.ssl_key go together"));
	free(errs);
}

static int suite_init(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/lf-test-secrets-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	clear_env();
	return 0;
}

static int suite_clean(void)
{
	for (unsigned i = 0; i < nmade; i++)
		unlink(made[i]);
	clear_env();
	return rmdir(tmpdir) == 0 ? 0 : -1;
}

int main(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{"defaults of the new keys", test_defaults},
		{"bad values", test_bad_values},
		{"password from a file", test_password_from_file},
		{"admin password from a file, for ledgerflowctl only", test_admin_password_file},
		{"password file permissions", test_password_file_permissions},
		{"password file problems", test_password_file_problems},
		{"a configuration file holding a secret", test_config_file_holding_a_secret},
		{"TLS private key files", test_tls_key_files},
	};
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	CU_pSuite suite = CU_add_suite("config_secrets", suite_init, suite_clean);
	bool ok = suite != NULL;
	for (size_t i = 0; ok && i < sizeof tests / sizeof tests[0]; i++)
		ok = CU_add_test(suite, tests[i].name, tests[i].fn) != NULL;
	if (!ok) {
		CU_cleanup_registry();
		return 1;
	}
	return lf_cunit_run();
}
