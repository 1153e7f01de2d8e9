/*
 * test_concurrency.h - what the files of the test_concurrency program
 * share: the payment client and balance of test_concurrency.c, and the
 * outage test of test_concurrency_outage.c that its main() registers.
 */
#ifndef LF_TEST_CONCURRENCY_H
#define LF_TEST_CONCURRENCY_H

#include <stdint.h>

#include "harness.h"

/* POST a payment on the thread's keep-alive connection (opened again when
 * needed). Returns the status; -2 when the request was sent and no complete
 * response came back; -1 when it could not be sent. */
int conn_pay(struct lf_h_conn *c, const char *key, const char *from, const char *to,
	     const char *amount, struct lf_h_resp *r);
/* GET /api/accounts/{id}: the balance in minor units, -1 on failure. */
int64_t balance_minor(const char *id);

/* test_concurrency_outage.c */
void test_mysql_outage(void);

#endif
