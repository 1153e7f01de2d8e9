/*
 * api/risk_webhook.c - the synchronous risk webhook ([risk] webhook_url,
 * lf_risk.h): the question one payment asks (a JSON body) and a small
 * blocking HTTP/1.1 POST over plain http with one hard deadline for the
 * whole call (connect, send, answer: non-blocking socket + poll). Called
 * by a database pool thread before the payment's transaction starts, so
 * the event loop never waits on it and no row lock is held meanwhile.
 * A name in the URL is resolved by the system resolver before the
 * deadline starts counting (an IP address avoids that wait).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lf_config.h"
#include "lf_events.h"
#include "lf_log.h"
#include "lf_money.h"
#include "lf_risk.h"
#include "lf_time.h"
#include "lf_uuid.h"
#include "payments_int.h"

#define RISK_ANSWER_MAX (16 * 1024) /* headers and body of the answer */

/* Wait for ev on fd until the deadline; false (why set) on timeout. */
static bool wait_fd(int fd, short ev, int64_t deadline, char *why, size_t wlen)
{
	for (;;) {
		int64_t left = deadline - lf_time_monotonic_ms();
		if (left <= 0) {
			snprintf(why, wlen, "timeout");
			return false;
		}
		struct pollfd pfd = {.fd = fd, .events = ev};
		int n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return true;
		if (n < 0 && errno != EINTR) {
			snprintf(why, wlen, "poll: %s", strerror(errno));
			return false;
		}
	}
}

static int connect_to(const char *host, unsigned port, int64_t deadline, char *why, size_t wlen)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	char ps[8];
	snprintf(ps, sizeof ps, "%u", port);
	int e = getaddrinfo(host, ps, &hints, &ai);
	if (e != 0 || ai == NULL) {
		snprintf(why, wlen, "resolve: %s", gai_strerror(e));
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, wlen, "socket: %s", strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (rc < 0 && errno != EINPROGRESS) {
		snprintf(why, wlen, "connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	int err = 0;
	socklen_t len = sizeof err;
	if (rc < 0 && (!wait_fd(fd, POLLOUT, deadline, why, wlen) ||
		       getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0)) {
		if (err != 0)
			snprintf(why, wlen, "connect: %s", strerror(err));
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_all(int fd, const char *p, size_t n, int64_t deadline, char *why, size_t wlen)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
			snprintf(why, wlen, "send: %s", strerror(errno));
			return false;
		} else if (!wait_fd(fd, POLLOUT, deadline, why, wlen)) {
			return false;
		}
	}
	return true;
}

/* The answer until the peer closes (we asked for Connection: close) or
 * its Content-Length is in; *n its length. */
static bool read_answer(int fd, char *buf, size_t cap, size_t *n, int64_t deadline, char *why,
			size_t wlen)
{
	*n = 0;
	for (;;) {
		if (*n == cap - 1) {
			snprintf(why, wlen, "answer larger than %zu bytes", cap - 1);
			return false;
		}
		ssize_t r = recv(fd, buf + *n, cap - 1 - *n, 0);
		if (r == 0)
			break;
		if (r < 0 && errno != EAGAIN && errno != EINTR) {
			snprintf(why, wlen, "recv: %s", strerror(errno));
			return false;
		}
		if (r < 0) {
			if (!wait_fd(fd, POLLIN, deadline, why, wlen))
				return false;
			continue;
		}
		*n += (size_t)r;
		buf[*n] = '\0';
		const char *end = strstr(buf, "\r\n\r\n");
		const char *cl = end ? strcasestr(buf, "\r\ncontent-length:") : NULL;
		if (cl != NULL && cl < end &&
		    (size_t)(end + 4 - buf) + strtoul(cl + 17, NULL, 10) <= *n)
			break;
	}
	buf[*n] = '\0';
	return true;
}

/* A chunked body decoded in place; false when malformed. */
static bool dechunk(char *body, size_t *len)
{
	char *in = body, *out = body, *end = body + *len;
	for (int i = 0; i < 1024 && in < end; i++) {
		char *eol = strstr(in, "\r\n");
		if (eol == NULL)
			return false;
		unsigned long sz = strtoul(in, NULL, 16);
		in = eol + 2;
		if (sz == 0) {
			*len = (size_t)(out - body);
			*out = '\0';
			return true;
		}
		if (sz > (size_t)(end - in))
			return false;
		memmove(out, in, sz);
		out += sz;
		in += sz + 2;
	}
	return false;
}

static enum lf_risk_verdict verdict(char *ans, size_t n, char *why, size_t wlen)
{
	int status = 0;
	if (sscanf(ans, "HTTP/1.%*1[01] %3d", &status) != 1) {
		snprintf(why, wlen, "not an HTTP/1.x answer");
		return LF_RISK_FAILED;
	}
	if (status < 200 || status > 299) {
		snprintf(why, wlen, "status %d", status);
		return LF_RISK_FAILED;
	}
	char *end = strstr(ans, "\r\n\r\n");
	if (end == NULL) {
		snprintf(why, wlen, "answer cut short");
		return LF_RISK_FAILED;
	}
	*end = '\0';
	bool chunked = strcasestr(ans, "\r\ntransfer-encoding: chunked") != NULL;
	char *body = end + 4;
	size_t blen = n - (size_t)(body - ans);
	if (chunked && !dechunk(body, &blen)) {
		snprintf(why, wlen, "malformed chunked answer");
		return LF_RISK_FAILED;
	}
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o = tok ? json_tokener_parse_ex(tok, body, (int)blen) : NULL;
	if (tok)
		json_tokener_free(tok);
	struct json_object *d = NULL;
	const char *dec = o && json_object_object_get_ex(o, "decision", &d) &&
					  json_object_is_type(d, json_type_string)
				  ? json_object_get_string(d)
				  : "";
	enum lf_risk_verdict v = strcmp(dec, "approve") == 0   ? LF_RISK_APPROVE
				 : strcmp(dec, "decline") == 0 ? LF_RISK_DECLINE
							       : LF_RISK_FAILED;
	if (v == LF_RISK_FAILED)
		snprintf(why, wlen, "no \"decision\" of approve or decline in the answer");
	json_object_put(o);
	return v;
}

enum lf_risk_verdict lf_risk_webhook_call(const char *url, const char *secret, const char *body,
					  size_t len, int64_t timeout_ms, char *why, size_t wlen)
{
	char host[256], path[2048];
	unsigned port;
	why[0] = '\0';
	if (!lf_risk_url_parse(url, host, sizeof host, &port, path, sizeof path)) {
		snprintf(why, wlen, "bad url");
		return LF_RISK_FAILED;
	}
	/* "LedgerFlow-Signature: t=...,v1=<64 hex>\r\n" */
	char sig[160] = "", line[200] = "";
	if (secret != NULL && secret[0] != '\0') {
		if (!lf_webhook_sign(secret, lf_time_now_ms() / 1000, body, len, sig, sizeof sig)) {
			snprintf(why, wlen, "signing failed");
			return LF_RISK_FAILED;
		}
		snprintf(line, sizeof line, "LedgerFlow-Signature: %s\r\n", sig);
	}
	int64_t deadline = lf_time_monotonic_ms() + timeout_ms;
	int fd = connect_to(host, port, deadline, why, wlen);
	if (fd < 0)
		return LF_RISK_FAILED;
	char head[2800];
	int hn = snprintf(head, sizeof head,
			  "POST %s HTTP/1.1\r\nHost: %s:%u\r\nUser-Agent: ledgerflow-risk\r\n"
			  "Content-Type: application/json\r\nContent-Length: %zu\r\n"
			  "%sConnection: close\r\n\r\n",
			  path, host, port, len, line);
	char *ans = malloc(RISK_ANSWER_MAX);
	size_t n = 0;
	enum lf_risk_verdict v = LF_RISK_FAILED;
	if (ans == NULL)
		snprintf(why, wlen, "out of memory");
	else if (hn > 0 && (size_t)hn < sizeof head &&
		 send_all(fd, head, (size_t)hn, deadline, why, wlen) &&
		 send_all(fd, body, len, deadline, why, wlen) &&
		 read_answer(fd, ans, RISK_ANSWER_MAX, &n, deadline, why, wlen))
		v = verdict(ans, n, why, wlen);
	free(ans);
	close(fd);
	return v;
}

/* ---- the question of one payment ---- */

static char *question(const struct lf_pay *p)
{
	char from[LF_UUID_STR_LEN + 1], to[LF_UUID_STR_LEN + 1], amount[LF_MONEY_FMT_MAX];
	const struct lf_currency *cur = lf_currency_find(p->cur[0]);
	lf_uuid_format(&p->from, from);
	lf_uuid_format(&p->to, to);
	lf_money_format(p->minor, cur ? cur->exponent : 0, amount);
	struct json_object *pay = json_object_new_object();
	struct json_object *q = json_object_new_object();
	if (pay == NULL || q == NULL) {
		json_object_put(pay);
		json_object_put(q);
		return NULL;
	}
	json_object_object_add(pay, "fromAccountId", json_object_new_string(from));
	json_object_object_add(pay, "toAccountId", json_object_new_string(to));
	json_object_object_add(pay, "amount", json_object_new_string(amount));
	json_object_object_add(pay, "currency", json_object_new_string(p->cur[0]));
	json_object_object_add(pay, "reference",
			       p->has_reference ? json_object_new_string(p->reference) : NULL);
	json_object_object_add(pay, "capture", json_object_new_boolean(!p->hold));
	json_object_object_add(pay, "metadata",
			       p->metadata ? json_tokener_parse(p->metadata) : NULL);
	json_object_object_add(q, "payment", pay);
	json_object_object_add(q, "clientId", json_object_new_uint64(p->client_id));
	const char *text = json_object_to_json_string_ext(q, JSON_C_TO_STRING_PLAIN);
	char *out = text ? strdup(text) : NULL;
	json_object_put(q);
	return out;
}

enum lf_risk_verdict lf_pay_risk_webhook(const struct lf_pay *p)
{
	char *body = question(p);
	char why[160] = "out of memory";
	enum lf_risk_verdict v = LF_RISK_FAILED;
	if (body != NULL)
		v = lf_risk_webhook_call(p->cfg->risk_webhook_url, p->cfg->risk_webhook_secret,
					 body, strlen(body), p->cfg->risk_webhook_timeout_ms, why,
					 sizeof why);
	free(body);
	if (v == LF_RISK_FAILED) {
		char q[200];
		lf_log_limited(LF_LOG_WARN, "risk_webhook", "risk webhook failed",
			       "subsystem=risk policy=%s why=%s", p->cfg->risk_webhook_policy,
			       lf_log_quote(why, q, sizeof q));
	}
	return v;
}
