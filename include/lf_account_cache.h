/*
 * lf_account_cache.h - a worker-local cache of immutable account facts (id ->
 * currency and owning client). Accounts are never deleted and never change currency, so a
 * positive entry never goes stale; it saves the payment path a round trip.
 * Single-threaded: used on the event loop only.
 */
#ifndef LF_ACCOUNT_CACHE_H
#define LF_ACCOUNT_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lf_uuid.h"

struct lf_account_cache;

struct lf_account_cache *lf_account_cache_create(size_t capacity);
void lf_account_cache_free(struct lf_account_cache *c);
/* Copies the currency ("USD\0") out; false when not cached. */
bool lf_account_cache_get(struct lf_account_cache *c, const lf_uuid *id, char currency[4],
			  uint64_t *owner);
/* Remember; when full, the slot is simply overwritten (direct-mapped). */
void lf_account_cache_put(struct lf_account_cache *c, const lf_uuid *id, const char currency[4],
			  uint64_t owner);

#endif
