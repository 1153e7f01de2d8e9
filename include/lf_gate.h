/*
 * lf_gate.h - the door every API request passes before its handler
 * (src/auth/gate.c): who is calling (the Bearer key, looked up in the
 * shared cache or the database and checked against its digest), whether
 * they may (the route's scopes), and whether they may now (the client's
 * token bucket, or the source address's for requests without a valid
 * key). It answers 401, 403 and 429 itself; otherwise it fills r->client
 * and calls the handler.
 */
#ifndef LF_GATE_H
#define LF_GATE_H

#include <stdbool.h>
#include <stdint.h>

#include "lf_auth.h"

struct lf_app;
struct lf_req;

typedef void (*lf_gate_next_fn)(struct lf_req *r, const char *id);

/* Authenticate and authorise r for a route that needs `scopes`, then call
 * next(r, id) (id is copied: it may be a stack buffer). May finish later,
 * after a database lookup; r is held meanwhile. */
void lf_gate_enter(struct lf_req *r, unsigned scopes, lf_gate_next_fn next, const char *id);

/* Start / stop the worker's once-a-second poll of the authentication
 * epoch (a revoke or rotate bumps it; cached key lookups of an older
 * epoch are no longer found). */
bool lf_gate_start(struct lf_app *app);
void lf_gate_stop(struct lf_app *app);

/* The pepper the keys' digests are made under: loaded once by the master
 * (lf_auth_pepper_load) before the workers fork. */
void lf_gate_set_pepper(const uint8_t pepper[LF_AUTH_PEPPER_LEN]);

/* ---- auth/global_limit.c: [ratelimit] global, counted in Redis ---- */

/* Has this host learnt that the client is past its rate, summed over
 * every host, in the current second? */
bool lf_global_limit_over(struct lf_app *app, uint64_t client, int64_t now_ms,
			  uint32_t *retry_after_s);
/* Count one admitted request in Redis (without waiting); an answer past
 * rate marks the client over for the rest of the second. */
void lf_global_limit_count(struct lf_app *app, uint64_t client, uint32_t rate, int64_t now_ms);

#endif
