/*
 * contrib/bench/bare_evhttp.c - the benchmark's HTTP baseline: the least a
 * libevent 2.1 evhttp server can do. It answers GET /healthz with
 * {"status":"ok"} (application/json) and everything else with 404, and is
 * shaped like ledgerflowd so the two can be compared: the parent opens the
 * listening socket itself (SO_REUSEADDR, listen backlog 511, non-blocking)
 * and pre-forks WORKERS processes that share it, each with its own event
 * base and evhttp bound with evhttp_accept_socket_with_handle. No logging,
 * no request ids, no metrics, no database: whatever ledgerflowd costs on
 * top of this is LedgerFlow's own overhead.
 *
 *   bare_evhttp PORT [WORKERS]      (127.0.0.1 only; WORKERS default 2)
 *
 * SIGTERM or SIGINT to the parent stops the workers and exits 0; a worker
 * also stops when the parent dies (PR_SET_PDEATHSIG).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/util.h>

#define BARE_MAX_WORKERS 64
#define BARE_BACKLOG 511

static volatile sig_atomic_t bare_stop;

static void bare_on_signal(int sig)
{
	(void)sig;
	bare_stop = 1;
}

static void bare_on_child(int sig)
{
	(void)sig; /* only interrupts sigsuspend so the parent reaps */
}

static void bare_healthz(struct evhttp_request *req, void *arg)
{
	static const char body[] = "{\"status\":\"ok\"}";
	(void)arg;
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_send_error(req, 405, "Method Not Allowed");
		return;
	}
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
	evbuffer_add(out, body, sizeof body - 1);
	evhttp_send_reply(req, 200, "OK", NULL);
}

static void bare_not_found(struct evhttp_request *req, void *arg)
{
	(void)arg;
	evhttp_send_error(req, 404, "Not Found");
}

static void bare_on_term(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

static int bare_worker(evutil_socket_t lfd)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	prctl(PR_SET_NAME, "bare-worker");
	if (getppid() == 1)
		return 0;
	struct event_base *base = event_base_new();
	struct evhttp *http = base ? evhttp_new(base) : NULL;
	if (http == NULL) {
		fprintf(stderr, "bare_evhttp: cannot create the event base or evhttp\n");
		return 1;
	}
	evhttp_set_max_headers_size(http, 16 * 1024);
	evhttp_set_max_body_size(http, 64 * 1024);
	evhttp_set_cb(http, "/healthz", bare_healthz, NULL);
	evhttp_set_gencb(http, bare_not_found, NULL);
	if (evhttp_accept_socket_with_handle(http, lfd) == NULL) {
		fprintf(stderr, "bare_evhttp: evhttp_accept_socket_with_handle failed\n");
		return 1;
	}
	struct event *term = evsignal_new(base, SIGTERM, bare_on_term, base);
	struct event *intr = evsignal_new(base, SIGINT, bare_on_term, base);
	if (term == NULL || intr == NULL || event_add(term, NULL) != 0 || event_add(intr, NULL) != 0) {
		fprintf(stderr, "bare_evhttp: cannot watch signals\n");
		return 1;
	}
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	event_base_dispatch(base);
	event_free(term);
	event_free(intr);
	evhttp_free(http);
	event_base_free(base);
	return 0;
}

static evutil_socket_t bare_listen(unsigned port)
{
	evutil_socket_t fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, BARE_BACKLOG) != 0 ||
	    evutil_make_socket_nonblocking(fd) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s PORT [WORKERS]\n", argv[0]);
		return 2;
	}
	char *end;
	unsigned long port = strtoul(argv[1], &end, 10);
	unsigned long workers = argc == 3 ? strtoul(argv[2], NULL, 10) : 2;
	if (*end != '\0' || port == 0 || port > 65535 || workers == 0 || workers > BARE_MAX_WORKERS) {
		fprintf(stderr, "bare_evhttp: bad PORT or WORKERS (1..%d)\n", BARE_MAX_WORKERS);
		return 2;
	}
	evutil_socket_t lfd = bare_listen((unsigned)port);
	if (lfd < 0) {
		fprintf(stderr, "bare_evhttp: 127.0.0.1:%lu: %s\n", port, strerror(errno));
		return 1;
	}

	/* signals stay blocked except while the parent waits; workers unblock
	 * them once their event base watches them */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = bare_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = bare_on_child;
	sigaction(SIGCHLD, &sa, NULL);
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &old);

	pid_t pids[BARE_MAX_WORKERS];
	unsigned long started = 0;
	for (; started < workers; started++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("bare_evhttp: fork");
			bare_stop = 1;
			break;
		}
		if (pid == 0)
			_exit(bare_worker(lfd));
		pids[started] = pid;
	}
	printf("bare_evhttp: pid %ld, %lu workers on 127.0.0.1:%lu\n", (long)getpid(), started, port);
	fflush(stdout);

	unsigned long alive = started;
	while (!bare_stop && alive > 0) {
		sigsuspend(&old);
		int status;
		while (waitpid(-1, &status, WNOHANG) > 0)
			alive--;
	}
	for (unsigned long i = 0; i < started; i++)
		kill(pids[i], SIGTERM);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	close(lfd);
	return alive == started ? 0 : 1;
}
