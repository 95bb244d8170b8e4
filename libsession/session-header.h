/*
 * Header fix-up for submitted messages, shared by smtp-session and
 * baremail-sendmail: adds Date: and Message-ID: (and, if asked, From:)
 * when the message lacks them, as a submission agent does for the lazy
 * daemons that leave them out.
 *
 * It is a streaming filter: bytes go in with header_fix_write() in chunks
 * of any size and come out through the caller's emit() callback, in order,
 * with the missing fields inserted right before the empty line that ends
 * the header section.  Memory is a few hundred bytes whatever the message
 * size; once the header section is over, each chunk is passed on in one
 * emit() call.
 *
 * What counts as the header section: lines of the form "Name: value"
 * (name in 0x21..0x7E without ':', optional spaces before the colon), and
 * their continuation lines (starting with a space or tab).  It ends at an
 * empty line ("\n" or "\r\n"), or at the first line that is not a header
 * field (a message with no headers at all, or a body with no empty line
 * before it): there the missing fields and an empty line are inserted, so
 * that line starts the body intact.  When the input ends inside the header
 * section, the missing fields are appended at the end (after a line end,
 * added if the last line lacked one).  Lines may end in LF or CRLF; the
 * inserted fields use the line end of the message's first line.
 */
#ifndef SESSION_HEADER_H
#define SESSION_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define HEADER_DATE_MAX \
	40 /* "Tue, 24 Nov 2026 04:03:04 +0000" + NUL, with room */
#define HEADER_MSGID_MAX 320 /* "<...@hostname>" + NUL */
/*
 * Longest start of a line held to tell a field from body, bytes: a line
 * is at most 998 (RFC 5322 2.1.1), so a longer name without its colon is
 * no field.
 */
#define HEADER_HOLD 998

/*
 * The header field-name rule (RFC 5322 3.6.8): 0x21..0x7E without ':'.
 * Blanks may stand between the name and its colon (obsolete syntax, still
 * sent).  Used by header_fix and by baremail-sendmail's header pass.
 */
bool header_name_char(unsigned char c);

/*
 * Formats t as an RFC 5322 date-time in local time with a numeric zone,
 * e.g. "Tue, 24 Nov 2026 04:03:04 +0100", independent of the locale.
 * Returns the length written (buf holds at least HEADER_DATE_MAX bytes),
 * or 0 when t cannot be converted.
 */
size_t header_date(time_t t, char *buf, size_t len);

/*
 * Writes a new Message-ID, with its angle brackets, "<time.usec.pid.
 * counter.random@host>" into buf (at least HEADER_MSGID_MAX bytes).  A host
 * that is empty or does not fit becomes "localhost".  Returns the length.
 */
size_t header_msgid(const char *host, char *buf, size_t len);

/* Where the filter's output goes; returns 0, or -1 (errno set) to stop. */
typedef int (*header_emit_fn)(void *arg, const void *buf, size_t len);

/* States of the header fix-up (session-header.c). */
enum header_fix_state {
	HF_ST_BOL,   /* at the start of a header-section line, nothing held */
	HF_ST_CR,    /* the line so far is one CR (held) */
	HF_ST_NAME,  /* holding a run of field-name characters */
	HF_ST_WSP,   /* holding a name and blanks, waiting for the colon */
	HF_ST_FIELD, /* inside a field (or continuation) line, passing through */
	HF_ST_BODY,  /* the header section is over: pass everything through */
};

/* The filter.  All fields are private except the has_* results. */
struct header_fix {
	header_emit_fn emit;
	void	      *arg;
	const char    *host; /* for Message-ID */
	const char    *from; /* From: value to add when missing, or NULL */
	enum header_fix_state state;
	bool		      crlf;	  /* first line ended in CRLF */
	bool		      seen_eol;	  /* a line end has been seen */
	bool		      first_line; /* still on the first line */
	bool   prev_cr;	 /* a field line's last byte so far was CR */
	bool   has_date; /* results: which fields the message had */
	bool   has_msgid;
	bool   has_from;
	size_t hold_len; /* start of the current line, held back */
	char   hold[HEADER_HOLD + 4];
};

/*
 * Starts a filter writing to emit(arg, ...).  host is the name used in a
 * generated Message-ID.  from, when not NULL, is the value of a From:
 * field to add if the message has none (sendmail); smtp-session passes
 * NULL.  Both strings must outlive the filter.
 */
void header_fix_init(struct header_fix *h, const char *host, const char *from,
    header_emit_fn emit, void *arg);

/* Feeds len bytes of the message.  Returns 0, or -1 when emit failed. */
int header_fix_write(struct header_fix *h, const void *buf, size_t len);

/*
 * Ends the message: emits whatever is held back, and the missing fields
 * if the header section never ended.  Returns 0, or -1 when emit failed.
 */
int header_fix_finish(struct header_fix *h);

#endif
