/*
 * lf_cunit.h - the shared tail of every CUnit test program's main(): run
 * the registered suites in verbose mode, turn the outcome into an exit
 * code and clean the registry up. Header-only; include it after the
 * tests' own headers and call lf_cunit_run() once the registry is filled.
 */
#ifndef LF_CUNIT_H
#define LF_CUNIT_H

#include <stdio.h>

#include <CUnit/Basic.h>

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

#endif
