/*
 * test_uuid.c - unit tests for src/core/uuid.c: canonical parsing (either
 * case) and its rejections, lower-case formatting, and UUIDv7 layout,
 * timestamps and strict ordering, also across threads, and fresh random
 * bits in a forked child.
 */
#include "config.h"

#include "lf_uuid.h"

#include <CUnit/Basic.h>
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../lf_cunit.h"

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t v7_ms(const lf_uuid *id)
{
	uint64_t ms = 0;

	for (int i = 0; i < 6; i++)
		ms = ms << 8 | id->b[i];
	return ms;
}

static bool parse_str(const char *s, lf_uuid *out)
{
	return lf_uuid_parse(s, strlen(s), out);
}

static void test_parse_valid(void)
{
	static const uint8_t want[16] = {
		0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
		0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
	};
	static const char *const forms[] = {
		"01234567-89ab-cdef-fedc-ba9876543210",
		"01234567-89AB-CDEF-FEDC-BA9876543210",
		"01234567-89aB-CdEf-FeDc-bA9876543210",
	};
	char text[LF_UUID_STR_LEN + 1];
	lf_uuid id;

	for (size_t i = 0; i < 3; i++) {
		memset(&id, 0, sizeof(id));
		CU_ASSERT_TRUE(parse_str(forms[i], &id));
		CU_ASSERT_EQUAL(memcmp(id.b, want, 16), 0);
		lf_uuid_format(&id, text);
		CU_ASSERT_STRING_EQUAL(text, forms[0]);
	}
	CU_ASSERT_TRUE(parse_str("00000000-0000-0000-0000-000000000000", &id));
	lf_uuid_format(&id, text);
	CU_ASSERT_STRING_EQUAL(text, "00000000-0000-0000-0000-000000000000");
	CU_ASSERT_TRUE(parse_str("FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", &id));
	lf_uuid_format(&id, text);
	CU_ASSERT_STRING_EQUAL(text, "ffffffff-ffff-ffff-ffff-ffffffffffff");
	CU_ASSERT_TRUE(parse_str("11111111-1111-1111-1111-111111111111", &id));
	for (int i = 0; i < 16; i++)
		CU_ASSERT_EQUAL(id.b[i], 0x11);
	/* only len bytes are read */
	CU_ASSERT_TRUE(
		lf_uuid_parse("22222222-2222-2222-2222-222222222222xyz", LF_UUID_STR_LEN, &id));
	CU_ASSERT_EQUAL(id.b[15], 0x22);
}

static void test_parse_invalid(void)
{
	static const char *const bad[] = {
		"",
		"0",
		"01234567-89ab-cdef-fedc-ba987654321",    /* 35 */
		"01234567-89ab-cdef-fedc-ba98765432100",  /* 37 */
		"0123456789abcdeffedcba9876543210",       /* no dashes */
		"{01234567-89ab-cdef-fedc-ba9876543210}", /* braces */
		"{01234567-89ab-cdef-fedc-ba98765432}",   /* braces, 36 */
		"(01234567-89ab-cdef-fedc-ba98765432)",
		"urn:uuid:01234567-89ab-cdef-fedc-ba9876543210",
		"0123456-789ab-cdef-fedc-ba9876543210", /* dash moved left */
		"012345678-9ab-cdef-fedc-ba9876543210", /* dash moved right */
		"01234567-89abc-def-fedc-ba9876543210",
		"01234567-89ab-cdef0-edc-ba9876543210",
		"01234567-89ab-cdef-fedcb-a9876543210",
		"01234567089ab-cdef-fedc-ba9876543210", /* dash -> digit */
		"01234567-89ab0cdef-fedc-ba9876543210",
		"01234567-89ab-cdef0fedc-ba9876543210",
		"01234567-89ab-cdef-fedc0ba9876543210",
		"-01234567-89ab-cdef-fedc-ba987654321",
		"01234567-89ab-cdef-fedc-ba987654321-",
		"01234567--9ab-cdef-fedc-ba9876543210",
		"------------------------------------",
		"g1234567-89ab-cdef-fedc-ba9876543210", /* non-hex */
		"01234567-89ab-cdef-fedc-ba987654321g",
		"01234567-89ab-cdef-fedc-ba987654321G",
		"01234567-89ab-cdxf-fedc-ba9876543210",
		"0123456 -89ab-cdef-fedc-ba9876543210", /* space */
		" 1234567-89ab-cdef-fedc-ba9876543210",
		"01234567-89ab-cdef-fedc-ba987654321 ",
		"+1234567-89ab-cdef-fedc-ba9876543210",
		"0x234567-89ab-cdef-fedc-ba9876543210",
		"01234567_89ab_cdef_fedc_ba9876543210",
		"01234567:89ab:cdef:fedc:ba9876543210",
		"01234567-89ab-cdef-fedc-ba98765432\xc3\xa9", /* 36 bytes, non-ASCII */
	};
	lf_uuid id;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&id, 0xA5, sizeof(id));
		if (parse_str(bad[i], &id))
			fprintf(stderr, "\n  accepted \"%s\"\n", bad[i]);
		CU_ASSERT_FALSE(parse_str(bad[i], &id));
		/* nothing written on failure */
		for (int k = 0; k < 16; k++)
			CU_ASSERT_EQUAL(id.b[k], 0xA5);
	}
	/* an embedded NUL within the 36 bytes */
	CU_ASSERT_FALSE(lf_uuid_parse("01234567-89ab-cdef-fedc-ba98765432\0"
				      "0",
				      LF_UUID_STR_LEN, &id));
	/* a good string with a wrong length */
	CU_ASSERT_FALSE(lf_uuid_parse("01234567-89ab-cdef-fedc-ba9876543210", 35, &id));
	CU_ASSERT_FALSE(lf_uuid_parse("01234567-89ab-cdef-fedc-ba9876543210", 0, &id));
	CU_ASSERT_FALSE(lf_uuid_parse(NULL, LF_UUID_STR_LEN, &id));
}

static void test_format_round_trip(void)
{
	char text[LF_UUID_STR_LEN + 1], upper[LF_UUID_STR_LEN + 1];
	lf_uuid a, b;

	for (int i = 0; i < 1000; i++) {
		lf_uuid_v7_at((uint64_t)i * 7919u, &a);
		a.b[15] ^= (uint8_t)i;
		lf_uuid_format(&a, text);
		CU_ASSERT_EQUAL(strlen(text), LF_UUID_STR_LEN);
		CU_ASSERT_TRUE(text[8] == '-' && text[13] == '-' && text[18] == '-' &&
			       text[23] == '-');
		for (int k = 0; k < LF_UUID_STR_LEN; k++) {
			if (k == 8 || k == 13 || k == 18 || k == 23)
				continue;
			CU_ASSERT_TRUE(isxdigit((unsigned char)text[k]) &&
				       !isupper((unsigned char)text[k]));
		}
		CU_ASSERT_TRUE(lf_uuid_parse(text, LF_UUID_STR_LEN, &b));
		CU_ASSERT_EQUAL(lf_uuid_compare(&a, &b), 0);
		for (int k = 0; k <= LF_UUID_STR_LEN; k++)
			upper[k] = (char)toupper((unsigned char)text[k]);
		CU_ASSERT_TRUE(lf_uuid_parse(upper, LF_UUID_STR_LEN, &b));
		CU_ASSERT_EQUAL(lf_uuid_compare(&a, &b), 0);
	}
}

static void test_compare(void)
{
	lf_uuid a, b;

	CU_ASSERT_TRUE(parse_str("00000000-0000-0000-0000-000000000001", &a));
	CU_ASSERT_TRUE(parse_str("00000000-0000-0000-0000-000000000002", &b));
	CU_ASSERT_EQUAL(lf_uuid_compare(&a, &b), -1);
	CU_ASSERT_EQUAL(lf_uuid_compare(&b, &a), 1);
	CU_ASSERT_EQUAL(lf_uuid_compare(&a, &a), 0);
	CU_ASSERT_TRUE(parse_str("ff000000-0000-0000-0000-000000000000", &b));
	CU_ASSERT_EQUAL(lf_uuid_compare(&a, &b), -1);
	CU_ASSERT_EQUAL(lf_uuid_compare(&b, &a), 1);
}

static void check_v7_bits(const lf_uuid *id)
{
	CU_ASSERT_EQUAL(id->b[6] >> 4, 7); /* version */
	CU_ASSERT_EQUAL(id->b[8] >> 6, 2); /* variant 10 */
}

static void test_v7_at(void)
{
	static const uint64_t stamps[] = {
		0,
		1,
		255,
		256,
		UINT64_C(1767225600123),
		UINT64_C(2147483648000),
		UINT64_C(0xFFFFFFFFFFFF),
	};
	char text[LF_UUID_STR_LEN + 1];
	lf_uuid a, b;

	for (size_t i = 0; i < sizeof(stamps) / sizeof(stamps[0]); i++) {
		lf_uuid_v7_at(stamps[i], &a);
		check_v7_bits(&a);
		CU_ASSERT_EQUAL(v7_ms(&a), stamps[i]);
		lf_uuid_format(&a, text);
		CU_ASSERT_EQUAL(text[14], '7');
		CU_ASSERT_TRUE(strchr("89ab", text[19]) != NULL);
	}
	/* known layout: 2026-01-01T00:00:00.123Z = 0x019b76daa87b ms */
	lf_uuid_v7_at(UINT64_C(1767225600123), &a);
	lf_uuid_format(&a, text);
	CU_ASSERT_NSTRING_EQUAL(text, "019b76da-a87b-7", 15);
	/* random parts differ for the same millisecond */
	lf_uuid_v7_at(42, &b);
	lf_uuid_v7_at(42, &a);
	CU_ASSERT_NOT_EQUAL(lf_uuid_compare(&a, &b), 0);
}

enum { NSEQ = 10000 };

static void test_v7_monotonic(void)
{
	static lf_uuid ids[NSEQ];
	static char texts[NSEQ][LF_UUID_STR_LEN + 1];
	uint64_t before = wall_ms(), after;
	int bad_order = 0, bad_text = 0, bad_bits = 0, bad_time = 0;

	for (int i = 0; i < NSEQ; i++) {
		lf_uuid_v7(&ids[i]);
		lf_uuid_format(&ids[i], texts[i]);
	}
	after = wall_ms();
	for (int i = 0; i < NSEQ; i++) {
		uint64_t ms = v7_ms(&ids[i]);

		if (ids[i].b[6] >> 4 != 7 || ids[i].b[8] >> 6 != 2)
			bad_bits++;
		/* the counter may borrow a few ms ahead under a burst */
		if (ms < before || ms > after + 10)
			bad_time++;
		if (i > 0 && lf_uuid_compare(&ids[i - 1], &ids[i]) >= 0)
			bad_order++;
		if (i > 0 && strcmp(texts[i - 1], texts[i]) >= 0)
			bad_text++;
	}
	CU_ASSERT_EQUAL(bad_bits, 0);
	CU_ASSERT_EQUAL(bad_time, 0);
	CU_ASSERT_EQUAL(bad_order, 0);
	CU_ASSERT_EQUAL(bad_text, 0);
	/* a later id is still later after a pause */
	{
		struct timespec pause = {0, 2000000};
		lf_uuid later;

		nanosleep(&pause, NULL);
		lf_uuid_v7(&later);
		CU_ASSERT_EQUAL(lf_uuid_compare(&ids[NSEQ - 1], &later), -1);
		CU_ASSERT_TRUE(v7_ms(&later) >= after);
	}
}

enum { NTHREADS = 4, PER_THREAD = 5000 };

struct thread_arg {
	lf_uuid ids[PER_THREAD];
	int bad_order;
};

static void *thread_main(void *p)
{
	struct thread_arg *a = p;

	for (int i = 0; i < PER_THREAD; i++) {
		lf_uuid_v7(&a->ids[i]);
		if (i > 0 && lf_uuid_compare(&a->ids[i - 1], &a->ids[i]) >= 0)
			a->bad_order++;
	}
	return NULL;
}

static int cmp_uuid(const void *a, const void *b)
{
	return lf_uuid_compare(a, b);
}

static void test_v7_threads(void)
{
	static struct thread_arg args[NTHREADS];
	static lf_uuid all[NTHREADS * PER_THREAD];
	pthread_t th[NTHREADS];
	int dups = 0;

	for (int i = 0; i < NTHREADS; i++) {
		args[i].bad_order = 0;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, thread_main, &args[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < NTHREADS; i++) {
		CU_ASSERT_EQUAL(args[i].bad_order, 0);
		memcpy(&all[i * PER_THREAD], args[i].ids, sizeof(args[i].ids));
	}
	qsort(all, NTHREADS * PER_THREAD, sizeof(all[0]), cmp_uuid);
	for (int i = 1; i < NTHREADS * PER_THREAD; i++)
		if (lf_uuid_compare(&all[i - 1], &all[i]) == 0)
			dups++;
	CU_ASSERT_EQUAL(dups, 0);
	/* (timestamp, counter) alone is unique across threads */
	for (int i = 1; i < NTHREADS * PER_THREAD; i++)
		if (memcmp(all[i - 1].b, all[i].b, 8) == 0)
			dups++;
	CU_ASSERT_EQUAL(dups, 0);
}

/* Random bits are buffered per thread: a forked child (a worker) must
 * not hand out the bytes its parent buffered, or two workers would make
 * ids with the same random bits. Parent and child each make ids after the
 * fork; no random part (the last 8 bytes) may repeat between them. */
#define FORK_IDS 64
static void test_v7_fork_fresh_random(void)
{
	lf_uuid first, mine[FORK_IDS], theirs[FORK_IDS];
	lf_uuid_v7(&first); /* the parent's buffer is now filled */
	int fds[2];
	CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		for (int i = 0; i < FORK_IDS; i++)
			lf_uuid_v7(&theirs[i]);
		ssize_t w = write(fds[1], theirs, sizeof theirs);
		_exit(w == (ssize_t)sizeof theirs ? 0 : 1);
	}
	for (int i = 0; i < FORK_IDS; i++)
		lf_uuid_v7(&mine[i]);
	size_t got = 0;
	while (got < sizeof theirs) {
		ssize_t r = read(fds[0], (char *)theirs + got, sizeof theirs - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	int status = 0;
	waitpid(pid, &status, 0);
	close(fds[0]);
	close(fds[1]);
	CU_ASSERT_EQUAL_FATAL(got, sizeof theirs);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	int same = 0;
	for (int i = 0; i < FORK_IDS; i++)
		for (int j = 0; j < FORK_IDS; j++)
			if (memcmp(mine[i].b + 8, theirs[j].b + 8, 8) == 0)
				same++;
	CU_ASSERT_EQUAL(same, 0);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("uuid", NULL, NULL);
	if (s == NULL || CU_add_test(s, "parse valid", test_parse_valid) == NULL ||
	    CU_add_test(s, "parse invalid", test_parse_invalid) == NULL ||
	    CU_add_test(s, "format round trip", test_format_round_trip) == NULL ||
	    CU_add_test(s, "compare", test_compare) == NULL ||
	    CU_add_test(s, "v7 explicit time", test_v7_at) == NULL ||
	    CU_add_test(s, "v7 monotonic", test_v7_monotonic) == NULL ||
	    CU_add_test(s, "v7 threads", test_v7_threads) == NULL ||
	    CU_add_test(s, "v7 after fork: fresh random bits", test_v7_fork_fresh_random) == NULL) {
		CU_cleanup_registry();
		return 1;
	}
	return lf_cunit_run();
}
