/*
 * The trace fields on top of every stored message: Return-Path:,
 * X-Original-To: and Received:.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "session-tls.h"
#include "session-trace.h"
#include "smtp-private.h"

/* Writes a formatted piece of the trace fields; -1 on a write error. */
static int trace_printf(struct smtp_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
trace_printf(struct smtp_conn *c, const char *fmt, ...)
{
	char	buf[2 * SMTP_ADDR_MAX + 512];
	va_list ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof buf) {
		errno = EOVERFLOW;
		return -1;
	}
	return smtp_tx_write(c, buf, (size_t)n);
}

/*
 * RFC 3848's "with" keyword: ESMTP, then S over TLS and A after AUTH
 * (ESMTPS, ESMTPSA), UTF8SMTP... for SMTPUTF8 (RFC 6531); SMTP after HELO.
 */
static const char *
with_protocol(const struct smtp_conn *c)
{
	static const char *const names[2][2][2] = {
		/* [smtputf8][tls][authed] */
		{ { "ESMTP", "ESMTPA" }, { "ESMTPS", "ESMTPSA" } },
		{ { "UTF8SMTP", "UTF8SMTPA" }, { "UTF8SMTPS", "UTF8SMTPSA" } },
	};

	if (!c->tx.smtputf8 && !c->authed && !c->esmtp && c->tls == NULL)
		return "SMTP";
	return names[c->tx.smtputf8][c->tls != NULL][c->authed];
}

int
smtp_trace_write(struct smtp_conn *c)
{
	const struct smtp_tx *tx = &c->tx;
	char		      date[HEADER_DATE_MAX];
	const char	     *peer = c->peer;
	const char	     *one = trace_for(tx->rcpts, tx->rcpts_len);
	bool		      bracket =
	    strspn(peer, "0123456789.") == strlen(peer) && peer[0] != '\0';

	header_date(time(NULL), date, sizeof date);
	if (trace_write(smtp_tx_write, c, tx->from, tx->rcpts, tx->rcpts_len) <
		0 ||
	    trace_printf(c, "Received: from %s (%s%s%s)\n",
		c->helo[0] != '\0' ? c->helo : "unknown", bracket ? "[" : "",
		peer, bracket ? "]" : "") < 0 ||
	    trace_printf(c, "\tby %s (BareMail) with %s", c->cfg->hostname,
		with_protocol(c)) < 0)
		return -1;
	/* The protocol version and cipher, in a comment (RFC 3848 3). */
	if (c->tls != NULL &&
	    trace_printf(
		c, "\n\t(%s, %s)", tls_version(c->tls), tls_cipher(c->tls)) < 0)
		return -1;
	if (trace_printf(c, " id %s", tx->tmp->name) < 0)
		return -1;
	if (one != NULL)
		return trace_printf(c, "\n\tfor <%s>; %s\n", one, date);
	return trace_printf(c, ";\n\t%s\n", date);
}
