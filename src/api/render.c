/*
 * api/render.c - the JSON bodies of accounts, payments and ledger entries
 * (lf_render.h). Pure functions of their input, so a stored body and a
 * body rendered again from the same row are the same bytes.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "lf_http.h"
#include "lf_json.h"
#include "lf_money.h"
#include "lf_render.h"
#include "lf_time.h"

static int exponent_of(const char *currency)
{
	const struct lf_currency *c = lf_currency_find(currency);
	return c ? c->exponent : 2;
}

static void add_uuid(struct evbuffer *out, const char *name, const lf_uuid *id)
{
	char s[LF_UUID_STR_LEN + 1];
	lf_uuid_format(id, s);
	evbuffer_add_printf(out, "\"%s\":\"%s\"", name, s);
}

static void add_money(struct evbuffer *out, const char *name, int64_t minor, int exponent)
{
	char s[LF_MONEY_FMT_MAX];
	lf_money_format(minor, exponent, s);
	evbuffer_add_printf(out, "\"%s\":\"%s\"", name, s);
}

static void add_time(struct evbuffer *out, const char *name, int64_t ms)
{
	char s[LF_TIME_STR_LEN + 1];
	lf_time_format_ms(ms, s);
	evbuffer_add_printf(out, "\"%s\":\"%s\"", name, s);
}

void lf_render_account(struct evbuffer *out, const struct lf_account *a)
{
	evbuffer_add(out, "{", 1);
	add_uuid(out, "id", &a->id);
	evbuffer_add_printf(out, ",\"name\":");
	lf_json_append_string(out, a->name, strlen(a->name));
	evbuffer_add_printf(out, ",\"currency\":\"%s\",", a->currency);
	add_money(out, "balance", a->balance, exponent_of(a->currency));
	evbuffer_add(out, ",", 1);
	add_time(out, "createdAt", a->created_ms);
	evbuffer_add(out, ",", 1);
	add_time(out, "updatedAt", a->updated_ms);
	evbuffer_add(out, "}", 1);
}

void lf_render_payment(struct evbuffer *out, const struct lf_payment *p)
{
	evbuffer_add(out, "{", 1);
	add_uuid(out, "id", &p->id);
	evbuffer_add_printf(out, ",\"status\":\"%s\",", p->completed ? "COMPLETED" : "DECLINED");
	add_uuid(out, "fromAccountId", &p->from);
	evbuffer_add(out, ",", 1);
	add_uuid(out, "toAccountId", &p->to);
	evbuffer_add(out, ",", 1);
	add_money(out, "amount", p->amount, exponent_of(p->currency));
	evbuffer_add_printf(out, ",\"currency\":\"%s\",\"reference\":", p->currency);
	if (p->has_reference)
		lf_json_append_string(out, p->reference, strlen(p->reference));
	else
		evbuffer_add(out, "null", 4);
	evbuffer_add(out, ",", 1);
	add_time(out, "createdAt", p->created_ms);
	evbuffer_add(out, "}", 1);
}

void lf_render_ledger_entry(struct evbuffer *out, const struct lf_ledger_entry *e, int exponent)
{
	evbuffer_add(out, "{", 1);
	add_uuid(out, "id", &e->id);
	evbuffer_add(out, ",", 1);
	if (e->has_payment)
		add_uuid(out, "paymentId", &e->payment_id);
	else
		evbuffer_add_printf(out, "\"paymentId\":null");
	evbuffer_add(out, ",", 1);
	add_uuid(out, "accountId", &e->account_id);
	evbuffer_add_printf(out, ",\"direction\":\"%s\",", e->debit ? "DEBIT" : "CREDIT");
	add_money(out, "amount", e->amount, exponent);
	evbuffer_add(out, ",", 1);
	add_money(out, "balanceAfter", e->balance_after, exponent);
	evbuffer_add(out, ",", 1);
	add_time(out, "createdAt", e->created_ms);
	evbuffer_add(out, "}", 1);
}

void lf_render_declined(struct evbuffer *out, const lf_uuid *payment_id)
{
	char id[LF_UUID_STR_LEN + 1], extra[64];
	lf_uuid_format(payment_id, id);
	snprintf(extra, sizeof extra, "\"paymentId\":\"%s\"", id);
	lf_problem_render(out, 422, "insufficient_funds",
			  "The sender's balance does not cover the amount; the payment was "
			  "declined and recorded.",
			  extra);
}

char *lf_render_take(struct evbuffer *b, size_t *len)
{
	size_t n = evbuffer_get_length(b);
	char *s = malloc(n + 1);
	if (s == NULL)
		return NULL;
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	if (len)
		*len = n;
	return s;
}
