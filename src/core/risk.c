/*
 * core/risk.c - the risk rules' configuration (lf_risk.h): the rule names,
 * the per-currency amount lists of [risk] (max_amount, velocity_sum,
 * daily_limit: "USD:10000.00, JPY:1000000"), and the thresholds one
 * payment is held to. Where each rule is decided: doc/design.md, "Risk
 * rules".
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "lf_config.h"
#include "lf_money.h"
#include "lf_risk.h"

/* clang-format off */
static const char *const names[LF_RISK_NRULES] = {
	[LF_RISK_MAX_AMOUNT] = "max_amount",
	[LF_RISK_VELOCITY_COUNT] = "velocity_count",
	[LF_RISK_VELOCITY_SUM] = "velocity_sum",
	[LF_RISK_DAILY_LIMIT] = "daily_limit",
	[LF_RISK_WEBHOOK] = "webhook",
};
/* clang-format on */

#define RISK_LIST_MAX 64 /* entries in one amount list */

const char *lf_risk_rule_name(enum lf_risk_rule rule)
{
	return rule > LF_RISK_NONE && rule < LF_RISK_NRULES ? names[rule] : NULL;
}

enum lf_risk_rule lf_risk_rule_parse(const char *name)
{
	for (int i = LF_RISK_NONE + 1; name != NULL && i < LF_RISK_NRULES; i++)
		if (strcmp(names[i], name) == 0)
			return (enum lf_risk_rule)i;
	return LF_RISK_NONE;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

/* One entry of a list at *s: "CUR:amount" with blanks around it. Moves *s
 * past the entry and its comma. False with why set when malformed. */
static bool next_entry(const char **s, char cur[4], int64_t *minor, char *why, size_t wlen)
{
	const char *p = *s;
	while (blank(*p))
		p++;
	const char *end = p + strcspn(p, ",");
	const char *last = end;
	while (last > p && blank(last[-1]))
		last--;
	const char *colon = memchr(p, ':', (size_t)(last - p));
	if (colon == NULL || colon - p != 3) {
		snprintf(why, wlen, "is not a list of CUR:amount separated by commas");
		return false;
	}
	memcpy(cur, p, 3);
	cur[3] = '\0';
	const struct lf_currency *c = lf_currency_find(cur);
	if (c == NULL) {
		snprintf(why, wlen, "names %.3s, not an active ISO 4217 code", cur);
		return false;
	}
	const char *a = colon + 1;
	if (lf_money_parse(a, (size_t)(last - a), c->exponent, false, minor) != LF_MONEY_OK) {
		snprintf(why, wlen,
			 "has an amount for %s that is not a positive amount in its digits", cur);
		return false;
	}
	*s = *end == ',' ? end + 1 : end;
	return true;
}

bool lf_risk_amounts_ok(const char *list, char *why, size_t wlen)
{
	const char *s = list ? list : "";
	char seen[RISK_LIST_MAX][4];
	int n = 0;
	while (blank(*s))
		s++;
	while (*s != '\0') {
		char cur[4];
		int64_t minor;
		if (n == RISK_LIST_MAX) {
			snprintf(why, wlen, "has more than %d entries", RISK_LIST_MAX);
			return false;
		}
		if (!next_entry(&s, cur, &minor, why, wlen))
			return false;
		for (int i = 0; i < n; i++)
			if (strcmp(seen[i], cur) == 0) {
				snprintf(why, wlen, "names %s twice", cur);
				return false;
			}
		memcpy(seen[n++], cur, 4);
		if (*s == '\0' && s > list && s[-1] == ',') {
			snprintf(why, wlen, "ends with a comma");
			return false;
		}
	}
	return true;
}

bool lf_risk_amount_for(const char *list, const char *currency, int64_t *minor)
{
	const char *s = list ? list : "";
	char why[8];
	for (int n = 0; *s != '\0' && n < RISK_LIST_MAX; n++) {
		char cur[4];
		int64_t v;
		if (!next_entry(&s, cur, &v, why, sizeof why))
			return false; /* validated at load: cannot happen */
		if (strcmp(cur, currency) == 0) {
			*minor = v;
			return true;
		}
	}
	return false;
}

void lf_risk_limits_for(const struct lf_config *cfg, const char *currency,
			struct lf_risk_limits *out)
{
	*out = (struct lf_risk_limits){.velocity_count = cfg->risk_velocity_count,
				       .velocity_window_ms = cfg->risk_velocity_window_ms};
	if (!lf_risk_amount_for(cfg->risk_max_amount, currency, &out->max_amount))
		out->max_amount = 0;
	if (!lf_risk_amount_for(cfg->risk_velocity_sum, currency, &out->velocity_sum))
		out->velocity_sum = 0;
	if (!lf_risk_amount_for(cfg->risk_daily_limit, currency, &out->daily_limit))
		out->daily_limit = 0;
}

bool lf_risk_needs_single_path(const struct lf_config *cfg)
{
	return cfg->risk_velocity_count > 0 ||
	       (cfg->risk_velocity_sum && cfg->risk_velocity_sum[0]) ||
	       (cfg->risk_daily_limit && cfg->risk_daily_limit[0]) ||
	       (cfg->risk_webhook_url && cfg->risk_webhook_url[0]);
}

bool lf_risk_url_parse(const char *url, char *host, size_t hlen, unsigned *port, char *path,
		       size_t plen)
{
	static const char scheme[] = "http://";
	if (strncmp(url, scheme, sizeof scheme - 1) != 0)
		return false;
	const char *h = url + sizeof scheme - 1;
	size_t n = strcspn(h, ":/?#");
	if (n == 0 || n >= hlen)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = h[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-'))
			return false;
	}
	memcpy(host, h, n);
	host[n] = '\0';
	const char *p = h + n;
	*port = 80;
	if (*p == ':') {
		unsigned v = 0;
		int digits = 0;
		for (p++; *p >= '0' && *p <= '9' && digits < 6; p++, digits++)
			v = v * 10 + (unsigned)(*p - '0');
		if (digits == 0 || v == 0 || v > 65535)
			return false;
		*port = v;
	}
	if (*p == '#' || (*p != '\0' && *p != '/' && *p != '?'))
		return false;
	for (const char *q = p; *q; q++)
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f || *q == '#')
			return false;
	snprintf(path, plen, "%s%s", *p == '/' ? "" : "/", p);
	return true;
}
