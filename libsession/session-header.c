/*
 * The streaming Date:/Message-ID:/From: fix-up (see session-header.h).
 *
 * Only the start of each header line is looked at byte by byte: it is held
 * back until we know whether it starts a field (a name, optional blanks,
 * a colon), an empty line, a continuation, or something that is no header
 * at all.  The rest of a field line, and everything after the header
 * section, passes through in spans.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/time.h>
#include <unistd.h>

#include "session-header.h"

size_t
header_date(time_t t, char *buf, size_t len)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May",
		"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm	  tm;

	if (len == 0)
		return 0;
	buf[0] = '\0';
	if (localtime_r(&t, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11)
		return 0;
	long off = tm.tm_gmtoff / 60; /* minutes east of UTC */
	char sign = off < 0 ? '-' : '+';
	if (off < 0)
		off = -off;
	int n = snprintf(buf, len, "%s, %d %s %04d %02d:%02d:%02d %c%02ld%02ld",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, sign, off / 60, off % 60);
	if (n < 0 || (size_t)n >= len) {
		buf[0] = '\0';
		return 0;
	}
	return (size_t)n;
}

size_t
header_msgid(const char *host, char *buf, size_t len)
{
	/*
	 * Unique without coordination: time and pid tell processes apart,
	 * the counter tells messages of one process apart, and the random
	 * part covers a clock stepped back or a pid reused.
	 */
	static unsigned long counter;
	struct timeval	     tv;
	uint64_t	     rnd = 0;

	if (len == 0)
		return 0;
	gettimeofday(&tv, NULL);
	if (getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd)
		rnd ^= (uint64_t)tv.tv_usec * 0x9E3779B97F4A7C15ULL ^
		    (uint64_t)(uintptr_t)&rnd;
	counter++;
	if (host == NULL || *host == '\0')
		host = "localhost";
	for (int pass = 0; pass < 2; pass++) {
		int n = snprintf(buf, len, "<%lld.%06ld.%ld.%lu.%016llx@%s>",
		    (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(),
		    counter, (unsigned long long)rnd, host);
		if (n >= 0 && (size_t)n < len)
			return (size_t)n;
		host = "localhost";
	}
	buf[0] = '\0';
	return 0;
}

void
header_fix_init(struct header_fix *h, const char *host, const char *from,
    header_emit_fn emit, void *arg)
{
	memset(h, 0, sizeof *h);
	h->emit = emit;
	h->arg = arg;
	h->host = host;
	h->from = from;
	h->state = HF_ST_BOL;
	h->first_line = true;
}

bool
header_name_char(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != ':';
}

static int
emit(struct header_fix *h, const void *buf, size_t len)
{
	if (len == 0)
		return 0;
	return h->emit(h->arg, buf, len);
}

static int
emit_field(struct header_fix *h, const char *name, const char *value)
{
	char	    line[HEADER_MSGID_MAX + 400];
	const char *eol = h->crlf ? "\r\n" : "\n";
	int n = snprintf(line, sizeof line, "%s: %s%s", name, value, eol);

	if (n < 0 || (size_t)n >= sizeof line) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return emit(h, line, (size_t)n);
}

/* Emits the fields the message lacks; blank adds an empty line after them. */
static int
emit_missing(struct header_fix *h, bool blank)
{
	char value[HEADER_MSGID_MAX];

	if (!h->has_date) {
		header_date(time(NULL), value, sizeof value);
		if (emit_field(h, "Date", value) < 0)
			return -1;
	}
	if (!h->has_msgid) {
		header_msgid(h->host, value, sizeof value);
		if (emit_field(h, "Message-ID", value) < 0)
			return -1;
	}
	if (h->from != NULL && !h->has_from &&
	    emit_field(h, "From", h->from) < 0)
		return -1;
	if (blank && emit(h, h->crlf ? "\r\n" : "\n", h->crlf ? 2 : 1) < 0)
		return -1;
	return 0;
}

/* Notes which field the held name is; the hold ends in blanks and ':'. */
static void
classify(struct header_fix *h)
{
	size_t n = 0;

	while (n < h->hold_len && header_name_char((unsigned char)h->hold[n]))
		n++;
	if (n == 4 && strncasecmp(h->hold, "Date", 4) == 0)
		h->has_date = true;
	else if (n == 10 && strncasecmp(h->hold, "Message-ID", 10) == 0)
		h->has_msgid = true;
	else if (n == 4 && strncasecmp(h->hold, "From", 4) == 0)
		h->has_from = true;
}

/*
 * The current line is no header field: the header section ended without
 * an empty line.  Insert the missing fields and an empty line (only when
 * something is inserted, so a complete message is left as it came), then
 * the held bytes start the body.
 */
static int
not_a_header(struct header_fix *h)
{
	bool missing =
	    !h->has_date || !h->has_msgid || (h->from != NULL && !h->has_from);

	h->state = HF_ST_BODY;
	if (missing && emit_missing(h, true) < 0)
		return -1;
	size_t n = h->hold_len;
	h->hold_len = 0;
	return emit(h, h->hold, n);
}

/* A line end was passed on; cr tells whether it was CRLF. */
static void
saw_eol(struct header_fix *h, bool cr)
{
	if (!h->seen_eol) {
		h->seen_eol = true;
		h->crlf = cr;
	}
	h->first_line = false;
}

int
header_fix_write(struct header_fix *h, const void *vbuf, size_t len)
{
	const char *buf = vbuf;
	size_t	    i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)buf[i];

		switch (h->state) {
		case HF_ST_BODY:
			return emit(h, buf + i, len - i);
		case HF_ST_FIELD: {
			const char *nl = memchr(buf + i, '\n', len - i);
			size_t	    end = nl ? (size_t)(nl - buf) + 1 : len;
			bool	    cr;

			if (nl == NULL) {
				h->prev_cr = buf[len - 1] == '\r';
				if (emit(h, buf + i, len - i) < 0)
					return -1;
				return 0;
			}
			cr = end - i >= 2 ? buf[end - 2] == '\r' : h->prev_cr;
			if (emit(h, buf + i, end - i) < 0)
				return -1;
			saw_eol(h, cr);
			h->prev_cr = false;
			h->state = HF_ST_BOL;
			i = end;
			continue;
		}
		case HF_ST_BOL:
			if (c == '\n') {
				/* The empty line: the fields go right before it. */
				saw_eol(h, false);
				h->state = HF_ST_BODY;
				if (emit_missing(h, false) < 0)
					return -1;
				continue; /* the '\n' goes out as body */
			}
			if (c == '\r') {
				h->hold[h->hold_len++] = (char)c;
				h->state = HF_ST_CR;
			} else if ((c == ' ' || c == '\t') && !h->first_line) {
				h->state = HF_ST_FIELD; /* a continuation */
				continue;
			} else if (header_name_char(c)) {
				h->hold[h->hold_len++] = (char)c;
				h->state = HF_ST_NAME;
			} else if (not_a_header(h) < 0) {
				return -1;
			} else {
				continue;
			}
			break;
		case HF_ST_CR:
			if (c == '\n') {
				saw_eol(h, true);
				h->hold_len = 0;
				h->state = HF_ST_BODY;
				if (emit_missing(h, false) < 0 ||
				    emit(h, "\r", 1) < 0)
					return -1;
				continue;
			}
			if (not_a_header(h) < 0)
				return -1;
			continue;
		case HF_ST_NAME:
		case HF_ST_WSP:
			if (c == ':') {
				h->hold[h->hold_len++] = (char)c;
				classify(h);
				size_t n = h->hold_len;
				h->hold_len = 0;
				h->state = HF_ST_FIELD;
				if (emit(h, h->hold, n) < 0)
					return -1;
				break;
			}
			if (h->hold_len >= HEADER_HOLD) {
				/* Longer than a line may be: no field. */
				if (not_a_header(h) < 0)
					return -1;
				continue;
			}
			if (c == ' ' || c == '\t') {
				h->hold[h->hold_len++] = (char)c;
				h->state = HF_ST_WSP;
			} else if (h->state == HF_ST_NAME &&
			    header_name_char(c)) {
				h->hold[h->hold_len++] = (char)c;
			} else {
				if (not_a_header(h) < 0)
					return -1;
				continue;
			}
			break;
		}
		i++;
	}
	return 0;
}

int
header_fix_finish(struct header_fix *h)
{
	switch (h->state) {
	case HF_ST_BODY:
		return 0;
	case HF_ST_BOL:
		/* Headers only (or nothing at all): append the fields. */
		h->state = HF_ST_BODY;
		return emit_missing(h, false);
	case HF_ST_FIELD:
		/* The last field lacks its line end: give it one first. */
		h->state = HF_ST_BODY;
		if (emit(h, h->crlf ? "\r\n" : "\n", h->crlf ? 2 : 1) < 0)
			return -1;
		return emit_missing(h, false);
	default:
		/* A last line that never became a field: it is body. */
		return not_a_header(h);
	}
}
