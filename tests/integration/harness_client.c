/*
 * harness_client.c - the integration tests' clients (harness.h): a small
 * blocking HTTP/1.1 client on loopback, JSON members and the API helpers
 * built on it (accounts, balances, ledger pages, metrics), and one-command
 * Redis requests.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "harness.h"

/* ---- HTTP client ---- */

void lf_h_resp_free(struct lf_h_resp *r)
{
	free(r->body);
	r->body = NULL;
}

bool lf_h_header(const struct lf_h_resp *r, const char *name, char *buf, size_t len)
{
	size_t nl = strlen(name);
	const char *p = r->headers;
	while (p && *p) {
		const char *eol = strstr(p, "\r\n");
		if (eol == NULL)
			break;
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (*v == ' ')
				v++;
			size_t vl = (size_t)(eol - v);
			if (vl >= len)
				vl = len - 1;
			memcpy(buf, v, vl);
			buf[vl] = '\0';
			return true;
		}
		p = eol + 2;
	}
	return false;
}

bool lf_h_connect(struct lf_h_conn *c, unsigned port)
{
	c->port = port;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return false;
	struct timeval tv = {10, 0};
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(c->fd);
		c->fd = -1;
		return false;
	}
	return true;
}

void lf_h_close(struct lf_h_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

bool lf_h_send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* Read one response (headers, then Content-Length bytes of body). */
static int read_response(int fd, struct lf_h_resp *resp)
{
	/* read until the header block is complete, then the body; the header
	 * end is kept as an offset because the buffer may move on realloc */
	size_t have = 0, bufcap = 8192;
	char *buf = malloc(bufcap + 1);
	if (buf == NULL)
		return -2;
	size_t hdr_len = 0; /* 0 until the blank line arrived */
	long content_length = -1;
	for (;;) {
		if (hdr_len != 0 && content_length >= 0 && have >= hdr_len + (size_t)content_length)
			break;
		if (have == bufcap) {
			bufcap *= 2;
			char *nb = realloc(buf, bufcap + 1);
			if (nb == NULL) {
				free(buf);
				return -2;
			}
			buf = nb;
		}
		ssize_t r = recv(fd, buf + have, bufcap - have, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(buf);
			return -2;
		}
		have += (size_t)r;
		buf[have] = '\0';
		char *hdr_end;
		if (hdr_len == 0 && (hdr_end = strstr(buf, "\r\n\r\n")) != NULL) {
			hdr_len = (size_t)(hdr_end - buf) + 4;
			size_t hl = hdr_len - 2;
			if (hl >= sizeof resp->headers)
				hl = sizeof resp->headers - 1;
			memcpy(resp->headers, buf, hl);
			resp->headers[hl] = '\0';
			char v[64];
			content_length =
				lf_h_header(resp, "Content-Length", v, sizeof v) ? atol(v) : 0;
			if (sscanf(buf, "HTTP/1.%*d %d", &resp->status) != 1) {
				free(buf);
				return -2;
			}
		}
	}
	resp->body_len = (size_t)content_length;
	resp->body = malloc(resp->body_len + 1);
	if (resp->body == NULL) {
		free(buf);
		return -2;
	}
	memcpy(resp->body, buf + hdr_len, resp->body_len);
	resp->body[resp->body_len] = '\0';
	char v[64];
	resp->conn_close =
		lf_h_header(resp, "Connection", v, sizeof v) && strcasecmp(v, "close") == 0;
	free(buf);
	return 0;
}

static char auth_key[128];

void lf_h_auth_use(const char *key)
{
	snprintf(auth_key, sizeof auth_key, "%s", key ? key : "");
}

const char *lf_h_auth_key(void)
{
	return auth_key;
}

int lf_h_request(struct lf_h_conn *c, const char *method, const char *path,
		 const char *extra_headers, const char *body, struct lf_h_resp *resp)
{
	memset(resp, 0, sizeof *resp);
	size_t blen = body ? strlen(body) : 0;
	size_t cap = 1200 + strlen(path) + (extra_headers ? strlen(extra_headers) : 0) + blen;
	char *req = malloc(cap);
	if (req == NULL)
		return -1;
	char auth[200] = "";
	if (auth_key[0] != '\0' &&
	    (extra_headers == NULL || strcasestr(extra_headers, "Authorization:") == NULL))
		snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", auth_key);
	int n = snprintf(req, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n%s%s", method, path,
			 c->port, auth, extra_headers ? extra_headers : "");
	if (body != NULL)
		n += snprintf(req + n, cap - (size_t)n,
			      "Content-Type: application/json\r\nContent-Length: %zu\r\n", blen);
	n += snprintf(req + n, cap - (size_t)n, "\r\n");
	if (body != NULL) {
		memcpy(req + n, body, blen);
		n += (int)blen;
	}
	bool sent = lf_h_send_all(c->fd, req, (size_t)n);
	free(req);
	if (!sent)
		return -1;

	return read_response(c->fd, resp);
}

int lf_h_http(unsigned port, const char *method, const char *path, const char *extra_headers,
	      const char *body, struct lf_h_resp *resp)
{
	struct lf_h_conn c;
	memset(resp, 0, sizeof *resp);
	if (!lf_h_connect(&c, port))
		return -1;
	int rc = lf_h_request(&c, method, path, extra_headers, body, resp);
	lf_h_close(&c);
	return rc;
}

int lf_h_pay(unsigned port, const char *key, const char *from, const char *to, const char *amount,
	     struct lf_h_resp *resp)
{
	char headers[512], body[512];
	snprintf(headers, sizeof headers, "Idempotency-Key: %s\r\n", key);
	snprintf(body, sizeof body,
		 "{\"fromAccountId\":\"%s\",\"toAccountId\":\"%s\",\"amount\":%s}", from, to,
		 amount);
	int rc = lf_h_http(port, "POST", "/api/payments", headers, body, resp);
	return rc == 0 ? resp->status : -1;
}

/* ---- helpers of the API tests ---- */

int lf_h_raw(unsigned port, const char *request, size_t len, struct lf_h_resp *resp)
{
	struct lf_h_conn c;
	memset(resp, 0, sizeof *resp);
	if (!lf_h_connect(&c, port))
		return -1;
	/* a server that answers early (413) may close before reading it all:
	 * a failed send still reads what came back */
	(void)lf_h_send_all(c.fd, request, len);
	int rc = read_response(c.fd, resp);
	lf_h_close(&c);
	return rc;
}

static struct json_object *member(const char *body, const char *name, struct json_object **root)
{
	struct json_object *v = NULL;
	*root = body ? json_tokener_parse(body) : NULL;
	if (*root == NULL || !json_object_is_type(*root, json_type_object) ||
	    !json_object_object_get_ex(*root, name, &v))
		return NULL;
	return v;
}

bool lf_h_json_str(const char *body, const char *name, char *buf, size_t len)
{
	struct json_object *root;
	struct json_object *v = member(body, name, &root);
	bool ok = v != NULL && json_object_is_type(v, json_type_string);
	if (ok)
		snprintf(buf, len, "%s", json_object_get_string(v));
	else if (len > 0)
		buf[0] = '\0';
	json_object_put(root);
	return ok;
}

bool lf_h_json_int(const char *body, const char *name, long long *out)
{
	struct json_object *root;
	struct json_object *v = member(body, name, &root);
	bool ok = v != NULL && json_object_is_type(v, json_type_int);
	if (ok)
		*out = (long long)json_object_get_int64(v);
	json_object_put(root);
	return ok;
}

bool lf_h_json_null(const char *body, const char *name)
{
	struct json_object *root = body ? json_tokener_parse(body) : NULL, *v = NULL;
	bool ok = root != NULL && json_object_is_type(root, json_type_object) &&
		  json_object_object_get_ex(root, name, &v) && v == NULL;
	json_object_put(root);
	return ok;
}

bool lf_h_minor(const char *s, int exponent, int64_t *out)
{
	int64_t v = 0;
	int frac = -1; /* digits after the point, -1 before it */
	/* only an issuance account is ever negative */
	bool negative = s != NULL && s[0] == '-';
	if (negative)
		s++;
	if (s == NULL || s[0] < '0' || s[0] > '9' || (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
		return false;
	for (const char *p = s; *p; p++) {
		if (*p == '.' && frac < 0 && p[1] != '\0') {
			frac = 0;
			continue;
		}
		if (*p < '0' || *p > '9' || v > INT64_MAX / 10 - 9)
			return false;
		v = v * 10 + (*p - '0');
		if (frac >= 0)
			frac++;
	}
	if ((frac < 0 ? 0 : frac) != exponent)
		return false;
	*out = negative ? -v : v;
	return true;
}

int lf_h_ledger(unsigned port, const char *account, const char *query, int exponent,
		struct lf_h_entry *out, int max, char *cursor, size_t clen)
{
	char path[512], ct[64];
	struct lf_h_resp r;
	snprintf(path, sizeof path, "/api/accounts/%s/ledger%s", account, query);
	cursor[0] = '\0';
	if (lf_h_http(port, "GET", path, NULL, NULL, &r) != 0 || r.status != 200 ||
	    !lf_h_header(&r, "Content-Type", ct, sizeof ct) ||
	    strcmp(ct, "application/json") != 0) {
		fprintf(stderr, "\n  GET %s: %d %s\n", path, r.status, r.body ? r.body : "");
		lf_h_resp_free(&r);
		return -1;
	}
	struct json_object *root = json_tokener_parse(r.body), *arr = NULL, *cur = NULL;
	int n = -1;
	if (root && json_object_object_get_ex(root, "entries", &arr) &&
	    json_object_is_type(arr, json_type_array) &&
	    json_object_object_get_ex(root, "nextCursor", &cur)) {
		if (cur != NULL)
			snprintf(cursor, clen, "%s", json_object_get_string(cur));
		n = (int)json_object_array_length(arr);
		for (int i = 0; i < n && i < max; i++) {
			struct json_object *o = json_object_array_get_idx(arr, (size_t)i);
			const char *e = json_object_to_json_string(o);
			struct lf_h_entry *x = &out[i];
			char amt[40] = "", after[40] = "";
			memset(x, 0, sizeof *x);
			lf_h_json_str(e, "id", x->id, sizeof x->id);
			lf_h_json_str(e, "paymentId", x->payment, sizeof x->payment);
			x->payment_null = lf_h_json_null(e, "paymentId");
			lf_h_json_str(e, "accountId", x->account, sizeof x->account);
			lf_h_json_str(e, "direction", x->direction, sizeof x->direction);
			lf_h_json_str(e, "createdAt", x->created, sizeof x->created);
			lf_h_json_str(e, "hash", x->hash, sizeof x->hash);
			lf_h_json_str(e, "amount", amt, sizeof amt);
			lf_h_json_str(e, "balanceAfter", after, sizeof after);
			if (!lf_h_minor(amt, exponent, &x->amount) ||
			    !lf_h_minor(after, exponent, &x->balance_after))
				x->amount = x->balance_after = -1;
		}
		if (n > max)
			n = -1;
	}
	json_object_put(root);
	lf_h_resp_free(&r);
	return n;
}

int lf_h_account(unsigned port, const char *name, const char *currency, const char *initial,
		 char id[37])
{
	char body[512];
	struct lf_h_resp r;
	if (initial != NULL)
		snprintf(body, sizeof body,
			 "{\"name\":\"%s\",\"currency\":\"%s\",\"initialBalance\":\"%s\"}", name,
			 currency, initial);
	else
		snprintf(body, sizeof body, "{\"name\":\"%s\",\"currency\":\"%s\"}", name,
			 currency);
	if (lf_h_http(port, "POST", "/api/accounts", NULL, body, &r) != 0) {
		lf_h_resp_free(&r);
		return -1;
	}
	int st = r.status;
	if (!lf_h_json_str(r.body, "id", id, 37))
		id[0] = '\0';
	lf_h_resp_free(&r);
	return st;
}

int lf_h_balance(unsigned port, const char *id, char *buf, size_t len)
{
	char path[128];
	struct lf_h_resp r;
	snprintf(path, sizeof path, "/api/accounts/%s", id);
	buf[0] = '\0';
	if (lf_h_http(port, "GET", path, NULL, NULL, &r) != 0) {
		lf_h_resp_free(&r);
		return -1;
	}
	int st = r.status;
	lf_h_json_str(r.body, "balance", buf, len);
	lf_h_resp_free(&r);
	return st;
}

/* ---- metrics and Redis ---- */

bool lf_h_metric(unsigned port, const char *series, long long *out)
{
	struct lf_h_resp r;
	if (lf_h_http(port, "GET", "/metrics", NULL, NULL, &r) != 0 || r.status != 200) {
		lf_h_resp_free(&r);
		return false;
	}
	size_t sl = strlen(series);
	bool found = false;
	for (const char *p = r.body; p && *p && !found; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, series, sl) == 0 && p[sl] == ' ') {
			*out = atoll(p + sl + 1);
			found = true;
		}
	}
	lf_h_resp_free(&r);
	return found;
}

/* Read from fd until buf holds `want` bytes or a line end (want == 0). */
static bool redis_read(int fd, char *buf, size_t cap, size_t *have, size_t want)
{
	while (want ? *have < want : memchr(buf, '\n', *have) == NULL) {
		if (*have >= cap)
			return false;
		ssize_t n = recv(fd, buf + *have, cap - *have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		*have += (size_t)n;
	}
	return true;
}

bool lf_h_redis(const struct lf_h_env *env, int argc, const char *const *argv, char *type,
		long long *num, char *buf, size_t len)
{
	struct lf_h_conn c;
	if (!lf_h_connect(&c, env->redis_port))
		return false;
	struct timeval tv = {2, 0};
	setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	size_t cap = 64;
	for (int i = 0; i < argc; i++)
		cap += strlen(argv[i]) + 32;
	size_t rcap = 1 << 20;
	char *req = malloc(cap), *rep = malloc(rcap + 1);
	bool ok = false;
	if (req == NULL || rep == NULL)
		goto out;
	int n = snprintf(req, cap, "*%d\r\n", argc);
	for (int i = 0; i < argc; i++)
		n += snprintf(req + n, cap - (size_t)n, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
	size_t have = 0;
	if (!lf_h_send_all(c.fd, req, (size_t)n) || !redis_read(c.fd, rep, rcap, &have, 0))
		goto out;
	char *eol = memchr(rep, '\r', have);
	if (eol == NULL)
		goto out;
	*eol = '\0';
	*type = rep[0];
	*num = atoll(rep + 1);
	const char *text = rep + 1;
	size_t tlen = strlen(text);
	if (rep[0] == '$' && *num < 0) {
		*type = '0'; /* nil */
		tlen = 0;
	} else if (rep[0] == '$') {
		size_t start = (size_t)(eol - rep) + 2;
		if ((size_t)*num > rcap - start - 2 ||
		    !redis_read(c.fd, rep, rcap, &have, start + (size_t)*num + 2))
			goto out;
		text = rep + start;
		tlen = (size_t)*num;
	}
	if (len > 0) {
		if (tlen >= len)
			tlen = len - 1;
		memcpy(buf, text, tlen);
		buf[tlen] = '\0';
	}
	ok = true;
out:
	free(req);
	free(rep);
	lf_h_close(&c);
	return ok;
}
