/* Tests smtp-session/smtp-data.c: the DATA/BDAT byte machine. */
#include <string.h>

#include "check.h"
#include "smtp-private.h"

struct sink {
	char   buf[8192];
	size_t len;
};

static int
sink_put(void *arg, const char *buf, size_t len)
{
	struct sink *s = arg;

	CHECK(s->len + len <= sizeof s->buf);
	if (s->len + len > sizeof s->buf)
		return -1;
	memcpy(s->buf + s->len, buf, len);
	s->len += len;
	return 0;
}

/*
 * Feeds in (inlen bytes) in pieces of step; returns the offset just past
 * the end of DATA, or -1 when the data never ended.  Output in *s.
 */
static long
run(struct sink *s, const char *in, size_t inlen, size_t step, bool dot,
    struct smtp_data *d)
{
	memset(s, 0, sizeof *s);
	smtp_data_init(d, dot);
	for (size_t i = 0; i < inlen; i += step) {
		size_t n = inlen - i < step ? inlen - i : step, used;
		int    r = smtp_data_feed(d, in + i, n, &used, sink_put, s);
		CHECK(r >= 0);
		if (r == 1)
			return (long)(i + used);
		CHECK(used == n);
	}
	if (!dot)
		smtp_data_finish(d, sink_put, s);
	return -1;
}

/* DATA: in ends at offset end (-1: never), storing want; all chunkings. */
static void
check_data(
    const char *in, size_t inlen, long end, const char *want, size_t wantlen)
{
	static const size_t steps[] = { 1, 2, 3, 5, 8192 };
	struct smtp_data    d;
	struct sink	    s;

	for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
		long got = run(&s, in, inlen, steps[k], true, &d);
		if (got != end || s.len != wantlen ||
		    memcmp(s.buf, want, wantlen) != 0) {
			fprintf(stderr,
			    "step %zu: end %ld (want %ld), "
			    "stored [%.*s] (want [%.*s])\n",
			    steps[k], got, end, (int)s.len, s.buf, (int)wantlen,
			    want);
			CHECK(!"DATA machine");
		}
	}
}

/* rest: what must be left unread after the end, or NULL: no end. */
#define DATA(in, rest, want)                                             \
	check_data((in), sizeof(in) - 1,                                 \
	    (rest) == NULL                                               \
		? -1                                                     \
		: (long)(sizeof(in) - 1 - strlen((rest) ? (rest) : "")), \
	    (want), sizeof(want) - 1)

static void
test_crlf_end(void)
{
	DATA("a\r\n.\r\n", "", "a\n");
	DATA(".\r\n", "", "");
	DATA("a\r\n.\r\nMAIL FROM:<x>\r\n", "MAIL FROM:<x>\r\n", "a\n");
	DATA("Subject: x\r\n\r\nbody\r\n", NULL, "Subject: x\n\nbody\n");
}

static void
test_dot_unstuffing(void)
{
	DATA("..a\r\n..\r\n...\r\n.\r\n", "", ".a\n.\n..\n");
	DATA(
	    "x\r\n.a\r\n.\r\n", "", "x\na\n"); /* unstuffed by RFC 5321 4.5.2 */
	DATA("..\r\n.\r\n", "", ".\n");
}

static void
test_bare_lf_mode(void)
{
	/* First line ends in bare LF: LF . LF ends too. */
	DATA("a\nb\n.\nQUIT\n", "QUIT\n", "a\nb\n");
	DATA("a\n..b\n.\n", "", "a\n.b\n");
	DATA(".\n", "", "");
	/* CRLF . CRLF still ends a bare-LF message. */
	DATA("a\nb\r\n.\r\n", "", "a\nb\n");
	/* Mixes are content, even in bare-LF mode. */
	DATA("a\nb\r\n.\nc\n.\n", "", "a\nb\n.\nc\n");
	DATA("a\nb\n.\r\nc\n.\n", "", "a\nb\n.\nc\n");
}

static void
test_smuggling_is_content(void)
{
	/* A CRLF message: none of these ends it. */
	DATA("a\r\n\n.\nMAIL\r\n.\r\n", "", "a\n\n.\nMAIL\n");
	DATA("a\r\nb\n.\r\nc\r\n.\r\n", "", "a\nb\n.\nc\n");
	DATA("a\r\nb\r\n.\nc\r\n.\r\n", "", "a\nb\n.\nc\n");
	DATA("a\r\nb\r.\rc\r\n.\r\n", "", "a\nb\r.\rc\n");
	DATA("a\r\nb\r\n.\rc\r\n.\r\n", "", "a\nb\n\rc\n");
	DATA("a\r\n\0.\r\nb\r\n.\r\n", "", "a\n\0.\nb\n");
	DATA("a\r\n \r\n.\r\n", "", "a\n \n");
	DATA("a\r\n.\r\r\nb\r\n.\r\n", "", "a\n\r\nb\n");
}

static void
test_bare_cr_kept(void)
{
	DATA("a\rb\r\r\n.\r\n", "", "a\rb\r\n");
	DATA("\r\r\n.\r\n", "", "\r\n");
}

static void
test_long_line_and_binary(void)
{
	char in[5000], want[5000];
	for (size_t i = 0; i < 3000; i++)
		in[i] = want[i] = (char)(0x80 + i % 100);
	static const char end[5] = { '\r', '\n', '.', '\r', '\n' };
	memcpy(in + 3000, end, sizeof end);
	want[3000] = '\n';
	check_data(in, 3005, 3005, want, 3001);
}

static void
test_wire_size(void)
{
	struct smtp_data d;
	struct sink	 s;

	run(&s, "ab\r\n..c\r\n.\r\n", 12, 4, true, &d);
	CHECK(
	    d.wire == 8); /* "ab\r\n.c\r\n": CRLF counted as 2, stuffing not */
}

static void
test_bdat(void)
{
	struct smtp_data  d;
	struct sink	  s;
	static const char in[] = "a\r\n.\r\nb\rc\n.\n\r";

	for (size_t step = 1; step < 20; step++) {
		CHECK(run(&s, in, sizeof in - 1, step, false, &d) == -1);
		CHECK(
		    s.len == 11 && memcmp(s.buf, "a\n.\nb\rc\n.\n\r", 11) == 0);
		CHECK(d.wire == sizeof in - 1);
	}
}

int
main(void)
{
	test_crlf_end();
	test_dot_unstuffing();
	test_bare_lf_mode();
	test_smuggling_is_content();
	test_bare_cr_kept();
	test_long_line_and_binary();
	test_wire_size();
	test_bdat();
	return CHECK_DONE();
}
