/*
 * Addresses in a submitted message: bare addr-specs qualified with the
 * host in address fields and on the command line, -t's recipients found.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sendmail.h"

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Skips a comment (nested), quoted string or domain literal starting at
 * p[i]; returns the offset after it, or len when it is not closed.
 */
static size_t
skip_nested(const char *p, size_t i, size_t len)
{
	char open = p[i];
	char close = open == '(' ? ')' : open == '"' ? '"' : ']';
	int  depth = 1;

	for (i++; i < len; i++) {
		if (p[i] == '\\') {
			i++;
			continue;
		}
		if (p[i] == close) {
			if (--depth == 0)
				return i + 1;
		} else if (open == '(' && p[i] == '(') {
			depth++;
		}
	}
	return len;
}

/* One mailbox while it is being scanned. */
struct mbox_scan {
	struct sm_buf outside;	   /* addr-spec text outside <> */
	struct sm_buf inside;	   /* addr-spec text inside <> */
	size_t	      end_outside; /* where its last token ends */
	size_t	      end_inside;
	bool	      at_outside; /* an '@' outside quotes */
	bool	      at_inside;
	bool	      has_angle;
};

static void
mbox_reset(struct mbox_scan *m)
{
	m->outside.len = 0;
	m->inside.len = 0;
	m->end_outside = m->end_inside = 0;
	m->at_outside = m->at_inside = false;
	m->has_angle = false;
}

/*
 * A mailbox ended: records where "@host" goes (SIZE_MAX: nowhere) and
 * adds the address to found.
 */
static int
mbox_end(struct mbox_scan *m, const char *host, size_t *insert_r,
    struct sm_addrs *found)
{
	struct sm_buf *a = m->has_angle ? &m->inside : &m->outside;
	bool	       has_at = m->has_angle ? m->at_inside : m->at_outside;
	const char    *text = a->p;
	size_t	       len = a->len;

	*insert_r = SIZE_MAX;
	/* A source route "@a,@b:user@host" names user@host. */
	if (len > 0 && text[0] == '@') {
		const char *colon = memchr(text, ':', len);
		if (colon != NULL) {
			len -= (size_t)(colon + 1 - text);
			text = colon + 1;
		}
	}
	if (len == 0)
		return 0;
	if (!has_at)
		*insert_r = m->has_angle ? m->end_inside : m->end_outside;
	if (found == NULL)
		return 0;
	struct sm_buf full = { 0 };
	if (sm_buf_add(&full, text, len) < 0 ||
	    (!has_at &&
		(sm_buf_add(&full, "@", 1) < 0 ||
		    sm_buf_addstr(&full, host) < 0)) ||
	    sm_addrs_add(found, full.p, full.len) < 0) {
		sm_buf_free(&full);
		return -1;
	}
	sm_buf_free(&full);
	return 0;
}

/*
 * A mailbox ended (at a ',' or ';', or the value's end): copies the value
 * up to where "@host" goes, and that, into out; records the address.
 */
static int
mbox_close(struct mbox_scan *m, const char *val, const char *host,
    size_t *copied, struct sm_buf *out, struct sm_addrs *found)
{
	size_t at;

	if (mbox_end(m, host, &at, found) < 0)
		return -1;
	if (at != SIZE_MAX) {
		if (sm_buf_add(out, val + *copied, at - *copied) < 0 ||
		    sm_buf_add(out, "@", 1) < 0 || sm_buf_addstr(out, host) < 0)
			return -1;
		*copied = at;
	}
	mbox_reset(m);
	return 0;
}

/* Where the token at val[i] ends: quoted string, domain literal or text. */
static size_t
token_end(const char *val, size_t i, size_t len)
{
	size_t j = i;

	if (val[i] == '"' || val[i] == '[')
		return skip_nested(val, i, len);
	while (
	    j < len && !is_wsp(val[j]) && strchr("()<>,;:\"[", val[j]) == NULL)
		j++;
	return j == i ? j + 1 : j; /* a stray '>' is a token of its own */
}

/* Adds the token val[i..j) to the mailbox being scanned. */
static int
mbox_token(
    struct mbox_scan *m, bool in_angle, const char *val, size_t i, size_t j)
{
	bool	       at_sign;
	struct sm_buf *b = in_angle ? &m->inside : &m->outside;

	/*
	 * An unclosed quoted string or domain literal ran to the end of the
	 * value: its blanks and line end there are not the address's, and
	 * "@host" must go before them, not start the next line.
	 */
	while (j > i && is_wsp(val[j - 1]))
		j--;
	at_sign = val[i] != '"' && memchr(val + i, '@', j - i) != NULL;
	/* Unfolded: a quoted string's line break is no part of it. */
	for (size_t k = i; k < j; k++)
		if (val[k] != '\r' && val[k] != '\n' && val[k] != '\0' &&
		    sm_buf_add(b, val + k, 1) < 0)
			return -1;
	if (in_angle) {
		m->end_inside = j;
		m->at_inside |= at_sign;
	} else {
		m->end_outside = j;
		m->at_outside |= at_sign;
	}
	return 0;
}

int
sendmail_addr_rewrite(const char *val, size_t len, const char *host,
    struct sm_buf *out, struct sm_addrs *found)
{
	struct mbox_scan m = { 0 };
	size_t		 copied = 0, i = 0, j;
	bool		 in_angle = false;
	int		 r = -1;

	for (;;) {
		bool end = i >= len;
		char c = end ? '\0' : val[i];

		if (end || (!in_angle && (c == ',' || c == ';'))) {
			if (mbox_close(&m, val, host, &copied, out, found) < 0)
				goto out;
			if (end)
				break;
			i++;
		} else if (!in_angle && c == ':') {
			/* A group: what came before was its display name. */
			mbox_reset(&m);
			i++;
		} else if (c == '(') {
			i = skip_nested(val, i, len);
		} else if (is_wsp(c)) {
			i++;
		} else if (c == '<' && !in_angle) {
			in_angle = true;
			m.has_angle = true;
			m.inside.len = 0;
			m.at_inside = false;
			i++;
		} else if (c == '>' && in_angle) {
			in_angle = false;
			i++;
		} else {
			j = token_end(val, i, len);
			if (mbox_token(&m, in_angle, val, i, j) < 0)
				goto out;
			i = j;
		}
	}
	r = sm_buf_add(out, val + copied, len - copied);
out:
	sm_buf_free(&m.outside);
	sm_buf_free(&m.inside);
	return r;
}

int
sendmail_addr_qualify(const char *arg, const char *host, char *buf, size_t len)
{
	struct sm_buf	out = { 0 };
	struct sm_addrs found = { 0 };
	int		r = -1;

	if (sendmail_addr_rewrite(arg, strlen(arg), host, &out, &found) < 0)
		goto out;
	const char *a = found.n > 0 ? found.v[0] : "";
	if (strlen(a) >= len)
		goto out;
	memcpy(buf, a, strlen(a) + 1);
	r = 0;
out:
	sm_buf_free(&out);
	sm_addrs_free(&found);
	return r;
}
