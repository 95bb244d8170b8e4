/*
 * The message a sendmail caller hands us: reading it, and the header work
 * a submission agent does (Received:, -t, Bcc:, bare addresses).  Date:,
 * Message-ID: and From: are added by libsession's header_fix, the filter
 * smtp-session uses too.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sendmail.h"
#include "session-header.h"

/* ---- buffers ---- */

int
sm_buf_add(struct sm_buf *b, const void *data, size_t len)
{
	if (len > SIZE_MAX - b->len - 1) {
		errno = ENOMEM;
		return -1;
	}
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap != 0 ? b->cap : 256;
		while (cap < b->len + len + 1)
			cap = cap > SIZE_MAX / 2 ? b->len + len + 1 : cap * 2;
		char *p = realloc(b->p, cap);
		if (p == NULL)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	if (len > 0)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0'; /* for the reader's convenience, not counted */
	return 0;
}

int
sm_buf_addstr(struct sm_buf *b, const char *s)
{
	return sm_buf_add(b, s, strlen(s));
}

void
sm_buf_free(struct sm_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

int
sm_addrs_add(struct sm_addrs *l, const char *addr, size_t len)
{
	if (l->n == l->cap) {
		size_t cap = l->cap != 0 ? l->cap * 2 : 8;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	char *s = malloc(len + 1);
	if (s == NULL)
		return -1;
	memcpy(s, addr, len);
	s[len] = '\0';
	l->v[l->n++] = s;
	return 0;
}

void
sm_addrs_free(struct sm_addrs *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* ---- reading the message ---- */

void
sendmail_input_init(struct sendmail_input *in, bool ignore_dots, size_t max)
{
	memset(in, 0, sizeof(*in));
	in->ignore_dots = ignore_dots;
	in->max = max;
	in->state = SM_IN_BOL;
}

static int
in_put(struct sendmail_input *in, const char *p, size_t n)
{
	/* Past the limit, keep reading (the caller drains) but keep nothing. */
	if (in->too_big || n > in->max - in->msg.len) {
		in->too_big = true;
		return 0;
	}
	return sm_buf_add(&in->msg, p, n);
}

int
sendmail_input_feed(struct sendmail_input *in, const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len && !in->done) {
		char c = buf[i];

		switch (in->state) {
		case SM_IN_BOL:
			if (c == '.' && !in->ignore_dots) {
				in->state = SM_IN_DOT;
				i++;
				continue;
			}
			in->state = SM_IN_MID;
			continue;
		case SM_IN_DOT:
			if (c == '\n') {
				in->done = true;
				continue;
			}
			if (c == '\r') {
				in->state = SM_IN_DOTCR;
				in->crs = 1;
				i++;
				continue;
			}
			if (in_put(in, ".", 1) < 0)
				return -1;
			in->state = SM_IN_MID;
			continue;
		case SM_IN_DOTCR:
			/* CRs before a LF are all line end, here as below. */
			if (c == '\n') {
				in->done = true;
				continue;
			}
			if (c == '\r') {
				in->crs++;
				i++;
				continue;
			}
			/* ".\r" then something: the CRs were data after all. */
			if (in_put(in, ".", 1) < 0)
				return -1;
			in->state = SM_IN_CR;
			continue;
		case SM_IN_CR:
			if (c == '\r') {
				in->crs++;
				i++;
				continue;
			}
			if (c == '\n') {
				/* "\r\n", even "\r\r\n", is a line end. */
				if (in_put(in, "\n", 1) < 0)
					return -1;
				in->state = SM_IN_BOL;
				i++;
				continue;
			}
			for (; in->crs > 0; in->crs--)
				if (in_put(in, "\r", 1) < 0)
					return -1;
			in->state = SM_IN_MID;
			continue;
		case SM_IN_MID: {
			/* Pass the span up to the next CR or LF in one go. */
			size_t j = i;
			while (j < len && buf[j] != '\r' && buf[j] != '\n')
				j++;
			if (in_put(in, buf + i, j - i) < 0)
				return -1;
			i = j;
			if (i == len)
				break;
			if (buf[i] == '\r') {
				in->state = SM_IN_CR;
				in->crs = 1;
			} else {
				if (in_put(in, "\n", 1) < 0)
					return -1;
				in->state = SM_IN_BOL;
			}
			i++;
			continue;
		}
		}
	}
	return 0;
}

int
sendmail_input_finish(struct sendmail_input *in)
{
	/*
	 * A "." last line ends the message even without its line end, and
	 * CRs at the very end are a line end cut short: the LF below.
	 */
	if (in->state == SM_IN_DOT || in->state == SM_IN_DOTCR)
		in->done = true;
	in->state = SM_IN_BOL;
	in->crs = 0;
	if (in->msg.len > 0 && in->msg.p[in->msg.len - 1] != '\n')
		return in_put(in, "\n", 1);
	return 0;
}

/* ---- addresses ---- */

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

int
sendmail_addr_rewrite(const char *val, size_t len, const char *host,
    struct sm_buf *out, struct sm_addrs *found)
{
	struct mbox_scan m = { 0 };
	size_t		 copied = 0, i = 0, at;
	bool		 in_angle = false;
	int		 r = -1;

	for (;;) {
		bool end = i >= len;
		char c = end ? '\0' : val[i];

		if (end || (!in_angle && (c == ',' || c == ';'))) {
			if (mbox_end(&m, host, &at, found) < 0)
				goto out;
			if (at != SIZE_MAX) {
				if (sm_buf_add(out, val + copied, at - copied) <
					0 ||
				    sm_buf_add(out, "@", 1) < 0 ||
				    sm_buf_addstr(out, host) < 0)
					goto out;
				copied = at;
			}
			mbox_reset(&m);
			if (end)
				break;
			i++;
			continue;
		}
		if (!in_angle && c == ':') {
			/* A group: what came before was its display name. */
			mbox_reset(&m);
			i++;
			continue;
		}
		if (c == '(') {
			i = skip_nested(val, i, len);
			continue;
		}
		if (is_wsp(c)) {
			i++;
			continue;
		}
		if (c == '<' && !in_angle) {
			in_angle = true;
			m.has_angle = true;
			m.inside.len = 0;
			m.at_inside = false;
			i++;
			continue;
		}
		if (c == '>' && in_angle) {
			in_angle = false;
			i++;
			continue;
		}
		/* A token: quoted string, domain literal or run of text. */
		size_t j;
		if (c == '"' || c == '[') {
			j = skip_nested(val, i, len);
		} else {
			j = i;
			while (j < len && !is_wsp(val[j]) &&
			    strchr("()<>,;:\"[", val[j]) == NULL)
				j++;
			if (j == i) /* a stray '>' */
				j++;
		}
		bool at_sign = c != '"' && memchr(val + i, '@', j - i) != NULL;
		struct sm_buf *b = in_angle ? &m.inside : &m.outside;
		/* Unfolded: a quoted string's line break is no part of it. */
		for (size_t k = i; k < j; k++)
			if (val[k] != '\r' && val[k] != '\n' &&
			    val[k] != '\0' && sm_buf_add(b, val + k, 1) < 0)
				goto out;
		if (in_angle) {
			m.end_inside = j;
			m.at_inside |= at_sign;
		} else {
			m.end_outside = j;
			m.at_outside |= at_sign;
		}
		i = j;
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

/* ---- the header section ---- */

/* Fields that hold addresses, qualified when bare. */
static const char *const sm_addr_fields[] = {
	"From",
	"Sender",
	"Reply-To",
	"To",
	"Cc",
	"Bcc",
	"Resent-From",
	"Resent-Sender",
	"Resent-To",
	"Resent-Cc",
	"Resent-Bcc",
	"Disposition-Notification-To",
	"Errors-To",
	"Return-Receipt-To",
};

static bool
name_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

static bool
is_addr_field(const char *name, size_t len)
{
	size_t n = sizeof(sm_addr_fields) / sizeof(sm_addr_fields[0]);

	for (size_t i = 0; i < n; i++)
		if (name_is(name, len, sm_addr_fields[i]))
			return true;
	return false;
}

/*
 * When line (up to its LF) is a field "Name: value" -- the name in
 * 0x21..0x7E without ':', blanks allowed before the colon, as header_fix
 * decides -- returns the name's length and the colon's offset.
 */
static bool
field_name(const char *line, size_t len, size_t *name_len_r, size_t *colon_r)
{
	size_t i = 0;

	while (i < len && line[i] > 0x20 && line[i] < 0x7f && line[i] != ':')
		i++;
	if (i == 0)
		return false;
	*name_len_r = i;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i >= len || line[i] != ':')
		return false;
	*colon_r = i;
	return true;
}

/* Copies s into a comment, without what would end or escape it. */
static int
add_comment_text(struct sm_buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		char c = *s;
		if (c == '(' || c == ')' || c == '\\' ||
		    (unsigned char)c < 0x20 || c == 0x7f)
			c = '?';
		if (sm_buf_add(b, &c, 1) < 0)
			return -1;
	}
	return 0;
}

static int
add_received(struct sm_buf *b, const struct sendmail_submit *s,
    const struct sm_addrs *a, const struct sm_addrs *c)
{
	size_t	    na = a != NULL ? a->n : 0, nc = c != NULL ? c->n : 0;
	const char *only = na == 1 ? a->v[0] : nc == 1 ? c->v[0] : NULL;
	char	    date[HEADER_DATE_MAX], uid[32];

	if (header_date(s->now, date, sizeof(date)) == 0)
		snprintf(date, sizeof(date), "Thu, 1 Jan 1970 00:00:00 +0000");
	snprintf(uid, sizeof(uid), ", uid %lu)\n", s->uid);
	if (sm_buf_addstr(b, "Received: (from ") < 0 ||
	    add_comment_text(b, s->user) < 0 || sm_buf_addstr(b, uid) < 0 ||
	    sm_buf_addstr(b, "\tby ") < 0 || sm_buf_addstr(b, s->host) < 0 ||
	    sm_buf_addstr(b, " (baremail-sendmail) with local") < 0)
		return -1;
	/* RFC 5321 4.4: "for" names one recipient, only when there is one. */
	if (only != NULL && na + nc == 1 && strpbrk(only, "<>\r\n") == NULL &&
	    (sm_buf_addstr(b, "\n\tfor <") < 0 || sm_buf_addstr(b, only) < 0 ||
		sm_buf_addstr(b, ">") < 0))
		return -1;
	if (sm_buf_addstr(b, "; ") < 0 || sm_buf_addstr(b, date) < 0 ||
	    sm_buf_addstr(b, "\n") < 0)
		return -1;
	return 0;
}

int
sendmail_trace(
    struct sm_buf *b, const char *sender, const struct sm_addrs *rcpts)
{
	size_t col = strlen("X-Original-To: ");

	if (sm_buf_addstr(b, "Return-Path: <") < 0 ||
	    sm_buf_addstr(b, sender) < 0 || sm_buf_addstr(b, ">\n") < 0)
		return -1;
	if (rcpts->n == 0)
		return 0;
	if (sm_buf_addstr(b, "X-Original-To: ") < 0)
		return -1;
	for (size_t i = 0; i < rcpts->n; i++) {
		size_t len = strlen(rcpts->v[i]);
		/* RFC 5322 2.1.1: lines SHOULD stay within 78 characters. */
		if (i > 0 && col + 2 + len > 78) {
			if (sm_buf_addstr(b, ",\n\t") < 0)
				return -1;
			col = 8;
		} else if (i > 0) {
			if (sm_buf_addstr(b, ", ") < 0)
				return -1;
			col += 2;
		}
		if (sm_buf_add(b, rcpts->v[i], len) < 0)
			return -1;
		col += len;
	}
	return sm_buf_addstr(b, "\n");
}

static int
emit_head(void *arg, const void *buf, size_t len)
{
	return sm_buf_add(arg, buf, len);
}

int
sendmail_msg_build(struct sendmail_msg *m, const char *raw, size_t len,
    const struct sendmail_submit *s, const struct sm_addrs *envelope_rcpts)
{
	struct sm_buf	  fields = { 0 }, head = { 0 };
	struct header_fix hf;
	size_t		  pos = 0;
	bool		  blank = false;
	int		  r = -1;

	memset(m, 0, sizeof(*m));

	/* An mbox "From " line is envelope, not header: drop it. */
	if (len >= 5 && memcmp(raw, "From ", 5) == 0) {
		const char *nl = memchr(raw, '\n', len);
		pos = nl != NULL ? (size_t)(nl - raw) + 1 : len;
	}

	while (pos < len) {
		const char *line = raw + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t ll = nl != NULL ? (size_t)(nl - line) + 1 : len - pos;
		size_t name_len, colon;

		if (line[0] == '\n') {
			blank = true;
			pos += 1;
			break;
		}
		if (!field_name(line, ll, &name_len, &colon)) {
			/* No field: the body starts here, after "\n". */
			blank = true;
			break;
		}
		/* The whole field: this line and its continuations. */
		size_t fl = ll;
		while (pos + fl < len &&
		    (raw[pos + fl] == ' ' || raw[pos + fl] == '\t')) {
			const char *cl = raw + pos + fl;
			const char *cnl = memchr(cl, '\n', len - pos - fl);
			fl += cnl != NULL ? (size_t)(cnl - cl) + 1
					  : len - pos - fl;
		}
		bool to_rcpts = s->extract &&
		    (name_is(line, name_len, "To") ||
			name_is(line, name_len, "Cc") ||
			name_is(line, name_len, "Bcc"));
		bool drop = s->extract && name_is(line, name_len, "Bcc");

		if (is_addr_field(line, name_len)) {
			struct sm_buf tmp = { 0 };
			if (sendmail_addr_rewrite(line + colon + 1,
				fl - colon - 1, s->host, &tmp,
				to_rcpts ? &m->rcpts : NULL) < 0 ||
			    (!drop &&
				(sm_buf_add(&fields, line, colon + 1) < 0 ||
				    sm_buf_add(&fields, tmp.p, tmp.len) < 0))) {
				sm_buf_free(&tmp);
				goto out;
			}
			sm_buf_free(&tmp);
		} else if (sm_buf_add(&fields, line, fl) < 0) {
			goto out;
		}
		pos += fl;
	}
	/* A last field without a line end gets one before what we add. */
	if (fields.len > 0 && fields.p[fields.len - 1] != '\n' &&
	    sm_buf_add(&fields, "\n", 1) < 0)
		goto out;

	if (add_received(&head, s, &m->rcpts, envelope_rcpts) < 0 ||
	    sm_buf_add(&head, fields.p, fields.len) < 0 ||
	    (blank && sm_buf_add(&head, "\n", 1) < 0))
		goto out;

	/* Date:, Message-ID: and From: go before the empty line. */
	header_fix_init(&hf, s->host, s->from, emit_head, &m->head);
	if (header_fix_write(&hf, head.p, head.len) < 0 ||
	    header_fix_finish(&hf) < 0)
		goto out;
	m->body = raw + pos;
	m->body_len = len - pos;
	r = 0;
out:
	sm_buf_free(&fields);
	sm_buf_free(&head);
	if (r < 0)
		sendmail_msg_free(m);
	return r;
}

void
sendmail_msg_free(struct sendmail_msg *m)
{
	sm_buf_free(&m->head);
	sm_addrs_free(&m->rcpts);
	m->body = NULL;
	m->body_len = 0;
}
