/*
 * test_hardening.c - the test_hardening program: what an attacker with
 * Redis access, or an unauthenticated caller, cannot do to the server.
 * Here main, the shared helpers and the idempotency tiers: an outcome
 * forged from the bare encoding (what anyone can compute: the fingerprint
 * is an unkeyed SHA-256) and a sealed outcome moved from another key are
 * never replayed, and a claim without expiry (or with a huge one) does not
 * make a key answer 409 for longer than our own claim would. The bounds
 * are in test_hardening_bounds.c.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "lf_idempotency.h"
#include "test_hardening.h"

/* ---- helpers ---- */

bool hd_accounts(char from[37], char to[37])
{
	return lf_h_account(fx.d.port, "hardening-a", "USD", "1000.00", from) == 201 &&
	       lf_h_account(fx.d.port, "hardening-b", "USD", "1000.00", to) == 201;
}

long long hd_metric(const char *series)
{
	long long v = -1;
	return lf_h_metric(fx.d.port, series, &v) ? v : -1;
}

void hd_key(char *buf, size_t len, const char *tag)
{
	static unsigned n;
	snprintf(buf, len, "hd-%s-%ld-%u", tag, (long)getpid(), ++n);
}

static void tier_key(char *buf, size_t len, const char *key)
{
	snprintf(buf, len, "lf:idem:%llu:%s", (unsigned long long)lf_h_admin_id, key);
}

/* SET key value (binary) PX ttl_ms on the test Redis; the reply is +OK. */
static bool redis_set_raw(const char *key, const void *value, size_t vlen, long ttl_ms)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)fx.env.redis_port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	char ttl[24], head[512];
	snprintf(ttl, sizeof ttl, "%ld", ttl_ms);
	int n = snprintf(head, sizeof head, "*5\r\n$3\r\nSET\r\n$%zu\r\n%s\r\n$%zu\r\n",
			 strlen(key), key, vlen);
	char tail[128];
	int t = snprintf(tail, sizeof tail, "\r\n$2\r\nPX\r\n$%zu\r\n%s\r\n", strlen(ttl), ttl);
	bool ok = write(fd, head, (size_t)n) == n && write(fd, value, vlen) == (ssize_t)vlen &&
		  write(fd, tail, (size_t)t) == t;
	char reply[16] = "";
	ok = ok && read(fd, reply, sizeof reply - 1) >= 3 && strncmp(reply, "+OK", 3) == 0;
	close(fd);
	return ok;
}

static bool redis_cmd(int argc, const char *const *argv, char *type, long long *num)
{
	char buf[256];
	return lf_h_redis(&fx.env, argc, argv, type, num, buf, sizeof buf);
}

static bool replayed(const struct lf_h_resp *r)
{
	char v[16];
	return lf_h_header(r, "Idempotent-Replayed", v, sizeof v) && strcmp(v, "true") == 0;
}

/* The fingerprint the server computes for lf_h_pay(key, from, to, amount):
 * an unkeyed SHA-256 anyone who sees the request can compute too. */
static void pay_fingerprint(const char *from, const char *to, const char *amount,
			    uint8_t fp[LF_FINGERPRINT_LEN])
{
	struct lf_fp f;
	CU_ASSERT_FATAL(lf_fp_begin(&f, "POST", "/api/payments"));
	lf_fp_field(&f, "fromAccountId", from, 36);
	lf_fp_field(&f, "toAccountId", to, 36);
	lf_fp_field(&f, "amount", amount, strlen(amount));
	lf_fp_null(&f, "currency");
	lf_fp_null(&f, "reference");
	lf_fp_end(&f, fp);
}

/* ---- the tiers ---- */

#define FORGED_ID "00000000-0000-4000-8000-00000000f0f0"

static void test_forged_bare_outcome(void)
{
	char from[37], to[37], key[96], tkey[128];
	CU_ASSERT_FATAL(hd_accounts(from, to));
	hd_key(key, sizeof key, "forged");
	tier_key(tkey, sizeof tkey, key);
	static char body[] = "{\"id\":\"" FORGED_ID "\",\"status\":\"COMPLETED\"}";
	struct lf_outcome o = {.status = 201,
			       .expires_ms = 4102444800000LL, /* 2100 */
			       .location = "/api/payments/" FORGED_ID,
			       .body = body,
			       .body_len = sizeof body - 1};
	pay_fingerprint(from, to, "12.34", o.fingerprint);
	size_t len = 0;
	void *enc = lf_outcome_encode(&o, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(enc);
	CU_ASSERT_FATAL(redis_set_raw(tkey, enc, len, 600000));
	free(enc);

	long long refused0 = hd_metric(M_REFUSED_REDIS);
	struct lf_h_resp r;
	CU_ASSERT_EQUAL_FATAL(lf_h_pay(fx.d.port, key, from, to, "12.34", &r), 201);
	CU_ASSERT(!replayed(&r));
	CU_ASSERT(strstr(r.body, FORGED_ID) == NULL);
	CU_ASSERT(strstr(r.body, "\"COMPLETED\"") != NULL);
	CU_ASSERT_EQUAL(hd_metric(M_REFUSED_REDIS), refused0 + 1);
	/* the true outcome is what the key replays from now on */
	struct lf_h_resp again;
	CU_ASSERT_EQUAL(lf_h_pay(fx.d.port, key, from, to, "12.34", &again), 201);
	CU_ASSERT(replayed(&again));
	CU_ASSERT(again.body && r.body && strcmp(again.body, r.body) == 0);
	lf_h_resp_free(&again);
	lf_h_resp_free(&r);
	char balance[32];
	CU_ASSERT_EQUAL(lf_h_balance(fx.d.port, from, balance, sizeof balance), 200);
	CU_ASSERT_STRING_EQUAL(balance, "987.66"); /* one payment, not zero, not two */
}

static void test_moved_sealed_outcome(void)
{
	char from[37], to[37], k1[96], k2[96], t1[128], t2[128];
	CU_ASSERT_FATAL(hd_accounts(from, to));
	hd_key(k1, sizeof k1, "sealed");
	hd_key(k2, sizeof k2, "moved");
	tier_key(t1, sizeof t1, k1);
	tier_key(t2, sizeof t2, k2);
	struct lf_h_resp first, second;
	CU_ASSERT_EQUAL_FATAL(lf_h_pay(fx.d.port, k1, from, to, "5", &first), 201);
	/* a genuine sealed value, under another key: the same request, so only
	 * the seal's binding to its key can stop it */
	const char *copy[] = {"COPY", t1, t2, "REPLACE"};
	char type = 0;
	long long num = 0;
	CU_ASSERT_FATAL(redis_cmd(4, copy, &type, &num) && type == ':' && num == 1);
	long long refused0 = hd_metric(M_REFUSED_REDIS);
	CU_ASSERT_EQUAL_FATAL(lf_h_pay(fx.d.port, k2, from, to, "5", &second), 201);
	CU_ASSERT(!replayed(&second));
	char id1[40] = "", id2[40] = "";
	CU_ASSERT(lf_h_json_str(first.body, "id", id1, sizeof id1));
	CU_ASSERT(lf_h_json_str(second.body, "id", id2, sizeof id2));
	CU_ASSERT(strcmp(id1, id2) != 0);
	CU_ASSERT_EQUAL(hd_metric(M_REFUSED_REDIS), refused0 + 1);
	lf_h_resp_free(&first);
	lf_h_resp_free(&second);
}

static void test_claim_without_expiry(void)
{
	char from[37], to[37], key[96], tkey[128];
	CU_ASSERT_FATAL(hd_accounts(from, to));
	hd_key(key, sizeof key, "claim");
	tier_key(tkey, sizeof tkey, key);
	const char *set[] = {"SET", tkey, "lf-claim:1:1:1"}; /* no PX: "in flight" forever */
	char type = 0;
	long long num = 0;
	CU_ASSERT_FATAL(redis_cmd(3, set, &type, &num) && type == '+');
	long long repaired0 = hd_metric(M_REPAIRED);
	int64_t t = lf_h_now_ms();
	struct lf_h_resp r;
	CU_ASSERT_EQUAL(lf_h_pay(fx.d.port, key, from, to, "1", &r), 201);
	int64_t took = lf_h_now_ms() - t;
	lf_h_resp_free(&r);
	CU_ASSERT(took < 2000);
	CU_ASSERT_EQUAL(hd_metric(M_REPAIRED), repaired0 + 1);
	const char *pttl[] = {"PTTL", tkey};
	CU_ASSERT(redis_cmd(2, pttl, &type, &num) && type == ':' && num > 0);
	printf("\n  claim without expiry: 201 in %lld ms\n", (long long)took);
}

static void test_claim_with_huge_expiry(void)
{
	char from[37], to[37], key[96], tkey[128];
	CU_ASSERT_FATAL(hd_accounts(from, to));
	hd_key(key, sizeof key, "longclaim");
	tier_key(tkey, sizeof tkey, key);
	const char *set[] = {"SET", tkey, "lf-claim:1:1:1", "PX", "1000000000"}; /* 11 days */
	char type = 0;
	long long num = 0;
	CU_ASSERT_FATAL(redis_cmd(5, set, &type, &num) && type == '+');
	int64_t t = lf_h_now_ms();
	struct lf_h_resp r;
	CU_ASSERT_EQUAL(lf_h_pay(fx.d.port, key, from, to, "1", &r), 409);
	lf_h_resp_free(&r);
	/* cut to our own claim's life: request_timeout (5 s) + 2 s */
	const char *pttl[] = {"PTTL", tkey};
	CU_ASSERT(redis_cmd(2, pttl, &type, &num) && type == ':' && num > 0 && num <= 7000);
	int st = 0;
	while (st != 201 && lf_h_now_ms() - t < 12000) {
		usleep(500 * 1000);
		st = lf_h_pay(fx.d.port, key, from, to, "1", &r);
		lf_h_resp_free(&r);
	}
	int64_t took = lf_h_now_ms() - t;
	CU_ASSERT_EQUAL(st, 201);
	CU_ASSERT(took <= 9000);
	printf("\n  claim with an 11-day expiry: 201 after %lld ms\n", (long long)took);
}

int main(void)
{
	static const struct lf_test tiers[] = {
		{"a forged bare outcome in Redis is not replayed", test_forged_bare_outcome},
		{"a sealed outcome moved from another key is not replayed",
		 test_moved_sealed_outcome},
		{"a claim without expiry does not answer 409 forever", test_claim_without_expiry},
		{"a claim with a huge expiry is cut to ours", test_claim_with_huge_expiry},
	};
	static const struct lf_test bounds[] = {
		{"a full job queue answers 503 at once", test_queue_full_fast_503},
		{"a /readyz burst pings the database at most once a second", test_readyz_burst},
		{"a cursor of the old unkeyed formula is refused", test_cursor_old_formula},
		{"mysql ssl_mode = required against a server without TLS", test_mysql_tls_required},
	};
	static const struct lf_suite suites[] = {{"tiers", LF_TESTS(tiers)},
						 {"bounds", LF_TESTS(bounds)}};
	static const struct lf_h_fixture_opts opts = {.name = "hardening"};
	return lf_h_fixture_main(suites, LF_COUNT(suites), &opts);
}
