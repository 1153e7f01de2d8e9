/*
 * store/clients.c - what the workers read about API clients (lf_store.h):
 * one key by its public prefix, with its client's scopes, rate and
 * revocation, and the authentication epoch that tells a worker when its
 * cached lookups are stale. Clients and keys are written by ledgerflowctl
 * (ctl/clients.c), never by the server.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "store_int.h"

lf_rc lf_store_find_key(struct lf_store_conn *c, const char prefix[LF_AUTH_PREFIX_LEN + 1],
			struct lf_key_row *out)
{
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, ST_FIND_KEY, &st);
	memset(out, 0, sizeof *out);
	if (rc != LF_OK)
		return rc;
	MYSQL_BIND in[1], b[6];
	struct col k[6];
	MYSQL_TIME t_expires;
	char scopes[256];
	unsigned rate = 0;
	int revoked = 0;
	memset(in, 0, sizeof in);
	memset(b, 0, sizeof b);
	memset(k, 0, sizeof k);
	in_text(&in[0], prefix, strnlen(prefix, LF_AUTH_PREFIX_LEN));
	if ((rc = lf_store_run(c, st, in)) != LF_OK)
		return rc;
	out_bind(&b[0], &k[0], MYSQL_TYPE_BLOB, out->digest, sizeof out->digest);
	out_bind(&b[1], &k[1], MYSQL_TYPE_LONGLONG, &out->client_id, 0);
	b[1].is_unsigned = 1;
	out_bind(&b[2], &k[2], MYSQL_TYPE_STRING, scopes, sizeof scopes);
	out_bind(&b[3], &k[3], MYSQL_TYPE_LONG, &rate, 0);
	b[3].is_unsigned = 1;
	out_bind(&b[4], &k[4], MYSQL_TYPE_DATETIME, &t_expires, 0);
	out_bind(&b[5], &k[5], MYSQL_TYPE_LONG, &revoked, 0);
	if (mysql_stmt_bind_result(st, b))
		return lf_store_finish(c, st, lf_store_stmt_fail(c, st));
	int f = lf_store_next_row(c, st);
	if (f < 0)
		return lf_store_finish(c, st, lf_store_last_rc(c));
	if (f == 1)
		return lf_store_finish(c, st, LF_DECLINED);
	if (k[0].null || k[0].len != LF_AUTH_DIGEST_LEN) {
		memset(out, 0, sizeof *out);
		return lf_store_finish(c, st,
				       lf_store_fail(c, 0, "api_keys.digest is not 32 bytes"));
	}
	out_str_fix(scopes, sizeof scopes, &k[2]);
	char bad[65];
	if (!lf_auth_scopes_parse(scopes, &out->scopes, bad)) {
		char msg[160];
		snprintf(msg, sizeof msg, "client %llu has an unknown scope \"%s\"",
			 (unsigned long long)out->client_id, bad);
		memset(out, 0, sizeof *out);
		return lf_store_finish(c, st, lf_store_fail(c, 0, msg));
	}
	out->rate = k[3].null ? 0 : rate;
	out->expires_ms = k[4].null ? 0 : lf_store_time_to_ms(&t_expires);
	out->revoked = revoked != 0;
	return lf_store_finish(c, st, LF_OK);
}

lf_rc lf_store_auth_epoch(struct lf_store_conn *c, uint64_t *epoch)
{
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, ST_AUTH_EPOCH, &st);
	if (rc != LF_OK)
		return rc;
	MYSQL_BIND none[1], b[1];
	struct col k[1];
	memset(none, 0, sizeof none);
	memset(b, 0, sizeof b);
	memset(k, 0, sizeof k);
	if ((rc = lf_store_run(c, st, none)) != LF_OK)
		return rc;
	out_bind(&b[0], &k[0], MYSQL_TYPE_LONGLONG, epoch, 0);
	b[0].is_unsigned = 1;
	if (mysql_stmt_bind_result(st, b))
		return lf_store_finish(c, st, lf_store_stmt_fail(c, st));
	int f = lf_store_next_row(c, st);
	if (f < 0)
		return lf_store_finish(c, st, lf_store_last_rc(c));
	/* the migration inserts the row; without it nothing can be trusted */
	if (f == 1)
		return lf_store_finish(c, st, lf_store_fail(c, 0, "auth_epoch has no row"));
	return lf_store_finish(c, st, LF_OK);
}
