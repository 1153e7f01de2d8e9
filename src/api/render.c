/*
 * api/render.c - the JSON bodies of accounts, payments and ledger entries
 * (lf_render.h). Pure functions of their input, so a stored body and a
 * body rendered again from the same row are the same bytes. Also the
 * one copy a body gets: from the scratch evbuffer into an owned lf_body.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "lf_http.h"
#include "lf_json.h"
#include "lf_ledger_hash.h"
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

/* The canonical metadata text is a JSON object already (rendered by
 * lf_api_metadata_parse, read back as stored). */
static void add_metadata(struct evbuffer *out, const char *metadata)
{
	evbuffer_add_printf(out, "\"metadata\":");
	if (metadata != NULL)
		evbuffer_add(out, metadata, strlen(metadata));
	else
		evbuffer_add(out, "null", 4);
}

void lf_render_account(struct evbuffer *out, const struct lf_account *a)
{
	evbuffer_add(out, "{", 1);
	add_uuid(out, "id", &a->id);
	evbuffer_add_printf(out, ",\"name\":");
	lf_json_append_string(out, a->name, strlen(a->name));
	evbuffer_add_printf(out, ",\"currency\":\"%s\",", a->currency);
	int exp = exponent_of(a->currency);
	add_money(out, "balance", a->balance, exp);
	evbuffer_add(out, ",", 1);
	/* an issuance account's balance may be below what it holds */
	int64_t avail = a->balance >= INT64_MIN + a->held ? a->balance - a->held : INT64_MIN;
	add_money(out, "availableBalance", avail, exp);
	evbuffer_add(out, ",", 1);
	add_money(out, "heldBalance", a->held, exp);
	evbuffer_add(out, ",", 1);
	add_metadata(out, a->metadata);
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
	evbuffer_add_printf(out, ",\"status\":\"%s\",", lf_payment_status_name(p->status));
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
	int exp = exponent_of(p->currency);
	evbuffer_add(out, ",", 1);
	if (p->has_captured)
		add_money(out, "capturedAmount", p->captured, exp);
	else
		evbuffer_add_printf(out, "\"capturedAmount\":null");
	evbuffer_add(out, ",", 1);
	add_money(out, "refundedAmount", p->refunded, exp);
	evbuffer_add(out, ",", 1);
	if (p->is_hold && (p->status == LF_PAYMENT_PENDING || p->status == LF_PAYMENT_EXPIRED))
		add_time(out, "expiresAt", p->expires_ms);
	else
		evbuffer_add_printf(out, "\"expiresAt\":null");
	evbuffer_add(out, ",", 1);
	add_metadata(out, p->metadata);
	evbuffer_add(out, ",", 1);
	add_time(out, "createdAt", p->created_ms);
	evbuffer_add(out, "}", 1);
}

void lf_render_refund(struct evbuffer *out, const struct lf_refund *x)
{
	evbuffer_add(out, "{", 1);
	add_uuid(out, "id", &x->id);
	evbuffer_add(out, ",", 1);
	add_uuid(out, "paymentId", &x->payment_id);
	evbuffer_add(out, ",", 1);
	add_money(out, "amount", x->amount, exponent_of(x->currency));
	evbuffer_add_printf(out, ",\"currency\":\"%s\",\"status\":\"%s\",\"reason\":", x->currency,
			    x->completed ? "COMPLETED" : "DECLINED");
	if (x->has_reason)
		lf_json_append_string(out, x->reason, strlen(x->reason));
	else
		evbuffer_add(out, "null", 4);
	evbuffer_add(out, ",", 1);
	add_time(out, "createdAt", x->created_ms);
	evbuffer_add(out, "}", 1);
}

bool lf_render_refund_body(struct lf_body *out, const struct lf_refund *x)
{
	struct evbuffer *b = evbuffer_new();
	out->data = NULL;
	out->len = 0;
	if (b == NULL)
		return false;
	lf_render_refund(b, x);
	bool ok = lf_render_body(out, b);
	evbuffer_free(b);
	return ok;
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
	char hex[2 * LF_LEDGER_HASH_LEN + 1];
	lf_ledger_hash_hex(e->hash, hex);
	evbuffer_add_printf(out, ",\"hash\":\"%s\"}", hex);
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

void lf_render_risk_declined(struct evbuffer *out, const lf_uuid *payment_id)
{
	char id[LF_UUID_STR_LEN + 1], extra[64];
	lf_uuid_format(payment_id, id);
	snprintf(extra, sizeof extra, "\"paymentId\":\"%s\"", id);
	lf_problem_render(out, 422, "risk_declined",
			  "A risk rule declined the payment; the decline was recorded.", extra);
}

bool lf_render_body(struct lf_body *out, struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);
	char *s = malloc(n + 1);
	out->data = NULL;
	out->len = 0;
	if (s == NULL) {
		evbuffer_drain(b, n);
		return false;
	}
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	lf_body_adopt(out, s, n);
	return true;
}

/* A scratch buffer to render into (NULL, out emptied, when out of memory),
 * and its bytes moved into out. */
static struct evbuffer *scratch(struct lf_body *out)
{
	out->data = NULL;
	out->len = 0;
	return evbuffer_new();
}

static bool scratch_done(struct lf_body *out, struct evbuffer *b)
{
	bool ok = lf_render_body(out, b);
	evbuffer_free(b);
	return ok;
}

bool lf_render_payment_body(struct lf_body *out, const struct lf_payment *p)
{
	struct evbuffer *b = scratch(out);
	if (b == NULL)
		return false;
	lf_render_payment(b, p);
	return scratch_done(out, b);
}

bool lf_render_account_body(struct lf_body *out, const struct lf_account *a)
{
	struct evbuffer *b = scratch(out);
	if (b == NULL)
		return false;
	lf_render_account(b, a);
	return scratch_done(out, b);
}

bool lf_render_declined_body(struct lf_body *out, const lf_uuid *payment_id)
{
	struct evbuffer *b = scratch(out);
	if (b == NULL)
		return false;
	lf_render_declined(b, payment_id);
	return scratch_done(out, b);
}

bool lf_render_risk_declined_body(struct lf_body *out, const lf_uuid *payment_id)
{
	struct evbuffer *b = scratch(out);
	if (b == NULL)
		return false;
	lf_render_risk_declined(b, payment_id);
	return scratch_done(out, b);
}

bool lf_render_problem_body(struct lf_body *out, int status, const char *code, const char *detail,
			    const char *extra)
{
	struct evbuffer *b = scratch(out);
	if (b == NULL)
		return false;
	lf_problem_render(b, status, code, detail, extra);
	return scratch_done(out, b);
}
