/*
 * api/currencies.c - GET /api/currencies: the currencies table (the single
 * source of truth, checked against the built-in ISO 4217 table at start),
 * each currency with its exponent and its issuance account, the one
 * account that creates that money. Any authenticated client may list
 * them; the issuance accounts themselves are visible only to admin (they
 * belong to no client).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "lf_api.h"
#include "lf_app.h"
#include "lf_config.h"
#include "lf_handlers.h"
#include "lf_http.h"
#include "lf_render.h"
#include "lf_store.h"

/* ISO 4217 lists fewer than 200 active codes. */
#define CURRENCIES_MAX 512

struct list {
	struct lf_req *r;
	lf_rc rc;
	unsigned count;
	struct lf_currency_row rows[CURRENCIES_MAX];
};

static bool list_work(struct lf_store_conn *c, void *arg)
{
	struct list *l = arg;
	if (c == NULL) {
		l->rc = LF_LOST;
		return true;
	}
	l->rc = lf_store_list_currencies(c, l->rows, CURRENCIES_MAX, &l->count);
	return l->rc != LF_LOST;
}

static bool render(struct lf_body *out, const struct list *l)
{
	struct evbuffer *b = evbuffer_new();
	out->data = NULL;
	out->len = 0;
	if (b == NULL)
		return false;
	evbuffer_add_printf(b, "{\"currencies\":[");
	for (unsigned i = 0; i < l->count; i++) {
		char id[LF_UUID_STR_LEN + 1];
		lf_uuid_format(&l->rows[i].issuance_account_id, id);
		evbuffer_add_printf(
			b, "%s{\"code\":\"%s\",\"exponent\":%d,\"issuanceAccountId\":\"%s\"}",
			i ? "," : "", l->rows[i].code, l->rows[i].exponent, id);
	}
	evbuffer_add_printf(b, "]}");
	bool ok = lf_render_body(out, b);
	evbuffer_free(b);
	return ok;
}

static void list_done(void *arg)
{
	struct list *l = arg;
	struct lf_body body = {0};
	if (l->rc == LF_OK)
		(void)render(&body, l);
	lf_api_read_send(l->r, l->rc, &body, NULL, NULL);
	lf_req_release(l->r);
}

void lf_currencies_list(struct lf_req *r, const char *id)
{
	(void)id;
	struct list *l = calloc(1, sizeof *l);
	if (l == NULL) {
		lf_req_problem(r, 500, "internal_error", "Out of memory.", NULL);
		return;
	}
	r->state = l;
	r->free_state = free;
	l->r = r;
	lf_req_arm_deadline(r, r->app->cfg->request_timeout_ms);
	if (!lf_api_read_submit(r, list_work, list_done, l)) {
		struct lf_body none = {0};
		lf_api_read_send(r, LF_LOST, &none, NULL, NULL); /* the pool is stopping */
	}
}
