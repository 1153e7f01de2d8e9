/*
 * test_ratelimit.c - unit tests for src/shm/ratelimit.c: exact counts for
 * a burst, refill over an injected clock, Retry-After and reset values,
 * independent keys, eviction of full buckets first, several processes
 * sharing one table, and the wipe after a holder died.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "../lf_cunit.h"
#include "lf_ratelimit.h"
#include "lf_shm.h"

static void *region;
static size_t region_size;

static struct lf_ratelimit *fresh(unsigned slots)
{
	if (region)
		munmap(region, region_size);
	region_size = lf_ratelimit_size(slots);
	region = mmap(NULL, region_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED)
		return NULL;
	return lf_ratelimit_init(region, region_size);
}

static int take(struct lf_ratelimit *rl, const char *key, uint32_t rate, uint32_t burst,
		int64_t now_us, struct lf_rate_verdict *v)
{
	struct lf_rate_verdict tmp;
	if (v == NULL)
		v = &tmp;
	if (lf_ratelimit_take(rl, key, strlen(key), rate, burst, now_us, v) != LF_OK)
		return -1;
	return v->allowed ? 1 : 0;
}

static void test_burst_exact(void)
{
	struct lf_ratelimit *rl = fresh(1024);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rl);
	int64_t t = 1000000;
	int allowed = 0;
	struct lf_rate_verdict v;
	for (int i = 0; i < 50; i++)
		allowed += take(rl, "client:1", 20, 20, t, &v) == 1;
	/* exactly the burst, at one instant */
	CU_ASSERT_EQUAL(allowed, 20);
	CU_ASSERT_FALSE(v.allowed);
	CU_ASSERT_EQUAL(v.remaining, 0);
	CU_ASSERT_EQUAL(v.retry_after_s, 1); /* 1/20 s to the next token, rounded up */
	CU_ASSERT_EQUAL(v.reset_s, 1);       /* 20 tokens at 20/s */
	struct lf_ratelimit_stats st;
	lf_ratelimit_stats(rl, &st);
	CU_ASSERT_EQUAL(st.allowed, 20);
	CU_ASSERT_EQUAL(st.limited, 30);
}

static void test_refill(void)
{
	struct lf_ratelimit *rl = fresh(1024);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rl);
	int64_t t = 5000000;
	struct lf_rate_verdict v;
	for (int i = 0; i < 10; i++)
		CU_ASSERT_EQUAL(take(rl, "k", 10, 10, t, &v), 1);
	CU_ASSERT_EQUAL(v.remaining, 0);
	CU_ASSERT_EQUAL(take(rl, "k", 10, 10, t, &v), 0);
	/* 99.999 ms later: still less than one token */
	CU_ASSERT_EQUAL(take(rl, "k", 10, 10, t + 99999, &v), 0);
	/* 100 ms: exactly one token */
	CU_ASSERT_EQUAL(take(rl, "k", 10, 10, t + 100000, &v), 1);
	CU_ASSERT_EQUAL(take(rl, "k", 10, 10, t + 100000, &v), 0);
	/* a clock that goes backwards gives nothing and breaks nothing */
	CU_ASSERT_EQUAL(take(rl, "k", 10, 10, t, &v), 0);
	/* a long idle time refills to the burst, not beyond */
	int got = 0;
	for (int i = 0; i < 30; i++)
		got += take(rl, "k", 10, 10, t + INT64_C(3600) * 1000000, &v) == 1;
	CU_ASSERT_EQUAL(got, 10);
	/* a slow rate: Retry-After in whole seconds */
	CU_ASSERT_EQUAL(take(rl, "slow", 1, 1, t, &v), 1);
	CU_ASSERT_EQUAL(take(rl, "slow", 1, 1, t + 250000, &v), 0);
	CU_ASSERT_EQUAL(v.retry_after_s, 1);
	CU_ASSERT_EQUAL(take(rl, "slow", 1, 1, t + 1000000, &v), 1);
}

static void test_retry_after_long(void)
{
	/* a huge burst drained at a small rate: reset is the time to full */
	struct lf_ratelimit *rl = fresh(1024);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rl);
	struct lf_rate_verdict v;
	for (int i = 0; i < 100; i++)
		take(rl, "big", 2, 100, 0, &v);
	CU_ASSERT_EQUAL(take(rl, "big", 2, 100, 0, &v), 0);
	CU_ASSERT_EQUAL(v.retry_after_s, 1);
	CU_ASSERT_EQUAL(v.reset_s, 50);
}

static void test_keys_independent(void)
{
	struct lf_ratelimit *rl = fresh(1024);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rl);
	char key[32];
	/* 500 keys, 3 tokens each at one instant: every key gets exactly 3 */
	int allowed = 0;
	for (int k = 0; k < 500; k++) {
		snprintf(key, sizeof key, "addr:%d", k);
		for (int i = 0; i < 5; i++)
			allowed += take(rl, key, 3, 3, 42, NULL) == 1;
	}
	CU_ASSERT_EQUAL(allowed, 1500);
}

static void test_eviction_prefers_full(void)
{
	/* a table of one partition: flood it with many keys, then check that
	 * a drained key that is still in use keeps its (empty) bucket */
	struct lf_ratelimit *rl = fresh(1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rl);
	int64_t t = 0;
	for (int i = 0; i < 5; i++)
		take(rl, "hot", 1, 5, t, NULL);
	CU_ASSERT_EQUAL(take(rl, "hot", 1, 5, t, NULL), 0);
	char key[32];
	for (int k = 0; k < 20000; k++) {
		snprintf(key, sizeof key, "flood:%d", k);
		take(rl, key, 1000, 1000, t, NULL); /* each ends up nearly full */
		if (k % 1000 == 0)
			CU_ASSERT_EQUAL(take(rl, "hot", 1, 5, t, NULL), 0);
	}
	struct lf_ratelimit_stats st;
	lf_ratelimit_stats(rl, &st);
	CU_ASSERT_TRUE(st.evictions > 0);
	CU_ASSERT_EQUAL(st.slots_total, 1024);
}

static void test_processes_share(void)
{
	struct lf_ratelimit *rl = fresh(4096);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rl);
	/* 4 processes, 100 takes each at one instant, burst 150: 150 in all */
	enum { PROCS = 4 };
	int pipes[PROCS][2];
	pid_t pids[PROCS];
	for (int i = 0; i < PROCS; i++) {
		CU_ASSERT_EQUAL_FATAL(pipe(pipes[i]), 0);
		pids[i] = fork();
		CU_ASSERT_FATAL(pids[i] >= 0);
		if (pids[i] == 0) {
			int n = 0;
			for (int j = 0; j < 100; j++)
				n += take(rl, "shared", 10, 150, 7, NULL) == 1;
			ssize_t w = write(pipes[i][1], &n, sizeof n);
			_exit(w == sizeof n ? 0 : 1);
		}
		close(pipes[i][1]);
	}
	int total = 0;
	for (int i = 0; i < PROCS; i++) {
		int n = 0, status = 0;
		CU_ASSERT_EQUAL(read(pipes[i][0], &n, sizeof n), (ssize_t)sizeof n);
		close(pipes[i][0]);
		waitpid(pids[i], &status, 0);
		CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		total += n;
	}
	CU_ASSERT_EQUAL(total, 150);
}

static void test_holder_died(void)
{
	struct lf_ratelimit *rl = fresh(1024);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rl);
	for (int i = 0; i < 3; i++)
		take(rl, "x", 1, 3, 0, NULL);
	CU_ASSERT_EQUAL(take(rl, "x", 1, 3, 0, NULL), 0);
	/* a child takes every partition's lock and dies holding them */
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		/* one partition (1024 slots): its mutex opens the part that
		 * follows the header, and the sizes tell where that is */
		char *base = (char *)rl;
		size_t part_size = lf_ratelimit_size(2048) - lf_ratelimit_size(1024);
		size_t first = lf_ratelimit_size(1024) - part_size;
		pthread_mutex_t *m = (pthread_mutex_t *)(base + first);
		bool died;
		lf_shm_mutex_lock(m, &died);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	/* the dead holder's partition is wiped: the bucket is full again */
	CU_ASSERT_EQUAL(take(rl, "x", 1, 3, 0, NULL), 1);
	struct lf_ratelimit_stats st;
	lf_ratelimit_stats(rl, &st);
	CU_ASSERT_EQUAL(st.wipes, 1);
	/* and it works normally afterwards */
	CU_ASSERT_EQUAL(take(rl, "x", 1, 3, 0, NULL), 1);
	CU_ASSERT_EQUAL(take(rl, "x", 1, 3, 0, NULL), 1);
	CU_ASSERT_EQUAL(take(rl, "x", 1, 3, 0, NULL), 0);
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	CU_pSuite s = CU_add_suite("ratelimit", NULL, NULL);
	CU_add_test(s, "a burst gets exactly burst tokens", test_burst_exact);
	CU_add_test(s, "refill over an injected clock", test_refill);
	CU_add_test(s, "Retry-After and reset", test_retry_after_long);
	CU_add_test(s, "500 keys are independent", test_keys_independent);
	CU_add_test(s, "eviction takes full buckets first", test_eviction_prefers_full);
	CU_add_test(s, "4 processes share one bucket", test_processes_share);
	CU_add_test(s, "a dead holder's partition is wiped", test_holder_died);
	int rc = lf_cunit_run();
	if (region)
		munmap(region, region_size);
	return rc;
}
