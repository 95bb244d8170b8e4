/*
 * RETR and TOP: a message read from its file in POP3_CHUNK pieces,
 * through maildir_crlf (CRLF line ends, no NUL bytes, a header/body blank
 * line guaranteed), dot-stuffed on the way out.  Most messages fit in
 * one piece: RETR reads such a file with one read() and converts it
 * before its +OK.  Memory does not grow with the message: two buffers of
 * fixed size, allocated on the first RETR.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "pop3.h"
#include "session-log.h"

/* Where the stream stands, across chunks. */
struct retr_stream {
	bool	 at_bol;     /* the next byte starts a line */
	bool	 is_top;     /* TOP: stop after lines_left body lines */
	bool	 in_body;    /* past the blank line after the headers */
	bool	 is_done;    /* TOP has sent all it should */
	uint64_t lines_left; /* TOP: body lines still to send */
	uint64_t line_len;   /* bytes of the current line so far */
	uint64_t sent;	     /* message bytes sent, before stuffing */
};

/*
 * Sends len bytes of CRLF text, doubling a dot that starts a line.  The
 * text is searched for dots, not for line ends: a line that starts with
 * one is rare, a line end comes every few dozen bytes.
 */
static void
send_stuffed(struct pop3_conn *c, bool *at_bol, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *seg = buf, *dot;

	if (len == 0)
		return;
	if (*at_bol && *p == '.')
		sio_write(&c->out, ".", 1);
	for (p++; p < end && (dot = memchr(p, '.', (size_t)(end - p))) != NULL;
	     p = dot + 1) {
		/* The dot goes out twice: up to it, and from it on. */
		if (dot[-1] == '\n') {
			sio_write(&c->out, seg, (size_t)(dot + 1 - seg));
			seg = dot;
		}
	}
	sio_write(&c->out, seg, (size_t)(end - seg));
	*at_bol = end[-1] == '\n';
}

/*
 * TOP: how much of len bytes of CRLF text is still to be sent.  The text
 * never holds an LF without its CR (maildir_crlf sees to that), so a
 * line of two bytes is the empty line that ends the headers.
 */
static size_t
top_cut(struct retr_stream *s, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *nl;

	while (p < end && !s->is_done) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) {
			s->line_len += (uint64_t)(end - p);
			return len;
		}
		s->line_len += (uint64_t)(nl + 1 - p);
		p = nl + 1;
		if (s->in_body)
			s->is_done = --s->lines_left == 0;
		else if (s->line_len == 2) {
			s->in_body = true;
			s->is_done = s->lines_left == 0;
		}
		s->line_len = 0;
	}
	return (size_t)(p - buf);
}

/* Sends a chunk of the message: all of it for RETR, up to TOP's cut. */
static void
stream_chunk(
    struct pop3_conn *c, struct retr_stream *s, const char *buf, size_t len)
{
	if (s->is_top)
		len = top_cut(s, buf, len);
	send_stuffed(c, &s->at_bol, buf, len);
	s->sent += len;
}

/* Replies to a message that cannot be opened. */
static void
open_failed(struct pop3_conn *c, long i)
{
	struct maildir_msg *m = &c->list.msgs[i];

	if (errno == ENOENT) {
		/*
		 * [SYS/TEMP]: not the client's fault and no reason to give
		 * up on the maildir; the next session will not list it.
		 */
		c->marks[i] |= POP3_M_GONE;
		log_info(
		    "%s: message %ld (%s) vanished", c->peer, i + 1, m->name);
		pop3_err_sys(c,
		    "message %ld no longer exists "
		    "(deleted by another session)",
		    i + 1);
		return;
	}
	log_err("%s: opening %s: %s", c->peer, m->name, strerror(errno));
	pop3_err_sys(c, "cannot open message %ld", i + 1);
}

/*
 * Whether message i, whose file counts w octets, still has the size LIST
 * gave from the size cache (or guessed, when it could not read the file).
 * The cache is a hint: the file decides.  When
 * they differ the client is told so before a byte of the message goes out
 * (a client that checks the octets against LIST would take the message
 * for damaged), the true size replaces the cached one (for this session's
 * next RETR and LIST, and for the cache written at its end).  When they
 * agree the cache stays as it is: a session that only confirmed it does
 * not write it again.  cached_size is the size on disk the cache gave.
 */
static bool
is_as_listed(struct pop3_conn *c, long i, uint64_t w, uint32_t cached_size)
{
	struct maildir_msg *m = &c->list.msgs[i];

	/* Checked now: a second RETR need not check again. */
	c->marks[i] |= POP3_M_CHECKED;
	if (w == m->wsize && m->size == cached_size)
		return true;
	/* Something new for the cache. */
	m->is_cached = false;
	m->is_counted = true;
	if (w == m->wsize)
		return true;
	if (c->marks[i] & POP3_M_GUESSED)
		log_warn("%s: message %ld (%s) has %llu octets, LIST said "
			 "%llu: it could not read it then",
		    c->peer, i + 1, m->name, (unsigned long long)w,
		    (unsigned long long)m->wsize);
	else
		log_warn("%s: message %ld (%s) has %llu octets, the size "
			 "cache said %llu: it changed, or the cache is wrong",
		    c->peer, i + 1, m->name, (unsigned long long)w,
		    (unsigned long long)m->wsize);
	m->wsize = w;
	pop3_err_sys(
	    c, "message %ld is not the size LIST said, try again", i + 1);
	return false;
}

/*
 * Whether message i's size came from the cache, or is LIST's guess for a
 * file it could not read, and is not checked yet.
 */
static bool
is_unchecked(const struct pop3_conn *c, long i)
{
	return (c->list.msgs[i].is_cached || (c->marks[i] & POP3_M_GUESSED)) &&
	    !(c->marks[i] & POP3_M_CHECKED);
}

/* Reads up to len bytes of fd into buf, through short reads; or -1. */
static ssize_t
read_full(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* The +OK of RETR (the size when it is known) or TOP. */
static void
reply_ok(struct pop3_conn *c, const struct maildir_msg *m, bool is_top)
{
	if (!is_top && m->has_wsize)
		pop3_ok(c, "%llu octets", (unsigned long long)m->wsize);
	else
		pop3_ok(c, "message follows");
}

/* The end of a message sent whole, or as much as TOP wanted. */
static void
sent_msg(struct pop3_conn *c, long i, bool is_top, uint64_t octets)
{
	sio_write(&c->out, ".\r\n", 3);
	c->octets += octets;
	if (!is_top) {
		c->marks[i] |= POP3_M_RETRIEVED;
		c->nretr++;
	}
}

/* Replies to a message that cannot be read before its +OK. */
static void
read_failed(struct pop3_conn *c, long i)
{
	log_err("%s: reading %s: %s", c->peer, c->list.msgs[i].name,
	    strerror(errno));
	pop3_err_sys(c, "cannot read message %ld", i + 1);
}

/*
 * RETR of message i (open as fd) when its file fits in c->rbuf, as most
 * do: read once, converted whole before the +OK, so that a size from the
 * size cache is checked against the very bytes that go out.
 */
static void
retr_small(struct pop3_conn *c, long i, int fd, uint32_t cached_size)
{
	struct maildir_msg *m = &c->list.msgs[i];
	struct maildir_crlf cx;
	ssize_t		    n;
	size_t		    k;
	bool		    at_bol = true;

	if ((n = read_full(fd, c->rbuf, m->size)) == -1) {
		read_failed(c, i);
		return;
	}
	maildir_crlf_init(&cx);
	k = maildir_crlf_conv(&cx, c->rbuf, (size_t)n, c->cbuf);
	k += maildir_crlf_finish(&cx, c->cbuf + k);
	if (is_unchecked(c, i) && !is_as_listed(c, i, k, cached_size))
		return;
	reply_ok(c, m, false);
	send_stuffed(c, &at_bol, c->cbuf, k);
	sent_msg(c, i, false, k);
}

/* Sends message i, whole (RETR) or its headers and `lines` body lines (TOP). */
static void
send_msg(struct pop3_conn *c, long i, bool is_top, uint64_t lines)
{
	struct maildir_msg *m = &c->list.msgs[i];
	struct retr_stream  s = {
		 .at_bol = true, .is_top = is_top, .lines_left = lines
	};
	struct maildir_crlf cx;
	uint64_t	    total = 0, w;
	uint32_t	    cached_size = m->size; /* before the open sets it */
	ssize_t		    n;
	size_t		    k;
	int		    fd;

	if (c->rbuf == NULL) {
		c->rbuf = malloc(POP3_CHUNK);
		c->cbuf = malloc(2 * POP3_CHUNK + 8);
		if (c->rbuf == NULL || c->cbuf == NULL)
			pop3_die_oom(c);
	}
	fd = maildir_msg_open(c->md, &c->list, m);
	if (fd == -1) {
		open_failed(c, i);
		return;
	}
	if (!is_top && m->has_size && m->size <= POP3_CHUNK) {
		retr_small(c, i, fd, cached_size);
		close(fd);
		return;
	}
	/* A larger one sized from the cache is counted first (pread). */
	if (!is_top && is_unchecked(c, i)) {
		if (maildir_msg_count(fd, m, &w) == -1) {
			read_failed(c, i);
			close(fd);
			return;
		}
		if (!is_as_listed(c, i, w, cached_size)) {
			close(fd);
			return;
		}
	}
	reply_ok(c, m, is_top);
	maildir_crlf_init(&cx);
	while (!s.is_done) {
		n = read(fd, c->rbuf, POP3_CHUNK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			/*
			 * The +OK is out: ending the response now would hand
			 * the client a truncated message as if it were whole.
			 * Closing instead makes it retry in a later session.
			 */
			log_err("%s: reading %s: %s", c->peer, m->name,
			    strerror(errno));
			close(fd);
			c->status = EX_IOERR;
			c->end = "read error";
			c->done = true;
			return;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		k = maildir_crlf_conv(&cx, c->rbuf, (size_t)n, c->cbuf);
		stream_chunk(c, &s, c->cbuf, k);
		/*
		 * A short read that reaches the size on disk is the end: this
		 * spares the read() that would return 0.
		 */
		if ((size_t)n < POP3_CHUNK && m->has_size && total == m->size)
			break;
	}
	close(fd);
	if (!s.is_done) {
		k = maildir_crlf_finish(&cx, c->cbuf);
		stream_chunk(c, &s, c->cbuf, k);
	}
	sent_msg(c, i, is_top, s.sent);
}

void
pop3_cmd_retr(struct pop3_conn *c, char *args)
{
	char *arg = pop3_next_arg(&args);
	long  i;

	if (pop3_next_arg(&args) != NULL) {
		pop3_err(c, "too many arguments");
		return;
	}
	if ((i = pop3_msg_arg(c, arg)) < 0)
		return;
	send_msg(c, i, false, 0);
}

void
pop3_cmd_top(struct pop3_conn *c, char *args)
{
	char	   *arg = pop3_next_arg(&args);
	char	   *nlines = pop3_next_arg(&args);
	uint64_t    lines = 0;
	const char *p;
	long	    i;

	if (arg != NULL && nlines == NULL) {
		pop3_err(c, "TOP needs a message number and a line count");
		return;
	}
	if (pop3_next_arg(&args) != NULL) {
		pop3_err(c, "too many arguments");
		return;
	}
	if ((i = pop3_msg_arg(c, arg)) < 0)
		return;
	for (p = nlines; *p != '\0'; p++) {
		if (*p < '0' || *p > '9') {
			pop3_err(c, "invalid line count");
			return;
		}
		/* More lines than any message has: the whole message. */
		if (lines < UINT64_MAX / 10 - 10)
			lines = lines * 10 + (uint64_t)(*p - '0');
	}
	send_msg(c, i, true, lines);
}
