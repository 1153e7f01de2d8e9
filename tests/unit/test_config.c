/*
 * test_config.c - unit tests for src/core/config.c: every key from a file and
 * from the environment, precedence, defaults, rejection of bad values
 * with the key and source named, unknown keys and sections, secrets kept
 * out of messages, and unreloadable keys. The key table and the value
 * parsers are in test_config_parse.c.
 */
#define _GNU_SOURCE
#include "config.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "lf_config.h"
#include "lf_risk.h"
#include "../lf_cunit.h"

#ifndef LF_DEFAULT_SQL_DIR
#define LF_DEFAULT_SQL_DIR "/usr/share/ledgerflow/sql"
#endif

#define SECRET "Sup3rS3cr3t-pw"

static char tmpdir[64];
static unsigned nfiles;

/* ---- helpers ---- */

/* LEDGERFLOW_<SECTION>_<KEY>, computed here independently of config.c */
static void env_name_of(const char *dotted, char *buf, size_t len)
{
	size_t o = (size_t)snprintf(buf, len, "LEDGERFLOW_%s", dotted);
	for (size_t i = 0; i < o && i < len; i++)
		buf[i] = buf[i] == '.' ? '_' : (char)toupper((unsigned char)buf[i]);
}

static void clear_env(void)
{
	char key[128], env[160];
	for (size_t i = 0; i < lf_config_key_count(); i++) {
		if (lf_config_key_name(i, key, sizeof(key))) {
			env_name_of(key, env, sizeof(env));
			unsetenv(env);
		}
	}
}

/* Write text to a new file in tmpdir; returns a static path. */
static const char *write_conf(const char *text)
{
	static char path[128];
	FILE *f;
	snprintf(path, sizeof(path), "%s/c%u.conf", tmpdir, nfiles++);
	f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs(text, f);
	fclose(f);
	return path;
}

/* Load path (may be NULL); *errs gets the error text (caller frees). */
static bool load(struct lf_config *cfg, const char *path, char **errs)
{
	size_t len = 0;
	FILE *f;
	bool ok;
	*errs = NULL;
	f = open_memstream(errs, &len);
	CU_ASSERT_FATAL(f != NULL);
	ok = lf_config_load(cfg, path, f);
	fclose(f);
	return ok;
}

static unsigned count_lines(const char *s)
{
	unsigned n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ---- one non-default value for every key ---- */

enum kind { V_STR, V_UINT, V_INT, V_SIZE, V_MS, V_BOOL };

struct kcase {
	const char *key;  /* section.key */
	const char *text; /* as written in the file or the environment */
	enum kind kind;
	size_t off;
	const char *s; /* expected string */
	int64_t n;     /* expected number */
};

#define O(f) offsetof(struct lf_config, f)
/* clang-format off */
static const struct kcase cases[] = {
	{"server.listen", "0.0.0.0:9090", V_STR, O(listen), "0.0.0.0:9090", 0},
	{"server.workers", "3", V_INT, O(workers), NULL, 3},
	{"server.max_body_size", "128K", V_SIZE, O(max_body_size), NULL, 131072},
	{"server.max_header_size", "8K", V_SIZE, O(max_header_size), NULL, 8192},
	{"server.pid_file", "/tmp/lf-test.pid", V_STR, O(pid_file), "/tmp/lf-test.pid", 0},
	{"server.shutdown_timeout", "45s", V_MS, O(shutdown_timeout_ms), NULL, 45000},
	{"server.request_timeout", "2500ms", V_MS, O(request_timeout_ms), NULL, 2500},
	{"server.keepalive_timeout", "2m", V_MS, O(keepalive_timeout_ms), NULL, 120000},
	{"server.header_timeout", "3s", V_MS, O(header_timeout_ms), NULL, 3000},
	{"server.body_timeout", "45s", V_MS, O(body_timeout_ms), NULL, 45000},
	{"server.max_connections", "2048", V_INT, O(max_connections), NULL, 2048},
	{"server.metrics_listen", "127.0.0.1:9100", V_STR, O(metrics_listen), "127.0.0.1:9100", 0},
	{"server.backlog", "1024", V_INT, O(backlog), NULL, 1024},
	{"server.log_level", "debug", V_STR, O(log_level), "debug", 0},
	{"server.log_file", "/tmp/lf-test.log", V_STR, O(log_file), "/tmp/lf-test.log", 0},
	{"server.access_log", "off", V_BOOL, O(access_log), NULL, 0},
	{"server.secret_permissions", "refuse", V_STR, O(secret_permissions), "refuse", 0},
	{"mysql.host", "db.example.internal", V_STR, O(mysql_host), "db.example.internal", 0},
	{"mysql.port", "3307", V_UINT, O(mysql_port), NULL, 3307},
	{"mysql.user", "lfuser", V_STR, O(mysql_user), "lfuser", 0},
	{"mysql.password", "pw-123", V_STR, O(mysql_password), "pw-123", 0},
	{"mysql.password_file", "/tmp/lf-mpw", V_STR, O(mysql_password_file), "/tmp/lf-mpw", 0},
	{"mysql.admin_user", "lfadmin", V_STR, O(mysql_admin_user), "lfadmin", 0},
	{"mysql.admin_password", "apw-9", V_STR, O(mysql_admin_password), "apw-9", 0},
	{"mysql.admin_password_file", "/tmp/lf-apw", V_STR, O(mysql_admin_password_file), "/tmp/lf-apw", 0},
	{"mysql.database", "lfdb", V_STR, O(mysql_database), "lfdb", 0},
	{"mysql.socket", "/run/mysqld/mysqld.sock", V_STR, O(mysql_socket), "/run/mysqld/mysqld.sock", 0},
	{"mysql.pool_size", "16", V_INT, O(pool_size), NULL, 16},
	{"mysql.request_timeout", "7s", V_MS, O(mysql_request_timeout_ms), NULL, 7000},
	{"mysql.connect_timeout", "1500ms", V_MS, O(mysql_connect_timeout_ms), NULL, 1500},
	{"mysql.lock_wait_timeout", "3", V_MS, O(mysql_lock_wait_timeout_ms), NULL, 3000},
	{"mysql.max_retries", "0", V_INT, O(mysql_max_retries), NULL, 0},
	{"mysql.max_queue", "64", V_INT, O(mysql_max_queue), NULL, 64},
	{"mysql.ssl_mode", "verify_identity", V_STR, O(mysql_ssl_mode), "verify_identity", 0},
	{"mysql.ssl_ca", "/tmp/lf-ca.pem", V_STR, O(mysql_ssl_ca), "/tmp/lf-ca.pem", 0},
	{"mysql.ssl_cert", "/tmp/lf-cert.pem", V_STR, O(mysql_ssl_cert), "/tmp/lf-cert.pem", 0},
	{"mysql.ssl_key", "/tmp/lf-key.pem", V_STR, O(mysql_ssl_key), "/tmp/lf-key.pem", 0},
	{"redis.host", "cache.example.internal", V_STR, O(redis_host), "cache.example.internal", 0},
	{"redis.port", "6380", V_UINT, O(redis_port), NULL, 6380},
	{"redis.user", "lf-acl", V_STR, O(redis_user), "lf-acl", 0},
	{"redis.password", "rpw", V_STR, O(redis_password), "rpw", 0},
	{"redis.password_file", "/tmp/lf-rpw", V_STR, O(redis_password_file), "/tmp/lf-rpw", 0},
	{"redis.db", "3", V_INT, O(redis_db), NULL, 3},
	{"redis.timeout", "50ms", V_MS, O(redis_timeout_ms), NULL, 50},
	{"redis.breaker_cooldown", "1m", V_MS, O(redis_breaker_cooldown_ms), NULL, 60000},
	{"redis.tls", "on", V_BOOL, O(redis_tls), NULL, 1},
	{"redis.sentinels", "10.0.0.1:26379,10.0.0.2:26379", V_STR, O(redis_sentinels), "10.0.0.1:26379,10.0.0.2:26379", 0},
	{"redis.master_name", "lfmaster", V_STR, O(redis_master_name), "lfmaster", 0},
	{"mysql.batch_max", "1", V_INT, O(mysql_batch_max), NULL, 1},
	{"mysql.failback_interval", "5s", V_MS, O(mysql_failback_interval_ms), NULL, 5000},
	{"tracing.endpoint", "http://127.0.0.1:4318/v1/traces", V_STR, O(tracing_endpoint), "http://127.0.0.1:4318/v1/traces", 0},
	{"tracing.sample_percent", "100", V_INT, O(tracing_sample_percent), NULL, 100},
	{"tracing.flush_interval", "250ms", V_MS, O(tracing_flush_interval_ms), NULL, 250},
	{"tracing.max_queue", "64", V_INT, O(tracing_max_queue), NULL, 64},
	{"tracing.timeout", "5s", V_MS, O(tracing_timeout_ms), NULL, 5000},
	{"tracing.service_name", "ledgerflow-eu", V_STR, O(tracing_service_name), "ledgerflow-eu", 0},
	{"mysql.batch_window_us", "0", V_INT, O(mysql_batch_window_us), NULL, 0},
	{"mysql.batch_concurrency", "3", V_INT, O(mysql_batch_concurrency), NULL, 3},
	{"mysql.loop_reads", "off", V_BOOL, O(mysql_loop_reads), NULL, 0},
	{"redis.tls_ca", "/tmp/lf-redis-ca.pem", V_STR, O(redis_tls_ca), "/tmp/lf-redis-ca.pem", 0},
	{"redis.tls_cert", "/tmp/lf-redis-cert.pem", V_STR, O(redis_tls_cert), "/tmp/lf-redis-cert.pem", 0},
	{"redis.tls_key", "/tmp/lf-redis-key.pem", V_STR, O(redis_tls_key), "/tmp/lf-redis-key.pem", 0},
	{"redis.tls_server_name", "redis.example.internal", V_STR, O(redis_tls_server_name), "redis.example.internal", 0},
	{"mysql_replica.host", "10.0.0.9:3307,10.0.0.10", V_STR, O(replica_host), "10.0.0.9:3307,10.0.0.10", 0},
	{"mysql_replica.port", "3310", V_UINT, O(replica_port), NULL, 3310},
	{"mysql_replica.user", "lf_ro", V_STR, O(replica_user), "lf_ro", 0},
	{"mysql_replica.password", "ropw", V_STR, O(replica_password), "ropw", 0},
	{"mysql_replica.password_file", "/tmp/lf-ropw", V_STR, O(replica_password_file), "/tmp/lf-ropw", 0},
	{"mysql_replica.database", "lfro", V_STR, O(replica_database), "lfro", 0},
	{"mysql_replica.socket", "/run/mysqld/replica.sock", V_STR, O(replica_socket), "/run/mysqld/replica.sock", 0},
	{"mysql_replica.pool_size", "2", V_INT, O(replica_pool_size), NULL, 2},
	{"mysql_replica.connect_timeout", "3s", V_MS, O(replica_connect_timeout_ms), NULL, 3000},
	{"mysql_replica.request_timeout", "2s", V_MS, O(replica_request_timeout_ms), NULL, 2000},
	{"mysql_replica.max_lag", "500ms", V_MS, O(replica_max_lag_ms), NULL, 500},
	{"cache.size", "1G", V_SIZE, O(cache_size), NULL, 1073741824},
	{"idempotency.retention", "2s", V_MS, O(idempotency_retention_ms), NULL, 2000},
	{"idempotency.reap_interval", "1h", V_MS, O(idempotency_reap_interval_ms), NULL, 3600000},
	{"payments.hold_timeout", "2d", V_MS, O(payments_hold_timeout_ms), NULL, 172800000},
	{"payments.expire_interval", "250ms", V_MS, O(payments_expire_interval_ms), NULL, 250},
	{"auth.enabled", "no", V_BOOL, O(auth_enabled), NULL, 0},
	{"auth.ops_public", "false", V_BOOL, O(auth_ops_public), NULL, 0},
	{"auth.pepper_file", "/tmp/lf-pepper", V_STR, O(auth_pepper_file), "/tmp/lf-pepper", 0},
	{"auth.rotate_grace", "90m", V_MS, O(auth_rotate_grace_ms), NULL, 5400000},
	{"auth.cache_ttl", "2s", V_MS, O(auth_cache_ttl_ms), NULL, 2000},
	{"ratelimit.rate", "250", V_INT, O(ratelimit_rate), NULL, 250},
	{"ratelimit.anonymous_rate", "7", V_INT, O(ratelimit_anonymous_rate), NULL, 7},
	{"ratelimit.global", "on", V_BOOL, O(ratelimit_global), NULL, 1},
	{"paths.sql_dir", "/tmp/lf-sql", V_STR, O(sql_dir), "/tmp/lf-sql", 0},
	{"webhooks.enabled", "off", V_BOOL, O(webhooks_enabled), NULL, 0},
	{"webhooks.max_age", "2d", V_MS, O(webhooks_max_age_ms), NULL, 172800000},
	{"webhooks.timeout", "2500ms", V_MS, O(webhooks_timeout_ms), NULL, 2500},
	{"webhooks.max_in_flight", "4", V_INT, O(webhooks_max_in_flight), NULL, 4},
	{"webhooks.retry_base", "250ms", V_MS, O(webhooks_retry_base_ms), NULL, 250},
	{"webhooks.retry_max", "10m", V_MS, O(webhooks_retry_max_ms), NULL, 600000},
	{"webhooks.poll_interval", "50ms", V_MS, O(webhooks_poll_interval_ms), NULL, 50},
	{"webhooks.tls_ca", "/tmp/lf-wh-ca.pem", V_STR, O(webhooks_tls_ca), "/tmp/lf-wh-ca.pem", 0},
	{"risk.max_amount", "USD:10000.00, JPY:5", V_STR, O(risk_max_amount), "USD:10000.00, JPY:5", 0},
	{"risk.velocity_count", "3", V_INT, O(risk_velocity_count), NULL, 3},
	{"risk.velocity_sum", "GBP:100.00", V_STR, O(risk_velocity_sum), "GBP:100.00", 0},
	{"risk.velocity_window", "10m", V_MS, O(risk_velocity_window_ms), NULL, 600000},
	{"risk.daily_limit", "EUR:50.00,KWD:1.250", V_STR, O(risk_daily_limit), "EUR:50.00,KWD:1.250", 0},
	{"risk.webhook_url", "http://127.0.0.1:9/risk", V_STR, O(risk_webhook_url), "http://127.0.0.1:9/risk", 0},
	{"risk.webhook_timeout", "250ms", V_MS, O(risk_webhook_timeout_ms), NULL, 250},
	{"risk.webhook_policy", "closed", V_STR, O(risk_webhook_policy), "closed", 0},
	{"risk.webhook_secret", "rws", V_STR, O(risk_webhook_secret), "rws", 0},
	{"risk.webhook_secret_file", "/tmp/lf-rws", V_STR, O(risk_webhook_secret_file), "/tmp/lf-rws", 0},
};
/* clang-format on */
#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* Does cfg hold the case's expected value? */
static bool holds(const struct lf_config *cfg, const struct kcase *c)
{
	const char *p = (const char *)cfg + c->off;
	switch (c->kind) {
	case V_STR: {
		const char *s = *(char *const *)(const void *)p;
		return s && strcmp(s, c->s) == 0;
	}
	case V_UINT: return *(const unsigned *)(const void *)p == (unsigned)c->n;
	case V_INT: return *(const int *)(const void *)p == (int)c->n;
	case V_SIZE: return *(const size_t *)(const void *)p == (size_t)c->n;
	case V_MS: return *(const int64_t *)(const void *)p == c->n;
	case V_BOOL: return *(const bool *)(const void *)p == (c->n != 0);
	}
	return false;
}

/* A password_file names a file that is read, and may not be set beside
 * its password: test_config_secrets.c covers those keys. */
static bool names_secret_file(const struct kcase *c)
{
	return strstr(c->key, "password_file") != NULL || strstr(c->key, "secret_file") != NULL;
}

static void test_cases_cover_every_key(void)
{
	char key[128];
	CU_ASSERT_EQUAL(lf_config_key_count(), NCASES);
	for (size_t i = 0; i < lf_config_key_count(); i++) {
		bool found = false;
		CU_ASSERT_PTR_NOT_NULL_FATAL(lf_config_key_name(i, key, sizeof(key)));
		for (size_t j = 0; j < NCASES; j++)
			found |= strcmp(cases[j].key, key) == 0;
		if (!found)
			fprintf(stderr, "key %s has no test case\n", key);
		CU_ASSERT(found);
	}
}

static void test_every_key_from_file(void)
{
	char text[8192], section[32] = "";
	size_t o = 0;
	struct lf_config cfg;
	char *errs;

	for (size_t i = 0; i < NCASES; i++) {
		const char *dot = strchr(cases[i].key, '.');
		if (names_secret_file(&cases[i]))
			continue;
		if (strncmp(section, cases[i].key, (size_t)(dot - cases[i].key)) != 0 ||
		    section[dot - cases[i].key] != '\0') {
			snprintf(section, sizeof(section), "%.*s", (int)(dot - cases[i].key),
				 cases[i].key);
			o += (size_t)snprintf(text + o, sizeof(text) - o, "\n[%s]\n", section);
		}
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%s = %s\n", dot + 1,
				      cases[i].text);
	}
	CU_ASSERT_FATAL(o < sizeof(text));
	CU_ASSERT_FATAL(load(&cfg, write_conf(text), &errs));
	CU_ASSERT_STRING_EQUAL(errs, "");
	for (size_t i = 0; i < NCASES; i++) {
		if (names_secret_file(&cases[i]))
			continue;
		if (!holds(&cfg, &cases[i]))
			fprintf(stderr, "from file: %s not applied\n", cases[i].key);
		CU_ASSERT(holds(&cfg, &cases[i]));
	}
	CU_ASSERT_STRING_EQUAL(cfg.listen_host, "0.0.0.0");
	CU_ASSERT_EQUAL(cfg.listen_port, 9090);
	lf_config_clear(&cfg);
	free(errs);
}

static void test_every_key_from_env(void)
{
	char env[160];
	struct lf_config cfg;
	char *errs;

	for (size_t i = 0; i < NCASES; i++) {
		if (names_secret_file(&cases[i]))
			continue;
		/* the value differs from the default, so this is a real override
		 * (workers = auto may happen to equal it) */
		CU_ASSERT_FATAL(load(&cfg, NULL, &errs));
		if (strcmp(cases[i].key, "server.workers") != 0)
			CU_ASSERT(!holds(&cfg, &cases[i]));
		lf_config_clear(&cfg);
		free(errs);

		env_name_of(cases[i].key, env, sizeof(env));
		CU_ASSERT_FATAL(setenv(env, cases[i].text, 1) == 0);
		CU_ASSERT(load(&cfg, NULL, &errs));
		if (!holds(&cfg, &cases[i]))
			fprintf(stderr, "from env: %s not applied (%s)\n", env, errs);
		CU_ASSERT(holds(&cfg, &cases[i]));
		unsetenv(env);
		lf_config_clear(&cfg);
		free(errs);
	}
}

static void test_env_names(void)
{
	struct lf_config cfg;
	char *errs;
	setenv("LEDGERFLOW_MYSQL_HOST", "h.example", 1);
	setenv("LEDGERFLOW_SERVER_MAX_BODY_SIZE", "1M", 1);
	CU_ASSERT_FATAL(load(&cfg, NULL, &errs));
	CU_ASSERT_STRING_EQUAL(cfg.mysql_host, "h.example");
	CU_ASSERT_EQUAL(cfg.max_body_size, 1048576);
	lf_config_clear(&cfg);
	free(errs);
	clear_env();
}

static void test_env_beats_file(void)
{
	struct lf_config cfg;
	char *errs;
	const char *path = write_conf("[mysql]\nhost = filehost\nuser = fileuser\n"
				      "[server]\nlisten = 127.0.0.1:7000\n");
	setenv("LEDGERFLOW_MYSQL_HOST", "envhost", 1);
	setenv("LEDGERFLOW_SERVER_LISTEN", "[::1]:7001", 1);
	CU_ASSERT_FATAL(load(&cfg, path, &errs));
	CU_ASSERT_STRING_EQUAL(cfg.mysql_host, "envhost");
	CU_ASSERT_STRING_EQUAL(cfg.mysql_user, "fileuser");
	CU_ASSERT_STRING_EQUAL(cfg.listen, "[::1]:7001");
	CU_ASSERT_STRING_EQUAL(cfg.listen_host, "::1");
	CU_ASSERT_EQUAL(cfg.listen_port, 7001);
	lf_config_clear(&cfg);
	free(errs);
	clear_env();
}

static void test_defaults(void)
{
	struct lf_config cfg, d;
	char *errs;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int want_workers = cpus < 1 ? 1 : cpus > 64 ? 64 : (int)cpus;

	CU_ASSERT_FATAL(load(&cfg, NULL, &errs));
	CU_ASSERT_STRING_EQUAL(errs, "");
	CU_ASSERT_STRING_EQUAL(cfg.listen, "127.0.0.1:8080");
	CU_ASSERT_STRING_EQUAL(cfg.listen_host, "127.0.0.1");
	CU_ASSERT_EQUAL(cfg.listen_port, 8080);
	CU_ASSERT_EQUAL(cfg.workers, want_workers);
	CU_ASSERT_EQUAL(cfg.max_body_size, 64 * 1024);
	CU_ASSERT_EQUAL(cfg.max_header_size, 16 * 1024);
	CU_ASSERT_STRING_EQUAL(cfg.pid_file, "/run/ledgerflow/ledgerflowd.pid");
	CU_ASSERT_EQUAL(cfg.shutdown_timeout_ms, 30000);
	CU_ASSERT_EQUAL(cfg.request_timeout_ms, 10000);
	CU_ASSERT_EQUAL(cfg.keepalive_timeout_ms, 60000);
	CU_ASSERT_EQUAL(cfg.backlog, 511);
	CU_ASSERT_STRING_EQUAL(cfg.log_level, "info");
	CU_ASSERT_STRING_EQUAL(cfg.log_file, "");
	CU_ASSERT_TRUE(cfg.access_log);
	CU_ASSERT_STRING_EQUAL(cfg.mysql_host, "127.0.0.1");
	CU_ASSERT_EQUAL(cfg.mysql_port, 3306);
	CU_ASSERT_STRING_EQUAL(cfg.mysql_user, "ledgerflow");
	CU_ASSERT_STRING_EQUAL(cfg.mysql_password, "");
	CU_ASSERT_STRING_EQUAL(cfg.mysql_database, "ledgerflow");
	CU_ASSERT_STRING_EQUAL(cfg.mysql_socket, "");
	CU_ASSERT_EQUAL(cfg.pool_size, 8);
	CU_ASSERT_EQUAL(cfg.mysql_request_timeout_ms, 5000);
	CU_ASSERT_EQUAL(cfg.mysql_connect_timeout_ms, 2000);
	CU_ASSERT_EQUAL(cfg.mysql_lock_wait_timeout_ms, 2000);
	CU_ASSERT_EQUAL(cfg.mysql_max_retries, 5);
	CU_ASSERT_STRING_EQUAL(cfg.redis_host, "127.0.0.1");
	CU_ASSERT_EQUAL(cfg.redis_port, 6379);
	CU_ASSERT_STRING_EQUAL(cfg.redis_password, "");
	CU_ASSERT_EQUAL(cfg.redis_db, 0);
	CU_ASSERT_EQUAL(cfg.redis_timeout_ms, 200);
	CU_ASSERT_EQUAL(cfg.redis_breaker_cooldown_ms, 5000);
	CU_ASSERT_EQUAL(cfg.cache_size, 16 * 1024 * 1024);
	CU_ASSERT_EQUAL(cfg.idempotency_retention_ms, 24 * 3600 * 1000LL);
	CU_ASSERT_EQUAL(cfg.idempotency_reap_interval_ms, 60000);
	CU_ASSERT_EQUAL(cfg.payments_hold_timeout_ms, 7 * 24 * 3600 * 1000LL);
	CU_ASSERT_EQUAL(cfg.payments_expire_interval_ms, 5000);
	CU_ASSERT_TRUE(cfg.auth_enabled); /* on by default (the v2 contract) */
	CU_ASSERT_TRUE(cfg.auth_ops_public);
	CU_ASSERT_EQUAL(cfg.ratelimit_rate, 1000);
	CU_ASSERT_EQUAL(cfg.ratelimit_anonymous_rate, 20);
	CU_ASSERT_STRING_EQUAL(cfg.sql_dir, LF_DEFAULT_SQL_DIR);

	/* lf_config_defaults gives the same */
	lf_config_defaults(&d);
	CU_ASSERT_STRING_EQUAL(d.listen, cfg.listen);
	CU_ASSERT_STRING_EQUAL(d.sql_dir, cfg.sql_dir);
	CU_ASSERT_EQUAL(d.cache_size, cfg.cache_size);
	CU_ASSERT_EQUAL(d.workers, cfg.workers);
	lf_config_clear(&d);
	lf_config_clear(&cfg);
	lf_config_clear(&cfg); /* twice is safe */
	CU_ASSERT_PTR_NULL(cfg.listen);
	free(errs);
}

static void test_file_syntax_accepted(void)
{
	struct lf_config cfg;
	char *errs;
	/* BOM, comments, inline comment, indentation, CRLF, case of names,
	 * an empty value, "workers = auto" */
	const char *path = write_conf("\xEF\xBB\xBF; leading comment\r\n"
				      "# another\n"
				      "[MySQL]   ; section comment\n"
				      "   Host = indented.example\r\n"
				      "\tport=3310 ; inline comment\n"
				      "password =\n"
				      "\n"
				      "[server]\n"
				      "workers = auto\n"
				      "log_file = -\n");
	CU_ASSERT_FATAL(load(&cfg, path, &errs));
	CU_ASSERT_STRING_EQUAL(errs, "");
	CU_ASSERT_STRING_EQUAL(cfg.mysql_host, "indented.example");
	CU_ASSERT_EQUAL(cfg.mysql_port, 3310);
	CU_ASSERT_STRING_EQUAL(cfg.mysql_password, "");
	CU_ASSERT(cfg.workers >= 1 && cfg.workers <= 64);
	CU_ASSERT_STRING_EQUAL(cfg.log_file, "-");
	lf_config_clear(&cfg);
	free(errs);
}

/* ---- rejected values ---- */

struct bad {
	const char *key;
	const char *value;
	const char *says; /* a piece of the message */
};

/* clang-format off */
static const struct bad bads[] = {
	/* size */
	{"server.max_body_size", "64Q", "not a size"},
	{"server.metrics_listen", "localhost", "not host:port"},
	{"server.max_body_size", "K", "not a size"},
	{"server.max_body_size", "-1", "not a size"},
	{"server.max_body_size", "1.5M", "not a size"},
	{"server.max_body_size", "99999999999999999999", "not a size"},
	{"server.max_body_size", "17179869184G", "not a size"},
	{"server.max_body_size", "17M", "out of range (1K..16M)"},
	{"server.max_body_size", "512", "out of range"},
	{"server.max_header_size", "2M", "out of range"},
	{"cache.size", "512K", "out of range (1M.."},
	/* duration */
	{"server.shutdown_timeout", "5x", "not a duration"},
	{"server.shutdown_timeout", "1.5s", "not a duration"},
	{"server.shutdown_timeout", "-1s", "not a duration"},
	{"server.shutdown_timeout", "s", "not a duration"},
	{"server.shutdown_timeout", "9999999999999999999h", "not a duration"},
	{"server.shutdown_timeout", "0", "out of range"},
	{"server.request_timeout", "2h", "out of range"},
	{"mysql.lock_wait_timeout", "1500ms", "whole number of seconds"},
	{"mysql.lock_wait_timeout", "500ms", "out of range (1s..1h)"},
	{"idempotency.retention", "500ms", "out of range (1s.."},
	{"payments.hold_timeout", "31d", "out of range (1s.."},
	{"redis.timeout", "2m", "out of range"},
	/* bool */
	{"server.access_log", "maybe", "not a boolean"},
	{"auth.enabled", "2", "not a boolean"},
	{"auth.ops_public", "", "not a boolean"},
	/* ports */
	{"mysql.port", "0", "out of range (1..65535)"},
	{"mysql.port", "65536", "out of range"},
	{"redis.port", "http", "not a number"},
	{"redis.port", "-1", "not a number"},
	{"mysql.port", "99999999999999999999999", "not a number"},
	/* workers */
	{"server.workers", "0", "out of range (1..64)"},
	{"server.workers", "65", "out of range"},
	{"server.workers", "many", "not a number or auto"},
	{"server.workers", "-2", "not a number or auto"},
	/* listen */
	{"server.listen", "127.0.0.1", "not host:port"},
	{"server.listen", ":8080", "not host:port"},
	{"server.listen", "8080", "not host:port"},
	{"server.listen", "::1:8080", "not host:port"},
	{"server.listen", "[zz]:80", "not host:port"},
	{"server.listen", "127.0.0.1:0", "not host:port"},
	{"server.listen", "127.0.0.1:65536", "not host:port"},
	/* ints out of range */
	{"mysql.pool_size", "0", "out of range (1..256)"},
	{"mysql.pool_size", "257", "out of range"},
	{"mysql.max_retries", "101", "out of range"},
	{"mysql.max_retries", "-1", "out of range"},
	{"mysql.max_queue", "0", "out of range"},
	{"server.backlog", "0", "out of range"},
	{"redis.db", "x", "not an integer"},
	/* strings */
	{"server.log_level", "verbose", "must be one of debug|info|warn|error"},
	{"mysql.ssl_mode", "on", "must be one of disabled|preferred|required|verify_ca|verify_identity"},
	{"mysql.ssl_mode", "verify_ca", "verify_ca needs mysql.ssl_ca"},
	{"mysql.host", "", "must not be empty"},
	{"mysql.host", "db1:3306,,db2", "an empty entry in the list"},
	{"mysql.host", "db1:3306,db2:x", "is not host or host:port"},
	{"redis.sentinels", "10.0.0.1", "is not host:port"},
	{"paths.sql_dir", "", "must not be empty"},
	{"mysql.database", "a\tb", "control character"},
};
/* clang-format on */
#define NBADS (sizeof(bads) / sizeof(bads[0]))

static void test_bad_values_from_file(void)
{
	char text[512], want[160];
	struct lf_config cfg;
	char *errs;

	for (size_t i = 0; i < NBADS; i++) {
		const char *dot = strchr(bads[i].key, '.');
		const char *path;
		snprintf(text, sizeof(text), "; bad value\n[%.*s]\n%s = %s\n",
			 (int)(dot - bads[i].key), bads[i].key, dot + 1, bads[i].value);
		path = write_conf(text);
		CU_ASSERT_FALSE(load(&cfg, path, &errs));
		/* "FILE:3: section.key: "value" problem" */
		snprintf(want, sizeof(want), "%s:3: %s: ", path, bads[i].key);
		if (!strstr(errs, want) || !strstr(errs, bads[i].says))
			fprintf(stderr, "%s = %s: got \"%s\"\n", bads[i].key, bads[i].value, errs);
		CU_ASSERT_PTR_NOT_NULL(strstr(errs, want));
		CU_ASSERT_PTR_NOT_NULL(strstr(errs, bads[i].says));
		CU_ASSERT_EQUAL(count_lines(errs), 1);
		CU_ASSERT_PTR_NULL(cfg.listen); /* freed on failure */
		lf_config_clear(&cfg);
		free(errs);
	}
}

static void test_bad_values_from_env(void)
{
	char env[160], want[200];
	struct lf_config cfg;
	char *errs;

	for (size_t i = 0; i < NBADS; i++) {
		env_name_of(bads[i].key, env, sizeof(env));
		setenv(env, bads[i].value, 1);
		CU_ASSERT_FALSE(load(&cfg, NULL, &errs));
		snprintf(want, sizeof(want), "$%s: %s: ", env, bads[i].key);
		if (!strstr(errs, want) || !strstr(errs, bads[i].says))
			fprintf(stderr, "%s=%s: got \"%s\"\n", env, bads[i].value, errs);
		CU_ASSERT_PTR_NOT_NULL(strstr(errs, want));
		CU_ASSERT_PTR_NOT_NULL(strstr(errs, bads[i].says));
		CU_ASSERT_EQUAL(count_lines(errs), 1);
		unsetenv(env);
		lf_config_clear(&cfg);
		free(errs);
	}
}

static void test_long_string_from_env(void)
{
	char big[5000];
	struct lf_config cfg;
	char *errs;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	setenv("LEDGERFLOW_SERVER_PID_FILE", big, 1);
	CU_ASSERT_FALSE(load(&cfg, NULL, &errs));
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, "server.pid_file: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, "too long"));
	CU_ASSERT(strlen(errs) < 400); /* the value is cut in the message */
	free(errs);
	clear_env();
}

static void test_every_error_reported(void)
{
	struct lf_config cfg;
	char *errs;
	const char *path = write_conf("[server]\nworkers = 0\nbacklog = x\n[mysql]\nport = 0\n");
	CU_ASSERT_FALSE(load(&cfg, path, &errs));
	CU_ASSERT_EQUAL(count_lines(errs), 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, ":2: server.workers: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, ":3: server.backlog: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, ":5: mysql.port: "));
	free(errs);
}

static void test_unknown_and_malformed(void)
{
	static const struct {
		const char *text, *says;
		unsigned lines;
	} t[] = {
		{"[server]\nlisten = 127.0.0.1:1\nlistne = x\n", ":3: server.listne: unknown key",
		 1},
		{"[serverr]\nfoo = 1\nbar = 2\n", ":1: unknown section [serverr]", 1},
		{"[server]\n[bogus]\nlisten = 1.2.3.4:5\n", ":2: unknown section [bogus]", 1},
		{"workers = 2\n[server]\n", ":1: key workers outside of any [section]", 1},
		{"[server]\njust some words\n", ":2: expected key = value", 1},
		{"[server]\nlisten 127.0.0.1:8080\n", ":2: expected key = value", 1},
		{"[server\nworkers = 2\n", ":1: missing ] after the section name", 1},
		{"[server] junk\nworkers = 2\n", ":1: text after the section header", 1},
		{"[server]\nworkers = 2\nworkers = 3\n",
		 ":3: server.workers: already set on line 2", 1},
		{"[mysql]\nhost = a\n[mysql]\nhost = b\n", ":4: mysql.host: already set on line 2",
		 1},
		{"[server]\nbad key! = 1\n", ":2: server.\"bad key!\": unknown key", 1},
	};
	struct lf_config cfg;
	char *errs;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		CU_ASSERT_FALSE(load(&cfg, write_conf(t[i].text), &errs));
		if (!strstr(errs, t[i].says) || count_lines(errs) != t[i].lines)
			fprintf(stderr, "case %zu: got \"%s\"\n", i, errs);
		CU_ASSERT_PTR_NOT_NULL(strstr(errs, t[i].says));
		CU_ASSERT_EQUAL(count_lines(errs), t[i].lines);
		free(errs);
	}
}

static void test_long_line_and_missing_file(void)
{
	char text[600], path[128];
	struct lf_config cfg;
	char *errs;
	snprintf(text, sizeof(text), "[server]\npid_file = /%0400d\n", 0);
	CU_ASSERT_FALSE(load(&cfg, write_conf(text), &errs));
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, ":2: line too long"));
	free(errs);

	snprintf(path, sizeof(path), "%s/does-not-exist.conf", tmpdir);
	CU_ASSERT_FALSE(load(&cfg, path, &errs));
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, path));
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, "cannot open"));
	free(errs);

	/* a directory is not a configuration file */
	CU_ASSERT_FALSE(load(&cfg, tmpdir, &errs));
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, tmpdir));
	CU_ASSERT_EQUAL(count_lines(errs), 1);
	free(errs);

	/* errors == NULL is allowed */
	CU_ASSERT_FALSE(lf_config_load(&cfg, path, NULL));

	/* an empty file is the defaults */
	CU_ASSERT_FATAL(load(&cfg, write_conf(""), &errs));
	CU_ASSERT_STRING_EQUAL(errs, "");
	CU_ASSERT_EQUAL(cfg.listen_port, 8080);
	lf_config_clear(&cfg);
	free(errs);
}

/* ---- secrets ---- */

static void expect_hidden(const char *what, const char *errs, const char *key)
{
	if (strstr(errs, SECRET) || !strstr(errs, key))
		fprintf(stderr, "%s: \"%s\"\n", what, errs);
	CU_ASSERT_PTR_NULL(strstr(errs, SECRET));
	CU_ASSERT_PTR_NULL(strstr(errs, "S3cr3t"));
	CU_ASSERT_PTR_NOT_NULL(strstr(errs, key));
}

static void test_password_never_printed(void)
{
	struct lf_config cfg;
	char *errs, big[2100], text[512];

	/* a control character in the value, in the file */
	CU_ASSERT_FALSE(load(&cfg, write_conf("[mysql]\npassword = " SECRET "\tx\n"), &errs));
	expect_hidden("control char", errs, "mysql.password: value contains a control character");
	free(errs);
	/* set twice */
	CU_ASSERT_FALSE(load(&cfg,
			     write_conf("[redis]\npassword = " SECRET "\npassword = " SECRET "\n"),
			     &errs));
	expect_hidden("twice", errs, "redis.password: already set");
	free(errs);
	/* misspelled key */
	CU_ASSERT_FALSE(load(&cfg, write_conf("[mysql]\npasword = " SECRET "\n"), &errs));
	expect_hidden("misspelled", errs, "mysql.pasword: unknown key");
	free(errs);
	/* a line too long for the parser */
	snprintf(text, sizeof(text), "[mysql]\npassword = " SECRET "%0300d\n", 0);
	CU_ASSERT_FALSE(load(&cfg, write_conf(text), &errs));
	expect_hidden("long line", errs, "line too long");
	free(errs);
	/* environment: too long, control character */
	snprintf(big, sizeof(big), SECRET "%02000d", 0);
	setenv("LEDGERFLOW_MYSQL_PASSWORD", big, 1);
	CU_ASSERT_FALSE(load(&cfg, NULL, &errs));
	expect_hidden("env long", errs,
		      "$LEDGERFLOW_MYSQL_PASSWORD: mysql.password: value is too long");
	free(errs);
	setenv("LEDGERFLOW_REDIS_PASSWORD", SECRET "\x01", 1);
	unsetenv("LEDGERFLOW_MYSQL_PASSWORD");
	CU_ASSERT_FALSE(load(&cfg, NULL, &errs));
	expect_hidden("env ctl", errs, "redis.password: value contains a control character");
	free(errs);
	clear_env();

	/* a good password is kept as written */
	CU_ASSERT_FATAL(load(&cfg, write_conf("[mysql]\npassword = " SECRET "\n"), &errs));
	CU_ASSERT_STRING_EQUAL(cfg.mysql_password, SECRET);
	lf_config_clear(&cfg);
	free(errs);
}

/* ---- reload ---- */

static void test_keep_unreloadable(void)
{
	struct lf_config cur, next;
	char *errs, *warn = NULL;
	size_t len = 0;
	FILE *w;

	CU_ASSERT_FATAL(load(&cur, NULL, &errs));
	free(errs);
	CU_ASSERT_FATAL(load(&next,
			     write_conf("[server]\nlisten = 0.0.0.0:9999\nworkers = 3\n"
					"pid_file = /tmp/other.pid\nbacklog = 100\n"
					"max_body_size = 1M\n[cache]\nsize = 128M\n"
					"[mysql]\nhost = other.example\n"),
			     &errs));
	free(errs);
	w = open_memstream(&warn, &len);
	CU_ASSERT_FATAL(w != NULL);
	lf_config_keep_unreloadable(&cur, &next, w);
	fclose(w);

	/* unreloadable: old values kept */
	CU_ASSERT_STRING_EQUAL(next.listen, "127.0.0.1:8080");
	CU_ASSERT_STRING_EQUAL(next.listen_host, "127.0.0.1");
	CU_ASSERT_EQUAL(next.listen_port, 8080);
	CU_ASSERT_STRING_EQUAL(next.pid_file, "/run/ledgerflow/ledgerflowd.pid");
	CU_ASSERT_EQUAL(next.cache_size, 16 * 1024 * 1024);
	CU_ASSERT_EQUAL(next.backlog, 511);
	/* reloadable: new values stay */
	CU_ASSERT_EQUAL(next.workers, 3);
	CU_ASSERT_EQUAL(next.max_body_size, 1024 * 1024);
	CU_ASSERT_STRING_EQUAL(next.mysql_host, "other.example");
	/* one warning per changed unreloadable key, naming old and new */
	CU_ASSERT_EQUAL(count_lines(warn), 4);
	CU_ASSERT_PTR_NOT_NULL(
		strstr(warn, "server.listen: changed from 127.0.0.1:8080 to 0.0.0.0:9999"));
	CU_ASSERT_PTR_NOT_NULL(strstr(warn, "cache.size: changed from 16M to 128M"));
	CU_ASSERT_PTR_NOT_NULL(strstr(warn, "server.pid_file: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(warn, "server.backlog: "));
	CU_ASSERT_PTR_NULL(strstr(warn, "server.workers"));
	CU_ASSERT_PTR_NULL(strstr(warn, "mysql.host"));
	free(warn);

	/* nothing changed: silent */
	warn = NULL;
	w = open_memstream(&warn, &len);
	lf_config_keep_unreloadable(&cur, &next, w);
	fclose(w);
	CU_ASSERT_STRING_EQUAL(warn, "");
	free(warn);
	lf_config_keep_unreloadable(&cur, &next, NULL);
	lf_config_clear(&cur);
	lf_config_clear(&next);
}

/* ---- main ---- */

static int suite_init(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lf-test-config-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	/* the files hold passwords: private, or the load warns about them */
	umask(077);
	clear_env();
	return 0;
}

static int suite_clean(void)
{
	char path[128];
	for (unsigned i = 0; i < nfiles; i++) {
		snprintf(path, sizeof(path), "%s/c%u.conf", tmpdir, i);
		unlink(path);
	}
	clear_env();
	return rmdir(tmpdir) == 0 ? 0 : -1;
}

/* [risk]: the amount lists and the webhook URL are checked at load, each
 * problem naming its key; a valid list gives each currency's limit. */
static void test_risk_lists(void)
{
	static const struct {
		const char *text, *says;
	} bad[] = {
		{"[risk]\nmax_amount = USD:1.001\n", "risk.max_amount: "},
		{"[risk]\nmax_amount = USD 10\n", "risk.max_amount: "},
		{"[risk]\nvelocity_sum = XXX:10\n", "risk.velocity_sum: "},
		{"[risk]\ndaily_limit = EUR:5,EUR:6\n", "risk.daily_limit: "},
		{"[risk]\ndaily_limit = EUR:0\n", "risk.daily_limit: "},
		{"[risk]\ndaily_limit = EUR:5,\n", "risk.daily_limit: "},
		{"[risk]\nwebhook_url = https://x/\n", "risk.webhook_url: "},
		{"[risk]\nwebhook_url = http://:80/\n", "risk.webhook_url: "},
		{"[risk]\nwebhook_policy = maybe\n", "risk.webhook_policy: "},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct lf_config cfg;
		char *errs;
		CU_ASSERT_FALSE(load(&cfg, write_conf(bad[i].text), &errs));
		if (strstr(errs, bad[i].says) == NULL)
			fprintf(stderr, "%s: %s\n", bad[i].text, errs);
		CU_ASSERT_PTR_NOT_NULL(strstr(errs, bad[i].says));
		free(errs);
	}
	struct lf_config cfg;
	char *errs;
	CU_ASSERT_FATAL(load(&cfg,
			     write_conf("[risk]\nmax_amount = USD:100.00 , JPY:1000\n"
					"webhook_url = http://localhost:8081\n"),
			     &errs));
	free(errs);
	int64_t v = 0;
	CU_ASSERT(lf_risk_amount_for(cfg.risk_max_amount, "USD", &v) && v == 10000);
	CU_ASSERT(lf_risk_amount_for(cfg.risk_max_amount, "JPY", &v) && v == 1000);
	CU_ASSERT_FALSE(lf_risk_amount_for(cfg.risk_max_amount, "EUR", &v));
	struct lf_risk_limits l;
	lf_risk_limits_for(&cfg, "JPY", &l);
	CU_ASSERT(l.max_amount == 1000 && l.velocity_count == 0 && l.daily_limit == 0);
	/* only a rule that reads history, or the webhook, turns batching off */
	CU_ASSERT(lf_risk_needs_single_path(&cfg));
	free(cfg.risk_webhook_url);
	cfg.risk_webhook_url = strdup("");
	CU_ASSERT_FALSE(lf_risk_needs_single_path(&cfg));
	cfg.risk_velocity_count = 1;
	CU_ASSERT(lf_risk_needs_single_path(&cfg));
	char host[64], path[64];
	unsigned port;
	CU_ASSERT(lf_risk_url_parse("http://a.b:81?x=1", host, sizeof host, &port, path,
				    sizeof path));
	CU_ASSERT(strcmp(host, "a.b") == 0 && port == 81 && strcmp(path, "/?x=1") == 0);
	lf_config_clear(&cfg);
}

int main(void)
{
	static const struct lf_test tests[] = {
		{"risk lists and webhook url", test_risk_lists},
		{"cases cover every key", test_cases_cover_every_key},
		{"every key from a file", test_every_key_from_file},
		{"every key from the environment", test_every_key_from_env},
		{"environment variable names", test_env_names},
		{"environment beats file", test_env_beats_file},
		{"defaults", test_defaults},
		{"file syntax accepted", test_file_syntax_accepted},
		{"bad values from a file", test_bad_values_from_file},
		{"bad values from the environment", test_bad_values_from_env},
		{"long string from the environment", test_long_string_from_env},
		{"every error reported", test_every_error_reported},
		{"unknown keys, sections, malformed lines", test_unknown_and_malformed},
		{"long line, missing file", test_long_line_and_missing_file},
		{"passwords never printed", test_password_never_printed},
		{"keep unreloadable", test_keep_unreloadable},
	};
	static const struct lf_suite suites[] = {
		{"config", LF_TESTS(tests), .init = suite_init, .cleanup = suite_clean},
	};
	return lf_cunit_main(suites, LF_COUNT(suites));
}
