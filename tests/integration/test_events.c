/*
 * test_events.c - the outbox and GET /api/events against a real
 * ledgerflowd:
 *   every state change has its event, in order: account.created,
 *   payment.completed, payment.declined; a 422 decided before the
 *   transaction (account_not_found) has none; an event's data is byte for
 *   byte the object's GET (the payment), GET /api/events/{id} the same
 *   event; holds and refunds: payment.pending, payment.captured,
 *   payment.voided and refund.completed carry the bodies those answered;
 *   isolation: a client sees only its own events (another's is 404
 *   event_not_found), admin sees all; no events:read scope is 403;
 *   paging: limit and after checked (400), pages of 1 give the same list,
 *   an empty page keeps the cursor;
 *   commit order under concurrent writers: a poller that follows
 *   nextCursor while 8 threads pay among 6 accounts (completed and
 *   declined) sees every event exactly once, and each account's payment
 *   events in the order of its ledger;
 *   every kind of change, each once (test_events_kinds.c), with
 *   payment.expired and refund.declined.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <mysql.h>

#include "test_events.h"
#include "../lf_cunit.h"

static char key_x[128], key_plain[128], admin[128];
char te_key_y[128], te_funded[37];

#define WRITERS 8
#define PAYS_PER_WRITER 30
#define HOT 6
#define MAX_EVENTS 2000

int te_get(const char *path, struct lf_h_resp *r)
{
	return lf_h_http(fx.d.port, "GET", path, NULL, NULL, r) == 0 ? r->status : -1;
}

static int pay(const char *from, const char *to, const char *amount, char id[37])
{
	static int seq;
	char k[64];
	snprintf(k, sizeof k, "ev-%ld-%d", (long)getpid(),
		 __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
	struct lf_h_resp r;
	int st = lf_h_pay(fx.d.port, k, from, to, amount, &r);
	if (id != NULL) {
		id[0] = '\0';
		if (st == 201)
			lf_h_json_str(r.body, "id", id, 37);
		else if (st == 422)
			lf_h_json_str(r.body, "paymentId", id, 37);
	}
	lf_h_resp_free(&r);
	return st;
}

/* The events the current key sees, from the beginning. */
int te_all_events(struct ev *out, int max)
{
	return ev_all(fx.d.port, out, max);
}

static void test_each_change(void)
{
	static struct ev evs[64];
	char acct[37], paid[37], declined[37], path[200];
	lf_h_auth_use(key_x);
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "ev-x1", "USD", NULL, acct), 201);
	lf_h_auth_use(admin);
	CU_ASSERT_EQUAL_FATAL(pay(te_funded, acct, "\"5.00\"", NULL), 201);
	lf_h_auth_use(key_x);
	CU_ASSERT_EQUAL_FATAL(pay(acct, te_funded, "\"2.00\"", paid), 201);
	CU_ASSERT_EQUAL_FATAL(pay(acct, te_funded, "\"9.00\"", declined), 422);
	/* decided before any transaction: no event */
	CU_ASSERT_EQUAL(pay("00000000-0000-7000-8000-00000000abcd", te_funded, "\"1.00\"", NULL),
			422);
	int n = te_all_events(evs, 64);
	CU_ASSERT_EQUAL_FATAL(n, 3); /* the admin's funding is not X's */
	CU_ASSERT_STRING_EQUAL(evs[0].type, "account.created");
	CU_ASSERT_STRING_EQUAL(evs[0].object, acct);
	CU_ASSERT_STRING_EQUAL(evs[1].type, "payment.completed");
	CU_ASSERT_STRING_EQUAL(evs[1].object, paid);
	CU_ASSERT_STRING_EQUAL(evs[1].status, "COMPLETED");
	CU_ASSERT_STRING_EQUAL(evs[2].type, "payment.declined");
	CU_ASSERT_STRING_EQUAL(evs[2].object, declined);
	CU_ASSERT_STRING_EQUAL(evs[2].status, "DECLINED");

	/* data is the object's own GET, byte for byte; the event by its id */
	for (int i = 1; i < 3; i++) {
		struct lf_h_resp e, p;
		snprintf(path, sizeof path, "/api/events/%s", evs[i].id);
		CU_ASSERT_EQUAL_FATAL(te_get(path, &e), 200);
		snprintf(path, sizeof path, "/api/payments/%s", evs[i].object);
		CU_ASSERT_EQUAL_FATAL(te_get(path, &p), 200);
		const char *data = strstr(e.body, "\"data\":");
		CU_ASSERT_PTR_NOT_NULL_FATAL(data);
		data += 7;
		CU_ASSERT_EQUAL(strlen(data), p.body_len + 1); /* the event's closing brace */
		CU_ASSERT_EQUAL(strncmp(data, p.body, p.body_len), 0);
		lf_h_resp_free(&e);
		lf_h_resp_free(&p);
	}
	/* another client: 404, never 403 */
	lf_h_auth_use(te_key_y);
	struct lf_h_resp r;
	snprintf(path, sizeof path, "/api/events/%s", evs[1].id);
	CU_ASSERT_EQUAL(te_get(path, &r), 404);
	char code[40];
	CU_ASSERT(lf_h_json_str(r.body, "code", code, sizeof code) &&
		  strcmp(code, "event_not_found") == 0);
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(te_get("/api/events/not-a-uuid", &r), 400);
	lf_h_resp_free(&r);
	lf_h_auth_use(admin);
}

/* POST path with an Idempotency-Key and a body: its status; the body's
 * "id" into id (may be NULL), the whole body into keep (may be NULL). */
int te_post(const char *path, const char *body, char id[37], char *keep, size_t klen)
{
	static int seq;
	char headers[128];
	snprintf(headers, sizeof headers, "Idempotency-Key: evh-%ld-%d\r\n", (long)getpid(),
		 __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
	struct lf_h_resp r;
	int st = lf_h_http(fx.d.port, "POST", path, headers, body, &r) == 0 ? r.status : -1;
	if (id != NULL && !(st >= 200 && st < 300 && lf_h_json_str(r.body, "id", id, 37)))
		id[0] = '\0';
	if (keep != NULL)
		snprintf(keep, klen, "%s", st > 0 && r.body ? r.body : "");
	lf_h_resp_free(&r);
	return st;
}

/* The data of the one event of type for object, as text; false if none. */
bool te_event_data(const char *type, const char *object, char *out, size_t len)
{
	static struct ev evs[MAX_EVENTS];
	int n = te_all_events(evs, MAX_EVENTS);
	for (int i = 0; i < n; i++) {
		if (strcmp(evs[i].type, type) != 0 || strcmp(evs[i].object, object) != 0)
			continue;
		char path[100];
		struct lf_h_resp r;
		snprintf(path, sizeof path, "/api/events/%s", evs[i].id);
		bool ok = te_get(path, &r) == 200 && strstr(r.body, "\"data\":") != NULL;
		if (ok) {
			const char *d = strstr(r.body, "\"data\":") + 7;
			snprintf(out, len, "%.*s", (int)(strlen(d) - 1),
				 d); /* without the event's } */
		}
		lf_h_resp_free(&r);
		return ok;
	}
	return false;
}

/* Holds and refunds: payment.pending (the 201 body), payment.captured and
 * payment.voided (the 200 body: the payment in its new state),
 * refund.completed (the refund's 201 body). */
static void test_holds_and_refunds(void)
{
	static char body[4096], data[4096];
	char from[37], to[37], hold[37], hold2[37], refund[37], req[300];
	lf_h_auth_use(admin);
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "ev-h1", "USD", "50.00", from), 201);
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "ev-h2", "USD", NULL, to), 201);
	snprintf(req, sizeof req,
		 "{\"fromAccountId\":\"%s\",\"toAccountId\":\"%s\",\"amount\":\"10.00\","
		 "\"capture\":false}",
		 from, to);
	CU_ASSERT_EQUAL_FATAL(te_post("/api/payments", req, hold, body, sizeof body), 201);
	CU_ASSERT_TRUE(te_event_data("payment.pending", hold, data, sizeof data));
	CU_ASSERT_STRING_EQUAL(data, body);
	char path[120];
	snprintf(path, sizeof path, "/api/payments/%s/capture", hold);
	CU_ASSERT_EQUAL_FATAL(te_post(path, "{\"amount\":\"6.00\"}", NULL, body, sizeof body), 200);
	CU_ASSERT_TRUE(te_event_data("payment.captured", hold, data, sizeof data));
	CU_ASSERT_STRING_EQUAL(data, body);
	CU_ASSERT_PTR_NOT_NULL(strstr(data, "\"status\":\"COMPLETED\""));
	CU_ASSERT_EQUAL_FATAL(te_post("/api/payments", req, hold2, NULL, 0), 201);
	snprintf(path, sizeof path, "/api/payments/%s/void", hold2);
	CU_ASSERT_EQUAL_FATAL(te_post(path, "{}", NULL, body, sizeof body), 200);
	CU_ASSERT_TRUE(te_event_data("payment.voided", hold2, data, sizeof data));
	CU_ASSERT_STRING_EQUAL(data, body);
	snprintf(path, sizeof path, "/api/payments/%s/refunds", hold);
	CU_ASSERT_EQUAL_FATAL(te_post(path, "{\"amount\":\"2.00\"}", refund, body, sizeof body),
			      201);
	CU_ASSERT_TRUE(te_event_data("refund.completed", refund, data, sizeof data));
	CU_ASSERT_STRING_EQUAL(data, body);
}

static void test_isolation(void)
{
	static struct ev xs[256], ys[256], as[512];
	char acct[37];
	lf_h_auth_use(te_key_y);
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "ev-y1", "USD", NULL, acct), 201);
	int ny = te_all_events(ys, 256);
	lf_h_auth_use(key_x);
	int nx = te_all_events(xs, 256);
	lf_h_auth_use(admin);
	int na = te_all_events(as, 512);
	CU_ASSERT_FATAL(nx > 0 && ny > 0 && na >= nx + ny);
	CU_ASSERT_STRING_EQUAL(ys[ny - 1].object, acct);
	for (int i = 0; i < nx; i++)
		for (int j = 0; j < ny; j++)
			CU_ASSERT(strcmp(xs[i].id, ys[j].id) != 0);
	for (int i = 0; i < nx; i++)
		CU_ASSERT(strcmp(xs[i].object, acct) != 0);
	/* the admin sees both, in the same order */
	int found = 0;
	for (int i = 0; i < na; i++)
		found += strcmp(as[i].id, ys[ny - 1].id) == 0 || strcmp(as[i].id, xs[0].id) == 0;
	CU_ASSERT_EQUAL(found, 2);
	/* no events:read: 403 */
	lf_h_auth_use(key_plain);
	struct lf_h_resp r;
	CU_ASSERT_EQUAL(te_get("/api/events", &r), 403);
	lf_h_resp_free(&r);
	lf_h_auth_use(admin);
}

static void test_paging(void)
{
	static struct ev all[512], one[2];
	lf_h_auth_use(key_x);
	int n = te_all_events(all, 512);
	CU_ASSERT_FATAL(n >= 3);
	char cursor[40] = "", next[40];
	int status, got = 0;
	for (int i = 0; i < n + 2; i++) {
		int k = ev_page(fx.d.port, cursor, 1, one, 2, next, sizeof next, &status);
		CU_ASSERT_FATAL(k >= 0);
		if (k == 0) {
			CU_ASSERT_STRING_EQUAL(next, cursor); /* an empty page keeps it */
			break;
		}
		CU_ASSERT_STRING_EQUAL(one[0].id, all[got].id);
		got++;
		CU_ASSERT(strtoull(next, NULL, 10) > strtoull(cursor, NULL, 10));
		snprintf(cursor, sizeof cursor, "%s", next);
	}
	CU_ASSERT_EQUAL(got, n);
	const char *bad[] = {"/api/events?limit=0",  "/api/events?limit=501",
			     "/api/events?limit=x",  "/api/events?after=-1",
			     "/api/events?after=01", "/api/events?after=abc"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct lf_h_resp r;
		CU_ASSERT_EQUAL(te_get(bad[i], &r), 400);
		lf_h_resp_free(&r);
	}
	struct lf_h_resp r;
	CU_ASSERT_EQUAL(te_get("/api/events?limit=500", &r), 200);
	lf_h_resp_free(&r);
	lf_h_auth_use(admin);
}

/* ---- commit order under concurrent writers ---- */

static char hot[HOT][37];

struct writer {
	int index;
	int done, completed, declined;
};

static void *write_thread(void *arg)
{
	struct writer *w = arg;
	unsigned seed = (unsigned)w->index * 7919u + 1;
	for (int i = 0; i < PAYS_PER_WRITER; i++) {
		int a = (int)(rand_r(&seed) % HOT),
		    b = (a + 1 + (int)(rand_r(&seed) % (HOT - 1))) % HOT;
		/* now and then more than any balance: declined */
		const char *amount = rand_r(&seed) % 5 == 0 ? "\"900.00\"" : "\"1.00\"";
		int st = pay(hot[a], hot[b], amount, NULL);
		w->completed += st == 201;
		w->declined += st == 422;
	}
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* A transaction that writes its event, then waits before it commits: the
 * event's insert position is taken long before its commit, while the
 * writers commit events placed after it. A reader that paged by insert
 * position would pass it by; in commit order it comes later, not never. */
#define SLOW 5
struct slow {
	int committed;
	bool failed;
	int *done; /* set when it is over */
};

static void *slow_thread(void *arg)
{
	struct slow *s = arg;
	MYSQL *m = mysql_init(NULL);
	if (m == NULL ||
	    !mysql_real_connect(m, fx.env.mysql_host, fx.env.mysql_user, fx.env.mysql_password,
				fx.db, fx.env.mysql_port, NULL, CLIENT_MULTI_RESULTS)) {
		s->failed = true;
		if (m != NULL)
			mysql_close(m);
		__atomic_store_n(s->done, 1, __ATOMIC_RELEASE);
		return NULL;
	}
	for (int i = 0; i < SLOW; i++) {
		char q[600];
		snprintf(q, sizeof q,
			 "CALL lf_event_add(UNHEX(REPLACE(UUID(), '-', '')), 'account.created',"
			 " UNHEX(REPLACE(UUID(), '-', '')), %llu, "
			 "x'00000000000000000000000000000000',"
			 " NULL, UTC_TIMESTAMP(3), '{\"id\":\"slow-%d\"}')",
			 (unsigned long long)lf_h_admin_id, i);
		if (mysql_query(m, "START TRANSACTION") != 0 || mysql_query(m, q) != 0) {
			s->failed = true;
			break;
		}
		usleep(300 * 1000);
		if (mysql_query(m, "COMMIT") != 0) {
			s->failed = true;
			break;
		}
		s->committed++;
		usleep(50 * 1000);
	}
	mysql_close(m);
	__atomic_store_n(s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

struct poller {
	struct ev *seen;
	int n;
	bool failed;
	struct writer *writers;
};

static bool writers_done(const struct writer *w)
{
	for (int i = 0; i < WRITERS + 1; i++) /* and the slow committer */
		if (!__atomic_load_n(&w[i].done, __ATOMIC_ACQUIRE))
			return false;
	return true;
}

static void *poll_thread(void *arg)
{
	struct poller *p = arg;
	static struct ev page[7];
	char cursor[40] = "", next[40];
	int status, empty_after_done = 0;
	int64_t deadline = lf_h_now_ms() + 120000;
	while (lf_h_now_ms() < deadline && empty_after_done < 3) {
		bool finished = writers_done(p->writers);
		int k = ev_page(fx.d.port, cursor, 7, page, 7, next, sizeof next, &status);
		if (k < 0) {
			p->failed = true;
			return NULL;
		}
		for (int i = 0; i < k && p->n < MAX_EVENTS; i++)
			p->seen[p->n++] = page[i];
		snprintf(cursor, sizeof cursor, "%s", next);
		if (k == 0 && finished)
			empty_after_done++;
		else if (k == 0)
			usleep(2000);
	}
	return NULL;
}

/* The payment ids of an account's ledger, oldest first (payment entries only). */
static int ledger_payments(const char *account, char ids[][37], int max)
{
	static struct lf_h_entry e[600];
	char cur[200];
	int n = lf_h_ledger(fx.d.port, account, "?limit=500", 2, e, 600, cur, sizeof cur);
	int k = 0;
	for (int i = n - 1; i >= 0 && k < max; i--)
		if (!e[i].payment_null)
			snprintf(ids[k++], 37, "%s", e[i].payment);
	return n < 0 ? -1 : k;
}

static void test_commit_order(void)
{
	lf_h_auth_use(admin);
	for (int i = 0; i < HOT; i++) {
		char name[32];
		snprintf(name, sizeof name, "ev-hot-%d", i);
		CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, name, "USD", "10.00", hot[i]), 201);
	}
	static struct ev before[MAX_EVENTS];
	int n0 = te_all_events(before, MAX_EVENTS);
	CU_ASSERT_FATAL(n0 >= 0);
	static struct ev seen[MAX_EVENTS];
	struct writer w[WRITERS + 1] = {0};
	struct poller p = {.seen = seen, .writers = w};
	struct slow slow = {.done = &w[WRITERS].done};
	pthread_t pt, st, wt[WRITERS];
	pthread_create(&pt, NULL, poll_thread, &p);
	pthread_create(&st, NULL, slow_thread, &slow);
	for (int i = 0; i < WRITERS; i++) {
		w[i].index = i;
		pthread_create(&wt[i], NULL, write_thread, &w[i]);
	}
	pthread_join(st, NULL);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(wt[i], NULL);
	pthread_join(pt, NULL);
	CU_ASSERT_FALSE_FATAL(p.failed);
	CU_ASSERT_FALSE(slow.failed);
	CU_ASSERT_EQUAL(slow.committed, SLOW);
	int slow_seen = 0;
	for (int i = 0; i < p.n; i++)
		slow_seen += strncmp(seen[i].object, "slow-", 5) == 0;
	CU_ASSERT_EQUAL(slow_seen, SLOW); /* none passed by */
	int completed = 0, declined = 0;
	for (int i = 0; i < WRITERS; i++) {
		completed += w[i].completed;
		declined += w[i].declined;
	}
	CU_ASSERT_EQUAL(completed + declined, WRITERS * PAYS_PER_WRITER);
	CU_ASSERT(declined > 0);
	/* some were decided together (lf_transfer_group_v2 writes their events) */
	long long batches = -1, singles = -1;
	CU_ASSERT(lf_h_metric(fx.d.port, "ledgerflow_db_batch_size_count{kind=\"payment\"}",
			      &batches));
	CU_ASSERT(lf_h_metric(
		fx.d.port, "ledgerflow_db_batch_size_bucket{kind=\"payment\",le=\"1\"}", &singles));
	CU_ASSERT(batches > singles);
	/* the poller saw exactly every event: all of them once, none skipped */
	long long in_db = -1;
	CU_ASSERT(lf_h_sql_int(&fx.env, fx.db, "SELECT COUNT(*) FROM events", &in_db));
	CU_ASSERT_EQUAL(p.n, in_db);
	int pays = 0, c = 0, d = 0;
	for (int i = 0; i < p.n; i++) {
		for (int j = i + 1; j < p.n; j++)
			CU_ASSERT(strcmp(seen[i].id, seen[j].id) != 0);
		bool hotpay = false;
		for (int h = 0; h < HOT; h++)
			hotpay |= strcmp(seen[i].from, hot[h]) == 0;
		pays += hotpay;
		c += hotpay && strcmp(seen[i].type, "payment.completed") == 0;
		d += hotpay && strcmp(seen[i].type, "payment.declined") == 0;
	}
	CU_ASSERT_EQUAL(c, completed);
	CU_ASSERT_EQUAL(d, declined);
	CU_ASSERT_EQUAL(pays, completed + declined);
	/* per account: the completed payments' events in ledger order */
	for (int h = 0; h < HOT; h++) {
		static char ledger[600][37];
		int k = ledger_payments(hot[h], ledger, 600), m = 0;
		CU_ASSERT_FATAL(k >= 0);
		for (int i = 0; i < p.n; i++) {
			if (strcmp(seen[i].type, "payment.completed") != 0 ||
			    (strcmp(seen[i].from, hot[h]) != 0 && strcmp(seen[i].to, hot[h]) != 0))
				continue;
			CU_ASSERT_FATAL(m < k);
			if (strcmp(seen[i].object, ledger[m]) != 0)
				fprintf(stderr, "\n  account %s: event %d is %s, ledger has %s\n",
					hot[h], m, seen[i].object, ledger[m]);
			CU_ASSERT_STRING_EQUAL(seen[i].object, ledger[m]);
			m++;
		}
		CU_ASSERT_EQUAL(m, k);
	}
}

static int setup(void)
{
	snprintf(admin, sizeof admin, "%s", lf_h_admin_key);
	const char *scopes = "--scopes accounts:read,accounts:write,payments:read,payments:write";
	char cmd[200];
	snprintf(cmd, sizeof cmd, "client create ev-x %s,events:read", scopes);
	if (lf_h_ctl_key(&fx.env, &fx.d, cmd, key_x, sizeof key_x) != 0)
		return 1;
	snprintf(cmd, sizeof cmd, "client create ev-y %s,events:read", scopes);
	if (lf_h_ctl_key(&fx.env, &fx.d, cmd, te_key_y, sizeof te_key_y) != 0)
		return 1;
	snprintf(cmd, sizeof cmd, "client create ev-plain %s", scopes);
	if (lf_h_ctl_key(&fx.env, &fx.d, cmd, key_plain, sizeof key_plain) != 0)
		return 1;
	return lf_h_account(fx.d.port, "ev-te_funded", "USD", "1000.00", te_funded) == 201 ? 0 : 1;
}

static const struct lf_test event_tests[] = {
	{"an event for each change, data as its GET", test_each_change},
	{"holds and refunds: pending, captured, voided, refund.completed", test_holds_and_refunds},
	{"a client sees only its own events; scope", test_isolation},
	{"paging with nextCursor; bad parameters", test_paging},
	{"commit order: a poller under concurrent writers", test_commit_order},
	{"every kind of change once, in order; expired and declined data", test_every_kind},
};

static const struct lf_suite suites[] = {{"events", LF_TESTS(event_tests)}};

int main(void)
{
	static const struct lf_h_fixture_opts opts = {
		.name = "events",
		.setup = setup,
		/* no reaper: a late capture is what expires a hold here */
		.extra_conf = "[webhooks]\nenabled = off\n[payments]\nexpire_interval = 1h\n"};
	return lf_h_fixture_main(suites, LF_COUNT(suites), &opts);
}
