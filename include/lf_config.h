/*
 * lf_config.h - the configuration: every key declared once in a table
 * (section, name, type, default, reloadable), parsed from an INI file with
 * inih, overridden from LEDGERFLOW_<SECTION>_<KEY> environment variables,
 * and validated with the offending key named.
 */
#ifndef LF_CONFIG_H
#define LF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct lf_config {
	/* [server] */
	char *listen;          /* "127.0.0.1:8080" as written */
	char listen_host[256]; /* parsed from listen */
	unsigned listen_port;
	int workers;            /* resolved: "auto" = number of CPUs */
	size_t max_body_size;   /* bytes */
	size_t max_header_size; /* bytes */
	char *pid_file;
	int64_t shutdown_timeout_ms;
	int64_t request_timeout_ms;   /* per-request deadline */
	int64_t keepalive_timeout_ms; /* idle keep-alive connections */
	int64_t header_timeout_ms;    /* header section complete, from its first byte */
	int64_t body_timeout_ms;      /* body complete, from the end of the headers */
	int max_connections;          /* per worker; past it a new connection is closed */
	int backlog;
	char *log_level; /* debug|info|warn|error */
	char *log_file;  /* "" or "-": stderr */
	bool access_log;
	char *metrics_listen;     /* "" or host:port: /metrics on an address of its own */
	char *secret_permissions; /* warn|refuse: a secret file others may read */
	/* [mysql] */
	char *mysql_host;
	unsigned mysql_port;
	char *mysql_user;
	char *mysql_password; /* from password_file when that is set */
	char *mysql_password_file;
	char *mysql_admin_user;     /* ledgerflowctl's admin commands; "" = mysql_user */
	char *mysql_admin_password; /* from admin_password_file, by lf_config_load_admin */
	char *mysql_admin_password_file;
	char *mysql_database;
	char *mysql_socket; /* "" = TCP */
	int pool_size;
	int64_t mysql_request_timeout_ms;
	int64_t mysql_connect_timeout_ms;
	int64_t mysql_lock_wait_timeout_ms;
	int mysql_max_retries;
	int mysql_max_queue; /* per worker: jobs waiting for a connection; past it 503 */
	int mysql_batch_max; /* jobs of a batch kind run together (group commit) */
	int mysql_batch_window_us;
	int mysql_batch_concurrency;
	bool mysql_loop_reads;              /* account reads on the event loop (store/loopread.c) */
	int64_t mysql_failback_interval_ms; /* back to an earlier [mysql] host node */
	char *mysql_ssl_mode; /* disabled|preferred|required|verify_ca|verify_identity */
	char *mysql_ssl_ca, *mysql_ssl_cert, *mysql_ssl_key; /* "" = none */
	/* [mysql_replica]: reads while it is healthy and not behind */
	char *replica_host; /* "" = none */
	unsigned replica_port;
	char *replica_user;     /* "" = mysql_user (and mysql_password) */
	char *replica_password; /* from password_file when that is set */
	char *replica_password_file;
	char *replica_database; /* "" = mysql_database */
	char *replica_socket;   /* "" = TCP */
	int replica_pool_size;
	int64_t replica_connect_timeout_ms;
	int64_t replica_request_timeout_ms;
	int64_t replica_max_lag_ms;
	/* [redis] */
	char *redis_host;
	unsigned redis_port;
	char *redis_user;     /* ACL user ("" = the default user) */
	char *redis_password; /* from password_file when that is set */
	char *redis_password_file;
	int redis_db;
	int64_t redis_timeout_ms;
	int64_t redis_breaker_cooldown_ms;
	char *redis_sentinels;   /* "host:port,..." ("" = host and port) */
	char *redis_master_name; /* with sentinels */
	bool redis_tls;          /* through the worker's TLS relay (redis/tls.c) */
	char *redis_tls_ca, *redis_tls_cert, *redis_tls_key; /* "" = system CAs / none */
	char *redis_tls_server_name;                         /* "" = redis_host */
	/* [tracing] */
	char *tracing_endpoint; /* "" = no traces */
	int tracing_sample_percent;
	int64_t tracing_flush_interval_ms;
	int tracing_max_queue;
	int64_t tracing_timeout_ms;
	char *tracing_service_name;
	/* [cache] */
	size_t cache_size;
	/* [idempotency] */
	int64_t idempotency_retention_ms;
	int64_t idempotency_reap_interval_ms;
	int64_t payments_hold_timeout_ms;    /* a hold's life unless the request says */
	int64_t payments_expire_interval_ms; /* how often holds past their time expire */
	/* [auth] */
	bool auth_enabled;
	bool auth_ops_public; /* /healthz /readyz /metrics without a key */
	char *auth_pepper_file;
	int64_t auth_rotate_grace_ms; /* an old key's life after client rotate */
	int64_t auth_cache_ttl_ms;    /* a worker's trust in a cached key lookup */
	/* [ratelimit] */
	int ratelimit_rate;           /* per client, per second; burst = rate */
	int ratelimit_anonymous_rate; /* per source address without a valid key */
	bool ratelimit_global;        /* also counted across hosts in Redis */
	/* where sql/ migrations live */
	char *sql_dir;
	/* [webhooks]: the delivery process (src/webhooks/) */
	bool webhooks_enabled;
	int64_t webhooks_max_age_ms;       /* retried until the event is this old */
	int64_t webhooks_timeout_ms;       /* one delivery: connect, send, answer */
	int webhooks_max_in_flight;        /* deliveries under way at once */
	int64_t webhooks_retry_base_ms;    /* first back-off; doubles per attempt */
	int64_t webhooks_retry_max_ms;     /* longest back-off */
	int64_t webhooks_poll_interval_ms; /* how often new events are looked for */
	char *webhooks_tls_ca;             /* https: CA file; "" for the system's */
	/* [risk]: the risk rules (lf_risk.h); every one off by default */
	char *risk_max_amount;           /* "CUR:amount,...": largest payment; "" off */
	int risk_velocity_count;         /* payments per account per window; 0 off */
	char *risk_velocity_sum;         /* "CUR:amount,...": per account per window */
	int64_t risk_velocity_window_ms; /* the velocity rules' window */
	char *risk_daily_limit;          /* "CUR:amount,...": per client per UTC day */
	char *risk_webhook_url;          /* "" = no risk webhook */
	int64_t risk_webhook_timeout_ms; /* the whole call: connect, send, answer */
	char *risk_webhook_policy;       /* open|closed: what a failed call means */
	char *risk_webhook_secret;       /* signs its requests; "" unsigned */
	char *risk_webhook_secret_file;  /* the secret's file; "" none */
};

/* Defaults only (strings are allocated: lf_config_clear() them). `cfg` is
 * overwritten, not freed first. */
void lf_config_defaults(struct lf_config *cfg);
/* Load defaults, then `path` (if non-NULL), then the environment
 * (LEDGERFLOW_<SECTION>_<KEY>), then read the password files
 * ([mysql]/[redis] password_file). Problems are printed to `errors` (may be
 * NULL) one per line, "SOURCE: section.key: problem" where SOURCE is
 * FILE:LINE or $VARIABLE; secret values are never printed. A file holding
 * a secret that others may read is a warning line ("... : warning: ...",
 * the load still succeeds) or, with server.secret_permissions = refuse, a
 * problem. Returns true when there were no problems; on false `cfg` has
 * been freed (all zero). */
bool lf_config_load(struct lf_config *cfg, const char *path, FILE *errors)
	__attribute__((warn_unused_result));
/* lf_config_load, and also read [mysql] admin_password_file (the daemon
 * never does: only ledgerflowctl's administrative commands need it). */
bool lf_config_load_admin(struct lf_config *cfg, const char *path, FILE *errors)
	__attribute__((warn_unused_result));
/* Frees the strings and zeroes `cfg`; safe to call twice. */
void lf_config_clear(struct lf_config *cfg);
/* Keys whose change needs a restart; prints a warning for each changed
 * one and keeps the old value in `next`. */
void lf_config_keep_unreloadable(const struct lf_config *cur, struct lf_config *next, FILE *warn);

/* Value parsers (exported for tests). */
bool lf_config_parse_size(const char *s, size_t *out);     /* 64K, 1M, 2G, 123 */
bool lf_config_parse_duration(const char *s, int64_t *ms); /* 30s, 500ms, 2m, 1h, 3d, 5 (= s) */
bool lf_config_parse_bool(const char *s, bool *out);       /* on/off, yes/no, true/false, 1/0 */
bool lf_config_parse_listen(const char *s, char *host, size_t hostlen, unsigned *port);
/* [redis] sentinels: 1..16 "host:port" separated by commas; else false
 * with the reason in why. */
bool lf_sentinel_list_ok(const char *list, char *why, size_t len);
/* [mysql] host: one host, or nodes "host[:port],..." ([v6]:port). */
bool lf_host_list_ok(const char *list, char *why, size_t len);

/* Iterate the key table (for `-t`, docs checks): returns the number of keys. */
size_t lf_config_key_count(void);
/* "section.key" of key i, or NULL past the end. */
const char *lf_config_key_name(size_t i, char *buf, size_t len);

struct lf_config_key_info {
	const char *section, *name;
	const char *default_text; /* as it would be written in the file */
	const char *description;  /* one line */
	bool reloadable;          /* takes effect on SIGHUP */
	bool secret;              /* never printed */
	bool build_default;       /* the default is a path chosen by the build */
};
/* Describe key i; false past the end. */
bool lf_config_key_info(size_t i, struct lf_config_key_info *out);

#endif
