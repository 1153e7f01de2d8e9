/*
 * test_webhooks.h - what test_webhooks.c and its loopback receiver
 * (test_webhooks_receiver.c) share. The receiver is a thread serving one
 * connection at a time on 127.0.0.1: it checks each POST's
 * LedgerFlow-Signature against the secret of its path ("/a", "/b", "/c"),
 * over TLS when given a certificate,
 * that LedgerFlow-Event-Id names the event in the body, records the hit,
 * and answers 500 to the first fail_first attempts of every event (then
 * 200), or 500 to everything while down.
 */
#ifndef LF_TEST_WEBHOOKS_H
#define LF_TEST_WEBHOOKS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "events_util.h"

#define RX_MAX 4000

struct rx_hit {
	struct ev ev;
	int path; /* 0: /a, 1: /b, 2: /c */
	int64_t at_ms;
	int status; /* what we answered */
	bool sig_ok, id_ok;
};

struct rx {
	int fd;
	unsigned port;
	pthread_t thread;
	int stop;
	pthread_mutex_t mu;
	struct rx_hit hits[RX_MAX];
	int nhits;
	/* set by the test (under mu) */
	char secret[3][100];
	int fail_first; /* 500 to this many attempts of each event */
	bool down;      /* 500 to everything */
	int delay_ms;   /* before each answer */
	/* set before rx_start: serve TLS with this certificate and key */
	const char *cert, *key;
	void *tls;      /* its SSL_CTX */
	int tls_failed; /* handshakes that failed */
};

bool rx_start(struct rx *rx);
void rx_stop(struct rx *rx);
/* Hits on path so far (a copy under the lock). */
int rx_hits(struct rx *rx, int path, struct rx_hit *out, int max);

#endif
