/*
 * test_history.c - the history reads against a real ledgerflowd:
 *   GET /api/payments: a client's payments newest first, with accountId
 *   (both directions) and status filters, paged with cursors that work
 *   only for the listing they came from; another client sees none of
 *   them, admin sees every one; bad parameters are 400.
 *   GET /api/accounts/{id}/balance?at=: 0 before the first entry, the
 *   balance after each entry at its own time, the current balance later;
 *   someone else's account 404; a bad time 400.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "harness.h"
#include "../lf_cunit.h"

static char key_x[128], key_y[128], admin[128];
static char funded[37], acct_a[37];
#define X_COMPLETED 5

static int get(const char *path, struct lf_h_resp *r)
{
	return lf_h_http(fx.d.port, "GET", path, NULL, NULL, r) == 0 ? r->status : -1;
}

/* The ids of a page's payments, in order, into ids (37 bytes each);
 * their count. nextCursor into cursor ("" when null). */
static int page(const char *body, char ids[][37], int max, char *cursor, size_t clen)
{
	int n = 0;
	const char *p = strstr(body, "\"payments\":[");
	const char *end = strstr(body, "],\"nextCursor\":");
	if (p == NULL || end == NULL)
		return -1;
	while ((p = strstr(p, "{\"id\":\"")) != NULL && p < end && n < max) {
		p += 7;
		memcpy(ids[n], p, 36);
		ids[n++][36] = '\0';
	}
	cursor[0] = '\0';
	if (!lf_h_json_null(body, "nextCursor"))
		lf_h_json_str(body, "nextCursor", cursor, clen);
	return n;
}

static int pay(const char *from, const char *to, const char *amount)
{
	static int seq;
	char k[64];
	snprintf(k, sizeof k, "hist-%ld-%d", (long)getpid(), ++seq);
	struct lf_h_resp r;
	int st = lf_h_pay(fx.d.port, k, from, to, amount, &r);
	lf_h_resp_free(&r);
	return st;
}

static void test_list(void)
{
	char path[300], ids[16][37], all[16][37], cursor[200];
	struct lf_h_resp r;
	lf_h_auth_use(key_x);
	snprintf(path, sizeof path, "/api/payments?accountId=%s", acct_a);
	CU_ASSERT_EQUAL_FATAL(get(path, &r), 200);
	int n = page(r.body, all, 16, cursor, sizeof cursor);
	lf_h_resp_free(&r);
	/* X's own: 5 completed and 1 declined; not the admin's funding */
	CU_ASSERT_EQUAL(n, X_COMPLETED + 1);
	CU_ASSERT_STRING_EQUAL(cursor, "");
	for (int i = 1; i < n; i++) /* newest first: UUIDv7 ids descend */
		CU_ASSERT(strcmp(all[i - 1], all[i]) > 0);

	/* pages of 2 give the same list */
	int got = 0;
	char next[200] = "";
	for (int pg = 0; pg < 5; pg++) {
		snprintf(path, sizeof path, "/api/payments?accountId=%s&limit=2%s%s", acct_a,
			 next[0] ? "&cursor=" : "", next);
		CU_ASSERT_EQUAL_FATAL(get(path, &r), 200);
		int k = page(r.body, ids, 16, cursor, sizeof cursor);
		lf_h_resp_free(&r);
		CU_ASSERT(k >= 0 && k <= 2);
		for (int i = 0; i < k && got < 16; i++, got++)
			CU_ASSERT_STRING_EQUAL(ids[i], all[got]);
		snprintf(next, sizeof next, "%s", cursor);
		if (next[0] == '\0')
			break;
	}
	CU_ASSERT_EQUAL(got, n);
	CU_ASSERT_STRING_EQUAL(next, "");

	/* a page's cursor, edited or used for another listing, is refused */
	snprintf(path, sizeof path, "/api/payments?accountId=%s&limit=2", acct_a);
	CU_ASSERT_EQUAL_FATAL(get(path, &r), 200);
	page(r.body, ids, 16, cursor, sizeof cursor);
	lf_h_resp_free(&r);
	CU_ASSERT_FATAL(strlen(cursor) == 65);
	char edited[200];
	snprintf(edited, sizeof edited, "%s", cursor);
	edited[40] = edited[40] == '0' ? '1' : '0';
	snprintf(path, sizeof path, "/api/payments?accountId=%s&limit=2&cursor=%s", acct_a, edited);
	CU_ASSERT_EQUAL(get(path, &r), 400);
	lf_h_resp_free(&r);
	snprintf(path, sizeof path, "/api/payments?accountId=%s&status=COMPLETED&cursor=%s", acct_a,
		 cursor);
	CU_ASSERT_EQUAL(get(path, &r), 400);
	lf_h_resp_free(&r);
	lf_h_auth_use(key_y);
	snprintf(path, sizeof path, "/api/payments?accountId=%s&limit=2&cursor=%s", acct_a, cursor);
	CU_ASSERT_EQUAL(get(path, &r), 400); /* another client's */
	lf_h_resp_free(&r);

	/* status */
	lf_h_auth_use(key_x);
	snprintf(path, sizeof path, "/api/payments?accountId=%s&status=DECLINED", acct_a);
	CU_ASSERT_EQUAL_FATAL(get(path, &r), 200);
	CU_ASSERT_EQUAL(page(r.body, ids, 16, cursor, sizeof cursor), 1);
	CU_ASSERT(strstr(r.body, "\"status\":\"DECLINED\"") != NULL);
	lf_h_resp_free(&r);
	/* without accountId: every payment of X */
	CU_ASSERT_EQUAL_FATAL(get("/api/payments", &r), 200);
	CU_ASSERT_EQUAL(page(r.body, ids, 16, cursor, sizeof cursor), X_COMPLETED + 1);
	lf_h_resp_free(&r);

	/* another client sees none of X's; admin sees them and its own */
	lf_h_auth_use(key_y);
	snprintf(path, sizeof path, "/api/payments?accountId=%s", acct_a);
	CU_ASSERT_EQUAL_FATAL(get(path, &r), 200);
	CU_ASSERT_EQUAL(page(r.body, ids, 16, cursor, sizeof cursor), 0);
	lf_h_resp_free(&r);
	lf_h_auth_use(admin);
	CU_ASSERT_EQUAL_FATAL(get(path, &r), 200);
	CU_ASSERT_EQUAL(page(r.body, ids, 16, cursor, sizeof cursor), X_COMPLETED + 2);
	lf_h_resp_free(&r);

	/* bad parameters */
	const char *bad[] = {"/api/payments?status=PENDINGX", "/api/payments?limit=0",
			     "/api/payments?limit=501", "/api/payments?accountId=nope",
			     "/api/payments?cursor=zz"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CU_ASSERT_EQUAL(get(bad[i], &r), 400);
		lf_h_resp_free(&r);
	}
}

static void test_balance_at(void)
{
	char path[300], cursor[200], ids[16][37], created[40], bal[32];
	struct lf_h_resp r;
	lf_h_auth_use(key_x);
	snprintf(path, sizeof path, "/api/accounts/%s/balance?at=2000-01-01T00:00:00Z", acct_a);
	CU_ASSERT_EQUAL_FATAL(get(path, &r), 200);
	CU_ASSERT(lf_h_json_str(r.body, "balance", bal, sizeof bal) && strcmp(bal, "0.00") == 0);
	CU_ASSERT(lf_h_json_str(r.body, "at", created, sizeof created) &&
		  strcmp(created, "2000-01-01T00:00:00.000Z") == 0);
	lf_h_resp_free(&r);
	/* far ahead: today's balance, 10.00 in and 5 x 1.00 out */
	snprintf(path, sizeof path, "/api/accounts/%s/balance?at=2999-01-01T00:00:00%%2B01:00",
		 acct_a);
	CU_ASSERT_EQUAL_FATAL(get(path, &r), 200);
	CU_ASSERT(lf_h_json_str(r.body, "balance", bal, sizeof bal) && strcmp(bal, "5.00") == 0);
	lf_h_resp_free(&r);
	/* at the funding's own time: 10.00 (the admin's payment, the oldest) */
	lf_h_auth_use(admin);
	snprintf(path, sizeof path, "/api/payments?accountId=%s", acct_a);
	CU_ASSERT_EQUAL_FATAL(get(path, &r), 200);
	int n = page(r.body, ids, 16, cursor, sizeof cursor);
	const char *last = n > 0 ? strstr(r.body, ids[n - 1]) : NULL;
	const char *c = last ? strstr(last, "\"createdAt\":\"") : NULL;
	CU_ASSERT_FATAL(c != NULL);
	memcpy(created, c + 13, 24);
	created[24] = '\0';
	lf_h_resp_free(&r);
	lf_h_auth_use(key_x);
	snprintf(path, sizeof path, "/api/accounts/%s/balance?at=%s", acct_a, created);
	CU_ASSERT_EQUAL_FATAL(get(path, &r), 200);
	CU_ASSERT(lf_h_json_str(r.body, "balance", bal, sizeof bal) && strcmp(bal, "10.00") == 0);
	lf_h_resp_free(&r);

	/* another client's account; a bad time; a bad id */
	lf_h_auth_use(key_y);
	snprintf(path, sizeof path, "/api/accounts/%s/balance?at=2999-01-01T00:00:00Z", acct_a);
	CU_ASSERT_EQUAL(get(path, &r), 404);
	lf_h_resp_free(&r);
	lf_h_auth_use(key_x);
	const char *bad[] = {"?at=yesterday", "?at=2026-02-30T00:00:00Z", ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(path, sizeof path, "/api/accounts/%s/balance%s", acct_a, bad[i]);
		CU_ASSERT_EQUAL(get(path, &r), 400);
		lf_h_resp_free(&r);
	}
	CU_ASSERT_EQUAL(get("/api/accounts/nope/balance?at=2026-01-01T00:00:00Z", &r), 400);
	lf_h_resp_free(&r);
	lf_h_auth_use(admin);
}

static int setup(void)
{
	snprintf(admin, sizeof admin, "%s", lf_h_admin_key);
	const char *scopes = "--scopes accounts:read,accounts:write,payments:read,payments:write";
	char cmd[200];
	snprintf(cmd, sizeof cmd, "client create hist-x %s", scopes);
	if (lf_h_ctl_key(&fx.env, &fx.d, cmd, key_x, sizeof key_x) != 0)
		return 1;
	snprintf(cmd, sizeof cmd, "client create hist-y %s", scopes);
	if (lf_h_ctl_key(&fx.env, &fx.d, cmd, key_y, sizeof key_y) != 0)
		return 1;
	if (lf_h_account(fx.d.port, "funded", "USD", "100.00", funded) != 201)
		return 1;
	lf_h_auth_use(key_x);
	if (lf_h_account(fx.d.port, "hist-a", "USD", NULL, acct_a) != 201)
		return 1;
	lf_h_auth_use(admin);
	if (pay(funded, acct_a, "\"10.00\"") != 201)
		return 1;
	usleep(5 * 1000); /* the funding's time is before everything else */
	lf_h_auth_use(key_x);
	for (int i = 0; i < X_COMPLETED; i++)
		if (pay(acct_a, funded, "\"1.00\"") != 201)
			return 1;
	if (pay(acct_a, funded, "\"100.00\"") != 422)
		return 1;
	lf_h_auth_use(admin);
	return 0;
}

static const struct lf_test history_tests[] = {
	{"GET /api/payments: filters, paging, cursors, scoping", test_list},
	{"GET /api/accounts/{id}/balance?at=", test_balance_at},
};

static const struct lf_suite suites[] = {{"history", LF_TESTS(history_tests)}};

int main(void)
{
	static const struct lf_h_fixture_opts opts = {.name = "history", .setup = setup};
	return lf_h_fixture_main(suites, LF_COUNT(suites), &opts);
}
