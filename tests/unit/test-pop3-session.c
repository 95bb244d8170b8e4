/*
 * Tests pop3-session/pop3-session.c and pop3-retr.c in process: whole
 * sessions over a pipe into a file, several in one process (no state may
 * survive a session), and RETR/TOP where a CRLF, a dot-stuffed line and
 * the header/body split fall exactly on POP3_CHUNK boundaries.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "pop3.h"
#include "session-log.h"
#include "test-maildir-util.h"

static char		     dir[PATH_MAX];
static struct session_config cfg;

/* Runs one whole session with the given CRLF input; returns its output (malloc'd). */
static char *
session(const char *input, size_t *len_r, int *status_r)
{
	static struct pop3_conn c;
	struct maildir		md;
	char			out[PATH_MAX];
	int			p[2], ofd;
	struct stat		st;
	char		       *buf;

	tu_path(out, dir, "tmp", "out-XXXXXX");
	if (pipe(p) != 0 || (ofd = mkstemp(out)) < 0) {
		perror("pipe/mkstemp");
		exit(1);
	}
	unlink(out);
	/* Small enough for the pipe's buffer: written whole, then EOF. */
	CHECK(write(p[1], input, strlen(input)) == (ssize_t)strlen(input));
	close(p[1]);
	CHECK(maildir_open(&md, dir) == 0);
	CHECK(pop3_conn_init(&c, &cfg, &md, p[0], ofd) == 0);
	*status_r = pop3_session_run(&c);
	pop3_conn_free(&c);
	pop3_conn_free(&c); /* safe twice */
	maildir_close(&md);
	close(p[0]);
	fstat(ofd, &st);
	buf = malloc((size_t)st.st_size + 1);
	CHECK(pread(ofd, buf, (size_t)st.st_size, 0) == st.st_size);
	buf[st.st_size] = '\0';
	close(ofd);
	*len_r = (size_t)st.st_size;
	return buf;
}

/* The output after the greeting line. */
static const char *
after_greeting(const char *out)
{
	const char *p = strstr(out, "\r\n");

	CHECK(p != NULL && strncmp(out, "+OK ", 4) == 0);
	return p != NULL ? p + 2 : out;
}

static void
put(const char *name, const char *data, size_t len)
{
	char path[PATH_MAX];
	int  fd;

	tu_path(path, dir, "cur", name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0 && write(fd, data, len) == (ssize_t)len);
	close(fd);
}

static void
test_chunk_boundaries(void)
{
	/* A: headers ending at 32766, so the blank line's CR is the chunk's last byte. */
	size_t alen = POP3_CHUNK - 1, ylen = POP3_CHUNK - 3;
	size_t mlen = alen + 2 + ylen + 2 + 6 + 6;
	char  *msg = malloc(mlen + 1), *want = malloc(4 * mlen + 1024);
	char  *p = msg, *w = want, *out;
	size_t len;
	int    status;

	p += sprintf(p, "Subject: x\r\nX: ");
	memset(p, 'a', alen - 17);
	p += alen - 17;
	p += sprintf(p, "\r\n\r\n");
	/* Y: the body's first line ends at 65535, so ".dot" starts chunk 3. */
	CHECK((size_t)(p - msg) == POP3_CHUNK + 1);
	memset(p, 'Y', ylen);
	p += ylen;
	p += sprintf(p, "\r\n.dot\r\nlast\r\n");
	CHECK((size_t)(p - msg) == mlen);
	CHECK(msg[2 * POP3_CHUNK] == '.' && msg[POP3_CHUNK - 1] == '\r');
	put("1700000001.M1P1Q1.host:2,", msg, mlen);

	/* TOP 1 0, TOP 1 1, TOP 1 2, RETR 1. */
	for (int k = 0; k < 4; k++) {
		w += sprintf(w, "+OK message follows\r\n");
		memcpy(w, msg, alen + 2);
		w += alen + 2;
		if (k >= 1) {
			memcpy(w, msg + alen + 2, ylen + 2);
			w += ylen + 2;
		}
		if (k >= 2)
			w += sprintf(w, "..dot\r\n");
		if (k >= 3)
			w += sprintf(w, "last\r\n");
		w += sprintf(w, ".\r\n");
	}
	w += sprintf(w,
	    "+OK message 1 deleted\r\n"
	    "+OK BareMail POP3 signing off (1 messages deleted)\r\n");
	out = session("TOP 1 0\r\nTOP 1 1\r\nTOP 1 2\r\nRETR 1\r\nDELE 1\r\n"
		      "QUIT\r\n",
	    &len, &status);
	CHECK(status == 0);
	CHECK(strcmp(after_greeting(out), want) == 0);
	free(out);
	free(msg);
	free(want);
}

static void
test_sessions_share_nothing(void)
{
	size_t len;
	int    status;
	char  *out;

	/* The message the last test deleted is gone; nothing else leaked. */
	out = session("STAT\r\nQUIT\r\n", &len, &status);
	CHECK(
	    strcmp(after_greeting(out),
		"+OK 0 0\r\n+OK BareMail POP3 signing off (0 messages deleted)\r\n") ==
	    0);
	free(out);
	put("1700000002.M2P2Q2.host:2,", "S: 2\n\nb\n", 8);
	/* EOF after DELE: nothing is deleted, and no message is flagged. */
	out = session("DELE 1\r\nRETR 1\r\n", &len, &status);
	CHECK(
	    strcmp(after_greeting(out),
		"+OK message 1 deleted\r\n-ERR message 1 already deleted\r\n") ==
	    0);
	free(out);
	out = session("RETR 1\r\nQUIT\r\n", &len, &status);
	CHECK(
	    strcmp(after_greeting(out),
		"+OK message follows\r\nS: 2\r\n\r\n"
		"b\r\n.\r\n+OK BareMail POP3 signing off (0 messages deleted)\r\n") ==
	    0);
	free(out);
	/* Now flagged seen by the last QUIT. */
	out = session("UIDL\r\nQUIT\r\n", &len, &status);
	CHECK(strstr(out, "1 1700000002.M2P2Q2.host\r\n.\r\n") != NULL);
	free(out);
	{
		char	    path[PATH_MAX];
		struct stat st;

		tu_path(path, dir, "cur", "1700000002.M2P2Q2.host:2,S");
		CHECK(stat(path, &st) == 0);
	}
}

/*
 * Dots at the start of lines, in a message read whole: its first byte,
 * after a blank line, a lone dot, "..", and dots elsewhere (not doubled).
 * TOP stuffs the lines it sends and stops where it should.
 */
static void
test_dots(void)
{
	static const char msg[] = ".a: b\n\n.\n..x\ny.z.\n.\r\n.";
	size_t		  len;
	int		  status;
	char		 *out;

	put("1700000003.M3P3Q3.host:2,S", msg, sizeof(msg) - 1);
	out =
	    session("RETR 2\r\nTOP 2 1\r\nTOP 2 0\r\nQUIT\r\n", &len, &status);
	CHECK(
	    strcmp(after_greeting(out),
		"+OK message follows\r\n"
		"..a: b\r\n\r\n..\r\n...x\r\ny.z.\r\n..\r\n..\r\n"
		".\r\n"
		"+OK message follows\r\n..a: b\r\n\r\n..\r\n.\r\n"
		"+OK message follows\r\n..a: b\r\n\r\n.\r\n"
		"+OK BareMail POP3 signing off (0 messages deleted)\r\n") == 0);
	CHECK(status == 0);
	free(out);
	/* The next test starts from an empty maildir. */
	out = session("DELE 1\r\nDELE 2\r\nQUIT\r\n", &len, &status);
	free(out);
}

int
main(void)
{
	log_init("test-pop3-session", LOG_WARNING);
	config_defaults(&cfg);
	cfg.pop3_timeout = 10;
	tu_mkdtemp(dir, sizeof(dir));
	{
		struct maildir md; /* makes tmp/ new/ cur/ */

		CHECK(maildir_open(&md, dir) == 0);
		maildir_close(&md);
	}
	snprintf(cfg.maildir, sizeof(cfg.maildir), "%s", dir);
	test_chunk_boundaries();
	test_sessions_share_nothing();
	test_dots();
	tu_rmrf(dir);
	return CHECK_DONE();
}
