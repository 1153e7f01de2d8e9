/*
 * test_webhooks_receiver.c - the loopback webhook receiver of
 * test_webhooks (see test_webhooks.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "harness.h"
#include "test_webhooks.h"

#define REQ_MAX (256 * 1024)

/* A header's value (case-insensitive name) in the header block. */
static bool header(const char *head, const char *name, char *out, size_t len)
{
	size_t n = strlen(name);
	for (const char *p = strstr(head, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2;
		if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
			const char *v = line + n + 1;
			while (*v == ' ')
				v++;
			size_t k = strcspn(v, "\r\n");
			snprintf(out, len, "%.*s", (int)k, v);
			return true;
		}
	}
	return false;
}

/* One connection, plain or TLS. */
struct conn {
	int fd;
	SSL *ssl;
};

static ssize_t conn_read(struct conn *k, char *p, size_t n)
{
	return k->ssl ? SSL_read(k->ssl, p, (int)n) : read(k->fd, p, n);
}

static void conn_write(struct conn *k, const char *p, size_t n)
{
	if (k->ssl)
		(void)SSL_write(k->ssl, p, (int)n);
	else
		(void)lf_h_send_all(k->fd, p, n);
}

static void serve(struct rx *rx, int c)
{
	struct timeval tv = {.tv_sec = 3};
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	struct conn k = {.fd = c};
	if (rx->tls != NULL) {
		k.ssl = SSL_new(rx->tls);
		if (k.ssl == NULL || SSL_set_fd(k.ssl, c) != 1 || SSL_accept(k.ssl) != 1) {
			__atomic_add_fetch(&rx->tls_failed, 1, __ATOMIC_RELAXED);
			SSL_free(k.ssl);
			return;
		}
	}
	char *buf = malloc(REQ_MAX + 1);
	size_t got = 0;
	char *body = NULL;
	long clen = -1;
	while (buf != NULL && got < REQ_MAX) {
		ssize_t r = conn_read(&k, buf + got, REQ_MAX - got);
		if (r <= 0)
			break;
		got += (size_t)r;
		buf[got] = '\0';
		char *end = strstr(buf, "\r\n\r\n");
		if (end == NULL)
			continue;
		char v[32];
		*end = '\0';
		clen = header(buf, "Content-Length", v, sizeof v) ? strtol(v, NULL, 10) : 0;
		*end = '\r';
		body = end + 4;
		if ((long)(got - (size_t)(body - buf)) >= clen)
			break;
	}
	if (body == NULL || clen < 0 || (long)(got - (size_t)(body - buf)) < clen) {
		free(buf);
		SSL_free(k.ssl);
		return;
	}
	body[clen] = '\0';
	*(body - 4) = '\0'; /* the header block alone */
	struct rx_hit h = {.at_ms = lf_h_now_ms()};
	h.path = strncmp(buf, "POST /b ", 8) == 0 ? 1 : strncmp(buf, "POST /c ", 8) == 0 ? 2 : 0;
	char sig[200] = "", evid[64] = "", t[32] = "", want[200] = "";
	header(buf, "LedgerFlow-Signature", sig, sizeof sig);
	header(buf, "LedgerFlow-Event-Id", evid, sizeof evid);
	bool parsed = ev_parse(body, &h.ev);
	pthread_mutex_lock(&rx->mu);
	const char *comma = strchr(sig, ',');
	if (strncmp(sig, "t=", 2) == 0 && comma != NULL && (size_t)(comma - sig - 2) < sizeof t) {
		snprintf(t, sizeof t, "%.*s", (int)(comma - sig - 2), sig + 2);
		h.sig_ok = ev_signature(rx->secret[h.path], t, body, (size_t)clen, want,
					sizeof want) &&
			   strcmp(want, sig) == 0 && llabs(atoll(t) - (long long)time(NULL)) <= 5;
	}
	if (!h.sig_ok)
		fprintf(stderr,
			"\n  receiver: signature %s does not verify (want %s, secret %.10s..)\n",
			sig, want, rx->secret[h.path]);
	h.id_ok = parsed && strcmp(evid, h.ev.id) == 0;
	int before = 0;
	for (int i = 0; i < rx->nhits; i++)
		before += rx->hits[i].path == h.path && strcmp(rx->hits[i].ev.id, h.ev.id) == 0;
	h.status = rx->down || before < rx->fail_first ? 500 : 200;
	int delay = rx->delay_ms;
	if (rx->nhits < RX_MAX)
		rx->hits[rx->nhits++] = h;
	pthread_mutex_unlock(&rx->mu);
	if (delay > 0)
		usleep((useconds_t)delay * 1000);
	char out[128];
	int n = snprintf(out, sizeof out,
			 "HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
			 h.status);
	conn_write(&k, out, (size_t)n);
	if (k.ssl)
		SSL_shutdown(k.ssl);
	SSL_free(k.ssl);
	free(buf);
}

static void *rx_main(void *arg)
{
	struct rx *rx = arg;
	while (!__atomic_load_n(&rx->stop, __ATOMIC_ACQUIRE)) {
		struct pollfd p = {.fd = rx->fd, .events = POLLIN};
		if (poll(&p, 1, 100) <= 0)
			continue;
		int c = accept(rx->fd, NULL, NULL);
		if (c < 0)
			continue;
		serve(rx, c);
		close(c);
	}
	return NULL;
}

bool rx_start(struct rx *rx)
{
	pthread_mutex_init(&rx->mu, NULL);
	if (rx->cert != NULL) {
		SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
		if (ctx == NULL || SSL_CTX_use_certificate_chain_file(ctx, rx->cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, rx->key, SSL_FILETYPE_PEM) != 1) {
			SSL_CTX_free(ctx);
			return false;
		}
		rx->tls = ctx;
	}
	rx->fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(rx->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	if (rx->fd < 0 || bind(rx->fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(rx->fd, 128) != 0 || getsockname(rx->fd, (struct sockaddr *)&a, &al) != 0)
		return false;
	rx->port = ntohs(a.sin_port);
	return pthread_create(&rx->thread, NULL, rx_main, rx) == 0;
}

void rx_stop(struct rx *rx)
{
	__atomic_store_n(&rx->stop, 1, __ATOMIC_RELEASE);
	pthread_join(rx->thread, NULL);
	close(rx->fd);
	SSL_CTX_free(rx->tls);
	rx->tls = NULL;
}

int rx_hits(struct rx *rx, int path, struct rx_hit *out, int max)
{
	int n = 0;
	pthread_mutex_lock(&rx->mu);
	for (int i = 0; i < rx->nhits && n < max; i++)
		if (rx->hits[i].path == path)
			out[n++] = rx->hits[i];
	pthread_mutex_unlock(&rx->mu);
	return n;
}
