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

/*
 * A pipe's whole capacity: a POP3 session streaming RETRs writes 64 KiB
 * at a time, and wakes its reader a quarter as often as with 16 KiB.
 */
#define SIO_OUT_BUFSIZE 65536
#define SIO_OUT_TIMEOUT 600 /* seconds a client may leave replies unread */

/*
 * A layer between the descriptor and the reader or writer (TLS, see
 * session-tls.h; a fuzzer's stand-in).  read and write behave like
 * read(2) and write(2) on a non-blocking descriptor: -1 with EAGAIN means
 * "poll the descriptor and call again"; read returns 0 at the end of input
 * and -1 with another errno when the connection broke.  pending is the
 * number of bytes read returns without touching the descriptor.  close,
 * when not NULL, ends the layer's side cleanly (TLS close_notify) at
 * sio_hangup().
 */
struct sio_layer {
	ssize_t (*read)(void *arg, void *buf, size_t len);
	ssize_t (*write)(void *arg, const void *buf, size_t len);
	size_t (*pending)(void *arg);
	void (*close)(void *arg);
	void *arg;
};

struct sio_writer {
	int			fd;
	const struct sio_layer *layer;	/* NULL: write(2) on fd */
	bool			failed; /* a write failed: the client is gone */
	unsigned		timeout_s; /* see sio_set_timeout() */
	void (*barrier)(void *arg);	   /* see sio_set_barrier() */
	void  *barrier_arg;
	size_t len;
	char   buf[SIO_OUT_BUFSIZE];
};

/* Sets the SIO_OUT_TIMEOUT write timeout too. */
void sio_writer_init(struct sio_writer *o, int fd);
/*
 * A client that reads nothing for about timeout_s seconds while a write
 * waits is taken as gone (failed).  Enforced with SO_SNDTIMEO on a socket
 * and poll() on a non-blocking descriptor; a blocking pipe waits forever.
 */
void sio_set_timeout(struct sio_writer *o, unsigned timeout_s);
void sio_write(struct sio_writer *o, const void *buf, size_t len);
void sio_printf(struct sio_writer *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * fn(arg) runs whenever buffered replies are about to be written to the
 * client (not when nothing is buffered): where a session makes durable
 * what those replies promise (SMTP's group commit).  It may change what
 * is buffered (sio_replace, sio_write); it is not called again from
 * inside itself.  NULL removes it.
 */
void sio_set_barrier(struct sio_writer *o, void (*fn)(void *), void *arg);
/*
 * Where the next byte written goes in the buffer: an offset for
 * sio_replace(), good while nothing is flushed (a barrier sees to that).
 */
size_t sio_mark(const struct sio_writer *o);
/*
 * Replaces the len buffered bytes at off with text (tlen bytes), moving
 * what follows.  Returns -1 when they are not all buffered or the result
 * does not fit.  Replace the last first: later offsets move.
 */
int sio_replace(struct sio_writer *o, size_t off, size_t len, const char *text,
    size_t tlen);

/* Writes everything buffered; returns -1 when the client is gone. */
int sio_flush(struct sio_writer *o);
/* True once a write failed: the client is gone. */
bool sio_failed(const struct sio_writer *o);

/*
 * The session is over: writes what is buffered and, when fd is a socket,
 * shuts down our side of it, so the client sees the end at once and not
 * after the summary log line (which may load libsystemd, see session-log.c).
 */
void sio_hangup(struct sio_writer *o);

/* Results of sio_read_line() and sio_read() other than a length. */
#define SIO_EOF	    (-1) /* the client closed (or a read error) */
#define SIO_TIMEOUT (-2) /* nothing arrived within the timeout */
#define SIO_TOOLONG (-3) /* a line over max; skipped up to its LF */

struct sio_reader {
	int			fd;
	const struct sio_layer *layer; /* NULL: read(2) on fd */
	struct sio_writer      *out;   /* flushed before every blocking read */
	size_t max; /* longest line accepted, without its end */
	char  *buf;
	size_t cap;
	size_t start; /* first unread byte */
	size_t end;   /* one past the last byte read */
	bool   eof;
	bool   skipping; /* inside an over-long line, looking for its LF */
};

/* max is the longest command line accepted; the buffer is allocated once. Returns -1 on ENOMEM. */
int sio_reader_init(
    struct sio_reader *r, int fd, struct sio_writer *out, size_t max);
void sio_reader_free(struct sio_reader *r);

/*
 * Returns the next line's length (without its CRLF or LF) and points
 * *line_r at it, NUL-terminated; the line may hold NUL bytes.  A bare LF
 * ends a line too; a CR is removed only right before the LF.  *line_r is
 * valid until the next sio_*() call on r.  A line longer than max is skipped up
 * to its LF and reported as SIO_TOOLONG.  Waits at most timeout_s seconds
 * (0 = forever) for the whole line, so a client trickling bytes still
 * times out.  At EOF a last line without its LF is dropped (the client
 * hung up before finishing that command): SIO_EOF.
 */
ssize_t sio_read_line(struct sio_reader *r, unsigned timeout_s, char **line_r);

/*
 * Raw bytes for DATA and BDAT: returns what is buffered (up to max), or
 * waits up to timeout_s seconds for more (flushing r->out first).  *buf_r
 * points into the reader's buffer, valid until the next sio_*() call on r; the
 * bytes are consumed.  Returns SIO_EOF or SIO_TIMEOUT when nothing came.
 */
ssize_t sio_read(
    struct sio_reader *r, unsigned timeout_s, size_t max, char **buf_r);

/*
 * Gives back the last n bytes the latest sio_read() returned (those after
 * the end of DATA), so that sio_read_line() reads them next.  buf must be
 * what that sio_read() returned plus its offset.  Returns 0, or -1 when
 * another call came between (the bytes are no longer there to give back).
 */
int sio_unread(struct sio_reader *r, const char *buf, size_t n);

/* True when unread input is already buffered (the client pipelined). */
bool sio_pending(const struct sio_reader *r);
/*
 * True when input is buffered or can be read at once (the client sent
 * more, or closed): the next read will not wait.
 */
bool sio_ready(const struct sio_reader *r);

/*
 * Forgets the input buffered and not yet returned (what a client sent
 * behind STARTTLS in plain text); returns how many bytes that was.
 */
size_t sio_discard(struct sio_reader *r);

/*
 * Puts layer under the reader or the writer from now on; NULL goes back
 * to the descriptor.  The caller keeps owning layer.
 */
void sio_reader_set_layer(struct sio_reader *r, const struct sio_layer *layer);
void sio_writer_set_layer(struct sio_writer *o, const struct sio_layer *layer);

#endif
