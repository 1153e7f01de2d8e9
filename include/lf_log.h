/*
 * lf_log.h - structured logging: one logfmt line per event, to stderr
 * (journald) or a file reopened on SIGUSR1, with levels, a per-thread
 * request context that every line carries, and a rate limit per kind of
 * failure so that a flood of one error cannot drown the log.
 */
#ifndef LF_LOG_H
#define LF_LOG_H

#include <stdbool.h>

enum lf_log_level { LF_LOG_DEBUG = 0, LF_LOG_INFO, LF_LOG_WARN, LF_LOG_ERROR };

/* path NULL, "" or "-": stderr. Returns false if the file cannot be opened
 * (logging then stays on stderr). */
bool lf_log_open(const char *path, const char *level);
bool lf_log_reopen(void);
void lf_log_close(void);
void lf_log_set_role(const char *role); /* "master", "worker", "ctl" */
bool lf_log_enabled(enum lf_log_level level);
bool lf_log_parse_level(const char *name, enum lf_log_level *out);

/* msg is a short event name; fmt adds logfmt pairs: "key=%s n=%d". Values
 * that can hold spaces, quotes or come from outside (error texts, paths,
 * host names) go through lf_log_quote(). A line never holds a raw CR or LF:
 * whatever slips through is escaped as \r / \n. */
void lf_log(enum lf_log_level level, const char *msg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like lf_log, rate limited per kind (a short string literal such as
 * "mysql_error", "redis_error", "db_pool_timeout", "cache_wipe"): at most
 * LF_LOG_LIMIT_BURST lines at once and LF_LOG_LIMIT_PER_S a second per
 * process, all threads together. The first line let through after some
 * were dropped ends with suppressed=N (lines of that kind not written).
 * Returns whether the line was written. */
#define LF_LOG_LIMIT_PER_S 5
#define LF_LOG_LIMIT_BURST 5
bool lf_log_limited(enum lf_log_level level, const char *kind, const char *msg, const char *fmt,
		    ...) __attribute__((format(printf, 4, 5)));

/* Quote a value for logfmt into buf (always quoted, escapes " and \ and
 * control characters, CR and LF included). Returns buf. */
const char *lf_log_quote(const char *value, char *buf, unsigned len);

/* ---- request context ----
 * The work of one request runs on several threads (the event loop, a
 * database pool thread) and across callbacks. Whoever starts a piece of
 * that work makes the request's context current on its thread, and every
 * line logged meanwhile carries request_id=... (and trace_id=... when
 * there is one) right after msg. The context is copied by value: save a
 * copy (lf_log_ctx_get) where work outlives the caller (a queued job, a
 * fire-and-forget Redis command) and make it current again around that
 * work. request_id holds only [A-Za-z0-9._:-] (lf_http checks it),
 * trace_id only lower-case hex, so both are written unquoted. */
struct lf_log_ctx {
	char request_id[129];
	char trace_id[33];
	/* tracing (lf_trace.h): the request's span, its parent, sampled */
	char span_id[17];
	char parent_span_id[17];
	bool sampled;
};

/* Make a copy of ctx the calling thread's current context (NULL or an
 * empty request_id: none). */
void lf_log_ctx_set(const struct lf_log_ctx *ctx);
void lf_log_ctx_clear(void);
/* Copy the current context into out; false (and out emptied) when none. */
bool lf_log_ctx_get(struct lf_log_ctx *out);

/* A scope restores what was current before it, so nested entry points (a
 * callback run from inside another's) leave the outer context intact:
 *   struct lf_log_scope s; lf_log_scope_enter(&s, &ctx); ...; lf_log_scope_leave(&s); */
struct lf_log_scope {
	struct lf_log_ctx saved;
	bool had;
};
void lf_log_scope_enter(struct lf_log_scope *s, const struct lf_log_ctx *ctx);
void lf_log_scope_leave(struct lf_log_scope *s);

#define lf_debug(msg, ...) lf_log(LF_LOG_DEBUG, msg, __VA_ARGS__)
#define lf_info(msg, ...) lf_log(LF_LOG_INFO, msg, __VA_ARGS__)
#define lf_warn(msg, ...) lf_log(LF_LOG_WARN, msg, __VA_ARGS__)
#define lf_error(msg, ...) lf_log(LF_LOG_ERROR, msg, __VA_ARGS__)

#endif
