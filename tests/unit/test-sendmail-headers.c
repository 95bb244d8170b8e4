/* Tests sendmail/sendmail-headers.c: input, addresses, the header pass. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "sendmail.h"

/* Rewrites val and checks the result and the addresses found ("a|b"). */
static void
check_rewrite(const char *val, const char *want, const char *want_found)
{
	struct sm_buf	out = { 0 };
	struct sm_addrs found = { 0 };
	char		joined[600] = "";

	CHECK(sendmail_addr_rewrite(
		  val, strlen(val), "h.example", &out, &found) == 0);
	for (size_t i = 0; i < found.n; i++)
		snprintf(joined + strlen(joined),
		    sizeof joined - strlen(joined), "%s%s", i > 0 ? "|" : "",
		    found.v[i]);
	if (strcmp(out.p != NULL ? out.p : "", want) != 0 ||
	    strcmp(joined, want_found) != 0) {
		fprintf(stderr,
		    "rewrite [%s]\n got [%s] {%s}\nwant [%s] {%s}\n", val,
		    out.p, joined, want, want_found);
		CHECK(!"rewrite differs");
	}
	sm_buf_free(&out);
	sm_addrs_free(&found);
}

static void
test_rewrite(void)
{
	check_rewrite(" root\n", " root@h.example\n", "root@h.example");
	check_rewrite(" a@b.c", " a@b.c", "a@b.c");
	check_rewrite(" Cron Daemon <root>", " Cron Daemon <root@h.example>",
	    "root@h.example");
	check_rewrite(" root (Cron Daemon)", " root@h.example (Cron Daemon)",
	    "root@h.example");
	check_rewrite(" \"(Cron Daemon)\" <user>",
	    " \"(Cron Daemon)\" <user@h.example>", "user@h.example");
	check_rewrite(" a, b@x,\n\tc", " a@h.example, b@x,\n\tc@h.example",
	    "a@h.example|b@x|c@h.example");
	check_rewrite(
	    " undisclosed-recipients:;", " undisclosed-recipients:;", "");
	check_rewrite(" team: a, \"B x\" <b>; c",
	    " team: a@h.example, "
	    "\"B x\" <b@h.example>; c@h.example",
	    "a@h.example|b@h.example|c@h.example");
	check_rewrite(" <>", " <>", "");
	check_rewrite("", "", "");
	check_rewrite(" \"john doe\"", " \"john doe\"@h.example",
	    "\"john doe\"@h.example");
	check_rewrite(" \"a@b\" <x>", " \"a@b\" <x@h.example>", "x@h.example");
	check_rewrite(" (a (nested) c) root", " (a (nested) c) root@h.example",
	    "root@h.example");
	check_rewrite(" <@r1,@r2:u@h>", " <@r1,@r2:u@h>", "u@h");
	check_rewrite(" x@[10.0.0.1]", " x@[10.0.0.1]", "x@[10.0.0.1]");
	/* Broken input ends without running off the end. */
	check_rewrite(" \"open", " \"open@h.example", "\"open@h.example");
	check_rewrite(" (open root", " (open root", "");
	check_rewrite(" <root", " <root@h.example", "root@h.example");
	check_rewrite(" a>b", " a>b@h.example", "a>b@h.example");
	/*
	 * An unclosed quoted string or domain literal runs to the end of
	 * the field, its line end included: "@host" goes before that line
	 * end, never after it (where it would start the next field).
	 */
	check_rewrite(
	    " \"open <s>\n", " \"open <s>@h.example\n", "\"open <s>@h.example");
	check_rewrite(
	    " <\"open\r\n", " <\"open@h.example\r\n", "\"open@h.example");
	check_rewrite(" \"a\n b\n", " \"a\n b@h.example\n", "\"a b@h.example");
	check_rewrite(
	    " x [open \n", " x [open@h.example \n", "x[open@h.example");
	/* A folded quoted string: the address holds no line break. */
	check_rewrite(" \"a\r\n b\"@x", " \"a\r\n b\"@x", "\"a b\"@x");
}

static void
test_qualify(void)
{
	char buf[100];

	CHECK(sendmail_addr_qualify("root", "h", buf, sizeof buf) == 0 &&
	    strcmp(buf, "root@h") == 0);
	CHECK(sendmail_addr_qualify("<>", "h", buf, sizeof buf) == 0 &&
	    buf[0] == '\0');
	CHECK(sendmail_addr_qualify("", "h", buf, sizeof buf) == 0 &&
	    buf[0] == '\0');
	CHECK(sendmail_addr_qualify("Name <a@b>", "h", buf, sizeof buf) == 0 &&
	    strcmp(buf, "a@b") == 0);
	CHECK(sendmail_addr_qualify("<user>", "h", buf, sizeof buf) == 0 &&
	    strcmp(buf, "user@h") == 0);
	CHECK(sendmail_addr_qualify("averyverylongname", "h", buf, 5) < 0);
}

/* Feeds in in chunks of step bytes; returns the message read. */
static const char *
read_in(const char *in, size_t step, bool ignore_dots, size_t max, bool *done_r)
{
	static char	      out[1000];
	struct sendmail_input r;
	size_t		      len = strlen(in);

	sendmail_input_init(&r, ignore_dots, max);
	for (size_t i = 0; i < len && !r.done; i += step)
		CHECK(sendmail_input_feed(
			  &r, in + i, len - i < step ? len - i : step) == 0);
	CHECK(sendmail_input_finish(&r) == 0);
	snprintf(out, sizeof out, "%s%s", r.too_big ? "BIG:" : "",
	    r.msg.p != NULL ? r.msg.p : "");
	if (done_r != NULL)
		*done_r = r.done;
	sm_buf_free(&r.msg);
	return out;
}

static void
check_input(const char *in, bool ignore_dots, const char *want)
{
	static const size_t steps[] = { 1, 2, 3, 5, 1000 };

	for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
		const char *got =
		    read_in(in, steps[k], ignore_dots, 1 << 20, NULL);
		if (strcmp(got, want) != 0) {
			fprintf(stderr,
			    "step %zu: [%s]\n got [%s]\nwant [%s]\n", steps[k],
			    in, got, want);
			CHECK(!"input differs");
		}
	}
}

static void
test_input(void)
{
	bool done;

	check_input("a\n.\nb\n", false, "a\n");
	check_input("a\r\n.\r\nb\r\n", false, "a\n");
	check_input("a\n.\nb\n", true, "a\n.\nb\n");
	check_input(".\n", false, "");
	check_input("..\n.x\n. \n", false, "..\n.x\n. \n");
	check_input("a\r\nb\rc\r\n", false, "a\nb\rc\n");
	check_input("no end", false, "no end\n");
	check_input("a\n.", false, "a\n");
	check_input("a\n.\r", false, "a\n");
	check_input("a\n.", true, "a\n.\n");
	check_input("a\n.\rx\n", false, "a\n.\rx\n");
	check_input(
	    "a\n.\r\r\nb\n", false, "a\n"); /* CRs then LF: a "." line */
	check_input("x\r", false, "x\n");
	check_input("x\r\r\ny\r\rz\n", false, "x\ny\r\rz\n");
	check_input("", false, "");
	CHECK(strcmp(read_in("a\n.\nrest", 1, false, 100, &done), "a\n") == 0);
	CHECK(done);
	CHECK(strncmp(read_in("0123456789\n", 1000, false, 5, NULL),
		  "BIG:", 4) == 0);
	CHECK(strcmp(read_in("0123\n", 1000, false, 5, NULL), "0123\n") == 0);
}

/* Builds a message and returns head + body with the date fields masked. */
static const char *
build(const char *raw, bool extract, const char *rcpt, char *found,
    size_t foundlen)
{
	static char	       out[2000];
	struct sendmail_submit s = {
		.host = "h.example",
		.user = "us(er",
		.uid = 7,
		.from = "Me <me@h.example>",
		.extract = extract,
		.now = 0,
	};
	struct sm_addrs	    env = { 0 };
	struct sendmail_msg m;
	size_t		    o = 0;

	if (rcpt != NULL)
		CHECK(sm_addrs_add(&env, rcpt, strlen(rcpt)) == 0);
	CHECK(sendmail_msg_build(&m, raw, strlen(raw), &s, &env) == 0);
	/* Drop the lines whose values change: Date:, Message-ID:, the time. */
	for (const char *p = m.head.p; *p != '\0';) {
		size_t n = strcspn(p, "\n") + 1;
		if (strncmp(p, "Date: ", 6) == 0)
			o += (size_t)snprintf(
			    out + o, sizeof out - o, "Date: X\n");
		else if (strncmp(p, "Message-ID: ", 12) == 0)
			o += (size_t)snprintf(
			    out + o, sizeof out - o, "ID: X\n");
		else if (strncmp(p, "Received:", 9) != 0 && p[0] != '\t')
			o += (size_t)snprintf(
			    out + o, sizeof out - o, "%.*s", (int)n, p);
		p += n;
	}
	snprintf(out + o, sizeof out - o, "%.*s", (int)m.body_len, m.body);
	if (found != NULL) {
		found[0] = '\0';
		for (size_t i = 0; i < m.rcpts.n; i++)
			snprintf(found + strlen(found),
			    foundlen - strlen(found), "%s%s", i > 0 ? "|" : "",
			    m.rcpts.v[i]);
	}
	CHECK(strncmp(m.head.p,
		  "Received: (from us?er, uid 7)\n\tby h.example "
		  "(baremail-sendmail) with local",
		  60) == 0);
	sendmail_msg_free(&m);
	sm_addrs_free(&env);
	return out;
}

static void
check_build(
    const char *raw, bool extract, const char *want, const char *want_found)
{
	char	    found[300];
	const char *got = build(raw, extract, NULL, found, sizeof found);

	if (strcmp(got, want) != 0 || strcmp(found, want_found) != 0) {
		fprintf(stderr, "build [%s]\n got [%s] {%s}\nwant [%s] {%s}\n",
		    raw, got, found, want, want_found);
		CHECK(!"build differs");
	}
}

static void
test_build(void)
{
	check_build("To: root\nBcc: b\nSubject: s\n\nbody\n", true,
	    "To: root@h.example\nSubject: s\nDate: X\nID: X\n"
	    "From: Me <me@h.example>\n\nbody\n",
	    "root@h.example|b@h.example");
	/* Without -t: no recipients taken, Bcc: kept. */
	check_build("To: root\nBcc: b\n\nbody\n", false,
	    "To: root@h.example\nBcc: b@h.example\nDate: X\nID: X\n"
	    "From: Me <me@h.example>\n\nbody\n",
	    "");
	check_build("body only\n", false,
	    "Date: X\nID: X\nFrom: Me <me@h.example>\n\nbody only\n", "");
	check_build("", false, "Date: X\nID: X\nFrom: Me <me@h.example>\n", "");
	check_build("Subject: s\n", false,
	    "Subject: s\nDate: X\nID: X\nFrom: Me <me@h.example>\n", "");
	check_build("Subject: s\nnot a field\n", false,
	    "Subject: s\nDate: X\nID: X\nFrom: Me <me@h.example>\n\n"
	    "not a field\n",
	    "");
	check_build("From root Tue Nov 24 04:00:00 2026\nFrom: x@y\n"
		    "Date: d\nMessage-ID: <m@y>\n\nb\n",
	    false, "From: x@y\nDate: X\nID: X\n\nb\n", ""); /* one each: kept */
	/*
	 * A name no line can hold (998 bytes, RFC 5322) is no field: the
	 * body starts there, as header_fix decides too; one byte shorter
	 * is still a field.
	 */
	char raw[1200], want[1300];
	for (size_t len = 998; len <= 999; len++) {
		memset(raw, 'N', sizeof raw);
		memcpy(raw, "Subject: s\n", 11);
		snprintf(raw + 11 + len, sizeof raw - 11 - len,
		    ": v\nX: y\n\nbody\n");
		snprintf(want, sizeof want,
		    len == 998 ? "Subject: s\n%.*s: v\nX: y\nDate: X\nID: X\n"
				 "From: Me <me@h.example>\n\nbody\n"
			       : "Subject: s\nDate: X\nID: X\nFrom: Me "
				 "<me@h.example>\n\n%.*s: v\nX: y\n\nbody\n",
		    (int)len, raw + 11);
		check_build(raw, false, want, "");
	}
	/* With -t: a To: after such a line is body, no recipient. */
	memset(raw, 'N', 999);
	snprintf(raw + 999, sizeof raw - 999, ": v\nTo: root\n\nb\n");
	snprintf(want, sizeof want,
	    "Date: X\nID: X\nFrom: Me <me@h.example>\n\n%.999s: v\n"
	    "To: root\n\nb\n",
	    raw);
	check_build(raw, true, want, "");
	check_build("Subject: a\n Date: folded\nCc: x,\n y\n\n\n", true,
	    "Subject: a\n Date: folded\nCc: x@h.example,\n y@h.example\n"
	    "Date: X\nID: X\nFrom: Me <me@h.example>\n\n\n",
	    "x@h.example|y@h.example");

	/* Received: names the one recipient, or none. */
	struct sendmail_submit s = { .host = "h", .user = "u", .now = 0 };
	struct sm_addrs	       env = { 0 };
	struct sendmail_msg    m;
	CHECK(sm_addrs_add(&env, "a@h", 3) == 0);
	CHECK(sendmail_msg_build(&m, "\n", 1, &s, &env) == 0);
	CHECK(strstr(m.head.p, "\n\tfor <a@h>; ") != NULL);
	sendmail_msg_free(&m);
	CHECK(sm_addrs_add(&env, "b@h", 3) == 0);
	CHECK(sendmail_msg_build(&m, "\n", 1, &s, &env) == 0);
	CHECK(strstr(m.head.p, "for <") == NULL);
	CHECK(m.body_len == 0);
	sendmail_msg_free(&m);
	sm_addrs_free(&env);
}

static void
test_trace(void)
{
	struct sm_buf	b = { 0 };
	struct sm_addrs r = { 0 };

	CHECK(sm_addrs_add(&r, "a@example.com", 13) == 0);
	CHECK(sendmail_trace(&b, "", &r) == 0);
	CHECK(strcmp(b.p, "Return-Path: <>\nX-Original-To: a@example.com\n") ==
	    0);
	sm_buf_free(&b);
	for (int i = 0; i < 5; i++)
		CHECK(sm_addrs_add(&r, "someone.long@example.com", 24) == 0);
	CHECK(sendmail_trace(&b, "s@x", &r) == 0);
	CHECK(strstr(b.p, "someone.long@example.com,\n\tsomeone") != NULL);
	for (char *p = b.p, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1)
		CHECK(nl - p <= 78);
	sm_buf_free(&b);
	sm_addrs_free(&r);
}

int
main(void)
{
	test_rewrite();
	test_qualify();
	test_input();
	test_build();
	test_trace();
	return CHECK_DONE();
}
