/*
 * ctl/seed.c - `ledgerflowctl seed`: the two demo accounts of the
 * README (Alice and Bob, USD, each opened with 1000.00 as an opening
 * ledger entry), created through the same stored procedure as the API,
 * owned by the client named with --owner (else by client 0, which only an
 * admin key can use). Idempotent: an account that already exists is left
 * alone, but one nobody owns is given to the --owner client.
 */
#include "config.h"

#include "lf_admin.h"

#include <string.h>
#include <time.h>

#include <mysql.h>

#include "lf_body.h"
#include "lf_render.h"
#include "lf_store.h"
#include "lf_uuid.h"

#define SEED_RETRIES 5

static const struct {
	const char *id;
	const char *name;
} demo_accounts[] = {
	{"11111111-1111-1111-1111-111111111111", "Alice"},
	{"22222222-2222-2222-2222-222222222222", "Bob"},
};
#define DEMO_CURRENCY "USD"
#define DEMO_INITIAL 100000 /* 1000.00 in cents */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One statement with up to two bound parameters (a name; or an id and a
 * uuid); the first column of the first row into *value when asked. */
static bool run(MYSQL *m, const char *sql, MYSQL_BIND *in, uint64_t *value, bool *found, FILE *out)
{
	MYSQL_STMT *st = mysql_stmt_init(m);
	bool ok = st != NULL && mysql_stmt_prepare(st, sql, (unsigned long)strlen(sql)) == 0 &&
		  mysql_stmt_bind_param(st, in) == 0 && mysql_stmt_execute(st) == 0;
	if (ok && value != NULL) {
		MYSQL_BIND b;
		memset(&b, 0, sizeof b);
		b.buffer_type = MYSQL_TYPE_LONGLONG;
		b.buffer = value;
		b.is_unsigned = 1;
		ok = mysql_stmt_bind_result(st, &b) == 0 && mysql_stmt_store_result(st) == 0;
		*found = ok && mysql_stmt_fetch(st) == 0;
	}
	if (!ok)
		fprintf(out, "seed: %s\n", st ? mysql_stmt_error(st) : mysql_error(m));
	if (st)
		mysql_stmt_close(st);
	return ok;
}

/* The id of the active client named owner; false (with a message) when
 * there is none. */
static bool owner_id(const struct lf_db_params *p, const char *owner, uint64_t *id, FILE *out)
{
	MYSQL *m = lf_admin_connect(p, out);
	if (m == NULL)
		return false;
	MYSQL_BIND in[1];
	memset(in, 0, sizeof in);
	in[0].buffer_type = MYSQL_TYPE_STRING;
	in[0].buffer = (void *)owner;
	in[0].buffer_length = (unsigned long)strlen(owner);
	bool found = false;
	bool ok = run(m, "SELECT id FROM api_clients WHERE name = ? AND revoked_at IS NULL", in, id,
		      &found, out);
	mysql_close(m);
	if (ok && !found)
		fprintf(out, "seed: no active client named %s (ledgerflowctl client create)\n",
			owner);
	return ok && found;
}

/* Give an account nobody owns (client 0) to owner. */
static bool adopt(const struct lf_db_params *p, const lf_uuid *id, uint64_t owner, FILE *out)
{
	MYSQL *m = lf_admin_connect(p, out);
	if (m == NULL)
		return false;
	MYSQL_BIND in[2];
	memset(in, 0, sizeof in);
	in[0].buffer_type = MYSQL_TYPE_LONGLONG;
	in[0].buffer = &owner;
	in[0].is_unsigned = 1;
	in[1].buffer_type = MYSQL_TYPE_BLOB;
	in[1].buffer = (void *)id->b;
	in[1].buffer_length = 16;
	bool ok = run(
		m, "UPDATE accounts SET owner_client_id = ? WHERE id = ? AND owner_client_id = 0",
		in, NULL, NULL, out);
	mysql_close(m);
	return ok;
}

static bool seed_one(struct lf_store_conn *c, const struct lf_db_params *p, uint64_t owner,
		     const char *id_text, const char *name, FILE *out)
{
	struct lf_create_account_req r;
	char location[64];
	memset(&r, 0, sizeof r);
	if (!lf_uuid_parse(id_text, strlen(id_text), &r.id)) {
		fprintf(out, "seed: bad built-in id %s\n", id_text);
		return false;
	}
	snprintf(location, sizeof location, "/api/accounts/%s", id_text);
	r.client_id = owner; /* the account's owner */
	r.name = name;
	r.currency = DEMO_CURRENCY;
	r.initial_balance = DEMO_INITIAL;
	lf_uuid_v7(&r.opening_entry_id);
	lf_uuid_v7(&r.issuance_entry_id);
	r.created_ms = now_ms();
	r.expires_ms = r.created_ms;
	r.location = location;
	/* the account as its GET renders it: the data of its account.created event */
	struct lf_account a = {.id = r.id,
			       .balance = r.initial_balance,
			       .created_ms = r.created_ms,
			       .updated_ms = r.created_ms};
	snprintf(a.name, sizeof a.name, "%s", name);
	snprintf(a.currency, sizeof a.currency, "%s", DEMO_CURRENCY);
	struct lf_body body;
	if (!lf_render_account_body(&body, &a)) {
		fprintf(out, "seed: out of memory\n");
		return false;
	}
	r.body = body.data;
	r.body_len = body.len;

	enum lf_create_result res = LF_CREATE_CREATED;
	struct lf_stored stored;
	lf_rc rc = LF_AGAIN;
	for (int i = 0; i < SEED_RETRIES && rc == LF_AGAIN; i++)
		rc = lf_store_create_account(c, &r, &res, &stored);
	lf_stored_clear(&stored);
	lf_body_clear(&body);
	if (rc != LF_OK) {
		fprintf(out, "seed: creating %s failed: %s\n", id_text, lf_store_error(c));
		return false;
	}
	if (res == LF_CREATE_CREATED) {
		fprintf(out, "created account %s %s (%s 1000.00)\n", id_text, name, DEMO_CURRENCY);
		return true;
	}
	fprintf(out, "account %s already exists, left alone\n", id_text);
	return owner == 0 || adopt(p, &r.id, owner, out);
}

bool lf_admin_seed(const struct lf_db_params *p, const char *owner, FILE *out)
{
	uint64_t owner_client = 0;
	if (owner != NULL && !owner_id(p, owner, &owner_client, out))
		return false;
	char err[512];
	struct lf_store_conn *c = lf_store_connect(p, err, sizeof err);
	if (!c) {
		fprintf(out, "seed: %s\n", err);
		return false;
	}
	bool ok = true;
	for (size_t i = 0; i < sizeof demo_accounts / sizeof demo_accounts[0]; i++)
		ok = seed_one(c, p, owner_client, demo_accounts[i].id, demo_accounts[i].name,
			      out) &&
		     ok;
	lf_store_close(c);
	return ok;
}
