/*
 * core/log.c - structured logging. Every event is one logfmt line:
 *   ts=2026-11-25T14:52:28.123Z level=info pid=123 role=worker msg=ready key=value...
 * written with a single write(2) so lines from several processes sharing
 * one file (O_APPEND) or stderr never interleave. The file is reopened on
 * SIGUSR1 by the master and each worker (log rotation).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
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

void lf_log(enum lf_log_level level, const char *msg, const char *fmt, ...)
{
	static const char *const names[] = {"debug", "info", "warn", "error"};
	if (level < log_min)
		return;
	int saved_errno = errno;
	char line[2048];
	char ts[LF_TIME_STR_LEN + 1];
	lf_time_format_ms(lf_time_now_ms(), ts);
	int n = snprintf(line, sizeof line, "ts=%s level=%s pid=%ld role=%s msg=%s", ts,
			 names[level], (long)getpid(), log_role, msg);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof line)
		n = sizeof line - 2;
	if (fmt != NULL && fmt[0] != '\0' && (size_t)n < sizeof line - 2) {
		line[n++] = ' ';
		va_list ap;
		va_start(ap, fmt);
		int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
		va_end(ap);
		if (m > 0)
			n += m;
		else
			n--; /* nothing added: drop the separator */
		if ((size_t)n > sizeof line - 2)
			n = sizeof line - 2;
	}
	line[n++] = '\n';
	ssize_t w = write(log_fd, line, (size_t)n);
	(void)w;
	errno = saved_errno;
}
