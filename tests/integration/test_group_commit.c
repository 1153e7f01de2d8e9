/*
 * test_group_commit.c - concurrent payments decided together (the group
 * commit, doc/design.md), against two real ledgerflowd on one database,
 * each one worker with one pool connection so concurrent payments queue:
 * G with [mysql] batch_max = 32, reaching MariaDB through the test proxy
 * (db_proxy.h), and S with batch_max = 1 (one transaction per payment).
 * A test connection holds a row lock that a first payment waits on, so
 * the payments sent meanwhile are all waiting when the pool frees up: on
 * G they are taken as batches.
 *   - the same mixed workload on each (a hot sender debited by every
 *     member past its funds, A->B with B->A, an issuance sender, one key
 *     sent three times at once, a key decided before, a missing receiver, a
 *     currency mismatch) gives on both exactly what deciding them one by
 *     one implies, the same on both; reconcile (balances, sums, hash
 *     chains) exits 0 after each; /metrics shows G's batches of more than
 *     one payment and its group commits, S's batches of one and none;
 *   - the connection of a batch broken at the server's reply to its CALL
 *     (after the COMMIT): every member is settled through its own key, the
 *     money moved once.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <mysql.h>

#include "db_proxy.h"
#include "harness.h"
#include "../lf_cunit.h"

static struct lf_h_daemon g, s;

#define ISSUANCE_USD "00000000-0000-8000-8000-000000555344"
#define MAX_PAYS 48

/* ---- concurrent payments behind a held lock ---- */

struct pay {
	pthread_t t;
	unsigned port;
	char key[64];
	char from[37], to[37], amount[16];
	int status;
	char code[48];
	bool replayed;
};

static void *pay_one(void *arg)
{
	struct pay *x = arg;
	struct lf_h_resp r;
	char amount[24];
	snprintf(amount, sizeof amount, "\"%s\"", x->amount);
	x->status = lf_h_pay(x->port, x->key, x->from, x->to, amount, &r);
	char v[16];
	x->replayed = lf_h_header(&r, "Idempotent-Replayed", v, sizeof v) && strcmp(v, "true") == 0;
	if (!lf_h_json_str(r.body, "code", x->code, sizeof x->code))
		x->code[0] = '\0';
	lf_h_resp_free(&r);
	return NULL;
}

static void add_pay(struct pay *x, int *n, unsigned port, const char *key, const char *from,
		    const char *to, const char *amount)
{
	struct pay *p = &x[(*n)++];
	*p = (struct pay){.port = port};
	snprintf(p->key, sizeof p->key, "%s", key);
	snprintf(p->from, sizeof p->from, "%s", from);
	snprintf(p->to, sizeof p->to, "%s", to);
	snprintf(p->amount, sizeof p->amount, "%s", amount);
}

/* Send x[0..n) at once while the daemon's only pool connection waits on a
 * row lock of this test (a payment from `locked`), then let it go: the
 * payments are all queued when the pool frees up. */
static void run_behind_lock(unsigned port, const char *tag, const char *locked, const char *to,
			    struct pay *x, int n)
{
	MYSQL *m = mysql_init(NULL);
	CU_ASSERT_FATAL(m != NULL && mysql_real_connect(m, fx.env.mysql_host, fx.env.mysql_user,
							fx.env.mysql_password, fx.db,
							fx.env.mysql_port, NULL, 0) != NULL);
	char q[200];
	snprintf(q, sizeof q,
		 "SELECT id FROM accounts WHERE id = UNHEX(REPLACE('%s', '-', '')) FOR UPDATE",
		 locked);
	CU_ASSERT_FATAL(mysql_query(m, "START TRANSACTION") == 0 && mysql_query(m, q) == 0);
	mysql_free_result(mysql_store_result(m));
	struct pay blocker;
	char key[64];
	snprintf(key, sizeof key, "%s-blocker", tag);
	int nb = 0;
	add_pay(&blocker, &nb, port, key, locked, to, "0.01");
	CU_ASSERT_FATAL(pthread_create(&blocker.t, NULL, pay_one, &blocker) == 0);
	usleep(200 * 1000); /* the blocker holds the pool connection */
	for (int i = 0; i < n; i++)
		CU_ASSERT_FATAL(pthread_create(&x[i].t, NULL, pay_one, &x[i]) == 0);
	usleep(600 * 1000); /* they are queued behind it */
	mysql_query(m, "ROLLBACK");
	mysql_close(m);
	pthread_join(blocker.t, NULL);
	for (int i = 0; i < n; i++)
		pthread_join(x[i].t, NULL);
	CU_ASSERT_EQUAL(blocker.status, 201);
}

static long long metric(unsigned port, const char *series)
{
	long long v = -1;
	return lf_h_metric(port, series, &v) ? v : -1;
}

/* Payment batches of more than one job so far. */
static long long multi_batches(unsigned port)
{
	long long count = metric(port, "ledgerflow_db_batch_size_count{kind=\"payment\"}");
	long long single =
		metric(port, "ledgerflow_db_batch_size_bucket{kind=\"payment\",le=\"1\"}");
	return count < 0 || single < 0 ? -1 : count - single;
}

/* Group commits so far, either read. */
static long long groups(unsigned port)
{
	long long u = metric(port, "ledgerflow_db_payment_groups_total{read=\"unlocked\"}");
	long long l = metric(port, "ledgerflow_db_payment_groups_total{read=\"locked_first\"}");
	return u < 0 || l < 0 ? -1 : u + l;
}

static int64_t minor(unsigned port, const char *id)
{
	char bal[32];
	int64_t v = INT64_MIN;
	if (lf_h_balance(port, id, bal, sizeof bal) != 200 || !lf_h_minor(bal, 2, &v))
		return INT64_MIN;
	return v;
}

/* ---- the mixed workload ---- */

struct result {
	int hot_ok, hot_declined, hot_other;
	int ab_ok, issued_ok;
	int dup_fresh, dup_again, dup_other; /* one key three times at once */
	bool across_replayed, missing_422, mismatch_422;
	int64_t h, r_sum, a, b, c, x, y, e;
	long long batches; /* payment batches of more than one */
	long long groups;  /* group commits sent (ledgerflow_db_payment_groups_total) */
};

static void mixed_round(unsigned port, const char *tag, struct result *o)
{
	char h[37], r[4][37], a[37], b[37], c[37], x[37], y[37], e[37], l[37], name[64], key[64];
	const char *missing = "0190dddd-0000-7000-8000-000000000001";
	memset(o, 0, sizeof *o);
#define ACCOUNT(id, label, cur, initial)                                            \
	do {                                                                        \
		snprintf(name, sizeof name, "%s-%s", tag, label);                   \
		CU_ASSERT_FATAL(lf_h_account(port, name, cur, initial, id) == 201); \
	} while (0)
	ACCOUNT(h, "hot", "USD", "20.00");
	for (int i = 0; i < 4; i++) {
		char label[8];
		snprintf(label, sizeof label, "r%d", i);
		ACCOUNT(r[i], label, "USD", NULL);
	}
	ACCOUNT(a, "a", "USD", "10.00");
	ACCOUNT(b, "b", "USD", "10.00");
	ACCOUNT(c, "c", "USD", NULL);
	ACCOUNT(x, "x", "USD", "10.00");
	ACCOUNT(y, "y", "USD", NULL);
	ACCOUNT(e, "e", "EUR", NULL);
	ACCOUNT(l, "lock", "USD", "1.00");
#undef ACCOUNT
	/* decided before the round: its key comes again inside it */
	struct lf_h_resp resp;
	char across[64];
	snprintf(across, sizeof across, "%s-across", tag);
	CU_ASSERT_FATAL(lf_h_pay(port, across, x, y, "\"1.00\"", &resp) == 201);
	lf_h_resp_free(&resp);
	long long batches0 = multi_batches(port), groups0 = groups(port);

	static struct pay p[MAX_PAYS];
	int n = 0;
	for (int i = 0; i < 24; i++) {
		snprintf(key, sizeof key, "%s-hot-%d", tag, i);
		add_pay(p, &n, port, key, h, r[i % 4], "1.00");
	}
	for (int i = 0; i < 8; i++) {
		snprintf(key, sizeof key, "%s-ab-%d", tag, i);
		add_pay(p, &n, port, key, i % 2 ? b : a, i % 2 ? a : b, "1.00");
	}
	for (int i = 0; i < 3; i++) {
		snprintf(key, sizeof key, "%s-issue-%d", tag, i);
		add_pay(p, &n, port, key, ISSUANCE_USD, c, "3.00");
	}
	snprintf(key, sizeof key, "%s-dup", tag);
	for (int i = 0; i < 3; i++)
		add_pay(p, &n, port, key, x, y, "2.00");
	add_pay(p, &n, port, across, x, y, "1.00");
	snprintf(key, sizeof key, "%s-missing", tag);
	add_pay(p, &n, port, key, x, missing, "1.00");
	snprintf(key, sizeof key, "%s-mismatch", tag);
	add_pay(p, &n, port, key, x, e, "1.00");
	run_behind_lock(port, tag, l, y, p, n);

	for (int i = 0; i < n; i++) {
		const struct pay *q = &p[i];
		bool ok = q->status == 201 && !q->replayed;
		if (strstr(q->key, "-hot-")) {
			o->hot_ok += ok;
			o->hot_declined +=
				q->status == 422 && strcmp(q->code, "insufficient_funds") == 0;
			o->hot_other += !ok && q->status != 422;
		} else if (strstr(q->key, "-ab-")) {
			o->ab_ok += ok;
		} else if (strstr(q->key, "-issue-")) {
			o->issued_ok += ok;
		} else if (strstr(q->key, "-dup")) {
			o->dup_fresh += ok;
			o->dup_again += (q->status == 201 && q->replayed) || q->status == 409;
			o->dup_other += q->status != 201 && q->status != 409;
		} else if (strstr(q->key, "-across")) {
			o->across_replayed = q->status == 201 && q->replayed;
		} else if (strstr(q->key, "-missing")) {
			o->missing_422 =
				q->status == 422 && strcmp(q->code, "account_not_found") == 0;
		} else if (strstr(q->key, "-mismatch")) {
			o->mismatch_422 =
				q->status == 422 && strcmp(q->code, "currency_mismatch") == 0;
		}
	}
	o->h = minor(port, h);
	for (int i = 0; i < 4; i++)
		o->r_sum += minor(port, r[i]);
	o->a = minor(port, a);
	o->b = minor(port, b);
	o->c = minor(port, c);
	o->x = minor(port, x);
	o->y = minor(port, y);
	o->e = minor(port, e);
	o->batches = multi_batches(port) - batches0;
	o->groups = groups0 < 0 ? -1 : groups(port) - groups0;
}

/* What deciding the round's payments one by one, in any order, implies. */
static void assert_one_by_one(const struct result *o)
{
	CU_ASSERT_EQUAL(o->hot_ok, 20); /* 20.00 for 24 x 1.00 */
	CU_ASSERT_EQUAL(o->hot_declined, 4);
	CU_ASSERT_EQUAL(o->hot_other, 0);
	CU_ASSERT_EQUAL(o->ab_ok, 8);
	CU_ASSERT_EQUAL(o->issued_ok, 3);
	CU_ASSERT_EQUAL(o->dup_fresh, 1);
	CU_ASSERT_EQUAL(o->dup_again, 2);
	CU_ASSERT_EQUAL(o->dup_other, 0);
	CU_ASSERT_TRUE(o->across_replayed);
	CU_ASSERT_TRUE(o->missing_422);
	CU_ASSERT_TRUE(o->mismatch_422);
	CU_ASSERT_EQUAL(o->h, 0);
	CU_ASSERT_EQUAL(o->r_sum, 2000);
	CU_ASSERT_EQUAL(o->a, 1000);
	CU_ASSERT_EQUAL(o->b, 1000);
	CU_ASSERT_EQUAL(o->c, 900);
	CU_ASSERT_EQUAL(o->x, 700); /* 10.00 - 1.00 before - 2.00 once */
	CU_ASSERT_EQUAL(o->y, 301); /* and the blocker's 0.01 */
	CU_ASSERT_EQUAL(o->e, 0);
}

static void test_mixed_batches_match_one_by_one(void)
{
	struct result grouped, single;
	mixed_round(g.port, "g", &grouped);
	assert_one_by_one(&grouped);
	CU_ASSERT(grouped.batches > 0); /* some transactions decided several */
	CU_ASSERT(grouped.groups > 0);  /* and were counted */
	CU_ASSERT_EQUAL(lf_h_ctl(&fx.env, &g, "reconcile"), 0);

	mixed_round(s.port, "s", &single);
	assert_one_by_one(&single);
	CU_ASSERT_EQUAL(single.batches, 0); /* batch_max = 1: one by one */
	CU_ASSERT_EQUAL(single.groups, 0);
	CU_ASSERT_EQUAL(lf_h_ctl(&fx.env, &s, "reconcile"), 0);

	/* the same outcome on both */
	struct result a = grouped, b = single;
	a.batches = b.batches = 0;
	a.groups = b.groups = 0;
	CU_ASSERT(memcmp(&a, &b, sizeof a) == 0);
}

/* The connection of a batch breaks at the server's reply to its CALL
 * (after the COMMIT): each member is settled through its own key. */
static void test_batch_lost_after_commit(void)
{
	char p[37], q[37], l[37], key[64];
	CU_ASSERT_FATAL(lf_h_account(g.port, "lost-p", "USD", "100.00", p) == 201);
	CU_ASSERT_FATAL(lf_h_account(g.port, "lost-q", "USD", NULL, q) == 201);
	CU_ASSERT_FATAL(lf_h_account(g.port, "lost-lock", "USD", "1.00", l) == 201);
	struct lf_h_resp r;
	CU_ASSERT_FATAL(lf_h_pay(g.port, "lost-warm", p, q, "\"1.00\"", &r) == 201);
	lf_h_resp_free(&r);
	long long batches0 = multi_batches(g.port);
	static struct pay x[8];
	int n = 0;
	for (int i = 0; i < 8; i++) {
		snprintf(key, sizeof key, "lost-member-%d", i);
		add_pay(x, &n, g.port, key, p, q, "1.00");
	}
	int fired = lf_h_proxy_fired();
	lf_h_proxy_arm("lost-member-5");
	run_behind_lock(g.port, "lost", l, q, x, n);
	CU_ASSERT_EQUAL(lf_h_proxy_fired(), fired + 1);
	CU_ASSERT(multi_batches(g.port) > batches0);
	int replayed = 0;
	for (int i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(x[i].status, 201);
		replayed += x[i].replayed;
	}
	CU_ASSERT(x[5].replayed); /* settled from its stored outcome */
	CU_ASSERT(replayed >= 2); /* with the rest of its batch */
	CU_ASSERT_EQUAL(minor(g.port, p), 10000 - 100 - 800);
	CU_ASSERT_EQUAL(minor(g.port, q), 100 + 800 + 1);
	/* and again: the stored answers, nothing moves */
	for (int i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(lf_h_pay(g.port, x[i].key, p, q, "\"1.00\"", &r), 201);
		lf_h_resp_free(&r);
	}
	CU_ASSERT_EQUAL(minor(g.port, p), 10000 - 100 - 800);
	CU_ASSERT_EQUAL(lf_h_ctl(&fx.env, &g, "reconcile"), 0);
}

/* G through the proxy with batches; S straight, one by one. */
static int setup(void)
{
	struct lf_h_env via_proxy = fx.env;
	if (!lf_h_proxy_start(fx.env.mysql_port))
		return 1;
	via_proxy.mysql_port = lf_h_proxy_port();
	setenv("LEDGERFLOW_MYSQL_POOL_SIZE", "1", 1);
	setenv("LEDGERFLOW_MYSQL_BATCH_MAX", "32", 1);
	if (!lf_h_daemon_config(&via_proxy, &g, fx.db, 1, NULL) ||
	    lf_h_ctl(&fx.env, &g, "migrate") != 0 || !lf_h_daemon_start(&fx.env, &g)) {
		fprintf(stderr, "test_group_commit: daemon G set-up failed; log %s\n", g.log);
		return 1;
	}
	setenv("LEDGERFLOW_MYSQL_BATCH_MAX", "1", 1);
	if (!lf_h_daemon_config(&fx.env, &s, fx.db, 1, NULL) || !lf_h_daemon_start(&fx.env, &s)) {
		fprintf(stderr, "test_group_commit: daemon S set-up failed; log %s\n", s.log);
		return 1;
	}
	return 0;
}

static void teardown(void)
{
	if (g.pid > 0)
		lf_h_daemon_stop(&g, SIGTERM, 15000);
	if (s.pid > 0)
		lf_h_daemon_stop(&s, SIGTERM, 15000);
	lf_h_proxy_stop();
}

static const struct lf_test group_tests[] = {
	{"mixed concurrent payments: batched and one by one give the same, as one by one implies",
	 test_mixed_batches_match_one_by_one},
	{"a batch's connection lost after its COMMIT: each member settled by its key",
	 test_batch_lost_after_commit},
};
static const struct lf_suite suites[] = {{"group commit", LF_TESTS(group_tests)}};

int main(void)
{
	static const struct lf_h_fixture_opts opts = {
		.name = "group", .no_daemon = true, .setup = setup, .teardown = teardown};
	return lf_h_fixture_main(suites, LF_COUNT(suites), &opts);
}
