/*
 * store/currencies.c - the currencies table (lf_store.h): listing it (GET
 * /api/currencies) and checking at start that it agrees with the server's
 * built-in ISO 4217 table (src/core/money.c), so that an amount is never
 * parsed with one exponent and stored under another.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lf_money.h"
#include "store_int.h"

/* More than ISO 4217 will ever list: the check reads one past it. */
#define CHECK_MAX 1024

lf_rc lf_store_list_currencies(struct lf_store_conn *c, struct lf_currency_row *out, unsigned max,
			       unsigned *count)
{
	MYSQL_STMT *st;
	lf_rc rc = lf_store_stmt(c, ST_LIST_CURRENCIES, &st);
	*count = 0;
	if (rc != LF_OK)
		return rc;
	MYSQL_BIND in[1], b[3];
	struct col k[3];
	uint64_t limit = max;
	struct lf_currency_row row;
	int exponent = 0;
	memset(in, 0, sizeof in);
	memset(b, 0, sizeof b);
	memset(k, 0, sizeof k);
	in_u64(&in[0], &limit);
	if ((rc = lf_store_run(c, st, in)) != LF_OK)
		return rc;
	out_bind(&b[0], &k[0], MYSQL_TYPE_STRING, row.code, sizeof row.code);
	out_bind(&b[1], &k[1], MYSQL_TYPE_LONG, &exponent, 0);
	out_bind(&b[2], &k[2], MYSQL_TYPE_BLOB, row.issuance_account_id.b, 16);
	if (mysql_stmt_bind_result(st, b))
		return lf_store_finish(c, st, lf_store_stmt_fail(c, st));
	for (unsigned n = 0; n < max; n++) {
		memset(&row, 0, sizeof row);
		int f = lf_store_next_row(c, st);
		if (f < 0)
			return lf_store_finish(c, st, lf_store_last_rc(c));
		if (f == 1)
			break;
		out_str_fix(row.code, sizeof row.code, &k[0]);
		row.exponent = exponent;
		out[(*count)++] = row;
	}
	return lf_store_finish(c, st, LF_OK);
}

lf_rc lf_store_check_currencies(struct lf_store_conn *c, char *why, size_t whylen)
{
	struct lf_currency_row *rows = calloc(CHECK_MAX, sizeof *rows);
	if (rows == NULL) {
		snprintf(why, whylen, "out of memory");
		return LF_ERROR;
	}
	unsigned n = 0;
	lf_rc rc = lf_store_list_currencies(c, rows, CHECK_MAX, &n);
	if (rc != LF_OK) {
		snprintf(why, whylen, "cannot read the currencies table: %u %s", lf_store_errno(c),
			 lf_store_error(c));
		free(rows);
		return rc;
	}
	size_t nbuilt;
	const struct lf_currency *built = lf_currency_table(&nbuilt);
	/* both sorted by code: one merge finds the first difference */
	size_t i = 0, j = 0;
	rc = LF_OK;
	while (rc == LF_OK && (i < nbuilt || j < n)) {
		int cmp = i == nbuilt ? 1 : j == n ? -1 : memcmp(built[i].code, rows[j].code, 4);
		if (cmp < 0) {
			snprintf(why, whylen, "%s is built in but not in the currencies table",
				 built[i].code);
			rc = LF_DECLINED;
		} else if (cmp > 0) {
			snprintf(why, whylen, "%s is in the currencies table but not built in",
				 rows[j].code);
			rc = LF_DECLINED;
		} else if (built[i].exponent != rows[j].exponent) {
			snprintf(why, whylen,
				 "%s has exponent %d in the currencies table, %d built in",
				 built[i].code, rows[j].exponent, built[i].exponent);
			rc = LF_DECLINED;
		}
		i++;
		j++;
	}
	free(rows);
	return rc;
}
