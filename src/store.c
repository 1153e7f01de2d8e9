/*
 * store.c - the ledger's database access (lf_store.h): one blocking
 * Connector/C connection per struct lf_store_conn, each query a prepared
 * statement kept for the connection's lifetime, inputs only as bound
 * parameters. The money-moving calls are a single CALL of a procedure in
 * sql/002_procedures.sql, whose one result row is read, then every
 * remaining result drained so the connection is clean for the next call.
 * Times travel as DATETIME(3) through MYSQL_TIME (exact milliseconds, UTC).
 * Errors map to lf_store_rc: 1213/1205 retry, a broken link CONN_LOST.
 */
#include "lf_store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errmsg.h>
#include <mysql.h>

#include "store_int.h"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_TRANSFER] = "CALL lf_transfer(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[ST_RECORD] = "CALL lf_record_outcome(?,?,?,?,?,?,?,?)",
	[ST_CREATE] = "CALL lf_create_account(?,?,?,?,?,?,?,?,?,?,?,?)",
	[ST_GET_OUTCOME] = "CALL lf_get_outcome(?,?)",
	[ST_GET_ACCOUNT] = "SELECT name, currency, balance, created_at, updated_at"
			   " FROM accounts WHERE id = ?",
	[ST_CURRENCIES] = "SELECT id, currency FROM accounts WHERE id IN (?, ?)",
	[ST_GET_PAYMENT] = "SELECT from_account_id, to_account_id, amount, currency,"
			   " reference, status, created_at FROM payments WHERE id = ?",
	/* The entries are picked by a backward range scan of the primary key
	 * (account_id, seq) in a derived table, so only max+1 rows are sorted
	 * by the outer ORDER BY; the LEFT JOIN yields the currency even when
	 * there is no entry, and no row at all when there is no account. */
	[ST_LEDGER] = "SELECT a.currency, e.id, e.payment_id, e.direction, e.amount,"
		      " e.balance_after, e.seq, e.created_at"
		      " FROM accounts a LEFT JOIN"
		      " (SELECT id, payment_id, direction, amount, balance_after, seq, created_at"
		      "  FROM ledger_entries WHERE account_id = ? AND seq < ?"
		      "  ORDER BY seq DESC LIMIT ?) e ON 1 = 1"
		      " WHERE a.id = ? ORDER BY e.seq DESC",
	[ST_REAP] = "DELETE FROM idempotency_keys WHERE expires_at < ?"
		    " ORDER BY expires_at LIMIT ?",
};

/* ---- time: Unix ms <-> MYSQL_TIME (proleptic Gregorian, UTC) ---- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void lf_store_ms_to_time(int64_t ms, MYSQL_TIME *t)
{
	int64_t days = ms / 86400000, rem = ms % 86400000;
	if (rem < 0) {
		rem += 86400000;
		days--;
	}
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;
	memset(t, 0, sizeof *t);
	t->year = (unsigned)((int64_t)yoe + era * 400 + (m <= 2));
	t->month = m;
	t->day = d;
	t->hour = (unsigned)(rem / 3600000);
	t->minute = (unsigned)(rem / 60000 % 60);
	t->second = (unsigned)(rem / 1000 % 60);
	t->second_part = (unsigned long)(rem % 1000) * 1000;
	t->time_type = MYSQL_TIMESTAMP_DATETIME;
}

int64_t lf_store_time_to_ms(const MYSQL_TIME *t)
{
	int64_t days = days_from_civil(t->year, t->month, t->day);
	return ((days * 24 + t->hour) * 60 + t->minute) * 60000 + (int64_t)t->second * 1000 +
	       (int64_t)(t->second_part / 1000);
}

/* ---- errors ---- */

static enum lf_store_rc map_errno(unsigned e)
{
	switch (e) {
	case 1213: /* ER_LOCK_DEADLOCK */
	case 1205: /* ER_LOCK_WAIT_TIMEOUT */ return LF_STORE_RETRY;
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_COMMANDS_OUT_OF_SYNC:
	case CR_SERVER_LOST_EXTENDED:
	case CR_ERR_NET_READ:
	case CR_ERR_NET_WRITE:
	case 1053: /* ER_SERVER_SHUTDOWN */
	case 1927: /* ER_CONNECTION_KILLED */
	case 4031: /* ER_CLIENT_INTERACTION_TIMEOUT */ return LF_STORE_CONN_LOST;
	default: return LF_STORE_ERROR;
	}
}

enum lf_store_rc lf_store_fail(struct lf_store_conn *c, unsigned e, const char *msg)
{
	c->err_no = e;
	snprintf(c->err, sizeof c->err, "%s", msg && *msg ? msg : "unknown error");
	enum lf_store_rc rc = map_errno(e);
	if (rc == LF_STORE_CONN_LOST)
		c->broken = true;
	return rc;
}

enum lf_store_rc lf_store_stmt_fail(struct lf_store_conn *c, MYSQL_STMT *st)
{
	unsigned e = mysql_stmt_errno(st);
	if (e == 0 && mysql_errno(c->m))
		return lf_store_fail(c, mysql_errno(c->m), mysql_error(c->m));
	return lf_store_fail(c, e, mysql_stmt_error(st));
}

unsigned lf_store_errno(struct lf_store_conn *c)
{
	return c ? c->err_no : 0;
}

const char *lf_store_error(struct lf_store_conn *c)
{
	return c ? c->err : "no connection";
}

/* ---- connection ---- */

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static void lib_init(void)
{
	mysql_library_init(0, NULL, NULL);
}

static bool session_setup(MYSQL *m, unsigned lock_wait_s)
{
	char q[320];
	if (mysql_query(m, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"))
		return false;
	snprintf(q, sizeof q,
		 "SET SESSION time_zone = '+00:00', innodb_lock_wait_timeout = %u,"
		 " autocommit = 1, sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,"
		 "NO_ENGINE_SUBSTITUTION'",
		 lock_wait_s ? lock_wait_s : 5);
	return mysql_query(m, q) == 0;
}

struct lf_store_conn *lf_store_connect(const struct lf_db_params *p, char *err, size_t errlen)
{
	pthread_once(&lib_once, lib_init);
	struct lf_store_conn *c = calloc(1, sizeof *c);
	MYSQL *m = c ? mysql_init(NULL) : NULL;
	if (!m) {
		snprintf(err, errlen, "out of memory");
		free(c);
		return NULL;
	}
	unsigned ct = p->connect_timeout_s ? p->connect_timeout_s : 5;
	unsigned rw = p->rw_timeout_s ? p->rw_timeout_s : 30;
	unsigned local_infile = 0;
	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
	mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rw);
	mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &rw);
	mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &local_infile);
	mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (!mysql_real_connect(m, p->host, p->user, p->password, p->database, p->port,
				p->unix_socket, CLIENT_MULTI_RESULTS)) {
		snprintf(err, errlen, "mysql connect %s:%u: %u %s",
			 p->unix_socket ? p->unix_socket : (p->host ? p->host : "localhost"),
			 p->port, mysql_errno(m), mysql_error(m));
		mysql_close(m);
		free(c);
		return NULL;
	}
	if (!session_setup(m, p->lock_wait_timeout_s)) {
		snprintf(err, errlen, "mysql session setup: %u %s", mysql_errno(m), mysql_error(m));
		mysql_close(m);
		free(c);
		return NULL;
	}
	c->m = m;
	return c;
}

void lf_store_close(struct lf_store_conn *c)
{
	if (!c)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		if (c->st[i])
			mysql_stmt_close(c->st[i]);
	mysql_close(c->m);
	free(c);
}

bool lf_store_ping(struct lf_store_conn *c)
{
	if (!c || c->broken)
		return false;
	if (mysql_ping(c->m) != 0) {
		lf_store_fail(c, mysql_errno(c->m), mysql_error(c->m));
		c->broken = true;
		return false;
	}
	return true;
}

void lf_stored_clear(struct lf_stored *s)
{
	if (!s)
		return;
	free(s->body);
	memset(s, 0, sizeof *s);
}

enum lf_store_rc lf_store_stmt(struct lf_store_conn *c, enum lf_store_stmt_id id, MYSQL_STMT **out)
{
	if (c->broken)
		return lf_store_fail(c, CR_SERVER_GONE_ERROR, "connection marked broken");
	if (!c->st[id]) {
		MYSQL_STMT *st = mysql_stmt_init(c->m);
		if (!st)
			return lf_store_fail(c, mysql_errno(c->m), "mysql_stmt_init failed");
		if (mysql_stmt_prepare(st, stmt_sql[id], (unsigned long)strlen(stmt_sql[id]))) {
			enum lf_store_rc rc = lf_store_stmt_fail(c, st);
			mysql_stmt_close(st);
			return rc;
		}
		c->st[id] = st;
	}
	*out = c->st[id];
	return LF_STORE_OK;
}

enum lf_store_rc lf_store_drain(struct lf_store_conn *c, MYSQL_STMT *st)
{
	mysql_stmt_free_result(st);
	for (int i = 0; i < 64; i++) {
		int r = mysql_stmt_next_result(st);
		if (r == -1)
			return LF_STORE_OK;
		if (r > 0)
			return lf_store_stmt_fail(c, st);
		if (mysql_stmt_field_count(st) > 0)
			mysql_stmt_store_result(st);
		mysql_stmt_free_result(st);
	}
	c->broken = true;
	return lf_store_fail(c, CR_COMMANDS_OUT_OF_SYNC, "too many results from one statement");
}

enum lf_store_rc lf_store_run(struct lf_store_conn *c, MYSQL_STMT *st, MYSQL_BIND *params)
{
	if (mysql_stmt_bind_param(st, params) || mysql_stmt_execute(st))
		return lf_store_stmt_fail(c, st);
	if (mysql_stmt_field_count(st) > 0 && mysql_stmt_store_result(st)) {
		enum lf_store_rc rc = lf_store_stmt_fail(c, st);
		lf_store_drain(c, st);
		return rc;
	}
	return LF_STORE_OK;
}

/* ---- lookups ---- */

/* Fetch the next row; 0 row, 1 no more rows, -1 error (recorded). */
static int next_row(struct lf_store_conn *c, MYSQL_STMT *st)
{
	int f = mysql_stmt_fetch(st);
	if (f == 0 || f == MYSQL_DATA_TRUNCATED)
		return 0;
	if (f == MYSQL_NO_DATA)
		return 1;
	lf_store_stmt_fail(c, st);
	return -1;
}

/* Finish a query: on error keep its code, else report a drain failure. */
static enum lf_store_rc finish(struct lf_store_conn *c, MYSQL_STMT *st, enum lf_store_rc rc)
{
	enum lf_store_rc d = lf_store_drain(c, st);
	return rc != LF_STORE_OK ? rc : d;
}

static enum lf_store_rc last_rc(struct lf_store_conn *c)
{
	switch (c->err_no) {
	case 1205:
	case 1213: return LF_STORE_RETRY;
	default: return c->broken ? LF_STORE_CONN_LOST : LF_STORE_ERROR;
	}
}

enum lf_store_rc lf_store_get_account(struct lf_store_conn *c, const lf_uuid *id,
				      struct lf_account *out)
{
	MYSQL_STMT *st;
	enum lf_store_rc rc = lf_store_stmt(c, ST_GET_ACCOUNT, &st);
	if (rc != LF_STORE_OK)
		return rc;
	MYSQL_BIND in[1], b[5];
	struct col k[5];
	MYSQL_TIME t_created, t_updated;
	memset(in, 0, sizeof in);
	memset(b, 0, sizeof b);
	memset(k, 0, sizeof k);
	memset(out, 0, sizeof *out);
	in_uuid(&in[0], id);
	if ((rc = lf_store_run(c, st, in)) != LF_STORE_OK)
		return rc;
	out_bind(&b[0], &k[0], MYSQL_TYPE_STRING, out->name, sizeof out->name);
	out_bind(&b[1], &k[1], MYSQL_TYPE_STRING, out->currency, sizeof out->currency);
	out_bind(&b[2], &k[2], MYSQL_TYPE_LONGLONG, &out->balance, 0);
	out_bind(&b[3], &k[3], MYSQL_TYPE_DATETIME, &t_created, 0);
	out_bind(&b[4], &k[4], MYSQL_TYPE_DATETIME, &t_updated, 0);
	if (mysql_stmt_bind_result(st, b))
		return finish(c, st, lf_store_stmt_fail(c, st));
	int f = next_row(c, st);
	if (f < 0)
		return finish(c, st, last_rc(c));
	if (f == 1)
		return finish(c, st, LF_STORE_NOT_FOUND);
	out->id = *id;
	out_str_fix(out->name, sizeof out->name, &k[0]);
	out_str_fix(out->currency, sizeof out->currency, &k[1]);
	out->created_ms = lf_store_time_to_ms(&t_created);
	out->updated_ms = lf_store_time_to_ms(&t_updated);
	return finish(c, st, LF_STORE_OK);
}

enum lf_store_rc lf_store_account_currencies(struct lf_store_conn *c, const lf_uuid ids[2],
					     bool found[2], char currency[2][4])
{
	MYSQL_STMT *st;
	enum lf_store_rc rc = lf_store_stmt(c, ST_CURRENCIES, &st);
	found[0] = found[1] = false;
	currency[0][0] = currency[1][0] = '\0';
	if (rc != LF_STORE_OK)
		return rc;
	MYSQL_BIND in[2], b[2];
	struct col k[2];
	uint8_t id[16];
	char cur[4];
	memset(in, 0, sizeof in);
	memset(b, 0, sizeof b);
	memset(k, 0, sizeof k);
	in_uuid(&in[0], &ids[0]);
	in_uuid(&in[1], &ids[1]);
	if ((rc = lf_store_run(c, st, in)) != LF_STORE_OK)
		return rc;
	out_bind(&b[0], &k[0], MYSQL_TYPE_BLOB, id, sizeof id);
	out_bind(&b[1], &k[1], MYSQL_TYPE_STRING, cur, sizeof cur);
	if (mysql_stmt_bind_result(st, b))
		return finish(c, st, lf_store_stmt_fail(c, st));
	for (int n = 0; n < 2; n++) {
		int f = next_row(c, st);
		if (f < 0)
			return finish(c, st, last_rc(c));
		if (f == 1)
			break;
		out_str_fix(cur, sizeof cur, &k[1]);
		for (int i = 0; i < 2; i++) {
			if (out_uuid_ok(&k[0]) && memcmp(id, ids[i].b, 16) == 0) {
				found[i] = true;
				memcpy(currency[i], cur, sizeof cur);
			}
		}
	}
	return finish(c, st, LF_STORE_OK);
}

enum lf_store_rc lf_store_get_payment(struct lf_store_conn *c, const lf_uuid *id,
				      struct lf_payment *out)
{
	MYSQL_STMT *st;
	enum lf_store_rc rc = lf_store_stmt(c, ST_GET_PAYMENT, &st);
	if (rc != LF_STORE_OK)
		return rc;
	MYSQL_BIND in[1], b[7];
	struct col k[7];
	MYSQL_TIME t_created;
	char status[16];
	memset(in, 0, sizeof in);
	memset(b, 0, sizeof b);
	memset(k, 0, sizeof k);
	memset(out, 0, sizeof *out);
	in_uuid(&in[0], id);
	if ((rc = lf_store_run(c, st, in)) != LF_STORE_OK)
		return rc;
	out_bind(&b[0], &k[0], MYSQL_TYPE_BLOB, out->from.b, 16);
	out_bind(&b[1], &k[1], MYSQL_TYPE_BLOB, out->to.b, 16);
	out_bind(&b[2], &k[2], MYSQL_TYPE_LONGLONG, &out->amount, 0);
	out_bind(&b[3], &k[3], MYSQL_TYPE_STRING, out->currency, sizeof out->currency);
	out_bind(&b[4], &k[4], MYSQL_TYPE_STRING, out->reference, sizeof out->reference);
	out_bind(&b[5], &k[5], MYSQL_TYPE_STRING, status, sizeof status);
	out_bind(&b[6], &k[6], MYSQL_TYPE_DATETIME, &t_created, 0);
	if (mysql_stmt_bind_result(st, b))
		return finish(c, st, lf_store_stmt_fail(c, st));
	int f = next_row(c, st);
	if (f < 0)
		return finish(c, st, last_rc(c));
	if (f == 1)
		return finish(c, st, LF_STORE_NOT_FOUND);
	out->id = *id;
	out_str_fix(out->currency, sizeof out->currency, &k[3]);
	out->has_reference = !k[4].null;
	out_str_fix(out->reference, sizeof out->reference, &k[4]);
	out_str_fix(status, sizeof status, &k[5]);
	out->completed = strcmp(status, "COMPLETED") == 0;
	out->created_ms = lf_store_time_to_ms(&t_created);
	return finish(c, st, LF_STORE_OK);
}

enum lf_store_rc lf_store_list_ledger(struct lf_store_conn *c, const lf_uuid *account,
				      int64_t before_seq, unsigned max, struct lf_ledger_entry *out,
				      unsigned *count, bool *more, char currency[4])
{
	MYSQL_STMT *st;
	enum lf_store_rc rc = lf_store_stmt(c, ST_LEDGER, &st);
	*count = 0;
	*more = false;
	currency[0] = '\0';
	if (rc != LF_STORE_OK)
		return rc;
	MYSQL_BIND in[4], b[8];
	struct col k[8];
	uint64_t limit = (uint64_t)max + 1;
	struct lf_ledger_entry e;
	char cur[4], dir[8];
	MYSQL_TIME t_created;
	memset(in, 0, sizeof in);
	memset(b, 0, sizeof b);
	memset(k, 0, sizeof k);
	in_uuid(&in[0], account);
	in_i64(&in[1], &before_seq);
	in_u64(&in[2], &limit);
	in_uuid(&in[3], account);
	if ((rc = lf_store_run(c, st, in)) != LF_STORE_OK)
		return rc;
	out_bind(&b[0], &k[0], MYSQL_TYPE_STRING, cur, sizeof cur);
	out_bind(&b[1], &k[1], MYSQL_TYPE_BLOB, e.id.b, 16);
	out_bind(&b[2], &k[2], MYSQL_TYPE_BLOB, e.payment_id.b, 16);
	out_bind(&b[3], &k[3], MYSQL_TYPE_STRING, dir, sizeof dir);
	out_bind(&b[4], &k[4], MYSQL_TYPE_LONGLONG, &e.amount, 0);
	out_bind(&b[5], &k[5], MYSQL_TYPE_LONGLONG, &e.balance_after, 0);
	out_bind(&b[6], &k[6], MYSQL_TYPE_LONGLONG, &e.seq, 0);
	out_bind(&b[7], &k[7], MYSQL_TYPE_DATETIME, &t_created, 0);
	if (mysql_stmt_bind_result(st, b))
		return finish(c, st, lf_store_stmt_fail(c, st));
	bool any = false;
	for (uint64_t n = 0; n < limit; n++) {
		memset(&e, 0, sizeof e);
		int f = next_row(c, st);
		if (f < 0)
			return finish(c, st, last_rc(c));
		if (f == 1)
			break;
		if (!any) {
			out_str_fix(cur, sizeof cur, &k[0]);
			memcpy(currency, cur, sizeof cur);
			any = true;
		}
		if (!out_uuid_ok(&k[1]))
			break; /* the account has no (older) entries: LEFT JOIN's NULL row */
		if (*count == max) {
			*more = true;
			break;
		}
		out_str_fix(dir, sizeof dir, &k[3]);
		e.has_payment = out_uuid_ok(&k[2]);
		if (!e.has_payment)
			memset(e.payment_id.b, 0, 16);
		e.account_id = *account;
		e.debit = strcmp(dir, "DEBIT") == 0;
		e.created_ms = lf_store_time_to_ms(&t_created);
		out[(*count)++] = e;
	}
	return finish(c, st, any ? LF_STORE_OK : LF_STORE_NOT_FOUND);
}

/* ---- retention ---- */

enum lf_store_rc lf_store_reap_keys(struct lf_store_conn *c, int64_t now_ms, unsigned batch,
				    unsigned long *deleted)
{
	MYSQL_STMT *st;
	enum lf_store_rc rc = lf_store_stmt(c, ST_REAP, &st);
	*deleted = 0;
	if (rc != LF_STORE_OK)
		return rc;
	MYSQL_BIND in[2];
	MYSQL_TIME t_now;
	uint64_t limit = batch;
	memset(in, 0, sizeof in);
	in_time(&in[0], &t_now, now_ms);
	in_u64(&in[1], &limit);
	if ((rc = lf_store_run(c, st, in)) != LF_STORE_OK)
		return rc;
	my_ulonglong n = mysql_stmt_affected_rows(st);
	*deleted = n == (my_ulonglong)-1 ? 0 : (unsigned long)n;
	return finish(c, st, LF_STORE_OK);
}
