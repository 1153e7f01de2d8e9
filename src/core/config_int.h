/*
 * core/config_int.h - private to config.c and config_value.c: the one number
 * reader both the value parsers and the integer keys use. Not part of the
 * public lf_config.h interface.
 */
#ifndef LF_CONFIG_INT_H
#define LF_CONFIG_INT_H

#include <stdbool.h>
#include <stdint.h>

/* Decimal digits only (at least one), no sign, no overflow. */
static inline bool parse_u64(const char *s, const char **end, uint64_t *out)
{
	uint64_t n = 0;
	const char *p = s;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (n > (UINT64_MAX - d) / 10)
			return false;
		n = n * 10 + d;
	}
	if (p == s)
		return false;
	*end = p;
	*out = n;
	return true;
}

#endif
