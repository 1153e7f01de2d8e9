/*
 * redis/sentinel.c - finding the Redis master through Redis Sentinel
 * ([redis] sentinels, master_name). A question is asked of one sentinel
 * at a time, in the configured order starting after the last one that
 * answered: a short-lived hiredis async connection, `SENTINEL
 * get-master-addr-by-name <name>`, the reply, disconnect. A sentinel that
 * does not answer within [redis] timeout, errs or does not know the name is
 * passed over for the next; when none answers the asker is told so (with
 * the last reason) and redis.c keeps its breaker. Never blocks the loop:
 * every step is a callback. Logs nothing: the outcome is redis.c's to log.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "lf_config.h"
#include "lf_redis.h"

#define MAX_SENTINELS 16

struct sentinel_addr {
	char host[256];
	unsigned port;
};

struct lf_sentinel {
	struct event_base *base;
	const struct lf_config *cfg;
	struct sentinel_addr addr[MAX_SENTINELS];
	int n;
	int next;  /* the sentinel to ask first */
	int tried; /* sentinels asked in this round */
	bool busy;
	redisAsyncContext *ac;
	struct event *timer; /* the current question's timeout */
	struct event *step;  /* the next sentinel, from outside hiredis's callbacks */
	char error[256];
	lf_sentinel_cb cb;
	void *arg;
};

static void ask_one(struct lf_sentinel *s);

/* The round is over: tell the asker. */
static void finish(struct lf_sentinel *s, bool found, const char *host, unsigned port)
{
	s->busy = false;
	s->cb(s->arg, found, host, port, found ? NULL : s->error);
}

/* This sentinel gave no answer: the next one, or the end of the round. */
static void next_sentinel(struct lf_sentinel *s)
{
	s->next = (s->next + 1) % s->n;
	if (++s->tried >= s->n) {
		finish(s, false, NULL, 0);
		return;
	}
	/* not from inside a hiredis callback: the old context is still
	 * being torn down */
	struct timeval now = {0, 0};
	event_add(s->step, &now);
}

static void on_step(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ask_one(arg);
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct lf_sentinel *s = privdata;
	redisReply *rep = reply;
	if (s == NULL || s->ac != ac)
		return;
	evtimer_del(s->timer);
	s->ac = NULL;
	ac->data = NULL;
	if (rep != NULL && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
	    rep->element[0]->type == REDIS_REPLY_STRING &&
	    rep->element[1]->type == REDIS_REPLY_STRING) {
		char host[256];
		snprintf(host, sizeof host, "%.*s", (int)rep->element[0]->len,
			 rep->element[0]->str);
		long port = strtol(rep->element[1]->str, NULL, 10);
		redisAsyncDisconnect(ac);
		if (port > 0 && port <= 65535) {
			finish(s, true, host, (unsigned)port);
			return;
		}
		snprintf(s->error, sizeof s->error, "sentinel %s:%u: a port out of range",
			 s->addr[s->next].host, s->addr[s->next].port);
		next_sentinel(s);
		return;
	}
	if (rep == NULL)
		snprintf(s->error, sizeof s->error, "sentinel %s:%u: %s", s->addr[s->next].host,
			 s->addr[s->next].port, ac->errstr[0] ? ac->errstr : "no answer");
	else if (rep->type == REDIS_REPLY_ERROR)
		snprintf(s->error, sizeof s->error, "sentinel %s:%u: %.150s", s->addr[s->next].host,
			 s->addr[s->next].port, rep->str);
	else
		snprintf(s->error, sizeof s->error, "sentinel %s:%u does not know master %.100s",
			 s->addr[s->next].host, s->addr[s->next].port, s->cfg->redis_master_name);
	if (rep != NULL)
		redisAsyncDisconnect(ac);
	next_sentinel(s);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct lf_sentinel *s = ac->data;
	if (s == NULL || s->ac != ac || status == REDIS_OK)
		return;
	/* hiredis frees the context after this callback */
	evtimer_del(s->timer);
	snprintf(s->error, sizeof s->error, "sentinel %s:%u: %s", s->addr[s->next].host,
		 s->addr[s->next].port, ac->errstr);
	s->ac = NULL;
	next_sentinel(s);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct lf_sentinel *s = arg;
	(void)fd;
	(void)what;
	redisAsyncContext *ac = s->ac;
	if (ac == NULL)
		return;
	snprintf(s->error, sizeof s->error, "sentinel %s:%u: no answer within %lld ms",
		 s->addr[s->next].host, s->addr[s->next].port, (long long)s->cfg->redis_timeout_ms);
	s->ac = NULL;
	ac->data = NULL;
	redisAsyncFree(ac); /* its pending reply callback sees data NULL */
	next_sentinel(s);
}

static void ask_one(struct lf_sentinel *s)
{
	const struct sentinel_addr *a = &s->addr[s->next];
	redisAsyncContext *ac = redisAsyncConnect(a->host, (int)a->port);
	if (ac == NULL || ac->err) {
		snprintf(s->error, sizeof s->error, "sentinel %s:%u: %s", a->host, a->port,
			 ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		next_sentinel(s);
		return;
	}
	ac->data = s;
	if (redisLibeventAttach(ac, s->base) != REDIS_OK) {
		redisAsyncFree(ac);
		snprintf(s->error, sizeof s->error, "sentinel %s:%u: attach failed", a->host,
			 a->port);
		next_sentinel(s);
		return;
	}
	redisAsyncSetConnectCallback(ac, on_connect);
	s->ac = ac;
	const char *argv[] = {"SENTINEL", "get-master-addr-by-name", s->cfg->redis_master_name};
	size_t argvlen[] = {8, 23, strlen(s->cfg->redis_master_name)};
	redisAsyncCommandArgv(ac, on_reply, s, 3, argv, argvlen);
	struct timeval tv = {.tv_sec = s->cfg->redis_timeout_ms / 1000,
			     .tv_usec = (s->cfg->redis_timeout_ms % 1000) * 1000};
	evtimer_add(s->timer, &tv);
}

struct lf_sentinel *lf_sentinel_create(struct event_base *base, const struct lf_config *cfg,
				       lf_sentinel_cb cb, void *arg)
{
	struct lf_sentinel *s = calloc(1, sizeof *s);
	if (s == NULL)
		return NULL;
	s->base = base;
	s->cfg = cfg;
	s->cb = cb;
	s->arg = arg;
	char buf[1024];
	snprintf(buf, sizeof buf, "%s", cfg->redis_sentinels);
	for (char *save = NULL, *item = strtok_r(buf, ",", &save);
	     item != NULL && s->n < MAX_SENTINELS; item = strtok_r(NULL, ",", &save)) {
		while (*item == ' ')
			item++;
		if (lf_config_parse_listen(item, s->addr[s->n].host, sizeof s->addr[s->n].host,
					   &s->addr[s->n].port))
			s->n++;
	}
	s->timer = evtimer_new(base, on_timeout, s);
	s->step = evtimer_new(base, on_step, s);
	if (s->n == 0 || s->timer == NULL || s->step == NULL) {
		lf_sentinel_free(s);
		return NULL;
	}
	return s;
}

bool lf_sentinel_ask(struct lf_sentinel *s)
{
	if (s == NULL || s->busy)
		return false;
	s->busy = true;
	s->tried = 0;
	s->error[0] = '\0';
	ask_one(s);
	return true;
}

void lf_sentinel_free(struct lf_sentinel *s)
{
	if (s == NULL)
		return;
	if (s->ac != NULL) {
		s->ac->data = NULL;
		redisAsyncFree(s->ac);
	}
	if (s->timer)
		event_free(s->timer);
	if (s->step)
		event_free(s->step);
	free(s);
}
