/*
 * proc/listen.c - the listening socket (opened once by the master, inherited by
 * every worker generation, so reloads never close it) and the pid file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lf_listen.h"

int lf_listen_open(const char *host, unsigned port, int backlog, FILE *err)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char portstr[16];
	snprintf(portstr, sizeof portstr, "%u", port);
	int rc = getaddrinfo(host[0] ? host : NULL, portstr, &hints, &res);
	if (rc != 0) {
		fprintf(err, "server.listen: cannot resolve %s: %s\n", host, gai_strerror(rc));
		return -1;
	}
	int fd = -1;
	int last_errno = 0;
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0) {
			last_errno = errno;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, backlog) == 0)
			break;
		last_errno = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		fprintf(err, "server.listen: cannot listen on %s:%u: %s\n", host, port,
			strerror(last_errno));
	return fd;
}

bool lf_pidfile_write(const char *path, FILE *err)
{
	if (path == NULL || path[0] == '\0')
		return true;
	FILE *old = fopen(path, "r");
	if (old != NULL) {
		long pid = 0;
		if (fscanf(old, "%ld", &pid) == 1 && pid > 0 && pid != (long)getpid() &&
		    kill((pid_t)pid, 0) == 0) {
			fclose(old);
			fprintf(err, "server.pid_file: %s names a running process (%ld)\n", path,
				pid);
			return false;
		}
		fclose(old);
	}
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(err, "server.pid_file: cannot write %s: %s\n", tmp, strerror(errno));
		return false;
	}
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	bool ok = write(fd, buf, (size_t)n) == n;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		fprintf(err, "server.pid_file: cannot write %s: %s\n", path, strerror(errno));
		unlink(tmp);
		return false;
	}
	return true;
}

void lf_pidfile_remove(const char *path)
{
	if (path != NULL && path[0] != '\0')
		unlink(path);
}
