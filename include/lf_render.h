/*
 * lf_render.h - JSON representations of accounts, payments and ledger
 * entries, exactly as the API contract spells them: ids in lower-case
 * canonical form, amounts as strings with the currency's minor digits,
 * RFC 3339 UTC timestamps with milliseconds, absent optionals as null.
 */
#ifndef LF_RENDER_H
#define LF_RENDER_H

#include <stdbool.h>
#include <stdint.h>

#include "lf_store.h"

struct evbuffer;

void lf_render_account(struct evbuffer *out, const struct lf_account *a);
void lf_render_payment(struct evbuffer *out, const struct lf_payment *p);
void lf_render_ledger_entry(struct evbuffer *out, const struct lf_ledger_entry *e, int exponent);
/* The 422 insufficient_funds problem of a declined payment. */
void lf_render_declined(struct evbuffer *out, const lf_uuid *payment_id);
/* A copy of the buffer's bytes, NUL-terminated (malloc'd). */
char *lf_render_take(struct evbuffer *b, size_t *len);

#endif
