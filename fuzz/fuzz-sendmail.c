/*
 * fuzz-sendmail: baremail-sendmail's command line and message parsers,
 * which read whatever a cron job or a script hands them.
 *
 * Input: NUL-separated arguments, then two NULs, then the message (no
 * double NUL: the whole input is the message, with "-t -i").  The message
 * is fed in chunks whose size its first byte chooses.
 *
 * Checks, besides memory safety and leaks: argument parsing returns 0 or
 * -1 and every recipient it returns is one of the arguments (or inside
 * one); the input reader turns CRLF into LF and, without -i, stops at a
 * lone "." line that it never stores; the built header starts with
 * Received:, never keeps Bcc: under -t, and no collected recipient holds
 * CR, LF or NUL (it becomes an envelope address and an X-Original-To:).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz-common.h"
#include "sendmail.h"
#include "session-log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 64
#define MAX_MSG	 16384

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz-sendmail", -1);
	return 0;
}

static bool
inside_args(const char *p, char **argv, int argc)
{
	for (int i = 0; i < argc; i++)
		if (p >= argv[i] && p <= argv[i] + strlen(argv[i]))
			return true;
	return false;
}

static void
check_no_ctl(const char *what, const char *s)
{
	if (strpbrk(s, "\r\n") != NULL)
		fuzz_fail("%s holds CR or LF: \"%s\"", what, s);
}

/* True when the header section holds a field named name (case-insensitive). */
static bool
has_field(const char *h, size_t len, const char *name)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < len;) {
		const char *lf = memchr(h + i, '\n', len - i);
		size_t	    n = lf == NULL ? len - i : (size_t)(lf - (h + i));

		if (n == 0)
			break; /* the empty line: the body follows */
		if (n > nl && strncasecmp(h + i, name, nl) == 0 &&
		    (h[i + nl] == ':' || h[i + nl] == ' ' || h[i + nl] == '\t'))
			return true;
		i += n + 1;
	}
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		      *copy, *argv[MAX_ARGS + 2], err[256];
	const char	      *msg;
	size_t		       msglen, chunk, off;
	int		       argc = 0, rc;
	struct sendmail_args   a;
	struct sendmail_input  in;
	struct sendmail_submit s;
	struct sendmail_msg    m;
	struct sm_addrs	       env = { 0 };
	struct sm_buf	       trace = { 0 };
	const uint8_t	      *sep = NULL;

	/* A NUL-terminated copy, so that arguments are C strings. */
	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (size_t i = 0; i + 1 < size; i++)
		if (data[i] == 0 && data[i + 1] == 0) {
			sep = data + i;
			break;
		}
	argv[argc++] = (char *)"sendmail";
	if (sep == NULL) {
		argv[argc++] = (char *)"-t";
		argv[argc++] = (char *)"-i";
		msg = copy;
		msglen = size;
	} else {
		size_t alen = (size_t)(sep - data);

		for (size_t i = 0; i < alen && argc < MAX_ARGS;) {
			argv[argc++] = copy + i;
			i += strlen(copy + i) + 1;
		}
		msg = copy + alen + 2;
		msglen = size - alen - 2;
	}
	argv[argc] = NULL;

	memset(&a, 0, sizeof(a));
	rc = sendmail_args_parse(&a, argc, argv, err, sizeof(err));
	if (rc != 0 && rc != -1)
		fuzz_fail("sendmail_args_parse returned %d", rc);
	if (rc == -1) {
		if (memchr(err, '\0', sizeof(err)) == NULL)
			fuzz_fail("error message not terminated");
		sendmail_args_free(&a);
		free(copy);
		return 0;
	}
	if (a.nrcpts > (size_t)argc)
		fuzz_fail("%zu recipients from %d arguments", a.nrcpts, argc);
	for (size_t i = 0; i < a.nrcpts; i++)
		if (!inside_args(a.rcpts[i], argv, argc))
			fuzz_fail("recipient %zu does not come from argv", i);
	if (a.has_sender &&
	    (a.sender == NULL || !inside_args(a.sender, argv, argc)))
		fuzz_fail("sender does not come from argv");

	/* The message, in chunks. */
	sendmail_input_init(&in, a.ignore_dots, MAX_MSG);
	chunk = msglen > 0 ? 1 + (unsigned char)msg[0] % 97 : 1;
	for (off = 0; off < msglen && !in.done; off += chunk) {
		size_t n = msglen - off < chunk ? msglen - off : chunk;

		if (sendmail_input_feed(&in, msg + off, n) != 0)
			fuzz_fail("sendmail_input_feed failed");
	}
	if (sendmail_input_finish(&in) != 0)
		fuzz_fail("sendmail_input_finish failed");
	if (in.msg.len > MAX_MSG + 1)
		fuzz_fail("%zu bytes kept, limit %d", in.msg.len, MAX_MSG);
	/*
	 * XXX a CR that ends the input gets its LF from finish() and stays
	 * a CRLF: harmless (POP3 serves CRLF anyway), so not checked.
	 */
	if (in.msg.len > 2 &&
	    memmem(in.msg.p, in.msg.len - 2, "\r\n", 2) != NULL)
		fuzz_fail("CRLF kept in the stored message");
	if (!a.ignore_dots && in.msg.len > 0 &&
	    ((in.msg.len >= 2 && memcmp(in.msg.p, ".\n", 2) == 0) ||
		memmem(in.msg.p, in.msg.len, "\n.\n", 3) != NULL))
		fuzz_fail("a lone dot line was stored without -i");

	/* The header pass. */
	for (size_t i = 0; i < a.nrcpts; i++) {
		char q[512];

		if (sendmail_addr_qualify(
			a.rcpts[i], "fuzz.example", q, sizeof(q)) == 0) {
			check_no_ctl("qualified recipient", q);
			if (sm_addrs_add(&env, q, strlen(q)) != 0)
				fuzz_fail("out of memory");
		}
	}
	memset(&s, 0, sizeof(s));
	s.host = "fuzz.example";
	s.user = "cron";
	s.uid = 1000;
	s.from = "Cron Daemon <cron@fuzz.example>";
	s.extract = a.extract;
	s.now = 1764000000;
	if (sendmail_msg_build(&m, in.msg.p != NULL ? in.msg.p : "", in.msg.len,
		&s, &env) != 0)
		fuzz_fail("sendmail_msg_build failed");
	if (m.head.len < 10 || strncmp(m.head.p, "Received: ", 10) != 0)
		fuzz_fail("the header does not start with Received:");
	if (a.extract && has_field(m.head.p, m.head.len, "Bcc"))
		fuzz_fail("Bcc: kept under -t");
	for (size_t i = 0; i < m.rcpts.n; i++) {
		check_no_ctl("recipient from the header", m.rcpts.v[i]);
		if (strlen(m.rcpts.v[i]) == 0)
			fuzz_fail("empty recipient collected");
	}
	if (sendmail_trace(&trace, a.has_sender ? a.sender : "",
		m.rcpts.n > 0 ? &m.rcpts : &env) != 0)
		fuzz_fail("sendmail_trace failed");

	sm_buf_free(&trace);
	sendmail_msg_free(&m);
	sm_addrs_free(&env);
	sm_buf_free(&in.msg);
	sendmail_args_free(&a);
	free(copy);
	return 0;
}
