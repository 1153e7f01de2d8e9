/*
 * store/events.c - the events of the transactional outbox (lf_store.h,
 * 008_events.sql): numbering the committed ones in commit order
 * (lf_events_sequence) and reading them by that order, scoped to the
 * asking client like every read. The events themselves are written by the
 * procedures that make the changes, never from here.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

void lf_event_clear(struct lf_event *e)
{
	if (e == NULL)
		return;
	free(e->data);
	memset(e, 0, sizeof *e);
}

lf_rc lf_store_fetch_blob(struct lf_store_conn *c, MYSQL_STMT *st, unsigned col, size_t len,
			  char **out)
{
	char *p = malloc(len + 1);
	if (p == NULL)
		return lf_store_fail(c, 0, "out of memory for a column");
	if (len > 0) {
		MYSQL_BIND bb;
		memset(&bb, 0, sizeof bb);
		bb.buffer_type = MYSQL_TYPE_BLOB;
		bb.buffer = p;
		bb.buffer_length = (unsigned long)len;
		if (mysql_stmt_fetch_column(st, &bb, col, 0)) {
			free(p);
			return lf_store_stmt_fail(c, st);
		}
	}
	p[len] = '\0';
	*out = p;
	return LF_OK;
}

lf_rc lf_store_sequence_events(struct lf_store_conn *c, unsigned max)
{
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, ST_EVENTS_SEQUENCE, &st);
	if (rc != LF_OK)
		return rc;
	MYSQL_BIND in[1];
	int n = (int)max;
	memset(in, 0, sizeof in);
	in_int(&in[0], &n);
	if ((rc = lf_store_run(c, st, in)) != LF_OK)
		return rc;
	/* one row (sequenced, last_seq): nothing in it the caller needs */
	return lf_store_finish(c, st, LF_OK);
}

/* The columns seq, id, type, created_at, data of the current statement. */
struct event_cols {
	MYSQL_BIND b[5];
	struct col k[5];
	MYSQL_TIME t;
};

static void event_bind(struct event_cols *x, struct lf_event *e)
{
	memset(x, 0, sizeof *x);
	out_bind(&x->b[0], &x->k[0], MYSQL_TYPE_LONGLONG, &e->seq, 0);
	x->b[0].is_unsigned = 1;
	out_bind(&x->b[1], &x->k[1], MYSQL_TYPE_BLOB, e->id.b, 16);
	out_bind(&x->b[2], &x->k[2], MYSQL_TYPE_STRING, e->type, sizeof e->type);
	out_bind(&x->b[3], &x->k[3], MYSQL_TYPE_DATETIME, &x->t, 0);
	out_bind(&x->b[4], &x->k[4], MYSQL_TYPE_BLOB, NULL, 0);
}

/* After a fetch into x: finish the event (its data read from column 4). */
static lf_rc event_take(struct lf_store_conn *c, MYSQL_STMT *st, struct event_cols *x,
			struct lf_event *e)
{
	out_str_fix(e->type, sizeof e->type, &x->k[2]);
	e->created_ms = lf_store_time_to_ms(&x->t);
	if (!out_uuid_ok(&x->k[1]))
		return lf_store_fail(c, 0, "an event id that is not 16 bytes");
	lf_rc rc = lf_store_fetch_blob(c, st, 4, x->k[4].null ? 0 : x->k[4].len, &e->data);
	if (rc == LF_OK)
		e->data_len = x->k[4].null ? 0 : x->k[4].len;
	return rc;
}

lf_rc lf_store_list_events(struct lf_store_conn *c, uint64_t after, const struct lf_client *who,
			   struct lf_event *out, unsigned max, unsigned *count)
{
	*count = 0;
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, who->admin ? ST_LIST_EVENTS_ALL : ST_LIST_EVENTS_CLIENT, &st);
	if (rc != LF_OK)
		return rc;
	MYSQL_BIND in[3];
	int lim = (int)max;
	memset(in, 0, sizeof in);
	int i = 0;
	if (!who->admin)
		in_u64(&in[i++], &who->id);
	in_u64(&in[i++], &after);
	in_int(&in[i], &lim);
	if ((rc = lf_store_run(c, st, in)) != LF_OK)
		return rc;
	struct lf_event row;
	struct event_cols x;
	memset(&row, 0, sizeof row);
	event_bind(&x, &row);
	if (mysql_stmt_bind_result(st, x.b))
		return lf_store_finish(c, st, lf_store_stmt_fail(c, st));
	while (*count < max) {
		int f = lf_store_next_row(c, st);
		if (f < 0)
			rc = lf_store_last_rc(c);
		if (f != 0)
			break;
		if ((rc = event_take(c, st, &x, &row)) != LF_OK)
			break;
		out[(*count)++] = row; /* the data moves with it */
		row.data = NULL;
	}
	if (rc != LF_OK) {
		for (unsigned j = 0; j < *count; j++)
			lf_event_clear(&out[j]);
		*count = 0;
	}
	return lf_store_finish(c, st, rc);
}

lf_rc lf_store_get_event(struct lf_store_conn *c, const lf_uuid *id, const struct lf_client *who,
			 struct lf_event *out)
{
	memset(out, 0, sizeof *out);
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, ST_GET_EVENT, &st);
	if (rc != LF_OK)
		return rc;
	MYSQL_BIND in[3];
	int admin = who->admin;
	memset(in, 0, sizeof in);
	in_uuid(&in[0], id);
	in_int(&in[1], &admin);
	in_u64(&in[2], &who->id);
	if ((rc = lf_store_run(c, st, in)) != LF_OK)
		return rc;
	struct event_cols x;
	event_bind(&x, out);
	if (mysql_stmt_bind_result(st, x.b))
		return lf_store_finish(c, st, lf_store_stmt_fail(c, st));
	int f = lf_store_next_row(c, st);
	if (f < 0)
		return lf_store_finish(c, st, lf_store_last_rc(c));
	if (f == 1)
		return lf_store_finish(c, st, LF_DECLINED);
	return lf_store_finish(c, st, event_take(c, st, &x, out));
}
