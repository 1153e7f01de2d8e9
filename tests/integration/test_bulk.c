/*
 * test_bulk.c - POST /api/payments/batch against a real ledgerflowd
 * (issue 11): an atomic batch applied in request order (each item sees
 * the balances the items before it left), rolled back whole at the first
 * item that cannot be made (422 batch_failed with its index and error;
 * no payment, entry or event left), an independent batch's mixed results
 * (declines recorded), byte-identical replays, a key reused with another
 * body, the 400s (0 and 1001 items, a bad item, a hold), ownership inside
 * the batch, the same batch raced with one key (money moves once), and a
 * batch of 1000 items. After each: ledgerflowctl reconcile exits 0 and
 * every currency's balances sum to 0.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "harness.h"
#include "../lf_cunit.h"

static char admin[128], key_y[128];
static int seq;

struct item {
	const char *from, *to, *amount; /* amount as JSON text: 10 or "10.00" */
};

static const char *key(void)
{
	static char k[64];
	snprintf(k, sizeof k, "bulk-%ld-%d", (long)getpid(), ++seq);
	return k;
}

/* {"atomic": atomic, "payments": [items]}, malloc'd. */
static char *batch_body(const char *atomic, const struct item *it, int n)
{
	size_t cap = 64 + (size_t)n * 160;
	char *s = malloc(cap);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	size_t len = (size_t)snprintf(s, cap, "{\"atomic\":%s,\"payments\":[", atomic);
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len,
					"%s{\"fromAccountId\":\"%s\",\"toAccountId\":\"%s\","
					"\"amount\":%s}",
					i ? "," : "", it[i].from, it[i].to, it[i].amount);
	snprintf(s + len, cap - len, "]}");
	return s;
}

static int post_batch(const char *k, const char *body, struct lf_h_resp *r)
{
	char h[400] = "Content-Type: application/json\r\n";
	if (k != NULL)
		snprintf(h, sizeof h, "Content-Type: application/json\r\nIdempotency-Key: %s\r\n",
			 k);
	return lf_h_http(fx.d.port, "POST", "/api/payments/batch", h, body, r) == 0 ? r->status
										    : -1;
}

static void account(const char *initial, char id[37])
{
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "b", "USD", initial, id), 201);
}

static void balance_is(const char *id, const char *want)
{
	char bal[32] = "";
	CU_ASSERT_EQUAL(lf_h_balance(fx.d.port, id, bal, sizeof bal), 200);
	CU_ASSERT_STRING_EQUAL(bal, want);
}

/* SELECT COUNT(*) FROM <what> = <the account id> over the test database. */
static long long count(const char *what, const char *id)
{
	char sql[400];
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s UNHEX(REPLACE('%s','-',''))", what, id);
	long long n = -1;
	CU_ASSERT(lf_h_sql_int(&fx.env, fx.db, sql, &n));
	return n;
}

/* Events of an account, on either side. */
static long long events_of(const char *id)
{
	return count("events WHERE account_id =", id) + count("events WHERE account2_id =", id);
}

static void books_clean(void)
{
	CU_ASSERT_EQUAL(lf_h_ctl(&fx.env, &fx.d, "reconcile"), 0);
	long long unbalanced = -1;
	CU_ASSERT(lf_h_sql_int(&fx.env, fx.db,
			       "SELECT COUNT(*) FROM (SELECT currency FROM accounts"
			       " GROUP BY currency HAVING SUM(balance) <> 0) x",
			       &unbalanced));
	CU_ASSERT_EQUAL(unbalanced, 0);
}

/* The same request again with the same key: the same status and bytes,
 * marked as a replay. */
static void replays(const char *k, const char *body, const struct lf_h_resp *first)
{
	struct lf_h_resp r;
	char v[16] = "";
	CU_ASSERT_EQUAL(post_batch(k, body, &r), first->status);
	CU_ASSERT_STRING_EQUAL(r.body, first->body);
	CU_ASSERT(lf_h_header(&r, "Idempotent-Replayed", v, sizeof v));
	CU_ASSERT_STRING_EQUAL(v, "true");
	lf_h_resp_free(&r);
}

static void test_atomic_chain(void)
{
	char a[37], b[37], c[37];
	account("100.00", a);
	account(NULL, b);
	account(NULL, c);
	/* B has nothing until item 0 pays it; item 1 spends it at once */
	struct item it[] = {{a, b, "60"}, {b, c, "\"50.00\""}, {a, c, "10.5"}};
	char *body = batch_body("true", it, 3);
	const char *k0 = key();
	char k[64];
	snprintf(k, sizeof k, "%s", k0);
	struct lf_h_resp r;
	CU_ASSERT_EQUAL_FATAL(post_batch(k, body, &r), 201);
	/* in request order */
	const char *p0 = strstr(r.body, "\"amount\":\"60.00\"");
	const char *p1 = strstr(r.body, "\"amount\":\"50.00\"");
	const char *p2 = strstr(r.body, "\"amount\":\"10.50\"");
	CU_ASSERT(strncmp(r.body, "{\"payments\":[{", 14) == 0);
	CU_ASSERT(p0 != NULL && p1 != NULL && p2 != NULL && p0 < p1 && p1 < p2);
	CU_ASSERT_PTR_NULL(strstr(r.body, "DECLINED"));
	balance_is(a, "29.50");
	balance_is(b, "10.00");
	balance_is(c, "60.50");
	CU_ASSERT_EQUAL(count("payments WHERE to_account_id =", c), 2);
	CU_ASSERT_EQUAL(count("events WHERE type = 'payment.completed' AND account2_id =", c), 2);
	/* the same batch written otherwise is the same request */
	struct item same[] = {{a, b, "\"60.00\""}, {b, c, "50"}, {a, c, "\"10.50\""}};
	char *again = batch_body("true", same, 3);
	replays(k, again, &r);
	balance_is(a, "29.50");
	free(again);
	free(body);
	lf_h_resp_free(&r);
	books_clean();
}

/* A batch that must fail at `index` with `code`: 422 batch_failed, and
 * nothing of it anywhere; then its replay. */
static void fails_at(const char *a, const struct item *it, int n, int index, const char *code)
{
	long long pays = count("payments WHERE from_account_id =", a);
	long long ents = count("ledger_entries WHERE account_id =", a);
	long long evs = events_of(a);
	char *body = batch_body("true", it, n);
	char k[64];
	snprintf(k, sizeof k, "%s", key());
	struct lf_h_resp r;
	CU_ASSERT_EQUAL_FATAL(post_batch(k, body, &r), 422);
	char got[64] = "", want[64];
	long long idx = -1;
	CU_ASSERT(lf_h_json_str(r.body, "code", got, sizeof got));
	CU_ASSERT_STRING_EQUAL(got, "batch_failed");
	CU_ASSERT(lf_h_json_str(r.body, "title", got, sizeof got));
	CU_ASSERT_STRING_EQUAL(got, "A payment of the atomic batch could not be made");
	CU_ASSERT(lf_h_json_int(r.body, "index", &idx));
	CU_ASSERT_EQUAL(idx, index);
	snprintf(want, sizeof want, "\"error\":{\"type\":\"urn:ledgerflow:problem:%s\"", code);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, want));
	CU_ASSERT_EQUAL(count("payments WHERE from_account_id =", a), pays);
	CU_ASSERT_EQUAL(count("ledger_entries WHERE account_id =", a), ents);
	CU_ASSERT_EQUAL(events_of(a), evs);
	replays(k, body, &r);
	free(body);
	lf_h_resp_free(&r);
}

static void test_atomic_rollback(void)
{
	char a[37], b[37], e[37];
	account("100.00", a);
	account(NULL, b);
	lf_h_auth_use(admin);
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "e", "EUR", "5.00", e), 201);
	const char *nobody = "0191e5a0-0000-7000-8000-000000000001";
	/* A has 60 after items 0 and 1: 61 is too much */
	struct item funds[] = {{a, b, "50"}, {b, a, "10"}, {a, b, "61"}, {a, b, "1"}};
	fails_at(a, funds, 4, 2, "insufficient_funds");
	struct item missing[] = {{a, b, "1"}, {a, nobody, "1"}};
	fails_at(a, missing, 2, 1, "account_not_found");
	struct item same[] = {{a, b, "1"}, {a, a, "1"}};
	fails_at(a, same, 2, 1, "same_account");
	struct item mixed[] = {{a, e, "1"}};
	fails_at(a, mixed, 1, 0, "currency_mismatch");
	balance_is(a, "100.00");
	balance_is(b, "0.00");
	books_clean();
}

static void test_independent_mixed(void)
{
	char a[37], b[37];
	account("100.00", a);
	account(NULL, b);
	const char *nobody = "0191e5a0-0000-7000-8000-000000000002";
	struct item it[] = {{a, b, "60"}, {a, b, "60"}, {a, nobody, "1"}, {b, a, "10"}};
	char *body = batch_body("false", it, 4);
	char k[64];
	snprintf(k, sizeof k, "%s", key());
	struct lf_h_resp r;
	CU_ASSERT_EQUAL_FATAL(post_batch(k, body, &r), 200);
	const char *s0 = strstr(r.body, "{\"status\":201,\"payment\":{");
	const char *s1 = strstr(r.body, "{\"status\":422,\"problem\":{");
	const char *s1c = strstr(r.body, "insufficient_funds");
	const char *s2c = strstr(r.body, "account_not_found");
	const char *s3 = s2c ? strstr(s2c, "{\"status\":201,\"payment\":{") : NULL;
	CU_ASSERT(strncmp(r.body, "{\"results\":[", 12) == 0);
	CU_ASSERT(s0 != NULL && s1 != NULL && s1c != NULL && s2c != NULL && s3 != NULL);
	CU_ASSERT(s0 < s1 && s1 < s1c && s1c < s2c);
	balance_is(a, "50.00");
	balance_is(b, "50.00");
	/* the decline is recorded like any: a DECLINED payment and its event */
	CU_ASSERT_EQUAL(count("payments WHERE status = 'DECLINED' AND from_account_id =", a), 1);
	CU_ASSERT_EQUAL(count("events WHERE type = 'payment.declined' AND account_id =", a), 1);
	replays(k, body, &r);
	balance_is(a, "50.00");
	free(body);
	lf_h_resp_free(&r);
	books_clean();
}

static void test_key_reused(void)
{
	char a[37], b[37];
	account("10.00", a);
	account(NULL, b);
	const char *modes[] = {"true", "false"};
	for (int m = 0; m < 2; m++) {
		struct item one[] = {{a, b, "1"}}, other[] = {{a, b, "2"}};
		char *b1 = batch_body(modes[m], one, 1), *b2 = batch_body(modes[m], other, 1);
		char k[64], code[64] = "";
		snprintf(k, sizeof k, "%s", key());
		struct lf_h_resp r;
		CU_ASSERT(post_batch(k, b1, &r) / 100 == 2);
		lf_h_resp_free(&r);
		CU_ASSERT_EQUAL(post_batch(k, b2, &r), 422);
		CU_ASSERT(lf_h_json_str(r.body, "code", code, sizeof code));
		CU_ASSERT_STRING_EQUAL(code, "idempotency_key_reused");
		lf_h_resp_free(&r);
		free(b1);
		free(b2);
	}
	balance_is(a, "8.00");
	books_clean();
}

static void expect_400(const char *k, const char *body, const char *code, long long index)
{
	struct lf_h_resp r;
	char got[64] = "";
	long long idx = -1;
	CU_ASSERT_EQUAL(post_batch(k, body, &r), 400);
	CU_ASSERT(lf_h_json_str(r.body, "code", got, sizeof got));
	CU_ASSERT_STRING_EQUAL(got, code);
	if (index >= 0) {
		CU_ASSERT(lf_h_json_int(r.body, "index", &idx));
		CU_ASSERT_EQUAL(idx, index);
	}
	lf_h_resp_free(&r);
}

static void test_bad_requests(void)
{
	char a[37], b[37], k[64];
	account("10.00", a);
	account(NULL, b);
	snprintf(k, sizeof k, "%s", key());
	expect_400(k, "{\"atomic\":true,\"payments\":[]}", "invalid_request", -1);
	struct item *many = calloc(1001, sizeof *many);
	CU_ASSERT_PTR_NOT_NULL_FATAL(many);
	for (int i = 0; i < 1001; i++)
		many[i] = (struct item){a, b, "1"};
	char *big = batch_body("true", many, 1001);
	expect_400(k, big, "invalid_request", -1);
	free(big);
	free(many);
	expect_400(k, "{\"atomic\":\"yes\",\"payments\":[{}]}", "invalid_request", -1);
	char body[600];
	snprintf(body, sizeof body,
		 "{\"atomic\":false,\"payments\":[{\"fromAccountId\":\"%s\",\"toAccountId\":\"%s\","
		 "\"amount\":1},{\"fromAccountId\":\"%s\",\"toAccountId\":\"%s\",\"amount\":-1}]}",
		 a, b, a, b);
	expect_400(k, body, "invalid_amount", 1);
	snprintf(body, sizeof body,
		 "{\"atomic\":true,\"payments\":[{\"fromAccountId\":\"%s\",\"toAccountId\":\"%s\","
		 "\"amount\":\"1.001\"}]}",
		 a, b);
	expect_400(k, body, "invalid_amount", 0);
	snprintf(body, sizeof body,
		 "{\"atomic\":true,\"payments\":[{\"fromAccountId\":\"%s\",\"toAccountId\":\"%s\","
		 "\"amount\":1,\"capture\":false}]}",
		 a, b);
	expect_400(k, body, "invalid_request", 0);
	struct lf_h_resp r;
	CU_ASSERT_EQUAL(post_batch(NULL, "{\"atomic\":true,\"payments\":[]}", &r), 400);
	lf_h_resp_free(&r);
	/* no 400 was stored: the key still decides a good batch */
	struct item ok[] = {{a, b, "1"}};
	char *good = batch_body("true", ok, 1);
	CU_ASSERT_EQUAL(post_batch(k, good, &r), 201);
	lf_h_resp_free(&r);
	free(good);
	balance_is(a, "9.00");
	books_clean();
}

static void test_ownership(void)
{
	char a[37], y[37];
	account("10.00", a); /* the admin's */
	lf_h_auth_use(key_y);
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "y", "USD", NULL, y), 201);
	/* client Y may credit A, never debit it */
	struct item steal[] = {{a, y, "5"}};
	char *atomic = batch_body("true", steal, 1), *indep = batch_body("false", steal, 1);
	struct lf_h_resp r;
	CU_ASSERT_EQUAL(post_batch(key(), atomic, &r), 422);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "urn:ledgerflow:problem:account_not_found"));
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(post_batch(key(), indep, &r), 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "{\"status\":422,\"problem\":"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "account_not_found"));
	lf_h_resp_free(&r);
	lf_h_auth_use(admin);
	balance_is(a, "10.00");
	balance_is(y, "0.00");
	free(atomic);
	free(indep);
	books_clean();
}

struct racer {
	const char *key, *body;
	int status;
	char first[4096];
};

static void *race(void *arg)
{
	struct racer *x = arg;
	x->status = -1;
	/* a 409 in flight is retried until the outcome is decided */
	for (int i = 0; i < 200; i++) {
		struct lf_h_resp r;
		int st = post_batch(x->key, x->body, &r);
		if (st > 0)
			snprintf(x->first, sizeof x->first, "%s", r.body);
		if (st > 0)
			lf_h_resp_free(&r);
		if (st != 409) {
			x->status = st;
			break;
		}
		usleep(20000);
	}
	return NULL;
}

static void test_same_key_race(void)
{
	char a[37], b[37];
	account("100.00", a);
	account(NULL, b);
	const char *modes[] = {"true", "false"};
	for (int m = 0; m < 2; m++) {
		struct item it[] = {{a, b, "7"}, {a, b, "3"}};
		char *body = batch_body(modes[m], it, 2);
		char k[64];
		snprintf(k, sizeof k, "%s", key());
		struct racer x[4];
		pthread_t t[4];
		for (int i = 0; i < 4; i++) {
			x[i] = (struct racer){.key = k, .body = body};
			CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, race, &x[i]), 0);
		}
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
		for (int i = 0; i < 4; i++) {
			CU_ASSERT_EQUAL(x[i].status, m == 0 ? 201 : 200);
			CU_ASSERT_STRING_EQUAL(x[i].first, x[0].first);
		}
		free(body);
	}
	/* twice 10.00, once per batch */
	balance_is(a, "80.00");
	balance_is(b, "20.00");
	books_clean();
}

static void test_thousand_items(void)
{
	char a[37], b[37];
	account("1000.00", a);
	account(NULL, b);
	struct item *it = calloc(1000, sizeof *it);
	CU_ASSERT_PTR_NOT_NULL_FATAL(it);
	for (int i = 0; i < 1000; i++)
		it[i] = (struct item){a, b, "\"0.50\""};
	char *body = batch_body("true", it, 1000);
	struct lf_h_resp r;
	CU_ASSERT_EQUAL(post_batch(key(), body, &r), 201);
	lf_h_resp_free(&r);
	balance_is(a, "500.00");
	balance_is(b, "500.00");
	free(body);
	/* 200 independent items, the last 100 declined */
	for (int i = 0; i < 200; i++)
		it[i] = (struct item){a, b, "5"};
	body = batch_body("false", it, 200);
	CU_ASSERT_EQUAL(post_batch(key(), body, &r), 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "insufficient_funds"));
	lf_h_resp_free(&r);
	balance_is(a, "0.00");
	balance_is(b, "1000.00");
	CU_ASSERT_EQUAL(count("payments WHERE status = 'DECLINED' AND from_account_id =", a), 100);
	free(body);
	free(it);
	books_clean();
}

/* An independent batch cut short after its items were decided (its own
 * answer never stored; here: deleted): the same batch again replays every
 * item and answers the same bytes; another batch under the key is 422. */
static void test_cut_short(void)
{
	char a[37], b[37];
	account("10.00", a);
	account(NULL, b);
	/* 200 items: an answer over 64 KiB, which the shm tier does not keep */
	struct item it[200];
	for (int i = 0; i < 200; i++)
		it[i] = (struct item){a, b, "\"0.01\""};
	char *body = batch_body("false", it, 200), *other = batch_body("true", it, 2);
	char k[64], sql[200], code[64] = "";
	snprintf(k, sizeof k, "%s", key());
	struct lf_h_resp first, r;
	CU_ASSERT_EQUAL_FATAL(post_batch(k, body, &first), 200);
	CU_ASSERT(first.body_len > 65536);
	snprintf(sql, sizeof sql, "DELETE FROM idempotency_keys WHERE idem_key = '%s'", k);
	CU_ASSERT(lf_h_sql(&fx.env, fx.db, sql));
	/* Redis still holds it: flush it */
	const char *flush[] = {"FLUSHALL"};
	char type;
	long long num;
	char buf[64];
	CU_ASSERT(lf_h_redis(&fx.env, 1, flush, &type, &num, buf, sizeof buf));
	CU_ASSERT_EQUAL(post_batch(k, other, &r), 422);
	CU_ASSERT(lf_h_json_str(r.body, "code", code, sizeof code));
	CU_ASSERT_STRING_EQUAL(code, "idempotency_key_reused");
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(post_batch(k, body, &r), 200);
	CU_ASSERT_STRING_EQUAL(r.body, first.body);
	lf_h_resp_free(&r);
	balance_is(a, "8.00");
	balance_is(b, "2.00");
	free(body);
	free(other);
	lf_h_resp_free(&first);
	books_clean();
}

static int setup(void)
{
	snprintf(admin, sizeof admin, "%s", lf_h_admin_key);
	const char *scopes = "--scopes accounts:read,accounts:write,payments:read,payments:write";
	char cmd[200];
	snprintf(cmd, sizeof cmd, "client create bulk-y %s", scopes);
	if (lf_h_ctl_key(&fx.env, &fx.d, cmd, key_y, sizeof key_y) != 0)
		return 1;
	lf_h_auth_use(admin);
	return 0;
}

static const struct lf_test tests[] = {
	{"atomic: in order, each item sees the balances before it; replay", test_atomic_chain},
	{"atomic: rolled back whole at the failing item, with its error", test_atomic_rollback},
	{"independent: mixed results, declines recorded; replay", test_independent_mixed},
	{"the key reused with another batch is 422", test_key_reused},
	{"400s: 0 and 1001 items, a bad item with its index, a hold", test_bad_requests},
	{"another client's sender is account_not_found inside the batch", test_ownership},
	{"the same batch raced under one key moves money once", test_same_key_race},
	{"1000 items atomic, 200 independent", test_thousand_items},
	{"a batch cut short replays its decided items; another batch is 422", test_cut_short},
};

static const struct lf_suite suites[] = {{"bulk", LF_TESTS(tests)}};

int main(void)
{
	/* 1000 items are about 150 KiB: above the 64K default */
	static const struct lf_h_fixture_opts opts = {
		.name = "bulk", .setup = setup, .extra_conf = "[server]\nmax_body_size = 1M\n"};
	return lf_h_fixture_main(suites, LF_COUNT(suites), &opts);
}
