/*
 * lf_admin.h - the database administration behind `ledgerflowctl migrate |
 * seed | reconcile | grants | client ...`: apply sql/NNN_name.sql
 * migrations in order (each recorded in schema_migrations with its
 * checksum), load the demo accounts, check that the books hold, print the
 * runtime user's privileges, and manage the API clients and their keys.
 * Blocking; human-readable output goes to `out`.
 */
#ifndef LF_ADMIN_H
#define LF_ADMIN_H

#include <stdbool.h>
#include <stdio.h>

#include "lf_auth.h"
#include "lf_core.h"
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
 * opening ledger entry). Idempotent: an existing account is left alone,
 * except that with owner (a client's name) an account nobody owns yet
 * (client 0, made before authentication) is given to that client. */
bool lf_admin_seed(const struct lf_db_params *p, const char *owner, FILE *out)
	__attribute__((warn_unused_result));

struct lf_reconcile_opts {
	bool full;          /* every entry, not only those after the checkpoint */
	bool no_checkpoint; /* write no checkpoint (e.g. on a replica) */
	/* NULL, or a file for the Prometheus textfile collector: the run's
	 * result and end time, its violations, and the end time of the last
	 * clean run (carried over from the file when this one is not) */
	const char *metrics_file;
};
/* Check the books on one consistent, read-only snapshot, in linear passes
 * (ctl/reconcile.c has the list), from the last clean checkpoint unless
 * o->full; a clean run records the next checkpoint unless o->no_checkpoint
 * or the server is read-only. Returns 0 when the books hold, 1 when they
 * do not (each violation printed with its account and seq or its payment),
 * 2 when the database cannot be reached or queried (or o->metrics_file
 * cannot be written after the books held). A progress line goes to stderr
 * when it is a terminal. */
int lf_admin_reconcile(const struct lf_db_params *p, const struct lf_reconcile_opts *o, FILE *out);

/* Record an anchor: every account's (ledger_seq, chain_head) with the
 * time, and a SHA-256 digest over them (doc/database.md), in the anchors
 * tables; print and log one line with its id, time and digest. With
 * metrics_file, also write the Prometheus textfile-collector gauge
 * ledgerflow_anchor_timestamp_seconds there (atomically). 0 done, 2 error. */
int lf_admin_anchor(const struct lf_db_params *p, const char *metrics_file, FILE *out);

/* ---- the runtime user's privileges (ctl/grants.c) ---- */
struct lf_admin_grant {
	const char *object; /* a table, or a procedure when routine */
	bool routine;
	const char *privileges; /* "SELECT", "SELECT, DELETE", "EXECUTE" */
	const char *why;        /* what of the server needs it */
};
/* The one table of the runtime user's privileges in its database; its
 * length into *n. */
const struct lf_admin_grant *lf_admin_grants(size_t *n);
/* Print, for user@host on database: a REVOKE ALL, then one GRANT per row
 * of lf_admin_grants (each after a comment saying why), as SQL for the
 * admin to run. LF_DECLINED (a message on err) when a name is empty, too
 * long, or holds a quote, backslash or control character. */
lf_rc lf_admin_grants_print(const char *database, const char *user, const char *host, FILE *out,
			    FILE *err);

/* ---- API clients (ctl/clients.c) ---- */
struct lf_admin_auth {
	const char *pepper_file;         /* [auth] pepper_file, created if missing */
	enum lf_secret_mode secret_mode; /* [server] secret_permissions */
	int64_t rotate_grace_ms;         /* [auth] rotate_grace */
};
/* Each prints its human lines to out and its problems to err (a pepper
 * file others may read is a warning there). LF_OK; LF_DECLINED when the
 * name is taken (create), unknown (revoke, rotate) or revoked (rotate),
 * with a message; LF_ERROR for anything else (the database, the pepper).
 * A printed key is the last line of out, alone, and is never stored or
 * logged: the database holds its digest under the pepper. */
/* A client with scopes (LF_SCOPE_* bits) and rate (per second; 0 = the
 * configured default) and its first key, in one transaction. */
lf_rc lf_admin_client_create(const struct lf_db_params *p, const struct lf_admin_auth *a,
			     const char *name, unsigned scopes, unsigned rate, FILE *out,
			     FILE *err);
/* One line per client: id, name, scopes, rate, created, status, and the
 * prefixes of its keys that still work (with their expiry). */
lf_rc lf_admin_client_list(const struct lf_db_params *p, FILE *out, FILE *err);
/* Revoke the client and all its keys, and bump auth_epoch. Revoking a
 * revoked client changes nothing and is LF_OK. */
lf_rc lf_admin_client_revoke(const struct lf_db_params *p, const char *name, FILE *out, FILE *err);
/* A new key; the client's other keys expire at now + rotate_grace (or
 * sooner, if they already did); bump auth_epoch. */
lf_rc lf_admin_client_rotate(const struct lf_db_params *p, const struct lf_admin_auth *a,
			     const char *name, FILE *out, FILE *err);

#endif
