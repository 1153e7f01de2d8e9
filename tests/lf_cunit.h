/*
 * lf_cunit.h - the one way every CUnit test program registers and runs its
 * tests: a table of suites, each a name, a table of {name, fn} tests and
 * optional CUnit hooks, handed to lf_cunit_main() (unit tests) or to a
 * fixture that calls it (tests/integration/harness.h, store_fixture.h).
 * Runs in verbose mode and turns the outcome into the exit code.
 * Header-only; include it after the tests' own headers.
 */
#ifndef LF_CUNIT_H
#define LF_CUNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <CUnit/Basic.h>

struct lf_test {
	const char *name;
	CU_TestFunc fn;
};

struct lf_suite {
	const char *name;
	const struct lf_test *tests;
	size_t n;
	CU_InitializeFunc init;     /* before the suite's first test (non-zero: its tests fail) */
	CU_CleanupFunc cleanup;     /* after its last test (non-zero counts as a failure) */
	CU_SetUpFunc before_each;   /* before every test of the suite */
	CU_TearDownFunc after_each; /* after every test, also one a fatal assertion ended */
};

/* The elements of a static array; a suite's tests from one:
 * {"money", LF_TESTS(money_tests)}, or with hooks
 * {"cache", LF_TESTS(cache_tests), .cleanup = suite_clean}. */
#define LF_COUNT(a) (sizeof(a) / sizeof(a)[0])
#define LF_TESTS(a) .tests = (a), .n = LF_COUNT(a)

/* Run every registered suite (CU_BRM_VERBOSE), then clean the registry
 * up. Returns 1 when the run could not be done, or when any assertion or
 * test failed, or any suite's init or cleanup function failed (its tests
 * never ran: that must not pass as "no failures"); 0 otherwise. */
static inline int lf_cunit_run(void)
{
	CU_ErrorCode rc;
	unsigned failed;

	CU_basic_set_mode(CU_BRM_VERBOSE);
	rc = CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
		 CU_get_number_of_suites_failed();
	if (rc != CUE_SUCCESS)
		fprintf(stderr, "CUnit: the run reported an error: %s\n", CU_get_error_msg());
	CU_cleanup_registry();
	return rc != CUE_SUCCESS || failed > 0 ? 1 : 0;
}

/* Register the n suites of the table and run them (lf_cunit_run). Returns
 * the process exit code: 0 all passed, 1 a failure or a registry that
 * could not be filled. */
static inline int lf_cunit_main(const struct lf_suite *suites, size_t n)
{
	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct lf_suite *s = &suites[i];
		CU_pSuite cs = CU_add_suite_with_setup_and_teardown(s->name, s->init, s->cleanup,
								    s->before_each, s->after_each);
		bool ok = cs != NULL;
		for (size_t j = 0; ok && j < s->n; j++)
			ok = CU_add_test(cs, s->tests[j].name, s->tests[j].fn) != NULL;
		if (!ok) {
			fprintf(stderr, "CUnit: cannot register suite %s: %s\n", s->name,
				CU_get_error_msg());
			CU_cleanup_registry();
			return 1;
		}
	}
	return lf_cunit_run();
}

#endif
