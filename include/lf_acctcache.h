/*
 * lf_acctcache.h - a worker-local cache of immutable account facts (id ->
 * currency). Accounts are never deleted and never change currency, so a
 * positive entry never goes stale; it saves the payment path a round trip.
 * Single-threaded: used on the event loop only.
 */
#ifndef LF_ACCTCACHE_H
#define LF_ACCTCACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "lf_uuid.h"

struct lf_acctcache;

struct lf_acctcache *lf_acctcache_create(size_t capacity);
void lf_acctcache_free(struct lf_acctcache *c);
/* Copies the currency ("USD\0") out; false when not cached. */
bool lf_acctcache_get(struct lf_acctcache *c, const lf_uuid *id, char currency[4]);
/* Remember; when full, the slot is simply overwritten (direct-mapped). */
void lf_acctcache_put(struct lf_acctcache *c, const lf_uuid *id, const char currency[4]);

#endif
