/*
 * core/config_value.c - the value parsers of the configuration: sizes (64K, 1M),
 * durations (500ms, 30s, 2m, 1h, 7d), booleans (on/off, yes/no, true/false,
 * 1/0) and listen addresses (host:port, [v6addr]:port). They only turn
 * text into a value, strictly (no signs, no blanks, no overflow); the key
 * table, ranges and error messages live in config.c.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "lf_config.h"
#include "config_int.h"

bool lf_config_parse_size(const char *s, size_t *out)
{
	const char *p;
	uint64_t n, mult = 1;
	if (!s || !parse_u64(s, &p, &n))
		return false;
	switch (*p) {
	case '\0': break;
	case 'k':
	case 'K':
		mult = 1024;
		p++;
		break;
	case 'm':
	case 'M':
		mult = 1024 * 1024;
		p++;
		break;
	case 'g':
	case 'G':
		mult = 1024 * 1024 * 1024;
		p++;
		break;
	default: return false;
	}
	if (*p != '\0' || n > SIZE_MAX / mult)
		return false;
	*out = (size_t)(n * mult);
	return true;
}

bool lf_config_parse_duration(const char *s, int64_t *ms)
{
	const char *p;
	uint64_t n, mult;
	if (!s || !parse_u64(s, &p, &n))
		return false;
	if (strcmp(p, "") == 0 || strcmp(p, "s") == 0)
		mult = 1000;
	else if (strcmp(p, "ms") == 0)
		mult = 1;
	else if (strcmp(p, "m") == 0)
		mult = 60 * 1000;
	else if (strcmp(p, "h") == 0)
		mult = 3600 * 1000;
	else if (strcmp(p, "d") == 0)
		mult = 24 * 3600 * 1000;
	else
		return false;
	if (n > (uint64_t)INT64_MAX / mult)
		return false;
	*ms = (int64_t)(n * mult);
	return true;
}

bool lf_config_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"on", "yes", "true", "1"};
	static const char *const no[] = {"off", "no", "false", "0"};
	if (!s)
		return false;
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

bool lf_config_parse_listen(const char *s, char *host, size_t hostlen, unsigned *port)
{
	if (!s || !host || !port || hostlen == 0)
		return false;
	const char *h, *colon; /* the host part and the colon before the port */
	size_t n;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return false;
		h = s + 1;
		n = (size_t)(close - h);
		colon = close + 1;
		char tmp[INET6_ADDRSTRLEN + 1];
		unsigned char addr[16];
		if (n == 0 || n >= sizeof tmp)
			return false;
		memcpy(tmp, h, n);
		tmp[n] = '\0';
		if (inet_pton(AF_INET6, tmp, addr) != 1)
			return false;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return false;
		h = s;
		n = (size_t)(colon - h);
		if (n == 0)
			return false;
		for (size_t i = 0; i < n; i++)
			if (!isalnum((unsigned char)h[i]) && h[i] != '.' && h[i] != '-' &&
			    h[i] != '_')
				return false;
	}
	const char *p;
	uint64_t v;
	if (!parse_u64(colon + 1, &p, &v) || *p != '\0' || v < 1 || v > 65535)
		return false;
	if (n + 1 > hostlen)
		return false;
	memcpy(host, h, n);
	host[n] = '\0';
	*port = (unsigned)v;
	return true;
}

bool lf_sentinel_list_ok(const char *list, char *why, size_t len)
{
	char buf[1100];
	int n = 0;
	if (strlen(list) >= sizeof buf) {
		snprintf(why, len, "the list is too long");
		return false;
	}
	snprintf(buf, sizeof buf, "%s", list);
	for (char *save = NULL, *item = strtok_r(buf, ",", &save); item != NULL;
	     item = strtok_r(NULL, ",", &save)) {
		while (*item == ' ')
			item++;
		char host[256];
		unsigned port;
		if (!lf_config_parse_listen(item, host, sizeof host, &port)) {
			snprintf(why, len, "'%.60s' is not host:port", item);
			return false;
		}
		if (++n > 16) {
			snprintf(why, len, "more than 16 sentinels");
			return false;
		}
	}
	if (n == 0) {
		snprintf(why, len, "no sentinel in the list");
		return false;
	}
	return true;
}

bool lf_host_list_ok(const char *list, char *why, size_t len)
{
	char buf[1100];
	if (strlen(list) >= sizeof buf) {
		snprintf(why, len, "the list is too long");
		return false;
	}
	snprintf(buf, sizeof buf, "%s", list);
	if (strstr(buf, ",,") != NULL || buf[0] == ',' || buf[strlen(buf) - 1] == ',') {
		snprintf(why, len, "an empty entry in the list");
		return false;
	}
	for (char *save = NULL, *item = strtok_r(buf, ",", &save); item != NULL;
	     item = strtok_r(NULL, ",", &save)) {
		while (*item == ' ')
			item++;
		size_t n = strlen(item);
		while (n > 0 && item[n - 1] == ' ')
			item[--n] = '\0';
		char host[256];
		unsigned port;
		bool bracketed = item[0] == '[' && n > 2 && item[n - 1] == ']';
		if (n == 0 || (strchr(item, ':') != NULL && !bracketed &&
			       !lf_config_parse_listen(item, host, sizeof host, &port))) {
			snprintf(why, len, "'%.60s' is not host or host:port", item);
			return false;
		}
	}
	return true;
}
