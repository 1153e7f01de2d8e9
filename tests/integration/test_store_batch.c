/*
 * test_store_batch.c - lf_store_transfer_batch (decided in C, judged and
 * written by CALL lf_transfer_group_v2), the group commit, against a real
 * MariaDB as the runtime user:
 *   - a batch decides in arrival order against the running balances
 *     (declines do not affect the others; A->B with B->A; an issuance
 *     sender), stores each outcome with its key, and hands back as
 *     "fallback" (nothing written) a later duplicate of a key, a missing
 *     receiver, a currency mismatch, another client's sender;
 *   - holds are placed in a batch like payments, each against the running
 *     available balance (a decline when it does not cover them), PENDING
 *     with their expiry, held summed on the sender;
 *   - a key already decided, or whose payment remains after its outcome was
 *     reaped, falls back; so does a key claimed meanwhile by another
 *     transaction, and the rest of the batch is still decided together;
 *   - an account that moves between the unlocked read and the lock: the
 *     batch is decided again from the locked state, in the same
 *     transaction;
 *   - an account found so twice is contended: the next batch touching it
 *     locks and reads it first (lf_group_lock), decided once;
 *   - a batch beside a group in flight (another connection's, holding
 *     the accounts locked) builds on that group's intents and is decided
 *     once, with the outcome it would have after it; without intents it
 *     answers 'stale' and is decided again; a batch answered 'stale'
 *     leaves no intent of an account it no longer moves;
 *   - the procedure is the judge: called with an entry whose hash does not
 *     follow from the account's chain head, it refuses and writes nothing;
 *     the same call with the right hash is accepted;
 *   - the previous release's procedure names and signatures still answer
 *     after migrate (procedures_compat.sql, for a binary upgrade);
 *   - the binary log's annotations of a group's statements do not quote its
 *     arguments (the bodies, metadata and keys are in the rows only);
 *   - reconcile holds and every chain recomputes after each.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "chain_check.h"
#include "lf_intents.h"
#include "lf_time.h"
#include "store_fixture.h"

static const lf_uuid ISSUANCE_USD = {
	.b = {0, 0, 0, 0, 0, 0, 0x80, 0, 0x80, 0, 0, 0, 0, 0x55, 0x53, 0x44}};

static void books_hold(void)
{
	CU_ASSERT_EQUAL(reconcile_quiet(), 0);
	MYSQL *m = raw_connect(dbname);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	long checked = 0;
	CU_ASSERT_EQUAL(chain_check(m, &checked), 0);
	CU_ASSERT(checked > 0);
	mysql_close(m);
}

static int stored_status(const char *key, char *body, size_t len)
{
	struct lf_stored st;
	if (lf_store_get_outcome(conn(), CLIENT, key, strlen(key), &st) != LF_OK)
		return -1;
	int status = st.found ? st.status : 0;
	if (body != NULL)
		snprintf(body, len, "%s", st.body ? st.body : "");
	lf_stored_clear(&st);
	return status;
}

/* What run() saw so far: groups, those locked first, STALE answers. */
struct seen {
	int groups, locked_first, stale, assumed;
};
static struct seen seen;

static lf_rc run(struct xfer *x, int n, enum lf_transfer_batch_result *res)
{
	struct lf_transfer_req r[16];
	for (int i = 0; i < n; i++)
		r[i] = x[i].r;
	struct lf_transfer_batch_path path = {.locked_first = true, .stale = -1, .assumed = -1};
	lf_rc rc = lf_store_transfer_batch(conn(), r, n, res, &path);
	seen.groups++;
	seen.locked_first += path.locked_first;
	seen.stale += path.stale;
	seen.assumed += path.assumed;
	return rc;
}

/* The insert position of the one event of type for a payment; -1 when
 * there is not exactly one. */
static long long event_pos(const lf_uuid *payment, const char *type)
{
	char q[300], hex[33];
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", payment->b[i]);
	snprintf(q, sizeof q,
		 "SELECT IF(COUNT(*) = 1, MAX(pos), -1) FROM events WHERE object_id = UNHEX('%s')"
		 " AND type = '%s'",
		 hex, type);
	return raw_int(q);
}

static void test_batch_in_arrival_order(void)
{
	lf_uuid a = new_account("ba-A", USD, 1000), b = new_account("ba-B", USD, 0);
	lf_uuid c = new_account("ba-C", USD, 500), e = new_account("ba-E", "EUR", 0);
	lf_uuid missing;
	lf_uuid_v7(&missing);
	struct xfer x[9];
	xfer_init(&x[0], "ba-1", &a, &b, 600, USD, "first"); /* A 400, B 600 */
	xfer_init(&x[1], "ba-2", &a, &b, 600, USD, NULL);    /* declined: A has 400 */
	xfer_init(&x[2], "ba-3", &b, &a, 100, USD, NULL);    /* B 500, A 500 */
	x[2].r.metadata = "{\"order\":\"o-1\"}";
	xfer_init(&x[3], "ba-4", &a, &c, 500, USD, NULL);     /* A 0, C 1000 */
	xfer_init(&x[4], "ba-1", &a, &b, 600, USD, "first");  /* a duplicate key */
	xfer_init(&x[5], "ba-6", &a, &missing, 1, USD, NULL); /* no receiver */
	xfer_init(&x[6], "ba-7", &c, &e, 1, USD, NULL);       /* currencies differ */
	xfer_init(&x[7], "ba-8", &ISSUANCE_USD, &c, 250, USD, NULL);
	x[7].r.admin = true; /* C 1250; issuance never declines */
	xfer_init(&x[8], "ba-9", &ISSUANCE_USD, &c, 1, USD, NULL); /* not its owner */
	enum lf_transfer_batch_result res[9];
	CU_ASSERT_EQUAL_FATAL(run(x, 9, res), LF_OK);
	const enum lf_transfer_batch_result want[9] = {
		LF_TRANSFER_BATCH_COMPLETED, LF_TRANSFER_BATCH_DECLINED,
		LF_TRANSFER_BATCH_COMPLETED, LF_TRANSFER_BATCH_COMPLETED,
		LF_TRANSFER_BATCH_FALLBACK,  LF_TRANSFER_BATCH_FALLBACK,
		LF_TRANSFER_BATCH_FALLBACK,  LF_TRANSFER_BATCH_COMPLETED,
		LF_TRANSFER_BATCH_FALLBACK};
	for (int i = 0; i < 9; i++) {
		if (res[i] != want[i])
			fprintf(stderr, "\n  item %d: %d, want %d\n", i, res[i], want[i]);
		CU_ASSERT_EQUAL(res[i], want[i]);
	}
	CU_ASSERT_EQUAL(balance_of(&a), 0);
	CU_ASSERT_EQUAL(balance_of(&b), 500);
	CU_ASSERT_EQUAL(balance_of(&c), 1250);
	CU_ASSERT_EQUAL(balance_of(&e), 0);
	/* each decided outcome stored with its key, the body it was given */
	char body[256];
	CU_ASSERT_EQUAL(stored_status("ba-1", body, sizeof body), 201);
	CU_ASSERT_STRING_EQUAL(body, x[0].body_ok);
	CU_ASSERT_EQUAL(stored_status("ba-2", body, sizeof body), 422);
	CU_ASSERT_STRING_EQUAL(body, x[1].body_no);
	CU_ASSERT_EQUAL(stored_status("ba-8", NULL, 0), 201);
	/* nothing written for a fallback */
	CU_ASSERT_EQUAL(stored_status("ba-6", NULL, 0), 0);
	CU_ASSERT_EQUAL(stored_status("ba-7", NULL, 0), 0);
	CU_ASSERT_EQUAL(stored_status("ba-9", NULL, 0), 0);
	struct lf_payment p;
	CU_ASSERT_EQUAL(lf_store_get_payment(conn(), &x[4].r.payment_id, &FX_ADMIN, &p),
			LF_DECLINED);
	CU_ASSERT_EQUAL_FATAL(lf_store_get_payment(conn(), &x[1].r.payment_id, &FX_ADMIN, &p),
			      LF_OK);
	CU_ASSERT_EQUAL(p.status, LF_PAYMENT_DECLINED);
	CU_ASSERT_EQUAL_FATAL(lf_store_get_payment(conn(), &x[0].r.payment_id, &FX_ADMIN, &p),
			      LF_OK);
	CU_ASSERT_EQUAL(p.status, LF_PAYMENT_COMPLETED);
	CU_ASSERT_STRING_EQUAL(p.reference, "first");
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM idempotency_keys WHERE response_status = 0"),
			0);
	/* the metadata of a member, and a decline's event with its own data */
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM payments WHERE idempotency_key = 'ba-3'"
				" AND metadata = '{\"order\":\"o-1\"}'"),
			1);
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM payments WHERE idempotency_key = 'ba-1'"
				" AND metadata IS NULL"),
			1);
	char q[512];
	snprintf(q, sizeof q,
		 "SELECT COUNT(*) FROM events e JOIN payments p ON p.id = e.object_id"
		 " WHERE p.idempotency_key = 'ba-2' AND e.type = 'payment.declined'"
		 " AND e.data = '%s'",
		 x[1].body_no);
	CU_ASSERT_EQUAL(raw_int(q), 1);
	/* the outbox: one event per decided item, in arrival order; none for
	 * a fallback (lf_transfer writes its own when it decides it) */
	long long pos[5];
	const int decided[5] = {0, 1, 2, 3, 7};
	for (int i = 0; i < 5; i++) {
		pos[i] = event_pos(&x[decided[i]].r.payment_id,
				   i == 1 ? "payment.declined" : "payment.completed");
		CU_ASSERT(pos[i] > 0 && (i == 0 || pos[i] > pos[i - 1]));
	}
	const int fell[3] = {5, 6, 8};
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(event_pos(&x[fell[i]].r.payment_id, "payment.completed"), -1);
		CU_ASSERT_EQUAL(event_pos(&x[fell[i]].r.payment_id, "payment.declined"), -1);
	}
	books_hold();
}

/* A hold reserves funds the group commit must not spend: the batch's
 * payments are checked against balance - held. */
static void test_batch_respects_holds(void)
{
	lf_uuid a = new_account("bh-A", USD, 100), b = new_account("bh-B", USD, 0);
	enum lf_transfer_result single;
	struct lf_stored st;
	struct xfer hold, x[2];
	xfer_init(&hold, "bh-hold", &a, &b, 70, USD, NULL);
	hold.r.hold_expires_ms = hold.r.created_ms + 3600 * 1000;
	CU_ASSERT_EQUAL_FATAL(lf_store_transfer(conn(), &hold.r, &single, &st), LF_OK);
	lf_stored_clear(&st);
	CU_ASSERT_EQUAL(single, LF_TRANSFER_COMPLETED);
	CU_ASSERT_EQUAL(balance_of(&a), 100);            /* reserved, not moved */
	xfer_init(&x[0], "bh-1", &a, &b, 40, USD, NULL); /* only 30 available */
	xfer_init(&x[1], "bh-2", &a, &b, 30, USD, NULL);
	enum lf_transfer_batch_result res[2];
	CU_ASSERT_EQUAL_FATAL(run(x, 2, res), LF_OK);
	CU_ASSERT_EQUAL(res[0], LF_TRANSFER_BATCH_DECLINED);
	CU_ASSERT_EQUAL(res[1], LF_TRANSFER_BATCH_COMPLETED);
	CU_ASSERT_EQUAL(balance_of(&a), 70);
	CU_ASSERT_EQUAL(raw_int("SELECT held FROM accounts WHERE name = 'bh-A'"), 70);
	books_hold();
}

/* Holds decided in a batch like payments: each reserves against the
 * running available balance (the group's earlier holds included), a
 * payment after them cannot spend what they hold, a hold past what is
 * left is declined; the hold is PENDING with its expiry, its 201 stored,
 * its event payment.pending, and the sender's held is their sum. */
static void test_batch_places_holds(void)
{
	lf_uuid a = new_account("bp-A", USD, 100), b = new_account("bp-B", USD, 0);
	struct xfer x[5];
	xfer_init(&x[0], "bp-1", &a, &b, 30, USD, NULL); /* hold: held 30 */
	xfer_init(&x[1], "bp-2", &a, &b, 50, USD, NULL); /* payment: A 50, 20 available */
	xfer_init(&x[2], "bp-3", &a, &b, 30, USD, NULL); /* hold: only 20 available */
	xfer_init(&x[3], "bp-4", &a, &b, 20, USD, NULL); /* hold: held 50, 0 available */
	xfer_init(&x[4], "bp-5", &a, &b, 1, USD, NULL);  /* payment: nothing available */
	for (int i = 0; i < 5; i++)
		if (i != 1 && i != 4)
			x[i].r.hold_expires_ms = x[i].r.created_ms + 3600 * 1000;
	enum lf_transfer_batch_result res[5];
	CU_ASSERT_EQUAL_FATAL(run(x, 5, res), LF_OK);
	const enum lf_transfer_batch_result want[5] = {
		LF_TRANSFER_BATCH_COMPLETED, LF_TRANSFER_BATCH_COMPLETED,
		LF_TRANSFER_BATCH_DECLINED, LF_TRANSFER_BATCH_COMPLETED,
		LF_TRANSFER_BATCH_DECLINED};
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(res[i], want[i]);
	CU_ASSERT_EQUAL(balance_of(&a), 50);
	CU_ASSERT_EQUAL(balance_of(&b), 50);
	CU_ASSERT_EQUAL(raw_int("SELECT held FROM accounts WHERE name = 'bp-A'"), 50);
	struct lf_payment p;
	CU_ASSERT_EQUAL_FATAL(lf_store_get_payment(conn(), &x[0].r.payment_id, &FX_ADMIN, &p),
			      LF_OK);
	CU_ASSERT_EQUAL(p.status, LF_PAYMENT_PENDING);
	CU_ASSERT_EQUAL(p.expires_ms, x[0].r.hold_expires_ms);
	lf_payment_clear(&p);
	CU_ASSERT_EQUAL_FATAL(lf_store_get_payment(conn(), &x[2].r.payment_id, &FX_ADMIN, &p),
			      LF_OK);
	CU_ASSERT_EQUAL(p.status, LF_PAYMENT_DECLINED);
	lf_payment_clear(&p);
	CU_ASSERT_EQUAL(stored_status("bp-1", NULL, 0), 201);
	CU_ASSERT_EQUAL(stored_status("bp-3", NULL, 0), 422);
	CU_ASSERT(event_pos(&x[0].r.payment_id, "payment.pending") > 0);
	CU_ASSERT(event_pos(&x[3].r.payment_id, "payment.pending") > 0);
	CU_ASSERT(event_pos(&x[2].r.payment_id, "payment.declined") > 0);
	books_hold();
}

/* A key decided before (by any path), or whose outcome was reaped while
 * its payment remains: fallback, and the rest of the batch goes on. */
static void test_known_keys_fall_back(void)
{
	lf_uuid a = new_account("bk-A", USD, 100), b = new_account("bk-B", USD, 0);
	enum lf_transfer_result single;
	struct lf_stored st;
	struct xfer x[3];
	xfer_init(&x[0], "bk-1", &a, &b, 10, USD, NULL);
	CU_ASSERT_EQUAL_FATAL(lf_store_transfer(conn(), &x[0].r, &single, &st), LF_OK);
	lf_stored_clear(&st);
	xfer_init(&x[1], "bk-2", &a, &b, 20, USD, NULL);
	CU_ASSERT_EQUAL_FATAL(lf_store_transfer(conn(), &x[1].r, &single, &st), LF_OK);
	lf_stored_clear(&st);
	CU_ASSERT_FATAL(raw_exec(dbname, "DELETE FROM idempotency_keys WHERE idem_key = 'bk-2'"));
	xfer_init(&x[0], "bk-1", &a, &b, 10, USD, NULL);
	xfer_init(&x[1], "bk-2", &a, &b, 20, USD, NULL);
	xfer_init(&x[2], "bk-3", &a, &b, 30, USD, NULL);
	enum lf_transfer_batch_result res[3];
	CU_ASSERT_EQUAL_FATAL(run(x, 3, res), LF_OK);
	CU_ASSERT_EQUAL(res[0], LF_TRANSFER_BATCH_FALLBACK);
	CU_ASSERT_EQUAL(res[1], LF_TRANSFER_BATCH_FALLBACK);
	CU_ASSERT_EQUAL(res[2], LF_TRANSFER_BATCH_COMPLETED);
	CU_ASSERT_EQUAL(balance_of(&a), 40);
	CU_ASSERT_EQUAL(balance_of(&b), 60);
	CU_ASSERT_EQUAL(stored_status("bk-2", NULL, 0), 0); /* its claim was taken back */
	books_hold();
}

/* Another transaction holds a claim on one of the keys: the batch waits
 * for it, gets the duplicate once it commits, and decides the others
 * together without it (that key is decided alone). */
struct holder {
	MYSQL *m;
	int ms;
	const char *end; /* COMMIT or ROLLBACK */
	lf_uuid from, to;
	int64_t amount;        /* > 0: first a payment from `from`, committed */
	const char *moved_key; /* that payment's key (NULL: "moved-meanwhile") */
};

static void *end_later(void *arg)
{
	struct holder *h = arg;
	usleep((useconds_t)h->ms * 1000);
	if (h->amount > 0) {
		/* an account moves while the batch waits */
		char err[256];
		struct lf_store_conn *c = lf_store_connect(&RT, err, sizeof err);
		if (c != NULL) {
			struct xfer x;
			xfer_init(&x, h->moved_key ? h->moved_key : "moved-meanwhile", &h->from,
				  &h->to, h->amount, USD, NULL);
			enum lf_transfer_result single;
			struct lf_stored st;
			if (lf_store_transfer(c, &x.r, &single, &st) == LF_OK)
				lf_stored_clear(&st);
			lf_store_close(c);
		}
	}
	mysql_query(h->m, h->end);
	return NULL;
}

static bool claim_key(struct holder *h, const char *key)
{
	char q[400];
	snprintf(q, sizeof q,
		 "INSERT INTO idempotency_keys (client_id, idem_key, fingerprint, response_status,"
		 " response_body, created_at, expires_at) VALUES (%d, '%s', REPEAT('x', 32), 422,"
		 " '{}', NOW(3), NOW(3) + INTERVAL 1 DAY)",
		 CLIENT, key);
	return mysql_query(h->m, "START TRANSACTION") == 0 && mysql_query(h->m, q) == 0;
}

static void test_concurrent_claim_falls_back(void)
{
	lf_uuid a = new_account("bc-A", USD, 100), b = new_account("bc-B", USD, 0);
	struct holder h = {.m = raw_connect(dbname), .ms = 300, .end = "COMMIT"};
	CU_ASSERT_PTR_NOT_NULL_FATAL(h.m);
	CU_ASSERT_FATAL(claim_key(&h, "bc-2"));
	pthread_t t;
	CU_ASSERT_FATAL(pthread_create(&t, NULL, end_later, &h) == 0);
	struct xfer x[3];
	xfer_init(&x[0], "bc-1", &a, &b, 10, USD, NULL);
	xfer_init(&x[1], "bc-2", &a, &b, 20, USD, NULL);
	xfer_init(&x[2], "bc-3", &a, &b, 30, USD, NULL);
	enum lf_transfer_batch_result res[3];
	lf_rc rc = run(x, 3, res);
	pthread_join(t, NULL);
	mysql_close(h.m);
	CU_ASSERT_EQUAL_FATAL(rc, LF_OK);
	CU_ASSERT_EQUAL(res[0], LF_TRANSFER_BATCH_COMPLETED);
	CU_ASSERT_EQUAL(res[1], LF_TRANSFER_BATCH_FALLBACK);
	CU_ASSERT_EQUAL(res[2], LF_TRANSFER_BATCH_COMPLETED);
	CU_ASSERT_EQUAL(balance_of(&a), 60);
	CU_ASSERT_EQUAL(stored_status("bc-1", NULL, 0), 201);
	CU_ASSERT_EQUAL(stored_status("bc-2", NULL, 0), 422); /* the other's */
	books_hold();
}

/* One batch of two payments from a to b of `amount` each; another
 * transaction holds the second's key, and while the batch waits on it a
 * payment of `moved` from a commits (under `moved_key`), then the claim is
 * rolled back. Returns the second's result; the first completes. */
static enum lf_transfer_batch_result moved_batch(const lf_uuid *a, const lf_uuid *b, const char *k1,
						 const char *k2, const char *moved_key,
						 int64_t amount, int64_t moved)
{
	struct holder h = {.m = raw_connect(dbname),
			   .ms = 300,
			   .end = "ROLLBACK",
			   .from = *a,
			   .to = *b,
			   .amount = moved,
			   .moved_key = moved_key};
	CU_ASSERT_PTR_NOT_NULL_FATAL(h.m);
	pthread_t t;
	bool started = claim_key(&h, k2) && pthread_create(&t, NULL, end_later, &h) == 0;
	if (!started)
		mysql_close(h.m); /* its open transaction would hold up the clean-up */
	CU_ASSERT_FATAL(started);
	struct xfer x[2];
	xfer_init(&x[0], k1, a, b, amount, USD, NULL);
	xfer_init(&x[1], k2, a, b, amount, USD, NULL);
	enum lf_transfer_batch_result res[2];
	lf_rc rc = run(x, 2, res);
	pthread_join(t, NULL);
	mysql_close(h.m);
	CU_ASSERT_EQUAL_FATAL(rc, LF_OK);
	CU_ASSERT_EQUAL(res[0], LF_TRANSFER_BATCH_COMPLETED);
	return res[1];
}

/* The batch reads A (100) without a lock, then waits on a key another
 * transaction claimed; meanwhile a payment of 80 from A commits, and the
 * claim is rolled back. The batch finds A moved under its lock and is
 * decided again from there: the second 15 no longer fits. */
static void test_stale_read_decided_again(void)
{
	lf_uuid a = new_account("bs-A", USD, 100), b = new_account("bs-B", USD, 0);
	CU_ASSERT_EQUAL(moved_batch(&a, &b, "bs-1", "bs-2", NULL, 15, 80),
			LF_TRANSFER_BATCH_DECLINED);
	CU_ASSERT_EQUAL(balance_of(&a), 5);
	CU_ASSERT_EQUAL(balance_of(&b), 95);
	CU_ASSERT_EQUAL(stored_status("bs-2", NULL, 0), 422);
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM idempotency_keys WHERE response_status = 0"),
			0);
	books_hold();
}

/* A group in flight on another connection (it locked A and B and waits
 * for C, which a test transaction holds). */
struct in_flight {
	struct xfer x[2];
	enum lf_transfer_batch_result res[2];
	struct lf_transfer_batch_path path;
	lf_rc rc;
};

static void *group_in_flight(void *arg)
{
	struct in_flight *f = arg;
	char err[256];
	struct lf_store_conn *c = lf_store_connect(&RT, err, sizeof err);
	f->rc = LF_ERROR;
	if (c == NULL)
		return NULL;
	struct lf_transfer_req r[2] = {f->x[0].r, f->x[1].r};
	f->rc = lf_store_transfer_batch(c, r, 2, f->res, &f->path);
	lf_store_close(c);
	return NULL;
}

/* While that group is in flight, a batch reads A and B: A->B 30 and
 * B->A 10 (B has nothing yet; the group in flight gives it 100). The
 * batch's path is returned; its outcome and the books are checked. */
static struct lf_transfer_batch_path batch_beside_group_in_flight(const char *tag)
{
	char k[4][64];
	for (int i = 0; i < 4; i++)
		snprintf(k[i], sizeof k[i], "%s-%d", tag, i);
	lf_uuid a = new_account("if-A", USD, 1000), b = new_account("if-B", USD, 0);
	lf_uuid c = new_account("if-C", USD, 0); /* UUIDv7: after a and b */
	CU_ASSERT_FATAL(memcmp(c.b, a.b, 16) > 0 && memcmp(c.b, b.b, 16) > 0);
	struct holder h = {.m = raw_connect(dbname), .ms = 700, .end = "COMMIT"};
	CU_ASSERT_PTR_NOT_NULL_FATAL(h.m);
	char q[200], hex[33];
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", c.b[i]);
	snprintf(q, sizeof q, "SELECT id FROM accounts WHERE id = UNHEX('%s') FOR UPDATE", hex);
	bool held = mysql_query(h.m, "START TRANSACTION") == 0 && mysql_query(h.m, q) == 0;
	if (held)
		mysql_free_result(mysql_store_result(h.m));
	pthread_t holder, group;
	static struct in_flight f;
	memset(&f, 0, sizeof f);
	xfer_init(&f.x[0], k[0], &a, &b, 100, USD, NULL);
	xfer_init(&f.x[1], k[1], &a, &c, 50, USD, NULL);
	bool started = held && pthread_create(&holder, NULL, end_later, &h) == 0;
	if (!started)
		mysql_close(h.m);
	CU_ASSERT_FATAL(started);
	CU_ASSERT_FATAL(pthread_create(&group, NULL, group_in_flight, &f) == 0);
	usleep(300 * 1000); /* it has published and waits for C */
	struct xfer x[2];
	xfer_init(&x[0], k[2], &a, &b, 30, USD, NULL);
	xfer_init(&x[1], k[3], &b, &a, 10, USD, NULL);
	enum lf_transfer_batch_result res[2];
	struct seen s0 = seen;
	lf_rc rc = run(x, 2, res);
	struct seen s1 = seen;
	pthread_join(group, NULL);
	pthread_join(holder, NULL);
	mysql_close(h.m);
	CU_ASSERT_EQUAL(rc, LF_OK);
	CU_ASSERT_EQUAL(f.rc, LF_OK);
	CU_ASSERT_EQUAL(f.res[0], LF_TRANSFER_BATCH_COMPLETED);
	CU_ASSERT_EQUAL(f.res[1], LF_TRANSFER_BATCH_COMPLETED);
	CU_ASSERT_EQUAL(f.path.stale, 0);
	CU_ASSERT_EQUAL(res[0], LF_TRANSFER_BATCH_COMPLETED);
	CU_ASSERT_EQUAL(res[1], LF_TRANSFER_BATCH_COMPLETED);
	CU_ASSERT_EQUAL(balance_of(&a), 1000 - 150 - 30 + 10);
	CU_ASSERT_EQUAL(balance_of(&b), 100 + 30 - 10);
	CU_ASSERT_EQUAL(balance_of(&c), 50);
	CU_ASSERT_EQUAL(stored_status(k[3], NULL, 0), 201);
	books_hold();
	return (struct lf_transfer_batch_path){.locked_first = s1.locked_first > s0.locked_first,
					       .stale = s1.stale - s0.stale,
					       .assumed = s1.assumed - s0.assumed};
}

/* With the host's intents, the batch takes A and B as the group in
 * flight leaves them, its CALL waits for that COMMIT, and it is decided
 * once; without them it answers 'stale' and is decided again under the
 * locks. The outcome is the same. */
static void test_built_on_a_group_in_flight(void)
{
	void *mem = mmap(NULL, lf_intents_size(), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(mem != MAP_FAILED);
	struct lf_intents *t = lf_intents_init(mem, lf_intents_size());
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	lf_store_use_intents(t);
	struct lf_transfer_batch_path with = batch_beside_group_in_flight("if-with");
	CU_ASSERT_FALSE(with.locked_first);
	CU_ASSERT_EQUAL(with.stale, 0);
	CU_ASSERT_EQUAL(with.assumed, 2); /* A and B */
	lf_store_use_intents(NULL);
	struct lf_transfer_batch_path without = batch_beside_group_in_flight("if-without");
	CU_ASSERT_EQUAL(without.stale, 1);
	CU_ASSERT_EQUAL(without.assumed, 0);
	munmap(mem, lf_intents_size());
}

/* A batch answered 'stale' withdraws what it published: A->B 15 and
 * A->C 15 are decided from A = 100, published and sent; meanwhile 80
 * leave A, so decided again A->C is declined and C moves in neither the
 * batch nor anything else. No intent of C may stay (another group would
 * build on a state that never commits); B's is the committed one. */
static void test_stale_batch_withdraws_its_intents(void)
{
	void *mem = mmap(NULL, lf_intents_size(), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(mem != MAP_FAILED);
	struct lf_intents *t = lf_intents_init(mem, lf_intents_size());
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	lf_store_use_intents(t);
	lf_uuid a = new_account("sw-A", USD, 100), b = new_account("sw-B", USD, 0);
	lf_uuid c = new_account("sw-C", USD, 0);
	struct holder h = {.m = raw_connect(dbname),
			   .ms = 300,
			   .end = "ROLLBACK",
			   .from = a,
			   .to = b,
			   .amount = 80,
			   .moved_key = "sw-moved"};
	CU_ASSERT_PTR_NOT_NULL_FATAL(h.m);
	pthread_t th;
	bool started = claim_key(&h, "sw-2") && pthread_create(&th, NULL, end_later, &h) == 0;
	if (!started)
		mysql_close(h.m);
	CU_ASSERT_FATAL(started);
	struct xfer x[2];
	xfer_init(&x[0], "sw-1", &a, &b, 15, USD, NULL);
	xfer_init(&x[1], "sw-2", &a, &c, 15, USD, NULL);
	enum lf_transfer_batch_result res[2];
	struct seen s0 = seen;
	lf_rc rc = run(x, 2, res);
	pthread_join(th, NULL);
	mysql_close(h.m);
	lf_store_use_intents(NULL);
	CU_ASSERT_EQUAL(rc, LF_OK);
	CU_ASSERT_EQUAL(seen.stale - s0.stale, 1);
	CU_ASSERT_EQUAL(res[0], LF_TRANSFER_BATCH_COMPLETED);
	CU_ASSERT_EQUAL(res[1], LF_TRANSFER_BATCH_DECLINED);
	CU_ASSERT_EQUAL(balance_of(&a), 5);
	CU_ASSERT_EQUAL(balance_of(&c), 0);
	struct lf_intent got;
	bool in_flight = true;
	CU_ASSERT_FALSE(lf_intents_find(t, &c, -1, lf_time_monotonic_us(), &got, &in_flight));
	CU_ASSERT_FALSE(in_flight);
	/* B: its intent is the committed state (one moved-meanwhile credit,
	 * then this batch's) */
	in_flight = true;
	CU_ASSERT_TRUE(lf_intents_find(t, &b, 1, lf_time_monotonic_us(), &got, &in_flight));
	CU_ASSERT_FALSE(in_flight);
	CU_ASSERT_EQUAL(got.balance, 95);
	CU_ASSERT_EQUAL(got.balance, balance_of(&b));
	books_hold();
	munmap(mem, lf_intents_size());
}

/* An account found moved under the lock twice is contended: the next
 * batch that touches it locks and reads it first (lf_group_lock, then
 * lf_transfer_group_v2 in that transaction), and is decided once, in
 * arrival order, declines included; an account that is not stays on the
 * unlocked read. The procedure refuses to continue a transaction that
 * is not there. */
static void test_contended_account_locked_first(void)
{
	lf_uuid a = new_account("bl-A", USD, 1000), b = new_account("bl-B", USD, 0);
	lf_uuid c = new_account("bl-C", USD, 100), d = new_account("bl-D", USD, 0);
	struct seen s0 = seen, s1, s2, s3;
	CU_ASSERT_EQUAL(moved_batch(&a, &b, "bl-1", "bl-2", "bl-moved-1", 100, 10),
			LF_TRANSFER_BATCH_COMPLETED);
	CU_ASSERT_EQUAL(moved_batch(&a, &b, "bl-3", "bl-4", "bl-moved-2", 100, 10),
			LF_TRANSFER_BATCH_COMPLETED);
	s1 = seen;
	CU_ASSERT_EQUAL(s1.stale - s0.stale, 2);
	CU_ASSERT_EQUAL(s1.locked_first, s0.locked_first);
	CU_ASSERT_EQUAL(balance_of(&a), 1000 - 20 - 400);

	/* a: 580 left; 500 completes, 100 is declined, 80 completes */
	struct xfer x[3];
	xfer_init(&x[0], "bl-5", &a, &b, 500, USD, NULL);
	xfer_init(&x[1], "bl-6", &a, &b, 100, USD, NULL);
	xfer_init(&x[2], "bl-7", &a, &b, 80, USD, NULL);
	enum lf_transfer_batch_result res[3];
	CU_ASSERT_EQUAL_FATAL(run(x, 3, res), LF_OK);
	s2 = seen;
	CU_ASSERT_EQUAL(s2.locked_first - s1.locked_first, 1);
	CU_ASSERT_EQUAL(s2.stale, s1.stale);
	CU_ASSERT_EQUAL(res[0], LF_TRANSFER_BATCH_COMPLETED);
	CU_ASSERT_EQUAL(res[1], LF_TRANSFER_BATCH_DECLINED);
	CU_ASSERT_EQUAL(res[2], LF_TRANSFER_BATCH_COMPLETED);
	CU_ASSERT_EQUAL(balance_of(&a), 0);
	CU_ASSERT_EQUAL(balance_of(&b), 1000);
	CU_ASSERT_EQUAL(stored_status("bl-5", NULL, 0), 201);
	CU_ASSERT_EQUAL(stored_status("bl-6", NULL, 0), 422);
	CU_ASSERT_EQUAL(stored_status("bl-7", NULL, 0), 201);
	CU_ASSERT_EQUAL(raw_int("SELECT COUNT(*) FROM idempotency_keys WHERE response_status = 0"),
			0);

	/* other accounts: read without a lock, as before */
	xfer_init(&x[0], "bl-8", &c, &d, 30, USD, NULL);
	CU_ASSERT_EQUAL_FATAL(run(x, 1, res), LF_OK);
	s3 = seen;
	CU_ASSERT_EQUAL(s3.groups - s2.groups, 1);
	CU_ASSERT_EQUAL(s3.locked_first, s2.locked_first);
	CU_ASSERT_EQUAL(res[0], LF_TRANSFER_BATCH_COMPLETED);
	CU_ASSERT_EQUAL(balance_of(&c), 70);

	/* continuing a transaction that is not open is refused */
	MYSQL *m = raw_connect(dbname);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	for (int mode = 1; mode <= 2; mode++) {
		char q[120];
		snprintf(q, sizeof q, "CALL lf_transfer_group_v2(%d, '[]', '[]', '[]')", mode);
		CU_ASSERT_NOT_EQUAL(mysql_query(m, q), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(mysql_error(m), "without the transaction"));
	}
	mysql_close(m);
	books_hold();
}

/* A call of test_judge_refuses_a_broken_chain fails with why, nothing
 * written. */
static void judge_refuses(MYSQL *m, const char *call, const char *why, const lf_uuid *a)
{
	CU_ASSERT_NOT_EQUAL(mysql_query(m, call), 0);
	if (strstr(mysql_error(m), why) == NULL)
		fprintf(stderr, "\n  wanted '%s', got: %s\n", why, mysql_error(m));
	CU_ASSERT_PTR_NOT_NULL(strstr(mysql_error(m), why));
	CU_ASSERT_EQUAL(raw_int("SELECT ledger_seq FROM accounts WHERE name = 'bj-A'"), 1);
	CU_ASSERT_EQUAL(balance_of(a), 100);
	CU_ASSERT_EQUAL(stored_status("bj-1", NULL, 0), 0);
}

/* The procedure does not take the caller's word: an entry whose hash does
 * not follow from the account's chain head is refused, nothing written;
 * so is a payment whose other account is not among the accounts, and a
 * fixed-width record of the wrong length. (Through the previous release's
 * JSON objects, which lf_transfer_group rewrites for lf_transfer_group_v2.) */
static void test_judge_refuses_a_broken_chain(void)
{
	lf_uuid a = new_account("bj-A", USD, 100), b = new_account("bj-B", USD, 0);
	(void)b;
	long long seq = raw_int("SELECT ledger_seq FROM accounts WHERE name = 'bj-A'");
	CU_ASSERT_EQUAL_FATAL(seq, 1);
	MYSQL *m = raw_connect(dbname);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	const char *steps[] = {
		"SET @acc = (SELECT JSON_ARRAYAGG(x) FROM (SELECT JSON_OBJECT('id', LOWER(HEX(id)),"
		" 'b', balance, 'h', held, 's', ledger_seq, 'hd', LOWER(HEX(chain_head)),"
		" 'nb', balance + IF(name = 'bj-A', -10, 10), 'ns', ledger_seq + 1,"
		" 'nh', REPEAT('ab', 32), 'mv', 1, 'la', '2026-11-30 12:00:00.000', 'nl', held,"
		" 'hm', 0) AS x"
		" FROM accounts WHERE name IN ('bj-A', 'bj-B') ORDER BY id) s)",
		"SET @a = (SELECT LOWER(HEX(id)) FROM accounts WHERE name = 'bj-A'),"
		" @b = (SELECT LOWER(HEX(id)) FROM accounts WHERE name = 'bj-B')",
		"SET @pay = REPLACE(UUID(), '-', ''), @dr = REPLACE(UUID(), '-', ''),"
		" @cr = REPLACE(UUID(), '-', ''), @at = '2026-11-30 12:00:00.000'",
		/* the right hashes, by the database's own function */
		"SET @dh = LOWER(HEX(lf_entry_hash((SELECT chain_head FROM accounts WHERE name ="
		" 'bj-A'), UNHEX(@a), 2, UNHEX(@dr), UNHEX(@pay), UNHEX(@b), 'DEBIT', 10, 90, "
		"@at))),"
		" @ch = LOWER(HEX(lf_entry_hash((SELECT chain_head FROM accounts WHERE name ="
		" 'bj-B'), UNHEX(@b), 1, UNHEX(@cr), UNHEX(@pay), UNHEX(@a), 'CREDIT', 10, 10, "
		"@at)))",
		"SET @acc = JSON_SET(@acc, '$[0].nh', IF(@a < @b, @dh, @ch), '$[1].nh',"
		" IF(@a < @b, @ch, @dh))",
		"SET @item = JSON_OBJECT('c', 7, 'adm', 1, 'k', 'bj-1', 'fp', REPEAT('00', 32), "
		"'id',"
		" @pay, 'f', @a, 't', @b, 'a', 10, 'cur', 'USD', 'ref', NULL, 'md', NULL, 'at', "
		"@at,"
		" 'exp', '2026-12-01 12:00:00.000', 'o', 'c', 'loc', '/x',"
		" 'ev', REPLACE(UUID(), '-', ''), 'dr', @dr, 'ds', 2, 'db', 90, 'dh', @dh,"
		" 'cr', @cr, 'cs', 1, 'cb', 10, 'ch', @ch)",
	};
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
		CU_ASSERT_FATAL(mysql_query(m, steps[i]) == 0);
	/* one byte of the debit's hash changed: refused */
	CU_ASSERT_FATAL(mysql_query(m, "SET @bad = JSON_ARRAY(JSON_SET(@item, '$.dh', CONCAT("
				       "IF(LEFT(@dh, 1) = '0', '1', '0'), SUBSTR(@dh, 2))))") == 0);
	judge_refuses(m, "CALL lf_transfer_group(0, @acc, @bad, '[{\"b\": \"{}\"}]')",
		      "does not follow", &a);
	/* only one of its two accounts listed (and locked) */
	judge_refuses(m,
		      "CALL lf_transfer_group(0, JSON_ARRAY(JSON_EXTRACT(@acc, '$[0]')),"
		      " JSON_ARRAY(JSON_EXTRACT(@item, '$')), '[{\"b\": \"{}\"}]')",
		      "not listed", &a);
	judge_refuses(m, "CALL lf_transfer_group_v2(0, '[\"00\"]', '[]', '[]')", "cannot be null",
		      &a);
	/* the same with the right hash: accepted (so the hash was the fault) */
	int ok = mysql_query(m,
			     "CALL lf_transfer_group(0, @acc, JSON_ARRAY(JSON_EXTRACT(@item, '$')),"
			     " '[{\"b\": \"{}\"}]')");
	if (ok != 0)
		fprintf(stderr, "\n  lf_transfer_group: %s\n", mysql_error(m));
	CU_ASSERT_EQUAL(ok, 0);
	do {
		MYSQL_RES *r = mysql_store_result(m);
		if (r)
			mysql_free_result(r);
	} while (mysql_next_result(m) == 0);
	mysql_close(m);
	CU_ASSERT_EQUAL(raw_int("SELECT ledger_seq FROM accounts WHERE name = 'bj-A'"), 2);
	CU_ASSERT_EQUAL(balance_of(&a), 90);
	CU_ASSERT_EQUAL(stored_status("bj-1", NULL, 0), 201);
	books_hold();
}

/* A binary of the previous release serving beside this one during a
 * binary upgrade, after the database was migrated: its procedure names
 * and signatures still answer (sql/procedures_compat.sql). Its group
 * commit hands every item back (nothing written), its lf_transfer moves
 * the money through lf_transfer_v2, its reaper expires nothing. */
static void test_previous_release_still_served(void)
{
	lf_uuid a = new_account("bv-A", USD, 100), b = new_account("bv-B", USD, 0);
	(void)b;
	MYSQL *m = raw_connect(dbname);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_FATAL(mysql_query(m, "CALL lf_transfer_batch('[{\"c\": 7}, {\"c\": 7}]')") == 0);
	MYSQL_RES *r = mysql_store_result(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(mysql_num_rows(r), 2);
	MYSQL_ROW row = mysql_fetch_row(r);
	CU_ASSERT(row != NULL && strcmp(row[0], "0") == 0 && strcmp(row[1], "fallback") == 0);
	mysql_free_result(r);
	while (mysql_next_result(m) == 0)
		mysql_free_result(mysql_store_result(m));
	const char *call =
		"CALL lf_transfer(7, 'bv-1', REPEAT('f', 32), UNHEX(REPLACE(UUID(), '-', '')),"
		" UNHEX(REPLACE(UUID(), '-', '')), UNHEX(REPLACE(UUID(), '-', '')),"
		" (SELECT id FROM accounts WHERE name = 'bv-A'),"
		" (SELECT id FROM accounts WHERE name = 'bv-B'), 10, 'USD', NULL, NOW(3),"
		" NOW(3) + INTERVAL 1 DAY, '{}', '{}', '/x', 1, NULL, NULL,"
		" UNHEX(REPLACE(UUID(), '-', '')), '{}')";
	int rc = mysql_query(m, call);
	if (rc != 0)
		fprintf(stderr, "\n  lf_transfer (compat): %s\n", mysql_error(m));
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	r = mysql_store_result(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	row = mysql_fetch_row(r);
	CU_ASSERT(row != NULL && strcmp(row[0], "completed") == 0);
	mysql_free_result(r);
	while (mysql_next_result(m) == 0)
		mysql_free_result(mysql_store_result(m));
	CU_ASSERT_EQUAL(balance_of(&a), 90);
	CU_ASSERT_EQUAL(stored_status("bv-1", NULL, 0), 201);
	CU_ASSERT_FATAL(mysql_query(m, "CALL lf_expire_holds(NOW(3), 10)") == 0);
	r = mysql_store_result(m);
	row = r ? mysql_fetch_row(r) : NULL;
	CU_ASSERT(row != NULL && strcmp(row[0], "0") == 0);
	if (r)
		mysql_free_result(r);
	while (mysql_next_result(m) == 0)
		mysql_free_result(mysql_store_result(m));
	mysql_close(m);
	books_hold();
}

/* Where the binary log stands: file and position (false without one). */
static bool binlog_at(MYSQL *m, char *file, size_t len, unsigned long long *pos)
{
	if (mysql_query(m, "SHOW MASTER STATUS") != 0)
		return false;
	MYSQL_RES *r = mysql_store_result(m);
	MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
	bool ok = row != NULL && row[0] != NULL && row[1] != NULL;
	if (ok) {
		snprintf(file, len, "%s", row[0]);
		*pos = strtoull(row[1], NULL, 10);
	}
	if (r)
		mysql_free_result(r);
	return ok;
}

/* The binary log keeps a group's rows once: the statement texts it keeps
 * beside them (annotations) name the arguments, they do not quote them. */
static void test_binlog_keeps_rows_once(void)
{
	lf_uuid a = new_account("bn-A", USD, 1000), b = new_account("bn-B", USD, 0);
	MYSQL *m = raw_connect(dbname);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	char file[256];
	unsigned long long pos = 0;
	/* the harness's MariaDB (contrib/dev/services.sh) logs in ROW format */
	CU_ASSERT_FATAL(binlog_at(m, file, sizeof file, &pos));
	struct xfer x[2];
	xfer_init(&x[0], "bn-1", &a, &b, 100, USD, "bn-ref-7f3a9c");
	x[0].r.metadata = "{\"mark\":\"bn-meta-7f3a9c\"}";
	xfer_init(&x[1], "bn-2", &b, &a, 40, USD, NULL);
	enum lf_transfer_batch_result res[2];
	CU_ASSERT_EQUAL_FATAL(run(x, 2, res), LF_OK);
	CU_ASSERT_EQUAL(res[0], LF_TRANSFER_BATCH_COMPLETED);
	CU_ASSERT_EQUAL(res[1], LF_TRANSFER_BATCH_COMPLETED);
	char q[400];
	snprintf(q, sizeof q, "SHOW BINLOG EVENTS IN '%s' FROM %llu LIMIT 5000", file, pos);
	CU_ASSERT_FATAL(mysql_query(m, q) == 0);
	MYSQL_RES *r = mysql_store_result(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	int annotations = 0, payments = 0, quoted = 0;
	MYSQL_ROW row;
	while ((row = mysql_fetch_row(r)) != NULL) {
		if (row[2] == NULL || strcmp(row[2], "Annotate_rows") != 0 || row[5] == NULL)
			continue;
		annotations++;
		payments += strstr(row[5], "INSERT INTO payments") != NULL;
		quoted += strstr(row[5], "7f3a9c") != NULL || strstr(row[5], "bn-1") != NULL;
	}
	mysql_free_result(r);
	mysql_close(m);
	/* the group's INSERT of its payments was annotated (so the log was
	 * read where the group wrote), and no annotation carried a reference,
	 * a metadata value or a key of the request */
	CU_ASSERT(annotations > 0);
	CU_ASSERT(payments >= 1);
	CU_ASSERT_EQUAL(quoted, 0);
	if (quoted != 0)
		fprintf(stderr, "\n  %d annotations quote the group's arguments\n", quoted);
	CU_ASSERT_EQUAL(balance_of(&b), 60);
	books_hold();
}

int main(void)
{
	static const struct lf_test tests[] = {
		{"a batch in arrival order: running balances, declines, fallbacks",
		 test_batch_in_arrival_order},
		{"a hold's funds are not spent by a batch", test_batch_respects_holds},
		{"holds placed in a batch against the running available balance",
		 test_batch_places_holds},
		{"keys decided before or with a reaped outcome fall back",
		 test_known_keys_fall_back},
		{"a key claimed by another transaction: it falls back, the rest together",
		 test_concurrent_claim_falls_back},
		{"an account moved after the read: decided again under the lock",
		 test_stale_read_decided_again},
		{"an account found moved twice is locked before it is read",
		 test_contended_account_locked_first},
		{"built on a group in flight: decided once, as it would be after it",
		 test_built_on_a_group_in_flight},
		{"a batch answered stale withdraws what it published",
		 test_stale_batch_withdraws_its_intents},
		{"the procedure refuses an entry whose hash does not follow",
		 test_judge_refuses_a_broken_chain},
		{"the previous release's procedures still answer after migrate",
		 test_previous_release_still_served},
		{"the binary log keeps a group's rows, not its arguments again",
		 test_binlog_keeps_rows_once},
	};
	static const struct lf_suite suites[] = {{"store batch", LF_TESTS(tests)}};
	static const struct fx_opts opts = {.name = "store_batch", .migrate = true};
	return fx_main(suites, LF_COUNT(suites), &opts);
}
