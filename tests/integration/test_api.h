/*
 * test_api.h - what the files of the test_api program share: the request
 * and check helpers of test_api.c, and the tests of test_api_accounts.c
 * and test_api_payments.c that its main() registers.
 */
#ifndef LF_TEST_API_H
#define LF_TEST_API_H

#include <stdbool.h>
#include <stddef.h>

#include <CUnit/Basic.h>

#include "harness.h"

/* tmpl with each @ replaced by a and each # by b; FT starts a payment */
#define FT "{\"fromAccountId\":\"@\",\"toAccountId\":\"#\""
#define PROBLEM(r, st, code) CU_ASSERT(problem_at(&(r), (st), (code), __LINE__))
/* one request into r_, its problem checked, r_ freed */
#define ONE_PROBLEM(call, st, code)                                 \
	do {                                                        \
		struct lf_h_resp r_;                                \
		(void)(call);                                       \
		CU_ASSERT(problem_at(&r_, (st), (code), __LINE__)); \
		lf_h_resp_free(&r_);                                \
	} while (0)
#define EXPECT_STATUS(r, st) CU_ASSERT(status_at(&(r), (st), __LINE__))

void next_key(char *buf, size_t len);
void next_uuid(char out[37]);
int http(const char *method, const char *path, const char *headers, const char *body,
	 struct lf_h_resp *r);
int pay_raw(const char *key, const char *body, struct lf_h_resp *r);
int pay(const char *key, const char *from, const char *to, const char *amount, struct lf_h_resp *r);
int post_ct(const char *path, const char *ctype, const char *headers, const char *body,
	    struct lf_h_resp *r);
void fill(char *out, size_t len, const char *tmpl, const char *a, const char *b);
bool header_is(const struct lf_h_resp *r, const char *name, const char *want);
bool str_is(const char *body, const char *name, const char *want);
bool is_uuid_lower(const char *s);
bool is_timestamp(const char *s);
bool member_ok(const char *body, const char *name, bool (*check)(const char *));
bool problem_at(const struct lf_h_resp *r, int status, const char *code, int line);
bool status_at(const struct lf_h_resp *r, int status, int line);
bool balance_is(const char *id, const char *want);
void account(const char *name, const char *cur, const char *initial, char id[37]);

/* test_api_accounts.c */
void test_account_create_and_get(void);
void test_account_initial_balances(void);
void test_account_with_id(void);
void test_account_invalid_request(void);
void test_account_invalid_amount_and_json(void);
void test_account_media_type(void);
void test_account_get_errors(void);
void test_account_idempotency(void);

/* test_api_payments.c */
void test_payment_created(void);
void test_payment_get_errors(void);
void test_insufficient_funds(void);
void test_payment_422s(void);
void test_payment_400s(void);
void test_idempotency_keys(void);
void test_idempotent_replay(void);
void test_400_then_fixed(void);
void test_protocol_errors(void);

#endif
