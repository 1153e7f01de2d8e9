/*
 * db_proxy.c - a TCP proxy between a daemon and MariaDB for the tests that
 * break a connection at a chosen moment (db_proxy.h): armed with a marker,
 * it forwards the first client packet that contains it (the CALL's
 * execute) and then, at the server's first reply bytes on that connection,
 * closes both sides instead of forwarding them (or, armed "with an error",
 * answers with an error packet of its own and then closes both sides).
 * The procedures answer only after their COMMIT, so the commit happened
 * and its result is lost: deterministically, without timing.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "db_proxy.h"
#include "harness.h"

#define PROXY_PAIRS 64
#define MARKER_MAX 128

struct pair {
	int c, s;     /* the daemon's side, the server's side; -1 when unused */
	bool trapped; /* the marker went through: drop the server's reply */
	bool inject;  /* ... and answer with an error packet instead */
	bool swallow; /* the rest of that reply: dropped until the next command */
	char tail[MARKER_MAX];
	size_t tail_len; /* the last bytes from the client, for a split marker */
};

static struct {
	int lfd;
	unsigned port, upstream;
	pthread_t thread;
	pthread_mutex_t mu;
	char marker[MARKER_MAX];    /* armed when non-empty; guarded by mu */
	bool with_error;            /* guarded by mu */
	int fired;                  /* guarded by mu */
	int accepted;               /* connections forwarded; guarded by mu */
	volatile sig_atomic_t down; /* a dead node: every connection closed */
	volatile sig_atomic_t stop;
	struct pair p[PROXY_PAIRS];
} X = {.mu = PTHREAD_MUTEX_INITIALIZER};

void lf_h_proxy_arm(const char *marker)
{
	pthread_mutex_lock(&X.mu);
	snprintf(X.marker, sizeof X.marker, "%s", marker);
	X.with_error = false;
	pthread_mutex_unlock(&X.mu);
}

void lf_h_proxy_arm_error(const char *marker)
{
	pthread_mutex_lock(&X.mu);
	snprintf(X.marker, sizeof X.marker, "%s", marker);
	X.with_error = true;
	pthread_mutex_unlock(&X.mu);
}

int lf_h_proxy_fired(void)
{
	pthread_mutex_lock(&X.mu);
	int n = X.fired;
	pthread_mutex_unlock(&X.mu);
	return n;
}

static bool write_all(int fd, const char *b, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		b += w;
		n -= (size_t)w;
	}
	return true;
}

static void pair_close(struct pair *p)
{
	close(p->c);
	close(p->s);
	p->c = p->s = -1;
}

/* Data from the daemon: look for the armed marker (also across two
 * reads), then forward. */
static bool from_client(struct pair *p, const char *buf, size_t n)
{
	pthread_mutex_lock(&X.mu);
	size_t ml = strlen(X.marker);
	if (ml > 0) {
		char *joined = malloc(p->tail_len + n);
		memcpy(joined, p->tail, p->tail_len);
		memcpy(joined + p->tail_len, buf, n);
		if (memmem(joined, p->tail_len + n, X.marker, ml) != NULL) {
			p->trapped = true;
			p->inject = X.with_error;
			X.marker[0] = '\0'; /* one shot */
		}
		free(joined);
	}
	pthread_mutex_unlock(&X.mu);
	p->swallow = false; /* a new command: its answer is forwarded */
	size_t keep = n < MARKER_MAX - 1 ? n : MARKER_MAX - 1;
	memcpy(p->tail, buf + n - keep, keep);
	p->tail_len = keep;
	return write_all(p->s, buf, n);
}

static void *proxy_thread(void *arg)
{
	(void)arg;
	char buf[65536];
	while (!X.stop) {
		if (X.down) /* a node that died: its connections break */
			for (int i = 0; i < PROXY_PAIRS; i++)
				if (X.p[i].c >= 0)
					pair_close(&X.p[i]);
		struct pollfd fds[1 + 2 * PROXY_PAIRS];
		int who[1 + 2 * PROXY_PAIRS];
		int nf = 0;
		fds[nf] = (struct pollfd){.fd = X.lfd, .events = POLLIN};
		who[nf++] = -1;
		for (int i = 0; i < PROXY_PAIRS; i++) {
			if (X.p[i].c < 0)
				continue;
			fds[nf] = (struct pollfd){.fd = X.p[i].c, .events = POLLIN};
			who[nf++] = 2 * i;
			fds[nf] = (struct pollfd){.fd = X.p[i].s, .events = POLLIN};
			who[nf++] = 2 * i + 1;
		}
		if (poll(fds, (nfds_t)nf, 100) <= 0)
			continue;
		for (int k = 0; k < nf; k++) {
			if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (who[k] < 0) {
				int c = accept(X.lfd, NULL, NULL);
				if (X.down) { /* closed before the greeting */
					if (c >= 0)
						close(c);
					continue;
				}
				int s = socket(AF_INET, SOCK_STREAM, 0);
				struct sockaddr_in a = {.sin_family = AF_INET,
							.sin_port = htons((uint16_t)X.upstream),
							.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
				int slot = -1;
				for (int i = 0; i < PROXY_PAIRS && slot < 0; i++)
					if (X.p[i].c < 0)
						slot = i;
				if (c < 0 || s < 0 || slot < 0 ||
				    connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
					if (c >= 0)
						close(c);
					if (s >= 0)
						close(s);
					continue;
				}
				X.p[slot] = (struct pair){.c = c, .s = s};
				pthread_mutex_lock(&X.mu);
				X.accepted++;
				pthread_mutex_unlock(&X.mu);
				continue;
			}
			struct pair *p = &X.p[who[k] / 2];
			if (p->c < 0 || fds[k].fd != (who[k] % 2 ? p->s : p->c))
				continue; /* closed earlier in this round */
			ssize_t n = recv(fds[k].fd, buf, sizeof buf, 0);
			bool ok = n > 0;
			if (ok && who[k] % 2 == 0) {
				ok = from_client(p, buf, (size_t)n);
			} else if (ok && p->trapped && p->inject) {
				/* the server answered the trapped CALL, after its
				 * COMMIT: the daemon hears an error instead, with
				 * the sequence number of the real answer */
				static const char msg[] =
					"\xff\x51\x04#HY000injected after the commit";
				char pkt[4 + sizeof msg];
				size_t len = sizeof msg - 1;
				pkt[0] = (char)len;
				pkt[1] = pkt[2] = 0;
				pkt[3] = n >= 4 ? buf[3] : 1;
				memcpy(pkt + 4, msg, len);
				pthread_mutex_lock(&X.mu);
				X.fired++;
				pthread_mutex_unlock(&X.mu);
				p->trapped = p->inject = false;
				/* then the connection ends: the rest of the real
				 * answer may still be on its way, and forwarded
				 * after the daemon's next command it would be read
				 * as that command's answer */
				(void)write_all(p->c, pkt, 4 + len);
				ok = false;
			} else if (ok && p->swallow) {
				/* the rest of the real answer */
			} else if (ok && p->trapped) {
				/* the server answered the trapped CALL: after its
				 * COMMIT. The daemon never sees the answer. */
				pthread_mutex_lock(&X.mu);
				X.fired++;
				pthread_mutex_unlock(&X.mu);
				ok = false;
			} else if (ok) {
				ok = write_all(p->c, buf, (size_t)n);
			}
			if (!ok)
				pair_close(p);
		}
	}
	for (int i = 0; i < PROXY_PAIRS; i++)
		if (X.p[i].c >= 0)
			pair_close(&X.p[i]);
	return NULL;
}

bool lf_h_proxy_start(unsigned upstream)
{
	for (int i = 0; i < PROXY_PAIRS; i++)
		X.p[i].c = X.p[i].s = -1;
	X.upstream = upstream;
	X.lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	if (X.lfd < 0 || bind(X.lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(X.lfd, 64) != 0 || getsockname(X.lfd, (struct sockaddr *)&a, &len) != 0)
		return false;
	X.port = ntohs(a.sin_port);
	return pthread_create(&X.thread, NULL, proxy_thread, NULL) == 0;
}

void lf_h_proxy_stop(void)
{
	X.stop = 1;
	pthread_join(X.thread, NULL);
	close(X.lfd);
}

unsigned lf_h_proxy_port(void)
{
	return X.port;
}

void lf_h_proxy_down(bool down)
{
	X.down = down;
}

int lf_h_proxy_accepted(void)
{
	pthread_mutex_lock(&X.mu);
	int n = X.accepted;
	pthread_mutex_unlock(&X.mu);
	return n;
}

bool lf_h_proxy_daemon_start(struct lf_h_daemon *d, const char *test)
{
	struct lf_h_env via_proxy = fx.env;
	if (!lf_h_proxy_start(fx.env.mysql_port)) {
		fprintf(stderr, "%s: the database proxy did not start\n", test);
		return false;
	}
	via_proxy.mysql_port = lf_h_proxy_port();
	if (!lf_h_daemon_config(&via_proxy, d, fx.db, 1, NULL) ||
	    lf_h_ctl(&fx.env, d, "migrate") != 0 || !lf_h_daemon_start(&fx.env, d)) {
		fprintf(stderr, "%s: daemon set-up failed; log %s\n", test, d->log);
		return false;
	}
	return true;
}

void lf_h_proxy_daemon_stop(struct lf_h_daemon *d)
{
	if (d->pid > 0)
		lf_h_daemon_stop(d, SIGTERM, 15000);
	lf_h_proxy_stop();
}
