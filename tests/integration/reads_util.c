/*
 * reads_util.c - one round of concurrent account reads by two clients
 * (reads_util.h).
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "reads_util.h"

struct reader {
	pthread_t t;
	pthread_barrier_t *go;
	unsigned port;
	const char *key;
	char path[96];
	int want;
	const char *want_balance; /* with 200 */
	int status;
	char balance[32];
};

static void *read_one(void *arg)
{
	struct reader *x = arg;
	char h[200];
	snprintf(h, sizeof h, "Authorization: Bearer %s\r\n", x->key);
	pthread_barrier_wait(x->go);
	struct lf_h_resp r;
	x->status = lf_h_http(x->port, "GET", x->path, h, NULL, &r) == 0 ? r.status : -1;
	if (x->status != 200 || !lf_h_json_str(r.body, "balance", x->balance, sizeof x->balance))
		x->balance[0] = '\0';
	lf_h_resp_free(&r);
	return NULL;
}

static long long metric(unsigned port, const char *series)
{
	long long v = -1;
	return lf_h_metric(port, series, &v) ? v : -1;
}

#define COUNT "ledgerflow_db_batch_size_count{kind=\"account_read\"}"
#define SUM "ledgerflow_db_batch_size_sum{kind=\"account_read\"}"
#define SINGLE "ledgerflow_db_batch_size_bucket{kind=\"account_read\",le=\"1\"}"

long long lf_h_read_round(unsigned port, const struct lf_h_two_readers *t, int *wrong,
			  long long *reads)
{
	static struct reader x[READS_UTIL_READERS];
	long long count0 = metric(port, COUNT), single0 = metric(port, SINGLE);
	long long sum0 = metric(port, SUM);
	*reads = -1;
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, READS_UTIL_READERS);
	int started = 0;
	for (int i = 0; i < READS_UTIL_READERS; i++) {
		int me = i % 2, what = (i / 2) % 3; /* own, the other's, missing */
		const char *id = what == 0 ? t->acct[me] : what == 1 ? t->acct[1 - me] : t->missing;
		x[i] = (struct reader){.go = &go, .port = port, .key = t->key[me]};
		snprintf(x[i].path, sizeof x[i].path, "/api/accounts/%s", id);
		x[i].want = what == 0 ? 200 : 404;
		x[i].want_balance = t->balance[me];
	}
	for (int i = 0; i < READS_UTIL_READERS; i++) {
		if (pthread_create(&x[i].t, NULL, read_one, &x[i]) != 0)
			break;
		started++;
	}
	*wrong = READS_UTIL_READERS - started;
	if (started < READS_UTIL_READERS) {
		/* the barrier would never open: nothing more can be checked */
		fprintf(stderr, "\n  only %d reader threads\n", started);
		return -1;
	}
	for (int i = 0; i < READS_UTIL_READERS; i++)
		pthread_join(x[i].t, NULL);
	pthread_barrier_destroy(&go);
	for (int i = 0; i < READS_UTIL_READERS; i++) {
		bool ok = x[i].status == x[i].want &&
			  (x[i].want != 200 || strcmp(x[i].balance, x[i].want_balance) == 0);
		if (!ok) {
			(*wrong)++;
			fprintf(stderr, "\n  %s got %d (balance '%s')\n", x[i].path, x[i].status,
				x[i].balance);
		}
	}
	long long count = metric(port, COUNT), single = metric(port, SINGLE);
	long long sum = metric(port, SUM);
	if (sum0 >= 0 && sum >= 0)
		*reads = sum - sum0;
	if (count0 < 0 || single0 < 0 || count < 0 || single < 0)
		return -1;
	return (count - count0) - (single - single0);
}
