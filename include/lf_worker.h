/*
 * lf_worker.h - a worker process: its own event loop running evhttp on the
 * inherited listening socket, until the master tells it to stop.
 */
#ifndef LF_WORKER_H
#define LF_WORKER_H

#include "lf_config.h"
#include "lf_store.h"

struct lf_zone;
struct lf_secrets;

/* Returns the process exit status (LF_EXIT_CONFIG when the configuration
 * cannot be used). */
/* ops_fd: the listening socket of [server] metrics_listen, or -1. */
int lf_worker_run(const struct lf_config *cfg, int listen_fd, int ops_fd, int chan_fd,
		  struct lf_zone *zone, unsigned generation, int index,
		  const struct lf_secrets *secrets);
/* The database connection [mysql] describes (the pool's, and the master's
 * check of the currencies table at start). */
struct lf_db_params lf_worker_db_params(const struct lf_config *cfg);

#endif
