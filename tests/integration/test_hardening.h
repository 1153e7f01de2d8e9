/*
 * test_hardening.h - what the parts of the test_hardening program share
 * (main and the helpers in test_hardening.c; the idempotency tiers there
 * too; the bounds — job queue, /readyz, ledger cursor, MySQL TLS — in
 * test_hardening_bounds.c).
 */
#ifndef LF_TEST_HARDENING_H
#define LF_TEST_HARDENING_H

#include <stdbool.h>
#include <stddef.h>

#include "harness.h"

#define M_REFUSED_REDIS "ledgerflow_idempotency_refused_total{tier=\"redis\"}"
#define M_REPAIRED "ledgerflow_idempotency_claims_repaired_total"
#define M_QUEUE_FULL "ledgerflow_db_queue_full_total"
#define M_READYZ_PINGS "ledgerflow_readyz_db_pings_total"

/* Two fresh USD accounts of the program's daemon (1000.00 each). */
bool hd_accounts(char from[37], char to[37]);
/* A metric of the program's daemon (-1 when it cannot be read). */
long long hd_metric(const char *series);
/* A key no test used before. */
void hd_key(char *buf, size_t len, const char *tag);

void test_queue_full_fast_503(void);
void test_readyz_burst(void);
void test_cursor_old_formula(void);
void test_mysql_tls_required(void);

#endif
