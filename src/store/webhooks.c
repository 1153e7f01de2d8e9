/*
 * store/webhooks.c - the delivery process's side of the database
 * (lf_store.h, 008_events.sql): the webhooks to deliver to, queueing each
 * one's new events (lf_webhook_enqueue), reading its oldest pending
 * deliveries with their events, recording an attempt (lf_webhook_result),
 * the backlog for /metrics, and the named lock that makes one process the
 * deliverer of a database. Writes only through the procedures.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

lf_rc lf_store_list_webhooks(struct lf_store_conn *c, struct lf_webhook_row *out, unsigned max,
			     unsigned *count)
{
	*count = 0;
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, ST_WEBHOOKS, &st);
	if (rc != LF_OK)
		return rc;
	MYSQL_BIND in[1], b[5];
	struct col k[5];
	int lim = (int)max;
	memset(in, 0, sizeof in);
	in_int(&in[0], &lim);
	if ((rc = lf_store_run(c, st, in)) != LF_OK)
		return rc;
	struct lf_webhook_row row;
	memset(&row, 0, sizeof row);
	memset(b, 0, sizeof b);
	memset(k, 0, sizeof k);
	out_bind(&b[0], &k[0], MYSQL_TYPE_BLOB, row.id.b, 16);
	out_bind(&b[1], &k[1], MYSQL_TYPE_STRING, row.url, sizeof row.url);
	out_bind(&b[2], &k[2], MYSQL_TYPE_STRING, row.types, sizeof row.types);
	out_bind(&b[3], &k[3], MYSQL_TYPE_LONGLONG, &row.client_id, 0);
	b[3].is_unsigned = 1;
	out_bind(&b[4], &k[4], MYSQL_TYPE_BLOB, row.secret_box, sizeof row.secret_box);
	if (mysql_stmt_bind_result(st, b))
		return lf_store_finish(c, st, lf_store_stmt_fail(c, st));
	while (*count < max) {
		int f = lf_store_next_row(c, st);
		if (f < 0)
			return lf_store_finish(c, st, lf_store_last_rc(c));
		if (f == 1)
			break;
		/* a row that does not fit is not one this version wrote: skip it */
		if (!out_uuid_ok(&k[0]) || k[1].len > LF_WEBHOOK_URL_MAX ||
		    k[2].len > LF_WEBHOOK_TYPES_MAX || k[4].len > sizeof row.secret_box)
			continue;
		out_str_fix(row.url, sizeof row.url, &k[1]);
		out_str_fix(row.types, sizeof row.types, &k[2]);
		row.has_client = !k[3].null;
		row.secret_box_len = k[4].len;
		out[(*count)++] = row;
	}
	return lf_store_finish(c, st, LF_OK);
}

lf_rc lf_store_webhook_enqueue(struct lf_store_conn *c, const lf_uuid *webhook, unsigned max,
			       int64_t now_ms, unsigned *queued)
{
	*queued = 0;
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, ST_WEBHOOK_ENQUEUE, &st);
	if (rc != LF_OK)
		return rc;
	MYSQL_BIND in[3], b[2];
	struct col k[2];
	MYSQL_TIME t_now;
	int lim = (int)max;
	long long n = 0, cursor = 0;
	memset(in, 0, sizeof in);
	in_uuid(&in[0], webhook);
	in_int(&in[1], &lim);
	in_time(&in[2], &t_now, now_ms);
	if ((rc = lf_store_run(c, st, in)) != LF_OK)
		return rc;
	memset(b, 0, sizeof b);
	memset(k, 0, sizeof k);
	out_bind(&b[0], &k[0], MYSQL_TYPE_LONGLONG, &n, 0);
	out_bind(&b[1], &k[1], MYSQL_TYPE_LONGLONG, &cursor, 0);
	/* (queued, cursor_seq): every column bound, or fetch writes past b */
	if (mysql_stmt_field_count(st) != 2 || mysql_stmt_bind_result(st, b))
		return lf_store_finish(c, st, lf_store_fail(c, 0, "lf_webhook_enqueue: no row"));
	int f = lf_store_next_row(c, st);
	if (f < 0)
		return lf_store_finish(c, st, lf_store_last_rc(c));
	*queued = f == 0 && n > 0 ? (unsigned)n : 0;
	return lf_store_finish(c, st, LF_OK);
}

void lf_delivery_row_clear(struct lf_delivery_row *d)
{
	if (d == NULL)
		return;
	lf_event_clear(&d->ev);
	memset(d, 0, sizeof *d);
}

lf_rc lf_store_webhook_pending(struct lf_store_conn *c, const lf_uuid *webhook,
			       struct lf_delivery_row *out, unsigned max, unsigned *count)
{
	*count = 0;
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, ST_WEBHOOK_PENDING, &st);
	if (rc != LF_OK)
		return rc;
	MYSQL_BIND in[2], b[9];
	struct col k[9];
	MYSQL_TIME t_next, t_created;
	int lim = (int)max;
	memset(in, 0, sizeof in);
	in_uuid(&in[0], webhook);
	in_int(&in[1], &lim);
	if ((rc = lf_store_run(c, st, in)) != LF_OK)
		return rc;
	struct lf_delivery_row row;
	memset(&row, 0, sizeof row);
	memset(b, 0, sizeof b);
	memset(k, 0, sizeof k);
	out_bind(&b[0], &k[0], MYSQL_TYPE_LONGLONG, &row.seq, 0);
	b[0].is_unsigned = 1;
	out_bind(&b[1], &k[1], MYSQL_TYPE_LONG, &row.attempts, 0);
	b[1].is_unsigned = 1;
	out_bind(&b[2], &k[2], MYSQL_TYPE_DATETIME, &t_next, 0);
	out_bind(&b[3], &k[3], MYSQL_TYPE_BLOB, row.ev.id.b, 16);
	out_bind(&b[4], &k[4], MYSQL_TYPE_STRING, row.ev.type, sizeof row.ev.type);
	out_bind(&b[5], &k[5], MYSQL_TYPE_DATETIME, &t_created, 0);
	out_bind(&b[6], &k[6], MYSQL_TYPE_BLOB, row.account.b, 16);
	out_bind(&b[7], &k[7], MYSQL_TYPE_BLOB, row.account2.b, 16);
	out_bind(&b[8], &k[8], MYSQL_TYPE_BLOB, NULL, 0);
	if (mysql_stmt_bind_result(st, b))
		return lf_store_finish(c, st, lf_store_stmt_fail(c, st));
	while (*count < max) {
		int f = lf_store_next_row(c, st);
		if (f < 0)
			rc = lf_store_last_rc(c);
		if (f != 0)
			break;
		out_str_fix(row.ev.type, sizeof row.ev.type, &k[4]);
		row.ev.seq = row.seq;
		row.next_ms = lf_store_time_to_ms(&t_next);
		row.ev.created_ms = lf_store_time_to_ms(&t_created);
		row.has_account2 = out_uuid_ok(&k[7]);
		size_t len = k[8].null ? 0 : k[8].len;
		if ((rc = lf_store_fetch_blob(c, st, 8, len, &row.ev.data)) != LF_OK)
			break;
		row.ev.data_len = len;
		out[(*count)++] = row; /* the data moves with it */
		row.ev.data = NULL;
	}
	if (rc != LF_OK) {
		for (unsigned j = 0; j < *count; j++)
			lf_delivery_row_clear(&out[j]);
		*count = 0;
	}
	return lf_store_finish(c, st, rc);
}

lf_rc lf_store_webhook_result(struct lf_store_conn *c, const lf_uuid *webhook, uint64_t seq,
			      bool delivered, int status, int64_t next_ms, bool give_up)
{
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, ST_WEBHOOK_RESULT, &st);
	if (rc != LF_OK)
		return rc;
	MYSQL_BIND in[6];
	MYSQL_TIME t_next;
	int d = delivered, g = give_up;
	memset(in, 0, sizeof in);
	in_uuid(&in[0], webhook);
	in_u64(&in[1], &seq);
	in_int(&in[2], &d);
	in_int(&in[3], &status);
	in_time(&in[4], &t_next, next_ms);
	in_int(&in[5], &g);
	if ((rc = lf_store_run(c, st, in)) != LF_OK)
		return rc;
	return lf_store_finish(c, st, LF_OK);
}

lf_rc lf_store_webhook_backlog(struct lf_store_conn *c, uint64_t *pending, uint64_t *failed)
{
	*pending = *failed = 0;
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, ST_WEBHOOK_BACKLOG, &st);
	if (rc != LF_OK)
		return rc;
	MYSQL_BIND none[1];
	memset(none, 0, sizeof none);
	if ((rc = lf_store_run(c, st, none)) != LF_OK)
		return rc;
	MYSQL_BIND b[2];
	struct col k[2];
	long long p = 0, f = 0;
	memset(b, 0, sizeof b);
	memset(k, 0, sizeof k);
	out_bind(&b[0], &k[0], MYSQL_TYPE_LONGLONG, &p, 0);
	out_bind(&b[1], &k[1], MYSQL_TYPE_LONGLONG, &f, 0);
	if (mysql_stmt_bind_result(st, b))
		return lf_store_finish(c, st, lf_store_stmt_fail(c, st));
	int r = lf_store_next_row(c, st);
	if (r < 0)
		return lf_store_finish(c, st, lf_store_last_rc(c));
	*pending = r == 0 && p > 0 ? (uint64_t)p : 0;
	*failed = r == 0 && f > 0 ? (uint64_t)f : 0;
	return lf_store_finish(c, st, LF_OK);
}

lf_rc lf_store_webhook_lead(struct lf_store_conn *c, bool *leader)
{
	*leader = false;
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, ST_WEBHOOK_LEAD, &st);
	if (rc != LF_OK)
		return rc;
	MYSQL_BIND none[1];
	memset(none, 0, sizeof none);
	if ((rc = lf_store_run(c, st, none)) != LF_OK)
		return rc;
	MYSQL_BIND b[1];
	struct col k[1];
	long long got = 0;
	memset(b, 0, sizeof b);
	memset(k, 0, sizeof k);
	out_bind(&b[0], &k[0], MYSQL_TYPE_LONGLONG, &got, 0);
	if (mysql_stmt_bind_result(st, b))
		return lf_store_finish(c, st, lf_store_stmt_fail(c, st));
	int r = lf_store_next_row(c, st);
	if (r < 0)
		return lf_store_finish(c, st, lf_store_last_rc(c));
	*leader = r == 0 && !k[0].null && got == 1;
	return lf_store_finish(c, st, LF_OK);
}
