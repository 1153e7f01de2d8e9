/*
 * test_cache.c - unit tests for the shared-memory response cache
 * (src/shm/cache.c) and the robust shm mutexes under it (src/shm/shm.c): lookups,
 * replacement, TTL with an injected clock, CLOCK eviction, size limits, a
 * worker dying while holding a partition lock, and a multi-process stress.
 */
#include "config.h"

#include "lf_cache.h"
#include "lf_shm.h"

#include <CUnit/Basic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lf_cunit.h"

#define T0 INT64_C(1700000000000) /* injected clock, unix ms */
#define HOUR INT64_C(3600000)
#define SHM_HDR 64 /* the cache starts after the lf_shm header */

static void *g_base;
static size_t g_size;

/* A fresh cache in a fresh shared region of `size` bytes. */
static struct lf_cache *new_cache(size_t size)
{
	if (g_base)
		lf_shm_destroy(g_base, g_size);
	g_size = size;
	g_base = lf_shm_create(size);
	if (g_base == NULL)
		return NULL;
	return lf_cache_init((char *)g_base + SHM_HDR, size - SHM_HDR);
}

static int suite_clean(void)
{
	if (g_base)
		lf_shm_destroy(g_base, g_size);
	g_base = NULL;
	return 0;
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * UINT64_C(0x2545F4914F6CDD1D);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool get_equals(struct lf_cache *c, const char *key, const void *want, size_t wlen,
		       int64_t now)
{
	static char buf[LF_CACHE_MAX_VALUE];
	size_t n = 0;

	return lf_cache_get(c, key, strlen(key), buf, sizeof(buf), &n, now) == LF_OK && n == wlen &&
	       memcmp(buf, want, wlen) == 0;
}

static bool absent(struct lf_cache *c, const char *key, int64_t now)
{
	char buf[16];
	size_t n = 99;

	return lf_cache_get(c, key, strlen(key), buf, sizeof(buf), &n, now) == LF_DECLINED &&
	       n == 0;
}

static void test_shm_region(void)
{
	struct lf_shm_header *h = lf_shm_create(10000);
	pthread_mutex_t *m;
	bool died = true;

	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL(h->magic, LF_SHM_MAGIC);
	CU_ASSERT_EQUAL(h->layout_version, LF_SHM_LAYOUT_VERSION);
	CU_ASSERT_EQUAL(h->size % (uint64_t)sysconf(_SC_PAGESIZE), 0);
	CU_ASSERT(h->size >= 10000);
	CU_ASSERT_EQUAL(h->generation, 0);
	m = (pthread_mutex_t *)((char *)h + 64);
	CU_ASSERT_TRUE(lf_shm_mutex_init(m));
	CU_ASSERT_TRUE(lf_shm_mutex_lock(m, &died));
	CU_ASSERT_FALSE(died);
	lf_shm_mutex_unlock(m);
	lf_shm_destroy(h, 10000);
	CU_ASSERT_PTR_NULL(lf_shm_create(0));
}

static void test_init_attach(void)
{
	static uint64_t junk[1024];
	struct lf_cache *c;
	struct lf_cache_stats st;

	CU_ASSERT_PTR_NULL(new_cache(60 * 1024)); /* below 64 KiB */
	c = new_cache(4 << 20);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_PTR_EQUAL(lf_cache_attach((char *)g_base + SHM_HDR), c);
	memset(junk, 0xab, sizeof(junk));
	CU_ASSERT_PTR_NULL(lf_cache_attach(junk));
	lf_cache_stats(c, &st);
	CU_ASSERT(st.slots_total > 4 * 1024 * 1024 / 256 * 9 / 10);
	CU_ASSERT_EQUAL(st.slots_free, st.slots_total);
	CU_ASSERT_EQUAL(st.slots_used, 0);
	CU_ASSERT_EQUAL(st.hits + st.misses + st.inserts + st.wipes, 0);
	CU_ASSERT_TRUE(lf_cache_check(c));
}

static void test_put_get_delete(void)
{
	struct lf_cache *c = new_cache(1 << 20);
	struct lf_cache_stats st;
	char big[5000];
	size_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + 3);
	CU_ASSERT_EQUAL(lf_cache_put(c, "k1", 2, "hello", 5, T0 + HOUR, T0), LF_OK);
	CU_ASSERT_EQUAL(lf_cache_put(c, "k2", 2, big, sizeof(big), T0 + HOUR, T0), LF_OK);
	CU_ASSERT_EQUAL(lf_cache_put(c, "", 0, "empty key", 9, T0 + HOUR, T0), LF_OK);
	CU_ASSERT_EQUAL(lf_cache_put(c, "k0", 2, NULL, 0, T0 + HOUR, T0), LF_OK);
	CU_ASSERT_TRUE(get_equals(c, "k1", "hello", 5, T0));
	CU_ASSERT_TRUE(get_equals(c, "k2", big, sizeof(big), T0));
	CU_ASSERT_TRUE(get_equals(c, "", "empty key", 9, T0));
	CU_ASSERT_TRUE(get_equals(c, "k0", "", 0, T0));
	CU_ASSERT_TRUE(absent(c, "k3", T0));
	CU_ASSERT_TRUE(absent(c, "k", T0));
	lf_cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.inserts, 4);
	CU_ASSERT_EQUAL(st.hits, 4);
	CU_ASSERT_EQUAL(st.misses, 2);
	CU_ASSERT(st.slots_used >= 1 + sizeof(big) / 256);

	CU_ASSERT_TRUE(lf_cache_delete(c, "k2", 2));
	CU_ASSERT_FALSE(lf_cache_delete(c, "k2", 2));
	CU_ASSERT_TRUE(absent(c, "k2", T0));
	CU_ASSERT_TRUE(get_equals(c, "k1", "hello", 5, T0));
	CU_ASSERT_TRUE(lf_cache_check(c));
	lf_cache_clear(c);
	CU_ASSERT_TRUE(absent(c, "k1", T0));
	lf_cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.slots_free, st.slots_total);
	CU_ASSERT_TRUE(lf_cache_check(c));
}

static void test_replace(void)
{
	struct lf_cache *c = new_cache(1 << 20);
	struct lf_cache_stats st1, st2;
	char v[3000];

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	memset(v, 'x', sizeof(v));
	CU_ASSERT_EQUAL(lf_cache_put(c, "key", 3, "first", 5, T0 + HOUR, T0), LF_OK);
	CU_ASSERT_EQUAL(lf_cache_put(c, "key", 3, v, sizeof(v), T0 + HOUR, T0), LF_OK);
	CU_ASSERT_TRUE(get_equals(c, "key", v, sizeof(v), T0));
	lf_cache_stats(c, &st1);
	CU_ASSERT_EQUAL(lf_cache_put(c, "key", 3, v, sizeof(v), T0 + HOUR, T0), LF_OK);
	lf_cache_stats(c, &st2);
	CU_ASSERT_EQUAL(st1.slots_used, st2.slots_used); /* replaced, not duplicated */
	CU_ASSERT_EQUAL(lf_cache_put(c, "key", 3, "last", 4, T0 + HOUR, T0), LF_OK);
	CU_ASSERT_TRUE(get_equals(c, "key", "last", 4, T0));
	lf_cache_stats(c, &st2);
	CU_ASSERT_EQUAL(st2.slots_used, 1);
	CU_ASSERT_TRUE(lf_cache_check(c));
}

static void test_expiry(void)
{
	struct lf_cache *c = new_cache(1 << 20);
	struct lf_cache_stats st;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(lf_cache_put(c, "ttl", 3, "v", 1, T0 + 1000, T0), LF_OK);
	CU_ASSERT_TRUE(get_equals(c, "ttl", "v", 1, T0 + 999));
	CU_ASSERT_TRUE(absent(c, "ttl", T0 + 1000)); /* expiry is exclusive */
	lf_cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.expired, 1);
	CU_ASSERT_EQUAL(st.slots_used, 0); /* dropped lazily by the read */
	/* the clock going back does not resurrect a dropped entry */
	CU_ASSERT_TRUE(absent(c, "ttl", T0));

	/* an already expired put stores nothing and removes the old value */
	CU_ASSERT_EQUAL(lf_cache_put(c, "ttl", 3, "v", 1, T0 + 1000, T0), LF_OK);
	CU_ASSERT_EQUAL(lf_cache_put(c, "ttl", 3, "w", 1, T0 + 10, T0 + 10), LF_OK);
	CU_ASSERT_TRUE(absent(c, "ttl", T0));
	lf_cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.slots_used, 0);
	CU_ASSERT_TRUE(lf_cache_check(c));
}

static void test_size_limits(void)
{
	static char val[LF_CACHE_MAX_VALUE + 1], out[LF_CACHE_MAX_VALUE];
	char key[LF_CACHE_MAX_KEY + 1], small[100];
	struct lf_cache *c = new_cache(4 << 20);
	struct lf_cache_stats st;
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	memset(val, 'v', sizeof(val));
	memset(key, 'k', sizeof(key));
	CU_ASSERT_EQUAL(lf_cache_put(c, "big", 3, val, LF_CACHE_MAX_VALUE + 1, T0 + HOUR, T0),
			LF_DECLINED);
	CU_ASSERT_EQUAL(lf_cache_put(c, key, LF_CACHE_MAX_KEY + 1, "v", 1, T0 + HOUR, T0),
			LF_DECLINED);
	/* a refused replacement does not leave the old value behind */
	CU_ASSERT_EQUAL(lf_cache_put(c, "big", 3, "old", 3, T0 + HOUR, T0), LF_OK);
	CU_ASSERT_EQUAL(lf_cache_put(c, "big", 3, val, sizeof(val), T0 + HOUR, T0), LF_DECLINED);
	CU_ASSERT_TRUE(absent(c, "big", T0));
	lf_cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.refused, 3);
	CU_ASSERT_EQUAL(st.slots_used, 0);
	CU_ASSERT_EQUAL(lf_cache_get(c, key, LF_CACHE_MAX_KEY + 1, out, sizeof(out), &n, T0),
			LF_DECLINED);

	/* the limits themselves are accepted */
	CU_ASSERT_EQUAL(
		lf_cache_put(c, key, LF_CACHE_MAX_KEY, val, LF_CACHE_MAX_VALUE, T0 + HOUR, T0),
		LF_OK);
	CU_ASSERT_EQUAL(lf_cache_get(c, key, LF_CACHE_MAX_KEY, out, sizeof(out), &n, T0), LF_OK);
	CU_ASSERT_EQUAL(n, LF_CACHE_MAX_VALUE);
	CU_ASSERT_EQUAL(memcmp(out, val, n), 0);

	/* a buffer too small is reported with the size needed; entry stays */
	n = 0;
	CU_ASSERT_EQUAL(lf_cache_get(c, key, LF_CACHE_MAX_KEY, small, sizeof(small), &n, T0),
			LF_DECLINED);
	CU_ASSERT_EQUAL(n, LF_CACHE_MAX_VALUE);
	CU_ASSERT_EQUAL(lf_cache_get(c, key, LF_CACHE_MAX_KEY, NULL, 0, &n, T0), LF_DECLINED);
	CU_ASSERT_EQUAL(lf_cache_get(c, key, LF_CACHE_MAX_KEY, out, sizeof(out), &n, T0), LF_OK);
	CU_ASSERT_TRUE(lf_cache_check(c));

	/* a region too small for one maximal value refuses it cleanly */
	c = new_cache(64 * 1024 + SHM_HDR);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(lf_cache_put(c, "big", 3, val, LF_CACHE_MAX_VALUE, T0 + HOUR, T0),
			LF_DECLINED);
	CU_ASSERT_EQUAL(lf_cache_put(c, "ok", 2, val, 1000, T0 + HOUR, T0), LF_OK);
	CU_ASSERT_TRUE(get_equals(c, "ok", val, 1000, T0));
	CU_ASSERT_TRUE(lf_cache_check(c));
}

static void test_eviction(void)
{
	struct lf_cache *c = new_cache(64 * 1024 + SHM_HDR); /* one partition */
	struct lf_cache_stats st;
	char key[32], val[100], big[3000];
	uint64_t seed = 42;
	int k, i, m;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	memset(val, 'a', sizeof(val));
	lf_cache_stats(c, &st);
	/* fill with one-chunk entries until no chunk is free */
	for (k = 0; k < (int)st.slots_total; k++) {
		struct lf_cache_stats s2;

		snprintf(key, sizeof(key), "key-%05d", k);
		val[0] = (char)k;
		CU_ASSERT_EQUAL(lf_cache_put(c, key, strlen(key), val, sizeof(val), T0 + HOUR, T0),
				LF_OK);
		lf_cache_stats(c, &s2);
		if (s2.slots_free == 0) {
			k++;
			break;
		}
	}
	lf_cache_stats(c, &st);
	CU_ASSERT_EQUAL_FATAL(st.slots_free, 0);
	CU_ASSERT_EQUAL(st.evictions, 0);
	CU_ASSERT_FATAL(k > 40);
	/* reference the even keys */
	for (i = 0; i < k; i += 2) {
		snprintf(key, sizeof(key), "key-%05d", i);
		val[0] = (char)i;
		CU_ASSERT_TRUE(get_equals(c, key, val, sizeof(val), T0));
	}
	/* pressure: m new entries push out m unreferenced, oldest first */
	m = k / 4;
	val[0] = 'a';
	for (i = 0; i < m; i++) {
		snprintf(key, sizeof(key), "new-%05d", i);
		CU_ASSERT_EQUAL(lf_cache_put(c, key, strlen(key), val, sizeof(val), T0 + HOUR, T0),
				LF_OK);
	}
	lf_cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.evictions, (uint64_t)m);
	for (i = 0; i < k; i++) {
		snprintf(key, sizeof(key), "key-%05d", i);
		val[0] = (char)i;
		if (i % 2 == 0 || i >= 2 * m) {
			CU_ASSERT_TRUE(get_equals(c, key, val, sizeof(val), T0));
		} else {
			CU_ASSERT_TRUE(absent(c, key, T0));
		}
	}
	val[0] = 'a';
	for (i = 0; i < m; i++) {
		snprintf(key, sizeof(key), "new-%05d", i);
		CU_ASSERT_TRUE(get_equals(c, key, val, sizeof(val), T0));
	}
	CU_ASSERT_TRUE(lf_cache_check(c));

	/* expired entries go before live ones, without a second chance */
	CU_ASSERT_EQUAL(lf_cache_put(c, "short", 5, val, 10, T0 + 5, T0), LF_OK);

	/* the full cache keeps working under random sizes */
	for (i = 0; i < 3000; i++) {
		size_t len = (size_t)(rng_next(&seed) % sizeof(big));

		memset(big, 'A' + i % 26, len);
		snprintf(key, sizeof(key), "r-%d", i % 500);
		CU_ASSERT_EQUAL(lf_cache_put(c, key, strlen(key), big, len, T0 + HOUR, T0 + 10),
				LF_OK);
		if (!get_equals(c, key, big, len, T0 + 10)) {
			CU_FAIL("fresh entry not readable");
			break;
		}
	}
	lf_cache_stats(c, &st);
	CU_ASSERT(st.evictions > 1000);
	CU_ASSERT_EQUAL(st.expired, 1);
	CU_ASSERT_EQUAL(st.wipes, 0);
	CU_ASSERT_EQUAL(st.slots_used + st.slots_free, st.slots_total);
	CU_ASSERT_TRUE(lf_cache_check(c));
}

/* A child takes a partition lock, garbles the partition and dies holding
 * it while the parent is blocked on the same lock. */
static void test_owner_died_wipes_partition(void)
{
	struct lf_cache *c = new_cache(4 << 20);
	struct lf_cache_stats st;
	char key[32], val[64];
	int victim, i, status = -1, fds[2], in_victim = 0;
	const char *vkey = "victim";
	pid_t pid;
	char b;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	for (i = 0; i < 400; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		snprintf(val, sizeof(val), "value-%d", i);
		CU_ASSERT_EQUAL(lf_cache_put(c, key, strlen(key), val, strlen(val), T0 + HOUR, T0),
				LF_OK);
	}
	CU_ASSERT_EQUAL(lf_cache_put(c, vkey, 6, "v", 1, T0 + HOUR, T0), LF_OK);
	victim = lf_cache_debug_partition_for_key(c, vkey, 6);
	CU_ASSERT_FATAL(pipe(fds) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		if (!lf_cache_debug_lock_partition_for_key(c, vkey, 6, true))
			_exit(2);
		if (write(fds[1], "x", 1) != 1)
			_exit(3);
		usleep(100 * 1000);
		_exit(0); /* dies holding the lock */
	}
	close(fds[1]);
	CU_ASSERT_EQUAL(read(fds[0], &b, 1), 1);
	close(fds[0]);
	/* blocks until the child dies, then must wipe and carry on */
	CU_ASSERT_TRUE(absent(c, vkey, T0));
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	lf_cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.wipes, 1);
	CU_ASSERT_TRUE(lf_cache_check(c));
	for (i = 0; i < 400; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		snprintf(val, sizeof(val), "value-%d", i);
		if (lf_cache_debug_partition_for_key(c, key, strlen(key)) == victim) {
			in_victim++;
			CU_ASSERT_TRUE(absent(c, key, T0));
		} else {
			CU_ASSERT_TRUE(get_equals(c, key, val, strlen(val), T0));
		}
	}
	CU_ASSERT(in_victim > 0 && in_victim < 400);
	/* the partition is usable again */
	CU_ASSERT_EQUAL(lf_cache_put(c, vkey, 6, "again", 5, T0 + HOUR, T0), LF_OK);
	CU_ASSERT_TRUE(get_equals(c, vkey, "again", 5, T0));

	/* a second death, with nobody waiting: the next locker repairs */
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0)
		_exit(lf_cache_debug_lock_partition_for_key(c, vkey, 6, false) ? 0 : 2);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT_EQUAL(lf_cache_put(c, vkey, 6, "third", 5, T0 + HOUR, T0), LF_OK);
	CU_ASSERT_TRUE(get_equals(c, vkey, "third", 5, T0));
	lf_cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.wipes, 2);
	CU_ASSERT_TRUE(lf_cache_check(c));
}

/* ---- multi-process stress ------------------------------------------ */

#define NPROC 4
#define NOPS 25000
#define NKEYS 6000

struct tally {
	uint64_t gets, hits, misses, puts_ok, puts_refused, deletes, bad;
};

static size_t fill_value(char *v, uint32_t id, uint8_t salt, size_t len)
{
	size_t i;

	memcpy(v, &id, 4);
	v[4] = (char)salt;
	for (i = 5; i < len; i++)
		v[i] = (char)(salt + i * 31 + id);
	return len;
}

static bool value_ok(const char *v, size_t len, uint32_t id)
{
	uint32_t got;
	size_t i;

	if (len < 8)
		return false;
	memcpy(&got, v, 4);
	if (got != id)
		return false;
	for (i = 5; i < len; i++)
		if (v[i] != (char)((uint8_t)v[4] + i * 31 + id))
			return false;
	return true;
}

static void stress_child(struct lf_cache *c, struct tally *t, uint64_t seed)
{
	static char val[LF_CACHE_MAX_VALUE + 16], out[LF_CACHE_MAX_VALUE];
	char key[48];
	int op;

	for (op = 0; op < NOPS; op++) {
		uint64_t r = rng_next(&seed);
		uint32_t id = (uint32_t)(r % NKEYS);
		unsigned kind = (unsigned)(r >> 32) % 100;
		int64_t now = now_ms();
		size_t klen, vlen, n;

		/* key lengths vary so that keys span chunks */
		klen = (size_t)snprintf(key, sizeof(key), "stress-%u-%.*s", id, (int)(id % 30),
					"abcdefghijklmnopqrstuvwxyz0123456789");
		if (kind < 45) {
			lf_rc res = lf_cache_get(c, key, klen, out, sizeof(out), &n, now);

			t->gets++;
			if (res == LF_OK) {
				t->hits++;
				if (!value_ok(out, n, id))
					t->bad++;
			} else if (res == LF_DECLINED) {
				t->misses++;
			} else {
				t->bad++;
			}
		} else if (kind < 90) {
			unsigned sz = (unsigned)(rng_next(&seed) % 1000);
			int64_t ttl = sz % 10 == 0 ? (int64_t)(sz % 7) + 1 : HOUR;

			if (sz < 3)
				vlen = LF_CACHE_MAX_VALUE + 1 + sz; /* refused */
			else if (sz < 23)
				vlen = 8 + rng_next(&seed) % 20000;
			else
				vlen = 8 + rng_next(&seed) % 3000;
			fill_value(val, id, (uint8_t)r, vlen);
			switch (lf_cache_put(c, key, klen, val, vlen, now + ttl, now)) {
			case LF_OK: t->puts_ok++; break;
			case LF_DECLINED: t->puts_refused++; break;
			default: t->bad++;
			}
		} else {
			lf_cache_delete(c, key, klen);
			t->deletes++;
		}
	}
}

static void test_multiprocess_stress(void)
{
	struct lf_cache *c = new_cache(4 << 20);
	char *tbase = lf_shm_create(SHM_HDR + sizeof(struct tally) * NPROC);
	struct tally *tallies = tbase ? (struct tally *)(tbase + SHM_HDR) : NULL;
	struct tally sum = {0};
	struct lf_cache_stats st;
	pid_t pids[NPROC];
	int i, status, done = 0;
	int64_t deadline = now_ms() + 120000;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tallies);
	for (i = 0; i < NPROC; i++) {
		pids[i] = fork();
		CU_ASSERT_FATAL(pids[i] >= 0);
		if (pids[i] == 0) {
			stress_child(c, &tallies[i],
				     UINT64_C(0x9E3779B97F4A7C15) * (uint64_t)(i + 1));
			_exit(tallies[i].bad == 0 ? 0 : 1);
		}
	}
	/* bounded wait: kill the children if they hang */
	while (done < NPROC && now_ms() < deadline) {
		for (i = 0; i < NPROC; i++) {
			if (pids[i] > 0 && waitpid(pids[i], &status, WNOHANG) == pids[i]) {
				CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
				pids[i] = 0;
				done++;
			}
		}
		usleep(10 * 1000);
	}
	for (i = 0; i < NPROC; i++) {
		if (pids[i] > 0) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], &status, 0);
		}
	}
	CU_ASSERT_EQUAL_FATAL(done, NPROC);

	for (i = 0; i < NPROC; i++) {
		sum.gets += tallies[i].gets;
		sum.hits += tallies[i].hits;
		sum.misses += tallies[i].misses;
		sum.puts_ok += tallies[i].puts_ok;
		sum.puts_refused += tallies[i].puts_refused;
		sum.deletes += tallies[i].deletes;
		sum.bad += tallies[i].bad;
	}
	printf("\n    stress: %llu gets (%llu hits), %llu puts (%llu refused), %llu deletes, "
	       "%llu bad\n",
	       (unsigned long long)sum.gets, (unsigned long long)sum.hits,
	       (unsigned long long)(sum.puts_ok + sum.puts_refused),
	       (unsigned long long)sum.puts_refused, (unsigned long long)sum.deletes,
	       (unsigned long long)sum.bad);
	CU_ASSERT_EQUAL(sum.bad, 0);
	CU_ASSERT_EQUAL(sum.gets + sum.puts_ok + sum.puts_refused + sum.deletes,
			(uint64_t)NPROC * NOPS);
	CU_ASSERT_TRUE(lf_cache_check(c));
	lf_cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.hits, sum.hits);
	CU_ASSERT_EQUAL(st.misses, sum.misses);
	CU_ASSERT_EQUAL(st.inserts, sum.puts_ok);
	CU_ASSERT_EQUAL(st.refused, sum.puts_refused);
	CU_ASSERT_EQUAL(st.wipes, 0);
	CU_ASSERT(sum.hits > 0 && sum.misses > 0 && sum.puts_refused > 0);
	CU_ASSERT(st.evictions > 0);
	CU_ASSERT(st.expired > 0);
	CU_ASSERT_EQUAL(st.slots_used + st.slots_free, st.slots_total);
	printf("    cache: %llu evictions, %llu expired, %llu/%llu slots used ",
	       (unsigned long long)st.evictions, (unsigned long long)st.expired,
	       (unsigned long long)st.slots_used, (unsigned long long)st.slots_total);
	lf_shm_destroy(tbase, SHM_HDR + sizeof(struct tally) * NPROC);
}

int main(void)
{
	CU_pSuite s;

	alarm(120); /* a hung lock kills the run instead of wedging it */
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("cache", NULL, suite_clean);
	if (s == NULL || !CU_add_test(s, "shm region and mutex", test_shm_region) ||
	    !CU_add_test(s, "init and attach", test_init_attach) ||
	    !CU_add_test(s, "put, get, delete", test_put_get_delete) ||
	    !CU_add_test(s, "replace", test_replace) ||
	    !CU_add_test(s, "expiry with injected clock", test_expiry) ||
	    !CU_add_test(s, "size limits", test_size_limits) ||
	    !CU_add_test(s, "CLOCK eviction", test_eviction) ||
	    !CU_add_test(s, "owner died: partition wiped", test_owner_died_wipes_partition) ||
	    !CU_add_test(s, "multi-process stress", test_multiprocess_stress)) {
		CU_cleanup_registry();
		return 1;
	}
	return lf_cunit_run();
}
