/*
 * ctl/seed.c - `ledgerflowctl seed`: the two demo accounts of the
 * README (Alice and Bob, USD, each opened with 1000.00 as an opening
 * ledger entry), created through the same stored procedure as the API.
 * Idempotent: an account that already exists is left alone.
 */
#include "config.h"

#include "lf_admin.h"

#include <string.h>
#include <time.h>

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

static bool seed_one(struct lf_store_conn *c, const char *id_text, const char *name, FILE *out)
{
	struct lf_create_account_req r;
	char location[64];
	memset(&r, 0, sizeof r);
	if (!lf_uuid_parse(id_text, strlen(id_text), &r.id)) {
		fprintf(out, "seed: bad built-in id %s\n", id_text);
		return false;
	}
	snprintf(location, sizeof location, "/api/accounts/%s", id_text);
	r.name = name;
	r.currency = DEMO_CURRENCY;
	r.initial_balance = DEMO_INITIAL;
	lf_uuid_v7(&r.opening_entry_id);
	r.created_ms = now_ms();
	r.expires_ms = r.created_ms;
	r.location = location;

	enum lf_create_result res = LF_CREATE_CREATED;
	struct lf_stored stored;
	lf_rc rc = LF_AGAIN;
	for (int i = 0; i < SEED_RETRIES && rc == LF_AGAIN; i++)
		rc = lf_store_create_account(c, &r, &res, &stored);
	lf_stored_clear(&stored);
	if (rc != LF_OK) {
		fprintf(out, "seed: creating %s failed: %s\n", id_text, lf_store_error(c));
		return false;
	}
	if (res == LF_CREATE_CREATED)
		fprintf(out, "created account %s %s (%s 1000.00)\n", id_text, name, DEMO_CURRENCY);
	else
		fprintf(out, "account %s already exists, left alone\n", id_text);
	return true;
}

bool lf_admin_seed(const struct lf_db_params *p, FILE *out)
{
	char err[512];
	struct lf_store_conn *c = lf_store_connect(p, err, sizeof err);
	if (!c) {
		fprintf(out, "seed: %s\n", err);
		return false;
	}
	bool ok = true;
	for (size_t i = 0; i < sizeof demo_accounts / sizeof demo_accounts[0]; i++)
		ok = seed_one(c, demo_accounts[i].id, demo_accounts[i].name, out) && ok;
	lf_store_close(c);
	return ok;
}
