/*
 * test_zone.c - unit tests for the shared zone's hand-over (src/shm/zone.c,
 * src/shm/shm.c): the memfd behind a zone maps again in the same pages
 * (what a binary upgrade's new master does with the inherited fd), and a
 * zone whose size, header, layout record, rate-limit table, intents table
 * or cache header is not what this build lays out is refused with the
 * reason.
 */
#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "../lf_cunit.h"
#include "lf_cache.h"
#include "lf_intents.h"
#include "lf_shm.h"
#include "lf_zone.h"

#define CACHE (1u << 20)
#define NOW INT64_C(1700000000000)

static struct lf_zone *attach(const struct lf_zone *z, size_t cache_size, const char **why)
{
	int fd = dup(z->fd);
	struct lf_zone *a = lf_zone_attach(fd, cache_size, why);
	if (a == NULL)
		close(fd); /* still ours on failure */
	return a;
}

static void test_attach_shares_pages(void)
{
	struct lf_zone *z = lf_zone_create(CACHE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	CU_ASSERT(z->fd >= 0);
	CU_ASSERT(fcntl(z->fd, F_GETFD) & FD_CLOEXEC); /* cleared only for the new binary */
	CU_ASSERT_EQUAL(lf_cache_put(z->cache, "k", 1, "v1", 2, NOW + 1000, NOW), LF_OK);
	lf_metrics_inc(&z->metrics->reloads);
	lf_uuid acct = {.b = {0xb0, 1}};
	struct lf_intent in = {.seq = 9, .balance = 900, .held = 0};
	lf_intents_publish(z->intents, &acct, &in, 1, 1000);
	const char *why = NULL;
	struct lf_zone *a = attach(z, CACHE, &why);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NULL(why);
	CU_ASSERT(a->base != z->base); /* a second mapping of the same pages */
	char buf[16];
	size_t n = 0;
	CU_ASSERT_EQUAL(lf_cache_get(a->cache, "k", 1, buf, sizeof buf, &n, NOW), LF_OK);
	CU_ASSERT(n == 2 && memcmp(buf, "v1", 2) == 0);
	CU_ASSERT_EQUAL(a->metrics->reloads, 1);
	struct lf_intent got;
	CU_ASSERT_TRUE(lf_intents_find(a->intents, &acct, 8, 1001, &got, NULL));
	CU_ASSERT_EQUAL(got.balance, 900);
	/* and the other way round */
	CU_ASSERT_EQUAL(lf_cache_put(a->cache, "k2", 2, "v2", 2, NOW + 1000, NOW), LF_OK);
	CU_ASSERT_EQUAL(lf_cache_get(z->cache, "k2", 2, buf, sizeof buf, &n, NOW), LF_OK);
	CU_ASSERT(lf_cache_check(z->cache));
	lf_zone_destroy(a);
	lf_zone_destroy(z);
}

/* Change one 64-bit word of the zone at off, try to attach, put it back. */
static const char *attach_tampered(struct lf_zone *z, size_t off)
{
	uint64_t *w = (uint64_t *)((char *)z->base + off), saved = *w;
	*w ^= 0x5a5a;
	const char *why = NULL;
	struct lf_zone *a = attach(z, CACHE, &why);
	*w = saved;
	if (a != NULL) {
		lf_zone_destroy(a);
		return "attached";
	}
	return why ? why : "no reason";
}

static void test_attach_refuses_other_layouts(void)
{
	struct lf_zone *z = lf_zone_create(CACHE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	const char *why = NULL;
	CU_ASSERT_PTR_NULL(attach(z, 2 * CACHE, &why)); /* another [cache] size */
	CU_ASSERT_STRING_EQUAL(why, "size differs");
	CU_ASSERT_STRING_EQUAL(attach_tampered(z, 0), /* the region's magic */
			       "header magic, layout version or size differs");
	CU_ASSERT_STRING_EQUAL(attach_tampered(z, 8), /* its layout version */
			       "header magic, layout version or size differs");
	CU_ASSERT_STRING_EQUAL(attach_tampered(z, 64 + 16), /* the record: metrics size */
			       "zone layout differs");
	CU_ASSERT_STRING_EQUAL(attach_tampered(z, 8192), /* the rate-limit table's magic */
			       "rate-limit table layout differs");
	size_t intents_off = (size_t)((char *)z->intents - (char *)z->base);
	CU_ASSERT_STRING_EQUAL(attach_tampered(z, intents_off), "intents table layout differs");
	size_t cache_off = (size_t)((char *)z->cache - (char *)z->base);
	CU_ASSERT_STRING_EQUAL(attach_tampered(z, cache_off), "cache layout differs");
	/* untouched, it attaches */
	struct lf_zone *a = attach(z, CACHE, &why);
	CU_ASSERT_PTR_NOT_NULL(a);
	lf_zone_destroy(a);
	/* an fd that is no memfd */
	int p[2];
	CU_ASSERT_FATAL(pipe(p) == 0);
	CU_ASSERT_PTR_NULL(lf_zone_attach(p[0], CACHE, &why));
	CU_ASSERT_STRING_EQUAL(why, "not a shared memory file");
	close(p[0]);
	close(p[1]);
	lf_zone_destroy(z);
}

int main(void)
{
	static const struct lf_test tests[] = {
		{"an inherited memfd maps the same zone", test_attach_shares_pages},
		{"another size or layout is refused, with the reason",
		 test_attach_refuses_other_layouts},
	};
	static const struct lf_suite suites[] = {{"zone", LF_TESTS(tests)}};
	return lf_cunit_main(suites, LF_COUNT(suites));
}
