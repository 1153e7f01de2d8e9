/*
 * lf_upgrade.h - the binary upgrade without downtime, nginx style, both
 * sides of it. The old master (SIGUSR2) renames its pid file to
 * <pid_file>.oldbin and starts the binary at its own path again, with the
 * same arguments, handing over its listening sockets and the shared zone's
 * memfd by fd number in the environment (LEDGERFLOW_INHERIT="fd;fd;",
 * LEDGERFLOW_INHERIT_ZONE=fd) and a pipe the new master writes one byte to
 * once its workers are ready (LEDGERFLOW_INHERIT_READY=fd). The new master
 * uses the inherited sockets instead of binding (matched by address), maps
 * the inherited zone when its layout is this build's, and writes
 * <pid_file>. When the new master exits, the old one renames .oldbin back
 * and serves on. Under systemd the old master hands MAINPID= to the new one
 * once it is ready, and a new master that exits while the old one lives
 * hands it back.
 */
#ifndef LF_UPGRADE_H
#define LF_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct lf_zone;

/* Deadline for the new master to say its workers are ready; past it the
 * old master stops it (SIGTERM, then SIGKILL 10 s later) and serves on. */
#define LF_UPGRADE_READY_TIMEOUT_MS 30000

enum lf_upgrade_state {
	LF_UPGRADE_NONE,     /* no new master */
	LF_UPGRADE_STARTING, /* a new master started, not ready yet */
	LF_UPGRADE_RUNNING,  /* the new master serves; we are the old one */
	LF_UPGRADE_FAILING,  /* the new master was told to stop: not ready in time */
};

/* ---- every master, at start (ledgerflowd.c) ---- */
/* Remember the binary's path (/proc/self/exe, read now: a package upgrade
 * that replaces the file later must start the new file, not this one) and
 * argv (kept, not copied), and take what an old master handed over from
 * the environment (the variables are removed, so workers and a later
 * upgrade never see them). Before the logger: says nothing. */
void lf_upgrade_init(char **argv);
/* Were we started by an old master's SIGUSR2? (Then do not detach.) */
bool lf_upgrade_inherited(void);
/* An inherited listening socket bound to host:port (as [server] listen
 * gives them), its backlog set to backlog; -1 when none matches. */
int lf_upgrade_take_socket(const char *host, unsigned port, int backlog);
/* The inherited shared zone when it is laid out as this build and
 * cache_size would lay it out; NULL otherwise (the reason is logged and
 * the caller creates a fresh zone) or when none was inherited. */
struct lf_zone *lf_upgrade_take_zone(size_t cache_size);
/* Close the inherited sockets no configured address took. */
void lf_upgrade_close_unused(void);

/* ---- the master loop (master.c) ---- */
/* The first generation is ready. A new master tells the old one (the ready
 * pipe) and returns true: the old master announces it to systemd, so it
 * must not send READY=1 itself. False for a master started normally. */
bool lf_upgrade_started(void);
/* May this master talk to systemd (sd_notify)? Not once it handed MAINPID
 * to a new master, nor a new master before it was handed MAINPID. */
bool lf_upgrade_notify_allowed(void);
/* SIGUSR2: rename the pid file and start the new binary with the
 * listening sockets fds[0..n) and the zone's memfd. False (logged) when
 * refused or when it could not start. */
bool lf_upgrade_begin(const char *pid_file, const int *fds, int n, int zone_fd);
/* Every round of the master loop: the ready byte, the deadline. */
void lf_upgrade_poll(void);
/* A child the master reaped that is no worker: true when it was the new
 * master (logged; the pid file renamed back; the state is NONE again). */
bool lf_upgrade_reaped(pid_t pid, int status);
enum lf_upgrade_state lf_upgrade_state(void);
pid_t lf_upgrade_new_pid(void);

/* ---- at exit (ledgerflowd.c) ---- */
/* The pid file this master owns now: <pid_file>.oldbin while a new master
 * runs, else pid_file. */
const char *lf_upgrade_pid_path(const char *pid_file);
/* A new master leaving while its old master lives gives MAINPID back. */
void lf_upgrade_exit(void);

#endif
