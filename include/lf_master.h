/*
 * lf_master.h - the master process: owns the listening socket, the shared
 * memory zone and the pid file, pre-forks worker generations and acts on
 * signals (reload, stop, reopen logs, replace dead workers).
 */
#ifndef LF_MASTER_H
#define LF_MASTER_H

#include "lf_config.h"

struct lf_zone;
struct lf_secrets;

/* Exit status a worker uses when the configuration is unusable: the master
 * does not respawn it in a loop. */
#define LF_EXIT_CONFIG 78

/* Run the master loop until stopped; returns the process exit status. */
/* *cfgp is replaced by each successful reload; the caller frees the last. */
int lf_master_run(struct lf_config **cfgp, const char *config_path, int listen_fd, int ops_fd,
		  struct lf_zone *zone, const struct lf_secrets *secrets);

#endif
