/*
 * lf_edge.h - the HTTP edge of a worker: what evhttp 2.1 does not enforce
 * by itself. Per connection: the max_connections cap, the header_timeout
 * and body_timeout deadlines counted from the first byte, and telling a
 * header section over the limit (431) from other malformed requests.
 * Per request: the message framing rules of the contract (400 and close).
 * Per listener: accept() failing with EMFILE/ENFILE pauses accepting
 * instead of spinning. See doc/design.md, "The HTTP edge".
 */
#ifndef LF_EDGE_H
#define LF_EDGE_H

#include <stdbool.h>
#include <stddef.h>

#include "lf_core.h"

struct evhttp;
struct evhttp_bound_socket;
struct evhttp_request;
struct lf_app;
struct lf_edge;

/* Install the edge on app->http (evhttp_set_bevcb). NULL when out of
 * memory or when the running libevent is not the 2.1 series the hooks
 * were verified against (logged). One edge per process. */
struct lf_edge *lf_edge_create(struct lf_app *app);
/* Free the edge; evhttp_free() must have run (it closes the connections
 * whose records this owns). NULL is fine. */
void lf_edge_free(struct lf_edge *e);

/* Watch the bound socket's listener for accept() errors; _unwatch before
 * the socket is removed from evhttp (the listener is freed with it). */
lf_rc lf_edge_watch_listener(struct lf_edge *e, struct evhttp_bound_socket *bound);
void lf_edge_unwatch_listener(struct lf_edge *e);

/* Connections open and admitted (not refused over the cap), and those of
 * them that have sent at least one byte (a graceful drain waits for
 * these: they may still be owed a Connection: close reply). */
size_t lf_edge_connections(const struct lf_edge *e);
size_t lf_edge_connections_used(const struct lf_edge *e);

/* evhttp dispatched a request (the router) or is answering it with an
 * error of its own (http/errors.c): the connection's deadline stops; it
 * starts again with the first byte of the next request. */
void lf_edge_request_begin(struct lf_edge *e, struct evhttp_request *req);

/* The framing rules (contract, "HTTP edge"): NULL when the request may
 * be served, else the detail of its 400 invalid_request, which must be
 * answered with Connection: close. */
const char *lf_edge_framing_error(struct evhttp_request *req);

/* Was req's header section (request line and headers, as far as it
 * came) larger than max_header_size? evhttp reports that as a 400 like
 * any malformed request; it is 431. */
bool lf_edge_headers_too_large(const struct lf_edge *e, struct evhttp_request *req);

/* The edge of this process, for callbacks libevent gives no argument of
 * ours (http/errors.c); NULL outside a worker. */
struct lf_edge *lf_edge_current(void);

#endif
