/*
 * The header work a submission agent does on a sendmail caller's message
 * (Received:, -t, Bcc:, bare addresses in address fields) and the trace
 * fields of its final delivery.  Date:, Message-ID: and From: are added by
 * libsession's header_fix, the filter smtp-session uses too.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sendmail.h"
#include "session-header.h"
#include "session-trace.h"

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

	while (i < len && header_name_char((unsigned char)line[i]))
		i++;
	/* Longer than a line may be: body, as header_fix decides too. */
	if (i == 0 || i > HEADER_HOLD)
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
	const char *only = NULL;
	char	    date[HEADER_DATE_MAX], uid[32];

	if (na + nc == 1) {
		const char *one = na == 1 ? a->v[0] : c->v[0];

		only = trace_for(one, strlen(one) + 1);
	}

	if (header_date(s->now, date, sizeof(date)) == 0)
		snprintf(date, sizeof(date), "Thu, 1 Jan 1970 00:00:00 +0000");
	snprintf(uid, sizeof(uid), ", uid %lu)\n", s->uid);
	if (sm_buf_addstr(b, "Received: (from ") < 0 ||
	    add_comment_text(b, s->user) < 0 || sm_buf_addstr(b, uid) < 0 ||
	    sm_buf_addstr(b, "\tby ") < 0 || sm_buf_addstr(b, s->host) < 0 ||
	    sm_buf_addstr(b, " (baremail-sendmail) with local") < 0)
		return -1;
	if (only != NULL &&
	    (sm_buf_addstr(b, "\n\tfor <") < 0 || sm_buf_addstr(b, only) < 0 ||
		sm_buf_addstr(b, ">") < 0))
		return -1;
	if (sm_buf_addstr(b, "; ") < 0 || sm_buf_addstr(b, date) < 0 ||
	    sm_buf_addstr(b, "\n") < 0)
		return -1;
	return 0;
}

static int
emit_head(void *arg, const void *buf, size_t len)
{
	return sm_buf_add(arg, buf, len);
}

int
sendmail_trace(
    struct sm_buf *b, const char *sender, const struct sm_addrs *rcpts)
{
	struct sm_buf list = { 0 };
	int	      r = -1;

	/* The recipients one after another, each with its NUL. */
	for (size_t i = 0; i < rcpts->n; i++)
		if (sm_buf_add(&list, rcpts->v[i], strlen(rcpts->v[i]) + 1) < 0)
			goto out;
	r = trace_write(emit_head, b, sender, list.p, list.len);
out:
	sm_buf_free(&list);
	return r;
}

/* The length of the field starting at raw[pos]: its line, continuations. */
static size_t
field_len(const char *raw, size_t len, size_t pos, size_t line_len)
{
	size_t fl = line_len;

	while (
	    pos + fl < len && (raw[pos + fl] == ' ' || raw[pos + fl] == '\t')) {
		const char *cl = raw + pos + fl;
		const char *cnl = memchr(cl, '\n', len - pos - fl);

		fl += cnl != NULL ? (size_t)(cnl - cl) + 1 : len - pos - fl;
	}
	return fl;
}

/*
 * Passes one field (fl bytes, its name name_len long, its colon at colon)
 * to fields: address fields qualified, with -t their recipients collected
 * and Bcc: dropped.  Returns 0 or -1 (ENOMEM).
 */
static int
add_field(struct sm_buf *fields, struct sendmail_msg *m,
    const struct sendmail_submit *s, const char *f, size_t fl, size_t name_len,
    size_t colon)
{
	bool to_rcpts = s->extract &&
	    (name_is(f, name_len, "To") || name_is(f, name_len, "Cc") ||
		name_is(f, name_len, "Bcc"));
	bool	      drop = s->extract && name_is(f, name_len, "Bcc");
	struct sm_buf val = { 0 };
	int	      r = -1;

	if (!is_addr_field(f, name_len))
		return sm_buf_add(fields, f, fl);
	if (sendmail_addr_rewrite(f + colon + 1, fl - colon - 1, s->host, &val,
		to_rcpts ? &m->rcpts : NULL) == 0 &&
	    (drop ||
		(sm_buf_add(fields, f, colon + 1) == 0 &&
		    sm_buf_add(fields, val.p, val.len) == 0)))
		r = 0;
	sm_buf_free(&val);
	return r;
}

int
sendmail_msg_build(struct sendmail_msg *m, const char *raw, size_t len,
    const struct sendmail_submit *s, const struct sm_addrs *envelope_rcpts)
{
	struct sm_buf	  fields = { 0 }, head = { 0 };
	struct header_fix hf;
	size_t		  pos = 0, name_len, colon, fl;
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
		fl = field_len(raw, len, pos, ll);
		if (add_field(&fields, m, s, line, fl, name_len, colon) < 0)
			goto out;
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
