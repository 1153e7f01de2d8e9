/*
 * test_risk.c - the risk rules against a real ledgerflowd (issue 11):
 * each rule hits exactly at its threshold (max_amount: the maximum
 * passes, one minor unit more is declined; velocity_count: the N-th
 * payment in the window passes, the N+1-th is declined, and declines do
 * not count; velocity_sum: a sum exactly at the limit passes, one cent
 * over is declined; daily_limit: likewise across two accounts of one
 * client), 8 concurrent payments from one account with velocity_count 3
 * (exactly 3 complete), a risk decline recorded (GET shows DECLINED, a
 * payment.declined event) and replayed byte for byte, and the risk
 * webhook (approve, decline, an answer too late with each policy) through
 * a loopback receiver. Atomic bulk batches are held to every rule, each
 * item counting the batch's earlier ones, and fail at the first item that
 * cannot be made; a batch asks the webhook once per item and stops asking
 * after a decline or an unanswered call; its requests are signed. After each: ledgerflowctl
 * reconcile exits 0 and every currency's balances sum to 0.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "events_util.h"
#include "harness.h"
#include "../lf_cunit.h"

#define RULES                                                             \
	"[risk]\nmax_amount = USD:100.00, JPY:1000\nvelocity_count = 3\n" \
	"velocity_sum = GBP:100.00\nvelocity_window = 1h\ndaily_limit = EUR:50.00\n"

static char admin[128], key_y[128], key_z[128];
static int seq;

static const char *key(void)
{
	static char k[64];
	snprintf(k, sizeof k, "risk-%ld-%d", (long)getpid(), ++seq);
	return k;
}

static void account(const char *cur, const char *initial, char id[37])
{
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "r", cur, initial, id), 201);
}

/* A payment under k (a fresh key when NULL); its status; the body kept
 * in keep when not NULL. */
static int pay_k(const char *k, const char *from, const char *to, const char *amount,
		 struct lf_h_resp *keep)
{
	struct lf_h_resp r;
	int st = lf_h_pay(fx.d.port, k ? k : key(), from, to, amount, &r);
	if (keep != NULL)
		*keep = r;
	else
		lf_h_resp_free(&r);
	return st;
}

static int pay(const char *from, const char *to, const char *amount)
{
	return pay_k(NULL, from, to, amount, NULL);
}

/* A 422 risk_declined answer with its paymentId (into id). */
static bool risk_declined(const struct lf_h_resp *r, char id[37])
{
	char code[40];
	return r->status == 422 && lf_h_json_str(r->body, "code", code, sizeof code) &&
	       strcmp(code, "risk_declined") == 0 && lf_h_json_str(r->body, "paymentId", id, 37);
}

static int pay_risk(const char *from, const char *to, const char *amount)
{
	struct lf_h_resp r;
	char id[37];
	int st = pay_k(NULL, from, to, amount, &r);
	bool risk = risk_declined(&r, id);
	lf_h_resp_free(&r);
	return risk ? 1 : st;
}

static void books_hold(void)
{
	CU_ASSERT_EQUAL(lf_h_ctl(&fx.env, &fx.d, "reconcile"), 0);
	long long unbalanced = -1, negative = -1;
	CU_ASSERT(lf_h_sql_int(&fx.env, fx.db,
			       "SELECT COUNT(*) FROM (SELECT currency FROM accounts"
			       " GROUP BY currency HAVING SUM(balance) <> 0) x",
			       &unbalanced));
	CU_ASSERT_EQUAL(unbalanced, 0);
	CU_ASSERT(lf_h_sql_int(&fx.env, fx.db,
			       "SELECT COUNT(*) FROM accounts WHERE kind <> 'ISSUANCE'"
			       " AND balance - held < 0",
			       &negative));
	CU_ASSERT_EQUAL(negative, 0);
}

static long long metric(const char *rule)
{
	char series[120];
	long long v = -1;
	snprintf(series, sizeof series, "ledgerflow_risk_declined_total{rule=\"%s\"}", rule);
	CU_ASSERT(lf_h_metric(fx.d.port, series, &v));
	return v;
}

static void test_max_amount(void)
{
	char a[37], b[37], j[37], k2[37], id[37];
	account("USD", "1000.00", a);
	account("USD", NULL, b);
	long long before = metric("max_amount");
	CU_ASSERT_EQUAL(pay(a, b, "\"100.00\""), 201);
	const char *k = key();
	char kk[64];
	snprintf(kk, sizeof kk, "%s", k);
	struct lf_h_resp r, again;
	CU_ASSERT_EQUAL(pay_k(kk, a, b, "\"100.01\"", &r), 422);
	CU_ASSERT_FATAL(risk_declined(&r, id));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"title\":\"Declined by a risk rule\""));
	CU_ASSERT_PTR_NULL(strstr(r.body, "max_amount")); /* the rule is not told */
	/* replayed byte for byte, also with the amount written another way */
	CU_ASSERT_EQUAL(pay_k(kk, a, b, "100.01", &again), 422);
	CU_ASSERT_STRING_EQUAL(again.body, r.body);
	char hv[16];
	CU_ASSERT(lf_h_header(&again, "Idempotent-Replayed", hv, sizeof hv));
	lf_h_resp_free(&again);
	lf_h_resp_free(&r);
	/* recorded: DECLINED, with its event */
	char path[80], q[300];
	snprintf(path, sizeof path, "/api/payments/%s", id);
	CU_ASSERT_EQUAL(lf_h_http(fx.d.port, "GET", path, NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"status\":\"DECLINED\""));
	lf_h_resp_free(&r);
	long long n = -1;
	snprintf(q, sizeof q,
		 "SELECT COUNT(*) FROM events e JOIN payments p ON p.id = e.object_id"
		 " WHERE e.type = 'payment.declined' AND p.decline_reason = 'risk_declined'"
		 " AND LOWER(HEX(p.id)) = REPLACE('%s', '-', '')",
		 id);
	CU_ASSERT(lf_h_sql_int(&fx.env, fx.db, q, &n));
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(metric("max_amount"), before + 1);
	/* per currency, in its own digits: JPY 1000 passes, 1001 does not */
	account("JPY", "5000", j);
	account("JPY", NULL, k2);
	CU_ASSERT_EQUAL(pay(j, k2, "1000"), 201);
	CU_ASSERT_EQUAL(pay_risk(j, k2, "1001"), 1);
	books_hold();
}

static void test_velocity_count(void)
{
	char a[37], b[37];
	account("USD", "50.00", a);
	account("USD", NULL, b);
	/* a decline for funds does not count */
	CU_ASSERT_EQUAL(pay(a, b, "\"60.00\""), 422);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(pay(a, b, "\"1.00\""), 201);
	CU_ASSERT_EQUAL(pay_risk(a, b, "\"1.00\""), 1);
	CU_ASSERT_EQUAL(pay_risk(a, b, "\"1.00\""), 1); /* declines do not count either */
	/* the rule is per sending account: b may still pay */
	CU_ASSERT_EQUAL(pay(b, a, "\"1.00\""), 201);
	books_hold();
}

static void test_velocity_sum(void)
{
	char a[37], b[37];
	account("GBP", "500.00", a);
	account("GBP", NULL, b);
	CU_ASSERT_EQUAL(pay(a, b, "\"60.00\""), 201);
	CU_ASSERT_EQUAL(pay_risk(a, b, "\"40.01\""), 1);
	CU_ASSERT_EQUAL(pay(a, b, "\"40.00\""), 201); /* exactly 100.00 */
	CU_ASSERT_EQUAL(pay_risk(a, b, "\"0.01\""), 1);
	books_hold();
}

static void test_daily_limit(void)
{
	char a1[37], a2[37], b[37];
	/* client y's own accounts (funds:issue), paying admin's */
	account("EUR", NULL, b);
	lf_h_auth_use(key_y);
	account("EUR", "100.00", a1);
	account("EUR", "100.00", a2);
	CU_ASSERT_EQUAL(pay(a1, b, "\"30.00\""), 201);
	CU_ASSERT_EQUAL(pay_risk(a2, b, "\"20.01\""), 1);
	CU_ASSERT_EQUAL(pay(a2, b, "\"20.00\""), 201); /* exactly 50.00 today */
	CU_ASSERT_EQUAL(pay_risk(a1, b, "\"0.01\""), 1);
	CU_ASSERT_EQUAL(pay_risk(a2, b, "\"0.01\""), 1);
	lf_h_auth_use(admin);
	/* another client's day is its own */
	char c[37];
	account("EUR", "10.00", c);
	CU_ASSERT_EQUAL(pay(c, b, "\"10.00\""), 201);
	books_hold();
}

struct racer {
	const char *from, *to;
	int result;
};

static void *race(void *arg)
{
	struct racer *x = arg;
	char k[64];
	snprintf(k, sizeof k, "race-%ld-%p", (long)getpid(), (void *)x);
	struct lf_h_resp r;
	char id[37];
	int st = lf_h_pay(fx.d.port, k, x->from, x->to, "\"1.00\"", &r);
	x->result = st == 201 ? 201 : risk_declined(&r, id) ? 1 : st;
	lf_h_resp_free(&r);
	return NULL;
}

static void test_velocity_concurrent(void)
{
	char a[37], b[37];
	account("USD", "100.00", a);
	account("USD", NULL, b);
	struct racer x[8];
	pthread_t t[8];
	for (int i = 0; i < 8; i++) {
		x[i] = (struct racer){.from = a, .to = b};
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, race, &x[i]), 0);
	}
	int done = 0, declined = 0;
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		done += x[i].result == 201;
		declined += x[i].result == 1;
	}
	CU_ASSERT_EQUAL(done, 3);
	CU_ASSERT_EQUAL(declined, 5);
	char bal[32];
	CU_ASSERT_EQUAL(lf_h_balance(fx.d.port, b, bal, sizeof bal), 200);
	CU_ASSERT_STRING_EQUAL(bal, "3.00");
	books_hold();
}

/* ---- the risk webhook: a loopback receiver ---- */

static struct {
	int fd;
	unsigned port;
	pthread_t thread;
	volatile int mode; /* 0 approve, 1 decline, 2 too late, 3 status 500 */
	volatile int calls;
	volatile int answered; /* calls answered (a late answer included) */
	char last[2048];
	char sig[160]; /* the last call's LedgerFlow-Signature value ("" none) */
} rx = {.fd = -1};

#define RISK_SECRET "risk-test-secret"

static void *receiver(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept(rx.fd, NULL, NULL);
		if (c < 0)
			return NULL;
		char buf[4096];
		size_t n = 0;
		/* headers and a body of Content-Length bytes */
		for (int i = 0; i < 100 && n + 1 < sizeof buf; i++) {
			ssize_t r = recv(c, buf + n, sizeof buf - 1 - n, 0);
			if (r <= 0)
				break;
			n += (size_t)r;
			buf[n] = '\0';
			char *end = strstr(buf, "\r\n\r\n");
			char *cl = strstr(buf, "Content-Length: ");
			if (end && cl && (size_t)(end + 4 - buf) + strtoul(cl + 16, NULL, 10) <= n)
				break;
		}
		char *end = strstr(buf, "\r\n\r\n");
		snprintf(rx.last, sizeof rx.last, "%s", end ? end + 4 : "");
		char *sig = strstr(buf, "\r\nLedgerFlow-Signature: ");
		rx.sig[0] = '\0';
		if (sig != NULL && end != NULL && sig < end)
			snprintf(rx.sig, sizeof rx.sig, "%.*s", (int)strcspn(sig + 24, "\r"),
				 sig + 24);
		rx.calls++;
		int mode = rx.mode;
		if (mode == 2)
			usleep(400 * 1000); /* past webhook_timeout (150ms) */
		const char *body =
			mode == 1 ? "{\"decision\":\"decline\"}" : "{\"decision\":\"approve\"}";
		char out[256];
		int len = snprintf(out, sizeof out,
				   "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
				   "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
				   mode == 3 ? "500 Internal Server Error" : "200 OK", strlen(body),
				   body);
		(void)send(c, out, (size_t)len, MSG_NOSIGNAL);
		close(c);
		rx.answered++;
	}
}

static bool receiver_start(void)
{
	rx.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	if (rx.fd < 0 || bind(rx.fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(rx.fd, 16) != 0 || getsockname(rx.fd, (struct sockaddr *)&sa, &len) != 0)
		return false;
	rx.port = ntohs(sa.sin_port);
	return pthread_create(&rx.thread, NULL, receiver, NULL) == 0;
}

/* The receiver is done with every call (a late answer sent), so the next
 * call is not queued behind one. */
static void receiver_idle(void)
{
	for (int i = 0; i < 200 && rx.answered != rx.calls; i++)
		usleep(10 * 1000);
	CU_ASSERT_EQUAL(rx.answered, rx.calls);
}

/* POST /api/payments/batch is held to the rules like a payment: an
 * independent item over max_amount is its own 422 risk_declined
 * (recorded DECLINED), and an atomic batch fails at such an item with
 * batch_failed, its error risk_declined, nothing moved. */
static int post_batch(const char *body, struct lf_h_resp *r)
{
	char h[200];
	snprintf(h, sizeof h, "Content-Type: application/json\r\nIdempotency-Key: %s\r\n", key());
	return lf_h_http(fx.d.port, "POST", "/api/payments/batch", h, body, r) == 0 ? r->status
										    : -1;
}

/* A batch of n payments from[i] -> to[i] of amount[i] (JSON strings);
 * its status, the answer in r. */
static int batch(bool atomic, int n, char (*from)[37], char (*to)[37], const char **amount,
		 struct lf_h_resp *r)
{
	char body[2048];
	size_t len = (size_t)snprintf(body, sizeof body, "{\"atomic\": %s, \"payments\": [",
				      atomic ? "true" : "false");
	for (int i = 0; i < n && len < sizeof body; i++)
		len += (size_t)snprintf(body + len, sizeof body - len,
					"%s{\"fromAccountId\": \"%s\", \"toAccountId\": \"%s\","
					" \"amount\": \"%s\"}",
					i ? ", " : "", from[i], to[i], amount[i]);
	CU_ASSERT_FATAL(len + 3 < sizeof body);
	snprintf(body + len, sizeof body - len, "]}");
	return post_batch(body, r);
}

/* An atomic batch failed at item index with the problem code. */
static bool batch_failed_at(const struct lf_h_resp *r, int index, const char *code)
{
	char at[40], err[80];
	snprintf(at, sizeof at, "\"index\":%d,", index);
	snprintf(err, sizeof err, "\"code\":\"%s\"", code);
	const char *e = strstr(r->body, "\"error\":");
	return r->status == 422 && strstr(r->body, "\"code\":\"batch_failed\"") != NULL &&
	       strstr(r->body, at) != NULL && e != NULL && strstr(e, err) != NULL;
}

static void test_bulk_held_to_rules(void)
{
	char a[2][37], b[2][37];
	account("USD", "1000.00", a[0]);
	account("USD", NULL, b[0]);
	memcpy(a[1], a[0], 37), memcpy(b[1], b[0], 37);
	struct lf_h_resp r;
	const char *independent[] = {"100.00", "100.01"}, *atomic[] = {"1.00", "100.01"};
	CU_ASSERT_EQUAL_FATAL(batch(false, 2, a, b, independent, &r), 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"status\":201"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"code\":\"risk_declined\""));
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL_FATAL(batch(true, 2, a, b, atomic, &r), 422);
	CU_ASSERT(batch_failed_at(&r, 1, "risk_declined"));
	lf_h_resp_free(&r);
	/* only the independent batch's 100.00 moved */
	char path[80];
	snprintf(path, sizeof path, "/api/accounts/%s", a[0]);
	CU_ASSERT_EQUAL(lf_h_http(fx.d.port, "GET", path, NULL, NULL, &r), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"balance\":\"900.00\""));
	lf_h_resp_free(&r);
	books_hold();
}

static void balance_is(const char *id, const char *want)
{
	char bal[32] = "";
	CU_ASSERT_EQUAL(lf_h_balance(fx.d.port, id, bal, sizeof bal), 200);
	CU_ASSERT_STRING_EQUAL(bal, want);
}

/* An atomic batch is held to the rules that read history, under the same
 * locks as a payment, each item counting the batch's earlier ones: each
 * rule hits exactly at its threshold; the batch fails at the first item
 * that cannot be made whatever stopped it (a later item's rule does not
 * hide an earlier item's insufficient funds); nothing moves. */
static void test_atomic_rules(void)
{
	char a[3][37], b[3][37];
	account("USD", "1000.00", a[0]);
	account("USD", NULL, b[0]);
	memcpy(a[1], a[0], 37), memcpy(a[2], a[0], 37);
	memcpy(b[1], b[0], 37), memcpy(b[2], b[0], 37);
	struct lf_h_resp r;
	/* velocity_count 3: one payment before, then the batch's 3rd item is
	 * the 4th in the window */
	long long vc = metric("velocity_count");
	CU_ASSERT_EQUAL(pay(a[0], b[0], "\"1.00\""), 201);
	const char *ones[] = {"1.00", "1.00", "1.00"};
	CU_ASSERT_EQUAL(batch(true, 3, a, b, ones, &r), 422);
	CU_ASSERT(batch_failed_at(&r, 2, "risk_declined"));
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(metric("velocity_count"), vc + 1);
	balance_is(b[0], "1.00");
	CU_ASSERT_EQUAL(batch(true, 2, a, b, ones, &r), 201); /* the 2nd and 3rd */
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(pay_risk(a[0], b[0], "\"1.00\""), 1);
	balance_is(b[0], "3.00");

	/* velocity_sum GBP:100.00: exactly the limit across items passes */
	account("GBP", "500.00", a[0]);
	account("GBP", NULL, b[0]);
	memcpy(a[1], a[0], 37), memcpy(b[1], b[0], 37);
	const char *over[] = {"60.00", "40.01"}, *exact[] = {"60.00", "40.00"};
	CU_ASSERT_EQUAL(batch(true, 2, a, b, over, &r), 422);
	CU_ASSERT(batch_failed_at(&r, 1, "risk_declined"));
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(batch(true, 2, a, b, exact, &r), 201);
	lf_h_resp_free(&r);
	balance_is(b[0], "100.00");

	/* daily_limit EUR:50.00 for client z, over two of its accounts */
	account("EUR", NULL, b[0]);
	memcpy(b[1], b[0], 37);
	lf_h_auth_use(key_z);
	account("EUR", "100.00", a[0]);
	account("EUR", "100.00", a[1]);
	long long dl = metric("daily_limit");
	const char *d_over[] = {"30.00", "20.01"}, *d_exact[] = {"30.00", "20.00"};
	CU_ASSERT_EQUAL(batch(true, 2, a, b, d_over, &r), 422);
	CU_ASSERT(batch_failed_at(&r, 1, "risk_declined"));
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(metric("daily_limit"), dl + 1);
	CU_ASSERT_EQUAL(batch(true, 2, a, b, d_exact, &r), 201);
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(pay_risk(a[0], b[0], "\"0.01\""), 1); /* the day is spent */
	lf_h_auth_use(admin);
	balance_is(b[0], "50.00");

	/* the first item that cannot be made: insufficient funds at 0 comes
	 * before max_amount (decided before the transaction) at 1 */
	account("USD", "10.00", a[0]);
	account("USD", "1000.00", a[1]);
	account("USD", NULL, b[0]);
	memcpy(b[1], b[0], 37);
	const char *mixed[] = {"10.01", "100.01"};
	CU_ASSERT_EQUAL(batch(true, 2, a, b, mixed, &r), 422);
	CU_ASSERT(batch_failed_at(&r, 0, "insufficient_funds"));
	lf_h_resp_free(&r);
	balance_is(b[0], "0.00");
	books_hold();
}

/* The daemon reloaded with the rules and the webhook under policy. */
static void reload(const char *policy)
{
	char conf[600];
	snprintf(conf, sizeof conf,
		 RULES "webhook_url = http://127.0.0.1:%u/risk\nwebhook_timeout = 150ms\n"
		       "webhook_policy = %s\nwebhook_secret = " RISK_SECRET "\n",
		 rx.port, policy);
	CU_ASSERT_FATAL(lf_h_daemon_rewrite(&fx.env, &fx.d, 2, conf));
	pid_t before[8], now[8];
	int nb = lf_h_workers(fx.d.pid, before, 8);
	CU_ASSERT_FATAL(kill(fx.d.pid, SIGHUP) == 0);
	bool replaced = false;
	for (int64_t end = lf_h_now_ms() + 8000; !replaced && lf_h_now_ms() < end; usleep(20000)) {
		int n = lf_h_workers(fx.d.pid, now, 8);
		replaced = n == 2;
		for (int i = 0; i < n; i++)
			for (int j = 0; j < nb; j++)
				replaced = replaced && now[i] != before[j];
	}
	CU_ASSERT_FATAL(replaced);
}

static void test_webhook(void)
{
	CU_ASSERT_FATAL(receiver_start());
	reload("open");
	char a[37], b[37];
	account("JPY", "100", a);
	account("JPY", NULL, b);
	long long failures = -1;
	CU_ASSERT(lf_h_metric(fx.d.port, "ledgerflow_risk_webhook_failures_total", &failures));
	rx.mode = 0;
	CU_ASSERT_EQUAL(pay(a, b, "5"), 201);
	CU_ASSERT_EQUAL(rx.calls, 1);
	/* the question: the payment as the API writes it, and the client */
	CU_ASSERT_PTR_NOT_NULL(strstr(rx.last, "\"amount\":\"5\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(rx.last, a));
	CU_ASSERT_PTR_NOT_NULL(strstr(rx.last, "\"clientId\":"));
	/* signed like an event webhook: t=<unix seconds>,v1=HMAC over "<t>.<body>" */
	char t[24] = "", want[160];
	CU_ASSERT_EQUAL(sscanf(rx.sig, "t=%23[0-9],v1=", t), 1);
	CU_ASSERT(llabs(atoll(t) - (long long)time(NULL)) <= 5);
	CU_ASSERT(ev_signature(RISK_SECRET, t, rx.last, strlen(rx.last), want, sizeof want));
	CU_ASSERT_STRING_EQUAL(rx.sig, want);
	rx.mode = 1;
	CU_ASSERT_EQUAL(pay_risk(a, b, "5"), 1);
	long long before = metric("webhook");
	/* too late and open: approved; a 500 likewise */
	rx.mode = 2;
	CU_ASSERT_EQUAL(pay(a, b, "6"), 201);
	receiver_idle();
	rx.mode = 3;
	CU_ASSERT_EQUAL(pay(a, b, "7"), 201);
	long long f2 = -1;
	CU_ASSERT(lf_h_metric(fx.d.port, "ledgerflow_risk_webhook_failures_total", &f2));
	CU_ASSERT_EQUAL(f2, failures + 2);
	/* batches ask once per item, in request order: a decline stops an
	 * atomic batch there (nothing more is asked); a call without an
	 * answer in time lets the policy decide the rest without asking (one
	 * timeout per batch) */
	char ba[3][37], bb[3][37];
	struct lf_h_resp r;
	const char *amounts[] = {"1", "2", "3"};
	for (int i = 0; i < 3; i++) {
		account("JPY", "100", ba[i]);
		memcpy(bb[i], b, 37);
	}
	rx.mode = 1;
	int calls = rx.calls;
	CU_ASSERT_EQUAL(batch(true, 3, ba, bb, amounts, &r), 422);
	CU_ASSERT(batch_failed_at(&r, 0, "risk_declined"));
	CU_ASSERT_EQUAL(rx.calls, calls + 1);
	lf_h_resp_free(&r);
	rx.mode = 0;
	calls = rx.calls;
	CU_ASSERT_EQUAL(batch(true, 3, ba, bb, amounts, &r), 201);
	CU_ASSERT_EQUAL(rx.calls, calls + 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(rx.last, "\"amount\":\"3\"")); /* the last item's */
	lf_h_resp_free(&r);
	rx.mode = 2;
	calls = rx.calls;
	CU_ASSERT_EQUAL(batch(false, 3, ba, bb, amounts, &r), 200); /* open: all approved */
	CU_ASSERT_EQUAL(rx.calls, calls + 1);
	CU_ASSERT_PTR_NULL(strstr(r.body, "\"status\":422"));
	lf_h_resp_free(&r);
	receiver_idle();
	CU_ASSERT(lf_h_metric(fx.d.port, "ledgerflow_risk_webhook_failures_total", &f2));
	CU_ASSERT_EQUAL(f2, failures + 3);
	rx.mode = 0;
	/* too late and closed: declined, recorded like any risk decline (new
	 * accounts: a has made the 3 payments velocity_count allows) */
	reload("closed");
	account("JPY", "100", a);
	account("JPY", NULL, b);
	rx.mode = 2;
	CU_ASSERT_EQUAL(pay_risk(a, b, "8"), 1);
	receiver_idle();
	/* closed: an atomic batch fails at its first item, asked once */
	calls = rx.calls;
	CU_ASSERT_EQUAL(batch(true, 3, ba, bb, amounts, &r), 422);
	CU_ASSERT(batch_failed_at(&r, 0, "risk_declined"));
	CU_ASSERT_EQUAL(rx.calls, calls + 1);
	lf_h_resp_free(&r);
	receiver_idle();
	rx.mode = 0;
	CU_ASSERT_EQUAL(pay(a, b, "9"), 201);
	CU_ASSERT_EQUAL(metric("webhook"), before + 3); /* 1 payment, 2 atomic batches */
	char bal[32];
	CU_ASSERT_EQUAL(lf_h_balance(fx.d.port, b, bal, sizeof bal), 200);
	CU_ASSERT_STRING_EQUAL(bal, "9");
	CU_ASSERT(!lf_h_log_contains(&fx.d, RISK_SECRET)); /* a secret is never logged */
	books_hold();
}

static int setup(void)
{
	snprintf(admin, sizeof admin, "%s", lf_h_admin_key);
	const char *scopes = "--scopes accounts:read,accounts:write,payments:read,payments:write,"
			     "funds:issue";
	char cmd[200];
	snprintf(cmd, sizeof cmd, "client create risk-y %s", scopes);
	if (lf_h_ctl_key(&fx.env, &fx.d, cmd, key_y, sizeof key_y) != 0)
		return 1;
	snprintf(cmd, sizeof cmd, "client create risk-z %s", scopes);
	if (lf_h_ctl_key(&fx.env, &fx.d, cmd, key_z, sizeof key_z) != 0)
		return 1;
	lf_h_auth_use(admin);
	return 0;
}

static void teardown(void)
{
	if (rx.fd >= 0)
		shutdown(rx.fd, SHUT_RDWR);
}

static const struct lf_test tests[] = {
	{"bulk payments are held to the rules: independent items and atomic batches",
	 test_bulk_held_to_rules},
	{"max_amount: the maximum passes, one unit more is declined, recorded, replayed",
	 test_max_amount},
	{"atomic batches: velocity, daily limit at their thresholds, first failing item",
	 test_atomic_rules},
	{"velocity_count: the 3rd passes, the 4th is declined", test_velocity_count},
	{"velocity_sum: exactly the limit passes, a cent more is declined", test_velocity_sum},
	{"daily_limit: across two accounts of one client", test_daily_limit},
	{"8 concurrent payments, velocity_count 3: exactly 3", test_velocity_concurrent},
	{"risk webhook: approve, decline, late with open and closed", test_webhook},
};

static const struct lf_suite suites[] = {{"risk", LF_TESTS(tests)}};

int main(void)
{
	static const struct lf_h_fixture_opts opts = {
		.name = "risk", .setup = setup, .teardown = teardown, .extra_conf = RULES};
	return lf_h_fixture_main(suites, LF_COUNT(suites), &opts);
}
