/*
 * store/conn.c - one blocking Connector/C connection per struct
 * lf_store_conn (lf_store.h): connecting, the prepared statements of every
 * store module (kept for the connection's lifetime, inputs only as bound
 * parameters), running a statement and draining a CALL's extra results,
 * DATETIME(3) <-> Unix ms, and the one place a failed statement is
 * recorded, classified and logged (lf_store_fail): 1213/1205 LF_AGAIN
 * (debug: it is retried), a broken link LF_LOST (warn), anything else
 * LF_ERROR (error), each with the statement's name, MySQL's error number,
 * SQLSTATE and message, rate limited per class. Never a bound value. The
 * per-subsystem calls live beside it (accounts.c, payments.c, outcomes.c).
 */
#include "config.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <errmsg.h>
#include <mysql.h>

#include "lf_log.h"
#include "lf_config.h"
#include "store_int.h"

static const char *const stmt_sql[ST_COUNT] = {
	[ST_TRANSFER] =
		"CALL lf_transfer_v2(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	/* the group commit (group.c): the accounts read without a lock (one
	 * JSON array of hex ids, each looked up by its primary key), then one
	 * CALL with the accounts, the payments and their bodies as three JSON
	 * arrays */
	[ST_GROUP_READ] = "SELECT a.id, a.currency, a.owner_client_id, a.kind, a.balance, a.held,"
			  " a.ledger_seq, a.chain_head FROM JSON_TABLE(?, '$[*]' COLUMNS (id"
			  " VARCHAR(32) CHARACTER SET ascii PATH '$')) j STRAIGHT_JOIN accounts a"
			  " FORCE INDEX (PRIMARY) ON a.id = UNHEX(j.id)",
	[ST_GROUP_LOCK] = "CALL lf_group_lock(?)",
	[ST_GROUP_APPLY] = "CALL lf_transfer_group_v2(?,?,?,?)",
	[ST_RECORD] = "CALL lf_record_outcome(?,?,?,?,?,?,?,?)",
	[ST_CREATE] = "CALL lf_create_account(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[ST_FINISH_HOLD] = "CALL lf_finish_hold_v2(?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[ST_REFUND] = "CALL lf_refund_v2(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	/* the reaper's: the holds past their time, oldest expiry first (the
	 * index payments_pending), then each expired by its own CALL */
	[ST_DUE_HOLDS] = "SELECT " LF_PAYMENT_COLUMNS " FROM payments p"
			 " WHERE status = 'PENDING' AND expires_at <= ?"
			 " ORDER BY expires_at LIMIT ?",
	[ST_EXPIRE_HOLD] = "CALL lf_expire_hold(?,?,?)",
	/* a payment's refunds, oldest first; no row at all without the
	 * payment (for who) */
	[ST_LIST_REFUNDS] = "SELECT r.id, r.amount, r.currency, r.reason, r.status, r.created_at"
			    " FROM payments p LEFT JOIN refunds r ON r.payment_id = p.id"
			    " WHERE p.id = ? AND (? OR p.client_id = ?) ORDER BY r.id LIMIT ?",
	[ST_GET_OUTCOME] = "CALL lf_get_outcome(?,?)",
	/* Reads are scoped to the asking client (or admin: the first ?):
	 * someone else's row is not there, exactly like a missing one. */
	[ST_GET_ACCOUNT] = "SELECT name, currency, balance, created_at, updated_at, held, metadata"
			   " FROM accounts WHERE id = ? AND (? OR owner_client_id = ?)",
	/* concurrent reads of accounts, in one query; scoped in the store
	 * (lf_store_get_accounts), each row to its own asker */
	[ST_GET_ACCOUNTS] = "SELECT id, owner_client_id, name, currency, balance, created_at,"
			    " updated_at, held, metadata FROM accounts WHERE id IN"
			    " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[ST_CURRENCIES] = "SELECT id, currency, owner_client_id FROM accounts WHERE id IN (?, ?)",
	/* GET /api/payments, newest first, keyset paged by id (UUIDv7, so
	 * by time): each side of the account is a backward scan of its
	 * index (which ends in the primary key), filtered and cut at the
	 * page, then the two are merged. */
	[ST_LIST_PAYMENTS_ACCOUNT] =
		"SELECT " LF_PAYMENT_COLUMNS " FROM payments p JOIN ("
		" (SELECT id FROM payments WHERE from_account_id = ? AND id < ?"
		"  AND (? OR client_id = ?) AND (? = '' OR status = ?) ORDER BY id DESC LIMIT ?)"
		" UNION"
		" (SELECT id FROM payments WHERE to_account_id = ? AND id < ?"
		"  AND (? OR client_id = ?) AND (? = '' OR status = ?) ORDER BY id DESC LIMIT ?)"
		") x ON x.id = p.id ORDER BY p.id DESC LIMIT ?",
	[ST_LIST_PAYMENTS_CLIENT] =
		"SELECT " LF_PAYMENT_COLUMNS " FROM payments p WHERE client_id = ? AND id < ?"
		" AND (? = '' OR status = ?) ORDER BY id DESC LIMIT ?",
	[ST_LIST_PAYMENTS_ALL] = "SELECT " LF_PAYMENT_COLUMNS
				 " FROM payments p WHERE id < ? AND (? = '' OR status = ?)"
				 " ORDER BY id DESC LIMIT ?",
	/* the last entry at or before a time (time order, then sequence): one
	 * seek of ledger_entries_time; no row without the account */
	[ST_BALANCE_AT] = "SELECT a.currency, e.balance_after FROM accounts a LEFT JOIN"
			  " (SELECT balance_after FROM ledger_entries WHERE account_id = ?"
			  "  AND created_at <= ? ORDER BY created_at DESC, seq DESC LIMIT 1) e"
			  " ON 1 = 1 WHERE a.id = ? AND (? OR a.owner_client_id = ?)",
	[ST_GET_PAYMENT] = "SELECT " LF_PAYMENT_COLUMNS " FROM payments p"
			   " WHERE id = ? AND (? OR client_id = ?)",
	/* The entries are picked by a backward range scan of the primary key
	 * (account_id, seq) in a derived table, so only max+1 rows are sorted
	 * by the outer ORDER BY; the LEFT JOIN yields the currency even when
	 * there is no entry, and no row at all when there is no account. */
	[ST_LEDGER] = "SELECT a.currency, e.id, e.payment_id, e.direction, e.amount,"
		      " e.balance_after, e.seq, e.created_at, e.hash"
		      " FROM accounts a LEFT JOIN"
		      " (SELECT id, payment_id, direction, amount, balance_after, seq, created_at,"
		      "  hash"
		      "  FROM ledger_entries WHERE account_id = ? AND seq < ?"
		      "  ORDER BY seq DESC LIMIT ?) e ON 1 = 1"
		      " WHERE a.id = ? AND (? OR a.owner_client_id = ?) ORDER BY e.seq DESC",
	[ST_REAP] = "DELETE FROM idempotency_keys WHERE expires_at < ?"
		    " ORDER BY expires_at LIMIT ?",
	/* CONVERT: the prefix column is ascii; compared with a utf8mb4
	 * parameter as it is, the primary key would not be used */
	[ST_FIND_KEY] = "SELECT k.digest, k.client_id, c.scopes, c.rate, k.expires_at,"
			" k.revoked_at IS NOT NULL OR c.revoked_at IS NOT NULL"
			" FROM api_keys k JOIN api_clients c ON c.id = k.client_id"
			" WHERE k.prefix = CONVERT(? USING ascii)",
	[ST_AUTH_EPOCH] = "SELECT epoch FROM auth_epoch WHERE id = 1",
	[ST_LIST_CURRENCIES] = "SELECT code, exponent, issuance_account_id FROM currencies"
			       " ORDER BY code LIMIT ?",
	/* events in commit order (seq), scoped like every read */
	[ST_EVENTS_SEQUENCE] = "CALL lf_events_sequence(?)",
	[ST_LIST_EVENTS_CLIENT] = "SELECT seq, id, type, created_at, data FROM events"
				  " WHERE client_id = ? AND seq > ? ORDER BY seq LIMIT ?",
	[ST_LIST_EVENTS_ALL] = "SELECT seq, id, type, created_at, data FROM events"
			       " WHERE seq > ? ORDER BY seq LIMIT ?",
	[ST_GET_EVENT] = "SELECT seq, id, type, created_at, data FROM events"
			 " WHERE id = ? AND seq IS NOT NULL AND (? OR client_id = ?)",
	[ST_WEBHOOKS] = "SELECT id, url, event_types, client_id, secret_box FROM webhooks"
			" WHERE removed_at IS NULL ORDER BY id LIMIT ?",
	[ST_WEBHOOK_ENQUEUE] = "CALL lf_webhook_enqueue(?,?,?)",
	[ST_WEBHOOK_PENDING] = "SELECT d.seq, d.attempts, d.next_at, e.id, e.type, e.created_at,"
			       " e.account_id, e.account2_id, e.data"
			       " FROM webhook_deliveries d JOIN events e ON e.seq = d.seq"
			       " WHERE d.webhook_id = ? AND d.state = 'pending'"
			       " ORDER BY d.seq LIMIT ?",
	[ST_WEBHOOK_RESULT] = "CALL lf_webhook_result(?,?,?,?,?,?)",
	[ST_WEBHOOK_BACKLOG] = "SELECT (SELECT COUNT(*) FROM webhook_deliveries"
			       "  WHERE state = 'pending'),"
			       " (SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'failed')",
	/* one delivering process per database: a lock of this connection */
	[ST_WEBHOOK_LEAD] = "SELECT GET_LOCK(CONCAT(DATABASE(), '.ledgerflow.webhooks'), 0)",
	/* POST /api/payments/batch (store/bulk.c): a batch's accounts, the ids
	 * as one JSON array of hex; any item of a batch key decided already;
	 * an atomic batch */
	[ST_BULK_ACCOUNTS] = "SELECT id, currency, owner_client_id FROM accounts WHERE id IN"
			     " (SELECT UNHEX(j.h) FROM JSON_TABLE(?, '$[*]'"
			     "  COLUMNS (h VARCHAR(32) CHARACTER SET ascii PATH '$')) j)",
	[ST_BULK_PRIOR] = "SELECT fingerprint FROM idempotency_keys"
			  " WHERE client_id = ? AND idem_key >= ? AND idem_key < ?"
			  " AND response_status <> 0 LIMIT 1",
	[ST_BULK_ATOMIC] = "CALL lf_bulk_atomic(?,?,?,?,?,?,?,?)",
};

/* Names for the log: what the statement does, never its text or values. */
/* clang-format off */
static const char *const stmt_name[ST_COUNT] = {
	[ST_TRANSFER] = "transfer",
	[ST_GROUP_READ] = "group_read",
	[ST_GROUP_LOCK] = "group_lock",
	[ST_GROUP_APPLY] = "transfer_group",
	[ST_RECORD] = "record_outcome",
	[ST_CREATE] = "create_account",
	[ST_FINISH_HOLD] = "finish_hold",
	[ST_REFUND] = "refund",
	[ST_DUE_HOLDS] = "due_holds",
	[ST_EXPIRE_HOLD] = "expire_hold",
	[ST_LIST_REFUNDS] = "list_refunds",
	[ST_GET_OUTCOME] = "get_outcome",
	[ST_GET_ACCOUNT] = "get_account",
	[ST_GET_ACCOUNTS] = "get_accounts",
	[ST_LIST_PAYMENTS_ACCOUNT] = "list_payments",
	[ST_LIST_PAYMENTS_CLIENT] = "list_payments",
	[ST_LIST_PAYMENTS_ALL] = "list_payments",
	[ST_BALANCE_AT] = "balance_at",
	[ST_CURRENCIES] = "account_currencies",
	[ST_GET_PAYMENT] = "get_payment",
	[ST_LEDGER] = "list_ledger",
	[ST_REAP] = "reap_keys",
	[ST_FIND_KEY] = "find_key",
	[ST_AUTH_EPOCH] = "auth_epoch",
	[ST_LIST_CURRENCIES] = "list_currencies",
	[ST_EVENTS_SEQUENCE] = "events_sequence",
	[ST_LIST_EVENTS_CLIENT] = "list_events",
	[ST_LIST_EVENTS_ALL] = "list_events",
	[ST_GET_EVENT] = "get_event",
	[ST_WEBHOOKS] = "list_webhooks",
	[ST_WEBHOOK_ENQUEUE] = "webhook_enqueue",
	[ST_WEBHOOK_PENDING] = "webhook_pending",
	[ST_WEBHOOK_RESULT] = "webhook_result",
	[ST_WEBHOOK_BACKLOG] = "webhook_backlog",
	[ST_WEBHOOK_LEAD] = "webhook_lead",
	[ST_BULK_ACCOUNTS] = "bulk_accounts",
	[ST_BULK_PRIOR] = "bulk_prior",
	[ST_BULK_ATOMIC] = "bulk_atomic",
};
/* clang-format on */

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

static lf_rc map_errno(unsigned e)
{
	switch (e) {
	case 1213: /* ER_LOCK_DEADLOCK */
	case 1205: /* ER_LOCK_WAIT_TIMEOUT */ return LF_AGAIN;
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_COMMANDS_OUT_OF_SYNC:
	case CR_SERVER_LOST_EXTENDED:
	case CR_ERR_NET_READ:
	case CR_ERR_NET_WRITE:
	/* the stream is out of step with the server: never reuse it (a
	 * malformed reply followed by more statements on the same handle
	 * has crashed Connector/C) */
	case CR_MALFORMED_PACKET:
	case CR_UNKNOWN_ERROR:
	case CR_NET_PACKET_TOO_LARGE:
	case 1053: /* ER_SERVER_SHUTDOWN */
	case 1927: /* ER_CONNECTION_KILLED */
	case 4031: /* ER_CLIENT_INTERACTION_TIMEOUT */ return LF_LOST;
	default: return LF_ERROR;
	}
}

/* One line per failed statement run: the first failure is the cause; what
 * follows on the same run (draining after an error) is not logged again. */
static void log_failure(struct lf_store_conn *c, lf_rc rc, const char *sqlstate)
{
	if (c->logged)
		return;
	c->logged = true;
	enum lf_log_level level = rc == LF_AGAIN  ? LF_LOG_DEBUG
				  : rc == LF_LOST ? LF_LOG_WARN
						  : LF_LOG_ERROR;
	const char *kind = rc == LF_AGAIN  ? "mysql_retry"
			   : rc == LF_LOST ? "mysql_lost"
					   : "mysql_error";
	const char *msg = rc == LF_AGAIN  ? "store_retry"
			  : rc == LF_LOST ? "store_conn_lost"
					  : "store_error";
	char q[600], s[16];
	/* SQLSTATE is five characters from the server: quote anything else */
	bool plain = strlen(sqlstate) == 5 &&
		     strspn(sqlstate, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 5;
	lf_log_limited(level, kind, msg, "subsys=store stmt=%s errno=%u sqlstate=%s error=%s",
		       c->what ? c->what : "none", c->err_no,
		       plain ? sqlstate : lf_log_quote(sqlstate, s, sizeof s),
		       lf_log_quote(c->err, q, sizeof q));
}

lf_rc lf_store_fail_state(struct lf_store_conn *c, unsigned e, const char *sqlstate,
			  const char *msg)
{
	c->err_no = e;
	snprintf(c->err, sizeof c->err, "%s", msg && *msg ? msg : "unknown error");
	lf_rc rc = map_errno(e);
	if (rc == LF_LOST)
		c->broken = true;
	/* 1017 can't find file, 1030 error from the storage engine: seen when
	 * a session's temporary-table file was removed under the server;
	 * every later statement of that session fails the same way */
	if (e == 1017 || e == 1030)
		c->damaged = true;
	log_failure(c, rc, sqlstate && *sqlstate ? sqlstate : "HY000");
	return rc;
}

lf_rc lf_store_fail(struct lf_store_conn *c, unsigned e, const char *msg)
{
	return lf_store_fail_state(c, e, "HY000", msg);
}

lf_rc lf_store_stmt_fail(struct lf_store_conn *c, MYSQL_STMT *st)
{
	unsigned e = mysql_stmt_errno(st);
	if (e == 0 && mysql_errno(c->m))
		return lf_store_fail_state(c, mysql_errno(c->m), mysql_sqlstate(c->m),
					   mysql_error(c->m));
	return lf_store_fail_state(c, e, mysql_stmt_sqlstate(st), mysql_stmt_error(st));
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

/* [mysql] ssl_mode onto Connector/C's options. preferred: TLS when the
 * server offers it; required: TLS or no connection (MYSQL_OPT_SSL_ENFORCE,
 * plus lf_store_tls_check after connecting: 3.3 falls back to plaintext
 * with ENFORCE alone), the certificate not checked; verify_ca and
 * verify_identity: MYSQL_OPT_SSL_VERIFY_SERVER_CERT, the chain against
 * ssl_ca and the host name. Connector/C 3.3 has no chain-only check, so
 * verify_ca is as strict as verify_identity rather than weaker than asked. */
void lf_store_tls_options(MYSQL *m, const struct lf_db_params *p)
{
	const char *mode = p->ssl_mode ? p->ssl_mode : "disabled";
	if (strcmp(mode, "disabled") == 0)
		return;
	const char *ca = p->ssl_ca && p->ssl_ca[0] ? p->ssl_ca : NULL;
	const char *cert = p->ssl_cert && p->ssl_cert[0] ? p->ssl_cert : NULL;
	const char *key = p->ssl_key && p->ssl_key[0] ? p->ssl_key : NULL;
	/* mysql_ssl_set turns TLS on even with no file given */
	mysql_ssl_set(m, key, cert, ca, NULL, NULL);
	my_bool enforce = strcmp(mode, "preferred") != 0;
	my_bool verify = strncmp(mode, "verify_", 7) == 0;
	mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &enforce);
	mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
}

bool lf_store_tls_check(MYSQL *m, const struct lf_db_params *p, char *err, size_t errlen)
{
	const char *mode = p->ssl_mode ? p->ssl_mode : "disabled";
	if (strcmp(mode, "disabled") == 0 || strcmp(mode, "preferred") == 0 ||
	    mysql_get_ssl_cipher(m) != NULL)
		return true;
	/* Connector/C 3.3 lets MYSQL_OPT_SSL_ENFORCE alone fall back to a
	 * plaintext connection when the server offers no TLS: refuse it */
	snprintf(err, errlen,
		 "ssl_mode = %s, but the server did not set up TLS: the connection would be "
		 "plaintext (SSL is required, but the server does not support it)",
		 mode);
	return false;
}

int lf_store_node_count(const struct lf_db_params *p)
{
	if (p->unix_socket != NULL || p->host == NULL || p->host[0] == '\0')
		return 1;
	int n = 1;
	for (const char *c = p->host; *c; c++)
		n += *c == ',';
	return n;
}

bool lf_store_node_addr(const struct lf_db_params *p, int i, char *host, size_t hostlen,
			unsigned *port)
{
	if (p->unix_socket != NULL || p->host == NULL || p->host[0] == '\0') {
		snprintf(host, hostlen, "%s", p->host ? p->host : "localhost");
		*port = p->port;
		return i == 0;
	}
	const char *s = p->host;
	for (int k = 0; k < i && s != NULL; k++) {
		s = strchr(s, ',');
		if (s != NULL)
			s++;
	}
	if (s == NULL)
		return false;
	while (*s == ' ')
		s++;
	char entry[300];
	size_t n = strcspn(s, ",");
	while (n > 0 && s[n - 1] == ' ')
		n--;
	if (n == 0 || n >= sizeof entry)
		return false;
	memcpy(entry, s, n);
	entry[n] = '\0';
	/* "host:port", "[v6]:port"; else the whole entry is the host */
	if (lf_config_parse_listen(entry, host, hostlen, port))
		return true;
	const char *h = entry;
	if (h[0] == '[' && entry[n - 1] == ']') {
		entry[n - 1] = '\0';
		h++;
	}
	if (strchr(h, ':') != NULL && entry[0] != '[')
		return false; /* "host:junk" */
	snprintf(host, hostlen, "%s", h);
	*port = p->port;
	return host[0] != '\0';
}

/* Galera: a node that is not synced refuses work (1047): pass it over.
 * Not Galera: no such status, ready. */
static bool node_ready(MYSQL *m, char *err, size_t errlen)
{
	/* wsrep_ready is OFF on a server that is no Galera node at all */
	if (mysql_query(m, "SELECT @@global.wsrep_on") != 0) {
		return true; /* a server without Galera's variables */
	}
	MYSQL_RES *on = mysql_store_result(m);
	MYSQL_ROW onrow = on ? mysql_fetch_row(on) : NULL;
	bool galera = onrow != NULL && onrow[0] != NULL && strcmp(onrow[0], "1") == 0;
	mysql_free_result(on);
	if (!galera)
		return true;
	if (mysql_query(m, "SHOW GLOBAL STATUS LIKE 'wsrep_ready'") != 0)
		return true; /* not ours to judge: the first statement will tell */
	MYSQL_RES *res = mysql_store_result(m);
	MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
	bool ready = row == NULL || row[1] == NULL || strcasecmp(row[1], "ON") == 0;
	if (!ready)
		snprintf(err, errlen, "the node is not ready (wsrep_ready = %s)", row[1]);
	mysql_free_result(res);
	return ready;
}

struct lf_store_conn *lf_store_connect_node(const struct lf_db_params *p, int start,
					    bool only_start, int *node, char *err, size_t errlen)
{
	pthread_once(&lib_once, lib_init);
	int nodes = lf_store_node_count(p);
	if (start < 0 || start >= nodes)
		start = 0;
	snprintf(err, errlen, "no database node");
	for (int k = 0; k < (only_start ? 1 : nodes); k++) {
		int i = (start + k) % nodes;
		char host[256];
		unsigned port = p->port;
		if (!lf_store_node_addr(p, i, host, sizeof host, &port)) {
			snprintf(err, errlen, "mysql host entry %d is not host[:port]", i + 1);
			continue;
		}
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
		lf_store_tls_options(m, p);
		const char *where = p->unix_socket ? p->unix_socket : host;
		if (!mysql_real_connect(m, p->unix_socket ? NULL : host, p->user, p->password,
					p->database, port, p->unix_socket, CLIENT_MULTI_RESULTS)) {
			snprintf(err, errlen, "mysql connect %s:%u: %u %s", where, port,
				 mysql_errno(m), mysql_error(m));
		} else if (!lf_store_tls_check(m, p, err, errlen)) {
			/* err says why */
		} else if (!node_ready(m, err, errlen)) {
			/* err says why */
		} else if (!session_setup(m, p->lock_wait_timeout_s)) {
			snprintf(err, errlen, "mysql session setup: %u %s", mysql_errno(m),
				 mysql_error(m));
		} else {
			c->m = m;
			if (node != NULL)
				*node = i;
			return c;
		}
		mysql_close(m);
		free(c);
	}
	return NULL;
}

struct lf_store_conn *lf_store_connect(const struct lf_db_params *p, char *err, size_t errlen)
{
	return lf_store_connect_node(p, 0, false, NULL, err, errlen);
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

bool lf_store_end_job(struct lf_store_conn *c)
{
	unsigned status = 0;
	if (c == NULL || c->broken)
		return false;
	if (c->damaged) {
		lf_log_limited(LF_LOG_WARN, "db_session_damaged",
			       "a session lost a file of its own: a fresh connection replaces it",
			       "subsys=store errno=%u", c->err_no);
		return false; /* closing it also rolls back what it had open */
	}
	if (mariadb_get_infov(c->m, MARIADB_CONNECTION_SERVER_STATUS, &status) != 0 ||
	    !(status & SERVER_STATUS_IN_TRANS))
		return true;
	c->what = "end_job";
	c->logged = false;
	if (mysql_rollback(c->m) != 0) {
		lf_store_fail_state(c, mysql_errno(c->m), mysql_sqlstate(c->m), mysql_error(c->m));
		return false; /* dropped: the server rolls back */
	}
	lf_log_limited(LF_LOG_ERROR, "db_open_transaction",
		       "a transaction outlived its job: rolled back", "subsys=store");
	return true;
}

bool lf_store_ping(struct lf_store_conn *c)
{
	if (!c || c->broken)
		return false;
	c->what = "ping";
	c->logged = false;
	if (mysql_ping(c->m) != 0) {
		lf_store_fail_state(c, mysql_errno(c->m), mysql_sqlstate(c->m), mysql_error(c->m));
		c->broken = true;
		return false;
	}
	return true;
}

bool lf_store_peer_closed(struct lf_store_conn *c)
{
	struct pollfd p = {.fd = mysql_get_socket(c->m), .events = POLLRDHUP};
	return p.fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

lf_rc lf_store_stmt(struct lf_store_conn *c, enum lf_store_stmt_id id, MYSQL_STMT **out)
{
	c->what = stmt_name[id];
	c->logged = false;
	if (c->broken)
		return lf_store_fail(c, CR_SERVER_GONE_ERROR, "connection marked broken");
	if (!c->st[id]) {
		MYSQL_STMT *st = mysql_stmt_init(c->m);
		if (!st)
			return lf_store_fail_state(c, mysql_errno(c->m), mysql_sqlstate(c->m),
						   "mysql_stmt_init failed");
		if (mysql_stmt_prepare(st, stmt_sql[id], (unsigned long)strlen(stmt_sql[id]))) {
			lf_rc rc = lf_store_stmt_fail(c, st);
			mysql_stmt_close(st);
			return rc;
		}
		c->st[id] = st;
	}
	*out = c->st[id];
	return LF_OK;
}

lf_rc lf_store_drain(struct lf_store_conn *c, MYSQL_STMT *st)
{
	mysql_stmt_free_result(st);
	for (int i = 0; i < 64; i++) {
		int r = mysql_stmt_next_result(st);
		if (r == -1)
			return LF_OK;
		if (r > 0)
			return lf_store_stmt_fail(c, st);
		if (mysql_stmt_field_count(st) > 0)
			mysql_stmt_store_result(st);
		mysql_stmt_free_result(st);
	}
	c->broken = true;
	return lf_store_fail(c, CR_COMMANDS_OUT_OF_SYNC, "too many results from one statement");
}

lf_rc lf_store_run(struct lf_store_conn *c, MYSQL_STMT *st, MYSQL_BIND *params)
{
	if (mysql_stmt_bind_param(st, params) || mysql_stmt_execute(st))
		return lf_store_stmt_fail(c, st);
	if (mysql_stmt_field_count(st) > 0 && mysql_stmt_store_result(st)) {
		lf_rc rc = lf_store_stmt_fail(c, st);
		lf_store_drain(c, st);
		return rc;
	}
	return LF_OK;
}

/* ---- reading results ---- */

/* Fetch the next row; 0 row, 1 no more rows, -1 error (recorded). */
int lf_store_next_row(struct lf_store_conn *c, MYSQL_STMT *st)
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
lf_rc lf_store_finish(struct lf_store_conn *c, MYSQL_STMT *st, lf_rc rc)
{
	lf_rc d = lf_store_drain(c, st);
	return rc != LF_OK ? rc : d;
}

lf_rc lf_store_last_rc(struct lf_store_conn *c)
{
	switch (c->err_no) {
	case 1205:
	case 1213: return LF_AGAIN;
	default: return c->broken ? LF_LOST : LF_ERROR;
	}
}
