/*
 * lf_channel.h - the master <-> worker command channel: one byte per
 * message over a socketpair. A worker exits when its channel closes.
 */
#ifndef LF_CHANNEL_H
#define LF_CHANNEL_H

#include <stdbool.h>

enum lf_channel_msg {
	LF_CHAN_READY = 'R',      /* worker -> master: serving */
	LF_CHAN_BAD_CONFIG = 'C', /* worker -> master: cannot run with this configuration */
	LF_CHAN_QUIT = 'Q',       /* master -> worker: graceful stop (drain keep-alive too) */
	LF_CHAN_TERMINATE = 'T',  /* master -> worker: fast stop (finish in-flight only) */
	LF_CHAN_REOPEN = 'U',     /* master -> worker: reopen log files */
};

/* Write one message; retries on EINTR; false if the peer is gone. */
bool lf_channel_send(int fd, enum lf_channel_msg msg);

#endif
