/*
 * lf_risk.h - the risk rules ([risk], doc/design.md "Risk rules"): the
 * rule names, the per-currency amount lists of the configuration and the
 * thresholds a payment is held to (core/risk.c), and the synchronous risk
 * webhook (api/risk_webhook.c). A payment a rule stops is 422
 * risk_declined, recorded like insufficient_funds.
 */
#ifndef LF_RISK_H
#define LF_RISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lf_config;

enum lf_risk_rule {
	LF_RISK_NONE = 0,
	LF_RISK_MAX_AMOUNT,     /* decided in C before the transaction */
	LF_RISK_VELOCITY_COUNT, /* decided by lf_transfer under the sender's lock */
	LF_RISK_VELOCITY_SUM,
	LF_RISK_DAILY_LIMIT, /* decided by lf_transfer under the client's row */
	LF_RISK_WEBHOOK,     /* the risk webhook said decline (or failed, closed) */
	LF_RISK_NRULES
};

/* "max_amount", "velocity_count", ... (the metric's label, the SQL
 * outcome); NULL for LF_RISK_NONE or out of range. */
const char *lf_risk_rule_name(enum lf_risk_rule rule);
/* The rule of a name; LF_RISK_NONE when unknown. */
enum lf_risk_rule lf_risk_rule_parse(const char *name);

/* An amount list of [risk]: "" (off) or "CUR:amount" entries separated by
 * commas (blanks allowed around them), e.g. "USD:10000.00, JPY:1000000";
 * each amount in the currency's own digits, > 0, each currency once.
 * False with the reason in why when it is not one. */
bool lf_risk_amounts_ok(const char *list, char *why, size_t wlen);
/* The amount list gives currency: *minor its limit in minor units, true.
 * False when the currency has no entry (the rule is off for it). */
bool lf_risk_amount_for(const char *list, const char *currency, int64_t *minor);

/* The thresholds one payment in `currency` is held to; 0 = off. */
struct lf_risk_limits {
	int64_t max_amount;
	int64_t velocity_count;
	int64_t velocity_sum;
	int64_t velocity_window_ms;
	int64_t daily_limit;
};
void lf_risk_limits_for(const struct lf_config *cfg, const char *currency,
			struct lf_risk_limits *out);

/* A rule that reads history (velocity, daily limit) or the risk webhook
 * is on: payments are decided one by one (lf_transfer), never in a group
 * commit batch. */
bool lf_risk_needs_single_path(const struct lf_config *cfg);

/* [risk] webhook_url: "http://host[:port][/path]" (a name or an IPv4
 * address; port 80 by default; path "/" when absent). path receives the
 * path (and query), cut to plen - 1 bytes (a caller may pass a small
 * buffer only to validate). False when it is not that form. */
bool lf_risk_url_parse(const char *url, char *host, size_t hlen, unsigned *port, char *path,
		       size_t plen);

/* ---- the risk webhook (api/risk_webhook.c) ---- */

enum lf_risk_verdict {
	LF_RISK_APPROVE,
	LF_RISK_DECLINE,
	LF_RISK_FAILED, /* no usable answer in time: [risk] webhook_policy decides */
};
/* POST body (JSON) to url (http://host[:port]/path), signed with secret
 * when it is not empty (LedgerFlow-Signature: t=<unix seconds>,v1=<hex
 * HMAC-SHA256(secret, "<t>.<body>")>, as the event webhooks), and read
 * the answer, all within timeout_ms; blocking (a pool thread's call, never the
 * event loop's, never while holding row locks). A 2xx whose JSON body has
 * "decision": "approve" or "decline" is that; anything else is FAILED,
 * the reason in why (never the body). */
enum lf_risk_verdict lf_risk_webhook_call(const char *url, const char *secret, const char *body,
					  size_t len, int64_t timeout_ms, char *why, size_t wlen);

#endif
