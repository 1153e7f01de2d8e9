/*
 * lf_listen.h - the listening socket and the pid file, both owned by the
 * master for its whole life.
 */
#ifndef LF_LISTEN_H
#define LF_LISTEN_H

#include <stdbool.h>
#include <stdio.h>

/* Bind and listen on host:port (IPv4 or IPv6 literal, or a name), with
 * SO_REUSEADDR, non-blocking, close-on-exec cleared for workers. Returns
 * the fd or -1 with a message on err. */
int lf_listen_open(const char *host, unsigned port, int backlog, FILE *err);

/* Write our pid to path (creating the directory's file with O_EXCL
 * semantics relaxed: a stale file from a dead process is replaced). */
bool lf_pidfile_write(const char *path, FILE *err);
void lf_pidfile_remove(const char *path);

#endif
