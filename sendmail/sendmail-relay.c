/*
 * sendmail -bs for a caller that may not write the maildir: the bytes of
 * its SMTP session go to the SMTP service ([sendmail] smtp) and back, as
 * a message on stdin goes there for such a caller.  What the client
 * sends is never parsed here: the session is smtp-session's.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sysexits.h>
#include <unistd.h>

#include "sendmail.h"

#define RELAY_BUF 65536

/* Writes all of buf; -1 when the reader is gone. */
static int
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Moves what from has to to: 1 when something moved, 0 at the end of
 * from, -1 on a read error, -2 when to is gone.
 */
static int
pass(int from, int to, char *buf)
{
	ssize_t n;

	do
		n = read(from, buf, RELAY_BUF);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (n == 0)
		return 0;
	return write_all(to, buf, (size_t)n) == 0 ? 1 : -2;
}

/* The service hung up without a word (it refused the session): say so. */
static int
refused(int out_fd, const char *hostname)
{
	char line[512];
	int  n = snprintf(line, sizeof(line),
	     "421 4.3.0 %s service not available, try again later\r\n",
	     hostname);

	if (n > 0 && (size_t)n < sizeof(line))
		(void)write_all(out_fd, line, (size_t)n);
	return EX_TEMPFAIL;
}

int
sendmail_relay(int sock, int in_fd, int out_fd, const char *hostname)
{
	static char    buf[RELAY_BUF];
	struct pollfd  p[2] = { { .fd = in_fd, .events = POLLIN },
		 { .fd = sock, .events = POLLIN } };
	struct timeval none = { 0 };
	bool	       is_heard = false;

	/*
	 * The connect timeout would cut a write the service is slow to
	 * take (an fsync): from now on its own timeouts bound the session.
	 */
	(void)setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
	for (;;) {
		/* No timeout of our own: the service's ends an idle client. */
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return EX_IOERR;
		}
		if (p[1].revents != 0) {
			int r = pass(sock, out_fd, buf);

			/*
			 * The service hung up (after QUIT): the session is
			 * over; so it is when the client stopped reading.
			 */
			if ((r == 0 || r == -1) && !is_heard)
				return refused(out_fd, hostname);
			if (r == 0 || r == -2)
				return 0;
			if (r == -1)
				return EX_IOERR;
			is_heard = true;
		}
		/*
		 * The client is done, or the service takes no more (it hung
		 * up after a 421): what it said last is still to be read.
		 */
		if (p[0].revents != 0 && pass(in_fd, sock, buf) <= 0) {
			(void)shutdown(sock, SHUT_WR);
			p[0].fd = -1;
		}
	}
}
