/* Tests for libmaildir/maildir-crlf.c: the rules, and conv == count. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "maildir.h"
#include "test-maildir-util.h"

/*
 * The rules written a second, independent way, over the whole message:
 * drop NULs, LF -> CRLF unless after CR, end the last line, then add an
 * empty line unless the output already has one.
 */
static size_t
reference(const char *in, size_t len, char *out)
{
	size_t o = 0, i;
	bool   blank;

	for (i = 0; i < len; i++) {
		if (in[i] == '\0')
			continue;
		if (in[i] == '\n' && (o == 0 || out[o - 1] != '\r'))
			out[o++] = '\r';
		out[o++] = in[i];
	}
	if (o == 0)
		return 0;
	if (out[o - 1] == '\r')
		out[o++] = '\n';
	else if (out[o - 1] != '\n') {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	blank = o >= 2 && out[0] == '\r' && out[1] == '\n';
	for (i = 2; !blank && i < o; i++)
		if (out[i - 2] == '\n' && out[i - 1] == '\r' && out[i] == '\n')
			blank = true;
	if (!blank) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	return o;
}

/* Converts in one call and compares with want. */
static bool
conv_is(const char *in, size_t len, const char *want)
{
	struct maildir_crlf cx, cy;
	char		    out[256];
	size_t		    n;
	uint64_t	    c;

	maildir_crlf_init(&cx);
	maildir_crlf_init(&cy);
	n = maildir_crlf_conv(&cx, in, len, out);
	n += maildir_crlf_finish(&cx, out + n);
	c = maildir_crlf_count(&cy, in, len);
	c += maildir_crlf_finish(&cy, out + n); /* scratch: after the result */
	if (n != strlen(want) || memcmp(out, want, n) != 0 || c != n) {
		fprintf(stderr,
		    "conv of %zu bytes gave %zu (count %llu), want %zu\n", len,
		    n, (unsigned long long)c, strlen(want));
		return false;
	}
	return true;
}

#define CONV_IS(lit, want) CHECK(conv_is(lit, sizeof(lit) - 1, want))

static void
test_rules(void)
{
	/* LF becomes CRLF, CRLF stays. */
	CONV_IS("A: b\n\nbody\n", "A: b\r\n\r\nbody\r\n");
	CONV_IS("A: b\r\n\r\nbody\r\n", "A: b\r\n\r\nbody\r\n");
	CONV_IS("A: b\r\n\nx\n", "A: b\r\n\r\nx\r\n");
	/* The last line gets a line end. */
	CONV_IS("A: b\n\nbody", "A: b\r\n\r\nbody\r\n");
	/* A trailing CR is read as the start of that line end. */
	CONV_IS("A: b\n\nbody\r", "A: b\r\n\r\nbody\r\n");
	/* No empty line: one is added, so TOP finds the end of the header. */
	CONV_IS("A: b\n", "A: b\r\n\r\n");
	CONV_IS("A: b", "A: b\r\n\r\n");
	CONV_IS("A: b\nC: d\r\n", "A: b\r\nC: d\r\n\r\n");
	/* NUL bytes are dropped, and do not split a CRLF. */
	CONV_IS("A:\0 b\n\n\0", "A: b\r\n\r\n");
	CONV_IS("A: b\r\0\n\r\n", "A: b\r\n\r\n");
	CONV_IS("\0\0\0", "");
	/* A line holding only CR before LF is an empty line. */
	CONV_IS("A: b\n\r\nx", "A: b\r\n\r\nx\r\n");
	/* CR CR LF is a line holding one CR: not empty. */
	CONV_IS("A: b\n\r\r\nx", "A: b\r\n\r\r\nx\r\n\r\n");
	/* A bare CR in a line is left alone. */
	CONV_IS("a\rb\n\n", "a\rb\r\n\r\n");
	/* Empty message: nothing; one empty line is already a split. */
	CONV_IS("", "");
	CONV_IS("\n", "\r\n");
	CONV_IS("\r", "\r\n");
	CONV_IS("\n\n", "\r\n\r\n");
	CONV_IS("\nbody", "\r\nbody\r\n");
}

/* Random messages over a small alphabet, cut at random points. */
static void
test_random_chunks(void)
{
	/* High-bit bytes that differ from a special one in one bit only. */
	static const char alpha[] = { '\r', '\n', '\0', 'a', '.', ' ', '\x8a',
		'\x8d', '\x80', '\xff', '\x0b', '\x0c', '\x01', '\x0e' };
	char		  in[600], want[1600], got[1600];

	for (int iter = 0; iter < 20000; iter++) {
		size_t len = tu_rand() % (iter < 1000 ? 8 : sizeof(in));
		struct maildir_crlf cx, cy;
		size_t		    wn, gn = 0, pos = 0;
		uint64_t	    cn = 0;

		/*
		 * Every other message has long runs of ordinary bytes; one in
		 * four has LF line ends only (the quick paths) but for a
		 * rare CR or NUL, half of those with lines of dozens of bytes
		 * (sixteen at a time) and half with short ones.
		 */
		for (size_t i = 0; i < len; i++)
			if (iter % 8 == 5 && tu_rand() % 200 != 0)
				in[i] = tu_rand() % 30 == 0 ? '\n' : 'a';
			else if (iter % 4 == 1 && tu_rand() % 200 != 0)
				in[i] = alpha[1 + 2 * (tu_rand() % 3)];
			else
				in[i] = iter % 2 == 0 || tu_rand() % 30 == 0
				    ? alpha[tu_rand() % sizeof(alpha)]
				    : alpha[3 +
					  tu_rand() % (sizeof(alpha) - 3)];
		wn = reference(in, len, want);
		maildir_crlf_init(&cx);
		maildir_crlf_init(&cy);
		while (pos < len) {
			size_t k = 1 + tu_rand() % (len - pos);

			if (tu_rand() % 3 == 0)
				k = 1 + tu_rand() % 3 <= len - pos
				    ? 1 + tu_rand() % 3
				    : len - pos;
			if (k > len - pos)
				k = len - pos;
			gn += maildir_crlf_conv(&cx, in + pos, k, got + gn);
			cn += maildir_crlf_count(&cy, in + pos, k);
			/* Empty chunks change nothing. */
			gn += maildir_crlf_conv(&cx, in + pos, 0, got + gn);
			pos += k;
		}
		gn += maildir_crlf_finish(&cx, got + gn);
		{
			char   tr[4];
			size_t tn = maildir_crlf_finish(&cy, tr);

			CHECK(tn <= 4);
			cn += tn;
		}
		if (gn != wn || memcmp(got, want, wn) != 0 || cn != wn) {
			CHECK(gn == wn && memcmp(got, want, wn) == 0);
			CHECK(cn == wn);
			fprintf(
			    stderr, "iteration %d, %zu bytes in\n", iter, len);
			break;
		}
		/* Never more than 2 * len out of conv, as the header says. */
		CHECK(gn <= 2 * len + 4);
	}
}

/*
 * Long LF-only buffers, where count sums its LFs in blocks: every byte an
 * LF (each lane counts past 255), and lines of every length up to 40.
 */
static void
test_long(void)
{
	static char in[20000], want[2 * sizeof(in) + 4], got[sizeof(want)];

	for (int kind = 0; kind < 2; kind++) {
		struct maildir_crlf cx, cy;
		size_t		    wn, gn;
		uint64_t	    cn;

		for (size_t i = 0, l = 0; i < sizeof(in); i++)
			if (kind == 0 || i % 41 == l) {
				in[i] = '\n';
				l = (l + 1) % 41;
			} else {
				in[i] = 'x';
			}
		wn = reference(in, sizeof(in), want);
		maildir_crlf_init(&cx);
		maildir_crlf_init(&cy);
		gn = maildir_crlf_conv(&cx, in, sizeof(in), got);
		gn += maildir_crlf_finish(&cx, got + gn);
		cn = maildir_crlf_count(&cy, in, sizeof(in));
		cn += maildir_crlf_finish(&cy, got + gn);
		CHECK(gn == wn && memcmp(got, want, wn) == 0 && cn == wn);
	}
}

int
main(void)
{
	test_rules();
	test_random_chunks();
	test_long();
	return CHECK_DONE();
}
