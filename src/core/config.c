/*
 * core/config.c - the configuration. Every key is declared once in keys[]
 * (section, name, type, field, default, range, reloadable, description);
 * loading applies the defaults, then the INI file (parsed with inih through
 * our own line reader, so every problem carries its line number), then the
 * LEDGERFLOW_<SECTION>_<KEY> environment variables. Each problem is printed
 * as one line "SOURCE: section.key: what is wrong"; secret values
 * (passwords) are never printed. The value parsers (sizes, durations,
 * booleans, listen addresses) are in config_value.c; password files and the
 * permission checks of files holding secrets, applied last, in
 * config_secrets.c.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ini.h>

#include "lf_config.h"
#include "lf_risk.h"
#include "config_int.h"

#ifndef LF_DEFAULT_SQL_DIR
#define LF_DEFAULT_SQL_DIR "/usr/share/ledgerflow/sql"
#endif
#ifndef LF_DEFAULT_PEPPER_FILE
#define LF_DEFAULT_PEPPER_FILE "/var/lib/ledgerflow/pepper"
#endif

enum key_type { T_STRING, T_UINT, T_INT, T_SIZE, T_DURATION, T_BOOL, T_WORKERS, T_LISTEN };

#define K_RELOAD 0x1u    /* takes effect on SIGHUP */
#define K_SECRET 0x2u    /* value never printed */
#define K_NONEMPTY 0x4u  /* strings: "" rejected */
#define K_WHOLE_SEC 0x8u /* durations: a whole number of seconds */
#define K_BUILD 0x10u    /* the default is a path chosen by the build */
#define K_ADDRESS 0x20u  /* strings: "" or host:port / [v6addr]:port */

struct key {
	const char *section, *name;
	enum key_type type;
	size_t off;
	const char *def;
	int64_t min, max; /* numbers, sizes (bytes), durations (ms); strings: max length */
	unsigned flags;
	const char *choices; /* strings: "a|b|c" */
	const char *desc;
};

#define O(f) offsetof(struct lf_config, f)
#define KB ((int64_t)1024)
#define MB (KB * 1024)
#define GB (MB * 1024)
#define SEC ((int64_t)1000)
#define MINUTE (SEC * 60)
#define HOUR (MINUTE * 60)
#define R K_RELOAD

/* clang-format off */
static const struct key keys[] = {
	{"server", "listen", T_LISTEN, O(listen), "127.0.0.1:8080", 0, 0, 0, NULL,
	 "address to accept HTTP on: host:port or [v6addr]:port"},
	{"server", "workers", T_WORKERS, O(workers), "auto", 1, 64, R, NULL,
	 "worker processes, or auto for the number of online CPUs"},
	{"server", "max_body_size", T_SIZE, O(max_body_size), "64K", KB, 16 * MB, R, NULL,
	 "largest request body accepted; larger gets 413"},
	{"server", "max_header_size", T_SIZE, O(max_header_size), "16K", KB, MB, R, NULL,
	 "largest total size of the request headers"},
	{"server", "pid_file", T_STRING, O(pid_file), "/run/ledgerflow/ledgerflowd.pid", 0, 4096, 0,
	 NULL, "file the master writes its pid to; empty for none"},
	{"server", "shutdown_timeout", T_DURATION, O(shutdown_timeout_ms), "30s", 1, HOUR, R, NULL,
	 "how long a stopping worker waits for in-flight requests"},
	{"server", "request_timeout", T_DURATION, O(request_timeout_ms), "10s", 1, HOUR, R, NULL,
	 "deadline for answering one request"},
	{"server", "keepalive_timeout", T_DURATION, O(keepalive_timeout_ms), "60s", 1, HOUR, R, NULL,
	 "idle time after which a keep-alive connection is closed"},
	{"server", "header_timeout", T_DURATION, O(header_timeout_ms), "10s", 1, HOUR, R, NULL,
	 "time to send a request's headers, from its first byte; then the connection is closed"},
	{"server", "body_timeout", T_DURATION, O(body_timeout_ms), "30s", 1, HOUR, R, NULL,
	 "time to send a request's body, from the end of its headers; then the connection is closed"},
	{"server", "metrics_listen", T_STRING, O(metrics_listen), "", 0, 300, K_ADDRESS, NULL,
	 "host:port for /metrics (and /healthz, /readyz) alone; empty: the main listener"},
	{"server", "max_connections", T_INT, O(max_connections), "1024", 1, 1000000, R, NULL,
	 "open connections per worker; past it a new connection is closed at once"},
	{"server", "backlog", T_INT, O(backlog), "511", 1, 65535, 0, NULL,
	 "listen(2) backlog of the listening socket"},
	{"server", "log_level", T_STRING, O(log_level), "info", 0, 16, R, "debug|info|warn|error",
	 "lowest level logged: debug, info, warn or error"},
	{"server", "log_file", T_STRING, O(log_file), "", 0, 4096, R, NULL,
	 "log file; empty or - for stderr"},
	{"server", "access_log", T_BOOL, O(access_log), "on", 0, 0, R, NULL,
	 "log one line per request"},
	{"server", "secret_permissions", T_STRING, O(secret_permissions), "warn", 0, 16, R,
	 "warn|refuse", "a file holding a secret that group or others may read: warn or refuse"},
	{"mysql", "host", T_STRING, O(mysql_host), "127.0.0.1", 0, 1024, R | K_NONEMPTY, NULL,
	 "MySQL/MariaDB server host"},
	{"mysql", "port", T_UINT, O(mysql_port), "3306", 1, 65535, R, NULL, "MySQL/MariaDB server port"},
	{"mysql", "user", T_STRING, O(mysql_user), "ledgerflow", 0, 255, R | K_NONEMPTY, NULL,
	 "database user"},
	{"mysql", "password", T_STRING, O(mysql_password), "", 0, 1024, R | K_SECRET, NULL,
	 "database password"},
	{"mysql", "password_file", T_STRING, O(mysql_password_file), "", 0, 4096, R, NULL,
	 "file whose first line is the database password; empty for none"},
	{"mysql", "admin_user", T_STRING, O(mysql_admin_user), "", 0, 255, R, NULL,
	 "user that ledgerflowctl migrate, seed and client connect as; empty: mysql.user"},
	{"mysql", "admin_password", T_STRING, O(mysql_admin_password), "", 0, 1024, R | K_SECRET, NULL,
	 "password of admin_user"},
	{"mysql", "admin_password_file", T_STRING, O(mysql_admin_password_file), "", 0, 4096, R,
	 NULL, "file whose first line is admin_user's password (read by ledgerflowctl only)"},
	{"mysql", "database", T_STRING, O(mysql_database), "ledgerflow", 0, 64, R | K_NONEMPTY, NULL,
	 "database (schema) name"},
	{"mysql", "socket", T_STRING, O(mysql_socket), "", 0, 107, R, NULL,
	 "Unix socket path; empty to connect over TCP"},
	{"mysql", "pool_size", T_INT, O(pool_size), "8", 1, 256, R, NULL,
	 "database connections per worker"},
	{"mysql", "request_timeout", T_DURATION, O(mysql_request_timeout_ms), "5s", 1, HOUR, R, NULL,
	 "longest a request waits for the database before 503"},
	{"mysql", "connect_timeout", T_DURATION, O(mysql_connect_timeout_ms), "2s", 1, HOUR, R, NULL,
	 "timeout for establishing a connection"},
	{"mysql", "lock_wait_timeout", T_DURATION, O(mysql_lock_wait_timeout_ms), "2s", SEC, HOUR,
	 R | K_WHOLE_SEC, NULL, "innodb_lock_wait_timeout for the session (whole seconds)"},
	{"mysql", "max_retries", T_INT, O(mysql_max_retries), "5", 0, 100, R, NULL,
	 "retries of a transaction after a deadlock or lock wait timeout"},
	{"mysql", "max_queue", T_INT, O(mysql_max_queue), "256", 1, 1000000, R, NULL,
	 "database jobs waiting for a connection, per worker; past it a request gets 503 at once"},
	{"mysql", "failback_interval", T_DURATION, O(mysql_failback_interval_ms), "30s", SEC, HOUR, R,
	 NULL, "with several hosts: how often an earlier, healthy node is taken back"},
	{"mysql", "batch_max", T_INT, O(mysql_batch_max), "64", 1, 1024, R, NULL,
	 "most payments decided in one transaction (account reads in one query); 1 = one by one"},
	{"mysql", "batch_window_us", T_INT, O(mysql_batch_window_us), "200", 0, 100000, R, NULL,
	 "under load, how long (microseconds) a pool thread waits for more jobs of a batch"},
	{"mysql", "batch_concurrency", T_INT, O(mysql_batch_concurrency), "1", 1, 1024, R, NULL,
	 "pool threads of a worker running batches of one kind at once (the rest queue and join the next batch)"},
	{"mysql", "loop_reads", T_BOOL, O(mysql_loop_reads), "on", 0, 0, R, NULL,
	 "account reads on the worker's event loop (non-blocking Connector/C); off: pool threads only"},
	{"mysql", "ssl_mode", T_STRING, O(mysql_ssl_mode), "disabled", 0, 16, R,
	 "disabled|preferred|required|verify_ca|verify_identity",
	 "TLS to the database: disabled, preferred, required, verify_ca or verify_identity"},
	{"mysql", "ssl_ca", T_STRING, O(mysql_ssl_ca), "", 0, 4096, R, NULL,
	 "file of the CA certificates that sign the database server's; empty for none"},
	{"mysql", "ssl_cert", T_STRING, O(mysql_ssl_cert), "", 0, 4096, R, NULL,
	 "client certificate file for the database; empty for none"},
	{"mysql", "ssl_key", T_STRING, O(mysql_ssl_key), "", 0, 4096, R, NULL,
	 "private key file of ssl_cert; empty for none"},
	{"mysql_replica", "host", T_STRING, O(replica_host), "", 0, 1024, R, NULL,
	 "a read replica (or nodes host[:port],...); \"\": every read on the primary"},
	{"mysql_replica", "port", T_UINT, O(replica_port), "3306", 1, 65535, R, NULL,
	 "the replica's port (of an entry without one)"},
	{"mysql_replica", "user", T_STRING, O(replica_user), "", 0, 255, R, NULL,
	 "the replica's login; \"\": mysql.user"},
	{"mysql_replica", "password", T_STRING, O(replica_password), "", 0, 1024, R | K_SECRET, NULL,
	 "its password (with user; else mysql.password)"},
	{"mysql_replica", "password_file", T_STRING, O(replica_password_file), "", 0, 4096, R, NULL,
	 "a file holding the replica login's password"},
	{"mysql_replica", "database", T_STRING, O(replica_database), "", 0, 64, R, NULL,
	 "the database on the replica; \"\": mysql.database"},
	{"mysql_replica", "socket", T_STRING, O(replica_socket), "", 0, 107, R, NULL,
	 "Unix socket of the replica instead of TCP"},
	{"mysql_replica", "pool_size", T_INT, O(replica_pool_size), "4", 1, 256, R, NULL,
	 "connections to the replica per worker"},
	{"mysql_replica", "connect_timeout", T_DURATION, O(replica_connect_timeout_ms), "1s", 1, HOUR,
	 R, NULL, "connecting to the replica (then reads go to the primary)"},
	{"mysql_replica", "request_timeout", T_DURATION, O(replica_request_timeout_ms), "5s", 1, HOUR,
	 R, NULL, "one read on the replica"},
	{"mysql_replica", "max_lag", T_DURATION, O(replica_max_lag_ms), "1s", 1, HOUR, R, NULL,
	 "reads go to the primary while the replica is this far behind (checked once a second)"},
	{"redis", "host", T_STRING, O(redis_host), "127.0.0.1", 0, 255, R | K_NONEMPTY, NULL,
	 "Redis server host"},
	{"redis", "port", T_UINT, O(redis_port), "6379", 1, 65535, R, NULL, "Redis server port"},
	{"redis", "user", T_STRING, O(redis_user), "", 0, 255, R, NULL,
	 "Redis ACL user (AUTH user password); empty for the default user"},
	{"redis", "password", T_STRING, O(redis_password), "", 0, 1024, R | K_SECRET, NULL,
	 "Redis password (AUTH); empty for none"},
	{"redis", "password_file", T_STRING, O(redis_password_file), "", 0, 4096, R, NULL,
	 "file whose first line is the Redis password; empty for none"},
	{"redis", "db", T_INT, O(redis_db), "0", 0, 65535, R, NULL, "Redis database number"},
	{"redis", "timeout", T_DURATION, O(redis_timeout_ms), "200ms", 1, MINUTE, R, NULL,
	 "connect and command timeout"},
	{"redis", "breaker_cooldown", T_DURATION, O(redis_breaker_cooldown_ms), "5s", 1, HOUR, R, NULL,
	 "after a failure, how long Redis is skipped before it is tried again"},
	{"redis", "sentinels", T_STRING, O(redis_sentinels), "", 0, 1024, R, NULL,
	 "Redis Sentinels (host:port,...) that name the master; empty: host and port"},
	{"redis", "master_name", T_STRING, O(redis_master_name), "mymaster", 0, 255, R, NULL,
	 "the master's name the sentinels monitor (with sentinels)"},
	{"redis", "tls", T_BOOL, O(redis_tls), "off", 0, 0, R, NULL,
	 "speak TLS to Redis (through a relay inside each worker)"},
	{"redis", "tls_ca", T_STRING, O(redis_tls_ca), "", 0, 4096, R, NULL,
	 "file of the CA certificates that sign Redis's; empty for the system's"},
	{"redis", "tls_cert", T_STRING, O(redis_tls_cert), "", 0, 4096, R, NULL,
	 "client certificate file for Redis (tls-auth-clients); empty for none"},
	{"redis", "tls_key", T_STRING, O(redis_tls_key), "", 0, 4096, R, NULL,
	 "private key file of tls_cert; empty for none"},
	{"redis", "tls_server_name", T_STRING, O(redis_tls_server_name), "", 0, 255, R, NULL,
	 "name Redis's certificate must carry (and the SNI); empty for host"},
	{"tracing", "endpoint", T_STRING, O(tracing_endpoint), "", 0, 1024, R, NULL,
	 "OTLP/HTTP traces endpoint (http://host:port/v1/traces); empty: no traces"},
	{"tracing", "sample_percent", T_INT, O(tracing_sample_percent), "10", 0, 100, R, NULL,
	 "requests without a traceparent that start a sampled trace, in percent"},
	{"tracing", "flush_interval", T_DURATION, O(tracing_flush_interval_ms), "1s", 10, MINUTE, R,
	 NULL, "how often queued spans are sent"},
	{"tracing", "max_queue", T_INT, O(tracing_max_queue), "4096", 16, 1000000, R, NULL,
	 "spans a worker queues for the collector; past it spans are dropped and counted"},
	{"tracing", "timeout", T_DURATION, O(tracing_timeout_ms), "2s", SEC, MINUTE, R, NULL,
	 "longest an export may take (whole seconds)"},
	{"tracing", "service_name", T_STRING, O(tracing_service_name), "ledgerflow", 0, 100,
	 R | K_NONEMPTY, NULL, "service.name of the spans"},
	{"cache", "size", T_SIZE, O(cache_size), "16M", MB, 64 * GB, 0, NULL,
	 "shared-memory cache size"},
	{"idempotency", "retention", T_DURATION, O(idempotency_retention_ms), "24h", SEC,
	 8760 * HOUR, R, NULL, "how long idempotency keys are kept"},
	{"idempotency", "reap_interval", T_DURATION, O(idempotency_reap_interval_ms), "60s", 100,
	 24 * HOUR, R, NULL, "how often expired idempotency keys are deleted"},
	{"payments", "hold_timeout", T_DURATION, O(payments_hold_timeout_ms), "7d", SEC, 720 * HOUR,
	 R, NULL, "how long a hold (capture false) reserves its funds unless the request says"},
	{"payments", "expire_interval", T_DURATION, O(payments_expire_interval_ms), "5s", 100,
	 HOUR, R, NULL, "how often holds past their expiry are expired and released"},
	{"auth", "enabled", T_BOOL, O(auth_enabled), "on", 0, 0, R, NULL,
	 "require Authorization: Bearer keys on the API"},
	{"auth", "ops_public", T_BOOL, O(auth_ops_public), "on", 0, 0, R, NULL,
	 "serve /healthz, /readyz and /metrics without a key"},
	{"auth", "pepper_file", T_STRING, O(auth_pepper_file), LF_DEFAULT_PEPPER_FILE, 0, 4096,
	 K_NONEMPTY | K_BUILD, NULL, "file of the 32-byte key-hashing pepper; made 0600 if missing"},
	{"auth", "rotate_grace", T_DURATION, O(auth_rotate_grace_ms), "24h", 0, 8760 * HOUR, R, NULL,
	 "how long a key keeps working after client rotate replaced it"},
	{"auth", "cache_ttl", T_DURATION, O(auth_cache_ttl_ms), "5s", 0, HOUR, R, NULL,
	 "how long a worker trusts a key lookup without asking the database"},
	{"ratelimit", "rate", T_INT, O(ratelimit_rate), "1000", 1, 1000000, R, NULL,
	 "requests per second per client (burst = rate); client create --rate overrides"},
	{"ratelimit", "global", T_BOOL, O(ratelimit_global), "off", 0, 0, R, NULL,
	 "also count each client's requests across every host in Redis (fails open)"},
	{"ratelimit", "anonymous_rate", T_INT, O(ratelimit_anonymous_rate), "20", 1, 1000000, R,
	 NULL, "requests per second per source address without a valid key"},
	{"paths", "sql_dir", T_STRING, O(sql_dir), LF_DEFAULT_SQL_DIR, 0, 4096,
	 R | K_NONEMPTY | K_BUILD, NULL, "directory holding the sql/ migrations"},
	{"webhooks", "enabled", T_BOOL, O(webhooks_enabled), "on", 0, 0, R, NULL,
	 "run the webhook delivery process (lf-webhooks)"},
	{"webhooks", "max_age", T_DURATION, O(webhooks_max_age_ms), "3d", SEC, 8760 * HOUR, R,
	 NULL, "a failing delivery is retried until its event is this old, then given up"},
	{"webhooks", "timeout", T_DURATION, O(webhooks_timeout_ms), "10s", 100, 10 * MINUTE, R,
	 NULL, "time for one delivery: connect, send, and the answer"},
	{"webhooks", "max_in_flight", T_INT, O(webhooks_max_in_flight), "16", 1, 1024, R, NULL,
	 "deliveries under way at once"},
	{"webhooks", "retry_base", T_DURATION, O(webhooks_retry_base_ms), "1s", 10, HOUR, R, NULL,
	 "back-off before the first retry; doubled per attempt, with full jitter"},
	{"webhooks", "retry_max", T_DURATION, O(webhooks_retry_max_ms), "1h", 10, 24 * HOUR, R,
	 NULL, "longest back-off between two attempts"},
	{"webhooks", "poll_interval", T_DURATION, O(webhooks_poll_interval_ms), "200ms", 10,
	 5 * SEC, R, NULL, "how often the delivery process looks for new events and webhooks"},
	{"webhooks", "tls_ca", T_STRING, O(webhooks_tls_ca), "", 0, 4096, R, NULL,
	 "CA file https endpoints are verified against; empty for the system's"},
	{"risk", "max_amount", T_STRING, O(risk_max_amount), "", 0, 2048, R, NULL,
	 "largest amount of one payment per currency (CUR:amount,...); empty for none"},
	{"risk", "velocity_count", T_INT, O(risk_velocity_count), "0", 0, 1000000, R, NULL,
	 "most payments one account may make within velocity_window; 0 for no limit"},
	{"risk", "velocity_sum", T_STRING, O(risk_velocity_sum), "", 0, 2048, R, NULL,
	 "most one account may pay within velocity_window per currency (CUR:amount,...)"},
	{"risk", "velocity_window", T_DURATION, O(risk_velocity_window_ms), "1h", SEC,
	 31 * 24 * HOUR, R, NULL, "the window of velocity_count and velocity_sum"},
	{"risk", "daily_limit", T_STRING, O(risk_daily_limit), "", 0, 2048, R, NULL,
	 "most one client may pay per UTC day per currency (CUR:amount,...)"},
	{"risk", "webhook_url", T_STRING, O(risk_webhook_url), "", 0, 2048, R, NULL,
	 "http:// URL asked to approve or decline each payment; empty for none"},
	{"risk", "webhook_timeout", T_DURATION, O(risk_webhook_timeout_ms), "500ms", 10, 10 * SEC,
	 R, NULL, "time for one risk webhook call: connect, send, and the answer"},
	{"risk", "webhook_policy", T_STRING, O(risk_webhook_policy), "open", 0, 16, R,
	 "open|closed", "a failed risk webhook call approves (open) or declines (closed)"},
	{"risk", "webhook_secret", T_STRING, O(risk_webhook_secret), "", 0, 1024, R | K_SECRET, NULL,
	 "key the risk webhook's requests are signed with (LedgerFlow-Signature); empty: unsigned"},
	{"risk", "webhook_secret_file", T_STRING, O(risk_webhook_secret_file), "", 0, 4096, R, NULL,
	 "file whose first line is webhook_secret; empty for none"},
};
/* clang-format on */
#define NKEYS (sizeof keys / sizeof keys[0])

static bool is_string(const struct key *k)
{
	return k->type == T_STRING || k->type == T_LISTEN;
}

#define FIELD(cfg, k, T) ((T *)(void *)((char *)(cfg) + (k)->off))
#define CFIELD(cfg, k, T) ((const T *)(const void *)((const char *)(cfg) + (k)->off))

/* ---- formatting ---- */

static const char *fmt_size(uint64_t v, char *buf, size_t len)
{
	int shift = 30;
	for (const char *sfx = "GMK"; *sfx; sfx++, shift -= 10)
		if (v >= (1ull << shift) && v % (1ull << shift) == 0) {
			snprintf(buf, len, "%llu%c", (unsigned long long)(v >> shift), *sfx);
			return buf;
		}
	snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

static const char *fmt_duration(int64_t ms, char *buf, size_t len)
{
	if (ms != 0 && ms % HOUR == 0)
		snprintf(buf, len, "%lldh", (long long)(ms / HOUR));
	else if (ms != 0 && ms % MINUTE == 0)
		snprintf(buf, len, "%lldm", (long long)(ms / MINUTE));
	else if (ms % SEC == 0)
		snprintf(buf, len, "%llds", (long long)(ms / SEC));
	else
		snprintf(buf, len, "%lldms", (long long)ms);
	return buf;
}

/* A value as it would be written in the file ("<hidden>" for secrets). */
static const char *fmt_value(const struct key *k, const struct lf_config *cfg, char *buf,
			     size_t len)
{
	const char *s;
	if (k->flags & K_SECRET)
		return "<hidden>";
	switch (k->type) {
	case T_STRING:
	case T_LISTEN:
		s = *CFIELD(cfg, k, char *const);
		snprintf(buf, len, "%s", s ? s : "");
		break;
	case T_UINT: snprintf(buf, len, "%u", *CFIELD(cfg, k, unsigned)); break;
	case T_INT:
	case T_WORKERS: snprintf(buf, len, "%d", *CFIELD(cfg, k, int)); break;
	case T_SIZE: fmt_size(*CFIELD(cfg, k, size_t), buf, len); break;
	case T_DURATION: fmt_duration(*CFIELD(cfg, k, int64_t), buf, len); break;
	case T_BOOL: snprintf(buf, len, "%s", *CFIELD(cfg, k, bool) ? "on" : "off"); break;
	}
	return buf;
}

/* Quote a user-supplied text for a message: printable ASCII kept, the
 * rest escaped, long texts cut. */
static const char *quote(const char *s, char *buf, size_t len)
{
	size_t o = 0, i;
	buf[o++] = '"';
	for (i = 0; s[i] && o + 8 < len && i < 64; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, len - o, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	snprintf(buf + o, len - o, "%s\"", s[i] ? "..." : "");
	return buf;
}

/* A name from the file, quoted only when it holds odd characters. */
static const char *show_name(const char *s, char *buf, size_t len)
{
	static const char ok[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
	size_t n = strlen(s);
	if (n == 0 || n >= 64 || strspn(s, ok) != n)
		return quote(s, buf, len);
	snprintf(buf, len, "%s", s);
	return buf;
}

/* ---- setting a value ---- */

struct load_ctx {
	struct lf_config *cfg;
	FILE *errors;
	unsigned nerrors;
	const char *path; /* the file being read */
	FILE *fp;
	unsigned lineno;
	char *line;
	size_t linecap;
	enum { SECTION_NONE, SECTION_OK, SECTION_BAD } section_state;
	unsigned seen[NKEYS];          /* line a key was set on in the file, 0 if not */
	const struct key *file_secret; /* the first secret the file sets non-empty */
};

/* One problem, one line: "SOURCE: section.key: text". src NULL means the
 * current line of the file. */
static void __attribute__((format(printf, 4, 5)))
report(struct load_ctx *c, const char *src, const struct key *k, const char *fmt, ...)
{
	va_list ap;
	c->nerrors++;
	if (!c->errors)
		return;
	if (src)
		fprintf(c->errors, "%s: ", src);
	else
		fprintf(c->errors, "%s:%u: ", c->path, c->lineno);
	if (k)
		fprintf(c->errors, "%s.%s: ", k->section, k->name);
	va_start(ap, fmt);
	vfprintf(c->errors, fmt, ap);
	va_end(ap);
	fputc('\n', c->errors);
}

static bool __attribute__((format(printf, 3, 4))) fail(char *why, size_t wlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, wlen, fmt, ap);
	va_end(ap);
	return false;
}

static bool check_range(const struct key *k, int64_t v, char *why, size_t wlen)
{
	char a[32], b[32];
	if (v >= k->min && v <= k->max)
		return true;
	if (k->type == T_SIZE)
		return fail(why, wlen, "is out of range (%s..%s)",
			    fmt_size((uint64_t)k->min, a, 32), fmt_size((uint64_t)k->max, b, 32));
	if (k->type == T_DURATION)
		return fail(why, wlen, "is out of range (%s..%s)", fmt_duration(k->min, a, 32),
			    fmt_duration(k->max, b, 32));
	return fail(why, wlen, "is out of range (%lld..%lld)", (long long)k->min,
		    (long long)k->max);
}

static bool check_choice(const char *choices, const char *v)
{
	size_t n = strlen(v);
	for (const char *p = choices; *p;) {
		size_t len = strcspn(p, "|");
		if (len == n && strncmp(p, v, n) == 0)
			return true;
		p += len + (p[len] == '|');
	}
	return false;
}

static bool set_string(char **field, const char *v, char *why, size_t wlen)
{
	char *dup = strdup(v);
	if (!dup)
		return fail(why, wlen, "out of memory");
	free(*field);
	*field = dup;
	return true;
}

/* Parse v into the key's field. On failure `why` says what is wrong, in
 * words that follow the value ("is not a size ..."). */
static bool set_value(const struct key *k, struct lf_config *cfg, const char *v, char *why,
		      size_t wlen)
{
	switch (k->type) {
	case T_STRING: {
		int64_t n = (int64_t)strlen(v);
		if (n == 0 && (k->flags & K_NONEMPTY))
			return fail(why, wlen, "must not be empty");
		if (n > k->max)
			return fail(why, wlen, "is too long (at most %lld bytes)",
				    (long long)k->max);
		for (const char *p = v; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return fail(why, wlen, "contains a control character");
		if (k->choices && !check_choice(k->choices, v))
			return fail(why, wlen, "must be one of %s", k->choices);
		char host[256];
		unsigned port;
		if ((k->flags & K_ADDRESS) && v[0] != '\0' &&
		    !lf_config_parse_listen(v, host, sizeof host, &port))
			return fail(why, wlen,
				    "is not host:port or [v6addr]:port with a port in 1..65535");
		return set_string(FIELD(cfg, k, char *), v, why, wlen);
	}
	case T_WORKERS:
		if (strcasecmp(v, "auto") == 0) {
			long cpus = sysconf(_SC_NPROCESSORS_ONLN);
			*FIELD(cfg, k, int) = (int)(cpus < k->min   ? k->min
						    : cpus > k->max ? k->max
								    : cpus);
			return true;
		}
		/* fall through */
	case T_UINT:
	case T_INT: {
		bool neg = (k->type == T_INT && v[0] == '-');
		const char *end;
		uint64_t u;
		if (!parse_u64(v + neg, &end, &u) || *end != '\0' || u > (uint64_t)INT64_MAX)
			return fail(why, wlen, "is not %s",
				    k->type == T_WORKERS ? "a number or auto"
				    : k->type == T_INT   ? "an integer"
							 : "a number");
		int64_t n = neg ? -(int64_t)u : (int64_t)u;
		if (!check_range(k, n, why, wlen))
			return false;
		if (k->type == T_UINT)
			*FIELD(cfg, k, unsigned) = (unsigned)n;
		else
			*FIELD(cfg, k, int) = (int)n;
		return true;
	}
	case T_SIZE: {
		size_t sz;
		if (!lf_config_parse_size(v, &sz))
			return fail(why, wlen,
				    "is not a size (bytes, or a number with a K, M or G suffix)");
		if (!check_range(k, sz > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)sz, why, wlen))
			return false;
		*FIELD(cfg, k, size_t) = sz;
		return true;
	}
	case T_DURATION: {
		int64_t n;
		if (!lf_config_parse_duration(v, &n))
			return fail(
				why, wlen,
				"is not a duration (a number with ms, s, m or h; bare = seconds)");
		if (!check_range(k, n, why, wlen))
			return false;
		if ((k->flags & K_WHOLE_SEC) && n % SEC != 0)
			return fail(why, wlen, "must be a whole number of seconds");
		*FIELD(cfg, k, int64_t) = n;
		return true;
	}
	case T_BOOL:
		if (!lf_config_parse_bool(v, FIELD(cfg, k, bool)))
			return fail(why, wlen,
				    "is not a boolean (on/off, yes/no, true/false, 1/0)");
		return true;
	case T_LISTEN:
		if (!lf_config_parse_listen(v, cfg->listen_host, sizeof cfg->listen_host,
					    &cfg->listen_port))
			return fail(why, wlen,
				    "is not host:port or [v6addr]:port with a port in 1..65535");
		return set_string(FIELD(cfg, k, char *), v, why, wlen);
	}
	return fail(why, wlen, "has an unknown type");
}

static void apply(struct load_ctx *c, const struct key *k, const char *v, const char *src)
{
	char why[160], q[300];
	if (!set_value(k, c->cfg, v, why, sizeof why))
		report(c, src, k, "%s %s", (k->flags & K_SECRET) ? "value" : quote(v, q, sizeof q),
		       why);
}

static const struct key *find_key(const char *section, const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcasecmp(keys[i].section, section) == 0 &&
		    strcasecmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static bool known_section(const char *section)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcasecmp(keys[i].section, section) == 0)
			return true;
	return false;
}

/* ---- the file ---- */

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *c = user;
	char q[300];
	if (c->section_state == SECTION_BAD)
		return 1; /* the reader already reported the section header */
	if (section[0] == '\0') {
		report(c, NULL, NULL, "key %s outside of any [section]",
		       show_name(name, q, sizeof q));
		return 1;
	}
	const struct key *k = find_key(section, name);
	if (!k) {
		report(c, NULL, NULL, "%s.%s: unknown key", section, show_name(name, q, sizeof q));
		return 1;
	}
	if (c->seen[k - keys]) {
		report(c, NULL, k, "already set on line %u", c->seen[k - keys]);
		return 1;
	}
	c->seen[k - keys] = c->lineno;
	if ((k->flags & K_SECRET) && value[0] != '\0' && !c->file_secret)
		c->file_secret = k;
	apply(c, k, value, NULL);
	return 1; /* keep going: every problem gets reported */
}

/* Syntax we reject before inih sees the line; returns NULL if fine. */
static const char *bad_syntax(struct load_ctx *c, const char *s)
{
	if (*s == '\0' || *s == ';' || *s == '#')
		return NULL;
	if (*s == '[') {
		const char *close = strchr(s, ']');
		c->section_state = SECTION_BAD;
		if (!close)
			return "missing ] after the section name";
		const char *after;
		for (after = close + 1; *after == ' ' || *after == '\t'; after++)
			;
		if (*after != '\0' && *after != ';' && *after != '#')
			return "text after the section header";
		char name[64], q[300];
		size_t n = (size_t)(close - s - 1);
		if (n >= sizeof name)
			n = sizeof name - 1;
		memcpy(name, s + 1, n);
		name[n] = '\0';
		if (!known_section(name)) {
			report(c, NULL, NULL, "unknown section [%s]", show_name(name, q, sizeof q));
			return NULL;
		}
		c->section_state = SECTION_OK;
		return NULL;
	}
	/* "key = value" only; inih would also split at ':' */
	if (strcspn(s, "=") == strlen(s) || strcspn(s, ":") < strcspn(s, "="))
		return "expected key = value";
	return NULL;
}

/* inih line reader: numbers the lines, drops leading blanks (so indented
 * keys are not taken for continuation lines) and reports malformed lines
 * itself, handing inih an empty line instead. */
static char *read_line(char *str, int num, void *stream)
{
	struct load_ctx *c = stream;
	ssize_t n = getline(&c->line, &c->linecap, c->fp);
	const char *why = NULL;
	char *s;
	size_t len;
	if (n < 0)
		return NULL;
	c->lineno++;
	if (strlen(c->line) != (size_t)n)
		why = "line contains a NUL byte";
	s = c->line;
	if (c->lineno == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;
	while (*s == ' ' || *s == '\t')
		s++;
	len = strcspn(s, "\r\n");
	s[len] = '\0';
	if (why)
		;
	else if (num < 2 || len > (size_t)num - 2)
		why = "line too long";
	else
		why = bad_syntax(c, s);
	if (why) {
		report(c, NULL, NULL, "%s", why);
		s[0] = '\0';
		len = 0;
	}
	memcpy(str, s, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	return str;
}

static void load_file(struct load_ctx *c, const char *path)
{
	c->path = path;
	c->fp = fopen(path, "re");
	if (!c->fp) {
		report(c, path, NULL, "cannot open: %s", strerror(errno));
		return;
	}
	int rc = ini_parse_stream(read_line, c, on_key, c);
	if (rc > 0) {
		c->lineno = (unsigned)rc;
		report(c, NULL, NULL, "syntax error");
	} else if (rc < 0) {
		report(c, path, NULL, "cannot parse (out of memory)");
	}
	if (ferror(c->fp))
		report(c, path, NULL, "read error: %s", strerror(errno));
	fclose(c->fp);
	c->fp = NULL;
	free(c->line);
	c->line = NULL;
	c->linecap = 0;
}

/* ---- public ---- */

static void env_name(const struct key *k, char *buf, size_t len)
{
	size_t o = (size_t)snprintf(buf, len, "LEDGERFLOW_%s_%s", k->section, k->name);
	for (size_t i = 0; i < o && i < len; i++)
		buf[i] = (char)toupper((unsigned char)buf[i]);
}

void lf_config_defaults(struct lf_config *cfg)
{
	struct load_ctx c = {.cfg = cfg};
	memset(cfg, 0, sizeof *cfg);
	/* the defaults go through the same parsers; the tests check they pass */
	for (size_t i = 0; i < NKEYS; i++)
		apply(&c, &keys[i], keys[i].def, "default");
}

/* Where key k got its value: "$VARIABLE", "FILE:LINE" or "default". */
static const char *key_source(const struct load_ctx *c, const struct key *k, char *buf, size_t len)
{
	char name[128];
	env_name(k, name, sizeof name);
	if (getenv(name))
		snprintf(buf, len, "$%s", name);
	else if (c->seen[k - keys])
		snprintf(buf, len, "%s:%u", c->path, c->seen[k - keys]);
	else
		snprintf(buf, len, "default");
	return buf;
}

/* The files that hold passwords: key, its password key, and whether only
 * the administrative commands read it (ledgerflowctl; never the daemon,
 * which need not be able to read the admin's secret). */
static const struct {
	const char *section, *file_key, *password_key;
	bool admin;
} secret_files[] = {
	{"mysql", "password_file", "password", false},
	{"mysql", "admin_password_file", "admin_password", true},
	{"redis", "password_file", "password", false},
	{"mysql_replica", "password_file", "password", false},
	{"risk", "webhook_secret_file", "webhook_secret", false},
};

/* Last, with every value known: the passwords kept in files, and the
 * permissions of the files that hold secrets (config_secrets.c). */
static void apply_secrets(struct load_ctx *c, bool admin)
{
	const char *policy = c->cfg->secret_permissions;
	struct cfg_secrets x = {.errors = c->errors,
				.refuse = policy && strcmp(policy, "refuse") == 0};
	char src[300];
	if (c->file_secret) {
		const struct key *k = c->file_secret;
		snprintf(src, sizeof src, "%s:%u", c->path, c->seen[k - keys]);
		cfg_secrets_check_conf(&x, c->path, src, k->section, k->name);
	}
	for (size_t i = 0; i < sizeof secret_files / sizeof secret_files[0]; i++) {
		if (secret_files[i].admin && !admin)
			continue;
		const struct key *fk = find_key(secret_files[i].section, secret_files[i].file_key);
		const struct key *pk =
			find_key(secret_files[i].section, secret_files[i].password_key);
		const char *file = *FIELD(c->cfg, fk, char *);
		if (file && file[0])
			cfg_secrets_password_file(&x, key_source(c, fk, src, sizeof src),
						  fk->section, fk->name, pk->name, file,
						  (size_t)pk->max, FIELD(c->cfg, pk, char *));
	}
	/* the private keys of TLS client certificates */
	static const char *const key_files[][2] = {{"mysql", "ssl_key"}, {"redis", "tls_key"}};
	for (size_t i = 0; i < sizeof key_files / sizeof key_files[0]; i++) {
		const struct key *k = find_key(key_files[i][0], key_files[i][1]);
		const char *file = *FIELD(c->cfg, k, char *);
		if (file && file[0])
			cfg_secrets_check_key_file(&x, key_source(c, k, src, sizeof src),
						   k->section, k->name, file);
	}
	c->nerrors += x.nerrors;
}

/* Keys that are valid alone but not together. */
static void combination_problem(struct load_ctx *c, const char *section, const char *name,
				const char *text)
{
	char src[300];
	if (c->errors)
		fprintf(c->errors, "%s: %s.%s: %s\n",
			key_source(c, find_key(section, name), src, sizeof src), section, name,
			text);
	c->nerrors++;
}

static void check_combinations(struct load_ctx *c)
{
	const struct lf_config *cfg = c->cfg;
	if (c->nerrors > 0)
		return; /* a value may be missing */
	if (strcmp(cfg->mysql_ssl_mode, "verify_ca") == 0 && cfg->mysql_ssl_ca[0] == '\0')
		combination_problem(c, "mysql", "ssl_mode", "verify_ca needs mysql.ssl_ca");
	char why[160];
	if (!lf_host_list_ok(cfg->mysql_host, why, sizeof why))
		combination_problem(c, "mysql", "host", why);
	if (cfg->replica_host[0] != '\0' && !lf_host_list_ok(cfg->replica_host, why, sizeof why))
		combination_problem(c, "mysql_replica", "host", why);
	if (cfg->redis_sentinels[0] != '\0' &&
	    !lf_sentinel_list_ok(cfg->redis_sentinels, why, sizeof why))
		combination_problem(c, "redis", "sentinels", why);
	else if (cfg->redis_sentinels[0] != '\0' && cfg->redis_master_name[0] == '\0')
		combination_problem(c, "redis", "sentinels", "sentinels need redis.master_name");
	if (cfg->redis_tls && (cfg->redis_tls_cert[0] == '\0') != (cfg->redis_tls_key[0] == '\0'))
		combination_problem(c, "redis", "tls_cert",
				    "redis.tls_cert and redis.tls_key go together");
	if (strcmp(cfg->mysql_ssl_mode, "disabled") != 0 &&
	    (cfg->mysql_ssl_cert[0] == '\0') != (cfg->mysql_ssl_key[0] == '\0'))
		combination_problem(c, "mysql", "ssl_cert",
				    "mysql.ssl_cert and mysql.ssl_key go together");
	if (!lf_risk_amounts_ok(cfg->risk_max_amount, why, sizeof why))
		combination_problem(c, "risk", "max_amount", why);
	if (!lf_risk_amounts_ok(cfg->risk_velocity_sum, why, sizeof why))
		combination_problem(c, "risk", "velocity_sum", why);
	if (!lf_risk_amounts_ok(cfg->risk_daily_limit, why, sizeof why))
		combination_problem(c, "risk", "daily_limit", why);
	char host[256], path[8];
	unsigned port;
	if (cfg->risk_webhook_url[0] != '\0' &&
	    !lf_risk_url_parse(cfg->risk_webhook_url, host, sizeof host, &port, path, sizeof path))
		combination_problem(c, "risk", "webhook_url",
				    "is not http://host[:port][/path] (a name or an IPv4 address)");
}

static bool load(struct lf_config *cfg, const char *path, FILE *errors, bool admin)
{
	struct load_ctx c = {.cfg = cfg, .errors = errors};
	char name[128], src[160];
	lf_config_defaults(cfg);
	if (path)
		load_file(&c, path);
	for (size_t i = 0; i < NKEYS; i++) {
		env_name(&keys[i], name, sizeof name);
		const char *v = getenv(name);
		if (v) {
			snprintf(src, sizeof src, "$%s", name);
			apply(&c, &keys[i], v, src);
		}
	}
	apply_secrets(&c, admin);
	check_combinations(&c);
	if (c.nerrors == 0)
		return true;
	lf_config_clear(cfg);
	return false;
}

bool lf_config_load(struct lf_config *cfg, const char *path, FILE *errors)
{
	return load(cfg, path, errors, false);
}

bool lf_config_load_admin(struct lf_config *cfg, const char *path, FILE *errors)
{
	return load(cfg, path, errors, true);
}

void lf_config_clear(struct lf_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < NKEYS; i++) {
		if (is_string(&keys[i])) {
			char **f = FIELD(cfg, &keys[i], char *);
			free(*f);
			*f = NULL;
		}
	}
	memset(cfg, 0, sizeof *cfg);
}

static size_t type_size(enum key_type t)
{
	switch (t) {
	case T_UINT: return sizeof(unsigned);
	case T_INT:
	case T_WORKERS: return sizeof(int);
	case T_SIZE: return sizeof(size_t);
	case T_DURATION: return sizeof(int64_t);
	case T_BOOL: return sizeof(bool);
	default: return sizeof(char *);
	}
}

void lf_config_keep_unreloadable(const struct lf_config *cur, struct lf_config *next, FILE *warn)
{
	char a[300], b[300];
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		const char *old = is_string(k) ? *CFIELD(cur, k, char *const) : NULL;
		char *dup;
		if (k->flags & K_RELOAD)
			continue;
		if (is_string(k)
			    ? strcmp(old ? old : "",
				     *FIELD(next, k, char *) ? *FIELD(next, k, char *) : "") == 0
			    : memcmp((const char *)cur + k->off, (char *)next + k->off,
				     type_size(k->type)) == 0)
			continue;
		if (warn)
			fprintf(warn,
				"%s.%s: changed from %s to %s, which needs a restart; keeping %s\n",
				k->section, k->name, fmt_value(k, cur, a, sizeof a),
				fmt_value(k, next, b, sizeof b), a);
		if (!is_string(k)) {
			memcpy((char *)next + k->off, (const char *)cur + k->off,
			       type_size(k->type));
			continue;
		}
		if (!(dup = strdup(old ? old : ""))) {
			if (warn)
				fprintf(warn, "%s.%s: out of memory keeping the old value\n",
					k->section, k->name);
			continue;
		}
		free(*FIELD(next, k, char *));
		*FIELD(next, k, char *) = dup;
		if (k->type == T_LISTEN) {
			memcpy(next->listen_host, cur->listen_host, sizeof next->listen_host);
			next->listen_port = cur->listen_port;
		}
	}
}

size_t lf_config_key_count(void)
{
	return NKEYS;
}

const char *lf_config_key_name(size_t i, char *buf, size_t len)
{
	if (i >= NKEYS || !buf)
		return NULL;
	if ((size_t)snprintf(buf, len, "%s.%s", keys[i].section, keys[i].name) >= len)
		return NULL;
	return buf;
}

bool lf_config_key_info(size_t i, struct lf_config_key_info *out)
{
	if (i >= NKEYS || !out)
		return false;
	out->section = keys[i].section;
	out->name = keys[i].name;
	out->default_text = keys[i].def;
	out->description = keys[i].desc;
	out->reloadable = (keys[i].flags & K_RELOAD) != 0;
	out->secret = (keys[i].flags & K_SECRET) != 0;
	out->build_default = (keys[i].flags & K_BUILD) != 0;
	return true;
}
