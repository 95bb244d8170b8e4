/*
 * The reply writer (struct sio_writer) and the bounded line reader (struct sio_reader).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "session-io.h"
#include "session-sys.h"

#define SIO_MIN_BUFSIZE 65536 /* one read of a fast client's DATA */

void
sio_set_timeout(struct sio_writer *o, unsigned timeout_s)
{
	struct timeval tv = { .tv_sec = (time_t)timeout_s };

	/* One system call fewer at every start when nothing changes. */
	if (timeout_s == o->timeout_s)
		return;
	o->timeout_s = timeout_s;
	/* Fails harmlessly (ENOTSOCK) on a pipe or terminal. */
	(void)setsockopt(o->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

void
sio_writer_init(struct sio_writer *o, int fd)
{
	o->fd = fd;
	o->layer = NULL;
	o->failed = false;
	o->barrier = NULL;
	o->barrier_arg = NULL;
	o->len = 0;
	o->timeout_s = 0; /* not set yet: the next call sets it */
	sio_set_timeout(o, SIO_OUT_TIMEOUT);
}

/* Writes all of buf; on failure marks the client gone and returns -1. */
static int
sio_write_all(struct sio_writer *o, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = o->layer != NULL
		    ? o->layer->write(o->layer->arg, buf, len)
		    : write(o->fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				/*
				 * A non-blocking fd, or SO_SNDTIMEO ran out:
				 * give the client one more timeout to read.
				 */
				struct pollfd pfd = { .fd = o->fd,
					.events = POLLOUT };
				int	      ms = o->timeout_s == 0 ? -1
					      : o->timeout_s > 86400
					      ? 86400000
					      : (int)o->timeout_s * 1000;
				int	      rc = poll(&pfd, 1, ms);
				if (rc > 0 || (rc < 0 && errno == EINTR))
					continue;
			}
			/* EPIPE, ECONNRESET...: SIGPIPE is ignored, so we see it here. */
			o->failed = true;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

void
sio_set_barrier(struct sio_writer *o, void (*fn)(void *), void *arg)
{
	o->barrier = fn;
	o->barrier_arg = arg;
}

size_t
sio_mark(const struct sio_writer *o)
{
	return o->len;
}

int
sio_replace(
    struct sio_writer *o, size_t off, size_t len, const char *text, size_t tlen)
{
	if (off > o->len || len > o->len - off ||
	    tlen > sizeof(o->buf) - (o->len - len))
		return -1;
	memmove(o->buf + off + tlen, o->buf + off + len, o->len - off - len);
	memcpy(o->buf + off, text, tlen);
	o->len = o->len - len + tlen;
	return 0;
}

int
sio_flush(struct sio_writer *o)
{
	size_t len;

	if (o->barrier != NULL && o->len > 0) {
		void (*fn)(void *) = o->barrier;

		/* Not again from inside: fn may write, and so flush. */
		o->barrier = NULL;
		fn(o->barrier_arg);
		o->barrier = fn;
	}
	len = o->len;
	o->len = 0;
	if (o->failed)
		return -1;
	if (len == 0)
		return 0;
	return sio_write_all(o, o->buf, len);
}

void
sio_hangup(struct sio_writer *o)
{
	if (sio_flush(o) == 0 && o->layer != NULL && o->layer->close != NULL)
		o->layer->close(o->layer->arg);
	/* Not a socket (a pipe, a fuzzer's file): nothing to shut down. */
	(void)shutdown(o->fd, SHUT_WR);
}

void
sio_write(struct sio_writer *o, const void *buf, size_t len)
{
	if (o->failed)
		return;
	if (len > sizeof(o->buf) - o->len) {
		if (sio_flush(o) != 0)
			return;
		if (len >= sizeof(o->buf)) {
			sio_write_all(o, buf, len);
			return;
		}
	}
	memcpy(o->buf + o->len, buf, len);
	o->len += len;
}

void
sio_printf(struct sio_writer *o, const char *fmt, ...)
{
	va_list ap;
	size_t	room = sizeof(o->buf) - o->len;
	char   *big;
	int	n;

	if (o->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < room) {
		o->len += (size_t)n;
		return;
	}
	/* Did not fit: format it again where it does. */
	if (sio_flush(o) != 0)
		return;
	if ((size_t)n < sizeof(o->buf)) {
		va_start(ap, fmt);
		vsnprintf(o->buf, sizeof(o->buf), fmt, ap);
		va_end(ap);
		o->len = (size_t)n;
		return;
	}
	big = malloc((size_t)n + 1);
	if (big == NULL) {
		/* Half a reply would desynchronise the client: end it. */
		o->failed = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sio_write_all(o, big, (size_t)n);
	free(big);
}

int
sio_reader_init(
    struct sio_reader *r, int fd, struct sio_writer *out, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->out = out;
	r->max = max;
	/* Room for a longest line, its CRLF, and more lines behind it. */
	r->cap =
	    max + 2 < SIO_MIN_BUFSIZE / 2 ? SIO_MIN_BUFSIZE : 2 * (max + 2);
	r->buf = malloc(r->cap);
	if (r->buf == NULL)
		return -1;
	return 0;
}

void
sio_reader_free(struct sio_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->cap = r->start = r->end = 0;
}

bool
sio_failed(const struct sio_writer *o)
{
	return o->failed;
}

bool
sio_pending(const struct sio_reader *r)
{
	return r->start < r->end;
}

size_t
sio_discard(struct sio_reader *r)
{
	size_t n = r->end - r->start;

	r->start = r->end = 0;
	r->skipping = false;
	return n;
}

void
sio_reader_set_layer(struct sio_reader *r, const struct sio_layer *layer)
{
	r->layer = layer;
}

void
sio_writer_set_layer(struct sio_writer *o, const struct sio_layer *layer)
{
	o->layer = layer;
}

bool
sio_ready(const struct sio_reader *r)
{
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };

	if (sio_pending(r) || r->eof)
		return true;
	/* A layer may hold bytes already taken off the descriptor. */
	if (r->layer != NULL && r->layer->pending(r->layer->arg) > 0)
		return true;
	return poll(&pfd, 1, 0) > 0;
}

/*
 * Reads more input behind r->end.  Flushes the replies first when it would
 * block, so they go out exactly when we wait for the client.  deadline is
 * in session_now_ms() time, 0 for none.  Returns 0 when something arrived
 * (or EOF was seen: r->eof), SIO_TIMEOUT, or SIO_EOF on a read error.
 */
static int
sio_fill(struct sio_reader *r, long long deadline)
{
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
	ssize_t	      n;
	int	      rc, wait;

	if (r->start == r->end)
		r->start = r->end = 0;
	else if (r->start > 0 && r->cap - r->end < r->max + 2) {
		/* Little room behind a partial line: move it (it is short). */
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	for (;;) {
		/* A layer may hold bytes already taken off the descriptor. */
		if (r->layer != NULL && r->layer->pending(r->layer->arg) > 0)
			rc = 1;
		else
			rc = poll(&pfd, 1, 0);
		if (rc == 0) {
			/* We are about to block: the client must see our replies. */
			if (r->out != NULL)
				sio_flush(r->out);
			if (deadline == 0)
				wait = -1;
			else {
				long long left = deadline - session_now_ms();
				if (left <= 0)
					return SIO_TIMEOUT;
				wait = left > 3600000 ? 3600000 : (int)left;
			}
			rc = poll(&pfd, 1, wait);
			if (rc == 0) {
				if (deadline != 0 &&
				    session_now_ms() >= deadline)
					return SIO_TIMEOUT;
				continue;
			}
		}
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			return SIO_EOF;
		}
		n = r->layer != NULL
		    ? r->layer->read(
			  r->layer->arg, r->buf + r->end, r->cap - r->end)
		    : read(r->fd, r->buf + r->end, r->cap - r->end);
		if (n > 0) {
			r->end += (size_t)n;
			return 0;
		}
		if (n == 0) {
			r->eof = true;
			return 0;
		}
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			continue;
		r->eof = true;
		return SIO_EOF;
	}
}

static long long
deadline_of(unsigned timeout_s)
{
	return timeout_s == 0 ? 0
			      : session_now_ms() + (long long)timeout_s * 1000;
}

ssize_t
sio_read_line(struct sio_reader *r, unsigned timeout_s, char **line_r)
{
	long long deadline = deadline_of(timeout_s);
	size_t	  scanned = r->start, len;
	size_t	  seen; /* bytes of the partial line already searched */
	char	 *lf;
	int	  rc;

	for (;;) {
		lf = memchr(r->buf + scanned, '\n', r->end - scanned);
		if (lf != NULL) {
			size_t at = (size_t)(lf - r->buf);

			len = at - r->start;
			if (len > 0 && r->buf[at - 1] == '\r')
				len--;
			if (r->skipping || len > r->max) {
				/* The end of an over-long line: back in step. */
				r->skipping = false;
				r->start = at + 1;
				return SIO_TOOLONG;
			}
			r->buf[r->start + len] = '\0';
			*line_r = r->buf + r->start;
			r->start = at + 1;
			return (ssize_t)len;
		}
		/* max bytes and a CR may still be a line; more may not. */
		if (r->end - r->start > r->max + 1) {
			r->skipping = true;
			r->start = r->end = 0;
		}
		/*
		 * An unterminated last line is not returned: a client that
		 * hangs up in mid-line did not finish that command.
		 */
		if (r->eof) {
			r->start = r->end = 0;
			return SIO_EOF;
		}
		seen = r->end - r->start;
		rc = sio_fill(r, deadline);
		if (rc != 0)
			return rc;
		/* sio_fill() may have moved the unread bytes to the front. */
		scanned = r->start + seen;
	}
}

ssize_t
sio_read(struct sio_reader *r, unsigned timeout_s, size_t max, char **buf_r)
{
	long long deadline = deadline_of(timeout_s);
	size_t	  n;
	int	  rc;

	while (r->start == r->end) {
		if (r->eof)
			return SIO_EOF;
		rc = sio_fill(r, deadline);
		if (rc != 0)
			return rc;
	}
	n = r->end - r->start;
	if (n > max)
		n = max;
	*buf_r = r->buf + r->start;
	r->start += n;
	return (ssize_t)n;
}

int
sio_unread(struct sio_reader *r, const char *buf, size_t n)
{
	/*
	 * sio_read() returned buf from the reader's own buffer and moved
	 * start past it; when nothing touched the buffer since, moving
	 * start back hands the bytes to the next read.
	 */
	if (n == 0)
		return 0;
	if (r->buf == NULL || buf < r->buf || r->start < n ||
	    buf + n != r->buf + r->start)
		return -1;
	r->start -= n;
	return 0;
}
