/*
 * db_proxy.h - the tests' TCP proxy in front of MariaDB (db_proxy.c): one
 * per test program, started before the daemon that should reach the
 * database through it. Arming it with a marker (bytes of one statement,
 * e.g. an Idempotency-Key) cuts the connection that sends the marker at
 * the server's reply to it: the statement ran (and a procedure committed),
 * its answer is lost. One shot per arming.
 */
#ifndef LF_TEST_DB_PROXY_H
#define LF_TEST_DB_PROXY_H

#include <stdbool.h>

/* Listen on a free loopback port, forwarding to 127.0.0.1:upstream. */
bool lf_h_proxy_start(unsigned upstream);
void lf_h_proxy_stop(void);
unsigned lf_h_proxy_port(void);
/* Cut the connection at the reply to the next packet containing marker. */
void lf_h_proxy_arm(const char *marker);
/* Answer that packet with an error (1105) instead, after the server ran
 * it, then end the connection (the rest of the real answer is dropped). */
void lf_h_proxy_arm_error(const char *marker);
/* How many times an armed marker fired. */
int lf_h_proxy_fired(void);
/* down: act as a dead node (open connections cut, new ones closed before
 * the server's greeting); false: alive again. */
void lf_h_proxy_down(bool down);
/* Connections forwarded so far. */
int lf_h_proxy_accepted(void);

struct lf_h_daemon;
/* The proxy started, then d: a daemon of one worker on fx's database that
 * reaches MariaDB through it (migrated first, straight to the server).
 * false: a line on stderr names the step and the log. */
bool lf_h_proxy_daemon_start(struct lf_h_daemon *d, const char *test);
/* Stop d (when it runs), then the proxy. */
void lf_h_proxy_daemon_stop(struct lf_h_daemon *d);

#endif
