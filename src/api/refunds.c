/*
 * api/refunds.c - GET /api/payments/{id}/refunds: a payment's refunds,
 * COMPLETED and DECLINED, oldest first, as {"refunds": [...]} (at most
 * LF_REFUNDS_MAX); the payment is scoped like every read (someone else's
 * is 404 payment_not_found). POST is payment_action.c.
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

#define LF_REFUNDS_MAX 100

struct refund_list {
	struct lf_req *r;
	lf_uuid payment;
	struct lf_client who;
	lf_rc rc;
	unsigned count;
	struct lf_refund rows[LF_REFUNDS_MAX];
};

static bool refunds_work(struct lf_store_conn *c, void *arg)
{
	struct refund_list *l = arg;
	if (c == NULL) {
		l->rc = LF_LOST;
		return true;
	}
	l->rc = lf_store_list_refunds(c, &l->payment, &l->who, l->rows, LF_REFUNDS_MAX, &l->count);
	return l->rc != LF_LOST;
}

static void refunds_done(void *arg)
{
	struct refund_list *l = arg;
	struct lf_body body = {0};
	struct evbuffer *b = l->rc == LF_OK ? evbuffer_new() : NULL;
	if (b != NULL) {
		evbuffer_add_printf(b, "{\"refunds\":[");
		for (unsigned i = 0; i < l->count; i++) {
			if (i)
				evbuffer_add(b, ",", 1);
			lf_render_refund(b, &l->rows[i]);
		}
		evbuffer_add_printf(b, "]}");
		(void)lf_render_body(&body, b);
		evbuffer_free(b);
	}
	lf_api_read_send(l->r, l->rc, &body, "payment_not_found", "No payment has this id.");
	lf_req_release(l->r);
}

void lf_payments_refunds_list(struct lf_req *r, const char *id)
{
	struct refund_list *l = calloc(1, sizeof *l);
	if (l == NULL) {
		lf_req_problem(r, 500, "internal_error", "Out of memory.", NULL);
		return;
	}
	r->state = l;
	r->free_state = free;
	l->r = r;
	l->who = r->client;
	if (!lf_uuid_parse(id, strlen(id), &l->payment)) {
		lf_req_problem(r, 400, "invalid_id", "The payment id is not a UUID.", NULL);
		return;
	}
	lf_req_arm_deadline(r, r->app->cfg->request_timeout_ms);
	if (!lf_api_read_submit(r, refunds_work, refunds_done, l)) {
		struct lf_body none = {0};
		lf_api_read_send(r, LF_LOST, &none, NULL, NULL);
	}
}
