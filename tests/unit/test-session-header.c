/* Tests libsession/session-header.c: the Date:/Message-ID: fix-up. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "session-header.h"

struct sink {
	char   buf[4096];
	size_t len;
	int    calls;
	int    fail_after; /* fail the call with this number, 0 = never */
};

static int
sink_emit(void *arg, const void *buf, size_t len)
{
	struct sink *s = arg;

	if (++s->calls == s->fail_after)
		return -1;
	CHECK(s->len + len < sizeof s->buf);
	if (s->len + len >= sizeof s->buf)
		return -1;
	memcpy(s->buf + s->len, buf, len);
	s->len += len;
	s->buf[s->len] = '\0';
	return 0;
}

/* Runs in through the filter in chunks of step bytes; the result in s. */
static int
run(struct sink *s, const char *in, size_t step, const char *from)
{
	struct header_fix h;
	size_t		  len = strlen(in);

	memset(s, 0, sizeof *s);
	header_fix_init(&h, "host.example", from, sink_emit, s);
	for (size_t i = 0; i < len; i += step) {
		size_t n = len - i < step ? len - i : step;
		if (header_fix_write(&h, in + i, n) < 0)
			return -1;
	}
	return header_fix_finish(&h);
}

/* Output with generated Date:/Message-ID: values replaced by "X". */
static const char *
masked(struct sink *s)
{
	static char out[4096];
	const char *p = s->buf;
	size_t	    o = 0;

	while (*p != '\0' && o < sizeof out - 8) {
		bool   bol = p == s->buf || p[-1] == '\n';
		size_t eol = strcspn(p, "\r\n");
		bool   gen_date = strncmp(p, "Date: ", 6) == 0 &&
		    strspn(p + 6, "MTWFSondayuehrit") == 3 && p[9] == ',';
		bool gen_id = strncmp(p, "Message-ID: <", 13) == 0 &&
		    memmem(p, eol, "@host.example>", 14) != NULL;
		if (bol && (gen_date || gen_id)) {
			size_t n = (size_t)(strchr(p, ' ') - p) + 1;
			memcpy(out + o, p, n);
			o += n;
			out[o++] = 'X';
			p += eol;
			continue;
		}
		out[o++] = *p++;
	}
	out[o] = '\0';
	return out;
}

static void
check_all_steps(const char *in, const char *want, const char *from)
{
	static const size_t steps[] = { 1, 2, 3, 7, 4096 };
	struct sink	    s;

	for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
		CHECK(run(&s, in, steps[k], from) == 0);
		const char *got = masked(&s);
		if (strcmp(got, want) != 0) {
			fprintf(stderr,
			    "step %zu: input [%s]\n got [%s]\nwant [%s]\n",
			    steps[k], in, got, want);
			CHECK(!"output differs");
		}
	}
}

static void
test_both_missing(void)
{
	check_all_steps("Subject: hi\n\nbody\n",
	    "Subject: hi\nDate: X\nMessage-ID: X\n\nbody\n", NULL);
	check_all_steps("Subject: hi\r\nTo: a\r\n\r\nbody\r\n",
	    "Subject: hi\r\nTo: a\r\nDate: X\r\nMessage-ID: X\r\n\r\nbody\r\n",
	    NULL);
}

static void
test_present_untouched(void)
{
	const char *m =
	    "date: Mon, 1 Jan 2024 00:00:00 +0000\n"
	    "MESSAGE-ID : <a@b>\nSubject: x\n\nDate: not a header\n";
	check_all_steps(m, m, NULL);
	check_all_steps("Subject: x\nDate: d\n\n",
	    "Subject: x\nDate: d\nMessage-ID: X\n\n", NULL);
	/* Resent-Date and X-Date are other fields. */
	check_all_steps("Resent-Date: d\nX-Message-ID: m\n\nb",
	    "Resent-Date: d\nX-Message-ID: m\nDate: X\nMessage-ID: X\n\nb",
	    NULL);
}

static void
test_continuation(void)
{
	check_all_steps("Subject: a\n b\n\tc\nDate: d\n\nx\n",
	    "Subject: a\n b\n\tc\nDate: d\nMessage-ID: X\n\nx\n", NULL);
	/* A folded line that looks like a field is still a continuation. */
	check_all_steps("Subject: a\n Date: d\n\n",
	    "Subject: a\n Date: d\nDate: X\nMessage-ID: X\n\n", NULL);
}

static void
test_no_header_section(void)
{
	/* A body with no headers: fields and an empty line before it. */
	check_all_steps(
	    "hello world\n", "Date: X\nMessage-ID: X\n\nhello world\n", NULL);
	check_all_steps(
	    " indented\n", "Date: X\nMessage-ID: X\n\n indented\n", NULL);
	check_all_steps(
	    "\n\nbody\n", "Date: X\nMessage-ID: X\n\n\nbody\n", NULL);
	/* Headers, then a line that is no field: the body starts there. */
	check_all_steps("Subject: s\nthis is body: yes\n",
	    "Subject: s\nDate: X\nMessage-ID: X\n\nthis is body: yes\n", NULL);
	/* Complete headers then a non-field line: left as it came. */
	check_all_steps("Date: d\nMessage-ID: m\nbody\n",
	    "Date: d\nMessage-ID: m\nbody\n", NULL);
	check_all_steps("\rx\n", "Date: X\nMessage-ID: X\n\n\rx\n", NULL);
}

static void
test_end_inside_headers(void)
{
	check_all_steps("", "Date: X\nMessage-ID: X\n", NULL);
	check_all_steps(
	    "Subject: s\n", "Subject: s\nDate: X\nMessage-ID: X\n", NULL);
	check_all_steps(
	    "Subject: s", "Subject: s\nDate: X\nMessage-ID: X\n", NULL);
	check_all_steps("Subject: s\r\nTo: t",
	    "Subject: s\r\nTo: t\r\nDate: X\r\nMessage-ID: X\r\n", NULL);
	check_all_steps("word", "Date: X\nMessage-ID: X\n\nword", NULL);
}

static void
test_from(void)
{
	check_all_steps("Subject: s\n\nb",
	    "Subject: s\nDate: X\nMessage-ID: X\nFrom: root@h\n\nb", "root@h");
	check_all_steps("from: me\nDate: d\nMessage-ID: m\n\nb",
	    "from: me\nDate: d\nMessage-ID: m\n\nb", "root@h");
}

static void
test_binary_and_long(void)
{
	char in[2000], want[2100];
	memset(in, 'a', sizeof in);
	static const char name[8] = { 'X', '-', 'L', 'o', 'n', 'g', ':', ' ' };
	memcpy(in, name, sizeof name);
	memcpy(in + 1990, "\n\n\x80\xff\n", 6);
	snprintf(want, sizeof want,
	    "%.1991sDate: X\nMessage-ID: X\n\n\x80\xff\n", in);
	check_all_steps(in, want, NULL);
	/* A name longer than the hold passes as some other field. */
	char lname[200];
	memset(lname, 'N', 150);
	strcpy(lname + 150, ": v\n\nb");
	char lwant[300];
	snprintf(
	    lwant, sizeof lwant, "%.154sDate: X\nMessage-ID: X\n\nb", lname);
	check_all_steps(lname, lwant, NULL);
	/*
	 * A first line of name characters without a colon is body however
	 * long (a separator line of a report sent without a header): it
	 * used to pass as a field once longer than 80 bytes, the missing
	 * fields and the empty line going in after it.
	 */
	static const size_t seps[] = { 79, 80, 81, 200, 997, 998, 999, 1500 };
	for (size_t k = 0; k < sizeof seps / sizeof seps[0]; k++) {
		char sep[1600], swant[1700];
		memset(sep, '=', seps[k]);
		strcpy(sep + seps[k], "\nreport\n");
		snprintf(
		    swant, sizeof swant, "Date: X\nMessage-ID: X\n\n%s", sep);
		check_all_steps(sep, swant, NULL);
	}
}

static void
test_emit_failure(void)
{
	struct sink	  s;
	struct header_fix h;

	memset(&s, 0, sizeof s);
	s.fail_after = 2;
	header_fix_init(&h, "h", NULL, sink_emit, &s);
	CHECK(header_fix_write(&h, "A: b\n\nbody", 10) < 0);
}

static void
test_date(void)
{
	char buf[HEADER_DATE_MAX];

	setenv("TZ", "UTC", 1);
	tzset();
	CHECK(header_date(0, buf, sizeof buf) == 30);
	CHECK(strcmp(buf, "Thu, 1 Jan 1970 00:00:00 +0000") == 0);
	setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
	tzset();
	CHECK(header_date(1719835200, buf, sizeof buf) >
	    0); /* 2024-07-01 12:00 UTC */
	CHECK(strcmp(buf, "Mon, 1 Jul 2024 14:00:00 +0200") == 0);
	setenv("TZ", "<-0330>3:30", 1);
	tzset();
	CHECK(header_date(1719835200, buf, sizeof buf) > 0);
	CHECK(strcmp(buf, "Mon, 1 Jul 2024 08:30:00 -0330") == 0);
	CHECK(header_date(0, buf, 10) == 0 && buf[0] == '\0');
}

static void
test_msgid(void)
{
	char a[HEADER_MSGID_MAX], b[HEADER_MSGID_MAX];

	CHECK(header_msgid("host.example", a, sizeof a) > 0);
	CHECK(header_msgid("host.example", b, sizeof b) > 0);
	CHECK(strcmp(a, b) != 0);
	CHECK(a[0] == '<' && a[strlen(a) - 1] == '>');
	CHECK(strstr(a, "@host.example>") != NULL);
	CHECK(strchr(a, ' ') == NULL);
	CHECK(header_msgid("", a, sizeof a) > 0 && strstr(a, "@localhost>"));
	char big[400];
	memset(big, 'h', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	CHECK(header_msgid(big, a, sizeof a) > 0 && strstr(a, "@localhost>"));
}

int
main(void)
{
	test_both_missing();
	test_present_untouched();
	test_continuation();
	test_no_header_section();
	test_end_inside_headers();
	test_from();
	test_binary_and_long();
	test_emit_failure();
	test_date();
	test_msgid();
	return CHECK_DONE();
}
