/*
 * test_hardening_bounds.c - part of the test_hardening program (main in
 * test_hardening.c): the bounds an unauthenticated caller meets. A full
 * database job queue answers 503 at once; a burst of /readyz costs at
 * most one database ping per second per worker; a ledger cursor made with
 * the old unkeyed formula (or any hash without the server's secret) is
 * refused; and [mysql] ssl_mode = required against a server without TLS
 * fails cleanly, saying why.
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
#include <openssl/evp.h>

#include "lf_uuid.h"
#include "test_hardening.h"

/* A second daemon on the program's database, with more settings from the
 * environment (LEDGERFLOW_*, which override the file). */
static bool daemon_with_env(struct lf_h_daemon *d, const char *const *env, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		setenv(env[i], env[i + 1], 1);
	bool ok = lf_h_daemon_config(&fx.env, d, fx.db, 1, NULL) && lf_h_daemon_start(&fx.env, d);
	for (size_t i = 0; i + 1 < n; i += 2)
		unsetenv(env[i]);
	return ok;
}

/* ---- the job queue ---- */

struct getter {
	unsigned port;
	char path[128];
	int status;
};

static void *get_thread(void *arg)
{
	struct getter *g = arg;
	struct lf_h_resp r;
	g->status = lf_h_http(g->port, "GET", g->path, NULL, NULL, &r) == 0 ? r.status : -1;
	lf_h_resp_free(&r);
	return NULL;
}

void test_queue_full_fast_503(void)
{
	char from[37], to[37];
	CU_ASSERT_FATAL(hd_accounts(from, to));
	/* the GETs fill the pool's queue: not read on the event loop */
	static const char *const env[] = {"LEDGERFLOW_MYSQL_POOL_SIZE",  "1",
					  "LEDGERFLOW_MYSQL_MAX_QUEUE",  "1",
					  "LEDGERFLOW_MYSQL_LOOP_READS", "off"};
	struct lf_h_daemon d;
	CU_ASSERT_FATAL(daemon_with_env(&d, env, 6));
	/* one pool thread, blocked behind a table lock the test holds */
	MYSQL *m = mysql_init(NULL);
	CU_ASSERT_FATAL(m != NULL && mysql_real_connect(m, fx.env.mysql_host, fx.env.mysql_user,
							fx.env.mysql_password, fx.db,
							fx.env.mysql_port, NULL, 0) != NULL);
	CU_ASSERT_FATAL(mysql_query(m, "LOCK TABLES accounts WRITE") == 0);
	struct getter a = {.port = d.port}, b = {.port = d.port};
	snprintf(a.path, sizeof a.path, "/api/accounts/%s", from);
	snprintf(b.path, sizeof b.path, "/api/accounts/%s", to);
	pthread_t ta, tb;
	CU_ASSERT_FATAL(pthread_create(&ta, NULL, get_thread, &a) == 0);
	usleep(400 * 1000); /* a's job is on the thread, waiting for the lock */
	CU_ASSERT_FATAL(pthread_create(&tb, NULL, get_thread, &b) == 0);
	usleep(300 * 1000); /* b's job waits in the queue: it is full */
	int64_t t = lf_h_now_ms();
	struct lf_h_resp r;
	char path[128], retry[16];
	snprintf(path, sizeof path, "/api/accounts/%s", from);
	int st = lf_h_http(d.port, "GET", path, NULL, NULL, &r) == 0 ? r.status : -1;
	int64_t took = lf_h_now_ms() - t;
	bool retry_after = lf_h_header(&r, "Retry-After", retry, sizeof retry);
	bool code = r.body && strstr(r.body, "service_unavailable") != NULL;
	lf_h_resp_free(&r);
	CU_ASSERT(mysql_query(m, "UNLOCK TABLES") == 0);
	mysql_close(m);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	long long full = -1;
	CU_ASSERT(lf_h_metric(d.port, M_QUEUE_FULL, &full));
	printf("\n  queue full: %d in %lld ms (the two before it: %d, %d); %s %lld\n", st,
	       (long long)took, a.status, b.status, M_QUEUE_FULL, full);
	CU_ASSERT_EQUAL(st, 503);
	CU_ASSERT(retry_after && code);
	CU_ASSERT(took < 500);
	CU_ASSERT_EQUAL(a.status, 200);
	CU_ASSERT_EQUAL(b.status, 200);
	CU_ASSERT(full >= 1);
	CU_ASSERT(lf_h_log_contains(&d, "msg=db_queue_full"));
	CU_ASSERT_EQUAL(lf_h_daemon_stop(&d, SIGTERM, 15000), 0);
}

/* ---- /readyz ---- */

void test_readyz_burst(void)
{
	long long p0 = hd_metric(M_READYZ_PINGS);
	int64_t t = lf_h_now_ms();
	int ready = 0;
	struct lf_h_conn c = {.fd = -1};
	for (int i = 0; i < 1000; i++) {
		/* a new connection every 50 requests: both workers take some */
		if (i % 50 == 0) {
			if (c.fd >= 0)
				lf_h_close(&c);
			if (!lf_h_connect(&c, fx.d.port))
				break;
		}
		struct lf_h_resp r;
		int rc = lf_h_request(&c, "GET", "/readyz", NULL, NULL, &r);
		ready += rc == 0 && r.status == 200 && strstr(r.body, "\"ready\"") != NULL;
		lf_h_resp_free(&r);
	}
	if (c.fd >= 0)
		lf_h_close(&c);
	int64_t took = lf_h_now_ms() - t;
	long long pings = hd_metric(M_READYZ_PINGS) - p0;
	/* 2 workers, each at most one ping a second (+1 for the partial second) */
	long long limit = 2 * (took / 1000 + 2);
	printf("\n  1000 /readyz in %lld ms: %d ready, %lld database pings (limit %lld)\n",
	       (long long)took, ready, pings, limit);
	CU_ASSERT_EQUAL(ready, 1000);
	CU_ASSERT(pings >= 1 && pings <= limit);
}

/* ---- the ledger cursor ---- */

static int ledger_status(const char *account, const char *cursor)
{
	char path[256];
	snprintf(path, sizeof path, "/api/accounts/%s/ledger?limit=1&cursor=%s", account, cursor);
	struct lf_h_resp r;
	int st = lf_h_http(fx.d.port, "GET", path, NULL, NULL, &r) == 0 ? r.status : -1;
	lf_h_resp_free(&r);
	return st;
}

/* SHA-256("lf-cursor-v1" | account | seq as text): the old, unkeyed tag;
 * hex digits of it into out. */
static void unkeyed_tag(const lf_uuid *account, long long seq, int hexdigits, char *out)
{
	unsigned char md[32];
	unsigned n = 0;
	char seqtext[24];
	int sl = snprintf(seqtext, sizeof seqtext, "%lld", seq);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	CU_ASSERT_FATAL(ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1);
	EVP_DigestUpdate(ctx, "lf-cursor-v1", 12);
	EVP_DigestUpdate(ctx, account->b, 16);
	EVP_DigestUpdate(ctx, seqtext, (size_t)sl);
	EVP_DigestFinal_ex(ctx, md, &n);
	EVP_MD_CTX_free(ctx);
	for (int i = 0; i < hexdigits / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void test_cursor_old_formula(void)
{
	char from[37], to[37], key[96];
	CU_ASSERT_FATAL(hd_accounts(from, to));
	for (int i = 0; i < 2; i++) {
		struct lf_h_resp r;
		hd_key(key, sizeof key, "ledger");
		CU_ASSERT_EQUAL(lf_h_pay(fx.d.port, key, from, to, "1", &r), 201);
		lf_h_resp_free(&r);
	}
	struct lf_h_entry e[2];
	char cursor[128] = "";
	CU_ASSERT_EQUAL_FATAL(
		lf_h_ledger(fx.d.port, from, "?limit=1", 2, e, 2, cursor, sizeof cursor), 1);
	CU_ASSERT_FATAL(cursor[0] != '\0');
	CU_ASSERT_EQUAL(ledger_status(from, cursor), 200); /* the server's own */
	long long seq = atoll(cursor);
	lf_uuid u;
	CU_ASSERT_FATAL(lf_uuid_parse(from, 36, &u));
	char tag[65], forged[128];
	unkeyed_tag(&u, seq, 16, tag); /* exactly the old cursor */
	snprintf(forged, sizeof forged, "%lld.%s", seq, tag);
	CU_ASSERT_EQUAL(ledger_status(from, forged), 400);
	unkeyed_tag(&u, seq, 32, tag); /* the new length, still without the secret */
	snprintf(forged, sizeof forged, "%lld.%s", seq, tag);
	CU_ASSERT_EQUAL(ledger_status(from, forged), 400);
	/* the server's cursor is bound to its account */
	CU_ASSERT_EQUAL(ledger_status(to, cursor), 400);
}

/* ---- MySQL TLS ---- */

void test_mysql_tls_required(void)
{
	/* the test server has no TLS (have_ssl = DISABLED) */
	static const char *const env[] = {"LEDGERFLOW_MYSQL_SSL_MODE", "required"};
	struct lf_h_daemon d;
	CU_ASSERT_FATAL(daemon_with_env(&d, env, 2));
	struct lf_h_resp r;
	CU_ASSERT_EQUAL(lf_h_http(d.port, "GET", "/readyz", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 503);
	lf_h_resp_free(&r);
	char from[37], to[37], path[128];
	CU_ASSERT_FATAL(hd_accounts(from, to)); /* through the program's daemon */
	snprintf(path, sizeof path, "/api/accounts/%s", from);
	CU_ASSERT_EQUAL(lf_h_http(d.port, "GET", path, NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 503);
	lf_h_resp_free(&r);
	CU_ASSERT(lf_h_log_contains(&d, "msg=db_connect_failed"));
	CU_ASSERT(lf_h_log_contains(&d, "SSL"));
	CU_ASSERT_EQUAL(lf_h_daemon_stop(&d, SIGTERM, 15000), 0);
}
