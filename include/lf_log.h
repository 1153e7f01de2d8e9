/*
 * lf_log.h - structured logging: one logfmt line per event, to stderr
 * (journald) or a file reopened on SIGUSR1, with levels.
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
 * that may hold spaces should go through %q-like quoting: use
 * lf_log_quote(). */
void lf_log(enum lf_log_level level, const char *msg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Quote a value for logfmt into buf (always quoted, escapes " and \ and
 * control characters). Returns buf. */
const char *lf_log_quote(const char *value, char *buf, unsigned len);

#define lf_debug(msg, ...) lf_log(LF_LOG_DEBUG, msg, __VA_ARGS__)
#define lf_info(msg, ...) lf_log(LF_LOG_INFO, msg, __VA_ARGS__)
#define lf_warn(msg, ...) lf_log(LF_LOG_WARN, msg, __VA_ARGS__)
#define lf_error(msg, ...) lf_log(LF_LOG_ERROR, msg, __VA_ARGS__)

#endif
