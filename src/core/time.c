/*
 * core/time.c - clocks and timestamps. Owns reading the wall and monotonic
 * clocks in milliseconds and rendering Unix milliseconds as RFC 3339 UTC
 * text with exactly three fraction digits ("2026-11-25T14:52:28.123Z"),
 * and parsing RFC 3339 date-times back (query parameters such as ?at=).
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

int64_t lf_time_monotonic_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
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

/* n digits at *p as a number; false if any is not a digit. */
static bool digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

bool lf_time_parse_rfc3339(const char *s, int64_t *unix_ms)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec, ms = 0;
	const char *p = s;
	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
	    !digits(&p, 2, &d) || (*p != 'T' && *p != 't'))
		return false;
	p++;
	if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' ||
	    !digits(&p, 2, &sec))
		return false;
	if (*p == '.') {
		p++;
		int n = 0;
		for (; *p >= '0' && *p <= '9'; p++, n++) {
			if (n < 3)
				ms = ms * 10 + (*p - '0');
		}
		if (n == 0 || n > 9)
			return false;
		for (; n < 3; n++)
			ms *= 10;
	}
	int offset_min = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-' || *p == ' ') {
		int sign = *p == '-' ? -1 : 1, oh, om;
		p++;
		if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om) || oh > 23 || om > 59)
			return false;
		offset_min = sign * (oh * 60 + om);
	} else {
		return false;
	}
	if (*p != '\0')
		return false;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 ||
	    mi > 59 || sec > 59)
		return false;
	int64_t t = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi - offset_min) * 60 + sec;
	*unix_ms = t * 1000 + ms;
	return true;
}
