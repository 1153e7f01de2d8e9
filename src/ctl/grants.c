/*
 * ctl/grants.c - `ledgerflowctl grants`: the runtime user's privileges.
 * grants[] below is the one list of what the server (and `ledgerflowctl
 * reconcile`, which runs as the same user) may do in its database: SELECT
 * on what it reads, EXECUTE on the stored procedures that move money
 * (SQL SECURITY DEFINER: they write as the admin user who created them),
 * and the one direct write the server issues, the reaper's DELETE of
 * expired idempotency keys. Nothing may UPDATE or DELETE history, and
 * nothing INSERTs outside a procedure. Every statement of src/store/conn.c
 * and src/ctl/reconcile.c is covered; the integration tests run the
 * servers as a user given exactly what lf_admin_grants_print prints, so a
 * statement needing more fails the suite. A new table the server reads, or
 * a new procedure, is a new row here.
 */
#include "config.h"

#include "lf_admin.h"

#include <string.h>

/* clang-format off */
static const struct lf_admin_grant grants[] = {
	{"accounts", false, "SELECT",
	 "GET /api/accounts/{id}, the ledger's account, the currencies of a payment's accounts"},
	{"payments", false, "SELECT", "GET /api/payments/{id}"},
	{"ledger_entries", false, "SELECT", "GET /api/accounts/{id}/ledger"},
	{"idempotency_keys", false, "SELECT, DELETE",
	 "the reaper deletes expired keys; reconcile reads them"},
	{"api_keys", false, "SELECT", "the gate finds a key by its prefix"},
	{"api_clients", false, "SELECT", "a key's client: scopes, rate, revocation"},
	{"auth_epoch", false, "SELECT", "the workers drop cached key lookups when it moves"},
	{"refunds", false, "SELECT", "GET /api/payments/{id}/refunds"},
	{"currencies", false, "SELECT", "GET /api/currencies; the start checks it against the built-in table"},
	{"events", false, "SELECT", "GET /api/events; the delivery process reads what it sends"},
	{"webhooks", false, "SELECT", "the delivery process: endpoints, types, sealed secrets"},
	{"webhook_deliveries", false, "SELECT", "the delivery process: its queue"},
	{"lf_transfer_v2", true, "EXECUTE", "POST /api/payments"},
	{"lf_transfer_group_v2", true, "EXECUTE", "POST /api/payments: concurrent payments in one transaction"},
	{"lf_group_lock", true, "EXECUTE", "POST /api/payments: a group that locks a contended account before reading it"},
	{"lf_record_outcome", true, "EXECUTE", "a 422 decided before the transaction"},
	{"lf_create_account", true, "EXECUTE", "POST /api/accounts"},
	{"lf_get_outcome", true, "EXECUTE", "the stored outcome of a key after a lost connection"},
	{"lf_finish_hold_v2", true, "EXECUTE", "POST /api/payments/{id}/capture and /void"},
	{"lf_refund_v2", true, "EXECUTE", "POST /api/payments/{id}/refunds"},
	{"lf_bulk_atomic", true, "EXECUTE", "POST /api/payments/batch, an atomic batch"},
	{"lf_expire_hold", true, "EXECUTE", "the reaper expires holds past their time"},
	{"lf_events_sequence", true, "EXECUTE", "commit order: GET /api/events and the delivery process"},
	{"lf_webhook_enqueue", true, "EXECUTE", "the delivery process queues a webhook's new events"},
	{"lf_webhook_result", true, "EXECUTE", "the delivery process records an attempt"},
	/* the previous release's signatures (sql/procedures_compat.sql): its
	 * binary still serves during a binary upgrade */
	{"lf_transfer", true, "EXECUTE", "compat: the previous release's POST /api/payments"},
	{"lf_transfer_batch", true, "EXECUTE", "compat: the previous release's group commit (falls back)"},
	{"lf_transfer_group", true, "EXECUTE", "compat: the previous release's group commit (JSON objects)"},
	{"lf_finish_hold", true, "EXECUTE", "compat: the previous release's capture and void"},
	{"lf_refund", true, "EXECUTE", "compat: the previous release's refunds"},
	{"lf_expire_holds", true, "EXECUTE", "compat: the previous release's reaper (expires nothing)"},
};
/* clang-format on */

const struct lf_admin_grant *lf_admin_grants(size_t *n)
{
	*n = sizeof grants / sizeof grants[0];
	return grants;
}

/* A name we put between quotes without escaping: printable ASCII, none of
 * the quote characters or the backslash, 1..max bytes. */
static bool plain_name(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7f || c == '\'' || c == '"' || c == '`' || c == '\\')
			return false;
	}
	return true;
}

lf_rc lf_admin_grants_print(const char *database, const char *user, const char *host, FILE *out,
			    FILE *err)
{
	if (!plain_name(database, 64) || !plain_name(user, 80) || !plain_name(host, 255)) {
		fprintf(err, "grants: the database, user and host must be 1..64, 1..80 and 1..255 "
			     "printable characters without quotes or backslashes\n");
		return LF_DECLINED;
	}
	fprintf(out,
		"-- ledgerflowctl grants: what the runtime user '%s'@'%s' may do in `%s`.\n"
		"-- Run after `ledgerflowctl migrate` (the tables and the procedures must\n"
		"-- exist), and again after every upgrade, as an account that may manage\n"
		"-- users (REVOKE ALL needs CREATE USER), e.g. root; create the user first:\n"
		"-- CREATE USER '%s'@'%s' IDENTIFIED BY '...';\n",
		user, host, database, user, host);
	fprintf(out, "REVOKE ALL PRIVILEGES, GRANT OPTION FROM '%s'@'%s';\n", user, host);
	for (size_t i = 0; i < sizeof grants / sizeof grants[0]; i++) {
		const struct lf_admin_grant *g = &grants[i];
		fprintf(out, "-- %s\nGRANT %s ON %s`%s`.`%s` TO '%s'@'%s';\n", g->why,
			g->privileges, g->routine ? "PROCEDURE " : "", database, g->object, user,
			host);
	}
	return ferror(out) ? LF_ERROR : LF_OK;
}
