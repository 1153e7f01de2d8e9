/*
 * test_holds.c - holds, refunds and metadata against a real ledgerflowd
 * (issue 11): a hold reserves (balance unchanged, availableBalance and
 * heldBalance move), capture in full and in part (money moves only then),
 * void, expiry by the reaper, the available balance enforced for payments
 * and new holds, two racing captures (one 200, one 409), refunds in full
 * and in part, concurrent refunds never beyond the captured amount, a
 * declined refund recorded and replayed, idempotent replays of capture,
 * void and refund, another client's payment 404, metadata validated and
 * returned; payment.expired written once by the reaper with the payment's
 * GET as its data, and captures racing expiry (each hold captured or
 * expired, with exactly one event). ledgerflowctl reconcile exits 0 after
 * every scenario.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "events_util.h"
#include "harness.h"
#include "../lf_cunit.h"

static char admin[128], key_y[128];
static int seq;

static int post(const char *path, const char *key, const char *body, struct lf_h_resp *r)
{
	char h[400] = "Content-Type: application/json\r\n";
	if (key != NULL)
		snprintf(h, sizeof h, "Content-Type: application/json\r\nIdempotency-Key: %s\r\n",
			 key);
	return lf_h_http(fx.d.port, "POST", path, h, body, r) == 0 ? r->status : -1;
}

static int get(const char *path, struct lf_h_resp *r)
{
	return lf_h_http(fx.d.port, "GET", path, NULL, NULL, r) == 0 ? r->status : -1;
}

static const char *key(void)
{
	static char k[64];
	snprintf(k, sizeof k, "holds-%ld-%d", (long)getpid(), ++seq);
	return k;
}

/* An account funded with `initial` (admin), its id into id. */
static void account(const char *initial, char id[37])
{
	lf_h_auth_use(admin);
	CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "h", "USD", initial, id), 201);
}

/* A payment or hold (extra: more members); its status, id into id. */
static int pay(const char *from, const char *to, const char *amount, const char *extra, char id[37],
	       struct lf_h_resp *keep)
{
	char body[1200];
	snprintf(body, sizeof body,
		 "{\"fromAccountId\":\"%s\",\"toAccountId\":\"%s\",\"amount\":%s%s}", from, to,
		 amount, extra ? extra : "");
	struct lf_h_resp r;
	int st = post("/api/payments", key(), body, &r);
	if (id != NULL && !lf_h_json_str(r.body, "id", id, 37) &&
	    !lf_h_json_str(r.body, "paymentId", id, 37))
		id[0] = '\0';
	if (keep != NULL)
		*keep = r;
	else
		lf_h_resp_free(&r);
	return st;
}

/* An account's balance, available and held amounts, in the body's text. */
static void balances(const char *id, char bal[32], char avail[32], char held[32])
{
	char path[80];
	struct lf_h_resp r;
	snprintf(path, sizeof path, "/api/accounts/%s", id);
	CU_ASSERT_EQUAL_FATAL(get(path, &r), 200);
	CU_ASSERT(lf_h_json_str(r.body, "balance", bal, 32));
	CU_ASSERT(lf_h_json_str(r.body, "availableBalance", avail, 32));
	CU_ASSERT(lf_h_json_str(r.body, "heldBalance", held, 32));
	lf_h_resp_free(&r);
}

static int action(const char *id, const char *what, const char *k, const char *body,
		  struct lf_h_resp *r)
{
	char path[120];
	snprintf(path, sizeof path, "/api/payments/%s/%s", id, what);
	return post(path, k, body, r);
}

static void reconcile_clean(void)
{
	CU_ASSERT_EQUAL(lf_h_ctl(&fx.env, &fx.d, "reconcile"), 0);
}

/* How many events of type there are for object (the admin sees every
 * client's); the first one's data, as text, into data. -1: no listing. */
static int events_of(const char *type, const char *object, char *data, size_t len)
{
	static struct ev evs[2000];
	int n = ev_all(fx.d.port, evs, 2000), count = 0;
	data[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (strcmp(evs[i].type, type) != 0 || strcmp(evs[i].object, object) != 0)
			continue;
		if (count++ > 0)
			continue;
		char path[100];
		struct lf_h_resp r;
		snprintf(path, sizeof path, "/api/events/%.40s", evs[i].id);
		if (get(path, &r) == 200 && strstr(r.body, "\"data\":") != NULL) {
			const char *d = strstr(r.body, "\"data\":") + 7;
			snprintf(data, len, "%.*s", (int)(strlen(d) - 1),
				 d); /* not the event's } */
		}
		lf_h_resp_free(&r);
	}
	return n < 0 ? -1 : count;
}

static void test_hold_capture(void)
{
	char a[37], b[37], h[37], bal[32], av[32], held[32];
	account("100.00", a);
	account(NULL, b);
	struct lf_h_resp r;
	CU_ASSERT_EQUAL_FATAL(pay(a, b, "\"30.00\"", ",\"capture\":false", h, &r), 201);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"status\":\"PENDING\""));
	CU_ASSERT(lf_h_json_null(r.body, "capturedAmount"));
	CU_ASSERT_FALSE(lf_h_json_null(r.body, "expiresAt"));
	lf_h_resp_free(&r);
	balances(a, bal, av, held);
	CU_ASSERT_STRING_EQUAL(bal, "100.00");
	CU_ASSERT_STRING_EQUAL(av, "70.00");
	CU_ASSERT_STRING_EQUAL(held, "30.00");
	/* held funds are not spent: 80 of the 70 available is declined */
	CU_ASSERT_EQUAL(pay(a, b, "\"80.00\"", NULL, NULL, NULL), 422);
	CU_ASSERT_EQUAL(pay(a, b, "\"71.00\"", ",\"capture\":false", NULL, NULL), 422);
	/* more than held is a 400; a partial capture releases the rest */
	CU_ASSERT_EQUAL(action(h, "capture", key(), "{\"amount\":\"30.01\"}", &r), 400);
	lf_h_resp_free(&r);
	const char *k = key();
	char kk[64];
	snprintf(kk, sizeof kk, "%s", k);
	CU_ASSERT_EQUAL_FATAL(action(h, "capture", kk, "{\"amount\":\"20.00\"}", &r), 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"status\":\"COMPLETED\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"capturedAmount\":\"20.00\""));
	char first[2048];
	snprintf(first, sizeof first, "%s", r.body);
	lf_h_resp_free(&r);
	balances(a, bal, av, held);
	CU_ASSERT_STRING_EQUAL(bal, "80.00");
	CU_ASSERT_STRING_EQUAL(av, "80.00");
	CU_ASSERT_STRING_EQUAL(held, "0.00");
	balances(b, bal, av, held);
	CU_ASSERT_STRING_EQUAL(bal, "20.00");
	/* the same key replays byte for byte; another key is 409 */
	CU_ASSERT_EQUAL(action(h, "capture", kk, "{\"amount\":\"20\"}", &r), 200);
	CU_ASSERT_STRING_EQUAL(r.body, first);
	char hv[16];
	CU_ASSERT(lf_h_header(&r, "Idempotent-Replayed", hv, sizeof hv));
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(action(h, "capture", key(), "{}", &r), 409);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "payment_not_pending"));
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(action(h, "void", key(), "{}", &r), 409);
	lf_h_resp_free(&r);
	/* a full capture of another hold */
	CU_ASSERT_EQUAL_FATAL(pay(a, b, "\"5.00\"", ",\"capture\":false", h, NULL), 201);
	CU_ASSERT_EQUAL(action(h, "capture", key(), "{}", &r), 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"capturedAmount\":\"5.00\""));
	lf_h_resp_free(&r);
	balances(a, bal, av, held);
	CU_ASSERT_STRING_EQUAL(bal, "75.00");
	/* no key: 400 */
	CU_ASSERT_EQUAL(action(h, "capture", NULL, "{}", &r), 400);
	lf_h_resp_free(&r);
	reconcile_clean();
}

static void test_void_and_expiry(void)
{
	char a[37], b[37], h[37], h2[37], bal[32], av[32], held[32];
	account("10.00", a);
	account(NULL, b);
	CU_ASSERT_EQUAL_FATAL(pay(a, b, "\"4.00\"", ",\"capture\":false", h, NULL), 201);
	struct lf_h_resp r;
	const char *k = key();
	char kk[64];
	snprintf(kk, sizeof kk, "%s", k);
	CU_ASSERT_EQUAL(action(h, "void", kk, "{}", &r), 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"status\":\"VOIDED\""));
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(action(h, "void", kk, "{}", &r), 200); /* replayed */
	lf_h_resp_free(&r);
	balances(a, bal, av, held);
	CU_ASSERT_STRING_EQUAL(av, "10.00");
	CU_ASSERT_STRING_EQUAL(held, "0.00");
	/* a hold of 1s: the reaper (expire_interval 200ms) expires it */
	CU_ASSERT_EQUAL_FATAL(
		pay(a, b, "\"6.00\"", ",\"capture\":false,\"holdTimeout\":\"1s\"", h2, NULL), 201);
	balances(a, bal, av, held);
	CU_ASSERT_STRING_EQUAL(av, "4.00");
	char path[80];
	snprintf(path, sizeof path, "/api/payments/%s", h2);
	bool expired = false;
	for (int i = 0; i < 100 && !expired; i++) { /* 10 s at most */
		usleep(100 * 1000);
		CU_ASSERT_EQUAL_FATAL(get(path, &r), 200);
		expired = strstr(r.body, "\"status\":\"EXPIRED\"") != NULL;
		lf_h_resp_free(&r);
	}
	CU_ASSERT_TRUE(expired);
	balances(a, bal, av, held);
	CU_ASSERT_STRING_EQUAL(bal, "10.00");
	CU_ASSERT_STRING_EQUAL(av, "10.00");
	CU_ASSERT_EQUAL(action(h2, "capture", key(), "{}", &r), 409);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "payment_not_pending"));
	lf_h_resp_free(&r);
	/* the reaper wrote payment.expired, once (the capture after it none),
	 * with the payment exactly as its GET shows it */
	static char data[4096];
	CU_ASSERT_EQUAL(events_of("payment.expired", h2, data, sizeof data), 1);
	CU_ASSERT_EQUAL_FATAL(get(path, &r), 200);
	CU_ASSERT_STRING_EQUAL(data, r.body);
	lf_h_resp_free(&r);
	/* bad holdTimeout, capture not a boolean */
	CU_ASSERT_EQUAL(pay(a, b, "1", ",\"capture\":false,\"holdTimeout\":\"0s\"", NULL, NULL),
			400);
	CU_ASSERT_EQUAL(pay(a, b, "1", ",\"capture\":\"no\"", NULL, NULL), 400);
	reconcile_clean();
}

struct racer {
	char id[37], what[16], key[64];
	int delay_ms; /* before it sends */
	int status;
};

static void *race(void *arg)
{
	struct racer *x = arg;
	struct lf_h_resp r;
	if (x->delay_ms > 0)
		usleep((useconds_t)x->delay_ms * 1000);
	x->status = action(x->id, x->what, x->key, "{}", &r);
	lf_h_resp_free(&r);
	return NULL;
}

/* n concurrent actions; how many answered `want`. */
static int run_race(struct racer *x, int n, int want)
{
	pthread_t t[8];
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, race, &x[i]);
	int got = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		got += x[i].status == want;
	}
	return got;
}

static void test_racing_captures(void)
{
	char a[37], b[37], h[37], bal[32], av[32], held[32];
	account("50.00", a);
	account(NULL, b);
	for (int round = 0; round < 5; round++) {
		CU_ASSERT_EQUAL_FATAL(pay(a, b, "\"1.00\"", ",\"capture\":false", h, NULL), 201);
		struct racer x[4];
		memset(x, 0, sizeof x);
		for (int i = 0; i < 4; i++) {
			snprintf(x[i].id, sizeof x[i].id, "%s", h);
			snprintf(x[i].what, sizeof x[i].what, "%s", i == 3 ? "void" : "capture");
			snprintf(x[i].key, sizeof x[i].key, "%s", key());
		}
		int ok = run_race(x, 4, 200);
		CU_ASSERT_EQUAL(ok, 1);
		int conflicts = 0;
		for (int i = 0; i < 4; i++)
			conflicts += x[i].status == 409;
		CU_ASSERT_EQUAL(conflicts, 3);
	}
	balances(a, bal, av, held);
	CU_ASSERT_STRING_EQUAL(held, "0.00");
	reconcile_clean();
}

/* Captures racing expiry (the reaper every 200ms, and lf_finish_hold
 * finding a hold past its time): captures spread around the moment the
 * holds expire; each hold ends captured (200, one payment.captured) or
 * expired (409, one payment.expired), never both, never two events. */
static void test_capture_racing_expiry(void)
{
	enum { N = 6 };
	char a[37], b[37], bal[32], av[32], held[32], path[80], status[16];
	static char data[4096];
	account("50.00", a);
	account(NULL, b);
	struct racer x[N];
	memset(x, 0, sizeof x);
	for (int i = 0; i < N; i++) {
		CU_ASSERT_EQUAL_FATAL(pay(a, b, "\"1.00\"",
					  ",\"capture\":false,\"holdTimeout\":\"1s\"", x[i].id,
					  NULL),
				      201);
		snprintf(x[i].what, sizeof x[i].what, "capture");
		snprintf(x[i].key, sizeof x[i].key, "%s", key());
		x[i].delay_ms = 800 + 70 * i; /* 0.8 s .. 1.15 s after the holds */
	}
	run_race(x, N, 200);
	usleep(600 * 1000); /* three more reaper rounds: none writes a second event */
	int captured = 0;
	for (int i = 0; i < N; i++) {
		CU_ASSERT(x[i].status == 200 || x[i].status == 409);
		int c = events_of("payment.captured", x[i].id, data, sizeof data);
		int e = events_of("payment.expired", x[i].id, data, sizeof data);
		CU_ASSERT_EQUAL(c, x[i].status == 200 ? 1 : 0);
		CU_ASSERT_EQUAL(e, x[i].status == 200 ? 0 : 1);
		struct lf_h_resp r;
		snprintf(path, sizeof path, "/api/payments/%.36s", x[i].id);
		CU_ASSERT_EQUAL_FATAL(get(path, &r), 200);
		CU_ASSERT(lf_h_json_str(r.body, "status", status, sizeof status));
		CU_ASSERT_STRING_EQUAL(status, x[i].status == 200 ? "COMPLETED" : "EXPIRED");
		if (e == 1)
			CU_ASSERT_STRING_EQUAL(data, r.body); /* the expired payment's GET */
		lf_h_resp_free(&r);
		captured += x[i].status == 200;
	}
	balances(a, bal, av, held);
	char want[32];
	snprintf(want, sizeof want, "%d.00", 50 - captured);
	CU_ASSERT_STRING_EQUAL(bal, want);
	CU_ASSERT_STRING_EQUAL(av, want);
	CU_ASSERT_STRING_EQUAL(held, "0.00");
	reconcile_clean();
}

static void test_refunds(void)
{
	char a[37], b[37], p[37], bal[32], av[32], held[32];
	account("100.00", a);
	account(NULL, b);
	CU_ASSERT_EQUAL_FATAL(pay(a, b, "\"40.00\"", NULL, p, NULL), 201);
	struct lf_h_resp r;
	char kk[64];
	snprintf(kk, sizeof kk, "%s", key());
	CU_ASSERT_EQUAL(action(p, "refunds", kk, "{\"amount\":\"10.00\",\"reason\":\"dup\"}", &r),
			201);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"amount\":\"10.00\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"reason\":\"dup\""));
	char first[1024];
	snprintf(first, sizeof first, "%s", r.body);
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(action(p, "refunds", kk, "{\"amount\":10,\"reason\":\"dup\"}", &r), 201);
	CU_ASSERT_STRING_EQUAL(r.body, first); /* replayed */
	lf_h_resp_free(&r);
	/* more than the rest: 422, recorded */
	CU_ASSERT_EQUAL(action(p, "refunds", key(), "{\"amount\":\"30.01\"}", &r), 422);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "refund_exceeds_payment"));
	lf_h_resp_free(&r);
	/* concurrent refunds of 5.00 each: never past the 30.00 left */
	struct racer x[8];
	memset(x, 0, sizeof x);
	for (int i = 0; i < 8; i++) {
		snprintf(x[i].id, sizeof x[i].id, "%s", p);
		snprintf(x[i].what, sizeof x[i].what, "refunds");
		snprintf(x[i].key, sizeof x[i].key, "%s", key());
	}
	pthread_t t[8];
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, race, &x[i]); /* "{}": the rest each */
	int created = 0;
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		created += x[i].status == 201;
		CU_ASSERT(x[i].status == 201 || x[i].status == 422 || x[i].status == 503);
	}
	CU_ASSERT(created >= 1);
	snprintf(kk, sizeof kk, "/api/payments/%s", p);
	CU_ASSERT_EQUAL(get(kk, &r), 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"refundedAmount\":\"40.00\""));
	lf_h_resp_free(&r);
	balances(a, bal, av, held);
	CU_ASSERT_STRING_EQUAL(bal, "100.00");
	snprintf(kk, sizeof kk, "/api/payments/%s/refunds", p);
	CU_ASSERT_EQUAL(get(kk, &r), 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "{\"refunds\":[{"));
	lf_h_resp_free(&r);
	reconcile_clean();
}

static void test_declined_refund(void)
{
	char a[37], b[37], c[37], p[37];
	account("20.00", a);
	account(NULL, b);
	account(NULL, c);
	CU_ASSERT_EQUAL_FATAL(pay(a, b, "\"20.00\"", NULL, p, NULL), 201);
	lf_h_auth_use(admin);
	CU_ASSERT_EQUAL_FATAL(pay(b, c, "\"15.00\"", NULL, NULL, NULL), 201); /* b spends it */
	struct lf_h_resp r;
	char kk[64];
	snprintf(kk, sizeof kk, "%s", key());
	CU_ASSERT_EQUAL(action(p, "refunds", kk, "{}", &r), 422);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "insufficient_funds"));
	char first[1024];
	snprintf(first, sizeof first, "%s", r.body);
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(action(p, "refunds", kk, "{}", &r), 422);
	CU_ASSERT_STRING_EQUAL(r.body, first);
	lf_h_resp_free(&r);
	char path[120];
	snprintf(path, sizeof path, "/api/payments/%s/refunds", p);
	CU_ASSERT_EQUAL(get(path, &r), 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"status\":\"DECLINED\""));
	lf_h_resp_free(&r);
	reconcile_clean();
}

static void test_other_client(void)
{
	char a[37], b[37], h[37];
	account("10.00", a);
	account(NULL, b);
	CU_ASSERT_EQUAL_FATAL(pay(a, b, "\"1.00\"", ",\"capture\":false", h, NULL), 201);
	lf_h_auth_use(key_y);
	struct lf_h_resp r;
	CU_ASSERT_EQUAL(action(h, "capture", key(), "{}", &r), 404);
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(action(h, "void", key(), "{}", &r), 404);
	lf_h_resp_free(&r);
	CU_ASSERT_EQUAL(action(h, "refunds", key(), "{}", &r), 404);
	lf_h_resp_free(&r);
	char path[120];
	snprintf(path, sizeof path, "/api/payments/%s/refunds", h);
	CU_ASSERT_EQUAL(get(path, &r), 404);
	lf_h_resp_free(&r);
	lf_h_auth_use(admin);
	CU_ASSERT_EQUAL(action(h, "void", key(), "{}", &r), 200);
	lf_h_resp_free(&r);
	reconcile_clean();
}

static void test_metadata(void)
{
	char a[37], b[37], p[37];
	account("10.00", a);
	account(NULL, b);
	static const char *const bad[] = {
		",\"metadata\":[]",
		",\"metadata\":{\"k\":1}",
		",\"metadata\":{\"\":\"v\"}",
		",\"metadata\":{\"k\":null}",
		",\"metadata\":{\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\":\"v\"}", /* 41 */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CU_ASSERT_EQUAL(pay(a, b, "1", bad[i], NULL, NULL), 400);
	char many[600] = ",\"metadata\":{";
	for (int i = 0; i < 21; i++)
		snprintf(many + strlen(many), sizeof many - strlen(many), "%s\"k%d\":\"v\"",
			 i ? "," : "", i);
	strcat(many, "}");
	CU_ASSERT_EQUAL(pay(a, b, "1", many, NULL, NULL), 400);
	char big[700];
	snprintf(big, sizeof big, ",\"metadata\":{\"k\":\"%0501d\"}", 0);
	CU_ASSERT_EQUAL(pay(a, b, "1", big, NULL, NULL), 400);
	struct lf_h_resp r;
	CU_ASSERT_EQUAL_FATAL(
		pay(a, b, "1", ",\"metadata\":{\"z\":\"1\",\"a\":\"\\u00e9\"}", p, &r), 201);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"metadata\":{\"a\":\"\xc3\xa9\",\"z\":\"1\"}"));
	lf_h_resp_free(&r);
	char path[80];
	snprintf(path, sizeof path, "/api/payments/%s", p);
	CU_ASSERT_EQUAL(get(path, &r), 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"metadata\":{\"a\":\"\xc3\xa9\",\"z\":\"1\"}"));
	lf_h_resp_free(&r);
	/* accounts too */
	CU_ASSERT_EQUAL(post("/api/accounts", NULL,
			     "{\"name\":\"m\",\"currency\":\"USD\",\"metadata\":{\"t\":\"x\"}}",
			     &r),
			201);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"metadata\":{\"t\":\"x\"}"));
	char id[37];
	CU_ASSERT_FATAL(lf_h_json_str(r.body, "id", id, sizeof id));
	lf_h_resp_free(&r);
	snprintf(path, sizeof path, "/api/accounts/%s", id);
	CU_ASSERT_EQUAL(get(path, &r), 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"metadata\":{\"t\":\"x\"}"));
	lf_h_resp_free(&r);
	/* member order does not change the fingerprint; a value does */
	char kk[64];
	snprintf(kk, sizeof kk, "%s", key());
	char body[300];
	snprintf(body, sizeof body,
		 "{\"fromAccountId\":\"%s\",\"toAccountId\":\"%s\",\"amount\":1,"
		 "\"metadata\":{\"x\":\"1\",\"y\":\"2\"}}",
		 a, b);
	CU_ASSERT_EQUAL(post("/api/payments", kk, body, &r), 201);
	lf_h_resp_free(&r);
	snprintf(body, sizeof body,
		 "{\"fromAccountId\":\"%s\",\"toAccountId\":\"%s\",\"amount\":1,"
		 "\"metadata\":{\"y\":\"2\",\"x\":\"1\"}}",
		 a, b);
	CU_ASSERT_EQUAL(post("/api/payments", kk, body, &r), 201);
	lf_h_resp_free(&r);
	snprintf(body, sizeof body,
		 "{\"fromAccountId\":\"%s\",\"toAccountId\":\"%s\",\"amount\":1,"
		 "\"metadata\":{\"y\":\"3\",\"x\":\"1\"}}",
		 a, b);
	CU_ASSERT_EQUAL(post("/api/payments", kk, body, &r), 422);
	lf_h_resp_free(&r);
	reconcile_clean();
}

static int setup(void)
{
	snprintf(admin, sizeof admin, "%s", lf_h_admin_key);
	const char *scopes = "--scopes accounts:read,accounts:write,payments:read,payments:write";
	char cmd[200];
	snprintf(cmd, sizeof cmd, "client create holds-y %s", scopes);
	if (lf_h_ctl_key(&fx.env, &fx.d, cmd, key_y, sizeof key_y) != 0)
		return 1;
	lf_h_auth_use(admin);
	return 0;
}

static const struct lf_test tests[] = {
	{"hold, partial and full capture, available balance, replay", test_hold_capture},
	{"void, expiry by the reaper", test_void_and_expiry},
	{"racing captures and a void: exactly one wins", test_racing_captures},
	{"captures racing expiry: captured or expired, one event", test_capture_racing_expiry},
	{"refunds: partial, replayed, over the rest, concurrent", test_refunds},
	{"a declined refund is recorded and replayed", test_declined_refund},
	{"another client's payment is 404", test_other_client},
	{"metadata: validation, canonical round trip, fingerprint", test_metadata},
};

static const struct lf_suite suites[] = {{"holds", LF_TESTS(tests)}};

int main(void)
{
	static const struct lf_h_fixture_opts opts = {
		.name = "holds",
		.setup = setup,
		.extra_conf = "[payments]\nexpire_interval = 200ms\n"};
	return lf_h_fixture_main(suites, LF_COUNT(suites), &opts);
}
