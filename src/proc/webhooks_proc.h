/*
 * proc/webhooks_proc.h - private to the master (master.c): the life cycle
 * of its one non-worker child, the webhook delivery process lf-webhooks
 * (webhooks_proc.c): it forks it (the child closes the master's ends of
 * the workers' channels, as a worker does) and decides when: at start,
 * again after a crash (with a growing back-off), after a reload with the
 * new configuration, and never while stopping.
 */
#ifndef LF_WEBHOOKS_PROC_H
#define LF_WEBHOOKS_PROC_H

#include <stdbool.h>
#include <sys/types.h>

struct lf_config;
struct lf_secrets;
struct lf_zone;

/* Is the delivery process running (or being stopped)? */
bool lf_whproc_alive(void);
/* A child was reaped: true when it was the delivery process (handled). */
bool lf_whproc_reaped(pid_t pid, int status, bool stopping, struct lf_zone *zone);
/* Each round of the master's loop: fork it when it should run and is due;
 * the child calls close_channels(-1) first (the master's channel ends). */
void lf_whproc_tick(const struct lf_config *cfg, struct lf_zone *zone,
		    const struct lf_secrets *secrets, void (*close_channels)(int keep));
/* After a reload: stop the running one; the next tick starts it again
 * with the new configuration (when it is enabled there). */
void lf_whproc_reload(const struct lf_config *next);
/* Stopping: SIGTERM now, SIGKILL past the timeout (lf_whproc_enforce). */
void lf_whproc_stop(int64_t timeout_ms);
void lf_whproc_enforce(void);

#endif
