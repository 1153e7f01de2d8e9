/*
 * ctl/clients.c - `ledgerflowctl client create | list | revoke | rotate`:
 * the API clients and their keys in the database (lf_admin.h). A key is
 * generated here (lf_auth), printed once, alone on the last line of the
 * output, and only its HMAC-SHA-256 digest under the pepper is stored; it
 * is never logged. Every change is one transaction; revoke and rotate bump
 * auth_epoch in it, so the workers drop the lookups they cached. Input
 * reaches SQL only as bound parameters of prepared statements.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mysql.h>
#include <openssl/crypto.h>

#include "lf_admin.h"
#include "lf_auth.h"

#define ER_DUP_ENTRY 1062
#define KEY_ATTEMPTS 3 /* a prefix collision (48 random bits) is retried */

struct db {
	MYSQL *m;
	FILE *err;
	unsigned err_no;
	char msg[512];
};

/* ---- statements ---- */

static void db_keep_error(struct db *d, MYSQL_STMT *st)
{
	d->err_no = st ? mysql_stmt_errno(st) : mysql_errno(d->m);
	snprintf(d->msg, sizeof d->msg, "%s", st ? mysql_stmt_error(st) : mysql_error(d->m));
	if (d->err_no == 0) {
		d->err_no = mysql_errno(d->m);
		snprintf(d->msg, sizeof d->msg, "%s", mysql_error(d->m));
	}
}

static void db_report(struct db *d, const char *what)
{
	fprintf(d->err, "ledgerflowctl: %s: %u %s\n", what, d->err_no, d->msg);
}

/* Prepare and execute sql with its parameters (in may be NULL when it has
 * none); results are buffered. NULL on failure (d->err_no, d->msg). */
static MYSQL_STMT *db_run(struct db *d, const char *sql, MYSQL_BIND *in)
{
	MYSQL_STMT *st = mysql_stmt_init(d->m);
	if (!st) {
		db_keep_error(d, NULL);
		return NULL;
	}
	if (mysql_stmt_prepare(st, sql, (unsigned long)strlen(sql)) ||
	    (in && mysql_stmt_bind_param(st, in)) || mysql_stmt_execute(st) ||
	    (mysql_stmt_field_count(st) > 0 && mysql_stmt_store_result(st))) {
		db_keep_error(d, st);
		mysql_stmt_close(st);
		return NULL;
	}
	return st;
}

/* A statement without a result; *affected (may be NULL) its row count. */
static bool db_exec(struct db *d, const char *sql, MYSQL_BIND *in, unsigned long long *affected)
{
	MYSQL_STMT *st = db_run(d, sql, in);
	if (!st)
		return false;
	if (affected)
		*affected = (unsigned long long)mysql_stmt_affected_rows(st);
	mysql_stmt_close(st);
	return true;
}

/* The first row of a query into out (bound by the caller): 1 a row, 0
 * none, -1 an error. */
static int db_row(struct db *d, const char *sql, MYSQL_BIND *in, MYSQL_BIND *out)
{
	MYSQL_STMT *st = db_run(d, sql, in);
	if (!st)
		return -1;
	int r = -1;
	if (mysql_stmt_bind_result(st, out) == 0) {
		int f = mysql_stmt_fetch(st);
		r = (f == 0 || f == MYSQL_DATA_TRUNCATED) ? 1 : f == MYSQL_NO_DATA ? 0 : -1;
	}
	if (r < 0)
		db_keep_error(d, st);
	mysql_stmt_close(st);
	return r;
}

static bool db_query(struct db *d, const char *sql)
{
	if (mysql_query(d->m, sql) == 0)
		return true;
	db_keep_error(d, NULL);
	return false;
}

static void db_rollback(struct db *d)
{
	if (mysql_query(d->m, "ROLLBACK") != 0)
		fprintf(d->err, "ledgerflowctl: rollback: %s\n", mysql_error(d->m));
}

static bool db_open(struct db *d, const struct lf_db_params *p, FILE *err)
{
	memset(d, 0, sizeof *d);
	d->err = err;
	d->m = lf_admin_connect(p, err);
	return d->m != NULL;
}

/* ---- bind helpers ---- */

static void bind_text(MYSQL_BIND *b, const char *s)
{
	b->buffer_type = MYSQL_TYPE_STRING;
	b->buffer = (void *)s;
	b->buffer_length = (unsigned long)strlen(s);
}

static void bind_u64(MYSQL_BIND *b, uint64_t *v)
{
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = v;
	b->is_unsigned = 1;
}

static void bind_time(MYSQL_BIND *b, MYSQL_TIME *t)
{
	b->buffer_type = MYSQL_TYPE_DATETIME;
	b->buffer = t;
}

/* "2026-11-25T14:52:28.123Z" */
static const char *fmt_time(const MYSQL_TIME *t, char buf[64])
{
	snprintf(buf, 64, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", t->year % 10000, t->month % 100,
		 t->day % 100, t->hour % 100, t->minute % 100, t->second % 100,
		 (unsigned)(t->second_part / 1000 % 1000));
	return buf;
}

/* ---- pieces of the commands ---- */

static bool pepper_load(const struct lf_admin_auth *a, uint8_t pepper[LF_AUTH_PEPPER_LEN],
			FILE *err)
{
	char why[600];
	bool existed = a->pepper_file && access(a->pepper_file, F_OK) == 0;
	lf_rc rc =
		lf_auth_pepper_load(a->pepper_file, true, a->secret_mode, pepper, why, sizeof why);
	if (rc == LF_ERROR) {
		fprintf(err, "ledgerflowctl: [auth] pepper_file: %s\n", why);
		return false;
	}
	if (rc == LF_DECLINED)
		fprintf(err, "ledgerflowctl: warning: %s\n", why);
	if (!existed)
		fprintf(err,
			"ledgerflowctl: created the pepper %s; back it up with the database: "
			"without it no key can be checked\n",
			a->pepper_file);
	return true;
}

/* The client called name, locked for the rest of the transaction: 1
 * found, 0 none, -1 error. */
static int client_lock(struct db *d, const char *name, uint64_t *id, bool *revoked)
{
	MYSQL_BIND in[1], out[2];
	int rev = 0;
	memset(in, 0, sizeof in);
	memset(out, 0, sizeof out);
	bind_text(&in[0], name);
	bind_u64(&out[0], id);
	out[1].buffer_type = MYSQL_TYPE_LONG;
	out[1].buffer = &rev;
	int r = db_row(d,
		       "SELECT id, revoked_at IS NOT NULL FROM api_clients WHERE name = ?"
		       " FOR UPDATE",
		       in, out);
	*revoked = rev != 0;
	return r;
}

/* A new key for the client: its digest inserted, the key and its prefix
 * in key/prefix. */
static bool key_add(struct db *d, uint64_t client, const uint8_t pepper[LF_AUTH_PEPPER_LEN],
		    char key[LF_AUTH_KEY_LEN + 1], char prefix[LF_AUTH_PREFIX_LEN + 1])
{
	for (int attempt = 0; attempt < KEY_ATTEMPTS; attempt++) {
		uint8_t digest[LF_AUTH_DIGEST_LEN];
		if (lf_auth_key_generate(key, prefix) != LF_OK) {
			d->err_no = 0;
			snprintf(d->msg, sizeof d->msg, "no random bytes for a key");
			return false;
		}
		lf_auth_key_digest(pepper, key, digest);
		MYSQL_BIND in[3];
		memset(in, 0, sizeof in);
		bind_text(&in[0], prefix);
		bind_u64(&in[1], &client);
		in[2].buffer_type = MYSQL_TYPE_BLOB;
		in[2].buffer = digest;
		in[2].buffer_length = sizeof digest;
		bool ok = db_exec(d,
				  "INSERT INTO api_keys (prefix, client_id, digest, created_at)"
				  " VALUES (?, ?, ?, UTC_TIMESTAMP(3))",
				  in, NULL);
		if (ok)
			return true;
		OPENSSL_cleanse(key, LF_AUTH_KEY_LEN + 1);
		if (d->err_no != ER_DUP_ENTRY)
			return false;
	}
	return false;
}

static bool epoch_bump(struct db *d, uint64_t *epoch)
{
	MYSQL_BIND out[1];
	memset(out, 0, sizeof out);
	bind_u64(&out[0], epoch);
	return db_exec(d, "UPDATE auth_epoch SET epoch = epoch + 1 WHERE id = 1", NULL, NULL) &&
	       db_row(d, "SELECT epoch FROM auth_epoch WHERE id = 1", NULL, out) == 1;
}

/* The key, alone on the last line of out, after the note that says so. */
static lf_rc print_key(FILE *out, FILE *err, const char *name, const char *key)
{
	fprintf(out, "The key follows, alone on the last line. It is shown only this once;\n"
		     "only its digest is stored.\n");
	fprintf(out, "%s\n", key);
	if (fflush(out) != 0 || ferror(out)) {
		fprintf(err,
			"ledgerflowctl: the key could not be written (%s); "
			"`ledgerflowctl client rotate %s` makes a new one\n",
			strerror(errno), name);
		return LF_ERROR;
	}
	return LF_OK;
}

/* ---- the commands ---- */

lf_rc lf_admin_client_create(const struct lf_db_params *p, const struct lf_admin_auth *a,
			     const char *name, unsigned scopes, unsigned rate, FILE *out, FILE *err)
{
	uint8_t pepper[LF_AUTH_PEPPER_LEN];
	if (!pepper_load(a, pepper, err))
		return LF_ERROR;
	struct db d;
	if (!db_open(&d, p, err)) {
		OPENSSL_cleanse(pepper, sizeof pepper);
		return LF_ERROR;
	}
	char scope_text[160], key[LF_AUTH_KEY_LEN + 1], prefix[LF_AUTH_PREFIX_LEN + 1];
	lf_auth_scopes_format(scopes, scope_text, sizeof scope_text);
	lf_rc rc = LF_ERROR;
	uint64_t id = 0;
	MYSQL_BIND in[3];
	memset(in, 0, sizeof in);
	bind_text(&in[0], name);
	bind_text(&in[1], scope_text);
	in[2].buffer_type = rate ? MYSQL_TYPE_LONG : MYSQL_TYPE_NULL;
	in[2].buffer = &rate;
	in[2].is_unsigned = 1;
	if (!db_query(&d, "START TRANSACTION")) {
		db_report(&d, "client create");
		goto done;
	}
	MYSQL_STMT *st = db_run(&d,
				"INSERT INTO api_clients (name, scopes, rate, created_at)"
				" VALUES (?, ?, ?, UTC_TIMESTAMP(3))",
				in);
	if (!st) {
		if (d.err_no == ER_DUP_ENTRY) {
			fprintf(err, "ledgerflowctl: client %s exists\n", name);
			rc = LF_DECLINED;
		} else {
			db_report(&d, "client create");
		}
		db_rollback(&d);
		goto done;
	}
	id = (uint64_t)mysql_stmt_insert_id(st);
	mysql_stmt_close(st);
	if (!key_add(&d, id, pepper, key, prefix) || !db_query(&d, "COMMIT")) {
		db_report(&d, "client create");
		db_rollback(&d);
		goto done;
	}
	fprintf(out, "client:  %llu\n", (unsigned long long)id);
	fprintf(out, "name:    %s\n", name);
	fprintf(out, "scopes:  %s\n", scope_text);
	if (rate)
		fprintf(out, "rate:    %u per second\n", rate);
	else
		fprintf(out, "rate:    default ([ratelimit] rate)\n");
	fprintf(out, "prefix:  %s\n", prefix);
	rc = print_key(out, err, name, key);
done:
	OPENSSL_cleanse(key, sizeof key);
	OPENSSL_cleanse(pepper, sizeof pepper);
	mysql_close(d.m);
	return rc;
}

lf_rc lf_admin_client_list(const struct lf_db_params *p, FILE *out, FILE *err)
{
	struct db d;
	if (!db_open(&d, p, err))
		return LF_ERROR;
	/* a client's active keys: not revoked, not past their expiry */
	MYSQL_STMT *st = db_run(&d,
				"SELECT c.id, c.name, c.scopes, c.rate, c.created_at, c.revoked_at,"
				" k.prefix, k.expires_at"
				" FROM api_clients c LEFT JOIN api_keys k ON k.client_id = c.id"
				"  AND k.revoked_at IS NULL"
				"  AND (k.expires_at IS NULL OR k.expires_at > UTC_TIMESTAMP(3))"
				" ORDER BY c.id, k.created_at, k.prefix",
				NULL);
	if (!st) {
		db_report(&d, "client list");
		mysql_close(d.m);
		return LF_ERROR;
	}
	uint64_t id = 0, last = 0;
	char name[404], scopes[256], prefix[LF_AUTH_PREFIX_LEN + 1], t1[64], t2[64];
	unsigned rate = 0;
	MYSQL_TIME created, revoked, expires;
	unsigned long len[8] = {0};
	my_bool null[8] = {0};
	MYSQL_BIND b[8];
	memset(b, 0, sizeof b);
	bind_u64(&b[0], &id);
	b[1].buffer_type = MYSQL_TYPE_STRING;
	b[1].buffer = name;
	b[1].buffer_length = sizeof name;
	b[2].buffer_type = MYSQL_TYPE_STRING;
	b[2].buffer = scopes;
	b[2].buffer_length = sizeof scopes;
	b[3].buffer_type = MYSQL_TYPE_LONG;
	b[3].buffer = &rate;
	b[3].is_unsigned = 1;
	bind_time(&b[4], &created);
	bind_time(&b[5], &revoked);
	b[6].buffer_type = MYSQL_TYPE_STRING;
	b[6].buffer = prefix;
	b[6].buffer_length = sizeof prefix;
	bind_time(&b[7], &expires);
	for (int i = 0; i < 8; i++) {
		b[i].length = &len[i];
		b[i].is_null = &null[i];
	}
	lf_rc rc = LF_OK;
	if (mysql_stmt_bind_result(st, b)) {
		db_keep_error(&d, st);
		db_report(&d, "client list");
		rc = LF_ERROR;
	}
	fprintf(out, "ID\tNAME\tSCOPES\tRATE\tCREATED\tSTATUS\tKEYS\n");
	bool any_key = false;
	for (int f;
	     rc == LF_OK && ((f = mysql_stmt_fetch(st)) == 0 || f == MYSQL_DATA_TRUNCATED);) {
		if (id != last) {
			if (last != 0)
				fprintf(out, "%s\n", any_key ? "" : "-");
			name[len[1] < sizeof name ? len[1] : sizeof name - 1] = '\0';
			scopes[len[2] < sizeof scopes ? len[2] : sizeof scopes - 1] = '\0';
			fprintf(out, "%llu\t%s\t%s\t", (unsigned long long)id, name, scopes);
			if (null[3])
				fprintf(out, "default\t");
			else
				fprintf(out, "%u\t", rate);
			fprintf(out, "%s\t", fmt_time(&created, t1));
			if (null[5])
				fprintf(out, "active\t");
			else
				fprintf(out, "revoked %s\t", fmt_time(&revoked, t2));
			last = id;
			any_key = false;
		}
		if (null[6])
			continue;
		prefix[len[6] < sizeof prefix ? len[6] : sizeof prefix - 1] = '\0';
		fprintf(out, "%s%s", any_key ? ", " : "", prefix);
		if (!null[7])
			fprintf(out, " (expires %s)", fmt_time(&expires, t2));
		any_key = true;
	}
	if (last != 0)
		fprintf(out, "%s\n", any_key ? "" : "-");
	if (rc == LF_OK && mysql_stmt_errno(st)) {
		db_keep_error(&d, st);
		db_report(&d, "client list");
		rc = LF_ERROR;
	}
	mysql_stmt_close(st);
	mysql_close(d.m);
	return rc;
}

lf_rc lf_admin_client_revoke(const struct lf_db_params *p, const char *name, FILE *out, FILE *err)
{
	struct db d;
	if (!db_open(&d, p, err))
		return LF_ERROR;
	lf_rc rc = LF_ERROR;
	uint64_t id = 0, epoch = 0;
	unsigned long long keys = 0;
	bool revoked = false;
	MYSQL_BIND in[1];
	memset(in, 0, sizeof in);
	bind_u64(&in[0], &id);
	int found = db_query(&d, "START TRANSACTION") ? client_lock(&d, name, &id, &revoked) : -1;
	if (found == 0) {
		fprintf(err, "ledgerflowctl: no client %s\n", name);
		rc = LF_DECLINED;
	} else if (found == 1 && revoked) {
		fprintf(out, "client %llu (%s) was already revoked\n", (unsigned long long)id,
			name);
		rc = LF_OK;
	} else if (found == 1 &&
		   db_exec(&d, "UPDATE api_clients SET revoked_at = UTC_TIMESTAMP(3) WHERE id = ?",
			   in, NULL) &&
		   db_exec(&d,
			   "UPDATE api_keys SET revoked_at = UTC_TIMESTAMP(3)"
			   " WHERE client_id = ? AND revoked_at IS NULL",
			   in, &keys) &&
		   epoch_bump(&d, &epoch) && db_query(&d, "COMMIT")) {
		fprintf(out, "client %llu (%s) revoked with its %llu key%s; auth epoch %llu\n",
			(unsigned long long)id, name, keys, keys == 1 ? "" : "s",
			(unsigned long long)epoch);
		mysql_close(d.m);
		return LF_OK;
	} else {
		db_report(&d, "client revoke");
	}
	db_rollback(&d);
	mysql_close(d.m);
	return rc;
}

lf_rc lf_admin_client_rotate(const struct lf_db_params *p, const struct lf_admin_auth *a,
			     const char *name, FILE *out, FILE *err)
{
	uint8_t pepper[LF_AUTH_PEPPER_LEN];
	if (!pepper_load(a, pepper, err))
		return LF_ERROR;
	struct db d;
	if (!db_open(&d, p, err)) {
		OPENSSL_cleanse(pepper, sizeof pepper);
		return LF_ERROR;
	}
	lf_rc rc = LF_ERROR;
	char key[LF_AUTH_KEY_LEN + 1] = "", prefix[LF_AUTH_PREFIX_LEN + 1], when[64];
	uint64_t id = 0, epoch = 0;
	bool revoked = false;
	int found = db_query(&d, "START TRANSACTION") ? client_lock(&d, name, &id, &revoked) : -1;
	if (found == 0 || (found == 1 && revoked)) {
		fprintf(err,
			found ? "ledgerflowctl: client %s is revoked\n"
			      : "ledgerflowctl: no client %s\n",
			name);
		db_rollback(&d);
		rc = LF_DECLINED;
		goto done;
	}
	/* the old keys end at now + grace, unless they end sooner already */
	MYSQL_TIME until;
	int64_t grace_us = a->rotate_grace_ms * 1000;
	MYSQL_BIND gin[1], gout[1], in[3];
	memset(gin, 0, sizeof gin);
	memset(gout, 0, sizeof gout);
	memset(in, 0, sizeof in);
	gin[0].buffer_type = MYSQL_TYPE_LONGLONG;
	gin[0].buffer = &grace_us;
	bind_time(&gout[0], &until);
	bind_time(&in[0], &until);
	bind_u64(&in[1], &id);
	bind_time(&in[2], &until);
	unsigned long long old = 0;
	if (found != 1 ||
	    db_row(&d, "SELECT TIMESTAMPADD(MICROSECOND, ?, UTC_TIMESTAMP(3))", gin, gout) != 1 ||
	    !db_exec(&d,
		     "UPDATE api_keys SET expires_at = ? WHERE client_id = ? AND revoked_at IS NULL"
		     " AND (expires_at IS NULL OR expires_at > ?)",
		     in, &old) ||
	    !key_add(&d, id, pepper, key, prefix) || !epoch_bump(&d, &epoch) ||
	    !db_query(&d, "COMMIT")) {
		db_report(&d, "client rotate");
		db_rollback(&d);
		goto done;
	}
	fprintf(out, "client:  %llu\n", (unsigned long long)id);
	fprintf(out, "name:    %s\n", name);
	fprintf(out, "prefix:  %s\n", prefix);
	fprintf(out, "old:     %llu key%s now expire%s at %s ([auth] rotate_grace)\n", old,
		old == 1 ? "" : "s", old == 1 ? "s" : "", fmt_time(&until, when));
	fprintf(out, "epoch:   %llu\n", (unsigned long long)epoch);
	rc = print_key(out, err, name, key);
done:
	OPENSSL_cleanse(key, sizeof key);
	OPENSSL_cleanse(pepper, sizeof pepper);
	mysql_close(d.m);
	return rc;
}
