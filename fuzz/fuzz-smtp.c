/*
 * fuzz-smtp: a whole ESMTP session, in process, delivering into a scratch
 * maildir on tmpfs.  The input is a mode byte and the client's bytes (see
 * fuzz-common.h): commands, DATA and BDAT contents, pipelined in chunks
 * of chosen sizes, ending in EOF or a stall (timeout).
 *
 * Checks, besides memory safety and leaks:
 *  - the greeting is 220; every reply line is "ddd" + ' ' or '-' + text +
 *    CRLF, at most 512 octets, with no NUL and no bare CR or LF;
 *  - exactly as many files reach new/ as "250 ... queued as" replies went
 *    out, never more than DATA (354) and BDAT ... LAST transactions;
 *  - nothing is left in tmp/, whether the session returned or left
 *    through session_exit();
 *  - the trace fields on top of each stored message are well formed:
 *    envelope addresses cannot end a field early or add one (header
 *    injection through CR, LF or NUL in MAIL FROM / RCPT TO);
 *  - a normal return closes every descriptor the session opened;
 *  - STARTTLS is not offered without a certificate.
 * TLS is fuzz-tls.c's stand-in: STARTTLS and implicit TLS succeed or fail
 * as the input's size says, and after them the bytes go on unchanged.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fuzz-common.h"
#include "fuzz-tls.h"
#include "maildir.h"
#include "session-config.h"
#include "session-log.h"
#include "smtp-session.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct session_config cfg;
static struct maildir	     md;
static char		     msgbuf[64 * 1024];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[512];

	(void)argc;
	(void)argv;
	log_init("fuzz-smtp", -1);
	config_defaults(&cfg);
	snprintf(cfg.hostname, sizeof(cfg.hostname), "fuzz.example");
	/* Small limits, so that the fuzzer reaches them. */
	cfg.max_message_size = 16384;
	cfg.max_recipients = 5;
	cfg.smtp_timeout = 300;
	/* No disk floor: a small /dev/shm (64 MB in a container) would get
	 * every MAIL a 452 and the fuzzer would never reach DATA. */
	cfg.has_min_free = true;
	cfg.min_free = 0;
	snprintf(path, sizeof(path), "%s/Maildir", fuzz_scratch_dir());
	snprintf(cfg.maildir, sizeof(cfg.maildir), "%s", path);
	if (maildir_open(&md, path) != 0)
		fuzz_fail("maildir_open %s: %s", path, strerror(errno));
	fuzz_input_set(NULL, 0);
	fuzz_output_fd();
	fuzz_hook_exit();
	return 0;
}

/* Checks every reply line; returns how many said "queued" and "354". */
static void
check_replies(const char *out, size_t len, size_t *queued_r, size_t *data_r)
{
	size_t i = 0;

	if (len < 4 || memcmp(out, "220 ", 4) != 0)
		fuzz_fail("no 220 greeting");
	*queued_r = *data_r = 0;
	while (i < len) {
		const char *line = out + i;
		const char *lf = memchr(line, '\n', len - i);
		size_t	    n = lf != NULL ? (size_t)(lf - line) + 1 : 0;

		if (n == 0)
			fuzz_fail("reply without line end at %zu", i);
		if (n < 6 || line[n - 2] != '\r')
			fuzz_fail("reply line not ending in CRLF at %zu", i);
		if (n > 512)
			fuzz_fail("reply line of %zu octets", n);
		if (line[0] < '2' || line[0] > '5' || line[1] < '0' ||
		    line[1] > '5' || line[2] < '0' || line[2] > '9' ||
		    (line[3] != ' ' && line[3] != '-'))
			fuzz_fail("malformed reply line at %zu: %.*s", i,
			    (int)n - 2, line);
		if (memchr(line, '\0', n) != NULL ||
		    memchr(line, '\r', n - 2) != NULL)
			fuzz_fail("NUL or CR inside a reply line at %zu", i);
		if (strncmp(line, "250 2.0.0 Ok: queued as ", 24) == 0)
			(*queued_r)++;
		if (strncmp(line, "354 ", 4) == 0)
			(*data_r)++;
		i += n;
	}
}

/* Counts "BDAT <n> LAST" commands the client sent, loosely (an upper bound). */
static size_t
count_bdat_last(const uint8_t *data, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i + 4 <= size; i++)
		if (strncasecmp((const char *)data + i, "LAST", 4) == 0)
			n++;
	return n;
}

/*
 * The trace block: "Return-Path: <...>", "X-Original-To: ..." and its
 * folded lines, "Received: ..." and its folded lines, then the client's
 * content.  Each line of the block holds no CR or NUL.
 */
static void
check_trace(const char *name, const char *m, size_t len)
{
	enum {
		T_RETURN_PATH,
		T_ORIGINAL_TO,
		T_RECEIVED
	} st = T_RETURN_PATH;
	size_t i = 0;

	while (i < len) {
		const char *line = m + i;
		const char *lf = memchr(line, '\n', len - i);
		size_t	    n = lf == NULL ? len - i : (size_t)(lf - line);
		bool	    cont = n > 0 && (line[0] == ' ' || line[0] == '\t');

		switch (st) {
		case T_RETURN_PATH: /* the first line, alone */
			if (strncmp(line, "Return-Path: <", 14) != 0 ||
			    line[n - 1] != '>')
				fuzz_fail(
				    "%s: first line is not Return-Path", name);
			st = T_ORIGINAL_TO;
			break;
		case T_ORIGINAL_TO: /* X-Original-To:, folded */
			if (strncmp(line, "Received: ", 10) == 0)
				st = T_RECEIVED;
			else if (strncmp(line, "X-Original-To: ", 15) != 0 &&
			    !cont)
				fuzz_fail("%s: unexpected trace line: %.*s",
				    name, (int)n, line);
			break;
		case T_RECEIVED: /* Received:, folded; then content */
			if (!cont)
				return;
			break;
		}
		if (memchr(line, '\r', n) != NULL ||
		    memchr(line, '\0', n) != NULL)
			fuzz_fail("%s: CR or NUL in a trace field", name);
		if (lf == NULL)
			break;
		i += n + 1;
	}
	if (st != T_RECEIVED)
		fuzz_fail("%s: trace fields cut short", name);
}

/* Checks and removes every message in new/; returns how many there were. */
static size_t
check_messages(void)
{
	int	       fd = dup(md.newfd);
	DIR	      *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *e;
	size_t	       n = 0;

	if (d == NULL)
		fuzz_fail("fdopendir: %s", strerror(errno));
	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		ssize_t len;
		int	mfd;

		if (e->d_name[0] == '.')
			continue;
		mfd = openat(md.newfd, e->d_name, O_RDONLY | O_CLOEXEC);
		if (mfd < 0)
			fuzz_fail(
			    "open new/%s: %s", e->d_name, strerror(errno));
		len = read(mfd, msgbuf, sizeof(msgbuf));
		close(mfd);
		if (len < 0)
			fuzz_fail("read new/%s", e->d_name);
		check_trace(e->d_name, msgbuf, (size_t)len);
		if (unlinkat(md.newfd, e->d_name, 0) != 0)
			fuzz_fail("unlink new/%s", e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_conn *volatile c;
	volatile bool exited = false;
	const char   *out;
	size_t	      len, queued, datas, stored, n;
	char	      what[256];
	int	      fd;

	fuzz_input_set(data, size);
	fuzz_output_reset();
	fuzz_fds_snapshot();
	cfg.tls_mode = fuzz_tls_begin(size);
	c = smtp_conn_new(&cfg, &md, fuzz_input_fd(), fuzz_output_fd());
	if (c == NULL)
		fuzz_fail("smtp_conn_new: %s", strerror(errno));
	if (setjmp(fuzz_exit_jmp) == 0)
		smtp_session_run(c);
	else
		exited = true;
	smtp_conn_free(c);

	/* Left through session_exit(), the process would have ended here. */
	fd = fuzz_fds_check(exited, what, sizeof(what));
	if (fd != -1 && !exited)
		fuzz_fail("descriptor %d leaked (%s)", fd, what);

	out = fuzz_output(&len);
	check_replies(out, len, &queued, &datas);
	if (!fuzz_tls_available() && memmem(out, len, "250-STARTTLS\r\n", 14))
		fuzz_fail("STARTTLS offered without a certificate");
	if ((n = fuzz_count_dir(md.tmpfd)) != 0)
		fuzz_fail("%zu files left in tmp/", n);
	if (fuzz_count_dir(md.curfd) != 0)
		fuzz_fail("a file appeared in cur/");
	stored = check_messages();
	if (stored != queued)
		fuzz_fail(
		    "%zu messages stored, %zu acknowledged", stored, queued);
	if (queued > datas + count_bdat_last(data, size))
		fuzz_fail("%zu messages queued from %zu DATA and BDAT LAST",
		    queued, datas);
	return 0;
}
