/*
 * store/history.c - the history reads of the v2 API: a client's payments
 * newest first (optionally those touching one account, optionally of one
 * status), keyset paged by payment id, and an account's balance as of a
 * time. Scoped like every read: someone else's rows are not there.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store_int.h"

/* The statement for this listing, its parameters bound into in[]. */
static enum lf_store_stmt_id list_params(const struct lf_payment_query *q,
					 const struct lf_client *who, MYSQL_BIND *in, int *admin,
					 uint64_t *limit)
{
	*admin = who->admin;
	const char *status = q->status;
	if (q->has_account) {
		for (int side = 0; side < 2; side++) {
			MYSQL_BIND *b = in + 7 * side;
			in_uuid(&b[0], &q->account);
			in_uuid(&b[1], &q->before);
			in_int(&b[2], admin);
			in_u64(&b[3], &who->id);
			in_str(&b[4], status);
			in_str(&b[5], status);
			in_u64(&b[6], limit);
		}
		in_u64(&in[14], limit);
		return ST_LIST_PAYMENTS_ACCOUNT;
	}
	if (!who->admin) {
		in_u64(&in[0], &who->id);
		in_uuid(&in[1], &q->before);
		in_str(&in[2], status);
		in_str(&in[3], status);
		in_u64(&in[4], limit);
		return ST_LIST_PAYMENTS_CLIENT;
	}
	in_uuid(&in[0], &q->before);
	in_str(&in[1], status);
	in_str(&in[2], status);
	in_u64(&in[3], limit);
	return ST_LIST_PAYMENTS_ALL;
}

lf_rc lf_store_list_payments(struct lf_store_conn *c, const struct lf_payment_query *q,
			     const struct lf_client *who, struct lf_payment *out, unsigned *count,
			     bool *more)
{
	*count = 0;
	*more = false;
	MYSQL_BIND in[15];
	memset(in, 0, sizeof in);
	int admin;
	uint64_t limit = (uint64_t)q->limit + 1; /* one more: is there a next page? */
	enum lf_store_stmt_id id = list_params(q, who, in, &admin, &limit);
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, id, &st);
	if (rc != LF_OK)
		return rc;
	if ((rc = lf_store_run(c, st, in)) != LF_OK)
		return rc;
	struct lf_store_payment_row *w = malloc(sizeof *w);
	if (w == NULL)
		return lf_store_finish(c, st, lf_store_fail(c, 0, "out of memory for payments"));
	if (!lf_store_payment_bind(c, st, w)) {
		free(w);
		return lf_store_finish(c, st, lf_store_last_rc(c));
	}
	rc = LF_OK;
	for (;;) {
		int f = lf_store_next_row(c, st);
		if (f < 0) {
			rc = lf_store_last_rc(c);
			break;
		}
		if (f == 1)
			break;
		if (*count == q->limit) {
			*more = true;
			break;
		}
		if (!lf_store_payment_take(w, &out[*count])) {
			rc = lf_store_fail(c, 0, "out of memory for a payment's metadata");
			break;
		}
		(*count)++;
	}
	free(w);
	if (rc != LF_OK) {
		for (unsigned i = 0; i < *count; i++)
			lf_payment_clear(&out[i]);
		*count = 0;
	}
	return lf_store_finish(c, st, rc);
}

lf_rc lf_store_balance_at(struct lf_store_conn *c, const lf_uuid *account,
			  const struct lf_client *who, int64_t at_ms, char currency[4],
			  int64_t *balance)
{
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, ST_BALANCE_AT, &st);
	currency[0] = '\0';
	*balance = 0;
	if (rc != LF_OK)
		return rc;
	MYSQL_BIND in[5], b[2];
	struct col k[2];
	MYSQL_TIME t_at;
	memset(in, 0, sizeof in);
	memset(b, 0, sizeof b);
	memset(k, 0, sizeof k);
	int admin = who->admin;
	in_uuid(&in[0], account);
	in_time(&in[1], &t_at, at_ms);
	in_uuid(&in[2], account);
	in_int(&in[3], &admin);
	in_u64(&in[4], &who->id);
	if ((rc = lf_store_run(c, st, in)) != LF_OK)
		return rc;
	char cur[4];
	int64_t after = 0;
	out_bind(&b[0], &k[0], MYSQL_TYPE_STRING, cur, sizeof cur);
	out_bind(&b[1], &k[1], MYSQL_TYPE_LONGLONG, &after, 0);
	if (mysql_stmt_bind_result(st, b))
		return lf_store_finish(c, st, lf_store_stmt_fail(c, st));
	int f = lf_store_next_row(c, st);
	if (f < 0)
		return lf_store_finish(c, st, lf_store_last_rc(c));
	if (f == 1)
		return lf_store_finish(c, st, LF_DECLINED); /* no such account for who */
	out_str_fix(cur, sizeof cur, &k[0]);
	memcpy(currency, cur, 4);
	*balance = k[1].null ? 0 : after; /* before the first entry: 0 */
	return lf_store_finish(c, st, LF_OK);
}
