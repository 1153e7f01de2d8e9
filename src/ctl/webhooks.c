/*
 * ctl/webhooks.c - `ledgerflowctl webhook add | list | remove` (lf_admin.h):
 * the endpoints the delivery process POSTs events to (008_events.sql). A
 * signing secret is generated here, printed once alone on the last line,
 * and stored only sealed under a key derived from the pepper
 * (lf_webhook_secret_seal; doc/security.md). Runs as the admin user: the
 * server's own user only reads webhooks. The delivery process picks a
 * change up within a second. Input reaches SQL only as bound parameters.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>
#include <openssl/crypto.h>

#include "lf_admin.h"
#include "lf_auth.h"
#include "lf_events.h"
#include "lf_uuid.h"

/* Prepare and run sql with its parameters; NULL (reported) on failure. */
static MYSQL_STMT *run(MYSQL *m, const char *sql, MYSQL_BIND *in, const char *what, FILE *err)
{
	MYSQL_STMT *st = mysql_stmt_init(m);
	if (st == NULL) {
		fprintf(err, "ledgerflowctl: %s: %s\n", what, mysql_error(m));
		return NULL;
	}
	if (mysql_stmt_prepare(st, sql, (unsigned long)strlen(sql)) ||
	    (in && mysql_stmt_bind_param(st, in)) || mysql_stmt_execute(st) ||
	    (mysql_stmt_field_count(st) > 0 && mysql_stmt_store_result(st))) {
		fprintf(err, "ledgerflowctl: %s: %u %s\n", what, mysql_stmt_errno(st),
			mysql_stmt_error(st));
		mysql_stmt_close(st);
		return NULL;
	}
	return st;
}

static void bind_in(MYSQL_BIND *b, enum enum_field_types t, const void *p, size_t len)
{
	b->buffer_type = t;
	b->buffer = (void *)p;
	b->buffer_length = (unsigned long)len;
}

/* The id of a client that is not revoked: 1 found, 0 none, -1 error. */
static int client_id(MYSQL *m, const char *name, unsigned long long *id, FILE *err)
{
	MYSQL_BIND in[1], out[1];
	memset(in, 0, sizeof in);
	memset(out, 0, sizeof out);
	bind_in(&in[0], MYSQL_TYPE_STRING, name, strlen(name));
	MYSQL_STMT *st = run(m, "SELECT id FROM api_clients WHERE name = ? AND revoked_at IS NULL",
			     in, "find the client", err);
	if (st == NULL)
		return -1;
	bind_in(&out[0], MYSQL_TYPE_LONGLONG, id, 0);
	out[0].is_unsigned = 1;
	int r = -1;
	if (mysql_stmt_bind_result(st, out) == 0) {
		int f = mysql_stmt_fetch(st);
		r = f == 0 ? 1 : f == MYSQL_NO_DATA ? 0 : -1;
	}
	mysql_stmt_close(st);
	return r;
}

static bool load_pepper(const struct lf_admin_auth *a, uint8_t pepper[LF_AUTH_PEPPER_LEN],
			FILE *err)
{
	char why[600];
	lf_rc rc =
		lf_auth_pepper_load(a->pepper_file, true, a->secret_mode, pepper, why, sizeof why);
	if (rc == LF_ERROR) {
		fprintf(err, "ledgerflowctl: [auth] pepper_file: %s\n", why);
		return false;
	}
	if (rc == LF_DECLINED)
		fprintf(err, "ledgerflowctl: warning: %s\n", why);
	return true;
}

lf_rc lf_admin_webhook_add(const struct lf_db_params *p, const struct lf_admin_auth *a,
			   const char *url, const char *types, const char *client, FILE *out,
			   FILE *err)
{
	uint8_t pepper[LF_AUTH_PEPPER_LEN], box[LF_WEBHOOK_SEALED_LEN];
	char secret[LF_WEBHOOK_SECRET_TEXT_LEN + 1], idtext[LF_UUID_STR_LEN + 1];
	size_t box_len = 0;
	lf_uuid id;
	lf_uuid_v7(&id);
	lf_uuid_format(&id, idtext);
	if (!load_pepper(a, pepper, err))
		return LF_ERROR;
	bool sealed = lf_webhook_secret_new(secret) &&
		      lf_webhook_secret_seal(pepper, &id, secret, box, &box_len);
	OPENSSL_cleanse(pepper, sizeof pepper);
	if (!sealed) {
		fprintf(err, "ledgerflowctl: webhook add: no secret could be made\n");
		return LF_ERROR;
	}
	MYSQL *m = lf_admin_connect(p, err);
	if (m == NULL)
		return LF_ERROR;
	lf_rc rc = LF_ERROR;
	unsigned long long cid = 0;
	int found = client ? client_id(m, client, &cid, err) : 1;
	if (found == 0) {
		fprintf(err, "ledgerflowctl: webhook add: no client named %s (or it is revoked)\n",
			client);
		rc = LF_DECLINED;
	}
	MYSQL_BIND in[5];
	memset(in, 0, sizeof in);
	bind_in(&in[0], MYSQL_TYPE_BLOB, id.b, sizeof id.b);
	bind_in(&in[1], MYSQL_TYPE_STRING, url, strlen(url));
	bind_in(&in[2], MYSQL_TYPE_STRING, types, strlen(types));
	if (client)
		bind_in(&in[3], MYSQL_TYPE_LONGLONG, &cid, 0);
	else
		in[3].buffer_type = MYSQL_TYPE_NULL;
	in[3].is_unsigned = 1;
	bind_in(&in[4], MYSQL_TYPE_BLOB, box, box_len);
	MYSQL_STMT *st =
		found == 1 ? run(m,
				 "INSERT INTO webhooks (id, url, event_types, client_id,"
				 " secret_box, cursor_seq, created_at) SELECT ?, ?, ?, ?, ?,"
				 " last_seq, UTC_TIMESTAMP(3) FROM event_sequence WHERE id = 1",
				 in, "add the webhook", err)
			   : NULL;
	if (st != NULL) {
		bool one = mysql_stmt_affected_rows(st) == 1;
		mysql_stmt_close(st);
		if (one) {
			fprintf(out, "%s\n", idtext);
			fprintf(out,
				"webhook added: url=%s events=%s client=%s\n"
				"signing secret (shown once: verify LedgerFlow-Signature with "
				"it):\n"
				"%s\n",
				url, types, client ? client : "(every client)", secret);
			rc = LF_OK;
		} else {
			fprintf(err, "ledgerflowctl: webhook add: event_sequence is empty: "
				     "run ledgerflowctl migrate\n");
		}
	}
	OPENSSL_cleanse(secret, sizeof secret);
	mysql_close(m);
	return rc;
}

lf_rc lf_admin_webhook_list(const struct lf_db_params *p, FILE *out, FILE *err)
{
	MYSQL *m = lf_admin_connect(p, err);
	if (m == NULL)
		return LF_ERROR;
	MYSQL_STMT *st = run(m,
			     "SELECT w.id, w.url, w.event_types, c.name, DATE_FORMAT(w.created_at,"
			     " '%Y-%m-%dT%H:%i:%s.%fZ'),"
			     " (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id"
			     "  AND d.state = 'pending'),"
			     " (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id"
			     "  AND d.state = 'failed')"
			     " FROM webhooks w LEFT JOIN api_clients c ON c.id = w.client_id"
			     " WHERE w.removed_at IS NULL ORDER BY w.id",
			     NULL, "list the webhooks", err);
	if (st == NULL) {
		mysql_close(m);
		return LF_ERROR;
	}
	MYSQL_BIND b[7];
	unsigned long len[7];
	my_bool null[7];
	lf_uuid id;
	char url[LF_WEBHOOK_URL_MAX + 1], types[LF_WEBHOOK_TYPES_MAX + 1], client[101], at[40];
	long long pending = 0, failed = 0;
	memset(b, 0, sizeof b);
	bind_in(&b[0], MYSQL_TYPE_BLOB, id.b, sizeof id.b);
	bind_in(&b[1], MYSQL_TYPE_STRING, url, sizeof url);
	bind_in(&b[2], MYSQL_TYPE_STRING, types, sizeof types);
	bind_in(&b[3], MYSQL_TYPE_STRING, client, sizeof client);
	bind_in(&b[4], MYSQL_TYPE_STRING, at, sizeof at);
	bind_in(&b[5], MYSQL_TYPE_LONGLONG, &pending, 0);
	bind_in(&b[6], MYSQL_TYPE_LONGLONG, &failed, 0);
	for (int i = 0; i < 7; i++) {
		b[i].length = &len[i];
		b[i].is_null = &null[i];
	}
	lf_rc rc = LF_OK;
	if (mysql_stmt_bind_result(st, b) != 0)
		rc = LF_ERROR;
	unsigned n = 0;
	for (int f; rc == LF_OK && (f = mysql_stmt_fetch(st)) != MYSQL_NO_DATA; n++) {
		if (f == 1) {
			rc = LF_ERROR;
			break;
		}
		char idtext[LF_UUID_STR_LEN + 1];
		lf_uuid_format(&id, idtext);
		at[len[4] < sizeof at ? len[4] : sizeof at - 1] = '\0';
		fprintf(out,
			"%s url=%.*s events=%.*s client=%s created=%.23sZ pending=%lld "
			"given_up=%lld\n",
			idtext, (int)len[1], url, (int)len[2], types,
			null[3] ? "(every client)" : client, at, pending, failed);
	}
	if (rc != LF_OK)
		fprintf(err, "ledgerflowctl: list the webhooks: %s\n", mysql_stmt_error(st));
	else if (n == 0)
		fprintf(out, "no webhooks\n");
	mysql_stmt_close(st);
	mysql_close(m);
	return rc;
}

lf_rc lf_admin_webhook_remove(const struct lf_db_params *p, const char *idtext, FILE *out,
			      FILE *err)
{
	lf_uuid id;
	if (!lf_uuid_parse(idtext, strlen(idtext), &id)) {
		fprintf(err, "ledgerflowctl: webhook remove: %s is not a webhook id\n", idtext);
		return LF_DECLINED;
	}
	MYSQL *m = lf_admin_connect(p, err);
	if (m == NULL)
		return LF_ERROR;
	MYSQL_BIND in[1];
	memset(in, 0, sizeof in);
	bind_in(&in[0], MYSQL_TYPE_BLOB, id.b, sizeof id.b);
	lf_rc rc = LF_ERROR;
	if (mysql_query(m, "START TRANSACTION") != 0) {
		fprintf(err, "ledgerflowctl: webhook remove: %s\n", mysql_error(m));
		mysql_close(m);
		return LF_ERROR;
	}
	MYSQL_STMT *st = run(m,
			     "UPDATE webhooks SET removed_at = UTC_TIMESTAMP(3)"
			     " WHERE id = ? AND removed_at IS NULL",
			     in, "remove the webhook", err);
	bool one = st != NULL && mysql_stmt_affected_rows(st) == 1;
	if (st != NULL && !one) {
		fprintf(err, "ledgerflowctl: webhook remove: no webhook %s\n", idtext);
		rc = LF_DECLINED;
	}
	if (st != NULL)
		mysql_stmt_close(st);
	if (one && (st = run(m, "DELETE FROM webhook_deliveries WHERE webhook_id = ?", in,
			     "drop its queue", err)) != NULL) {
		unsigned long long dropped = mysql_stmt_affected_rows(st);
		mysql_stmt_close(st);
		if (mysql_query(m, "COMMIT") == 0) {
			fprintf(out, "webhook %s removed (%llu queued deliveries dropped)\n",
				idtext, dropped);
			rc = LF_OK;
		} else {
			fprintf(err, "ledgerflowctl: webhook remove: %s\n", mysql_error(m));
		}
	}
	if (rc != LF_OK)
		(void)mysql_query(m, "ROLLBACK");
	mysql_close(m);
	return rc;
}
