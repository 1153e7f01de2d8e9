/*
 * test_clients.c - integration tests of the API clients: the built
 * ledgerflowctl (client create | list | revoke | rotate) against a private
 * database, and the workers' side of it, lf_store_find_key and
 * lf_store_auth_epoch, reading what ctl wrote. The key is printed once,
 * alone on the last line; only its digest under the pepper (a file in a
 * temporary directory, named in the test's configuration) is stored, and
 * its text is nowhere in the database. Environment as test_store.c, plus
 * LF_BUILDDIR (set by make check) for the ledgerflowctl binary.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lf_auth.h"
#include "lf_config.h"
#include "store_fixture.h"

#define GRACE_S 7200 /* [auth] rotate_grace of the test configuration */
#define OUT_CAP 16384

static char tmp[64], conf[128], pepper_path[160];
static char out[OUT_CAP], err[OUT_CAP];
static char shop_key1[LF_AUTH_KEY_LEN + 1], shop_key2[LF_AUTH_KEY_LEN + 1];

/* ---- helpers ---- */

static void setup(void)
{
	if (tmp[0])
		return;
	/* the configuration alone decides: no LEDGERFLOW_* from the caller */
	char key[128], env[160];
	for (size_t i = 0; lf_config_key_name(i, key, sizeof key); i++) {
		size_t o = (size_t)snprintf(env, sizeof env, "LEDGERFLOW_%s", key);
		for (size_t j = 0; j < o && j < sizeof env; j++)
			env[j] = env[j] == '.' ? '_' : (char)toupper((unsigned char)env[j]);
		unsetenv(env);
	}
	snprintf(tmp, sizeof tmp, "/tmp/lf-test-clients-XXXXXX");
	CU_ASSERT_FATAL(mkdtemp(tmp) != NULL);
	/* in a directory that does not exist yet: ctl makes it */
	snprintf(pepper_path, sizeof pepper_path, "%s/state/pepper", tmp);
	snprintf(conf, sizeof conf, "%s/ledgerflow.conf", tmp);
	int fd = open(conf, O_WRONLY | O_CREAT | O_EXCL, 0600); /* it holds a password */
	CU_ASSERT_FATAL(fd >= 0);
	FILE *f = fdopen(fd, "w");
	CU_ASSERT_FATAL(f != NULL);
	fprintf(f,
		"[mysql]\nhost = %s\nport = %u\nuser = %s\npassword = %s\ndatabase = %s\n"
		"[auth]\npepper_file = %s\nrotate_grace = %ds\n",
		P.host, P.port, P.user, P.password, dbname, pepper_path, GRACE_S);
	CU_ASSERT_FATAL(fclose(f) == 0);
}

static void slurp(const char *path, char *buf, size_t cap)
{
	buf[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	size_t n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* Run ledgerflowctl -c conf ARGS; stdout and stderr land in out and err.
 * Returns its exit status (-1 when it did not exit). */
static int ctl(const char *args)
{
	const char *bdir = getenv("LF_BUILDDIR");
	char cmd[1024], o[128], e[128];
	snprintf(o, sizeof o, "%s/out", tmp);
	snprintf(e, sizeof e, "%s/err", tmp);
	snprintf(cmd, sizeof cmd, "'%s/ledgerflowctl' -c '%s' %s >'%s' 2>'%s'",
		 bdir && *bdir ? bdir : ".", conf, args, o, e);
	int st = system(cmd);
	slurp(o, out, sizeof out);
	slurp(e, err, sizeof err);
	if (getenv("LF_TEST_VERBOSE"))
		fprintf(stderr, "$ ledgerflowctl %s\n%s%s", args, out, err);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The last line of out, without its newline. */
static const char *last_line(char *line, size_t cap)
{
	size_t n = strlen(out);
	line[0] = '\0';
	if (n == 0 || out[n - 1] != '\n')
		return line;
	size_t start = n - 1;
	while (start > 0 && out[start - 1] != '\n')
		start--;
	snprintf(line, cap, "%.*s", (int)(n - 1 - start), out + start);
	return line;
}

static unsigned occurrences(const char *hay, const char *needle)
{
	unsigned n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* A well-formed key alone on the last line of out, once. */
static bool take_key(char key[LF_AUTH_KEY_LEN + 1], char prefix[LF_AUTH_PREFIX_LEN + 1])
{
	char line[256], header[300];
	const char *k = NULL;
	last_line(line, sizeof line);
	snprintf(header, sizeof header, "Bearer %s", line);
	if (strlen(line) != LF_AUTH_KEY_LEN ||
	    lf_auth_key_from_header(header, &k, prefix) != LF_OK) {
		fprintf(stderr, "not a key on the last line: \"%s\"\n", line);
		return false;
	}
	memcpy(key, line, LF_AUTH_KEY_LEN + 1);
	return occurrences(out, key) == 1 && strstr(err, key) == NULL &&
	       strstr(err, key + LF_AUTH_PREFIX_LEN + 1) == NULL;
}

static void read_pepper(uint8_t pepper[LF_AUTH_PEPPER_LEN])
{
	int fd = open(pepper_path, O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(read(fd, pepper, LF_AUTH_PEPPER_LEN), LF_AUTH_PEPPER_LEN);
	close(fd);
}

/* Does any column of any table of the test database hold needle? */
static bool db_holds(const char *needle)
{
	MYSQL *m = raw_connect(dbname);
	CU_ASSERT_FATAL(m != NULL);
	char tables[64][65];
	size_t nt = 0, len = strlen(needle);
	bool found = false;
	if (mysql_query(m, "SELECT table_name FROM information_schema.tables"
			   " WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'") == 0) {
		MYSQL_RES *r = mysql_store_result(m);
		MYSQL_ROW row;
		while (r && (row = mysql_fetch_row(r)) != NULL && nt < 64)
			snprintf(tables[nt++], sizeof tables[0], "%s", row[0]);
		if (r)
			mysql_free_result(r);
	}
	CU_ASSERT(nt >= 7);
	for (size_t t = 0; t < nt && !found; t++) {
		char q[4300];
		snprintf(q, sizeof q, "SELECT * FROM `%s`", tables[t]);
		CU_ASSERT_FATAL(mysql_query(m, q) == 0);
		MYSQL_RES *r = mysql_store_result(m);
		unsigned nf = r ? mysql_num_fields(r) : 0;
		MYSQL_ROW row;
		while (r && (row = mysql_fetch_row(r)) != NULL && !found) {
			unsigned long *lens = mysql_fetch_lengths(r);
			for (unsigned i = 0; i < nf && !found; i++)
				found = row[i] && memmem(row[i], lens[i], needle, len) != NULL;
		}
		if (r)
			mysql_free_result(r);
	}
	mysql_close(m);
	return found;
}

static long long epoch_now(void)
{
	return raw_int("SELECT epoch FROM auth_epoch WHERE id = 1");
}

static long long key_int(const char *expr, const char *prefix)
{
	char q[256];
	snprintf(q, sizeof q, "SELECT %s FROM api_keys WHERE prefix = '%s'", expr, prefix);
	return raw_int(q);
}

/* ---- tests ---- */

static void test_create(void)
{
	setup();
	CU_ASSERT_EQUAL_FATAL(
		ctl("client create shop --scopes accounts:read,payments:write --rate 50"), 0);
	char prefix[LF_AUTH_PREFIX_LEN + 1];
	CU_ASSERT_FATAL(take_key(shop_key1, prefix));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "name:    shop\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "scopes:  accounts:read,payments:write\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "rate:    50 per second\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, prefix));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "created the pepper")); /* the first use */

	/* the pepper: 32 bytes, 0600, in a 0750 directory made for it */
	struct stat st;
	CU_ASSERT_FATAL(stat(pepper_path, &st) == 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL(st.st_size, LF_AUTH_PEPPER_LEN);
	char dir[200];
	snprintf(dir, sizeof dir, "%s/state", tmp);
	CU_ASSERT_FATAL(stat(dir, &st) == 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0750);

	/* the stored digest is HMAC(pepper, key); the key is nowhere */
	uint8_t pepper[LF_AUTH_PEPPER_LEN], digest[LF_AUTH_DIGEST_LEN];
	read_pepper(pepper);
	lf_auth_key_digest(pepper, shop_key1, digest);
	char hex[2 * LF_AUTH_DIGEST_LEN + 1], q[256];
	for (size_t i = 0; i < sizeof digest; i++)
		snprintf(hex + 2 * i, 3, "%02X", digest[i]);
	snprintf(q, sizeof q, "SELECT COUNT(*) FROM api_keys WHERE prefix = '%s' AND digest = 0x%s",
		 prefix, hex);
	CU_ASSERT_EQUAL(raw_int(q), 1);
	CU_ASSERT_FALSE(db_holds(shop_key1));
	CU_ASSERT_FALSE(db_holds(shop_key1 + LF_AUTH_PREFIX_LEN + 1)); /* the secret part */
	CU_ASSERT_TRUE(db_holds(prefix));                              /* the scan works */
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM api_clients WHERE name = 'shop' AND rate = 50"
				" AND scopes = 'accounts:read,payments:write'"
				" AND revoked_at IS NULL"),
			1);
	CU_ASSERT_EQUAL(key_int("expires_at IS NULL AND revoked_at IS NULL", prefix), 1);

	/* what a worker reads */
	struct lf_key_row row;
	CU_ASSERT_EQUAL_FATAL(lf_store_find_key(conn(), prefix, &row), LF_OK);
	CU_ASSERT_TRUE(lf_auth_digest_equal(row.digest, digest));
	CU_ASSERT_EQUAL(row.client_id,
			(uint64_t)raw_int("SELECT id FROM api_clients WHERE name = 'shop'"));
	CU_ASSERT_EQUAL(row.scopes, LF_SCOPE_ACCOUNTS_READ | LF_SCOPE_PAYMENTS_WRITE);
	CU_ASSERT_EQUAL(row.rate, 50);
	CU_ASSERT_EQUAL(row.expires_ms, 0);
	CU_ASSERT_FALSE(row.revoked);
	CU_ASSERT_EQUAL(lf_store_find_key(conn(), "lfk_000000000000", &row), LF_DECLINED);

	/* without --rate: the configured default (NULL, read as 0) */
	CU_ASSERT_EQUAL_FATAL(ctl("client create plain --scopes admin"), 0);
	char plain_key[LF_AUTH_KEY_LEN + 1], plain_prefix[LF_AUTH_PREFIX_LEN + 1];
	CU_ASSERT_FATAL(take_key(plain_key, plain_prefix));
	CU_ASSERT_STRING_NOT_EQUAL(plain_key, shop_key1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "rate:    default"));
	CU_ASSERT_PTR_NULL(strstr(err, "created the pepper")); /* the same pepper */
	CU_ASSERT_EQUAL(lf_store_find_key(conn(), plain_prefix, &row), LF_OK);
	CU_ASSERT_EQUAL(row.rate, 0);
	CU_ASSERT_EQUAL(row.scopes, LF_SCOPE_ADMIN);
	lf_auth_key_digest(pepper, plain_key, digest);
	CU_ASSERT_TRUE(lf_auth_digest_equal(row.digest, digest));
	CU_ASSERT_FALSE(db_holds(plain_key));
}

static void test_create_refused(void)
{
	setup();
	long long clients = raw_int("SELECT COUNT(*) FROM api_clients");
	long long keys = raw_int("SELECT COUNT(*) FROM api_keys");
	CU_ASSERT_EQUAL(ctl("client create shop --scopes admin"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "client shop exists"));
	CU_ASSERT_PTR_NULL(strstr(out, "lfk_"));
	CU_ASSERT_EQUAL(ctl("client create other --scopes accounts:read,bogus"), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown scope 'bogus'"));
	CU_ASSERT_EQUAL(ctl("client create other --scopes admin --rate 0"), 2);
	CU_ASSERT_EQUAL(ctl("client create 'two words' --scopes admin"), 2);
	CU_ASSERT_EQUAL(ctl("client revoke ghost"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "no client ghost"));
	CU_ASSERT_EQUAL(ctl("client rotate ghost"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "no client ghost"));
	/* nothing was written, not even half */
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM api_clients"), clients);
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM api_keys"), keys);
}

static void test_list(void)
{
	setup();
	CU_ASSERT_EQUAL_FATAL(ctl("client list"), 0);
	char prefix[LF_AUTH_PREFIX_LEN + 1];
	memcpy(prefix, shop_key1, LF_AUTH_PREFIX_LEN);
	prefix[LF_AUTH_PREFIX_LEN] = '\0';
	CU_ASSERT_EQUAL(strncmp(out, "ID\tNAME\tSCOPES\tRATE\tCREATED\tSTATUS\tKEYS\n", 40), 0);
	const char *shop = strstr(out, "\tshop\taccounts:read,payments:write\t50\t");
	CU_ASSERT_PTR_NOT_NULL_FATAL(shop);
	const char *eol = strchr(shop, '\n');
	CU_ASSERT_PTR_NOT_NULL_FATAL(eol);
	char line[512];
	snprintf(line, sizeof line, "%.*s", (int)(eol - shop), shop);
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "\tactive\t"));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, prefix));
	CU_ASSERT_PTR_NULL(strstr(line, "expires"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\tplain\tadmin\tdefault\t"));
	CU_ASSERT_EQUAL(occurrences(out, "\n"), 3);
	CU_ASSERT_PTR_NULL(strstr(out, shop_key1 + LF_AUTH_PREFIX_LEN)); /* no secret */
	CU_ASSERT_STRING_EQUAL(err, "");
}

static void test_pepper_permissions(void)
{
	setup();
	/* a pepper its group may read: a warning, or with refuse nothing done */
	CU_ASSERT_FATAL(chmod(pepper_path, 0640) == 0);
	long long keys = raw_int("SELECT COUNT(*) FROM api_keys");
	setenv("LEDGERFLOW_SERVER_SECRET_PERMISSIONS", "refuse", 1);
	CU_ASSERT_EQUAL(ctl("client create refused --scopes admin"), 1);
	unsetenv("LEDGERFLOW_SERVER_SECRET_PERMISSIONS");
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "pepper_file"));
	CU_ASSERT_PTR_NULL(strstr(out, "lfk_"));
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM api_keys"), keys);
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM api_clients WHERE name = 'refused'"), 0);

	CU_ASSERT_EQUAL(ctl("client create warned --scopes payments:read"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "warning"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, pepper_path));
	char key[LF_AUTH_KEY_LEN + 1], prefix[LF_AUTH_PREFIX_LEN + 1];
	CU_ASSERT(take_key(key, prefix));
	CU_ASSERT_FATAL(chmod(pepper_path, 0600) == 0);
}

static void test_rotate(void)
{
	setup();
	char p1[LF_AUTH_PREFIX_LEN + 1], p2[LF_AUTH_PREFIX_LEN + 1];
	memcpy(p1, shop_key1, LF_AUTH_PREFIX_LEN);
	p1[LF_AUTH_PREFIX_LEN] = '\0';
	long long epoch = epoch_now();
	CU_ASSERT_FATAL(epoch >= 0);
	int64_t before = now_ms();
	CU_ASSERT_EQUAL_FATAL(ctl("client rotate shop"), 0);
	int64_t after = now_ms();
	CU_ASSERT_FATAL(take_key(shop_key2, p2));
	CU_ASSERT_STRING_NOT_EQUAL(shop_key2, shop_key1);
	CU_ASSERT_STRING_NOT_EQUAL(p2, p1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "1 key now expires at"));
	CU_ASSERT_EQUAL(epoch_now(), epoch + 1);

	/* the old key ends at now + rotate_grace; the new one does not end */
	long long left = key_int("TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(3), expires_at)", p1);
	CU_ASSERT(left > GRACE_S - 60 && left <= GRACE_S);
	CU_ASSERT_EQUAL(key_int("expires_at IS NULL", p2), 1);
	struct lf_key_row row;
	CU_ASSERT_EQUAL_FATAL(lf_store_find_key(conn(), p1, &row), LF_OK);
	CU_ASSERT(row.expires_ms >= before + GRACE_S * 1000LL - 1000 &&
		  row.expires_ms <= after + GRACE_S * 1000LL + 1000);
	CU_ASSERT_FALSE(row.revoked);
	int64_t first_end = row.expires_ms;
	uint8_t pepper[LF_AUTH_PEPPER_LEN], digest[LF_AUTH_DIGEST_LEN];
	read_pepper(pepper);
	CU_ASSERT_EQUAL_FATAL(lf_store_find_key(conn(), p2, &row), LF_OK);
	lf_auth_key_digest(pepper, shop_key2, digest);
	CU_ASSERT_TRUE(lf_auth_digest_equal(row.digest, digest));
	CU_ASSERT_EQUAL(row.expires_ms, 0);
	CU_ASSERT_EQUAL(row.rate, 50);
	CU_ASSERT_FALSE(db_holds(shop_key2));

	/* list: both keys, the old one with its end */
	CU_ASSERT_EQUAL(ctl("client list"), 0);
	char want[128];
	snprintf(want, sizeof want, "%s (expires ", p1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, p2));

	/* another rotation: the first key keeps its earlier end */
	CU_ASSERT_EQUAL_FATAL(ctl("client rotate shop"), 0);
	char key3[LF_AUTH_KEY_LEN + 1], p3[LF_AUTH_PREFIX_LEN + 1];
	CU_ASSERT_FATAL(take_key(key3, p3));
	CU_ASSERT_EQUAL(epoch_now(), epoch + 2);
	CU_ASSERT_EQUAL(lf_store_find_key(conn(), p1, &row), LF_OK);
	CU_ASSERT_EQUAL(row.expires_ms, first_end);
	CU_ASSERT_EQUAL(lf_store_find_key(conn(), p2, &row), LF_OK);
	CU_ASSERT(row.expires_ms >= first_end);

	/* rotate_grace = 0s: the old keys stop at once and leave the list */
	setenv("LEDGERFLOW_AUTH_ROTATE_GRACE", "0s", 1);
	CU_ASSERT_EQUAL(ctl("client rotate plain"), 0);
	unsetenv("LEDGERFLOW_AUTH_ROTATE_GRACE");
	char key4[LF_AUTH_KEY_LEN + 1], p4[LF_AUTH_PREFIX_LEN + 1];
	CU_ASSERT_FATAL(take_key(key4, p4));
	usleep(5000);
	CU_ASSERT_EQUAL(ctl("client list"), 0);
	const char *plain = strstr(out, "\tplain\t");
	CU_ASSERT_PTR_NOT_NULL_FATAL(plain);
	const char *eol = strchr(plain, '\n');
	CU_ASSERT_PTR_NOT_NULL_FATAL(eol);
	CU_ASSERT_EQUAL(occurrences(plain, "lfk_") - occurrences(eol, "lfk_"), 1);
}

static void test_revoke(void)
{
	setup();
	long long epoch = epoch_now();
	long long id = raw_int("SELECT id FROM api_clients WHERE name = 'shop'");
	char q[256];
	snprintf(q, sizeof q, "SELECT COUNT(*) FROM api_keys WHERE client_id = %lld", id);
	long long keys = raw_int(q);
	CU_ASSERT_EQUAL(keys, 3);
	CU_ASSERT_EQUAL_FATAL(ctl("client revoke shop"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "revoked with its 3 keys"));
	CU_ASSERT_EQUAL(epoch_now(), epoch + 1);
	snprintf(q, sizeof q,
		 "SELECT COUNT(*) FROM api_keys WHERE client_id = %lld AND revoked_at IS NOT NULL",
		 id);
	CU_ASSERT_EQUAL(raw_int(q), 3);
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM api_clients WHERE name = 'shop'"
				" AND revoked_at IS NOT NULL"),
			1);
	/* other clients are untouched */
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM api_keys k JOIN api_clients c"
				" ON c.id = k.client_id WHERE c.name = 'plain'"
				" AND k.revoked_at IS NOT NULL"),
			0);

	struct lf_key_row row;
	char p[LF_AUTH_PREFIX_LEN + 1];
	const char *const both[] = {shop_key1, shop_key2};
	for (size_t i = 0; i < 2; i++) {
		memcpy(p, both[i], LF_AUTH_PREFIX_LEN);
		p[LF_AUTH_PREFIX_LEN] = '\0';
		CU_ASSERT_EQUAL(lf_store_find_key(conn(), p, &row), LF_OK);
		CU_ASSERT_TRUE(row.revoked);
	}
	uint64_t e = 0;
	CU_ASSERT_EQUAL(lf_store_auth_epoch(conn(), &e), LF_OK);
	CU_ASSERT_EQUAL((long long)e, epoch + 1);

	/* a revoked client: listed as such, without keys; not rotated */
	CU_ASSERT_EQUAL(ctl("client list"), 0);
	const char *shop = strstr(out, "\tshop\t");
	CU_ASSERT_PTR_NOT_NULL_FATAL(shop);
	CU_ASSERT_PTR_NOT_NULL(strstr(shop, "\trevoked 20"));
	CU_ASSERT_EQUAL(strncmp(strchr(shop, '\n') - 2, "\t-", 2), 0);
	CU_ASSERT_EQUAL(ctl("client rotate shop"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "client shop is revoked"));
	CU_ASSERT_EQUAL(ctl("client revoke shop"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "already revoked"));
	CU_ASSERT_EQUAL(epoch_now(), epoch + 1);
}

static void test_epoch_row(void)
{
	uint64_t e = 0;
	CU_ASSERT_EQUAL(lf_store_auth_epoch(conn(), &e), LF_OK);
	CU_ASSERT_EQUAL((long long)e, epoch_now());
	/* the migration is repeatable and keeps the counter */
	CU_ASSERT_TRUE(lf_admin_migrate(&P, sql_dir, quiet));
	char q[128];
	snprintf(q, sizeof q, "DELETE FROM %s.schema_migrations WHERE version = 3", dbname);
	CU_ASSERT_TRUE(raw_exec(dbname, q));
	CU_ASSERT_TRUE(lf_admin_migrate(&P, sql_dir, quiet));
	CU_ASSERT_EQUAL(epoch_now(), (long long)e);
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM auth_epoch"), 1);
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM information_schema.columns"
				" WHERE table_schema = DATABASE() AND table_name = 'accounts'"
				" AND column_name = 'owner_client_id'"),
			1);
}

static void cleanup(void)
{
	char path[256];
	const char *const files[] = {"out", "err", "ledgerflow.conf", "state/pepper"};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", tmp, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof path, "%s/state", tmp);
	rmdir(path);
	CU_ASSERT_EQUAL(rmdir(tmp), 0);
}

static const struct lf_test client_tests[] = {
	{"create", test_create},
	{"create refused", test_create_refused},
	{"list", test_list},
	{"pepper permissions", test_pepper_permissions},
	{"rotate", test_rotate},
	{"revoke", test_revoke},
	{"epoch and the migration", test_epoch_row},
	{"clean up", cleanup},
};

static const struct lf_suite suites[] = {{"clients", LF_TESTS(client_tests)}};

int main(void)
{
	static const struct fx_opts opts = {.name = "clients", .migrate = true};
	return fx_main(suites, LF_COUNT(suites), &opts);
}
