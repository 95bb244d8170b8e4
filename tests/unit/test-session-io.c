/* Tests libsession/session-io.c: the line reader and the reply writer. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "session-io.h"

static void
pair(int type, int sv[2])
{
	CHECK(socketpair(AF_UNIX, type, 0, sv) == 0);
}

static void
put(int fd, const char *s, size_t len)
{
	CHECK(write(fd, s, len) == (ssize_t)len);
}

#define PUT(fd, lit) put((fd), (lit), sizeof(lit) - 1)

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Expects the next line to be exactly want (wantlen bytes). */
static void
expect_line(struct sio_reader *r, const char *want, size_t wantlen)
{
	char   *line = NULL;
	ssize_t n = sio_read_line(r, 5, &line);

	CHECK(n == (ssize_t)wantlen);
	if (n == (ssize_t)wantlen) {
		CHECK(memcmp(line, want, wantlen) == 0);
		CHECK(line[n] == '\0');
	} else
		fprintf(stderr, "  got %zd, wanted \"%.*s\"\n", n, (int)wantlen,
		    want);
}

#define EXPECT(r, lit) expect_line((r), (lit), sizeof(lit) - 1)

static void
test_line_ends(void)
{
	struct sio_reader r;
	int		  sv[2];
	char		 *line;

	pair(SOCK_STREAM, sv);
	CHECK(sio_reader_init(&r, sv[0], NULL, 512) == 0);
	CHECK(r.cap >= 65536);
	CHECK(!sio_pending(&r));
	PUT(sv[1],
	    "EHLO a\r\nbare lf\n\r\nmid\rcr\r\nnul\0inside\r\n\ncr cr\r\r\n");
	EXPECT(&r, "EHLO a");
	CHECK(sio_pending(&r));
	EXPECT(&r, "bare lf");
	EXPECT(&r, "");
	EXPECT(&r, "mid\rcr");
	EXPECT(&r, "nul\0inside");
	EXPECT(&r, "");
	EXPECT(&r, "cr cr\r");
	CHECK(!sio_pending(&r));

	/* A line split across reads is put back together. */
	PUT(sv[1], "QU");
	PUT(sv[1], "I");
	PUT(sv[1], "T\r");
	PUT(sv[1], "\nNEXT\r\n");
	EXPECT(&r, "QUIT");
	EXPECT(&r, "NEXT");

	/* EOF: a last line without its LF is dropped, then EOF stays EOF. */
	PUT(sv[1], "last\r\nunfinished");
	close(sv[1]);
	EXPECT(&r, "last");
	CHECK(sio_read_line(&r, 5, &line) == SIO_EOF);
	CHECK(sio_read_line(&r, 5, &line) == SIO_EOF);
	CHECK(sio_read(&r, 5, 100, &line) == SIO_EOF);
	sio_reader_free(&r);
	sio_reader_free(&r); /* safe twice */
	close(sv[0]);
}

static void
test_too_long(void)
{
	struct sio_reader r;
	int		  sv[2];
	char		 *line, big[300];

	pair(SOCK_STREAM, sv);
	CHECK(sio_reader_init(&r, sv[0], NULL, 16) == 0);
	/* Exactly max fits, with CRLF or LF; one more does not. */
	PUT(sv[1], "0123456789abcdef\r\n0123456789abcdef\n");
	EXPECT(&r, "0123456789abcdef");
	EXPECT(&r, "0123456789abcdef");
	PUT(sv[1], "0123456789abcdefg\r\nok\r\n");
	CHECK(sio_read_line(&r, 5, &line) == SIO_TOOLONG);
	EXPECT(&r, "ok");
	PUT(sv[1], "0123456789abcdefg\nok2\n");
	CHECK(sio_read_line(&r, 5, &line) == SIO_TOOLONG);
	EXPECT(&r, "ok2");

	/* Over-long and arriving in pieces: skipped up to its LF. */
	memset(big, 'x', sizeof(big));
	put(sv[1], big, 10);
	put(sv[1], big, 10);
	put(sv[1], big, sizeof(big));
	PUT(sv[1], "\r\nafter\r\n");
	CHECK(sio_read_line(&r, 5, &line) == SIO_TOOLONG);
	EXPECT(&r, "after");
	sio_reader_free(&r);
	close(sv[0]);
	close(sv[1]);
}

/* An over-long line much bigger than the buffer, from another process. */
static void
test_huge_line(void)
{
	struct sio_reader r;
	int		  sv[2];
	char		 *line;
	pid_t		  pid;
	int		  status;

	pair(SOCK_STREAM, sv);
	pid = fork();
	if (pid == 0) {
		static char chunk[65536];
		close(sv[0]);
		memset(chunk, 'y', sizeof(chunk));
		PUT(sv[1], "before\r\n");
		for (int i = 0; i < 64; i++) /* 4 MiB without a LF */
			put(sv[1], chunk, sizeof(chunk));
		PUT(sv[1], "\r\nafter\r\n");
		_exit(0);
	}
	close(sv[1]);
	CHECK(sio_reader_init(&r, sv[0], NULL, 1000) == 0);
	size_t cap = r.cap;
	EXPECT(&r, "before");
	CHECK(sio_read_line(&r, 10, &line) == SIO_TOOLONG);
	EXPECT(&r, "after");
	CHECK(sio_read_line(&r, 10, &line) == SIO_EOF);
	CHECK(r.cap == cap); /* never grew */
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	sio_reader_free(&r);
	close(sv[0]);
}

static void
test_timeout(void)
{
	struct sio_reader r;
	int		  sv[2];
	char		 *line;
	double		  t;

	pair(SOCK_STREAM, sv);
	CHECK(sio_reader_init(&r, sv[0], NULL, 512) == 0);
	t = now();
	CHECK(sio_read_line(&r, 1, &line) == SIO_TIMEOUT);
	t = now() - t;
	CHECK(t >= 0.95 && t < 2.5);

	/* Half a line then silence: still a timeout, and the half is kept. */
	PUT(sv[1], "NO");
	t = now();
	CHECK(sio_read_line(&r, 1, &line) == SIO_TIMEOUT);
	CHECK(now() - t >= 0.95);
	PUT(sv[1], "OP\r\n");
	EXPECT(&r, "NOOP");

	/* sio_read times out the same way. */
	t = now();
	CHECK(sio_read(&r, 1, 100, &line) == SIO_TIMEOUT);
	CHECK(now() - t >= 0.95);
	sio_reader_free(&r);
	close(sv[0]);
	close(sv[1]);
}

/* A client trickling a byte at a time cannot stretch the timeout. */
static void
test_trickle(void)
{
	struct sio_reader r;
	int		  sv[2];
	char		 *line;
	pid_t		  pid;
	double		  t;

	pair(SOCK_STREAM, sv);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		for (int i = 0; i < 30; i++) {
			PUT(sv[1], "x");
			usleep(100000);
		}
		_exit(0);
	}
	close(sv[1]);
	CHECK(sio_reader_init(&r, sv[0], NULL, 512) == 0);
	t = now();
	CHECK(sio_read_line(&r, 1, &line) == SIO_TIMEOUT);
	t = now() - t;
	CHECK(t >= 0.95 && t < 1.8);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	sio_reader_free(&r);
	close(sv[0]);
}

static void
test_read_raw(void)
{
	struct sio_reader r;
	int		  sv[2];
	char		 *buf;
	ssize_t		  n;

	pair(SOCK_STREAM, sv);
	CHECK(sio_reader_init(&r, sv[0], NULL, 512) == 0);
	PUT(sv[1], "BDAT 10\r\n0123456789QUIT\r\n");
	EXPECT(&r, "BDAT 10");
	n = sio_read(&r, 5, 4, &buf);
	CHECK(n == 4 && memcmp(buf, "0123", 4) == 0);
	n = sio_read(&r, 5, 6, &buf);
	CHECK(n == 6 && memcmp(buf, "456789", 6) == 0);
	EXPECT(&r, "QUIT");
	/* Nothing buffered: sio_read waits for the next bytes. */
	PUT(sv[1], "\0\r\n.\r\n");
	n = sio_read(&r, 5, 100, &buf);
	CHECK(n == 6 && memcmp(buf, "\0\r\n.\r\n", 6) == 0);
	close(sv[1]);
	CHECK(sio_read(&r, 5, 100, &buf) == SIO_EOF);
	sio_reader_free(&r);
	close(sv[0]);
}

/* Replies go out when the reader has to wait, not while input is buffered. */
/* The bytes after the end of DATA go back to the line reader. */
static void
test_unread(void)
{
	struct sio_reader r;
	int		  sv[2];
	char		 *buf;
	ssize_t		  n;

	pair(SOCK_STREAM, sv);
	CHECK(sio_reader_init(&r, sv[0], NULL, 512) == 0);
	PUT(sv[1], "body\r\n.\r\nQUIT\r\n");
	n = sio_read(&r, 5, 100, &buf);
	CHECK(n == 15);
	CHECK(sio_unread(&r, buf + 9, 6) == 0);
	EXPECT(&r, "QUIT");
	CHECK(sio_unread(&r, buf, 0) == 0); /* nothing to give back */
	/* After another call the bytes are gone: refused, not guessed. */
	PUT(sv[1], "abc");
	n = sio_read(&r, 5, 100, &buf);
	CHECK(n == 3);
	CHECK(sio_unread(&r, buf + 1, 1) == -1);
	CHECK(sio_unread(&r, buf, 4) == -1);
	CHECK(sio_unread(&r, buf + 1, 2) == 0);
	n = sio_read(&r, 5, 100, &buf);
	CHECK(n == 2 && memcmp(buf, "bc", 2) == 0);
	sio_reader_free(&r);
	close(sv[0]);
	close(sv[1]);
}

static void
test_flush_when_blocking(void)
{
	struct sio_writer o;
	struct sio_reader r;
	int		  sv[2];
	char		  buf[256], *line;
	ssize_t		  n;

	pair(SOCK_STREAM, sv);
	sio_writer_init(&o, sv[0]);
	CHECK(sio_reader_init(&r, sv[0], &o, 512) == 0);
	PUT(sv[1], "NOOP\r\nNOOP\r\n");
	EXPECT(&r, "NOOP");
	sio_printf(&o, "250 one\r\n");
	EXPECT(&r, "NOOP"); /* buffered: no flush */
	sio_printf(&o, "250 two\r\n");
	CHECK(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT) == -1 &&
	    errno == EAGAIN);
	/* Client pipelined more, not yet read: still no flush. */
	PUT(sv[1], "QUIT\r\n");
	EXPECT(&r, "QUIT");
	CHECK(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT) == -1 &&
	    errno == EAGAIN);
	sio_printf(&o, "221 bye\r\n");
	/* Now it has to wait: everything goes out in one write. */
	CHECK(sio_read_line(&r, 1, &line) == SIO_TIMEOUT);
	n = recv(sv[1], buf, sizeof(buf) - 1, MSG_DONTWAIT);
	CHECK(n == 27);
	buf[n > 0 ? n : 0] = '\0';
	CHECK(strcmp(buf, "250 one\r\n250 two\r\n221 bye\r\n") == 0);
	CHECK(o.len == 0);
	sio_reader_free(&r);
	close(sv[0]);
	close(sv[1]);
}

static void
test_out_one_write(void)
{
	struct sio_writer o;
	int		  sv[2];
	char		  buf[SIO_OUT_BUFSIZE * 2];
	ssize_t		  n;

	/* SOCK_SEQPACKET keeps write boundaries: one recv == one write. */
	pair(SOCK_SEQPACKET, sv);
	sio_writer_init(&o, sv[0]);
	sio_printf(&o, "250-%s\r\n", "first");
	sio_write(&o, "250-second\r\n", 12);
	sio_printf(&o, "250 %d\r\n", 3);
	CHECK(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT) == -1);
	CHECK(sio_flush(&o) == 0);
	n = recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT);
	CHECK(n == 30);
	CHECK(memcmp(buf, "250-first\r\n250-second\r\n250 3\r\n", 30) == 0);
	CHECK(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT) == -1);
	/* Nothing buffered: no empty write. */
	CHECK(sio_flush(&o) == 0);
	CHECK(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT) == -1);

	/* A full buffer is flushed whole before more is added. */
	char fill[SIO_OUT_BUFSIZE - 5];
	memset(fill, 'f', sizeof(fill));
	sio_write(&o, fill, sizeof(fill));
	sio_printf(&o, "0123456789"); /* does not fit the rest */
	n = recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT);
	CHECK(n == (ssize_t)sizeof(fill));
	CHECK(o.len == 10);
	CHECK(sio_flush(&o) == 0);
	n = recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT);
	CHECK(n == 10 && memcmp(buf, "0123456789", 10) == 0);

	/* Bigger than the buffer: written straight through, in order. */
	static char huge[SIO_OUT_BUFSIZE + 100];
	memset(huge, 'h', sizeof(huge));
	sio_write(&o, "ab", 2);
	sio_write(&o, huge, sizeof(huge));
	n = recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT);
	CHECK(n == 2 && memcmp(buf, "ab", 2) == 0);
	n = recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT);
	CHECK(n == (ssize_t)sizeof(huge));
	CHECK(o.len == 0);

	/* A printf bigger than the buffer too. */
	huge[sizeof(huge) - 1] = '\0';
	sio_printf(&o, "<%s>", huge);
	n = recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT);
	CHECK(n == (ssize_t)sizeof(huge) + 1);
	CHECK(n > 0 && buf[0] == '<' && buf[n - 1] == '>' && buf[1] == 'h');
	close(sv[0]);
	close(sv[1]);
}

static void
test_out_client_gone(void)
{
	struct sio_writer o;
	int		  sv[2];

	pair(SOCK_STREAM, sv);
	close(sv[1]);
	sio_writer_init(&o, sv[0]);
	sio_printf(&o, "220 hello\r\n");
	CHECK(!sio_failed(&o));
	/* EPIPE, not SIGPIPE (ignored, as session_start does). */
	CHECK(sio_flush(&o) == -1);
	CHECK(sio_failed(&o));
	sio_printf(&o, "more\r\n");
	CHECK(o.len == 0);
	CHECK(sio_flush(&o) == -1);
	close(sv[0]);

	/* A bad descriptor fails the same way. */
	sio_writer_init(&o, -1);
	sio_write(&o, "x", 1);
	CHECK(sio_flush(&o) == -1 && sio_failed(&o));
}

/* A client that stops reading cannot hold a write forever. */
static void
test_out_timeout(void)
{
	static char	  chunk[65536];
	struct sio_writer o;
	int		  sv[2];
	double		  t;

	pair(SOCK_STREAM, sv);
	sio_writer_init(&o, sv[0]);
	CHECK(o.timeout_s == SIO_OUT_TIMEOUT);
	sio_set_timeout(&o, 1);
	t = now();
	for (int i = 0; i < 256 && !sio_failed(&o);
	     i++) /* 16 MiB, never read */
		sio_write(&o, chunk, sizeof(chunk));
	t = now() - t;
	CHECK(sio_failed(&o));
	CHECK(t >= 0.9 && t < 5);
	CHECK(sio_flush(&o) == -1);
	close(sv[0]);
	close(sv[1]);
}

/* Everything a fast client sends arrives, over many reads, in order. */
static void
test_bulk(void)
{
	struct sio_reader r;
	int		  sv[2];
	char		 *line;
	pid_t		  pid;
	ssize_t		  n;
	unsigned long	  want = 0, got = 0;

	pair(SOCK_STREAM, sv);
	pid = fork();
	if (pid == 0) {
		char l[64];
		close(sv[0]);
		for (unsigned i = 0; i < 100000; i++) {
			int len = snprintf(l, sizeof(l), "line %u\r\n", i);
			put(sv[1], l, (size_t)len);
		}
		_exit(0);
	}
	close(sv[1]);
	CHECK(sio_reader_init(&r, sv[0], NULL, 512) == 0);
	for (unsigned i = 0;; i++) {
		n = sio_read_line(&r, 10, &line);
		if (n < 0)
			break;
		char	     *end;
		unsigned long v = strtoul(line + 5, &end, 10);
		CHECK(strncmp(line, "line ", 5) == 0 && *end == '\0');
		want += i;
		got += v;
		if (v != i) {
			CHECK(v == i);
			break;
		}
	}
	CHECK(n == SIO_EOF);
	CHECK(want == got && want == 100000UL * 99999 / 2);
	waitpid(pid, NULL, 0);
	sio_reader_free(&r);
	close(sv[0]);
}

/* sio_hangup: the peer gets the last reply and then EOF, though our fd stays open. */
static void
test_out_hangup(void)
{
	static struct sio_writer o;
	char			 buf[64];
	int			 sv[2];
	ssize_t			 n;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	sio_writer_init(&o, sv[0]);
	sio_printf(&o, "221 bye\r\n");
	sio_hangup(&o);
	n = read(sv[1], buf, sizeof buf);
	CHECK(n == 9 && memcmp(buf, "221 bye\r\n", 9) == 0);
	CHECK(read(sv[1], buf, sizeof buf) == 0);
	CHECK(fcntl(sv[0], F_GETFD) != -1);
	close(sv[0]);
	close(sv[1]);

	/* On a pipe there is nothing to shut down: the bytes still arrive. */
	CHECK(pipe(sv) == 0);
	sio_writer_init(&o, sv[1]);
	sio_printf(&o, "+OK\r\n");
	sio_hangup(&o);
	CHECK(read(sv[0], buf, sizeof buf) == 5);
	close(sv[0]);
	close(sv[1]);
}

static void
test_discard(void)
{
	struct sio_reader r;
	int		  sv[2];

	pair(SOCK_STREAM, sv);
	CHECK(sio_reader_init(&r, sv[0], NULL, 512) == 0);
	/* An injection behind STARTTLS arrives in the same read. */
	PUT(sv[1], "STARTTLS\r\nRSET\r\nMAIL FROM:<x>\r\n");
	EXPECT(&r, "STARTTLS");
	CHECK(sio_pending(&r));
	CHECK(sio_discard(&r) == 21);
	CHECK(!sio_pending(&r));
	CHECK(sio_discard(&r) == 0);
	PUT(sv[1], "EHLO again\r\n");
	EXPECT(&r, "EHLO again");
	/* Half a line counts too, and the next line starts clean. */
	PUT(sv[1], "half a li");
	CHECK(sio_read_line(&r, 1, &(char *){ NULL }) == SIO_TIMEOUT);
	CHECK(sio_discard(&r) == 9);
	PUT(sv[1], "NOOP\r\n");
	EXPECT(&r, "NOOP");
	sio_reader_free(&r);
	close(sv[0]);
	close(sv[1]);
}

/*
 * A layer like TLS's: it takes everything off the descriptor at once and
 * hands it out three bytes at a time (so bytes wait in the layer while
 * poll() says the descriptor is empty), and changes every byte (XOR 1)
 * both ways.
 */
struct xor_layer {
	int    fd;
	char   buf[256];
	size_t len, off;
	bool   is_closed;
};

static ssize_t
xor_read(void *arg, void *buf, size_t len)
{
	struct xor_layer *x = arg;
	char		 *out = buf;
	size_t		  n;

	if (x->off == x->len) {
		ssize_t got = read(x->fd, x->buf, sizeof(x->buf));
		if (got <= 0)
			return got;
		x->len = (size_t)got;
		x->off = 0;
	}
	n = x->len - x->off < 3 ? x->len - x->off : 3;
	n = n < len ? n : len;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)(x->buf[x->off + i] ^ 1);
	x->off += n;
	return (ssize_t)n;
}

static ssize_t
xor_write(void *arg, const void *buf, size_t len)
{
	struct xor_layer *x = arg;
	char		  tmp[256];
	size_t		  n = len < sizeof(tmp) ? len : sizeof(tmp);

	for (size_t i = 0; i < n; i++)
		tmp[i] = (char)(((const char *)buf)[i] ^ 1);
	return write(x->fd, tmp, n);
}

static size_t
xor_pending(void *arg)
{
	struct xor_layer *x = arg;

	return x->len - x->off;
}

static void
xor_close(void *arg)
{
	struct xor_layer *x = arg;

	x->is_closed = true;
}

static void
test_layer(void)
{
	static struct sio_writer o;
	struct sio_reader	 r;
	struct xor_layer	 x = { 0 };
	struct sio_layer l = { xor_read, xor_write, xor_pending, xor_close,
		&x };
	char		 in[32], buf[64];
	const char	*plain = "EHLO a\r\nNOOP\r\n";
	int		 sv[2];

	pair(SOCK_STREAM, sv);
	x.fd = sv[0];
	sio_writer_init(&o, sv[0]);
	CHECK(sio_reader_init(&r, sv[0], &o, 512) == 0);
	sio_reader_set_layer(&r, &l);
	sio_writer_set_layer(&o, &l);
	for (size_t i = 0; i < strlen(plain); i++)
		in[i] = (char)(plain[i] ^ 1);
	put(sv[1], in, strlen(plain));
	/* Both lines, though the second waits in the layer, not the socket. */
	EXPECT(&r, "EHLO a");
	EXPECT(&r, "NOOP");
	sio_printf(&o, "250 ok\r\n");
	sio_hangup(&o);
	CHECK(x.is_closed);
	CHECK(read(sv[1], buf, sizeof(buf)) == 8);
	for (size_t i = 0; i < 8; i++)
		buf[i] = (char)(buf[i] ^ 1);
	CHECK(memcmp(buf, "250 ok\r\n", 8) == 0);
	sio_reader_free(&r);
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_line_ends();
	test_too_long();
	test_huge_line();
	test_read_raw();
	test_unread();
	test_flush_when_blocking();
	test_out_one_write();
	test_out_client_gone();
	test_bulk();
	test_timeout();
	test_trickle();
	test_out_timeout();
	test_out_hangup();
	test_discard();
	test_layer();
	return CHECK_DONE();
}
