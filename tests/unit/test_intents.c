/*
 * test_intents.c - unit tests for src/shm/intents.c: an intent is found
 * only when newer than what the caller read, is in flight until its group
 * settles it, is withdrawn only by its own group, is not replaced by one
 * built on an older state, expires, survives a table full of other
 * accounts, and is shared by the processes mapping the table.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "../lf_cunit.h"
#include "lf_intents.h"

static void *region;
static size_t region_size;

static struct lf_intents *fresh(void)
{
	if (region)
		munmap(region, region_size);
	region_size = lf_intents_size();
	region = mmap(NULL, region_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED) {
		region = NULL;
		return NULL;
	}
	return lf_intents_init(region, region_size);
}

static lf_uuid account(unsigned n)
{
	lf_uuid id;
	memset(&id, 0, sizeof id);
	id.b[0] = 0xb0;
	for (int i = 0; i < 4; i++)
		id.b[15 - i] = (uint8_t)(n >> (8 * i));
	return id;
}

static struct lf_intent state(int64_t seq, int64_t balance)
{
	struct lf_intent x = {.seq = seq, .balance = balance, .held = 7};
	memset(x.head, (int)(seq & 0xff), sizeof x.head);
	return x;
}

static void test_found_when_newer(void)
{
	struct lf_intents *t = fresh();
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	lf_uuid a = account(1), b = account(2);
	struct lf_intent x = state(12, 500), got;
	lf_intents_publish(t, &a, &x, 42, 1000);
	bool in_flight = false;
	CU_ASSERT_TRUE(lf_intents_find(t, &a, 10, 1000, &got, &in_flight));
	CU_ASSERT_TRUE(in_flight);
	CU_ASSERT_EQUAL(got.seq, 12);
	CU_ASSERT_EQUAL(got.balance, 500);
	CU_ASSERT_EQUAL(got.held, 7);
	CU_ASSERT(memcmp(got.head, x.head, sizeof got.head) == 0);
	/* read at that seq or later: nothing newer */
	CU_ASSERT_FALSE(lf_intents_find(t, &a, 12, 1000, &got, &in_flight));
	CU_ASSERT_TRUE(in_flight);
	CU_ASSERT_FALSE(lf_intents_find(t, &a, 13, 1000, &got, NULL));
	/* another account has none */
	CU_ASSERT_FALSE(lf_intents_find(t, &b, -1, 1000, &got, &in_flight));
	CU_ASSERT_FALSE(in_flight);
	/* attached again (a binary upgrade's master), the same table */
	CU_ASSERT_PTR_EQUAL(lf_intents_attach(region, region_size), t);
	CU_ASSERT_PTR_NULL(lf_intents_attach(region, region_size - 64));
}

static void test_settle_and_withdraw(void)
{
	struct lf_intents *t = fresh();
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	lf_uuid a = account(1), b = account(2);
	struct lf_intent x = state(5, 100), got;
	lf_intents_publish(t, &a, &x, 42, 1000);
	lf_intents_publish(t, &b, &x, 42, 1000);
	/* committed: still found (for groups that read before the COMMIT),
	 * no longer in flight */
	lf_intents_end(t, &a, 42, true);
	bool in_flight = true;
	CU_ASSERT_TRUE(lf_intents_find(t, &a, 4, 1000, &got, &in_flight));
	CU_ASSERT_FALSE(in_flight);
	/* another group cannot withdraw it; its own can */
	lf_intents_end(t, &b, 43, false);
	CU_ASSERT_TRUE(lf_intents_find(t, &b, 4, 1000, &got, NULL));
	lf_intents_end(t, &b, 42, false);
	CU_ASSERT_FALSE(lf_intents_find(t, &b, 4, 1000, &got, &in_flight));
	CU_ASSERT_FALSE(in_flight);
	struct lf_intents_stats st;
	lf_intents_stats(t, &st);
	CU_ASSERT_EQUAL(st.published, 2);
	CU_ASSERT_EQUAL(st.withdrawn, 1);
}

static void test_older_state_not_kept(void)
{
	struct lf_intents *t = fresh();
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	lf_uuid a = account(1);
	struct lf_intent newer = state(20, 300), older = state(15, 400), got;
	lf_intents_publish(t, &a, &newer, 1, 1000);
	/* a group that built on an older state does not replace it */
	lf_intents_publish(t, &a, &older, 2, 1001);
	CU_ASSERT_TRUE(lf_intents_find(t, &a, 0, 1002, &got, NULL));
	CU_ASSERT_EQUAL(got.seq, 20);
	/* the same group decided again (after 'stale'): replaced */
	lf_intents_publish(t, &a, &older, 1, 1003);
	CU_ASSERT_TRUE(lf_intents_find(t, &a, 0, 1004, &got, NULL));
	CU_ASSERT_EQUAL(got.seq, 15);
	CU_ASSERT_EQUAL(got.balance, 400);
	/* a newer one from anyone: replaced */
	lf_intents_publish(t, &a, &newer, 3, 1005);
	CU_ASSERT_TRUE(lf_intents_find(t, &a, 0, 1006, &got, NULL));
	CU_ASSERT_EQUAL(got.seq, 20);
}

static void test_expires(void)
{
	struct lf_intents *t = fresh();
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	lf_uuid a = account(1);
	struct lf_intent x = state(3, 1), older = state(2, 1), got;
	lf_intents_publish(t, &a, &x, 1, 0);
	bool in_flight = false;
	CU_ASSERT_TRUE(lf_intents_find(t, &a, 0, LF_INTENT_TTL_US - 1, &got, &in_flight));
	CU_ASSERT_TRUE(in_flight);
	CU_ASSERT_FALSE(lf_intents_find(t, &a, 0, LF_INTENT_TTL_US, &got, &in_flight));
	CU_ASSERT_FALSE(in_flight); /* a group that died is not waited for */
	/* an expired intent does not hold back an older state */
	lf_intents_publish(t, &a, &older, 2, LF_INTENT_TTL_US);
	CU_ASSERT_TRUE(lf_intents_find(t, &a, 0, LF_INTENT_TTL_US, &got, NULL));
	CU_ASSERT_EQUAL(got.seq, 2);
}

static void test_full_table(void)
{
	struct lf_intents *t = fresh();
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	/* far more accounts than slots: each newest one is found; the
	 * oldest ones made room */
	enum { N = 20000 };
	struct lf_intent got;
	int found_new = 0;
	for (unsigned i = 0; i < N; i++) {
		lf_uuid id = account(i);
		struct lf_intent x = state(1 + (int64_t)i, (int64_t)i);
		lf_intents_publish(t, &id, &x, 1, 1000 + i);
		found_new += lf_intents_find(t, &id, 0, 1000 + i, &got, NULL) &&
			     got.balance == (int64_t)i;
	}
	CU_ASSERT_EQUAL(found_new, N);
	lf_uuid first = account(0), last = account(N - 1);
	CU_ASSERT_FALSE(lf_intents_find(t, &first, 0, 1000 + N, &got, NULL));
	CU_ASSERT_TRUE(lf_intents_find(t, &last, 0, 1000 + N, &got, NULL));
}

static void test_processes_share(void)
{
	struct lf_intents *t = fresh();
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	lf_uuid a = account(9);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		struct lf_intent x = state(8, 808);
		lf_intents_publish(t, &a, &x, 77, 5000);
		_exit(0);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	struct lf_intent got;
	CU_ASSERT_TRUE(lf_intents_find(t, &a, 7, 5001, &got, NULL));
	CU_ASSERT_EQUAL(got.balance, 808);
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	CU_pSuite s = CU_add_suite("intents", NULL, NULL);
	CU_add_test(s, "found only when newer than the read", test_found_when_newer);
	CU_add_test(s, "settled stays, withdrawn only by its group", test_settle_and_withdraw);
	CU_add_test(s, "an older state does not replace a newer one", test_older_state_not_kept);
	CU_add_test(s, "an intent expires", test_expires);
	CU_add_test(s, "a table full of other accounts", test_full_table);
	CU_add_test(s, "two processes share one table", test_processes_share);
	int rc = lf_cunit_run();
	if (region)
		munmap(region, region_size);
	return rc;
}
