/*
 * test_events_kinds.c - every kind of state change has exactly one event
 * (test_events.c has main and the shared helpers). A client of its own
 * walks through all nine: accounts created; a payment completed and one
 * declined; holds pending, then captured, voided, and expired (found past
 * its time by a late capture: the reaper is off in this program, so it is
 * lf_finish_hold that expires it); a refund completed and one declined
 * (its receiver has no funds left). It sees exactly those events, each
 * once, in the order it made the changes (commit order); payment.expired's
 * data is the payment's GET byte for byte (status EXPIRED, expiresAt,
 * capturedAmount null), refund.declined's the refund as GET
 * /api/payments/{id}/refunds lists it; the late capture and a late void
 * are 409 payment_not_pending and write no second payment.expired; another
 * client sees none of these events.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "test_events.h"

#define WALK_EVENTS 14

struct walk {
	char key[128];
	char acct[3][37];
	char paid[37], declined[37], captured[37], voided[37], expired[37], drained[37];
	char refund[37], refund_declined[37];
	int late[2]; /* the late capture's and void's status: 409 */
	char late_code[2][40];
	char expired_get[4096]; /* GET /api/payments/{expired} */
	char refunds_get[4096]; /* GET /api/payments/{paid}/refunds */
};

/* A payment or hold (extra: more members) of the current key; its status,
 * its id (a 422's paymentId) into id. */
static int w_pay(const char *from, const char *to, const char *amount, const char *extra,
		 char id[37])
{
	char req[400], body[4096];
	snprintf(req, sizeof req,
		 "{\"fromAccountId\":\"%s\",\"toAccountId\":\"%s\",\"amount\":\"%s\"%s}", from, to,
		 amount, extra);
	int st = te_post("/api/payments", req, id, body, sizeof body);
	if (st == 422 && !lf_h_json_str(body, "paymentId", id, 37))
		id[0] = '\0';
	return st;
}

static int w_action(const char *payment, const char *what, const char *req, char id[37], char *keep,
		    size_t klen)
{
	char path[120];
	snprintf(path, sizeof path, "/api/payments/%s/%s", payment, what);
	return te_post(path, req, id, keep, klen);
}

/* The accounts, the payments and the holds. */
static void walk_payments(struct walk *w)
{
	const char *scopes = "--scopes accounts:read,accounts:write,payments:read,"
			     "payments:write,events:read";
	char cmd[200], body[4096];
	snprintf(cmd, sizeof cmd, "client create ev-walk %s", scopes);
	CU_ASSERT_EQUAL_FATAL(lf_h_ctl_key(&fx.env, &fx.d, cmd, w->key, sizeof w->key), 0);
	lf_h_auth_use(w->key);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL_FATAL(lf_h_account(fx.d.port, "ev-walk", "USD", NULL, w->acct[i]),
				      201);
	lf_h_auth_use(lf_h_admin_key); /* the admin's payment: not the walker's event */
	CU_ASSERT_EQUAL_FATAL(w_pay(te_funded, w->acct[0], "50.00", "", body), 201);
	lf_h_auth_use(w->key);
	CU_ASSERT_EQUAL_FATAL(w_pay(w->acct[0], w->acct[1], "5.00", "", w->paid), 201);
	CU_ASSERT_EQUAL_FATAL(w_pay(w->acct[0], w->acct[1], "999.00", "", w->declined), 422);
	const char *hold = ",\"capture\":false";
	CU_ASSERT_EQUAL_FATAL(w_pay(w->acct[0], w->acct[1], "3.00", hold, w->captured), 201);
	CU_ASSERT_EQUAL_FATAL(w_action(w->captured, "capture", "{}", NULL, NULL, 0), 200);
	CU_ASSERT_EQUAL_FATAL(w_pay(w->acct[0], w->acct[1], "2.00", hold, w->voided), 201);
	CU_ASSERT_EQUAL_FATAL(w_action(w->voided, "void", "{}", NULL, NULL, 0), 200);
	CU_ASSERT_EQUAL_FATAL(w_pay(w->acct[0], w->acct[1], "1.00",
				    ",\"capture\":false,\"holdTimeout\":\"1s\"", w->expired),
			      201);
	usleep(1300 * 1000); /* past its expiresAt; no reaper runs here */
	for (int i = 0; i < 2; i++) {
		w->late[i] = w_action(w->expired, i == 0 ? "capture" : "void", "{}", NULL, body,
				      sizeof body);
		if (!lf_h_json_str(body, "code", w->late_code[i], sizeof w->late_code[i]))
			w->late_code[i][0] = '\0';
	}
}

/* The refunds: 1.00 of the 5.00 paid, then the receiver's balance (7.00)
 * paid on, and a refund of 2.00 declined. */
static void walk_refunds(struct walk *w)
{
	char body[4096];
	CU_ASSERT_EQUAL_FATAL(
		w_action(w->paid, "refunds", "{\"amount\":\"1.00\"}", w->refund, NULL, 0), 201);
	CU_ASSERT_EQUAL_FATAL(w_pay(w->acct[1], w->acct[2], "7.00", "", w->drained), 201);
	CU_ASSERT_EQUAL_FATAL(w_action(w->paid, "refunds",
				       "{\"amount\":\"2.00\",\"reason\":\"walk \\\"2\\\"\"}", NULL,
				       body, sizeof body),
			      422);
	CU_ASSERT_FATAL(lf_h_json_str(body, "refundId", w->refund_declined, 37));
	struct lf_h_resp r;
	char path[120];
	snprintf(path, sizeof path, "/api/payments/%s", w->expired);
	CU_ASSERT_EQUAL_FATAL(te_get(path, &r), 200);
	snprintf(w->expired_get, sizeof w->expired_get, "%s", r.body);
	lf_h_resp_free(&r);
	snprintf(path, sizeof path, "/api/payments/%s/refunds", w->paid);
	CU_ASSERT_EQUAL_FATAL(te_get(path, &r), 200);
	snprintf(w->refunds_get, sizeof w->refunds_get, "%s", r.body);
	lf_h_resp_free(&r);
}

/* data is one element of the listing, byte for byte. */
static bool listed(const char *listing, const char *data, const char *id)
{
	char head[60];
	snprintf(head, sizeof head, "{\"id\":\"%s\"", id);
	const char *at = strstr(listing, data);
	return strncmp(data, head, strlen(head)) == 0 && at != NULL && at > listing &&
	       (at[-1] == '[' || at[-1] == ',') &&
	       (at[strlen(data)] == ']' || at[strlen(data)] == ',');
}

void test_every_kind(void)
{
	static struct walk w;
	static struct ev evs[64], others[2048];
	memset(&w, 0, sizeof w);
	walk_payments(&w);
	walk_refunds(&w);
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(w.late[i], 409);
		CU_ASSERT_STRING_EQUAL(w.late_code[i], "payment_not_pending");
	}
	const struct {
		const char *type, *object;
	} want[WALK_EVENTS] = {
		{"account.created", w.acct[0]},   {"account.created", w.acct[1]},
		{"account.created", w.acct[2]},   {"payment.completed", w.paid},
		{"payment.declined", w.declined}, {"payment.pending", w.captured},
		{"payment.captured", w.captured}, {"payment.pending", w.voided},
		{"payment.voided", w.voided},     {"payment.pending", w.expired},
		{"payment.expired", w.expired},   {"refund.completed", w.refund},
		{"payment.completed", w.drained}, {"refund.declined", w.refund_declined},
	};
	/* exactly these, once each, in the order they were made */
	int n = te_all_events(evs, 64);
	CU_ASSERT_EQUAL(n, WALK_EVENTS);
	for (int i = 0; i < n && i < WALK_EVENTS; i++) {
		CU_ASSERT_STRING_EQUAL(evs[i].type, want[i].type);
		CU_ASSERT_STRING_EQUAL(evs[i].object, want[i].object);
	}
	const char *kinds[] = {"account.created", "payment.completed", "payment.declined",
			       "payment.pending", "payment.captured",  "payment.voided",
			       "payment.expired", "refund.completed",  "refund.declined"};
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		int seen = 0;
		for (int i = 0; i < n; i++)
			seen += strcmp(evs[i].type, kinds[k]) == 0;
		CU_ASSERT(seen >= 1);
	}
	/* payment.expired: the payment's GET; refund.declined: as listed */
	static char data[4096];
	CU_ASSERT_TRUE(te_event_data("payment.expired", w.expired, data, sizeof data));
	CU_ASSERT_STRING_EQUAL(data, w.expired_get);
	CU_ASSERT_PTR_NOT_NULL(strstr(data, "\"status\":\"EXPIRED\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(data, "\"capturedAmount\":null"));
	CU_ASSERT_PTR_NULL(strstr(data, "\"expiresAt\":null"));
	CU_ASSERT_TRUE(te_event_data("refund.declined", w.refund_declined, data, sizeof data));
	CU_ASSERT_TRUE(listed(w.refunds_get, data, w.refund_declined));
	CU_ASSERT_PTR_NOT_NULL(strstr(data, "\"status\":\"DECLINED\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(data, "\"reason\":\"walk \\\"2\\\"\""));
	CU_ASSERT_TRUE(te_event_data("refund.completed", w.refund, data, sizeof data));
	CU_ASSERT_TRUE(listed(w.refunds_get, data, w.refund));
	/* another client sees none of them */
	lf_h_auth_use(te_key_y);
	int m = te_all_events(others, 2048);
	CU_ASSERT(m >= 0);
	for (int i = 0; i < m; i++)
		for (int j = 0; j < WALK_EVENTS; j++)
			CU_ASSERT(strcmp(others[i].object, want[j].object) != 0);
	lf_h_auth_use(lf_h_admin_key);
}
