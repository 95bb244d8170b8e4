/*
 * The bounded line reader and buffered reply writer every session uses.
 *
 * Replies are buffered and flushed only when the reader is about to block
 * waiting for the client (or the buffer fills): replies go out exactly when
 * we wait, so a pipelining client costs one write per batch.
 */
#ifndef SESSION_IO_H
#define SESSION_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define OUT_BUFSIZE 16384
#define OUT_TIMEOUT 600 /* seconds a client may leave replies unread */

struct out {
	int	 fd;
	bool	 failed;    /* a write failed: the client is gone */
	unsigned timeout_s; /* see out_set_timeout() */
	size_t	 len;
	char	 buf[OUT_BUFSIZE];
};

/* Sets the OUT_TIMEOUT write timeout too. */
void out_init(struct out *o, int fd);
/*
 * A client that reads nothing for about timeout_s seconds while a write
 * waits is taken as gone (failed).  Enforced with SO_SNDTIMEO on a socket
 * and poll() on a non-blocking descriptor; a blocking pipe waits forever.
 */
void out_set_timeout(struct out *o, unsigned timeout_s);
void out_write(struct out *o, const void *buf, size_t len);
void out_printf(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Writes everything buffered; returns -1 when the client is gone. */
int out_flush(struct out *o);

/*
 * The session is over: writes what is buffered and, when fd is a socket,
 * shuts down our side of it, so the client sees the end at once and not
 * after the summary log line (which may load libsystemd, see session-log.c).
 */
void out_hangup(struct out *o);

/* Results of lr_next() and lr_read() other than a length. */
#define LR_EOF	   (-1) /* the client closed (or a read error) */
#define LR_TIMEOUT (-2) /* nothing arrived within the timeout */
#define LR_TOOLONG (-3) /* a line over max; skipped up to its LF */

struct lr {
	int	    fd;
	struct out *out; /* flushed before every blocking read */
	size_t	    max; /* longest line accepted, without its end */
	char	   *buf;
	size_t	    cap;
	size_t	    start; /* first unread byte */
	size_t	    end;   /* one past the last byte read */
	bool	    eof;
	bool	    skipping; /* inside an over-long line, looking for its LF */
};

/* max is the longest command line accepted; the buffer is allocated once. Returns -1 on ENOMEM. */
int  lr_init(struct lr *r, int fd, struct out *out, size_t max);
void lr_free(struct lr *r);

/*
 * Returns the next line's length (without its CRLF or LF) and points
 * *line_r at it, NUL-terminated; the line may hold NUL bytes.  A bare LF
 * ends a line too; a CR is removed only right before the LF.  *line_r is
 * valid until the next lr_*() call.  A line longer than max is skipped up
 * to its LF and reported as LR_TOOLONG.  Waits at most timeout_s seconds
 * (0 = forever) for the whole line, so a client trickling bytes still
 * times out.  At EOF a last line without its LF is dropped (the client
 * hung up before finishing that command): LR_EOF.
 */
ssize_t lr_next(struct lr *r, unsigned timeout_s, char **line_r);

/*
 * Raw bytes for DATA and BDAT: returns what is buffered (up to max), or
 * waits up to timeout_s seconds for more (flushing r->out first).  *buf_r
 * points into the reader's buffer, valid until the next lr_*() call; the
 * bytes are consumed.  Returns LR_EOF or LR_TIMEOUT when nothing came.
 */
ssize_t lr_read(struct lr *r, unsigned timeout_s, size_t max, char **buf_r);

/* True when unread input is already buffered (the client pipelined). */
bool lr_pending(const struct lr *r);

#endif
