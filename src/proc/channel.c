/*
 * proc/channel.c - one-byte messages between the master and a worker.
 */
#include "config.h"

#include <errno.h>
#include <unistd.h>

#include "lf_channel.h"

bool lf_channel_send(int fd, enum lf_channel_msg msg)
{
	char c = (char)msg;
	for (;;) {
		ssize_t w = write(fd, &c, 1);
		if (w == 1)
			return true;
		if (w < 0 && errno == EINTR)
			continue;
		return false;
	}
}
