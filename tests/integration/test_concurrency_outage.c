/*
 * test_concurrency_outage.c - part of the test_concurrency program (main
 * in test_concurrency.c): MySQL stopped for 3 s in the middle of the load,
 * through contrib/dev/services.sh: only 503 with Retry-After while it
 * lasts, /readyz unready and /healthz alive, recovery without a restart,
 * every 503 settled by retrying with its key, and the books hold.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "test_concurrency.h"

/* ---- (d) MySQL stopped in the middle of the load ---- */

#define OUTAGE_THREADS 8
#define OUTAGE_MAX 4000

struct outage_rec {
	int64_t sent_ms, done_ms;
	int status;
	bool retry_after, reverse;
	char code[32];
	char detail[160];
};

struct outage {
	const char *x, *y;
	volatile int stop;
	int64_t hard_stop;
	struct outage_rec *rec[OUTAGE_THREADS];
	int n[OUTAGE_THREADS];
	int idx[OUTAGE_THREADS];
};

static struct outage O;

static void outage_key(char *buf, size_t len, int t, int i)
{
	snprintf(buf, len, "out-%ld-%d-%d", (long)getpid(), t, i);
}

static void *outage_thread(void *arg)
{
	int t = *(int *)arg;
	struct lf_h_conn c = {.fd = -1};
	while (!O.stop && O.n[t] < OUTAGE_MAX && lf_h_now_ms() < O.hard_stop) {
		struct outage_rec *x = &O.rec[t][O.n[t]];
		char key[64], v[64];
		struct lf_h_resp r;
		x->reverse = O.n[t] % 2 == 1;
		outage_key(key, sizeof key, t, O.n[t]);
		x->sent_ms = lf_h_now_ms();
		x->status = conn_pay(&c, key, x->reverse ? O.y : O.x, x->reverse ? O.x : O.y,
				     "1.00", &r);
		x->done_ms = lf_h_now_ms();
		if (x->status > 0) {
			lf_h_json_str(r.body, "code", x->code, sizeof x->code);
			lf_h_json_str(r.body, "detail", x->detail, sizeof x->detail);
			x->retry_after = lf_h_header(&r, "Retry-After", v, sizeof v);
		}
		lf_h_resp_free(&r);
		O.n[t]++;
		if (x->status != 201)
			usleep(100 * 1000); /* a client backs off on 503 */
	}
	lf_h_close(&c);
	return NULL;
}

/* contrib/dev/services.sh in a session of its own, so that the MariaDB it
 * starts is not in this test's process group (which timeout(1) kills) */
static int services(const char *what)
{
	char cmd[3000];
	snprintf(cmd, sizeof cmd, "setsid -w '%s' %s '%s' </dev/null >/dev/null 2>&1",
		 fx.env.services, what, fx.env.state_dir);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Retry a payment with its key as a client does after a 503: again on
 * 409 in flight or 503 (a few times); the final status. */
static int settle(const char *key, const char *from, const char *to, bool *replayed)
{
	struct lf_h_resp r;
	char v[64];
	int st = -1;
	for (int attempt = 0; attempt < 20; attempt++) {
		st = lf_h_pay(fx.d.port, key, from, to, "\"1.00\"", &r);
		*replayed = lf_h_header(&r, "Idempotent-Replayed", v, sizeof v) &&
			    strcmp(v, "true") == 0;
		if (st != 201)
			fprintf(stderr, "\n  retry of %s (attempt %d): %d %s\n", key, attempt + 1,
				st, r.body ? r.body : "");
		lf_h_resp_free(&r);
		if (st != 409 && st != 503)
			break;
		usleep(250 * 1000);
	}
	return st;
}

/* What the daemon said while MySQL was down: /readyz, /healthz, a payment. */
struct outage_probe {
	int ready_st, health_st, down_pay;
	bool ready_down, ready_unready, down_retry_after, down_code;
};

static void probe_during_outage(const char *p1, const char *p2, struct outage_probe *pr)
{
	struct lf_h_resp r;
	char v[64], key[64];
	pr->ready_st = lf_h_http(fx.d.port, "GET", "/readyz", NULL, NULL, &r) == 0 ? r.status : -1;
	pr->ready_down = lf_h_json_str(r.body, "mysql", v, sizeof v) && strcmp(v, "down") == 0;
	pr->ready_unready =
		lf_h_json_str(r.body, "status", v, sizeof v) && strcmp(v, "unready") == 0;
	lf_h_resp_free(&r);
	pr->health_st =
		lf_h_http(fx.d.port, "GET", "/healthz", NULL, NULL, &r) == 0 ? r.status : -1;
	lf_h_resp_free(&r);
	snprintf(key, sizeof key, "probe-%ld-down", (long)getpid());
	pr->down_pay = lf_h_pay(fx.d.port, key, p1, p2, "1", &r);
	pr->down_retry_after = lf_h_header(&r, "Retry-After", v, sizeof v);
	pr->down_code =
		lf_h_json_str(r.body, "code", v, sizeof v) && strcmp(v, "service_unavailable") == 0;
	lf_h_resp_free(&r);
}

/* Milliseconds from t_up to the first payment that completes again
 * (without restarting ledgerflowd), -1 when none did within 15 s. */
static int64_t first_payment_after(int64_t t_up, const char *p1, const char *p2)
{
	int64_t recovered_ms = -1;
	for (int i = 0; i < 100 && recovered_ms < 0 && lf_h_now_ms() - t_up < 15000; i++) {
		struct lf_h_resp r;
		char key[64];
		snprintf(key, sizeof key, "probe-%ld-%d", (long)getpid(), i);
		if (lf_h_pay(fx.d.port, key, p1, p2, "1", &r) == 201)
			recovered_ms = lf_h_now_ms() - t_up;
		lf_h_resp_free(&r);
		if (recovered_ms < 0)
			usleep(200 * 1000);
	}
	return recovered_ms;
}

/* Every answer of the load, judged against the outage window; every 503
 * settled by retrying its key. */
struct outage_verdict {
	long total, created, unavailable, in_window, window_bad, other;
	long no_retry_after, failed, settled, settled_replayed, unsettled, false_claims;
	int64_t slowest_503, moved_xy;
};

static void judge_outage(const char *x, const char *y, int64_t t_down, int64_t t_start,
			 struct outage_verdict *v)
{
	memset(v, 0, sizeof *v);
	for (int ti = 0; ti < OUTAGE_THREADS; ti++) {
		for (int i = 0; i < O.n[ti]; i++) {
			struct outage_rec *e = &O.rec[ti][i];
			v->total++;
			bool inside = e->sent_ms >= t_down && e->done_ms <= t_start;
			v->in_window += inside;
			if (e->status == 503) {
				v->unavailable++;
				if (e->done_ms - e->sent_ms > v->slowest_503)
					v->slowest_503 = e->done_ms - e->sent_ms;
				v->no_retry_after += !e->retry_after ||
						     strcmp(e->code, "service_unavailable") != 0;
				char key[64];
				bool replayed;
				outage_key(key, sizeof key, ti, i);
				int st = settle(key, e->reverse ? y : x, e->reverse ? x : y,
						&replayed);
				if (st == 201) {
					v->settled++;
					v->settled_replayed += replayed;
					v->false_claims += replayed &&
							   strstr(e->detail, "nothing was changed");
					e->status = 201;
				} else {
					v->unsettled++;
				}
			} else if (e->status == 201) {
				v->created++;
				v->window_bad += inside;
			} else if (e->status < 0) {
				v->failed++;
			} else {
				v->other++;
				v->window_bad += inside;
			}
			if (e->status == 201)
				v->moved_xy += e->reverse ? -100 : 100;
		}
		free(O.rec[ti]);
	}
}

void test_mysql_outage(void)
{
	if (fx.env.state_dir[0] == '\0') {
		printf("\n  (d) skipped: LF_TEST_STATE_DIR is not set\n");
		return;
	}
	char x[37], y[37], p1[37], p2[37];
	CU_ASSERT_FATAL(lf_h_account(fx.d.port, "outage-x", "USD", "100000", x) == 201);
	CU_ASSERT_FATAL(lf_h_account(fx.d.port, "outage-y", "USD", "100000", y) == 201);
	CU_ASSERT_FATAL(lf_h_account(fx.d.port, "probe-1", "USD", "1000", p1) == 201);
	CU_ASSERT_FATAL(lf_h_account(fx.d.port, "probe-2", "USD", NULL, p2) == 201);
	memset(&O, 0, sizeof O);
	O.x = x;
	O.y = y;
	O.hard_stop = lf_h_now_ms() + 90000;
	pthread_t t[OUTAGE_THREADS];
	for (int i = 0; i < OUTAGE_THREADS; i++) {
		O.rec[i] = calloc(OUTAGE_MAX, sizeof(struct outage_rec));
		O.idx[i] = i;
		pthread_create(&t[i], NULL, outage_thread, &O.idx[i]);
	}
	usleep(1000 * 1000);

	/* the outage: no fatal assertion until MySQL runs again */
	int64_t t_stop = lf_h_now_ms();
	int stop_rc = services("mysql-stop");
	int64_t t_down = lf_h_now_ms();
	usleep(1000 * 1000);
	struct outage_probe pr;
	probe_during_outage(p1, p2, &pr);
	while (lf_h_now_ms() - t_down < 3000)
		usleep(50 * 1000);
	int64_t t_start = lf_h_now_ms();
	int start_rc = services("mysql-start");
	int64_t t_up = lf_h_now_ms();
	int64_t recovered_ms = first_payment_after(t_up, p1, p2);
	usleep(500 * 1000);
	O.stop = 1;
	for (int i = 0; i < OUTAGE_THREADS; i++)
		pthread_join(t[i], NULL);

	struct outage_verdict v;
	judge_outage(x, y, t_down, t_start, &v);
	int64_t xb = balance_minor(x), yb = balance_minor(y);
	int rec = lf_h_ctl(&fx.env, &fx.d, "reconcile");
	printf("\n  (d) MySQL outage: stop took %lld ms, down for %lld ms, start took %lld ms; "
	       "%ld payments attempted by %d threads: %ld x 201, %ld x 503 (%ld inside the outage, "
	       "%ld without Retry-After/code, slowest %lld ms), %ld other, %ld transport failures; "
	       "during the outage /readyz %d (mysql down: %s), /healthz %d, a payment %d; "
	       "first payment after restart "
	       "in %lld ms; 503s settled by retrying the key: %ld x 201 (%ld replayed: had "
	       "committed, "
	       "%ld of them said \"nothing was changed\"), %ld unsettled; reconcile exit %d\n",
	       (long long)(t_down - t_stop), (long long)(t_start - t_down),
	       (long long)(t_up - t_start), v.total, OUTAGE_THREADS, v.created, v.unavailable,
	       v.in_window, v.no_retry_after, (long long)v.slowest_503, v.other, v.failed,
	       pr.ready_st, pr.ready_down ? "yes" : "no", pr.health_st, pr.down_pay,
	       (long long)recovered_ms, v.settled, v.settled_replayed, v.false_claims, v.unsettled,
	       rec);
	CU_ASSERT_EQUAL(stop_rc, 0);
	CU_ASSERT_EQUAL(start_rc, 0);
	CU_ASSERT(v.in_window > 0);
	CU_ASSERT_EQUAL(v.window_bad, 0);
	CU_ASSERT_EQUAL(v.other, 0);
	CU_ASSERT_EQUAL(v.failed, 0);
	CU_ASSERT_EQUAL(v.no_retry_after, 0);
	/* [mysql] request_timeout is 3 s in the harness; 1 s of slack */
	CU_ASSERT(v.slowest_503 <= 4000);
	CU_ASSERT_EQUAL(pr.ready_st, 503);
	CU_ASSERT(pr.ready_down && pr.ready_unready);
	CU_ASSERT_EQUAL(pr.health_st, 200);
	CU_ASSERT_EQUAL(pr.down_pay, 503);
	CU_ASSERT(pr.down_retry_after && pr.down_code);
	CU_ASSERT(recovered_ms >= 0 && recovered_ms <= 10000);
	CU_ASSERT_EQUAL(v.unsettled, 0);
	/* KNOWN BUG: a payment whose connection broke around COMMIT (outcome
	 * unknown, MySQL down so it cannot be resolved) is answered by
	 * lf_decision_send() with "nothing was changed", yet the retry with
	 * the key replays its 201: the detail must not claim that then. */
	CU_ASSERT_EQUAL(v.false_claims, 0);
	CU_ASSERT_EQUAL(xb, 10000000 - v.moved_xy);
	CU_ASSERT_EQUAL(yb, 10000000 + v.moved_xy);
	CU_ASSERT_EQUAL(rec, 0);
	struct lf_h_resp r;
	CU_ASSERT_EQUAL(lf_h_http(fx.d.port, "GET", "/readyz", NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	lf_h_resp_free(&r);
}
