/*
 * test_migrate.c - migrations you can trust, against a real MariaDB: every
 * numbered migration is recorded with the SHA-256 of its file; an applied
 * file that changed, or that is gone, stops `migrate` naming it before
 * anything is applied; a new file is applied and recorded with its
 * checksum; a database whose migrations were recorded before checksums
 * existed upgrades, and is held to them from then on. Each test works on a
 * copy of sql/ in a temporary directory and leaves the database as the
 * fixture migrated it.
 */
#include "config.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "store_fixture.h"

#define PROBE "900_probe.sql"
#define PROBE_SQL "CREATE TABLE IF NOT EXISTS migrate_probe (id INT PRIMARY KEY);\n"

/* SHA-256 of a file in lower-case hex; "" when it cannot be read. */
static void sha256_file(const char *dir, const char *name, char hex[65])
{
	char path[1200];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	hex[0] = '\0';
	FILE *f = fopen(path, "rb");
	if (!f)
		return;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char buf[8192], sum[32];
	unsigned int n = 0;
	size_t r;
	bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
	while (ok && (r = fread(buf, 1, sizeof buf, f)) > 0)
		ok = EVP_DigestUpdate(ctx, buf, r) == 1;
	ok = ok && !ferror(f) && EVP_DigestFinal_ex(ctx, sum, &n) == 1 && n == 32;
	EVP_MD_CTX_free(ctx);
	fclose(f);
	for (int i = 0; ok && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", sum[i]);
}

static void write_text(const char *dir, const char *name, const char *text, const char *mode)
{
	char path[1200];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, mode);
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT(fputs(text, f) >= 0);
	CU_ASSERT(fclose(f) == 0);
}

/* A copy of every *.sql of sql/ in a fresh directory dir. */
static void copy_sql(char dir[64])
{
	snprintf(dir, 64, "/tmp/lf-test-migrate-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	DIR *d = opendir(sql_dir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	struct dirent *e;
	int copied = 0;
	while ((e = readdir(d)) != NULL && copied < 200) {
		size_t len = strlen(e->d_name);
		if (len < 5 || strcmp(e->d_name + len - 4, ".sql") != 0)
			continue;
		char src[1200], dst[1200];
		snprintf(src, sizeof src, "%s/%s", sql_dir, e->d_name);
		snprintf(dst, sizeof dst, "%s/%s", dir, e->d_name);
		FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
		CU_ASSERT_FATAL(in != NULL && out != NULL);
		char buf[8192];
		size_t r;
		while ((r = fread(buf, 1, sizeof buf, in)) > 0)
			CU_ASSERT_FATAL(fwrite(buf, 1, r, out) == r);
		fclose(in);
		CU_ASSERT_FATAL(fclose(out) == 0);
		copied++;
	}
	closedir(d);
	CU_ASSERT_TRUE(copied >= 4);
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	char path[1200];
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* lf_admin_migrate(dir) as the test user; its output into *text (freed by
 * the caller). */
static bool migrate_to(const char *dir, char **text)
{
	size_t len = 0;
	*text = NULL;
	FILE *f = open_memstream(text, &len);
	CU_ASSERT_FATAL(f != NULL);
	bool ok = lf_admin_migrate(&P, dir, f);
	fclose(f);
	if (getenv("LF_TEST_VERBOSE"))
		fprintf(stderr, "\n%s", *text);
	return ok;
}

static void recorded_checksum(long version, char out[65])
{
	out[0] = '\0';
	MYSQL *m = raw_connect(dbname);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	char q[128];
	snprintf(q, sizeof q, "SELECT checksum FROM schema_migrations WHERE version = %ld",
		 version);
	if (mysql_query(m, q) == 0) {
		MYSQL_RES *r = mysql_store_result(m);
		MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
		if (row && row[0])
			snprintf(out, 65, "%s", row[0]);
		if (r)
			mysql_free_result(r);
	}
	mysql_close(m);
}

/* Every recorded version has the checksum of its file in sql/; returns
 * how many were compared. */
static int checksums_match_files(void)
{
	MYSQL *m = raw_connect(dbname);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_FATAL(mysql_query(m, "SELECT name, checksum FROM schema_migrations") == 0);
	MYSQL_RES *r = mysql_store_result(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	MYSQL_ROW row;
	int n = 0;
	while ((row = mysql_fetch_row(r)) != NULL && n < 1000) {
		char hex[65];
		sha256_file(sql_dir, row[0], hex);
		CU_ASSERT_EQUAL(strlen(hex), 64);
		CU_ASSERT_PTR_NOT_NULL(row[1]);
		if (row[1])
			CU_ASSERT_STRING_EQUAL(row[1], hex);
		n++;
	}
	mysql_free_result(r);
	mysql_close(m);
	return n;
}

static void test_checksums_recorded(void)
{
	CU_ASSERT_TRUE(checksums_match_files() >= 3);
	/* a second run changes nothing and applies nothing */
	char *out;
	CU_ASSERT_TRUE(migrate_to(sql_dir, &out));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "migrate: 0 applied"));
	CU_ASSERT_PTR_NULL(strstr(out, "recorded "));
	free(out);
}

static void test_changed_migration_refused(void)
{
	char dir[64], was[65], now[65], *out;
	copy_sql(dir);
	recorded_checksum(3, was);
	write_text(dir, "003_clients.sql", "-- an innocent-looking comment\n", "a");
	write_text(dir, "001_schema.sql", "\n", "a");
	write_text(dir, PROBE, PROBE_SQL, "w");
	sha256_file(dir, "003_clients.sql", now);
	CU_ASSERT_FALSE(migrate_to(dir, &out));
	/* each changed file, named with both checksums; nothing applied */
	char want[300];
	snprintf(want, sizeof want,
		 "003_clients.sql was applied with sha256 %s, but the file now "
		 "has sha256 %s",
		 was, now);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "001_schema.sql was applied with sha256 "));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "an applied migration must not change"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "migrate: nothing applied"));
	CU_ASSERT_PTR_NULL(strstr(out, "applied " PROBE));
	free(out);
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM information_schema.TABLES WHERE"
				" TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'migrate_probe'"),
			0);
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM schema_migrations WHERE version = 900"), 0);
	recorded_checksum(3, now);
	CU_ASSERT_STRING_EQUAL(now, was); /* the record is not rewritten */
	remove_dir(dir);
}

static void test_missing_migration_refused(void)
{
	char dir[64], path[128], *out;
	copy_sql(dir);
	snprintf(path, sizeof path, "%s/003_clients.sql", dir);
	CU_ASSERT_EQUAL_FATAL(unlink(path), 0);
	CU_ASSERT_FALSE(migrate_to(dir, &out));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "003_clients.sql (version 3) is recorded as applied"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "older than the database"));
	free(out);
	remove_dir(dir);
}

static void test_new_migration_recorded(void)
{
	char dir[64], hex[65], rec[65], *out;
	copy_sql(dir);
	write_text(dir, PROBE, PROBE_SQL, "w");
	sha256_file(dir, PROBE, hex);
	CU_ASSERT_TRUE(migrate_to(dir, &out));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "applied " PROBE));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "migrate: 1 applied"));
	free(out);
	recorded_checksum(900, rec);
	CU_ASSERT_STRING_EQUAL(rec, hex);
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM migrate_probe"), 0);
	/* and it is held to it like the others */
	write_text(dir, PROBE, "-- changed\n", "a");
	CU_ASSERT_FALSE(migrate_to(dir, &out));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, PROBE " was applied with sha256"));
	free(out);
	/* back to the fixture's database */
	CU_ASSERT(raw_exec(dbname, "DROP TABLE migrate_probe"));
	CU_ASSERT(raw_exec(dbname, "DELETE FROM schema_migrations WHERE version = 900"));
	remove_dir(dir);
}

/* A database migrated before checksums existed: schema_migrations without
 * the column. It upgrades, recording today's files, and is then held to
 * them. */
static void test_upgrade_without_checksums(void)
{
	CU_ASSERT_FATAL(raw_exec(dbname, "ALTER TABLE schema_migrations DROP COLUMN checksum"));
	long long versions = raw_int("SELECT COUNT(*) FROM schema_migrations");
	char *out;
	CU_ASSERT_TRUE(migrate_to(sql_dir, &out));
	int backfilled = 0;
	for (const char *p = out; (p = strstr(p, "applied before checksums were kept")); p++)
		backfilled++;
	CU_ASSERT_EQUAL(backfilled, versions);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "recorded 001_schema.sql (sha256 "));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "migrate: 0 applied"));
	free(out);
	CU_ASSERT_EQUAL(checksums_match_files(), versions);

	/* one row still without (a run interrupted half-way): the next run
	 * fills it in, the others stay */
	CU_ASSERT(
		raw_exec(dbname, "UPDATE schema_migrations SET checksum = NULL WHERE version = 2"));
	CU_ASSERT_TRUE(migrate_to(sql_dir, &out));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "recorded 002_procedures.sql"));
	CU_ASSERT_PTR_NULL(strstr(out, "recorded 001_schema.sql"));
	free(out);
	CU_ASSERT_EQUAL(checksums_match_files(), versions);

	char dir[64];
	copy_sql(dir);
	write_text(dir, "002_procedures.sql", "DO 1;\n", "a");
	CU_ASSERT_FALSE(migrate_to(dir, &out));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "002_procedures.sql was applied with sha256"));
	free(out);
	remove_dir(dir);
}

int main(void)
{
	static const struct lf_test tests[] = {
		{"checksums recorded", test_checksums_recorded},
		{"a changed migration is refused", test_changed_migration_refused},
		{"a missing migration is refused", test_missing_migration_refused},
		{"a new migration is recorded", test_new_migration_recorded},
		{"upgrade from before checksums", test_upgrade_without_checksums},
	};
	static const struct lf_suite suites[] = {{"migrate", LF_TESTS(tests)}};
	static const struct fx_opts opts = {.name = "migrate", .migrate = true};
	return fx_main(suites, LF_COUNT(suites), &opts);
}
