/*
 * store/replica.c - a worker's read replica ([mysql_replica]): its own
 * lf_dbpool, and a watcher thread that once a second asks the replica how
 * far behind it is, off the request path. The replica is usable while the
 * last check succeeded and found it under max_lag: for a MariaDB/MySQL
 * replica, SHOW SLAVE STATUS with both threads running and
 * Seconds_Behind_Master * 1000 < max_lag (NULL: not replicating, unusable);
 * for a Galera node, Synced with wsrep_local_recv_queue at most the
 * flow-control limit (its writesets not yet applied; Galera has no lag in
 * seconds); a server that is neither (no replication configured) is not
 * a replica and never used. The API asks lf_replica_usable() per read; a
 * read the replica pool cannot get a connection for is handed to the
 * primary's pool (lf_dbpool_set_fallback), so a replica that dies between
 * two checks costs no request its answer.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lf_dbpool.h"
#include "lf_log.h"
#include "lf_replica.h"
#include "store_int.h"

#define LF_REPLICA_CHECK_MS 1000
#define LF_REPLICA_GALERA_QUEUE_MAX 16 /* gcs.fc_limit's default */

struct lf_replica {
	struct lf_dbpool *pool;
	struct lf_db_params params;
	int64_t max_lag_ms;
	pthread_t watcher;
	bool watching;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping; /* guarded by lock */
	int usable;    /* atomic: 1 while the last check found it fit for reads */
};

/* One column of the current row by name, or NULL. */
static const char *column(MYSQL_RES *res, MYSQL_ROW row, const char *name)
{
	unsigned n = mysql_num_fields(res);
	MYSQL_FIELD *f = mysql_fetch_fields(res);
	for (unsigned i = 0; i < n; i++)
		if (strcasecmp(f[i].name, name) == 0)
			return row[i];
	return NULL;
}

/* The verdict of one check; why says what made it unusable. */
static bool galera_fit(MYSQL *m, char *why, size_t len)
{
	if (mysql_query(m, "SHOW GLOBAL STATUS WHERE Variable_name IN "
			   "('wsrep_local_state_comment', 'wsrep_local_recv_queue')") != 0) {
		snprintf(why, len, "wsrep status: %s", mysql_error(m));
		return false;
	}
	MYSQL_RES *res = mysql_store_result(m);
	bool synced = false;
	long queue = -1;
	MYSQL_ROW row;
	while (res != NULL && (row = mysql_fetch_row(res)) != NULL) {
		if (row[0] == NULL || row[1] == NULL)
			continue;
		if (strcasecmp(row[0], "wsrep_local_state_comment") == 0)
			synced = strcmp(row[1], "Synced") == 0;
		else
			queue = atol(row[1]);
	}
	mysql_free_result(res);
	if (!synced || queue < 0 || queue > LF_REPLICA_GALERA_QUEUE_MAX) {
		snprintf(why, len, "galera node %s, receive queue %ld",
			 synced ? "synced" : "not synced", queue);
		return false;
	}
	return true;
}

static bool replica_fit(MYSQL *m, int64_t max_lag_ms, char *why, size_t len)
{
	if (mysql_query(m, "SELECT @@global.wsrep_on") == 0) {
		MYSQL_RES *on = mysql_store_result(m);
		MYSQL_ROW r = on ? mysql_fetch_row(on) : NULL;
		bool galera = r != NULL && r[0] != NULL && strcmp(r[0], "1") == 0;
		mysql_free_result(on);
		if (galera)
			return galera_fit(m, why, len);
	}
	if (mysql_query(m, "SHOW SLAVE STATUS") != 0) {
		snprintf(why, len, "SHOW SLAVE STATUS: %s", mysql_error(m));
		return false;
	}
	MYSQL_RES *res = mysql_store_result(m);
	MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
	bool fit = false;
	if (row == NULL) {
		snprintf(why, len, "not a replica (no replication configured)");
	} else {
		const char *io = column(res, row, "Slave_IO_Running");
		const char *sql = column(res, row, "Slave_SQL_Running");
		const char *behind = column(res, row, "Seconds_Behind_Master");
		if (io == NULL || sql == NULL || strcmp(io, "Yes") != 0 || strcmp(sql, "Yes") != 0)
			snprintf(why, len, "replication stopped (io %s, sql %s)", io ? io : "-",
				 sql ? sql : "-");
		else if (behind == NULL)
			snprintf(why, len, "Seconds_Behind_Master is NULL");
		else if (atoll(behind) * 1000 >= max_lag_ms)
			snprintf(why, len, "%s s behind", behind);
		else
			fit = true;
	}
	mysql_free_result(res);
	return fit;
}

static void set_usable(struct lf_replica *r, bool fit, const char *why)
{
	int was = __atomic_exchange_n(&r->usable, fit ? 1 : 0, __ATOMIC_RELAXED);
	if (was == (fit ? 1 : 0))
		return;
	char q[300];
	if (fit)
		lf_info("db_replica_usable", "subsys=store host=%s",
			lf_log_quote(r->params.host, q, sizeof q));
	else
		lf_log_limited(LF_LOG_WARN, "db_replica_unusable", "db_replica_unusable",
			       "subsys=store reason=%s", lf_log_quote(why, q, sizeof q));
}

static void *watcher_thread(void *arg)
{
	struct lf_replica *r = arg;
	struct lf_store_conn *c = NULL;
	pthread_mutex_lock(&r->lock);
	while (!r->stopping) {
		pthread_mutex_unlock(&r->lock);
		char why[256] = "";
		if (c == NULL)
			c = lf_store_connect_node(&r->params, 0, false, NULL, why, sizeof why);
		bool fit = c != NULL && replica_fit(c->m, r->max_lag_ms, why, sizeof why);
		if (c != NULL && mysql_errno(c->m) != 0 && !fit) {
			lf_store_close(c); /* the link may be broken: a fresh one next time */
			c = NULL;
		}
		set_usable(r, fit, why);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += LF_REPLICA_CHECK_MS / 1000;
		pthread_mutex_lock(&r->lock);
		if (!r->stopping)
			pthread_cond_timedwait(&r->wake, &r->lock, &until);
	}
	pthread_mutex_unlock(&r->lock);
	lf_store_close(c);
	return NULL;
}

struct lf_replica *lf_replica_create(struct event_base *base, const struct lf_db_params *params,
				     int size, const struct lf_dbpool_limits *limits,
				     int64_t max_lag_ms, struct lf_dbpool *primary,
				     struct lf_metrics *metrics)
{
	struct lf_replica *r = calloc(1, sizeof *r);
	if (r == NULL)
		return NULL;
	r->params = *params;
	r->max_lag_ms = max_lag_ms > 0 ? max_lag_ms : 1000;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->wake, NULL);
	r->pool = lf_dbpool_create(base, params, size, limits, metrics);
	if (r->pool == NULL) {
		lf_replica_free(r);
		return NULL;
	}
	lf_dbpool_set_fallback(r->pool, primary);
	r->watching = pthread_create(&r->watcher, NULL, watcher_thread, r) == 0;
	if (!r->watching) {
		lf_replica_free(r);
		return NULL;
	}
	return r;
}

bool lf_replica_usable(const struct lf_replica *r)
{
	return r != NULL && __atomic_load_n(&r->usable, __ATOMIC_RELAXED) == 1;
}

struct lf_dbpool *lf_replica_pool(struct lf_replica *r)
{
	return r->pool;
}

void lf_replica_free(struct lf_replica *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	r->stopping = true;
	pthread_cond_broadcast(&r->wake);
	pthread_mutex_unlock(&r->lock);
	if (r->watching)
		pthread_join(r->watcher, NULL);
	lf_dbpool_free(r->pool);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
