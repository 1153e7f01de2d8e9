/*
 * api/payment_batch.c - the group commit of payments (doc/design.md,
 * "Group commit"): the DECIDE jobs a pool thread takes together
 * (lf_dbpool_submit_batch, kind LF_BATCH_PAYMENT, up to [mysql]
 * batch_max). One job alone is exactly the single path (lf_pay_work).
 * Otherwise: the members decide() answers without a transaction (its
 * 422s) are decided alone; the others go to lf_store_transfer_batch
 * (store/group.c: decided in C, judged and written by one CALL
 * lf_transfer_group_v2; each member's bodies rendered first, as the single
 * path does), and each gets the decision the single path would give
 * (201 / 422 declined, the same bodies and counters); the members it
 * hands back (LF_TRANSFER_BATCH_FALLBACK, nothing written) are then
 * decided alone, in arrival order. Errors of the group commit: LF_AGAIN
 * past the retries is every member's rolled-back 503; LF_LOST and
 * LF_ERROR make every member's outcome unknown, settled through its own
 * key (lf_pay_unknown).
 *
 * The pool runs the work once more on a fresh connection when it returns
 * false (a broken connection): a member whose part is done is skipped
 * then (batch_done), one left unknown is settled (SETTLE), and one not
 * reached yet is decided.
 */
#include "config.h"

#include <assert.h>
#include <stdlib.h>

#include "lf_dbpool.h"
#include "lf_metrics.h"
#include "lf_store.h"
#include "payments_int.h"

struct batch_call {
	struct lf_transfer_req *reqs;
	int n;
	enum lf_transfer_batch_result *results;
	struct lf_metrics *metrics;
};

/* One attempt (lf_api_retry may make more), counted in the metrics. */
static lf_rc batch_attempt(struct lf_store_conn *c, void *arg)
{
	struct batch_call *b = arg;
	struct lf_transfer_batch_path path;
	lf_rc rc = lf_store_transfer_batch(c, b->reqs, b->n, b->results, &path);
	if (b->metrics != NULL) {
		lf_metrics_inc(&b->metrics->db_groups[path.locked_first]);
		lf_metrics_add(&b->metrics->db_groups_stale, (uint64_t)path.stale);
		lf_metrics_add(&b->metrics->db_groups_assumed, path.assumed > 0);
	}
	return rc;
}

/* The connection broke: the members not reached yet learn that nothing
 * was sent for them, unless the pool's second run reaches them. */
static void not_reached(void **args, int n)
{
	for (int i = 0; i < n; i++) {
		struct lf_pay *p = args[i];
		if (!p->batch_done && p->state == PAY_DECIDE && p->d.kind == LF_DEC_NONE)
			lf_decision_unavailable(&p->d);
	}
}

/* One member on its own (the single path). False when the connection
 * broke. */
static bool alone(struct lf_store_conn *c, struct lf_pay *p)
{
	if (p->state == PAY_DECIDE)
		lf_decision_clear(&p->d);
	if (!lf_pay_work(c, p))
		return false;
	p->batch_done = true;
	return true;
}

/* The decision of each member from the batch's result; the fallbacks are
 * moved to the front of group (in arrival order), their count returned. */
static int apply(struct lf_pay **group, struct lf_pay_transfer *calls, int m,
		 const enum lf_transfer_batch_result *results)
{
	int nf = 0;
	for (int k = 0; k < m; k++) {
		struct lf_pay *p = group[k];
		switch (results[k]) {
		case LF_TRANSFER_BATCH_COMPLETED:
			lf_decision_fresh(&p->d, 201, &calls[k].completed, calls[k].location);
			p->batch_done = true;
			break;
		case LF_TRANSFER_BATCH_DECLINED:
			lf_decision_fresh(&p->d, 422, &calls[k].declined, NULL);
			p->declined = true;
			p->batch_done = true;
			break;
		case LF_TRANSFER_BATCH_FALLBACK: group[nf++] = p; break;
		}
	}
	return nf;
}

/* The members of group[0..m) (each in DECIDE, each needing the transfer)
 * in one transaction. Returns the number of fallbacks, now group[0..),
 * or -1 when the connection broke (every member's outcome unknown). */
static int commit_group(struct lf_store_conn *c, struct lf_pay **group, int m)
{
	struct lf_pay_transfer *calls = calloc((size_t)m, sizeof *calls);
	struct lf_transfer_req *reqs = malloc((size_t)m * sizeof *reqs);
	enum lf_transfer_batch_result *results = malloc((size_t)m * sizeof *results);
	int built = 0;
	for (int k = 0; calls != NULL && reqs != NULL && results != NULL && k < m; k++) {
		if (!lf_pay_transfer_build(group[k], &calls[k]))
			break;
		reqs[k] = calls[k].t;
		built++;
	}
	int nf = 0;
	if (built < m) {
		/* out of memory: nothing was sent for any of them */
		for (int k = 0; k < m; k++) {
			lf_decision_internal(&group[k]->d);
			group[k]->batch_done = true;
		}
	} else {
		struct lf_pay *p0 = group[0];
		struct lf_metrics *metrics = p0->metrics;
		struct batch_call b = {
			.reqs = reqs, .n = m, .results = results, .metrics = metrics};
		lf_rc rc = lf_api_retry(batch_attempt, c, &b, p0->max_retries, &p0->retries);
		if (rc == LF_OK) {
			nf = apply(group, calls, m, results);
			if (metrics != NULL)
				lf_metrics_add(&metrics->db_group_fallbacks, (uint64_t)nf);
		} else {
			for (int k = 0; k < m; k++) {
				struct lf_pay *p = group[k];
				if (rc == LF_LOST || rc == LF_ERROR) {
					/* it may have committed: each key decides */
					p->after_error = rc == LF_ERROR;
					lf_pay_unknown(p);
				} else {
					lf_decision_failed(&p->d, rc); /* rolled back */
				}
				/* a lost connection: the pool's second run settles */
				p->batch_done = rc != LF_LOST;
			}
			nf = rc == LF_LOST ? -1 : 0;
		}
	}
	for (int k = 0; calls != NULL && k < built; k++)
		lf_pay_transfer_clear(&calls[k]);
	free(calls);
	free(reqs);
	free(results);
	return nf;
}

static bool batch_work(struct lf_store_conn *c, void **args, int n)
{
	if (n == 1)
		return lf_pay_work(c, args[0]); /* exactly the single path */
	struct lf_pay **group = malloc((size_t)n * sizeof *group);
	int m = 0;
	for (int i = 0; i < n; i++) {
		struct lf_pay *p = args[i];
		if (p->batch_done)
			continue;
		if (c != NULL && group != NULL && lf_pay_needs_transfer(p)) {
			p->declined = false;
			group[m++] = p;
			continue;
		}
		/* a 422 before the transaction, no connection, or a member
		 * left unknown by the first run */
		if (!alone(c, p)) {
			not_reached(args, n);
			free(group);
			return false;
		}
	}
	int nf = m == 1 ? 1 : m > 1 ? commit_group(c, group, m) : 0;
	if (nf < 0) {
		free(group);
		return false;
	}
	/* the fallbacks, one by one in arrival order: lf_transfer decides
	 * (a replay, a 422 it finds under the lock, or the payment) */
	for (int k = 0; k < nf; k++) {
		if (!alone(c, group[k])) {
			not_reached(args, n);
			free(group);
			return false;
		}
	}
	free(group);
	return true;
}

const struct lf_db_batch_kind lf_pay_batch_kind = {
	.metric = LF_BATCH_PAYMENT,
	.work = batch_work,
};
