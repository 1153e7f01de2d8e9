/*
 * ctl/migrate.c - `ledgerflowctl migrate`: the administrative connection
 * and the migration runner. Files sql/NNN_name.sql are applied in version
 * order, each sent as one multi-statement query (no DELIMITER lines; all
 * results drained), and recorded in schema_migrations with the SHA-256 of
 * the file; a version already recorded is skipped, so re-running applies
 * only what is missing. Before anything is applied, every recorded version
 * is checked against its file: a file whose checksum changed, or that is
 * gone, stops the run naming it (an applied migration is history; a change
 * is a new file). A version recorded before checksums existed gets the
 * file's checksum at the first run. Then the repeatable files (any other
 * name.sql, e.g. procedures.sql: CREATE OR REPLACE of the stored
 * procedures) are applied, in name order, whenever their SHA-256 differs
 * from the one recorded in schema_routines. A named lock (GET_LOCK) keeps
 * two concurrent runs from interleaving.
 */
#include "config.h"

#include "lf_admin.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>
#include <openssl/evp.h>

#define MIGRATE_LOCK "ledgerflow.migrate"
#define MIGRATE_LOCK_WAIT_S 60
#define MAX_MIGRATIONS 1000
#define MAX_FILE_BYTES (16u * 1024u * 1024u)

/* One node of [mysql] host (lf_store_node_addr); NULL, said on out, when
 * it does not answer. */
static MYSQL *connect_one(const struct lf_db_params *p, const char *host, unsigned port, FILE *out)
{
	MYSQL *m = mysql_init(NULL);
	if (!m) {
		fprintf(out, "mysql: out of memory\n");
		return NULL;
	}
	unsigned ct = p->connect_timeout_s ? p->connect_timeout_s : 10;
	unsigned rw = p->rw_timeout_s ? p->rw_timeout_s : 600;
	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
	mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rw);
	mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &rw);
	mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	lf_store_tls_options(m, p);
	if (!mysql_real_connect(m, p->unix_socket ? NULL : host, p->user, p->password, p->database,
				port, p->unix_socket,
				CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS)) {
		fprintf(out, "mysql: cannot connect to %s:%u as %s: %s\n",
			p->unix_socket ? p->unix_socket : host, port, p->user ? p->user : "?",
			mysql_error(m));
		mysql_close(m);
		return NULL;
	}
	char why[300];
	if (!lf_store_tls_check(m, p, why, sizeof why)) {
		fprintf(out, "mysql: %s\n", why);
		mysql_close(m);
		return NULL;
	}
	if (mysql_query(m, "SET SESSION time_zone = '+00:00', "
			   "sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,"
			   "NO_ENGINE_SUBSTITUTION', autocommit = 1")) {
		fprintf(out, "mysql: session setup failed: %s\n", mysql_error(m));
		mysql_close(m);
		return NULL;
	}
	return m;
}

/* The first node of [mysql] host that answers (the order every host
 * writes in). */
MYSQL *lf_admin_connect(const struct lf_db_params *p, FILE *out)
{
	int nodes = lf_store_node_count(p);
	for (int i = 0; i < nodes; i++) {
		char host[256];
		unsigned port = p->port;
		if (!lf_store_node_addr(p, i, host, sizeof host, &port)) {
			fprintf(out, "mysql: host entry %d is not host[:port]\n", i + 1);
			continue;
		}
		MYSQL *m = connect_one(p, host, port, out);
		if (m != NULL)
			return m;
	}
	return NULL;
}

struct migration {
	long version;
	char name[256];
};

/* Numbered files by version, then the repeatable ones (version -1) by name. */
static int cmp_migration(const void *a, const void *b)
{
	const struct migration *x = a, *y = b;
	if ((x->version < 0) != (y->version < 0))
		return x->version < 0 ? 1 : -1;
	if (x->version < 0)
		return strcmp(x->name, y->name);
	return (x->version > y->version) - (x->version < y->version);
}

/* NNN_name.sql: at least one digit, '_', something, ".sql". */
static bool parse_name(const char *name, long *version)
{
	size_t len = strlen(name);
	size_t i = 0;
	while (isdigit((unsigned char)name[i]))
		i++;
	if (i == 0 || i > 9 || name[i] != '_' || len < i + 1 + 1 + 4 || len > 255)
		return false;
	if (strcmp(name + len - 4, ".sql") != 0)
		return false;
	*version = strtol(name, NULL, 10);
	return true;
}

static char *read_file(const char *path, size_t *len, FILE *out)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(out, "migrate: cannot open %s: %s\n", path, strerror(errno));
		return NULL;
	}
	size_t cap = 8192, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (n == cap) {
			if (cap >= MAX_FILE_BYTES) {
				fprintf(out, "migrate: %s is too large\n", path);
				free(buf);
				buf = NULL;
				break;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0) {
			if (ferror(f)) {
				fprintf(out, "migrate: cannot read %s\n", path);
				free(buf);
				buf = NULL;
			}
			break;
		}
	}
	fclose(f);
	if (buf)
		*len = n;
	return buf;
}

/* Send a whole file as one multi-statement query and drain every result. */
static bool run_script(MYSQL *m, const char *sql, size_t len, const char *name, FILE *out)
{
	if (mysql_real_query(m, sql, len)) {
		fprintf(out, "migrate: %s failed: %u %s\n", name, mysql_errno(m), mysql_error(m));
		return false;
	}
	int status;
	unsigned n = 1;
	do {
		MYSQL_RES *res = mysql_store_result(m);
		if (res)
			mysql_free_result(res);
		else if (mysql_field_count(m) != 0) {
			fprintf(out, "migrate: %s: reading results: %s\n", name, mysql_error(m));
			return false;
		}
		status = mysql_next_result(m);
		if (status == 0)
			n++;
	} while (status == 0);
	if (status > 0) {
		fprintf(out, "migrate: %s failed at statement %u: %u %s\n", name, n + 1,
			mysql_errno(m), mysql_error(m));
		return false;
	}
	return true;
}

static bool query_ok(MYSQL *m, const char *q, FILE *out)
{
	if (mysql_query(m, q)) {
		fprintf(out, "migrate: %s\n", mysql_error(m));
		return false;
	}
	MYSQL_RES *r = mysql_store_result(m);
	if (r)
		mysql_free_result(r);
	return true;
}

/* A repeatable file: a plain name (no version) ending in .sql. */
static bool is_repeatable(const char *name)
{
	size_t len = strlen(name);
	long v;
	return len > 4 && len < 200 && name[0] != '.' && strcmp(name + len - 4, ".sql") == 0 &&
	       !parse_name(name, &v) && !isdigit((unsigned char)name[0]);
}

static int scan_dir(const char *sql_dir, struct migration *list, FILE *out)
{
	DIR *d = opendir(sql_dir);
	if (!d) {
		fprintf(out, "migrate: cannot open %s: %s\n", sql_dir, strerror(errno));
		return -1;
	}
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		long v;
		if (is_repeatable(de->d_name))
			v = -1; /* after every numbered file: see apply_repeatables */
		else if (!parse_name(de->d_name, &v))
			continue;
		if (n == MAX_MIGRATIONS) {
			fprintf(out, "migrate: too many files in %s\n", sql_dir);
			closedir(d);
			return -1;
		}
		list[n].version = v;
		snprintf(list[n].name, sizeof list[n].name, "%s", de->d_name);
		n++;
	}
	closedir(d);
	qsort(list, (size_t)n, sizeof *list, cmp_migration);
	for (int i = 1; i < n; i++) {
		if (list[i].version >= 0 && list[i].version == list[i - 1].version) {
			fprintf(out, "migrate: %s and %s have the same version\n", list[i - 1].name,
				list[i].name);
			return -1;
		}
	}
	return n;
}

static bool is_applied(MYSQL *m, long version, bool *applied, FILE *out)
{
	char q[128];
	snprintf(q, sizeof q, "SELECT 1 FROM schema_migrations WHERE version = %ld", version);
	if (mysql_query(m, q)) {
		fprintf(out, "migrate: %s\n", mysql_error(m));
		return false;
	}
	MYSQL_RES *r = mysql_store_result(m);
	if (!r) {
		fprintf(out, "migrate: %s\n", mysql_error(m));
		return false;
	}
	*applied = mysql_num_rows(r) > 0;
	mysql_free_result(r);
	return true;
}

/* sql_dir/name's bytes (the caller frees them) and their SHA-256 as 64
 * lower-case hex digits. NULL, with the reason on out, on failure. */
static char *read_hashed(const char *sql_dir, const char *name, size_t *len, char hex[65],
			 FILE *out)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", sql_dir, name);
	char *sql = read_file(path, len, out);
	if (!sql)
		return NULL;
	unsigned char sum[32];
	unsigned int sumlen = 0;
	if (EVP_Digest(sql, *len, sum, &sumlen, EVP_sha256(), NULL) != 1 || sumlen != sizeof sum) {
		fprintf(out, "migrate: cannot hash %s\n", name);
		free(sql);
		return NULL;
	}
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", sum[i]);
	return sql;
}

static bool record(MYSQL *m, const struct migration *mg, const char *hex, FILE *out)
{
	char esc[2 * sizeof mg->name + 1];
	char q[sizeof esc + 256];
	mysql_real_escape_string(m, esc, mg->name, (unsigned long)strlen(mg->name));
	snprintf(q, sizeof q,
		 "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
		 "VALUES (%ld, '%s', '%s', UTC_TIMESTAMP(3))",
		 mg->version, esc, hex);
	return query_ok(m, q, out);
}

static const struct migration *find_version(const struct migration *list, int n, long version)
{
	for (int i = 0; i < n; i++)
		if (list[i].version == version)
			return &list[i];
	return NULL;
}

/* One recorded version against its file: the same checksum, or (recorded
 * before checksums were kept) the file's checksum recorded now. False,
 * naming the file, when it changed or is gone. */
static bool verify_one(MYSQL *m, const char *sql_dir, const struct migration *list, int n,
		       MYSQL_ROW row, FILE *out)
{
	long version = strtol(row[0], NULL, 10);
	const struct migration *mg = find_version(list, n, version);
	if (!mg) {
		fprintf(out,
			"migrate: %s (version %ld) is recorded as applied, but %s has no "
			"version %ld: these migrations are older than the database\n",
			row[1], version, sql_dir, version);
		return false;
	}
	char hex[65];
	size_t len = 0;
	char *sql = read_hashed(sql_dir, mg->name, &len, hex, out);
	if (!sql)
		return false;
	free(sql);
	if (row[2] == NULL) {
		char q[256];
		snprintf(q, sizeof q,
			 "UPDATE schema_migrations SET checksum = '%s' WHERE version = %ld AND "
			 "checksum IS NULL",
			 hex, version);
		if (!query_ok(m, q, out))
			return false;
		fprintf(out, "recorded %s (sha256 %.12s), applied before checksums were kept\n",
			mg->name, hex);
		return true;
	}
	if (strcmp(row[2], hex) == 0)
		return true;
	fprintf(out,
		"migrate: %s was applied with sha256 %s, but the file now has sha256 %s: an "
		"applied migration must not change (restore it; make the change a new "
		"migration)\n",
		mg->name, row[2], hex);
	return false;
}

/* Every recorded version against its file, before anything is applied;
 * every difference is reported, not only the first. */
static bool verify_applied(MYSQL *m, const char *sql_dir, const struct migration *list, int n,
			   FILE *out)
{
	if (mysql_query(m, "SELECT version, name, checksum FROM schema_migrations ORDER BY "
			   "version")) {
		fprintf(out, "migrate: %s\n", mysql_error(m));
		return false;
	}
	MYSQL_RES *r = mysql_store_result(m);
	if (!r) {
		fprintf(out, "migrate: %s\n", mysql_error(m));
		return false;
	}
	bool ok = true;
	MYSQL_ROW row;
	/* the result is buffered: the backfill's UPDATE may run meanwhile */
	while ((row = mysql_fetch_row(r)) != NULL)
		ok = verify_one(m, sql_dir, list, n, row, out) && ok;
	mysql_free_result(r);
	if (!ok)
		fprintf(out, "migrate: nothing applied\n");
	return ok;
}

static bool apply_all(MYSQL *m, const char *sql_dir, const struct migration *list, int n,
		      FILE *out);

/* Apply a repeatable file when its SHA-256 is not the one recorded. */
static bool apply_repeatable(MYSQL *m, const char *sql_dir, const struct migration *mg, FILE *out)
{
	size_t len = 0;
	char hex[65];
	char *sql = read_hashed(sql_dir, mg->name, &len, hex, out);
	if (!sql)
		return false;
	char esc[2 * sizeof mg->name + 1], q[sizeof esc + 256];
	mysql_real_escape_string(m, esc, mg->name, (unsigned long)strlen(mg->name));
	snprintf(q, sizeof q, "SELECT 1 FROM schema_routines WHERE name = '%s' AND checksum = '%s'",
		 esc, hex);
	bool current = false;
	if (mysql_query(m, q) == 0) {
		MYSQL_RES *r = mysql_store_result(m);
		current = r && mysql_num_rows(r) > 0;
		if (r)
			mysql_free_result(r);
	} else {
		fprintf(out, "migrate: %s\n", mysql_error(m));
		free(sql);
		return false;
	}
	bool ok = true;
	if (!current) {
		ok = run_script(m, sql, len, mg->name, out);
		snprintf(q, sizeof q,
			 "INSERT INTO schema_routines (name, checksum, applied_at) VALUES ('%s', "
			 "'%s', UTC_TIMESTAMP(3)) ON DUPLICATE KEY UPDATE checksum = "
			 "VALUES(checksum), "
			 "applied_at = VALUES(applied_at)",
			 esc, hex);
		ok = ok && query_ok(m, q, out);
		if (ok)
			fprintf(out, "applied %s (sha256 %.12s)\n", mg->name, hex);
	}
	free(sql);
	return ok;
}

static bool migrate_locked(MYSQL *m, const char *sql_dir, FILE *out)
{
	/* checksum: NULL only for a version recorded before checksums were
	 * kept, until the next run records it */
	if (!query_ok(m,
		      "CREATE TABLE IF NOT EXISTS schema_migrations ("
		      " version INT NOT NULL PRIMARY KEY,"
		      " name VARCHAR(255) NOT NULL,"
		      " checksum CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL"
		      "  COMMENT 'SHA-256 of the file as applied, lower-case hex',"
		      " applied_at DATETIME(3) NOT NULL"
		      ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
		      out) ||
	    !query_ok(m,
		      "ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS"
		      " checksum CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL"
		      "  COMMENT 'SHA-256 of the file as applied, lower-case hex' AFTER name",
		      out) ||
	    !query_ok(m,
		      "CREATE TABLE IF NOT EXISTS schema_routines ("
		      " name VARCHAR(255) NOT NULL PRIMARY KEY,"
		      " checksum CHAR(64) NOT NULL,"
		      " applied_at DATETIME(3) NOT NULL"
		      ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
		      out))
		return false;
	struct migration *list = calloc(MAX_MIGRATIONS, sizeof *list);
	if (!list) {
		fprintf(out, "migrate: out of memory\n");
		return false;
	}
	int n = scan_dir(sql_dir, list, out);
	bool ok = n > 0 && verify_applied(m, sql_dir, list, n, out) &&
		  apply_all(m, sql_dir, list, n, out);
	if (n == 0)
		fprintf(out, "migrate: no NNN_name.sql files in %s\n", sql_dir);
	free(list);
	return ok;
}

static bool apply_all(MYSQL *m, const char *sql_dir, const struct migration *list, int n, FILE *out)
{
	int applied_now = 0, numbered = 0;
	for (int i = 0; i < n; i++) {
		if (list[i].version < 0) {
			if (!apply_repeatable(m, sql_dir, &list[i], out))
				return false;
			continue;
		}
		numbered++;
		bool done;
		if (!is_applied(m, list[i].version, &done, out))
			return false;
		if (done)
			continue;
		size_t len = 0;
		char hex[65];
		char *sql = read_hashed(sql_dir, list[i].name, &len, hex, out);
		if (!sql)
			return false;
		bool ok = run_script(m, sql, len, list[i].name, out);
		free(sql);
		if (!ok || !record(m, &list[i], hex, out))
			return false;
		fprintf(out, "applied %s (sha256 %.12s)\n", list[i].name, hex);
		applied_now++;
	}
	fprintf(out, "migrate: %d applied, %d already up to date\n", applied_now,
		numbered - applied_now);
	return true;
}

bool lf_admin_migrate(const struct lf_db_params *p, const char *sql_dir, FILE *out)
{
	MYSQL *m = lf_admin_connect(p, out);
	if (!m)
		return false;
	char q[96];
	snprintf(q, sizeof q, "SELECT GET_LOCK('%s', %d)", MIGRATE_LOCK, MIGRATE_LOCK_WAIT_S);
	bool locked = false;
	if (mysql_query(m, q) == 0) {
		MYSQL_RES *r = mysql_store_result(m);
		MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
		locked = row && row[0] && strcmp(row[0], "1") == 0;
		if (r)
			mysql_free_result(r);
	}
	if (!locked) {
		fprintf(out, "migrate: could not take the migration lock: %s\n",
			mysql_errno(m) ? mysql_error(m) : "another migration is running");
		mysql_close(m);
		return false;
	}
	bool ok = migrate_locked(m, sql_dir, out);
	snprintf(q, sizeof q, "DO RELEASE_LOCK('%s')", MIGRATE_LOCK);
	if (mysql_query(m, q) == 0) {
		MYSQL_RES *r = mysql_store_result(m);
		if (r)
			mysql_free_result(r);
	}
	mysql_close(m);
	return ok;
}
