/*
 * core/log.c - structured logging. Every event is one logfmt line:
 *   ts=2026-11-25T14:52:28.123Z level=info pid=123 role=worker msg=ready
 *   [request_id=... [trace_id=...]] key=value... [suppressed=N]
 * written with a single write(2) so lines from several processes sharing
 * one file (O_APPEND) or stderr never interleave. The file is reopened on
 * SIGUSR1 by the master and each worker (log rotation). Also owns the
 * thread-local request context every line carries and the per-kind token
 * buckets of lf_log_limited (one mutex, shared by the event loop and the
 * database pool threads of a worker).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lf_log.h"
#include "lf_time.h"

static int log_fd = STDERR_FILENO;
static char *log_path;
static enum lf_log_level log_min = LF_LOG_INFO;
static const char *log_role = "main";

bool lf_log_parse_level(const char *name, enum lf_log_level *out)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	for (unsigned i = 0; i < 4; i++) {
		if (strcasecmp(name, names[i]) == 0) {
			*out = (enum lf_log_level)i;
			return true;
		}
	}
	return false;
}

static int open_log_file(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

bool lf_log_open(const char *path, const char *level)
{
	if (level != NULL)
		(void)lf_log_parse_level(level, &log_min);
	lf_log_close();
	if (path == NULL || path[0] == '\0' || strcmp(path, "-") == 0)
		return true;
	int fd = open_log_file(path);
	if (fd < 0)
		return false;
	log_fd = fd;
	log_path = strdup(path);
	return true;
}

bool lf_log_reopen(void)
{
	if (log_path == NULL)
		return true;
	int fd = open_log_file(log_path);
	if (fd < 0)
		return false;
	int old = log_fd;
	log_fd = fd;
	if (old != STDERR_FILENO)
		close(old);
	return true;
}

void lf_log_close(void)
{
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = STDERR_FILENO;
	free(log_path);
	log_path = NULL;
}

void lf_log_set_role(const char *role)
{
	log_role = role;
}

bool lf_log_enabled(enum lf_log_level level)
{
	return level >= log_min;
}

const char *lf_log_quote(const char *value, char *buf, unsigned len)
{
	unsigned o = 0;
	if (len < 3) {
		if (len > 0)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (const unsigned char *p = (const unsigned char *)(value ? value : ""); *p; p++) {
		if (o + 6 >= len)
			break;
		if (*p == '"' || *p == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)*p;
		} else if (*p < 0x20 || *p == 0x7f) {
			o += (unsigned)snprintf(buf + o, len - o, "\\x%02x", *p);
		} else {
			buf[o++] = (char)*p;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* ---- request context ---- */

static __thread struct lf_log_ctx cur_ctx;
static __thread bool cur_set;

void lf_log_ctx_set(const struct lf_log_ctx *ctx)
{
	if (ctx == NULL || ctx->request_id[0] == '\0') {
		cur_set = false;
		return;
	}
	cur_ctx = *ctx;
	cur_ctx.request_id[sizeof cur_ctx.request_id - 1] = '\0';
	cur_ctx.trace_id[sizeof cur_ctx.trace_id - 1] = '\0';
	cur_ctx.span_id[sizeof cur_ctx.span_id - 1] = '\0';
	cur_ctx.parent_span_id[sizeof cur_ctx.parent_span_id - 1] = '\0';
	cur_set = true;
}

void lf_log_ctx_clear(void)
{
	cur_set = false;
}

bool lf_log_ctx_get(struct lf_log_ctx *out)
{
	if (!cur_set) {
		memset(out, 0, sizeof *out);
		return false;
	}
	*out = cur_ctx;
	return true;
}

void lf_log_scope_enter(struct lf_log_scope *s, const struct lf_log_ctx *ctx)
{
	s->had = lf_log_ctx_get(&s->saved);
	lf_log_ctx_set(ctx);
}

void lf_log_scope_leave(struct lf_log_scope *s)
{
	lf_log_ctx_set(s->had ? &s->saved : NULL);
}

/* ---- writing a line ---- */

#define LINE_MAX_RAW 2048

/* Copy src[0..n) into dst (cap bytes), escaping CR and LF; returns the
 * length written. */
static size_t copy_escaped(char *dst, size_t cap, const char *src, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 2 < cap; i++) {
		if (src[i] == '\n' || src[i] == '\r') {
			dst[o++] = '\\';
			dst[o++] = src[i] == '\n' ? 'n' : 'r';
		} else {
			dst[o++] = src[i];
		}
	}
	return o;
}

static void vlog(enum lf_log_level level, const char *msg, uint64_t suppressed, const char *fmt,
		 va_list ap)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	char raw[LINE_MAX_RAW];
	char ts[LF_TIME_STR_LEN + 1];
	lf_time_format_ms(lf_time_now_ms(), ts);
	size_t cap = sizeof raw - 32; /* room for " suppressed=N" */
	int n = snprintf(raw, cap, "ts=%s level=%s pid=%ld role=%s msg=%s", ts, names[level],
			 (long)getpid(), log_role, msg);
	if (n < 0)
		n = 0;
	if ((size_t)n >= cap)
		n = (int)cap - 1;
	if (cur_set && (size_t)n < cap - 1) {
		int m = snprintf(raw + n, cap - (size_t)n, " request_id=%s%s%s", cur_ctx.request_id,
				 cur_ctx.trace_id[0] ? " trace_id=" : "", cur_ctx.trace_id);
		if (m > 0)
			n += m;
		if ((size_t)n >= cap)
			n = (int)cap - 1;
	}
	if (fmt != NULL && fmt[0] != '\0' && (size_t)n < cap - 2) {
		raw[n++] = ' ';
		int m = vsnprintf(raw + n, cap - (size_t)n, fmt, ap);
		if (m > 0)
			n += m;
		else
			n--; /* nothing added: drop the separator */
		if ((size_t)n >= cap)
			n = (int)cap - 1;
	}
	if (suppressed > 0)
		n += snprintf(raw + n, sizeof raw - (size_t)n, " suppressed=%llu",
			      (unsigned long long)suppressed);
	char line[2 * LINE_MAX_RAW + 2];
	size_t len = copy_escaped(line, sizeof line - 1, raw, (size_t)n);
	line[len++] = '\n';
	ssize_t w = write(log_fd, line, len);
	(void)w;
}

void lf_log(enum lf_log_level level, const char *msg, const char *fmt, ...)
{
	if (level < log_min)
		return;
	int saved_errno = errno;
	va_list ap;
	va_start(ap, fmt);
	vlog(level, msg, 0, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

/* ---- rate limit per kind: token buckets ---- */

#define LIMIT_KINDS 32
#define LIMIT_MILLI 1000 /* one token */

struct bucket {
	char kind[32];
	int64_t tokens; /* thousandths of a token */
	int64_t last_ms;
	uint64_t suppressed;
};

static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bucket buckets[LIMIT_KINDS]; /* guarded by limit_lock */
static unsigned nbuckets;                  /* guarded by limit_lock */

/* The kind's bucket; a new kind starts full. When the table is full the
 * last slot is shared by every further kind. */
static struct bucket *bucket_for_locked(const char *kind, int64_t now)
{
	for (unsigned i = 0; i < nbuckets; i++)
		if (strncmp(buckets[i].kind, kind, sizeof buckets[i].kind - 1) == 0)
			return &buckets[i];
	if (nbuckets == LIMIT_KINDS)
		return &buckets[LIMIT_KINDS - 1];
	struct bucket *b = &buckets[nbuckets++];
	snprintf(b->kind, sizeof b->kind, "%s", kind);
	b->tokens = (int64_t)LF_LOG_LIMIT_BURST * LIMIT_MILLI;
	b->last_ms = now;
	b->suppressed = 0;
	return b;
}

/* Take a token for kind: true with *suppressed (lines dropped since the
 * last one let through), or false and the drop counted. */
static bool limit_take(const char *kind, uint64_t *suppressed)
{
	int64_t now = lf_time_monotonic_ms();
	pthread_mutex_lock(&limit_lock);
	struct bucket *b = bucket_for_locked(kind, now);
	if (now > b->last_ms) {
		/* LF_LOG_LIMIT_PER_S tokens a second = that many thousandths a ms */
		b->tokens += (now - b->last_ms) * LF_LOG_LIMIT_PER_S;
		if (b->tokens > (int64_t)LF_LOG_LIMIT_BURST * LIMIT_MILLI)
			b->tokens = (int64_t)LF_LOG_LIMIT_BURST * LIMIT_MILLI;
		b->last_ms = now;
	}
	bool ok = b->tokens >= LIMIT_MILLI;
	if (ok) {
		b->tokens -= LIMIT_MILLI;
		*suppressed = b->suppressed;
		b->suppressed = 0;
	} else {
		b->suppressed++;
	}
	pthread_mutex_unlock(&limit_lock);
	return ok;
}

bool lf_log_limited(enum lf_log_level level, const char *kind, const char *msg, const char *fmt,
		    ...)
{
	if (level < log_min)
		return false;
	int saved_errno = errno;
	uint64_t suppressed = 0;
	bool ok = limit_take(kind, &suppressed);
	if (ok) {
		va_list ap;
		va_start(ap, fmt);
		vlog(level, msg, suppressed, fmt, ap);
		va_end(ap);
	}
	errno = saved_errno;
	return ok;
}
