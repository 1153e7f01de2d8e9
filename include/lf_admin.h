/*
 * lf_admin.h - the database administration behind `ledgerflowctl migrate |
 * seed | reconcile`: apply sql/NNN_name.sql migrations in order (each
 * recorded in schema_migrations), load the demo accounts, and check that
 * the books hold. Blocking; human-readable output goes to `out`.
 */
#ifndef LF_ADMIN_H
#define LF_ADMIN_H

#include <stdbool.h>
#include <stdio.h>

#include "lf_store.h"

struct st_mysql;

/* A plain connection for administration: utf8mb4, CLIENT_MULTI_STATEMENTS,
 * strict sql_mode, time_zone '+00:00'. NULL on failure, with the reason
 * (never the password) printed to out. Close with mysql_close(). */
struct st_mysql *lf_admin_connect(const struct lf_db_params *p, FILE *out);

/* Apply every sql_dir/NNN_name.sql not yet in schema_migrations, in
 * version order, each file as one multi-statement query, under a named
 * lock so two runs do not interleave. True when all are applied. */
bool lf_admin_migrate(const struct lf_db_params *p, const char *sql_dir, FILE *out)
	__attribute__((warn_unused_result));

/* Create the demo accounts (Alice 11111111-1111-1111-1111-111111111111,
 * Bob 22222222-2222-2222-2222-222222222222, USD, 1000.00 each as an
 * opening ledger entry). Idempotent: an existing account is left alone. */
bool lf_admin_seed(const struct lf_db_params *p, FILE *out) __attribute__((warn_unused_result));

/* Check the books on one consistent snapshot. Returns 0 when they hold,
 * 1 with a report of every violation class (count and example ids) when
 * they do not, 2 when the database cannot be reached or queried. */
int lf_admin_reconcile(const struct lf_db_params *p, FILE *out);

#endif
