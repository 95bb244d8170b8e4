/*
 * The CRLF view of a stored message, as POP3 serves it and as W= counts it.
 * conv, count and finish walk the same rules (one byte at a time, or line
 * by line where a buffer has LF line ends only), so the size in the name
 * is exactly the size RETR sends (before dot-stuffing).
 */
#include <string.h>

#include "maildir.h"

void
maildir_crlf_init(struct maildir_crlf *cx)
{
	memset(cx, 0, sizeof(*cx));
	cx->at_bol = true;
	cx->line_empty = true;
}

/*
 * One input byte: updates the state and returns how many bytes it becomes
 * (0 for NUL, 2 for a bare LF, else 1).  A NUL is treated as absent, so
 * "CR NUL LF" is still a CRLF.
 */
static inline unsigned
crlf_step(struct maildir_crlf *cx, unsigned char c)
{
	switch (c) {
	case '\0':
		return 0;
	case '\r':
		/* A line holding only a CR still counts as empty. */
		cx->line_empty = cx->at_bol;
		cx->at_bol = false;
		cx->prev_cr = true;
		cx->any = true;
		return 1;
	case '\n':
		if (cx->line_empty)
			cx->seen_blank = true;
		cx->any = true;
		cx->at_bol = true;
		cx->line_empty = true;
		if (cx->prev_cr) {
			cx->prev_cr = false;
			return 1;
		}
		return 2;
	default:
		cx->any = true;
		cx->at_bol = false;
		cx->line_empty = false;
		cx->prev_cr = false;
		return 1;
	}
}

/* NUL, LF and CR are the only bytes the rules look at. */
static inline bool
is_special(unsigned char c)
{
	return c <= '\r' &&
	    ((1u << c) & ((1u << '\0') | (1u << '\n') | (1u << '\r'))) != 0;
}

/* Length of the run of ordinary bytes at in; the state after it is known. */
static inline size_t
plain_run(struct maildir_crlf *cx, const char *in, size_t len)
{
	const uint64_t ones = UINT64_C(0x0101010101010101);
	size_t	       n = 0;

	/*
	 * Eight bytes at a time while none of them is special: a byte of v
	 * is zero exactly where (v - ones) & ~v has its high bit set.
	 */
	while (len - n >= 8) {
		uint64_t v, lf, cr, hit;

		memcpy(&v, in + n, 8);
		lf = v ^ (ones * '\n');
		cr = v ^ (ones * '\r');
		hit = ((v - ones) & ~v) | ((lf - ones) & ~lf) |
		    ((cr - ones) & ~cr);
		if ((hit & (ones * 0x80)) != 0)
			break;
		n += 8;
	}
	while (n < len && !is_special((unsigned char)in[n]))
		n++;
	if (n > 0) {
		/* What crlf_step() would leave after any ordinary byte. */
		cx->any = true;
		cx->at_bol = false;
		cx->line_empty = false;
		cx->prev_cr = false;
	}
	return n;
}

/*
 * Sixteen bytes at a time as the compiler's vectors (GCC and Clang: SSE2
 * on x86-64, NEON on arm64): a comparison sets a byte to 0xff where it
 * holds what is looked for, and 0 elsewhere.
 */
typedef unsigned char crlf_v16 __attribute__((vector_size(16)));

static const crlf_v16 LF16 = { '\n', '\n', '\n', '\n', '\n', '\n', '\n', '\n',
	'\n', '\n', '\n', '\n', '\n', '\n', '\n', '\n' };

/* How many bytes of in are LF, sixteen at a time. */
static size_t
count_lf(const char *in, size_t len)
{
	size_t n = 0, i = 0;

	while (len - i >= 16) {
		crlf_v16 v, sum = { 0 };

		/* A byte of sum counts up to 255 LFs, one block each. */
		for (int k = 0; k < 255 && len - i >= 16; k++, i += 16) {
			memcpy(&v, in + i, 16);
			sum -= (crlf_v16)(v == LF16);
		}
		for (int k = 0; k < 16; k++)
			n += sum[k];
	}
	for (; i < len; i++)
		n += in[i] == '\n';
	return n;
}

/*
 * The usual buffer: LF line ends, no CR and no NUL, and no CR pending
 * from the last one.  Then every LF becomes CRLF, a blank line is two
 * LFs in a row (or an LF at the start of a line), and the last byte alone
 * says where the next buffer starts.  Scanning this way is several times
 * quicker than the byte rules, and gives the same output and state.
 */
static bool
is_lf_only(const struct maildir_crlf *cx, const char *in, size_t len)
{
	return len > 0 && !cx->prev_cr && memchr(in, '\r', len) == NULL &&
	    memchr(in, '\0', len) == NULL;
}

/*
 * Whether an LF-only buffer holds an empty line (two LFs in a row, or
 * one at the start of a line): a few lines into a message, its header
 * ends.  Line by line: memmem() would go byte by byte.
 */
static bool
has_blank(const struct maildir_crlf *cx, const char *in, size_t len)
{
	const char *p = in, *end = in + len, *lf;

	if (cx->at_bol && in[0] == '\n')
		return true;
	while (
	    (lf = memchr(p, '\n', (size_t)(end - p))) != NULL && lf + 1 < end) {
		if (lf[1] == '\n')
			return true;
		p = lf + 1;
	}
	return false;
}

/* The state after an LF-only buffer (see is_lf_only()). */
static void
lf_only_state(struct maildir_crlf *cx, const char *in, size_t len, bool blank)
{
	cx->seen_blank = cx->seen_blank || blank;
	cx->any = true;
	cx->at_bol = in[len - 1] == '\n';
	cx->line_empty = cx->at_bol;
}

/* maildir_crlf_conv() of an LF-only buffer: line by line. */
static size_t
conv_lf_only(struct maildir_crlf *cx, const char *in, size_t len, char *out)
{
	const char *p = in, *end = in + len, *lf;
	size_t	    o = 0;
	/* An empty line is an LF where a line starts: seen on the way. */
	bool blank = cx->at_bol && in[0] == '\n';

	while ((lf = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (lf == p && p != in)
			blank = true;
		memcpy(out + o, p, (size_t)(lf - p));
		o += (size_t)(lf - p);
		out[o++] = '\r';
		out[o++] = '\n';
		p = lf + 1;
	}
	memcpy(out + o, p, (size_t)(end - p));
	lf_only_state(cx, in, len, blank);
	return o + (size_t)(end - p);
}

size_t
maildir_crlf_conv(
    struct maildir_crlf *cx, const char *in, size_t len, char *out)
{
	size_t i = 0, o = 0;

	if (is_lf_only(cx, in, len))
		return conv_lf_only(cx, in, len, out);
	while (i < len) {
		size_t	      n = plain_run(cx, in + i, len - i);
		unsigned char c;

		memcpy(out + o, in + i, n);
		o += n;
		i += n;
		if (i == len)
			break;
		c = (unsigned char)in[i++];
		switch (crlf_step(cx, c)) {
		case 0:
			break;
		case 2:
			out[o++] = '\r';
			/* FALLTHROUGH */
		default:
			out[o++] = (char)c;
		}
	}
	return o;
}

uint64_t
maildir_crlf_count(struct maildir_crlf *cx, const char *in, size_t len)
{
	uint64_t total = 0;
	size_t	 i = 0;

	if (is_lf_only(cx, in, len)) {
		lf_only_state(
		    cx, in, len, !cx->seen_blank && has_blank(cx, in, len));
		return len + count_lf(in, len);
	}
	while (i < len) {
		size_t n = plain_run(cx, in + i, len - i);

		total += n;
		i += n;
		if (i == len)
			break;
		total += crlf_step(cx, (unsigned char)in[i++]);
	}
	return total;
}

size_t
maildir_crlf_finish(struct maildir_crlf *cx, char *out)
{
	size_t o = 0;

	/* An empty message stays empty: there is no header to end. */
	if (!cx->any)
		return 0;
	if (!cx->at_bol) {
		/* A trailing CR is taken as the start of the line end. */
		if (!cx->prev_cr)
			out[o++] = '\r';
		out[o++] = '\n';
		if (cx->line_empty)
			cx->seen_blank = true;
		cx->at_bol = true;
		cx->line_empty = true;
		cx->prev_cr = false;
	}
	/* Headers only: add the empty line so TOP finds where they end. */
	if (!cx->seen_blank) {
		out[o++] = '\r';
		out[o++] = '\n';
		cx->seen_blank = true;
	}
	return o;
}
