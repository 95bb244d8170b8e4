/*
 * Where a message from the sendmail command goes: the maildir when we may
 * write it, else the local SMTP service, else ~/dead.letter.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "maildir.h"
#include "sendmail.h"
#include "session-io.h"
#include "session-sys.h"

#define SM_CONNECT_TIMEOUT 30	/* seconds, to reach the SMTP service */
#define SM_REPLY_MAX	   1000 /* a reply line (RFC 5321: 512) */

/* ---- the maildir ---- */

/*
 * Run as root, becomes (effectively, and only until session_ids_restore) the
 * owner of the maildir, so that the message belongs to the account that
 * serves it and root does not create files where someone else could have
 * planted symlinks.  A maildir that does not exist yet is made for
 * [user] name when there is one, with the directories above it that are
 * missing too.
 */
static int
ids_switch(struct sendmail_delivery *d, struct session_ids *ids)
{
	const char *path = d->cfg->maildir;
	struct stat st;

	ids->switched = false;
	if (geteuid() != 0)
		return 0;
	if (stat(path, &st) < 0) {
		struct passwd *pw;

		if (errno != ENOENT || d->cfg->user[0] == '\0')
			return 0; /* maildir_open() will say why */
		pw = getpwnam(d->cfg->user);
		if (pw == NULL) {
			snprintf(d->why_maildir, sizeof(d->why_maildir),
			    "[user] name %s: no such user", d->cfg->user);
			return -1;
		}
		if (maildir_mkpath(path, pw->pw_uid, pw->pw_gid) < 0 ||
		    stat(path, &st) < 0) {
			snprintf(d->why_maildir, sizeof(d->why_maildir),
			    "%s: %s", path, strerror(errno));
			return -1;
		}
	}
	if (st.st_uid == 0)
		return 0;
	if (session_switch_ids(st.st_uid, st.st_gid, NULL, ids) < 0) {
		snprintf(d->why_maildir, sizeof(d->why_maildir),
		    "cannot act as the owner (uid %lu) of %s: %s",
		    (unsigned long)st.st_uid, path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The message, under the trace fields of its final delivery. */
static int
maildir_write_msg(struct maildir_tmp *t, const struct sendmail_delivery *d)
{
	struct sm_buf trace = { 0 };
	int	      r = -1;

	if (sendmail_trace(&trace, d->sender, d->rcpts) == 0 &&
	    maildir_deliver_write(t, trace.p, trace.len) == 0 &&
	    maildir_deliver_write(t, d->msg->head.p, d->msg->head.len) == 0 &&
	    maildir_deliver_write(t, d->msg->body, d->msg->body_len) == 0)
		r = 0;
	sm_buf_free(&trace);
	return r;
}

int
sendmail_deliver_maildir(struct sendmail_delivery *d)
{
	struct maildir	    md;
	struct maildir_tmp *t;
	struct session_ids  ids;
	char		    name[MAILDIR_NAME_MAX + 1];
	int		    r = -1;

	if (ids_switch(d, &ids) < 0)
		return -1;
	/* The tmp struct holds a 64k buffer: not on the stack. */
	t = malloc(sizeof(*t));
	if (t == NULL) {
		snprintf(
		    d->why_maildir, sizeof(d->why_maildir), "out of memory");
		goto out;
	}
	if (maildir_open(&md, d->cfg->maildir) < 0) {
		snprintf(d->why_maildir, sizeof(d->why_maildir), "%s: %s",
		    d->cfg->maildir, strerror(errno));
		goto out;
	}
	/* The disk floor smtp-session keeps: not a byte below it. */
	if (session_disk_low(d->cfg, &md)) {
		snprintf(d->why_maildir, sizeof(d->why_maildir),
		    "%s: free space under [smtp] min_free", d->cfg->maildir);
		maildir_close(&md);
		goto out;
	}
	if (maildir_deliver_begin(&md, t) < 0) {
		snprintf(d->why_maildir, sizeof(d->why_maildir), "%s/tmp: %s",
		    d->cfg->maildir, strerror(errno));
		maildir_close(&md);
		goto out;
	}
	if (maildir_write_msg(t, d) < 0 ||
	    maildir_deliver_commit(t, name, sizeof(name)) < 0) {
		snprintf(d->why_maildir, sizeof(d->why_maildir), "%s: %s",
		    d->cfg->maildir, strerror(errno));
		maildir_deliver_abort(t);
		maildir_close(&md);
		goto out;
	}
	maildir_close(&md);
	d->via = SM_VIA_MAILDIR;
	snprintf(
	    d->where, sizeof(d->where), "%s/new/%s", d->cfg->maildir, name);
	r = 0;
out:
	free(t);
	session_ids_restore(&ids);
	return r;
}

/* ---- SMTP ---- */

struct sm_smtp {
	struct sio_writer out;
	struct sio_reader in;
	unsigned	  timeout;
	bool		  has_8bitmime;
	int		  code;	     /* of the last reply */
	char		  text[200]; /* its last line, for messages */
};

int
sendmail_smtp_connect(const char *hostport, char *why, size_t whylen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	struct timeval	tv = { .tv_sec = SM_CONNECT_TIMEOUT };
	char		host[300], port[16];
	int		fd = -1, e, saved = 0;

	if (config_hostport(hostport, host, sizeof(host), port, sizeof(port)) <
	    0) {
		snprintf(why, whylen, "[sendmail] smtp %s is not host:port",
		    hostport);
		return -1;
	}
	e = getaddrinfo(host, port, &hints, &res);
	if (e != 0) {
		snprintf(why, whylen, "%s: %s", hostport, gai_strerror(e));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		/* On Linux the send timeout bounds connect() too. */
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(why, whylen, "%s: %s", hostport, strerror(saved));
	return fd;
}

/* Reads one reply (all its lines): its code, or -1 when the server is gone. */
static int
smtp_read_reply(struct sm_smtp *c, bool ehlo)
{
	for (;;) {
		char   *line;
		ssize_t n = sio_read_line(&c->in, c->timeout, &line);

		if (n == SIO_TOOLONG)
			continue;
		if (n < 0) {
			snprintf(c->text, sizeof(c->text), "%s",
			    n == SIO_TIMEOUT ? "no reply (timeout)"
					     : "connection closed");
			c->code = -1;
			return -1;
		}
		if (n < 3 || line[0] < '1' || line[0] > '5' || line[1] < '0' ||
		    line[1] > '9' || line[2] < '0' || line[2] > '9') {
			snprintf(
			    c->text, sizeof(c->text), "bad reply: %.80s", line);
			c->code = -1;
			return -1;
		}
		if (ehlo && n >= 12 &&
		    strncasecmp(line + 4, "8BITMIME", 8) == 0)
			c->has_8bitmime = true;
		if (n == 3 || line[3] != '-') {
			c->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
			    (line[2] - '0');
			snprintf(c->text, sizeof(c->text), "%s", line);
			return c->code;
		}
	}
}

/* Reads a reply: true when its code is in the hundreds wanted (2, 3). */
static bool
smtp_ok(struct sm_smtp *c, int want)
{
	return smtp_read_reply(c, false) / 100 == want;
}

/* Sends the message as DATA: CRLF line ends, dot-stuffed (RFC 5321 4.5.2). */
static void
smtp_send_data(struct sm_smtp *c, const char *p, size_t len, bool *bol)
{
	size_t i = 0;

	while (i < len) {
		if (*bol && p[i] == '.')
			sio_write(&c->out, ".", 1);
		const char *nl = memchr(p + i, '\n', len - i);
		size_t	    n = nl != NULL ? (size_t)(nl - (p + i)) : len - i;
		sio_write(&c->out, p + i, n);
		i += n;
		*bol = false;
		if (nl != NULL) {
			sio_write(&c->out, "\r\n", 2);
			i++;
			*bol = true;
		}
	}
}

static bool
has_8bit(const struct sendmail_msg *m)
{
	for (size_t i = 0; i < m->head.len; i++)
		if ((unsigned char)m->head.p[i] >= 0x80)
			return true;
	for (size_t i = 0; i < m->body_len; i++)
		if ((unsigned char)m->body[i] >= 0x80)
			return true;
	return false;
}

static int
smtp_fail(struct sendmail_delivery *d, struct sm_smtp *c, const char *step)
{
	snprintf(d->why_smtp, sizeof(d->why_smtp), "%s: %s: %s",
	    d->cfg->sendmail_smtp, step, c->text);
	d->smtp_permanent = c->code >= 500;
	return -1;
}

int
sendmail_deliver_smtp(struct sendmail_delivery *d)
{
	struct sm_smtp c = { .timeout = d->cfg->smtp_timeout };
	size_t	       accepted = 0;
	bool	       bol = true;
	int	       fd, r = -1;

	d->smtp_permanent = false;
	fd = sendmail_smtp_connect(
	    d->cfg->sendmail_smtp, d->why_smtp, sizeof(d->why_smtp));
	if (fd < 0)
		return -1;
	sio_writer_init(&c.out, fd);
	if (sio_reader_init(&c.in, fd, &c.out, SM_REPLY_MAX) < 0) {
		snprintf(d->why_smtp, sizeof(d->why_smtp), "out of memory");
		close(fd);
		return -1;
	}
	if (smtp_read_reply(&c, false) != 220) {
		smtp_fail(d, &c, "greeting");
		goto out;
	}
	sio_printf(&c.out, "EHLO %s\r\n", d->cfg->hostname);
	if (smtp_read_reply(&c, true) != 250) {
		sio_printf(&c.out, "HELO %s\r\n", d->cfg->hostname);
		if (!smtp_ok(&c, 2)) {
			smtp_fail(d, &c, "EHLO");
			goto out;
		}
	}
	sio_printf(&c.out, "MAIL FROM:<%s>%s\r\n", d->sender,
	    c.has_8bitmime && has_8bit(d->msg) ? " BODY=8BITMIME" : "");
	if (!smtp_ok(&c, 2)) {
		smtp_fail(d, &c, "MAIL FROM");
		goto out;
	}
	for (size_t i = 0; i < d->rcpts->n; i++) {
		sio_printf(&c.out, "RCPT TO:<%s>\r\n", d->rcpts->v[i]);
		if (smtp_ok(&c, 2))
			accepted++;
		else if (c.code < 0)
			break;
	}
	if (accepted == 0) {
		smtp_fail(d, &c, "RCPT TO");
		goto out;
	}
	sio_printf(&c.out, "DATA\r\n");
	if (!smtp_ok(&c, 3)) {
		smtp_fail(d, &c, "DATA");
		goto out;
	}
	smtp_send_data(&c, d->msg->head.p, d->msg->head.len, &bol);
	smtp_send_data(&c, d->msg->body, d->msg->body_len, &bol);
	if (!bol)
		sio_write(&c.out, "\r\n", 2);
	sio_printf(&c.out, ".\r\n");
	if (!smtp_ok(&c, 2)) {
		smtp_fail(d, &c, "end of DATA");
		goto out;
	}
	d->via = SM_VIA_SMTP;
	snprintf(d->where, sizeof(d->where), "%s (%s)", d->cfg->sendmail_smtp,
	    c.text);
	r = 0;
	/* The message is accepted: how QUIT goes no longer matters. */
	sio_printf(&c.out, "QUIT\r\n");
	sio_flush(&c.out);
out:
	sio_reader_free(&c.in);
	close(fd);
	return r;
}

/* ---- dead.letter ---- */

static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes lines, quoting "From " at a line's start as ">From " (mbox). */
static int
write_mbox(struct sm_buf *b, const char *p, size_t len, bool *bol)
{
	size_t i = 0;

	while (i < len) {
		if (*bol && len - i >= 5 && memcmp(p + i, "From ", 5) == 0 &&
		    sm_buf_add(b, ">", 1) < 0)
			return -1;
		const char *nl = memchr(p + i, '\n', len - i);
		size_t n = nl != NULL ? (size_t)(nl - (p + i)) + 1 : len - i;
		if (sm_buf_add(b, p + i, n) < 0)
			return -1;
		i += n;
		*bol = nl != NULL;
	}
	return 0;
}

int
sendmail_dead_letter(const struct sendmail_delivery *d, const char *path)
{
	struct sm_buf b = { 0 };
	char	      line[400], date[32];
	time_t	      now = time(NULL);
	struct tm     tm;
	bool	      bol = true;
	struct stat   st;
	int	      fd, r = -1, saved;

	/* The "From " line's date is ctime()'s, in the C locale's words. */
	if (localtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm) == 0)
		snprintf(date, sizeof(date), "Thu Jan  1 00:00:00 1970");
	snprintf(line, sizeof(line), "From %s %s\n",
	    d->sender[0] != '\0' ? d->sender : "MAILER-DAEMON", date);
	if (sm_buf_addstr(&b, line) < 0 ||
	    write_mbox(&b, d->msg->head.p, d->msg->head.len, &bol) < 0 ||
	    write_mbox(&b, d->msg->body, d->msg->body_len, &bol) < 0 ||
	    (!bol && sm_buf_add(&b, "\n", 1) < 0) ||
	    sm_buf_add(&b, "\n", 1) < 0) {
		sm_buf_free(&b);
		return -1;
	}
	fd = open(
	    path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		saved = errno;
		sm_buf_free(&b);
		errno = saved;
		return -1;
	}
	/* Other writers of dead.letter (mail(1)) lock it the same way. */
	if (flock(fd, LOCK_EX) == 0 && fstat(fd, &st) == 0) {
		if (write_all(fd, b.p, b.len) == 0 && fsync(fd) == 0)
			r = 0;
		else {
			/*
			 * Half a message (a full disk, RLIMIT_FSIZE) would
			 * run into the next one appended: cut it off.
			 */
			saved = errno;
			if (ftruncate(fd, st.st_size) != 0) {
				/* Nothing more to do: the write's errno counts. */
			}
			errno = saved;
		}
	}
	saved = errno;
	close(fd);
	sm_buf_free(&b);
	errno = saved;
	return r;
}
