/*
 * test_idempotency.h - what the files of the test_idempotency program
 * share: its configuration, the run's key prefix, Redis control and the
 * helpers of test_idempotency.c, and the tests of
 * test_idempotency_replay.c and test_idempotency_redis.c that its main()
 * registers.
 */
#ifndef LF_TEST_IDEMPOTENCY_H
#define LF_TEST_IDEMPOTENCY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "harness.h"

#define EXTRA_CONF "[redis]\ntimeout = 200ms\nbreaker_cooldown = 2s\n"
#define REDIS_TIMEOUT_MS 200
#define M_SHM "ledgerflow_idempotency_lookups_total{result=\"hit\",tier=\"shm\"}"
#define M_REDIS "ledgerflow_idempotency_lookups_total{result=\"hit\",tier=\"redis\"}"
#define M_DB "ledgerflow_idempotency_lookups_total{result=\"hit\",tier=\"db\"}"
#define M_MISS "ledgerflow_idempotency_lookups_total{result=\"miss\",tier=\"none\"}"
#define M_IN_FLIGHT "ledgerflow_idempotency_in_flight_total"
#define M_UNPARSED "ledgerflow_idempotency_replays_unparsed_total"
#define M_BREAKER "ledgerflow_redis_breaker_opened_total"

extern char prefix[48]; /* of every Idempotency-Key of this run */
/* Redis as this program left it: 0 running, 1 stopped, 2 frozen */
extern volatile sig_atomic_t redis_state;
extern volatile pid_t frozen_pid;

/* A recorded answer: status, body bytes, Location and Content-Type. */
struct answer {
	int status;
	char *body;
	size_t len;
	char location[128], type[64];
};

struct tiers {
	long long shm, redis, db, miss;
};

int64_t now_us(void);
void next_key(char *buf, size_t len, const char *tag);
void body_of(char *buf, size_t len, const char *from, const char *to, const char *amount);
int post(struct lf_h_conn *c, const char *key, const char *body, struct lf_h_resp *r);
bool is_replay(const struct lf_h_resp *r);
bool has_code(const struct lf_h_resp *r, const char *code);
void answer_take(struct answer *a, struct lf_h_resp *r);
bool answer_same(const struct answer *a, const struct lf_h_resp *r);
bool replays(struct lf_h_conn *c, const char *key, const char *body, const struct answer *a);
long long metric(const char *series);
void tiers_now(struct tiers *t);
bool tiers_moved(const struct tiers *t0, long long shm, long long redis, long long db,
		 long long miss);
int64_t balance(const char *id);
bool accounts(char from[37], char to[37], const char *initial);
long long sql_count(const char *fmt, ...);
bool redis_do(int argc, const char *const *argv, char *type, char *buf, size_t len);
bool redis_has_outcome(const char *key);
bool wait_redis_outcome(const char *key, int timeout_ms);
bool redis_del(const char *key);
void redis_restore(void);
bool wait_redis_workers(int base, int timeout_ms);
bool wait_ready(int n, int timeout_ms);
bool restart(void);

/* test_idempotency_replay.c */
void test_replay_each_tier(void);
void test_concurrent_one_key(void);
void test_key_reused(void);
void test_400_not_stored_decline_stored(void);
void test_replay_unparsed(void);
void test_actions_replay_unparsed(void);

/* test_idempotency_redis.c */
void test_redis_stopped_under_load(void);
void test_redis_flushed(void);
void test_redis_frozen(void);
void test_replay_heavy(void);

#endif
