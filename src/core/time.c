/*
 * core/time.c - clocks and timestamps. Owns reading the wall and monotonic
 * clocks in milliseconds and rendering Unix milliseconds as RFC 3339 UTC
 * text with exactly three fraction digits ("2026-11-25T14:52:28.123Z").
 */
#include "config.h"

#include "lf_time.h"

#include <time.h>

/* 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the range a
 * four-digit year can show; values outside are clamped to it. */
#define MIN_MS INT64_C(-62167219200000)
#define MAX_MS INT64_C(253402300799999)

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t lf_time_now_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

int64_t lf_time_monotonic_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

static char *put_digits(char *p, int value, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + value % 10);
		value /= 10;
	}
	return p + width;
}

void lf_time_format_ms(int64_t unix_ms, char out[LF_TIME_STR_LEN + 1])
{
	struct tm tm;
	int ms;
	char *p = out;
	if (unix_ms < MIN_MS)
		unix_ms = MIN_MS;
	if (unix_ms > MAX_MS)
		unix_ms = MAX_MS;
	/* floor division, so -1 ms is 1969-12-31T23:59:59.999Z */
	time_t secs = (time_t)(unix_ms / 1000);
	ms = (int)(unix_ms % 1000);
	if (ms < 0) {
		ms += 1000;
		secs--;
	}
	gmtime_r(&secs, &tm);
	p = put_digits(p, tm.tm_year + 1900, 4);
	*p++ = '-';
	p = put_digits(p, tm.tm_mon + 1, 2);
	*p++ = '-';
	p = put_digits(p, tm.tm_mday, 2);
	*p++ = 'T';
	p = put_digits(p, tm.tm_hour, 2);
	*p++ = ':';
	p = put_digits(p, tm.tm_min, 2);
	*p++ = ':';
	/* a POSIX time_t never holds a leap second; clamp defensively */
	p = put_digits(p, tm.tm_sec > 59 ? 59 : tm.tm_sec, 2);
	*p++ = '.';
	p = put_digits(p, ms, 3);
	*p++ = 'Z';
	*p = '\0';
}
