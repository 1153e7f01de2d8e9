/*
 * lf_time.h - clocks and RFC 3339 timestamps with milliseconds.
 */
#ifndef LF_TIME_H
#define LF_TIME_H

#include <stdbool.h>
#include <stdint.h>

#define LF_TIME_STR_LEN 24 /* "2026-11-25T14:52:28.123Z", without NUL */
/* 9999-12-31T23:59:59.999Z, the last DATETIME(3): "as long as what it
 * names exists" (an account-creation key is never reaped) */
#define LF_TIME_FOREVER_MS INT64_C(253402300799999)

int64_t lf_time_now_ms(void);       /* CLOCK_REALTIME, Unix ms */
int64_t lf_time_monotonic_ms(void); /* CLOCK_MONOTONIC ms */
int64_t lf_time_monotonic_us(void); /* CLOCK_MONOTONIC us */
/* Unix ms -> "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC), NUL-terminated. */
void lf_time_format_ms(int64_t unix_ms, char out[LF_TIME_STR_LEN + 1]);
/* RFC 3339 date-time ("2026-11-25T14:52:28Z", "...28.123456+01:00"; T or
 * t, Z or z; a space where the offset's + belongs, as a query string's +
 * decodes) -> Unix ms, fractions past the millisecond dropped. False for
 * anything else (a bad field, a day the month lacks, a leap second). */
bool lf_time_parse_rfc3339(const char *s, int64_t *unix_ms);

#endif
