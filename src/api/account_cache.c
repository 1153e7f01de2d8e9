/*
 * api/account_cache.c - direct-mapped cache of account id -> currency for one
 * worker (see lf_account_cache.h). Ids are UUIDv7, so the random tail is used
 * as the hash.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lf_account_cache.h"

struct entry {
	bool used;
	lf_uuid id;
	char currency[4];
	uint64_t owner;
};

struct lf_account_cache {
	size_t mask;
	struct entry *slots;
};

struct lf_account_cache *lf_account_cache_create(size_t capacity)
{
	size_t cap = 16;
	while (cap < capacity)
		cap *= 2;
	struct lf_account_cache *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	c->slots = calloc(cap, sizeof *c->slots);
	if (c->slots == NULL) {
		free(c);
		return NULL;
	}
	c->mask = cap - 1;
	return c;
}

void lf_account_cache_free(struct lf_account_cache *c)
{
	if (c == NULL)
		return;
	free(c->slots);
	free(c);
}

static size_t slot_of(const struct lf_account_cache *c, const lf_uuid *id)
{
	uint64_t h = 1469598103934665603ULL;
	for (int i = 0; i < 16; i++) {
		h ^= id->b[i];
		h *= 1099511628211ULL;
	}
	return (size_t)h & c->mask;
}

bool lf_account_cache_get(struct lf_account_cache *c, const lf_uuid *id, char currency[4],
			  uint64_t *owner)
{
	struct entry *e = &c->slots[slot_of(c, id)];
	if (!e->used || memcmp(e->id.b, id->b, 16) != 0)
		return false;
	memcpy(currency, e->currency, 4);
	*owner = e->owner;
	return true;
}

void lf_account_cache_put(struct lf_account_cache *c, const lf_uuid *id, const char currency[4],
			  uint64_t owner)
{
	struct entry *e = &c->slots[slot_of(c, id)];
	e->used = true;
	e->id = *id;
	e->owner = owner;
	memcpy(e->currency, currency, 3);
	e->currency[3] = '\0';
}
